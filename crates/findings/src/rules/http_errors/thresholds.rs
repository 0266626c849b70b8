//! `http.errors` by status: 4xx a warning, 5xx and 407 a problem, 401 a problem only when
//! credentials were sent and refused with no success after (a loop); a 401 challenge leg the
//! client followed with credentials is normal.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::{check, ID};
use crate::testkit::{auth, Kit};
use crate::Severity::{self, Problem, Warning};

fn answer(frame: u64, code: i64) -> AuthEvent {
    let mut e = auth(AuthProto::Http, "GET", 1, frame);
    e.code = Some(code);
    e.code_name = code.to_string().into();
    e.service = Some("intranet.lab.test/app".into());
    e.ok = code < 400;
    e
}

fn sev(evs: Vec<AuthEvent>) -> Vec<Severity> {
    sev_after(evs, &[])
}

/// As [`sev`], with the client's requests that carried credentials to the same URL (frames),
/// answered or not.
fn sev_after(evs: Vec<AuthEvent>, credentials: &[u64]) -> Vec<Severity> {
    let mut k = Kit::new();
    let client = answer(0, 0).client.ip();
    for &f in credentials {
        k.apps.auth.credentials_sent(client, "intranet.lab.test/app?session=1".into(), f);
    }
    k.apps.auth.events = evs;
    k.sev(check, ID)
}

#[test]
fn client_errors_are_warnings_server_errors_problems() {
    assert!(sev(vec![answer(1, 200), answer(2, 399)]).is_empty());
    assert_eq!(sev(vec![answer(1, 400)]), [Warning]);
    assert_eq!(sev(vec![answer(1, 404)]), [Warning]);
    assert_eq!(sev(vec![answer(1, 499)]), [Warning]);
    assert_eq!(sev(vec![answer(1, 500)]), [Problem]);
    assert_eq!(sev(vec![answer(1, 503)]), [Problem]);
    assert_eq!(sev(vec![answer(1, 404), answer(2, 502)]), [Problem]);
}

#[test]
fn proxy_authentication_is_a_problem() {
    assert_eq!(sev(vec![answer(1, 406)]), [Warning]);
    assert_eq!(sev(vec![answer(1, 407)]), [Problem]);
    assert_eq!(sev(vec![answer(1, 408)]), [Warning]);
}

#[test]
fn a_401_is_a_problem_only_as_a_loop() {
    // the challenge leg, then credentials accepted: nothing
    let mut leg = answer(1, 401);
    leg.leg = true;
    let mut ok = answer(2, 200);
    ok.mech = Some("NTLM".into());
    ok.account = Some("alice".into());
    assert!(sev_after(vec![leg.clone(), ok.clone()], &[2]).is_empty());
    // followed by a request with credentials that never got an answer of its own (an
    // RPC_IN_DATA channel): nothing either
    assert!(sev_after(vec![leg.clone()], &[2]).is_empty());
    // the challenge leg never followed up: the client did not authenticate
    assert_eq!(sev(vec![leg.clone()]), [Warning]);
    // credentials sent before the challenge only: not a follow-up
    assert_eq!(sev_after(vec![leg.clone()], &[1]), [Warning]);
    // a later 401 that only offers schemes is not a follow-up
    let mut offer = answer(3, 401);
    offer.leg = true;
    offer.mech = Some("Negotiate, NTLM".into());
    assert_eq!(sev(vec![leg.clone(), offer]), [Warning]);
    // credentials sent and refused, nothing after: a loop
    let mut refused = answer(2, 401);
    refused.mech = Some("NTLM".into());
    refused.account = Some("alice".into());
    assert_eq!(sev_after(vec![leg.clone(), refused.clone()], &[2]), [Problem]);
    // credentials refused, then the same account succeeded: no loop
    let mut again = ok;
    again.frame = 3;
    again.op = refused.op.clone();
    assert_eq!(sev_after(vec![leg, refused, again], &[2, 3]), [Warning]);
}
