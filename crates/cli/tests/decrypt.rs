//! `tracehound decrypt` at its edges: key and password errors, key log warnings, the JSON
//! fields, the written capture's mode, --follow. Captures and keys are made by
//! lab/tls-decrypt/make.sh (openssl s_server / curl in network namespaces).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fx(p: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/decrypt").join(p);
    assert!(p.exists(), "missing {}", p.display());
    p
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracehound-cli-decrypt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(args: &[&str], env_pw: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tracehound"));
    c.arg("decrypt").args(args).stdin(Stdio::null()).env_remove("TRACEHOUND_KEY_PASSWORD");
    if let Some(p) = env_pw {
        c.env("TRACEHOUND_KEY_PASSWORD", p);
    }
    c.output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn wrong_or_missing_password_is_a_clear_error() {
    let cap = fx("rsa-gcm.pcap");
    for key in [
        "keys/key-modern.pfx",
        "keys/key-legacy.pfx",
        "keys/key-pkcs8-enc.pem",
        "keys/key-legacy-enc.pem",
    ] {
        let k = fx(key);
        let o = run(&["--key", s(&k), s(&cap)], Some("definitely-wrong"));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{key}: {err}");
        assert!(err.starts_with("tracehound: ") && err.contains("wrong password"), "{key}: {err}");
        assert!(!err.contains("definitely-wrong"), "the password is never printed");
        let o = run(&["--key", s(&k), s(&cap)], None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("the key is encrypted") && err.contains("TRACEHOUND_KEY_PASSWORD"),
            "{key}: {err}"
        );
    }
    // The password file works, and is the only other way in.
    let pwf = fx("keys/password.txt");
    let o = run(
        &[
            "--key",
            s(&fx("keys/key-modern.pfx")),
            "--key-password-file",
            s(&pwf),
            "--json",
            s(&cap),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn truncated_and_garbage_key_files_are_clear_errors() {
    let good = std::fs::read(fx("keys/key-legacy.pfx")).unwrap();
    let cut = tmp("cut.pfx");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let garbage = tmp("garbage.pem");
    std::fs::write(&garbage, b"this is not a key\n").unwrap();
    for (k, want) in [(&cut, "truncated file?"), (&garbage, "not a PEM, DER or PKCS#12")] {
        let o = run(&["--key", s(k), s(&fx("rsa-gcm.pcap"))], Some("tracehound-lab"));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3));
        assert!(err.starts_with(&format!("tracehound: {}", s(k))) && err.contains(want), "{err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn key_log_garbage_lines_are_warnings_with_line_numbers() {
    let kl = tmp("mixed.keylog");
    let mut text = std::fs::read_to_string(fx("tls13.keylog")).unwrap();
    text.push_str("garbage here\nCLIENT_RANDOM 00 11\n");
    std::fs::write(&kl, text).unwrap();
    let o = run(&["--keylog", s(&kl), "--json", s(&fx("tls13.pcap"))], None);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    let n = std::fs::read_to_string(&kl).unwrap().lines().count();
    assert!(err.contains(&format!("line {}: expected three fields", n - 1)), "{err}");
    assert!(err.contains(&format!("line {n}: expected a 32-byte client random")), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["decrypted"], true);
}

#[test]
fn json_fields_written_capture_and_follow() {
    let out = tmp("plain.pcapng");
    let o = run(
        &["--key", s(&fx("keys/key-pkcs1.pem")), "--json", "-w", s(&out), s(&fx("rsa-gcm.pcap"))],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for f in [
        "src",
        "sport",
        "dst",
        "dport",
        "sni",
        "version",
        "cipher",
        "key_exchange",
        "decrypted",
        "reason",
        "records",
        "client_bytes",
        "server_bytes",
        "first_frame",
    ] {
        assert!(lines[0].get(f).is_some(), "field {f} missing");
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&out).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // The pcapng comment on the session's first packet says what was done.
    let c = Command::new("tshark")
        .arg("-r")
        .arg(&out)
        .args(["-T", "fields", "-e", "frame.comment"])
        .output()
        .unwrap();
    let comments = String::from_utf8_lossy(&c.stdout);
    assert!(
        comments.contains("TLS 1.2 session (TLS_RSA_WITH_AES_128_GCM_SHA256) decrypted")
            && comments.contains("443→80"),
        "{comments}"
    );
    let o = run(&["--key", s(&fx("keys/key-pkcs1.der")), "--follow", s(&fx("rsa-gcm.pcap"))], None);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("GET /one HTTP/1.1") && text.contains("HTTP/1.0 200 ok"), "{text}");
}

#[test]
fn writing_over_the_input_is_refused() {
    let cap = tmp("self.pcap");
    std::fs::copy(fx("rsa-gcm.pcap"), &cap).unwrap();
    let before = std::fs::read(&cap).unwrap();
    let o = run(&["--key", s(&fx("keys/key-pkcs8.pem")), "-w", s(&cap), s(&cap)], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("is the capture being read"), "{err}");
    assert_eq!(std::fs::read(&cap).unwrap(), before);
}

#[test]
fn early_data_is_in_the_table_as_in_the_json() {
    // lab/tls-decrypt/early-data.sh: one plain resumption-maker, one 0-RTT accepted, one
    // rejected (anti-replay). The table's 0-RTT lines say what the JSON's `early_data` says.
    let (keylog, cap) = (fx("early.keylog"), fx("early.pcap"));
    let args = ["--keylog", s(&keylog), s(&cap)];
    let o = run(&args, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let o = run(&[&args[..], &["--json"]].concat(), None);
    let json: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let early: Vec<&serde_json::Value> =
        json.iter().filter(|v| v.get("early_data").is_some_and(|e| !e.is_null())).collect();
    assert_eq!(early.len(), 2, "{json:?}");
    let (_, block) = text.split_once("\n0-RTT early data:\n").expect(&text);
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(lines.len(), early.len(), "{text}");
    for (line, v) in lines.iter().zip(early) {
        let want = format!(
            "  {}:{} → {}:{} (frame {}): {}",
            v["src"].as_str().unwrap(),
            v["sport"],
            v["dst"].as_str().unwrap(),
            v["dport"],
            v["first_frame"],
            v["early_data"].as_str().unwrap()
        );
        assert_eq!(*line, want);
    }
    assert!(lines[0].contains("accepted") && lines[1].contains("rejected"), "{text}");
}
