//! The flow table's housekeeping: slots, compact records promoted to full flows, idle
//! timeouts, the flow limit and the memory budget (see [`Config::memory_budget`]).

use super::*;
use crate::compact::Compact;

/// A slab slot: free, a compact record, or a full flow.
pub(crate) enum Slot {
    Free,
    Compact(Compact),
    Full(Box<Flow>),
}

/// Bytes of one compact slot (the record and the slab slot holding it).
pub const COMPACT_BYTES: usize = std::mem::size_of::<Slot>();

// The bound of issue 11: a half-open flow costs at most 256 bytes, its table entry (key,
// slot index, control byte, at the table's load) included. Checked when compiling.
const _: () = assert!(COMPACT_BYTES + 64 <= 256);

impl Engine {
    /// Room for one more flow (the flow limit and the memory budget), then a new flow id.
    pub(super) fn next_flow_id(&mut self, h: &mut dyn StreamHandler) -> u64 {
        if self.table.len() >= self.cfg.max_flows {
            self.evict_for_room(h);
        }
        if self.memory_estimate() > self.cfg.memory_budget {
            self.relieve_pressure(h);
        }
        let id = self.next_id;
        self.next_id += 1;
        self.stats.flows += 1;
        id
    }

    /// Estimated bytes held by the live flows (see [`Config::memory_budget`]).
    pub fn memory_estimate(&self) -> usize {
        let slot = std::mem::size_of::<Slot>() + TABLE_ENTRY_BYTES;
        self.n_compact * slot + self.n_full * (slot + FULL_FLOW_BYTES)
    }

    /// Put a flow in a free slot of the slab and the table.
    pub(super) fn place(&mut self, k: Key, slot: Slot) -> usize {
        match &slot {
            Slot::Compact(_) => self.n_compact += 1,
            Slot::Full(_) => self.n_full += 1,
            Slot::Free => {}
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.slab[i] = slot;
                i
            }
            None => {
                self.slab.push(slot);
                self.slab.len() - 1
            }
        };
        self.table.insert(k, i);
        self.stats.live_flows_peak = self.stats.live_flows_peak.max(self.table.len() as u64);
        self.stats.compact_flows_peak = self.stats.compact_flows_peak.max(self.n_compact as u64);
        i
    }

    /// The full state of the live flow in slot `i`, built (and its stored packets replayed)
    /// when it is still a compact record.
    pub(super) fn full(&mut self, i: usize, h: &mut dyn StreamHandler) -> &mut Flow {
        if let Slot::Compact(_) = &self.slab[i] {
            let Slot::Compact(c) = std::mem::replace(&mut self.slab[i], Slot::Free) else {
                unreachable!()
            };
            let (first_frame, first_ts) = (c.first.frame, c.first.ts);
            let start =
                FlowStart { key: c.key, info: c.info(), a_is_orig: c.a_is_orig, role: c.role };
            let mut flow = build_flow(start, first_frame, first_ts);
            flow.conv.interface = c.interface;
            self.slab[i] = Slot::Full(Box::new(flow));
            self.n_compact -= 1;
            self.n_full += 1;
            self.stats.compact_promoted += 1;
            for seen in c.seen() {
                let (ck, ip_ck) = (c.checksum, c.ip_checksum.unwrap_or(true));
                let check = move || ck;
                let ip_check = move || ip_ck;
                let p = c.pkt(seen, &check, &ip_check);
                let seg = Seg { p: &p, hdr: &c.hdr, payload: &[], src_is_a: c.src_is_a };
                self.tcp_seg(i, &seg, false, h);
            }
        }
        match &mut self.slab[i] {
            Slot::Full(f) => f,
            _ => unreachable!("live flow"),
        }
    }

    /// Id of the live flow in slot `i`.
    pub(super) fn flow_id(&self, i: usize) -> u64 {
        match &self.slab[i] {
            Slot::Compact(c) => c.id,
            Slot::Full(f) => f.conv.info.id,
            Slot::Free => u64::MAX,
        }
    }

    /// The slots of the live flows that pass `keep`, in flow id order (ids are unique, so
    /// an unstable sort of (id, slot) pairs gives the one order there is).
    pub(super) fn by_id(&self, keep: impl Fn(&Engine, usize) -> bool) -> Vec<usize> {
        let mut v: Vec<(u64, usize)> = self
            .table
            .values()
            .copied()
            .filter(|&i| keep(self, i))
            .map(|i| (self.flow_id(i), i))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, i)| i).collect()
    }

    /// (last packet time, idle timeout, only attempts) of the live flow in slot `i`.
    pub(super) fn idle_class(&self, i: usize) -> (Timestamp, i64, bool) {
        let cfg = &self.cfg;
        match &self.slab[i] {
            Slot::Compact(c) => {
                let limit = if c.closed() {
                    cfg.closed_timeout_ns
                } else if c.only_attempts() {
                    cfg.attempt_timeout_ns
                } else {
                    cfg.tcp_idle_timeout_ns
                };
                (c.last_seen(), limit, c.only_attempts())
            }
            Slot::Full(f) => {
                let limit = match f.key.proto {
                    17 => cfg.udp_idle_timeout_ns,
                    _ if f.closed => cfg.closed_timeout_ns,
                    _ if f.only_attempts => cfg.attempt_timeout_ns,
                    _ => cfg.tcp_idle_timeout_ns,
                };
                (f.last_seen, limit, f.only_attempts && f.key.proto == 6)
            }
            Slot::Free => (Timestamp::ZERO, 0, false),
        }
    }

    /// Finish flows that have been idle long enough.
    pub(super) fn sweep(&mut self, h: &mut dyn StreamHandler) {
        let now = self.now;
        let done = self.by_id(|e, i| {
            let (last, limit, _) = e.idle_class(i);
            now.nanos_since(last) > limit
        });
        self.finished.reserve(done.len());
        for i in done {
            self.end_flow(i, h);
        }
    }

    /// Over the memory budget: first end the flows that only ever saw connection attempts
    /// and have been idle for [`PRESSURE_ATTEMPT_TIMEOUT_NS`] (instead of
    /// `attempt_timeout_ns`); if that is not enough to get back under nine tenths of the
    /// budget, close the longest-idle flows (as [`Self::evict_for_room`] does). Both are
    /// counted in [`EngineStats`].
    pub(super) fn relieve_pressure(&mut self, h: &mut dyn StreamHandler) {
        self.stats.memory_budget_hits += 1;
        let now = self.now;
        let done = self.by_id(|e, i| {
            let (last, _, attempts) = e.idle_class(i);
            attempts && now.nanos_since(last) > PRESSURE_ATTEMPT_TIMEOUT_NS
        });
        self.finished.reserve(done.len());
        for i in done {
            self.stats.expired_early_by_budget += 1;
            self.end_flow(i, h);
        }
        let target = self.cfg.memory_budget / 10 * 9;
        if self.memory_estimate() > target {
            let mut idle: Vec<(Timestamp, u64, usize)> =
                self.table.values().map(|&i| (self.idle_class(i).0, self.flow_id(i), i)).collect();
            idle.sort_unstable();
            for &(_, _, i) in &idle {
                if self.memory_estimate() <= target {
                    break;
                }
                self.stats.evicted_by_limit += 1;
                self.end_flow(i, h);
            }
        }
    }

    /// The flow table is full: finish the longest-idle tenth of it (through the handler, so
    /// the analyzers close their state for these flows too).
    pub(super) fn evict_for_room(&mut self, h: &mut dyn StreamHandler) {
        let mut idle: Vec<(Timestamp, u64, usize)> =
            self.table.values().map(|&i| (self.idle_class(i).0, self.flow_id(i), i)).collect();
        idle.sort_unstable();
        let n = (idle.len() / 10).max(1);
        for &(_, _, i) in &idle[..n] {
            self.stats.evicted_by_limit += 1;
            self.end_flow(i, h);
        }
    }
}
