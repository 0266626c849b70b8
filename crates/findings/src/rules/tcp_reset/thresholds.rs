//! `tcp.service_reset`, `tcp.idle_reset`, `tcp.idle_close` and `tcp.injected_reset` at their
//! numbers: refusals from the first reset's end on, [`IDLE_RESET_SECS`] of silence, an IP ID
//! within 4096 of the sender's own sequence, and payload before the reset.

use tracehound_flows::{ConnState, Conversation, Dir, RstFact};

use super::{check, IDLE_RESET_SECS};
use crate::testkit::{conv, ts, Kit};
use crate::Severity::{Info, Problem, Warning};
use crate::{Finding, Severity};

/// An established conversation with payload that the server reset in frame 20 at 10 s.
fn reset() -> Conversation {
    let mut c = conv(1);
    c.state = Some(ConnState::RSTR);
    c.history = "ShADadR".into();
    c.rst_frames = vec![(20, Dir::Resp)];
    c
}

/// A later attempt refused with a reset, starting at `start` seconds.
fn refused(id: u64, start: f64) -> Conversation {
    let mut c = conv(id);
    c.state = Some(ConnState::REJ);
    c.history = "Sr".into();
    c.synack_frame = None;
    c.dirs[0].payload_bytes = 0;
    c.dirs[1].payload_bytes = 0;
    c.start = ts(start);
    c.end = ts(start);
    c.first_frame = 30 + id;
    c.rst_frames = vec![(31 + id, Dir::Resp)];
    c
}

/// The server's RST, its TTL and IP ID fitting its other packets, everything acknowledged.
fn own_rst(idle: f64) -> RstFact {
    RstFact {
        frame: 20,
        dir: Dir::Resp,
        ttl: 64,
        ip_id: 101,
        prev_ip_id: Some(100),
        next_ip_id: None,
        peer_ip_id: Some(7),
        prev_ttl: Some(64),
        acks_peer_isn: false,
        all_acked: true,
        idle_before: idle,
        packets_after: 0,
    }
}

fn found(convs: Vec<Conversation>) -> Vec<(&'static str, Severity)> {
    let mut k = Kit::new();
    k.convs = convs;
    let v: Vec<Finding> = k.run(check);
    v.iter().map(|f| (f.id, f.severity)).collect()
}

#[test]
fn refusals_from_the_end_of_the_reset_on() {
    assert_eq!(found(vec![reset(), refused(2, 10.0)]), [("tcp.service_reset", Problem)]);
    assert_eq!(found(vec![reset(), refused(2, 12.0)]), [("tcp.service_reset", Problem)]);
    assert!(found(vec![reset(), refused(2, 9.999_999)]).is_empty(), "refused before it");
}

#[test]
fn only_a_reset_of_a_session_with_payload_counts() {
    let mut r = reset();
    r.dirs[0].payload_bytes = 0;
    r.dirs[1].payload_bytes = 0;
    assert!(found(vec![r.clone(), refused(2, 11.0)]).is_empty());
    r.dirs[1].payload_bytes = 1;
    assert_eq!(found(vec![r.clone(), refused(2, 11.0)]), [("tcp.service_reset", Problem)]);
    r.synack_frame = None;
    assert!(found(vec![r, refused(2, 11.0)]).is_empty(), "never established");
}

#[test]
fn idle_reset_from_thirty_seconds_of_silence() {
    let idle = |secs: f64| {
        let mut c = reset();
        c.idle_before_rst = Some(secs);
        found(vec![c])
    };
    assert_eq!(IDLE_RESET_SECS, 30.0);
    assert!(idle(29.999).is_empty());
    assert_eq!(idle(30.0), [("tcp.idle_reset", Warning)]);
    assert_eq!(idle(600.0), [("tcp.idle_reset", Warning)]);
}

#[test]
fn a_reset_with_another_ttl_is_a_device_on_the_path_at_any_idle() {
    let mut c = reset();
    c.rst_ttl_mismatch = Some((20, 50, 64));
    c.idle_before_rst = Some(0.5);
    assert_eq!(found(vec![c]), [("tcp.idle_reset", Warning)]);
}

#[test]
fn the_hosts_own_reset_after_silence_is_info() {
    let with = |r: RstFact| {
        let mut c = reset();
        c.idle_before_rst = Some(r.idle_before);
        c.rsts = vec![r];
        found(vec![c])
    };
    assert_eq!(with(own_rst(45.0)), [("tcp.idle_close", Info)]);
    assert!(with(own_rst(29.0)).is_empty(), "not idle long enough to be judged");
    // IP ID up to 4096 above its previous packet's continues its sequence
    assert_eq!(with(RstFact { ip_id: 100 + 4096, ..own_rst(45.0) }), [("tcp.idle_close", Info)]);
    assert_eq!(with(RstFact { ip_id: 100 + 4097, ..own_rst(45.0) }), [("tcp.idle_reset", Warning)]);
    assert_eq!(with(RstFact { all_acked: false, ..own_rst(45.0) }), [("tcp.idle_reset", Warning)]);
    assert_eq!(
        with(RstFact { prev_ttl: Some(63), ..own_rst(45.0) }),
        [("tcp.idle_reset", Warning)]
    );
}

/// A conversation carrying one RST fact (the usual TTL of the server is 64).
fn injected(r: RstFact) -> Vec<(&'static str, Severity)> {
    let mut c = conv(1);
    c.rsts = vec![r];
    found(vec![c])
}

fn forged() -> RstFact {
    RstFact {
        ttl: 50,
        prev_ip_id: None,
        next_ip_id: None,
        all_acked: false,
        acks_peer_isn: true,
        ..own_rst(0.1)
    }
}

#[test]
fn a_forged_reset_needs_another_ttl_and_no_long_silence() {
    assert_eq!(injected(forged()), [("tcp.injected_reset", Problem)]);
    assert!(injected(RstFact { ttl: 64, ..forged() }).is_empty(), "the sender's own TTL");
    assert_eq!(
        injected(RstFact { idle_before: IDLE_RESET_SECS - 0.01, ..forged() }),
        [("tcp.injected_reset", Problem)]
    );
    assert!(injected(RstFact { idle_before: IDLE_RESET_SECS, ..forged() }).is_empty());
}

#[test]
fn a_forged_reset_needs_one_sign_of_forgery() {
    let plain = RstFact { acks_peer_isn: false, peer_ip_id: Some(9), ..forged() };
    assert!(injected(plain).is_empty(), "another TTL alone is not enough");
    // the peer's IP ID copied (0 does not count: many stacks always send 0)
    assert_eq!(
        injected(RstFact { peer_ip_id: Some(101), ..plain }),
        [("tcp.injected_reset", Problem)]
    );
    assert!(injected(RstFact { ip_id: 0, peer_ip_id: Some(0), ..plain }).is_empty());
    // the sender went on, and the RST's IP ID is not just below its next packet's (1..=4096)
    assert!(injected(RstFact { next_ip_id: Some(101 + 4096), ..plain }).is_empty());
    assert_eq!(
        injected(RstFact { next_ip_id: Some(101 + 4097), ..plain }),
        [("tcp.injected_reset", Problem)]
    );
    assert_eq!(
        injected(RstFact { next_ip_id: Some(101), ..plain }),
        [("tcp.injected_reset", Problem)]
    );
}
