//! Compact records for flows that have seen a single packet, or a single packet and up to
//! [`MORE`] identical repeats of it (SYN retransmissions): the half-open flows of a SYN flood
//! or a scan. A record keeps every field the engine would have read from those packets, so
//! when a different packet arrives (an answer, data, anything else) or the flow ends, the
//! engine builds the full flow state and replays the stored packets through the ordinary path:
//! the result is the same as if the flow had been tracked in full from its first packet.
//!
//! Payload is not kept, so a packet with payload is only stored compactly when payload is not
//! delivered to analyzers (`Config::deliver_payload` off); replaying payload-less packets
//! hands nothing to the analyzers, so the order of their calls does not change either.
//!
//! Size: a record is [`crate::COMPACT_BYTES`] bytes (at most 192, checked when compiling), against
//! about 3 KB plus allocations for a full flow.

use crate::pkt::{Pkt, TcpHdr, L4};
use crate::shared::{FlowStart, Key, Seg};
use crate::{FlowInfo, Proto, RoleSource, Timestamp};
use std::net::SocketAddr;

/// Identical repeats kept beyond the first packet.
pub(crate) const MORE: usize = 2;

/// What varies between repeats of the same packet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub frame: u64,
    pub ts: Timestamp,
    pub ip_id: u16,
    pub ttl: u8,
}

#[derive(Clone, Debug)]
pub(crate) struct Compact {
    pub key: Key,
    pub id: u64,
    pub hdr: TcpHdr,
    pub first: Seen,
    pub more: [Seen; MORE],
    pub ip_len: u32,
    pub frame_len: u32,
    pub n_more: u8,
    pub a_is_orig: bool,
    /// The packets came from the key's `a` side.
    pub src_is_a: bool,
    pub role: RoleSource,
    pub zero_ip_len: bool,
    /// The TCP and IPv4 header checksum verdicts (checked when the packet was stored, if
    /// sampled).
    pub checksum: Option<bool>,
    pub ip_checksum: Option<bool>,
    /// The capture interface of the first packet.
    pub interface: u32,
}

impl Compact {
    /// The record for the first packet of a flow. `checksum` is the verdict (if checked).
    pub fn new(
        start: &FlowStart,
        seg: &Seg<'_, '_>,
        (checksum, ip_checksum): (Option<bool>, Option<bool>),
    ) -> Compact {
        let (p, hdr) = (seg.p, seg.hdr);
        let s = Seen { frame: p.frame, ts: p.ts, ip_id: p.ip_id, ttl: p.ttl };
        Compact {
            key: start.key,
            id: start.info.id,
            hdr: *hdr,
            first: s,
            more: [s; MORE],
            ip_len: p.ip_len,
            frame_len: p.frame_len,
            n_more: 0,
            a_is_orig: start.a_is_orig,
            src_is_a: seg.src_is_a,
            role: start.role,
            zero_ip_len: p.zero_ip_len,
            checksum,
            ip_checksum,
            interface: p.interface,
        }
    }

    /// Store `p` as a repeat if it is the same packet again (same side, same header) and
    /// there is room; false: the flow needs its full state.
    pub fn repeat(
        &mut self,
        p: &Pkt<'_>,
        hdr: &TcpHdr,
        src_is_a: bool,
        ck: (Option<bool>, Option<bool>),
    ) -> bool {
        let n = self.n_more as usize;
        if n >= MORE
            || src_is_a != self.src_is_a
            || *hdr != self.hdr
            || p.ip_len != self.ip_len
            || p.frame_len != self.frame_len
            || p.zero_ip_len != self.zero_ip_len
            || ck != (self.checksum, self.ip_checksum)
        {
            return false;
        }
        self.more[n] = Seen { frame: p.frame, ts: p.ts, ip_id: p.ip_id, ttl: p.ttl };
        self.n_more += 1;
        true
    }

    pub fn last_seen(&self) -> Timestamp {
        match self.n_more {
            0 => self.first.ts,
            n => self.more[n as usize - 1].ts,
        }
    }

    pub fn info(&self) -> FlowInfo {
        let a = SocketAddr::new(self.key.a, self.key.ap);
        let b = SocketAddr::new(self.key.b, self.key.bp);
        let (orig, resp) = if self.a_is_orig { (a, b) } else { (b, a) };
        FlowInfo { id: self.id, proto: Proto::Tcp, orig, resp }
    }

    /// The stored packets, in order, as the engine reads them (no payload; the checksum
    /// verdict as stored).
    pub fn seen(&self) -> impl Iterator<Item = Seen> + '_ {
        std::iter::once(self.first).chain(self.more[..self.n_more as usize].iter().copied())
    }

    /// Rebuild one stored packet for replay.
    pub fn pkt<'a>(
        &self,
        s: Seen,
        check: &'a dyn Fn() -> Option<bool>,
        ip_check: &'a dyn Fn() -> bool,
    ) -> Pkt<'a> {
        let (src, dst, sport, dport) = if self.src_is_a {
            (self.key.a, self.key.b, self.key.ap, self.key.bp)
        } else {
            (self.key.b, self.key.a, self.key.bp, self.key.ap)
        };
        Pkt {
            frame: s.frame,
            ts: s.ts,
            src,
            dst,
            ip_len: self.ip_len,
            frame_len: self.frame_len,
            ttl: s.ttl,
            ip_id: s.ip_id,
            zero_ip_len: self.zero_ip_len,
            checksum: Some(check),
            ip_checksum: self.ip_checksum.is_some().then_some(ip_check),
            l4: L4::Tcp { sport, dport, hdr: self.hdr, payload: &[] },
            interface: self.interface,
        }
    }

    /// The idle timeout class the full flow would have: a RST ends it (closed); a SYN from
    /// the initiator or a RST leaves it an attempt.
    pub fn closed(&self) -> bool {
        self.hdr.flags & crate::pkt::tcpflags::RST != 0
    }

    pub fn only_attempts(&self) -> bool {
        use crate::pkt::tcpflags::*;
        let f = self.hdr.flags;
        let from_orig = self.src_is_a == self.a_is_orig;
        (f & (SYN | ACK) == SYN && from_orig) || f & RST != 0
    }
}
