//! Windows capture formats read natively, on any OS: Network Monitor 2.x `.cap` files (and
//! `.chn` sets of them) and Event Trace Log `.etl` files written by `netsh trace` and
//! `pktmon` — in one streaming pass each, delivering packets as a pcap reader would, plus
//! what they carry that pcap does not: which process, which interface, which direction, and
//! which Windows component dropped a packet and why.
//!
//! * [`netmon`]: the GMBU header, the frame table (absolute offsets, holes allowed), frame
//!   trailers of versions 2.0–2.3, media types and the NetMon 3.4 process table.
//! * [`etl`]: WMI buffers (plain and LZXpress-Huffman compressed, see [`lzxpress`]), the
//!   logfile header, every trace-record header kind, timestamps to UTC, and the packet
//!   events of Microsoft-Windows-NDIS-PacketCapture and Microsoft-Windows-PktMon.
//! * [`pcapng_out`]: a small pcapng writer (`tracehound convert`).
//! * [`summary`]: the trace summary (header facts, interfaces, providers, drops, processes)
//!   as stable JSON.
//!
//! [`WinReader`] is the single entry point: [`sniff`] tells whether bytes start one of these
//! formats, [`WinReader::open`] / [`WinReader::from_input`] read them. Every length, offset
//! and count read from the input is checked; a damaged frame or record is skipped and
//! described in [`WinStats::problems`] with its byte position, and the rest is read.

pub mod endpoints;
pub mod etl;
pub mod lzxpress;
pub mod netmon;
pub mod pcapng_out;
pub mod summary;

mod error;
mod le;
mod reader;
mod time;

use std::collections::BTreeMap;
use std::net::SocketAddr;

pub use error::{WinError, WinErrorKind};
pub use le::Guid;
pub use reader::{chain_paths, WinInput, WinReader};
pub use summary::{provider_name, TraceSummary};
pub use time::{filetime_to_unix_ns, unix_ns_to_filetime};

/// Which Windows format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Netmon,
    Etl,
}

/// Bytes [`sniff`] wants to see (fewer are fine for NetMon).
pub const SNIFF_LEN: usize = 0x50;

/// Whether `b` (the first bytes of an input) starts a NetMon 2.x file (`GMBU`) or an ETL
/// file (a first WMI buffer of type "header" whose first record is a system trace header of
/// the event-trace group).
pub fn sniff(b: &[u8]) -> Option<Format> {
    if b.get(..4) == Some(&netmon::MAGIC[..]) || b.get(..4) == Some(&netmon::MAGIC_1X[..]) {
        return Some(Format::Netmon);
    }
    if etl::looks_like_etl(b) {
        return Some(Format::Etl);
    }
    None
}

/// Caps on everything that grows from the input.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest packet delivered; a larger frame or event is skipped and reported.
    pub max_packet_len: u32,
    /// Largest NetMon input read into memory from a stream (files are mapped instead).
    pub max_stream_len: u64,
    /// Largest ETL buffer accepted (its declared size, compressed or not).
    pub max_buffer_len: u32,
    /// Process entries kept (NetMon process table, ETL connection events).
    pub max_processes: usize,
    /// Problem descriptions kept (all are counted).
    pub max_problems_kept: usize,
    /// Packet drops kept in [`WinStats::drops`] (all are counted).
    pub max_drops_kept: usize,
    /// Distinct providers, interfaces and components kept.
    pub max_keys: usize,
    /// PktMon: packets waiting for their last appearance before being delivered.
    pub max_pending: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_packet_len: 256 * 1024,
            max_stream_len: 2 << 30,
            max_buffer_len: 64 << 20,
            max_processes: 65_536,
            max_problems_kept: 32,
            max_drops_kept: 10_000,
            max_keys: 4096,
            max_pending: 4096,
        }
    }
}

/// Which way a packet went, where the trace says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Unknown,
    Inbound,
    Outbound,
}

/// One packet, borrowed from the reader until the next call.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Nanoseconds since the Unix epoch (UTC).
    pub ts_ns: i64,
    /// pcap LINKTYPE_* value.
    pub link: u32,
    pub data: &'a [u8],
    pub orig_len: u32,
    /// Index into [`WinStats::interfaces`] (0 when the format has no interfaces).
    pub interface: u32,
    pub direction: Direction,
    /// Process id, where the trace ties the packet to one (never the ETW header's PID of a
    /// packet event: that is whichever thread the interrupt landed on).
    pub pid: Option<u32>,
    /// Index into [`WinReader::processes`].
    pub process: Option<u32>,
    /// Byte offset of the frame record (NetMon) or event record's buffer (ETL).
    pub offset: u64,
}

/// A process and, where known, the connection it owned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// Image path as recorded (may be empty).
    pub path: String,
    /// The file name of `path` (e.g. `OUTLOOK.EXE`).
    pub name: String,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
}

impl ProcessInfo {
    pub fn new(
        pid: u32,
        path: String,
        local: Option<SocketAddr>,
        remote: Option<SocketAddr>,
    ) -> ProcessInfo {
        let name = path.rsplit(['\\', '/']).next().unwrap_or("").to_string();
        ProcessInfo { pid, path, name, local, remote }
    }

    /// This entry's connection is the one between `a` and `b` (either way round). An entry
    /// whose remote address is unspecified matches on its local endpoint alone.
    pub fn matches(&self, a: SocketAddr, b: SocketAddr) -> bool {
        let Some(l) = self.local else { return false };
        match self.remote {
            Some(r) if !r.ip().is_unspecified() => (l == a && r == b) || (l == b && r == a),
            _ => l == a || l == b,
        }
    }
}

/// An interface packets were captured on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceInfo {
    /// pcap link type of its packets.
    pub link: u32,
    /// e.g. `eth:12`, `wifi:7`, `vNIC:...`, `pktmon:component 78`.
    pub name: String,
    /// e.g. `LWF over IfIndex 5`.
    pub description: String,
}

/// A packet a Windows component dropped (PktMon drop event).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PacketDrop {
    pub ts_ns: i64,
    /// The component's name from the trace's component metadata, or `component N`.
    pub component: String,
    pub component_id: u16,
    pub reason: u32,
    /// The reason's name where known (e.g. `INET discard`), else the number.
    pub reason_name: String,
    pub location: u32,
    pub direction: Direction,
    /// Up to 128 bytes of the dropped packet (its link layer per `link`).
    pub link: u32,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

/// Header facts of an ETL file (capinfo-style).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EtlInfo {
    /// Windows version of the writer, e.g. `10.0.19041`.
    pub os_version: String,
    pub processors: u32,
    /// 1 = QPC, 2 = system time, 3 = CPU cycle counter.
    pub clock_type: u32,
    pub perf_freq: i64,
    pub cpu_mhz: u32,
    pub start_ns: i64,
    pub end_ns: i64,
    pub boot_ns: i64,
    /// Minutes to add to local time to get UTC (Windows' `Bias`).
    pub tz_bias_minutes: i32,
    pub buffer_size: u32,
    pub buffers_written: u32,
    pub buffers_lost: u32,
    pub events_lost: u32,
    pub log_file_mode: u32,
    /// 0 = none, 2 = LZNT1, 3 = XPRESS, 4 = XPRESS_HUFF.
    pub compression_format: u16,
    pub logger_name: String,
    pub log_file_name: String,
}

/// What the reader saw (complete once it returned `Ok(None)`).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WinStats {
    /// e.g. `netmon 2.3`, `etl`.
    pub format: String,
    /// Files read (several for a `.chn` set).
    pub files: u32,
    pub packets: u64,
    /// Frames / events that are not packets, by kind (ETW event frames, metadata, other
    /// providers' events...).
    pub not_packets: BTreeMap<String, u64>,
    /// Frames / events skipped because they were damaged (see `problems`).
    pub skipped_damaged: u64,
    pub problems: Vec<String>,
    pub problems_not_kept: u64,
    /// Set when the input ends inside a buffer or record.
    pub truncated: Option<String>,
    pub interfaces: Vec<InterfaceInfo>,
    pub etl: Option<EtlInfo>,
    /// ETL: buffers read, and how many of them were compressed.
    pub buffers: u64,
    pub compressed_buffers: u64,
    /// ETL: events per provider GUID.
    pub providers: BTreeMap<String, u64>,
    /// ETL: earliest and latest timestamp of the provider events (UTC nanoseconds).
    pub first_event_ns: Option<i64>,
    pub last_event_ns: Option<i64>,
    /// ETL: event records of each header kind (`system64`, `event_header64`, ...).
    pub record_kinds: BTreeMap<String, u64>,
    /// PktMon: appearances of a packet not delivered because another appearance of the same
    /// packet was (`--all-appearances` delivers them all).
    pub duplicate_appearances: u64,
    /// PktMon: packets whose logged payload is shorter than the original.
    pub payload_truncated: u64,
    pub drops: Vec<PacketDrop>,
    pub drops_total: u64,
}

impl WinStats {
    pub(crate) fn note_problem(&mut self, limits: &Limits, what: String) {
        if self.problems.len() < limits.max_problems_kept {
            self.problems.push(what);
        } else {
            self.problems_not_kept = self.problems_not_kept.saturating_add(1);
        }
    }

    pub(crate) fn count_not_packet(&mut self, kind: &str) {
        if let Some(c) = self.not_packets.get_mut(kind) {
            *c = c.saturating_add(1);
        } else if self.not_packets.len() < 256 {
            self.not_packets.insert(kind.to_string(), 1);
        } else {
            let c = self.not_packets.entry("other".into()).or_insert(0);
            *c = c.saturating_add(1);
        }
    }
}

/// Where a reader's next packet is, and its metadata: owned, so that a reader can be
/// advanced (and a `.chn` set moved on) before the packet's bytes are borrowed.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Loc {
    pub ts_ns: i64,
    pub link: u32,
    /// Index of the data in the reader's own bytes (see each reader's `data`).
    pub start: usize,
    pub len: usize,
    pub orig_len: u32,
    pub interface: u32,
    pub direction: Direction,
    pub pid: Option<u32>,
    pub process: Option<u32>,
    pub offset: u64,
}
