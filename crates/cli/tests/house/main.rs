//! The house rules (issue 15), checked over every crate of the workspace (the `members` of
//! the root Cargo.toml), each rule one test that lists every offender at once:
//!
//! - [`files_stay_under_700_lines`]: no source file over 700 lines, not counting its
//!   `#[cfg(test)]` items. Sources are every `.rs` file of a crate outside `tests/`.
//! - [`functions_stay_under_120_lines`]: no function (free, method, trait default) over 120
//!   lines from `fn` to its closing brace, outside `#[cfg(test)]` modules and `#[test]`s.
//! - [`no_import_circle_between_files`]: no circle of references between the files of a
//!   crate (see `circles.rs` for what a reference is).
//! - [`parser_crates_deny_the_panicking_lints`]: the crates that read wire or file data
//!   opt into `[workspace.lints]` (unwrap/expect/panic/indexing denied).
//!
//! A file exempt from the size rules says why in one line near its top (within its first
//! ten lines), e.g. a data table: `//! house: data table (the interface names of MS-RPC)`.
//!
//! Files are parsed with `syn`; line numbers come from proc-macro2's span locations.
//! Paths inside macro invocations (`format!(…, crate::x::y())`) are not seen.

mod circles;
mod sizes;
mod workspace;

use std::fmt::Write as _;
use std::sync::OnceLock;

pub const MAX_FILE_LINES: usize = 700;
pub const MAX_FN_LINES: usize = 120;
/// The one-line reason that exempts a file from the size rules.
pub const MARKER: &str = "//! house:";
/// How far down a file the marker may stand.
pub const MARKER_LINES: usize = 10;
/// The crates that parse wire or file data (directory names under crates/); `probe` reads
/// the replies of live servers.
const PARSER_CRATES: &[&str] =
    &["capture", "wire", "proto", "rpc-proto", "rpc", "apps", "decrypt", "wintrace", "probe"];

/// The offenders of the three source rules, found in one parse of the workspace (syn's
/// trees are not `Sync`; the lists are).
struct Report {
    files: Vec<String>,
    functions: Vec<String>,
    circles: Vec<String>,
}

fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    REPORT.get_or_init(|| {
        let ws = workspace::workspace();
        let mut files = ws.unparsable.clone();
        files.extend(sizes::long_files(&ws));
        let mut functions = ws.unparsable.clone();
        functions.extend(sizes::long_functions(&ws));
        let mut circles = ws.unparsable.clone();
        circles.extend(circles::import_circles(&ws));
        Report { files, functions, circles }
    })
}

fn panic_with(what: &str, offenders: &[String]) {
    if !offenders.is_empty() {
        let mut msg = format!("{} {what}:\n", offenders.len());
        for o in offenders {
            let _ = writeln!(msg, "  {o}");
        }
        panic!("{msg}");
    }
}

#[test]
fn files_stay_under_700_lines() {
    panic_with(
        &format!(
            "source files over {MAX_FILE_LINES} lines (split them, or give a one-line reason \
             `{MARKER} …` in the first {MARKER_LINES} lines)"
        ),
        &report().files,
    );
}

#[test]
fn functions_stay_under_120_lines() {
    panic_with(
        &format!("functions over {MAX_FN_LINES} lines outside tests (split them)"),
        &report().functions,
    );
}

#[test]
fn no_import_circle_between_files() {
    panic_with("import circles between the files of a crate", &report().circles);
}

// ---------------------------------------------------------------------------------------
// (d) the parser crates deny the panicking lints

#[test]
fn parser_crates_deny_the_panicking_lints() {
    let root = workspace::root();
    let ws_toml = std::fs::read_to_string(root.join("Cargo.toml")).expect("root Cargo.toml");
    let mut offenders = Vec::new();
    for lint in ["unwrap_used", "expect_used", "panic", "indexing_slicing"] {
        if !ws_toml.lines().any(|l| l.trim().starts_with(lint) && l.contains("\"deny\"")) {
            offenders.push(format!("Cargo.toml: [workspace.lints.clippy] does not deny {lint}"));
        }
    }
    for c in PARSER_CRATES {
        let path = root.join("crates").join(c).join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            offenders.push(format!("crates/{c}/Cargo.toml: missing"));
            continue;
        };
        let mut in_lints = false;
        let mut opted = false;
        for l in text.lines().map(str::trim) {
            if l.starts_with('[') {
                in_lints = l == "[lints]";
            } else if in_lints && l.replace(' ', "") == "workspace=true" {
                opted = true;
            }
        }
        if !opted {
            offenders.push(format!("crates/{c}/Cargo.toml: no `[lints] workspace = true`"));
        }
    }
    panic_with("parser crates outside the no-panic lints", &offenders);
}
