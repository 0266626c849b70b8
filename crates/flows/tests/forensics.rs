//! The engine's forensics (duplicates, D-SACK, resets, conflicting data) on the shared
//! captures named in issue 16 (../shared/captures, provenance in its SOURCES.md), each
//! number cross-checked with tshark's reading of the same file.

use std::path::{Path, PathBuf};

use tracehound_capture::CaptureReader;
use tracehound_flows::{Config, Conversation, NoHandler, Pass};

fn shared(name: &str) -> PathBuf {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures")).join(name);
    assert!(p.is_file(), "missing shared capture {}", p.display());
    p
}

fn convs(path: &Path) -> Vec<Conversation> {
    let mut r = CaptureReader::open(path).unwrap();
    let mut pass = Pass::new(Config::default());
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        pass.frame(&f, &mut NoHandler);
        out.extend(pass.take_finished());
    }
    out.extend(pass.finish(&mut NoHandler));
    out
}

/// Frame numbers tshark selects with `filter`.
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

fn tshark_fields(path: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = std::process::Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(path).args(["-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("tshark is required for this test");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn dsack_marks_the_zerologon_retransmissions_spurious() {
    // 172.16.0.10 (Linux) answers the server's and its own peer's late retransmissions with
    // D-SACKs: the data had arrived, the ACKs were late. Every retransmission tshark calls
    // spurious is spurious for us too (by its flag or a D-SACK), every D-SACKed frame is a
    // retransmission for tshark, and the D-SACK blocks are tshark's.
    let p = shared("dcerpc/dcerpc__zerologon__input.pcap");
    let cs = convs(&p);
    let ours: Vec<u64> = cs.iter().flat_map(|c| c.spurious_retx.iter().copied()).collect();
    let flagged: Vec<u64> = cs
        .iter()
        .flat_map(|c| c.events.iter())
        .filter(|e| e.flag == tracehound_flows::TcpFlag::SpuriousRetransmission)
        .map(|e| e.frame)
        .collect();
    let retx = tshark_frames(&p, "tcp.analysis.retransmission");
    for f in tshark_frames(&p, "tcp.analysis.spurious_retransmission") {
        assert!(ours.contains(&f) || flagged.contains(&f), "frame {f} not known spurious");
    }
    for f in &ours {
        assert!(retx.contains(f), "frame {f} is not a retransmission for tshark");
    }
    let dsacks: u64 = cs.iter().map(|c| c.dsack_blocks[0] + c.dsack_blocks[1]).sum();
    assert_eq!(dsacks, tshark_frames(&p, "tcp.options.sack.dsack_le").len() as u64);
    assert!(ours.len() >= 11, "{ours:?}");
}

/// Runs of identical packets per sender in tshark's reading: (packets copied, extra copies,
/// most appearances), with the same closeness rule as the engine.
fn tshark_dup_runs(p: &Path) -> (u64, u64, u32) {
    let rows = tshark_fields(
        p,
        &[
            "frame.time_epoch",
            "ip.src",
            "ip.id",
            "ip.len",
            "tcp.seq_raw",
            "tcp.ack_raw",
            "tcp.flags",
            "tcp.window_size_value",
            "tcp.options",
        ],
    );
    let mut last: std::collections::HashMap<String, (Vec<String>, f64, u32)> = Default::default();
    let mut runs: Vec<u32> = Vec::new();
    for r in rows {
        let t: f64 = r[0].parse().unwrap();
        let key = r[1..].to_vec();
        let gap = if r[2] == "0x0000" { 1e-6 } else { 5e-3 };
        let e = last.entry(r[1].clone()).or_insert((Vec::new(), f64::MIN, 0));
        if e.0 == key && t - e.1 <= gap + 1e-9 {
            e.2 += 1;
        } else {
            if e.2 > 1 {
                runs.push(e.2);
            }
            *e = (key, t, 1);
        }
        e.1 = t;
    }
    runs.extend(last.values().map(|v| v.2).filter(|n| *n > 1));
    let copies = runs.iter().map(|n| u64::from(n - 1)).sum();
    (runs.len() as u64, copies, runs.iter().copied().max().unwrap_or(0))
}

#[test]
fn duplicates_are_counted_exactly() {
    // zeek__ssh-dups.pcap: most packets appear four times (the sender's IP ID is 0, copies
    // have the same timestamp).
    let p = shared("tcp/zeek__ssh-dups.pcap");
    let cs = convs(&p);
    let copied: u64 = cs.iter().map(|c| c.duplicated_packets).sum();
    let copies: u64 = cs.iter().map(|c| c.duplicate_packets).sum();
    let max = cs.iter().map(|c| c.duplicate_max_copies).max().unwrap_or(0);
    assert_eq!((copied, copies, max), tshark_dup_runs(&p));
    assert_eq!(max, 4);
    // zeek__option-sack.pcap: four SYNs, seconds apart, each with other SACK options: tshark
    // calls three of them retransmissions; none is a capture duplicate.
    let p = shared("tcp/zeek__option-sack.pcap");
    assert_eq!(tshark_frames(&p, "tcp.analysis.retransmission").len(), 3);
    assert!(convs(&p).iter().all(|c| c.duplicate_packets == 0));
    // The zerologon client's duplicate ACKs (IP ID 0, ~20 µs apart) are real ACKs.
    let p = shared("dcerpc/dcerpc__zerologon__input.pcap");
    assert_eq!(convs(&p).iter().map(|c| c.duplicate_packets).sum::<u64>(), 0);
    assert_eq!(tshark_dup_runs(&p).1, 0);
}

#[test]
fn forged_reset_is_described() {
    // zeek__rst-inject-rae.pcap: frame 2, a RST "from" 1.2.0.3 before its SYN-ACK, with TTL
    // 46 (its own packets: 49), the client's IP ID, acknowledging the client's ISN itself.
    let p = shared("tcp/zeek__rst-inject-rae.pcap");
    let rows =
        tshark_fields(&p, &["frame.number", "ip.ttl", "ip.id", "tcp.seq_raw", "tcp.ack_raw"]);
    let isn = &rows[0][3];
    let forged: Vec<&Vec<String>> = rows.iter().filter(|r| &r[4] == isn).collect();
    assert_eq!(forged.len(), 1);
    let cs = convs(&p);
    assert_eq!(cs.len(), 1);
    let c = &cs[0];
    let r = c.rsts.iter().find(|r| r.frame.to_string() == forged[0][0]).expect("rst described");
    assert!(r.acks_peer_isn);
    assert_eq!(r.ttl.to_string(), forged[0][1]);
    assert_eq!(c.ttl[r.dir.idx()], Some(49));
    assert_eq!(Some(r.ip_id), r.peer_ip_id); // copied from the client's SYN
    assert!(!r.ip_id_continues());
    assert!(r.packets_after > 0);
    // The server's own later RST continues its IP ID sequence.
    assert!(c.rsts.iter().any(|r| !r.acks_peer_isn && r.ip_id_continues()));
}

#[test]
fn conflicting_data_at_one_sequence_number_is_found() {
    // zeek__qi_internet_SYNACK_curl_jsonip.pcap: frame 5 (TTL 56, "Content-Length: 5 BANG!")
    // and frame 9 (TTL 54, the server's real answer) both start at the same sequence number.
    let p = shared("tcp/zeek__qi_internet_SYNACK_curl_jsonip.pcap");
    let rows = tshark_fields(&p, &["frame.number", "ip.ttl", "tcp.seq_raw", "tcp.len"]);
    let data: Vec<&Vec<String>> = rows.iter().filter(|r| r[3] != "0").collect();
    let same: Vec<&&Vec<String>> =
        data.iter().filter(|r| data.iter().filter(|o| o[2] == r[2]).count() > 1).collect();
    assert_eq!(same.len(), 2);
    let c = convs(&p);
    let d: Vec<_> = c.iter().flat_map(|c| c.data_conflicts.iter()).collect();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].first_frame.to_string(), same[0][0]);
    assert_eq!(d[0].second_frame.to_string(), same[1][0]);
    assert_eq!(d[0].first_ttl.to_string(), same[0][1]);
    assert_eq!(d[0].second_ttl.to_string(), same[1][1]);
    // No conflict anywhere else in the shared TCP captures.
    for e in std::fs::read_dir(shared("tcp/zeek__syn.pcap").parent().unwrap()).unwrap() {
        let path = e.unwrap().path();
        if path.ends_with("zeek__qi_internet_SYNACK_curl_jsonip.pcap") {
            continue;
        }
        let n: usize = convs(&path).iter().map(|c| c.data_conflicts.len()).sum();
        assert_eq!(n, 0, "{}", path.display());
    }
}

#[test]
fn frame_bytes_are_wiresharks() {
    // Wireshark's conversation table counts frame bytes (frame.len) per direction.
    for n in ["tcp/zeek__reassembly.pcap", "dcerpc/dcerpc__zerologon__input.pcap"] {
        let p = shared(n);
        let rows =
            tshark_fields(&p, &["ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "frame.len"]);
        for c in convs(&p).iter().filter(|c| c.info.proto == tracehound_flows::Proto::Tcp) {
            for d in [tracehound_flows::Dir::Orig, tracehound_flows::Dir::Resp] {
                let (s, t) = (c.info.src(d), c.info.dst(d));
                let key = [
                    s.ip().to_string(),
                    s.port().to_string(),
                    t.ip().to_string(),
                    t.port().to_string(),
                ];
                let mine = rows.iter().filter(|r| r[..4] == key[..]);
                let frames: u64 = mine.map(|r| r[4].parse::<u64>().unwrap()).sum();
                if c.dirs[d.idx()].packets > 0 {
                    assert_eq!(c.dirs[d.idx()].frame_bytes, frames, "{n} {s}");
                }
            }
        }
    }
}
