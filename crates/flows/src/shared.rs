//! The small types the flow engine's units share (the engine, its compact records, the
//! connection forensics): a flow's key, who a new flow is, and one TCP segment on its way.

use std::net::IpAddr;

use crate::pkt::{Pkt, TcpHdr};
use crate::{FlowInfo, RoleSource};

/// A flow's canonical key: the two endpoints in a fixed order (`a` the lower).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub proto: u8,
    pub a: IpAddr,
    pub b: IpAddr,
    pub ap: u16,
    pub bp: u16,
}

/// Canonical key and whether (src, sport) is the `a` side.
pub(crate) fn key(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (Key, bool) {
    if (src, sport) <= (dst, dport) {
        (Key { proto, a: src, b: dst, ap: sport, bp: dport }, true)
    } else {
        (Key { proto, a: dst, b: src, ap: dport, bp: sport }, false)
    }
}

/// Who a new flow is: its key, its identity, which side opened it and how that was decided.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowStart {
    pub key: Key,
    pub info: FlowInfo,
    /// The key's `a` side is the originator.
    pub a_is_orig: bool,
    pub role: RoleSource,
}

/// One TCP segment on its way through the engine: the context every per-segment step shares.
#[derive(Clone, Copy)]
pub(crate) struct Seg<'s, 'a> {
    pub p: &'s Pkt<'a>,
    pub hdr: &'s TcpHdr,
    /// The captured payload (may be shorter than `hdr.wire_len`).
    pub payload: &'a [u8],
    /// The sender is the `a` side of the flow key.
    pub src_is_a: bool,
}
