//! Password-based encryption used by key containers.
//!
//! * PKCS#12 PBE (RFC 7292 appendix B and C): `pbeWithSHAAnd3-KeyTripleDES-CBC`,
//!   `…2-KeyTripleDES-CBC`, `…128BitRC2-CBC`, `…40BitRC2-CBC` (what `openssl pkcs12 -legacy`
//!   and older Windows exports use). The key and IV come from the PKCS#12 key derivation
//!   with SHA-1 over the password as a BMPString (UTF-16BE with a final NUL).
//! * PBES2 (RFC 8018): PBKDF2 with an HMAC and AES-CBC / 3DES-CBC, through RustCrypto's
//!   `pkcs5`; the password is its UTF-8 bytes.
//! * The PKCS#12 MAC key derivation (ID 3) with SHA-1 or SHA-256.

use aes::cipher::{BlockDecryptMut, KeyInit, KeyIvInit};
use cbc::cipher::block_padding::Pkcs7;
use der::Decode;
use sha1::Digest;

use crate::asn1::{self, oid, Tlv};

/// Why a password-based decryption failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbeError {
    /// The padding or structure after decryption was wrong: almost always a wrong password.
    WrongPassword,
    /// An algorithm we do not implement (its OID in dotted form).
    Unsupported(String),
    /// The algorithm parameters could not be read.
    Malformed(String),
}

/// The password as a PKCS#12 BMPString: UTF-16BE plus a two-byte NUL terminator.
pub fn bmp_password(pw: &str) -> Vec<u8> {
    let mut out: Vec<u8> = pw.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
    out.extend_from_slice(&[0, 0]);
    out
}

/// RFC 7292 appendix B.2 key derivation, generic over the hash (SHA-1 u=20, SHA-256 u=32;
/// both v=64). `id` 1 = key, 2 = IV, 3 = MAC key.
pub fn pkcs12_kdf<D: Digest>(pass: &[u8], salt: &[u8], iter: u32, id: u8, n: usize) -> Vec<u8> {
    const V: usize = 64;
    let fill = |s: &[u8]| -> Vec<u8> {
        if s.is_empty() {
            return Vec::new();
        }
        let len = V * s.len().div_ceil(V);
        s.iter().cycle().take(len).copied().collect()
    };
    let mut i_buf = fill(salt);
    i_buf.extend_from_slice(&fill(pass));
    let d = [id; V];
    let mut out = Vec::with_capacity(n + 64);
    while out.len() < n {
        let mut h = D::new();
        h.update(d);
        h.update(&i_buf);
        let mut a = h.finalize();
        for _ in 1..iter.max(1) {
            a = D::digest(&a);
        }
        out.extend_from_slice(&a);
        if out.len() >= n {
            break;
        }
        let b: Vec<u8> = a.iter().cycle().take(V).copied().collect();
        for block in i_buf.chunks_mut(V) {
            // block = (block + b + 1) mod 2^(8v), big-endian.
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let s = u16::from(*x) + u16::from(*y) + carry;
                *x = s as u8;
                carry = s >> 8;
            }
        }
    }
    out.truncate(n);
    out
}

/// Dotted form of an OID value (for messages).
pub fn oid_string(v: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    for b in v {
        cur = cur.saturating_mul(128) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (cur / 40).min(2);
                arcs.push(first);
                arcs.push(cur - first * 40);
            } else {
                arcs.push(cur);
            }
            cur = 0;
        }
    }
    arcs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(".")
}

/// Decrypt `data` encrypted under the AlgorithmIdentifier `alg` (a full TLV) with `password`.
pub fn decrypt(alg: Tlv<'_>, data: &[u8], password: &str) -> Result<Vec<u8>, PbeError> {
    let mal = |e: asn1::Asn1Error| PbeError::Malformed(e.to_string());
    let mut r = alg.reader();
    let algo =
        r.next("algorithm OID").map_err(mal)?.expect(asn1::OID, "expected an OID").map_err(mal)?;
    if algo.value == oid::PBES2 {
        let scheme = pkcs5::EncryptionScheme::from_der(alg.raw)
            .map_err(|e| PbeError::Malformed(format!("PBES2 parameters: {e}")))?;
        return scheme.decrypt(password.as_bytes(), data).map_err(|e| match e {
            pkcs5::Error::DecryptFailed | pkcs5::Error::EncryptFailed => PbeError::WrongPassword,
            other => PbeError::Unsupported(format!("PBES2: {other}")),
        });
    }
    let Some(&last) = algo.value.strip_prefix(oid::PKCS12_PBE_PREFIX).and_then(|s| s.first())
    else {
        return Err(PbeError::Unsupported(oid_string(algo.value)));
    };
    let params = r.next("PBE parameters").map_err(mal)?;
    let mut p = params.reader();
    let salt = p.next("PBE salt").map_err(mal)?;
    let iter = p.next("PBE iterations").map_err(mal)?.uint().map_err(mal)?;
    let iter =
        u32::try_from(iter).map_err(|_| PbeError::Malformed("iteration count too large".into()))?;
    let pass = bmp_password(password);
    let kdf = |id, n| pkcs12_kdf::<sha1::Sha1>(&pass, salt.value, iter, id, n);
    let iv = kdf(2, 8);
    let mut buf = data.to_vec();
    let out = match last {
        3 | 4 => {
            let key = kdf(1, if last == 3 { 24 } else { 16 });
            let mut k24 = key.clone();
            if last == 4 {
                k24.extend_from_slice(key.get(..8).unwrap_or_default());
            }
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&k24, &iv)
                .map_err(|_| PbeError::Malformed("3DES key".into()))?
                .decrypt_padded_mut::<Pkcs7>(&mut buf)
                .map(|p| p.len())
        }
        5 | 6 => {
            let (klen, bits) = if last == 5 { (16, 128) } else { (5, 40) };
            let key = kdf(1, klen);
            let c = rc2::Rc2::new_with_eff_key_len(&key, bits);
            let iv = cbc::cipher::generic_array::GenericArray::from_slice(&iv);
            <cbc::Decryptor<rc2::Rc2> as cbc::cipher::InnerIvInit>::inner_iv_init(c, iv)
                .decrypt_padded_mut::<Pkcs7>(&mut buf)
                .map(|p| p.len())
        }
        _ => return Err(PbeError::Unsupported(oid_string(algo.value))),
    };
    let n = out.map_err(|_| PbeError::WrongPassword)?;
    buf.truncate(n);
    Ok(buf)
}

/// Decrypt a legacy OpenSSL encrypted PEM body (`DEK-Info: ALG,IVHEX`): the key is
/// EVP_BytesToKey(MD5, salt = first 8 IV bytes, count 1).
pub fn decrypt_legacy_pem(dek: &str, data: &[u8], password: &str) -> Result<Vec<u8>, PbeError> {
    let (alg, ivhex) =
        dek.split_once(',').ok_or_else(|| PbeError::Malformed("DEK-Info without IV".into()))?;
    let iv = crate::hex::decode(ivhex.trim())
        .ok_or_else(|| PbeError::Malformed("DEK-Info IV is not hex".into()))?;
    let klen = match alg.trim() {
        "AES-128-CBC" => 16,
        "AES-192-CBC" => 24,
        "AES-256-CBC" => 32,
        "DES-EDE3-CBC" => 24,
        "DES-CBC" => 8,
        other => return Err(PbeError::Unsupported(other.to_string())),
    };
    let salt = iv.get(..8).ok_or_else(|| PbeError::Malformed("DEK-Info IV too short".into()))?;
    let mut key = Vec::new();
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < klen {
        let mut h = md5::Md5::new();
        h.update(&prev);
        h.update(password.as_bytes());
        h.update(salt);
        prev = h.finalize().to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(klen);
    let mut buf = data.to_vec();
    let bad = |_| PbeError::Malformed("cipher key/IV length".into());
    let n = match alg.trim() {
        "AES-128-CBC" => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .map_err(bad)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(|p| p.len()),
        "AES-192-CBC" => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .map_err(bad)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(|p| p.len()),
        "AES-256-CBC" => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .map_err(bad)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(|p| p.len()),
        "DES-EDE3-CBC" => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(bad)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(|p| p.len()),
        _ => cbc::Decryptor::<des::Des>::new_from_slices(&key, &iv)
            .map_err(bad)?
            .decrypt_padded_mut::<Pkcs7>(&mut buf)
            .map(|p| p.len()),
    }
    .map_err(|_| PbeError::WrongPassword)?;
    buf.truncate(n);
    Ok(buf)
}

/// Check a PKCS#12 MAC (HMAC-SHA1 or HMAC-SHA256 keyed by the KDF with ID 3) over `content`.
/// `Ok(false)` = the MAC does not match (wrong password or damaged file).
pub fn verify_mac(
    digest_oid: &[u8],
    expected: &[u8],
    salt: &[u8],
    iter: u32,
    content: &[u8],
    pass: &[u8],
) -> Result<bool, PbeError> {
    use hmac::{Hmac, Mac};
    let tag = if digest_oid == oid::SHA1 {
        let key = pkcs12_kdf::<sha1::Sha1>(pass, salt, iter, 3, 20);
        let mut m = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(&key)
            .map_err(|_| PbeError::Malformed("HMAC key".into()))?;
        m.update(content);
        m.finalize().into_bytes().to_vec()
    } else if digest_oid == oid::SHA256 {
        let key = pkcs12_kdf::<sha2::Sha256>(pass, salt, iter, 3, 32);
        let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key)
            .map_err(|_| PbeError::Malformed("HMAC key".into()))?;
        m.update(content);
        m.finalize().into_bytes().to_vec()
    } else if digest_oid == oid::SHA384 {
        let key = pkcs12_kdf::<sha2::Sha384>(pass, salt, iter, 3, 48);
        let mut m = <Hmac<sha2::Sha384> as KeyInit>::new_from_slice(&key)
            .map_err(|_| PbeError::Malformed("HMAC key".into()))?;
        m.update(content);
        m.finalize().into_bytes().to_vec()
    } else if digest_oid == oid::SHA512 {
        let key = pkcs12_kdf::<sha2::Sha512>(pass, salt, iter, 3, 64);
        let mut m = <Hmac<sha2::Sha512> as KeyInit>::new_from_slice(&key)
            .map_err(|_| PbeError::Malformed("HMAC key".into()))?;
        m.update(content);
        m.finalize().into_bytes().to_vec()
    } else {
        return Err(PbeError::Unsupported(format!("MAC digest {}", oid_string(digest_oid))));
    };
    Ok(tag == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oid_dotted() {
        assert_eq!(oid_string(oid::PBES2), "1.2.840.113549.1.5.13");
        assert_eq!(oid_string(oid::SHA1), "1.3.14.3.2.26");
    }

    #[test]
    fn bmp_password_has_terminator() {
        assert_eq!(bmp_password("ab"), vec![0, b'a', 0, b'b', 0, 0]);
    }
}
