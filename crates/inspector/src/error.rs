//! Everything that can go wrong reaching a Node process and talking to its inspector.

use std::path::PathBuf;
use std::time::Duration;

/// Why a capture failed. `Display` is one line naming the target or file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum InspectorError {
    #[error("invalid target {0:?}: expected a PID, HOST:PORT or a ws:// URL")]
    InvalidTarget(String),

    #[error("no such process: {0}")]
    NoSuchProcess(u32),

    #[error("process {pid} is not a Node process ({exe})")]
    NotNode { pid: u32, exe: String },

    #[error("permission denied: cannot {action} process {pid} (run as the same user as the process, or as root)")]
    PermissionDenied { pid: u32, action: String },

    #[error(
        "process {pid} has no SIGUSR1 handler, so its inspector cannot be turned on from outside \
         (started with --disable-sigusr1?); sending SIGUSR1 would kill it, so leakhound did not. \
         Start it with --inspect=127.0.0.1:0 and pass HOST:PORT instead"
    )]
    NoSigusr1Handler { pid: u32 },

    #[error(
        "process {pid} did not open its inspector within {:.1}s of SIGUSR1 (looked on port {port}): \
         the inspector is disabled (--disable-sigusr1, an app-level SIGUSR1 listener, or a Node \
         built without inspector), or it opened on a port given by the process's own --inspect-port",
        waited.as_secs_f64()
    )]
    InspectorDidNotOpen {
        pid: u32,
        port: u16,
        waited: Duration,
    },

    #[error("inspector port {port} is already held by another process ({holder}); process {pid} cannot open its inspector there. Free the port, or start the process with --inspect-port=N and pass --inspect-port N")]
    PortTaken { pid: u32, port: u16, holder: String },

    #[error("refusing to connect to non-loopback host {0:?}: the inspector gives code execution to anyone who can reach it; pass --host {0} if you really mean it")]
    NotLoopback(String),

    #[error("inspector HTTP endpoint {addr}: {message}")]
    Http { addr: String, message: String },

    #[error("no Node inspector target at {addr}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NoTarget {
        addr: String,
        detail: Option<String>,
    },

    #[error("cannot connect to the inspector at {url}: {message}")]
    Connect { url: String, message: String },

    #[error("the inspector connection closed{}", reason_suffix(.0))]
    Disconnected(String),

    #[error("process {pid} exited during the capture")]
    ProcessExited { pid: u32 },

    #[error("{method} failed: {message} (CDP error {code})")]
    Protocol {
        method: String,
        code: i64,
        message: String,
    },

    #[error("unexpected inspector reply to {method}: {message}")]
    BadReply { method: String, message: String },

    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing the snapshot to its destination failed (disk full, I/O error).
    #[error("writing the snapshot: {0}")]
    Sink(#[source] std::io::Error),

    #[error("timed out after {:.1}s waiting for {what}", waited.as_secs_f64())]
    Timeout { what: String, waited: Duration },

    #[error("interrupted")]
    Interrupted,

    #[error("{0}")]
    Other(String),
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

impl InspectorError {
    pub(crate) fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        InspectorError::File {
            path: path.into(),
            source,
        }
    }

    /// True when the error means the socket went away (process exit, inspector closed).
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self,
            InspectorError::Disconnected(_) | InspectorError::ProcessExited { .. }
        )
    }
}
