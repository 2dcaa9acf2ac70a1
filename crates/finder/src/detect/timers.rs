//! Timers left on node's timer lists: a `TimersList` (one per duration, in `timerListMap`)
//! whose linked list of `Timeout` objects grows: intervals never cleared, timeouts re-armed.

use super::{Candidate, Context, Detector, LocationHint};
use crate::graph;
use crate::model::{FindingKind, Pattern};
use crate::summary::ContainerKind;
use leakhound_snapshot::EdgeType;
use std::collections::HashMap;

pub struct Timers;

impl Detector for Timers {
    fn name(&self) -> &'static str {
        "timers"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate> {
        let Some(last) = cx.summaries.last() else {
            return Vec::new();
        };
        let raw = cx.snap.raw();
        let mut out = Vec::new();
        for c in last
            .containers
            .iter()
            .filter(|c| c.kind == ContainerKind::TimerList)
        {
            let counts = super::containers::entry_series(cx, c.id, c.kind);
            if !super::containers::grows(&counts) {
                continue;
            }
            let list = c.ordinal;
            // Walk the list: callback sites and whether they repeat.
            let mut sites: HashMap<(u32, u32, u32), (u32, u32)> = HashMap::new();
            let mut repeating = 0u64;
            let mut cur = list;
            let mut seen = 0u64;
            while let Some(next) = graph::child(raw, cur, EdgeType::Property, cx.names.idle_next) {
                if next == list || raw.node_name(next) != "Timeout" || seen > 50_000_000 {
                    break;
                }
                seen += 1;
                if let Some(cb) = graph::child(raw, next, EdgeType::Property, cx.names.on_timeout) {
                    if let Some(loc) = cx.snap.location(cb) {
                        let e = sites
                            .entry((loc.script_id, loc.line, loc.column))
                            .or_insert((0, cb));
                        e.0 += 1;
                    }
                }
                // `_repeat` is a Smi (no edge) for intervals and `null` (an Oddball) otherwise.
                if !raw.edges_of(next).any(|e| {
                    raw.edge_types[e] == EdgeType::Property
                        && raw.edge_name(e) == "_repeat"
                        && raw.node_name(raw.edge_to[e]) == "system / Oddball"
                }) {
                    repeating += 1;
                }
                cur = next;
            }
            let site = sites
                .iter()
                .max_by_key(|(k, v)| (v.0, std::cmp::Reverse(**k)))
                .map(|(_, v)| v.1);
            let mut evidence = vec![format!(
                "{seen} Timeout objects on one timer list ({repeating} repeating: setInterval)"
            )];
            if sites.len() == 1 {
                evidence.push("all callbacks come from one place in the code".to_string());
            }
            out.push(Candidate {
                holder: list,
                kind: FindingKind::TimerLeak,
                pattern: Pattern::TimerLeak,
                class: "Timeout".to_string(),
                edge: None,
                count_unit: "timers".to_string(),
                counts,
                retained: super::retained_series(cx, list),
                location: site
                    .map(LocationHint::Closure)
                    .unwrap_or(LocationHint::None),
                evidence,
                priority: 85,
                tail_edge: None,
                covers: Vec::new(),
                sample: None,
            });
        }
        out
    }
}
