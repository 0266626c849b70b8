//! Input plumbing: a byte counter on the raw source, transparent gzip detection, and
//! "read as much as there is" reads that tell a clean end of input from a short one.

use std::io::{self, BufReader, Cursor, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flate2::read::MultiGzDecoder;

/// Size of the fixed read buffer between the (possibly decompressed) source and the parser.
const READ_BUF: usize = 64 * 1024;

/// gzip member magic (RFC 1952 section 2.3.1: ID1 ID2).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
    inner: BufReader<Box<dyn Read + Send>>,
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
        let mut counted = Counting {
            inner: r,
            count: Arc::clone(&raw_read),
        };
        let mut magic = [0u8; 2];
        let n = read_full(&mut counted, &mut magic)?;
        let gzip = n == 2 && magic == GZIP_MAGIC;
        let sniffed = magic.get(..n).unwrap_or(&[]).to_vec();
        let chained = Cursor::new(sniffed).chain(counted);
        let boxed: Box<dyn Read + Send> = if gzip {
            Box::new(MultiGzDecoder::new(chained))
        } else {
            Box::new(chained)
        };
        Ok(Source {
            inner: BufReader::with_capacity(READ_BUF, boxed),
            gzip,
            raw_read,
            cut_short: None,
        })
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

    /// Fills `buf` as far as the input allows; returns how many bytes were read (less than
    /// `buf.len()` only at the end of input).
    pub(crate) fn read_full(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while let Some(rest) = buf.get_mut(done..) {
            if rest.is_empty() || self.cut_short.is_some() {
                break;
            }
            match self.inner.read(rest) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if self.gzip && e.kind() == io::ErrorKind::UnexpectedEof => {
                    // flate2 says the compressed stream stopped inside a member: the input
                    // ends here, and the caller reports the truncation.
                    self.cut_short = Some(e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(done)
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
