//! `ldap.bind_failure`: LDAP binds that were refused, with Active Directory's `data XXX`
//! sub-code (52e bad password, 525 no such user, 530 logon hours, 531 workstation, 532 / 773
//! password expired / must change, 533 disabled, 701 account expired, 775 locked out),
//! strongerAuthRequired (LDAP signing required), confidentialityRequired.
//! `ldap.error`: other operations that failed — StartTLS refused, searches that failed or hit
//! a limit, busy / unavailable servers, referrals, protocol errors.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::auth::{grouped, is_failure, Spec};
use super::Facts;
use crate::{Finding, Severity, Text};

pub const BIND: &str = "ldap.bind_failure";
pub const ERROR: &str = "ldap.error";

fn bind_advice(e: &AuthEvent) -> (Text, Text) {
    let (c, s): (&str, &str) = match (e.code, e.sub_code) {
        (Some(8), _) => ("The DC requires LDAP signing (\"Domain controller: LDAP server signing requirements\" = Require signing): simple or unsigned SASL binds over plain LDAP are refused.", "Make the client bind with signing (SASL GSS-SPNEGO / Kerberos with integrity) or over LDAPS / StartTLS (port 636)."),
        (Some(13), _) => ("The server requires confidentiality: TLS (LDAPS or StartTLS) or a sealed SASL bind before this bind.", "Use LDAPS (636) or StartTLS, or a sealed SASL bind."),
        (Some(48), _) | (Some(7), _) => ("The authentication method is not allowed or not supported (anonymous or simple binds disabled, an unknown SASL mechanism).", "Use a supported mechanism (GSS-SPNEGO, Kerberos) or enable the method on the server."),
        (_, Some(0x525)) => ("The bind DN / user name does not exist.", "Check the bind DN or UPN the application is configured with."),
        (_, Some(0x52e)) => ("Wrong password (AD also answers 52e for some unknown users).", "Check the bind password stored in the application's configuration."),
        (_, Some(0x530)) => ("Logon hours forbid this logon now.", "Check the account's logon hours."),
        (_, Some(0x531)) => ("The account may not log on from this workstation (userWorkstations).", "Check the account's 'Log On To' list."),
        (_, Some(0x532)) | (_, Some(0x773)) => ("The password has expired or must be changed.", "Change the password and update the application's configuration; consider a managed service account."),
        (_, Some(0x533)) => ("The account is disabled.", "Enable the account or reconfigure the application to use another one."),
        (_, Some(0x701)) => ("The account has expired.", "Extend the account's expiry date."),
        (_, Some(0x775)) => ("The account is locked out.", "Find the lockout source (event 4740), fix it, unlock the account."),
        _ => ("The server refused the bind (see the result and diagnosticMessage).", "Check the bind DN, the password and the server's requirements (signing, TLS)."),
    };
    (c.into(), s.into())
}

fn error_advice(e: &AuthEvent) -> (Text, Text) {
    let (c, s): (&str, &str) = match (&*e.op, e.code) {
        ("StartTLS", _) => ("The server refused StartTLS (no certificate installed for LDAP, or TLS already active).", "Install a server-authentication certificate on the DC (it is then used for LDAPS and StartTLS), or use port 636."),
        (_, Some(3)) => ("A search ran past its time limit (client timeout or the server's MaxQueryDuration).", "Narrow the search (indexed attributes, a smaller base), or raise the limit."),
        (_, Some(4)) | (_, Some(11)) => ("A search returned more entries than allowed (client size limit or the server's MaxPageSize, 1000 by default in AD).", "Use paged results (the paged results control), or narrow the filter."),
        (_, Some(32)) => ("The search base or target object does not exist (wrong DN, moved or deleted object, wrong naming context).", "Check the base DN the application uses."),
        (_, Some(10)) => ("The server referred the client elsewhere (another domain or naming context); clients that do not chase referrals fail.", "Query the right DC / global catalog (3268) for this naming context, or let the client chase referrals."),
        (_, Some(51)) | (_, Some(52)) => ("The server was busy or unavailable (overloaded, shutting down, or not ready).", "Check the DC's health (dcdiag) and load; point the client at another DC."),
        (_, Some(50)) => ("The bound account lacks the rights for this operation.", "Grant the rights needed or bind as an account that has them."),
        (_, Some(53)) => ("The server is unwilling to perform this operation (policy: e.g. a password change over an unencrypted connection).", "Check the operation's requirements (encryption for password changes, allowed attributes)."),
        _ => ("The server answered the operation with an error (see the result and diagnosticMessage).", "Look the result code up (RFC 4511 §4.1.9) and check the server's log."),
    };
    (c.into(), s.into())
}

pub fn check_bind(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let evs: Vec<&AuthEvent> = all
        .iter()
        .filter(|e| e.proto == AuthProto::Ldap && e.op == "bind" && is_failure(e))
        .collect();
    let spec = Spec {
        id: BIND,
        what: "LDAP binds",
        explain: "The directory server refused the bind; Active Directory puts the reason in the diagnosticMessage as `data XXX` (a Win32 error), shown with its meaning.",
        advice: bind_advice,
        severity: Severity::Problem,
        weight: 76,
    };
    let key = |e: &AuthEvent| {
        format!("{}|{:?}|{:?}|{}", e.code_name, e.sub_code, e.account, e.server.ip())
    };
    out.extend(grouped(facts, &evs, key, &spec));
}

pub fn check_error(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let evs: Vec<&AuthEvent> = all
        .iter()
        .filter(|e| e.proto == AuthProto::Ldap && e.op != "bind" && is_failure(e))
        .collect();
    let serious =
        evs.iter().any(|e| matches!(e.code, Some(51 | 52 | 1 | 80)) || e.op == "StartTLS");
    let spec = Spec {
        id: ERROR,
        what: "LDAP operations",
        explain: "The directory server answered these operations with an error result.",
        advice: error_advice,
        severity: if serious { Severity::Problem } else { Severity::Warning },
        weight: if serious { 60 } else { 35 },
    };
    let key = |e: &AuthEvent| format!("{}|{}|{:?}|{}", e.op, e.code_name, e.service, e.server.ip());
    out.extend(grouped(facts, &evs, key, &spec));
}

#[cfg(test)]
mod thresholds;
