//! The binary's behaviour at its edges: exit codes, error messages, standard input, gzip,
//! damaged files, filters and JSON fields. Inputs are real captures (../shared/captures,
//! provenance in its SOURCES.md; lab fixtures made by lab/*.sh) or cut from them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
}

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures").join(rel);
    assert!(p.is_file(), "missing {}", p.display());
    p
}

fn lab(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lab").join(name)
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracehound-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn not_a_capture_exits_3_with_the_file_named() {
    let p = tmp("notes.txt", b"this is not a capture file at all\n");
    let out = bin().args(["conversations"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("tracehound: "), "{err}");
    assert!(err.contains("notes.txt"), "{err}");
    let missing = bin().args(["analyze", "/nonexistent/x.pcap"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(3));
}

#[test]
fn a_capture_cut_short_is_analysed_up_to_the_cut_and_exits_4() {
    // zeek__ssh-dups.pcap cut in the middle of a packet record.
    let full = std::fs::read(shared("tcp/zeek__ssh-dups.pcap")).unwrap();
    let cut = tmp("cut.pcap", &full[..full.len() / 2 + 7]);
    let out = bin().args(["conversations", "--json"]).arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.pcap") && err.contains("analysed"), "{err}");
    let convs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(convs.len(), 1);
    assert!(convs[0]["packets"].as_u64().unwrap() > 100);
}

#[test]
fn standard_input_and_gzip_read_like_the_file() {
    let path = lab("net-healthy.pcap");
    let direct = bin().args(["conversations", "--json"]).arg(&path).output().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut child = bin()
        .args(["conversations", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    let strip = |s: &[u8]| {
        String::from_utf8_lossy(s)
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("file");
                v
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&direct.stdout), strip(&piped.stdout));
    // gzip: made with the system's gzip
    let gz = std::env::temp_dir().join(format!("tracehound-cli-gz-{}.pcap.gz", std::process::id()));
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -c '{}' > '{}'", path.display(), gz.display()))
        .status()
        .unwrap();
    assert!(st.success());
    let zipped = bin().args(["conversations", "--json"]).arg(&gz).output().unwrap();
    assert!(zipped.status.success());
    assert_eq!(strip(&direct.stdout), strip(&zipped.stdout));
    let _ = std::fs::remove_file(gz);
}

#[test]
fn conversation_json_has_the_documented_fields() {
    let out = bin()
        .args(["conversations", "--json"])
        .arg(lab("net-connect-unanswered.pcap"))
        .output()
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    for k in [
        "proto", "src", "sport", "dst", "dport", "state", "history", "packets", "bytes", "start",
        "end", "analysis",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    for k in [
        "retransmission",
        "fast_retransmission",
        "spurious_retransmission",
        "out_of_order",
        "lost_segment",
        "ack_lost_segment",
        "duplicate_ack",
        "zero_window",
        "zero_window_probe",
        "window_full",
        "window_update",
        "keep_alive",
        "keep_alive_ack",
        "reused_ports",
    ] {
        assert!(v["analysis"].get(k).is_some_and(|n| n.is_u64()), "analysis.{k}");
    }
    assert_eq!(v["state"], "S0");
    assert!(v["analysis"]["retransmission"].as_u64().unwrap() >= 2);
}

#[test]
fn filters_and_top_select_conversations() {
    let p = shared("dcerpc/dcerpc__zerologon__input.pcap");
    let count = |args: &[&str]| {
        let out = bin().arg("conversations").args(args).arg("--json").arg(&p).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    let all = count(&[]);
    let p135 = count(&["--port", "135"]);
    let p445 = count(&["--port", "445"]);
    assert!(p135 > 0 && p445 > 0 && p135 + p445 < all, "{all} {p135} {p445}");
    assert_eq!(count(&["--top", "3"]), 3);
    assert_eq!(count(&["--host", "192.0.2.1"]), 0);
    assert_eq!(count(&["--proto", "udp"]), 0);
}

#[test]
fn bad_command_lines_exit_2_and_help_exits_0() {
    assert_eq!(bin().args(["conversations"]).output().unwrap().status.code(), Some(2));
    assert_eq!(
        bin().args(["analyze", "--fail-on", "sometimes", "x"]).output().unwrap().status.code(),
        Some(2)
    );
    for cmd in ["analyze", "conversations", "rpc"] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Examples:"), "{cmd}");
    }
    assert!(bin().arg("--version").output().unwrap().status.success());
}

#[test]
fn rpc_json_calls_and_endpoints() {
    let out =
        bin().args(["rpc", "--json"]).arg(lab("rpc-epm-map-then-call.pcap")).output().unwrap();
    let calls: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let map = calls.iter().find(|c| c["operation"] == "ept_map").expect("ept_map call");
    let ep = &map["endpoints"][0];
    assert!(ep["binding"].as_str().unwrap().starts_with("ncacn_ip_tcp:"));
    let port = ep["port"].as_u64().unwrap();
    assert!(calls.iter().any(|c| c["dport"].as_u64() == Some(port)
        && c["interface"] == "samr"
        && c["outcome"] == "ok"));
    let out = bin()
        .args(["rpc", "--endpoints", "--json"])
        .arg(lab("rpc-epm-map-then-call.pcap"))
        .output()
        .unwrap();
    let eps: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0]["follow_up"], "answered");
    assert_eq!(eps[0]["port"].as_u64(), Some(port));
    for k in ["binding", "handed_out_by", "asked_address"] {
        assert!(eps[0].get(k).is_some(), "{k}");
    }
}

#[test]
fn rpc_association_parameters_match_tshark() {
    // The bind_ack's max_xmit_frag / max_recv_frag / assoc_group, as tshark reads them.
    let path = lab("rpc-epm-map-then-call.pcap");
    let ts = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&path)
        .args([
            "-Y",
            "dcerpc.pkt_type == 12",
            "-T",
            "fields",
            "-e",
            "dcerpc.cn_max_xmit",
            "-e",
            "dcerpc.cn_max_recv",
            "-e",
            "dcerpc.cn_assoc_group",
        ])
        .output()
        .expect("tshark installed");
    let acks: Vec<Vec<u64>> = String::from_utf8_lossy(&ts.stdout)
        .lines()
        .map(|l| {
            l.split('\t')
                .map(|v| {
                    if let Some(h) = v.strip_prefix("0x") {
                        u64::from_str_radix(h, 16).unwrap()
                    } else {
                        v.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect();
    assert!(!acks.is_empty());
    let out = bin().args(["rpc", "--json"]).arg(&path).output().unwrap();
    let calls: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for c in &calls {
        let a = &c["association"];
        let ours = vec![
            a["max_xmit_frag"].as_u64().unwrap(),
            a["max_recv_frag"].as_u64().unwrap(),
            a["assoc_group"].as_u64().unwrap(),
        ];
        assert!(acks.contains(&ours), "{ours:?} not among tshark's bind_acks {acks:?}");
    }
}

#[test]
fn every_error_starts_with_tracehound_and_is_printed_once() {
    for args in [
        &["analyze", "--bogus", "x.pcap"][..],
        &["conversations"][..],
        &["analyze", "--fail-on", "sometimes", "x"][..],
        &["portqry", "-z"][..],
        &["portqry", "-n"][..],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("tracehound: "), "{args:?}: {err}");
        assert!(!err.contains("error: "), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A name that does not resolve (RFC 2606 .invalid): exit 3, said once, on stderr.
    let out = bin().args(["portqry", "-n", "nothing.invalid", "-e", "135"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("cannot resolve").count(), 1, "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("cannot resolve"));
}

#[test]
fn top_zero_and_plurals() {
    // net-loss.pcap: one TCP conversation (tshark -z conv,tcp lists one).
    let p = lab("net-loss.pcap");
    let out = bin().args(["conversations", "--top", "0"]).arg(&p).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("1 conversation (none shown: --top 0);"), "{text}");
    assert!(!text.contains("no conversations"), "{text}");
    let out = bin().args(["conversations"]).arg(&p).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\n1 conversation (all shown, by bytes); "), "{text}");
}

#[test]
fn conversation_times_are_the_capture_timestamps_exactly() {
    // tshark's frame.time_epoch of the first and last frame of the only conversation.
    let p = lab("net-loss.pcap");
    let t = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&p)
        .args(["-Y", "tcp", "-T", "fields", "-e", "frame.time_epoch"])
        .output()
        .expect("tshark installed");
    let epochs: Vec<String> =
        String::from_utf8_lossy(&t.stdout).lines().map(|l| l.trim().to_string()).collect();
    let (first, last) = (epochs.first().unwrap(), epochs.last().unwrap());
    let out = bin().args(["conversations", "--json"]).arg(&p).output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().to_string();
    // The number as written (not re-parsed as a float): tshark prints 9 digits, we print
    // the capture's 6 (a µs pcap); the value is the same decimal.
    let raw = |key: &str| {
        let i = line.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
        line[i..].split([',', '}']).next().unwrap().to_string()
    };
    assert_eq!(format!("{}000", raw("start")), *first);
    assert_eq!(format!("{}000", raw("end")), *last);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert!(v["start_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["start_time"].as_str().unwrap().len(), "2026-10-30T11:35:04.346843Z".len());
}

#[test]
fn rpc_json_times_equal_tsharks_frame_time_epoch_on_every_shared_capture() {
    // Each call's `ts` as written in the JSON (the digits, not a float re-parsed) against
    // tshark's frame.time_epoch of the same frame (tshark pads to 9 digits).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures/dcerpc");
    assert!(root.is_dir(), "shared captures missing at {}", root.display());
    let mut checked = 0;
    for e in std::fs::read_dir(&root).unwrap() {
        let p = e.unwrap().path();
        let out = bin().args(["rpc", "--json"]).arg(&p).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.is_empty() {
            continue;
        }
        let t = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&p)
            .args(["-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch"])
            .output()
            .expect("tshark installed");
        let epoch: std::collections::HashMap<u64, String> = String::from_utf8_lossy(&t.stdout)
            .lines()
            .filter_map(|l| {
                let (n, ts) = l.split_once('\t')?;
                Some((n.trim().parse().ok()?, ts.trim().to_string()))
            })
            .collect();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let frame = v["frame"].as_u64().unwrap();
            let i = line.find("\"ts\":").unwrap() + 5;
            let raw = line[i..].split([',', '}']).next().unwrap();
            let want = &epoch[&frame];
            let (ws, wf) = want.split_once('.').unwrap();
            let (rs, rf) = raw.split_once('.').unwrap();
            assert_eq!(rs, ws, "{}: frame {frame}", p.display());
            assert_eq!(format!("{rf:0<9}"), wf, "{}: frame {frame}: {raw} vs {want}", p.display());
            checked += 1;
        }
    }
    assert!(checked > 400, "{checked} calls checked");
}
