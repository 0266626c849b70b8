//! Every capture in /work/shared/captures (see its SOURCES.md) read by the reader and by
//! tshark: same frames, same timestamps (to the nanosecond), same lengths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use tracehound_capture::{CaptureFormat, CaptureReader};

#[test]
fn every_shared_capture_matches_tshark() {
    let files = all_shared_captures();
    assert!(files.len() >= 70, "expected the ~80 shared captures, found {}", files.len());
    let mut total_frames = 0;
    for path in &files {
        let (frames, err, stats) = read_path(path);
        assert!(err.is_none(), "{}: {}", path.display(), err.unwrap());
        assert_eq!(stats.truncated, None, "{}", path.display());
        assert_eq!(stats.skipped_packets, 0, "{}: {:?}", path.display(), stats.problems);
        let want = tshark(path);
        assert!(!want.is_empty(), "{}: tshark saw no frames", path.display());
        let got: Vec<TsharkFrame> = frames.iter().map(Got::as_tshark).collect();
        assert_eq!(got.len(), want.len(), "{}: frame count", path.display());
        // First and last timestamps called out for the error message, then everything.
        assert_eq!(got.first(), want.first(), "{}: first frame", path.display());
        assert_eq!(got.last(), want.last(), "{}: last frame", path.display());
        assert_eq!(got, want, "{}", path.display());
        assert_eq!(stats.frames, frames.len() as u64);
        assert_eq!(stats.link_types_seen.values().sum::<u64>(), stats.frames);
        let cut = frames.iter().filter(|f| (f.data.len() as u32) < f.orig_len).count() as u64;
        assert_eq!(stats.frames_cut_by_snaplen, cut);
        let is_ng = path.extension().unwrap() == "pcapng";
        assert_eq!(matches!(stats.format, CaptureFormat::Pcapng), is_ng, "{}", path.display());
        total_frames += frames.len();
    }
    assert!(total_frames > 1000, "{total_frames}");
}

/// The three pcapng files: one section, one interface, skipped blocks counted by type as an
/// independent walk over the file's blocks finds them.
#[test]
fn pcapng_shared_files_sections_interfaces_and_skipped_blocks() {
    for rel in [
        "dcerpc/zeek__dce_rpc_ntlm.pcapng",
        "dcerpc/zeek__kerberos445_auth.pcapng",
        "tcp/zeek__http-on-irc-port-missing-syn.pcapng",
    ] {
        let bytes = shared_bytes(rel);
        let (frames, err, stats) = read_path(&shared(rel));
        assert!(err.is_none());
        assert_eq!(stats.format, CaptureFormat::Pcapng);
        assert_eq!((stats.sections, stats.interfaces), (1, 1), "{rel}");
        let blocks = pcapng_blocks(&bytes);
        let epbs = blocks.iter().filter(|b| b.1 == 6).count();
        assert_eq!(frames.len(), epbs, "{rel}");
        let mut other = std::collections::BTreeMap::new();
        for b in blocks.iter().filter(|b| ![0x0a0d0d0a, 1, 6].contains(&b.1)) {
            *other.entry(b.1).or_insert(0u64) += 1;
        }
        assert_eq!(stats.unknown_blocks, other, "{rel}");
        assert!(frames
            .iter()
            .all(|f| f.interface == 0 && f.link == tracehound_capture::LinkType::ETHERNET));
    }
    // zeek__dce_rpc_ntlm.pcapng ends with an Interface Statistics Block.
    let (_, _, stats) = read_path(&shared("dcerpc/zeek__dce_rpc_ntlm.pcapng"));
    assert_eq!(stats.unknown_blocks.get(&5), Some(&1));
}

/// Frame data is the file's bytes: frame 1 of zeek__dce_rpc_ntlm.pcapng checked against the
/// EPB found by an independent block walk.
#[test]
fn frame_data_is_the_packet_bytes() {
    let rel = "dcerpc/zeek__dce_rpc_ntlm.pcapng";
    let bytes = shared_bytes(rel);
    let epb = pcapng_blocks(&bytes).into_iter().find(|b| b.1 == 6).unwrap();
    let caplen = le32(&bytes, epb.0 + 20) as usize;
    let data = &bytes[epb.0 + 28..epb.0 + 28 + caplen];
    let (frames, _, _) = read_path(&shared(rel));
    assert_eq!(frames[0].data, data);
    // And for a pcap: zeek__syn.pcap frame 1 is the 78 bytes after the 16-byte record header.
    let b = shared_bytes("tcp/zeek__syn.pcap");
    let (frames, _, _) = read_path(&shared("tcp/zeek__syn.pcap"));
    assert_eq!(frames[0].data, &b[40..40 + 78]);
}

/// Progress figures on a real file: everything consumed, source length known.
#[test]
fn progress_counters() {
    let p = shared("dcerpc/dcerpc__zerologon__input.pcap");
    let len = std::fs::metadata(&p).unwrap().len();
    let mut rd = CaptureReader::open(&p).unwrap();
    assert_eq!(rd.source_len(), Some(len));
    assert_eq!(rd.bytes_consumed(), 24);
    let mut last = 0;
    while let Some(f) = rd.next_frame().unwrap() {
        let _ = f;
        assert!(rd.bytes_consumed() > last);
        last = rd.bytes_consumed();
        assert!(rd.source_bytes_read() >= rd.bytes_consumed());
    }
    assert_eq!(rd.bytes_consumed(), len);
    assert_eq!(rd.source_bytes_read(), len);
    assert_eq!(rd.name(), p.display().to_string());
}
