//! Screenshots of `analyze --html` in headless Chromium, compared with small reviewed
//! references (tests/fixtures/html-ref/*.png: grayscale, downscaled 8×) with a tolerance;
//! and the README pictures (docs/images/*.png) made from the same pages and compared the same
//! way. After a deliberate change: `TRACEHOUND_UPDATE_REFS=1 cargo test -p tracehound-report
//! --test html_screens`, look at the new images, keep them.
//!
//! Captures: lab scenarios (real traffic made by lab/*.sh, see lab/README.md).

mod html_common;

use std::path::{Path, PathBuf};

use html_common::*;

/// Downscale factor of the references.
const SHRINK: u32 = 8;
/// Mean absolute difference allowed (of 255) and share of pixels allowed to differ a lot.
const MAX_MEAN: f64 = 6.0;
const MAX_BIG: f64 = 0.03;

fn lab(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| Path::new(LAB).join(format!("{n}.pcap"))).collect()
}

fn compare_or_update(shot: &Path, reference: &Path, factor: u32) {
    let (w, h, px) = gray(shot);
    let (sw, sh, small) = shrink(w, h, &px, factor);
    if updating() {
        write_gray(reference, sw, sh, &small);
        return;
    }
    assert!(
        reference.is_file(),
        "{} is missing: make it with TRACEHOUND_UPDATE_REFS=1 and review it",
        reference.display()
    );
    let (rw, rh, rpx) = gray(reference);
    let (rw, rh, rpx) =
        if rw == sw && rh == sh { (rw, rh, rpx) } else { shrink(rw, rh, &rpx, factor) };
    assert_eq!((rw, rh), (sw, sh), "{}: size differs", reference.display());
    let (mean, big) = diff(&small, &rpx);
    assert!(
        mean <= MAX_MEAN && big <= MAX_BIG,
        "{}: screenshot {} differs from the reference: mean {mean:.2}, {:.1}% of pixels far off",
        reference.display(),
        shot.display(),
        big * 100.0
    );
}

#[test]
fn screenshots_match_the_reviewed_references() {
    let dir = tmp("screens");
    let cases: [(&str, Vec<PathBuf>); 4] = [
        ("rpc-dynamic-filtered", lab(&["rpc-dynamic-filtered"])),
        ("net-loss", lab(&["net-loss"])),
        ("net-slow-responder", lab(&["net-slow-responder"])),
        ("two-captures", lab(&["rpc-dynamic-filtered", "rpc-dynamic-filtered-server"])),
    ];
    // Chromium runs in parallel: each takes a few seconds.
    std::thread::scope(|s| {
        for (name, files) in &cases {
            let dir = &dir;
            s.spawn(move || {
                let page = dir.join(format!("{name}.html"));
                render(files, &page);
                let shot = dir.join(format!("{name}.png"));
                screenshot(&page, &shot, 1400, 2000);
                compare_or_update(&shot, &Path::new(REF).join(format!("{name}.png")), SHRINK);
            });
        }
    });
}

/// A page showing one figure of `page` (with the page's stylesheet), and its size.
fn figure_page(page: &str, class: &str) -> (String, u32, u32) {
    let style = extract(page, "<style>", "</style>").expect("stylesheet");
    let fig =
        extract(page, &format!("<figure class=\"pic {class}\""), "</figure>").expect("figure");
    let attr = |a: &str| -> u32 {
        let svg = &fig[fig.find("<svg ").unwrap_or(0)..];
        let s = &svg[svg.find(&format!(" {a}=\"")).map_or(0, |i| i + a.len() + 3)..];
        s[..s.find('"').unwrap_or(0)].parse::<f64>().unwrap_or(400.0) as u32
    };
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">{style}<style>body{{margin:0;padding:8px;max-width:none}}figure.pic{{margin:0;display:inline-block}}</style></head><body>{fig}</body></html>"
    );
    (html, attr("width") + 40, attr("height") + 80)
}

#[test]
fn readme_pictures_are_made_from_the_reports() {
    let dir = tmp("images");
    let cases: [(&str, Vec<PathBuf>, &str); 3] = [
        ("ladder-dynamic-port", lab(&["rpc-dynamic-filtered"]), "ladder"),
        ("tseq-loss", lab(&["net-loss"]), "tseq"),
        ("two-captures", lab(&["rpc-dynamic-filtered", "rpc-dynamic-filtered-server"]), "twocap"),
    ];
    std::thread::scope(|s| {
        for (name, files, class) in &cases {
            let dir = &dir;
            s.spawn(move || image(dir, name, files, class));
        }
    });
}

fn image(dir: &Path, name: &str, files: &[PathBuf], class: &str) {
    {
        let page = render(files, &dir.join(format!("{name}-report.html")));
        let (fig, w, h) = figure_page(&page, class);
        let fp = dir.join(format!("{name}.html"));
        std::fs::write(&fp, fig).expect("figure page");
        let shot = dir.join(format!("{name}.png"));
        screenshot(&fp, &shot, w, h);
        let image = Path::new(IMAGES).join(format!("{name}.png"));
        if updating() {
            std::fs::create_dir_all(IMAGES).expect("docs/images");
            std::fs::copy(&shot, &image).expect("copy image");
        }
        // The README image itself is the reference (compared downscaled).
        assert!(image.is_file(), "{} is missing: TRACEHOUND_UPDATE_REFS=1", image.display());
        let (w1, h1, a) = gray(&shot);
        let (w2, h2, b) = gray(&image);
        assert_eq!((w1, h1), (w2, h2), "{name}: size differs from {}", image.display());
        let (_, _, sa) = shrink(w1, h1, &a, 4);
        let (_, _, sb) = shrink(w2, h2, &b, 4);
        let (mean, big) = diff(&sa, &sb);
        assert!(
            mean <= MAX_MEAN && big <= MAX_BIG,
            "{name}: differs from the README image: mean {mean:.2}, big {big:.3}"
        );
    }
}
