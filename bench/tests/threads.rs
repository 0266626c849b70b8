//! One large generated capture (`mkcapture`: the lab fixtures and the shared public captures,
//! repeated with addresses and times rewritten, as `bench/run.py` builds them) gives the same
//! facts and findings whether the protocol analyzers run on the reading thread
//! (`Threads::Serial`, `--jobs 1`) or on their worker threads (`Threads::Parallel`): the same
//! conversations, calls, endpoints, application report and findings, in the same order.

use std::path::{Path, PathBuf};
use std::process::Command;

use tracehound_pipeline::{analyze_file, FileFacts, Mode, Threads};

fn inputs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut v = Vec::new();
    for dir in [root.join("tests/fixtures/lab"), root.join("../shared/captures/dcerpc")] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
            // the flood and scan fixtures would make this a flood (as in bench/run.py)
            .filter(|p| !p.ends_with("net-nmap-scan.pcap") && !p.ends_with("net-syn-flood.pcap"))
            .collect();
        files.sort();
        v.extend(files);
    }
    assert!(v.len() > 50, "only {} input captures", v.len());
    v
}

/// Everything the rules read and what they found, as text to compare.
fn digest(ff: &FileFacts) -> Vec<(&'static str, String)> {
    let j = |v: &dyn erased::Ser| v.json();
    let facts = ff.facts();
    let findings = tracehound_findings::evaluate(&facts);
    vec![
        ("conversations", format!("{:?}", ff.conversations)),
        ("calls", j(&ff.rpc.calls)),
        ("endpoints handed out", j(&ff.rpc.endpoints)),
        ("endpoint follow-up", j(&ff.endpoints)),
        ("applications", j(&ff.apps)),
        ("capture facts", j(&ff.capture)),
        ("findings", j(&findings)),
    ]
}

mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("serializable")
        }
    }
}

#[test]
fn large_capture_same_with_analyzers_on_one_or_three_threads() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("threads-24MB.pcap");
    let st = Command::new(env!("CARGO_BIN_EXE_mkcapture"))
        .arg(&out)
        .arg("24")
        .args(inputs())
        .status()
        .expect("mkcapture runs");
    assert!(st.success(), "mkcapture failed");
    for mode in [Mode::Analyze, Mode::Rpc] {
        // the calls as streamed to the caller (`rpc` prints them as they come)
        let run = |threads| {
            let mut streamed = Vec::new();
            let ff = analyze_file(&out, mode, threads, None, &mut |cs| {
                streamed.push(erased::Ser::json(&cs))
            })
            .unwrap();
            let mut d = digest(&ff);
            d.push(("calls streamed", streamed.concat()));
            (ff, d)
        };
        let (serial, a) = run(Threads::Serial);
        let (_, b) = run(Threads::Parallel);
        if mode == Mode::Analyze {
            assert!(serial.conversations.len() > 1000, "{}", serial.conversations.len());
            assert!(serial.rpc.calls.len() > 1000, "{}", serial.rpc.calls.len());
            assert!(!serial.apps.tls.is_empty() && !serial.apps.auth.events.is_empty());
        }
        for ((what, a), (_, b)) in a.into_iter().zip(b) {
            assert!(a.len() > 2 || mode == Mode::Rpc, "{what}: nothing to compare");
            if a != b {
                let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y);
                panic!("{what} differ (mode {}): first at byte {at:?}", mode == Mode::Rpc);
            }
        }
    }
}
