//! The flow table: one pass, state only for live flows, finished conversations handed out as
//! they end so memory follows the number of live flows, not the size of the capture.

use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::pkt::{tcpflags::*, Pkt, TcpHdr, L4};
use crate::reasm::{Out, Reasm};
use crate::tcp::{self, DirAnalysis};
use crate::{
    ConnState, Conversation, Dir, DirStats, FlagEvent, FlowInfo, IcmpError, Proto, RoleSource,
    StreamHandler, TcpFlag, Timestamp,
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
        }
    }
}

const NS: i64 = 1_000_000_000;
/// How often (capture time) idle flows are looked for.
const SWEEP_EVERY_NS: i64 = 10 * NS;

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
    /// Flows finished early because `max_flows` was reached.
    pub evicted_by_limit: u64,
    /// Bytes that waited beyond a hole when the reassembly limit was reached.
    pub reasm_overflow_bytes: u64,
    /// Flagged events not kept because a conversation reached `max_events`.
    pub events_dropped: u64,
    /// Packets whose timestamp went backwards (analysed in file order anyway).
    pub time_went_backwards: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    proto: u8,
    a: IpAddr,
    b: IpAddr,
    ap: u16,
    bp: u16,
}

/// Canonical key and whether (src, sport) is the `a` side.
fn key(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> (Key, bool) {
    if (src, sport) <= (dst, dport) {
        (Key { proto, a: src, b: dst, ap: sport, bp: dport }, true)
    } else {
        (Key { proto, a: dst, b: src, ap: dport, bp: sport }, false)
    }
}

/// Per-endpoint TCP state, as Zeek models it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum Ep {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

struct Flow {
    key: Key,
    conv: Conversation,
    /// `a` side of the key is the originator.
    a_is_orig: bool,
    ana: [DirAnalysis; 2],
    reasm: [Reasm; 2],
    ep: [Ep; 2],
    history_seen: [u32; 2],
    last_seen: Timestamp,
    closed: bool,
    only_attempts: bool,
    first_syn_ts: Option<Timestamp>,
    last_syn_ts: Option<Timestamp>,
    synack_ts: Option<Timestamp>,
    checksums_checked: [u32; 2],
    /// (ip_id, seq, ack, len, flags, window) of the last packet per direction.
    last_sig: [Option<(u16, u32, u32, u32, u8, u16)>; 2],
    last_ts: [Timestamp; 2],
    payload_seen: [bool; 2],
    /// Last new data segment per direction: (time, length, sequence after it).
    last_data: [Option<(Timestamp, u32, u32)>; 2],
    /// A bare ACK that acknowledged all of this direction's small outstanding segment after
    /// a delay: (time of the ACK, the delay, its frame).
    delayed_ack: [Option<(Timestamp, f64, u64)>; 2],
    /// A zero window advertised by this direction since this time.
    zero_window_since: [Option<Timestamp>; 2],
    /// Time of the previous packet of the flow (either direction), and the gap before it.
    prev_ts: Timestamp,
    prev_gap: f64,
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
    slab: Vec<Option<Flow>>,
    free: Vec<usize>,
    next_id: u64,
    last_sweep: Timestamp,
    now: Timestamp,
    finished: Vec<Conversation>,
    stats: EngineStats,
}

impl Engine {
    pub fn new(cfg: Config) -> Engine {
        Engine {
            cfg,
            table: FxHashMap::default(),
            slab: Vec::new(),
            free: Vec::new(),
            next_id: 0,
            last_sweep: Timestamp::ZERO,
            now: Timestamp::ZERO,
            finished: Vec::new(),
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

    /// End of input: finish every live flow; returns all conversations not yet taken.
    pub fn finish(&mut self, h: &mut dyn StreamHandler) -> Vec<Conversation> {
        let mut idx: Vec<usize> = self.table.values().copied().collect();
        // Deterministic order: by flow id.
        idx.sort_by_key(|&i| self.slab[i].as_ref().map(|f| f.conv.info.id));
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
                match self.table.get(&k) {
                    Some(&i) => {
                        let f = self.slab[i].as_mut().expect("live flow");
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

    fn new_flow(
        &mut self,
        k: Key,
        info: FlowInfo,
        a_is_orig: bool,
        role: RoleSource,
        p: &Pkt<'_>,
    ) -> usize {
        if self.table.len() >= self.cfg.max_flows {
            self.evict_for_room();
        }
        self.next_id += 1;
        self.stats.flows += 1;
        let conv = Conversation {
            info,
            role,
            state: None,
            history: String::new(),
            dirs: [DirStats::default(); 2],
            first_frame: p.frame,
            last_frame: p.frame,
            start: p.ts,
            end: p.ts,
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
            oversize_segments: 0,
            zero_ip_len: 0,
            duplicate_packets: 0,
            idle_before_rst: None,
            ttl: [None; 2],
            rst_ttl_mismatch: None,
            nagle: Default::default(),
            zero_window_periods: [0; 2],
            zero_window_secs: [0.0; 2],
        };
        let flow = Flow {
            key: k,
            conv,
            a_is_orig,
            ana: Default::default(),
            reasm: Default::default(),
            ep: [Ep::Inactive; 2],
            history_seen: [0; 2],
            last_seen: p.ts,
            closed: false,
            only_attempts: true,
            first_syn_ts: None,
            last_syn_ts: None,
            synack_ts: None,
            checksums_checked: [0; 2],
            last_sig: [None; 2],
            last_ts: [Timestamp::ZERO; 2],
            payload_seen: [false; 2],
            last_data: [None; 2],
            delayed_ack: [None; 2],
            zero_window_since: [None; 2],
            prev_ts: p.ts,
            prev_gap: 0.0,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slab[i] = Some(flow);
                i
            }
            None => {
                self.slab.push(Some(flow));
                self.slab.len() - 1
            }
        };
        self.table.insert(k, i);
        self.stats.live_flows_peak = self.stats.live_flows_peak.max(self.table.len() as u64);
        i
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
        let mut reused = false;
        let idx = match self.table.get(&k).copied() {
            Some(i) => {
                // A new SYN with another ISN on a flow that already had one: the ports are
                // being reused for a new connection.
                let f = self.slab[i].as_ref().expect("live flow");
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
                let info = FlowInfo { id: self.next_id, proto: Proto::Tcp, orig, resp };
                self.new_flow(k, info, src_is_a == orig_is_src, role, p)
            }
        };
        let cfg_events = self.cfg.max_events;
        let deliver = self.cfg.deliver_payload;
        let reasm_limit = self.cfg.reasm_limit;
        let sample = self.cfg.checksum_sample;
        let f = self.slab[idx].as_mut().expect("live flow");
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
                        hist(f, dir, b'C');
                    }
                }
            }
        }
        let sig = (p.ip_id, hdr.seq, hdr.ack, hdr.wire_len, hdr.flags, hdr.window);
        if p.ip_id != 0 && f.last_sig[d] == Some(sig) {
            f.conv.duplicate_packets += 1;
        }
        f.last_sig[d] = Some(sig);
        f.last_ts[d] = p.ts;

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
        let gap = p.ts.secs_since(f.prev_ts);
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
        if !(syn && !ackf && dir == Dir::Orig) && !(rst && f.conv.synack_frame.is_none()) {
            f.only_attempts = false;
        }
        if fin || rst {
            f.closed =
                f.ep.iter().any(|e| *e == Ep::Reset) || f.ep.iter().all(|e| *e == Ep::Closed);
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
                let info = FlowInfo { id: self.next_id, proto: Proto::Udp, orig, resp };
                self.new_flow(k, info, src_is_a == orig_is_src, role, p)
            }
        };
        let f = self.slab[idx].as_mut().expect("live flow");
        let dir = if src_is_a == f.a_is_orig { Dir::Orig } else { Dir::Resp };
        let d = dir.idx();
        f.last_seen = p.ts;
        f.conv.last_frame = p.frame;
        f.conv.end = p.ts;
        f.only_attempts = false;
        let ds = &mut f.conv.dirs[d];
        ds.packets += 1;
        ds.bytes += p.ip_len as u64;
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

    /// Finish flows that have been idle long enough.
    fn sweep(&mut self, h: &mut dyn StreamHandler) {
        let now = self.now;
        let cfg = &self.cfg;
        let mut done = Vec::new();
        for (&_k, &i) in self.table.iter() {
            let f = self.slab[i].as_ref().expect("live flow");
            let idle = now.nanos_since(f.last_seen);
            let limit = match f.key.proto {
                17 => cfg.udp_idle_timeout_ns,
                _ if f.closed => cfg.closed_timeout_ns,
                _ if f.only_attempts => cfg.attempt_timeout_ns,
                _ => cfg.tcp_idle_timeout_ns,
            };
            if idle > limit {
                done.push(i);
            }
        }
        done.sort_by_key(|&i| self.slab[i].as_ref().map(|f| f.conv.info.id));
        for i in done {
            self.end_flow(i, h);
        }
    }

    /// The flow table is full: finish the longest-idle tenth of it.
    fn evict_for_room(&mut self) {
        let mut idle: Vec<(Timestamp, usize)> = self
            .table
            .values()
            .map(|&i| (self.slab[i].as_ref().expect("live").last_seen, i))
            .collect();
        idle.sort_unstable();
        let n = (idle.len() / 10).max(1);
        let mut h = crate::NoHandler;
        for &(_, i) in &idle[..n] {
            self.stats.evicted_by_limit += 1;
            self.end_flow(i, &mut h);
        }
    }

    fn end_flow(&mut self, i: usize, h: &mut dyn StreamHandler) {
        let Some(mut f) = self.slab[i].take() else { return };
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
            for d in 0..2 {
                if let Some(t) = f.zero_window_since[d].take() {
                    f.conv.zero_window_secs[d] += f.conv.end.secs_since(t);
                }
            }
        }
        self.finished.push(f.conv);
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

/// Add a history letter (upper case for the originator) the first time it occurs.
fn hist(f: &mut Flow, dir: Dir, letter: u8) {
    let bit = 1u32 << (letter - b'A').min(31);
    if f.history_seen[dir.idx()] & bit == 0 {
        f.history_seen[dir.idx()] |= bit;
        let c = if dir == Dir::Orig { letter } else { letter.to_ascii_lowercase() };
        f.conv.history.push(c as char);
    }
}

fn update_ep(f: &mut Flow, dir: Dir, flags: u8) {
    let (d, o) = (dir.idx(), dir.flip().idx());
    let syn = flags & SYN != 0;
    let ack = flags & ACK != 0;
    if flags & RST != 0 {
        f.ep[d] = Ep::Reset;
        return;
    }
    if flags & FIN != 0 {
        if f.ep[d] != Ep::Reset {
            if f.ep[d] == Ep::Inactive {
                // FIN without anything before it from this side: a partial connection.
                f.ep[d] = Ep::Partial;
            }
            if f.ep[d] == Ep::SynSent && f.ep[o] == Ep::Inactive {
                f.ep[d] = Ep::Closed; // SH: SYN then FIN, never a SYN-ACK
                return;
            }
            f.ep[d] = Ep::Closed;
        }
        return;
    }
    match (syn, ack) {
        (true, false) => {
            if f.ep[d] == Ep::Inactive {
                f.ep[d] = Ep::SynSent;
            }
        }
        (true, true) => {
            if matches!(f.ep[d], Ep::Inactive | Ep::Partial) {
                f.ep[d] = Ep::SynAckSent;
            }
            if f.ep[o] == Ep::SynSent {
                f.ep[o] = Ep::Established;
                f.ep[d] = Ep::Established;
            }
        }
        _ => match f.ep[d] {
            Ep::Inactive => f.ep[d] = Ep::Partial,
            Ep::SynSent | Ep::SynAckSent if ack && f.ep[o] != Ep::Inactive => {
                f.ep[d] = Ep::Established;
                if matches!(f.ep[o], Ep::SynSent | Ep::SynAckSent) {
                    f.ep[o] = Ep::Established;
                }
            }
            _ => {}
        },
    }
}

/// The Zeek connection state from the two endpoint states.
fn conn_state(f: &Flow) -> ConnState {
    let (os, rs) = (f.ep[0], f.ep[1]);
    let o_inactive = matches!(os, Ep::Inactive | Ep::Partial);
    let r_inactive = matches!(rs, Ep::Inactive | Ep::Partial);
    let no_payload = !f.payload_seen[0] && !f.payload_seen[1];
    if rs == Ep::Reset {
        if matches!(os, Ep::SynSent | Ep::SynAckSent)
            || (os == Ep::Reset && no_payload && f.conv.synack_frame.is_none())
        {
            ConnState::REJ
        } else if o_inactive {
            ConnState::RSTRH
        } else {
            ConnState::RSTR
        }
    } else if os == Ep::Reset {
        if r_inactive {
            // SYN, then the originator's own RST, nothing from the responder in between.
            let h = f.conv.history.trim_start_matches('^');
            if h.starts_with('S')
                && !h[1..].contains(['H', 'A', 'F', 'G', 'I', 'Q'])
                && rs == Ep::Inactive
            {
                ConnState::RSTOS0
            } else {
                ConnState::OTH
            }
        } else {
            ConnState::RSTO
        }
    } else if os == Ep::Closed && rs == Ep::Closed {
        ConnState::SF
    } else if os == Ep::Closed {
        if r_inactive {
            ConnState::SH
        } else {
            ConnState::S2
        }
    } else if rs == Ep::Closed {
        if o_inactive {
            ConnState::SHR
        } else {
            ConnState::S3
        }
    } else if os == Ep::SynSent && rs == Ep::Inactive {
        ConnState::S0
    } else if os == Ep::Established && rs == Ep::Established {
        ConnState::S1
    } else {
        ConnState::OTH
    }
}
