//! Hand-built snapshots for unit tests: a tiny graph builder producing a real
//! [`RawSnapshot`] that the engine analyses like a parsed file.

use leakhound_snapshot::{EdgeType, Location, NodeType, RawSnapshot, StringTable};
use std::collections::HashMap;

pub struct Builder {
    types: Vec<NodeType>,
    names: Vec<u32>,
    ids: Vec<u32>,
    sizes: Vec<u64>,
    edges: Vec<Vec<(EdgeType, u32, u32)>>,
    strings: StringTable,
    interned: HashMap<String, u32>,
    locations: Vec<Location>,
}

const NODE_TYPES: [&str; 16] = [
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
const EDGE_TYPES: [&str; 7] = [
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];

impl Builder {
    pub fn new() -> Builder {
        let mut b = Builder {
            types: Vec::new(),
            names: Vec::new(),
            ids: Vec::new(),
            sizes: Vec::new(),
            edges: Vec::new(),
            strings: StringTable::new(),
            interned: HashMap::new(),
            locations: Vec::new(),
        };
        b.intern("<dummy>");
        b
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.interned.get(s) {
            return i;
        }
        let i = self.strings.push(s);
        self.interned.insert(s.to_string(), i);
        i
    }

    pub fn node(&mut self, ty: NodeType, name: &str, id: u32, size: u64) -> u32 {
        let n = self.intern(name);
        self.types.push(ty);
        self.names.push(n);
        self.ids.push(id);
        self.sizes.push(size);
        self.edges.push(Vec::new());
        (self.types.len() - 1) as u32
    }

    /// Named edge (property, context, internal, shortcut, weak).
    pub fn edge(&mut self, from: u32, ty: EdgeType, name: &str, to: u32) {
        let n = self.intern(name);
        self.edges[from as usize].push((ty, n, to));
    }

    /// Indexed edge (element, hidden).
    pub fn index_edge(&mut self, from: u32, ty: EdgeType, index: u32, to: u32) {
        self.edges[from as usize].push((ty, index, to));
    }

    pub fn location(&mut self, node: u32, script_id: u32, line: u32, column: u32) {
        self.locations.push(Location {
            node,
            script_id,
            line,
            column,
        });
    }

    pub fn build(self) -> RawSnapshot {
        let mut first_edge = Vec::with_capacity(self.types.len() + 1);
        let (mut et, mut en, mut eto) = (Vec::new(), Vec::new(), Vec::new());
        for list in &self.edges {
            first_edge.push(et.len() as u32);
            for &(t, n, to) in list {
                et.push(t);
                en.push(n);
                eto.push(to);
            }
        }
        first_edge.push(et.len() as u32);
        let count = self.types.len();
        RawSnapshot {
            node_type_names: NODE_TYPES.iter().map(|s| s.to_string()).collect(),
            edge_type_names: EDGE_TYPES.iter().map(|s| s.to_string()).collect(),
            node_field_count: 7,
            extra_native_bytes: 0,
            root: 0,
            has_detachedness: true,
            node_types: self.types,
            node_names: self.names,
            node_ids: self.ids,
            node_self_sizes: self.sizes,
            node_trace_ids: vec![0; count],
            node_detachedness: vec![0; count],
            first_edge,
            edge_types: et,
            edge_names: en,
            edge_to: eto,
            strings: self.strings,
            locations: self.locations,
            ..RawSnapshot::default()
        }
    }
}

/// A small "process" at snapshot `k` (1-based): a module whose `requestLog` array gains
/// `per_round` items per snapshot, and a bounded `lru` Map whose 5 entries are replaced
/// (new ids) every round. `script` is the module's path.
pub fn leaky_process(k: u32, per_round: u32, script: &str) -> RawSnapshot {
    use EdgeType::*;
    use NodeType::*;
    let mut b = Builder::new();
    let root = b.node(Synthetic, "", 1, 0);
    let gc_roots = b.node(Synthetic, "(GC roots)", 3, 0);
    let global = b.node(Object, "global", 5, 40);
    b.index_edge(root, Element, 1, gc_roots);
    b.edge(root, Shortcut, "global", global);
    let native = b.node(NodeType::Hidden, "system / NativeContext", 7, 2000);
    b.edge(gc_roots, Internal, "native", native);
    b.edge(native, Internal, "extension", global);
    let handler = b.node(Closure, "handle", 9, 56);
    b.edge(global, Property, "handle", handler);
    let ctx = b.node(Object, "system / Context", 11, 48);
    b.edge(handler, Internal, "context", ctx);
    b.edge(ctx, Internal, "previous", native);
    let sfi = b.node(Code, "(shared function info)", 13, 56);
    b.edge(handler, Internal, "shared", sfi);
    let scr = b.node(Code, script, 15, 144);
    b.edge(sfi, Internal, "script_or_debug_info", scr);
    let scr_name = b.node(String, script, 17, 64);
    b.edge(scr, Internal, "name", scr_name);
    b.location(handler, 42, 7, 0);
    let log = b.node(Object, "Array", 19, 32);
    b.edge(ctx, Context, "requestLog", log);
    let lru = b.node(Object, "Map", 21, 32);
    b.edge(ctx, Context, "lru", lru);
    // Ballast that never changes.
    for i in 0..50u32 {
        let o = b.node(Object, "Config", 101 + 2 * i, 64);
        b.index_edge(global, Element, i, o);
    }
    // Objects first seen by snapshot r get ids from 1_000_000 * r up (V8 numbers objects
    // when a snapshot first sees them). requestLog items: 1000 bytes each, with a string.
    for i in 0..per_round * k {
        let round = i / per_round + 1;
        let id = 1_000_000 * round + 1 + 4 * (i % per_round);
        let item = b.node(Object, "Request", id, 1000);
        let s = b.node(String, "GET /x", id + 2, 40);
        b.edge(item, Property, "url", s);
        b.index_edge(log, Element, i, item);
    }
    // The bounded map: a fresh table and 5 fresh entries each round.
    let base = 1_000_000 * k + 500_001;
    let table = b.node(Array, "", base, 200);
    b.edge(lru, Internal, "table", table);
    for j in 0..5u32 {
        let key = b.node(String, "k", base + 2 + 4 * j, 24);
        let val = b.node(Object, "Entry", base + 4 + 4 * j, 80);
        b.edge(table, Internal, &(2 * j).to_string(), key);
        b.edge(table, Internal, &(2 * j + 1).to_string(), val);
    }
    b.build()
}
