//! Several captures of the same traffic (e.g. one at the client, one at the server), read
//! together: where packets disappear.
//!
//! Conversations are matched by protocol, addresses and ports (exact), else — when NAT sits
//! between the capture points — by protocol and both ports when that pairing is unique. For
//! each matched conversation and direction, the capture that saw more packets is the one
//! nearer the sender; packets it saw that the other did not were lost between the two
//! capture points (`path.lost_between`). Connection attempts that reached the far capture
//! point and still got no answer were discarded by the receiving host itself
//! (`path.host_silent`).

use std::collections::HashMap;

use tracehound_flows::{ConnState, Conversation, Dir, Proto};

use crate::rules::util::plural;
use crate::{Evidence, Facts, Finding, FlowRef, Severity};

type Key = (Proto, std::net::SocketAddr, std::net::SocketAddr);
/// Conversations by exact key, and by (protocol, both ports) for NAT between the captures.
type Index<'a> =
    (HashMap<Key, &'a Conversation>, HashMap<(Proto, u16, u16), Vec<&'a Conversation>>);

fn index(cs: &[Conversation]) -> Index<'_> {
    let mut exact = HashMap::new();
    let mut ports: HashMap<(Proto, u16, u16), Vec<&Conversation>> = HashMap::new();
    for c in cs {
        exact.insert((c.info.proto, c.info.orig, c.info.resp), c);
        ports.entry((c.info.proto, c.info.orig.port(), c.info.resp.port())).or_default().push(c);
    }
    (exact, ports)
}

/// Compare every pair of captures.
pub fn compare(files: &[Facts]) -> Vec<Finding> {
    let mut out = Vec::new();
    for i in 0..files.len() {
        for j in i + 1..files.len() {
            pair(&files[i], &files[j], &mut out);
        }
    }
    out
}

fn pair(a: &Facts, b: &Facts, out: &mut Vec<Finding>) {
    let (exact, ports) = index(b.conversations);
    let mut silent: Vec<(&Conversation, &Conversation, &str, &str)> = Vec::new();
    let mut lost: Vec<(&Conversation, Dir, u64, &str, &str)> = Vec::new();
    let mut never_arrived: Vec<(&Conversation, &str, &str)> = Vec::new();
    // Every matched pair whose packet counts can be compared: (a side, b side, a file, b file).
    let mut matched: Vec<(&Conversation, &Conversation, &str, &str)> = Vec::new();
    for ca in a.conversations {
        let cb =
            exact.get(&(ca.info.proto, ca.info.orig, ca.info.resp)).copied().or_else(
                || match ports
                    .get(&(ca.info.proto, ca.info.orig.port(), ca.info.resp.port()))
                    .map(|v| v.as_slice())
                {
                    Some([only]) if ca.info.orig.port() >= 1024 => Some(*only),
                    _ => None,
                },
            );
        let Some(cb) = cb else {
            // Attempts that only one capture saw: the other capture point never got them.
            if ca.state == Some(ConnState::S0) && ca.syn_frames.len() > 1 {
                never_arrived.push((ca, a.file, b.file));
            }
            continue;
        };
        if ca.info.proto == Proto::Tcp
            && ca.state == Some(ConnState::S0)
            && cb.state == Some(ConnState::S0)
        {
            // Both captures saw the SYNs and no answer. The capture nearer the responder is
            // the one the SYNs reached last; both saw them, so they crossed the path.
            silent.push((ca, cb, a.file, b.file));
            continue;
        }
        matched.push((ca, cb, a.file, b.file));
        for d in [Dir::Orig, Dir::Resp] {
            if !same_segmentation(ca, cb, d) {
                continue;
            }
            let (na, nb) = (ca.dirs[d.idx()].packets, cb.dirs[d.idx()].packets);
            if na > nb {
                lost.push((ca, d, na - nb, a.file, b.file));
            } else if nb > na {
                lost.push((cb, d, nb - na, b.file, a.file));
            }
        }
    }
    for (ca, cb, fa, fb) in silent.iter().take(20) {
        let resp = ca.info.resp;
        let mut ev = Evidence { file: Some(format!("{fa} + {fb}")), ..Default::default() };
        ev.flows.push(FlowRef::of(ca));
        ev.add_frames(ca.syn_frames.iter().copied());
        ev.line(format!(
            "{fa}: {} from {} (frames {})",
            plural(ca.syn_frames.len(), "SYN", "SYNs"),
            ca.info.orig,
            ca.syn_frames.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
        ev.line(format!(
            "{fb}: the same {} arrive (frames {}), and nothing is sent back",
            plural(cb.syn_frames.len(), "SYN", "SYNs"),
            cb.syn_frames.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
        ev.value("address", resp.ip().to_string());
        ev.value("port", resp.port());
        ev.finish();
        out.push(Finding {
            id: "path.host_silent",
            severity: Severity::Problem,
            title: format!("The SYNs to {resp} reached both capture points, and {} never answered", resp.ip()),
            explanation: format!(
                "Both captures show the connection attempts to {resp}, so the network delivered them as far as the second capture point; no SYN-ACK, reset or ICMP \
came back. If the second capture was taken on {} itself, its own firewall discards them; otherwise a device between that capture point and the host does.",
                resp.ip()
            ),
            likely_causes: vec![format!("the host firewall on {} dropping TCP {}", resp.ip(), resp.port()).into()],
            next_steps: vec![format!("Check the firewall of {} for TCP {} (Windows: `Get-NetFirewallRule -Enabled True -Direction Inbound`; Linux: `nft list ruleset`).", resp.ip(), resp.port()).into()],
            evidence: ev,
            weight: 97,
        });
    }
    for (c, fa, fb) in never_arrived.iter().take(20) {
        let mut ev = Evidence { file: Some(fa.to_string()), ..Default::default() };
        ev.flows.push(FlowRef::of(c));
        ev.add_frames(c.syn_frames.iter().copied());
        ev.line(format!(
            "{fa}: {} SYNs from {} to {} (frames {}); {fb} has none of them",
            c.syn_frames.len(),
            c.info.orig,
            c.info.resp,
            c.syn_frames.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
        ev.finish();
        out.push(Finding {
            id: "path.lost_between",
            severity: Severity::Problem,
            title: format!("The SYNs to {} never reached the second capture point", c.info.resp),
            explanation: format!("{fa} shows the connection attempts leaving; {fb} never sees them. They were dropped between the two capture points (a firewall or router on the path)."),
            likely_causes: vec!["a network firewall or ACL between the two capture points".into(), "a routing problem sending the packets elsewhere".into()],
            next_steps: vec!["Capture at hops in between (or read the firewall logs on the path) to find where they stop.".into()],
            evidence: ev,
            weight: 96,
        });
    }
    lost_between(&lost, &matched, out);
}

/// Do both captures see this direction cut into the same segments? A capture on a host
/// whose NIC segments or coalesces (TSO/GSO/GRO) sees a few large segments where the other
/// capture point sees many small ones: then packet counts differ without any loss, and the
/// direction is not compared. Both seeing the same large segments (GSO kept along a
/// virtual path) compare fine.
fn same_segmentation(a: &Conversation, b: &Conversation, d: Dir) -> bool {
    let offload = |c: &Conversation| c.zero_ip_len > 0 || c.oversize_segments > 0;
    (!offload(a) && !offload(b)) || a.dirs[d.idx()].max_segment == b.dirs[d.idx()].max_segment
}

/// Loss located between the capture points, one direction of one host pair: packets the
/// capture nearer the sender saw, and those the other capture never saw.
struct DirLoss<'a> {
    near: &'a str,
    far: &'a str,
    src: std::net::IpAddr,
    dst: std::net::IpAddr,
    sent: u64,
    lost: u64,
    flows: Vec<(&'a Conversation, Dir, u64)>,
}

/// Lost share of one direction at or above which the loss is a problem.
pub const LOST_PROBLEM_RATE: f64 = 0.01;

fn lost_between(
    lost: &[(&Conversation, Dir, u64, &str, &str)],
    matched: &[(&Conversation, &Conversation, &str, &str)],
    out: &mut Vec<Finding>,
) {
    if lost.is_empty() {
        return;
    }
    // One entry per direction (near capture, src host -> dst host).
    let mut dirs: Vec<DirLoss> = Vec::new();
    for &(c, d, n, near, far) in lost {
        let (src, dst) = (c.info.src(d).ip(), c.info.dst(d).ip());
        let i = match dirs.iter().position(|x| x.near == near && x.src == src && x.dst == dst) {
            Some(i) => i,
            None => {
                dirs.push(DirLoss { near, far, src, dst, sent: 0, lost: 0, flows: Vec::new() });
                dirs.len() - 1
            }
        };
        dirs[i].lost += n;
        dirs[i].flows.push((c, d, n));
    }
    // Packets sent that way, as the near capture saw them, over every matched conversation.
    for x in dirs.iter_mut() {
        for &(ca, cb, fa, fb) in matched {
            for c in [(ca, fa), (cb, fb)].into_iter().filter(|(_, f)| *f == x.near).map(|p| p.0) {
                for d in [Dir::Orig, Dir::Resp] {
                    if c.info.src(d).ip() == x.src && c.info.dst(d).ip() == x.dst {
                        x.sent += c.dirs[d.idx()].packets;
                    }
                }
            }
        }
        x.sent = x.sent.max(x.lost);
    }
    dirs.sort_by_key(|x| std::cmp::Reverse(x.lost));
    let total: u64 = dirs.iter().map(|x| x.lost).sum();
    let rate = |x: &DirLoss| x.lost as f64 / x.sent.max(1) as f64;
    let worst = dirs.iter().map(rate).fold(0.0, f64::max);
    let severity = if total >= 3 && worst >= LOST_PROBLEM_RATE {
        Severity::Problem
    } else if total >= 3 {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut ev = Evidence::default();
    let mut per_dir = Vec::new();
    let mut words = Vec::new();
    for x in &dirs {
        ev.line(format!(
            "{} → {}: {} of {} seen in {} never reached {} ({:.1}%)",
            x.src,
            x.dst,
            x.lost,
            plural(x.sent as usize, "packet", "packets"),
            x.near,
            x.far,
            rate(x) * 100.0
        ));
        words.push(format!("{:.1}% of {} → {}", rate(x) * 100.0, x.src, x.dst));
        per_dir.push(serde_json::json!({
            "src": x.src.to_string(), "dst": x.dst.to_string(), "seen_at": x.near,
            "missing_at": x.far, "sent": x.sent, "lost": x.lost, "rate": rate(x),
        }));
    }
    let mut flows: Vec<&(&Conversation, Dir, u64)> = dirs.iter().flat_map(|x| &x.flows).collect();
    flows.sort_by_key(|x| std::cmp::Reverse(x.2));
    for (c, d, n) in flows.iter().take(10) {
        if !ev.flows.contains(&FlowRef::of(c)) {
            ev.flows.push(FlowRef::of(c));
        }
        ev.line(format!(
            "{} → {}: {} lost between the capture points",
            c.info.src(*d),
            c.info.dst(*d),
            plural(*n as usize, "packet", "packets")
        ));
    }
    ev.value("packets", total);
    ev.value("directions", per_dir);
    ev.value("worst_rate", worst);
    ev.finish();
    let Some(w) = dirs.first() else { return };
    out.push(Finding {
        id: "path.lost_between",
        severity,
        title: format!(
            "Packets are lost between the two capture points: {}",
            words.iter().take(2).cloned().collect::<Vec<_>>().join(", ")
        ),
        explanation: format!(
            "The same conversations were captured at two points. {} that the capture nearer the sender saw never reached the other capture point, so they were lost \
on the path between the two (or, far less likely, one capture dropped them: check its drop counters). The retransmissions each capture shows on its own are the senders \
repairing this loss. Worst direction: {} → {}, {:.1}% of its packets ({} of {} seen in {} never reached {}).",
            plural(total as usize, "packet", "packets"),
            w.src, w.dst, worst * 100.0, w.lost, w.sent, w.near, w.far
        ),
        likely_causes: vec![
            "congestion, a policer or a shaper on a link between the two capture points (loss in one direction only points there)".into(),
            "a faulty link, duplex mismatch or NIC errors on a hop between them (interface error and CRC counters)".into(),
            "a firewall, IPS or load balancer between them dropping packets under load".into(),
        ],
        next_steps: vec![
            "Read the interface error, discard and QoS drop counters of every device between the two capture points, in the direction that loses packets.".into(),
            "Narrow it down by capturing at a hop in between: the loss lies on the side that still sees the packets missing.".into(),
        ],
        evidence: ev,
        weight: if severity == Severity::Problem { 90 } else { 45 },
    });
}

/// Advice to take a second capture: pointless when several captures were given.
fn asks_for_second_capture(step: &str) -> bool {
    let s = step.to_lowercase();
    s.contains("both ends") || s.starts_with("capture on the server side too")
}

/// After [`compare`] (several captures given): no finding asks for a capture at both ends,
/// and when `path.lost_between` locates the loss, the single-capture `tcp.loss` findings on
/// the same flows point to it.
pub fn link_loss(all: &mut [Finding]) {
    for f in all.iter_mut() {
        f.next_steps.retain(|s| !asks_for_second_capture(s));
    }
    let located: Vec<(Vec<FlowRef>, String)> = all
        .iter()
        .filter(|f| f.id == "path.lost_between" && f.severity <= Severity::Warning)
        .filter(|f| f.evidence.values.contains_key("directions"))
        .map(|f| (f.evidence.flows.clone(), f.title.clone()))
        .collect();
    if located.is_empty() {
        return;
    }
    for f in all.iter_mut().filter(|f| f.id == "tcp.loss") {
        let Some((_, title)) = located.iter().find(|(flows, _)| {
            f.evidence.flows.iter().any(|a| flows.iter().any(|b| same_flow(a, b)))
        }) else {
            continue;
        };
        f.next_steps.insert(
            0,
            format!("See path.lost_between: the two captures locate this loss ({title}).").into(),
        );
        f.explanation.push_str(" The two captures given show where: see path.lost_between.");
        f.evidence.value("located_by", "path.lost_between");
    }
}

/// The same flow, whichever side was taken as initiator.
fn same_flow(a: &FlowRef, b: &FlowRef) -> bool {
    a.proto == b.proto
        && ((a.src, a.sport, a.dst, a.dport) == (b.src, b.sport, b.dst, b.dport)
            || (a.src, a.sport, a.dst, a.dport) == (b.dst, b.dport, b.src, b.sport))
}
