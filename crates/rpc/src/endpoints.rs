//! Following handed-out endpoints.
//!
//! A client that wants a dynamic RPC server asks the endpoint mapper (ept_map on TCP 135) or
//! the DCOM resolver (ResolveOxid / RemoteCreateInstance) and gets towers / string bindings
//! back, e.g. `ncacn_ip_tcp:10.0.0.5[49668]`. The classic failure is that the next step, a TCP
//! connection to that port, is blocked by a firewall, or goes to an address the client cannot
//! reach. [`follow_up`] joins every endpoint handed out with the connection attempts to its
//! address and port made after the answer:
//! - `answered`: a SYN-ACK came back (or the connection was seen carrying data both ways);
//! - `refused`: the server's address answered the SYN with a TCP reset (nothing listens);
//! - `icmp_prohibited`: an ICMP "administratively prohibited" came back (ICMPv4 type 3 code
//!   9, 10 or 13; ICMPv6 type 1 code 1, 5 or 6): a firewall rejects on purpose;
//! - `icmp_unreachable`: another ICMP destination unreachable (net, host, port …): a
//!   router or the host says the destination cannot be reached;
//! - `unanswered`: SYNs without any reply (typically a firewall dropping them);
//! - `not_tried`: no attempt to that address and port after the hand-out.
//!
//! `state` gives the same verdict in `tracehound portqry`'s words, so a capture and a live
//! probe of the same endpoint read alike: `answered` = LISTENING, `refused` = NOT LISTENING,
//! `icmp_prohibited`, `icmp_unreachable` and `unanswered` = FILTERED (portqry names the ICMP
//! message in its reason, or "no answer").
//!
//! The address `0.0.0.0` in a tower means "the host you asked"; `address_differs` says the
//! answer pointed elsewhere (another interface, NAT, a stale registration). A host name in a
//! DCOM string binding is matched against the asked address (no name resolution here).

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;
use tracehound_flows::{Conversation, Dir, Proto};

use crate::calls::{HandedOut, Name};

/// Attempts kept per endpoint.
const MAX_ATTEMPTS: usize = 100;

/// Who handed the endpoint out.
#[derive(Clone, Debug, Serialize)]
pub struct HandedOutBy {
    /// Request frame of the call (or bind) that handed it out.
    pub frame: u64,
    pub response_frame: u64,
    /// "epm", "dcom" or "bind_ack".
    pub source: &'static str,
    pub interface: Option<Name>,
    pub operation: Option<Name>,
    /// The client that asked.
    pub client: String,
}

/// One connection attempt to a handed-out endpoint.
#[derive(Clone, Debug, Serialize)]
pub struct Attempt {
    pub src: String,
    pub sport: u16,
    /// First frame of the conversation.
    pub frame: u64,
    /// SYN frames (the first and retransmissions).
    pub syn_frames: Vec<u64>,
    pub synack_frame: Option<u64>,
    pub rst_frames: Vec<u64>,
    /// Seconds after the endpoint was handed out.
    pub delay: f64,
    /// "answered", "refused", "icmp_prohibited", "icmp_unreachable" or "unanswered".
    pub outcome: &'static str,
    /// Zeek-style connection state.
    pub state: Option<String>,
    /// ICMP errors quoting the attempt: "type T code C from ADDR (frame N)".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub icmp: Vec<String>,
}

/// An endpoint handed out and what became of it. Field names are the stable JSON.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointReport {
    pub binding: String,
    pub handed_out_by: HandedOutBy,
    /// The server the question went to.
    pub asked_address: String,
    /// The address in the answer (may be "0.0.0.0" or a host name).
    pub address: Option<String>,
    pub port: Option<u16>,
    pub protocol: Option<Name>,
    pub uuid: Option<String>,
    pub interface: Option<Name>,
    /// "answered" | "refused" | "icmp_prohibited" | "icmp_unreachable" | "unanswered" |
    /// "not_tried" (see the module docs).
    pub follow_up: &'static str,
    /// The same verdict in portqry's words: "LISTENING", "NOT LISTENING", "FILTERED"
    /// (absent for `not_tried`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    pub attempts: Vec<Attempt>,
    /// The answer named an address other than the one asked (and not 0.0.0.0).
    pub address_differs: bool,
    /// Attempts beyond the first 100 (`MAX_ATTEMPTS`) not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub attempts_dropped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// ICMP "administratively prohibited" (a firewall's reject): ICMPv4 type 3 code 9, 10, 13;
/// ICMPv6 type 1 code 1 (prohibited), 5 (source address failed policy), 6 (reject route).
pub fn icmp_prohibited(e: &tracehound_flows::IcmpError) -> bool {
    (!e.v6 && e.icmp_type == 3 && matches!(e.code, 9 | 10 | 13))
        || (e.v6 && e.icmp_type == 1 && matches!(e.code, 1 | 5 | 6))
}

/// The follow-up word in `tracehound portqry`'s state words (see the module docs).
pub fn portqry_state(follow_up: &str) -> Option<&'static str> {
    match follow_up {
        "answered" => Some("LISTENING"),
        "refused" => Some("NOT LISTENING"),
        "icmp_prohibited" | "icmp_unreachable" | "unanswered" => Some("FILTERED"),
        _ => None,
    }
}

/// Follow-up words from the strongest evidence of reachability to the weakest.
const RANK: [&str; 5] =
    ["answered", "refused", "icmp_prohibited", "icmp_unreachable", "unanswered"];

fn attempt_outcome(c: &Conversation) -> &'static str {
    if c.synack_frame.is_some() {
        "answered"
    } else if c.rst_frames.iter().any(|(_, d)| *d == Dir::Resp) {
        "refused"
    } else if let Some(e) = c.icmp_errors.first() {
        if icmp_prohibited(e) {
            "icmp_prohibited"
        } else {
            "icmp_unreachable"
        }
    } else if c.syn_frames.is_empty() && c.dirs.get(Dir::Resp.idx()).is_some_and(|d| d.packets > 0)
    {
        // No handshake in the capture, but the server talked: it was reachable.
        "answered"
    } else {
        "unanswered"
    }
}

/// Joins every endpoint handed out (with a port) with the connection attempts to it.
///
/// Endpoints without a port (named pipes, `ncalrpc`) are not listed; neither are bind_ack
/// secondary addresses that merely repeat the port of the connection they came on.
pub fn follow_up(endpoints: &[HandedOut], convs: &[Conversation]) -> Vec<EndpointReport> {
    // Conversations by responder (protocol, address, port), each list in frame order, so
    // every endpoint looks only at the connections to its own address and port.
    let mut by_resp: HashMap<(Proto, IpAddr, u16), Vec<&Conversation>> = HashMap::new();
    for c in convs {
        by_resp.entry((c.info.proto, c.info.resp.ip(), c.info.resp.port())).or_default().push(c);
    }
    for v in by_resp.values_mut() {
        v.sort_by_key(|c| c.first_frame);
    }
    let mut out = Vec::new();
    for h in endpoints {
        let Some(port) = h.port else { continue };
        if h.source == "bind_ack" && port == h.server.port() {
            continue;
        }
        let asked = h.server.ip();
        let named: Option<IpAddr> = h.address.as_deref().and_then(|a| a.parse().ok());
        let target = match named {
            Some(ip) if !ip.is_unspecified() => Some(ip),
            Some(_) => Some(asked),
            // A host name (DCOM string binding) or no address: without name resolution only
            // the asked host can be matched (the usual case: the exporter runs there).
            None => Some(asked),
        };
        let address_differs = named.is_some_and(|ip| !ip.is_unspecified() && ip != asked);
        let proto =
            if h.protocol.as_deref() == Some("ncadg_ip_udp") { Proto::Udp } else { Proto::Tcp };
        let mut attempts = Vec::new();
        let mut dropped = 0u64;
        if let Some(target) = target {
            let candidates = by_resp.get(&(proto, target, port)).map(Vec::as_slice).unwrap_or(&[]);
            for c in candidates.iter().copied().filter(|c| c.start >= h.ts) {
                if attempts.len() >= MAX_ATTEMPTS {
                    dropped += 1;
                    continue;
                }
                let outcome = if proto == Proto::Udp {
                    if c.dirs.get(Dir::Resp.idx()).is_some_and(|d| d.packets > 0) {
                        "answered"
                    } else {
                        "unanswered"
                    }
                } else {
                    attempt_outcome(c)
                };
                attempts.push(Attempt {
                    src: c.info.orig.ip().to_string(),
                    sport: c.info.orig.port(),
                    frame: c.first_frame,
                    syn_frames: c.syn_frames.iter().take(16).copied().collect(),
                    synack_frame: c.synack_frame,
                    rst_frames: c.rst_frames.iter().take(16).map(|(f, _)| *f).collect(),
                    delay: c.start.secs_since(h.ts),
                    outcome,
                    state: c.state.map(|s| format!("{s:?}")),
                    icmp: c
                        .icmp_errors
                        .iter()
                        .take(8)
                        .map(|e| {
                            format!(
                                "type {} code {} from {} (frame {})",
                                e.icmp_type, e.code, e.from, e.frame
                            )
                        })
                        .collect(),
                });
            }
        }
        let follow = RANK
            .iter()
            .find(|w| attempts.iter().any(|a| a.outcome == **w))
            .copied()
            .unwrap_or("not_tried");
        out.push(EndpointReport {
            binding: h.binding.clone(),
            handed_out_by: HandedOutBy {
                frame: h.frame,
                response_frame: h.response_frame,
                source: h.source,
                interface: h.interface.clone(),
                operation: h.operation.clone(),
                client: h.client.ip().to_string(),
            },
            asked_address: asked.to_string(),
            address: h.address.clone(),
            port: Some(port),
            protocol: h.protocol.clone(),
            uuid: h.uuid.clone(),
            interface: h
                .uuid
                .as_deref()
                .and_then(|u| u.parse().ok())
                .and_then(|u| crate::names::interface_name(&u, 0))
                .map(Name::Borrowed),
            follow_up: follow,
            state: portqry_state(follow),
            attempts,
            address_differs,
            attempts_dropped: dropped,
        });
    }
    out
}
