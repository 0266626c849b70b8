//! Findings: small, independent rules over the facts the analyzers gathered (conversations,
//! DCE/RPC calls and endpoints, application transactions), each producing [`Finding`]s with a
//! stable id, a severity, a plain-language explanation, the evidence and the next steps.
//!
//! Adding a rule means adding one file under `rules/` and one line in [`rules::all`]; no
//! other rule changes.

mod facts;
mod finding;
pub mod rules;

pub use finding::*;
