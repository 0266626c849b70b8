//! Compact half-open flows, the memory budget and the attempt summary, on real captures: the
//! shared captures (../shared/captures, provenance in its SOURCES.md) and the lab's nmap SYN
//! scan (tests/fixtures/lab/net-nmap-scan.pcap, made by bench/lab-nmap-scan.sh: a real
//! `nmap -sS` of a namespace host, captured with tcpdump).

use std::path::{Path, PathBuf};

use tracehound_capture::{CaptureReader, Timestamp};
use tracehound_flows::{Config, Conversation, Dir, FlowInfo, Pass, StreamHandler, COMPACT_BYTES};

fn shared() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(p.is_dir(), "shared captures missing at {}", p.display());
    p
}

fn lab(name: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")).join(name);
    assert!(p.is_file(), "missing {}", p.display());
    p
}

/// Records every handler call, to check that both engines feed analyzers the same way.
#[derive(Default)]
struct Log(Vec<String>);
impl StreamHandler for Log {
    fn tcp_data(&mut self, f: &FlowInfo, d: Dir, off: u64, data: &[u8], fr: u64, _: Timestamp) {
        self.0.push(format!("data {} {d:?} {off} {} {fr}", f.id, data.len()));
    }
    fn tcp_gap(&mut self, f: &FlowInfo, d: Dir, off: u64, len: u64, fr: u64, _: Timestamp) {
        self.0.push(format!("gap {} {d:?} {off} {len} {fr}", f.id));
    }
    fn tcp_end(&mut self, f: &FlowInfo, _: Timestamp) {
        self.0.push(format!("end {}", f.id));
    }
    fn udp(&mut self, f: &FlowInfo, d: Dir, data: &[u8], fr: u64, _: Timestamp) {
        self.0.push(format!("udp {} {d:?} {} {fr}", f.id, data.len()));
    }
}

fn run(path: &Path, cfg: Config, h: &mut dyn StreamHandler) -> (Vec<Conversation>, Pass) {
    let mut r = CaptureReader::open(path).unwrap();
    let mut pass = Pass::new(cfg);
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        pass.frame(&f, h);
        out.extend(pass.take_finished());
    }
    loop {
        let b = pass.finish_batch(h, 7);
        if b.is_empty() {
            break;
        }
        out.extend(b);
    }
    out.sort_by_key(|c| c.info.id);
    (out, pass)
}

#[test]
fn compact_and_full_tracking_agree_on_every_shared_capture() {
    // Same conversations, same analyzer calls in the same order, with and without compact
    // records, on every shared capture and every lab fixture, payload delivered or not.
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["tcp", "dcerpc", "tls"] {
        for e in std::fs::read_dir(shared().join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    let lab_dir = lab("net-nmap-scan.pcap").parent().unwrap().to_path_buf();
    for e in std::fs::read_dir(lab_dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            files.push(p);
        }
    }
    files.sort();
    let mut compact_seen = 0;
    for f in &files {
        for deliver in [true, false] {
            // Compact from the first flow on (by default only above 10,000 live flows).
            let cfg =
                Config { deliver_payload: deliver, compact_above_live: 0, ..Config::default() };
            let (mut l1, mut l2) = (Log::default(), Log::default());
            let (a, pa) = run(f, cfg.clone(), &mut l1);
            let (b, _) = run(f, Config { compact: false, ..cfg }, &mut l2);
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{} deliver={deliver}", f.display());
            assert_eq!(l1.0, l2.0, "{} deliver={deliver}", f.display());
            compact_seen += pa.engine.stats().compact_flows_peak;
        }
    }
    assert!(compact_seen > 100, "{compact_seen}");
}

fn tshark_count(path: &Path, filter: &str) -> u64 {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark is required for this test");
    assert!(out.status.success(), "tshark failed on {filter}");
    String::from_utf8_lossy(&out.stdout).lines().count() as u64
}

#[test]
fn nmap_scan_is_summed_up_by_source() {
    // bench/lab-nmap-scan.sh: `nmap -sS -p 1-2000 --max-retries 1` of 10.89.1.2 from
    // 10.89.1.1; ports 22 and 1080 listen, 1500-1999 are dropped (nmap retries them once,
    // from another source port), the rest are closed. Counts cross-checked with tshark.
    let path = lab("net-nmap-scan.pcap");
    let (convs, pass) = run(&path, Config::default(), &mut Log::default());
    let s = &pass.engine.stats().attempts;
    let scanner: std::net::IpAddr = "10.89.1.1".parse().unwrap();
    let src = s.by_source.get(&scanner).expect("scanner counted");
    let syns = tshark_count(&path, "tcp.flags == 0x002 && ip.src == 10.89.1.1");
    let rsts = tshark_count(&path, "tcp.flags.reset == 1 && ip.src == 10.89.1.2");
    let synacks = tshark_count(&path, "tcp.flags == 0x012 && ip.src == 10.89.1.2");
    assert_eq!(src.counts.attempts, syns);
    assert_eq!(src.counts.rejected, rsts);
    assert_eq!(src.counts.answered, synacks);
    assert_eq!(src.counts.unanswered, syns - rsts - synacks);
    assert_eq!(src.ports.count(), 2000);
    assert_eq!(src.hosts.count(), 1);
    assert_eq!(src.open.count() as u64, synacks);
    // Every attempt counted once: equal to the attempt-only conversations.
    let n = convs.iter().filter(|c| c.is_attempt_only()).count() as u64;
    assert_eq!(s.counts.attempts, n);
}

#[test]
fn memory_budget_ends_idle_attempts_early_and_says_so() {
    // The scan capture with a budget of a few hundred compact flows: attempts idle for more
    // than 5 s end early, then the longest idle are closed; counted, never silent, and every
    // flow still ends through the handler (one `end` per TCP flow).
    let budget = 300 * (COMPACT_BYTES + 64);
    let cfg = Config { memory_budget: budget, compact_above_live: 0, ..Config::default() };
    let mut log = Log::default();
    let (convs, pass) = run(&lab("net-nmap-scan.pcap"), cfg, &mut log);
    let st = pass.engine.stats();
    assert!(st.memory_budget_hits > 0);
    assert!(st.evicted_by_limit + st.expired_early_by_budget > 0);
    let tcp = convs.iter().filter(|c| c.info.proto == tracehound_flows::Proto::Tcp).count();
    assert_eq!(log.0.iter().filter(|l| l.starts_with("end ")).count(), tcp);
}
