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

use crate::{Evidence, Facts, Finding, FlowRef, Severity};

type Key = (Proto, std::net::SocketAddr, std::net::SocketAddr);

fn index(
    cs: &[Conversation],
) -> (HashMap<Key, &Conversation>, HashMap<(Proto, u16, u16), Vec<&Conversation>>) {
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
        for d in [Dir::Orig, Dir::Resp] {
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
            "{fa}: {} SYNs from {} (frames {})",
            ca.syn_frames.len(),
            ca.info.orig,
            ca.syn_frames.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
        ));
        ev.line(format!(
            "{fb}: the same {} SYNs arrive (frames {}), and nothing is sent back",
            cb.syn_frames.len(),
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
    if !lost.is_empty() {
        lost.sort_by(|x, y| y.2.cmp(&x.2));
        let total: u64 = lost.iter().map(|l| l.2).sum();
        let mut ev = Evidence::default();
        for (c, d, n, near, far) in lost.iter().take(10) {
            ev.flows.push(FlowRef::of(c));
            ev.line(format!(
                "{} → {}: {n} packets seen in {near} but not in {far}",
                c.info.src(*d),
                c.info.dst(*d)
            ));
        }
        ev.value("packets", total);
        ev.finish();
        out.push(Finding {
            id: "path.lost_between",
            severity: if total >= 3 { Severity::Warning } else { Severity::Info },
            title: format!("{total} packets were seen at one capture point but not at the other"),
            explanation: "Packets a sender's side captured that the receiver's side never saw were lost between the two capture points (or one capture dropped them: check its drop counters).".into(),
            likely_causes: vec!["loss on the path between the capture points".into(), "a capture that dropped packets itself".into()],
            next_steps: vec!["Compare interface counters along the path; check both capture tools' 'dropped' counts.".into()],
            evidence: ev,
            weight: 45,
        });
    }
}
