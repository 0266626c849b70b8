//! The full analysis of one capture: conversations, DCE/RPC calls and endpoints, application
//! transactions — everything the findings rules read. Memory stays bounded: beyond the caps
//! below only the conversations and calls that can matter to a finding are kept, and the
//! number left out is reported.

use std::path::Path;

use tracehound_apps::{AppAnalyzer, AppConfig, AppReport};
use tracehound_findings::CaptureFacts;
use tracehound_flows::{ConnState, Config, Conversation};
use tracehound_rpc::calls::Outcome;
use tracehound_rpc::endpoints::{follow_up, EndpointReport};
use tracehound_rpc::{Call, RpcAnalyzer, RpcConfig, RpcReport};

use crate::input::{run_file, FileRun};

/// Conversations kept in full; beyond it only troubled ones are.
pub const MAX_CONVERSATIONS: usize = 1_000_000;
/// Calls kept in full; beyond it only failed ones are.
pub const MAX_CALLS: usize = 1_000_000;

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
pub fn analyze_file(path: &Path, on_calls: &mut dyn FnMut(&[Call])) -> anyhow::Result<FileFacts> {
    let mut handler = (RpcAnalyzer::new(RpcConfig::default()), AppAnalyzer::new(AppConfig::default()));
    let mut convs: Vec<Conversation> = Vec::new();
    let mut not_kept = 0u64;
    let mut calls: Vec<Call> = Vec::new();
    let mut calls_not_kept = 0u64;
    let mut on_conv = |c: Conversation| {
        if convs.len() < MAX_CONVERSATIONS || troubled(&c) {
            convs.push(c);
        } else {
            not_kept += 1;
        }
    };
    let mut drain = |pair: &mut (RpcAnalyzer, AppAnalyzer)| {
        let new = pair.0.take_calls();
        if !new.is_empty() {
            on_calls(&new);
            for c in new {
                if calls.len() < MAX_CALLS || c.outcome != Outcome::Ok {
                    calls.push(c);
                } else {
                    calls_not_kept += 1;
                }
            }
        }
    };
    let cfg = Config::default();
    let run = run_file(path, cfg, &mut handler, &mut on_conv, &mut drain)?;
    let (rpc_an, apps_an) = handler;
    let mut rpc = rpc_an.finish();
    if !rpc.calls.is_empty() {
        on_calls(&rpc.calls);
    }
    calls.append(&mut rpc.calls);
    calls.sort_by_key(|c| (c.frame, c.response_frame));
    rpc.calls = calls;
    if calls_not_kept > 0 {
        rpc.issues.push(tracehound_rpc::Issue {
            frame: 0,
            src: String::new(),
            dst: String::new(),
            what: format!("{calls_not_kept} successful calls beyond {MAX_CALLS} were not kept for the rules"),
        });
    }
    let apps = apps_an.finish();
    convs.sort_by_key(|c| c.info.id);
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

