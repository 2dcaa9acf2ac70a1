//! memlab's rule with the retaining container as the answer: objects allocated after the
//! first snapshot and still alive in the last, grouped by the old object that dominates them
//! (see `crate::survivors`). Proposes anchors that gained survivors in every interval; the
//! more specific detectors usually name the same holder and win the merge.

use super::{Candidate, Context, Detector, LocationHint};
use crate::model::{FindingKind, Pattern};
use leakhound_snapshot::NodeType;

/// Survivors an anchor must hold to be proposed.
const MIN_SURVIVORS: u64 = 64;

pub struct RetainedGrowth;

impl Detector for RetainedGrowth {
    fn name(&self) -> &'static str {
        "retained-growth"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate> {
        let raw = cx.snap.raw();
        let root = cx.snap.root();
        let mut out = Vec::new();
        for g in cx.survivors.groups.values() {
            if g.count < MIN_SURVIVORS || g.per_interval.contains(&0) {
                continue;
            }
            if g.anchor == root || raw.node_types[g.anchor as usize] == NodeType::Synthetic {
                continue;
            }
            // Objects the anchor retains per snapshot: what it had at the first snapshot is
            // not known here, so count the survivors cumulatively (0 at the first).
            let mut counts = vec![Some(0u64)];
            let mut acc = 0;
            for &c in &g.per_interval {
                acc += c;
                counts.push(Some(acc));
            }
            let top = g.top_classes();
            let class = top
                .first()
                .map(|t| t.0.clone())
                .unwrap_or_else(|| cx.snap.class_name(g.anchor).to_string());
            let pattern = if g.string_share() > 0.5 {
                Pattern::AccumulatingStrings
            } else {
                Pattern::GrowingObjects
            };
            out.push(Candidate {
                holder: g.anchor,
                kind: FindingKind::RetainedGrowth,
                pattern,
                class,
                edge: None,
                count_unit: "new objects".to_string(),
                counts,
                retained: super::retained_series(cx, g.anchor),
                location: LocationHint::Declaration {
                    name: None,
                    near: None,
                },
                evidence: vec![format!(
                    "{} objects allocated after the first snapshot are still alive, kept by @{}",
                    g.count,
                    cx.id(g.anchor)
                )],
                priority: 10,
                tail_edge: None,
                covers: Vec::new(),
                sample: None,
            });
        }
        out
    }
}
