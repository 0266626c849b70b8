//! The TLS analyzer reads the same hellos, alerts and certificates as tshark, on every real
//! capture in /work/shared/captures/tls (provenance: /work/shared/captures/SOURCES.md).

// Tests may unwrap, expect, panic and index: a failing test is the point (also in
// common/, whose helpers are not #[test] functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use tracehound_apps::TlsOutcome;

fn captures() -> Vec<std::path::PathBuf> {
    let dir = common::shared("tls");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 10, "expected the shared TLS captures, found {}", v.len());
    v
}

fn list(s: &str) -> Vec<String> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(str::to_string).collect()
    }
}

fn hex16(v: &[u16]) -> Vec<String> {
    v.iter().map(|c| format!("0x{c:04x}")).collect()
}

#[test]
fn client_hellos_match_tshark() {
    let mut checked = 0;
    for cap in captures() {
        let (r, _) = common::run(&cap);
        let ts = common::tshark(
            &cap,
            "tls.handshake.type == 1",
            &[
                "tls.handshake.extensions_server_name",
                "tls.handshake.ciphersuite",
                "tls.handshake.extensions.supported_version",
                "tls.handshake.extensions_alpn_str",
            ],
        );
        let theirs: BTreeMap<u64, Vec<String>> = ts.into_iter().collect();
        for s in &r.tls {
            let Some(ch) = &s.client_hello else { continue };
            let decoded_as;
            if s.events.iter().any(|e| e.what.starts_with("SSLv2")) {
                // SSLv2-format hello: tshark lists 3-byte cipher specs
                let t = common::tshark(
                    &cap,
                    &format!("frame.number == {}", ch.frame),
                    &["tls.handshake.cipherspec"],
                );
                let specs: Vec<String> = list(&t[0].1[0])
                    .iter()
                    .filter(|c| c.starts_with("0x00"))
                    .map(|c| format!("0x{}", &c[4..]))
                    .collect();
                assert_eq!(
                    hex16(&ch.ciphers),
                    specs,
                    "SSLv2 cipher specs {} frame {}",
                    cap.display(),
                    ch.frame
                );
                checked += 1;
                continue;
            }
            let t = match theirs.get(&ch.frame) {
                Some(t) => t,
                None => {
                    // TLS on a port tshark gives to another protocol (80): ask it to decode as TLS
                    let da = format!("tcp.port=={},tls", s.flow.resp.port());
                    decoded_as = common::tshark_with(
                        &cap,
                        &["-d", &da],
                        &format!("frame.number == {} && tls.handshake.type == 1", ch.frame),
                        &[
                            "tls.handshake.extensions_server_name",
                            "tls.handshake.ciphersuite",
                            "tls.handshake.extensions.supported_version",
                            "tls.handshake.extensions_alpn_str",
                        ],
                    );
                    &decoded_as
                        .first()
                        .unwrap_or_else(|| {
                            panic!(
                                "{}: ClientHello frame {} unknown to tshark",
                                cap.display(),
                                ch.frame
                            )
                        })
                        .1
                }
            };
            let name = format!("{} frame {}", cap.display(), ch.frame);
            assert_eq!(ch.sni.clone().unwrap_or_default(), t[0], "SNI {name}");
            let want_ciphers: Vec<String> = list(&t[1]);
            assert_eq!(hex16(&ch.ciphers), want_ciphers, "ciphers {name}");
            assert_eq!(ch.cipher_count, want_ciphers.len(), "cipher count {name}");
            assert_eq!(hex16(&ch.supported_versions), list(&t[2]), "supported_versions {name}");
            assert_eq!(ch.alpn, list(&t[3]), "ALPN {name}");
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} ClientHellos compared");
}

#[test]
fn server_hellos_match_tshark() {
    let mut checked = 0;
    for cap in captures() {
        let (r, _) = common::run(&cap);
        let ts = common::tshark(
            &cap,
            "tls.handshake.type == 2",
            &[
                "tls.handshake.version",
                "tls.handshake.ciphersuite",
                "tls.handshake.extensions.supported_version",
            ],
        );
        let theirs: BTreeMap<u64, Vec<String>> = ts.into_iter().collect();
        let ours: Vec<_> =
            r.tls.iter().flat_map(|s| s.server_hello.iter().chain(s.hello_retry.iter())).collect();
        let reordered: Vec<u64> =
            common::tshark(&cap, "tcp.analysis.out_of_order || tcp.analysis.retransmission", &[])
                .into_iter()
                .map(|x| x.0)
                .collect();
        for f in theirs.keys() {
            assert!(
                ours.iter().any(|s| s.frame == *f),
                "{}: tshark's ServerHello in frame {f} missed",
                cap.display()
            );
        }
        for sh in &ours {
            let Some(t) = theirs.get(&sh.frame) else {
                // tshark does not dissect segments it flags as out-of-order / retransmitted
                // (zeek__hrr.pcap frame 11 fills the hole before frame 9); we reassemble them
                assert!(
                    reordered.contains(&sh.frame),
                    "{}: ServerHello frame {} unknown to tshark",
                    cap.display(),
                    sh.frame
                );
                continue;
            };
            let name = format!("{} frame {}", cap.display(), sh.frame);
            // several hellos in one frame cannot happen for one connection
            assert_eq!(
                list(&t[0]).first().cloned().unwrap_or_default(),
                format!("0x{:04x}", sh.version),
                "version {name}"
            );
            assert_eq!(
                list(&t[1]).first().cloned().unwrap_or_default(),
                format!("0x{:04x}", sh.cipher),
                "cipher {name}"
            );
            assert_eq!(
                list(&t[2]).first().cloned(),
                sh.selected_version.map(|v| format!("0x{v:04x}")),
                "selected version {name}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} ServerHellos compared");
}

#[test]
fn alerts_match_tshark() {
    let mut clear = 0;
    for cap in captures() {
        let (r, _) = common::run(&cap);
        let ts = common::tshark(
            &cap,
            "tls.record.content_type == 21",
            &["tls.alert_message.level", "tls.alert_message.desc"],
        );
        let mut theirs: Vec<(u64, Option<String>)> = Vec::new();
        for (f, v) in ts {
            let descs = list(&v[1]);
            let n = descs.len().max(1);
            for i in 0..n {
                theirs.push((f, descs.get(i).cloned()));
            }
        }
        let mut ours: Vec<(u64, Option<String>)> = r
            .tls
            .iter()
            .flat_map(|s| s.alerts.iter().map(|a| (a.frame, a.description.map(|d| d.to_string()))))
            .collect();
        ours.sort();
        theirs.sort();
        // tshark lists one entry per frame for encrypted alerts (no description)
        theirs.dedup();
        ours.dedup();
        let reordered: Vec<u64> =
            common::tshark(&cap, "tcp.analysis.out_of_order || tcp.analysis.retransmission", &[])
                .into_iter()
                .map(|x| x.0)
                .collect();
        for a in &theirs {
            assert!(
                ours.contains(a),
                "{}: tshark's alert {a:?} missed; ours {ours:?}",
                cap.display()
            );
        }
        for a in &ours {
            // tshark leaves a retransmission that fills a capture hole undissected
            // (zeek__ssl.v3.pcap frame 251); the engine delivers those bytes once
            assert!(
                theirs.contains(a) || reordered.contains(&a.0),
                "{}: alert {a:?} unknown to tshark",
                cap.display()
            );
        }
        clear += ours.iter().filter(|a| a.1.is_some()).count();
    }
    assert!(clear >= 2, "cleartext alerts compared: {clear}");
}

#[test]
fn certificates_match_tshark() {
    let mut certs = 0;
    for cap in captures() {
        let (r, _) = common::run(&cap);
        let ts = common::tshark(
            &cap,
            "tls.handshake.type == 11",
            &[
                "x509ce.dNSName",
                "x509af.utcTime",
                "x509af.generalizedTime",
                "x509af.serialNumber",
                "x509if.oid",
                "x509sat.printableString",
                "x509sat.teletexString",
                "x509sat.uTF8String",
                "x509sat.bmpString",
                "x509sat.IA5String",
            ],
        );
        let theirs: BTreeMap<u64, Vec<String>> = ts.into_iter().collect();
        for s in r.tls.iter().filter(|s| s.certificate_frame.is_some()) {
            let f = s.certificate_frame.unwrap();
            let t = theirs.get(&f).unwrap_or_else(|| {
                panic!("{}: Certificate frame {f} unknown to tshark", cap.display())
            });
            let name = format!("{} frame {f}", cap.display());
            let sans: Vec<String> =
                s.certificates.iter().flat_map(|c| c.san_dns.iter().cloned()).collect();
            assert_eq!(sans, list(&t[0]), "SAN dNSNames {name}");
            if t[2].is_empty() {
                let times: Vec<String> = s
                    .certificates
                    .iter()
                    .flat_map(|c| [c.not_before_iso.clone(), c.not_after_iso.clone()])
                    .map(|i| format!("{} (UTC)", i.trim_end_matches('Z').replace('T', " ")))
                    .collect();
                assert_eq!(times, list(&t[1]), "validity {name}");
            }
            let serials: Vec<String> =
                s.certificates.iter().map(|c| c.serial.replace(':', "").to_lowercase()).collect();
            assert_eq!(serials, list(&t[3]), "serials {name}");
            let cn_oids = list(&t[4]).iter().filter(|o| *o == "2.5.4.3").count();
            let ours_cn: Vec<&String> = s
                .certificates
                .iter()
                .flat_map(|c| c.subject_cn.iter().chain(c.issuer_cn.iter()))
                .collect();
            // tshark's OID list also holds CNs of directoryNames inside extensions
            assert!(
                ours_cn.len() <= cn_oids && cn_oids <= ours_cn.len() + s.certificates.len(),
                "number of CNs {name}: {} vs {cn_oids}",
                ours_cn.len()
            );
            let strings: Vec<String> = (5..10).flat_map(|i| list(&t[i])).collect();
            for cn in ours_cn {
                assert!(strings.contains(cn), "CN {cn:?} not among tshark's strings {name}");
            }
            certs += s.certificates.len();
        }
    }
    assert!(certs >= 20, "certificates compared: {certs}");
}

#[test]
fn outcomes_of_known_captures() {
    let one = |f: &str| {
        let (r, convs) = common::run(&common::shared(&format!("tls/{f}")));
        (r, convs)
    };
    // zeek__tls-1.2-handshake-failure.pcap: the server answers the ClientHello (frame 4)
    // with a fatal handshake_failure alert (frame 6)
    let (r, _) = one("zeek__tls-1.2-handshake-failure.pcap");
    assert_eq!(r.tls.len(), 1);
    assert_eq!(r.tls[0].outcome, TlsOutcome::Alert);
    let a = r.tls[0].failing_alert().unwrap();
    assert_eq!((a.frame, a.name.as_str(), a.level), (6, "handshake_failure", Some(2)));
    // zeek__tls-early-alert.pcap: a warning unrecognized_name, then the handshake completes
    let (r, _) = one("zeek__tls-early-alert.pcap");
    assert_eq!(r.tls[0].outcome, TlsOutcome::Completed);
    assert_eq!(r.tls[0].alerts[0].name, "unrecognized_name");
    // zeek__hrr.pcap: HelloRetryRequest, second ClientHello, TLS 1.3 completes
    let (r, _) = one("zeek__hrr.pcap");
    let s = &r.tls[0];
    assert!(s.hello_retry.is_some());
    assert_eq!(s.client_hellos, 2);
    assert_eq!(s.negotiated_version(), Some(0x0304));
    assert_eq!(s.outcome, TlsOutcome::Completed);
    // zeek__tls13_wolfssl.pcap: TLS 1.3, no cleartext certificate
    let (r, _) = one("zeek__tls13_wolfssl.pcap");
    assert_eq!(r.tls[0].negotiated_version(), Some(0x0304));
    assert!(r.tls[0].certificates.is_empty());
    assert_eq!(r.tls[0].outcome, TlsOutcome::Completed);
    // zeek__https-to-http.pcap: a TLS client against a plain HTTP server
    let (r, _) = one("zeek__https-to-http.pcap");
    assert_eq!(r.tls[0].outcome, TlsOutcome::ServerNotTls);
    assert!(r.tls[0].server_not_tls.as_deref().unwrap().starts_with("<!DOCTYPE"));
    // zeek__tls-expired-cert.pcap: www.spidh.org's certificate ended 2014-03-04, the capture
    // is from 2014-03-13
    let (r, _) = one("zeek__tls-expired-cert.pcap");
    let s = &r.tls[0];
    let leaf = &s.certificates[0];
    assert_eq!(leaf.subject_cn, ["www.spidh.org"]);
    assert!(leaf.not_after < s.server_hello.as_ref().unwrap().ts.as_secs_f64() as i64);
}
