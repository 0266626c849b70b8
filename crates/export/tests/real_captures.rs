//! The export formats on real captures: the lab fixtures (`tests/fixtures/lab`, made by
//! `lab/*.sh` with real peers in network namespaces) and the shared DCE/RPC captures
//! (`../shared/captures/dcerpc`, provenance in its SOURCES.md).
//!
//! - Parquet: every table reads back with one row per record, every field of the JSON
//!   records has its column, and times are exact (the decimal read back equals the JSON's
//!   digits).
//! - Zeek: the logs' field names and value types are Zeek's (`tests/data/zeek_fields.tsv`,
//!   from Zeek's scripts), and `conn.log`'s `conn_state` / `history` equal the conversation's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::{Array, Decimal128Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tracehound_export::columns::{nanos_of, Ty};
use tracehound_export::{rows, services, Exporter, Format, Log, Source, Table};
use tracehound_findings::{evaluate, Facts, Finding};
use tracehound_pipeline::{analyze_file, FileFacts, Mode, Threads};

fn lab(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")).join(name)
}

fn shared_dcerpc() -> Vec<PathBuf> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures/dcerpc"));
    assert!(dir.is_dir(), "shared captures missing: {}", dir.display());
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    v.sort();
    assert!(v.len() >= 20, "expected the shared DCE/RPC captures, found {}", v.len());
    v
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tracehound-export-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct Analysed {
    src: Source,
    ff: FileFacts,
    calls: Vec<tracehound_rpc::Call>,
    findings: Vec<Finding>,
}

fn analyse(path: &Path) -> Analysed {
    let mut calls = Vec::new();
    let ff = analyze_file(
        path,
        Mode::Analyze,
        Threads::Parallel,
        None,
        &mut |cs: &[tracehound_rpc::Call]| calls.extend_from_slice(cs),
    )
    .unwrap();
    let facts = Facts {
        file: &ff.run.name,
        capture: &ff.capture,
        conversations: &ff.conversations,
        rpc: &ff.rpc,
        endpoints: &ff.endpoints,
        apps: &ff.apps,
    };
    let findings = evaluate(&facts);
    let src = Source::of_file(&ff.run.name);
    Analysed { src, ff, calls, findings }
}

/// The JSON rows of every table, as the exporter makes them.
fn json_rows(a: &Analysed) -> BTreeMap<Table, Vec<Vec<u8>>> {
    let f = &a.src.capture_file;
    let mut m: BTreeMap<Table, Vec<Vec<u8>>> = BTreeMap::new();
    let conv = a.ff.conversations.iter().map(|c| rows::conversation_row(c, f, None, None));
    m.insert(Table::Conversations, conv.map(Result::unwrap).collect());
    m.insert(Table::Calls, a.calls.iter().map(|c| rows::call_row(c, f).unwrap()).collect());
    let eps = a.ff.endpoints.iter().map(|e| rows::endpoint_row(e).unwrap());
    m.insert(Table::Endpoints, eps.collect());
    let tls = a.ff.apps.tls.iter().map(|s| rows::tls_row(s, f).unwrap());
    m.insert(Table::TlsSessions, tls.collect());
    let fs = a.findings.iter().map(|x| rows::finding_row(x).unwrap());
    m.insert(Table::Findings, fs.collect());
    m
}

fn export(a: &Analysed, ex: &mut Exporter) {
    let svc = services(&a.calls, &a.ff.apps);
    for c in &a.ff.conversations {
        let s: Vec<&str> = svc.get(&c.info.id).cloned().unwrap_or_default();
        ex.conversation(&a.src, c, None, None, &s).unwrap();
    }
    for c in &a.calls {
        ex.call(&a.src, c).unwrap();
    }
    for e in &a.ff.endpoints {
        ex.endpoint(&a.src, e).unwrap();
    }
    ex.apps(&a.src, &a.ff.apps).unwrap();
    for f in &a.findings {
        ex.finding(&a.src, f).unwrap();
    }
    ex.end_file(&a.src, &Table::ALL, &[Log::Conn, Log::DceRpc]).unwrap();
}

fn read_table(dir: &Path, t: Table) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let tdir = dir.join(t.name());
    let mut parts: Vec<PathBuf> = Vec::new();
    for p in std::fs::read_dir(&tdir).unwrap() {
        for f in std::fs::read_dir(p.unwrap().path()).unwrap() {
            parts.push(f.unwrap().path());
        }
    }
    parts.sort();
    for p in parts {
        let r = ParquetRecordBatchReaderBuilder::try_new(File::open(&p).unwrap())
            .unwrap()
            .build()
            .unwrap();
        out.extend(r.map(Result::unwrap));
    }
    out
}

/// Every key of a JSON record has its column (flattened objects: every nested key).
fn check_coverage(t: Table, row: &serde_json::Value) {
    let cols = t.columns();
    let obj = row.as_object().expect("a JSON object");
    for (k, v) in obj {
        if t.not_columns().contains(&k.as_str()) {
            continue;
        }
        let under: Vec<_> = cols.iter().filter(|c| c.path.first() == Some(&k.as_str())).collect();
        assert!(!under.is_empty(), "table {}: JSON field {k} has no column", t.name());
        if under.iter().any(|c| c.path.len() == 1) {
            continue;
        }
        let inner = v.as_object().unwrap_or_else(|| panic!("{k}: flattened but not an object"));
        for ik in inner.keys() {
            assert!(
                under.iter().any(|c| c.path.get(1) == Some(&ik.as_str())),
                "table {}: JSON field {k}.{ik} has no column",
                t.name()
            );
        }
    }
}

#[test]
fn parquet_tables_equal_the_json_records() {
    let mut files: Vec<PathBuf> = [
        "rpc-dynamic-filtered.pcap",
        "rpc-epm-map-then-call.pcap",
        "rpc-fault.pcap",
        "net-tls-cert-mismatch.pcap",
        "net-connect-refused.pcap",
        "net-dns-failure.pcap",
    ]
    .iter()
    .map(|n| lab(n))
    .collect();
    files.extend(shared_dcerpc().into_iter().filter(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        n.contains("zerologon") || n.contains("dce_rpc_ntlm") || n.contains("smb-test")
    }));
    let dir = scratch("parquet");
    let mut ex = Exporter::create(Format::Parquet, &dir).unwrap();
    let mut expected: BTreeMap<Table, Vec<Vec<u8>>> = BTreeMap::new();
    let mut per_file_calls: HashMap<String, usize> = HashMap::new();
    for f in &files {
        let a = analyse(f);
        export(&a, &mut ex);
        per_file_calls.insert(a.src.capture_file.clone(), a.calls.len());
        for (t, rs) in json_rows(&a) {
            expected.entry(t).or_default().extend(rs);
        }
    }
    let summary = ex.finish().unwrap();
    assert_eq!(summary.files, files.len() * Table::ALL.len(), "{summary}");
    for t in Table::ALL {
        let want = &expected[&t];
        let batches = read_table(&dir, t);
        let got: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(got, want.len(), "table {}: rows", t.name());
        for r in want {
            check_coverage(t, &serde_json::from_slice(r).unwrap());
        }
        let names: Vec<String> =
            batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names[0], "capture_file");
        assert_eq!(names[1], "capture_point");
        for (c, n) in t.columns().iter().zip(&names[2..]) {
            assert_eq!(c.name, n);
        }
    }
    assert!(expected[&Table::Calls].len() > 20, "too few calls to say anything");
    assert!(!expected[&Table::TlsSessions].is_empty(), "no TLS session in the TLS fixture");
    check_calls_exact(&dir, &expected[&Table::Calls], &per_file_calls);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Call times read back equal the JSON's digits; calls per capture file equal.
fn check_calls_exact(dir: &Path, want: &[Vec<u8>], per_file: &HashMap<String, usize>) {
    let mut json_ts: Vec<i128> = want
        .iter()
        .map(|r| {
            let raw: HashMap<String, &serde_json::value::RawValue> =
                serde_json::from_slice(r).unwrap();
            nanos_of(raw["ts"].get()).unwrap()
        })
        .collect();
    let mut got_ts = Vec::new();
    let mut got_per_file: HashMap<String, usize> = HashMap::new();
    assert!(matches!(Table::Calls.columns()[0].ty, Ty::Time));
    for b in read_table(dir, Table::Calls) {
        let ts = b.column_by_name("ts").unwrap().as_any().downcast_ref::<Decimal128Array>();
        let ts = ts.expect("ts is a decimal");
        let file = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            got_ts.push(ts.value(i));
            *got_per_file.entry(file.value(i).to_string()).or_default() += 1;
        }
    }
    json_ts.sort_unstable();
    got_ts.sort_unstable();
    assert_eq!(got_ts, json_ts);
    let want_files: HashMap<String, usize> =
        per_file.iter().filter(|(_, n)| **n > 0).map(|(k, v)| (k.clone(), *v)).collect();
    assert_eq!(got_per_file, want_files);
}

/// Zeek's fields of each log: name → type.
fn zeek_fields() -> HashMap<String, HashMap<String, String>> {
    let text = include_str!("data/zeek_fields.tsv");
    let mut m: HashMap<String, HashMap<String, String>> = HashMap::new();
    for l in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let p: Vec<&str> = l.split('\t').collect();
        m.entry(p[0].to_string()).or_default().insert(p[1].to_string(), p[2].to_string());
    }
    m
}

/// A JSON value fits a Zeek type as Zeek's JSON writer writes it.
fn fits(ty: &str, v: &serde_json::Value) -> bool {
    match ty {
        "time" | "interval" | "double" => v.is_number(),
        "count" | "port" => v.is_u64(),
        "bool" => v.is_boolean(),
        "addr" => v.as_str().is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok()),
        "string" | "enum" => v.is_string(),
        t if t.starts_with("set[") || t.starts_with("vector[") => v.is_array(),
        _ => false,
    }
}

/// Check every record of `file` (Zeek log `log`) against Zeek's fields; the records.
fn check_zeek_log(dir: &Path, log: &str) -> Vec<serde_json::Value> {
    let fields = zeek_fields();
    let zf = &fields[log];
    let text = std::fs::read_to_string(dir.join(format!("{log}.log"))).unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for (k, x) in v.as_object().unwrap() {
            if k.starts_with("th_") {
                continue;
            }
            let ty = zf.get(k).unwrap_or_else(|| panic!("{log}.log: {k} is not a Zeek field"));
            assert!(fits(ty, x), "{log}.log: {k} = {x} is not a Zeek {ty}");
        }
        for k in ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"] {
            assert!(v.get(k).is_some(), "{log}.log: {k} missing in {line}");
        }
        out.push(v);
    }
    out
}

#[test]
fn zeek_ssl_dns_http_logs_of_the_lab() {
    let dir = scratch("zeek-apps");
    let mut ex = Exporter::create(Format::Zeek, &dir).unwrap();
    let (mut tls, mut dns) = (0, 0);
    for f in ["net-tls-cert-mismatch.pcap", "net-dns-failure.pcap", "auth-http.pcap"] {
        let a = analyse(&lab(f));
        tls += a.ff.apps.tls.len();
        dns += a.ff.apps.dns.len();
        export(&a, &mut ex);
        ex.end_file(&a.src, &[], &[Log::Ssl, Log::Dns, Log::Http]).unwrap();
    }
    ex.finish().unwrap();
    let conn = check_zeek_log(&dir, "conn");
    let ssl = check_zeek_log(&dir, "ssl");
    let dnsl = check_zeek_log(&dir, "dns");
    let http = check_zeek_log(&dir, "http");
    assert_eq!((ssl.len(), dnsl.len()), (tls, dns));
    assert!(tls > 0 && dns > 0 && !http.is_empty(), "{tls} {dns} {}", http.len());
    // every record of a connection names a uid of conn.log
    let uids: std::collections::HashSet<&str> =
        conn.iter().map(|v| v["uid"].as_str().unwrap()).collect();
    for v in ssl.iter().chain(&http).chain(&dnsl) {
        assert!(uids.contains(v["uid"].as_str().unwrap()), "{v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zeek_logs_of_the_shared_dcerpc_captures() {
    let fields = zeek_fields();
    let dir = scratch("zeek");
    let mut ex = Exporter::create(Format::Zeek, &dir).unwrap();
    let mut want: HashMap<String, (String, String)> = HashMap::new();
    let mut calls = 0;
    for f in shared_dcerpc() {
        let a = analyse(&f);
        calls += a.calls.len();
        for c in &a.ff.conversations {
            let row = rows::conversation_row(c, &a.src.capture_file, None, None).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&row).unwrap();
            let st = v["state"].as_str().map(str::to_string);
            let hist = v["history"].as_str().unwrap_or("").to_string();
            let uid = v["uid"].as_str().unwrap().to_string();
            if let Some(st) = st {
                want.insert(uid, (st, hist));
            }
        }
        export(&a, &mut ex);
    }
    ex.finish().unwrap();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (log, file) in [("conn", "conn.log"), ("dce_rpc", "dce_rpc.log")] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let zf = &fields[log];
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            for (k, x) in v.as_object().unwrap() {
                if k.starts_with("th_") {
                    continue;
                }
                let ty = zf.get(k).unwrap_or_else(|| panic!("{log}.log: {k} is not a Zeek field"));
                assert!(fits(ty, x), "{log}.log: {k} = {x} is not a Zeek {ty}");
            }
            for k in ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"] {
                assert!(v.get(k).is_some(), "{log}.log: {k} missing in {line}");
            }
            if log == "conn" {
                let uid = v["uid"].as_str().unwrap();
                if v["proto"] == "tcp" {
                    let (st, hist) = &want[uid];
                    assert_eq!(v["conn_state"].as_str(), Some(st.as_str()), "{line}");
                    assert_eq!(v["history"].as_str().unwrap_or(""), hist, "{line}");
                }
            }
            *seen.entry(log).or_default() += 1;
        }
    }
    assert_eq!(seen["dce_rpc"], calls);
    assert!(seen["conn"] >= want.len(), "{seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// README.md shows the schema as the code has it.
#[test]
fn doc_schema_is_the_schema() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let md = tracehound_export::schema::markdown();
    if std::env::var_os("TRACEHOUND_PRINT_SCHEMA").is_some() {
        println!("{md}");
    }
    assert!(doc.contains(&md), "README.md: schema out of date:\n{md}");
}
