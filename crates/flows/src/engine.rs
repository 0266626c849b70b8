//! The flow table: one pass, state only for live flows, finished conversations handed out as
//! they end so memory follows the number of live flows, not the size of the capture.

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

mod table;

use crate::compact::{Compact, Slot};
use crate::forensics::Forensics;
use crate::pkt::{tcpflags::*, Pkt, TcpHdr, L4};
use crate::reasm::{Out, Reasm};
use crate::state::{conn_state, hist, update_ep, Ep};
use crate::tcp::{self, DirAnalysis};
use crate::{
    Conversation, Dir, DirStats, FlagEvent, FlowInfo, IcmpError, Proto, RoleSource, StreamHandler,
    TcpFlag, Timestamp,
};

/// Limits and switches of the engine. Every limit that is hit is counted in [`EngineStats`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Reassemble and hand TCP payload to the stream handler (off for plain conversation
    /// tables: faster).
    pub deliver_payload: bool,
    /// Bytes waiting beyond a hole, per direction, before the hole is declared a gap.
    pub reasm_limit: usize,
    /// Flagged events kept per conversation (counts are always complete).
    pub max_events: usize,
    /// Live flows at most; beyond it the longest-idle flows are closed early.
    pub max_flows: usize,
    /// A closed (FIN/RST) TCP flow is finished after this much capture time without packets.
    pub closed_timeout_ns: i64,
    /// A TCP flow that only ever saw connection attempts is finished after this idle time.
    pub attempt_timeout_ns: i64,
    /// Any TCP flow is finished after this idle time.
    pub tcp_idle_timeout_ns: i64,
    /// A UDP flow is finished after this idle time.
    pub udp_idle_timeout_ns: i64,
    /// Checksums are verified on the first N packets of each direction (to recognise
    /// checksum offload without paying for every packet).
    pub checksum_sample: u32,
    /// Memory budget of the flow table, in bytes, as estimated by
    /// [`Engine::memory_estimate`]: a flow that has seen one packet (or one packet and two
    /// identical repeats, such as an unanswered SYN and its retransmissions) is a compact
    /// record of [`crate::COMPACT_BYTES`] bytes plus its table entry; any other flow counts
    /// its full state ([`FULL_FLOW_BYTES`] more). Above the budget, flows that only ever
    /// saw connection attempts are ended after [`PRESSURE_ATTEMPT_TIMEOUT_NS`] of idleness
    /// (`EngineStats::expired_early_by_budget`), then the longest-idle flows are closed
    /// (`EngineStats::evicted_by_limit`) until the estimate is under nine tenths of the
    /// budget. Reassembly buffers are bounded separately (`reasm_limit`).
    pub memory_budget: usize,
    /// Keep single-packet flows as compact records (see [`crate::COMPACT_BYTES`]); off
    /// only to check that both ways give the same conversations.
    pub compact: bool,
    /// Compact records are made only while at least this many flows are alive: ordinary
    /// captures (a few thousand live flows) keep the direct path, which costs nothing extra
    /// per flow; floods and scans, whose attempts pile up, go compact once the table grows.
    pub compact_above_live: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            deliver_payload: true,
            reasm_limit: 1 << 20,
            max_events: 2000,
            max_flows: 2_000_000,
            closed_timeout_ns: 120 * NS,
            attempt_timeout_ns: 300 * NS,
            tcp_idle_timeout_ns: 3600 * NS,
            udp_idle_timeout_ns: 300 * NS,
            checksum_sample: 16,
            memory_budget: 1 << 30,
            compact: true,
            compact_above_live: 10_000,
        }
    }
}

const NS: i64 = 1_000_000_000;
/// How often (capture time) idle flows are looked for.
const SWEEP_EVERY_NS: i64 = 10 * NS;
/// Under memory pressure, flows that only saw connection attempts end after this idle time.
pub const PRESSURE_ATTEMPT_TIMEOUT_NS: i64 = 5 * NS;
/// Estimated bytes of a flow's full state beyond its slot: the state itself, its
/// conversation record's allocations and a share of its event list.
pub const FULL_FLOW_BYTES: usize = std::mem::size_of::<Flow>() + 640;
/// Estimated bytes of one table entry (key, slot index, control byte, load factor).
const TABLE_ENTRY_BYTES: usize = 64;

/// Counters of the pass.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EngineStats {
    pub packets: u64,
    pub tcp_packets: u64,
    pub udp_packets: u64,
    pub icmp_errors: u64,
    /// ICMP errors quoting a packet of no flow we know.
    pub icmp_errors_unmatched: u64,
    pub flows: u64,
    pub live_flows_peak: u64,
    /// Flows finished early because `max_flows` or the memory budget was reached.
    pub evicted_by_limit: u64,
    /// Times the memory budget was reached.
    pub memory_budget_hits: u64,
    /// Flows that only saw connection attempts, ended early because the memory budget was
    /// reached (after [`PRESSURE_ATTEMPT_TIMEOUT_NS`] idle instead of the attempt timeout).
    pub expired_early_by_budget: u64,
    /// Most compact (single-packet) flow records live at once.
    pub compact_flows_peak: u64,
    /// Compact records that became full flows (a second, different packet came).
    pub compact_promoted: u64,
    /// Every TCP flow that carried connection attempts only, by source and by service.
    #[serde(skip)]
    pub attempts: crate::AttemptSummary,
    /// Bytes that waited beyond a hole when the reassembly limit was reached.
    pub reasm_overflow_bytes: u64,
    /// Flagged events not kept because a conversation reached `max_events`.
    pub events_dropped: u64,
    /// Packets whose timestamp went backwards (analysed in file order anyway).
    pub time_went_backwards: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub proto: u8,
    pub a: IpAddr,
    pub b: IpAddr,
    pub ap: u16,
    pub bp: u16,
}

/// Canonical key and whether (src, sport) is the `a` side.
fn key(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (Key, bool) {
    if (src, sport) <= (dst, dport) {
        (Key { proto, a: src, b: dst, ap: sport, bp: dport }, true)
    } else {
        (Key { proto, a: dst, b: src, ap: dport, bp: sport }, false)
    }
}

pub(crate) struct Flow {
    pub(crate) key: Key,
    pub(crate) conv: Conversation,
    /// `a` side of the key is the originator.
    pub(crate) a_is_orig: bool,
    pub(crate) ana: [DirAnalysis; 2],
    pub(crate) reasm: [Reasm; 2],
    pub(crate) ep: [Ep; 2],
    pub(crate) history_seen: [u32; 2],
    pub(crate) last_seen: Timestamp,
    pub(crate) closed: bool,
    pub(crate) only_attempts: bool,
    pub(crate) first_syn_ts: Option<Timestamp>,
    pub(crate) last_syn_ts: Option<Timestamp>,
    pub(crate) synack_ts: Option<Timestamp>,
    pub(crate) checksums_checked: [u32; 2],
    /// Duplicates, D-SACKs, resets and conflicting data (see [`crate::forensics`]).
    pub(crate) fx: Forensics,
    pub(crate) payload_seen: [bool; 2],
    /// Last new data segment per direction: (time, length, sequence after it).
    pub(crate) last_data: [Option<(Timestamp, u32, u32)>; 2],
    /// A bare ACK that acknowledged all of this direction's small outstanding segment after
    /// a delay: (time of the ACK, the delay, its frame).
    pub(crate) delayed_ack: [Option<(Timestamp, f64, u64)>; 2],
    /// A zero window advertised by this direction since this time.
    pub(crate) zero_window_since: [Option<Timestamp>; 2],
    /// Time of the previous packet of the flow (either direction), and the gap before it.
    pub(crate) prev_ts: Timestamp,
    pub(crate) prev_gap: f64,
}

/// A bare ACK counts as delayed when it comes at least this long after the data it
/// acknowledges (and at least three handshake round trips): Linux delays ACKs ~40 ms,
/// Windows ~200 ms.
const DELAYED_ACK_MIN: f64 = 0.020;
/// The held-back segment must leave within this time of the delayed ACK.
const NAGLE_RELEASE_MAX: f64 = 0.003;
/// Segments below this size can be held back by Nagle when the MSS is unknown.
const SMALL_SEGMENT: u32 = 536;
/// Stall frames kept per conversation.
const MAX_NAGLE_FRAMES: usize = 50;

/// The conversation engine.
pub struct Engine {
    cfg: Config,
    table: FxHashMap<Key, usize>,
    slab: Vec<Slot>,
    /// Live compact records and full flows (for the memory budget).
    n_compact: usize,
    n_full: usize,
    free: Vec<usize>,
    next_id: u64,
    last_sweep: Timestamp,
    now: Timestamp,
    finished: Vec<Conversation>,
    /// Slots still to be ended by [`Engine::finish_batch`] (last id first).
    finishing: Option<Vec<usize>>,
    stats: EngineStats,
}

impl Engine {
    pub fn new(cfg: Config) -> Engine {
        Engine {
            cfg,
            table: FxHashMap::default(),
            slab: Vec::new(),
            n_compact: 0,
            n_full: 0,
            free: Vec::new(),
            next_id: 0,
            last_sweep: Timestamp::ZERO,
            now: Timestamp::ZERO,
            finished: Vec::new(),
            finishing: None,
            stats: EngineStats::default(),
        }
    }

    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    pub fn live_flows(&self) -> usize {
        self.table.len()
    }

    /// Conversations that ended since the last call (the caller keeps or prints them).
    pub fn take_finished(&mut self) -> Vec<Conversation> {
        std::mem::take(&mut self.finished)
    }

    /// End of input, a batch at a time: finishes up to `max` live flows (by flow id) and
    /// returns them with any conversations not yet taken, sorted by id; an empty batch when
    /// no flow is left. Memory then holds one batch of conversations, not all of them.
    pub fn finish_batch(&mut self, h: &mut dyn StreamHandler, max: usize) -> Vec<Conversation> {
        if self.finishing.is_none() {
            let mut idx: Vec<usize> = self.table.values().copied().collect();
            idx.sort_by_key(|&i| std::cmp::Reverse(self.flow_id(i)));
            self.finishing = Some(idx);
        }
        let mut ending = self.finishing.take().unwrap_or_default();
        for _ in 0..max.max(1) {
            let Some(i) = ending.pop() else { break };
            self.end_flow(i, h);
        }
        if !ending.is_empty() {
            self.finishing = Some(ending);
        }
        let mut out = std::mem::take(&mut self.finished);
        out.sort_by_key(|c| c.info.id);
        out
    }

    /// End of input: finish every live flow; returns all conversations not yet taken.
    pub fn finish(&mut self, h: &mut dyn StreamHandler) -> Vec<Conversation> {
        let mut idx: Vec<usize> = self.table.values().copied().collect();
        // Deterministic order: by flow id.
        idx.sort_by_key(|&i| self.flow_id(i));
        for i in idx {
            self.end_flow(i, h);
        }
        let mut out = std::mem::take(&mut self.finished);
        out.sort_by_key(|c| c.info.id);
        out
    }

    /// Track one packet.
    pub fn process_pkt(&mut self, p: &Pkt<'_>, h: &mut dyn StreamHandler) {
        self.stats.packets += 1;
        if p.ts < self.now {
            self.stats.time_went_backwards += 1;
        } else {
            self.now = p.ts;
        }
        if self.now.nanos_since(self.last_sweep) >= SWEEP_EVERY_NS {
            self.sweep(h);
            self.last_sweep = self.now;
        }
        match p.l4 {
            L4::Tcp { sport, dport, hdr, payload } => {
                self.stats.tcp_packets += 1;
                self.tcp(p, sport, dport, &hdr, payload, h)
            }
            L4::Udp { sport, dport, payload } => {
                self.stats.udp_packets += 1;
                self.udp(p, sport, dport, payload, h)
            }
            L4::IcmpError { v6, icmp_type, code, q_proto, q_src, q_dst, q_sport, q_dport } => {
                self.stats.icmp_errors += 1;
                let (k, _) = key(q_proto, q_src, q_sport, q_dst, q_dport);
                match self.table.get(&k).copied() {
                    Some(i) => {
                        let f = self.full(i, h);
                        if f.conv.icmp_errors.len() < 64 {
                            f.conv.icmp_errors.push(IcmpError {
                                frame: p.frame,
                                ts: p.ts,
                                from: p.src,
                                v6,
                                icmp_type,
                                code,
                            });
                        }
                    }
                    None => self.stats.icmp_errors_unmatched += 1,
                }
            }
        }
    }

    fn new_full(
        &mut self,
        k: Key,
        info: FlowInfo,
        a_is_orig: bool,
        role: RoleSource,
        p: &Pkt<'_>,
    ) -> usize {
        let flow = build_flow(k, info, a_is_orig, role, p.frame, p.ts);
        self.place(k, Slot::Full(Box::new(flow)))
    }

    fn tcp(
        &mut self,
        p: &Pkt<'_>,
        sport: u16,
        dport: u16,
        hdr: &TcpHdr,
        payload: &[u8],
        h: &mut dyn StreamHandler,
    ) {
        let (k, src_is_a) = key(6, p.src, sport, p.dst, dport);
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
                let dir = if src_is_a == f.a_is_orig { Dir::Orig } else { Dir::Resp };
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
                let a_is_orig = src_is_a == orig_is_src;
                if self.cfg.compact
                    && self.n_compact.saturating_add(self.n_full) >= self.cfg.compact_above_live
                    && !reused
                    && (hdr.wire_len == 0 || !self.cfg.deliver_payload)
                {
                    // Single-packet flows (and SYN floods) stay compact until a second,
                    // different packet arrives.
                    let ck = sampled_checks(p, sampled);
                    let c = Compact::new(k, &info, a_is_orig, src_is_a, role, p, hdr, ck);
                    self.place(k, Slot::Compact(c));
                    return;
                }
                self.new_full(k, info, a_is_orig, role, p)
            }
        };
        self.tcp_seg(idx, p, hdr, payload, src_is_a, reused, h);
    }

    /// Track one segment of the full flow in slot `idx`.
    #[allow(clippy::too_many_arguments)]
    fn tcp_seg(
        &mut self,
        idx: usize,
        p: &Pkt<'_>,
        hdr: &TcpHdr,
        payload: &[u8],
        src_is_a: bool,
        reused: bool,
        h: &mut dyn StreamHandler,
    ) {
        let cfg_events = self.cfg.max_events;
        let deliver = self.cfg.deliver_payload;
        let reasm_limit = self.cfg.reasm_limit;
        let sample = self.cfg.checksum_sample;
        let Slot::Full(f) = &mut self.slab[idx] else { return };
        let f: &mut Flow = f;
        let dir = if src_is_a == f.a_is_orig { Dir::Orig } else { Dir::Resp };
        let d = dir.idx();
        let info = f.conv.info;
        f.last_seen = p.ts;
        f.conv.last_frame = p.frame;
        f.conv.end = p.ts;

        // Counters.
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
        let gap = p.ts.secs_since(f.prev_ts);
        f.fx.before(&mut f.conv, &f.ana, dir, p, hdr, gap);

        let syn = hdr.flags & SYN != 0;
        let ackf = hdr.flags & ACK != 0;
        let fin = hdr.flags & FIN != 0;
        let rst = hdr.flags & RST != 0;

        // Handshake facts and options.
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
        } else if ackf
            && dir == Dir::Orig
            && f.conv.handshake_rtt.is_none()
            && f.synack_ts.is_some()
        {
            if let Some(t) = f.last_syn_ts {
                f.conv.handshake_rtt = Some(p.ts.secs_since(t));
            }
        }
        if rst && f.conv.rst_frames.len() < 64 {
            f.conv.rst_frames.push((p.frame, dir));
        }
        // Oversize segment: more than the MSS the peer offered.
        if let Some(mss) = f.conv.dirs[dir.flip().idx()].mss {
            if hdr.wire_len > mss as u32 {
                f.conv.oversize_segments += 1;
            }
        }

        // Wireshark-style analysis.
        let rtt_ns = f.conv.handshake_rtt.map(|r| (r * 1e9) as i64);
        let v = tcp::analyze(&mut f.ana, dir, hdr, p.ts, rtt_ns);
        for fl in v.iter().chain(reused.then_some(TcpFlag::ReusedPorts)) {
            f.conv.flag_counts[fl as usize] += 1;
            if f.conv.events.len() < cfg_events {
                f.conv.events.push(FlagEvent {
                    flag: fl,
                    frame: p.frame,
                    dir,
                    ts: p.ts,
                    rto: if fl == TcpFlag::Retransmission { v.rto } else { None },
                    len: hdr.wire_len,
                    idle: gap,
                });
            } else {
                f.conv.events_dropped += 1;
                self.stats.events_dropped += 1;
            }
        }
        if v.has(TcpFlag::Retransmission) {
            hist(f, dir, b'T');
        }
        if v.has(TcpFlag::ZeroWindow) {
            hist(f, dir, b'W');
        }

        f.fx.after(&mut f.conv, &f.ana, dir, p, hdr, payload, &v);
        nagle_and_windows(f, dir, hdr, p, &v);
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

        // Endpoint states and history.
        update_ep(f, dir, hdr.flags);
        if syn && fin {
            hist(f, dir, b'Q');
        } else if syn && rst {
            hist(f, dir, b'I');
        } else if syn {
            hist(f, dir, if ackf { b'H' } else { b'S' });
        }
        if hdr.wire_len > 0 {
            hist(f, dir, b'D');
            f.payload_seen[d] = true;
        } else if ackf && !syn && !fin && !rst {
            hist(f, dir, b'A');
        }
        if fin {
            hist(f, dir, b'F');
        }
        if rst {
            hist(f, dir, b'R');
        }
        let attempt = syn && !ackf && dir == Dir::Orig;
        if !(attempt || rst && f.conv.synack_frame.is_none()) {
            f.only_attempts = false;
        }
        if fin || rst {
            f.closed = f.ep.contains(&Ep::Reset) || f.ep.iter().all(|e| *e == Ep::Closed);
        }

        // Payload to the analyzers, in order. An ACK can release (or declare lost) bytes of
        // the other direction, so each direction has its own emitter.
        if deliver {
            let mut gap = [false; 2];
            let (frame, ts) = (p.frame, p.ts);
            if syn {
                f.reasm[d].start(hdr.seq.wrapping_add(1));
            }
            if hdr.wire_len > 0 {
                let seq = if syn { hdr.seq.wrapping_add(1) } else { hdr.seq };
                let g = &mut gap[d];
                f.reasm[d].segment_cut(seq, payload, hdr.wire_len, reasm_limit, &mut |o| {
                    deliver_to(h, &info, dir, frame, ts, g, o)
                });
            }
            if fin {
                let s = hdr.seq.wrapping_add(hdr.wire_len).wrapping_add(syn as u32);
                f.reasm[d].fin(s);
            }
            if ackf && !rst {
                let other = dir.flip();
                let g = &mut gap[other.idx()];
                f.reasm[other.idx()]
                    .acked(hdr.ack, &mut |o| deliver_to(h, &info, other, frame, ts, g, o));
            }
            for g in [Dir::Orig, Dir::Resp] {
                if gap[g.idx()] {
                    hist(f, g, b'G');
                }
            }
        }
    }

    fn udp(
        &mut self,
        p: &Pkt<'_>,
        sport: u16,
        dport: u16,
        payload: &[u8],
        h: &mut dyn StreamHandler,
    ) {
        let (k, src_is_a) = key(17, p.src, sport, p.dst, dport);
        let idx = match self.table.get(&k).copied() {
            Some(i) => i,
            None => {
                let s = SocketAddr::new(p.src, sport);
                let d = SocketAddr::new(p.dst, dport);
                let (orig_is_src, role) = port_heuristic(sport, dport);
                let (orig, resp) = if orig_is_src { (s, d) } else { (d, s) };
                let id = self.next_flow_id(h);
                let info = FlowInfo { id, proto: Proto::Udp, orig, resp };
                self.new_full(k, info, src_is_a == orig_is_src, role, p)
            }
        };
        let Slot::Full(f) = &mut self.slab[idx] else { return };
        let dir = if src_is_a == f.a_is_orig { Dir::Orig } else { Dir::Resp };
        let d = dir.idx();
        f.last_seen = p.ts;
        f.conv.last_frame = p.frame;
        f.conv.end = p.ts;
        f.only_attempts = false;
        let ds = &mut f.conv.dirs[d];
        ds.packets += 1;
        ds.bytes += p.ip_len as u64;
        ds.frame_bytes += u64::from(p.frame_len);
        ds.payload_bytes += payload.len() as u64;
        ds.first.get_or_insert(p.ts);
        ds.last = Some(p.ts);
        ds.max_segment = ds.max_segment.max(payload.len() as u32);
        if f.checksums_checked[d] < self.cfg.checksum_sample {
            if let Some(check) = p.checksum {
                if let Some(ok) = check() {
                    f.checksums_checked[d] += 1;
                    if !ok {
                        f.conv.bad_checksums += 1;
                    }
                }
            }
        }
        let info = f.conv.info;
        if self.cfg.deliver_payload {
            h.udp(&info, dir, payload, p.frame, p.ts);
        }
    }

    fn end_flow(&mut self, i: usize, h: &mut dyn StreamHandler) {
        if let Slot::Compact(_) = &self.slab[i] {
            self.full(i, h);
        }
        let Slot::Full(mut f) = std::mem::replace(&mut self.slab[i], Slot::Free) else { return };
        self.n_full -= 1;
        self.table.remove(&f.key);
        self.free.push(i);
        let info = f.conv.info;
        if f.key.proto == 6 {
            if self.cfg.deliver_payload {
                for d in [Dir::Orig, Dir::Resp] {
                    let mut emit = |o: Out<'_>| match o {
                        Out::Data { offset, data } => {
                            h.tcp_data(&info, d, offset, data, f.conv.last_frame, f.conv.end)
                        }
                        Out::Gap { offset, len } => {
                            h.tcp_gap(&info, d, offset, len, f.conv.last_frame, f.conv.end)
                        }
                    };
                    f.reasm[d.idx()].finish(&mut emit);
                    self.stats.reasm_overflow_bytes += f.reasm[d.idx()].overflowed;
                }
                h.tcp_end(&info, f.conv.end);
            }
            f.conv.state = Some(conn_state(&f));
            f.fx.finish(&mut f.conv);
            for d in 0..2 {
                if let Some(t) = f.zero_window_since[d].take() {
                    f.conv.zero_window_secs[d] += f.conv.end.secs_since(t);
                }
            }
        }
        if f.key.proto == 6 {
            self.stats.attempts.add(&f.conv);
        }
        self.finished.push(f.conv);
    }
}

/// A new flow's state, before its first packet is counted.
fn build_flow(
    k: Key,
    info: FlowInfo,
    a_is_orig: bool,
    role: RoleSource,
    frame: u64,
    ts: Timestamp,
) -> Flow {
    let conv = Conversation {
        info,
        role,
        state: None,
        history: String::new(),
        dirs: [DirStats::default(); 2],
        first_frame: frame,
        last_frame: frame,
        start: ts,
        end: ts,
        syn_frames: Vec::new(),
        synack_frame: None,
        rst_frames: Vec::new(),
        handshake_rtt: None,
        syn_to_synack: None,
        flag_counts: [0; 14],
        events: Vec::new(),
        events_dropped: 0,
        icmp_errors: Vec::new(),
        bad_checksums: 0,
        bad_checksum_dirs: [0; 2],
        bad_ip_checksums: [0; 2],
        ttl_zero: [0; 2],
        oversize_segments: 0,
        zero_ip_len: 0,
        duplicate_packets: 0,
        duplicated_packets: 0,
        duplicate_max_copies: 0,
        dsack_blocks: [0; 2],
        spurious_retx: Vec::new(),
        rsts: Vec::new(),
        data_conflicts: Vec::new(),
        idle_before_rst: None,
        ttl: [None; 2],
        rst_ttl_mismatch: None,
        nagle: Default::default(),
        zero_window_periods: [0; 2],
        zero_window_secs: [0.0; 2],
    };
    Flow {
        key: k,
        conv,
        a_is_orig,
        ana: Default::default(),
        reasm: Default::default(),
        ep: [Ep::Inactive; 2],
        history_seen: [0; 2],
        last_seen: ts,
        closed: false,
        only_attempts: true,
        first_syn_ts: None,
        last_syn_ts: None,
        synack_ts: None,
        checksums_checked: [0; 2],
        fx: Forensics::default(),
        payload_seen: [false; 2],
        last_data: [None; 2],
        delayed_ack: [None; 2],
        zero_window_since: [None; 2],
        prev_ts: ts,
        prev_gap: 0.0,
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

/// Nagle / delayed-ACK stalls and zero-window periods.
///
/// A stall: direction `d` sent a small segment; the peer's bare ACK of everything outstanding
/// came only after a delay (its delayed-ACK timer); `d` sent its next data right after that
/// ACK — it had the data but Nagle's algorithm held it until the small segment was
/// acknowledged.
fn nagle_and_windows(f: &mut Flow, dir: Dir, hdr: &TcpHdr, p: &Pkt<'_>, v: &tcp::Verdict) {
    let (d, o) = (dir.idx(), dir.flip().idx());
    let data = hdr.wire_len > 0;
    let ctl = hdr.flags & (SYN | FIN | RST) != 0;
    if data && !v.has(TcpFlag::Retransmission) && !ctl {
        if let Some((ack_ts, delay, frame)) = f.delayed_ack[d].take() {
            if p.ts.secs_since(ack_ts) <= NAGLE_RELEASE_MAX {
                let n = &mut f.conv.nagle;
                n.stalls += 1;
                n.secs += delay;
                n.max_secs = n.max_secs.max(delay);
                if n.ack_frames.len() < MAX_NAGLE_FRAMES {
                    n.ack_frames.push(frame);
                    n.sender_dirs.push(dir);
                }
            }
        }
        f.last_data[d] = Some((p.ts, hdr.wire_len, hdr.seq.wrapping_add(hdr.wire_len)));
        // Data from this side answers the peer: the peer is not waiting on an ACK from us.
        f.delayed_ack[o] = None;
    } else if !data && !ctl && hdr.flags & ACK != 0 {
        // A bare ACK from this side: did it release the peer's small segment late?
        if let Some((t0, len, end)) = f.last_data[o] {
            let small = len
                < f.conv.dirs[d]
                    .mss
                    .map(u32::from)
                    .unwrap_or(SMALL_SEGMENT + 1)
                    .min(SMALL_SEGMENT + 1)
                || len < SMALL_SEGMENT;
            let delay = p.ts.secs_since(t0);
            let rtt = f.conv.handshake_rtt.unwrap_or(0.0);
            if hdr.ack == end && small && delay >= DELAYED_ACK_MIN.max(3.0 * rtt) {
                f.delayed_ack[o] = Some((p.ts, delay, p.frame));
            }
        }
    }
    // Zero-window periods of this direction's advertised window.
    if !ctl || hdr.flags & ACK != 0 {
        if hdr.window == 0 && !ctl {
            if f.zero_window_since[d].is_none() {
                f.zero_window_since[d] = Some(p.ts);
                f.conv.zero_window_periods[d] += 1;
            }
        } else if hdr.window != 0 {
            if let Some(t) = f.zero_window_since[d].take() {
                f.conv.zero_window_secs[d] += p.ts.secs_since(t);
            }
        }
    }
}

/// Decide the initiator without a handshake: the side with the lower, well-known port is
/// taken to be the server; otherwise the sender of the first packet initiated.
fn port_heuristic(sport: u16, dport: u16) -> (bool, RoleSource) {
    if sport < 1024 && dport >= 1024 {
        (false, RoleSource::PortHeuristic)
    } else {
        (true, RoleSource::FirstPacket)
    }
}

/// The TCP and IPv4 header checksum verdicts of a packet, when checksums are sampled.
fn sampled_checks(p: &Pkt<'_>, sampled: bool) -> (Option<bool>, Option<bool>) {
    if !sampled {
        return (None, None);
    }
    (p.checksum.and_then(|c| c()), p.ip_checksum.map(|c| c()))
}
