//! The workspace's sources: the members of the root Cargo.toml, every `.rs` file of each
//! outside `tests/`, parsed with `syn`, and which of them are test modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::{MARKER, MARKER_LINES};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The workspace members, as directories relative to the root.
pub fn members() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).expect("root Cargo.toml");
    let start = text.find("members = [").expect("a members list in the root Cargo.toml");
    let list = &text[start..];
    let list = &list[..list.find(']').expect("the members list ends")];
    let out: Vec<String> = list
        .lines()
        .filter_map(|l| {
            let l = l.split('#').next().unwrap_or("").trim();
            let q = l.trim_end_matches(',').trim();
            (q.len() > 2 && q.starts_with('"')).then(|| q.trim_matches('"').to_string())
        })
        .collect();
    assert!(out.len() >= 10, "the members list looks wrong: {out:?}");
    out
}

/// One parsed source file.
pub struct Source {
    /// Relative to the workspace root, for messages.
    pub rel: String,
    pub text: String,
    pub ast: syn::File,
}

/// Every crate's sources, parsed once for all tests; parse failures are listed.
pub struct Workspace {
    /// member directory -> its sources, by absolute path
    pub crates: BTreeMap<String, BTreeMap<PathBuf, Source>>,
    pub unparsable: Vec<String>,
    /// Files that are `#[cfg(test)] mod x;` of another file: tests, not sources.
    pub test_only: BTreeSet<PathBuf>,
}

pub fn workspace() -> Workspace {
    {
        let root = root().canonicalize().expect("workspace root");
        let mut crates = BTreeMap::new();
        let mut unparsable = Vec::new();
        for m in members() {
            let dir = root.join(&m);
            assert!(dir.join("Cargo.toml").is_file(), "member {m} has no Cargo.toml");
            let mut files = Vec::new();
            rust_files(&dir, &mut files);
            let mut sources = BTreeMap::new();
            for f in files {
                let rel = f.strip_prefix(&root).unwrap_or(&f).display().to_string();
                let text = std::fs::read_to_string(&f).expect("read source");
                match syn::parse_file(&text) {
                    Ok(ast) => {
                        sources.insert(f, Source { rel, text, ast });
                    }
                    Err(e) => unparsable
                        .push(format!("{rel}:{}: cannot parse: {e}", e.span().start().line)),
                }
            }
            crates.insert(m, sources);
        }
        let mut test_only = BTreeSet::new();
        for sources in crates.values() {
            for (path, s) in sources {
                test_modules(
                    path,
                    &crate::circles::child_dir_of(path, false),
                    &s.ast.items,
                    &mut test_only,
                );
            }
        }
        Workspace { crates, unparsable, test_only }
    }
}

/// The files of the `#[cfg(test)] mod x;` declarations in `items` (of `file`), also in
/// inline modules. Roots (`lib.rs`, `main.rs`) and `mod.rs` look children up beside
/// themselves, which `child_dir_of(…, false)` gives for those names too.
pub fn test_modules(file: &Path, dir: &Path, items: &[syn::Item], out: &mut BTreeSet<PathBuf>) {
    for item in items {
        let syn::Item::Mod(m) = item else { continue };
        let name = m.ident.to_string();
        match &m.content {
            Some((_, inner)) => test_modules(file, &dir.join(&name), inner, out),
            None if is_cfg_test(&m.attrs) => {
                if let Some(f) = crate::circles::mod_file(file, dir, &name, &m.attrs) {
                    out.insert(f.canonicalize().unwrap_or(f));
                }
            }
            None => {}
        }
    }
}

/// Every `.rs` file under `dir`, skipping `tests/`, `target/` and hidden directories.
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !(name == "tests" || name == "target" || name.starts_with('.')) {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// The reason a file gives for being exempt from the size rules, if any.
pub fn exemption(text: &str) -> Option<&str> {
    text.lines()
        .take(MARKER_LINES)
        .find_map(|l| l.trim_start().strip_prefix(MARKER))
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

pub fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && matches!(&a.meta, syn::Meta::List(l) if l.tokens.clone().into_iter().any(|t| {
                matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "test")
            }))
    })
}

pub fn is_test_fn(attrs: &[syn::Attribute]) -> bool {
    is_cfg_test(attrs)
        || attrs.iter().any(|a| a.path().segments.last().is_some_and(|s| s.ident == "test"))
}
