//! `tcp.pmtu_blackhole`: full-size segments retransmitted without success while small ones
//! pass. `tcp.mss_exceeded`: a sender exceeding the MSS its peer offered (when that is not a
//! segmentation-offload artifact of a sender-side capture).

use tracehound_flows::{Dir, TcpFlag};

use super::offload::offload_artifact;
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// Segments at least this large count as "full size" for the black-hole test.
pub const LARGE: u32 = 1000;
/// Retransmissions of large segments (and nothing smaller) that make a black hole.
pub const MIN_LARGE_RETRANSMISSIONS: usize = 3;
pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    for c in f.conversations {
        for dir in [Dir::Orig, Dir::Resp] {
            let retx: Vec<_> = c
                .events
                .iter()
                .filter(|e| e.dir == dir && e.flag == TcpFlag::Retransmission && e.len > 0)
                .collect();
            let large = retx.iter().filter(|e| e.len >= LARGE).count();
            let peer_dupacks =
                c.events.iter().filter(|e| e.dir != dir && e.flag == TcpFlag::DuplicateAck).count();
            let peer_sack = c.dirs[dir.flip().idx()].sack_used;
            let icmp_too_big = c
                .icmp_errors
                .iter()
                .any(|e| (!e.v6 && e.icmp_type == 3 && e.code == 4) || (e.v6 && e.icmp_type == 2));
            if large >= MIN_LARGE_RETRANSMISSIONS
                && large == retx.len()
                && peer_dupacks == 0
                && !peer_sack
                && !offload_artifact(c)
            {
                let sender = c.info.src(dir);
                let size = retx.iter().map(|e| e.len).max().unwrap_or(0);
                let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
                ev.flows.push(FlowRef::of(c));
                ev.add_frames(retx.iter().map(|e| e.frame));
                ev.line(format!(
                    "{sender}: a {size}-byte segment sent {} more times (frames {}), never acknowledged; the peer sent no duplicate ACK or SACK (nothing of the burst arrived)",
                    large,
                    retx.iter().take(8).map(|e| e.frame.to_string()).collect::<Vec<_>>().join(", ")
                ));
                if icmp_too_big {
                    ev.line("ICMP 'fragmentation needed / packet too big' was seen for this flow, but the sender kept sending large segments".into());
                }
                ev.value("segment_size", size);
                ev.value("retransmissions", large);
                ev.finish();
                out.push(Finding {
                    id: "tcp.pmtu_blackhole",
                    severity: Severity::Problem,
                    title: format!("Path MTU black hole: {size}-byte segments from {sender} never get through"),
                    explanation: format!(
                        "The connection works while segments are small, then {sender} sends full-size segments ({size} bytes of payload) and they are retransmitted again and again \
without ever being acknowledged — while the peer shows no sign of receiving any of them. A hop on the path has a smaller MTU and drops the large packets (they have \
Don't Fragment set), and the ICMP \"fragmentation needed\" message that should tell the sender to use smaller packets {}.",
                        if icmp_too_big { "arrives but is not acted on" } else { "never arrives (filtered by a firewall)" }
                    ),
                    likely_causes: vec![
                        "a tunnel, VPN or PPPoE link with a smaller MTU on the path".into(),
                        "a firewall that blocks ICMP type 3 code 4 (IPv6: type 2), breaking path-MTU discovery".into(),
                    ],
                    next_steps: vec![
                        "Allow ICMP 'fragmentation needed' (type 3/4) and ICMPv6 'packet too big' through every firewall on the path.".into(),
                        "Clamp the MSS on the router in front of the small-MTU link (e.g. `iptables … -j TCPMSS --clamp-mss-to-pmtu`, `ip tcp adjust-mss`).".into(),
                        "Find the MTU: `ping -M do -s 1472 <peer>` (Linux) / `ping -f -l 1472 <peer>` (Windows), lowering the size until it passes.".into(),
                    ],
                    evidence: ev,
                    weight: 80,
                });
            }
        }
        // MSS exceeded.
        if c.oversize_segments > 0 && !offload_artifact(c) {
            for dir in [Dir::Orig, Dir::Resp] {
                let Some(mss) = c.dirs[dir.flip().idx()].mss else { continue };
                let biggest = c.dirs[dir.idx()].max_segment;
                if biggest <= mss as u32 {
                    continue;
                }
                let sender = c.info.src(dir);
                let receiver = c.info.dst(dir);
                let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
                ev.flows.push(FlowRef::of(c));
                ev.add_frames(c.syn_frames.iter().copied().take(1));
                ev.add_frames(c.synack_frame);
                ev.line(format!("{receiver} offered MSS {mss} in its SYN; {sender} sent segments of up to {biggest} bytes ({} oversize)", c.oversize_segments));
                ev.value("mss", mss);
                ev.value("max_segment", biggest);
                ev.finish();
                out.push(Finding {
                    id: "tcp.mss_exceeded",
                    severity: Severity::Warning,
                    title: format!("{sender} sends {biggest}-byte segments, above the MSS {mss} that {receiver} offered"),
                    explanation: format!(
                        "{receiver} announced it accepts at most {mss} bytes per segment, yet {sender} sends up to {biggest}. Either a device on the path rewrote the MSS option \
in one SYN (so the two ends disagree) or the sender ignores it; segments larger than the path allows are dropped or fragmented."
                    ),
                    likely_causes: vec![
                        "a router or firewall rewriting (clamping) the MSS in one direction only".into(),
                        "a load balancer terminating TCP with different settings on each side".into(),
                    ],
                    next_steps: vec!["Capture on both sides and compare the MSS option in the SYN and SYN-ACK as sent and as received.".into()],
                    evidence: ev,
                    weight: 45,
                });
            }
        }
    }
}

#[cfg(test)]
mod thresholds;
