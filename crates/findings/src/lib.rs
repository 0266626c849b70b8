//! Findings: small, independent rules over the facts the analyzers gathered (conversations,
//! DCE/RPC calls and endpoints, application transactions), each producing [`Finding`]s with a
//! stable id, a severity, a plain-language explanation, the evidence and the next steps.
//!
//! Adding a rule means adding one file under `rules/` and one line in [`rules::all`]; no
//! other rule changes.

pub mod compare;
pub mod explain;
mod facts;
mod finding;
pub mod rules;
#[cfg(test)]
mod testkit;

pub use facts::{CaptureFacts, Facts};
pub use finding::*;

/// How long one rule took and how many findings it made (for `TRACEHOUND_TIMINGS`).
#[derive(Clone, Debug)]
pub struct RuleTime {
    pub rule: &'static str,
    pub seconds: f64,
    pub findings: usize,
}

/// Run every rule over the facts; findings sorted by severity, then weight (strongest first).
pub fn evaluate(facts: &Facts) -> Vec<Finding> {
    evaluate_timed(facts).0
}

/// [`evaluate`], also saying how long each rule took (in rule order).
///
/// The rules are independent, so they run on up to two threads, each taking the next rule not
/// yet taken; the findings are put together in rule order, so the result does not depend on
/// which thread ran what.
pub fn evaluate_timed(facts: &Facts) -> (Vec<Finding>, Vec<RuleTime>) {
    let rules = rules::all();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, Vec<Finding>, f64)> = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(r) = rules.get(i) else { break };
            let mut out = Vec::new();
            let t = std::time::Instant::now();
            (r.check)(facts, &mut out);
            done.push((i, out, t.elapsed().as_secs_f64()));
        }
        done
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(2);
    let mut parts = if threads > 1 {
        std::thread::scope(|s| {
            let other = s.spawn(work);
            let mut mine = work();
            // A rule that panicked is a bug: let it surface as it would on one thread.
            mine.extend(other.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            mine
        })
    } else {
        work()
    };
    parts.sort_by_key(|(i, _, _)| *i);
    let mut out: Vec<Finding> = Vec::with_capacity(parts.iter().map(|(_, v, _)| v.len()).sum());
    let mut times = Vec::with_capacity(parts.len());
    for (i, v, seconds) in parts {
        times.push(RuleTime {
            rule: rules.get(i).map_or("?", |r| r.name),
            seconds,
            findings: v.len(),
        });
        out.extend(v);
    }
    sort(&mut out);
    (out, times)
}

/// Severity first, then weight, then id (stable output).
pub fn sort(v: &mut [Finding]) {
    v.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(b.weight.cmp(&a.weight))
            .then(a.id.cmp(b.id))
            .then(a.title.cmp(&b.title))
    });
}
