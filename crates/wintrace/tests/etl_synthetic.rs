//! Synthetic ETL files (tests/common/etl.rs says exactly how they differ from files Windows
//! writes) carrying the packets of real captures from shared/captures: each clock type,
//! compressed and plain buffers, NDIS-PacketCapture 1001/1002/1003 and PktMon 20/160/170.
//! Each is converted to pcapng and read back by tshark (the oracle), which must see the
//! source capture's frames: count, times to the nanosecond, lengths and bytes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::Command;

use common::etl::*;
use common::*;
use tracehound_wintrace::pcapng_out::convert;
use tracehound_wintrace::{Direction, WinReader};

const ETH_RECV: u64 = 0x2_0000_0000 | 0xC000_0000;
const ETH_SEND: u64 = 0x1_0000_0000 | 0xC000_0000;

fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = tmp(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Converts `etl` to pcapng, then to a nanosecond pcap with editcap, and returns the
/// frames tshark and editcap saw, plus the converted pcapng's path.
fn convert_and_read(
    etl: &Path,
    tshark: bool,
) -> (Vec<Rec>, Vec<(i64, u32, u32)>, std::path::PathBuf) {
    let mut rd = WinReader::open(etl).unwrap();
    let out = etl.with_extension("pcapng");
    let f = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    let (_sum, w) = convert(&mut rd, f, "tracehound test").unwrap();
    drop(w);
    let pcap = etl.with_extension("pcap");
    let ok =
        Command::new("editcap").args(["-F", "nsecpcap"]).arg(&out).arg(&pcap).status().unwrap();
    assert!(ok.success(), "editcap could not read {}", out.display());
    let ts = if tshark { tshark_frames(&out) } else { Vec::new() };
    (read_pcap(&pcap).1, ts, out)
}

fn tshark_field(path: &Path, field: &str) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-T", "fields", "-e", field])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// NDIS 1001 events for every frame of `recs` (direction alternating); frame 3 is split in
/// three events (start / middle / end); events of another provider are interleaved.
fn ndis_file(recs: &[Rec], clock: ClockKind, compressed: bool) -> Vec<u8> {
    let mut b = EtlBuilder::new(clock, recs[0].ts_ns - 5_000_000_000, compressed);
    b.buffer_size = 16 * 1024; // many buffers
    for (i, r) in recs.iter().enumerate() {
        let kw = if i % 2 == 0 { ETH_RECV } else { ETH_SEND };
        if i == 3 && r.data.len() > 20 {
            let dir = kw & 0x3_0000_0000;
            let (a, rest) = r.data.split_at(10);
            let (m, z) = rest.split_at(5);
            b.event(NDIS, 1001, 0, dir | 0x4000_0000, r.ts_ns, &ndis_1001(12, 12, a), false);
            b.event(NDIS, 1001, 0, dir, r.ts_ns, &ndis_1001(12, 12, m), true);
            b.event(NDIS, 1001, 0, dir | 0x8000_0000, r.ts_ns, &ndis_1001(12, 12, z), false);
        } else {
            b.event(NDIS, 1001, 0, kw, r.ts_ns, &ndis_1001(12, 12, &r.data), i % 5 == 0);
        }
        if i % 4 == 1 {
            b.event(OTHER, 42, 1, 0, r.ts_ns, b"not a packet", false);
        }
    }
    b.finish()
}

#[test]
fn ndis_packet_capture_each_clock_compressed_and_not() {
    let (_, recs) = read_pcap(&shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap"));
    let clocks = [ClockKind::Qpc(10_000_000), ClockKind::SystemTime, ClockKind::Cycles(3000)];
    for clock in clocks {
        for compressed in [false, true] {
            let name = format!("ndis-{clock:?}-{compressed}.etl").replace(['(', ')'], "");
            let etl = write(&name, &ndis_file(&recs, clock, compressed));
            let mut rd = WinReader::open(&etl).unwrap();
            let mut dirs = Vec::new();
            while let Some(p) = rd.next_packet().unwrap() {
                dirs.push(p.direction);
                assert_eq!(p.pid, None, "the event header's PID must not be used");
            }
            let st = rd.stats();
            assert_eq!(st.packets as usize, recs.len(), "{name}");
            assert!(st.problems.is_empty(), "{name}: {:?}", st.problems);
            assert_eq!(st.compressed_buffers > 0, compressed, "{name}");
            assert!(st.buffers > 10);
            assert_eq!(st.etl.as_ref().unwrap().tz_bias_minutes, -120);
            assert_eq!(st.interfaces.len(), 1);
            assert_eq!(st.interfaces[0].name, "eth:12");
            assert_eq!(dirs[0], Direction::Inbound);
            assert_eq!(dirs[1], Direction::Outbound);
            let others = st.providers.get("11112222-3333-4444-0506-0708090a0b0c").copied();
            assert_eq!(others, Some(recs.len().div_ceil(4) as u64));
            let (back, ts, out) = convert_and_read(&etl, compressed);
            assert_eq!(back.len(), recs.len(), "{name}");
            for (i, (b, r)) in back.iter().zip(&recs).enumerate() {
                assert_eq!(b.data, r.data, "{name} frame {}", i + 1);
                assert_eq!(b.ts_ns, r.ts_ns, "{name} frame {}", i + 1);
            }
            if !compressed {
                continue; // tshark (slow to start) on the compressed variants only
            }
            assert_eq!(ts.len(), recs.len());
            for (i, (t, r)) in ts.iter().zip(&recs).enumerate() {
                assert_eq!(t.0, r.ts_ns, "{name} frame {}: tshark time", i + 1);
                assert_eq!(t.2 as usize, r.data.len());
            }
            let dir = tshark_field(&out, "frame.packet_flags_direction");
            assert_eq!(&dir[..2], ["0x00000001", "0x00000002"], "{name}");
            assert_eq!(tshark_field(&out, "frame.interface_name")[0], "eth:12");
        }
    }
}

#[test]
fn kernel_network_connect_events_name_the_process() {
    let (_, recs) =
        read_pcap(&shared().join("dcerpc/dcerpc__dcerpc-bind-no-frag-flag__input.pcap"));
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), recs[0].ts_ns - 1_000_000_000, true);
    let local = "10.10.0.100:54640".parse().unwrap();
    let remote = "10.10.0.20:135".parse().unwrap();
    b.event(KNET, 12, 0, 0, recs[0].ts_ns, &knet_connect_v4(4242, local, remote), false);
    b.event(KNET, 12, 0, 0, recs[0].ts_ns, &knet_connect_v4(4242, local, remote), false);
    for r in &recs {
        b.event(NDIS, 1001, 0, ETH_RECV, r.ts_ns, &ndis_1001(3, 3, &r.data), false);
    }
    let etl = write("knet.etl", &b.finish());
    let mut rd = WinReader::open(&etl).unwrap();
    while rd.next_packet().unwrap().is_some() {}
    assert_eq!(rd.processes().len(), 1);
    let p = rd.process_for(remote.into(), local.into()).unwrap();
    assert_eq!(p.pid, 4242);
    assert!(rd
        .process_for("10.10.0.100:54634".parse().unwrap(), "10.10.0.20:445".parse().unwrap())
        .is_none());
    assert_eq!(rd.stats().not_packets.get("Kernel-Network connection event"), Some(&2));
    // In the pcapng, the packets of that connection (and only those) name the process.
    let mut rd = WinReader::open(&etl).unwrap();
    let out = etl.with_extension("pcapng");
    convert(&mut rd, std::fs::File::create(&out).unwrap(), "t").unwrap();
    let ports = tshark_field(&out, "tcp.port");
    let comments = tshark_field(&out, "frame.comment");
    assert_eq!(ports.len(), recs.len());
    let mut named = 0;
    for (p, c) in ports.iter().zip(&comments) {
        let ours = p == "54640,135" || p == "135,54640";
        assert_eq!(c == "pid 4242", ours, "port {p}: {c:?}");
        named += usize::from(ours);
    }
    assert!(named >= 10);
}

/// An Ethernet frame as an 802.11 data frame (to-DS, LLC/SNAP), as a Wi-Fi miniport
/// reports it in native 802.11 mode.
fn to_80211(eth: &[u8]) -> Vec<u8> {
    let mut f = vec![0x08, 0x01, 0, 0];
    f.extend_from_slice(&eth[0..6]); // BSSID / receiver
    f.extend_from_slice(&eth[6..12]); // source
    f.extend_from_slice(&eth[0..6]); // destination
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0]);
    f.extend_from_slice(&eth[12..]);
    f
}

#[test]
fn ndis_wifi_metadata_and_vmswitch() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), recs[0].ts_ns - 1_000_000_000, true);
    b.event(NDIS, 1002, 0, 0x10000, recs[0].ts_ns, &ndis_1002(7, 7, 5200, -55, 130), false);
    b.event(
        NDIS,
        1001,
        0,
        ETH_RECV | 0x10000,
        recs[0].ts_ns,
        &ndis_1001(7, 7, &to_80211(&recs[0].data)),
        false,
    );
    for r in &recs[1..] {
        b.event(NDIS, 1003, 0, ETH_SEND, r.ts_ns, &ndis_1003(21, 3, 42, &r.data), false);
    }
    b.event(NDIS, 1001, 1, ETH_SEND, recs[0].ts_ns, &ndis_1001(7, 7, b"v1"), false);
    let etl = write("wifi-vm.etl", &b.finish());
    let (_, ts, out) = {
        let mut rd = WinReader::open(&etl).unwrap();
        let out = etl.with_extension("pcapng");
        let (sum, _) = convert(&mut rd, std::fs::File::create(&out).unwrap(), "t").unwrap();
        assert_eq!(sum.packets as usize, recs.len());
        assert_eq!(sum.interfaces, 2);
        let st = rd.stats();
        assert_eq!(
            st.not_packets.get("NDIS-PacketCapture event 1001 version 1 (not known)"),
            Some(&1)
        );
        assert_eq!(st.interfaces[1].name, "vNIC:Synthetic:vm-port-7:21:42");
        (0, tshark_frames(&out), out)
    };
    assert_eq!(ts.len(), recs.len());
    let protos = tshark_field(&out, "frame.protocols");
    assert!(protos[0].starts_with("wlan:llc:ip:tcp"), "{}", protos[0]);
    assert!(protos[1].starts_with("eth:ethertype:ip:tcp"), "{}", protos[1]);
    let comments = tshark_field(&out, "frame.comment");
    assert_eq!(
        comments[0],
        "802.11n (7), 5200 MHz, RSSI -55 dBm, rate 65 Mb/s, 1 MPDUs, flags 0x0"
    );
    assert_eq!(comments[1], "");
    let names = tshark_field(&out, "frame.interface_name");
    assert_eq!(
        (names[0].as_str(), names[1].as_str()),
        ("wifi:7", "vNIC:Synthetic:vm-port-7:21:42")
    );
}

/// PktMon: each packet logged at three components (ids 10 and 11 are upper layers, 1 the
/// miniport), appearances of neighbouring packets interleaved, payloads cut at `cut` bytes.
fn pktmon_file(recs: &[Rec], cut: usize) -> Vec<u8> {
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), recs[0].ts_ns - 1_000_000_000, true);
    b.event(PKTMON, 20, 0, 0, recs[0].ts_ns, &pktmon_20(1, 2, "Intel(R) Ethernet"), false);
    b.event(PKTMON, 20, 0, 0, recs[0].ts_ns, &pktmon_20(10, 4, "TCPIP"), false);
    b.event(PKTMON, 20, 0, 0, recs[0].ts_ns, &pktmon_20(11, 3, "WFP filter"), false);
    let mut pending: Vec<(i64, Vec<u8>)> = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        let group = 1000 + i as u64;
        let logged = &r.data[..r.data.len().min(cut)];
        let orig = r.data.len() as u16;
        let inbound = i % 3 != 1;
        // (component, dir tag, time offset): wire appearance at the packet's own time. Every
        // appearance carries Rx / Tx, as `pktmon etl2txt` of a real capture shows them
        // ("Appearance 1, Direction Tx, … Component 78", …, "Appearance 4, Direction Tx, …
        // Component 33", the NIC; a received packet's Appearance 1 is at the NIC).
        let seq: [(u16, u16, i64); 3] = if inbound {
            [(1, 3, 0), (11, 3, 1000), (10, 3, 2000)]
        } else {
            [(10, 4, -2000), (11, 4, -1000), (1, 4, 0)]
        };
        for (k, (comp, dir, dt)) in seq.iter().enumerate() {
            let payload = pktmon_pkt(group, 1, k as u16 + 1, *dir, 1, *comp, 0, orig, logged);
            pending.push((r.ts_ns + dt, payload));
        }
        // Emit all but the last appearance now, so that packets interleave.
        let keep = pending.pop().unwrap();
        for (t, p) in pending.drain(..) {
            b.event(PKTMON, 160, 0, 0, t, &p, false);
        }
        pending.push(keep);
    }
    for (t, p) in pending.drain(..) {
        b.event(PKTMON, 160, 0, 0, t, &p, false);
    }
    b.event(PKTMON, 160, 1, 0, recs[0].ts_ns, b"future version", false);
    b.finish()
}

#[test]
fn pktmon_each_packet_once_nearest_the_wire() {
    let (_, recs) = read_pcap(&shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap"));
    let etl = write("pktmon.etl", &pktmon_file(&recs, usize::MAX));
    let (back, ts, out) = convert_and_read(&etl, true);
    assert_eq!(back.len(), recs.len());
    for (i, (b, r)) in back.iter().zip(&recs).enumerate() {
        assert_eq!((b.ts_ns, &b.data), (r.ts_ns, &r.data), "frame {}", i + 1);
    }
    assert_eq!(ts.len(), recs.len());
    let names = tshark_field(&out, "frame.interface_name");
    assert!(
        names.iter().all(|n| n == "pktmon:Intel(R) Ethernet (component 1)"),
        "{:?}",
        &names[..3]
    );
    let mut rd = WinReader::open(&etl).unwrap();
    while rd.next_packet().unwrap().is_some() {}
    let st = rd.stats();
    assert_eq!(st.duplicate_appearances as usize, 2 * recs.len());
    assert_eq!(st.not_packets.get("PktMon event 160 version 1 (not known)"), Some(&1));
    assert_eq!(st.not_packets.get("PktMon event 20 (component)"), Some(&3));
    // --all-appearances: every appearance.
    let mut rd = WinReader::open(&etl).unwrap();
    rd.set_all_appearances(true);
    let mut n = 0;
    while rd.next_packet().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 3 * recs.len());
}

#[test]
fn pktmon_truncated_payloads_and_drops() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let mut bytes = pktmon_file(&recs[..recs.len() - 1], 128);
    // The last packet appears only in a drop event (INET_EndpointNotFound at a TCP location).
    let last = recs.last().unwrap();
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), recs[0].ts_ns - 1_000_000_000, false);
    b.event(PKTMON, 20, 0, 0, last.ts_ns, &pktmon_20(10, 4, "TCPIP"), false);
    let cut = &last.data[..last.data.len().min(128)];
    b.event(
        PKTMON,
        170,
        0,
        0,
        last.ts_ns,
        &pktmon_pkt(9, 1, 1, 1, 1, 10, 1204, last.data.len() as u16, cut),
        false,
    );
    let extra = b.finish();
    // Append its event buffer (not its header buffer) to the first file.
    bytes.extend_from_slice(&extra[16 * 1024 * 4..]);
    let etl = write("pktmon-drop.etl", &bytes);
    let mut rd = WinReader::open(&etl).unwrap();
    let mut lens = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        lens.push((p.data.len(), p.orig_len));
    }
    assert_eq!(lens.len(), recs.len());
    for ((cap, orig), r) in lens.iter().zip(&recs) {
        assert_eq!((*cap, *orig as usize), (r.data.len().min(128), r.data.len()));
    }
    let st = rd.stats();
    // Counted per packet delivered, not per appearance.
    assert_eq!(st.payload_truncated as usize, recs.iter().filter(|r| r.data.len() > 128).count());
    assert_eq!(st.drops_total, 1);
    let d = &st.drops[0];
    assert_eq!(d.component, "TCPIP (component 10)");
    assert_eq!(d.reason_name, "INET_EndpointNotFound (1204)");
    assert_eq!(d.location, 0xE000_4500);
    assert_eq!(d.direction, Direction::Inbound);
}

#[test]
fn hostile_etl_events_and_buffers() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), recs[0].ts_ns, false);
    // A fragment claiming 2 GiB.
    let mut huge = ndis_1001(1, 1, &recs[0].data);
    huge[8..12].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    b.event(NDIS, 1001, 0, ETH_RECV, recs[0].ts_ns, &huge, false);
    b.event(NDIS, 1001, 0, ETH_RECV, recs[1].ts_ns, &ndis_1001(1, 1, &recs[1].data), false);
    // PktMon event shorter than its fixed fields, and one whose logged size lies.
    b.event(PKTMON, 160, 0, 0, recs[0].ts_ns, &[1, 2, 3], false);
    let mut lie = pktmon_pkt(1, 1, 1, 3, 1, 1, 0, 60, &recs[2].data[..60]);
    lie[32..34].copy_from_slice(&9000u16.to_le_bytes());
    b.event(PKTMON, 160, 0, 0, recs[0].ts_ns, &lie, false);
    let bytes = b.finish();
    let etl = write("hostile.etl", &bytes);
    let mut rd = WinReader::open(&etl).unwrap();
    let mut n = 0;
    while rd.next_packet().unwrap().is_some() {
        n += 1;
    }
    let st = rd.stats();
    assert_eq!(n, 1);
    assert_eq!(st.skipped_damaged, 3, "{:?}", st.problems);
    assert!(st.problems[0].contains("fragment says 2147483648 bytes"), "{:?}", st.problems);

    // A compressed buffer whose data expands beyond its declared (saved) size.
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), recs[0].ts_ns, true);
    for r in &recs {
        b.event(NDIS, 1001, 0, ETH_RECV, r.ts_ns, &ndis_1001(1, 1, &r.data), false);
    }
    let mut bytes = b.finish();
    let second = 64 * 1024;
    let saved = u32::from_le_bytes(bytes[second + 4..second + 8].try_into().unwrap());
    bytes[second + 4..second + 8].copy_from_slice(&(saved - 100).to_le_bytes());
    let etl = write("hostile-z.etl", &bytes);
    let mut rd = WinReader::open(&etl).unwrap();
    while rd.next_packet().unwrap().is_some() {}
    let st = rd.stats();
    assert_eq!(st.packets, 0);
    assert!(
        st.problems[0].contains(&format!("at byte {second}"))
            && st.problems[0].contains("beyond the declared size"),
        "{:?}",
        st.problems
    );

    // Cut anywhere: never a panic, never an error for a cut inside a buffer.
    for cut in [0, 10, 71, 72, 100, 1000, bytes.len() - 1] {
        let etl = write("cut.etl", &bytes[..cut]);
        if let Ok(mut rd) = WinReader::open(&etl) {
            while let Ok(Some(_)) = rd.next_packet() {}
        }
    }
}

/// Regenerates the small synthetic files in tests/fixtures/wintrace (fuzz seeds, examples):
/// `cargo test -p tracehound-wintrace --test etl_synthetic -- --ignored`.
#[test]
#[ignore]
fn regenerate_fixtures() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/wintrace"));
    std::fs::create_dir_all(dir).unwrap();
    let (_, recs) =
        read_pcap(&shared().join("dcerpc/dcerpc__dcerpc-bind-no-frag-flag__input.pcap"));
    std::fs::write(
        dir.join("ndis-qpc-compressed.etl"),
        ndis_file(&recs, ClockKind::Qpc(10_000_000), true),
    )
    .unwrap();
    std::fs::write(dir.join("ndis-systemtime.etl"), ndis_file(&recs, ClockKind::SystemTime, false))
        .unwrap();
    std::fs::write(dir.join("pktmon-cut128.etl"), pktmon_file(&recs, 128)).unwrap();
    let frames: Vec<NmFrame> = recs
        .iter()
        .map(|r| NmFrame {
            ts_ns: r.ts_ns,
            orig_len: r.orig_len,
            data: r.data.clone(),
            network: 1,
            process: 0,
        })
        .collect();
    let procs = vec![NmProcess {
        path: r"C:\Windows\System32\svchost.exe".into(),
        pid: 1044,
        local: "10.0.0.1:49700".parse().unwrap(),
        remote: "10.0.0.2:135".parse().unwrap(),
    }];
    std::fs::write(
        dir.join("netmon23-process.cap"),
        write_netmon(3, recs[0].ts_ns, &frames, &procs, 5),
    )
    .unwrap();
}
