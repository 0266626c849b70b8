//! `rpc.zerologon`: one NetrServerAuthenticate with an all-zero credential is the attack (a
//! problem); a genuine credential is nothing. Whether an attempt succeeded, and whether
//! NetrServerPasswordSet2 followed it, change the title and the weight.

use tracehound_rpc::calls::Outcome;
use tracehound_rpc::netlogon::{ServerAuthenticate, OP_SERVER_PASSWORD_SET2};
use tracehound_rpc::Call;

use super::check;
use crate::testkit::{call, Kit};
use crate::Finding;
use crate::Severity::Problem;

fn authenticate(frame: u64, zero: bool, outcome: Outcome) -> Call {
    let mut c = call(frame, frame as f64 * 0.01, outcome);
    c.uuid = Some(tracehound_rpc::known::NETLOGON_TEXT.into());
    c.opnum = Some(26);
    c.operation = Some("NetrServerAuthenticate3".into());
    c.netlogon = Some(Box::new(ServerAuthenticate {
        primary_name: Some("\\\\DC1".into()),
        account_name: "DC1$".into(),
        secure_channel_type: 6,
        computer_name: "DC1".into(),
        zero_credential: zero,
        negotiate_flags: Some(0x212f_ffff),
    }));
    if outcome == Outcome::Error {
        c.status = Some("STATUS_ACCESS_DENIED".into());
    }
    c
}

fn run(calls: Vec<Call>) -> Vec<Finding> {
    let mut k = Kit::new();
    k.rpc.calls = calls;
    k.run(check)
}

#[test]
fn one_zero_credential_is_the_attack() {
    assert!(run(vec![authenticate(10, false, Outcome::Error)]).is_empty());
    let v = run(vec![authenticate(10, true, Outcome::Error)]);
    assert_eq!(
        v.iter().map(|f| (f.id, f.severity)).collect::<Vec<_>>(),
        [("rpc.zerologon", Problem)]
    );
    assert_eq!((v[0].weight, v[0].evidence.values["attempts"].as_u64()), (85, Some(1)));
}

#[test]
fn success_and_password_set_raise_it() {
    let mut calls: Vec<Call> = (0..5).map(|i| authenticate(10 + i, true, Outcome::Error)).collect();
    calls.push(authenticate(20, true, Outcome::Ok));
    let v = run(calls.clone());
    assert_eq!(v[0].weight, 95);
    assert!(v[0].title.ends_with(", succeeded"), "{}", v[0].title);
    let mut set = call(30, 0.5, Outcome::Ok);
    set.uuid = Some(tracehound_rpc::known::NETLOGON_TEXT.into());
    set.opnum = Some(OP_SERVER_PASSWORD_SET2);
    calls.push(set);
    let v = run(calls);
    assert!(v[0].title.ends_with(", succeeded, password set"), "{}", v[0].title);
    assert_eq!(v[0].evidence.values["attempts"], 6);
}
