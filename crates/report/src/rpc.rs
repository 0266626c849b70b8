//! `tracehound rpc` text output: the call log and the endpoint follow-up table.

use tracehound_rpc::calls::{InterfaceSource, Outcome};
use tracehound_rpc::endpoints::EndpointReport;
use tracehound_rpc::Call;

use crate::style::Tone;
use crate::table::{bytes, secs, Align, Table};

pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Fault => "fault",
        Outcome::Error => "error",
        Outcome::BindNak => "bind_nak",
        Outcome::Rejected => "rejected",
        Outcome::NoResponse => "no_response",
    }
}

/// Marks an interface named from an endpoint mapper answer (no bind captured); see [`LEGEND`].
pub const MAPPED_MARK: &str = "*";
/// The legend printed under a call table that uses [`MAPPED_MARK`].
pub const LEGEND: &str =
    "* interface named from the endpoint mapper answer that handed out this port (bind not captured)";

/// Does any call need the [`LEGEND`]?
pub fn needs_legend(calls: &[Call]) -> bool {
    calls.iter().any(|c| c.interface_source == Some(InterfaceSource::EndpointMap))
}

/// `13:30:12.123456` from the capture timestamp (UTC), to the capture's precision.
fn time_of_day(ts: tracehound_flows::Timestamp) -> String {
    ts.time_of_day()
}

pub fn call_table(calls: &[Call]) -> Table {
    let mut t = Table::new(&[
        ("FRAME", Align::Right),
        ("TIME (UTC)", Align::Left),
        ("CLIENT", Align::Right),
        ("", Align::Left),
        ("SERVER", Align::Left),
        ("INTERFACE", Align::Left),
        ("OPERATION", Align::Left),
        ("REQ", Align::Right),
        ("RESP", Align::Right),
        ("RTT", Align::Right),
        ("OUTCOME", Align::Left),
    ]);
    for c in calls {
        let server = match &c.pipe {
            Some(p) => format!(
                "{}:{} \\pipe\\{}",
                c.dst,
                c.dport,
                p.trim_start_matches("\\pipe\\").trim_start_matches('\\')
            ),
            None => format!("{}:{}", c.dst, c.dport),
        };
        // RPC over HTTP: the proxy, then the RPC server the URL names.
        let server = match c.tunnel.as_deref() {
            Some(t) => format!("{server} ncacn_http→{}", t.target.as_deref().unwrap_or("?")),
            None => server,
        };
        let mut iface = c.interface.as_deref().or(c.uuid.as_deref()).unwrap_or("?").to_string();
        if c.interface_source == Some(InterfaceSource::EndpointMap) {
            iface.push_str(MAPPED_MARK);
        }
        let op = c
            .operation
            .as_deref()
            .map(str::to_string)
            .or_else(|| c.opnum.map(|o| format!("opnum {o}")))
            .unwrap_or_else(|| "(bind)".into());
        let mut outcome = outcome_name(c.outcome).to_string();
        if let Some(s) = &c.status {
            outcome.push(' ');
            outcome.push_str(s);
        }
        if !c.endpoints.is_empty() {
            let list: Vec<&str> = c.endpoints.iter().take(3).map(|e| e.binding.as_str()).collect();
            outcome.push_str(&format!(" → {}", list.join(", ")));
            if c.endpoints.len() > 3 {
                outcome.push_str(&format!(" (+{})", c.endpoints.len() - 3));
            }
        }
        let tone = match c.outcome {
            Outcome::Ok => Tone::Plain,
            Outcome::NoResponse => Tone::Warn,
            _ => Tone::Bad,
        };
        t.row(vec![
            (c.frame.to_string(), Tone::Dim),
            (time_of_day(c.ts), Tone::Dim),
            (format!("{}:{}", c.src, c.sport), Tone::Plain),
            ("→".into(), Tone::Dim),
            (server, Tone::Plain),
            (iface, Tone::Plain),
            (op, Tone::Plain),
            (bytes(c.request_bytes), Tone::Plain),
            (
                if c.response_frame.is_some() { bytes(c.response_bytes) } else { "-".into() },
                Tone::Plain,
            ),
            (c.rtt.map(secs).unwrap_or_else(|| "-".into()), Tone::Plain),
            (outcome, tone),
        ]);
    }
    t
}

pub fn endpoint_table(eps: &[EndpointReport]) -> Table {
    let mut t = Table::new(&[
        ("BINDING", Align::Left),
        ("INTERFACE", Align::Left),
        ("HANDED OUT", Align::Left),
        ("ASKED", Align::Left),
        ("FOLLOW-UP", Align::Left),
        ("ATTEMPTS", Align::Left),
    ]);
    for e in eps {
        let tone = match e.follow_up {
            "answered" => Tone::Good,
            "not_tried" => Tone::Dim,
            _ => Tone::Bad,
        };
        let attempts: Vec<String> = e
            .attempts
            .iter()
            .take(3)
            .map(|a| format!("frame {} from {}:{} {}", a.frame, a.src, a.sport, a.outcome))
            .collect();
        t.row(vec![
            (e.binding.clone(), Tone::Plain),
            (e.interface.as_deref().or(e.uuid.as_deref()).unwrap_or("?").to_string(), Tone::Plain),
            (
                format!("frame {} ({})", e.handed_out_by.response_frame, e.handed_out_by.source),
                Tone::Dim,
            ),
            (
                format!("{}{}", e.asked_address, if e.address_differs { " ≠" } else { "" }),
                if e.address_differs { Tone::Warn } else { Tone::Plain },
            ),
            (e.follow_up.to_string(), tone),
            (attempts.join("; "), Tone::Dim),
        ]);
    }
    t
}

/// `n` and the noun, singular for 1.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The summary line under the call table, e.g. "8 calls, 1 fault, 1 error, 4 binds (0
/// rejected); 2 endpoints handed out". Calls whose interface stayed unknown (no bind, no
/// endpoint mapper answer for their port) and calls named from an endpoint mapper answer are
/// counted when there are any.
pub fn summary_line(s: &tracehound_rpc::RpcStats, endpoints: usize) -> String {
    let mut line = format!(
        "{}, {}, {}, {} ({} rejected); {} handed out",
        count(s.calls, "call", "calls"),
        count(s.faults, "fault", "faults"),
        count(s.errors, "error", "errors"),
        count(s.binds, "bind", "binds"),
        s.bind_naks,
        count(endpoints as u64, "endpoint", "endpoints"),
    );
    if s.interfaces_from_endpoint_map > 0 {
        line.push_str(&format!(
            "; {} named from the endpoint mapper",
            count(s.interfaces_from_endpoint_map, "call", "calls")
        ));
    }
    if s.interfaces_unknown > 0 {
        line.push_str(&format!(
            "; {} on an unknown interface (bind not captured)",
            count(s.interfaces_unknown, "call", "calls")
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_uses_singulars_and_counts_unknown_interfaces() {
        let s = tracehound_rpc::RpcStats {
            calls: 1,
            faults: 1,
            errors: 1,
            binds: 1,
            interfaces_unknown: 1,
            ..Default::default()
        };
        assert_eq!(
            summary_line(&s, 1),
            "1 call, 1 fault, 1 error, 1 bind (0 rejected); 1 endpoint handed out; \
             1 call on an unknown interface (bind not captured)"
        );
        let s = tracehound_rpc::RpcStats { calls: 8, faults: 0, errors: 2, binds: 4, ..s };
        assert!(summary_line(&s, 0).starts_with("8 calls, 0 faults, 2 errors, 4 binds"));
    }
}
