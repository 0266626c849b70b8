//! `app.protocol_mismatch`: the wrong protocol on a port — TLS spoken to a plain-text
//! service, HTTP to an SSH or TLS port, LDAP in clear to the LDAPS port — judged from the
//! first bytes each side sent and what the server did then (answered in its own protocol,
//! reset, closed).

use tracehound_flows::Dir;

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub const ID: &str = "app.protocol_mismatch";

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let ms = &facts.apps.auth.mismatches;
    if ms.is_empty() {
        return;
    }
    let mut ev = Evidence::default();
    let mut kinds: Vec<String> = Vec::new();
    for m in ms {
        let conv = facts.conversation(m.flow_id);
        let ending = match conv {
            Some(c) => match c.rst_frames.first() {
                Some((f, Dir::Resp)) => format!("the server reset the connection (frame {f})"),
                Some((f, Dir::Orig)) => format!("the client reset the connection (frame {f})"),
                None => "the connection was closed".to_string(),
            },
            None => "the connection ended".to_string(),
        };
        let f = FlowRef::new(tracehound_flows::Proto::Tcp, m.client, m.server);
        if !ev.flows.contains(&f) && ev.flows.len() < 20 {
            ev.flows.push(f);
        }
        ev.add_frames(
            [m.frame].into_iter().chain(conv.and_then(|c| c.rst_frames.first().map(|r| r.0))),
        );
        ev.line(format!(
            "frame {}: {} → {}: client sent {}, server {}: {}; {ending}",
            m.frame,
            m.client,
            m.server,
            m.client_spoke,
            if m.server_spoke == "nothing" {
                "sent nothing".to_string()
            } else {
                format!("answered {}", m.server_spoke)
            },
            m.what
        ));
        let k = format!("{} to port {}", m.client_spoke, m.server.port());
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    ev.value("connections", ms.len());
    ev.value("kinds", kinds.clone());
    ev.finish();
    out.push(Finding {
        id: ID,
        severity: Severity::Problem,
        title: format!("Wrong protocol on a port: {}", kinds.join(", ")),
        explanation: format!(
            "{} connection(s) spoke a different protocol than the server on that port ({}). Such a connection can never work: the client is configured with the wrong scheme (https:// vs http://, ldaps vs ldap) or the wrong port, or something else now listens on that port.",
            ms.len(),
            kinds.join(", ")
        ),
        likely_causes: vec![
            "The client uses the wrong scheme or port (https:// to a plain-HTTP port, http:// to a TLS port, ldap:// to 636).".into(),
            "A different service now listens on that port (a proxy, an SSH server, a plain-text listener where TLS was expected).".into(),
        ],
        next_steps: vec![
            "Check the URL / connection string on the client against the server's listeners (`netstat -abno` on the server, `Get-NetTCPConnection -LocalPort <port>`).".into(),
            "For TLS services, test with `openssl s_client -connect host:port`; for plain ones, with `curl -v http://host:port/`.".into(),
        ],
        evidence: ev,
        weight: 74,
    });
}

#[cfg(test)]
mod thresholds;
