//! Credentials carried in the auth verifier (MS-NLMP 2.2.1).
//!
//! An NTLMSSP message starts with `NTLMSSP\0` and a little-endian `MessageType` (1 negotiate,
//! 2 challenge, 3 authenticate). The AUTHENTICATE message names the user: each string is a
//! field descriptor `(len u16, maxlen u16, offset u32)` pointing into the message, at offsets
//! 28 (domain), 36 (user), 44 (workstation); `NegotiateFlags` at 60 says UTF-16LE (bit 0,
//! NTLMSSP_NEGOTIATE_UNICODE) or OEM. With SPNEGO (auth_type 9) the NTLMSSP message sits
//! inside the ASN.1 wrapping; we locate it by its signature.

/// The NTLMSSP signature.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// Longest string we keep from a message (characters); longer ones are cut.
const MAX_CHARS: usize = 256;

/// Who authenticated, from an NTLMSSP AUTHENTICATE message.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NtlmAuth {
    pub domain: String,
    pub user: String,
    pub workstation: String,
}

impl NtlmAuth {
    /// `domain\user`, or just `user` when the domain is empty.
    pub fn display(&self) -> String {
        if self.domain.is_empty() {
            self.user.clone()
        } else {
            format!("{}\\{}", self.domain, self.user)
        }
    }
}

/// Why an NTLMSSP message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("no NTLMSSP signature")]
    NoSignature,
    #[error("NTLMSSP message truncated at offset {0}")]
    Short(usize),
    #[error("NTLMSSP {what} field points outside the message (offset {offset}, length {len}, message {have} bytes)")]
    Field { what: &'static str, offset: u32, len: u16, have: usize },
}

/// Finds an NTLMSSP message in an auth value (raw NTLMSSP or wrapped in SPNEGO) and returns
/// it from its signature on.
pub fn find_ntlmssp(value: &[u8]) -> Option<&[u8]> {
    let pos = value.windows(SIGNATURE.len()).take(4096).position(|w| w == SIGNATURE)?;
    value.get(pos..)
}

/// The NTLMSSP message type (1, 2, 3), if `msg` starts with the signature.
pub fn message_type(msg: &[u8]) -> Option<u32> {
    if msg.get(..8)? != SIGNATURE {
        return None;
    }
    Some(u32::from_le_bytes(msg.get(8..12)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Result<u16, Error> {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or(Error::Short(at))
}
fn le32(b: &[u8], at: usize) -> Result<u32, Error> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(Error::Short(at))
}

fn string_field(msg: &[u8], at: usize, what: &'static str, unicode: bool) -> Result<String, Error> {
    let len = le16(msg, at)?;
    let offset = le32(msg, at + 4)?;
    if len == 0 {
        return Ok(String::new());
    }
    let bytes = (offset as usize)
        .checked_add(len as usize)
        .and_then(|end| msg.get(offset as usize..end))
        .ok_or(Error::Field { what, offset, len, have: msg.len() })?;
    Ok(if unicode {
        let units = bytes
            .chunks_exact(2)
            .take(MAX_CHARS)
            .filter_map(|c| c.try_into().ok())
            .map(u16::from_le_bytes);
        char::decode_utf16(units).map(|r| r.unwrap_or('\u{fffd}')).collect()
    } else {
        bytes
            .iter()
            .take(MAX_CHARS)
            .map(|&c| if c.is_ascii() { c as char } else { '\u{fffd}' })
            .collect()
    })
}

/// Parses an AUTHENTICATE message (type 3) starting at the signature.
pub fn parse_authenticate(msg: &[u8]) -> Result<NtlmAuth, Error> {
    if msg.get(..8) != Some(SIGNATURE.as_slice()) {
        return Err(Error::NoSignature);
    }
    // NegotiateFlags is at 60; old messages without it are OEM only in theory, but every
    // stack we meet sets it.
    let flags = le32(msg, 60).unwrap_or(1);
    let unicode = flags & 1 != 0;
    Ok(NtlmAuth {
        domain: string_field(msg, 28, "DomainName", unicode)?,
        user: string_field(msg, 36, "UserName", unicode)?,
        workstation: string_field(msg, 44, "Workstation", unicode)?,
    })
}

/// From an auth verifier value: the AUTHENTICATE message's names, if it carries one.
pub fn user_from_auth_value(value: &[u8]) -> Option<Result<NtlmAuth, Error>> {
    let msg = find_ntlmssp(value)?;
    (message_type(msg)? == 3).then(|| parse_authenticate(msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(domain: &str, user: &str, ws: &str) -> Vec<u8> {
        let enc = |s: &str| s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect::<Vec<u8>>();
        let (d, u, w) = (enc(domain), enc(user), enc(ws));
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&3u32.to_le_bytes());
        let mut off = 64u32;
        let mut fields = Vec::new();
        for s in [&[][..], &[][..], &d[..], &u[..], &w[..], &[][..]] {
            fields.extend_from_slice(&(s.len() as u16).to_le_bytes());
            fields.extend_from_slice(&(s.len() as u16).to_le_bytes());
            fields.extend_from_slice(&off.to_le_bytes());
            off += s.len() as u32;
        }
        m.extend_from_slice(&fields);
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&[0; 0]);
        assert_eq!(m.len(), 64);
        m.extend_from_slice(&d);
        m.extend_from_slice(&u);
        m.extend_from_slice(&w);
        m
    }

    #[test]
    fn authenticate_names() {
        let m = build("CORP", "alice", "WS1");
        let a = parse_authenticate(&m).unwrap();
        assert_eq!(a.display(), "CORP\\alice");
        assert_eq!(a.workstation, "WS1");
        let mut wrapped = vec![0xa1, 0x81, 0x80, 0x30];
        wrapped.extend_from_slice(&m);
        assert_eq!(user_from_auth_value(&wrapped).unwrap().unwrap(), a);
    }

    #[test]
    fn lying_offsets_are_errors() {
        let mut m = build("CORP", "alice", "WS1");
        m[40..44].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert!(matches!(parse_authenticate(&m), Err(Error::Field { what: "UserName", .. })));
        assert!(matches!(parse_authenticate(&m[..30]), Err(Error::Short(_))));
    }
}
