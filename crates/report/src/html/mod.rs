//! The HTML report (`tracehound analyze --html`): one self-contained page — CSS, SVG and a
//! little script inline, no external URL — with the same findings, in the same order and the
//! same words as the text report ([`crate::findings::text`]), plus the pictures engineers draw
//! by hand, generated here as SVG (readable without script):
//!
//! - a ladder diagram of the evidence frames of each problem or warning ([`ladder`]);
//! - a TCP time–sequence graph for loss, zero-window, Nagle and black-hole findings
//!   ([`tseq`]);
//! - "where the time went" bars for slow responders ([`bars`]);
//! - the same flow seen at two capture points, lost packets marked ([`twocap`]);
//! - a DCE/RPC call timeline per association ([`timeline`]);
//!
//! and the tables people use ([`tables`]): conversations (sortable by a small inline script),
//! DCE/RPC calls, endpoints handed out and their follow-up, TLS sessions.
//!
//! Everything from the capture is escaped by the template engine (maud). The page stays
//! under [`PAGE_BUDGET`] bytes: pictures for at most [`MAX_PICTURES`] findings, tables cut to
//! a number of rows, findings beyond the budget listed in one line each — every cut says so
//! on the page.
//!
//! The pictures need packets the analysis pass did not keep: [`packets`] reads the frames
//! they draw back from the capture file (filtered and bounded).

mod bars;
mod findings;
mod ladder;
pub mod packets;
pub mod svg;
mod tables;
mod timeline;
mod tseq;
mod twocap;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use maud::{html, Markup, PreEscaped, DOCTYPE};
use tracehound_findings::{Facts, Finding, Severity};

use packets::{key_of, FlowKey, Packets, Wanted};

/// The page stays below this many bytes.
pub const PAGE_BUDGET: usize = 5_000_000;
/// Findings drawn at most (the others keep their text).
pub const MAX_PICTURES: usize = 40;

const CSS: &str = include_str!("../../templates/report.css");
const JS: &str = include_str!("../../templates/report.js");
/// Script errors are written into the page (`#js-errors`), where the browser tests look.
const ERROR_HOOK: &str = "window.addEventListener('error',function(e){var p=document.getElementById('js-errors');if(p){p.textContent+=String(e.message)+'\\n';}});";

/// One analysed capture: its facts and where to read its packets back (None for standard
/// input, which cannot be read twice: the pictures that need packets are then left out, with
/// a note).
pub struct Source<'a> {
    pub facts: Facts<'a>,
    pub path: Option<PathBuf>,
}

/// What the page shows.
pub struct Input<'a> {
    /// Sorted as the text report sorts them.
    pub findings: &'a [Finding],
    /// The file names as the text report names them.
    pub files: &'a [String],
    pub sources: Vec<Source<'a>>,
}

/// How a flow's conversation looked (for the ladder's columns and faded SYNs).
pub struct Role {
    pub orig: SocketAddr,
    /// SYNs with no SYN-ACK, reset or ICMP error.
    pub unanswered: bool,
    /// Index in the capture's conversations.
    pub conv: usize,
}

/// One capture's facts with the packets read back for its pictures.
pub struct CaptureCtx<'a> {
    pub facts: &'a Facts<'a>,
    pub pk: Packets,
    pub roles: HashMap<FlowKey, Role>,
    /// Endpoints handed out (address, port), by the answer's address and the server asked.
    pub handed_out: HashSet<(IpAddr, u16)>,
    pub icmp_senders: HashSet<IpAddr>,
    pub clients: HashSet<IpAddr>,
    /// The calls and DNS queries of the frames read back (one pass over the calls).
    pub calls: svg::CallIndex<'a>,
}

/// Which picture a finding gets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Picture {
    Ladder,
    TimeSeq,
    Bars,
    TwoCaptures,
}

/// The picture for a finding, or None (artifacts and infos get none).
pub fn picture_of(f: &Finding) -> Option<Picture> {
    if !matches!(f.severity, Severity::Problem | Severity::Warning) {
        return None;
    }
    Some(match f.id {
        "tcp.loss" | "tcp.zero_window" | "tcp.nagle_delayed_ack" | "tcp.pmtu_blackhole" => {
            Picture::TimeSeq
        }
        "app.slow_responder" => Picture::Bars,
        id if id.starts_with("path.") => Picture::TwoCaptures,
        _ => Picture::Ladder,
    })
}

/// Which captures a finding's evidence is in: the one it names, both of a comparison, every
/// capture when it names none (the comparisons of several captures).
pub fn source_indexes(f: &Finding, names: &[&str]) -> Vec<usize> {
    match &f.evidence.file {
        Some(file) => (0..names.len())
            .filter(|&i| file == names[i] || file.split(" + ").any(|p| p == names[i]))
            .collect(),
        None => (0..names.len()).collect(),
    }
}

/// What each capture must read back for the pictures of `pictured`.
fn wanted(findings: &[&Finding], srcs: &[Source]) -> Vec<Wanted> {
    let mut w: Vec<Wanted> = srcs.iter().map(|_| Wanted::default()).collect();
    for f in findings {
        let pic = picture_of(f);
        let names: Vec<&str> = srcs.iter().map(|s| s.facts.file).collect();
        for i in source_indexes(f, &names) {
            let Some(wi) = w.get_mut(i) else { continue };
            match pic {
                Some(Picture::TimeSeq) | Some(Picture::TwoCaptures) => {
                    wi.flows.extend(f.evidence.flows.iter().take(2).map(key_of));
                }
                Some(Picture::Ladder) => {
                    wi.frames.extend(f.evidence.frames.iter().copied());
                    if f.evidence.frames.is_empty() {
                        wi.flows.extend(f.evidence.flows.iter().take(4).map(key_of));
                    }
                }
                _ => {}
            }
        }
    }
    for (wi, s) in w.iter_mut().zip(srcs) {
        let mut last = wi.frames.iter().copied().max().unwrap_or(0);
        let mut found = HashSet::new();
        let mut ranges = Vec::new();
        let mut extra = Vec::new();
        for c in s.facts.conversations {
            let (o, r) = (c.info.orig, c.info.resp);
            let k = packets::key(c.info.proto, o.ip(), o.port(), r.ip(), r.port());
            let named = wi.flows.contains(&k);
            if named {
                found.insert(k);
                ranges.push((c.first_frame, c.last_frame));
            }
            if named || c.syn_frames.iter().any(|f| wi.frames.contains(f)) {
                last = last.max(c.last_frame);
                // The ICMP errors about it: a ladder draws them.
                extra.extend(c.icmp_errors.iter().map(|e| e.frame));
            }
        }
        last = last.max(extra.iter().copied().max().unwrap_or(0));
        wi.frames.extend(extra);
        let all_known = found.len() >= wi.flows.len();
        wi.last_frame = all_known.then_some(last);
        wi.ranges = all_known.then_some(ranges);
    }
    w
}

fn context<'a>(facts: &'a Facts<'a>, pk: Packets) -> CaptureCtx<'a> {
    let mut keys: HashSet<FlowKey> = pk.by_frame.values().filter_map(|p| p.flow_key()).collect();
    keys.extend(pk.flows.keys().copied());
    let mut roles = HashMap::new();
    let mut clients = HashSet::new();
    for (i, c) in facts.conversations.iter().enumerate() {
        let k = packets::key(
            c.info.proto,
            c.info.orig.ip(),
            c.info.orig.port(),
            c.info.resp.ip(),
            c.info.resp.port(),
        );
        if keys.contains(&k) {
            let unanswered = !c.syn_frames.is_empty()
                && c.synack_frame.is_none()
                && c.rst_frames.is_empty()
                && c.icmp_errors.is_empty();
            roles.insert(k, Role { orig: c.info.orig, unanswered, conv: i });
            clients.insert(c.info.orig.ip());
        }
    }
    let mut handed_out = HashSet::new();
    for e in facts.endpoints {
        let Some(port) = e.port else { continue };
        for a in [e.address.as_deref(), Some(e.asked_address.as_str())].into_iter().flatten() {
            if let Ok(ip) = a.parse::<IpAddr>() {
                handed_out.insert((ip, port));
            }
        }
    }
    let icmp_senders = pk
        .by_frame
        .values()
        .filter(|p| matches!(p.kind, packets::Kind::Icmp { .. }))
        .map(|p| p.src)
        .collect();
    let mut frames: HashSet<u64> = pk.by_frame.keys().copied().collect();
    // A ladder without evidence frames draws the first packets of its flows.
    frames.extend(pk.flows.values().flat_map(|v| v.iter().take(ladder::MAX_ROWS).map(|p| p.frame)));
    let calls = svg::CallIndex::new(&facts.rpc.calls, &facts.apps.dns, &frames);
    CaptureCtx { facts, pk, roles, handed_out, icmp_senders, clients, calls }
}

/// CPU seconds this thread has used (Linux; 0 elsewhere): wall time on a busy machine says
/// little.
fn thread_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |ns| ns / 1e9)
}

/// Write the page. With `TRACEHOUND_TIMINGS` set, says on standard error where the time went.
pub fn write(out: &mut dyn Write, input: &Input) -> std::io::Result<()> {
    let t0 = std::time::Instant::now();
    let c0 = thread_cpu();
    let pictured: Vec<&Finding> =
        input.findings.iter().filter(|f| picture_of(f).is_some()).take(MAX_PICTURES).collect();
    let want = wanted(&pictured, &input.sources);
    let t_want = t0.elapsed().as_secs_f64();
    // The packets are read back on another thread while the tables, which need none, are
    // made on this one.
    let (packets, tables, t_tables) = std::thread::scope(|sc| {
        let reader = sc.spawn(|| {
            input
                .sources
                .iter()
                .zip(&want)
                .map(|(s, w)| match &s.path {
                    Some(p) => packets::read(p, w),
                    None if w.frames.is_empty() && w.flows.is_empty() => Packets::default(),
                    None => Packets {
                        problem: Some("read from standard input: its packets cannot be read again for the pictures".into()),
                        ..Packets::default()
                    },
                })
                .collect::<Vec<Packets>>()
        });
        let t = std::time::Instant::now();
        let tables = tables::all(input);
        let t_tables = t.elapsed().as_secs_f64();
        let packets = reader.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (packets, tables, t_tables)
    });
    let ctxs: Vec<CaptureCtx> =
        input.sources.iter().zip(packets).map(|(s, pk)| context(&s.facts, pk)).collect();
    let t_read = t0.elapsed().as_secs_f64();
    let c_read = thread_cpu();
    let page = page(input, &ctxs, tables);
    let t_page = t0.elapsed().as_secs_f64();
    out.write_all(page.as_bytes())?;
    if std::env::var_os("TRACEHOUND_TIMINGS").is_some() {
        let decoded: u64 = ctxs.iter().map(|c| c.pk.decoded).sum();
        let c_end = thread_cpu();
        eprintln!(
            "tracehound: timings: html: choosing {:.3} s, reading back {:.3} s ({decoded} frames decoded; tables meanwhile {:.3} s), page {:.3} s ({} bytes); CPU of this thread {:.3} s up to the read back, {:.3} s for the page",
            t_want,
            t_read - t_want,
            t_tables,
            t_page - t_read,
            page.len(),
            c_read - c0,
            c_end - c_read
        );
    }
    Ok(())
}

fn page(input: &Input, ctxs: &[CaptureCtx], tables: Markup) -> String {
    let body = findings::body(input, ctxs, tables);
    let title = format!("tracehound analyze {}", input.files.join(", "));
    let m: Markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                style { (PreEscaped(CSS)) }
                script { (PreEscaped(ERROR_HOOK)) }
            }
            body {
                pre id="js-errors" {}
                (body)
                script { (PreEscaped(JS)) }
            }
        }
    };
    m.into_string()
}

/// Write the page to `path`, or to standard output for `-` (then returns true: the caller
/// prints nothing else there).
pub fn write_to(
    path: &std::path::Path,
    findings: &[Finding],
    files: &[String],
    sources: Vec<Source>,
) -> std::io::Result<bool> {
    let input = Input { findings, files, sources };
    if path.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        write(&mut w, &input)?;
        w.flush()?;
        return Ok(true);
    }
    let f = std::fs::File::create(path).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("{}: cannot create the HTML report: {e}", path.display()),
        )
    })?;
    let mut w = std::io::BufWriter::new(f);
    write(&mut w, &input)?;
    w.flush()?;
    Ok(false)
}
