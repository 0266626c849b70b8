//! `tracehound conversations`: the TCP/UDP conversation table.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::ValueEnum;
use tracehound_decrypt::run::Decryptor;
use tracehound_decrypt::SessionReport;
use tracehound_flows::{Config, Conversation, Dir, FlowInfo, Proto, StreamHandler, Timestamp};
use tracehound_report::conversations::{problem_score, table_with, write_json_with, ProcessRef};
use tracehound_report::style::Style;

use crate::exit;
use crate::input::keys::{KeyArgs, Secrets};
use crate::input::{run_file, warn_run, FileRun};

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
    /// TLS keys: each TLS conversation says whether it decrypted (and why not), with its
    /// plaintext byte counts (`tls` in --json).
    #[command(flatten)]
    secrets: KeyArgs,
}

fn key(c: &Conversation, s: SortBy) -> (i128, u64) {
    let v = match s {
        SortBy::Bytes => c.frame_bytes() as i128,
        SortBy::Packets => c.packets() as i128,
        SortBy::Duration => (c.duration() * 1e9) as i128,
        SortBy::Problems => problem_score(c) as i128,
        SortBy::Start => -(c.start.as_nanos() as i128),
    };
    (v, u64::MAX - c.info.id)
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let secrets = if a.secrets.is_empty() { None } else { Some(a.secrets.load()?) };
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
        let mut tls = Tls::new(secrets.as_ref(), path);
        // A Windows trace knows its processes only once the pass ended: its JSON lines wait
        // for the end (in the same order), up to MAX_WINDOWS_JSON of them.
        let win = stream_json && crate::cmd::convert::is_windows_file(path);
        let mut pending: Vec<(Conversation, Option<SessionReport>)> = Vec::new();
        let mut overflow = false;
        let mut on_conv = |c: Conversation, t: &mut Tls| {
            let session = t.session_of(&c);
            if !keep(&c) {
                return;
            }
            total += 1;
            t.count(session.as_ref());
            if stream_json {
                if win && !overflow {
                    if pending.len() < MAX_WINDOWS_JSON {
                        pending.push((c, session));
                        return;
                    }
                    overflow = true;
                    for (p, s) in pending.drain(..) {
                        if err.is_none() {
                            err = write_conv(&mut out, &p, &name, s.as_ref(), None).err();
                        }
                    }
                }
                if err.is_none() {
                    if let Err(e) = write_conv(&mut out, &c, &name, session.as_ref(), None) {
                        err = Some(e);
                    }
                }
                return;
            }
            if let Some(s) = session {
                t.shown.insert(c.info.id, s);
            }
            best.push(c);
            if best.len() >= top.saturating_mul(2).max(64) {
                best.sort_by_key(|c| std::cmp::Reverse(key(c, a.sort)));
                best.truncate(top);
            }
        };
        // Stream bytes only when there is something to decrypt.
        let cfg = Config { deliver_payload: tls.dec.is_some(), ..Config::default() };
        let run = match run_file(path, cfg, &mut tls, &mut on_conv, &mut |_| {}) {
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
                write_conv(&mut out, c, &run.name, tls.shown.get(&c.info.id), process_of(&run, c))?;
            }
            for (c, s) in &pending {
                write_conv(&mut out, c, &name, s.as_ref(), process_of(&run, c))?;
            }
            if overflow {
                eprintln!(
                    "tracehound: {name}: more than {MAX_WINDOWS_JSON} conversations: written \
                     as they ended, without process"
                );
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
            if !refs.is_empty() {
                let procs: Vec<_> = refs.iter().map(|c| process_of(&run, c)).collect();
                write!(out, "{}", table_with(&refs, &procs).render(style))?;
            } else if total == 0 {
                writeln!(out, "no conversations")?;
            }
            let d = &run.decode;
            let shown = match (refs.len(), top) {
                (_, 0) => "none shown: --top 0".to_string(),
                (n, _) if n as u64 == total => format!("all shown, by {}", sort_name(a.sort)),
                (n, _) => format!("{n} shown, by {}", sort_name(a.sort)),
            };
            writeln!(
                out,
                "{} ({shown}); {}, {} TCP, {} UDP {}",
                plural(total, "conversation", "conversations"),
                plural(d.frames, "frame", "frames"),
                run.engine.tcp_packets,
                run.engine.udp_packets,
                if run.engine.tcp_packets + run.engine.udp_packets == 1 {
                    "packet"
                } else {
                    "packets"
                }
            )?;
            tls.summary(&mut out)?;
            windows_summary(&mut out, &run)?;
        }
        out.flush()?;
        warn_run(&run);
        if run.damage.is_some() && code == exit::OK {
            code = exit::DAMAGED;
        }
    }
    Ok(code)
}

/// Conversations of a Windows trace written with `--json` (they wait for the pass to end).
const MAX_WINDOWS_JSON: usize = 200_000;

/// The process behind a conversation, when the Windows trace recorded it.
fn process_of<'a>(run: &'a FileRun, c: &Conversation) -> Option<ProcessRef<'a>> {
    let (_, procs) = run.windows.as_ref()?;
    let p = procs.iter().rev().find(|p| p.matches(c.info.orig, c.info.resp))?;
    Some(ProcessRef { name: &p.name, pid: p.pid })
}

fn sort_name(s: SortBy) -> &'static str {
    match s {
        SortBy::Bytes => "bytes",
        SortBy::Packets => "packets",
        SortBy::Duration => "duration",
        SortBy::Problems => "problems",
        SortBy::Start => "start",
    }
}

/// "1 conversation", "2 conversations".
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// TLS sessions of one file with keys given: a decryptor (no plaintext kept) whose verdicts
/// are matched to the conversations as they end. Without keys it does nothing.
struct Tls {
    dec: Option<Decryptor<'static>>,
    /// Verdicts whose conversation has not come yet, by (client, server).
    waiting: HashMap<(SocketAddr, SocketAddr), VecDeque<SessionReport>>,
    /// Verdicts of the conversations kept for the table / sorted JSON.
    shown: HashMap<u64, SessionReport>,
    sessions: u64,
    decrypted: u64,
    /// Sessions not decrypted (first few), for the text summary.
    why: Vec<SessionReport>,
}

/// Reasons listed under the text table at most.
const MAX_WHY: usize = 20;

impl Tls {
    fn new(secrets: Option<&Secrets>, path: &std::path::Path) -> Tls {
        let dec = secrets.map(|s| {
            let (s, warnings) = s.with_dsb(path);
            for w in warnings {
                eprintln!("tracehound: warning: {w}");
            }
            Decryptor::new(s.shared(), false, None)
        });
        Tls {
            dec,
            waiting: HashMap::new(),
            shown: HashMap::new(),
            sessions: 0,
            decrypted: 0,
            why: Vec::new(),
        }
    }

    /// The verdict of this (finished) conversation, when it was a TLS session.
    fn session_of(&mut self, c: &Conversation) -> Option<SessionReport> {
        let dec = self.dec.as_mut()?;
        for r in dec.reports.drain(..) {
            let (Ok(src), Ok(dst)) = (r.src.parse(), r.dst.parse()) else { continue };
            let k = (SocketAddr::new(src, r.sport), SocketAddr::new(dst, r.dport));
            self.waiting.entry(k).or_default().push_back(r);
        }
        let k = (c.info.orig, c.info.resp);
        let q = self.waiting.get_mut(&k)?;
        let r = q.pop_front();
        if q.is_empty() {
            self.waiting.remove(&k);
        }
        r
    }

    fn count(&mut self, s: Option<&SessionReport>) {
        let Some(s) = s else { return };
        self.sessions += 1;
        if s.decrypted {
            self.decrypted += 1;
        } else if self.why.len() < MAX_WHY {
            self.why.push(s.clone());
        }
    }

    /// Under the table: how many sessions decrypted, and why the others did not.
    fn summary(&self, out: &mut impl Write) -> io::Result<()> {
        if self.dec.is_none() {
            return Ok(());
        }
        writeln!(
            out,
            "TLS: {}, {} decrypted",
            plural(self.sessions, "session", "sessions"),
            self.decrypted
        )?;
        for s in &self.why {
            writeln!(
                out,
                "  not decrypted: {}:{} → {}:{} (frame {}): {}",
                s.src,
                s.sport,
                s.dst,
                s.dport,
                s.first_frame,
                s.reason.as_deref().unwrap_or("-")
            )?;
        }
        let more = self.sessions - self.decrypted - self.why.len() as u64;
        if more > 0 {
            writeln!(out, "  … {more} more not decrypted (see --json)")?;
        }
        Ok(())
    }
}

impl StreamHandler for Tls {
    fn tcp_data(
        &mut self,
        flow: &FlowInfo,
        dir: Dir,
        offset: u64,
        data: &[u8],
        frame: u64,
        ts: Timestamp,
    ) {
        if let Some(d) = self.dec.as_mut() {
            d.tcp_data(flow, dir, offset, data, frame, ts);
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
        if let Some(d) = self.dec.as_mut() {
            d.tcp_gap(flow, dir, offset, len, frame, ts);
        }
    }
    fn tcp_end(&mut self, flow: &FlowInfo, ts: Timestamp) {
        if let Some(d) = self.dec.as_mut() {
            d.tcp_end(flow, ts);
        }
    }
    fn udp(&mut self, _: &FlowInfo, _: Dir, _: &[u8], _: u64, _: Timestamp) {}
}

/// One conversation as a JSON line; with a TLS verdict, `"tls":{…}` (the session's report)
/// is added to the object.
fn write_conv(
    out: &mut impl Write,
    c: &Conversation,
    file: &str,
    tls: Option<&SessionReport>,
    process: Option<ProcessRef<'_>>,
) -> io::Result<()> {
    let Some(t) = tls else {
        write_json_with(out, c, file, process)?;
        return writeln!(out);
    };
    let mut buf = Vec::with_capacity(1024);
    write_json_with(&mut buf, c, file, process)?;
    if buf.last() == Some(&b'}') {
        buf.pop();
        buf.extend_from_slice(b",\"tls\":");
        serde_json::to_writer(&mut buf, &tls_json(t))?;
        buf.push(b'}');
    }
    out.write_all(&buf)?;
    writeln!(out)
}

/// The `tls` object of a conversation (addresses are the conversation's own).
fn tls_json(s: &SessionReport) -> serde_json::Value {
    serde_json::json!({
        "sni": s.sni,
        "version": s.version,
        "cipher": s.cipher,
        "key_exchange": s.key_exchange,
        "decrypted": s.decrypted,
        "reason": s.reason,
        "records": s.records,
        "client_bytes": s.client_bytes,
        "server_bytes": s.server_bytes,
        "first_frame": s.first_frame,
    })
}

/// The capinfo-style facts of a Windows trace (ETL / NetMon), after the table.
fn windows_summary(out: &mut impl Write, run: &FileRun) -> io::Result<()> {
    let Some((st, procs)) = &run.windows else { return Ok(()) };
    let mut line = format!("windows trace: {}", st.format);
    if st.files > 1 {
        line.push_str(&format!(" ({} files)", st.files));
    }
    if let Some(e) = &st.etl {
        let clock = match e.clock_type {
            1 => format!("QPC ({} Hz)", e.perf_freq),
            2 => "system time".to_string(),
            3 => format!("CPU cycles ({} MHz)", e.cpu_mhz),
            n => format!("clock type {n}"),
        };
        line.push_str(&format!(
            ", Windows {}, {} CPUs, clock {clock}, {} buffers ({} compressed), {} buffers lost, \
             {} events lost",
            e.os_version,
            e.processors,
            st.buffers,
            st.compressed_buffers,
            e.buffers_lost,
            e.events_lost
        ));
    }
    writeln!(out, "{line}")?;
    if !st.providers.is_empty() {
        let name = |g: &str| match g {
            "4d4f80d9-c8bd-4d73-bb5b-19c90402c5ac" => "Microsoft-Windows-PktMon".to_string(),
            "2ed6006e-4729-4609-b423-3ee7bcd678ef" => "Microsoft-Windows-NDIS-PacketCapture".into(),
            "7dd42a49-5329-4832-8dfd-43d979153a88" => "Microsoft-Windows-Kernel-Network".into(),
            g => format!("{{{g}}}"),
        };
        let p: Vec<String> =
            st.providers.iter().map(|(g, n)| format!("{} ×{n}", name(g))).collect();
        writeln!(out, "  providers: {}", p.join(", "))?;
    }
    let not_packets: u64 = st.not_packets.values().sum();
    writeln!(
        out,
        "  {} packets, {not_packets} other records skipped, {} damaged; {} processes known; {} \
         packets dropped by Windows{}",
        st.packets,
        st.skipped_damaged,
        procs.len(),
        st.drops_total,
        if st.drops_total > 0 { " (see `analyze`: windows.packet_dropped)" } else { "" }
    )
}
