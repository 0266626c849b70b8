//! `analyze --html` for every lab scenario (tests/fixtures/lab, real traffic made by lab/*.sh)
//! and the two-capture case: the page is self-contained (no URL, under 5 MB), every problem
//! and warning has its picture, and headless Chromium renders all of them without a script
//! error, each SVG with a non-empty bounding box.
//!
//! The browser part is one Chromium run: a harness page loads every report in an iframe and,
//! once all have loaded, measures them and writes the results into its own DOM, which
//! `--dump-dom` prints.

mod html_common;

use std::path::PathBuf;
use std::process::Command;

use html_common::*;

struct Page {
    name: String,
    path: PathBuf,
    html: String,
    findings: Vec<(String, String)>,
}

fn lab_sets() -> Vec<(String, Vec<PathBuf>)> {
    let mut sets: Vec<(String, Vec<PathBuf>)> = lab_captures()
        .into_iter()
        .map(|p| (p.file_stem().unwrap_or_default().to_string_lossy().to_string(), vec![p]))
        .collect();
    let lab = PathBuf::from(LAB);
    sets.push((
        "two-captures".into(),
        vec![lab.join("rpc-dynamic-filtered.pcap"), lab.join("rpc-dynamic-filtered-server.pcap")],
    ));
    sets.push((
        "two-captures-lossy-router".into(),
        vec![lab.join("path-lossy-router-client.pcap"), lab.join("path-lossy-router-server.pcap")],
    ));
    assert!(sets.len() >= 30, "lab scenarios missing: {}", sets.len());
    sets
}

/// The real-traffic captures (Zeek and Suricata test suites, Wireshark samples; provenance
/// in ../shared/captures/SOURCES.md), each on its own.
fn shared_sets() -> Vec<(String, Vec<PathBuf>)> {
    let root = PathBuf::from(SHARED);
    let mut v = Vec::new();
    for dir in std::fs::read_dir(&root).expect("../shared/captures is missing") {
        let dir = dir.expect("entry").path();
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for f in rd.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = f.file_name().unwrap_or_default().to_string_lossy().to_string();
            if name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".pcap.gz") {
                v.push((name.replace('.', "_"), vec![f]));
            }
        }
    }
    v.sort();
    assert!(v.len() >= 40, "shared captures missing: {}", v.len());
    v
}

fn pages(sets: Vec<(String, Vec<PathBuf>)>, dir: &std::path::Path) -> Vec<Page> {
    sets.into_iter()
        .map(|(name, files)| {
            let path = dir.join(format!("{name}.html"));
            // The text report of the same run names the findings the page must show.
            let (html, findings) = render_with_ids(&files, &path);
            Page { name, path, html, findings }
        })
        .collect()
}

fn sections(html: &str, sev: &str) -> Vec<String> {
    let tag = format!("<section class=\"finding {sev}\"");
    html.split(&tag)
        .skip(1)
        .map(|s| s.split("</section>").next().unwrap_or("").to_string())
        .collect()
}

fn static_checks(p: &Page) {
    assert!(p.html.len() <= 5_000_000, "{}: page is {} bytes", p.name, p.html.len());
    // Nothing is loaded: no src, links only within the page, no url() but #fragments. (Text
    // may mention URLs: the rules' advice does.)
    for bad in [" src=", "<link", "@import", "xlink:href", "<iframe", "<object", "<embed"] {
        assert!(!p.html.contains(bad), "{}: page contains {bad:?}", p.name);
    }
    for (i, m) in p.html.match_indices(" href=\"") {
        let v = &p.html[i + m.len()..];
        assert!(
            v.starts_with('#'),
            "{}: a link leaves the page: {}",
            p.name,
            &v[..v.len().min(60)]
        );
    }
    assert!(!p.html.replace("url(#", "").contains("url("), "{}: page has a url()", p.name);
    // Same findings, same order, same ids as the text/JSON report.
    let ids: Vec<&str> = p
        .html
        .match_indices("data-id=\"")
        .map(|(i, m)| {
            let rest = &p.html[i + m.len()..];
            &rest[..rest.find('"').unwrap_or(0)]
        })
        .collect();
    let want: Vec<&str> = p.findings.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, want, "{}: findings differ from the text report", p.name);
    for sev in ["problem", "warning"] {
        let n = p.findings.iter().filter(|(_, s)| s == sev).count();
        let secs = sections(&p.html, sev);
        assert_eq!(secs.len(), n, "{}: {sev} sections", p.name);
        for s in secs {
            assert!(
                s.contains("<figure class=\"pic "),
                "{}: a {sev} has no picture: {}",
                p.name,
                &s[..s.len().min(300)]
            );
            assert!(s.contains("<svg "), "{}: a {sev} picture has no SVG", p.name);
            assert!(s.contains("<figcaption>"), "{}: a {sev} picture has no caption", p.name);
        }
    }
}

const HARNESS_JS: &str = r#"
window.addEventListener('load', function () {
  var out = [];
  document.querySelectorAll('iframe').forEach(function (f) {
    var d = f.contentDocument;
    if (!d || !d.body) { out.push(f.id + '|noaccess'); return; }
    var errs = d.getElementById('js-errors');
    var svgs = d.querySelectorAll('svg'), empty = 0;
    svgs.forEach(function (s) { var b = s.getBBox(); if (!(b.width > 0 && b.height > 0)) empty++; });
    var figs = d.querySelectorAll('figure.pic'), nocap = 0;
    figs.forEach(function (g) { if (!g.querySelector('figcaption') || !g.querySelector('figcaption').textContent.trim()) nocap++; });
    var loaded = f.contentWindow.performance.getEntriesByType('resource').length;
    out.push([f.id, d.body.getAttribute('data-ready'), svgs.length, empty, figs.length, nocap,
      errs ? JSON.stringify(errs.textContent) : 'noerrnode', loaded].join('|'));
  });
  var pre = document.createElement('pre');
  pre.id = 'results';
  pre.textContent = out.join('\n');
  document.body.appendChild(pre);
});
"#;

#[test]
fn every_lab_scenario_renders_cleanly_in_chromium() {
    let dir = tmp("browser");
    check_in_chromium(&pages(lab_sets(), &dir), &dir);
}

#[test]
fn every_real_capture_renders_cleanly_in_chromium() {
    let dir = tmp("browser-shared");
    check_in_chromium(&pages(shared_sets(), &dir), &dir);
}

fn check_in_chromium(pages: &[Page], dir: &std::path::Path) {
    let named: usize = pages.iter().map(|p| p.findings.len()).sum();
    assert!(named >= pages.len() / 2, "the text reports named only {named} findings");
    for p in pages {
        static_checks(p);
    }
    let mut h = String::from("<!DOCTYPE html><html><body>");
    for p in pages {
        h.push_str(&format!(
            "<iframe id=\"{}\" src=\"{}\" width=\"1400\" height=\"900\"></iframe>",
            p.name,
            p.path.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    h.push_str(&format!("<script>{HARNESS_JS}</script></body></html>"));
    let harness = dir.join("harness.html");
    std::fs::write(&harness, h).expect("harness");
    let o = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"])
        .args(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=20000", "--dump-dom"])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("file://{}", harness.canonicalize().expect("path").display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&o.stdout);
    let log = String::from_utf8_lossy(&o.stderr);
    let console: Vec<&str> =
        log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    let res = extract(&dom, "<pre id=\"results\">", "</pre>").expect("harness results in the DOM");
    let lines: Vec<&str> =
        res.trim_start_matches("<pre id=\"results\">").trim_end_matches("</pre>").lines().collect();
    assert_eq!(lines.len(), pages.len(), "results: {res}");
    for (l, p) in lines.iter().zip(pages) {
        let f: Vec<&str> = l.split('|').collect();
        assert_eq!(f.first(), Some(&p.name.as_str()), "{l}");
        assert_eq!(f.get(1), Some(&"1"), "{}: the page script did not finish: {l}", p.name);
        let svgs: usize = f.get(2).and_then(|v| v.parse().ok()).unwrap_or(0);
        let pictured = p.findings.iter().filter(|(_, s)| s == "problem" || s == "warning").count();
        assert!(svgs >= pictured, "{}: {svgs} SVGs for {pictured} problems and warnings", p.name);
        assert_eq!(f.get(3), Some(&"0"), "{}: SVGs with an empty bounding box: {l}", p.name);
        assert_eq!(f.get(5), Some(&"0"), "{}: figures without a caption: {l}", p.name);
        assert_eq!(f.get(6), Some(&"\"\""), "{}: script errors: {l}", p.name);
        assert_eq!(f.get(7), Some(&"0"), "{}: the page loaded resources: {l}", p.name);
    }
}
