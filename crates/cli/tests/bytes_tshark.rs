//! `conversations --json` counts bytes as both tools do: `bytes` = frame bytes, as Wireshark's
//! conversation table (`tshark -z conv,tcp`), `ip_bytes` = IP bytes, as Zeek's
//! `orig_ip_bytes + resp_ip_bytes` (the IP total length of every packet).

#![allow(clippy::unwrap_used)]
use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;

fn lab(name: &str) -> String {
    format!("{}/../../tests/fixtures/lab/{name}.pcap", env!("CARGO_MANIFEST_DIR"))
}

/// tshark's TCP conversation table: "a:p <-> b:p" (both orders) → total frame bytes.
fn tshark_conv_bytes(path: &str) -> HashMap<(String, String), u64> {
    let out = Command::new("tshark")
        .args(["-n", "-r", path, "-q", "-z", "conv,tcp"])
        .output()
        .expect("tshark must be installed (/usr/bin/tshark)");
    let mut m = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        // a <-> b  frames bytes unit  frames bytes unit  frames bytes unit  start duration
        if w.len() >= 11 && w[1] == "<->" {
            // The total is the third (frames, bytes) pair; tshark prints bytes with a unit
            // ("643 kB"), so take the exact count from the frame lengths below instead.
            m.insert((w[0].to_string(), w[2].to_string()), 0);
        }
    }
    // Exact frame bytes per conversation from the frames themselves.
    let out = Command::new("tshark")
        .args(["-n", "-r", path, "-Y", "tcp", "-T", "fields", "-e", "frame.len"])
        .args(["-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport"])
        .args(["-e", "ip.len"])
        .output()
        .expect("tshark runs");
    let mut exact: HashMap<(String, String), u64> = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (a, b) = (format!("{}:{}", f[1], f[2]), format!("{}:{}", f[3], f[4]));
        let key = if m.contains_key(&(a.clone(), b.clone())) { (a, b) } else { (b, a) };
        *exact.entry(key).or_default() += f[0].parse::<u64>().unwrap();
    }
    exact
}

#[test]
fn bytes_are_frame_bytes_and_ip_bytes_are_ip_bytes() {
    for name in ["net-loss", "net-healthy", "rpc-fault"] {
        let path = lab(name);
        let want = tshark_conv_bytes(&path);
        let out = Command::new(env!("CARGO_BIN_EXE_tracehound"))
            .args(["conversations", "--json", "--proto", "tcp", &path])
            .output()
            .unwrap();
        let mut seen = 0;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let c: Value = serde_json::from_str(line).unwrap();
            let a = format!("{}:{}", c["src"].as_str().unwrap(), c["sport"]);
            let b = format!("{}:{}", c["dst"].as_str().unwrap(), c["dport"]);
            let frame = want.get(&(a.clone(), b.clone())).or(want.get(&(b, a))).copied();
            assert_eq!(c["bytes"].as_u64(), frame, "{name}: {c}");
            let per_dir =
                c["orig"]["bytes"].as_u64().unwrap() + c["resp"]["bytes"].as_u64().unwrap();
            assert_eq!(c["bytes"].as_u64(), Some(per_dir), "{name}");
            // IP bytes: frames minus the 14-byte Ethernet header of each packet.
            let packets = c["packets"].as_u64().unwrap();
            assert_eq!(c["ip_bytes"].as_u64(), frame.map(|f| f - 14 * packets), "{name}: {c}");
            seen += 1;
        }
        assert!(seen > 0, "{name}: no TCP conversation");
    }
}
