//! Capture artifacts, labelled as such so nobody chases them: `capture.artifact` (checksum
//! offload, segmentation offload, duplicated packets), `capture.missed_packets` (data the
//! receiver acknowledged but the capture never saw), `capture.rewritten` (TTL 0 or bad IP
//! checksums both ways), and `capture.bad_checksums_received` (bad checksums on packets that
//! were routed to the capture point, which offload cannot explain).
//!
//! The capture point is decided before offload is blamed: offload only touches packets the
//! capture host sends, which arrive with a sender's initial TTL (32, 64, 128, 255) and, when
//! the handshake was seen, from the side the handshake timing puts the capture at. `capture.damaged` and
//! `capture.not_analysed` are in `coverage.rs`.

use tracehound_flows::{Conversation, Dir, TcpFlag};

use super::offload::{offload_artifact, offload_checksums, rewritten, ETHERNET_MAX_SEGMENT};
use super::util::plural;
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    offload(f, out);
    received_bad(f, out);
    rewritten_trace(f, out);
    duplicates(f, out);
    missed(f, out);
    // capture.damaged: rules/coverage.rs (with everything else that was not analysed)
}

/// Extra copies of packets from this share of the (duplicated conversations') packets are
/// reported as a capture artifact.
pub const DUPLICATE_SHARE: f64 = 0.05;

fn offload(f: &Facts, out: &mut Vec<Finding>) {
    let convs: Vec<_> = f.conversations.iter().filter(|c| offload_artifact(c)).collect();
    if convs.is_empty() {
        return;
    }
    let bad_of =
        |c: &Conversation| offload_checksums(c, Dir::Orig) + offload_checksums(c, Dir::Resp);
    let bad: u64 = convs.iter().map(|c| bad_of(c)).sum();
    let zero: u64 = convs.iter().map(|c| c.zero_ip_len).sum();
    let big =
        convs.iter().map(|c| c.dirs[0].max_segment.max(c.dirs[1].max_segment)).max().unwrap_or(0);
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in convs.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([c.first_frame]);
        let senders: Vec<String> = [Dir::Orig, Dir::Resp]
            .into_iter()
            .filter(|d| offload_checksums(c, *d) > 0)
            .map(|d| format!("{} (TTL {})", c.info.src(d).ip(), c.ttl[d.idx()].unwrap_or(0)))
            .collect();
        let mut parts = Vec::new();
        if bad_of(c) > 0 {
            let by = if senders.is_empty() {
                String::new()
            } else {
                format!(" sent by {}", senders.join(", "))
            };
            parts.push(format!(
                "{} (of those checked){by}",
                plural(bad_of(c) as usize, "bad checksum", "bad checksums")
            ));
        }
        if c.zero_ip_len > 0 {
            parts.push(plural(
                c.zero_ip_len as usize,
                "packet with IP length 0",
                "packets with IP length 0",
            ));
        }
        let largest = c.dirs[0].max_segment.max(c.dirs[1].max_segment);
        if largest > 0 {
            parts.push(format!("largest segment {largest} bytes"));
        }
        ev.line(format!("{}: {}", FlowRef::of(c), parts.join(", ")));
    }
    ev.value("bad_checksums", bad);
    ev.value("zero_ip_len", zero);
    ev.value("largest_segment", big);
    ev.finish();
    out.push(Finding {
        id: "capture.artifact",
        severity: Severity::Artifact,
        title: match (bad > 0, zero > 0 || big > ETHERNET_MAX_SEGMENT + 20) {
            (true, true) => "Checksum and segmentation offload: the capture was taken on a sending host".into(),
            (true, false) => format!("{} from checksum offload: the capture was taken on a sending host", plural(bad as usize, "bad checksum", "bad checksums")),
            _ => format!("Segments of up to {big} bytes from segmentation offload (TSO/GSO): the capture was taken on a sending host"),
        },
        explanation: "Some packets the capture host sent (their TTL is the sender's own: they were not routed) have wrong checksums, an IP length of 0, or segments larger than an Ethernet frame allows. \
This is how a capture looks on a host whose network card computes checksums and cuts large segments (checksum offload, TSO/GSO): the capture sees packets before the card finishes them. \
These are not errors on the wire."
            .into(),
        likely_causes: vec!["checksum offload and TCP segmentation offload on the capturing host's NIC".into()],
        next_steps: vec![
            "Ignore the bad checksums and oversize segments; to see real wire packets, capture on a switch port (SPAN/TAP) or disable offloads while capturing (`ethtool -K eth0 tx off tso off gso off`).".into(),
        ],
        evidence: ev,
        weight: 5,
    });
}

/// Bad checksums on packets the capture host received (routed to it: their TTL is below any
/// sender's), which offload cannot explain.
fn received_bad(f: &Facts, out: &mut Vec<Finding>) {
    let mut hits = Vec::new();
    for c in f.conversations.iter().filter(|c| !rewritten(c)) {
        for d in [Dir::Orig, Dir::Resp] {
            let n = c.bad_checksum_dirs[d.idx()].saturating_sub(offload_checksums(c, d));
            if n > 0 {
                hits.push((c, d, n));
            }
        }
    }
    if hits.is_empty() {
        return;
    }
    let total: u64 = hits.iter().map(|h| h.2).sum();
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for (c, d, n) in hits.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([c.first_frame]);
        ev.line(format!(
            "{} → {}: {} (of the first packets checked) on packets arriving with TTL {}; the other side's TTL is {}",
            c.info.src(*d),
            c.info.dst(*d),
            plural(*n as usize, "bad TCP checksum", "bad TCP checksums"),
            c.ttl[d.idx()].map_or("?".into(), |t| t.to_string()),
            c.ttl[d.flip().idx()].map_or("?".into(), |t| t.to_string()),
        ));
    }
    ev.value("bad_checksums", total);
    ev.finish();
    let (c, d, _) = hits[0];
    out.push(Finding {
        id: "capture.bad_checksums_received",
        severity: Severity::Warning,
        title: format!("{} from {} arrived with bad TCP checksums (not offload: they were routed to the capture point)", plural(total as usize, "packet", "packets"), c.info.src(d).ip()),
        explanation: format!(
            "Checksum offload only affects packets the capture host sends; these came from {} and arrived with TTL {}, so they crossed routers before the capture saw them. \
Either they were damaged on the way (the receiver drops such packets, and the sender must retransmit them) or something between the network and the capture altered them.",
            c.info.src(d).ip(),
            c.ttl[d.idx()].unwrap_or(0)
        ),
        likely_causes: vec![
            "corruption on a link or device on the path (CRC errors, a faulty NIC, a broken middlebox)".into(),
            "the capture path (a TAP or aggregator) altering packets".into(),
        ],
        next_steps: vec![
            "Check interface error counters (CRC, input errors) along the path; capture at the receiver to see whether it drops these packets (`netstat -s`: bad segments).".into(),
        ],
        evidence: ev,
        weight: 30,
    });
}

/// A rewritten trace: TTL 0 or bad IPv4 header checksums both ways.
fn rewritten_trace(f: &Facts, out: &mut Vec<Finding>) {
    let convs: Vec<&Conversation> = f.conversations.iter().filter(|c| rewritten(c)).collect();
    if convs.is_empty() {
        return;
    }
    let ttl0: u64 = convs.iter().map(|c| c.ttl_zero[0] + c.ttl_zero[1]).sum();
    let badip: u64 = convs.iter().map(|c| c.bad_ip_checksums[0] + c.bad_ip_checksums[1]).sum();
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in convs.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([c.first_frame]);
        ev.line(format!("{}: {}", FlowRef::of(c), rewrite_marks(c)));
    }
    ev.value("ttl_zero", ttl0);
    ev.value("bad_ip_checksums", badip);
    ev.finish();
    out.push(Finding {
        id: "capture.rewritten",
        severity: Severity::Artifact,
        title: "The trace was rewritten: TTLs and checksums say nothing about the network".into(),
        explanation: "Packets carry TTL 0 (no router forwards such a packet) or bad IP header checksums in both directions: the file was anonymised, replayed or \
produced by a tool, not captured as the packets crossed a network. Checksums, TTLs and the capture point cannot be judged from it; offload is not the explanation."
            .into(),
        likely_causes: vec!["an anonymiser or rewriting tool (tcprewrite, a sanitiser) that did not fix the checksums".into()],
        next_steps: vec!["Get the original capture if checksums or TTLs matter.".into()],
        evidence: ev,
        weight: 4,
    });
}

/// What marks one conversation as rewritten, naming only the marks it has.
fn rewrite_marks(c: &Conversation) -> String {
    let mut marks = Vec::new();
    let ttl0 = c.ttl_zero[0] + c.ttl_zero[1];
    if ttl0 > 0 {
        marks.push(format!("TTL 0 on {}", plural(ttl0 as usize, "packet", "packets")));
    }
    let [a, b] = c.bad_ip_checksums;
    if a + b > 0 {
        marks.push(format!(
            "bad IP header checksums on {} one way and {b} the other",
            plural(a as usize, "packet", "packets")
        ));
    }
    marks.join(", ")
}

fn duplicates(f: &Facts, out: &mut Vec<Finding>) {
    let convs: Vec<_> = f.conversations.iter().filter(|c| c.duplicate_packets > 0).collect();
    let dup: u64 = convs.iter().map(|c| c.duplicate_packets).sum();
    let copied: u64 = convs.iter().map(|c| c.duplicated_packets).sum();
    let most = convs.iter().map(|c| c.duplicate_max_copies).max().unwrap_or(0);
    let pkts: u64 = convs.iter().map(|c| c.packets()).sum();
    if dup == 0 || (dup as f64) < DUPLICATE_SHARE * pkts as f64 {
        return;
    }
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in convs.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([c.first_frame]);
        ev.line(format!(
            "{}: {} packets copied ({} extra copies, up to {} appearances of one packet) among {} packets",
            FlowRef::of(c),
            c.duplicated_packets,
            c.duplicate_packets,
            c.duplicate_max_copies,
            c.packets()
        ));
    }
    ev.value("duplicate_packets", dup);
    ev.value("packets_copied", copied);
    ev.value("max_appearances", most);
    ev.finish();
    let title = if copied > 0 && dup == copied * u64::from(most.saturating_sub(1)) {
        format!("{copied} packets appear {most} times each: duplicates from the capture setup")
    } else {
        format!(
            "{copied} packets appear more than once (up to {most} times, {dup} extra copies): duplicates from the capture setup"
        )
    };
    out.push(Finding {
        id: "capture.artifact",
        severity: Severity::Artifact,
        title,
        explanation: "Packets show up again right after themselves, within milliseconds, identical in IP identification, length, sequence and acknowledgement numbers, flags, window and options. \
The network did not send them twice: the capture saw each packet at several points (a SPAN of both ports, `-i any` on a router, or several mirrored VLANs). \
Wireshark flags the copies as retransmissions and duplicate ACKs; they are not."
            .into(),
        likely_causes: vec!["capturing on several interfaces or mirror sessions that carry the same traffic".into()],
        next_steps: vec!["Capture on one interface, or remove duplicates first (`editcap -d`).".into()],
        evidence: ev,
        weight: 5,
    });
}

fn missed(f: &Facts, out: &mut Vec<Finding>) {
    let convs: Vec<_> =
        f.conversations.iter().filter(|c| c.flag(TcpFlag::AckLostSegment) > 0).collect();
    let n: u64 = convs.iter().map(|c| c.flag(TcpFlag::AckLostSegment)).sum();
    if n == 0 {
        return;
    }
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in convs.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        let fr: Vec<u64> = c
            .events
            .iter()
            .filter(|e| e.flag == TcpFlag::AckLostSegment)
            .map(|e| e.frame)
            .collect();
        ev.add_frames(fr.iter().copied().take(5));
        ev.line(format!(
            "{}: {} of data the capture never saw ({} {})",
            FlowRef::of(c),
            plural(fr.len(), "ACK", "ACKs"),
            if fr.len() == 1 { "frame" } else { "frames" },
            fr.iter().take(5).map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    ev.value("acked_unseen", n);
    ev.finish();
    out.push(Finding {
        id: "capture.missed_packets",
        severity: Severity::Artifact,
        title: format!(
            "The capture missed packets: {} of data it never saw",
            plural(n as usize, "ACK", "ACKs")
        ),
        explanation: "The receiver acknowledged data that is not in the capture, so the data did arrive: the capture dropped it (a busy capture host or mirror port), \
or the capture started mid-connection. Gaps this explains are not network loss."
            .into(),
        likely_causes: vec!["the capture tool or mirror port could not keep up".into(), "the capture started after the connection did".into()],
        next_steps: vec!["Check the capture tool's 'dropped by kernel' / interface drop count; use a capture filter or a larger buffer (`tcpdump -B`).".into()],
        evidence: ev,
        weight: 3,
    });
}

#[cfg(test)]
mod thresholds;
