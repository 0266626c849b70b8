//! "Where the time went" for a slow-responder finding: per request to the server it names,
//! the wait between the end of the request and the start of the answer, split as the rule
//! splits it — the connection's network round trip (TCP handshake) and the rest, server think
//! time — as stacked horizontal bars, slowest first.

use maud::{html, Markup};
use tracehound_findings::Finding;
use tracehound_flows::Conversation;

use super::svg::{axis_secs, n, ticks};
use super::CaptureCtx;
use crate::table::secs;

/// Requests drawn at most (the slowest).
pub const MAX_BARS: usize = 30;
const W: f64 = 1000.0;
const LABEL_W: f64 = 330.0;
const ROW: f64 = 22.0;
const TOP: f64 = 54.0;

struct Bar {
    label: String,
    net: f64,
    think: f64,
}

fn rtt_of(c: &Conversation) -> Option<f64> {
    c.handshake_rtt.or(c.syn_to_synack).filter(|r| *r >= 0.0)
}

fn collect(server: &str, cx: &CaptureCtx) -> (Vec<Bar>, usize) {
    let mut v = Vec::new();
    for ft in &cx.facts.apps.transactions {
        if ft.flow.resp.to_string() != server {
            continue;
        }
        let rtt = cx.facts.conversation(ft.flow.id).and_then(rtt_of).unwrap_or(0.0);
        let mut seen = std::collections::HashSet::new();
        for t in ft.slowest.iter().chain(&ft.samples) {
            if t.long_poll || !seen.insert(t.request_frame) {
                continue;
            }
            let Some(wait) = t.gap() else { continue };
            let wait = wait.max(0.0);
            let net = rtt.min(wait);
            let req: String = t.request.chars().take(36).collect();
            v.push(Bar {
                label: format!("frame {}: {req}", t.request_frame),
                net,
                think: wait - net,
            });
        }
    }
    for c in &cx.facts.rpc.calls {
        if format!("{}:{}", c.dst, c.dport) != server {
            continue;
        }
        let Some(wait) = c.rtt else { continue };
        let rtt = c.flow.and_then(|id| cx.facts.conversation(id)).and_then(rtt_of).unwrap_or(0.0);
        let wait = wait.max(0.0);
        let net = rtt.min(wait);
        let op = c.operation.as_deref().unwrap_or("call");
        v.push(Bar { label: format!("frame {}: {op}", c.frame), net, think: wait - net });
    }
    let total = v.len();
    v.sort_by(|a, b| (b.net + b.think).total_cmp(&(a.net + a.think)));
    v.truncate(MAX_BARS);
    (v, total)
}

/// The bars of a slow-responder finding.
pub fn bars(f: &Finding, cx: &CaptureCtx) -> Option<(Markup, Option<String>)> {
    let server = f.evidence.values.get("server")?.as_str()?;
    let (bars, total) = collect(server, cx);
    if bars.is_empty() {
        return None;
    }
    let note = (total > bars.len())
        .then(|| format!("{} of {total} requests drawn (the slowest).", bars.len()));
    Some((draw(&bars, server), note))
}

fn draw(bars: &[Bar], server: &str) -> Markup {
    let max = bars.iter().map(|b| b.net + b.think).fold(0.0, f64::max).max(1e-6) * 1.05;
    let pw = W - LABEL_W - 280.0;
    let x = |v: f64| LABEL_W + v / max * pw;
    let h = TOP + ROW * bars.len() as f64 + 40.0;
    html! {
        svg class="bars" width=(n(W)) height=(n(h)) viewBox={"0 0 " (n(W)) " " (n(h))} role="img" {
            title { "Where the time went: requests to " (server) }
            text class="hdr" x="8" y="18" { "Requests to " (server) ", slowest first" }
            g class="key" {
                rect class="bar-net" x=(n(LABEL_W)) y="28" width="16" height="11" {}
                text class="small" x=(n(LABEL_W + 22.0)) y="38" { "network round trip" }
                rect class="bar-think" x=(n(LABEL_W + 170.0)) y="28" width="16" height="11" {}
                text class="small" x=(n(LABEL_W + 192.0)) y="38" { "server think time" }
            }
            g class="grid" {
                @for t in ticks(max, 6) { line x1=(n(x(t))) y1=(n(TOP - 4.0)) x2=(n(x(t))) y2=(n(h - 34.0)) {} }
            }
            @for (i, b) in bars.iter().enumerate() {
                @let y = TOP + ROW * i as f64;
                text class="mono" x="8" y=(n(y + 13.0)) { (b.label) }
                rect class="bar-net" x=(n(x(0.0))) y=(n(y + 2.0)) width=(n(x(b.net) - x(0.0))) height="14" {}
                rect class="bar-think" x=(n(x(b.net))) y=(n(y + 2.0)) width=(n(x(b.net + b.think) - x(b.net))) height="14" {}
                text class="small" x=(n(x(b.net + b.think) + 6.0)) y=(n(y + 13.0)) {
                    (secs(b.net + b.think)) " = " (secs(b.net)) " net + " (secs(b.think)) " server"
                }
            }
            g class="axis" {
                @for t in ticks(max, 6) { text x=(n(x(t))) y=(n(h - 20.0)) text-anchor="middle" { (axis_secs(t)) } }
                text x=(n(LABEL_W + pw / 2.0)) y=(n(h - 5.0)) text-anchor="middle" { "wait between the end of the request and the first byte of the answer" }
            }
        }
    }
}
