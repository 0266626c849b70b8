//! Cross-check of `decode` against tshark 4.0 for every TCP and UDP packet of every shared
//! capture (/work/shared/captures, provenance in its SOURCES.md) and of our own captures
//! (tests/data, see its README).

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::*;
use tracehound_wire::{decode_frame, Net, Transport};

const TCP_FIELDS: &[&str] = &[
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.len",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
];

const UDP_FIELDS: &[&str] =
    &["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport", "udp.length"];

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
    /// tshark shows the transport of a reassembled datagram on its last fragment; we report
    /// a fragment there.
    reassembled_by_tshark: usize,
    mismatches: Vec<String>,
}

fn check_file(path: &Path, t: &mut Tally) {
    let recs = read_records(path);
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let mut ours: HashMap<u64, _> = HashMap::new();
    for r in &recs {
        if let Ok(d) = decode_frame(r.link, &r.data, r.orig_len) {
            ours.insert(r.number, d);
        }
    }
    // --- TCP ---
    let rows = tshark_fields(path, "tcp && !icmp && !icmpv6", TCP_FIELDS);
    let mut seen = std::collections::HashSet::new();
    for (n, f) in &rows {
        seen.insert(*n);
        let Some(d) = ours.get(n) else {
            t.mismatches.push(format!("{name} #{n}: tshark tcp, we failed to decode"));
            continue;
        };
        let ip = d.net.ip().unwrap();
        let seg = match &d.transport {
            Transport::Tcp(s) => s,
            Transport::Fragment { .. } if ip.fragment.is_some() => {
                t.reassembled_by_tshark += 1;
                continue;
            }
            other => {
                t.mismatches.push(format!("{name} #{n}: tshark tcp, we {other:?}"));
                continue;
            }
        };
        let (src, dst) = addr(f, 0);
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
    }
    for (n, d) in &ours {
        if matches!(d.transport, Transport::Tcp(_)) && !seen.contains(n) {
            t.mismatches.push(format!("{name} #{n}: we decode TCP, tshark does not"));
        }
    }
    // --- UDP ---
    let rows = tshark_fields(path, "udp && !icmp && !icmpv6", UDP_FIELDS);
    let mut seen = std::collections::HashSet::new();
    for (n, f) in &rows {
        seen.insert(*n);
        let Some(d) = ours.get(n) else {
            t.mismatches.push(format!("{name} #{n}: tshark udp, we failed to decode"));
            continue;
        };
        let Some(ip) = d.net.ip() else {
            t.mismatches.push(format!("{name} #{n}: tshark udp, we {:?}", d.net));
            continue;
        };
        let u = match &d.transport {
            Transport::Udp(u) => u,
            Transport::Fragment { .. } if ip.fragment.is_some() => {
                t.reassembled_by_tshark += 1;
                continue;
            }
            other => {
                t.mismatches.push(format!("{name} #{n}: tshark udp, we {other:?}"));
                continue;
            }
        };
        let (src, dst) = addr(f, 0);
        let mine = vec![
            ip.src.to_string(),
            ip.dst.to_string(),
            u.sport.to_string(),
            u.dport.to_string(),
            u.length.to_string(),
        ];
        let theirs = vec![src, dst, f[4].clone(), f[5].clone(), f[6].clone()];
        if mine != theirs {
            t.mismatches.push(format!("{name} #{n}: udp ours {mine:?} tshark {theirs:?}"));
        }
        t.udp_compared += 1;
    }
    for (n, d) in &ours {
        if matches!(d.transport, Transport::Udp(_)) && !seen.contains(n) {
            t.mismatches.push(format!("{name} #{n}: we decode UDP, tshark does not"));
        }
        if let Net::Other { ethertype, .. } = d.net {
            let _ = ethertype;
        }
    }
}

#[test]
fn tcp_and_udp_fields_match_tshark_on_every_capture() {
    let mut t = Tally::default();
    let mut files = shared_captures();
    files.extend(own_captures());
    for f in &files {
        check_file(f, &mut t);
    }
    eprintln!(
        "files {} tcp compared {} udp compared {} reassembled-by-tshark {}",
        files.len(),
        t.tcp_compared,
        t.udp_compared,
        t.reassembled_by_tshark
    );
    for m in t.mismatches.iter().take(40) {
        eprintln!("{m}");
    }
    assert!(t.mismatches.is_empty(), "{} mismatches", t.mismatches.len());
    assert!(t.tcp_compared > 4_000, "too few TCP packets compared: {}", t.tcp_compared);
    assert!(t.udp_compared > 10, "too few UDP packets compared: {}", t.udp_compared);
}
