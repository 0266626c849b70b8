//! TLS (RFC 8446 / RFC 5246) by hand: a ClientHello, then the server's first flight read
//! from the record layer. In TLS 1.2 the Certificate message travels in clear, so the
//! chain is read directly; in TLS 1.3 it is encrypted, so after learning that the server
//! picks 1.3 a second ClientHello offering at most 1.2 fetches the chain (a server that
//! refuses 1.2 answers with an alert, and then the certificate cannot be shown).
//! Certificates are decoded with x509-parser.

use super::common::{fail, ok, random_bytes, tcp_exchange, Ctx, Output, Port, Query};
use super::rd::{Malformed, Rd};

pub const MAX_FLIGHT: usize = 256 * 1024;
pub const MAX_CERTS: usize = 16;

const SUITES_13: [u16; 3] = [0x1301, 0x1302, 0x1303];
const SUITES_12: [u16; 13] = [
    0xc02f, 0xc030, 0xc02b, 0xc02c, 0xcca8, 0xcca9, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
    0x000a,
];

fn ext(out: &mut Vec<u8>, ty: u16, data: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

fn vec16(items: &[u16]) -> Vec<u8> {
    let mut v = ((items.len() * 2) as u16).to_be_bytes().to_vec();
    for i in items {
        v.extend_from_slice(&i.to_be_bytes());
    }
    v
}

/// A ClientHello record. `tls13` adds supported_versions and an x25519 key share (any 32
/// bytes are a valid x25519 public value, so `random` provides them).
pub fn client_hello(sni: Option<&str>, tls13: bool, random: [u8; 32]) -> Vec<u8> {
    let mut exts = Vec::new();
    if let Some(name) = sni.filter(|n| !n.is_empty() && n.len() < 256) {
        let mut sn = Vec::new();
        sn.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sn.push(0);
        sn.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sn.extend_from_slice(name.as_bytes());
        ext(&mut exts, 0, &sn);
    }
    ext(&mut exts, 10, &vec16(&[0x001d, 0x0017, 0x0018]));
    ext(&mut exts, 11, &[1, 0]);
    ext(
        &mut exts,
        13,
        &vec16(&[
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
        ]),
    );
    ext(&mut exts, 0xff01, &[0]);
    ext(&mut exts, 23, &[]);
    if tls13 {
        ext(&mut exts, 43, &[4, 0x03, 0x04, 0x03, 0x03]);
        let mut ks = Vec::new();
        ks.extend_from_slice(&(36u16).to_be_bytes());
        ks.extend_from_slice(&0x001du16.to_be_bytes());
        ks.extend_from_slice(&32u16.to_be_bytes());
        ks.extend_from_slice(&random);
        ext(&mut exts, 51, &ks);
        ext(&mut exts, 45, &[1, 1]); // psk_dhe_ke
    }
    let mut suites: Vec<u16> = Vec::new();
    if tls13 {
        suites.extend_from_slice(&SUITES_13);
    }
    suites.extend_from_slice(&SUITES_12);
    let mut ch = Vec::new();
    ch.extend_from_slice(&[0x03, 0x03]);
    ch.extend_from_slice(&random);
    ch.push(32);
    ch.extend_from_slice(&random); // legacy session id (middlebox compatibility)
    ch.extend(vec16(&suites));
    ch.extend_from_slice(&[1, 0]);
    ch.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    ch.extend(exts);
    let mut hs = vec![1];
    hs.extend_from_slice(&(ch.len() as u32).to_be_bytes()[1..]);
    hs.extend(ch);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

/// What the server's first flight showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flight {
    pub version: Option<u16>,
    pub cipher: Option<u16>,
    pub hello_retry: bool,
    pub certs: Vec<Vec<u8>>,
    pub alert: Option<(u8, u8)>,
    /// Done: ServerHelloDone, a TLS 1.3 ServerHello, an alert or encrypted records.
    pub complete: bool,
}

const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Parses as much of the server flight as `b` holds.
pub fn parse_flight(b: &[u8]) -> Result<Flight, Malformed> {
    let mut f = Flight::default();
    let mut r = Rd::new(b);
    let mut hs: Vec<u8> = Vec::new();
    let mut consumed = 0usize; // handshake bytes already walked
    while r.left() >= 5 {
        let start = r.pos();
        let ct = r.u8("record type")?;
        let ver = r.u16be("record version")?;
        let len = r.u16be("record length")? as usize;
        if !(0x0300..=0x0304).contains(&ver) {
            return Err(Malformed { offset: start, what: format!("not a TLS record (type {ct}, version 0x{ver:04x}) - is this port speaking TLS?") });
        }
        if len > 16384 + 2048 {
            return Err(Malformed {
                offset: start,
                what: format!("record length {len} exceeds the TLS maximum"),
            });
        }
        if r.left() < len {
            break; // need more bytes
        }
        let body = r.take(len, "record body")?;
        match ct {
            21 => {
                let mut a = Rd::new(body);
                f.alert = Some((a.u8("alert level")?, a.u8("alert description")?));
                f.complete = true;
                return Ok(f);
            }
            22 => {
                if hs.len() + body.len() > MAX_FLIGHT {
                    return Err(Malformed {
                        offset: start,
                        what: format!("handshake flight larger than {MAX_FLIGHT} bytes"),
                    });
                }
                hs.extend_from_slice(body);
            }
            20 | 23 => {
                f.complete = true;
                break;
            }
            t => {
                return Err(Malformed {
                    offset: start,
                    what: format!("unexpected record type {t}"),
                })
            }
        }
        // walk complete handshake messages
        let mut h = Rd::at(&hs, consumed);
        while h.left() >= 4 {
            let mt = h.u8("handshake type")?;
            let ml = h.u24be("handshake length")? as usize;
            if h.left() < ml {
                break;
            }
            let msg = h.take(ml, "handshake body")?;
            consumed = h.pos();
            match mt {
                2 => {
                    let mut s = Rd::new(msg);
                    let legacy = s.u16be("ServerHello version")?;
                    let random = s.take(32, "ServerHello random")?;
                    f.hello_retry = random == HRR_RANDOM;
                    let sid = s.u8("session id length")? as usize;
                    s.skip(sid, "session id")?;
                    f.cipher = Some(s.u16be("cipher suite")?);
                    s.skip(1, "compression")?;
                    f.version = Some(legacy);
                    if s.left() >= 2 {
                        let el = s.u16be("extensions length")? as usize;
                        let mut e = Rd::new(s.take(el.min(s.left()), "extensions")?);
                        while e.left() >= 4 {
                            let et = e.u16be("extension type")?;
                            let elen = e.u16be("extension length")? as usize;
                            let ed = e.take(elen, "extension data")?;
                            if let (43, &[hi, lo]) = (et, ed) {
                                f.version = Some(u16::from_be_bytes([hi, lo]));
                            }
                        }
                    }
                    if f.version == Some(0x0304) {
                        f.complete = true;
                        return Ok(f);
                    }
                }
                11 => {
                    let mut c = Rd::new(msg);
                    let total = c.u24be("certificate list length")? as usize;
                    let mut l = Rd::new(c.take(total, "certificate list")?);
                    while l.left() > 0 {
                        let n = l.u24be("certificate length")? as usize;
                        let der = l.take(n, "certificate")?;
                        if f.certs.len() < MAX_CERTS {
                            f.certs.push(der.to_vec());
                        }
                    }
                }
                14 => {
                    f.complete = true;
                    return Ok(f);
                }
                _ => {}
            }
        }
    }
    Ok(f)
}

/// Framing for [`crate::net::read_message`]: everything read so far once the flight is complete.
pub fn complete(b: &[u8]) -> Option<usize> {
    match parse_flight(b) {
        Ok(f) if f.complete => Some(b.len()),
        Ok(_) => None,
        Err(_) => Some(b.len()),
    }
}

pub use tracehound_proto::tls::{alert_name, version_name};

pub fn cipher_name(c: u16) -> String {
    match c {
        0x1301 => "TLS_AES_128_GCM_SHA256".into(),
        0x1302 => "TLS_AES_256_GCM_SHA384".into(),
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256".into(),
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into(),
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".into(),
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into(),
        0xc013 => "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA".into(),
        0xc014 => "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA".into(),
        0x009c => "TLS_RSA_WITH_AES_128_GCM_SHA256".into(),
        0x009d => "TLS_RSA_WITH_AES_256_GCM_SHA384".into(),
        0x002f => "TLS_RSA_WITH_AES_128_CBC_SHA".into(),
        0x0035 => "TLS_RSA_WITH_AES_256_CBC_SHA".into(),
        0x000a => "TLS_RSA_WITH_3DES_EDE_CBC_SHA".into(),
        n => format!("0x{n:04x}"),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub use tracehound_proto::time::utc as unix_to_utc;

/// One certificate, decoded (by `tracehound_proto::x509`, shared with the capture side).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cert {
    pub subject: String,
    pub issuer: String,
    pub san: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    pub valid_now: bool,
    pub self_signed: bool,
    pub serial: String,
    /// The parsed names (CN from the subject, DNS and IP SANs) that name matching uses.
    #[serde(skip)]
    pub info: Option<Box<tracehound_proto::x509::CertInfo>>,
}

pub fn decode_cert(der: &[u8]) -> Result<Cert, String> {
    let c = tracehound_proto::x509::parse(der)
        .map_err(|e| format!("certificate does not parse: {e}"))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut san: Vec<String> = c.san_dns.iter().map(|d| format!("DNS:{d}")).collect();
    san.extend(c.san_ip.iter().map(|a| format!("IP:{a}")));
    san.extend(c.san_other.iter().cloned());
    Ok(Cert {
        self_signed: c.self_issued,
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        san,
        not_before: unix_to_utc(c.not_before),
        not_after: unix_to_utc(c.not_after),
        valid_now: c.valid_at(now),
        serial: c.serial.clone(),
        info: Some(Box::new(c)),
    })
}

/// Does the leaf certificate cover the name (or address) that was asked? RFC 6125, one
/// implementation: `tracehound_proto::x509` (a certificate without parsed names covers
/// nothing).
pub fn name_matches(cert: &Cert, asked: &str) -> bool {
    cert.info.as_ref().is_some_and(|c| c.covers(asked))
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub version: Option<String>,
    pub cipher: Option<String>,
    pub chain_length: usize,
    pub chain: Vec<Cert>,
    pub name_asked: String,
    pub name_matches: Option<bool>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![format!(
            "TLS handshake: {} with {}",
            self.version.as_deref().unwrap_or("?"),
            self.cipher.as_deref().unwrap_or("?")
        )];
        for n in &self.notes {
            v.push(format!("  note: {n}"));
        }
        v.push(format!("  certificate chain length: {}", self.chain_length));
        for (i, c) in self.chain.iter().enumerate() {
            v.push(format!("  [{i}] subject: {}", c.subject));
            v.push(format!(
                "      issuer:  {}{}",
                c.issuer,
                if c.self_signed { " (self-signed)" } else { "" }
            ));
            if !c.san.is_empty() {
                v.push(format!("      SAN:     {}", c.san.join(", ")));
            }
            v.push(format!(
                "      valid:   {} to {}{}",
                c.not_before,
                c.not_after,
                if c.valid_now { "" } else { " (NOT VALID NOW)" }
            ));
        }
        match self.name_matches {
            Some(true) => v.push(format!("  name {} matches the certificate", self.name_asked)),
            Some(false) => v.push(format!(
                "  WARNING: name {} does NOT match the certificate",
                self.name_asked
            )),
            None => {}
        }
        v
    }
}

/// The TLS query (TCP 443, 636, 3269, …): a ClientHello offering 1.3; when the server picks
/// 1.3 a second one offering at most 1.2 reads the chain.
pub struct Tls;

impl Query for Tls {
    async fn run(ctx: &mut Ctx, at: Port, _kept: Option<Vec<u8>>) -> Output {
        let kind = at.kind;
        let port = at.port;
        let header = format!("Sending TLS ClientHello to TCP port {port}...");
        let sni = ctx.given_name().map(str::to_string);
        let asked = ctx.asked_name();
        let hello = |tls13| client_hello(sni.as_deref(), tls13, random_bytes::<32>());
        let first = match tcp_exchange(ctx, port, &hello(true), MAX_FLIGHT, complete).await {
            Ok(b) => b,
            Err(e) => return fail(kind, header, e, false),
        };
        let f1 = match parse_flight(&first) {
            Ok(f) => f,
            Err(e) => return fail(kind, header, e, true),
        };
        let mut notes = Vec::new();
        if let Some((_, d)) = f1.alert {
            return fail(kind, header, format!("server sent alert {} ({d})", alert_name(d)), true);
        }
        let mut flight = f1.clone();
        if f1.version == Some(0x0304) {
            notes.push("server chose TLS 1.3 (its certificate is encrypted); chain read from a second, TLS 1.2 handshake".into());
            match tcp_exchange(ctx, port, &hello(false), MAX_FLIGHT, complete)
                .await
                .map(|b| parse_flight(&b))
            {
                Ok(Ok(f2)) if f2.alert.is_none() => flight.certs = f2.certs,
                Ok(Ok(f2)) => notes.push(format!(
                    "the server refuses TLS 1.2 (alert {}), so its certificate cannot be shown",
                    f2.alert.map(|(_, d)| alert_name(d)).unwrap_or_default()
                )),
                Ok(Err(e)) => notes.push(format!("second handshake: {e}")),
                Err(e) => notes.push(format!("second handshake: {e}")),
            }
            if f1.hello_retry {
                notes.push("the server asked for another key share (HelloRetryRequest)".into());
            }
        }
        let mut chain = Vec::new();
        for der in &flight.certs {
            match decode_cert(der) {
                Ok(c) => chain.push(c),
                Err(e) => notes.push(e),
            }
        }
        let matches = chain.first().map(|leaf| name_matches(leaf, &asked));
        let rep = Report {
            version: f1.version.map(version_name),
            cipher: f1.cipher.map(cipher_name),
            chain_length: flight.certs.len(),
            chain,
            name_asked: asked,
            name_matches: matches,
            notes,
        };
        ok(kind, header, rep.lines(), &rep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_framed() {
        let h = client_hello(Some("dc1.example.com"), true, [9; 32]);
        assert_eq!(h[0], 0x16);
        assert_eq!(u16::from_be_bytes([h[3], h[4]]) as usize, h.len() - 5);
        assert_eq!(h[5], 1);
        let h2 = client_hello(None, false, [9; 32]);
        assert!(h2.len() < h.len());
    }

    fn record(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ty, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn hs(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut h = vec![ty];
        h.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        h.extend_from_slice(body);
        h
    }

    /// Regression: a flight spread over several records listed the certificate once per record.
    #[test]
    fn certificate_counted_once_across_records() {
        let mut sh = vec![3, 3];
        sh.extend_from_slice(&[1; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x2f, 0]);
        let cert = [0x30u8, 3, 1, 2, 3];
        let mut list = vec![0, 0, 8, 0, 0, 5];
        list.extend_from_slice(&cert);
        let mut b = record(22, &hs(2, &sh));
        b.extend(record(22, &hs(11, &list)));
        b.extend(record(22, &hs(14, &[])));
        let f = parse_flight(&b).unwrap();
        assert!(f.complete);
        assert_eq!(f.certs, vec![cert.to_vec()]);
        assert_eq!(f.version, Some(0x0303));
        assert_eq!(f.cipher, Some(0xc02f));
        for n in 0..b.len() {
            let _ = parse_flight(&b[..n]);
        }
    }

    #[test]
    fn flight_edge_cases() {
        // alert
        let f = parse_flight(&[21, 3, 3, 0, 2, 2, 70]).unwrap();
        assert_eq!(f.alert, Some((2, 70)));
        // not TLS at all (an HTTP answer)
        assert!(parse_flight(b"HTTP/1.1 400 Bad Request\r\n").is_err());
        // huge record length
        assert!(parse_flight(&[22, 3, 3, 0xff, 0xff]).is_err());
        // partial record: incomplete, not an error
        let f = parse_flight(&[22, 3, 3, 0, 10, 2]).unwrap();
        assert!(!f.complete);
        assert_eq!(complete(&[22, 3, 3, 0, 10, 2]), None);
    }

    #[test]
    fn names() {
        // name matching is tracehound_proto::x509's; the CN comes from the parsed subject
        let info = tracehound_proto::x509::CertInfo {
            len: 0,
            subject: "O=Acme\\, CN=evil.example,CN=dc1.example.com".into(),
            subject_cn: vec!["dc1.example.com".into()],
            issuer: "CN=ca".into(),
            issuer_cn: vec!["ca".into()],
            serial: String::new(),
            san_dns: vec!["*.example.com".into()],
            san_ip: vec!["10.0.0.1".parse().unwrap()],
            san_other: vec![],
            san_dropped: 0,
            not_before: 0,
            not_after: 0,
            not_before_iso: String::new(),
            not_after_iso: String::new(),
            self_issued: false,
        };
        let mut c = Cert {
            subject: info.subject.clone(),
            issuer: "CN=ca".into(),
            san: vec!["DNS:*.example.com".into(), "IP:10.0.0.1".into()],
            not_before: String::new(),
            not_after: String::new(),
            valid_now: true,
            self_signed: false,
            serial: String::new(),
            info: Some(Box::new(info)),
        };
        assert!(name_matches(&c, "dc1.example.com"));
        assert!(!name_matches(&c, "a.b.example.com"));
        assert!(name_matches(&c, "10.0.0.1"));
        assert!(!name_matches(&c, "10.0.0.2"));
        // no DNS SAN: the parsed CN counts, not text found by splitting the subject
        if let Some(i) = c.info.as_mut() {
            i.san_dns.clear();
        }
        assert!(name_matches(&c, "dc1.example.com"));
        assert!(!name_matches(&c, "evil.example"));
        assert_eq!(unix_to_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(unix_to_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}
