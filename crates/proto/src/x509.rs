//! X.509 certificates (RFC 5280): the fields that matter for troubleshooting (subject,
//! issuer, common names, subject alternative names, validity), read with `x509-parser`, and
//! RFC 6125 §6 name matching: does a certificate cover the host a client asked for?
//!
//! Matching rules (RFC 6125 §6.4, as tightened by RFC 9525):
//! - IP addresses match only `iPAddress` SANs, never a DNS name or the CN;
//! - DNS names match `dNSName` SANs; the subject CN is consulted only when the certificate
//!   has no DNS SAN at all — and the CN always comes from the parsed subject, never from
//!   splitting its text rendering;
//! - comparison is ASCII case-insensitive (IDNA A-labels such as `xn--bcher-kva` included),
//!   a trailing root dot is ignored, empty labels never match;
//! - a wildcard is honoured only as the whole left-most label (`*.example.com`), matches
//!   exactly one non-empty label, and never stands over a public-suffix-like two-label name
//!   (`*.com`, `*.local`); partial wildcards (`w*.example.com`) and wildcards elsewhere never
//!   match.

use std::net::IpAddr;

use serde::Serialize;
use x509_parser::prelude::*;

/// SAN entries kept per certificate; the rest are counted in `san_dropped`.
pub const MAX_SANS: usize = 256;

/// The fields of one certificate that matter for troubleshooting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// DER length.
    pub len: usize,
    /// RFC 4514 rendering of the subject (for display only).
    pub subject: String,
    /// The subject's commonName attributes, from the parsed name.
    pub subject_cn: Vec<String>,
    pub issuer: String,
    pub issuer_cn: Vec<String>,
    pub serial: String,
    pub san_dns: Vec<String>,
    pub san_ip: Vec<IpAddr>,
    /// Other SANs rendered as `email:…`, `URI:…`, or a short debug form.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub san_other: Vec<String>,
    /// SANs beyond [`MAX_SANS`].
    pub san_dropped: usize,
    /// Validity, seconds since the Unix epoch, and ISO-8601.
    pub not_before: i64,
    pub not_after: i64,
    pub not_before_iso: String,
    pub not_after_iso: String,
    /// Subject and issuer names are byte-identical.
    pub self_issued: bool,
}

impl CertInfo {
    /// Does this certificate cover `host` (a DNS name or an IP address)? See the module docs.
    pub fn covers(&self, host: &str) -> bool {
        covers_names(&self.san_dns, &self.san_ip, &self.subject_cn, host)
    }
    /// Is `t` (Unix seconds) within the validity period?
    pub fn valid_at(&self, t: i64) -> bool {
        self.not_before <= t && t <= self.not_after
    }
}

/// Parse one DER certificate. Trailing bytes after the certificate are an error. The error
/// says what x509-parser rejected.
pub fn parse(der: &[u8]) -> Result<CertInfo, String> {
    let (rest, c) = parse_x509_certificate(der).map_err(|e| format!("certificate: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("certificate: {} bytes after the DER structure", rest.len()));
    }
    let cns = |n: &X509Name| -> Vec<String> { n.iter_common_name().map(attr_string).collect() };
    let mut info = CertInfo {
        len: der.len(),
        subject: c.subject().to_string(),
        subject_cn: cns(c.subject()),
        issuer: c.issuer().to_string(),
        issuer_cn: cns(c.issuer()),
        serial: c.raw_serial_as_string(),
        san_dns: Vec::new(),
        san_ip: Vec::new(),
        san_other: Vec::new(),
        san_dropped: 0,
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        not_before_iso: crate::time::iso(c.validity().not_before.timestamp()),
        not_after_iso: crate::time::iso(c.validity().not_after.timestamp()),
        self_issued: c.subject().as_raw() == c.issuer().as_raw(),
    };
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for g in &san.value.general_names {
            if info.san_dns.len() + info.san_ip.len() + info.san_other.len() >= MAX_SANS {
                info.san_dropped += 1;
                continue;
            }
            match g {
                GeneralName::DNSName(d) => info.san_dns.push(d.to_string()),
                GeneralName::IPAddress(b) => {
                    if let Ok(a) = <[u8; 4]>::try_from(*b) {
                        info.san_ip.push(IpAddr::from(a));
                    } else if let Ok(a) = <[u8; 16]>::try_from(*b) {
                        info.san_ip.push(IpAddr::from(a));
                    } else {
                        info.san_other.push(format!("IP:({} bytes)", b.len()));
                    }
                }
                GeneralName::RFC822Name(m) => info.san_other.push(format!("email:{m}")),
                GeneralName::URI(u) => info.san_other.push(format!("URI:{u}")),
                other => info.san_other.push(format!("{other:?}").chars().take(120).collect()),
            }
        }
    }
    Ok(info)
}

/// A directory string of any ASN.1 string type (TeletexString and BMPString included, as
/// old certificates use them).
fn attr_string(a: &AttributeTypeAndValue) -> String {
    if let Ok(s) = a.as_str() {
        return s.to_string();
    }
    let b = a.as_slice();
    match a.attr_value().tag().0 {
        // BMPString: UTF-16BE
        30 => char::decode_utf16(b.chunks(2).map(|c| {
            u16::from_be_bytes([c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)])
        }))
        .map(|r| r.unwrap_or('\u{fffd}'))
        .collect(),
        // UniversalString: UTF-32BE
        28 => b
            .chunks(4)
            .map(|c| c.iter().fold(0u32, |a, &x| (a << 8) | x as u32))
            .map(|u| char::from_u32(u).unwrap_or('\u{fffd}'))
            .collect(),
        // TeletexString and others: bytes as Latin-1
        _ => b.iter().map(|&c| c as char).collect(),
    }
}

/// RFC 6125 §6.4 over the presented identifiers: IP hosts match `ip`; DNS hosts match `dns`
/// when it is not empty, else `cn`.
pub fn covers_names(dns: &[String], ip: &[IpAddr], cn: &[String], host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    let h = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(h);
    if let Ok(addr) = h.parse::<IpAddr>() {
        return ip.contains(&addr);
    }
    let names = if dns.is_empty() { cn } else { dns };
    names.iter().any(|n| name_matches(n, h))
}

/// One presented DNS identifier against one reference host name (RFC 6125 §6.4.1–6.4.3).
pub fn name_matches(presented: &str, host: &str) -> bool {
    let p = presented.strip_suffix('.').unwrap_or(presented).to_ascii_lowercase();
    let h = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if !valid_labels(&h) || h.contains('*') || h.parse::<IpAddr>().is_ok() {
        return false;
    }
    match p.strip_prefix("*.") {
        Some(rest) => {
            // at least two labels under the wildcard (no `*.com`), no further wildcard
            if !valid_labels(rest) || !rest.contains('.') || rest.contains('*') {
                return false;
            }
            match h.split_once('.') {
                Some((first, hrest)) => !first.is_empty() && hrest == rest,
                None => false,
            }
        }
        None => valid_labels(&p) && !p.contains('*') && p == h,
    }
}

/// Non-empty, with no empty label.
fn valid_labels(n: &str) -> bool {
    !n.is_empty() && n.split('.').all(|l| !l.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn rfc6125_wildcards() {
        assert!(name_matches("*.example.com", "www.example.com"));
        assert!(name_matches("*.Example.com.", "WWW.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
        assert!(!name_matches("*.com", "example.com"));
        assert!(!name_matches("*.local", "dc1.local"));
        assert!(!name_matches("*", "example"));
        assert!(!name_matches("w*.example.com", "www.example.com"));
        assert!(!name_matches("*w.example.com", "www.example.com"));
        assert!(!name_matches("www.*.com", "www.example.com"));
        assert!(!name_matches("*.*.example.com", "a.b.example.com"));
        assert!(name_matches("*.co.uk.", "example.co.uk"));
        assert!(name_matches("example.com", "example.com."));
        assert!(!name_matches("", "example.com"));
        assert!(!name_matches("example..com", "example..com"));
        assert!(!name_matches("*.1.2.3", "4.1.2.3"), "a wildcard never covers an address");
    }

    #[test]
    fn rfc6125_idna_a_labels_case_insensitive() {
        assert!(name_matches("XN--BCHER-KVA.example", "xn--bcher-kva.example"));
        assert!(name_matches("*.xn--bcher-kva.example", "Www.XN--bcher-kva.example"));
        assert!(!name_matches("xn--bcher-kva.example", "bücher.example"));
    }

    #[test]
    fn rfc6125_san_cn_and_ip() {
        let cn = s(&["dc1.example.com"]);
        // CN used only when there is no DNS SAN
        assert!(covers_names(&[], &[], &cn, "dc1.example.com"));
        assert!(!covers_names(&s(&["other.example.com"]), &[], &cn, "dc1.example.com"));
        // an IP-only SAN list still lets the CN name DNS hosts
        let ip: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap(), "fe80::1".parse().unwrap()];
        assert!(covers_names(&[], &ip, &cn, "dc1.example.com"));
        // IP hosts match IP SANs only, never DNS SANs or the CN
        assert!(covers_names(&[], &ip, &cn, "10.0.0.1"));
        assert!(covers_names(&[], &ip, &cn, "[fe80::1]"));
        assert!(!covers_names(&s(&["10.0.0.2"]), &ip, &s(&["10.0.0.2"]), "10.0.0.2"));
        assert!(!covers_names(&s(&["*.example.com"]), &[], &[], "*.example.com"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[]).is_err());
    }
}
