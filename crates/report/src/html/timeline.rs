//! DCE/RPC call timeline: one lane per association (TCP connection or named pipe) from its
//! first to its last packet, each call a block from request to response (green ok, red ✖
//! fault or rejection, amber ? no response), and dashed links from an endpoint-mapper answer
//! to the connections that followed to the endpoint it handed out — including attempts that
//! never got an answer (✕).

use std::collections::HashMap;
use std::net::IpAddr;

use maud::{html, Markup};
use tracehound_rpc::calls::Outcome;
use tracehound_rpc::Call;

use super::svg::{axis_secs, figure, n, ticks};
use tracehound_findings::Facts;

/// Lanes drawn at most (in order of their first call).
pub const MAX_LANES: usize = 14;
/// Calls drawn per lane at most.
const MAX_CALLS_PER_LANE: usize = 60;
const W: f64 = 1000.0;
const LEFT: f64 = 300.0;
const TOP: f64 = 44.0;
const LANE: f64 = 40.0;

struct Lane<'a> {
    label: String,
    server: (String, u16),
    start: f64,
    end: f64,
    calls: Vec<&'a Call>,
    /// For attempts to a handed-out endpoint that got no session: "unanswered" / "refused".
    failed: Option<&'static str>,
}

type AssocKey<'a> = (IpAddr, u16, IpAddr, u16, Option<&'a str>);

fn lanes<'a>(cx: &'a Facts) -> (Vec<Lane<'a>>, usize) {
    // Lanes for the first associations met (calls come in capture order); the others are
    // only counted, without copying anything.
    let mut by: HashMap<AssocKey<'a>, Option<usize>> = HashMap::new();
    let mut v: Vec<Lane> = Vec::new();
    for c in &cx.rpc.calls {
        let k = (c.src, c.sport, c.dst, c.dport, c.pipe.as_deref());
        let slot = *by.entry(k).or_insert_with(|| {
            if v.len() >= MAX_LANES {
                return None;
            }
            let conv = c.flow.and_then(|id| cx.conversation(id));
            let (start, end) = conv.map_or((c.ts.as_secs_f64(), c.ts.as_secs_f64()), |k| {
                (k.start.as_secs_f64(), k.end.as_secs_f64())
            });
            let pipe = c.pipe.as_deref().map(|p| format!(" {p}")).unwrap_or_default();
            v.push(Lane {
                label: format!("{}:{} → {}:{}{pipe}", c.src, c.sport, c.dst, c.dport),
                server: (c.dst.to_string(), c.dport),
                start,
                end,
                calls: Vec::new(),
                failed: None,
            });
            Some(v.len() - 1)
        });
        if let Some(l) = slot.and_then(|i| v.get_mut(i)) {
            let t_end = c.ts.as_secs_f64() + c.rtt.unwrap_or(0.0);
            l.start = l.start.min(c.ts.as_secs_f64());
            l.end = l.end.max(t_end);
            if l.calls.len() < MAX_CALLS_PER_LANE {
                l.calls.push(c);
            }
        }
    }
    let associations = by.len();
    // Attempts to handed-out endpoints that never got a session (bounded), their times from
    // one pass over the conversations.
    let mut failed = Vec::new();
    for e in cx.endpoints {
        let Some(port) = e.port else { continue };
        for a in e.attempts.iter().filter(|a| a.outcome != "answered") {
            if failed.len() < MAX_LANES * 2 {
                let addr = e.address.clone().filter(|a| a != "0.0.0.0");
                failed.push((a, addr.unwrap_or_else(|| e.asked_address.clone()), port));
            }
        }
    }
    let frames: HashMap<u64, (f64, f64)> = if failed.is_empty() {
        HashMap::new()
    } else {
        let want: std::collections::HashSet<u64> = failed.iter().map(|f| f.0.frame).collect();
        cx.conversations
            .iter()
            .filter(|c| want.contains(&c.first_frame))
            .map(|c| (c.first_frame, (c.start.as_secs_f64(), c.end.as_secs_f64())))
            .collect()
    };
    for (a, addr, port) in failed {
        let (start, end) = frames.get(&a.frame).copied().unwrap_or((0.0, 0.0));
        v.push(Lane {
            label: format!("{}:{} → {addr}:{port}", a.src, a.sport),
            server: (addr, port),
            start,
            end,
            calls: Vec::new(),
            failed: Some(a.outcome),
        });
    }
    let failed_lanes = v.iter().filter(|l| l.failed.is_some()).count();
    v.retain(|l| l.start > 0.0);
    v.sort_by(|a, b| a.start.total_cmp(&b.start));
    let total = associations + failed_lanes;
    v.truncate(MAX_LANES);
    (v, total)
}

fn class(c: &Call) -> (&'static str, &'static str) {
    match c.outcome {
        Outcome::Ok if c.status.is_some() && c.endpoints.is_empty() && c.epm_status.is_none() => {
            ("call bad", "✖ ")
        }
        Outcome::Ok => ("call ok", ""),
        Outcome::NoResponse => ("call none", "? "),
        _ => ("call bad", "✖ "),
    }
}

/// The timeline figure of a capture's calls (empty when it has none).
pub fn timeline(cx: &Facts) -> Markup {
    let (lanes, total) = lanes(cx);
    if lanes.is_empty() || lanes.iter().all(|l| l.calls.is_empty()) {
        return html! {};
    }
    let t0 = lanes.iter().map(|l| l.start).fold(f64::INFINITY, f64::min);
    let t1 = lanes.iter().map(|l| l.end).fold(0.0, f64::max);
    let span = (t1 - t0).max(1e-3) * 1.02;
    let pw = W - LEFT - 110.0;
    let x = |t: f64| LEFT + (t - t0) / span * pw;
    let h = TOP + LANE * lanes.len() as f64 + 40.0;
    let note = (total > lanes.len())
        .then(|| format!("{} of {total} associations drawn (the first).", lanes.len()));
    let body = html! {
        svg class="timeline" width=(n(W)) height=(n(h)) viewBox={"0 0 " (n(W)) " " (n(h))} role="img" {
            title { "DCE/RPC call timeline" }
            text class="hdr" x="8" y="18" { "Associations (connection → server)" }
            text class="small" x=(n(LEFT)) y="18" { "■ ok  ✖ fault / rejected (red)  ? no response  ✕ connection never answered · dashed: endpoint handed out → connection to it" }
            g class="grid" { @for t in ticks(span, 8) { line x1=(n(x(t0 + t))) y1=(n(TOP - 6.0)) x2=(n(x(t0 + t))) y2=(n(h - 32.0)) {} } }
            @for (i, l) in lanes.iter().enumerate() {
                @let y = TOP + LANE * i as f64;
                text class="mono" x="8" y=(n(y + 22.0)) { (l.label) }
                rect class="lane" x=(n(x(l.start))) y=(n(y + 12.0)) width=(n((x(l.end) - x(l.start)).max(2.0))) height="14" {}
                @if let Some(what) = l.failed {
                    text class="lost-x" x=(n(x(l.end) + 6.0)) y=(n(y + 23.0)) { "✕ " (what) }
                }
                @for c in &l.calls {
                    @let (cls, _) = class(c);
                    @let xa = x(c.ts.as_secs_f64());
                    @let wd = (x(c.ts.as_secs_f64() + c.rtt.unwrap_or(0.0)) - xa).max(4.0);
                    rect class=(cls) x=(n(xa)) y=(n(y + 12.0)) width=(n(wd)) height="14" {
                        title { (c.operation.as_deref().unwrap_or("call")) " frame " (c.frame) }
                    }
                }
                @for (xa, dy, text) in call_labels(&l.calls, &x) {
                    text class="small" x=(n(xa)) y=(n(y + dy)) { (text) }
                }
            }
            (links(&lanes, &x))
            g class="axis" {
                @for t in ticks(span, 8) { text x=(n(x(t0 + t))) y=(n(h - 18.0)) text-anchor="middle" { (axis_secs(t)) } }
            }
        }
    };
    figure(
        "timeline",
        "DCE/RPC call timeline: one lane per association, each call a block from request to response; dashed arrows join an endpoint-mapper answer to the connections made to the endpoint it handed out.",
        note.as_deref(),
        body,
    )
}

/// Labels of the calls of a lane where there is room: above the lane, else below, else none
/// (the table lists every call).
fn call_labels(calls: &[&Call], x: &dyn Fn(f64) -> f64) -> Vec<(f64, f64, String)> {
    let mut free = [f64::NEG_INFINITY; 2];
    let mut v = Vec::new();
    for c in calls {
        let (cls, mark) = class(c);
        let mut t = format!(
            "{mark}{}",
            c.operation.as_deref().or(c.interface.as_deref()).unwrap_or("bind")
        );
        if cls == "call bad" {
            if let Some(s) = &c.status {
                t.push(' ');
                t.push_str(s);
            }
        }
        let xa = x(c.ts.as_secs_f64());
        let w = 6.4 * t.chars().count() as f64;
        if let Some(slot) = (0..2).find(|&i| xa >= free[i] + 6.0) {
            free[slot] = xa + w;
            v.push((xa, if slot == 0 { 9.0 } else { 38.0 }, t));
        }
    }
    v
}

fn links(lanes: &[Lane], x: &dyn Fn(f64) -> f64) -> Markup {
    let mut v = Vec::new();
    for (i, l) in lanes.iter().enumerate() {
        for c in &l.calls {
            for e in c.endpoints.iter().take(4) {
                let Some(port) = e.port else { continue };
                let t = c.ts.as_secs_f64() + c.rtt.unwrap_or(0.0);
                let target = lanes.iter().enumerate().find(|(_, m)| {
                    m.server.1 == port
                        && m.start >= t - 1e-6
                        && (m.server.0 == c.dst.to_string()
                            || e.address.as_deref() == Some(m.server.0.as_str()))
                });
                if let Some((j, m)) = target {
                    v.push((
                        x(t),
                        TOP + LANE * i as f64 + 26.0,
                        x(m.start),
                        TOP + LANE * j as f64 + 12.0,
                        port,
                    ));
                }
            }
        }
    }
    html! {
        @for (x1, y1, x2, y2, port) in v {
            path class="link" d={"M" (n(x1)) " " (n(y1)) " C" (n(x1 + 20.0)) " " (n(y1 + 10.0)) " " (n(x2 - 20.0)) " " (n(y2 - 10.0)) " " (n(x2)) " " (n(y2))} {}
            text class="small link-lbl" x=(n(x1 + 6.0)) y=(n(y1 + 11.0)) { "→ :" (port) }
        }
    }
}
