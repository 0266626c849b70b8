//! The plaintext tracehound writes equals tshark's own decryption, byte for byte, per
//! direction: `tshark -z follow,tls,raw` on the original capture (with the same keys) vs
//! `tshark -z follow,tcp,raw` on the written capture. Captures and keys come from
//! `lab/tls-decrypt/make.sh` (openssl s_server / s_client and curl in network namespaces).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use tracehound_decrypt::{keys, KeyLog};

mod common;
use common::*;

#[test]
fn rsa_gcm_with_session_id_resumption_matches_tshark() {
    let out = out_path("rsa-gcm.pcapng");
    let res = decrypt("rsa-gcm.pcap", &["keys/key-pkcs8.pem"], &[], &out);
    assert_eq!(res.sessions.len(), 2);
    assert!(res.sessions.iter().all(|s| s.decrypted && s.reason.is_none()), "{:?}", res.sessions);
    assert_eq!(res.sessions[1].resumed, Some("session_id"));
    assert_eq!(res.sessions[0].sni.as_deref(), Some("lab.tracehound.test"));
    assert!(res.unmatched_keys.is_empty());
    assert_eq!(
        assert_same_as_tshark("rsa-gcm.pcap", &res, &out, &[rsa_opt("keys/key-pkcs8.pem")]),
        2
    );
    assert_eq!(http_requests(&out), vec!["/one", "/two"]);
    let mode = std::fs::metadata(&out).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
}

#[test]
fn every_key_format_gives_the_same_plaintext_capture() {
    let reference = out_path("fmt-ref.pcap");
    decrypt("rsa-gcm.pcap", &["keys/key-pkcs8.pem"], &[], &reference);
    let want = std::fs::read(&reference).unwrap();
    for f in [
        "keys/key-pkcs1.pem",
        "keys/key-pkcs8-enc.pem",
        "keys/key-legacy-enc.pem",
        "keys/key-pkcs1.der",
        "keys/key-pkcs8.der",
        "keys/key-legacy.pfx",
        "keys/key-modern.pfx",
        "keys/key-nopass.pfx",
    ] {
        let out = out_path(&format!("fmt-{}.pcap", f.replace('/', "_")));
        let res = decrypt("rsa-gcm.pcap", &[f], &[], &out);
        assert!(res.sessions.iter().all(|s| s.decrypted), "{f}: {:?}", res.sessions);
        assert_eq!(std::fs::read(&out).unwrap(), want, "{f}: output differs");
    }
}

#[test]
fn rsa_cbc_etm_with_ticket_resumption_matches_tshark() {
    let out = out_path("rsa-cbc.pcap");
    let res = decrypt("rsa-cbc.pcap", &["keys/key-modern.pfx"], &[], &out);
    assert_eq!(res.sessions.len(), 2);
    assert_eq!(res.sessions[1].resumed, Some("ticket"));
    assert_eq!(
        assert_same_as_tshark("rsa-cbc.pcap", &res, &out, &[rsa_opt("keys/key-pkcs8.pem")]),
        2
    );
    assert_eq!(http_requests(&out), vec!["/cbc-1", "/cbc-2"]);
}

#[test]
fn tls10_cbc_implicit_iv_matches_tshark() {
    let out = out_path("tls10.pcap");
    let res = decrypt("tls10-cbc.pcap", &["keys/key-legacy.pfx"], &[], &out);
    assert_eq!(res.sessions[0].version.as_deref(), Some("TLS 1.0"));
    assert_eq!(
        assert_same_as_tshark("tls10-cbc.pcap", &res, &out, &[rsa_opt("keys/key-pkcs8.pem")]),
        1
    );
    assert_eq!(http_requests(&out), vec!["/tls10"]);
}

#[test]
fn tls13_key_log_and_dsb_match_tshark() {
    let out = out_path("tls13.pcapng");
    let res = decrypt("tls13.pcap", &[], &["tls13.keylog"], &out);
    assert_eq!(assert_same_as_tshark("tls13.pcap", &res, &out, &[keylog_opt("tls13.keylog")]), 1);
    assert_eq!(http_requests(&out), vec!["/tls13"]);
    // The same capture with the key log inside (editcap --inject-secrets): no options at all.
    let out2 = out_path("tls13-dsb.pcapng");
    let res2 = decrypt("tls13-dsb.pcapng", &[], &[], &out2);
    assert!(res2.dsb_entries >= 4, "{}", res2.dsb_entries);
    assert_eq!(assert_same_as_tshark("tls13-dsb.pcapng", &res2, &out2, &[]), 1);
}

#[test]
fn tls13_chacha20_with_key_update_matches_tshark() {
    let out = out_path("chacha.pcap");
    let res = decrypt("chacha.pcap", &[], &["chacha.keylog"], &out);
    assert_eq!(res.sessions[0].cipher.as_deref(), Some("TLS_CHACHA20_POLY1305_SHA256"));
    assert_eq!(assert_same_as_tshark("chacha.pcap", &res, &out, &[keylog_opt("chacha.keylog")]), 1);
    assert_eq!(http_requests(&out), vec!["/after-keyupdate"]);
}

#[test]
fn ecdhe_with_only_the_rsa_key_names_forward_secrecy() {
    let out = out_path("ecdhe.pcap");
    let res = decrypt("ecdhe.pcap", &["keys/key-pkcs1.pem"], &[], &out);
    let s = &res.sessions[0];
    assert!(!s.decrypted);
    let why = s.reason.as_deref().unwrap();
    assert!(why.contains("forward secrecy") && why.contains("SSLKEYLOGFILE"), "{why}");
    assert_eq!(s.key_exchange.as_deref(), Some("ECDHE"));
    // Kept as it was: the written capture equals the input packet for packet.
    assert!(http_requests(&out).is_empty());
    // With the client's key log it opens, and matches tshark.
    let res = decrypt("ecdhe.pcap", &["keys/key-pkcs1.pem"], &["ecdhe.keylog"], &out);
    assert_eq!(assert_same_as_tshark("ecdhe.pcap", &res, &out, &[keylog_opt("ecdhe.keylog")]), 1);
}

#[test]
fn a_key_matching_nothing_is_reported() {
    let out = out_path("other.pcap");
    let res = decrypt("rsa-gcm.pcap", &["keys/other-key.pem"], &[], &out);
    assert_eq!(res.unmatched_keys.len(), 1, "{:?}", res.unmatched_keys);
    assert!(res.unmatched_keys[0].contains("other-key.pem"));
    let why = res.sessions[0].reason.as_deref().unwrap();
    assert!(why.contains("do not match the server's certificate"), "{why}");
    let why = res.sessions[1].reason.as_deref().unwrap();
    assert!(why.contains("resumed session (by session id) of the session at frame 4"), "{why}");
}

#[test]
fn a_lost_segment_is_reported_not_guessed() {
    let out = out_path("lost.pcap");
    let res = decrypt("rsa-gcm-lost.pcap", &["keys/key-pkcs8.pem"], &[], &out);
    let why = res.sessions[0].reason.as_deref().unwrap();
    assert!(why.contains("were not captured") && why.contains("client→server"), "{why}");
    assert_eq!(res.sessions[0].client_bytes, 0);
    assert!(res.sessions[1].decrypted && res.sessions[1].reason.is_none());
    // The server side of the first session still matches tshark's decryption.
    let client = format!("{}:{}", res.sessions[0].src, res.sessions[0].sport);
    let want = follow(&fx("rsa-gcm-lost.pcap"), "tls", 1, &[rsa_opt("keys/key-pkcs8.pem")]);
    let got = follow(&out, "tcp", 1, &[]);
    let (want, got) = (by_client(&want[0], &client), by_client(&got[0], &client));
    assert!(!want[1].is_empty());
    assert_eq!(got[1], want[1]);
}

#[test]
fn renegotiation_inside_the_session_matches_tshark() {
    let out = out_path("reneg.pcap");
    let res = decrypt("reneg.pcap", &["keys/key-pkcs8.pem"], &[], &out);
    assert_eq!(res.sessions.len(), 1);
    assert!(res.sessions[0].decrypted && res.sessions[0].reason.is_none(), "{:?}", res.sessions);
    assert_eq!(
        assert_same_as_tshark("reneg.pcap", &res, &out, &[rsa_opt("keys/key-pkcs8.pem")]),
        1
    );
    let text = String::from_utf8(follow(&out, "tcp", 1, &[])[0].1[0].clone()).unwrap();
    assert_eq!(text, "before renegotiation\nafter renegotiation\n");
}

/// Collects what an analyzer behind [`TlsPlaintext`] receives, per connection and direction.
#[derive(Default)]
struct Collect(std::collections::BTreeMap<(String, usize), Vec<u8>>);

impl tracehound_flows::StreamHandler for Collect {
    fn tcp_data(
        &mut self,
        flow: &tracehound_flows::FlowInfo,
        dir: tracehound_flows::Dir,
        offset: u64,
        data: &[u8],
        _: u64,
        _: tracehound_flows::Timestamp,
    ) {
        let v = self.0.entry((flow.orig.to_string(), dir.idx())).or_default();
        assert_eq!(offset, v.len() as u64, "in order, no holes");
        v.extend_from_slice(data);
    }
    fn tcp_gap(
        &mut self,
        _: &tracehound_flows::FlowInfo,
        _: tracehound_flows::Dir,
        _: u64,
        _: u64,
        _: u64,
        _: tracehound_flows::Timestamp,
    ) {
    }
    fn udp(
        &mut self,
        _: &tracehound_flows::FlowInfo,
        _: tracehound_flows::Dir,
        _: &[u8],
        _: u64,
        _: tracehound_flows::Timestamp,
    ) {
    }
}

#[test]
fn analyzers_behind_the_adapter_see_plaintext_or_the_original_bytes() {
    use tracehound_decrypt::kex::Shared;
    use tracehound_decrypt::TlsPlaintext;
    // TLS: the plaintext tshark decrypts.
    let keys = keys::load(&fx("keys/key-pkcs8.pem"), None).unwrap();
    let mut a = TlsPlaintext::new(Collect::default(), Shared::new(keys, KeyLog::default()));
    through(&fx("rsa-gcm.pcap"), &mut a);
    let want = follow(&fx("rsa-gcm.pcap"), "tls", 2, &[rsa_opt("keys/key-pkcs8.pem")]);
    assert_eq!(a.reports().len(), 2);
    for (i, s) in a.reports().iter().enumerate() {
        let client = format!("{}:{}", s.src, s.sport);
        let w = by_client(&want[i], &client);
        assert_eq!(a.inner.0[&(client.clone(), 0)], w[0]);
        assert_eq!(a.inner.0[&(client, 1)], w[1]);
    }
    // Not TLS (a lab HTTP capture): exactly the bytes a direct analyzer gets.
    let cap =
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab/auth-http.pcap"));
    let mut direct = Collect::default();
    through(cap, &mut direct);
    let mut a = TlsPlaintext::new(Collect::default(), Shared::default());
    through(cap, &mut a);
    assert!(!direct.0.is_empty());
    assert_eq!(a.inner.0, direct.0);
    // TLS without keys: the original bytes too.
    let mut direct = Collect::default();
    through(&fx("ecdhe.pcap"), &mut direct);
    let mut a = TlsPlaintext::new(Collect::default(), Shared::default());
    through(&fx("ecdhe.pcap"), &mut a);
    assert_eq!(a.inner.0, direct.0);
}
