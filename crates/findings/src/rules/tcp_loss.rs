//! `tcp.loss`: retransmissions, their rate per direction, and time lost to timeouts.
//!
//! Contrary evidence counts: a retransmission the receiver had already acknowledged
//! (Wireshark's spurious retransmission) or reported with a D-SACK (RFC 2883: the bytes
//! arrived twice) lost nothing — the ACK was late, not the data. Those are left out, and said
//! so. Time lost to a retransmission timeout is the silence before a timeout retransmission
//! (at most its RTO), so the total can never exceed the capture's duration.

use tracehound_flows::{Dir, TcpFlag};

use super::util::{num, pct, port_desc};
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// A retransmission this long after the original is a timeout (RTO), not a fast retransmit.
pub const RTO_STALL: f64 = 0.2;
/// Retransmissions (not spurious, with payload) one direction needs before it counts.
pub const MIN_RETRANSMISSIONS: u64 = 3;
/// Retransmission rate (of the direction's packets) from which a direction counts ...
pub const MIN_RATE: f64 = 0.01;
/// ... and from which it is a problem rather than a warning.
pub const PROBLEM_RATE: f64 = 0.03;
/// Seconds of RTO silence that make a direction count, and the whole finding a problem,
/// whatever the rate.
pub const STALL_SECS: f64 = 1.0;
/// Capture duplicates of at least this share of the retransmissions: the "retransmissions"
/// are copies made by the capture (`capture.artifact`), not loss.
pub const DUPLICATE_SHARE: f64 = 0.8;

/// One flow direction that lost enough.
struct Hit<'a> {
    c: &'a tracehound_flows::Conversation,
    dir: Dir,
    retx: u64,
    rate: f64,
    stall: f64,
    frames: Vec<u64>,
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let (mut hits, spurious_total) = directions(f);
    if hits.is_empty() {
        return;
    }
    hits.sort_by_key(|h| std::cmp::Reverse(h.retx));
    let total: u64 = hits.iter().map(|h| h.retx).sum();
    // Silences of different flows overlap in time: never more than the capture lasted.
    let span = (f.capture.last_ts - f.capture.first_ts).max(0.0);
    let stall: f64 = hits.iter().map(|h| h.stall).sum::<f64>().min(span);
    let worst = &hits[0];
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for h in hits.iter().take(10) {
        ev.flows.push(FlowRef::of(h.c));
        ev.add_frames(h.frames.iter().copied().take(10));
        let (s, d) = (h.c.info.src(h.dir), h.c.info.dst(h.dir));
        ev.line(format!(
            "{s} → {d}: {} retransmissions, {:.1}% of its packets{}",
            h.retx,
            h.rate * 100.0,
            if h.stall > 0.0 {
                format!(", {:.2} s waiting for retransmission timeouts", h.stall)
            } else {
                String::new()
            }
        ));
    }
    ev.value("retransmissions", total);
    ev.value("rto_stall_secs", stall);
    ev.value("worst_rate", worst.rate);
    if spurious_total > 0 {
        ev.value("spurious_left_out", spurious_total);
        ev.line(format!(
            "{spurious_total} further retransmissions left out: the receiver already had the data (acknowledged before, or reported with a D-SACK)"
        ));
    }
    explain(&mut ev, total, worst.rate, (stall, span), spurious_total);
    ev.finish();
    let severe = worst.rate >= PROBLEM_RATE || stall >= STALL_SECS;
    let (ws, wd) = (worst.c.info.src(worst.dir), worst.c.info.dst(worst.dir));
    out.push(Finding {
        id: "tcp.loss",
        severity: if severe { Severity::Problem } else { Severity::Warning },
        title: format!("Packets are lost: {total} retransmissions in {} flow direction{}", hits.len(), if hits.len() == 1 { "" } else { "s" }),
        explanation: format!(
            "Segments had to be sent again. The worst direction is {ws} → {wd} ({}): {:.1}% of its packets were retransmissions{}. \
Each loss costs at least a round trip (fast retransmit) or a retransmission timeout (RTO, {} ms or more) during which nothing moves.",
            port_desc(worst.c.info.resp.port()),
            worst.rate * 100.0,
            if stall > 0.0 { format!("; {stall:.2} s in all were spent waiting for retransmission timeouts") } else { String::new() },
            num(RTO_STALL * 1000.0)
        ),
        likely_causes: vec![
            "congestion or a lossy link between the two sites (look for the same loss in other flows on that path)".into(),
            "a duplex mismatch, bad cable or NIC errors on one hop (interface error counters)".into(),
            "a policer or shaper dropping bursts (loss in one direction only)".into(),
        ],
        next_steps: vec![
            format!("Capture at both ends at the same time: a segment sent at {ws} but not seen at {wd} was lost in between; compare hop by hop.").into(),
            "Check interface counters (errors, drops, CRC) and QoS policers along the path.".into(),
        ],
        evidence: ev,
        weight: if severe { 65 } else { 40 },
    });
}

/// Every flow direction with enough (not spurious) retransmissions, and how many spurious
/// ones were left out.
fn directions<'a>(f: &Facts<'a>) -> (Vec<Hit<'a>>, u64) {
    let mut hits = Vec::new();
    let mut spurious_total = 0u64;
    for c in f.conversations {
        if c.synack_frame.is_none() && c.state.is_some() && c.dirs[1].packets == 0 {
            continue; // unanswered attempts: tcp.connect_unanswered
        }
        for dir in [Dir::Orig, Dir::Resp] {
            let spurious: Vec<u64> = c
                .events
                .iter()
                .filter(|e| e.flag == TcpFlag::SpuriousRetransmission)
                .map(|e| e.frame)
                .chain(c.spurious_retx.iter().copied())
                .collect();
            let all = c
                .events
                .iter()
                .filter(|e| e.dir == dir && e.flag == TcpFlag::Retransmission && e.len > 0);
            let ev: Vec<_> = all.clone().filter(|e| !spurious.contains(&e.frame)).collect();
            spurious_total += (all.count() - ev.len()) as u64;
            let retx = ev.len() as u64;
            if retx < MIN_RETRANSMISSIONS {
                continue;
            }
            // Capture duplicates look like retransmissions: leave those to capture.artifact.
            if c.duplicate_packets as f64 >= DUPLICATE_SHARE * retx as f64 {
                continue;
            }
            let pkts = c.dirs[dir.idx()].packets.max(1);
            let rate = retx as f64 / pkts as f64;
            let stall = stall_secs(&ev);
            if rate < MIN_RATE && stall < STALL_SECS {
                continue;
            }
            hits.push(Hit {
                c,
                dir,
                retx,
                rate,
                stall,
                frames: ev.iter().map(|e| e.frame).collect(),
            });
        }
    }
    (hits, spurious_total)
}

/// Why it fired: the measured numbers and the thresholds (read from the constants).
fn explain(
    ev: &mut Evidence,
    total: u64,
    worst_rate: f64,
    (stall, span): (f64, f64),
    spurious: u64,
) {
    ev.why(
        format!("retransmissions (not spurious, in directions with {MIN_RETRANSMISSIONS} or more)"),
        total,
    );
    ev.why("worst direction's retransmission rate", format!("{:.1}%", worst_rate * 100.0));
    ev.why(
        "seconds waiting for retransmission timeouts (capped at capture span)",
        format!("{stall:.2} (span {span:.2})"),
    );
    ev.why("spurious retransmissions left out", spurious);
    ev.why(
        "threshold: counted when",
        format!(
            "≥ {MIN_RETRANSMISSIONS} retransmissions and (rate ≥ {}% or ≥ {} s of RTO silence)",
            pct(MIN_RATE),
            num(STALL_SECS)
        ),
    );
    ev.why(
        "threshold: problem when",
        format!(
            "rate ≥ {}% or ≥ {} s of RTO silence, else warning",
            pct(PROBLEM_RATE),
            num(STALL_SECS)
        ),
    );
}

/// Seconds lost waiting for retransmission timeouts: the silences of at least [`RTO_STALL`]
/// that a retransmission ended (each at most that retransmission's RTO). The silences before
/// distinct packets of one flow do not overlap, so the sum stays within the flow's duration.
pub fn stall_secs(ev: &[&tracehound_flows::FlagEvent]) -> f64 {
    ev.iter().filter_map(|e| e.rto.map(|r| idle_stall(r, e.idle))).sum()
}

fn idle_stall(rto: f64, idle: f64) -> f64 {
    let s = idle.min(rto);
    if s >= RTO_STALL {
        s
    } else {
        0.0
    }
}

#[cfg(test)]
mod thresholds;
