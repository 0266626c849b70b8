//! Zeek-style connection state: the endpoint states of each side, the state of the whole
//! connection derived from them, and the history letters.

use super::Flow;
use crate::pkt::{tcpflags::*, TcpHdr};
use crate::{ConnState, Dir};

/// Per-endpoint TCP state, as Zeek models it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum Ep {
    #[default]
    Inactive,
    SynSent,
    SynAckSent,
    Partial,
    Established,
    Closed,
    Reset,
}

/// Add a history letter (upper case for the originator) the first time it occurs.
pub(crate) fn hist(f: &mut Flow, dir: Dir, letter: u8) {
    let bit = 1u32 << (letter - b'A').min(31);
    if f.history_seen[dir.idx()] & bit == 0 {
        f.history_seen[dir.idx()] |= bit;
        let c = if dir == Dir::Orig { letter } else { letter.to_ascii_lowercase() };
        f.conv.history.push(c as char);
    }
}

/// A segment's part in the endpoint states and the history: Q (SYN+FIN), I (SYN+RST), S / H
/// (SYN / SYN-ACK), D (payload) or A (bare ACK), F, R; then whether the flow is still only
/// connection attempts, and whether it is closed.
pub(crate) fn segment_history(f: &mut Flow, dir: Dir, hdr: &TcpHdr) {
    let syn = hdr.flags & SYN != 0;
    let ackf = hdr.flags & ACK != 0;
    let fin = hdr.flags & FIN != 0;
    let rst = hdr.flags & RST != 0;
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
        f.payload_seen[dir.idx()] = true;
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
pub(crate) fn conn_state(f: &Flow) -> ConnState {
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
