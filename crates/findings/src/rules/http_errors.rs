//! `http.errors`: HTTP 4xx / 5xx answers per server, host and path, with counts and the first
//! and last frame; 401 Negotiate / NTLM loops that never complete (credentials sent and still
//! refused); 407 from proxies; 502 / 503 / 504 from load balancers and proxies, with who
//! answered (`Server`, `Via`).
//!
//! Severity: problem for 5xx, 407 and 401 loops; warning for other 4xx. A 401 that answers a
//! request without credentials (the challenge leg) is normal and not counted unless the
//! client never went on.

use std::collections::{BTreeMap, BTreeSet};

use tracehound_apps::auth::{AuthEvent, AuthProto};

use super::auth::{add_events, who, Followups};
use super::Facts;
use crate::{Evidence, Finding, Severity, Text};

pub const ID: &str = "http.errors";

struct Group<'a> {
    evs: Vec<&'a AuthEvent>,
}

fn advice(code: i64, loop_: bool) -> (Text, Text) {
    let (c, s): (&str, &str) = match code {
        401 if loop_ => ("The client sends credentials (NTLM / Negotiate) and the server refuses them again and again: wrong password, the account lacks access, Kerberos failing (missing SPN for the site's name) with NTLM disabled, or a proxy / load balancer breaking NTLM's connection-bound handshake.", "Check the server's log for the 401 sub-status (IIS: 401.1 / 401.2), the SPN for the host name (`setspn -Q HTTP/<host>`), and that NTLM legs stay on one connection through the load balancer."),
        401 => ("The server asks for credentials the client did not send.", "Check that the client is configured to authenticate to this site (intranet zone, credentials)."),
        403 => ("The server refuses access to this path for this client or account (ACLs, IP restrictions, TLS client certificate required).", "Check the server's authorization rules for the path and the account."),
        404 => ("The path does not exist on this server (wrong URL, application not deployed, wrong virtual host).", "Check the URL, the Host header and the deployed application."),
        407 => ("A proxy requires authentication and the client did not (or could not) authenticate to it.", "Configure proxy credentials / integrated authentication for the client, or exempt this destination from the proxy."),
        502 | 504 => ("A proxy or load balancer could not get a (timely) answer from the server behind it: the back end is down, too slow, or unreachable from the proxy.", "Check the back-end server the proxy forwards to (named by Server / Via in the evidence) and the proxy's log."),
        503 => ("The service is unavailable: application pool stopped, overloaded, maintenance mode, or no healthy back end behind a load balancer.", "Check the application pool / service status and its log; for load balancers, the health of the back-end pool."),
        500..=599 => ("The application failed while handling the request.", "Check the application's error log at the times of the evidence frames."),
        _ => ("The server rejected the request.", "Check the request (URL, method, headers) against what the server expects."),
    };
    (c.into(), s.into())
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let all = &facts.apps.auth.events;
    let mut groups: BTreeMap<(std::net::SocketAddr, String, i64), Group> = BTreeMap::new();
    for e in all.iter().filter(|e| e.proto == AuthProto::Http && !e.ok) {
        let code = e.code.unwrap_or(0);
        // a challenge leg the client followed up is normal
        if e.leg && followed_on(facts, e) {
            continue;
        }
        let path = e.service.clone().unwrap_or_default();
        groups.entry((e.server, path, code)).or_insert(Group { evs: Vec::new() }).evs.push(e);
    }
    if groups.is_empty() {
        return;
    }
    let mut ev = Evidence::default();
    let mut by_code: BTreeMap<i64, usize> = BTreeMap::new();
    let (mut causes, mut steps) = (Vec::new(), Vec::new());
    let mut serious = false;
    let mut servers: BTreeSet<String> = BTreeSet::new();
    let followups = Followups::new(facts);
    for ((server, path, code), g) in &groups {
        let (first, last) = (g.evs.first().copied(), g.evs.last().copied());
        let (Some(first), Some(last)) = (first, last) else { continue };
        let creds = g.evs.iter().any(|e| !e.leg && (e.account.is_some() || e.mech.is_some()));
        let loop_ = *code == 401 && creds && !followups.after(last).1;
        serious |= *code >= 500 || *code == 407 || loop_;
        *by_code.entry(*code).or_default() += g.evs.len();
        servers.insert(server.to_string());
        add_events(&mut ev, &g.evs);
        let mut l = format!(
            "{} {} on {server}{}: {}× (frames {}–{})",
            last.code_name,
            last.op,
            if path.is_empty() { String::new() } else { format!(" for {path}") },
            g.evs.len(),
            first.frame,
            last.frame
        );
        if loop_ {
            l.push_str(&format!(
                "; credentials sent by {} and refused every time: a 401 loop",
                who(last)
            ));
        }
        if let Some(d) = &last.detail {
            l.push_str(&format!("; {d}"));
        }
        ev.line(l);
        let (c, s) = advice(*code, loop_);
        if !causes.contains(&c) {
            causes.push(c);
            steps.push(s);
        }
    }
    let total: usize = by_code.values().sum();
    let summary = by_code.iter().map(|(k, n)| format!("{n}× {k}")).collect::<Vec<_>>().join(", ");
    ev.value("errors", total);
    ev.value(
        "by_status",
        serde_json::to_value(
            by_code.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        )
        .unwrap_or_default(),
    );
    ev.value("servers", servers.iter().cloned().collect::<Vec<_>>());
    ev.finish();
    out.push(Finding {
        id: ID,
        severity: if serious { Severity::Problem } else { Severity::Warning },
        title: format!("HTTP errors: {summary}"),
        explanation: format!(
            "{} an error answer ({summary}) from {}. The evidence lists each host and path with its count and first / last frame, and who answered (Server / Via) when the server said.",
            super::util::plural(total, "HTTP request got", "HTTP requests got"),
            servers.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        likely_causes: causes,
        next_steps: steps,
        evidence: ev,
        weight: if serious { 62 } else { 30 },
    });
}

/// Did the client answer this challenge (a later request with credentials to the same URL,
/// answered or not)?
fn followed_on(facts: &Facts, e: &AuthEvent) -> bool {
    let Some(url) = &e.service else { return false };
    facts.apps.auth.credentials_after(e.client.ip(), url, e.frame)
}

#[cfg(test)]
mod thresholds;
