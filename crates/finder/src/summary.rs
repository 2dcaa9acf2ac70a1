//! The compact per-snapshot summary: what the finder keeps of every snapshot but the last.
//!
//! Analysing N multi-GB snapshots at once does not fit in memory, so each snapshot is parsed
//! and analysed, summarised into a few arrays keyed by node id (containers and their entry
//! counts, listener counts, retained sizes of big objects, class counts, a fingerprint sample
//! for the same-process check), and dropped. Only the last snapshot stays whole, for the
//! retainer paths and source locations.

use crate::graph::{self, Names};
use crate::idset::IdSet;
use crate::model::SnapshotInfo;
use leakhound_snapshot::{EdgeType, HeapSnapshot, NodeType};
use rayon::prelude::*;
use std::collections::HashMap;

/// Objects retaining at least this much are tracked by id (retained size per snapshot).
pub const TRACK_RETAINED_MIN: u64 = 16 * 1024;
/// Plain objects with at least this many named/indexed properties are tracked as dictionaries.
pub const DICT_MIN_PROPERTIES: u32 = 8;
/// One node in this many (by id) goes into the fingerprint sample.
const FINGERPRINT_EVERY: u32 = 16;

/// What a tracked container is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerKind {
    Map,
    Set,
    Array,
    Dictionary,
    TimerList,
}

impl ContainerKind {
    pub fn unit(self) -> &'static str {
        match self {
            ContainerKind::Map | ContainerKind::Set => "entries",
            ContainerKind::Array => "elements",
            ContainerKind::Dictionary => "properties",
            ContainerKind::TimerList => "timers",
        }
    }
}

/// Entries and retained size of one container in one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerStat {
    pub id: u32,
    /// Ordinal in the snapshot this summary was made from (saves an id index on the last).
    pub ordinal: u32,
    pub kind: ContainerKind,
    pub entries: u32,
    pub retained: u64,
}

/// Listeners of one event on one emitter (`emitter._events[event]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerStat {
    /// Id of the `_events` object (stable while the emitter lives).
    pub events_id: u32,
    /// Ordinal of the `_events` object in the snapshot this summary was made from.
    pub events_ordinal: u32,
    pub event: String,
    pub count: u32,
    /// Retained size of the listener array (or the single listener function).
    pub retained: u64,
}

/// Live count and shallow size of one class key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassStat {
    pub count: u64,
    pub self_size: u64,
}

/// The compact summary of one snapshot.
#[derive(Debug, Clone, Default)]
pub struct SnapshotSummary {
    pub info: SnapshotInfo,
    /// All node ids. Dropped (emptied) for middle snapshots once no longer needed.
    pub ids: IdSet,
    /// Sorted by id.
    pub containers: Vec<ContainerStat>,
    /// Sorted by (events_id, event).
    pub listeners: Vec<ListenerStat>,
    /// `(id, retained)` of every object retaining at least [`TRACK_RETAINED_MIN`], sorted by id.
    pub retained: Vec<(u32, u64)>,
    /// Class key (DevTools) -> live count and shallow size.
    pub classes: HashMap<String, ClassStat>,
    /// `(id, fingerprint of type and name)` for one node in [`FINGERPRINT_EVERY`], sorted.
    pub fingerprints: Vec<(u32, u32)>,
    /// Ids of the root's user roots (`global` objects).
    pub global_ids: Vec<u32>,
    /// Promises that have not settled (see [`graph::is_pending_promise`]).
    pub pending_promises: u64,
    /// Distinct AsyncLocalStorage stores carried by async resources.
    pub async_stores: u64,
}

impl SnapshotSummary {
    pub fn container(&self, id: u32) -> Option<&ContainerStat> {
        self.containers
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .map(|i| &self.containers[i])
    }

    pub fn retained_of(&self, id: u32) -> Option<u64> {
        if let Some(c) = self.container(id) {
            return Some(c.retained);
        }
        self.retained
            .binary_search_by_key(&id, |r| r.0)
            .ok()
            .map(|i| self.retained[i].1)
    }

    pub fn listener(&self, events_id: u32, event: &str) -> Option<&ListenerStat> {
        self.listeners
            .binary_search_by(|l| (l.events_id, l.event.as_str()).cmp(&(events_id, event)))
            .ok()
            .map(|i| &self.listeners[i])
    }

    /// Whether a node with this id exists in the snapshot (needs `ids`).
    pub fn has_id(&self, id: u32) -> bool {
        self.ids.contains(id)
    }
}

/// FNV-1a over the node type and name: equal for one object across snapshots of one process.
pub fn fingerprint(ty: NodeType, name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in std::iter::once(ty as u8).chain(name.bytes()) {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The highest id of a JS object (odd ids; V8 gives them out in increasing order).
pub fn max_js_id(snap: &HeapSnapshot) -> u32 {
    snap.raw()
        .node_ids
        .iter()
        .filter(|&&id| id % 2 == 1)
        .max()
        .copied()
        .unwrap_or(0)
}

/// Summarises one analysed snapshot.
pub fn summarize(snap: &HeapSnapshot, path: &str, file_size: u64) -> SnapshotSummary {
    let started = std::time::Instant::now();
    let summary = summarize_untimed(snap, path, file_size);
    tracing::debug!(
        path,
        ms = started.elapsed().as_millis() as u64,
        "summarised snapshot"
    );
    summary
}

fn summarize_untimed(snap: &HeapSnapshot, path: &str, file_size: u64) -> SnapshotSummary {
    let raw = snap.raw();
    let names = Names::new(raw);
    let n = raw.node_count();
    let track_stores = names.resource_store != u32::MAX;
    // The id set and class counts (serial passes) beside one pass over the nodes in
    // parallel over ranges; every list is sorted afterwards.
    const RANGE: u32 = 1 << 16;
    let ((ids, max_js_id, classes), parts) = rayon::join(
        || {
            (
                IdSet::from_ids(&raw.node_ids),
                max_js_id(snap),
                class_stats(snap),
            )
        },
        || {
            (0..(n as u32).div_ceil(RANGE))
                .into_par_iter()
                .map(|k| {
                    let end = ((k + 1) * RANGE).min(n as u32);
                    scan_nodes(snap, &names, track_stores, k * RANGE..end)
                })
                .collect::<Vec<NodeScan>>()
        },
    );
    let mut all = NodeScan::default();
    for p in parts {
        all.containers.extend(p.containers);
        all.listeners.extend(p.listeners);
        all.retained.extend(p.retained);
        all.fingerprints.extend(p.fingerprints);
        all.stores.extend(p.stores);
        all.pending_promises += p.pending_promises;
    }
    let NodeScan {
        mut containers,
        mut listeners,
        mut retained,
        mut fingerprints,
        mut stores,
        pending_promises,
    } = all;
    containers.sort_unstable_by_key(|c| c.id);
    retained.sort_unstable_by_key(|r| r.0);
    listeners.sort_by(|a, b| (a.events_id, &a.event).cmp(&(b.events_id, &b.event)));
    listeners.dedup_by(|a, b| a.events_id == b.events_id && a.event == b.event);
    fingerprints.sort_unstable();
    stores.sort_unstable();
    stores.dedup();

    let root = raw.root;
    let global_ids = raw
        .edges_of(root)
        .filter(|&e| raw.edge_types[e] == EdgeType::Shortcut)
        .map(|e| raw.node_ids[raw.edge_to[e] as usize])
        .collect();

    SnapshotSummary {
        info: SnapshotInfo {
            path: path.to_string(),
            file_size,
            node_count: n as u64,
            edge_count: raw.edge_count() as u64,
            max_js_id,
            total_size: snap.total_size(),
        },
        ids,
        containers,
        listeners,
        retained,
        classes,
        fingerprints,
        global_ids,
        pending_promises,
        async_stores: stores.len() as u64,
    }
}

/// Per class key: live count and shallow size (DevTools' Summary rows, which skip nodes
/// whose adjusted shallow size is 0), without the per-class retained sizes we do not need.
fn class_stats(snap: &HeapSnapshot) -> HashMap<String, ClassStat> {
    let n = snap.node_count();
    let infos = snap.classes();
    let mut per_class = vec![ClassStat::default(); infos.len()];
    for node in 0..n as u32 {
        let size = snap.self_size(node);
        if size == 0 {
            continue;
        }
        if let Some(c) = per_class.get_mut(snap.class_of(node) as usize) {
            c.count += 1;
            c.self_size += size;
        }
    }
    let mut classes: HashMap<String, ClassStat> = HashMap::new();
    for (info, stat) in infos.iter().zip(per_class) {
        if stat.count > 0 {
            let e = classes.entry(info.key.clone()).or_default();
            e.count += stat.count;
            e.self_size += stat.self_size;
        }
    }
    classes
}

/// What one range of nodes contributes to a summary.
#[derive(Default)]
struct NodeScan {
    containers: Vec<ContainerStat>,
    listeners: Vec<ListenerStat>,
    retained: Vec<(u32, u64)>,
    fingerprints: Vec<(u32, u32)>,
    stores: Vec<u32>,
    pending_promises: u64,
}

fn scan_nodes(
    snap: &HeapSnapshot,
    names: &Names,
    track_stores: bool,
    range: std::ops::Range<u32>,
) -> NodeScan {
    let raw = snap.raw();
    let mut out = NodeScan::default();
    for node in range {
        let ty = raw.node_types[node as usize];
        let id = raw.node_ids[node as usize];
        if (id / 2).is_multiple_of(FINGERPRINT_EVERY) {
            out.fingerprints
                .push((id, fingerprint(ty, raw.node_name(node))));
        }
        if !matches!(ty, NodeType::Object | NodeType::Closure) {
            continue;
        }
        if graph::is_pending_promise(raw, names, node) {
            out.pending_promises += 1;
        }
        if track_stores && ty == NodeType::Object {
            out.stores.extend(graph::resource_stores(raw, names, node));
        }
        let ret = snap.retained_size(node);
        if let Some((kind, entries)) = graph::container_entries(raw, names, node) {
            out.containers.push(ContainerStat {
                id,
                ordinal: node,
                kind,
                entries,
                retained: ret,
            });
        } else if ret >= TRACK_RETAINED_MIN {
            out.retained.push((id, ret));
        }
        if ty == NodeType::Object {
            if let Some(events) = graph::events_object(raw, names, node) {
                let events_id = raw.node_ids[events as usize];
                for (event, target) in graph::event_listeners(raw, names, events) {
                    out.listeners.push(ListenerStat {
                        events_id,
                        events_ordinal: events,
                        event,
                        count: graph::listener_count(raw, target),
                        retained: snap.retained_size(target),
                    });
                }
            }
        }
    }
    out
}
