//! `tracehound rpc` text output: the call log and the endpoint follow-up table.

use tracehound_rpc::calls::Outcome;
use tracehound_rpc::endpoints::EndpointReport;
use tracehound_rpc::Call;

use crate::style::Tone;
use crate::table::{bytes, secs, Align, Table};

pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Fault => "fault",
        Outcome::BindNak => "bind_nak",
        Outcome::Rejected => "rejected",
        Outcome::NoResponse => "no_response",
    }
}

/// `13:30:12.123456` from seconds since the epoch (UTC).
fn time_of_day(ts: f64) -> String {
    let t = tracehound_flows::Timestamp((ts * 1e9).round() as i64).to_string();
    // "YYYY-MM-DDTHH:MM:SS.ffffffZ" → "HH:MM:SS.ffffff"
    t.get(11..26).unwrap_or(&t).to_string()
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
        let iface = c.interface.as_deref().or(c.uuid.as_deref()).unwrap_or("?").to_string();
        let op = c
            .operation
            .as_deref()
            .map(str::to_string)
            .or_else(|| c.opnum.map(|o| format!("opnum {o}")))
            .unwrap_or_else(|| "(bind)".into());
        let mut outcome = outcome_name(c.outcome).to_string();
        if let Some(s) = &c.status {
            if c.outcome != Outcome::Ok || !c.endpoints.is_empty() || c.epm_status.is_some() {
                outcome.push(' ');
                outcome.push_str(s);
            }
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
            (
                e.interface.clone().or_else(|| e.uuid.clone()).unwrap_or_else(|| "?".into()),
                Tone::Plain,
            ),
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
