//! Heap snapshots of supervised processes: capture (the agent writes it in-process with
//! `v8.writeHeapSnapshot`; leakhound makes it 0600 and renames it into place), retention,
//! upload and the finder run on the (baseline, latest) pair.
//!
//! Why not the inspector: when an inspector session disconnects, V8 runs
//! `HeapProfiler.disable`, which clears the heap object ids; a snapshot taken over a later
//! session then numbers every object afresh and cannot be matched with the baseline by id
//! (the finder rightly refuses such a pair). An in-process snapshot keeps the ids, opens no
//! port, and needs no session.

use crate::agent::AgentHandle;
use crate::state::{with_instance, Shared};
use crate::timeline::Timeline;
use crate::upload::Uploader;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Snapshotter {
    pub dir: PathBuf,
    pub keep: usize,
    pub keep_bytes: Option<u64>,
    pub uploader: Option<Uploader>,
    pub finder: bool,
    pub timeline: Timeline,
    pub shared: Shared,
    /// One capture at a time across instances: a capture can double a process's memory.
    gate: tokio::sync::Semaphore,
    /// Baselines in use; retention never deletes them.
    protected: Mutex<HashSet<PathBuf>>,
}

/// `[leakhound] ...` on stderr: the supervisor's own event log, visible without `-v`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        eprintln!("[leakhound] {}", format!($($arg)*));
    }};
}

impl Snapshotter {
    pub fn new(
        dir: PathBuf,
        keep: usize,
        keep_bytes: Option<u64>,
        uploader: Option<Uploader>,
        finder: bool,
        timeline: Timeline,
        shared: Shared,
    ) -> Snapshotter {
        Snapshotter {
            dir,
            keep,
            keep_bytes,
            uploader,
            finder,
            timeline,
            shared,
            gate: tokio::sync::Semaphore::new(1),
            protected: Mutex::new(HashSet::new()),
        }
    }

    /// Takes a snapshot of instance `idx` (process `pid`) into the snapshot directory.
    pub async fn take(
        &self,
        idx: usize,
        pid: i32,
        agent: &AgentHandle,
        reason: &str,
    ) -> Result<PathBuf, String> {
        let _permit = self.gate.acquire().await.map_err(|e| e.to_string())?;
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let path = self.dir.join(format!(
            "leakhound-{ms}-i{idx}-p{pid}-{reason}.heapsnapshot"
        ));
        let started = std::time::Instant::now();
        // The process writes a temporary beside the destination; leakhound then makes it
        // 0600 and renames it into place, so the file appears whole or not at all.
        let temp = self.dir.join(format!(
            ".leakhound-{ms}-i{idx}-p{pid}-{reason}.heapsnapshot.tmp"
        ));
        let abs_temp = std::path::absolute(&temp).unwrap_or_else(|_| temp.clone());
        let written = agent
            .request_with(
                "write_snapshot",
                serde_json::json!({"path": abs_temp}),
                Duration::from_secs(600),
            )
            .await;
        let finish = || -> std::io::Result<u64> {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&abs_temp, std::fs::Permissions::from_mode(0o600))?;
            std::fs::File::open(&abs_temp)?.sync_all()?;
            std::fs::rename(&abs_temp, &path)?;
            Ok(std::fs::metadata(&path)?.len())
        };
        let bytes = match written {
            Ok(_) => finish().map_err(|e| {
                let _ = std::fs::remove_file(&abs_temp);
                format!("instance {idx}: snapshot {}: {e}", path.display())
            })?,
            Err(e) => {
                let _ = std::fs::remove_file(&abs_temp);
                return Err(format!("instance {idx}: snapshot failed: {e}"));
            }
        };
        with_instance(&self.shared, idx, |s| {
            *s.snapshots.entry(reason.to_string()).or_default() += 1
        });
        self.timeline.event(
            "snapshot",
            serde_json::json!({
                "instance": idx, "pid": pid, "reason": reason,
                "path": path, "bytes": bytes,
                "seconds": started.elapsed().as_secs_f64(),
            }),
        );
        say!(
            "instance {idx}: {reason} snapshot {} ({}, {:.1}s)",
            path.display(),
            crate::units::fmt_size(bytes as f64),
            started.elapsed().as_secs_f64()
        );
        Ok(path)
    }

    pub fn protect(&self, path: &Path) {
        if let Ok(mut p) = self.protected.lock() {
            p.insert(path.to_path_buf());
        }
    }

    pub fn unprotect(&self, path: &Path) {
        if let Ok(mut p) = self.protected.lock() {
            p.remove(path);
        }
    }

    /// After a capture, in order: upload, finder on (baseline, latest), retention.
    pub async fn after(self: Arc<Self>, idx: usize, latest: PathBuf, baseline: Option<PathBuf>) {
        if let Some(up) = &self.uploader {
            match up.upload(&latest).await {
                Ok(url) => {
                    say!("instance {idx}: uploaded {url}");
                    self.timeline.event(
                        "upload",
                        serde_json::json!({"instance": idx, "path": latest, "url": url}),
                    );
                }
                Err(e) => {
                    say!("instance {idx}: {e}");
                    self.timeline.event(
                        "upload_failed",
                        serde_json::json!({"instance": idx, "path": latest, "error": e}),
                    );
                }
            }
        }
        if let Some(base) = baseline.filter(|b| *b != latest && self.finder) {
            self.find(idx, base, latest.clone()).await;
        }
        let dir = self.dir.clone();
        let keep = self.keep;
        let keep_bytes = self.keep_bytes;
        let protected: HashSet<PathBuf> =
            self.protected.lock().map(|p| p.clone()).unwrap_or_default();
        let removed =
            tokio::task::spawn_blocking(move || retention(&dir, keep, keep_bytes, &protected))
                .await
                .unwrap_or_default();
        for r in removed {
            tracing::info!("retention: removed {}", r.display());
            self.timeline
                .event("snapshot_removed", serde_json::json!({"path": r}));
        }
    }

    async fn find(&self, idx: usize, base: PathBuf, latest: PathBuf) {
        let paths = vec![base.clone(), latest.clone()];
        let res = tokio::task::spawn_blocking(move || {
            let opts = leakhound_finder::FindOptions {
                top: 5,
                ..Default::default()
            };
            leakhound_finder::find_leaks(&paths, &opts)
        })
        .await;
        match res {
            Ok(Ok(report)) => {
                if report.findings.is_empty() {
                    say!(
                        "instance {idx}: finder: no leak between {} and {}",
                        base.display(),
                        latest.display()
                    );
                }
                let n = report.findings.len();
                for (i, f) in report.findings.iter().enumerate() {
                    let loc = f
                        .location
                        .as_ref()
                        .map(|l| format!("{}:{}:{}", l.script, l.line, l.column))
                        .unwrap_or_else(|| "unknown location".into());
                    say!(
                        "instance {idx}: finding {}/{n}: {} (confidence {:.2}) at {loc}",
                        i + 1,
                        f.title,
                        f.confidence
                    );
                    self.timeline.event(
                        "finding",
                        serde_json::json!({
                            "instance": idx, "rank": i + 1, "title": f.title,
                            "confidence": f.confidence, "location": loc,
                            "retainer_path": f.retainer_path_text,
                            "suggestion": f.suggestion,
                            "baseline": base, "latest": latest,
                        }),
                    );
                }
            }
            Ok(Err(e)) => say!("instance {idx}: finder: {e}"),
            Err(e) => say!("instance {idx}: finder crashed: {e}"),
        }
    }
}

/// Deletes the oldest `leakhound-*.heapsnapshot` files of `dir` beyond `keep` files or
/// `keep_bytes` bytes, sparing `protected`. Returns what it removed.
pub fn retention(
    dir: &Path,
    keep: usize,
    keep_bytes: Option<u64>,
    protected: &HashSet<PathBuf>,
) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    // Names start with the capture time in ms, so name order is age order.
    let mut files: Vec<(String, PathBuf, u64)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("leakhound-") && name.ends_with(".heapsnapshot")) {
                return None;
            }
            let len = e.metadata().ok()?.len();
            Some((name, e.path(), len))
        })
        .collect();
    files.sort();
    let mut count = files.len();
    let mut bytes: u64 = files.iter().map(|f| f.2).sum();
    let mut removed = Vec::new();
    for (_, path, len) in &files {
        let over = count > keep || keep_bytes.is_some_and(|kb| bytes > kb);
        if !over {
            break;
        }
        if protected.contains(path) {
            continue;
        }
        if std::fs::remove_file(path).is_ok() {
            count -= 1;
            bytes -= len;
            removed.push(path.clone());
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_by_count_and_bytes_spares_protected() {
        let dir = tempfile::tempdir().unwrap();
        let mk = |ms: u64, len: usize| {
            let p = dir
                .path()
                .join(format!("leakhound-{ms}-i0-p1-x.heapsnapshot"));
            std::fs::write(&p, vec![b'x'; len]).unwrap();
            p
        };
        let a = mk(1000, 10);
        let b = mk(2000, 10);
        let c = mk(3000, 10);
        let d = mk(4000, 10);
        std::fs::write(dir.path().join("timeline.jsonl"), "x").unwrap();
        let mut prot = HashSet::new();
        prot.insert(a.clone());
        let removed = retention(dir.path(), 2, None, &prot);
        assert_eq!(removed, vec![b.clone(), c.clone()]);
        assert!(a.exists() && d.exists());
        let removed = retention(dir.path(), 10, Some(15), &HashSet::new());
        assert_eq!(removed, vec![a]);
        assert!(d.exists());
        assert!(dir.path().join("timeline.jsonl").exists());
    }
}
