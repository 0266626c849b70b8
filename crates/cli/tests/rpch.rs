//! DCE/RPC over HTTP v2 (ncacn_http, MS-RPCH) through the binary (issue 9 item 5): `rpc`
//! and `analyze` read the calls inside the RPC proxy's TLS with `--keylog`, and say in a
//! finding why a virtual connection failed.
//!
//! Captures: tests/fixtures/lab/rpch-*.pcap (lab/rpch/rpch-tunnel.sh: impacket's real
//! ncacn_http client, lab/rpch/rpch_proxy.py as the RPC proxy, a Samba AD DC's endpoint
//! mapper behind it; rpch-https.keylog is the proxy's TLS key log). The cross-check:
//! tshark's DCE/RPC dissector on the plaintext capture `tracehound decrypt -w` writes (HTTP
//! off, TCP heuristics first: tshark's HTTP dissector shows RPC over HTTP bodies as
//! "Continuation"), with tshark's own TLS decryption checking that capture's HTTP heads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fx(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lab").join(name);
    assert!(p.exists(), "missing {}", p.display());
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{args:?}: {o:?}");
    o
}

fn json_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn tshark(args: &[&str]) -> String {
    let o = Command::new("tshark")
        .args(args)
        .stderr(Stdio::null())
        .output()
        .expect("tshark is required (/usr/bin/tshark)");
    assert!(o.status.success(), "tshark {args:?}");
    String::from_utf8(o.stdout).unwrap()
}

/// (request time in µs, opnum, call_id) of every DCE/RPC request tshark reads in `pcap`,
/// and the time in µs of every response/fault.
fn tshark_requests(pcap: &Path) -> (Vec<(i64, u64, u64)>, Vec<i64>) {
    let out = tshark(&[
        "-r",
        s(pcap),
        "--disable-protocol",
        "http",
        "-o",
        "tcp.try_heuristic_first:TRUE",
        "-Y",
        "dcerpc.pkt_type == 0 || dcerpc.pkt_type == 2 || dcerpc.pkt_type == 3",
        "-T",
        "fields",
        "-E",
        "occurrence=f",
        "-e",
        "frame.time_epoch",
        "-e",
        "dcerpc.pkt_type",
        "-e",
        "dcerpc.opnum",
        "-e",
        "dcerpc.cn_call_id",
    ]);
    let us = |t: &str| (t.parse::<f64>().unwrap() * 1e6).round() as i64;
    let (mut reqs, mut resps) = (Vec::new(), Vec::new());
    for l in out.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        if f[1] == "0" {
            reqs.push((us(f[0]), f[2].parse().unwrap(), f[3].parse().unwrap()));
        } else {
            resps.push(us(f[0]));
        }
    }
    (reqs, resps)
}

#[test]
fn calls_inside_tls_with_the_key_log_equal_tsharks_reading() {
    let (cap, keylog) = (fx("rpch-https.pcap"), fx("rpch-https.keylog"));
    // Without the key log nothing is readable.
    let o = run(&["rpc", "--json", s(&cap)]);
    assert!(json_lines(&o).is_empty());
    // With it: the calls.
    let calls = json_lines(&run(&["rpc", "--json", "--keylog", s(&keylog), s(&cap)]));
    // tshark's reading of the plaintext capture.
    let dir = std::env::temp_dir().join(format!("th-rpch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join("plain.pcap");
    run(&["decrypt", "--keylog", s(&keylog), "-w", s(&plain), s(&cap)]);
    let (reqs, resps) = tshark_requests(&plain);
    // tshark's own TLS decryption of the original sees the same HTTP requests.
    let methods = tshark(&[
        "-r",
        s(&cap),
        "-o",
        &format!("tls.keylog_file:{}", s(&keylog)),
        "-Y",
        "http.request",
        "-T",
        "fields",
        "-e",
        "http.request.method",
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(methods.lines().filter(|m| *m == "RPC_IN_DATA").count(), 4, "{methods}");
    assert_eq!(methods.lines().filter(|m| *m == "RPC_OUT_DATA").count(), 2, "{methods}");
    let ours: Vec<(i64, u64)> = calls
        .iter()
        .map(|c| ((c["ts"].as_f64().unwrap() * 1e6).round() as i64, c["opnum"].as_u64().unwrap()))
        .collect();
    let theirs: Vec<(i64, u64)> = reqs.iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(ours, theirs);
    assert_eq!(ours.iter().map(|c| c.1).collect::<Vec<_>>(), [2, 2, 99, 3]);
    for c in &calls {
        // The response time is one tshark saw a response or fault at.
        let rtt_us = (c["rtt"].as_f64().unwrap() * 1e6).round() as i64;
        let t = (c["ts"].as_f64().unwrap() * 1e6).round() as i64 + rtt_us;
        assert!(resps.iter().any(|r| (r - t).abs() <= 1), "{c}");
        assert_eq!(c["dport"], 443);
        assert_eq!(c["tunnel"]["transport"], "ncacn_http");
        assert_eq!(c["tunnel"]["target"], "10.101.1.20:593");
    }
    assert_eq!(calls[2]["outcome"], "fault");
    assert_eq!(calls[2]["status"], "nca_s_op_rng_error");
    // `analyze` with the key log: no tunnel failure; the probing opnum is the rpc.refused
    // finding it would be on ncacn_ip_tcp.
    let fs = json_lines(&run(&["analyze", "--json", "--keylog", s(&keylog), s(&cap)]));
    assert!(!fs.iter().any(|f| f["id"] == "rpc.http_tunnel"), "{fs:?}");
    assert!(fs.iter().any(|f| f["id"] == "rpc.refused"), "{fs:?}");
    // The proxy's 401 to the first RPC_IN_DATA is the authentication round the client went on
    // from (its authenticated RPC_IN_DATA never gets an HTTP answer): not an HTTP error.
    assert!(!fs.iter().any(|f| f["id"] == "http.errors"), "{fs:?}");
}

#[test]
fn proxy_refusal_is_a_finding() {
    let cap = fx("rpch-denied.pcap");
    let fs = json_lines(&run(&["analyze", "--json", s(&cap)]));
    let f: Vec<&Value> = fs.iter().filter(|f| f["id"] == "rpc.http_tunnel").collect();
    assert_eq!(f.len(), 1, "{fs:?}");
    assert_eq!(f[0]["severity"], "problem");
    let title = f[0]["title"].as_str().unwrap();
    assert!(
        title.contains("10.101.1.20:593") && title.contains("HTTP 503 RPC Error: 6ba"),
        "{title}"
    );
    assert!(f[0]["explanation"].as_str().unwrap().contains("RPC_S_SERVER_UNAVAILABLE"));
    // The plain-HTTP tunnel that worked has none.
    let fs = json_lines(&run(&["analyze", "--json", s(&fx("rpch-http.pcap"))]));
    assert!(!fs.iter().any(|f| f["id"] == "rpc.http_tunnel"), "{fs:?}");
    assert!(!fs.iter().any(|f| f["id"] == "http.errors"), "{fs:?}");
}
