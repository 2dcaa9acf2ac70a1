//! Shared by integration tests: generates the scenario snapshots of
//! `tests/scenarios/` with real `node` processes (once per test binary) and runs
//! the DevTools oracle `tests/reference/devtools.mjs`.
//!
//! Use it from a test file with `mod common_scenarios;`. Cargo also builds this
//! file as its own (empty) test target; that is harmless.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Root of the repository (two levels above this crate's manifest).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root exists")
}

/// Panics with a clear instruction when the oracle's npm packages are missing.
pub fn require_reference() {
    let toolkit = repo_root().join("tests/reference/node_modules/heap-snapshot-toolkit");
    if !toolkit.join("package.json").is_file() {
        panic!(
            "the DevTools reference is not installed ({} is missing): run `scripts/setup.sh` \
             (it runs `npm ci --prefix tests/reference`) and re-run the tests",
            toolkit.display()
        );
    }
    require_node();
}

/// Panics with a clear message when `node` cannot be run.
pub fn require_node() {
    match Command::new("node").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`node --version` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(err) => panic!("cannot run `node` (Node.js 20 must be on PATH): {err}"),
    }
}

/// Paths of every snapshot written by the scenarios.
pub struct Scenarios {
    pub dir: PathBuf,
    /// A fresh heap (tests/scenarios/fresh.js).
    pub fresh: PathBuf,
    /// Maps, Sets, WeakMaps, closures, two `Item` classes, shapes, buffers, strings.
    pub rich: PathBuf,
    /// The same heap written with `exposeInternals: true`.
    pub rich_internals: PathBuf,
    /// Three snapshots of one growing process.
    pub s1: PathBuf,
    pub s2: PathBuf,
    pub s3: PathBuf,
}

impl Scenarios {
    /// The single-snapshot scenarios, by name.
    pub fn singles(&self) -> Vec<(&'static str, &Path)> {
        vec![
            ("fresh", self.fresh.as_path()),
            ("rich", self.rich.as_path()),
            ("rich-internals", self.rich_internals.as_path()),
            ("s3", self.s3.as_path()),
        ]
    }
}

static SCENARIOS: OnceLock<Scenarios> = OnceLock::new();

/// Runs every scenario program once per test binary (in parallel) and returns
/// the snapshot paths. The directory lives under Cargo's per-target temp dir;
/// directories left by earlier runs are removed.
pub fn scenarios() -> &'static Scenarios {
    SCENARIOS.get_or_init(|| {
        require_node();
        let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&parent).expect("create CARGO_TARGET_TMPDIR");
        remove_stale_dirs(&parent);
        let dir = tempfile::Builder::new()
            .prefix("scenarios-")
            .tempdir_in(&parent)
            .expect("create scenario temp dir")
            .keep();
        let scripts = ["fresh.js", "rich.js", "rich-internals.js", "growth.js"];
        std::thread::scope(|scope| {
            let handles: Vec<_> = scripts
                .iter()
                .map(|script| {
                    let dir = dir.clone();
                    scope.spawn(move || run_scenario(script, &dir))
                })
                .collect();
            for handle in handles {
                handle.join().expect("scenario thread panicked");
            }
        });
        let s = Scenarios {
            fresh: dir.join("fresh.heapsnapshot"),
            rich: dir.join("rich.heapsnapshot"),
            rich_internals: dir.join("rich-internals.heapsnapshot"),
            s1: dir.join("s1.heapsnapshot"),
            s2: dir.join("s2.heapsnapshot"),
            s3: dir.join("s3.heapsnapshot"),
            dir,
        };
        for p in [&s.fresh, &s.rich, &s.rich_internals, &s.s1, &s.s2, &s.s3] {
            assert!(p.is_file(), "scenario did not write {}", p.display());
        }
        s
    })
}

/// Runs `node --expose-gc tests/scenarios/<script> <dir>`.
pub fn run_scenario(script: &str, dir: &Path) {
    let path = repo_root().join("tests/scenarios").join(script);
    let out = Command::new("node")
        .arg("--expose-gc")
        .arg(&path)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "scenario {} failed ({}):\n{}",
        script,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn remove_stale_dirs(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    let cutoff = SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t < cutoff)
            .unwrap_or(false);
        if name.to_string_lossy().starts_with("scenarios-") && old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Runs `node devtools.mjs <args>` (the DevTools worker) and returns stdout.
pub fn devtools(args: &[&Path], cmd: &str) -> String {
    require_reference();
    let script = repo_root().join("tests/reference/devtools.mjs");
    let out = Command::new("node")
        .arg("--max-old-space-size=8192")
        .arg(&script)
        .arg(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "DevTools reference `devtools.mjs {cmd}` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("devtools.mjs prints UTF-8")
}
