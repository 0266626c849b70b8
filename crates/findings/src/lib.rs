//! Findings: small, independent rules over the facts the analyzers gathered (conversations,
//! DCE/RPC calls and endpoints, application transactions), each producing [`Finding`]s with a
//! stable id, a severity, a plain-language explanation, the evidence and the next steps.
//!
//! Adding a rule means adding one file under `rules/` and one line in [`rules::all`]; no
//! other rule changes.

mod facts;
mod finding;
pub mod compare;
pub mod rules;

pub use facts::{CaptureFacts, Facts};
pub use finding::*;

/// Run every rule over the facts; findings sorted by severity, then weight (strongest first).
pub fn evaluate(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in rules::all() {
        (r.check)(facts, &mut out);
    }
    sort(&mut out);
    out
}

/// Severity first, then weight, then id (stable output).
pub fn sort(v: &mut [Finding]) {
    v.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.weight.cmp(&a.weight)).then(a.id.cmp(b.id)).then(a.title.cmp(&b.title)));
}
