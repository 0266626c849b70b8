//! Reads a capture (path or `-`) and prints frame count, first/last timestamp, reader stats
//! and throughput: `cargo run --release -p tracehound-capture --example capinfo -- FILE`.
//! `--buffered` reads a regular file through the stream buffer instead of memory-mapping it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;
use std::time::Instant;

use tracehound_capture::{CaptureReader, Limits};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let buffered = args.first().is_some_and(|a| a == "--buffered");
    if buffered {
        args.remove(0);
    }
    let Some(path) = args.first().cloned() else {
        eprintln!("usage: capinfo [--buffered] FILE|-");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let opened = if buffered {
        CaptureReader::open_buffered(Path::new(&path), Limits::default())
    } else {
        CaptureReader::open(Path::new(&path))
    };
    let mut rd = match opened {
        Ok(r) => r,
        Err(e) => {
            eprintln!("capinfo: {e}");
            std::process::exit(1);
        }
    };
    let (mut first, mut last, mut bytes) = (None, None, 0u64);
    let result = loop {
        match rd.next_frame() {
            Ok(Some(f)) => {
                first.get_or_insert(f.ts);
                last = Some(f.ts);
                bytes += f.data.len() as u64;
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    let s = rd.stats();
    println!("frames: {} ({} packet bytes)", s.frames, bytes);
    if let (Some(a), Some(b)) = (first, last) {
        println!("first: {a}\nlast:  {b}");
    }
    println!(
        "read: {} bytes in {:.3} s ({:.0} MB/s){}",
        rd.bytes_consumed(),
        secs,
        rd.bytes_consumed() as f64 / secs / 1e6,
        if rd.is_memory_mapped() { ", memory-mapped" } else { "" }
    );
    println!("stats: {}", serde_json::to_string(s).unwrap_or_default());
    if let Some(t) = &s.truncated {
        eprintln!("capinfo: warning: {t}");
    }
    if let Err(e) = result {
        eprintln!("capinfo: {e}");
        std::process::exit(1);
    }
}
