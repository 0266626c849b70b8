//! Helpers shared by the integration tests: locating the shared captures, running tshark,
//! reading a whole capture, and an independent walk over pcap records / pcapng blocks used to
//! build broken inputs from real files.
#![allow(dead_code)]

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_capture::{CaptureError, CaptureReader, CaptureStats, LinkType};

/// /work/shared/captures (provenance in its SOURCES.md). Missing = test failure.
pub fn shared_dir() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(p.is_dir(), "shared captures missing at {}", p.display());
    p
}

pub fn shared(rel: &str) -> PathBuf {
    let p = shared_dir().join(rel);
    assert!(p.is_file(), "shared capture {} missing", p.display());
    p
}

pub fn shared_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(shared(rel)).expect("read shared capture")
}

/// Every capture file under the shared directory, sorted.
pub fn all_shared_captures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![shared_dir()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A scratch file path under cargo's per-target temp dir.
pub fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("capture-tests");
    std::fs::create_dir_all(&dir).expect("create tmp dir");
    dir.join(name)
}

pub fn write_tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, bytes).expect("write tmp file");
    p
}

/// One frame as tshark shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TsharkFrame {
    pub number: u64,
    pub ts_ns: i64,
    pub len: u32,
    pub cap_len: u32,
}

/// "1616663658.368794000" -> nanoseconds, exactly (no float). tshark leaves the field empty
/// for a frame without a timestamp (Simple Packet Block): `i64::MIN` then.
pub fn parse_epoch(s: &str) -> i64 {
    if s.is_empty() {
        return i64::MIN;
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = frac.to_string();
    assert!(frac.len() <= 9, "tshark time {s} has more than 9 decimals");
    while frac.len() < 9 {
        frac.push('0');
    }
    let v = secs.parse::<i64>().expect("secs") * 1_000_000_000 + frac.parse::<i64>().expect("frac");
    if neg {
        -v
    } else {
        v
    }
}

/// Runs `tshark -r path` (required: fails when tshark is absent or fails).
pub fn tshark(path: &Path) -> Vec<TsharkFrame> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_epoch",
            "-e",
            "frame.len",
            "-e",
            "frame.cap_len",
        ])
        .output()
        .expect("tshark must be installed (/usr/bin/tshark)");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "tshark line {l:?}");
            TsharkFrame {
                number: f[0].parse().expect("number"),
                ts_ns: parse_epoch(f[1]),
                len: f[2].parse().expect("len"),
                cap_len: f[3].parse().expect("cap_len"),
            }
        })
        .collect()
}

/// A frame copied out of the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Got {
    pub number: u64,
    pub ts_ns: i64,
    pub link: LinkType,
    pub data: Vec<u8>,
    pub orig_len: u32,
    pub interface: u32,
}

impl Got {
    pub fn as_tshark(&self) -> TsharkFrame {
        TsharkFrame {
            number: self.number,
            ts_ns: self.ts_ns,
            len: self.orig_len,
            cap_len: self.data.len() as u32,
        }
    }
}

/// Reads to the end; returns the frames, the error if any, and the final stats.
pub fn drain(rd: &mut CaptureReader) -> (Vec<Got>, Option<CaptureError>, CaptureStats) {
    let mut frames = Vec::new();
    let mut err = None;
    loop {
        match rd.next_frame() {
            Ok(Some(f)) => frames.push(Got {
                number: f.number,
                ts_ns: f.ts.as_nanos(),
                link: f.link,
                data: f.data.to_vec(),
                orig_len: f.orig_len,
                interface: f.interface,
            }),
            Ok(None) => break,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    // The contract: nothing after the end or an error.
    assert!(matches!(rd.next_frame(), Ok(None)));
    (frames, err, rd.stats().clone())
}

pub fn read_path(p: &Path) -> (Vec<Got>, Option<CaptureError>, CaptureStats) {
    let mut rd = CaptureReader::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    drain(&mut rd)
}

pub fn from_bytes(b: &[u8], name: &str) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_reader(Box::new(Cursor::new(b.to_vec())), name)
}

pub fn read_bytes(b: &[u8], name: &str) -> (Vec<Got>, Option<CaptureError>, CaptureStats) {
    let mut rd = from_bytes(b, name).unwrap_or_else(|e| panic!("open {name}: {e}"));
    drain(&mut rd)
}

/// A reader that hands out at most `chunk` bytes per read, like a pipe.
pub struct Trickle<R> {
    pub inner: R,
    pub chunk: usize,
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk);
        self.inner.read(&mut buf[..n])
    }
}

// ---- independent format walks (little-endian real files only) ----

pub fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
pub fn put_le32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A pcap record of a little-endian file: (start offset, caplen).
pub fn pcap_records(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let cap = le32(b, at + 8) as usize;
        out.push((at, cap));
        at += 16 + cap;
    }
    assert_eq!(at, b.len(), "test file is not a clean little-endian pcap");
    out
}

/// A pcapng block of a little-endian file: (start offset, type, total length).
pub fn pcapng_blocks(b: &[u8]) -> Vec<(usize, u32, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 12 <= b.len() {
        let t = le32(b, at);
        let len = le32(b, at + 4) as usize;
        out.push((at, t, len));
        at += len;
    }
    assert_eq!(at, b.len(), "test file is not a clean little-endian pcapng");
    out
}

/// A pcapng block built from its type and body (lengths and padding filled in).
pub fn block(t: u32, body: &[u8], big_endian: bool) -> Vec<u8> {
    let mut body = body.to_vec();
    while body.len() % 4 != 0 {
        body.push(0);
    }
    let len = (body.len() + 12) as u32;
    let enc = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend_from_slice(&enc(t));
    out.extend_from_slice(&enc(len));
    out.extend_from_slice(&body);
    out.extend_from_slice(&enc(len));
    out
}
