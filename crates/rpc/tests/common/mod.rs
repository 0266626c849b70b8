//! Test driver: runs the real pipeline (capture reader -> flows Pass -> RpcAnalyzer) over a
//! capture file.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_capture::CaptureReader;
use tracehound_flows::{Config, Conversation, Pass};
use tracehound_rpc::{Call, RpcAnalyzer, RpcReport};

/// The shared captures folder; panics (fails the test) when it is missing.
pub fn shared() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(p.is_dir(), "shared captures missing at {}", p.display());
    p
}

pub fn dcerpc(name: &str) -> PathBuf {
    let p = shared().join("dcerpc").join(name);
    assert!(p.is_file(), "capture missing: {}", p.display());
    p
}

pub struct Run {
    pub calls: Vec<Call>,
    pub report: RpcReport,
    pub convs: Vec<Conversation>,
}

/// Runs the analyzer over `path`, draining calls as the CLI would.
pub fn run(path: &Path) -> Run {
    let mut rd = CaptureReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pass = Pass::new(Config::default());
    let mut an = RpcAnalyzer::default();
    let mut calls = Vec::new();
    let mut convs = Vec::new();
    while let Some(f) = rd.next_frame().expect("capture readable") {
        pass.frame(&f, &mut an);
        calls.extend(an.take_calls());
        convs.extend(pass.take_finished());
    }
    convs.extend(pass.finish(&mut an));
    let mut report = an.finish();
    calls.append(&mut report.calls);
    calls.sort_by_key(|c| (c.frame, c.opnum));
    Run { calls, report, convs }
}

/// Runs tshark, failing the test when it is absent.
pub fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark must be installed (tests compare with it)");
    assert!(
        out.status.success(),
        "tshark {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}
