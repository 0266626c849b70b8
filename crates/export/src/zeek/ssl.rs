//! `ssl.log` from a TLS session.
//!
//! Zeek's fields (`SSL::Info`): `ts` of the ClientHello, `version` in Zeek's words
//! (`TLSv12`, `TLSv13`, …), `cipher` (IANA name), `server_name` (SNI), `resumed`,
//! `last_alert`, `next_protocol` (the ALPN the server chose), `established`. `curve` and
//! `ssl_history` are not kept by the TLS analyzer and are left out. `resumed` is told as
//! Zeek tells an abbreviated handshake: a TLS ≤ 1.2 session that completed without a
//! Certificate message.

use tracehound_apps::tls::{TlsOutcome, TlsSession};

use super::uid::uid;
use super::Rec;
use crate::Source;

/// Zeek's name of a protocol version (`SSL::version_strings`).
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv10".into(),
        0x0302 => "TLSv11".into(),
        0x0303 => "TLSv12".into(),
        0x0304 => "TLSv13".into(),
        0xfeff => "DTLSv10".into(),
        0xfefd => "DTLSv12".into(),
        0xfefc => "DTLSv13".into(),
        n => format!("unknown-{n}"),
    }
}

/// The `ssl.log` record of `s`.
pub fn record(s: &TlsSession, src: &Source) -> Rec {
    let mut r = Rec::new();
    let ts = s.client_hello.as_ref().map(|h| h.ts).or(s.server_hello.as_ref().map(|h| h.ts));
    if let Some(t) = ts {
        r.num_text("ts", &t.epoch_decimal());
    }
    r.str("uid", &uid(&src.capture_file, s.flow.id));
    r.id_of(s.flow.orig, s.flow.resp);
    let version = s.negotiated_version();
    if let Some(v) = version {
        r.str("version", &version_name(v));
    }
    let sh = s.server_hello.as_ref().filter(|h| !h.retry);
    if let Some(h) = sh {
        r.str("cipher", &tracehound_decrypt::suites::name(h.cipher));
    }
    r.opt_str("server_name", s.sni());
    let established = s.outcome == TlsOutcome::Completed;
    let resumed = established
        && version.is_some_and(|v| v < 0x0304)
        && s.certificate_frame.is_none()
        && s.certificates.is_empty();
    r.bool("resumed", resumed);
    r.opt_str("last_alert", s.alerts.last().map(|a| a.name.as_str()));
    r.opt_str("next_protocol", sh.and_then(|h| h.alpn.as_deref()));
    r.bool("established", established);
    r.source(src);
    let outcome = serde_json::to_value(s.outcome).ok();
    r.opt_str("th_outcome", outcome.as_ref().and_then(|v| v.as_str()));
    r.opt_count("th_client_hello_frame", s.client_hello.as_ref().map(|h| h.frame));
    if let Some(c) = s.certificates.first() {
        r.str("th_certificate_subject", &c.subject);
        r.str("th_certificate_issuer", &c.issuer);
        r.str("th_certificate_not_after", &c.not_after_iso);
    }
    if !s.certificate_errors.is_empty() {
        r.strs("th_certificate_errors", &s.certificate_errors);
    }
    r
}
