//! The full analysis of one capture: conversations, DCE/RPC calls and endpoints, application
//! transactions — everything the findings rules read. Memory stays bounded: beyond the caps
//! below only the conversations and calls that can matter to a finding are kept, and the
//! number left out is reported.

use std::path::Path;

use tracehound_apps::{AppAnalyzer, AppConfig, AppReport};
use tracehound_findings::CaptureFacts;
use tracehound_flows::{Config, ConnState, Conversation};
use tracehound_rpc::calls::Outcome;
use tracehound_rpc::endpoints::{follow_up, EndpointReport};
use tracehound_rpc::{Call, RpcAnalyzer, RpcConfig, RpcReport};

use crate::input::{run_file_parallel, FileRun};

/// Healthy conversations kept for the rules (round trips for the slow-responder split);
/// troubled ones and those to endpoints handed out are always kept, up to `MAX_KEPT`.
pub const MAX_HEALTHY: usize = 100_000;
/// Conversations kept at most.
pub const MAX_KEPT: usize = 500_000;
/// Successful calls kept for the rules (timing); failed calls are kept up to `MAX_KEPT`.
pub const MAX_OK_CALLS: usize = 100_000;

/// What the pass is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `tracehound rpc`: DCE/RPC only; calls are streamed, not kept.
    Rpc,
    /// `tracehound analyze`: everything the rules read.
    Analyze,
}

pub struct FileFacts {
    pub run: FileRun,
    pub capture: CaptureFacts,
    pub conversations: Vec<Conversation>,
    pub rpc: RpcReport,
    pub endpoints: Vec<EndpointReport>,
    pub apps: AppReport,
}

fn troubled(c: &Conversation) -> bool {
    !matches!(c.state, Some(ConnState::SF) | Some(ConnState::S1) | None)
        || c.flag_counts.iter().any(|n| *n > 0)
        || !c.icmp_errors.is_empty()
        || c.nagle.stalls > 0
}

/// Analyse one capture. `on_calls` sees every completed call (for streaming output).
pub fn analyze_file(
    path: &Path,
    mode: Mode,
    on_calls: &mut (dyn FnMut(&[Call]) + Send),
) -> anyhow::Result<FileFacts> {
    // DCE/RPC always; the application analyzers for `analyze`, on a thread of their own.
    let mut rpc_an = RpcAnalyzer::new(RpcConfig::default());
    let mut apps_an = (mode == Mode::Analyze).then(|| AppAnalyzer::new(AppConfig::default()));
    // Room for what a capture of this length usually keeps (one conversation and one call per
    // few KiB at most), so that the big tables are not copied over and over as they grow; only
    // the part used is ever touched.
    let hint = std::fs::metadata(path).map(|m| (m.len() / 4096) as usize).unwrap_or(0);
    let mut convs: Vec<Conversation> = Vec::with_capacity(hint.min(MAX_KEPT + MAX_HEALTHY));
    let mut healthy = 0usize;
    let mut not_kept = 0u64;
    let mut calls: Vec<Call> = Vec::with_capacity(if mode == Mode::Analyze {
        hint.min(MAX_KEPT + MAX_OK_CALLS)
    } else {
        0
    });
    let mut ok_calls = 0usize;
    let mut calls_not_kept = 0u64;
    let mut on_conv = |c: Conversation, h: &mut RpcAnalyzer| {
        let wanted = h.is_handed_out(c.info.resp) || (mode == Mode::Analyze && troubled(&c));
        let keep = if wanted {
            convs.len() < MAX_KEPT
        } else if mode == Mode::Analyze && healthy < MAX_HEALTHY {
            healthy += 1;
            true
        } else {
            false
        };
        if keep {
            convs.push(c);
        } else {
            not_kept += 1;
        }
    };
    let mut drain = |h: &mut RpcAnalyzer| {
        let new = h.take_calls();
        if new.is_empty() {
            return;
        }
        on_calls(&new);
        if mode == Mode::Rpc {
            return;
        }
        for c in new {
            let keep = if c.outcome == Outcome::Ok {
                ok_calls += 1;
                ok_calls <= MAX_OK_CALLS
            } else {
                calls.len() < MAX_KEPT
            };
            if keep {
                calls.push(c);
            } else {
                calls_not_kept += 1;
            }
        }
    };
    let cfg = Config::default();
    let run =
        run_file_parallel(path, cfg, &mut rpc_an, apps_an.as_mut(), &mut on_conv, &mut drain)?;
    let mut rpc = rpc_an.finish();
    if !rpc.calls.is_empty() {
        on_calls(&rpc.calls);
    }
    if mode == Mode::Analyze {
        calls.append(&mut rpc.calls);
    } else {
        rpc.calls.clear();
    }
    calls.sort_by_key(|c| (c.frame, c.response_frame));
    rpc.calls = calls;
    if calls_not_kept > 0 {
        rpc.issues.push(tracehound_rpc::Issue {
            frame: 0,
            src: String::new(),
            dst: String::new(),
            what: format!("{calls_not_kept} calls were not kept for the rules (limits: {MAX_OK_CALLS} successful, {MAX_KEPT} failed)"),
        });
    }
    let apps = apps_an.map(AppAnalyzer::finish).unwrap_or_default();
    convs.sort_unstable_by_key(|c| c.info.id); // ids are unique
    let endpoints = follow_up(&rpc.endpoints, &convs);
    let d = &run.decode;
    let capture = CaptureFacts {
        frames: d.frames,
        damage: run.damage.clone(),
        decode_errors: d.decode_errors + d.malformed_transport,
        decode_issues: d.issues.iter().map(|i| (i.frame, i.what.clone())).collect(),
        frames_cut_by_snaplen: d.frames_cut_by_snaplen,
        unsupported_link_types: d.unsupported_link_types.iter().map(|(k, v)| (*k, *v)).collect(),
        conversations_not_kept: not_kept,
        first_ts: convs.iter().map(|c| c.start.as_secs_f64()).fold(f64::INFINITY, f64::min),
        last_ts: convs.iter().map(|c| c.end.as_secs_f64()).fold(0.0, f64::max),
    };
    Ok(FileFacts { run, capture, conversations: convs, rpc, endpoints, apps })
}
