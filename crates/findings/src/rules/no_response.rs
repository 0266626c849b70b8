//! `app.no_response`: a request the server received (the connection carried it and stayed up)
//! that was never answered before the server closed or reset the connection, or before the
//! client gave up waiting (it left at least 2 s later, its request acknowledged). DCE/RPC calls
//! (outcome `no_response`) and application requests (HTTP, LDAP, SMB2) alike. A request at
//! the very end of a capture, on a connection nobody closed, proves nothing and is left out;
//! so is a request on a connection whose data the capture partly missed (the response may
//! be in the gap) and one sent after an earlier call on the connection failed (the close
//! belongs to that failure: `rpc.refused`).
//!
//! The server closing first is read from the Zeek history of the connection: the responder's
//! FIN (`f`) or RST (`r`) comes before the initiator's (`F`, `R`), or the initiator never
//! closed.

use std::collections::BTreeMap;

use tracehound_flows::{Conversation, Dir, TcpFlag};
use tracehound_rpc::calls::Outcome;

use super::util::plural;
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub const NO_RESPONSE: &str = "app.no_response";

/// Ports where TLS starts at the first byte (HTTPS, LDAPS, GC over TLS, SMTPS, IMAPS,
/// POP3S, WinRM over HTTPS).
const TLS_PORTS: [u16; 8] = [443, 636, 3269, 465, 993, 995, 5986, 8443];

/// A gap this long between the request and the close looks like an idle timeout.
pub const IDLE_CLOSE: f64 = 30.0;

/// How the server ended a conversation first: `Some("reset (frame N)")` or `Some("closed
/// (FIN)")`; None when the client ended it first or nobody did.
pub fn server_closed_first(c: &Conversation) -> Option<String> {
    let h = c.history.as_str();
    let server = h.find(['f', 'r'])?;
    if h.find(['F', 'R']).is_some_and(|client| client < server) {
        return None;
    }
    let reset = c.rst_frames.iter().find(|(_, d)| *d == Dir::Resp).map(|(f, _)| *f);
    Some(match (h.as_bytes().get(server), reset) {
        (Some(b'r'), Some(f)) => format!("reset the connection (frame {f})"),
        _ => "closed the connection (FIN)".to_string(),
    })
}

/// How a connection with an unanswered request (sent in `frame` at `ts`) ended, in words:
/// the server closed or reset it first ("the server closed the connection (FIN)"), or the
/// client gave up after waiting at least [`CLIENT_GAVE_UP`] seconds with its request
/// acknowledged (no retransmission of it) — "the client gave up and closed …". None when
/// nobody ended it, or the client left at once.
fn ending(c: &Conversation, frame: u64, ts: tracehound_flows::Timestamp) -> Option<String> {
    if let Some(s) = server_closed_first(c) {
        return Some(format!("the server {s}"));
    }
    let wait = c.end.secs_since(ts);
    let h = c.history.as_str();
    let client_end = if h.contains('R') {
        "reset the connection"
    } else if h.contains('F') {
        "closed the connection (FIN)"
    } else {
        return None;
    };
    let resent = c.events.iter().any(|e| {
        e.dir == Dir::Orig && e.flag == TcpFlag::Retransmission && e.len > 0 && e.frame >= frame
    });
    (wait >= CLIENT_GAVE_UP && !resent).then(|| {
        format!("the server acknowledged it and stayed silent; the client gave up and {client_end}")
    })
}

/// A client that waited this long for an answer before leaving gave up on it.
pub const CLIENT_GAVE_UP: f64 = 2.0;

/// The capture missed data of this connection (a gap, or the peer ACKed unseen data): the
/// response may be in what was missed.
fn missed_data(c: &Conversation) -> bool {
    c.flag(TcpFlag::LostSegment) > 0 || c.flag(TcpFlag::AckLostSegment) > 0
}

/// One unanswered request: its frame, what it was, how many bytes, seconds to the close.
struct Unanswered {
    frame: u64,
    what: String,
    bytes: u64,
    close: String,
    after: f64,
    end_frame: u64,
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<std::net::SocketAddr, (FlowRef, Vec<Unanswered>)> = BTreeMap::new();
    // Flows where a call failed (fault, bind_nak, rejected): a close after that belongs to
    // that failure (rpc.refused), with the frame of the first failure.
    let mut failed: rustc_hash::FxHashMap<u64, u64> = Default::default();
    for call in &f.rpc.calls {
        if matches!(call.outcome, Outcome::Fault | Outcome::BindNak | Outcome::Rejected) {
            if let Some(id) = call.flow {
                let e = failed.entry(id).or_insert(call.frame);
                *e = (*e).min(call.frame);
            }
        }
    }
    for call in f.rpc.calls.iter().filter(|c| c.outcome == Outcome::NoResponse) {
        let Some(c) = call.flow.and_then(|id| f.conversation(id)) else { continue };
        if call.flow.and_then(|id| failed.get(&id)).is_some_and(|fr| *fr < call.frame) {
            continue;
        }
        if missed_data(c) {
            continue;
        }
        let Some(close) = ending(c, call.frame, call.ts) else { continue };
        let what = match (&call.interface, &call.operation, call.opnum) {
            (Some(i), Some(o), _) => format!("DCE/RPC {i} {o}"),
            (Some(i), None, Some(n)) => format!("DCE/RPC {i} opnum {n}"),
            (None, _, Some(n)) => format!("DCE/RPC request, opnum {n}"),
            _ => "DCE/RPC request".to_string(),
        };
        groups.entry(c.info.resp).or_insert_with(|| (FlowRef::of(c), Vec::new())).1.push(
            Unanswered {
                frame: call.frame,
                what,
                bytes: call.request_bytes,
                close,
                after: c.end.secs_since(call.ts).max(0.0),
                end_frame: c.last_frame,
            },
        );
    }
    for t in &f.apps.transactions {
        let unanswered = t.requests.saturating_sub(t.answered + t.long_polls);
        if unanswered == 0 {
            continue;
        }
        let Some(c) = f.conversation(t.flow.id) else { continue };
        // A cleartext request to a TLS port is the wrong protocol (app.protocol_mismatch),
        // not a server that failed to answer.
        if missed_data(c) || TLS_PORTS.contains(&c.info.resp.port()) {
            continue;
        }
        let last = t.samples.iter().chain(&t.slowest).rfind(|x| x.response_frame.is_none());
        let (req_frame, req_ts) = match last {
            Some(x) => (x.request_frame, x.request_end_ts),
            None => (c.first_frame, c.start),
        };
        let Some(close) = ending(c, req_frame, req_ts) else { continue };
        groups.entry(c.info.resp).or_insert_with(|| (FlowRef::of(c), Vec::new())).1.push(
            Unanswered {
                frame: req_frame,
                what: format!(
                    "{} {}",
                    plural(
                        unanswered as usize,
                        &format!("{} request", t.proto.name()),
                        &format!("{} requests", t.proto.name())
                    ),
                    last.map(|x| format!("({})", x.request)).unwrap_or_default()
                ),
                bytes: 0,
                close,
                after: c.end.secs_since(req_ts).max(0.0),
                end_frame: c.last_frame,
            },
        );
    }
    for (server, (flow, items)) in groups {
        out.push(finding(f, server, flow, &items));
    }
}

fn finding(
    f: &Facts,
    server: std::net::SocketAddr,
    flow: FlowRef,
    items: &[Unanswered],
) -> Finding {
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    ev.flows.push(flow);
    for u in items.iter().take(10) {
        ev.add_frames([u.frame, u.end_frame]);
        ev.line(format!(
            "frame {}: {}{}; {} {:.3} s later (the conversation ends at frame {}), no response",
            u.frame,
            u.what,
            if u.bytes > 0 { format!(", {} bytes", u.bytes) } else { String::new() },
            u.close,
            u.after,
            u.end_frame
        ));
    }
    ev.value("address", server.ip().to_string());
    ev.value("port", server.port());
    ev.value("requests", items.len());
    ev.why("requests the server never answered", items.len());
    for u in items.iter().take(3) {
        ev.why(
            "request frame → connection end",
            format!("{} → {} ({}, {:.3} s later)", u.frame, u.end_frame, u.close, u.after),
        );
    }
    ev.why(
        "threshold: idle close (longer: an idle timeout, not a failure)",
        format!("{IDLE_CLOSE} s"),
    );
    ev.why("threshold: client gave up after", format!("{CLIENT_GAVE_UP} s"));
    ev.why("left out", "flows where the capture missed data, RPC flows with an earlier fault, cleartext to TLS ports");
    ev.finish();
    let idle = items.iter().all(|u| u.after >= IDLE_CLOSE);
    let by_server: Vec<&Unanswered> = items
        .iter()
        .filter(|u| u.close.starts_with("the server ") && !u.close.contains("gave up"))
        .collect();
    let reset = by_server.iter().any(|u| u.close.starts_with("the server reset"));
    let gave_up = by_server.is_empty();
    let mut causes: Vec<crate::Text> = vec![
        "the server process failed while handling the request (an exception, a crash, an assertion) and the connection was torn down".into(),
        "the server refuses this request by closing: too large, malformed, or not allowed (some RPC servers close instead of returning a fault)".into(),
    ];
    if gave_up {
        causes = vec![
            "the server (or the service behind it) hangs on this request: a deadlock, an exhausted worker pool, or a back end (database, domain controller) that does not answer".into(),
            "the server is overloaded and queues requests longer than the client waits".into(),
        ];
    } else if idle {
        causes.insert(0, "an idle or request timeout on the server or a proxy / load balancer in front of it: the answer took longer than it allows".into());
    }
    Finding {
        id: NO_RESPONSE,
        severity: Severity::Problem,
        title: if gave_up {
            format!(
                "{server} acknowledged {} and never answered: the client gave up",
                plural(items.len(), "request", "requests")
            )
        } else {
            format!(
                "{server} {} without answering {}",
                if reset { "reset the connection" } else { "closed the connection" },
                plural(items.len(), "request", "requests")
            )
        },
        explanation: format!(
            "{} {}",
            if gave_up {
                "The server received the request (TCP acknowledged it) but sent no response; the client waited, then gave up and left. The client reports a \
time-out (\"the operation timed out\", RPC 1726 / 1722) rather than an error status."
            } else {
                "The server received the request (the connection carried it and stayed up) and then ended the connection itself, without sending a response. The client \
sees a broken connection (\"RPC server is unavailable\" 1722 / \"the remote procedure call failed\" 1726, or a connection reset) rather than an error status."
            },
            if gave_up {
                "The network delivered the request: the wait is the server's."
            } else if idle {
                "The close came long after the request: a timeout is the likely reason."
            } else {
                "The close came soon after the request: the server (or a device in front of it) rejected or failed on that request."
            }
        ),
        likely_causes: causes,
        next_steps: vec![
            format!("Look at the server's logs at the time of the request (Windows: the Application and System event logs of {}, the service's own log; crash dumps under WER).", server.ip()).into(),
            "Compare with requests that work: a larger or different request on the same interface points at a size limit or a server bug.".into(),
        ],
        evidence: ev,
        weight: 82,
    }
}

#[cfg(test)]
mod thresholds;
