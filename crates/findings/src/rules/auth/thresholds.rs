//! The logon patterns beyond the counts tested in `auth.rs` itself: which failures are
//! credential failures in each protocol, stale credentials a warning once the account got in
//! and a problem while it did not, brute force taking precedence over stale credentials, and
//! the counts spanning protocols.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::{
    check, is_credential_failure, BRUTE, BRUTE_MIN, SPRAY, SPRAY_MIN_ACCOUNTS, STALE, STALE_MIN,
};
use crate::testkit::{auth, Kit};
use crate::Severity;

fn fail(proto: AuthProto, op: &str, code: i64, account: &str, frame: u64) -> AuthEvent {
    let mut e = auth(proto, op, 7, frame);
    e.account = Some(account.into());
    e.code = Some(code);
    e.code_name = format!("code {code}").into();
    e
}

fn smb(account: &str, frame: u64) -> AuthEvent {
    fail(AuthProto::Smb, "session setup", 0xc000_006d, account, frame)
}

fn found(evs: Vec<AuthEvent>) -> Vec<(&'static str, Severity)> {
    let mut k = Kit::new();
    k.apps.auth.events = evs;
    k.run(check).iter().map(|f| (f.id, f.severity)).collect()
}

#[test]
fn credential_failures_per_protocol() {
    assert!(is_credential_failure(&smb("x", 1)));
    assert!(!is_credential_failure(&fail(AuthProto::Smb, "session setup", 0xc000_0022, "x", 1)));
    assert!(!is_credential_failure(&fail(AuthProto::Smb, "tree connect", 0xc000_006d, "x", 1)));
    assert!(is_credential_failure(&fail(AuthProto::Ldap, "bind", 49, "x", 1)));
    assert!(!is_credential_failure(&fail(AuthProto::Ldap, "bind", 50, "x", 1)));
    assert!(is_credential_failure(&fail(AuthProto::Http, "GET", 401, "x", 1)));
    let mut anon = fail(AuthProto::Http, "GET", 401, "x", 1);
    anon.account = None;
    assert!(!is_credential_failure(&anon), "a 401 without credentials");
    for code in [6, 18, 23, 24] {
        assert!(is_credential_failure(&fail(AuthProto::Kerberos, "AS-REQ", code, "x", 1)));
    }
    assert!(!is_credential_failure(&fail(AuthProto::Kerberos, "AS-REQ", 7, "x", 1)));
    assert!(!is_credential_failure(&fail(AuthProto::Rdp, "negotiate", 5, "x", 1)));
}

#[test]
fn stale_credentials_resolved_or_not() {
    let fails: Vec<AuthEvent> = (1..=STALE_MIN as u64).map(|i| smb("dave", i)).collect();
    assert_eq!(found(fails.clone()), [(STALE, Severity::Problem)]);
    let mut ok = smb("dave", 10);
    ok.ok = true;
    let mut then_ok = fails.clone();
    then_ok.push(ok);
    assert_eq!(found(then_ok), [(STALE, Severity::Warning)]);
    // the account name compares without domain and case
    let mixed = vec![smb("LAB\\Dave", 1), smb("dave@lab.test", 2), smb("DAVE", 3)];
    assert_eq!(found(mixed), [(STALE, Severity::Problem)]);
}

#[test]
fn the_counts_span_protocols() {
    let mixed = vec![
        smb("erin", 1),
        fail(AuthProto::Ldap, "bind", 49, "erin", 2),
        fail(AuthProto::Kerberos, "AS-REQ", 24, "erin", 3),
    ];
    assert_eq!(found(mixed), [(STALE, Severity::Problem)]);
    // two credential failures and one other failure: below STALE_MIN
    let two =
        vec![smb("erin", 1), smb("erin", 2), fail(AuthProto::Kerberos, "TGS-REQ", 7, "erin", 3)];
    assert!(found(two).is_empty());
}

#[test]
fn brute_force_replaces_stale_and_spray_counts_accounts() {
    let n = |k: usize| (0..k as u64).map(|i| smb("frank", i + 1)).collect::<Vec<_>>();
    assert_eq!(found(n(BRUTE_MIN - 1)), [(STALE, Severity::Problem)]);
    assert_eq!(found(n(BRUTE_MIN)), [(BRUTE, Severity::Problem)]);
    let accounts =
        |k: usize| (0..k as u64).map(|i| smb(&format!("user{i}"), i + 1)).collect::<Vec<_>>();
    assert!(found(accounts(SPRAY_MIN_ACCOUNTS - 1)).is_empty());
    assert_eq!(found(accounts(SPRAY_MIN_ACCOUNTS)), [(SPRAY, Severity::Problem)]);
}

#[test]
fn what_no_success_followed_is_said_in_words_that_fit_the_counts() {
    use super::not_followed;
    assert_eq!(not_followed(1, 1, "success"), "No success followed in the capture.");
    assert_eq!(
        not_followed(3, 3, "successful logon"),
        "None of the 3 groups of like failures (same account and error) was followed by a successful logon in the capture."
    );
    assert!(
        not_followed(1, 3, "success").starts_with("1 of the 3 groups")
            && not_followed(1, 3, "success").contains(" was not followed")
    );
    assert!(not_followed(2, 3, "success").contains(" were not followed"));
}
