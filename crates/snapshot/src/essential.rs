//! Which edges take part in the dominator tree (DevTools `computeIsEssentialEdge`).
//!
//! An edge u → v is *not* essential when it is the table → value half of a WeakMap
//! ephemeron pair, when it is weak, when u == v, or (u not the root) when it is a shortcut,
//! or it goes from a non-page-owned node into a page-owned one.

use crate::bitvec::BitVec;
use crate::format::{EdgeType, RawSnapshot};
use crate::weakmap::EphemeronNames;

pub fn essential_edges(raw: &RawSnapshot, page_owned: &BitVec, eph: &EphemeronNames) -> BitVec {
    let mut essential = BitVec::new(raw.edge_count());
    for u in 0..raw.node_count() as u32 {
        let is_root = u == raw.root;
        for e in raw.edges_of(u) {
            let ty = raw.edge_types[e];
            if ty == EdgeType::Internal {
                if let Some((table_id, _)) = eph.get(raw.edge_names[e]) {
                    if table_id == raw.node_ids[u as usize] as u64 {
                        continue;
                    }
                }
            }
            if ty == EdgeType::Weak {
                continue;
            }
            let v = raw.edge_to[e];
            if u == v {
                continue;
            }
            if !is_root {
                if ty == EdgeType::Shortcut {
                    continue;
                }
                if page_owned.get(v as usize) && !page_owned.get(u as usize) {
                    continue;
                }
            }
            essential.set(e);
        }
    }
    essential
}
