//! Request/response transactions of the recognised protocols, matched per flow (FIFO for
//! HTTP/1.x, by message id for LDAP, SMB2 and DNS over TCP) and aggregated per flow with
//! bounded storage: exact counts and a log-scale histogram of the server gap for all
//! transactions, the first [`SAMPLES`] transactions and the [`SLOWEST`] slowest kept whole.

use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;

use serde::Serialize;
use tracehound_flows::{FlowInfo, Timestamp};

use crate::stream::At;

/// Transactions kept whole per flow (the first ones).
pub const SAMPLES: usize = 32;
/// Slowest transactions (by server gap) kept whole per flow.
pub const SLOWEST: usize = 8;
/// Outstanding (unanswered) requests kept per flow.
pub const MAX_OUTSTANDING: usize = 1024;

/// Application protocol of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AppProto {
    Http,
    Ldap,
    Smb2,
    Dns,
}

impl AppProto {
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Http => "HTTP",
            AppProto::Ldap => "LDAP",
            AppProto::Smb2 => "SMB2",
            AppProto::Dns => "DNS",
        }
    }
}

/// One request and its response.
#[derive(Clone, Debug, Serialize)]
pub struct Transaction {
    pub proto: AppProto,
    /// What was asked, e.g. `GET /index.html`, `searchRequest`, `CREATE`.
    pub request: crate::Text,
    /// Message id (LDAP messageID, SMB2 MessageId); None for HTTP.
    pub id: Option<u64>,
    /// Frame carrying the first byte of the request.
    pub request_frame: u64,
    pub request_start_ts: Timestamp,
    /// Time of the last byte of the request.
    pub request_end_ts: Timestamp,
    /// Frame carrying the first byte of the (final) response.
    pub response_frame: Option<u64>,
    pub response_start_ts: Option<Timestamp>,
    pub response_end_ts: Option<Timestamp>,
    /// Status / result, e.g. `200`, `success`, `STATUS_ACCESS_DENIED`.
    pub status: Option<crate::Text>,
    /// The status says the request failed.
    pub error: bool,
    /// A request that waits by design (SMB2 CHANGE_NOTIFY, ...): excluded from timing rules.
    pub long_poll: bool,
}

impl Transaction {
    /// First byte of the response minus last byte of the request, seconds (network round
    /// trip + server think time).
    pub fn gap(&self) -> Option<f64> {
        self.response_start_ts.map(|r| r.secs_since(self.request_end_ts))
    }
    /// First byte of the request to last byte of the response, seconds.
    pub fn duration(&self) -> Option<f64> {
        self.response_end_ts.map(|r| r.secs_since(self.request_start_ts))
    }
}

/// Log-scale histogram of gaps: bucket `i` holds values in [2^(i-1), 2^i) microseconds
/// (bucket 0: below 1 µs). 40 buckets reach ~6 days.
#[derive(Clone, Debug, Serialize)]
pub struct Histogram {
    pub buckets: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { buckets: vec![0; 40] }
    }
}

impl Histogram {
    pub fn add(&mut self, secs: f64) {
        let us = (secs * 1e6).max(0.0);
        let i = if us < 1.0 { 0 } else { (us.log2().floor() as usize).saturating_add(1) };
        let last = self.buckets.len().saturating_sub(1);
        if let Some(b) = self.buckets.get_mut(i.min(last)) {
            *b = b.saturating_add(1);
        }
    }
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }
    /// Upper bound (seconds) of the bucket holding quantile `q` (0..=1), None when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let want = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut acc = 0u64;
        for (i, &b) in self.buckets.iter().enumerate() {
            acc = acc.saturating_add(b);
            if acc >= want {
                return Some(2f64.powi(i as i32) / 1e6);
            }
        }
        None
    }
}

/// All transactions of one flow and protocol.
#[derive(Clone, Debug, Serialize)]
pub struct FlowTransactions {
    #[serde(serialize_with = "crate::ser_flow")]
    pub flow: FlowInfo,
    pub proto: AppProto,
    /// Requests seen.
    pub requests: u64,
    /// Requests answered.
    pub answered: u64,
    /// Answers whose status is an error.
    pub errors: u64,
    /// Long-poll requests (excluded from the gap statistics).
    pub long_polls: u64,
    /// Responses that matched no request (capture started late, or a lost request).
    pub orphan_responses: u64,
    /// Requests dropped because too many were outstanding.
    pub outstanding_dropped: u64,
    /// Sum and maximum of the gaps (first response byte - last request byte), seconds.
    pub gap_sum: f64,
    pub gap_max: f64,
    pub gap_hist: Histogram,
    /// The first transactions, whole.
    pub samples: Vec<Transaction>,
    /// The slowest transactions by gap (long polls excluded), slowest first.
    pub slowest: Vec<Transaction>,
    /// Transactions not kept in `samples`.
    pub not_sampled: u64,
}

impl FlowTransactions {
    fn new(flow: FlowInfo, proto: AppProto) -> FlowTransactions {
        FlowTransactions {
            flow,
            proto,
            requests: 0,
            answered: 0,
            errors: 0,
            long_polls: 0,
            orphan_responses: 0,
            outstanding_dropped: 0,
            gap_sum: 0.0,
            gap_max: 0.0,
            gap_hist: Histogram::default(),
            samples: Vec::new(),
            slowest: Vec::new(),
            not_sampled: 0,
        }
    }
    /// Gaps of all answered, non-long-poll transactions when all are sampled (exact),
    /// else None (use `gap_hist`).
    pub fn exact_gaps(&self) -> Option<Vec<f64>> {
        if self.not_sampled > 0 {
            return None;
        }
        Some(self.samples.iter().filter(|t| !t.long_poll).filter_map(|t| t.gap()).collect())
    }
    fn record(&mut self, t: Transaction) {
        if t.response_frame.is_some() {
            self.answered += 1;
        }
        if t.error {
            self.errors += 1;
        }
        if t.long_poll {
            self.long_polls += 1;
        } else if let Some(g) = t.gap() {
            let g = g.max(0.0);
            self.gap_sum += g;
            self.gap_max = self.gap_max.max(g);
            self.gap_hist.add(g);
            let slot = self.slowest.iter().position(|s| s.gap().unwrap_or(0.0) < g);
            match slot {
                Some(i) => {
                    // Drop the fastest first, so that the list never grows past its room.
                    if self.slowest.len() == SLOWEST {
                        self.slowest.pop();
                    }
                    self.slowest.insert(i, t.clone());
                }
                None if self.slowest.len() < SLOWEST => self.slowest.push(t.clone()),
                None => {}
            }
        }
        if self.samples.len() < SAMPLES {
            self.samples.push(t);
        } else {
            self.not_sampled += 1;
        }
    }
}

struct Pending {
    id: Option<u64>,
    request: crate::Text,
    start: At,
    end: At,
    long_poll: bool,
    resp_start: Option<At>,
}

/// Matches requests and responses of one flow.
pub(crate) struct Matcher {
    pub agg: FlowTransactions,
    fifo: VecDeque<Pending>,
    by_id: HashMap<u64, Pending>,
}

impl Matcher {
    pub fn new(flow: FlowInfo, proto: AppProto) -> Matcher {
        Matcher {
            agg: FlowTransactions::new(flow, proto),
            fifo: VecDeque::new(),
            by_id: HashMap::default(),
        }
    }
    fn outstanding(&self) -> usize {
        self.fifo.len().saturating_add(self.by_id.len())
    }
    /// A request; `id` None = FIFO matching.
    pub fn request(
        &mut self,
        id: Option<u64>,
        request: impl Into<crate::Text>,
        start: At,
        end: At,
        long_poll: bool,
    ) {
        let request = request.into();
        self.agg.requests += 1;
        if self.outstanding() >= MAX_OUTSTANDING {
            self.agg.outstanding_dropped += 1;
            return;
        }
        let p = Pending { id, request, start, end, long_poll, resp_start: None };
        match id {
            None => self.fifo.push_back(p),
            Some(id) => {
                if let Some(old) = self.by_id.insert(id, p) {
                    // id reused before an answer: the old request stays unanswered
                    self.finish(old, None, None, None, false);
                }
            }
        }
    }
    /// Method of the oldest outstanding FIFO request (HTTP needs it: HEAD has no body).
    pub fn front_request(&self) -> Option<&str> {
        self.fifo.front().map(|p| p.request.as_ref())
    }
    /// A partial response (LDAP search entries, SMB2 interim): marks the response start.
    pub fn partial(&mut self, id: Option<u64>, at: At) {
        let p = match id {
            None => self.fifo.front_mut(),
            Some(id) => self.by_id.get_mut(&id),
        };
        if let Some(p) = p {
            if p.resp_start.is_none() {
                p.resp_start = Some(at);
            }
        }
    }
    /// The final response. Returns false when no request matched.
    pub fn response(
        &mut self,
        id: Option<u64>,
        start: At,
        end: At,
        status: impl Into<crate::Text>,
        error: bool,
    ) -> bool {
        let status = status.into();
        let p = match id {
            None => self.fifo.pop_front(),
            Some(id) => self.by_id.remove(&id),
        };
        match p {
            Some(p) => {
                let s = p.resp_start.unwrap_or(start);
                self.finish(p, Some(s), Some(end), Some(status), error);
                true
            }
            None => {
                self.agg.orphan_responses += 1;
                false
            }
        }
    }
    fn finish(
        &mut self,
        p: Pending,
        rs: Option<At>,
        re: Option<At>,
        status: Option<crate::Text>,
        error: bool,
    ) {
        let t = Transaction {
            proto: self.agg.proto,
            request: p.request,
            id: p.id,
            request_frame: p.start.frame,
            request_start_ts: p.start.ts,
            request_end_ts: p.end.ts,
            response_frame: rs.map(|a| a.frame),
            response_start_ts: rs.map(|a| a.ts),
            response_end_ts: re.map(|a| a.ts),
            status,
            error,
            long_poll: p.long_poll,
        };
        self.agg.record(t);
    }
    /// End of the flow: outstanding requests are recorded unanswered.
    pub fn close(mut self) -> FlowTransactions {
        let fifo: Vec<Pending> = self.fifo.drain(..).collect();
        let mut ids: Vec<(u64, Pending)> = self.by_id.drain().collect();
        ids.sort_by_key(|(_, p)| p.start.frame);
        for p in fifo.into_iter().chain(ids.into_iter().map(|(_, p)| p)) {
            self.finish(p, None, None, None, false);
        }
        self.agg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::default();
        for _ in 0..9 {
            h.add(0.001);
        }
        h.add(1.0);
        let med = h.quantile(0.5).unwrap();
        assert!((0.001..0.0021).contains(&med), "{med}");
        let max = h.quantile(1.0).unwrap();
        assert!((1.0..2.1).contains(&max), "{max}");
    }
}
