//! The plaintext capture: every frame of the input is written in order; the frames of a
//! decrypted session are rewritten so that the session reads as an ordinary TCP stream of
//! plaintext.
//!
//! * Frames wait in a queue until their TCP flow's fate is known (decrypt or keep), so the
//!   output keeps the input's order; the queue is capped ([`MAX_HELD`] frames,
//!   [`MAX_HELD_BYTES`]) and a flow still undecided at the cap is kept as it was (counted).
//! * In a decrypted session, a segment that completed TLS records carries their plaintext;
//!   sequence numbers count plaintext bytes from the original ISN, acknowledgements are
//!   mapped through the record boundaries the peer's data had; SYN, FIN, RST and pure ACKs
//!   stay (rewritten); segments that carried only handshake or partial records are dropped.
//!   SACK blocks are overwritten with NOPs; IP lengths and checksums are recomputed.
//! * The server port is mapped to its plaintext port (443→80, …) unless told not to; in
//!   pcapng the session's first packet carries a comment saying what was done.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::net::SocketAddr;

use tracehound_flows::FlowInfo;
use tracehound_wire::{self as wire, Net, Transport};

use crate::conn::pick;
use crate::pcapw::CaptureWriter;

/// Frames held at most while waiting for a flow's decision.
pub const MAX_HELD: usize = 100_000;
pub const MAX_HELD_BYTES: usize = 64 << 20;
/// Largest plaintext payload put in one rewritten packet.
const MAX_SEG: usize = 32 * 1024;
/// Acknowledgement map entries kept per direction.
const MAX_ACKMAP: usize = 1 << 16;

/// TLS port → plaintext port.
pub fn plain_port(p: u16) -> Option<u16> {
    Some(match p {
        443 => 80,
        636 => 389,
        3269 => 3268,
        993 => 143,
        995 => 110,
        465 => 25,
        5986 => 5985,
        _ => return None,
    })
}

/// What the decryptor tells the writer.
#[derive(Debug)]
pub enum Event {
    Plain { flow: FlowInfo, dir: usize, data: Vec<u8>, cipher_end: u64, plain_end: u64 },
    Decided { flow: FlowInfo, decrypt: bool, comment: String },
    Ended { flow: FlowInfo },
}

type Tuple = (SocketAddr, SocketAddr);

fn tuple(a: SocketAddr, b: SocketAddr) -> Tuple {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Undecided,
    Keep,
    Decrypt,
}

/// Where the headers are in a TCP frame.
#[derive(Clone, Copy)]
struct TcpMeta {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    ip_off: usize,
    ip_hlen: usize,
    tcp_hlen: usize,
    payload_len: usize,
    v4: bool,
}

struct Held {
    link: u32,
    ts: i64,
    data: Vec<u8>,
    orig_len: u32,
    tcp: Option<TcpMeta>,
    plain: Vec<Event>,
}

#[derive(Clone)]
struct Template {
    link: u32,
    hdr: Vec<u8>,
    meta: TcpMeta,
}

struct WFlow {
    fate: Fate,
    ended: bool,
    orig: Option<SocketAddr>,
    server_port: u16,
    mapped_port: u16,
    comment: Option<String>,
    base: [Option<u32>; 2],
    sent: [u64; 2],
    ackmap: [VecDeque<(u64, u64)>; 2],
    acked: [u64; 2],
    fin_off: [Option<u64>; 2],
    fin_sent: [bool; 2],
    last_ack: [u32; 2],
    template: [Option<Template>; 2],
}

impl WFlow {
    fn new() -> WFlow {
        WFlow {
            fate: Fate::Undecided,
            ended: false,
            orig: None,
            server_port: 0,
            mapped_port: 0,
            comment: None,
            base: [None; 2],
            sent: [0; 2],
            ackmap: Default::default(),
            acked: [0; 2],
            fin_off: [None; 2],
            fin_sent: [false; 2],
            last_ack: [0; 2],
            template: [None, None],
        }
    }
    fn dir(&self, src: SocketAddr) -> usize {
        usize::from(self.orig.is_some_and(|o| o != src))
    }
    /// Plaintext offset acknowledged by an ack of original stream offset `off` of `dir`.
    fn map_ack(&mut self, dir: usize, off: u64) -> u64 {
        let q = &mut pick(&mut self.ackmap, dir);
        while let Some(&(c, p)) = q.front() {
            if c > off {
                break;
            }
            *pick(&mut self.acked, dir) = p;
            q.pop_front();
        }
        let fin = pick(&mut self.fin_off, dir).is_some_and(|f| off > f);
        *pick(&mut self.acked, dir) + u64::from(fin)
    }
}

/// Counters of what the writer did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WriteStats {
    pub frames_in: u64,
    pub packets_out: u64,
    pub rewritten: u64,
    pub dropped_handshake_segments: u64,
    pub forced_keep: u64,
}

/// The plaintext capture writer.
pub struct PlainWriter<W: Write> {
    cw: CaptureWriter<W>,
    keep_ports: bool,
    flows: HashMap<Tuple, WFlow>,
    held: VecDeque<Held>,
    held_bytes: usize,
    last_ts: i64,
    pub stats: WriteStats,
}

fn tcp_meta(link: u32, data: &[u8], orig_len: u32) -> Option<TcpMeta> {
    let d = wire::decode_frame(link, data, orig_len).ok()?;
    let (Net::Ipv4(ip) | Net::Ipv6(ip)) = d.net else { return None };
    let Transport::Tcp(t) = d.transport else { return None };
    if ip.fragment.is_some() || t.header_cut {
        return None;
    }
    Some(TcpMeta {
        src: SocketAddr::new(ip.src, t.sport),
        dst: SocketAddr::new(ip.dst, t.dport),
        seq: t.seq,
        ack: t.ack,
        flags: t.flags.0,
        ip_off: usize::from(ip.offset),
        ip_hlen: ip.header.len(),
        tcp_hlen: usize::from(t.header_len),
        payload_len: t.payload.len(),
        v4: ip.src.is_ipv4(),
    })
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

impl<W: Write> PlainWriter<W> {
    pub fn new(cw: CaptureWriter<W>, keep_ports: bool) -> Self {
        PlainWriter {
            cw,
            keep_ports,
            flows: HashMap::new(),
            held: VecDeque::new(),
            held_bytes: 0,
            last_ts: 0,
            stats: WriteStats::default(),
        }
    }

    fn apply(&mut self, ev: &Event) {
        match ev {
            Event::Decided { flow, decrypt, comment } => {
                let f = self.flows.entry(tuple(flow.orig, flow.resp)).or_insert_with(WFlow::new);
                f.orig = Some(flow.orig);
                if f.fate == Fate::Undecided {
                    f.fate = if *decrypt { Fate::Decrypt } else { Fate::Keep };
                }
                f.server_port = flow.resp.port();
                f.mapped_port = if self.keep_ports {
                    flow.resp.port()
                } else {
                    plain_port(flow.resp.port()).unwrap_or(flow.resp.port())
                };
                let ports = if f.mapped_port != f.server_port {
                    format!("; port {}→{}", f.server_port, f.mapped_port)
                } else {
                    String::new()
                };
                f.comment = Some(format!("{comment}{ports}"));
            }
            Event::Ended { flow } => {
                if let Some(f) = self.flows.get_mut(&tuple(flow.orig, flow.resp)) {
                    f.ended = true;
                    if f.fate == Fate::Undecided {
                        f.fate = Fate::Keep;
                    }
                }
            }
            Event::Plain { .. } => {}
        }
    }

    /// One input frame and the decryptor's events produced while processing it.
    pub fn frame(
        &mut self,
        link: u32,
        ts: i64,
        data: &[u8],
        orig_len: u32,
        events: Vec<Event>,
    ) -> io::Result<()> {
        self.stats.frames_in += 1;
        let mut plain = Vec::new();
        for ev in events {
            if matches!(ev, Event::Plain { .. }) {
                plain.push(ev);
            } else {
                self.apply(&ev);
            }
        }
        let tcp = tcp_meta(link, data, orig_len);
        if let Some(m) = &tcp {
            let key = tuple(m.src, m.dst);
            let f = self.flows.entry(key).or_insert_with(WFlow::new);
            if f.ended && m.flags & (SYN | ACK) == SYN {
                *f = WFlow::new();
            }
            if f.orig.is_none() {
                f.orig = Some(if m.flags & (SYN | ACK) == SYN | ACK { m.dst } else { m.src });
            }
        }
        self.held_bytes += data.len();
        self.held.push_back(Held { link, ts, data: data.to_vec(), orig_len, tcp, plain });
        self.flush(false)
    }

    /// Write every held frame whose flow is decided (all of them when `all`).
    pub fn flush(&mut self, all: bool) -> io::Result<()> {
        while let Some(h) = self.held.front() {
            let over = self.held.len() > MAX_HELD || self.held_bytes > MAX_HELD_BYTES;
            if let Some(m) = &h.tcp {
                let f = self.flows.get_mut(&tuple(m.src, m.dst));
                if let Some(f) = f {
                    if f.fate == Fate::Undecided {
                        if !(all || over) {
                            break;
                        }
                        f.fate = Fate::Keep;
                        self.stats.forced_keep += u64::from(!all);
                    }
                }
            }
            let Some(h) = self.held.pop_front() else { break };
            self.held_bytes = self.held_bytes.saturating_sub(h.data.len());
            self.write_held(h)?;
        }
        Ok(())
    }

    pub fn finish(mut self, last: Vec<Event>) -> io::Result<(W, WriteStats)> {
        for ev in &last {
            self.apply(ev);
        }
        self.flush(true)?;
        let ts = self.last_ts;
        let plain: Vec<Event> =
            last.into_iter().filter(|e| matches!(e, Event::Plain { .. })).collect();
        self.emit_plain(None, plain, ts)?;
        let stats = self.stats.clone();
        Ok((self.cw.finish()?, stats))
    }
}

/// One's-complement sum of 16-bit words.
fn csum_add(mut sum: u32, b: &[u8]) -> u32 {
    let mut it = b.chunks_exact(2);
    for w in &mut it {
        if let [a, b] = w {
            sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*a, *b])));
        }
    }
    if let [last] = it.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

fn csum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Fields of a rebuilt segment.
struct Seg<'a> {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &'a [u8],
}

/// Rebuild a frame from the headers of `hdr` (link, IP, TCP) with new TCP fields and payload.
fn build(hdr: &[u8], m: &TcpMeta, s: &Seg<'_>) -> Option<Vec<u8>> {
    let tcp_off = m.ip_off.checked_add(m.ip_hlen)?;
    let end = tcp_off.checked_add(m.tcp_hlen)?;
    let mut p = hdr.get(..end)?.to_vec();
    p.extend_from_slice(s.payload);
    let tcp_len = m.tcp_hlen + s.payload.len();
    {
        let t = p.get_mut(tcp_off..end)?;
        t.get_mut(0..2)?.copy_from_slice(&s.sport.to_be_bytes());
        t.get_mut(2..4)?.copy_from_slice(&s.dport.to_be_bytes());
        t.get_mut(4..8)?.copy_from_slice(&s.seq.to_be_bytes());
        t.get_mut(8..12)?.copy_from_slice(&s.ack.to_be_bytes());
        *t.get_mut(13)? = s.flags;
        t.get_mut(16..18)?.copy_from_slice(&[0, 0]);
        // SACK blocks (kind 5) would refer to the old sequence space: overwrite with NOPs.
        let mut i = 20;
        while i < t.len() {
            match t.get(i).copied().unwrap_or(0) {
                0 => break,
                1 => i += 1,
                kind => {
                    let len = usize::from(*t.get(i + 1)?).max(2);
                    if kind == 5 {
                        t.get_mut(i..i + len)?.fill(1);
                    }
                    i += len;
                }
            }
        }
    }
    let (src, dst) = if m.v4 {
        let ip_len = u16::try_from(m.ip_hlen + tcp_len).ok()?;
        let ip = p.get_mut(m.ip_off..tcp_off)?;
        ip.get_mut(2..4)?.copy_from_slice(&ip_len.to_be_bytes());
        ip.get_mut(10..12)?.copy_from_slice(&[0, 0]);
        let c = csum_fold(csum_add(0, ip));
        ip.get_mut(10..12)?.copy_from_slice(&c.to_be_bytes());
        (ip.get(12..16)?.to_vec(), ip.get(16..20)?.to_vec())
    } else {
        let plen = u16::try_from(m.ip_hlen - 40 + tcp_len).ok()?;
        let ip = p.get_mut(m.ip_off..tcp_off)?;
        ip.get_mut(4..6)?.copy_from_slice(&plen.to_be_bytes());
        (ip.get(8..24)?.to_vec(), ip.get(24..40)?.to_vec())
    };
    let mut sum = csum_add(0, &src);
    sum = csum_add(sum, &dst);
    sum = sum.wrapping_add(6).wrapping_add(tcp_len as u32);
    sum = csum_add(sum, p.get(tcp_off..)?);
    let c = csum_fold(sum);
    p.get_mut(tcp_off + 16..tcp_off + 18)?.copy_from_slice(&c.to_be_bytes());
    Some(p)
}

impl<W: Write> PlainWriter<W> {
    fn out(
        &mut self,
        link: u32,
        ts: i64,
        data: &[u8],
        orig_len: u32,
        comment: Option<&str>,
    ) -> io::Result<()> {
        self.stats.packets_out += 1;
        self.cw.packet(link, ts, data, orig_len, comment)
    }

    fn ports(f: &WFlow, d: usize, m: &TcpMeta) -> (u16, u16) {
        let (mut sp, mut dp) = (m.src.port(), m.dst.port());
        if d == 1 && sp == f.server_port {
            sp = f.mapped_port;
        } else if d == 0 && dp == f.server_port {
            dp = f.mapped_port;
        }
        (sp, dp)
    }

    fn write_held(&mut self, h: Held) -> io::Result<()> {
        self.last_ts = h.ts;
        let Some(m) = h.tcp else {
            self.out(h.link, h.ts, &h.data, h.orig_len, None)?;
            return self.emit_plain(None, h.plain, h.ts);
        };
        let key = tuple(m.src, m.dst);
        let decrypt = self.flows.get(&key).is_some_and(|f| f.fate == Fate::Decrypt);
        if !decrypt {
            self.out(h.link, h.ts, &h.data, h.orig_len, None)?;
            return self.emit_plain(None, h.plain, h.ts);
        }
        let Some(f) = self.flows.get_mut(&key) else { return Ok(()) };
        let d = f.dir(m.src);
        if pick(&mut f.base, d).is_none() {
            *pick(&mut f.base, d) =
                Some(if m.flags & SYN != 0 { m.seq.wrapping_add(1) } else { m.seq });
        }
        let hdr_end = (m.ip_off + m.ip_hlen + m.tcp_hlen).min(h.data.len());
        *pick(&mut f.template, d) = Some(Template {
            link: h.link,
            hdr: h.data.get(..hdr_end).unwrap_or_default().to_vec(),
            meta: m,
        });
        let (own, others): (Vec<Event>, Vec<Event>) = h.plain.into_iter().partition(|e| match e {
            Event::Plain { flow, dir, .. } => tuple(flow.orig, flow.resp) == key && *dir == d,
            _ => false,
        });
        self.emit_plain(Some(key), others, h.ts)?;
        let Some(f) = self.flows.get_mut(&key) else { return Ok(()) };
        let mut payload = Vec::new();
        for e in own {
            if let Event::Plain { data, cipher_end, plain_end, .. } = e {
                if pick(&mut f.ackmap, d).len() < MAX_ACKMAP {
                    pick(&mut f.ackmap, d).push_back((cipher_end, plain_end));
                }
                payload.extend_from_slice(&data);
            }
        }
        let base = pick(&mut f.base, d).unwrap_or(m.seq);
        if m.flags & FIN != 0 {
            let off = u64::from(m.seq.wrapping_sub(base)) + m.payload_len as u64;
            *pick(&mut f.fin_off, d) = Some(off);
        }
        let other = 1 - d;
        let ack = match *pick(&mut f.base, other) {
            Some(b) if m.flags & ACK != 0 => {
                let off = u64::from(m.ack.wrapping_sub(b));
                b.wrapping_add(f.map_ack(other, off) as u32)
            }
            _ => m.ack,
        };
        *pick(&mut f.last_ack, d) = ack;
        if payload.is_empty() && m.payload_len > 0 && m.flags & (SYN | FIN | RST) == 0 {
            self.stats.dropped_handshake_segments += 1;
            return Ok(());
        }
        let (sport, dport) = Self::ports(f, d, &m);
        let mut pkts = Vec::new();
        let chunks: Vec<&[u8]> =
            if payload.is_empty() { vec![&[][..]] } else { payload.chunks(MAX_SEG).collect() };
        let n = chunks.len();
        for (i, c) in chunks.into_iter().enumerate() {
            let seq = if m.flags & SYN != 0 {
                m.seq
            } else {
                base.wrapping_add(*pick(&mut f.sent, d) as u32)
                    .wrapping_add(u32::from(*pick(&mut f.fin_sent, d)))
            };
            let mut flags =
                if c.is_empty() { m.flags } else { (m.flags & !(SYN | FIN)) | ACK | PSH };
            if i + 1 == n && !c.is_empty() {
                flags |= m.flags & FIN;
            }
            *pick(&mut f.sent, d) += c.len() as u64;
            if i + 1 == n && m.flags & FIN != 0 {
                *pick(&mut f.fin_sent, d) = true;
            }
            if let Some(p) = build(&h.data, &m, &Seg { sport, dport, seq, ack, flags, payload: c })
            {
                pkts.push(p);
            }
        }
        let comment = f.comment.take();
        self.stats.rewritten += 1;
        for (i, p) in pkts.iter().enumerate() {
            let c = if i == 0 { comment.as_deref() } else { None };
            self.out(h.link, h.ts, p, p.len() as u32, c)?;
        }
        Ok(())
    }

    /// Plaintext of flows other than the frame's own (or at the end): packets built from the
    /// direction's last headers.
    fn emit_plain(&mut self, _own: Option<Tuple>, plain: Vec<Event>, ts: i64) -> io::Result<()> {
        for e in plain {
            let Event::Plain { flow, dir, data, cipher_end, plain_end } = e else { continue };
            let key = tuple(flow.orig, flow.resp);
            let Some(f) = self.flows.get_mut(&key) else { continue };
            if f.fate != Fate::Decrypt {
                continue;
            }
            let Some(t) = pick(&mut f.template, dir).clone() else { continue };
            if pick(&mut f.ackmap, dir).len() < MAX_ACKMAP {
                pick(&mut f.ackmap, dir).push_back((cipher_end, plain_end));
            }
            let base = pick(&mut f.base, dir).unwrap_or(t.meta.seq);
            let (sport, dport) = Self::ports(f, dir, &t.meta);
            let mut pkts = Vec::new();
            for c in data.chunks(MAX_SEG) {
                let seq = base.wrapping_add(*pick(&mut f.sent, dir) as u32);
                *pick(&mut f.sent, dir) += c.len() as u64;
                let s = Seg {
                    sport,
                    dport,
                    seq,
                    ack: *pick(&mut f.last_ack, dir),
                    flags: ACK | PSH,
                    payload: c,
                };
                if let Some(p) = build(&t.hdr, &t.meta, &s) {
                    pkts.push(p);
                }
            }
            for p in pkts {
                self.out(t.link, ts, &p, p.len() as u32, None)?;
            }
        }
        Ok(())
    }
}
