//! Hostile and awkward input: truncated records, lying lengths, huge BER lengths, gaps,
//! every PDU split into 1-byte segments, caps. Errors become issues with frame numbers;
//! nothing panics, nothing grows without bound.

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use tracehound_apps::{AppAnalyzer, AppConfig, AppReport, TlsOutcome};
use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};

/// ClientHello record: /work/shared/captures/tls/zeek__tls-1.2-handshake-failure.pcap,
/// frame 4 (TCP payload, 178 bytes).
const CLIENT_HELLO: &str = "16030100ad010000a90303aaa3b6e3259f9c61ee29dde42820a73799972d6bf61ac2ea385a92c8ec5dae2f000012c010c006c015c00bc001003b0002000100ff020100006d000b000403000102000a00340032000e000d0019000b000c00180009000a00160017000800060007001400150004000500120013000100020003000f0010001100230000000d0020001e060106020603050105020503040104020403030103020303020102020203000f000101";
/// Alert record from the same capture, frame 6: fatal handshake_failure.
const ALERT: &str = "15030300020228";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn flow(port: u16) -> FlowInfo {
    FlowInfo {
        id: 7,
        proto: Proto::Tcp,
        orig: "10.0.0.1:50000".parse().unwrap(),
        resp: format!("10.0.0.2:{port}").parse().unwrap(),
    }
}

fn feed(cfg: AppConfig, f: &FlowInfo, chunks: &[(Dir, &[u8])]) -> AppReport {
    let mut a = AppAnalyzer::new(cfg);
    let mut off = [0u64; 2];
    for (i, (d, c)) in chunks.iter().enumerate() {
        a.tcp_data(f, *d, off[d.idx()], c, i as u64 + 1, Timestamp(i as i64 * 1_000_000));
        off[d.idx()] += c.len() as u64;
    }
    a.tcp_end(f, Timestamp(1_000_000_000));
    a.finish()
}

#[test]
fn real_client_hello_and_alert() {
    let ch = hex(CLIENT_HELLO);
    let al = hex(ALERT);
    assert_eq!(ch.len(), 178);
    let r = feed(AppConfig::default(), &flow(443), &[(Dir::Orig, &ch), (Dir::Resp, &al)]);
    let s = &r.tls[0];
    assert_eq!(s.client_hello.as_ref().unwrap().cipher_count, 9);
    assert_eq!(s.outcome, TlsOutcome::Alert);
    assert_eq!(s.failing_alert().unwrap().frame, 2);
    assert!(r.issues.is_empty());
}

#[test]
fn every_truncation_of_a_client_hello() {
    let ch = hex(CLIENT_HELLO);
    for n in 0..ch.len() {
        let r = feed(AppConfig::default(), &flow(443), &[(Dir::Orig, &ch[..n])]);
        for s in &r.tls {
            assert!(s.client_hello.is_none(), "prefix {n} parsed as a whole hello");
        }
    }
    // the hello body cut short inside a complete record: an error with its offset, no panic
    let mut short = ch.clone();
    short.truncate(5 + 60);
    short[3..5].copy_from_slice(&60u16.to_be_bytes());
    short[6..9].copy_from_slice(&[0, 0, 56]);
    let r = feed(AppConfig::default(), &flow(443), &[(Dir::Orig, &short)]);
    assert!(
        r.issues.iter().any(|i| i.what.contains("ClientHello") && i.what.contains("offset")),
        "{:?}",
        r.issues
    );
}

#[test]
fn lying_lengths_become_issues() {
    // record length beyond 2^14+2048
    let mut ch = hex(CLIENT_HELLO);
    ch[3..5].copy_from_slice(&0xffffu16.to_be_bytes());
    let r = feed(
        AppConfig::default(),
        &flow(443),
        &[(Dir::Orig, &ch), (Dir::Orig, &hex(CLIENT_HELLO))],
    );
    assert!(r.tls.is_empty() || r.tls[0].client_hello.is_none());
    // handshake message claiming 16 MiB
    let mut ch = hex(CLIENT_HELLO);
    ch[6..9].copy_from_slice(&[0xff, 0xff, 0xff]);
    let r = feed(AppConfig::default(), &flow(443), &[(Dir::Orig, &ch)]);
    assert!(r.issues.iter().any(|i| i.what.contains("claims")), "{:?}", r.issues);
    assert!(r.tls[0].lost_sync);
    // an SMB2 NetBIOS header claiming 16 MiB, then garbage: skipped, never buffered
    let mut smb = vec![0u8, 0xff, 0xff, 0xff, 0xfe, b'S', b'M', b'B', 64, 0];
    smb.extend(std::iter::repeat_n(0u8, 54));
    let junk = vec![0x41u8; 100_000];
    let r = feed(
        AppConfig::default(),
        &flow(445),
        &[(Dir::Orig, &smb), (Dir::Orig, &junk), (Dir::Orig, &junk)],
    );
    assert_eq!(r.stats.smb2_flows, 1);
    assert_eq!(r.stats.buffer_overflows, 0);
    // LDAP with a 4-byte BER length of 0xffffffff: an issue naming the length
    let ldap = [0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01, 0x60, 0x00];
    let r = feed(AppConfig::default(), &flow(389), &[(Dir::Orig, &ldap)]);
    assert!(
        r.issues.iter().any(|i| i.what.contains("LDAP") && i.what.contains("BER length")),
        "{:?}",
        r.issues
    );
    // HTTP header that never ends: an issue once the header cap is passed, buffer bounded
    let mut req = b"GET / HTTP/1.1\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'a', 40_000));
    let r = feed(AppConfig::default(), &flow(80), &[(Dir::Orig, &req)]);
    assert!(r.issues.iter().any(|i| i.what.contains("no end of header")), "{:?}", r.issues);
}

#[test]
fn dns_pointer_loop_on_port_53() {
    let mut a = AppAnalyzer::new(AppConfig::default());
    let f = FlowInfo {
        id: 1,
        proto: Proto::Udp,
        orig: "10.0.0.1:4000".parse().unwrap(),
        resp: "10.0.0.2:53".parse().unwrap(),
    };
    // header (1 question) then a name that points at itself
    let msg = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1];
    a.udp(&f, Dir::Orig, &msg, 5, Timestamp(0));
    let r = a.finish();
    assert!(r.dns.is_empty());
    assert_eq!(r.issues[0].frame, 5);
    assert!(r.issues[0].what.contains("compression pointers"), "{}", r.issues[0].what);
}

#[test]
fn caps_are_counted() {
    let cfg = AppConfig { max_dns_queries: 3, max_issues: 2, ..Default::default() };
    let mut a = AppAnalyzer::new(cfg);
    let f = FlowInfo {
        id: 1,
        proto: Proto::Udp,
        orig: "10.0.0.1:4000".parse().unwrap(),
        resp: "10.0.0.2:53".parse().unwrap(),
    };
    for i in 0..10u16 {
        let mut q = vec![0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a' + i as u8, 0, 0, 1, 0, 1];
        q[..2].copy_from_slice(&i.to_be_bytes());
        a.udp(&f, Dir::Orig, &q, i as u64, Timestamp(0));
        a.udp(&f, Dir::Orig, &[1, 2, 3], 100 + i as u64, Timestamp(0));
    }
    let r = a.finish();
    assert_eq!(r.dns.len(), 3);
    assert_eq!(r.stats.dns_dropped, 7);
    assert_eq!(r.issues.len(), 2);
    assert_eq!(r.stats.issues_dropped, 8);
    // stream buffer cap
    let cfg = AppConfig { stream_cap: 1000, ..Default::default() };
    let mut big = hex(CLIENT_HELLO);
    big[3..5].copy_from_slice(&16000u16.to_be_bytes());
    big.extend(std::iter::repeat_n(0u8, 2000));
    let r = feed(cfg, &flow(443), &[(Dir::Orig, &big)]);
    assert_eq!(r.stats.buffer_overflows, 1);
    assert!(r.issues.iter().any(|i| i.what.contains("buffered")));
    // all connections together: two half TLS records of 600 bytes each, cap 1000
    let cfg = AppConfig { total_buffer_cap: 1000, ..Default::default() };
    let mut a = AppAnalyzer::new(cfg);
    let half = &big[..600];
    let (f1, mut f2) = (flow(443), flow(443));
    f2.id = 8;
    a.tcp_data(&f1, Dir::Orig, 0, half, 1, Timestamp(0));
    a.tcp_data(&f2, Dir::Orig, 0, half, 2, Timestamp(0));
    // the first connection ends: its bytes are released, a third one fits again
    a.tcp_end(&f1, Timestamp(1));
    let mut f3 = flow(443);
    f3.id = 9;
    a.tcp_data(&f3, Dir::Orig, 0, half, 3, Timestamp(2));
    let r = a.finish();
    assert_eq!(r.stats.buffer_overflows, 1);
    assert!(
        r.issues.iter().any(|i| i.frame == 2 && i.what.contains("all connections")),
        "{:?}",
        r.issues
    );
    assert!(!r.issues.iter().any(|i| i.frame == 3));
}

#[test]
fn gap_stops_following_a_direction() {
    let mut a = AppAnalyzer::new(AppConfig::default());
    let f = flow(443);
    let ch = hex(CLIENT_HELLO);
    a.tcp_data(&f, Dir::Orig, 0, &ch[..50], 1, Timestamp(0));
    a.tcp_gap(&f, Dir::Orig, 50, 20, 2, Timestamp(1));
    a.tcp_data(&f, Dir::Orig, 70, &ch[70..], 3, Timestamp(2));
    let r = a.finish();
    assert!(r.tls[0].lost_sync);
    assert!(r.tls[0].client_hello.is_none());
    assert_eq!(r.stats.gaps, 1);
    assert!(r.issues.iter().any(|i| i.frame == 2 && i.what.contains("not captured")));
}

/// Splits every TCP chunk into 1-byte pieces (same frame and time) before the analyzer.
struct Bytewise(AppAnalyzer);

impl StreamHandler for Bytewise {
    fn tcp_data(&mut self, f: &FlowInfo, d: Dir, o: u64, data: &[u8], n: u64, ts: Timestamp) {
        for (i, b) in data.iter().enumerate() {
            self.0.tcp_data(f, d, o + i as u64, std::slice::from_ref(b), n, ts);
        }
    }
    fn tcp_gap(&mut self, f: &FlowInfo, d: Dir, o: u64, l: u64, n: u64, ts: Timestamp) {
        self.0.tcp_gap(f, d, o, l, n, ts);
    }
    fn tcp_end(&mut self, f: &FlowInfo, ts: Timestamp) {
        self.0.tcp_end(f, ts);
    }
    fn udp(&mut self, f: &FlowInfo, d: Dir, data: &[u8], n: u64, ts: Timestamp) {
        self.0.udp(f, d, data, n, ts);
    }
}

/// Every record / message split into 1-byte segments gives the same report as the capture's
/// own segmentation (TLS, HTTP, SMB2 captures).
#[test]
fn one_byte_segments_give_the_same_report() {
    for rel in [
        "tls/zeek__tls1.2.pcap",
        "tls/zeek__tls-expired-cert.pcap",
        "tls/zeek__hrr.pcap",
        "tls/zeek__ssl.v3.pcap",
        "tcp/zeek__tcp-fast-open.pcap",
        "dcerpc/dcerpc__dcerpc-3109__input.pcap",
    ] {
        let path = common::shared(rel);
        let (whole, _) = common::run(&path);
        let mut r = tracehound_capture::CaptureReader::open(&path).unwrap();
        let mut pass = tracehound_flows::Pass::new(Default::default());
        let mut h = Bytewise(AppAnalyzer::new(AppConfig::default()));
        while let Some(f) = r.next_frame().unwrap() {
            pass.frame(&f, &mut h);
        }
        pass.finish(&mut h);
        let split = h.0.finish();
        assert_eq!(
            serde_json::to_value(&split).unwrap(),
            serde_json::to_value(&whole).unwrap(),
            "{rel}"
        );
        assert!(
            !whole.tls.is_empty() || !whole.transactions.is_empty(),
            "{rel}: nothing recognised"
        );
    }
}

/// NetBIOS name service (137) looks like DNS but is not: ignored. A query to a broadcast
/// address counts as multicast (silence is normal). Query bytes: tests/fixtures/lab/
/// net-dns-failure.pcap frame 11 (silent.lab.test).
#[test]
fn netbios_and_broadcast_are_not_dns_failures() {
    let q = hex("9def012000010000000000010673696c656e74036c61620474657374000001000100002904d000000000000c000a00082cffe28dbd916348");
    let mut a = AppAnalyzer::new(AppConfig::default());
    let nb = FlowInfo {
        id: 1,
        proto: Proto::Udp,
        orig: "10.0.0.1:137".parse().unwrap(),
        resp: "10.0.0.2:137".parse().unwrap(),
    };
    a.udp(&nb, Dir::Orig, &q, 1, Timestamp(0));
    let bc = FlowInfo {
        id: 2,
        proto: Proto::Udp,
        orig: "10.0.0.1:4000".parse().unwrap(),
        resp: "10.0.0.255:53".parse().unwrap(),
    };
    a.udp(&bc, Dir::Orig, &q, 2, Timestamp(0));
    a.udp(&bc, Dir::Orig, &[0; 4], 3, Timestamp(10_000_000_000));
    let r = a.finish();
    assert_eq!(r.dns.len(), 1);
    assert!(r.dns[0].multicast);
    assert_eq!(r.dns[0].outcome, tracehound_apps::DnsOutcome::Unanswered);
}
