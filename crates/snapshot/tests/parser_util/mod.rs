//! Test-side `.heapsnapshot` writer shared by the parser tests: builds snapshot JSON from
//! plain values, including strings given as UTF-16 units (so lone surrogates can be written).

#![allow(dead_code)]

use std::fmt::Write;

pub const NODE_TYPES: [&str; 16] = [
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
    "symbol",
    "bigint",
    "object shape",
    "wasm object",
];
pub const EDGE_TYPES: [&str; 7] = [
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];
pub const FIELDS7: [&str; 7] = [
    "type",
    "name",
    "id",
    "self_size",
    "edge_count",
    "trace_node_id",
    "detachedness",
];

#[derive(Debug, Clone)]
pub struct TraceTreeNode {
    pub id: u32,
    pub function_info_index: u32,
    pub count: u32,
    pub size: u64,
    pub children: Vec<TraceTreeNode>,
}

/// One node record by field name (fields absent from the layout are not written).
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub ty: u64,
    pub name: u64,
    pub id: u64,
    pub self_size: u64,
    pub edge_count: u64,
    pub trace_node_id: u64,
    pub detachedness: u64,
}

#[derive(Debug, Clone)]
pub struct Snap {
    pub node_fields: Vec<String>,
    pub node_types: Vec<String>,
    pub edge_types: Vec<String>,
    pub node_count: Option<u64>,
    pub edge_count: Option<u64>,
    pub nodes: Vec<Node>,
    /// (type, name_or_index, to_node as a node INDEX)
    pub edges: Vec<(u64, u64, u64)>,
    pub trace_function_infos: Option<Vec<[u64; 6]>>,
    pub trace_tree: Option<Vec<TraceTreeNode>>,
    pub samples: Option<Vec<(u64, u64)>>,
    pub locations: Option<Vec<[u64; 4]>>,
    /// Strings as UTF-16 units (lone surrogates allowed).
    pub strings: Vec<Vec<u16>>,
    pub extra_native_bytes: Option<u64>,
    pub root_index: Option<u64>,
    /// Whitespace style: V8 puts a newline after each record.
    pub newlines: bool,
}

impl Default for Snap {
    fn default() -> Self {
        Snap {
            node_fields: FIELDS7.iter().map(|s| s.to_string()).collect(),
            node_types: NODE_TYPES.iter().map(|s| s.to_string()).collect(),
            edge_types: EDGE_TYPES.iter().map(|s| s.to_string()).collect(),
            node_count: None,
            edge_count: None,
            nodes: Vec::new(),
            edges: Vec::new(),
            trace_function_infos: Some(Vec::new()),
            trace_tree: Some(Vec::new()),
            samples: Some(Vec::new()),
            locations: Some(Vec::new()),
            strings: vec![utf16("<dummy>")],
            extra_native_bytes: None,
            root_index: None,
            newlines: true,
        }
    }
}

pub fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("\"{s}\"")).collect();
    items.join(",")
}

/// Writes a UTF-16 string the way V8 does: ASCII printable raw, the rest as `\uXXXX`.
pub fn write_string(out: &mut String, units: &[u16]) {
    out.push('"');
    for &u in units {
        match u {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x20..=0x7e => out.push(u as u8 as char),
            _ => {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out.push('"');
}

impl Snap {
    pub fn nf(&self) -> u64 {
        self.node_fields.len() as u64
    }

    pub fn to_json(&self) -> String {
        let nl = if self.newlines { "\n" } else { "" };
        let mut o = String::new();
        let node_count = self.node_count.unwrap_or(self.nodes.len() as u64);
        let edge_count = self.edge_count.unwrap_or(self.edges.len() as u64);
        let mut extra = String::new();
        if let Some(x) = self.extra_native_bytes {
            let _ = write!(extra, ",\"extra_native_bytes\":{x}");
        }
        if let Some(x) = self.root_index {
            let _ = write!(extra, ",\"root_index\":{x}");
        }
        let _ = write!(
            o,
            "{{\"snapshot\":{{\"meta\":{{\"node_fields\":[{}],\"node_types\":[[{}],\"string\",\"number\",\"number\",\"number\",\"number\",\"number\"],\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],\"edge_types\":[[{}],\"string_or_number\",\"node\"],\"trace_function_info_fields\":[\"function_id\",\"name\",\"script_name\",\"script_id\",\"line\",\"column\"],\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\",\"size\",\"children\"],\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],\"location_fields\":[\"object_index\",\"script_id\",\"line\",\"column\"]}},\"node_count\":{node_count},\"edge_count\":{edge_count},\"trace_function_count\":0{extra}}},{nl}",
            list(&self.node_fields),
            list(&self.node_types),
            list(&self.edge_types),
        );
        o.push_str("\"nodes\":[");
        for (i, n) in self.nodes.iter().enumerate() {
            if i > 0 {
                o.push(',');
                o.push_str(nl);
            }
            let vals: Vec<String> = self
                .node_fields
                .iter()
                .map(|f| {
                    match f.as_str() {
                        "type" => n.ty,
                        "name" => n.name,
                        "id" => n.id,
                        "self_size" => n.self_size,
                        "edge_count" => n.edge_count,
                        "trace_node_id" => n.trace_node_id,
                        "detachedness" => n.detachedness,
                        _ => 0,
                    }
                    .to_string()
                })
                .collect();
            o.push_str(&vals.join(","));
        }
        let _ = write!(o, "],{nl}\"edges\":[");
        for (i, e) in self.edges.iter().enumerate() {
            if i > 0 {
                o.push(',');
                o.push_str(nl);
            }
            let _ = write!(o, "{},{},{}", e.0, e.1, e.2);
        }
        o.push(']');
        if let Some(t) = &self.trace_function_infos {
            let flat: Vec<String> = t.iter().flatten().map(u64::to_string).collect();
            let _ = write!(o, ",{nl}\"trace_function_infos\":[{}]", flat.join(","));
        }
        if let Some(t) = &self.trace_tree {
            o.push(',');
            o.push_str(nl);
            o.push_str("\"trace_tree\":");
            write_trace_level(&mut o, t);
        }
        if let Some(s) = &self.samples {
            let flat: Vec<String> = s.iter().map(|(a, b)| format!("{a},{b}")).collect();
            let _ = write!(o, ",{nl}\"samples\":[{}]", flat.join(","));
        }
        if let Some(l) = &self.locations {
            let flat: Vec<String> = l.iter().flatten().map(u64::to_string).collect();
            let _ = write!(o, ",{nl}\"locations\":[{}]", flat.join(","));
        }
        let _ = write!(o, ",{nl}\"strings\":[");
        for (i, s) in self.strings.iter().enumerate() {
            if i > 0 {
                o.push(',');
                o.push_str(nl);
            }
            write_string(&mut o, s);
        }
        o.push_str("]}");
        o
    }
}

/// Writes a trace tree level iteratively (no recursion, so deep trees are fine).
fn write_trace_level(o: &mut String, roots: &[TraceTreeNode]) {
    enum Step<'a> {
        Node(&'a TraceTreeNode, bool),
        Close,
    }
    o.push('[');
    let mut stack: Vec<Step<'_>> = vec![];
    for (i, n) in roots.iter().enumerate().rev() {
        stack.push(Step::Node(n, i > 0));
    }
    while let Some(step) = stack.pop() {
        match step {
            Step::Close => o.push(']'),
            Step::Node(n, comma) => {
                if comma {
                    o.push(',');
                }
                let _ = write!(
                    o,
                    "{},{},{},{},[",
                    n.id, n.function_info_index, n.count, n.size
                );
                stack.push(Step::Close);
                for (i, c) in n.children.iter().enumerate().rev() {
                    stack.push(Step::Node(c, i > 0));
                }
            }
        }
    }
    o.push(']');
}

/// A small valid snapshot: root -> (GC roots), root -> global, global.x -> string.
pub fn small() -> Snap {
    let mut s = Snap::default();
    for t in ["", "(GC roots)", "Object", "x", "hello", "global", "map"] {
        s.strings.push(utf16(t));
    }
    // strings: 0 <dummy>, 1 "", 2 (GC roots), 3 Object, 4 x, 5 hello, 6 global, 7 map
    s.nodes = vec![
        Node {
            ty: 9,
            name: 1,
            id: 1,
            edge_count: 2,
            ..Default::default()
        },
        Node {
            ty: 9,
            name: 2,
            id: 3,
            edge_count: 0,
            ..Default::default()
        },
        Node {
            ty: 3,
            name: 6,
            id: 5,
            self_size: 24,
            edge_count: 2,
            ..Default::default()
        },
        Node {
            ty: 2,
            name: 5,
            id: 7,
            self_size: 16,
            edge_count: 0,
            ..Default::default()
        },
    ];
    s.edges = vec![(1, 1, 7), (5, 6, 14), (2, 4, 21), (3, 7, 0)];
    s.locations = Some(vec![[14, 3, 10, 2]]);
    s
}
