//! [`WinReader`]: one streaming pass over a NetMon file, a `.chn` set of them, or an ETL
//! file, behind one interface.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use crate::error::{WinError, WinErrorKind};
use crate::etl::EtlReader;
use crate::netmon::NetmonReader;
use crate::{sniff, Format, Limits, Loc, Packet, ProcessInfo, WinStats, SNIFF_LEN};

/// Where the bytes come from.
pub enum WinInput {
    /// The whole input in memory or mapped (random access: what NetMon needs).
    Bytes(Box<dyn AsRef<[u8]> + Send + Sync>),
    /// A byte stream (ETL is read buffer by buffer; NetMon is read to its end first, up to
    /// [`Limits::max_stream_len`]).
    Stream(Box<dyn Read + Send>),
}

enum Inner {
    Netmon(NetmonReader),
    Etl(Box<EtlReader>),
}

/// Reader of one Windows capture (or `.chn` set): see the crate docs.
pub struct WinReader {
    inner: Inner,
    /// Further files of a `.chn` set, in order.
    rest: VecDeque<PathBuf>,
    limits: Limits,
    stats: WinStats,
    processes: Vec<ProcessInfo>,
    format: Format,
    /// First process index of the current NetMon file (files of a set each have a table).
    process_base: u32,
    /// The packet delivered last (see [`WinReader::last_packet_data`]).
    last: Option<Loc>,
}

/// The files of a Network Monitor `.chn` set named `x.chn`: `x.cap`, `x(1).cap`, `x(2).cap`,
/// ... in that order, as far as they exist. Empty when `path` is not a `.chn` name.
pub fn chain_paths(path: &Path) -> Vec<PathBuf> {
    let is_chn = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("chn"));
    if !is_chn {
        return Vec::new();
    }
    let stem = path.with_extension("");
    let stem = stem.to_string_lossy();
    let mut out = Vec::new();
    let first = PathBuf::from(format!("{stem}.cap"));
    if first.is_file() {
        out.push(first);
    }
    for i in 1..100_000u32 {
        let p = PathBuf::from(format!("{stem}({i}).cap"));
        if !p.is_file() {
            break;
        }
        out.push(p);
    }
    out
}

fn open_err(e: &std::io::Error) -> WinError {
    WinError::io(0, 0, e)
}

/// Maps a file (read-only); a file that cannot be mapped is read into memory.
fn file_bytes(
    path: &Path,
    limits: &Limits,
) -> Result<Box<dyn AsRef<[u8]> + Send + Sync>, WinError> {
    let f = File::open(path).map_err(|e| open_err(&e))?;
    // SAFETY: read-only map of a capture file; every access is bounds-checked. A file cut by
    // another process while mapped can fault the process, the trade-off the capture crate
    // documents for its own maps.
    if let Ok(m) = unsafe { memmap2::Mmap::map(&f) } {
        return Ok(Box::new(m));
    }
    read_capped(Box::new(f), limits.max_stream_len).map(|v| Box::new(v) as _)
}

/// Maps an ETL file for reading in place (its buffers are then views into the map, not
/// copies), advised sequential; `None` when it cannot be mapped (it is read as a stream).
fn map_file(f: &File) -> Option<Box<dyn AsRef<[u8]> + Send + Sync>> {
    // SAFETY: as in `file_bytes`: a read-only map, every access bounds-checked; a file cut by
    // another process while mapped can fault the process.
    let m = unsafe { memmap2::Mmap::map(f) }.ok()?;
    #[cfg(unix)]
    let _ = m.advise(memmap2::Advice::Sequential);
    Some(Box::new(m))
}

fn read_capped(r: Box<dyn Read + Send>, cap: u64) -> Result<Vec<u8>, WinError> {
    let mut v = Vec::new();
    r.take(cap.saturating_add(1)).read_to_end(&mut v).map_err(|e| open_err(&e))?;
    if v.len() as u64 > cap {
        let what = format!(
            "a Network Monitor file read from a stream must fit in memory: it is over the \
             {cap}-byte limit (read it from a file instead)"
        );
        return Err(WinError::new(WinErrorKind::Unsupported, cap, 0, what));
    }
    Ok(v)
}

impl WinReader {
    /// Opens a NetMon file, a `.chn` set (`x.chn` = `x.cap`, `x(1).cap`, ...) or an ETL file.
    pub fn open(path: &Path) -> Result<WinReader, WinError> {
        WinReader::open_with(path, Limits::default())
    }

    pub fn open_with(path: &Path, limits: Limits) -> Result<WinReader, WinError> {
        let chain = chain_paths(path);
        if !chain.is_empty() {
            let mut rest: VecDeque<PathBuf> = chain.into();
            let first = rest.pop_front().unwrap_or_default();
            let bytes = file_bytes(&first, &limits)?;
            let mut rd = WinReader::from_input(WinInput::Bytes(bytes), limits)?;
            rd.rest = rest;
            return Ok(rd);
        }
        let mut f = File::open(path).map_err(|e| open_err(&e))?;
        let mut head = vec![0u8; SNIFF_LEN];
        let n = read_full(&mut f, &mut head).map_err(|e| open_err(&e))?;
        head.truncate(n);
        match sniff(&head) {
            Some(Format::Netmon) => {
                WinReader::from_input(WinInput::Bytes(file_bytes(path, &limits)?), limits)
            }
            Some(Format::Etl) => match map_file(&f) {
                Some(map) => WinReader::from_input(WinInput::Bytes(map), limits),
                None => {
                    let stream = Cursor::new(head).chain(f);
                    WinReader::from_input(WinInput::Stream(Box::new(stream)), limits)
                }
            },
            None => {
                let stream = Cursor::new(head).chain(f);
                WinReader::from_input(WinInput::Stream(Box::new(stream)), limits)
            }
        }
    }

    /// Reads from `input`, whose format is sniffed.
    pub fn from_input(input: WinInput, limits: Limits) -> Result<WinReader, WinError> {
        let (format, input) = match input {
            WinInput::Bytes(b) => {
                let f = sniff((*b).as_ref());
                (f, WinInput::Bytes(b))
            }
            WinInput::Stream(mut r) => {
                let mut head = vec![0u8; SNIFF_LEN];
                let n = read_full(&mut r, &mut head).map_err(|e| open_err(&e))?;
                head.truncate(n);
                let f = sniff(&head);
                (f, WinInput::Stream(Box::new(Cursor::new(head).chain(r))))
            }
        };
        let mut stats = WinStats { files: 1, ..WinStats::default() };
        let mut processes = Vec::new();
        let inner = match (format, input) {
            (None, _) => {
                let what = "neither a Network Monitor 2.x nor an ETL file".to_string();
                return Err(WinError::new(WinErrorKind::Corrupt, 0, 0, what));
            }
            (Some(Format::Netmon), WinInput::Bytes(b)) => {
                Inner::Netmon(NetmonReader::new(b, limits.clone(), &mut stats, &mut processes)?)
            }
            (Some(Format::Netmon), WinInput::Stream(r)) => {
                let v = read_capped(r, limits.max_stream_len)?;
                let b: Box<dyn AsRef<[u8]> + Send + Sync> = Box::new(v);
                Inner::Netmon(NetmonReader::new(b, limits.clone(), &mut stats, &mut processes)?)
            }
            (Some(Format::Etl), WinInput::Bytes(b)) => {
                Inner::Etl(Box::new(EtlReader::from_bytes(b, limits.clone(), &mut stats)?))
            }
            (Some(Format::Etl), WinInput::Stream(r)) => {
                Inner::Etl(Box::new(EtlReader::new(r, limits.clone(), &mut stats)?))
            }
        };
        Ok(WinReader {
            inner,
            rest: VecDeque::new(),
            limits,
            stats,
            processes,
            format: format.unwrap_or(Format::Etl),
            process_base: 0,
            last: None,
        })
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Delivers every PktMon appearance of a packet instead of the one nearest the wire.
    pub fn set_all_appearances(&mut self, all: bool) {
        if let Inner::Etl(e) = &mut self.inner {
            e.set_all_appearances(all);
        }
    }

    /// ETL read from a file or memory: decode compressed buffers one step ahead on a second
    /// thread (less wall time when a core is free, a little more CPU time; same output).
    pub fn set_decode_ahead(&mut self, on: bool) {
        if let Inner::Etl(e) = &mut self.inner {
            e.set_decode_ahead(on);
        }
    }

    pub fn stats(&self) -> &WinStats {
        &self.stats
    }

    /// Processes known so far (NetMon process tables; ETL process and connection events).
    pub fn processes(&self) -> &[ProcessInfo] {
        &self.processes
    }

    /// The process owning the connection between `a` and `b`, if the trace says.
    pub fn process_for(
        &self,
        a: std::net::SocketAddr,
        b: std::net::SocketAddr,
    ) -> Option<&ProcessInfo> {
        self.processes.iter().rev().find(|p| p.matches(a, b))
    }

    /// The bytes of the packet [`next_packet`](WinReader::next_packet) returned last (empty
    /// before the first): for callers that must release the packet's borrow before taking
    /// its bytes.
    pub fn last_packet_data(&self) -> &[u8] {
        let Some(loc) = &self.last else { return &[] };
        match &self.inner {
            Inner::Netmon(r) => r.data(loc),
            Inner::Etl(r) => r.data(loc),
        }
    }

    /// The comment attached to the packet delivered last (ETL: 802.11 metadata of
    /// NDIS-PacketCapture event 1002), if any.
    pub fn last_comment(&self) -> Option<&str> {
        match &self.inner {
            Inner::Etl(r) => r.last_comment(),
            Inner::Netmon(_) => None,
        }
    }

    /// The next packet, borrowed until the next call; `Ok(None)` at the end.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, WinError> {
        let loc = loop {
            let got = match &mut self.inner {
                Inner::Netmon(r) => r.next_loc(&mut self.stats, self.process_base)?,
                Inner::Etl(r) => r.next_loc(&mut self.stats, &mut self.processes)?,
            };
            if let Some(l) = got {
                break l;
            }
            let Some(next) = self.rest.pop_front() else {
                return Ok(None);
            };
            self.process_base = u32::try_from(self.processes.len()).unwrap_or(u32::MAX);
            let bytes = file_bytes(&next, &self.limits)?;
            let r =
                NetmonReader::new(bytes, self.limits.clone(), &mut self.stats, &mut self.processes)
                    .map_err(|mut e| {
                        e.what = format!("{}: {}", next.display(), e.what);
                        e
                    })?;
            self.stats.files = self.stats.files.saturating_add(1);
            self.inner = Inner::Netmon(r);
        };
        self.stats.packets = self.stats.packets.saturating_add(1);
        let pid = loc.process.and_then(|i| self.processes.get(i as usize)).map(|p| p.pid);
        self.last = Some(loc);
        let data = self.last_packet_data();
        Ok(Some(Packet {
            ts_ns: loc.ts_ns,
            link: loc.link,
            data,
            orig_len: loc.orig_len,
            interface: loc.interface,
            direction: loc.direction,
            pid: loc.pid.or(pid),
            process: loc.process,
            offset: loc.offset,
        }))
    }
}

fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..).filter(|r| !r.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Everything a reader delivers: each packet with its metadata and comment, then the
    /// stats as JSON (problems, truncation, counts), or the error.
    fn read_all(input: WinInput, ahead: bool) -> String {
        let mut rd = match WinReader::from_input(input, Limits::default()) {
            Ok(r) => r,
            Err(e) => return format!("error {e}"),
        };
        rd.set_decode_ahead(ahead);
        let mut s = String::new();
        loop {
            match rd.next_packet() {
                Ok(Some(p)) => s.push_str(&format!(
                    "{} {} {:?} {} {} {:?} {:?} {}",
                    p.ts_ns, p.link, p.data, p.orig_len, p.interface, p.direction, p.pid, p.offset,
                )),
                Ok(None) => break,
                Err(e) => {
                    s.push_str(&format!("error {e}\n"));
                    break;
                }
            }
            s.push_str(&format!(" {:?}\n", rd.last_comment()));
        }
        s + &serde_json::to_string(rd.stats()).unwrap()
    }

    /// An ETL file read in place (memory, map), with and without decoding ahead, gives
    /// exactly what reading it as a stream gives: intact, cut at many places, and with bytes damaged. Files: the synthetic ETL
    /// fixtures (`tests/fixtures/wintrace`, see `tests/common/etl.rs`) and the two real ETL
    /// files Windows wrote (`../shared/captures/etl`, see SOURCES.md there).
    #[test]
    fn bytes_and_stream_read_the_same() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let files = [
            format!("{root}/tests/fixtures/wintrace/ndis-qpc-compressed.etl"),
            format!("{root}/tests/fixtures/wintrace/ndis-systemtime.etl"),
            format!("{root}/tests/fixtures/wintrace/pktmon-cut128.etl"),
            format!("{root}/../shared/captures/etl/airbus__AMSITrace.etl"),
            format!("{root}/../shared/captures/etl/airbus__lxcore_kernel.etl"),
        ];
        let mut variants = 0;
        for f in &files {
            let data = std::fs::read(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            let mut cases = vec![data.clone()];
            for k in 1..12usize {
                cases.push(data[..data.len() * k / 12 + k].to_vec());
                let mut d = data.clone();
                let at = (data.len() / 13 * k + 7 * k) % data.len();
                d[at] ^= 0x5a;
                cases.push(d);
            }
            for c in cases {
                let stream = read_all(WinInput::Stream(Box::new(Cursor::new(c.clone()))), false);
                let bytes = read_all(WinInput::Bytes(Box::new(c.clone())), false);
                assert_eq!(stream, bytes, "{f}");
                let ahead = read_all(WinInput::Bytes(Box::new(c)), true);
                assert_eq!(stream, ahead, "{f}, decoded ahead");
                variants += 1;
            }
        }
        assert_eq!(variants, 5 * 23);
    }
}
