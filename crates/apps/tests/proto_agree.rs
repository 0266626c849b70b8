//! Issue 11.9: the capture side (`apps`) and the live side (`probe`) read certificates and
//! match names with one implementation (`tracehound_proto::x509`), so they must agree on
//! every certificate of the shared TLS captures (DER bytes exported by tshark, certificate
//! info parsed by apps from the same capture) and on hostile names (`*.com`, a CN hidden in
//! another attribute of the subject — certificates made here by openssl).

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::process::Command;

use tracehound_apps::cert;
use tracehound_probe::query::tls as ptls;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

/// Hosts to try against one certificate: its own names, neighbours, a parent, addresses.
fn candidates(c: &cert::CertInfo) -> Vec<String> {
    let mut v = vec!["example.com".to_string(), "10.0.0.1".into(), "com".into()];
    for n in c.san_dns.iter().chain(&c.subject_cn) {
        v.push(n.clone());
        v.push(n.replace('*', "www"));
        v.push(format!("a.{}", n.trim_start_matches("*.")));
        if let Some((_, parent)) = n.split_once('.') {
            v.push(parent.to_string());
        }
    }
    v.extend(c.san_ip.iter().map(|a| a.to_string()));
    v
}

#[test]
fn apps_and_probe_agree_on_shared_capture_certificates() {
    let mut checked = 0;
    for name in [
        "tls/zeek__tls1.2.pcap",
        "tls/zeek__cert-no-cn.pcap",
        "tls/zeek__tls-expired-cert.pcap",
        "tls/zeek__missing-intermediate.pcap",
        "tls/zeek__dhe.pcap",
    ] {
        let path = common::shared(name);
        let (report, _) = common::run(&path);
        let apps_certs: Vec<_> =
            report.tls.iter().flat_map(|s| s.certificates.iter().cloned()).collect();
        let ders =
            common::tshark(&path, "tls.handshake.certificate", &["tls.handshake.certificate"]);
        assert!(!ders.is_empty(), "{name}: tshark shows no certificate");
        for (frame, f) in ders {
            for hex in f[0].split(',') {
                let der = unhex(hex);
                let p = ptls::decode_cert(&der).unwrap_or_else(|e| panic!("{name} #{frame}: {e}"));
                let a = cert::parse(&der).unwrap();
                assert!(
                    apps_certs.iter().any(|c| c.serial == a.serial),
                    "{name} #{frame}: apps did not see certificate {}",
                    a.serial
                );
                for h in candidates(&a) {
                    assert_eq!(
                        ptls::name_matches(&p, &h),
                        cert::covers(&a, &h),
                        "{name} #{frame}: {h} against {}",
                        a.subject
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} comparisons");
}

/// A self-signed certificate made by openssl with the given subject and SAN extension.
fn openssl_cert(subject: &str, san: Option<&str>) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("th-proto-agree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (key, crt) = (dir.join("k.pem"), dir.join("c.der"));
    let mut c = Command::new("openssl");
    c.args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
        .args(["-days", "2", "-subj", subject, "-outform", "DER", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt);
    if let Some(s) = san {
        c.args(["-addext", &format!("subjectAltName={s}")]);
    }
    let out = c.output().expect("openssl is required for this test");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    let der = std::fs::read(&crt).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    der
}

#[test]
fn apps_and_probe_agree_on_hostile_names() {
    // `*.com` as the only DNS SAN: before issue 11.9 probe accepted it, apps refused it
    let der = openssl_cert("/CN=www.example.com", Some("DNS:*.com,IP:192.0.2.7"));
    let (p, a) = (ptls::decode_cert(&der).unwrap(), cert::parse(&der).unwrap());
    for (h, want) in [
        ("example.com", false),
        ("www.example.com", false), // the CN is not consulted: there is a DNS SAN
        ("192.0.2.7", true),
        ("192.0.2.8", false),
    ] {
        assert_eq!(ptls::name_matches(&p, h), want, "probe, {h}");
        assert_eq!(cert::covers(&a, h), want, "apps, {h}");
    }
    // a "CN=" inside another attribute: splitting the subject text on commas found it
    let der = openssl_cert("/O=Acme, CN=evil.test/CN=dc1.example.com", None);
    let (p, a) = (ptls::decode_cert(&der).unwrap(), cert::parse(&der).unwrap());
    assert!(p.subject.contains("evil.test"), "{}", p.subject);
    assert_eq!(a.subject_cn, vec!["dc1.example.com".to_string()]);
    for (h, want) in [("dc1.example.com", true), ("evil.test", false)] {
        assert_eq!(ptls::name_matches(&p, h), want, "probe, {h}");
        assert_eq!(cert::covers(&a, h), want, "apps, {h}");
    }
}
