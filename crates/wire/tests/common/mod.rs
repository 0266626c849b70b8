//! Test-only helpers: a tiny pcap / pcapng record walker (whole file in memory, trusted
//! test inputs only) and tshark runners.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures");
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

pub struct Rec {
    /// 1-based frame number as tshark counts.
    pub number: u64,
    pub link: u32,
    pub ts_ns: i64,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u32be(b: &[u8], o: usize) -> u32 {
    u32::from_be_bytes(b[o..o + 4].try_into().unwrap())
}

/// Reads every record of a pcap or (little-endian) pcapng file.
pub fn read_records(path: &Path) -> Vec<Rec> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    let magic = u32le(&b, 0);
    match magic {
        0xa1b2c3d4 | 0xa1b23c4d | 0xd4c3b2a1 | 0x4d3cb2a1 => {
            let swapped = matches!(magic, 0xd4c3b2a1 | 0x4d3cb2a1);
            let rd = |o: usize| if swapped { u32be(&b, o) } else { u32le(&b, o) };
            let nano = matches!(magic, 0xa1b23c4d | 0x4d3cb2a1);
            let link = rd(20) & 0x0fff_ffff;
            let mut off = 24;
            let mut n = 0;
            while off + 16 <= b.len() {
                let (sec, frac, cap, orig) = (rd(off), rd(off + 4), rd(off + 8), rd(off + 12));
                let start = off + 16;
                let end = start + cap as usize;
                assert!(end <= b.len(), "{}: record past end", path.display());
                n += 1;
                let ns = if nano { frac as i64 } else { frac as i64 * 1000 };
                out.push(Rec {
                    number: n,
                    link,
                    ts_ns: sec as i64 * 1_000_000_000 + ns,
                    data: b[start..end].to_vec(),
                    orig_len: orig,
                });
                off = end;
            }
        }
        0x0a0d0d0a => {
            let mut links: Vec<u32> = Vec::new();
            let mut off = 0;
            let mut n = 0;
            while off + 12 <= b.len() {
                let t = u32le(&b, off);
                let len = u32le(&b, off + 4) as usize;
                assert!(len >= 12 && off + len <= b.len(), "{}: bad block", path.display());
                match t {
                    0x0a0d0d0a => {
                        assert_eq!(u32le(&b, off + 8), 0x1a2b3c4d, "big-endian pcapng unsupported");
                        links.clear();
                    }
                    1 => links.push(u16::from_le_bytes([b[off + 8], b[off + 9]]) as u32),
                    6 => {
                        let ifid = u32le(&b, off + 8) as usize;
                        let ts = ((u32le(&b, off + 12) as u64) << 32) | u32le(&b, off + 16) as u64;
                        let cap = u32le(&b, off + 20) as usize;
                        let orig = u32le(&b, off + 24);
                        n += 1;
                        out.push(Rec {
                            number: n,
                            link: links[ifid],
                            ts_ns: ts as i64 * 1000,
                            data: b[off + 28..off + 28 + cap].to_vec(),
                            orig_len: orig,
                        });
                    }
                    3 => {
                        let orig = u32le(&b, off + 8);
                        let cap = (orig as usize).min(len - 16);
                        n += 1;
                        out.push(Rec {
                            number: n,
                            link: links[0],
                            ts_ns: 0,
                            data: b[off + 12..off + 12 + cap].to_vec(),
                            orig_len: orig,
                        });
                    }
                    _ => {}
                }
                off += len;
            }
        }
        m => panic!("{}: unknown magic {m:#x}", path.display()),
    }
    out
}

/// Every capture file under the shared captures folder (fails when it is missing).
pub fn shared_captures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    let root = Path::new(SHARED);
    assert!(root.is_dir(), "shared captures missing at {}", root.display());
    for sub in std::fs::read_dir(root).unwrap() {
        let sub = sub.unwrap().path();
        if !sub.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&sub).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                v.push(f);
            }
        }
    }
    v.sort();
    assert!(v.len() > 50, "expected the shared captures, found {}", v.len());
    v
}

/// Our own test captures.
pub fn own_captures() -> Vec<PathBuf> {
    ["frags.pcap", "cooked-v1.pcap", "cooked-v2.pcap"]
        .iter()
        .map(|f| Path::new(DATA).join(f))
        .collect()
}

/// Runs tshark with `-T fields` and returns (frame number, fields) per line.
pub fn tshark_fields(path: &Path, filter: &str, fields: &[&str]) -> Vec<(u64, Vec<String>)> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-n", "-o", "tcp.relative_sequence_numbers:FALSE"]);
    cmd.args(["-o", "tcp.analyze_sequence_numbers:FALSE", "-Y", filter, "-T", "fields"]);
    cmd.args(["-E", "separator=\t", "-E", "occurrence=f", "-e", "frame.number"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark is required for these tests (apt-get install tshark)");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.split('\t').map(str::to_string);
            let n = it.next().unwrap().parse().unwrap();
            (n, it.collect())
        })
        .collect()
}
