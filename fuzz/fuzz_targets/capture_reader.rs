//! Feeds arbitrary bytes to `CaptureReader` (through `from_reader`, as for standard input)
//! and reads to the end. Checks the contract: no panic, frame numbers increasing, captured
//! data within the packet limit, every cap respected, and nothing after an error or the end.
//! One input in three runs with tiny limits so that the caps themselves are exercised.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tracehound_capture::{CaptureReader, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = if data.len() % 3 == 0 {
        Limits {
            max_packet_len: 600,
            max_block_len: 2048,
            max_interfaces: 2,
            max_comments_kept: 1,
            max_comment_len: 4,
            max_problems_kept: 1,
            max_unknown_block_types: 1,
        }
    } else {
        Limits::default()
    };
    let caps = limits.clone();
    let Ok(mut rd) =
        CaptureReader::from_reader_with(Box::new(Cursor::new(data.to_vec())), "fuzz", limits)
    else {
        return;
    };
    let mut delivered = 0u64;
    let mut last = 0u64;
    loop {
        match rd.next_frame() {
            Ok(Some(f)) => {
                assert!(f.number > last);
                assert!(f.data.len() <= caps.max_packet_len as usize);
                last = f.number;
                delivered += 1;
            }
            Ok(None) => break,
            Err(e) => {
                assert!(e.frame >= last);
                let _ = e.to_string();
                break;
            }
        }
    }
    assert!(matches!(rd.next_frame(), Ok(None)));
    let s = rd.stats();
    assert_eq!(s.frames, delivered);
    assert!(s.problems.len() <= caps.max_problems_kept);
    assert!(s.first_comments.len() <= caps.max_comments_kept);
    assert!(s.first_comments.iter().all(|c| c.chars().count() <= caps.max_comment_len));
    assert!(s.unknown_blocks.len() <= caps.max_unknown_block_types);
    if !s.gzip {
        assert!(rd.bytes_consumed() <= data.len() as u64);
    }
});
