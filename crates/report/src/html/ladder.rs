//! Ladder (sequence) diagram of a finding's evidence frames: one column per host (the client,
//! the endpoint mapper, the handed-out endpoint, a router that sent an ICMP error), one arrow
//! per frame, time running downwards. Unanswered SYNs fade out before they arrive, resets are
//! red and marked ✕ RST, ICMP errors come from the host or router that sent them (⚠).

use std::collections::HashSet;
use std::net::IpAddr;

use maud::{html, Markup};
use tracehound_findings::Finding;
use tracehound_flows::Proto;

use super::packets::{key, key_of, FlowKey, Kind, Pkt};
use super::svg::{describe, n, offset};
use super::CaptureCtx;

/// Arrows drawn at most (first and last halves kept, the middle noted).
pub const MAX_ROWS: usize = 40;
const COL_W: f64 = 250.0;
const LEFT: f64 = 130.0;
const TOP: f64 = 86.0;
const ROW_H: f64 = 34.0;
/// Server columns at most: beyond, one column per server address ("any port").
const MAX_SERVER_COLS: usize = 4;

thread_local! {
    /// Whether server columns are merged per address for the ladder being built.
    static MERGE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Col {
    Host(IpAddr),
    Svc(IpAddr, u16),
}

enum Style {
    Plain,
    Lost,
    Rst,
    Icmp,
}

struct Row<'p> {
    p: &'p Pkt,
    from: usize,
    to: usize,
    style: Style,
    label: String,
}

/// The frames a finding's ladder shows: its evidence frames, else the first packets of its
/// flows; with the ICMP errors about any of them.
fn frames_of<'p>(f: &Finding, cx: &'p CaptureCtx) -> Vec<&'p Pkt> {
    let mut v: Vec<&Pkt> =
        f.evidence.frames.iter().filter_map(|fr| cx.pk.by_frame.get(fr)).collect();
    if v.is_empty() {
        for fl in &f.evidence.flows {
            v.extend(cx.pk.flow(&key_of(fl)).iter().take(MAX_ROWS));
        }
    }
    let keys: HashSet<FlowKey> = v.iter().filter_map(|p| p.flow_key()).collect();
    let seen: HashSet<u64> = v.iter().map(|p| p.frame).collect();
    let mut icmp: Vec<&Pkt> = cx
        .pk
        .by_frame
        .values()
        .filter(|p| !seen.contains(&p.frame))
        .filter(|p| matches!(&p.kind, Kind::Icmp { quoted: Some(q), .. } if keys.contains(q)))
        .collect();
    icmp.sort_by_key(|p| p.frame);
    v.extend(icmp.into_iter().take(MAX_ROWS));
    v.sort_by_key(|p| p.frame);
    v.dedup_by_key(|p| p.frame);
    v
}

/// (client, server) ends of a packet's flow.
fn ends(p: &Pkt, cx: &CaptureCtx) -> (Col, Col) {
    let k = key(
        if matches!(p.kind, Kind::Udp { .. }) { Proto::Udp } else { Proto::Tcp },
        p.src,
        p.sport,
        p.dst,
        p.dport,
    );
    let src_is_client = match cx.roles.get(&k) {
        Some(r) => r.orig == std::net::SocketAddr::new(p.src, p.sport),
        None => p.sport > p.dport,
    };
    if src_is_client {
        (Col::Host(p.src), Col::Svc(p.dst, p.dport))
    } else {
        (Col::Host(p.dst), Col::Svc(p.src, p.sport))
    }
}

/// With many ports on a server (a scan), one column per server address: port 0 stands for
/// "any port".
fn merged(c: Col, merge: bool) -> Col {
    match c {
        Col::Svc(ip, _) if merge => Col::Svc(ip, 0),
        c => c,
    }
}

fn col_index(cols: &mut Vec<Col>, c: Col) -> usize {
    let c = merged(c, MERGE.with(|m| m.get()));
    cols.iter().position(|x| *x == c).unwrap_or_else(|| {
        cols.push(c);
        cols.len() - 1
    })
}

fn role(c: Col, cols: &[Col], cx: &CaptureCtx) -> String {
    match c {
        Col::Host(ip) => {
            let is_router = cols.iter().any(|x| matches!(x, Col::Svc(..)))
                && cx.icmp_senders.contains(&ip)
                && !cx.clients.contains(&ip);
            if is_router {
                "router / firewall".into()
            } else {
                "client".into()
            }
        }
        Col::Svc(ip, 135) if !cx.handed_out.contains(&(ip, 135)) => "endpoint mapper".into(),
        Col::Svc(ip, p) if cx.handed_out.contains(&(ip, p)) => "handed-out endpoint".into(),
        Col::Svc(_, 445 | 139) => "SMB server".into(),
        Col::Svc(_, 53) => "DNS server".into(),
        Col::Svc(..) => "server".into(),
    }
}

fn build_rows<'p>(pkts: &[&'p Pkt], cx: &CaptureCtx, cols: &mut Vec<Col>) -> Vec<Row<'p>> {
    // Clients first, then servers by first appearance; routers go between them.
    for p in pkts {
        if !matches!(p.kind, Kind::Icmp { .. }) {
            let (c, _) = ends(p, cx);
            col_index(cols, c);
        }
    }
    for p in pkts {
        if !matches!(p.kind, Kind::Icmp { .. }) {
            let (_, s) = ends(p, cx);
            col_index(cols, s);
        }
    }
    let calls = &cx.calls;
    let mut rows = Vec::new();
    let mut syn_seen: HashSet<FlowKey> = HashSet::new();
    for p in pkts {
        let mut label = describe(p, calls);
        let (from, to, style) = match &p.kind {
            Kind::Icmp { quoted, .. } => {
                // From the sender: the host of the quoted flow, or a router in between.
                let server = quoted.and_then(|q| {
                    let (ca, sa) = (Col::Svc(q.1, q.2), Col::Svc(q.3, q.4));
                    [ca, sa]
                        .into_iter()
                        .find(|c| cols.contains(c) && matches!(c, Col::Svc(ip, _) if *ip == p.src))
                });
                let from = match server {
                    Some(s) => col_index(cols, s),
                    None => {
                        let i = col_index(cols, Col::Host(p.src));
                        // Keep routers left of the servers: move it after the clients.
                        let c = cols.remove(i);
                        let at = cols
                            .iter()
                            .position(|x| matches!(x, Col::Svc(..)))
                            .unwrap_or(cols.len());
                        cols.insert(at, c);
                        at
                    }
                };
                label = format!("⚠ {label} from {}", p.src);
                (from, col_index(cols, Col::Host(p.dst)), Style::Icmp)
            }
            Kind::Tcp { flags, .. } => {
                let (c, s) = ends(p, cx);
                let (ci, si) = (col_index(cols, c), col_index(cols, s));
                let client_sent = Col::Host(p.src) == c;
                let (from, to) = if client_sent { (ci, si) } else { (si, ci) };
                let k = key(Proto::Tcp, p.src, p.sport, p.dst, p.dport);
                let style = if calls.failed_answer(p.frame) {
                    label = format!("✖ {label}");
                    Style::Rst
                } else if flags & 0x04 != 0 {
                    label = format!("✕ reset ({label})");
                    Style::Rst
                } else if flags & 0x12 == 0x02 {
                    if !syn_seen.insert(k) {
                        label = format!("{label}, retransmitted");
                    }
                    if cx.roles.get(&k).is_some_and(|r| r.unanswered) {
                        label = format!("{label} — no answer");
                        Style::Lost
                    } else {
                        Style::Plain
                    }
                } else {
                    Style::Plain
                };
                (from, to, style)
            }
            _ => {
                let (c, s) = ends(p, cx);
                let (ci, si) = (col_index(cols, c), col_index(cols, s));
                let style = if calls.failed_answer(p.frame) {
                    label = format!("✖ {label}");
                    Style::Rst
                } else if calls.unanswered_query(p.frame) {
                    label = format!("{label} — no answer");
                    Style::Lost
                } else {
                    Style::Plain
                };
                if Col::Host(p.src) == c {
                    (ci, si, style)
                } else {
                    (si, ci, style)
                }
            }
        };
        if MERGE.with(|m| m.get()) && !matches!(p.kind, Kind::Icmp { .. }) {
            label = format!("{label} :{}→:{}", p.sport, p.dport);
        }
        rows.push(Row { p, from, to, style, label });
    }
    // Column indexes may have moved when a router was inserted: recompute from addresses.
    for r in &mut rows {
        let (f, t) = endpoints_of(r, cols, cx);
        r.from = f;
        r.to = t;
    }
    rows
}

fn endpoints_of(r: &Row, cols: &[Col], cx: &CaptureCtx) -> (usize, usize) {
    let p = r.p;
    let merge = MERGE.with(|m| m.get());
    let pos = |c: Col| cols.iter().position(|x| *x == merged(c, merge)).unwrap_or(0);
    match &p.kind {
        Kind::Icmp { quoted, .. } => {
            let from = quoted
                .and_then(|q| {
                    [Col::Svc(q.1, q.2), Col::Svc(q.3, q.4)]
                        .into_iter()
                        .find(|c| cols.contains(c) && matches!(c, Col::Svc(ip, _) if *ip == p.src))
                })
                .unwrap_or(Col::Host(p.src));
            (pos(from), pos(Col::Host(p.dst)))
        }
        _ => {
            let (c, s) = ends(p, cx);
            if Col::Host(p.src) == c {
                (pos(c), pos(s))
            } else {
                (pos(s), pos(c))
            }
        }
    }
}

/// The ladder diagram of a finding, or None when none of its frames could be read back.
pub fn ladder(f: &Finding, cx: &CaptureCtx, uid: &str) -> Option<(Markup, Option<String>)> {
    let all = frames_of(f, cx);
    if all.is_empty() {
        return None;
    }
    let mut note = None;
    let pkts: Vec<&Pkt> = if all.len() > MAX_ROWS {
        note = Some(format!(
            "{} frames; the first and last {} are drawn, {} in between are left out.",
            all.len(),
            MAX_ROWS / 2,
            all.len() - MAX_ROWS
        ));
        all.iter()
            .take(MAX_ROWS / 2)
            .chain(all.iter().skip(all.len() - MAX_ROWS / 2))
            .copied()
            .collect()
    } else {
        all
    };
    let servers: std::collections::HashSet<(IpAddr, u16)> = pkts
        .iter()
        .filter(|p| !matches!(p.kind, Kind::Icmp { .. }))
        .map(|p| match ends(p, cx).1 {
            Col::Svc(ip, port) => (ip, port),
            Col::Host(ip) => (ip, 0),
        })
        .collect();
    MERGE.with(|m| m.set(servers.len() > MAX_SERVER_COLS));
    let mut cols = Vec::new();
    let rows = build_rows(&pkts, cx, &mut cols);
    Some((draw(&rows, &cols, cx, uid, &f.title), note))
}

fn draw(rows: &[Row], cols: &[Col], cx: &CaptureCtx, uid: &str, story: &str) -> Markup {
    // Wide enough for the story line and the legend as well as the columns.
    let story_w = 16.0 + 7.8 * story.chars().count() as f64;
    let width = (LEFT + COL_W * cols.len() as f64).max(story_w).max(760.0);
    let height = TOP + ROW_H * rows.len() as f64 + 44.0;
    let x = |i: usize| LEFT + COL_W * (i as f64 + 0.5);
    let t0 = rows.first().map_or(0.0, |r| r.p.ts);
    html! {
        svg class="ladder" width=(n(width)) height=(n(height))
            viewBox={"0 0 " (n(width)) " " (n(height))} role="img" {
            title { "Ladder diagram: " (rows.len()) " frames between " (cols.len()) " hosts" }
            text class="hdr story" x="8" y="18" { (story) }
            text class="hdr small" x="8" y="62" { "frame" }
            text class="hdr small" x="60" y="62" { "time" }
            @for (i, c) in cols.iter().enumerate() {
                text class="hdr" x=(n(x(i))) y="44" text-anchor="middle" { (role(*c, cols, cx)) }
                text class="hdr addr" x=(n(x(i))) y="62" text-anchor="middle" {
                    @match c { Col::Host(ip) => { (ip) }, Col::Svc(ip, 0) => { (ip) " (many ports)" }, Col::Svc(ip, p) => { (ip) ":" (p) } }
                }
                line class="life" x1=(n(x(i))) y1="72" x2=(n(x(i))) y2=(n(height - 30.0)) {}
            }
            @for (j, r) in rows.iter().enumerate() {
                @let y = TOP + ROW_H * j as f64 + 18.0;
                (arrow(r, x(r.from), x(r.to), y, &format!("{uid}-{j}")))
                text class="fr" x="8" y=(n(y + 4.0)) { "#" (r.p.frame) }
                text class="fr" x="60" y=(n(y + 4.0)) { (offset(r.p.ts - t0)) }
            }
            text class="legend" x="8" y=(n(height - 10.0)) {
                "Time runs downwards. Faded arrow: no answer · ✕ reset, ✖ failed answer (red) · ⚠ ICMP error from the host or router at the arrow's start"
            }
        }
    }
}

fn arrow(r: &Row, x1: f64, x2: f64, y: f64, id: &str) -> Markup {
    let dir = if x2 >= x1 { 1.0 } else { -1.0 };
    let (cls, end) = match r.style {
        Style::Plain => ("a", x2 - dir * 2.0),
        Style::Lost => ("a lost", x1 + (x2 - x1) * 0.8),
        Style::Rst => ("a rst", x2 - dir * 2.0),
        Style::Icmp => ("a icmp", x2 - dir * 2.0),
    };
    let mid = (x1 + x2) / 2.0;
    let head = format!(
        "{},{} {},{} {},{}",
        n(end),
        n(y),
        n(end - dir * 9.0),
        n(y - 4.5),
        n(end - dir * 9.0),
        n(y + 4.5)
    );
    let fade = matches!(r.style, Style::Lost);
    html! {
        g class=(cls) {
            @if fade {
                linearGradient id=(id) gradientUnits="userSpaceOnUse" x1=(n(x1)) y1="0" x2=(n(end)) y2="0" {
                    stop offset="0" stop-opacity="1" {}
                    stop offset="1" stop-opacity="0.08" {}
                }
                line x1=(n(x1)) y1=(n(y)) x2=(n(end)) y2=(n(y)) style={"stroke:url(#" (id) ")"} stroke-dasharray="7 4" {}
            } @else {
                line x1=(n(x1)) y1=(n(y)) x2=(n(end)) y2=(n(y)) {}
                polygon points=(head) {}
            }
            text class="lbl" x=(n(mid)) y=(n(y - 6.0)) text-anchor="middle" { (r.label) }
        }
    }
}
