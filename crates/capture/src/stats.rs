//! What a reader reports about its input: the container format, the counts and problems
//! seen ([`CaptureStats`]), and the caps it reads under ([`Limits`]). Shared by the pcap /
//! pcapng reader and the Windows formats.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::LinkType;

/// Caps on everything that grows from the input. Hitting one is reported (an error for
/// framing, an entry in [`CaptureStats::problems`] for a skipped packet), never silent.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest captured packet accepted (pcap record or pcapng packet block). A pcap record
    /// over it is a framing error; a pcapng packet over it is skipped and reported.
    pub max_packet_len: u32,
    /// Largest pcapng block accepted; larger is a framing error.
    pub max_block_len: u32,
    /// Interfaces per pcapng section.
    pub max_interfaces: usize,
    /// Comment texts kept in [`CaptureStats::first_comments`] (all are counted).
    pub max_comments_kept: usize,
    /// Bytes kept of each such comment.
    pub max_comment_len: usize,
    /// Problem descriptions kept in [`CaptureStats::problems`] (all are counted).
    pub max_problems_kept: usize,
    /// Distinct block types kept in [`CaptureStats::unknown_blocks`].
    pub max_unknown_block_types: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packet_len: 256 * 1024,
            max_block_len: 256 * 1024 * 1024,
            max_interfaces: 4096,
            max_comments_kept: 8,
            max_comment_len: 1024,
            max_problems_kept: 32,
            max_unknown_block_types: 64,
        }
    }
}

/// The container format, from the input's magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum CaptureFormat {
    Pcap {
        /// Nanosecond timestamps (magic `a1b23c4d`) rather than microseconds.
        nanos: bool,
        big_endian: bool,
        /// (major, minor), normally (2, 4).
        version: (u16, u16),
        /// 0 = no limit.
        snaplen: u32,
    },
    /// pcapng; byte order is per section.
    Pcapng,
    /// Network Monitor 2.x (`.cap`, or a `.chn` set), read by `tracehound-wintrace`.
    Netmon { version: (u8, u8) },
    /// Event Trace Log (`netsh trace`, `pktmon`), read by `tracehound-wintrace`.
    Etl,
}

/// What the reader saw so far (complete once [`CaptureReader::next_frame`] returned
/// `Ok(None)`).
#[derive(Clone, Debug, Serialize)]
pub struct CaptureStats {
    pub format: CaptureFormat,
    /// The input was gzip-compressed.
    pub gzip: bool,
    /// Frames delivered.
    pub frames: u64,
    /// Blocks that hold no packet but that Wireshark (tshark 4.0) lists as frames: Custom
    /// Blocks and systemd Journal Export Blocks. Each takes a frame number, so that
    /// [`Frame::number`] stays Wireshark's frame number.
    pub numbered_non_packets: u64,
    /// pcapng sections (0 for pcap).
    pub sections: u64,
    /// pcapng interfaces over all sections (0 for pcap).
    pub interfaces: u64,
    /// The first section's IDBs, by interface index: their `if_name` / `if_description`
    /// options where present (see `reader/pcapng.rs`).
    pub interface_names: Vec<InterfaceName>,
    /// pcapng blocks skipped, by block type (name rows, statistics, secrets, custom, unknown...).
    pub unknown_blocks: BTreeMap<u32, u64>,
    /// Skipped blocks of types beyond [`Limits::max_unknown_block_types`] distinct ones.
    pub unknown_blocks_other: u64,
    /// `opt_comment` options seen (section, interface and packet comments).
    pub comments: u64,
    /// The first few comments (see [`Limits`]), lossily decoded as UTF-8.
    pub first_comments: Vec<String>,
    /// Frames whose captured length is less than their original length.
    pub frames_cut_by_snaplen: u64,
    /// pcap frames whose captured length exceeds the file's snaplen (tolerated).
    pub caplen_over_snaplen: u64,
    /// Simple Packet Blocks carry no timestamp: they get the previous frame's (or 0).
    pub frames_without_timestamp: u64,
    /// Frames per link type.
    pub link_types_seen: BTreeMap<LinkType, u64>,
    /// Packet blocks skipped because their own fields were wrong while the block framing was
    /// intact (undefined interface, captured length beyond the block); see `problems`.
    pub skipped_packets: u64,
    /// Descriptions of skipped packets and malformed options, with byte offsets.
    pub problems: Vec<String>,
    /// Problems beyond [`Limits::max_problems_kept`].
    pub problems_not_kept: u64,
    /// Set when the input ends inside a record or block (or a gzip stream ends early): what
    /// was cut, and where. The frames before it were delivered.
    pub truncated: Option<String>,
}

/// What a pcapng Interface Description Block calls its interface: `if_name` (option 2) and
/// `if_description` (option 3), UTF-8 (`None` when absent or not valid UTF-8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InterfaceName {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl CaptureStats {
    pub(crate) fn new(gzip: bool) -> CaptureStats {
        CaptureStats {
            format: CaptureFormat::Pcapng,
            gzip,
            frames: 0,
            numbered_non_packets: 0,
            sections: 0,
            interfaces: 0,
            interface_names: Vec::new(),
            unknown_blocks: BTreeMap::new(),
            unknown_blocks_other: 0,
            comments: 0,
            first_comments: Vec::new(),
            frames_cut_by_snaplen: 0,
            caplen_over_snaplen: 0,
            frames_without_timestamp: 0,
            link_types_seen: BTreeMap::new(),
            skipped_packets: 0,
            problems: Vec::new(),
            problems_not_kept: 0,
            truncated: None,
        }
    }

    pub(crate) fn note_comment(&mut self, limits: &Limits, v: &[u8]) {
        self.comments = self.comments.saturating_add(1);
        if self.first_comments.len() < limits.max_comments_kept {
            let kept = v.get(..limits.max_comment_len).unwrap_or(v);
            self.first_comments.push(String::from_utf8_lossy(kept).into_owned());
        }
    }

    /// Wireshark's number of the last frame (delivered or numbered non-packet).
    pub(crate) fn last_number(&self) -> u64 {
        self.frames.saturating_add(self.numbered_non_packets)
    }

    pub(crate) fn note_problem(&mut self, limits: &Limits, at: u64, what: String) {
        if self.problems.len() < limits.max_problems_kept {
            self.problems
                .push(format!("at byte {at} (after frame {}): {what}", self.last_number()));
        } else {
            self.problems_not_kept = self.problems_not_kept.saturating_add(1);
        }
    }
}
