//! `rpc.zerologon`: the Zerologon attack (CVE-2020-1472) on a domain controller's Netlogon.
//!
//! A genuine client computes its 8-byte ClientCredential from the session key and its
//! challenge; an all-zero credential (with an all-zero challenge) is the attack, which wins
//! for 1 key in 256 on an unpatched DC: NetrServerAuthenticate / 2 / 3 requests
//! ([`tracehound_rpc::netlogon`]) with a zero credential, repeated (STATUS_ACCESS_DENIED)
//! until one succeeds, then typically NetrServerPasswordSet2 to empty the machine account's
//! password. Reported per (attacker, DC, account) with the attempt count, whether one
//! succeeded and whether the password was set.

use std::collections::BTreeMap;

use tracehound_rpc::calls::Outcome;
use tracehound_rpc::netlogon::{self, NETLOGON_UUID};
use tracehound_rpc::Call;

use super::util::plural;
use super::Facts;
use crate::{Evidence, Finding, Severity};

const COMPROMISED: &[&str] = &[
    "Treat the DC as compromised: isolate the client, and reset the DC machine account password (twice) after restoring it; check for DCSync / replication from that client.",
    "Install the August 2020 (and later) Netlogon updates and enforce secure RPC (FullSecureChannelProtection = 1).",
];
const ATTEMPTED: &[&str] = &[
    "Find the client and stop it; confirm the DC has the Netlogon updates from August 2020 on and enforces secure RPC (events 5827-5831 on the DC).",
];

#[derive(Default)]
struct Attack<'a> {
    attempts: Vec<&'a Call>,
    success: Option<&'a Call>,
    password_set: Option<&'a Call>,
}

fn is_netlogon(c: &Call, uuid: &str) -> bool {
    c.uuid.as_deref() == Some(uuid)
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let uuid = NETLOGON_UUID.to_string();
    type Key = (std::net::IpAddr, std::net::IpAddr, String);
    let mut attacks: BTreeMap<Key, Attack> = BTreeMap::new();
    for c in f.rpc.calls.iter().filter(|c| is_netlogon(c, &uuid)) {
        let Some(n) = c.netlogon.as_ref().filter(|n| n.zero_credential) else {
            continue;
        };
        let a = attacks.entry((c.src, c.dst, n.account_name.clone())).or_default();
        a.attempts.push(c);
        if c.outcome == Outcome::Ok && a.success.is_none() {
            a.success = Some(c);
        }
    }
    if attacks.is_empty() {
        return;
    }
    for ((client, dc, _), a) in attacks.iter_mut() {
        let after = a.success.map(|s| s.frame);
        a.password_set = after.and_then(|fr| {
            f.rpc.calls.iter().find(|c| {
                is_netlogon(c, &uuid)
                    && c.opnum == Some(netlogon::OP_SERVER_PASSWORD_SET2)
                    && c.src == *client
                    && c.dst == *dc
                    && c.frame > fr
            })
        });
    }
    for ((client, dc, account), a) in attacks {
        out.push(finding(f, client, dc, &account, &a));
    }
}

fn finding(
    f: &Facts,
    client: std::net::IpAddr,
    dc: std::net::IpAddr,
    account: &str,
    a: &Attack,
) -> Finding {
    let n = a.attempts.len();
    let denied = a.attempts.iter().filter(|c| c.outcome == Outcome::Error).count();
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    ev.value("client", client.to_string());
    ev.value("server", dc.to_string());
    ev.value("account", account.to_string());
    ev.value("attempts", n);
    ev.value("denied", denied);
    ev.value("succeeded", a.success.is_some());
    ev.value("password_set", a.password_set.is_some());
    if let Some(c) = a.attempts.first().and_then(|c| c.netlogon.as_ref()) {
        ev.value("computer_name", c.computer_name.clone());
        ev.value("secure_channel_type", c.secure_channel_type);
    }
    let first = a.attempts.first().map(|c| c.frame).unwrap_or(0);
    ev.add_frames(a.attempts.iter().take(5).map(|c| c.frame));
    ev.line(format!(
        "frame {first}: first {} with an all-zero ClientCredential for {account}",
        a.attempts.first().and_then(|c| c.operation.as_deref()).unwrap_or("NetrServerAuthenticate")
    ));
    ev.line(format!("{} attempts, {denied} answered {}", n, status_of(a)));
    let mut outcome = format!("none of the {} succeeded", plural(n, "attempt", "attempts"));
    if let Some(s) = a.success {
        ev.add_frames([s.frame]);
        ev.add_frames(s.response_frame);
        ev.line(format!("frame {}: attempt accepted (STATUS_SUCCESS)", s.frame));
        outcome = format!("attempt {} of {n} succeeded (frame {})", position(a, s), s.frame);
    }
    if let Some(p) = a.password_set {
        ev.add_frames([p.frame]);
        ev.line(format!(
            "frame {}: NetrServerPasswordSet2 for the account, {}",
            p.frame,
            match p.outcome {
                Outcome::Ok => "accepted".to_string(),
                o => format!("{o:?} {}", p.status.as_deref().unwrap_or("")).to_lowercase(),
            }
        ));
        outcome.push_str(&format!(
            ", then the machine account password was set (NetrServerPasswordSet2, frame {})",
            p.frame
        ));
    }
    ev.why("NetrServerAuthenticate attempts with an all-zero ClientCredential", n);
    ev.why("attempts denied", denied);
    ev.why("an attempt succeeded", a.success.map_or("no".into(), |s| format!("frame {}", s.frame)));
    ev.why(
        "NetrServerPasswordSet2 followed",
        a.password_set.map_or("no".into(), |p| format!("frame {}", p.frame)),
    );
    ev.why("severity rule", "problem: an attack on the DC's secure channel (CVE-2020-1472)");
    ev.finish();
    Finding {
        id: "rpc.zerologon",
        severity: Severity::Problem,
        title: format!(
            "Zerologon (CVE-2020-1472) against {dc} from {client}: {} for {account}{}",
            plural(n, "attempt", "attempts"),
            match (a.success.is_some(), a.password_set.is_some()) {
                (true, true) => ", succeeded, password set",
                (true, false) => ", succeeded",
                _ => ", none succeeded",
            }
        ),
        explanation: format!(
            "{client} asked the domain controller {dc} to set up a Netlogon secure channel as \
             {account} with an all-zero client credential, which no genuine client sends: the \
             Zerologon attack, which succeeds for about 1 key in 256 on an unpatched DC. {}.",
            capitalise(&outcome)
        ),
        likely_causes: vec![
            "an attacker (or a penetration test / vulnerability scanner) exploiting CVE-2020-1472 to take over the domain controller's machine account".into(),
        ],
        next_steps: if a.success.is_some() { COMPROMISED } else { ATTEMPTED }
            .iter()
            .map(|s| (*s).into())
            .collect(),
        evidence: ev,
        weight: if a.success.is_some() { 95 } else { 85 },
    }
}

fn status_of(a: &Attack) -> String {
    a.attempts
        .iter()
        .find(|c| c.outcome == Outcome::Error)
        .and_then(|c| c.status.clone())
        .unwrap_or_else(|| "an error".into())
}

fn position(a: &Attack, s: &Call) -> usize {
    a.attempts.iter().position(|c| c.frame == s.frame).map_or(0, |i| i + 1)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod thresholds;
