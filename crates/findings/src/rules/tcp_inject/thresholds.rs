//! `tcp.injected_data`: one pair of segments with different bytes at one sequence number is
//! enough (always a problem); the segment whose TTL differs from the sender's usual one is
//! named as the forged one.

use tracehound_flows::{DataConflict, Dir};

use super::check;
use crate::testkit::{conv, Kit};
use crate::Finding;
use crate::Severity::Problem;

fn conflict(first_ttl: u8, second_ttl: u8) -> DataConflict {
    DataConflict {
        dir: Dir::Resp,
        seq: 1000,
        first_frame: 7,
        first_ttl,
        first_len: 200,
        second_frame: 8,
        second_ttl,
        second_len: 200,
        compared: 64,
    }
}

fn run(conflicts: Vec<DataConflict>) -> Vec<Finding> {
    let mut c = conv(1);
    c.ttl = [Some(64), Some(52)];
    c.data_conflicts = conflicts;
    let mut k = Kit::new();
    k.convs.push(c);
    k.run(check)
}

#[test]
fn none_without_a_conflict_one_with_one() {
    assert!(run(vec![]).is_empty());
    let v = run(vec![conflict(52, 60)]);
    assert_eq!(
        v.iter().map(|f| (f.id, f.severity)).collect::<Vec<_>>(),
        [("tcp.injected_data", Problem)]
    );
    assert_eq!(v[0].evidence.values["conflicts"], 1);
}

#[test]
fn the_segment_with_the_other_ttl_is_the_forged_one() {
    // the sender's packets arrive with TTL 52
    assert_eq!(run(vec![conflict(52, 60)])[0].evidence.values["forged_frame"], 8);
    assert_eq!(run(vec![conflict(60, 52)])[0].evidence.values["forged_frame"], 7);
}
