//! IPv4 and IPv6 fragment reassembly with bounded memory.
//!
//! Fragments are keyed by (source, destination, protocol, identification). Overlaps are
//! resolved deterministically: **bytes received first win** (later copies of a range are
//! compared, counted as overlaps, and as conflicts when they differ, then dropped). A last
//! fragment (more = false) fixes the datagram length; fragments that contradict it are
//! dropped and counted. Datagrams time out `timeout_ns` of *capture* time after their first
//! fragment. Every limit that is hit is counted in [`Stats`].
//!
//! Timestamps are nanoseconds since the epoch (`tracehound_capture::Timestamp.0`).

use std::collections::HashMap;
use std::net::IpAddr;

/// Identifies the datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 protocol or the IPv6 fragment header's next header.
    pub proto: u8,
    /// IPv4 identification (16 bits) or IPv6 fragment identification.
    pub ident: u32,
}

/// Memory and time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Datagrams in progress at once; the oldest is evicted to make room.
    pub max_datagrams: usize,
    /// Bytes buffered over all datagrams; the oldest are evicted to make room.
    pub max_bytes: usize,
    /// Largest reassembled payload accepted (IP payload bytes).
    pub max_datagram_size: usize,
    /// Distinct byte ranges (holes make more) kept per datagram.
    pub max_ranges: usize,
    /// Capture time after the first fragment before a datagram is dropped (nanoseconds).
    pub timeout_ns: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_datagrams: 4096,
            max_bytes: 64 << 20,
            max_datagram_size: 65535,
            max_ranges: 256,
            timeout_ns: 60_000_000_000,
        }
    }
}

/// Counters (all monotonically increasing except `in_progress` and `bytes_in_use`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub fragments: u64,
    pub completed: u64,
    /// Datagrams dropped incomplete because they timed out.
    pub timed_out: u64,
    /// Datagrams evicted to respect `max_datagrams`.
    pub evicted_datagram_limit: u64,
    /// Datagrams evicted (or fragments refused) to respect `max_bytes`.
    pub evicted_bytes_limit: u64,
    /// Datagrams dropped because a fragment reached past `max_datagram_size`.
    pub too_big: u64,
    /// Datagrams dropped because they exceeded `max_ranges`.
    pub too_many_ranges: u64,
    /// Fragments overlapping bytes already held.
    pub overlaps: u64,
    /// Overlapping fragments whose bytes differed from those held (first copy kept).
    pub overlap_conflicts: u64,
    /// Fragments contradicting the datagram length set by a last fragment (dropped).
    pub inconsistent_length: u64,
    pub in_progress: usize,
    pub bytes_in_use: usize,
}

/// A completed datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub key: Key,
    /// The reassembled IP payload (for IPv6: the fragmentable part).
    pub data: Vec<u8>,
    pub fragments: u32,
    pub first_ts: i64,
    pub last_ts: i64,
    /// Fragments of this datagram that overlapped earlier ones.
    pub overlaps: u32,
}

impl Reassembled {
    /// Decodes the transport layer of the reassembled payload.
    pub fn transport(&self) -> crate::Transport<'_> {
        crate::decode_transport(self.key.proto, self.key.src.is_ipv6(), &self.data)
    }
}

#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    /// Sorted, disjoint, non-adjacent filled ranges [start, end).
    filled: Vec<(u32, u32)>,
    total: Option<u32>,
    first_ts: i64,
    last_ts: i64,
    fragments: u32,
    overlaps: u32,
    order: u64,
}

/// Fragment reassembler. See the module docs.
#[derive(Debug)]
pub struct Reassembler {
    limits: Limits,
    map: HashMap<Key, Partial>,
    stats: Stats,
    next_order: u64,
    /// Capture time at which the oldest datagram held times out.
    next_expiry_check: i64,
}

impl Default for Reassembler {
    fn default() -> Self {
        Reassembler::new(Limits::default())
    }
}

impl Reassembler {
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            map: HashMap::new(),
            stats: Stats::default(),
            next_order: 0,
            next_expiry_check: i64::MAX,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> Stats {
        Stats { in_progress: self.map.len(), ..self.stats }
    }

    /// Drops datagrams whose first fragment is `timeout_ns` or more before `ts`.
    pub fn expire(&mut self, ts: i64) {
        let timeout = self.limits.timeout_ns;
        let before = self.map.len();
        let mut freed = 0usize;
        let mut next = i64::MAX;
        self.map.retain(|_, p| {
            let keep = ts.saturating_sub(p.first_ts) < timeout;
            if keep {
                next = next.min(p.first_ts.saturating_add(timeout));
            } else {
                freed += p.data.len();
            }
            keep
        });
        self.stats.timed_out += (before - self.map.len()) as u64;
        self.stats.bytes_in_use = self.stats.bytes_in_use.saturating_sub(freed);
        // The next time anything held can expire (pushes of new datagrams lower it).
        self.next_expiry_check = next;
    }

    fn remove(&mut self, key: &Key) -> Option<Partial> {
        let p = self.map.remove(key)?;
        self.stats.bytes_in_use = self.stats.bytes_in_use.saturating_sub(p.data.len());
        Some(p)
    }

    fn oldest_except(&self, except: &Key) -> Option<Key> {
        self.map
            .iter()
            .filter(|(k, _)| *k != except)
            .min_by_key(|(_, p)| (p.first_ts, p.order))
            .map(|(k, _)| *k)
    }

    /// Adds a fragment: `offset` in bytes, `more` = more fragments follow, `payload` the
    /// fragment's data. Returns the datagram when this fragment completes it.
    pub fn push(
        &mut self,
        key: Key,
        offset: u16,
        more: bool,
        payload: &[u8],
        ts: i64,
    ) -> Option<Reassembled> {
        self.stats.fragments += 1;
        if ts >= self.next_expiry_check {
            self.expire(ts);
        }
        let start = u32::from(offset);
        let end = start.saturating_add(u32::try_from(payload.len()).unwrap_or(u32::MAX));
        if end as usize > self.limits.max_datagram_size {
            self.stats.too_big += 1;
            self.remove(&key);
            return None;
        }
        if !self.map.contains_key(&key) && !self.open(key, ts) {
            return None;
        }
        // Length consistency (checked before any memory is committed).
        if !self.consistent(&key, end, more)? {
            self.stats.inconsistent_length += 1;
            return None;
        }
        let growth = self.reserve(&key, end)?;

        let p = self.map.get_mut(&key)?;
        p.fragments = p.fragments.saturating_add(1);
        p.last_ts = p.last_ts.max(ts);
        if !more {
            p.total = Some(end);
        }
        if growth > 0 {
            p.data.reserve_exact(growth);
            p.data.resize(end as usize, 0);
        }
        let (overlap, conflict) = write_range(p, start, payload);
        if overlap {
            p.overlaps = p.overlaps.saturating_add(1);
            self.stats.overlaps += 1;
        }
        if conflict {
            self.stats.overlap_conflicts += 1;
        }
        if p.filled.len() > self.limits.max_ranges {
            self.stats.too_many_ranges += 1;
            self.remove(&key);
            return None;
        }
        let done = match (p.total, p.filled.as_slice()) {
            (Some(0), []) => true,
            (Some(t), [(0, e)]) => *e == t,
            _ => false,
        };
        if !done {
            return None;
        }
        let p = self.remove(&key)?;
        self.stats.completed += 1;
        Some(Reassembled {
            key,
            data: p.data,
            fragments: p.fragments,
            first_ts: p.first_ts,
            last_ts: p.last_ts,
            overlaps: p.overlaps,
        })
    }

    /// A new datagram's entry, room made by closing the oldest ones; false when no datagram
    /// may be held at all.
    fn open(&mut self, key: Key, ts: i64) -> bool {
        if self.limits.max_datagrams == 0 {
            self.stats.evicted_datagram_limit += 1;
            return false;
        }
        while self.map.len() >= self.limits.max_datagrams {
            let Some(old) = self.oldest_except(&key) else {
                break;
            };
            self.remove(&old);
            self.stats.evicted_datagram_limit += 1;
        }
        self.next_expiry_check =
            self.next_expiry_check.min(ts.saturating_add(self.limits.timeout_ns));
        let order = self.next_order;
        self.next_order += 1;
        self.map.insert(
            key,
            Partial {
                data: Vec::new(),
                filled: Vec::new(),
                total: None,
                first_ts: ts,
                last_ts: ts,
                fragments: 0,
                overlaps: 0,
                order,
            },
        );
        true
    }

    /// Whether a fragment ending at `end` (`more`: not the last) fits the lengths the
    /// datagram already has; None when the datagram is not held.
    fn consistent(&self, key: &Key, end: u32, more: bool) -> Option<bool> {
        let p = self.map.get(key)?;
        let held_end = p.filled.last().map_or(0, |r| r.1);
        let bad = match (p.total, more) {
            (Some(t), false) => t != end,
            (Some(t), true) => end > t,
            (None, false) => held_end > end,
            (None, true) => false,
        };
        Some(!bad)
    }

    /// Memory for the datagram to grow to `end` bytes, made by closing the oldest others:
    /// the growth, or None when it cannot fit (the datagram is then dropped).
    fn reserve(&mut self, key: &Key, end: u32) -> Option<usize> {
        let cur_len = self.map.get(key).map_or(0, |p| p.data.len());
        let growth = (end as usize).saturating_sub(cur_len);
        while self.stats.bytes_in_use.saturating_add(growth) > self.limits.max_bytes {
            let Some(old) = self.oldest_except(key) else {
                break;
            };
            self.remove(&old);
            self.stats.evicted_bytes_limit += 1;
        }
        if self.stats.bytes_in_use.saturating_add(growth) > self.limits.max_bytes {
            self.stats.evicted_bytes_limit += 1;
            self.remove(key);
            return None;
        }
        self.stats.bytes_in_use += growth;
        Some(growth)
    }
}

/// Copies the parts of `payload` (at `start`) not yet held, compares the parts held, and
/// merges the range. `p.data` is at least `start + payload.len()` long. Returns
/// (overlapped, conflicting bytes).
fn write_range(p: &mut Partial, start: u32, payload: &[u8]) -> (bool, bool) {
    let end = start + payload.len() as u32;
    if start == end {
        return (false, false);
    }
    let mut overlap = false;
    let mut conflict = false;
    let mut cursor = start;
    for &(a, b) in &p.filled {
        if b <= cursor {
            continue;
        }
        if a >= end {
            break;
        }
        // gap [cursor, a) is new data
        if a > cursor {
            copy(&mut p.data, payload, start, cursor, a);
        }
        // [max(a,cursor), min(b,end)) is held: compare
        let (ha, hb) = (a.max(cursor), b.min(end));
        if ha < hb {
            overlap = true;
            let held = p.data.get(ha as usize..hb as usize);
            let new = payload.get((ha - start) as usize..(hb - start) as usize);
            if held != new {
                conflict = true;
            }
        }
        cursor = hb.max(cursor);
    }
    if cursor < end {
        copy(&mut p.data, payload, start, cursor, end);
    }
    // merge [start, end) into the sorted list
    let mut merged = Vec::with_capacity(p.filled.len() + 1);
    let mut ns = start;
    let mut ne = end;
    let mut placed = false;
    for &(a, b) in &p.filled {
        if b < ns {
            merged.push((a, b));
        } else if a > ne {
            if !placed {
                merged.push((ns, ne));
                placed = true;
            }
            merged.push((a, b));
        } else {
            ns = ns.min(a);
            ne = ne.max(b);
        }
    }
    if !placed {
        merged.push((ns, ne));
    }
    p.filled = merged;
    (overlap, conflict)
}

fn copy(data: &mut [u8], payload: &[u8], start: u32, from: u32, to: u32) {
    let src = payload.get((from - start) as usize..(to - start) as usize);
    let dst = data.get_mut(from as usize..to as usize);
    if let (Some(s), Some(d)) = (src, dst) {
        d.copy_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> Key {
        Key {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            proto: 17,
            ident: id,
        }
    }

    #[test]
    fn in_order_and_reverse_order() {
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        for rev in [false, true] {
            let mut r = Reassembler::default();
            let mut pieces: Vec<(u16, bool, &[u8])> = vec![
                (0, true, &data[..1480]),
                (1480, true, &data[1480..2960]),
                (2960, false, &data[2960..]),
            ];
            if rev {
                pieces.reverse();
            }
            let mut out = None;
            for (i, (o, m, d)) in pieces.iter().enumerate() {
                let got = r.push(key(1), *o, *m, d, i as i64);
                if i < 2 {
                    assert!(got.is_none());
                } else {
                    out = got;
                }
            }
            let out = out.expect("complete");
            assert_eq!(out.data, data);
            assert_eq!(out.fragments, 3);
            let s = r.stats();
            assert_eq!((s.completed, s.in_progress, s.bytes_in_use), (1, 0, 0));
        }
    }

    #[test]
    fn overlap_first_copy_wins() {
        let mut r = Reassembler::default();
        assert!(r.push(key(2), 0, true, &[1; 16], 0).is_none());
        // overlaps bytes 8..16 with different content, adds 16..24
        assert!(r.push(key(2), 8, true, &[2; 16], 0).is_none());
        let out = r.push(key(2), 24, false, &[3; 8], 0).unwrap();
        let mut want = vec![1u8; 16];
        want.extend_from_slice(&[2; 8]);
        want.extend_from_slice(&[3; 8]);
        assert_eq!(out.data, want);
        let s = r.stats();
        assert_eq!((s.overlaps, s.overlap_conflicts), (1, 1));
        // exact duplicate: overlap, no conflict
        r.push(key(3), 0, true, &[5; 8], 0);
        r.push(key(3), 0, true, &[5; 8], 0);
        assert_eq!(r.push(key(3), 8, false, &[6; 8], 0).unwrap().data.len(), 16);
        let s = r.stats();
        assert_eq!((s.overlaps, s.overlap_conflicts), (2, 1));
    }

    #[test]
    fn inconsistent_lengths_dropped() {
        let mut r = Reassembler::default();
        r.push(key(4), 16, false, &[0; 8], 0); // total 24
        assert!(r.push(key(4), 16, false, &[0; 16], 0).is_none()); // says 32: dropped
        assert!(r.push(key(4), 24, true, &[0; 8], 0).is_none()); // past the end: dropped
        assert_eq!(r.stats().inconsistent_length, 2);
        assert_eq!(r.push(key(4), 0, true, &[0; 16], 0).unwrap().data.len(), 24);
    }

    #[test]
    fn timeouts_and_limits() {
        let lim = Limits { max_datagrams: 2, max_bytes: 100, ..Limits::default() };
        let mut r = Reassembler::new(lim);
        r.push(key(1), 0, true, &[0; 8], 0);
        r.push(key(2), 0, true, &[0; 8], 1);
        r.push(key(3), 0, true, &[0; 8], 2); // evicts key 1
        assert_eq!(r.stats().evicted_datagram_limit, 1);
        assert!(r.push(key(1), 8, false, &[0; 8], 3).is_none()); // key 1 restarted, evicts 2
        assert_eq!(r.stats().evicted_datagram_limit, 2);
        // bytes: 90 more bytes for key 3 does not fit with key 1's 16 → evicts key 1
        r.push(key(3), 8, true, &[0; 88], 4);
        assert_eq!(r.stats().evicted_bytes_limit, 1);
        // a single datagram larger than max_bytes is refused
        r.push(key(9), 0, true, &[0; 200], 5);
        assert_eq!(r.stats().evicted_bytes_limit, 3); // evicted key 3, then refused key 9
        assert_eq!(r.stats().bytes_in_use, 0);
        // timeout: 60 s of capture time
        let mut r = Reassembler::default();
        r.push(key(1), 0, true, &[0; 8], 0);
        r.expire(59_999_999_999);
        assert_eq!(r.stats().in_progress, 1);
        r.push(key(2), 0, true, &[0; 8], 60_000_000_000);
        let s = r.stats();
        assert_eq!((s.timed_out, s.in_progress, s.bytes_in_use), (1, 1, 8));
        // too big
        r.push(key(5), 65528, true, &[0; 16], 60_000_000_001);
        assert_eq!(r.stats().too_big, 1);
    }

    #[test]
    fn range_cap() {
        let lim = Limits { max_ranges: 4, ..Limits::default() };
        let mut r = Reassembler::new(lim);
        for i in 0..6u16 {
            r.push(key(1), i * 16, true, &[0; 8], 0);
        }
        assert_eq!(r.stats().too_many_ranges, 1);
        assert!(r.stats().in_progress <= 1);
    }
}
