//! tracehound wire: zero-copy decoding of captured frames, link layer to transport.
//!
//! One protocol per module, each with a view `Packet<T: AsRef<[u8]>>` (`new_checked`, then
//! getters) and, where we also build packets (IPv4, IPv6, TCP, UDP, Ethernet), an owned
//! `Repr` with `parse` / `emit` that round-trip:
//!
//! ```
//! use std::net::IpAddr;
//! use tracehound_wire::{ipv4, tcp};
//! let (src, dst): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
//! let seg = tcp::Repr { src_port: 50000, dst_port: 135, seq: 1, ack: 0,
//!     flags: tcp::Flags(tcp::Flags::SYN), window: 8192, urgent: 0,
//!     opts: tcp::Opts { mss: Some(1460), ..Default::default() }, payload: &[] };
//! let mut buf = [0u8; 64];
//! let n = seg.emit(&mut buf, &src, &dst).unwrap();
//! let view = tcp::Packet::new_checked(&buf[..n]).unwrap();
//! assert_eq!(tcp::Repr::parse(&view, &src, &dst).unwrap(), seg);
//! ```
//!
//! The hot-path entry point is [`decode`]: one call per frame, no allocation, returning a
//! [`Decoded`] summary (addresses, ports, sequence numbers, flags, options, payload slice).
//! Fragments come back as [`Transport::Fragment`]; feed them to [`defrag::Reassembler`] and
//! decode the result with [`decode_transport`].
//!
//! # Contract for untrusted input
//!
//! Nothing in this crate panics on any input: after a view's `new_checked` succeeds its
//! getters cannot panic (every read goes through checked accessors that return 0 past the
//! end, which `new_checked` makes unreachable for fixed fields), and [`decode`] never panics.
//! Arithmetic on wire values is checked, saturating or wrapping. Chains (VLAN tags, IPv6
//! extension headers) are bounded. Errors say which layer, at which frame offset, and what
//! was wrong: `ipv4 at offset 14: header length 4 words < 5`.
//!
//! Layering of errors: a broken link or IP header makes [`decode`] return `Err`; a broken
//! transport header under a good IP header gives `Ok` with [`Transport::Malformed`], so
//! the addresses are not lost. A frame cut by the snap length is not an error: what is
//! there is decoded and `payload_wire_len` says how long the payload was on the wire.

pub mod arp;
mod bytes;
pub mod checksum;
pub mod defrag;
mod error;
pub mod ethernet;
pub mod icmp;
pub mod ieee80211;
pub mod ipv4;
pub mod ipv6;
pub mod null;
pub mod sll;
pub mod tcp;
pub mod udp;

use std::net::IpAddr;

pub use arp::Info as ArpInfo;
pub use error::{DecodeError, Layer, What};
pub use icmp::Quoted;
pub use tcp::{Flags as TcpFlags, Opts as TcpOpts};

/// pcap LINKTYPE values understood by [`decode`].
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    /// DLT_RAW as written by some old libpcap versions.
    pub const RAW_DLT12: u32 = 12;
    /// DLT_RAW on OpenBSD.
    pub const RAW_DLT14: u32 = 14;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    /// IEEE 802.11 frames, MAC header first.
    pub const IEEE802_11: u32 = 105;
    /// IEEE 802.11 frames after a radiotap header.
    pub const IEEE802_11_RADIOTAP: u32 = 127;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// IP protocol numbers used here.
pub mod proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
}

/// One decoded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Number of VLAN tags seen (0 when none).
    pub vlans: u8,
    /// Outermost VLAN id, if tagged.
    pub vlan_id: Option<u16>,
    pub net: Net<'a>,
    pub transport: Transport<'a>,
}

/// Network layer summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net<'a> {
    Ipv4(IpMeta<'a>),
    Ipv6(IpMeta<'a>),
    Arp(ArpInfo),
    /// Another EtherType (or an 802.3 length / Linux pseudo protocol), with its bytes.
    Other {
        ethertype: u16,
        payload: &'a [u8],
    },
}

impl<'a> Net<'a> {
    /// The IP summary for IPv4 and IPv6.
    pub fn ip(&self) -> Option<&IpMeta<'a>> {
        match self {
            Net::Ipv4(m) | Net::Ipv6(m) => Some(m),
            _ => None,
        }
    }
}

/// A fragment's place in its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragInfo {
    /// Offset in bytes.
    pub offset: u16,
    /// More fragments follow.
    pub more: bool,
}

/// IP layer summary (IPv4 or IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpMeta<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Final protocol: IPv4 protocol, or the IPv6 next header after extension headers (for
    /// IPv6 fragments: the fragment header's next header).
    pub proto: u8,
    /// TTL / hop limit.
    pub ttl: u8,
    /// DSCP and ECN bits (IPv4 TOS byte / IPv6 traffic class).
    pub tos: u8,
    /// IPv4 identification, or the IPv6 fragment header's identification (0 if none).
    pub ident: u32,
    pub dont_frag: bool,
    /// Set for fragments that need reassembly (not for atomic IPv6 fragments).
    pub fragment: Option<FragInfo>,
    /// IPv4 total length / IPv6 payload length was 0 (TSO artifact or jumbogram): lengths
    /// come from the captured bytes.
    pub total_len_zero: bool,
    /// The IP length reaches past the end of the frame on the wire (known only through
    /// [`decode_frame`]); `payload_wire_len` was clamped to the frame.
    pub len_exceeds_frame: bool,
    /// Offset of the IP header in the frame.
    pub offset: u16,
    /// The IP header (IPv4 with options; IPv6 fixed header with extension headers walked).
    pub header: &'a [u8],
    /// Length of the upper-layer data on the wire, per the IP header (captured length when
    /// `total_len_zero`).
    pub payload_wire_len: u32,
}

impl IpMeta<'_> {
    /// The fragment-reassembly key of this packet.
    pub fn frag_key(&self) -> defrag::Key {
        defrag::Key { src: self.src, dst: self.dst, proto: self.proto, ident: self.ident }
    }
}

/// Transport layer summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    Tcp(TcpSeg<'a>),
    Udp(UdpDgram<'a>),
    Icmp(IcmpMsg<'a>),
    /// A fragment needing reassembly (first or not): the IP payload bytes captured.
    Fragment {
        payload: &'a [u8],
        payload_wire_len: u32,
    },
    /// Another protocol (or ESP / no-next-header).
    Other {
        proto: u8,
        payload: &'a [u8],
    },
    /// The transport header was broken; the IP layer is still reported.
    Malformed {
        proto: u8,
        error: DecodeError,
        payload: &'a [u8],
    },
    /// Nothing above the network layer (ARP, other EtherTypes).
    None,
}

/// A TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSeg<'a> {
    pub sport: u16,
    pub dport: u16,
    /// Raw (absolute) sequence and acknowledgement numbers.
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// Unscaled window field.
    pub window: u16,
    pub urgent: u16,
    pub header_len: u8,
    /// The snap length cut the header inside its options: the options are those captured
    /// (a last, cut option is ignored) and the payload is empty.
    pub header_cut: bool,
    pub opts: TcpOpts,
    /// Captured payload, trimmed to the IP length (no Ethernet padding).
    pub payload: &'a [u8],
    /// Payload length on the wire per the IP header (≥ `payload.len()`).
    pub payload_wire_len: u32,
    pub checksum: u16,
    segment: &'a [u8],
    complete: bool,
}

/// A UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDgram<'a> {
    pub sport: u16,
    pub dport: u16,
    /// The UDP length field.
    pub length: u16,
    /// Captured payload, trimmed to the UDP/IP length.
    pub payload: &'a [u8],
    /// Payload length on the wire.
    pub payload_wire_len: u32,
    pub checksum: u16,
    segment: &'a [u8],
    complete: bool,
}

/// An ICMP or ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IcmpMsg<'a> {
    pub v6: bool,
    pub icmp_type: u8,
    pub code: u8,
    /// The 4 bytes after the checksum (echo id/seq, pointer, gateway ...).
    pub rest: u32,
    /// The quoted packet of an error message.
    pub quoted: Option<Quoted>,
    /// MTU of "fragmentation needed" (v4 3/4) or "packet too big" (v6 2).
    pub mtu: Option<u32>,
    /// Bytes after the 8-byte header.
    pub payload: &'a [u8],
}

impl IcmpMsg<'_> {
    /// True for error messages (which quote a packet).
    pub fn is_error(&self) -> bool {
        if self.v6 {
            icmp::v6_is_error(self.icmp_type)
        } else {
            icmp::v4_is_error(self.icmp_type)
        }
    }
    /// Destination unreachable, administratively prohibited (v4 codes 9, 10, 13; v6 code 1).
    pub fn admin_prohibited(&self) -> bool {
        if self.v6 {
            self.icmp_type == icmp::v6::DEST_UNREACH
                && self.code == icmp::v6::unreach::ADMIN_PROHIBITED
        } else {
            self.icmp_type == icmp::v4::DEST_UNREACH && matches!(self.code, 9 | 10 | 13)
        }
    }
}

fn l4_checksum(
    src: &IpAddr,
    dst: &IpAddr,
    proto: u8,
    segment: &[u8],
    complete: bool,
) -> Option<bool> {
    if !complete {
        return None;
    }
    Some(checksum::verify_l4(src, dst, proto, segment))
}

impl TcpSeg<'_> {
    /// Verifies the checksum. `None` when not computable: snaplen cut the segment, or the
    /// IP length was 0 (TSO; the checksum is then usually left for the NIC to fill in).
    pub fn checksum_ok(&self, ip: &IpMeta) -> Option<bool> {
        if ip.total_len_zero {
            return None;
        }
        self.checksum_ok_with(&ip.src, &ip.dst)
    }
    /// As [`checksum_ok`](Self::checksum_ok), with explicit addresses (reassembled data).
    pub fn checksum_ok_with(&self, src: &IpAddr, dst: &IpAddr) -> Option<bool> {
        l4_checksum(src, dst, proto::TCP, self.segment, self.complete)
    }
}

impl UdpDgram<'_> {
    /// Verifies the checksum. `None` when not computable (snaplen cut, zero IP length) or
    /// absent (0 over IPv4).
    pub fn checksum_ok(&self, ip: &IpMeta) -> Option<bool> {
        if ip.total_len_zero {
            return None;
        }
        self.checksum_ok_with(&ip.src, &ip.dst)
    }
    pub fn checksum_ok_with(&self, src: &IpAddr, dst: &IpAddr) -> Option<bool> {
        if self.checksum == 0 && src.is_ipv4() {
            return None;
        }
        l4_checksum(src, dst, proto::UDP, self.segment, self.complete)
    }
}

/// Decodes one frame of link type `link` (a pcap LINKTYPE value).
///
/// Same as [`decode_frame`] without the frame's on-wire length: lengths on the wire are
/// then taken from the IP header alone.
#[inline]
pub fn decode(link: u32, data: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    decode_frame(link, data, u32::MAX)
}

/// Decodes one frame of link type `link` whose length on the wire was `orig_len` (the
/// pcap record's original length). An IP length reaching past the frame on the wire is
/// clamped to it (and flagged in [`IpMeta::len_exceeds_frame`]), as Wireshark does.
pub fn decode_frame(link: u32, data: &[u8], orig_len: u32) -> Result<Decoded<'_>, DecodeError> {
    let wire = (orig_len as usize).max(data.len());
    match link {
        linktype::ETHERNET => {
            let eth = ethernet::Packet::new_checked(data)?;
            decode_ethertype(eth.ethertype(), eth.payload(), ethernet::HEADER_LEN, true, wire)
        }
        linktype::LINUX_SLL => {
            let p = sll::Packet::new_checked(data)?;
            decode_ethertype(p.protocol(), p.payload(), sll::V1_HEADER_LEN, true, wire)
        }
        linktype::LINUX_SLL2 => {
            let p = sll::Packet2::new_checked(data)?;
            decode_ethertype(p.protocol(), p.payload(), sll::V2_HEADER_LEN, true, wire)
        }
        linktype::NULL | linktype::LOOP => {
            let p = null::Packet::new_checked(data)?;
            let et = match p.family() {
                null::Family::Ipv4 => ethernet::ethertype::IPV4,
                null::Family::Ipv6 => ethernet::ethertype::IPV6,
                null::Family::Other(af) => {
                    return Err(DecodeError::new(Layer::Null, 0, What::UnknownAddressFamily(af)))
                }
            };
            decode_ethertype(et, p.payload(), null::HEADER_LEN, false, wire)
        }
        linktype::RAW | linktype::RAW_DLT12 | linktype::RAW_DLT14 => {
            let v = data.first().map_or(0, |b| b >> 4);
            let et = match v {
                4 => ethernet::ethertype::IPV4,
                6 => ethernet::ethertype::IPV6,
                _ if data.is_empty() => {
                    return Err(DecodeError::truncated(Layer::Link, 1, 0));
                }
                v => return Err(DecodeError::new(Layer::Link, 0, What::UnknownIpVersion(v))),
            };
            decode_ethertype(et, data, 0, false, wire)
        }
        linktype::IPV4 => decode_ethertype(ethernet::ethertype::IPV4, data, 0, false, wire),
        linktype::IPV6 => decode_ethertype(ethernet::ethertype::IPV6, data, 0, false, wire),
        linktype::IEEE802_11 => decode_80211(data, 0, wire),
        linktype::IEEE802_11_RADIOTAP => {
            let at = ieee80211::radiotap_len(data)?;
            decode_80211(bytes::tail(data, at), at, wire)
        }
        other => Err(DecodeError::new(Layer::Link, 0, What::UnknownLinkType(other))),
    }
}

/// An 802.11 frame `base` bytes into the capture record: its network packet, or the frame as
/// [`Net::Other`] (EtherType 0) when it carries none.
fn decode_80211(data: &[u8], base: usize, wire: usize) -> Result<Decoded<'_>, DecodeError> {
    match ieee80211::body(data).map_err(|e| e.shifted(base))? {
        ieee80211::Body::Packet { ethertype, payload, offset } => {
            decode_ethertype(ethertype, payload, base + offset, true, wire)
        }
        ieee80211::Body::NotIp(_) => Ok(Decoded {
            vlans: 0,
            vlan_id: None,
            net: Net::Other { ethertype: 0, payload: data },
            transport: Transport::None,
        }),
    }
}

#[inline]
fn decode_ethertype(
    ethertype: u16,
    data: &[u8],
    offset: usize,
    vlan_ok: bool,
    frame_wire_len: usize,
) -> Result<Decoded<'_>, DecodeError> {
    let (et, data, vlans, tag, offset) = if vlan_ok && ethernet::ethertype::is_vlan(ethertype) {
        let u = ethernet::strip_vlans(ethertype, data, offset)?;
        (u.ethertype, u.payload, u.count, u.outer, offset + 4 * usize::from(u.count))
    } else {
        (ethertype, data, 0, None, offset)
    };
    let vlan_id = tag.map(|t| t.vid);
    let room = frame_wire_len.saturating_sub(offset);
    match et {
        ethernet::ethertype::IPV4 => decode_ipv4(data, offset, room, vlans, vlan_id),
        ethernet::ethertype::IPV6 => decode_ipv6(data, offset, room, vlans, vlan_id),
        ethernet::ethertype::ARP => {
            let p = arp::Packet::new_checked(data).map_err(|e| e.shifted(offset))?;
            Ok(Decoded { vlans, vlan_id, net: Net::Arp(p.info()), transport: Transport::None })
        }
        other => Ok(Decoded {
            vlans,
            vlan_id,
            net: Net::Other { ethertype: other, payload: data },
            transport: Transport::None,
        }),
    }
}

/// Decodes an IPv4 packet at frame offset `offset`.
#[inline]
fn decode_ipv4(
    data: &[u8],
    offset: usize,
    room: usize,
    vlans: u8,
    vlan_id: Option<u16>,
) -> Result<Decoded<'_>, DecodeError> {
    let p = ipv4::Packet::new_checked(data).map_err(|e| e.shifted(offset))?;
    let hl = p.header_len();
    let total = p.total_len();
    let payload = p.payload();
    let exceeds = usize::from(total) > room;
    let wire = match total {
        0 => payload.len() as u32,
        _ if exceeds => room.saturating_sub(hl) as u32,
        t => u32::from(t).saturating_sub(hl as u32),
    };
    let (fo, more) = (p.frag_offset(), p.more_frags());
    let fragment = (fo != 0 || more).then_some(FragInfo { offset: fo, more });
    let meta = IpMeta {
        src: IpAddr::V4(p.src_addr()),
        dst: IpAddr::V4(p.dst_addr()),
        proto: p.protocol(),
        ttl: p.ttl(),
        tos: p.dscp_ecn(),
        ident: u32::from(p.ident()),
        dont_frag: p.dont_frag(),
        fragment,
        total_len_zero: total == 0,
        len_exceeds_frame: exceeds,
        offset: u16::try_from(offset).unwrap_or(u16::MAX),
        header: p.header(),
        payload_wire_len: wire,
    };
    let transport = if fragment.is_some() {
        Transport::Fragment { payload, payload_wire_len: wire }
    } else {
        transport_inner(meta.proto, payload, wire, offset + hl)
    };
    Ok(Decoded { vlans, vlan_id, net: Net::Ipv4(meta), transport })
}

/// Decodes an IPv6 packet at frame offset `offset`.
#[inline]
fn decode_ipv6(
    data: &[u8],
    offset: usize,
    room: usize,
    vlans: u8,
    vlan_id: Option<u16>,
) -> Result<Decoded<'_>, DecodeError> {
    let p = ipv6::Packet::new_checked(data).map_err(|e| e.shifted(offset))?;
    let done = |meta, transport| Ok(Decoded { vlans, vlan_id, net: Net::Ipv6(meta), transport });
    let plen = p.payload_len();
    let after = p.payload();
    let src = IpAddr::V6(p.src_addr());
    let dst = IpAddr::V6(p.dst_addr());
    let room = room.saturating_sub(ipv6::HEADER_LEN);
    let exceeds = usize::from(plen) > room;
    let wire_all = match plen {
        0 => after.len() as u32,
        _ if exceeds => room as u32,
        n => u32::from(n),
    };
    let mut meta = IpMeta {
        src,
        dst,
        proto: p.next_header(),
        ttl: p.hop_limit(),
        tos: p.traffic_class(),
        ident: 0,
        dont_frag: false,
        fragment: None,
        total_len_zero: plen == 0,
        len_exceeds_frame: exceeds,
        offset: u16::try_from(offset).unwrap_or(u16::MAX),
        header: bytes::sub(data, 0, ipv6::HEADER_LEN),
        payload_wire_len: wire_all,
    };
    let nh = p.next_header();
    let walk = if ipv6::next_header::is_walkable(nh) {
        match ipv6::walk_ext(nh, after) {
            Ok(w) => w,
            Err(e) => {
                let error = e.shifted(offset + ipv6::HEADER_LEN);
                return done(meta, Transport::Malformed { proto: nh, error, payload: after });
            }
        }
    } else {
        ipv6::ExtWalk { proto: nh, len: 0, frag: None, count: 0 }
    };
    meta.proto = walk.proto;
    meta.header = bytes::sub(data, 0, ipv6::HEADER_LEN + walk.len);
    meta.payload_wire_len = wire_all.saturating_sub(walk.len as u32);
    let l4 = bytes::tail(after, walk.len);
    if let Some(f) = walk.frag {
        meta.ident = f.ident;
        if f.offset != 0 || f.more {
            meta.fragment = Some(FragInfo { offset: f.offset, more: f.more });
            let t = Transport::Fragment { payload: l4, payload_wire_len: meta.payload_wire_len };
            return done(meta, t);
        }
    }
    let l4_off = offset + ipv6::HEADER_LEN + walk.len;
    let t = transport_inner(walk.proto, l4, meta.payload_wire_len, l4_off);
    done(meta, t)
}

/// Decodes the transport layer of a reassembled datagram (or any complete IP payload).
///
/// `proto` is the IPv4 protocol or the IPv6 fragment header's next header; for IPv6
/// (`is_ipv6`) any extension headers at the start of `bytes` are walked first. Error
/// offsets are relative to `bytes`. See also [`defrag::Reassembled::transport`].
pub fn decode_transport(proto: u8, is_ipv6: bool, bytes: &[u8]) -> Transport<'_> {
    let wire = bytes.len() as u32;
    if is_ipv6 && ipv6::next_header::is_walkable(proto) {
        return match ipv6::walk_ext(proto, bytes) {
            Ok(w) => transport_inner(
                w.proto,
                bytes::tail(bytes, w.len),
                wire.saturating_sub(w.len as u32),
                w.len,
            ),
            Err(error) => Transport::Malformed { proto, error, payload: bytes },
        };
    }
    transport_inner(proto, bytes, wire, 0)
}

/// Decodes the transport header in `l4` (captured bytes, already trimmed to the IP
/// length); `wire` is the length on the wire; `off` is `l4`'s frame offset for errors.
#[inline]
fn transport_inner<'a>(proto: u8, l4: &'a [u8], wire: u32, off: usize) -> Transport<'a> {
    let complete = l4.len() as u64 == u64::from(wire);
    match proto {
        proto::TCP => match tcp::Packet::new_checked(l4) {
            Err(DecodeError { what: What::HeaderLenBeyondData { len, .. }, .. })
                if (l4.len() as u64) < u64::from(wire) && len as u64 <= u64::from(wire) =>
            {
                // Snap length cut the header inside the options: decode what is there.
                let p = tcp::Packet::new_unchecked(l4);
                let mut opts = TcpOpts::parse(bytes::sub(l4, tcp::MIN_HEADER_LEN, len));
                opts.malformed = false;
                opts.malformed_at = 0;
                Transport::Tcp(TcpSeg {
                    sport: p.src_port(),
                    dport: p.dst_port(),
                    seq: p.seq(),
                    ack: p.ack(),
                    flags: p.flags(),
                    window: p.window(),
                    urgent: p.urgent(),
                    header_len: len as u8,
                    header_cut: true,
                    opts,
                    payload: &[],
                    payload_wire_len: wire.saturating_sub(len as u32),
                    checksum: p.checksum(),
                    segment: l4,
                    complete: false,
                })
            }
            Ok(p) => {
                let hl = p.header_len();
                Transport::Tcp(TcpSeg {
                    sport: p.src_port(),
                    dport: p.dst_port(),
                    seq: p.seq(),
                    ack: p.ack(),
                    flags: p.flags(),
                    window: p.window(),
                    urgent: p.urgent(),
                    header_len: hl as u8,
                    header_cut: false,
                    opts: if hl > tcp::MIN_HEADER_LEN { p.options() } else { TcpOpts::default() },
                    payload: p.payload(),
                    payload_wire_len: wire.saturating_sub(hl as u32),
                    checksum: p.checksum(),
                    segment: l4,
                    complete,
                })
            }
            Err(e) => Transport::Malformed { proto, error: e.shifted(off), payload: l4 },
        },
        proto::UDP => match udp::Packet::new_checked(l4) {
            Ok(p) => {
                let ulen = p.len();
                // The UDP length wins when it is within the IP length; otherwise the IP
                // length (the datagram cannot be longer than its packet).
                let end = u32::from(ulen).min(wire);
                let seg_end = (end as usize).min(l4.len());
                let segment = bytes::sub(l4, 0, seg_end);
                Transport::Udp(UdpDgram {
                    sport: p.src_port(),
                    dport: p.dst_port(),
                    length: ulen,
                    payload: bytes::sub(l4, udp::HEADER_LEN, seg_end),
                    payload_wire_len: end.saturating_sub(udp::HEADER_LEN as u32),
                    checksum: p.checksum(),
                    segment,
                    // Checkable when all `ulen` bytes were captured and the IP length
                    // holds them (a UDP length beyond it cannot be verified).
                    complete: segment.len() == usize::from(ulen) && u32::from(ulen) <= wire,
                })
            }
            Err(e) => Transport::Malformed { proto, error: e.shifted(off), payload: l4 },
        },
        proto::ICMP | proto::ICMPV6 => {
            let v6 = proto == proto::ICMPV6;
            match icmp::Packet::new_checked(l4, v6) {
                Ok(p) => {
                    let (t, code, rest, body) = (p.msg_type(), p.code(), p.rest(), p.body());
                    let (quoted, mtu) = if v6 {
                        let q = if icmp::v6_is_error(t) { icmp::quoted_v6(body) } else { None };
                        (q, (t == icmp::v6::PACKET_TOO_BIG).then_some(rest))
                    } else {
                        let q = if icmp::v4_is_error(t) { icmp::quoted_v4(body) } else { None };
                        let frag_needed =
                            t == icmp::v4::DEST_UNREACH && code == icmp::v4::unreach::FRAG_NEEDED;
                        (q, frag_needed.then_some(rest & 0xffff))
                    };
                    Transport::Icmp(IcmpMsg {
                        v6,
                        icmp_type: t,
                        code,
                        rest,
                        quoted,
                        mtu,
                        payload: body,
                    })
                }
                Err(e) => Transport::Malformed { proto, error: e.shifted(off), payload: l4 },
            }
        }
        _ => Transport::Other { proto, payload: l4 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_transport_walks_ipv6_ext_headers_of_reassembled_data() {
        // destination options (8 bytes) then a UDP datagram, as the fragmentable part of a
        // reassembled IPv6 datagram may start.
        let (src, dst): (IpAddr, IpAddr) = ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
        let u = udp::Repr { src_port: 1234, dst_port: 53, payload: b"abc" };
        let mut b = vec![17u8, 0, 1, 4, 0, 0, 0, 0];
        let mut ub = [0u8; 11];
        u.emit(&mut ub, &src, &dst).unwrap();
        b.extend_from_slice(&ub);
        let Transport::Udp(d) = decode_transport(60, true, &b) else { panic!() };
        assert_eq!((d.sport, d.dport, d.payload), (1234, 53, &b"abc"[..]));
        assert_eq!(d.checksum_ok_with(&src, &dst), Some(true));
        // over IPv4 protocol 60 is just another protocol
        assert!(matches!(decode_transport(60, false, &b), Transport::Other { proto: 60, .. }));
        // a cut extension header is reported, not a panic
        let Transport::Malformed { error, .. } = decode_transport(60, true, &b[..5]) else {
            panic!()
        };
        assert_eq!(
            error.to_string(),
            "ipv6 extension header at offset 0: truncated: need 8 bytes, have 5"
        );
    }

    #[test]
    fn raw_link_errors() {
        assert_eq!(
            decode(linktype::RAW, &[]).unwrap_err().to_string(),
            "link at offset 0: truncated: need 1 bytes, have 0"
        );
        assert_eq!(decode(linktype::RAW, &[0x50]).unwrap_err().what, What::UnknownIpVersion(5));
        let e = decode(linktype::ETHERNET, &[0; 13]).unwrap_err();
        assert_eq!(e.to_string(), "ethernet at offset 0: truncated: need 14 bytes, have 13");
    }
}
