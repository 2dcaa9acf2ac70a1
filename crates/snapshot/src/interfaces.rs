//! Plain-object interface inference (DevTools `inferInterfaceDefinitions` /
//! `applyInterfaceDefinitions`).
//!
//! Plain objects (`object` nodes named `Object`) are grouped by the property names they
//! carry, so `{x, y}` points and `{id, name, email}` users become classes of their own.
//! Candidates are property lists (in edge order, at most ~120 characters of name) used by
//! at least 2 objects and by at least one in 1000 plain objects, most popular first. Each
//! object then takes the definition with the most properties that it fully contains
//! (ties: the more popular one); objects matching none stay `Object`.

use crate::format::{EdgeType, NodeType, RawSnapshot};
use crate::jsstr::{format_property_name, js_len};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

const MAX_INTERFACE_NAME_LENGTH: usize = 120;
const MIN_INTERFACE_PROPERTY_COUNT: usize = 1;
const MIN_OBJECT_COUNT_PER_INTERFACE: f64 = 2.0;
const MIN_OBJECT_PROPORTION_PER_INTERFACE: f64 = 1000.0;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceDefinition {
    /// The class name objects matching it get, e.g. `{x, y}`.
    pub name: String,
    /// Property names in the order of the first object's edges.
    pub properties: Vec<String>,
    pub count: u32,
}

pub fn is_plain_object(raw: &RawSnapshot, n: u32) -> bool {
    raw.node_types[n as usize] == NodeType::Object && raw.node_name(n) == "Object"
}

pub fn infer(raw: &RawSnapshot) -> Vec<InterfaceDefinition> {
    let object_name = raw.strings.find("Object");
    let mut by_name: FxHashMap<String, usize> = FxHashMap::default();
    let mut candidates: Vec<InterfaceDefinition> = Vec::new();
    let mut total_objects: u64 = 0;
    let mut name = String::new();
    for n in 0..raw.node_count() as u32 {
        if raw.node_types[n as usize] != NodeType::Object
            || Some(raw.node_names[n as usize]) != object_name
        {
            continue;
        }
        total_objects += 1;
        name.clear();
        name.push('{');
        let mut name_len = 1usize;
        let mut properties: Vec<&str> = Vec::new();
        for e in raw.edges_of(n) {
            if raw.edge_types[e] != EdgeType::Property {
                continue;
            }
            let edge_name = raw.strings.get(raw.edge_names[e]);
            if edge_name == "__proto__" {
                continue;
            }
            let formatted = format_property_name(edge_name);
            let formatted_len = js_len(&formatted);
            if name_len > MIN_INTERFACE_PROPERTY_COUNT
                && name_len + formatted_len > MAX_INTERFACE_NAME_LENGTH
            {
                break;
            }
            if name_len != 1 {
                name.push_str(", ");
                name_len += 2;
            }
            name.push_str(&formatted);
            name_len += formatted_len;
            properties.push(edge_name);
        }
        if properties.is_empty() {
            continue;
        }
        name.push('}');
        match by_name.get(name.as_str()) {
            Some(&i) => candidates[i].count += 1,
            None => {
                by_name.insert(name.clone(), candidates.len());
                candidates.push(InterfaceDefinition {
                    name: name.clone(),
                    properties: properties.iter().map(|s| s.to_string()).collect(),
                    count: 1,
                });
            }
        }
    }
    // Stable sort: ties keep first-seen order, as JavaScript's Array.prototype.sort does.
    candidates.sort_by_key(|c| std::cmp::Reverse(c.count));
    let min_count = MIN_OBJECT_COUNT_PER_INTERFACE
        .max(total_objects as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
    candidates.retain(|c| c.count as f64 >= min_count);
    // `retain` after a sort is the same as DevTools' "take until below min" since the list
    // is sorted by count.
    candidates
}

/// Definitions resolved to this snapshot's string indexes, for matching.
pub struct InterfaceMatcher<'a> {
    defs: &'a [InterfaceDefinition],
    /// Per definition: sorted, deduplicated property string indexes, or None when some
    /// property name does not occur in this snapshot (it can never match).
    resolved: Vec<Option<Vec<u32>>>,
    /// Property string index -> definitions containing it.
    by_property: FxHashMap<u32, Vec<u32>>,
    cache: FxHashMap<Box<[u32]>, Option<u32>>,
    counters: Vec<u32>,
}

impl<'a> InterfaceMatcher<'a> {
    pub fn new(raw: &RawSnapshot, defs: &'a [InterfaceDefinition]) -> Self {
        let mut index: FxHashMap<&str, u32> = FxHashMap::default();
        let wanted: FxHashSet<&str> = defs
            .iter()
            .flat_map(|d| d.properties.iter().map(String::as_str))
            .collect();
        if !wanted.is_empty() {
            for i in 0..raw.strings.len() as u32 {
                let s = raw.strings.get(i);
                if wanted.contains(s) {
                    index.entry(s).or_insert(i);
                }
            }
        }
        let mut resolved = Vec::with_capacity(defs.len());
        let mut by_property: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for (d, def) in defs.iter().enumerate() {
            let mut props: Option<Vec<u32>> = Some(Vec::new());
            for p in &def.properties {
                match (index.get(p.as_str()), props.as_mut()) {
                    (Some(&i), Some(v)) => v.push(i),
                    _ => props = None,
                }
            }
            if let Some(v) = props.as_mut() {
                v.sort_unstable();
                v.dedup();
                for &p in v.iter() {
                    by_property.entry(p).or_default().push(d as u32);
                }
            }
            resolved.push(props);
        }
        InterfaceMatcher {
            defs,
            resolved,
            by_property,
            cache: FxHashMap::default(),
            counters: vec![0; defs.len()],
        }
    }

    /// The best definition for an object with these (sorted, deduplicated) property names.
    pub fn best_match(&mut self, properties: &[u32]) -> Option<&'a InterfaceDefinition> {
        if self.defs.is_empty() {
            return None;
        }
        if let Some(hit) = self.cache.get(properties) {
            return hit.map(|d| &self.defs[d as usize]);
        }
        let mut touched: Vec<u32> = Vec::new();
        for p in properties {
            if let Some(defs) = self.by_property.get(p) {
                for &d in defs {
                    if self.counters[d as usize] == 0 {
                        touched.push(d);
                    }
                    self.counters[d as usize] += 1;
                }
            }
        }
        let mut best: Option<u32> = None;
        for &d in &touched {
            let complete = self.resolved[d as usize]
                .as_ref()
                .is_some_and(|v| v.len() as u32 == self.counters[d as usize]);
            if !complete {
                continue;
            }
            best = Some(match best {
                None => d,
                Some(b) => self.better(d, b),
            });
        }
        for &d in &touched {
            self.counters[d as usize] = 0;
        }
        self.cache.insert(properties.into(), best);
        best.map(|d| &self.defs[d as usize])
    }

    /// More properties wins; ties go to the earlier (more popular) definition.
    fn better(&self, a: u32, b: u32) -> u32 {
        let pa = self.defs[a as usize].properties.len();
        let pb = self.defs[b as usize].properties.len();
        if pa != pb {
            return if pa > pb { a } else { b };
        }
        a.min(b)
    }
}

/// Sorted, deduplicated property-name string indexes of node `n` (all `property` edges).
pub fn property_signature(raw: &RawSnapshot, n: u32, out: &mut Vec<u32>) {
    out.clear();
    for e in raw.edges_of(n) {
        if raw.edge_types[e] == EdgeType::Property {
            out.push(raw.edge_names[e]);
        }
    }
    out.sort_unstable();
    out.dedup();
}
