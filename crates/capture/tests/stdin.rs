//! `open("-")` reads standard input: this test runs its own binary as a child with a real
//! capture file (tcp/zeek__reassembly.pcap from /work/shared/captures), and a gzip'd copy,
//! on its standard input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;
use tracehound_capture::CaptureReader;

const CHILD: &str = "TRACEHOUND_CAPTURE_STDIN_CHILD";

#[test]
fn open_dash_reads_standard_input() {
    if std::env::var_os(CHILD).is_some() {
        // Child: read standard input and report.
        let mut rd = CaptureReader::open(Path::new("-")).expect("open -");
        let (frames, err, stats) = drain(&mut rd);
        assert!(err.is_none());
        let last = frames.last().map(|f| f.ts_ns).unwrap_or_default();
        println!(
            "RESULT name={} frames={} last_ts={last} gzip={} len={:?}",
            rd.name(),
            frames.len(),
            stats.gzip,
            rd.source_len()
        );
        return;
    }
    let rel = "tcp/zeek__reassembly.pcap";
    let (want, _, _) = read_path(&shared(rel));
    let plain = shared_bytes(rel);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&plain).unwrap();
    let gz = e.finish().unwrap();
    for (input, gzip) in [(plain, false), (gz, true)] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "open_dash_reads_standard_input", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn test binary");
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        let expect = format!(
            "RESULT name=<stdin> frames={} last_ts={} gzip={gzip} len=None",
            want.len(),
            want.last().unwrap().ts_ns
        );
        assert!(text.contains(&expect), "child said: {text}");
    }
}
