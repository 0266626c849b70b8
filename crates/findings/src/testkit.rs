//! Test-only builders of the rules' inputs: a [`Kit`] that owns everything [`Facts`] borrows,
//! and small constructors for the analyzers' records (conversations, DCE/RPC calls, logon
//! events, transactions) with the fields a rule reads set and everything else neutral.
//!
//! Conversations and call records are built field by field because the threshold tests need
//! numbers just below, at and just above each limit, which no capture holds all of. TLS
//! sessions cannot be built outside the apps crate (a private field): [`Kit::lab`] reads a real
//! lab capture through the flows engine and the application analyzer, and the tests vary the
//! public fields of the sessions it produced.

use std::net::SocketAddr;
use std::path::Path;

use tracehound_apps::auth::{AuthEvent, AuthProto};
use tracehound_apps::txn::{AppProto, FlowTransactions, Histogram, Transaction};
use tracehound_apps::{AppAnalyzer, AppConfig, AppReport};
use tracehound_flows::{
    ConnState, Conversation, Dir, DirStats, FlagEvent, FlowInfo, NagleStats, Proto, RoleSource,
    TcpFlag, Timestamp,
};
use tracehound_rpc::calls::Outcome;
use tracehound_rpc::endpoints::EndpointReport;
use tracehound_rpc::{Call, RpcReport};

use crate::{CaptureFacts, Facts, Finding, Severity};

/// A rule's check function.
pub type Check = fn(&Facts, &mut Vec<Finding>);

/// Everything the facts of one test borrow.
pub struct Kit {
    pub capture: CaptureFacts,
    pub convs: Vec<Conversation>,
    pub rpc: RpcReport,
    pub endpoints: Vec<EndpointReport>,
    pub apps: AppReport,
}

impl Default for Kit {
    fn default() -> Self {
        Kit::new()
    }
}

impl Kit {
    /// No records; a capture of 100 frames lasting 100 s (long enough for every wait rule).
    pub fn new() -> Kit {
        Kit {
            capture: CaptureFacts {
                frames: 100,
                first_ts: 0.0,
                last_ts: 100.0,
                ..Default::default()
            },
            convs: Vec::new(),
            // What the analyzer reports for no traffic (every list empty), whatever fields the
            // report gains.
            rpc: tracehound_rpc::RpcAnalyzer::new(Default::default()).finish(),
            endpoints: Vec::new(),
            apps: AppReport::default(),
        }
    }

    /// A lab capture (tests/fixtures/lab, made by lab/*.sh) read by the flows engine and the
    /// application analyzer: its conversations and application report. Fails when missing.
    pub fn lab(name: &str) -> Kit {
        let p =
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")).join(name);
        assert!(p.is_file(), "missing lab capture {}", p.display());
        let mut r = tracehound_capture::CaptureReader::open(&p).unwrap();
        let mut pass = tracehound_flows::Pass::new(tracehound_flows::Config::default());
        let mut apps = AppAnalyzer::new(AppConfig::default());
        let mut convs = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            pass.frame(&f, &mut apps);
            convs.extend(pass.take_finished());
        }
        convs.extend(pass.finish(&mut apps));
        let mut k = Kit::new();
        k.capture.frames = pass.decode_stats().frames;
        k.capture.first_ts = convs.iter().map(|c| c.start.as_secs_f64()).fold(f64::MAX, f64::min);
        k.capture.last_ts = convs.iter().map(|c| c.end.as_secs_f64()).fold(0.0, f64::max);
        k.convs = convs;
        k.apps = apps.finish();
        k
    }

    /// Run one rule over the kit's facts (conversations sorted by id first, as the pipeline
    /// hands them over).
    pub fn run(&mut self, check: Check) -> Vec<Finding> {
        self.convs.sort_by_key(|c| c.info.id);
        let facts = Facts {
            file: "t.pcap",
            capture: &self.capture,
            conversations: &self.convs,
            rpc: &self.rpc,
            endpoints: &self.endpoints,
            apps: &self.apps,
        };
        let mut out = Vec::new();
        check(&facts, &mut out);
        out
    }

    /// The severities of the findings with this id.
    pub fn sev(&mut self, check: Check, id: &str) -> Vec<Severity> {
        self.run(check).iter().filter(|f| f.id == id).map(|f| f.severity).collect()
    }
}

/// A timestamp `secs` seconds after the epoch.
pub fn ts(secs: f64) -> Timestamp {
    Timestamp((secs * 1e9).round() as i64)
}

/// `10.0.0.1:40000+id → 10.0.0.2:445`, unless the test changes it.
pub fn flow(id: u64) -> FlowInfo {
    FlowInfo {
        id,
        proto: Proto::Tcp,
        orig: SocketAddr::new([10, 0, 0, 1].into(), 40000 + (id % 20000) as u16),
        resp: "10.0.0.2:445".parse().unwrap(),
    }
}

fn dir_stats(packets: u64) -> DirStats {
    DirStats {
        packets,
        bytes: packets * 100,
        frame_bytes: packets * 114,
        payload_bytes: packets * 50,
        first: Some(ts(0.0)),
        last: Some(ts(10.0)),
        mss: Some(1460),
        wscale: Some(7),
        sack_permitted: true,
        sack_used: false,
        max_segment: 1000,
    }
}

/// An established, cleanly closed TCP conversation (state SF, handshake seen, 10 packets and
/// some payload each way, 10 s long, TTL 64 both ways) with nothing remarkable in it.
pub fn conv(id: u64) -> Conversation {
    Conversation {
        info: flow(id),
        role: RoleSource::Syn,
        state: Some(ConnState::SF),
        history: "ShADadFf".into(),
        dirs: [dir_stats(10), dir_stats(10)],
        first_frame: 1,
        last_frame: 20,
        start: ts(0.0),
        end: ts(10.0),
        syn_frames: vec![1],
        synack_frame: Some(2),
        rst_frames: Vec::new(),
        handshake_rtt: Some(0.002),
        syn_to_synack: Some(0.001),
        flag_counts: [0; 14],
        events: Vec::new(),
        events_dropped: 0,
        icmp_errors: Vec::new(),
        bad_checksums: 0,
        bad_checksum_dirs: [0; 2],
        bad_ip_checksums: [0; 2],
        ttl_zero: [0; 2],
        oversize_segments: 0,
        zero_ip_len: 0,
        duplicate_packets: 0,
        duplicated_packets: 0,
        duplicate_max_copies: 0,
        dsack_blocks: [0; 2],
        spurious_retx: Vec::new(),
        rsts: Vec::new(),
        data_conflicts: Vec::new(),
        idle_before_rst: None,
        ttl: [Some(64), Some(64)],
        rst_ttl_mismatch: None,
        nagle: NagleStats::default(),
        zero_window_periods: [0; 2],
        zero_window_secs: [0.0; 2],
        interface: 0,
    }
}

/// A connection attempt only: `syns` SYNs from `orig` to `resp`, nothing back (state S0).
pub fn attempt(id: u64, orig: SocketAddr, resp: SocketAddr, syns: u64, start: f64) -> Conversation {
    let mut c = conv(id);
    c.info.orig = orig;
    c.info.resp = resp;
    c.state = Some(ConnState::S0);
    c.history = "S".into();
    c.dirs = [dir_stats(syns), dir_stats(0)];
    c.dirs[0].payload_bytes = 0;
    c.dirs[1].payload_bytes = 0;
    c.syn_frames = (0..syns).map(|i| id * 10 + i + 1).collect();
    c.synack_frame = None;
    c.handshake_rtt = None;
    c.syn_to_synack = None;
    c.start = ts(start);
    c.end = ts(start);
    c.first_frame = id * 10 + 1;
    c.last_frame = c.first_frame + syns.saturating_sub(1);
    c
}

/// One flagged event of a conversation (also counted in its `flag_counts`).
pub fn flag(c: &mut Conversation, f: TcpFlag, dir: Dir, frame: u64, len: u32) -> &mut FlagEvent {
    c.flag_counts[f as usize] += 1;
    c.events.push(FlagEvent {
        flag: f,
        frame,
        dir,
        ts: ts(1.0 + frame as f64 * 0.01),
        rto: None,
        len,
        idle: 0.0,
    });
    c.events.last_mut().unwrap()
}

/// A DCE/RPC call record the analyzer made from real bytes (the first call of the lab capture
/// rpc-fault.pcap, lab/rpc): the base of [`call`], so that fields added to [`Call`] later get
/// the analyzer's own values.
fn template() -> &'static Call {
    static T: std::sync::OnceLock<Call> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab"))
            .join("rpc-fault.pcap");
        assert!(p.is_file(), "missing lab capture {}", p.display());
        let mut r = tracehound_capture::CaptureReader::open(&p).unwrap();
        let mut pass = tracehound_flows::Pass::new(tracehound_flows::Config::default());
        let mut rpc = tracehound_rpc::RpcAnalyzer::new(Default::default());
        while let Some(f) = r.next_frame().unwrap() {
            pass.frame(&f, &mut rpc);
            pass.take_finished();
        }
        pass.finish(&mut rpc);
        rpc.finish().calls.into_iter().next().expect("rpc-fault.pcap holds a call")
    })
}

/// A DCE/RPC call from 10.0.0.1:50000 to 10.0.0.2:49700 (SAMR SamrOpenDomain, opnum 7) in
/// `frame` at `secs` on conversation 1, ending in `outcome` (answered 1 ms later in the next
/// frame unless `NoResponse`), with no status, authentication or decoded stub.
pub fn call(frame: u64, secs: f64, outcome: Outcome) -> Call {
    Call {
        ts: ts(secs),
        frame,
        flow: Some(1),
        src: [10, 0, 0, 1].into(),
        sport: 50000,
        dst: [10, 0, 0, 2].into(),
        dport: 49700,
        pipe: None,
        uuid: Some("12345778-1234-abcd-ef00-0123456789ac".into()),
        version: Some("1.0".into()),
        interface: Some("samr".into()),
        interface_source: None,
        opnum: Some(7),
        operation: Some("SamrOpenDomain".into()),
        outcome,
        status: None,
        status_code: None,
        return_code: None,
        status_space: None,
        rtt: (outcome != Outcome::NoResponse).then_some(0.001),
        request_bytes: 100,
        response_bytes: 100,
        response_frame: (outcome != Outcome::NoResponse).then_some(frame + 1),
        auth_type: None,
        auth_level: None,
        user: None,
        endpoints: Vec::new(),
        epm_status: None,
        epm_asked: None,
        epm_asked_interface: None,
        truncated: false,
        encrypted: false,
        transfer_syntax: None,
        association: None,
        netlogon: None,
        ..template().clone()
    }
}

/// A logon event of `proto` / `op` from host 10.0.1.`client` to 10.0.2.1 in `frame` (at
/// `frame` ms), failed unless the test says otherwise.
pub fn auth(proto: AuthProto, op: &str, client: u8, frame: u64) -> AuthEvent {
    let port = match proto {
        AuthProto::Kerberos => 88,
        AuthProto::Smb => 445,
        AuthProto::Ldap => 389,
        AuthProto::Http => 80,
        AuthProto::Rdp => 3389,
    };
    let f = FlowInfo {
        id: frame,
        proto: Proto::Tcp,
        orig: SocketAddr::new([10, 0, 1, client].into(), 50000),
        resp: SocketAddr::new([10, 0, 2, 1].into(), port),
    };
    AuthEvent::new(proto, op.to_string(), &f, frame, Timestamp(frame as i64 * 1_000_000))
}

/// The transactions of one flow: one answered request per gap (seconds), none long polls.
pub fn txn(flow: FlowInfo, proto: AppProto, gaps: &[f64]) -> FlowTransactions {
    let mut hist = Histogram::default();
    let samples: Vec<Transaction> = gaps
        .iter()
        .enumerate()
        .map(|(i, g)| {
            hist.add(*g);
            let t0 = i as f64;
            Transaction {
                proto,
                request: "GET /".into(),
                id: None,
                request_frame: 2 * i as u64 + 1,
                request_start_ts: ts(t0),
                request_end_ts: ts(t0),
                response_frame: Some(2 * i as u64 + 2),
                response_start_ts: Some(ts(t0 + g)),
                response_end_ts: Some(ts(t0 + g)),
                status: Some("200".into()),
                error: false,
                long_poll: false,
            }
        })
        .collect();
    FlowTransactions {
        flow,
        proto,
        requests: gaps.len() as u64,
        answered: gaps.len() as u64,
        errors: 0,
        long_polls: 0,
        orphan_responses: 0,
        outstanding_dropped: 0,
        gap_sum: gaps.iter().sum(),
        gap_max: gaps.iter().copied().fold(0.0, f64::max),
        gap_hist: hist,
        slowest: samples.clone(),
        samples,
        not_sampled: 0,
    }
}
