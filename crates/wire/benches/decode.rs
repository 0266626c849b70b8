//! Decode throughput: every frame of a capture decoded 1000 times; prints MB/s of frame
//! bytes and frames/s. `cargo bench -p tracehound-wire --bench decode [-- FILE ...]`
//! (`WIRE_BENCH_ITERS=N` changes the 1000 repetitions, e.g. for callgrind).
//! Default inputs: shared captures (Ethernet/IPv4/TCP), see /work/shared/captures/SOURCES.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use tracehound_wire::{decode, Transport};

/// Minimal classic-pcap record walker (bench input only).
fn frames(path: &Path) -> (u32, Vec<Vec<u8>>) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    assert!(
        magic == 0xa1b2c3d4 || magic == 0xa1b23c4d,
        "{}: not a little-endian pcap",
        path.display()
    );
    let link = u32::from_le_bytes(b[20..24].try_into().unwrap());
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let cap = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        out.push(b[off + 16..off + 16 + cap].to_vec());
        off += 16 + cap;
    }
    (link, out)
}

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures");
    let mut args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if args.is_empty() {
        args = vec![
            format!("{root}/tcp/zeek__timestamp.pcap"),
            format!("{root}/tcp/zeek__reassembly.pcap"),
            format!("{root}/dcerpc/dcerpc__dcerpc-ctxids__input.pcap"),
            format!("{root}/dcerpc/dcerpc__zerologon__input.pcap"),
        ];
    }
    println!(
        "size_of: Result<Decoded> {} B, TcpSeg {} B, IpMeta {} B",
        std::mem::size_of::<Result<tracehound_wire::Decoded<'_>, tracehound_wire::DecodeError>>(),
        std::mem::size_of::<tracehound_wire::TcpSeg<'_>>(),
        std::mem::size_of::<tracehound_wire::IpMeta<'_>>()
    );
    for a in &args {
        let (link, fr) = frames(Path::new(a));
        let bytes: usize = fr.iter().map(Vec::len).sum();
        let iters: usize =
            std::env::var("WIRE_BENCH_ITERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
        let t = Instant::now();
        let mut acc = 0u64;
        for _ in 0..iters {
            for f in &fr {
                if let Ok(d) = decode(link, black_box(f)) {
                    if let Transport::Tcp(s) = d.transport {
                        acc =
                            acc.wrapping_add(u64::from(s.seq)).wrapping_add(s.payload.len() as u64);
                    }
                }
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let n = (fr.len() * iters) as f64;
        println!(
            "{}: {} frames, {} bytes, avg {:.0} B/frame: {:.0} MB/s, {:.1} M frames/s, {:.1} ns/frame (checksum {acc})",
            Path::new(a).file_name().unwrap().to_string_lossy(),
            fr.len(),
            bytes,
            bytes as f64 / fr.len() as f64,
            (bytes * iters) as f64 / secs / 1e6,
            n / secs / 1e6,
            secs * 1e9 / n,
        );
    }
}
