//! The parser against real V8 snapshots written by `node` during the test run. Node itself
//! re-reads each file with `JSON.parse` and writes what it sees (counts, every node/edge
//! value, every string made well-formed); the Rust parse must agree exactly.

use leakhound_snapshot::{
    parse_file, parse_file_split_at, parse_reader, EdgeType, NodeType, RawSnapshot,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `script` in node with the snapshot path as argv[1]; then has node JSON.parse the
/// file and write `<path>.expected.json`. Returns (snapshot path, expected).
fn write_snapshot(dir: &Path, name: &str, script: &str) -> (PathBuf, Value) {
    let path = dir.join(format!("{name}.heapsnapshot"));
    let out = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(&path)
        .output()
        .expect("node must be installed to run the parser tests");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = dir.join(format!("{name}.expected.json"));
    let reader = r#"
        const fs = require('fs');
        const s = JSON.parse(fs.readFileSync(process.argv[1], 'utf8'));
        // Lone surrogates become U+FFFD, as in the Rust parser.
        const strings = s.strings.map((x) => x.toWellFormed());
        const lone = s.strings.filter((x) => !x.isWellFormed()).length;
        fs.writeFileSync(process.argv[2], JSON.stringify({
          meta: s.snapshot.meta, node_count: s.snapshot.node_count, edge_count: s.snapshot.edge_count,
          nodes: s.nodes, edges: s.edges, locations: s.locations, strings, lone,
          trace_function_infos: s.trace_function_infos, samples: s.samples,
        }));
    "#;
    let out = Command::new("node")
        .arg("-e")
        .arg(reader)
        .arg(&path)
        .arg(&expected)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&expected).unwrap()).unwrap();
    (path, v)
}

fn u64s(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Compares every value of the parse with node's view of the same file.
fn check_against_node(raw: &RawSnapshot, exp: &Value) {
    let meta = &exp["meta"];
    let fields = names(&meta["node_fields"]);
    let nf = fields.len();
    let node_count = exp["node_count"].as_u64().unwrap() as usize;
    let edge_count = exp["edge_count"].as_u64().unwrap() as usize;
    assert_eq!(raw.node_count(), node_count);
    assert_eq!(raw.edge_count(), edge_count);
    assert_eq!(raw.node_field_count as usize, nf);
    let type_names = names(&meta["node_types"][fields.iter().position(|f| f == "type").unwrap()]);
    assert_eq!(raw.node_type_names, type_names);
    assert_eq!(
        raw.has_detachedness,
        fields.iter().any(|f| f == "detachedness")
    );

    let nodes = u64s(&exp["nodes"]);
    assert_eq!(nodes.len(), node_count * nf);
    let col = |name: &str| fields.iter().position(|f| f == name);
    let mut first = 0u64;
    for n in 0..node_count {
        let rec = &nodes[n * nf..(n + 1) * nf];
        let ty = rec[col("type").unwrap()] as usize;
        assert_eq!(
            raw.node_types[n],
            NodeType::from_name(&type_names[ty]),
            "node {n}"
        );
        assert_eq!(u64::from(raw.node_names[n]), rec[col("name").unwrap()]);
        assert_eq!(u64::from(raw.node_ids[n]), rec[col("id").unwrap()]);
        assert_eq!(raw.node_self_sizes[n], rec[col("self_size").unwrap()]);
        if let Some(c) = col("trace_node_id") {
            assert_eq!(u64::from(raw.trace_node_id(n as u32)), rec[c]);
        }
        if let Some(c) = col("detachedness") {
            assert_eq!(u64::from(raw.node_detachedness[n]), rec[c]);
        }
        assert_eq!(u64::from(raw.first_edge[n]), first);
        first += rec[col("edge_count").unwrap()];
    }
    assert_eq!(u64::from(raw.first_edge[node_count]), first);

    let edge_types = names(&meta["edge_types"][0]);
    let edges = u64s(&exp["edges"]);
    for e in 0..edge_count {
        let rec = &edges[e * 3..e * 3 + 3];
        assert_eq!(
            raw.edge_types[e],
            EdgeType::from_name(&edge_types[rec[0] as usize])
        );
        assert_eq!(u64::from(raw.edge_names[e]), rec[1]);
        assert_eq!(u64::from(raw.edge_to[e]) * nf as u64, rec[2]);
    }

    let strings = names(&exp["strings"]);
    assert_eq!(raw.strings.len(), strings.len());
    for (i, s) in strings.iter().enumerate() {
        assert_eq!(raw.strings.get(i as u32), s, "string {i}");
    }

    let locs = u64s(&exp["locations"]);
    assert_eq!(raw.locations.len() * 4, locs.len());
    for (l, g) in raw.locations.iter().zip(locs.chunks(4)) {
        assert_eq!(u64::from(l.node) * nf as u64, g[0]);
        assert_eq!(
            [l.script_id, l.line, l.column].map(u64::from),
            [g[1], g[2], g[3]]
        );
    }
    assert_eq!(
        raw.trace_function_infos.len() * 6,
        u64s(&exp["trace_function_infos"]).len()
    );
    assert_eq!(raw.samples.len() * 2, u64s(&exp["samples"]).len());
}

/// Invariants every parse must establish (documented on `RawSnapshot`).
fn check_invariants(raw: &RawSnapshot) {
    let n = raw.node_count();
    for v in [
        raw.node_types.len(),
        raw.node_names.len(),
        raw.node_self_sizes.len(),
        raw.node_detachedness.len(),
    ] {
        assert_eq!(v, n);
    }
    // Trace ids are kept only when some node has one.
    assert!(raw.node_trace_ids.is_empty() || raw.node_trace_ids.len() == n);
    assert_eq!(
        raw.node_trace_ids.is_empty(),
        (0..n as u32).all(|i| raw.trace_node_id(i) == 0)
    );
    assert_eq!(raw.first_edge.len(), n + 1);
    assert!(raw.first_edge.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(raw.first_edge[n] as usize, raw.edge_count());
    assert_eq!(raw.edge_types.len(), raw.edge_count());
    assert_eq!(raw.edge_names.len(), raw.edge_count());
    assert!(raw.edge_to.iter().all(|&t| (t as usize) < n));
    let strings = raw.strings.len() as u32;
    assert!(raw.node_names.iter().all(|&s| s < strings));
    for e in 0..raw.edge_count() {
        if !raw.edge_types[e].has_index_name() {
            assert!(raw.edge_names[e] < strings);
        }
    }
    assert!(raw.locations.iter().all(|l| (l.node as usize) < n));
    assert!((raw.root as usize) < n);
    assert_eq!(raw.strings.get(0), "<dummy>");
    // Ordinal 0 is the synthetic root with id 1 and an element edge to (GC roots).
    assert_eq!(raw.root, 0);
    assert_eq!(raw.node_types[0], NodeType::Synthetic);
    assert_eq!(raw.node_ids[0], 1);
    assert!(raw
        .edges_of(0)
        .any(|e| raw.edge_types[e] == EdgeType::Element
            && raw.node_name(raw.edge_to[e]) == "(GC roots)"));
}

fn root_has_global_shortcut(raw: &RawSnapshot) -> bool {
    raw.edges_of(raw.root).any(|e| {
        raw.edge_types[e] == EdgeType::Shortcut
            && raw.node_name(raw.edge_to[e]).starts_with("global")
    })
}

#[test]
fn fresh_node_heap() {
    let dir = tempfile::tempdir().unwrap();
    let (path, exp) = write_snapshot(
        dir.path(),
        "fresh",
        "require('v8').writeHeapSnapshot(process.argv[1])",
    );
    let mut last = 0;
    let raw = parse_file(&path, &mut |b| last = b).unwrap();
    assert_eq!(last, std::fs::metadata(&path).unwrap().len());
    check_invariants(&raw);
    check_against_node(&raw, &exp);
    assert!(raw.node_count() > 10_000);
    assert!(root_has_global_shortcut(&raw));
    assert!(raw.has_detachedness);
    assert_eq!(raw.node_field_count, 7);
    // The same bytes through parse_reader (the stdin route) give the same result.
    let again = parse_reader(std::fs::File::open(&path).unwrap(), &mut |_| {}).unwrap();
    assert_eq!(format!("{again:?}"), format!("{raw:?}"));
    // Parsed on two threads, with the edges cut anywhere (files of 64 MB or more are parsed
    // this way), the result is the same.
    let size = std::fs::metadata(&path).unwrap().len();
    let whole = format!("{raw:?}");
    for tenth in 0..10 {
        let (split, cut) = parse_file_split_at(&path, size * tenth / 10).unwrap();
        if tenth < 5 {
            assert!(cut.is_some(), "no cut at {tenth}/10 of the file");
        }
        assert!(format!("{split:?}") == whole, "cut at {cut:?}");
    }
}

#[test]
fn expose_internals_heap() {
    let dir = tempfile::tempdir().unwrap();
    let (path, exp) = write_snapshot(
        dir.path(),
        "internals",
        "globalThis.keep = new Map([[1, {a: 1}]]); require('v8').writeHeapSnapshot(process.argv[1], {exposeInternals: true})",
    );
    let raw = parse_file(&path, &mut |_| {}).unwrap();
    check_invariants(&raw);
    check_against_node(&raw, &exp);
    // With exposeInternals the root -> global shortcut disappears.
    assert!(!root_has_global_shortcut(&raw));
}

#[test]
fn astral_characters_and_lone_surrogates() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
        class Holder {}
        const h = new Holder();
        h.text = 'astral \u{1F600} and \u{1D835} end'; // a flat literal, not a cons string
        h['lone\uD800name'] = 1;
        h.big = Buffer.alloc(5000, 'x').toString('latin1'); // flat, 5000 chars
        globalThis.holder = h;
        require('v8').writeHeapSnapshot(process.argv[1]);
    "#;
    let (path, exp) = write_snapshot(dir.path(), "astral", script);
    let raw = parse_file(&path, &mut |_| {}).unwrap();
    check_invariants(&raw);
    check_against_node(&raw, &exp);
    let all: Vec<&str> = (0..raw.strings.len() as u32)
        .map(|i| raw.strings.get(i))
        .collect();
    // V8 keeps the low 16 bits of each code point: U+1F600 -> U+F600, U+1D835 -> a lone
    // high surrogate (D835), which must come out as U+FFFD.
    let astral = all
        .iter()
        .find(|s| s.starts_with("astral "))
        .expect("astral string");
    assert_eq!(*astral, "astral \u{F600} and \u{FFFD} end");
    assert!(
        exp["lone"].as_u64().unwrap() >= 1,
        "node saw no lone surrogate"
    );
    // The property name with a lone surrogate is present in some form and well-formed.
    assert!(
        all.iter()
            .any(|s| s.starts_with("lone") && s.ends_with("name")),
        "no lone...name string"
    );
    // String node names are capped at 1024 characters.
    assert!(all
        .iter()
        .any(|s| s.starts_with("xxxx") && s.chars().count() == 1024));
}
