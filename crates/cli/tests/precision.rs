//! The precision corpus (tests/precision/*.json): for every shared capture
//! (../shared/captures/{dcerpc,tcp,tls}, provenance in its SOURCES.md) the findings a person
//! judged with tshark — which must appear, which must not, which are tolerated — checked
//! against what the built binary says (`analyze --json`).
//!
//! Entry patterns are `ID[:SEVERITY[|SEVERITY...]][~TEXT]`: the finding id, optionally the
//! severities it may have, optionally a piece of text its title must contain.
//! - `expect`: each pattern must match a finding (severity required).
//! - `forbid`: no finding may match (any severity unless given).
//! - `allow`: a problem or warning is accepted when it matches `expect` or `allow`.
//! - every other problem or warning fails the entry: a new alarm on a shared capture must
//!   be reviewed and written into the corpus.
//! - `limits`: `"ID.value": max` — the finding's evidence value must not exceed max.
//!
//! Entries with `"pending": "reason"` are judged but not enforced yet (a rule owner is still
//! fixing it): their mismatches are printed, not failed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/precision")
}

fn shared_dir() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    assert!(p.is_dir(), "missing shared captures at {}", p.display());
    p
}

/// One `ID[:SEV|SEV][~TEXT]` pattern.
#[derive(Debug)]
struct Pattern {
    id: String,
    severities: Vec<String>,
    text: Option<String>,
    src: String,
}

impl Pattern {
    fn parse(s: &str) -> Pattern {
        let (head, text) = match s.split_once('~') {
            Some((h, t)) => (h, Some(t.to_string())),
            None => (s, None),
        };
        let (id, sev) = match head.split_once(':') {
            Some((i, s)) => (i, s.split('|').map(str::to_string).collect()),
            None => (head, Vec::new()),
        };
        for s in &sev {
            assert!(
                ["problem", "warning", "info", "artifact"].contains(&s.as_str()),
                "bad severity {s:?} in pattern {head:?}"
            );
        }
        Pattern { id: id.to_string(), severities: sev, text, src: s.to_string() }
    }
    fn matches(&self, f: &Found) -> bool {
        f.id == self.id
            && (self.severities.is_empty() || self.severities.contains(&f.severity))
            && self.text.as_ref().is_none_or(|t| f.title.contains(t.as_str()))
    }
}

#[derive(Debug)]
struct Found {
    id: String,
    severity: String,
    title: String,
    values: Value,
}

struct Entry {
    file: String,
    expect: Vec<Pattern>,
    forbid: Vec<Pattern>,
    allow: Vec<Pattern>,
    limits: Vec<(String, f64)>,
    pending: Option<String>,
}

fn patterns(v: &Value, key: &str, file: &str) -> Vec<Pattern> {
    match v.get(key) {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|p| Pattern::parse(p.as_str().unwrap_or_else(|| panic!("{file}: {key} not text"))))
            .collect(),
        Some(_) => panic!("{file}: {key} must be a list"),
    }
}

fn load() -> Vec<Entry> {
    let mut out = Vec::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/precision")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no corpus files in tests/precision");
    for n in names {
        let text = std::fs::read_to_string(&n).unwrap();
        let v: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", n.display()));
        for e in v["captures"].as_array().expect("captures list") {
            let file = e["file"].as_str().expect("file").to_string();
            let why = e["why"].as_array().map_or(0, |w| w.len());
            assert!(why > 0, "{file}: every judgement needs its tshark evidence in `why`");
            let expect = patterns(e, "expect", &file);
            for p in &expect {
                assert!(!p.severities.is_empty(), "{file}: expect {} needs a severity", p.src);
            }
            let limits = e
                .get("limits")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter().map(|(k, v)| (k.clone(), v.as_f64().expect("limit number"))).collect()
                })
                .unwrap_or_default();
            out.push(Entry {
                forbid: patterns(e, "forbid", &file),
                allow: patterns(e, "allow", &file),
                expect,
                limits,
                pending: e.get("pending").and_then(Value::as_str).map(str::to_string),
                file,
            });
        }
    }
    out
}

fn run(path: &Path) -> Result<Vec<Found>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(["analyze", "--json"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    // 0, 4 (part not analysed) are answers; a signal or 2/3 (usage, input) are not.
    match out.status.code() {
        Some(0) | Some(1) | Some(4) => {}
        c => {
            return Err(format!(
                "exit {c:?}: {}",
                String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("")
            ))
        }
    }
    let text = String::from_utf8(out.stdout).map_err(|e| e.to_string())?;
    let mut v = Vec::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let j: Value = serde_json::from_str(l).map_err(|e| format!("bad JSON line: {e}"))?;
        v.push(Found {
            id: j["id"].as_str().unwrap_or("").to_string(),
            severity: j["severity"].as_str().unwrap_or("").to_string(),
            title: j["title"].as_str().unwrap_or("").to_string(),
            values: j["evidence"]["values"].clone(),
        });
    }
    Ok(v)
}

/// What is wrong with one capture's findings (empty: as judged).
fn judge(e: &Entry, found: &[Found]) -> Vec<String> {
    let mut bad = Vec::new();
    for p in &e.expect {
        if !found.iter().any(|f| p.matches(f)) {
            bad.push(format!("missing expected {}", p.src));
        }
    }
    for f in found {
        if let Some(p) = e.forbid.iter().find(|p| p.matches(f)) {
            bad.push(format!("forbidden {} ({}): {}", f.id, p.src, f.title));
        }
        let alarm = f.severity == "problem" || f.severity == "warning";
        if alarm && !e.expect.iter().chain(&e.allow).any(|p| p.matches(f)) {
            bad.push(format!("unreviewed {} {}: {}", f.severity, f.id, f.title));
        }
    }
    for (k, max) in &e.limits {
        let Some((id, key)) = k.rsplit_once('.') else {
            bad.push(format!("bad limit key {k}"));
            continue;
        };
        for f in found.iter().filter(|f| f.id == id) {
            if let Some(x) = f.values.get(key).and_then(Value::as_f64) {
                if x > *max {
                    bad.push(format!("{k} = {x} exceeds {max}"));
                }
            }
        }
    }
    bad
}

#[test]
fn precision_corpus_holds_on_shared_captures() {
    let shared = shared_dir();
    let entries = load();
    // Every capture in the judged folders has an entry, every entry a capture.
    for dir in ["dcerpc", "tcp", "tls"] {
        for f in std::fs::read_dir(shared.join(dir)).expect("shared folder").flatten() {
            let rel = format!("{dir}/{}", f.file_name().to_string_lossy());
            assert!(
                entries.iter().any(|e| e.file == rel),
                "{rel} has no entry in tests/precision: judge it"
            );
        }
    }
    for e in &entries {
        assert!(shared.join(&e.file).is_file(), "corpus names missing capture {}", e.file);
    }
    // A few threads: the captures are small, the binary does the work.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(usize, Result<Vec<Found>, String>)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(e) = entries.get(i) else { break };
                        mine.push((i, run(&shared.join(&e.file))));
                    }
                    mine
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    let mut pending = Vec::new();
    for (i, r) in results {
        let e = &entries[i];
        let bad = match r {
            Ok(found) => judge(e, &found),
            Err(msg) => vec![msg],
        };
        if bad.is_empty() {
            continue;
        }
        let line = format!("{}:\n    {}", e.file, bad.join("\n    "));
        match &e.pending {
            Some(why) => pending.push(format!("{line}\n    (pending: {why})")),
            None => failures.push(line),
        }
    }
    if !pending.is_empty() {
        eprintln!("precision: {} pending entries not yet enforced:", pending.len());
        for p in &pending {
            eprintln!("  {p}");
        }
    }
    assert!(failures.is_empty(), "precision corpus mismatches:\n  {}", failures.join("\n  "));
}

#[test]
fn patterns_parse_and_match() {
    let f = Found {
        id: "rpc.refused".into(),
        severity: "warning".into(),
        title: "atsvc NetrJobAdd refused: ERROR_NOT_SUPPORTED".into(),
        values: Value::Null,
    };
    assert!(Pattern::parse("rpc.refused").matches(&f));
    assert!(Pattern::parse("rpc.refused:problem|warning").matches(&f));
    assert!(!Pattern::parse("rpc.refused:problem").matches(&f));
    assert!(Pattern::parse("rpc.refused:warning~NetrJobAdd").matches(&f));
    assert!(!Pattern::parse("rpc.refused~E_NOINTERFACE").matches(&f));
    assert!(!Pattern::parse("tcp.loss").matches(&f));
}
