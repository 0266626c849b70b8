//! ICMP for IPv4 (RFC 792) and IPv6 (RFC 4443).
//!
//! ```text
//! type(8) code(8) checksum(16) | rest of header(32) | body
//! ```
//! Error messages quote the offending packet's IP header and at least the first 8 bytes of
//! its transport header, which is how we learn which connection an error belongs to:
//! v4 destination unreachable (3; codes 9, 10, 13 = administratively prohibited; code 4 =
//! fragmentation needed, next-hop MTU in bytes 6–7), source quench (4), redirect (5), time
//! exceeded (11), parameter problem (12); v6 destination unreachable (1; code 1 =
//! administratively prohibited), packet too big (2; MTU in bytes 4–7), time exceeded (3),
//! parameter problem (4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::bytes::{arr, be16, be32, tail, u8_at};
use crate::error::{DecodeError, Layer};
use crate::ipv6;

pub const HEADER_LEN: usize = 8;

/// ICMPv4 types.
pub mod v4 {
    pub const ECHO_REPLY: u8 = 0;
    pub const DEST_UNREACH: u8 = 3;
    pub const SOURCE_QUENCH: u8 = 4;
    pub const REDIRECT: u8 = 5;
    pub const ECHO_REQUEST: u8 = 8;
    pub const TIME_EXCEEDED: u8 = 11;
    pub const PARAM_PROBLEM: u8 = 12;
    /// Destination unreachable codes.
    pub mod unreach {
        pub const NET: u8 = 0;
        pub const HOST: u8 = 1;
        pub const PROTOCOL: u8 = 2;
        pub const PORT: u8 = 3;
        pub const FRAG_NEEDED: u8 = 4;
        pub const NET_PROHIBITED: u8 = 9;
        pub const HOST_PROHIBITED: u8 = 10;
        pub const ADMIN_PROHIBITED: u8 = 13;
    }
}

/// ICMPv6 types.
pub mod v6 {
    pub const DEST_UNREACH: u8 = 1;
    pub const PACKET_TOO_BIG: u8 = 2;
    pub const TIME_EXCEEDED: u8 = 3;
    pub const PARAM_PROBLEM: u8 = 4;
    pub const ECHO_REQUEST: u8 = 128;
    pub const ECHO_REPLY: u8 = 129;
    /// Destination unreachable codes.
    pub mod unreach {
        pub const NO_ROUTE: u8 = 0;
        pub const ADMIN_PROHIBITED: u8 = 1;
        pub const ADDRESS: u8 = 3;
        pub const PORT: u8 = 4;
        pub const POLICY_FAILED: u8 = 5;
        pub const REJECT_ROUTE: u8 = 6;
    }
}

/// A view of an ICMP or ICMPv6 message (8-byte header present after `new_checked`).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T, is_v6: bool) -> Result<Self, DecodeError> {
        let have = buffer.as_ref().len();
        if have < HEADER_LEN {
            let l = if is_v6 { Layer::Icmpv6 } else { Layer::Icmp };
            return Err(DecodeError::truncated(l, HEADER_LEN, have));
        }
        Ok(Packet { buffer })
    }
    pub fn msg_type(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 0)
    }
    pub fn code(&self) -> u8 {
        u8_at(self.buffer.as_ref(), 1)
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    /// The 4 bytes after the checksum (identifier/sequence, MTU, pointer, gateway ...).
    pub fn rest(&self) -> u32 {
        be32(self.buffer.as_ref(), 4)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    pub fn body(&self) -> &'a [u8] {
        tail(self.buffer.as_ref(), HEADER_LEN)
    }
}

/// True for the ICMPv4 types that quote a packet.
pub const fn v4_is_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

/// True for ICMPv6 error types (all types below 128).
pub const fn v6_is_error(t: u8) -> bool {
    t < 128
}

/// The packet quoted by an ICMP error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub proto: u8,
    /// (source port, destination port) of TCP/UDP/SCTP/DCCP, when quoted and not a
    /// non-first fragment.
    pub ports: Option<(u16, u16)>,
    pub tcp_seq: Option<u32>,
    /// IPv4 identification of the quoted packet (0 for IPv6).
    pub ident: u16,
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 33 | 132 | 136)
}

/// Parses the quoted IPv4 packet of an ICMPv4 error (None if not enough is there).
pub fn quoted_v4(body: &[u8]) -> Option<Quoted> {
    if body.len() < 20 || u8_at(body, 0) >> 4 != 4 {
        return None;
    }
    let hl = usize::from(u8_at(body, 0) & 0x0f) * 4;
    if hl < 20 {
        return None;
    }
    let proto = u8_at(body, 9);
    let frag_off = be16(body, 6) & 0x1fff;
    let mut q = Quoted {
        src: IpAddr::V4(Ipv4Addr::from(arr::<4>(body, 12))),
        dst: IpAddr::V4(Ipv4Addr::from(arr::<4>(body, 16))),
        proto,
        ports: None,
        tcp_seq: None,
        ident: be16(body, 4),
    };
    if frag_off == 0 {
        fill_l4(&mut q, tail(body, hl));
    }
    Some(q)
}

/// Parses the quoted IPv6 packet of an ICMPv6 error.
pub fn quoted_v6(body: &[u8]) -> Option<Quoted> {
    if body.len() < 40 || u8_at(body, 0) >> 4 != 6 {
        return None;
    }
    let mut q = Quoted {
        src: IpAddr::V6(Ipv6Addr::from(arr::<16>(body, 8))),
        dst: IpAddr::V6(Ipv6Addr::from(arr::<16>(body, 24))),
        proto: u8_at(body, 6),
        ports: None,
        tcp_seq: None,
        ident: 0,
    };
    let after = tail(body, 40);
    if let Ok(w) = ipv6::walk_ext(q.proto, after) {
        q.proto = w.proto;
        if w.frag.is_none_or(|f| f.offset == 0) {
            fill_l4(&mut q, tail(after, w.len));
        }
    }
    Some(q)
}

fn fill_l4(q: &mut Quoted, l4: &[u8]) {
    if has_ports(q.proto) && l4.len() >= 4 {
        q.ports = Some((be16(l4, 0), be16(l4, 2)));
    }
    if q.proto == 6 && l4.len() >= 8 {
        q.tcp_seq = Some(be32(l4, 4));
    }
}
