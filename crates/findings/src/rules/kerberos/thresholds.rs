//! `kerberos.failure` by code and by what followed: PREAUTH_REQUIRED (25) is the normal
//! first step, RESPONSE_TOO_BIG (52) a failure only when no retry worked, any other error a
//! problem unless the same logon (or a fallback to NTLM) succeeded after it (then info).

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::{check, ID};
use crate::testkit::{auth, Kit};
use crate::Severity::{self, Info, Problem};

fn krb(frame: u64, code: Option<i64>) -> AuthEvent {
    let mut e = auth(AuthProto::Kerberos, "AS-REQ", 1, frame);
    e.account = Some("alice".into());
    e.domain = Some("LAB.TEST".into());
    e.service = Some("krbtgt/LAB.TEST".into());
    e.code = code;
    e.code_name = code.map_or("ok".into(), |c| format!("KRB_ERR_{c}"));
    e.ok = code.is_none();
    e
}

fn sev(evs: Vec<AuthEvent>) -> Vec<Severity> {
    let mut k = Kit::new();
    k.apps.auth.events = evs;
    k.sev(check, ID)
}

#[test]
fn preauth_required_is_the_normal_first_step() {
    assert!(sev(vec![krb(1, Some(25))]).is_empty());
    assert!(sev(vec![krb(1, Some(25)), krb(2, None)]).is_empty());
    assert_eq!(sev(vec![krb(1, Some(24))]), [Problem]);
    assert_eq!(sev(vec![krb(1, Some(6))]), [Problem]);
}

#[test]
fn a_failure_followed_by_success_is_info() {
    assert_eq!(sev(vec![krb(1, Some(24)), krb(2, None)]), [Info]);
    // success before the failure does not resolve it
    assert_eq!(sev(vec![krb(1, None), krb(2, Some(24))]), [Problem]);
    // a fallback to NTLM that worked resolves it too
    let mut ntlm = auth(AuthProto::Smb, "session setup", 1, 3);
    ntlm.mech = Some("NTLM".into());
    ntlm.ok = true;
    assert_eq!(sev(vec![krb(1, Some(24)), ntlm.clone()]), [Info]);
    ntlm.ok = false;
    assert_eq!(sev(vec![krb(1, Some(24)), ntlm]), [Problem]);
}

#[test]
fn response_too_big_only_without_a_retry_that_worked() {
    assert_eq!(sev(vec![krb(1, Some(52))]), [Problem]);
    assert!(sev(vec![krb(1, Some(52)), krb(2, None)]).is_empty());
}
