//! The capture-artifact rules at their numbers: the initial TTLs that mark packets the
//! capture host sent, the handshake timing that places the capture (one leg 4× the other and
//! above 0.5 ms), segments over a frame, duplicates from 5% of the packets, and a single
//! ACK of unseen data.

use tracehound_flows::{Conversation, Dir, TcpFlag};

use super::{check, DUPLICATE_SHARE};
use crate::rules::offload::{capture_side, offload_checksums, rewritten, INITIAL_TTLS};
use crate::rules::offload::{SIDE_MIN_SECS, SIDE_RATIO};
use crate::testkit::{conv, flag, Kit};
use crate::Severity::{self, Artifact, Warning};

fn found(c: Conversation) -> Vec<(&'static str, Severity)> {
    let mut k = Kit::new();
    k.convs.push(c);
    k.run(check).iter().map(|f| (f.id, f.severity)).collect()
}

/// Bad checksums on packets of direction `dir` arriving with TTL `ttl`.
fn bad_sums(dir: Dir, ttl: u8) -> Conversation {
    let mut c = conv(1);
    c.ttl[dir.idx()] = Some(ttl);
    c.bad_checksum_dirs[dir.idx()] = 4;
    c.bad_checksums = 4;
    c
}

#[test]
fn bad_checksums_with_a_senders_ttl_are_offload() {
    for t in INITIAL_TTLS {
        assert_eq!(found(bad_sums(Dir::Orig, t)), [("capture.artifact", Artifact)], "TTL {t}");
    }
    // one hop less: routed to the capture point, offload cannot explain it
    for t in INITIAL_TTLS.map(|t| t - 1) {
        assert_eq!(
            found(bad_sums(Dir::Orig, t)),
            [("capture.bad_checksums_received", Warning)],
            "TTL {t}"
        );
    }
}

#[test]
fn the_handshake_timing_places_the_capture() {
    assert_eq!((SIDE_RATIO, SIDE_MIN_SECS), (4.0, 0.0005));
    let side = |syn_to_synack: f64, rtt: f64| {
        let mut c = conv(1);
        c.syn_to_synack = Some(syn_to_synack);
        c.handshake_rtt = Some(rtt);
        capture_side(&c)
    };
    // client side: the SYN-ACK a round trip after the SYN, the ACK right after it
    assert_eq!(side(0.5, 0.62), Some(Dir::Orig), "0.5 > 4 × 0.12");
    assert_eq!(side(0.5, 0.625), None, "0.5 = 4 × 0.125");
    assert_eq!(side(0.125, 0.75), Some(Dir::Resp), "0.625 > 4 × 0.125");
    assert_eq!(side(0.125, 0.625), None, "0.5 = 4 × 0.125");
    // and the long leg above 0.5 ms
    assert_eq!(side(0.0005, 0.0005), None);
    assert_eq!(side(0.000_501, 0.000_501), Some(Dir::Orig));
    // a capture at the server: its own packets (the responder's) carry the sender's TTL
    let mut c = bad_sums(Dir::Orig, 64);
    c.syn_to_synack = Some(0.000_01);
    c.handshake_rtt = Some(0.02);
    assert_eq!(offload_checksums(&c, Dir::Orig), 0, "the capture was at the server");
    assert_eq!(found(c), [("capture.bad_checksums_received", Warning)]);
}

#[test]
fn merged_segments_beyond_a_frame_explain_bad_checksums_at_any_ttl() {
    let mut c = bad_sums(Dir::Resp, 57);
    c.dirs[1].max_segment = 1480;
    assert_eq!(offload_checksums(&c, Dir::Resp), 0);
    c.dirs[1].max_segment = 1481;
    assert_eq!(offload_checksums(&c, Dir::Resp), 4);
    assert_eq!(found(c), [("capture.artifact", Artifact)]);
}

#[test]
fn ttl_zero_or_bad_ip_checksums_both_ways_mean_rewritten() {
    let mut c = conv(1);
    assert!(!rewritten(&c));
    c.bad_ip_checksums = [3, 0];
    assert!(!rewritten(&c), "one way only");
    assert!(found(c.clone()).is_empty());
    c.bad_ip_checksums = [3, 1];
    assert!(rewritten(&c));
    assert_eq!(found(c), [("capture.rewritten", Artifact)]);
    let mut c = conv(1);
    c.ttl_zero = [0, 1];
    // a rewritten trace's bad TCP checksums are neither offload nor damage on the way
    c.bad_checksum_dirs = [2, 2];
    assert_eq!(found(c), [("capture.rewritten", Artifact)]);
}

#[test]
fn duplicates_from_five_percent_of_the_packets() {
    assert_eq!(DUPLICATE_SHARE, 0.05);
    let dup = |packets: u64, dups: u64| {
        let mut c = conv(1);
        c.dirs[0].packets = packets - 10;
        c.duplicate_packets = dups;
        c.duplicated_packets = dups;
        c.duplicate_max_copies = 2;
        found(c)
    };
    assert!(dup(21, 1).is_empty(), "4.8%");
    assert_eq!(dup(20, 1), [("capture.artifact", Artifact)], "5%");
    assert_eq!(dup(100, 5), [("capture.artifact", Artifact)]);
    assert!(dup(101, 5).is_empty());
}

#[test]
fn one_ack_of_unseen_data_means_missed_packets() {
    let mut c = conv(1);
    assert!(found(c.clone()).is_empty());
    flag(&mut c, TcpFlag::AckLostSegment, Dir::Resp, 12, 0);
    assert_eq!(found(c), [("capture.missed_packets", Artifact)]);
}

#[test]
fn a_rewritten_conversation_names_only_the_marks_it_has() {
    let lines = |c: Conversation| {
        let mut k = Kit::new();
        k.convs.push(c);
        let f = k.run(check);
        let r = f.iter().find(|f| f.id == "capture.rewritten").expect("capture.rewritten");
        r.evidence.lines.clone()
    };
    let mut c = conv(1);
    c.bad_ip_checksums = [16, 14];
    let l = lines(c);
    assert!(
        l[0].ends_with(": bad IP header checksums on 16 packets one way and 14 the other"),
        "{l:?}"
    );
    let mut c = conv(1);
    c.ttl_zero = [1, 0];
    let l = lines(c);
    assert!(l[0].ends_with(": TTL 0 on 1 packet"), "{l:?}");
    let mut c = conv(1);
    c.ttl_zero = [2, 1];
    c.bad_ip_checksums = [3, 4];
    let l = lines(c);
    assert!(
        l[0].ends_with(
            ": TTL 0 on 3 packets, bad IP header checksums on 3 packets one way and 4 the other"
        ),
        "{l:?}"
    );
}
