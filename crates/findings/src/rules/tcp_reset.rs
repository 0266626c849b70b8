//! `tcp.service_reset`: a connection reset mid-session, then every new attempt refused — the
//! service went away. `tcp.idle_reset`: a reset after a long silence (a middlebox's idle
//! timeout) — unless the reset is the host's own: same TTL as its other packets, its IP ID
//! continuing its own sequence, everything acknowledged both ways (`tcp.idle_close`, info).
//! `tcp.injected_reset`: a reset the named sender did not send (see [`injected`]).

use std::collections::BTreeMap;

use tracehound_flows::{ConnState, Conversation, Dir, RstFact};

use super::util::port_desc;
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// Silence before a reset that points at an idle timeout in a firewall or load balancer.
pub const IDLE_RESET_SECS: f64 = 30.0;

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    injected_resets(f, out);
    let mut by_server: BTreeMap<std::net::SocketAddr, Vec<&Conversation>> = BTreeMap::new();
    for c in f.conversations {
        by_server.entry(c.info.resp).or_default().push(c);
    }
    for (server, cs) in by_server {
        // Established conversations with payload that ended in a reset.
        let reset: Vec<&Conversation> = cs
            .iter()
            .copied()
            .filter(|c| {
                matches!(c.state, Some(ConnState::RSTR | ConnState::RSTO))
                    && c.synack_frame.is_some()
                    && c.dirs[0].payload_bytes + c.dirs[1].payload_bytes > 0
            })
            .collect();
        let Some(first_reset) = reset.iter().min_by_key(|c| c.end) else { continue };
        let refused_after: Vec<&Conversation> = cs
            .iter()
            .copied()
            .filter(|c| c.state == Some(ConnState::REJ) && c.start >= first_reset.end)
            .collect();
        if !refused_after.is_empty() {
            out.push(service_reset(f, server, first_reset, &refused_after));
            continue;
        }
        idle_reset(f, server, &reset, out);
    }
}

/// `tcp.service_reset`: `first` was reset mid-session, and the attempts `refused_after` it
/// were refused.
fn service_reset(
    f: &Facts,
    server: std::net::SocketAddr,
    first_reset: &Conversation,
    refused_after: &[&Conversation],
) -> Finding {
    let rst = first_reset.rst_frames.first().map(|r| r.0).unwrap_or(first_reset.last_frame);
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    ev.flows.push(FlowRef::of(first_reset));
    ev.add_frames([rst]);
    ev.line(format!(
        "frame {rst}: {} reset in the middle of the session",
        FlowRef::of(first_reset)
    ));
    for c in refused_after.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames(c.syn_frames.iter().copied().take(1));
        ev.add_frames(c.rst_frames.iter().map(|r| r.0).take(1));
        ev.line(format!(
            "frame {}: new attempt from {} refused {:.2} s later",
            c.first_frame,
            c.info.orig,
            c.start.secs_since(first_reset.end)
        ));
    }
    ev.value("address", server.ip().to_string());
    ev.value("port", server.port());
    ev.value("refused_after", refused_after.len());
    ev.finish();
    Finding {
        id: "tcp.service_reset",
        severity: Severity::Problem,
        title: format!("The service on {server} went away: reset mid-session, then every new connection refused"),
        explanation: format!(
            "A working connection to {} on {} was reset in frame {rst}, and the {} connection attempt{} after it {} refused. \
The server host is up (it answers with resets) but nothing listens on the port any more: the service stopped or crashed.",
            server.ip(),
            port_desc(server.port()),
            refused_after.len(),
            if refused_after.len() == 1 { "" } else { "s" },
            if refused_after.len() == 1 { "was" } else { "were all" },
        ),
        likely_causes: vec!["the service process crashed or was stopped/restarted".into(), "the service was reconfigured to another port".into()],
        next_steps: vec![
            format!("Check the service on {} and its logs (Windows: System and Application event logs, service control manager events 7031/7034) at the time of frame {rst}.", server.ip()).into(),
            "Configure service recovery (restart on failure) if it crashes.".into(),
        ],
        evidence: ev,
        weight: 85,
    }
}

/// `tcp.idle_reset` (or `tcp.idle_close`): of the conversations that ended in a reset, the
/// first reset by a device on the path or after a long silence.
fn idle_reset(
    f: &Facts,
    server: std::net::SocketAddr,
    reset: &[&Conversation],
    out: &mut Vec<Finding>,
) {
    // Resets sent by a device on the path (TTL differs from the peer's packets), or after a
    // long silence (an idle timer expired).
    let mid: Vec<&Conversation> = reset
        .iter()
        .copied()
        .filter(|c| {
            c.rst_ttl_mismatch.is_some() || c.idle_before_rst.is_some_and(|s| s >= IDLE_RESET_SECS)
        })
        .collect();
    let Some(c) = mid.first() else { return };
    let secs = c.idle_before_rst.unwrap_or(0.0);
    if c.rst_ttl_mismatch.is_none() {
        if let Some(r) = c.rsts.first().filter(|r| host_closed(c, r)) {
            out.push(idle_close(f, c, r, secs));
            return;
        }
    }
    let (rst, by) = c.rst_frames.first().copied().unwrap_or((c.last_frame, Dir::Resp));
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for c in mid.iter().take(8) {
        ev.flows.push(FlowRef::of(c));
        ev.add_frames(c.rst_frames.iter().map(|r| r.0).take(1));
        let ttl = match c.rst_ttl_mismatch {
            Some((fr, t, u)) => format!(
                "; the RST (frame {fr}) has TTL {t}, the peer's own packets arrive with TTL {u}"
            ),
            None => String::new(),
        };
        ev.line(format!(
            "{}: reset after {:.1} s of silence{ttl}",
            FlowRef::of(c),
            c.idle_before_rst.unwrap_or(0.0)
        ));
    }
    ev.value("idle_secs", secs);
    if let Some((_, t, u)) = c.rst_ttl_mismatch {
        ev.value("rst_ttl", t);
        ev.value("peer_ttl", u);
    }
    ev.finish();
    let forged = c.rst_ttl_mismatch.is_some();
    let sender = c.info.src(by);
    out.push(Finding {
        id: "tcp.idle_reset",
        severity: Severity::Warning,
        title: if forged {
            format!("A device on the path reset the connection to {server} after {secs:.1} s idle (the RST did not come from {})", sender.ip())
        } else {
            format!("Connections to {server} were reset after {secs:.0} s idle")
        },
        explanation: format!(
            "The connection carried data, fell silent for {secs:.1} s, and was then reset (frame {rst}) in the name of {sender}. {}",
            if forged {
                "The reset's TTL differs from every other packet of that side, so it was made by a device on the path — a firewall, NAT or load balancer that \
dropped the connection from its table (typically after its idle timeout) and answers the next packet with a reset."
            } else {
                "Resets that follow a long silence come from a firewall, NAT or load balancer whose idle timer expired."
            }
        ),
        likely_causes: vec!["an idle timeout on a firewall, NAT or load balancer shorter than the application's idle periods".into()],
        next_steps: vec![
            "Raise the idle timeout on the middlebox, or enable TCP keep-alives shorter than it (Windows KeepAliveTime; SO_KEEPALIVE).".into(),
            "Find the device: it is the hop whose distance matches the RST's TTL (compare with a traceroute).".into(),
        ],
        evidence: ev,
        weight: if forged { 75 } else { 55 },
    });
}

/// The RST is its sender's own closing of an idle connection: the sender's TTL, its IP ID
/// continuing its own sequence, and nothing left unacknowledged either way.
pub fn host_closed(c: &Conversation, r: &RstFact) -> bool {
    c.ttl[r.dir.idx()] == Some(r.ttl)
        && r.prev_ttl == Some(r.ttl)
        && r.ip_id_continues()
        && r.all_acked
}

fn idle_close(f: &Facts, c: &Conversation, r: &RstFact, secs: f64) -> Finding {
    let sender = c.info.src(r.dir);
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    ev.flows.push(FlowRef::of(c));
    ev.add_frames([r.frame]);
    ev.line(format!(
        "frame {}: RST from {sender} after {secs:.1} s of silence; TTL {} like its other packets, IP ID {} after its previous {}; everything acknowledged both ways",
        r.frame,
        r.ttl,
        r.ip_id,
        r.prev_ip_id.map_or("-".into(), |i| i.to_string())
    ));
    ev.value("idle_secs", secs);
    ev.value("rst_ttl", r.ttl);
    ev.value("rst_ip_id", r.ip_id);
    ev.finish();
    Finding {
        id: "tcp.idle_close",
        severity: Severity::Info,
        title: format!("{sender} closed an idle connection itself after {secs:.0} s (reset)"),
        explanation: format!(
            "The connection fell silent for {secs:.1} s with everything acknowledged, then {} sent a reset (frame {}). The reset has the same TTL as {}'s other packets and its IP ID \
continues {}'s own sequence, so that host sent it — not a firewall or load balancer. An application or operating-system idle timeout closed the connection.",
            sender.ip(), r.frame, sender.ip(), sender.ip()
        ),
        likely_causes: vec![format!("an idle timeout of the application on {}", sender.ip()).into()],
        next_steps: vec!["If the other side expected the connection to stay open, align the idle timeouts (or use keep-alives).".into()],
        evidence: ev,
        weight: 15,
    }
}

/// An RST the named sender did not send: its TTL differs from every other packet of that
/// side, it did not end a long silence, and it acknowledges the peer's ISN itself (built
/// from a sniffed SYN), copies the peer's IP ID, or has an IP ID outside the sender's own
/// sequence while the sender carried on sending afterwards. (A firewall that rejects a
/// packet of a connection it dropped also resets with its own TTL and IP ID, but nothing
/// of the connection follows: `tcp.idle_reset`.)
/// The RST's IP ID is the peer's last one (0 does not count: many stacks send 0 always).
fn copies_peer_ip_id(r: &RstFact) -> bool {
    r.ip_id != 0 && r.peer_ip_id == Some(r.ip_id)
}

pub fn injected(c: &Conversation, r: &RstFact) -> bool {
    let Some(usual) = c.ttl[r.dir.idx()] else { return false };
    let fits = r.ip_id_continues()
        || (r.prev_ip_id.is_none()
            && r.next_ip_id.is_some_and(|n| (1..=4096).contains(&n.wrapping_sub(r.ip_id))));
    // After a long silence, a middlebox's own reset is the idle-timeout story (tcp.idle_reset).
    let idle = r.idle_before >= IDLE_RESET_SECS;
    // A reset the sender itself carried on after (it sent more packets), from elsewhere.
    let sender_went_on = r.next_ip_id.is_some();
    usual != r.ttl
        && !idle
        && (r.acks_peer_isn || copies_peer_ip_id(r) || (!fits && sender_went_on))
}

fn injected_resets(f: &Facts, out: &mut Vec<Finding>) {
    let hits: Vec<(&Conversation, &RstFact)> = f
        .conversations
        .iter()
        .flat_map(|c| c.rsts.iter().filter(|r| injected(c, r)).map(move |r| (c, r)))
        .collect();
    let Some(&(c, r)) = hits.first() else { return };
    let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
    for (c, r) in hits.iter().take(10) {
        let sender = c.info.src(r.dir);
        ev.flows.push(FlowRef::of(c));
        ev.add_frames([r.frame]);
        let mut why = vec![format!(
            "TTL {} where {}'s own packets arrive with TTL {}",
            r.ttl,
            sender.ip(),
            c.ttl[r.dir.idx()].unwrap_or(0)
        )];
        if r.acks_peer_isn {
            why.push("it acknowledges the peer's ISN itself, not ISN + 1".into());
        }
        if copies_peer_ip_id(r) {
            why.push(format!("its IP ID {:#06x} is the peer's", r.ip_id));
        } else {
            why.push(format!("IP ID {:#06x} outside the sender's own sequence", r.ip_id));
        }
        ev.line(format!("frame {}: RST in the name of {sender}: {}", r.frame, why.join("; ")));
        if r.packets_after > 0 {
            ev.line(format!("the connection went on: {} more packets after it", r.packets_after));
        }
    }
    ev.value("rst_ttl", r.ttl);
    ev.value("sender_ttl", c.ttl[r.dir.idx()].unwrap_or(0));
    ev.value("acks_peer_isn", r.acks_peer_isn);
    ev.value("resets", hits.len());
    ev.finish();
    let sender = c.info.src(r.dir);
    out.push(Finding {
        id: "tcp.injected_reset",
        severity: Severity::Problem,
        title: format!("Forged reset: frame {} claims to come from {sender} but does not", r.frame),
        explanation: format!(
            "A reset in the name of {} (frame {}) does not fit that host: its TTL is {} while all of {}'s packets arrive with TTL {}{}{}. \
A device on the path made it — an intrusion-prevention system, a censoring firewall or an attacker injecting resets to cut the connection.{}",
            sender.ip(),
            r.frame,
            r.ttl,
            sender.ip(),
            c.ttl[r.dir.idx()].unwrap_or(0),
            if r.acks_peer_isn { ", and it acknowledges the client's ISN itself (a reset built from the SYN it saw)" } else { "" },
            if copies_peer_ip_id(r) { ", with the other side's IP ID copied" } else { "" },
            if r.packets_after > 0 { " The endpoints carried on afterwards: they ignored it, or it arrived out of window." } else { "" },
        ),
        likely_causes: vec![
            "an IPS / next-generation firewall resetting connections it classifies as unwanted".into(),
            "on-path censorship or an attacker injecting TCP resets".into(),
        ],
        next_steps: vec![
            "Find the device: its distance is the RST's TTL (compare with a traceroute to the sender); check IPS / firewall logs for this connection.".into(),
        ],
        evidence: ev,
        weight: 80,
    });
}

#[cfg(test)]
mod thresholds;
