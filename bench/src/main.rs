//! `mkcapture OUT.pcap SIZE_MB INPUT...`: writes a pcap (nanosecond timestamps) of at least
//! SIZE_MB megabytes by repeating the Ethernet frames of real captures. Copy k gets IPv4
//! and IPv6 addresses rewritten (k added to the middle bytes, so flows of different copies
//! stay distinct) and its times shifted by k × 2 hours (so each copy's flows have ended
//! before the next begins, as in a long-running capture). Checksums are not recomputed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use tracehound_capture::{CaptureReader, LinkType};

struct Frame {
    ts: i64,
    data: Vec<u8>,
    orig_len: u32,
}

fn load(paths: &[PathBuf]) -> anyhow::Result<Vec<Vec<Frame>>> {
    let mut files = Vec::new();
    for p in paths {
        let mut r = CaptureReader::open(p).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut v = Vec::new();
        let mut base = None;
        while let Ok(Some(f)) = r.next_frame() {
            if f.link != LinkType::ETHERNET {
                continue;
            }
            let b = *base.get_or_insert(f.ts.as_nanos());
            v.push(Frame { ts: f.ts.as_nanos() - b, data: f.data.to_vec(), orig_len: f.orig_len });
        }
        if !v.is_empty() {
            files.push(v);
        }
    }
    Ok(files)
}

fn rewrite(d: &mut [u8], k: u32) {
    let mut off = 12;
    // Skip VLAN tags.
    while d.len() >= off + 2 && matches!(u16::from_be_bytes([d[off], d[off + 1]]), 0x8100 | 0x88a8)
    {
        off += 4;
    }
    if d.len() < off + 2 {
        return;
    }
    let et = u16::from_be_bytes([d[off], d[off + 1]]);
    let ip = off + 2;
    let bump = |b: &mut [u8]| {
        let v = u16::from_be_bytes([b[0], b[1]]).wrapping_add(k as u16);
        b[..2].copy_from_slice(&v.to_be_bytes());
    };
    match et {
        0x0800 if d.len() >= ip + 20 => {
            bump(&mut d[ip + 13..ip + 15]);
            bump(&mut d[ip + 17..ip + 19]);
        }
        0x86dd if d.len() >= ip + 40 => {
            bump(&mut d[ip + 8 + 6..ip + 8 + 8]);
            bump(&mut d[ip + 24 + 6..ip + 24 + 8]);
        }
        _ => {}
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        anyhow::bail!("usage: mkcapture OUT.pcap SIZE_MB INPUT...");
    }
    let out = PathBuf::from(&args[1]);
    let target: u64 = args[2].parse::<u64>()? * 1_000_000;
    let inputs: Vec<PathBuf> = args[3..].iter().map(PathBuf::from).collect();
    let files = load(&inputs)?;
    anyhow::ensure!(!files.is_empty(), "no Ethernet frames in the inputs");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(&out)?);
    // pcap header, nanosecond magic, little endian, snaplen 262144, Ethernet.
    w.write_all(&0xa1b2_3c4du32.to_le_bytes())?;
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&4u16.to_le_bytes())?;
    w.write_all(&[0u8; 8])?;
    w.write_all(&262_144u32.to_le_bytes())?;
    w.write_all(&1u32.to_le_bytes())?;
    let mut written: u64 = 24;
    let mut frames: u64 = 0;
    let start: i64 = 1_700_000_000_000_000_000;
    let mut k: u32 = 0;
    let mut buf = Vec::new();
    while written < target {
        for (i, file) in files.iter().enumerate() {
            let copy = k * files.len() as u32 + i as u32;
            let shift = start + copy as i64 * 7200 * 1_000_000_000;
            for f in file {
                buf.clear();
                buf.extend_from_slice(&f.data);
                rewrite(&mut buf, copy + 1);
                let ts = shift + f.ts;
                w.write_all(&((ts / 1_000_000_000) as u32).to_le_bytes())?;
                w.write_all(&((ts % 1_000_000_000) as u32).to_le_bytes())?;
                w.write_all(&(buf.len() as u32).to_le_bytes())?;
                w.write_all(&f.orig_len.to_le_bytes())?;
                w.write_all(&buf)?;
                written += 16 + buf.len() as u64;
                frames += 1;
            }
        }
        k += 1;
    }
    w.flush()?;
    eprintln!(
        "{}: {} MB, {frames} frames, {k} rounds of {} captures",
        out.display(),
        written / 1_000_000,
        files.len()
    );
    Ok(())
}
