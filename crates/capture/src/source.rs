//! Input plumbing: a byte counter on the raw source, transparent gzip detection, and single
//! reads that tell a clean end of input from a gzip stream cut short. There is no read buffer
//! here: [`Input`](crate::input::Input) reads straight into its own window buffer.

use std::io::{self, Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

/// gzip member magic (RFC 1952 section 2.3.1: ID1 ID2).
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Counts the bytes read from the underlying (possibly compressed) source.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

pub(crate) struct Source {
    inner: Box<dyn Read + Send>,
    gzip: bool,
    raw_read: Arc<AtomicU64>,
    /// Set when the gzip decoder said the compressed stream ended early; from then on the
    /// source reads as ended.
    cut_short: Option<String>,
}

impl Source {
    /// Wraps `r`, sniffing its first two bytes for the gzip magic.
    pub(crate) fn new(r: Box<dyn Read + Send>) -> io::Result<Source> {
        let raw_read = Arc::new(AtomicU64::new(0));
        let mut counted = Counting { inner: r, count: Arc::clone(&raw_read) };
        let mut magic = [0u8; 2];
        let n = read_full(&mut counted, &mut magic)?;
        let gzip = n == 2 && magic == GZIP_MAGIC;
        let sniffed = magic.get(..n).unwrap_or(&[]).to_vec();
        let chained = Cursor::new(sniffed).chain(counted);
        let inner: Box<dyn Read + Send> =
            if gzip { Box::new(MultiGzDecoder::new(chained)) } else { Box::new(chained) };
        Ok(Source { inner, gzip, raw_read, cut_short: None })
    }

    /// Wraps `r`, known to be uncompressed, whose first byte is byte `already` of the raw
    /// source (the byte counter starts there).
    pub(crate) fn plain(r: Box<dyn Read + Send>, already: u64) -> Source {
        let raw_read = Arc::new(AtomicU64::new(already));
        Source {
            inner: Box::new(Counting { inner: r, count: Arc::clone(&raw_read) }),
            gzip: false,
            raw_read,
            cut_short: None,
        }
    }

    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Bytes read so far from the underlying source (compressed bytes for gzip input).
    pub(crate) fn raw_bytes_read(&self) -> u64 {
        self.raw_read.load(Ordering::Relaxed)
    }

    /// Why the compressed stream ended early, if it did.
    pub(crate) fn cut_short(&self) -> Option<&str> {
        self.cut_short.as_deref()
    }

    /// One read into `buf` (retried when interrupted); 0 = end of input (including a gzip
    /// stream that stopped inside a member: see [`cut_short`](Source::cut_short)).
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.cut_short.is_some() {
            return Ok(0);
        }
        loop {
            match self.inner.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.gzip && e.kind() == io::ErrorKind::UnexpectedEof => {
                    // flate2 says the compressed stream stopped inside a member: the input
                    // ends here, and the caller reports the truncation.
                    self.cut_short = Some(e.to_string());
                    return Ok(0);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while let Some(rest) = buf.get_mut(done..) {
        if rest.is_empty() {
            break;
        }
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Byte order of a pcap file or of one pcapng section, decided once from its magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    pub(crate) fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let a: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        })
    }
    pub(crate) fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let a: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        })
    }
    pub(crate) fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let a: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        })
    }
}

/// `b` as space-separated hex, e.g. `0a 0d 0d 0a`.
pub(crate) fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{x:02x}"));
    }
    s
}
