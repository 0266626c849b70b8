//! PDU reassembly of one direction of a byte stream (TCP, or the bytes of a named pipe).
//!
//! A [`PduStream`] buffers bytes until a whole PDU (`frag_length` bytes) is present, hands out
//! every complete PDU (several per segment are fine), and after a gap or a malformed header
//! scans forward for the next plausible header. The buffer is bounded (the caller's
//! `max_buffer`); overflowing it drops the buffer and resynchronises, and is reported.
//! `deliver` feeds the events of a push to an association.

use crate::assoc::Assoc;
use crate::calls::Out;
use crate::ctx::Seg;
use crate::pdu::{check_header, Error as PduError, Packet, HEADER_LEN};

/// The preamble of RPC over HTTP v1 (ncacn_http, port 593), sent by both sides.
pub const NCACN_HTTP_PREAMBLE: &[u8] = b"ncacn_http/1.0";

/// What a [`PduStream`] found in the bytes pushed into it.
#[derive(Debug)]
pub enum Event<'a> {
    /// A complete PDU (exactly `frag_length` bytes) at this stream offset.
    Pdu { offset: u64, pdu: &'a [u8] },
    /// A header that failed the checks; the stream resynchronises after it.
    Bad { offset: u64, err: PduError },
    /// A plausible header found after skipping `skipped` bytes.
    Resync { offset: u64, skipped: u64 },
    /// The buffer limit was hit; `dropped` bytes were discarded.
    Overflow { offset: u64, dropped: u64 },
}

/// Reassembles PDUs of one direction. See the module docs.
#[derive(Debug, Default)]
pub struct PduStream {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    pub(crate) offset: u64,
    synced: bool,
    /// Bytes skipped since the last sync (for the Resync report).
    skipped: u64,
    /// RPC over HTTP: an `ncacn_http/1.0` preamble may come first and is skipped.
    pub(crate) preamble: bool,
}

/// Does a plausible CO header start at `b`? Stricter than [`check_header`] for searching.
pub(crate) fn plausible(b: &[u8]) -> bool {
    check_header(b).is_ok()
}

/// Position of the first plausible header in `b` (which must be followed by 16 bytes).
fn find_header(b: &[u8]) -> Option<usize> {
    let end = b.len().checked_sub(HEADER_LEN - 1)?;
    memchr::memchr_iter(5, b.get(..end)?).find(|&i| b.get(i..).is_some_and(plausible))
}

/// Reports the PDUs and problems in `b` (which starts at stream offset `base`) and returns how
/// many bytes are done with: everything but an incomplete PDU, or a tail that could still
/// begin a header.
fn scan(
    b: &[u8],
    base: u64,
    synced: &mut bool,
    skipped: &mut u64,
    f: &mut impl FnMut(Event<'_>),
) -> usize {
    let mut pos = 0usize;
    loop {
        let rest = b.get(pos..).unwrap_or(&[]);
        if !*synced {
            match find_header(rest) {
                Some(i) => {
                    pos += i;
                    *skipped = skipped.saturating_add(i as u64);
                    *synced = true;
                    if *skipped > 0 {
                        f(Event::Resync {
                            offset: base.wrapping_add(pos as u64),
                            skipped: *skipped,
                        });
                    }
                    *skipped = 0;
                }
                None => {
                    // Keep a possible header start at the tail.
                    let keep = rest.len().min(HEADER_LEN - 1);
                    let skip = rest.len() - keep;
                    *skipped = skipped.saturating_add(skip as u64);
                    pos += skip;
                    break;
                }
            }
        }
        let rest = b.get(pos..).unwrap_or(&[]);
        if rest.len() < HEADER_LEN {
            break;
        }
        if let Err(err) = check_header(rest) {
            f(Event::Bad { offset: base.wrapping_add(pos as u64), err });
            *synced = false;
            *skipped = 1;
            pos += 1;
            continue;
        }
        let fl = Packet::new_unchecked(rest).frag_len() as usize;
        let Some(pdu) = rest.get(..fl) else { break };
        f(Event::Pdu { offset: base.wrapping_add(pos as u64), pdu });
        pos += fl;
    }
    pos
}

impl PduStream {
    /// A stream that expects a header at its first byte.
    pub fn synced() -> PduStream {
        PduStream { synced: true, ..Default::default() }
    }
    /// A stream that first searches for a header.
    pub fn unsynced() -> PduStream {
        PduStream::default()
    }

    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Appends `data` and reports every complete PDU and problem, in order.
    pub fn push(&mut self, data: &[u8], max_buffer: usize, mut f: impl FnMut(Event<'_>)) {
        if self.buf.len().saturating_add(data.len()) > max_buffer {
            let dropped = self.buf.len() as u64;
            f(Event::Overflow { offset: self.offset, dropped: dropped + data.len() as u64 });
            self.offset = self.offset.wrapping_add(dropped).wrapping_add(data.len() as u64);
            self.buf.clear();
            self.synced = false;
            return;
        }
        // Nothing waiting: read the PDUs straight from `data` and keep only the incomplete
        // tail (the common case costs no copy).
        if self.buf.is_empty() && !self.preamble {
            let used = scan(data, self.offset, &mut self.synced, &mut self.skipped, &mut f);
            let rest = data.get(used..).unwrap_or(&[]);
            self.buf.extend_from_slice(rest);
            self.offset = self.offset.wrapping_add(used as u64);
            return;
        }
        self.buf.extend_from_slice(data);
        let mut pos = 0usize;
        if self.preamble {
            if self.buf.len() < NCACN_HTTP_PREAMBLE.len()
                && NCACN_HTTP_PREAMBLE.starts_with(&self.buf)
            {
                return;
            }
            self.preamble = false;
            if self.buf.starts_with(NCACN_HTTP_PREAMBLE) {
                pos = NCACN_HTTP_PREAMBLE.len();
            }
        }
        let rest = self.buf.get(pos..).unwrap_or(&[]);
        pos += scan(
            rest,
            self.offset.wrapping_add(pos as u64),
            &mut self.synced,
            &mut self.skipped,
            &mut f,
        );
        self.buf.drain(..pos.min(self.buf.len()));
        self.offset = self.offset.wrapping_add(pos as u64);
    }

    /// `len` bytes were lost: drop the partial PDU and resynchronise.
    pub fn gap(&mut self, len: u64) {
        self.offset = self.offset.wrapping_add(self.buf.len() as u64).wrapping_add(len);
        self.buf.clear();
        self.synced = false;
        self.skipped = 0;
    }
}

/// Feeds the events of a push of `data` (read in `seg`) to an association and the report;
/// `what` names the transport in issues ("tcp", "smb pipe").
pub(crate) fn deliver(
    stream: &mut PduStream,
    assoc: &mut Assoc,
    out: &mut Out,
    seg: &Seg<'_>,
    data: &[u8],
    max_buffer: usize,
    what: &str,
) {
    stream.push(data, max_buffer, |ev| match ev {
        Event::Pdu { pdu, .. } => assoc.pdu(out, pdu, seg),
        Event::Bad { offset, err } => {
            out.stats.malformed_pdus += 1;
            out.issue_at(seg, format!("{what}: malformed DCE/RPC header at stream offset {offset}: {err}; resynchronising"));
        }
        Event::Resync { offset, skipped } => {
            out.stats.resyncs += 1;
            out.issue_at(seg, format!("{what}: resynchronised at stream offset {offset} after skipping {skipped} bytes"));
        }
        Event::Overflow { offset, dropped } => {
            out.stats.buffer_overflows += 1;
            out.issue_at(seg, format!("{what}: PDU buffer limit ({max_buffer} bytes) hit at stream offset {offset}: dropped {dropped} bytes"));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::Drep;
    use crate::pdu::{Body, Repr, Request};

    fn req(call_id: u32) -> Vec<u8> {
        Repr::new(
            call_id,
            Drep::LE,
            Body::Request(Request { opnum: 1, stub: vec![0; 10], ..Default::default() }),
        )
        .emit()
    }

    fn collect(s: &mut PduStream, data: &[u8]) -> Vec<String> {
        let mut v = Vec::new();
        s.push(data, 1 << 20, |e| {
            v.push(match e {
                Event::Pdu { offset, pdu } => format!("pdu@{offset}:{}", pdu.len()),
                Event::Bad { offset, .. } => format!("bad@{offset}"),
                Event::Resync { offset, skipped } => format!("resync@{offset}+{skipped}"),
                Event::Overflow { offset, dropped } => format!("overflow@{offset}:{dropped}"),
            })
        });
        v
    }

    #[test]
    fn split_and_several_per_push() {
        let a = req(1);
        let mut two = req(2);
        two.extend(req(3));
        let mut s = PduStream::synced();
        assert!(collect(&mut s, &a[..5]).is_empty());
        assert_eq!(collect(&mut s, &a[5..]), vec!["pdu@0:34"]);
        assert_eq!(collect(&mut s, &two), vec!["pdu@34:34", "pdu@68:34"]);
    }

    #[test]
    fn garbage_then_resync() {
        let mut data = b"hello world, not rpc".to_vec();
        data.extend(req(1));
        let mut s = PduStream::unsynced();
        assert_eq!(collect(&mut s, &data), vec!["resync@20+20", "pdu@20:34"]);
        let mut s = PduStream::synced();
        let ev = collect(&mut s, &data);
        assert_eq!(ev, vec!["bad@0", "resync@20+20", "pdu@20:34"]);
    }

    #[test]
    fn overflow_is_reported() {
        let mut s = PduStream::synced();
        let mut v = Vec::new();
        let a = req(1);
        s.push(&a[..20], 30, |_| {});
        s.push(&a[20..], 30, |e| v.push(matches!(e, Event::Overflow { dropped: 34, .. })));
        assert_eq!(v, vec![true]);
    }
}
