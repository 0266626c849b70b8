//! Structure gates for the DCE/RPC crates (`tracehound-rpc-proto`, `tracehound-rpc`): no
//! source file over 700 lines, no function over 120 lines outside tests (a brace-counting
//! scan), no import circle between the top-level modules (files) of a crate, and the codec
//! depends on nothing of the flow engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 700;
const MAX_FN_LINES: usize = 120;

fn crate_dirs() -> [PathBuf; 2] {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [here.join("src"), here.join("../rpc/src")]
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Does this line start a function item (`pub(crate) const unsafe fn name(`...)?
fn fn_name(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&rest[..end])
}

/// Brace balance of a line, ignoring `//` comments and `'{'` / `'}'` character literals.
fn braces(line: &str) -> (i64, bool) {
    let code = line.split("//").next().unwrap_or("").replace("'{'", "").replace("'}'", "");
    let opens = code.matches('{').count() as i64;
    (opens - code.matches('}').count() as i64, opens > 0)
}

/// Functions longer than [`MAX_FN_LINES`] in `text`, up to its `#[cfg(test)]` module.
fn long_functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().take_while(|l| !l.starts_with("#[cfg(test)]")).collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let (mut depth, mut opened) = (0i64, false);
        for (j, l) in lines.iter().enumerate().skip(i) {
            if !opened && l.trim_end().ends_with(';') {
                break; // a declaration without a body (trait method)
            }
            let (d, o) = braces(l);
            depth += d;
            opened |= o;
            if opened && depth <= 0 {
                let len = j - i + 1;
                if len > MAX_FN_LINES {
                    found.push((name.to_string(), i + 1, len));
                }
                break;
            }
        }
    }
    found
}

#[test]
fn the_scan_finds_long_functions() {
    let body = "    x += 1;\n".repeat(MAX_FN_LINES);
    let text = format!("pub(crate) fn big(x: &mut u32) {{\n{body}}}\nfn small() {{}}\n");
    assert_eq!(long_functions(&text), vec![("big".to_string(), 1, MAX_FN_LINES + 2)]);
    assert!(long_functions("fn f() {\n    let c = '}';\n}\n").is_empty());
}

#[test]
fn files_and_functions_a_reader_can_hold() {
    let mut files = Vec::new();
    for d in crate_dirs() {
        rust_files(&d, &mut files);
    }
    assert!(files.len() > 20, "source files not found: {files:?}");
    let mut problems = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).unwrap();
        let n = text.lines().count();
        if n > MAX_FILE_LINES {
            problems.push(format!("{}: {n} lines (max {MAX_FILE_LINES})", f.display()));
        }
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        for (name, at, len) in long_functions(&text) {
            problems.push(format!(
                "{}:{at}: fn {name} is {len} lines (max {MAX_FN_LINES})",
                f.display()
            ));
        }
    }
    assert!(problems.is_empty(), "split these:\n{}", problems.join("\n"));
}

#[test]
fn the_codec_does_not_depend_on_flows() {
    let toml = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    assert!(toml.contains("[dependencies]"), "Cargo.toml not read");
    assert!(
        !toml.contains("tracehound-flows"),
        "tracehound-rpc-proto must not depend on tracehound-flows"
    );
    assert!(
        !toml.contains("tracehound-rpc ") && !toml.contains("tracehound-rpc."),
        "no dependency on the analysis crate"
    );
    let mut files = Vec::new();
    rust_files(&crate_dirs()[0], &mut files);
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        assert!(!text.contains("tracehound_flows"), "{} uses tracehound_flows", f.display());
    }
}

/// The top-level modules each top-level module of `src` names as `crate::<module>`
/// (non-test code, comments skipped).
fn module_imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap().to_string_lossy().replace('\\', "/");
        let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_string();
        if top == "lib" {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap();
        let code: String = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let deps = graph.entry(top.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(list) => list.split('}').next().unwrap().split(',').collect(),
                None => vec![rest],
            };
            for n in names {
                let n: String =
                    n.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !n.is_empty() && n != top {
                    deps.insert(n);
                }
            }
        }
    }
    graph
}

/// A cycle in `graph`, if any (depth-first search).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeSet<String>>,
        u: &str,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(u.to_string(), 1);
        path.push(u.to_string());
        for v in g.get(u).into_iter().flatten().filter(|v| g.contains_key(*v)) {
            match state.get(v) {
                Some(1) => {
                    let at = path.iter().position(|p| p == v).unwrap();
                    let mut c = path[at..].to_vec();
                    c.push(v.clone());
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(g, v, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(u.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for u in graph.keys() {
        if !state.contains_key(u) {
            if let Some(c) = visit(graph, u, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_cycle_check_finds_cycles() {
    let g = |edges: &[(&str, &str)]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            m.entry(a.to_string()).or_default().insert(b.to_string());
            m.entry(b.to_string()).or_default();
        }
        m
    };
    assert_eq!(find_cycle(&g(&[("ndr", "uuid"), ("uuid", "drep")])), None);
    assert_eq!(
        find_cycle(&g(&[("ndr", "uuid"), ("uuid", "ndr")])),
        Some(vec!["ndr".to_string(), "uuid".to_string(), "ndr".to_string()])
    );
}

#[test]
fn no_import_circle_between_files() {
    for src in crate_dirs() {
        let graph = module_imports(&src);
        assert!(graph.len() > 5, "{}: modules not found", src.display());
        assert_eq!(
            find_cycle(&graph),
            None,
            "{}: import circle; imports: {graph:?}",
            src.display()
        );
    }
}
