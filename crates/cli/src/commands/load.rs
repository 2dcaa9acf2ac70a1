//! Loading snapshots for the engine commands: progress bar, analysis, one-line errors.

use crate::output;
use anyhow::Context;
use leakhound_snapshot::{parse_file, HeapSnapshot, RawSnapshot};
use std::path::Path;

/// Parses `path` (`-` = standard input) with a byte progress bar on a terminal.
/// Errors name the file.
pub fn parse(path: &Path) -> anyhow::Result<RawSnapshot> {
    if path.as_os_str() == "-" {
        let bar = output::byte_progress(None, "reading standard input");
        let stdin = std::io::stdin();
        let raw =
            leakhound_snapshot::parse_reader(stdin.lock(), &mut |done| bar.set_position(done))
                .context("standard input");
        bar.finish_and_clear();
        return raw;
    }
    let size = std::fs::metadata(path)
        .with_context(|| format!("{}", path.display()))?
        .len();
    let bar = output::byte_progress(Some(size), "reading");
    let raw = parse_file(path, &mut |done| bar.set_position(done))
        .with_context(|| format!("{}", path.display()));
    bar.finish_and_clear();
    let raw = raw?;
    tracing::info!(
        file = %path.display(),
        nodes = raw.node_count(),
        edges = raw.edge_count(),
        "parsed"
    );
    Ok(raw)
}

/// Parses and analyses one snapshot.
pub fn analyze(path: &Path) -> anyhow::Result<HeapSnapshot> {
    let raw = parse(path)?;
    let spinner = output::spinner("analysing (dominators, retained sizes, classes)");
    let snap = HeapSnapshot::analyze(raw);
    spinner.finish_and_clear();
    if snap.unreachable_count() > 0 {
        tracing::info!(
            nodes = snap.unreachable_count(),
            "nodes unreachable from the root over strong edges (attached to the root, as DevTools does)"
        );
    }
    Ok(snap)
}
