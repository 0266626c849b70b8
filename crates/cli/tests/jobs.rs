//! `--jobs N`: several files analysed at once give exactly the output (and exit code) of one at
//! a time, on every fixture: the lab captures (tests/fixtures/lab, made by lab/*.sh) and the
//! shared public captures (/work/shared/captures, provenance in its SOURCES.md), all given to
//! one command so that many files run at once and finish out of order. `--jobs 1` also runs
//! each file's protocol analyzers on the reading thread (one thread in all) where more jobs
//! run them on worker threads: for `analyze` and `rpc` the comparison covers that too.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures"));
    assert!(p.is_dir(), "the shared captures are missing at {}", p.display());
    p
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "etl" | "gz")
        ) {
            out.push(p);
        }
    }
}

/// Every fixture, lab first, in a fixed order.
fn fixtures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    walk(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")), &mut v);
    let lab = v.len();
    walk(&shared(), &mut v);
    assert!(lab >= 40, "only {lab} lab captures");
    assert!(v.len() >= lab + 60, "only {} shared captures", v.len() - lab);
    v
}

fn run(cmd: &[&str], jobs: usize, files: &[PathBuf]) -> (Vec<u8>, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
        .args(cmd)
        // Each file alone: no file set joined into one pass, so every file is a job.
        .arg("--separate")
        .arg("--jobs")
        .arg(jobs.to_string())
        .args(files)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.stdout, out.status.code())
}

/// The `file` field of each JSON line, in order (files appear as runs, in input order).
fn file_order(out: &[u8]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        // Records carry `file`; findings (sorted by severity, not by file) `evidence.file`.
        let f = v.get("file").or_else(|| v.get("evidence").and_then(|e| e.get("file")));
        let f = f.and_then(|f| f.as_str()).map(str::to_string);
        if let Some(f) = f {
            if seen.last() != Some(&f) {
                seen.push(f);
            }
        }
    }
    seen
}

fn same_with_jobs(cmd: &[&str], want_files: usize, jobs: usize) {
    let files = fixtures();
    let one = run(cmd, 1, &files);
    assert!(one.0.len() > 10_000, "{cmd:?}: only {} bytes of output", one.0.len());
    let order = file_order(&one.0);
    let mut files_seen = order.clone();
    files_seen.sort();
    files_seen.dedup();
    assert!(files_seen.len() >= want_files, "{cmd:?}: records from only {} files", order.len());
    if cmd[0] != "analyze" {
        assert_eq!(files_seen.len(), order.len(), "{cmd:?}: a file's records are not together");
    }
    {
        let many = run(cmd, jobs, &files);
        assert_eq!(many.1, one.1, "{cmd:?} --jobs {jobs}: another exit code");
        if many.0 != one.0 {
            let (a, b) = (String::from_utf8_lossy(&one.0), String::from_utf8_lossy(&many.0));
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y);
            panic!(
                "{cmd:?} --jobs {jobs}: output differs ({} vs {} bytes), first at line {line:?}",
                one.0.len(),
                many.0.len()
            );
        }
    }
}

#[test]
fn conversations_json_is_the_same_with_jobs() {
    same_with_jobs(&["conversations", "--json"], 100, 3);
}

#[test]
fn rpc_json_is_the_same_with_jobs() {
    same_with_jobs(&["rpc", "--json"], 20, 2);
}

#[test]
fn analyze_json_is_the_same_with_jobs() {
    same_with_jobs(&["analyze", "--json"], 50, 3);
}

#[test]
fn conversations_text_is_the_same_with_jobs() {
    let files = fixtures();
    let one = run(&["conversations", "--top", "3"], 1, &files);
    let text = String::from_utf8_lossy(&one.0);
    // One "== FILE" header per file that could be read, in input order.
    let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("== ")).collect();
    assert!(heads.len() >= 100, "only {} file headers", heads.len());
    assert_eq!(run(&["conversations", "--top", "3"], 2, &files), one);
}
