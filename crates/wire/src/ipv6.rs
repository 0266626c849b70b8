//! IPv6 (RFC 8200) and its extension headers.
//!
//! ```text
//! ver=6(4) traffic class(8) flow label(20) | payload length(16) next header(8) hop limit(8)
//! source address(128) | destination address(128)                               = 40 bytes
//! ```
//! Extension headers walked: hop-by-hop (0), routing (43), fragment (44), destination
//! options (60) — length `(hdr_ext_len + 1) × 8` — and AH (51) — length
//! `(payload_len + 2) × 4`. The chain is bounded by [`MAX_EXT_HEADERS`]. ESP (50) and
//! No Next Header (59) end the walk. The walk also stops at a fragment header whose packet
//! is a real fragment: what follows belongs to the reassembled datagram.

use std::net::Ipv6Addr;

use crate::bytes::{arr, be16, be32, sub, tail, u8_at};
use crate::error::{DecodeError, Layer, What};

pub const HEADER_LEN: usize = 40;
/// Longest extension-header chain accepted.
pub const MAX_EXT_HEADERS: u8 = 8;

/// Next-header values for extension headers.
pub mod next_header {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const ESP: u8 = 50;
    pub const AH: u8 = 51;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;

    /// True for the headers [`super::walk_ext`] steps over.
    pub const fn is_walkable(nh: u8) -> bool {
        matches!(nh, HOP_BY_HOP | ROUTING | FRAGMENT | AH | DEST_OPTS | MOBILITY)
    }
}

/// A view of an IPv6 packet (fixed header only). After `new_checked`: 40 bytes present,
/// version 6.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, DecodeError> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DecodeError::truncated(Layer::Ipv6, HEADER_LEN, b.len()));
        }
        let v = u8_at(b, 0) >> 4;
        if v != 6 {
            return Err(DecodeError::new(Layer::Ipv6, 0, What::Version { found: v, expected: 6 }));
        }
        Ok(Packet { buffer })
    }

    pub fn traffic_class(&self) -> u8 {
        (be16(self.buffer.as_ref(), 0) >> 4) as u8
    }
    pub fn flow_label(&self) -> u32 {
        be32(self.buffer.as_ref(), 0) & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    pub fn next_header(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 6)
    }
    pub fn hop_limit(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 7)
    }
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(arr::<16>(self.buffer.as_ref(), 8))
    }
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(arr::<16>(self.buffer.as_ref(), 24))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Bytes after the fixed header, trimmed to the payload length (all captured bytes when
    /// the payload length is 0, i.e. a jumbogram or TSO).
    pub fn payload(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        match self.payload_len() {
            0 => tail(b, HEADER_LEN),
            n => sub(b, HEADER_LEN, HEADER_LEN + usize::from(n)),
        }
    }
}

/// The fragment header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragHeader {
    /// Next header of the reassembled fragmentable part.
    pub next_header: u8,
    /// Offset in bytes.
    pub offset: u16,
    pub more: bool,
    pub ident: u32,
}

/// Result of walking an extension-header chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtWalk {
    /// Upper-layer protocol (or the header the walk stopped at).
    pub proto: u8,
    /// Bytes of extension headers walked over (offset of the upper layer in the input).
    pub len: usize,
    pub frag: Option<FragHeader>,
    /// Number of extension headers walked over.
    pub count: u8,
}

/// Walks extension headers starting with next-header `nh` at the start of `data`.
///
/// Stops at the first non-extension header, at ESP/No-Next-Header, or after a fragment
/// header that is not atomic (offset ≠ 0 or more fragments). Errors carry offsets relative
/// to `data`.
pub fn walk_ext(mut nh: u8, data: &[u8]) -> Result<ExtWalk, DecodeError> {
    let mut off = 0usize;
    let mut frag = None;
    let mut count = 0u8;
    while next_header::is_walkable(nh) {
        if count >= MAX_EXT_HEADERS {
            return Err(DecodeError::new(
                Layer::Ipv6Ext,
                off,
                What::ExtChainTooLong { max: MAX_EXT_HEADERS },
            ));
        }
        let rest = tail(data, off);
        if rest.len() < 8 {
            return Err(DecodeError::truncated(Layer::Ipv6Ext, 8, rest.len()).shifted(off));
        }
        let next = u8_at(rest, 0);
        let len = match nh {
            next_header::FRAGMENT => 8,
            next_header::AH => (usize::from(u8_at(rest, 1)) + 2) * 4,
            _ => (usize::from(u8_at(rest, 1)) + 1) * 8,
        };
        if rest.len() < len {
            return Err(DecodeError::truncated(Layer::Ipv6Ext, len, rest.len()).shifted(off));
        }
        count += 1;
        off += len;
        if nh == next_header::FRAGMENT {
            let fo = be16(rest, 2);
            let f = FragHeader {
                next_header: next,
                offset: fo & 0xfff8,
                more: fo & 1 != 0,
                ident: be32(rest, 4),
            };
            frag = Some(f);
            if f.offset != 0 || f.more {
                return Ok(ExtWalk { proto: next, len: off, frag, count });
            }
        }
        nh = next;
    }
    Ok(ExtWalk { proto: nh, len: off, frag, count })
}

/// Owned IPv6 fixed header (for building test packets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub payload_len: u16,
}

impl Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>) -> Repr {
        Repr {
            src: p.src_addr(),
            dst: p.dst_addr(),
            next_header: p.next_header(),
            hop_limit: p.hop_limit(),
            payload_len: p.payload_len(),
        }
    }
    pub fn emit(&self, buf: &mut [u8]) {
        use crate::bytes::{put16, put32, put8, put_slice};
        put32(buf, 0, 6 << 28);
        put16(buf, 4, self.payload_len);
        put8(buf, 6, self.next_header);
        put8(buf, 7, self.hop_limit);
        put_slice(buf, 8, &self.src.octets());
        put_slice(buf, 24, &self.dst.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_chain_to_tcp() {
        // hop-by-hop (8 bytes, PadN) -> dest opts (8) -> AH (len field 1 => 12 bytes) -> TCP
        let mut d = vec![60, 0, 1, 4, 0, 0, 0, 0];
        d.extend_from_slice(&[51, 0, 1, 4, 0, 0, 0, 0]);
        d.extend_from_slice(&[6, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
        d.extend_from_slice(&[0xaa; 20]);
        let w = walk_ext(next_header::HOP_BY_HOP, &d).unwrap();
        assert_eq!(w, ExtWalk { proto: 6, len: 28, frag: None, count: 3 });
        // every truncation inside the chain is an error, never a panic
        for n in 0..28 {
            assert!(walk_ext(next_header::HOP_BY_HOP, &d[..n]).is_err(), "n={n}");
        }
    }

    #[test]
    fn fragment_stops_walk_and_atomic_does_not() {
        let nonfirst = [17u8, 0, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef];
        let w = walk_ext(next_header::FRAGMENT, &nonfirst).unwrap();
        assert_eq!(
            w.frag,
            Some(FragHeader { next_header: 17, offset: 0x5a8, more: true, ident: 0xdeadbeef })
        );
        assert_eq!((w.proto, w.len), (17, 8));
        let atomic = [6u8, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3];
        let w = walk_ext(next_header::FRAGMENT, &atomic).unwrap();
        assert_eq!((w.proto, w.len, w.frag.unwrap().ident), (6, 8, 9));
    }

    #[test]
    fn chain_bounded() {
        let d = [0u8, 0, 0, 0, 0, 0, 0, 0].repeat(20);
        let e = walk_ext(0, &d).unwrap_err();
        assert_eq!(e.what, What::ExtChainTooLong { max: MAX_EXT_HEADERS });
        assert_eq!(e.offset, 64);
    }
}
