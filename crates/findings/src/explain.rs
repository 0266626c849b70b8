//! `analyze --explain ID[@FRAME]`: for one finding, the facts and thresholds that fired it.
//!
//! Rules attach them with [`Evidence::why`](crate::Evidence::why) as (name, value) pairs;
//! rules that attach none are explained by their evidence values. The evidence lines and
//! frames follow, so a reviewer can check each fact in Wireshark.

use std::fmt::Write;

use crate::Finding;

/// Which findings `--explain` asks for: an id, optionally narrowed to the one whose evidence
/// names a frame (`tcp.loss@35`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplainSpec {
    pub id: String,
    pub frame: Option<u64>,
}

impl ExplainSpec {
    /// `ID` or `ID@FRAME`; `None` when the frame is not a number.
    pub fn parse(s: &str) -> Option<ExplainSpec> {
        match s.split_once('@') {
            Some((id, fr)) => {
                Some(ExplainSpec { id: id.to_string(), frame: Some(fr.trim().parse().ok()?) })
            }
            None => Some(ExplainSpec { id: s.to_string(), frame: None }),
        }
    }
    pub fn matches(&self, f: &Finding) -> bool {
        f.id == self.id && self.frame.is_none_or(|fr| f.evidence.frames.contains(&fr))
    }
}

/// The explanation of one finding, as text.
pub fn explain_text(f: &Finding) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} [{}] {}", f.id, f.severity.name(), f.title);
    if let Some(file) = &f.evidence.file {
        let _ = writeln!(s, "  file: {file}");
    }
    let _ = writeln!(s, "  weight: {} (of 100, ranks \"Most likely\")", f.weight);
    if f.evidence.explain.is_empty() {
        let _ =
            writeln!(s, "Why it fired (the rule attached no explanation; its evidence values):");
        for (k, v) in &f.evidence.values {
            let _ = writeln!(s, "  {k}: {v}");
        }
    } else {
        let _ = writeln!(s, "Why it fired:");
        for (k, v) in &f.evidence.explain {
            let _ = writeln!(s, "  {k}: {v}");
        }
        if !f.evidence.values.is_empty() {
            let _ = writeln!(s, "Evidence values:");
            for (k, v) in &f.evidence.values {
                let _ = writeln!(s, "  {k}: {v}");
            }
        }
    }
    if !f.evidence.lines.is_empty() {
        let _ = writeln!(s, "Evidence:");
        for l in &f.evidence.lines {
            let _ = writeln!(s, "  {l}");
        }
    }
    if !f.evidence.frames.is_empty() {
        let frames: Vec<String> = f.evidence.frames.iter().map(u64::to_string).collect();
        let _ = writeln!(s, "Frames: {}", frames.join(", "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Evidence, Severity};

    fn finding() -> Finding {
        let mut ev = Evidence::default();
        ev.add_frames([35, 36]);
        ev.value("retransmissions", 17);
        ev.why("retransmissions", 17);
        ev.why("threshold: min", "3");
        Finding {
            id: "tcp.loss",
            severity: Severity::Problem,
            title: "Packets are lost".into(),
            explanation: String::new(),
            likely_causes: Vec::new(),
            next_steps: Vec::new(),
            evidence: ev,
            weight: 65,
        }
    }

    #[test]
    fn spec_selects_by_id_and_frame() {
        let f = finding();
        assert!(ExplainSpec::parse("tcp.loss").unwrap().matches(&f));
        assert!(ExplainSpec::parse("tcp.loss@36").unwrap().matches(&f));
        assert!(!ExplainSpec::parse("tcp.loss@37").unwrap().matches(&f));
        assert!(!ExplainSpec::parse("rpc.refused").unwrap().matches(&f));
        assert!(ExplainSpec::parse("tcp.loss@x").is_none());
    }

    #[test]
    fn text_shows_facts_then_evidence() {
        let t = explain_text(&finding());
        assert!(t.starts_with("tcp.loss [problem] Packets are lost\n"), "{t}");
        assert!(t.contains("Why it fired:\n  retransmissions: 17\n  threshold: min: 3\n"), "{t}");
        assert!(t.contains("Frames: 35, 36"), "{t}");
    }
}
