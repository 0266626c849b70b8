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
//! events) add `process` (the image name) and `pid` where known (absent otherwise). Inputs
//! with more than one capture interface (ETL adapters / PktMon components, pcapng IDBs) add
//! `interface` (its name as the file gives it, else `if<N>`).

use std::sync::OnceLock;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
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

/// TCP-only fields, written inline in the object (after `resp`).
struct TcpJson<'a> {
    state: &'static str,
    history: &'a str,
    handshake_rtt: Option<f64>,
    syn_to_synack: Option<f64>,
    analysis: Analysis<'a>,
    syn_frames: &'a [u64],
    synack_frame: Option<u64>,
    rst_frames: RstFrames<'a>,
    events_dropped: u64,
    idle_before_rst: Option<f64>,
    nagle: NagleJson<'a>,
    zero_window: ZeroWindowJson,
}

/// The TCP analysis counts, keys in alphabetical order.
struct Analysis<'a>(&'a Conversation);

impl Serialize for Analysis<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        static SORTED: OnceLock<[TcpFlag; TcpFlag::ALL.len()]> = OnceLock::new();
        let sorted = SORTED.get_or_init(|| {
            let mut a = TcpFlag::ALL;
            a.sort_by_key(|f| f.name());
            a
        });
        let mut m = s.serialize_map(Some(sorted.len()))?;
        for f in sorted {
            m.serialize_entry(f.name(), &self.0.flag(*f))?;
        }
        m.end()
    }
}

/// `[frame, "orig"|"resp"]` per reset.
struct RstFrames<'a>(&'a [(u64, Dir)]);

impl Serialize for RstFrames<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.0.iter().map(|(f, d)| (*f, if *d == Dir::Orig { "orig" } else { "resp" })),
        )
    }
}

/// A timestamp as ISO 8601 text, written without an intermediate `String`.
struct Iso(tracehound_flows::Timestamp);

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// The JSON object of one conversation. Serialized by hand (not derived) so that the TCP
/// fields sit inline without `#[serde(flatten)]`, which would make serde write the object as
/// a map, field by field through a slower path: `conversations --json` writes one of these
/// per conversation, millions per capture.
struct ConvJson<'a> {
    c: &'a Conversation,
    file: &'a str,
    tcp: Option<TcpJson<'a>>,
    process: Option<ProcessRef<'a>>,
    /// The capture interface (inputs with more than one).
    interface: Option<&'a str>,
}

impl Serialize for ConvJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.c;
        let mut m = s.serialize_struct("Conversation", 40)?;
        m.serialize_field("file", self.file)?;
        m.serialize_field("proto", if self.tcp.is_some() { "tcp" } else { "udp" })?;
        m.serialize_field("src", &c.info.orig.ip())?;
        m.serialize_field("sport", &c.info.orig.port())?;
        m.serialize_field("dst", &c.info.resp.ip())?;
        m.serialize_field("dport", &c.info.resp.port())?;
        m.serialize_field(
            "role",
            match c.role {
                RoleSource::Syn => "syn",
                RoleSource::FirstPacket => "first_packet",
                RoleSource::PortHeuristic => "port_heuristic",
            },
        )?;
        m.serialize_field("packets", &c.packets())?;
        m.serialize_field("bytes", &c.frame_bytes())?;
        m.serialize_field("ip_bytes", &c.bytes())?;
        m.serialize_field("start", &c.start)?;
        m.serialize_field("end", &c.end)?;
        m.serialize_field("start_time", &Iso(c.start))?;
        m.serialize_field("end_time", &Iso(c.end))?;
        m.serialize_field("duration", &c.duration())?;
        m.serialize_field("first_frame", &c.first_frame)?;
        m.serialize_field("last_frame", &c.last_frame)?;
        m.serialize_field("orig", &DirJson::from(&c.dirs[0]))?;
        m.serialize_field("resp", &DirJson::from(&c.dirs[1]))?;
        if let Some(t) = &self.tcp {
            m.serialize_field("state", t.state)?;
            m.serialize_field("history", t.history)?;
            m.serialize_field("handshake_rtt", &t.handshake_rtt)?;
            m.serialize_field("syn_to_synack", &t.syn_to_synack)?;
            m.serialize_field("analysis", &t.analysis)?;
            m.serialize_field("syn_frames", t.syn_frames)?;
            m.serialize_field("synack_frame", &t.synack_frame)?;
            m.serialize_field("rst_frames", &t.rst_frames)?;
            m.serialize_field("events_dropped", &t.events_dropped)?;
            m.serialize_field("idle_before_rst", &t.idle_before_rst)?;
            m.serialize_field("nagle", &t.nagle)?;
            m.serialize_field("zero_window", &t.zero_window)?;
        }
        m.serialize_field("icmp_errors", &c.icmp_errors)?;
        m.serialize_field(
            "artifacts",
            &ArtifactsJson {
                bad_checksums: c.bad_checksums,
                oversize_segments: c.oversize_segments,
                zero_ip_len: c.zero_ip_len,
                duplicate_packets: c.duplicate_packets,
            },
        )?;
        if let Some(p) = self.process {
            if !p.name.is_empty() {
                m.serialize_field("process", p.name)?;
            }
            m.serialize_field("pid", &p.pid)?;
        }
        if let Some(i) = self.interface {
            m.serialize_field("interface", i)?;
        }
        m.end()
    }
}

fn conv_json<'a>(
    c: &'a Conversation,
    file: &'a str,
    process: Option<ProcessRef<'a>>,
) -> ConvJson<'a> {
    let tcp = (c.info.proto == Proto::Tcp).then(|| TcpJson {
        state: state_name(c.state),
        history: &c.history,
        handshake_rtt: c.handshake_rtt,
        syn_to_synack: c.syn_to_synack,
        analysis: Analysis(c),
        syn_frames: &c.syn_frames,
        synack_frame: c.synack_frame,
        rst_frames: RstFrames(&c.rst_frames),
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
    });
    ConvJson { c, file, tcp, process, interface: None }
}

/// Write the stable JSON object of one conversation (one line, no newline).
pub fn write_json(w: &mut dyn std::io::Write, c: &Conversation, file: &str) -> std::io::Result<()> {
    write_json_with(w, c, file, None)
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

/// [`write_json`] with the conversation's process (`process`, `pid`), when known.
pub fn write_json_with(
    w: &mut dyn std::io::Write,
    c: &Conversation,
    file: &str,
    process: Option<ProcessRef<'_>>,
) -> std::io::Result<()> {
    write_json_full(w, c, file, process, None)
}

/// [`write_json_with`] plus `interface` (the capture interface's name, for inputs with more
/// than one interface).
pub fn write_json_full(
    w: &mut dyn std::io::Write,
    c: &Conversation,
    file: &str,
    process: Option<ProcessRef<'_>>,
    interface: Option<&str>,
) -> std::io::Result<()> {
    // Serialized into a buffer first: serde writes many small pieces, which are cheap to
    // append to a `Vec` and costly through `dyn Write` (millions of conversations).
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        let j = ConvJson { interface, ..conv_json(c, file, process) };
        serde_json::to_writer(&mut *buf, &j).map_err(std::io::Error::from)?;
        w.write_all(buf)
    })
}

/// The stable JSON object of one conversation, as a value (tests, other reports).
pub fn to_json(c: &Conversation, file: &str) -> Value {
    serde_json::to_value(conv_json(c, file, None)).unwrap_or(Value::Null)
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
    table_full(convs, processes, &[])
}

/// [`table_with`] plus an INTERFACE column (`interfaces[i]` for `convs[i]`), shown only when
/// some conversation has one (inputs with more than one interface).
pub fn table_full(
    convs: &[&Conversation],
    processes: &[Option<ProcessRef<'_>>],
    interfaces: &[Option<&str>],
) -> Table {
    let with_proc = processes.iter().any(Option::is_some);
    let with_iface = interfaces.iter().any(Option::is_some);
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
    if with_iface {
        cols.push(("INTERFACE", Align::Left));
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
        if with_iface {
            let i = interfaces.get(i).copied().flatten().unwrap_or("-");
            row.push((i.to_string(), Tone::Plain));
        }
        t.row(row);
    }
    t
}
