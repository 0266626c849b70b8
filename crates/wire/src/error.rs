//! Decode errors: which layer, at which byte offset of the frame, and what was wrong.

use std::fmt;

/// The protocol layer an error was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layer {
    Link,
    Ethernet,
    Vlan,
    Sll,
    Sll2,
    Null,
    Arp,
    Ipv4,
    Ipv6,
    Ipv6Ext,
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Ieee80211,
    Radiotap,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::Link => "link",
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Sll => "linux-sll",
            Layer::Sll2 => "linux-sll2",
            Layer::Null => "null/loopback",
            Layer::Arp => "arp",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6 extension header",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Icmpv6 => "icmpv6",
            Layer::Ieee80211 => "802.11",
            Layer::Radiotap => "radiotap",
        })
    }
}

/// What was wrong. Values from the packet stay visible as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum What {
    /// Fewer bytes than the header needs.
    Truncated { need: usize, have: usize },
    /// IPv4 IHL or TCP data offset below the minimum (in 32-bit words).
    HeaderLenTooSmall { words: u8, min: u8 },
    /// Header length field points past the captured bytes.
    HeaderLenBeyondData { len: usize, have: usize },
    /// IP version nibble not the expected one.
    Version { found: u8, expected: u8 },
    /// IPv4 total length smaller than the header.
    TotalLenTooSmall { total: u16, header: usize },
    /// UDP length field below 8 (the header size).
    UdpLenTooSmall { len: u16 },
    /// Unknown pcap LINKTYPE.
    UnknownLinkType(u32),
    /// Unknown address family in a null/loopback header.
    UnknownAddressFamily(u32),
    /// Raw-IP link whose first nibble is neither 4 nor 6.
    UnknownIpVersion(u8),
    /// More VLAN tags than [`crate::ethernet::MAX_VLANS`].
    TooManyVlans { max: u8 },
    /// IPv6 extension header chain longer than [`crate::ipv6::MAX_EXT_HEADERS`].
    ExtChainTooLong { max: u8 },
    /// ARP for a hardware/protocol pair other than Ethernet/IPv4.
    ArpUnsupported { htype: u16, ptype: u16, hlen: u8, plen: u8 },
    /// An 802.11 data frame with the Protected flag: its body is encrypted.
    Encrypted,
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            What::Truncated { need, have } => {
                write!(f, "truncated: need {need} bytes, have {have}")
            }
            What::HeaderLenTooSmall { words, min } => {
                write!(f, "header length {words} words < {min}")
            }
            What::HeaderLenBeyondData { len, have } => {
                write!(f, "header length {len} bytes > {have} bytes captured")
            }
            What::Version { found, expected } => write!(f, "version {found}, expected {expected}"),
            What::TotalLenTooSmall { total, header } => {
                write!(f, "total length {total} < header length {header}")
            }
            What::UdpLenTooSmall { len } => write!(f, "length field {len} < 8"),
            What::UnknownLinkType(l) => write!(f, "unsupported link type {l}"),
            What::UnknownAddressFamily(af) => write!(f, "unknown address family {af:#x}"),
            What::UnknownIpVersion(v) => write!(f, "unknown IP version {v}"),
            What::TooManyVlans { max } => write!(f, "more than {max} VLAN tags"),
            What::ExtChainTooLong { max } => write!(f, "more than {max} extension headers"),
            What::Encrypted => f.write_str("protected (encrypted) frame: needs the Wi-Fi keys"),
            What::ArpUnsupported { htype, ptype, hlen, plen } => write!(
                f,
                "unsupported hardware/protocol type {htype}/{ptype:#06x} (lengths {hlen}/{plen})"
            ),
        }
    }
}

/// A decode error: `"ipv4 at offset 14: header length 4 words < 5"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{layer} at offset {offset}: {what}")]
pub struct DecodeError {
    pub layer: Layer,
    /// Byte offset in the frame (or, from a view's `new_checked`, in the view's buffer).
    pub offset: usize,
    pub what: What,
}

impl DecodeError {
    pub(crate) const fn new(layer: Layer, offset: usize, what: What) -> Self {
        DecodeError { layer, offset, what }
    }
    pub(crate) const fn truncated(layer: Layer, need: usize, have: usize) -> Self {
        DecodeError { layer, offset: 0, what: What::Truncated { need, have } }
    }
    /// The same error with its offset moved by `base` (view offsets are relative).
    #[must_use]
    pub fn shifted(self, base: usize) -> Self {
        DecodeError { offset: self.offset.saturating_add(base), ..self }
    }
}
