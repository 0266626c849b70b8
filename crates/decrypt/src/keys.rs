//! RSA private keys from files: PEM (PKCS#1 `RSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY`,
//! `ENCRYPTED PRIVATE KEY`, legacy OpenSSL encrypted PEM with `Proc-Type: 4,ENCRYPTED` and
//! `DEK-Info`), the same structures in DER, and PKCS#12 / .pfx (see [`crate::pfx`]).
//!
//! A file may hold several PEM blocks (certificates are skipped). A key is identified by its
//! modulus, which is what sessions are matched on (the server certificate's public key).

use std::path::Path;

use base64ct::{Base64, Encoding};

use crate::asn1;
use crate::pbe;
use crate::rsakey::{decrypt_pkcs8, pbe_err, pkcs1, pkcs8};
pub use crate::rsakey::{KeyError, PrivateKey};

/// Largest key file read (a .pfx with a long chain is a few tens of KiB).
pub const MAX_KEY_FILE: u64 = 4 << 20;

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
