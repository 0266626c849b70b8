//! `rpc.endpoint_unreachable`, `rpc.endpoint_address_mismatch` and
//! `rpc.endpoint_not_registered`: which follow-ups are failures, an address mismatch a
//! problem only when the attempt then failed, and an ept_map answer with no tower or
//! EPT_S_NOT_REGISTERED.

use tracehound_rpc::calls::{Endpoint, Outcome};
use tracehound_rpc::endpoints::{Attempt, EndpointReport, HandedOutBy};

use super::check;
use crate::testkit::{call, Kit};
use crate::Severity::{self, Problem, Warning};

fn handed_out(follow_up: &'static str, address: &str) -> EndpointReport {
    EndpointReport {
        binding: format!("ncacn_ip_tcp:{address}[49701]"),
        handed_out_by: HandedOutBy {
            frame: 5,
            response_frame: 6,
            source: "epm",
            interface: Some("epm".into()),
            operation: Some("ept_map".into()),
            client: "10.0.0.1:50000".into(),
        },
        asked_address: "10.0.0.2".into(),
        address: Some(address.into()),
        port: Some(49701),
        protocol: Some("ncacn_ip_tcp".into()),
        uuid: Some("12345778-1234-abcd-ef00-0123456789ac".into()),
        interface: Some("samr".into()),
        follow_up,
        state: None,
        attempts: vec![Attempt {
            src: "10.0.0.1".into(),
            sport: 50001,
            frame: 9,
            syn_frames: vec![9, 12],
            synack_frame: None,
            rst_frames: Vec::new(),
            delay: 0.01,
            outcome: follow_up,
            state: Some("S0".into()),
            icmp: Vec::new(),
        }],
        address_differs: address != "10.0.0.2",
        attempts_dropped: 0,
    }
}

fn found(eps: Vec<EndpointReport>) -> Vec<(&'static str, Severity)> {
    let mut k = Kit::new();
    k.endpoints = eps;
    k.run(check).iter().map(|f| (f.id, f.severity)).collect()
}

#[test]
fn failed_follow_ups_are_unreachable_endpoints() {
    for f in ["unanswered", "refused", "icmp_prohibited", "icmp_unreachable"] {
        assert_eq!(
            found(vec![handed_out(f, "10.0.0.2")]),
            [("rpc.endpoint_unreachable", Problem)],
            "{f}"
        );
    }
    assert!(found(vec![handed_out("answered", "10.0.0.2")]).is_empty());
    assert!(found(vec![handed_out("not_tried", "10.0.0.2")]).is_empty());
}

#[test]
fn an_address_mismatch_is_a_problem_when_the_attempt_failed() {
    assert_eq!(
        found(vec![handed_out("answered", "192.168.5.2")]),
        [("rpc.endpoint_address_mismatch", Warning)]
    );
    let v = found(vec![handed_out("unanswered", "192.168.5.2")]);
    assert!(v.contains(&("rpc.endpoint_address_mismatch", Problem)), "{v:?}");
    assert!(v.contains(&("rpc.endpoint_unreachable", Problem)), "{v:?}");
}

/// An ept_map call answered `outcome` with `towers` towers and EPM status `code`.
fn ept_map(outcome: Outcome, towers: usize, code: Option<u32>) -> Vec<(&'static str, Severity)> {
    let mut c = call(5, 1.0, outcome);
    c.uuid = Some(tracehound_rpc::known::EPM_TEXT.into());
    c.opnum = Some(3);
    c.dport = 135;
    c.status_code = code;
    c.endpoints = (0..towers)
        .map(|i| Endpoint {
            binding: format!("ncacn_ip_tcp:10.0.0.2[{}]", 49700 + i),
            protocol: Some("ncacn_ip_tcp".into()),
            address: Some("10.0.0.2".into()),
            port: Some(49700 + i as u16),
            pipe: None,
            uuid: None,
        })
        .collect();
    let mut k = Kit::new();
    k.rpc.calls.push(c);
    k.run(check).iter().map(|f| (f.id, f.severity)).collect()
}

#[test]
fn an_ept_map_answer_without_a_tower_is_not_registered() {
    assert!(ept_map(Outcome::Ok, 1, None).is_empty());
    assert_eq!(ept_map(Outcome::Ok, 0, None), [("rpc.endpoint_not_registered", Problem)]);
    assert_eq!(
        ept_map(Outcome::Error, 0, Some(0x16c9_a0d6)),
        [("rpc.endpoint_not_registered", Problem)]
    );
    assert!(ept_map(Outcome::Fault, 0, None).is_empty(), "a fault is rpc.refused's");
}

/// The attempt's conversation (first frame 9) answered by an ICMP error from `from`, or by a
/// reset whose TTL differs from the server's other packets.
fn answered_by(follow_up: &'static str, icmp_from: Option<[u8; 4]>, forged_rst: bool) -> String {
    let mut c = crate::testkit::conv(5);
    c.first_frame = 9;
    c.info.resp = "10.0.0.2:49701".parse().unwrap();
    if let Some(from) = icmp_from {
        c.icmp_errors.push(tracehound_flows::IcmpError {
            frame: 10,
            ts: crate::testkit::ts(1.0),
            from: from.into(),
            v6: false,
            icmp_type: 3,
            code: 13,
        });
    }
    if forged_rst {
        c.rst_frames = vec![(10, tracehound_flows::Dir::Resp)];
        c.rst_ttl_mismatch = Some((10, 61, 128));
    }
    let mut k = Kit::new();
    k.convs.push(c);
    k.endpoints = vec![handed_out(follow_up, "10.0.0.2")];
    let v = k.run(check);
    format!("{} | {}", v[0].explanation, v[0].likely_causes.join(" | "))
}

#[test]
fn who_answered_the_attempt_is_named() {
    let host = answered_by("icmp_prohibited", Some([10, 0, 0, 2]), false);
    assert!(host.contains("the server itself (10.0.0.2)"), "{host}");
    let router = answered_by("icmp_prohibited", Some([10, 0, 0, 254]), false);
    assert!(router.contains("10.0.0.254, a router or firewall on the path"), "{router}");
    let rst = answered_by("refused", None, true);
    assert!(rst.contains("TTL 61 while 10.0.0.2's other packets arrive with TTL 128"), "{rst}");
    let causes = rst.split(" | ").nth(1).unwrap();
    assert!(causes.starts_with("a load balancer or firewall rejecting"), "{causes}");
    let plain = answered_by("refused", None, false);
    assert!(!plain.split(" | ").nth(1).unwrap().starts_with("a load balancer"), "{plain}");
}
