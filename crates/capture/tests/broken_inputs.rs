//! Broken inputs built from real files in /work/shared/captures (see its SOURCES.md):
//! truncation at every offset, wrong block lengths, zero and huge captured lengths, garbage.
//! The bytes are the real files' bytes except for the patch each test describes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use tracehound_capture::{CaptureReader, ErrorKind, Limits};

/// tcp/zeek__syn-then-stuff-then-rst.pcap cut at every byte offset: before the 24-byte header
/// ends it cannot be opened; after, the complete records are delivered and a cut inside a
/// record is described exactly.
#[test]
fn pcap_truncated_at_every_offset() {
    let rel = "tcp/zeek__syn-then-stuff-then-rst.pcap";
    let full = shared_bytes(rel);
    let recs = pcap_records(&full);
    assert!(recs.len() >= 3);
    let (all, _, _) = read_bytes(&full, rel);
    for cut in 0..=full.len() {
        let b = &full[..cut];
        if cut < 24 {
            let e = from_bytes(b, "cut").unwrap_err();
            assert_eq!((e.offset, e.frame), (0, 0));
            match (&e.kind, cut) {
                (ErrorKind::NotACapture { first_bytes, .. }, 0..=3) => assert_eq!(first_bytes, b),
                (ErrorKind::Truncated(what), 4..) => {
                    assert_eq!(
                        what,
                        &format!(
                            "file ends after {cut} bytes, inside the 24-byte pcap file header"
                        )
                    )
                }
                _ => panic!("cut {cut}: {e}"),
            }
            continue;
        }
        let (frames, err, stats) = read_bytes(b, "cut");
        assert!(err.is_none(), "cut {cut}: {err:?}");
        let complete = recs.iter().filter(|(s, c)| s + 16 + c <= cut).count();
        assert_eq!(frames.len(), complete, "cut {cut}");
        assert_eq!(frames[..], all[..complete]);
        let inside = recs.iter().find(|(s, c)| *s < cut && cut < s + 16 + c);
        match inside {
            None => assert_eq!(stats.truncated, None, "cut {cut}"),
            Some(&(s, _)) if cut - s < 16 => assert_eq!(
                stats.truncated.as_deref(),
                Some(&*format!("file ends {} bytes into a 16-byte packet record header at offset {s}", cut - s))
            ),
            Some(&(s, c)) => assert_eq!(
                stats.truncated.as_deref(),
                Some(&*format!(
                    "file ends {} bytes into a {}-byte packet record at offset {s} (16-byte header + {c} bytes of packet data)",
                    cut - s,
                    16 + c
                ))
            ),
        }
    }
}

/// dcerpc/zeek__dce_rpc_ntlm.pcapng cut at every byte offset.
#[test]
fn pcapng_truncated_at_every_offset() {
    let rel = "dcerpc/zeek__dce_rpc_ntlm.pcapng";
    let full = shared_bytes(rel);
    let blocks = pcapng_blocks(&full);
    let shb_len = blocks[0].2;
    let (all, _, _) = read_bytes(&full, rel);
    let names = |t: u32| tracehound_capture::block_name(t);
    for cut in 0..=full.len() {
        let b = &full[..cut];
        if cut < shb_len {
            let e = from_bytes(b, "cut").unwrap_err();
            match (&e.kind, cut) {
                (ErrorKind::NotACapture { .. }, 0..=3) => {}
                (ErrorKind::Truncated(what), 4..=7) => {
                    assert_eq!(what, &format!("file ends {cut} bytes into a pcapng block header at offset 0"))
                }
                (ErrorKind::Truncated(what), 8..=11) => {
                    assert_eq!(what, &format!("file ends {cut} bytes into a pcapng Section Header Block at offset 0"))
                }
                (ErrorKind::Truncated(what), _) => assert_eq!(
                    what,
                    &format!("file ends {cut} bytes into a {shb_len}-byte pcapng Section Header Block at offset 0")
                ),
                _ => panic!("cut {cut}: {e}"),
            }
            continue;
        }
        let (frames, err, stats) = read_bytes(b, "cut");
        assert!(err.is_none(), "cut {cut}: {err:?}");
        let complete = blocks.iter().filter(|(s, t, l)| *t == 6 && s + l <= cut).count();
        assert_eq!(frames[..], all[..complete], "cut {cut}");
        match blocks.iter().find(|(s, _, l)| *s < cut && cut < s + l) {
            None => assert_eq!(stats.truncated, None, "cut {cut}"),
            Some(&(s, _, _)) if cut - s < 8 => assert_eq!(
                stats.truncated.as_deref(),
                Some(&*format!(
                    "file ends {} bytes into a pcapng block header at offset {s}",
                    cut - s
                ))
            ),
            Some(&(s, t, l)) => assert_eq!(
                stats.truncated.as_deref(),
                Some(&*format!(
                    "file ends {} bytes into a {l}-byte pcapng {} at offset {s}",
                    cut - s,
                    names(t)
                ))
            ),
        }
    }
}

/// Wrong block total lengths in dcerpc/zeek__kerberos445_auth.pcapng: the error names the
/// block, the offset of its start and the frames before it.
#[test]
fn pcapng_wrong_block_lengths() {
    let rel = "dcerpc/zeek__kerberos445_auth.pcapng";
    let full = shared_bytes(rel);
    let blocks = pcapng_blocks(&full);
    // Block 4 is the second EPB (frame 2).
    let (s, t, l) = blocks[3];
    assert_eq!(t, 6);
    let cases: Vec<(usize, u32, String)> = vec![
        (s + 4, 7, "block total length 7 is not a multiple of 4".into()),
        (s + 4, 8, "block total length 8 is less than the minimum 12".into()),
        (s + 4, 0, "block total length 0 is less than the minimum 12".into()),
        (
            s + 4,
            0x7fff_fff0,
            "block total length 2147483632 is over the 268435456-byte limit".into(),
        ),
        (
            s + 4,
            l as u32 + 4,
            format!(
                "block total length is {} at the start of the block but {} at its end",
                l + 4,
                le32(&full, s + l)
            ),
        ),
        (
            s + l - 4,
            l as u32 - 4,
            format!("block total length is {l} at the start of the block but {} at its end", l - 4),
        ),
    ];
    for (at, v, what) in cases {
        let mut b = full.clone();
        put_le32(&mut b, at, v);
        let (frames, err, _) = read_bytes(&b, "k.pcapng");
        assert_eq!(frames.len(), 1, "{what}");
        let e = err.expect("error");
        assert!(matches!(e.kind, ErrorKind::Corrupt(_)));
        assert_eq!((e.offset, e.frame), (s as u64, 1));
        assert_eq!(
            e.to_string(),
            format!("k.pcapng: at byte {s} (after frame 1): pcapng Enhanced Packet Block: {what}")
        );
    }
    // A length within the limit that runs past the end of the file is a truncation.
    let (ls, _, _) = *blocks.last().unwrap();
    let mut b = full.clone();
    put_le32(&mut b, ls + 4, 1 << 20);
    let (frames, err, stats) = read_bytes(&b, "k.pcapng");
    assert!(err.is_none());
    assert_eq!(frames.len(), blocks.len() - 3);
    assert_eq!(
        stats.truncated.unwrap(),
        format!(
            "file ends {} bytes into a 1048576-byte pcapng Enhanced Packet Block at offset {ls}",
            full.len() - ls
        )
    );
    // The first Section Header Block too short for its fixed part: refused at open.
    let mut b = full.clone();
    put_le32(&mut b, 4, 24);
    let e = from_bytes(&b, "k").unwrap_err();
    assert_eq!(e.to_string(), "k: at byte 0 (after frame 0): pcapng Section Header Block: block total length 24 is less than the minimum 28");
    // A bad byte-order magic.
    let mut b = full.clone();
    put_le32(&mut b, 8, 0x1234_5678);
    let e = from_bytes(&b, "k").unwrap_err();
    assert_eq!(e.to_string(), "k: at byte 0 (after frame 0): pcapng Section Header Block: byte-order magic 78 56 34 12 is neither 1a2b3c4d nor 4d3c2b1a");
    // Unsupported section version 2.0.
    let mut b = full.clone();
    b[12] = 2;
    let e = from_bytes(&b, "k").unwrap_err();
    assert_eq!(e.to_string(), "k: at byte 0 (after frame 0): pcapng Section Header Block: version 2.0 is not supported (only 1.x)");
}

/// Inserting a record with captured length 0 into tcp/zeek__syn-then-stuff-then-rst.pcap
/// (after frame 1): a legal empty frame, read the same way by tshark.
#[test]
fn pcap_zero_caplen_is_an_empty_frame() {
    let full = shared_bytes("tcp/zeek__syn-then-stuff-then-rst.pcap");
    let recs = pcap_records(&full);
    let after1 = recs[1].0;
    let mut rec = full[recs[0].0..recs[0].0 + 16].to_vec(); // frame 1's header, ts kept
    put_le32(&mut rec, 8, 0);
    put_le32(&mut rec, 12, 60);
    let mut b = full[..after1].to_vec();
    b.extend_from_slice(&rec);
    b.extend_from_slice(&full[after1..]);
    let p = write_tmp("zero-caplen.pcap", &b);
    let (frames, err, stats) = read_path(&p);
    assert!(err.is_none());
    assert_eq!(frames.len(), recs.len() + 1);
    assert!(frames[1].data.is_empty());
    assert_eq!(frames[1].orig_len, 60);
    assert_eq!(stats.frames_cut_by_snaplen, 1);
    let got: Vec<TsharkFrame> = frames.iter().map(Got::as_tshark).collect();
    assert_eq!(got, tshark(&p));
}

/// Huge captured lengths in frame 2's record header are framing errors at that record.
#[test]
fn pcap_huge_caplen_is_corrupt() {
    let full = shared_bytes("tcp/zeek__syn-then-stuff-then-rst.pcap");
    let recs = pcap_records(&full);
    let (s, c) = recs[1];
    for v in [262_145u32, 300_000, 1 << 20, u32::MAX] {
        let mut b = full.clone();
        put_le32(&mut b, s + 8, v);
        let (frames, err, _) = read_bytes(&b, "h.pcap");
        assert_eq!(frames.len(), 1);
        let e = err.expect("error");
        assert_eq!((e.offset, e.frame), (s as u64, 1));
        let orig = le32(&full, s + 12);
        assert_eq!(
            e.to_string(),
            format!(
                "h.pcap: at byte {s} (after frame 1): pcap packet record says {v} bytes were captured \
                 (original length {orig}, snaplen 65535), over the 262144-byte limit: the record framing cannot be trusted"
            )
        );
    }
    // Exactly the limit is legal: here it runs past the end, so it is a truncation.
    let mut b = full.clone();
    put_le32(&mut b, s + 8, 262_144);
    let (frames, err, stats) = read_bytes(&b, "h.pcap");
    assert!(err.is_none());
    assert_eq!(frames.len(), 1);
    assert_eq!(
        stats.truncated.unwrap(),
        format!(
            "file ends {} bytes into a 262160-byte packet record at offset {s} (16-byte header + 262144 bytes of packet data)",
            full.len() - s
        )
    );
    // A smaller configured limit applies.
    let limits = Limits { max_packet_len: (c - 1) as u32, ..Limits::default() };
    let mut rd =
        CaptureReader::from_reader_with(Box::new(std::io::Cursor::new(full.clone())), "l", limits)
            .unwrap();
    let (frames, err, _) = drain(&mut rd);
    assert!(frames.len() < recs.len());
    assert!(matches!(err.unwrap().kind, ErrorKind::Corrupt(_)));
}

/// Captured length over the file's snaplen is tolerated and counted (snaplen patched to 40 in
/// tcp/zeek__syn-then-stuff-then-rst.pcap).
#[test]
fn pcap_caplen_over_snaplen_is_tolerated() {
    let full = shared_bytes("tcp/zeek__syn-then-stuff-then-rst.pcap");
    let recs = pcap_records(&full);
    let mut b = full.clone();
    put_le32(&mut b, 16, 40);
    let (frames, err, stats) = read_bytes(&b, "s.pcap");
    assert!(err.is_none());
    assert_eq!(frames.len(), recs.len());
    assert_eq!(stats.caplen_over_snaplen, recs.iter().filter(|r| r.1 > 40).count() as u64);
    assert!(stats.caplen_over_snaplen > 0);
}

/// Garbage: random bytes, text, and garbage after valid data.
#[test]
fn garbage() {
    // Deterministic pseudo-random bytes (xorshift).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let rnd: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let e = from_bytes(&rnd, "rnd").unwrap_err();
    let ErrorKind::NotACapture { first_bytes, .. } = &e.kind else { panic!("{e}") };
    assert_eq!(first_bytes[..], rnd[..16]);
    assert!(e.to_string().starts_with(
        "rnd: at byte 0 (after frame 0): not a pcap or pcapng capture: it starts with "
    ));

    let e = from_bytes(b"<!DOCTYPE html><html>", "page.pcap").unwrap_err();
    assert_eq!(
        e.to_string(),
        "page.pcap: at byte 0 (after frame 0): not a pcap or pcapng capture: it starts with \
         3c 21 44 4f 43 54 59 50 45 20 68 74 6d 6c 3e 3c (\"<!DOCTYPE html><\")"
    );
    let e = from_bytes(b"", "empty").unwrap_err();
    assert_eq!(
        e.to_string(),
        "empty: at byte 0 (after frame 0): not a pcap or pcapng capture: the input is empty"
    );

    // Modified (Kuznetzov) pcap magic: refused with a hint.
    let mut b = shared_bytes("tcp/zeek__syn.pcap");
    b[..4].copy_from_slice(&[0x34, 0xcd, 0xb2, 0xa1]);
    let e = from_bytes(&b, "m").unwrap_err();
    assert!(e.to_string().contains("modified (Kuznetzov) pcap"), "{e}");

    // Garbage after a real pcapng: "GARB" / "AGE!" as type and length.
    let full = shared_bytes("dcerpc/zeek__dce_rpc_ntlm.pcapng");
    let mut b = full.clone();
    b.extend_from_slice(b"GARBAGE!GARBAGE!");
    let (frames, err, _) = read_bytes(&b, "g");
    assert_eq!(frames.len(), 6);
    let e = err.unwrap();
    assert_eq!(
        e.to_string(),
        format!(
            "g: at byte {} (after frame 6): pcapng block of type 0x42524147: block total length {} is not a multiple of 4",
            full.len(),
            u32::from_le_bytes(*b"AGE!")
        )
    );
    // Garbage after a real pcap: 16 bytes of ff = a record claiming 4294967295 bytes.
    let full = shared_bytes("tcp/zeek__syn-synack.pcap");
    let mut b = full.clone();
    b.extend_from_slice(&[0xff; 16]);
    let (frames, err, _) = read_bytes(&b, "g");
    assert_eq!(frames.len(), 2);
    let e = err.unwrap();
    assert_eq!((e.offset, e.frame), (full.len() as u64, 2));

    // Unsupported pcap version 3.4.
    let mut b = full.clone();
    b[4] = 3;
    let e = from_bytes(&b, "v").unwrap_err();
    assert_eq!(
        e.to_string(),
        "v: at byte 4 (after frame 0): pcap file header: version 3.4 is not supported (only 2.x)"
    );
}

/// Packet blocks with intact framing but wrong contents are skipped and reported; reading
/// goes on. Based on dcerpc/zeek__kerberos445_auth.pcapng.
#[test]
fn pcapng_bad_packet_blocks_are_skipped_and_reported() {
    let rel = "dcerpc/zeek__kerberos445_auth.pcapng";
    let full = shared_bytes(rel);
    let blocks = pcapng_blocks(&full);
    let (all, _, _) = read_bytes(&full, rel);
    // Frame 3 (block 5) refers to interface 5; frame 5 (block 7) claims more data than it holds.
    let (s3, _, _) = blocks[4];
    let (s5, _, l5) = blocks[6];
    let mut b = full.clone();
    put_le32(&mut b, s3 + 8, 5);
    put_le32(&mut b, s5 + 20, l5 as u32);
    let (frames, err, stats) = read_bytes(&b, "k");
    assert!(err.is_none());
    assert_eq!(stats.skipped_packets, 2);
    assert_eq!(frames.len(), all.len() - 2);
    // Numbering stays consecutive; the delivered frames are the others, in order.
    assert!(frames.iter().enumerate().all(|(i, f)| f.number == i as u64 + 1));
    let kept: Vec<_> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2 && *i != 4)
        .map(|(_, f)| f.data.clone())
        .collect();
    assert_eq!(frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>(), kept);
    assert_eq!(
        stats.problems,
        vec![
            format!(
                "at byte {s3} (after frame 2): packet skipped: Enhanced Packet Block refers to interface 5, \
                 but the section has defined only 1 interface(s) before it"
            ),
            format!(
                "at byte {s5} (after frame 3): packet skipped: Enhanced Packet Block: captured length {l5} is \
                 more than the {} bytes the block has room for",
                l5 - 32
            ),
        ]
    );
}

#[test]
fn missing_file_and_directory_are_io_errors() {
    let e = CaptureReader::open(std::path::Path::new("/nonexistent/x.pcap")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Io(_)));
    assert!(
        e.to_string().starts_with("/nonexistent/x.pcap: at byte 0 (after frame 0): read error: "),
        "{e}"
    );
    let e = CaptureReader::open(&shared_dir()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Io(_)), "{e}");
}
