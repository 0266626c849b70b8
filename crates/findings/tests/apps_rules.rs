//! The application rules (dns.failure, tls.*, app.slow_responder) as registered in
//! `rules::all()`, over `tracehound_apps::AppAnalyzer` output for real bytes taken from lab
//! captures (each constant says which file and frame). The same rules are also tested on
//! whole captures (flows engine + conversations) in crates/apps/tests/rules.rs.

use tracehound_apps::{AppAnalyzer, AppConfig, AppReport};
use tracehound_findings::rules::{all, Facts};
use tracehound_findings::{Finding, Severity};
use tracehound_flows::{Dir, FlowInfo, Proto, StreamHandler, Timestamp};

const OURS: [&str; 5] = [
    "dns.failure",
    "tls.handshake_failure",
    "tls.certificate_mismatch",
    "tls.certificate_expired",
    "app.slow_responder",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// Seconds and microseconds since the epoch (as tshark's frame.time_epoch shows) in µs.
const fn us(secs: i64, micros: i64) -> i64 {
    secs * 1_000_000 + micros
}

/// Capture time from microseconds since the epoch.
fn ts(us: i64) -> Timestamp {
    Timestamp(us * 1000)
}

fn run_rules(apps: &AppReport) -> Vec<Finding> {
    let rpc = tracehound_rpc::RpcAnalyzer::new(Default::default()).finish();
    let facts = Facts {
        file: "test",
        capture: &Default::default(),
        conversations: &[],
        rpc: &rpc,
        endpoints: &[],
        apps,
    };
    let mut out = Vec::new();
    for r in all() {
        (r.check)(&facts, &mut out);
    }
    out.retain(|f| OURS.contains(&f.id));
    out
}

#[test]
fn registered() {
    let names: Vec<&str> = all().iter().map(|r| r.name).collect();
    for n in [
        "dns.failure",
        "tls.handshake_failure",
        "tls.certificate_mismatch",
        "tls.certificate_expired",
        "app.slow_responder",
    ] {
        assert!(names.contains(&n), "{n} not in rules::all(): {names:?}");
    }
}

fn udp(port: u16) -> FlowInfo {
    FlowInfo {
        id: port as u64,
        proto: Proto::Udp,
        orig: format!("10.77.1.1:{port}").parse().unwrap(),
        resp: "10.77.1.2:53".parse().unwrap(),
    }
}

/// tests/fixtures/lab/net-dns-failure.pcap frames 7/8 (fail.lab.test → SERVFAIL) and 11/12
/// (silent.lab.test sent twice, from two ports, never answered).
#[test]
fn servfail_and_silence_are_a_problem() {
    let mut a = AppAnalyzer::new(AppConfig::default());
    a.udp(&udp(36268), Dir::Orig, &hex("0e4b01200001000000000001046661696c036c61620474657374000001000100002904d000000000000c000a0008b3370f730ee3109a"), 7, ts(us(1795261463, 214975)));
    a.udp(
        &udp(36268),
        Dir::Resp,
        &hex("0e4b85820001000000000000046661696c036c616204746573740000010001"),
        8,
        ts(us(1795261463, 215182)),
    );
    let silent = hex("9def012000010000000000010673696c656e74036c61620474657374000001000100002904d000000000000c000a00082cffe28dbd916348");
    a.udp(&udp(40050), Dir::Orig, &silent, 11, ts(us(1795261463, 291199)));
    a.udp(&udp(43790), Dir::Orig, &silent, 12, ts(us(1795261464, 291469)));
    let f = run_rules(&a.finish());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].id, "dns.failure");
    assert_eq!(f[0].severity, Severity::Problem);
    assert_eq!(f[0].evidence.frames, [7, 8, 11, 12]);
    assert_eq!(
        f[0].evidence.values["by_failure"],
        serde_json::json!({"SERVFAIL": 1, "no answer": 1})
    );
}

/// Only an NXDOMAIN is a warning; a NOERROR answer is nothing.
/// tests/fixtures/lab/net-dns-failure.pcap frames 5/6 (nx.lab.test → NXDOMAIN) and 3/4
/// (ok.lab.test → NOERROR, 1 answer).
#[test]
fn nxdomain_alone_is_a_warning() {
    let mut a = AppAnalyzer::new(AppConfig::default());
    a.udp(&udp(55758), Dir::Orig, &hex("eede01200001000000000001026e78036c61620474657374000001000100002904d000000000000c000a0008140dbd9d1aa473e4"), 5, ts(us(1795261463, 169738)));
    a.udp(
        &udp(55758),
        Dir::Resp,
        &hex("eede85830001000000000000026e78036c616204746573740000010001"),
        6,
        ts(us(1795261463, 176634)),
    );
    let f = run_rules(&a.finish());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].evidence.frames, [5, 6]);
    let mut a = AppAnalyzer::new(AppConfig::default());
    a.udp(&udp(43851), Dir::Orig, &hex("046201200001000000000001026f6b036c61620474657374000001000100002904d000000000000c000a0008d2162c22b4fe2191"), 3, ts(us(1795261463, 99932)));
    a.udp(&udp(43851), Dir::Resp, &hex("046285800001000100000000026f6b036c616204746573740000010001c00c000100010000012c00040a4d0102"), 4, ts(us(1795261463, 100267)));
    let r = a.finish();
    assert_eq!(r.dns[0].answers, Some(1));
    assert!(run_rules(&r).is_empty());
}

/// /work/shared/captures/tls/zeek__tls-1.2-handshake-failure.pcap frames 4 (ClientHello)
/// and 6 (fatal handshake_failure alert).
#[test]
fn alert_after_client_hello() {
    let f = FlowInfo {
        id: 1,
        proto: Proto::Tcp,
        orig: "192.168.4.149:53525".parse().unwrap(),
        resp: "74.125.239.37:443".parse().unwrap(),
    };
    let mut a = AppAnalyzer::new(AppConfig::default());
    a.tcp_data(&f, Dir::Orig, 0, &hex("16030100ad010000a90303aaa3b6e3259f9c61ee29dde42820a73799972d6bf61ac2ea385a92c8ec5dae2f000012c010c006c015c00bc001003b0002000100ff020100006d000b000403000102000a00340032000e000d0019000b000c00180009000a00160017000800060007001400150004000500120013000100020003000f0010001100230000000d0020001e060106020603050105020503040104020403030103020303020102020203000f000101"), 4, ts(us(1393957586, 786031)));
    a.tcp_data(&f, Dir::Resp, 0, &hex("15030300020228"), 6, ts(us(1393957586, 791198)));
    a.tcp_end(&f, ts(us(1393957586, 800000)));
    let out = run_rules(&a.finish());
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].id, "tls.handshake_failure");
    assert_eq!(out[0].evidence.frames, [4, 6]);
    assert_eq!(out[0].evidence.values["alert"], "handshake_failure");
}

/// tests/fixtures/lab/net-slow-responder.pcap frames 6/8/10, 12/14/15, 17/19/20: three GETs
/// on one keep-alive connection, each answered ~300 ms later. The same bytes answered within
/// 1 ms raise nothing.
#[test]
fn slow_http_server() {
    let req = |n: u8| {
        let mut v = hex("474554202f6974656d2f3020485454502f312e310d0a486f73743a2031302e37372e312e323a383038300d0a4163636570742d456e636f64696e673a206964656e746974790d0a557365722d4167656e743a207472616365686f756e642d6c61620d0a0d0a");
        v[10] = b'0' + n;
        v
    };
    let head = hex("485454502f312e3120323030204f4b0d0a5365727665723a2042617365485454502f302e3620507974686f6e2f332e31312e320d0a446174653a205361742c203231204e6f7620323032362031313a32393a333420474d540d0a436f6e74656e742d547970653a20746578742f706c61696e0d0a436f6e74656e742d4c656e6774683a2031310d0a0d0a");
    let body = |n: u8| {
        let mut v = hex("6f6b202f6974656d2f300a");
        v[9] = b'0' + n;
        v
    };
    // (request frame, time), (head frame, time), (body frame, time)
    let slow = [
        ((6, us(1795260573, 954385)), (8, us(1795260574, 256507)), (10, us(1795260574, 256820))),
        ((12, us(1795260574, 257006)), (14, us(1795260574, 560283)), (15, us(1795260574, 560618))),
        ((17, us(1795260574, 560778)), (19, us(1795260574, 864453)), (20, us(1795260574, 864750))),
    ];
    let drive = |speedup: f64| {
        let f = FlowInfo {
            id: 3,
            proto: Proto::Tcp,
            orig: "10.77.1.1:44354".parse().unwrap(),
            resp: "10.77.1.2:8080".parse().unwrap(),
        };
        let mut a = AppAnalyzer::new(AppConfig::default());
        let mut off = [0u64; 2];
        let t0 = slow[0].0 .1;
        for (i, (rq, hd, bd)) in slow.iter().enumerate() {
            let t = |x: i64| ts(t0 + ((x - t0) as f64 / speedup) as i64);
            let r = req(i as u8);
            a.tcp_data(&f, Dir::Orig, off[0], &r, rq.0, t(rq.1));
            off[0] += r.len() as u64;
            a.tcp_data(&f, Dir::Resp, off[1], &head, hd.0, t(hd.1));
            off[1] += head.len() as u64;
            let b = body(i as u8);
            a.tcp_data(&f, Dir::Resp, off[1], &b, bd.0, t(bd.1));
            off[1] += b.len() as u64;
        }
        a.tcp_end(&f, ts(t0 + 2_000_000));
        a.finish()
    };
    let out = run_rules(&drive(1.0));
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].id, "app.slow_responder");
    assert_eq!(out[0].evidence.values["transactions"], 3);
    let med = out[0].evidence.values["median_wait_ms"].as_f64().unwrap();
    assert!((302.0..304.0).contains(&med), "{med}");
    // 1000× faster: ~0.3 ms per answer, healthy
    assert!(run_rules(&drive(1000.0)).is_empty());
}
