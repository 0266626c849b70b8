//! `tcp.nagle_delayed_ack`: small writes held back by Nagle's algorithm until the peer's
//! delayed ACK (≈ 40 ms on Linux, ≈ 200 ms on Windows) releases them.

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// Stalls in one conversation before we call it a pattern.
pub const MIN_STALLS: u64 = 3;
/// Stalls (all conversations) from which it is a problem ...
pub const PROBLEM_STALLS: u64 = 10;
/// ... or seconds lost to them.
pub const PROBLEM_SECS: f64 = 1.0;
/// A typical stall at least this long is Windows' 200 ms delayed ACK, else Linux's 40 ms.
pub const WINDOWS_DELAY: f64 = 0.15;

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let hits: Vec<_> = f.conversations.iter().filter(|c| c.nagle.stalls >= MIN_STALLS).collect();
    if hits.is_empty() {
        return;
    }
    let stalls: u64 = hits.iter().map(|c| c.nagle.stalls).sum();
    let secs: f64 = hits.iter().map(|c| c.nagle.secs).sum();
    let typical = secs / stalls as f64;
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in hits.iter().take(10) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames(c.nagle.ack_frames.iter().copied().take(10));
        let sender = c.nagle.sender_dirs.first().map(|d| c.info.src(*d)).unwrap_or(c.info.orig);
        ev.line(format!(
            "{}: {} exchanges stalled, {:.3} s lost (up to {:.0} ms each); {} waited for ACKs (frames {})",
            FlowRef::of(c),
            c.nagle.stalls,
            c.nagle.secs,
            c.nagle.max_secs * 1e3,
            sender,
            c.nagle.ack_frames.iter().take(5).map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    ev.value("stalls", stalls);
    ev.value("secs", secs);
    ev.value("typical_delay_ms", typical * 1e3);
    ev.finish();
    let os = if typical >= WINDOWS_DELAY { "Windows' ~200 ms" } else { "Linux's ~40 ms" };
    out.push(Finding {
        id: "tcp.nagle_delayed_ack",
        severity: if secs >= PROBLEM_SECS || stalls >= PROBLEM_STALLS { Severity::Problem } else { Severity::Warning },
        title: format!("{stalls} exchanges waited for delayed ACKs ({secs:.2} s lost, ~{:.0} ms each)", typical * 1e3),
        explanation: format!(
            "The sender wrote a request in several small pieces. Nagle's algorithm holds a small segment back while an earlier small one is unacknowledged, \
and the receiver delays its ACK (by {os}, the delay seen here) hoping to piggy-back it on a reply that cannot come before the whole request has arrived. \
Every exchange therefore waits one delayed-ACK timer: the application is slow in every transaction although the network is fast."
        ),
        likely_causes: vec![
            "the application writes one request with several send() calls (write-write-read)".into(),
            "TCP_NODELAY not set on a request/response protocol".into(),
        ],
        next_steps: vec![
            "Have the sender build each request in one buffer and send it with one call (or use writev / gathered sends).".into(),
            "Or set TCP_NODELAY on the sending socket.".into(),
            "As a workaround, shorten the receiver's delayed ACK (Windows: TcpAckFrequency=1 on the interface; Linux: TCP_QUICKACK).".into(),
        ],
        evidence: ev,
        weight: 70,
    });
}

#[cfg(test)]
mod thresholds;
