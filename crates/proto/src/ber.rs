//! A small BER/DER codec (X.690) for the ASN.1 protocols tracehound reads and writes: LDAP
//! (RFC 4511), SNMP (RFC 3416), Kerberos (RFC 4120) and SPNEGO (RFC 4178).
//!
//! Only single-byte tags and definite lengths of up to four length bytes are accepted,
//! which covers those protocols; anything else is an error naming the offset. The reader
//! never panics and never allocates from lengths it reads.

/// Universal tags used here.
pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const ENUMERATED: u8 = 0x0a;
pub const GENERAL_STRING: u8 = 0x1b;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// Context-specific constructed tag `[n]` (n < 31).
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}
/// Application constructed tag `[APPLICATION n]` (n < 31).
pub const fn app(n: u8) -> u8 {
    0x60 | n
}

/// A decoding error with the offset (from the start of the outermost buffer) where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BER error at offset {offset}: {what}")]
pub struct BerError {
    pub offset: usize,
    pub what: String,
}

/// One tag-length-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// Offset of the value in the outermost buffer.
    pub offset: usize,
    /// Total encoded length (header + value).
    pub len: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over this TLV's contents.
    pub fn reader(&self) -> Reader<'a> {
        Reader { buf: self.value, pos: 0, base: self.offset }
    }

    fn err(&self, what: impl Into<String>) -> BerError {
        BerError { offset: self.offset, what: what.into() }
    }

    /// Signed integer of at most 8 bytes.
    pub fn int(&self) -> Result<i64, BerError> {
        if self.value.is_empty() || self.value.len() > 8 {
            return Err(self.err(format!("integer of {} bytes", self.value.len())));
        }
        let mut v: i64 = if self.value.first().is_some_and(|b| b & 0x80 != 0) { -1 } else { 0 };
        for b in self.value {
            v = (v << 8) | i64::from(*b);
        }
        Ok(v)
    }

    /// The value as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.value).into_owned()
    }

    /// Dotted OID text.
    pub fn oid(&self) -> Result<String, BerError> {
        let mut parts: Vec<u64> = Vec::new();
        let mut cur: u64 = 0;
        for (i, b) in self.value.iter().enumerate() {
            if cur > (u64::MAX >> 7) {
                return Err(self.err(format!("OID arc too large at byte {i}")));
            }
            cur = (cur << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                if parts.is_empty() {
                    let (a, b) = if cur < 80 { (cur / 40, cur % 40) } else { (2, cur - 80) };
                    parts.push(a);
                    parts.push(b);
                } else {
                    parts.push(cur);
                }
                cur = 0;
            }
        }
        if parts.is_empty() || self.value.last().is_some_and(|b| b & 0x80 != 0) {
            return Err(self.err("truncated OID"));
        }
        Ok(parts.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("."))
    }
}

/// Sequential reader over BER data.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, base: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// A reader over `buf` whose offsets start at `base` (the offset of `buf` in the message).
    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// The tag of the next TLV, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn err(&self, what: impl Into<String>) -> BerError {
        BerError { offset: self.offset(), what: what.into() }
    }

    /// Header length and value length of the TLV at the current position, if complete.
    /// `Ok(None)` means more bytes are needed (for stream framing).
    pub fn peek_len(&self) -> Result<Option<usize>, BerError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        header(rest).map_err(|w| self.err(w)).map(|h| h.map(|(hl, vl)| hl.saturating_add(vl)))
    }

    /// Reads the next TLV.
    pub fn read(&mut self) -> Result<Tlv<'a>, BerError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let (hl, vl) =
            header(rest).map_err(|w| self.err(w))?.ok_or_else(|| self.err("truncated header"))?;
        let end = hl.checked_add(vl).ok_or_else(|| self.err("length overflow"))?;
        let value = rest.get(hl..end).ok_or_else(|| {
            self.err(format!(
                "value of {vl} bytes runs past the end ({} left)",
                rest.len().saturating_sub(hl)
            ))
        })?;
        let tag = rest.first().copied().unwrap_or(0);
        let t = Tlv { tag, value, offset: self.offset().saturating_add(hl), len: end };
        self.pos = self.pos.saturating_add(end);
        Ok(t)
    }

    /// Reads the next TLV and checks that it has `tag`; `what` names the field in the error.
    pub fn read_expected(&mut self, tag: u8, what: &str) -> Result<Tlv<'a>, BerError> {
        let off = self.offset();
        let t = self.read()?;
        if t.tag != tag {
            return Err(BerError {
                offset: off,
                what: format!("{what}: expected tag 0x{tag:02x}, found 0x{:02x}", t.tag),
            });
        }
        Ok(t)
    }

    /// Reads the next TLV if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, BerError> {
        if self.buf.get(self.pos) == Some(&tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Parses a TLV header: `(header length, value length)`; `None` if incomplete. The error
/// says what is not supported (multi-byte tags, indefinite lengths, more than 4 length bytes).
pub fn header(b: &[u8]) -> Result<Option<(usize, usize)>, String> {
    let Some(&tag) = b.first() else { return Ok(None) };
    if tag & 0x1f == 0x1f {
        return Err(format!("multi-byte tag 0x{tag:02x} not supported"));
    }
    let Some(&l0) = b.get(1) else { return Ok(None) };
    if l0 < 0x80 {
        return Ok(Some((2, l0 as usize)));
    }
    if l0 == 0x80 {
        return Err("indefinite length not allowed".into());
    }
    let n = (l0 & 0x7f) as usize;
    if n > 4 {
        return Err(format!("length of {n} bytes too large"));
    }
    let Some(lb) = b.get(2..2 + n) else { return Ok(None) };
    let len = lb.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
    let len = usize::try_from(len).map_err(|_| format!("length {len} too large"))?;
    Ok(Some((2 + n, len)))
}

// ---- encoding ----

/// Encodes a TLV with a definite length.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8); // n < 0x80
    } else {
        let bytes = (n as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let lb = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | lb.len() as u8);
        out.extend_from_slice(lb);
    }
    out.extend_from_slice(content);
    out
}

/// Minimal two's-complement INTEGER contents.
pub fn int_bytes(v: i64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let skip = b
        .windows(2)
        .take_while(|w| {
            matches!(w, [0, n] if n & 0x80 == 0) || matches!(w, [0xff, n] if n & 0x80 != 0)
        })
        .count();
    b.get(skip..).unwrap_or_default().to_vec()
}

pub fn int(tag: u8, v: i64) -> Vec<u8> {
    tlv(tag, &int_bytes(v))
}

/// Concatenates parts into one constructed TLV.
pub fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// Encodes a dotted OID.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut c = Vec::new();
    if arcs.len() >= 2 {
        let mut push = |v: u64| {
            let mut tmp = Vec::new();
            let mut v = v;
            tmp.push((v & 0x7f) as u8);
            v >>= 7;
            while v > 0 {
                tmp.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            tmp.reverse();
            c.extend(tmp);
        };
        let (a0, a1) = (arcs.first().copied().unwrap_or(0), arcs.get(1).copied().unwrap_or(0));
        push(a0.saturating_mul(40).saturating_add(a1));
        for a in arcs.iter().skip(2) {
            push(*a);
        }
    }
    tlv(OID, &c)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ints_roundtrip() {
        for v in
            [0i64, 1, 127, 128, 255, 256, -1, -128, -129, 65536, i64::MAX, i64::MIN, 0x7fff_ffff]
        {
            let e = int(INTEGER, v);
            let t = Reader::new(&e).read().unwrap();
            assert_eq!(t.int().unwrap(), v, "{v}");
            assert_eq!(t.len, e.len());
        }
        assert_eq!(int_bytes(128), vec![0, 128]);
        assert_eq!(int_bytes(-1), vec![0xff]);
    }

    #[test]
    fn long_lengths_and_oids() {
        let big = vec![7u8; 300];
        let e = tlv(OCTET_STRING, &big);
        assert_eq!(&e[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(Reader::new(&e).read().unwrap().value, &big[..]);
        let o = oid("1.3.6.1.2.1.1.1.0");
        assert_eq!(o, vec![0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 1, 0]);
        assert_eq!(Reader::new(&o).read().unwrap().oid().unwrap(), "1.3.6.1.2.1.1.1.0");
        let o = oid("1.2.840.113556.1.4.319");
        assert_eq!(Reader::new(&o).read().unwrap().oid().unwrap(), "1.2.840.113556.1.4.319");
    }

    #[test]
    fn hostile_inputs_are_errors() {
        // value longer than the buffer
        let e = Reader::new(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]).read().unwrap_err();
        assert!(e.what.contains("runs past"), "{e}");
        // indefinite, multi-byte tag, 5 length bytes, truncated
        assert!(Reader::new(&[0x30, 0x80, 0, 0]).read().is_err());
        assert!(Reader::new(&[0x1f, 0x01, 0]).read().is_err());
        assert!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).read().is_err());
        assert!(Reader::new(&[0x30]).read().is_err());
        assert_eq!(Reader::new(&[0x30, 0x82, 0x01]).peek_len().unwrap(), None);
        assert_eq!(Reader::new(&[0x30, 0x03, 1]).peek_len().unwrap(), Some(5));
        let t = Reader::new(&[0x02, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9]).read().unwrap();
        assert!(t.int().is_err());
        let t = Reader::new(&[0x06, 0x02, 0x2b, 0x86]).read().unwrap();
        assert!(t.oid().is_err());
        // errors carry offsets of nested data
        let outer = cons(SEQUENCE, &[&int(INTEGER, 5), &[0x04, 0x05, 1]]);
        let mut r = Reader::new(&outer).read().unwrap().reader();
        r.read().unwrap();
        let e = r.read().unwrap_err();
        assert_eq!(e.offset, 5);
        // read_expected names the field and the tag it found
        let mut r = Reader::new(&outer);
        let e = r.read_expected(INTEGER, "messageID").unwrap_err();
        assert!(e.what.contains("messageID: expected tag 0x02, found 0x30"), "{e}");
        assert_eq!(e.offset, 0);
    }
}
