//! `rpc.refused` at its numbers: [`KEEPS_FAILING`] failures of one call never succeeding, a
//! connection closed within [`ENDED_WITHIN`] seconds of the failure's answer, access denied
//! (problems); the same operation succeeding later, or an operation number the interface
//! never had (info); probe-style answers (nothing); otherwise a warning.

use tracehound_rpc::calls::Outcome;
use tracehound_rpc::Call;

use super::{check, ENDED_WITHIN, KEEPS_FAILING};
use crate::testkit::{call, conv, ts, Kit};
use crate::Severity::{self, Info, Problem, Warning};

fn fault(frame: u64, secs: f64) -> Call {
    let mut c = call(frame, secs, Outcome::Fault);
    c.status = Some("nca_s_fault_ndr".into());
    c.status_code = Some(0x1c00_0003);
    c
}

/// The calls on conversation 1 (10 s long, closed by the client's FIN at 10 s).
fn sev(calls: Vec<Call>) -> Vec<Severity> {
    let mut k = Kit::new();
    k.convs.push(conv(1));
    k.rpc.calls = calls;
    k.sev(check, "rpc.refused")
}

#[test]
fn keeps_failing_from_three_failures() {
    assert_eq!(KEEPS_FAILING, 3);
    assert_eq!(sev(vec![fault(10, 1.0)]), [Warning]);
    assert_eq!(sev(vec![fault(10, 1.0), fault(12, 2.0)]), [Warning]);
    assert_eq!(sev(vec![fault(10, 1.0), fault(12, 2.0), fault(14, 3.0)]), [Problem]);
}

#[test]
fn ended_within_two_seconds_of_the_answer() {
    assert_eq!(ENDED_WITHIN, 2.0);
    let ended = |end: f64, history: &str| {
        let mut k = Kit::new();
        let mut c = conv(1);
        c.end = ts(end);
        c.history = history.into();
        k.convs.push(c);
        let mut f = fault(10, 7.5);
        f.rtt = Some(0.5);
        k.rpc.calls = vec![f];
        k.sev(check, "rpc.refused")
    };
    assert_eq!(ended(10.0, "ShADadFf"), [Problem], "answer at 8.0 s, closed at 10.0 s");
    assert_eq!(ended(10.001, "ShADadFf"), [Warning]);
    assert_eq!(ended(9.0, "ShADadr"), [Problem], "a server reset");
    assert_eq!(ended(9.0, "ShADad"), [Warning], "nobody closed it");
    // a later call answered on the same association: it did not end there
    let mut k = Kit::new();
    let mut c = conv(1);
    c.end = ts(9.0);
    k.convs.push(c);
    let mut later = call(20, 8.5, Outcome::Ok);
    later.opnum = Some(8);
    k.rpc.calls = vec![fault(10, 7.5), later];
    assert_eq!(k.sev(check, "rpc.refused"), [Warning]);
}

#[test]
fn success_of_the_same_operation_later_is_info() {
    assert_eq!(sev(vec![fault(10, 1.0), call(12, 2.0, Outcome::Ok)]), [Info]);
    assert_eq!(sev(vec![call(8, 0.5, Outcome::Ok), fault(10, 1.0)]), [Warning], "before it");
    let mut other = call(12, 2.0, Outcome::Ok);
    other.opnum = Some(8);
    assert_eq!(sev(vec![fault(10, 1.0), other]), [Warning], "another operation");
    // a failed bind (no opnum) is retried by any call of its interface
    let mut nak = call(10, 1.0, Outcome::BindNak);
    nak.opnum = None;
    assert_eq!(sev(vec![nak.clone()]), [Warning]);
    assert_eq!(sev(vec![nak, call(12, 2.0, Outcome::Ok)]), [Info]);
}

#[test]
fn access_denied_is_a_problem_at_once() {
    let mut e = call(10, 1.0, Outcome::Error);
    e.status = Some("STATUS_ACCESS_DENIED".into());
    e.status_code = Some(0xc000_0022);
    assert_eq!(sev(vec![e]), [Problem]);
}

#[test]
fn probes_are_not_refusals() {
    let mut qi = call(10, 1.0, Outcome::Fault);
    qi.uuid = Some(tracehound_rpc::known::IREMUNKNOWN_TEXT.into());
    qi.opnum = Some(3);
    qi.status_code = Some(0x8000_4002);
    assert!(sev(vec![qi.clone()]).is_empty(), "QueryInterface E_NOINTERFACE");
    qi.status_code = Some(0x8000_4001);
    assert_eq!(sev(vec![qi]).len(), 1, "another status is a refusal");
    let mut size = call(10, 1.0, Outcome::Error);
    size.status_code = Some(122);
    assert!(sev(vec![size.clone()]).is_empty(), "ERROR_INSUFFICIENT_BUFFER");
    size.status_code = Some(5);
    assert_eq!(sev(vec![size]).len(), 1);
    let mut epm = call(10, 1.0, Outcome::Error);
    epm.uuid = Some(tracehound_rpc::known::EPM_TEXT.into());
    epm.status_code = Some(0x16c9_a0d6);
    assert!(sev(vec![epm]).is_empty(), "rpc.endpoint_not_registered's");
    assert!(sev(vec![call(10, 1.0, Outcome::Ok), call(11, 1.0, Outcome::NoResponse)]).is_empty());
}

#[test]
fn an_operation_the_interface_never_had_is_info() {
    // SAMR (12345778-…) names operations far below 200
    let mut f = fault(10, 1.0);
    f.opnum = Some(200);
    let three = vec![f.clone(), Call { frame: 12, ..f.clone() }, Call { frame: 14, ..f }];
    assert_eq!(sev(three), [Info]);
}

#[test]
fn the_same_refusal_on_two_ports_names_each_port() {
    let titles = |ports: &[u16]| {
        let mut k = Kit::new();
        k.convs.push(conv(1));
        k.rpc.calls = ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut c = fault(10 + i as u64 * 2, 1.0 + i as f64);
                c.dport = *p;
                c
            })
            .collect();
        k.run(check).into_iter().map(|f| f.title).collect::<Vec<_>>()
    };
    let one = titles(&[135]);
    assert_eq!(one.len(), 1);
    assert!(!one[0].contains(":135"), "{one:?}");
    let two = titles(&[135, 49154]);
    assert_eq!(two.len(), 2);
    assert!(
        two.iter().any(|t| t.contains(":135:")) && two.iter().any(|t| t.contains(":49154:")),
        "{two:?}"
    );
}
