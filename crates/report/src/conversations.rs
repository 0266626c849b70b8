//! `tracehound conversations`: one JSON object per conversation, or an aligned table.
//!
//! JSON fields (stable): `file`, `proto`, `src`, `sport`, `dst`, `dport` (initiator →
//! responder), `role` (how the initiator was decided: `syn`, `first_packet`,
//! `port_heuristic`), `state` (Zeek-style, TCP only), `history`, `packets`, `bytes` (frame bytes, link
//! header included, as Wireshark's conversation table counts them), `ip_bytes` (IP bytes, as
//! Zeek's `orig_ip_bytes` / `resp_ip_bytes` count them), `start`, `end` (exact seconds since the epoch: the
//! capture's own digits), `start_time`, `end_time` (ISO 8601 UTC), `duration`, `first_frame`, `last_frame`, `orig` / `resp` (per direction: `packets`,
//! `bytes`, `ip_bytes`, `payload_bytes`, `mss`, `wscale`, `sack_permitted`, `sack_used`, `max_segment`),
//! `handshake_rtt`, `syn_to_synack`, `analysis` (TCP: a count per Wireshark flag name),
//! `syn_frames`, `synack_frame`, `rst_frames` (`[frame, "orig"|"resp"]`), `icmp_errors`,
//! `artifacts` (`bad_checksums`, `oversize_segments`, `zero_ip_len`, `duplicate_packets`),
//! `events_dropped`, `idle_before_rst` (seconds of silence before the first RST), `nagle`
//! (`stalls`, `secs`, `max_secs`, `ack_frames`: small segments held back until a delayed ACK),
//! `zero_window` (`orig_periods`, `orig_secs`, `resp_periods`, `resp_secs`: periods each side
//! advertised a zero window). Windows traces (NetMon process tables, ETL Kernel-Network
//! events) add `process` (the image name) and `pid` where known (absent otherwise).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;
use serde_json::Value;
use tracehound_flows::{ConnState, Conversation, Dir, DirStats, Proto, RoleSource, TcpFlag};

use crate::style::Tone;
use crate::table::{bytes, secs, Align, Table};

pub fn state_name(s: Option<ConnState>) -> &'static str {
    match s {
        None => "-",
        Some(s) => match s {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        },
    }
}

#[derive(Serialize)]
struct DirJson {
    packets: u64,
    /// Frame bytes (Wireshark).
    bytes: u64,
    /// IP bytes (Zeek).
    ip_bytes: u64,
    payload_bytes: u64,
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_permitted: bool,
    sack_used: bool,
    max_segment: u32,
}

impl From<&DirStats> for DirJson {
    fn from(d: &DirStats) -> DirJson {
        DirJson {
            packets: d.packets,
            bytes: d.frame_bytes,
            ip_bytes: d.bytes,
            payload_bytes: d.payload_bytes,
            mss: d.mss,
            wscale: d.wscale,
            sack_permitted: d.sack_permitted,
            sack_used: d.sack_used,
            max_segment: d.max_segment,
        }
    }
}

#[derive(Serialize)]
struct NagleJson<'a> {
    stalls: u64,
    secs: f64,
    max_secs: f64,
    ack_frames: &'a [u64],
}

#[derive(Serialize)]
struct ZeroWindowJson {
    orig_periods: u32,
    orig_secs: f64,
    resp_periods: u32,
    resp_secs: f64,
}

#[derive(Serialize)]
struct ArtifactsJson {
    bad_checksums: u64,
    oversize_segments: u64,
    zero_ip_len: u64,
    duplicate_packets: u64,
}

/// TCP-only fields, flattened into the object.
#[derive(Serialize)]
struct TcpJson<'a> {
    state: &'static str,
    history: &'a str,
    handshake_rtt: Option<f64>,
    syn_to_synack: Option<f64>,
    analysis: BTreeMap<&'static str, u64>,
    syn_frames: &'a [u64],
    synack_frame: Option<u64>,
    rst_frames: Vec<(u64, &'static str)>,
    events_dropped: u64,
    idle_before_rst: Option<f64>,
    nagle: NagleJson<'a>,
    zero_window: ZeroWindowJson,
}

#[derive(Serialize)]
struct ConvJson<'a> {
    file: &'a str,
    proto: &'static str,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    role: &'static str,
    packets: u64,
    bytes: u64,
    ip_bytes: u64,
    start: tracehound_flows::Timestamp,
    end: tracehound_flows::Timestamp,
    start_time: String,
    end_time: String,
    duration: f64,
    first_frame: u64,
    last_frame: u64,
    orig: DirJson,
    resp: DirJson,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    tcp: Option<TcpJson<'a>>,
    icmp_errors: &'a [tracehound_flows::IcmpError],
    artifacts: ArtifactsJson,
}

fn conv_json<'a>(c: &'a Conversation, file: &'a str) -> ConvJson<'a> {
    let tcp = c.info.proto == Proto::Tcp;
    ConvJson {
        file,
        proto: if tcp { "tcp" } else { "udp" },
        src: c.info.orig.ip(),
        sport: c.info.orig.port(),
        dst: c.info.resp.ip(),
        dport: c.info.resp.port(),
        role: match c.role {
            RoleSource::Syn => "syn",
            RoleSource::FirstPacket => "first_packet",
            RoleSource::PortHeuristic => "port_heuristic",
        },
        packets: c.packets(),
        bytes: c.frame_bytes(),
        ip_bytes: c.bytes(),
        start: c.start,
        end: c.end,
        start_time: c.start.iso(),
        end_time: c.end.iso(),
        duration: c.duration(),
        first_frame: c.first_frame,
        last_frame: c.last_frame,
        orig: (&c.dirs[0]).into(),
        resp: (&c.dirs[1]).into(),
        tcp: tcp.then(|| TcpJson {
            state: state_name(c.state),
            history: &c.history,
            handshake_rtt: c.handshake_rtt,
            syn_to_synack: c.syn_to_synack,
            analysis: TcpFlag::ALL.iter().map(|f| (f.name(), c.flag(*f))).collect(),
            syn_frames: &c.syn_frames,
            synack_frame: c.synack_frame,
            rst_frames: c
                .rst_frames
                .iter()
                .map(|(f, d)| (*f, if *d == Dir::Orig { "orig" } else { "resp" }))
                .collect(),
            events_dropped: c.events_dropped,
            idle_before_rst: c.idle_before_rst,
            nagle: NagleJson {
                stalls: c.nagle.stalls,
                secs: c.nagle.secs,
                max_secs: c.nagle.max_secs,
                ack_frames: &c.nagle.ack_frames,
            },
            zero_window: ZeroWindowJson {
                orig_periods: c.zero_window_periods[0],
                orig_secs: c.zero_window_secs[0],
                resp_periods: c.zero_window_periods[1],
                resp_secs: c.zero_window_secs[1],
            },
        }),
        icmp_errors: &c.icmp_errors,
        artifacts: ArtifactsJson {
            bad_checksums: c.bad_checksums,
            oversize_segments: c.oversize_segments,
            zero_ip_len: c.zero_ip_len,
            duplicate_packets: c.duplicate_packets,
        },
    }
}

/// Write the stable JSON object of one conversation (one line, no newline).
pub fn write_json(w: &mut dyn std::io::Write, c: &Conversation, file: &str) -> std::io::Result<()> {
    serde_json::to_writer(w, &conv_json(c, file)).map_err(std::io::Error::from)
}

/// The process behind a conversation (Windows traces that record it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessRef<'a> {
    /// Image name (e.g. `OUTLOOK.EXE`); empty when only the id is known.
    pub name: &'a str,
    pub pid: u32,
}

impl std::fmt::Display for ProcessRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name.is_empty() {
            write!(f, "pid {}", self.pid)
        } else {
            write!(f, "{} ({})", self.name, self.pid)
        }
    }
}

#[derive(Serialize)]
struct WithProcess<'a> {
    #[serde(flatten)]
    conv: ConvJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
}

/// [`write_json`] with the conversation's process (`process`, `pid`), when known.
pub fn write_json_with(
    w: &mut dyn std::io::Write,
    c: &Conversation,
    file: &str,
    process: Option<ProcessRef<'_>>,
) -> std::io::Result<()> {
    let Some(p) = process else { return write_json(w, c, file) };
    let v = WithProcess {
        conv: conv_json(c, file),
        process: Some(p.name).filter(|n| !n.is_empty()),
        pid: Some(p.pid),
    };
    serde_json::to_writer(w, &v).map_err(std::io::Error::from)
}

/// The stable JSON object of one conversation, as a value (tests, other reports).
pub fn to_json(c: &Conversation, file: &str) -> Value {
    serde_json::to_value(conv_json(c, file)).unwrap_or(Value::Null)
}

/// A number that says how troubled a conversation looks (for `--sort problems`).
pub fn problem_score(c: &Conversation) -> u64 {
    let mut s = c.flag(TcpFlag::Retransmission) * 4
        + c.flag(TcpFlag::OutOfOrder) * 2
        + c.flag(TcpFlag::ZeroWindow) * 3
        + c.flag(TcpFlag::LostSegment) * 2
        + c.flag(TcpFlag::DuplicateAck)
        + c.rst_frames.len() as u64 * 5
        + c.icmp_errors.len() as u64 * 10;
    s += match c.state {
        Some(ConnState::S0) | Some(ConnState::REJ) | Some(ConnState::RSTOS0) => 50,
        Some(ConnState::RSTO) | Some(ConnState::RSTR) => 10,
        _ => 0,
    };
    s
}

fn state_tone(s: Option<ConnState>) -> Tone {
    match s {
        Some(
            ConnState::S0 | ConnState::REJ | ConnState::RSTOS0 | ConnState::RSTR | ConnState::RSTO,
        ) => Tone::Bad,
        Some(ConnState::SF | ConnState::S1) => Tone::Good,
        _ => Tone::Plain,
    }
}

/// The text table.
pub fn table(convs: &[&Conversation]) -> Table {
    table_with(convs, &[])
}

/// The text table with a PROCESS column (`processes[i]` for `convs[i]`), shown only when
/// some conversation has a process.
pub fn table_with(convs: &[&Conversation], processes: &[Option<ProcessRef<'_>>]) -> Table {
    let with_proc = processes.iter().any(Option::is_some);
    let mut cols = vec![
        ("PROTO", Align::Left),
        ("INITIATOR", Align::Right),
        ("", Align::Left),
        ("RESPONDER", Align::Left),
        ("STATE", Align::Left),
        ("PKTS", Align::Right),
        ("BYTES", Align::Right),
        ("DURATION", Align::Right),
        ("RTT", Align::Right),
        ("RETX", Align::Right),
        ("OOO", Align::Right),
        ("ZWIN", Align::Right),
        ("RST", Align::Right),
        ("HISTORY", Align::Left),
    ];
    if with_proc {
        cols.push(("PROCESS", Align::Left));
    }
    let mut t = Table::new(&cols);
    for (i, c) in convs.iter().enumerate() {
        let tcp = c.info.proto == Proto::Tcp;
        let n = |v: u64| {
            if v == 0 {
                ("-".to_string(), Tone::Dim)
            } else {
                (v.to_string(), Tone::Warn)
            }
        };
        let mut hist = c.history.clone();
        if !c.icmp_errors.is_empty() {
            hist.push_str(&format!(" icmp×{}", c.icmp_errors.len()));
        }
        let mut row = vec![
            (if tcp { "tcp" } else { "udp" }.into(), Tone::Plain),
            (c.info.orig.to_string(), Tone::Plain),
            ("→".into(), Tone::Dim),
            (c.info.resp.to_string(), Tone::Plain),
            (if tcp { state_name(c.state).into() } else { "-".into() }, state_tone(c.state)),
            (c.packets().to_string(), Tone::Plain),
            (bytes(c.frame_bytes()), Tone::Plain),
            (secs(c.duration()), Tone::Plain),
            (c.handshake_rtt.map(secs).unwrap_or_else(|| "-".into()), Tone::Plain),
            if tcp { n(c.flag(TcpFlag::Retransmission)) } else { ("".into(), Tone::Plain) },
            if tcp { n(c.flag(TcpFlag::OutOfOrder)) } else { ("".into(), Tone::Plain) },
            if tcp { n(c.flag(TcpFlag::ZeroWindow)) } else { ("".into(), Tone::Plain) },
            if tcp { n(c.rst_frames.len() as u64) } else { ("".into(), Tone::Plain) },
            (hist, Tone::Dim),
        ];
        if with_proc {
            let p = processes.get(i).copied().flatten();
            row.push((p.map(|p| p.to_string()).unwrap_or_else(|| "-".into()), Tone::Plain));
        }
        t.row(row);
    }
    t
}
