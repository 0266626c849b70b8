//! The full analysis of one capture: conversations, DCE/RPC calls and endpoints, application
//! transactions — everything the findings rules read. Memory stays bounded: beyond the caps
//! below only the conversations and calls that can matter to a finding are kept, and the
//! number left out is reported.

use std::collections::HashMap;
use std::path::Path;

use tracehound_apps::{AppAnalyzer, AppConfig, AppReport};
use tracehound_decrypt::{SessionReport, TlsPlaintext};
use tracehound_findings::rules::tls_decrypt::{DecryptFacts, NotOpened, MAX_NOT_OPENED};
use tracehound_findings::rules::windows::WindowsFacts;
use tracehound_findings::{CaptureFacts, Facts};
use tracehound_flows::{
    Config, ConnState, Conversation, Dir, FlowId, FlowInfo, StreamHandler, Timestamp,
};
use tracehound_rpc::calls::Outcome;
use tracehound_rpc::endpoints::{follow_up, EndpointReport};
use tracehound_rpc::{Call, RpcAnalyzer, RpcConfig, RpcReport};

use crate::input::{run_reader, run_reader_parallel, FileRun};
use crate::secrets::Secrets;

/// Memory the conversations kept for the rules may take, in bytes (each counted by
/// [`Conversation::footprint`]): troubled ones and those to endpoints handed out first.
pub const CONV_BUDGET: usize = 256 << 20;
/// Of that, what healthy conversations may take (round trips for the slow-responder split).
pub const HEALTHY_BUDGET: usize = 96 << 20;
/// Memory the DCE/RPC calls kept for the rules may take (each counted by
/// [`Call::footprint`]): failed calls first.
pub const CALL_BUDGET: usize = 128 << 20;
/// Of that, what successful calls may take (their timing).
pub const OK_CALL_BUDGET: usize = 32 << 20;
/// The call budget in words, as the notes that it bit say it.
fn call_budget() -> String {
    format!(
        "memory budget: {} MiB, successful calls at most {} MiB of it",
        CALL_BUDGET >> 20,
        OK_CALL_BUDGET >> 20
    )
}
/// Attempt-only conversations (SYNs, and nothing, a RST or an ICMP error back) kept for the
/// rules; beyond, they are only counted, in the engine's attempt summary (scans, floods).
/// Attempts to endpoints handed out are always kept.
pub const MAX_ATTEMPTS_KEPT: usize = 20_000;

/// What the pass is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `tracehound rpc`: DCE/RPC only; calls are streamed, not kept.
    Rpc,
    /// `tracehound analyze`: everything the rules read.
    Analyze,
}

/// Where the protocol analyzers run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Threads {
    /// On two worker threads beside the reading thread ([`crate::offload`]).
    #[default]
    Parallel,
    /// On the reading thread itself: one core (`--jobs 1`). The results are the same.
    Serial,
}

impl Threads {
    /// `--jobs N` as resolved: one job means one thread.
    pub fn for_jobs(jobs: usize) -> Threads {
        if jobs <= 1 {
            Threads::Serial
        } else {
            Threads::Parallel
        }
    }
}

pub struct FileFacts {
    pub run: FileRun,
    pub capture: CaptureFacts,
    pub conversations: Vec<Conversation>,
    pub rpc: RpcReport,
    pub endpoints: Vec<EndpointReport>,
    pub apps: AppReport,
}

impl FileFacts {
    /// The rules' view of this file.
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            file: &self.run.name,
            capture: &self.capture,
            conversations: &self.conversations,
            rpc: &self.rpc,
            endpoints: &self.endpoints,
            apps: &self.apps,
        }
    }
}

/// Something about this conversation a rule reads as a problem or an artifact (kept before
/// the healthy ones, which only fill their share of the budget).
fn troubled(c: &Conversation) -> bool {
    !matches!(c.state, Some(ConnState::SF) | Some(ConnState::S1) | None)
        || c.flag_counts.iter().any(|n| *n > 0)
        || !c.icmp_errors.is_empty()
        || c.nagle.stalls > 0
        || c.oversize_segments > 0
        || c.zero_ip_len > 0
        || c.duplicate_packets > 0
        || c.bad_checksums > 0
        || c.bad_ip_checksums.iter().any(|n| *n > 0)
        || c.ttl_zero.iter().any(|n| *n > 0)
        || c.zero_window_periods.iter().any(|n| *n > 0)
        || !c.spurious_retx.is_empty()
        || !c.data_conflicts.is_empty()
        || c.rst_ttl_mismatch.is_some()
}

/// The main worker's handler: the DCE/RPC analyzer, alone or behind a TLS decryptor.
pub trait RpcHost: StreamHandler + Send {
    fn rpc(&mut self) -> &mut RpcAnalyzer;
}

impl RpcHost for RpcAnalyzer {
    fn rpc(&mut self) -> &mut RpcAnalyzer {
        self
    }
}

impl RpcHost for TlsPlaintext<RpcAnalyzer> {
    fn rpc(&mut self) -> &mut RpcAnalyzer {
        &mut self.inner
    }
}

/// Bytes a table of kept records may still take.
#[derive(Clone, Copy)]
struct Budget {
    left: usize,
}

impl Budget {
    fn fits(&self, size: usize) -> bool {
        size <= self.left
    }

    /// Takes `size` bytes if they fit.
    fn take(&mut self, size: usize) -> bool {
        let fits = self.fits(size);
        if fits {
            self.left -= size;
        }
        fits
    }
}

/// Which records of one kind (conversations, calls) the pass keeps for the rules: those that
/// matter to a finding while they fit the memory budget, the others (healthy conversations,
/// successful calls) within a share of it.
struct Keeper {
    all: Budget,
    share: Budget,
}

impl Keeper {
    fn new(all: usize, share: usize) -> Keeper {
        Keeper { all: Budget { left: all }, share: Budget { left: share } }
    }

    /// Keep a record of `size` bytes? `wanted`: it matters to a finding.
    fn keep(&mut self, size: usize, wanted: bool) -> bool {
        if wanted {
            self.all.take(size)
        } else {
            self.share.fits(size) && self.all.take(size) && self.share.take(size)
        }
    }
}

/// What the pass kept for the rules (before the analyzers are finished).
struct Kept {
    run: FileRun,
    convs: Vec<Conversation>,
    calls: Vec<Call>,
    /// Conversations, calls and attempts not kept.
    not_kept: [u64; 3],
}

/// Analyse one capture. `on_calls` sees every completed call (for streaming output). With
/// `secrets` (keys or key logs given), the DCE/RPC and application analyzers each get the
/// plaintext of the TLS sessions that decrypt, through a decryptor of their own (each on its
/// worker thread, each with its own copy of the keys: they decrypt the same bytes the same
/// way); without, the analyzers get the bytes directly, as before.
pub fn analyze_file(
    path: &Path,
    mode: Mode,
    threads: Threads,
    secrets: Option<&Secrets>,
    on_calls: &mut (dyn FnMut(&[Call]) + Send),
) -> anyhow::Result<FileFacts> {
    let reader = crate::input::open(path)?;
    let Some(secrets) = secrets else {
        return analyze_reader(reader, Config::default(), mode, threads, None, on_calls);
    };
    let (secrets, warnings) = secrets.with_dsb(path);
    let mut ff =
        analyze_reader(reader, Config::default(), mode, threads, Some(&secrets), on_calls)?;
    ff.run.warnings.splice(0..0, warnings);
    Ok(ff)
}

/// [`analyze_file`] over a capture already opened, with the flow engine's limits in `cfg`
/// (the fuzz target makes them small). Decryption secrets blocks are not looked for: add them
/// to `secrets` first ([`Secrets::with_dsb`]).
pub fn analyze_reader(
    reader: impl crate::source::FrameSource,
    cfg: Config,
    mode: Mode,
    threads: Threads,
    secrets: Option<&Secrets>,
    on_calls: &mut (dyn FnMut(&[Call]) + Send),
) -> anyhow::Result<FileFacts> {
    let rpc_cfg = RpcConfig::default();
    let apps = || (mode == Mode::Analyze).then(|| AppAnalyzer::new(AppConfig::default()));
    let Some(secrets) = secrets else {
        let mut rpc_an = RpcAnalyzer::new(rpc_cfg);
        let mut apps_an = apps();
        let kept = pass(reader, cfg, mode, threads, &mut rpc_an, apps_an.as_mut(), on_calls)?;
        let apps = apps_an.map(AppAnalyzer::finish).unwrap_or_default();
        return Ok(finish(kept, mode, rpc_an.finish(), apps, on_calls, None));
    };
    let mut rpc_w = TlsPlaintext::new(RpcAnalyzer::new(rpc_cfg), secrets.shared());
    let mut apps_w = apps().map(|a| TlsTee::new(TlsPlaintext::new(a, secrets.shared())));
    let kept = pass(reader, cfg, mode, threads, &mut rpc_w, apps_w.as_mut(), on_calls)?;
    // Both decryptors saw the same bytes: their verdicts are the same; the application
    // side's (when there is one) is the one reported.
    let (reports, overflows) = match &apps_w {
        Some(a) => (a.dec.reports().to_vec(), a.dec.pending_overflows.max(rpc_w.pending_overflows)),
        None => (rpc_w.reports().to_vec(), rpc_w.pending_overflows),
    };
    let mut facts = decrypt_facts(reports);
    // Only when some certificate could be compared: a key given for TLS 1.3 sessions (whose
    // certificates are encrypted) or for a capture without TLS is not "wrong".
    let (compared, unmatched) = match &apps_w {
        Some(a) => (a.dec.certificates_compared(), a.dec.unmatched_keys()),
        None => (rpc_w.certificates_compared(), rpc_w.unmatched_keys()),
    };
    if compared > 0 {
        facts.unmatched_keys = unmatched;
    }
    let apps = apps_w.map(TlsTee::finish).unwrap_or_default();
    let rpc = rpc_w.inner.finish();
    let mut ff = finish(kept, mode, rpc, apps, on_calls, Some(facts));
    if overflows > 0 {
        ff.capture.limits_reached.push(format!(
            "TLS connections whose first {} KiB did not show whether they decrypt (analysed as they are): {overflows}",
            tracehound_decrypt::adapter::MAX_PENDING >> 10
        ));
    }
    Ok(ff)
}

/// The application side with keys: the analyzers behind the decryptor, and beside it a
/// second application analyzer that sees the TLS connections as they are (only those), so
/// that the TLS facts of sessions that decrypt — their handshake and certificates, which the
/// decryptor replaces by the plaintext — still reach the certificate and handshake rules.
struct TlsTee {
    dec: TlsPlaintext<AppAnalyzer>,
    raw: AppAnalyzer,
    /// Per live TCP connection: does its first data look like a TLS record?
    tls: HashMap<FlowId, bool>,
}

impl TlsTee {
    fn new(dec: TlsPlaintext<AppAnalyzer>) -> TlsTee {
        TlsTee { dec, raw: AppAnalyzer::new(AppConfig::default()), tls: HashMap::new() }
    }

    /// The plaintext analysis, with the TLS sessions of the connections as they were.
    fn finish(self) -> AppReport {
        let mut apps = self.dec.inner.finish();
        let raw = self.raw.finish();
        apps.tls = raw.tls;
        apps.stats.tls_dropped = raw.stats.tls_dropped;
        apps
    }
}

/// A TLS record header at the start of a stream: handshake, alert, change cipher spec or
/// application data, major version 3.
fn looks_tls(data: &[u8]) -> bool {
    matches!(data, [20..=23, 3, ..])
}

impl StreamHandler for TlsTee {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        self.dec.tcp_data(flow, dir, offset, data, frame, ts);
        let tls = *self.tls.entry(flow.id).or_insert_with(|| offset == 0 && looks_tls(data));
        if tls {
            self.raw.tcp_data(flow, dir, offset, data, frame, ts);
        }
    }
    fn tcp_gap(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        len: u64,
        frame: u64,
        ts: Timestamp,
    ) {
        self.dec.tcp_gap(flow, dir, offset, len, frame, ts);
        if self.tls.get(&flow.id) == Some(&true) {
            self.raw.tcp_gap(flow, dir, offset, len, frame, ts);
        }
    }
    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        self.dec.tcp_end(flow, ts);
        if self.tls.remove(&flow.id) == Some(true) {
            self.raw.tcp_end(flow, ts);
        }
    }
    fn udp(&mut self, flow: &FlowInfo, dir: Dir, data: &[u8], frame: u64, ts: Timestamp) {
        self.dec.udp(flow, dir, data, frame, ts);
    }
}

/// The decryptor's verdicts as the rules read them.
fn decrypt_facts(mut reports: Vec<SessionReport>) -> DecryptFacts {
    reports.sort_by_key(|r| r.first_frame);
    let mut d = DecryptFacts { sessions: reports.len() as u64, ..DecryptFacts::default() };
    for r in reports {
        if r.decrypted {
            d.decrypted += 1;
            continue;
        }
        d.not_opened_total += 1;
        if d.not_opened.len() >= MAX_NOT_OPENED {
            continue;
        }
        let addr = |ip: &str, port| ip.parse().map(|ip| std::net::SocketAddr::new(ip, port));
        let (Ok(client), Ok(server)) = (addr(&r.src, r.sport), addr(&r.dst, r.dport)) else {
            continue;
        };
        d.not_opened.push(NotOpened {
            client,
            server,
            sni: r.sni,
            first_frame: r.first_frame,
            reason: r.reason.unwrap_or_else(|| "not decrypted".into()),
        });
    }
    d
}

/// The pass over the capture: the analyzers on worker threads, the conversations and calls
/// the rules need kept (bounded).
fn pass<R: RpcHost, A: StreamHandler + Send>(
    reader: impl crate::source::FrameSource,
    cfg: Config,
    mode: Mode,
    threads: Threads,
    rpc: &mut R,
    apps: Option<&mut A>,
    on_calls: &mut (dyn FnMut(&[Call]) + Send),
) -> anyhow::Result<Kept> {
    // Room for what a capture of this length usually keeps (one conversation and one call per
    // few KiB at most, within the budgets), so that the big tables are not copied over and
    // over as they grow; only the part used is ever touched.
    let hint = reader.source_len().map(|n| (n / 4096) as usize).unwrap_or(0);
    let room = |budget: usize, each: usize| hint.min(budget / each);
    let mut convs: Vec<Conversation> =
        Vec::with_capacity(room(CONV_BUDGET, std::mem::size_of::<Conversation>()));
    let mut conv_keeper = Keeper::new(CONV_BUDGET, HEALTHY_BUDGET);
    let mut call_keeper = Keeper::new(CALL_BUDGET, OK_CALL_BUDGET);
    let mut not_kept = 0u64;
    let mut calls: Vec<Call> = Vec::with_capacity(if mode == Mode::Analyze {
        room(CALL_BUDGET, std::mem::size_of::<Call>())
    } else {
        0
    });
    let mut calls_not_kept = 0u64;
    let mut attempts_kept = 0usize;
    let mut attempts_not_kept = 0u64;
    let mut on_conv = |mut c: Conversation, h: &mut R| {
        let handed_out = h.rpc().is_handed_out(c.info.resp);
        if !handed_out && mode == Mode::Analyze && c.is_attempt_only() {
            if attempts_kept >= MAX_ATTEMPTS_KEPT {
                attempts_not_kept += 1;
                return;
            }
            attempts_kept += 1;
        }
        let wanted = handed_out || (mode == Mode::Analyze && troubled(&c));
        if !wanted && mode != Mode::Analyze {
            not_kept += 1;
            return;
        }
        c.shrink();
        if conv_keeper.keep(c.footprint(), wanted) {
            convs.push(c);
        } else {
            not_kept += 1;
        }
    };
    let mut drain = |h: &mut R| {
        let new = h.rpc().take_calls();
        if new.is_empty() {
            return;
        }
        on_calls(&new);
        if mode == Mode::Rpc {
            return;
        }
        for mut c in new {
            c.endpoints.shrink_to_fit();
            if call_keeper.keep(c.footprint(), c.outcome != Outcome::Ok) {
                calls.push(c);
            } else {
                calls_not_kept += 1;
            }
        }
    };
    let run = match threads {
        Threads::Parallel => run_reader_parallel(reader, cfg, rpc, apps, &mut on_conv, &mut drain)?,
        // Both analyzers on the reading thread, each given every call as it would get it on
        // its own worker thread.
        Threads::Serial => run_reader(
            reader,
            cfg,
            &mut (rpc, apps),
            &mut |c, h: &mut (&mut R, Option<&mut A>)| on_conv(c, h.0),
            &mut |h: &mut (&mut R, Option<&mut A>)| drain(h.0),
        )?,
    };
    Ok(Kept { run, convs, calls, not_kept: [not_kept, calls_not_kept, attempts_not_kept] })
}

/// The analyzers' results and what the pass kept, put together for the rules.
fn finish(
    kept: Kept,
    mode: Mode,
    mut rpc: RpcReport,
    apps: AppReport,
    on_calls: &mut (dyn FnMut(&[Call]) + Send),
    tls_decrypt: Option<DecryptFacts>,
) -> FileFacts {
    let Kept { mut run, mut convs, mut calls, not_kept } = kept;
    let calls_not_kept = not_kept[1];
    if !rpc.calls.is_empty() {
        on_calls(&rpc.calls);
    }
    if mode == Mode::Analyze {
        calls.append(&mut rpc.calls);
    } else {
        rpc.calls.clear();
    }
    sort_calls(&mut calls);
    rpc.calls = calls;
    if calls_not_kept > 0 {
        rpc.issues.push(tracehound_rpc::Issue {
            frame: 0,
            src: String::new(),
            dst: String::new(),
            what: format!("{calls_not_kept} calls were not kept for the rules ({})", call_budget()),
        });
    }
    convs.sort_unstable_by_key(|c| c.info.id); // ids are unique
    let endpoints = follow_up(&rpc.endpoints, &convs);
    let limits = limits_reached(&run, &rpc, &apps, not_kept);
    let mut capture = capture_facts(&mut run, &convs, not_kept[0], limits);
    capture.tls_decrypt = tls_decrypt;
    capture.windows = run.windows.as_ref().map(|(st, _)| WindowsFacts::from_stats(st));
    FileFacts { run, capture, conversations: convs, rpc, endpoints, apps }
}

/// The calls in frame order (then response frame; ties keep the order they came in), sorted
/// through a list of positions: a stable sort of the calls themselves would take a scratch
/// buffer of half of them (tens of MB at the peak of the pass).
fn sort_calls(calls: &mut [Call]) {
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| calls.get(i).map(|c| (c.frame, c.response_frame)));
    // order[k] is where the call for position k is now: follow each cycle of the permutation,
    // the call displaced from the cycle's start moving on until it reaches its place.
    for start in 0..order.len() {
        let mut cur = start;
        while let Some(src) = order.get_mut(cur).map(|o| std::mem::replace(o, usize::MAX)) {
            if src == usize::MAX || src == start {
                break;
            }
            calls.swap(cur, src);
            cur = src;
        }
    }
}

/// The facts about the capture file itself (what was read, what was left out and why).
fn capture_facts(
    run: &mut FileRun,
    convs: &[Conversation],
    not_kept: u64,
    limits_reached: Vec<String>,
) -> CaptureFacts {
    let attempts = std::mem::take(&mut run.engine.attempts);
    let d = &run.decode;
    CaptureFacts {
        frames: d.frames,
        damage: run.damage.clone(),
        decode_errors: d.decode_errors + d.malformed_transport,
        decode_issues: d.issues.iter().map(|i| (i.frame, i.what.clone())).collect(),
        frames_cut_by_snaplen: d.frames_cut_by_snaplen,
        unsupported_link_types: d.unsupported_link_types.iter().map(|(k, v)| (*k, *v)).collect(),
        conversations_not_kept: not_kept,
        skipped_records: run.capture.skipped_packets,
        skipped_reasons: run.capture.problems.iter().take(10).cloned().collect(),
        fragments: run.defrag.fragments,
        datagrams_reassembled: run.defrag.completed,
        datagrams_incomplete: incomplete_datagrams(&run.defrag),
        limits_reached,
        attempts: Some(attempts),
        first_ts: convs.iter().map(|c| c.start.as_secs_f64()).fold(f64::INFINITY, f64::min),
        last_ts: convs.iter().map(|c| c.end.as_secs_f64()).fold(0.0, f64::max),
        tls_decrypt: None,
        windows: None,
    }
}

/// Datagrams whose fragments never all arrived: timed out, evicted or refused by a limit, or
/// still waiting for fragments when the capture ended.
pub fn incomplete_datagrams(d: &tracehound_wire::defrag::Stats) -> u64 {
    d.timed_out
        .saturating_add(d.evicted_datagram_limit)
        .saturating_add(d.evicted_bytes_limit)
        .saturating_add(d.too_big)
        .saturating_add(d.too_many_ranges)
        .saturating_add(d.in_progress as u64)
}

/// Every cap the pass reached, in words: what was left out of the analysis because of it.
fn limits_reached(
    run: &FileRun,
    rpc: &RpcReport,
    apps: &AppReport,
    not_kept: [u64; 3],
) -> Vec<String> {
    let [convs_not_kept, calls_not_kept, attempts_not_kept] = not_kept;
    let mut v = Vec::new();
    let mut add = |n: u64, what: &str| {
        if n > 0 {
            v.push(format!("{what}: {n}"));
        }
    };
    let e = &run.engine;
    add(e.evicted_by_limit, "flow table full: flows closed early (later packets start new flows)");
    add(
        e.reasm_overflow_bytes,
        "TCP reassembly buffer full: stream bytes not delivered to the protocol analyzers",
    );
    add(e.expired_early_by_budget, "flow memory budget reached: half-open flows ended early");
    add(
        attempts_not_kept,
        &format!("connection attempts (SYN only) beyond {MAX_ATTEMPTS_KEPT} not kept for the rules: counted in the scan/flood summary"),
    );
    add(
        convs_not_kept,
        &format!("conversations not kept for the rules (memory budget: {} MiB, healthy ones at most {} MiB of it)", CONV_BUDGET >> 20, HEALTHY_BUDGET >> 20),
    );
    add(calls_not_kept, &format!("DCE/RPC calls not kept for the rules ({})", call_budget()));
    let r = &rpc.stats;
    add(r.buffer_overflows, "DCE/RPC PDU buffer full: streams no longer followed");
    add(r.pending_dropped, "DCE/RPC requests waiting for an answer beyond the limit: dropped");
    add(r.calls_dropped, "DCE/RPC calls beyond the queue limit: dropped");
    add(r.endpoints_dropped, "endpoints handed out beyond the limit: not followed up");
    let a = &apps.stats;
    add(a.flows_dropped, "application flows beyond the limit: not analysed");
    add(a.dns_dropped, "DNS queries beyond the limit: not kept");
    add(a.tls_dropped, "TLS sessions beyond the limit: not kept");
    add(a.transaction_flows_dropped, "request/response flows beyond the limit: not timed");
    add(a.buffer_overflows, "application stream buffer full: streams no longer followed");
    add(apps.auth.dropped, "logon and request outcomes beyond the limit: not kept");
    add(
        apps.auth.credentials_dropped,
        "HTTP URLs credentials were sent to beyond the limit: not kept (a 401 / 407 challenge before them counts as not followed)",
    );
    let d = &run.defrag;
    add(
        d.evicted_datagram_limit.saturating_add(d.evicted_bytes_limit),
        "IP reassembly table full: fragmented datagrams dropped",
    );
    v
}

#[cfg(test)]
mod sort_tests {
    use super::*;

    /// The same order as a stable sort by (frame, response frame), ties included.
    #[test]
    fn calls_sorted_as_a_stable_sort_would() {
        let mut seed = 7u64;
        for n in [0usize, 1, 2, 3, 10, 257, 2000] {
            let mut calls: Vec<Call> = (0..n)
                .map(|i| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let (f, r) = ((seed >> 40) % 50, (seed >> 20) % 4);
                    let client = std::net::SocketAddr::from(([10, 0, 0, 1], 1000));
                    let server = std::net::SocketAddr::from(([10, 0, 0, 2], 135));
                    let mut c = Call::new(Timestamp(i as i64), f, client, server, Outcome::Ok);
                    c.response_frame = (r > 0).then_some(r);
                    c.request_bytes = i as u64; // the original position
                    c
                })
                .collect();
            let mut want: Vec<(u64, Option<u64>, u64)> =
                calls.iter().map(|c| (c.frame, c.response_frame, c.request_bytes)).collect();
            want.sort_by_key(|w| (w.0, w.1));
            sort_calls(&mut calls);
            let got: Vec<(u64, Option<u64>, u64)> =
                calls.iter().map(|c| (c.frame, c.response_frame, c.request_bytes)).collect();
            assert_eq!(got, want, "{n} calls");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The budgets hold on real records (a lab capture's conversations and calls): kept while
    /// they fit, healthy conversations and successful calls only within their share, the
    /// records that matter still kept when the share is used up.
    #[test]
    fn kept_records_stay_within_their_budgets() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/lab/rpc-fault.pcap"
        ));
        let ff = analyze_file(path, Mode::Analyze, Threads::Serial, None, &mut |_| {}).unwrap();
        let sizes: Vec<usize> = ff.conversations.iter().map(Conversation::footprint).collect();
        assert!(sizes.len() >= 2);
        assert!(sizes.iter().all(|n| *n >= std::mem::size_of::<Conversation>()));
        // Spare room in a list counts, and shrinking gives it back.
        let mut c = ff.conversations[0].clone();
        c.shrink();
        let base = c.footprint();
        c.events.reserve(100);
        assert!(c.footprint() >= base + 100 * std::mem::size_of::<tracehound_flows::FlagEvent>());
        c.shrink();
        assert_eq!(c.footprint(), base);
        let total: usize = sizes.iter().sum();
        // One byte short of all: every conversation but the last.
        let mut k = Keeper::new(total - 1, total);
        let kept: Vec<bool> = sizes.iter().map(|n| k.keep(*n, true)).collect();
        assert_eq!(kept.iter().filter(|k| **k).count(), sizes.len() - 1);
        assert_eq!(kept.last(), Some(&false));
        // A healthy share of the first conversation: the second healthy one is refused, a
        // wanted one still kept.
        let mut k = Keeper::new(total, sizes[0]);
        assert!(k.keep(sizes[0], false));
        assert!(!k.keep(sizes[1], false));
        assert!(k.keep(sizes[1], true));

        let (ok, failed): (Vec<&Call>, Vec<&Call>) =
            ff.rpc.calls.iter().partition(|c| c.outcome == Outcome::Ok);
        assert!(ok.len() >= 2 && !failed.is_empty(), "{} ok, {} failed", ok.len(), failed.len());
        let all: usize = ff.rpc.calls.iter().map(Call::footprint).sum();
        // Room for every call, successful ones within the first one's size.
        let mut k = Keeper::new(all, ok[0].footprint());
        assert!(k.keep(ok[0].footprint(), false));
        assert!(!k.keep(ok[1].footprint(), false));
        assert!(failed.iter().all(|c| k.keep(c.footprint(), true)));
        // A failed call is refused when the budget is one byte short, whatever the share.
        let mut k = Keeper::new(failed[0].footprint() - 1, all);
        assert!(!k.keep(failed[0].footprint(), true));
    }

    /// The two decryptors (DCE/RPC worker, application worker) each decrypt on their own and
    /// reach the same verdicts, on real lab captures (lab/tls-decrypt/make.sh,
    /// lab/tls-decrypt-analyze/make.sh).
    #[test]
    fn both_workers_decrypt_alike() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"));
        let keys =
            tracehound_decrypt::keys::load(&root.join("decrypt/keys/key-pkcs8.pem"), None).unwrap();
        let secrets = Secrets { keys, keylog: Default::default() };
        for f in ["decrypt-analyze/https-errors.pcap", "decrypt/rsa-gcm.pcap", "decrypt/ecdhe.pcap"]
        {
            let path = root.join(f);
            let mut rpc_w =
                TlsPlaintext::new(RpcAnalyzer::new(RpcConfig::default()), secrets.shared());
            let mut apps_w =
                TlsPlaintext::new(AppAnalyzer::new(AppConfig::default()), secrets.shared());
            pass(
                crate::input::open(&path).unwrap(),
                Config::default(),
                Mode::Analyze,
                Threads::Parallel,
                &mut rpc_w,
                Some(&mut apps_w),
                &mut |_| {},
            )
            .unwrap();
            let a = serde_json::to_string(apps_w.reports()).unwrap();
            let r = serde_json::to_string(rpc_w.reports()).unwrap();
            assert!(!apps_w.reports().is_empty(), "{f}");
            assert_eq!(a, r, "{f}");
        }
    }

    /// With keys, the TLS sessions (handshake, certificates) the rules read are the same as
    /// without: the decrypted sessions' handshakes are not lost to the plaintext.
    #[test]
    fn tls_facts_are_kept_when_sessions_decrypt() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"));
        let keys =
            tracehound_decrypt::keys::load(&root.join("decrypt/keys/key-pkcs8.pem"), None).unwrap();
        let secrets = Secrets { keys, keylog: Default::default() };
        for f in ["decrypt-analyze/https-errors.pcap", "decrypt/rsa-gcm.pcap", "decrypt/ecdhe.pcap"]
        {
            let path = root.join(f);
            let plain =
                analyze_file(&path, Mode::Analyze, Threads::Parallel, None, &mut |_| {}).unwrap();
            let dec =
                analyze_file(&path, Mode::Analyze, Threads::Parallel, Some(&secrets), &mut |_| {})
                    .unwrap();
            assert!(!plain.apps.tls.is_empty(), "{f}");
            assert_eq!(
                serde_json::to_string(&plain.apps.tls).unwrap(),
                serde_json::to_string(&dec.apps.tls).unwrap(),
                "{f}"
            );
        }
    }
}
