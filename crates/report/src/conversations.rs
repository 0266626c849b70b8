//! `tracehound conversations`: one JSON object per conversation, or an aligned table.
//!
//! JSON fields (stable): `file`, `proto`, `src`, `sport`, `dst`, `dport` (initiator →
//! responder), `role` (how the initiator was decided: `syn`, `first_packet`,
//! `port_heuristic`), `state` (Zeek-style, TCP only), `history`, `packets`, `bytes`, `start`,
//! `end`, `duration`, `first_frame`, `last_frame`, `orig` / `resp` (per direction: `packets`,
//! `bytes`, `payload_bytes`, `mss`, `wscale`, `sack_permitted`, `sack_used`, `max_segment`),
//! `handshake_rtt`, `syn_to_synack`, `analysis` (TCP: a count per Wireshark flag name),
//! `syn_frames`, `synack_frame`, `rst_frames` (`[frame, "orig"|"resp"]`), `icmp_errors`,
//! `artifacts` (`bad_checksums`, `oversize_segments`, `zero_ip_len`, `duplicate_packets`),
//! `events_dropped`, `idle_before_rst` (seconds of silence before the first RST), `nagle`
//! (`stalls`, `secs`, `max_secs`, `ack_frames`: small segments held back until a delayed ACK),
//! `zero_window` (`orig_periods`, `orig_secs`, `resp_periods`, `resp_secs`: periods each side
//! advertised a zero window).

use serde_json::{json, Map, Value};
use tracehound_flows::{ConnState, Conversation, Dir, DirStats, Proto, RoleSource, TcpFlag};

use crate::style::Tone;
use crate::table::{bytes, secs, Align, Table};

fn dir_json(d: &DirStats) -> Value {
    json!({
        "packets": d.packets,
        "bytes": d.bytes,
        "payload_bytes": d.payload_bytes,
        "mss": d.mss,
        "wscale": d.wscale,
        "sack_permitted": d.sack_permitted,
        "sack_used": d.sack_used,
        "max_segment": d.max_segment,
    })
}

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

/// The stable JSON object of one conversation.
pub fn to_json(c: &Conversation, file: &str) -> Value {
    let tcp = c.info.proto == Proto::Tcp;
    let mut o = Map::new();
    o.insert("file".into(), json!(file));
    o.insert("proto".into(), json!(if tcp { "tcp" } else { "udp" }));
    o.insert("src".into(), json!(c.info.orig.ip().to_string()));
    o.insert("sport".into(), json!(c.info.orig.port()));
    o.insert("dst".into(), json!(c.info.resp.ip().to_string()));
    o.insert("dport".into(), json!(c.info.resp.port()));
    o.insert(
        "role".into(),
        json!(match c.role {
            RoleSource::Syn => "syn",
            RoleSource::FirstPacket => "first_packet",
            RoleSource::PortHeuristic => "port_heuristic",
        }),
    );
    if tcp {
        o.insert("state".into(), json!(state_name(c.state)));
        o.insert("history".into(), json!(c.history));
    }
    o.insert("packets".into(), json!(c.packets()));
    o.insert("bytes".into(), json!(c.bytes()));
    o.insert("start".into(), json!(c.start.as_secs_f64()));
    o.insert("end".into(), json!(c.end.as_secs_f64()));
    o.insert("duration".into(), json!(c.duration()));
    o.insert("first_frame".into(), json!(c.first_frame));
    o.insert("last_frame".into(), json!(c.last_frame));
    o.insert("orig".into(), dir_json(&c.dirs[0]));
    o.insert("resp".into(), dir_json(&c.dirs[1]));
    if tcp {
        o.insert("handshake_rtt".into(), json!(c.handshake_rtt));
        o.insert("syn_to_synack".into(), json!(c.syn_to_synack));
        let mut a = Map::new();
        for f in TcpFlag::ALL {
            a.insert(f.name().into(), json!(c.flag(f)));
        }
        o.insert("analysis".into(), Value::Object(a));
        o.insert("syn_frames".into(), json!(c.syn_frames));
        o.insert("synack_frame".into(), json!(c.synack_frame));
        let rst: Vec<Value> =
            c.rst_frames.iter().map(|(f, d)| json!([f, if *d == Dir::Orig { "orig" } else { "resp" }])).collect();
        o.insert("rst_frames".into(), Value::Array(rst));
        o.insert("events_dropped".into(), json!(c.events_dropped));
        o.insert("idle_before_rst".into(), json!(c.idle_before_rst));
        o.insert("nagle".into(), json!({"stalls": c.nagle.stalls, "secs": c.nagle.secs, "max_secs": c.nagle.max_secs, "ack_frames": c.nagle.ack_frames}));
        o.insert("zero_window".into(), json!({"orig_periods": c.zero_window_periods[0], "orig_secs": c.zero_window_secs[0], "resp_periods": c.zero_window_periods[1], "resp_secs": c.zero_window_secs[1]}));
    }
    o.insert("icmp_errors".into(), json!(c.icmp_errors));
    o.insert(
        "artifacts".into(),
        json!({
            "bad_checksums": c.bad_checksums,
            "oversize_segments": c.oversize_segments,
            "zero_ip_len": c.zero_ip_len,
            "duplicate_packets": c.duplicate_packets,
        }),
    );
    Value::Object(o)
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
        Some(ConnState::S0 | ConnState::REJ | ConnState::RSTOS0 | ConnState::RSTR | ConnState::RSTO) => Tone::Bad,
        Some(ConnState::SF | ConnState::S1) => Tone::Good,
        _ => Tone::Plain,
    }
}

/// The text table.
pub fn table(convs: &[&Conversation]) -> Table {
    let mut t = Table::new(&[
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
    ]);
    for c in convs {
        let tcp = c.info.proto == Proto::Tcp;
        let n = |v: u64| if v == 0 { ("-".to_string(), Tone::Dim) } else { (v.to_string(), Tone::Warn) };
        let mut hist = c.history.clone();
        if !c.icmp_errors.is_empty() {
            hist.push_str(&format!(" icmp×{}", c.icmp_errors.len()));
        }
        t.row(vec![
            (if tcp { "tcp" } else { "udp" }.into(), Tone::Plain),
            (c.info.orig.to_string(), Tone::Plain),
            ("→".into(), Tone::Dim),
            (c.info.resp.to_string(), Tone::Plain),
            (if tcp { state_name(c.state).into() } else { "-".into() }, state_tone(c.state)),
            (c.packets().to_string(), Tone::Plain),
            (bytes(c.bytes()), Tone::Plain),
            (secs(c.duration()), Tone::Plain),
            (c.handshake_rtt.map(secs).unwrap_or_else(|| "-".into()), Tone::Plain),
            if tcp { n(c.flag(TcpFlag::Retransmission)) } else { ("".into(), Tone::Plain) },
            if tcp { n(c.flag(TcpFlag::OutOfOrder)) } else { ("".into(), Tone::Plain) },
            if tcp { n(c.flag(TcpFlag::ZeroWindow)) } else { ("".into(), Tone::Plain) },
            if tcp { n(c.rst_frames.len() as u64) } else { ("".into(), Tone::Plain) },
            (hist, Tone::Dim),
        ]);
    }
    t
}
