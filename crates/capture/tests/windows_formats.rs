//! Windows capture formats through `CaptureReader` (detection by content, handed to
//! tracehound-wintrace): a NetMon file made by `editcap -F netmon2` from a shared capture
//! (shared/captures/SOURCES.md) gives the pcap's frames — from the file, gzip'd, and from a
//! stream — and the real ETL files open as ETL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use tracehound_capture::{CaptureFormat, CaptureReader};

fn shared() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(p.is_dir(), "shared captures missing at {}", p.display());
    p
}

fn frames(rd: &mut CaptureReader) -> Vec<(i64, u32, Vec<u8>, u32)> {
    let mut v = Vec::new();
    while let Some(f) = rd.next_frame().unwrap() {
        v.push((f.ts.as_nanos(), f.orig_len, f.data.to_vec(), f.link.0));
    }
    v
}

#[test]
fn netmon_reads_like_the_pcap_it_was_made_from() {
    let pcap = shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap");
    let dir = std::env::temp_dir().join(format!("tracehound-capture-win-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cap = dir.join("x.cap");
    let ok = Command::new("editcap")
        .env("TZ", "UTC")
        .args(["-F", "netmon2"])
        .arg(&pcap)
        .arg(&cap)
        .status()
        .expect("editcap (Wireshark) must be installed");
    assert!(ok.success());
    let want = frames(&mut CaptureReader::open(&pcap).unwrap());
    let mut rd = CaptureReader::open(&cap).unwrap();
    let got = frames(&mut rd);
    assert_eq!(rd.stats().format, CaptureFormat::Netmon { version: (2, 0) });
    assert_eq!(got.len(), want.len());
    assert_eq!(got, want); // the pcap has microsecond times, as NetMon 2.0
    assert_eq!(rd.stats().frames, want.len() as u64);
    assert!(rd.windows().is_some());
    // gzip'd, and from a stream.
    let bytes = std::fs::read(&cap).unwrap();
    let gz = dir.join("x.cap.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&bytes).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let mut rd = CaptureReader::open(&gz).unwrap();
    assert!(rd.stats().gzip);
    assert_eq!(frames(&mut rd), want);
    let mut rd =
        CaptureReader::from_reader(Box::new(std::io::Cursor::new(bytes)), "stdin").unwrap();
    assert_eq!(frames(&mut rd), want);
    // A frame-table entry pointing outside the file: reported with its position, the rest read.
    let mut b = std::fs::read(&cap).unwrap();
    let ft = u32::from_le_bytes(b[24..28].try_into().unwrap()) as usize;
    b[ft + 8..ft + 12].copy_from_slice(&0x7FFF_0000u32.to_le_bytes());
    let bad = dir.join("bad.cap");
    std::fs::write(&bad, &b).unwrap();
    let mut rd = CaptureReader::open(&bad).unwrap();
    assert_eq!(frames(&mut rd).len(), want.len() - 1);
    let st = rd.stats();
    assert_eq!(st.skipped_packets, 1);
    assert!(
        st.problems[0].contains("at byte 2147418112 (frame table entry 3)"),
        "{:?}",
        st.problems
    );
}

#[test]
fn real_etl_files_open_as_etl() {
    for f in ["airbus__lxcore_kernel.etl", "airbus__AMSITrace.etl"] {
        let mut rd = CaptureReader::open(&shared().join("etl").join(f)).unwrap();
        assert_eq!(rd.stats().format, CaptureFormat::Etl);
        assert!(frames(&mut rd).is_empty());
        let w = rd.windows().unwrap().stats();
        assert!(w.buffers >= 3 && !w.providers.is_empty(), "{f}");
    }
}
