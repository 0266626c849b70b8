//! Records as JSON rows: the same serializers as the `--json` output, plus the Zeek `uid`
//! where a record belongs to a connection. TLS sessions have no `--json` of their own: their
//! row is defined here ([`tls_row`]).

use std::io;

use serde_json::json;
use tracehound_apps::tls::{Side, TlsOutcome, TlsSession};
use tracehound_findings::Finding;
use tracehound_flows::{Conversation, Proto};
use tracehound_report::conversations::{write_json_with, ProcessRef};
use tracehound_rpc::endpoints::EndpointReport;
use tracehound_rpc::Call;

use crate::zeek::uid::uid;

/// Add `"key":value` (value already JSON) at the end of the JSON object in `buf`.
pub fn append_field(buf: &mut Vec<u8>, key: &str, value_json: &[u8]) {
    while buf.last().is_some_and(|b| b.is_ascii_whitespace()) {
        buf.pop();
    }
    if buf.last() != Some(&b'}') {
        return;
    }
    buf.pop();
    if buf.last() != Some(&b'{') {
        buf.push(b',');
    }
    buf.push(b'"');
    buf.extend_from_slice(key.as_bytes());
    buf.extend_from_slice(b"\":");
    buf.extend_from_slice(value_json);
    buf.push(b'}');
}

fn json_str(s: &str) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_else(|_| b"null".to_vec())
}

/// A conversation as `conversations --json` writes it (with the TLS verdict `tls` when
/// given), plus `uid`.
pub fn conversation_row(
    c: &Conversation,
    capture_file: &str,
    process: Option<ProcessRef<'_>>,
    tls: Option<&serde_json::Value>,
) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1536);
    write_json_with(&mut buf, c, capture_file, process)?;
    if let Some(t) = tls {
        append_field(&mut buf, "tls", &serde_json::to_vec(t)?);
    }
    append_field(&mut buf, "uid", &json_str(&uid(capture_file, c.info.id)));
    Ok(buf)
}

/// A call as `rpc --json` writes it, plus `uid` (when the call's connection is known).
pub fn call_row(c: &Call, capture_file: &str) -> io::Result<Vec<u8>> {
    let mut buf = serde_json::to_vec(c)?;
    if let Some(f) = c.flow {
        append_field(&mut buf, "uid", &json_str(&uid(capture_file, f)));
    }
    Ok(buf)
}

/// An endpoint handed out, as `rpc --endpoints --json` writes it.
pub fn endpoint_row(e: &EndpointReport) -> io::Result<Vec<u8>> {
    Ok(serde_json::to_vec(e)?)
}

/// A finding as `analyze --json` writes it.
pub fn finding_row(f: &Finding) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(2048);
    tracehound_report::findings::write_json(&mut buf, f)?;
    Ok(buf)
}

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    }
}

/// A TLS session (handshake facts of one TLS connection) as a row of `tls_sessions`.
pub fn tls_row(s: &TlsSession, capture_file: &str) -> io::Result<Vec<u8>> {
    let ch = s.client_hello.as_ref();
    let sh = s.server_hello.as_ref();
    let leaf = s.certificates.first();
    let ts = ch.map(|h| h.ts).or(sh.map(|h| h.ts));
    let alerts: Vec<serde_json::Value> = s
        .alerts
        .iter()
        .map(|a| {
            json!({
                "frame": a.frame,
                "from": side(a.from),
                "level": a.level,
                "description": a.description,
                "name": a.name,
                "encrypted": a.encrypted,
            })
        })
        .collect();
    let mut names: Vec<String> = leaf.map(|c| c.san_dns.clone()).unwrap_or_default();
    if let Some(c) = leaf {
        names.extend(c.san_ip.iter().map(|a| a.to_string()));
    }
    let v = json!({
        "uid": uid(capture_file, s.flow.id),
        "proto": proto_name(s.flow.proto),
        "src": s.flow.orig.ip().to_string(),
        "sport": s.flow.orig.port(),
        "dst": s.flow.resp.ip().to_string(),
        "dport": s.flow.resp.port(),
        "sni": s.sni(),
        "client_version": ch.map(|h| tracehound_proto::tls::version_name(h.max_version())),
        "version": s.negotiated_version().map(tracehound_proto::tls::version_name),
        "cipher": sh.filter(|h| !h.retry).map(|h| tracehound_decrypt::suites::name(h.cipher)),
        "alpn_offered": ch.map(|h| h.alpn.clone()),
        "alpn": sh.and_then(|h| h.alpn.clone()),
        "hello_retry": s.hello_retry.is_some(),
        "outcome": s.outcome,
        "established": s.outcome == TlsOutcome::Completed,
        "client_hello_frame": ch.map(|h| h.frame),
        "server_hello_frame": sh.map(|h| h.frame),
        "certificate_frame": s.certificate_frame,
        "certificate_subject": leaf.map(|c| c.subject.clone()),
        "certificate_issuer": leaf.map(|c| c.issuer.clone()),
        "certificate_names": leaf.map(|_| names),
        "certificate_not_before": leaf.map(|c| c.not_before_iso.clone()),
        "certificate_not_after": leaf.map(|c| c.not_after_iso.clone()),
        "certificate_chain_length": s.certificates.len(),
        "certificate_errors": s.certificate_errors,
        "alerts": alerts,
        "last_alert": s.alerts.last().map(|a| a.name.clone()),
        "client_bytes": s.bytes[0],
        "server_bytes": s.bytes[1],
        "client_app_data_records": s.app_data_records[0],
        "server_app_data_records": s.app_data_records[1],
        "lost_sync": s.lost_sync,
        "server_not_tls": s.server_not_tls,
    });
    let mut buf = serde_json::to_vec(&v)?;
    if let Some(t) = ts {
        append_field(&mut buf, "ts", t.epoch_decimal().as_bytes());
    }
    Ok(buf)
}

fn side(s: Side) -> &'static str {
    match s {
        Side::Client => "client",
        Side::Server => "server",
    }
}

#[cfg(test)]
mod tests {
    use super::append_field;

    #[test]
    fn append() {
        let mut b = b"{\"a\":1}".to_vec();
        append_field(&mut b, "uid", b"\"C1\"");
        assert_eq!(b, b"{\"a\":1,\"uid\":\"C1\"}");
        let mut e = b"{}".to_vec();
        append_field(&mut e, "x", b"2");
        assert_eq!(e, b"{\"x\":2}");
    }
}
