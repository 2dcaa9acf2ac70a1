//! Class names, class keys and per-class aggregates (DevTools `calculateObjectNames`,
//! `classKeyInternal`, `buildAggregates`, `calculateClassesRetainedSize`).
//!
//! Class names: `hidden` → `(system)`, `code` → `(compiled code)`, `closure` → `Function`,
//! `regexp` → `RegExp`, `object`/`native` → the node name (`<div id=..>` → `<div>`), plain
//! objects → their inferred interface (`{x, y}`), anything else → `(<type>)`.
//! Class keys: `object` nodes with a constructor location are split by it
//! (`"scriptId,line,col,Name"`), everything else is keyed `",Name"`.

use crate::dominators::DominatedNodes;
use crate::format::{Location, NodeType, RawSnapshot};
use crate::interfaces::{
    is_plain_object, property_signature, InterfaceDefinition, InterfaceMatcher,
};
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInfo {
    pub name: String,
    /// DevTools' public class key: `",Name"` or `"scriptId,line,col,Name"`.
    pub key: String,
    pub location: Option<Location>,
}

/// Every node's class, as an index into `classes`.
#[derive(Debug, Clone, Default)]
pub struct ClassAssignment {
    pub node_class: Vec<u32>,
    pub classes: Vec<ClassInfo>,
}

/// Finds a node's entry in `raw.locations`; the last entry for a node wins, as in
/// DevTools' location map. V8 writes locations in node order, so usually no index is
/// needed at all; otherwise a sorted copy of entry numbers is kept (not one slot a node).
#[derive(Debug, Clone, Default)]
pub struct LocationIndex {
    /// Entry numbers sorted by node, one per node; `None` when `raw.locations` already is.
    sorted: Option<Vec<u32>>,
}

impl LocationIndex {
    pub fn build(raw: &RawSnapshot) -> LocationIndex {
        let in_order = raw.locations.windows(2).all(|w| w[0].node < w[1].node);
        if in_order {
            return LocationIndex { sorted: None };
        }
        let mut order: Vec<u32> = (0..raw.locations.len() as u32).collect();
        order.sort_by_key(|&i| raw.locations[i as usize].node); // stable: later entries last
        let mut unique: Vec<u32> = Vec::with_capacity(order.len());
        for i in order {
            match unique.last_mut() {
                Some(last)
                    if raw.locations[*last as usize].node == raw.locations[i as usize].node =>
                {
                    *last = i
                }
                _ => unique.push(i),
            }
        }
        LocationIndex {
            sorted: Some(unique),
        }
    }

    fn len(&self, raw: &RawSnapshot) -> usize {
        self.sorted.as_ref().map_or(raw.locations.len(), Vec::len)
    }

    fn entry(&self, k: usize) -> u32 {
        self.sorted.as_ref().map_or(k as u32, |v| v[k])
    }

    /// The location entry of node `n`.
    pub fn get(&self, raw: &RawSnapshot, n: u32) -> Option<Location> {
        let (mut lo, mut hi) = (0, self.len(raw));
        while lo < hi {
            let mid = (lo + hi) / 2;
            let loc = raw.locations[self.entry(mid) as usize];
            match loc.node.cmp(&n) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(loc),
            }
        }
        None
    }
}

fn type_class_name(raw: &RawSnapshot, ty: NodeType, name: &str) -> String {
    match ty {
        NodeType::Hidden => "(system)".into(),
        NodeType::Code => "(compiled code)".into(),
        NodeType::Closure => "Function".into(),
        NodeType::RegExp => "RegExp".into(),
        NodeType::Object | NodeType::Native => short_tag_name(name).into_owned(),
        NodeType::Unknown => {
            let _ = raw;
            "(unknown)".into()
        }
        other => format!("({})", other.name()),
    }
}

/// `<div id="a">` → `<div>`, `Detached <div id="a">` → `Detached <div>`.
fn short_tag_name(name: &str) -> std::borrow::Cow<'_, str> {
    let cut_from = if name.starts_with('<') {
        Some(0)
    } else if name.starts_with("Detached <") {
        Some(10)
    } else {
        None
    };
    if let Some(from) = cut_from {
        if let Some(space) = name[from..].find(' ') {
            return format!("{}>", &name[..from + space]).into();
        }
    }
    name.into()
}

/// Assigns classes to all nodes using the given interface definitions for plain objects.
pub fn assign(
    raw: &RawSnapshot,
    interfaces: &[InterfaceDefinition],
    locations: &LocationIndex,
) -> ClassAssignment {
    let n = raw.node_count();
    let mut classes: Vec<ClassInfo> = Vec::new();
    // Class for a (class name) without location; keyed by name text.
    let mut by_name: FxHashMap<String, u32> = FxHashMap::default();
    let mut by_location: FxHashMap<(u32, u32, u32, u32), u32> = FxHashMap::default();
    // Caches looked up once per node: string index of an object/native name → name-class
    // id, and node type → class for the other types (`NO_CLASS` = not seen yet).
    const NO_CLASS: u32 = u32::MAX;
    let mut name_cache: Vec<u32> = vec![NO_CLASS; raw.strings.len()];
    let mut type_cache = [NO_CLASS; 256];
    let mut matcher = InterfaceMatcher::new(raw, interfaces);
    let mut signature: Vec<u32> = Vec::new();

    let mut intern = |name: String, classes: &mut Vec<ClassInfo>| -> u32 {
        if let Some(&c) = by_name.get(&name) {
            return c;
        }
        let id = classes.len() as u32;
        classes.push(ClassInfo {
            key: format!(",{name}"),
            name: name.clone(),
            location: None,
        });
        by_name.insert(name, id);
        id
    };

    let mut node_class = vec![0u32; n];
    // Walk the locations (sorted by node) alongside the nodes.
    let mut next_location = 0usize;
    let location_count = locations.len(raw);
    for o in 0..n as u32 {
        let ty = raw.node_types[o as usize];
        let mut class = match ty {
            NodeType::Object | NodeType::Native => {
                let name_index = raw.node_names[o as usize];
                match name_cache.get(name_index as usize) {
                    Some(&c) if c != NO_CLASS => c,
                    slot => {
                        let uncached = slot.is_none();
                        let c = intern(
                            type_class_name(raw, ty, raw.strings.get(name_index)),
                            &mut classes,
                        );
                        if !uncached {
                            name_cache[name_index as usize] = c;
                        }
                        c
                    }
                }
            }
            _ => match type_cache[ty as usize] {
                NO_CLASS => {
                    let c = intern(type_class_name(raw, ty, ""), &mut classes);
                    type_cache[ty as usize] = c;
                    c
                }
                c => c,
            },
        };
        if !interfaces.is_empty() && is_plain_object(raw, o) {
            property_signature(raw, o, &mut signature);
            if let Some(def) = matcher.best_match(&signature) {
                class = intern(def.name.clone(), &mut classes);
            }
        }
        while next_location < location_count
            && raw.locations[locations.entry(next_location) as usize].node < o
        {
            next_location += 1;
        }
        let location = (next_location < location_count)
            .then(|| raw.locations[locations.entry(next_location) as usize])
            .filter(|loc| loc.node == o);
        if ty == NodeType::Object {
            if let Some(loc) = location {
                let name_class = class;
                class = *by_location
                    .entry((name_class, loc.script_id, loc.line, loc.column))
                    .or_insert_with(|| {
                        let name = classes[name_class as usize].name.clone();
                        classes.push(ClassInfo {
                            key: format!("{},{},{},{}", loc.script_id, loc.line, loc.column, name),
                            name,
                            location: Some(loc),
                        });
                        (classes.len() - 1) as u32
                    });
            }
        }
        node_class[o as usize] = class;
    }
    ClassAssignment {
        node_class,
        classes,
    }
}

/// One row of DevTools' Summary view.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClassAggregate {
    pub name: String,
    pub key: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
    /// Class index in the snapshot's class table.
    #[serde(skip)]
    pub class: u32,
}

/// Per-class count, shallow size and minimum distance over nodes whose (adjusted) shallow
/// size is not 0, and retained size counting only the outermost instances on every
/// dominator path.
pub fn aggregate(
    assignment: &ClassAssignment,
    self_sizes: &[u64],
    distances: &[i32],
    retained: &[u64],
    dominated: &DominatedNodes,
    root: u32,
) -> Vec<ClassAggregate> {
    let classes = &assignment.classes;
    let mut rows: Vec<Option<ClassAggregate>> = vec![None; classes.len()];
    for (o, &size) in self_sizes.iter().enumerate() {
        if size == 0 {
            continue;
        }
        let c = assignment.node_class[o];
        let d = distances[o];
        match &mut rows[c as usize] {
            Some(row) => {
                row.count += 1;
                row.self_size += size;
                row.distance = row.distance.min(d);
            }
            slot @ None => {
                *slot = Some(ClassAggregate {
                    name: classes[c as usize].name.clone(),
                    key: classes[c as usize].key.clone(),
                    count: 1,
                    self_size: size,
                    retained_size: 0,
                    distance: d,
                    class: c,
                });
            }
        }
    }
    // DFS over the dominator tree; a class is "open" while one of its instances with
    // dominated children is on the current path, so nested instances are not counted twice.
    let mut open = crate::bitvec::BitVec::new(classes.len());
    let mut stack: Vec<(u32, bool)> = vec![(root, false)];
    while let Some((o, closing)) = stack.pop() {
        let c = assignment.node_class[o as usize];
        if closing {
            // Leaving the subtree that opened class `c`.
            open.clear(c as usize);
            continue;
        }
        let children = dominated.children(o);
        if !open.get(c as usize) && self_sizes[o as usize] != 0 {
            if let Some(row) = rows[c as usize].as_mut() {
                row.retained_size += retained[o as usize];
            }
            if !children.is_empty() {
                open.set(c as usize);
                stack.push((o, true));
            }
        }
        for &child in children {
            stack.push((child, false));
        }
    }
    rows.into_iter().flatten().collect()
}
