//! Microsoft-Windows-PktMon ({4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac}), the provider behind
//! `pktmon start --capture`.
//!
//! # Event layouts
//!
//! All version 0; fields packed without alignment. Sources: the provider manifest as dumped
//! in jdu2600/Windows10EtwEvents `manifest/Microsoft-Windows-PktMon.tsv` and OTRF/OSSEM
//! `data_dictionaries/windows/etw-providers/Microsoft-Windows-PktMon/events/`, and
//! Microsoft's own Network Monitor parser microsoft/NetMon_Parsers_for_PacketMon
//! `etl_Microsoft-Windows-PktMon-Events.npl` (`PktMon_FramePayload`, the value tables).
//!
//! * 20 component info: Id (u16), Type (u16: 1 NDIS, 2 Miniport, 3 Filter, 4 Protocol,
//!   5 VmsVmNic, 6 VmsMiniport, 7 VmsExtMiniport, 8 VmsProtocolNic, 9 NetVsc Miniport),
//!   Name, Description (NUL-terminated UTF-16).
//! * 30–75 component properties, 80/90 counters, 100/110 filters, 120–150 parsed headers
//!   without payload, 180/190 NBL info: counted, not used.
//! * 160 packet, 170 drop, 240 duplicate drop (same layout): PktGroupId (u64, at 0),
//!   PktNumber (u16, 8), AppearanceCount (u16, 10), DirTag (u16, 12: 1 In, 2 Out, 3 Rx,
//!   4 Tx, 5 Ingress, 6 Egress), PacketType (u16, 14: 1 Ethernet, 2 Wi-Fi — 802.11 or
//!   Ethernet as the payload's bytes show, see `wifi_link` —, 3 MBB — named
//!   `PktMonPayload_IP` in later ndis.sys — raw IP, then HTTP, TCP, UDP, ARP, ICMP, ESP, AH,
//!   L4 payload: no link layer, not delivered), ComponentId (u16, 16), EdgeId (18), FilterId
//!   (20), DropReason (u32, 22), DropLocation (u32, 26), OriginalPayloadSize (u16, 30),
//!   LoggedPayloadSize (u16, 32), Payload (LoggedPayloadSize bytes at 34).
//! * 200/210 (IPv4) and 220/230 (IPv6) packet / drop without PktGroupId (later Windows):
//!   DirTag, PacketType, ComponentId, EdgeId, FilterId (u16 each), DropReason, DropLocation
//!   (u32), DestinationIP, SourceIP (4 or 16 bytes), Protocol (u8), DestinationPort,
//!   SourcePort, OriginalPayloadSize, LoggedPayloadSize (u16), Payload. They cannot be
//!   matched with the appearances of the same packet: counted, not delivered (delivered with
//!   `--all-appearances` when their payload has a link layer); their drops are recorded.
//!
//! Any other version of 20/160/170/200–240 is reported as not known, never guessed.
//!
//! # Each packet once
//!
//! PktMon logs a packet at every component it crosses, each time with the same PktGroupId +
//! PktNumber and an AppearanceCount counting up along the path; every appearance carries
//! the packet's direction (`pktmon etl2txt` prints `Direction Tx` / `Rx` on all of them, the
//! network interface's miniport being the last appearance of a sent packet and the first of
//! a received one). The appearance kept is the one nearest the wire: the highest
//! AppearanceCount of a sent packet, the lowest of a received one — among appearances with
//! an Ethernet or IP payload when there is one (the 802.11 appearance of a Wi-Fi packet at
//! its miniport is kept only when it is the only one); a drop appearance only when the
//! packet has no other. A packet is final (delivered) when a received packet's appearance 1
//! has been seen and an Ethernet/IP appearance, when a sent packet reaches a Miniport /
//! NetVsc Miniport component, when it is dropped, after [`WINDOW`] further packet events
//! without another appearance of it, or at the end. Delivery keeps first-appearance order.
//! `--all-appearances` delivers every appearance instead. Payloads cut by pktmon
//! (`--pkt-size`, 128 bytes by default) keep OriginalPayloadSize as the frame's original
//! length and are counted in [`WinStats::payload_truncated`](crate::WinStats) (per packet
//! delivered).

mod reasons;

use std::collections::{HashMap, HashSet, VecDeque};

use super::{interface_index, Ctx, OutPkt};
use crate::le::{u16_at, u32_at, u64_at, wstring_at};
use crate::{Direction, Guid, InterfaceInfo, PacketDrop};

pub use reasons::reason_name;

pub const PROVIDER: Guid =
    Guid::new(0x4d4f_80d9, 0xc8bd, 0x4d73, [0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac]);

/// Packet events after which a packet that is not final is delivered. Windows writes one
/// buffer stream per processor, so the appearances of a packet handled on two processors
/// can be a buffer or more apart in the file (a 64 KiB buffer holds some 250 events with
/// 128-byte payloads).
pub const WINDOW: u64 = 512;
/// Packets delivered whose later appearances are still recognised as such (and counted in
/// `duplicate_appearances`, not delivered again).
const DONE_KEYS: usize = 131_072;
/// Bytes of a dropped packet kept in its [`PacketDrop`].
const DROP_BYTES: usize = 128;
/// Fixed fields of 160/170/240 before the payload.
const FIXED: usize = 34;

type Key = (u64, u16);

/// How good an appearance is: compared field by field, greater is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    not_drop: bool,
    /// Ethernet or IP payload (not 802.11): the view the packet has above the Wi-Fi miniport.
    ether_or_ip: bool,
    /// Nearness to the wire along the path.
    nearness: u16,
}

struct Pending {
    key: Key,
    rank: Rank,
    pkt: OutPkt,
    last_event: u64,
    /// Lowest AppearanceCount seen.
    min_appearance: u16,
    final_: bool,
}

/// The fields of one packet appearance (160/170/240).
struct Appearance<'p> {
    group: u64,
    number: u16,
    appearance: u16,
    dir_tag: u16,
    ptype: u16,
    comp: u16,
    reason: u32,
    location: u32,
    orig: u16,
    payload: &'p [u8],
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

/// pcap link type of a PacketType and its payload, if it has a link layer.
fn link_of(ptype: u16, payload: &[u8]) -> Option<u32> {
    match ptype {
        1 => Some(1),
        2 => Some(wifi_link(payload)),
        3 => Some(101),
        _ => None,
    }
}

/// A Wi-Fi (PacketType 2) payload: 802.11 (105) when it is an 802.11 data frame with its
/// LLC/SNAP header where the frame control puts it, else Ethernet (1) when bytes 12–13 are
/// an EtherType. No source says which a Wi-Fi appearance carries: Microsoft's own parser
/// (NetMon_Parsers_for_PacketMon, `PktMon_FramePayload`) dissects every payload as
/// Ethernet, while NDIS miniports in native 802.11 mode hand 802.11 frames; the bytes decide.
fn wifi_link(p: &[u8]) -> u32 {
    let (Some(&fc0), Some(&fc1)) = (p.first(), p.get(1)) else { return 105 };
    if fc0 & 0x0C == 0x08 {
        let mut hdr = 24;
        if fc1 & 0x03 == 0x03 {
            hdr += 6; // to-DS and from-DS: a fourth address
        }
        if fc0 & 0x80 != 0 {
            hdr += 2; // QoS data
        }
        if p.get(hdr..hdr + 3) == Some(&[0xAA, 0xAA, 0x03][..]) {
            return 105;
        }
    }
    match p.get(12..14) {
        Some([0x08, 0x00] | [0x86, 0xDD] | [0x08, 0x06] | [0x81, 0x00] | [0x88, 0x8E]) => 1,
        _ => 105,
    }
}

/// Component types at the network interface itself: Miniport (2) and NetVsc Miniport (9).
fn is_wire_component(ty: u16) -> bool {
    matches!(ty, 2 | 9)
}

impl PktMon {
    pub(crate) fn event(&mut self, ctx: &mut Ctx<'_>, id: u16, version: u8, p: &[u8]) {
        match (id, version) {
            (20, 0) => self.component(ctx, p),
            (160 | 170 | 240, 0) => self.packet(ctx, id, p),
            (200 | 210, 0) => self.flow_packet(ctx, id, 4, p),
            (220 | 230, 0) => self.flow_packet(ctx, id, 16, p),
            (20 | 160 | 170 | 200 | 210 | 220 | 230 | 240, v) => {
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

    fn drop_record(&self, ctx: &Ctx<'_>, a: &Appearance<'_>, link: u32) -> PacketDrop {
        PacketDrop {
            ts_ns: ctx.ts_ns,
            component: self.component_name(a.comp),
            component_id: a.comp,
            reason: a.reason,
            reason_name: reason_name(a.reason),
            location: a.location,
            direction: direction(a.dir_tag),
            link,
            data: a.payload.get(..DROP_BYTES).unwrap_or(a.payload).to_vec(),
            orig_len: u32::from(a.orig),
        }
    }

    fn out_pkt(&self, ctx: &mut Ctx<'_>, a: &Appearance<'_>, link: u32) -> OutPkt {
        let interface = interface_index(
            ctx,
            InterfaceInfo {
                link,
                name: format!("pktmon:{}", self.component_name(a.comp)),
                description: String::new(),
            },
        );
        let mut data = ctx.take_vec();
        data.extend_from_slice(a.payload);
        OutPkt {
            ts_ns: ctx.ts_ns,
            link,
            orig_len: u32::from(a.orig).max(a.payload.len() as u32),
            interface,
            direction: direction(a.dir_tag),
            data,
            comment: None,
            offset: ctx.offset,
        }
    }

    fn packet(&mut self, ctx: &mut Ctx<'_>, id: u16, p: &[u8]) {
        let Some(a) = parse_appearance(p) else {
            return ctx.damaged(&format!(
                "PktMon event {id}: {} bytes, shorter than its fixed fields and payload",
                p.len()
            ));
        };
        self.events += 1;
        let drop = id != 160;
        let link = link_of(a.ptype, a.payload);
        if id == 170 {
            ctx.note_drop(self.drop_record(ctx, &a, link.unwrap_or(0)));
        } else if id == 240 {
            ctx.not_packet("PktMon event 240 (duplicate drop report, not counted again)");
        }
        let Some(link) = link else {
            return ctx
                .not_packet(&format!("PktMon packet of payload type {} (no link layer)", a.ptype));
        };
        let pkt = self.out_pkt(ctx, &a, link);
        if self.all_appearances {
            count_truncated(ctx, &pkt);
            ctx.ready.push_back(pkt);
            return;
        }
        let outbound = pkt.direction == Direction::Outbound;
        let rank = Rank {
            not_drop: !drop,
            ether_or_ip: link != 105,
            nearness: if outbound { a.appearance } else { u16::MAX - a.appearance },
        };
        let at_wire =
            outbound && self.components.get(&a.comp).is_some_and(|c| is_wire_component(c.0));
        self.offer(ctx, (a.group, a.number), rank, a.appearance, drop || at_wire, pkt);
    }

    /// 200–230: a packet without PktGroupId (addresses in the event, payload by PacketType).
    fn flow_packet(&mut self, ctx: &mut Ctx<'_>, id: u16, alen: usize, p: &[u8]) {
        let sizes = 18 + 2 * alen + 5;
        let (Some(dir_tag), Some(ptype), Some(comp), Some(reason), Some(location)) =
            (u16_at(p, 0), u16_at(p, 2), u16_at(p, 4), u32_at(p, 10), u32_at(p, 14))
        else {
            return ctx.damaged(&format!("PktMon event {id} shorter than its fixed fields"));
        };
        let (Some(orig), Some(logged)) = (u16_at(p, sizes), u16_at(p, sizes + 2)) else {
            return ctx.damaged(&format!("PktMon event {id} shorter than its fixed fields"));
        };
        let Some(payload) = p.get(sizes + 4..).and_then(|x| x.get(..usize::from(logged))) else {
            return ctx.damaged(&format!(
                "PktMon event {id} says {logged} logged bytes, holds {}",
                p.len().saturating_sub(sizes + 4)
            ));
        };
        let a = Appearance {
            group: 0,
            number: 0,
            appearance: 0,
            dir_tag,
            ptype,
            comp,
            reason,
            location,
            orig,
            payload,
        };
        let link = link_of(ptype, payload);
        if id == 210 || id == 230 {
            ctx.note_drop(self.drop_record(ctx, &a, link.unwrap_or(0)));
        }
        ctx.not_packet(&format!("PktMon event {id} (packet without PktGroupId)"));
        if let (true, Some(link)) = (self.all_appearances, link) {
            let pkt = self.out_pkt(ctx, &a, link);
            count_truncated(ctx, &pkt);
            ctx.ready.push_back(pkt);
        }
    }

    fn offer(&mut self, ctx: &mut Ctx<'_>, key: Key, rank: Rank, app: u16, fin: bool, pkt: OutPkt) {
        if self.done.contains(&key) {
            ctx.stats.duplicate_appearances = ctx.stats.duplicate_appearances.saturating_add(1);
            ctx.give_vec(pkt.data);
            return;
        }
        let Some(&seq) = self.index.get(&key) else {
            let final_ = fin || (rank.not_drop && rank.ether_or_ip && app <= 1 && !is_out(&pkt));
            self.index.insert(key, self.base + self.pending.len());
            let p =
                Pending { key, rank, pkt, last_event: self.events, min_appearance: app, final_ };
            self.pending.push_back(p);
            return;
        };
        ctx.stats.duplicate_appearances = ctx.stats.duplicate_appearances.saturating_add(1);
        let Some(cur) = self.pending.get_mut(seq.wrapping_sub(self.base)) else {
            ctx.give_vec(pkt.data);
            return;
        };
        cur.last_event = self.events;
        cur.min_appearance = cur.min_appearance.min(app);
        let inbound = !is_out(&pkt);
        if rank > cur.rank {
            let old = std::mem::replace(&mut cur.pkt, pkt);
            cur.rank = rank;
            ctx.give_vec(old.data);
        } else {
            ctx.give_vec(pkt.data);
        }
        cur.final_ |= fin
            || (inbound && cur.rank.not_drop && cur.rank.ether_or_ip && cur.min_appearance <= 1);
    }

    /// Moves packets that are final to `ctx.ready` (all of them when `all`).
    pub(crate) fn release(&mut self, ctx: &mut Ctx<'_>, all: bool) {
        while let Some(front) = self.pending.front() {
            let ready = all
                || front.final_
                || self.events.saturating_sub(front.last_event) > WINDOW
                || self.pending.len() > ctx.limits.max_pending;
            if !ready {
                break;
            }
            let Some(p) = self.pending.pop_front() else { break };
            self.base += 1;
            self.index.remove(&p.key);
            if self.done_order.len() >= DONE_KEYS.max(ctx.limits.max_pending) {
                if let Some(old) = self.done_order.pop_front() {
                    self.done.remove(&old);
                }
            }
            self.done.insert(p.key);
            self.done_order.push_back(p.key);
            count_truncated(ctx, &p.pkt);
            ctx.ready.push_back(p.pkt);
        }
    }
}

fn is_out(p: &OutPkt) -> bool {
    p.direction == Direction::Outbound
}

fn count_truncated(ctx: &mut Ctx<'_>, p: &OutPkt) {
    if (p.data.len() as u64) < u64::from(p.orig_len) {
        ctx.stats.payload_truncated = ctx.stats.payload_truncated.saturating_add(1);
    }
}

/// The fields of a 160/170/240 event; `None` when it is shorter than its fixed fields or
/// than LoggedPayloadSize says.
fn parse_appearance(p: &[u8]) -> Option<Appearance<'_>> {
    let fixed = p.get(..FIXED)?;
    let logged = usize::from(u16_at(fixed, 32)?);
    Some(Appearance {
        group: u64_at(fixed, 0)?,
        number: u16_at(fixed, 8)?,
        appearance: u16_at(fixed, 10)?,
        dir_tag: u16_at(fixed, 12)?,
        ptype: u16_at(fixed, 14)?,
        comp: u16_at(fixed, 16)?,
        reason: u32_at(fixed, 22)?,
        location: u32_at(fixed, 26)?,
        orig: u16_at(fixed, 30)?,
        payload: p.get(FIXED..)?.get(..logged)?,
    })
}
