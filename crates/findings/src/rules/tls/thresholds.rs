//! `tls.certificate_expired`, `tls.certificate_mismatch` and `tls.handshake_failure` at their
//! boundaries, on TLS sessions the application analyzer read from lab captures
//! (tests/fixtures/lab, lab/net): a certificate valid from `notBefore` to `notAfter` inclusive
//! at the handshake's second; the server's own certificate or a failed handshake a problem,
//! a chain certificate of a completed one a warning; a name not covered a warning unless the
//! handshake failed; a handshake ended by an alert, a reset or a close a problem, one left
//! hanging nothing.

use std::sync::Arc;

use tracehound_apps::TlsOutcome;

use super::{check_expired, check_handshake, check_mismatch};
use super::{CERTIFICATE_EXPIRED, CERTIFICATE_MISMATCH, HANDSHAKE_FAILURE};
use crate::testkit::Kit;
use crate::Severity::{Problem, Warning};

/// net-tls-cert-mismatch.pcap: one completed TLS 1.2 handshake, SNI other.lab.test, the
/// certificate for server.lab.test; its validity set to `t - 1000 .. t + 1000` around the
/// handshake's second `t`.
fn completed() -> (Kit, i64) {
    let mut k = Kit::lab("net-tls-cert-mismatch.pcap");
    assert_eq!(k.apps.tls.len(), 1);
    let s = &mut k.apps.tls[0];
    assert_eq!(s.outcome, TlsOutcome::Completed);
    let t = s.server_hello.as_ref().unwrap().ts.as_nanos().div_euclid(1_000_000_000);
    let leaf = Arc::make_mut(&mut s.certificates[0]);
    leaf.not_before = t - 1000;
    leaf.not_after = t + 1000;
    (k, t)
}

#[test]
fn valid_from_not_before_to_not_after_inclusive() {
    let validity = |nb: i64, na: i64| {
        let (mut k, t) = completed();
        let leaf = Arc::make_mut(&mut k.apps.tls[0].certificates[0]);
        leaf.not_before = t + nb;
        leaf.not_after = t + na;
        k.sev(check_expired, CERTIFICATE_EXPIRED)
    };
    assert!(validity(-1000, 1000).is_empty());
    assert!(validity(-1000, 0).is_empty(), "expires at the handshake's second");
    assert_eq!(validity(-1000, -1), [Problem], "expired a second before");
    assert!(validity(0, 1000).is_empty(), "valid from the handshake's second");
    assert_eq!(validity(1, 1000), [Problem], "valid a second later");
}

#[test]
fn a_chain_certificate_is_a_warning_unless_the_handshake_failed() {
    let (mut k, t) = completed();
    let mut ca = (*k.apps.tls[0].certificates[0]).clone();
    ca.serial = "ca-serial".into();
    ca.not_after = t - 86_400;
    k.apps.tls[0].certificates.push(Arc::new(ca));
    assert_eq!(k.sev(check_expired, CERTIFICATE_EXPIRED), [Warning]);
    k.apps.tls[0].outcome = TlsOutcome::Incomplete;
    assert_eq!(k.sev(check_expired, CERTIFICATE_EXPIRED), [Problem]);
}

#[test]
fn a_name_not_covered_is_a_warning_unless_the_handshake_failed() {
    let (mut k, _) = completed();
    assert_eq!(k.sev(check_mismatch, CERTIFICATE_MISMATCH), [Warning]);
    k.apps.tls[0].outcome = TlsOutcome::Incomplete;
    assert_eq!(k.sev(check_mismatch, CERTIFICATE_MISMATCH), [Problem]);
    // the name it was issued for
    let (mut k, _) = completed();
    k.apps.tls[0].client_hello.as_mut().unwrap().sni = Some("server.lab.test".into());
    assert!(k.run(check_mismatch).is_empty());
    // no SNI: nothing to compare
    k.apps.tls[0].client_hello.as_mut().unwrap().sni = None;
    assert!(k.run(check_mismatch).is_empty());
}

#[test]
fn a_handshake_ended_by_an_alert_is_a_problem() {
    // net-tls-handshake-failure.pcap: ClientHello answered by a fatal handshake_failure
    let mut k = Kit::lab("net-tls-handshake-failure.pcap");
    assert_eq!(k.sev(check_handshake, HANDSHAKE_FAILURE), [Problem]);
    k.apps.tls[0].outcome = TlsOutcome::Completed;
    assert!(k.run(check_handshake).is_empty());
    let (mut k, _) = completed();
    assert!(k.run(check_handshake).is_empty());
}

#[test]
fn no_server_hello_is_a_problem_when_the_connection_was_torn_down() {
    // net-tls-reset-after-hello.pcap: the server resets the connection after the ClientHello
    let mut k = Kit::lab("net-tls-reset-after-hello.pcap");
    let v = k.run(check_handshake);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].severity, Problem);
    assert_eq!(v[0].evidence.values["failure"], "reset after ClientHello");
    // closed instead of reset
    for c in &mut k.convs {
        c.rst_frames.clear();
        c.history = "ShADadfF".into();
    }
    assert_eq!(k.run(check_handshake)[0].evidence.values["failure"], "closed after ClientHello");
    // left hanging: no reset, no close
    for c in &mut k.convs {
        c.history = "ShADad".into();
    }
    assert!(k.run(check_handshake).is_empty());
}
