//! Root classification and the page-owned flag (DevTools `markPageOwnedNodes`).

use crate::bitvec::BitVec;
use crate::format::{EdgeType, NodeType, RawSnapshot};

const DOCUMENT_DOM_TREES: &str = "(Document DOM trees)";

fn is_document_dom_trees_root(raw: &RawSnapshot, n: u32) -> bool {
    raw.node_types[n as usize] == NodeType::Synthetic && raw.node_name(n) == DOCUMENT_DOM_TREES
}

/// DevTools' user root: a child of the root that is not synthetic, or `(Document DOM trees)`.
pub fn is_user_root(raw: &RawSnapshot, n: u32) -> bool {
    raw.node_types[n as usize] != NodeType::Synthetic || is_document_dom_trees_root(raw, n)
}

/// Whether any child of the root is a user root. Snapshots written with `exposeInternals`
/// have none, which switches off shallow-size reassignment and the system distance offset.
pub fn has_user_roots(raw: &RawSnapshot) -> bool {
    raw.edges_of(raw.root)
        .any(|e| is_user_root(raw, raw.edge_to[e]))
}

/// Nodes reachable over non-weak edges from the root's `shortcut` targets (the global
/// objects) and from `(Document DOM trees)` reached by an `element` edge.
pub fn mark_page_owned(raw: &RawSnapshot) -> BitVec {
    let mut page = BitVec::new(raw.node_count());
    let mut stack: Vec<u32> = Vec::new();
    for e in raw.edges_of(raw.root) {
        let to = raw.edge_to[e];
        match raw.edge_types[e] {
            EdgeType::Element if is_document_dom_trees_root(raw, to) => {}
            EdgeType::Shortcut => {}
            _ => continue,
        }
        stack.push(to);
        page.set(to as usize);
    }
    while let Some(n) = stack.pop() {
        for e in raw.edges_of(n) {
            let to = raw.edge_to[e];
            if page.get(to as usize) || raw.edge_types[e] == EdgeType::Weak {
                continue;
            }
            page.set(to as usize);
            stack.push(to);
        }
    }
    page
}
