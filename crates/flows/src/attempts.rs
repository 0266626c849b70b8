//! Connection attempts, summed up: every TCP flow that ended having carried no payload and
//! no more than its SYNs and their answers (nothing, a RST, or a SYN-ACK the initiator
//! answered with a RST) is counted here by source and by service, so that scans (one source,
//! many ports or hosts) and SYN floods (many sources, one service) are reported with exact
//! counts even when the individual conversations are not all kept.
//!
//! Memory is bounded: at most [`MAX_SOURCES`] sources and [`MAX_SERVICES`] services are
//! tracked, each with at most [`MAX_DISTINCT`] distinct peers remembered; what does not fit is
//! counted in the `*_overflow` fields (and distinct counts become lower bounds, flagged).

use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::{ConnState, Conversation, Dir, Proto};

/// Sources tracked at most.
pub const MAX_SOURCES: usize = 50_000;
/// Services (address, port) tracked at most.
pub const MAX_SERVICES: usize = 50_000;
/// Distinct peers (hosts, ports or sources) remembered per source or service.
pub const MAX_DISTINCT: usize = 65_536;
/// Frames kept per source or service as evidence.
pub const FRAMES_KEPT: usize = 8;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Nothing came back (or only an ICMP error).
    Unanswered,
    /// The responder reset the SYN: closed port.
    Rejected,
    /// The responder answered with a SYN-ACK (open port), and no data followed.
    Answered,
}

impl Conversation {
    /// A TCP flow that carried only connection attempts: the initiator's SYN(s), no payload
    /// either way, and at most a SYN-ACK, a RST or an ACK besides (a half-open scan of an open
    /// port, a reset SYN, or silence).
    pub fn is_attempt_only(&self) -> bool {
        let syns = self.syn_frames.len() as u64;
        self.info.proto == Proto::Tcp
            && syns > 0
            && self.dirs[0].payload_bytes == 0
            && self.dirs[1].payload_bytes == 0
            && self.dirs[0].packets <= syns + 2
            && self.dirs[1].packets <= 3
            && !self.history.contains(['F', 'f'])
    }

    /// How the attempt ended (meaningful when [`is_attempt_only`](Self::is_attempt_only)).
    pub fn attempt_outcome(&self) -> AttemptOutcome {
        if self.synack_frame.is_some() {
            AttemptOutcome::Answered
        } else if self.rst_frames.iter().any(|(_, d)| *d == Dir::Resp)
            || self.state == Some(ConnState::REJ)
        {
            AttemptOutcome::Rejected
        } else {
            AttemptOutcome::Unanswered
        }
    }
}

/// Counts by outcome.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutcomeCounts {
    pub attempts: u64,
    pub unanswered: u64,
    pub rejected: u64,
    pub answered: u64,
    /// Attempts made of a single SYN (no retransmission): spoofed floods and scanners send
    /// one; a real client retransmits when nothing comes back.
    pub single_syn: u64,
}

impl OutcomeCounts {
    fn add(&mut self, o: AttemptOutcome, single: bool) {
        self.attempts += 1;
        match o {
            AttemptOutcome::Unanswered => self.unanswered += 1,
            AttemptOutcome::Rejected => self.rejected += 1,
            AttemptOutcome::Answered => self.answered += 1,
        }
        self.single_syn += single as u64;
    }
}

/// A bounded set that counts what it could not hold. The first value is kept inline: most
/// sources of a flood try one host, most services of a scan see one source.
#[derive(Clone, Debug)]
pub struct Distinct<T: std::hash::Hash + Eq + Copy> {
    one: Option<T>,
    set: FxHashSet<T>,
    /// Values not remembered because the set was full (the distinct count is then a lower
    /// bound).
    pub overflow: bool,
}

impl<T: std::hash::Hash + Eq + Copy> Default for Distinct<T> {
    fn default() -> Self {
        Distinct { one: None, set: FxHashSet::default(), overflow: false }
    }
}

impl<T: std::hash::Hash + Eq + Copy> Distinct<T> {
    fn insert(&mut self, v: T) {
        match self.one {
            None => self.one = Some(v),
            Some(o) if o == v => {}
            Some(o) => {
                if self.set.is_empty() {
                    self.set.insert(o);
                }
                if self.set.len() < MAX_DISTINCT {
                    self.set.insert(v);
                } else if !self.set.contains(&v) {
                    self.overflow = true;
                }
            }
        }
    }
    /// Distinct values seen (a lower bound when `overflow`).
    pub fn count(&self) -> usize {
        if self.set.is_empty() {
            self.one.is_some() as usize
        } else {
            self.set.len()
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let one = if self.set.is_empty() { self.one.as_ref() } else { None };
        one.into_iter().chain(self.set.iter())
    }
}

/// Attempts one source made.
#[derive(Clone, Debug, Default)]
pub struct SourceAttempts {
    pub counts: OutcomeCounts,
    pub hosts: Distinct<IpAddr>,
    pub ports: Distinct<u16>,
    /// Ports that answered with a SYN-ACK (open), bounded like the others.
    pub open: Distinct<(IpAddr, u16)>,
    /// First SYN frames of the first attempts.
    pub frames: Vec<u64>,
    pub first_ts: f64,
    pub last_ts: f64,
}

/// Attempts made to one service (address and port).
#[derive(Clone, Debug, Default)]
pub struct ServiceAttempts {
    pub counts: OutcomeCounts,
    /// Attempts per source, for the top talkers (at most [`MAX_DISTINCT`] sources).
    pub per_source: FxHashMap<IpAddr, u64>,
    /// Sources not remembered because `per_source` was full.
    pub sources_overflow: bool,
    pub frames: Vec<u64>,
    pub first_ts: f64,
    pub last_ts: f64,
}

/// Every attempt-only flow of the pass, by source and by service.
#[derive(Clone, Debug, Default)]
pub struct AttemptSummary {
    pub counts: OutcomeCounts,
    pub by_source: FxHashMap<IpAddr, SourceAttempts>,
    pub by_service: FxHashMap<(IpAddr, u16), ServiceAttempts>,
    /// Attempts from sources / to services beyond the table limits (counted in `counts`
    /// only).
    pub sources_overflow: u64,
    pub services_overflow: u64,
}

impl AttemptSummary {
    /// Count one finished conversation if it carried attempts only.
    pub fn add(&mut self, c: &Conversation) {
        if !c.is_attempt_only() {
            return;
        }
        let a = Attempt {
            outcome: c.attempt_outcome(),
            single: c.syn_frames.len() == 1,
            frame: c.syn_frames.first().copied().unwrap_or(c.first_frame),
            t0: c.start.as_secs_f64(),
            t1: c.end.as_secs_f64(),
        };
        let (src, dst) = (c.info.orig, c.info.resp);
        self.counts.add(a.outcome, a.single);

        let full = self.by_source.len() >= MAX_SOURCES;
        match self.by_source.get_mut(&src.ip()) {
            Some(s) => s.note(&a, dst.ip(), dst.port()),
            None if full => self.sources_overflow += 1,
            None => {
                let mut s = SourceAttempts { first_ts: a.t0, ..Default::default() };
                s.note(&a, dst.ip(), dst.port());
                self.by_source.insert(src.ip(), s);
            }
        }
        let full = self.by_service.len() >= MAX_SERVICES;
        match self.by_service.get_mut(&(dst.ip(), dst.port())) {
            Some(s) => s.note(&a, src.ip()),
            None if full => self.services_overflow += 1,
            None => {
                let mut s = ServiceAttempts { first_ts: a.t0, ..Default::default() };
                s.note(&a, src.ip());
                self.by_service.insert((dst.ip(), dst.port()), s);
            }
        }
    }
}

/// One attempt-only conversation, as the summaries count it.
struct Attempt {
    outcome: AttemptOutcome,
    /// A single SYN (no retransmission).
    single: bool,
    /// The first SYN's frame.
    frame: u64,
    /// Start and end, seconds.
    t0: f64,
    t1: f64,
}

impl SourceAttempts {
    fn note(&mut self, a: &Attempt, host: IpAddr, port: u16) {
        self.counts.add(a.outcome, a.single);
        self.hosts.insert(host);
        self.ports.insert(port);
        if a.outcome == AttemptOutcome::Answered {
            self.open.insert((host, port));
        }
        if self.frames.len() < FRAMES_KEPT {
            self.frames.push(a.frame);
        }
        self.first_ts = self.first_ts.min(a.t0);
        self.last_ts = self.last_ts.max(a.t1);
    }
}

impl ServiceAttempts {
    fn note(&mut self, a: &Attempt, src: IpAddr) {
        self.counts.add(a.outcome, a.single);
        if let Some(n) = self.per_source.get_mut(&src) {
            *n += 1;
        } else if self.per_source.len() < MAX_DISTINCT {
            self.per_source.insert(src, 1);
        } else {
            self.sources_overflow = true;
        }
        if self.frames.len() < FRAMES_KEPT {
            self.frames.push(a.frame);
        }
        self.first_ts = self.first_ts.min(a.t0);
        self.last_ts = self.last_ts.max(a.t1);
    }

    /// Distinct sources (a lower bound when `sources_overflow`).
    pub fn sources(&self) -> usize {
        self.per_source.len()
    }

    /// The sources that made the most attempts, most first (ties by address).
    pub fn top_sources(&self, n: usize) -> Vec<(IpAddr, u64)> {
        let mut v: Vec<(IpAddr, u64)> = self.per_source.iter().map(|(a, n)| (*a, *n)).collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}
