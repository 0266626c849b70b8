//! Two captures of the same flow side by side (a `path.*` finding): each capture point is a
//! column, each packet a row; a packet seen at both points is joined across, a packet seen at
//! one point only is marked ✕ on the side that missed it ("lost between"). Packets are
//! matched by direction, sequence and acknowledgement numbers, flags and length (the n-th
//! copy to the n-th copy), so the clocks of the two capture points need not agree.

use std::collections::HashMap;

use maud::{html, Markup};
use tracehound_findings::Finding;

use super::packets::{key_of, Kind, Pkt};
use super::svg::{base_name, n, offset, tcp_flags};
use super::CaptureCtx;

/// Rows drawn at most (those around packets seen at one point only are kept first).
pub const MAX_ROWS: usize = 40;
const W: f64 = 1000.0;
const XA: f64 = 300.0;
const XB: f64 = 700.0;
const TOP: f64 = 94.0;
const ROW: f64 = 26.0;

type Sig = (u16, u16, u32, u32, u8, u32);

fn sig(p: &Pkt) -> Option<Sig> {
    match p.kind {
        Kind::Tcp { seq, ack, flags, len, .. } => Some((p.sport, p.dport, seq, ack, flags, len)),
        Kind::Udp { len } => Some((p.sport, p.dport, p.ip_id, 0, 0, len)),
        _ => None,
    }
}

/// (index in A, index in B): one of them may be missing.
fn rows(a: &[Pkt], b: &[Pkt]) -> Vec<(Option<usize>, Option<usize>)> {
    let mut pool: HashMap<Sig, Vec<usize>> = HashMap::new();
    for (i, p) in b.iter().enumerate().rev() {
        if let Some(s) = sig(p) {
            pool.entry(s).or_default().push(i);
        }
    }
    let mut matched_b = vec![false; b.len()];
    let mut pairs: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    for (i, p) in a.iter().enumerate() {
        let j = sig(p).and_then(|s| pool.get_mut(&s)).and_then(Vec::pop);
        if let Some(j) = j {
            if let Some(m) = matched_b.get_mut(j) {
                *m = true;
            }
        }
        pairs.push((Some(i), j));
    }
    // Packets only B saw go in after the row of the B packet before them.
    let mut out: Vec<(Option<usize>, Option<usize>)> = Vec::new();
    let mut b_only: Vec<usize> = (0..b.len()).filter(|j| !matched_b[*j]).collect();
    b_only.reverse();
    for pr in pairs {
        if let Some(j) = pr.1 {
            while b_only.last().is_some_and(|k| *k < j) {
                out.push((None, b_only.pop()));
            }
        }
        out.push(pr);
    }
    while let Some(k) = b_only.pop() {
        out.push((None, Some(k)));
    }
    out
}

/// Keep the rows near a one-sided packet, then the first ones, up to [`MAX_ROWS`].
fn pick(all: &[(Option<usize>, Option<usize>)]) -> Vec<usize> {
    if all.len() <= MAX_ROWS {
        return (0..all.len()).collect();
    }
    let mut keep = vec![false; all.len()];
    let mut count = 0;
    for (i, r) in all.iter().enumerate() {
        if r.0.is_none() || r.1.is_none() {
            let near = i.saturating_sub(2)..(i + 3).min(all.len());
            for k in keep.iter_mut().take(near.end).skip(near.start) {
                if !*k && count < MAX_ROWS {
                    *k = true;
                    count += 1;
                }
            }
        }
    }
    for k in keep.iter_mut() {
        if count >= MAX_ROWS {
            break;
        }
        if !*k {
            *k = true;
            count += 1;
        }
    }
    (0..all.len()).filter(|i| keep[*i]).collect()
}

/// The picture of a two-capture finding.
pub fn picture(f: &Finding, srcs: &[&CaptureCtx]) -> Option<(Markup, Option<String>)> {
    let (ca, cb) = (srcs.first()?, srcs.get(1)?);
    let fl = f.evidence.flows.first()?;
    let k = key_of(fl);
    let (a, b) = (ca.pk.flow(&k), cb.pk.flow(&k));
    if a.is_empty() && b.is_empty() {
        return None;
    }
    let all = rows(a, b);
    let shown = pick(&all);
    let lost_a = all.iter().filter(|r| r.0.is_none()).count();
    let lost_b = all.iter().filter(|r| r.1.is_none()).count();
    let note = (shown.len() < all.len()).then(|| {
        format!(
            "{} of {} packets drawn (those around the packets seen at one point only first).",
            shown.len(),
            all.len()
        )
    });
    let client = (fl.src, fl.sport);
    let back = a.iter().chain(b).any(|p| (p.src, p.sport) != client);
    let ctx = Draw {
        a,
        b,
        ca: ca.facts.file,
        cb: cb.facts.file,
        client,
        lost: (lost_a, lost_b),
        story: &f.title,
        nothing_back: !back,
    };
    Some((draw(&ctx, &all, &shown), note))
}

struct Draw<'a> {
    a: &'a [Pkt],
    b: &'a [Pkt],
    ca: &'a str,
    cb: &'a str,
    client: (std::net::IpAddr, u16),
    lost: (usize, usize),
    story: &'a str,
    /// Nothing at either point went from the server back to the client.
    nothing_back: bool,
}

fn label(p: &Pkt, client: (std::net::IpAddr, u16)) -> String {
    let dir = if (p.src, p.sport) == client { "client → server" } else { "server → client" };
    match p.kind {
        Kind::Tcp { flags, len, .. } if len > 0 => format!("{} len {len}, {dir}", tcp_flags(flags)),
        Kind::Tcp { flags, .. } => format!("{}, {dir}", tcp_flags(flags)),
        Kind::Udp { len } => format!("UDP len {len}, {dir}"),
        _ => dir.to_string(),
    }
}

fn draw(d: &Draw, all: &[(Option<usize>, Option<usize>)], shown: &[usize]) -> Markup {
    let extra = if d.nothing_back { ROW } else { 0.0 };
    let h = TOP + ROW * shown.len() as f64 + 40.0 + extra;
    let ta = d.a.first().map_or(0.0, |p| p.ts);
    let tb = d.b.first().map_or(0.0, |p| p.ts);
    html! {
        svg class="twocap" width=(n(W)) height=(n(h)) viewBox={"0 0 " (n(W)) " " (n(h))} role="img" {
            title { "The same flow at two capture points" }
            text class="hdr story" x="8" y="18" { (d.story) }
            text class="hdr" x=(n(XA)) y="44" text-anchor="middle" { "capture point 1" }
            text class="hdr addr" x=(n(XA)) y="62" text-anchor="middle" { (base_name(d.ca)) }
            text class="hdr" x=(n(XB)) y="44" text-anchor="middle" { "capture point 2" }
            text class="hdr addr" x=(n(XB)) y="62" text-anchor="middle" { (base_name(d.cb)) }
            text class="small" x=(n(XA)) y="78" text-anchor="middle" { (d.a.len()) " packets, " (d.lost.0) " not seen here" }
            text class="small" x=(n(XB)) y="78" text-anchor="middle" { (d.b.len()) " packets, " (d.lost.1) " not seen here" }
            line class="life" x1=(n(XA)) y1="84" x2=(n(XA)) y2=(n(h - 30.0)) {}
            line class="life" x1=(n(XB)) y1="84" x2=(n(XB)) y2=(n(h - 30.0)) {}
            @for (row, &i) in shown.iter().enumerate() {
                @let y = TOP + ROW * row as f64 + 12.0;
                @let (ia, ib) = all[i];
                @let pa = ia.and_then(|i| d.a.get(i));
                @let pb = ib.and_then(|i| d.b.get(i));
                @if let Some(p) = pa.or(pb) {
                    @match (pa, pb) {
                        (Some(_), Some(_)) => { line class="match" x1=(n(XA)) y1=(n(y)) x2=(n(XB)) y2=(n(y)) {} }
                        (Some(_), None) => { line class="match gone" x1=(n(XA)) y1=(n(y)) x2=(n(XB - 14.0)) y2=(n(y)) {} }
                        _ => { line class="match gone" x1=(n(XB)) y1=(n(y)) x2=(n(XA + 14.0)) y2=(n(y)) {} }
                    }
                    @if pa.is_some() && pb.is_some() {
                        text class="lbl" x=(n((XA + XB) / 2.0)) y=(n(y - 4.0)) text-anchor="middle" { (label(p, d.client)) }
                    } @else {
                        text class="lbl lost-x" x=(n((XA + XB) / 2.0)) y=(n(y - 4.0)) text-anchor="middle" { "✕ lost between: " (label(p, d.client)) }
                    }
                    @match pa {
                        Some(p) => {
                            circle cx=(n(XA)) cy=(n(y)) r="4" class="seen" {}
                            text class="fr" x=(n(XA - 12.0)) y=(n(y + 4.0)) text-anchor="end" { "#" (p.frame) " " (offset(p.ts - ta)) }
                        }
                        None => {
                            text class="lost-x" x=(n(XA)) y=(n(y + 5.0)) text-anchor="middle" { "✕" }
                            text class="lost-x small" x=(n(XA - 12.0)) y=(n(y + 4.0)) text-anchor="end" { "not seen here" }
                        }
                    }
                    @match pb {
                        Some(p) => {
                            circle cx=(n(XB)) cy=(n(y)) r="4" class="seen" {}
                            text class="fr" x=(n(XB + 12.0)) y=(n(y + 4.0)) { "#" (p.frame) " " (offset(p.ts - tb)) }
                        }
                        None => {
                            text class="lost-x" x=(n(XB)) y=(n(y + 5.0)) text-anchor="middle" { "✕" }
                            text class="lost-x small" x=(n(XB + 12.0)) y=(n(y + 4.0)) { "not seen here" }
                        }
                    }
                }
            }
            @if d.nothing_back {
                text class="lost-x" x=(n((XA + XB) / 2.0)) y=(n(TOP + ROW * shown.len() as f64 + 14.0)) text-anchor="middle" {
                    "✕ nothing came back from the server, at either capture point"
                }
            }
            text class="legend" x="8" y=(n(h - 10.0)) { "● seen at this capture point, joined when seen at both · ✕ not seen here: lost between the two points (or not yet sent)" }
        }
    }
}
