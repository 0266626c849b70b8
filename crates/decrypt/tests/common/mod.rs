//! Helpers shared by the tshark comparison tests: fixtures, running the decryptor, and
//! tshark's "Follow TLS / TCP stream" of the same connections.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_decrypt::{keys, KeyLog, Options, Outcome};

/// A per-test-binary name for the temporary directory (the binaries run in parallel).
fn tag() -> &'static str {
    option_env!("CARGO_CRATE_NAME").unwrap_or("test")
}

pub fn fx(p: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/decrypt")).join(p)
}

pub fn out_path(name: &str) -> PathBuf {
    let d =
        std::env::temp_dir().join(format!("tracehound-decrypt-{}-{}", tag(), std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

pub fn password() -> String {
    std::fs::read_to_string(fx("keys/password.txt")).unwrap().trim().to_string()
}

/// Run the decryptor with key files and key logs, writing `out`.
pub fn decrypt(cap: &str, key_files: &[&str], keylogs: &[&str], out: &Path) -> Outcome {
    let mut o = Options::default();
    let pw = password();
    for k in key_files {
        o.keys.extend(keys::load(&fx(k), Some(&pw)).unwrap_or_else(|e| panic!("{e}")));
    }
    let mut kl = KeyLog::default();
    for k in keylogs {
        kl.add_text(k, &std::fs::read(fx(k)).unwrap());
    }
    o.keylog = kl;
    o.write = Some(out.to_path_buf());
    tracehound_decrypt::run(&fx(cap), o, None).unwrap()
}

/// Per stream index: (node 0 address, bytes node 0 → node 1, bytes node 1 → node 0), from
/// `-z follow,PROTO,raw` (tshark prints the requested streams in its own order).
pub fn follow(
    file: &Path,
    proto: &str,
    streams: usize,
    opts: &[String],
) -> Vec<(String, [Vec<u8>; 2])> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).arg("-q");
    for o in opts {
        cmd.arg("-o").arg(o);
    }
    for i in 0..streams {
        cmd.arg("-z").arg(format!("follow,{proto},raw,{i}"));
    }
    let out = cmd.output().expect("tshark must be installed (/usr/bin/tshark)");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut res = vec![(String::new(), [Vec::new(), Vec::new()]); streams];
    let mut cur: Option<usize> = None;
    let mut in_data = false;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Filter: tcp.stream eq ") {
            cur = n.trim().parse().ok();
            in_data = false;
        } else if let Some(a) = line.strip_prefix("Node 0: ") {
            if let Some(i) = cur {
                res[i].0 = a.trim().to_string();
            }
        } else if line.starts_with("Node 1:") {
            in_data = true;
        } else if line.starts_with("=====") {
            in_data = false;
        } else if in_data {
            let i = cur.expect("stream index");
            let (dir, hex) = match line.strip_prefix('\t') {
                Some(h) => (1, h),
                None => (0, line),
            };
            res[i].1[dir].extend(tracehound_decrypt::hex::decode(hex.trim()).expect("tshark hex"));
        }
    }
    res
}

/// The stream's bytes as [client → server, server → client].
pub fn by_client(s: &(String, [Vec<u8>; 2]), client: &str) -> [Vec<u8>; 2] {
    if s.0 == client {
        s.1.clone()
    } else {
        [s.1[1].clone(), s.1[0].clone()]
    }
}

pub fn rsa_opt(key: &str) -> String {
    format!("uat:rsa_keys:\"{}\",\"\"", fx(key).display())
}

pub fn keylog_opt(kl: &str) -> String {
    format!("tls.keylog_file:{}", fx(kl).display())
}

/// tshark's TLS follow of the original equals its TCP follow of ours, for every session we
/// decrypted; returns the number of sessions compared.
pub fn assert_same_as_tshark(cap: &str, res: &Outcome, out: &Path, opts: &[String]) -> usize {
    let n = res.sessions.len();
    let want = follow(&fx(cap), "tls", n, opts);
    let got = follow(out, "tcp", n, &[]);
    assert_eq!(want.len(), n, "{cap}: tshark streams");
    let mut compared = 0;
    for (i, s) in res.sessions.iter().enumerate() {
        if !s.decrypted {
            continue;
        }
        let client = format!("{}:{}", s.src, s.sport);
        let (want, got) = (by_client(&want[i], &client), by_client(&got[i], &client));
        assert!(
            !want[0].is_empty() || !want[1].is_empty(),
            "{cap} stream {i}: tshark decrypted nothing"
        );
        for d in 0..2 {
            assert_eq!(
                got[d], want[d],
                "{cap} stream {i} direction {d}: plaintext differs from tshark's"
            );
        }
        assert_eq!(s.client_bytes, want[0].len() as u64);
        assert_eq!(s.server_bytes, want[1].len() as u64);
        compared += 1;
    }
    compared
}

pub fn http_requests(out: &Path) -> Vec<String> {
    let o = Command::new("tshark")
        .arg("-r")
        .arg(out)
        .args(["-Y", "http.request", "-T", "fields", "-e", "http.request.uri"])
        .output()
        .expect("tshark");
    String::from_utf8(o.stdout).unwrap().lines().map(|l| l.to_string()).collect()
}

pub fn through<H: tracehound_flows::StreamHandler>(cap: &Path, h: &mut H) {
    let mut rd = tracehound_capture::CaptureReader::open(cap).unwrap();
    let mut pass = tracehound_flows::Pass::new(tracehound_flows::Config::default());
    while let Some(f) = rd.next_frame().unwrap() {
        pass.frame(&f, h);
    }
    pass.finish(h);
}
