//! Shared by the HTML report tests: the `tracehound` binary, headless Chromium, rendering a
//! report, small grayscale images for screenshot comparison.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const LAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lab");
pub const REF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/html-ref");
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/captures");
pub const IMAGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/images");

/// The `tracehound` binary of this workspace (built by `cargo test --workspace`, or
/// `cargo build -p tracehound-cli`). Fails when missing or older than this crate's sources.
pub fn bin() -> PathBuf {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let p = target.join("debug/tracehound");
        assert!(
            p.is_file(),
            "{} is missing: run `cargo build -p tracehound-cli` first",
            p.display()
        );
        let built = std::fs::metadata(&p).and_then(|m| m.modified()).expect("binary mtime");
        let src = Path::new(env!("CARGO_MANIFEST_DIR"));
        for d in ["src/html", "templates"] {
            for e in std::fs::read_dir(src.join(d)).expect("sources") {
                let m = e.expect("entry").metadata().and_then(|m| m.modified()).expect("mtime");
                assert!(
                    m <= built,
                    "{} is older than crates/report/{d}: run `cargo build -p tracehound-cli`",
                    p.display()
                );
            }
        }
        p
    })
    .clone()
}

/// Debian's `chromium`, installed when missing (the tests need a real browser).
pub fn chromium() -> PathBuf {
    static C: OnceLock<PathBuf> = OnceLock::new();
    C.get_or_init(|| {
        let find = || {
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
        };
        if let Some(p) = find() {
            return p;
        }
        let _ = Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        find().expect("chromium is not installed and `apt-get install -y chromium` failed")
    })
    .clone()
}

/// A scratch directory for this test binary.
pub fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp/html-tests").join(name);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Lab captures named as the README names them (relative to the root), so that pages and
/// screenshots do not depend on where the checkout is.
fn relative(files: &[PathBuf]) -> Vec<PathBuf> {
    files
        .iter()
        .map(|f| match (f.starts_with(LAB), f.file_name()) {
            (true, Some(n)) => Path::new("tests/fixtures/lab").join(n),
            _ => f.clone(),
        })
        .collect()
}

/// `tracehound analyze --brief --html OUT FILES` (run in the workspace root): the page, and
/// (id, severity) of each finding in the order of the text report printed by the same run.
pub fn render_with_ids(files: &[PathBuf], out: &Path) -> (String, Vec<(String, String)>) {
    let out = std::env::current_dir().expect("cwd").join(out);
    let o = Command::new(bin())
        .current_dir(root())
        .args(["analyze", "--brief", "--html"])
        .arg(&out)
        .args(relative(files))
        .output()
        .expect("run tracehound");
    let code = o.status.code().unwrap_or(-1);
    assert!(
        matches!(code, 0 | 4),
        "analyze --html {files:?} exited {code}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    let ids = text
        .lines()
        .filter(|l| l.starts_with('['))
        .filter_map(|l| {
            let sev = l[1..l.find(']')?].to_lowercase();
            let id = l.split("  ").map(str::trim).find(|w| {
                w.contains('.')
                    && !w.contains(' ')
                    && w.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
            })?;
            Some((id.to_string(), sev))
        })
        .collect();
    (std::fs::read_to_string(&out).expect("page written"), ids)
}

/// `tracehound analyze --html OUT FILES`; returns the page.
pub fn render(files: &[PathBuf], out: &Path) -> String {
    render_with_ids(files, out).0
}

/// `tracehound analyze --json FILES`: (id, severity) per finding, in order.
pub fn findings(files: &[PathBuf]) -> Vec<(String, String)> {
    let o = Command::new(bin())
        .current_dir(root())
        .arg("analyze")
        .arg("--json")
        .args(relative(files))
        .output()
        .expect("run");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
            (s("id"), s("severity"))
        })
        .collect()
}

/// Every lab scenario, sorted.
pub fn lab_captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(LAB)
        .expect("tests/fixtures/lab")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    v
}

/// Screenshot `page` at `w`×`h` into `png`.
pub fn screenshot(page: &Path, png: &Path, w: u32, h: u32) {
    let o = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .args(["--force-device-scale-factor=1", "--default-background-color=ffffffff"])
        .arg(format!("--user-data-dir={}", png.with_extension("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={w},{h}"))
        .arg(format!("file://{}", page.canonicalize().expect("page path").display()))
        .output()
        .expect("run chromium");
    assert!(png.is_file(), "chromium made no screenshot: {}", String::from_utf8_lossy(&o.stderr));
}

/// A PNG as 8-bit grayscale: (width, height, pixels).
pub fn gray(png: &Path) -> (u32, u32, Vec<u8>) {
    let dec =
        png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).expect("open png")));
    let mut r = dec.read_info().expect("png header");
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).expect("png frame");
    let ch = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        _ => 1,
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "8-bit PNG expected");
    let px: Vec<u8> = buf[..info.buffer_size()]
        .chunks(ch)
        .map(|c| {
            if ch >= 3 {
                ((u32::from(c[0]) * 299 + u32::from(c[1]) * 587 + u32::from(c[2]) * 114) / 1000)
                    as u8
            } else {
                c[0]
            }
        })
        .collect();
    (info.width, info.height, px)
}

/// Box-average downscale by `f`.
pub fn shrink(w: u32, h: u32, px: &[u8], f: u32) -> (u32, u32, Vec<u8>) {
    let (nw, nh) = (w / f, h / f);
    let mut out = Vec::with_capacity((nw * nh) as usize);
    for y in 0..nh {
        for x in 0..nw {
            let mut s = 0u32;
            for dy in 0..f {
                for dx in 0..f {
                    s += u32::from(px[((y * f + dy) * w + x * f + dx) as usize]);
                }
            }
            out.push((s / (f * f)) as u8);
        }
    }
    (nw, nh, out)
}

pub fn write_gray(path: &Path, w: u32, h: u32, px: &[u8]) {
    let f = std::fs::File::create(path).expect("create png");
    let mut e = png::Encoder::new(std::io::BufWriter::new(f), w, h);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    e.set_compression(png::Compression::Best);
    e.write_header().expect("png header").write_image_data(px).expect("png data");
}

/// Compare two equally sized grayscale images: (mean absolute difference, share of pixels
/// that differ by more than 48 levels).
pub fn diff(a: &[u8], b: &[u8]) -> (f64, f64) {
    let n = a.len().max(1) as f64;
    let sum: u64 = a.iter().zip(b).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    let big = a.iter().zip(b).filter(|(x, y)| x.abs_diff(**y) > 48).count();
    (sum as f64 / n, big as f64 / n)
}

/// Update references instead of comparing (after reviewing the new images).
pub fn updating() -> bool {
    std::env::var_os("TRACEHOUND_UPDATE_REFS").is_some()
}

/// The part of `page` from the first `start` to the next `end` (inclusive).
pub fn extract<'a>(page: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let a = page.find(start)?;
    let b = page[a..].find(end)? + a + end.len();
    Some(&page[a..b])
}
