//! `tcp.loss` just below, at and above each number it compares: 3 retransmissions per
//! direction, a 1% rate (or 1 s of RTO silence) to count, 3% (or 1 s) for a problem, 0.2 s of
//! silence before a retransmission to be a timeout, capture duplicates at 80% of the
//! retransmissions, and the capture span as the cap of the silence.

use tracehound_flows::{Conversation, Dir, TcpFlag};

use super::{check, stall_secs, RTO_STALL};
use super::{DUPLICATE_SHARE, MIN_RATE, MIN_RETRANSMISSIONS, PROBLEM_RATE, STALL_SECS};
use crate::testkit::{conv, flag, Kit};
use crate::Severity::{self, Problem, Warning};

/// The originator sent `pkts` packets, `retx` of them 1000-byte retransmissions.
fn lossy(pkts: u64, retx: u64) -> Conversation {
    let mut c = conv(1);
    c.dirs[0].packets = pkts;
    for i in 0..retx {
        flag(&mut c, TcpFlag::Retransmission, Dir::Orig, 100 + i, 1000);
    }
    c
}

/// The same, each retransmission a timeout after `idle` seconds of silence (RTO 1 s).
fn stalled(pkts: u64, retx: u64, idle: f64) -> Conversation {
    let mut c = lossy(pkts, retx);
    for e in &mut c.events {
        e.rto = Some(1.0);
        e.idle = idle;
    }
    c
}

fn sev(c: Conversation) -> Vec<Severity> {
    let mut k = Kit::new();
    k.convs.push(c);
    k.sev(check, "tcp.loss")
}

#[test]
fn three_retransmissions_per_direction() {
    assert_eq!(MIN_RETRANSMISSIONS, 3);
    assert!(sev(lossy(20, 2)).is_empty(), "2 of 20 (10%) is not enough");
    assert_eq!(sev(lossy(20, 3)), [Problem]);
    assert_eq!(sev(lossy(20, 4)), [Problem]);
}

#[test]
fn one_percent_to_count() {
    assert_eq!(MIN_RATE, 0.01);
    assert!(sev(lossy(1000, 9)).is_empty(), "0.9%");
    assert_eq!(sev(lossy(1000, 10)), [Warning], "1.0%");
    assert_eq!(sev(lossy(1000, 11)), [Warning], "1.1%");
}

#[test]
fn three_percent_for_a_problem() {
    assert_eq!(PROBLEM_RATE, 0.03);
    assert_eq!(sev(lossy(101, 3)), [Warning], "2.97%");
    assert_eq!(sev(lossy(100, 3)), [Problem], "3.00%");
    assert_eq!(sev(lossy(99, 3)), [Problem], "3.03%");
}

#[test]
fn the_rate_is_per_direction() {
    // 3 retransmissions by the responder among its 10 packets; the originator's 1000 packets
    // do not dilute it.
    let mut c = conv(1);
    c.dirs[0].packets = 1000;
    for i in 0..3 {
        flag(&mut c, TcpFlag::Retransmission, Dir::Resp, 100 + i, 1000);
    }
    assert_eq!(sev(c), [Problem]);
}

#[test]
fn a_timeout_is_at_least_rto_stall_of_silence() {
    assert_eq!(RTO_STALL, 0.2);
    let mut c = stalled(10, 1, RTO_STALL - 0.001);
    let below: Vec<_> = c.events.iter().collect();
    assert_eq!(stall_secs(&below), 0.0);
    c.events[0].idle = RTO_STALL;
    assert_eq!(stall_secs(&c.events.iter().collect::<Vec<_>>()), RTO_STALL);
    // the silence counts at most the retransmission's own RTO
    c.events[0].idle = 5.0;
    c.events[0].rto = Some(0.5);
    assert_eq!(stall_secs(&c.events.iter().collect::<Vec<_>>()), 0.5);
}

#[test]
fn one_second_of_rto_silence_counts_and_is_a_problem_at_any_rate() {
    assert_eq!(STALL_SECS, 1.0);
    // 4 of 1000 packets (0.4%): only the silence can make it count.
    assert!(sev(stalled(1000, 4, 0.2499)).is_empty(), "0.9996 s");
    assert_eq!(sev(stalled(1000, 4, 0.25)), [Problem], "1.0 s");
    assert_eq!(sev(stalled(1000, 4, 0.3)), [Problem], "1.2 s");
    // silences shorter than RTO_STALL are not timeouts, however many
    assert!(sev(stalled(1000, 9, 0.19)).is_empty());
}

#[test]
fn the_silence_never_exceeds_the_capture_span() {
    let run = |span: f64| {
        let mut k = Kit::new();
        k.capture.last_ts = k.capture.first_ts + span;
        k.convs.push(stalled(1000, 4, 0.25));
        let v = k.run(check);
        let stall = v[0].evidence.values["rto_stall_secs"].as_f64().unwrap();
        (v[0].severity, stall)
    };
    assert_eq!(run(0.9), (Warning, 0.9));
    assert_eq!(run(1.0), (Problem, 1.0));
    assert_eq!(run(50.0), (Problem, 1.0));
}

#[test]
fn capture_duplicates_at_80_percent_are_left_out() {
    assert_eq!(DUPLICATE_SHARE, 0.8);
    let dup = |n: u64| {
        let mut c = lossy(20, 5);
        c.duplicate_packets = n;
        sev(c)
    };
    assert_eq!(dup(3), [Problem], "3 < 0.8 × 5");
    assert!(dup(4).is_empty(), "4 = 0.8 × 5");
    assert!(dup(5).is_empty());
}

#[test]
fn spurious_and_empty_retransmissions_do_not_count() {
    let mut c = lossy(20, 3);
    c.spurious_retx.push(101);
    assert!(sev(c).is_empty(), "one of 3 was spurious: 2 left");
    let mut c = lossy(20, 3);
    flag(&mut c, TcpFlag::SpuriousRetransmission, Dir::Orig, 102, 1000);
    let mut k = Kit::new();
    k.convs.push(c);
    assert!(k.run(check).is_empty());
    let mut c = lossy(20, 2);
    flag(&mut c, TcpFlag::Retransmission, Dir::Orig, 300, 0);
    assert!(sev(c).is_empty(), "a zero-length retransmission (keep-alive, FIN) is no loss");
}

#[test]
fn unanswered_attempts_are_left_to_tcp_connect() {
    let mut c = lossy(20, 3);
    c.synack_frame = None;
    c.dirs[1].packets = 0;
    assert!(sev(c.clone()).is_empty());
    c.dirs[1].packets = 1;
    assert_eq!(sev(c), [Problem]);
}
