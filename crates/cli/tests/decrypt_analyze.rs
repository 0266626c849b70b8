//! `analyze`, `rpc` and `conversations` with `--key` / `--keylog` (issue 9 item 5): the
//! plaintext of the TLS sessions that decrypt goes to the same rules in the same pass, and
//! `tls.not_decryptable` says why the others could not be opened.
//!
//! Captures: tests/fixtures/decrypt (lab/tls-decrypt/make.sh: openssl s_server / s_client
//! and curl in network namespaces, keys in every format) and
//! tests/fixtures/decrypt-analyze/https-errors.pcap (lab/tls-decrypt-analyze/make.sh: a
//! Python HTTPS server, TLS 1.2 RSA key exchange, answering curl 200, 404, 500 and slow
//! 200s on one connection; ldaps.py, a hand-made LDAPS peer refusing ldapsearch's bind;
//! rpctls.py, DCE/RPC inside TLS 1.3 with the client's key log). tshark's own decryption
//! cross-checks what is inside.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fx(p: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(p);
    assert!(p.exists(), "missing {}", p.display());
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(args)
        .stdin(Stdio::null())
        .env_remove("TRACEHOUND_KEY_PASSWORD")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `analyze --json` findings.
fn findings(args: &[&str]) -> Vec<Value> {
    let mut a = vec!["analyze", "--json"];
    a.extend_from_slice(args);
    let o = run(&a);
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 1),
        "{a:?}: {:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn with_id<'a>(fs: &'a [Value], id: &str) -> Vec<&'a Value> {
    fs.iter().filter(|f| f["id"] == id).collect()
}

/// HTTP status codes tshark sees inside the TLS of `cap` when decrypting with `key`.
fn tshark_http_codes(cap: &Path, key: &Path) -> Vec<i64> {
    let o = Command::new("tshark")
        .args(["-r", s(cap), "-o", &format!("tls.keys_list:0.0.0.0,443,http,{}", s(key))])
        .args(["-Y", "http.response", "-T", "fields", "-e", "http.response.code"])
        .stderr(Stdio::null())
        .output()
        .expect("tshark is required (/usr/bin/tshark)");
    assert!(o.status.success());
    stdout(&o).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

#[test]
fn http_errors_inside_tls_become_findings_with_the_key_only() {
    let cap = fx("decrypt-analyze/https-errors.pcap");
    let key = fx("decrypt/keys/key-pkcs8.pem");
    // What is inside, by tshark's own decryption.
    let codes = tshark_http_codes(&cap, &key);
    assert_eq!(codes, [200, 404, 500, 200, 200, 200], "tshark's view of the capture");

    let plain = findings(&[s(&cap)]);
    assert!(with_id(&plain, "http.errors").is_empty(), "no key: HTTP is invisible: {plain:?}");
    assert!(with_id(&plain, "tls.not_decryptable").is_empty());

    let dec = findings(&["--key", s(&key), s(&cap)]);
    let http = with_id(&dec, "http.errors");
    assert_eq!(http.len(), 1, "{dec:?}");
    let h = http[0];
    assert_eq!(h["severity"], "problem");
    assert_eq!(h["evidence"]["values"]["errors"], 2);
    assert_eq!(h["evidence"]["values"]["by_status"]["404"], 1);
    assert_eq!(h["evidence"]["values"]["by_status"]["500"], 1);
    let lines = h["evidence"]["lines"].to_string();
    assert!(lines.contains("10.114.0.1:443") && lines.contains("/missing"), "{lines}");
    // Everything decrypted: nothing to say about it.
    assert!(with_id(&dec, "tls.not_decryptable").is_empty(), "{dec:?}");
    // The rest of the analysis is unchanged by the key.
    for id in ["tcp.nagle_delayed_ack", "capture.artifact"] {
        assert_eq!(with_id(&plain, id).len(), with_id(&dec, id).len(), "{id}");
    }
}

#[test]
fn every_key_format_and_password_source_gives_the_same_findings() {
    let cap = fx("decrypt-analyze/https-errors.pcap");
    let want = findings(&["--key", s(&fx("decrypt/keys/key-pkcs8.pem")), s(&cap)]);
    let pwfile = fx("decrypt/keys/password.txt");
    for key in ["key-pkcs1.der", "key-nopass.pfx", "key-modern.pfx", "key-legacy-enc.pem"] {
        let k = fx(&format!("decrypt/keys/{key}"));
        let got = findings(&["--key", s(&k), "--key-password-file", s(&pwfile), s(&cap)]);
        assert_eq!(got, want, "{key}");
    }
    // The password from the environment, as for `decrypt`.
    let o = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(["analyze", "--json", "--key", s(&fx("decrypt/keys/key-legacy.pfx")), s(&cap)])
        .env("TRACEHOUND_KEY_PASSWORD", std::fs::read_to_string(&pwfile).unwrap().trim())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let got: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(got, want, "password from TRACEHOUND_KEY_PASSWORD");
    // No password (no terminal to ask on): a clear error, exit 3, for every command.
    for cmd in ["analyze", "rpc", "conversations"] {
        let o = run(&[cmd, "--key", s(&fx("decrypt/keys/key-modern.pfx")), s(&cap)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{cmd}: {err}");
        assert!(err.starts_with("tracehound: ") && err.contains("password"), "{cmd}: {err}");
        assert!(!err.contains("tracehound-lab"), "the password is never printed");
    }
}

#[test]
fn ecdhe_with_only_the_rsa_key_is_not_decryptable_naming_forward_secrecy() {
    let cap = fx("decrypt/ecdhe.pcap");
    let f = findings(&["--key", s(&fx("decrypt/keys/key-pkcs1.pem")), s(&cap)]);
    let nd = with_id(&f, "tls.not_decryptable");
    assert_eq!(nd.len(), 1, "{f:?}");
    let n = nd[0];
    assert_eq!(n["severity"], "info");
    assert!(n["title"].as_str().unwrap().contains("forward secrecy"), "{}", n["title"]);
    let lines = n["evidence"]["lines"].to_string();
    assert!(lines.contains("10.91.0.2:49834 → 10.91.0.1:443 (frame 4)"), "{lines}");
    assert!(lines.contains("SSLKEYLOGFILE"), "says how to get a key log: {lines}");
    assert_eq!(n["evidence"]["values"]["sessions"], 1);
    assert_eq!(n["evidence"]["values"]["not_decrypted"], 1);
    assert_eq!(n["evidence"]["frames"], serde_json::json!([4]));
    // Without keys the rule says nothing; with the client's key log the session opens.
    assert!(with_id(&findings(&[s(&cap)]), "tls.not_decryptable").is_empty());
    let kl = findings(&["--keylog", s(&fx("decrypt/ecdhe.keylog")), s(&cap)]);
    assert!(with_id(&kl, "tls.not_decryptable").is_empty(), "{kl:?}");
}

#[test]
fn tls13_needs_a_key_log_or_the_pcapng_secrets() {
    let key = fx("decrypt/keys/key-pkcs8.pem");
    let f = findings(&["--key", s(&key), s(&fx("decrypt/tls13.pcap"))]);
    let nd = with_id(&f, "tls.not_decryptable");
    assert_eq!(nd.len(), 1, "{f:?}");
    assert!(nd[0]["evidence"]["lines"].to_string().contains("TLS 1.3 without secrets"));
    let kl = findings(&["--keylog", s(&fx("decrypt/tls13.keylog")), s(&fx("decrypt/tls13.pcap"))]);
    assert!(with_id(&kl, "tls.not_decryptable").is_empty(), "{kl:?}");
    // The decryption secrets block of the pcapng is used once decryption is asked for.
    let dsb = findings(&["--key", s(&key), s(&fx("decrypt/tls13-dsb.pcapng"))]);
    assert!(with_id(&dsb, "tls.not_decryptable").is_empty(), "{dsb:?}");
}

#[test]
fn conversations_say_which_tls_sessions_decrypted() {
    let cap = fx("decrypt/rsa-gcm.pcap");
    let key = fx("decrypt/keys/key-pkcs1.pem");
    let o = run(&["conversations", "--json", "--key", s(&key), s(&cap)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let convs: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The decrypt command's own verdicts for the same capture and key.
    let d = run(&["decrypt", "--json", "--key", s(&key), s(&cap)]);
    let sessions: Vec<Value> =
        stdout(&d).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(convs.len(), 2);
    assert_eq!(sessions.len(), 2);
    for c in &convs {
        let t = &c["tls"];
        let sess = sessions.iter().find(|x| x["sport"] == c["sport"]).unwrap();
        assert_eq!(t["decrypted"], true, "{c}");
        for k in ["client_bytes", "server_bytes", "records", "first_frame", "cipher", "sni"] {
            assert_eq!(t[k], sess[k], "{k}");
        }
    }
    // Without keys: no tls object, and the rest of each line is the same.
    let o = run(&["conversations", "--json", s(&cap)]);
    let plain: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for (p, mut c) in plain.iter().zip(convs.clone()) {
        assert!(p.get("tls").is_none());
        c.as_object_mut().unwrap().remove("tls");
        assert_eq!(*p, c);
    }
    // Text: the verdicts under the table, with the reason for a session not opened.
    let o = run(&["conversations", "--key", s(&key), s(&fx("decrypt/ecdhe.pcap"))]);
    let text = stdout(&o);
    assert!(text.contains("TLS: 1 session, 0 decrypted"), "{text}");
    assert!(text.contains("not decrypted: 10.91.0.2:49834 → 10.91.0.1:443"), "{text}");
    assert!(text.contains("forward secrecy"), "{text}");
}

#[test]
fn traffic_that_is_not_tls_is_analysed_the_same_with_keys() {
    // Real DCE/RPC (over TCP and SMB) captures: with a key given, every byte goes through the
    // decryptors and comes out unchanged, so calls and findings are the same.
    let key = fx("decrypt/keys/key-pkcs1.pem");
    let shared = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(shared.is_dir(), "shared captures missing: {}", shared.display());
    for cap in [fx("lab/rpc-smb-pipe.pcap"), shared.join("dcerpc/dcerpc-smb-test-01__input.pcap")] {
        let plain = run(&["rpc", "--json", s(&cap)]);
        let dec = run(&["rpc", "--json", "--key", s(&key), s(&cap)]);
        assert!(!plain.stdout.is_empty(), "{}: calls", cap.display());
        assert_eq!(stdout(&plain), stdout(&dec), "{}: rpc", cap.display());
        let fp = findings(&[s(&cap)]);
        let fd = findings(&["--key", s(&key), s(&cap)]);
        assert_eq!(fp, fd, "{}: analyze", cap.display());
    }
}

#[test]
fn decrypting_analysis_is_deterministic() {
    // Two decryptors on two worker threads: the same report every time.
    let cap = fx("decrypt-analyze/https-errors.pcap");
    let key = fx("decrypt/keys/key-pkcs8.pem");
    let first = stdout(&run(&["analyze", "--json", "--key", s(&key), s(&cap)]));
    for _ in 0..3 {
        assert_eq!(stdout(&run(&["analyze", "--json", "--key", s(&key), s(&cap)])), first);
    }
}

#[test]
fn ldap_bind_failure_inside_ldaps_is_seen_with_the_key() {
    // lab/tls-decrypt-analyze/ldaps.py (a hand-made LDAPS peer) refusing ldapsearch's bind.
    let cap = fx("decrypt-analyze/ldaps-bind.pcap");
    let key = fx("decrypt/keys/key-pkcs8.pem");
    // tshark's decryption: the bindResponse inside is invalidCredentials (49).
    let o = Command::new("tshark")
        .args(["-r", s(&cap), "-o", &format!("tls.keys_list:0.0.0.0,636,ldap,{}", s(&key))])
        .args(["-Y", "ldap.protocolOp == 1", "-T", "fields", "-e", "ldap.resultCode"])
        .stderr(Stdio::null())
        .output()
        .expect("tshark is required");
    assert_eq!(stdout(&o).trim(), "49", "tshark's view");
    assert!(with_id(&findings(&[s(&cap)]), "ldap.bind_failure").is_empty());
    let f = findings(&["--key", s(&key), s(&cap)]);
    let b = with_id(&f, "ldap.bind_failure");
    assert_eq!(b.len(), 1, "{f:?}");
    assert!(b[0]["title"].as_str().unwrap().contains("invalidCredentials"), "{}", b[0]["title"]);
    assert!(b[0]["evidence"].to_string().contains("10.114.0.1"), "{}", b[0]["evidence"]);
}

/// DCE/RPC PDUs (type, call id, fault status) in tshark's decrypted TLS stream of `cap`.
fn tshark_rpc_pdus(cap: &Path, keylog: &Path) -> Vec<(u8, u32, Option<u32>)> {
    let o = Command::new("tshark")
        .args(["-r", s(cap), "-o", &format!("tls.keylog_file:{}", s(keylog))])
        .args(["-d", "tcp.port==49700,tls", "-q", "-z", "follow,tls,raw,0"])
        .stderr(Stdio::null())
        .output()
        .expect("tshark is required");
    let mut out = Vec::new();
    for line in stdout(&o).lines() {
        let hex = line.trim();
        if hex.len() < 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let b: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        // One PDU per TLS record here (the peers send each PDU with one write).
        assert_eq!(b[0], 5, "DCE/RPC version 5");
        let call = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        let status = (b[2] == 3).then(|| u32::from_le_bytes([b[24], b[25], b[26], b[27]]));
        out.push((b[2], call, status));
    }
    out
}

#[test]
fn rpc_with_a_key_log_sees_dcerpc_inside_tls13() {
    // lab/tls-decrypt-analyze/rpctls.py: bind to srvsvc, NetrServerGetInfo answered,
    // NetrShareEnum refused with a fault, inside TLS 1.3 (the client's key log).
    let cap = fx("decrypt-analyze/rpc-tls13.pcap");
    let kl = fx("decrypt-analyze/rpc-tls13.keylog");
    let pdus = tshark_rpc_pdus(&cap, &kl);
    let requests: Vec<u32> = pdus.iter().filter(|p| p.0 == 0).map(|p| p.1).collect();
    let fault = pdus.iter().find(|p| p.0 == 3).expect("tshark: a fault PDU");
    assert_eq!(requests, [2, 3], "tshark: {pdus:?}");

    let o = run(&["rpc", "--json", s(&cap)]);
    assert!(stdout(&o).is_empty(), "without the key log: no calls");
    let o = run(&["rpc", "--json", "--keylog", s(&kl), s(&cap)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let calls: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(calls.len(), requests.len(), "{calls:?}");
    assert!(calls.iter().all(|c| c["interface"] == "srvsvc" && c["dport"] == 49700));
    assert_eq!(calls[0]["operation"], "NetrServerGetInfo");
    assert_eq!(calls[0]["outcome"], "ok");
    assert_eq!(calls[1]["operation"], "NetrShareEnum");
    assert_eq!(calls[1]["outcome"], "fault");
    assert_eq!(calls[1]["status_code"], fault.2.unwrap(), "{}", calls[1]);
    // analyze: the refusal becomes a finding.
    let f = findings(&["--keylog", s(&kl), s(&cap)]);
    assert_eq!(with_id(&f, "rpc.refused").len(), 1, "{f:?}");
    assert!(with_id(&findings(&[s(&cap)]), "rpc.refused").is_empty());
}
