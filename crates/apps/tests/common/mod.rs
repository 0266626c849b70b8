//! Shared test helpers: run a real capture through the flows engine and the analyzer.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_apps::{AppAnalyzer, AppConfig, AppReport};
use tracehound_capture::CaptureReader;
use tracehound_flows::{Config, Conversation, Pass};

pub fn shared(rel: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures")).join(rel);
    assert!(p.exists(), "shared capture missing: {}", p.display());
    p
}

/// Feeds both the application and the DCE/RPC analyzers.
pub struct Tee {
    pub apps: AppAnalyzer,
    pub rpc: tracehound_rpc::RpcAnalyzer,
}

impl tracehound_flows::StreamHandler for Tee {
    fn tcp_data(
        &mut self,
        f: &tracehound_flows::FlowInfo,
        d: tracehound_flows::Dir,
        o: u64,
        data: &[u8],
        n: u64,
        ts: tracehound_flows::Timestamp,
    ) {
        self.apps.tcp_data(f, d, o, data, n, ts);
        self.rpc.tcp_data(f, d, o, data, n, ts);
    }
    fn tcp_gap(
        &mut self,
        f: &tracehound_flows::FlowInfo,
        d: tracehound_flows::Dir,
        o: u64,
        l: u64,
        n: u64,
        ts: tracehound_flows::Timestamp,
    ) {
        self.apps.tcp_gap(f, d, o, l, n, ts);
        self.rpc.tcp_gap(f, d, o, l, n, ts);
    }
    fn tcp_end(&mut self, f: &tracehound_flows::FlowInfo, ts: tracehound_flows::Timestamp) {
        self.apps.tcp_end(f, ts);
        self.rpc.tcp_end(f, ts);
    }
    fn udp(
        &mut self,
        f: &tracehound_flows::FlowInfo,
        d: tracehound_flows::Dir,
        data: &[u8],
        n: u64,
        ts: tracehound_flows::Timestamp,
    ) {
        self.apps.udp(f, d, data, n, ts);
        self.rpc.udp(f, d, data, n, ts);
    }
}

/// Everything the rules need from one capture.
pub struct All {
    pub apps: AppReport,
    pub rpc: tracehound_rpc::RpcReport,
    pub convs: Vec<Conversation>,
}

pub fn run_all(path: &Path) -> All {
    let mut r = CaptureReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pass = Pass::new(Config::default());
    let mut h = Tee {
        apps: AppAnalyzer::new(AppConfig::default()),
        rpc: tracehound_rpc::RpcAnalyzer::new(Default::default()),
    };
    let mut convs = Vec::new();
    while let Some(f) = r.next_frame().unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        pass.frame(&f, &mut h);
        convs.extend(pass.take_finished());
    }
    convs.extend(pass.finish(&mut h));
    All { apps: h.apps.finish(), rpc: h.rpc.finish(), convs }
}

pub fn lab(name: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")).join(name);
    assert!(p.exists(), "lab capture missing: {}", p.display());
    p
}

pub fn run(path: &Path) -> (AppReport, Vec<Conversation>) {
    let mut r = CaptureReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pass = Pass::new(Config::default());
    let mut a = AppAnalyzer::new(AppConfig::default());
    let mut convs = Vec::new();
    while let Some(f) = r.next_frame().unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        pass.frame(&f, &mut a);
        convs.extend(pass.take_finished());
    }
    convs.extend(pass.finish(&mut a));
    (a.finish(), convs)
}

/// tshark field output, one line per matching frame: (frame number, fields).
pub fn tshark(path: &Path, filter: &str, fields: &[&str]) -> Vec<(u64, Vec<String>)> {
    tshark_with(path, &[], filter, fields)
}

/// [`tshark`] with extra arguments (e.g. `-d tcp.port==80,tls`).
pub fn tshark_with(
    path: &Path,
    extra: &[&str],
    filter: &str,
    fields: &[&str],
) -> Vec<(u64, Vec<String>)> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(path).args(extra).args([
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
        "-e",
        "frame.number",
    ]);
    for f in fields {
        c.args(["-e", f]);
    }
    let out = c.output().expect("tshark is required for this test (/usr/bin/tshark)");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let mut parts = l.split('|').map(str::to_string);
            let n = parts.next().unwrap_or_default().parse().expect("frame number");
            (n, parts.collect())
        })
        .collect()
}
