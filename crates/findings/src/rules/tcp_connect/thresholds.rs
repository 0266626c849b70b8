//! `tcp.connect_unanswered`, `tcp.connect_refused` and `udp.port_unreachable` at their
//! numbers: [`RETRY_WINDOW`] seconds of capture after a single SYN before silence is known to
//! be silence, a retransmitted SYN or an ICMP error for a problem, and a UDP flow with no
//! answer besides ICMP port unreachable.

use std::net::SocketAddr;

use tracehound_flows::{ConnState, Conversation, Dir, IcmpError, Proto};

use super::{check, RETRY_WINDOW};
use crate::testkit::{attempt, conv, ts, Kit};
use crate::Severity::{self, Info, Problem, Warning};

fn client() -> SocketAddr {
    "10.0.0.1:50000".parse().unwrap()
}

fn server() -> SocketAddr {
    "10.0.0.2:3389".parse().unwrap()
}

/// One attempt of `syns` SYNs starting at `start`, in a capture that ends at `end`.
fn unanswered(syns: u64, start: f64, end: f64) -> Vec<(&'static str, Severity)> {
    let mut k = Kit::new();
    k.capture.last_ts = end;
    k.convs.push(attempt(1, client(), server(), syns, start));
    k.run(check).iter().map(|f| (f.id, f.severity)).collect()
}

fn icmp(v6: bool, icmp_type: u8, code: u8) -> IcmpError {
    IcmpError { frame: 9, ts: ts(1.0), from: [10, 0, 0, 254].into(), v6, icmp_type, code }
}

#[test]
fn a_single_syn_needs_the_retry_window_after_it() {
    assert_eq!(RETRY_WINDOW, 3.0);
    assert_eq!(unanswered(1, 10.0, 12.99), [("tcp.connect_unanswered", Info)]);
    assert_eq!(unanswered(1, 10.0, 13.0), [("tcp.connect_unanswered", Warning)]);
    assert_eq!(unanswered(1, 10.0, 60.0), [("tcp.connect_unanswered", Warning)]);
}

#[test]
fn a_retransmitted_syn_is_a_problem_even_near_the_end() {
    assert_eq!(unanswered(2, 10.0, 12.0), [("tcp.connect_unanswered", Problem)]);
    assert_eq!(unanswered(2, 10.0, 60.0), [("tcp.connect_unanswered", Problem)]);
}

#[test]
fn an_icmp_error_is_a_problem_even_for_one_syn_near_the_end() {
    let mut c = attempt(1, client(), server(), 1, 10.0);
    c.state = None;
    c.icmp_errors.push(icmp(false, 3, 13));
    let mut k = Kit::new();
    k.capture.last_ts = 10.5;
    k.convs.push(c.clone());
    assert_eq!(k.sev(check, "tcp.connect_unanswered"), [Problem]);
    // an answer from the server itself makes it no unanswered attempt
    c.dirs[1].packets = 1;
    k.convs = vec![c];
    assert!(k.sev(check, "tcp.connect_unanswered").is_empty());
}

#[test]
fn a_reset_to_the_syn_is_a_refusal() {
    let mut c = attempt(1, client(), server(), 1, 10.0);
    c.state = Some(ConnState::REJ);
    c.rst_frames = vec![(12, Dir::Resp)];
    c.dirs[1].packets = 1;
    let mut k = Kit::new();
    k.convs.push(c.clone());
    assert_eq!(k.sev(check, "tcp.connect_refused"), [Problem]);
    c.state = Some(ConnState::SF);
    k.convs = vec![c];
    assert!(k.run(check).is_empty(), "an established conversation is no failed attempt");
}

/// A UDP datagram to 10.0.0.2:161 answered by `answers` datagrams and one ICMP error.
fn udp(e: IcmpError, answers: u64) -> Vec<Severity> {
    let mut c: Conversation = conv(1);
    c.info.proto = Proto::Udp;
    c.info.resp = "10.0.0.2:161".parse().unwrap();
    c.state = None;
    c.dirs[1].packets = answers;
    c.icmp_errors.push(e);
    let mut k = Kit::new();
    k.convs.push(c);
    k.sev(check, "udp.port_unreachable")
}

#[test]
fn udp_port_unreachable_needs_that_code_and_no_answer() {
    assert_eq!(udp(icmp(false, 3, 3), 0), [Warning]);
    assert_eq!(udp(icmp(true, 1, 4), 0), [Warning]);
    assert!(udp(icmp(false, 3, 3), 1).is_empty(), "the service answered too");
    assert!(udp(icmp(false, 3, 1), 0).is_empty(), "host unreachable is not a closed port");
    assert!(udp(icmp(true, 1, 3), 0).is_empty());
}
