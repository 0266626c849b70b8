//! GSS-API tokens (RFC 2743 §3.1) and SPNEGO (RFC 4178) as carried in SMB2 SESSION_SETUP
//! security buffers, LDAP SASL binds, HTTP `Negotiate` headers and DCE/RPC auth verifiers:
//! unwraps them down to the mechanism token that says who logs on (an NTLMSSP message or a
//! Kerberos AP-REQ / AP-REP / KRB-ERROR) and the SPNEGO verdict (`negState`).
//!
//! `InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE { thisMech OID, innerToken }`;
//! SPNEGO's inner token is `NegTokenInit [0]`, later legs are bare `NegTokenResp [1]`; the
//! Kerberos inner token is a 2-byte TOK_ID (01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR)
//! followed by the Kerberos message.

use crate::ber::{self, BerError, Reader};

pub const OID_SPNEGO: &str = "1.3.6.1.5.5.2";
pub const OID_KRB5: &str = "1.2.840.113554.1.2.2";
pub const OID_MS_KRB5: &str = "1.2.840.48018.1.2.2";
pub const OID_NTLM: &str = "1.3.6.1.4.1.311.2.2.10";

/// What a security token carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Token<'a> {
    /// An NTLMSSP message.
    pub ntlm: Option<&'a [u8]>,
    /// A Kerberos message (AP-REQ, AP-REP or KRB-ERROR).
    pub krb: Option<&'a [u8]>,
    /// SPNEGO negState: 0 accept-completed, 1 accept-incomplete, 2 reject, 3 request-mic.
    pub neg_state: Option<i64>,
    /// Mechanisms offered (NegTokenInit) or chosen (NegTokenResp), as names.
    pub mechs: Vec<&'static str>,
}

/// A mechanism OID's short name.
pub fn mech_name(oid: &str) -> &'static str {
    match oid {
        OID_KRB5 | OID_MS_KRB5 => "Kerberos",
        OID_NTLM => "NTLM",
        OID_SPNEGO => "SPNEGO",
        "1.2.840.113554.1.2.2.3" => "Kerberos user-to-user",
        "1.3.6.1.4.1.311.2.2.30" => "NEGOEX",
        _ => "other",
    }
}

/// Unwrap a security token. Depth-limited (SPNEGO inside SPNEGO is refused after 3 levels).
pub fn unwrap(b: &[u8]) -> Result<Token<'_>, BerError> {
    let mut t = Token::default();
    walk(b, &mut t, 0)?;
    Ok(t)
}

fn walk<'a>(b: &'a [u8], t: &mut Token<'a>, depth: u8) -> Result<(), BerError> {
    if depth > 3 {
        return Err(BerError { offset: 0, what: "security tokens nested too deep".into() });
    }
    if crate::ntlm::is_ntlm(b) {
        t.ntlm = Some(b);
        return Ok(());
    }
    match b.first() {
        Some(0x60) => {
            let outer = Reader::new(b).read()?;
            let mut r = outer.reader();
            let oid = r.read_expected(ber::OID, "thisMech")?.oid()?;
            let rest = outer.value.get(r.offset().saturating_sub(outer.offset)..).unwrap_or(&[]);
            match oid.as_str() {
                OID_SPNEGO => walk(rest, t, depth + 1),
                OID_KRB5 | OID_MS_KRB5 => {
                    t.mechs.push("Kerberos");
                    t.krb = rest.get(2..);
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        Some(0xa0) => neg_init(b, t, depth),
        Some(0xa1) => neg_resp(b, t, depth),
        // a bare Kerberos message (raw KRB5 in some LDAP SASL / HTTP stacks)
        Some(0x6e | 0x6f | 0x7e) => {
            t.krb = Some(b);
            Ok(())
        }
        _ => Ok(()),
    }
}

fn neg_init<'a>(b: &'a [u8], t: &mut Token<'a>, depth: u8) -> Result<(), BerError> {
    let outer = Reader::new(b).read()?;
    let seq = outer.reader().read_expected(ber::SEQUENCE, "NegTokenInit")?;
    let mut r = seq.reader();
    while !r.is_empty() {
        let f = r.read()?;
        match f.tag {
            0xa0 => {
                let mut m = f.reader().read_expected(ber::SEQUENCE, "mechTypes")?.reader();
                while !m.is_empty() && t.mechs.len() < 8 {
                    t.mechs.push(mech_name(&m.read()?.oid()?));
                }
            }
            0xa2 => {
                let tok = f.reader().read_expected(ber::OCTET_STRING, "mechToken")?;
                walk(tok.value, t, depth + 1)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn neg_resp<'a>(b: &'a [u8], t: &mut Token<'a>, depth: u8) -> Result<(), BerError> {
    let outer = Reader::new(b).read()?;
    let seq = outer.reader().read_expected(ber::SEQUENCE, "NegTokenResp")?;
    let mut r = seq.reader();
    while !r.is_empty() {
        let f = r.read()?;
        match f.tag {
            0xa0 => t.neg_state = Some(f.reader().read()?.int()?),
            0xa1 => {
                let m = mech_name(&f.reader().read()?.oid()?);
                if t.mechs.len() < 8 {
                    t.mechs.push(m);
                }
            }
            0xa2 => {
                let tok = f.reader().read_expected(ber::OCTET_STRING, "responseToken")?;
                walk(tok.value, t, depth + 1)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// negState name.
pub fn neg_state_name(s: i64) -> &'static str {
    match s {
        0 => "accept-completed",
        1 => "accept-incomplete",
        2 => "reject",
        3 => "request-mic",
        _ => "unknown negState",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[test]
    fn unwraps_spnego_ntlm() {
        let ntlm = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2".to_vec();
        let mech = ber::cons(ber::SEQUENCE, &[&ber::oid(OID_NTLM)]);
        let init = ber::cons(
            ber::SEQUENCE,
            &[&ber::tlv(0xa0, &mech), &ber::tlv(0xa2, &ber::tlv(ber::OCTET_STRING, &ntlm))],
        );
        let tok = ber::cons(0x60, &[&ber::oid(OID_SPNEGO), &ber::tlv(0xa0, &init)]);
        let t = unwrap(&tok).unwrap();
        assert_eq!(t.ntlm, Some(&ntlm[..]));
        assert_eq!(t.mechs, vec!["NTLM"]);
        let resp = ber::tlv(
            0xa1,
            &ber::cons(ber::SEQUENCE, &[&ber::tlv(0xa0, &ber::int(ber::ENUMERATED, 2))]),
        );
        assert_eq!(unwrap(&resp).unwrap().neg_state, Some(2));
        for n in 0..tok.len() {
            let _ = unwrap(&tok[..n]);
        }
    }
}
