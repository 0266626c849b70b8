//! LDAP (RFC 4511) over TCP (389, 3268 — recognised by content): each message is a BER
//! `LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp CHOICE { [APPLICATION n] … },
//! controls [0] OPTIONAL }`. Only the head is decoded: messageID, the operation (the
//! APPLICATION tag number) and, for responses, the `resultCode` ENUMERATED that starts every
//! LDAPResult. Messages after a SASL bind with a security layer are wrapped in a 4-byte
//! length (RFC 4422 3.7); those are framed and skipped.

use crate::reader::{ParseError, Reader};
use crate::stream::Head;

/// Largest LDAP message accepted (BER lengths above this are treated as corrupt).
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;

/// The head of one LDAP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Op {
        id: u64,
        op: u8,
        result: Option<u32>,
    },
    /// A SASL-wrapped (signed/sealed) buffer.
    Sasl,
}

/// Read a BER tag and definite length; returns (tag, length, header length).
fn tl(r: &mut Reader) -> Result<(u8, u64), ParseError> {
    let at = r.offset();
    let tag = r.u8("BER tag")?;
    if tag & 0x1f == 0x1f {
        return Err(ParseError::invalid("BER tag", at, "multi-byte tags are not used by LDAP"));
    }
    let l0 = r.u8("BER length")?;
    let len = match l0 {
        0..=0x7f => l0 as u64,
        0x80 => {
            return Err(ParseError::invalid(
                "BER length",
                at + 1,
                "indefinite length (not allowed in LDAP)",
            ))
        }
        0x81..=0x84 => {
            let n = (l0 & 0x7f) as usize;
            let b = r.take(n, "BER long length")?;
            b.iter().fold(0u64, |a, &x| (a << 8) | x as u64)
        }
        _ => {
            return Err(ParseError::invalid(
                "BER length",
                at + 1,
                format!("{} length octets", l0 & 0x7f),
            ))
        }
    };
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
    Ok(Msg::Op { id, op, result })
}

/// Operations answered by an LDAPResult.
pub fn is_response(op: u8) -> bool {
    matches!(op, 1 | 5 | 7 | 9 | 11 | 13 | 15 | 24)
}
/// Responses that come before the final one (search entries and references, intermediate).
pub fn is_partial(op: u8) -> bool {
    matches!(op, 4 | 19 | 25)
}
/// Requests that get a response (unbind and abandon get none).
pub fn is_request(op: u8) -> bool {
    matches!(op, 0 | 3 | 6 | 8 | 10 | 12 | 14 | 23)
}

pub fn op_name(op: u8) -> crate::Text {
    let s = match op {
        0 => "bindRequest",
        1 => "bindResponse",
        2 => "unbindRequest",
        3 => "searchRequest",
        4 => "searchResEntry",
        5 => "searchResDone",
        6 => "modifyRequest",
        7 => "modifyResponse",
        8 => "addRequest",
        9 => "addResponse",
        10 => "delRequest",
        11 => "delResponse",
        12 => "modDNRequest",
        13 => "modDNResponse",
        14 => "compareRequest",
        15 => "compareResponse",
        16 => "abandonRequest",
        19 => "searchResRef",
        23 => "extendedReq",
        24 => "extendedResp",
        25 => "intermediateResponse",
        n => return format!("op {n}").into(),
    };
    s.into()
}

pub fn result_name(c: u32) -> crate::Text {
    let s = match c {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        5 => "compareFalse",
        6 => "compareTrue",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        n => return format!("resultCode {n}").into(),
    };
    s.into()
}

/// Result codes that do not mean failure.
pub fn result_ok(c: u32) -> bool {
    matches!(c, 0 | 5 | 6 | 10 | 14)
}

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
                assert_eq!(info, Msg::Op { id: 1, op: 0, result: None });
            }
            Head::Need => panic!("need"),
        }
        match head(BIND_OK).unwrap() {
            Head::Frame { info, .. } => assert_eq!(info, Msg::Op { id: 1, op: 1, result: Some(0) }),
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
