//! `rpc.refused`: bind_nak, rejected presentation contexts, faults and operations whose
//! return status is an error (outcome `error`), judged by what they mean for the protocol and
//! by what followed:
//! - probe-style answers are facts, not findings: QueryInterface / RemQueryInterface
//!   E_NOINTERFACE (asking whether an optional interface exists), buffer-size probes
//!   (ERROR_INSUFFICIENT_BUFFER, STATUS_BUFFER_TOO_SMALL, NERR_BufTooSmall: the client asks
//!   again with the size the server gave), the endpoint mapper's "not registered" (its own
//!   rule, `rpc.endpoint_not_registered`), Zerologon attempts (`rpc.zerologon`);
//! - a failure followed by the same operation succeeding (same client, server, interface,
//!   operation) is info: "retried and succeeded";
//! - a failure is a problem by its consequence: the association ends right after it (FIN or
//!   RST within seconds, nothing more on it), the same call keeps failing (3 times or more,
//!   never succeeding), or access was denied; otherwise a warning.
//!
//! An operation number that no version of the interface has (a scanner, fuzzer or attack
//! tool) is info, whatever followed.
//!
//! The advice fits the interface: Netlogon's ServerReqChallenge / ServerAuthenticate run on
//! unauthenticated binds by design, calls over an SMB named pipe run as the SMB session's user
//! (the pipe inherits its authentication), and an operation number no version of the
//! interface has is a probe or an attack tool, not a version mismatch.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use tracehound_rpc::calls::Outcome;
use tracehound_rpc::names::{self, StatusRole};
use tracehound_rpc::Call;

use super::util::plural;
use super::Facts;
use crate::{Evidence, Finding, Severity};

use tracehound_rpc::known::{
    EPM_TEXT as EPM, IREMUNKNOWN2_TEXT as IREMUNKNOWN2, IREMUNKNOWN_TEXT as IREMUNKNOWN,
    NETLOGON_TEXT as NETLOGON,
};
const E_NOINTERFACE: u32 = 0x8000_4002;
const EPT_S_NOT_REGISTERED: u32 = 0x16c9_a0d6;
/// ERROR_INSUFFICIENT_BUFFER, NERR_BufTooSmall, STATUS_BUFFER_TOO_SMALL, and the first as an
/// HRESULT: "call again with a bigger buffer".
const SIZE_PROBES: [u32; 4] = [122, 2123, 0xc000_0023, 0x8007_007a];
/// The same failing call this often, never succeeding, is a problem.
pub const KEEPS_FAILING: usize = 3;
/// An association closed (FIN/RST) within this many seconds of the failure ended because of it.
pub const ENDED_WITHIN: f64 = 2.0;

fn is_failure(c: &Call) -> bool {
    matches!(c.outcome, Outcome::Fault | Outcome::BindNak | Outcome::Rejected | Outcome::Error)
}

/// Is this failure a probe or covered by another rule (not a finding here)?
fn is_probe(c: &Call) -> bool {
    let code = c.status_code.unwrap_or(0);
    let uuid = c.uuid.as_deref().unwrap_or("");
    let qi = (uuid == IREMUNKNOWN || uuid == IREMUNKNOWN2) && c.opnum == Some(3)
        || c.operation.as_deref().is_some_and(|o| o.ends_with("QueryInterface"));
    let zerologon = uuid == NETLOGON && c.netlogon.as_ref().is_some_and(|n| n.zero_credential);
    let role = c.status_space.map(|s| names::status_role(s, code));
    (qi && (code == E_NOINTERFACE || role == Some(StatusRole::NoInterface)))
        || (c.outcome == Outcome::Error
            && (SIZE_PROBES.contains(&code) || role == Some(StatusRole::SizeProbe)))
        || (uuid == EPM && code == EPT_S_NOT_REGISTERED)
        || zerologon
}

fn succeeded(c: &Call) -> bool {
    c.outcome == Outcome::Ok
}

fn resp_secs(c: &Call) -> f64 {
    c.ts.as_secs_f64() + c.rtt.unwrap_or(0.0)
}

/// Did the association end right after this failure: its connection closed (FIN or RST)
/// within [`ENDED_WITHIN`], and no later call on it was answered? Returns who closed how, e.g.
/// "server FIN, server RST" (Zeek history: upper case = client, lower case = server).
fn ended_after(f: &Facts, ix: &Index, c: &Call) -> Option<String> {
    let flow = c.flow?;
    let after = c.response_frame.unwrap_or(c.frame);
    let answered_later =
        ix.last_answered.get(&(flow, c.pipe.as_deref())).is_some_and(|&last| last > after);
    if answered_later {
        return None;
    }
    let conv = f.conversation(flow)?;
    let mut how: Vec<&str> = Vec::new();
    for (ch, what) in
        [('F', "client FIN"), ('f', "server FIN"), ('R', "client RST"), ('r', "server RST")]
    {
        if conv.history.contains(ch) {
            how.push(what);
        }
    }
    if how.is_empty() || conv.end.as_secs_f64() - resp_secs(c) > ENDED_WITHIN {
        return None;
    }
    Some(how.join(", "))
}

/// Lookups built once per capture, so that judging each failure costs a hash lookup and a
/// binary search instead of a scan of every call (captures hold hundreds of thousands).
struct Index<'a> {
    /// (flow, pipe) → frame of the last call answered on it.
    last_answered: HashMap<(u64, Option<&'a str>), u64>,
    /// (client, server, interface, opnum) → frames of successful calls, sorted.
    ok_by_op: HashMap<OpKey<'a>, Vec<u64>>,
    /// (client, server, interface) → frames of successful calls, sorted (a failed bind has no
    /// opnum: any successful call of its interface is a retry).
    ok_by_iface: HashMap<OpKey<'a>, Vec<u64>>,
}

type OpKey<'a> = (IpAddr, IpAddr, &'a str, Option<u16>);

impl<'a> Index<'a> {
    fn new(calls: &'a [Call]) -> Index<'a> {
        let mut ix = Index {
            last_answered: HashMap::new(),
            ok_by_op: HashMap::new(),
            ok_by_iface: HashMap::new(),
        };
        for o in calls {
            if let (Some(flow), Some(_)) = (o.flow, o.response_frame) {
                let last = ix.last_answered.entry((flow, o.pipe.as_deref())).or_insert(0);
                *last = (*last).max(o.frame);
            }
            if let (true, Some(uuid)) = (succeeded(o), o.uuid.as_deref()) {
                ix.ok_by_op.entry((o.src, o.dst, uuid, o.opnum)).or_default().push(o.frame);
                ix.ok_by_iface.entry((o.src, o.dst, uuid, None)).or_default().push(o.frame);
            }
        }
        for v in ix.ok_by_op.values_mut().chain(ix.ok_by_iface.values_mut()) {
            v.sort_unstable();
        }
        ix
    }

    /// The first successful call of the same operation as `c` after `frame`: same client and
    /// server hosts, interface and opnum (a failed bind matches any call of its interface).
    fn first_success_after(&self, c: &Call, frame: u64) -> Option<u64> {
        let uuid = c.uuid.as_deref()?;
        let frames = match c.opnum {
            Some(op) => self.ok_by_op.get(&(c.src, c.dst, uuid, Some(op))),
            None => self.ok_by_iface.get(&(c.src, c.dst, uuid, None)),
        }?;
        frames.get(frames.partition_point(|&x| x <= frame)).copied()
    }
}

/// What followed a group of failures.
struct Verdict {
    severity: Severity,
    retried_ok: Option<u64>,
    ended: Option<(u64, String)>,
    keeps_failing: bool,
}

/// `probe`: the operation number exists in no version of the interface (a scanner, fuzzer or
/// attack tool): a fact worth knowing (info), whatever followed.
fn verdict(f: &Facts, ix: &Index, cs: &[&Call], access: bool, probe: bool) -> Verdict {
    let first = cs.iter().map(|c| c.frame).min().unwrap_or(0);
    let retried_ok = cs.first().and_then(|c| ix.first_success_after(c, first));
    let ended = cs.iter().find_map(|c| ended_after(f, ix, c).map(|how| (c.frame, how)));
    let keeps_failing = retried_ok.is_none() && cs.len() >= KEEPS_FAILING;
    let severity = if retried_ok.is_some() || probe {
        Severity::Info
    } else if ended.is_some() || keeps_failing || access {
        Severity::Problem
    } else {
        Severity::Warning
    };
    Verdict { severity, retried_ok, ended, keeps_failing }
}

type Key = (std::net::IpAddr, u16, String, Option<u16>, Outcome, String);

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<Key, Vec<&Call>> = BTreeMap::new();
    for c in f.rpc.calls.iter().filter(|c| is_failure(c) && !is_probe(c)) {
        let iface =
            c.interface.as_deref().or(c.uuid.as_deref()).unwrap_or("unknown interface").to_string();
        groups
            .entry((
                c.dst,
                c.dport,
                iface,
                c.opnum,
                c.outcome,
                c.status.clone().unwrap_or_default(),
            ))
            .or_default()
            .push(c);
    }
    if groups.is_empty() {
        return;
    }
    let ix = Index::new(&f.rpc.calls);
    // The same refusal on several ports of one server (the endpoint mapper and a dynamic
    // port, say) gives findings whose titles name the port, so that they read apart.
    let mut ports: BTreeMap<(&std::net::IpAddr, &str, Option<u16>, Outcome, &str), usize> =
        BTreeMap::new();
    for (server, _, iface, opnum, outcome, status) in groups.keys() {
        *ports.entry((server, iface, *opnum, *outcome, status)).or_default() += 1;
    }
    for (key, cs) in &groups {
        let (server, _, iface, opnum, outcome, status) = key;
        let several = ports[&(server, iface.as_str(), *opnum, *outcome, status.as_str())] > 1;
        out.push(finding(f, &ix, key, cs, several));
    }
}

fn what(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::BindNak => "bind rejected (bind_nak)",
        Outcome::Rejected => "presentation context rejected",
        Outcome::Error => "error result",
        _ => "fault",
    }
}

fn evidence_line(c: &Call, iface: &str, what: &str, status: &str) -> String {
    format!(
        "frame {}: {}:{} → {}{} {}{} → {} {} (frame {}){}",
        c.frame,
        c.src,
        c.sport,
        c.dst,
        c.pipe.as_ref().map(|p| format!(" pipe {p}")).unwrap_or_else(|| format!(":{}", c.dport)),
        iface,
        c.operation.as_ref().map(|o| format!(" {o}")).unwrap_or_default(),
        what,
        status,
        c.response_frame.unwrap_or(0),
        match (&c.auth_type, &c.auth_level, &c.pipe) {
            (Some(t), Some(l), _) => format!(
                " — auth {t}, level {l}{}",
                c.user.as_ref().map(|u| format!(", user {u}")).unwrap_or_default()
            ),
            (_, _, Some(_)) => " — over the SMB session's authentication".into(),
            _ => " — no authentication".into(),
        }
    )
}

fn auth_sentence(c: &Call) -> String {
    if super::rpc_advice::netlogon_setup(c) {
        return "Netlogon's secure channel setup runs on an unauthenticated binding by design \
                (MS-NRPC): the credential in the request is the authentication."
            .into();
    }
    match (&c.auth_type, &c.auth_level, &c.pipe) {
        (Some(t), Some(l), _) => format!("The client authenticated with {t} at level {l}."),
        (_, _, Some(p)) => format!(
            "The call went over the SMB named pipe {p}: it runs as the SMB session's user (the \
             pipe inherits the session's authentication)."
        ),
        _ => "The client did not authenticate the binding.".into(),
    }
}

fn finding(f: &Facts, ix: &Index, key: &Key, cs: &[&Call], name_port: bool) -> Finding {
    let (server, port, iface, _, outcome, status) = key;
    let (server, port, iface, outcome, status) =
        (*server, *port, iface.as_str(), *outcome, status.as_str());
    let c0 = cs[0];
    let what = what(outcome);
    let op = c0.operation.as_deref().map(str::to_string).or(c0.opnum.map(|o| format!("opnum {o}")));
    let role = c0.status_space.zip(c0.status_code).map(|(s, c)| names::status_role(s, c));
    let access = status.to_ascii_lowercase().contains("access_denied")
        || status.to_ascii_lowercase().contains("accessdenied")
        || role == Some(StatusRole::Denied);
    let probe = super::rpc_advice::opnum_missing(c0);
    let v = verdict(f, ix, cs, access, probe);
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    ev.value("address", server.to_string());
    ev.value("port", port);
    ev.value("interface", iface.to_string());
    ev.value("outcome", format!("{outcome:?}").to_lowercase());
    ev.value("status", status.to_string());
    ev.value("failures", cs.len());
    if let Some(s) = c0.status_space {
        ev.value("status_space", s.as_str());
    }
    if let Some(a) = &c0.auth_type {
        ev.value("auth_type", a.clone());
    }
    if let Some(l) = &c0.auth_level {
        ev.value("auth_level", l.clone());
    }
    for c in cs.iter().take(10) {
        ev.add_frames([c.frame]);
        ev.add_frames(c.response_frame);
        ev.line(evidence_line(c, iface, what, status));
    }
    let mut followed = String::new();
    if let Some(fr) = v.retried_ok {
        ev.value("retried_ok_frame", fr);
        ev.add_frames([fr]);
        ev.line(format!("frame {fr}: the same operation succeeded"));
        followed = format!(" The same operation was retried and succeeded (frame {fr}).");
    } else if let Some((fr, how)) = &v.ended {
        ev.value("ended_by", how.clone());
        ev.line(format!(
            "after frame {fr}: the connection closed ({how}), no later call on it answered"
        ));
        followed = format!(" The association ended right after it ({how}).");
    } else if v.keeps_failing {
        followed = format!(" It kept failing ({} times, never succeeding).", cs.len());
    }
    ev.why("failed calls (same server, interface, operation, status)", cs.len());
    ev.why("status space", c0.status_space.map_or("unknown", |s| s.as_str()));
    ev.why("access denied", access);
    ev.why("opnum in no version of the interface (probe)", probe);
    ev.why(
        "same operation succeeded later",
        v.retried_ok.map_or("no".into(), |fr| format!("frame {fr}")),
    );
    ev.why(
        "association ended right after",
        v.ended.as_ref().map_or("no".into(), |(fr, how)| format!("after frame {fr}: {how}")),
    );
    ev.why(
        "threshold: keeps failing",
        format!("≥ {KEEPS_FAILING} failures, none succeeding: {}", v.keeps_failing),
    );
    ev.why("threshold: ended within", format!("{ENDED_WITHIN} s"));
    ev.why("severity rule", "info if retried ok or probe; problem if ended, keeps failing or access denied; else warning");
    ev.finish();
    let (causes, steps) = super::rpc_advice::advice(c0, outcome, status, access);
    Finding {
        id: "rpc.refused",
        severity: v.severity,
        title: format!(
            "{} refused by {}: {what} {status}{}",
            match &op {
                Some(o) => format!("{iface} {o}"),
                None => iface.to_string(),
            },
            if name_port {
                std::net::SocketAddr::new(server, port).to_string()
            } else {
                server.to_string()
            },
            if v.retried_ok.is_some() {
                " (retried and succeeded)"
            } else if probe {
                " (an operation no version of the interface has: a probe)"
            } else {
                ""
            }
        ),
        explanation: format!(
            "{} to {iface} on {server}{} ended in {what}{}. {}{followed}",
            plural(cs.len(), "call", "calls"),
            c0.pipe
                .as_ref()
                .map(|p| format!(" (named pipe {p})"))
                .unwrap_or_else(|| format!(" port {port}")),
            if status.is_empty() { String::new() } else { format!(" with status {status}") },
            auth_sentence(c0),
        ),
        likely_causes: causes.into_iter().map(Into::into).collect(),
        next_steps: steps.into_iter().map(Into::into).collect(),
        evidence: ev,
        weight: match v.severity {
            Severity::Problem if access => 70,
            Severity::Problem => 65,
            Severity::Warning => 45,
            _ => 10,
        },
    }
}

#[cfg(test)]
mod thresholds;
