//! Network Data Representation (NDR 2.0, C706 chapter 14) — the transfer
//! syntax of DCE/RPC stub data.
//!
//! * The **data representation label** ([`Drep`], 4 bytes in every PDU header)
//!   gives integer byte order (byte 0, high nibble: 0 = big, 1 = little endian),
//!   character set (byte 0, low nibble: 0 = ASCII, 1 = EBCDIC) and floating-point
//!   format (byte 1). It is decided once per PDU and passed down.
//! * Primitives are aligned to their size **relative to the start of the stub**
//!   (the stub itself starts 8-aligned in the PDU).
//! * A *conformant* array is preceded by its `max_count` (u32); a *varying*
//!   array by `offset` and `actual_count` (u32 each); a conformant varying array
//!   by all three. Strings are conformant varying arrays of 1- or 2-byte
//!   characters, including the terminating NUL.
//! * Top-level and embedded pointers are 4-byte *referent ids* (0 = NULL for
//!   unique/full pointers); the pointee follows the containing structure
//!   (deferred) or, for top-level pointers, immediately.
//!
//! [`Reader`] reads all of that with checked access only: every read is
//! bounded by the buffer, every count is checked against the bytes that
//! remain before anything is allocated, and every [`StubError`] says what was
//! being read and at which stub offset. [`Writer`] emits the same encoding.
//!
//! ```
//! use tracehound_rpc_proto::ndr::{Drep, Reader, Writer};
//! let mut w = Writer::new(Drep::LE);
//! w.u8(1);
//! w.u32(0xdeadbeef); // aligned to 4: three padding bytes first
//! w.string_utf16("lsass");
//! let bytes = w.into_bytes();
//! let mut r = Reader::new(&bytes, Drep::LE);
//! assert_eq!(r.u8("a").unwrap(), 1);
//! assert_eq!(r.u32("b").unwrap(), 0xdeadbeef);
//! assert_eq!(r.string_utf16("name").unwrap(), "lsass");
//! assert!(r.is_empty());
//! ```

use std::fmt;

pub use crate::drep::Drep;
use crate::uuid::Uuid;

/// A stub could not be decoded: what was being read and where (offset from
/// the start of the stub data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct StubError {
    pub what: String,
    pub offset: usize,
}

impl fmt::Display for StubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at stub offset {}", self.what, self.offset)
    }
}

impl StubError {
    pub fn new(what: impl Into<String>, offset: usize) -> StubError {
        StubError { what: what.into(), offset }
    }
}

/// Checked NDR reader over a stub.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    drep: Drep,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], drep: Drep) -> Reader<'a> {
        Reader { buf, pos: 0, drep }
    }

    pub fn drep(&self) -> Drep {
        self.drep
    }

    /// Current offset from the start of the stub.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// An error at the current offset.
    pub fn err(&self, what: impl Into<String>) -> StubError {
        StubError::new(what, self.pos)
    }

    /// Skips padding up to a multiple of `n` (a power of two).
    pub fn align(&mut self, n: usize, what: &str) -> Result<(), StubError> {
        if n <= 1 {
            return Ok(());
        }
        let pad = (n - self.pos % n) % n;
        if pad > self.remaining() {
            return Err(self.err(format!("{what}: alignment padding past end of stub")));
        }
        self.pos += pad;
        Ok(())
    }

    /// Takes `n` raw bytes.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], StubError> {
        let end = self.pos.checked_add(n);
        match end.and_then(|e| self.buf.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(format!("{what}: need {n} bytes, {} left", self.remaining()))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], StubError> {
        self.align(N, what)?;
        let s = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        if self.drep.little_endian {
            out.reverse();
        }
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, StubError> {
        Ok(self.take(1, what)?.first().copied().unwrap_or(0))
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, StubError> {
        Ok(u16::from_be_bytes(self.array::<2>(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, StubError> {
        Ok(u32::from_be_bytes(self.array::<4>(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, StubError> {
        Ok(u64::from_be_bytes(self.array::<8>(what)?))
    }

    /// A UUID (aligned to 4: its first member is a u32).
    pub fn uuid(&mut self, what: &str) -> Result<Uuid, StubError> {
        self.align(4, what)?;
        let s = self.take(16, what)?;
        let mut b = [0u8; 16];
        b.copy_from_slice(s);
        Ok(Uuid::from_ndr(&b, self.drep))
    }

    /// A 20-byte context handle (u32 attributes + UUID), returned raw.
    pub fn context_handle(&mut self, what: &str) -> Result<[u8; 20], StubError> {
        self.align(4, what)?;
        let s = self.take(20, what)?;
        let mut b = [0u8; 20];
        b.copy_from_slice(s);
        Ok(b)
    }

    /// A unique/full pointer's referent id; `None` for NULL.
    pub fn pointer(&mut self, what: &str) -> Result<Option<u32>, StubError> {
        let id = self.u32(what)?;
        Ok(if id == 0 { None } else { Some(id) })
    }

    /// Checks that `count` elements of `elem_size` bytes can still be present
    /// and returns the count as usize. Call before allocating for an array.
    pub fn check_count(
        &self,
        count: u32,
        elem_size: usize,
        what: &str,
    ) -> Result<usize, StubError> {
        let count = count as usize;
        let need = count.checked_mul(elem_size.max(1));
        match need {
            Some(n) if n <= self.remaining() => Ok(count),
            _ => Err(self.err(format!(
                "{what}: count {count} x {elem_size} bytes exceeds the {} bytes left",
                self.remaining()
            ))),
        }
    }

    /// Conformance: `max_count` (u32).
    pub fn conformance(&mut self, what: &str) -> Result<u32, StubError> {
        self.u32(what)
    }

    /// Variance: `(offset, actual_count)`; checks `offset + actual <= max`
    /// when `max` is given.
    pub fn variance(&mut self, max: Option<u32>, what: &str) -> Result<(u32, u32), StubError> {
        let at = self.pos;
        let offset = self.u32(what)?;
        let actual = self.u32(what)?;
        if let Some(max) = max {
            if (offset as u64) + (actual as u64) > max as u64 {
                return Err(StubError::new(
                    format!(
                        "{what}: offset {offset} + actual count {actual} exceeds max count {max}"
                    ),
                    at,
                ));
            }
        }
        Ok((offset, actual))
    }

    /// Conformant varying string of 1-byte characters (`[string] char*`).
    /// The terminating NUL (and anything after it) is dropped; non-UTF-8
    /// bytes are replaced.
    pub fn string_u8(&mut self, what: &str) -> Result<String, StubError> {
        let max = self.conformance(what)?;
        self.varying_string_u8(Some(max), what)
    }

    /// Varying (not conformant) string of 1-byte characters, as embedded in
    /// a structure (`[string] char x[N]`); `max` bounds it when known.
    pub fn varying_string_u8(&mut self, max: Option<u32>, what: &str) -> Result<String, StubError> {
        let (_, actual) = self.variance(max, what)?;
        let n = self.check_count(actual, 1, what)?;
        let raw = self.take(n, what)?;
        let raw = raw.split(|&c| c == 0).next().unwrap_or(&[]);
        Ok(String::from_utf8_lossy(raw).into_owned())
    }

    /// Conformant varying string of UTF-16 characters (`[string] wchar_t*`).
    pub fn string_utf16(&mut self, what: &str) -> Result<String, StubError> {
        let max = self.conformance(what)?;
        let (_, actual) = self.variance(Some(max), what)?;
        let n = self.check_count(actual, 2, what)?;
        let raw = self.take(n * 2, what)?;
        Ok(utf16_until_nul(raw, self.drep.little_endian))
    }

    /// Errors if bytes beyond `slack` remain (trailing garbage).
    pub fn expect_end(&self, slack: usize, what: &str) -> Result<(), StubError> {
        if self.remaining() > slack {
            Err(self.err(format!("{what}: {} trailing bytes", self.remaining())))
        } else {
            Ok(())
        }
    }
}

/// Decodes UTF-16 code units up to the first NUL, lossily.
pub fn utf16_until_nul(raw: &[u8], little_endian: bool) -> String {
    let units = raw
        .chunks_exact(2)
        .map(|c| {
            let pair = [c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)];
            if little_endian {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        })
        .take_while(|&u| u != 0);
    char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// NDR writer (for building requests and test stubs).
#[derive(Clone, Debug)]
pub struct Writer {
    buf: Vec<u8>,
    drep: Drep,
    next_referent: u32,
}

impl Writer {
    pub fn new(drep: Drep) -> Writer {
        Writer { buf: Vec::new(), drep, next_referent: 0x0002_0000 }
    }

    pub fn drep(&self) -> Drep {
        self.drep
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn align(&mut self, n: usize) {
        if n > 1 {
            while self.buf.len() % n != 0 {
                self.buf.push(0);
            }
        }
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u16(&mut self, v: u16) {
        self.align(2);
        let b = if self.drep.little_endian { v.to_le_bytes() } else { v.to_be_bytes() };
        self.bytes(&b);
    }

    pub fn u32(&mut self, v: u32) {
        self.align(4);
        let b = if self.drep.little_endian { v.to_le_bytes() } else { v.to_be_bytes() };
        self.bytes(&b);
    }

    pub fn u64(&mut self, v: u64) {
        self.align(8);
        let b = if self.drep.little_endian { v.to_le_bytes() } else { v.to_be_bytes() };
        self.bytes(&b);
    }

    pub fn uuid(&mut self, u: &Uuid) {
        self.align(4);
        let b = u.to_ndr(self.drep);
        self.bytes(&b);
    }

    pub fn context_handle(&mut self, h: &[u8; 20]) {
        self.align(4);
        self.bytes(h);
    }

    /// Writes a referent id for a present pointer (or 0 for NULL) and
    /// returns whether the pointee must follow.
    pub fn pointer(&mut self, present: bool) -> bool {
        if present {
            let id = self.next_referent;
            self.next_referent = self.next_referent.wrapping_add(4);
            self.u32(id);
        } else {
            self.u32(0);
        }
        present
    }

    /// Conformant varying string of 1-byte characters, NUL appended.
    pub fn string_u8(&mut self, s: &str) {
        let n = (s.len() + 1) as u32;
        self.u32(n);
        self.varying_string_u8(s);
    }

    /// Varying string of 1-byte characters (offset, actual count, bytes, NUL).
    pub fn varying_string_u8(&mut self, s: &str) {
        let n = (s.len() + 1) as u32;
        self.u32(0);
        self.u32(n);
        self.bytes(s.as_bytes());
        self.u8(0);
    }

    /// Conformant varying string of UTF-16 characters, NUL appended.
    pub fn string_utf16(&mut self, s: &str) {
        let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
        let n = units.len() as u32;
        self.u32(n);
        self.u32(0);
        self.u32(n);
        for u in units {
            self.u16(u);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drep_bytes() {
        assert_eq!(Drep::from_bytes([0x10, 0, 0, 0]), Drep::LE);
        assert_eq!(Drep::from_bytes([0x00, 0, 0, 0]), Drep::BE);
        let odd = Drep::from_bytes([0x11, 3, 0, 0]);
        assert!(odd.little_endian && odd.char_ebcdic && odd.float == 3);
        assert_eq!(odd.to_bytes(), [0x11, 3, 0, 0]);
    }

    #[test]
    fn reader_orders_and_alignment() {
        let bytes = [1u8, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
        let mut le = Reader::new(&bytes, Drep::LE);
        assert_eq!(le.u8("x").unwrap(), 1);
        assert_eq!(le.u32("y").unwrap(), 0x7856_3412);
        let mut be = Reader::new(&bytes, Drep::BE);
        assert_eq!(be.u16("x").unwrap(), 0x0100);
        assert_eq!(be.u32("y").unwrap(), 0x1234_5678);
        let e = Reader::new(&bytes[..6], Drep::LE).u64("big").unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(e.what.contains("big"), "{e}");
    }

    #[test]
    fn lying_counts_are_rejected_before_allocation() {
        let mut w = Writer::new(Drep::LE);
        w.u32(0xffff_ffff);
        w.u32(0);
        w.u32(0xffff_fff0);
        let b = w.into_bytes();
        let e = Reader::new(&b, Drep::LE).string_utf16("s").unwrap_err();
        assert_eq!(e.offset, 12, "{e}");
        let mut w = Writer::new(Drep::LE);
        w.u32(4);
        w.u32(2);
        w.u32(3);
        let b = w.into_bytes();
        let e = Reader::new(&b, Drep::LE).string_u8("s").unwrap_err();
        assert_eq!(e.offset, 4, "{e}");
    }

    #[test]
    fn writer_reader_roundtrip_be() {
        let u: Uuid = "e1af8308-5d1f-11c9-91a4-08002b14a0fa".parse().unwrap();
        let mut w = Writer::new(Drep::BE);
        w.u16(7);
        w.uuid(&u);
        assert!(w.pointer(true));
        w.u64(0x0102_0304_0506_0708);
        w.string_u8("ncacn_ip_tcp");
        let b = w.into_bytes();
        let mut r = Reader::new(&b, Drep::BE);
        assert_eq!(r.u16("a").unwrap(), 7);
        assert_eq!(r.uuid("u").unwrap(), u);
        assert_eq!(r.pointer("p").unwrap(), Some(0x0002_0000));
        assert_eq!(r.u64("q").unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(r.string_u8("s").unwrap(), "ncacn_ip_tcp");
        r.expect_end(0, "end").unwrap();
    }
}
