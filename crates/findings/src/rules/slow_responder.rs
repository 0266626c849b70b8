//! `app.slow_responder`: requests that wait long for their answer, split into network round
//! trip and server think time.
//!
//! For every request/response transaction (HTTP, LDAP, SMB2 from `facts.apps`, DCE/RPC
//! calls from `facts.rpc`) the wait is `first response byte − last request byte` (for
//! DCE/RPC: the call's `rtt`, request to response). The network part is the TCP handshake
//! round trip of the same connection (`handshake_rtt`, else `syn_to_synack`); the rest is
//! server think time. Per server and protocol:
//!
//! - fires when at least [`MIN_TRANSACTIONS`] answered transactions have a median wait of at
//!   least [`MIN_MEDIAN_WAIT`] (100 ms): healthy LAN servers answer in a few ms;
//! - names the server as slow when the median think time is at least half the median wait,
//!   else the network (the round trip itself is long);
//! - severity warning, problem when the median wait reaches [`PROBLEM_MEDIAN_WAIT`] (1 s).
//!
//! Long-poll requests (SMB2 CHANGE_NOTIFY) wait by design and are left out.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;
use std::net::SocketAddr;

use tracehound_apps::txn::Histogram;
use tracehound_flows::{Conversation, Proto};

use super::Facts;
use crate::{Evidence, Finding, FlowRef, Severity};

pub const ID: &str = "app.slow_responder";
/// Answered transactions needed per server before judging.
pub const MIN_TRANSACTIONS: u64 = 3;
/// Median wait (seconds) from which a server counts as slow.
pub const MIN_MEDIAN_WAIT: f64 = 0.100;
/// Median wait (seconds) from which it is a problem rather than a warning.
pub const PROBLEM_MEDIAN_WAIT: f64 = 1.0;
/// The server is named the slow side when its median think time is at least this share of
/// the median wait (else the network round trip is).
pub const SERVER_SHARE: f64 = 0.5;
const WORST: usize = 8;

/// The thresholds, as a value (the rule uses [`Thresholds::DEFAULT`]).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    pub min_transactions: u64,
    pub min_median_wait: f64,
    pub problem_median_wait: f64,
}

impl Thresholds {
    pub const DEFAULT: Thresholds = Thresholds {
        min_transactions: MIN_TRANSACTIONS,
        min_median_wait: MIN_MEDIAN_WAIT,
        problem_median_wait: PROBLEM_MEDIAN_WAIT,
    };
}

/// What a kept transaction was; made into text only for the groups that fire.
enum What<'a> {
    Request(&'a str),
    Call(&'a tracehound_rpc::Call),
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            What::Request(r) => f.write_str(r),
            What::Call(c) => match (&c.interface, &c.operation) {
                (Some(i), Some(o)) => write!(f, "{i} {o}"),
                (_, Some(o)) => f.write_str(o),
                (Some(i), None) => f.write_str(i),
                _ => match c.opnum {
                    Some(o) => write!(f, "opnum {o}"),
                    None => f.write_str("opnum ?"),
                },
            },
        }
    }
}

/// One slow transaction kept as evidence.
struct Sample<'a> {
    wait: f64,
    what: What<'a>,
    request_frame: u64,
    response_frame: Option<u64>,
}

struct Group<'a> {
    flows: Vec<FlowRef>,
    /// The same flows, for a quick membership test.
    seen: HashSet<FlowRef>,
    /// Exact waits while every transaction is known; else the merged histogram is used.
    waits: Vec<f64>,
    exact: bool,
    hist: Histogram,
    count: u64,
    sum: f64,
    max: f64,
    /// Network round trips of the connections (seconds), one per connection that had one.
    rtts: Vec<f64>,
    worst: Vec<Sample<'a>>,
}

impl Default for Group<'_> {
    fn default() -> Self {
        Group {
            flows: Vec::new(),
            seen: HashSet::new(),
            waits: Vec::new(),
            exact: true,
            hist: Histogram::default(),
            count: 0,
            sum: 0.0,
            max: 0.0,
            rtts: Vec::new(),
            worst: Vec::new(),
        }
    }
}

impl<'a> Group<'a> {
    /// Would a transaction that waited `wait` be among the worst kept?
    fn is_worst(&self, wait: f64) -> bool {
        self.worst.len() < WORST || self.worst.last().is_some_and(|w| wait > w.wait)
    }
    fn add_worst(&mut self, s: Sample<'a>) {
        if !self.is_worst(s.wait) {
            return;
        }
        self.worst.push(s);
        self.worst.sort_by(|a, b| b.wait.total_cmp(&a.wait));
        self.worst.truncate(WORST);
    }
    fn quantile(&self, q: f64) -> f64 {
        if self.exact && !self.waits.is_empty() {
            let mut v = self.waits.clone();
            v.sort_by(f64::total_cmp);
            let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
            v.get(i).copied().unwrap_or(0.0)
        } else {
            self.hist.quantile(q).unwrap_or(0.0)
        }
    }
}

fn rtt_of(c: &Conversation) -> Option<f64> {
    c.handshake_rtt.or(c.syn_to_synack).filter(|r| *r >= 0.0)
}

pub fn check(facts: &Facts, out: &mut Vec<Finding>) {
    check_with(facts, Thresholds::DEFAULT, out)
}

/// The rule with other thresholds (tests use it to look at healthy traffic's numbers).
pub fn check_with(facts: &Facts, th: Thresholds, out: &mut Vec<Finding>) {
    let mut groups: Vec<_> = gather(facts).into_iter().collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for ((server, proto), g) in groups {
        if let Some(f) = judge(server, proto, &g, th) {
            out.push(f);
        }
    }
}

/// The transactions and DCE/RPC calls, grouped per server and protocol.
fn gather<'a>(facts: &'a Facts) -> HashMap<(SocketAddr, &'static str), Group<'a>> {
    // Conversation ids are ours (fast hashing); server addresses and flows come from the
    // capture (hostile input), so the groups keep the standard, keyed hasher.
    let by_id: FxHashMap<u64, &Conversation> =
        facts.conversations.iter().map(|c| (c.info.id, c)).collect();
    let mut groups: HashMap<(SocketAddr, &'static str), Group> = HashMap::new();
    add_transactions(facts, &by_id, &mut groups);
    add_calls(facts, &by_id, &mut groups);
    groups
}

/// The request/response transactions of `facts.apps` (HTTP, LDAP, SMB2).
fn add_transactions<'a>(
    facts: &'a Facts,
    by_id: &FxHashMap<u64, &Conversation>,
    groups: &mut HashMap<(SocketAddr, &'static str), Group<'a>>,
) {
    for t in &facts.apps.transactions {
        let answered = t.answered.saturating_sub(t.long_polls.min(t.answered));
        if answered == 0 {
            continue;
        }
        let g = groups.entry((t.flow.resp, t.proto.name())).or_default();
        let fr = FlowRef::new(t.flow.proto, t.flow.orig, t.flow.resp);
        g.seen.insert(fr);
        g.flows.push(fr);
        if let Some(r) = by_id.get(&t.flow.id).and_then(|c| rtt_of(c)) {
            g.rtts.push(r);
        }
        match t.exact_gaps() {
            Some(gaps) => g.waits.extend(gaps.iter().map(|x| x.max(0.0))),
            None => g.exact = false,
        }
        for (i, b) in t.gap_hist.buckets.iter().enumerate() {
            if let Some(x) = g.hist.buckets.get_mut(i) {
                *x = x.saturating_add(*b);
            }
        }
        g.count += t.gap_hist.count();
        g.sum += t.gap_sum;
        g.max = g.max.max(t.gap_max);
        for s in &t.slowest {
            g.add_worst(Sample {
                wait: s.gap().unwrap_or(0.0),
                what: What::Request(&s.request),
                request_frame: s.request_frame,
                response_frame: s.response_frame,
            });
        }
    }
}

/// The answered DCE/RPC calls of `facts.rpc`.
fn add_calls<'a>(
    facts: &'a Facts,
    by_id: &FxHashMap<u64, &Conversation>,
    groups: &mut HashMap<(SocketAddr, &'static str), Group<'a>>,
) {
    for c in &facts.rpc.calls {
        let Some(rtt) = c.rtt else { continue };
        let (sa, da) = (SocketAddr::new(c.src, c.sport), SocketAddr::new(c.dst, c.dport));
        let g = groups.entry((da, "DCE/RPC")).or_default();
        let fr = FlowRef::new(Proto::Tcp, sa, da);
        if g.seen.insert(fr) {
            g.flows.push(fr);
            let conv = c.flow.and_then(|id| by_id.get(&id)).filter(|c| c.info.proto == Proto::Tcp);
            if let Some(r) = conv.and_then(|c| rtt_of(c)) {
                g.rtts.push(r);
            }
        }
        let wait = rtt.max(0.0);
        g.waits.push(wait);
        g.hist.add(wait);
        g.count += 1;
        g.sum += wait;
        g.max = g.max.max(wait);
        if !g.is_worst(wait) {
            continue;
        }
        g.add_worst(Sample {
            wait,
            what: What::Call(c),
            request_frame: c.frame,
            response_frame: c.response_frame,
        });
    }
}

/// The numbers of one group that fires.
struct Judged {
    median: f64,
    p90: f64,
    /// Median network round trip (0 when unknown).
    rtt: f64,
    rtt_known: bool,
    /// Median think time.
    m_think: f64,
    /// Total server time (seconds).
    lost: f64,
    server_slow: bool,
}

impl Judged {
    fn think(&self, w: f64) -> f64 {
        (w - self.rtt).max(0.0)
    }
}

/// The finding of one server and protocol, when its median wait is long enough.
fn judge(server: SocketAddr, proto: &str, g: &Group, th: Thresholds) -> Option<Finding> {
    let server = server.to_string();
    if g.count < th.min_transactions {
        return None;
    }
    let median = g.quantile(0.5);
    if median < th.min_median_wait {
        return None;
    }
    let p90 = g.quantile(0.9);
    let rtt_known = !g.rtts.is_empty();
    let rtt = if rtt_known {
        let mut r = g.rtts.clone();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(0.0)
    } else {
        0.0
    };
    let think = |w: f64| (w - rtt).max(0.0);
    let m_think = think(median);
    let lost = (g.sum - rtt * g.count as f64).max(0.0);
    let server_slow = m_think >= median * SERVER_SHARE;
    let j = Judged { median, p90, rtt, rtt_known, m_think, lost, server_slow };
    let ev = evidence(&server, proto, g, &j);
    let severity =
        if median >= th.problem_median_wait { Severity::Problem } else { Severity::Warning };
    let rtt_text = if rtt_known {
        format!("{:.1} ms", rtt * 1e3)
    } else {
        "unknown (no TCP handshake captured; counted as 0)".into()
    };
    Some(Finding {
        id: ID,
        severity,
        title: if server_slow {
            format!("{proto} server {server} is slow to answer: median {:.0} ms think time over {} requests", m_think * 1e3, g.count)
        } else {
            format!("{proto} requests to {server} wait on the network: median wait {:.0} ms, round trip {:.0} ms", median * 1e3, rtt * 1e3)
        },
        explanation: format!(
            "{} {proto} requests to {server} waited a median of {:.1} ms (90th percentile {:.1} ms, max {:.1} ms) between the end of the request and the start of the answer. The network round trip of these connections is {rtt_text}, so {} — about {:.1} s of server time in total.",
            g.count,
            median * 1e3,
            p90 * 1e3,
            g.max * 1e3,
            if server_slow {
                format!("most of the wait is the server working (median think time {:.1} ms)", m_think * 1e3)
            } else {
                "most of the wait is the network round trip, not the server".to_string()
            },
            lost
        ),
        likely_causes: if server_slow {
            vec![
                "The server (or a back end it waits on: database, domain controller, storage) is overloaded or blocked.".into(),
                "Expensive requests (large LDAP searches without an index, big directory listings, slow RPC operations).".into(),
                "Name resolution, authentication or antivirus scanning on the server side delays each request.".into(),
            ]
        } else {
            vec!["A long network path (WAN, VPN) between client and server; chatty protocols multiply each round trip.".into()]
        },
        next_steps: if server_slow {
            vec![
                "Look at the server's CPU, disk and the service's own logs/performance counters at the capture time; capture on the server to see whether it waits on another system.".into(),
                "Check the slowest operations listed in the evidence — which requests are slow tells which component to look at.".into(),
            ]
        } else {
            vec!["Reduce round trips (caching, batching) or move client and server closer; check the path for queueing (bufferbloat) with a ping during load.".into()]
        },
        evidence: ev,
        weight: if server_slow { 60 } else { 45 },
    })
}

/// The evidence of a group that fires: its flows, worst transactions and numbers.
fn evidence(server: &str, proto: &str, g: &Group, j: &Judged) -> Evidence {
    let mut ev = Evidence::default();
    for f in g.flows.iter().take(20) {
        ev.flows.push(*f);
    }
    for s in &g.worst {
        ev.add_frames(std::iter::once(s.request_frame).chain(s.response_frame));
        ev.line(format!(
            "frame {}{}: {} waited {:.1} ms (think {:.1} ms + network {:.1} ms)",
            s.request_frame,
            s.response_frame.map(|f| format!(" → {f}")).unwrap_or_default(),
            s.what,
            s.wait * 1e3,
            j.think(s.wait) * 1e3,
            (s.wait - j.think(s.wait)) * 1e3
        ));
    }
    ev.value("server", server.to_string());
    ev.value("protocol", proto.to_string());
    ev.value("transactions", g.count);
    ev.value("slow_side", if j.server_slow { "server" } else { "network" });
    ev.value("median_wait_ms", round(j.median * 1e3));
    ev.value("median_think_ms", round(j.m_think * 1e3));
    ev.value("p90_think_ms", round(j.think(j.p90) * 1e3));
    ev.value("max_think_ms", round(j.think(g.max) * 1e3));
    ev.value(
        "network_rtt_ms",
        if j.rtt_known { serde_json::json!(round(j.rtt * 1e3)) } else { serde_json::Value::Null },
    );
    ev.value("total_think_s", round(j.lost));
    ev.value("quantiles_exact", g.exact);
    ev.finish();
    ev
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod thresholds;
