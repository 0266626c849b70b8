//! SSL 3.0 and TLS 1.3 0-RTT early data, decrypted byte for byte as tshark does: `tshark -z
//! follow,tls,raw` on the original capture vs `tshark -z follow,tcp,raw` on the capture
//! tracehound writes. Captures: `lab/tls-decrypt/ssl3.sh` (tlslite-ng SSL 3.0 server and
//! client in network namespaces, RSA key exchange, AES / 3DES / RC4 with SHA-1 and MD5 MACs,
//! a resumption) and `lab/tls-decrypt/early-data.sh` (openssl s_server -early_data and
//! s_client -sess_in -early_data: one 0-RTT accepted, one rejected by anti-replay).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use tracehound_decrypt::{keys, KeyLog, Options};

mod common;
use common::*;

#[test]
fn ssl3_with_the_rsa_key_matches_tshark() {
    let out = out_path("ssl3.pcapng");
    let res = decrypt("ssl3.pcap", &["keys/key-pkcs8.pem"], &[], &out);
    assert_eq!(res.sessions.len(), 6);
    assert!(res.sessions.iter().all(|s| s.decrypted && s.reason.is_none()), "{:?}", res.sessions);
    assert!(res.sessions.iter().all(|s| s.version.as_deref() == Some("SSL 3.0")));
    let ciphers: Vec<_> = res.sessions.iter().map(|s| s.cipher.clone().unwrap()).collect();
    assert_eq!(
        ciphers,
        [
            "TLS_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "TLS_RSA_WITH_RC4_128_SHA",
            "TLS_RSA_WITH_RC4_128_MD5",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
        ]
    );
    assert_eq!(res.sessions[5].resumed, Some("session_id"));
    assert!(res.unmatched_keys.is_empty());
    assert_eq!(assert_same_as_tshark("ssl3.pcap", &res, &out, &[rsa_opt("keys/key-pkcs8.pem")]), 6);
    assert_eq!(
        http_requests(&out),
        [
            "/ssl3-aes128",
            "/ssl3-3des",
            "/ssl3-rc4-sha",
            "/ssl3-rc4-md5",
            "/ssl3-aes256?size=18000",
            "/ssl3-resumed"
        ]
    );
    // 18000 bytes of body: more than one 16 KiB record, CBC IV chained across them.
    assert_eq!(res.sessions[4].server_bytes, 18000 + 82);
}

#[test]
fn ssl3_with_a_client_random_key_log_matches_tshark() {
    let out = out_path("ssl3-keylog.pcap");
    let res = decrypt("ssl3.pcap", &[], &["ssl3.keylog"], &out);
    assert!(res.sessions.iter().all(|s| s.decrypted && s.reason.is_none()), "{:?}", res.sessions);
    assert!(res.sessions.iter().all(|s| s.secret_from.as_deref() == Some("key log")));
    assert_eq!(assert_same_as_tshark("ssl3.pcap", &res, &out, &[keylog_opt("ssl3.keylog")]), 6);
    // The same plaintext capture as with the private key.
    let with_key = out_path("ssl3-key.pcap");
    decrypt("ssl3.pcap", &["keys/key-pkcs8.pem"], &[], &with_key);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&with_key).unwrap());
}

/// The early data the lab's client sends (lab/tls-decrypt/early-data.sh).
const EARLY: &[u8] = b"GET /early-data HTTP/1.0\r\n\r\n";

#[test]
fn tls13_early_data_accepted_and_rejected_match_tshark() {
    let out = out_path("early.pcapng");
    let res = decrypt("early.pcap", &[], &["early.keylog"], &out);
    assert_eq!(res.sessions.len(), 3);
    // A rejected 0-RTT is no failure: every session decrypted, no reason.
    assert!(res.sessions.iter().all(|s| s.decrypted && s.reason.is_none()), "{:?}", res.sessions);
    assert_eq!(res.sessions[0].early_data, None);
    let accepted = res.sessions[1].early_data.as_deref().unwrap();
    assert!(accepted.starts_with("28 bytes of 0-RTT early data (1 record) accepted"), "{accepted}");
    let rejected = res.sessions[2].early_data.as_deref().unwrap();
    assert!(
        rejected.contains("rejected by the server") && rejected.contains("skipped"),
        "{rejected}"
    );
    let opts = [keylog_opt("early.keylog")];
    let want = follow(&fx("early.pcap"), "tls", 3, &opts);
    let got = follow(&out, "tcp", 3, &[]);
    for (i, s) in res.sessions.iter().enumerate() {
        let client = format!("{}:{}", s.src, s.sport);
        let (w, g) = (by_client(&want[i], &client), by_client(&got[i], &client));
        assert!(!w[0].is_empty() && !w[1].is_empty(), "session {i}: tshark decrypted nothing");
        assert_eq!(g[1], w[1], "session {i}: server→client plaintext differs from tshark's");
        assert_eq!(s.server_bytes, w[1].len() as u64);
        if i == 2 {
            // tshark also shows the early data the server rejected; the server never read it,
            // and neither does the plaintext stream: the rest is byte for byte the same.
            assert_eq!(&w[0][..EARLY.len()], EARLY);
            assert_eq!(g[0], w[0][EARLY.len()..], "session {i}: client plaintext");
        } else {
            assert_eq!(g[0], w[0], "session {i}: client→server plaintext differs from tshark's");
        }
        assert_eq!(s.client_bytes, g[0].len() as u64);
    }
    // The accepted early data starts the client's stream.
    assert!(got[1].1.iter().any(|d| d.starts_with(EARLY)));
    assert_eq!(
        http_requests(&out),
        ["/after-handshake-1", "/early-data", "/after-handshake-2", "/after-handshake-3"]
    );
}

#[test]
fn early_data_without_its_secret_is_reported() {
    // The key log without CLIENT_EARLY_TRAFFIC_SECRET lines: the accepted early data cannot be
    // read, and the verdict says which secret is missing; the rejected one needs none.
    let text = std::fs::read_to_string(fx("early.keylog")).unwrap();
    let stripped: String =
        text.lines().filter(|l| !l.starts_with("CLIENT_EARLY")).map(|l| format!("{l}\n")).collect();
    let path = out_path("no-early.keylog");
    std::fs::write(&path, stripped).unwrap();
    let mut o = Options::default();
    o.keylog.add_text("no-early.keylog", &std::fs::read(&path).unwrap());
    let res = tracehound_decrypt::run(&fx("early.pcap"), o, None).unwrap();
    let why = res.sessions[1].reason.as_deref().unwrap();
    assert!(why.contains("CLIENT_EARLY_TRAFFIC_SECRET"), "{why}");
    assert!(res.sessions[1].early_data.as_deref().unwrap().contains("not decrypted"));
    assert!(res.sessions[2].reason.is_none(), "{:?}", res.sessions[2]);
    assert!(res.sessions[2].early_data.as_deref().unwrap().contains("rejected"));
}

#[test]
fn the_adapter_lists_the_keys_that_match_no_certificate() {
    use tracehound_decrypt::kex::Shared;
    use tracehound_decrypt::TlsPlaintext;
    // The lab server's key and a key of nobody (both from lab/tls-decrypt/make.sh).
    let mut keys = keys::load(&fx("keys/key-pkcs8.pem"), None).unwrap();
    keys.extend(keys::load(&fx("keys/other-key.pem"), None).unwrap());
    let mut a =
        TlsPlaintext::new(tracehound_flows::NoHandler, Shared::new(keys, KeyLog::default()));
    through(&fx("ssl3.pcap"), &mut a);
    let unmatched = a.unmatched_keys();
    assert_eq!(unmatched.len(), 1, "{unmatched:?}");
    assert!(unmatched[0].contains("other-key.pem") && unmatched[0].ends_with("(2048-bit RSA)"));
    assert!(a.reports().iter().all(|r| r.decrypted));
    // The same as `tracehound decrypt` says.
    let res = decrypt(
        "ssl3.pcap",
        &["keys/key-pkcs8.pem", "keys/other-key.pem"],
        &[],
        &out_path("u.pcap"),
    );
    assert_eq!(res.unmatched_keys, unmatched);
}
