//! In-order delivery of one TCP direction's bytes to protocol analyzers.
//!
//! Data at the expected offset is handed over at once, without copying. Data beyond it waits
//! in a bounded buffer until the hole is filled; a hole is declared a gap (and the waiting data
//! delivered after it) when the peer acknowledges past it (the receiver got bytes the capture
//! missed), when the buffer limit is hit, or when the connection ends.

use std::collections::BTreeMap;

use crate::tcp::seq_gt;

/// What the reassembler asks the engine to deliver.
pub(crate) enum Out<'a> {
    Data { offset: u64, data: &'a [u8] },
    Gap { offset: u64, len: u64 },
}

#[derive(Debug, Default)]
pub(crate) struct Reasm {
    /// Sequence number of the next byte to deliver, and its stream offset.
    next_seq: Option<u32>,
    next_off: u64,
    /// Waiting segments keyed by stream offset.
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// Bytes that waited beyond a hole when the pending limit was reached.
    pub overflowed: u64,
    fin: Option<u32>,
}

impl Reasm {
    /// Set the first sequence number (ISN + 1 after a SYN) if not known yet.
    pub fn start(&mut self, seq: u32) {
        if self.next_seq.is_none() {
            self.next_seq = Some(seq);
        }
    }

    /// Offer a segment. In-order data is passed to `emit` directly; anything that becomes
    /// contiguous after it follows.
    pub fn segment(&mut self, seq: u32, data: &[u8], limit: usize, emit: &mut dyn FnMut(Out<'_>)) {
        if data.is_empty() {
            return;
        }
        let next = *self.next_seq.get_or_insert(seq);
        let len = data.len() as u32;
        let end = seq.wrapping_add(len);
        if !seq_gt(end, next) {
            return; // entirely old (a retransmission of delivered bytes)
        }
        if !seq_gt(seq, next) {
            // Starts at or before the next byte: deliver the new part now.
            let skip = next.wrapping_sub(seq) as usize;
            let fresh = &data[skip.min(data.len())..];
            emit(Out::Data { offset: self.next_off, data: fresh });
            self.advance(fresh.len() as u64);
            self.drain(emit);
            return;
        }
        // Beyond a hole: keep it, bounded.
        let off = self.next_off + seq.wrapping_sub(next) as u64;
        if self.pending_bytes + data.len() > limit {
            self.overflowed += data.len() as u64;
            // Give up waiting for the hole: deliver what waits before this segment, declaring
            // the holes between, then this segment.
            self.flush_until(off, emit);
            if off == self.next_off {
                emit(Out::Data { offset: off, data });
                self.advance(data.len() as u64);
                self.drain(emit);
            }
            return;
        }
        let keep = self.pending.get(&off).is_none_or(|v| v.len() < data.len());
        if keep {
            if let Some(old) = self.pending.insert(off, data.to_vec()) {
                self.pending_bytes -= old.len();
            }
            self.pending_bytes += data.len();
        }
    }

    /// A segment whose payload the snap length cut: `data` was captured of `wire_len` bytes.
    /// The captured part is offered as usual; when it was delivered in order, the part the
    /// capture did not keep is declared a gap right away.
    pub fn segment_cut(
        &mut self,
        seq: u32,
        data: &[u8],
        wire_len: u32,
        limit: usize,
        emit: &mut dyn FnMut(Out<'_>),
    ) {
        self.segment(seq, data, limit, emit);
        let cut = wire_len as u64 - (data.len() as u64).min(wire_len as u64);
        let after = seq.wrapping_add(data.len() as u32);
        if cut > 0 && self.next_seq.is_none_or(|n| n == after) && self.pending.is_empty() {
            self.next_seq.get_or_insert(after);
            emit(Out::Gap { offset: self.next_off, len: cut });
            self.advance(cut);
        }
    }

    /// The peer acknowledged up to `ack`: bytes before it that we still wait for will not be
    /// retransmitted, so they are a gap in the capture.
    pub fn acked(&mut self, ack: u32, emit: &mut dyn FnMut(Out<'_>)) {
        let Some(next) = self.next_seq else { return };
        let ack = match self.fin {
            Some(f) if ack == f.wrapping_add(1) => f,
            _ => ack,
        };
        if seq_gt(ack, next) {
            let upto = self.next_off + ack.wrapping_sub(next) as u64;
            self.flush_until(upto, emit);
            self.drain(emit);
        }
    }

    /// End of connection: declare remaining holes and deliver everything waiting.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Out<'_>)) {
        self.flush_until(u64::MAX, emit);
    }

    /// Deliver every waiting segment that starts before `off` (declaring the holes before
    /// them), then declare a hole up to `off` (when `off` is not `u64::MAX`).
    fn flush_until(&mut self, off: u64, emit: &mut dyn FnMut(Out<'_>)) {
        while let Some(&first) = self.pending.keys().next() {
            if first >= off {
                break;
            }
            self.flush_gap_to(first, emit);
            self.drain(emit);
        }
        if off != u64::MAX {
            self.flush_gap_to(off, emit);
        }
    }

    /// This direction sent a FIN at `seq` (the sequence number the FIN occupies): an ACK of
    /// it is not an acknowledgement of unseen data.
    pub fn fin(&mut self, seq: u32) {
        self.fin = Some(seq);
    }

    fn advance(&mut self, n: u64) {
        self.next_off += n;
        if let Some(s) = self.next_seq.as_mut() {
            *s = s.wrapping_add(n as u32);
        }
    }

    fn flush_gap_to(&mut self, off: u64, emit: &mut dyn FnMut(Out<'_>)) {
        if off > self.next_off {
            let len = off - self.next_off;
            emit(Out::Gap { offset: self.next_off, len });
            self.advance(len);
        }
    }

    /// Deliver waiting segments that are now contiguous (trimming overlaps).
    fn drain(&mut self, emit: &mut dyn FnMut(Out<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let off = *entry.key();
            if off > self.next_off {
                break;
            }
            let data = entry.remove();
            self.pending_bytes -= data.len();
            let skip = (self.next_off - off) as usize;
            if skip < data.len() {
                let fresh = &data[skip..];
                emit(Out::Data { offset: self.next_off, data: fresh });
                self.advance(fresh.len() as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(r: &mut Reasm, f: impl FnOnce(&mut Reasm, &mut dyn FnMut(Out<'_>))) -> Vec<String> {
        let mut v = Vec::new();
        f(r, &mut |o| match o {
            Out::Data { offset, data } => {
                v.push(format!("D{offset}:{}", String::from_utf8_lossy(data)))
            }
            Out::Gap { offset, len } => v.push(format!("G{offset}+{len}")),
        });
        v
    }

    #[test]
    fn in_order_and_overlaps() {
        let mut r = Reasm::default();
        r.start(1000);
        assert_eq!(collect(&mut r, |r, e| r.segment(1000, b"abc", 100, e)), ["D0:abc"]);
        // retransmission of old data: nothing
        assert!(collect(&mut r, |r, e| r.segment(1000, b"abc", 100, e)).is_empty());
        // partial overlap delivers only the new part
        assert_eq!(collect(&mut r, |r, e| r.segment(1001, b"bcde", 100, e)), ["D3:de"]);
    }

    #[test]
    fn out_of_order_filled_later() {
        let mut r = Reasm::default();
        r.start(u32::MAX - 1); // wraps
        assert!(collect(&mut r, |r, e| r.segment(0, b"cd", 100, e)).is_empty());
        assert_eq!(
            collect(&mut r, |r, e| r.segment(u32::MAX - 1, b"ab", 100, e)),
            ["D0:ab", "D2:cd"]
        );
    }

    #[test]
    fn gap_declared_on_ack_and_on_limit() {
        let mut r = Reasm::default();
        r.start(0);
        assert!(collect(&mut r, |r, e| r.segment(10, b"xy", 100, e)).is_empty());
        assert_eq!(collect(&mut r, |r, e| r.acked(12, e)), ["G0+10", "D10:xy"]);
        // limit: a far segment beyond the buffer forces the hole out
        let mut r = Reasm::default();
        r.start(0);
        assert!(collect(&mut r, |r, e| r.segment(5, b"aaaa", 6, e)).is_empty());
        let out = collect(&mut r, |r, e| r.segment(20, b"bbbb", 6, e));
        assert_eq!(out, ["G0+5", "D5:aaaa", "G9+11", "D20:bbbb"]);
        assert_eq!(r.overflowed, 4);
    }

    #[test]
    fn ack_beyond_everything_is_a_gap() {
        let mut r = Reasm::default();
        r.start(100);
        assert_eq!(collect(&mut r, |r, e| r.acked(150, e)), ["G0+50"]);
        assert_eq!(collect(&mut r, |r, e| r.segment(150, b"z", 10, e)), ["D50:z"]);
    }
}
