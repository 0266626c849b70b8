//! The certificate chain as the server sent it, and why it does (not) validate.
//!
//! The chain is validated with rustls-webpki (RFC 5280 path building against the system
//! roots or `--ca FILE`, server-auth usage, validity at the current time); the host name is
//! matched separately with RFC 6125 (`tracehound_proto::x509`), so a wrong name and a broken
//! chain are both reported. When webpki says "unknown issuer" the chain is walked by name
//! (each certificate's issuer among the others sent) to say which link is missing:
//! - the leaf alone and self-issued: **self-signed**;
//! - the leaf's issuer neither sent nor a trusted root: **missing intermediate** (the
//!   classic reverse-proxy mistake: the leaf installed without its CA bundle);
//! - the chain ends in a root that is not trusted, or an intermediate whose issuer is not
//!   there: **unknown issuer**.
//!
//! Weak keys (RSA < 2048 bits, EC < 224 bits) and MD5/SHA-1 signatures on the leaf or an
//! intermediate are flagged as problems.

use std::path::Path;
use std::sync::Arc;

use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, RootCertStore};
use tracehound_proto::x509 as px509;
use x509_parser::prelude::*;

use super::record::{CertSummary, ChainCert};

/// Certificates of one chain that are decoded and reported (more are counted).
pub const MAX_CHAIN: usize = 16;
/// Days before expiry that count as `expires-soon`.
pub const SOON_DAYS: i64 = 30;

/// Trusted roots.
pub struct Trust {
    pub store: Arc<RootCertStore>,
    /// Raw DER subject names of the roots, to tell a missing intermediate from the rest.
    subjects: Vec<Vec<u8>>,
    pub source: String,
}

impl Trust {
    /// The system roots (rustls-native-certs), or the PEM certificates of `ca`.
    pub fn load(ca: Option<&Path>) -> Result<Trust, String> {
        use rustls::pki_types::pem::PemObject;
        let (ders, source): (Vec<CertificateDer<'static>>, String) = match ca {
            Some(p) => {
                let v: Result<Vec<_>, _> = CertificateDer::pem_file_iter(p)
                    .map_err(|e| format!("--ca {}: {e}", p.display()))?
                    .collect();
                (v.map_err(|e| format!("--ca {}: {e}", p.display()))?, p.display().to_string())
            }
            None => {
                let r = rustls_native_certs::load_native_certs();
                (r.certs, "system roots".to_string())
            }
        };
        let mut store = RootCertStore::empty();
        let mut subjects = Vec::new();
        for d in &ders {
            if store.add(d.clone()).is_ok() {
                if let Ok((_, c)) = parse_x509_certificate(d) {
                    subjects.push(c.subject().as_raw().to_vec());
                }
            }
        }
        if store.is_empty() {
            return Err(format!("no usable certificate in {source}"));
        }
        Ok(Trust { store: Arc::new(store), subjects, source })
    }
}

/// The verdict on one chain.
#[derive(Debug, Default)]
pub struct Analysis {
    pub summary: CertSummary,
    pub chain: Vec<ChainCert>,
    pub dropped: usize,
    pub problems: Vec<&'static str>,
}

/// Analyses `chain` (leaf first) for `host` at `now` (Unix seconds).
pub fn analyse(chain: &[CertificateDer<'static>], host: &str, trust: &Trust, now: i64) -> Analysis {
    let mut a = Analysis { dropped: chain.len().saturating_sub(MAX_CHAIN), ..Default::default() };
    let Some(leaf) = chain.first() else {
        a.summary.chain_error = Some("the server sent no certificate".into());
        a.problems.push("no-certificate");
        return a;
    };
    for (i, der) in chain.iter().take(MAX_CHAIN).enumerate() {
        let c = describe(der);
        if i + 1 < chain.len() || !c.self_signed {
            flag_weak(der, &mut a.problems);
        }
        a.chain.push(c);
    }
    let info = match px509::parse(leaf) {
        Ok(i) => i,
        Err(e) => {
            a.summary.chain_error = Some(format!("leaf certificate unreadable: {e}"));
            a.problems.push("bad-certificate");
            return a;
        }
    };
    let s = &mut a.summary;
    s.subject = info.subject.clone();
    s.issuer = info.issuer.clone();
    s.names = names(&info);
    s.not_before = info.not_before_iso.clone();
    s.not_after = info.not_after_iso.clone();
    s.days_left = info.not_after.saturating_sub(now) / 86_400;
    s.expired = now > info.not_after;
    s.name_match = info.covers(host);
    if !s.name_match {
        a.problems.push("name-mismatch");
    }
    if s.expired {
        a.problems.push("expired");
    } else if now < info.not_before {
        a.problems.push("not-yet-valid");
    } else if s.days_left < SOON_DAYS {
        a.problems.push("expires-soon");
    }
    let verdict = webpki_verdict(chain, trust, now);
    match verdict {
        Ok(()) => a.summary.chain_valid = true,
        Err(e) => {
            let (word, why) = explain(&e, chain, trust, &info, now);
            if !a.problems.contains(&word) {
                a.problems.push(word);
            }
            a.summary.chain_error = Some(why);
        }
    }
    a
}

fn webpki_verdict(
    chain: &[CertificateDer<'static>],
    trust: &Trust,
    now: i64,
) -> Result<(), rustls::Error> {
    let leaf = chain.first().ok_or(rustls::Error::NoCertificatesPresented)?;
    let parsed = ParsedCertificate::try_from(leaf)?;
    let provider = rustls::crypto::ring::default_provider();
    let t = UnixTime::since_unix_epoch(std::time::Duration::from_secs(now.max(0) as u64));
    let rest = chain.get(1..MAX_CHAIN.min(chain.len())).unwrap_or_default();
    verify_server_cert_signed_by_trust_anchor(
        &parsed,
        &trust.store,
        rest,
        t,
        provider.signature_verification_algorithms.all,
    )
}

/// A problem word and the reason in words for a webpki error.
fn explain(
    e: &rustls::Error,
    chain: &[CertificateDer<'static>],
    trust: &Trust,
    leaf: &px509::CertInfo,
    now: i64,
) -> (&'static str, String) {
    let days = |t: i64| (now - t).abs().div_euclid(86_400);
    if leaf.self_issued
        && !matches!(
            e,
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. }
            )
        )
    {
        // a self-signed leaf (often marked CA:true) fails as "unknown issuer" or
        // "CA used as end entity": either way the reason is that it signs itself.
        return (
            "self-signed",
            format!(
                "self-signed certificate ({}): not issued by a trusted CA ({})",
                leaf.subject, trust.source
            ),
        );
    }
    match e {
        rustls::Error::InvalidCertificate(ce) => match ce {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                if now > leaf.not_after {
                    (
                        "expired",
                        format!(
                            "certificate expired on {} ({} days ago)",
                            leaf.not_after_iso,
                            days(leaf.not_after)
                        ),
                    )
                } else {
                    (
                        "expired",
                        format!(
                            "a CA certificate in the chain has expired: {}",
                            expired_ca(chain, now)
                        ),
                    )
                }
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                "not-yet-valid",
                format!(
                    "certificate not valid before {} (in {} days)",
                    leaf.not_before_iso,
                    days(leaf.not_before)
                ),
            ),
            CertificateError::UnknownIssuer => walk(chain, trust),
            CertificateError::BadSignature => {
                ("bad-signature", "a signature in the chain does not verify".into())
            }
            CertificateError::Revoked => ("revoked", "certificate revoked".into()),
            _ => ("chain-invalid", e.to_string()),
        },
        other => ("chain-invalid", other.to_string()),
    }
}

fn expired_ca(chain: &[CertificateDer<'static>], now: i64) -> String {
    for d in chain.iter().skip(1).take(MAX_CHAIN) {
        if let Ok(i) = px509::parse(d) {
            if now > i.not_after {
                return format!("{} (expired {})", i.subject, i.not_after_iso);
            }
        }
    }
    "(not among the certificates sent)".into()
}

/// Walks the chain by issuer name from the leaf (see the module docs).
fn walk(chain: &[CertificateDer<'static>], trust: &Trust) -> (&'static str, String) {
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .take(MAX_CHAIN)
        .filter_map(|d| parse_x509_certificate(d).ok().map(|(_, c)| c))
        .collect();
    let Some(leaf) = parsed.first() else {
        return ("unknown-issuer", "unknown issuer (chain unreadable)".into());
    };
    let mut cur = 0usize;
    let mut seen = vec![0usize];
    for _ in 0..parsed.len() {
        let Some(c) = parsed.get(cur) else { break };
        if c.subject().as_raw() == c.issuer().as_raw() {
            break;
        }
        let next = parsed
            .iter()
            .enumerate()
            .find(|(i, p)| !seen.contains(i) && p.subject().as_raw() == c.issuer().as_raw());
        match next {
            Some((i, _)) => {
                seen.push(i);
                cur = i;
            }
            None => break,
        }
    }
    let Some(top) = parsed.get(cur) else {
        return ("unknown-issuer", "unknown issuer".into());
    };
    let self_issued = top.subject().as_raw() == top.issuer().as_raw();
    let issuer_trusted = trust.subjects.iter().any(|s| s.as_slice() == top.issuer().as_raw());
    if self_issued && cur == 0 {
        (
            "self-signed",
            format!(
                "self-signed certificate ({}), not a trusted root ({})",
                leaf.subject(),
                trust.source
            ),
        )
    } else if self_issued {
        (
            "unknown-issuer",
            format!(
                "unknown issuer: the chain ends at root {}, which is not trusted ({})",
                top.subject(),
                trust.source
            ),
        )
    } else if issuer_trusted {
        (
            "unknown-issuer",
            format!(
                "unknown issuer: {} names a trusted root as issuer but does not verify against it",
                top.subject()
            ),
        )
    } else if cur == 0 {
        (
            "missing-intermediate",
            format!(
                "missing intermediate: the server did not send the certificate of the leaf's issuer ({}), which is not a trusted root either",
                top.issuer()
            ),
        )
    } else {
        (
            "unknown-issuer",
            format!(
                "unknown issuer: {} was issued by {}, which the server did not send and which is not a trusted root ({})",
                top.subject(),
                top.issuer(),
                trust.source
            ),
        )
    }
}

/// The names a certificate covers: DNS and IP SANs, else the subject CN.
fn names(info: &px509::CertInfo) -> Vec<String> {
    let mut v: Vec<String> = info.san_dns.clone();
    v.extend(info.san_ip.iter().map(|a| a.to_string()));
    if v.is_empty() {
        v = info.subject_cn.clone();
    }
    v
}

/// One certificate for the `chain` list.
pub fn describe(der: &[u8]) -> ChainCert {
    let mut c = ChainCert::default();
    match px509::parse(der) {
        Ok(i) => {
            c.names = names(&i);
            c.subject = i.subject;
            c.issuer = i.issuer;
            c.not_before = i.not_before_iso;
            c.not_after = i.not_after_iso;
            c.self_signed = i.self_issued;
        }
        Err(e) => c.subject = format!("(unreadable: {e})"),
    }
    if let Ok((_, x)) = parse_x509_certificate(der) {
        let (kind, bits) = key(&x);
        c.key = if bits > 0 { format!("{kind} {bits}") } else { kind };
        c.signature = oid_name(&x.signature_algorithm.algorithm);
    }
    c
}

fn oid_name(oid: &x509_parser::oid_registry::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or_else(|_| oid.to_id_string())
}

fn key(x: &X509Certificate<'_>) -> (String, usize) {
    use x509_parser::public_key::PublicKey;
    let spki = x.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(k)) => ("RSA".into(), k.key_size()),
        Ok(PublicKey::EC(k)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| oid_name(&o))
                .unwrap_or_default();
            let kind = if curve.is_empty() { "EC".to_string() } else { format!("EC {curve}") };
            (kind, k.key_size())
        }
        Ok(PublicKey::DSA(_)) => ("DSA".into(), 0),
        _ => (oid_name(&spki.algorithm.algorithm), 0),
    }
}

fn flag_weak(der: &[u8], problems: &mut Vec<&'static str>) {
    let Ok((_, x)) = parse_x509_certificate(der) else { return };
    let (kind, bits) = key(&x);
    let weak_key = (kind == "RSA" && bits > 0 && bits < 2048)
        || (kind.starts_with("EC") && bits > 0 && bits < 224)
        || kind == "DSA";
    if weak_key && !problems.contains(&"weak-key") {
        problems.push("weak-key");
    }
    let sig = oid_name(&x.signature_algorithm.algorithm).to_ascii_lowercase();
    if (sig.contains("md5") || sig.contains("sha1")) && !problems.contains(&"weak-signature") {
        problems.push("weak-signature");
    }
}
