use std::net::SocketAddr;

use serde::Serialize;
use tracehound_flows::{Conversation, Proto};

/// How bad a finding is. Ordered: `Problem` first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Problem,
    Warning,
    Info,
    Artifact,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Problem => "problem",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Artifact => "artifact",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "problem" => Some(Severity::Problem),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            "artifact" => Some(Severity::Artifact),
            _ => None,
        }
    }
}

/// A flow named in evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FlowRef {
    pub proto: Proto,
    pub src: std::net::IpAddr,
    pub sport: u16,
    pub dst: std::net::IpAddr,
    pub dport: u16,
}

impl FlowRef {
    pub fn new(proto: Proto, src: SocketAddr, dst: SocketAddr) -> FlowRef {
        FlowRef { proto, src: src.ip(), sport: src.port(), dst: dst.ip(), dport: dst.port() }
    }
    pub fn of(c: &Conversation) -> FlowRef {
        FlowRef::new(c.info.proto, c.info.orig, c.info.resp)
    }
}

impl std::fmt::Display for FlowRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sa = SocketAddr::new(self.src, self.sport);
        let da = SocketAddr::new(self.dst, self.dport);
        write!(f, "{sa} → {da}")
    }
}

/// What proves a finding.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Evidence {
    pub flows: Vec<FlowRef>,
    /// Frame numbers (1-based, as Wireshark shows them), sorted, bounded to a sample.
    pub frames: Vec<u64>,
    /// Which capture file the frames are in (when several were analysed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The values that matter (port, address, status, counts, durations ...).
    /// Keys are the rules' fixed names; in JSON an object with its keys in order.
    pub values: std::collections::BTreeMap<&'static str, serde_json::Value>,
    /// Human-readable evidence lines, e.g. "frame 12: SYN to 10.0.0.5:49667, retransmitted 3×".
    pub lines: Vec<String>,
    /// Why the rule fired: the facts it measured and the thresholds it compared them with,
    /// as (name, value) pairs in the rule's order, e.g. `("retransmitted_segments", "11")`,
    /// `("threshold.min_retransmissions", "3")`. Shown by `analyze --explain ID`; in JSON
    /// a list of `[name, value]` pairs, left out when the rule attached none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explain: Vec<(Text, String)>,
}

pub use tracehound_flows::Text;

/// One conclusion.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable id, e.g. `rpc.endpoint_unreachable`.
    pub id: &'static str,
    pub severity: Severity,
    /// One line.
    pub title: String,
    /// Plain-language explanation of what happened.
    pub explanation: String,
    /// Mostly fixed advice: borrowed from the rule's text unless made for this finding.
    pub likely_causes: Vec<Text>,
    pub next_steps: Vec<Text>,
    pub evidence: Evidence,
    /// How strongly this explains the trouble (0..=100), used to pick "Most likely".
    pub weight: u8,
}

/// Frames kept as evidence per finding.
pub const MAX_EVIDENCE_FRAMES: usize = 50;
/// Evidence lines kept per finding.
pub const MAX_EVIDENCE_LINES: usize = 20;

impl Evidence {
    pub fn add_frames(&mut self, frames: impl IntoIterator<Item = u64>) {
        for f in frames {
            if self.frames.len() >= MAX_EVIDENCE_FRAMES {
                break;
            }
            self.frames.push(f);
        }
    }
    pub fn line(&mut self, s: String) {
        if self.lines.len() < MAX_EVIDENCE_LINES {
            self.lines.push(s);
        }
    }
    pub fn value(&mut self, k: &'static str, v: impl Into<serde_json::Value>) {
        self.values.insert(k, v.into());
    }
    /// Attach one fact or threshold that made the rule fire (see [`Evidence::explain`]).
    /// Bounded like the evidence lines.
    /// The name is fixed text, or made from the rule's constants (`format!` with the const,
    /// so that a threshold named in it cannot go stale).
    pub fn why(&mut self, name: impl Into<Text>, value: impl std::fmt::Display) {
        if self.explain.len() < MAX_EVIDENCE_LINES {
            self.explain.push((name.into(), value.to_string()));
        }
    }
    pub fn finish(&mut self) {
        self.frames.sort_unstable();
        self.frames.dedup();
    }
}
