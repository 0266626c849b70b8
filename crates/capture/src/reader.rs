//! [`CaptureReader`]: one streaming pass over a pcap or pcapng input. This file holds the
//! reader's public face (opening, limits, statistics, the frame loop); the record framing of
//! each format is in `reader/pcap.rs` (file header, packet records) and
//! `reader/pcapng.rs` (blocks, sections, interfaces, packet blocks).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::error::{CaptureError, ErrorKind};
use crate::input::Input;
use crate::pcapng::Interface;
use crate::source::{Endian, Source};

mod pcap;
mod pcapng;

pub use crate::stats::{CaptureFormat, CaptureStats, Limits};
use crate::{Frame, LinkType, Timestamp};
use pcap::PcapState;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Pcap(PcapState),
    Pcapng,
}

/// A packet found in the input, waiting to be handed out as a [`Frame`].
struct Pending {
    ts: Timestamp,
    link: LinkType,
    /// Index of its data in [`Input::bytes`].
    start: usize,
    len: usize,
    orig_len: u32,
    interface: u32,
}

enum Step {
    Packet(Pending),
    Continue,
    End,
}

/// Streaming reader of one pcap or pcapng input (see the crate docs for formats and the error
/// contract).
pub struct CaptureReader {
    name: String,
    /// The bytes, read in place (memory map or stream buffer); its offset is the number of
    /// bytes consumed from the uncompressed stream.
    input: Input,
    source_len: Option<u64>,
    limits: Limits,
    kind: Kind,
    /// Byte order and interfaces of the current pcapng section.
    ng_endian: Endian,
    interfaces: Vec<Interface>,
    stats: CaptureStats,
    last_ts: Timestamp,
    done: bool,
    /// Set for a Windows capture (see `windows.rs`): every frame comes from it.
    win: Option<Box<tracehound_wintrace::WinReader>>,
}

impl CaptureReader {
    /// Opens a capture file (`-` = standard input). gzip is detected by its magic and
    /// decompressed transparently. Reads and checks the file header (pcap) or first Section
    /// Header Block (pcapng).
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        CaptureReader::open_with(path, Limits::default())
    }

    /// [`open`](CaptureReader::open) with explicit [`Limits`]. A regular, uncompressed file
    /// is memory-mapped and its frames borrow straight from the map (see
    /// [`open_buffered`](CaptureReader::open_buffered) for the trade-off).
    pub fn open_with(path: &Path, limits: Limits) -> Result<CaptureReader, CaptureError> {
        CaptureReader::open_file(path, limits, true)
    }

    /// [`open_with`](CaptureReader::open_with) without memory-mapping: the file is read
    /// through a buffer, like standard input. Same frames, stats and errors. A memory-mapped
    /// file that another process truncates while it is read can make this process fault
    /// (SIGBUS; the reader checks the file's length before each 1 MiB it reads ahead, so only
    /// a truncation within that window in the moment before it is read can still do it);
    /// this reader cannot fault that way, at the cost of one copy of every byte.
    pub fn open_buffered(path: &Path, limits: Limits) -> Result<CaptureReader, CaptureError> {
        CaptureReader::open_file(path, limits, false)
    }

    fn open_file(path: &Path, limits: Limits, mmap: bool) -> Result<CaptureReader, CaptureError> {
        if path == Path::new("-") {
            return CaptureReader::from_reader_with(Box::new(io::stdin()), "<stdin>", limits);
        }
        if let Some(w) = crate::windows::open_chain(path, &limits) {
            // A Network Monitor `.chn` set, named by its `.chn` name.
            let w = w?;
            let input = Input::stream(Source::plain(Box::new(io::empty()), 0));
            let mut rd = CaptureReader::bare(input, path.display().to_string(), None, limits);
            rd.stats.format = crate::windows::format_of(&w);
            rd.win = Some(Box::new(w));
            return Ok(rd);
        }
        let name = path.display().to_string();
        let io_err =
            |e| CaptureError { file: name.clone(), offset: 0, frame: 0, kind: ErrorKind::Io(e) };
        let file = File::open(path).map_err(io_err)?;
        let source_len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
        if let Some(input) = source_len.filter(|_| mmap).and_then(|len| Input::map(&file, len)) {
            return CaptureReader::start(input, name, source_len, limits);
        }
        let src = Source::new(Box::new(file)).map_err(io_err)?;
        CaptureReader::start(Input::stream(src), name, source_len, limits)
    }

    /// Reads a capture from any byte stream (standard input, a pipe, memory); `name` is used
    /// in error messages. gzip is detected as for files.
    pub fn from_reader(r: Box<dyn Read + Send>, name: &str) -> Result<CaptureReader, CaptureError> {
        CaptureReader::from_reader_with(r, name, Limits::default())
    }

    /// [`from_reader`](CaptureReader::from_reader) with explicit [`Limits`].
    pub fn from_reader_with(
        r: Box<dyn Read + Send>,
        name: &str,
        limits: Limits,
    ) -> Result<CaptureReader, CaptureError> {
        let src = match Source::new(r) {
            Ok(s) => s,
            Err(e) => {
                return Err(CaptureError {
                    file: name.to_string(),
                    offset: 0,
                    frame: 0,
                    kind: ErrorKind::Io(e),
                })
            }
        };
        CaptureReader::start(Input::stream(src), name.to_string(), None, limits)
    }

    fn bare(input: Input, name: String, source_len: Option<u64>, limits: Limits) -> CaptureReader {
        let gzip = input.is_gzip();
        CaptureReader {
            name,
            input,
            source_len,
            limits,
            kind: Kind::Pcapng,
            ng_endian: Endian::Little,
            interfaces: Vec::new(),
            stats: CaptureStats::new(gzip),
            last_ts: Timestamp::ZERO,
            done: false,
            win: None,
        }
    }

    fn start(
        input: Input,
        name: String,
        source_len: Option<u64>,
        limits: Limits,
    ) -> Result<CaptureReader, CaptureError> {
        let mut rd = CaptureReader::bare(input, name, source_len, limits);
        let gzip = rd.stats.gzip;
        let n = rd.need(4)?;
        let magic: [u8; 4] = rd.input.rest().first_chunk::<4>().copied().unwrap_or_default();
        if n >= 4 && crate::pcap::magic(&magic).is_some() {
            rd.start_pcap()?;
            return Ok(rd);
        }
        if n >= 4 && magic == crate::pcapng::SHB.to_le_bytes() {
            rd.stats.format = CaptureFormat::Pcapng;
            match rd.ng_step() {
                Err(e) => return Err(e),
                Ok(_) => {
                    if let Some(t) = rd.stats.truncated.take() {
                        return Err(rd.error(0, ErrorKind::Truncated(t)));
                    }
                }
            }
            return Ok(rd);
        }
        if n >= 4
            && rd.need(crate::windows::SNIFF_LEN).is_ok()
            && crate::windows::sniff(rd.input.rest()).is_some()
        {
            return CaptureReader::start_windows(rd);
        }
        let have = if n >= 4 { rd.need(16)? } else { n };
        let rest = rd.input.rest();
        let first_bytes = rest.get(..have.min(16)).unwrap_or(rest).to_vec();
        let hint = if n >= 4 && crate::pcap::is_modified_magic(&magic) {
            Some("this is a modified (Kuznetzov) pcap, which is not supported: convert it with `editcap -F pcap`")
        } else if gzip {
            Some("the input is gzip-compressed: these are its first decompressed bytes")
        } else {
            None
        };
        Err(rd.error(0, ErrorKind::NotACapture { first_bytes, hint }))
    }

    /// Hands a sniffed Windows capture to `tracehound-wintrace` (see `windows.rs`).
    fn start_windows(mut rd: CaptureReader) -> Result<CaptureReader, CaptureError> {
        let input = std::mem::replace(
            &mut rd.input,
            Input::stream(Source::plain(Box::new(io::empty()), 0)),
        );
        let w = crate::windows::open(input, &rd.name, &rd.limits)?;
        rd.stats.format = crate::windows::format_of(&w);
        rd.win = Some(Box::new(w));
        Ok(rd)
    }

    fn windows_next(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        let Some(w) = self.win.as_deref_mut() else { return Ok(None) };
        let ctx = (&self.name[..], &self.limits);
        crate::windows::next_frame(w, &mut self.stats, ctx, &mut self.done)
    }

    /// The Windows capture reader behind this one (NetMon, ETL), with what those formats
    /// carry beyond packets: processes and their connections
    /// ([`process_for`](tracehound_wintrace::WinReader::process_for)), interfaces, header
    /// facts, PktMon drops ([`stats`](tracehound_wintrace::WinReader::stats)).
    /// The memory map the frames' data borrow from (a pcap or pcapng file read from a map;
    /// `None` for streams, gzip and Windows formats). A frame's bytes handed to another thread
    /// can then be a position in it ([`SharedMap::locate`]) rather than a copy.
    pub fn shared_map(&self) -> Option<crate::SharedMap> {
        if self.win.is_some() {
            return None;
        }
        self.input.shared_map()
    }

    pub fn windows(&self) -> Option<&tracehound_wintrace::WinReader> {
        self.win.as_deref()
    }

    /// The next frame, borrowed from the reader's buffer until the next call. `Ok(None)` at the
    /// end of input (see [`CaptureStats::truncated`] for an input that ends inside a record).
    /// After an error, every further call returns `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        if self.win.is_some() {
            return self.windows_next();
        }
        loop {
            let step = match self.kind {
                Kind::Pcap(p) => self.pcap_step(p),
                Kind::Pcapng => self.ng_step(),
            };
            match step {
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
                Ok(Step::End) => {
                    self.done = true;
                    if self.stats.truncated.is_none() {
                        if let Some(why) = self.input.cut_short() {
                            self.stats.truncated = Some(format!(
                                "the gzip stream ends early ({why}) after {} uncompressed bytes",
                                self.input.offset()
                            ));
                        }
                    }
                    return Ok(None);
                }
                Ok(Step::Continue) => continue,
                Ok(Step::Packet(p)) => {
                    let st = &mut self.stats;
                    st.frames = st.frames.saturating_add(1);
                    let caplen = u32::try_from(p.len).unwrap_or(u32::MAX);
                    if caplen < p.orig_len {
                        st.frames_cut_by_snaplen = st.frames_cut_by_snaplen.saturating_add(1);
                    }
                    let c = st.link_types_seen.entry(p.link).or_insert(0);
                    *c = c.saturating_add(1);
                    self.last_ts = p.ts;
                    let data = p
                        .start
                        .checked_add(p.len)
                        .and_then(|end| self.input.bytes().get(p.start..end))
                        .unwrap_or(&[]);
                    return Ok(Some(Frame {
                        number: st.last_number(),
                        ts: p.ts,
                        link: p.link,
                        data,
                        orig_len: p.orig_len,
                        interface: p.interface,
                    }));
                }
            }
        }
    }

    pub fn stats(&self) -> &CaptureStats {
        &self.stats
    }

    /// The name used in messages: the path as given, or the `from_reader` name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes consumed from the uncompressed stream (the offset of the next record).
    pub fn bytes_consumed(&self) -> u64 {
        self.input.offset()
    }

    /// Bytes read from the underlying file or stream (compressed bytes for gzip input); with
    /// [`source_len`](CaptureReader::source_len) this drives a progress bar. For a
    /// memory-mapped file it is the parse position; a read buffer runs ahead of parsing by
    /// up to its size (1 MiB, or the largest record).
    pub fn source_bytes_read(&self) -> u64 {
        self.input.raw_bytes_read()
    }

    /// The input is a memory-mapped file (frames borrow from the map).
    pub fn is_memory_mapped(&self) -> bool {
        self.input.is_mapped()
    }

    /// Size of the input when it is a regular file.
    pub fn source_len(&self) -> Option<u64> {
        self.source_len
    }

    fn error(&self, offset: u64, kind: ErrorKind) -> CaptureError {
        CaptureError { file: self.name.clone(), offset, frame: self.stats.last_number(), kind }
    }

    /// Makes `n` bytes available from the start of the next record if the input holds them;
    /// returns how many are available (fewer than `n` only at the end of input). A read error
    /// is reported at the offset of the record being read.
    #[inline]
    fn need(&mut self, n: usize) -> Result<usize, CaptureError> {
        match self.input.ensure(n) {
            Ok(k) => Ok(k),
            Err(e) => Err(self.error(self.input.offset(), ErrorKind::Io(e))),
        }
    }

    /// Records that the input ended inside something.
    fn ended_inside(&mut self, what: String) -> Step {
        self.input.consume_all();
        let note = match self.input.cut_short() {
            Some(why) => format!(" (the gzip stream itself ends early: {why})"),
            None => String::new(),
        };
        self.stats.truncated = Some(format!("{what}{note}"));
        Step::End
    }
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("name", &self.name)
            .field("pos", &self.input.offset())
            .field("mapped", &self.input.is_mapped())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(rel: &str) -> Vec<u8> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures/");
        std::fs::read(format!("{dir}{rel}")).expect("shared captures missing")
    }

    fn reader(b: Vec<u8>) -> CaptureReader {
        CaptureReader::from_reader(Box::new(std::io::Cursor::new(b)), "t").unwrap()
    }

    /// The stream buffer doubles from 64 KiB only as the input proves long, and stops at
    /// 1 MiB: dcerpc/dcerpc__zerologon__input.pcap (122312 bytes) needs one doubling; its
    /// records repeated to 20 MB (each record copied as found by walking the file here) reach
    /// the 1 MiB target and no more. Frames read in place are the file's packet bytes.
    #[test]
    fn stream_buffer_doubles_to_target_only() {
        use crate::input::{INITIAL, TARGET};
        let b = shared("dcerpc/dcerpc__zerologon__input.pcap");
        let mut recs = Vec::new();
        let mut at = 24;
        while at + 16 <= b.len() {
            let cap = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
            recs.push(at..at + 16 + cap);
            at += 16 + cap;
        }
        assert_eq!(at, b.len());
        assert!(b.len() > INITIAL && b.len() < 2 * INITIAL);
        let mut rd = reader(b.clone());
        let mut i = 0;
        while let Some(f) = rd.next_frame().unwrap() {
            assert_eq!(f.data, &b[recs[i].start + 16..recs[i].end]);
            i += 1;
        }
        assert_eq!(i, recs.len());
        assert_eq!(rd.input.capacity(), 2 * INITIAL);

        let mut big = b[..24].to_vec();
        while big.len() < 20 << 20 {
            for r in &recs {
                big.extend_from_slice(&b[r.clone()]);
            }
        }
        let total = big.len() as u64;
        let mut rd = reader(big);
        let mut n = 0;
        while rd.next_frame().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n % recs.len(), 0);
        assert_eq!(rd.bytes_consumed(), total);
        assert_eq!(rd.input.capacity(), TARGET);
    }

    /// A block claiming 200 MiB in a small input does not allocate 200 MiB: the buffer grows
    /// with the data actually read. (dcerpc/zeek__dce_rpc_ntlm.pcapng: the length of its
    /// first EPB, the block after the SHB and IDB, patched.)
    #[test]
    fn huge_block_length_does_not_allocate_up_front() {
        let mut b = shared("dcerpc/zeek__dce_rpc_ntlm.pcapng");
        let shb = u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize;
        let idb = u32::from_le_bytes(b[shb + 4..shb + 8].try_into().unwrap()) as usize;
        let epb = shb + idb;
        b[epb + 4..epb + 8].copy_from_slice(&(200u32 << 20).to_le_bytes());
        let mut rd = reader(b);
        assert!(rd.next_frame().unwrap().is_none());
        assert!(rd
            .stats
            .truncated
            .as_deref()
            .unwrap()
            .contains("209715200-byte pcapng Enhanced Packet Block"));
        let cap = rd.input.capacity();
        assert!(cap <= 2 * crate::input::GROW_STEP, "{cap}");
    }

    #[test]
    fn reader_is_send() {
        fn send<T: Send>() {}
        send::<CaptureReader>();
        send::<CaptureError>();
    }
}
