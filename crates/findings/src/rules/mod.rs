//! One rule per file. Each exposes `pub fn check(facts: &Facts, out: &mut Vec<Finding>)`.

use crate::Finding;
pub use crate::facts::Facts;

/// A rule: a name (its finding id or family) and its check function.
pub struct Rule {
    pub name: &'static str,
    pub check: fn(&Facts, &mut Vec<Finding>),
}

/// Every rule, in no particular order (the report sorts findings).
pub fn all() -> Vec<Rule> {
    vec![
        // rules are registered here, one line each
    ]
}
