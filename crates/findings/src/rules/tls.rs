//! TLS rules:
//! - `tls.handshake_failure`: the handshake ended with an alert before completing, the
//!   server reset/closed the connection right after the ClientHello (no ServerHello), or the
//!   server does not speak TLS. Alert names and what the client offered (versions, cipher
//!   count) are in the evidence, to spot "no common cipher / version".
//! - `tls.certificate_mismatch`: the name the client asked for (SNI) is not covered by the
//!   leaf certificate (DNS SANs, else CN; wildcards per RFC 6125 §6.4.3).
//! - `tls.certificate_expired`: a certificate of the chain was not valid at the capture time
//!   of the handshake (notAfter before it, or notBefore after it).
//!
//! Only TLS ≤ 1.2 shows certificates in clear; TLS 1.3 handshakes can only raise the first.
//! A certificate finding is a problem when the handshake failed *or* the client refused the
//! server after completing it (an alert, then FIN/RST, no application data: see
//! `tls_refused.rs`).

use std::collections::BTreeMap;

use tracehound_apps::tls::{NoHelloEnd, TlsSession};
use tracehound_apps::{cert, TlsOutcome};
use tracehound_flows::Conversation;

use super::tls_refused::{client_refused, Refusal};
use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub const HANDSHAKE_FAILURE: &str = "tls.handshake_failure";
pub const CERTIFICATE_MISMATCH: &str = "tls.certificate_mismatch";
pub const CERTIFICATE_EXPIRED: &str = "tls.certificate_expired";

/// Failed sessions per (server, failure kind): (session, evidence line, frames).
type FailureGroups<'a> = BTreeMap<(String, String), Vec<(&'a TlsSession, String, Vec<u64>)>>;
/// Sessions per (server, certificate serial): (session, position in chain, handshake time).
type ExpiredGroups<'a> = BTreeMap<(String, String), Vec<(&'a TlsSession, usize, i64)>>;

fn convs<'a>(facts: &'a Facts) -> rustc_hash::FxHashMap<u64, &'a Conversation> {
    facts.conversations.iter().map(|c| (c.info.id, c)).collect()
}

fn versions(s: &TlsSession) -> String {
    match &s.client_hello {
        Some(ch) if !ch.supported_versions.is_empty() => ch
            .supported_versions
            .iter()
            .filter(|v| *v & 0x0f0f != 0x0a0a)
            .map(|v| tracehound_apps::tls::version_name(*v))
            .collect::<Vec<_>>()
            .join(", "),
        Some(ch) => format!("up to {}", tracehound_apps::tls::version_name(ch.version)),
        None => "?".into(),
    }
}

fn flow(s: &TlsSession) -> FlowRef {
    FlowRef::new(s.flow.proto, s.flow.orig, s.flow.resp)
}

fn who(from: tracehound_apps::tls::Side) -> &'static str {
    match from {
        tracehound_apps::tls::Side::Client => "client",
        tracehound_apps::tls::Side::Server => "server",
    }
}

/// `tls.handshake_failure`.
pub fn check_handshake(facts: &Facts, out: &mut Vec<Finding>) {
    let cm = convs(facts);
    // (server, kind) -> sessions
    let mut groups: FailureGroups = BTreeMap::new();
    for s in &facts.apps.tls {
        let Some((kind, line, frames)) = failure(s, &cm) else { continue };
        groups.entry((s.flow.resp.to_string(), kind)).or_default().push((s, line, frames));
    }
    for ((server, kind), sessions) in groups {
        let mut ev = Evidence::default();
        let first = sessions[0].0;
        for (s, line, frames) in &sessions {
            if ev.flows.len() < 20 {
                ev.flows.push(flow(s));
            }
            ev.add_frames(frames.iter().copied());
            ev.line(line.clone());
        }
        let sni = first.sni().map(str::to_string);
        ev.value("server", server.clone());
        ev.value("failure", kind.clone());
        ev.value("connections", sessions.len());
        if let Some(n) = &sni {
            ev.value("sni", n.clone());
        }
        if let Some(ch) = &first.client_hello {
            ev.value("client_versions", versions(first));
            ev.value("client_cipher_count", ch.cipher_count);
            ev.value(
                "client_ciphers",
                ch.ciphers.iter().take(64).map(|c| format!("0x{c:04x}")).collect::<Vec<_>>(),
            );
        }
        let alert = first.failing_alert().and_then(|a| a.description);
        if let Some(a) = first.failing_alert() {
            ev.value("alert", a.name.clone());
            ev.value("alert_from", who(a.from));
        }
        ev.line(format!(
            "frame {}: the client offered {} with {} cipher suites{}",
            first.client_hello.as_ref().map_or(0, |c| c.frame),
            versions(first),
            first.client_hello.as_ref().map(|c| c.cipher_count).unwrap_or(0),
            sni.as_ref().map(|n| format!(", SNI {n}")).unwrap_or_default()
        ));
        ev.why(
            "failure kind (alert, reset or non-TLS answer before the handshake completed)",
            &kind,
        );
        ev.why(
            "failing alert",
            first
                .failing_alert()
                .map_or("none".into(), |a| format!("{} from {}", a.name, who(a.from))),
        );
        ev.why("connections that failed this way", sessions.len());
        ev.why("severity rule", "problem: the handshake never completed");
        ev.finish();
        let (expl, causes, steps) = explain(&kind, alert, first);
        out.push(Finding {
            id: HANDSHAKE_FAILURE,
            severity: Severity::Problem,
            title: format!("TLS handshake with {server} failed: {kind} ({}×)", sessions.len()),
            explanation: expl,
            likely_causes: causes.into_iter().map(Into::into).collect(),
            next_steps: steps.into_iter().map(Into::into).collect(),
            evidence: ev,
            weight: 80,
        });
    }
}

/// How a handshake failed, if it did: (kind for grouping, evidence line, frames).
fn failure(
    s: &TlsSession,
    cm: &rustc_hash::FxHashMap<u64, &Conversation>,
) -> Option<(String, String, Vec<u64>)> {
    let ch_frame = s.client_hello.as_ref().map(|c| c.frame);
    let (kind, line, frames) = match s.outcome {
            TlsOutcome::Alert => {
                let a = s.failing_alert()?;
                let kind = if a.encrypted { "encrypted alert".to_string() } else { format!("alert {}", a.name) };
                let line = format!(
                    "frame {}: {} sent {} {}{}",
                    a.frame,
                    who(a.from),
                    if a.level == Some(2) { "fatal" } else if a.encrypted { "an" } else { "warning" },
                    a.name,
                    ch_frame.map(|f| format!(" (ClientHello in frame {f})")).unwrap_or_default()
                );
                (format!("{kind} from {}", who(a.from)), line, ch_frame.into_iter().chain([a.frame]).collect())
            }
            TlsOutcome::NoServerHello => match s.ending(cm.get(&s.flow.id).copied()) {
                Some(NoHelloEnd::Reset { frame, by_server }) => (
                    "reset after ClientHello".to_string(),
                    format!(
                        "frame {frame}: {} reset the connection after the ClientHello (frame {}), no ServerHello{}",
                        if by_server { "server" } else { "client" },
                        ch_frame.unwrap_or(0),
                        // The reset's TTL betrays a device on the path (an IPS, a firewall).
                        match cm.get(&s.flow.id).and_then(|c| c.rst_ttl_mismatch) {
                            Some((f, rst, usual)) if f == frame && by_server => format!(
                                "; its TTL {rst} differs from the server's other packets' ({usual}): a device on the path sent it"
                            ),
                            _ => String::new(),
                        }
                    ),
                    ch_frame.into_iter().chain([frame]).collect(),
                ),
                Some(NoHelloEnd::Closed { by_server }) => (
                    "closed after ClientHello".to_string(),
                    format!(
                        "{} closed the connection after the ClientHello (frame {}), no ServerHello",
                        if by_server { "server" } else { "client" },
                        ch_frame.unwrap_or(0)
                    ),
                    ch_frame.into_iter().collect(),
                ),
                _ => return None,
            },
            TlsOutcome::Incomplete => {
                // the server answered, then the connection ended without finishing the
                // handshake and without an alert (Schannel clients reject a certificate so)
                let last = s.events.iter().map(|e| e.frame).max().unwrap_or(0);
                let who_end = match s.ending(cm.get(&s.flow.id).copied()) {
                    Some(NoHelloEnd::Reset { frame, by_server }) => Some((frame, by_server, "reset")),
                    Some(NoHelloEnd::Closed { by_server }) => Some((0, by_server, "closed")),
                    _ => None,
                };
                let (frame, by_server, how) = who_end?;
                let side = if by_server { "server" } else { "client" };
                (
                    format!("{how} by {side} during the handshake"),
                    format!(
                        "{}{side} {how} the connection after the last handshake message (frame {last}) without an alert; the handshake never completed",
                        if frame > 0 { format!("frame {frame}: ") } else { String::new() }
                    ),
                    ch_frame.into_iter().chain([last]).chain((frame > 0).then_some(frame)).collect(),
                )
            }
            TlsOutcome::ServerNotTls => (
                "server does not speak TLS".to_string(),
                format!(
                    "frame {}: server answered the ClientHello with non-TLS data: {}",
                    s.first_server_frame.unwrap_or(0),
                    s.server_not_tls.as_deref().unwrap_or("")
                ),
                ch_frame.into_iter().chain(s.first_server_frame).collect(),
            ),
            _ => return None,
};
    Some((kind, line, frames))
}

fn explain(kind: &str, alert: Option<u8>, s: &TlsSession) -> (String, Vec<String>, Vec<String>) {
    let offered = format!(
        "The client offered {} and {} cipher suites.",
        versions(s),
        s.client_hello.as_ref().map(|c| c.cipher_count).unwrap_or(0)
    );
    let mut steps = vec![
        "Compare the protocol versions and cipher suites the client offers with what the server allows (server: `Get-TlsCipherSuite`, SCHANNEL registry keys under HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL; OpenSSL: `openssl s_client -connect host:port -tls1_2`).".to_string(),
        "Check the server's TLS/SCHANNEL event log (System log, source Schannel, events 36874/36888) at the time of the failure.".to_string(),
    ];
    if kind.starts_with("reset") || kind.starts_with("closed") {
        return (
            format!("The client sent its ClientHello and the connection was torn down without a ServerHello. Servers (and middleboxes) do this when they cannot agree on a version or cipher, require SNI or a name they do not serve, or when something in between inspects and blocks TLS. {offered}"),
            vec![
                "No protocol version or cipher suite in common (e.g. the server requires TLS 1.2+ and the client offers TLS 1.0, or the server has no certificate for the offered signature algorithms).".into(),
                "The server has no certificate bound to this port / name (HTTP.SYS binding missing, `netsh http show sslcert`).".into(),
                "A firewall, proxy or IPS resets the connection after seeing the ClientHello (SNI filtering).".into(),
            ],
            {
                steps.insert(0, "Check the server's certificate binding for this port and name (`netsh http show sslcert`, IIS bindings).".into());
                steps
            },
        );
    }
    if kind.contains("during the handshake") {
        let by_client = kind.contains("by client");
        return (
            format!("The server answered the ClientHello, but the connection was {} by the {} before the handshake completed, without a TLS alert. {offered}", if kind.starts_with("reset") { "reset" } else { "closed" }, if by_client { "client" } else { "server" }),
            if by_client {
                vec![
                    "The client rejected the server's certificate (untrusted issuer / missing intermediate, expired, name mismatch, revocation check failed) — Windows Schannel clients close without sending an alert.".into(),
                    "The client did not accept the negotiated parameters (version, cipher, key size).".into(),
                ]
            } else {
                vec!["The server aborted: client certificate missing or rejected, or an internal error.".into()]
            },
            {
                let mut st = steps;
                st.insert(0, "Check the certificate chain the server sends (see the Certificate message in the evidence frames) against the client's trust store; on Windows look for Schannel events 36882/36884/36885 on the client.".into());
                st
            },
        );
    }
    if kind.starts_with("server does not speak") {
        return (
            "The client started a TLS handshake, but the server answered in plain text (for example an HTTP error page): the port is served by a non-TLS service.".into(),
            vec!["Wrong port or scheme (https:// to an http:// service), or TLS offload configured on a proxy the client bypasses.".into()],
            vec!["Check which service listens on this port and whether it expects TLS; use the right URL scheme / port.".into()],
        );
    }
    let causes = match alert {
        Some(40) | Some(71) | Some(70) => vec![
            "No common protocol version or cipher suite (handshake_failure / protocol_version / insufficient_security).".into(),
            "The server requires a client certificate the client did not send, or ECC/RSA certificate vs. offered signature algorithms mismatch.".into(),
        ],
        Some(42..=46) | Some(48) => vec![
            "The peer rejected a certificate: untrusted issuer (missing intermediate or root), expired, revoked, or wrong usage.".into(),
        ],
        Some(112) => vec!["The server does not know the name the client sent in SNI.".into()],
        Some(116) => vec!["The server requires a client certificate (TLS 1.3 certificate_required).".into()],
        _ => vec!["The peer aborted the handshake (see the alert name).".into()],
    };
    (
        format!("The TLS handshake ended with an alert before it completed ({kind}), so no application data was exchanged. {offered}"),
        causes,
        steps,
    )
}

/// `tls.certificate_mismatch`.
pub fn check_mismatch(facts: &Facts, out: &mut Vec<Finding>) {
    let cm = convs(facts);
    let mut groups: BTreeMap<(String, String), Vec<&TlsSession>> = BTreeMap::new();
    for s in &facts.apps.tls {
        let (Some(sni), Some(leaf)) = (s.sni(), s.certificates.first()) else { continue };
        if !cert::covers(leaf, sni) {
            groups.entry((s.flow.resp.to_string(), sni.to_string())).or_default().push(s);
        }
    }
    for ((server, sni), sessions) in groups {
        let s = sessions[0];
        let Some(leaf) = s.certificates.first() else { continue };
        let refusals: Vec<Refusal> = sessions
            .iter()
            .filter_map(|s| client_refused(s, cm.get(&s.flow.id).copied()))
            .collect();
        let failed =
            !refusals.is_empty() || sessions.iter().any(|s| s.outcome != TlsOutcome::Completed);
        let went_on = sessions.iter().any(|s| s.app_data_records[0] > 0);
        let mut ev = Evidence::default();
        for s in &sessions {
            if ev.flows.len() < 20 {
                ev.flows.push(flow(s));
            }
            ev.add_frames(
                s.client_hello.as_ref().map(|c| c.frame).into_iter().chain(s.certificate_frame),
            );
        }
        for r in refusals.iter().take(5) {
            ev.add_frames([r.alert_frame]);
            ev.add_frames(r.reset_frame);
            ev.line(format!("the handshake completed, then the client {}", r.describe()));
        }
        let names: Vec<String> =
            if leaf.san_dns.is_empty() { leaf.subject_cn.clone() } else { leaf.san_dns.clone() };
        ev.value("server", server.clone());
        ev.value("sni", sni.clone());
        ev.value("certificate_names", names.iter().take(50).cloned().collect::<Vec<_>>());
        ev.value("subject", leaf.subject.clone());
        ev.value("issuer", leaf.issuer.clone());
        ev.value("connections", sessions.len());
        ev.line(format!(
            "frame {}: client asked for {sni}; frame {}: certificate for {}",
            s.client_hello.as_ref().map(|c| c.frame).unwrap_or(0),
            s.certificate_frame.unwrap_or(0),
            names.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
        ));
        if let Some(a) = s.alerts.iter().find(|a| !a.encrypted) {
            ev.line(format!("frame {}: {} sent alert {}", a.frame, who(a.from), a.name));
        }
        ev.finish();
        out.push(Finding {
            id: CERTIFICATE_MISMATCH,
            severity: if failed { Severity::Problem } else { Severity::Warning },
            title: format!("TLS certificate of {server} does not cover {sni}"),
            explanation: format!(
                "The client asked for {sni} (SNI), but the server's certificate is for {}. Clients that check the name (browsers, .NET, WinHTTP, LDAPS) refuse the connection{}.",
                names.iter().take(5).cloned().collect::<Vec<_>>().join(", "),
                if !refusals.is_empty() {
                    " — this client did: it completed the handshake, then sent an alert and left without sending any application data"
                } else if failed {
                    " — this handshake did not complete"
                } else if went_on {
                    "; this client went on (it sent application data), so it may not be checking the name"
                } else {
                    "; whether this client checks the name is not visible here"
                }
            ),
            likely_causes: vec![
                "The wrong certificate is bound to this IP/port (another site's, or a default/self-signed one).".into(),
                "The client uses a name (alias, short name, IP address) that is not in the certificate's subject alternative names.".into(),
                "A TLS-inspecting proxy or load balancer presents its own certificate.".into(),
            ],
            next_steps: vec![
                "Check the binding (`netsh http show sslcert`, IIS bindings, load balancer profile) and the certificate's SAN list.".into(),
                "Reissue the certificate with the name clients use, or make clients use a name in the SAN list.".into(),
            ],
            evidence: ev,
            weight: if failed { 85 } else { 40 }, // the cause of the handshake failure it provokes: ranked above it
        });
    }
}

/// `tls.certificate_expired`.
pub fn check_expired(facts: &Facts, out: &mut Vec<Finding>) {
    let cm = convs(facts);
    // (server, serial) -> (session, position in chain, handshake time)
    let mut groups: ExpiredGroups = BTreeMap::new();
    for s in &facts.apps.tls {
        let Some(when) =
            s.server_hello.as_ref().map(|h| h.ts).or(s.client_hello.as_ref().map(|c| c.ts))
        else {
            continue;
        };
        let t = when.as_nanos().div_euclid(1_000_000_000);
        for (i, c) in s.certificates.iter().enumerate() {
            if c.not_after < t || c.not_before > t {
                groups
                    .entry((s.flow.resp.to_string(), c.serial.clone()))
                    .or_default()
                    .push((s, i, t));
            }
        }
    }
    for ((server, _), hits) in groups {
        let (s, pos, t) = hits[0];
        let Some(c) = s.certificates.get(pos) else { continue };
        let expired = c.not_after < t;
        let failed = hits.iter().any(|(s, _, _)| {
            s.outcome != TlsOutcome::Completed
                || client_refused(s, cm.get(&s.flow.id).copied()).is_some()
        });
        let name = c.subject_cn.first().cloned().unwrap_or_else(|| c.subject.clone());
        let role = if pos == 0 {
            "server certificate".to_string()
        } else {
            format!("chain certificate #{pos}")
        };
        let mut ev = Evidence::default();
        for (s, _, _) in &hits {
            if ev.flows.len() < 20 {
                ev.flows.push(flow(s));
            }
            ev.add_frames(s.certificate_frame);
        }
        let days = if expired { (t - c.not_after) / 86_400 } else { (c.not_before - t) / 86_400 };
        ev.value("server", server.clone());
        ev.value("subject", c.subject.clone());
        ev.value("issuer", c.issuer.clone());
        ev.value("position", pos);
        ev.value("not_before", c.not_before_iso.clone());
        ev.value("not_after", c.not_after_iso.clone());
        ev.value("handshake_time", cert::iso(t));
        ev.value("connections", hits.len());
        ev.line(format!(
            "frame {}: {role} {name} valid {} .. {}, handshake at {} ({} days {})",
            s.certificate_frame.unwrap_or(0),
            c.not_before_iso,
            c.not_after_iso,
            cert::iso(t),
            days,
            if expired { "after it expired" } else { "before it becomes valid" }
        ));
        ev.why("handshake time (from the capture, not today)", cert::iso(t));
        ev.why("validity", format!("{} .. {}", c.not_before_iso, c.not_after_iso));
        ev.why("position in chain (0 = server's own)", pos);
        ev.why("handshake failed or client left right after", failed);
        ev.why(
            "severity rule",
            "problem if the server's own certificate or a failed handshake, else warning",
        );
        ev.finish();
        out.push(Finding {
            id: CERTIFICATE_EXPIRED,
            severity: if failed || pos == 0 { Severity::Problem } else { Severity::Warning },
            title: if expired {
                format!("TLS {role} of {server} ({name}) expired on {}", c.not_after_iso)
            } else {
                format!("TLS {role} of {server} ({name}) is not valid before {}", c.not_before_iso)
            },
            explanation: format!(
                "At the time of the handshake ({}) the {role} for {name} was {}. Clients that validate certificates refuse the connection{}.",
                cert::iso(t),
                if expired { format!("expired for {days} days (notAfter {})", c.not_after_iso) } else { format!("not yet valid (notBefore {}): {days} days early", c.not_before_iso) },
                if failed { "; this handshake did not complete" } else { "" }
            ),
            likely_causes: if expired {
                vec!["The certificate was not renewed (or renewed but not bound/installed on this server).".into()]
            } else {
                vec!["The server's or the client's clock is wrong, or a freshly issued certificate is used before its start time.".into()]
            },
            next_steps: vec![
                "Renew / reinstall the certificate and bind it (`certlm.msc`, `netsh http show sslcert`, IIS bindings); restart the service that caches it.".into(),
                "Check the clocks of client and server (`w32tm /stripchart`).".into(),
            ],
            evidence: ev,
            weight: if failed { 85 } else { 45 }, // the cause of the handshake failure it provokes: ranked above it
        });
    }
}

/// All three TLS rules (the engine runs them as three rules, to spread them over threads).
pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    check_handshake(facts, out);
    check_mismatch(facts, out);
    check_expired(facts, out);
}

#[cfg(test)]
mod thresholds;
