//! Synthetic ETL files built from the documented structures (see `src/etl/*.rs` docs).
//!
//! How they differ from files Windows writes (all deliberate, all irrelevant to the parts
//! tested): one processor's buffer stream only (Windows writes per-processor buffers whose
//! events interleave); buffer fields Windows fills but readers do not use (sequence number,
//! reference count, client context, CurrentOffset, the list-entry area) are left 0; the
//! logfile header's strings and time-zone names are short; every event is an EVENT_HEADER64
//! record with 0 thread/process ids and no activity id; NDIS 1001 events carry no GFT
//! trailer; compressed buffers use the simple fixed code of `lzxpress::compress`, not
//! Windows' optimal one (the format is the same).

use tracehound_wintrace::lzxpress;

pub const NDIS: [u8; 16] =
    guid(0x2ed6_006e, 0x4729, 0x4609, [0xb4, 0x23, 0x3e, 0xe7, 0xbc, 0xd6, 0x78, 0xef]);
pub const PKTMON: [u8; 16] =
    guid(0x4d4f_80d9, 0xc8bd, 0x4d73, [0xbb, 0x5b, 0x19, 0xc9, 0x04, 0x02, 0xc5, 0xac]);
pub const KNET: [u8; 16] =
    guid(0x7dd4_2a49, 0x5329, 0x4832, [0x8d, 0xfd, 0x43, 0xd9, 0x79, 0x15, 0x3a, 0x88]);
pub const OTHER: [u8; 16] = guid(0x1111_2222, 0x3333, 0x4444, [5, 6, 7, 8, 9, 10, 11, 12]);

pub const fn guid(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> [u8; 16] {
    let a = d1.to_le_bytes();
    let b = d2.to_le_bytes();
    let c = d3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5],
        d4[6], d4[7],
    ]
}

/// The clock of a synthetic file.
#[derive(Clone, Copy, Debug)]
pub enum ClockKind {
    /// QPC at `freq` Hz.
    Qpc(i64),
    SystemTime,
    /// CPU cycles at `mhz`.
    Cycles(u32),
}

pub struct EtlBuilder {
    pub clock: ClockKind,
    pub start_ns: i64,
    /// Ticks of the header record (QPC / cycles).
    pub ref_ticks: i64,
    pub compressed: bool,
    pub buffer_size: usize,
    buffers: Vec<Vec<u8>>,
    records: Vec<u8>,
}

fn filetime(ns: i64) -> i64 {
    ns / 100 + 116_444_736_000_000_000
}

impl EtlBuilder {
    pub fn new(clock: ClockKind, start_ns: i64, compressed: bool) -> EtlBuilder {
        EtlBuilder {
            clock,
            start_ns,
            ref_ticks: 123_456_789,
            compressed,
            buffer_size: 64 * 1024,
            buffers: Vec::new(),
            records: Vec::new(),
        }
    }

    /// Raw timestamp of `ns` in this file's clock (exactly representable when `ns` is a
    /// multiple of the tick).
    pub fn raw_ts(&self, ns: i64) -> i64 {
        let d = (ns - self.start_ns) as i128;
        match self.clock {
            ClockKind::SystemTime => filetime(ns),
            ClockKind::Qpc(f) => self.ref_ticks + (d * f as i128 / 1_000_000_000) as i64,
            ClockKind::Cycles(mhz) => self.ref_ticks + (d * mhz as i128 / 1000) as i64,
        }
    }

    fn header_record(&self) -> Vec<u8> {
        let mut p = vec![0u8; 248];
        p[0..4].copy_from_slice(&(self.buffer_size as u32).to_le_bytes());
        p[4..8].copy_from_slice(&[10, 0, 0, 0]);
        p[8..12].copy_from_slice(&22_621u32.to_le_bytes());
        p[12..16].copy_from_slice(&1u32.to_le_bytes());
        p[16..24].copy_from_slice(&filetime(self.start_ns + 60_000_000_000).to_le_bytes());
        let mode: u32 = if self.compressed { 0x0400_0000 } else { 0 };
        p[32..36].copy_from_slice(&mode.to_le_bytes());
        p[44..48].copy_from_slice(&8u32.to_le_bytes());
        let mhz = match self.clock {
            ClockKind::Cycles(m) => m,
            _ => 2400,
        };
        p[52..56].copy_from_slice(&mhz.to_le_bytes());
        p[72..76].copy_from_slice(&(-120i32).to_le_bytes()); // UTC+2
        let (freq, kind) = match self.clock {
            ClockKind::Qpc(f) => (f, 1u32),
            ClockKind::SystemTime => (10_000_000, 2),
            ClockKind::Cycles(_) => (0, 3),
        };
        p.extend_from_slice(&filetime(self.start_ns - 3_600_000_000_000).to_le_bytes());
        p.extend_from_slice(&freq.to_le_bytes());
        p.extend_from_slice(&filetime(self.start_ns).to_le_bytes());
        p.extend_from_slice(&kind.to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        for s in ["tracehound-test", r"C:\t\synthetic.etl"] {
            for u in s.encode_utf16() {
                p.extend_from_slice(&u.to_le_bytes());
            }
            p.extend_from_slice(&[0, 0]);
        }
        let ts = match self.clock {
            ClockKind::SystemTime => filetime(self.start_ns),
            _ => self.ref_ticks,
        };
        let mut r = Vec::new();
        r.extend_from_slice(&2u16.to_le_bytes());
        r.push(2); // SYSTEM64
        r.push(0xC0);
        r.extend_from_slice(&((32 + p.len()) as u16).to_le_bytes());
        r.extend_from_slice(&0u16.to_le_bytes()); // hook: header group, type 0
        r.extend_from_slice(&[0u8; 8]);
        r.extend_from_slice(&ts.to_le_bytes());
        r.extend_from_slice(&[0u8; 8]);
        r.extend_from_slice(&p);
        r
    }

    /// Adds an EVENT_HEADER64 record (with one extended data item when `ext`).
    #[allow(clippy::too_many_arguments)]
    pub fn event(
        &mut self,
        provider: [u8; 16],
        id: u16,
        version: u8,
        keyword: u64,
        ts_ns: i64,
        payload: &[u8],
        ext: bool,
    ) {
        let mut r = Vec::new();
        let ext_bytes: Vec<u8> = if ext {
            // EVENT_HEADER_EXT_TYPE_TS_ID (3): a session id, u32, padded to 8.
            let mut e = vec![0, 0, 3, 0, 0, 0, 4, 0];
            e.extend_from_slice(&7u32.to_le_bytes());
            e.extend_from_slice(&[0; 4]);
            e
        } else {
            Vec::new()
        };
        let size = 80 + ext_bytes.len() + payload.len();
        r.extend_from_slice(&(size as u16).to_le_bytes());
        r.push(0x13);
        r.push(0xC0);
        r.extend_from_slice(&(u16::from(ext)).to_le_bytes()); // flags
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend_from_slice(&77u32.to_le_bytes()); // thread
        r.extend_from_slice(&4u32.to_le_bytes()); // process: System (not trusted)
        r.extend_from_slice(&self.raw_ts(ts_ns).to_le_bytes());
        r.extend_from_slice(&provider);
        r.extend_from_slice(&id.to_le_bytes());
        r.push(version);
        r.extend_from_slice(&[0, 4, 0]);
        r.extend_from_slice(&0u16.to_le_bytes());
        r.extend_from_slice(&keyword.to_le_bytes());
        r.extend_from_slice(&[0u8; 8 + 16]);
        r.extend_from_slice(&ext_bytes);
        r.extend_from_slice(payload);
        let aligned = r.len().next_multiple_of(8);
        if 72 + self.records.len() + aligned > self.buffer_size {
            self.flush();
        }
        r.resize(aligned, 0);
        self.records.extend_from_slice(&r);
    }

    fn buffer(&self, records: &[u8], first: bool) -> Vec<u8> {
        let saved = 72 + records.len();
        let mut h = vec![0u8; 72];
        let compress = self.compressed && !first;
        let body = if compress { lzxpress::compress(records) } else { records.to_vec() };
        let size = if compress { (72 + body.len()).next_multiple_of(8) } else { self.buffer_size };
        h[0..4].copy_from_slice(&(size as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(saved as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(saved as u32).to_le_bytes());
        let state: u32 = if first && self.compressed { 4 } else { 3 };
        h[44..48].copy_from_slice(&state.to_le_bytes());
        h[48..52].copy_from_slice(&(saved as u32).to_le_bytes());
        let flag: u16 = if compress { 0x40 } else { 0x01 };
        h[52..54].copy_from_slice(&flag.to_le_bytes());
        h[54..56].copy_from_slice(&(if first { 4u16 } else { 1 }).to_le_bytes());
        h.extend_from_slice(&body);
        h.resize(size, 0xFF);
        h
    }

    pub fn flush(&mut self) {
        if self.records.is_empty() {
            return;
        }
        let recs = std::mem::take(&mut self.records);
        let b = self.buffer(&recs, false);
        self.buffers.push(b);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.flush();
        let mut first = self.header_record();
        first.resize(first.len().next_multiple_of(8), 0);
        let mut out = self.buffer(&first, true);
        for b in &self.buffers {
            out.extend_from_slice(b);
        }
        out
    }
}

/// NDIS-PacketCapture 1001 payload.
pub fn ndis_1001(miniport: u32, lower: u32, frag: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&miniport.to_le_bytes());
    p.extend_from_slice(&lower.to_le_bytes());
    p.extend_from_slice(&(frag.len() as u32).to_le_bytes());
    p.extend_from_slice(frag);
    p
}

fn wstr(p: &mut Vec<u8>, s: &str) {
    for u in s.encode_utf16() {
        p.extend_from_slice(&u.to_le_bytes());
    }
    p.extend_from_slice(&[0, 0]);
}

/// NDIS-PacketCapture 1003 (VMSwitch) payload with one destination and VLAN `vlan`.
pub fn ndis_1003(lower: u32, port: u32, vlan: u16, frag: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&lower.to_le_bytes());
    p.extend_from_slice(&lower.to_le_bytes());
    p.extend_from_slice(&port.to_le_bytes());
    wstr(&mut p, "vm-port-7");
    wstr(&mut p, "Network Adapter");
    wstr(&mut p, "Synthetic");
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(&9u32.to_le_bytes());
    wstr(&mut p, "dst-port");
    wstr(&mut p, "dst-nic");
    wstr(&mut p, "External");
    p.extend_from_slice(&(frag.len() as u32).to_le_bytes());
    p.extend_from_slice(frag);
    let mut oob = vec![0u8; 8 * 10];
    oob[32..40].copy_from_slice(&(u64::from(vlan) << 4).to_le_bytes());
    p.extend_from_slice(&(oob.len() as u32).to_le_bytes());
    p.extend_from_slice(&oob);
    p
}

/// NDIS-PacketCapture 1002 payload (DOT11_EXTSTA_RECV_CONTEXT).
pub fn ndis_1002(lower: u32, phy: u32, mhz: u32, rssi: i32, rate: u8) -> Vec<u8> {
    let mut m = vec![0u8; 40];
    m[8..12].copy_from_slice(&phy.to_le_bytes());
    m[12..16].copy_from_slice(&mhz.to_le_bytes());
    m[16..18].copy_from_slice(&1u16.to_le_bytes());
    m[20..24].copy_from_slice(&rssi.to_le_bytes());
    m[24] = rate;
    let mut p = Vec::new();
    p.extend_from_slice(&lower.to_le_bytes());
    p.extend_from_slice(&lower.to_le_bytes());
    p.extend_from_slice(&(m.len() as u32).to_le_bytes());
    p.extend_from_slice(&m);
    p
}

/// PktMon 20 (component) payload.
pub fn pktmon_20(id: u16, ty: u16, name: &str) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&id.to_le_bytes());
    p.extend_from_slice(&ty.to_le_bytes());
    wstr(&mut p, name);
    wstr(&mut p, "synthetic component");
    p
}

/// PktMon 160/170 payload.
#[allow(clippy::too_many_arguments)]
pub fn pktmon_pkt(
    group: u64,
    number: u16,
    appearance: u16,
    dir: u16,
    ptype: u16,
    comp: u16,
    reason: u32,
    orig: u16,
    logged: &[u8],
) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&group.to_le_bytes());
    for v in [number, appearance, dir, ptype, comp, 1, 0] {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p.extend_from_slice(&reason.to_le_bytes());
    p.extend_from_slice(&(if reason != 0 { 0xE000_4500u32 } else { 0 }).to_le_bytes());
    p.extend_from_slice(&orig.to_le_bytes());
    p.extend_from_slice(&(logged.len() as u16).to_le_bytes());
    p.extend_from_slice(logged);
    p
}

/// Kernel-Network 12 (TCP connect, IPv4) payload: local `s`, remote `d`.
pub fn knet_connect_v4(pid: u32, s: std::net::SocketAddrV4, d: std::net::SocketAddrV4) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&pid.to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes());
    p.extend_from_slice(&d.ip().octets());
    p.extend_from_slice(&s.ip().octets());
    p.extend_from_slice(&d.port().to_be_bytes());
    p.extend_from_slice(&s.port().to_be_bytes());
    p.extend_from_slice(&[0u8; 24]);
    p
}
