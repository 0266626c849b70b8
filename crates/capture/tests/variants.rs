//! Format variants made from real files in /work/shared/captures (see its SOURCES.md) at test
//! time: gzip, big-endian and nanosecond pcap, multi-section and big-endian pcapng,
//! if_tsresol / if_tsoffset, comments, Simple and obsolete Packet Blocks, skipped blocks, and
//! pipe-like standard input. Packet bytes stay the real ones; each test says what it rewrote.
//! Where tshark reads the same file it is the reference.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Write};
use std::process::Command;

use common::*;
use flate2::write::GzEncoder;
use flate2::Compression;
use tracehound_capture::{CaptureFormat, CaptureReader, ErrorKind, LinkType};

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn frames_match_tshark(p: &std::path::Path) -> Vec<Got> {
    let (frames, err, stats) = read_path(p);
    assert!(err.is_none(), "{}", err.unwrap());
    assert_eq!(stats.truncated, None);
    let got: Vec<TsharkFrame> = frames.iter().map(Got::as_tshark).collect();
    assert_eq!(got, tshark(p), "{}", p.display());
    frames
}

/// A gzip'd copy (made with flate2 here) reads exactly like the original, through `open`,
/// with compressed and uncompressed byte counts for progress.
#[test]
fn gzip_is_transparent() {
    for rel in ["dcerpc/dcerpc__zerologon__input.pcap", "dcerpc/zeek__kerberos445_auth.pcapng"] {
        let plain = shared_bytes(rel);
        let gz = gzip(&plain);
        let p = write_tmp(&format!("{}.gz", rel.replace('/', "_")), &gz);
        let (want, _, plain_stats) = read_path(&shared(rel));
        let mut rd = CaptureReader::open(&p).unwrap();
        assert_eq!(rd.source_len(), Some(gz.len() as u64));
        let (frames, err, stats) = drain(&mut rd);
        assert!(err.is_none());
        assert_eq!(frames, want);
        assert!(stats.gzip && !plain_stats.gzip);
        assert_eq!(stats.truncated, None);
        assert_eq!(rd.bytes_consumed(), plain.len() as u64);
        assert_eq!(rd.source_bytes_read(), gz.len() as u64);
        // tshark reads gzip too.
        assert_eq!(frames.iter().map(Got::as_tshark).collect::<Vec<_>>(), tshark(&p));
    }
}

/// Two gzip members (split in the middle of a record), a gzip stream cut short, and one with
/// a broken checksum.
#[test]
fn gzip_members_truncation_and_corruption() {
    let rel = "dcerpc/dcerpc__zerologon__input.pcap";
    let plain = shared_bytes(rel);
    let (want, _, _) = read_path(&shared(rel));
    let half = plain.len() / 2 + 3;
    let mut two = gzip(&plain[..half]);
    two.extend_from_slice(&gzip(&plain[half..]));
    let (frames, err, stats) = read_bytes(&two, "two.gz");
    assert!(err.is_none());
    assert_eq!(frames, want);
    assert!(stats.gzip);

    let gz = gzip(&plain);
    let (frames, err, stats) = read_bytes(&gz[..gz.len() / 2], "cut.gz");
    assert!(err.is_none());
    assert!(!frames.is_empty() && frames.len() < want.len());
    assert_eq!(frames[..], want[..frames.len()]);
    let t = stats.truncated.expect("truncation reported");
    assert!(t.contains("gzip stream"), "{t}");

    let mut bad = gz.clone();
    let n = bad.len();
    bad[n - 8] ^= 0xff; // CRC32 of the member trailer (RFC 1952)
    let (frames, err, _) = read_bytes(&bad, "crc.gz");
    assert_eq!(frames.len(), want.len());
    let e = err.expect("checksum error");
    assert!(matches!(e.kind, ErrorKind::Io(_)), "{e}");
    assert!(
        e.to_string().starts_with(&format!(
            "crc.gz: at byte {} (after frame {}): read error: ",
            plain.len(),
            want.len()
        )),
        "{e}"
    );
}

/// Rewrites a little-endian pcap's file and record headers in big-endian order.
fn pcap_to_be(le: &[u8]) -> Vec<u8> {
    let mut b = le.to_vec();
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    for i in [8, 12, 16, 20] {
        b[i..i + 4].reverse();
    }
    for (s, _) in pcap_records(le) {
        for k in 0..4 {
            b[s + 4 * k..s + 4 * k + 4].reverse();
        }
    }
    b
}

#[test]
fn big_endian_pcap() {
    let rel = "dcerpc/dcerpc__dcerpc-udp-scapy__input.pcap";
    let (want, _, _) = read_path(&shared(rel));
    let p = write_tmp("be.pcap", &pcap_to_be(&shared_bytes(rel)));
    let frames = frames_match_tshark(&p);
    assert_eq!(frames, want);
    let (_, _, stats) = read_path(&p);
    assert_eq!(
        stats.format,
        CaptureFormat::Pcap { nanos: false, big_endian: true, version: (2, 4), snaplen: 65535 }
    );
}

/// Nanosecond pcap from `editcap -F nsecpcap`, frame 1's fraction then nudged by 123 ns, in
/// both byte orders.
#[test]
fn nanosecond_pcap() {
    let rel = "tcp/zeek__tcp-fast-open.pcap";
    let p = tmp("ns.pcap");
    let st = Command::new("editcap")
        .args(["-F", "nsecpcap"])
        .arg(shared(rel))
        .arg(&p)
        .status()
        .expect("editcap");
    assert!(st.success());
    let mut b = std::fs::read(&p).unwrap();
    assert_eq!(b[..4], [0x4d, 0x3c, 0xb2, 0xa1]);
    let frac = le32(&b, 24 + 4);
    put_le32(&mut b, 24 + 4, frac + 123);
    std::fs::write(&p, &b).unwrap();
    let (orig, _, _) = read_path(&shared(rel));
    let frames = frames_match_tshark(&p);
    assert_eq!(frames.len(), orig.len());
    assert_eq!(frames[0].ts_ns, orig[0].ts_ns + 123);
    assert_eq!(frames[1..], orig[1..]);
    let (_, _, stats) = read_path(&p);
    assert!(matches!(stats.format, CaptureFormat::Pcap { nanos: true, big_endian: false, .. }));

    let be = write_tmp("ns-be.pcap", &pcap_to_be(&b));
    assert_eq!(frames_match_tshark(&be), frames);
    let (_, _, stats) = read_path(&be);
    assert!(matches!(stats.format, CaptureFormat::Pcap { nanos: true, big_endian: true, .. }));
}

/// Two real pcapng files concatenated: two sections (valid per the pcapng spec).
#[test]
fn pcapng_two_sections() {
    let a = "dcerpc/zeek__dce_rpc_ntlm.pcapng";
    let b = "dcerpc/zeek__kerberos445_auth.pcapng";
    let mut cat = shared_bytes(a);
    cat.extend_from_slice(&shared_bytes(b));
    let p = write_tmp("two-sections.pcapng", &cat);
    let frames = frames_match_tshark(&p);
    let (fa, _, _) = read_path(&shared(a));
    let (fb, _, _) = read_path(&shared(b));
    assert_eq!(frames.len(), fa.len() + fb.len());
    assert_eq!(frames[..fa.len()], fa[..]);
    for (g, w) in frames[fa.len()..].iter().zip(&fb) {
        assert_eq!((g.ts_ns, &g.data, g.interface), (w.ts_ns, &w.data, 0));
        assert_eq!(g.number, w.number + fa.len() as u64);
    }
    let (_, _, stats) = read_path(&p);
    assert_eq!((stats.sections, stats.interfaces), (2, 2));
}

/// Rewrites a little-endian single-section pcapng holding only SHB, IDB and EPBs (no EPB
/// options) in big-endian order.
fn pcapng_to_be(le: &[u8]) -> Vec<u8> {
    let mut b = le.to_vec();
    let rev = |b: &mut Vec<u8>, at: usize, n: usize| b[at..at + n].reverse();
    for (s, t, l) in pcapng_blocks(le) {
        rev(&mut b, s, 4);
        rev(&mut b, s + 4, 4);
        rev(&mut b, s + l - 4, 4);
        let body = s + 8;
        let opts = match t {
            0x0a0d0d0a => {
                rev(&mut b, body, 4);
                rev(&mut b, body + 4, 2);
                rev(&mut b, body + 6, 2);
                rev(&mut b, body + 8, 8);
                body + 16
            }
            1 => {
                rev(&mut b, body, 2);
                rev(&mut b, body + 2, 2);
                rev(&mut b, body + 4, 4);
                body + 8
            }
            6 => {
                for k in 0..5 {
                    rev(&mut b, body + 4 * k, 4);
                }
                let cap = le32(le, body + 12) as usize;
                body + 20 + cap.div_ceil(4) * 4
            }
            _ => panic!("block type {t:#x} not handled by this test converter"),
        };
        // Options: code and length swapped; the values here are strings or single bytes.
        let mut at = opts;
        while at + 4 <= s + l - 4 {
            let code = u16::from_le_bytes([le[at], le[at + 1]]);
            let len = u16::from_le_bytes([le[at + 2], le[at + 3]]) as usize;
            assert!(matches!(code, 0 | 1 | 2 | 3 | 4 | 9 | 12), "option {code} not handled");
            rev(&mut b, at, 2);
            rev(&mut b, at + 2, 2);
            if code == 0 {
                break;
            }
            at += 4 + len.div_ceil(4) * 4;
        }
    }
    b
}

/// A big-endian section (zeek__kerberos445_auth.pcapng rewritten), alone and after a
/// little-endian one: byte order is decided per section.
#[test]
fn pcapng_big_endian_sections() {
    let le = shared_bytes("dcerpc/zeek__kerberos445_auth.pcapng");
    let (want, _, _) = read_bytes(&le, "le");
    let be = pcapng_to_be(&le);
    let p = write_tmp("be.pcapng", &be);
    assert_eq!(frames_match_tshark(&p), want);

    let mut mixed = shared_bytes("dcerpc/zeek__dce_rpc_ntlm.pcapng");
    let first = read_bytes(&mixed, "ntlm").0.len();
    mixed.extend_from_slice(&be);
    let p = write_tmp("le-then-be.pcapng", &mixed);
    let frames = frames_match_tshark(&p);
    assert_eq!(frames.len(), first + want.len());
    let (_, _, stats) = read_path(&p);
    assert_eq!(stats.sections, 2);
}

/// if_tsresol in its power-of-2 form: zeek__kerberos445_auth.pcapng with the IDB's
/// if_tsresol byte (file offset 0x80) changed from 6 (10^-6) to 0x94 (2^-20), 9 (ns) and 7.
#[test]
fn pcapng_tsresol_forms() {
    let orig = shared_bytes("dcerpc/zeek__kerberos445_auth.pcapng");
    assert_eq!(orig[0x7c..0x81], [9, 0, 1, 0, 6]);
    let (want, _, _) = read_bytes(&orig, "o");
    for (v, name) in [(0x94u8, "pow2.pcapng"), (9, "ns.pcapng"), (7, "100ns.pcapng")] {
        let mut b = orig.clone();
        b[0x80] = v;
        let p = write_tmp(name, &b);
        let frames = frames_match_tshark(&p);
        assert_eq!(frames.len(), want.len());
        assert_ne!(frames[0].ts_ns, want[0].ts_ns);
    }
}

/// if_tsoffset: an 8-byte option (+1000 s, then -86400 s) inserted before the IDB's
/// end-of-options in zeek__kerberos445_auth.pcapng, block lengths fixed up.
#[test]
fn pcapng_tsoffset() {
    let orig = shared_bytes("dcerpc/zeek__kerberos445_auth.pcapng");
    let (want, _, _) = read_bytes(&orig, "o");
    let (idb, t, l) = pcapng_blocks(&orig)[1];
    assert_eq!(t, 1);
    let end_opt = idb + l - 8;
    assert_eq!(orig[end_opt..end_opt + 4], [0, 0, 0, 0]);
    for off in [1000i64, -86_400] {
        let mut b = orig[..end_opt].to_vec();
        b.extend_from_slice(&14u16.to_le_bytes());
        b.extend_from_slice(&8u16.to_le_bytes());
        b.extend_from_slice(&off.to_le_bytes());
        b.extend_from_slice(&orig[end_opt..]);
        put_le32(&mut b, idb + 4, l as u32 + 12);
        put_le32(&mut b, idb + l + 12 - 4, l as u32 + 12);
        let p = write_tmp(&format!("tsoffset{off}.pcapng"), &b);
        let frames = frames_match_tshark(&p);
        for (g, w) in frames.iter().zip(&want) {
            assert_eq!(g.ts_ns, w.ts_ns + off * 1_000_000_000);
        }
    }
}

/// Comments added by editcap (a capture comment and a comment on frame 2 of
/// tcp/zeek__syn-synack.pcap, written as pcapng).
#[test]
fn pcapng_comments() {
    let p = tmp("comments.pcapng");
    let st = Command::new("editcap")
        .args(["-F", "pcapng", "--capture-comment", "capture note", "-a", "2:second frame"])
        .arg(shared("tcp/zeek__syn-synack.pcap"))
        .arg(&p)
        .status()
        .expect("editcap");
    assert!(st.success());
    frames_match_tshark(&p);
    let (_, _, stats) = read_path(&p);
    assert_eq!(stats.comments, 2);
    assert_eq!(stats.first_comments, vec!["capture note".to_string(), "second frame".to_string()]);
}

/// Packet Blocks rewritten from zeek__kerberos445_auth.pcapng's EPBs: as obsolete Packet
/// Blocks (type 2: same timestamps and data) and as Simple Packet Blocks (no timestamp).
/// A Custom Block and an unknown block type are inserted after the IDB and skipped.
#[test]
fn pcapng_opb_spb_and_skipped_blocks() {
    let orig = shared_bytes("dcerpc/zeek__kerberos445_auth.pcapng");
    let (want, _, _) = read_bytes(&orig, "o");
    let blocks = pcapng_blocks(&orig);
    let mut opb = Vec::new();
    let mut spb = Vec::new();
    for &(s, t, l) in &blocks {
        let blk = &orig[s..s + l];
        if t != 6 {
            opb.extend_from_slice(blk);
            spb.extend_from_slice(blk);
            if t == 1 {
                // Custom Block (copiable): PEN 32473 (the IANA example PEN) + 3 bytes.
                let custom = [&32473u32.to_le_bytes()[..], b"xyz"].concat();
                opb.extend_from_slice(&block(0x0bad, &custom, false));
                opb.extend_from_slice(&block(0x0000_0123, b"unknown", false));
            }
            continue;
        }
        let body = &blk[8..l - 4];
        let cap = le32(body, 12) as usize;
        let mut ob = Vec::new();
        ob.extend_from_slice(&(le32(body, 0) as u16).to_le_bytes());
        ob.extend_from_slice(&7u16.to_le_bytes()); // drops count
        ob.extend_from_slice(&body[4..]);
        opb.extend_from_slice(&block(2, &ob, false));
        let mut sb = body[16..20].to_vec(); // original length
        sb.extend_from_slice(&body[20..20 + cap]);
        spb.extend_from_slice(&block(3, &sb, false));
    }
    let p = write_tmp("opb.pcapng", &opb);
    let (frames, err, stats) = read_path(&p);
    assert!(err.is_none());
    assert_eq!(stats.unknown_blocks, [(0x0bad, 1), (0x123, 1)].into_iter().collect());
    // tshark 4.0 lists the Custom Block as frame 1 (4 bytes, no timestamp); the reader skips
    // it but keeps Wireshark's numbering, so the packets are frames 2..=13 in both.
    let ts = tshark(&p);
    assert_eq!((ts[0].number, ts[0].len, ts[0].ts_ns), (1, 4, i64::MIN));
    assert_eq!(stats.numbered_non_packets, 1);
    assert_eq!(frames.iter().map(Got::as_tshark).collect::<Vec<_>>(), ts[1..]);
    for (g, w) in frames.iter().zip(&want) {
        assert_eq!((g.number, g.ts_ns, &g.data), (w.number + 1, w.ts_ns, &w.data));
    }

    let (frames, err, stats) = read_bytes(&spb, "spb");
    assert!(err.is_none());
    assert_eq!(frames.len(), want.len());
    for (g, w) in frames.iter().zip(&want) {
        assert_eq!((&g.data, g.orig_len, g.link), (&w.data, w.orig_len, LinkType::ETHERNET));
        assert_eq!(g.ts_ns, 0, "no timestamp before any timestamped frame");
    }
    assert_eq!(stats.frames_without_timestamp, want.len() as u64);
    let p = write_tmp("spb.pcapng", &spb);
    let ts: Vec<(u32, u32)> = tshark(&p).iter().map(|f| (f.len, f.cap_len)).collect();
    assert_eq!(ts, frames.iter().map(|f| (f.orig_len, f.data.len() as u32)).collect::<Vec<_>>());

    // An SPB after an EPB gets the EPB's timestamp; with a snaplen of 60 on interface 0 it
    // is cut to 60 bytes.
    let mut mixed = orig[..blocks[2].0 + blocks[2].2].to_vec();
    let (s2, t2, l2) = pcapng_blocks(&spb)[3];
    assert_eq!(t2, 3);
    mixed.extend_from_slice(&spb[s2..s2 + l2]);
    put_le32(&mut mixed, blocks[1].0 + 12, 60);
    let (frames, err, stats) = read_bytes(&mixed, "mixed");
    assert!(err.is_none());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].ts_ns, frames[0].ts_ns);
    assert_eq!(frames[1].data[..], want[1].data[..60]);
    assert_eq!(stats.frames_cut_by_snaplen, 1);
}

/// Standard input is read through `from_reader`: a pipe handing out a few bytes per read,
/// plain and gzip'd, gives the same frames.
#[test]
fn pipe_like_reader() {
    for rel in ["dcerpc/zeek__dce_rpc_ntlm.pcapng", "tcp/zeek__reassembly.pcap"] {
        let plain = shared_bytes(rel);
        let (want, _, _) = read_path(&shared(rel));
        for chunk in [1, 3, 7, 1500] {
            for input in [plain.clone(), gzip(&plain)] {
                let r = Trickle { inner: Cursor::new(input), chunk };
                let mut rd = CaptureReader::from_reader(Box::new(r), "<stdin>").unwrap();
                assert_eq!(rd.source_len(), None);
                let (frames, err, _) = drain(&mut rd);
                assert!(err.is_none());
                assert_eq!(frames, want, "{rel} chunk {chunk}");
            }
        }
    }
}

/// Stats serialise to JSON (for the report's summary).
#[test]
fn stats_serialise() {
    let (_, _, stats) = read_path(&shared("dcerpc/zeek__dce_rpc_ntlm.pcapng"));
    let v = serde_json::to_value(&stats).unwrap();
    assert_eq!(v["format"]["type"], "pcapng");
    assert_eq!(v["frames"], 6);
    assert_eq!(v["link_types_seen"]["1"], 6);
    assert_eq!(v["unknown_blocks"]["5"], 1);
}
