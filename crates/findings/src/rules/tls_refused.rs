//! A TLS client that refuses the server *after* the handshake, and the certificate chain that
//! often makes it do so:
//! - [`client_refused`]: the handshake completed, then the client sent an alert record (in
//!   TLS ≤ 1.2 its content type, 21, stays visible even when encrypted) before any application
//!   data, and closed or reset the connection. Applications that check the certificate in
//!   their own code (Java's HostnameVerifier, WinHTTP / .NET callbacks over Schannel, macOS
//!   Secure Transport clients) refuse a server exactly so.
//! - `tls.certificate_chain_incomplete` (problem): the server sent its leaf certificate
//!   alone, issued by another certificate (an intermediate CA it should send too), and the
//!   client refused the server after the handshake or failed it with a certificate alert. A
//!   leaf alone that clients accept is not reported: a single-tier CA (an AD CS root issuing
//!   server certificates directly) looks the same, and clients that fetch missing
//!   intermediates (browsers, Windows via AIA) connect anyway.
//! - `tls.client_refused`: a refusal that no certificate finding explains. A warning when
//!   the leaf is self-signed; otherwise info: the capture shows *that* the client left, not
//!   why (a client that only tests the connection leaves the same way).

use std::collections::BTreeMap;

use tracehound_apps::tls::{Side, TlsSession};
use tracehound_apps::TlsOutcome;
use tracehound_flows::{Conversation, Dir};

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub const CHAIN_INCOMPLETE: &str = "tls.certificate_chain_incomplete";
pub const CLIENT_REFUSED: &str = "tls.client_refused";

/// How a client that completed the handshake left without sending application data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The client's alert record.
    pub alert_frame: u64,
    /// The alert's name when readable, else "encrypted alert".
    pub alert: String,
    /// The client's RST frame, when it reset rather than closed.
    pub reset_frame: Option<u64>,
}

impl Refusal {
    /// "sent an encrypted alert (frame 11) and closed the connection (FIN)".
    pub fn describe(&self) -> String {
        format!(
            "sent {} (frame {}) and {} without sending any application data",
            if self.alert.starts_with("encrypted") {
                "an encrypted alert".to_string()
            } else {
                format!("alert {}", self.alert)
            },
            self.alert_frame,
            match self.reset_frame {
                Some(r) => format!("reset the connection (frame {r})"),
                None => "closed the connection (FIN)".into(),
            }
        )
    }
}

/// Sizes of a TLS 1.3 record holding only an alert: 2 alert bytes and the inner content type,
/// plus the AEAD tag (16 bytes for AES-GCM, ChaCha20-Poly1305 and AES-CCM; 8 for AES-CCM_8).
const TLS13_ALERT_RECORD_LENS: [u16; 2] = [2 + 1 + 16, 2 + 1 + 8];

/// The client's alert after a completed handshake: in TLS ≤ 1.2 a record of content type 21
/// before any application data; in TLS 1.3, where every record is application_data, a second
/// and last client record (after its Finished) of exactly an alert's size.
fn client_alert(s: &TlsSession) -> Option<(u64, String)> {
    if s.is_tls13() {
        let (frame, len) = s.last_app_data[0]?;
        if s.app_data_records[0] != 2 || !TLS13_ALERT_RECORD_LENS.contains(&len) {
            return None;
        }
        return Some((frame, "encrypted alert".into()));
    }
    if s.app_data_records[0] > 0 {
        return None;
    }
    let a = s.alerts.iter().find(|a| a.from == Side::Client)?;
    if s.alerts.iter().any(|x| x.from == Side::Server && x.frame < a.frame) {
        return None; // the server ended it first: the client only answered
    }
    Some((a.frame, a.name.to_string()))
}

/// Did the client complete the handshake and then refuse the server (see the module docs)?
pub fn client_refused(s: &TlsSession, conv: Option<&Conversation>) -> Option<Refusal> {
    if s.outcome != TlsOutcome::Completed {
        return None;
    }
    let (alert_frame, alert) = client_alert(s)?;
    let c = conv?;
    // The TLS client is the connection's initiator.
    let reset =
        c.rst_frames.iter().find(|(f, d)| *d == Dir::Orig && *f >= alert_frame).map(|(f, _)| *f);
    let closed = c.history.contains('F');
    if reset.is_none() && !closed {
        return None;
    }
    Some(Refusal { alert_frame, alert, reset_frame: reset })
}

/// The conversations of the TLS sessions, by flow id.
pub fn convs<'a>(f: &'a Facts) -> rustc_hash::FxHashMap<u64, &'a Conversation> {
    f.conversations.iter().map(|c| (c.info.id, c)).collect()
}

/// The leaf alone, issued by someone else: the intermediate is missing.
fn leaf_only(s: &TlsSession) -> bool {
    match s.certificates.as_slice() {
        [leaf] => leaf.subject != leaf.issuer,
        _ => false,
    }
}

/// A certificate alert from the client during the handshake (unknown_ca, bad_certificate …).
fn certificate_alert(s: &TlsSession) -> Option<Reaction> {
    s.alerts
        .iter()
        .find(|a| a.from == Side::Client && matches!(a.description, Some(42..=46 | 48)))
        .map(|a| (format!("frame {}: the client sent alert {}", a.frame, a.name), vec![a.frame]))
}

/// How a client reacted to a server's certificate: words and frames.
type Reaction = (String, Vec<u64>);

/// `tls.certificate_chain_incomplete` and `tls.client_refused`.
pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let cm = convs(f);
    // (server) -> sessions with the leaf alone, with how the client reacted
    let mut chains: BTreeMap<String, Vec<(&TlsSession, Option<Reaction>)>> = BTreeMap::new();
    let mut refused: BTreeMap<String, Vec<(&TlsSession, Refusal)>> = BTreeMap::new();
    for s in &f.apps.tls {
        // A name or validity problem explains a refusal better (tls.certificate_mismatch /
        // tls.certificate_expired say so).
        let t = s.server_hello.as_ref().map(|h| h.ts.as_nanos().div_euclid(1_000_000_000));
        let mismatch = match (s.sni(), s.certificates.first()) {
            (Some(n), Some(leaf)) => !leaf.covers(n),
            _ => false,
        };
        let expired = t.is_some_and(|t| s.certificates.iter().any(|c| !c.valid_at(t)));
        if mismatch || expired {
            continue;
        }
        let r = client_refused(s, cm.get(&s.flow.id).copied());
        let reaction: Option<Reaction> = r
            .as_ref()
            .map(|r| {
                let frames = [r.alert_frame].into_iter().chain(r.reset_frame).collect();
                (format!("the client {}", r.describe()), frames)
            })
            .or_else(|| certificate_alert(s));
        // A leaf alone is also what a single-tier CA (e.g. an AD CS root issuing server
        // certificates directly) produces: only a client's refusal makes it the cause.
        if leaf_only(s) && reaction.is_some() {
            chains.entry(s.flow.resp.to_string()).or_default().push((s, reaction));
            continue;
        }
        if let Some(r) = r {
            refused.entry(s.flow.resp.to_string()).or_default().push((s, r));
        }
    }
    for (server, sessions) in chains {
        out.extend(chain_finding(&server, &sessions));
    }
    for (server, sessions) in refused {
        out.extend(refused_finding(&server, &sessions));
    }
}

fn flow(s: &TlsSession) -> FlowRef {
    FlowRef::new(s.flow.proto, s.flow.orig, s.flow.resp)
}

fn chain_finding(server: &str, sessions: &[(&TlsSession, Option<Reaction>)]) -> Option<Finding> {
    let s = sessions.first()?.0;
    let leaf = s.certificates.first()?;
    let name = leaf.subject_cn.first().cloned().unwrap_or_else(|| leaf.subject.clone());
    let issuer = leaf.issuer_cn.first().cloned().unwrap_or_else(|| leaf.issuer.clone());
    let rejected = sessions.iter().filter(|(_, r)| r.is_some()).count();
    let mut ev = Evidence::default();
    for (s, r) in sessions.iter().take(20) {
        ev.flows.push(flow(s));
        ev.add_frames(s.certificate_frame);
        ev.line(format!(
            "frame {}: {} sent one certificate, {name}, issued by {issuer}, without that issuer's certificate{}",
            s.certificate_frame.unwrap_or(0),
            server,
            match r {
                Some((r, _)) => format!("; {r}"),
                None => String::new(),
            }
        ));
        if let Some((_, frames)) = r {
            ev.add_frames(frames.iter().copied());
        }
    }
    ev.value("server", server.to_string());
    ev.value("subject", leaf.subject.clone());
    ev.value("issuer", leaf.issuer.clone());
    ev.value("chain_length", 1u64);
    ev.value("connections", sessions.len());
    ev.value("refused", rejected);
    ev.why("certificates in the server's Certificate message", 1);
    ev.why("leaf issuer (not sent)", &issuer);
    ev.why("connections that ended after it (alert or left without data)", rejected);
    ev.why("severity rule", "problem when a client refused or left, else warning");
    ev.finish();
    let severity = if rejected > 0 { Severity::Problem } else { Severity::Warning };
    Some(Finding {
        id: CHAIN_INCOMPLETE,
        severity,
        title: format!(
            "TLS server {server} sends its certificate without the issuing CA's ({issuer}){}",
            if rejected > 0 { ", and the client refused it" } else { "" }
        ),
        explanation: format!(
            "The server's Certificate message holds only its own certificate ({name}), issued by {issuer}, and not {issuer}'s certificate. A client can only trust the server \
if it can build the chain up to a root it trusts: when {issuer} is an intermediate CA, clients that do not fetch it themselves (OpenSSL, curl, Java, many appliances and \
non-browser applications) refuse the server; when it is a private root, clients that do not have it in their trust store refuse it. {}",
            if rejected > 0 {
                format!("Here {} of {} connections ended so: the client completed the handshake or failed it with a certificate alert, and left without sending data.", rejected, sessions.len())
            } else {
                "The clients in this capture went on (they may have the intermediate cached, or fetch it via AIA)".to_string() + "."
            }
        ),
        likely_causes: vec![
            format!("{issuer} is a private (enterprise) root the client does not trust").into(),
            "the server was configured with the leaf certificate only (e.g. `SSLCertificateFile` without the chain, nginx `ssl_certificate` without the intermediate, a PFX exported without the chain)".into(),
            "on Windows: the intermediate is missing from the server's Intermediate Certification Authorities store, so Schannel cannot send it".into(),
        ],
        next_steps: vec![
            format!("If {issuer} is an intermediate CA, install the chain on the server: append the {issuer} certificate to the server's certificate file (or import it into the machine's Intermediate CA store) and restart the service.").into(),
            format!("Check what the server sends: `openssl s_client -connect {server} -showcerts` must show more than one certificate.").into(),
            format!("If {issuer} is a private root, add it to the client's trusted roots (Windows: Trusted Root Certification Authorities, by GPO).").into(),
        ],
        evidence: ev,
        weight: if rejected > 0 { 86 } else { 40 },
    })
}

/// The leaf alone, issued by itself.
fn self_signed(s: &TlsSession) -> bool {
    matches!(s.certificates.as_slice(), [leaf] if leaf.subject == leaf.issuer)
}

fn refused_finding(server: &str, sessions: &[(&TlsSession, Refusal)]) -> Option<Finding> {
    let mut ev = Evidence::default();
    for (s, r) in sessions.iter().take(20) {
        ev.flows.push(flow(s));
        ev.add_frames([r.alert_frame]);
        ev.add_frames(r.reset_frame);
        ev.line(format!("{}: the handshake completed, then the client {}", flow(s), r.describe()));
    }
    let s = sessions.first()?.0;
    ev.value("server", server.to_string());
    ev.value("connections", sessions.len());
    if let Some(n) = s.sni() {
        ev.value("sni", n.to_string());
    }
    if let Some(leaf) = s.certificates.first() {
        ev.value("subject", leaf.subject.clone());
        ev.value("issuer", leaf.issuer.clone());
    }
    ev.finish();
    let visible = !s.certificates.is_empty();
    let selfsigned = sessions.iter().all(|(s, _)| self_signed(s));
    ev.value("self_signed", selfsigned);
    Some(Finding {
        id: CLIENT_REFUSED,
        // What the client thought is not in the capture: a fact unless the certificate
        // gives a reason (self-signed), and never a problem on its own.
        severity: if selfsigned { Severity::Warning } else { Severity::Info },
        title: if selfsigned {
            format!(
                "TLS server {server} presents a self-signed certificate, and the client left right after the handshake without sending data ({}×)",
                sessions.len()
            )
        } else {
            format!(
                "The client left {server} right after the TLS handshake, without sending data ({}×)",
                sessions.len()
            )
        },
        explanation: format!(
            "The handshake completed, then the client sent an alert and closed or reset the connection before sending any application data. Clients that check the \
server's certificate after the handshake refuse a server so; a client that only tests the connection (a monitor, a scanner) leaves the same way. {}",
            if selfsigned {
                "The server's certificate is self-signed: only clients told to trust that very certificate accept it."
            } else if visible {
                "The certificate in the capture covers the name asked and was valid at the time; if the client did refuse it, the reason is trust (an issuer the client does not trust, revocation, pinning)."
            } else {
                "The certificate is not visible in this capture (TLS 1.3 encrypts it)."
            }
        ),
        likely_causes: vec![
            "the client does not trust the server's certificate chain (unknown root, missing intermediate, self-signed)".into(),
            "a revocation check failed, or the client pins another certificate".into(),
            "the client only tested the connection (a monitor or health check)".into(),
        ],
        next_steps: {
            let mut v: Vec<crate::Text> = vec![
                format!("Look at the client's error (Windows: Schannel events 36882/36884/36885; Java: the PKIX path building exception), and check the server's chain: `openssl s_client -connect {server} -showcerts`.").into(),
            ];
            if selfsigned {
                v.insert(0, "Give the server a certificate from a CA the clients trust (or deploy this certificate to the clients' trusted store, if it is meant to be trusted as is).".into());
            }
            v
        },
        evidence: ev,
        weight: if selfsigned { 50 } else { 10 },
    })
}

#[cfg(test)]
mod thresholds;
