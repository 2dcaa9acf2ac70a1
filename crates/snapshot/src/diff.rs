//! DevTools' Comparison view: per class, objects added and deleted between two snapshots
//! of one process, matched by node id (`calculateSnapshotDiff`).
//!
//! The base snapshot is classified with the *target's* plain-object interfaces so that
//! `{a, b}` rows line up, as DevTools' Comparison view does. Only shallow sizes count.

use crate::heap::HeapSnapshot;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassDiff {
    pub name: String,
    pub key: String,
    pub added_count: u64,
    pub removed_count: u64,
    pub count_delta: i64,
    pub added_size: u64,
    pub removed_size: u64,
    pub size_delta: i64,
}

/// Per class key: (name, (id, self size) sorted by id), over nodes with non-zero size.
pub(crate) type IdsByClass = HashMap<String, (String, Vec<(u32, u64)>)>;

pub fn diff(base: &HeapSnapshot, target: &HeapSnapshot) -> Vec<ClassDiff> {
    let base_classes = base.ids_by_class(Some(target.interface_definitions()));
    let target_classes = target.ids_by_class(None);
    let mut out = Vec::new();
    let empty: Vec<(u32, u64)> = Vec::new();
    for (key, (base_name, base_ids)) in &base_classes {
        let (name, ids) = match target_classes.get(key) {
            Some((name, ids)) => (name, ids),
            None => (base_name, &empty),
        };
        if let Some(d) = diff_class(name, key, base_ids, ids) {
            out.push(d);
        }
    }
    for (key, (name, ids)) in &target_classes {
        if base_classes.contains_key(key) {
            continue;
        }
        if let Some(d) = diff_class(name, key, &empty, ids) {
            out.push(d);
        }
    }
    out.sort_by(|a, b| {
        b.size_delta
            .abs()
            .cmp(&a.size_delta.abs())
            .then(a.key.cmp(&b.key))
    });
    out
}

fn diff_class(
    name: &str,
    key: &str,
    base: &[(u32, u64)],
    target: &[(u32, u64)],
) -> Option<ClassDiff> {
    let (mut i, mut j) = (0, 0);
    let mut d = ClassDiff {
        name: name.to_string(),
        key: key.to_string(),
        added_count: 0,
        removed_count: 0,
        count_delta: 0,
        added_size: 0,
        removed_size: 0,
        size_delta: 0,
    };
    while i < base.len() && j < target.len() {
        let (a, b) = (base[i], target[j]);
        if a.0 < b.0 {
            d.removed_count += 1;
            d.removed_size += a.1;
            i += 1;
        } else if a.0 > b.0 {
            d.added_count += 1;
            d.added_size += b.1;
            j += 1;
        } else {
            i += 1;
            j += 1;
        }
    }
    for a in &base[i..] {
        d.removed_count += 1;
        d.removed_size += a.1;
    }
    for b in &target[j..] {
        d.added_count += 1;
        d.added_size += b.1;
    }
    if d.added_count == 0 && d.removed_count == 0 {
        return None;
    }
    d.count_delta = d.added_count as i64 - d.removed_count as i64;
    d.size_delta = d.added_size as i64 - d.removed_size as i64;
    Some(d)
}
