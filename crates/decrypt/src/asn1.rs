//! A minimal checked DER reader for the key containers (PKCS#12, PKCS#8 algorithm parameters).
//!
//! DER is tag, length, value: one tag byte (only low tag numbers occur in these formats), a
//! length (short form < 0x80, or 0x81..0x84 followed by that many big-endian bytes), then the
//! value. Constructed values (SEQUENCE 0x30, SET 0x31, context tags 0xa0..) contain more TLVs.
//! Every read is bounds-checked; errors say which structure and at which offset.

use std::fmt;

pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const CTX0: u8 = 0xa0;
/// `[0] IMPLICIT OCTET STRING`, primitive.
pub const CTX0_PRIM: u8 = 0x80;
/// `[0] IMPLICIT OCTET STRING`, constructed (BER segments).
pub const CTX0_CONS: u8 = 0xa0;

/// A DER decoding problem: what was expected and where (offset in the outer buffer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asn1Error {
    pub what: &'static str,
    pub offset: usize,
}

impl fmt::Display for Asn1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

/// One tag-length-value element.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// The whole element (tag and length included).
    pub raw: &'a [u8],
    /// Offset of the element in the outermost buffer.
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over the contents of this (constructed) element.
    pub fn reader(&self) -> Reader<'a> {
        Reader { buf: self.value, pos: 0, base: self.offset + (self.raw.len() - self.value.len()) }
    }
    pub fn expect(self, tag: u8, what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(Asn1Error { what, offset: self.offset })
        }
    }
    /// A small non-negative INTEGER's value.
    pub fn uint(&self) -> Result<u64, Asn1Error> {
        if self.tag != INTEGER || self.value.is_empty() || self.value.len() > 9 {
            return Err(Asn1Error { what: "expected a small INTEGER", offset: self.offset });
        }
        if self.value.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(Asn1Error { what: "negative INTEGER", offset: self.offset });
        }
        let mut v: u64 = 0;
        for b in self.value {
            v = v
                .checked_shl(8)
                .ok_or(Asn1Error { what: "INTEGER too large", offset: self.offset })?
                | u64::from(*b);
        }
        Ok(v)
    }
}

/// Sequential reader over concatenated TLVs.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0, base: 0 }
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }
    /// The next element, or an error naming `what` when there is none or it is cut.
    pub fn next(&mut self, what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        let start = self.pos;
        let at = self.offset();
        let err = |w| Asn1Error { what: w, offset: at };
        let rest = self.buf.get(start..).ok_or(err(what))?;
        let (&tag, rest) = rest.split_first().ok_or(err(what))?;
        let (&l0, mut rest) = rest.split_first().ok_or(err("truncated DER length"))?;
        let len = if l0 < 0x80 {
            usize::from(l0)
        } else {
            let n = usize::from(l0 & 0x7f);
            if n == 0 {
                return Err(err("indefinite-length BER encoding (not DER)"));
            }
            if n > 4 {
                return Err(err("DER length too large"));
            }
            let (lb, r) = rest.split_at_checked(n).ok_or(err("truncated DER length"))?;
            rest = r;
            lb.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b))
        };
        let hdr = 2 + if l0 < 0x80 { 0 } else { usize::from(l0 & 0x7f) };
        let value = rest
            .get(..len)
            .ok_or(err("DER element runs past the end of its container (truncated file?)"))?;
        let end = start + hdr + len;
        let raw = self.buf.get(start..end).ok_or(err(what))?;
        self.pos = end;
        Ok(Tlv { tag, value, raw, offset: at })
    }
    /// The next element if it has `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, Asn1Error> {
        if self.buf.get(self.pos) == Some(&tag) {
            self.next("element").map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Parse exactly one element covering `buf`.
pub fn parse_one<'a>(buf: &'a [u8], what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
    let mut r = Reader::new(buf);
    let t = r.next(what)?;
    Ok(t)
}

/// OID bytes (DER value, no tag) of the algorithms and types we recognise.
pub mod oid {
    /// 1.2.840.113549.1.7.1 data
    pub const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    /// 1.2.840.113549.1.7.6 encryptedData
    pub const ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
    /// 1.2.840.113549.1.12.10.1.1 keyBag
    pub const KEY_BAG: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01];
    /// 1.2.840.113549.1.12.10.1.2 pkcs8ShroudedKeyBag
    pub const SHROUDED_KEY_BAG: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02];
    /// 1.2.840.113549.1.12.10.1.6 safeContentsBag
    pub const SAFE_CONTENTS_BAG: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x06];
    /// 1.2.840.113549.1.12.1.x pbeWithSHAAnd… (x = 1..6), prefix without the last arc.
    pub const PKCS12_PBE_PREFIX: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
    /// 1.2.840.113549.1.5.13 PBES2
    pub const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
    /// 1.3.14.3.2.26 SHA-1
    pub const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
    /// 2.16.840.1.101.3.4.2.1 / .2 / .3 SHA-256 / SHA-384 / SHA-512
    pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    pub const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
    pub const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
    /// 1.2.840.113549.1.1.1 rsaEncryption
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_and_rejects_cut() {
        // SEQUENCE { INTEGER 3, OCTET STRING "ab" }
        let der = [0x30, 0x07, 0x02, 0x01, 0x03, 0x04, 0x02, b'a', b'b'];
        let t = parse_one(&der, "seq").unwrap();
        let mut r = t.reader();
        assert_eq!(r.next("int").unwrap().uint().unwrap(), 3);
        let s = r.next("os").unwrap();
        assert_eq!(s.value, b"ab");
        assert_eq!(s.offset, 5);
        assert!(r.is_empty());
        let e = parse_one(&der[..6], "seq").unwrap_err();
        assert!(e.what.contains("runs past"), "{e}");
        assert!(parse_one(&[0x30, 0x80], "seq").unwrap_err().what.contains("indefinite"));
    }
}
