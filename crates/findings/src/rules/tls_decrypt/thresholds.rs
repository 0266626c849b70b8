//! `tls.not_decryptable` (info): only when keys were given and at least one session could
//! not be opened; one finding whatever the count.

use super::{check, DecryptFacts, NotOpened, ID};
use crate::testkit::Kit;
use crate::Severity::{self, Info};

fn not_opened(i: u16, reason: &str) -> NotOpened {
    NotOpened {
        client: format!("10.0.0.1:{}", 40000 + i).parse().unwrap(),
        server: "10.0.0.2:443".parse().unwrap(),
        sni: Some("www.lab.test".into()),
        first_frame: u64::from(i) * 10,
        reason: reason.into(),
    }
}

fn found(d: Option<DecryptFacts>) -> Vec<(&'static str, Severity, String)> {
    let mut k = Kit::new();
    k.capture.tls_decrypt = d;
    k.run(check).iter().map(|f| (f.id, f.severity, f.title.clone())).collect()
}

#[test]
fn only_with_keys_and_a_session_not_opened() {
    assert!(found(None).is_empty(), "no keys given: not decrypting is normal");
    let all_opened = DecryptFacts { sessions: 3, decrypted: 3, ..Default::default() };
    assert!(found(Some(all_opened)).is_empty());
    let one = DecryptFacts {
        sessions: 3,
        decrypted: 2,
        not_opened: vec![not_opened(1, "forward secrecy: ECDHE without a key log")],
        not_opened_total: 1,
        unmatched_keys: Vec::new(),
    };
    let v = found(Some(one));
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].0, v[0].1), (ID, Info));
    assert!(
        v[0].2.starts_with("1 of 3 TLS sessions could not be decrypted: forward secrecy"),
        "{}",
        v[0].2
    );
}

#[test]
fn the_commonest_reason_leads_the_title() {
    let d = DecryptFacts {
        sessions: 5,
        decrypted: 2,
        not_opened: vec![
            not_opened(1, "handshake not captured"),
            not_opened(2, "TLS 1.3 without secrets"),
            not_opened(3, "TLS 1.3 without secrets"),
        ],
        not_opened_total: 3,
        unmatched_keys: Vec::new(),
    };
    let v = found(Some(d));
    assert!(v[0].2.ends_with(": TLS 1.3 without secrets"), "{}", v[0].2);
}

#[test]
fn a_key_matching_no_certificate_is_said_even_when_all_sessions_opened() {
    let d = DecryptFacts {
        sessions: 2,
        decrypted: 2,
        unmatched_keys: vec!["other.pem (2048-bit RSA)".into()],
        ..Default::default()
    };
    let v = found(Some(d));
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].2, "The key given matches no server certificate in the capture");
}
