//! One rule per file. Each exposes `pub fn check(facts: &Facts, out: &mut Vec<Finding>)`.

pub use crate::facts::Facts;
use crate::Finding;

pub mod answer;
pub mod auth;
mod capture;
pub mod coverage;
pub mod dns;
mod http_errors;
mod kerberos;
mod ldap;
pub mod no_response;
mod ntlm;
mod offload;
mod protocol_mismatch;
mod rdp;
mod rpc_advice;
mod rpc_endpoints;
mod rpc_http;
mod rpc_refused;
mod rpc_zerologon;
mod scan;
pub mod slow_responder;
mod smb_auth;
mod tcp_connect;
mod tcp_inject;
mod tcp_loss;
mod tcp_mtu;
mod tcp_nagle;
mod tcp_reset;
mod tcp_window;
pub mod tls;
pub mod tls_decrypt;
pub mod tls_refused;
pub mod util;
pub mod windows;

/// A rule: a name (its finding family) and its check function.
pub struct Rule {
    pub name: &'static str,
    pub check: fn(&Facts, &mut Vec<Finding>),
}

/// Every rule, in no particular order (the report sorts findings).
pub fn all() -> Vec<Rule> {
    // The costliest first, so that the two threads of `evaluate` start on them.
    vec![
        Rule { name: "app.slow_responder", check: slow_responder::check },
        Rule { name: "tls.certificate_expired", check: tls::check_expired },
        Rule { name: "tcp.connect", check: tcp_connect::check },
        Rule { name: "rpc.endpoints", check: rpc_endpoints::check },
        Rule { name: "rpc.refused", check: rpc_refused::check },
        Rule { name: "rpc.zerologon", check: rpc_zerologon::check },
        Rule { name: "rpc.http_tunnel", check: rpc_http::check },
        Rule { name: "tcp.loss", check: tcp_loss::check },
        Rule { name: "tcp.zero_window", check: tcp_window::check },
        Rule { name: "tcp.scan", check: scan::check },
        Rule { name: "tcp.injected_data", check: tcp_inject::check },
        Rule { name: "tcp.reset", check: tcp_reset::check },
        Rule { name: "tcp.nagle_delayed_ack", check: tcp_nagle::check },
        Rule { name: "tcp.mtu", check: tcp_mtu::check },
        Rule { name: "capture", check: capture::check },
        Rule { name: "capture.coverage", check: coverage::check },
        Rule { name: "app.no_response", check: no_response::check },
        Rule { name: "dns.failure", check: dns::check },
        Rule { name: "tls.handshake_failure", check: tls::check_handshake },
        Rule { name: "tls.certificate_mismatch", check: tls::check_mismatch },
        Rule { name: "tls.client_refused", check: tls_refused::check },
        Rule { name: "tls.not_decryptable", check: tls_decrypt::check },
        Rule { name: "kerberos.failure", check: kerberos::check },
        Rule { name: "ntlm.failure", check: ntlm::check },
        Rule { name: "ldap.bind_failure", check: ldap::check_bind },
        Rule { name: "ldap.error", check: ldap::check_error },
        Rule { name: "smb.auth_failure", check: smb_auth::check_auth },
        Rule { name: "smb.access_denied", check: smb_auth::check_denied },
        Rule { name: "http.errors", check: http_errors::check },
        Rule { name: "app.protocol_mismatch", check: protocol_mismatch::check },
        Rule { name: "rdp.negotiation_failure", check: rdp::check },
        Rule { name: "auth.patterns", check: auth::check },
        Rule { name: "windows.packet_dropped", check: windows::check },
    ]
}

#[cfg(test)]
mod tests;
