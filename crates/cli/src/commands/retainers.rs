//! `leakhound retainers`: the retaining paths of one object back to the GC roots.

use super::{
    load,
    summary::{fmt_distance, truncate},
    CmdResult, Status,
};
use crate::output::{self, fmt_bytes, paint, Style};
use anyhow::Context;
use leakhound_snapshot::HeapSnapshot;
use serde::Serialize;
use std::path::PathBuf;

/// Show how one object is retained: paths from a GC root (or `global`) down to it,
/// shortest first, in DevTools' edge syntax (`.prop`, `[i]`, `->ctx`, `{internal}`).
///
/// Weak edges are not shown (they never retain). Find ids with `leakhound summary`
/// (largest objects) or `leakhound export`.
#[derive(clap::Args)]
pub struct Args {
    /// The .heapsnapshot file (`-` reads standard input).
    pub snapshot: PathBuf,
    /// The object's node id, as `@12345` or `12345`.
    pub id: String,
    /// Longest path to search, in edges.
    #[arg(long, default_value_t = 30)]
    pub depth: usize,
    /// How many paths to show.
    #[arg(long, default_value_t = 5)]
    pub paths: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct NodeJson {
    id: u32,
    name: String,
    class: String,
    self_size: u64,
    retained_size: u64,
    distance: i32,
}

#[derive(Serialize)]
struct StepJson {
    holder_id: u32,
    holder_name: String,
    holder_class: String,
    edge: String,
    edge_type: &'static str,
    to_id: u32,
}

#[derive(Serialize)]
struct RetainersJson {
    target: NodeJson,
    paths: Vec<Vec<StepJson>>,
}

fn parse_id(text: &str) -> anyhow::Result<u32> {
    text.trim_start_matches('@')
        .parse::<u32>()
        .with_context(|| format!("'{text}' is not a node id (expected @12345)"))
}

fn node_json(snap: &HeapSnapshot, n: u32) -> NodeJson {
    NodeJson {
        id: snap.node_id(n),
        name: truncate(&snap.display_name(n), 120),
        class: snap.class_name(n).to_string(),
        self_size: snap.self_size(n),
        retained_size: snap.retained_size(n),
        distance: snap.distance(n),
    }
}

pub fn run(args: Args) -> CmdResult {
    let id = parse_id(&args.id)?;
    let snap = load::analyze(&args.snapshot)?;
    let target = snap
        .ordinal_of_id(id)
        .with_context(|| format!("{}: no node with id @{id}", args.snapshot.display()))?;
    let paths = snap.retaining_paths(target, args.depth, args.paths);
    let paths_json: Vec<Vec<StepJson>> = paths
        .iter()
        .map(|p| {
            p.iter()
                .map(|st| StepJson {
                    holder_id: snap.node_id(st.from),
                    holder_name: truncate(&snap.display_name(st.from), 120),
                    holder_class: snap.class_name(st.from).to_string(),
                    edge: snap.edge_display(st.edge),
                    edge_type: snap.edge_type(st.edge).name(),
                    to_id: snap.node_id(snap.edge_to(st.edge)),
                })
                .collect()
        })
        .collect();
    if args.json {
        output::print_json(&RetainersJson {
            target: node_json(&snap, target),
            paths: paths_json,
        })?;
        return Ok(Status::Ok);
    }
    let t = node_json(&snap, target);
    println!(
        "{} {} {} — shallow {}, retained {}, distance {}",
        paint(&format!("@{}", t.id), Style::Bold),
        t.class,
        paint(&truncate(&t.name, 60), Style::Dim),
        fmt_bytes(t.self_size),
        fmt_bytes(t.retained_size),
        fmt_distance(t.distance)
    );
    if paths_json.is_empty() {
        println!(
            "  no retaining path within {} edges (unreachable, or held only weakly)",
            args.depth
        );
    }
    for (i, path) in paths_json.iter().enumerate() {
        println!(
            "\n{}",
            paint(
                &format!("Path {} ({} steps)", i + 1, path.len()),
                Style::Bold
            )
        );
        for (depth, step) in path.iter().enumerate() {
            let holder = if step.holder_name.is_empty() || step.holder_name == step.holder_class {
                step.holder_class.clone()
            } else {
                format!(
                    "{} {}",
                    step.holder_class,
                    paint(&truncate(&step.holder_name, 40), Style::Dim)
                )
            };
            println!(
                "{}{} @{} {}",
                "  ".repeat(depth + 1),
                holder,
                step.holder_id,
                paint(&step.edge, Style::Cyan)
            );
        }
        println!("{}→ @{} {}", "  ".repeat(path.len() + 1), t.id, t.class);
    }
    Ok(Status::Ok)
}
