//! The whole analysis on arbitrary input, through `tracehound-pipeline` exactly as the CLI
//! runs it: capture reader, decode, IP reassembly, the conversation engine with its stream
//! reassembly, the DCE/RPC and application analyzers on their worker threads, the endpoint
//! follow-up and every finding rule. Nothing may panic.
//!
//! Input: a capture file (pcap or pcapng magic), or else frames
//! `[link selector][len hi][len lo][bytes...]` repeated, which are wrapped into a pcapng
//! (one interface per link type; time advances 1 ms a frame, and jumps past the idle
//! timeouts when the selector's high bit is set) and read the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_capture::{CaptureReader, LinkType};
use tracehound_findings::evaluate;
use tracehound_flows::Config;
use tracehound_pipeline::{analyze_reader, Mode, Threads};

const LINKS: [LinkType; 4] = [LinkType::ETHERNET, LinkType::RAW, LinkType::LINUX_SLL, LinkType::NULL];

/// One pcapng block: type, total length, body (padded to 4 bytes), total length.
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let padded = (body.len() + 3) & !3;
    let total = (12 + padded) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    out.extend_from_slice(&total.to_le_bytes());
}

/// The frames of `data` as a pcapng file.
fn frames_to_pcapng(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    for link in LINKS {
        let mut idb = Vec::new();
        idb.extend_from_slice(&(link.0 as u16).to_le_bytes());
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_le_bytes());
        block(&mut out, 1, &idb);
    }
    let mut ts: u64 = 1_600_000_000_000_000; // microseconds
    while let [sel, hi, lo, tail @ ..] = rest {
        let len = (usize::from(*hi) << 8 | usize::from(*lo)).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        ts += if sel & 0x80 != 0 { 400_000_000 } else { 1_000 };
        let mut epb = Vec::new();
        epb.extend_from_slice(&u32::from(sel & 3).to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        epb.extend_from_slice(frame);
        block(&mut out, 6, &epb);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // Small limits so that the limit paths are exercised too.
    let cfg = Config { reasm_limit: 2048, max_events: 16, max_flows: 64, ..Config::default() };
    let magic = data.get(..4).unwrap_or(&[]);
    let is_capture = [[0xd4, 0xc3, 0xb2, 0xa1], [0x4d, 0x3c, 0xb2, 0xa1], [0x0a, 0x0d, 0x0d, 0x0a]]
        .iter()
        .any(|m| m == magic);
    let bytes = if is_capture { data.to_vec() } else { frames_to_pcapng(data) };
    let Ok(reader) = CaptureReader::from_reader(Box::new(std::io::Cursor::new(bytes)), "fuzz") else {
        return;
    };
    let Ok(ff) = analyze_reader(reader, cfg, Mode::Analyze, Threads::Parallel, None, &mut |_| {}) else { return };
    let _ = evaluate(&ff.facts());
});
