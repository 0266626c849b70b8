//! `ntlm.failure`: a refused NTLM (or anonymous) logon over SMB session setup, LDAP bind or
//! HTTP 401 / 407 is a problem unless the same logon succeeded later (info); other mechanisms
//! and other operations are not this rule's.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::{check, ID};
use crate::testkit::{auth, Kit};
use crate::Severity::{self, Info, Problem};

fn logon(proto: AuthProto, op: &str, frame: u64, mech: &str, ok: bool) -> AuthEvent {
    let mut e = auth(proto, op, 1, frame);
    e.account = Some("bob".into());
    e.domain = Some("LAB".into());
    e.mech = Some(mech.into());
    e.ok = ok;
    e.code = Some(if ok { 0 } else { 0xc000_006d });
    e.code_name = if ok { "STATUS_SUCCESS" } else { "STATUS_LOGON_FAILURE" }.into();
    e
}

fn sev(evs: Vec<AuthEvent>) -> Vec<Severity> {
    let mut k = Kit::new();
    k.apps.auth.events = evs;
    k.sev(check, ID)
}

#[test]
fn a_refused_ntlm_logon_is_a_problem_until_one_succeeds() {
    let fail = logon(AuthProto::Smb, "session setup", 1, "NTLM", false);
    assert_eq!(sev(vec![fail.clone()]), [Problem]);
    assert_eq!(
        sev(vec![fail.clone(), logon(AuthProto::Smb, "session setup", 2, "NTLM", true)]),
        [Info]
    );
    assert!(sev(vec![logon(AuthProto::Smb, "session setup", 1, "NTLM", true)]).is_empty());
    let mut anon = fail;
    anon.mech = Some("anonymous".into());
    assert_eq!(sev(vec![anon]), [Problem]);
}

#[test]
fn only_ntlm_logons_count() {
    assert!(sev(vec![logon(AuthProto::Smb, "session setup", 1, "Kerberos", false)]).is_empty());
    assert!(sev(vec![logon(AuthProto::Smb, "tree connect", 1, "NTLM", false)]).is_empty());
    assert_eq!(sev(vec![logon(AuthProto::Ldap, "bind", 1, "NTLM", false)]), [Problem]);
    assert!(sev(vec![logon(AuthProto::Ldap, "search", 1, "NTLM", false)]).is_empty());
}

#[test]
fn over_http_only_401_and_407() {
    let http = |code: i64| {
        let mut e = logon(AuthProto::Http, "GET", 1, "NTLM", false);
        e.code = Some(code);
        sev(vec![e])
    };
    assert_eq!(http(401), [Problem]);
    assert_eq!(http(407), [Problem]);
    assert!(http(403).is_empty());
    assert!(http(500).is_empty());
}
