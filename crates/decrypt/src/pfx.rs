//! PKCS#12 / .pfx (RFC 7292) as Windows and OpenSSL export them.
//!
//! ```text
//! PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData MacData OPTIONAL }
//! ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT ANY }
//!   data (1.2.840.113549.1.7.1): OCTET STRING holding the DER of the inner structure
//!   encryptedData (…7.6): SEQUENCE { version, SEQUENCE { type, AlgorithmIdentifier,
//!                                    [0] IMPLICIT OCTET STRING ciphertext } }
//! AuthenticatedSafe ::= SEQUENCE OF ContentInfo       (inside authSafe's data)
//! SafeContents ::= SEQUENCE OF SafeBag
//! SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OPTIONAL }
//! MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }
//! ```
//!
//! Keys come from keyBag (PrivateKeyInfo) and pkcs8ShroudedKeyBag (EncryptedPrivateKeyInfo);
//! certificate bags are skipped. Legacy files (`openssl pkcs12 -legacy`, older Windows) encrypt
//! with PKCS#12 PBE (RC2-40 / 3DES, SHA-1 MAC); modern ones with PBES2 AES-256-CBC and a
//! SHA-256 MAC. The MAC is checked first, which tells a wrong password apart from a damaged
//! file. "No password" means the empty password (both encodings OpenSSL uses are tried).

use crate::asn1::{self, oid, Asn1Error, Reader, Tlv};
use crate::pbe;
use crate::rsakey::{self, KeyError, PrivateKey};

/// Nesting depth allowed for safeContentsBag.
const MAX_DEPTH: u32 = 4;

struct Ctx<'p> {
    name: String,
    password: &'p str,
    keys: Vec<PrivateKey>,
}

impl Ctx<'_> {
    fn fmt(&self, e: Asn1Error) -> KeyError {
        KeyError::Format { path: self.name.clone(), what: format!("PKCS#12: {e}") }
    }
}

/// Parse a PFX and return its RSA keys.
pub fn parse(name: &str, der: &[u8], password: Option<&str>) -> Result<Vec<PrivateKey>, KeyError> {
    let fmt =
        |e: Asn1Error| KeyError::Format { path: name.to_string(), what: format!("PKCS#12: {e}") };
    let top = asn1::parse_one(der, "PFX").map_err(fmt)?;
    let mut r = top.reader();
    let version = r.next("PFX version").map_err(fmt)?.uint().map_err(fmt)?;
    if version != 3 {
        return Err(KeyError::Unsupported {
            path: name.to_string(),
            what: format!("PKCS#12 version {version}"),
        });
    }
    let auth_safe = r.next("authSafe ContentInfo").map_err(fmt)?;
    let content = data_content(auth_safe).map_err(fmt)?;
    let mac = r.optional(asn1::SEQUENCE).map_err(fmt)?;
    let pw = match mac {
        Some(mac) => check_mac(name, mac, content, password)?,
        None => password.unwrap_or("").to_string(),
    };
    let mut ctx = Ctx { name: name.to_string(), password: &pw, keys: Vec::new() };
    let safes = asn1::parse_one(content, "AuthenticatedSafe").map_err(fmt)?;
    let mut r = safes.reader();
    while !r.is_empty() {
        let ci = r.next("ContentInfo").map_err(fmt)?;
        let mut cr = ci.reader();
        let ty = cr.next("content type").map_err(fmt)?;
        if ty.value == oid::DATA {
            let inner = data_content(ci).map_err(fmt)?;
            safe_contents(&mut ctx, inner, 0)?;
        } else if ty.value == oid::ENCRYPTED_DATA {
            let plain = encrypted_data(&ctx, ci)?;
            safe_contents(&mut ctx, &plain, 0)?;
        }
        // Other content types (enveloped data, public-key privacy mode) carry no keys we
        // could open with a password: skipped.
    }
    if ctx.keys.is_empty() {
        return Err(KeyError::Format {
            path: name.to_string(),
            what: "PKCS#12 file holds no private key".into(),
        });
    }
    if ctx.keys.len() > 1 {
        for (i, k) in ctx.keys.iter_mut().enumerate() {
            k.source = format!("{name}#{}", i + 1);
        }
    }
    Ok(ctx.keys)
}

/// The OCTET STRING inside a `data` ContentInfo.
fn data_content<'a>(ci: Tlv<'a>) -> Result<&'a [u8], Asn1Error> {
    let mut r = ci.reader();
    let ty = r.next("content type")?.expect(asn1::OID, "expected the content type OID")?;
    if ty.value != oid::DATA {
        return Err(Asn1Error { what: "expected a data ContentInfo", offset: ty.offset });
    }
    let wrap = r.next("content")?.expect(asn1::CTX0, "expected [0] content")?;
    let os = wrap.reader().next("content OCTET STRING")?;
    if os.tag == 0x24 {
        return Err(Asn1Error {
            what:
                "constructed (BER) OCTET STRING is not supported; re-export the .pfx with openssl",
            offset: os.offset,
        });
    }
    Ok(os.expect(asn1::OCTET_STRING, "expected an OCTET STRING")?.value)
}

/// Verify the MAC; returns the password that verified it.
fn check_mac(
    name: &str,
    mac: Tlv<'_>,
    content: &[u8],
    password: Option<&str>,
) -> Result<String, KeyError> {
    let fmt = |e: Asn1Error| KeyError::Format {
        path: name.to_string(),
        what: format!("PKCS#12 MAC: {e}"),
    };
    let mut r = mac.reader();
    let digest_info = r.next("DigestInfo").map_err(fmt)?;
    let salt = r
        .next("MAC salt")
        .map_err(fmt)?
        .expect(asn1::OCTET_STRING, "expected the MAC salt")
        .map_err(fmt)?;
    let iter = match r.optional(asn1::INTEGER).map_err(fmt)? {
        Some(t) => t.uint().map_err(fmt)?,
        None => 1,
    };
    let iter = u32::try_from(iter).map_err(|_| KeyError::Format {
        path: name.to_string(),
        what: "PKCS#12 MAC iteration count too large".into(),
    })?;
    let mut dr = digest_info.reader();
    let alg = dr.next("MAC algorithm").map_err(fmt)?;
    let alg_oid = alg.reader().next("MAC digest OID").map_err(fmt)?;
    let expected = dr.next("MAC value").map_err(fmt)?.value;
    // The password given first; then the empty password (files exported without one).
    let mut candidates: Vec<(String, Vec<u8>)> = Vec::new();
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        candidates.push((p.to_string(), pbe::bmp_password(p)));
    }
    candidates.push((String::new(), pbe::bmp_password("")));
    candidates.push((String::new(), Vec::new()));
    for (pw, enc) in &candidates {
        let ok = pbe::verify_mac(alg_oid.value, expected, salt.value, iter, content, enc)
            .map_err(|e| rsakey::pbe_err(name, e))?;
        if ok {
            return Ok(pw.clone());
        }
    }
    Err(match password {
        None => KeyError::PasswordNeeded { path: name.to_string() },
        Some(_) => KeyError::WrongPassword { path: name.to_string() },
    })
}

fn encrypted_data(ctx: &Ctx<'_>, ci: Tlv<'_>) -> Result<Vec<u8>, KeyError> {
    let mut r = ci.reader();
    r.next("content type").map_err(|e| ctx.fmt(e))?;
    let wrap = r.next("encryptedData content").map_err(|e| ctx.fmt(e))?;
    let ed = wrap.reader().next("EncryptedData").map_err(|e| ctx.fmt(e))?;
    let mut er = ed.reader();
    er.next("EncryptedData version").map_err(|e| ctx.fmt(e))?;
    let eci = er.next("EncryptedContentInfo").map_err(|e| ctx.fmt(e))?;
    let mut ir = eci.reader();
    ir.next("content type").map_err(|e| ctx.fmt(e))?;
    let alg = ir.next("content encryption algorithm").map_err(|e| ctx.fmt(e))?;
    let body = ir.next("encrypted content").map_err(|e| ctx.fmt(e))?;
    let cipher = match body.tag {
        asn1::CTX0_PRIM => body.value.to_vec(),
        asn1::CTX0_CONS => {
            // Segmented (BER) content: concatenate the OCTET STRING pieces.
            let mut v = Vec::new();
            let mut sr = body.reader();
            while !sr.is_empty() {
                v.extend_from_slice(sr.next("content segment").map_err(|e| ctx.fmt(e))?.value);
            }
            v
        }
        _ => {
            return Err(
                ctx.fmt(Asn1Error { what: "expected [0] encrypted content", offset: body.offset })
            )
        }
    };
    pbe::decrypt(alg, &cipher, ctx.password).map_err(|e| rsakey::pbe_err(&ctx.name, e))
}

fn safe_contents(ctx: &mut Ctx<'_>, der: &[u8], depth: u32) -> Result<(), KeyError> {
    if depth > MAX_DEPTH {
        return Err(KeyError::Format {
            path: ctx.name.clone(),
            what: "PKCS#12 bags nested too deeply".into(),
        });
    }
    let seq = asn1::parse_one(der, "SafeContents").map_err(|e| ctx.fmt(e))?;
    let mut r: Reader<'_> = seq.reader();
    while !r.is_empty() {
        let bag = r.next("SafeBag").map_err(|e| ctx.fmt(e))?;
        let mut br = bag.reader();
        let id = br.next("bag id").map_err(|e| ctx.fmt(e))?;
        let wrap = br.next("bag value").map_err(|e| ctx.fmt(e))?;
        let value = wrap.reader().next("bag value").map_err(|e| ctx.fmt(e))?;
        if id.value == oid::KEY_BAG {
            let k = rsakey::pkcs8(&ctx.name, value.raw)?;
            ctx.keys.push(k);
        } else if id.value == oid::SHROUDED_KEY_BAG {
            let k = rsakey::decrypt_pkcs8(&ctx.name, value.raw, Some(ctx.password))?;
            ctx.keys.push(k);
        } else if id.value == oid::SAFE_CONTENTS_BAG {
            safe_contents(ctx, value.raw, depth + 1)?;
        }
    }
    Ok(())
}
