//! `ntlm.failure`: NTLM logons that were refused, wherever NTLM travelled (SMB2 session
//! setup, HTTP `Authorization: NTLM / Negotiate`, LDAP SASL / Sicily binds): the user,
//! domain and workstation from the AUTHENTICATE message and the status that answered it.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::auth::{grouped, is_failure, Spec};
use super::Facts;
use crate::{Finding, Severity, Text};

pub const ID: &str = "ntlm.failure";

fn advice(e: &AuthEvent) -> (Text, Text) {
    if e.detail.as_deref().is_some_and(|d| d.contains(tracehound_apps::auth::NTLMV1)) {
        return (
            "The client answered with NTLMv1; servers that require NTLMv2 (LmCompatibilityLevel 5, 'Network security: Restrict NTLM', Samba's default `ntlm auth = ntlmv2-only`) refuse it even with the right password.".into(),
            "Configure the client for NTLMv2 (LmCompatibilityLevel 3 or higher; for Cyrus SASL / old libraries use GSS-SPNEGO or Kerberos instead of the NTLM mechanism).".into(),
        );
    }
    let name = &*e.code_name;
    let sub = e.sub_name.as_deref().unwrap_or("");
    let (c, s): (&str, &str) = match (name, sub) {
        (_, "ERROR_ACCOUNT_DISABLED") | ("STATUS_ACCOUNT_DISABLED", _) => ("The account is disabled.", "Enable the account if it should log on (`Enable-ADAccount`), or stop whatever still uses it."),
        (_, "ERROR_ACCOUNT_LOCKED_OUT") | ("STATUS_ACCOUNT_LOCKED_OUT", _) => ("The account is locked out after too many wrong passwords.", "Find the lockout source (event 4740 on the PDC emulator names the caller computer), fix it, then unlock the account."),
        (_, "ERROR_PASSWORD_EXPIRED") | ("STATUS_PASSWORD_EXPIRED", _) | ("STATUS_PASSWORD_MUST_CHANGE", _) => ("The password has expired or must be changed.", "Change the password; for service accounts update every place that uses it."),
        ("STATUS_ACCOUNT_RESTRICTION", _) | ("STATUS_INVALID_LOGON_HOURS", _) | ("STATUS_INVALID_WORKSTATION", _) | ("STATUS_LOGON_TYPE_NOT_GRANTED", _) => ("An account restriction or user right refused this logon (logon hours, workstations, 'Access this computer from the network', Protected Users).", "Check the account's restrictions and the server's user rights assignment (secpol.msc)."),
        _ => ("Wrong password or unknown user name (STATUS_LOGON_FAILURE does not say which, on purpose).", "Check the user name and domain the client sends (evidence) and any saved credentials on the workstation named; the DC's event 4776 gives the exact error code."),
    };
    (c.into(), s.into())
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let evs: Vec<&AuthEvent> = all
        .iter()
        .filter(|e| is_failure(e) && matches!(e.mech.as_deref(), Some("NTLM" | "anonymous")))
        .filter(|e| match e.proto {
            AuthProto::Smb => e.op == "session setup",
            AuthProto::Ldap => e.op == "bind",
            AuthProto::Http => e.code == Some(401) || e.code == Some(407),
            _ => false,
        })
        .collect();
    let spec = Spec {
        id: ID,
        what: "NTLM logons",
        explain: "The server checked the NTLM response (itself or through the domain controller) and refused the logon; the account, domain and workstation come from the client's AUTHENTICATE message.",
        advice,
        severity: Severity::Problem,
        weight: 78,
    };
    let key = |e: &AuthEvent| {
        format!(
            "{}|{:?}|{:?}|{:?}|{}",
            e.code_name,
            e.account,
            e.domain,
            e.workstation,
            e.server.ip()
        )
    };
    out.extend(grouped(facts, &evs, key, &spec));
}

#[cfg(test)]
mod thresholds;
