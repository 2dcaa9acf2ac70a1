//! DevTools parity: `leakhound summary/diff/export` must print exactly the
//! numbers Chrome DevTools' heap snapshot worker computes on the same files.
//!
//! The snapshots are written at test time by real `node` processes
//! (`tests/scenarios/`); the reference numbers come from DevTools' own worker
//! code run in node (`tests/reference/devtools.mjs`, npm `heap-snapshot-toolkit`).
//! Needs `scripts/setup.sh` (npm ci --prefix tests/reference) to have run.

mod common_scenarios;

use common_scenarios::{devtools, scenarios};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// How many mismatching rows/classes a failure message shows.
const SHOW: usize = 20;

fn leakhound(args: &[&str]) -> String {
    let out = assert_cmd::Command::cargo_bin("leakhound")
        .expect("leakhound binary is built")
        .args(args)
        .output()
        .expect("run leakhound");
    assert!(
        out.status.success(),
        "`leakhound {}` failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("leakhound prints UTF-8")
}

fn parse_json(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| {
        let head: String = text.chars().take(400).collect();
        panic!("{what} is not valid JSON ({e}); output starts with:\n{head}")
    })
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// Numeric equality that ignores the JSON spelling (`5`, `5.0`).
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (a, b) => a == b,
    }
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(|| "<missing>".to_string(), Value::to_string)
}

/// Collects mismatches and panics once with all of them.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    total: usize,
}

impl Report {
    fn push(&mut self, line: String) {
        self.total += 1;
        if self.lines.len() < SHOW {
            self.lines.push(line);
        }
    }

    fn finish(self, title: &str) {
        if self.total == 0 {
            return;
        }
        let mut msg = format!(
            "{title}: {} mismatch(es) with DevTools (left = leakhound, right = DevTools); first {}:\n",
            self.total,
            self.lines.len()
        );
        for line in &self.lines {
            let _ = writeln!(msg, "  {line}");
        }
        panic!("{msg}");
    }
}

/// Compares the listed fields of two JSON objects, recording differences.
fn compare_fields(report: &mut Report, label: &str, ours: &Value, theirs: &Value, fields: &[&str]) {
    let diffs: Vec<String> = fields
        .iter()
        .filter(|f| !same(ours.get(**f), theirs.get(**f)))
        .map(|f| format!("{f}: {} vs {}", show(ours.get(*f)), show(theirs.get(*f))))
        .collect();
    if !diffs.is_empty() {
        report.push(format!("{label}: {}", diffs.join(", ")));
    }
}

/// `classes` array -> map by `key`, checking keys are unique.
fn classes_by_key<'a>(doc: &'a Value, who: &str) -> BTreeMap<String, &'a Value> {
    let classes = doc
        .get("classes")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{who}: JSON has no `classes` array"));
    let mut map = BTreeMap::new();
    for c in classes {
        let key = c
            .get("key")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{who}: class without a string `key`: {c}"));
        if map.insert(key.to_string(), c).is_some() {
            panic!("{who}: class key {key:?} appears twice");
        }
    }
    map
}

/// Same set of class keys and equal fields in every class.
fn compare_classes(report: &mut Report, ours: &Value, theirs: &Value, fields: &[&str]) {
    let ours = classes_by_key(ours, "leakhound");
    let theirs = classes_by_key(theirs, "DevTools");
    let keys: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for key in keys {
        match (ours.get(key), theirs.get(key)) {
            (Some(o), Some(t)) => compare_fields(report, &format!("class {key:?}"), o, t, fields),
            (Some(o), None) => report.push(format!("class {key:?} only in leakhound: {o}")),
            (None, Some(t)) => report.push(format!("class {key:?} only in DevTools: {t}")),
            (None, None) => unreachable!(),
        }
    }
}

const STAT_FIELDS: &[&str] = &[
    "total",
    "native.total",
    "native.typed_arrays",
    "v8heap.total",
    "v8heap.code",
    "v8heap.js_arrays",
    "v8heap.strings",
    "v8heap.system",
];

fn summary_parity(name: &str, file: &Path) {
    let ours = parse_json(
        &leakhound(&["summary", p(file), "--json"]),
        "leakhound summary --json",
    );
    let theirs = parse_json(&devtools(&[file], "summary"), "devtools.mjs summary");
    assert!(
        theirs["classes"].as_array().is_some_and(|c| c.len() > 10),
        "reference summary of {name} looks empty: {theirs}"
    );
    let mut report = Report::default();
    compare_fields(
        &mut report,
        "totals",
        &ours,
        &theirs,
        &["node_count", "edge_count", "total_size"],
    );
    for field in STAT_FIELDS {
        let ptr = format!("/statistics/{}", field.replace('.', "/"));
        if !same(ours.pointer(&ptr), theirs.pointer(&ptr)) {
            report.push(format!(
                "statistics.{field}: {} vs {}",
                show(ours.pointer(&ptr)),
                show(theirs.pointer(&ptr))
            ));
        }
    }
    compare_classes(
        &mut report,
        &ours,
        &theirs,
        &["name", "count", "self_size", "retained_size", "distance"],
    );
    report.finish(&format!("summary of {name} ({})", file.display()));
}

fn diff_parity(label: &str, base: &Path, target: &Path) {
    let ours = parse_json(
        &leakhound(&["diff", p(base), p(target), "--json"]),
        "leakhound diff --json",
    );
    let theirs = parse_json(&devtools(&[base, target], "diff"), "devtools.mjs diff");
    assert!(
        theirs["classes"].as_array().is_some_and(|c| !c.is_empty()),
        "reference diff {label} has no changed class: the growth scenario is broken"
    );
    let mut report = Report::default();
    compare_classes(
        &mut report,
        &ours,
        &theirs,
        &[
            "name",
            "added_count",
            "removed_count",
            "count_delta",
            "added_size",
            "removed_size",
            "size_delta",
        ],
    );
    report.finish(&format!("diff {label}"));
}

/// Fields of `export --format jsonl` that must equal DevTools for every node.
/// (`name` and `detachedness` are not compared: DevTools renames detached
/// native nodes and propagates DOM state, which the export may show raw.)
const EXPORT_FIELDS: &[&str] = &[
    "id",
    "type",
    "class",
    "self_size",
    "retained_size",
    "distance",
    "dominator_id",
    "edge_count",
];

fn export_parity(name: &str, file: &Path) {
    let ours_text = leakhound(&["export", p(file), "--format", "jsonl"]);
    let theirs_text = devtools(&[file], "export");
    let ours: Vec<&str> = ours_text.lines().filter(|l| !l.trim().is_empty()).collect();
    let theirs: Vec<&str> = theirs_text.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        theirs.len() > 1000,
        "reference export of {name} looks empty"
    );
    let mut report = Report::default();
    if ours.len() != theirs.len() {
        report.push(format!(
            "row count: {} vs {} (rows are compared in node order up to the shorter one)",
            ours.len(),
            theirs.len()
        ));
    }
    for (ordinal, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        let o = parse_json(o, "a leakhound export line");
        let t = parse_json(t, "a devtools.mjs export line");
        let label = format!(
            "node #{ordinal} @{} {} {:?}",
            show(t.get("id")),
            t["type"].as_str().unwrap_or("?"),
            t["name"]
                .as_str()
                .unwrap_or("?")
                .chars()
                .take(40)
                .collect::<String>()
        );
        compare_fields(&mut report, &label, &o, &t, EXPORT_FIELDS);
    }
    report.finish(&format!("export of {name} ({})", file.display()));
}

#[test]
fn summary_fresh() {
    summary_parity("fresh", &scenarios().fresh);
}

#[test]
fn summary_rich() {
    summary_parity("rich", &scenarios().rich);
}

#[test]
fn summary_rich_internals() {
    summary_parity("rich-internals", &scenarios().rich_internals);
}

#[test]
fn summary_growth_snapshots() {
    let s = scenarios();
    for (name, file) in [("s1", &s.s1), ("s2", &s.s2), ("s3", &s.s3)] {
        summary_parity(name, file);
    }
}

#[test]
fn diff_s1_s2() {
    let s = scenarios();
    diff_parity("s1 -> s2", &s.s1, &s.s2);
}

#[test]
fn diff_s2_s3() {
    let s = scenarios();
    diff_parity("s2 -> s3", &s.s2, &s.s3);
}

#[test]
fn diff_s1_s3() {
    let s = scenarios();
    diff_parity("s1 -> s3", &s.s1, &s.s3);
}

#[test]
fn export_fresh() {
    export_parity("fresh", &scenarios().fresh);
}

#[test]
fn export_rich() {
    export_parity("rich", &scenarios().rich);
}

#[test]
fn export_rich_internals() {
    export_parity("rich-internals", &scenarios().rich_internals);
}

#[test]
fn export_growth_s3() {
    export_parity("s3", &scenarios().s3);
}

/// The oracle itself must see what the scenarios planted; if this fails the
/// parity tests above would compare meaningless heaps.
#[test]
fn reference_sees_planted_objects() {
    let s = scenarios();
    let rich = parse_json(&devtools(&[&s.rich], "summary"), "devtools.mjs summary");
    let classes = classes_by_key(&rich, "DevTools");
    let items: Vec<&&Value> = classes.values().filter(|c| c["name"] == "Item").collect();
    assert_eq!(
        items.len(),
        2,
        "two `Item` classes (one per file) expected, got {items:?}"
    );
    for (key, count) in [(",{x, y}", 1000), (",{a, b, c}", 500)] {
        let c = classes
            .get(key)
            .unwrap_or_else(|| panic!("class {key} missing from the rich summary"));
        assert!(c["count"].as_u64().unwrap_or(0) >= count, "{key}: {c}");
    }
    // The Comparison view applies the *target's* interfaces to the base: the
    // 300 {p, q} objects of s1 are gone in s2, where {p, q} is no interface,
    // so they must show up as deleted `Object`s, not as `{p, q}`.
    let diff = parse_json(
        &devtools(&[&s.s1, &s.s2], "diff"),
        "devtools.mjs diff s1 s2",
    );
    let diff = classes_by_key(&diff, "DevTools");
    assert!(!diff.contains_key(",{p, q}"), "{:?}", diff.get(",{p, q}"));
    assert!(diff[",Object"]["removed_count"].as_u64().unwrap_or(0) >= 300);
    assert!(diff[",{g, h}"]["added_count"].as_u64().unwrap_or(0) >= 400);
    assert_eq!(diff[",{g, h}"]["removed_count"], 2, "{}", diff[",{g, h}"]);
}
