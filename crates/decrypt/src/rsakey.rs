//! One RSA private key ([`PrivateKey`]), why a key file could not be used ([`KeyError`]),
//! and the DER structures that hold a key, shared by the PEM / DER reader ([`crate::keys`])
//! and the PKCS#12 reader ([`crate::pfx`]):
//!
//! ```text
//! RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent, … }    (PKCS#1)
//! PrivateKeyInfo ::= SEQUENCE { version, algorithm AlgorithmIdentifier,
//!                               privateKey OCTET STRING, … }           (PKCS#8)
//! EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier,
//!                                        encryptedData OCTET STRING }  (PBES2 / PKCS#12 PBE)
//! ```

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;

use crate::asn1::{self, Reader};
use crate::pbe::{self, PbeError};

/// A loaded RSA private key.
#[derive(Clone)]
pub struct PrivateKey {
    /// Where it came from (file name, and the block/bag within it when there are several).
    pub source: String,
    pub key: RsaPrivateKey,
    /// Big-endian modulus without leading zeros.
    pub modulus: Vec<u8>,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateKey({}, {} bits)", self.source, self.modulus.len() * 8)
    }
}

impl PrivateKey {
    fn new(source: String, key: RsaPrivateKey) -> PrivateKey {
        let modulus = key.n().to_bytes_be();
        PrivateKey { source, key, modulus }
    }
    /// Size in bits (for messages).
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }
}

/// Why a key file could not be used. Messages name the file and never contain key material.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum KeyError {
    #[error("{path}: cannot read key file: {what}")]
    Io { path: String, what: String },
    #[error("{path}: {what}")]
    Format { path: String, what: String },
    #[error("{path}: the key is encrypted: give its password in TRACEHOUND_KEY_PASSWORD, with --key-password-file, or at the prompt on a terminal")]
    PasswordNeeded { path: String },
    #[error("{path}: wrong password (the key could not be decrypted with it)")]
    WrongPassword { path: String },
    #[error("{path}: {what}: only RSA keys can decrypt TLS sessions")]
    NotRsa { path: String, what: String },
    #[error("{path}: unsupported: {what}")]
    Unsupported { path: String, what: String },
}

pub(crate) fn pkcs1(name: &str, der: &[u8]) -> Result<PrivateKey, KeyError> {
    let k = RsaPrivateKey::from_pkcs1_der(der).map_err(|e| KeyError::Format {
        path: name.to_string(),
        what: format!("PKCS#1 RSA private key: {e}"),
    })?;
    Ok(PrivateKey::new(name.to_string(), k))
}

/// PKCS#8 PrivateKeyInfo; a non-RSA algorithm is reported as such.
pub(crate) fn pkcs8(name: &str, der: &[u8]) -> Result<PrivateKey, KeyError> {
    let mut r = Reader::new(der);
    let alg_is_rsa = r
        .next("PrivateKeyInfo")
        .ok()
        .and_then(|t| {
            let mut r = t.reader();
            r.next("version").ok()?;
            let alg = r.next("algorithm").ok()?;
            let o = alg.reader().next("oid").ok()?;
            Some(o.value == asn1::oid::RSA_ENCRYPTION)
        })
        .unwrap_or(true);
    if !alg_is_rsa {
        return Err(KeyError::NotRsa {
            path: name.to_string(),
            what: "PKCS#8 key of another algorithm (EC, Ed25519, DSA…)".into(),
        });
    }
    let k = RsaPrivateKey::from_pkcs8_der(der).map_err(|e| KeyError::Format {
        path: name.to_string(),
        what: format!("PKCS#8 private key: {e}"),
    })?;
    Ok(PrivateKey::new(name.to_string(), k))
}

/// EncryptedPrivateKeyInfo (PBES2 or PKCS#12 PBE), then PKCS#8.
pub(crate) fn decrypt_pkcs8(
    name: &str,
    der: &[u8],
    password: Option<&str>,
) -> Result<PrivateKey, KeyError> {
    let fmt = |what: String| KeyError::Format { path: name.to_string(), what };
    let top =
        asn1::parse_one(der, "EncryptedPrivateKeyInfo").map_err(|e| fmt(format!("DER: {e}")))?;
    let mut r = top.reader();
    let alg = r.next("encryption algorithm").map_err(|e| fmt(format!("DER: {e}")))?;
    let data = r.next("encrypted data").map_err(|e| fmt(format!("DER: {e}")))?;
    let Some(pw) = password else {
        return Err(KeyError::PasswordNeeded { path: name.to_string() });
    };
    let plain = pbe::decrypt(alg, data.value, pw).map_err(|e| pbe_err(name, e))?;
    // A wrong password that happens to leave valid padding gives garbage: say so.
    pkcs8(name, &plain).map_err(|e| match e {
        KeyError::Format { .. } => KeyError::WrongPassword { path: name.to_string() },
        other => other,
    })
}

pub(crate) fn pbe_err(name: &str, e: PbeError) -> KeyError {
    match e {
        PbeError::WrongPassword => KeyError::WrongPassword { path: name.to_string() },
        PbeError::Unsupported(w) => KeyError::Unsupported {
            path: name.to_string(),
            what: format!("encryption algorithm {w}"),
        },
        PbeError::Malformed(w) => KeyError::Format { path: name.to_string(), what: w },
    }
}
