//! What came back to a failed connection attempt, in words, and the causes that fit it: a
//! TCP reset (with its TTL when it betrays a device on the path), an ICMP error (type, code
//! and who sent it: a firewall's "administratively prohibited" is not a closed port), or
//! silence. Used by the rules that explain failed connections, so that the same evidence
//! gets the same reading everywhere (and the same verdict as `tracehound portqry`, see
//! `tracehound_rpc::endpoints`).

use tracehound_flows::{Conversation, Dir, IcmpError};

use super::tcp_connect::icmp_name;

/// The reading of one failed attempt (or a group of them).
#[derive(Clone, Debug)]
pub struct Answer {
    /// For titles: "was refused (TCP reset)", "was rejected by a firewall (ICMP …)", …
    pub verb: String,
    /// For explanations: "was answered with …: …".
    pub what: String,
    pub causes: Vec<String>,
}

/// The first ICMP error quoting one of these attempts.
pub fn first_icmp<'a>(convs: &[&'a Conversation]) -> Option<&'a IcmpError> {
    convs.iter().flat_map(|c| c.icmp_errors.iter()).next()
}

/// "TCP reset from 10.0.0.5 (frame 12, TTL 64)", saying so when the TTL differs from the
/// sender's other packets (then a device on the path sent it).
pub fn rst_words(c: &Conversation) -> Option<String> {
    let (frame, _) = c.rst_frames.iter().find(|(_, d)| *d == Dir::Resp)?;
    let fact = c.rsts.iter().find(|r| r.frame == *frame);
    let ttl = match (c.rst_ttl_mismatch, fact) {
        (Some((f, rst, usual)), _) if f == *frame => format!(
            ", TTL {rst} while {}'s other packets arrive with TTL {usual}: sent by a device on the path",
            c.info.resp.ip()
        ),
        (_, Some(r)) => format!(", TTL {}", r.ttl),
        _ => String::new(),
    };
    Some(format!("TCP reset from {} (frame {frame}{ttl})", c.info.resp.ip()))
}

/// Read the outcome of attempts to an endpoint (`follow_up` words of
/// `tracehound_rpc::endpoints`) with the attempts' conversations.
pub fn endpoint(outcome: &str, convs: &[&Conversation], port: u16, dynamic: bool) -> Answer {
    let range = if dynamic {
        "TCP 49152–65535 (the dynamic RPC range)".to_string()
    } else {
        format!("TCP {port}")
    };
    match outcome {
        "refused" => {
            let rst = convs.iter().find_map(|c| rst_words(c));
            let on_path = convs.iter().any(|c| c.rst_ttl_mismatch.is_some());
            let mut causes = vec![
                "the service registered the port but has stopped or crashed since".to_string(),
                "a static port configured on one server but the client was sent to another server without it".into(),
            ];
            let device = "a load balancer or firewall rejecting the port on the server's behalf (REJECT with tcp-reset)".to_string();
            if on_path {
                causes.insert(0, device);
            } else {
                causes.push(device);
            }
            Answer {
                verb: "was refused (TCP reset)".into(),
                what: format!(
                    "was answered with a {}: the host is reachable but nothing listens on that port (anymore){}",
                    rst.unwrap_or_else(|| "TCP reset".into()),
                    if on_path { ", or the device that sent the reset rejects it" } else { "" }
                ),
                causes,
            }
        }
        "icmp_prohibited" | "icmp_unreachable" => {
            let e = first_icmp(convs);
            let name = e.map(icmp_name).unwrap_or_else(|| "an ICMP error".into());
            let from_host = e.is_some_and(|e| convs.iter().any(|c| c.info.resp.ip() == e.from));
            let who = match (e, from_host) {
                (Some(e), true) => format!("the server itself ({})", e.from),
                (Some(e), false) => format!("{}, a router or firewall on the path", e.from),
                (None, _) => "a device on the path".into(),
            };
            if outcome == "icmp_prohibited" {
                Answer {
                    verb: "was rejected by a firewall (ICMP administratively prohibited)".into(),
                    what: format!(
                        "was answered with {name}: {who} rejects the connection on purpose — a firewall rule, not a closed port"
                    ),
                    causes: vec![
                        format!("a firewall rule at {who} rejecting {range} (REJECT with icmp admin-prohibited)"),
                        if from_host {
                            format!("the server's host firewall allows TCP 135 but not {range}")
                        } else {
                            format!("a router access list or network firewall that allows TCP 135 but not {range}")
                        },
                        "an RPC-aware firewall that did not open the pinhole for this answer".into(),
                    ],
                }
            } else {
                Answer {
                    verb: "could not reach it (ICMP destination unreachable)".into(),
                    what: format!("was answered with {name} from {who}: the destination cannot be reached"),
                    causes: vec![
                        "no route to the address handed out (another interface, a NAT-ed or stale address)".into(),
                        "the host is down, or a router rejects the traffic with an unreachable".into(),
                    ],
                }
            }
        }
        _ => Answer {
            verb: "could not get through".into(),
            what: "was never answered: the SYNs went unanswered (no SYN-ACK, no reset, no ICMP error), which is what a firewall that drops packets produces".into(),
            causes: vec![
                format!("a firewall allows TCP 135 but drops {range}"),
                "a load balancer service group that forwards 135 but not the dynamic port".into(),
                "an RPC-aware firewall that did not open the pinhole for this answer".into(),
            ],
        },
    }
}
