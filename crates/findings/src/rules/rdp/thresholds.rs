//! `rdp.negotiation_failure`: an RDP_NEG_FAILURE is a problem unless a later negotiation of
//! the same client succeeded (info); a success alone is nothing.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::{check, ID};
use crate::testkit::{auth, Kit};
use crate::Severity::{self, Info, Problem};

fn neg(frame: u64, code: Option<i64>) -> AuthEvent {
    let mut e = auth(AuthProto::Rdp, "negotiate", 1, frame);
    e.account = Some("rdp-user".into());
    e.code = code;
    e.code_name = code.map_or("ok".into(), |c| format!("failure{c}").into());
    e.mech = Some("TLS".into());
    e.ok = code.is_none();
    e
}

fn sev(evs: Vec<AuthEvent>) -> Vec<Severity> {
    let mut k = Kit::new();
    k.apps.auth.events = evs;
    k.sev(check, ID)
}

#[test]
fn a_refusal_until_a_negotiation_succeeds() {
    assert!(sev(vec![neg(1, None)]).is_empty());
    assert_eq!(sev(vec![neg(1, Some(5))]), [Problem]);
    assert_eq!(sev(vec![neg(1, Some(5)), neg(2, None)]), [Info]);
    assert_eq!(sev(vec![neg(2, None), neg(3, Some(1))]), [Problem]);
}

#[test]
fn one_finding_counting_every_refusal() {
    let v = {
        let mut k = Kit::new();
        k.apps.auth.events = vec![neg(1, Some(5)), neg(2, Some(5)), neg(3, Some(1))];
        k.run(check)
    };
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].evidence.values["failures"], 3);
    assert_eq!(v[0].evidence.values["unresolved_groups"], 2);
    assert_eq!(v[0].severity, Problem);
}
