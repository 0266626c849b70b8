//! `tracehound rpc`: the DCE/RPC call log, and the endpoints handed out.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use tracehound_report::rpc::{call_table, endpoint_table, needs_legend, summary_line, LEGEND};
use tracehound_report::style::Style;
use tracehound_rpc::Call;

use crate::analysis::{analyze_file, Mode};
use crate::exit;
use crate::input::keys::KeyArgs;
use crate::input::warn_run;

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
    /// Capture files (pcap, pcapng, optionally .gz; - for standard input).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// List the endpoints handed out (endpoint mapper, DCOM, bind_ack) and their follow-up.
    #[arg(long)]
    endpoints: bool,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// TLS keys: DCE/RPC inside TLS sessions that decrypt is analysed too.
    #[command(flatten)]
    secrets: KeyArgs,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let secrets = if a.secrets.is_empty() { None } else { Some(a.secrets.load()?) };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let style = Style::for_stdout();
    let mut code = exit::OK;
    let several = a.files.len() > 1;
    // One buffer for every JSON record (no allocation per call).
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    for path in &a.files {
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
        let mut on_calls = |cs: &[Call]| {
            for c in cs {
                if json_calls {
                    if err.is_none() {
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
        let ff = match analyze_file(path, Mode::Rpc, secrets.as_ref(), &mut on_calls) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("tracehound: {e:#}");
                code = exit::INPUT;
                continue;
            }
        };
        if let Some(e) = err {
            return Err(e.into());
        }
        if several && !a.json {
            writeln!(out, "== {}", ff.run.name)?;
        }
        if a.endpoints {
            if a.json {
                for e in &ff.endpoints {
                    write_json(&mut out, &mut buf, file_json.as_deref(), |w| {
                        serde_json::to_writer(w, e)
                    })?;
                }
            } else if ff.endpoints.is_empty() {
                writeln!(out, "no endpoints handed out in this capture")?;
            } else {
                write!(out, "{}", endpoint_table(&ff.endpoints).render(style))?;
            }
        } else if !a.json {
            shown.sort_by_key(|c| c.frame);
            if shown.is_empty() {
                writeln!(out, "no DCE/RPC calls in this capture")?;
            } else {
                write!(out, "{}", call_table(&shown).render(style))?;
                if needs_legend(&shown) {
                    writeln!(out, "{LEGEND}")?;
                }
            }
            if more > 0 {
                writeln!(out, "… {more} more calls not shown (use --json for all)")?;
            }
            writeln!(out, "{}", summary_line(&ff.rpc.stats, ff.endpoints.len()))?;
        }
        out.flush()?;
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
        warn_run(&ff.run);
        if ff.run.damage.is_some() && code == exit::OK {
            code = exit::DAMAGED;
        }
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
