//! `tcp.scan` and `tcp.syn_flood` at their numbers: [`SCAN_PORTS`] distinct ports or
//! [`SCAN_HOSTS`] distinct hosts from one source; [`FLOOD_ATTEMPTS`] attempts from
//! [`FLOOD_SOURCES`] sources at [`FLOOD_RATE`] per second, half of them single SYNs. The
//! attempts a scan or flood explains are left out of `tcp.connect_*`.

use std::net::{IpAddr, SocketAddr};

use tracehound_flows::{AttemptSummary, Conversation};

use super::{check, FLOOD_ATTEMPTS, FLOOD_RATE, FLOOD_SOURCES, SCAN_HOSTS, SCAN_PORTS};
use crate::testkit::{attempt, Kit};
use crate::Severity::{self, Problem, Warning};

fn scanner() -> IpAddr {
    [10, 0, 9, 9].into()
}

/// One attempt from the scanner to each (host, port).
fn sweep(targets: impl Iterator<Item = (IpAddr, u16)>) -> Vec<Conversation> {
    targets
        .enumerate()
        .map(|(i, (h, p))| {
            let src = SocketAddr::new(scanner(), 40000 + i as u16);
            attempt(i as u64 + 1, src, SocketAddr::new(h, p), 1, i as f64 * 0.001)
        })
        .collect()
}

fn ports(n: u16) -> Vec<Conversation> {
    sweep((1..=n).map(|p| (IpAddr::from([10, 0, 0, 2]), p)))
}

fn hosts(n: u8) -> Vec<Conversation> {
    sweep((1..=n).map(|h| (IpAddr::from([10, 0, 1, h]), 445)))
}

fn sev(convs: Vec<Conversation>, id: &str) -> Vec<Severity> {
    let mut k = Kit::new();
    k.convs = convs;
    k.sev(check, id)
}

#[test]
fn a_scan_from_scan_ports_distinct_ports() {
    assert_eq!(SCAN_PORTS, 100);
    assert!(sev(ports(99), "tcp.scan").is_empty());
    assert_eq!(sev(ports(100), "tcp.scan"), [Warning]);
    assert_eq!(sev(ports(101), "tcp.scan"), [Warning]);
}

#[test]
fn a_sweep_from_scan_hosts_distinct_hosts() {
    assert_eq!(SCAN_HOSTS, 50);
    assert!(sev(hosts(49), "tcp.scan").is_empty());
    assert_eq!(sev(hosts(50), "tcp.scan"), [Warning]);
}

#[test]
fn the_engines_summary_is_used_when_present() {
    // Conversations not kept still count: the summary carries all 100 ports.
    let all = ports(100);
    let mut s = AttemptSummary::default();
    for c in &all {
        s.add(c);
    }
    let mut k = Kit::new();
    k.convs = all.into_iter().take(10).collect();
    k.capture.attempts = Some(s);
    assert_eq!(k.sev(check, "tcp.scan"), [Warning]);
}

#[test]
fn attempts_of_a_scan_are_not_connection_failures() {
    let unanswered = |convs: Vec<Conversation>| {
        let mut k = Kit::new();
        k.convs = convs;
        k.sev(super::super::tcp_connect::check, "tcp.connect_unanswered").len()
    };
    assert_eq!(unanswered(ports(99)), 99);
    assert_eq!(unanswered(ports(100)), 0);
}

/// `attempts` attempts to 10.0.0.2:80 from `sources` sources (round robin), the first at 0 s
/// and the last at `span` s, `single` of them a single SYN (the others retransmitted once).
fn flood(attempts: u64, sources: u64, span: f64, single: u64) -> Vec<Conversation> {
    let svc: SocketAddr = "10.0.0.2:80".parse().unwrap();
    (0..attempts)
        .map(|i| {
            let s = i % sources;
            let src = SocketAddr::new(
                [10, 1, (s / 250) as u8, (s % 250) as u8 + 1].into(),
                1024 + (i / sources) as u16,
            );
            let t = if i + 1 == attempts { span } else { i as f64 * 0.001 };
            attempt(i + 1, src, svc, if i < single { 1 } else { 2 }, t)
        })
        .collect()
}

const FLOOD: &str = "tcp.syn_flood";

#[test]
fn a_flood_from_flood_attempts() {
    assert_eq!(FLOOD_ATTEMPTS, 1000);
    assert!(sev(flood(999, 100, 10.0, 999), FLOOD).is_empty());
    assert_eq!(sev(flood(1000, 100, 10.0, 1000), FLOOD), [Problem]);
}

#[test]
fn a_flood_from_flood_sources() {
    assert_eq!(FLOOD_SOURCES, 100);
    assert!(sev(flood(1000, 99, 10.0, 1000), FLOOD).is_empty());
    assert_eq!(sev(flood(1000, 100, 10.0, 1000), FLOOD), [Problem]);
}

#[test]
fn a_flood_from_flood_rate_per_second() {
    assert_eq!(FLOOD_RATE, 50.0);
    assert_eq!(sev(flood(1000, 100, 19.5, 1000), FLOOD), [Problem]);
    assert_eq!(sev(flood(1000, 100, 20.0, 1000), FLOOD), [Problem], "exactly 50/s");
    assert!(sev(flood(1000, 100, 20.5, 1000), FLOOD).is_empty(), "48.8/s");
}

#[test]
fn a_flood_needs_half_single_syns() {
    assert_eq!(sev(flood(1000, 100, 10.0, 500), FLOOD), [Problem]);
    assert!(sev(flood(1000, 100, 10.0, 499), FLOOD).is_empty(), "real clients retransmit");
}
