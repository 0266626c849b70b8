//! Network Monitor 2.x reader against real bytes: the shared captures (pcap, see
//! shared/captures/SOURCES.md) converted by `editcap -F netmon2` (2.0 files Wireshark writes),
//! and 2.1/2.2/2.3 files built byte by byte here from the same pcaps (tests/common). tshark is
//! the oracle for both: it must read each file as the same frames our reader delivers, and
//! those must be the pcap's frames.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use common::*;
use tracehound_wintrace::{Direction, WinReader};

/// (ts_ns, orig_len, bytes, link, process pid) of every packet `WinReader` delivers.
/// (ts_ns, orig_len, bytes, link, pid) of one delivered packet.
type Got = (i64, u32, Vec<u8>, u32, Option<u32>);

fn ours(path: &Path) -> (Vec<Got>, WinReader) {
    let mut rd = WinReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut v = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        assert_eq!(p.direction, Direction::Unknown);
        v.push((p.ts_ns, p.orig_len, p.data.to_vec(), p.link, p.pid));
    }
    (v, rd)
}

fn editcap_netmon(src: &Path, dst: &Path) -> bool {
    Command::new("editcap")
        .env("TZ", "UTC")
        .args(["-F", "netmon2"])
        .arg(src)
        .arg(dst)
        .status()
        .expect("editcap (Wireshark) must be installed")
        .success()
}

#[test]
fn editcap_netmon2_files_match_the_pcaps_and_tshark() {
    let mut checked = 0;
    let mut tshark_checked = 0;
    let mut frames = 0;
    for dir in ["dcerpc", "tcp", "tls"] {
        let mut entries: Vec<_> =
            std::fs::read_dir(shared().join(dir)).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let src = e.path();
            if src.extension().is_none_or(|x| x != "pcap") {
                continue;
            }
            let (link, recs) = read_pcap(&src);
            if link != 1 {
                continue; // editcap writes NetMon 2.0 for Ethernet only
            }
            let cap = tmp(&format!("{}.cap", src.file_stem().unwrap().to_string_lossy()));
            assert!(editcap_netmon(&src, &cap), "editcap failed on {}", src.display());
            let (got, rd) = ours(&cap);
            assert_eq!(rd.stats().format, "netmon 2.0");
            assert_eq!(got.len(), recs.len(), "{}: frame count", src.display());
            // tshark (slow to start) on every fifth file; the pcap itself on all of them.
            let ts = if checked % 5 == 0 {
                let ts = tshark_frames(&cap);
                assert_eq!(ts.len(), got.len(), "{}: tshark frame count", cap.display());
                tshark_checked += 1;
                ts
            } else {
                got.iter().map(|g| (g.0, g.1, g.2.len() as u32)).collect()
            };
            for (i, ((g, r), t)) in got.iter().zip(&recs).zip(&ts).enumerate() {
                // NetMon 2.0 keeps microseconds.
                assert_eq!(g.0, r.ts_ns / 1000 * 1000, "{} frame {}: time", src.display(), i + 1);
                assert_eq!(g.0, t.0, "{} frame {}: time vs tshark", src.display(), i + 1);
                assert_eq!(
                    (g.1, g.2.len() as u32),
                    (t.1, t.2),
                    "{} frame {}",
                    src.display(),
                    i + 1
                );
                assert_eq!(g.1, r.orig_len);
                assert_eq!(g.2, r.data, "{} frame {}: bytes", src.display(), i + 1);
                assert_eq!(g.3, 1);
            }
            checked += 1;
            frames += got.len();
        }
    }
    assert!(checked >= 40 && frames > 1000, "only {checked} files / {frames} frames checked");
    assert!(tshark_checked >= 8);
}

fn frames_from(recs: &[Rec], network: u16) -> Vec<NmFrame> {
    recs.iter()
        .enumerate()
        .map(|(i, r)| NmFrame {
            ts_ns: r.ts_ns,
            orig_len: r.orig_len,
            data: r.data.clone(),
            network,
            process: (i % 2) as u32,
        })
        .collect()
}

fn procs() -> Vec<NmProcess> {
    vec![
        NmProcess {
            path: r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE".into(),
            pid: 4242,
            local: "192.168.1.10:50123".parse().unwrap(),
            remote: "192.168.1.1:135".parse().unwrap(),
        },
        NmProcess {
            path: r"C:\Windows\System32\svchost.exe".into(),
            pid: 1044,
            local: "[fe80::1]:49700".parse().unwrap(),
            remote: "[fe80::2]:445".parse().unwrap(),
        },
    ]
}

#[test]
fn built_2_1_to_2_3_files_with_holes_and_process_tables_match_tshark() {
    let sources = [
        ("dcerpc/dcerpc__dcerpc-ctxids__input.pcap", 1u16),
        // Raw IPv4 pcap (LINKTYPE 228) stored as a converted-pcap frame: 0xE000 | 228.
        ("dcerpc/dcerpc__dcerpc-dcepayload-15__input.pcap", 0xE000 | 228),
        ("tcp/zeek__payload-syn.pcap", 0),
    ];
    for (src, network) in sources {
        let (link, recs) = read_pcap(&shared().join(src));
        let network = if network == 0 { 0xE000 | link as u16 } else { network };
        for minor in 1..=3u8 {
            let frames = frames_from(&recs, network);
            let start = recs[0].ts_ns - 2_000_000_000;
            let bytes = write_netmon(minor, start, &frames, &procs(), 7);
            let cap = tmp(&format!("built-{minor}-{}.cap", recs.len()));
            std::fs::write(&cap, &bytes).unwrap();
            let (got, rd) = ours(&cap);
            assert_eq!(rd.stats().format, format!("netmon 2.{minor}"));
            let ts = tshark_frames(&cap);
            assert_eq!(got.len(), recs.len(), "{src} 2.{minor}");
            assert_eq!(ts.len(), recs.len(), "{src} 2.{minor}: tshark");
            for (i, ((g, r), t)) in got.iter().zip(&recs).zip(&ts).enumerate() {
                let want_ts = if minor >= 3 { r.ts_ns / 100 * 100 } else { r.ts_ns / 1000 * 1000 };
                assert_eq!(g.0, want_ts, "{src} 2.{minor} frame {}", i + 1);
                assert_eq!(g.0, t.0, "{src} 2.{minor} frame {}: tshark time", i + 1);
                assert_eq!((g.1, g.2.len() as u32), (t.1, t.2));
                assert_eq!(g.2, r.data);
                assert_eq!(g.3, u32::from(network & 0x0FFF).max(if network == 1 { 1 } else { 0 }));
                let want_pid = if minor >= 2 { Some([4242, 1044][i % 2]) } else { None };
                assert_eq!(g.4, want_pid, "{src} 2.{minor} frame {}: pid", i + 1);
            }
            if minor >= 2 {
                let p = rd.processes();
                assert_eq!(p.len(), 2);
                assert_eq!(p[0].name, "OUTLOOK.EXE");
                assert_eq!(p[0].local, Some("192.168.1.10:50123".parse::<SocketAddr>().unwrap()));
                assert_eq!(p[1].remote, Some("[fe80::2]:445".parse::<SocketAddr>().unwrap()));
                let hit = rd.process_for(
                    "192.168.1.1:135".parse().unwrap(),
                    "192.168.1.10:50123".parse().unwrap(),
                );
                assert_eq!(hit.map(|p| p.pid), Some(4242));
            } else {
                assert!(rd.processes().is_empty());
            }
        }
    }
}

#[test]
fn metadata_frames_are_counted_not_delivered() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let mut frames = frames_from(&recs, 1);
    let meta = |network: u16| NmFrame {
        ts_ns: recs[0].ts_ns,
        orig_len: 8,
        data: vec![0; 8],
        network,
        process: 0,
    };
    frames.insert(1, meta(0xFFFD));
    frames.insert(3, meta(0xFFFE));
    frames.push(meta(0xFFE0));
    frames.push(meta(0xE083));
    let bytes = write_netmon(3, recs[0].ts_ns, &frames, &[], 0);
    let cap = tmp("meta.cap");
    std::fs::write(&cap, bytes).unwrap();
    let (got, rd) = ours(&cap);
    assert_eq!(got.len(), recs.len());
    let np = &rd.stats().not_packets;
    assert_eq!(np.get("network info frame (type 0xfffd)"), Some(&1), "{np:?}");
    assert_eq!(np.get("DNS cache frame (type 0xfffe)"), Some(&1));
    assert_eq!(np.get("ETW event frame (type 0xffe0)"), Some(&1));
    assert_eq!(np.get("Message Analyzer WFP capture (not decoded) (type 0xe083)"), Some(&1));
}

#[test]
fn chn_set_is_read_as_one_capture_in_order() {
    let src = shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap");
    let (_, recs) = read_pcap(&src);
    assert!(recs.len() >= 6);
    let dir = tmp("chn");
    std::fs::create_dir_all(&dir).unwrap();
    let third = recs.len() / 3;
    let parts = [&recs[..third], &recs[third..2 * third], &recs[2 * third..]];
    let names = ["trace.cap", "trace(1).cap", "trace(2).cap"];
    for (part, name) in parts.iter().zip(names) {
        let frames = frames_from(part, 1);
        std::fs::write(dir.join(name), write_netmon(3, part[0].ts_ns, &frames, &procs(), 0))
            .unwrap();
    }
    let (got, rd) = ours(&dir.join("trace.chn"));
    assert_eq!(rd.stats().files, 3);
    assert_eq!(got.len(), recs.len());
    for (g, r) in got.iter().zip(&recs) {
        assert_eq!(g.2, r.data);
    }
    // Each file's process indexes refer to its own table.
    assert_eq!(rd.processes().len(), 6);
    assert_eq!(got[third].4, Some(4242));
}

#[test]
fn hostile_headers_and_frames_are_reported_with_positions() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let frames = frames_from(&recs, 1);
    let good = write_netmon(3, recs[0].ts_ns, &frames, &procs(), 3);
    let cap = tmp("hostile.cap");
    // Truncated header.
    std::fs::write(&cap, &good[..60]).unwrap();
    let e = WinReader::open(&cap).err().unwrap().to_string();
    assert!(e.contains("inside the 128-byte Network Monitor header"), "{e}");
    // Frame table beyond the file.
    let mut b = good.clone();
    b[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&cap, &b).unwrap();
    let e = WinReader::open(&cap).err().unwrap().to_string();
    assert!(e.contains("at byte 24") && e.contains("frame table"), "{e}");
    // One table entry pointing outside the file, one frame claiming a huge length: both
    // skipped and described, every other frame still read.
    let mut b = good.clone();
    let ft = u32::from_le_bytes(b[24..28].try_into().unwrap()) as usize;
    b[ft..ft + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let second = u32::from_le_bytes(b[ft + 4..ft + 8].try_into().unwrap()) as usize;
    b[second + 12..second + 16].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
    std::fs::write(&cap, &b).unwrap();
    let (got, rd) = ours(&cap);
    assert_eq!(got.len(), recs.len() - 2);
    let st = rd.stats();
    assert_eq!(st.skipped_damaged, 2);
    assert!(
        st.problems[0].contains("at byte 4294967280 (frame table entry 1)"),
        "{:?}",
        st.problems
    );
    assert!(
        st.problems[1].contains(&format!("at byte {second} (frame table entry 2)")),
        "{:?}",
        st.problems
    );
    // A process table whose path size is absurd: reported, frames still read.
    let mut b = good;
    let pt = u32::from_le_bytes(b[48..52].try_into().unwrap()) as usize;
    b[pt + 2..pt + 6].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
    std::fs::write(&cap, &b).unwrap();
    let (got, rd) = ours(&cap);
    assert_eq!(got.len(), recs.len());
    assert!(rd.processes().is_empty());
    assert!(rd.stats().problems[0].contains("path size"), "{:?}", rd.stats().problems);
}

#[test]
fn fuzz_finding_process_index_beyond_a_short_table() {
    // Found by fuzz/fuzz_targets/wintrace_netmon.rs: the header promises more process
    // entries than the table holds; frames' indexes into the missing part must not resolve.
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/wintrace"))
        .join("fuzz-netmon-short-process-table.cap");
    let mut rd = WinReader::open(&p).unwrap();
    let mut n = 0;
    while let Ok(Some(pk)) = rd.next_packet() {
        let i = pk.process;
        n += 1;
        if let Some(i) = i {
            assert!((i as usize) < rd.processes().len());
        }
    }
    assert!(n > 0);
}
