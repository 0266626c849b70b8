//! Every lab scenario (tests/fixtures/lab, made by lab/*.sh with real peers in network
//! namespaces: Samba AD DC + impacket, Linux TCP stacks, nftables, openssl, dig) analysed
//! with the real binary: the findings it must raise, the cause the summary must name first,
//! and the healthy captures that must raise no problem or warning.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn lab(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/lab")
        .join(format!("{name}.pcap"));
    assert!(p.is_file(), "missing fixture {}", p.display());
    p
}

fn analyze(path: &Path) -> (Vec<Value>, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .arg("analyze")
        .arg("--json")
        .arg(path)
        .output()
        .unwrap();
    let findings: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let text =
        Command::new(env!("CARGO_BIN_EXE_tracehound")).arg("analyze").arg(path).output().unwrap();
    (findings, String::from_utf8_lossy(&text.stdout).into_owned(), out.status.code().unwrap_or(-1))
}

/// (scenario, ids that must be raised, the id the summary must name first)
const SCENARIOS: &[(&str, &[&str], &str)] = &[
    ("net-connect-unanswered", &["tcp.connect_unanswered"], "tcp.connect_unanswered"),
    ("net-connect-refused", &["tcp.connect_refused"], "tcp.connect_refused"),
    ("net-icmp-prohibited", &["tcp.connect_unanswered"], "tcp.connect_unanswered"),
    (
        "net-icmp-port-unreachable",
        &["tcp.connect_unanswered", "udp.port_unreachable"],
        "tcp.connect_unanswered",
    ),
    ("net-loss", &["tcp.loss"], "tcp.loss"),
    ("net-pmtu-blackhole", &["tcp.pmtu_blackhole"], "tcp.pmtu_blackhole"),
    ("net-mss-exceeded", &["tcp.mss_exceeded"], "tcp.mss_exceeded"),
    ("net-nagle-delayed-ack", &["tcp.nagle_delayed_ack"], "tcp.nagle_delayed_ack"),
    ("net-zero-window", &["tcp.zero_window"], "tcp.zero_window"),
    ("net-service-reset", &["tcp.service_reset"], "tcp.service_reset"),
    ("net-idle-reset", &["tcp.idle_reset"], "tcp.idle_reset"),
    ("net-slow-responder", &["app.slow_responder"], "app.slow_responder"),
    ("net-slow-network", &["app.slow_responder"], "app.slow_responder"),
    ("net-dns-failure", &["dns.failure"], "dns.failure"),
    ("net-tls-handshake-failure", &["tls.handshake_failure"], "tls.handshake_failure"),
    ("net-tls-reset-after-hello", &["tls.handshake_failure"], "tls.handshake_failure"),
    ("net-tls-cert-mismatch", &["tls.certificate_mismatch"], "tls.certificate_mismatch"),
    ("net-tls-expired", &["tls.certificate_expired"], "tls.certificate_expired"),
    ("rpc-dynamic-filtered", &["rpc.endpoint_unreachable"], "rpc.endpoint_unreachable"),
    ("rpc-dynamic-filtered-server", &["rpc.endpoint_unreachable"], "rpc.endpoint_unreachable"),
    ("rpc-dynamic-rejected", &["rpc.endpoint_unreachable"], "rpc.endpoint_unreachable"),
    ("rpc-dynamic-icmp", &["rpc.endpoint_unreachable"], "rpc.endpoint_unreachable"),
    (
        "rpc-nat-mismatch",
        &["rpc.endpoint_address_mismatch", "rpc.endpoint_unreachable"],
        "rpc.endpoint_address_mismatch",
    ),
    ("rpc-not-registered", &["rpc.endpoint_not_registered"], "rpc.endpoint_not_registered"),
    ("rpc-context-rejected", &["rpc.refused"], "rpc.refused"),
    ("rpc-fault", &["rpc.refused"], "rpc.refused"),
    ("net-gso-artifact", &["capture.artifact"], ""),
    ("net-dup-capture", &["capture.artifact"], ""),
    ("net-capture-missed", &["capture.missed_packets"], ""),
];

/// Healthy traffic: no problem and no warning may be raised.
const HEALTHY: &[&str] = &[
    "net-healthy",
    "net-nagle-nodelay",
    "rpc-healthy-mixed",
    "rpc-epm-map-then-call",
    "rpc-epm-lookup",
    "rpc-smb-pipe",
    "rpc-smb1-pipe",
    "net-gso-artifact",
    "net-dup-capture",
    "net-capture-missed",
];

#[test]
fn each_scenario_raises_its_finding_and_names_it_first() {
    let mut errors = Vec::new();
    for (name, must, first) in SCENARIOS {
        let (fs, text, code) = analyze(&lab(name));
        assert_eq!(code, 0, "{name}: exit code");
        let ids: Vec<&str> = fs.iter().map(|f| f["id"].as_str().unwrap()).collect();
        for id in *must {
            if !ids.contains(id) {
                errors.push(format!("{name}: {id} not raised (got {ids:?})"));
            }
        }
        // The first problem/warning in the JSON order is the one the summary names.
        let top = fs.iter().find(|f| matches!(f["severity"].as_str(), Some("problem" | "warning")));
        let top_id = top.map(|f| f["id"].as_str().unwrap()).unwrap_or("");
        if top_id != *first {
            errors.push(format!("{name}: summary names {top_id:?}, expected {first:?}"));
        }
        if let Some(t) = top {
            let title = t["title"].as_str().unwrap();
            if !text.contains(&format!("Most likely: {title}")) {
                errors.push(format!("{name}: text summary does not open with the top finding"));
            }
        }
        // Every finding carries evidence: frames and lines.
        for f in &fs {
            if f["evidence"]["frames"].as_array().is_none_or(|a| a.is_empty())
                && f["id"] != "capture.damaged"
            {
                errors.push(format!("{name}: {} has no frames as evidence", f["id"]));
            }
            if f["next_steps"].as_array().is_none_or(|a| a.is_empty()) {
                errors.push(format!("{name}: {} has no next steps", f["id"]));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn healthy_captures_raise_no_problem_or_warning() {
    for name in HEALTHY {
        let (fs, text, _) = analyze(&lab(name));
        let bad: Vec<String> = fs
            .iter()
            .filter(|f| matches!(f["severity"].as_str(), Some("problem" | "warning")))
            .map(|f| format!("{}: {}", f["id"], f["title"]))
            .collect();
        assert!(bad.is_empty(), "{name}: {bad:?}");
        assert!(text.contains("Looks healthy"), "{name}: summary should say healthy:\n{text}");
    }
}

#[test]
fn endpoint_evidence_names_the_ports_and_frames_tshark_sees() {
    // rpc-dynamic-filtered: the port handed out by ept_map and the SYN frames towards it, as
    // tshark reads them (epm.proto.tcp_port in the response; tcp.flags.syn==1 to that port).
    let path = lab("rpc-dynamic-filtered");
    let ports = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-Y",
            "epm.proto.tcp_port && dcerpc.pkt_type == 2",
            "-T",
            "fields",
            "-e",
            "epm.proto.tcp_port",
        ])
        .output()
        .expect("tshark installed");
    let port: u16 = String::from_utf8_lossy(&ports.stdout)
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter_map(|p| p.parse().ok())
        .find(|p| *p != 135)
        .expect("tshark sees the port handed out");
    let syns = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-Y",
            &format!("tcp.dstport == {port} && tcp.flags.syn == 1 && tcp.flags.ack == 0"),
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .output()
        .unwrap();
    let syn_frames: Vec<u64> = String::from_utf8_lossy(&syns.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(syn_frames.len() >= 2, "SYN retransmissions expected");
    let (fs, _, _) = analyze(&path);
    let f = fs.iter().find(|f| f["id"] == "rpc.endpoint_unreachable").expect("raised");
    assert_eq!(f["evidence"]["values"]["port"], port);
    let frames: Vec<u64> =
        f["evidence"]["frames"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    for s in &syn_frames {
        assert!(frames.contains(s), "SYN frame {s} missing from evidence {frames:?}");
    }
}

#[test]
fn fail_on_sets_the_exit_code() {
    let bin = env!("CARGO_BIN_EXE_tracehound");
    let st = Command::new(bin)
        .args(["analyze", "--fail-on", "problem"])
        .arg(lab("rpc-dynamic-filtered"))
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(1));
    let st = Command::new(bin)
        .args(["analyze", "--fail-on", "problem"])
        .arg(lab("net-healthy"))
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0));
}

#[test]
fn every_shared_capture_is_analysed_without_a_crash() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    assert!(root.is_dir(), "shared captures missing at {}", root.display());
    let mut n = 0;
    for dir in ["tcp", "dcerpc", "tls"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            let (_, _, code) = analyze(&p);
            assert!(code == 0 || code == 4, "{}: exit code {code}", p.display());
            n += 1;
        }
    }
    assert!(n > 70);
}

#[test]
fn client_and_server_captures_together_locate_the_drop() {
    // rpc-dynamic-filtered (client side) and rpc-dynamic-filtered-server (server side) were
    // captured at the same time: the SYNs arrive at the server and it never answers.
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(["analyze", "--json"])
        .arg(lab("rpc-dynamic-filtered"))
        .arg(lab("rpc-dynamic-filtered-server"))
        .output()
        .unwrap();
    let fs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(fs[0]["id"], "path.host_silent", "{fs:#?}");
    assert_eq!(fs[0]["evidence"]["values"]["port"], 49154);
    // Alone, the client capture cannot say where the SYNs died.
    let (alone, _, _) = analyze(&lab("rpc-dynamic-filtered"));
    assert!(alone.iter().all(|f| f["id"] != "path.host_silent"));
}
