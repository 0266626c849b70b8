//! `app.no_response` at its numbers: a client that left [`CLIENT_GAVE_UP`] seconds or more
//! after its (acknowledged) request gave up; a server that closed first did not answer,
//! whatever the wait; a close [`IDLE_CLOSE`] seconds or more after the request reads as a
//! timeout. Missed data, an earlier failure on the flow and TLS ports leave a request out.

use tracehound_apps::txn::AppProto;
use tracehound_flows::{Dir, TcpFlag};
use tracehound_rpc::calls::Outcome;

use super::{check, CLIENT_GAVE_UP, IDLE_CLOSE, NO_RESPONSE};
use crate::testkit::{call, conv, flag, ts, txn, Kit};
use crate::Finding;
use crate::Severity::Problem;

/// An unanswered DCE/RPC request at `at` s on conversation 1 (10 s long, `history`).
fn kit(at: f64, history: &str) -> Kit {
    let mut k = Kit::new();
    let mut c = conv(1);
    c.history = history.into();
    k.convs.push(c);
    k.rpc.calls.push(call(10, at, Outcome::NoResponse));
    k
}

fn run(k: &mut Kit) -> Vec<Finding> {
    k.run(check).into_iter().filter(|f| f.id == NO_RESPONSE).collect()
}

/// The client closed first (F before f): only a long enough wait makes it a non-answer.
const CLIENT_FIRST: &str = "ShADadFf";
const SERVER_FIRST: &str = "ShADadfF";

#[test]
fn the_client_gave_up_after_two_seconds() {
    assert_eq!(CLIENT_GAVE_UP, 2.0);
    assert!(run(&mut kit(8.001, CLIENT_FIRST)).is_empty(), "left after 1.999 s");
    let v = run(&mut kit(8.0, CLIENT_FIRST));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].severity, Problem);
    assert!(v[0].title.contains("gave up"), "{}", v[0].title);
    assert_eq!(run(&mut kit(1.0, CLIENT_FIRST)).len(), 1);
}

#[test]
fn a_request_the_client_resent_was_not_acknowledged() {
    let mut k = kit(1.0, CLIENT_FIRST);
    flag(&mut k.convs[0], TcpFlag::Retransmission, Dir::Orig, 11, 120);
    assert!(run(&mut k).is_empty());
    // a retransmission before the request does not count
    let mut k = kit(1.0, CLIENT_FIRST);
    flag(&mut k.convs[0], TcpFlag::Retransmission, Dir::Orig, 9, 120);
    assert_eq!(run(&mut k).len(), 1);
}

#[test]
fn a_server_that_closed_first_did_not_answer_at_any_wait() {
    assert_eq!(run(&mut kit(9.999, SERVER_FIRST)).len(), 1);
    assert_eq!(run(&mut kit(9.999, "ShADadr")).len(), 1, "reset by the server");
    assert!(run(&mut kit(9.999, "ShADad")).is_empty(), "nobody closed: the capture ended");
}

#[test]
fn a_close_after_idle_close_seconds_reads_as_a_timeout() {
    let explanation = |at: f64| {
        let mut k = kit(at, SERVER_FIRST);
        k.convs[0].end = ts(at + IDLE_CLOSE);
        let long = run(&mut k)[0].explanation.contains("long after");
        k.convs[0].end = ts(at + IDLE_CLOSE - 0.01);
        let short = run(&mut k)[0].explanation.contains("long after");
        (long, short)
    };
    assert_eq!(IDLE_CLOSE, 30.0);
    assert_eq!(explanation(1.0), (true, false));
}

#[test]
fn missed_data_or_an_earlier_failure_leave_the_request_out() {
    let mut k = kit(1.0, SERVER_FIRST);
    flag(&mut k.convs[0], TcpFlag::AckLostSegment, Dir::Resp, 15, 0);
    assert!(run(&mut k).is_empty(), "the answer may be in what the capture missed");
    let mut k = kit(1.0, SERVER_FIRST);
    k.rpc.calls.push(call(8, 0.5, Outcome::Fault));
    assert!(run(&mut k).is_empty(), "the close belongs to the fault before");
    let mut k = kit(1.0, SERVER_FIRST);
    k.rpc.calls.push(call(12, 1.5, Outcome::Fault));
    assert_eq!(run(&mut k).len(), 1, "a fault after it does not explain it");
}

/// An HTTP flow to `port`: one answered request and one unanswered, the server closed first.
fn http(port: u16) -> Kit {
    let mut k = Kit::new();
    let mut c = conv(1);
    c.info.resp.set_port(port);
    c.history = SERVER_FIRST.into();
    let mut t = txn(c.info, AppProto::Http, &[0.01]);
    let mut last = t.samples[0].clone();
    last.request_frame = 9;
    last.response_frame = None;
    last.response_start_ts = None;
    t.samples.push(last);
    t.requests = 2;
    k.apps.transactions.push(t);
    k.convs.push(c);
    k
}

#[test]
fn application_requests_count_except_on_tls_ports() {
    let v = run(&mut http(80));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].evidence.frames, [9, 20]);
    assert!(run(&mut http(443)).is_empty(), "cleartext to a TLS port: protocol_mismatch");
    let mut k = http(80);
    k.apps.transactions[0].requests = 1;
    assert!(run(&mut k).is_empty(), "every request answered");
}
