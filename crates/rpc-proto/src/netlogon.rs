//! Netlogon (MS-NRPC) secure channel setup requests, decoded for what troubleshooting and the
//! Zerologon check (CVE-2020-1472) need.
//!
//! `NetrServerAuthenticate` (opnum 5), `NetrServerAuthenticate2` (15) and
//! `NetrServerAuthenticate3` (26) carry, in NDR 2.0 (MS-NRPC 3.5.4.4.1-3):
//!
//! ```text
//! [in, unique, string] wchar_t *PrimaryName        referent id u32; if not 0: max, offset,
//!                                                  actual (u32 each), actual UTF-16 units
//! [in, string] wchar_t *AccountName                (ref pointer: no referent id) same string
//! [in] NETLOGON_SECURE_CHANNEL_TYPE SecureChannelType   enum: u16 on the wire (aligned 2)
//! [in, string] wchar_t *ComputerName               string (aligned 4)
//! [in] NETLOGON_CREDENTIAL *ClientCredential       8 bytes
//! [in, out] ULONG *NegotiateFlags                  u32 (aligned 4); opnums 15 and 26 only
//! ```
//!
//! In NDR64 (MS-RPCE 2.2.5) the referent id and the three string counts are 8 bytes (aligned
//! 8) and the enum is 4 bytes; the rest is the same.
//!
//! Zerologon sends an all-zero ClientCredential (with an all-zero client challenge, AES-CFB8
//! with a zero IV encrypts zeros to zeros for 1 key in 256), repeating until the server
//! accepts, then typically `NetrServerPasswordSet2` (opnum 30) to empty the machine password.

use serde::Serialize;

use crate::ndr::{Drep, Reader, StubError};
use crate::uuid::Uuid;

/// The Netlogon interface (logon).
pub const NETLOGON_UUID: Uuid = Uuid::from_str_const(crate::known::NETLOGON_TEXT);
pub const OP_SERVER_AUTHENTICATE: u16 = 5;
pub const OP_SERVER_AUTHENTICATE2: u16 = 15;
pub const OP_SERVER_AUTHENTICATE3: u16 = 26;
pub const OP_SERVER_PASSWORD_SET2: u16 = 30;

/// Is this a secure channel authentication operation whose request is decoded here?
pub fn is_authenticate(opnum: u16) -> bool {
    matches!(opnum, OP_SERVER_AUTHENTICATE | OP_SERVER_AUTHENTICATE2 | OP_SERVER_AUTHENTICATE3)
}

/// The inputs of a NetrServerAuthenticate* request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerAuthenticate {
    pub primary_name: Option<String>,
    pub account_name: String,
    pub secure_channel_type: u16,
    pub computer_name: String,
    /// The 8-byte ClientCredential was all zeros (the Zerologon signature).
    pub zero_credential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiate_flags: Option<u32>,
}

/// A conformant varying UTF-16 string in NDR64: max, offset, actual as u64 (aligned 8).
fn string_utf16_64(r: &mut Reader, what: &str) -> Result<String, StubError> {
    let at = r.pos();
    let max = r.u64(what)?;
    let offset = r.u64(what)?;
    let actual = r.u64(what)?;
    if offset.checked_add(actual).is_none_or(|end| end > max) {
        return Err(StubError::new(
            format!("{what}: offset {offset} + actual count {actual} exceeds max count {max}"),
            at,
        ));
    }
    let n =
        u32::try_from(actual).map_err(|_| StubError::new(format!("{what}: count {actual}"), at))?;
    let n = r.check_count(n, 2, what)?;
    let raw = r.take(n * 2, what)?;
    Ok(crate::ndr::utf16_until_nul(raw, r.drep().little_endian))
}

/// Decodes the request stub of `opnum` (5, 15 or 26), in NDR 2.0 or NDR64.
pub fn decode_authenticate(
    opnum: u16,
    drep: Drep,
    ndr64: bool,
    stub: &[u8],
) -> Result<ServerAuthenticate, StubError> {
    let mut r = Reader::new(stub, drep);
    let string = |r: &mut Reader, what: &str| {
        if ndr64 {
            string_utf16_64(r, what)
        } else {
            r.align(4, what)?;
            r.string_utf16(what)
        }
    };
    let referent = if ndr64 {
        r.u64("PrimaryName referent")?
    } else {
        u64::from(r.u32("PrimaryName referent")?)
    };
    let primary_name = if referent != 0 { Some(string(&mut r, "PrimaryName")?) } else { None };
    let account_name = string(&mut r, "AccountName")?;
    let secure_channel_type = if ndr64 {
        u16::try_from(r.u32("SecureChannelType")?)
            .map_err(|_| r.err("SecureChannelType: more than 16 bits"))?
    } else {
        r.align(2, "SecureChannelType")?;
        r.u16("SecureChannelType")?
    };
    let computer_name = string(&mut r, "ComputerName")?;
    let cred = r.take(8, "ClientCredential")?;
    let zero_credential = cred.iter().all(|&b| b == 0);
    let negotiate_flags =
        if opnum == OP_SERVER_AUTHENTICATE { None } else { Some(r.u32("NegotiateFlags")?) };
    Ok(ServerAuthenticate {
        primary_name,
        account_name,
        secure_channel_type,
        computer_name,
        zero_credential,
        negotiate_flags,
    })
}

/// Name of a NETLOGON_SECURE_CHANNEL_TYPE (MS-NRPC 2.2.1.3.13).
pub fn secure_channel_type_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0 => "NullSecureChannel",
        1 => "MsvApSecureChannel",
        2 => "WorkstationSecureChannel",
        3 => "TrustedDnsDomainSecureChannel",
        4 => "TrustedDomainSecureChannel",
        5 => "UasServerSecureChannel",
        6 => "ServerSecureChannel",
        7 => "CdcServerSecureChannel",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndr::Writer;

    fn request(cred: [u8; 8], flags: bool) -> Vec<u8> {
        let mut w = Writer::new(Drep::LE);
        w.u32(0x0002_0000);
        w.string_utf16("\\\\DC1");
        w.string_utf16("DC1$");
        w.u16(6);
        w.string_utf16("DC1");
        for b in cred {
            w.u8(b);
        }
        if flags {
            w.u32(0x212f_ffff);
        }
        w.into_bytes()
    }

    #[test]
    fn decodes_both_layouts_and_the_credential() {
        let a = decode_authenticate(26, Drep::LE, false, &request([0; 8], true)).unwrap();
        assert_eq!(a.account_name, "DC1$");
        assert_eq!(a.computer_name, "DC1");
        assert_eq!(a.primary_name.as_deref(), Some("\\\\DC1"));
        assert_eq!(a.secure_channel_type, 6);
        assert!(a.zero_credential);
        assert_eq!(a.negotiate_flags, Some(0x212f_ffff));
        let b = decode_authenticate(5, Drep::LE, false, &request([1, 0, 0, 0, 0, 0, 0, 0], false));
        assert!(!b.unwrap().zero_credential);
    }

    #[test]
    fn short_stubs_are_errors_not_panics() {
        let full = request([0; 8], true);
        for n in 0..full.len() {
            assert!(decode_authenticate(26, Drep::LE, false, &full[..n]).is_err(), "cut at {n}");
        }
        // NDR64 reading of an NDR 2.0 stub: an error, not a panic.
        assert!(decode_authenticate(26, Drep::LE, true, &full).is_err());
    }
}
