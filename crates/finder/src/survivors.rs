//! memlab's rule, done for containers: objects allocated after the first snapshot that are
//! still alive in the last, grouped by the *old* object that retains them.
//!
//! V8 gives every object its id the first time a snapshot sees it, increasing within one
//! process, so in the last snapshot an object with an id above the first snapshot's highest
//! JS id was allocated after it; its id tells in which interval (an object alive at the end
//! and first seen at snapshot k was alive at every snapshot from k on: nothing is ever
//! resurrected). For each such survivor we walk up the dominator tree to the first object
//! that already existed in the first snapshot: the *anchor*, i.e. the container that keeps
//! the new objects alive (the Map, not its reallocated backing table; the array, not its
//! elements store). Thousands of leaves collapse into one row per anchor.

use crate::graph;
use crate::summary::SnapshotSummary;
use leakhound_snapshot::{HeapSnapshot, NodeType};
use std::collections::HashMap;

/// Survivors retained by one anchor.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub anchor: u32,
    /// New objects (allocated after the first snapshot) retained by the anchor.
    pub count: u64,
    pub self_size: u64,
    /// Survivors by allocation interval (`[i]`: first seen in snapshot `i + 2`).
    pub per_interval: Vec<u64>,
    /// Class name -> (count, shallow bytes) of the survivors.
    pub classes: HashMap<String, (u64, u64)>,
}

impl Group {
    /// Classes by shallow bytes, largest first.
    pub fn top_classes(&self) -> Vec<(String, u64, u64)> {
        let mut v: Vec<(String, u64, u64)> = self
            .classes
            .iter()
            .map(|(k, &(c, s))| (k.clone(), c, s))
            .collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
        v
    }

    /// Share of the survivors' bytes whose class satisfies `is`.
    fn byte_share(&self, is: impl Fn(&str) -> bool) -> f64 {
        if self.self_size == 0 {
            return 0.0;
        }
        let s: u64 = self
            .classes
            .iter()
            .filter(|(k, _)| is(k))
            .map(|(_, v)| v.1)
            .sum();
        s as f64 / self.self_size as f64
    }

    /// Share of the survivors' bytes that are detached DOM nodes (browser snapshots).
    pub fn detached_dom_share(&self) -> f64 {
        self.byte_share(|k| k.starts_with("Detached "))
    }

    /// Share of the survivors' bytes that are strings or buffers.
    pub fn string_share(&self) -> f64 {
        self.byte_share(|k| {
            k.contains("string")
                || k == "ArrayBuffer"
                || k == "Buffer"
                || k == "system / JSArrayBufferData"
        })
    }
}

/// All survivor groups of the last snapshot, and the anchor of every survivor.
pub struct Survivors {
    pub groups: HashMap<u32, Group>,
    /// Per ordinal of the last snapshot: the anchor of a survivor, `u32::MAX` otherwise.
    pub anchor_of: Vec<u32>,
    /// `max_js_id` of every snapshot, oldest first.
    pub boundaries: Vec<u32>,
}

/// Whether an anchor candidate is engine-internal and should hand over to its owner:
/// backing stores (`(object elements)`, a Map's table), hidden arrays, shapes, code.
fn is_internal_holder(snap: &HeapSnapshot, n: u32) -> bool {
    let raw = snap.raw();
    match raw.node_types[n as usize] {
        NodeType::Array | NodeType::Hidden | NodeType::Code | NodeType::ObjectShape => true,
        NodeType::Object => {
            let name = raw.node_name(n);
            name.starts_with("system /") && name != "system / Context"
        }
        _ => false,
    }
}

/// Climbs from an internal holder to the object that owns it (its dominator).
pub fn normalize_anchor(snap: &HeapSnapshot, mut n: u32) -> u32 {
    let root = snap.root();
    let mut guard = 0;
    while n != root && is_internal_holder(snap, n) && guard < 64 {
        let d = snap.dominator(n);
        if d == n {
            break;
        }
        n = d;
        guard += 1;
    }
    n
}

/// Interval index (0 = between snapshot 1 and 2) of an id, given the `max_js_id`s.
pub fn interval_of(boundaries: &[u32], id: u32) -> Option<usize> {
    if boundaries.is_empty() || id <= boundaries[0] {
        return None;
    }
    let k = boundaries.partition_point(|&b| b < id);
    Some(k.saturating_sub(1).min(boundaries.len().saturating_sub(2)))
}

/// Groups the survivors of the last snapshot by anchor.
pub fn compute(snap: &HeapSnapshot, summaries: &[SnapshotSummary]) -> Survivors {
    let boundaries: Vec<u32> = summaries.iter().map(|s| s.info.max_js_id).collect();
    compute_with(snap, &summaries[0], &boundaries)
}

/// [`compute`] given the first summary and every snapshot's highest JS object id, so it can
/// run before the last snapshot's summary is done.
pub fn compute_with(snap: &HeapSnapshot, first: &SnapshotSummary, boundaries: &[u32]) -> Survivors {
    let raw = snap.raw();
    let n = raw.node_count();
    let intervals = boundaries.len().saturating_sub(1);
    let is_old = |node: u32| {
        let id = raw.node_ids[node as usize];
        (id.is_multiple_of(2) || id <= boundaries[0]) && first.has_id(id)
    };
    let root = snap.root();
    const UNSET: u32 = u32::MAX;
    // anchor (raw, before normalisation) for new nodes; UNSET for not computed / old.
    let mut anchor_raw = vec![UNSET; n];
    let mut stack: Vec<u32> = Vec::new();
    for node in 0..n as u32 {
        if is_old(node) || anchor_raw[node as usize] != UNSET {
            continue;
        }
        let ty = raw.node_types[node as usize];
        if ty == NodeType::Synthetic {
            continue;
        }
        // Walk up until an old node or a node whose anchor is known.
        stack.clear();
        let mut cur = node;
        let found = loop {
            if cur == root || is_old(cur) {
                break cur;
            }
            let a = anchor_raw[cur as usize];
            if a != UNSET {
                break a;
            }
            stack.push(cur);
            let d = snap.dominator(cur);
            if d == cur || stack.len() > n {
                break root;
            }
            cur = d;
        };
        for &s in &stack {
            anchor_raw[s as usize] = found;
        }
    }
    // Normalise anchors and build groups. The raw anchors are rewritten in place (one
    // array of 4 bytes a node instead of two, at the finder's memory peak).
    let mut norm_cache: HashMap<u32, u32> = HashMap::new();
    let mut groups: HashMap<u32, Group> = HashMap::new();
    let mut anchor_of = anchor_raw;
    for node in 0..n as u32 {
        let a = anchor_of[node as usize];
        if a == UNSET {
            continue;
        }
        let ty = raw.node_types[node as usize];
        let name = raw.node_name(node);
        if graph::is_jit_noise(ty, name) {
            anchor_of[node as usize] = UNSET;
            continue;
        }
        let anchor = *norm_cache
            .entry(a)
            .or_insert_with(|| normalize_anchor(snap, a));
        anchor_of[node as usize] = anchor;
        let g = groups.entry(anchor).or_insert_with(|| Group {
            anchor,
            per_interval: vec![0; intervals],
            ..Group::default()
        });
        let size = snap.self_size(node);
        g.count += 1;
        g.self_size += size;
        if let Some(k) = interval_of(boundaries, raw.node_ids[node as usize]) {
            if k < g.per_interval.len() {
                g.per_interval[k] += 1;
            }
        }
        let class = snap.class_name(node);
        if let Some(e) = g.classes.get_mut(class) {
            e.0 += 1;
            e.1 += size;
        } else {
            g.classes.insert(class.to_string(), (1, size));
        }
    }
    Survivors {
        groups,
        anchor_of,
        boundaries: boundaries.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_by_id() {
        let b = [100, 200, 300];
        assert_eq!(interval_of(&b, 99), None);
        assert_eq!(interval_of(&b, 100), None);
        assert_eq!(interval_of(&b, 101), Some(0));
        assert_eq!(interval_of(&b, 200), Some(0));
        assert_eq!(interval_of(&b, 201), Some(1));
        assert_eq!(interval_of(&b, 300), Some(1));
        // Beyond the last boundary (should not happen) counts in the last interval.
        assert_eq!(interval_of(&b, 301), Some(1));
    }
}
