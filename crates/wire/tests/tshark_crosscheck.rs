//! Cross-check of `decode_frame` against tshark 4.0 for every TCP, UDP and ICMP packet of every shared
//! capture (/work/shared/captures, provenance in its SOURCES.md) and of our own captures
//! (tests/data, see its README).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use common::*;
use tracehound_wire::{decode_frame, Transport};

/// Fields asked of tshark, in this order (first occurrence of each).
const FIELDS: &[&str] = &[
    "ip.src",                      // 0
    "ip.dst",                      // 1
    "ipv6.src",                    // 2
    "ipv6.dst",                    // 3
    "tcp.srcport",                 // 4
    "tcp.dstport",                 // 5
    "tcp.seq_raw",                 // 6
    "tcp.ack_raw",                 // 7
    "tcp.flags",                   // 8
    "tcp.window_size_value",       // 9
    "tcp.len",                     // 10
    "tcp.options.mss_val",         // 11
    "tcp.options.wscale.shift",    // 12
    "tcp.options.sack_perm",       // 13
    "tcp.options.timestamp.tsval", // 14
    "tcp.options.timestamp.tsecr", // 15
    "udp.srcport",                 // 16
    "udp.dstport",                 // 17
    "udp.length",                  // 18
    "icmp.type",                   // 19
    "icmp.code",                   // 20
    "icmpv6.type",                 // 21
    "icmpv6.code",                 // 22
];

fn opt(v: Option<impl ToString>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn addr(f: &[String], i4: usize) -> (String, String) {
    if !f[i4].is_empty() {
        (f[i4].clone(), f[i4 + 1].clone())
    } else {
        (f[i4 + 2].clone(), f[i4 + 3].clone())
    }
}

#[derive(Default, Debug)]
struct Tally {
    tcp_compared: usize,
    udp_compared: usize,
    icmp_compared: usize,
    icmp_quotes_compared: usize,
    /// tshark shows the transport of a reassembled datagram on its last fragment; we report
    /// a fragment there.
    reassembled_by_tshark: usize,
    mismatches: Vec<String>,
}

fn check_file(path: &Path) -> Tally {
    let mut t = Tally::default();
    let recs = read_records(path);
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut ours: HashMap<u64, _> = HashMap::new();
    for r in &recs {
        if let Ok(d) = decode_frame(r.link, &r.data, r.orig_len) {
            ours.insert(r.number, d);
        }
    }
    let rows = tshark_fields(path, "tcp || udp || icmp || icmpv6", FIELDS);
    let mut seen_tcp = HashSet::new();
    let mut seen_udp = HashSet::new();
    for (n, f) in &rows {
        let Some(d) = ours.get(n) else {
            t.mismatches.push(format!("{name} #{n}: tshark decodes, we failed"));
            continue;
        };
        let Some(ip) = d.net.ip() else {
            t.mismatches.push(format!("{name} #{n}: tshark IP, we {:?}", d.net));
            continue;
        };
        if matches!(d.transport, Transport::Fragment { .. }) && ip.fragment.is_some() {
            t.reassembled_by_tshark += 1;
            continue;
        }
        let (src, dst) = addr(f, 0);
        let is_icmp = !f[19].is_empty() || !f[21].is_empty();
        if is_icmp {
            let Transport::Icmp(m) = &d.transport else {
                t.mismatches.push(format!("{name} #{n}: tshark icmp, we {:?}", d.transport));
                continue;
            };
            let (ty, code) = if m.v6 { (&f[21], &f[22]) } else { (&f[19], &f[20]) };
            let mine = (
                ip.src.to_string(),
                ip.dst.to_string(),
                m.icmp_type.to_string(),
                m.code.to_string(),
            );
            let theirs = (src, dst, ty.clone(), code.clone());
            if mine != theirs {
                t.mismatches.push(format!("{name} #{n}: icmp ours {mine:?} tshark {theirs:?}"));
            }
            // Quoted transport ports: tshark's first TCP/UDP port fields are the quoted ones.
            let tp = if !f[4].is_empty() {
                Some((&f[4], &f[5]))
            } else if !f[16].is_empty() {
                Some((&f[16], &f[17]))
            } else {
                None
            };
            if let Some((a, b)) = tp {
                let q = m.quoted.and_then(|q| q.ports).map(|(x, y)| (x.to_string(), y.to_string()));
                if q != Some((a.clone(), b.clone())) {
                    t.mismatches
                        .push(format!("{name} #{n}: quoted ports ours {q:?} tshark {a}/{b}"));
                }
                t.icmp_quotes_compared += 1;
            }
            t.icmp_compared += 1;
            continue;
        }
        if !f[4].is_empty() {
            seen_tcp.insert(*n);
            let Transport::Tcp(seg) = &d.transport else {
                t.mismatches.push(format!("{name} #{n}: tshark tcp, we {:?}", d.transport));
                continue;
            };
            let mine = vec![
                ip.src.to_string(),
                ip.dst.to_string(),
                seg.sport.to_string(),
                seg.dport.to_string(),
                seg.seq.to_string(),
                seg.ack.to_string(),
                format!("{:#04x}", seg.flags.0),
                seg.window.to_string(),
                seg.payload_wire_len.to_string(),
                opt(seg.opts.mss),
                opt(seg.opts.wscale),
                seg.opts.sack_permitted.to_string(),
                opt(seg.opts.ts.map(|x| x.0)),
                opt(seg.opts.ts.map(|x| x.1)),
            ];
            let flags = u16::from_str_radix(f[8].trim_start_matches("0x"), 16).unwrap() & 0xff;
            let theirs = vec![
                src,
                dst,
                f[4].clone(),
                f[5].clone(),
                f[6].clone(),
                f[7].clone(),
                format!("{flags:#04x}"),
                f[9].clone(),
                f[10].clone(),
                f[11].clone(),
                f[12].clone(),
                (!f[13].is_empty()).to_string(),
                f[14].clone(),
                f[15].clone(),
            ];
            if mine != theirs {
                t.mismatches.push(format!("{name} #{n}: tcp ours {mine:?} tshark {theirs:?}"));
            }
            t.tcp_compared += 1;
        } else if !f[16].is_empty() {
            seen_udp.insert(*n);
            let Transport::Udp(u) = &d.transport else {
                t.mismatches.push(format!("{name} #{n}: tshark udp, we {:?}", d.transport));
                continue;
            };
            let mine = vec![
                ip.src.to_string(),
                ip.dst.to_string(),
                u.sport.to_string(),
                u.dport.to_string(),
                u.length.to_string(),
            ];
            let theirs = vec![src, dst, f[16].clone(), f[17].clone(), f[18].clone()];
            if mine != theirs {
                t.mismatches.push(format!("{name} #{n}: udp ours {mine:?} tshark {theirs:?}"));
            }
            t.udp_compared += 1;
        }
    }
    for (n, d) in &ours {
        match d.transport {
            Transport::Tcp(_) if !seen_tcp.contains(n) => {
                t.mismatches.push(format!("{name} #{n}: we decode TCP, tshark does not"))
            }
            Transport::Udp(_) if !seen_udp.contains(n) => {
                t.mismatches.push(format!("{name} #{n}: we decode UDP, tshark does not"))
            }
            _ => {}
        }
    }
    t
}

#[test]
fn tcp_udp_icmp_fields_match_tshark_on_every_capture() {
    let mut files = shared_captures();
    files.extend(own_captures());
    // Two workers: tshark dominates the run time.
    let (a, b) = files.split_at(files.len() / 2);
    let parts: Vec<Tally> = std::thread::scope(|s| {
        let ha = s.spawn(|| a.iter().map(|f| check_file(f)).collect::<Vec<_>>());
        let hb = s.spawn(|| b.iter().map(|f| check_file(f)).collect::<Vec<_>>());
        let mut v = ha.join().unwrap();
        v.extend(hb.join().unwrap());
        v
    });
    let mut t = Tally::default();
    for p in parts {
        t.tcp_compared += p.tcp_compared;
        t.udp_compared += p.udp_compared;
        t.icmp_compared += p.icmp_compared;
        t.icmp_quotes_compared += p.icmp_quotes_compared;
        t.reassembled_by_tshark += p.reassembled_by_tshark;
        t.mismatches.extend(p.mismatches);
    }
    eprintln!(
        "files {} tcp {} udp {} icmp {} (quotes {}) reassembled-by-tshark {}",
        files.len(),
        t.tcp_compared,
        t.udp_compared,
        t.icmp_compared,
        t.icmp_quotes_compared,
        t.reassembled_by_tshark
    );
    for m in t.mismatches.iter().take(40) {
        eprintln!("{m}");
    }
    assert!(t.mismatches.is_empty(), "{} mismatches", t.mismatches.len());
    assert!(t.tcp_compared > 4_000, "too few TCP packets compared: {}", t.tcp_compared);
    assert!(t.udp_compared > 10, "too few UDP packets compared: {}", t.udp_compared);
    assert!(t.icmp_compared > 10 && t.icmp_quotes_compared >= 3, "{t:?}");
    assert!(t.reassembled_by_tshark >= 10, "frags.pcap completes 10 datagrams: {t:?}");
}

/// The Ethernet frames of `src` as 802.11 QoS data frames (to the AP, LLC/SNAP), written as a
/// pcap of link type 105, or 127 with an 8-byte radiotap header in front. No real 802.11
/// capture can be made here (no Wi-Fi driver or simulator in this kernel), so the frames are
/// built by rewriting the link header of real Ethernet captures, as a Wi-Fi adapter's driver
/// does: the network packets stay real.
fn as_wifi(src: &Path, radiotap: bool, out: &Path) -> usize {
    let link = if radiotap { 127u32 } else { 105 };
    let mut f = Vec::new();
    f.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    f.extend_from_slice(&2u16.to_le_bytes());
    f.extend_from_slice(&4u16.to_le_bytes());
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&262_144u32.to_le_bytes());
    f.extend_from_slice(&link.to_le_bytes());
    let mut n = 0;
    for (i, r) in read_records(src).iter().enumerate() {
        if r.link != 1 || r.data.len() < 14 {
            continue;
        }
        let mut w = Vec::new();
        if radiotap {
            w.extend_from_slice(&[0, 0, 8, 0, 0, 0, 0, 0]);
        }
        w.extend_from_slice(&[0x88, 0x01, 0, 0]);
        w.extend_from_slice(&r.data[0..6]); // addr1: the AP (BSSID), here the Ethernet destination
        w.extend_from_slice(&r.data[6..12]); // addr2: the sender
        w.extend_from_slice(&r.data[0..6]); // addr3: the destination
        w.extend_from_slice(&(((i as u16) & 0x0fff) << 4).to_le_bytes());
        w.extend_from_slice(&[0, 0]); // QoS control
        w.extend_from_slice(&[0xAA, 0xAA, 0x03, 0, 0, 0]);
        w.extend_from_slice(&r.data[12..]);
        let grow = w.len() - r.data.len();
        f.extend_from_slice(&((r.ts_ns / 1_000_000_000) as u32).to_le_bytes());
        f.extend_from_slice(&((r.ts_ns % 1_000_000_000 / 1000) as u32).to_le_bytes());
        f.extend_from_slice(&(w.len() as u32).to_le_bytes());
        f.extend_from_slice(&(r.orig_len + grow as u32).to_le_bytes());
        f.extend_from_slice(&w);
        n += 1;
    }
    std::fs::write(out, f).unwrap();
    n
}

#[test]
fn wifi_frames_match_tshark() {
    let dir = std::env::temp_dir().join(format!("tracehound-wire-wifi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut t = Tally::default();
    let mut frames = 0;
    for name in ["dcerpc/dcerpc__dcerpc-bind-no-frag-flag__input.pcap", "tcp/zeek__options.pcap"] {
        let src = Path::new(SHARED).join(name);
        for radiotap in [false, true] {
            let out = dir.join(format!("{}-{radiotap}.pcap", name.replace('/', "_")));
            frames += as_wifi(&src, radiotap, &out);
            let p = check_file(&out);
            t.tcp_compared += p.tcp_compared;
            t.udp_compared += p.udp_compared;
            t.mismatches.extend(p.mismatches);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    for m in t.mismatches.iter().take(20) {
        eprintln!("{m}");
    }
    assert!(t.mismatches.is_empty(), "{} mismatches", t.mismatches.len());
    assert!(frames > 20 && t.tcp_compared > 20, "{frames} frames, {} TCP compared", t.tcp_compared);
}
