//! Closure/context chains (the "replaceThing" pattern): each new function shares a context
//! with a closure that captures the previous value, so contexts pile up in a chain, every
//! link dominating the next. Found among the survivor groups: many new contexts under one
//! anchor, nested deeply in the dominator tree rather than side by side.

use super::{Candidate, Context, Detector, LocationHint};
use crate::model::{FindingKind, Pattern};
use leakhound_snapshot::{EdgeType, NodeType};
use std::collections::HashMap;

/// A group needs at least this many new contexts to be looked at.
const MIN_CONTEXTS: u64 = 32;

pub struct ClosureChains;

fn is_context(cx: &Context<'_>, n: u32) -> bool {
    let raw = cx.snap.raw();
    matches!(
        raw.node_types[n as usize],
        NodeType::Object | NodeType::Hidden
    ) && raw.node_name(n) == "system / Context"
}

impl Detector for ClosureChains {
    fn name(&self) -> &'static str {
        "closure-chains"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate> {
        let raw = cx.snap.raw();
        let anchors: Vec<u32> = cx
            .survivors
            .groups
            .values()
            .filter(|g| {
                g.classes
                    .get("system / Context")
                    .is_some_and(|c| c.0 >= MIN_CONTEXTS)
            })
            .map(|g| g.anchor)
            .collect();
        if anchors.is_empty() {
            return Vec::new();
        }
        // New contexts per anchor.
        let mut contexts: HashMap<u32, Vec<u32>> = HashMap::new();
        for n in 0..raw.node_count() as u32 {
            let a = cx.survivors.anchor_of[n as usize];
            if a != u32::MAX && anchors.contains(&a) && is_context(cx, n) {
                contexts.entry(a).or_default().push(n);
            }
        }
        let mut out = Vec::new();
        for (anchor, ctxs) in contexts {
            // Context depth below the anchor along the dominator tree (memoised).
            let mut depth: HashMap<u32, u32> = HashMap::new();
            let mut max_depth = 0u32;
            let mut deepest = ctxs[0];
            for &c in &ctxs {
                let mut path = Vec::new();
                let mut cur = c;
                let base = loop {
                    if cur == anchor || cur == cx.snap.root() {
                        break 0;
                    }
                    if let Some(&d) = depth.get(&cur) {
                        break d;
                    }
                    path.push(cur);
                    let up = cx.snap.dominator(cur);
                    if up == cur {
                        break 0;
                    }
                    cur = up;
                };
                let mut d = base;
                for &p in path.iter().rev() {
                    if is_context(cx, p) {
                        d += 1;
                    }
                    depth.insert(p, d);
                }
                if d > max_depth {
                    max_depth = d;
                    deepest = c;
                }
            }
            let n_ctx = ctxs.len() as u32;
            if max_depth < 16 || (max_depth as f64) < 0.3 * n_ctx as f64 {
                continue;
            }
            // The chain variable: the context slot that points at the next (new) link.
            let mut vars: HashMap<String, u32> = HashMap::new();
            for &c in &ctxs {
                for e in raw.edges_of(c) {
                    if raw.edge_types[e] == EdgeType::Context {
                        let to = raw.edge_to[e];
                        if cx.survivors.anchor_of[to as usize] == anchor || depth.contains_key(&to)
                        {
                            *vars.entry(raw.edge_name(e).into_owned()).or_default() += 1;
                        }
                    }
                }
            }
            let chain_var = vars
                .iter()
                .max_by_key(|(k, v)| (**v, std::cmp::Reverse((*k).clone())))
                .map(|(k, _)| k.clone());
            // A closure of the chain, for the script to search and the fallback location.
            let near = raw
                .edges_of(deepest)
                .find(|&e| raw.edge_types[e] == EdgeType::Context)
                .and_then(|_| {
                    cx.snap
                        .retainers(deepest)
                        .find(|&(_, from)| raw.node_types[from as usize] == NodeType::Closure)
                        .map(|(_, from)| from)
                });
            // The chain's top links: contexts with no other new context above them.
            let tops: Vec<u32> = ctxs
                .iter()
                .copied()
                .filter(|c| depth.get(c) == Some(&1))
                .collect();
            // Chain length and bytes per snapshot, from the last snapshot: links (contexts)
            // and bytes in the tops' dominator subtrees that existed then (nothing in a
            // chain dies, and an object alive at the end existed at every snapshot since it
            // was first seen). For the last snapshot the bytes are the exact retained size.
            let mut counts = vec![0u64; cx.snapshots()];
            let mut bytes = vec![0u64; cx.snapshots()];
            let mut stack: Vec<u32> = tops.clone();
            let mut visited = 0usize;
            while let Some(n) = stack.pop() {
                visited += 1;
                if visited > 50_000_000 {
                    break;
                }
                let id = cx.id(n);
                let ctx = is_context(cx, n);
                let size = cx.snap.self_size(n);
                for k in 0..counts.len() {
                    if cx.existed_at(id, k) {
                        bytes[k] += size;
                        if ctx {
                            counts[k] += 1;
                        }
                    }
                }
                stack.extend_from_slice(cx.snap.dominated_children(n));
            }
            // The variable that holds the chain: search up the retainers of the top links
            // for the first old object or scope reached through a property/context/element
            // edge (the anchor itself may be a GC root when the stack also holds the head).
            let Some((holder, head_edge)) = find_holder(cx, &tops) else {
                continue;
            };
            let evidence = vec![format!(
                "{n_ctx} new contexts nested {max_depth} deep{}",
                chain_var
                    .as_ref()
                    .map(|v| format!(", linked through ->{v}"))
                    .unwrap_or_default()
            )];
            out.push(Candidate {
                holder,
                kind: FindingKind::ClosureChain,
                pattern: Pattern::ClosureLeak,
                class: "system / Context".to_string(),
                edge: Some(raw.edge_name(head_edge).into_owned()),
                count_unit: "contexts".to_string(),
                counts: counts.into_iter().map(Some).collect(),
                retained: bytes.into_iter().map(Some).collect(),
                location: LocationHint::Declaration {
                    name: chain_var.clone(),
                    near,
                },
                evidence,
                priority: 80,
                tail_edge: Some(head_edge),
                covers: tops.clone(),
                sample: None,
            });
        }
        out
    }
}

/// Breadth-first up the retainers of `starts` through new objects only, to the first old
/// object or scope reached by a property, context or element edge: `(holder, edge)`.
fn find_holder(cx: &Context<'_>, starts: &[u32]) -> Option<(u32, usize)> {
    let raw = cx.snap.raw();
    let root = cx.snap.root();
    let mut seen: std::collections::HashSet<u32> = starts.iter().copied().collect();
    let mut queue: std::collections::VecDeque<u32> = starts.iter().copied().collect();
    let mut visits = 0;
    while let Some(n) = queue.pop_front() {
        visits += 1;
        if visits > 200_000 {
            break;
        }
        let mut rets: Vec<(usize, u32)> = cx.snap.retainers(n).collect();
        rets.sort_by_key(|&(e, from)| (raw.edge_types[e] as u8, raw.node_ids[from as usize]));
        for (e, from) in rets {
            let ty = raw.edge_types[e];
            if ty == EdgeType::Weak || from == root || !seen.insert(from) {
                continue;
            }
            if cx.existed_at(cx.id(from), 0) {
                let name = raw.node_name(from);
                let accept = matches!(
                    ty,
                    EdgeType::Context | EdgeType::Property | EdgeType::Element
                ) && raw.node_types[from as usize] == NodeType::Object
                    && (!name.starts_with("system /") || name == "system / Context");
                if accept {
                    return Some((from, e));
                }
                continue; // never climb through old objects: they belong to someone else
            }
            queue.push_back(from);
        }
    }
    None
}
