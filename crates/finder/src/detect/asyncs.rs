//! Async leaks: promises that never settle, and the AsyncLocalStorage stores that async
//! resources carry. A pending promise alone is garbage; one that leaks is reachable from
//! something long-lived (its resolver parked on an emitter or in a map of pending calls, the
//! promise itself in a queue). The detector counts pending promises and stores per snapshot,
//! and when they grow, groups the new ones by the container or emitter that holds them, so
//! the finding names that holder and, when a suspended `async` function waits on them, that
//! function.

use super::{Candidate, Context, Detector, LocationHint};
use crate::graph;
use crate::model::{FindingKind, Pattern};
use leakhound_snapshot::{EdgeType, NodeType};
use std::collections::HashMap;

/// The count of pending promises (or stores) must grow by at least this much overall.
const MIN_GROWTH: u64 = 16;
/// A holder must keep at least this share of the new pending promises / stores.
const MIN_SHARE: f64 = 0.1;
/// At most this many holders are proposed.
const MAX_HOLDERS: usize = 3;

pub struct AsyncResources;

#[derive(Default)]
struct Group {
    promises: u64,
    carriers: u64,
    /// One pending promise of the group (for the location and the sample).
    sample: Option<u32>,
    /// A suspended async function waiting on the group's promises.
    waiting_function: Option<u32>,
}

fn grows(series: &[u64]) -> bool {
    match (series.first(), series.last()) {
        (Some(&first), Some(&last)) => last >= first + MIN_GROWTH,
        _ => false,
    }
}

impl Detector for AsyncResources {
    fn name(&self) -> &'static str {
        "async"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate> {
        let pending: Vec<u64> = cx.summaries.iter().map(|s| s.pending_promises).collect();
        let stores: Vec<u64> = cx.summaries.iter().map(|s| s.async_stores).collect();
        let promises_grow = grows(&pending);
        let stores_grow = grows(&stores);
        if !promises_grow && !stores_grow {
            return Vec::new();
        }
        let raw = cx.snap.raw();
        let names = &cx.names;
        let mut groups: HashMap<u32, Group> = HashMap::new();
        let (mut new_promises, mut new_carriers) = (0u64, 0u64);
        for node in 0..raw.node_count() as u32 {
            let promise = promises_grow && graph::is_pending_promise(raw, names, node);
            let carrier = stores_grow
                && raw.node_types[node as usize] == NodeType::Object
                && graph::resource_stores(raw, names, node).next().is_some();
            if !promise && !carrier || cx.existed_at(cx.id(node), 0) {
                continue;
            }
            new_promises += promise as u64;
            new_carriers += carrier as u64;
            let Some(holder) = holder_of(cx, node) else {
                continue;
            };
            let g = groups.entry(holder).or_default();
            g.promises += promise as u64;
            g.carriers += carrier as u64;
            if promise {
                g.sample.get_or_insert(node);
                if g.waiting_function.is_none() {
                    g.waiting_function = waiting_async_function(cx, node);
                }
            }
        }
        let share = |g: &Group| {
            let p = if new_promises > 0 {
                g.promises as f64 / new_promises as f64
            } else {
                0.0
            };
            let c = if new_carriers > 0 {
                g.carriers as f64 / new_carriers as f64
            } else {
                0.0
            };
            p.max(c)
        };
        let mut ranked: Vec<(u32, Group)> = groups
            .into_iter()
            .filter(|(_, g)| g.promises.max(g.carriers) >= MIN_GROWTH && share(g) >= MIN_SHARE)
            .collect();
        ranked.sort_by(|a, b| {
            (b.1.promises + b.1.carriers)
                .cmp(&(a.1.promises + a.1.carriers))
                .then(a.0.cmp(&b.0))
        });
        ranked.truncate(MAX_HOLDERS);

        ranked
            .into_iter()
            .map(|(holder, g)| {
                let by_promises = promises_grow && g.promises > 0;
                let mut evidence = Vec::new();
                if by_promises {
                    evidence.push(format!(
                        "pending promises: {} (from {}); {} new ones are held here",
                        pending.last().unwrap_or(&0),
                        pending.first().unwrap_or(&0),
                        g.promises
                    ));
                }
                if stores_grow {
                    evidence.push(format!(
                        "AsyncLocalStorage stores alive: {} (from {}); {} new async resources \
                         carrying one are held here",
                        stores.last().unwrap_or(&0),
                        stores.first().unwrap_or(&0),
                        g.carriers
                    ));
                }
                if let Some(f) = g.waiting_function {
                    evidence.push(format!(
                        "suspended in `async function {}` awaiting a promise that never settles",
                        raw.node_name(f)
                    ));
                }
                let (series, unit, class) = if by_promises {
                    (&pending, "pending promises", "Promise")
                } else {
                    (
                        &stores,
                        "AsyncLocalStorage stores",
                        "AsyncLocalStorage store",
                    )
                };
                Candidate {
                    holder,
                    kind: FindingKind::AsyncLeak,
                    pattern: Pattern::PendingPromises,
                    class: class.to_string(),
                    edge: None,
                    count_unit: unit.to_string(),
                    counts: series.iter().map(|&v| Some(v)).collect(),
                    retained: super::retained_series(cx, holder),
                    location: match g.waiting_function {
                        Some(f) => LocationHint::Closure(f),
                        None => LocationHint::Declaration {
                            name: None,
                            near: None,
                        },
                    },
                    evidence,
                    // Above containers and listeners: when their entries are pending promises,
                    // the fix is a timeout, not an eviction policy.
                    priority: 90,
                    tail_edge: None,
                    covers: Vec::new(),
                    sample: g.sample,
                }
            })
            .collect()
    }
}

/// The long-lived object that keeps an async object alive: the first container (Map, Set,
/// Array, dictionary, timer list) or emitter (`_events`) up its dominator chain, past the
/// promise machinery (reactions, resolvers, contexts, other promises).
fn holder_of(cx: &Context<'_>, node: u32) -> Option<u32> {
    let raw = cx.snap.raw();
    let mut cur = node;
    for _ in 0..100_000 {
        let up = cx.snap.dominator(cur);
        if up == cur || up as usize >= raw.node_count() {
            return None;
        }
        cur = up;
        match raw.node_types[cur as usize] {
            NodeType::Synthetic => return None,
            NodeType::Object => {
                if raw.node_names[cur as usize] == cx.names.promise {
                    continue;
                }
                if graph::container_entries(raw, &cx.names, cur).is_some() {
                    return Some(cur);
                }
                if let Some(events) = graph::events_object(raw, &cx.names, cur) {
                    return Some(events);
                }
            }
            _ => {}
        }
    }
    None
}

/// The `async` function suspended on `promise`, when one awaits it: V8's await handlers are
/// closures whose context holds the suspended function object (`generator`), whose
/// `function` is the user's async function.
fn waiting_async_function(cx: &Context<'_>, promise: u32) -> Option<u32> {
    let raw = cx.snap.raw();
    let reaction = graph::child(
        raw,
        promise,
        EdgeType::Internal,
        cx.names.reactions_or_result,
    )?;
    for e in raw.edges_of(reaction) {
        let handler = raw.edge_to[e];
        if raw.node_types[handler as usize] != NodeType::Closure {
            continue;
        }
        let Some(ctx) = graph::child(raw, handler, EdgeType::Internal, cx.names.context) else {
            continue;
        };
        for ce in raw.edges_of(ctx) {
            let gen = raw.edge_to[ce];
            if raw.node_types[gen as usize] != NodeType::Object {
                continue;
            }
            for ge in raw.edges_of(gen) {
                let f = raw.edge_to[ge];
                if raw.node_types[f as usize] == NodeType::Closure
                    && raw.strings.get(raw.edge_names[ge]) == "function"
                    && !raw.edge_types[ge].has_index_name()
                    && cx.snap.location(f).is_some()
                {
                    return Some(f);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::graph::{self, Names, RESOURCE_STORE};
    use crate::testutil::Builder;
    use leakhound_snapshot::{EdgeType, NodeType};

    #[test]
    fn pending_settled_and_prototype_promises_are_told_apart() {
        let mut b = Builder::new();
        let root = b.node(NodeType::Synthetic, "", 1, 0);
        let pending = b.node(NodeType::Object, "Promise", 3, 20);
        let reaction = b.node(NodeType::Hidden, "system / PromiseReaction", 5, 40);
        let waiting = b.node(NodeType::Object, "Promise", 7, 20);
        let settled = b.node(NodeType::Object, "Promise", 9, 20);
        let value = b.node(NodeType::Object, "Object", 11, 20);
        let proto = b.node(NodeType::Object, "Promise", 13, 20);
        let then = b.node(NodeType::Closure, "then", 15, 20);
        let store = b.node(NodeType::Object, "Object", 17, 20);
        for n in [pending, waiting, settled, proto] {
            b.edge(root, EdgeType::Property, "p", n);
        }
        b.edge(pending, EdgeType::Internal, "reactions_or_result", reaction);
        b.edge(pending, EdgeType::Property, RESOURCE_STORE, store);
        b.edge(waiting, EdgeType::Property, RESOURCE_STORE, store);
        b.edge(settled, EdgeType::Internal, "reactions_or_result", value);
        b.edge(proto, EdgeType::Property, "then", then);
        let raw = b.build();
        let names = Names::new(&raw);
        // With reactions, and without any (V8 writes no edge for the Smi it stores then).
        assert!(graph::is_pending_promise(&raw, &names, pending));
        assert!(graph::is_pending_promise(&raw, &names, waiting));
        // Settled with a value; `Promise.prototype`; not a promise at all.
        assert!(!graph::is_pending_promise(&raw, &names, settled));
        assert!(!graph::is_pending_promise(&raw, &names, proto));
        assert!(!graph::is_pending_promise(&raw, &names, value));
        assert_eq!(
            graph::resource_stores(&raw, &names, pending).collect::<Vec<_>>(),
            [store]
        );
        assert_eq!(graph::resource_stores(&raw, &names, settled).count(), 0);
    }

    #[test]
    fn growth_needs_a_real_increase() {
        assert!(super::grows(&[100, 110, 140]));
        assert!(!super::grows(&[100, 110, 115]));
        assert!(!super::grows(&[140, 120, 100]));
        assert!(!super::grows(&[]));
    }
}
