//! Retaining paths: how an object is held, back to the GC roots, shortest first.
//!
//! Follows DevTools' Retainers view: weak edges and edges out of the root are hidden, and
//! a path ends at a user root such as `global` or at a GC sub-root such as `(Handle scope)`. Paths are enumerated best-first by the
//! retainers' distance, without revisiting a node on the same path, within a node budget.

use crate::distances::{BASE_SYSTEM_DISTANCE, NO_DISTANCE};
use crate::format::EdgeType;
use crate::heap::HeapSnapshot;

/// One step of a path, from the holder down: `from` holds the next node through `edge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStep {
    pub from: u32,
    pub edge: usize,
}

/// A user root (distance 1: `global`, `Node / Environment`) or a system root: the root,
/// `(GC roots)` or one of its sub-roots. Without user roots, system distances start at 0.
fn is_path_end(snap: &HeapSnapshot, n: u32) -> bool {
    let d = snap.distance(n);
    let system_base = snap.distance(snap.root());
    d == 1 || (system_base..=system_base + 2).contains(&d)
}

/// Sort key of a retainer: nearer the roots first; unreachable nodes last.
fn rank(snap: &HeapSnapshot, n: u32) -> i64 {
    match snap.distance(n) {
        NO_DISTANCE => i64::MAX,
        d => d as i64,
    }
}

/// Up to `max_paths` retaining paths of `target`, each at most `max_depth` edges long,
/// listed root-side first and sorted shortest first.
pub fn retaining_paths(
    snap: &HeapSnapshot,
    target: u32,
    max_depth: usize,
    max_paths: usize,
) -> Vec<Vec<PathStep>> {
    let mut found: Vec<Vec<PathStep>> = Vec::new();
    let mut on_path = crate::bitvec::BitVec::new(snap.node_count());
    let mut path: Vec<PathStep> = Vec::new();
    let mut budget: usize = 20_000;
    on_path.set(target as usize);
    walk(
        snap,
        target,
        max_depth,
        max_paths.saturating_mul(4).max(16),
        &mut on_path,
        &mut path,
        &mut found,
        &mut budget,
    );
    for p in &mut found {
        p.reverse();
    }
    found.sort_by_key(|p| p.len());
    found.truncate(max_paths);
    found
}

#[allow(clippy::too_many_arguments)]
fn walk(
    snap: &HeapSnapshot,
    node: u32,
    depth_left: usize,
    want: usize,
    on_path: &mut crate::bitvec::BitVec,
    path: &mut Vec<PathStep>,
    found: &mut Vec<Vec<PathStep>>,
    budget: &mut usize,
) {
    if found.len() >= want || *budget == 0 {
        return;
    }
    *budget -= 1;
    if !path.is_empty() && is_path_end(snap, node) {
        found.push(path.clone());
        return;
    }
    if depth_left == 0 {
        return;
    }
    let root = snap.root();
    let mut retainers: Vec<(usize, u32)> = snap
        .retainers(node)
        .filter(|&(e, from)| from != root && snap.edge_type(e) != EdgeType::Weak)
        .collect();
    retainers.sort_by_key(|&(_, from)| rank(snap, from));
    retainers.dedup_by_key(|r| r.1);
    for (edge, from) in retainers {
        if on_path.get(from as usize) {
            continue;
        }
        // A path through `from` cannot end within the depth budget if `from` is farther
        // from the roots than the budget allows.
        let d = snap.distance(from);
        if d != NO_DISTANCE {
            let to_end = if d >= BASE_SYSTEM_DISTANCE {
                d - BASE_SYSTEM_DISTANCE
            } else {
                d
            };
            if (to_end as i64 - 2) > depth_left as i64 {
                continue;
            }
        }
        on_path.set(from as usize);
        path.push(PathStep { from, edge });
        walk(
            snap,
            from,
            depth_left - 1,
            want,
            on_path,
            path,
            found,
            budget,
        );
        path.pop();
        on_path.clear(from as usize);
        if found.len() >= want || *budget == 0 {
            return;
        }
    }
}
