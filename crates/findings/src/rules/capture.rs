//! Capture artifacts, labelled as such so nobody chases them: `capture.artifact` (checksum
//! offload, segmentation offload, duplicated packets), `capture.missed_packets` (data the
//! receiver acknowledged but the capture never saw), `capture.damaged` (a file cut short or
//! frames that could not be decoded).

use tracehound_flows::TcpFlag;

use super::tcp_mtu::offload_artifact;
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    offload(f, out);
    duplicates(f, out);
    missed(f, out);
    damaged(f, out);
}

fn offload(f: &Facts, out: &mut Vec<Finding>) {
    let convs: Vec<_> = f.conversations.iter().filter(|c| offload_artifact(c)).collect();
    if convs.is_empty() {
        return;
    }
    let bad: u64 = convs.iter().map(|c| c.bad_checksums).sum();
    let zero: u64 = convs.iter().map(|c| c.zero_ip_len).sum();
    let big =
        convs.iter().map(|c| c.dirs[0].max_segment.max(c.dirs[1].max_segment)).max().unwrap_or(0);
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in convs.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([c.first_frame]);
        ev.line(format!(
            "{}: {} bad checksums (of those checked), {} packets with IP length 0, largest segment {} bytes",
            FlowRef::of(c),
            c.bad_checksums,
            c.zero_ip_len,
            c.dirs[0].max_segment.max(c.dirs[1].max_segment)
        ));
    }
    ev.value("bad_checksums", bad);
    ev.value("zero_ip_len", zero);
    ev.value("largest_segment", big);
    ev.finish();
    out.push(Finding {
        id: "capture.artifact",
        severity: Severity::Artifact,
        title: match (bad > 0, zero > 0 || big > super::tcp_mtu::ETHERNET_MAX_SEGMENT + 20) {
            (true, true) => "Checksum and segmentation offload: the capture was taken on a sending host".into(),
            (true, false) => format!("{bad} bad checksums from checksum offload: the capture was taken on a sending host"),
            _ => format!("Segments of up to {big} bytes from segmentation offload (TSO/GSO): the capture was taken on a sending host"),
        },
        explanation: format!(
            "Some packets have wrong checksums, an IP length of 0, or segments larger than an Ethernet frame allows. This is how a capture looks \
on a host whose network card computes checksums and cuts large segments (checksum offload, TSO/GSO): the capture sees packets before the card finishes them. \
These are not errors on the wire."
        ),
        likely_causes: vec!["checksum offload and TCP segmentation offload on the capturing host's NIC".into()],
        next_steps: vec![
            "Ignore the bad checksums and oversize segments; to see real wire packets, capture on a switch port (SPAN/TAP) or disable offloads while capturing (`ethtool -K eth0 tx off tso off gso off`).".into(),
        ],
        evidence: ev,
        weight: 5,
    });
}

fn duplicates(f: &Facts, out: &mut Vec<Finding>) {
    let convs: Vec<_> = f.conversations.iter().filter(|c| c.duplicate_packets > 0).collect();
    let dup: u64 = convs.iter().map(|c| c.duplicate_packets).sum();
    let pkts: u64 = convs.iter().map(|c| c.packets()).sum();
    if dup == 0 || (dup as f64) < 0.05 * pkts as f64 {
        return;
    }
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in convs.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([c.first_frame]);
        ev.line(format!(
            "{}: {} of {} packets are exact copies of the one before",
            FlowRef::of(c),
            c.duplicate_packets,
            c.packets()
        ));
    }
    ev.value("duplicate_packets", dup);
    ev.finish();
    out.push(Finding {
        id: "capture.artifact",
        severity: Severity::Artifact,
        title: format!("{dup} packets appear twice: duplicates from the capture setup"),
        explanation: "Packets show up again right after themselves with the same IP identification, sequence and acknowledgement numbers. The network did not send them twice: \
the capture saw each packet at two points (a SPAN of both ports, `-i any` on a router, or several mirrored VLANs). Wireshark flags the copies as retransmissions and duplicate ACKs; \
they are not."
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
            "{}: {} ACKs of data the capture never saw (frames {})",
            FlowRef::of(c),
            fr.len(),
            fr.iter().take(5).map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    ev.value("acked_unseen", n);
    ev.finish();
    out.push(Finding {
        id: "capture.missed_packets",
        severity: Severity::Artifact,
        title: format!("The capture missed packets: {n} ACKs of data it never saw"),
        explanation: "The receiver acknowledged data that is not in the capture, so the data did arrive: the capture dropped it (a busy capture host or mirror port), \
or the capture started mid-connection. Gaps this explains are not network loss."
            .into(),
        likely_causes: vec!["the capture tool or mirror port could not keep up".into(), "the capture started after the connection did".into()],
        next_steps: vec!["Check the capture tool's 'dropped by kernel' / interface drop count; use a capture filter or a larger buffer (`tcpdump -B`).".into()],
        evidence: ev,
        weight: 3,
    });
}

fn damaged(f: &Facts, out: &mut Vec<Finding>) {
    let cap = f.capture;
    if cap.damage.is_none() && cap.decode_errors == 0 {
        return;
    }
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    if let Some(d) = &cap.damage {
        ev.line(d.clone());
    }
    for (frame, what) in cap.decode_issues.iter().take(10) {
        ev.add_frames([*frame]);
        ev.line(format!("frame {frame}: {what}"));
    }
    ev.value("decode_errors", cap.decode_errors);
    ev.finish();
    out.push(Finding {
        id: "capture.damaged",
        severity: Severity::Warning,
        title: if cap.damage.is_some() { "The capture file is cut short or damaged".into() } else { format!("{} frames could not be decoded", cap.decode_errors) },
        explanation: "Everything before the damage was analysed; conclusions about what came after it cannot be drawn from this file.".into(),
        likely_causes: vec!["the capture was copied while still being written, or the ring buffer file was cut".into()],
        next_steps: vec!["Take the complete file from the capture host.".into()],
        evidence: ev,
        weight: 2,
    });
}
