//! `tls.not_decryptable` (info): keys or key logs were given (`analyze --key / --keylog`),
//! and some TLS sessions still could not be opened — each named with the reason in words
//! from the decryptor (forward secrecy without a key log, TLS 1.3 without secrets, a key that
//! does not match the server's certificate, a handshake not captured, a resumed session whose
//! master secret is unknown, a record that failed authentication, …). Without keys the rule
//! says nothing: not decrypting is then the normal case. What cannot be decrypted is hidden
//! from the HTTP, LDAP and DCE/RPC rules, so this says where the analysis stops.

use std::collections::BTreeMap;

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity, Text};

pub const ID: &str = "tls.not_decryptable";

pub use crate::facts::{DecryptFacts, NotOpened, MAX_NOT_OPENED};

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(d) = &facts.capture.tls_decrypt else { return };
    if (d.not_opened_total == 0 || d.not_opened.is_empty()) && d.unmatched_keys.is_empty() {
        return;
    }
    let mut ev = Evidence::default();
    for k in &d.unmatched_keys {
        ev.line(format!("key {k} matches no server certificate in the capture"));
    }
    // The same reason for many sessions is said once, with its count.
    let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &d.not_opened {
        *by_reason.entry(s.reason.as_str()).or_default() += 1;
        ev.flows.push(FlowRef::new(tracehound_flows::Proto::Tcp, s.client, s.server));
        ev.add_frames([s.first_frame]);
        let sni = s.sni.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
        ev.line(format!(
            "{} → {}{sni} (frame {}): {}",
            s.client, s.server, s.first_frame, s.reason
        ));
    }
    ev.value("sessions", d.sessions);
    ev.value("decrypted", d.decrypted);
    ev.value("not_decrypted", d.not_opened_total);
    if !d.unmatched_keys.is_empty() {
        ev.value("unmatched_keys", d.unmatched_keys.len() as u64);
    }
    ev.why("tls_sessions", d.sessions);
    ev.why("not_decrypted", d.not_opened_total);
    ev.finish();
    let main_reason = by_reason
        .iter()
        .max_by_key(|(r, n)| (**n, std::cmp::Reverse(**r)))
        .map(|(r, _)| short(r))
        .unwrap_or("see the evidence");
    let plural = if d.not_opened_total == 1 { "" } else { "s" };
    let title = if d.not_opened_total == 0 {
        match d.unmatched_keys.len() {
            1 => "The key given matches no server certificate in the capture".to_string(),
            n => format!("{n} keys given match no server certificate in the capture"),
        }
    } else {
        format!(
            "{} of {} TLS session{} could not be decrypted: {main_reason}",
            d.not_opened_total,
            d.sessions,
            if d.sessions == 1 { "" } else { "s" }
        )
    };
    let explanation = if d.not_opened_total == 0 {
        let (keys, match_, were) = match d.unmatched_keys.len() {
            1 => ("the key", "matches", "it was"),
            _ => ("the keys", "match", "they were"),
        };
        format!(
            "{}, but {keys} in the evidence {match_} no server certificate seen in the capture: {were} not used.",
            match d.decrypted {
                1 => "The one TLS session that could be checked was opened".to_string(),
                n => format!("Every one of the {n} TLS sessions that could be checked was opened"),
            },
        )
    } else {
        format!(
            "Keys or key logs were given, but {} TLS session{plural} could not be opened; \
                 what they carry (HTTP, LDAP, DCE/RPC) is hidden from the other findings. \
                 {} session{} were decrypted and analysed. Each session and the reason are in the \
                 evidence.",
            d.not_opened_total,
            d.decrypted,
            if d.decrypted == 1 { "" } else { "s" }
        )
    };
    let mut likely_causes = causes(&by_reason);
    if !d.unmatched_keys.is_empty() {
        likely_causes.push(Text::from(
            "A key given with --key belongs to no server in this capture (another server's key, or \
             the server's certificate was renewed); only TLS ≤ 1.2 certificates can be compared.",
        ));
    }
    out.push(Finding {
        id: ID,
        severity: Severity::Info,
        title,
        explanation,
        likely_causes,
        next_steps: vec![Text::from(
            "For (EC)DHE and TLS 1.3 sessions, capture again with a key log (SSLKEYLOGFILE=FILE \
             for browsers and curl, openssl s_client -keylogfile) and give it with --keylog; \
             for a key mismatch, give the private key of the certificate the server sent; for a \
             handshake not captured, start the capture before the connection opens.",
        )],
        evidence: ev,
        weight: 5,
    });
}

/// The gist of a reason, for the title.
fn short(reason: &str) -> &str {
    reason.split(':').next().map(str::trim).filter(|s| !s.is_empty()).unwrap_or(reason)
}

fn causes(by_reason: &BTreeMap<&str, u64>) -> Vec<Text> {
    let mut v: Vec<Text> = Vec::new();
    for r in by_reason.keys() {
        let c: &'static str = if r.contains("forward secrecy") {
            "(EC)DHE key exchange (forward secrecy): the server's private key cannot open these sessions; only a key log can."
        } else if r.contains("TLS 1.3") {
            "TLS 1.3 is always forward secret: only a key log (or a pcapng with decryption secrets) opens it."
        } else if r.contains("do not match") {
            "The key given is not the one of the certificate the server sent."
        } else if r.contains("handshake") {
            "The handshake is not in the capture: the session's keys cannot be derived."
        } else if r.contains("resumed") {
            "Resumed sessions whose original handshake could not be decrypted (or is not in the capture)."
        } else {
            "Other reasons, named per session in the evidence."
        };
        if !v.iter().any(|t| t.as_ref() == c) {
            v.push(Text::from(c));
        }
    }
    v
}

#[cfg(test)]
mod thresholds;
