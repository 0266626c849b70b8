//! `pcap2win IN.pcap OUT [etl|etlz|netmon]`: rewrites the Ethernet frames of a pcap as a
//! synthetic NDIS-PacketCapture ETL (plain or LZXpress-compressed buffers, QPC clock at
//! 10 MHz, 64 KiB buffers, one 1001 event per frame with the receive keyword) or a NetMon 2.3
//! file, streaming (for the benchmark in bench/wintrace_bench.sh). Same layouts as the
//! synthetic files of the tests (tests/common); timestamps are kept to 100 ns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};

const BUF: usize = 64 * 1024;
const NDIS: [u8; 16] = [
    0x6e, 0x00, 0xd6, 0x2e, 0x29, 0x47, 0x09, 0x46, 0xb4, 0x23, 0x3e, 0xe7, 0xbc, 0xd6, 0x78, 0xef,
];

fn filetime(ns: i64) -> i64 {
    ns / 100 + 116_444_736_000_000_000
}

struct Etl<W: Write> {
    w: W,
    compress: bool,
    recs: Vec<u8>,
    start_ns: i64,
}

impl<W: Write> Etl<W> {
    fn buffer(&mut self, first: bool) {
        let saved = 72 + self.recs.len();
        let z = self.compress && !first;
        let body =
            if z { tracehound_wintrace::lzxpress::compress(&self.recs) } else { self.recs.clone() };
        let size = if z { (72 + body.len()).next_multiple_of(8) } else { BUF };
        let mut h = vec![0u8; 72];
        h[0..4].copy_from_slice(&(size as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(saved as u32).to_le_bytes());
        h[44..48].copy_from_slice(&(if first && self.compress { 4u32 } else { 3 }).to_le_bytes());
        h[52..54].copy_from_slice(&(if z { 0x40u16 } else { 1 }).to_le_bytes());
        h[54..56].copy_from_slice(&(if first { 4u16 } else { 1 }).to_le_bytes());
        h.extend_from_slice(&body);
        h.resize(size, 0xFF);
        self.w.write_all(&h).unwrap();
        self.recs.clear();
    }

    fn header(&mut self) {
        let mut p = vec![0u8; 248];
        p[0..4].copy_from_slice(&(BUF as u32).to_le_bytes());
        p[4] = 10;
        p[12..16].copy_from_slice(&1u32.to_le_bytes());
        let mode: u32 = if self.compress { 0x0400_0000 } else { 0 };
        p[32..36].copy_from_slice(&mode.to_le_bytes());
        p[44..48].copy_from_slice(&8u32.to_le_bytes());
        p.extend_from_slice(&0i64.to_le_bytes());
        p.extend_from_slice(&10_000_000i64.to_le_bytes());
        p.extend_from_slice(&filetime(self.start_ns).to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend_from_slice(&[0u8; 8]);
        let mut r = vec![2, 0, 2, 0xC0];
        r.extend_from_slice(&((32 + p.len()) as u16).to_le_bytes());
        r.extend_from_slice(&[0u8; 10]);
        r.extend_from_slice(&0i64.to_le_bytes()); // QPC ticks at the start
        r.extend_from_slice(&[0u8; 8]);
        r.extend_from_slice(&p);
        r.resize(r.len().next_multiple_of(8), 0);
        self.recs = r;
        self.buffer(true);
    }

    fn packet(&mut self, ts_ns: i64, data: &[u8]) {
        let size = 80 + 12 + data.len();
        let aligned = size.next_multiple_of(8);
        if 72 + self.recs.len() + aligned > BUF {
            self.buffer(false);
        }
        let r = &mut self.recs;
        r.extend_from_slice(&(size as u16).to_le_bytes());
        r.extend_from_slice(&[0x13, 0xC0, 0, 0, 0, 0]);
        r.extend_from_slice(&[0u8; 8]);
        r.extend_from_slice(&((ts_ns - self.start_ns) / 100).to_le_bytes());
        r.extend_from_slice(&NDIS);
        r.extend_from_slice(&1001u16.to_le_bytes());
        r.extend_from_slice(&[0u8; 6]);
        r.extend_from_slice(&(0x2_0000_0000u64 | 0xC000_0000).to_le_bytes());
        r.extend_from_slice(&[0u8; 24]);
        r.extend_from_slice(&1u32.to_le_bytes());
        r.extend_from_slice(&1u32.to_le_bytes());
        r.extend_from_slice(&(data.len() as u32).to_le_bytes());
        r.extend_from_slice(data);
        r.resize(r.len() + aligned - size, 0);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, inp, out, kind] = &args[..] else {
        eprintln!("usage: pcap2win IN.pcap OUT etl|etlz|netmon");
        std::process::exit(2);
    };
    let mut r = BufReader::with_capacity(1 << 20, File::open(inp).unwrap());
    let mut gh = [0u8; 24];
    r.read_exact(&mut gh).unwrap();
    let nanos = match u32::from_le_bytes(gh[0..4].try_into().unwrap()) {
        0xa1b2c3d4 => false,
        0xa1b23c4d => true,
        m => panic!("little-endian pcap expected, magic {m:08x}"),
    };
    let w = BufWriter::with_capacity(1 << 20, File::create(out).unwrap());
    let (mut w, mut etl) = if kind == "netmon" {
        (Some(w), None)
    } else {
        (None, Some(Etl { w, compress: kind == "etlz", recs: Vec::new(), start_ns: i64::MIN }))
    };
    let mut table: Vec<u32> = Vec::new();
    let mut pos: u64 = 128;
    if let Some(w) = w.as_mut() {
        w.write_all(&[0u8; 128]).unwrap();
    }
    let mut rh = [0u8; 16];
    let mut data = Vec::new();
    let mut n = 0u64;
    while r.read_exact(&mut rh).is_ok() {
        let secs = i64::from(u32::from_le_bytes(rh[0..4].try_into().unwrap()));
        let frac = i64::from(u32::from_le_bytes(rh[4..8].try_into().unwrap()));
        let incl = u32::from_le_bytes(rh[8..12].try_into().unwrap()) as usize;
        let orig = u32::from_le_bytes(rh[12..16].try_into().unwrap());
        data.resize(incl, 0);
        r.read_exact(&mut data).unwrap();
        let ts = secs * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        let ts = ts / 100 * 100;
        if kind == "netmon" {
            table.push(pos as u32);
            let mut f = Vec::with_capacity(incl + 31);
            f.extend_from_slice(&0u64.to_le_bytes());
            f.extend_from_slice(&orig.to_le_bytes());
            f.extend_from_slice(&(incl as u32).to_le_bytes());
            f.extend_from_slice(&data);
            f.extend_from_slice(&1u16.to_le_bytes());
            f.extend_from_slice(&0u32.to_le_bytes());
            f.extend_from_slice(&filetime(ts).to_le_bytes());
            f.push(0);
            w.as_mut().unwrap().write_all(&f).unwrap();
            pos += f.len() as u64;
            assert!(pos < u64::from(u32::MAX), "NetMon files stop at 4 GiB");
        } else {
            let e = etl.as_mut().unwrap();
            if e.start_ns == i64::MIN {
                e.start_ns = ts;
                e.header();
            }
            e.packet(ts, &data);
        }
        n += 1;
    }
    if let Some(mut e) = etl {
        if !e.recs.is_empty() {
            e.buffer(false);
        }
        e.w.flush().unwrap();
    }
    if let Some(mut w) = w {
        for o in &table {
            w.write_all(&o.to_le_bytes()).unwrap();
        }
        let mut f = w.into_inner().unwrap();
        let mut h = vec![0u8; 128];
        h[0..4].copy_from_slice(b"GMBU");
        h[4] = 3;
        h[5] = 2;
        h[6] = 1;
        h[8..10].copy_from_slice(&2024u16.to_le_bytes());
        h[10..12].copy_from_slice(&1u16.to_le_bytes());
        h[14..16].copy_from_slice(&1u16.to_le_bytes());
        h[24..28].copy_from_slice(&(pos as u32).to_le_bytes());
        h[28..32].copy_from_slice(&((table.len() * 4) as u32).to_le_bytes());
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(&h).unwrap();
    }
    eprintln!("{n} packets written to {out}");
}
