//! Kerberos V5 (RFC 4120 §5, MS-KILE): the cleartext parts of KDC exchanges that say who
//! asked for what and why it failed. Messages are DER `[APPLICATION n]` structures:
//! AS-REQ 10, AS-REP 11, TGS-REQ 12, TGS-REP 13, AP-REQ 14, AP-REP 15, KRB-ERROR 30.
//! Over TCP each message is preceded by a 4-byte big-endian length (RFC 4120 §7.2.2); over
//! UDP a datagram is one message. Encrypted parts are not read.

use crate::ber::{self, BerError, Reader, Tlv};

/// What one Kerberos message says (the cleartext fields that matter).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KrbMsg {
    /// The APPLICATION tag number (10 AS-REQ … 30 KRB-ERROR).
    pub msg_type: u8,
    /// Client principal (`user`, `host/name`) and realm.
    pub cname: Option<String>,
    pub crealm: Option<String>,
    /// Service principal and its realm.
    pub sname: Option<String>,
    pub realm: Option<String>,
    /// KRB-ERROR only.
    pub error_code: Option<i64>,
    pub e_text: Option<String>,
    /// KRB-ERROR: server time and the client time it echoes (Unix seconds).
    pub stime: Option<i64>,
    pub ctime: Option<i64>,
    /// Requests: encryption types offered.
    pub etypes: Vec<i64>,
    /// AS-REQ carried PA-ENC-TIMESTAMP (a password-based pre-authentication attempt).
    pub pa_enc_timestamp: bool,
}

/// The name of a message type.
pub fn msg_name(t: u8) -> &'static str {
    match t {
        10 => "AS-REQ",
        11 => "AS-REP",
        12 => "TGS-REQ",
        13 => "TGS-REP",
        14 => "AP-REQ",
        15 => "AP-REP",
        30 => "KRB-ERROR",
        _ => "Kerberos message",
    }
}

/// Parse one Kerberos message (no TCP length prefix).
pub fn parse(b: &[u8]) -> Result<KrbMsg, BerError> {
    let mut r = Reader::new(b);
    let outer = r.read()?;
    if outer.tag & 0xe0 != 0x60 {
        return Err(BerError {
            offset: 0,
            what: format!("tag 0x{:02x} is not a Kerberos APPLICATION tag", outer.tag),
        });
    }
    let t = outer.tag & 0x1f;
    let mut m = KrbMsg { msg_type: t, ..KrbMsg::default() };
    let seq = outer.reader().read_expected(ber::SEQUENCE, msg_name(t))?;
    match t {
        10 | 12 => kdc_req(&seq, &mut m)?,
        11 | 13 => kdc_rep(&seq, &mut m)?,
        14 => ap_req(&seq, &mut m)?,
        30 => krb_error(&seq, &mut m)?,
        15 => {}
        _ => return Err(BerError { offset: 0, what: format!("APPLICATION {t} is not Kerberos") }),
    }
    Ok(m)
}

/// The fields of a SEQUENCE of context-tagged members: `f(n, tlv)` for each `[n]`.
fn fields<'a>(
    seq: &Tlv<'a>,
    mut f: impl FnMut(u8, &Tlv<'a>) -> Result<(), BerError>,
) -> Result<(), BerError> {
    let mut r = seq.reader();
    let mut n = 0;
    while !r.is_empty() && n < 64 {
        let t = r.read()?;
        if t.tag & 0xe0 == 0xa0 {
            f(t.tag & 0x1f, &t)?;
        }
        n += 1;
    }
    Ok(())
}

/// The single TLV inside an explicit `[n]` tag.
fn inner<'a>(t: &Tlv<'a>) -> Result<Tlv<'a>, BerError> {
    t.reader().read()
}

fn string(t: &Tlv) -> Result<String, BerError> {
    Ok(crate::reader::printable(inner(t)?.value, 256))
}

fn int(t: &Tlv) -> Result<i64, BerError> {
    inner(t)?.int()
}

/// `PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF
/// KerberosString }` as `a/b/c`.
fn principal(t: &Tlv) -> Result<String, BerError> {
    let seq = inner(t)?;
    let mut parts = Vec::new();
    fields(&seq, |n, f| {
        if n == 1 {
            let mut r = inner(f)?.reader();
            while !r.is_empty() && parts.len() < 8 {
                parts.push(crate::reader::printable(r.read()?.value, 128));
            }
        }
        Ok(())
    })?;
    Ok(parts.join("/"))
}

/// KerberosTime (GeneralizedTime `YYYYMMDDHHMMSSZ`) as Unix seconds.
pub fn time(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    let d = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, mo, da, h, mi, se) = (d(0, 4)?, d(4, 6)?, d(6, 8)?, d(8, 10)?, d(10, 12)?, d(12, 14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // days from civil (H. Hinnant)
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

fn ktime(t: &Tlv) -> Result<Option<i64>, BerError> {
    Ok(time(inner(t)?.value))
}

fn kdc_req(seq: &Tlv, m: &mut KrbMsg) -> Result<(), BerError> {
    fields(seq, |n, f| {
        match n {
            3 => {
                // padata: SEQUENCE OF PA-DATA { padata-type [1], padata-value [2] }
                let mut r = inner(f)?.reader();
                let mut k = 0;
                while !r.is_empty() && k < 32 {
                    let pa = r.read()?;
                    fields(&pa, |pn, pf| {
                        if pn == 1 && int(pf)? == 2 {
                            m.pa_enc_timestamp = true;
                        }
                        Ok(())
                    })?;
                    k += 1;
                }
            }
            4 => {
                let body = inner(f)?;
                fields(&body, |bn, bf| {
                    match bn {
                        1 => m.cname = Some(principal(bf)?),
                        2 => m.realm = Some(string(bf)?),
                        3 => m.sname = Some(principal(bf)?),
                        8 => {
                            let mut r = inner(bf)?.reader();
                            while !r.is_empty() && m.etypes.len() < 32 {
                                m.etypes.push(r.read()?.int()?);
                            }
                        }
                        _ => {}
                    }
                    Ok(())
                })?;
            }
            _ => {}
        }
        Ok(())
    })
}

/// `Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] }`
fn ticket(t: &Tlv, m: &mut KrbMsg) -> Result<(), BerError> {
    let app = inner(t)?;
    let seq = app.reader().read_expected(ber::SEQUENCE, "Ticket")?;
    fields(&seq, |n, f| {
        match n {
            1 => m.realm = Some(string(f)?),
            2 => m.sname = Some(principal(f)?),
            _ => {}
        }
        Ok(())
    })
}

fn kdc_rep(seq: &Tlv, m: &mut KrbMsg) -> Result<(), BerError> {
    fields(seq, |n, f| {
        match n {
            3 => m.crealm = Some(string(f)?),
            4 => m.cname = Some(principal(f)?),
            5 => ticket(f, m)?,
            _ => {}
        }
        Ok(())
    })
}

fn ap_req(seq: &Tlv, m: &mut KrbMsg) -> Result<(), BerError> {
    fields(seq, |n, f| {
        if n == 3 {
            ticket(f, m)?;
        }
        Ok(())
    })
}

fn krb_error(seq: &Tlv, m: &mut KrbMsg) -> Result<(), BerError> {
    fields(seq, |n, f| {
        match n {
            2 => m.ctime = ktime(f)?,
            4 => m.stime = ktime(f)?,
            6 => m.error_code = Some(int(f)?),
            7 => m.crealm = Some(string(f)?),
            8 => m.cname = Some(principal(f)?),
            9 => m.realm = Some(string(f)?),
            10 => m.sname = Some(principal(f)?),
            11 => m.e_text = Some(string(f)?),
            _ => {}
        }
        Ok(())
    })
}

/// Name and meaning of a KRB-ERROR code (RFC 4120 §7.5.9, MS-KILE 3.1.5.x, RFC 6113).
/// Unknown codes stay visible as numbers.
pub fn error_info(code: i64) -> (String, &'static str) {
    let (n, m) = match code {
        0 => ("KDC_ERR_NONE", "no error"),
        1 => ("KDC_ERR_NAME_EXP", "the client's entry in the KDC database has expired"),
        2 => ("KDC_ERR_SERVICE_EXP", "the server's entry in the KDC database has expired"),
        3 => ("KDC_ERR_BAD_PVNO", "requested Kerberos version is not supported"),
        6 => ("KDC_ERR_C_PRINCIPAL_UNKNOWN", "the client (account) is not known to the KDC: misspelt or deleted account, or the wrong realm"),
        7 => ("KDC_ERR_S_PRINCIPAL_UNKNOWN", "the service principal name (SPN) is not registered on any account, or registered on several (duplicate SPN)"),
        8 => ("KDC_ERR_PRINCIPAL_NOT_UNIQUE", "several accounts carry this principal name"),
        9 => ("KDC_ERR_NULL_KEY", "the account has no key (no password set)"),
        10 => ("KDC_ERR_CANNOT_POSTDATE", "ticket not eligible for postdating"),
        11 => ("KDC_ERR_NEVER_VALID", "requested start time is later than the end time"),
        12 => ("KDC_ERR_POLICY", "refused by policy: logon hours, workstation restrictions, authentication policy silo, or a smart card required"),
        13 => ("KDC_ERR_BADOPTION", "the KDC cannot honour a requested option (often constrained delegation not allowed for this service)"),
        14 => ("KDC_ERR_ETYPE_NOSUPP", "no common encryption type: the client, the account or the service key supports none of the offered etypes (RC4 / AES mismatch)"),
        15 => ("KDC_ERR_SUMTYPE_NOSUPP", "checksum type not supported"),
        16 => ("KDC_ERR_PADATA_TYPE_NOSUPP", "pre-authentication type not supported (e.g. smart card logon not configured on the KDC)"),
        17 => ("KDC_ERR_TRTYPE_NOSUPP", "transited type not supported"),
        18 => ("KDC_ERR_CLIENT_REVOKED", "the account is disabled, locked out or expired"),
        19 => ("KDC_ERR_SERVICE_REVOKED", "the service account's credentials have been revoked"),
        20 => ("KDC_ERR_TGT_REVOKED", "the TGT has been revoked"),
        21 => ("KDC_ERR_CLIENT_NOTYET", "the account is not yet valid"),
        22 => ("KDC_ERR_SERVICE_NOTYET", "the service is not yet valid"),
        23 => ("KDC_ERR_KEY_EXPIRED", "the password has expired and must be changed"),
        24 => ("KDC_ERR_PREAUTH_FAILED", "pre-authentication failed: wrong password"),
        25 => ("KDC_ERR_PREAUTH_REQUIRED", "pre-authentication required (the normal first answer to an AS-REQ)"),
        26 => ("KDC_ERR_SERVER_NOMATCH", "the ticket is not for this server"),
        27 => ("KDC_ERR_MUST_USE_USER2USER", "the server principal is valid for user-to-user only"),
        28 => ("KDC_ERR_PATH_NOT_ACCEPTED", "the KDC policy rejects the transit path"),
        29 => ("KDC_ERR_SVC_UNAVAILABLE", "the KDC service is unavailable"),
        31 => ("KRB_AP_ERR_BAD_INTEGRITY", "integrity check failed: the service's key does not match the ticket (stale machine or service account password)"),
        32 => ("KRB_AP_ERR_TKT_EXPIRED", "the ticket has expired"),
        33 => ("KRB_AP_ERR_TKT_NYV", "the ticket is not yet valid"),
        34 => ("KRB_AP_ERR_REPEAT", "replay detected"),
        35 => ("KRB_AP_ERR_NOT_US", "the ticket is not for us"),
        36 => ("KRB_AP_ERR_BADMATCH", "ticket and authenticator do not match"),
        37 => ("KRB_AP_ERR_SKEW", "clock skew too great: client and server clocks differ by more than the allowed 5 minutes"),
        38 => ("KRB_AP_ERR_BADADDR", "incorrect network address in the ticket"),
        39 => ("KRB_AP_ERR_BADVERSION", "protocol version mismatch"),
        40 => ("KRB_AP_ERR_MSG_TYPE", "invalid message type"),
        41 => ("KRB_AP_ERR_MODIFIED", "message stream modified: the service cannot decrypt the ticket (SPN on the wrong account, or a stale service password)"),
        42 => ("KRB_AP_ERR_BADORDER", "message out of order"),
        44 => ("KRB_AP_ERR_BADKEYVER", "the key version is not available"),
        45 => ("KRB_AP_ERR_NOKEY", "the service key is not available"),
        46 => ("KRB_AP_ERR_MUT_FAIL", "mutual authentication failed"),
        47 => ("KRB_AP_ERR_BADDIRECTION", "incorrect message direction"),
        48 => ("KRB_AP_ERR_METHOD", "alternative authentication method required"),
        49 => ("KRB_AP_ERR_BADSEQ", "incorrect sequence number"),
        50 => ("KRB_AP_ERR_INAPP_CKSUM", "inappropriate checksum type"),
        51 => ("KRB_AP_PATH_NOT_ACCEPTED", "the desired path is unreachable"),
        52 => ("KRB_ERR_RESPONSE_TOO_BIG", "the answer does not fit in UDP: the client must retry over TCP"),
        60 => ("KRB_ERR_GENERIC", "generic error (the e-text says more)"),
        61 => ("KRB_ERR_FIELD_TOOLONG", "a field is too long for this implementation"),
        62 => ("KDC_ERR_CLIENT_NOT_TRUSTED", "the client certificate is not trusted (PKINIT)"),
        63 => ("KDC_ERR_KDC_NOT_TRUSTED", "the KDC certificate is not trusted (PKINIT)"),
        64 => ("KDC_ERR_INVALID_SIG", "invalid signature (PKINIT)"),
        65 => ("KDC_ERR_KEY_TOO_WEAK", "key too weak (PKINIT)"),
        66 => ("KDC_ERR_CERTIFICATE_MISMATCH", "certificate does not match (PKINIT)"),
        67 => ("KRB_AP_ERR_NO_TGT", "no TGT available to validate user-to-user"),
        68 => ("KDC_ERR_WRONG_REALM", "wrong realm: the client should ask another realm's KDC (referral)"),
        69 => ("KRB_AP_ERR_USER_TO_USER_REQUIRED", "user-to-user authentication required"),
        70 => ("KDC_ERR_CANT_VERIFY_CERTIFICATE", "the KDC cannot verify the client certificate (PKINIT)"),
        71 => ("KDC_ERR_INVALID_CERTIFICATE", "invalid client certificate (PKINIT)"),
        72 => ("KDC_ERR_REVOKED_CERTIFICATE", "revoked client certificate (PKINIT)"),
        73 => ("KDC_ERR_REVOCATION_STATUS_UNKNOWN", "certificate revocation status unknown (PKINIT)"),
        74 => ("KDC_ERR_REVOCATION_STATUS_UNAVAILABLE", "certificate revocation status unavailable (PKINIT)"),
        75 => ("KDC_ERR_CLIENT_NAME_MISMATCH", "client name does not match the certificate (PKINIT)"),
        76 => ("KDC_ERR_KDC_NAME_MISMATCH", "KDC name mismatch (PKINIT)"),
        91 => ("KDC_ERR_MORE_PREAUTH_DATA_REQUIRED", "more pre-authentication data required (FAST)"),
        92 => ("KDC_ERR_PREAUTH_EXPIRED", "pre-authentication data expired"),
        93 => ("KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS", "unsupported critical FAST options"),
        _ => return (format!("KRB error {code}"), "unknown Kerberos error code"),
    };
    (n.to_string(), m)
}

/// Errors that are a normal step of an exchange, not a failure: PREAUTH_REQUIRED (the
/// client retries with pre-authentication) and RESPONSE_TOO_BIG (it retries over TCP) are
/// only failures when nothing follows.
pub fn is_normal_step(code: i64) -> bool {
    matches!(code, 25 | 52 | 91)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[test]
    fn times_and_names() {
        assert_eq!(time(b"19700101000000Z"), Some(0));
        assert_eq!(time(b"20231114221320Z"), Some(1_700_000_000));
        assert_eq!(time(b"2023111422"), None);
        assert_eq!(time(b"20231314221320Z"), None);
        assert_eq!(error_info(24).0, "KDC_ERR_PREAUTH_FAILED");
        assert_eq!(error_info(999).0, "KRB error 999");
        assert!(parse(&[0x7e, 0x03, 0x30, 0x01]).is_err());
        assert!(parse(&[0x04, 0x00]).is_err());
        for n in 0..8 {
            let _ = parse(&[0x7e, 0x06, 0x30, 0x04, 0xa6, 0x02, 0x02, 0x00][..n]);
        }
    }
}
