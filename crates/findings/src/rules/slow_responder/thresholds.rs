//! `app.slow_responder` at its numbers: [`MIN_TRANSACTIONS`] answered transactions per
//! server, a median wait of [`MIN_MEDIAN_WAIT`] to fire and [`PROBLEM_MEDIAN_WAIT`] for a
//! problem, and the server named slow when its think time is at least half the wait.

use tracehound_apps::txn::AppProto;
use tracehound_rpc::calls::Outcome;

use super::{check, ID, MIN_MEDIAN_WAIT, MIN_TRANSACTIONS, PROBLEM_MEDIAN_WAIT, SERVER_SHARE};
use crate::testkit::{call, conv, txn, Kit};
use crate::Severity::{self, Problem, Warning};

/// DCE/RPC calls to one server on conversation 1 (handshake round trip `rtt`), one per wait.
fn kit(waits: &[f64], rtt: f64) -> Kit {
    let mut k = Kit::new();
    let mut c = conv(1);
    c.handshake_rtt = Some(rtt);
    k.convs.push(c);
    for (i, w) in waits.iter().enumerate() {
        let mut x = call(10 + 2 * i as u64, i as f64, Outcome::Ok);
        x.rtt = Some(*w);
        k.rpc.calls.push(x);
    }
    k
}

fn sev(waits: &[f64]) -> Vec<Severity> {
    kit(waits, 0.0005).sev(check, ID)
}

#[test]
fn min_transactions_per_server() {
    assert_eq!(MIN_TRANSACTIONS, 3);
    assert!(sev(&[0.5, 0.5]).is_empty());
    assert_eq!(sev(&[0.5, 0.5, 0.5]), [Warning]);
}

#[test]
fn min_median_wait() {
    assert_eq!(MIN_MEDIAN_WAIT, 0.1);
    assert!(sev(&[0.099, 0.099, 0.099]).is_empty());
    assert!(sev(&[0.01, 0.099, 5.0]).is_empty(), "one slow call is not a slow server");
    assert_eq!(sev(&[0.1, 0.1, 0.1]), [Warning]);
    assert_eq!(sev(&[0.01, 0.1, 5.0]), [Warning]);
}

#[test]
fn problem_median_wait() {
    assert_eq!(PROBLEM_MEDIAN_WAIT, 1.0);
    assert_eq!(sev(&[0.999, 0.999, 0.999]), [Warning]);
    assert_eq!(sev(&[1.0, 1.0, 1.0]), [Problem]);
}

#[test]
fn the_server_is_slow_when_it_thinks_half_the_wait() {
    assert_eq!(SERVER_SHARE, 0.5);
    let side = |rtt: f64| {
        let v = kit(&[0.25, 0.25, 0.25], rtt).run(check);
        v[0].evidence.values["slow_side"].as_str().unwrap().to_string()
    };
    assert_eq!(side(0.124), "server");
    assert_eq!(side(0.125), "server", "think 0.125 = half of 0.25");
    assert_eq!(side(0.126), "network");
}

#[test]
fn transactions_count_like_calls_and_long_polls_do_not() {
    let mut k = Kit::new();
    let c = conv(1);
    k.apps.transactions.push(txn(c.info, AppProto::Smb2, &[0.2, 0.2]));
    k.convs.push(c);
    assert!(k.sev(check, ID).is_empty(), "2 transactions");
    k.apps.transactions[0] = txn(k.convs[0].info, AppProto::Smb2, &[0.2, 0.2, 0.2]);
    assert_eq!(k.sev(check, ID), [Warning]);
    // every answer a long poll (CHANGE_NOTIFY): nothing to judge
    k.apps.transactions[0].long_polls = 3;
    assert!(k.sev(check, ID).is_empty());
}
