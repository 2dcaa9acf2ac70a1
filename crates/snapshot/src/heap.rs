//! [`HeapSnapshot`]: a parsed snapshot with all of DevTools' analyses applied.

use crate::bitvec::BitVec;
use crate::classes::{self, ClassAggregate, ClassAssignment, ClassInfo};
use crate::diff::IdsByClass;
use crate::dominators::{self, DominatedNodes};
use crate::format::{EdgeType, Location, NodeType, RawSnapshot};
use crate::interfaces::{self, InterfaceDefinition};
use crate::paths::{self, PathStep};
use crate::retainers::Retainers;
use crate::statistics::{self, Statistics};
use crate::{distances, dom_state, essential, flags, names, scripts, shallow, weakmap};
use std::borrow::Cow;
use std::collections::HashMap;

/// A snapshot with DevTools' numbers: adjusted shallow sizes, distances, dominators,
/// retained sizes, classes and statistics. All per-node data is indexed by node ordinal.
pub struct HeapSnapshot {
    raw: RawSnapshot,
    retainers: Retainers,
    distances: Vec<i32>,
    dominator: Vec<u32>,
    retained: Vec<u64>,
    /// Built on first use: the leak finder needs neither these nor the statistics.
    dominated: std::sync::OnceLock<DominatedNodes>,
    page_owned: BitVec,
    interfaces: Vec<InterfaceDefinition>,
    classes: ClassAssignment,
    locations: classes::LocationIndex,
    statistics: std::sync::OnceLock<Statistics>,
    total_size: u64,
    scripts: HashMap<u32, String>,
    /// `(id, ordinal)` sorted by id, built on first use (8 bytes a node).
    id_index: std::sync::OnceLock<Vec<(u32, u32)>>,
    unreachable: usize,
}

impl HeapSnapshot {
    /// Runs every analysis. Each step sees the same inputs as in DevTools' order; steps that
    /// do not depend on each other run in parallel, in two stages arranged around the
    /// longest chain (essential edges, then the dominator tree) so that two cores stay busy.
    pub fn analyze(mut raw: RawSnapshot) -> HeapSnapshot {
        dom_state::propagate(&mut raw);
        let raw = raw;
        let has_user_roots = flags::has_user_roots(&raw);
        // Stage 1: the essential edges and the DFS of the dominator pass beside the
        // retainers, the adjusted shallow sizes and the interface definitions.
        let ((page_owned, eph, essential, dfs), (retainers, self_sizes, interfaces)) = rayon::join(
            || {
                let (page_owned, eph) = rayon::join(
                    || flags::mark_page_owned(&raw),
                    || weakmap::EphemeronNames::build(&raw),
                );
                let essential = essential::essential_edges(&raw, &page_owned, &eph);
                let dfs = dominators::dfs_from_root(&raw, &essential);
                (page_owned, eph, essential, dfs)
            },
            || {
                let (retainers, (self_sizes, interfaces)) = rayon::join(
                    || Retainers::build(&raw),
                    || {
                        rayon::join(
                            || shallow::adjusted_self_sizes(&raw, has_user_roots),
                            || interfaces::infer(&raw),
                        )
                    },
                );
                (retainers, self_sizes, interfaces)
            },
        );
        // DevTools rewrites the self sizes in place; so do we, to keep one array.
        let mut raw = raw;
        raw.node_self_sizes = self_sizes;
        let raw = raw;
        // Stage 2: the rest of the dominator tree beside distances and classes.
        let (tree, (distances, (locations, classes, scripts))) = rayon::join(
            || dominators::finish(&raw, &retainers, &essential, &raw.node_self_sizes, dfs),
            || {
                rayon::join(
                    || distances::calculate(&raw, &eph),
                    || {
                        let locations = classes::LocationIndex::build(&raw);
                        let (classes, scripts) = rayon::join(
                            || classes::assign(&raw, &interfaces, &locations),
                            || scripts::script_names(&raw),
                        );
                        (locations, classes, scripts)
                    },
                )
            },
        );
        drop((eph, essential));
        let total_size = tree.retained[raw.root as usize] + raw.extra_native_bytes;
        HeapSnapshot {
            raw,
            retainers,
            distances,
            dominator: tree.dominator,
            retained: tree.retained,
            dominated: std::sync::OnceLock::new(),
            page_owned,
            interfaces,
            classes,
            locations,
            statistics: std::sync::OnceLock::new(),
            total_size,
            scripts,
            id_index: std::sync::OnceLock::new(),
            unreachable: tree.unreachable,
        }
    }

    pub fn raw(&self) -> &RawSnapshot {
        &self.raw
    }
    pub fn node_count(&self) -> usize {
        self.raw.node_count()
    }
    pub fn edge_count(&self) -> usize {
        self.raw.edge_count()
    }
    pub fn root(&self) -> u32 {
        self.raw.root
    }
    /// Total size as DevTools shows it: the root's retained size plus `extra_native_bytes`.
    pub fn total_size(&self) -> u64 {
        self.total_size
    }
    fn dominated(&self) -> &DominatedNodes {
        self.dominated
            .get_or_init(|| DominatedNodes::build(&self.dominator, self.raw.root))
    }

    pub fn statistics(&self) -> &Statistics {
        self.statistics.get_or_init(|| {
            statistics::calculate(
                &self.raw,
                &self.raw.node_self_sizes,
                &self.retainers,
                self.total_size,
            )
        })
    }
    /// Nodes that no essential path from the root reaches (DevTools logs them as problems).
    pub fn unreachable_count(&self) -> usize {
        self.unreachable
    }

    // ---- per node ----
    #[inline]
    pub fn node_id(&self, n: u32) -> u32 {
        self.raw.node_ids[n as usize]
    }
    #[inline]
    pub fn node_type(&self, n: u32) -> NodeType {
        self.raw.node_types[n as usize]
    }
    /// Raw name (with `Detached ` prefixed to detached DOM nodes).
    #[inline]
    pub fn node_name(&self, n: u32) -> &str {
        self.raw.node_name(n)
    }
    /// DevTools' display name: cons strings rebuilt, plain objects as `{a, b, …}`.
    pub fn display_name(&self, n: u32) -> String {
        names::display_name(&self.raw, n)
    }
    /// Shallow size after DevTools' reassignment of owned internal arrays (the raw
    /// snapshot's `node_self_sizes` hold these adjusted sizes after analysis).
    #[inline]
    pub fn self_size(&self, n: u32) -> u64 {
        self.raw.node_self_sizes[n as usize]
    }
    #[inline]
    pub fn retained_size(&self, n: u32) -> u64 {
        self.retained[n as usize]
    }
    /// BFS distance; -5 when unreachable, ≥ 100,000,000 when only system roots reach it.
    #[inline]
    pub fn distance(&self, n: u32) -> i32 {
        self.distances[n as usize]
    }
    /// Immediate dominator (ordinal); the root is its own.
    #[inline]
    pub fn dominator(&self, n: u32) -> u32 {
        self.dominator[n as usize]
    }
    pub fn dominated_children(&self, n: u32) -> &[u32] {
        self.dominated().children(n)
    }
    pub fn detachedness(&self, n: u32) -> u8 {
        self.raw.node_detachedness[n as usize]
    }
    pub fn is_page_owned(&self, n: u32) -> bool {
        self.page_owned.get(n as usize)
    }
    #[inline]
    pub fn class_of(&self, n: u32) -> u32 {
        self.classes.node_class[n as usize]
    }
    pub fn class_name(&self, n: u32) -> &str {
        &self.classes.classes[self.class_of(n) as usize].name
    }
    pub fn class_key(&self, n: u32) -> &str {
        &self.classes.classes[self.class_of(n) as usize].key
    }
    pub fn classes(&self) -> &[ClassInfo] {
        &self.classes.classes
    }
    pub fn location(&self, n: u32) -> Option<Location> {
        self.locations.get(&self.raw, n)
    }
    /// The path or URL of a script id, when the snapshot names it.
    pub fn script_name(&self, script_id: u32) -> Option<&str> {
        self.scripts.get(&script_id).map(String::as_str)
    }
    pub fn ordinal_of_id(&self, id: u32) -> Option<u32> {
        let index = self.id_index.get_or_init(|| build_id_index(&self.raw));
        index
            .binary_search_by_key(&id, |&(i, _)| i)
            .ok()
            .map(|k| index[k].1)
    }

    // ---- edges ----
    pub fn edges(&self, n: u32) -> std::ops::Range<usize> {
        self.raw.edges_of(n)
    }
    #[inline]
    pub fn edge_to(&self, e: usize) -> u32 {
        self.raw.edge_to[e]
    }
    #[inline]
    pub fn edge_type(&self, e: usize) -> EdgeType {
        self.raw.edge_types[e]
    }
    pub fn edge_name(&self, e: usize) -> Cow<'_, str> {
        self.raw.edge_name(e)
    }
    /// DevTools' edge syntax: `.prop`, `[3]`, `->ctx`, `{internal}`, `[[weak]]`.
    pub fn edge_display(&self, e: usize) -> String {
        names::edge_display(&self.raw, e)
    }
    /// `(edge index, retaining node)` pairs of node `n`.
    pub fn retainers(&self, n: u32) -> impl Iterator<Item = (usize, u32)> + '_ {
        self.retainers
            .range(n)
            .map(move |s| (self.retainers.edge[s] as usize, self.retainers.node[s]))
    }
    pub fn retainer_count(&self, n: u32) -> usize {
        self.retainers.count(n)
    }

    // ---- aggregates ----
    /// DevTools' Summary view rows (every class with a non-zero shallow size).
    pub fn aggregates(&self) -> Vec<ClassAggregate> {
        classes::aggregate(
            &self.classes,
            &self.raw.node_self_sizes,
            &self.distances,
            &self.retained,
            self.dominated(),
            self.raw.root,
        )
    }
    pub fn interface_definitions(&self) -> &[InterfaceDefinition] {
        &self.interfaces
    }
    pub fn retaining_paths(
        &self,
        n: u32,
        max_depth: usize,
        max_paths: usize,
    ) -> Vec<Vec<PathStep>> {
        paths::retaining_paths(self, n, max_depth, max_paths)
    }

    /// Per class key: name and `(id, shallow size)` sorted by id, classifying plain objects
    /// with `interfaces` when given (DevTools `aggregatesForDiff`).
    pub(crate) fn ids_by_class(&self, interfaces: Option<&[InterfaceDefinition]>) -> IdsByClass {
        let reclassified;
        let assignment = match interfaces {
            Some(defs) if defs != self.interfaces.as_slice() => {
                reclassified = classes::assign(&self.raw, defs, &self.locations);
                &reclassified
            }
            _ => &self.classes,
        };
        let mut by_class: Vec<Vec<(u32, u64)>> = vec![Vec::new(); assignment.classes.len()];
        for (o, &size) in self.raw.node_self_sizes.iter().enumerate() {
            if size != 0 {
                by_class[assignment.node_class[o] as usize].push((self.raw.node_ids[o], size));
            }
        }
        let mut out = IdsByClass::new();
        for (c, mut ids) in by_class.into_iter().enumerate() {
            if ids.is_empty() {
                continue;
            }
            ids.sort_unstable_by_key(|&(id, _)| id);
            let info = &assignment.classes[c];
            out.insert(info.key.clone(), (info.name.clone(), ids));
        }
        out
    }
}

fn build_id_index(raw: &RawSnapshot) -> Vec<(u32, u32)> {
    let mut index: Vec<(u32, u32)> = raw
        .node_ids
        .iter()
        .enumerate()
        .map(|(o, &id)| (id, o as u32))
        .collect();
    index.sort_unstable();
    index
}
