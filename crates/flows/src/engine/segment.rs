//! TCP handling: finding (or starting) the flow of a segment, then one segment's way through
//! the flow's state — counters and checksum sampling, handshake facts, Wireshark's analysis
//! flags, the forensics, Nagle and zero-window tracking, Zeek's state and history, and the
//! in-order delivery of payload to the analyzers.

use std::net::SocketAddr;

use super::nagle::nagle_and_windows;
use super::state::{hist, segment_history, Ep};
use super::table::Slot;
use super::{key, port_heuristic, Engine, EngineStats, Flow, FlowStart, Seg};
use crate::compact::Compact;
use crate::pkt::{tcpflags::*, Pkt, TcpHdr};
use crate::reasm::Out;
use crate::tcp::{self, Verdict};
use crate::{Dir, FlagEvent, FlowInfo, Proto, RoleSource, StreamHandler, TcpFlag, Timestamp};

impl Engine {
    /// One TCP segment: find its flow (ending it first when the ports are reused for a new
    /// connection), start one if needed (compact while it is a lone packet), then track it.
    pub(super) fn tcp(
        &mut self,
        p: &Pkt<'_>,
        (sport, dport): (u16, u16),
        hdr: &TcpHdr,
        payload: &[u8],
        h: &mut dyn StreamHandler,
    ) {
        let (k, src_is_a) = key(6, p.src, sport, p.dst, dport);
        let seg = Seg { p, hdr, payload, src_is_a };
        let syn_only = hdr.flags & (SYN | ACK) == SYN;
        let sampled = self.cfg.checksum_sample > 0;
        let mut reused = false;
        let idx = match self.table.get(&k).copied() {
            Some(i) => {
                if let Slot::Compact(c) = &mut self.slab[i] {
                    if c.repeat(p, hdr, src_is_a, sampled_checks(p, sampled)) {
                        return;
                    }
                }
                // A new SYN with another ISN on a flow that already had one: the ports are
                // being reused for a new connection.
                let f = self.full(i, h);
                let dir = f.dir_of(src_is_a);
                let other_isn = syn_only && f.ana[dir.idx()].isn.is_some_and(|isn| isn != hdr.seq);
                let new_conn_reverse = syn_only
                    && dir == Dir::Resp
                    && f.ep[1] == Ep::Inactive
                    && f.ep[0] != Ep::SynSent;
                if other_isn || new_conn_reverse {
                    self.end_flow(i, h);
                    reused = other_isn;
                    None
                } else {
                    Some(i)
                }
            }
            None => None,
        };
        let idx = match idx {
            Some(i) => i,
            None => {
                let s = SocketAddr::new(p.src, sport);
                let d = SocketAddr::new(p.dst, dport);
                let (orig_is_src, role) = if hdr.flags & SYN != 0 {
                    (hdr.flags & ACK == 0, RoleSource::Syn)
                } else {
                    port_heuristic(sport, dport)
                };
                let (orig, resp) = if orig_is_src { (s, d) } else { (d, s) };
                let id = self.next_flow_id(h);
                let info = FlowInfo { id, proto: Proto::Tcp, orig, resp };
                let start = FlowStart { key: k, info, a_is_orig: src_is_a == orig_is_src, role };
                if self.cfg.compact
                    && self.n_compact.saturating_add(self.n_full) >= self.cfg.compact_above_live
                    && !reused
                    && (hdr.wire_len == 0 || !self.cfg.deliver_payload)
                {
                    // Single-packet flows (and SYN floods) stay compact until a second,
                    // different packet arrives.
                    let c = Compact::new(&start, &seg, sampled_checks(p, sampled));
                    self.place(k, Slot::Compact(c));
                    return;
                }
                self.new_full(start, p)
            }
        };
        self.tcp_seg(idx, &seg, reused, h);
    }

    /// Track one segment of the full flow in slot `idx` (`reused`: the segment opened a new
    /// connection on the ports of one just ended).
    pub(super) fn tcp_seg(
        &mut self,
        idx: usize,
        s: &Seg<'_, '_>,
        reused: bool,
        h: &mut dyn StreamHandler,
    ) {
        let cfg = &self.cfg;
        let (max_events, deliver, reasm_limit) =
            (cfg.max_events, cfg.deliver_payload, cfg.reasm_limit);
        let sample = cfg.checksum_sample;
        let Slot::Full(f) = &mut self.slab[idx] else { return };
        let f: &mut Flow = f;
        let (p, hdr) = (s.p, s.hdr);
        let dir = f.dir_of(s.src_is_a);
        f.last_seen = p.ts;
        f.conv.last_frame = p.frame;
        f.conv.end = p.ts;
        count(f, s, dir, sample);
        let gap = p.ts.secs_since(f.prev_ts);
        f.fx.before(&mut f.conv, &f.ana, s, dir, gap);
        handshake(f, s, dir);

        // Wireshark-style analysis.
        let rtt_ns = f.conv.handshake_rtt.map(|r| (r * 1e9) as i64);
        let v = tcp::analyze(&mut f.ana, dir, hdr, p.ts, rtt_ns);
        flag_events(f, s, dir, &v, (reused, gap), (max_events, &mut self.stats));
        f.fx.after(&mut f.conv, &f.ana, s, dir, &v);
        nagle_and_windows(f, s, dir, &v);
        resets(f, s, dir, gap);
        segment_history(f, dir, hdr);
        if deliver {
            deliver_payload(f, s, dir, reasm_limit, h);
        }
    }
}

/// The direction's counters, and the checksums of its first `sample` packets.
#[inline]
fn count(f: &mut Flow, s: &Seg<'_, '_>, dir: Dir, sample: u32) {
    let (p, hdr, d) = (s.p, s.hdr, dir.idx());
    let ds = &mut f.conv.dirs[d];
    ds.packets += 1;
    ds.bytes += p.ip_len as u64;
    ds.frame_bytes += u64::from(p.frame_len);
    ds.payload_bytes += hdr.wire_len as u64;
    ds.first.get_or_insert(p.ts);
    ds.last = Some(p.ts);
    ds.max_segment = ds.max_segment.max(hdr.wire_len);
    if hdr.sack_blocks > 0 {
        ds.sack_used = true;
    }
    if p.zero_ip_len {
        f.conv.zero_ip_len += 1;
    }
    if f.checksums_checked[d] < sample {
        if let Some(check) = p.checksum {
            if let Some(ok) = check() {
                f.checksums_checked[d] += 1;
                if !ok {
                    f.conv.bad_checksums += 1;
                    f.conv.bad_checksum_dirs[d] += 1;
                    hist(f, dir, b'C');
                }
                if p.ip_checksum.is_some_and(|c| !c()) {
                    f.conv.bad_ip_checksums[d] += 1;
                }
            }
        }
    }
    if p.ttl == 0 {
        f.conv.ttl_zero[d] += 1;
    }
}

/// Handshake facts (SYN options, SYN and SYN-ACK frames and times, the handshake round
/// trip), RST frames, and segments over the MSS the peer offered.
#[inline]
fn handshake(f: &mut Flow, s: &Seg<'_, '_>, dir: Dir) {
    let (p, hdr, d) = (s.p, s.hdr, dir.idx());
    let syn = hdr.flags & SYN != 0;
    let ackf = hdr.flags & ACK != 0;
    if syn {
        let ds = &mut f.conv.dirs[d];
        ds.mss = hdr.mss.or(ds.mss);
        ds.wscale = hdr.wscale.or(ds.wscale);
        ds.sack_permitted |= hdr.sack_permitted;
        if !ackf && dir == Dir::Orig {
            f.conv.syn_frames.push(p.frame);
            f.first_syn_ts.get_or_insert(p.ts);
            f.last_syn_ts = Some(p.ts);
        } else if ackf && dir == Dir::Resp && f.conv.synack_frame.is_none() {
            f.conv.synack_frame = Some(p.frame);
            f.synack_ts = Some(p.ts);
            if let Some(t) = f.last_syn_ts {
                f.conv.syn_to_synack = Some(p.ts.secs_since(t));
            }
            // Window scaling is in effect when both SYNs carried the option.
            if let (Some(a), Some(b)) = (f.conv.dirs[0].wscale, f.conv.dirs[1].wscale) {
                f.ana[0].wscale_shift = Some(a);
                f.ana[1].wscale_shift = Some(b);
            }
        }
    } else if ackf && dir == Dir::Orig && f.conv.handshake_rtt.is_none() && f.synack_ts.is_some() {
        if let Some(t) = f.last_syn_ts {
            f.conv.handshake_rtt = Some(p.ts.secs_since(t));
        }
    }
    if hdr.flags & RST != 0 && f.conv.rst_frames.len() < 64 {
        f.conv.rst_frames.push((p.frame, dir));
    }
    // Oversize segment: more than the MSS the peer offered.
    if let Some(mss) = f.conv.dirs[dir.flip().idx()].mss {
        if hdr.wire_len > mss as u32 {
            f.conv.oversize_segments += 1;
        }
    }
}

/// Count the segment's analysis flags (and `ReusedPorts` when `reused`), keep them as events
/// up to `max_events` (the rest counted in the conversation and in `stats`), and mark
/// retransmissions and zero windows in the history.
#[inline]
fn flag_events(
    f: &mut Flow,
    s: &Seg<'_, '_>,
    dir: Dir,
    v: &Verdict,
    (reused, idle): (bool, f64),
    (max_events, stats): (usize, &mut EngineStats),
) {
    for fl in v.iter().chain(reused.then_some(TcpFlag::ReusedPorts)) {
        f.conv.flag_counts[fl as usize] += 1;
        if f.conv.events.len() < max_events {
            f.conv.events.push(FlagEvent {
                flag: fl,
                frame: s.p.frame,
                dir,
                ts: s.p.ts,
                rto: if fl == TcpFlag::Retransmission { v.rto } else { None },
                len: s.hdr.wire_len,
                idle,
            });
        } else {
            f.conv.events_dropped += 1;
            stats.events_dropped += 1;
        }
    }
    if v.has(TcpFlag::Retransmission) {
        hist(f, dir, b'T');
    }
    if v.has(TcpFlag::ZeroWindow) {
        hist(f, dir, b'W');
    }
}

/// The TTL each side usually sends with, a RST whose TTL differs from it, the silence before
/// the first RST, and the gap bookkeeping for the next segment.
#[inline]
fn resets(f: &mut Flow, s: &Seg<'_, '_>, dir: Dir, gap: f64) {
    let (p, d) = (s.p, dir.idx());
    let rst = s.hdr.flags & RST != 0;
    if rst {
        if let Some(usual) = f.conv.ttl[d] {
            if usual != p.ttl && f.conv.rst_ttl_mismatch.is_none() {
                f.conv.rst_ttl_mismatch = Some((p.frame, p.ttl, usual));
            }
        }
    } else {
        f.conv.ttl[d] = Some(p.ttl);
    }
    if rst && f.conv.idle_before_rst.is_none() {
        // A middlebox resets when the first packet after the silence reaches it, so the
        // silence is the gap before that packet or before the RST itself.
        f.conv.idle_before_rst = Some(gap.max(f.prev_gap));
    }
    f.prev_gap = gap;
    f.prev_ts = p.ts;
}

/// Payload to the analyzers, in order. An ACK can release (or declare lost) bytes of the
/// other direction, so each direction has its own emitter.
#[inline]
fn deliver_payload(
    f: &mut Flow,
    s: &Seg<'_, '_>,
    dir: Dir,
    reasm_limit: usize,
    h: &mut dyn StreamHandler,
) {
    let (hdr, d) = (s.hdr, dir.idx());
    let syn = hdr.flags & SYN != 0;
    let info = f.conv.info;
    let mut gap = [false; 2];
    let (frame, ts) = (s.p.frame, s.p.ts);
    if syn {
        f.reasm[d].start(hdr.seq.wrapping_add(1));
    }
    if hdr.wire_len > 0 {
        let seq = if syn { hdr.seq.wrapping_add(1) } else { hdr.seq };
        let g = &mut gap[d];
        f.reasm[d].segment_cut(seq, s.payload, hdr.wire_len, reasm_limit, &mut |o| {
            deliver_to(h, &info, dir, frame, ts, g, o)
        });
    }
    if hdr.flags & FIN != 0 {
        let end = hdr.seq.wrapping_add(hdr.wire_len).wrapping_add(syn as u32);
        f.reasm[d].fin(end);
    }
    if hdr.flags & ACK != 0 && hdr.flags & RST == 0 {
        let other = dir.flip();
        let g = &mut gap[other.idx()];
        f.reasm[other.idx()].acked(hdr.ack, &mut |o| deliver_to(h, &info, other, frame, ts, g, o));
    }
    for g in [Dir::Orig, Dir::Resp] {
        if gap[g.idx()] {
            hist(f, g, b'G');
        }
    }
}

/// Hand one reassembler output of direction `d` to the analyzers.
fn deliver_to(
    h: &mut dyn StreamHandler,
    info: &FlowInfo,
    d: Dir,
    frame: u64,
    ts: Timestamp,
    gap: &mut bool,
    o: Out<'_>,
) {
    match o {
        Out::Data { offset, data } => h.tcp_data(info, d, offset, data, frame, ts),
        Out::Gap { offset, len } => {
            *gap = true;
            h.tcp_gap(info, d, offset, len, frame, ts)
        }
    }
}

/// The TCP and IPv4 header checksum verdicts of a packet, when checksums are sampled.
fn sampled_checks(p: &Pkt<'_>, sampled: bool) -> (Option<bool>, Option<bool>) {
    if !sampled {
        return (None, None);
    }
    (p.checksum.and_then(|c| c()), p.ip_checksum.map(|c| c()))
}
