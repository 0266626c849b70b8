//! Where session keys come from: the key log (CLIENT_RANDOM, RSA, TLS 1.3 traffic secrets),
//! an RSA private key whose modulus matches the server certificate (PKCS#1 v1.5 decryption
//! of the premaster secret), or an earlier session of the same capture (resumption by
//! session id or ticket). Then the TLS 1.0–1.2 key block (SSL 3.0: its MD5/SHA-1 key block,
//! [`prf::ssl3_key_block`]) or the TLS 1.3 traffic keys, including the client's 0-RTT keys
//! (CLIENT_EARLY_TRAFFIC_SECRET).

use std::collections::HashMap;

use rsa::Pkcs1v15Encrypt;

use crate::cipher::{KeyMaterial, RecordCipher};
use crate::conn::Conn;
use crate::keylog::KeyLog;
use crate::keys::PrivateKey;
use crate::prf::{self, MasterInput};
use crate::suites::{self, Kx, Suite};
use crate::verdict::Why;

/// Master secrets kept for resumption within the capture.
pub const MAX_CACHE: usize = 1 << 16;

/// Master secrets of full handshakes, for resumed sessions later in the capture.
#[derive(Default)]
pub struct Cache {
    by_sid: HashMap<Vec<u8>, Vec<u8>>,
    by_ticket: HashMap<Vec<u8>, Vec<u8>>,
    /// First frame of the full handshake that issued a session id or ticket (whether or not
    /// its master secret became known), to say which session a resumption refers to.
    issued: HashMap<Vec<u8>, u64>,
    /// Entries not kept because the cache was full.
    pub dropped: u64,
}

impl Cache {
    pub fn put_sid(&mut self, sid: &[u8], master: Vec<u8>) {
        if sid.is_empty() {
            return;
        }
        if self.by_sid.len() >= MAX_CACHE {
            self.dropped += 1;
            return;
        }
        self.by_sid.insert(sid.to_vec(), master);
    }
    /// Remember that the session starting at `frame` issued this session id or ticket.
    pub fn issued(&mut self, id: &[u8], frame: u64) {
        if !id.is_empty() && self.issued.len() < MAX_CACHE {
            self.issued.entry(id.to_vec()).or_insert(frame);
        }
    }
    pub fn put_ticket(&mut self, t: &[u8], master: Vec<u8>) {
        if self.by_ticket.len() >= MAX_CACHE {
            self.dropped += 1;
            return;
        }
        self.by_ticket.insert(t.to_vec(), master);
    }
}

/// Keys, key logs and the resumption cache, shared by all sessions of a run.
#[derive(Default)]
pub struct Shared {
    pub keys: Vec<PrivateKey>,
    /// Per key: did it match some server certificate of the capture?
    pub key_matched: Vec<bool>,
    /// Server certificates compared with the keys (TLS ≤ 1.2 handshakes).
    pub certificates_compared: u64,
    pub keylog: KeyLog,
    pub cache: Cache,
}

impl Shared {
    pub fn new(keys: Vec<PrivateKey>, keylog: KeyLog) -> Shared {
        let key_matched = vec![false; keys.len()];
        Shared { keys, key_matched, certificates_compared: 0, keylog, cache: Cache::default() }
    }
    /// The keys given that matched no server certificate seen so far, as "SOURCE (N-bit
    /// RSA)". Certificates are compared in TLS ≤ 1.2 handshakes (TLS 1.3 encrypts them).
    pub fn unmatched_keys(&self) -> Vec<String> {
        self.keys
            .iter()
            .zip(&self.key_matched)
            .filter(|(_, m)| !**m)
            .map(|(k, _)| format!("{} ({}-bit RSA)", k.source, k.bits()))
            .collect()
    }
    /// The key whose modulus is this certificate's (marking it as used).
    fn key_for(&mut self, modulus: &[u8]) -> Option<usize> {
        self.certificates_compared += 1;
        let i = self.keys.iter().position(|k| k.modulus == modulus)?;
        if let Some(m) = self.key_matched.get_mut(i) {
            *m = true;
        }
        Some(i)
    }
}

/// At ClientKeyExchange: the master secret of a full TLS ≤ 1.2 handshake.
pub fn derive_master(c: &mut Conn, sh: &mut Shared) {
    let (Some(ch), Some(s), Some(suite)) = (c.ch.clone(), c.sh.clone(), c.suite) else { return };
    if let Some(m) = &c.cert_modulus {
        sh.key_for(m);
    }
    if let Some(m) = sh.keylog.by_random.get(&ch.random).and_then(|x| x.master.clone()) {
        c.secret_from = Some("key log".into());
        c.master = Some(m);
    } else if suite.kx == Kx::Rsa {
        let Some(pms) = rsa_premaster(c, sh) else { return };
        let ems = ch.ems && s.ems;
        let input = MasterInput {
            version: s.version,
            hash: suite.prf,
            premaster: &pms,
            client_random: &ch.random,
            server_random: &s.random,
            ems_transcript: ems.then_some(c.transcript()),
        };
        c.master = Some(if s.version == 0x0300 {
            // SSL 3.0 has no extended master secret.
            prf::ssl3_master_secret(&pms, &ch.random, &s.random)
        } else {
            prf::master_secret(&input)
        });
    } else {
        c.set_why(Why::ForwardSecrecy { kx: suite.kx.name(), have_rsa_key: !sh.keys.is_empty() });
        return;
    }
    if let Some(m) = c.master.clone() {
        sh.cache.put_sid(&s.session_id, m);
    }
}

fn rsa_premaster(c: &mut Conn, sh: &mut Shared) -> Option<Vec<u8>> {
    let epms = c.epms()?.to_vec();
    if let Some(pms) = epms
        .get(..8)
        .and_then(|p| <[u8; 8]>::try_from(p).ok())
        .and_then(|id| sh.keylog.rsa.get(&id))
    {
        c.secret_from = Some("key log (RSA premaster)".into());
        return Some(pms.clone());
    }
    let Some(modulus) = c.cert_modulus.clone() else {
        c.set_why(if sh.keys.is_empty() {
            Why::NoKey
        } else {
            Why::Unsupported("server certificate without an RSA key".into())
        });
        return None;
    };
    let Some(i) = sh.key_for(&modulus) else {
        c.set_why(if sh.keys.is_empty() {
            Why::NoKey
        } else {
            Why::KeyMismatch { cert_bits: modulus.len() * 8 }
        });
        return None;
    };
    let key = sh.keys.get(i)?;
    match key.key.decrypt(Pkcs1v15Encrypt, &epms) {
        Ok(pms) if pms.len() == 48 => {
            c.secret_from = Some(format!("key file {}", key.source));
            Some(pms)
        }
        Ok(_) => {
            c.set_why(Why::RsaDecryptFailed(format!(
                "{} (premaster secret of the wrong length)",
                key.source
            )));
            None
        }
        Err(e) => {
            c.set_why(Why::RsaDecryptFailed(format!("{} ({e})", key.source)));
            None
        }
    }
}

/// At the first ChangeCipherSpec of a TLS ≤ 1.2 handshake: stage both directions' ciphers.
pub fn install_tls12(c: &mut Conn, sh: &mut Shared) {
    let (Some(ch), Some(s)) = (c.ch.clone(), c.sh.clone()) else {
        c.set_why(Why::NoHandshake);
        return;
    };
    let Some(suite) = c.suite else {
        c.set_why(Why::Unsupported(format!("cipher suite {}", suites::name(s.suite))));
        return;
    };
    if c.resumed.is_none() && c.epms().is_none() && c.cert_modulus.is_none() && !c.saw_ske {
        // No key exchange before the server's ChangeCipherSpec: an abbreviated handshake.
        c.resumed = Some(if ch.ticket.is_some() { "ticket" } else { "session_id" });
    }
    if c.master.is_none() {
        let from_log = sh.keylog.by_random.get(&ch.random).and_then(|x| x.master.clone());
        if let Some(m) = from_log {
            c.secret_from = Some("key log".into());
            c.master = Some(m);
        } else if c.resumed.is_some() {
            let by_ticket = ch.ticket.as_ref().and_then(|t| sh.cache.by_ticket.get(t));
            let by_sid = sh.cache.by_sid.get(&s.session_id);
            match by_ticket.or(by_sid) {
                Some(m) => {
                    c.secret_from = Some("earlier session in the capture".into());
                    c.master = Some(m.clone());
                }
                None => {
                    let id = ch.ticket.as_deref().unwrap_or(&s.session_id);
                    let original = sh.cache.issued.get(id).copied();
                    c.set_why(Why::ResumedUnknown { by_ticket: ch.ticket.is_some(), original });
                }
            }
        }
    }
    let Some(master) = c.master.clone() else {
        if suite.kx != Kx::Rsa {
            c.set_why(Why::ForwardSecrecy {
                kx: suite.kx.name(),
                have_rsa_key: !sh.keys.is_empty(),
            });
        }
        c.set_why(Why::NoKey);
        return;
    };
    let mac_len = suite.mac.map(|m| m.size()).unwrap_or(0);
    let key_len = suite.bulk.key_len();
    let iv_len = if suite.bulk.is_aead() {
        suite.bulk.fixed_iv_len()
    } else if s.version <= 0x0301 {
        suite.bulk.block_len()
    } else {
        0
    };
    let kb_len = 2 * (mac_len + key_len + iv_len);
    let kb = if s.version == 0x0300 {
        if suite.bulk.is_aead() {
            c.set_why(Why::Unsupported(format!("{} in SSL 3.0", suite.name)));
            return;
        }
        prf::ssl3_key_block(&master, &ch.random, &s.random, kb_len)
    } else {
        prf::key_block(s.version, suite.prf, &master, &ch.random, &s.random, kb_len)
    };
    let mut off = 0usize;
    let mut take = |n: usize| -> Vec<u8> {
        let v = kb.get(off..off + n).unwrap_or_default().to_vec();
        off += n;
        v
    };
    let (cm, sm) = (take(mac_len), take(mac_len));
    let (ck, sk) = (take(key_len), take(key_len));
    let (ci, si) = (take(iv_len), take(iv_len));
    let etm = ch.etm && s.etm && !suite.bulk.is_aead() && suite.bulk.block_len() > 0;
    let mk = |mac_key: &[u8], key: &[u8], iv: &[u8]| {
        RecordCipher::new(
            suite.bulk,
            suite.mac,
            &KeyMaterial { mac_key, key, iv },
            false,
            etm,
            s.version,
        )
    };
    match (mk(&cm, &ck, &ci), mk(&sm, &sk, &si)) {
        (Some(cc), Some(sc)) => {
            c.set_pending(0, cc);
            c.set_pending(1, sc);
        }
        _ => c.set_why(Why::Unsupported(format!("cipher suite {}", suite.name))),
    }
}

/// A TLS 1.3 record cipher from a traffic secret.
pub(crate) fn tls13_cipher(suite: &Suite, secret: &[u8]) -> Option<RecordCipher> {
    let key = prf::hkdf_expand_label(suite.prf, secret, b"key", b"", suite.bulk.key_len())?;
    let iv = prf::hkdf_expand_label(suite.prf, secret, b"iv", b"", 12)?;
    RecordCipher::new(
        suite.bulk,
        None,
        &KeyMaterial { mac_key: &[], key: &key, iv: &iv },
        true,
        false,
        0x0304,
    )
}

/// After a TLS 1.3 ServerHello: the handshake traffic keys from the key log.
pub fn tls13_handshake(c: &mut Conn, sh: &mut Shared) {
    let Some(ch) = c.ch.clone() else { return };
    let Some(suite) = c.suite.filter(|s| s.kx == Kx::Tls13) else {
        let id = c.sh.as_ref().map(|s| s.suite).unwrap_or(0);
        c.set_why(Why::Unsupported(format!("TLS 1.3 cipher suite {}", suites::name(id))));
        c.decide(false);
        return;
    };
    let Some(sec) = sh.keylog.by_random.get(&ch.random) else {
        c.set_why(Why::Tls13NoSecrets);
        c.decide(false);
        return;
    };
    let (Some(shs), Some(chs)) = (sec.server_hs.clone(), sec.client_hs.clone()) else {
        let missing = if sec.server_hs.is_none() {
            "SERVER_HANDSHAKE_TRAFFIC_SECRET"
        } else {
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
        };
        c.set_why(Why::Tls13MissingSecret(missing));
        c.decide(false);
        return;
    };
    match (tls13_cipher(suite, &shs), tls13_cipher(suite, &chs)) {
        (Some(s), Some(k)) => {
            c.set_cipher(1, s, None);
            if c.early.active() {
                // The client still sends early data: its handshake key after EndOfEarlyData.
                c.set_pending(0, k);
            } else {
                c.set_cipher(0, k, None);
            }
            c.secret_from = Some("key log".into());
            c.decide(true);
        }
        _ => {
            c.set_why(Why::Unsupported(format!("TLS 1.3 keys for {}", suite.name)));
            c.decide(false);
        }
    }
}

/// After a TLS 1.3 Finished from `dir`: that direction's application traffic keys.
pub fn tls13_application(c: &mut Conn, sh: &mut Shared, dir: usize) {
    let (Some(ch), Some(suite)) = (c.ch.clone(), c.suite) else { return };
    let sec = sh.keylog.by_random.get(&ch.random);
    let secret =
        sec.and_then(|s| if dir == 0 { s.client_app.clone() } else { s.server_app.clone() });
    let Some(secret) = secret else {
        c.set_why(Why::Tls13MissingSecret(if dir == 0 {
            "CLIENT_TRAFFIC_SECRET_0"
        } else {
            "SERVER_TRAFFIC_SECRET_0"
        }));
        return;
    };
    if let Some(k) = tls13_cipher(suite, &secret) {
        c.set_cipher(dir, k, Some(secret));
    }
}

/// A TLS 1.3 KeyUpdate from `dir`: its next application traffic secret.
pub fn tls13_key_update(c: &mut Conn, dir: usize) {
    let Some(suite) = c.suite else { return };
    let Some(next) = c.app_secret(dir).and_then(|s| prf::next_traffic_secret(suite.prf, s)) else {
        return;
    };
    if let Some(k) = tls13_cipher(suite, &next) {
        c.set_cipher(dir, k, Some(next));
    }
}
