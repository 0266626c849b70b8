//! `tcp.scan` (one source, many ports or hosts) and `tcp.syn_flood` (many sources, one
//! service), from the connection attempts of the capture: flows that carried SYNs and at most
//! their answers (nothing, a reset, or a SYN-ACK the scanner reset), no data.
//!
//! The counts come from [`AttemptSummary`]: the engine's own (every attempt of the pass,
//! also those whose conversations were not kept) when the facts carry it, otherwise one built
//! from the kept conversations.
//!
//! Thresholds: a scan is a source whose attempts reached at least [`SCAN_PORTS`] distinct
//! ports or [`SCAN_HOSTS`] distinct hosts; a flood is a service that got at least
//! [`FLOOD_ATTEMPTS`] attempts from at least [`FLOOD_SOURCES`] sources at
//! [`FLOOD_RATE`] per second or more, most of them a single SYN never retransmitted (what
//! spoofed sources send; real clients retransmit an unanswered SYN).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::IpAddr;

use tracehound_flows::{AttemptSummary, ServiceAttempts, SourceAttempts};

use super::util::{plural, port_desc};
use super::Facts;
use crate::{Evidence, Finding, Severity};

pub const SCAN_PORTS: usize = 100;
pub const SCAN_HOSTS: usize = 50;
pub const FLOOD_ATTEMPTS: u64 = 1000;
pub const FLOOD_SOURCES: usize = 100;
pub const FLOOD_RATE: f64 = 50.0;
/// Findings of each kind at most (the largest first); the rest are counted in the last one.
const MAX_FINDINGS: usize = 5;

/// The attempt summary of the capture: the engine's (every attempt of the pass) when the
/// facts carry it, else one built from the kept conversations.
pub fn summary<'a>(f: &'a Facts) -> Cow<'a, AttemptSummary> {
    if let Some(s) = f.capture.attempts.as_ref() {
        return Cow::Borrowed(s);
    }
    let mut s = AttemptSummary::default();
    for c in f.conversations {
        s.add(c);
    }
    Cow::Owned(s)
}

fn is_scan(s: &SourceAttempts) -> bool {
    s.ports.count() >= SCAN_PORTS || s.hosts.count() >= SCAN_HOSTS
}

fn is_flood(s: &ServiceAttempts) -> bool {
    let span = (s.last_ts - s.first_ts).max(1.0);
    s.counts.attempts >= FLOOD_ATTEMPTS
        && s.sources() >= FLOOD_SOURCES
        && s.counts.attempts as f64 / span >= FLOOD_RATE
        && s.counts.single_syn * 2 >= s.counts.attempts
}

/// Sources that scanned and services that were flooded: their attempts are explained here,
/// so `tcp.connect_*` leaves them out.
pub fn explained(s: &AttemptSummary) -> (BTreeSet<IpAddr>, BTreeSet<(IpAddr, u16)>) {
    let src = s.by_source.iter().filter(|(_, a)| is_scan(a)).map(|(ip, _)| *ip).collect();
    let svc = s.by_service.iter().filter(|(_, a)| is_flood(a)).map(|(k, _)| *k).collect();
    (src, svc)
}

pub fn check(f: &Facts, out: &mut Vec<Finding>) {
    let s = summary(f);
    scans(f, &s, out);
    floods(f, &s, out);
}

fn scans(f: &Facts, s: &AttemptSummary, out: &mut Vec<Finding>) {
    let mut v: Vec<(&IpAddr, &SourceAttempts)> =
        s.by_source.iter().filter(|(_, a)| is_scan(a)).collect();
    v.sort_by(|a, b| b.1.counts.attempts.cmp(&a.1.counts.attempts).then(a.0.cmp(b.0)));
    let more = v.len().saturating_sub(MAX_FINDINGS);
    for (ip, a) in v.into_iter().take(MAX_FINDINGS) {
        let c = &a.counts;
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        ev.add_frames(a.frames.iter().copied());
        let mut open: Vec<(IpAddr, u16)> = a.open.iter().copied().collect();
        open.sort_unstable();
        let hosts = bound(a.hosts.count(), a.hosts.overflow);
        let ports = bound(a.ports.count(), a.ports.overflow);
        ev.line(format!(
            "{ip}: {} SYNs to {ports} distinct ports on {hosts} {} over {:.1} s",
            c.attempts,
            if hosts == "1" { "host" } else { "hosts" },
            a.last_ts - a.first_ts
        ));
        ev.line(format!(
            "answers: {} SYN-ACK (open), {} reset (closed), {} nothing (filtered or down)",
            c.answered, c.rejected, c.unanswered
        ));
        if !open.is_empty() {
            let list: Vec<String> = open.iter().take(20).map(|(h, p)| format!("{h}:{p}")).collect();
            ev.line(format!(
                "open: {}{}",
                list.join(", "),
                if open.len() > 20 { " …" } else { "" }
            ));
        }
        let mut targets: Vec<&IpAddr> = a.hosts.iter().collect();
        targets.sort_unstable();
        if let Some(t) = targets.first() {
            ev.line(format!(
                "targets: {}{}",
                targets.iter().take(5).map(|t| t.to_string()).collect::<Vec<_>>().join(", "),
                if targets.len() > 5 {
                    format!(" and {} more", targets.len() - 5)
                } else {
                    String::new()
                }
            ));
            ev.value("first_target", t.to_string());
        }
        ev.value("source", ip.to_string());
        ev.value("attempts", c.attempts);
        ev.value("hosts", a.hosts.count());
        ev.value("ports", a.ports.count());
        ev.value("open", c.answered);
        ev.value("closed", c.rejected);
        ev.value("unanswered", c.unanswered);
        if more > 0 {
            ev.line(format!("{} more scanning sources not shown", more));
        }
        ev.finish();
        let many_hosts = a.hosts.count() >= SCAN_HOSTS;
        out.push(Finding {
            id: "tcp.scan",
            severity: Severity::Warning,
            title: format!(
                "{ip} scanned {} on {}",
                plural(a.ports.count(), "port", "ports"),
                plural(a.hosts.count(), "host", "hosts")
            ),
            explanation: format!(
                "{ip} sent {} SYNs to {ports} ports on {hosts} {} without sending data on any of them: a port scan{}. \
{} answered (open), {} were refused with a reset (closed), {} got no answer (filtered, or no host). \
These failed attempts are the scan itself, not a connectivity problem of a service.",
                c.attempts,
                if a.hosts.count() == 1 { "host" } else { "hosts" },
                if many_hosts { " across hosts (a sweep)" } else { "" },
                c.answered,
                c.rejected,
                c.unanswered,
            ),
            likely_causes: vec![
                "a vulnerability scanner or inventory tool (nmap, Nessus, Qualys, an EDR or NAC agent)".into(),
                "malware or an intruder looking for services (lateral movement)".into(),
            ],
            next_steps: vec![
                format!("Find out who runs {ip} and whether the scan is expected (change ticket, security team).").into(),
                "If it is not expected, treat it as a security incident: isolate the host and check it.".into(),
            ],
            evidence: ev,
            weight: 55,
        });
    }
}

fn floods(f: &Facts, s: &AttemptSummary, out: &mut Vec<Finding>) {
    let mut v: Vec<(&(IpAddr, u16), &ServiceAttempts)> =
        s.by_service.iter().filter(|(_, a)| is_flood(a)).collect();
    v.sort_by(|a, b| b.1.counts.attempts.cmp(&a.1.counts.attempts).then(a.0.cmp(b.0)));
    for ((ip, port), a) in v.into_iter().take(MAX_FINDINGS) {
        let c = &a.counts;
        let span = (a.last_ts - a.first_ts).max(0.0);
        let rate = c.attempts as f64 / span.max(1.0);
        let sources = bound(a.sources(), a.sources_overflow);
        let mut ev = Evidence { file: Some(f.file.to_string()), ..Default::default() };
        ev.add_frames(a.frames.iter().copied());
        ev.line(format!(
            "{} SYNs to {ip}:{port} from {sources} sources over {span:.1} s ({rate:.0} per second)",
            c.attempts
        ));
        ev.line(format!(
            "{} single SYNs never retransmitted; answers: {} SYN-ACK, {} reset, {} nothing",
            c.single_syn, c.answered, c.rejected, c.unanswered
        ));
        let top = a.top_sources(10);
        ev.line(format!(
            "top sources: {}",
            top.iter().map(|(s, n)| format!("{s} ({n})")).collect::<Vec<_>>().join(", ")
        ));
        ev.value("address", ip.to_string());
        ev.value("port", *port);
        ev.value("attempts", c.attempts);
        ev.value("sources", a.sources());
        ev.value("per_second", (rate * 10.0).round() / 10.0);
        ev.value("single_syn", c.single_syn);
        ev.value(
            "top_sources",
            top.iter()
                .map(|(s, n)| serde_json::json!({"source": s.to_string(), "attempts": n}))
                .collect::<Vec<_>>(),
        );
        ev.finish();
        out.push(Finding {
            id: "tcp.syn_flood",
            severity: Severity::Problem,
            title: format!("SYN flood: {} SYNs to {ip}:{port} from {sources} sources", c.attempts),
            explanation: format!(
                "{ip} on {} got {} connection attempts in {span:.1} s ({rate:.0} per second) from {sources} addresses, \
{} of them a single SYN that was never retransmitted and never followed by data. Real clients retransmit an unanswered SYN; \
one SYN per address and port is what a SYN flood with spoofed sources sends. {} were answered with a SYN-ACK, {} reset, {} got nothing.",
                port_desc(*port),
                c.attempts,
                c.single_syn,
                c.answered,
                c.rejected,
                c.unanswered,
            ),
            likely_causes: vec![
                "a denial-of-service attack (SYN flood, usually with spoofed source addresses)".into(),
                "a misbehaving load generator or health checker".into(),
            ],
            next_steps: vec![
                "Check the server's SYN backlog and SYN cookies (Linux: `nstat -az TcpExtSyncookiesSent TcpExtListenOverflows`; Windows: `netstat -s -p tcp`).".into(),
                "Filter or rate-limit upstream (firewall, DDoS protection); the top sources are in the evidence.".into(),
            ],
            evidence: ev,
            weight: 85,
        });
    }
}

/// "123" or "at least 123" when a bounded set overflowed.
fn bound(n: usize, overflow: bool) -> String {
    if overflow {
        format!("at least {n}")
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod thresholds;
