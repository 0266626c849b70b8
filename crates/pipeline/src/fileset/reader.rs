//! [`SetReader`]: the files of one group read as one stream of frames.
//!
//! Frames are handed out borrowed from the current file's reader (a memory map for regular
//! files), exactly as a single file's are: no copy. Only where a file ends inside a call of
//! [`FrameSource::next_frame`] is the following file opened on the side (`next`) and its first
//! frame copied out; the call after that makes it the current file. (The current reader cannot
//! be replaced in the call that found its end: the frame a call returns borrows it.)

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use tracehound_capture::{CaptureError, CaptureReader, CaptureStats, Frame, LinkType};

use super::map::{FileSpan, FrameMap};
use super::{Candidate, FrameSource, TOLERANCE_NS};

/// Problems of the files of a set kept at most (beyond: counted).
const MAX_SET_PROBLEMS: usize = 64;

/// Several files of one capture point read as one capture (see the module docs of
/// [`crate::fileset`]).
pub struct SetReader {
    cur: CaptureReader,
    /// `cur` came to its end in an earlier call; its statistics are not added yet.
    cur_ended: bool,
    /// `cur` ended, was added, and no file followed: the set is read.
    done: bool,
    chain: Chain,
}

/// Everything but the current reader (so that it can change while a frame borrows `cur`).
struct Chain {
    first_path: PathBuf,
    first_name: String,
    /// "first … last (N files)" once a second file joined.
    name: String,
    /// The rest of the family (shared with [`super::FileSets`], which gets what this group left).
    rest: Arc<Mutex<VecDeque<Candidate>>>,
    map: FrameMap,
    /// The files joined so far, for records written during the pass ([`super::Input::frames`]).
    shared: Arc<Mutex<FrameMap>>,
    link: Option<LinkType>,
    /// The statistics of the files done, added up.
    merged: Option<CaptureStats>,
    /// Bytes of the files done.
    bytes_done: u64,
    /// The file after `cur`, opened when `cur` ended; its first frame was handed out already.
    next: Option<CaptureReader>,
    /// What happened between `cur` and `next` (files that could not be opened or held no
    /// frame), in order: added after `cur`'s statistics.
    between: Vec<Between>,
    /// The first frame of `next`: its bytes copied (it was read from a reader not yet current).
    data: Vec<u8>,
    /// The current file could not be read to its end: why.
    cur_error: Option<String>,
    /// The statistics of the whole set, made when asked for after the last file ended.
    total: OnceLock<CaptureStats>,
}

enum Between {
    Problem(String),
    /// A file that ended without a frame: its statistics, name, error and bytes.
    Ended(Box<CaptureStats>, String, Option<String>, u64),
}

impl SetReader {
    pub(super) fn start(
        c: Candidate,
        rest: Arc<Mutex<VecDeque<Candidate>>>,
    ) -> Result<SetReader, String> {
        let cur = CaptureReader::open(&c.path).map_err(|e| e.to_string())?;
        let name = cur.name().to_string();
        let chain = Chain {
            first_path: c.path,
            map: FrameMap { files: vec![span(&name, 0)] },
            shared: Arc::new(Mutex::new(FrameMap { files: vec![span(&name, 0)] })),
            first_name: name.clone(),
            name,
            rest,
            link: c.link,
            merged: None,
            bytes_done: 0,
            next: None,
            between: Vec::new(),
            data: Vec::new(),
            cur_error: None,
            total: OnceLock::new(),
        };
        Ok(SetReader { cur, cur_ended: false, done: false, chain })
    }

    /// The first file of the set.
    pub fn first_path(&self) -> &std::path::Path {
        &self.chain.first_path
    }

    /// The frame table as it grows during the pass.
    pub(super) fn shared(&self) -> Arc<Mutex<FrameMap>> {
        self.chain.shared.clone()
    }

    /// `cur` ended in an earlier call: add its statistics (and what came between it and the
    /// next file), then make the next file current. `false`: no file followed.
    fn switch(&mut self) -> bool {
        let c = &mut self.chain;
        let err = c.cur_error.take();
        c.merged = Some(fold(c.merged.take(), self.cur.stats(), self.cur.name(), err));
        c.add_between();
        let Some(next) = c.next.take() else {
            self.done = true;
            return false;
        };
        c.bytes_done = c.bytes_done.saturating_add(self.cur.source_bytes_read());
        self.cur = next;
        self.cur_ended = false;
        true
    }
}

impl Chain {
    /// Add what came between the current file and the next to the statistics.
    fn add_between(&mut self) {
        for b in std::mem::take(&mut self.between) {
            match b {
                Between::Problem(p) => problem(self.merged.as_mut(), p),
                Between::Ended(s, name, err, bytes) => {
                    self.merged = Some(fold(self.merged.take(), &s, &name, err));
                    self.bytes_done = self.bytes_done.saturating_add(bytes);
                }
            }
        }
    }

    /// The next candidate that continues the group in time (removed from the family).
    fn pick(&mut self) -> Option<Candidate> {
        let last_ts = self.map.files.last()?.last_ts;
        let mut q = self.rest.lock().ok()?;
        let i = q.iter().position(|c| {
            let same_link = c.link == self.link || self.link.is_none() || c.link.is_none();
            let in_time = match (last_ts, c.first_ts) {
                (Some(l), Some(f)) => f.nanos_since(l) >= -TOLERANCE_NS,
                _ => true,
            };
            same_link && in_time
        })?;
        q.remove(i)
    }

    /// The current file ended: open the files that continue the group until one gives a
    /// frame; that reader goes to `next`, its first frame (copied) is returned.
    fn follow(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        loop {
            let Some(c) = self.pick() else { return Ok(None) };
            let mut r = match CaptureReader::open(&c.path) {
                Ok(r) => r,
                Err(e) => {
                    self.between.push(Between::Problem(format!("{}: {e}", c.path.display())));
                    continue;
                }
            };
            self.link = self.link.or(c.link);
            let offset = self.map.files.last().map_or(0, |l| l.offset.saturating_add(l.last_frame));
            self.map.files.push(span(r.name(), offset));
            if let Ok(mut m) = self.shared.lock() {
                m.files.push(span(r.name(), offset));
            }
            let n = self.map.files.len();
            self.name = format!("{} … {} ({n} files)", self.first_name, r.name());
            let got = match r.next_frame() {
                Ok(Some(f)) => {
                    self.data.clear();
                    self.data.extend_from_slice(f.data);
                    Ok((f.number, f.ts, f.link, f.orig_len, f.interface))
                }
                Ok(None) => Err(None),
                Err(e) => Err(Some(e.to_string())),
            };
            match got {
                Ok((number, ts, link, orig_len, interface)) => {
                    self.next = Some(r);
                    let number = stamp(&mut self.map, number, ts);
                    let data = &self.data;
                    return Ok(Some(Frame { number, ts, link, data, orig_len, interface }));
                }
                Err(err) => {
                    let (s, name) = (Box::new(r.stats().clone()), r.name().to_string());
                    self.between.push(Between::Ended(s, name, err, r.source_bytes_read()));
                }
            }
        }
    }
}

/// Record a frame of the last file in the table; its set-wide number.
fn stamp(map: &mut FrameMap, number: u64, ts: tracehound_capture::Timestamp) -> u64 {
    let Some(cur) = map.files.last_mut() else { return number };
    cur.last_frame = cur.last_frame.max(number);
    cur.first_ts = Some(cur.first_ts.map_or(ts, |t| t.min(ts)));
    cur.last_ts = Some(cur.last_ts.map_or(ts, |t| t.max(ts)));
    cur.offset.saturating_add(number)
}

/// The set's statistics with one more file's added (`err`: why it could not be read to its end).
fn fold(
    merged: Option<CaptureStats>,
    s: &CaptureStats,
    name: &str,
    err: Option<String>,
) -> CaptureStats {
    let mut m = match merged {
        None => {
            let mut first = s.clone();
            first.truncated = first.truncated.map(|t| format!("{name}: {t}"));
            first.problems.iter_mut().for_each(|p| *p = format!("{name}: {p}"));
            first
        }
        Some(mut m) => {
            add_stats(&mut m, s.clone(), name);
            m
        }
    };
    if let Some(e) = err {
        problem(Some(&mut m), e.clone());
        m.truncated.get_or_insert(e);
    }
    m
}

fn problem(m: Option<&mut CaptureStats>, what: String) {
    let Some(m) = m else { return };
    if m.problems.len() < MAX_SET_PROBLEMS {
        m.problems.push(what);
    } else {
        m.problems_not_kept += 1;
    }
}

/// Add one file's statistics to the set's.
fn add_stats(m: &mut CaptureStats, s: CaptureStats, name: &str) {
    m.frames += s.frames;
    m.numbered_non_packets += s.numbered_non_packets;
    m.sections += s.sections;
    m.interfaces = m.interfaces.max(s.interfaces);
    for (k, v) in s.unknown_blocks {
        *m.unknown_blocks.entry(k).or_default() += v;
    }
    m.unknown_blocks_other += s.unknown_blocks_other;
    m.comments += s.comments;
    m.frames_cut_by_snaplen += s.frames_cut_by_snaplen;
    m.caplen_over_snaplen += s.caplen_over_snaplen;
    m.frames_without_timestamp += s.frames_without_timestamp;
    for (k, v) in s.link_types_seen {
        *m.link_types_seen.entry(k).or_default() += v;
    }
    m.skipped_packets += s.skipped_packets;
    m.problems_not_kept += s.problems_not_kept;
    for p in s.problems {
        if m.problems.len() < MAX_SET_PROBLEMS {
            m.problems.push(format!("{name}: {p}"));
        } else {
            m.problems_not_kept += 1;
        }
    }
    if m.truncated.is_none() {
        m.truncated = s.truncated.map(|t| format!("{name}: {t}"));
    }
}

fn span(name: &str, offset: u64) -> FileSpan {
    FileSpan { name: name.to_string(), offset, last_frame: 0, first_ts: None, last_ts: None }
}

impl FrameSource for SetReader {
    fn name(&self) -> &str {
        &self.chain.name
    }

    fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done || (self.cur_ended && !self.switch()) {
            return Ok(None);
        }
        match self.cur.next_frame() {
            Ok(Some(f)) => {
                let number = stamp(&mut self.chain.map, f.number, f.ts);
                return Ok(Some(Frame { number, ..f }));
            }
            Ok(None) => {}
            // a damaged file: said, and the set goes on with the next file
            Err(e) => self.chain.cur_error = Some(e.to_string()),
        }
        self.cur_ended = true;
        self.chain.follow()
    }

    fn source_len(&self) -> Option<u64> {
        None
    }

    fn source_bytes_read(&self) -> u64 {
        self.chain.bytes_done.saturating_add(self.cur.source_bytes_read())
    }

    fn stats(&self) -> &CaptureStats {
        let c = &self.chain;
        if self.cur_ended && !self.done && c.next.is_none() {
            // the last file ended in the call that returned the end of the set
            return c.total.get_or_init(|| {
                let err = c.cur_error.clone();
                let mut m = fold(c.merged.clone(), self.cur.stats(), self.cur.name(), err);
                for b in &c.between {
                    match b {
                        Between::Problem(p) => problem(Some(&mut m), p.clone()),
                        Between::Ended(s, name, err, _) => {
                            m = fold(Some(m), s, name, err.clone());
                        }
                    }
                }
                m
            });
        }
        c.merged.as_ref().unwrap_or(self.cur.stats())
    }

    fn windows(&self) -> Option<&tracehound_wintrace::WinReader> {
        None
    }

    fn frame_map(&self) -> FrameMap {
        self.chain.map.clone()
    }
}
