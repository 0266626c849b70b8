//! A checked byte reader over untrusted bytes: every read is bounds-checked and a failure
//! says what was missing and where (the offset from the start of the enclosing message).
//! Big-endian reads have plain names (`u16`) and `…be` aliases; little-endian ones end in
//! `le`.

use thiserror::Error;

/// A parse error: what went wrong and at which offset of the message.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The data ended before a field did.
    #[error("{what}: need {need} bytes at offset {at}, only {have} left")]
    Short { what: &'static str, at: usize, need: usize, have: usize },
    /// A field holds a value the format does not allow.
    #[error("{what} at offset {at}: {why}")]
    Invalid { what: &'static str, at: usize, why: String },
}

impl ParseError {
    /// An [`ParseError::Invalid`] error.
    pub fn invalid(what: &'static str, at: usize, why: impl Into<String>) -> ParseError {
        ParseError::Invalid { what, at, why: why.into() }
    }
    /// Offset of the problem within the message.
    pub fn offset(&self) -> usize {
        match self {
            ParseError::Short { at, .. } | ParseError::Invalid { at, .. } => *at,
        }
    }
    /// Is this "the data ended too soon" (more bytes could complete it)?
    pub fn is_short(&self) -> bool {
        matches!(self, ParseError::Short { .. })
    }
}

/// Cursor over a byte slice; `pos` is relative to the slice, `base` is the offset of the
/// slice within the enclosing message (for error messages).
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

macro_rules! be_le {
    ($be:ident, $le:ident, $ty:ty, $n:expr) => {
        #[doc = concat!("Big-endian `", stringify!($ty), "`.")]
        pub fn $be(&mut self, what: &'static str) -> Result<$ty, ParseError> {
            let b = self.take($n, what)?;
            Ok(b.iter().fold(0, |a: $ty, &x| (a << 8) | <$ty>::from(x)))
        }
        #[doc = concat!("Little-endian `", stringify!($ty), "`.")]
        pub fn $le(&mut self, what: &'static str) -> Result<$ty, ParseError> {
            let b = self.take($n, what)?;
            Ok(b.iter().rev().fold(0, |a: $ty, &x| (a << 8) | <$ty>::from(x)))
        }
    };
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0, base: 0 }
    }
    /// A reader at `pos` within `buf` (offsets count from the start of `buf`).
    pub fn at(buf: &'a [u8], pos: usize) -> Reader<'a> {
        Reader { buf, pos, base: 0 }
    }
    /// Offset of the next byte within the enclosing message.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }
    /// Position of the next byte within this reader's slice.
    pub fn pos(&self) -> usize {
        self.pos
    }
    /// The whole slice this reader walks.
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }
    /// Bytes left.
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// No bytes left.
    pub fn is_empty(&self) -> bool {
        self.left() == 0
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
    /// An [`ParseError::Invalid`] at the current offset.
    pub fn err(&self, why: impl Into<String>) -> ParseError {
        ParseError::invalid("malformed data", self.offset(), why)
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(ParseError::Short { what, at: self.offset(), need: n, have: self.left() })?;
        let s = self.buf.get(self.pos..end).unwrap_or(&[]);
        self.pos = end;
        Ok(s)
    }
    /// A sub-reader over the next `n` bytes (offsets keep counting from the message start).
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, ParseError> {
        let base = self.offset();
        let buf = self.take(n, what)?;
        Ok(Reader { buf, pos: 0, base })
    }
    /// Skip `n` bytes.
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), ParseError> {
        self.take(n, what).map(|_| ())
    }
    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, ParseError> {
        Ok(self.take(1, what)?.first().copied().unwrap_or(0))
    }
    be_le!(u16, u16le, u16, 2);
    be_le!(u32, u32le, u32, 4);
    be_le!(u64, u64le, u64, 8);
    /// Big-endian 24-bit value.
    pub fn u24(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(3, what)?;
        Ok(b.iter().fold(0u32, |a, &x| (a << 8) | u32::from(x)))
    }
    /// Alias of [`Reader::u16`].
    pub fn u16be(&mut self, what: &'static str) -> Result<u16, ParseError> {
        self.u16(what)
    }
    /// Alias of [`Reader::u24`].
    pub fn u24be(&mut self, what: &'static str) -> Result<u32, ParseError> {
        self.u24(what)
    }
    /// Alias of [`Reader::u32`].
    pub fn u32be(&mut self, what: &'static str) -> Result<u32, ParseError> {
        self.u32(what)
    }
    /// A vector with a big-endian length prefix of `len_bytes` (1, 2 or 3) bytes.
    pub fn vec(&mut self, len_bytes: u8, what: &'static str) -> Result<Reader<'a>, ParseError> {
        let n = match len_bytes {
            1 => self.u8(what)? as usize,
            2 => self.u16(what)? as usize,
            _ => self.u24(what)? as usize,
        };
        self.sub(n, what)
    }
}

/// `data[start..start + len]` without panicking.
pub fn slice(data: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    data.get(start..start.checked_add(len)?)
}

/// Printable rendering of untrusted text: non-printable bytes become `\xNN`, length capped.
pub fn printable(b: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &c in b.iter().take(max) {
        if (0x20..0x7f).contains(&c) && c != b'\\' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    if b.len() > max {
        s.push('…');
    }
    s
}

/// UTF-16LE text (NTLM, SMB), lossy, at most `max` characters.
pub fn utf16le(b: &[u8], max: usize) -> String {
    let units = b.chunks_exact(2).map(|c| c.iter().rev().fold(0u16, |a, &x| (a << 8) | x as u16));
    char::decode_utf16(units)
        .take(max)
        .map(|r| r.unwrap_or('\u{fffd}'))
        .map(|c| if c.is_control() { '.' } else { c })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[test]
    fn short_reads_say_where() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0102);
        let e = r.u16("b").unwrap_err();
        assert_eq!(e, ParseError::Short { what: "b", at: 2, need: 2, have: 1 });
        assert!(e.is_short());
        let mut r = Reader::new(&[0, 5, 1]);
        assert!(r.vec(2, "v").is_err());
        assert!(r.take(usize::MAX, "huge").is_err());
    }
    #[test]
    fn both_byte_orders_and_sub_offsets() {
        let d = [0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        let mut r = Reader::at(&d, 2);
        assert_eq!(r.u16le("x").unwrap(), 0x0201);
        let mut s = r.sub(4, "s").unwrap();
        assert_eq!(s.u32be("y").unwrap(), 0x0304_0506);
        assert_eq!(s.u8("z").unwrap_err().offset(), 8);
        assert_eq!(r.u16be("w").unwrap(), 0x0708);
        assert_eq!(Reader::new(&[1, 0, 0, 0, 0, 0, 0, 0]).u64le("q").unwrap(), 1);
        assert_eq!(utf16le(b"a\0b\0\0\xd8", 10), "ab\u{fffd}");
    }
}
