//! `tracehound rpc`: the DCE/RPC call log, and the endpoints handed out.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use tracehound_report::rpc::{call_table, endpoint_table};
use tracehound_report::style::Style;
use tracehound_rpc::Call;

use crate::analysis::{analyze_file, Mode};
use crate::exit;
use crate::input::warn_run;

/// Calls shown in the text table per file (all are in --json).
const MAX_TEXT_CALLS: usize = 100_000;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  tracehound rpc capture.pcap                 # one line per call
  tracehound rpc --endpoints capture.pcap     # every endpoint handed out, and what became of it
  tracehound rpc --json capture.pcap | jq 'select(.outcome != \"ok\")'

JSON (stable, one object per call): ts, frame, src, sport, dst, dport, pipe, uuid, version,
interface, opnum, operation, outcome (ok, fault, bind_nak, rejected, no_response), status,
status_code, rtt, request_bytes, response_bytes, response_frame, auth_type, auth_level, user,
endpoints ([{binding, protocol, address, port|pipe, uuid}]), epm_status.
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
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let style = Style::for_stdout();
    let mut code = exit::OK;
    let several = a.files.len() > 1;
    for path in &a.files {
        let mut shown: Vec<Call> = Vec::new();
        let mut more = 0usize;
        let mut err: Option<io::Error> = None;
        let json_calls = a.json && !a.endpoints;
        let text_calls = !a.json && !a.endpoints;
        let mut on_calls = |cs: &[Call]| {
            for c in cs {
                if json_calls {
                    if err.is_none() {
                        if let Err(e) = serde_json::to_writer(&mut out, c)
                            .map_err(io::Error::from)
                            .and_then(|_| writeln!(out))
                        {
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
        let ff = match analyze_file(path, Mode::Rpc, &mut on_calls) {
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
                    serde_json::to_writer(&mut out, e)?;
                    writeln!(out)?;
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
            }
            if more > 0 {
                writeln!(out, "… {more} more calls not shown (use --json for all)")?;
            }
            let s = &ff.rpc.stats;
            writeln!(
                out,
                "{} calls, {} faults, {} binds ({} rejected); {} endpoint{} handed out",
                s.calls,
                s.faults,
                s.binds,
                s.bind_naks,
                ff.endpoints.len(),
                if ff.endpoints.len() == 1 { "" } else { "s" }
            )?;
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
