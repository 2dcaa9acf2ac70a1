//! DevTools' shallow-size reassignment (`calculateShallowSizes`).
//!
//! "Owned" nodes (`hidden`, `array`, and `native` nodes named `system / ExternalStringData`)
//! reached over non-weak edges from exactly one owner (any other node) give their size to
//! that owner and show 0 themselves, unless the owner is synthetic or the root. Skipped
//! when the snapshot has no user roots (`exposeInternals`), where raw sizes are the truth.

use crate::format::{NodeType, RawSnapshot};

const UNVISITED: u32 = u32::MAX;
const MULTIPLE: u32 = u32::MAX - 1;

fn is_owned_kind(raw: &RawSnapshot, n: usize) -> bool {
    match raw.node_types[n] {
        NodeType::Hidden | NodeType::Array => true,
        NodeType::Native => raw.strings.get(raw.node_names[n]) == "system / ExternalStringData",
        _ => false,
    }
}

/// Returns the adjusted self sizes (the raw ones when there are no user roots).
pub fn adjusted_self_sizes(raw: &RawSnapshot, has_user_roots: bool) -> Vec<u64> {
    let mut sizes = raw.node_self_sizes.clone();
    if !has_user_roots {
        return sizes;
    }
    let n = raw.node_count();
    let mut owners = vec![0u32; n];
    let mut worklist: Vec<u32> = Vec::new();
    for (i, owner) in owners.iter_mut().enumerate() {
        if is_owned_kind(raw, i) {
            *owner = UNVISITED;
        } else {
            *owner = i as u32;
            worklist.push(i as u32);
        }
    }
    while let Some(id) = worklist.pop() {
        let owner = owners[id as usize];
        for e in raw.edges_of(id) {
            if raw.edge_types[e] == crate::format::EdgeType::Weak {
                continue;
            }
            let target = raw.edge_to[e];
            let current = owners[target as usize];
            if current == UNVISITED {
                owners[target as usize] = owner;
                worklist.push(target);
            } else if current == target || current == owner || current == MULTIPLE {
                // Owned by itself, already by this owner, or already shared: nothing changes.
            } else {
                owners[target as usize] = MULTIPLE;
                worklist.push(target);
            }
        }
    }
    for i in 0..n {
        let owner = owners[i];
        if owner == UNVISITED || owner == MULTIPLE || owner == i as u32 {
            continue;
        }
        let o = owner as usize;
        if raw.node_types[o] == NodeType::Synthetic || owner == raw.root {
            continue;
        }
        let moved = sizes[i];
        sizes[i] = 0;
        sizes[o] += moved;
    }
    sizes
}
