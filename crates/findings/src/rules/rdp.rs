//! `rdp.negotiation_failure`: the RDP server answered the client's X.224 Connection Request
//! with RDP_NEG_FAILURE (SSL_REQUIRED_BY_SERVER, HYBRID_REQUIRED_BY_SERVER (NLA),
//! SSL_NOT_ALLOWED_BY_SERVER, SSL_CERT_NOT_ON_SERVER …), with what the client offered and
//! whether it came back with something that worked.

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::auth::{grouped, is_failure, Spec};
use super::Facts;
use crate::{Finding, Severity, Text};

pub const ID: &str = "rdp.negotiation_failure";

fn advice(e: &AuthEvent) -> (Text, Text) {
    let (c, s): (&str, &str) = match e.code {
        Some(1) => ("The server requires TLS but the client offered only standard RDP security (an old client or one forced to RDP security).", "Update the client or allow TLS in its settings; or lower the server's Security Layer (not recommended)."),
        Some(2) => ("The server allows only standard RDP security but the client asked for TLS / NLA.", "Set the server's Security Layer to Negotiate or SSL (Remote Desktop Session Host settings / GPO)."),
        Some(3) => ("The server has no usable certificate for TLS.", "Check the RDP certificate on the server (Remote Desktop Configuration / `Win32_TSGeneralSetting`), renew it."),
        Some(5) => ("The server requires Network Level Authentication (CredSSP) and the client did not offer it.", "Use a client that supports NLA (enable CredSSP), or disable 'Require NLA' on the server if policy allows."),
        _ => ("The server refused the client's requested security protocols.", "Compare the client's offered protocols (evidence) with the server's Security Layer and NLA settings."),
    };
    (c.into(), s.into())
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let evs: Vec<&AuthEvent> =
        all.iter().filter(|e| e.proto == AuthProto::Rdp && is_failure(e)).collect();
    let spec = Spec {
        id: ID,
        what: "RDP negotiations",
        explain: "The RDP server refused the security protocols the client offered in its connection request (MS-RDPBCGR RDP_NEG_FAILURE).",
        advice,
        severity: Severity::Problem,
        weight: 74,
    };
    let key = |e: &AuthEvent| format!("{}|{:?}|{}", e.code_name, e.mech, e.server.ip());
    out.extend(grouped(facts, &evs, key, &spec));
}

#[cfg(test)]
mod thresholds;
