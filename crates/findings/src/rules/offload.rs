//! Where the capture was taken and what offload explains, shared by `capture.rs` (the
//! capture artifacts) and `tcp_mtu.rs` (MSS exceeded): offload only touches packets the
//! capture host sends, which arrive with a sender's initial TTL and, when the handshake was
//! seen, from the side the handshake timing puts the capture at.

use tracehound_flows::{Conversation, Dir};

/// TTLs (hop limits) hosts send with. A direction whose packets arrive with one of them was
/// sent by the capture host or a host on its own segment; one that arrives lower was routed.
pub const INITIAL_TTLS: [u8; 4] = [32, 64, 128, 255];

/// One handshake leg this many times the other places the capture at one side ...
pub const SIDE_RATIO: f64 = 4.0;
/// ... when the long leg is also above this many seconds.
pub const SIDE_MIN_SECS: f64 = 0.0005;
/// The largest TCP payload of a 1500-byte IPv4 packet: more than that in one segment on the
/// wire means the capture saw a segmentation-offload super-segment.
pub const ETHERNET_MAX_SEGMENT: u32 = 1460;

/// True when the bad checksums or oversize segments of this conversation are an offload
/// artifact: bad checksums on packets the capture host sent (see
/// [`offload_checksums`]), IP length 0, or segments larger than a frame.
pub fn offload_artifact(c: &Conversation) -> bool {
    let bad = offload_checksums(c, Dir::Orig) + offload_checksums(c, Dir::Resp);
    bad > 0 || c.zero_ip_len > 0 || c.dirs.iter().any(|d| d.max_segment > ETHERNET_MAX_SEGMENT + 20)
}

/// The trace was rewritten (anonymised, replayed, or captured inside a device): packets with
/// TTL 0, which no router forwards, or bad IPv4 header checksums in both directions.
pub fn rewritten(c: &Conversation) -> bool {
    c.ttl_zero.iter().any(|n| *n > 0) || c.bad_ip_checksums.iter().all(|n| *n > 0)
}

/// Which side the capture was taken at, from the handshake's timing: on the client, the
/// SYN-ACK comes a round trip after the SYN and the ACK right after it; on the server, the
/// other way round. None when the timing does not tell (or no handshake was seen).
pub fn capture_side(c: &Conversation) -> Option<Dir> {
    let a = c.syn_to_synack?;
    let b = c.handshake_rtt? - a;
    if a > SIDE_RATIO * b && a > SIDE_MIN_SECS {
        Some(Dir::Orig)
    } else if b > SIDE_RATIO * a && b > SIDE_MIN_SECS {
        Some(Dir::Resp)
    } else {
        None
    }
}

/// Packets of direction `d` were sent by the capture host: they arrive with a sender's TTL
/// (not routed), and the handshake timing does not put the capture at the other side.
pub fn sent_by_capture_host(c: &Conversation, d: Dir) -> bool {
    let nearby = c.ttl[d.idx()].is_some_and(|t| INITIAL_TTLS.contains(&t));
    nearby && !rewritten(c) && capture_side(c).is_none_or(|s| s == d)
}

/// Bad checksums of direction `d` that offload explains (sent by the capture host, or
/// segments merged by receive offload, which are larger than a frame).
pub fn offload_checksums(c: &Conversation, d: Dir) -> u64 {
    let big = c.dirs[d.idx()].max_segment > ETHERNET_MAX_SEGMENT + 20;
    if !rewritten(c) && (sent_by_capture_host(c, d) || big) {
        c.bad_checksum_dirs[d.idx()]
    } else {
        0
    }
}
