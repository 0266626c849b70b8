//! `dns.failure`: DNS queries that failed: SERVFAIL, REFUSED (and other error rcodes),
//! queries never answered (or answered only after the timeout), and NXDOMAIN.
//!
//! Severity: problem when any query got SERVFAIL / REFUSED / FORMERR / NOTIMP or no timely
//! answer; warning when the only failures are NXDOMAIN (often a search-suffix miss, but also
//! a missing record). Multicast DNS / LLMNR silence is normal and ignored.

use std::collections::{BTreeMap, BTreeSet};

use tracehound_apps::{DnsOutcome, DnsQuery};

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub const ID: &str = "dns.failure";

/// Why one query counts as failed.
fn failure(q: &DnsQuery) -> Option<&'static str> {
    if q.multicast {
        return None;
    }
    match q.outcome {
        DnsOutcome::Unanswered => return Some("no answer"),
        DnsOutcome::Late => return Some("late answer"),
        _ => {}
    }
    match q.rcode {
        Some(0) | None => None,
        Some(2) => Some("SERVFAIL"),
        Some(3) => Some("NXDOMAIN"),
        Some(5) => Some("REFUSED"),
        Some(_) => Some("error"),
    }
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    let failed: Vec<(&DnsQuery, &'static str)> =
        facts.apps.dns.iter().filter_map(|q| failure(q).map(|w| (q, w))).collect();
    if failed.is_empty() {
        return;
    }
    let serious = failed.iter().any(|(_, w)| *w != "NXDOMAIN");
    let mut ev = Evidence::default();
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut servers: BTreeSet<String> = BTreeSet::new();
    let mut flows: BTreeSet<(String, String)> = BTreeSet::new();
    // serious failures first in the evidence lines
    let mut ordered = failed.clone();
    ordered.sort_by_key(|(q, w)| (*w == "NXDOMAIN", q.query_frame.or(q.response_frame)));
    for (q, what) in &ordered {
        let kind = match (*what, &q.rcode_name) {
            ("error", Some(n)) => n.clone(),
            (w, _) => w.to_string(),
        };
        *by_kind.entry(kind.clone()).or_default() += 1;
        names.insert(q.name.clone());
        servers.insert(q.server.to_string());
        if flows.insert((q.client.to_string(), q.server.to_string())) && ev.flows.len() < 20 {
            ev.flows.push(FlowRef::new(q.transport, q.client, q.server));
        }
        ev.add_frames(
            q.query_frame
                .into_iter()
                .chain(q.retransmit_frames.iter().copied())
                .chain(q.response_frame),
        );
        let frame = q.query_frame.or(q.response_frame).unwrap_or(0);
        let tries = if q.retransmissions > 0 {
            format!(", sent {}×", q.retransmissions + 1)
        } else {
            String::new()
        };
        let line = match q.outcome {
            DnsOutcome::Unanswered => {
                format!("frame {frame}: {} {} to {}: no answer{tries}", q.name, q.qtype, q.server)
            }
            DnsOutcome::Late => format!(
                "frame {frame}: {} {} to {}: answered only after {:.1} s ({}){tries}",
                q.name,
                q.qtype,
                q.server,
                q.response_time.unwrap_or(0.0),
                q.rcode_name.as_deref().unwrap_or("?")
            ),
            _ => format!(
                "frame {frame}: {} {} to {} → {} (frame {}, {:.1} ms){tries}",
                q.name,
                q.qtype,
                q.server,
                q.rcode_name.as_deref().unwrap_or("?"),
                q.response_frame.unwrap_or(0),
                q.response_time.unwrap_or(0.0) * 1e3
            ),
        };
        ev.line(line);
    }
    ev.value("failed_queries", failed.len());
    ev.value("queries", facts.apps.dns.len());
    ev.value("by_failure", serde_json::to_value(&by_kind).unwrap_or_default());
    ev.value("names", names.iter().take(50).cloned().collect::<Vec<_>>());
    ev.value("servers", servers.iter().cloned().collect::<Vec<_>>());
    ev.finish();
    let summary = by_kind.iter().map(|(k, n)| format!("{n}× {k}")).collect::<Vec<_>>().join(", ");
    let mut causes = Vec::new();
    let mut steps = Vec::new();
    if by_kind.contains_key("no answer") || by_kind.contains_key("late answer") {
        causes.push(
            "The DNS server is down, overloaded, or not listening on port 53 at that address."
                .into(),
        );
        causes.push("A firewall drops DNS (UDP/TCP 53) between client and server, or the answers on the way back.".into());
        causes.push("The server forwards to an upstream resolver that does not answer.".into());
        steps.push("Query the server directly: `nslookup <name> <server>` / `Resolve-DnsName <name> -Server <server>`; check the DNS Server service and its event log.".into());
        steps.push(
            "Capture on the server side to see whether the queries arrive and answers leave."
                .into(),
        );
    }
    if by_kind.contains_key("SERVFAIL") {
        causes.push("SERVFAIL: the server could not resolve the name (forwarder or root hints unreachable, DNSSEC validation failure, broken delegation, zone not loaded).".into());
        steps.push("On the server: check forwarders / conditional forwarders and the zone; `dnscmd /info`, DNS Server event log; for DNSSEC check the trust anchors and signatures.".into());
    }
    if by_kind.contains_key("REFUSED") {
        causes.push("REFUSED: the server's policy refuses this client or this zone (recursion disabled, zone transfer/ACL or DNS policy restrictions).".into());
        steps.push("Check the server's recursion setting and client ACLs / DNS policies; make sure the client uses the right DNS server (ipconfig /all).".into());
    }
    if by_kind.contains_key("NXDOMAIN") {
        causes.push("NXDOMAIN: the name does not exist in DNS (typo, missing A/SRV record, wrong DNS suffix, stale configuration pointing to a retired name).".into());
        steps.push("Verify the record exists in the authoritative zone (for domain controllers: the _ldap._tcp / _kerberos._tcp SRV records; `dcdiag /test:dns`); check the client's DNS suffix search list.".into());
    }
    if causes.is_empty() {
        causes.push("The server answered with an error code (see the evidence).".into());
        steps.push("Look up the RCODE (RFC 1035 / RFC 6895) and check the server's logs.".into());
    }
    out.push(Finding {
        id: ID,
        severity: if serious { Severity::Problem } else { Severity::Warning },
        title: format!("DNS lookups failed: {summary}"),
        explanation: format!(
            "{} of {} DNS queries in the capture did not get a usable answer ({summary}). Names: {}. Anything that needs these names (domain logon, RPC to a server by name, web services) fails or waits for DNS timeouts before trying something else.",
            failed.len(),
            facts.apps.dns.len(),
            names.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ),
        likely_causes: causes,
        next_steps: steps,
        evidence: ev,
        weight: if serious { 70 } else { 30 },
    });
}

#[cfg(test)]
mod thresholds;
