//! Where an ETL reader's buffers come from: a byte stream (each buffer read into one reused
//! `Vec`) or the whole input in memory or memory-mapped (each buffer a view into it, no
//! copy). Both give the reader the same bytes, the same lengths at the end of the input, and
//! so the same packets, problems and positions.

use std::io::{self, Read};

pub(crate) enum Source {
    Stream {
        r: Box<dyn Read + Send>,
        buf: Vec<u8>,
    },
    Bytes {
        b: super::ahead::Shared,
        /// The current buffer: `b[start..start + len]`.
        start: usize,
        len: usize,
    },
}

impl Source {
    pub(crate) fn stream(r: Box<dyn Read + Send>) -> Source {
        Source::Stream { r, buf: Vec::new() }
    }

    pub(crate) fn bytes(b: Box<dyn AsRef<[u8]> + Send + Sync>) -> Source {
        Source::Bytes { b: b.into(), start: 0, len: 0 }
    }

    /// The whole input, when it is in memory or mapped.
    pub(crate) fn shared(&self) -> Option<super::ahead::Shared> {
        match self {
            Source::Bytes { b, .. } => Some(b.clone()),
            Source::Stream { .. } => None,
        }
    }

    /// Makes the current buffer the bytes from file offset `off` (the first unread byte of
    /// a stream) up to `want` bytes long, of which the first `have` are the current buffer's
    /// already (a header read before its body). Returns the length now loaded: less than
    /// `want` only at the end of the input.
    pub(crate) fn load(&mut self, off: u64, have: usize, want: usize) -> io::Result<usize> {
        match self {
            Source::Stream { r, buf } => {
                // The buffer grows as bytes arrive: a header claiming a large buffer costs
                // only what the input holds.
                let have = have.min(want).min(buf.len());
                buf.truncate(have);
                let rest = u64::try_from(want - have).unwrap_or(u64::MAX);
                let got = (&mut **r).take(rest).read_to_end(buf)?;
                Ok(have.saturating_add(got))
            }
            Source::Bytes { b, start, len } => {
                let all = (**b).as_ref();
                let s = usize::try_from(off).unwrap_or(usize::MAX);
                *start = s;
                *len = want.min(all.len().saturating_sub(s));
                Ok(*len)
            }
        }
    }

    /// The current buffer (after [`load`](Source::load)).
    #[inline]
    pub(crate) fn current(&self) -> &[u8] {
        match self {
            Source::Stream { buf, .. } => buf,
            Source::Bytes { b, start, len } => {
                let all = (**b).as_ref();
                all.get(*start..start.saturating_add(*len)).unwrap_or_default()
            }
        }
    }
}
