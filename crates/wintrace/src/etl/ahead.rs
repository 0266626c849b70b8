//! Decompression one step ahead, on a second thread, for an ETL file read in place (memory
//! or a memory map): while the reader parses the records of buffer N, the worker decodes
//! the compressed buffers after it, at most [`DEPTH`] ahead.
//!
//! The worker only computes: it walks the buffers by their own sizes and hands back, for
//! each compressed buffer, its offset, its compressed bytes' length, the size asked for and
//! what [`decompress`] gave. The reader takes a result only when all three match the buffer
//! it has reached (the bytes are the same immutable input, and decoding is a pure function of
//! them), so packets, problems and their order are exactly those of decoding in place; it
//! goes on alone as soon as the worker has stopped or walked differently (an impossible
//! buffer size, the end of the input). Memory: at most [`DEPTH`] + 2 decoded buffers of at
//! most [`MAX_AHEAD`] bytes; larger buffers are decoded when they are reached.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use super::BUFFER_HEADER_LEN;
use crate::le::{u16_at, u32_at};
use crate::lzxpress::{decompress, DecodeError};

/// The input, shared with the worker.
pub(crate) type Shared = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Decoded buffers waiting for the reader.
const DEPTH: usize = 2;
/// Largest decompressed size decoded ahead.
const MAX_AHEAD: usize = 1 << 20;

struct Done {
    off: usize,
    input_len: usize,
    want: usize,
    result: Result<(), DecodeError>,
    out: Vec<u8>,
}

pub(crate) struct Ahead {
    rx: Receiver<Done>,
    spare: SyncSender<Vec<u8>>,
}

/// What [`Ahead::take`] found.
pub(crate) enum Taken {
    /// The buffer was decoded ahead: its result (the output is in the caller's vector).
    Got(Result<(), DecodeError>),
    /// The worker has stopped or went another way: decode in place from now on.
    Gone,
}

impl Ahead {
    /// Starts decoding the compressed buffers of `bytes` from offset `from`; `None` when no
    /// thread can be started.
    pub(crate) fn start(bytes: Shared, from: usize, max_buffer_len: u32) -> Option<Ahead> {
        let (tx, rx) = sync_channel(DEPTH);
        let (spare, spares) = sync_channel(DEPTH + 2);
        std::thread::Builder::new()
            .name("etl-lzxpress".into())
            .spawn(move || worker(&bytes, from, max_buffer_len as usize, &tx, &spares))
            .ok()?;
        Some(Ahead { rx, spare })
    }

    /// The decoded buffer at `off` (compressed bytes `input_len` long, `want` bytes asked
    /// for), swapped into `out`.
    pub(crate) fn take(
        &mut self,
        off: usize,
        input_len: usize,
        want: usize,
        out: &mut Vec<u8>,
    ) -> Taken {
        while let Ok(d) = self.rx.recv() {
            if d.off < off {
                // A buffer the reader skipped.
                let _ = self.spare.try_send(d.out);
                continue;
            }
            if d.off != off || d.input_len != input_len || d.want != want {
                return Taken::Gone;
            }
            let old = std::mem::replace(out, d.out);
            let _ = self.spare.try_send(old);
            return Taken::Got(d.result);
        }
        Taken::Gone
    }
}

fn worker(
    bytes: &Shared,
    mut off: usize,
    max_buffer_len: usize,
    tx: &SyncSender<Done>,
    spares: &Receiver<Vec<u8>>,
) {
    let all = (**bytes).as_ref();
    loop {
        let (Some(size), Some(saved), Some(flag)) = (
            u32_at(all, off),
            u32_at(all, off.saturating_add(4)),
            u16_at(all, off.saturating_add(52)),
        ) else {
            return;
        };
        let (size, saved) = (size as usize, saved as usize);
        if size < BUFFER_HEADER_LEN || size > max_buffer_len {
            return;
        }
        let end = off.saturating_add(size);
        let Some(input) = all.get(off.saturating_add(BUFFER_HEADER_LEN)..end) else { return };
        let want = saved.saturating_sub(BUFFER_HEADER_LEN);
        if flag & super::BUFFER_FLAG_COMPRESSED != 0
            && saved >= BUFFER_HEADER_LEN
            && saved <= max_buffer_len
            && want <= MAX_AHEAD
        {
            let mut out = spares.try_recv().unwrap_or_default();
            let result = decompress(input, want, &mut out);
            let done = Done { off, input_len: input.len(), want, result, out };
            if tx.send(done).is_err() {
                return; // the reader is gone
            }
        }
        off = end;
    }
}
