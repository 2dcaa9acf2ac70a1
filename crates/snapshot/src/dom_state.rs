//! DOM-state propagation (DevTools `propagateDOMState`).
//!
//! Starting from nodes whose `detachedness` is known (1 attached, 2 detached), attached
//! state flows to children first, then detached state to children not already attached.
//! Propagation never crosses `hidden` or `weak` edges and stops at non-`native` nodes.
//! Detached nodes get `Detached ` prefixed to their name.

use crate::format::{EdgeType, NodeType, RawSnapshot};
use rustc_hash::FxHashMap;

const ATTACHED: u8 = 1;
const DETACHED: u8 = 2;

pub fn propagate(raw: &mut RawSnapshot) {
    if !raw.has_detachedness {
        return;
    }
    let n = raw.node_count();
    let mut visited = crate::bitvec::BitVec::new(n);
    let mut attached: Vec<u32> = Vec::new();
    let mut detached: Vec<u32> = Vec::new();
    let mut renamed: FxHashMap<u32, u32> = FxHashMap::default();

    let mut process = |raw: &mut RawSnapshot,
                       ordinal: u32,
                       state: u8,
                       attached: &mut Vec<u32>,
                       detached: &mut Vec<u32>| {
        let i = ordinal as usize;
        if visited.get(i) {
            return;
        }
        visited.set(i);
        if raw.node_types[i] != NodeType::Native {
            return;
        }
        raw.node_detachedness[i] = state;
        if state == ATTACHED {
            attached.push(ordinal);
        } else if state == DETACHED {
            let old = raw.node_names[i];
            let new = *renamed.entry(old).or_insert_with(|| {
                let name = format!("Detached {}", raw.strings.get(old));
                raw.strings.push(&name)
            });
            raw.node_names[i] = new;
            detached.push(ordinal);
        }
    };

    for ordinal in 0..n as u32 {
        let state = raw.node_detachedness[ordinal as usize];
        if state != 0 {
            process(raw, ordinal, state, &mut attached, &mut detached);
        }
    }
    let passes = |t: EdgeType| !matches!(t, EdgeType::Hidden | EdgeType::Weak);
    while let Some(parent) = attached.pop() {
        for e in raw.edges_of(parent) {
            if passes(raw.edge_types[e]) {
                let child = raw.edge_to[e];
                process(raw, child, ATTACHED, &mut attached, &mut detached);
            }
        }
    }
    while let Some(parent) = detached.pop() {
        if raw.node_detachedness[parent as usize] == ATTACHED {
            continue;
        }
        for e in raw.edges_of(parent) {
            if passes(raw.edge_types[e]) {
                let child = raw.edge_to[e];
                process(raw, child, DETACHED, &mut attached, &mut detached);
            }
        }
    }
}
