//! `tls.client_refused` and `tls.certificate_chain_incomplete` at their boundaries, on TLS
//! sessions the application analyzer read from lab captures (tests/fixtures/lab, lab/tls):
//! a client alert before any application data and a close or reset after it (TLS ≤ 1.2), or
//! in TLS 1.3 exactly a second client record of an alert's size (19 or 11 bytes); a
//! self-signed leaf makes the refusal a warning, else info; a leaf alone issued by another
//! with a refusal is a problem.

use std::sync::Arc;

use tracehound_apps::tls::{Alert, Side};

use super::{check, CHAIN_INCOMPLETE, CLIENT_REFUSED};
use crate::testkit::{ts, Kit};
use crate::Severity::{self, Info, Problem, Warning};

/// tls-client-rejects-untrusted.pcap: TLS 1.2, self-signed certificate; the handshake
/// completes, the client sends an encrypted alert and resets.
fn untrusted() -> Kit {
    let mut k = Kit::lab("tls-client-rejects-untrusted.pcap");
    assert_eq!(k.apps.tls.len(), 1);
    // keep the certificate valid at the handshake: expiry is another rule's reason
    let s = &mut k.apps.tls[0];
    let t = s.server_hello.as_ref().unwrap().ts.as_nanos().div_euclid(1_000_000_000);
    let leaf = Arc::make_mut(&mut s.certificates[0]);
    leaf.not_before = t - 1000;
    leaf.not_after = t + 1000;
    k
}

fn found(k: &mut Kit) -> Vec<(&'static str, Severity)> {
    k.run(check).iter().map(|f| (f.id, f.severity)).collect()
}

#[test]
fn a_self_signed_leaf_makes_the_refusal_a_warning() {
    let mut k = untrusted();
    assert_eq!(found(&mut k), [(CLIENT_REFUSED, Warning)]);
    // issued by a CA sent along: the capture does not say why the client left
    let mut ca = (*k.apps.tls[0].certificates[0]).clone();
    let leaf = Arc::make_mut(&mut k.apps.tls[0].certificates[0]);
    leaf.issuer = "CN=Lab Issuing CA".into();
    ca.subject = "CN=Lab Issuing CA".into();
    ca.issuer = ca.subject.clone();
    k.apps.tls[0].certificates.push(Arc::new(ca));
    assert_eq!(found(&mut k), [(CLIENT_REFUSED, Info)]);
    // the leaf alone, issued by someone else: the missing intermediate is the likely cause
    k.apps.tls[0].certificates.truncate(1);
    assert_eq!(found(&mut k), [(CHAIN_INCOMPLETE, Problem)]);
}

#[test]
fn a_refusal_needs_the_client_to_leave_without_data() {
    let mut k = untrusted();
    k.apps.tls[0].app_data_records[0] = 1;
    assert!(found(&mut k).is_empty(), "the client sent application data");
    let mut k = untrusted();
    for c in &mut k.convs {
        c.rst_frames.clear();
        c.history = "ShADad".into();
    }
    assert!(found(&mut k).is_empty(), "the client stayed");
    for c in &mut k.convs {
        c.history = "ShADadFf".into();
    }
    assert_eq!(found(&mut k), [(CLIENT_REFUSED, Warning)], "closed with a FIN");
}

#[test]
fn a_client_alert_after_the_servers_is_an_answer_not_a_refusal() {
    let mut k = untrusted();
    let client = k.apps.tls[0].alerts.iter().find(|a| a.from == Side::Client).unwrap().frame;
    k.apps.tls[0].alerts.insert(
        0,
        Alert {
            frame: client - 1,
            ts: ts(0.0),
            from: Side::Server,
            level: None,
            description: None,
            name: "encrypted alert".into(),
            encrypted: true,
        },
    );
    assert!(found(&mut k).is_empty());
}

#[test]
fn tls13_alert_records_are_19_or_11_bytes_as_the_second_client_record() {
    // tls-client-rejects-untrusted13.pcap: TLS 1.3, the client's Finished then an alert
    let lens = |len: Option<u16>, records: u64| {
        let mut k = Kit::lab("tls-client-rejects-untrusted13.pcap");
        let s = &mut k.apps.tls[0];
        assert!(s.is_tls13());
        if let (Some(l), Some((_, n))) = (len, s.last_app_data[0].as_mut()) {
            *n = l;
        }
        s.app_data_records[0] = records;
        k.sev(check, CLIENT_REFUSED)
    };
    assert_eq!(lens(None, 2), [Info], "as captured");
    assert_eq!(lens(Some(19), 2), [Info]);
    assert_eq!(lens(Some(11), 2), [Info]);
    assert!(lens(Some(20), 2).is_empty());
    assert!(lens(Some(18), 2).is_empty());
    assert!(lens(Some(19), 3).is_empty(), "data after the Finished");
}
