//! Microsoft-Windows-NDIS-PacketCapture ({2ed6006e-4729-4609-b423-3ee7bcd678ef}), the
//! provider behind `netsh trace start capture=yes`. Event layouts (version 0, as the
//! provider's manifest gives them; facts also in Microsoft's etl2pcapng):
//!
//! * 1001 packet fragment: MiniportIfIndex (u32), LowerIfIndex (u32), FragmentSize (u32),
//!   Fragment (FragmentSize bytes), then GFT fields not used here.
//! * 1002 packet metadata (for the next packet, 802.11): MiniportIfIndex, LowerIfIndex,
//!   MetadataSize (u32), Metadata (a DOT11_EXTSTA_RECV_CONTEXT: flags u32 at 4, PHY id u32
//!   at 8, centre frequency MHz u32 at 12, MPDUs u16 at 16, RSSI i32 at 20, data rate u8 at
//!   24 in units of 500 kb/s).
//! * 1003 VMSwitch packet fragment: MiniportIfIndex, LowerIfIndex, SourcePortId (u32),
//!   SourcePortName, SourceNicName, SourceNicType (NUL-terminated UTF-16), DestinationCount
//!   (u32), that many destinations (port id u32 and three strings: port name, NIC name, NIC
//!   type — layout assumed from the source fields, not confirmed on a real file),
//!   FragmentSize (u32), Fragment, OOBDataSize (u32), OOBData (the NBL info pointer array;
//!   entry 4 is the 802.1Q info, VLAN id in bits 4–15).
//!
//! Keywords: 0x200 wireless WAN (raw IP), 0x10000 native 802.11, otherwise Ethernet;
//! 0x4000_0000 packet start, 0x8000_0000 packet end (a multi-event packet is joined until
//! its end event: Windows before 8.1), 0x1_0000_0000 send path, 0x2_0000_0000 receive path.
//! The interface is LowerIfIndex (plus switch port and VLAN for 1003). The event header's
//! process id is not the packet's process (whatever thread the interrupt landed on): unused.
//!
//! Checked against Microsoft's etl2pcapng (microsoft/etl2pcapng `src/main.c`): the keyword
//! values and link types, joining fragments until KW_PACKET_END (Windows 8.1 and later log
//! one event per packet), FragmentSize bytes of Fragment, the DOT11_EXTSTA_RECV_CONTEXT
//! offsets (`#pragma pack(8)`), the metadata going to the next packet event, VLAN from OOB
//! entry 4 (Ieee8021QNetBufferListInfo) bits 4–15, the Protected flag cleared in 802.11
//! frames, the original length inferred from the IP header (ndiscap logs none). Not
//! confirmed there: the position of FragmentSize after 1003's destination array (etl2pcapng
//! reads fields by name through TDH), and the OOB pointer size of 32-bit traces (8 bytes are
//! assumed). Microsoft-Windows-Ras-NdisWanPacketCapture (5001/5002, which etl2pcapng also
//! converts) is not read.

use super::{interface_index, Ctx, OutPkt};
use crate::le::{u16_at, u32_at, u64_at, u8_at, wstring_at};
use crate::{Direction, Guid, InterfaceInfo};

pub const PROVIDER: Guid =
    Guid::new(0x2ed6_006e, 0x4729, 0x4609, [0xb4, 0x23, 0x3e, 0xe7, 0xbc, 0xd6, 0x78, 0xef]);

pub const KW_MEDIA_WIRELESS_WAN: u64 = 0x200;
pub const KW_MEDIA_NATIVE_802_11: u64 = 0x10000;
pub const KW_PACKET_START: u64 = 0x4000_0000;
pub const KW_PACKET_END: u64 = 0x8000_0000;
pub const KW_SEND: u64 = 0x1_0000_0000;
pub const KW_RECEIVE: u64 = 0x2_0000_0000;

/// Fragments of a multi-event packet waiting for its end event, and the 802.11 metadata
/// waiting for its packet.
#[derive(Default)]
pub struct Ndis {
    frag: Vec<u8>,
    metadata: Option<String>,
    /// The last interface seen: (lower, miniport, link, switch port + 1 or 0, VLAN) and its
    /// index, so that a packet costs no string formatting.
    last_iface: Option<(IfaceKey, u32)>,
}

/// (lower, miniport, link, switch port + 1 or 0, VLAN).
type IfaceKey = (u32, u32, u32, u32, u16);

/// Payload fields after the strings of a 1003 event.
struct VmSwitch {
    port: u32,
    port_name: String,
    nic_type: String,
    vlan: u16,
}

impl Ndis {
    /// Handles one event of this provider; a finished packet goes to `ctx.ready`.
    pub(crate) fn event(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: u16,
        version: u8,
        keyword: u64,
        p: &[u8],
    ) {
        if version != 0 && matches!(id, 1001..=1003) {
            ctx.not_packet(&format!("NDIS-PacketCapture event {id} version {version} (not known)"));
            return;
        }
        match id {
            1001 => self.fragment(ctx, keyword, p, None),
            1002 => self.metadata(ctx, p),
            1003 => match vmswitch(p) {
                Some((vm, frag_at)) => self.fragment(ctx, keyword, p, Some((vm, frag_at))),
                None => ctx.damaged("NDIS-PacketCapture 1003 event: fields run past the event"),
            },
            _ => ctx.not_packet(&format!("NDIS-PacketCapture event {id}")),
        }
    }

    fn fragment(&mut self, ctx: &mut Ctx<'_>, kw: u64, p: &[u8], vm: Option<(VmSwitch, usize)>) {
        let miniport = u32_at(p, 0).unwrap_or(0);
        let lower = u32_at(p, 4).unwrap_or(0);
        let size_at = vm.as_ref().map_or(8, |v| v.1);
        let Some(size) = u32_at(p, size_at) else {
            return ctx.damaged("NDIS-PacketCapture fragment event shorter than its header");
        };
        let Some(frag) = p.get(size_at + 4..).and_then(|f| f.get(..size as usize)) else {
            return ctx.damaged(&format!(
                "NDIS-PacketCapture fragment says {size} bytes, the event holds {}",
                p.len().saturating_sub(size_at + 4)
            ));
        };
        if self.frag.len() + frag.len() > ctx.limits.max_packet_len as usize {
            self.frag.clear();
            return ctx.damaged("NDIS-PacketCapture packet over the packet-length limit: skipped");
        }
        if kw & KW_PACKET_END == 0 {
            // A multi-event packet continues (start or middle fragment).
            self.frag.extend_from_slice(frag);
            return;
        }
        let link = if kw & KW_MEDIA_NATIVE_802_11 != 0 {
            105
        } else if kw & KW_MEDIA_WIRELESS_WAN != 0 {
            101
        } else {
            1
        };
        let vm = vm.map(|v| v.0);
        let key = (
            lower,
            miniport,
            link,
            vm.as_ref().map_or(0, |v| v.port.saturating_add(1)),
            vm.as_ref().map_or(0, |v| v.vlan),
        );
        let interface = match self.last_iface {
            Some((k, i)) if k == key => i,
            _ => {
                let i = interface_index(ctx, iface_info(vm.as_ref(), link, lower, miniport));
                self.last_iface = Some((key, i));
                i
            }
        };
        let direction = if kw & KW_SEND != 0 {
            Direction::Outbound
        } else if kw & KW_RECEIVE != 0 {
            Direction::Inbound
        } else {
            Direction::Unknown
        };
        // The packet: earlier fragments, then this one (most packets are one event: one copy).
        let mut data = ctx.take_vec();
        data.extend_from_slice(&self.frag);
        data.extend_from_slice(frag);
        self.frag.clear();
        if link == 105 {
            clear_protected(&mut data);
        }
        // etl2pcapng (src/main.c, EventCallback) adds the saved 1002 metadata to the next
        // packet event of the provider, whatever its media type.
        let comment = self.metadata.take();
        let orig_len = original_len(link, &data).max(data.len() as u32);
        ctx.ready.push_back(OutPkt {
            ts_ns: ctx.ts_ns,
            link,
            orig_len,
            interface,
            direction,
            data,
            comment,
            offset: ctx.offset,
        });
    }

    fn metadata(&mut self, ctx: &mut Ctx<'_>, p: &[u8]) {
        let size = u32_at(p, 8).unwrap_or(0) as usize;
        let Some(m) = p.get(12..).and_then(|m| m.get(..size)) else {
            return ctx.damaged("NDIS-PacketCapture 1002 metadata runs past the event");
        };
        ctx.not_packet("NDIS-PacketCapture 1002 (802.11 metadata)");
        let phy = u32_at(m, 8).unwrap_or(0);
        let phy_name = match phy {
            4 => "802.11a",
            5 => "802.11b",
            6 => "802.11g",
            7 => "802.11n",
            8 => "802.11ac",
            9 => "802.11ad",
            10 => "802.11ax",
            _ => "PHY",
        };
        self.metadata = Some(format!(
            "{phy_name} ({phy}), {} MHz, RSSI {} dBm, rate {} Mb/s, {} MPDUs, flags 0x{:x}",
            u32_at(m, 12).unwrap_or(0),
            u32_at(m, 20).unwrap_or(0) as i32,
            f64::from(u8_at(m, 24).unwrap_or(0)) / 2.0,
            u16_at(m, 16).unwrap_or(0),
            u32_at(m, 4).unwrap_or(0),
        ));
    }
}

/// NDIS-PacketCapture logs 802.11 frames decrypted but with the Protected flag (frame
/// control byte 1, 0x40) still set; etl2pcapng (src/main.c, EventCallback) clears it so that
/// Wireshark dissects the payload. So do we.
fn clear_protected(data: &mut [u8]) {
    if let Some(fc1) = data.get_mut(1) {
        *fc1 &= !0x40;
    }
}

/// The packet's length before ndiscap cut it (`netsh trace … packettruncatebytes=N`): the
/// provider logs no original length, so it is inferred from the IP header, as etl2pcapng
/// does (src/main.c: IPv4 TotalLength, IPv6 PayloadLength + 40, plus the link header;
/// etl2pcapng reads Ethernet without VLAN tags and adds 14 bytes to raw IP too — here VLAN
/// tags are followed and raw IP gets no link header). 0 when not inferable; an LSO packet's
/// length field 0 then gives nothing larger than what was captured.
fn original_len(link: u32, data: &[u8]) -> u32 {
    let be16 = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes([*data.get(at)?, *data.get(at.checked_add(1)?)?]))
    };
    let (l3, ethertype) = match link {
        1 => {
            let mut at = 12;
            let mut et = be16(at);
            while matches!(et, Some(0x8100 | 0x88A8)) && at < 12 + 4 * 2 {
                at += 4;
                et = be16(at);
            }
            (at + 2, et)
        }
        101 => match data.first().map(|b| b >> 4) {
            Some(4) => (0, Some(0x0800)),
            Some(6) => (0, Some(0x86DD)),
            _ => (0, None),
        },
        _ => (0, None),
    };
    let ip_len = match ethertype {
        Some(0x0800) => be16(l3 + 2).map(u32::from),
        Some(0x86DD) => be16(l3 + 4).map(|n| u32::from(n) + 40),
        _ => None,
    };
    ip_len.map_or(0, |n| n.saturating_add(l3 as u32))
}

/// The interface as etl2pcapng names it.
fn iface_info(vm: Option<&VmSwitch>, link: u32, lower: u32, miniport: u32) -> InterfaceInfo {
    let name = match (vm, link) {
        (Some(v), _) => format!("vNIC:{}:{}:{lower}:{}", v.nic_type, v.port_name, v.vlan),
        (None, 105) => format!("wifi:{lower}"),
        (None, 101) => format!("mbb:{lower}"),
        (None, _) => format!("eth:{lower}"),
    };
    let mut description = String::new();
    if miniport != lower {
        description = format!("LWF over IfIndex {miniport}");
    }
    if let Some(v) = vm {
        description = format!("{description} switch port {}", v.port).trim().to_string();
    }
    InterfaceInfo { link, name, description }
}

/// Parses a 1003 event's fields up to FragmentSize; returns them and FragmentSize's offset.
fn vmswitch(p: &[u8]) -> Option<(VmSwitch, usize)> {
    let port = u32_at(p, 8)?;
    let (port_name, at) = wstring_at(p, 12)?;
    let (_nic_name, at) = wstring_at(p, at)?;
    let (nic_type, at) = wstring_at(p, at)?;
    let count = u32_at(p, at)?;
    let mut at = at + 4;
    // Each destination takes at least 10 bytes: the count cannot exceed what is there.
    if count as usize > p.len() / 10 {
        return None;
    }
    for _ in 0..count {
        at += 4;
        for _ in 0..3 {
            at = wstring_at(p, at)?.1;
        }
    }
    let size = u32_at(p, at)? as usize;
    let oob_at = at.checked_add(4)?.checked_add(size)?;
    let oob_size = u32_at(p, oob_at).unwrap_or(0) as usize;
    let vlan = p
        .get(oob_at + 4..)
        .and_then(|o| o.get(..oob_size))
        .and_then(|o| u64_at(o, 4 * 8))
        .map_or(0, |v| ((v >> 4) & 0xFFF) as u16);
    Some((VmSwitch { port, port_name, nic_type, vlan }, at))
}
