//! `tracehound analyze`: findings with evidence and next steps.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::ValueEnum;
use tracehound_findings::{evaluate_timed, sort, Facts, Finding, Severity};
use tracehound_report::findings::{brief, text, write_json};
use tracehound_report::style::Style;

use crate::exit;
use crate::keys::KeyArgs;
use tracehound_pipeline::fileset::FileSets;
use tracehound_pipeline::{analyze_file, FileFacts, Mode, Threads};

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
  tracehound analyze --key server.pfx --keylog sslkeys.log https.pcap  # HTTP/LDAP/RPC inside TLS

Finding ids (stable): tcp.connect_unanswered, tcp.connect_refused, udp.port_unreachable,
rpc.endpoint_unreachable, rpc.endpoint_address_mismatch, rpc.endpoint_not_registered,
rpc.refused, rpc.zerologon, rpc.http_tunnel, tcp.nagle_delayed_ack, tcp.pmtu_blackhole,
tcp.mss_exceeded, tcp.loss, tcp.zero_window, tcp.service_reset, tcp.idle_reset, tcp.idle_close,
tcp.scan, tcp.syn_flood, tcp.injected_reset, tcp.injected_data, app.slow_responder,
app.no_response, app.protocol_mismatch, dns.failure, tls.handshake_failure,
tls.certificate_mismatch, tls.certificate_expired, tls.certificate_chain_incomplete,
tls.client_refused, tls.not_decryptable, kerberos.failure, ntlm.failure, ldap.bind_failure,
ldap.error, smb.auth_failure, smb.access_denied, http.errors, rdp.negotiation_failure,
auth.stale_credentials, auth.password_spray, auth.brute_force, windows.packet_dropped,
path.host_silent, path.lost_between, capture.artifact, capture.bad_checksums_received,
capture.rewritten, capture.missed_packets, capture.damaged, capture.not_analysed.

Exit code 4 when part of a capture was not analysed (cut short, undecodable frames, skipped
records, unsupported link types, IP fragments never completed, a limit reached) or it held no
packet: a capture.damaged / capture.not_analysed finding says what and why.")]
pub struct Args {
    /// Capture files (pcap, pcapng, optionally .gz; - for standard input) or directories;
    /// ring-buffer files that follow each other in time are read as one capture.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Analyse each file alone (no file is joined to another).
    #[arg(long, conflicts_with = "join")]
    separate: bool,
    /// Join files that follow each other in time whatever their names.
    #[arg(long)]
    join: bool,
    /// One JSON object per finding instead of the text report.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    export: crate::cmd::export::ExportArgs,
    /// Only the summary and one line per finding.
    #[arg(long, conflicts_with = "json")]
    brief: bool,
    /// Exit with code 1 when a finding of this severity or worse was raised.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
    /// Also write the report as one self-contained HTML page with pictures (- for standard
    /// output, instead of the text report).
    #[arg(long, value_name = "OUT.html", conflicts_with = "json")]
    html: Option<PathBuf>,
    /// Instead of the report: for the findings with this id (or only the one whose evidence
    /// names FRAME), the facts and thresholds that fired them.
    #[arg(long, value_name = "ID[@FRAME]", conflicts_with_all = ["json", "brief", "html", "format"])]
    explain: Option<String>,
    /// TLS keys: HTTP, LDAP and DCE/RPC inside TLS sessions that decrypt are analysed too.
    #[command(flatten)]
    secrets: KeyArgs,
    /// Files analysed at once (default: the cores available); the report is the same. With 1,
    /// everything runs on one thread (otherwise each file's protocol analyzers have two more).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

pub fn run(mut a: Args) -> anyhow::Result<u8> {
    let secrets = if a.secrets.is_empty() { None } else { Some(a.secrets.load()?) };
    // --format parquet / zeek: every table / log goes to the exporter instead of the report.
    let mut ex = a.export.exporter()?;
    a.json |= a.export.json();
    let mut all: Vec<Finding> = Vec::new();
    let mut names = Vec::new();
    let mut analysed = Vec::new();
    let mut code = exit::OK;
    let timings = std::env::var_os("TRACEHOUND_TIMINGS").is_some();
    let t0 = Instant::now();
    // --jobs: the passes over several files at once (not with an exporter: it takes the
    // calls as they come), then everything below in file order as before.
    let mut pre: Vec<Option<anyhow::Result<FileFacts>>> = Vec::new();
    let jobs = tracehound_pipeline::jobs::resolve(a.jobs);
    // --jobs 1: one thread in all (the analyzers on the reading thread).
    let threads = Threads::for_jobs(jobs);
    let mut sets = FileSets::for_command(&a.files, a.separate, a.join)?;
    let singles = sets.single_files();
    if ex.is_none() && jobs > 1 && singles.len() > 1 {
        let pass =
            |p: &PathBuf| analyze_file(p, Mode::Analyze, threads, secrets.as_ref(), &mut |_| {});
        tracehound_pipeline::jobs::map_ordered(&singles, jobs, pass, |_, r| pre.push(Some(r)));
    }
    for (i, input) in std::iter::from_fn(|| sets.next_input()).enumerate() {
        let t_file = Instant::now();
        let (src, mut ex_err) = (crate::cmd::export::source_of(input.path()), None);
        let mut on_calls = |cs: &[tracehound_rpc::Call]| {
            crate::cmd::export::calls(ex.as_mut(), &src, cs, &mut ex_err)
        };
        let done = pre.get_mut(i).and_then(Option::take);
        let ff = match done.unwrap_or_else(|| {
            input.analyze(Mode::Analyze, threads, secrets.as_ref(), &mut on_calls)
        }) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("tracehound: {e:#}");
                code = exit::INPUT;
                continue;
            }
        };
        for w in &ff.run.warnings {
            eprintln!("tracehound: warning: {w}");
        }
        if let Some(x) = ex.as_mut() {
            crate::cmd::export::file_facts(x, &mut ex_err, &src, &ff)?;
        }
        // Damage, skipped records, undecodable frames, limits: said once, by the
        // capture.damaged / capture.not_analysed findings (not again on standard error).
        if ff.capture.incomplete() && code == exit::OK {
            code = exit::DAMAGED;
        }
        let facts = ff.facts();
        let t1 = Instant::now();
        let (mut found, rule_times) = evaluate_timed(&facts);
        // Every finding says which file it comes from (several files may be given).
        for f in found.iter_mut() {
            ff.run.files.resolve_finding(f); // a joined set: each frame's own file and number
            f.evidence.file.get_or_insert_with(|| ff.run.name.clone());
        }
        all.extend(found);
        if timings {
            report_timings(&ff, t1.duration_since(t_file), t1.elapsed(), &rule_times);
        }
        names.push(ff.run.name.clone());
        analysed.push(ff);
    }
    if analysed.len() > 1 {
        compare_files(&analysed, &names, &mut all);
    }
    if names.is_empty() {
        return Ok(code);
    }
    sort(&mut all);
    if let Some(spec) = &a.explain {
        return explain(spec, &all, code);
    }
    let mut html_on_stdout = false;
    if let Some(h) = &a.html {
        let sources = analysed.iter().map(|ff| tracehound_report::html::Source {
            facts: ff.facts(),
            path: Some(PathBuf::from(&ff.run.name)).filter(|p| p.is_file()),
        });
        html_on_stdout = tracehound_report::html::write_to(h, &all, &names, sources.collect())?;
    }
    if let Some(x) = ex.take() {
        crate::cmd::export::findings(x, &all, &names)?;
        html_on_stdout = true; // nothing more on standard output
    }
    if !html_on_stdout {
        print_report(&a, &all, &names)?;
    }
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

/// The report on standard output: JSON lines, the brief summary or the full text.
fn print_report(a: &Args, all: &[Finding], names: &[String]) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if a.json {
        for f in all {
            write_json(&mut out, f)?;
            writeln!(out)?;
        }
    } else if a.brief {
        write!(out, "{}", brief(all, names, Style::for_stdout()))?;
    } else {
        write!(out, "{}", text(all, names, Style::for_stdout()))?;
    }
    out.flush()?;
    Ok(())
}

/// `--explain ID[@FRAME]`: the matching findings' reasons, or what ids there are.
fn explain(spec: &str, all: &[Finding], code: u8) -> anyhow::Result<u8> {
    use tracehound_findings::explain::{explain_text, ExplainSpec};
    let Some(s) = ExplainSpec::parse(spec) else {
        eprintln!("tracehound: --explain {spec}: expected ID or ID@FRAME (a frame number)");
        return Ok(exit::USAGE);
    };
    let hits: Vec<&Finding> = all.iter().filter(|f| s.matches(f)).collect();
    if hits.is_empty() {
        let mut ids: Vec<&str> = all.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        ids.dedup();
        eprintln!(
            "tracehound: --explain {spec}: no such finding (found: {})",
            if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
        );
        return Ok(exit::USAGE);
    }
    let mut out = BufWriter::new(io::stdout().lock());
    for (i, f) in hits.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write!(out, "{}", explain_text(f))?;
    }
    out.flush()?;
    Ok(code)
}

/// Several files: compare them (where packets disappear), then let the single-file findings
/// point to what the comparison located.
fn compare_files(analysed: &[FileFacts], names: &[String], all: &mut Vec<Finding>) {
    let facts: Vec<Facts> = analysed.iter().map(FileFacts::facts).collect();
    let mut compared = tracehound_findings::compare::compare(&facts);
    let together = names.join(" + ");
    for f in compared.iter_mut() {
        f.evidence.file.get_or_insert_with(|| together.clone());
    }
    all.extend(compared);
    tracehound_findings::compare::link_loss(all);
}

/// `TRACEHOUND_TIMINGS`: where the time of one file went.
fn report_timings(
    ff: &FileFacts,
    reading: std::time::Duration,
    rules: std::time::Duration,
    rule_times: &[tracehound_findings::RuleTime],
) {
    eprintln!(
        "tracehound: timings: {}: reading and analyzers {:.3} s, rules {:.3} s ({} conversations, {} calls kept)",
        ff.run.name,
        reading.as_secs_f64(),
        rules.as_secs_f64(),
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
