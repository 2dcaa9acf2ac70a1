//! `leakhound summary`: totals, statistics, classes by retained size, largest objects.

use super::{load, CmdResult, Status};
use crate::output::{self, fmt_bytes, fmt_count, paint, Style};
use leakhound_snapshot::{ClassAggregate, HeapSnapshot, NodeType, Statistics};
use serde::Serialize;
use std::path::PathBuf;

/// Summarise one heap snapshot the way Chrome DevTools' Summary and Statistics views do.
///
/// Sizes are DevTools' numbers on the same file: shallow sizes after DevTools folds
/// internal arrays into their owner, retained sizes from the dominator tree, distances
/// from the user roots (system-only objects show ≥ 100000000).
#[derive(clap::Args)]
pub struct Args {
    /// The .heapsnapshot file (`-` reads standard input).
    pub snapshot: PathBuf,
    /// How many classes and objects to list.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Print JSON (every class) instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct SummaryJson<'a> {
    file: String,
    node_count: usize,
    edge_count: usize,
    total_size: u64,
    statistics: &'a Statistics,
    classes: Vec<ClassAggregate>,
    largest_objects: Vec<ObjectRow>,
}

#[derive(Serialize)]
pub struct ObjectRow {
    pub id: u32,
    pub class: String,
    pub name: String,
    #[serde(rename = "type")]
    pub node_type: &'static str,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
}

pub fn run(args: Args) -> CmdResult {
    let snap = load::analyze(&args.snapshot)?;
    let mut classes = snap.aggregates();
    classes.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then_with(|| a.key.cmp(&b.key))
    });
    let largest = largest_objects(&snap, args.top);
    if args.json {
        output::print_json(&SummaryJson {
            file: args.snapshot.display().to_string(),
            node_count: snap.node_count(),
            edge_count: snap.edge_count(),
            total_size: snap.total_size(),
            statistics: snap.statistics(),
            classes,
            largest_objects: largest,
        })?;
        return Ok(Status::Ok);
    }
    print_human(&args, &snap, &classes, &largest);
    Ok(Status::Ok)
}

/// The biggest dominator subtrees that are real objects (not the root, GC roots or
/// system internals), by retained size.
pub fn largest_objects(snap: &HeapSnapshot, top: usize) -> Vec<ObjectRow> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // A min-heap of the best `top` so far: no per-node array on multi-GB snapshots.
    let mut best: BinaryHeap<Reverse<(u64, Reverse<u32>)>> = BinaryHeap::with_capacity(top + 1);
    if top == 0 {
        return Vec::new();
    }
    for n in 0..snap.node_count() as u32 {
        if matches!(snap.node_type(n), NodeType::Synthetic | NodeType::Hidden) {
            continue;
        }
        let key = Reverse((snap.retained_size(n), Reverse(n)));
        if best.len() < top {
            best.push(key);
        } else if best.peek().is_some_and(|min| key < *min) {
            best.pop();
            best.push(key);
        }
    }
    // Largest first; equal sizes in node order.
    best.into_sorted_vec()
        .into_iter()
        .map(|Reverse((_, Reverse(n)))| ObjectRow {
            id: snap.node_id(n),
            class: snap.class_name(n).to_string(),
            name: truncate(&snap.display_name(n), 60),
            node_type: snap.node_type(n).name(),
            self_size: snap.self_size(n),
            retained_size: snap.retained_size(n),
            distance: snap.distance(n),
        })
        .collect()
}

pub fn truncate(s: &str, max: usize) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

pub fn fmt_distance(d: i32) -> String {
    match d {
        leakhound_snapshot::NO_DISTANCE => "–".into(),
        d if d >= leakhound_snapshot::BASE_SYSTEM_DISTANCE => {
            format!("sys+{}", d - leakhound_snapshot::BASE_SYSTEM_DISTANCE)
        }
        d => d.to_string(),
    }
}

fn print_human(
    args: &Args,
    snap: &HeapSnapshot,
    classes: &[ClassAggregate],
    largest: &[ObjectRow],
) {
    let st = snap.statistics();
    println!(
        "{}",
        paint(
            &format!("Snapshot {}", args.snapshot.display()),
            Style::Bold
        )
    );
    println!(
        "  {} nodes, {} edges, total {}",
        fmt_count(snap.node_count() as u64),
        fmt_count(snap.edge_count() as u64),
        paint(&fmt_bytes(snap.total_size()), Style::Bold)
    );
    println!();
    let other_js = st.v8heap.total.saturating_sub(
        st.v8heap.code + st.v8heap.strings + st.v8heap.js_arrays + st.v8heap.system,
    );
    let mut t = output::table(&["Statistics", "Size", "Share"]);
    let share = |v: u64| format!("{:.1}%", 100.0 * v as f64 / st.total.max(1) as f64);
    for (label, v) in [
        ("Code", st.v8heap.code),
        ("Strings", st.v8heap.strings),
        ("JS arrays", st.v8heap.js_arrays),
        ("Typed arrays", st.native.typed_arrays),
        ("System objects", st.v8heap.system),
        ("Other JS objects", other_js),
        (
            "Other non-JS objects",
            st.native.total.saturating_sub(st.native.typed_arrays),
        ),
        ("Total", st.total),
    ] {
        t.add_row(vec![label.to_string(), fmt_bytes(v), share(v)]);
    }
    println!("{t}\n");
    println!(
        "{}",
        paint(
            &format!(
                "Classes by retained size (top {} of {})",
                args.top.min(classes.len()),
                classes.len()
            ),
            Style::Bold
        )
    );
    let mut t = output::table(&["Class", "Count", "Shallow", "Retained", "Distance"]);
    for c in classes.iter().take(args.top) {
        t.add_row(vec![
            truncate(&c.name, 60),
            fmt_count(c.count),
            fmt_bytes(c.self_size),
            fmt_bytes(c.retained_size),
            fmt_distance(c.distance),
        ]);
    }
    println!("{t}\n");
    println!(
        "{}",
        paint("Largest objects (dominator subtrees)", Style::Bold)
    );
    let mut t = output::table(&["Id", "Class", "Name", "Shallow", "Retained", "Distance"]);
    for o in largest {
        t.add_row(vec![
            format!("@{}", o.id),
            truncate(&o.class, 40),
            o.name.clone(),
            fmt_bytes(o.self_size),
            fmt_bytes(o.retained_size),
            fmt_distance(o.distance),
        ]);
    }
    println!("{t}");
}
