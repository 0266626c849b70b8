//! `conversations` names a pcapng's interfaces by their IDB `if_name`: the real capture
//! crates/capture/tests/data/two-named-interfaces.pcapng (TCP traffic dumpcap captured on
//! two veth interfaces at once, made by make-two-named-interfaces.sh there), with tshark's
//! `frame.interface_name` of each conversation's packets as the oracle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn file() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../capture/tests/data/two-named-interfaces.pcapng"
    ))
}

fn run(args: &[&str]) -> String {
    let out =
        Command::new(env!("CARGO_BIN_EXE_tracehound")).args(args).arg(file()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn conversations_name_pcapng_interfaces_like_tshark() {
    // tshark: (client ip, client port) -> interface names of its packets.
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file())
        .args(["-Y", "tcp", "-T", "fields", "-E", "separator=,"])
        .args(["-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport"])
        .args(["-e", "frame.interface_name"])
        .output()
        .expect("tshark is required");
    assert!(out.status.success());
    let mut want: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Vec<&str> = line.split(',').collect();
        let key = if v[3] == "8080" { (v[0], v[1]) } else { (v[2], v[3]) };
        let names = want.entry((key.0.to_string(), key.1.to_string())).or_default();
        if !names.contains(&v[4].to_string()) {
            names.push(v[4].to_string());
        }
    }
    assert!(want.len() >= 4, "{want:?}");
    assert!(want.values().all(|n| n.len() == 1));
    let convs: Vec<Value> = run(&["conversations", "--json", "--top", "100"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut seen = 0;
    for c in convs.iter().filter(|c| c["proto"] == "tcp") {
        let key = (c["src"].as_str().unwrap().to_string(), c["sport"].to_string());
        assert_eq!(c["interface"].as_str(), Some(want[&key][0].as_str()), "{c}");
        seen += 1;
    }
    assert_eq!(seen, want.len());
    let names: Vec<&str> = want.values().map(|n| n[0].as_str()).collect();
    assert!(names.contains(&"th3va0") && names.contains(&"th3va1"));
    // The text table: an INTERFACE column with the same names.
    let t = run(&["conversations", "--top", "100"]);
    assert!(t.lines().next().unwrap().trim_end().ends_with("INTERFACE"), "{t}");
    let rows = |n: &str| {
        t.lines()
            .filter(|l| l.contains(" tcp ") || l.starts_with("tcp"))
            .filter(|l| l.trim_end().ends_with(n))
            .count()
    };
    assert_eq!(rows("th3va0") + rows("th3va1"), want.len(), "{t}");
}
