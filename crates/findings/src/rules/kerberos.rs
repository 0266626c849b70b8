//! `kerberos.failure`: every KRB-ERROR that is a failure (KDC exchanges on 88 and errors
//! carried in SPNEGO inside SMB / LDAP / HTTP), with its name and meaning, grouped by code,
//! client principal, realm and service, and what followed (a retry that worked, a fallback
//! to NTLM). PREAUTH_REQUIRED is the normal first step and never a finding;
//! RESPONSE_TOO_BIG only when no retry over TCP followed.
//!
//! Severity: problem when a failure was not followed by success; info when every failure
//! was (the logon worked in the end).

use std::collections::BTreeMap;

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::auth::{add_events, is_failure, Followups};
use super::Facts;
use crate::{Evidence, Finding, Severity, Text};

pub const ID: &str = "kerberos.failure";

fn advice(code: i64) -> (Text, Text) {
    let (c, s): (&str, &str) = match code {
        6 => ("The account name is misspelt, the account was deleted, or the client asks the wrong realm.", "Check the account exists (`Get-ADUser`), the UPN / realm the client uses, and for computers that the machine account exists."),
        7 => ("No account carries the requested SPN (service principal name), or two accounts carry it (duplicate SPN), or the client uses an alias / IP address with no SPN registered.", "Look up the SPN: `setspn -Q <spn>`; register it on the service account (`setspn -S`), remove duplicates (`setspn -X`); connect by the name the SPN is registered for."),
        12 => ("A policy refused the logon: logon hours, workstation restrictions (userWorkstations), an authentication policy silo, or smart card required.", "Check the account's logon hours / logon workstations and authentication policies; the DC's event 4771/4768 gives the failure code."),
        13 => ("The KDC cannot honour an option, typically delegation (S4U / constrained delegation) that the service account is not allowed to do.", "Check the delegation settings of the service account (msDS-AllowedToDelegateTo, resource-based delegation)."),
        14 => ("No common encryption type: the client, the account or the service key support none of the offered etypes (RC4 disabled on one side, AES keys missing on an old account).", "Compare supported etypes: msDS-SupportedEncryptionTypes on the account, the 'Network security: Configure encryption types allowed for Kerberos' policy; reset the account password to create AES keys."),
        18 => ("The account is disabled, locked out or expired.", "Check the account: `Get-ADUser <name> -Properties Enabled,LockedOut,AccountExpirationDate`; find the lockout source (event 4740 on the PDC)."),
        23 => ("The account's password has expired.", "Change the password (or, for service accounts, set it and update every place that uses it)."),
        24 => ("Wrong password (pre-authentication failed) — typed wrong, or an old password saved somewhere.", "Check for stale saved passwords (services, tasks, mapped drives, Credential Manager) on the client."),
        37 => ("The clocks of client and KDC / server differ by more than the allowed skew (5 minutes by default).", "Fix time synchronisation: `w32tm /query /status` on both, make the client sync from the domain hierarchy."),
        31 | 41 => ("The service could not decrypt the ticket: the SPN is registered on another account than the one running the service, or the service's password changed without the keytab / account being updated.", "Check which account holds the SPN (`setspn -Q`) and which account runs the service; reset the machine account / keytab."),
        52 => ("The answer did not fit in UDP and no retry over TCP followed — TCP 88 may be blocked.", "Allow TCP 88 between the client and the KDC."),
        60 => ("A generic error; the e-text says more.", "Read the e-text in the evidence and the KDC's log."),
        68 => ("The client asked the wrong realm's KDC.", "Check the realm the client uses and the trust / referral configuration."),
        _ => ("The KDC or the service refused the request (see the error's meaning).", "Look the code up in RFC 4120 §7.5.9 / MS-KILE and check the DC's security log (events 4768, 4769, 4771)."),
    };
    (c.into(), s.into())
}

type Key = (i64, String, String, String);

/// A TGS-REQ names its client only inside the encrypted authenticator: say whose TGT the
/// same client got last, when the capture shows it.
fn client_of(all: &[AuthEvent], e: &AuthEvent) -> String {
    if e.account.is_some() {
        return super::auth::who(e);
    }
    let tgt = all.iter().rev().find(|x| {
        x.proto == AuthProto::Kerberos
            && x.ok
            && x.op == "AS-REQ"
            && x.frame < e.frame
            && x.client.ip() == e.client.ip()
            && x.account.is_some()
    });
    match tgt {
        Some(t) => format!(
            "a client (not named in the request; its last TGT, frame {}, was for {})",
            t.frame,
            super::auth::who(t)
        ),
        None => super::auth::who(e),
    }
}

fn line(all: &[AuthEvent], e: &AuthEvent, n: usize, next: &str) -> String {
    let via = e.carried_in.map(|p| format!(" (inside {})", p.name())).unwrap_or_default();
    let mut l = format!(
        "frame {}: {} {} for {} from {} to {}{via} → {} ({}){}",
        e.frame,
        e.op,
        client_of(all, e),
        e.service.as_deref().unwrap_or("?"),
        e.client.ip(),
        e.server,
        e.code_name,
        e.meaning,
        if n > 1 { format!(" ×{n}") } else { String::new() }
    );
    if let Some(t) = &e.detail {
        l.push_str(&format!("; e-text \"{t}\""));
    }
    let utc = tracehound_apps::proto::time::utc;
    match (e.client_time, e.server_time) {
        (Some(c), Some(s)) => l.push_str(&format!(
            "; client clock {}, KDC clock {}, difference {} s",
            utc(c),
            utc(s),
            s.saturating_sub(c)
        )),
        (None, Some(s)) => {
            let cap = e.ts.0.div_euclid(1_000_000_000);
            l.push_str(&format!(
                "; KDC clock {}, capture clock {} (difference {} s; the client's own clock is in its encrypted timestamp)",
                utc(s),
                utc(cap),
                s.saturating_sub(cap)
            ))
        }
        _ => {}
    }
    l.push_str(&format!("; {next}"));
    l
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let mut groups: BTreeMap<Key, Vec<&AuthEvent>> = BTreeMap::new();
    let followups = Followups::new(facts);
    for e in all.iter().filter(|e| e.proto == AuthProto::Kerberos) {
        let failure = is_failure(e) || (e.code == Some(52) && !followups.after(e).1);
        if !failure {
            continue;
        }
        let key = (
            e.code.unwrap_or(0),
            e.account.clone().unwrap_or_default(),
            e.domain.clone().unwrap_or_default(),
            e.service.clone().unwrap_or_default(),
        );
        groups.entry(key).or_default().push(e);
    }
    if groups.is_empty() {
        return;
    }
    let mut ev = Evidence::default();
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    let mut unresolved = 0usize;
    let mut causes = Vec::new();
    let mut steps = Vec::new();
    let mut accounts = Vec::new();
    // the commonest failure first (it leads the advice)
    let mut ordered: Vec<(&Key, &Vec<&AuthEvent>)> = groups.iter().collect();
    ordered.sort_by_key(|(_, evs)| std::cmp::Reverse(evs.len()));
    for ((code, acct, _, _), evs) in ordered {
        let last = evs.last().copied();
        let (next, ok) = last.map(|e| followups.after(e)).unwrap_or_default();
        if !ok {
            unresolved += 1;
        }
        if let Some(e) = last {
            ev.line(line(all, e, evs.len(), &next));
            *by_code.entry(e.code_name.to_string()).or_default() += evs.len();
        }
        add_events(&mut ev, evs);
        if !accounts.contains(acct) && !acct.is_empty() {
            accounts.push(acct.clone());
        }
        let (c, s) = advice(*code);
        if !causes.contains(&c) {
            causes.push(c);
            steps.push(s);
        }
    }
    let total: usize = by_code.values().sum();
    let summary = by_code.iter().map(|(k, n)| format!("{n}× {k}")).collect::<Vec<_>>().join(", ");
    ev.value("failures", total);
    ev.value("by_code", serde_json::to_value(&by_code).unwrap_or_default());
    ev.value("accounts", accounts.clone());
    ev.value("unresolved_groups", unresolved);
    ev.finish();
    let severity = if unresolved > 0 { Severity::Problem } else { Severity::Info };
    out.push(Finding {
        id: ID,
        severity,
        title: format!("Kerberos failed: {summary}"),
        explanation: format!(
            "The KDC or a service answered {} with an error ({summary}) for {}. {} PREAUTH_REQUIRED answers are the normal first step of a logon and are not counted.",
            super::util::plural(total, "Kerberos request", "Kerberos requests"),
            if accounts.is_empty() { "unnamed clients".to_string() } else { accounts.join(", ") },
            if unresolved > 0 {
                super::auth::not_followed(unresolved, groups.len(), "successful logon")
            } else {
                "Each failure was followed by a success (or a working fallback): the user got in, at the cost of a delay.".to_string()
            }
        ),
        likely_causes: causes,
        next_steps: steps,
        evidence: ev,
        weight: if unresolved > 0 { 80 } else { 20 },
    });
}

#[cfg(test)]
mod thresholds;
