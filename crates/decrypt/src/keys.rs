//! RSA private keys from files: PEM (PKCS#1 `RSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY`,
//! `ENCRYPTED PRIVATE KEY`, legacy OpenSSL encrypted PEM with `Proc-Type: 4,ENCRYPTED` and
//! `DEK-Info`), the same structures in DER, and PKCS#12 / .pfx (see [`crate::pfx`]).
//!
//! A file may hold several PEM blocks (certificates are skipped). A key is identified by its
//! modulus, which is what sessions are matched on (the server certificate's public key).

use std::path::Path;

use base64ct::{Base64, Encoding};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;

use crate::asn1::{self, Reader};
use crate::pbe::{self, PbeError};

/// Largest key file read (a .pfx with a long chain is a few tens of KiB).
pub const MAX_KEY_FILE: u64 = 4 << 20;

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

/// Read and parse a key file. `password` is used only if the file is encrypted.
pub fn load(path: &Path, password: Option<&str>) -> Result<Vec<PrivateKey>, KeyError> {
    let name = path.display().to_string();
    let io = |e: std::io::Error| KeyError::Io { path: name.clone(), what: e.to_string() };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_KEY_FILE {
        return Err(KeyError::Format {
            path: name,
            what: format!("{} bytes is too large for a key file", meta.len()),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    parse(&name, &bytes, password)
}

/// Parse key file contents (PEM, DER or PKCS#12, detected from the bytes).
pub fn parse(
    name: &str,
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<PrivateKey>, KeyError> {
    let fmt = |what: String| KeyError::Format { path: name.to_string(), what };
    if bytes.is_empty() {
        return Err(fmt("the file is empty".into()));
    }
    let text = std::str::from_utf8(bytes).ok();
    if let Some(t) = text.filter(|t| t.contains("-----BEGIN ")) {
        return parse_pem(name, t, password);
    }
    if bytes.first() != Some(&asn1::SEQUENCE) {
        return Err(fmt(
            "not a PEM, DER or PKCS#12 key file (no -----BEGIN line, no DER SEQUENCE)".into(),
        ));
    }
    parse_der(name, bytes, password)
}

/// One DER structure: PKCS#1, PKCS#8, EncryptedPrivateKeyInfo or PKCS#12, told apart by shape.
fn parse_der(name: &str, der: &[u8], password: Option<&str>) -> Result<Vec<PrivateKey>, KeyError> {
    let fmt = |what: String| KeyError::Format { path: name.to_string(), what };
    let top = asn1::parse_one(der, "key structure").map_err(|e| fmt(format!("DER: {e}")))?;
    let mut r = top.reader();
    let first = r.next("first element").map_err(|e| fmt(format!("DER: {e}")))?;
    if first.tag == asn1::SEQUENCE {
        return decrypt_pkcs8(name, der, password).map(|k| vec![k]);
    }
    match first.uint() {
        Ok(3) => crate::pfx::parse(name, der, password),
        Ok(0) => {
            let second = r.next("second element").map_err(|e| fmt(format!("DER: {e}")))?;
            if second.tag == asn1::INTEGER {
                pkcs1(name, der).map(|k| vec![k])
            } else {
                pkcs8(name, der).map(|k| vec![k])
            }
        }
        Ok(1) => pkcs8(name, der).map(|k| vec![k]),
        _ => Err(fmt("DER structure is not a private key or PKCS#12 file".into())),
    }
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

/// A PEM block: label, headers (legacy encryption), base64 body.
struct PemBlock<'a> {
    label: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: String,
}

fn pem_blocks<'a>(name: &str, text: &'a str) -> Result<Vec<PemBlock<'a>>, KeyError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((_, line)) = lines.next() {
        let Some(label) =
            line.trim().strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let mut blk = PemBlock { label, headers: Vec::new(), body: String::new() };
        let mut ended = false;
        for (n, l) in lines.by_ref() {
            let l = l.trim();
            if l.starts_with("-----END ") {
                ended = true;
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                blk.headers.push((k.trim(), v.trim()));
            } else if l
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=')
            {
                blk.body.push_str(l);
            } else {
                return Err(KeyError::Format {
                    path: name.to_string(),
                    what: format!("PEM line {}: not base64", n + 1),
                });
            }
        }
        if !ended {
            return Err(KeyError::Format {
                path: name.to_string(),
                what: format!("PEM block \"{label}\" has no END line (truncated file?)"),
            });
        }
        out.push(blk);
    }
    Ok(out)
}

fn parse_pem(name: &str, text: &str, password: Option<&str>) -> Result<Vec<PrivateKey>, KeyError> {
    let blocks = pem_blocks(name, text)?;
    let mut keys = Vec::new();
    let mut other = Vec::new();
    let many = blocks.iter().filter(|b| b.label.contains("PRIVATE KEY")).count() > 1;
    for (i, b) in blocks.iter().enumerate() {
        let src = if many { format!("{name}#{}", i + 1) } else { name.to_string() };
        if !b.label.contains("PRIVATE KEY") && b.label != "PKCS12" {
            other.push(b.label);
            continue;
        }
        let der = Base64::decode_vec(&b.body).map_err(|_| KeyError::Format {
            path: src.clone(),
            what: format!("PEM block \"{}\": bad base64 (truncated or edited file?)", b.label),
        })?;
        let k = match b.label {
            "RSA PRIVATE KEY" => {
                let dek = b.headers.iter().find(|(k, _)| *k == "DEK-Info").map(|(_, v)| *v);
                match dek {
                    None => pkcs1(&src, &der)?,
                    Some(dek) => {
                        let pw = password
                            .ok_or_else(|| KeyError::PasswordNeeded { path: src.clone() })?;
                        let plain =
                            pbe::decrypt_legacy_pem(dek, &der, pw).map_err(|e| pbe_err(&src, e))?;
                        pkcs1(&src, &plain)
                            .map_err(|_| KeyError::WrongPassword { path: src.clone() })?
                    }
                }
            }
            "PRIVATE KEY" => pkcs8(&src, &der)?,
            "ENCRYPTED PRIVATE KEY" => decrypt_pkcs8(&src, &der, password)?,
            "PKCS12" => {
                keys.extend(crate::pfx::parse(&src, &der, password)?);
                continue;
            }
            l => return Err(KeyError::NotRsa { path: src, what: format!("PEM block \"{l}\"") }),
        };
        keys.push(k);
    }
    if keys.is_empty() {
        let what = if other.is_empty() {
            "no PEM block in the file".to_string()
        } else {
            format!("no private key in the file (only {})", other.join(", "))
        };
        return Err(KeyError::Format { path: name.to_string(), what });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_clear_error_not_a_panic() {
        let e = parse("k.pem", b"hello", None).unwrap_err();
        assert!(e.to_string().contains("not a PEM, DER or PKCS#12"), "{e}");
        let e = parse("k.pem", b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", None).unwrap_err();
        assert!(e.to_string().contains("no END line"), "{e}");
        let e = parse("k.der", &[0x30, 0x82, 0x04], None).unwrap_err();
        assert!(e.to_string().contains("DER"), "{e}");
        let e =
            parse("k.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None)
                .unwrap_err();
        assert!(e.to_string().contains("only CERTIFICATE"), "{e}");
    }
}
