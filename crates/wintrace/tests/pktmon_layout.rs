//! PktMon, NDIS-PacketCapture and Kernel-Network events laid out as the published sources
//! give them (each test says which), carrying the packets of real captures from
//! shared/captures; tshark reads the converted pcapng as the oracle for per-flow counts.
//!
//! How these files differ from real ones: built by tests/common/etl.rs (see there); the
//! component names, ids and appearance paths imitate a Windows 10 laptop (a Wi-Fi miniport
//! under the Native WiFi filter, an Ethernet miniport under a filter, TCPIP on top) after
//! the `pktmon etl2txt` output of a real capture quoted in `pktmon_file` of
//! etl_synthetic.rs; the 802.11 frames are the Ethernet frames re-headed (to-DS, LLC/SNAP).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::etl::*;
use common::*;
use tracehound_wintrace::pcapng_out::convert;
use tracehound_wintrace::{Direction, WinReader};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn tshark_fields(path: &Path, fields: &[&str]) -> Vec<String> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(path).args(["-T", "fields", "-E", "separator=,"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("tshark is required");
    assert!(out.status.success(), "tshark failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// Packets per TCP/UDP flow (direction-independent), as tshark dissects `path`.
fn tshark_flow_counts(path: &Path) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    let f = ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"];
    for line in tshark_fields(path, &f) {
        let v: Vec<&str> = line.split(',').collect();
        let (a, b) = (format!("{}:{}{}", v[0], v[2], v[4]), format!("{}:{}{}", v[1], v[3], v[5]));
        if v[2].is_empty() && v[4].is_empty() {
            continue;
        }
        let key = if a < b { format!("{a} {b}") } else { format!("{b} {a}") };
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

/// An Ethernet frame as an 802.11 data frame (to-DS, LLC/SNAP), with the Protected flag
/// set when `protected`.
fn to_80211(eth: &[u8], protected: bool) -> Vec<u8> {
    let mut f = vec![0x08, if protected { 0x41 } else { 0x01 }, 0, 0];
    f.extend_from_slice(&eth[0..6]);
    f.extend_from_slice(&eth[6..12]);
    f.extend_from_slice(&eth[0..6]);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0]);
    f.extend_from_slice(&eth[12..]);
    f
}

const WIFI_NIC: u16 = 12;
const NWIFI: u16 = 13;
const ETH_NIC: u16 = 33;
const ETH_LWF: u16 = 32;
const TCPIP: u16 = 78;

/// One appearance: (component, PacketType, payload, time offset in ns).
type App = (u16, u16, Vec<u8>, i64);

/// The path of packet `i` of `recs`: even packets over Wi-Fi, odd over Ethernet; every
/// third one received. The appearance nearest the wire with an Ethernet payload is at the
/// packet's own time; appearances listed in path order.
fn path_of(i: usize, eth: &[u8]) -> (bool, Vec<App>) {
    let inbound = i % 3 != 1;
    let wifi = i % 2 == 0;
    let mut apps: Vec<App> = if wifi {
        vec![
            (WIFI_NIC, 2, to_80211(eth, false), -400),
            (NWIFI, 1, eth.to_vec(), 0),
            (TCPIP, 1, eth.to_vec(), 900),
        ]
    } else {
        vec![
            (ETH_NIC, 1, eth.to_vec(), 0),
            (ETH_LWF, 1, eth.to_vec(), 300),
            (TCPIP, 1, eth.to_vec(), 900),
        ]
    };
    if !inbound {
        apps.reverse();
        for a in &mut apps {
            a.3 = -a.3;
        }
    }
    (inbound, apps)
}

/// Every packet of `recs` at every component of its path, payloads cut at 128 bytes; the
/// appearances of neighbouring packets interleaved (the last two appearances of a packet
/// after the first of the next).
fn laptop_file(recs: &[Rec]) -> Vec<u8> {
    let t0 = recs[0].ts_ns;
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), t0 - 1_000_000_000, true);
    for (id, ty, name) in [
        (WIFI_NIC, 2, "Intel(R) Wi-Fi 6 AX201 160MHz"),
        (NWIFI, 3, "Native WiFi Filter"),
        (ETH_NIC, 2, "Intel(R) Ethernet Connection I219-V"),
        (ETH_LWF, 3, "WFP 802.3 MAC Layer LightWeight Filter"),
        (TCPIP, 4, "TCPIP"),
    ] {
        b.event(PKTMON, 20, 0, 0x2, t0, &pktmon_20(id, ty, name), false);
    }
    let mut later: Vec<(i64, Vec<u8>)> = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        let (inbound, apps) = path_of(i, &r.data);
        let dir = if inbound { 3 } else { 4 };
        let group = 562_949_953_421_500 + i as u64;
        for (k, (comp, ptype, payload, dt)) in apps.iter().enumerate() {
            let cut = &payload[..payload.len().min(128)];
            let orig = payload.len() as u16;
            let ev = pktmon_pkt(group, 1, k as u16 + 1, dir, *ptype, *comp, 0, orig, cut);
            if k == 0 {
                b.event(PKTMON, 160, 0, 0x10, r.ts_ns + dt, &ev, false);
                for (t, p) in later.drain(..) {
                    b.event(PKTMON, 160, 0, 0x10, t, &p, false);
                }
            } else {
                later.push((r.ts_ns + dt, ev));
            }
        }
    }
    for (t, p) in later.drain(..) {
        b.event(PKTMON, 160, 0, 0x10, t, &p, false);
    }
    b.finish()
}

#[test]
fn pktmon_wifi_and_ethernet_appearances_each_packet_once() {
    let src = shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap");
    let (_, recs) = read_pcap(&src);
    let etl = write("pktmon-laptop.etl", &laptop_file(&recs));
    let mut rd = WinReader::open(&etl).unwrap();
    let mut got = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        got.push((p.ts_ns, p.data.to_vec(), p.orig_len, p.link, p.interface, p.direction));
    }
    let st = rd.stats().clone();
    assert_eq!(got.len(), recs.len());
    for (i, (g, r)) in got.iter().zip(&recs).enumerate() {
        let (inbound, _) = path_of(i, &r.data);
        // The Ethernet appearance nearest the wire: its time, bytes cut at 128, original
        // length from OriginalPayloadSize, Ethernet link, the NIC (or the Wi-Fi filter).
        assert_eq!((g.0, &g.1[..], g.2), (r.ts_ns, &r.data[..r.data.len().min(128)], r.orig_len));
        assert_eq!(g.3, 1, "frame {}", i + 1);
        let want = if i % 2 == 0 {
            "pktmon:Native WiFi Filter (component 13)"
        } else {
            "pktmon:Intel(R) Ethernet Connection I219-V (component 33)"
        };
        assert_eq!(st.interfaces[g.4 as usize].name, want, "frame {}", i + 1);
        let dir = if inbound { Direction::Inbound } else { Direction::Outbound };
        assert_eq!(g.5, dir, "frame {}", i + 1);
    }
    assert_eq!(st.duplicate_appearances as usize, 2 * recs.len());
    assert_eq!(st.payload_truncated as usize, recs.iter().filter(|r| r.data.len() > 128).count());
    assert!(st.payload_truncated > 0);

    // Per-flow counts: tshark on the converted file = tshark on the source capture.
    let mut rd = WinReader::open(&etl).unwrap();
    let out = etl.with_extension("pcapng");
    convert(&mut rd, std::fs::File::create(&out).unwrap(), "t").unwrap();
    let want = tshark_flow_counts(&src);
    assert!(!want.is_empty());
    assert_eq!(tshark_flow_counts(&out), want);
    let lens = tshark_fields(&out, &["frame.len"]);
    let want_lens: Vec<String> = recs.iter().map(|r| r.orig_len.to_string()).collect();
    assert_eq!(lens, want_lens);

    // --all-appearances: every appearance, the 802.11 ones as 802.11.
    let mut rd = WinReader::open(&etl).unwrap();
    rd.set_all_appearances(true);
    let (mut n, mut wifi) = (0, 0);
    while let Some(p) = rd.next_packet().unwrap() {
        n += 1;
        wifi += usize::from(p.link == 105);
    }
    assert_eq!((n, wifi), (3 * recs.len(), recs.len().div_ceil(2)));
}

/// pktmon_pkt's layout with another PacketType / direction, for the later events.
fn flow_event(v6: bool, dir: u16, ptype: u16, comp: u16, reason: u32, payload: &[u8]) -> Vec<u8> {
    // jdu2600/Windows10EtwEvents manifest/Microsoft-Windows-PktMon.tsv, events 200–230:
    // DirTag, PacketType, ComponentId, EdgeId, FilterId (u16), DropReason, DropLocation
    // (u32), DestinationIP, SourceIP (UInt32 or 16-byte Binary), Protocol (u8),
    // DestinationPort, SourcePort, OriginalPayloadSize, LoggedPayloadSize (u16), Payload.
    let mut p = Vec::new();
    for v in [dir, ptype, comp, 1, 0] {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p.extend_from_slice(&reason.to_le_bytes());
    p.extend_from_slice(&0xE000_4500u32.to_le_bytes());
    let alen = if v6 { 16 } else { 4 };
    p.extend_from_slice(&vec![0xAB; 2 * alen]);
    p.push(6);
    p.extend_from_slice(&[0, 80, 0x12, 0x34]);
    p.extend_from_slice(&(payload.len() as u16 + 100).to_le_bytes());
    p.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    p.extend_from_slice(payload);
    p
}

#[test]
fn pktmon_later_events_versions_and_payload_types() {
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let t0 = recs[0].ts_ns;
    let ip = &recs[0].data[14..]; // the shared capture is Ethernet / IPv4
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), t0 - 1_000_000_000, false);
    b.event(PKTMON, 20, 0, 0x2, t0, &pktmon_20(10, 4, "TCPIP"), false);
    let p0 = pktmon_pkt(7, 1, 1, 3, 1, 10, 0, recs[0].data.len() as u16, &recs[0].data);
    b.event(PKTMON, 160, 0, 0x10, t0, &p0, false);
    // 240 "Duplicate Drop" of the same packet: an appearance, not a second drop.
    let dup = pktmon_pkt(7, 1, 2, 3, 1, 10, 1204, recs[0].data.len() as u16, &recs[0].data);
    b.event(PKTMON, 240, 0, 0x10, t0 + 10, &dup, false);
    // 210 (IPv4) and 230 (IPv6) drops without PktGroupId; 200 a packet without one.
    b.event(PKTMON, 210, 0, 0x10, t0 + 20, &flow_event(false, 3, 3, 10, 1204, ip), false);
    b.event(PKTMON, 230, 0, 0x10, t0 + 30, &flow_event(true, 4, 5, 10, 1209, &ip[20..]), false);
    b.event(PKTMON, 200, 0, 0x10, t0 + 40, &flow_event(false, 3, 3, 10, 0, ip), false);
    // A TCP-payload appearance (PacketType 5): no link layer.
    let l4 = pktmon_pkt(8, 1, 1, 4, 5, 10, 0, 20, &ip[20..40]);
    b.event(PKTMON, 160, 0, 0x10, t0 + 50, &l4, false);
    // Versions not in any manifest seen: reported, not guessed.
    b.event(PKTMON, 160, 1, 0x10, t0 + 60, &p0, false);
    b.event(PKTMON, 170, 2, 0x10, t0 + 60, &p0, false);
    b.event(PKTMON, 240, 1, 0x10, t0 + 60, &p0, false);
    // LoggedPayloadSize beyond the event: damaged, with the sizes.
    let mut short = p0.clone();
    short.truncate(60);
    b.event(PKTMON, 160, 0, 0x10, t0 + 70, &short, false);
    let etl = write("pktmon-later.etl", &b.finish());

    let mut rd = WinReader::open(&etl).unwrap();
    let mut n = 0;
    while rd.next_packet().unwrap().is_some() {
        n += 1;
    }
    let st = rd.stats();
    assert_eq!(n, 1);
    assert_eq!(st.duplicate_appearances, 1);
    let np = |k: &str| st.not_packets.get(k).copied().unwrap_or(0);
    assert_eq!(np("PktMon event 240 (duplicate drop report, not counted again)"), 1);
    assert_eq!(np("PktMon event 200 (packet without PktGroupId)"), 1);
    assert_eq!(np("PktMon event 210 (packet without PktGroupId)"), 1);
    assert_eq!(np("PktMon event 230 (packet without PktGroupId)"), 1);
    assert_eq!(np("PktMon packet of payload type 5 (no link layer)"), 1);
    for k in ["160 version 1", "170 version 2", "240 version 1"] {
        assert_eq!(np(&format!("PktMon event {k} (not known)")), 1, "{k}");
    }
    assert_eq!(st.skipped_damaged, 1);
    assert!(
        st.problems.iter().any(|p| p.contains("PktMon event 160: 60 bytes")),
        "{:?}",
        st.problems
    );
    assert_eq!(st.drops_total, 2);
    let (d4, d6) = (&st.drops[0], &st.drops[1]);
    assert_eq!(
        (d4.reason_name.as_str(), d4.link, d4.direction),
        ("INET_EndpointNotFound (1204)", 101, Direction::Inbound)
    );
    assert_eq!(d4.data, ip[..ip.len().min(128)].to_vec());
    assert_eq!(d4.orig_len as usize, ip.len() + 100);
    assert_eq!(
        (d6.reason_name.as_str(), d6.link, d6.direction),
        ("INET_ExpectedSyn (1209)", 0, Direction::Outbound)
    );
    assert_eq!(d6.location, 0xE000_4500);

    // --all-appearances: also the 240 appearance and the 200 / 210 IP packets.
    let mut rd = WinReader::open(&etl).unwrap();
    rd.set_all_appearances(true);
    let mut links = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        links.push(p.link);
    }
    assert_eq!(links, [1, 1, 101, 101]);
}

#[test]
fn ndis_cut_packets_keep_their_ip_length_and_802_11_is_unprotected() {
    // etl2pcapng src/main.c: original length from the IP header (ndiscap logs none), the
    // Protected flag cleared in 802.11 frames, 1002 metadata added to the next packet.
    let src = shared().join("dcerpc/dcerpc__dcerpc-ctxids__input.pcap");
    let (_, recs) = read_pcap(&src);
    const RECV: u64 = 0x2_0000_0000 | 0xC000_0000;
    let t0 = recs[0].ts_ns;
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), t0 - 1_000_000_000, true);
    for r in &recs {
        b.event(
            NDIS,
            1001,
            0,
            RECV,
            r.ts_ns,
            &ndis_1001(4, 4, &r.data[..r.data.len().min(64)]),
            false,
        );
    }
    let last = recs.last().unwrap().ts_ns;
    // Raw IP (wireless WAN), cut.
    let ip = &recs[3].data[14..];
    b.event(NDIS, 1001, 0, RECV | 0x200, last + 1, &ndis_1001(5, 5, &ip[..40]), false);
    // 802.11 with Protected set, then metadata followed by an Ethernet packet.
    let wifi = to_80211(&recs[3].data, true);
    b.event(NDIS, 1001, 0, RECV | 0x10000, last + 2, &ndis_1001(6, 6, &wifi), false);
    b.event(NDIS, 1002, 0, 0, last + 3, &ndis_1002(4, 7, 5200, -55, 130), false);
    b.event(NDIS, 1001, 0, RECV, last + 4, &ndis_1001(4, 4, &recs[3].data), false);
    let etl = write("ndis-cut.etl", &b.finish());

    let mut rd = WinReader::open(&etl).unwrap();
    let mut got = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        let (len, orig, link, fc1) = (p.data.len(), p.orig_len, p.link, p.data[1]);
        got.push((len, orig, link, fc1, rd.last_comment().map(str::to_string)));
    }
    assert_eq!(got.len(), recs.len() + 3);
    for (g, r) in got.iter().zip(&recs) {
        // Ethernet padding of short frames is not in the IP length: at most what was sent.
        let ip_len = 14 + usize::from(u16::from_be_bytes([r.data[16], r.data[17]]));
        assert_eq!((g.0, g.1 as usize), (r.data.len().min(64), ip_len.max(r.data.len().min(64))));
        assert_eq!(g.1 as usize, r.orig_len as usize);
    }
    let n = recs.len();
    assert_eq!((got[n].0, got[n].1 as usize, got[n].2), (40, ip.len(), 101));
    assert_eq!((got[n + 1].2, got[n + 1].3 & 0x40), (105, 0));
    assert_eq!(got[n + 2].2, 1);
    assert!(got[n + 2]
        .4
        .as_deref()
        .unwrap_or("")
        .starts_with("802.11n (7), 5200 MHz, RSSI -55 dBm, rate 65 Mb/s"));
    // tshark agrees on the original lengths.
    let mut rd = WinReader::open(&etl).unwrap();
    let out = etl.with_extension("pcapng");
    convert(&mut rd, std::fs::File::create(&out).unwrap(), "t").unwrap();
    let lens = tshark_fields(&out, &["frame.len"]);
    let want: Vec<String> = recs.iter().map(|r| r.orig_len.to_string()).collect();
    assert_eq!(&lens[..n], &want[..]);
}

#[test]
fn kernel_network_retransmit_and_ipv6_accept_name_the_process() {
    // jdu2600/Windows10EtwEvents manifest/Microsoft-Windows-Kernel-Network.tsv: 14 (IPv4
    // retransmit) and 31 (IPv6 accept) start PID, size, daddr, saddr, dport, sport.
    let (_, recs) = read_pcap(&shared().join("tcp/zeek__options.pcap"));
    let t0 = recs[0].ts_ns;
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), t0 - 1_000_000_000, false);
    let l4: std::net::SocketAddrV4 = "10.1.1.2:50000".parse().unwrap();
    let r4: std::net::SocketAddrV4 = "10.1.1.9:443".parse().unwrap();
    b.event(KNET, 14, 0, 0, t0, &knet_connect_v4(77, l4, r4)[..20], false);
    let mut v6 = Vec::new();
    v6.extend_from_slice(&88u32.to_le_bytes());
    v6.extend_from_slice(&0u32.to_le_bytes());
    let (l6, r6): (std::net::SocketAddrV6, std::net::SocketAddrV6) =
        ("[fe80::1]:445".parse().unwrap(), "[fe80::2]:50001".parse().unwrap());
    v6.extend_from_slice(&r6.ip().octets());
    v6.extend_from_slice(&l6.ip().octets());
    v6.extend_from_slice(&r6.port().to_be_bytes());
    v6.extend_from_slice(&l6.port().to_be_bytes());
    v6.extend_from_slice(&[0; 24]);
    b.event(KNET, 31, 0, 0, t0, &v6, false);
    b.event(KNET, 17, 0, 0, t0, &[6, 0, 1, 0], false);
    b.event(NDIS, 1001, 0, 0x2_C000_0000, t0, &ndis_1001(3, 3, &recs[0].data), false);
    let etl = write("knet-more.etl", &b.finish());
    let mut rd = WinReader::open(&etl).unwrap();
    while rd.next_packet().unwrap().is_some() {}
    let got: Vec<_> = rd.processes().iter().map(|p| (p.pid, p.local, p.remote)).collect();
    assert_eq!(
        got,
        [(77, Some(l4.into()), Some(r4.into())), (88, Some(l6.into()), Some(r6.into()))]
    );
    assert_eq!(rd.stats().not_packets.get("Kernel-Network event 17 version 0"), Some(&1));
}

/// Appearances of one packet far apart in the file (Windows writes a buffer stream per
/// processor): within [`tracehound_wintrace`]'s window the appearance nearest the wire is
/// still chosen; beyond it the packet is delivered once and the late appearance counted as
/// a duplicate, never delivered again. Every packet sent: TCPIP (appearance 1, 900 ns
/// earlier), then the NIC (appearance 2, at the packet's time).
#[test]
fn pktmon_appearances_far_apart_in_the_file_count_once() {
    let (_, recs) = read_pcap(&shared().join("dcerpc/dcerpc__zerologon__input.pcap"));
    assert!(recs.len() > 700);
    let t0 = recs[0].ts_ns;
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), t0 - 1_000_000_000, true);
    b.event(PKTMON, 20, 0, 0x2, t0, &pktmon_20(ETH_NIC, 2, "Intel(R) Ethernet"), false);
    b.event(PKTMON, 20, 0, 0x2, t0, &pktmon_20(TCPIP, 4, "TCPIP"), false);
    let ev = |i: usize, app: u16| {
        let r = &recs[i];
        let comp = if app == 1 { TCPIP } else { ETH_NIC };
        pktmon_pkt(i as u64 + 1, 1, app, 4, 1, comp, 0, r.data.len() as u16, &r.data)
    };
    let mut late: Vec<(usize, usize)> = Vec::new(); // (emit after packet k, packet i)
    for i in 0..recs.len() {
        b.event(PKTMON, 160, 0, 0x10, recs[i].ts_ns - 900, &ev(i, 1), false);
        match i {
            0 => late.push((recs.len() - 1, 0)), // beyond the window
            1 => late.push((201, 1)),            // 200 packets (400 events) later: within
            _ => b.event(PKTMON, 160, 0, 0x10, recs[i].ts_ns, &ev(i, 2), false),
        }
        for &(_, j) in late.iter().filter(|(k, _)| *k == i) {
            b.event(PKTMON, 160, 0, 0x10, recs[j].ts_ns, &ev(j, 2), false);
        }
    }
    let etl = write("pktmon-far-apart.etl", &b.finish());
    let mut rd = WinReader::open(&etl).unwrap();
    let mut got = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        got.push((p.ts_ns, p.interface));
    }
    let st = rd.stats();
    assert_eq!(got.len(), recs.len());
    assert_eq!(st.duplicate_appearances as usize, recs.len());
    let name = |i: usize| st.interfaces[got[i].1 as usize].name.as_str();
    assert_eq!((got[0].0, name(0)), (recs[0].ts_ns - 900, "pktmon:TCPIP (component 78)"));
    assert_eq!((got[1].0, name(1)), (recs[1].ts_ns, "pktmon:Intel(R) Ethernet (component 33)"));
    for i in 2..recs.len() {
        assert_eq!(got[i].0, recs[i].ts_ns, "packet {i}");
    }
}

/// `pktmon start --capture --comp nics`: only the network interfaces' appearances. A Wi-Fi
/// appearance (PacketType 2) is 802.11 or Ethernet as its bytes show (Microsoft's parser
/// dissects every PktMon payload as Ethernet; native 802.11 miniports hand 802.11 frames):
/// the Ethernet ones are counted per flow like any Ethernet packet.
#[test]
fn pktmon_wifi_payload_format_decides_the_link_type() {
    let src = shared().join("tcp/zeek__options.pcap");
    let (_, recs) = read_pcap(&src);
    let t0 = recs[0].ts_ns;
    let mut b = EtlBuilder::new(ClockKind::Qpc(10_000_000), t0 - 1_000_000_000, false);
    b.event(PKTMON, 20, 0, 0x2, t0, &pktmon_20(WIFI_NIC, 2, "Wi-Fi"), false);
    for (i, r) in recs.iter().enumerate() {
        let payload = if i == 0 { to_80211(&r.data, false) } else { r.data.clone() };
        let ev = pktmon_pkt(i as u64, 1, 1, 3, 2, WIFI_NIC, 0, payload.len() as u16, &payload);
        b.event(PKTMON, 160, 0, 0x10, r.ts_ns, &ev, false);
    }
    let etl = write("pktmon-nics-wifi.etl", &b.finish());
    let mut rd = WinReader::open(&etl).unwrap();
    let mut links = Vec::new();
    while let Some(p) = rd.next_packet().unwrap() {
        links.push(p.link);
    }
    assert_eq!(links.len(), recs.len());
    assert_eq!(links[0], 105);
    assert!(links[1..].iter().all(|&l| l == 1), "{links:?}");
    // tshark dissects both kinds: the per-flow counts of the source capture.
    let mut rd = WinReader::open(&etl).unwrap();
    let out = etl.with_extension("pcapng");
    convert(&mut rd, std::fs::File::create(&out).unwrap(), "t").unwrap();
    let got = tshark_flow_counts(&out);
    let want = tshark_flow_counts(&src);
    assert_eq!(got, want);
}
