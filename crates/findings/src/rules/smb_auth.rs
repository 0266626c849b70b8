//! `smb.auth_failure`: SMB2 NEGOTIATE failures (dialect, SMB1 disabled, signing) and
//! SESSION_SETUP failures, with the NTLM or Kerberos identity that was refused.
//! `smb.access_denied`: TREE_CONNECT failures (BAD_NETWORK_NAME, ACCESS_DENIED) and CREATE
//! failures on files and named pipes — including the classic anonymous (null session) pipe
//! open that RestrictNullSessAccess refuses unless the pipe is listed in NullSessionPipes.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::auth::{grouped, is_failure, Spec};
use super::Facts;
use crate::{Finding, Severity, Text};

pub const AUTH: &str = "smb.auth_failure";
pub const DENIED: &str = "smb.access_denied";

fn auth_advice(e: &AuthEvent) -> (Text, Text) {
    let (c, s): (&str, &str) = match (&*e.op, &*e.code_name) {
        ("negotiate", "STATUS_NOT_SUPPORTED") => ("The server supports none of the dialects the client offered (SMB1 disabled on one side, or a minimum dialect policy).", "Compare the client's offered dialects with the server's (Get-SmbServerConfiguration: EnableSMB1Protocol, SMB2/3 settings)."),
        ("negotiate", _) => ("The server refused the negotiation (dialect, signing or encryption requirements do not match).", "Compare signing / encryption requirements on both sides (RequireSecuritySignature, EncryptData, RejectUnencryptedAccess)."),
        (_, "STATUS_ACCOUNT_DISABLED") => ("The account is disabled.", "Enable the account or stop whatever still uses it (the evidence names the workstation)."),
        (_, "STATUS_ACCOUNT_LOCKED_OUT") => ("The account is locked out.", "Find the lockout source (event 4740), fix it, unlock the account."),
        (_, "STATUS_PASSWORD_EXPIRED") | (_, "STATUS_PASSWORD_MUST_CHANGE") => ("The password has expired.", "Change the password and update saved credentials."),
        (_, "STATUS_LOGON_TYPE_NOT_GRANTED") => ("The account is not granted network logon on this server.", "Check 'Access this computer from the network' / 'Deny access …' user rights on the server."),
        (_, "STATUS_TRUSTED_RELATIONSHIP_FAILURE") | (_, "STATUS_NO_TRUST_SAM_ACCOUNT") => ("The server's trust with the domain is broken (machine account password out of sync).", "Repair the secure channel on the server: `Test-ComputerSecureChannel -Repair`."),
        _ => ("Wrong password or unknown user (STATUS_LOGON_FAILURE), or the account's restrictions.", "Check the user and domain the client sends (evidence), saved credentials (`cmdkey /list`, `net use`) on the client."),
    };
    (c.into(), s.into())
}

fn denied_advice(e: &AuthEvent) -> (Text, Text) {
    let anon = e.mech.as_deref() == Some("anonymous");
    let (c, s): (&str, &str) = match (&*e.op, &*e.code_name, anon) {
        ("open pipe", "STATUS_ACCESS_DENIED", true) => ("An anonymous (null session) client opened a named pipe; Windows refuses null sessions on pipes unless RestrictNullSessAccess = 0 or the pipe is listed in NullSessionPipes (HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters). The client should authenticate instead.", "Make the client authenticate (a domain account or the machine account); only as a last resort add the pipe to NullSessionPipes (\"Network access: Named Pipes that can be accessed anonymously\")."),
        ("tree connect", "STATUS_ACCESS_DENIED", true) => ("An anonymous (null session) client tried to connect to IPC$ and the server refuses null sessions (Windows: RestrictAnonymous / RestrictNullSessAccess; Samba: restrict anonymous = 2).", "Make the client authenticate (a domain account or the machine account) instead of using a null session."),
        ("open pipe", "STATUS_OBJECT_NAME_NOT_FOUND", _) => ("The named pipe does not exist: the service behind it is not running or not installed on this server.", "Start the service that owns the pipe (e.g. Spooler for \\spoolss, Remote Registry for \\winreg)."),
        ("tree connect", "STATUS_BAD_NETWORK_NAME", _) => ("The share does not exist on this server (typo, share removed, or a DFS path needing referral).", "List the shares (`net view \\\\server`, `Get-SmbShare`); check the path the client uses."),
        ("tree connect", "STATUS_ACCESS_DENIED", _) => ("The share's permissions refuse this account (or encryption is required and the client does not encrypt).", "Check the share permissions (`Get-SmbShareAccess`) and the account; check EncryptData / RejectUnencryptedAccess."),
        _ => ("The NTFS or share permissions refuse this account for this file or folder.", "Check the ACL of the path (icacls) and the effective access of the account."),
    };
    (c.into(), s.into())
}

pub fn check_auth(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let evs: Vec<&AuthEvent> = all
        .iter()
        .filter(|e| e.proto == AuthProto::Smb && matches!(&*e.op, "negotiate" | "session setup"))
        .filter(|e| is_failure(e))
        .collect();
    let spec = Spec {
        id: AUTH,
        what: "SMB logons",
        explain: "The SMB server refused the negotiation or the session setup; the evidence names the account, domain and workstation the client presented.",
        advice: auth_advice,
        severity: Severity::Problem,
        weight: 77,
    };
    let key = |e: &AuthEvent| {
        format!("{}|{}|{:?}|{:?}|{}", e.op, e.code_name, e.account, e.domain, e.server.ip())
    };
    out.extend(grouped(facts, &evs, key, &spec));
}

pub fn check_denied(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let evs: Vec<&AuthEvent> = all
        .iter()
        .filter(|e| e.proto == AuthProto::Smb && is_failure(e))
        .filter(|e| match &*e.op {
            "tree connect" => true,
            "open pipe" => !matches!(&*e.code_name, "STATUS_PENDING"),
            "create" => {
                matches!(&*e.code_name, "STATUS_ACCESS_DENIED" | "STATUS_PRIVILEGE_NOT_HELD")
            }
            _ => false,
        })
        .collect();
    let spec = Spec {
        id: DENIED,
        what: "SMB share and file / pipe opens",
        explain: "The server refused to connect the share or open the file or named pipe for this session.",
        advice: denied_advice,
        severity: Severity::Problem,
        weight: 65,
    };
    let key = |e: &AuthEvent| format!("{}|{}|{:?}|{:?}", e.op, e.code_name, e.service, e.account);
    out.extend(grouped(facts, &evs, key, &spec));
}

#[cfg(test)]
mod thresholds;
