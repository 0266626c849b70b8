//! NTLM (MS-NLMP 2.2.1): the three NTLMSSP messages, `"NTLMSSP\0"` + a little-endian
//! message type (1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE). Variable fields are
//! `(len u16, max u16, offset u32)` descriptors pointing into the message; strings are
//! UTF-16LE when NTLMSSP_NEGOTIATE_UNICODE is set, else OEM (read as Latin-1 here).
//! Only names are read: who logs on (user, domain, workstation), never a response value.

use crate::reader::{utf16le, ParseError, Reader};

pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const UNICODE: u32 = 0x0000_0001;

/// One NTLMSSP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NtlmMsg {
    Negotiate { flags: u32 },
    Challenge { flags: u32, target: String },
    Authenticate(Authenticate),
}

/// Who an AUTHENTICATE message logs on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authenticate {
    pub user: String,
    pub domain: String,
    pub workstation: String,
    /// Anonymous (null session): no user name and an empty NT response.
    pub anonymous: bool,
    /// NTLMv2 (NT response longer than the 24 bytes of NTLMv1).
    pub v2: bool,
    pub flags: u32,
}

impl NtlmMsg {
    /// The message type name.
    pub fn name(&self) -> &'static str {
        match self {
            NtlmMsg::Negotiate { .. } => "NEGOTIATE",
            NtlmMsg::Challenge { .. } => "CHALLENGE",
            NtlmMsg::Authenticate(_) => "AUTHENTICATE",
        }
    }
}

/// Does `b` start with the NTLMSSP signature?
pub fn is_ntlm(b: &[u8]) -> bool {
    b.starts_with(SIGNATURE)
}

/// A field descriptor's bytes (empty when it points outside the message).
fn field<'a>(
    msg: &'a [u8],
    r: &mut Reader<'a>,
    what: &'static str,
) -> Result<&'a [u8], ParseError> {
    let len = r.u16le(what)? as usize;
    r.u16le(what)?;
    let off = r.u32le(what)? as usize;
    Ok(crate::reader::slice(msg, off, len).unwrap_or(&[]))
}

fn text(b: &[u8], flags: u32) -> String {
    if flags & UNICODE != 0 {
        utf16le(b, 256)
    } else {
        b.iter().take(256).map(|&c| if c.is_ascii_control() { '.' } else { c as char }).collect()
    }
}

/// Parse one NTLMSSP message.
pub fn parse(msg: &[u8]) -> Result<NtlmMsg, ParseError> {
    let mut r = Reader::new(msg);
    if r.take(8, "NTLMSSP signature")? != SIGNATURE {
        return Err(ParseError::invalid("NTLMSSP signature", 0, "not NTLMSSP"));
    }
    match r.u32le("NTLM MessageType")? {
        1 => Ok(NtlmMsg::Negotiate { flags: r.u32le("NegotiateFlags")? }),
        2 => {
            let target = field(msg, &mut r, "TargetNameFields")?;
            let flags = r.u32le("NegotiateFlags")?;
            Ok(NtlmMsg::Challenge { flags, target: text(target, flags) })
        }
        3 => {
            let lm = field(msg, &mut r, "LmChallengeResponseFields")?;
            let nt = field(msg, &mut r, "NtChallengeResponseFields")?;
            let domain = field(msg, &mut r, "DomainNameFields")?;
            let user = field(msg, &mut r, "UserNameFields")?;
            let ws = field(msg, &mut r, "WorkstationFields")?;
            field(msg, &mut r, "EncryptedRandomSessionKeyFields")?;
            let flags = r.u32le("NegotiateFlags")?;
            Ok(NtlmMsg::Authenticate(Authenticate {
                user: text(user, flags),
                domain: text(domain, flags),
                workstation: text(ws, flags),
                anonymous: user.is_empty() && nt.is_empty() && lm.len() <= 1,
                v2: nt.len() > 24,
                flags,
            }))
        }
        t => Err(ParseError::invalid("NTLM MessageType", 8, format!("type {t}"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[test]
    fn authenticate_names() {
        // hand-made AUTHENTICATE (MS-NLMP 2.2.1.3 layout): user "bob", domain "LAB", ws "W1"
        let mut m = b"NTLMSSP\0\x03\0\0\0".to_vec();
        let payload_at = 64u32;
        let dom: Vec<u8> = "LAB".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let usr: Vec<u8> = "bob".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let ws: Vec<u8> = "W1".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let nt = [7u8; 48];
        let mut payload = Vec::new();
        let desc = |b: &[u8], payload: &mut Vec<u8>| {
            let off = payload_at + payload.len() as u32;
            payload.extend_from_slice(b);
            let mut d = (b.len() as u16).to_le_bytes().to_vec();
            d.extend((b.len() as u16).to_le_bytes());
            d.extend(off.to_le_bytes());
            d
        };
        for b in [&[][..], &nt, &dom, &usr, &ws, &[]] {
            let d = desc(b, &mut payload);
            m.extend(d);
        }
        m.extend(1u32.to_le_bytes());
        m.extend(payload);
        let NtlmMsg::Authenticate(a) = parse(&m).unwrap() else { panic!("type") };
        assert_eq!(
            (a.user.as_str(), a.domain.as_str(), a.workstation.as_str()),
            ("bob", "LAB", "W1")
        );
        assert!(a.v2 && !a.anonymous);
        for n in 0..m.len() {
            let _ = parse(&m[..n]);
        }
        assert!(parse(b"NTLMSSP\0\x09\0\0\0").is_err());
    }
}
