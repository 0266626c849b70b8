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
    ("tls-client-rejects-name", &["tls.certificate_mismatch"], "tls.certificate_mismatch"),
    ("app-no-response", &["app.no_response"], "app.no_response"),
    ("tls-client-rejects-untrusted", &["tls.client_refused"], "tls.client_refused"),
    // TLS 1.3 hides the certificate: the refusal is seen, its reason is not (info).
    ("tls-client-rejects-untrusted13", &["tls.client_refused"], ""),
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

fn json_of(args: &[&Path]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(["analyze", "--json"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures").join(rel);
    assert!(p.is_file(), "shared capture missing: {}", p.display());
    p
}

#[test]
fn icmp_is_not_a_reset() {
    // rpc-dynamic-icmp: the dynamic port answered with ICMP type 3 code 13 (tshark:
    // icmp.type==3 && icmp.code==13), no TCP reset at all.
    let path = lab("rpc-dynamic-icmp");
    let t = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args(["-Y", "icmp.type==3 && icmp.code==13", "-T", "fields", "-e", "ip.src"])
        .output()
        .expect("tshark installed");
    // ip.src lists the ICMP packet's source, then the quoted packet's.
    let from = String::from_utf8_lossy(&t.stdout)
        .lines()
        .next()
        .and_then(|l| l.split(',').next())
        .unwrap_or("")
        .trim()
        .to_string();
    assert!(!from.is_empty(), "tshark sees the ICMP error");
    let fs = json_of(&[&path]);
    let f = fs.iter().find(|f| f["id"] == "rpc.endpoint_unreachable").expect("raised");
    assert_eq!(f["evidence"]["values"]["follow_up"], "icmp_prohibited");
    let words = format!("{} {} {}", f["title"], f["explanation"], f["likely_causes"]);
    assert!(!words.contains("reset"), "{words}");
    assert!(!words.contains("crashed"), "{words}");
    assert!(words.contains("administratively prohibited"), "{words}");
    assert!(words.contains(&from), "the sender {from} is named: {words}");
    // A real reset still reads as one.
    let fs = json_of(&[&lab("rpc-dynamic-rejected")]);
    let f = fs.iter().find(|f| f["id"] == "rpc.endpoint_unreachable").expect("raised");
    assert_eq!(f["evidence"]["values"]["follow_up"], "refused");
    // The reset and its TTL, as tshark reads them.
    let t = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(lab("rpc-dynamic-rejected"))
        .args(["-Y", "tcp.flags.reset==1", "-T", "fields", "-e", "frame.number", "-e", "ip.ttl"])
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&t.stdout).lines().next().unwrap_or("").to_string();
    let (frame, ttl) = first.split_once('\t').expect("tshark sees the reset");
    let expl = f["explanation"].as_str().unwrap();
    assert!(expl.contains("TCP reset from"), "{expl}");
    assert!(expl.contains(&format!("(frame {}, TTL {})", frame.trim(), ttl.trim())), "{expl}");
    // `rpc --endpoints` says the same, in portqry's words too.
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(["rpc", "--endpoints", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    let e: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(
        (e["follow_up"].as_str(), e["state"].as_str()),
        (Some("icmp_prohibited"), Some("FILTERED"))
    );
}

#[test]
fn a_client_that_refuses_the_certificate_after_the_handshake_is_a_problem() {
    // tls-client-rejects-name: TLS 1.2, handshake completed (two ChangeCipherSpecs), then the
    // client's encrypted alert (content type 21) and FIN, no application data (tshark counts
    // in the expect file: alert_records >= 1, app_data_records == 0).
    let fs = json_of(&[&lab("tls-client-rejects-name")]);
    let f = fs.iter().find(|f| f["id"] == "tls.certificate_mismatch").expect("raised");
    assert_eq!(f["severity"], "problem", "{f}");
    assert!(!f["explanation"].as_str().unwrap().contains("went on"), "{f}");
    assert!(f["evidence"]["lines"].to_string().contains("alert"), "{f}");
    // tls-client-rejects-untrusted13: TLS 1.3 encrypts the alert too. tshark: the client's
    // records after the ServerHello are frame 10 (Finished, 69 bytes) and frame 15 (19 bytes:
    // an alert, its content type and a 16-byte AES-GCM tag), then its RST (frame 19).
    let fs = json_of(&[&lab("tls-client-rejects-untrusted13")]);
    let f = fs.iter().find(|f| f["id"] == "tls.client_refused").expect("raised");
    assert!(f["evidence"]["lines"].to_string().contains("frame 15"), "{f}");
    assert!(f["evidence"]["lines"].to_string().contains("frame 19"), "{f}");
    // Zeek's missing-intermediate capture: the leaf alone, then the client alerts and leaves.
    let fs = json_of(&[&shared("tls/zeek__missing-intermediate.pcap")]);
    assert_eq!(fs[0]["id"], "tls.certificate_chain_incomplete", "{fs:#?}");
    assert_eq!(fs[0]["severity"], "problem");
    assert_eq!(fs[0]["evidence"]["values"]["server"], "128.32.169.140:443");
}

#[test]
fn a_request_never_answered_before_the_server_closed() {
    // dcerpc-issue-7187: a 4.5 kB request (frames 9-12), ACKed, then the server's FIN (frame
    // 13) and no response.
    let fs = json_of(&[&shared("dcerpc/dcerpc-issue-7187-01__test.pcap")]);
    assert_eq!(fs[0]["id"], "app.no_response", "{fs:#?}");
    assert_eq!(fs[0]["severity"], "problem");
    assert_eq!(fs[0]["evidence"]["values"]["port"], 4592);
    assert!(fs[0]["evidence"]["frames"].as_array().unwrap().contains(&Value::from(12)));
}

#[test]
fn two_captures_of_a_lossy_router_locate_the_loss() {
    // path-lossy-router: a router dropping ~4% each way at random, captured on both sides.
    let (c, s) = (lab("path-lossy-router-client"), lab("path-lossy-router-server"));
    // Alone, each capture shows retransmissions.
    for p in [&c, &s] {
        assert!(json_of(&[p]).iter().any(|f| f["id"] == "tcp.loss"), "{}", p.display());
    }
    let fs = json_of(&[&c, &s]);
    let top = &fs[0];
    assert_eq!(
        (top["id"].as_str(), top["severity"].as_str()),
        (Some("path.lost_between"), Some("problem")),
        "{fs:#?}"
    );
    let dirs = top["evidence"]["values"]["directions"].as_array().unwrap();
    assert_eq!(dirs.len(), 2, "both directions lose packets: {dirs:?}");
    for d in dirs {
        let rate = d["rate"].as_f64().unwrap();
        assert!((0.01..0.15).contains(&rate), "{d}");
    }
    for f in &fs {
        // Several files given: every record says which file(s) it comes from.
        assert!(f["evidence"]["file"].is_string(), "{f}");
        assert!(!f["next_steps"].to_string().to_lowercase().contains("both ends"), "{f}");
        if f["id"] == "tcp.loss" {
            assert_eq!(f["evidence"]["values"]["located_by"], "path.lost_between", "{f}");
        }
    }
    let text = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .arg("analyze")
        .arg(&c)
        .arg(&s)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Most likely: Packets are lost between the two capture points"),
        "{text}"
    );
}
