//! The tables: conversations (sortable by clicking a heading when script runs; the page reads
//! the same without it), DCE/RPC calls with their outcome and the call timeline, endpoints
//! handed out and their follow-up, TLS sessions. Each is cut to a number of rows with a note.

use maud::{html, Markup};
use tracehound_flows::{Conversation, Proto, TcpFlag};
use tracehound_rpc::calls::Outcome;
use tracehound_rpc::Call;

use tracehound_findings::Facts;

use super::{timeline, Input};
use crate::conversations::{problem_score, state_name};
use crate::rpc::outcome_name;
use crate::table::{bytes, secs};

/// Rows shown at most per table.
pub const MAX_CONVERSATIONS: usize = 300;
pub const MAX_CALLS: usize = 500;
pub const MAX_ENDPOINTS: usize = 200;
pub const MAX_TLS: usize = 200;

fn cut_note(shown: usize, total: usize, what: &str, how: &str) -> Markup {
    html! {
        @if total > shown {
            p class="note sampled" { "ℹ " (shown) " of " (total) " " (what) " shown (" (how) "); the command-line output lists them all." }
        }
    }
}

fn num(v: u64) -> Markup {
    html! { td class="num" data-v=(v) { @if v == 0 { span class="dim" { "-" } } @else { (v) } } }
}

fn conversations(c: &Facts) -> Markup {
    let all = c.conversations;
    // The most troubled first: rank once, keep the top rows, sort only those.
    let mut ranked: Vec<(std::cmp::Reverse<(u64, u64)>, usize)> = all
        .iter()
        .enumerate()
        .map(|(i, c)| (std::cmp::Reverse((problem_score(c), c.bytes())), i))
        .collect();
    if ranked.len() > MAX_CONVERSATIONS {
        ranked.select_nth_unstable(MAX_CONVERSATIONS);
        ranked.truncate(MAX_CONVERSATIONS);
    }
    ranked.sort_unstable();
    let v: Vec<&Conversation> = ranked.iter().filter_map(|(_, i)| all.get(*i)).collect();
    html! {
        h3 { "Conversations" }
        p class="hint" { "Click a column heading to sort (needs script; the table is in order of trouble without it)." }
        div class="scroll" {
            table class="sortable conv" {
                thead { tr {
                    th { "PROTO" } th { "INITIATOR" } th { "" } th { "RESPONDER" } th { "STATE" }
                    th class="num" { "PKTS" } th class="num" { "BYTES" } th class="num" { "DURATION" }
                    th class="num" { "RTT" } th class="num" { "RETX" } th class="num" { "OOO" }
                    th class="num" { "ZWIN" } th class="num" { "RST" } th { "HISTORY" }
                } }
                tbody {
                    @for c in &v {
                        @let tcp = c.info.proto == Proto::Tcp;
                        @let st = if tcp { state_name(c.state) } else { "-" };
                        tr class={"st-" (st)} {
                            td { @if tcp { "tcp" } @else { "udp" } }
                            td class="addr" { (c.info.orig) }
                            td class="dim" { "→" }
                            td class="addr" { (c.info.resp) }
                            td class="state" { (st) }
                            td class="num" data-v=(c.packets()) { (c.packets()) }
                            td class="num" data-v=(c.bytes()) { (bytes(c.bytes())) }
                            td class="num" data-v=(c.duration()) { (secs(c.duration())) }
                            td class="num" data-v=(c.handshake_rtt.unwrap_or(-1.0)) { (c.handshake_rtt.map(secs).unwrap_or_else(|| "-".into())) }
                            (num(c.flag(TcpFlag::Retransmission)))
                            (num(c.flag(TcpFlag::OutOfOrder)))
                            (num(c.flag(TcpFlag::ZeroWindow)))
                            (num(c.rst_frames.len() as u64))
                            td class="hist" { (c.history) @if !c.icmp_errors.is_empty() { " icmp×" (c.icmp_errors.len()) } }
                        }
                    }
                }
            }
        }
        (cut_note(v.len(), all.len(), "conversations kept by the analysis are", "the most troubled first"))
    }
}

fn calls(c: &Facts) -> Markup {
    let calls = &c.rpc.calls;
    if calls.is_empty() {
        return html! {};
    }
    // The failed calls first (up to half the rows), then the others, shown in capture order.
    let failed = |k: &&Call| k.outcome != Outcome::Ok;
    let mut shown: Vec<&Call> = calls.iter().filter(failed).take(MAX_CALLS / 2).collect();
    let room = MAX_CALLS - shown.len();
    shown.extend(calls.iter().filter(|k| !failed(k)).take(room));
    shown.sort_by_key(|k| (k.frame, k.response_frame));
    html! {
        h3 { "DCE/RPC calls" }
        (timeline::timeline(c))
        div class="scroll" {
            table class="sortable calls" {
                thead { tr {
                    th class="num" { "FRAME" } th { "CLIENT" } th { "" } th { "SERVER" } th { "INTERFACE" }
                    th { "OPERATION" } th class="num" { "REQ" } th class="num" { "RESP" } th class="num" { "RTT" } th { "OUTCOME" }
                } }
                tbody {
                    @for k in &shown {
                        @let bad = !matches!(k.outcome, Outcome::Ok) || (k.status.is_some() && k.endpoints.is_empty() && k.epm_status.is_none());
                        tr class=(if bad { "bad" } else { "" }) {
                            td class="num" data-v=(k.frame) { (k.frame) }
                            td class="addr" { (k.src) ":" (k.sport) }
                            td class="dim" { "→" }
                            td class="addr" { (k.dst) ":" (k.dport) @if let Some(p) = &k.pipe { " " (p) } }
                            td { (k.interface.as_deref().or(k.uuid.as_deref()).unwrap_or("?")) }
                            td { @match (k.operation.as_deref(), k.opnum) { (Some(o), _) => { (o) }, (None, Some(n)) => { "opnum " (n) }, _ => { "(bind)" } } }
                            td class="num" data-v=(k.request_bytes) { (bytes(k.request_bytes)) }
                            td class="num" data-v=(k.response_bytes) { @if k.response_frame.is_some() { (bytes(k.response_bytes)) } @else { "-" } }
                            td class="num" data-v=(k.rtt.unwrap_or(-1.0)) { (k.rtt.map(secs).unwrap_or_else(|| "-".into())) }
                            td class="outcome" {
                                @if bad { "✖ " }
                                (outcome_name(k.outcome))
                                @if let Some(s) = &k.status { " " (s) }
                                @for e in k.endpoints.iter().take(3) { " → " (e.binding) }
                            }
                        }
                    }
                }
            }
        }
        (cut_note(shown.len(), calls.len(), "calls kept by the analysis are", "failed calls first, in capture order"))
    }
}

fn endpoints(c: &Facts) -> Markup {
    let eps = c.endpoints;
    if eps.is_empty() {
        return html! {};
    }
    let shown = &eps[..eps.len().min(MAX_ENDPOINTS)];
    html! {
        h3 { "Endpoints handed out and their follow-up" }
        div class="scroll" {
            table class="sortable eps" {
                thead { tr { th { "BINDING" } th { "INTERFACE" } th { "HANDED OUT" } th { "ASKED" } th { "FOLLOW-UP" } th { "ATTEMPTS" } } }
                tbody {
                    @for e in shown {
                        tr class={"fu-" (e.follow_up)} {
                            td class="addr" { (e.binding) }
                            td { (e.interface.as_deref().or(e.uuid.as_deref()).unwrap_or("?")) }
                            td { "frame " (e.handed_out_by.response_frame) " (" (e.handed_out_by.source) ")" }
                            td { (e.asked_address) @if e.address_differs { " ≠ (the answer names another address)" } }
                            td class="fu" { @if e.follow_up != "answered" && e.follow_up != "not_tried" { "✖ " } (e.follow_up) }
                            td { @for a in e.attempts.iter().take(3) { "frame " (a.frame) " from " (a.src) ":" (a.sport) " " (a.outcome) "; " } }
                        }
                    }
                }
            }
        }
        (cut_note(shown.len(), eps.len(), "endpoints", "in capture order"))
    }
}

fn tls_version(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

fn tls(c: &Facts) -> Markup {
    let all = &c.apps.tls;
    if all.is_empty() {
        return html! {};
    }
    let shown = &all[..all.len().min(MAX_TLS)];
    html! {
        h3 { "TLS sessions" }
        div class="scroll" {
            table class="sortable tls" {
                thead { tr { th { "CLIENT" } th { "" } th { "SERVER" } th { "SNI" } th { "VERSION" } th { "CERTIFICATE" } th { "OUTCOME" } } }
                tbody {
                    @for s in shown {
                        @let outcome = serde_json::to_value(s.outcome).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                        @let bad = outcome != "completed";
                        tr class=(if bad { "bad" } else { "" }) {
                            td class="addr" { (s.flow.orig) }
                            td class="dim" { "→" }
                            td class="addr" { (s.flow.resp) }
                            td { (s.sni().unwrap_or("-")) }
                            td { (s.negotiated_version().map(tls_version).unwrap_or_else(|| "-".into())) }
                            td { (s.certificates.first().map(|c| c.subject.as_str()).unwrap_or("-")) }
                            td { @if bad { "✖ " } (outcome) @for a in s.alerts.iter().take(2) { " · alert " (a.name) } }
                        }
                    }
                }
            }
        }
        (cut_note(shown.len(), all.len(), "TLS sessions", "in capture order"))
    }
}

/// The tables of every capture.
pub fn all(input: &Input) -> Markup {
    html! {
        section class="tables" {
            h2 { "Tables" }
            @for c in input.sources.iter().map(|s| &s.facts) {
                @if input.files.len() > 1 { h3 class="file" { (c.file) } }
                (conversations(c))
                (calls(c))
                (endpoints(c))
                (tls(c))
            }
        }
    }
}
