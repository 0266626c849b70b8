//! Nagle / delayed-ACK stalls and zero-window periods, followed segment by segment.
//!
//! Nagle's algorithm (RFC 896, RFC 1122 4.2.3.4) lets a sender hold back a small segment
//! while an earlier small segment is unacknowledged; a receiver that delays its ACKs
//! (RFC 1122 4.2.3.2: up to 500 ms, Windows ~200 ms, Linux ~40 ms) then makes the sender
//! wait for the delayed-ACK timer on every request/response turn. The zero-window periods are
//! the times a direction advertised a window of 0 until it opened it again.

use super::{Flow, Seg};
use crate::pkt::tcpflags::*;
use crate::tcp::Verdict;
use crate::{Dir, TcpFlag};

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

/// Nagle / delayed-ACK stalls and zero-window periods.
///
/// A stall: direction `d` sent a small segment; the peer's bare ACK of everything outstanding
/// came only after a delay (its delayed-ACK timer); `d` sent its next data right after that
/// ACK — it had the data but Nagle's algorithm held it until the small segment was
/// acknowledged.
pub(super) fn nagle_and_windows(f: &mut Flow, s: &Seg<'_, '_>, dir: Dir, v: &Verdict) {
    let (p, hdr) = (s.p, s.hdr);
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
