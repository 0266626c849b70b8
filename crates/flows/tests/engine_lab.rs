//! The engine's own detectors and its in-order stream delivery, on lab captures made with
//! real Linux TCP stacks in network namespaces (lab/net/*.sh; facts in the .expect.json files
//! written from tshark's reading).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_capture::{CaptureReader, Timestamp};
use tracehound_flows::{Config, Conversation, Dir, FlowInfo, Pass, StreamHandler};

fn lab(name: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")).join(name);
    assert!(p.is_file(), "missing {}", p.display());
    p
}

fn run<H: StreamHandler>(path: &Path, cfg: Config, h: &mut H) -> Vec<Conversation> {
    let mut r = CaptureReader::open(path).unwrap();
    let mut pass = Pass::new(cfg);
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        pass.frame(&f, h);
        out.extend(pass.take_finished());
    }
    out.extend(pass.finish(h));
    out
}

fn convs(name: &str) -> Vec<Conversation> {
    run(&lab(name), Config::default(), &mut tracehound_flows::NoHandler)
}

#[test]
fn nagle_stalls_are_found_and_the_nodelay_control_has_none() {
    // lab/net/net-nagle-delayed-ack.sh: 20 write-write-read exchanges, Linux delayed ACK.
    let c = convs("net-nagle-delayed-ack.pcap");
    let tcp: Vec<_> = c.iter().filter(|c| c.nagle.stalls > 0).collect();
    assert_eq!(tcp.len(), 1);
    let n = &tcp[0].nagle;
    assert!(n.stalls >= 15 && n.stalls <= 20, "{}", n.stalls);
    // Each stall is about one Linux delayed-ACK timer (≈ 40 ms).
    let each = n.secs / n.stalls as f64;
    assert!((0.02..0.1).contains(&each), "{each}");
    assert!(convs("net-nagle-nodelay.pcap").iter().all(|c| c.nagle.stalls == 0));
    assert!(convs("net-healthy.pcap").iter().all(|c| c.nagle.stalls == 0));
}

#[test]
fn zero_window_period_is_measured_on_the_advertiser() {
    // lab/net/net-zero-window.sh: the server stops reading for ~3 s.
    let c = convs("net-zero-window.pcap");
    let z: Vec<_> = c.iter().filter(|c| c.zero_window_periods.iter().any(|p| *p > 0)).collect();
    assert_eq!(z.len(), 1);
    assert_eq!(z[0].zero_window_periods[Dir::Orig.idx()], 0);
    assert!(z[0].zero_window_periods[Dir::Resp.idx()] >= 1);
    let secs = z[0].zero_window_secs[Dir::Resp.idx()];
    assert!((1.0..10.0).contains(&secs), "{secs}");
}

#[test]
fn a_forged_reset_is_told_by_its_ttl() {
    // lab/net/net-idle-reset.sh: the router answers with a RST in the server's name (TTL 64,
    // the server's own packets arrive with 63).
    let c = convs("net-idle-reset.pcap");
    let r: Vec<_> = c.iter().filter(|c| c.rst_ttl_mismatch.is_some()).collect();
    assert_eq!(r.len(), 1);
    let (_, rst_ttl, usual) = r[0].rst_ttl_mismatch.unwrap();
    assert_eq!((rst_ttl, usual), (64, 63));
    assert!(r[0].idle_before_rst.unwrap() > 1.0);
    // A service killed on its host resets with the host's own TTL.
    assert!(convs("net-service-reset.pcap").iter().all(|c| c.rst_ttl_mismatch.is_none()));
}

/// Collects every byte delivered per (flow, direction), checking order and gaps.
#[derive(Default)]
struct Collect {
    next: HashMap<(u64, usize), u64>,
    bytes: HashMap<(u64, usize), u64>,
    gap_bytes: HashMap<(u64, usize), u64>,
    gaps: u64,
    info: HashMap<u64, FlowInfo>,
}

impl StreamHandler for Collect {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        _: u64,
        _: Timestamp,
    ) {
        let k = (flow.id, dir.idx());
        let next = self.next.entry(k).or_insert(offset);
        assert_eq!(*next, offset, "data delivered out of order");
        *next += data.len() as u64;
        *self.bytes.entry(k).or_default() += data.len() as u64;
        self.info.insert(flow.id, *flow);
    }
    fn tcp_gap(&mut self, flow: &FlowInfo, dir: Dir, offset: u64, len: u64, _: u64, _: Timestamp) {
        let k = (flow.id, dir.idx());
        let next = self.next.entry(k).or_insert(offset);
        assert_eq!(*next, offset, "gap announced out of order");
        *next += len;
        self.gaps += 1;
        *self.gap_bytes.entry(k).or_default() += len;
    }
    fn udp(&mut self, _: &FlowInfo, _: Dir, _: &[u8], _: u64, _: Timestamp) {}
}

/// Unique payload bytes per direction as tshark counts them: the highest relative
/// sequence number reached (tcp.nxtseq), minus one for a FIN.
fn tshark_stream_bytes(path: &Path) -> HashMap<(u16, u16), u64> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-Y",
            "tcp.len > 0",
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.len",
        ])
        .output()
        .expect("tshark installed");
    let mut m: HashMap<(u16, u16), u64> = HashMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<u64> = l.split('\t').map(|x| x.parse().unwrap()).collect();
        let e = m.entry((c[0] as u16, c[1] as u16)).or_default();
        *e = (*e).max(c[2] + c[3] - 1);
    }
    m
}

#[test]
fn stream_delivery_matches_tshark_on_loss_and_reordering() {
    // Every byte of each direction is accounted for exactly once, in order: delivered, or
    // announced as a gap. net-loss (3% random loss at a router, retransmissions, SACK) and
    // net-zero-window were captured with a 200-byte snap length, so their cut payload comes as
    // gaps; net-healthy was captured in full and must have no gap at all.
    for (name, full) in
        [("net-loss.pcap", false), ("net-healthy.pcap", true), ("net-zero-window.pcap", false)]
    {
        let mut h = Collect::default();
        run(&lab(name), Config::default(), &mut h);
        let want = tshark_stream_bytes(&lab(name));
        assert!(!want.is_empty());
        for ((id, d), got) in &h.bytes {
            let info = h.info[id];
            let dir = if *d == 0 { Dir::Orig } else { Dir::Resp };
            let (s, t) = (info.src(dir), info.dst(dir));
            let w = want.get(&(s.port(), t.port())).copied().unwrap_or(0);
            let gaps = h.gap_bytes.get(&(*id, *d)).copied().unwrap_or(0);
            assert_eq!(got + gaps, w, "{name}: {s} → {t}");
            if full {
                assert_eq!(gaps, 0, "{name}: {s} → {t}");
            }
        }
    }
}

#[test]
fn a_capture_that_missed_data_reports_a_gap() {
    // net-capture-missed: tcpdump dropped packets the receiver got (and acknowledged).
    let mut h = Collect::default();
    run(&lab("net-capture-missed.pcap"), Config::default(), &mut h);
    assert!(h.gaps >= 1);
}

#[test]
fn memory_stays_bounded_when_holes_never_fill() {
    // With a tiny reassembly limit, a lossy transfer still delivers everything in order,
    // declaring holes instead of buffering without end.
    let mut h = Collect::default();
    let cfg = Config { reasm_limit: 4096, ..Config::default() };
    run(&lab("net-loss.pcap"), cfg, &mut h);
    let total: u64 = h.bytes.values().sum::<u64>() + h.gap_bytes.values().sum::<u64>();
    assert!(total >= 600_000, "{total}");
}
