//! Feeds arbitrary bytes to the ETL reader as a stream (buffers, LZXpress-Huffman
//! decompression, records, NDIS-PacketCapture and PktMon events, PktMon deduplication) and
//! reads to the end, once in three with tiny limits and with `--all-appearances` on odd
//! lengths. Contract: no panic, bounded memory, packets within the limit.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tracehound_wintrace::{Limits, WinInput, WinReader};

fuzz_target!(|data: &[u8]| {
    let limits = if data.len() % 3 == 0 {
        Limits {
            max_packet_len: 600,
            max_buffer_len: 1 << 16,
            max_problems_kept: 1,
            max_drops_kept: 1,
            max_keys: 2,
            max_pending: 2,
            ..Limits::default()
        }
    } else {
        Limits::default()
    };
    let max = limits.max_packet_len as usize;
    let stream = WinInput::Stream(Box::new(Cursor::new(data.to_vec())));
    let Ok(mut rd) = WinReader::from_input(stream, limits) else {
        return;
    };
    rd.set_all_appearances(data.len() % 2 == 1);
    while let Ok(Some(p)) = rd.next_packet() {
        assert!(p.data.len() <= max);
    }
});
