//! Key files made by `lab/tls-decrypt/make.sh` with OpenSSL 3.0 (one 2048-bit RSA key in
//! every format, plus the self-signed certificate and an unrelated key).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use tracehound_decrypt::handshake::rsa_modulus;
use tracehound_decrypt::{keys, KeyError};

fn fx(p: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/decrypt/keys")).join(p)
}

fn password() -> String {
    std::fs::read_to_string(fx("password.txt")).expect("lab password file").trim().to_string()
}

fn cert_modulus() -> Vec<u8> {
    let pem = std::fs::read_to_string(fx("cert.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64_decode(&b64);
    rsa_modulus(&der).expect("RSA certificate")
}

fn base64_decode(s: &str) -> Vec<u8> {
    // Independent of the crate's PEM reader: a plain base64 decoder for the test.
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::new();
    for ch in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in ch.iter().enumerate() {
            acc |= u32::from(val(*c)) << (18 - 6 * i);
        }
        let n = ch.len() * 6 / 8;
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    out
}

const ALL: &[(&str, bool)] = &[
    ("key-pkcs1.pem", false),
    ("key-pkcs8.pem", false),
    ("key-pkcs1.der", false),
    ("key-pkcs8.der", false),
    ("key-nopass.pfx", false),
    ("key-pkcs8-enc.pem", true),
    ("key-legacy-enc.pem", true),
    ("key-legacy.pfx", true),
    ("key-modern.pfx", true),
];

#[test]
fn every_format_loads_the_certificates_key() {
    let want = cert_modulus();
    assert_eq!(want.len(), 256);
    let pw = password();
    for (f, enc) in ALL {
        let k =
            keys::load(&fx(f), enc.then_some(pw.as_str())).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(k.len(), 1, "{f}");
        assert_eq!(k[0].modulus, want, "{f}: modulus differs from the certificate's");
    }
    let other = keys::load(&fx("other-key.pem"), None).unwrap();
    assert_ne!(other[0].modulus, want);
}

#[test]
fn encrypted_keys_need_the_right_password() {
    for (f, enc) in ALL.iter().filter(|(_, e)| *e) {
        let _ = enc;
        let e = keys::load(&fx(f), None).unwrap_err();
        assert!(matches!(e, KeyError::PasswordNeeded { .. }), "{f}: {e}");
        let e = keys::load(&fx(f), Some("not-the-password")).unwrap_err();
        assert!(matches!(e, KeyError::WrongPassword { .. }), "{f}: {e}");
        assert!(e.to_string().contains("wrong password"), "{e}");
        assert!(!e.to_string().contains("not-the-password"), "the password is never echoed");
    }
}

#[test]
fn truncated_and_damaged_key_files_are_clear_errors() {
    let pw = password();
    for (f, _) in ALL {
        let bytes = std::fs::read(fx(f)).unwrap();
        for cut in [1, 10, bytes.len() / 2, bytes.len() - 40] {
            let r = keys::parse(f, &bytes[..cut], Some(&pw));
            let e = r.err().unwrap_or_else(|| panic!("{f} cut at {cut} loaded"));
            assert!(e.to_string().starts_with(f), "{f} cut at {cut}: {e}");
        }
        // One flipped byte in the middle: an error or (rarely, in a PEM comment) a key — never a panic.
        let mut b = bytes.clone();
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
        let _ = keys::parse(f, &b, Some(&pw));
    }
}
