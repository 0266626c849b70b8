//! `tcp.zero_window` at its numbers: one zero-window period to report, 1 s of it for a
//! problem; each direction judged on its own.

use tracehound_flows::{Dir, TcpFlag};

use super::{check, PROBLEM_SECS};
use crate::testkit::{conv, flag, Kit};
use crate::Severity::{self, Problem, Warning};

fn sev(dir: Dir, periods: u32, secs: f64) -> Vec<Severity> {
    let mut c = conv(1);
    c.zero_window_periods[dir.idx()] = periods;
    c.zero_window_secs[dir.idx()] = secs;
    if periods > 0 {
        flag(&mut c, TcpFlag::ZeroWindow, dir, 50, 0);
    }
    let mut k = Kit::new();
    k.convs.push(c);
    k.sev(check, "tcp.zero_window")
}

#[test]
fn one_period_to_report() {
    assert!(sev(Dir::Resp, 0, 5.0).is_empty(), "seconds without a period say nothing");
    assert_eq!(sev(Dir::Resp, 1, 0.1), [Warning]);
    assert_eq!(sev(Dir::Orig, 1, 0.1), [Warning]);
}

#[test]
fn one_second_for_a_problem() {
    assert_eq!(PROBLEM_SECS, 1.0);
    assert_eq!(sev(Dir::Resp, 3, 0.999), [Warning]);
    assert_eq!(sev(Dir::Resp, 3, 1.0), [Problem]);
    assert_eq!(sev(Dir::Resp, 3, 1.001), [Problem]);
}

#[test]
fn the_receiver_is_the_advertising_side() {
    let mut c = conv(1);
    c.zero_window_periods = [1, 2];
    c.zero_window_secs = [0.5, 2.0];
    let mut k = Kit::new();
    k.convs.push(c);
    let v = k.run(check);
    let r: Vec<_> = v.iter().map(|f| (f.evidence.values["receiver"].clone(), f.severity)).collect();
    assert_eq!(r, [("10.0.0.1:40001".into(), Warning), ("10.0.0.2:445".into(), Problem)]);
}
