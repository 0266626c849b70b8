//! The trace summary: what a Windows capture carried beyond its packets (header facts,
//! interfaces, providers, drops, the processes behind connections), as the stable JSON object
//! `conversations --json` writes after the conversations of an ETL / NetMon input
//! (`{"file": …, "windows_trace": TraceSummary}`) and the text lines it prints after the
//! table. Field names are part of the output contract (documented in
//! `docs/readme-wintrace.md`); a field is added, never renamed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Direction, EtlInfo, InterfaceInfo, ProcessInfo, WinStats};

/// Drops listed in the summary (all are counted in `drops_total`; `analyze` reports them
/// all, grouped, as `windows.packet_dropped`).
pub const SUMMARY_DROPS: usize = 100;

/// The name of an ETW provider this crate reads, from its GUID as [`WinStats::providers`]
/// keys it.
pub fn provider_name(guid: &str) -> Option<&'static str> {
    match guid {
        "4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac" => Some("Microsoft-Windows-PktMon"),
        "2ed6006e-4729-4609-b423-3ee7bcd678ef" => Some("Microsoft-Windows-NDIS-PacketCapture"),
        "7dd42a49-5329-4832-8dfd-43d979153a88" => Some("Microsoft-Windows-Kernel-Network"),
        _ => None,
    }
}

/// The summary of one Windows capture (borrowing the reader's statistics).
#[derive(Clone, Debug, Serialize)]
pub struct TraceSummary<'a> {
    /// `etl`, `netmon 2.3`, …
    pub format: &'a str,
    /// Files read (a `.chn` set has several).
    pub files: u32,
    pub packets: u64,
    /// Records / frames that are not packets (other providers, metadata frames), by kind.
    pub not_packets: &'a BTreeMap<String, u64>,
    /// Damaged frames / records skipped (described in `problems`).
    pub damaged: u64,
    pub problems: &'a [String],
    /// Set when the input ends inside a buffer or frame.
    pub truncated: Option<&'a str>,
    /// Interfaces in the order packets name them (`index` = a conversation's `interface`).
    pub interfaces: Vec<InterfaceJson<'a>>,
    /// ETL only: the logfile header and buffer counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etl: Option<EtlJson<'a>>,
    /// ETL only: events per provider.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ProviderJson<'a>>,
    /// PktMon: further appearances of already delivered packets left out.
    pub duplicate_appearances: u64,
    /// PktMon: packets whose logged payload is shorter than the original.
    pub payload_truncated: u64,
    /// Packets Windows dropped (PktMon drop events): all counted, the first
    /// [`SUMMARY_DROPS`] listed.
    pub drops_total: u64,
    pub drops: Vec<DropJson<'a>>,
    /// The processes the trace names, with the connection each owned where known.
    pub processes: Vec<ProcessJson<'a>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct InterfaceJson<'a> {
    pub index: usize,
    /// e.g. `eth:12`, `wifi:7`, `pktmon:Intel(R) Ethernet (component 1)`, `netmon adapter 0`.
    pub name: &'a str,
    /// e.g. `LWF over IfIndex 5` (empty when there is nothing to add).
    pub description: &'a str,
    /// pcap LINKTYPE_* of its packets.
    pub link: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct EtlJson<'a> {
    /// Windows version of the writer, e.g. `10.0.19041`.
    pub os_version: &'a str,
    pub processors: u32,
    /// `qpc`, `system_time`, `cpu_cycles`, or `type N`.
    pub clock: String,
    /// QPC ticks per second (clock `qpc`).
    pub perf_freq: i64,
    pub cpu_mhz: u32,
    /// Trace start and end from the header, UTC seconds (0 when unset).
    pub start: f64,
    pub end: f64,
    /// First and last provider event, UTC seconds.
    pub first_event: Option<f64>,
    pub last_event: Option<f64>,
    pub buffer_size: u32,
    pub buffers: u64,
    pub compressed_buffers: u64,
    pub buffers_lost: u32,
    pub events_lost: u32,
    /// 0 none, 2 LZNT1, 3 XPRESS, 4 XPRESS_HUFF (the one decoded).
    pub compression_format: u16,
    pub logger_name: &'a str,
    pub log_file_name: &'a str,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProviderJson<'a> {
    pub guid: &'a str,
    /// The provider's name where this reader knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    pub events: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DropJson<'a> {
    /// UTC seconds.
    pub ts: f64,
    pub component: &'a str,
    pub component_id: u16,
    pub reason: u32,
    pub reason_name: &'a str,
    pub location: u32,
    /// `inbound`, `outbound`, `unknown`.
    pub direction: &'static str,
    pub orig_len: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProcessJson<'a> {
    pub pid: u32,
    /// Image name (e.g. `OUTLOOK.EXE`; empty when only the id is known).
    pub name: &'a str,
    pub path: &'a str,
    /// The connection's endpoints (`address:port`), where the trace gives them.
    pub local: Option<String>,
    pub remote: Option<String>,
}

fn secs(ns: i64) -> f64 {
    ns as f64 / 1e9
}

/// `inbound`, `outbound`, `unknown`.
pub fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
        Direction::Unknown => "unknown",
    }
}

fn clock_name(e: &EtlInfo) -> String {
    match e.clock_type {
        1 => "qpc".into(),
        2 => "system_time".into(),
        3 => "cpu_cycles".into(),
        n => format!("type {n}"),
    }
}

impl<'a> TraceSummary<'a> {
    /// The summary of a reader's statistics and processes (complete once the pass ended).
    pub fn new(st: &'a WinStats, processes: &'a [ProcessInfo]) -> TraceSummary<'a> {
        let iface = |(index, i): (usize, &'a InterfaceInfo)| InterfaceJson {
            index,
            name: &i.name,
            description: &i.description,
            link: i.link,
        };
        let etl = st.etl.as_ref().map(|e| EtlJson {
            os_version: &e.os_version,
            processors: e.processors,
            clock: clock_name(e),
            perf_freq: e.perf_freq,
            cpu_mhz: e.cpu_mhz,
            start: secs(e.start_ns),
            end: secs(e.end_ns),
            first_event: st.first_event_ns.map(secs),
            last_event: st.last_event_ns.map(secs),
            buffer_size: e.buffer_size,
            buffers: st.buffers,
            compressed_buffers: st.compressed_buffers,
            buffers_lost: e.buffers_lost,
            events_lost: e.events_lost,
            compression_format: e.compression_format,
            logger_name: &e.logger_name,
            log_file_name: &e.log_file_name,
        });
        let providers = st
            .providers
            .iter()
            .map(|(g, &events)| ProviderJson { guid: g, name: provider_name(g), events })
            .collect();
        let drops = st
            .drops
            .iter()
            .take(SUMMARY_DROPS)
            .map(|d| DropJson {
                ts: secs(d.ts_ns),
                component: &d.component,
                component_id: d.component_id,
                reason: d.reason,
                reason_name: &d.reason_name,
                location: d.location,
                direction: direction_name(d.direction),
                orig_len: d.orig_len,
            })
            .collect();
        let processes = processes
            .iter()
            .map(|p| ProcessJson {
                pid: p.pid,
                name: &p.name,
                path: &p.path,
                local: p.local.map(|a| a.to_string()),
                remote: p.remote.map(|a| a.to_string()),
            })
            .collect();
        TraceSummary {
            format: &st.format,
            files: st.files,
            packets: st.packets,
            not_packets: &st.not_packets,
            damaged: st.skipped_damaged,
            problems: &st.problems,
            truncated: st.truncated.as_deref(),
            interfaces: st.interfaces.iter().enumerate().map(iface).collect(),
            etl,
            providers,
            duplicate_appearances: st.duplicate_appearances,
            payload_truncated: st.payload_truncated,
            drops_total: st.drops_total,
            drops,
            processes,
        }
    }
}
