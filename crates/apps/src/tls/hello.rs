//! The cleartext hello messages: ClientHello (also the SSLv2-format one) and ServerHello
//! (also HelloRetryRequest, recognised by its fixed random).

use super::{ClientHello, ServerHello, HRR_RANDOM, MAX_CIPHERS};
use crate::reader::{printable, ParseError, Reader};
use crate::stream::At;

/// Length of an SSLv2-format ClientHello (RFC 6101 E.1, 2-byte header) at the start of `d`.
pub fn sslv2_hello_len(d: &[u8]) -> Option<usize> {
    let (b0, b1, t, v) = (*d.first()?, *d.get(1)?, *d.get(2)?, *d.get(3)?);
    if b0 & 0x80 == 0 || t != 1 || !(v == 0 || v == 3) {
        return None;
    }
    let len = (((b0 & 0x7f) as usize) << 8) | b1 as usize;
    (len >= 9).then_some(len + 2)
}

/// An SSLv2-format ClientHello body (after the 2-byte header).
pub fn sslv2_client_hello(body: &[u8], at: At) -> Result<ClientHello, ParseError> {
    let mut r = Reader::new(body);
    r.u8("msg_type")?;
    let version = r.u16("version")?;
    let cs_len = r.u16("cipher_spec_length")? as usize;
    let sid_len = r.u16("session_id_length")? as usize;
    let ch_len = r.u16("challenge_length")? as usize;
    let mut cs = r.sub(cs_len, "cipher_specs")?;
    r.skip(sid_len, "session_id")?;
    r.skip(ch_len, "challenge")?;
    let mut ciphers = Vec::new();
    while cs.left() >= 3 {
        let s = cs.u24("cipher_spec")?;
        if ciphers.len() < MAX_CIPHERS && s <= 0xffff {
            ciphers.push(s as u16);
        }
    }
    Ok(ClientHello {
        frame: at.frame,
        ts: at.ts,
        version,
        supported_versions: Vec::new(),
        sni: None,
        cipher_count: cs_len / 3,
        ciphers,
        alpn: Vec::new(),
    })
}

/// Parse a ClientHello body (RFC 8446 4.1.2).
pub fn client_hello(body: &[u8], at: At) -> Result<ClientHello, ParseError> {
    let mut r = Reader::new(body);
    let version = r.u16("client_version")?;
    r.skip(32, "random")?;
    r.vec(1, "session_id")?;
    let mut cs = r.vec(2, "cipher_suites")?;
    let cipher_count = cs.left() / 2;
    let mut ciphers = Vec::new();
    while cs.left() >= 2 {
        let c = cs.u16("cipher_suite")?;
        if ciphers.len() < MAX_CIPHERS {
            ciphers.push(c);
        }
    }
    r.vec(1, "compression_methods")?;
    let mut ch = ClientHello {
        frame: at.frame,
        ts: at.ts,
        version,
        supported_versions: Vec::new(),
        sni: None,
        cipher_count,
        ciphers,
        alpn: Vec::new(),
    };
    if r.is_empty() {
        return Ok(ch);
    }
    let mut exts = r.vec(2, "extensions")?;
    while !exts.is_empty() {
        let t = exts.u16("extension_type")?;
        let mut e = exts.vec(2, "extension_data")?;
        match t {
            0 if !e.is_empty() => {
                let mut list = e.vec(2, "server_name_list")?;
                while !list.is_empty() {
                    let nt = list.u8("name_type")?;
                    let n = list.vec(2, "host_name")?;
                    if nt == 0 && ch.sni.is_none() {
                        ch.sni = Some(printable(n.rest(), 255));
                    }
                }
            }
            16 => {
                let mut list = e.vec(2, "protocol_name_list")?;
                while !list.is_empty() {
                    let p = list.vec(1, "protocol_name")?;
                    if ch.alpn.len() < 16 {
                        ch.alpn.push(printable(p.rest(), 64));
                    }
                }
            }
            43 => {
                let mut list = e.vec(1, "supported_versions")?;
                while list.left() >= 2 {
                    let v = list.u16("version")?;
                    if ch.supported_versions.len() < 32 {
                        ch.supported_versions.push(v);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(ch)
}

/// Parse a ServerHello body (RFC 8446 4.1.3); HelloRetryRequest sets `retry`.
pub fn server_hello(body: &[u8], at: At) -> Result<ServerHello, ParseError> {
    let mut r = Reader::new(body);
    let version = r.u16("server_version")?;
    let random = r.take(32, "random")?;
    r.vec(1, "session_id")?;
    let cipher = r.u16("cipher_suite")?;
    r.u8("compression_method")?;
    let mut sh = ServerHello {
        frame: at.frame,
        ts: at.ts,
        version,
        selected_version: None,
        cipher,
        alpn: None,
        retry: random == HRR_RANDOM,
    };
    if r.is_empty() {
        return Ok(sh);
    }
    let mut exts = r.vec(2, "extensions")?;
    while !exts.is_empty() {
        let t = exts.u16("extension_type")?;
        let mut e = exts.vec(2, "extension_data")?;
        match t {
            43 => sh.selected_version = Some(e.u16("selected_version")?),
            16 => {
                let mut list = e.vec(2, "protocol_name_list")?;
                let p = list.vec(1, "protocol_name")?;
                sh.alpn = Some(printable(p.rest(), 64));
            }
            _ => {}
        }
    }
    Ok(sh)
}
