//! Windows capture formats (Network Monitor 2.x `.cap` / `.chn` sets, ETL from `netsh trace`
//! and `pktmon`), detected by content and read by `tracehound-wintrace`, delivered as
//! [`Frame`]s like any pcap. Kept apart from the pcap/pcapng parser: the reader only asks
//! [`sniff`] when the input is neither, and hands its input over.
//!
//! Frame numbers count delivered packets (frames a Windows format holds that are not
//! packets — NetMon metadata frames, ETW events of other providers — are counted in
//! [`WinStats`](tracehound_wintrace::WinStats), see [`CaptureReader::windows`]). Damaged
//! frames are skipped and listed in [`CaptureStats::problems`] with their byte position.

use std::io::{self, Cursor, Read};
use std::path::Path;

use tracehound_wintrace::{WinError, WinErrorKind, WinInput, WinReader};

use crate::error::{CaptureError, ErrorKind};
use crate::input::Input;
use crate::source::Source;
use crate::stats::{CaptureFormat, CaptureStats, Limits};
use crate::{Frame, LinkType, Timestamp};

pub(crate) use tracehound_wintrace::{sniff, SNIFF_LEN};

/// The `Read` side of a [`Source`] (gzip already undone).
struct SourceRead(Source);

impl Read for SourceRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// The input from its first byte on: the whole map, or the bytes already buffered followed
/// by the rest of the stream.
pub(crate) fn win_input(input: Input) -> WinInput {
    match input.into_parts() {
        Ok(map) => WinInput::Bytes(Box::new(map)),
        Err((head, src)) => WinInput::Stream(Box::new(Cursor::new(head).chain(SourceRead(src)))),
    }
}

fn win_limits(l: &Limits) -> tracehound_wintrace::Limits {
    tracehound_wintrace::Limits {
        max_packet_len: l.max_packet_len,
        max_problems_kept: l.max_problems_kept,
        ..tracehound_wintrace::Limits::default()
    }
}

pub(crate) fn to_capture_error(file: &str, e: WinError) -> CaptureError {
    let kind = match e.kind {
        WinErrorKind::Io => ErrorKind::Io(io::Error::other(e.what)),
        WinErrorKind::Truncated => ErrorKind::Truncated(e.what),
        WinErrorKind::Corrupt | WinErrorKind::Unsupported => ErrorKind::Corrupt(e.what),
    };
    CaptureError { file: file.to_string(), offset: e.offset, frame: e.frame, kind }
}

/// Opens a Windows capture from `input` (already sniffed as one).
pub(crate) fn open(input: Input, name: &str, limits: &Limits) -> Result<WinReader, CaptureError> {
    WinReader::from_input(win_input(input), win_limits(limits))
        .map_err(|e| to_capture_error(name, e))
}

/// Opens a Network Monitor `.chn` set by name (`x.chn` = `x.cap`, `x(1).cap`, ...), or
/// `None` when `path` is not one.
pub(crate) fn open_chain(path: &Path, limits: &Limits) -> Option<Result<WinReader, CaptureError>> {
    if tracehound_wintrace::chain_paths(path).is_empty() {
        return None;
    }
    let name = path.display().to_string();
    Some(WinReader::open_with(path, win_limits(limits)).map_err(|e| to_capture_error(&name, e)))
}

pub(crate) fn format_of(rd: &WinReader) -> CaptureFormat {
    match rd.format() {
        tracehound_wintrace::Format::Netmon => {
            let v = rd.stats().format.trim_start_matches("netmon ");
            let (a, b) = v.split_once('.').unwrap_or(("2", "0"));
            CaptureFormat::Netmon { version: (a.parse().unwrap_or(2), b.parse().unwrap_or(0)) }
        }
        tracehound_wintrace::Format::Etl => CaptureFormat::Etl,
    }
}

/// Copies what the Windows reader counted into `stats` (problems once each).
fn sync(rd: &WinReader, stats: &mut CaptureStats, limits: &Limits) {
    let w = rd.stats();
    stats.skipped_packets = w.skipped_damaged;
    let kept = stats.problems.len();
    for p in w.problems.iter().skip(kept) {
        if stats.problems.len() < limits.max_problems_kept {
            stats.problems.push(p.clone());
        }
    }
    stats.problems_not_kept = w.problems_not_kept;
    if stats.truncated.is_none() {
        stats.truncated.clone_from(&w.truncated);
    }
    stats.interfaces = w.interfaces.len() as u64;
}

/// The next frame of a Windows capture.
pub(crate) fn next_frame<'a>(
    rd: &'a mut WinReader,
    stats: &mut CaptureStats,
    (name, limits): (&str, &Limits),
    done: &mut bool,
) -> Result<Option<Frame<'a>>, CaptureError> {
    let got = match rd.next_packet() {
        Ok(Some(p)) => Some((p.ts_ns, p.link, p.orig_len, p.interface)),
        Ok(None) => None,
        Err(e) => {
            *done = true;
            let e = to_capture_error(name, e);
            sync(rd, stats, limits);
            return Err(e);
        }
    };
    let Some((ts, link, orig_len, interface)) = got else {
        *done = true;
        sync(rd, stats, limits);
        return Ok(None);
    };
    if stats.problems.len() < rd.stats().problems.len() {
        sync(rd, stats, limits);
    }
    let data = rd.last_packet_data();
    stats.frames = stats.frames.saturating_add(1);
    if (data.len() as u64) < u64::from(orig_len) {
        stats.frames_cut_by_snaplen = stats.frames_cut_by_snaplen.saturating_add(1);
    }
    let c = stats.link_types_seen.entry(LinkType(link)).or_insert(0);
    *c = c.saturating_add(1);
    Ok(Some(Frame {
        number: stats.frames.saturating_add(stats.numbered_non_packets),
        ts: Timestamp(ts),
        link: LinkType(link),
        data,
        orig_len,
        interface,
    }))
}
