//! `tcp.service_reset`: a connection reset mid-session, then every new attempt refused — the
//! service went away. `tcp.idle_reset`: a reset after a long silence (a middlebox's idle
//! timeout).

use std::collections::BTreeMap;

use tracehound_flows::{ConnState, Conversation, Dir};

use super::util::port_desc;
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

/// Silence before a reset that points at an idle timeout in a firewall or load balancer.
pub const IDLE_RESET_SECS: f64 = 30.0;

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
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
            out.push(Finding {
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
            });
            continue;
        }
        // Resets sent by a device on the path (TTL differs from the peer's packets), or after a
        // long silence (an idle timer expired).
        let mid: Vec<&Conversation> = reset
            .iter()
            .copied()
            .filter(|c| {
                c.rst_ttl_mismatch.is_some()
                    || c.idle_before_rst.is_some_and(|s| s >= IDLE_RESET_SECS)
            })
            .collect();
        if let Some(c) = mid.first() {
            let secs = c.idle_before_rst.unwrap_or(0.0);
            let (rst, by) = c.rst_frames.first().copied().unwrap_or((c.last_frame, Dir::Resp));
            let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
            for c in mid.iter().take(8) {
                ev.flows.push(FlowRef::of(c));
                ev.add_frames(c.rst_frames.iter().map(|r| r.0).take(1));
                let ttl = match c.rst_ttl_mismatch {
                    Some((fr, t, u)) => format!("; the RST (frame {fr}) has TTL {t}, the peer's own packets arrive with TTL {u}"),
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
    }
}
