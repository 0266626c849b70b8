//! Evidence that speaks for or against the usual TCP stories, gathered per flow while the
//! packets go by (the rules decide what it means):
//!
//! - **Capture duplicates**, counted exactly: a packet is a copy of the one before it in its
//!   direction when everything TCP and IP says is the same (IP ID, IP length, sequence and
//!   acknowledgement numbers, flags, window and the options the engine reads) and it came
//!   within [`DUP_MAX_GAP_NS`] ([`DUP_MAX_GAP_NO_ID_NS`] when the IP ID is 0, which many
//!   stacks send on every packet). Copies further apart, or with other options (a SYN
//!   retried with fewer options), are retransmissions. Each packet that was copied is counted
//!   once, with how many times it appeared.
//! - **D-SACK** (RFC 2883): an ACK whose first SACK block lies below its acknowledgement
//!   number tells the sender that those bytes arrived twice; the retransmission that carried
//!   them was spurious (the original was not lost, the ACK was late). Without SACK, a
//!   duplicate ACK sent when everything the sender ever sent is already acknowledged says the
//!   same: only a duplicate copy can have triggered it.
//! - **Resets**: for each RST, its TTL and IP ID against the sender's own packets before and
//!   after it, whether it acknowledges the peer's ISN itself (not ISN + 1: a reset built from
//!   a sniffed SYN), whether everything sent had been acknowledged both ways, and the silence
//!   before it.
//! - **Conflicting data**: two segments at the same sequence number whose first bytes differ
//!   (compared by hashes of the first 8, 16, 32 and 64 captured bytes, a word at a time) —
//!   one of them was not sent by the peer.

use serde::Serialize;

use crate::pkt::{tcpflags::*, Pkt, TcpHdr};
use crate::shared::Seg;
use crate::tcp::{seq_gt, seq_le, seq_lt, DirAnalysis, Verdict};
use crate::{Conversation, Dir, TcpFlag, Timestamp};

/// Copies of a packet with an IP ID arrive within this time of each other.
pub const DUP_MAX_GAP_NS: i64 = 5_000_000;
/// Without an IP ID (0), only copies this close count: a Linux receiver sends identical
/// duplicate ACKs (D-SACKs included) some 20 µs apart.
pub const DUP_MAX_GAP_NO_ID_NS: i64 = 1_000;
/// RSTs described per conversation at most.
pub const MAX_RSTS: usize = 16;
/// Retransmission frames shown spurious by a D-SACK, kept per conversation at most.
pub const MAX_DSACK_FRAMES: usize = 256;
/// Conflicting-data pairs kept per conversation at most.
pub const MAX_CONFLICTS: usize = 8;
const RECENT_DATA: usize = 4;
const RECENT_RETX: usize = 8;
/// Prefix lengths hashed per data segment.
const PREFIXES: [usize; 4] = [8, 16, 32, 64];

/// One RST and what fits or does not fit its sender.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RstFact {
    pub frame: u64,
    #[serde(skip)]
    pub dir: Dir,
    pub ttl: u8,
    /// IPv4 identification of the RST (0 for IPv6).
    pub ip_id: u16,
    /// IP ID of the sender's previous and next other packets, when seen.
    pub prev_ip_id: Option<u16>,
    pub next_ip_id: Option<u16>,
    /// IP ID of the peer's last packet before the RST (a forged reset may copy it).
    pub peer_ip_id: Option<u16>,
    /// TTL of the sender's previous other packet.
    pub prev_ttl: Option<u8>,
    /// The ACK flag is set and the acknowledgement number is the peer's ISN itself.
    pub acks_peer_isn: bool,
    /// Before the RST, both sides had acknowledged everything the other had sent.
    pub all_acked: bool,
    /// Seconds since the flow's previous packet.
    pub idle_before: f64,
    /// Packets of the flow after the RST (either direction).
    pub packets_after: u32,
}

impl RstFact {
    /// The IP ID continues the sender's own sequence: a little above its previous packet's
    /// (and below its next one's, when there is one).
    pub fn ip_id_continues(&self) -> bool {
        let Some(prev) = self.prev_ip_id else { return false };
        let up = self.ip_id.wrapping_sub(prev);
        let before_next = self.next_ip_id.is_none_or(|n| n.wrapping_sub(prev) >= up);
        self.ip_id != 0 && up > 0 && up <= 4096 && before_next
    }
}

/// Two segments at the same sequence number with different bytes.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DataConflict {
    #[serde(skip)]
    pub dir: Dir,
    pub seq: u32,
    pub first_frame: u64,
    pub first_ttl: u8,
    pub first_len: u32,
    pub second_frame: u64,
    pub second_ttl: u8,
    pub second_len: u32,
    /// Bytes compared (the common captured prefix, up to 64).
    pub compared: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct DataSeg {
    seq: u32,
    len: u32,
    captured: u32,
    ttl: u8,
    frame: u64,
    hashes: [u32; 4],
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Sig {
    ip_id: u16,
    ip_len: u32,
    hdr: TcpHdr,
}

/// Per-flow state of the gathering.
#[derive(Clone, Debug, Default)]
pub(crate) struct Forensics {
    last: [Option<(Sig, Timestamp)>; 2],
    run: [u32; 2],
    data: [[DataSeg; RECENT_DATA]; 2],
    data_pos: [u8; 2],
    retx: [[(u32, u32, u64); RECENT_RETX]; 2],
    retx_pos: [u8; 2],
    ip_id: [Option<u16>; 2],
    ttl: [Option<u8>; 2],
}

/// Hashes of the first 8, 16, 32 and 64 bytes (as far as captured), a word at a time.
fn prefix_hashes(b: &[u8]) -> [u32; 4] {
    let mut out = [0u32; 4];
    let mut h: u64 = 0x243f_6a88_85a3_08d3;
    for (i, w) in b.chunks_exact(8).take(8).enumerate() {
        let mut x = [0u8; 8];
        x.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(x)).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29);
        match i {
            0 => out[0] = (h >> 32) as u32,
            1 => out[1] = (h >> 32) as u32,
            3 => out[2] = (h >> 32) as u32,
            7 => out[3] = (h >> 32) as u32,
            _ => {}
        }
    }
    out
}

impl Forensics {
    /// Before the engine's analysis of the segment (the RST facts need the state before it).
    pub fn before(
        &mut self,
        conv: &mut Conversation,
        ana: &[DirAnalysis; 2],
        s: &Seg<'_, '_>,
        dir: Dir,
        gap: f64,
    ) {
        let (p, hdr) = (s.p, s.hdr);
        let (d, o) = (dir.idx(), dir.flip().idx());
        self.duplicates(conv, d, p, hdr);
        for r in conv.rsts.iter_mut() {
            r.packets_after = r.packets_after.saturating_add(1);
        }
        if hdr.flags & RST != 0 {
            if conv.rsts.len() < MAX_RSTS {
                let acked = |s: usize, r: usize| match (ana[s].nextseq, ana[r].lastack) {
                    (Some(n), Some(a)) => seq_le(n, a),
                    (None, _) => true,
                    _ => false,
                };
                conv.rsts.push(RstFact {
                    frame: p.frame,
                    dir,
                    ttl: p.ttl,
                    ip_id: p.ip_id,
                    prev_ip_id: self.ip_id[d],
                    next_ip_id: None,
                    peer_ip_id: self.ip_id[o],
                    prev_ttl: self.ttl[d],
                    acks_peer_isn: hdr.flags & ACK != 0 && ana[o].isn == Some(hdr.ack),
                    all_acked: acked(d, o) && acked(o, d),
                    idle_before: gap,
                    packets_after: 0,
                });
            }
        } else {
            for r in conv.rsts.iter_mut().filter(|r| r.dir == dir && r.next_ip_id.is_none()) {
                r.next_ip_id = Some(p.ip_id);
            }
            self.ip_id[d] = Some(p.ip_id);
            self.ttl[d] = Some(p.ttl);
        }
        if let Some((l, _)) = hdr.first_sack {
            if hdr.flags & ACK != 0 && seq_lt(l, hdr.ack) {
                conv.dsack_blocks[d] += 1;
                self.dsack(conv, o, l);
            }
        }
    }

    /// After the analysis: remember retransmissions (for D-SACK) and data (for conflicts);
    /// a duplicate ACK with nothing outstanding marks a retransmission spurious.
    pub fn after(
        &mut self,
        conv: &mut Conversation,
        ana: &[DirAnalysis; 2],
        s: &Seg<'_, '_>,
        dir: Dir,
        v: &Verdict,
    ) {
        let (p, hdr, payload) = (s.p, s.hdr, s.payload);
        let d = dir.idx();
        let o = dir.flip().idx();
        if v.has(TcpFlag::DuplicateAck)
            && hdr.flags & ACK != 0
            && ana[o].nextseq.is_some_and(|n| seq_le(n, hdr.ack))
        {
            self.mark_spurious(conv, o, |_, e| seq_le(e, hdr.ack));
        }
        if hdr.wire_len == 0 {
            return;
        }
        let retransmission = v.has(TcpFlag::Retransmission);
        let seq = if hdr.flags & SYN != 0 { hdr.seq.wrapping_add(1) } else { hdr.seq };
        if retransmission {
            let i = self.retx_pos[d] as usize % RECENT_RETX;
            self.retx[d][i] = (seq, seq.wrapping_add(hdr.wire_len), p.frame);
            self.retx_pos[d] = ((i + 1) % RECENT_RETX) as u8;
        }
        let seg = DataSeg {
            seq,
            len: hdr.wire_len,
            captured: payload.len().min(64) as u32,
            ttl: p.ttl,
            frame: p.frame,
            hashes: prefix_hashes(payload),
        };
        let mut known = false;
        for old in self.data[d].iter().filter(|s| s.frame != 0 && s.seq == seq) {
            known = true;
            if old.ttl == seg.ttl || conv.data_conflicts.len() >= MAX_CONFLICTS {
                continue;
            }
            let common = old.captured.min(seg.captured).min(old.len).min(seg.len);
            let Some(k) = PREFIXES.iter().rposition(|n| *n as u32 <= common) else { continue };
            if old.hashes[k] != seg.hashes[k] {
                conv.data_conflicts.push(DataConflict {
                    dir,
                    seq,
                    first_frame: old.frame,
                    first_ttl: old.ttl,
                    first_len: old.len,
                    second_frame: seg.frame,
                    second_ttl: seg.ttl,
                    second_len: seg.len,
                    compared: PREFIXES[k] as u32,
                });
            }
        }
        if !known {
            let i = self.data_pos[d] as usize % RECENT_DATA;
            self.data[d][i] = seg;
            self.data_pos[d] = ((i + 1) % RECENT_DATA) as u8;
        }
    }

    /// End of the flow: close the open runs of copies.
    pub fn finish(&mut self, conv: &mut Conversation) {
        for d in 0..2 {
            self.close_run(conv, d);
        }
    }

    fn close_run(&mut self, conv: &mut Conversation, d: usize) {
        let n = std::mem::take(&mut self.run[d]);
        if n > 0 {
            conv.duplicated_packets += 1;
            conv.duplicate_max_copies = conv.duplicate_max_copies.max(n.saturating_add(1));
        }
    }

    fn duplicates(&mut self, conv: &mut Conversation, d: usize, p: &Pkt<'_>, hdr: &TcpHdr) {
        let sig = Sig { ip_id: p.ip_id, ip_len: p.ip_len, hdr: *hdr };
        let max_gap = if p.ip_id != 0 { DUP_MAX_GAP_NS } else { DUP_MAX_GAP_NO_ID_NS };
        let copy = self.last[d]
            .is_some_and(|(s, t)| s == sig && (0..=max_gap).contains(&p.ts.nanos_since(t)));
        if copy {
            conv.duplicate_packets += 1;
            self.run[d] += 1;
        } else {
            self.close_run(conv, d);
        }
        self.last[d] = Some((sig, p.ts));
    }

    /// A D-SACK from the receiver of direction `o` reported `left..` as received twice: a
    /// retransmission of direction `o` that covers it was spurious (the latest one not yet
    /// marked: one D-SACK per duplicate arrival).
    fn dsack(&mut self, conv: &mut Conversation, o: usize, left: u32) {
        self.mark_spurious(conv, o, |s, e| seq_le(s, left) && seq_gt(e, left));
    }

    /// Mark the latest retransmission of direction `o` whose range (seq, end) passes `hit`
    /// and that is not marked yet.
    fn mark_spurious(&self, conv: &mut Conversation, o: usize, hit: impl Fn(u32, u32) -> bool) {
        let hit = self.retx[o]
            .iter()
            .filter(|(s, e, f)| *f != 0 && hit(*s, *e) && !conv.spurious_retx.contains(f))
            .map(|(_, _, f)| *f)
            .max();
        if let Some(f) = hit {
            if conv.spurious_retx.len() < MAX_DSACK_FRAMES {
                conv.spurious_retx.push(f);
            }
        }
    }
}
