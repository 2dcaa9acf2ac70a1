//! Distances from the roots by BFS (DevTools `calculateDistances`).
//!
//! Pass 1 starts from the user roots (distance 1). Pass 2 starts from the root with
//! distance 100,000,000 when user roots exist (else 0) and reaches the rest, so objects
//! only the system holds show ≥ 1e8. Weak edges are never followed; JS snapshots also skip
//! `sloppy_function_map` of the native context, the shared descriptor slots of
//! `(map descriptors)` arrays (crbug 413608), and the first-seen half of each WeakMap
//! ephemeron pair so the value gets the greater of the two distances (crbug 1290800).

use crate::flags::is_user_root;
use crate::format::{EdgeType, NodeType, RawSnapshot};
use crate::weakmap::EphemeronNames;
use std::collections::HashSet;

/// Distance of nodes no BFS reached.
pub const NO_DISTANCE: i32 = -5;
/// Offset of objects reachable only from system roots.
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;

/// JavaScript `parseInt(s, 10)`: leading white space, optional sign, leading digits.
pub(crate) fn js_parse_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let value = t[..digits].parse::<i64>().unwrap_or(i64::MAX);
    Some(if neg { -value } else { value })
}

struct EdgeFilter<'a> {
    raw: &'a RawSnapshot,
    eph: &'a EphemeronNames,
    pending: HashSet<&'a str>,
    sloppy_function_map: Option<u32>,
}

impl<'a> EdgeFilter<'a> {
    fn passes(&mut self, from: u32, e: usize) -> bool {
        let raw = self.raw;
        let ty = raw.edge_types[e];
        let from_type = raw.node_types[from as usize];
        if from_type == NodeType::Hidden
            && !ty.has_index_name()
            && Some(raw.edge_names[e]) == self.sloppy_function_map
            && raw.node_name(from) == "system / NativeContext"
        {
            return false;
        }
        if from_type == NodeType::Array && raw.node_name(from) == "(map descriptors)" {
            let index = if ty.has_index_name() {
                Some(raw.edge_names[e] as i64)
            } else {
                js_parse_int(raw.strings.get(raw.edge_names[e]))
            };
            return match index {
                Some(i) => i < 2 || i % 3 != 1,
                None => true,
            };
        }
        if ty == EdgeType::Internal {
            if let Some((_, pair)) = self.eph.get(raw.edge_names[e]) {
                if !self.pending.remove(pair) {
                    self.pending.insert(pair);
                    return false;
                }
            }
        }
        true
    }
}

pub fn calculate(raw: &RawSnapshot, eph: &EphemeronNames) -> Vec<i32> {
    let n = raw.node_count();
    let mut distances = vec![NO_DISTANCE; n];
    let mut filter = EdgeFilter {
        raw,
        eph,
        pending: HashSet::new(),
        sloppy_function_map: raw.strings.find("sloppy_function_map"),
    };
    let mut queue: Vec<u32> = Vec::with_capacity(n);
    for e in raw.edges_of(raw.root) {
        let to = raw.edge_to[e];
        if is_user_root(raw, to) {
            distances[to as usize] = 1;
            queue.push(to);
        }
    }
    let had_user_roots = !queue.is_empty();
    bfs(raw, &mut queue, &mut distances, &mut filter);
    distances[raw.root as usize] = if had_user_roots {
        BASE_SYSTEM_DISTANCE
    } else {
        0
    };
    queue.clear();
    queue.push(raw.root);
    bfs(raw, &mut queue, &mut distances, &mut filter);
    distances
}

fn bfs(raw: &RawSnapshot, queue: &mut Vec<u32>, distances: &mut [i32], filter: &mut EdgeFilter) {
    let mut head = 0;
    while head < queue.len() {
        let node = queue[head];
        head += 1;
        let d = distances[node as usize] + 1;
        for e in raw.edges_of(node) {
            if raw.edge_types[e] == EdgeType::Weak {
                continue;
            }
            let child = raw.edge_to[e];
            if distances[child as usize] != NO_DISTANCE {
                continue;
            }
            if !filter.passes(node, e) {
                continue;
            }
            distances[child as usize] = d;
            queue.push(child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::js_parse_int;

    #[test]
    fn parse_int_like_js() {
        assert_eq!(js_parse_int("12"), Some(12));
        assert_eq!(js_parse_int(" 7abc"), Some(7));
        assert_eq!(js_parse_int("-3"), Some(-3));
        assert_eq!(js_parse_int("abc"), None);
        assert_eq!(js_parse_int(""), None);
    }
}
