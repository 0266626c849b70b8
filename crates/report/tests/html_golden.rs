//! Golden files of the SVG pictures for small cases: the ladder of the dynamic-port story,
//! the time–sequence graph of a zero-window stall, the two-capture picture and the
//! slow-responder bars, each cut from `analyze --html` of a lab capture (real traffic made by
//! lab/*.sh) and compared byte for byte with tests/fixtures/html-ref/*.svg. After a
//! deliberate change: `TRACEHOUND_UPDATE_REFS=1 cargo test -p tracehound-report --test
//! html_golden`, review the diff.

mod html_common;

use std::path::{Path, PathBuf};

use html_common::*;

fn check(name: &str, files: &[&str], class: &str) {
    let files: Vec<PathBuf> =
        files.iter().map(|n| Path::new(LAB).join(format!("{n}.pcap"))).collect();
    let page = render(&files, &tmp("golden").join(format!("{name}.html")));
    let svg = extract(&page, &format!("<svg class=\"{class}\""), "</svg>")
        .unwrap_or_else(|| panic!("{name}: no <svg class=\"{class}\"> in the page"));
    let golden = Path::new(REF).join(format!("{name}.svg"));
    // Pretty enough to review as a diff: one element per line.
    let got = svg.replace("><", ">\n<") + "\n";
    if updating() {
        std::fs::write(&golden, &got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&golden)
        .unwrap_or_else(|_| panic!("{} is missing: TRACEHOUND_UPDATE_REFS=1", golden.display()));
    if got != want {
        let first = got.lines().zip(want.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "{name}: SVG differs from {} at line {}:\n got: {}\nwant: {}",
            golden.display(),
            first + 1,
            got.lines().nth(first).unwrap_or(""),
            want.lines().nth(first).unwrap_or("")
        );
    }
}

#[test]
fn ladder_of_the_dynamic_port_story() {
    check("ladder-rpc-dynamic-filtered", &["rpc-dynamic-filtered"], "ladder");
}

#[test]
fn ladder_with_icmp_from_the_host() {
    check("ladder-rpc-dynamic-icmp", &["rpc-dynamic-icmp"], "ladder");
}

#[test]
fn time_sequence_graph_of_a_zero_window() {
    check("tseq-net-zero-window", &["net-zero-window"], "tseq");
}

#[test]
fn two_capture_points() {
    check(
        "twocap-rpc-dynamic-filtered",
        &["rpc-dynamic-filtered", "rpc-dynamic-filtered-server"],
        "twocap",
    );
}

#[test]
fn where_the_time_went() {
    check("bars-net-slow-responder", &["net-slow-responder"], "bars");
}
