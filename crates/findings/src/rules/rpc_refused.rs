//! `rpc.refused`: bind_nak, rejected presentation contexts, faults and error results.

use std::collections::BTreeMap;

use tracehound_rpc::calls::Outcome;
use tracehound_rpc::Call;

use super::util::plural;
use super::Facts;
use crate::{Evidence, Finding, Severity};

fn advice(outcome: Outcome, status: &str) -> (Vec<String>, Vec<String>) {
    let s = status.to_ascii_lowercase();
    if s.contains("access_denied") || s.contains("accessdenied") || s == "0x00000005" {
        (
            vec![
                "the account lacks the right on the server (group membership, DCOM/WMI launch and access permissions, SAM/LSA restrictions)".into(),
                "the call is anonymous or at too low an authentication level (e.g. RestrictRemoteSAM, RequireIntegrityActivationAuthenticationLevel / the DCOM hardening of KB5004442)".into(),
            ],
            vec!["Check the authentication type/level and the user shown; retry with an account that has the right, or raise the client's authentication level to packet integrity/privacy.".into()],
        )
    } else if outcome == Outcome::BindNak
        || outcome == Outcome::Rejected
        || s.contains("unknown_if")
        || s.contains("unk_if")
        || s.contains("abstract_syntax")
    {
        (
            vec![
                "the interface (or this version of it) is not served on this endpoint — wrong port, or the service is not running".into(),
                "the transfer syntax is not supported (NDR64 vs NDR)".into(),
                "the authentication type is not accepted by the server".into(),
            ],
            vec!["Ask the endpoint mapper which endpoint serves this interface (`tracehound portqry -n SERVER -e 135`) and check the service is running.".into()],
        )
    } else if s.contains("op_rng") || s.contains("range") {
        (
            vec!["client and server disagree on the interface version: the operation does not exist on the server's version".into()],
            vec!["Update the older side, or check the interface version negotiated in the bind.".into()],
        )
    } else if s.contains("proto_error") || s.contains("protocol") {
        (
            vec!["a malformed request, or a middlebox changing the traffic".into()],
            vec!["Capture on both sides and compare the request bytes.".into()],
        )
    } else {
        (
            vec!["the server refused or failed the operation; the status says why".into()],
            vec!["Look the status up in the server's event log around the time of the call.".into()],
        )
    }
}

/// Statuses that end an operation normally although they are not zero.
fn is_benign(status: &str) -> bool {
    let s = status.to_ascii_uppercase();
    [
        "MORE_ENTRIES",
        "MORE_DATA",
        "NO_MORE_ITEMS",
        "NO_MORE_ENTRIES",
        "BUFFER_OVERFLOW",
        "PENDING",
        "SOME_NOT_MAPPED",
        "NOT_REGISTERED",
    ]
    .iter()
    .any(|b| s.contains(b))
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<(std::net::IpAddr, u16, String, Outcome, String), Vec<&Call>> =
        BTreeMap::new();
    for c in &f.rpc.calls {
        // Faults and refused binds, and operations that answered with an error status (the
        // return code at the end of the response stub, e.g. STATUS_ACCESS_DENIED).
        let op_error = c.outcome == Outcome::Ok
            && c.return_code.is_some()
            && c.status.is_some()
            && !is_benign(c.status.as_deref().unwrap_or(""));
        let bad =
            matches!(c.outcome, Outcome::Fault | Outcome::BindNak | Outcome::Rejected) || op_error;
        if !bad {
            continue;
        }
        let iface =
            c.interface.as_deref().or(c.uuid.as_deref()).unwrap_or("unknown interface").to_string();
        groups
            .entry((c.dst, c.dport, iface, c.outcome, c.status.clone().unwrap_or_default()))
            .or_default()
            .push(c);
    }
    for ((server, port, iface, outcome, status), cs) in groups {
        let c0 = cs[0];
        let what = match outcome {
            Outcome::BindNak => "bind rejected (bind_nak)",
            Outcome::Rejected => "presentation context rejected",
            Outcome::Ok => "error result",
            _ => "fault",
        };
        let op =
            c0.operation.as_deref().map(str::to_string).or(c0.opnum.map(|o| format!("opnum {o}")));
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        ev.value("address", server.to_string());
        ev.value("port", port);
        ev.value("interface", iface.clone());
        ev.value("outcome", format!("{outcome:?}").to_lowercase());
        ev.value("status", status.clone());
        if let Some(a) = &c0.auth_type {
            ev.value("auth_type", a.clone());
        }
        if let Some(l) = &c0.auth_level {
            ev.value("auth_level", l.clone());
        }
        for c in cs.iter().take(10) {
            ev.add_frames([c.frame]);
            ev.add_frames(c.response_frame);
            ev.line(format!(
                "frame {}: {}:{} → {}{} {}{} → {} {} (frame {}){}",
                c.frame,
                c.src,
                c.sport,
                c.dst,
                c.pipe
                    .as_ref()
                    .map(|p| format!(" pipe {p}"))
                    .unwrap_or_else(|| format!(":{}", c.dport)),
                iface,
                c.operation.as_ref().map(|o| format!(" {o}")).unwrap_or_default(),
                what,
                status,
                c.response_frame.unwrap_or(0),
                match (&c.auth_type, &c.auth_level) {
                    (Some(t), Some(l)) => format!(
                        " — auth {t}, level {l}{}",
                        c.user.as_ref().map(|u| format!(", user {u}")).unwrap_or_default()
                    ),
                    _ => " — no authentication".into(),
                }
            ));
        }
        ev.finish();
        let (causes, steps) = advice(outcome, &status);
        let access = status.to_ascii_lowercase().contains("access");
        out.push(Finding {
            id: "rpc.refused",
            severity: if access || outcome != Outcome::Fault {
                Severity::Problem
            } else {
                Severity::Warning
            },
            title: format!(
                "{} refused by {server}: {what} {status}",
                match &op {
                    Some(o) => format!("{iface} {o}"),
                    None => iface.clone(),
                }
            ),
            explanation: format!(
                "{} to {iface} on {server}{} ended in {what}{}. {}",
                plural(cs.len(), "call", "calls"),
                c0.pipe
                    .as_ref()
                    .map(|p| format!(" (named pipe {p})"))
                    .unwrap_or_else(|| format!(" port {port}")),
                if status.is_empty() { String::new() } else { format!(" with status {status}") },
                match (&c0.auth_type, &c0.auth_level) {
                    (Some(t), Some(l)) =>
                        format!("The client authenticated with {t} at level {l}."),
                    _ => "The client did not authenticate the binding.".into(),
                }
            ),
            likely_causes: causes.into_iter().map(Into::into).collect(),
            next_steps: steps.into_iter().map(Into::into).collect(),
            evidence: ev,
            weight: if access { 70 } else { 60 },
        });
    }
}
