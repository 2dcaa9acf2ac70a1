//! `leakhound find` on the project's leak corpus (tests/leaks): every program runs under node
//! at test time and writes its snapshots; for every leak the top finding must name the right
//! container, edge and source line with confidence >= 0.8, and no control may yield a finding
//! >= 0.5.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/leaks")
}

/// Runs a corpus program, returning the directory holding its snapshots.
fn snapshots_of(program: &str, tmp: &Path) -> PathBuf {
    let out = tmp.join(program);
    let status = Proc::new("node")
        .arg("--expose-gc")
        .arg(corpus_dir().join(format!("{program}.js")))
        .arg(&out)
        .status()
        .expect("node runs");
    assert!(status.success(), "{program} failed: {status}");
    out
}

fn find_json(dir: &Path) -> Value {
    let out = Command::cargo_bin("leakhound")
        .unwrap()
        .args(["find", "--json", "--top", "0", "--min-confidence", "0"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "find failed on {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// 1-based line of the `// LEAK:` marker in the program's source.
fn marker_line(program: &str) -> u64 {
    let text = std::fs::read_to_string(corpus_dir().join(format!("{program}.js"))).unwrap();
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("// LEAK:"))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "{program} must mark exactly one line with // LEAK:"
    );
    lines[0] as u64
}

fn summary(f: &Value) -> String {
    format!(
        "{:.2} {} [{}] edge={} path={} at {}",
        f["confidence"].as_f64().unwrap_or(-1.0),
        f["title"],
        f["pattern"],
        f["edge"],
        f["retainer_path_text"],
        f["location"]
    )
}

/// (program, container edge, pattern)
const LEAKS: &[(&str, &str, &str)] = &[
    ("leak-map-cache", "cache", "unbounded-cache"),
    ("leak-request-log", "requestLog", "growing-array"),
    ("leak-listener", "data", "listener-leak"),
    ("leak-interval", "3600000", "timer-leak"),
    ("leak-closure-chain", "theThing", "closure-leak"),
    ("leak-set", "seenTokens", "growing-set"),
    ("leak-dictionary", "sessions", "dictionary-object"),
    ("leak-pending-promises", "_events", "pending-promises"),
    ("leak-async-context", "retryQueue", "pending-promises"),
];

const CONTROLS: &[&str] = &["ok-bounded-lru", "ok-warm-cache", "ok-churn"];

#[test]
fn corpus_leaks_are_named_and_controls_stay_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    let programs: Vec<&str> = LEAKS
        .iter()
        .map(|l| l.0)
        .chain(CONTROLS.iter().copied())
        .collect();
    // Two programs at a time (the machine has two cores).
    let dirs: Vec<(String, PathBuf)> = programs
        .chunks(2)
        .flat_map(|pair| {
            std::thread::scope(|s| {
                let handles: Vec<_> = pair
                    .iter()
                    .map(|p| s.spawn(|| (p.to_string(), snapshots_of(p, tmp.path()))))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut failures = Vec::new();
    for (program, dir) in &dirs {
        let report = find_json(dir);
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(report["snapshots"].as_array().map(|s| s.len()), Some(3));
        if let Some(&(_, edge, pattern)) = LEAKS.iter().find(|l| l.0 == program) {
            let Some(top) = findings.first() else {
                failures.push(format!("{program}: no finding"));
                continue;
            };
            let line = marker_line(program);
            let conf = top["confidence"].as_f64().unwrap();
            let loc = &top["location"];
            let ok = top["edge"] == edge
                && top["pattern"] == pattern
                && conf >= 0.8
                && loc["line"].as_u64() == Some(line)
                && loc["script"]
                    .as_str()
                    .is_some_and(|s| s.ends_with(&format!("{program}.js")))
                && top["retainer_path"]
                    .as_array()
                    .and_then(|p| p.last())
                    .is_some_and(|s| s["edge"] == edge);
            // The schema the other commands rely on.
            for key in [
                "kind",
                "confidence",
                "title",
                "class",
                "counts",
                "retained_sizes",
                "retainer_path",
                "location",
                "suggestion",
            ] {
                assert!(top.get(key).is_some(), "{program}: finding lacks {key}");
            }
            let counts = top["counts"].as_array().unwrap();
            let sizes = top["retained_sizes"].as_array().unwrap();
            assert_eq!(counts.len(), 3, "{program}");
            assert_eq!(sizes.len(), 3, "{program}");
            if !ok {
                failures.push(format!(
                    "{program}: want edge {edge}, {pattern}, line {line}, >= 0.8; top is {}",
                    summary(top)
                ));
            }
        } else {
            for f in &findings {
                if f["confidence"].as_f64().unwrap() >= 0.5 {
                    failures.push(format!("control {program}: {}", summary(f)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
