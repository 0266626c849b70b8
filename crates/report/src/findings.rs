//! The findings report: a short summary first ("Most likely: …"), then the findings by
//! severity, each with its evidence and next steps; or one JSON object per finding.
//!
//! JSON fields (stable): `id`, `severity` (`problem`, `warning`, `info`, `artifact`), `title`,
//! `explanation`, `likely_causes` (list), `next_steps` (list), `evidence` (`flows`: objects with
//! `proto`, `src`, `sport`, `dst`, `dport`; `frames`; `file`; `values`: the numbers and
//! names that matter, e.g. `port`, `address`, `status`; `lines`: the evidence in words),
//! `weight` (0–100, how strongly it explains the trouble).

use std::fmt::Write;

use tracehound_findings::{Finding, Severity};

use crate::style::{Style, Tone};

fn tone(s: Severity) -> Tone {
    match s {
        Severity::Problem => Tone::Bad,
        Severity::Warning => Tone::Warn,
        Severity::Info => Tone::Plain,
        Severity::Artifact => Tone::Dim,
    }
}

/// The finding the summary names first: the strongest problem, else warning.
pub fn most_likely(fs: &[Finding]) -> Option<&Finding> {
    fs.iter()
        .filter(|f| matches!(f.severity, Severity::Problem | Severity::Warning))
        .min_by(|a, b| a.severity.cmp(&b.severity).then(b.weight.cmp(&a.weight)))
}

/// The heading and the "Most likely" summary.
fn summary(o: &mut String, fs: &[Finding], files: &[String], style: Style) {
    let count = |s: Severity| fs.iter().filter(|f| f.severity == s).count();
    let _ = writeln!(
        o,
        "{} {} — {} problem{}, {} warning{}, {} artifact{}",
        style.paint(Tone::Bold, "tracehound analyze"),
        files.join(", "),
        count(Severity::Problem),
        if count(Severity::Problem) == 1 { "" } else { "s" },
        count(Severity::Warning),
        if count(Severity::Warning) == 1 { "" } else { "s" },
        count(Severity::Artifact),
        if count(Severity::Artifact) == 1 { "" } else { "s" },
    );
    o.push('\n');
    match most_likely(fs) {
        Some(f) => {
            let _ = writeln!(
                o,
                "{} {}",
                style.paint(Tone::Bold, "Most likely:"),
                style.paint(tone(f.severity), &f.title)
            );
            if let Some(s) = f.next_steps.first() {
                let _ = writeln!(o, "  → {s}");
            }
        }
        None => {
            let _ = writeln!(
                o,
                "{} no connection problem found in {}.",
                style.paint(Tone::Good, "Looks healthy:"),
                if files.len() > 1 { "these captures" } else { "this capture" }
            );
        }
    }
}

/// The summary and one line per finding.
pub fn brief(fs: &[Finding], files: &[String], style: Style) -> String {
    let mut o = String::new();
    summary(&mut o, fs, files, style);
    if !fs.is_empty() {
        o.push('\n');
    }
    for f in fs {
        let sev = format!("[{}]", f.severity.name().to_uppercase());
        let file = match (&f.evidence.file, files.len() > 1) {
            (Some(file), true) => format!("  ({file})"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "{:<10} {}  {}{}",
            style.paint(tone(f.severity), &sev),
            f.title,
            style.paint(Tone::Dim, f.id),
            style.paint(Tone::Dim, &file)
        );
    }
    o
}

/// Text report for people.
pub fn text(fs: &[Finding], files: &[String], style: Style) -> String {
    let mut o = String::new();
    summary(&mut o, fs, files, style);
    for f in fs {
        o.push('\n');
        let sev = format!("[{}]", f.severity.name().to_uppercase());
        let _ = writeln!(
            o,
            "{} {}  {}",
            style.paint(tone(f.severity), &sev),
            style.paint(Tone::Bold, &f.title),
            style.paint(Tone::Dim, f.id)
        );
        for line in wrap(&f.explanation, 92) {
            let _ = writeln!(o, "  {line}");
        }
        if !f.evidence.lines.is_empty() {
            let _ = writeln!(o, "  {}", style.paint(Tone::Bold, "Evidence:"));
            for l in &f.evidence.lines {
                let _ = writeln!(o, "    • {l}");
            }
            if let Some(file) = &f.evidence.file {
                if files.len() > 1 {
                    let _ = writeln!(o, "    (in {file})");
                }
            }
        }
        if !f.likely_causes.is_empty() {
            let _ = writeln!(o, "  {}", style.paint(Tone::Bold, "Likely causes:"));
            for c in &f.likely_causes {
                let _ = writeln!(o, "    • {c}");
            }
        }
        if !f.next_steps.is_empty() {
            let _ = writeln!(o, "  {}", style.paint(Tone::Bold, "Next steps:"));
            for (i, s) in f.next_steps.iter().enumerate() {
                let _ = writeln!(o, "    {}. {s}", i + 1);
            }
        }
    }
    o
}

fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for w in s.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Write the stable JSON object of a finding (one line, no newline).
pub fn write_json(w: &mut dyn std::io::Write, f: &Finding) -> std::io::Result<()> {
    serde_json::to_writer(w, f).map_err(std::io::Error::from)
}
