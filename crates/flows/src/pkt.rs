//! The engine's input: the few fields of a decoded packet that conversation tracking needs.
//! Kept independent of the decoder's types so the engine can be driven by any decoder (and
//! by tests) without copying payload bytes.

use std::net::IpAddr;

use crate::Timestamp;

/// TCP header flag bits.
pub mod tcpflags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

/// A TCP segment's header facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHdr {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_permitted: bool,
    /// Number of SACK blocks in this segment.
    pub sack_blocks: u8,
    /// The first SACK block (left edge, right edge), if any.
    pub first_sack: Option<(u32, u32)>,
    /// Payload length according to the IP header (may exceed the captured bytes).
    pub wire_len: u32,
}

/// Transport layer of a packet the engine tracks.
#[derive(Clone, Copy, Debug)]
pub enum L4<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        hdr: TcpHdr,
        payload: &'a [u8],
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    /// An ICMP/ICMPv6 error quoting a packet: the quoted packet's addresses and ports.
    IcmpError {
        v6: bool,
        icmp_type: u8,
        code: u8,
        q_proto: u8,
        q_src: IpAddr,
        q_dst: IpAddr,
        q_sport: u16,
        q_dport: u16,
    },
}

/// One packet, as the engine sees it.
#[derive(Clone, Copy)]
pub struct Pkt<'a> {
    pub frame: u64,
    pub ts: Timestamp,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IP length (header + payload) per the IP header, or the captured length when that is 0.
    pub ip_len: u32,
    /// Length of the whole frame on the wire (the capture record's original length).
    pub frame_len: u32,
    /// IPv4 TTL / IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 identification (0 for IPv6), for duplicate detection.
    pub ip_id: u16,
    /// IPv4 total length was 0 (TSO on the capturing host).
    pub zero_ip_len: bool,
    /// Verifies the TCP/UDP checksum on demand (the engine calls it only on a sample of
    /// packets); it answers None when the checksum cannot be checked (cut by the snap length).
    pub checksum: Option<&'a dyn Fn() -> Option<bool>>,
    /// Verifies the IPv4 header checksum on demand (None for IPv6: it has none).
    pub ip_checksum: Option<&'a dyn Fn() -> bool>,
    pub l4: L4<'a>,
    /// The capture interface it was seen on (the frame's; 0 when the format has one).
    pub interface: u32,
}
