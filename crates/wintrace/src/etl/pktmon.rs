//! Microsoft-Windows-PktMon ({4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}), the provider behind
//! `pktmon start --capture`. Event layouts (version 0, per the provider manifest; field
//! names as `pktmon etl2txt` prints them):
//!
//! * 20 component info: Id (u16), Type (u16: 1 NDIS, 2 miniport, 3 filter, 4 protocol, ...),
//!   Name, Description (NUL-terminated UTF-16).
//! * 30–75 component properties, 80/90 counters, 100–150 filters: counted.
//! * 160 packet and 170 drop: PktGroupId (u64), PktNumber (u16), AppearanceCount (u16),
//!   DirTag (u16: 1 In, 2 Out, 3 Rx, 4 Tx, 5 Ingress, 6 Egress — In/Rx/Ingress receive,
//!   Out/Tx/Egress send, Rx/Tx reported by the network interface itself), PacketType (u16:
//!   1 Ethernet, 2 Wi-Fi, 3 IP; others are payload-only and not delivered), ComponentId,
//!   EdgeId, FilterId (u16), DropReason (u32), DropLocation (u32), OriginalPayloadSize,
//!   LoggedPayloadSize (u16), Payload.
//!
//! **Each packet once.** PktMon logs a packet at every component it crosses. Appearances
//! share PktGroupId + PktNumber; the one kept is the one nearest the wire: reported by the
//! interface (DirTag Rx/Tx) or by a miniport component; otherwise the first appearance of a
//! received packet and the last of a sent one. A packet is delivered once its wire
//! appearance is seen, or when [`WINDOW`] further packet events passed without another
//! appearance of it, or at the end; delivery keeps first-appearance order.
//! `--all-appearances` delivers every appearance instead. A drop event is an appearance too
//! (the packet is delivered once even if it was only seen dropped) and is recorded in
//! [`WinStats::drops`](crate::WinStats::drops) with its component, reason and location.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{interface_index, Ctx, OutPkt};
use crate::le::{u16_at, u32_at, u64_at, wstring_at};
use crate::{Direction, Guid, InterfaceInfo, PacketDrop};

pub const PROVIDER: Guid =
    Guid::new(0x4d4f_80d9, 0xc8bd, 0x4d73, [0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac]);

/// Packet events after which a packet with no wire appearance is delivered.
pub const WINDOW: u64 = 64;
/// Bytes of a dropped packet kept in its [`PacketDrop`].
const DROP_BYTES: usize = 128;
const FIXED: usize = 8 + 2 * 7 + 4 + 4 + 2 + 2;

type Key = (u64, u16);

struct Pending {
    key: Key,
    rank: u8,
    appearance: u16,
    pkt: OutPkt,
    last_event: u64,
}

/// Components, and packets waiting for their best appearance.
#[derive(Default)]
pub struct PktMon {
    pub all_appearances: bool,
    components: HashMap<u16, (u16, String)>,
    pending: VecDeque<Pending>,
    index: HashMap<Key, usize>,
    /// Sequence number of `pending[0]` (indexes in `index` are absolute).
    base: usize,
    done: HashSet<Key>,
    done_order: VecDeque<Key>,
    events: u64,
}

fn direction(tag: u16) -> Direction {
    match tag {
        1 | 3 | 5 => Direction::Inbound,
        2 | 4 | 6 => Direction::Outbound,
        _ => Direction::Unknown,
    }
}

impl PktMon {
    pub(crate) fn event(&mut self, ctx: &mut Ctx<'_>, id: u16, version: u8, p: &[u8]) {
        match (id, version) {
            (20, 0) => self.component(ctx, p),
            (160 | 170, 0) => self.packet(ctx, id == 170, p),
            (160 | 170 | 20, v) => {
                ctx.not_packet(&format!("PktMon event {id} version {v} (not known)"))
            }
            _ => ctx.not_packet(&format!("PktMon event {id}")),
        }
        self.release(ctx, false);
    }

    fn component(&mut self, ctx: &mut Ctx<'_>, p: &[u8]) {
        ctx.not_packet("PktMon event 20 (component)");
        let (Some(id), Some(ty)) = (u16_at(p, 0), u16_at(p, 2)) else {
            return ctx.damaged("PktMon component event shorter than its fields");
        };
        let name = wstring_at(p, 4).map(|(s, _)| s).unwrap_or_default();
        if self.components.len() < ctx.limits.max_keys || self.components.contains_key(&id) {
            self.components.insert(id, (ty, name));
        }
    }

    fn component_name(&self, id: u16) -> String {
        match self.components.get(&id) {
            Some((_, n)) if !n.is_empty() => format!("{n} (component {id})"),
            _ => format!("component {id}"),
        }
    }

    fn packet(&mut self, ctx: &mut Ctx<'_>, drop: bool, p: &[u8]) {
        let Some(fixed) = p.get(..FIXED) else {
            return ctx.damaged("PktMon packet event shorter than its fixed fields");
        };
        let group = u64_at(fixed, 0).unwrap_or(0);
        let number = u16_at(fixed, 8).unwrap_or(0);
        let appearance = u16_at(fixed, 10).unwrap_or(0);
        let dir_tag = u16_at(fixed, 12).unwrap_or(0);
        let ptype = u16_at(fixed, 14).unwrap_or(0);
        let comp = u16_at(fixed, 16).unwrap_or(0);
        let reason = u32_at(fixed, 22).unwrap_or(0);
        let location = u32_at(fixed, 26).unwrap_or(0);
        let orig = u16_at(fixed, 30).unwrap_or(0);
        let logged = u16_at(fixed, 32).unwrap_or(0);
        let Some(payload) = p.get(FIXED..).and_then(|x| x.get(..usize::from(logged))) else {
            return ctx.damaged(&format!(
                "PktMon packet event says {logged} logged bytes, holds {}",
                p.len().saturating_sub(FIXED)
            ));
        };
        self.events += 1;
        let link = match ptype {
            1 => 1,
            2 => 105,
            3 => 101,
            t => {
                return ctx
                    .not_packet(&format!("PktMon packet of payload type {t} (no link layer)"))
            }
        };
        let dir = direction(dir_tag);
        if drop {
            ctx.note_drop(PacketDrop {
                ts_ns: ctx.ts_ns,
                component: self.component_name(comp),
                component_id: comp,
                reason,
                reason_name: reason_name(reason),
                location,
                direction: dir,
                link,
                data: payload.get(..DROP_BYTES).unwrap_or(payload).to_vec(),
                orig_len: u32::from(orig),
            });
        }
        if logged < orig {
            ctx.stats.payload_truncated = ctx.stats.payload_truncated.saturating_add(1);
        }
        let interface = interface_index(
            ctx,
            InterfaceInfo {
                link,
                name: format!("pktmon:{}", self.component_name(comp)),
                description: String::new(),
            },
        );
        let mut data = ctx.take_vec();
        data.extend_from_slice(payload);
        let pkt = OutPkt {
            ts_ns: ctx.ts_ns,
            link,
            orig_len: u32::from(orig.max(logged)),
            interface,
            direction: dir,
            data,
            comment: None,
            offset: ctx.offset,
        };
        if self.all_appearances {
            ctx.ready.push_back(pkt);
            return;
        }
        let is_miniport = self.components.get(&comp).is_some_and(|c| c.0 == 2);
        let rank = match (drop, dir_tag) {
            (true, _) => 0,
            (false, 3 | 4) => 3,
            _ if is_miniport => 2,
            _ => 1,
        };
        self.offer((group, number), rank, appearance, pkt, ctx);
    }

    fn offer(&mut self, key: Key, rank: u8, appearance: u16, pkt: OutPkt, ctx: &mut Ctx<'_>) {
        if self.done.contains(&key) {
            ctx.stats.duplicate_appearances = ctx.stats.duplicate_appearances.saturating_add(1);
            ctx.give_vec(pkt.data);
            return;
        }
        ctx.stats.duplicate_appearances = ctx
            .stats
            .duplicate_appearances
            .saturating_add(u64::from(self.index.contains_key(&key)));
        if let Some(&seq) = self.index.get(&key) {
            let Some(cur) = self.pending.get_mut(seq - self.base) else { return };
            cur.last_event = self.events;
            let better = rank > cur.rank
                || (rank == cur.rank
                    && pkt.direction == Direction::Outbound
                    && appearance > cur.appearance);
            if better {
                let old = std::mem::replace(&mut cur.pkt, pkt);
                cur.rank = rank;
                cur.appearance = appearance;
                ctx.give_vec(old.data);
            } else {
                ctx.give_vec(pkt.data);
            }
            return;
        }
        self.index.insert(key, self.base + self.pending.len());
        self.pending.push_back(Pending { key, rank, appearance, pkt, last_event: self.events });
    }

    /// Moves packets that are final to `ctx.ready` (all of them when `all`).
    pub(crate) fn release(&mut self, ctx: &mut Ctx<'_>, all: bool) {
        while let Some(front) = self.pending.front() {
            let ready = all
                || front.rank == 3
                || self.events.saturating_sub(front.last_event) > WINDOW
                || self.pending.len() > ctx.limits.max_pending;
            if !ready {
                break;
            }
            let Some(p) = self.pending.pop_front() else { break };
            self.base += 1;
            self.index.remove(&p.key);
            if self.done_order.len() >= ctx.limits.max_pending.saturating_mul(4) {
                if let Some(old) = self.done_order.pop_front() {
                    self.done.remove(&old);
                }
            }
            self.done.insert(p.key);
            self.done_order.push_back(p.key);
            ctx.ready.push_back(p.pkt);
        }
    }
}

/// Names of the PKTMON_DROP_REASON values of the INET (TCP/UDP endpoint) group, 1200–1232
/// (from Microsoft's Packet Monitor API reference); other reasons stay numbers.
const INET_REASONS: [&str; 33] = [
    "INET_SourceUnspecified",
    "INET_DestinationMulticast",
    "INET_HeaderInvalid",
    "INET_ChecksumInvalid",
    "INET_EndpointNotFound",
    "INET_ConnectedPath",
    "INET_SessionState",
    "INET_ReceiveInspection",
    "INET_AckInvalid",
    "INET_ExpectedSyn",
    "INET_Rst",
    "INET_SynRcvdSyn",
    "INET_SimultaneousConnect",
    "INET_PawsFailed",
    "INET_LandAttack",
    "INET_MissedReset",
    "INET_OutsideWindow",
    "INET_DuplicateSegment",
    "INET_ClosedWindow",
    "INET_TcbRemoved",
    "INET_FinWait2",
    "INET_ReassemblyConflict",
    "INET_FinReceived",
    "INET_ListenerInvalidFlags",
    "INET_TcbNotInTcbTable",
    "INET_TimeWaitTcbReceivedRstOutsideWindow",
    "INET_TimeWaitTcbSynAndOtherFlags",
    "INET_TimeWaitTcb",
    "INET_SynAckWithFastopenCookieRequest",
    "INET_PauseAccept",
    "INET_SynAttack",
    "INET_AcceptInspection",
    "INET_AcceptRedirection",
];

fn reason_name(r: u32) -> String {
    match r.checked_sub(1200).and_then(|i| INET_REASONS.get(i as usize)) {
        Some(n) => format!("{n} ({r})"),
        None => format!("reason {r}"),
    }
}
