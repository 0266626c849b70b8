//! `tcp.pmtu_blackhole` and `tcp.mss_exceeded` at their numbers: 3 retransmissions of at
//! least [`LARGE`] bytes (and nothing smaller retransmitted, no sign from the peer), the MSS
//! the peer offered, and segments over [`ETHERNET_MAX_SEGMENT`] + 20 as an offload artifact.

use tracehound_flows::{Conversation, Dir, TcpFlag};

use super::{check, LARGE, MIN_LARGE_RETRANSMISSIONS};
use crate::rules::offload::{offload_artifact, ETHERNET_MAX_SEGMENT};
use crate::testkit::{conv, flag, Kit};
use crate::Severity::{self, Problem, Warning};

/// The originator retransmitted segments of these sizes.
fn retx(sizes: &[u32]) -> Conversation {
    let mut c = conv(1);
    for (i, len) in sizes.iter().enumerate() {
        flag(&mut c, TcpFlag::Retransmission, Dir::Orig, 100 + i as u64, *len);
    }
    c
}

fn sev(c: Conversation, id: &str) -> Vec<Severity> {
    let mut k = Kit::new();
    k.convs.push(c);
    k.sev(check, id)
}

const HOLE: &str = "tcp.pmtu_blackhole";

#[test]
fn three_large_retransmissions() {
    assert_eq!((MIN_LARGE_RETRANSMISSIONS, LARGE), (3, 1000));
    assert!(sev(retx(&[1400, 1400]), HOLE).is_empty());
    assert_eq!(sev(retx(&[1400, 1400, 1400]), HOLE), [Problem]);
    assert_eq!(sev(retx(&[LARGE, LARGE, LARGE]), HOLE), [Problem]);
    assert!(sev(retx(&[LARGE - 1, LARGE, LARGE]), HOLE).is_empty(), "one small one");
    assert!(sev(retx(&[1400, 1400, 1400, 200]), HOLE).is_empty(), "small ones were lost too");
}

#[test]
fn any_sign_of_arrival_from_the_peer_clears_it() {
    let mut c = retx(&[1400, 1400, 1400]);
    flag(&mut c, TcpFlag::DuplicateAck, Dir::Resp, 200, 0);
    assert!(sev(c, HOLE).is_empty(), "a duplicate ACK");
    let mut c = retx(&[1400, 1400, 1400]);
    c.dirs[1].sack_used = true;
    assert!(sev(c, HOLE).is_empty(), "SACK blocks");
}

#[test]
fn segments_beyond_a_frame_are_offload() {
    assert_eq!(ETHERNET_MAX_SEGMENT, 1460);
    let big = |n: u32| {
        let mut c = conv(1);
        c.dirs[1].max_segment = n;
        c
    };
    assert!(!offload_artifact(&big(ETHERNET_MAX_SEGMENT + 20)));
    assert!(offload_artifact(&big(ETHERNET_MAX_SEGMENT + 21)));
    let mut c = retx(&[1400, 1400, 1400]);
    c.dirs[1].max_segment = ETHERNET_MAX_SEGMENT + 21;
    assert!(sev(c, HOLE).is_empty());
    let mut c = conv(1);
    c.zero_ip_len = 1;
    assert!(offload_artifact(&c));
}

/// The originator sent `biggest` bytes in one segment; the responder offered MSS 1400.
fn mss(biggest: u32) -> Vec<Severity> {
    let mut c = conv(1);
    c.dirs[1].mss = Some(1400);
    c.dirs[0].max_segment = biggest;
    c.oversize_segments = 1;
    sev(c, "tcp.mss_exceeded")
}

#[test]
fn above_the_offered_mss() {
    assert!(mss(1400).is_empty());
    assert_eq!(mss(1401), [Warning]);
    assert_eq!(mss(1480), [Warning]);
    assert!(mss(1481).is_empty(), "larger than a frame: segmentation offload");
    let mut c = conv(1);
    c.dirs[1].mss = Some(1400);
    c.dirs[0].max_segment = 1401;
    assert!(sev(c, "tcp.mss_exceeded").is_empty(), "the engine counted no oversize segment");
}
