//! The app under test: started in its own process group with its output captured to a log,
//! watched for readiness, for the inspector URL and for an early exit, and stopped gracefully
//! (SIGTERM to the group, a grace period, then SIGKILL).

use crate::scenario::Ready;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::watch;

/// How many of the app's last output lines are kept for error messages.
pub const TAIL_LINES: usize = 30;

/// Why the app could not be started or became unusable.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot start `{cmd}`: {message}")]
    Spawn { cmd: String, message: String },
    #[error("port {port} is already in use before the app was started (another process is listening on 127.0.0.1:{port}); stop it or choose another port")]
    PortInUse { port: u16 },
    #[error("the app exited ({status}) before it was ready (waited for {waited_for})")]
    ExitedEarly { status: String, waited_for: String },
    #[error("the app was not ready after {timeout} (waited for {waited_for})")]
    NotReady { timeout: String, waited_for: String },
    #[error("cannot write the app log {path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The app's output: a log file on disk and the last lines in memory.
pub struct LogTail {
    file: Mutex<std::fs::File>,
    lines: Mutex<VecDeque<String>>,
    path: PathBuf,
}

impl LogTail {
    fn push(&self, line: &str) {
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{line}");
        }
        if let Ok(mut l) = self.lines.lock() {
            if l.len() == TAIL_LINES {
                l.pop_front();
            }
            l.push_back(line.to_string());
        }
    }

    /// The last lines the app printed (stdout and stderr interleaved).
    pub fn last_lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What starts the app.
pub struct AppSpec<'a> {
    pub cmd: &'a str,
    pub cwd: &'a Path,
    pub env: &'a std::collections::BTreeMap<String, String>,
    /// Open the inspector on a free port (`--inspect=127.0.0.1:0` through `NODE_OPTIONS`).
    pub inspect: bool,
    pub log_path: &'a Path,
}

/// A running app.
pub struct App {
    pid: i32,
    log: Arc<LogTail>,
    exit: watch::Receiver<Option<String>>,
    /// The process itself exited (`exit` also fires when node only waits for the debugger).
    process_exit: watch::Receiver<Option<String>>,
    inspector: watch::Receiver<Option<String>>,
    /// Set when a log line matches the `ready_log` regex.
    log_ready: watch::Receiver<bool>,
    stopped: bool,
}

/// Whether `cmd` needs a shell (pipes, `&&`, variables, redirections, globbing).
fn needs_shell(cmd: &str) -> bool {
    cmd.contains([
        '|', '&', ';', '<', '>', '$', '`', '*', '?', '(', ')', '~', '\n',
    ]) || cmd
        .split_whitespace()
        .next()
        .is_some_and(|w| w.contains('='))
}

/// The exit status as words: `exit code 1`, `killed by signal 9`.
pub fn describe_status(s: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = s.code() {
        format!("exit code {code}")
    } else if let Some(sig) = s.signal() {
        format!("killed by signal {sig}")
    } else {
        "unknown status".into()
    }
}

/// Something listens on 127.0.0.1:port right now.
pub async fn port_open(port: u16) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(("127.0.0.1", port))
        )
        .await,
        Ok(Ok(_))
    )
}

fn pump<R: AsyncRead + Unpin + Send + 'static>(
    reader: R,
    log: Arc<LogTail>,
    inspector: watch::Sender<Option<String>>,
    ready_re: Option<regex::Regex>,
    ready: watch::Sender<bool>,
    ending: watch::Sender<bool>,
) {
    tokio::spawn(async move {
        let mut r = BufReader::new(reader);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            log.push(line);
            if let Some(rest) = line.strip_prefix("Debugger listening on ") {
                // With `npm start` and friends, several node processes print this; the app is
                // the last one to start, so the latest URL wins.
                let url = rest.trim().to_string();
                inspector.send_replace(Some(url));
            }
            if line.starts_with("Waiting for the debugger to disconnect") {
                // Node finished (or crashed) and only our inspector session keeps it alive.
                ending.send_replace(true);
            }
            if let Some(re) = &ready_re {
                if re.is_match(line) {
                    ready.send_replace(true);
                }
            }
        }
    });
}

impl App {
    /// Starts the app. Fails if the port it will be checked on is already taken.
    pub async fn start(spec: AppSpec<'_>, ready: &Ready) -> Result<App, AppError> {
        if let Some(port) = ready.port() {
            if port_open(port).await {
                return Err(AppError::PortInUse { port });
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(spec.log_path)
            .map_err(|source| AppError::Log {
                path: spec.log_path.to_path_buf(),
                source,
            })?;
        let log = Arc::new(LogTail {
            file: Mutex::new(file),
            lines: Mutex::new(VecDeque::with_capacity(TAIL_LINES)),
            path: spec.log_path.to_path_buf(),
        });

        let mut command = if needs_shell(spec.cmd) {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(spec.cmd);
            c
        } else {
            let words = shell_words::split(spec.cmd).map_err(|e| AppError::Spawn {
                cmd: spec.cmd.to_string(),
                message: format!("cannot split the command: {e}"),
            })?;
            let Some((prog, args)) = words.split_first() else {
                return Err(AppError::Spawn {
                    cmd: spec.cmd.to_string(),
                    message: "empty command".into(),
                });
            };
            let mut c = tokio::process::Command::new(prog);
            c.args(args);
            c
        };
        command
            .current_dir(spec.cwd)
            .envs(spec.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        if spec.inspect {
            let mut opts = std::env::var("NODE_OPTIONS").unwrap_or_default();
            if let Some(o) = spec.env.get("NODE_OPTIONS") {
                opts = o.clone();
            }
            if !opts.is_empty() {
                opts.push(' ');
            }
            opts.push_str("--inspect=127.0.0.1:0");
            command.env("NODE_OPTIONS", opts);
        }
        let mut child = command.spawn().map_err(|e| AppError::Spawn {
            cmd: spec.cmd.to_string(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("command not found (cwd {})", spec.cwd.display())
            } else {
                e.to_string()
            },
        })?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);

        let (insp_tx, insp_rx) = watch::channel(None);
        let (ready_tx, ready_rx) = watch::channel(false);
        let (exit_tx, exit_rx) = watch::channel(None);
        let (proc_tx, proc_rx) = watch::channel(None);
        let (ending_tx, mut ending_rx) = watch::channel(false);
        let ready_re = match ready {
            Ready::Log(re) => Some(re.clone()),
            _ => None,
        };
        if let Some(out) = child.stdout.take() {
            pump(
                out,
                log.clone(),
                insp_tx.clone(),
                ready_re.clone(),
                ready_tx.clone(),
                ending_tx.clone(),
            );
        }
        if let Some(err) = child.stderr.take() {
            pump(err, log.clone(), insp_tx, ready_re, ready_tx, ending_tx);
        }
        tokio::spawn(async move {
            // The app "exits" when the process does, or when node only waits for our debugger.
            let describe = |status: std::io::Result<ExitStatus>| match status {
                Ok(s) => describe_status(&s),
                Err(e) => format!("wait failed: {e}"),
            };
            let ending = async {
                while !*ending_rx.borrow() {
                    if ending_rx.changed().await.is_err() {
                        std::future::pending::<()>().await
                    }
                }
            };
            tokio::select! {
                status = child.wait() => {
                    let s = describe(status);
                    exit_tx.send_replace(Some(s.clone()));
                    proc_tx.send_replace(Some(s));
                }
                _ = ending => {
                    // Node has finished or crashed and prints the error once the debugger
                    // disconnects; report the end now, the real status when it comes.
                    exit_tx.send_replace(Some("its event loop ended while the debugger was attached".into()));
                    let s = describe(child.wait().await);
                    proc_tx.send_replace(Some(s));
                }
            }
        });
        Ok(App {
            pid,
            log,
            exit: exit_rx,
            process_exit: proc_rx,
            inspector: insp_rx,
            log_ready: ready_rx,
            stopped: false,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn log(&self) -> &LogTail {
        &self.log
    }

    /// `Some(how)` once the app has exited.
    pub fn exited(&self) -> Option<String> {
        self.exit.borrow().clone()
    }

    /// A receiver that changes when the app exits.
    pub fn exit_watch(&self) -> watch::Receiver<Option<String>> {
        self.exit.clone()
    }

    /// Resolves when the app exits, with how it exited.
    pub async fn wait_exit(&self) -> String {
        let mut rx = self.exit.clone();
        loop {
            if let Some(s) = rx.borrow().clone() {
                return s;
            }
            if rx.changed().await.is_err() {
                return "unknown status".into();
            }
        }
    }

    /// Waits up to `timeout` for the process itself to exit; how it exited.
    pub async fn wait_process_exit(&self, timeout: Duration) -> Option<String> {
        let mut rx = self.process_exit.clone();
        let wait = async {
            loop {
                if let Some(s) = rx.borrow().clone() {
                    return Some(s);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        let status = tokio::time::timeout(timeout, wait).await.ok().flatten();
        // Let the output pumps catch the last lines.
        tokio::time::sleep(Duration::from_millis(100)).await;
        status
    }

    /// The inspector WebSocket URL the app printed, waiting up to `timeout`.
    pub async fn inspector_url(&self, timeout: Duration) -> Option<String> {
        let mut rx = self.inspector.clone();
        let wait = async {
            loop {
                if let Some(u) = rx.borrow().clone() {
                    return Some(u);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }

    /// Waits until the app is ready, it exits, or the timeout passes.
    pub async fn wait_ready(&self, ready: &Ready, timeout: Duration) -> Result<Duration, AppError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let mut last_note = String::new();
        loop {
            if let Some(status) = self.exited() {
                return Err(AppError::ExitedEarly {
                    status,
                    waited_for: ready.describe(),
                });
            }
            let ok = match ready {
                Ready::Port(p) => port_open(*p).await,
                Ready::Log(_) => *self.log_ready.borrow(),
                Ready::Url(u) => match probe_url(u).await {
                    Ok(code) if (200..400).contains(&code) => true,
                    Ok(code) => {
                        last_note = format!("; last answer: HTTP {code}");
                        false
                    }
                    Err(_) => false,
                },
            };
            if ok {
                // Readiness seen: make sure it was not the app's last breath.
                if let Some(status) = self.exited() {
                    return Err(AppError::ExitedEarly {
                        status,
                        waited_for: ready.describe(),
                    });
                }
                return Ok(started.elapsed());
            }
            if Instant::now() >= deadline {
                return Err(AppError::NotReady {
                    timeout: crate::units::fmt_duration(timeout),
                    waited_for: ready.describe() + &last_note,
                });
            }
            let mut exit = self.exit.clone();
            let mut lr = self.log_ready.clone();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = exit.changed() => {}
                _ = lr.changed() => {}
            }
        }
    }

    /// SIGTERM to the process group, up to `grace` to exit, then SIGKILL. Returns how it ended.
    pub async fn stop(&mut self, grace: Duration) -> String {
        self.stopped = true;
        if let Some(s) = self.exited() {
            kill_group(self.pid, libc::SIGKILL);
            return s;
        }
        kill_group(self.pid, libc::SIGTERM);
        match tokio::time::timeout(grace, self.wait_exit()).await {
            Ok(s) => {
                // Children of a shell wrapper may linger in the group.
                kill_group(self.pid, libc::SIGKILL);
                s
            }
            Err(_) => {
                kill_group(self.pid, libc::SIGKILL);
                let _ = tokio::time::timeout(Duration::from_secs(2), self.wait_exit()).await;
                format!(
                    "did not stop within {} of SIGTERM; killed",
                    crate::units::fmt_duration(grace)
                )
            }
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if !self.stopped {
            // Never leave the app behind, whatever went wrong.
            kill_group(self.pid, libc::SIGKILL);
        }
    }
}

fn kill_group(pgid: i32, sig: i32) {
    if pgid > 1 {
        // SAFETY: kill(2) with a negative pid signals exactly our child's process group.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// GET `url` once; the status code.
pub async fn probe_url(url: &str) -> Result<u16, String> {
    use http_body_util::{BodyExt, Empty};
    let t = crate::loadgen::Target::from_spec(&crate::scenario::TargetSpec {
        url: url.to_string(),
        method: "GET".into(),
        headers: Default::default(),
        body: None,
        weight: 1,
    })?;
    let fut = async {
        let stream = tokio::net::TcpStream::connect(&t.addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let req = hyper::Request::get(t.path.clone())
            .header(hyper::header::HOST, t.addr.clone())
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let code = resp.status().as_u16();
        let _ = resp.into_body().collect().await;
        Ok(code)
    };
    tokio::time::timeout(Duration::from_secs(2), fut)
        .await
        .map_err(|_| "timed out".to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_detection() {
        assert!(!needs_shell("node server.js --port 3000"));
        assert!(!needs_shell("node 'my server.js'"));
        assert!(needs_shell("npm run build && node server.js"));
        assert!(needs_shell("PORT=3000 node server.js"));
        assert!(needs_shell("node server.js > out.log"));
    }

    #[tokio::test]
    async fn missing_command_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let env = Default::default();
        let err = App::start(
            AppSpec {
                cmd: "definitely-not-a-command-xyz --flag",
                cwd: dir.path(),
                env: &env,
                inspect: false,
                log_path: &dir.path().join("app.log"),
            },
            &Ready::Log(regex::Regex::new("x").unwrap()),
        )
        .await
        .err()
        .unwrap();
        assert!(err.to_string().contains("command not found"), "{err}");
    }

    #[tokio::test]
    async fn early_exit_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let env = Default::default();
        let app = App::start(
            AppSpec {
                cmd: "node -e \"console.log('booting'); console.error('boom: bad config'); process.exit(3)\"",
                cwd: dir.path(),
                env: &env,
                inspect: false,
                log_path: &dir.path().join("app.log"),
            },
            &Ready::Log(regex::Regex::new("never").unwrap()),
        )
        .await
        .unwrap();
        let err = app
            .wait_ready(
                &Ready::Log(regex::Regex::new("never").unwrap()),
                Duration::from_secs(20),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("exit code 3"), "{err}");
        // Output pumping races the exit; give it a moment to drain.
        for _ in 0..50 {
            if app.log().last_lines().len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let lines = app.log().last_lines();
        assert!(
            lines.iter().any(|l| l.contains("boom: bad config")),
            "{lines:?}"
        );
        let on_disk = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
        assert!(on_disk.contains("booting"));
    }

    #[tokio::test]
    async fn inspector_url_ready_log_and_graceful_stop() {
        let dir = tempfile::tempdir().unwrap();
        let env = Default::default();
        let ready = Ready::Log(regex::Regex::new("^up$").unwrap());
        let mut app = App::start(
            AppSpec {
                cmd: "node -e \"console.log('up'); setInterval(() => {}, 1000)\"",
                cwd: dir.path(),
                env: &env,
                inspect: true,
                log_path: &dir.path().join("app.log"),
            },
            &ready,
        )
        .await
        .unwrap();
        app.wait_ready(&ready, Duration::from_secs(20))
            .await
            .unwrap();
        let url = app.inspector_url(Duration::from_secs(10)).await.unwrap();
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        let how = app.stop(Duration::from_secs(5)).await;
        assert!(how.contains("signal 15"), "{how}");
    }
}
