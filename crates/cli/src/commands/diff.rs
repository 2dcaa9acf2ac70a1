//! `leakhound diff`: DevTools' Comparison view between two snapshots of one process.

use super::{load, summary::truncate, CmdResult, Status};
use crate::output::{self, fmt_count, fmt_delta, paint, Style};
use leakhound_snapshot::ClassDiff;
use serde::Serialize;
use std::path::PathBuf;

/// Compare two snapshots of one process per class, as DevTools' Comparison view does.
///
/// Objects are matched by node id (ids are only stable within one process lifetime).
/// For every class: objects new in TARGET, objects deleted since BASE, the count delta,
/// and the shallow bytes allocated, freed and their delta. Plain objects of BASE are
/// classified with TARGET's inferred interfaces so `{a, b}` rows line up.
#[derive(clap::Args)]
pub struct Args {
    /// The earlier snapshot.
    pub base: PathBuf,
    /// The later snapshot.
    pub target: PathBuf,
    /// How many classes to list (by absolute size delta).
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// Print JSON (every changed class) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct DiffJson<'a> {
    base: String,
    target: String,
    classes: &'a [ClassDiff],
}

pub fn run(args: Args) -> CmdResult {
    let (base, target) = in_parallel(|| load::analyze(&args.base), || load::analyze(&args.target));
    let (base, target) = (base?, target?);
    let rows = leakhound_snapshot::diff(&base, &target);
    if args.json {
        output::print_json(&DiffJson {
            base: args.base.display().to_string(),
            target: args.target.display().to_string(),
            classes: &rows,
        })?;
        return Ok(Status::Ok);
    }
    println!(
        "{}",
        paint(
            &format!(
                "Comparison {} → {}",
                args.base.display(),
                args.target.display()
            ),
            Style::Bold
        )
    );
    let (added, removed): (i64, i64) = rows.iter().fold((0, 0), |(a, r), d| {
        (a + d.added_size as i64, r + d.removed_size as i64)
    });
    println!(
        "  {} classes changed; allocated {}, freed {}, net {}\n",
        rows.len(),
        fmt_delta(added),
        fmt_delta(-removed),
        fmt_delta(added - removed)
    );
    let mut t = output::table(&[
        "Class",
        "# New",
        "# Deleted",
        "# Delta",
        "Alloc. size",
        "Freed size",
        "Size delta",
    ]);
    for d in rows.iter().take(args.top) {
        t.add_row(vec![
            truncate(&d.name, 50),
            fmt_count(d.added_count),
            fmt_count(d.removed_count),
            format!("{:+}", d.count_delta),
            output::fmt_bytes(d.added_size),
            output::fmt_bytes(d.removed_size),
            fmt_delta(d.size_delta),
        ]);
    }
    println!("{t}");
    Ok(Status::Ok)
}

/// Runs two loads at once (both snapshots must be in memory for the comparison anyway).
fn in_parallel<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|s| {
        let hb = s.spawn(b);
        let ra = a();
        (
            ra,
            hb.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    })
}
