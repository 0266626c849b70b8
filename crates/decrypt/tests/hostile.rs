//! Hostile input: the lab's real TLS captures (tests/fixtures/decrypt, made by
//! lab/tls-decrypt/make.sh) with bytes flipped and cut at random places (a fixed-seed
//! generator, so failures reproduce), decrypted and written with the right keys: no panic,
//! and a damaged record is reported, not passed off as plaintext.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use tracehound_decrypt::{keys, KeyLog, Options};

fn fx(p: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/decrypt")).join(p)
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn options(out: &Path) -> Options {
    let mut keylog = KeyLog::default();
    for k in ["tls13.keylog", "chacha.keylog", "ecdhe.keylog", "ssl3.keylog", "early.keylog"] {
        keylog.add_text(k, &std::fs::read(fx(k)).unwrap());
    }
    Options {
        keys: keys::load(&fx("keys/key-pkcs8.pem"), None).unwrap(),
        keylog,
        write: Some(out.to_path_buf()),
        keep_ports: false,
    }
}

#[test]
fn flipped_and_cut_captures_never_panic() {
    let dir =
        std::env::temp_dir().join(format!("tracehound-decrypt-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut rng = Lcg(0x7468_6836);
    let mut auth_failures = 0;
    for cap in [
        "rsa-gcm.pcap",
        "rsa-cbc.pcap",
        "tls10-cbc.pcap",
        "tls13.pcap",
        "chacha.pcap",
        "reneg.pcap",
        "ssl3.pcap",
        "early.pcap",
    ] {
        let orig = std::fs::read(fx(cap)).unwrap();
        for i in 0..10 {
            let mut b = orig.clone();
            // Flip 1-4 bytes after the pcap header (headers, TLS framing, ciphertext alike).
            for _ in 0..1 + rng.next() % 4 {
                let at = 24 + (rng.next() as usize) % (b.len() - 24);
                b[at] ^= 1 << (rng.next() % 8);
            }
            if i % 4 == 0 {
                let cut = 24 + (rng.next() as usize) % (b.len() - 24);
                b.truncate(cut);
            }
            let p = dir.join(format!("{cap}-{i}.pcap"));
            std::fs::write(&p, &b).unwrap();
            let out = dir.join("out.pcapng");
            let r = tracehound_decrypt::run(&p, options(&out), None).unwrap();
            auth_failures += r
                .sessions
                .iter()
                .filter(|s| {
                    s.reason.as_deref().is_some_and(|w| w.contains("failed authentication"))
                })
                .count();
        }
    }
    // Flipped ciphertext bytes are caught by the MAC / AEAD tag, and said so.
    assert!(auth_failures > 0);
}
