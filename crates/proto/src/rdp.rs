//! RDP connection negotiation (MS-RDPBCGR 2.2.1.1 / 2.2.1.2): the X.224 Connection Request
//! and Confirm inside TPKT carry RDP_NEG_REQ (type 1, requested protocols), RDP_NEG_RSP
//! (type 2, selected protocol) or RDP_NEG_FAILURE (type 3, a failure code).

use crate::reader::{ParseError, Reader};

/// What one X.224 CR / CC says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Neg {
    /// Connection Request: requested protocols (0 when the client sent no RDP_NEG_REQ).
    Request {
        protocols: u32,
        cookie: Option<String>,
    },
    /// Connection Confirm with RDP_NEG_RSP (selected protocol) or none (standard RDP).
    Response {
        protocol: u32,
    },
    Failure {
        code: u32,
    },
}

/// Parse a TPKT + X.224 CR (0xE0) or CC (0xD0) at the start of `b`.
pub fn parse(b: &[u8]) -> Result<Neg, ParseError> {
    let mut r = Reader::new(b);
    if r.u8("TPKT version")? != 3 {
        return Err(ParseError::invalid("TPKT version", 0, "not 3"));
    }
    r.u8("TPKT reserved")?;
    let len = r.u16("TPKT length")? as usize;
    let mut x = r.sub(len.saturating_sub(4).min(r.left()), "X.224 TPDU")?;
    let li = x.u8("X.224 length indicator")? as usize;
    let code = x.u8("X.224 code")? & 0xf0;
    x.skip(5, "X.224 DST-REF/SRC-REF/class")?;
    let mut var = x.sub(li.saturating_sub(6).min(x.left()), "X.224 variable part")?;
    let mut cookie = None;
    if code == 0xe0 {
        let rest = var.rest();
        if let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
            cookie = Some(crate::reader::printable(rest.get(..end).unwrap_or(&[]), 80));
            var.skip(end + 2, "routing token / cookie")?;
        }
    }
    if var.left() < 8 {
        return match code {
            0xe0 => Ok(Neg::Request { protocols: 0, cookie }),
            0xd0 => Ok(Neg::Response { protocol: 0 }),
            c => Err(ParseError::invalid("X.224 code", 5, format!("0x{c:02x} is not CR/CC"))),
        };
    }
    let ty = var.u8("RDP_NEG type")?;
    var.u8("RDP_NEG flags")?;
    var.u16le("RDP_NEG length")?;
    let v = var.u32le("RDP_NEG value")?;
    Ok(match ty {
        1 => Neg::Request { protocols: v, cookie },
        2 => Neg::Response { protocol: v },
        3 => Neg::Failure { code: v },
        t => return Err(ParseError::invalid("RDP_NEG type", 11, format!("type {t}"))),
    })
}

/// Protocol flags as names (`SSL|HYBRID`).
pub fn protocol_name(p: u32) -> String {
    if p == 0 {
        return "RDP (standard security)".into();
    }
    let mut v = Vec::new();
    for (bit, n) in [(1, "SSL"), (2, "HYBRID (CredSSP/NLA)"), (4, "RDSTLS"), (8, "HYBRID_EX")] {
        if p & bit != 0 {
            v.push(n);
        }
    }
    if p & !0xf != 0 {
        return format!("{} 0x{p:x}", v.join("|"));
    }
    v.join("|")
}

/// RDP_NEG_FAILURE code name and meaning.
pub fn failure_info(c: u32) -> (String, &'static str) {
    let (n, m) = match c {
        1 => ("SSL_REQUIRED_BY_SERVER", "the server requires TLS security; the client offered only standard RDP security"),
        2 => ("SSL_NOT_ALLOWED_BY_SERVER", "the server allows only standard RDP security; the client asked for TLS"),
        3 => ("SSL_CERT_NOT_ON_SERVER", "the server has no certificate for TLS"),
        4 => ("INCONSISTENT_FLAGS", "the requested protocol flags are inconsistent"),
        5 => ("HYBRID_REQUIRED_BY_SERVER", "the server requires Network Level Authentication (CredSSP); the client did not offer it"),
        6 => ("SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER", "the server requires TLS with user authentication"),
        _ => return (format!("failure code {c}"), "unknown RDP negotiation failure"),
    };
    (n.into(), m)
}
