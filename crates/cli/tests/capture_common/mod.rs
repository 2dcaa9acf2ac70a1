//! Shared helpers of the capture tests: real node processes from tests/capture/*.js.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn script(name: &str) -> PathBuf {
    repo_root().join("tests/capture").join(name)
}

/// A port that was free a moment ago (bind to 0, read it, release it).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

pub fn leakhound() -> Command {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
}

/// A node process started from a test program; killed on drop.
pub struct NodeApp {
    pub child: Child,
    pub pid: u32,
    pub http_port: u16,
    pub ready: serde_json::Value,
    stderr: Arc<Mutex<String>>,
}

impl NodeApp {
    /// `node <node_args> tests/capture/<script> <args>`; waits for its JSON ready line.
    pub fn spawn(node_args: &[&str], script_name: &str, args: &[&str]) -> NodeApp {
        Self::spawn_script(node_args, &script(script_name), args, |_| {})
    }

    /// [`NodeApp::spawn`] of any script, with the command adjusted first (e.g. another uid).
    pub fn spawn_script(
        node_args: &[&str],
        script: &std::path::Path,
        args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> NodeApp {
        let mut cmd = Command::new("node");
        configure(&mut cmd);
        let mut child = cmd
            .args(node_args)
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node is installed");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        out.read_line(&mut line).expect("ready line");
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        let ready: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            panic!(
                "bad ready line {line:?} ({e}); stderr: {}",
                stderr.lock().unwrap()
            )
        });
        let pid = ready["pid"].as_u64().expect("pid") as u32;
        assert_eq!(pid, child.id());
        let http_port = ready["httpPort"].as_u64().unwrap_or(0) as u16;
        NodeApp {
            child,
            pid,
            http_port,
            ready,
            stderr,
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The inspector port from `Debugger listening on ws://127.0.0.1:PORT/...` on stderr.
    pub fn inspector_port_from_stderr(&self) -> u16 {
        let start = Instant::now();
        loop {
            let text = self.stderr();
            if let Some(rest) = text.split("Debugger listening on ws://").nth(1) {
                let authority = rest.split('/').next().unwrap_or("");
                if let Some((_, port)) = authority.rsplit_once(':') {
                    return port.parse().expect("port");
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no inspector URL on stderr: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `GET path` on the app's HTTP port.
    pub fn http(&self, path: &str) -> Option<String> {
        http_get(self.http_port, path)
    }

    /// Alive and answering HTTP.
    pub fn assert_serving(&mut self) {
        assert!(self.alive(), "node exited; stderr: {}", self.stderr());
        let body = self.http("/").expect("HTTP answer");
        assert!(
            body.starts_with(&format!("ok {}", self.pid)),
            "unexpected body {body:?}"
        );
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeApp {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 GET on 127.0.0.1; the body on a 200, None otherwise. Reads by
/// Content-Length: Node's inspector keeps the connection open after answering.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    loop {
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                let l = l.to_ascii_lowercase();
                l.strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            });
            if len.is_some_and(|len| body.len() >= len) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    if head.split_whitespace().nth(1) != Some("200") {
        return None;
    }
    Some(body.to_string())
}

/// True when something accepts connections on 127.0.0.1:port.
pub fn port_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

/// The inspector's `/json/list` on 127.0.0.1:port, if it answers.
pub fn json_list(port: u16) -> Option<serde_json::Value> {
    serde_json::from_str(&http_get(port, "/json/list")?).ok()
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("file").permissions().mode() & 0o777
}

/// Files in `dir` (to check no temporary file is left behind).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs leakhound; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = leakhound().args(args).output().expect("leakhound runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses `path` with the engine and returns its node count.
pub fn engine_node_count(path: &Path) -> usize {
    let raw = leakhound_snapshot::parse_file(path, &mut |_| {}).expect("the engine parses it");
    raw.node_count()
}

/// A tmpfs of `size` mounted at a fresh directory, unmounted on drop; None when this
/// environment cannot mount (not root, no CAP_SYS_ADMIN).
pub struct Tmpfs {
    pub dir: tempfile::TempDir,
}

impl Tmpfs {
    pub fn mount(options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some(Tmpfs { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Chromium from $CHROMIUM or PATH (Debian's `chromium` package).
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A headless Chromium command with a throwaway profile.
pub fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Chromium for a browser test, or None after printing why the test is skipped. Under CI
/// (`CI=true`) a missing Chromium fails the test instead: CI must run it.
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("chromium is not installed (apt-get install -y chromium); CI must run {test}");
        }
        eprintln!("SKIPPED {test}: no chromium on PATH (apt-get install -y chromium)");
    }
    found
}
