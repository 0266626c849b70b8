//! `tcp.nagle_delayed_ack` at its numbers: [`MIN_STALLS`] stalls in one conversation to call
//! it a pattern, a problem from 10 stalls or 1 s lost, and 150 ms per stall as the line
//! between Windows' 200 ms and Linux's 40 ms delayed ACK.

use super::{check, MIN_STALLS, PROBLEM_SECS, PROBLEM_STALLS, WINDOWS_DELAY};
use crate::testkit::{conv, Kit};
use crate::Finding;
use crate::Severity::{self, Problem, Warning};

fn run(stalls: &[(u64, f64)]) -> Vec<Finding> {
    let mut k = Kit::new();
    for (i, &(n, secs)) in stalls.iter().enumerate() {
        let mut c = conv(i as u64 + 1);
        c.nagle.stalls = n;
        c.nagle.secs = secs;
        c.nagle.max_secs = if n > 0 { secs / n as f64 } else { 0.0 };
        c.nagle.ack_frames = (0..n.min(10)).map(|f| f + 5).collect();
        k.convs.push(c);
    }
    k.run(check)
}

fn sev(stalls: &[(u64, f64)]) -> Vec<Severity> {
    run(stalls).iter().map(|f| f.severity).collect()
}

#[test]
fn min_stalls_per_conversation() {
    assert_eq!(MIN_STALLS, 3);
    assert!(sev(&[(2, 0.08)]).is_empty());
    assert_eq!(sev(&[(3, 0.12)]), [Warning]);
    // two conversations of 2 stalls each are not a pattern
    assert!(sev(&[(2, 0.08), (2, 0.08)]).is_empty());
}

#[test]
fn ten_stalls_or_one_second_for_a_problem() {
    assert_eq!((PROBLEM_STALLS, PROBLEM_SECS), (10, 1.0));
    assert_eq!(sev(&[(9, 0.36)]), [Warning]);
    assert_eq!(sev(&[(10, 0.40)]), [Problem]);
    assert_eq!(sev(&[(3, 0.999)]), [Warning]);
    assert_eq!(sev(&[(3, 1.0)]), [Problem]);
    // summed over the conversations that qualify
    assert_eq!(sev(&[(5, 0.2), (5, 0.2)]), [Problem]);
}

#[test]
fn the_typical_delay_names_the_stack() {
    assert_eq!(WINDOWS_DELAY, 0.15);
    let os = |secs: f64| run(&[(4, secs)])[0].explanation.contains("Windows");
    assert!(!os(4.0 * 0.149), "149 ms: Linux");
    assert!(os(4.0 * 0.15), "150 ms: Windows");
    assert!(os(4.0 * 0.2));
}
