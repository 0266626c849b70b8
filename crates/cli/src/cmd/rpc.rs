//! `tracehound rpc`: the DCE/RPC call log, and the endpoints handed out.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use tracehound_report::rpc::{call_table, endpoint_table, needs_legend, summary_line, LEGEND};
use tracehound_report::style::Style;
use tracehound_rpc::Call;

use crate::exit;
use crate::keys::KeyArgs;
use crate::warn::warn_run;
use tracehound_pipeline::fileset::{FileSets, FrameMap, Input};
use tracehound_pipeline::{FileFacts, Mode, Threads};

/// Calls shown in the text table per file (all are in --json).
const MAX_TEXT_CALLS: usize = 100_000;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  tracehound rpc capture.pcap                 # one line per call
  tracehound rpc --endpoints capture.pcap     # every endpoint handed out, and what became of it
  tracehound rpc --json capture.pcap | jq 'select(.outcome != \"ok\")'
  tracehound rpc --keylog sslkeys.log capture.pcap   # DCE/RPC inside TLS too

JSON (stable, one object per call; with several files every record starts with file): ts,
frame, src, sport, dst, dport, pipe, uuid, version, interface, interface_source (bind,
endpoint_map, header; absent when unknown), opnum, operation, outcome (ok, error, fault,
bind_nak, rejected, no_response), status, status_code, return_code, status_space, rtt,
request_bytes, response_bytes, response_frame, auth_type, auth_level, user, endpoints
([{binding, protocol, address, port|pipe, uuid}]), epm_status, netlogon.
With --endpoints, one object per endpoint: binding, handed_out_by, asked_address, address,
port, protocol, uuid, interface, follow_up (answered, refused, unanswered, not_tried),
attempts, address_differs.")]
pub struct Args {
    /// Capture files (pcap, pcapng, optionally .gz; - for standard input) or directories;
    /// ring-buffer files that follow each other in time are read as one capture.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Read each file alone (no file is joined to another).
    #[arg(long, conflicts_with = "join")]
    separate: bool,
    /// Join files that follow each other in time whatever their names.
    #[arg(long)]
    join: bool,
    /// List the endpoints handed out (endpoint mapper, DCOM, bind_ack) and their follow-up.
    #[arg(long)]
    endpoints: bool,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    export: crate::cmd::export::ExportArgs,
    /// TLS keys: DCE/RPC inside TLS sessions that decrypt is analysed too.
    #[command(flatten)]
    secrets: KeyArgs,
    /// Files analysed at once (default: the cores available); the output is the same. With 1,
    /// everything runs on one thread (otherwise each file's DCE/RPC analyzer has one more).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

pub fn run(mut a: Args) -> anyhow::Result<u8> {
    let secrets = if a.secrets.is_empty() { None } else { Some(a.secrets.load()?) };
    // --format parquet / zeek: calls and endpoints go to the exporter; nothing on stdout.
    let mut ex = a.export.exporter()?;
    a.json |= a.export.json() || ex.is_some();
    a.endpoints &= ex.is_none();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let style = Style::for_stdout();
    let mut sets = FileSets::for_command(&a.files, a.separate, a.join)?;
    // --jobs 1: one thread in all (the analyzers on the reading thread).
    let threads = Threads::for_jobs(tracehound_pipeline::jobs::resolve(a.jobs));
    let grouped = sets.grouping_done;
    let several = a.files.len() > 1 || grouped;
    // One file: its records into `out`, its exit code back. The exporter (when given) takes
    // them in file order, so it runs on this thread (--jobs then has no effect).
    let one_file = |input: Input,
                    mut out: &mut (dyn Write + Send),
                    ex: &mut Option<tracehound_export::Exporter>|
     -> anyhow::Result<u8> {
        // One buffer for every JSON record (no allocation per call).
        let mut buf: Vec<u8> = Vec::with_capacity(1024);
        let path = &input.path().to_path_buf();
        // A joined set: each record names the file of its request (and of its response).
        let frames = input.frames();
        // With several files every record names its file: `{"file":"NAME",` then the call's
        // own fields.
        let file_json = if several {
            let name = if path.as_os_str() == "-" {
                "<stdin>".to_string()
            } else {
                path.display().to_string()
            };
            Some(serde_json::to_vec(&name)?)
        } else {
            None
        };
        let mut shown: Vec<Call> = Vec::new();
        let mut more = 0usize;
        let mut err: Option<io::Error> = None;
        let json_calls = a.json && !a.endpoints;
        let text_calls = !a.json && !a.endpoints;
        let (src, mut ex_err) = (crate::cmd::export::source_of(path), None);
        let mut on_calls = |cs: &[Call]| {
            if ex.is_some() {
                return crate::cmd::export::calls(ex.as_mut(), &src, cs, &mut ex_err);
            }
            for c in cs {
                if json_calls {
                    if let Some(m) = frames.as_ref().and_then(|m| m.lock().ok()) {
                        if err.is_none() {
                            err = set_call_json(&mut out, &mut buf, &m, c).err();
                        }
                    } else if err.is_none() {
                        let r = write_json(&mut out, &mut buf, file_json.as_deref(), |w| {
                            serde_json::to_writer(w, c)
                        });
                        if let Err(e) = r {
                            err = Some(e);
                        }
                    }
                } else if text_calls {
                    if shown.len() < MAX_TEXT_CALLS {
                        shown.push(c.clone());
                    } else {
                        more += 1;
                    }
                }
            }
        };
        let ff = match input.analyze(Mode::Rpc, threads, secrets.as_ref(), &mut on_calls) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("tracehound: {e:#}");
                return Ok(exit::INPUT);
            }
        };
        if let Some(x) = ex.as_mut() {
            crate::cmd::export::end_rpc(x, &mut ex_err, &src, &ff.endpoints)?;
        }
        if let Some(e) = err {
            return Err(e.into());
        }
        if several && !a.json {
            writeln!(out, "== {}", ff.run.name)?;
        }
        if a.endpoints {
            if a.json {
                for e in &ff.endpoints {
                    let mut e = e.clone();
                    let files = ff.run.files.resolve_endpoint(&mut e);
                    let file = files.as_ref().map(|f| serde_json::to_vec(&f.file)).transpose()?;
                    write_json(
                        &mut out,
                        &mut buf,
                        file.as_deref().or(file_json.as_deref()),
                        |w| serde_json::to_writer(w, &e),
                    )?;
                }
            } else if ff.endpoints.is_empty() {
                writeln!(out, "no endpoints handed out in this capture")?;
            } else {
                write!(out, "{}", endpoint_table(&ff.endpoints).render(style))?;
            }
        } else if !a.json {
            calls_text(&mut out, &ff, &mut shown, more, style)?;
        }
        out.flush()?;
        warn_issues(&ff);
        warn_run(&ff.run);
        Ok(if ff.run.damage.is_some() { exit::DAMAGED } else { exit::OK })
    };
    let code = super::inputs::run_inputs(&mut sets, a.jobs, &mut out, &mut ex, one_file)?;
    if let Some(x) = ex {
        crate::cmd::export::finish(x)?;
    }
    Ok(code)
}

/// One record (a call, an endpoint) as a JSON line, after `"file":NAME` when given (then
/// through `buf`, reused).
fn write_json(
    out: &mut impl Write,
    buf: &mut Vec<u8>,
    file_json: Option<&[u8]>,
    ser: impl Fn(&mut dyn Write) -> serde_json::Result<()>,
) -> io::Result<()> {
    let Some(f) = file_json else {
        ser(out)?;
        return out.write_all(b"\n");
    };
    buf.clear();
    ser(buf)?;
    match buf.split_first() {
        Some((b'{', rest)) => {
            out.write_all(b"{\"file\":")?;
            out.write_all(f)?;
            if rest != b"}" {
                out.write_all(b",")?;
            }
            out.write_all(rest)?;
        }
        _ => out.write_all(buf)?,
    }
    out.write_all(b"\n")
}

/// A call of a joined set as a JSON line: `file` (the request's), the call with its files' own
/// frame numbers, `response_file` when the response is in another file.
fn set_call_json(
    out: &mut impl Write,
    buf: &mut Vec<u8>,
    map: &FrameMap,
    c: &Call,
) -> io::Result<()> {
    let mut c = c.clone();
    let files = map.resolve_call(&mut c).unwrap_or_default();
    let file = serde_json::to_vec(&files.file)?;
    let mut obj = serde_json::to_vec(&c)?;
    if let Some(r) = &files.last_file {
        tracehound_pipeline::fileset::resolve::with_field(&mut obj, "response_file", r);
    }
    write_json(out, buf, Some(&file), |w| w.write_all(&obj).map_err(serde_json::Error::io))
}

/// The call table; for a joined set one table per file (under `-- FILE`), with each file's
/// own frame numbers.
fn set_call_tables(
    out: &mut (impl Write + ?Sized),
    map: &FrameMap,
    shown: &[Call],
    style: Style,
) -> io::Result<()> {
    if !map.is_joined() {
        return write!(out, "{}", call_table(shown).render(style));
    }
    let mut start = 0;
    while start < shown.len() {
        let file = map.file_index(shown[start].frame);
        let n = shown[start..].iter().take_while(|c| map.file_index(c.frame) == file).count();
        let mut part: Vec<Call> = shown[start..start + n].to_vec();
        part.iter_mut().for_each(|c| {
            map.resolve_call(c);
        });
        writeln!(out, "-- {}", map.resolve(shown[start].frame).0)?;
        write!(out, "{}", call_table(&part).render(style))?;
        start += n;
    }
    Ok(())
}

/// The calls as a table (text output), then the summary line.
fn calls_text(
    out: &mut (impl Write + ?Sized),
    ff: &FileFacts,
    shown: &mut [Call],
    more: usize,
    style: Style,
) -> io::Result<()> {
    shown.sort_by_key(|c| c.frame);
    if shown.is_empty() {
        writeln!(out, "no DCE/RPC calls in this capture")?;
    } else {
        set_call_tables(out, &ff.run.files, shown, style)?;
        if needs_legend(shown) {
            writeln!(out, "{LEGEND}")?;
        }
    }
    if more > 0 {
        writeln!(out, "… {more} more calls not shown (use --json for all)")?;
    }
    writeln!(out, "{}", summary_line(&ff.rpc.stats, ff.endpoints.len()))
}

/// The first DCE/RPC decoding notes of a file, on standard error.
fn warn_issues(ff: &FileFacts) {
    for i in ff.rpc.issues.iter().take(5) {
        eprintln!(
            "tracehound: {}: frame {}: {} → {}: {}",
            ff.run.name, i.frame, i.src, i.dst, i.what
        );
    }
    if ff.rpc.issues.len() > 5 {
        eprintln!(
            "tracehound: {}: {} more DCE/RPC decoding notes (see --json of analyze)",
            ff.run.name,
            ff.rpc.issues.len() - 5
        );
    }
}
