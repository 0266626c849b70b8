//! The size rules: lines of a file outside its tests, lines of each function.

use syn::visit::Visit;

use crate::workspace::{exemption, is_cfg_test, is_test_fn, Workspace};
use crate::{MAX_FILE_LINES, MAX_FN_LINES};

/// Lines of the top-level `#[cfg(test)]` items of a file.
pub fn test_lines(ast: &syn::File) -> usize {
    let mut n = 0;
    for item in &ast.items {
        let (attrs, end) = match item {
            syn::Item::Mod(m) => (
                &m.attrs,
                m.content
                    .as_ref()
                    .map(|(b, _)| b.span.close().end().line)
                    .or(m.semi.as_ref().map(|s| s.span.end().line)),
            ),
            syn::Item::Fn(f) => (&f.attrs, Some(f.block.brace_token.span.close().end().line)),
            _ => continue,
        };
        if !is_cfg_test(attrs) {
            continue;
        }
        let start = attrs.first().map(|a| a.pound_token.span.start().line);
        if let (Some(s), Some(e)) = (start, end) {
            n += e.saturating_sub(s) + 1;
        }
    }
    n
}

pub fn long_files(ws: &Workspace) -> Vec<String> {
    let mut offenders = Vec::new();
    for sources in ws.crates.values() {
        for (path, s) in sources {
            if exemption(&s.text).is_some() || ws.test_only.contains(path) {
                continue;
            }
            let total = s.text.lines().count();
            let tests = test_lines(&s.ast);
            let code = total.saturating_sub(tests);
            if code > MAX_FILE_LINES {
                offenders.push(format!(
                    "{}: {code} lines outside tests ({total} in all; limit {MAX_FILE_LINES})",
                    s.rel
                ));
            }
        }
    }
    offenders
}

/// Collects (name, first line, lines) of every function outside tests.
#[derive(Default)]
pub struct LongFns {
    found: Vec<(String, usize, usize)>,
    owner: Vec<String>,
}

impl LongFns {
    fn note(&mut self, name: &syn::Ident, sig: &syn::Signature, block: &syn::Block) {
        let start = sig.fn_token.span.start().line;
        let end = block.brace_token.span.close().end().line;
        let lines = end.saturating_sub(start) + 1;
        if lines > MAX_FN_LINES {
            let full = match self.owner.last() {
                Some(o) => format!("{o}::{name}"),
                None => name.to_string(),
            };
            self.found.push((full, start, lines));
        }
    }
}

impl<'ast> Visit<'ast> for LongFns {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_cfg_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_fn(&f.attrs) {
            self.note(&f.sig.ident, &f.sig, &f.block);
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if is_cfg_test(&i.attrs) {
            return;
        }
        let name = match &*i.self_ty {
            syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        };
        self.owner.push(name.unwrap_or_else(|| "impl".into()));
        syn::visit::visit_item_impl(self, i);
        self.owner.pop();
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_fn(&f.attrs) {
            self.note(&f.sig.ident, &f.sig, &f.block);
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.owner.push(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.owner.pop();
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(b) = &f.default {
            self.note(&f.sig.ident, &f.sig, b);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

pub fn long_functions(ws: &Workspace) -> Vec<String> {
    let mut offenders = Vec::new();
    for sources in ws.crates.values() {
        for (path, s) in sources {
            if exemption(&s.text).is_some() || ws.test_only.contains(path) {
                continue;
            }
            let mut v = LongFns::default();
            v.visit_file(&s.ast);
            for (name, line, n) in v.found {
                offenders.push(format!("{}:{line}: fn {name}: {n} lines", s.rel));
            }
        }
    }
    offenders
}
