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

/// The facts of a segment every check reads.
#[derive(Clone, Copy)]
struct Facts {
    seq: u32,
    ack: u32,
    seglen: u32,
    window: u16,
    syn: bool,
    fin: bool,
    rst: bool,
    has_ack: bool,
    /// SYN, FIN or RST.
    control: bool,
}

impl Facts {
    fn of(h: &TcpHdr) -> Facts {
        let (syn, fin, rst) = (h.flags & SYN != 0, h.flags & FIN != 0, h.flags & RST != 0);
        Facts {
            seq: h.seq,
            ack: h.ack,
            seglen: h.wire_len,
            window: h.window,
            syn,
            fin,
            rst,
            has_ack: h.flags & ACK != 0,
            control: syn || fin || rst,
        }
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
    let s = Facts::of(h);
    let (is_keepalive, is_zwp) = window_and_ack_flags(a, (fi, ri), &s, &mut v);
    // The duplicate-ACK run ends when this side acknowledges something new (data segments
    // carrying the same ACK number do not end it, as in Wireshark).
    if !v.has(TcpFlag::DuplicateAck) && s.has_ack && a[fi].lastack.is_some_and(|la| la != s.ack) {
        a[fi].dupacks = 0;
    }

    // ACKed unseen segment: the peer acknowledges data we never saw it send.
    if s.has_ack && !s.rst {
        if let Some(m) = a[ri].max_to_be_acked {
            if seq_gt(s.ack, m) {
                v.push(TcpFlag::AckLostSegment);
                // Report each gap once: what is acknowledged now counts as seen.
                a[ri].max_to_be_acked = Some(s.ack);
            }
        }
    }

    // Retransmission family: data (or SYN/FIN) below the next expected sequence number.
    if !is_zwp && !is_keepalive && (s.seglen > 0 || s.syn || s.fin) {
        retransmission(a, (fi, ri), &s, (ts, handshake_rtt_ns), &mut v);
    }
    update(&mut a[fi], &s, ts, (is_keepalive, is_zwp), &v);
    v
}

/// The checks up to the duplicate ACK: zero-window probe, zero window, lost segment,
/// keep-alive, window update, window full, keep-alive ACK, zero-window probe ACK, duplicate
/// ACK. Returns (keep-alive, zero-window probe).
fn window_and_ack_flags(
    a: &mut [DirAnalysis; 2],
    (fi, ri): (usize, usize),
    s: &Facts,
    v: &mut Verdict,
) -> (bool, bool) {
    let (seq, seglen, control) = (s.seq, s.seglen, s.control);
    // Window scaling takes effect once both SYNs carried the option (RFC 7323 §2.2).
    let fwd_nextseq = a[fi].nextseq;
    let rev_window_scaled = a[ri].scaled_window();

    // Zero-window probe: one byte at the next expected sequence while the peer's window is 0.
    if seglen == 1 && Some(seq) == fwd_nextseq && a[ri].window == Some(0) {
        v.push(TcpFlag::ZeroWindowProbe);
        return (false, true);
    }
    let mut is_keepalive = false;
    if s.window == 0 && !control {
        v.push(TcpFlag::ZeroWindow);
    }
    // Previous segment not captured: data starts beyond the next expected sequence.
    if let Some(n) = fwd_nextseq {
        if seq_gt(seq, n) && !s.rst {
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
    let same_seq_ack = Some(seq) == fwd_nextseq && s.has_ack && Some(s.ack) == a[fi].lastack;
    // Window update: no data, same seq/ack, window changed.
    if seglen == 0
        && !control
        && same_seq_ack
        && s.window != 0
        && a[fi].window.is_some()
        && Some(s.window) != a[fi].window
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
    let bare_same = seglen == 0 && !control && same_seq_ack && a[fi].window == Some(s.window);
    // Keep-alive ACK: the answer to the peer's keep-alive.
    if bare_same && s.window != 0 && a[ri].last_was_keepalive {
        v.push(TcpFlag::KeepAliveAck);
        return (is_keepalive, false);
    }
    // Zero-window probe ACK (no flag of its own in our set; ends the checks).
    if bare_same && s.window == 0 && a[ri].last_was_zwp {
        return (is_keepalive, false);
    }
    // Duplicate ACK.
    if bare_same && s.window != 0 {
        a[fi].dupacks = a[fi].dupacks.saturating_add(1);
        v.push(TcpFlag::DuplicateAck);
    }
    (is_keepalive, false)
}

/// Data (or SYN/FIN) below the next expected sequence number: a fast retransmission, an
/// out-of-order segment, a spurious retransmission or a retransmission, and its RTO.
fn retransmission(
    a: &[DirAnalysis; 2],
    (fi, ri): (usize, usize),
    s: &Facts,
    (ts, handshake_rtt_ns): (Timestamp, Option<i64>),
    v: &mut Verdict,
) {
    let Some(n) = a[fi].nextseq else { return };
    let (seq, seglen) = (s.seq, s.seglen);
    if !seq_lt(seq, n) {
        return;
    }
    let since_rev_ack = ts.nanos_since(a[ri].lastack_time);
    let since_nextseq = ts.nanos_since(a[fi].nextseq_time);
    let ooo_thres = handshake_rtt_ns.filter(|r| *r > 0).unwrap_or(DEFAULT_OOO_THRESHOLD_NS);
    let end = seq.wrapping_add(seglen);
    let end_ctl = end.wrapping_add((s.syn || s.fin) as u32);
    if a[ri].dupacks >= 2 && a[ri].lastack == Some(seq) && since_rev_ack < FAST_RETRANS_WINDOW_NS {
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

/// Update the sending direction's state. The next expected sequence number follows the
/// highest seq + len seen, pure ACKs included (so the first ACK of a direction sets it).
fn update(
    f: &mut DirAnalysis,
    s: &Facts,
    ts: Timestamp,
    (is_keepalive, is_zwp): (bool, bool),
    v: &Verdict,
) {
    let consumes = s.seglen as u64 + s.syn as u64 + s.fin as u64;
    let next = s.seq.wrapping_add(consumes as u32);
    if !is_zwp && f.nextseq.is_none_or(|n| seq_gt(next, n)) {
        if consumes > 0 && !v.has(TcpFlag::Retransmission) {
            f.remember_sent(s.seq, ts);
        }
        f.nextseq = Some(next);
        f.nextseq_time = ts;
        if consumes > 0 && f.max_to_be_acked.is_none_or(|m| seq_gt(next, m)) {
            f.max_to_be_acked = Some(next);
        }
    }
    if s.syn {
        f.isn = Some(s.seq);
    }
    if s.has_ack {
        f.lastack = Some(s.ack);
    }
    f.lastack_time = ts;
    f.window = Some(s.window);
    f.last_was_keepalive = is_keepalive;
    f.last_was_zwp = is_zwp;
}
