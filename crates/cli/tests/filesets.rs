//! File sets read as one capture (crates/pipeline/src/fileset.rs), end to end on real captures
//! cut into ring-buffer files by `editcap -c N` (packet count) and `editcap -i S` (seconds):
//! the lab fixtures in tests/fixtures/lab (made by lab/*.sh with real peers) and the shared
//! DCE/RPC captures in ../shared/captures/dcerpc (provenance in its SOURCES.md).
//!
//! What the set gives must equal what the unsplit capture gives (conversations with their
//! counts and states, calls with their responses, findings), with every frame reference
//! pointing at the right file and that file's own frame (checked against tshark reading the
//! split files).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn th() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tracehound"))
}

fn lab(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lab").join(name);
    assert!(p.is_file(), "lab fixture missing: {}", p.display());
    p
}

fn shared(name: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures")).join(name);
    assert!(p.is_file(), "shared capture missing: {}", p.display());
    p
}

/// A fresh directory for one test.
fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("th-filesets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `editcap ARGS src DIR/ring.pcap`: dumpcap-style ring-buffer names
/// (`ring_00000_YYYYMMDDhhmmss.pcap`); the files in name order.
fn split(src: &Path, args: &[&str], dir: &Path) -> Vec<PathBuf> {
    let out = Command::new("editcap")
        .args(args)
        .arg(src)
        .arg(dir.join("ring.pcap"))
        .output()
        .expect("editcap (wireshark-common) is needed");
    assert!(out.status.success(), "editcap: {}", String::from_utf8_lossy(&out.stderr));
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    assert!(v.len() >= 2, "{}: split into {} file(s)", src.display(), v.len());
    v
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1 || c == 4),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Frames per file, counted by tshark: the offsets of the files in the unsplit numbering.
fn offsets(files: &[PathBuf]) -> Vec<(String, u64)> {
    let mut v = Vec::new();
    let mut off = 0;
    for f in files {
        v.push((f.display().to_string(), off));
        off += tshark(f, "frame", &["frame.number"]).len() as u64;
    }
    v
}

/// tshark's fields of the frames matching `filter`, one Vec per frame.
fn tshark(f: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut c = Command::new("tshark");
    c.arg("-n").arg("-r").arg(f).arg("-Y").arg(filter).arg("-T").arg("fields");
    for x in fields {
        c.arg("-e").arg(x);
    }
    let out = c.output().expect("tshark is needed");
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// (file, frame) of a set record → the unsplit capture's frame number.
fn global(offs: &[(String, u64)], file: &str, frame: u64) -> u64 {
    let (_, off) = offs.iter().find(|(f, _)| f == file).unwrap_or_else(|| panic!("file {file}"));
    off + frame
}

/// The fields of a record that do not depend on frame numbering or file names.
fn strip(mut v: Value, frame_keys: &[&str]) -> Value {
    let o = v.as_object_mut().unwrap();
    for k in frame_keys.iter().chain(&["file", "last_file", "response_file"]) {
        o.remove(*k);
    }
    v
}

/// conversations --json over the set (a directory) equals the unsplit capture's: the same
/// conversations with the same counts and states, first/last frame resolved to the right file
/// and frame; a flow crossing a file boundary is one conversation.
#[test]
fn conversations_over_a_ring_buffer_equal_the_unsplit_capture() {
    for (i, (src, n)) in [
        (lab("rpc-epm-map-then-call.pcap"), "6"),
        (lab("net-loss.pcap"), "100"),
        (shared("dcerpc/dcerpc-smb-test-01__input.pcap"), "40"),
    ]
    .iter()
    .enumerate()
    {
        let dir = tmp(&format!("conv{i}"));
        let files = split(src, &["-c", n], &dir);
        let offs = offsets(&files);
        let whole = json_lines(&run(th().args(["conversations", "--json"]).arg(src)));
        let set_out = run(th().args(["conversations", "--json"]).arg(&dir));
        let set = json_lines(&set_out);
        assert_eq!(whole.len(), set.len(), "{}: conversation count", src.display());
        let mut crossing = 0;
        for (k, (w, s)) in whole.iter().zip(&set).enumerate() {
            let file = s["file"].as_str().unwrap();
            let last_file = s["last_file"].as_str().unwrap_or(file);
            crossing += usize::from(file != last_file);
            let first = global(&offs, file, s["first_frame"].as_u64().unwrap());
            let last = global(&offs, last_file, s["last_frame"].as_u64().unwrap());
            assert_eq!(first, w["first_frame"].as_u64().unwrap(), "{s}");
            assert_eq!(last, w["last_frame"].as_u64().unwrap(), "{s}");
            let keys = ["first_frame", "last_frame", "syn_frames", "synack_frame", "rst_frames"];
            let (mut a, mut b) = (strip(w.clone(), &keys), strip(s.clone(), &keys));
            for v in [&mut a, &mut b] {
                // per-direction frame lists (ack frames of stalls) are file-local in a set
                v.as_object_mut().unwrap().remove("nagle");
                v.as_object_mut().unwrap().remove("events");
            }
            assert_eq!(a, b, "{}", src.display());
            // tshark on the split file (a few records, and those crossing a boundary): the
            // first frame is this conversation's packet
            if k >= 2 && (file == last_file || crossing > 2) {
                continue;
            }
            let hit = tshark(
                Path::new(file),
                &format!("frame.number == {}", s["first_frame"]),
                &["ip.src", "ip.dst"],
            );
            let ends = [s["src"].as_str().unwrap_or(""), s["dst"].as_str().unwrap_or("")];
            assert!(
                hit.len() == 1 && ends.contains(&hit[0][0].as_str()),
                "{file} frame {}: tshark says {hit:?}, record {s}",
                s["first_frame"]
            );
        }
        assert!(crossing > 0, "{}: no conversation crossed a file boundary", src.display());
        let err = String::from_utf8_lossy(&set_out.stderr);
        assert!(err.contains(&format!("one capture ({} files", files.len())), "{err}");
    }
}

/// rpc --json over the set equals the unsplit capture's calls; a call whose response is in
/// the next file is one call, with `response_file`; tshark finds the request and the
/// response at the (file, frame) given.
#[test]
fn rpc_calls_across_files_are_one_call() {
    for (i, (src, n)) in [
        (lab("rpc-epm-map-then-call.pcap"), "6"),
        (shared("dcerpc/dcerpc-smb-test-01__input.pcap"), "25"),
        (shared("dcerpc/dcerpc__dcerpc-dce-iface-01__20171220_smb_psexec_mimikatz_ticket_dump-s2.pcap"), "7"),
    ]
    .iter()
    .enumerate()
    {
        let dir = tmp(&format!("rpc{i}"));
        let files = split(src, &["-c", n], &dir);
        let offs = offsets(&files);
        let whole = json_lines(&run(th().args(["rpc", "--json"]).arg(src)));
        let set = json_lines(&run(th().args(["rpc", "--json"]).args(&files)));
        assert!(!whole.is_empty(), "{}", src.display());
        assert_eq!(whole.len(), set.len(), "{}: call count", src.display());
        let mut spanning = 0;
        for (k, (w, s)) in whole.iter().zip(&set).enumerate() {
            let file = s["file"].as_str().unwrap();
            let rfile = s["response_file"].as_str().unwrap_or(file);
            spanning += usize::from(file != rfile);
            assert_eq!(global(&offs, file, s["frame"].as_u64().unwrap()), w["frame"], "{s}");
            if let Some(r) = s["response_frame"].as_u64() {
                assert_eq!(global(&offs, rfile, r), w["response_frame"], "{s}");
            }
            // tshark on the split files (a few calls, and those spanning two files): a DCE/RPC
            // response (or the SMB message carrying it) at the response's (file, frame)
            if let Some(r) = s["response_frame"].as_u64().filter(|_| k < 2 || (file != rfile && spanning <= 2)) {
                let pkt = tshark(Path::new(rfile), &format!("frame.number == {r} && (dcerpc.pkt_type == 2 || dcerpc.pkt_type == 3 || smb2 || smb)"), &["frame.number"]);
                assert_eq!(pkt.len(), 1, "{rfile} frame {r}: no DCE/RPC response or SMB there");
            }
            let keys = ["frame", "response_frame"];
            assert_eq!(strip(w.clone(), &keys), strip(s.clone(), &keys), "{}", src.display());
        }
        if i == 0 {
            assert!(spanning > 0, "no call had its response in the next file");
        }
    }
}

/// analyze over the set raises the findings of the unsplit capture, its evidence frames in
/// the right files; text evidence says "FILE frame N".
#[test]
fn analyze_over_a_set_equals_the_unsplit_capture() {
    for (i, (src, n)) in
        [(lab("net-loss.pcap"), "100"), (lab("rpc-epm-map-then-call.pcap"), "6")].iter().enumerate()
    {
        let dir = tmp(&format!("analyze{i}"));
        let files = split(src, &["-c", n], &dir);
        let offs = offsets(&files);
        let whole = json_lines(&run(th().args(["analyze", "--json"]).arg(src)));
        let set = json_lines(&run(th().args(["analyze", "--json"]).arg(&dir)));
        let ids = |v: &[Value]| v.iter().map(|f| f["id"].to_string()).collect::<Vec<_>>();
        assert!(!whole.is_empty());
        assert_eq!(ids(&whole), ids(&set), "{}", src.display());
        for (w, s) in whole.iter().zip(&set) {
            let ev = &s["evidence"];
            let frames = ev["frames"].as_array().unwrap();
            let file = ev["file"].as_str().unwrap();
            let files: Vec<&str> = match ev["values"]["frame_files"].as_array() {
                Some(a) => a.iter().map(|f| f.as_str().unwrap()).collect(),
                None => vec![file; frames.len()],
            };
            let resolved: Vec<u64> = frames
                .iter()
                .zip(&files)
                .map(|(n, f)| global(&offs, f, n.as_u64().unwrap()))
                .collect();
            let want: Vec<u64> = w["evidence"]["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_u64().unwrap())
                .collect();
            assert_eq!(resolved, want, "{}: {}", src.display(), s["id"]);
            assert_eq!(w["severity"], s["severity"]);
        }
        let text = run(th().arg("analyze").arg(&dir));
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("ring_0000"), "{text}");
    }
}

/// Text evidence of a set names the file of every frame ("ring_00001_….pcap frame 3"), and
/// that file's frame is the one the unsplit capture's text names (files' frame counts from tshark).
#[test]
fn text_evidence_names_file_and_frame() {
    for (i, src) in [lab("net-dns-failure.pcap"), lab("net-service-reset.pcap")].iter().enumerate()
    {
        let dir = tmp(&format!("text{i}"));
        let files = split(src, &["-c", "5"], &dir);
        let offs = offsets(&files);
        let whole = run(th().arg("analyze").arg(src));
        let whole = String::from_utf8_lossy(&whole.stdout).into_owned();
        let set = run(th().arg("analyze").arg(&dir));
        let set = String::from_utf8_lossy(&set.stdout).into_owned();
        // every "frame N" (N a whole number) with the word before it
        let refs = |t: &str| -> Vec<(String, u64)> {
            let mut v = Vec::new();
            for (at, _) in t.match_indices("frame ") {
                let rest = &t[at + 6..];
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 || rest[n..].starts_with('.') {
                    continue;
                }
                let before = t[..at].trim_end().rsplit([' ', '(', '\n']).next().unwrap();
                v.push((before.to_string(), rest[..n].parse().unwrap()));
            }
            v
        };
        let want: Vec<u64> = refs(&whole).iter().map(|r| r.1).collect();
        let got = refs(&set);
        assert!(!want.is_empty(), "{}: no frame in the text", src.display());
        assert_eq!(got.len(), want.len(), "{set}");
        for ((file, n), w) in got.iter().zip(&want) {
            assert!(file.contains("ring_0"), "{file} frame {n}: no file named");
            assert_eq!(global(&offs, file, *n), *w, "{file} frame {n}");
        }
    }
}

/// Names as tcpdump -C writes them (`trace.pcap`, `trace.pcap1` … `trace.pcap10`), given in
/// a shuffled order: read in time order as one capture. A time split (`editcap -i`) too.
#[test]
fn tcpdump_names_and_time_splits() {
    let src = shared("dcerpc/dcerpc-smb-test-01__input.pcap");
    let whole = json_lines(&run(th().args(["conversations", "--json"]).arg(&src)));
    let dir = tmp("tcpdump");
    let files = split(&src, &["-c", "15"], &dir);
    assert!(files.len() >= 11, "want two-digit numbers");
    let mut named = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let to = dir.join(if i == 0 { "trace.pcap".to_string() } else { format!("trace.pcap{i}") });
        std::fs::rename(f, &to).unwrap();
        named.push(to);
    }
    named.reverse();
    let set = json_lines(&run(th().args(["conversations", "--json"]).args(&named)));
    let counts = |v: &[Value]| {
        v.iter().map(|c| (c["packets"].clone(), c["state"].clone())).collect::<Vec<_>>()
    };
    assert_eq!(counts(&whole), counts(&set));

    let dir = tmp("bytime");
    let files = split(&src, &["-i", "2"], &dir);
    let set = json_lines(&run(th().args(["conversations", "--json"]).args(&files)));
    assert_eq!(counts(&whole), counts(&set));
}

/// Two files that overlap in time are two capture points: not joined, each analysed alone
/// (analyze compares them), and --separate reads every file alone.
#[test]
fn overlapping_files_and_separate() {
    let src = lab("rpc-epm-map-then-call.pcap");
    let whole = json_lines(&run(th().args(["conversations", "--json"]).arg(&src)));
    let dir = tmp("overlap");
    let (a, b) =
        (dir.join("dc_00001_20261121113454.pcap"), dir.join("dc_00002_20261121113454.pcap"));
    std::fs::copy(&src, &a).unwrap();
    std::fs::copy(&src, &b).unwrap();
    let out = run(th().args(["conversations", "--json"]).arg(&dir));
    let set = json_lines(&out);
    assert_eq!(set.len(), 2 * whole.len());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("alone (1 file").count(), 2, "{err}");
    for (s, w) in set.iter().zip(whole.iter().chain(&whole)) {
        assert_eq!(s["first_frame"], w["first_frame"]);
        assert_eq!(s["packets"], w["packets"]);
    }
    // analyze: the two capture points are compared (findings name both files)
    let out = run(th().args(["analyze", "--json"]).arg(&dir));
    assert!(!json_lines(&out).is_empty());

    // --separate: each ring file alone, as if given one by one
    let dir = tmp("separate");
    let files = split(&src, &["-c", "6"], &dir);
    let sep = run(th().args(["conversations", "--json", "--separate"]).arg(&dir));
    let mut one_by_one = Vec::new();
    for f in &files {
        let o = run(th().args(["conversations", "--json"]).arg(f));
        for mut v in json_lines(&o) {
            v["file"] = Value::String(f.display().to_string());
            one_by_one.push(v);
        }
    }
    assert_eq!(json_lines(&sep), one_by_one);
    assert!(!String::from_utf8_lossy(&sep.stderr).contains("one capture"));
}

/// A single file: no file-set line on standard error, output unchanged by the feature.
#[test]
fn a_single_file_says_nothing_about_sets() {
    let src = lab("rpc-epm-map-then-call.pcap");
    let out = run(th().args(["rpc", "--json"]).arg(&src));
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
    assert!(json_lines(&out).iter().all(|c| c.get("file").is_none()));
}
