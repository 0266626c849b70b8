//! Capture input: pcap and pcapng files (optionally gzip'd, or standard input), read as one
//! streaming pass of [`Frame`]s. (Reader implementation lands in `reader.rs`.)

mod time;
pub use time::Timestamp;

/// A link-layer header type (pcap LINKTYPE_* value). Unknown values stay visible as numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured packet, borrowed from the reader's buffer until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number, counted across all sections and interfaces, as Wireshark does.
    pub number: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    /// The captured bytes (may be shorter than `orig_len` when the snap length cut it).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
    /// Interface index within its pcapng section (0 for pcap).
    pub interface: u32,
}
