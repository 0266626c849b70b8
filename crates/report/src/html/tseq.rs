//! TCP time–sequence graph (Stevens, tcptrace, Wireshark's "Stevens / tcptrace" graph) of the
//! flow a loss, zero-window, Nagle or black-hole finding names: for the direction that sent
//! the data, each segment is a vertical bar from its first to its last sequence number at
//! the time it was seen; the other direction's ACKs draw the ACK line (green) and ACK plus
//! receive window the window line (dashed); SACK blocks are purple bars; retransmissions red
//! and marked R; stalls (gaps far longer than usual) and zero-window periods are shaded and
//! labelled with their durations.

use std::net::SocketAddr;

use maud::{html, Markup};
use tracehound_findings::Finding;

use super::packets::{key_of, Kind, Pkt};
use super::svg::{axis_secs, bytes_short, n, ticks};
use super::CaptureCtx;
use crate::table::secs;

/// Segments and ACKs drawn at most (others sampled, retransmissions always drawn).
pub const MAX_POINTS: usize = 3000;
/// Stalls highlighted at most (the longest).
const MAX_STALLS: usize = 30;
const W: f64 = 1000.0;
const H: f64 = 440.0;
const L: f64 = 78.0;
const R: f64 = 24.0;
const T: f64 = 56.0;
const B: f64 = 52.0;

struct Seg {
    t: f64,
    lo: f64,
    hi: f64,
    retx: bool,
}

struct Ack {
    t: f64,
    ack: f64,
    win: f64,
    zero: bool,
    sack: Vec<(f64, f64)>,
}

struct Series {
    segs: Vec<Seg>,
    acks: Vec<Ack>,
    span: f64,
    sender: SocketAddr,
    receiver: SocketAddr,
}

fn series(pkts: &[Pkt], scale: impl Fn(SocketAddr) -> u8) -> Option<Series> {
    // The data direction: the side that sent the most payload.
    let mut by_src: Vec<(SocketAddr, u64)> = Vec::new();
    for p in pkts {
        if let Kind::Tcp { len, .. } = p.kind {
            let s = SocketAddr::new(p.src, p.sport);
            match by_src.iter_mut().find(|(a, _)| *a == s) {
                Some(e) => e.1 += u64::from(len),
                None => by_src.push((s, u64::from(len))),
            }
        }
    }
    let sender = by_src.iter().max_by_key(|(_, b)| *b)?.0;
    let first = pkts.iter().find(|p| SocketAddr::new(p.src, p.sport) == sender)?;
    let base = match first.kind {
        Kind::Tcp { seq, flags, .. } if flags & 0x02 != 0 => seq.wrapping_add(1),
        Kind::Tcp { seq, .. } => seq,
        _ => return None,
    };
    let rel = |v: u32| f64::from(v.wrapping_sub(base) as i32).max(0.0);
    let t0 = pkts.first()?.ts;
    let mut receiver = sender;
    let (mut segs, mut acks) = (Vec::new(), Vec::new());
    let mut high = 0.0f64;
    for p in pkts {
        let Kind::Tcp { seq, ack, flags, window, len, sack } = &p.kind else { continue };
        let t = p.ts - t0;
        if SocketAddr::new(p.src, p.sport) == sender {
            if *len > 0 {
                let lo = rel(*seq);
                let hi = lo + f64::from(*len);
                segs.push(Seg { t, lo, hi, retx: hi <= high });
                high = high.max(hi);
            }
        } else if flags & 0x10 != 0 && flags & 0x04 == 0 {
            receiver = SocketAddr::new(p.src, p.sport);
            let sc = if flags & 0x02 != 0 { 0 } else { scale(receiver) };
            let a = rel(*ack);
            let win = f64::from(*window) * f64::from(1u32 << sc.min(14));
            let sack = sack.iter().map(|(l, r)| (rel(*l), rel(*r))).collect();
            acks.push(Ack { t, ack: a, win, zero: *window == 0 && flags & 0x02 == 0, sack });
        }
    }
    let span = pkts.last().map_or(0.0, |p| p.ts - t0);
    Some(Series { segs, acks, span, sender, receiver })
}

/// Gaps between packets of the data direction far longer than usual: (start, end).
fn stalls(s: &Series) -> Vec<(f64, f64)> {
    let mut times: Vec<f64> = s.segs.iter().map(|g| g.t).collect();
    times.extend(s.acks.iter().map(|a| a.t));
    times.sort_by(f64::total_cmp);
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return Vec::new();
    }
    let mut sorted = gaps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let limit = (median * 5.0).max(0.03).max(s.span * 0.02);
    let mut v: Vec<(f64, f64)> =
        times.windows(2).filter(|w| w[1] - w[0] >= limit).map(|w| (w[0], w[1])).collect();
    v.sort_by(|a, b| (b.1 - b.0).total_cmp(&(a.1 - a.0)));
    v.truncate(MAX_STALLS);
    gaps.clear();
    v
}

/// Zero-window periods: from the first zero-window ACK to the next ACK opening the window.
fn zero_periods(s: &Series) -> Vec<(f64, f64)> {
    let mut v = Vec::new();
    let mut start: Option<f64> = None;
    for a in &s.acks {
        match (a.zero, start) {
            (true, None) => start = Some(a.t),
            (false, Some(t)) => {
                v.push((t, a.t));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(t) = start {
        v.push((t, s.span));
    }
    v
}

/// The graph for a finding, with a note when it was sampled or cut.
pub fn graph(f: &Finding, cx: &CaptureCtx, uid: &str) -> Option<(Markup, Option<String>)> {
    let fl = f.evidence.flows.first()?;
    let k = key_of(fl);
    let pkts = cx.pk.flow(&k);
    let wscale = |a: SocketAddr| -> u8 {
        let conv = cx.roles.get(&k).and_then(|r| cx.facts.conversations.get(r.conv));
        match conv {
            Some(c) if c.dirs[0].wscale.is_some() && c.dirs[1].wscale.is_some() => {
                let i = usize::from(c.info.orig != a);
                c.dirs[i].wscale.unwrap_or(0)
            }
            _ => 0,
        }
    };
    let s = series(pkts, wscale)?;
    if s.segs.is_empty() {
        return None;
    }
    let mut note = None;
    let step = s.segs.len().div_ceil(MAX_POINTS).max(1);
    if step > 1 {
        note = Some(format!(
            "{} segments: 1 in {step} is drawn (every retransmission is).",
            s.segs.len()
        ));
    }
    if cx.pk.dropped > 0 {
        let more = format!("Only the first {} packets of the flow were read back.", pkts.len());
        note = Some(note.map_or(more.clone(), |n| format!("{n} {more}")));
    }
    Some((draw(&s, step, uid), note))
}

fn draw(s: &Series, step: usize, uid: &str) -> Markup {
    let data_max = s.segs.iter().map(|g| g.hi).fold(0.0, f64::max);
    let ack_max = s.acks.iter().map(|a| a.ack).fold(0.0, f64::max);
    let win_max = s.acks.iter().map(|a| a.ack + a.win).fold(0.0, f64::max);
    let base = data_max.max(ack_max).max(1.0);
    let ymax = base.max(win_max.min(base * 1.4)) * 1.04;
    let xmax = s.span.max(1e-3) * 1.02;
    let (pw, ph) = (W - L - R, H - T - B);
    let x = |t: f64| L + t / xmax * pw;
    let y = |v: f64| T + ph - v.min(ymax) / ymax * ph;
    let acks: Vec<&Ack> = s.acks.iter().step_by(step).collect();
    let mut ack_path = String::new();
    let mut win_path = String::new();
    for (i, a) in acks.iter().enumerate() {
        let c = if i == 0 { 'M' } else { 'H' };
        ack_path.push_str(&format!("{c}{} ", n(x(a.t))));
        win_path.push_str(&format!("{c}{} ", n(x(a.t))));
        if i == 0 {
            ack_path.push_str(&format!("{} ", n(y(a.ack))));
            win_path.push_str(&format!("{} ", n(y(a.ack + a.win))));
        } else {
            ack_path.push_str(&format!("V{} ", n(y(a.ack))));
            win_path.push_str(&format!("V{} ", n(y(a.ack + a.win))));
        }
    }
    let zeros = zero_periods(s);
    // A stall inside a zero-window period is that period: shade it once.
    let stalls: Vec<(f64, f64)> = stalls(s)
        .into_iter()
        .filter(|(a, b)| !zeros.iter().any(|(za, zb)| a.max(*za) < b.min(*zb)))
        .collect();
    let retx = s.segs.iter().filter(|g| g.retx).count();
    html! {
        svg class="tseq" width=(n(W)) height=(n(H)) viewBox={"0 0 " (n(W)) " " (n(H))} role="img" {
            title { "Time–sequence graph of " (s.sender) " → " (s.receiver) }
            clipPath id={(uid) "-clip"} { rect x=(n(L)) y=(n(T)) width=(n(pw)) height=(n(ph)) {} }
            text class="hdr" x=(n(L)) y="18" { "Data " (s.sender) " → " (s.receiver) ": " (s.segs.len()) " segments, " (retx) " retransmitted" }
            (legend())
            g class="grid" {
                @for t in ticks(xmax, 8) { line x1=(n(x(t))) y1=(n(T)) x2=(n(x(t))) y2=(n(T + ph)) {} }
                @for v in ticks(ymax, 6) { line x1=(n(L)) y1=(n(y(v))) x2=(n(L + pw)) y2=(n(y(v))) {} }
            }
            @for (a, b) in &zeros {
                rect class="zwin" x=(n(x(*a))) y=(n(T)) width=(n((x(*b) - x(*a)).max(2.0))) height=(n(ph)) {}
                text class="zwin-lbl" x=(n(x(*a) + 3.0)) y=(n(T + 14.0)) { "zero window " (secs(b - a)) }
            }
            @for (i, (a, b)) in stalls.iter().enumerate() {
                rect class="stall" x=(n(x(*a))) y=(n(T)) width=(n((x(*b) - x(*a)).max(2.0))) height=(n(ph)) {}
                @if i < 6 { text class="stall-lbl" x=(n(x(*a) + 3.0)) y=(n(T + 30.0 + 14.0 * i as f64)) { "stall " (secs(b - a)) } }
            }
            g clip-path={"url(#" (uid) "-clip)"} {
                path class="winline" d=(win_path) {}
                path class="ackline" d=(ack_path) {}
                @for a in &acks { @for (l, r) in &a.sack { line class="sack" x1=(n(x(a.t))) y1=(n(y(*l))) x2=(n(x(a.t))) y2=(n(y(*r))) {} } }
                @for (i, g) in s.segs.iter().enumerate() {
                    @if g.retx || i % step == 0 {
                        line class={"seg" @if g.retx { " retx" }} x1=(n(x(g.t))) y1=(n(y(g.lo))) x2=(n(x(g.t))) y2=(n(y(g.hi).min(y(g.lo) - 1.5))) {}
                    }
                }
                @for g in s.segs.iter().filter(|g| g.retx).take(40) {
                    text class="retx-mark" x=(n(x(g.t) + 2.0)) y=(n(y(g.hi) - 2.0)) { "R" }
                }
            }
            g class="axis" {
                path d={"M" (n(L)) " " (n(T)) " V" (n(T + ph)) " H" (n(L + pw))} {}
                @for t in ticks(xmax, 8) { text x=(n(x(t))) y=(n(T + ph + 16.0)) text-anchor="middle" { (axis_secs(t)) } }
                @for v in ticks(ymax, 6) { text x=(n(L - 6.0)) y=(n(y(v) + 4.0)) text-anchor="end" { (bytes_short(v)) } }
                text x=(n(L + pw / 2.0)) y=(n(H - 8.0)) text-anchor="middle" { "time since the first packet of the flow" }
                text x="14" y=(n(T + ph / 2.0)) text-anchor="middle" transform={"rotate(-90 14 " (n(T + ph / 2.0)) ")"} { "sequence number (bytes from the start)" }
            }
        }
    }
}

fn legend() -> Markup {
    let items: [(&str, &str); 6] = [
        ("seg", "data segment"),
        ("seg retx", "retransmission (R)"),
        ("ackline", "ACK"),
        ("winline", "ACK + receive window"),
        ("sack", "SACK block"),
        ("stall", "stall / zero window (shaded)"),
    ];
    html! {
        g class="key" {
            @for (i, (cls, label)) in items.iter().enumerate() {
                @let x0 = L + items[..i].iter().map(|(_, l)| 34.0 + 6.4 * l.chars().count() as f64).sum::<f64>();
                @if *cls == "stall" {
                    rect class="stall" x=(n(x0)) y="30" width="18" height="12" {}
                } @else {
                    line class=(cls) x1=(n(x0)) y1="36" x2=(n(x0 + 18.0)) y2="36" {}
                }
                text class="small" x=(n(x0 + 24.0)) y="40" { (label) }
            }
        }
    }
}
