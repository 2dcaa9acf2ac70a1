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
            // Chain length per snapshot: contexts in the anchor's dominator subtree that
            // existed then.
            let mut counts = vec![0u64; cx.snapshots()];
            let mut stack: Vec<u32> = cx.snap.dominated_children(anchor).to_vec();
            let mut visited = 0usize;
            while let Some(n) = stack.pop() {
                visited += 1;
                if visited > 50_000_000 {
                    break;
                }
                if is_context(cx, n) {
                    let id = cx.id(n);
                    for (k, c) in counts.iter_mut().enumerate() {
                        if cx.existed_at(id, k) {
                            *c += 1;
                        }
                    }
                }
                stack.extend_from_slice(cx.snap.dominated_children(n));
            }
            // The variable that holds the chain's head: the anchor's edge to its largest new
            // dominated child.
            let head_edge = raw
                .edges_of(anchor)
                .filter(|&e| raw.edge_types[e] != EdgeType::Weak)
                .filter(|&e| {
                    let t = raw.edge_to[e];
                    cx.survivors.anchor_of[t as usize] == anchor && cx.snap.dominator(t) == anchor
                })
                .max_by_key(|&e| {
                    (
                        cx.snap.retained_size(raw.edge_to[e]),
                        raw.edge_types[e] == EdgeType::Context,
                    )
                });
            let evidence = vec![format!(
                "{n_ctx} new contexts nested {max_depth} deep{}",
                chain_var
                    .as_ref()
                    .map(|v| format!(", linked through ->{v}"))
                    .unwrap_or_default()
            )];
            out.push(Candidate {
                holder: anchor,
                kind: FindingKind::ClosureChain,
                pattern: Pattern::ClosureLeak,
                class: "system / Context".to_string(),
                edge: head_edge.map(|e| raw.edge_name(e).into_owned()),
                count_unit: "contexts".to_string(),
                counts: counts.into_iter().map(Some).collect(),
                retained: super::retained_series(cx, anchor),
                location: LocationHint::Declaration {
                    name: chain_var.clone(),
                    near,
                },
                evidence,
                priority: 80,
                tail_edge: head_edge,
            });
        }
        out
    }
}
