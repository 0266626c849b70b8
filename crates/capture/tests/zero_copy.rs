//! The two in-place input paths give the same result: a memory-mapped file (`open`) and the
//! stream buffer (`open_buffered`, `from_reader`, pipes), on every shared capture in
//! /work/shared/captures (see its SOURCES.md) and the lab captures in tests/fixtures/lab, on
//! real files cut at every offset, on records larger than the stream buffer, and on files that
//! grow or are truncated after open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use common::*;
use tracehound_capture::{CaptureError, CaptureReader, CaptureStats, Limits};

/// Everything a reader tells, as comparable values: frames, the error (displayed), the stats
/// (as JSON) and the final byte count.
#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Got>,
    err: Option<String>,
    stats: String,
    consumed: u64,
}

fn outcome(rd: &mut CaptureReader) -> Outcome {
    let (frames, err, stats) = drain(rd);
    Outcome {
        frames,
        err: err.map(|e: CaptureError| e.to_string()),
        stats: serde_json::to_string(&stats).unwrap(),
        consumed: rd.bytes_consumed(),
    }
}

fn mapped(p: &Path) -> CaptureReader {
    let rd = CaptureReader::open(p).unwrap_or_else(|e| panic!("{e}"));
    assert!(rd.is_memory_mapped(), "{} not mapped", p.display());
    rd
}

fn buffered(p: &Path) -> CaptureReader {
    let rd = CaptureReader::open_buffered(p, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!rd.is_memory_mapped());
    rd
}

fn lab_captures() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab"));
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("lab captures missing at {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .collect();
    out.sort();
    out
}

/// Every shared and lab capture: memory-mapped, buffered, and through a pipe-like reader
/// (4000 bytes per read) give the same frames, stats and byte counts; the mapped reader's
/// progress follows the parse position; the shared ones are also cross-checked with tshark
/// in shared_captures.rs (through `open`, the mapped path).
#[test]
fn mapped_buffered_and_piped_give_identical_results() {
    let shared = all_shared_captures();
    let lab = lab_captures();
    assert!(shared.len() >= 70 && !lab.is_empty(), "{} {}", shared.len(), lab.len());
    let mut frames = 0;
    for p in shared.iter().chain(&lab) {
        let len = std::fs::metadata(p).unwrap().len();
        let mut m = mapped(p);
        assert_eq!(m.source_len(), Some(len));
        let mut n = 0;
        let mut got = Vec::new();
        loop {
            match m.next_frame() {
                Ok(Some(f)) => {
                    n += 1;
                    got.push(f.data.to_vec());
                    assert_eq!(m.source_bytes_read(), m.bytes_consumed());
                }
                Ok(None) => break,
                Err(e) => panic!("{}: {e}", p.display()),
            }
        }
        assert_eq!(m.bytes_consumed(), len, "{}", p.display());
        assert_eq!(m.source_bytes_read(), len);
        let a = outcome(&mut mapped(p));
        let b = outcome(&mut buffered(p));
        let bytes = std::fs::read(p).unwrap();
        let piped = Trickle { inner: Cursor::new(bytes), chunk: 4000 };
        let c = outcome(
            &mut CaptureReader::from_reader(Box::new(piped), &p.display().to_string()).unwrap(),
        );
        assert_eq!(a, b, "{}", p.display());
        assert_eq!(a, c, "{}", p.display());
        assert_eq!(a.frames.iter().map(|f| f.data.clone()).collect::<Vec<_>>(), got);
        assert_eq!(a.frames.len(), n);
        frames += n;
    }
    assert!(frames > 1000, "{frames}");
}

/// Real files cut at every offset (tcp/zeek__syn-then-stuff-then-rst.pcap, 304 bytes, and
/// dcerpc/zeek__dce_rpc_ntlm.pcapng, 2644 bytes), written to disk: the mapped reader gives
/// exactly what the stream reader gives for the same bytes (frames, truncation text, open
/// errors), and a gzip'd file opened by path is streamed, not mapped.
#[test]
fn cut_files_mapped_equal_streamed() {
    for rel in ["tcp/zeek__syn-then-stuff-then-rst.pcap", "dcerpc/zeek__dce_rpc_ntlm.pcapng"] {
        let full = shared_bytes(rel);
        let mut truncated = 0;
        for cut in 0..=full.len() {
            let b = &full[..cut];
            let p = write_tmp(&format!("cut-{}", rel.replace('/', "_")), b);
            let streamed = from_bytes(b, "x");
            let opened = CaptureReader::open(&p);
            match (opened, streamed) {
                (Ok(mut m), Ok(mut s)) => {
                    assert_eq!(m.is_memory_mapped(), cut > 0);
                    let (a, b) = (outcome(&mut m), outcome(&mut s));
                    assert_eq!(a, b, "{rel} cut {cut}");
                    truncated += a.stats.contains("\"truncated\":\"") as usize;
                }
                (Err(m), Err(s)) => {
                    assert_eq!((m.offset, m.frame), (s.offset, s.frame));
                    assert_eq!(m.kind.to_string(), s.kind.to_string(), "{rel} cut {cut}");
                }
                (m, s) => panic!("{rel} cut {cut}: {:?} vs {:?}", m.err(), s.err()),
            }
        }
        assert!(truncated > full.len() / 2, "{rel}: {truncated}");
    }
    let plain = shared_bytes("dcerpc/zeek__dce_rpc_ntlm.pcapng");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&plain).unwrap();
    let p = write_tmp("zero_copy_ntlm.pcapng.gz", &e.finish().unwrap());
    let mut rd = CaptureReader::open(&p).unwrap();
    assert!(!rd.is_memory_mapped());
    assert_eq!(outcome(&mut rd).frames, read_path(&shared("dcerpc/zeek__dce_rpc_ntlm.pcapng")).0);
}

/// dcerpc/zeek__dce_rpc_ntlm.pcapng with two blocks inserted after its IDB: a 3 MiB block of
/// a local-use type (0x80000001, skipped and counted; larger than the 1 MiB stream buffer)
/// and an Enhanced Packet Block with 200000 bytes of data (more than the 64 KiB first buffer,
/// under the 256 KiB packet limit). Mapped, buffered and piped (7 bytes and 64 KiB per read)
/// all deliver the big frame's bytes and then the file's own frames.
#[test]
fn records_larger_than_the_buffer() {
    let orig = shared_bytes("dcerpc/zeek__dce_rpc_ntlm.pcapng");
    let blocks = pcapng_blocks(&orig);
    assert_eq!(blocks[1].1, 1);
    let after_idb = blocks[1].0 + blocks[1].2;
    let big_data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut epb = Vec::new();
    epb.extend_from_slice(&0u32.to_le_bytes()); // interface 0
    epb.extend_from_slice(&0u32.to_le_bytes()); // timestamp high
    epb.extend_from_slice(&1_000_000u32.to_le_bytes()); // timestamp low
    epb.extend_from_slice(&200_000u32.to_le_bytes()); // captured length
    epb.extend_from_slice(&200_000u32.to_le_bytes()); // original length
    epb.extend_from_slice(&big_data);
    let mut b = orig[..after_idb].to_vec();
    b.extend_from_slice(&block(0x8000_0001, &vec![0x5a; 3 << 20], false));
    b.extend_from_slice(&block(6, &epb, false));
    b.extend_from_slice(&orig[after_idb..]);
    let p = write_tmp("zero_copy_big_records.pcapng", &b);
    let want = outcome(&mut mapped(&p));
    assert!(want.err.is_none());
    let (orig_frames, _, _) = read_bytes(&orig, "o");
    assert_eq!(want.frames.len(), orig_frames.len() + 1);
    assert_eq!(want.frames[0].data, big_data);
    assert_eq!(want.frames[0].number, 1);
    assert_eq!(
        want.frames[1..],
        orig_frames[..]
            .iter()
            .map(|f| Got { number: f.number + 1, ..f.clone() })
            .collect::<Vec<_>>()[..]
    );
    let stats: CaptureStats = read_path(&p).2;
    assert_eq!(stats.unknown_blocks.get(&0x8000_0001), Some(&1));
    assert_eq!(want, outcome(&mut buffered(&p)));
    for chunk in [7, 65536] {
        let r = Trickle { inner: Cursor::new(b.clone()), chunk };
        let mut rd = CaptureReader::from_reader(Box::new(r), &p.display().to_string()).unwrap();
        assert_eq!(want, outcome(&mut rd), "chunk {chunk}");
    }
}

/// A pcap of ~12 MB: the header and records of dcerpc/dcerpc__zerologon__input.pcap, the
/// records repeated (each as found by an independent walk of the file).
fn big_pcap() -> Vec<u8> {
    let b = shared_bytes("dcerpc/dcerpc__zerologon__input.pcap");
    let recs = pcap_records(&b);
    let mut out = b[..24].to_vec();
    while out.len() < 12 << 20 {
        for &(s, c) in &recs {
            out.extend_from_slice(&b[s..s + 16 + c]);
        }
    }
    out
}

/// A file that grows after it was opened (mapped) is read to its current end, as plain reads
/// would: first cut inside a record, the rest appended after some frames were read.
#[test]
fn file_growing_after_open_is_read_on() {
    let full = big_pcap();
    let want = read_bytes(&full, "x").0;
    let cut = full.len() / 2 + 5;
    let p = write_tmp("zero_copy_growing.pcap", &full[..cut]);
    let mut rd = mapped(&p);
    let mut got = Vec::new();
    while rd.bytes_consumed() < (cut / 2) as u64 {
        let f = rd.next_frame().unwrap().unwrap();
        got.push(f.data.to_vec());
    }
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(&full[cut..]).unwrap();
    drop(f);
    let rest = outcome(&mut rd);
    assert!(rest.err.is_none());
    assert!(!rest.stats.contains("\"truncated\":\""), "{}", rest.stats);
    got.extend(rest.frames.into_iter().map(|f| f.data));
    assert_eq!(got, want.iter().map(|f| f.data.clone()).collect::<Vec<_>>());
    assert_eq!(rd.bytes_consumed(), full.len() as u64);
    assert!(!rd.is_memory_mapped(), "read on from the file, past the map");
}

/// A mapped file truncated by someone else while it is read: the cut lands more than the
/// reader's 1 MiB checked window ahead of the parser (a cut inside it may fault, as the crate
/// documents), and the reader delivers exactly what a stream reader delivers for the cut
/// bytes, including the truncation report.
#[test]
fn file_truncated_while_mapped_is_reported_not_fatal() {
    let full = big_pcap();
    let p = write_tmp("zero_copy_truncated.pcap", &full);
    let mut rd = mapped(&p);
    let mut got = Vec::new();
    while rd.bytes_consumed() < 2 << 20 {
        let f = rd.next_frame().unwrap().unwrap();
        got.push(f.data.to_vec());
    }
    // A cut 4 MiB ahead plus 101 bytes: inside some record.
    let cut = rd.bytes_consumed() as usize + (4 << 20) + 101;
    std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(cut as u64).unwrap();
    let rest = outcome(&mut rd);
    let (want, err, stats) = read_bytes(&full[..cut], "x");
    assert!(err.is_none() && rest.err.is_none());
    got.extend(rest.frames.into_iter().map(|f| f.data));
    assert_eq!(got, want.iter().map(|f| f.data.clone()).collect::<Vec<_>>());
    let t = stats.truncated.expect("the cut is inside a record");
    assert!(rest.stats.contains(&t), "{} vs {t}", rest.stats);
    assert_eq!(rd.bytes_consumed(), cut as u64);
}

/// The shared map of a mapped pcap: every frame's data lies in it, at its record's place in
/// the file, and its bytes stay readable after the reader is gone; bytes from elsewhere (a
/// copy, the slice just past the map's end) are not located in it. Streams have no map.
#[test]
fn shared_map_locates_frames_in_the_file() {
    let full = big_pcap();
    let p = write_tmp("zero_copy_shared_map.pcap", &full);
    let mut rd = mapped(&p);
    let map = rd.shared_map().expect("a mapped pcap has a shared map");
    let mut n = 0;
    let mut last = 0;
    while let Some(f) = rd.next_frame().unwrap() {
        let at = map.locate(f.data).expect("frame data inside the map");
        assert!(at >= last + 16, "frame {} before its record header", f.number);
        assert_eq!(&full[at..at + f.data.len()], f.data);
        let copy = f.data.to_vec();
        assert_eq!(map.locate(&copy), None, "a copy is not in the map");
        last = at + f.data.len();
        n += 1;
    }
    assert!(n > 1000);
    assert_eq!(last, full.len(), "the last frame ends the file");
    drop(rd);
    assert_eq!(map.bytes(), &full[..], "still readable after the reader is gone");
    let b = map.bytes();
    assert_eq!(map.locate(&b[b.len() - 7..]), Some(b.len() - 7));
    assert_eq!(map.locate(&b[..0]), Some(0));
    assert!(buffered(&p).shared_map().is_none(), "a buffered reader has no map");
    let ng = shared("dcerpc/zeek__dce_rpc_ntlm.pcapng");
    let mut rd = mapped(&ng);
    let map = rd.shared_map().expect("a mapped pcapng has a shared map");
    let f = rd.next_frame().unwrap().expect("a frame");
    assert!(map.locate(f.data).is_some(), "{}: pcapng frame data inside the map", ng.display());
}
