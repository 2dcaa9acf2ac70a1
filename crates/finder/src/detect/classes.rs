//! Class keys (DevTools' key: constructor name plus, for objects, the constructor's source
//! position) whose live count grows in every interval. Each growing class is attributed to
//! the anchor that retains most of its new instances, so a class that grows because a
//! container grows folds into that container's finding. Also covers pending Promises and
//! AsyncLocalStorage stores (`Promise`, `AsyncLocalStorage`-held objects) and detached DOM
//! (`Detached <div>` in browser snapshots).

use super::{Candidate, Context, Detector, LocationHint};
use crate::graph;
use crate::model::{FindingKind, Pattern};
use std::collections::HashMap;

/// Minimum mean growth per interval, in instances.
const MIN_GROWTH: f64 = 20.0;

pub struct Classes;

type Series = Vec<Option<u64>>;

/// Class names that are values, not allocation sites: they are reported through the
/// container that holds them, never on their own.
fn is_value_class(name: &str) -> bool {
    matches!(
        name,
        "(string)"
            | "(concatenated string)"
            | "(sliced string)"
            | "(number)"
            | "(array)"
            | "(system)"
            | "(compiled code)"
            | "(symbol)"
            | "(bigint)"
            | "(object shape)"
            | "(synthetic)"
            | "(hidden)"
            | "(code)"
    ) || name.starts_with("system /")
}

fn key_name(key: &str) -> &str {
    // ",Name" or "sid,line,col,Name"
    match key.char_indices().filter(|&(_, c)| c == ',').nth(2) {
        Some((i, _)) if !key.starts_with(',') => &key[i + 1..],
        _ => key.strip_prefix(',').unwrap_or(key),
    }
}

impl Detector for Classes {
    fn name(&self) -> &'static str {
        "classes"
    }

    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate> {
        let n_snap = cx.snapshots();
        let Some(last) = cx.summaries.last() else {
            return Vec::new();
        };
        let mut growing: HashMap<&str, (Series, Series)> = HashMap::new();
        for (key, stat) in &last.classes {
            let name = key_name(key);
            if is_value_class(name)
                || graph::is_jit_noise(leakhound_snapshot::NodeType::Object, name)
            {
                continue;
            }
            let counts: Vec<Option<u64>> = cx
                .summaries
                .iter()
                .map(|s| Some(s.classes.get(key).map(|c| c.count).unwrap_or(0)))
                .collect();
            let sizes: Vec<Option<u64>> = cx
                .summaries
                .iter()
                .map(|s| Some(s.classes.get(key).map(|c| c.self_size).unwrap_or(0)))
                .collect();
            let vals: Vec<u64> = counts.iter().map(|c| c.unwrap_or(0)).collect();
            let every = vals.windows(2).all(|w| w[1] > w[0]);
            let mean = (vals[n_snap - 1] as f64 - vals[0] as f64) / (n_snap - 1).max(1) as f64;
            if !every || mean < MIN_GROWTH || stat.count == 0 {
                continue;
            }
            growing.insert(key.as_str(), (counts, sizes));
        }
        if growing.is_empty() {
            return Vec::new();
        }
        // Attribute new instances of each growing class to their anchors.
        let raw = cx.snap.raw();
        let names: std::collections::HashSet<&str> = growing.keys().map(|k| key_name(k)).collect();
        let mut anchors: HashMap<String, HashMap<u32, (u64, u32)>> = HashMap::new();
        for n in 0..raw.node_count() as u32 {
            let a = cx.survivors.anchor_of[n as usize];
            if a == u32::MAX || !names.contains(cx.snap.class_name(n)) {
                continue;
            }
            let key = cx.snap.class_key(n);
            if growing.contains_key(key) {
                let e = anchors
                    .entry(key.to_string())
                    .or_default()
                    .entry(a)
                    .or_insert((0, n));
                e.0 += 1;
            }
        }
        let mut out = Vec::new();
        for (key, (counts, sizes)) in growing {
            let name = key_name(key).to_string();
            let Some(per_anchor) = anchors.get(key) else {
                continue;
            };
            let total: u64 = per_anchor.values().map(|v| v.0).sum();
            let Some((&anchor, &(count, sample))) = per_anchor
                .iter()
                .max_by_key(|(a, v)| (v.0, std::cmp::Reverse(**a)))
            else {
                continue;
            };
            let share = count as f64 / total.max(1) as f64;
            let holder = if anchor == cx.snap.root() {
                sample
            } else {
                anchor
            };
            let (kind, pattern) = if name == "Promise" {
                (FindingKind::AsyncLeak, Pattern::PendingPromises)
            } else if name.starts_with("Detached ") {
                (FindingKind::DetachedDom, Pattern::DetachedDom)
            } else {
                (FindingKind::GrowingClass, Pattern::GrowingObjects)
            };
            out.push(Candidate {
                holder,
                kind,
                pattern,
                class: name.clone(),
                edge: None,
                count_unit: format!("{name} instances"),
                counts,
                retained: sizes,
                location: LocationHint::Constructor(sample),
                evidence: vec![format!(
                    "live {name} instances grow in every interval; {:.0}% of the new ones are kept by @{}",
                    share * 100.0,
                    cx.id(anchor)
                )],
                priority: 20,
                tail_edge: None,
                covers: Vec::new(),
                sample: Some(sample),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_key_names() {
        assert_eq!(key_name(",Foo"), "Foo");
        assert_eq!(key_name("12,3,4,Session"), "Session");
        assert_eq!(key_name("12,3,4,Weird,Name"), "Weird,Name");
        assert!(is_value_class("(string)"));
        assert!(is_value_class("system / Context"));
        assert!(!is_value_class("Promise"));
    }
}
