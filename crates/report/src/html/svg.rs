//! Small helpers shared by the pictures: number formatting for SVG attributes, axis ticks,
//! packet descriptions (flags, PDU type, operation) and the figure wrapper with its caption.
//!
//! Every picture is plain SVG made here, styled by classes from the page's stylesheet (light
//! and dark), with text as `<text>` elements so it can be selected and searched.

use std::collections::HashMap;

use maud::{html, Markup};
use tracehound_apps::dns::DnsQuery;
use tracehound_rpc::calls::Outcome;
use tracehound_rpc::Call;

use super::packets::{Kind, Pkt};
use crate::table::secs;

/// An SVG coordinate with one decimal (short, deterministic output).
pub fn n(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{v:.1}");
    match s.strip_suffix(".0") {
        Some(i) if i != "-0" => i.to_string(),
        Some(_) => "0".into(),
        None => s,
    }
}

/// Round tick values covering `0..=max` (about `count` of them).
pub fn ticks(max: f64, count: usize) -> Vec<f64> {
    if !(max.is_finite() && max > 0.0) || count == 0 {
        return vec![0.0];
    }
    let raw = max / count as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step =
        [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut v = Vec::new();
    let mut t = 0.0;
    while t <= max * 1.0001 && v.len() < 50 {
        v.push(t);
        t += step;
    }
    v
}

/// Byte counts for an axis: 0, 1.5 kB, 2 MB.
pub fn bytes_short(b: f64) -> String {
    if b < 1000.0 {
        format!("{b:.0}")
    } else if b < 1e6 {
        format!("{} kB", trim(b / 1e3))
    } else {
        format!("{} MB", trim(b / 1e6))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// A time for an axis: `0`, `100.0 ms`, `2.00 s`.
pub fn axis_secs(t: f64) -> String {
    if t <= 0.0 {
        "0".into()
    } else {
        secs(t)
    }
}

/// The last part of a file name (headers of narrow columns).
pub fn base_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

/// A time offset for labels: `+0`, `+1.0 ms`, `+2.31 s`.
pub fn offset(s: f64) -> String {
    if s <= 0.0 {
        "+0".into()
    } else {
        format!("+{}", secs(s))
    }
}

/// The TCP flags as Wireshark writes them: `SYN`, `SYN, ACK`, `PSH, ACK`.
pub fn tcp_flags(f: u8) -> String {
    const NAMES: [(u8, &str); 6] =
        [(0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"), (0x20, "URG")];
    let v: Vec<&str> = NAMES.iter().filter(|(b, _)| f & b != 0).map(|(_, s)| *s).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// ICMP type/code in words.
pub fn icmp_name(v6: bool, t: u8, c: u8) -> String {
    let s = match (v6, t, c) {
        (false, 3, 0) => "net unreachable",
        (false, 3, 1) => "host unreachable",
        (false, 3, 2) => "protocol unreachable",
        (false, 3, 3) => "port unreachable",
        (false, 3, 4) => "fragmentation needed",
        (false, 3, 9 | 10 | 13) => "administratively prohibited",
        (false, 3, _) => "destination unreachable",
        (false, 11, _) => "time exceeded",
        (false, 5, _) => "redirect",
        (false, 0, _) => "echo reply",
        (false, 8, _) => "echo request",
        (true, 1, 1) => "administratively prohibited",
        (true, 1, 4) => "port unreachable",
        (true, 1, _) => "destination unreachable",
        (true, 2, _) => "packet too big",
        (true, 3, _) => "time exceeded",
        _ => return format!("type {t} code {c}"),
    };
    s.to_string()
}

/// The DCE/RPC calls and DNS queries of a capture by request and response frame (only those
/// of the frames a picture draws).
pub struct CallIndex<'a> {
    by_req: HashMap<u64, &'a Call>,
    by_resp: HashMap<u64, &'a Call>,
    dns_q: HashMap<u64, &'a DnsQuery>,
    dns_r: HashMap<u64, &'a DnsQuery>,
}

impl<'a> CallIndex<'a> {
    pub fn new(
        calls: &'a [Call],
        dns: &'a [DnsQuery],
        frames: &std::collections::HashSet<u64>,
    ) -> CallIndex<'a> {
        let mut by_req = HashMap::new();
        let mut by_resp = HashMap::new();
        for c in calls {
            if frames.contains(&c.frame) {
                by_req.insert(c.frame, c);
            }
            if let Some(r) = c.response_frame.filter(|r| frames.contains(r)) {
                by_resp.insert(r, c);
            }
        }
        let mut dns_q = HashMap::new();
        let mut dns_r = HashMap::new();
        for q in dns {
            for f in q.query_frame.iter().chain(&q.retransmit_frames) {
                if frames.contains(f) {
                    dns_q.insert(*f, q);
                }
            }
            if let Some(r) = q.response_frame.filter(|r| frames.contains(r)) {
                dns_r.insert(r, q);
            }
        }
        CallIndex { by_req, by_resp, dns_q, dns_r }
    }

    /// A DNS query that was never answered.
    pub fn unanswered_query(&self, frame: u64) -> bool {
        self.dns_q.get(&frame).is_some_and(|q| q.response_frame.is_none())
    }
}

impl CallIndex<'_> {
    /// The packet carries the answer of a call that failed (fault, rejection, error status).
    pub fn failed_answer(&self, frame: u64) -> bool {
        self.by_resp.get(&frame).is_some_and(|c| {
            c.outcome != Outcome::Ok
                || (c.status.is_some() && c.endpoints.is_empty() && c.epm_status.is_none())
        }) || self.dns_r.get(&frame).is_some_and(|q| q.rcode.is_some_and(|r| r != 0))
    }
}

fn op_name(c: &Call) -> String {
    let iface = c.interface.as_deref().unwrap_or("DCE/RPC");
    match (c.operation.as_deref(), c.opnum) {
        (Some(o), _) => format!("{iface} {o}"),
        (None, Some(n)) => format!("{iface} opnum {n}"),
        (None, None) => format!("{iface} bind"),
    }
}

/// What a packet says above TCP, from the calls the analysis found or the first bytes.
fn app_label(p: &Pkt, calls: &CallIndex) -> Option<String> {
    if let Some(c) = calls.by_req.get(&p.frame) {
        return Some(format!("{} request", op_name(c)));
    }
    if let Some(c) = calls.by_resp.get(&p.frame) {
        let mut s = match c.outcome {
            Outcome::Ok => format!("{} response", op_name(c)),
            o => format!("{}: {}", op_name(c), crate::rpc::outcome_name(o)),
        };
        if let Some(e) = c.endpoints.first() {
            s.push_str(&format!(" → {}", e.binding));
        } else if let Some(st) = &c.status {
            s.push_str(&format!(" {st}"));
        }
        return Some(s);
    }
    if let Some(q) = calls.dns_q.get(&p.frame) {
        let again = if q.query_frame == Some(p.frame) { "" } else { ", again" };
        return Some(format!("DNS query {} {}{again}", q.name, q.qtype));
    }
    if let Some(q) = calls.dns_r.get(&p.frame) {
        let rcode = q.rcode_name.as_deref().unwrap_or("answer");
        return Some(format!("DNS {rcode} for {}", q.name));
    }
    let h = &p.head;
    match (h.first(), h.get(1), h.get(2)) {
        (Some(5), Some(0), Some(t)) => {
            let name = tracehound_rpc::pdu::PType(*t).name();
            return Some(format!("DCE/RPC {}", name.unwrap_or("PDU")));
        }
        (Some(20..=23), Some(3), _) => return Some(tls_label(h)),
        _ => {}
    }
    let line: String =
        h.iter().take_while(|b| **b != b'\r' && **b != b'\n').map(|b| *b as char).collect();
    let http = ["GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "HTTP/1."];
    if http.iter().any(|m| line.starts_with(m)) && line.chars().all(|c| !c.is_control()) {
        let short: String = line.chars().take(40).collect();
        return Some(short);
    }
    None
}

fn tls_label(h: &[u8]) -> String {
    match h.first() {
        Some(20) => "TLS ChangeCipherSpec".into(),
        Some(21) => "TLS Alert".into(),
        Some(23) => "TLS application data".into(),
        _ => match h.get(5) {
            Some(1) => "TLS ClientHello".into(),
            Some(2) => "TLS ServerHello".into(),
            Some(11) => "TLS Certificate".into(),
            Some(12) => "TLS ServerKeyExchange".into(),
            Some(14) => "TLS ServerHelloDone".into(),
            Some(16) => "TLS ClientKeyExchange".into(),
            _ => "TLS handshake".into(),
        },
    }
}

/// A short description of a packet: flags, length and what it carries.
pub fn describe(p: &Pkt, calls: &CallIndex) -> String {
    match &p.kind {
        Kind::Tcp { flags, len, .. } => {
            let mut s = tcp_flags(*flags);
            if *len > 0 {
                s.push_str(&format!(" len {len}"));
            }
            if let Some(a) = app_label(p, calls) {
                s = format!("{a} ({s})");
            }
            s
        }
        Kind::Udp { len } => match app_label(p, calls) {
            Some(a) => format!("{a} (UDP len {len})"),
            None => format!("UDP len {len}"),
        },
        Kind::Icmp { v6, icmp_type, code, .. } => {
            format!("ICMP{} {}", if *v6 { "v6" } else { "" }, icmp_name(*v6, *icmp_type, *code))
        }
        Kind::Other { proto } => format!("IP protocol {proto}"),
    }
}

/// A figure: the picture and its caption (what it shows, in words).
pub fn figure(kind: &str, caption: &str, note: Option<&str>, body: Markup) -> Markup {
    html! {
        figure class={"pic " (kind)} data-picture=(kind) {
            div class="scroll" { (body) }
            figcaption {
                (caption)
                @if let Some(n) = note { " " span class="note" { "ℹ " (n) } }
            }
        }
    }
}
