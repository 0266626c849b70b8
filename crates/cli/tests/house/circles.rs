//! Import circles between the files of a crate: the module tree of each target (pass 1),
//! the references of each file (pass 2), Tarjan's strongly connected components, and the
//! shortest circle through each.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

use crate::workspace::{is_cfg_test, is_test_fn, root, Source, Workspace};

/// A module path inside one crate target (`[]` is the root).
pub type ModPath = Vec<String>;

/// One module: its file, its child modules, and what it binds with `use` (name -> the
/// path as written, the last segment being the item).
#[derive(Default)]
pub struct Module {
    file: PathBuf,
    children: BTreeSet<String>,
    uses: HashMap<String, Vec<String>>,
}

/// The module tree and the references between files of one crate target (a library, a
/// binary, a bench). A reference from module A to module B is a `use` of, or a path through,
/// B (`crate::…`, `super::…`, `self::…`, or a path starting with a child module's name);
/// paths through re-exports (`pub use`) count for the module that defines the name when
/// its `use` names it. References from a module to the files of its own ancestors (their
/// inline modules included) are not edges: a parent module is its children's namespace
/// (`lib.rs`, `mod.rs` declare what the children share). `#[cfg(test)]` modules are left
/// out.
pub struct Graph {
    modules: BTreeMap<ModPath, Module>,
    /// (from file, to file) -> the first reference, for messages
    edges: BTreeMap<(PathBuf, PathBuf), String>,
}

/// The file of `mod name;` declared in `file` (children looked up in `dir`); a
/// `#[path = "…"]` is taken relative to the declaring file's directory.
pub fn mod_file(file: &Path, dir: &Path, name: &str, attrs: &[syn::Attribute]) -> Option<PathBuf> {
    for a in attrs {
        if a.path().is_ident("path") {
            if let syn::Meta::NameValue(nv) = &a.meta {
                if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                    let base = file.parent().unwrap_or(Path::new("."));
                    return Some(base.join(s.value()));
                }
            }
        }
    }
    [dir.join(format!("{name}.rs")), dir.join(name).join("mod.rs")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Directory for the `mod x;` children of the module in `file` (`lib.rs`, `main.rs`,
/// `mod.rs` and roots: its own directory; `a.rs`: `a/`).
pub fn child_dir_of(file: &Path, is_root: bool) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if is_root || stem == "mod" || stem == "lib" || stem == "main" {
        dir
    } else {
        dir.join(stem)
    }
}

/// Expands a use tree into (binding name, full path as written), globs as ("*", path).
pub fn use_paths(t: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    match t {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_paths(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push((last.clone(), prefix.clone()));
                }
            } else {
                let mut p = prefix.clone();
                p.push(name.clone());
                out.push((name, p));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut p = prefix.clone();
            p.push(r.ident.to_string());
            out.push((r.rename.to_string(), p));
        }
        syn::UseTree::Glob(_) => out.push(("*".into(), prefix.clone())),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_paths(t, prefix, out);
            }
        }
    }
}

/// Pass 1: the module tree of one target, from its root file.
pub fn build_tree(
    ws: &BTreeMap<PathBuf, Source>,
    file: &Path,
    path: ModPath,
    child_dir: PathBuf,
    items: &[syn::Item],
    modules: &mut BTreeMap<ModPath, Module>,
) {
    let mut m = Module { file: file.to_path_buf(), ..Default::default() };
    for item in items {
        match item {
            syn::Item::Mod(im) if !is_cfg_test(&im.attrs) => {
                let name = im.ident.to_string();
                let mut sub = path.clone();
                sub.push(name.clone());
                m.children.insert(name.clone());
                match &im.content {
                    Some((_, inner)) => {
                        build_tree(ws, file, sub, child_dir.join(&name), inner, modules);
                    }
                    None => {
                        let Some(f) = mod_file(file, &child_dir, &name, &im.attrs) else {
                            continue;
                        };
                        let f = f.canonicalize().unwrap_or(f);
                        if let Some(src) = ws.get(&f) {
                            let cd = child_dir_of(&f, false);
                            build_tree(ws, &f, sub, cd, &src.ast.items, modules);
                        }
                    }
                }
            }
            syn::Item::Use(u) => {
                let mut out = Vec::new();
                use_paths(&u.tree, &mut Vec::new(), &mut out);
                for (name, p) in out {
                    if name != "*" && name != "_" {
                        m.uses.insert(name, p);
                    }
                }
            }
            _ => {}
        }
    }
    modules.insert(path, m);
}

impl Graph {
    /// The module a path written in module `from` leads to (None: another crate, or a local
    /// name). `depth` bounds the re-export chase.
    fn resolve(&self, from: &[String], segs: &[String], depth: u8) -> Option<ModPath> {
        let first = segs.first()?;
        let (mut cur, rest): (ModPath, &[String]) = match first.as_str() {
            "crate" => (Vec::new(), &segs[1..]),
            "self" => (from.to_vec(), &segs[1..]),
            "super" => {
                let ups = segs.iter().take_while(|s| *s == "super").count();
                let keep = from.len().checked_sub(ups)?;
                (from[..keep].to_vec(), &segs[ups..])
            }
            name if self.modules.get(from).is_some_and(|m| m.children.contains(name)) => {
                (from.to_vec(), segs)
            }
            _ => return None,
        };
        for seg in rest {
            let m = self.modules.get(&cur)?;
            if m.children.contains(seg) {
                cur.push(seg.clone());
                continue;
            }
            // an item of `cur`, perhaps one it imports or re-exports from elsewhere
            if let Some(target) = m.uses.get(seg).filter(|_| depth < 8) {
                if let Some(t) = self.resolve(&cur, target, depth + 1) {
                    return Some(t);
                }
            }
            return Some(cur);
        }
        Some(cur)
    }

    fn add_edge(&mut self, from: &[String], to: ModPath, what: String) {
        let (Some(a), Some(b)) = (self.modules.get(from), self.modules.get(&to)) else { return };
        // to the file of an ancestor (its inline modules included), or to itself
        let ancestor_file = (0..=from.len())
            .any(|n| self.modules.get(&from[..n]).is_some_and(|m| m.file == b.file));
        if !ancestor_file {
            self.edges.entry((a.file.clone(), b.file.clone())).or_insert(what);
        }
    }
}

/// Pass 2: every reference of one module (and its inline children).
pub struct Refs<'g> {
    g: &'g Graph,
    module: ModPath,
    rel: String,
    found: Vec<(ModPath, ModPath, String)>,
}

impl Refs<'_> {
    fn reference(&mut self, segs: Vec<String>, line: usize) {
        if let Some(to) = self.g.resolve(&self.module, &segs, 0) {
            let what = format!("{}:{line} `{}`", self.rel, segs.join("::"));
            self.found.push((self.module.clone(), to, what));
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if is_cfg_test(&m.attrs) || m.content.is_none() {
            return;
        }
        self.module.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.module.pop();
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut out = Vec::new();
        use_paths(&u.tree, &mut Vec::new(), &mut out);
        let line = u.use_token.span.start().line;
        for (_, p) in out {
            self.reference(p, line);
        }
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        let line = p.segments.first().map(|s| s.ident.span().start().line).unwrap_or(0);
        if segs.len() > 1 {
            self.reference(segs, line);
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_fn(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }
}

/// The target roots of a crate directory: src/lib.rs, src/main.rs, src/bin/*, benches/*,
/// examples/*, build.rs.
pub fn roots(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in ["src/lib.rs", "src/main.rs", "build.rs"] {
        out.push(dir.join(f));
    }
    for sub in ["src/bin", "benches", "examples"] {
        let Ok(rd) = std::fs::read_dir(dir.join(sub)) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.push(p.join("main.rs"));
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.into_iter().filter(|p| p.is_file()).filter_map(|p| p.canonicalize().ok()).collect()
}

pub fn graph(sources: &BTreeMap<PathBuf, Source>, root_file: &Path) -> Option<Graph> {
    let src = sources.get(root_file)?;
    let mut modules = BTreeMap::new();
    let cd = child_dir_of(root_file, true);
    build_tree(sources, root_file, Vec::new(), cd, &src.ast.items, &mut modules);
    let mut g = Graph { modules, edges: BTreeMap::new() };
    // files of this target, with the module path each file's top level is
    let mut tops: BTreeMap<PathBuf, ModPath> = BTreeMap::new();
    for (p, m) in &g.modules {
        let e = tops.entry(m.file.clone()).or_insert_with(|| p.clone());
        if p.len() < e.len() {
            *e = p.clone();
        }
    }
    let mut found = Vec::new();
    for (file, path) in &tops {
        let Some(s) = sources.get(file) else { continue };
        let mut r = Refs { g: &g, module: path.clone(), rel: s.rel.clone(), found: Vec::new() };
        for item in &s.ast.items {
            r.visit_item(item);
        }
        found.extend(r.found);
    }
    for (from, to, what) in found {
        g.add_edge(&from, to, what);
    }
    Some(g)
}

/// Tarjan's strongly connected components of a graph on `n` nodes.
pub fn tarjan(n: usize, adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct St<'a> {
        adj: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn strong(s: &mut St<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on[v] = true;
        for &w in &s.adj[v] {
            match s.index[w] {
                None => {
                    strong(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(comp);
        }
    }
    let mut s = St {
        adj,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            strong(&mut s, v);
        }
    }
    s.out
}

/// The shortest circle through `start` inside `comp` (breadth first).
pub fn circle(start: usize, comp: &BTreeSet<usize>, adj: &[Vec<usize>]) -> Vec<usize> {
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut q = VecDeque::from([start]);
    while let Some(v) = q.pop_front() {
        for &w in &adj[v] {
            if !comp.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![v];
                let mut x = v;
                while x != start {
                    x = prev[&x];
                    path.push(x);
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(w) {
                e.insert(v);
                q.push_back(w);
            }
        }
    }
    vec![start]
}

/// Every import circle of every target of every crate, one message each.
pub fn import_circles(ws: &Workspace) -> Vec<String> {
    let root = root().canonicalize().expect("workspace root");
    let mut offenders = Vec::new();
    let mut seen = BTreeSet::new();
    for (member, sources) in &ws.crates {
        for root_file in roots(&root.join(member)) {
            let Some(g) = graph(sources, &root_file) else { continue };
            let files: Vec<PathBuf> = g
                .edges
                .keys()
                .flat_map(|(a, b)| [a.clone(), b.clone()])
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let id: HashMap<&PathBuf, usize> =
                files.iter().enumerate().map(|(i, f)| (f, i)).collect();
            let mut adj = vec![Vec::new(); files.len()];
            for (a, b) in g.edges.keys() {
                adj[id[a]].push(id[b]);
            }
            for comp in tarjan(files.len(), &adj) {
                if comp.len() < 2 {
                    continue;
                }
                let set: BTreeSet<usize> = comp.iter().copied().collect();
                let start = *set.iter().next().unwrap_or(&0);
                let cyc = circle(start, &set, &adj);
                let rel =
                    |i: usize| sources.get(&files[i]).map(|s| s.rel.clone()).unwrap_or_default();
                let mut names: Vec<String> = set.iter().map(|&i| rel(i)).collect();
                names.sort();
                if !seen.insert(names.clone()) {
                    continue; // the same files, seen from another target
                }
                let mut msg = format!("{member}: circle between {}:", names.join(", "));
                for (k, &v) in cyc.iter().enumerate() {
                    let w = cyc[(k + 1) % cyc.len()];
                    let why = &g.edges[&(files[v].clone(), files[w].clone())];
                    let _ = write!(msg, "\n      {} -> {} ({why})", rel(v), rel(w));
                }
                offenders.push(msg);
            }
        }
    }
    offenders
}

/// The scan sees the references it should: a tree with a known circle, parsed from text.
#[test]
fn the_circle_scan_finds_a_known_circle() {
    let dir = std::env::temp_dir().join(format!("house-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("a")).expect("temp dir");
    let files = [
        ("lib.rs", "mod a;\nmod b;\nmod c;\npub use c::Leaf;\npub mod util { pub fn u() {} }\n"),
        ("a/mod.rs", "mod inner;\npub struct A;\n"),
        ("a/inner.rs", "use crate::b::B;\npub fn f(_: B) -> super::A { super::A }\n"),
        ("b.rs", "pub struct B;\npub fn g() -> crate::a::A { crate::a::A }\n"),
        ("c.rs", "pub struct Leaf;\npub fn h() -> crate::Leaf { crate::util::u(); Leaf }\n"),
    ];
    let mut sources = BTreeMap::new();
    for (name, text) in files {
        let p = src.join(name);
        std::fs::write(&p, text).expect("write");
        let p = p.canonicalize().expect("canonical");
        let ast = syn::parse_file(text).expect("parse");
        sources.insert(p, Source { rel: name.into(), text: text.into(), ast });
    }
    let g = graph(&sources, &src.join("lib.rs").canonicalize().expect("root")).expect("graph");
    let edges: BTreeSet<(String, String)> =
        g.edges.keys().map(|(a, b)| (sources[a].rel.clone(), sources[b].rel.clone())).collect();
    let _ = std::fs::remove_dir_all(&dir);
    // inner -> b (use), b -> a/mod.rs (path); inner -> a/mod.rs is to an ancestor: no edge;
    // c -> crate::Leaf resolves through the re-export to c itself: no edge; c ->
    // crate::util is an inline module of the root's file: no edge
    // lib.rs -> c (the re-export)
    let want: BTreeSet<(String, String)> =
        [("a/inner.rs", "b.rs"), ("b.rs", "a/mod.rs"), ("lib.rs", "c.rs")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(edges, want);
    // with b -> a/mod.rs and a/mod.rs -> b there is a circle
    let adj = vec![vec![1], vec![0], vec![]];
    let comps = tarjan(3, &adj);
    assert!(comps.iter().any(|c| c.len() == 2), "{comps:?}");
    assert_eq!(circle(0, &[0, 1].into_iter().collect(), &adj), vec![0, 1]);
}
