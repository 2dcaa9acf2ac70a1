//! Explaining a finding: the retainer path from a GC root to the container in DevTools' edge
//! syntax, what kind of holder it is, and the source location.

use crate::detect::LocationHint;
use crate::graph::{self, Names};
use crate::model::{PathStep, SourceLocation};
use crate::score::HolderKind;
use leakhound_snapshot::{EdgeType, HeapSnapshot, NodeType};
use std::collections::HashMap;
use std::path::PathBuf;

/// Per-finding explanation.
#[derive(Debug, Clone)]
pub struct Explanation {
    pub path: Vec<PathStep>,
    pub path_text: String,
    /// Name of the edge that holds the container (last step), if any.
    pub edge: Option<String>,
    pub holder_kind: HolderKind,
    pub location: Option<SourceLocation>,
}

/// Script ids -> URLs, and script texts read from disk, cached across findings.
pub struct Explainer<'a> {
    snap: &'a HeapSnapshot,
    names: &'a Names,
    scripts: HashMap<u32, String>,
    sources: HashMap<String, Option<String>>,
}

fn edge_rank(ty: EdgeType) -> u8 {
    match ty {
        EdgeType::Property | EdgeType::Context | EdgeType::Shortcut => 0,
        EdgeType::Element => 1,
        EdgeType::Internal | EdgeType::Hidden | EdgeType::Unknown => 2,
        EdgeType::Weak => 3,
    }
}

/// Whether a context is a module's outermost scope (its `previous` is the native context).
fn is_module_context(snap: &HeapSnapshot, names: &Names, n: u32) -> bool {
    let raw = snap.raw();
    raw.node_name(n) == "system / Context"
        && graph::child(raw, n, EdgeType::Internal, names.previous)
            .is_some_and(|p| raw.node_name(p) == "system / NativeContext")
}

fn is_global(snap: &HeapSnapshot, n: u32) -> bool {
    let raw = snap.raw();
    let name = raw.node_name(n);
    match raw.node_types[n as usize] {
        NodeType::Object => name == "global" || name.starts_with("Window") || name == "global / ",
        // Chrome writes the page's global as a native `Window / <origin>` node.
        NodeType::Native => name.starts_with("Window / "),
        _ => false,
    }
}

/// Finds `const|let|var NAME` (or `function NAME`, `class NAME`) in `text`; 1-based line and
/// column of NAME.
pub fn find_declaration(text: &str, name: &str) -> Option<(u32, u32)> {
    if name.is_empty() {
        return None;
    }
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    for (i, line) in text.lines().enumerate() {
        for kw in ["const ", "let ", "var ", "function ", "class "] {
            let mut from = 0;
            while let Some(p) = line[from..].find(kw) {
                let start = from + p;
                from = start + kw.len();
                if start > 0 && line[..start].chars().next_back().is_some_and(is_ident) {
                    continue;
                }
                let rest = line[from..].trim_start();
                let col = line.len() - rest.len();
                if let Some(after) = rest.strip_prefix(name) {
                    if !after.chars().next().is_some_and(is_ident) {
                        return Some((i as u32 + 1, col as u32 + 1));
                    }
                }
            }
        }
    }
    None
}

impl<'a> Explainer<'a> {
    pub fn new(snap: &'a HeapSnapshot, names: &'a Names) -> Explainer<'a> {
        let mut scripts = HashMap::new();
        let raw = snap.raw();
        // Script id -> URL: closure -> {shared} -> SharedFunctionInfo -> {script_or_debug_info}
        // (or {script}) -> Script, whose name (or `name` edge) is the URL.
        for loc in &raw.locations {
            if scripts.contains_key(&loc.script_id)
                || raw.node_types[loc.node as usize] != NodeType::Closure
            {
                continue;
            }
            let Some(sfi) = graph::child(raw, loc.node, EdgeType::Internal, names.shared) else {
                continue;
            };
            let script = graph::child(raw, sfi, EdgeType::Internal, names.script_or_debug_info)
                .or_else(|| graph::child(raw, sfi, EdgeType::Internal, names.script));
            let Some(script) = script else { continue };
            let url = graph::child(raw, script, EdgeType::Internal, names.name)
                .filter(|&s| raw.node_types[s as usize].is_string())
                .map(|s| raw.node_name(s).to_string())
                .unwrap_or_else(|| raw.node_name(script).to_string());
            if !url.is_empty() && !url.starts_with("system /") {
                scripts.insert(loc.script_id, url);
            }
        }
        Explainer {
            snap,
            names,
            scripts,
            sources: HashMap::new(),
        }
    }

    pub fn script_url(&self, script_id: u32) -> Option<&str> {
        self.scripts.get(&script_id).map(|s| s.as_str())
    }

    /// Shortest retainer path to `n` along decreasing BFS distance, preferring property,
    /// context and element edges over internal ones among equally short retainers; returned
    /// root first as `(from, edge)` pairs.
    pub fn raw_path(&self, n: u32) -> Vec<(u32, usize)> {
        let snap = self.snap;
        let raw = snap.raw();
        let root = snap.root();
        let mut steps = Vec::new();
        let mut cur = n;
        let mut seen = std::collections::HashSet::new();
        while cur != root && steps.len() < 100 && seen.insert(cur) {
            let d = snap.distance(cur);
            let usable = |&(e, from): &(usize, u32)| {
                raw.edge_types[e] != EdgeType::Weak && from != cur && snap.distance(from) >= 0
            };
            // A GC sub-root such as `(Handle scope)` or `(Stack roots)` holds objects only
            // while the snapshot is written; when a real object also holds `cur`, explain
            // that one instead, so the path does not depend on when the snapshot was taken.
            let is_sub_root =
                |from: u32| from != root && raw.node_types[from as usize] == NodeType::Synthetic;
            let held_by_object = snap.retainers(cur).any(|r| usable(&r) && !is_sub_root(r.1));
            let best = snap
                .retainers(cur)
                .filter(usable)
                .filter(|&(_, from)| !(held_by_object && is_sub_root(from)))
                .min_by_key(|&(e, from)| {
                    let df = snap.distance(from);
                    let closer = if d >= 0 && df < d { 0 } else { 1 };
                    (
                        closer,
                        df,
                        edge_rank(raw.edge_types[e]),
                        raw.node_ids[from as usize],
                    )
                });
            let Some((e, from)) = best else { break };
            if snap.distance(from) >= d && d >= 0 && from != root {
                // No retainer closer to the root: stop rather than wander.
                steps.push((from, e));
                break;
            }
            steps.push((from, e));
            cur = from;
        }
        steps.reverse();
        steps
    }

    fn holder_class(&self, n: u32) -> String {
        if is_module_context(self.snap, self.names, n) {
            "(module scope)".to_string()
        } else if self.snap.raw().node_name(n) == "system / Context" {
            "(closure scope)".to_string()
        } else {
            self.snap.class_name(n).to_string()
        }
    }

    /// Scripts of the closures that capture context `ctx`.
    fn context_scripts(&self, ctx: u32) -> Vec<(u32, u32)> {
        let raw = self.snap.raw();
        let mut out = Vec::new();
        for (e, from) in self.snap.retainers(ctx) {
            if raw.node_types[from as usize] == NodeType::Closure
                && graph::edge_is(raw, e, self.names.context)
            {
                if let Some(loc) = self.snap.location(from) {
                    out.push((from, loc.script_id));
                }
            }
        }
        out.sort_by_key(|&(c, _)| raw.node_ids[c as usize]);
        out
    }

    fn is_internal_script(url: &str) -> bool {
        url.starts_with("node:") || url.starts_with("internal/") || url.is_empty()
    }

    /// The snapshot location of node `c` (a closure's start, an object's constructor),
    /// 1-based, labelled with where it came from.
    fn node_location(&self, c: u32, source: &str) -> Option<SourceLocation> {
        let loc = self.snap.location(c)?;
        Some(SourceLocation {
            script: self
                .script_url(loc.script_id)
                .map(str::to_string)
                .unwrap_or_else(|| format!("script #{}", loc.script_id)),
            line: loc.line + 1,
            column: loc.column + 1,
            source: source.to_string(),
        })
    }

    fn source_text(&mut self, url: &str) -> Option<&str> {
        if !self.sources.contains_key(url) {
            let path = if let Some(p) = url.strip_prefix("file://") {
                Some(PathBuf::from(p))
            } else if url.starts_with('/') {
                Some(PathBuf::from(url))
            } else {
                None
            };
            // Only read what looks like a script, and not absurdly large ones.
            let text = path
                .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() < 8 << 20))
                .and_then(|p| std::fs::read_to_string(p).ok());
            self.sources.insert(url.to_string(), text);
        }
        self.sources.get(url).and_then(|t| t.as_deref())
    }

    fn declaration_in(&mut self, script_id: u32, name: &str) -> Option<SourceLocation> {
        let url = self.script_url(script_id)?.to_string();
        let text = self.source_text(&url)?;
        let (line, column) = find_declaration(text, name)?;
        Some(SourceLocation {
            script: url,
            line,
            column,
            source: "declaration".to_string(),
        })
    }

    /// Explains holder `n` of a finding.
    pub fn explain(&mut self, n: u32, hint: &LocationHint, tail: Option<usize>) -> Explanation {
        let raw = self.snap.raw();
        let mut steps = self.raw_path(n);
        let parent = steps.last().map(|s| s.0);
        if let Some(e) = tail {
            steps.push((n, e));
        }
        let mut path = Vec::new();
        for (i, &(from, e)) in steps.iter().enumerate() {
            let ty = raw.edge_types[e];
            let last = i + 1 == steps.len();
            if !last && matches!(ty, EdgeType::Internal | EdgeType::Hidden | EdgeType::Weak) {
                continue;
            }
            if from == self.snap.root() && !last {
                continue;
            }
            path.push(PathStep {
                holder_class: self.holder_class(from),
                holder_name: raw.node_name(from).to_string(),
                holder_id: raw.node_ids[from as usize],
                edge: raw.edge_name(e).into_owned(),
                edge_type: ty.name().to_string(),
            });
        }
        // Text: from the last module scope / global holder down.
        let start = steps
            .iter()
            .rposition(|&(from, _)| {
                is_module_context(self.snap, self.names, from) || is_global(self.snap, from)
            })
            .unwrap_or(0);
        let mut text = String::new();
        let mut scope_ctx = None;
        for (i, &(from, e)) in steps.iter().enumerate().skip(start) {
            let ty = raw.edge_types[e];
            if i == start {
                scope_ctx = Some(from);
                text.push_str(&self.holder_class(from));
            } else if matches!(ty, EdgeType::Internal | EdgeType::Hidden) && i + 1 != steps.len() {
                continue;
            }
            text.push_str(&graph::edge_display(ty, &raw.edge_name(e)));
        }
        let edge = steps.last().map(|&(_, e)| raw.edge_name(e).into_owned());
        // Holder kind.
        let holder_kind = match scope_ctx {
            Some(c) if is_global(self.snap, c) => HolderKind::Global,
            Some(c) if is_module_context(self.snap, self.names, c) => {
                let scripts = self.context_scripts(c);
                match scripts.first().and_then(|&(_, s)| self.script_url(s)) {
                    Some(url) if Self::is_internal_script(url) => HolderKind::Internal,
                    Some(_) => HolderKind::ModuleScope,
                    None => HolderKind::Unknown,
                }
            }
            _ => HolderKind::Unknown,
        };
        let location = self.locate(n, hint, scope_ctx, parent, steps.last().map(|s| s.1), &edge);
        Explanation {
            path,
            path_text: text,
            edge,
            holder_kind,
            location,
        }
    }

    fn locate(
        &mut self,
        n: u32,
        hint: &LocationHint,
        scope_ctx: Option<u32>,
        holder_ctx: Option<u32>,
        last_edge: Option<usize>,
        edge: &Option<String>,
    ) -> Option<SourceLocation> {
        let raw = self.snap.raw();
        match hint {
            LocationHint::Closure(c) => self.node_location(*c, "function"),
            LocationHint::Constructor(o) => self.node_location(*o, "constructor"),
            LocationHint::None => None,
            LocationHint::Declaration { name, near } => {
                let name = name.clone().or_else(|| {
                    last_edge
                        .filter(|&e| {
                            matches!(raw.edge_types[e], EdgeType::Context | EdgeType::Property)
                        })
                        .and(edge.clone())
                });
                // Scripts to search: the near closure's, the holder context's closures'.
                let mut candidates: Vec<(u32, u32)> = Vec::new();
                if let Some(c) = near {
                    if let Some(loc) = self.snap.location(*c) {
                        candidates.push((*c, loc.script_id));
                    }
                }
                for ctx in [holder_ctx, scope_ctx].into_iter().flatten() {
                    if raw.node_name(ctx) == "system / Context" {
                        candidates.extend(self.context_scripts(ctx));
                    }
                }
                if raw.node_name(n) == "system / Context" {
                    candidates.extend(self.context_scripts(n));
                }
                if let Some(name) = &name {
                    let mut tried = std::collections::HashSet::new();
                    for &(_, sid) in &candidates {
                        if tried.insert(sid) {
                            if let Some(l) = self.declaration_in(sid, name) {
                                return Some(l);
                            }
                        }
                    }
                    // Held through a property (e.g. `global.app.cache`): look for the
                    // declaration in the application's own scripts (not node's).
                    let mut user: Vec<(u32, String)> = self
                        .scripts
                        .iter()
                        .filter(|(_, u)| !Self::is_internal_script(u))
                        .map(|(&id, u)| (id, u.clone()))
                        .collect();
                    user.sort();
                    for (sid, _) in user.into_iter().take(64) {
                        if tried.insert(sid) {
                            if let Some(l) = self.declaration_in(sid, name) {
                                return Some(l);
                            }
                        }
                    }
                }
                if let Some(&(c, _)) = candidates.first() {
                    return self.node_location(c, "closure");
                }
                self.node_location(n, "constructor")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations() {
        let src = "'use strict';\nconst x = 1;\n  let cacheX = 2;\nconst cache = new Map(); // LEAK\nfunction cache2() {}\n";
        assert_eq!(find_declaration(src, "cache"), Some((4, 7)));
        assert_eq!(find_declaration(src, "cacheX"), Some((3, 7)));
        assert_eq!(find_declaration(src, "cache2"), Some((5, 10)));
        assert_eq!(find_declaration(src, "nope"), None);
        assert_eq!(
            find_declaration("constant = 1; const  y=2", "y"),
            Some((1, 22))
        );
        assert_eq!(find_declaration("xconst y = 1", "y"), None);
    }
}
