//! Every call's JSON `ts` (as `tracehound rpc --json` writes it: `serde_json` over [`Call`])
//! equals tshark's `frame.time_epoch` of the call's frame to the microsecond, on every shared
//! dcerpc capture (provenance in ../shared/captures/SOURCES.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::collections::HashMap;

/// Microseconds since the epoch from a decimal text such as `1600090212.346843000` (digits
/// beyond the 6th are dropped: both sides print the same exact value).
fn micros(s: &str) -> i128 {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let neg = int.starts_with('-');
    let i: i128 = int.trim_start_matches('-').parse().unwrap_or_else(|_| panic!("bad ts {s}"));
    let mut f = String::from(frac);
    f.truncate(6);
    while f.len() < 6 {
        f.push('0');
    }
    let v = i * 1_000_000 + f.parse::<i128>().unwrap_or_else(|_| panic!("bad ts {s}"));
    if neg {
        -v
    } else {
        v
    }
}

/// The raw text of the `"ts":` member of a JSON object line.
fn raw_ts(json: &str) -> &str {
    let at = json.find("\"ts\":").expect("ts member") + 5;
    let rest = &json[at..];
    &rest[..rest.find([',', '}']).unwrap_or(rest.len())]
}

#[test]
fn json_ts_equals_tshark_frame_time_epoch() {
    let dir = common::shared().join("dcerpc");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    names.sort();
    let mut compared = 0usize;
    let mut bad = Vec::new();
    for name in &names {
        let path = dir.join(name);
        let out = common::tshark(&[
            "-r",
            path.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_epoch",
        ]);
        let epoch: HashMap<u64, i128> = out
            .lines()
            .filter_map(|l| {
                let (n, t) = l.split_once('\t')?;
                Some((n.parse().ok()?, micros(t)))
            })
            .collect();
        for c in common::run(&path).calls {
            let json = serde_json::to_string(&c).unwrap();
            let ours = micros(raw_ts(&json));
            let theirs = epoch.get(&c.frame).copied();
            compared += 1;
            if theirs != Some(ours) {
                bad.push(format!(
                    "{name} frame {}: ours {}, tshark {theirs:?}",
                    c.frame,
                    raw_ts(&json)
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{} of {compared} differ:\n{}", bad.len(), bad.join("\n"));
    assert!(compared > 300, "only {compared} calls compared");
}
