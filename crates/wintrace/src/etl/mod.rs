//! Event Trace Log (`.etl`) files: what `netsh trace` and `pktmon` write.
//!
//! # File structure
//!
//! An ETL file is a sequence of buffers, each starting with a 72-byte WMI_BUFFER_HEADER
//! (little-endian): BufferSize (u32 at 0: the buffer's size in the file — step by it),
//! SavedOffset (u32 at 4: bytes in use, header included; for a compressed buffer the
//! uncompressed size), CurrentOffset (8), ..., TimeStamp (16), SequenceNumber (24), clock
//! (32), ClientContext (40: processor, alignment, logger id), State (u32 at 44), Offset (48),
//! BufferFlag (u16 at 52: 0x40 = compressed), BufferType (u16 at 54: 4 = header), 16 more
//! bytes. Records follow from byte 72 up to SavedOffset, 8-byte aligned (see [`record`]);
//! the rest is filler (`ff`).
//!
//! A compressed buffer's bytes after the header are one LZXpress-Huffman stream (see
//! [`crate::lzxpress`]) expanding to exactly SavedOffset − 72 bytes. The compression format
//! is the low 16 bits of the first buffer's State when the logfile's LogFileMode has
//! EVENT_TRACE_COMPRESSED_MODE (0x0400_0000); only XPRESS_HUFF (4) is decoded.
//!
//! The first record of the first buffer is the logfile header (see [`header`]): clock type,
//! QPC frequency, start and boot time, time zone; timestamps are converted with it.
//!
//! # Events used
//!
//! * Microsoft-Windows-NDIS-PacketCapture: packets, see [`ndis`].
//! * Microsoft-Windows-PktMon: packets, drops, components, see [`pktmon`].
//! * Microsoft-Windows-Kernel-Network: which process owns a connection, see
//!   [`kernel_network`] (the event header's process id of packet events is never used: it is
//!   whichever thread the interrupt landed on).
//! * Everything else is counted by provider GUID (or header kind) and skipped.
//!
//! Events are delivered in file order, buffer by buffer. Windows writes one buffer stream per
//! processor, so packets from different processors can interleave slightly out of time order
//! (as with `tshark` on a converted file).
//!
//! # Streaming and hostile input
//!
//! One buffer is in memory at a time (plus its decompressed copy, and PktMon packets waiting
//! for their last appearance, at most [`Limits::max_pending`]). A stream is read into one
//! reused buffer that grows as bytes arrive; a file is memory-mapped and its buffers are read
//! in place (see `source.rs`), and on request its compressed buffers are decoded one step
//! ahead on a second thread (see `ahead.rs`): the same packets, problems and positions
//! either way.
//!
//! A buffer whose declared size is impossible is skipped by the logfile's nominal buffer size
//! when that is known (else reading stops with an error at its offset); a buffer that does
//! not decompress to its declared size, or whose records cannot be followed, is described in
//! [`WinStats::problems`] and the next buffer is read.

pub mod header;
pub mod kernel_network;
pub mod ndis;
pub mod pktmon;
pub mod record;

mod ahead;
mod source;

use std::collections::VecDeque;
use std::io::Read;

use crate::error::{WinError, WinErrorKind};
use crate::le::{u16_at, u32_at, u8_at};
use crate::{Direction, InterfaceInfo, Limits, Loc, PacketDrop, WinStats};

/// WMI_BUFFER_HEADER length.
pub const BUFFER_HEADER_LEN: usize = 72;
/// BufferFlag: the buffer is compressed.
pub const BUFFER_FLAG_COMPRESSED: u16 = 0x40;
/// Compression format XPRESS_HUFF.
pub const COMPRESSION_XPRESS_HUFF: u16 = 4;

/// The first bytes look like an ETL file: a header-type first buffer whose first record is a
/// system trace header of the event-trace group (hook 0).
pub fn looks_like_etl(b: &[u8]) -> bool {
    let (Some(size), Some(saved), Some(btype)) = (u32_at(b, 0), u32_at(b, 4), u16_at(b, 54)) else {
        return false;
    };
    let rec = BUFFER_HEADER_LEN;
    size as usize >= rec + 32
        && saved <= size
        && btype == 4
        && matches!(u8_at(b, rec + 2), Some(1 | 2))
        && u8_at(b, rec + 3).is_some_and(|f| f & 0xC0 == 0xC0)
        && u16_at(b, rec + 6) == Some(0)
}

/// A packet ready for delivery.
pub(crate) struct OutPkt {
    pub ts_ns: i64,
    pub link: u32,
    pub orig_len: u32,
    pub interface: u32,
    pub direction: Direction,
    pub data: Vec<u8>,
    pub comment: Option<String>,
    pub offset: u64,
}

/// What an event handler gets: where to count, where to put packets.
pub(crate) struct Ctx<'s> {
    pub stats: &'s mut WinStats,
    pub limits: &'s Limits,
    pub ts_ns: i64,
    pub offset: u64,
    pub ready: &'s mut VecDeque<OutPkt>,
    pub pool: &'s mut Vec<Vec<u8>>,
}

impl Ctx<'_> {
    pub fn not_packet(&mut self, kind: &str) {
        self.stats.count_not_packet(kind);
    }
    pub fn damaged(&mut self, what: &str) {
        self.stats.skipped_damaged = self.stats.skipped_damaged.saturating_add(1);
        let what = format!("at byte {} (ETL buffer): {what}", self.offset);
        self.stats.note_problem(self.limits, what);
    }
    pub fn take_vec(&mut self) -> Vec<u8> {
        let mut v = self.pool.pop().unwrap_or_default();
        v.clear();
        v
    }
    pub fn give_vec(&mut self, v: Vec<u8>) {
        if self.pool.len() < 64 {
            self.pool.push(v);
        }
    }
    pub fn note_drop(&mut self, d: PacketDrop) {
        self.stats.drops_total = self.stats.drops_total.saturating_add(1);
        if self.stats.drops.len() < self.limits.max_drops_kept {
            self.stats.drops.push(d);
        }
    }
}

/// The index of `info` in the interface list, adding it (up to [`Limits::max_keys`]; beyond,
/// the last index is reused and a problem noted once).
pub(crate) fn interface_index(ctx: &mut Ctx<'_>, info: InterfaceInfo) -> u32 {
    let list = &mut ctx.stats.interfaces;
    if let Some(i) = list.iter().rposition(|x| x == &info) {
        return i as u32;
    }
    if list.len() < ctx.limits.max_keys {
        list.push(info);
        return (list.len() - 1) as u32;
    }
    (list.len().saturating_sub(1)) as u32
}

/// Streaming reader of one ETL file.
pub struct EtlReader {
    src: source::Source,
    /// Compressed buffers decoded ahead on a second thread (input in memory or mapped).
    ahead: Option<ahead::Ahead>,
    limits: Limits,
    /// Offset of the next buffer in the file.
    next_offset: u64,
    /// Offset of the current buffer.
    buf_offset: u64,
    dec: Vec<u8>,
    /// The current buffer's records: in the raw buffer after the header, or in `dec`.
    in_dec: bool,
    payload_len: usize,
    pos: usize,
    clock: header::Clock,
    nominal_buffer: u32,
    compression: u16,
    first: bool,
    eof: bool,
    ndis: ndis::Ndis,
    pktmon: pktmon::PktMon,
    knet: kernel_network::KernelNetwork,
    /// Per-event counters kept here (no allocation per event) and copied into the stats
    /// at every buffer and at the end.
    provider_counts: std::collections::HashMap<crate::Guid, u64>,
    /// Events of the provider seen last not yet added to `provider_counts` (a run of one
    /// provider's events costs no hashing).
    run: Option<(crate::Guid, u64)>,
    kind_counts: [u64; 256],
    ready: VecDeque<OutPkt>,
    pool: Vec<Vec<u8>>,
    out: OutPkt,
}

impl EtlReader {
    /// Reads the first buffer and the logfile header from `src`.
    pub fn new(
        src: Box<dyn Read + Send>,
        limits: Limits,
        stats: &mut WinStats,
    ) -> Result<EtlReader, WinError> {
        EtlReader::with_source(source::Source::stream(src), limits, stats)
    }

    /// As [`new`](EtlReader::new), over the whole input in memory or memory-mapped: the
    /// buffers are read in place (no copy); same packets, problems and positions.
    pub fn from_bytes(
        bytes: Box<dyn AsRef<[u8]> + Send + Sync>,
        limits: Limits,
        stats: &mut WinStats,
    ) -> Result<EtlReader, WinError> {
        EtlReader::with_source(source::Source::bytes(bytes), limits, stats)
    }

    fn with_source(
        src: source::Source,
        limits: Limits,
        stats: &mut WinStats,
    ) -> Result<EtlReader, WinError> {
        stats.format = "etl".into();
        let mut rd = EtlReader {
            src,
            ahead: None,
            limits,
            next_offset: 0,
            buf_offset: 0,
            dec: Vec::new(),
            in_dec: false,
            payload_len: 0,
            pos: 0,
            clock: header::Clock::default(),
            nominal_buffer: 0,
            compression: 0,
            first: true,
            eof: false,
            ndis: ndis::Ndis::default(),
            pktmon: pktmon::PktMon::default(),
            knet: kernel_network::KernelNetwork::default(),
            provider_counts: std::collections::HashMap::new(),
            run: None,
            kind_counts: [0; 256],
            ready: VecDeque::new(),
            pool: Vec::new(),
            out: OutPkt {
                ts_ns: 0,
                link: 0,
                orig_len: 0,
                interface: 0,
                direction: Direction::Unknown,
                data: Vec::new(),
                comment: None,
                offset: 0,
            },
        };
        if !rd.load_buffer(stats)? {
            let what = "the ETL file ends inside its first buffer".to_string();
            return Err(WinError::new(WinErrorKind::Truncated, 0, 0, what));
        }
        rd.logfile_header(stats)?;
        Ok(rd)
    }

    /// Decodes the compressed buffers after the current one on a second thread (input in
    /// memory or mapped, XPRESS_HUFF; otherwise nothing changes): less wall time when a core
    /// is free, somewhat more CPU time in all. Off by default.
    pub fn set_decode_ahead(&mut self, on: bool) {
        if !on {
            self.ahead = None;
            return;
        }
        if self.ahead.is_none() && self.compression == COMPRESSION_XPRESS_HUFF {
            if let (Some(b), Ok(from)) = (self.src.shared(), usize::try_from(self.next_offset)) {
                self.ahead = ahead::Ahead::start(b, from, self.limits.max_buffer_len);
            }
        }
    }

    pub fn set_all_appearances(&mut self, all: bool) {
        self.pktmon.all_appearances = all;
    }

    /// The comment of the packet delivered last (802.11 metadata), if any.
    pub fn last_comment(&self) -> Option<&str> {
        self.out.comment.as_deref()
    }

    fn payload(&self) -> &[u8] {
        if self.in_dec {
            self.dec.get(..self.payload_len).unwrap_or_default()
        } else {
            self.src
                .current()
                .get(BUFFER_HEADER_LEN..BUFFER_HEADER_LEN + self.payload_len)
                .unwrap_or_default()
        }
    }

    fn logfile_header(&mut self, stats: &mut WinStats) -> Result<(), WinError> {
        let bad = |what: &str| {
            WinError::new(WinErrorKind::Corrupt, BUFFER_HEADER_LEN as u64, 0, what.to_string())
        };
        let (mut info, clock, kind, size) = {
            let rec = record::parse(self.payload(), 0)
                .map_err(|_| bad("the first ETL record is unreadable"))?;
            if rec.kind != record::Kind::System || rec.hook != 0 {
                return Err(bad("the first ETL record is not the logfile header"));
            }
            let Some((info, clock)) = header::parse(rec.payload, rec.ts, rec.header_type == 2)
            else {
                return Err(bad("the logfile header record is too short"));
            };
            (info, clock, rec.kind.name(rec.header_type), rec.size)
        };
        if info.log_file_mode & header::EVENT_TRACE_COMPRESSED_MODE != 0 {
            let state = u32_at(self.src.current(), 44).unwrap_or(0);
            info.compression_format = (state & 0xFFFF) as u16;
        }
        self.compression = info.compression_format;
        self.nominal_buffer = info.buffer_size;
        self.clock = clock;
        stats.etl = Some(info);
        *stats.record_kinds.entry(kind).or_insert(0) += 1;
        self.pos = size.next_multiple_of(8);
        self.first = false;
        Ok(())
    }

    /// Copies the per-event counters into `stats`.
    fn sync_counts(&mut self, stats: &mut WinStats) {
        end_run(&mut self.run, &mut self.provider_counts, self.limits.max_keys);
        for (g, n) in self.provider_counts.drain() {
            let key = g.to_string();
            if let Some(c) = stats.providers.get_mut(&key) {
                *c = c.saturating_add(n);
            } else if stats.providers.len() < self.limits.max_keys {
                stats.providers.insert(key, n);
            }
        }
        for (ty, n) in self.kind_counts.iter_mut().enumerate() {
            if *n > 0 {
                let name = record::kind_of(ty as u8).name(ty as u8);
                let c = stats.record_kinds.entry(name).or_insert(0);
                *c = c.saturating_add(*n);
                *n = 0;
            }
        }
    }

    /// Reads the next buffer into memory; `false` at the end of the file.
    fn load_buffer(&mut self, stats: &mut WinStats) -> Result<bool, WinError> {
        self.sync_counts(stats);
        loop {
            if self.eof {
                return Ok(false);
            }
            let off = self.next_offset;
            let n = self
                .src
                .load(off, 0, BUFFER_HEADER_LEN)
                .map_err(|e| WinError::io(off, stats.packets, &e))?;
            if n == 0 {
                self.eof = true;
                return Ok(false);
            }
            if n < BUFFER_HEADER_LEN {
                self.eof = true;
                stats.truncated = Some(format!(
                    "file ends {n} bytes into a {BUFFER_HEADER_LEN}-byte buffer header at offset {off}"
                ));
                return Ok(false);
            }
            let raw = self.src.current();
            let size = u32_at(raw, 0).unwrap_or(0);
            let saved = u32_at(raw, 4).unwrap_or(0);
            let flag = u16_at(raw, 52).unwrap_or(0);
            let size_ok = size as usize >= BUFFER_HEADER_LEN && size <= self.limits.max_buffer_len;
            let step = if size_ok {
                size
            } else if !self.first
                && self.nominal_buffer as usize > BUFFER_HEADER_LEN
                && self.nominal_buffer <= self.limits.max_buffer_len
            {
                stats.note_problem(
                    &self.limits,
                    format!(
                    "at byte {off} (ETL buffer): buffer size {size} is impossible; skipped by the \
                     logfile's buffer size {}", self.nominal_buffer),
                );
                self.nominal_buffer
            } else {
                let what = format!(
                    "ETL buffer size {size} is impossible (72 to {} bytes)",
                    self.limits.max_buffer_len
                );
                return Err(WinError::new(WinErrorKind::Corrupt, off, stats.packets, what));
            };
            let rest = step as usize - BUFFER_HEADER_LEN;
            let got = self
                .src
                .load(off, BUFFER_HEADER_LEN, step as usize)
                .map_err(|e| WinError::io(off, stats.packets, &e))?
                .saturating_sub(BUFFER_HEADER_LEN);
            self.next_offset = off.saturating_add(u64::from(step));
            self.buf_offset = off;
            if got < rest {
                self.eof = true;
                stats.truncated = Some(format!(
                    "file ends {} bytes into a {step}-byte buffer at offset {off}",
                    BUFFER_HEADER_LEN + got
                ));
                return Ok(false);
            }
            if !size_ok {
                continue;
            }
            stats.buffers = stats.buffers.saturating_add(1);
            self.pos = 0;
            if saved as usize > self.limits.max_buffer_len as usize
                || (saved as usize) < BUFFER_HEADER_LEN
            {
                stats.note_problem(&self.limits, format!("at byte {off} (ETL buffer): saved offset {saved} is impossible; buffer skipped"));
                continue;
            }
            if flag & BUFFER_FLAG_COMPRESSED != 0 {
                stats.compressed_buffers = stats.compressed_buffers.saturating_add(1);
                if self.compression != COMPRESSION_XPRESS_HUFF {
                    stats.note_problem(&self.limits, format!(
                        "at byte {off} (ETL buffer): compression format {} is not supported; buffer skipped",
                        self.compression));
                    continue;
                }
                let want = saved as usize - BUFFER_HEADER_LEN;
                if let Err(e) = self.decompress(off, want) {
                    stats.note_problem(
                        &self.limits,
                        format!("at byte {off} (ETL buffer): {e}; buffer skipped"),
                    );
                    continue;
                }
                self.in_dec = true;
                self.payload_len = want;
            } else {
                let used = (saved.min(step) as usize).saturating_sub(BUFFER_HEADER_LEN);
                if saved > step {
                    stats.note_problem(&self.limits, format!(
                        "at byte {off} (ETL buffer): saved offset {saved} is past the buffer's {step} bytes"));
                }
                self.in_dec = false;
                self.payload_len = used;
            }
            return Ok(true);
        }
    }

    /// Decompresses the current buffer (at `off`) into `dec`: decoded ahead where it was.
    fn decompress(&mut self, off: u64, want: usize) -> Result<(), crate::lzxpress::DecodeError> {
        let input = self.src.current().get(BUFFER_HEADER_LEN..).unwrap_or_default();
        if let (Some(a), Ok(at)) = (&mut self.ahead, usize::try_from(off)) {
            match a.take(at, input.len(), want, &mut self.dec) {
                ahead::Taken::Got(r) => return r,
                ahead::Taken::Gone => self.ahead = None,
            }
        }
        crate::lzxpress::decompress(input, want, &mut self.dec)
    }

    /// The bytes of a packet [`next_loc`](EtlReader::next_loc) found.
    pub(crate) fn data(&self, _loc: &Loc) -> &[u8] {
        &self.out.data
    }

    /// The next packet (its bytes in `self.out`).
    pub(crate) fn next_loc(
        &mut self,
        stats: &mut WinStats,
        processes: &mut Vec<crate::ProcessInfo>,
    ) -> Result<Option<Loc>, WinError> {
        loop {
            if let Some(p) = self.ready.pop_front() {
                let old = std::mem::replace(&mut self.out, p);
                if self.pool.len() < 64 {
                    self.pool.push(old.data);
                }
                let o = &self.out;
                return Ok(Some(Loc {
                    ts_ns: o.ts_ns,
                    link: o.link,
                    start: 0,
                    len: o.data.len(),
                    orig_len: o.orig_len,
                    interface: o.interface,
                    direction: o.direction,
                    pid: None,
                    process: None,
                    offset: o.offset,
                }));
            }
            if self.pos >= self.payload_len || self.pos + 4 > self.payload_len {
                if !self.load_buffer(stats)? {
                    // End: whatever PktMon still holds goes out.
                    let mut ctx = Ctx {
                        stats,
                        limits: &self.limits,
                        ts_ns: 0,
                        offset: self.buf_offset,
                        ready: &mut self.ready,
                        pool: &mut self.pool,
                    };
                    self.pktmon.release(&mut ctx, true);
                    if self.ready.is_empty() {
                        return Ok(None);
                    }
                    continue;
                }
                continue;
            }
            self.record(stats, processes);
        }
    }

    /// Handles the record at `self.pos` and moves past it.
    fn record(&mut self, stats: &mut WinStats, processes: &mut Vec<crate::ProcessInfo>) {
        let payload: &[u8] = if self.in_dec {
            self.dec.get(..self.payload_len).unwrap_or_default()
        } else {
            self.src
                .current()
                .get(BUFFER_HEADER_LEN..BUFFER_HEADER_LEN + self.payload_len)
                .unwrap_or_default()
        };
        let rec = match record::parse(payload, self.pos) {
            Ok(r) => r,
            Err(record::Bad::End) => {
                self.pos = self.payload_len;
                return;
            }
            Err(record::Bad::Broken(what)) => {
                let at = self.buf_offset + (BUFFER_HEADER_LEN + self.pos) as u64;
                stats.note_problem(&self.limits, format!(
                    "at byte {at} (ETL record, offset {} in the buffer's records): {what}; rest of the buffer skipped",
                    self.pos));
                stats.skipped_damaged = stats.skipped_damaged.saturating_add(1);
                self.pos = self.payload_len;
                return;
            }
        };
        self.pos = self.pos.saturating_add(rec.size.next_multiple_of(8));
        if let Some(c) = self.kind_counts.get_mut(usize::from(rec.header_type)) {
            *c = c.saturating_add(1);
        }
        let Some(provider) = rec.provider else {
            return;
        };
        match &mut self.run {
            Some((g, c)) if *g == provider => *c = c.saturating_add(1),
            _ => {
                end_run(&mut self.run, &mut self.provider_counts, self.limits.max_keys);
                self.run = Some((provider, 1));
            }
        }
        let ts_ns = self.clock.to_unix_ns(rec.ts);
        stats.first_event_ns = Some(stats.first_event_ns.map_or(ts_ns, |t| t.min(ts_ns)));
        stats.last_event_ns = Some(stats.last_event_ns.map_or(ts_ns, |t| t.max(ts_ns)));
        let mut ctx = Ctx {
            stats,
            limits: &self.limits,
            ts_ns,
            offset: self.buf_offset,
            ready: &mut self.ready,
            pool: &mut self.pool,
        };
        if rec.kind == record::Kind::EventHeader && provider == ndis::PROVIDER {
            self.ndis.event(&mut ctx, rec.desc.id, rec.desc.version, rec.desc.keyword, rec.payload);
        } else if rec.kind == record::Kind::EventHeader && provider == pktmon::PROVIDER {
            self.pktmon.event(&mut ctx, rec.desc.id, rec.desc.version, rec.payload);
        } else if provider == kernel_network::PROVIDER {
            let (id, v) = (rec.desc.id, rec.desc.version);
            self.knet.event(&mut ctx, id, v, rec.payload, processes);
        }
    }
}

/// Adds a run of one provider's events to `counts` (a provider first seen when `max_keys`
/// are counted already is left out, as the stats do).
fn end_run(
    run: &mut Option<(crate::Guid, u64)>,
    counts: &mut std::collections::HashMap<crate::Guid, u64>,
    max_keys: usize,
) {
    let Some((provider, k)) = run.take() else { return };
    let n = counts.len();
    match counts.get_mut(&provider) {
        Some(c) => *c = c.saturating_add(k),
        None if n < max_keys => {
            counts.insert(provider, k);
        }
        None => {}
    }
}
