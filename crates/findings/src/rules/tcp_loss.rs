//! `tcp.loss`: retransmissions, their rate per direction, and time lost to timeouts.

use tracehound_flows::{Dir, TcpFlag};

use super::util::port_desc;
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// A retransmission this long after the original is a timeout (RTO), not a fast retransmit.
pub const RTO_STALL: f64 = 0.2;

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    struct Hit<'a> {
        c: &'a tracehound_flows::Conversation,
        dir: Dir,
        retx: u64,
        rate: f64,
        stall: f64,
        frames: Vec<u64>,
    }
    let mut hits = Vec::new();
    for c in f.conversations {
        if c.synack_frame.is_none() && c.state.is_some() && c.dirs[1].packets == 0 {
            continue; // unanswered attempts: tcp.connect_unanswered
        }
        for dir in [Dir::Orig, Dir::Resp] {
            let ev: Vec<_> = c
                .events
                .iter()
                .filter(|e| e.dir == dir && e.flag == TcpFlag::Retransmission && e.len > 0)
                .collect();
            let retx = ev.len() as u64;
            if retx < 3 {
                continue;
            }
            // Capture duplicates look like retransmissions: leave those to capture.artifact.
            if c.duplicate_packets as f64 >= 0.8 * retx as f64 {
                continue;
            }
            let pkts = c.dirs[dir.idx()].packets.max(1);
            let rate = retx as f64 / pkts as f64;
            let stall: f64 = ev.iter().filter_map(|e| e.rto).filter(|r| *r >= RTO_STALL).sum();
            if rate < 0.01 && stall < 1.0 {
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
    if hits.is_empty() {
        return;
    }
    hits.sort_by(|a, b| b.retx.cmp(&a.retx));
    let total: u64 = hits.iter().map(|h| h.retx).sum();
    let stall: f64 = hits.iter().map(|h| h.stall).sum();
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
    ev.finish();
    let severe = worst.rate >= 0.03 || stall >= 1.0;
    let (ws, wd) = (worst.c.info.src(worst.dir), worst.c.info.dst(worst.dir));
    out.push(Finding {
        id: "tcp.loss",
        severity: if severe { Severity::Problem } else { Severity::Warning },
        title: format!("Packets are lost: {total} retransmissions in {} flow direction{}", hits.len(), if hits.len() == 1 { "" } else { "s" }),
        explanation: format!(
            "Segments had to be sent again. The worst direction is {ws} → {wd} ({}): {:.1}% of its packets were retransmissions{}. \
Each loss costs at least a round trip (fast retransmit) or a retransmission timeout (RTO, 200 ms or more) during which nothing moves.",
            port_desc(worst.c.info.resp.port()),
            worst.rate * 100.0,
            if stall > 0.0 { format!("; {stall:.2} s in all were spent waiting for retransmission timeouts") } else { String::new() }
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
