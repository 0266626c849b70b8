//! X.509 certificates (RFC 5280) as carried in cleartext TLS ≤ 1.2 Certificate messages:
//! subject, issuer, subject alternative names and validity, read with `x509-parser`.

use std::net::IpAddr;

use serde::Serialize;
use x509_parser::prelude::*;

/// SAN entries kept per certificate.
const MAX_SANS: usize = 256;

/// The fields of one certificate that matter for troubleshooting.
#[derive(Clone, Debug, Serialize)]
pub struct CertInfo {
    /// DER length.
    pub len: usize,
    /// RFC 4514 rendering of the subject.
    pub subject: String,
    pub subject_cn: Vec<String>,
    pub issuer: String,
    pub issuer_cn: Vec<String>,
    pub serial: String,
    pub san_dns: Vec<String>,
    pub san_ip: Vec<IpAddr>,
    /// SANs beyond the cap.
    pub san_dropped: usize,
    /// Validity, seconds since the Unix epoch, and ISO-8601.
    pub not_before: i64,
    pub not_after: i64,
    pub not_before_iso: String,
    pub not_after_iso: String,
    pub self_issued: bool,
}

/// Parsed certificates by their DER bytes: the same server certificate comes back in every
/// handshake, and parsing it is the costliest part of following TLS. Bounded: when full it
/// starts over.
#[derive(Default)]
pub struct Cache {
    map: std::collections::HashMap<Vec<u8>, Result<std::sync::Arc<CertInfo>, String>>,
    bytes: usize,
}

impl Cache {
    /// Entries kept at most.
    pub const MAX_ENTRIES: usize = 1024;
    /// DER bytes kept at most.
    pub const MAX_BYTES: usize = 4 << 20;

    /// [`parse`], remembered.
    pub fn parse(&mut self, der: &[u8]) -> Result<std::sync::Arc<CertInfo>, String> {
        if let Some(r) = self.map.get(der) {
            return r.clone();
        }
        let r = parse(der).map(std::sync::Arc::new);
        if self.map.len() >= Self::MAX_ENTRIES
            || self.bytes.saturating_add(der.len()) > Self::MAX_BYTES
        {
            self.map.clear();
            self.bytes = 0;
        }
        if der.len() <= Self::MAX_BYTES {
            self.bytes += der.len();
            self.map.insert(der.to_vec(), r.clone());
        }
        r
    }
}

/// Parse one DER certificate. The error says what x509-parser rejected.
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
        san_dropped: 0,
        not_before: c.validity().not_before.timestamp(),
        not_after: c.validity().not_after.timestamp(),
        not_before_iso: iso(c.validity().not_before.timestamp()),
        not_after_iso: iso(c.validity().not_after.timestamp()),
        self_issued: c.subject().as_raw() == c.issuer().as_raw(),
    };
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for g in &san.value.general_names {
            if info.san_dns.len() + info.san_ip.len() >= MAX_SANS {
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
                    }
                }
                _ => {}
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

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso(secs: i64) -> String {
    let t = tracehound_flows::Timestamp::from_secs_nanos(secs, 0).to_string();
    // drop the microseconds the capture timestamp format carries
    match t.split_once('.') {
        Some((a, _)) => format!("{a}Z"),
        None => t,
    }
}

/// Does the certificate cover `host` (RFC 6125 §6.4)? DNS SANs when present, else the
/// subject CNs. A wildcard is only honoured as the whole left-most label (`*.example.com`),
/// matches exactly one label, and never matches an IP address; IP hosts match IP SANs.
pub fn covers(c: &CertInfo, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return c.san_ip.contains(&ip);
    }
    let names: &[String] = if c.san_dns.is_empty() { &c.subject_cn } else { &c.san_dns };
    names.iter().any(|n| name_matches(n, host))
}

/// RFC 6125 reference-identifier match of one presented DNS name.
pub fn name_matches(presented: &str, host: &str) -> bool {
    let p = presented.trim_end_matches('.').to_ascii_lowercase();
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if p.is_empty() || h.is_empty() {
        return false;
    }
    match p.strip_prefix("*.") {
        Some(rest) => {
            // the wildcard needs at least two labels after it (no `*.com`)
            if !rest.contains('.') || rest.contains('*') {
                return false;
            }
            match h.split_once('.') {
                Some((first, hrest)) => !first.is_empty() && hrest == rest,
                None => false,
            }
        }
        None => !p.contains('*') && p == h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn wildcards_follow_rfc6125() {
        assert!(name_matches("*.example.com", "www.example.com"));
        assert!(name_matches("*.Example.com.", "WWW.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.com", "example.com"));
        assert!(!name_matches("w*.example.com", "www.example.com"));
        assert!(name_matches("example.com", "example.com"));
        assert!(!name_matches("", "example.com"));
    }
    #[test]
    fn garbage_is_an_error() {
        assert!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[]).is_err());
    }
}
