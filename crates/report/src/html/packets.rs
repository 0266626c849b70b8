//! The second, filtered read of a capture for the pictures: the analysis pass keeps facts,
//! not packets, so the frames a picture draws (the evidence frames of a finding, every packet
//! of the few flows a time–sequence graph shows, the ICMP errors about them) are read again.
//!
//! Bounded: at most [`MAX_FLOW_PACKETS`] packets per flow and [`MAX_PACKETS`] in all are kept
//! (what was left out is counted), the first [`HEAD_LEN`] payload bytes of each packet (to
//! name DCE/RPC PDU types and the like), and reading stops after the last frame any picture
//! needs when that is known.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use tracehound_capture::CaptureReader;
use tracehound_findings::FlowRef;
use tracehound_flows::Proto;
use tracehound_wire::{Net, Transport};

/// Packets kept per flow.
pub const MAX_FLOW_PACKETS: usize = 20_000;
/// Packets kept in all, per capture.
pub const MAX_PACKETS: usize = 200_000;
/// Payload bytes kept per packet.
pub const HEAD_LEN: usize = 64;

/// A flow without direction: the lower endpoint first.
pub type FlowKey = (Proto, IpAddr, u16, IpAddr, u16);

/// The direction-free key of a flow.
pub fn key(proto: Proto, a: IpAddr, ap: u16, b: IpAddr, bp: u16) -> FlowKey {
    if (a, ap) <= (b, bp) {
        (proto, a, ap, b, bp)
    } else {
        (proto, b, bp, a, ap)
    }
}

/// The key of a flow named in evidence.
pub fn key_of(f: &FlowRef) -> FlowKey {
    key(f.proto, f.src, f.sport, f.dst, f.dport)
}

/// What a packet carried above IP.
#[derive(Clone, Debug)]
pub enum Kind {
    Tcp { seq: u32, ack: u32, flags: u8, window: u16, len: u32, sack: Vec<(u32, u32)> },
    Udp { len: u32 },
    Icmp { v6: bool, icmp_type: u8, code: u8, quoted: Option<FlowKey> },
    Other { proto: u8 },
}

/// One packet read back for a picture.
#[derive(Clone, Debug)]
pub struct Pkt {
    pub frame: u64,
    /// Seconds since the epoch.
    pub ts: f64,
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub ip_id: u32,
    pub kind: Kind,
    /// The first payload bytes.
    pub head: Vec<u8>,
}

impl Pkt {
    pub fn flow_key(&self) -> Option<FlowKey> {
        match self.kind {
            Kind::Tcp { .. } => Some(key(Proto::Tcp, self.src, self.sport, self.dst, self.dport)),
            Kind::Udp { .. } => Some(key(Proto::Udp, self.src, self.sport, self.dst, self.dport)),
            _ => None,
        }
    }
}

/// What to read back from one capture.
#[derive(Default)]
pub struct Wanted {
    pub frames: HashSet<u64>,
    pub flows: HashSet<FlowKey>,
    /// Reading may stop after this frame (None: read to the end).
    pub last_frame: Option<u64>,
    /// Frame ranges (first, last) of the wanted flows, when every one is known: only frames
    /// in them (and in `frames`) are decoded. None: decode every frame.
    pub ranges: Option<Vec<(u64, u64)>>,
}

/// Sorted, merged ranges.
fn merge(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(l) if a <= l.1.saturating_add(1) => l.1 = l.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The packets read back.
#[derive(Default)]
pub struct Packets {
    /// By frame number (evidence frames and ICMP errors about wanted flows).
    pub by_frame: HashMap<u64, Pkt>,
    /// Every packet of each wanted flow, in capture order.
    pub flows: HashMap<FlowKey, Vec<Pkt>>,
    /// Packets of wanted flows not kept (over the limits).
    pub dropped: u64,
    /// Why the read back failed or stopped early, if it did.
    pub problem: Option<String>,
    /// Frames decoded (the others were skipped by number).
    pub decoded: u64,
}

impl Packets {
    pub fn flow(&self, k: &FlowKey) -> &[Pkt] {
        self.flows.get(k).map_or(&[], Vec::as_slice)
    }
}

fn decode(f: &tracehound_capture::Frame<'_>) -> Option<Pkt> {
    let d = tracehound_wire::decode_frame(f.link.0, f.data, f.orig_len).ok()?;
    let ip = match &d.net {
        Net::Ipv4(m) | Net::Ipv6(m) => m,
        _ => return None,
    };
    let (sport, dport, kind, payload): (u16, u16, Kind, &[u8]) = match d.transport {
        Transport::Tcp(t) => (
            t.sport,
            t.dport,
            Kind::Tcp {
                seq: t.seq,
                ack: t.ack,
                flags: t.flags.0,
                window: t.window,
                len: t.payload_wire_len,
                sack: t.opts.sack_blocks().to_vec(),
            },
            t.payload,
        ),
        Transport::Udp(u) => (u.sport, u.dport, Kind::Udp { len: u.payload_wire_len }, u.payload),
        Transport::Icmp(m) => {
            let quoted = m.quoted.and_then(|q| {
                let (a, b) = q.ports?;
                let proto = match q.proto {
                    6 => Proto::Tcp,
                    17 => Proto::Udp,
                    _ => return None,
                };
                Some(key(proto, q.src, a, q.dst, b))
            });
            (0, 0, Kind::Icmp { v6: m.v6, icmp_type: m.icmp_type, code: m.code, quoted }, &[][..])
        }
        Transport::Other { proto, .. } | Transport::Malformed { proto, .. } => {
            (0, 0, Kind::Other { proto }, &[][..])
        }
        _ => (0, 0, Kind::Other { proto: ip.proto }, &[][..]),
    };
    Some(Pkt {
        frame: f.number,
        ts: f.ts.as_secs_f64(),
        src: ip.src,
        sport,
        dst: ip.dst,
        dport,
        ip_id: ip.ident,
        kind,
        head: payload.get(..payload.len().min(HEAD_LEN)).unwrap_or(&[]).to_vec(),
    })
}

/// Read back what `w` names from the capture at `path`.
pub fn read(path: &Path, w: &Wanted) -> Packets {
    let mut out = Packets::default();
    if w.frames.is_empty() && w.flows.is_empty() {
        return out;
    }
    let mut rd = match CaptureReader::open(path) {
        Ok(r) => r,
        Err(e) => {
            out.problem = Some(format!("could not read the capture again: {e}"));
            return out;
        }
    };
    let mut kept = 0usize;
    let ranges = w.ranges.clone().map(merge);
    let mut ri = 0usize;
    loop {
        let f = match rd.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                out.problem = Some(format!("reading stopped: {e}"));
                break;
            }
        };
        if w.last_frame.is_some_and(|l| f.number > l) {
            break;
        }
        // Frames come in increasing order: skip ranges that ended, decode only what a
        // picture may need.
        if let Some(r) = &ranges {
            while r.get(ri).is_some_and(|x| x.1 < f.number) {
                ri += 1;
            }
            let in_range = r.get(ri).is_some_and(|x| x.0 <= f.number);
            if !in_range && !w.frames.contains(&f.number) {
                continue;
            }
        }
        out.decoded += 1;
        let Some(p) = decode(&f) else { continue };
        let fk = p.flow_key();
        let in_flow = fk.is_some_and(|k| w.flows.contains(&k));
        if w.frames.contains(&p.frame) && out.by_frame.len() < MAX_PACKETS {
            out.by_frame.insert(p.frame, p.clone());
        }
        if let (true, Some(k)) = (in_flow, fk) {
            let v = out.flows.entry(k).or_default();
            if v.len() < MAX_FLOW_PACKETS && kept < MAX_PACKETS {
                v.push(p);
                kept += 1;
            } else {
                out.dropped += 1;
            }
        }
    }
    out
}
