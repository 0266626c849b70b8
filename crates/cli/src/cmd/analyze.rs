//! `tracehound analyze`: findings with evidence and next steps.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::ValueEnum;
use tracehound_findings::{evaluate_timed, sort, Facts, Finding, Severity};
use tracehound_report::findings::{brief, text, write_json};
use tracehound_report::style::Style;

use crate::analysis::{analyze_file, Mode};
use crate::exit;
use crate::input::warn_run;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Problem,
    Warning,
    Info,
    Artifact,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  tracehound analyze capture.pcapng
  tracehound analyze client-side.pcap server-side.pcap     # both ends of the same problem
  tracehound analyze --brief capture.pcap                  # summary and one line per finding
  tracehound analyze --json capture.pcap | jq -r '.id + \" \" + .title'
  tracehound analyze --fail-on problem nightly.pcap.gz || echo 'trouble'

Finding ids (stable): tcp.connect_unanswered, tcp.connect_refused, udp.port_unreachable,
rpc.endpoint_unreachable, rpc.endpoint_address_mismatch, rpc.endpoint_not_registered,
rpc.refused, tcp.nagle_delayed_ack, tcp.pmtu_blackhole, tcp.mss_exceeded, tcp.loss,
tcp.zero_window, tcp.service_reset, tcp.idle_reset, app.slow_responder, dns.failure,
tls.handshake_failure, tls.certificate_mismatch, tls.certificate_expired, capture.artifact,
capture.missed_packets, capture.damaged.")]
pub struct Args {
    /// Capture files (pcap, pcapng, optionally .gz; - for standard input).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// One JSON object per finding instead of the text report.
    #[arg(long)]
    json: bool,
    /// Only the summary and one line per finding.
    #[arg(long, conflicts_with = "json")]
    brief: bool,
    /// Exit with code 1 when a finding of this severity or worse was raised.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let mut all: Vec<Finding> = Vec::new();
    let mut names = Vec::new();
    let mut analysed = Vec::new();
    let mut code = exit::OK;
    let timings = std::env::var_os("TRACEHOUND_TIMINGS").is_some();
    let t0 = Instant::now();
    for path in &a.files {
        let t_file = Instant::now();
        let ff = match analyze_file(path, Mode::Analyze, &mut |_| {}) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("tracehound: {e:#}");
                code = exit::INPUT;
                continue;
            }
        };
        warn_run(&ff.run);
        if ff.capture.conversations_not_kept > 0 {
            eprintln!(
                "tracehound: {}: {} healthy conversations beyond {} were not kept for the rules (every troubled one was)",
                ff.run.name,
                ff.capture.conversations_not_kept,
                crate::analysis::MAX_HEALTHY
            );
        }
        if ff.run.damage.is_some() && code == exit::OK {
            code = exit::DAMAGED;
        }
        let facts = Facts {
            file: &ff.run.name,
            capture: &ff.capture,
            conversations: &ff.conversations,
            rpc: &ff.rpc,
            endpoints: &ff.endpoints,
            apps: &ff.apps,
        };
        let t1 = Instant::now();
        let (found, rule_times) = evaluate_timed(&facts);
        all.extend(found);
        if timings {
            eprintln!(
                "tracehound: timings: {}: reading and analyzers {:.3} s, rules {:.3} s ({} conversations, {} calls kept)",
                ff.run.name,
                t1.duration_since(t_file).as_secs_f64(),
                t1.elapsed().as_secs_f64(),
                ff.conversations.len(),
                ff.rpc.calls.len()
            );
            for r in rule_times {
                eprintln!(
                    "tracehound: timings:   rule {:<26} {:.3} s, {} findings",
                    r.rule, r.seconds, r.findings
                );
            }
        }
        names.push(ff.run.name.clone());
        analysed.push(ff);
    }
    if analysed.len() > 1 {
        let facts: Vec<Facts> = analysed
            .iter()
            .map(|ff| Facts {
                file: &ff.run.name,
                capture: &ff.capture,
                conversations: &ff.conversations,
                rpc: &ff.rpc,
                endpoints: &ff.endpoints,
                apps: &ff.apps,
            })
            .collect();
        all.extend(tracehound_findings::compare::compare(&facts));
    }
    if names.is_empty() {
        return Ok(code);
    }
    sort(&mut all);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if a.json {
        for f in &all {
            write_json(&mut out, f)?;
            writeln!(out)?;
        }
    } else if a.brief {
        write!(out, "{}", brief(&all, &names, Style::for_stdout()))?;
    } else {
        write!(out, "{}", text(&all, &names, Style::for_stdout()))?;
    }
    out.flush()?;
    if timings {
        eprintln!("tracehound: timings: total {:.3} s", t0.elapsed().as_secs_f64());
    }
    // The process ends now: handing every conversation, call and finding back to the
    // allocator one by one would only cost time.
    std::mem::forget(analysed);
    if let Some(t) = a.fail_on {
        let limit = match t {
            FailOn::Problem => Severity::Problem,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
            FailOn::Artifact => Severity::Artifact,
        };
        if all.iter().any(|f| f.severity <= limit) && code == exit::OK {
            code = exit::FINDINGS;
        }
    }
    std::mem::forget(all);
    Ok(code)
}
