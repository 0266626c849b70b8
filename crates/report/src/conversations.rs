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

/// One JSON object written by hand: the keys are fixed ASCII names, written as they are;
/// numbers and free text (file, history, process and interface names) go through
/// `serde_json`, so they are formatted and escaped exactly as serde writes them. Millions of
/// conversations per capture: serde's generic path escaped every key and went through its
/// map state for every field.
struct Obj<'a> {
    b: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(b: &'a mut Vec<u8>) -> Obj<'a> {
        b.push(b'{');
        Obj { b, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.b.push(b',');
        }
        self.first = false;
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
    }

    /// Any serializable value (numbers, `Option`s, escaped strings, lists).
    fn val<T: Serialize + ?Sized>(&mut self, k: &str, v: &T) -> serde_json::Result<()> {
        self.key(k);
        serde_json::to_writer(&mut *self.b, v)
    }

    /// Text that needs no escaping (addresses, timestamps): quoted as it is.
    fn plain(&mut self, k: &str, v: impl std::fmt::Display) {
        use std::io::Write;
        self.key(k);
        self.b.push(b'"');
        let _ = write!(self.b, "{v}");
        self.b.push(b'"');
    }

    /// A number written as it formats (exact timestamps).
    fn raw(&mut self, k: &str, v: impl std::fmt::Display) {
        use std::io::Write;
        self.key(k);
        let _ = write!(self.b, "{v}");
    }

    fn obj(
        &mut self,
        k: &str,
        f: impl FnOnce(&mut Obj<'_>) -> serde_json::Result<()>,
    ) -> serde_json::Result<()> {
        self.key(k);
        let mut o = Obj::open(self.b);
        f(&mut o)?;
        o.close();
        Ok(())
    }

    fn close(self) {
        self.b.push(b'}');
    }
}

fn dir_json(o: &mut Obj<'_>, d: &DirStats) -> serde_json::Result<()> {
    o.val("packets", &d.packets)?;
    o.val("bytes", &d.frame_bytes)?; // frame bytes (Wireshark)
    o.val("ip_bytes", &d.bytes)?; // IP bytes (Zeek)
    o.val("payload_bytes", &d.payload_bytes)?;
    o.val("mss", &d.mss)?;
    o.val("wscale", &d.wscale)?;
    o.val("sack_permitted", &d.sack_permitted)?;
    o.val("sack_used", &d.sack_used)?;
    o.val("max_segment", &d.max_segment)
}

/// The TCP analysis flags in the order of their names (the `analysis` object's keys).
fn flags_by_name() -> &'static [TcpFlag; TcpFlag::ALL.len()] {
    static SORTED: OnceLock<[TcpFlag; TcpFlag::ALL.len()]> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut a = TcpFlag::ALL;
        a.sort_by_key(|f| f.name());
        a
    })
}

/// The TCP-only fields, inline in the object (after `resp`).
fn tcp_json(o: &mut Obj<'_>, c: &Conversation) -> serde_json::Result<()> {
    o.val("state", state_name(c.state))?;
    o.val("history", c.history.as_str())?;
    o.val("handshake_rtt", &c.handshake_rtt)?;
    o.val("syn_to_synack", &c.syn_to_synack)?;
    o.obj("analysis", |a| {
        for f in flags_by_name() {
            a.val(f.name(), &c.flag(*f))?;
        }
        Ok(())
    })?;
    o.val("syn_frames", &c.syn_frames)?;
    o.val("synack_frame", &c.synack_frame)?;
    // `[frame, "orig"|"resp"]` per reset
    o.key("rst_frames");
    o.b.push(b'[');
    for (i, (f, d)) in c.rst_frames.iter().enumerate() {
        if i > 0 {
            o.b.push(b',');
        }
        o.b.push(b'[');
        serde_json::to_writer(&mut *o.b, f)?;
        o.b.extend_from_slice(if *d == Dir::Orig { b",\"orig\"]" } else { b",\"resp\"]" });
    }
    o.b.push(b']');
    o.val("events_dropped", &c.events_dropped)?;
    o.val("idle_before_rst", &c.idle_before_rst)?;
    o.obj("nagle", |n| {
        n.val("stalls", &c.nagle.stalls)?;
        n.val("secs", &c.nagle.secs)?;
        n.val("max_secs", &c.nagle.max_secs)?;
        n.val("ack_frames", &c.nagle.ack_frames)
    })?;
    o.obj("zero_window", |z| {
        z.val("orig_periods", &c.zero_window_periods[0])?;
        z.val("orig_secs", &c.zero_window_secs[0])?;
        z.val("resp_periods", &c.zero_window_periods[1])?;
        z.val("resp_secs", &c.zero_window_secs[1])
    })
}

/// The JSON object of one conversation, appended to `b` (the field list is in the module
/// docs; the order is fixed).
fn conv_json(
    b: &mut Vec<u8>,
    c: &Conversation,
    file: &str,
    process: Option<ProcessRef<'_>>,
    interface: Option<&str>,
) -> serde_json::Result<()> {
    let tcp = c.info.proto == Proto::Tcp;
    let mut o = Obj::open(b);
    o.val("file", file)?;
    o.val("proto", if tcp { "tcp" } else { "udp" })?;
    o.plain("src", c.info.orig.ip());
    o.val("sport", &c.info.orig.port())?;
    o.plain("dst", c.info.resp.ip());
    o.val("dport", &c.info.resp.port())?;
    let role = match c.role {
        RoleSource::Syn => "syn",
        RoleSource::FirstPacket => "first_packet",
        RoleSource::PortHeuristic => "port_heuristic",
    };
    o.val("role", role)?;
    o.val("packets", &c.packets())?;
    o.val("bytes", &c.frame_bytes())?;
    o.val("ip_bytes", &c.bytes())?;
    o.raw("start", c.start.epoch());
    o.raw("end", c.end.epoch());
    o.plain("start_time", c.start);
    o.plain("end_time", c.end);
    o.val("duration", &c.duration())?;
    o.val("first_frame", &c.first_frame)?;
    o.val("last_frame", &c.last_frame)?;
    o.obj("orig", |d| dir_json(d, &c.dirs[0]))?;
    o.obj("resp", |d| dir_json(d, &c.dirs[1]))?;
    if tcp {
        tcp_json(&mut o, c)?;
    }
    o.val("icmp_errors", &c.icmp_errors)?;
    o.obj("artifacts", |a| {
        a.val("bad_checksums", &c.bad_checksums)?;
        a.val("oversize_segments", &c.oversize_segments)?;
        a.val("zero_ip_len", &c.zero_ip_len)?;
        a.val("duplicate_packets", &c.duplicate_packets)
    })?;
    if let Some(p) = process {
        if !p.name.is_empty() {
            o.val("process", p.name)?;
        }
        o.val("pid", &p.pid)?;
    }
    if let Some(i) = interface {
        o.val("interface", i)?;
    }
    o.close();
    Ok(())
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
    // Built in a buffer first: many small pieces are cheap to append to a `Vec` and costly
    // through `dyn Write` (millions of conversations).
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUF.with_borrow_mut(|buf| {
        buf.clear();
        conv_json(buf, c, file, process, interface).map_err(std::io::Error::from)?;
        w.write_all(buf)
    })
}

/// The stable JSON object of one conversation, as a value (tests, other reports).
pub fn to_json(c: &Conversation, file: &str) -> Value {
    let mut b = Vec::new();
    match conv_json(&mut b, c, file, None, None) {
        Ok(()) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
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
