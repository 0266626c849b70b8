//! The TCP rules (tcp.*, capture.*) as registered in `rules::all()`, over the flows engine's
//! conversations of real captures: the shared captures named in issues 11 and 16
//! (../shared/captures, provenance in its SOURCES.md), a real nmap SYN scan
//! (tests/fixtures/lab/net-nmap-scan.pcap, bench/lab-nmap-scan.sh) and a SYN flood written by
//! bench/synflood.py (tests/fixtures/lab/net-syn-flood.pcap). Numbers are checked against
//! tshark's reading of the same files.

use std::path::{Path, PathBuf};

use tracehound_capture::CaptureReader;
use tracehound_findings::rules::{all, Facts};
use tracehound_findings::{CaptureFacts, Finding, Severity};
use tracehound_flows::{Config, Conversation, NoHandler, Pass};

fn shared(name: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures")).join(name);
    assert!(p.is_file(), "missing shared capture {}", p.display());
    p
}

fn lab(name: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab")).join(name);
    assert!(p.is_file(), "missing {}", p.display());
    p
}

fn convs(path: &Path) -> (Vec<Conversation>, CaptureFacts) {
    let mut r = CaptureReader::open(path).unwrap();
    let mut pass = Pass::new(Config::default());
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        pass.frame(&f, &mut NoHandler);
        out.extend(pass.take_finished());
    }
    out.extend(pass.finish(&mut NoHandler));
    out.sort_by_key(|c| c.info.id);
    let cap = CaptureFacts {
        frames: pass.decode_stats().frames,
        first_ts: out.iter().map(|c| c.start.as_secs_f64()).fold(f64::INFINITY, f64::min),
        last_ts: out.iter().map(|c| c.end.as_secs_f64()).fold(0.0, f64::max),
        ..Default::default()
    };
    (out, cap)
}

fn findings(path: &Path) -> Vec<Finding> {
    let (c, cap) = convs(path);
    let rpc = tracehound_rpc::RpcAnalyzer::new(Default::default()).finish();
    let apps = tracehound_apps::AppReport::default();
    let facts = Facts {
        file: "test",
        capture: &cap,
        conversations: &c,
        rpc: &rpc,
        endpoints: &[],
        apps: &apps,
    };
    let mut out = Vec::new();
    for r in all() {
        (r.check)(&facts, &mut out);
    }
    out
}

fn tshark_frames(path: &Path, filter: &str) -> Vec<u64> {
    let out = std::process::Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("tshark is required for this test");
    assert!(out.status.success(), "tshark failed on {filter}");
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn ids(v: &[Finding]) -> Vec<(&'static str, Severity)> {
    v.iter().map(|f| (f.id, f.severity)).collect()
}

fn serious(f: &Finding) -> bool {
    matches!(f.severity, Severity::Problem | Severity::Warning)
}

#[test]
fn registered() {
    let names: Vec<&str> = all().iter().map(|r| r.name).collect();
    for n in ["tcp.scan", "tcp.injected_data", "tcp.reset", "tcp.loss", "tcp.connect", "capture"] {
        assert!(names.contains(&n), "{n}");
    }
}

#[test]
fn spurious_retransmissions_are_not_loss() {
    // zerologon: tshark marks the retransmissions spurious, the Linux receiver D-SACKs them;
    // the ACKs were late (90-140 ms), nothing was lost.
    let p = shared("dcerpc/dcerpc__zerologon__input.pcap");
    assert!(!tshark_frames(&p, "tcp.analysis.spurious_retransmission").is_empty());
    assert!(!tshark_frames(&p, "tcp.options.sack.dsack_le").is_empty());
    let v = findings(&p);
    assert!(!v.iter().any(|f| f.id == "tcp.loss" && serious(f)), "{:?}", ids(&v));
}

#[test]
fn rto_time_never_exceeds_the_capture() {
    // zeek__reassembly.pcap: 14.4 s long; the silences before timeout retransmissions add up
    // to ~9 s (tshark: frame.time_delta before frames 35, 64, 68, 112).
    let p = shared("tcp/zeek__reassembly.pcap");
    let (_, cap) = convs(&p);
    let span = cap.last_ts - cap.first_ts;
    let v = findings(&p);
    let loss = v.iter().find(|f| f.id == "tcp.loss").expect("tcp.loss");
    let stall = loss.evidence.values["rto_stall_secs"].as_f64().unwrap();
    assert!(stall <= span, "{stall} > {span}");
    assert!((8.0..10.0).contains(&stall), "{stall}");
}

#[test]
fn bad_checksums_on_received_packets_are_not_offload() {
    // zeek__reassembly.pcap: the capture host 128.3.97.175 sends with TTL 64; the packets with
    // bad TCP checksums come from 63.193.213.194 with TTL 116/117 (routed): not offload.
    let p = shared("tcp/zeek__reassembly.pcap");
    let bad = tshark_frames(&p, "tcp.checksum.status == 0 && ip.src == 63.193.213.194");
    let bad_ttl = tshark_frames(&p, "tcp.checksum.status == 0 && ip.ttl < 120");
    let opts = ["-o", "tcp.check_checksum:TRUE"];
    let _ = opts; // tshark only flags bad checksums when asked; counted below with the option
    let out = std::process::Command::new("tshark")
        .args(["-n", "-o", "tcp.check_checksum:TRUE", "-r"])
        .arg(&p)
        .args(["-Y", "tcp.checksum.status == 0", "-T", "fields", "-e", "ip.src", "-e", "ip.ttl"])
        .output()
        .expect("tshark");
    let rows = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(rows.lines().count() > 0 && rows.lines().all(|l| l.starts_with("63.193.213.194\t11")));
    assert_eq!(bad.len(), bad_ttl.len());
    let v = findings(&p);
    assert!(
        !v.iter().any(|f| f.id == "capture.artifact" && f.title.contains("offload")),
        "{:?}",
        ids(&v)
    );
    assert!(v.iter().any(|f| f.id == "capture.bad_checksums_received"));
    // Offload on a real sender still is: zeek__ssh-dups.pcap, TTL 64 both ways, LAN.
    let v = findings(&shared("tcp/zeek__ssh-dups.pcap"));
    assert!(v.iter().any(|f| f.id == "capture.artifact" && f.title.contains("offload")));
}

#[test]
fn duplicates_are_counted_exactly_and_retries_are_not_duplicates() {
    let v = findings(&shared("tcp/zeek__ssh-dups.pcap"));
    let d = v.iter().find(|f| f.id == "capture.artifact" && f.title.contains("appear")).unwrap();
    // 92 packets four times and 2 three times (tshark, see crates/flows/tests/forensics.rs).
    assert_eq!(d.evidence.values["packets_copied"], 94);
    assert_eq!(d.evidence.values["duplicate_packets"], 280);
    assert_eq!(d.evidence.values["max_appearances"], 4);
    // option-sack: four SYNs seconds apart with different options are retransmissions.
    let v = findings(&shared("tcp/zeek__option-sack.pcap"));
    assert!(!v.iter().any(|f| f.id == "capture.artifact"), "{:?}", ids(&v));
}

#[test]
fn one_syn_at_the_edge_of_a_capture_proves_nothing() {
    for n in ["tcp/zeek__syn.pcap", "tcp/zeek__syn-bad.pcap"] {
        let p = shared(n);
        assert_eq!(tshark_frames(&p, "tcp.flags == 0x002").len(), 1);
        let v = findings(&p);
        assert!(!v.iter().any(serious), "{n}: {:?}", ids(&v));
        let f = v.iter().find(|f| f.id == "tcp.connect_unanswered").expect(n);
        assert_eq!(f.severity, Severity::Info);
        assert!(f.explanation.contains("Not known"));
    }
}

#[test]
fn forged_reset_and_injected_data_are_problems() {
    let v = findings(&shared("tcp/zeek__rst-inject-rae.pcap"));
    let r = v.iter().find(|f| f.id == "tcp.injected_reset").expect("tcp.injected_reset");
    assert_eq!(r.severity, Severity::Problem);
    assert_eq!(r.evidence.frames, vec![2]);
    assert_eq!(r.evidence.values["rst_ttl"], 46);
    assert_eq!(r.evidence.values["sender_ttl"], 49);

    let p = shared("tcp/zeek__qi_internet_SYNACK_curl_jsonip.pcap");
    let v = findings(&p);
    let d = v.iter().find(|f| f.id == "tcp.injected_data").expect("tcp.injected_data");
    assert_eq!(d.severity, Severity::Problem);
    assert_eq!(d.evidence.frames, vec![5, 9]);
    // Frame 5 (TTL 56) is the odd one: the server's other packets arrive with TTL 54.
    assert_eq!(d.evidence.values["forged_frame"], 5);
    assert_eq!(tshark_frames(&p, "ip.src == 96.126.98.124 && ip.ttl == 56"), vec![5]);

    // Nowhere else among the shared captures and the lab fixtures.
    let root = shared("tcp/zeek__syn.pcap").parent().unwrap().join("..");
    let lab_dir = lab("net-nmap-scan.pcap").parent().unwrap().to_path_buf();
    for dir in [root.join("tcp"), root.join("dcerpc"), root.join("tls"), lab_dir] {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let pcap = name.ends_with(".pcap") || name.ends_with(".pcapng");
            if !pcap || name.contains("rst-inject") || name.contains("qi_internet") {
                continue;
            }
            let v = findings(&path);
            assert!(
                !v.iter().any(|f| f.id == "tcp.injected_reset" || f.id == "tcp.injected_data"),
                "{name}: {:?}",
                ids(&v)
            );
        }
    }
}

#[test]
fn nmap_scan_is_one_scan_finding() {
    // bench/lab-nmap-scan.sh: nmap -sS -p 1-2000 of 10.89.1.2 (22 and 1080 open, 1500-1999
    // dropped). One tcp.scan, and no connect finding per scanned port.
    let p = lab("net-nmap-scan.pcap");
    let v = findings(&p);
    let s: Vec<&Finding> = v.iter().filter(|f| f.id == "tcp.scan").collect();
    assert_eq!(s.len(), 1, "{:?}", ids(&v));
    let e = &s[0].evidence.values;
    assert_eq!(e["source"], "10.89.1.1");
    assert_eq!(e["ports"], 2000);
    assert_eq!(e["hosts"], 1);
    let synacks = tshark_frames(&p, "tcp.flags == 0x012").len();
    let rsts = tshark_frames(&p, "tcp.flags.reset == 1 && ip.src == 10.89.1.2").len();
    assert_eq!(e["open"], synacks);
    assert_eq!(e["closed"], rsts);
    assert_eq!(e["attempts"], tshark_frames(&p, "tcp.flags == 0x002").len());
    assert!(!s[0].evidence.frames.is_empty());
    assert!(!v.iter().any(|f| f.id.starts_with("tcp.connect")), "{:?}", ids(&v));
    // nmap's raw SYNs carry random TTLs; the kernel's RST after a SYN-ACK is not forged.
    assert!(!v.iter().any(|f| serious(f) && f.id != "tcp.scan"), "{:?}", ids(&v));
}

#[test]
fn syn_flood_names_the_service_and_top_sources() {
    // bench/synflood.py --write flood --count 3000 --seconds 6: spoofed single SYNs to
    // 10.89.0.10:443, nothing answers.
    let p = lab("net-syn-flood.pcap");
    let v = findings(&p);
    let f = v.iter().find(|f| f.id == "tcp.syn_flood").expect("tcp.syn_flood");
    assert_eq!(f.severity, Severity::Problem);
    let e = &f.evidence.values;
    assert_eq!(e["address"], "10.89.0.10");
    assert_eq!(e["port"], 443);
    assert_eq!(e["attempts"], tshark_frames(&p, "tcp.flags == 0x002 && tcp.dstport == 443").len());
    let top = e["top_sources"].as_array().unwrap();
    assert_eq!(top.len(), 10);
    assert!(top[0]["attempts"].as_u64().unwrap() >= top[9]["attempts"].as_u64().unwrap());
    assert!(!f.evidence.frames.is_empty());
    assert!(
        !v.iter().any(|f| f.id == "tcp.scan" || f.id.starts_with("tcp.connect")),
        "{:?}",
        ids(&v)
    );
}
