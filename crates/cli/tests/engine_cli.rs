//! The engine commands on real snapshots that node writes at test time, and on bad input.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn leakhound() -> Command {
    Command::cargo_bin("leakhound").unwrap()
}

/// One snapshot of a small heap with a known global, written once per test binary.
fn snapshot() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let path = dir.join("app.heapsnapshot");
        let script = format!(
            "class Session {{ constructor(i) {{ this.id = i; this.data = 'x'.repeat(64) + i; }} }}\n\
             global.sessionStore = new Map();\n\
             for (let i = 0; i < 2000; i++) sessionStore.set(i, new Session(i));\n\
             require('v8').writeHeapSnapshot({:?});",
            path.to_str().unwrap()
        );
        let status = std::process::Command::new("node").args(["-e", &script]).status().unwrap();
        assert!(status.success(), "node failed to write a snapshot");
        path
    })
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = leakhound().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn summary_lists_the_heap_and_its_classes() {
    let path = snapshot().to_str().unwrap();
    let v = json(&["summary", path, "--json"]);
    assert!(v["node_count"].as_u64().unwrap() > 10_000);
    assert_eq!(
        v["total_size"], v["statistics"]["total"],
        "the total is the root's retained size"
    );
    let classes = v["classes"].as_array().unwrap();
    let session = classes
        .iter()
        .find(|c| c["name"] == "Session")
        .expect("Session class");
    assert_eq!(session["count"], 2000);
    assert!(session["key"].as_str().unwrap().ends_with(",Session"));
    // Human output: a table with the class in it.
    leakhound()
        .args(["summary", path, "--top", "50"])
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .stdout(predicate::str::contains("Session").and(predicate::str::contains("\x1b[").not()));
}

#[test]
fn summary_reads_standard_input() {
    let from_file = json(&["summary", snapshot().to_str().unwrap(), "--json"]);
    let out = leakhound()
        .args(["summary", "-", "--json"])
        .pipe_stdin(snapshot())
        .unwrap()
        .output()
        .unwrap();
    assert!(out.status.success());
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_file["classes"], from_stdin["classes"]);
}

#[test]
fn export_has_one_row_per_node_and_retainers_reach_the_global() {
    let path = snapshot().to_str().unwrap();
    let summary = json(&["summary", path, "--json"]);
    let out = leakhound()
        .args(["export", path, "--format", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,type,name,class,self_size,retained_size,distance,dominator_id,edge_count,detachedness"
    );
    // Records, not lines: string names may hold quoted newlines.
    let mut records = 0u64;
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => records += 1,
            _ => {}
        }
    }
    assert_eq!(records - 1, summary["node_count"].as_u64().unwrap());

    // The Map held by `sessionStore`: its retaining path starts at the global object.
    let jsonl = leakhound()
        .args(["export", path, "--format", "jsonl"])
        .output()
        .unwrap();
    let map_id = String::from_utf8(jsonl.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["class"] == "Map")
        .max_by_key(|r| r["retained_size"].as_u64().unwrap())
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let r = json(&["retainers", path, &format!("@{map_id}"), "--json"]);
    let first = &r["paths"][0];
    assert_eq!(first[0]["holder_class"], "global");
    assert_eq!(
        first.as_array().unwrap().last().unwrap()["edge"],
        ".sessionStore"
    );
}

#[test]
fn export_to_a_file_is_atomic_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nodes.jsonl");
    leakhound()
        .args([
            "export",
            snapshot().to_str().unwrap(),
            "--format",
            "jsonl",
            "-o",
        ])
        .arg(&out)
        .assert()
        .success();
    let rows = std::fs::read_to_string(&out).unwrap().lines().count();
    assert!(rows > 10_000);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

fn assert_input_error(file: &Path, args: &[&str], expect: &str) {
    let out = leakhound().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(file.file_name().unwrap().to_str().unwrap()),
        "names the file: {err}"
    );
    assert!(
        err.to_lowercase().contains(expect),
        "expected '{expect}' in: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_ends_with_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let empty = write("empty.heapsnapshot", b"");
    assert_input_error(&empty, &["summary", empty.to_str().unwrap()], "");
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let noise = write("noise.heapsnapshot", &random);
    assert_input_error(&noise, &["summary", noise.to_str().unwrap()], "");
    let other = write("other.json", br#"{"hello": [1, 2, 3]}"#);
    assert_input_error(&other, &["summary", other.to_str().unwrap()], "");
    let full = std::fs::read(snapshot()).unwrap();
    let cut = write("cut.heapsnapshot", &full[..full.len() / 2]);
    assert_input_error(&cut, &["summary", cut.to_str().unwrap()], "");
    let missing = dir.path().join("missing.heapsnapshot");
    assert_input_error(
        &missing,
        &["summary", missing.to_str().unwrap()],
        "no such file",
    );
    let path = snapshot();
    assert_input_error(
        path,
        &["retainers", path.to_str().unwrap(), "@4294967295"],
        "no node with id",
    );
}

#[test]
fn usage_errors_exit_2() {
    leakhound().args(["summary"]).assert().code(2);
    leakhound()
        .args(["retainers", snapshot().to_str().unwrap(), "abc"])
        .assert()
        .code(2);
}
