//! DCE UUIDs (C706 appendix A).
//!
//! A [`Uuid`] is stored in canonical order: the bytes as they appear in the
//! 8-4-4-4-12 string form. On the wire (NDR, C706 chapter 14) the first three
//! fields (`time_low` u32, `time_mid` u16, `time_hi_and_version` u16) follow the
//! byte order of the data representation label; the remaining eight bytes are
//! a byte array and never swapped.
//!
//! ```
//! use tracehound_rpc_proto::{ndr::Drep, uuid::Uuid};
//! let u: Uuid = "e1af8308-5d1f-11c9-91a4-08002b14a0fa".parse().unwrap();
//! let wire = u.to_ndr(Drep::LE);
//! assert_eq!(&wire[..4], &[0x08, 0x83, 0xaf, 0xe1]);
//! assert_eq!(Uuid::from_ndr(&wire, Drep::LE), u);
//! assert_eq!(u.to_string(), "e1af8308-5d1f-11c9-91a4-08002b14a0fa");
//! ```

use std::fmt;
use std::str::FromStr;

use crate::drep::Drep;

/// A UUID in canonical (string) byte order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

/// Why a UUID string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid UUID {text:?}: {why}")]
pub struct ParseUuidError {
    pub text: String,
    pub why: &'static str,
}

impl Uuid {
    /// The nil UUID.
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Reads a UUID from its NDR encoding in byte order `drep`.
    pub fn from_ndr(bytes: &[u8; 16], drep: Drep) -> Uuid {
        let mut out = *bytes;
        if drep.little_endian {
            swap_fields(&mut out);
        }
        Uuid(out)
    }

    /// Encodes the UUID as NDR in byte order `drep`.
    pub fn to_ndr(&self, drep: Drep) -> [u8; 16] {
        let mut out = self.0;
        if drep.little_endian {
            swap_fields(&mut out);
        }
        out
    }

    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }

    /// Const constructor from a 8-4-4-4-12 string; panics at compile time
    /// (const context) on a malformed literal. Only for literals in code.
    ///
    /// # Panics
    /// If `s` is not a well-formed UUID string.
    // Indexing a literal in a const fn (`get` is not const): a bad literal fails the build.
    #[allow(clippy::indexing_slicing)]
    pub const fn from_str_const(s: &str) -> Uuid {
        let b = s.as_bytes();
        assert!(b.len() == 36, "UUID literal must be 36 characters");
        let mut out = [0u8; 16];
        let mut i = 0;
        let mut o = 0;
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                assert!(b[i] == b'-', "UUID literal: dash expected");
                i += 1;
                continue;
            }
            let hi = hex_val(b[i]);
            let lo = hex_val(b[i + 1]);
            assert!(hi < 16 && lo < 16, "UUID literal: hex digit expected");
            out[o] = (hi << 4) | lo;
            o += 1;
            i += 2;
        }
        Uuid(out)
    }
}

const fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0xff,
    }
}

fn swap_fields(b: &mut [u8; 16]) {
    b[0..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in self.0.iter().enumerate() {
            if i == 4 || i == 6 || i == 8 || i == 10 {
                at += 1;
            }
            let digit = |n: u8| HEX.get(usize::from(n & 15)).copied().unwrap_or(b'0');
            if let Some([hi, lo]) = text.get_mut(at..at + 2) {
                (*hi, *lo) = (digit(byte >> 4), digit(byte & 15));
            }
            at += 2;
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl FromStr for Uuid {
    type Err = ParseUuidError;

    /// Accepts `8-4-4-4-12` hex, either case, optionally in braces.
    fn from_str(s: &str) -> Result<Uuid, ParseUuidError> {
        let err = |why| ParseUuidError { text: s.to_string(), why };
        let t = s.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(s);
        let b = t.as_bytes();
        if b.len() != 36 {
            return Err(err("length is not 36"));
        }
        let mut out = [0u8; 16];
        let mut o = 0usize;
        let mut i = 0usize;
        while i < 36 {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b.get(i) != Some(&b'-') {
                    return Err(err("dash expected at 8, 13, 18, 23"));
                }
                i += 1;
                continue;
            }
            let hi = b.get(i).map(|&c| hex_val(c)).unwrap_or(0xff);
            let lo = b.get(i + 1).map(|&c| hex_val(c)).unwrap_or(0xff);
            if hi > 15 || lo > 15 {
                return Err(err("non-hex digit"));
            }
            if let Some(slot) = out.get_mut(o) {
                *slot = (hi << 4) | lo;
            }
            o += 1;
            i += 2;
        }
        Ok(Uuid(out))
    }
}

impl serde::Serialize for Uuid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_display_roundtrip() {
        let s = "8a885d04-1ceb-11c9-9fe8-08002b104860";
        let u: Uuid = s.parse().unwrap();
        assert_eq!(u.to_string(), s);
        assert_eq!(u, Uuid::from_str_const(s));
        let braced: Uuid = "{8A885D04-1CEB-11C9-9FE8-08002B104860}".parse().unwrap();
        assert_eq!(braced, u);
        assert!("8a885d04-1ceb-11c9-9fe8-08002b10486".parse::<Uuid>().is_err());
        assert!("8a885d04x1ceb-11c9-9fe8-08002b104860".parse::<Uuid>().is_err());
        assert!("8a885d04-1ceb-11c9-9fe8-08002b10486g".parse::<Uuid>().is_err());
        assert_eq!(serde_json::to_string(&u).unwrap(), format!("\"{s}\""));
    }

    #[test]
    fn ndr_both_orders() {
        let u: Uuid = "8a885d04-1ceb-11c9-9fe8-08002b104860".parse().unwrap();
        let le = u.to_ndr(Drep::LE);
        assert_eq!(
            le,
            [
                0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10,
                0x48, 0x60
            ]
        );
        assert_eq!(u.to_ndr(Drep::BE), u.0);
        assert_eq!(Uuid::from_ndr(&le, Drep::LE), u);
        assert_eq!(Uuid::from_ndr(&u.0, Drep::BE), u);
    }
}
