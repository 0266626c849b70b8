//! The rules over this crate's output (`tracehound_findings::rules::{dns, tls, slow_responder}`)
//! on real captures: the lab scenarios (tests/fixtures/lab, made by lab/net) and the shared
//! captures (/work/shared/captures, see SOURCES.md).

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::Path;

use tracehound_findings::{Evidence, Finding, FlowRef, Severity};

use tracehound_findings::rules::{dns, slow_responder, tls, Facts};

/// Our finding ids.
const IDS: [&str; 5] = [
    "dns.failure",
    "tls.handshake_failure",
    "tls.certificate_mismatch",
    "tls.certificate_expired",
    "app.slow_responder",
];

fn findings(path: &Path) -> Vec<Finding> {
    let all = common::run_all(path);
    let facts = Facts {
        file: "test",
        capture: &Default::default(),
        conversations: &all.convs,
        rpc: &all.rpc,
        endpoints: &[],
        apps: &all.apps,
    };
    let mut out = Vec::new();
    dns::check(&facts, &mut out);
    tls::check(&facts, &mut out);
    slow_responder::check(&facts, &mut out);
    for f in &out {
        assert!(IDS.contains(&f.id));
        assert!(
            !f.explanation.is_empty() && !f.likely_causes.is_empty() && !f.next_steps.is_empty(),
            "{}",
            f.id
        );
        assert!(
            f.evidence.frames.windows(2).all(|w| w[0] < w[1]),
            "frames sorted: {:?}",
            f.evidence.frames
        );
    }
    out
}

#[allow(dead_code)]
fn show(f: &[Finding]) -> String {
    serde_json::to_string_pretty(f).unwrap()
}

#[allow(dead_code)]
fn unused(_: Evidence, _: FlowRef, _: Severity) {}

fn ids(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.id).collect()
}

fn only<'a>(f: &'a [Finding], id: &str) -> &'a Finding {
    let v: Vec<&Finding> = f.iter().filter(|x| x.id == id).collect();
    assert_eq!(v.len(), 1, "exactly one {id} expected: {}", show(f));
    v[0]
}

fn val<'a>(f: &'a Finding, k: &str) -> &'a serde_json::Value {
    f.evidence
        .values
        .get(k)
        .unwrap_or_else(|| panic!("{} has no value {k}: {:?}", f.id, f.evidence.values))
}

fn frames(cap: &Path, filter: &str) -> Vec<u64> {
    common::tshark(cap, filter, &[]).into_iter().map(|x| x.0).collect()
}

/// net-dns-failure: NXDOMAIN, SERVFAIL, REFUSED and a query never answered (sent twice).
/// The failing frames are the ones tshark shows for those names.
#[test]
fn lab_dns_failure() {
    let cap = common::lab("net-dns-failure.pcap");
    let f = findings(&cap);
    let d = only(&f, "dns.failure");
    assert_eq!(d.severity, Severity::Problem);
    let by = val(d, "by_failure");
    assert_eq!(by["NXDOMAIN"], 1);
    assert_eq!(by["SERVFAIL"], 1);
    assert_eq!(by["REFUSED"], 1);
    assert_eq!(by["no answer"], 1);
    assert_eq!(val(d, "servers"), &serde_json::json!(["10.77.1.2:53"]));
    // tshark: names whose response has rcode != 0, and names never answered
    let failing: std::collections::BTreeSet<String> =
        common::tshark(&cap, "dns.flags.response == 1 && dns.flags.rcode != 0", &["dns.qry.name"])
            .into_iter()
            .map(|x| x.1[0].clone())
            .collect();
    let answered: std::collections::BTreeSet<String> =
        common::tshark(&cap, "dns.flags.response == 1", &["dns.qry.name"])
            .into_iter()
            .map(|x| x.1[0].clone())
            .collect();
    let asked: std::collections::BTreeSet<String> =
        common::tshark(&cap, "dns.flags.response == 0", &["dns.qry.name"])
            .into_iter()
            .map(|x| x.1[0].clone())
            .collect();
    let mut want_names: std::collections::BTreeSet<String> = failing.clone();
    want_names.extend(asked.difference(&answered).cloned());
    let names: std::collections::BTreeSet<String> = val(d, "names")
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, want_names);
    let filter = want_names
        .iter()
        .map(|n| format!("dns.qry.name == \"{n}\""))
        .collect::<Vec<_>>()
        .join(" || ");
    assert_eq!(d.evidence.frames, frames(&cap, &filter));
}

/// net-tls-handshake-failure: the server answers the ClientHello with a fatal
/// handshake_failure alert (no common cipher).
#[test]
fn lab_tls_handshake_failure() {
    let cap = common::lab("net-tls-handshake-failure.pcap");
    let f = findings(&cap);
    assert_eq!(ids(&f), ["tls.handshake_failure"]);
    let h = &f[0];
    assert_eq!(val(h, "alert"), "handshake_failure");
    assert_eq!(val(h, "alert_from"), "server");
    let mut want = frames(&cap, "tls.handshake.type == 1");
    want.extend(frames(&cap, "tls.alert_message.desc == 40"));
    assert_eq!(h.evidence.frames, want);
    let ciphers = common::tshark(&cap, "tls.handshake.type == 1", &["tls.handshake.ciphersuite"]);
    assert_eq!(val(h, "client_cipher_count"), ciphers[0].1[0].split(',').count());
}

/// net-tls-reset-after-hello: RST right after the ClientHello, no ServerHello.
#[test]
fn lab_tls_reset_after_hello() {
    let cap = common::lab("net-tls-reset-after-hello.pcap");
    let f = findings(&cap);
    assert_eq!(ids(&f), ["tls.handshake_failure"]);
    let h = &f[0];
    assert_eq!(val(h, "failure"), "reset after ClientHello");
    assert!(frames(&cap, "tls.handshake.type == 2").is_empty());
    let ch = frames(&cap, "tls.handshake.type == 1");
    let rst: Vec<u64> =
        frames(&cap, "tcp.flags.reset == 1").into_iter().filter(|r| *r > ch[0]).take(1).collect();
    assert_eq!(h.evidence.frames, [ch[0], rst[0]]);
}

/// net-tls-cert-mismatch: SNI other.lab.test, certificate for server.lab.test; the client
/// does not abort (warning).
#[test]
fn lab_tls_cert_mismatch() {
    let cap = common::lab("net-tls-cert-mismatch.pcap");
    let f = findings(&cap);
    assert_eq!(ids(&f), ["tls.certificate_mismatch"]);
    let m = &f[0];
    let sni =
        common::tshark(&cap, "tls.handshake.type == 1", &["tls.handshake.extensions_server_name"]);
    assert_eq!(val(m, "sni"), sni[0].1[0].as_str());
    let sans = common::tshark(&cap, "tls.handshake.type == 11", &["x509ce.dNSName"]);
    let want: Vec<&str> = sans[0].1[0].split(',').collect();
    assert_eq!(val(m, "certificate_names"), &serde_json::json!(want));
    assert_eq!(m.severity, Severity::Warning);
    assert!(m.evidence.frames.contains(&sans[0].0));
}

/// net-tls-expired: the server's certificate expired before the capture; a validating client
/// aborts with a certificate_expired alert (also a handshake failure), a second one that does
/// not validate completes.
#[test]
fn lab_tls_expired() {
    let cap = common::lab("net-tls-expired.pcap");
    let f = findings(&cap);
    let e = only(&f, "tls.certificate_expired");
    assert_eq!(e.severity, Severity::Problem);
    let t =
        common::tshark(&cap, "tls.handshake.type == 11", &["x509af.utcTime", "frame.time_epoch"]);
    let times: Vec<&str> = t[0].1[0].split(',').collect();
    let not_after = times[1].trim_end_matches(" (UTC)").replace(' ', "T") + "Z";
    assert_eq!(val(e, "not_after"), not_after.as_str());
    assert_eq!(val(e, "position"), 0);
    assert_eq!(e.evidence.frames, t.iter().map(|x| x.0).collect::<Vec<_>>());
    assert_eq!(val(e, "connections"), t.len());
    let h = only(&f, "tls.handshake_failure");
    let alert = common::tshark(&cap, "tls.alert_message.desc == 45", &[]);
    assert!(h.evidence.frames.contains(&alert[0].0));
    assert_eq!(val(h, "alert"), "certificate_expired");
}

/// The HTTP slow-responder scenarios: exactly one `app.slow_responder` naming `side`, whose
/// transaction count and median wait agree with tshark's `http.time` (request frame to
/// response frame). Returns the capture, the findings and our median wait (ms).
fn slow_http(name: &str, side: &str) -> (std::path::PathBuf, Vec<Finding>, f64) {
    let cap = common::lab(name);
    let f = findings(&cap);
    assert_eq!(ids(&f), ["app.slow_responder"], "{name}");
    let s = &f[0];
    assert_eq!(val(s, "slow_side"), side, "{name}");
    assert_eq!(val(s, "protocol"), "HTTP", "{name}");
    let mut times: Vec<f64> = common::tshark(&cap, "http.response", &["http.time"])
        .into_iter()
        .map(|x| x.1[0].parse().unwrap())
        .collect();
    times.sort_by(f64::total_cmp);
    assert_eq!(val(s, "transactions"), times.len(), "{name}");
    let med = times[times.len().div_ceil(2) - 1] * 1e3;
    let ours = val(s, "median_wait_ms").as_f64().unwrap();
    assert!((ours - med).abs() < 2.0, "{name}: median wait {ours} ms vs tshark {med} ms");
    (cap, f, ours)
}

/// net-slow-responder: 10 GETs with 300 ms server think time on one keep-alive connection.
/// The median wait agrees with tshark's `http.time` (request frame to response frame).
#[test]
fn lab_slow_responder() {
    let (cap, f, ours) = slow_http("net-slow-responder.pcap", "server");
    let s = &f[0];
    let think = val(s, "median_think_ms").as_f64().unwrap();
    assert!(think > 250.0 && think <= ours, "think {think}");
    // evidence: the 8 slowest requests (frames tshark calls HTTP requests) and the frames
    // carrying the first byte of each answer (data frames from the server)
    let reqs = frames(&cap, "http.request");
    let data = frames(&cap, "tcp.len > 0 && tcp.srcport == 8080");
    assert_eq!(s.evidence.frames.iter().filter(|f| reqs.contains(f)).count(), 8);
    assert!(
        s.evidence.frames.iter().all(|f| reqs.contains(f) || data.contains(f)),
        "{:?}",
        s.evidence.frames
    );
}

/// net-slow-network: the same 10 GETs, answered at once, over a path that delays every packet
/// by 150 ms each way (a TUN delay line in the router). The wait is the network's: the rule
/// must name the network, with the handshake round trip tshark measures.
#[test]
fn lab_slow_network() {
    let (cap, f, _) = slow_http("net-slow-network.pcap", "network");
    let s = &f[0];
    assert_eq!(s.severity, Severity::Warning);
    // the round trip of the handshake: SYN to SYN/ACK as tshark times it at the client
    let syn_ack =
        common::tshark(&cap, "tcp.flags.syn == 1 && tcp.flags.ack == 1", &["tcp.analysis.ack_rtt"]);
    let rtt = syn_ack[0].1[0].parse::<f64>().unwrap() * 1e3;
    assert!(rtt > 250.0, "the delay line adds 300 ms per round trip, handshake {rtt} ms");
    let net = val(s, "network_rtt_ms").as_f64().unwrap();
    assert!((net - rtt).abs() < 2.0, "network round trip {net} ms vs tshark {rtt} ms");
    let think = val(s, "median_think_ms").as_f64().unwrap();
    assert!(think < 50.0, "think {think} ms: the server answers at once");
    assert!(s.title.contains("wait on the network"), "{}", s.title);
}

/// Captures that are healthy for DNS/TLS/application timing raise none of these ids:
/// net-healthy, every lab scenario whose expected diagnosis is not one of ours, and the
/// normal handshakes among the shared TLS captures.
#[test]
fn healthy_captures_raise_nothing() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab"));
    let mut n = 0;
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    names.sort();
    for p in names {
        let exp = p.with_extension("expect.json");
        let Ok(text) = std::fs::read_to_string(&exp) else { continue };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let expected: Vec<String> = match v.get("expected_diagnosis") {
            Some(serde_json::Value::Array(a)) => {
                a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()
            }
            // rpc-* scenarios: no DNS/TLS/slow server in them
            _ => Vec::new(),
        };
        if expected.iter().any(|e| IDS.contains(&e.as_str())) {
            continue;
        }
        let f = findings(&p);
        assert!(f.is_empty(), "{}: {}", p.display(), show(&f));
        n += 1;
    }
    assert!(n >= 15, "only {n} healthy lab captures checked");
    assert!(common::lab("net-healthy.pcap").exists());
    for name in [
        "zeek__tls1.2.pcap",
        "zeek__tls1_1.pcap",
        "zeek__ecdhe.pcap",
        "zeek__dhe.pcap",
        "zeek__tls13_wolfssl.pcap",
        "zeek__hrr.pcap",
        "zeek__client-certificate.pcap",
        "zeek__cert-no-cn.pcap",
        "zeek__ssl.v3.pcap",
        "zeek__missing-intermediate.pcap",
    ] {
        let f = findings(&common::shared(&format!("tls/{name}")));
        assert!(f.is_empty(), "{name}: {}", show(&f));
    }
}

/// Shared captures with a known failure.
#[test]
fn shared_failures() {
    // zeek__tls-1.2-handshake-failure.pcap: fatal handshake_failure from the server (frame 6)
    let f = findings(&common::shared("tls/zeek__tls-1.2-handshake-failure.pcap"));
    assert_eq!(ids(&f), ["tls.handshake_failure"]);
    assert_eq!(f[0].evidence.frames, [4, 6]);
    // zeek__tls-expired-cert.pcap: www.spidh.org expired 2014-03-04, used 2014-03-13
    let f = findings(&common::shared("tls/zeek__tls-expired-cert.pcap"));
    let e = only(&f, "tls.certificate_expired");
    assert_eq!(val(e, "not_after"), "2014-03-04T23:59:59Z");
    // a completed handshake with an expired leaf: still a problem (clients that validate fail)
    assert_eq!(e.severity, Severity::Problem);
    // zeek__https-to-http.pcap: TLS to a plain HTTP server
    let f = findings(&common::shared("tls/zeek__https-to-http.pcap"));
    assert_eq!(val(only(&f, "tls.handshake_failure"), "failure"), "server does not speak TLS");
}

/// DCE/RPC calls (from tracehound-rpc) feed app.slow_responder too. On the healthy lab RPC
/// capture nothing fires; with the thresholds at zero the rule shows per server the number
/// of answered calls and their median wait, which agree with tshark's `dcerpc.time`.
#[test]
fn rpc_calls_in_slow_responder_agree_with_tshark() {
    let cap = common::lab("rpc-healthy-mixed.pcap");
    let all = common::run_all(&cap);
    let facts = Facts {
        file: "test",
        capture: &Default::default(),
        conversations: &all.convs,
        rpc: &all.rpc,
        endpoints: &[],
        apps: &all.apps,
    };
    let mut out = Vec::new();
    slow_responder::check(&facts, &mut out);
    assert!(out.is_empty(), "{}", show(&out));
    let th = slow_responder::Thresholds {
        min_transactions: 1,
        min_median_wait: 0.0,
        problem_median_wait: f64::INFINITY,
    };
    slow_responder::check_with(&facts, th, &mut out);
    let rpc: Vec<&Finding> = out.iter().filter(|f| val(f, "protocol") == "DCE/RPC").collect();
    assert!(rpc.len() >= 2, "{}", show(&out));
    let t = common::tshark(&cap, "dcerpc.pkt_type == 2", &["ip.src", "tcp.srcport", "dcerpc.time"]);
    for f in rpc {
        let server = val(f, "server").as_str().unwrap();
        let mut times: Vec<f64> = t
            .iter()
            .filter(|(_, v)| format!("{}:{}", v[0], v[1]) == server)
            .map(|(_, v)| v[2].parse::<f64>().unwrap())
            .collect();
        times.sort_by(f64::total_cmp);
        assert_eq!(val(f, "transactions"), times.len(), "{server}");
        let med = times[times.len().div_ceil(2) - 1] * 1e3;
        let ours = val(f, "median_wait_ms").as_f64().unwrap();
        assert!((ours - med).abs() < 0.5, "{server}: median {ours} ms vs tshark {med} ms");
        // the network part is the TCP handshake round trip of those connections
        assert!(val(f, "network_rtt_ms").as_f64().is_some(), "{server}");
    }
}
