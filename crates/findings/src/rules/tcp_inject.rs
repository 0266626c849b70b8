//! `tcp.injected_data`: two segments carrying different bytes for the same sequence numbers,
//! arriving with different TTLs. A TCP sender retransmits the same bytes; different bytes at
//! one sequence number from a different distance mean one of the two was made by a device on
//! the path (a censor's or an attacker's race to answer first, a captive portal).

use tracehound_flows::{Conversation, DataConflict};

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let hits: Vec<(&Conversation, &DataConflict)> =
        f.conversations.iter().flat_map(|c| c.data_conflicts.iter().map(move |d| (c, d))).collect();
    let Some(&(c, d)) = hits.first() else { return };
    let sender = c.info.src(d.dir);
    let usual = c.ttl[d.dir.idx()];
    // The segment whose TTL differs from the sender's usual one is the forged one.
    let (forged, forged_ttl, real, real_ttl) = if usual == Some(d.first_ttl) {
        (d.second_frame, d.second_ttl, d.first_frame, d.first_ttl)
    } else {
        (d.first_frame, d.first_ttl, d.second_frame, d.second_ttl)
    };
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for (c, d) in hits.iter().take(10) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([d.first_frame, d.second_frame]);
        ev.line(format!(
            "{}: frames {} (TTL {}, {} bytes) and {} (TTL {}, {} bytes) start at the same sequence number with different bytes (first {} compared)",
            FlowRef::of(c),
            d.first_frame,
            d.first_ttl,
            d.first_len,
            d.second_frame,
            d.second_ttl,
            d.second_len,
            d.compared
        ));
    }
    ev.value("forged_frame", forged);
    ev.value("forged_ttl", forged_ttl);
    ev.value("sender_ttl", usual.unwrap_or(real_ttl));
    ev.value("conflicts", hits.len());
    ev.finish();
    out.push(Finding {
        id: "tcp.injected_data",
        severity: Severity::Problem,
        title: format!(
            "Injected data: frame {forged} carries other bytes than frame {real} for the same sequence numbers from {}",
            sender.ip()
        ),
        explanation: format!(
            "Frames {} and {} both claim to be {}'s bytes at the same sequence numbers, but the bytes differ, and they arrived with TTLs {} and {}. \
A TCP sender retransmits the same bytes; a second version from another distance was made by a device on the path, racing the real answer \
(frame {forged}, TTL {forged_ttl}, is the one that does not fit {}'s other packets). The receiver keeps whichever arrived first.",
            d.first_frame,
            d.second_frame,
            sender.ip(),
            d.first_ttl,
            d.second_ttl,
            sender.ip()
        ),
        likely_causes: vec![
            "on-path injection: censorship, a captive portal or transparent proxy answering first".into(),
            "an attacker racing the server's answer (man-on-the-side)".into(),
        ],
        next_steps: vec![
            "Find the device at the forged packet's distance (its TTL against a traceroute); use TLS so injected bytes are rejected.".into(),
        ],
        evidence: ev,
        weight: 80,
    });
}

#[cfg(test)]
mod thresholds;
