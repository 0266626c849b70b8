//! The analyzer's limits ([`AppConfig`]) and its bounded list of parse problems.

use serde::Serialize;

/// Limits. Hitting one is counted in [`AppStats`], never silent.
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// TCP connections followed at once.
    pub max_flows: usize,
    pub max_dns_queries: usize,
    pub max_tls_sessions: usize,
    /// Flows with transaction records kept.
    pub max_transaction_flows: usize,
    pub max_issues: usize,
    /// Bytes buffered per direction.
    pub stream_cap: usize,
    /// Bytes buffered over all connections together; a direction that would pass it is no
    /// longer followed.
    pub total_buffer_cap: usize,
    /// A DNS query without answer for this long (capture time, seconds) is unanswered; an
    /// answer after it is late, and a new query for the same question after it is not a
    /// retry.
    pub dns_timeout: f64,
    /// At the end of the capture, a query without answer (and without retry) is unanswered
    /// when the capture went on for this long after it (seconds); else "capture ended".
    pub dns_min_wait: f64,
    /// Bytes looked at per direction to recognise a protocol before giving up.
    pub sniff_bytes: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            max_flows: 65_536,
            max_dns_queries: 20_000,
            max_tls_sessions: 20_000,
            max_transaction_flows: 20_000,
            max_issues: 1_000,
            stream_cap: 256 * 1024,
            total_buffer_cap: 256 * 1024 * 1024,
            dns_timeout: 5.0,
            dns_min_wait: 1.0,
            sniff_bytes: 64,
        }
    }
}

/// Something that could not be parsed, with where.
#[derive(Clone, Debug, Serialize)]
pub struct Issue {
    pub frame: u64,
    pub what: String,
}

/// Bounded list of issues.
#[derive(Debug, Default)]
pub struct Issues {
    pub list: Vec<Issue>,
    pub max: usize,
    pub dropped: u64,
}

impl Issues {
    pub fn add(&mut self, frame: u64, what: String) {
        if self.list.len() < self.max {
            self.list.push(Issue { frame, what });
        } else {
            self.dropped += 1;
        }
    }
}
