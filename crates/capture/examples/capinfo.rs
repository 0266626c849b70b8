//! Reads a capture (path or `-`) and prints frame count, first/last timestamp, reader stats
//! and throughput: `cargo run --release -p tracehound-capture --example capinfo -- FILE`.

use std::path::Path;
use std::time::Instant;

use tracehound_capture::CaptureReader;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: capinfo FILE|-");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let mut rd = match CaptureReader::open(Path::new(&path)) {
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
        "read: {} bytes in {:.3} s ({:.0} MB/s)",
        rd.bytes_consumed(),
        secs,
        rd.bytes_consumed() as f64 / secs / 1e6
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
