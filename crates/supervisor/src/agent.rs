//! The preload agent (agent/agent.js, embedded) and its line protocol.
//!
//! The agent is written once per run into a private temporary directory (0700, file 0600)
//! and loaded with `NODE_OPTIONS=--require <file>`. It reports over a Unix socket pair whose
//! child end is fd 3 in the child (`LEAKHOUND_AGENT_FD=3`); no port is opened: snapshots are
//! written in-process (`v8.writeHeapSnapshot`).

use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

pub const AGENT_JS: &str = include_str!("../agent/agent.js");
/// The agent's socket inside the child.
pub const AGENT_FD: i32 = 3;

/// The agent file on disk; the directory is removed on drop.
pub struct AgentFile {
    dir: PathBuf,
    pub path: PathBuf,
}

impl AgentFile {
    pub fn write() -> std::io::Result<AgentFile> {
        let dir = std::env::temp_dir().join(format!(
            "leakhound-agent-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let path = dir.join("leakhound-agent.js");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(AGENT_JS.as_bytes())?;
        Ok(AgentFile { dir, path })
    }
}

impl Drop for AgentFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `NODE_OPTIONS` for a child: the user's value plus the `--require` of the agent.
pub fn node_options(existing: Option<&str>, agent: &Path) -> String {
    let req = format!("--require \"{}\"", agent.display());
    match existing.map(str::trim).filter(|s| !s.is_empty()) {
        Some(e) => format!("{e} {req}"),
        None => req,
    }
}

/// Per-kind GC histogram as the agent sends it (prom-client's buckets).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct GcHistogram {
    pub buckets: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

pub const GC_BUCKETS: [f64; 6] = [0.001, 0.01, 0.1, 1.0, 2.0, 5.0];

/// One `sample` message.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AgentSample {
    pub ts: f64,
    pub heap_used: u64,
    pub heap_total: u64,
    pub heap_limit: u64,
    pub external: u64,
    pub array_buffers: u64,
    pub native_contexts: u64,
    pub detached_contexts: u64,
    /// `[name, size, used, available]`.
    pub spaces: Vec<(String, u64, u64, u64)>,
    pub lag: f64,
    pub lag_min: Option<f64>,
    pub lag_max: Option<f64>,
    pub lag_mean: Option<f64>,
    pub lag_stddev: Option<f64>,
    pub lag_p50: Option<f64>,
    pub lag_p90: Option<f64>,
    pub lag_p99: Option<f64>,
    pub handles: Option<u64>,
    pub handles_by_type: HashMap<String, u64>,
    pub requests: Option<u64>,
    pub requests_by_type: HashMap<String, u64>,
    pub resources: Option<u64>,
    pub resources_by_type: HashMap<String, u64>,
    pub gc: HashMap<String, GcHistogram>,
}

/// A message from the agent.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum AgentMsg {
    Hello {
        pid: u32,
        node: String,
        heap_limit: u64,
    },
    Sample(Box<AgentSample>),
    Gc {
        kind: String,
        heap_used_after: u64,
        heap_limit: u64,
    },
    Listening {
        #[serde(default)]
        address: serde_json::Value,
    },
    SnapshotWritten {
        id: u64,
        path: String,
    },
    Error {
        #[serde(default)]
        id: Option<u64>,
        message: String,
    },
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<String, String>>>>>;

/// Sends commands to one agent and matches replies by id.
#[derive(Clone)]
pub struct AgentHandle {
    tx: mpsc::UnboundedSender<String>,
    pending: Pending,
    next: Arc<AtomicU64>,
}

impl AgentHandle {
    /// Sends `{"cmd": cmd, "id": N, ...extra}` and waits for the reply with that id
    /// (`write_snapshot` with `{"path": ...}` → the path written).
    pub async fn request_with(
        &self,
        cmd: &str,
        extra: serde_json::Value,
        timeout: Duration,
    ) -> Result<String, String> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.pending.lock() {
            p.insert(id, tx);
        }
        let mut msg = serde_json::json!({"cmd": cmd, "id": id});
        if let (Some(m), serde_json::Value::Object(e)) = (msg.as_object_mut(), extra) {
            m.extend(e);
        }
        let line = msg.to_string() + "\n";
        if self.tx.send(line).is_err() {
            return Err("the agent is gone".into());
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err("the agent is gone".into()),
            Err(_) => {
                if let Ok(mut p) = self.pending.lock() {
                    p.remove(&id);
                }
                Err(format!("the agent did not answer {cmd} within {timeout:?}"))
            }
        }
    }

    /// Routes a reply message to its waiting request. Returns false for other messages.
    pub fn resolve(&self, msg: &AgentMsg) -> bool {
        let (id, result) = match msg {
            AgentMsg::SnapshotWritten { id, path } => (*id, Ok(path.clone())),
            AgentMsg::Error {
                id: Some(id),
                message,
            } => (*id, Err(message.clone())),
            _ => return false,
        };
        if let Some(tx) = self.pending.lock().ok().and_then(|mut p| p.remove(&id)) {
            let _ = tx.send(result);
        }
        true
    }
}

/// The supervisor's end of one agent connection.
pub struct AgentConn {
    pub handle: AgentHandle,
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
}

impl AgentConn {
    pub fn new(stream: UnixStream) -> AgentConn {
        let (read, write) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer(write, rx));
        AgentConn {
            handle: AgentHandle {
                tx,
                pending: Arc::new(Mutex::new(HashMap::new())),
                next: Arc::new(AtomicU64::new(1)),
            },
            lines: BufReader::new(read).lines(),
        }
    }

    /// The next message; `None` when the agent closed its end (or the process exited).
    /// Lines that are not agent messages are skipped.
    pub async fn next(&mut self) -> Option<AgentMsg> {
        loop {
            match self.lines.next_line().await {
                Ok(Some(line)) => match serde_json::from_str::<AgentMsg>(&line) {
                    Ok(msg) => return Some(msg),
                    Err(e) => tracing::debug!("agent line skipped ({e}): {line:.120}"),
                },
                _ => return None,
            }
        }
    }
}

async fn writer(mut w: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(line) = rx.recv().await {
        if w.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_messages() {
        let m: AgentMsg = serde_json::from_str(
            r#"{"t":"sample","ts":1,"heap_used":10,"heap_total":20,"heap_limit":30,"external":1,"array_buffers":2,"spaces":[["old",1,2,3]],"lag":0.001,"gc":{"major":{"buckets":[1,1,1,1,1,1],"sum":0.0005,"count":1}}}"#,
        )
        .unwrap();
        let AgentMsg::Sample(s) = m else {
            panic!("not a sample")
        };
        assert_eq!(s.heap_used, 10);
        assert_eq!(s.spaces[0].0, "old");
        assert_eq!(s.gc["major"].count, 1);
        let m: AgentMsg =
            serde_json::from_str(r#"{"t":"snapshot_written","id":4,"path":"/x/a.heapsnapshot"}"#)
                .unwrap();
        assert_eq!(
            m,
            AgentMsg::SnapshotWritten {
                id: 4,
                path: "/x/a.heapsnapshot".into()
            }
        );
    }

    #[test]
    fn node_options_appends() {
        let p = Path::new("/tmp/a/agent.js");
        assert_eq!(node_options(None, p), "--require \"/tmp/a/agent.js\"");
        assert_eq!(
            node_options(Some("--max-old-space-size=100"), p),
            "--max-old-space-size=100 --require \"/tmp/a/agent.js\""
        );
    }
}
