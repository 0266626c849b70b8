//! Per-segment TCP analysis, following the definitions in the "TCP Analysis" section of the
//! Wireshark user guide, so that our counts can be checked against `tcp.analysis.*`.
//!
//! Sequence numbers are compared modulo 2^32 (RFC 9293 §3.4): `a` is "before" `b` when
//! `(a - b) as i32 < 0`, so captures that start mid-stream or wrap work.

use crate::pkt::{tcpflags::*, TcpHdr};
use crate::{Dir, TcpFlag, Timestamp};

#[inline]
pub(crate) fn seq_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
#[inline]
pub(crate) fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}
#[inline]
pub(crate) fn seq_le(a: u32, b: u32) -> bool {
    !seq_gt(a, b)
}

/// Recent transmissions remembered per direction to time retransmissions (RTO).
const SENT_RING: usize = 32;
/// Out-of-order threshold when no handshake RTT is known (Wireshark's default, 3 ms).
const DEFAULT_OOO_THRESHOLD_NS: i64 = 3_000_000;
/// Fast retransmission: the retransmission follows the last duplicate ACK within this time.
const FAST_RETRANS_WINDOW_NS: i64 = 20_000_000;

/// Analysis state of one sending direction.
#[derive(Clone, Debug, Default)]
pub(crate) struct DirAnalysis {
    /// Next expected sequence number (highest seq + len seen, SYN/FIN counting one).
    pub nextseq: Option<u32>,
    pub nextseq_time: Timestamp,
    /// Last acknowledgement number sent in this direction (if any ACK was sent).
    pub lastack: Option<u32>,
    pub lastack_time: Timestamp,
    /// Last raw window value sent, and whether any was sent.
    pub window: Option<u16>,
    /// Window scale shift in effect for this direction (None: unknown / not negotiated).
    pub wscale_shift: Option<u8>,
    /// Duplicate ACKs sent in a row.
    pub dupacks: u32,
    /// Highest sequence number this direction's peer must acknowledge: set by our data.
    pub max_to_be_acked: Option<u32>,
    /// The last segment sent was a keep-alive / zero-window probe.
    pub last_was_keepalive: bool,
    pub last_was_zwp: bool,
    /// ISN of the SYN sent in this direction.
    pub isn: Option<u32>,
    sent: [(u32, Timestamp); SENT_RING],
    sent_len: usize,
    sent_pos: usize,
}

impl DirAnalysis {
    fn remember_sent(&mut self, seq: u32, ts: Timestamp) {
        self.sent[self.sent_pos] = (seq, ts);
        self.sent_pos = (self.sent_pos + 1) % SENT_RING;
        if self.sent_len < SENT_RING {
            self.sent_len += 1;
        }
    }
    /// Time the segment starting at `seq` was first sent, if still remembered.
    fn first_sent(&self, seq: u32) -> Option<Timestamp> {
        self.sent[..self.sent_len].iter().filter(|(s, _)| *s == seq).map(|(_, t)| *t).min()
    }
    /// The window this direction advertised, scaled when scaling is in effect.
    fn scaled_window(&self) -> Option<u64> {
        self.window.map(|w| (w as u64) << self.wscale_shift.unwrap_or(0).min(14))
    }
}

/// Flags raised for one segment (at most a few).
#[derive(Default, Debug)]
pub(crate) struct Verdict {
    pub flags: [Option<TcpFlag>; 5],
    pub n: usize,
    pub rto: Option<f64>,
}

impl Verdict {
    fn push(&mut self, f: TcpFlag) {
        if self.n < self.flags.len() {
            self.flags[self.n] = Some(f);
            self.n += 1;
        }
    }
    pub fn has(&self, f: TcpFlag) -> bool {
        self.flags[..self.n].contains(&Some(f))
    }
    pub fn iter(&self) -> impl Iterator<Item = TcpFlag> + '_ {
        self.flags[..self.n].iter().flatten().copied()
    }
}

/// Analyse one segment sent in direction `dir`. `a` holds both directions' state; the
/// handshake RTT (if known) sets the out-of-order threshold as Wireshark does.
pub(crate) fn analyze(
    a: &mut [DirAnalysis; 2],
    dir: Dir,
    h: &TcpHdr,
    ts: Timestamp,
    handshake_rtt_ns: Option<i64>,
) -> Verdict {
    let mut v = Verdict::default();
    let (fi, ri) = (dir.idx(), dir.flip().idx());
    let seq = h.seq;
    let ack = h.ack;
    let seglen = h.wire_len;
    let syn = h.flags & SYN != 0;
    let fin = h.flags & FIN != 0;
    let rst = h.flags & RST != 0;
    let has_ack = h.flags & ACK != 0;
    let control = syn || fin || rst;

    // Window scaling takes effect once both SYNs carried the option (RFC 7323 §2.2).
    let fwd_nextseq = a[fi].nextseq;
    let rev_window_scaled = a[ri].scaled_window();

    let mut is_keepalive = false;
    let mut is_zwp = false;
    let mut finished = false; // a flag that ends the checks for this segment

    // Zero-window probe: one byte at the next expected sequence while the peer's window is 0.
    if seglen == 1 && Some(seq) == fwd_nextseq && a[ri].window == Some(0) {
        v.push(TcpFlag::ZeroWindowProbe);
        is_zwp = true;
        finished = true;
    }
    if !finished {
        if h.window == 0 && !control {
            v.push(TcpFlag::ZeroWindow);
        }
        // Previous segment not captured: data starts beyond the next expected sequence.
        if let Some(n) = fwd_nextseq {
            if seq_gt(seq, n) && !rst {
                v.push(TcpFlag::LostSegment);
            }
        }
        // Keep-alive: zero or one byte, one before the next expected sequence.
        if let Some(n) = fwd_nextseq {
            if seglen <= 1 && !control && seq == n.wrapping_sub(1) {
                v.push(TcpFlag::KeepAlive);
                is_keepalive = true;
            }
        }
        let same_seq_ack = Some(seq) == fwd_nextseq && has_ack && Some(ack) == a[fi].lastack;
        // Window update: no data, same seq/ack, window changed.
        if seglen == 0
            && !control
            && same_seq_ack
            && h.window != 0
            && a[fi].window.is_some()
            && Some(h.window) != a[fi].window
        {
            v.push(TcpFlag::WindowUpdate);
        }
        // Window full: this segment fills the peer's advertised window exactly.
        if seglen > 0 && !control {
            if let (Some(w), Some(la)) = (rev_window_scaled, a[ri].lastack) {
                if (seq.wrapping_add(seglen)) == la.wrapping_add(w as u32) {
                    v.push(TcpFlag::WindowFull);
                }
            }
        }
        let same_window = a[fi].window == Some(h.window);
        // Keep-alive ACK: the answer to the peer's keep-alive.
        if seglen == 0
            && !control
            && same_seq_ack
            && h.window != 0
            && same_window
            && a[ri].last_was_keepalive
        {
            v.push(TcpFlag::KeepAliveAck);
            finished = true;
        }
        // Zero-window probe ACK (no flag of its own in our set; ends the checks).
        if !finished
            && seglen == 0
            && !control
            && same_seq_ack
            && h.window == 0
            && same_window
            && a[ri].last_was_zwp
        {
            finished = true;
        }
        // Duplicate ACK.
        if !finished && seglen == 0 && !control && same_seq_ack && h.window != 0 && same_window {
            a[fi].dupacks = a[fi].dupacks.saturating_add(1);
            v.push(TcpFlag::DuplicateAck);
        }
    }
    // The duplicate-ACK run ends when this side acknowledges something new (data segments
    // carrying the same ACK number do not end it, as in Wireshark).
    if !v.has(TcpFlag::DuplicateAck) && has_ack && a[fi].lastack.is_some_and(|la| la != ack) {
        a[fi].dupacks = 0;
    }

    // ACKed unseen segment: the peer acknowledges data we never saw it send.
    if has_ack && !rst {
        if let Some(m) = a[ri].max_to_be_acked {
            if seq_gt(ack, m) {
                v.push(TcpFlag::AckLostSegment);
                // Report each gap once: what is acknowledged now counts as seen.
                a[ri].max_to_be_acked = Some(ack);
            }
        }
    }

    // Retransmission family: data (or SYN/FIN) below the next expected sequence number.
    if !is_zwp && !is_keepalive && (seglen > 0 || syn || fin) {
        if let Some(n) = fwd_nextseq {
            if seq_lt(seq, n) {
                let since_rev_ack = ts.nanos_since(a[ri].lastack_time);
                let since_nextseq = ts.nanos_since(a[fi].nextseq_time);
                let ooo_thres =
                    handshake_rtt_ns.filter(|r| *r > 0).unwrap_or(DEFAULT_OOO_THRESHOLD_NS);
                let end = seq.wrapping_add(seglen);
                let end_ctl = end.wrapping_add((syn || fin) as u32);
                if a[ri].dupacks >= 2
                    && a[ri].lastack == Some(seq)
                    && since_rev_ack < FAST_RETRANS_WINDOW_NS
                {
                    v.push(TcpFlag::FastRetransmission);
                    v.push(TcpFlag::Retransmission);
                } else if since_nextseq < ooo_thres && n != end_ctl {
                    v.push(TcpFlag::OutOfOrder);
                } else if seglen > 0 && a[ri].lastack.is_some_and(|la| seq_le(end, la)) {
                    v.push(TcpFlag::SpuriousRetransmission);
                    v.push(TcpFlag::Retransmission);
                } else {
                    v.push(TcpFlag::Retransmission);
                }
                if v.has(TcpFlag::Retransmission) {
                    v.rto = a[fi]
                        .first_sent(seq)
                        .map(|t| ts.secs_since(t))
                        .or(Some(ts.secs_since(a[fi].nextseq_time)));
                }
            }
        }
    }

    // Update this direction's state. The next expected sequence number follows the highest
    // seq + len seen, pure ACKs included (so the first ACK of a direction sets it).
    let consumes = seglen as u64 + syn as u64 + fin as u64;
    let next = seq.wrapping_add(consumes as u32);
    if !is_zwp && fwd_nextseq.is_none_or(|n| seq_gt(next, n)) {
        if consumes > 0 && !v.has(TcpFlag::Retransmission) {
            a[fi].remember_sent(seq, ts);
        }
        a[fi].nextseq = Some(next);
        a[fi].nextseq_time = ts;
        if consumes > 0 && a[fi].max_to_be_acked.is_none_or(|m| seq_gt(next, m)) {
            a[fi].max_to_be_acked = Some(next);
        }
    }
    if syn {
        a[fi].isn = Some(seq);
    }
    if has_ack {
        a[fi].lastack = Some(ack);
    }
    a[fi].lastack_time = ts;
    a[fi].window = Some(h.window);
    a[fi].last_was_keepalive = is_keepalive;
    a[fi].last_was_zwp = is_zwp;
    v
}
