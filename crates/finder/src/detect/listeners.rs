//! EventEmitter listener leaks: `emitter._events[event]` (one function, or an Array of
//! listeners) whose length grows across snapshots.

use super::{Candidate, Context, Detector, LocationHint};
use crate::graph;
use crate::model::{FindingKind, Pattern};
use leakhound_snapshot::{EdgeType, NodeType};
use std::collections::HashMap;

pub struct Listeners;

impl Detector for Listeners {
    fn name(&self) -> &'static str {
        "listeners"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate> {
        let Some(last) = cx.summaries.last() else {
            return Vec::new();
        };
        let raw = cx.snap.raw();
        let mut out = Vec::new();
        for l in &last.listeners {
            let counts: Vec<Option<u64>> = cx
                .summaries
                .iter()
                .enumerate()
                .map(|(k, s)| match s.listener(l.events_id, &l.event) {
                    Some(x) => Some(x.count as u64),
                    None if cx.existed_at(l.events_id, k) => Some(0),
                    None => None,
                })
                .collect();
            if !super::containers::grows(&counts) {
                continue;
            }
            let events = l.events_ordinal;
            // The listener slot: the Array (or the single function).
            let Some(slot) = raw
                .edges_of(events)
                .find(|&e| raw.edge_types[e] == EdgeType::Property && raw.edge_name(e) == l.event)
                .map(|e| raw.edge_to[e])
            else {
                continue;
            };
            let retained: Vec<Option<u64>> = cx
                .summaries
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    if k + 1 == cx.summaries.len() {
                        Some(cx.snap.retained_size(slot))
                    } else {
                        s.listener(l.events_id, &l.event).map(|x| x.retained)
                    }
                })
                .collect();
            // Where the listeners are defined: the most common closure location.
            let mut sites: HashMap<(u32, u32, u32), (u32, u32)> = HashMap::new();
            let closures: Vec<u32> = if raw.node_types[slot as usize] == NodeType::Closure {
                vec![slot]
            } else {
                raw.edges_of(slot)
                    .filter(|&e| raw.edge_types[e] == EdgeType::Element)
                    .map(|e| raw.edge_to[e])
                    .filter(|&t| raw.node_types[t as usize] == NodeType::Closure)
                    .collect()
            };
            for &c in &closures {
                if let Some(loc) = cx.snap.location(c) {
                    let e = sites
                        .entry((loc.script_id, loc.line, loc.column))
                        .or_insert((0, c));
                    e.0 += 1;
                }
            }
            let site = sites
                .iter()
                .max_by_key(|(k, v)| (v.0, std::cmp::Reverse(**k)))
                .map(|(_, v)| v.1);
            let emitter = cx
                .snap
                .retainers(events)
                .find(|&(e, _)| graph::edge_is(raw, e, cx.names.events))
                .map(|(_, from)| from);
            let emitter_class = emitter
                .map(|e| cx.snap.class_name(e).to_string())
                .unwrap_or_else(|| "EventEmitter".to_string());
            let mut evidence = vec![format!(
                "{} listeners on '{}' of {}{}",
                counts.last().copied().flatten().unwrap_or(0),
                l.event,
                emitter_class,
                emitter
                    .map(|e| format!(" @{}", cx.id(e)))
                    .unwrap_or_default()
            )];
            if sites.len() == 1 {
                evidence.push("all listeners come from one place in the code".to_string());
            }
            out.push(Candidate {
                holder: slot,
                kind: FindingKind::ListenerLeak,
                pattern: Pattern::ListenerLeak,
                class: emitter_class,
                edge: Some(l.event.clone()),
                count_unit: "listeners".to_string(),
                counts,
                retained,
                location: site
                    .map(LocationHint::Closure)
                    .unwrap_or(LocationHint::None),
                evidence,
                priority: 90,
                tail_edge: None,
                covers: Vec::new(),
                sample: None,
            });
        }
        out
    }
}
