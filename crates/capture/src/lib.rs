//! Capture input: pcap and pcapng files (optionally gzip'd, or standard input), read as one
//! streaming pass of [`Frame`]s by [`CaptureReader`].
//!
//! # Formats
//!
//! * **pcap** (libpcap, draft-ietf-opsawg-pcap): microsecond (`a1b2c3d4`) and nanosecond
//!   (`a1b23c4d`) magic, either byte order, version 2.x. A record's captured length may exceed
//!   the file's snaplen (counted in [`CaptureStats::caplen_over_snaplen`]) up to
//!   [`Limits::max_packet_len`] (256 KiB); zero is a legal empty frame. The modified
//!   ("Kuznetzov") format is recognised and refused with a hint.
//! * **pcapng** (draft-ietf-opsawg-pcapng): any number of sections, each with its own byte
//!   order (a new Section Header Block forgets the previous section's interfaces); Interface
//!   Description Blocks with `if_tsresol` (powers of 10 and of 2) and `if_tsoffset`; Enhanced,
//!   Simple (captured length = original length cut by interface 0's snaplen; no timestamp, the
//!   previous frame's is used) and obsolete Packet Blocks; `opt_comment` counted and the first
//!   few kept. Other blocks (name resolution, interface statistics, decryption secrets, custom,
//!   unknown) are skipped and counted by type.
//! * **gzip** around either, detected by its magic (several members allowed).
//!
//! Reading is zero-copy: a regular, uncompressed file is memory-mapped and each
//! [`Frame::data`] borrows straight from the map ([`CaptureReader::open_buffered`] explains the
//! trade-off and avoids it); any other input (standard input, pipes, gzip, `from_reader`) is
//! read into one buffer that the parser reads records from in place. Memory is bounded: that
//! buffer is 1 MiB, larger only to hold the largest record or block met (at most
//! [`Limits::max_block_len`], 256 MiB, and allocated as its bytes arrive).
//!
//! # Error contract
//!
//! * [`CaptureReader::open`] fails when the input cannot be read, does not start with a pcap
//!   or pcapng magic ([`ErrorKind::NotACapture`], the first bytes shown in hex), or ends inside
//!   its file header / first section header ([`ErrorKind::Truncated`]).
//! * [`CaptureReader::next_frame`] returns `Err` when the framing cannot be followed
//!   ([`ErrorKind::Corrupt`]: a block length that is under 12 or the SHB minimum, not a
//!   multiple of 4, over the limit, or different in its trailing copy; a pcap captured length
//!   over the limit; an unsupported section version) or reading fails ([`ErrorKind::Io`]).
//!   After an `Err` every call returns `Ok(None)`.
//! * Every error displays as `<file>: at byte <offset> (after frame <n>): <what>`, the offset
//!   counted in the uncompressed stream at the start of the offending header, record or block.
//! * An input that ends inside a record or block is not an error: the frames before it are
//!   delivered, then `Ok(None)`, and [`CaptureStats::truncated`] says what was cut and where
//!   (e.g. `file ends 53 bytes into a 1530-byte packet record at offset 9120 (16-byte header +
//!   1514 bytes of packet data)`).
//! * A pcapng packet block whose framing is intact but whose contents are wrong (undefined
//!   interface, captured length beyond the block or over the limit) is skipped, counted in
//!   [`CaptureStats::skipped_packets`] and described in [`CaptureStats::problems`]; reading
//!   goes on. Malformed options are described there too.
//! * No input makes the reader panic or allocate without bound (fuzzed: `fuzz/`).
//!
//! Frame numbers are 1-based over the whole input and match Wireshark's (blocks Wireshark
//! lists as frames without being packets take a number too); timestamps are nanoseconds
//! since the Unix epoch.
//!
//! ```no_run
//! use std::path::Path;
//! use tracehound_capture::CaptureReader;
//!
//! let mut rd = CaptureReader::open(Path::new("trace.pcapng.gz"))?;
//! while let Some(frame) = rd.next_frame()? {
//!     println!("{} {} {} bytes", frame.number, frame.ts, frame.data.len());
//! }
//! if let Some(t) = &rd.stats().truncated {
//!     eprintln!("warning: {t}");
//! }
//! # Ok::<(), tracehound_capture::CaptureError>(())
//! ```

mod error;
mod input;
mod pcap;
mod pcapng;
mod reader;
mod source;
mod stats;
mod time;
mod windows;

pub use error::{CaptureError, ErrorKind};
pub use input::SharedMap;
pub use pcapng::block_name;
pub use reader::{CaptureFormat, CaptureReader, CaptureStats, Limits};
pub use time::{Epoch, Timestamp};

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

/// One captured packet, borrowed from the reader (its memory map or buffer) until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// 1-based frame number, counted across all sections and interfaces, as Wireshark does
    /// (which also numbers Custom and systemd Journal Export Blocks: those numbers are skipped,
    /// see [`CaptureStats::numbered_non_packets`]).
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
