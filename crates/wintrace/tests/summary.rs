//! The trace summary (`TraceSummary`, the `windows_trace` JSON object) and interfaces, on the
//! real ETL files Windows wrote (shared/captures/etl, see SOURCES.md in the shared captures)
//! and on synthetic files carrying real packets (tests/common says how they are built): every
//! documented field is present with the value the reader's own statistics hold, and a
//! two-adapter NDIS trace names both interfaces, each packet on the one its events gave.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::etl::*;
use common::*;
use serde_json::Value;
use tracehound_wintrace::{TraceSummary, WinReader};

fn read_all(path: &std::path::Path) -> (WinReader, Vec<u32>) {
    let mut rd = WinReader::open(path).unwrap();
    let mut ifaces = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        ifaces.push(p.interface);
    }
    (rd, ifaces)
}

fn summary_json(rd: &WinReader) -> Value {
    serde_json::to_value(TraceSummary::new(rd.stats(), rd.processes())).unwrap()
}

const KEYS: [&str; 14] = [
    "format",
    "files",
    "packets",
    "not_packets",
    "damaged",
    "problems",
    "truncated",
    "interfaces",
    "duplicate_appearances",
    "payload_truncated",
    "drops_total",
    "drops",
    "processes",
    "format",
];

#[test]
fn real_etl_summary_matches_the_header() {
    let p = shared().join("etl/airbus__lxcore_kernel.etl");
    let (rd, ifaces) = read_all(&p);
    assert!(ifaces.is_empty());
    let j = summary_json(&rd);
    for k in KEYS {
        assert!(j.get(k).is_some(), "{k} missing: {j}");
    }
    let e = &j["etl"];
    // The header values the etl_real test checks against the file's bytes.
    assert_eq!(e["os_version"], "10.0.19041");
    assert_eq!(e["clock"], "qpc");
    assert_eq!(e["processors"], 6);
    assert_eq!(e["perf_freq"], 10_000_000);
    assert_eq!(e["logger_name"], "lxcore_kernel");
    let st = rd.stats();
    assert_eq!(e["buffers"], st.buffers);
    assert_eq!(j["packets"], 0);
    let providers = j["providers"].as_array().unwrap();
    assert_eq!(providers.len(), st.providers.len());
    let events: u64 = providers.iter().map(|p| p["events"].as_u64().unwrap()).sum();
    assert_eq!(events, st.providers.values().sum::<u64>());
    let start = e["start"].as_f64().unwrap();
    assert!((start - st.etl.as_ref().unwrap().start_ns as f64 / 1e9).abs() < 1e-3);
}

#[test]
fn netmon_process_table_in_the_summary() {
    let p =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/wintrace/netmon23-process.cap");
    let (rd, ifaces) = read_all(std::path::Path::new(p));
    let j = summary_json(&rd);
    assert_eq!(j["format"], "netmon 2.3");
    assert!(j.get("etl").is_none());
    assert_eq!(j["packets"].as_u64().unwrap(), ifaces.len() as u64);
    let procs = j["processes"].as_array().unwrap();
    assert_eq!(procs.len(), rd.processes().len());
    assert_eq!(procs[0]["name"], "svchost.exe");
    assert_eq!(procs[0]["pid"], 1044);
    assert_eq!(procs[0]["local"], "10.0.0.1:49700");
    assert_eq!(procs[0]["remote"], "10.0.0.2:135");
}

/// NDIS-PacketCapture on two adapters (LowerIfIndex 12 and 7, the second under a filter
/// over miniport 5): two interfaces, each packet on its own, named as etl2pcapng does.
#[test]
fn two_adapter_ndis_trace_names_both_interfaces() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), recs[0].ts_ns - 1_000_000_000, true);
    let kw = 0x2_0000_0000 | 0xC000_0000;
    for (i, r) in recs.iter().enumerate() {
        let (mini, lower) = if i % 3 == 0 { (5, 7) } else { (12, 12) };
        b.event(NDIS, 1001, 0, kw, r.ts_ns, &ndis_1001(mini, lower, &r.data), false);
    }
    let path = tmp("two-adapters.etl");
    std::fs::write(&path, b.finish()).unwrap();
    let (rd, ifaces) = read_all(&path);
    assert_eq!(ifaces.len(), recs.len());
    let st = rd.stats();
    assert_eq!(st.interfaces.len(), 2);
    for (i, &k) in ifaces.iter().enumerate() {
        let want = if i % 3 == 0 { "eth:7" } else { "eth:12" };
        assert_eq!(st.interfaces[k as usize].name, want, "packet {i}");
    }
    let j = summary_json(&rd);
    let list = j["interfaces"].as_array().unwrap();
    assert_eq!(list[0]["index"], 0);
    assert_eq!(list[0]["name"], "eth:7");
    assert_eq!(list[0]["description"], "LWF over IfIndex 5");
    assert_eq!(list[1]["name"], "eth:12");
    assert_eq!(list[1]["link"], 1);
    assert_eq!(j["etl"]["compressed_buffers"].as_u64().unwrap(), st.compressed_buffers);
    assert!(st.compressed_buffers > 0);
    let ndis = j["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Microsoft-Windows-NDIS-PacketCapture");
    assert_eq!(ndis.unwrap()["events"].as_u64().unwrap(), recs.len() as u64);
}
