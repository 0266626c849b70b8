//! `dns.failure` by what each query's outcome and RCODE mean: NXDOMAIN alone is a warning;
//! SERVFAIL, REFUSED, other error codes, no answer and a late answer are a problem;
//! multicast silence, NOERROR and a query the capture ended too soon to judge are nothing.

use tracehound_apps::{DnsOutcome, DnsQuery};
use tracehound_flows::Proto;

use super::{check, ID};
use crate::testkit::{ts, Kit};
use crate::Severity::{self, Problem, Warning};

fn query(i: u16, outcome: DnsOutcome, rcode: Option<u16>) -> DnsQuery {
    let answered = rcode.is_some();
    DnsQuery {
        transport: Proto::Udp,
        flow_id: u64::from(i),
        client: format!("10.0.0.1:{}", 40000 + i).parse().unwrap(),
        server: "10.0.0.53:53".parse().unwrap(),
        multicast: false,
        id: i,
        name: format!("host{i}.lab.test"),
        qtype: "A".into(),
        qtype_code: 1,
        query_frame: Some(2 * u64::from(i) + 1),
        query_ts: Some(ts(f64::from(i))),
        retransmissions: 0,
        retransmit_frames: Vec::new(),
        response_frame: answered.then_some(2 * u64::from(i) + 2),
        response_ts: answered.then(|| ts(f64::from(i) + 0.01)),
        rcode,
        rcode_name: rcode.map(|r| format!("rcode{r}")),
        answers: answered.then_some(0),
        truncated: false,
        response_time: answered.then_some(0.01),
        outcome,
    }
}

fn sev(qs: Vec<DnsQuery>) -> Vec<Severity> {
    let mut k = Kit::new();
    k.apps.dns = qs;
    k.sev(check, ID)
}

fn answered(i: u16, rcode: u16) -> DnsQuery {
    query(i, DnsOutcome::Answered, Some(rcode))
}

#[test]
fn noerror_is_no_failure() {
    assert!(sev(vec![answered(1, 0), answered(2, 0)]).is_empty());
    assert!(sev(vec![query(1, DnsOutcome::CaptureEnded, None)]).is_empty());
    assert!(sev(vec![query(1, DnsOutcome::ResponseOnly, Some(0))]).is_empty());
}

#[test]
fn nxdomain_alone_is_a_warning() {
    assert_eq!(sev(vec![answered(1, 0), answered(2, 3)]), [Warning]);
    assert_eq!(sev(vec![answered(1, 3), answered(2, 3)]), [Warning]);
}

#[test]
fn any_other_failure_makes_it_a_problem() {
    for rcode in [1, 2, 4, 5, 9] {
        assert_eq!(sev(vec![answered(1, 3), answered(2, rcode)]), [Problem], "rcode {rcode}");
    }
    assert_eq!(sev(vec![answered(1, 3), query(2, DnsOutcome::Unanswered, None)]), [Problem]);
    assert_eq!(sev(vec![query(2, DnsOutcome::Late, Some(0))]), [Problem]);
}

#[test]
fn multicast_silence_is_normal() {
    let mut q = query(1, DnsOutcome::Unanswered, None);
    q.multicast = true;
    assert!(sev(vec![q.clone()]).is_empty());
    q.multicast = false;
    assert_eq!(sev(vec![q]), [Problem]);
}
