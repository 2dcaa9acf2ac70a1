//! Growing containers: Map and Set (entries of the internal `table`), Array (elements) and
//! plain objects used as dictionaries (named properties), tracked by id across snapshots.

use super::{Candidate, Context, Detector, LocationHint};
use crate::model::{FindingKind, Pattern};
use crate::summary::ContainerKind;

/// Containers must end with at least this many entries to be proposed.
const MIN_ENTRIES: u64 = 16;

pub struct Containers;

/// Entries of container `id` per snapshot: the tracked value, 0 for a Map/Set/Array that
/// existed with no entries, `None` when it did not exist (or, for dictionaries, had fewer
/// properties than the tracking threshold).
pub fn entry_series(cx: &Context<'_>, id: u32, kind: ContainerKind) -> Vec<Option<u64>> {
    cx.summaries
        .iter()
        .enumerate()
        .map(|(k, s)| match s.container(id) {
            Some(c) => Some(c.entries as u64),
            None if kind != ContainerKind::Dictionary && cx.existed_at(id, k) => Some(0),
            None => None,
        })
        .collect()
}

/// Whether a series grows overall and in at least one interval after the first.
pub fn grows(series: &[Option<u64>]) -> bool {
    let vals: Vec<u64> = series.iter().flatten().copied().collect();
    if vals.len() < 2 {
        return false;
    }
    let last = *vals.last().unwrap_or(&0);
    let first = vals[0];
    last > first && last >= MIN_ENTRIES
}

impl Detector for Containers {
    fn name(&self) -> &'static str {
        "containers"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate> {
        let last = match cx.summaries.last() {
            Some(s) => s,
            None => return Vec::new(),
        };
        let mut out = Vec::new();
        for c in &last.containers {
            if c.kind == ContainerKind::TimerList {
                continue;
            }
            let counts = entry_series(cx, c.id, c.kind);
            if !grows(&counts) {
                continue;
            }
            let holder = c.ordinal;
            let (pattern, class) = match c.kind {
                ContainerKind::Map => (Pattern::UnboundedCache, cx.snap.raw().node_name(holder)),
                ContainerKind::Set => (Pattern::GrowingSet, cx.snap.raw().node_name(holder)),
                ContainerKind::Array => (Pattern::GrowingArray, "Array"),
                ContainerKind::Dictionary => {
                    (Pattern::DictionaryObject, cx.snap.raw().node_name(holder))
                }
                ContainerKind::TimerList => continue,
            };
            let (mut pattern, mut kind) = (pattern, FindingKind::GrowingContainer);
            let mut evidence = Vec::new();
            if let Some(g) = cx.survivors.groups.get(&holder) {
                // Removed from the page but kept here: the fix is about DOM references.
                if g.detached_dom_share() > 0.5 {
                    pattern = Pattern::DetachedDom;
                    kind = FindingKind::DetachedDom;
                    evidence.push(format!(
                        "{:.0}% of the bytes it gained are detached DOM nodes",
                        g.detached_dom_share() * 100.0
                    ));
                }
                if g.string_share() > 0.5 {
                    evidence.push(format!(
                        "{:.0}% of the bytes it gained are strings or buffers",
                        g.string_share() * 100.0
                    ));
                }
            }
            out.push(Candidate {
                holder,
                kind,
                pattern,
                class: class.to_string(),
                edge: None,
                count_unit: c.kind.unit().to_string(),
                counts,
                retained: super::retained_series(cx, holder),
                location: LocationHint::Declaration {
                    name: None,
                    near: None,
                },
                evidence,
                priority: 50,
                tail_edge: None,
                covers: Vec::new(),
                sample: None,
            });
        }
        out
    }
}
