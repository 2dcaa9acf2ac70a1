//! The few inspector calls the check needs, on one shared session: heap usage for the
//! timeline (skipped while a GC or snapshot runs), GC + usage, and a snapshot to a file.

use leakhound_inspector::{AtomicFile, Session};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct Inspector {
    session: Session,
    busy: AtomicBool,
}

impl Inspector {
    pub async fn connect(url: &str) -> Result<Inspector, String> {
        let session = Session::connect(url).await.map_err(|e| e.to_string())?;
        Ok(Inspector {
            session,
            busy: AtomicBool::new(false),
        })
    }

    /// A GC or snapshot is running.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// Used and total heap, unless a GC or snapshot is running (the answer would only come
    /// after it, and the sample would be stale).
    pub async fn try_heap_usage(&self) -> Option<(u64, u64)> {
        if self.busy.load(Ordering::Acquire) {
            return None;
        }
        match tokio::time::timeout(Duration::from_secs(1), self.session.heap_usage()).await {
            Ok(Ok(u)) => Some((u.used, u.total)),
            _ => None,
        }
    }

    /// Two full GCs (the second collects what the first's weak callbacks released), then the
    /// used and total heap.
    pub async fn gc_and_usage(&self) -> Result<(u64, u64), String> {
        self.busy.store(true, Ordering::Release);
        let r = async {
            for _ in 0..2 {
                self.session
                    .collect_garbage()
                    .await
                    .map_err(|e| format!("GC failed: {e}"))?;
            }
            let u = self
                .session
                .heap_usage()
                .await
                .map_err(|e| format!("heap usage failed: {e}"))?;
            Ok((u.used, u.total))
        }
        .await;
        self.busy.store(false, Ordering::Release);
        r
    }

    /// A heap snapshot written atomically (mode 0600) to `path`; its size in bytes.
    pub async fn snapshot(&self, path: &Path) -> Result<u64, String> {
        self.busy.store(true, Ordering::Release);
        let r = async {
            let file = AtomicFile::create(path).map_err(|e| e.to_string())?;
            let mut sink = std::io::BufWriter::with_capacity(1 << 20, file);
            let bytes = self
                .session
                .take_heap_snapshot(&mut sink, &mut |_, _| {})
                .await
                .map_err(|e| format!("snapshot failed: {e}"))?;
            let file = sink
                .into_inner()
                .map_err(|e| format!("{}: {}", path.display(), e.error()))?;
            file.commit().map_err(|e| e.to_string())?;
            Ok(bytes)
        }
        .await;
        self.busy.store(false, Ordering::Release);
        r
    }

    pub async fn close(&self) {
        self.session.close().await;
    }
}
