//! Feeds arbitrary bytes to the Network Monitor reader (as a whole file in memory, and once
//! in three with tiny limits) and reads to the end. Contract: no panic, no unbounded memory,
//! every delivered packet within the packet limit, every process index valid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tracehound_wintrace::{Limits, WinInput, WinReader};

fuzz_target!(|data: &[u8]| {
    let limits = if data.len() % 3 == 0 {
        Limits { max_packet_len: 600, max_processes: 2, max_problems_kept: 1, ..Limits::default() }
    } else {
        Limits::default()
    };
    let max = limits.max_packet_len as usize;
    let mut input = data.to_vec();
    // Make most inputs NetMon files so that the frame parser, not the sniffer, is fuzzed.
    if input.len() >= 6 && data.len() % 5 != 0 {
        input[..4].copy_from_slice(b"GMBU");
        input[5] = 2;
    }
    let Ok(mut rd) = WinReader::from_input(WinInput::Bytes(Box::new(input)), limits) else {
        return;
    };
    let mut n = 0u64;
    while let Ok(Some(p)) = rd.next_packet() {
        assert!(p.data.len() <= max);
        if let Some(i) = p.process {
            assert!((i as usize) < rd.processes().len());
        }
        n += 1;
    }
    assert_eq!(rd.stats().packets, n);
});
