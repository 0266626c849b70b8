//! LDAP (RFC 4511) over TCP (389, 3268 — recognised by content): each message is a BER
//! `LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE { [APPLICATION n] … },
//! controls [0] OPTIONAL }`. Only the head is decoded: messageID, the operation (the
//! APPLICATION tag number) and, for responses, the `resultCode` ENUMERATED that starts every
//! LDAPResult. Messages after a SASL bind with a security layer are wrapped in a 4-byte
//! length (RFC 4422 3.7); those are framed and skipped.

use crate::reader::{ParseError, Reader};
use crate::stream::Head;
use tracehound_proto::ber;

pub mod ops;

pub use ops::{is_partial, is_request, is_response, op_name};

/// Largest LDAP message accepted (BER lengths above this are treated as corrupt).
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;

/// The head of one LDAP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Op {
        id: u64,
        op: u8,
        result: Option<u32>,
        /// Binds, StartTLS, searches and results, read in full ([`crate::ldapauth`]).
        detail: Option<Box<crate::ldapauth::Detail>>,
    },
    /// A SASL-wrapped (signed/sealed) buffer.
    Sasl,
}

/// Read a BER tag and definite length (the header rules are `tracehound_proto::ber`'s);
/// returns (tag, value length).
fn tl(r: &mut Reader) -> Result<(u8, u64), ParseError> {
    let at = r.offset();
    let rest = r.rest();
    let (hl, len) = match ber::header(rest) {
        Err(why) => return Err(ParseError::invalid("BER header", at, why)),
        Ok(None) => {
            return Err(ParseError::Short { what: "BER header", at, need: 2, have: rest.len() })
        }
        Ok(Some(h)) => h,
    };
    let tag = rest.first().copied().unwrap_or(0);
    r.skip(hl, "BER header")?;
    let len = len as u64;
    if len > MAX_MESSAGE {
        return Err(ParseError::invalid(
            "BER length",
            at + 1,
            format!("{len} bytes is more than {MAX_MESSAGE}"),
        ));
    }
    Ok((tag, len))
}

/// Plausible start of an LDAPMessage.
pub fn looks_like(d: &[u8]) -> bool {
    let mut r = Reader::new(d);
    let Ok((0x30, _)) = tl(&mut r) else { return false };
    let Ok((0x02, n)) = tl(&mut r) else { return false };
    if n == 0 || n > 4 || r.skip(n as usize, "id").is_err() {
        return false;
    }
    match r.u8("op") {
        Ok(t) => t & 0xc0 == 0x40 && (t & 0x1f) <= 25,
        Err(_) => false,
    }
}

/// Frame the next message at the start of `d`.
pub fn head(d: &[u8]) -> Result<Head<Msg>, ParseError> {
    let Some(&first) = d.first() else { return Ok(Head::Need) };
    let mut r = Reader::new(d);
    if first != 0x30 {
        // SASL security layer: 4-byte big-endian length
        if d.len() < 4 {
            return Ok(Head::Need);
        }
        let n = r.u32("SASL buffer length")? as u64;
        if n > MAX_MESSAGE || n == 0 {
            return Err(ParseError::invalid(
                "LDAP message",
                0,
                format!("neither a BER SEQUENCE nor a SASL buffer (first byte 0x{first:02x})"),
            ));
        }
        return Ok(Head::Frame { total: 4 + n, info: Msg::Sasl });
    }
    let (_, len) = match tl(&mut r) {
        Ok(x) => x,
        Err(ParseError::Short { .. }) => return Ok(Head::Need),
        Err(e) => return Err(e),
    };
    let total = (r.offset() as u64).saturating_add(len);
    // the head we decode is in the first few dozen bytes
    match op(&mut r) {
        Ok(Msg::Op { id, op, result, .. }) if crate::ldapauth::wanted(op) => {
            if (d.len() as u64) < total && total <= crate::ldapauth::MAX_DETAIL {
                return Ok(Head::Need);
            }
            let detail = d.get(..total as usize).and_then(crate::ldapauth::detail).map(Box::new);
            Ok(Head::Frame { total, info: Msg::Op { id, op, result, detail } })
        }
        Ok(m) => Ok(Head::Frame { total, info: m }),
        Err(ParseError::Short { .. }) if (d.len() as u64) < total && d.len() < 64 => Ok(Head::Need),
        Err(e) => Err(e),
    }
}

fn op(r: &mut Reader) -> Result<Msg, ParseError> {
    let at = r.offset();
    let (t, n) = tl(r)?;
    if t != 0x02 || n == 0 || n > 8 {
        return Err(ParseError::invalid("LDAP messageID", at, format!("tag 0x{t:02x} length {n}")));
    }
    let id = r.take(n as usize, "messageID")?.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
    let at = r.offset();
    let (t, _) = tl(r)?;
    if t & 0xc0 != 0x40 {
        return Err(ParseError::invalid(
            "LDAP protocolOp",
            at,
            format!("tag 0x{t:02x} is not APPLICATION"),
        ));
    }
    let op = t & 0x1f;
    let mut result = None;
    if is_response(op) && t & 0x20 != 0 {
        let at = r.offset();
        let (t, n) = tl(r)?;
        if t != 0x0a || n == 0 || n > 4 {
            return Err(ParseError::invalid(
                "LDAP resultCode",
                at,
                format!("tag 0x{t:02x} length {n}"),
            ));
        }
        result =
            Some(r.take(n as usize, "resultCode")?.iter().fold(0u32, |a, &x| (a << 8) | x as u32));
    }
    Ok(Msg::Op { id, op, result, detail: None })
}

/// RFC 4511 names: `tracehound_proto::ldap` (shared with the live probe).
pub fn result_name(c: u32) -> crate::Text {
    tracehound_proto::ldap::result_name(c).into()
}

pub use tracehound_proto::ldap::result_ok;

#[cfg(test)]
mod tests {
    use super::*;
    // A simple bind request (messageID 1, version 3, name "", simple ""), RFC 4511 4.2,
    // and its success response, encoded by hand.
    const BIND: &[u8] =
        &[0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00];
    const BIND_OK: &[u8] =
        &[0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00];

    #[test]
    fn frames_bind() {
        assert!(looks_like(BIND));
        match head(BIND).unwrap() {
            Head::Frame { total, info } => {
                assert_eq!(total, 14);
                assert!(matches!(info, Msg::Op { id: 1, op: 0, result: None, .. }));
            }
            Head::Need => panic!("need"),
        }
        match head(BIND_OK).unwrap() {
            Head::Frame { info, .. } => {
                assert!(matches!(info, Msg::Op { id: 1, op: 1, result: Some(0), .. }))
            }
            Head::Need => panic!("need"),
        }
    }

    #[test]
    fn hostile_lengths() {
        // 4-byte length of 0xffffffff
        let e = head(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01]);
        assert!(e.is_err());
        assert!(head(&[0x30, 0x85, 1, 2, 3, 4, 5]).is_err());
        assert!(head(&[0x30, 0x80]).is_err());
        for n in 0..BIND.len() {
            let _ = head(&BIND[..n]);
        }
        assert!(matches!(head(&BIND[..3]).unwrap(), Head::Need));
    }
}
