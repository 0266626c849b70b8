//! File sets read as one capture.
//!
//! Real captures come as ring buffers (`dumpcap -b filesize:…`, `tcpdump -C/-W`, `nmcap
//! x.chn:100M`): one capture point cut into files that follow each other in time. Such files are
//! read as ONE stream — one flow engine, one set of analyzers — so that a TCP connection
//! crossing a file boundary is one conversation and a DCE/RPC call whose response is in the
//! next file is one call.
//!
//! # The joining rule
//!
//! * The inputs (files, and directories: the capture files in them, recognised by content, in
//!   natural name order) are grouped into ring-buffer *families* by name
//!   ([`names::ring_family`]): `dc01_00001_20260101120000.pcapng`, `dc01_00002_…` are one
//!   family; `client.pcap` and `server.pcap` are two. `--join` puts every input in one family;
//!   `--separate` reads each file alone (no joining at all).
//! * Inside a family the files are ordered by their first packet time (read from the first
//!   frame only: cheap). Starting from the earliest, a group takes as its next file the first
//!   remaining file of the family that has the same link type and whose first packet is at or
//!   after the group's last packet (less [`TOLERANCE_NS`]); this is checked when the pass
//!   reaches the end of a file, so no file is read twice. Files that overlap the group in time
//!   are left for a later group: they come from another capture point and stay separate inputs
//!   (analyze compares them like any two captures).
//! * Standard input and Windows traces (ETL, NetMon: their reader has its own chaining) are
//!   always alone.
//!
//! Frame numbers run across a joined group inside the pass; [`FrameMap`] (in
//! [`crate::FileRun::files`]) turns them back into (file, frame) for output.

pub mod map;
pub mod names;
mod reader;
pub mod resolve;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracehound_capture::{CaptureReader, LinkType, Timestamp};
use tracehound_flows::{Config, Conversation, StreamHandler};
use tracehound_rpc::Call;

use crate::analysis::{analyze_file, analyze_reader, FileFacts, Mode, Threads};
use crate::input::{run_file, run_reader, FileRun};
use crate::Secrets;

pub use crate::source::FrameSource;
pub use map::{FileSpan, FrameMap};
pub use reader::SetReader;

/// Backwards slack allowed between a file's last packet and the next file's first (clocks of
/// several interfaces in one capture are not perfectly ordered): 10 ms.
pub const TOLERANCE_NS: i64 = 10_000_000;

/// A file of a family, with what its first frame said.
#[derive(Clone, Debug)]
struct Candidate {
    path: PathBuf,
    first_ts: Option<Timestamp>,
    link: Option<LinkType>,
}

/// How inputs are grouped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Joining {
    /// Ring-buffer families by name, joined where time continues (the default).
    #[default]
    Families,
    /// Every input one family.
    All,
    /// Each file alone (`--separate`).
    Separate,
}

impl Joining {
    /// From the `--separate` and `--join` flags.
    pub fn from_flags(separate: bool, join: bool) -> Joining {
        match (separate, join) {
            (true, _) => Joining::Separate,
            (false, true) => Joining::All,
            _ => Joining::Families,
        }
    }
}

/// One unit of analysis: a single file (read exactly as before), or a joined set.
pub enum Input {
    File(PathBuf),
    Set(Box<SetReader>),
    /// An input that could not be opened: `analyze` / `run` return the error.
    Failed(PathBuf, String),
}

impl Input {
    /// The first (or only) file: for names and per-file extras (decryption secrets blocks).
    pub fn path(&self) -> &Path {
        match self {
            Input::File(p) | Input::Failed(p, _) => p,
            Input::Set(s) => s.first_path(),
        }
    }
}

impl Input {
    /// A set: its frame table as it grows during the pass (the files joined so far), to
    /// resolve the frames of records written before the pass ends (see
    /// [`FrameMap::resolve_call`]). `None` for a single file.
    pub fn frames(&self) -> Option<Arc<Mutex<FrameMap>>> {
        match self {
            Input::File(_) | Input::Failed(..) => None,
            Input::Set(s) => Some(s.shared()),
        }
    }

    /// [`analyze_file`] over this input (a set: its first file's decryption secrets blocks; its
    /// group line — files, time span — said on standard error after the pass).
    pub fn analyze(
        self,
        mode: Mode,
        threads: Threads,
        secrets: Option<&Secrets>,
        on_calls: &mut (dyn FnMut(&[Call]) + Send),
    ) -> anyhow::Result<FileFacts> {
        let set = match self {
            Input::File(p) => return analyze_file(&p, mode, threads, secrets, on_calls),
            Input::Failed(_, e) => anyhow::bail!("{e}"),
            Input::Set(s) => *s,
        };
        let Some(secrets) = secrets else {
            let ff = analyze_reader(set, Config::default(), mode, threads, None, on_calls)?;
            eprintln!("tracehound: {}", ff.run.files.group_line());
            return Ok(ff);
        };
        let (secrets, warnings) = secrets.with_dsb(set.first_path());
        let mut ff =
            analyze_reader(set, Config::default(), mode, threads, Some(&secrets), on_calls)?;
        ff.run.warnings.splice(0..0, warnings);
        eprintln!("tracehound: {}", ff.run.files.group_line());
        Ok(ff)
    }

    /// [`run_file`] over this input.
    pub fn run<H: StreamHandler>(
        self,
        cfg: Config,
        handler: &mut H,
        on_conv: &mut dyn FnMut(Conversation, &mut H),
        after_frame: &mut dyn FnMut(&mut H),
    ) -> anyhow::Result<FileRun> {
        match self {
            Input::File(p) => run_file(&p, cfg, handler, on_conv, after_frame),
            Input::Set(s) => {
                let run = run_reader(*s, cfg, handler, on_conv, after_frame)?;
                eprintln!("tracehound: {}", run.files.group_line());
                Ok(run)
            }
            Input::Failed(_, e) => anyhow::bail!("{e}"),
        }
    }
}

/// The rule, in words, for standard error.
pub const RULE: &str = "file sets: files of one ring-buffer family (same name but for the \
number) are read as one capture when each next file (by first packet time) has the same link \
type and starts at or after the previous one's last packet (10 ms tolerance); files that \
overlap in time are separate capture points (--separate: each file alone, --join: any names)";

/// The inputs of one command, handed out group by group ([`FileSets::next_input`]).
pub struct FileSets {
    /// Families in the order of their first file among the inputs.
    families: VecDeque<Family>,
    /// An input that could not be opened, reported when its turn comes.
    pub joining: Joining,
    /// Some family had several files: the groups are worth printing.
    pub grouping_done: bool,
}

enum Family {
    One(PathBuf),
    Many(Arc<Mutex<VecDeque<Candidate>>>),
    Failed(PathBuf, String),
}

impl FileSets {
    /// Expand directories and group the inputs into families (reading only the first frame of
    /// files that have siblings).
    pub fn new(inputs: &[PathBuf], joining: Joining) -> anyhow::Result<FileSets> {
        let files = names::expand(inputs)?;
        let mut keys: Vec<(String, Vec<PathBuf>)> = Vec::new();
        let mut families = VecDeque::new();
        for (i, p) in files.into_iter().enumerate() {
            let k = family_key(i, &p, joining);
            match keys.iter_mut().find(|(kk, _)| *kk == k) {
                Some(e) => e.1.push(p),
                None => keys.push((k, vec![p])),
            }
        }
        let mut grouping_done = false;
        for (_, mut paths) in keys {
            if paths.len() == 1 {
                families.push_back(Family::One(paths.remove(0)));
                continue;
            }
            grouping_done = true;
            let mut cands = Vec::new();
            for path in paths {
                match peek(&path) {
                    Ok(Some(c)) => cands.push(c),
                    // Windows traces: alone
                    Ok(None) => families.push_back(Family::One(path)),
                    Err(e) => families.push_back(Family::Failed(path, e)),
                }
            }
            // by first packet time, then ring-buffer number / name
            cands.sort_by(|a, b| {
                a.first_ts.cmp(&b.first_ts).then_with(|| {
                    names::natural_cmp(&a.path.to_string_lossy(), &b.path.to_string_lossy())
                })
            });
            families.push_back(Family::Many(Arc::new(Mutex::new(cands.into()))));
        }
        Ok(FileSets { families, joining, grouping_done })
    }

    /// Without any grouping (every input alone): the files, in the order
    /// [`FileSets::next_input`] hands them out (for passes run ahead in parallel).
    pub fn single_files(&self) -> Vec<PathBuf> {
        if self.grouping_done {
            return Vec::new();
        }
        let one = |f: &Family| match f {
            Family::One(p) => Some(p.clone()),
            _ => None,
        };
        self.families.iter().filter_map(one).collect()
    }

    /// [`FileSets::new`] from a command's `--separate` / `--join` flags, the joining rule
    /// said on standard error when a family of several files was met.
    pub fn for_command(inputs: &[PathBuf], separate: bool, join: bool) -> anyhow::Result<Self> {
        let sets = FileSets::new(inputs, Joining::from_flags(separate, join))?;
        if sets.grouping_done {
            eprintln!("tracehound: {RULE}");
        }
        Ok(sets)
    }

    /// The next input to analyse ([`Input::Failed`] for one that cannot be opened).
    pub fn next_input(&mut self) -> Option<Input> {
        self.next_result().map(|r| r.unwrap_or_else(|(p, e)| Input::Failed(p, e)))
    }

    fn next_result(&mut self) -> Option<Result<Input, (PathBuf, String)>> {
        loop {
            match self.families.front()? {
                Family::One(_) | Family::Failed(..) => {
                    return match self.families.pop_front()? {
                        Family::One(p) => Some(Ok(Input::File(p))),
                        Family::Failed(p, e) => {
                            Some(Err((p.clone(), format!("{}: {e}", p.display()))))
                        }
                        Family::Many(_) => None,
                    };
                }
                Family::Many(q) => {
                    let q = q.clone();
                    let first = q.lock().ok()?.pop_front();
                    let Some(first) = first else {
                        self.families.pop_front();
                        continue;
                    };
                    let path = first.path.clone();
                    let set = SetReader::start(first, q).map(|s| Input::Set(Box::new(s)));
                    return Some(
                        set.map_err(|e| (path.clone(), format!("{}: {e}", path.display()))),
                    );
                }
            }
        }
    }
}

/// The family of the `i`th input (see the module docs): a key shared by files that may be one
/// capture. Inputs that are always alone get a key of their own (`#i`, never a path).
fn family_key(i: usize, p: &Path, joining: Joining) -> String {
    match joining {
        Joining::Separate => format!("#{i}"),
        _ if p.as_os_str() == "-" => format!("#{i}"),
        Joining::All => String::new(),
        Joining::Families => {
            let dir = p.parent().map(|d| d.display().to_string()).unwrap_or_default();
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            format!("{dir}/{}", names::ring_family(&name).0)
        }
    }
}

/// Open a file and read its first frame: its time and link type. `None` for Windows traces.
fn peek(path: &Path) -> Result<Option<Candidate>, String> {
    let mut r = CaptureReader::open(path).map_err(|e| e.to_string())?;
    if r.windows().is_some() {
        return Ok(None);
    }
    let f = r.next_frame().ok().flatten().map(|f| (f.ts, f.link));
    Ok(Some(Candidate { path: path.to_path_buf(), first_ts: f.map(|f| f.0), link: f.map(|f| f.1) }))
}
