//! Never "Looks healthy" about nothing: captures tracehound cannot (fully) analyse raise a
//! finding that says what was not analysed and why, with advice that fits the cause, and
//! `analyze` exits with code 4.
//!
//! The inputs are real captures made unreadable the way real files are: cut after the file
//! header, a pcapng packet naming an interface the file never defined, the link type
//! rewritten to one tracehound does not decode (802.11 radiotap), IPv4 headers damaged,
//! and every IPv4 packet turned into a first fragment whose rest never comes. The originals
//! are lab fixtures (tests/fixtures/lab, made by lab/net/*.sh) and a Zeek test capture
//! (../shared/captures, see its SOURCES.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    assert!(p.is_file(), "missing {}", p.display());
    p
}

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures").join(rel);
    assert!(p.is_file(), "shared capture missing: {}", p.display());
    p
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracehound-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// (findings, text report, exit code)
fn analyze(path: &Path) -> (Vec<Value>, String, i32) {
    let bin = env!("CARGO_BIN_EXE_tracehound");
    let out = Command::new(bin).args(["analyze", "--json"]).arg(path).output().unwrap();
    let fs = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let text = Command::new(bin).arg("analyze").arg(path).output().unwrap();
    assert_eq!(text.status.code(), out.status.code());
    (fs, String::from_utf8_lossy(&text.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

/// Records of a little-endian microsecond pcap: (offset of the record header, caplen).
fn pcap_records(b: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&b[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian µs pcap expected");
    let mut v = Vec::new();
    let mut off = 24;
    while off + 16 <= b.len() {
        let caplen = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
        v.push((off, caplen));
        off += 16 + caplen;
    }
    v
}

/// IPv4 over Ethernet: the offset of the IP header of a record, if it is one.
fn ipv4_at(b: &[u8], rec: usize) -> Option<usize> {
    let f = rec + 16;
    (b.get(f + 12..f + 14)? == [0x08, 0x00]).then_some(f + 14)
}

fn ip_checksum(h: &mut [u8]) {
    h[10] = 0;
    h[11] = 0;
    let ihl = ((h[0] & 0x0f) as usize) * 4;
    let mut sum = 0u32;
    for w in h[..ihl].chunks(2) {
        sum += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

fn ids(fs: &[Value]) -> Vec<&str> {
    fs.iter().map(|f| f["id"].as_str().unwrap()).collect()
}

fn one<'a>(fs: &'a [Value], id: &str) -> &'a Value {
    fs.iter().find(|f| f["id"] == id).unwrap_or_else(|| panic!("{id} not raised: {:?}", ids(fs)))
}

#[test]
fn header_only_pcap_is_not_healthy() {
    let orig = std::fs::read(repo("tests/fixtures/lab/net-healthy.pcap")).unwrap();
    let p = tmp("header-only.pcap", &orig[..24]);
    let (fs, text, code) = analyze(&p);
    assert_eq!(code, 4, "{text}");
    assert!(!text.contains("Looks healthy"), "{text}");
    let f = one(&fs, "capture.not_analysed");
    assert!(f["title"].as_str().unwrap().contains("no packets"), "{f}");
    // The untouched file is analysed in full: exit 0, healthy.
    let (_, text, code) = analyze(&repo("tests/fixtures/lab/net-healthy.pcap"));
    assert_eq!(code, 0);
    assert!(text.contains("Looks healthy"));
}

#[test]
fn pcapng_packets_naming_an_undefined_interface() {
    // zeek__dce_rpc_ntlm.pcapng: point the first Enhanced Packet Block at interface 9.
    let mut b = std::fs::read(shared("dcerpc/zeek__dce_rpc_ntlm.pcapng")).unwrap();
    let mut off = 0usize;
    let mut patched = 0;
    while off + 12 <= b.len() {
        let le = u32::from_le_bytes(b[off..off + 4].try_into().unwrap());
        let len = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
        assert!(le != 0x0a0d0d0a || off == 0 || len >= 28);
        if le == 6 && patched == 0 {
            b[off + 8..off + 12].copy_from_slice(&9u32.to_le_bytes());
            patched += 1;
        }
        off += len.max(12);
    }
    assert_eq!(patched, 1, "an Enhanced Packet Block to patch");
    let p = tmp("undefined-interface.pcapng", &b);
    let (fs, text, code) = analyze(&p);
    assert_eq!(code, 4, "{text}");
    let f = one(&fs, "capture.not_analysed");
    assert_eq!(f["evidence"]["values"]["skipped_records"], 1, "{f}");
    assert!(f["explanation"].as_str().unwrap().contains("interface"), "{f}");
}

#[test]
fn unsupported_link_type_says_so_and_not_take_the_complete_file() {
    let mut b = std::fs::read(repo("tests/fixtures/lab/net-healthy.pcap")).unwrap();
    let frames = pcap_records(&b).len();
    b[20..24].copy_from_slice(&127u32.to_le_bytes()); // LINKTYPE_IEEE802_11_RADIOTAP
    let p = tmp("radiotap.pcap", &b);
    let (fs, text, code) = analyze(&p);
    assert_eq!(code, 4, "{text}");
    assert!(!text.contains("Looks healthy"), "{text}");
    let f = one(&fs, "capture.not_analysed");
    assert_eq!(f["evidence"]["values"]["link_type"], 127);
    assert_eq!(f["evidence"]["values"]["frames"], frames as u64);
    let advice = f["next_steps"].to_string();
    assert!(!advice.contains("complete file"), "{advice}");
    assert!(advice.contains("monitor mode") || advice.contains("Ethernet"), "{advice}");
    assert!(!ids(&fs).contains(&"capture.damaged"));
}

#[test]
fn undecodable_frames_are_counted_with_their_frame_numbers() {
    let mut b = std::fs::read(repo("tests/fixtures/lab/net-healthy.pcap")).unwrap();
    let recs = pcap_records(&b);
    let mut broken = Vec::new();
    for (i, (off, _)) in recs.iter().enumerate().skip(5).step_by(7).take(4) {
        if let Some(ip) = ipv4_at(&b, *off) {
            b[ip] = 0x43; // IHL 3: a 12-byte IPv4 header cannot be
            broken.push(i as u64 + 1);
        }
    }
    assert_eq!(broken.len(), 4);
    let p = tmp("bad-ihl.pcap", &b);
    let (fs, text, code) = analyze(&p);
    assert_eq!(code, 4, "{text}");
    let f = one(&fs, "capture.damaged");
    assert_eq!(f["evidence"]["values"]["decode_errors"], 4);
    let frames: Vec<u64> =
        f["evidence"]["frames"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(frames, broken);
}

#[test]
fn fragments_never_completed_are_not_healthy() {
    // Every IPv4 packet of a real capture becomes a first fragment (MF set) whose rest never
    // comes: nothing of the traffic can be analysed.
    let mut b = std::fs::read(repo("tests/fixtures/lab/net-healthy.pcap")).unwrap();
    let mut n = 0u64;
    for (off, _) in pcap_records(&b) {
        if let Some(ip) = ipv4_at(&b, off) {
            b[ip + 6] = 0x20; // flags: MF, DF clear, offset 0
            b[ip + 7] = 0;
            let ihl = ((b[ip] & 0x0f) as usize) * 4;
            ip_checksum(&mut b[ip..ip + ihl]);
            n += 1;
        }
    }
    assert!(n > 10);
    let p = tmp("fragments.pcap", &b);
    let (fs, text, code) = analyze(&p);
    assert_eq!(code, 4, "{text}");
    assert!(!text.contains("Looks healthy"), "{text}");
    let f = one(&fs, "capture.not_analysed");
    assert_eq!(f["evidence"]["values"]["fragments"], n, "{f}");
    assert!(f["evidence"]["values"]["datagrams_incomplete"].as_u64().unwrap() > 0);
}

#[test]
fn cut_short_exits_4_and_says_where() {
    let orig = std::fs::read(repo("tests/fixtures/lab/net-healthy.pcap")).unwrap();
    let p = tmp("cut.pcap", &orig[..5000]);
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(["analyze", "--json"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    // Said once: by the finding, not again on standard error.
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let fs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let f = one(&fs, "capture.damaged");
    assert!(f["evidence"]["lines"][0].as_str().unwrap().contains("file ends"), "{f}");
}
