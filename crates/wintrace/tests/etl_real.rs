//! The buffer / record / timestamp layer on the two real ETL files Windows wrote
//! (shared/captures/etl, from airbus-cert/etl-parser's tests, Apache-2.0; see SOURCES.md).
//! The expected values are facts read independently: the header fields from the files'
//! bytes (hexdump, offsets per TRACE_LOGFILE_HEADER), the event counts, provider GUIDs and
//! raw first/last event timestamps from airbus-cert's etl-parser 1.0 run on the same files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::shared;
use tracehound_wintrace::{Format, WinReader};

fn read(name: &str) -> WinReader {
    let p = shared().join("etl").join(name);
    let mut rd = WinReader::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert_eq!(rd.format(), Format::Etl);
    assert!(rd.next_packet().unwrap().is_none(), "{name} holds no packets");
    rd
}

/// FILETIME to Unix nanoseconds, written out here independently of the crate.
fn ft(v: i64) -> i64 {
    (v - 116_444_736_000_000_000) * 100
}

#[test]
fn lxcore_kernel_etl() {
    let rd = read("airbus__lxcore_kernel.etl");
    let st = rd.stats();
    let h = st.etl.as_ref().unwrap();
    assert_eq!(h.os_version, "10.0.19041");
    assert_eq!((h.processors, h.clock_type, h.perf_freq, h.cpu_mhz), (6, 1, 10_000_000, 3000));
    assert_eq!(h.start_ns, ft(0x01d6_59d6_ee63_9ce3));
    assert_eq!(h.end_ns, ft(0x01d6_59d6_f5a0_7aea));
    assert_eq!(h.boot_ns, ft(0x01d6_59bd_1715_bd40));
    assert_eq!(h.tz_bias_minutes, -480);
    assert_eq!((h.buffer_size, h.buffers_written, h.compression_format), (8192, 3, 0));
    assert_eq!(h.logger_name, "lxcore_kernel");
    assert_eq!(h.log_file_name, r"C:\Prog\lxcore_kernel.etl");
    assert_eq!((st.buffers, st.compressed_buffers), (3, 0));
    assert_eq!(st.providers.len(), 1);
    assert_eq!(st.providers.get("0cd1c309-0878-4515-83db-749843b3f5c9"), Some(&2));
    assert_eq!(st.record_kinds.get("event_header64"), Some(&2));
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    // QPC at 10 MHz: the header record's ticks (0x19d7731752) are the start time.
    let header_ticks = 0x19_d773_1752i64;
    assert_eq!(st.first_event_ns, Some(h.start_ns + (111_046_465_597 - header_ticks) * 100));
    assert_eq!(st.last_event_ns, Some(h.start_ns + (111_046_477_804 - header_ticks) * 100));
}

#[test]
fn amsi_trace_etl() {
    let rd = read("airbus__AMSITrace.etl");
    let st = rd.stats();
    let h = st.etl.as_ref().unwrap();
    assert_eq!(h.os_version, "10.0.18362");
    assert_eq!((h.processors, h.clock_type, h.perf_freq), (8, 1, 10_000_000));
    assert_eq!((h.buffer_size, h.buffers_written), (65_536, 6));
    assert_eq!(h.tz_bias_minutes, -60);
    assert_eq!(st.buffers, 6);
    assert_eq!(st.providers.len(), 1);
    assert_eq!(st.providers.get("8e805eb3-6a8f-4a1e-90fa-a831d94e54a1"), Some(&19));
    assert!(st.problems.is_empty(), "{:?}", st.problems);
    let span = st.last_event_ns.unwrap() - st.first_event_ns.unwrap();
    assert_eq!(span, (2_746_063_072_708 - 2_745_533_591_102) * 100);
    assert!(st.first_event_ns.unwrap() >= h.start_ns && st.last_event_ns.unwrap() <= h.end_ns);
}

#[test]
fn real_files_cut_and_damaged_are_reported_not_panicking() {
    let src = std::fs::read(shared().join("etl/airbus__AMSITrace.etl")).unwrap();
    let path = common::tmp("cut.etl");
    // Cut in the middle of the third buffer.
    std::fs::write(&path, &src[..0x20000 + 1000]).unwrap();
    let mut rd = WinReader::open(&path).unwrap();
    while rd.next_packet().unwrap().is_some() {}
    let t = rd.stats().truncated.clone().unwrap();
    assert!(t.contains("65536-byte buffer at offset 131072"), "{t}");
    // An impossible buffer size in the second buffer: skipped by the nominal size.
    let mut b = src.clone();
    b[0x10000..0x10004].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    let mut rd = WinReader::open(&path).unwrap();
    while rd.next_packet().unwrap().is_some() {}
    let st = rd.stats();
    assert!(
        st.problems[0].contains("at byte 65536") && st.problems[0].contains("buffer size 7"),
        "{:?}",
        st.problems
    );
    assert_eq!(st.buffers, 5);
    // A record whose size runs past its buffer.
    let mut b = src;
    let first_rec = 0x10000 + 72;
    b[first_rec..first_rec + 2].copy_from_slice(&0xFFF0u16.to_le_bytes());
    std::fs::write(&path, &b).unwrap();
    let mut rd = WinReader::open(&path).unwrap();
    while rd.next_packet().unwrap().is_some() {}
    let p = &rd.stats().problems;
    assert!(p[0].contains(&format!("at byte {first_rec}")) && p[0].contains("runs past"), "{p:?}");
}
