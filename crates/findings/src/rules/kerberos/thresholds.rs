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
    e.code_name = code.map_or("ok".into(), |c| format!("KRB_ERR_{c}").into());
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

/// What followed is looked for among the same client's later events only (the rule reads
/// each client's events, not the whole list): another host's success resolves nothing,
/// however many events lie between; the client's own, behind them, does. A fallback to
/// DCE/RPC with NTLM is the client's first later authenticated call.
#[test]
fn only_the_same_clients_later_events_resolve_a_failure() {
    let other = |frame| {
        let mut e = krb(frame, None);
        e.client = std::net::SocketAddr::new([10, 0, 1, 2].into(), 50000);
        e
    };
    let mut evs = vec![krb(1, Some(24))];
    evs.extend((2..500).map(other));
    assert_eq!(sev(evs.clone()), [Problem]);
    evs.push(krb(600, None));
    assert_eq!(sev(evs), [Info]);

    let mut k = Kit::new();
    k.apps.auth.events = vec![krb(10, Some(24))];
    let rpc_call = |frame, src: u8, ok| {
        let mut c = crate::testkit::call(
            frame,
            frame as f64 / 1000.0,
            if ok {
                tracehound_rpc::calls::Outcome::Ok
            } else {
                tracehound_rpc::calls::Outcome::Fault
            },
        );
        c.src = [10, 0, 1, src].into();
        c.user = Some("LAB\\alice".into());
        c
    };
    // before the failure, and from another host: not a fallback
    k.rpc.calls = vec![rpc_call(5, 1, true), rpc_call(20, 2, true)];
    assert_eq!(k.sev(check, ID), [Problem]);
    k.rpc.calls.push(rpc_call(30, 1, true));
    k.rpc.calls.push(rpc_call(40, 1, false));
    let f = k.run(check);
    assert_eq!(f.iter().map(|f| f.severity).collect::<Vec<_>>(), [Info]);
    let text = format!("{:?}", f[0].evidence);
    assert!(text.contains("fell back to NTLM over DCE/RPC as LAB\\\\alice (frame 30)"), "{text}");
}
