//! `tracehound conversations`: the TCP/UDP conversation table.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::ValueEnum;
use tracehound_decrypt::run::Decryptor;
use tracehound_decrypt::SessionReport;
use tracehound_flows::{Config, Conversation, Dir, FlowInfo, Proto, StreamHandler, Timestamp};
use tracehound_report::conversations::{problem_score, table_full, write_json_full, ProcessRef};
use tracehound_report::style::Style;

use crate::exit;
use crate::keys::KeyArgs;
use crate::warn::warn_run;
use tracehound_pipeline::fileset::{FileSets, FrameMap, Input};
use tracehound_pipeline::FileRun;
use tracehound_pipeline::Secrets;

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
    #[command(flatten)]
    export: crate::cmd::export::ExportArgs,
    /// TLS keys: each TLS conversation says whether it decrypted (and why not), with its
    /// plaintext byte counts (`tls` in --json).
    #[command(flatten)]
    secrets: KeyArgs,
    /// Files analysed at once (default: the cores available); the output is the same.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
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

pub fn run(mut a: Args) -> anyhow::Result<u8> {
    let secrets = if a.secrets.is_empty() { None } else { Some(a.secrets.load()?) };
    // --format parquet / zeek: every conversation goes to the exporter (streamed, as --json).
    let mut ex = a.export.exporter()?;
    a.json |= a.export.json() || ex.is_some();
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let style = Style::for_stdout();
    let keep = |c: &Conversation| a.keeps(c);
    let stream_json = a.json && a.top.is_none();
    let top = a.top.unwrap_or(25);
    let jobs = tracehound_pipeline::jobs::resolve(a.jobs);
    let mut sets = FileSets::for_command(&a.files, a.separate, a.join)?;
    let grouped = sets.grouping_done;
    let several = a.files.len() > 1 || grouped;
    // One file: its output into `out`, its exit code back. The exporter (when given) takes
    // the conversations in file order, so it runs on this thread (--jobs then has no effect).
    let one_file = |input: Input,
                    mut out: &mut (dyn Write + Send),
                    ex: &mut Option<tracehound_export::Exporter>|
     -> anyhow::Result<u8> {
        let mut ex_err = None;
        let path = &input.path().to_path_buf();
        // A joined set: records name each frame's own file (see `conv_line`).
        let frames = input.frames();
        let mut best: Vec<Conversation> = Vec::new();
        let mut total = 0u64;
        let name = path.display().to_string();
        let src = crate::cmd::export::source_of(path);
        let mut tls = Tls::new(secrets.as_ref(), path);
        // A Windows trace knows its processes only once the pass ended: its JSON lines wait
        // for the end (in the same order), up to MAX_WINDOWS_JSON of them.
        let win = stream_json && crate::cmd::convert::is_windows_file(path);
        let mut pending: Vec<(Conversation, Option<SessionReport>)> = Vec::new();
        let mut overflow = false;
        // --json: each conversation written as it ends, formatted on a thread of its own
        // unless one job was asked for (same lines, same order).
        let threaded = stream_json && !win && ex.is_none() && jobs > 1;
        let pass = |line: &mut dyn FnMut(Line)| {
            let mut on_conv = |c: Conversation, t: &mut Tls| {
                let session = t.session_of(&c);
                if !keep(&c) {
                    return;
                }
                total += 1;
                t.count(session.as_ref());
                if let Some(x) = ex.as_mut() {
                    let tj = session.as_ref().map(tls_json);
                    let r = x.conversation(&src, &c, None, tj.as_ref(), &[]);
                    return crate::cmd::export::keep_err(&mut ex_err, r);
                }
                if stream_json {
                    if win && !overflow {
                        if pending.len() < MAX_WINDOWS_JSON {
                            pending.push((c, session));
                            return;
                        }
                        overflow = true;
                        for (p, s) in pending.drain(..) {
                            line((p, s, false));
                        }
                    }
                    return line((c, session, true));
                }
                if let Some(s) = session {
                    t.shown.insert(c.info.id, s);
                }
                keep_best(&mut best, c, top, a.sort);
            };
            // Stream bytes only when there is something to decrypt.
            let cfg = Config { deliver_payload: tls.dec.is_some(), ..Config::default() };
            input.run(cfg, &mut tls, &mut on_conv, &mut |_| {})
        };
        let (run, err) = with_lines(threaded, out, frames.as_deref(), &name, pass);
        let run = match run {
            Ok(r) => r,
            Err(e) => {
                eprintln!("tracehound: {e:#}");
                return Ok(exit::INPUT);
            }
        };
        if let Some(x) = ex.as_mut() {
            crate::cmd::export::end_conversations(x, &mut ex_err, &src)?;
        }
        if let Some(e) = err {
            return Err(e.into());
        }
        top_of(&mut best, top, a.sort);
        if a.json {
            json_end(&mut out, &run, &best, &pending, &tls, &name)?;
            if overflow {
                eprintln!(
                    "tracehound: {name}: more than {MAX_WINDOWS_JSON} conversations: written \
                     as they ended, without process"
                );
            }
        } else {
            let view = TextView { run: &run, best: &best, total, top, sort: a.sort, several };
            text_summary(&mut out, &view, &tls, style)?;
        }
        out.flush()?;
        warn_run(&run);
        Ok(if run.damage.is_some() { exit::DAMAGED } else { exit::OK })
    };
    let code = super::inputs::run_inputs(&mut sets, a.jobs, &mut out, &mut ex, one_file)?;
    if let Some(x) = ex {
        crate::cmd::export::finish(x)?;
    }
    Ok(code)
}

/// A conversation for the JSON lines: the record, its TLS session, and whether its frames go
/// through the set's frame map (the held-back lines of a Windows trace do not).
type Line = (Conversation, Option<SessionReport>, bool);

/// Conversations sent to the writer thread at a time.
const LINE_BATCH: usize = 256;

/// Runs `pass` with somewhere to put its JSON lines: with `threaded`, they are formatted and
/// written on a thread of their own, in the order they come, while the pass goes on (at most
/// a few batches wait); otherwise on this thread. Gives back what `pass` returned and the
/// first write error (after which nothing more is written).
fn with_lines<R>(
    threaded: bool,
    out: &mut (dyn Write + Send),
    frames: Option<&std::sync::Mutex<FrameMap>>,
    name: &str,
    pass: impl FnOnce(&mut dyn FnMut(Line)) -> R,
) -> (R, Option<io::Error>) {
    if !threaded {
        let mut err = None;
        let r = pass(&mut |l| {
            if err.is_none() {
                err = write_line(out, frames, name, l).err();
            }
        });
        return (r, err);
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Line>>(4);
        let writer = scope.spawn(move || -> io::Result<()> {
            for batch in rx {
                for l in batch {
                    write_line(out, frames, name, l)?;
                }
            }
            Ok(())
        });
        let mut batch = Vec::with_capacity(LINE_BATCH);
        // A send fails only once the writer stopped at an error, which join reports.
        let r = pass(&mut |l| {
            batch.push(l);
            if batch.len() == LINE_BATCH {
                let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(LINE_BATCH)));
            }
        });
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        let done = writer.join().unwrap_or_else(|_| Err(io::Error::other("writer thread failed")));
        (r, done.err())
    })
}

/// One JSON line of a conversation that just ended (no process: a stream does not know it).
fn write_line(
    mut out: &mut (dyn Write + Send),
    frames: Option<&std::sync::Mutex<FrameMap>>,
    name: &str,
    (c, session, mapped): Line,
) -> io::Result<()> {
    let i = streamed_iface(&c);
    if !mapped {
        return write_conv(&mut out, &c, name, session.as_ref(), None, i.as_deref());
    }
    let m = frames.and_then(|m| m.lock().ok());
    conv_line(&mut out, m.as_deref(), &c, name, session.as_ref(), None, i.as_deref())
}

/// Conversations of a Windows trace written with `--json` (they wait for the pass to end).
const MAX_WINDOWS_JSON: usize = 200_000;

/// The process behind a conversation, when the Windows trace recorded it.
fn process_of<'a>(run: &'a FileRun, c: &Conversation) -> Option<ProcessRef<'a>> {
    let (_, procs) = run.windows.as_ref()?;
    let p = procs.iter().rev().find(|p| p.matches(c.info.orig, c.info.resp))?;
    Some(ProcessRef { name: &p.name, pid: p.pid })
}

/// The capture interface of a conversation when the input had more than one: its name
/// (ETL adapters, PktMon components; a pcapng IDB's `if_name` in a one-section file, with
/// ` (if<N>)` added when several IDBs share it), else `if<N>` (pcapng IDB N of its section).
fn iface_of(run: &FileRun, c: &Conversation) -> Option<String> {
    if let Some((st, _)) = &run.windows {
        let list = &st.interfaces;
        return (list.len() > 1)
            .then(|| list.get(c.interface as usize).map(|i| i.name.clone()))
            .flatten();
    }
    let st = &run.capture;
    if st.interfaces <= 1 {
        return None;
    }
    let names = if st.sections <= 1 { st.interface_names.as_slice() } else { &[] };
    let name = names.get(c.interface as usize).and_then(|n| n.name.as_deref());
    Some(match name {
        Some(n) if names.iter().filter(|x| x.name.as_deref() == Some(n)).count() > 1 => {
            format!("{n} (if{})", c.interface)
        }
        Some(n) => n.to_string(),
        None => format!("if{}", c.interface),
    })
}

/// `--json` lines written as conversations end (the interface count is not known yet): the
/// interface when it is not the first.
fn streamed_iface(c: &Conversation) -> Option<String> {
    (c.interface != 0).then(|| format!("if{}", c.interface))
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
    fn summary(&self, out: &mut (impl Write + ?Sized)) -> io::Result<()> {
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
    iface: Option<&str>,
) -> io::Result<()> {
    let Some(t) = tls else {
        write_json_full(out, c, file, process, iface)?;
        return writeln!(out);
    };
    let mut buf = Vec::with_capacity(1024);
    write_json_full(&mut buf, c, file, process, iface)?;
    if buf.last() == Some(&b'}') {
        buf.pop();
        buf.extend_from_slice(b",\"tls\":");
        serde_json::to_writer(&mut buf, &tls_json(t))?;
        buf.push(b'}');
    }
    out.write_all(&buf)?;
    writeln!(out)
}

/// [`write_conv`]; for a joined set (`map` given) the conversation's frames are its files' own
/// numbers, `file` the file of its first frame and `last_file` that of its last when another.
fn conv_line(
    out: &mut impl Write,
    map: Option<&FrameMap>,
    c: &Conversation,
    file: &str,
    tls: Option<&SessionReport>,
    process: Option<ProcessRef<'_>>,
    iface: Option<&str>,
) -> io::Result<()> {
    let Some(map) = map.filter(|m| m.is_joined()) else {
        return write_conv(out, c, file, tls, process, iface);
    };
    let mut c = c.clone();
    let files = map.resolve_conversation(&mut c).unwrap_or_default();
    let mut line = Vec::with_capacity(1024);
    write_conv(&mut line, &c, &files.file, tls, process, iface)?;
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if let Some(l) = &files.last_file {
        tracehound_pipeline::fileset::resolve::with_field(&mut line, "last_file", l);
    }
    line.push(b'\n');
    out.write_all(&line)
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
fn windows_summary(out: &mut (impl Write + ?Sized), run: &FileRun) -> io::Result<()> {
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

impl Args {
    /// The conversation passes `--host`, `--port` and `--proto`.
    fn keeps(&self, c: &Conversation) -> bool {
        let (o, r) = (c.info.orig, c.info.resp);
        (self.host.is_empty() || self.host.iter().any(|h| *h == o.ip() || *h == r.ip()))
            && (self.port.is_empty() || self.port.iter().any(|p| *p == o.port() || *p == r.port()))
            && match self.proto.as_deref() {
                Some("tcp") => c.info.proto == Proto::Tcp,
                Some("udp") => c.info.proto == Proto::Udp,
                _ => true,
            }
    }
}

/// What the text table of one input shows.
struct TextView<'a> {
    run: &'a FileRun,
    best: &'a [Conversation],
    total: u64,
    top: usize,
    sort: SortBy,
    several: bool,
}

/// The text output of one input: its table and summary lines.
fn text_summary(
    out: &mut (impl Write + ?Sized),
    v: &TextView<'_>,
    tls: &Tls,
    style: Style,
) -> io::Result<()> {
    let run = v.run;
    if v.several {
        let head = format!("== {}", run.name);
        writeln!(out, "{}", style.paint(tracehound_report::style::Tone::Bold, &head))?;
    }
    let refs: Vec<&Conversation> = v.best.iter().collect();
    if !refs.is_empty() {
        let procs: Vec<_> = refs.iter().map(|c| process_of(run, c)).collect();
        let ifs: Vec<_> = refs.iter().map(|c| iface_of(run, c)).collect();
        let ifs: Vec<_> = ifs.iter().map(Option::as_deref).collect();
        write!(out, "{}", table_full(&refs, &procs, &ifs).render(style))?;
    } else if v.total == 0 {
        writeln!(out, "no conversations")?;
    }
    let d = &run.decode;
    let shown = match (refs.len(), v.top) {
        (_, 0) => "none shown: --top 0".to_string(),
        (n, _) if n as u64 == v.total => format!("all shown, by {}", sort_name(v.sort)),
        (n, _) => format!("{n} shown, by {}", sort_name(v.sort)),
    };
    let packets = run.engine.tcp_packets + run.engine.udp_packets;
    writeln!(
        out,
        "{} ({shown}); {}, {} TCP, {} UDP {}",
        plural(v.total, "conversation", "conversations"),
        plural(d.frames, "frame", "frames"),
        run.engine.tcp_packets,
        run.engine.udp_packets,
        if packets == 1 { "packet" } else { "packets" }
    )?;
    tls.summary(out)?;
    windows_summary(out, run)
}

/// The JSON lines written when the pass ended: the sorted conversations (`--top`), those of a
/// Windows trace that waited for its processes, and the trace summary.
fn json_end(
    out: &mut impl Write,
    run: &FileRun,
    best: &[Conversation],
    pending: &[(Conversation, Option<SessionReport>)],
    tls: &Tls,
    name: &str,
) -> io::Result<()> {
    let m = Some(&run.files).filter(|m| m.is_joined());
    for c in best {
        let (s, i) = (tls.shown.get(&c.info.id), iface_of(run, c));
        conv_line(out, m, c, &run.name, s, process_of(run, c), i.as_deref())?;
    }
    for (c, s) in pending {
        let i = iface_of(run, c);
        write_conv(out, c, name, s.as_ref(), process_of(run, c), i.as_deref())?;
    }
    if let Some((st, procs)) = &run.windows {
        let sum = tracehound_wintrace::TraceSummary::new(st, procs);
        let line = serde_json::json!({ "file": name, "windows_trace": sum });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Keep `c` among the `top` conversations by `sort` (bounded: trimmed now and then).
fn keep_best(best: &mut Vec<Conversation>, c: Conversation, top: usize, sort: SortBy) {
    best.push(c);
    if best.len() >= top.saturating_mul(2).max(64) {
        top_of(best, top, sort);
    }
}

/// The `top` conversations by `sort`, best first.
fn top_of(best: &mut Vec<Conversation>, top: usize, sort: SortBy) {
    best.sort_by_key(|c| std::cmp::Reverse(key(c, sort)));
    best.truncate(top);
}
