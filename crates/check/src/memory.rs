//! Memory of the app over time: resident set size of its whole process group (from /proc)
//! and, through the inspector, V8's used heap.

use serde::{Deserialize, Serialize};

/// One point of the timeline.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// Milliseconds since the app started.
    pub t_ms: u64,
    /// RSS of every process in the app's process group, bytes.
    pub rss: u64,
    /// V8 used heap (Runtime.getHeapUsage), bytes; missing while a snapshot blocks the inspector.
    pub heap_used: Option<u64>,
    pub heap_total: Option<u64>,
    /// Taken while a forced GC or a snapshot ran (snapshotting itself inflates RSS).
    #[serde(default)]
    pub in_snapshot: bool,
}

/// A labelled moment on the timeline (phase starts, snapshots).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Marker {
    pub t_ms: u64,
    pub label: String,
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Sum of the resident memory of every process whose process group is `pgid`.
/// Processes that vanish while we read are skipped; `None` when none is left.
pub fn group_rss(pgid: i32) -> Option<u64> {
    let page = page_size();
    let mut total = 0u64;
    let mut found = false;
    let dir = std::fs::read_dir("/proc").ok()?;
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces and parentheses):
        // state ppid pgrp ...
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut fields = stat[close + 1..].split_whitespace();
        let pgrp = fields.nth(2).and_then(|f| f.parse::<i32>().ok());
        if pgrp != Some(pgid) {
            continue;
        }
        let Ok(statm) = std::fs::read_to_string(format!("/proc/{pid}/statm")) else {
            continue;
        };
        if let Some(resident) = statm
            .split_whitespace()
            .nth(1)
            .and_then(|f| f.parse::<u64>().ok())
        {
            total += resident * page;
            found = true;
        }
    }
    found.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_of_a_real_group() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .process_group(0)
            .spawn()
            .unwrap();
        let rss = group_rss(child.id() as i32);
        let _ = child.kill();
        let _ = child.wait();
        assert!(rss.unwrap() > 0);
        assert_eq!(group_rss(child.id() as i32), None);
    }
}
