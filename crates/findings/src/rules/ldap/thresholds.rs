//! `ldap.bind_failure` (a problem until the bind succeeds later, then info) and `ldap.error`
//! (a problem for busy / unavailable / operations error / other, and StartTLS; else a
//! warning).

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::{check_bind, check_error, BIND, ERROR};
use crate::testkit::{auth, Kit};
use crate::Severity::{self, Info, Problem, Warning};

fn op(frame: u64, name: &str, code: Option<i64>) -> AuthEvent {
    let mut e = auth(AuthProto::Ldap, name, 1, frame);
    e.account = Some("CN=svc,CN=Users,DC=lab,DC=test".into());
    e.code = code;
    e.code_name = code.map_or("success".into(), |c| format!("result{c}").into());
    e.ok = code.is_none();
    e
}

fn sev(evs: Vec<AuthEvent>, check: crate::testkit::Check, id: &str) -> Vec<Severity> {
    let mut k = Kit::new();
    k.apps.auth.events = evs;
    k.sev(check, id)
}

#[test]
fn a_refused_bind_until_one_succeeds() {
    assert!(sev(vec![op(1, "bind", None)], check_bind, BIND).is_empty());
    assert_eq!(sev(vec![op(1, "bind", Some(49))], check_bind, BIND), [Problem]);
    assert_eq!(sev(vec![op(1, "bind", Some(49)), op(2, "bind", None)], check_bind, BIND), [Info]);
    assert!(sev(vec![op(1, "search", Some(32))], check_bind, BIND).is_empty());
}

#[test]
fn operation_errors_by_result_code() {
    let err = |name: &str, code: i64| sev(vec![op(1, name, Some(code))], check_error, ERROR);
    for code in [3, 4, 10, 32, 50, 53] {
        assert_eq!(err("search", code), [Warning], "result {code}");
    }
    for code in [1, 51, 52, 80] {
        assert_eq!(err("search", code), [Problem], "result {code}");
    }
    assert_eq!(err("StartTLS", 2), [Problem]);
    assert!(err("bind", 49).is_empty(), "binds are ldap.bind_failure's");
}
