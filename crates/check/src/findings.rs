//! The finder over the round snapshots, as JSON values (the finder's own schema, unchanged)
//! so the reports carry exactly what `leakhound find --json` would.

use leakhound_finder::{find_leaks, FindOptions};
use std::path::PathBuf;

/// The finder's `SourceLocation` lines and columns are 1-based.
pub const LINE_BASE: u32 = 1;

pub fn find(snapshots: &[PathBuf]) -> Result<Vec<serde_json::Value>, String> {
    let opts = FindOptions::default();
    let report = find_leaks(snapshots, &opts).map_err(|e| e.to_string())?;
    report
        .findings
        .iter()
        .map(|f| serde_json::to_value(f).map_err(|e| format!("finding to JSON: {e}")))
        .collect()
}
