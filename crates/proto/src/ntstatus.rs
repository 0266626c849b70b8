//! NTSTATUS values (MS-ERREF 2.3) that answer logons and resource access in SMB2, NTLM and
//! DCE/RPC, with what each means for the user. Unknown values stay visible as hex.

/// Name and meaning; `None` for values not in this table.
pub fn auth_info(s: u32) -> Option<(&'static str, &'static str)> {
    Some(match s {
        0x0000_0000 => ("STATUS_SUCCESS", "success"),
        0xc000_0016 => ("STATUS_MORE_PROCESSING_REQUIRED", "another authentication leg follows (normal)"),
        0xc000_0022 => ("STATUS_ACCESS_DENIED", "access denied: the account lacks the permission (share or NTFS ACL, or a policy such as RestrictNullSessAccess)"),
        0xc000_005e => ("STATUS_NO_LOGON_SERVERS", "no domain controller was available to check the logon"),
        0xc000_0064 => ("STATUS_NO_SUCH_USER", "the account does not exist"),
        0xc000_006a => ("STATUS_WRONG_PASSWORD", "wrong password"),
        0xc000_006d => ("STATUS_LOGON_FAILURE", "unknown user name or bad password"),
        0xc000_006e => ("STATUS_ACCOUNT_RESTRICTION", "account restriction (blank password, logon type or protected-users limits)"),
        0xc000_006f => ("STATUS_INVALID_LOGON_HOURS", "logon not permitted at this time (logon hours)"),
        0xc000_0070 => ("STATUS_INVALID_WORKSTATION", "logon not permitted from this workstation"),
        0xc000_0071 => ("STATUS_PASSWORD_EXPIRED", "the password has expired"),
        0xc000_0072 => ("STATUS_ACCOUNT_DISABLED", "the account is disabled"),
        0xc000_00cc => ("STATUS_BAD_NETWORK_NAME", "the share name does not exist on this server"),
        0xc000_00c9 => ("STATUS_NETWORK_NAME_DELETED", "the share or session was removed"),
        0xc000_00bb => ("STATUS_NOT_SUPPORTED", "not supported by the server (e.g. a dialect or SMB1 disabled)"),
        0xc000_0034 => ("STATUS_OBJECT_NAME_NOT_FOUND", "no such file or pipe (the named pipe's service is not running or not offered)"),
        0xc000_015b => ("STATUS_LOGON_TYPE_NOT_GRANTED", "the account is not granted network logon (\"Access this computer from the network\" / deny logon rights)"),
        0xc000_0193 => ("STATUS_ACCOUNT_EXPIRED", "the account has expired"),
        0xc000_0199 => ("STATUS_NOLOGON_WORKSTATION_TRUST_ACCOUNT", "a workstation trust account cannot log on this way"),
        0xc000_018d => ("STATUS_TRUSTED_RELATIONSHIP_FAILURE", "the trust relationship between this computer and the domain failed"),
        0xc000_018b => ("STATUS_NO_TRUST_SAM_ACCOUNT", "the domain has no computer account for this machine (trust broken)"),
        0xc000_0224 => ("STATUS_PASSWORD_MUST_CHANGE", "the user must change the password before logging on"),
        0xc000_0234 => ("STATUS_ACCOUNT_LOCKED_OUT", "the account is locked out"),
        0xc000_0203 => ("STATUS_USER_SESSION_DELETED", "the session was deleted (expired or logged off)"),
        0xc000_035c => ("STATUS_NETWORK_SESSION_EXPIRED", "the session expired (Kerberos ticket lifetime)"),
        0xc000_0388 => ("STATUS_DOWNGRADE_DETECTED", "a downgrade of the authentication was detected"),
        0xc000_0413 => ("STATUS_AUTHENTICATION_FIREWALL_FAILED", "the authentication firewall (selective authentication) refused the logon"),
        0xc000_0225 => ("STATUS_NOT_FOUND", "not found"),
        0xc000_0236 => ("STATUS_CONNECTION_REFUSED", "the server refused the open (e.g. the root of IPC$, which is not a pipe)"),
        0xc000_00c3 => ("STATUS_INVALID_NETWORK_RESPONSE", "invalid network response"),
        0xc000_0010 => ("STATUS_INVALID_DEVICE_REQUEST", "invalid device request"),
        0xc000_000d => ("STATUS_INVALID_PARAMETER", "invalid parameter (e.g. a signing or dialect mismatch)"),
        0xc000_0061 => ("STATUS_PRIVILEGE_NOT_HELD", "a required privilege is not held"),
        0xc000_00a2 => ("STATUS_MEDIA_WRITE_PROTECTED", "the share is read-only"),
        _ => return None,
    })
}

/// Is this NTSTATUS a logon (authentication) failure rather than an access decision?
pub fn is_logon_failure(s: u32) -> bool {
    matches!(
        s,
        0xc000_005e
            | 0xc000_0064
            | 0xc000_006a
            | 0xc000_006d
            | 0xc000_006e
            | 0xc000_006f
            | 0xc000_0070
            | 0xc000_0071
            | 0xc000_0072
            | 0xc000_015b
            | 0xc000_0193
            | 0xc000_0199
            | 0xc000_018d
            | 0xc000_018b
            | 0xc000_0224
            | 0xc000_0234
            | 0xc000_0413
    )
}

/// `(name, meaning)`, with unknown values as hex.
pub fn info(s: u32) -> (String, &'static str) {
    match auth_info(s) {
        Some((n, m)) => (n.to_string(), m),
        None => (format!("0x{s:08x}"), if s >> 30 == 3 { "error" } else { "status" }),
    }
}
