//! Key derivation: the TLS PRF (RFC 2246 §5 for TLS 1.0/1.1: P_MD5 ⊕ P_SHA1 over the two
//! halves of the secret; RFC 5246 §5 for TLS 1.2: P_SHA256 or the suite's P_SHA384), the
//! master secret (plain or extended, RFC 7627), the key block, and TLS 1.3's
//! HKDF-Expand-Label (RFC 8446 §7.1) with its traffic-key and KeyUpdate derivations.
//!
//! SSL 3.0 (RFC 6101 §6.1, §6.2.2) has no PRF: the master secret and the key block are
//! `MD5(secret ‖ SHA1("A" ‖ secret ‖ seed)) ‖ MD5(secret ‖ SHA1("BB" ‖ secret ‖ seed)) ‖ …`,
//! with seed = client_random ‖ server_random for the master secret (48 bytes from the
//! premaster secret) and server_random ‖ client_random for the key block.

use hmac::{Mac, SimpleHmac};
use sha2::Digest;

use crate::suites::Hash;

fn p_hash<D>(secret: &[u8], seed: &[u8], out: &mut [u8])
where
    D: Digest + hmac::digest::core_api::BlockSizeUser + Clone,
{
    // HMAC accepts keys of any length: the error case cannot happen.
    let Ok(keyed) = <SimpleHmac<D> as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return;
    };
    let mac = |parts: &[&[u8]]| {
        let mut m = keyed.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes()
    };
    let mut a = mac(&[seed]);
    let mut pos = 0;
    while pos < out.len() {
        let block = mac(&[&a, seed]);
        for (o, b) in out.iter_mut().skip(pos).zip(block.iter()) {
            *o ^= *b;
        }
        pos += block.len();
        a = mac(&[&a]);
    }
}

/// PRF(secret, label, seed) of `n` bytes for protocol `version` (0x0301..0x0303) with the
/// suite's PRF hash (used for TLS 1.2 only).
pub fn prf(
    version: u16,
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    n: usize,
) -> Vec<u8> {
    let mut full_seed = Vec::with_capacity(label.len() + seed.len());
    full_seed.extend_from_slice(label);
    full_seed.extend_from_slice(seed);
    let mut out = vec![0u8; n];
    if version < 0x0303 {
        let half = secret.len().div_ceil(2);
        let s1 = secret.get(..half).unwrap_or(secret);
        let s2 = secret.get(secret.len() - half..).unwrap_or(secret);
        p_hash::<md5::Md5>(s1, &full_seed, &mut out);
        p_hash::<sha1::Sha1>(s2, &full_seed, &mut out);
    } else if hash == Hash::Sha384 {
        p_hash::<sha2::Sha384>(secret, &full_seed, &mut out);
    } else {
        p_hash::<sha2::Sha256>(secret, &full_seed, &mut out);
    }
    out
}

/// The session hash for the extended master secret: the handshake transcript hashed with
/// MD5‖SHA-1 (TLS 1.0/1.1) or the PRF hash (TLS 1.2).
pub fn session_hash(version: u16, hash: Hash, transcript: &[u8]) -> Vec<u8> {
    if version < 0x0303 {
        let mut v = md5::Md5::digest(transcript).to_vec();
        v.extend_from_slice(&sha1::Sha1::digest(transcript));
        v
    } else if hash == Hash::Sha384 {
        sha2::Sha384::digest(transcript).to_vec()
    } else {
        sha2::Sha256::digest(transcript).to_vec()
    }
}

/// What the master secret is derived from.
pub struct MasterInput<'a> {
    pub version: u16,
    pub hash: Hash,
    pub premaster: &'a [u8],
    pub client_random: &'a [u8; 32],
    pub server_random: &'a [u8; 32],
    /// The transcript through ClientKeyExchange when extended master secret was negotiated.
    pub ems_transcript: Option<&'a [u8]>,
}

pub fn master_secret(m: &MasterInput<'_>) -> Vec<u8> {
    match m.ems_transcript {
        Some(t) => {
            let sh = session_hash(m.version, m.hash, t);
            prf(m.version, m.hash, m.premaster, b"extended master secret", &sh, 48)
        }
        None => {
            let mut seed = m.client_random.to_vec();
            seed.extend_from_slice(m.server_random);
            prf(m.version, m.hash, m.premaster, b"master secret", &seed, 48)
        }
    }
}

/// The key block: `PRF(master, "key expansion", server_random ‖ client_random)`.
pub fn key_block(
    version: u16,
    hash: Hash,
    master: &[u8],
    cr: &[u8; 32],
    sr: &[u8; 32],
    n: usize,
) -> Vec<u8> {
    let mut seed = sr.to_vec();
    seed.extend_from_slice(cr);
    prf(version, hash, master, b"key expansion", &seed, n)
}

/// The SSL 3.0 MD5/SHA-1 expansion of `secret` over `seed` to `n` bytes (at most 26 × 16:
/// the labels run from "A" to 26 × "Z"; longer requests are cut there).
pub fn ssl3_expand(secret: &[u8], seed: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    for (i, letter) in (b'A'..=b'Z').enumerate() {
        if out.len() >= n {
            break;
        }
        let mut inner = sha1::Sha1::new();
        inner.update(vec![letter; i + 1]);
        inner.update(secret);
        inner.update(seed);
        let mut outer = md5::Md5::new();
        outer.update(secret);
        outer.update(inner.finalize());
        out.extend_from_slice(&outer.finalize());
    }
    out.truncate(n);
    out
}

/// The SSL 3.0 master secret from the premaster secret.
pub fn ssl3_master_secret(premaster: &[u8], cr: &[u8; 32], sr: &[u8; 32]) -> Vec<u8> {
    let mut seed = cr.to_vec();
    seed.extend_from_slice(sr);
    ssl3_expand(premaster, &seed, 48)
}

/// The SSL 3.0 key block.
pub fn ssl3_key_block(master: &[u8], cr: &[u8; 32], sr: &[u8; 32], n: usize) -> Vec<u8> {
    let mut seed = sr.to_vec();
    seed.extend_from_slice(cr);
    ssl3_expand(master, &seed, n)
}

/// HKDF-Expand-Label(secret, label, context, n) with the "tls13 " prefix.
pub fn hkdf_expand_label(
    hash: Hash,
    secret: &[u8],
    label: &[u8],
    ctx: &[u8],
    n: usize,
) -> Option<Vec<u8>> {
    let full_len = 6 + label.len();
    let mut info = Vec::with_capacity(4 + full_len + ctx.len());
    info.extend_from_slice(&u16::try_from(n).ok()?.to_be_bytes());
    info.push(u8::try_from(full_len).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(u8::try_from(ctx.len()).ok()?);
    info.extend_from_slice(ctx);
    let mut out = vec![0u8; n];
    let ok = match hash {
        Hash::Sha384 => {
            hkdf::Hkdf::<sha2::Sha384>::from_prk(secret).ok()?.expand(&info, &mut out).is_ok()
        }
        _ => hkdf::Hkdf::<sha2::Sha256>::from_prk(secret).ok()?.expand(&info, &mut out).is_ok(),
    };
    ok.then_some(out)
}

/// The next application traffic secret after a KeyUpdate.
pub fn next_traffic_secret(hash: Hash, secret: &[u8]) -> Option<Vec<u8>> {
    hkdf_expand_label(hash, secret, b"traffic upd", b"", hash.size())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SSL 3.0 expansion: the vector is tlslite-ng 0.8.2's `mathtls.PRF_SSL` (an independent
    /// implementation) over secret 00..2f and seed 64..a3, 104 bytes (a 3DES-SHA key block).
    #[test]
    fn ssl3_expand_matches_tlslite() {
        let secret: Vec<u8> = (0..48).collect();
        let seed: Vec<u8> = (100..164).collect();
        let want = "1d951449ec9a55924fd25a084453fa6ca42dda4dd43958a820699ee5b6cc833f3dd559abf64d2a61\
                    94cd998b25a775836d2d8458267ea545e0015e34811dfe8a4e6f2a5ba63bd0a852f9ed6daefc1e5d\
                    cb5caa5bb4116696e412049c7d8c28f67e6c40b614513ab4";
        assert_eq!(crate::hex::encode(&ssl3_expand(&secret, &seed, 104)), want);
        assert_eq!(ssl3_expand(&secret, &seed, 1000).len(), 26 * 16);
    }

    /// RFC 8448 §3 (simple 1-RTT handshake): server handshake traffic secret → key and IV.
    #[test]
    fn rfc8448_server_handshake_key() {
        let shts =
            crate::hex::decode("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
                .unwrap();
        let key = hkdf_expand_label(Hash::Sha256, &shts, b"key", b"", 16).unwrap();
        let iv = hkdf_expand_label(Hash::Sha256, &shts, b"iv", b"", 12).unwrap();
        assert_eq!(crate::hex::encode(&key), "3fce516009c21727d0f2e4e86ee403bc");
        assert_eq!(crate::hex::encode(&iv), "5d313eb2671276ee13000b30");
    }
}
