//! `smb.auth_failure` (NEGOTIATE / SESSION_SETUP) and `smb.access_denied` (TREE_CONNECT,
//! pipe opens, CREATE denied): which operations and statuses count, and success after a
//! failure making it info.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::{check_auth, check_denied, AUTH, DENIED};
use crate::testkit::{auth, Check, Kit};
use crate::Severity::{self, Info, Problem};

fn smb(frame: u64, op: &str, status: &str, ok: bool) -> AuthEvent {
    let mut e = auth(AuthProto::Smb, op, 1, frame);
    e.account = Some("carol".into());
    e.code = Some(if ok { 0 } else { 0xc000_0022 });
    e.code_name = status.to_string().into();
    e.ok = ok;
    e
}

fn sev(evs: Vec<AuthEvent>, check: Check, id: &str) -> Vec<Severity> {
    let mut k = Kit::new();
    k.apps.auth.events = evs;
    k.sev(check, id)
}

#[test]
fn negotiate_and_session_setup_failures() {
    let f = |op: &str| sev(vec![smb(1, op, "STATUS_LOGON_FAILURE", false)], check_auth, AUTH);
    assert_eq!(f("negotiate"), [Problem]);
    assert_eq!(f("session setup"), [Problem]);
    assert!(f("tree connect").is_empty());
    let retried = vec![
        smb(1, "session setup", "STATUS_LOGON_FAILURE", false),
        smb(2, "session setup", "STATUS_SUCCESS", true),
    ];
    assert_eq!(sev(retried, check_auth, AUTH), [Info]);
}

#[test]
fn which_opens_count_as_denied() {
    let d = |op: &str, status: &str| sev(vec![smb(1, op, status, false)], check_denied, DENIED);
    assert_eq!(d("tree connect", "STATUS_BAD_NETWORK_NAME"), [Problem]);
    assert_eq!(d("open pipe", "STATUS_ACCESS_DENIED"), [Problem]);
    assert!(d("open pipe", "STATUS_PENDING").is_empty());
    assert_eq!(d("create", "STATUS_ACCESS_DENIED"), [Problem]);
    assert_eq!(d("create", "STATUS_PRIVILEGE_NOT_HELD"), [Problem]);
    assert!(d("create", "STATUS_OBJECT_NAME_NOT_FOUND").is_empty(), "a missing file is normal");
    assert!(d("session setup", "STATUS_LOGON_FAILURE").is_empty());
    assert!(
        sev(vec![smb(1, "tree connect", "STATUS_SUCCESS", true)], check_denied, DENIED).is_empty()
    );
}
