//! `rpc.http_tunnel`: one finding per failure kind, proxy and target; an HTTP error, a
//! missing CONN/A3 or CONN/C2 is a problem, an IN channel without OUT channel a warning, a
//! recycled channel information; no failure, no finding.

use tracehound_rpc::{ChannelFailure, FailureKind};

use super::{check, ID};
use crate::testkit::Kit;
use crate::Severity::{self, Info, Problem, Warning};

fn failure(kind: FailureKind, frame: u64, status: Option<(u16, &str)>) -> ChannelFailure {
    ChannelFailure {
        kind,
        frame,
        client: "10.0.1.5:50000".parse().unwrap(),
        proxy: "10.0.2.1:443".parse().unwrap(),
        method: "RPC_OUT_DATA".into(),
        target: Some("exch01:6001".into()),
        status: status.map(|s| s.0),
        reason: status.map(|s| s.1.to_string()),
        what: "test".into(),
    }
}

fn sev(fs: Vec<ChannelFailure>) -> Vec<Severity> {
    let mut k = Kit::new();
    k.rpc.tunnel_failures = fs;
    k.sev(check, ID)
}

#[test]
fn severity_by_kind_and_none_without_failures() {
    assert!(sev(vec![]).is_empty());
    assert_eq!(
        sev(vec![failure(FailureKind::HttpError, 5, Some((503, "RPC Error: 6ba")))]),
        [Problem]
    );
    assert_eq!(sev(vec![failure(FailureKind::NoConnA3, 5, None)]), [Problem]);
    assert_eq!(sev(vec![failure(FailureKind::NoConnC2, 5, None)]), [Problem]);
    assert_eq!(sev(vec![failure(FailureKind::NoOutChannel, 5, None)]), [Warning]);
    assert_eq!(sev(vec![failure(FailureKind::Recycled, 5, None)]), [Info]);
}

#[test]
fn one_finding_per_kind_and_target_naming_the_rpc_error() {
    let mut k = Kit::new();
    k.rpc.tunnel_failures = vec![
        failure(FailureKind::HttpError, 5, Some((503, "RPC Error: 6ba"))),
        failure(FailureKind::HttpError, 9, Some((503, "RPC Error: 6ba"))),
        failure(FailureKind::NoOutChannel, 12, None),
    ];
    let v = k.run(check);
    assert_eq!(v.len(), 2);
    let http = v.iter().find(|f| f.severity == Problem).unwrap();
    assert_eq!(http.evidence.values["channels"], 2);
    assert!(http.title.contains("HTTP 503 RPC Error: 6ba"), "{}", http.title);
    assert!(http.explanation.contains("0x6ba"), "{}", http.explanation);
    assert!(http.likely_causes.iter().any(|c| c.contains("ValidPorts")));
}
