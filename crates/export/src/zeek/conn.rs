//! `conn.log` from a conversation.
//!
//! Zeek's fields and semantics (`Conn::Info`): `ts` is the first packet, `duration`,
//! `orig_bytes` and `resp_bytes` are set only when the duration is above zero, `conn_state`
//! and `history` are the flows engine's own Zeek state and history, `orig_ip_bytes` /
//! `resp_ip_bytes` the IP total lengths. Two differences, documented: `orig_bytes` /
//! `resp_bytes` are the transport payload bytes seen (retransmissions included; Zeek counts
//! sequence space), and `missed_bytes` is left out when the history has a content gap (`G` /
//! `g`), whose size the conversation does not keep (0 otherwise, as Zeek).

use tracehound_flows::{ConnState, Conversation, Proto, TcpFlag};

use super::uid::uid;
use super::Rec;
use crate::Source;

/// Zeek's `conn_state` of a UDP flow (Zeek's `conn_state()` for UDP: who sent anything).
fn udp_state(c: &Conversation) -> &'static str {
    match (c.dirs[0].packets > 0, c.dirs[1].packets > 0) {
        (true, true) => "SF",
        (true, false) => "S0",
        (false, true) => "SHR",
        (false, false) => "OTH",
    }
}

/// The Zeek name of a state.
pub fn state_name(s: ConnState) -> &'static str {
    match s {
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
    }
}

/// The `conn.log` record of `c`; `services` are the protocols recognised on it (Zeek's
/// `service`, comma-separated, left out when none).
pub fn record(c: &Conversation, src: &Source, services: &[&str]) -> Rec {
    let mut r = Rec::new();
    r.num_text("ts", &c.start.epoch_decimal());
    r.str("uid", &uid(&src.capture_file, c.info.id));
    r.id_of(c.info.orig, c.info.resp);
    let (proto, ip_proto) = match c.info.proto {
        Proto::Tcp => ("tcp", 6),
        Proto::Udp => ("udp", 17),
    };
    r.str("proto", proto);
    if !services.is_empty() {
        r.str("service", &services.join(","));
    }
    let duration = c.duration();
    if duration > 0.0 {
        r.real("duration", duration);
        r.count("orig_bytes", c.dirs[0].payload_bytes);
        r.count("resp_bytes", c.dirs[1].payload_bytes);
    }
    let state = match (c.info.proto, c.state) {
        (Proto::Tcp, Some(s)) => state_name(s),
        (Proto::Tcp, None) => "OTH",
        (Proto::Udp, _) => udp_state(c),
    };
    r.str("conn_state", state);
    if !c.history.contains(['G', 'g']) {
        r.count("missed_bytes", 0);
    }
    if !c.history.is_empty() {
        r.str("history", &c.history);
    }
    r.count("orig_pkts", c.dirs[0].packets);
    r.count("orig_ip_bytes", c.dirs[0].bytes);
    r.count("resp_pkts", c.dirs[1].packets);
    r.count("resp_ip_bytes", c.dirs[1].bytes);
    r.count("ip_proto", ip_proto);
    extras(&mut r, c, src);
    r
}

/// tracehound's fields of a connection.
fn extras(r: &mut Rec, c: &Conversation, src: &Source) {
    r.source(src);
    r.count("th_first_frame", c.first_frame);
    r.count("th_last_frame", c.last_frame);
    r.count("th_orig_frame_bytes", c.dirs[0].frame_bytes);
    r.count("th_resp_frame_bytes", c.dirs[1].frame_bytes);
    r.opt_real("th_handshake_rtt", c.handshake_rtt);
    r.count("th_retransmissions", c.flag(TcpFlag::Retransmission));
    r.count("th_out_of_order", c.flag(TcpFlag::OutOfOrder));
    r.count("th_zero_windows", c.flag(TcpFlag::ZeroWindow));
    r.count("th_resets", c.rst_frames.len() as u64);
    r.count("th_icmp_errors", c.icmp_errors.len() as u64);
}
