//! A checked big-endian reader over untrusted bytes: every read is bounds-checked and says
//! what was missing and where (offset from the start of the message).

use thiserror::Error;

/// A parse error: what went wrong and at which offset of the message.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("{what}: need {need} bytes at offset {at}, only {have} left")]
    Short { what: &'static str, at: usize, need: usize, have: usize },
    #[error("{what} at offset {at}: {why}")]
    Invalid { what: &'static str, at: usize, why: String },
}

impl ParseError {
    pub fn invalid(what: &'static str, at: usize, why: impl Into<String>) -> ParseError {
        ParseError::Invalid { what, at, why: why.into() }
    }
}

/// Cursor over a byte slice; `pos` is relative to `base` (the offset of the slice within the
/// enclosing message, for error messages).
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0, base: 0 }
    }
    /// Offset of the next byte within the enclosing message.
    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    pub fn is_empty(&self) -> bool {
        self.left() == 0
    }
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }
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
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), ParseError> {
        self.take(n, what).map(|_| ())
    }
    pub fn u8(&mut self, what: &'static str) -> Result<u8, ParseError> {
        Ok(self.take(1, what)?.first().copied().unwrap_or(0))
    }
    pub fn u16(&mut self, what: &'static str) -> Result<u16, ParseError> {
        let b = self.take(2, what)?;
        Ok(b.iter().fold(0u16, |a, &x| (a << 8) | x as u16))
    }
    pub fn u24(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(3, what)?;
        Ok(b.iter().fold(0u32, |a, &x| (a << 8) | x as u32))
    }
    pub fn u32(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(4, what)?;
        Ok(b.iter().fold(0u32, |a, &x| (a << 8) | x as u32))
    }
    pub fn u16le(&mut self, what: &'static str) -> Result<u16, ParseError> {
        let b = self.take(2, what)?;
        Ok(b.iter().rev().fold(0u16, |a, &x| (a << 8) | x as u16))
    }
    pub fn u32le(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(4, what)?;
        Ok(b.iter().rev().fold(0u32, |a, &x| (a << 8) | x as u32))
    }
    pub fn u64le(&mut self, what: &'static str) -> Result<u64, ParseError> {
        let b = self.take(8, what)?;
        Ok(b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
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

/// `data[range]` without panicking.
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

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn short_reads_say_where() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16("a").unwrap(), 0x0102);
        let e = r.u16("b").unwrap_err();
        assert_eq!(e, ParseError::Short { what: "b", at: 2, need: 2, have: 1 });
        let mut r = Reader::new(&[0, 5, 1]);
        assert!(r.vec(2, "v").is_err());
        assert!(r.take(usize::MAX, "huge").is_err());
    }
}
