//! LDAP result codes (RFC 4511 §4.1.9 and appendix A) and Active Directory's diagnostic
//! sub-codes: AD puts the Win32 error of a failed bind in the diagnosticMessage
//! (`80090308: LdapErr: DSID-…, comment: AcceptSecurityContext error, data 52e, v4563`).

/// The RFC 4511 name of a resultCode; unknown codes stay visible.
pub fn result_name(c: u32) -> String {
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
        n => return format!("resultCode {n}"),
    };
    s.into()
}

/// What a resultCode means for the user.
pub fn result_meaning(c: u32) -> &'static str {
    match c {
        0 => "success",
        3 => "the search ran past its time limit",
        4 => "the search returned more entries than its size limit (client -z or server MaxPageSize)",
        7 => "the server does not support this authentication method",
        8 => "the server requires a stronger authentication: LDAP signing (a signed SASL bind or LDAPS/StartTLS) is required for this bind",
        10 => "the server referred the client elsewhere",
        11 => "an administrative limit (MaxPageSize, MaxQueryDuration …) was exceeded",
        13 => "the server requires confidentiality: TLS (LDAPS or StartTLS) or a sealed SASL bind",
        32 => "the base or target object does not exist",
        34 => "the DN is syntactically invalid",
        48 => "inappropriate authentication (e.g. an anonymous or simple bind where it is not allowed)",
        49 => "invalid credentials",
        50 => "the account lacks the rights for this operation",
        51 => "the server is busy",
        52 => "the server is unavailable (e.g. shutting down, or not yet a writable DC)",
        53 => "the server is unwilling to perform the operation (policy)",
        _ => "the operation failed",
    }
}

/// resultCodes that are not failures (success, compare results, a SASL leg in progress,
/// referrals, which are judged by what follows).
pub fn result_ok(c: u32) -> bool {
    matches!(c, 0 | 5 | 6 | 10 | 14)
}

/// Active Directory's `data XXX` sub-code in a diagnosticMessage, as a Win32 error number.
pub fn ad_data_code(diag: &str) -> Option<u32> {
    let i = diag.find("data ")?;
    let hex: String =
        diag.get(i + 5..)?.chars().take_while(|c| c.is_ascii_hexdigit()).take(8).collect();
    u32::from_str_radix(&hex, 16).ok()
}

/// Name and meaning of AD's bind sub-code (Win32 errors, MS-ERREF 2.2).
pub fn ad_data_info(code: u32) -> (String, &'static str) {
    let (n, m) = match code {
        0x525 => ("ERROR_NO_SUCH_USER", "the user does not exist"),
        0x52e => ("ERROR_LOGON_FAILURE", "wrong password (or, on some servers, an unknown user)"),
        0x52f => {
            ("ERROR_ACCOUNT_RESTRICTION", "account restriction (e.g. a blank password not allowed)")
        }
        0x530 => ("ERROR_INVALID_LOGON_HOURS", "logon not permitted at this time (logon hours)"),
        0x531 => (
            "ERROR_INVALID_WORKSTATION",
            "logon not permitted from this workstation (userWorkstations)",
        ),
        0x532 => ("ERROR_PASSWORD_EXPIRED", "the password has expired"),
        0x533 => ("ERROR_ACCOUNT_DISABLED", "the account is disabled"),
        0x568 => {
            ("ERROR_TOO_MANY_CONTEXT_IDS", "the account is in too many groups (token too large)")
        }
        0x701 => ("ERROR_ACCOUNT_EXPIRED", "the account has expired"),
        0x773 => {
            ("ERROR_PASSWORD_MUST_CHANGE", "the user must change the password before logging on")
        }
        0x775 => ("ERROR_ACCOUNT_LOCKED_OUT", "the account is locked out"),
        _ => return (format!("data {code:x}"), "Active Directory bind error"),
    };
    (n.into(), m)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ad_codes() {
        let d = "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data 52e, v1db1";
        assert_eq!(ad_data_code(d), Some(0x52e));
        assert_eq!(ad_data_info(0x533).0, "ERROR_ACCOUNT_DISABLED");
        assert_eq!(ad_data_code("no data here"), None);
        assert_eq!(ad_data_code("data "), None);
        assert_eq!(result_name(49), "invalidCredentials");
        assert_eq!(result_name(99), "resultCode 99");
    }
}
