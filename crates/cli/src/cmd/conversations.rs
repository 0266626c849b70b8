//! `tracehound conversations`: the TCP/UDP conversation table.

use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::PathBuf;

use clap::ValueEnum;
use tracehound_flows::{Config, Conversation, NoHandler, Proto};
use tracehound_report::conversations::{problem_score, table, write_json};
use tracehound_report::style::Style;

use crate::exit;
use crate::input::{run_file, warn_run};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SortBy {
    Bytes,
    Packets,
    Duration,
    Problems,
    Start,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  tracehound conversations capture.pcapng
  tracehound conversations --sort problems --top 10 client.pcap server.pcap
  tracehound conversations --port 135 --json capture.pcap.gz | jq .state
  tcpdump -w - -i eth0 | tracehound conversations -

JSON: one object per conversation (fields documented in the README). Without --top,
--json prints every conversation as it ends (memory stays bounded by the live flows).")]
pub struct Args {
    /// Capture files (pcap, pcapng, optionally .gz; - for standard input).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Show the first N conversations by the sort key (text default: 25).
    #[arg(long, value_name = "N")]
    top: Option<usize>,
    /// Sort key.
    #[arg(long, value_enum, default_value = "bytes")]
    sort: SortBy,
    /// Only conversations with this address at either end.
    #[arg(long, value_name = "ADDR")]
    host: Vec<IpAddr>,
    /// Only conversations with this port at either end.
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,
    /// Only this protocol.
    #[arg(long, value_parser = ["tcp", "udp"])]
    proto: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

fn key(c: &Conversation, s: SortBy) -> (i128, u64) {
    let v = match s {
        SortBy::Bytes => c.bytes() as i128,
        SortBy::Packets => c.packets() as i128,
        SortBy::Duration => (c.duration() * 1e9) as i128,
        SortBy::Problems => problem_score(c) as i128,
        SortBy::Start => -(c.start.as_nanos() as i128),
    };
    (v, u64::MAX - c.info.id)
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let style = Style::for_stdout();
    let keep = |c: &Conversation| {
        (a.host.is_empty()
            || a.host.iter().any(|h| *h == c.info.orig.ip() || *h == c.info.resp.ip()))
            && (a.port.is_empty()
                || a.port.iter().any(|p| *p == c.info.orig.port() || *p == c.info.resp.port()))
            && match a.proto.as_deref() {
                Some("tcp") => c.info.proto == Proto::Tcp,
                Some("udp") => c.info.proto == Proto::Udp,
                _ => true,
            }
    };
    let stream_json = a.json && a.top.is_none();
    let top = a.top.unwrap_or(25);
    let mut code = exit::OK;
    let several = a.files.len() > 1;
    for path in &a.files {
        let mut best: Vec<Conversation> = Vec::new();
        let mut total = 0u64;
        let mut err: Option<io::Error> = None;
        let name = path.display().to_string();
        let mut on_conv = |c: Conversation, _: &mut NoHandler| {
            if !keep(&c) {
                return;
            }
            total += 1;
            if stream_json {
                if err.is_none() {
                    if let Err(e) = write_json(&mut out, &c, &name).and_then(|_| writeln!(out)) {
                        err = Some(e);
                    }
                }
                return;
            }
            best.push(c);
            if best.len() >= top.saturating_mul(2).max(64) {
                best.sort_by_key(|c| std::cmp::Reverse(key(c, a.sort)));
                best.truncate(top);
            }
        };
        let cfg = Config { deliver_payload: false, ..Config::default() };
        let run = match run_file(path, cfg, &mut NoHandler, &mut on_conv, &mut |_| {}) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("tracehound: {e:#}");
                code = exit::INPUT;
                continue;
            }
        };
        if let Some(e) = err {
            return Err(e.into());
        }
        best.sort_by_key(|c| std::cmp::Reverse(key(c, a.sort)));
        best.truncate(top);
        if a.json {
            for c in &best {
                write_json(&mut out, c, &run.name)?;
                writeln!(out)?;
            }
        } else {
            if several {
                writeln!(
                    out,
                    "{}",
                    style.paint(tracehound_report::style::Tone::Bold, &format!("== {}", run.name))
                )?;
            }
            let refs: Vec<&Conversation> = best.iter().collect();
            if refs.is_empty() {
                writeln!(out, "no conversations")?;
            } else {
                write!(out, "{}", table(&refs).render(style))?;
            }
            let d = &run.decode;
            writeln!(
                out,
                "{} conversations ({} shown, by {}); {} frames, {} TCP, {} UDP packets",
                total,
                refs.len(),
                format!("{:?}", a.sort).to_lowercase(),
                d.frames,
                run.engine.tcp_packets,
                run.engine.udp_packets
            )?;
        }
        out.flush()?;
        warn_run(&run);
        if run.damage.is_some() && code == exit::OK {
            code = exit::DAMAGED;
        }
    }
    Ok(code)
}
