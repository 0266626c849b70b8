//! The flow table: one pass, state only for live flows, finished conversations handed out as
//! they end so memory follows the number of live flows, not the size of the capture.
//!
//! This file holds the engine's face (configuration, statistics, the packet entry point, UDP,
//! the end of a flow); the rest is in its units:
//! - `engine/table.rs`: slots, compact records promoted to full flows, idle timeouts, the flow
//!   limit and the memory budget (eviction);
//! - `engine/segment.rs`: TCP handling, one segment's way through a flow;
//! - `engine/nagle.rs`: Nagle / delayed-ACK stalls and zero-window periods;
//! - `engine/state.rs`: Zeek's endpoint states, connection state and history letters.

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

mod nagle;
mod segment;
mod state;
mod table;

use crate::forensics::Forensics;
use crate::pkt::{Pkt, L4};
use crate::reasm::{Out, Reasm};
use crate::shared::{key, FlowStart, Key, Seg};
use crate::tcp::DirAnalysis;
use crate::{
    Conversation, Dir, DirStats, FlowInfo, IcmpError, Proto, RoleSource, StreamHandler, Timestamp,
};
use state::{conn_state, Ep};
use table::Slot;
pub use table::COMPACT_BYTES;

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

impl Flow {
    /// Direction of a packet sent by the key's `a` side (`src_is_a`) or its `b` side.
    #[inline]
    pub(crate) fn dir_of(&self, src_is_a: bool) -> Dir {
        if src_is_a == self.a_is_orig {
            Dir::Orig
        } else {
            Dir::Resp
        }
    }
}

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

    /// The counters, taken out once the pass is over (the attempt tables in them can be tens
    /// of megabytes: moved, not copied); the engine's own are left empty.
    pub fn take_stats(&mut self) -> EngineStats {
        std::mem::take(&mut self.stats)
    }

    pub fn live_flows(&self) -> usize {
        self.table.len()
    }

    /// Conversations that ended since the last call (the caller keeps or prints them).
    pub fn take_finished(&mut self) -> Vec<Conversation> {
        std::mem::take(&mut self.finished)
    }

    /// [`Engine::take_finished`] without giving the buffer away: the conversations are moved
    /// out one by one and the buffer keeps its room for the next ones (up to
    /// [`KEEP_FINISHED`] of them), so it does not regrow from empty after every call.
    pub fn drain_finished(&mut self) -> std::vec::Drain<'_, Conversation> {
        if self.finished.capacity() > KEEP_FINISHED && self.finished.len() <= KEEP_FINISHED {
            self.finished.shrink_to(KEEP_FINISHED);
        }
        self.finished.drain(..)
    }

    /// End of input, a batch at a time: finishes up to `max` live flows (by flow id) and
    /// returns them with any conversations not yet taken, sorted by id; an empty batch when
    /// no flow is left. Memory then holds one batch of conversations, not all of them.
    pub fn finish_batch(&mut self, h: &mut dyn StreamHandler, max: usize) -> Vec<Conversation> {
        if self.finishing.is_none() {
            let mut idx = self.by_id(|_, _| true);
            idx.reverse();
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
        out.sort_unstable_by_key(|c| c.info.id);
        out
    }

    /// End of input: finish every live flow; returns all conversations not yet taken.
    pub fn finish(&mut self, h: &mut dyn StreamHandler) -> Vec<Conversation> {
        // Deterministic order: by flow id.
        let idx = self.by_id(|_, _| true);
        self.finished.reserve(idx.len());
        for i in idx {
            self.end_flow(i, h);
        }
        let mut out = std::mem::take(&mut self.finished);
        out.sort_unstable_by_key(|c| c.info.id);
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
                self.tcp(p, (sport, dport), &hdr, payload, h)
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

    fn new_full(&mut self, start: FlowStart, p: &Pkt<'_>) -> usize {
        let mut flow = build_flow(start, p.frame, p.ts);
        flow.conv.interface = p.interface;
        self.place(start.key, Slot::Full(Box::new(flow)))
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
                let start = FlowStart { key: k, info, a_is_orig: src_is_a == orig_is_src, role };
                self.new_full(start, p)
            }
        };
        let Slot::Full(f) = &mut self.slab[idx] else { return };
        let dir = f.dir_of(src_is_a);
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

/// Room for finished conversations kept between [`Engine::drain_finished`] calls (more is
/// handed back to the allocator: one large sweep of idle flows does not pin its memory).
const KEEP_FINISHED: usize = 8192;

/// A new flow's state, before its first packet is counted.
fn build_flow(start: FlowStart, frame: u64, ts: Timestamp) -> Flow {
    let FlowStart { key: k, info, a_is_orig, role } = start;
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
        interface: 0,
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

/// Decide the initiator without a handshake: the side with the lower, well-known port is
/// taken to be the server; otherwise the sender of the first packet initiated.
fn port_heuristic(sport: u16, dport: u16) -> (bool, RoleSource) {
    if sport < 1024 && dport >= 1024 {
        (false, RoleSource::PortHeuristic)
    } else {
        (true, RoleSource::FirstPacket)
    }
}
