//! Decoder tests on real packet bytes. Every frame comes from a capture file read at test
//! time; the comment at each use says which file and frame (tshark numbering).
//! Shared captures: /work/shared/captures (SOURCES.md); ours: tests/data (README.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use tracehound_wire::defrag::{Limits, Reassembler};
use tracehound_wire::{
    decode, decode_frame, ipv4, linktype, tcp, udp, DecodeError, Layer, Net, Transport, What,
};

fn shared(p: &str) -> PathBuf {
    Path::new(SHARED).join(p)
}
fn data(p: &str) -> PathBuf {
    Path::new(DATA).join(p)
}
fn frame(path: &Path, n: u64) -> Rec {
    read_records(path)
        .into_iter()
        .find(|r| r.number == n)
        .unwrap_or_else(|| panic!("{} has no frame {n}", path.display()))
}

#[test]
fn sack_four_blocks() {
    // tcp/zeek__option-sack.pcap frame 4: SYN with a SACK option of 4 blocks
    // (tshark: SLE=1 SRE=16 SLE=256 SRE=4096 SLE=65536 SRE=1048576 SLE=16777216 SRE=268435456).
    let r = frame(&shared("tcp/zeek__option-sack.pcap"), 4);
    let d = decode(r.link, &r.data).unwrap();
    let Transport::Tcp(s) = d.transport else { panic!("{:?}", d.transport) };
    assert_eq!(
        s.opts.sack_blocks(),
        &[(1, 16), (256, 4096), (65536, 1048576), (16777216, 268435456)]
    );
    assert!(!s.opts.malformed);
    // frames 1..3 carry 1, 2, 3 blocks
    for n in 1..=3u64 {
        let r = frame(&shared("tcp/zeek__option-sack.pcap"), n);
        let Transport::Tcp(s) = decode(r.link, &r.data).unwrap().transport else { panic!() };
        assert_eq!(s.opts.sack_len as u64, n);
    }
}

#[test]
fn snaplen_cut_inside_options() {
    // tcp/zeek__truncated-header.pcap frame 1: 68 of 74 bytes captured, the cut falls in the
    // TCP options; tshark still shows MSS=1460 SACK_PERM [Packet size limited during capture].
    let r = frame(&shared("tcp/zeek__truncated-header.pcap"), 1);
    assert!(r.data.len() < r.orig_len as usize);
    let d = decode_frame(r.link, &r.data, r.orig_len).unwrap();
    let ip = *d.net.ip().unwrap();
    let Transport::Tcp(s) = d.transport else { panic!("{:?}", d.transport) };
    assert!(s.header_cut);
    assert_eq!((s.opts.mss, s.opts.sack_permitted, s.opts.malformed), (Some(1460), true, false));
    assert_eq!(s.sport, 60827);
    assert_eq!(s.checksum_ok(&ip), None);
    // tcp/zeek__ctu-64702-888.pcap frame 3: a 60-byte frame with 6 bytes of Ethernet padding
    // after a 40-byte IP packet (tshark: ip.len 40): no payload.
    let r = frame(&shared("tcp/zeek__ctu-64702-888.pcap"), 3);
    assert_eq!(r.data.len(), 60);
    let d = decode(r.link, &r.data).unwrap();
    let ip = *d.net.ip().unwrap();
    let Transport::Tcp(s) = d.transport else { panic!() };
    assert_eq!((s.payload.len(), s.payload_wire_len), (0, 0));
    assert_eq!(s.checksum_ok(&ip), Some(true));
}

#[test]
fn vlan_tagged_real_frame_and_synthetic_qinq() {
    // dcerpc/dcerpc-request-http-response__input.pcap frame 1: 802.1Q tag, VLAN 6 (tshark).
    let r = frame(&shared("dcerpc/dcerpc-request-http-response__input.pcap"), 1);
    let d = decode(r.link, &r.data).unwrap();
    assert_eq!((d.vlans, d.vlan_id), (1, Some(6)));
    assert!(matches!(d.transport, Transport::Tcp(_)));
    // Add an 802.1ad S-tag (vid 100) in front of it: QinQ, same IP/TCP decode.
    let mut q = r.data[..12].to_vec();
    q.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64]);
    q.extend_from_slice(&r.data[12..]);
    let dq = decode(r.link, &q).unwrap();
    assert_eq!((dq.vlans, dq.vlan_id), (2, Some(100)));
    assert_eq!(dq.transport, d.transport);
    assert_eq!(dq.net.ip().unwrap().offset, 22);
}

/// A real Ethernet/IPv4/TCP frame re-framed for every link type gives the same decode.
#[test]
fn same_ip_packet_under_every_link_type() {
    // tcp/zeek__options.pcap frame 2: SYN-ACK with MSS 1380, WS 7, SACK_PERM, timestamps.
    let r = frame(&shared("tcp/zeek__options.pcap"), 2);
    assert_eq!(r.link, linktype::ETHERNET);
    let want = decode(r.link, &r.data).unwrap();
    let ip = &r.data[14..];
    let mut cases: Vec<(u32, Vec<u8>)> = Vec::new();
    for af in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
        cases.push((linktype::NULL, [&af[..], ip].concat()));
        cases.push((linktype::LOOP, [&af[..], ip].concat()));
    }
    for l in [linktype::RAW, linktype::IPV4, linktype::RAW_DLT12, linktype::RAW_DLT14] {
        cases.push((l, ip.to_vec()));
    }
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 8, 0];
    sll.extend_from_slice(ip);
    cases.push((linktype::LINUX_SLL, sll));
    let mut sll2 = vec![8, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    sll2.extend_from_slice(ip);
    cases.push((linktype::LINUX_SLL2, sll2));
    for (l, bytes) in &cases {
        let d = decode(*l, bytes).unwrap_or_else(|e| panic!("link {l}: {e}"));
        assert_eq!(d.transport, want.transport, "link {l}");
        let (a, b) = (d.net.ip().unwrap(), want.net.ip().unwrap());
        assert_eq!((a.src, a.dst, a.proto, a.ident), (b.src, b.dst, b.proto, b.ident));
    }
    // IPv6 under null with the three BSD AF_INET6 values, both byte orders:
    // tests/data/cooked-v1.pcap frame 13 (SYN over ::1) re-framed.
    let r6 = frame(&data("cooked-v1.pcap"), 13);
    let want6 = decode(r6.link, &r6.data).unwrap();
    assert!(matches!(want6.net, Net::Ipv6(_)));
    for af in [24u32, 28, 30] {
        for hdr in [af.to_le_bytes(), af.to_be_bytes()] {
            let b = [&hdr[..], &r6.data[16..]].concat();
            assert_eq!(decode(linktype::NULL, &b).unwrap().transport, want6.transport);
        }
    }
    assert_eq!(decode(linktype::IPV6, &r6.data[16..]).unwrap().transport, want6.transport);
    let e = decode(linktype::NULL, &[[7u8, 0, 0, 0].as_slice(), ip].concat()).unwrap_err();
    assert_eq!(e.to_string(), "null/loopback at offset 0: unknown address family 0x7");
    assert_eq!(decode(147, ip).unwrap_err().what, What::UnknownLinkType(147));
}

#[test]
fn cooked_v1_and_v2_agree() {
    // tests/data/cooked-v{1,2}.pcap: the same loopback traffic captured at once by two
    // tcpdump processes (make-cooked.sh); every frame decodes identically above the link.
    let a = read_records(&data("cooked-v1.pcap"));
    let b = read_records(&data("cooked-v2.pcap"));
    assert_eq!(a[0].link, linktype::LINUX_SLL);
    assert_eq!(b[0].link, linktype::LINUX_SLL2);
    assert_eq!(a.len(), b.len());
    let mut tcp = 0;
    for (x, y) in a.iter().zip(&b) {
        let (dx, dy) = (decode(x.link, &x.data).unwrap(), decode(y.link, &y.data).unwrap());
        assert_eq!(dx.transport, dy.transport, "frame {}", x.number);
        tcp += matches!(dx.transport, Transport::Tcp(_)) as usize;
    }
    assert!(tcp >= 20);
}

#[test]
fn icmp_errors_quote_the_offending_packet() {
    // tests/data/frags.pcap frame 35: ICMP port unreachable (3/3) from 10.91.0.2 quoting
    // the UDP datagram 10.91.0.1:49120 -> 10.91.0.2:9 (tshark); frame 39: ICMPv6
    // destination unreachable, port unreachable (1/4), quoting fd00:91::1 57972 -> 9.
    // Ports and types are read from tshark, not hard-coded.
    let path = data("frags.pcap");
    let rows = tshark_fields(
        &path,
        "icmp.type == 3 || icmpv6.type == 1",
        &["icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "udp.srcport", "udp.dstport"],
    );
    assert_eq!(rows.len(), 2);
    for (n, f) in rows {
        let r = frame(&path, n);
        let d = decode(r.link, &r.data).unwrap();
        let Transport::Icmp(m) = d.transport else { panic!("{:?}", d.transport) };
        let (t, c) = if m.v6 { (&f[2], &f[3]) } else { (&f[0], &f[1]) };
        assert_eq!((m.icmp_type.to_string(), m.code.to_string()), (t.clone(), c.clone()));
        assert!(m.is_error() && !m.admin_prohibited());
        let q = m.quoted.expect("quoted packet");
        let ip = d.net.ip().unwrap();
        assert_eq!((q.src, q.dst, q.proto), (ip.dst, ip.src, 17));
        assert_eq!(q.ports, Some((f[4].parse().unwrap(), f[5].parse().unwrap())));
    }
    // tests/data/cooked-v1.pcap frame 26: ICMP port unreachable over loopback, quoting
    // 127.0.0.1 -> 127.0.0.1 UDP port 18475 (make-cooked.sh sends to that port).
    let r = frame(&data("cooked-v1.pcap"), 26);
    let Transport::Icmp(m) = decode(r.link, &r.data).unwrap().transport else { panic!() };
    assert_eq!(m.quoted.unwrap().ports.unwrap().1, 18475);
    // tcp/zeek__timeout-with-pings.pcap frames 4, 5: raw-IP echo request / reply.
    for (n, ty) in [(4, 8u8), (5, 0)] {
        let r = frame(&shared("tcp/zeek__timeout-with-pings.pcap"), n);
        let Transport::Icmp(m) = decode(r.link, &r.data).unwrap().transport else { panic!() };
        assert_eq!((m.icmp_type, m.quoted, m.mtu), (ty, None, None));
    }
}

#[test]
fn icmp_admin_prohibited_and_mtu_from_real_header() {
    // Start from tests/data/frags.pcap frame 35 (ICMP port unreachable) and change the code
    // to 13 (communication administratively prohibited) and then to 3/4 with MTU 1400;
    // the quoted packet is unchanged.
    let r = frame(&data("frags.pcap"), 35);
    let icmp_at = 14 + 20;
    let mut b = r.data.clone();
    b[icmp_at + 1] = 13;
    let Transport::Icmp(m) = decode(r.link, &b).unwrap().transport else { panic!() };
    assert!(m.admin_prohibited());
    b[icmp_at + 1] = 4;
    b[icmp_at + 6..icmp_at + 8].copy_from_slice(&1400u16.to_be_bytes());
    let Transport::Icmp(m) = decode(r.link, &b).unwrap().transport else { panic!() };
    assert_eq!(m.mtu, Some(1400));
    assert!(m.quoted.unwrap().ports.is_some());
}

fn tshark_reassembled(path: &Path) -> Vec<(u64, usize)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-n",
            "-2",
            "-Y",
            "ip.reassembled.length || ipv6.reassembled.length",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "ip.reassembled.length",
            "-e",
            "ipv6.reassembled.length",
        ])
        .output()
        .expect("tshark required");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let len = if f[1].is_empty() { f[2] } else { f[1] };
            (f[0].parse().unwrap(), len.parse().unwrap())
        })
        .collect()
}

#[test]
fn reassembly_matches_tshark_lengths() {
    // tests/data/frags.pcap: real kernel fragments (make-frags.sh). tshark's reassembled
    // length, per completing frame, must equal ours; the reassembled transport must decode,
    // with a correct checksum.
    let path = data("frags.pcap");
    let want = tshark_reassembled(&path);
    assert_eq!(want.len(), 10, "4 ICMP echo v4, 4 v6, 2 UDP: {want:?}");
    let mut r = Reassembler::new(Limits::default());
    let mut got = Vec::new();
    let mut kinds = (0, 0);
    for rec in read_records(&path) {
        let d = decode_frame(rec.link, &rec.data, rec.orig_len).unwrap();
        let (Some(ip), Transport::Fragment { payload, .. }) = (d.net.ip(), d.transport) else {
            continue;
        };
        let f = ip.fragment.unwrap();
        if let Some(done) = r.push(ip.frag_key(), f.offset, f.more, payload, rec.ts_ns) {
            got.push((rec.number, done.data.len()));
            match done.transport() {
                Transport::Udp(u) => {
                    assert_eq!(u.payload.len(), 4000);
                    assert_eq!(u.checksum_ok_with(&ip.src, &ip.dst), Some(true));
                    kinds.0 += 1;
                }
                Transport::Icmp(m) => {
                    assert!(matches!(m.icmp_type, 8 | 0 | 128 | 129), "{m:?}");
                    assert_eq!(m.payload.len(), 3000);
                    kinds.1 += 1;
                }
                t => panic!("{t:?}"),
            }
        }
    }
    // tshark counts the IPv6 fragmentable part too, so the lengths compare directly.
    assert_eq!(got, want);
    assert_eq!(kinds, (2, 8));
    let s = r.stats();
    assert_eq!((s.completed, s.in_progress, s.bytes_in_use, s.overlaps), (10, 0, 0, 0));
}

#[test]
fn reassembly_out_of_order_and_duplicated_real_fragments() {
    // The same real fragments (tests/data/frags.pcap), pushed in reverse order with every
    // fragment twice: same datagrams, duplicates counted as overlaps without conflict.
    let path = data("frags.pcap");
    let mut frags = Vec::new();
    for rec in read_records(&path) {
        let d = decode(rec.link, &rec.data).unwrap();
        if let (Some(ip), Transport::Fragment { payload, .. }) = (d.net.ip(), d.transport) {
            frags.push((ip.frag_key(), ip.fragment.unwrap(), payload.to_vec()));
        }
    }
    assert_eq!(frags.len(), 30);
    let mut fwd = Reassembler::default();
    let mut a: Vec<Vec<u8>> = frags
        .iter()
        .filter_map(|(k, f, p)| fwd.push(*k, f.offset, f.more, p, 0).map(|x| x.data))
        .collect();
    let mut rev = Reassembler::default();
    let mut b = Vec::new();
    for (k, f, p) in frags.iter().rev() {
        for _ in 0..2 {
            if let Some(x) = rev.push(*k, f.offset, f.more, p, 0) {
                b.push(x.data);
            }
        }
    }
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let s = rev.stats();
    assert_eq!((s.overlap_conflicts, s.completed), (0, 10));
    assert_eq!(s.overlaps, 20, "each non-completing duplicate overlaps");
}

#[test]
fn ipv6_hop_by_hop_real() {
    // tests/data/frags.pcap frame 1: MLDv2 report, IPv6 hop-by-hop header then ICMPv6 143.
    let r = frame(&data("frags.pcap"), 1);
    let d = decode(r.link, &r.data).unwrap();
    let Net::Ipv6(ip) = d.net else { panic!() };
    assert_eq!((ip.proto, ip.header.len()), (58, 48));
    let Transport::Icmp(m) = d.transport else { panic!() };
    assert_eq!((m.v6, m.icmp_type), (true, 143));
}

#[test]
fn error_messages_say_layer_offset_and_what() {
    // tcp/zeek__options.pcap frame 1 with the IHL set to 4.
    let r = frame(&shared("tcp/zeek__options.pcap"), 1);
    let mut b = r.data.clone();
    b[14] = 0x44;
    assert_eq!(
        decode(r.link, &b).unwrap_err().to_string(),
        "ipv4 at offset 14: header length 4 words < 5"
    );
    b[14] = 0x4f; // 60-byte header, more than captured after options? (frame is 74 bytes: fits)
    b[16..18].copy_from_slice(&20u16.to_be_bytes());
    assert_eq!(
        decode(r.link, &b).unwrap_err().to_string(),
        "ipv4 at offset 14: total length 20 < header length 60"
    );
    let mut b = r.data.clone();
    b[14 + 20 + 12] = 0x40; // TCP data offset 4
    let d = decode(r.link, &b).unwrap();
    let Transport::Malformed { proto: 6, error, .. } = d.transport else {
        panic!("{:?}", d.transport)
    };
    assert_eq!(error.to_string(), "tcp at offset 46: header length 4 words < 5");
    assert_eq!(
        decode(r.link, &r.data[..20]).unwrap_err(),
        DecodeError { layer: Layer::Ipv4, offset: 14, what: What::Truncated { need: 20, have: 6 } }
    );
    let mut b = r.data.clone();
    b[14] = 0x65;
    assert_eq!(
        decode(r.link, &b).unwrap_err().to_string(),
        "ipv4 at offset 14: version 6, expected 4"
    );
}

#[test]
fn tso_zero_total_length() {
    // tcp/zeek__options.pcap frame 4 (104 bytes of payload, checksum good per tshark) with
    // the IPv4 total length zeroed, as TSO leaves it in captures taken on the sender:
    // payload = captured bytes.
    let r = frame(&shared("tcp/zeek__options.pcap"), 4);
    let d0 = decode(r.link, &r.data).unwrap();
    let Transport::Tcp(s0) = d0.transport else { panic!() };
    assert_eq!(s0.checksum_ok(d0.net.ip().unwrap()), Some(true));
    let mut b = r.data.clone();
    b[14 + 2] = 0;
    b[14 + 3] = 0;
    let d = decode(r.link, &b).unwrap();
    let ip = d.net.ip().unwrap();
    assert!(ip.total_len_zero);
    let Transport::Tcp(s) = d.transport else { panic!() };
    // This frame carries 4 bytes after the IP packet (FCS): with no IP length they cannot
    // be told apart from payload, so the payload is everything captured.
    assert_eq!(&s.payload[..s0.payload.len()], s0.payload);
    assert_eq!(s.payload.len(), r.data.len() - 14 - 20 - usize::from(s.header_len));
    assert_eq!(s.payload_wire_len as usize, s.payload.len());
    assert_eq!(s.checksum_ok(ip), None);
}

#[test]
fn reprs_round_trip_real_packets() {
    // tcp/zeek__options.pcap and tcp/zeek__ctu-64702-888.pcap (Ethernet; tshark: every TCP
    // checksum good): every IPv4 header and TCP segment parses into a Repr that emits
    // byte-identical headers (IPv4) / an equal Repr after re-parsing (TCP; our option order
    // differs from the senders'). (Loopback captures carry unfinished TCP checksums, so
    // they are not used here.) tests/data/frags.pcap frames 32-34's reassembled UDP
    // datagram emits byte-identical.
    let mut n_tcp = 0;
    let recs: Vec<Rec> = [shared("tcp/zeek__options.pcap"), shared("tcp/zeek__ctu-64702-888.pcap")]
        .iter()
        .flat_map(|f| read_records(f))
        .collect();
    for rec in recs {
        let ipb = &rec.data[14..];
        if ipb[0] >> 4 != 4 {
            continue;
        }
        let p = ipv4::Packet::new_checked(ipb).unwrap();
        assert!(p.verify_checksum(), "frame {}", rec.number);
        let repr = ipv4::Repr::parse(&p);
        let mut out = [0u8; 20];
        repr.emit(&mut out);
        assert_eq!(&out[..], p.header(), "frame {}", rec.number);
        if repr.protocol != 6 {
            continue;
        }
        let (src, dst) = (IpAddr::V4(repr.src), IpAddr::V4(repr.dst));
        let tp = tcp::Packet::new_checked(p.payload()).unwrap();
        if tp.options().malformed {
            continue;
        }
        let t = tcp::Repr::parse(&tp, &src, &dst).unwrap();
        let mut buf = vec![0u8; t.buffer_len()];
        t.emit(&mut buf, &src, &dst).unwrap();
        let t2 =
            tcp::Repr::parse(&tcp::Packet::new_checked(&buf[..]).unwrap(), &src, &dst).unwrap();
        assert_eq!(t, t2);
        n_tcp += 1;
    }
    assert!(n_tcp >= 18, "{n_tcp}");
    // UDP: reassemble frames 32-34 of frags.pcap, then parse/emit the datagram.
    let mut r = Reassembler::default();
    let mut dgram = None;
    for rec in
        read_records(&data("frags.pcap")).into_iter().filter(|r| (32..=34).contains(&r.number))
    {
        let d = decode(rec.link, &rec.data).unwrap();
        let ip = d.net.ip().unwrap();
        let Transport::Fragment { payload, .. } = d.transport else { panic!() };
        let f = ip.fragment.unwrap();
        dgram = r.push(ip.frag_key(), f.offset, f.more, payload, 0).or(dgram);
    }
    let dg = dgram.unwrap();
    let (src, dst) = (dg.key.src, dg.key.dst);
    let u = udp::Repr::parse(&udp::Packet::new_checked(&dg.data[..]).unwrap(), &src, &dst).unwrap();
    let mut out = vec![0u8; u.buffer_len()];
    u.emit(&mut out, &src, &dst).unwrap();
    assert_eq!(out, dg.data);
}

/// Every prefix of real frames (all link types we have) decodes or errors, never panics,
/// and what decodes never claims more captured bytes than the prefix holds.
#[test]
fn every_truncation_of_real_frames() {
    let mut files = vec![
        shared("tcp/zeek__options.pcap"),
        shared("tcp/zeek__option-sack.pcap"),
        shared("tcp/zeek__timeout-with-pings.pcap"),
        shared("dcerpc/dcerpc-request-http-response__input.pcap"),
        shared("dcerpc/dcerpc__dcerpc-udp-scapy__input.pcap"),
    ];
    files.extend(own_captures());
    let mut prefixes = 0usize;
    let mut errs = 0usize;
    for f in &files {
        for rec in read_records(f).iter().take(60) {
            for n in 0..=rec.data.len() {
                let cut = &rec.data[..n];
                prefixes += 1;
                match decode_frame(rec.link, cut, rec.orig_len) {
                    Err(e) => {
                        errs += 1;
                        assert!(e.offset <= n, "{e} for prefix {n}");
                    }
                    Ok(d) => {
                        let payload = match d.transport {
                            Transport::Tcp(s) => s.payload,
                            Transport::Udp(u) => u.payload,
                            Transport::Icmp(m) => m.payload,
                            Transport::Fragment { payload, .. } => payload,
                            Transport::Other { payload, .. } => payload,
                            Transport::Malformed { payload, .. } => payload,
                            Transport::None => &[],
                        };
                        assert!(payload.len() <= n);
                        if let Transport::Tcp(s) = d.transport {
                            assert!(s.payload.len() as u64 <= u64::from(s.payload_wire_len));
                        }
                    }
                }
                // the same bytes under every other link type: no panic
                for l in [0, 1, 12, 14, 101, 108, 113, 228, 229, 276] {
                    let _ = decode(l, cut);
                }
            }
        }
    }
    assert!(prefixes > 40_000 && errs > 4000, "{prefixes} {errs}");
}

#[test]
fn garbage_never_panics() {
    // Deterministic xorshift garbage, plus real frames with random bytes flipped.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let real = read_records(&data("frags.pcap"));
    let mut r = Reassembler::new(Limits { max_bytes: 1 << 20, ..Limits::default() });
    for i in 0..60_000u64 {
        let mut b: Vec<u8> = if i % 2 == 0 {
            let len = (next() % 200) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            real[(next() % real.len() as u64) as usize].data.clone()
        };
        for _ in 0..(next() % 6) {
            if !b.is_empty() {
                let at = (next() % b.len() as u64) as usize;
                b[at] = next() as u8;
            }
        }
        for l in [0, 1, 101, 108, 113, 228, 229, 276] {
            if let Ok(d) = decode(l, &b) {
                if let (Some(ip), Transport::Fragment { payload, .. }) = (d.net.ip(), d.transport) {
                    let f = ip.fragment.unwrap();
                    if let Some(done) = r.push(ip.frag_key(), f.offset, f.more, payload, i as i64) {
                        let _ = done.transport();
                    }
                }
            }
        }
    }
    assert!(r.stats().bytes_in_use <= 1 << 20);
}
