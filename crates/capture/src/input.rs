//! The bytes the parser reads records from, in place: a window `[at, end)` over either a
//! memory map of a regular file (zero-copy) or one buffer filled straight from a stream
//! (standard input, a pipe, gzip, any `Read`). Records are never copied out of it: a
//! [`Frame`](crate::Frame)'s data borrows from the map or the buffer.
//!
//! # Memory map (plain regular files)
//!
//! The file's length is read once at open and only that much is mapped. The window over the
//! map grows [`CHECK_STEP`] (1 MiB, or one record if larger) at a time, each time after
//! checking (fstat) that the file is still at least as long as the map, and its pages are
//! mapped in with one `madvise(MADV_POPULATE_READ)` (Linux 5.14+) instead of a fault per
//! 64 KiB; the lines just ahead of the parser are prefetched into the CPU cache. When the
//! parser needs bytes past the map and the file has grown since open, or whenever the file is
//! found shorter than the map, reading goes on from the file itself at the current record
//! (streaming, below): a capture still being written is read to its current end, and a file
//! cut while it is read is reported as truncated, exactly as with plain reads.
//!
//! Trade-off: a mapped file truncated by another process while it is read makes the process
//! fault (SIGBUS) on an access past the new end. The checks above leave that possible only
//! for a truncation that lands inside the window already checked (at most 1 MiB, or one
//! record, ahead of the parser) in the moment before it is read, or while the caller still
//! holds the frame it was given. A caller that must survive even that opens the file with
//! [`CaptureReader::open_buffered`](crate::CaptureReader::open_buffered). A file rewritten in
//! place (same length) while it is read gives garbage frames, as it would with plain reads;
//! the parser treats every byte as hostile either way (each field is read once, every access
//! bounds-checked).
//!
//! # Streaming
//!
//! One buffer, starting at [`INITIAL`] bytes and doubling up to [`TARGET`] (1 MiB) as the
//! stream proves long. Reads go straight from the source into the free space after the
//! window (one `read` call at a time, so a live pipe is never waited on for more than the
//! record at hand). When a record does not fit before the buffer's end, the window's
//! remainder (less than one record) is moved to the front: one move per buffer, not per
//! packet. A record larger than the buffer grows it in steps of at most [`GROW_STEP`] as its
//! bytes actually arrive, so a block length promising more than the input holds never
//! allocates more than one step beyond the data read, and the buffer ends no larger than the
//! largest record met plus one step.

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::ops::Deref;
use std::sync::Arc;

use memmap2::{Advice, Mmap, MmapOptions};

use crate::source::{Source, GZIP_MAGIC};

/// First size of a stream buffer.
pub(crate) const INITIAL: usize = 64 * 1024;
/// The stream buffer doubles up to this size (larger only for a larger record). Measured on a
/// 500 MB pcap read from the page cache: 256 KiB and 1 MiB cost the same CPU time, 4 MiB
/// about 10% more (the buffer no longer stays in the L2 cache between the kernel's copy and
/// the parse).
pub(crate) const TARGET: usize = 1 << 20;
/// A record larger than the buffer grows it by at most this much per read.
pub(crate) const GROW_STEP: usize = 1 << 20;
/// A memory-mapped window extends this far past the current record per length check.
pub(crate) const CHECK_STEP: usize = 1 << 20;
/// A memory-mapped file is prefetched this far ahead of the parser (each 64-byte line at most
/// once; lines a consumed record jumped over are not).
const PREFETCH: usize = 2048;

/// Maps the pages of `map[from..to]` in (Linux 5.14+; elsewhere nothing to do).
fn populate(map: &Mmap, from: usize, to: usize) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if to > from {
        return map.advise_range(Advice::PopulateRead, from, to - from);
    }
    let _ = (map, from, to);
    Ok(())
}

/// Pages this far behind the parser are handed back to the kernel (see [`release`]). Threads
/// given frames' bytes by position in the map ([`SharedMap`]) read them a few MiB behind the
/// parser (tracehound-pipeline's offload: up to about four batches of 1 MiB); this lag keeps
/// those pages mapped until they have (a page read after its release is read again from the
/// page cache: correct, only slower).
const RELEASE_LAG: usize = 8 << 20;
/// Pages are released this many bytes at a time.
const RELEASE_STEP: usize = 8 << 20;
const PAGE: usize = 4096;

/// Drops the pages of `map[from..to]` from this process's resident set, so that the memory
/// a long file takes stays bounded: a clean, read-only file mapping re-reads them from the
/// page cache (or the file) if they are ever touched again.
fn release(map: &Mmap, from: usize, to: usize) {
    #[cfg(unix)]
    if to > from {
        // SAFETY: the map is a read-only, file-backed mapping. MADV_DONTNEED on such pages
        // only discards this process's copies; their contents stay those of the file, so no
        // reference into the range (there is none: `to` lies before every byte a frame can
        // still borrow, see the caller) could observe a change.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
        };
    }
    let _ = (map, from, to);
}

/// The file is still at least `len` bytes long.
fn intact(file: &File, len: usize) -> bool {
    file.metadata().is_ok_and(|m| m.len() >= len as u64)
}

/// Asks the CPU to bring the cache line of `b[at]` in (a hint: nothing if `at` is outside).
#[inline(always)]
fn prefetch(b: &[u8], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = b.get(at) {
        // SAFETY: a prefetch never faults and has no effect on the program's state; the
        // address is inside the slice anyway. SSE is part of the x86_64 baseline.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                (p as *const u8).cast(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (b, at);
}

/// A capture file's memory map, shared: a frame's bytes can be handed to another thread as a
/// position in the map instead of a copy ([`SharedMap::locate`]), and stay readable for as
/// long as that thread holds a clone, whatever the reader has moved on to.
///
/// The file-truncation trade-off of the map (module docs) then reaches as far as the other
/// threads lag behind the reader: a file cut by another process while it is read can fault a
/// thread that reads a frame's bytes after the cut.
#[derive(Clone)]
pub struct SharedMap(Arc<Mmap>);

impl SharedMap {
    /// The file's bytes (as long as the file was when opened).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Where `part` lies in the map: its start, if every byte of it is inside the map (a
    /// frame's data, or a slice of it); `None` for bytes from anywhere else.
    pub fn locate(&self, part: &[u8]) -> Option<usize> {
        let base = self.0.as_ptr() as usize;
        let at = (part.as_ptr() as usize).checked_sub(base)?;
        (at.checked_add(part.len())? <= self.0.len()).then_some(at)
    }
}

impl Deref for SharedMap {
    type Target = Mmap;
    fn deref(&self) -> &Mmap {
        &self.0
    }
}

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

enum Mode {
    Map { map: SharedMap, file: File },
    Stream { src: Source, buf: Vec<u8>, eof: bool },
}

pub(crate) struct Input {
    mode: Mode,
    /// First unconsumed byte (index into [`bytes`](Input::bytes)).
    at: usize,
    /// End of the bytes available to the parser: data read into the stream buffer, or the
    /// part of the map whose presence in the file was last checked.
    end: usize,
    /// Stream offset of `bytes()[0]`.
    base: u64,
    /// Memory map: lines before this index have been prefetched.
    prefetched: usize,
    /// Memory map: pages before this index were released (see [`release`]).
    released: usize,
    /// gzip-compressed input (fixed at open).
    gzip: bool,
}

impl Input {
    /// A stream, sniffed for gzip.
    pub(crate) fn stream(src: Source) -> Input {
        let gzip = src.is_gzip();
        Input {
            mode: Mode::Stream { src, buf: Vec::new(), eof: false },
            at: 0,
            end: 0,
            base: 0,
            prefetched: 0,
            released: 0,
            gzip,
        }
    }

    /// Maps the first `len` bytes of `file` (its length at open). `Ok(None)` when the file is
    /// empty, gzip-compressed (it must be streamed through the decoder) or cannot be mapped
    /// here: the caller streams it instead. The file's read position is left at 0.
    pub(crate) fn map(file: &File, len: u64) -> Option<Input> {
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        // SAFETY: the map is read-only and only ever read through bounds-checked slices. A
        // file changed by another process while mapped is the trade-off documented above:
        // truncation is checked for before every window extension (fault possible only inside
        // the 1 MiB already checked), rewritten contents are parsed as the hostile input they
        // are. `len` is the length read at open, so nothing beyond it is mapped.
        let map = unsafe { MmapOptions::new().len(len).map(file) }.ok()?;
        if map.len() != len || map.get(..2) == Some(&GZIP_MAGIC[..]) {
            return None;
        }
        // Advisory only: more read-ahead on a cold cache.
        let _ = map.advise(Advice::Sequential);
        let file = file.try_clone().ok()?;
        Some(Input {
            mode: Mode::Map { map: SharedMap(Arc::new(map)), file },
            at: 0,
            end: 0,
            base: 0,
            prefetched: 0,
            released: 0,
            gzip: false,
        })
    }

    /// Takes the input apart, nothing consumed yet, for a Windows format's reader
    /// (`windows.rs`): the map of a mapped file, or the bytes buffered so far and the stream.
    pub(crate) fn into_parts(self) -> Result<SharedMap, (Vec<u8>, Source)> {
        match self.mode {
            Mode::Map { map, .. } => Ok(map),
            Mode::Stream { src, buf, .. } => {
                Err((buf.get(self.at..self.end).unwrap_or(&[]).to_vec(), src))
            }
        }
    }

    /// The map, for handing frames' bytes to other threads by position (`None` when
    /// streaming).
    pub(crate) fn shared_map(&self) -> Option<SharedMap> {
        match &self.mode {
            Mode::Map { map, .. } => Some(map.clone()),
            Mode::Stream { .. } => None,
        }
    }

    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.mode, Mode::Map { .. })
    }

    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The backing bytes: the map or the stream buffer (`[at, end)` is the window).
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        match &self.mode {
            Mode::Map { map, .. } => map,
            Mode::Stream { buf, .. } => buf,
        }
    }

    /// The window: from the first unconsumed byte to the end of the available bytes.
    #[inline]
    pub(crate) fn rest(&self) -> &[u8] {
        self.bytes().get(self.at..self.end).unwrap_or(&[])
    }

    /// Stream offset of the first unconsumed byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base.saturating_add(self.at as u64)
    }

    /// Consumes `n` bytes (at most what the window holds); returns the index in
    /// [`bytes`](Input::bytes) where they start.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) -> usize {
        let at = self.at;
        self.at = self.at.saturating_add(n).min(self.end);
        if let Mode::Map { map, .. } = &self.mode {
            // Lines a large record's body covers and the parser skipped are not fetched:
            // only its headers are read (then, from the analyzers' copies, what they need).
            self.prefetched = self.prefetched.max(self.at & !63);
            let ahead = self.at.saturating_add(PREFETCH).min(self.end);
            while self.prefetched < ahead {
                prefetch(map, self.prefetched);
                self.prefetched += 64;
            }
        }
        at
    }

    /// Consumes everything available (the input ended inside a record).
    pub(crate) fn consume_all(&mut self) {
        self.at = self.end;
    }

    /// Bytes read from the underlying file or stream: compressed bytes for gzip, the parse
    /// position for a memory-mapped file.
    pub(crate) fn raw_bytes_read(&self) -> u64 {
        match &self.mode {
            Mode::Map { .. } => self.offset(),
            Mode::Stream { src, .. } => src.raw_bytes_read(),
        }
    }

    pub(crate) fn cut_short(&self) -> Option<&str> {
        match &self.mode {
            Mode::Map { .. } => None,
            Mode::Stream { src, .. } => src.cut_short(),
        }
    }

    /// Makes `n` bytes available from the first unconsumed one if the input holds them;
    /// returns how many are available: `n` or more, or fewer only at the end of input.
    #[inline]
    pub(crate) fn ensure(&mut self, n: usize) -> io::Result<usize> {
        let avail = self.end - self.at;
        if avail >= n {
            return Ok(avail);
        }
        self.refill(n)
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self, n: usize) -> io::Result<usize> {
        loop {
            let avail = self.end - self.at;
            if avail >= n {
                return Ok(avail);
            }
            match &mut self.mode {
                Mode::Map { map, file } => {
                    let map_len = map.len();
                    let now = file.metadata().map(|m| m.len()).ok();
                    let want = self.at.saturating_add(n);
                    if want <= map_len && now.is_some_and(|l| l >= map_len as u64) {
                        // Still all there: extend the window one check step (or the record),
                        // mapping its pages in one call rather than a fault per 64 KiB. That
                        // call fails (instead of faulting) if the file was cut meanwhile.
                        let from = self.end.max(self.at);
                        let to = self.at.saturating_add(n.max(CHECK_STEP)).min(map_len);
                        // Everything before the record being read is done with: frames
                        // borrow only the current record.
                        // Released in steps of several MiB: each release makes the kernel
                        // flush the other threads' TLBs, so fewer, larger ones cost less.
                        let done = self.at.saturating_sub(RELEASE_LAG) / PAGE * PAGE;
                        if done >= self.released.saturating_add(RELEASE_STEP) {
                            release(map, self.released, done);
                            self.released = done;
                        }
                        if populate(map, from, to).is_ok() || intact(file, map_len) {
                            self.end = to;
                            continue;
                        }
                    }
                    if want > map_len && now == Some(map_len as u64) {
                        // The true end of the file, as it was at open.
                        self.end = map_len;
                        return Ok(self.end - self.at);
                    }
                    // The file grew or shrank since open: read on from it at the first
                    // unconsumed byte; the map goes.
                    let mut f = file.try_clone()?;
                    let from = self.offset();
                    f.seek(SeekFrom::Start(from))?;
                    self.mode = Mode::Stream {
                        src: Source::plain(Box::new(f), from),
                        buf: Vec::new(),
                        eof: false,
                    };
                    self.base = from;
                    self.at = 0;
                    self.end = 0;
                }
                Mode::Stream { src, buf, eof } => {
                    if *eof {
                        return Ok(avail);
                    }
                    if self.at.saturating_add(n) > buf.len() || self.end == buf.len() {
                        // No room after the window: move its remainder to the front, and
                        // let the buffer grow (doubling to TARGET; for a larger record, one
                        // step past the data it holds).
                        if self.at > 0 {
                            buf.copy_within(self.at..self.end, 0);
                            self.base = self.base.saturating_add(self.at as u64);
                            self.end = avail;
                            self.at = 0;
                        }
                        let doubled = buf.len().saturating_mul(2).clamp(INITIAL, TARGET);
                        let for_record = n.min(avail.saturating_add(GROW_STEP));
                        let new_len = buf.len().max(doubled).max(for_record);
                        if new_len > buf.len() {
                            buf.reserve_exact(new_len - buf.len());
                            buf.resize(new_len, 0);
                        }
                    }
                    let Some(dst) = buf.get_mut(self.end..) else {
                        return Ok(avail);
                    };
                    let k = src.read(dst)?;
                    if k == 0 {
                        *eof = true;
                    }
                    self.end = self.end.saturating_add(k).min(buf.len());
                }
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        match &self.mode {
            Mode::Map { .. } => 0,
            Mode::Stream { buf, .. } => buf.capacity(),
        }
    }
}
