//! `--format parquet` and `--format zeek` end to end, on real captures (the lab fixtures in
//! tests/fixtures/lab, made by lab/*.sh with real peers; the shared DCE/RPC captures in
//! ../shared/captures/dcerpc, provenance in its SOURCES.md).
//!
//! DuckDB (the Python `duckdb` package, installed by scripts/test.sh) reads the Parquet
//! output; what it counts must equal what `--json` prints for the same files, and the
//! cross-capture query of README.md (the very SQL shown there) must return the
//! rows the JSON output implies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn th() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn lab_all() -> Vec<String> {
    let dir = root().join("tests/fixtures/lab");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    assert!(v.len() >= 30, "lab fixtures missing in {}", dir.display());
    v
}

fn lab(name: &str) -> String {
    root().join("tests/fixtures/lab").join(name).display().to_string()
}

fn shared_dcerpc() -> Vec<String> {
    let dir = root().join("../shared/captures/dcerpc");
    assert!(dir.is_dir(), "shared captures missing: {}", dir.display());
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("th-export-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Run tracehound; its JSON lines (when `json`).
fn run(args: &[&str], files: &[String]) -> Vec<Value> {
    let out = th().args(args).args(files).output().unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 4,
        "tracehound {args:?}: exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Run DuckDB queries (Python, one process); the rows of each as JSON arrays.
fn duckdb_all(sqls: &[String]) -> Vec<Vec<Value>> {
    let script = "import duckdb, json, sys\n\
                  out = [[list(r) for r in duckdb.sql(q).fetchall()] for q in json.loads(sys.argv[1])]\n\
                  print(json.dumps(out, default=str))\n";
    let arg = serde_json::to_string(sqls).unwrap();
    let out = Command::new("python3").args(["-c", script, &arg]).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "DuckDB (pip install duckdb) failed on {sqls:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn duckdb(sql: &str) -> Vec<Value> {
    duckdb_all(&[sql.to_string()]).remove(0)
}

fn counts(rows: &[Value]) -> BTreeMap<String, u64> {
    rows.iter().map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap())).collect()
}

fn by<F: Fn(&Value) -> String>(rows: &[Value], key: F) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(key(r)).or_default() += 1;
    }
    m
}

/// Per capture file, 0 for those without rows.
fn every(files: &[String], m: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    files.iter().map(|f| (f.clone(), *m.get(f).unwrap_or(&0))).collect()
}

#[test]
fn duckdb_counts_equal_the_json_output() {
    // Without the two floods (5,500 one-packet conversations that only cost time here).
    let files: Vec<String> = lab_all()
        .into_iter()
        .filter(|f| !f.ends_with("net-syn-flood.pcap") && !f.ends_with("net-nmap-scan.pcap"))
        .collect();
    let dir = scratch("counts");
    let d = dir.display().to_string();
    run(&["conversations", "--format", "parquet", "-o", &d], &files);
    run(&["rpc", "--format", "parquet", "-o", &d], &files);
    let analyze_dir = format!("{d}/analyze");
    run(&["analyze", "--format", "parquet", "-o", &analyze_dir], &files);
    let convs = run(&["conversations", "--json"], &files);
    let raw = th().args(["rpc", "--json"]).args(&files).output().unwrap().stdout;
    let raw = String::from_utf8(raw).unwrap();
    let calls: Vec<Value> = raw.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let findings = run(&["analyze", "--json"], &files);
    let q = |table: &str, key: &str| {
        format!("SELECT {key}, count(*) FROM read_parquet('{table}/*/*.parquet') GROUP BY ALL")
    };
    let res = duckdb_all(&[
        q(&format!("{d}/conversations"), "capture_file"),
        format!(
            "SELECT count(DISTINCT filename) FROM read_parquet('{d}/conversations/*/*.parquet', \
             filename=true)"
        ),
        q(&format!("{d}/calls"), "capture_file"),
        format!("SELECT CAST(ts AS VARCHAR) FROM read_parquet('{d}/calls/*/*.parquet')"),
        q(&format!("{analyze_dir}/findings"), "id"),
        q(&format!("{analyze_dir}/calls"), "capture_file"),
    ]);
    // conversations per capture file
    let want = by(&convs, |r| r["file"].as_str().unwrap().to_string());
    assert_eq!(every(&files, &counts(&res[0])), every(&files, &want));
    assert!(convs.len() > 100, "{} conversations", convs.len());
    // every file has its partition, also with no row (a count reads 0, not "missing")
    assert_eq!(res[1][0][0].as_u64().unwrap(), files.len() as u64);
    // calls per capture file, from rpc and from analyze
    let want = by(&calls, |r| r["file"].as_str().unwrap().to_string());
    assert_eq!(counts(&res[2]), want);
    assert_eq!(counts(&res[5]), want);
    assert!(calls.len() > 50, "{} calls", calls.len());
    // the call times, exact: DuckDB's decimals equal the JSON's digits
    let mut want_ts: Vec<String> = raw
        .lines()
        .map(|l| {
            let at = l.find("\"ts\":").unwrap() + 5;
            nine(l[at..].split([',', '}']).next().unwrap())
        })
        .collect();
    let mut got_ts: Vec<String> = res[3].iter().map(|r| nine(r[0].as_str().unwrap())).collect();
    want_ts.sort();
    got_ts.sort();
    assert_eq!(got_ts, want_ts);
    // findings by id
    let want = by(&findings, |r| r["id"].as_str().unwrap().to_string());
    assert_eq!(counts(&res[4]), want);
    assert!(want.len() > 10, "{want:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A decimal number with 9 fraction digits.
fn nine(t: &str) -> String {
    let (i, f) = t.split_once('.').unwrap_or((t, ""));
    format!("{i}.{f:0<9}")
}

/// The SQL of the block after `marker` in README.md.
fn doc_sql(marker: &str) -> String {
    let doc = std::fs::read_to_string(root().join("README.md")).unwrap();
    let at = doc.find(marker).unwrap_or_else(|| panic!("{marker} not in the doc"));
    let rest = &doc[at..];
    let start = rest.find("```sql\n").unwrap() + 7;
    let end = rest[start..].find("```").unwrap();
    rest[start..start + end].to_string()
}

#[test]
fn cross_capture_query_of_the_doc() {
    let files: Vec<String> = [
        "rpc-dynamic-filtered.pcap",
        "rpc-dynamic-filtered-server.pcap",
        "rpc-dynamic-icmp.pcap",
        "rpc-dynamic-rejected.pcap",
        "rpc-nat-mismatch.pcap",
        "rpc-epm-map-then-call.pcap",
        "rpc-fault.pcap",
    ]
    .iter()
    .map(|n| lab(n))
    .collect();
    let dir = scratch("cross");
    let d = dir.display().to_string();
    run(&["rpc", "--format", "parquet", "-o", &d], &files);
    let sql = doc_sql("<!-- tested: unreachable-endpoints -->").replace("/data/tracehound", &d);
    let got = duckdb(&sql);
    // Expected from the JSON: endpoints whose follow-up is not `answered` / `not_tried`, per
    // server asked, with the capture files and bindings.
    let mut want: BTreeMap<String, (u64, BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    for f in &files {
        for e in run(&["rpc", "--endpoints", "--json"], std::slice::from_ref(f)) {
            let fu = e["follow_up"].as_str().unwrap();
            if fu == "answered" || fu == "not_tried" {
                continue;
            }
            let w = want.entry(e["asked_address"].as_str().unwrap().to_string()).or_default();
            w.0 += 1;
            w.1.insert(f.clone());
            w.2.insert(e["binding"].as_str().unwrap().to_string());
        }
    }
    assert!(want.len() >= 3, "the fixtures hand out unreachable endpoints: {want:?}");
    let strs = |v: &Value| -> BTreeSet<String> {
        v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
    };
    let got: BTreeMap<String, (u64, BTreeSet<String>, BTreeSet<String>)> = got
        .iter()
        .map(|r| {
            let server = r[0].as_str().unwrap().to_string();
            (server, (r[1].as_u64().unwrap(), strs(&r[2]), strs(&r[3])))
        })
        .collect();
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zeek_conn_log_equals_the_conversations() {
    let files = shared_dcerpc();
    assert!(files.len() >= 20, "shared DCE/RPC captures: {}", files.len());
    let dir = scratch("zeek");
    let d = dir.display().to_string();
    run(&["conversations", "--format", "zeek", "-o", &d], &files);
    let json = run(&["conversations", "--json"], &files);
    let key = |file: &str, src: &Value, sp: &Value, dst: &Value, dp: &Value, ff: &Value| {
        format!("{file} {src}:{sp} {dst}:{dp} #{ff}")
    };
    let mut want = BTreeMap::new();
    for r in &json {
        let k = key(
            r["file"].as_str().unwrap(),
            &r["src"],
            &r["sport"],
            &r["dst"],
            &r["dport"],
            &r["first_frame"],
        );
        want.insert(k, (r["state"].clone(), r["history"].clone(), r["packets"].clone()));
    }
    assert!(json.len() > 50, "{} conversations", json.len());
    let text = std::fs::read_to_string(dir.join("conn.log")).unwrap();
    let mut n = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let k = key(
            v["th_capture_file"].as_str().unwrap(),
            &v["id.orig_h"],
            &v["id.orig_p"],
            &v["id.resp_h"],
            &v["id.resp_p"],
            &v["th_first_frame"],
        );
        let (state, history, packets) = want.get(&k).unwrap_or_else(|| panic!("{k} not in JSON"));
        if v["proto"] == "tcp" {
            assert_eq!(&v["conn_state"], state, "{k}");
            assert_eq!(v.get("history").unwrap_or(&Value::String(String::new())), history, "{k}");
        }
        let pkts = v["orig_pkts"].as_u64().unwrap() + v["resp_pkts"].as_u64().unwrap();
        assert_eq!(Some(pkts), packets.as_u64(), "{k}");
        assert!(v["uid"].as_str().unwrap().starts_with('C'));
        n += 1;
    }
    assert_eq!(n, json.len());
    let _ = std::fs::remove_dir_all(&dir);
}
