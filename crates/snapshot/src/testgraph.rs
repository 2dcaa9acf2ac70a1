//! A builder for small hand-made snapshots, for unit tests of the analyses.

use crate::format::{EdgeType, NodeType, RawSnapshot};
use crate::strings::StringTable;

pub struct GraphBuilder {
    nodes: Vec<(NodeType, String, u64, u32)>,
    edges: Vec<(u32, EdgeType, String, u32)>,
}

impl GraphBuilder {
    /// Starts with the root (ordinal 0, synthetic, id 1).
    pub fn new() -> Self {
        GraphBuilder {
            nodes: vec![(NodeType::Synthetic, String::new(), 0, 1)],
            edges: Vec::new(),
        }
    }

    pub fn node(&mut self, ty: NodeType, name: &str, self_size: u64) -> u32 {
        let ordinal = self.nodes.len() as u32;
        self.nodes
            .push((ty, name.to_string(), self_size, ordinal * 2 + 1));
        ordinal
    }

    pub fn node_with_id(&mut self, ty: NodeType, name: &str, self_size: u64, id: u32) -> u32 {
        let ordinal = self.nodes.len() as u32;
        self.nodes.push((ty, name.to_string(), self_size, id));
        ordinal
    }

    /// Adds an edge; for element/hidden edges `name` must be a number.
    pub fn edge(&mut self, from: u32, ty: EdgeType, name: &str, to: u32) -> &mut Self {
        self.edges.push((from, ty, name.to_string(), to));
        self
    }

    pub fn build(&self) -> RawSnapshot {
        let mut strings = StringTable::new();
        let mut intern = std::collections::HashMap::new();
        let mut string_index = |s: &str, strings: &mut StringTable| -> u32 {
            *intern
                .entry(s.to_string())
                .or_insert_with(|| strings.push(s))
        };
        string_index("<dummy>", &mut strings);
        let mut raw = RawSnapshot {
            node_field_count: 7,
            has_detachedness: true,
            ..Default::default()
        };
        for (ty, name, size, id) in &self.nodes {
            raw.node_types.push(*ty);
            raw.node_names.push(string_index(name, &mut strings));
            raw.node_ids.push(*id);
            raw.node_self_sizes.push(*size);
            raw.node_trace_ids.push(0);
            raw.node_detachedness.push(0);
        }
        let mut edges = self.edges.clone();
        edges.sort_by_key(|e| e.0); // stable: keeps insertion order per node
        raw.first_edge = vec![0; self.nodes.len() + 1];
        for (from, ty, name, to) in &edges {
            raw.first_edge[*from as usize + 1] += 1;
            raw.edge_types.push(*ty);
            raw.edge_names.push(if ty.has_index_name() {
                name.parse().expect("numeric edge name")
            } else {
                string_index(name, &mut strings)
            });
            raw.edge_to.push(*to);
        }
        for i in 0..self.nodes.len() {
            raw.first_edge[i + 1] += raw.first_edge[i];
        }
        raw.strings = strings;
        raw
    }
}

impl Default for GraphBuilder {
    fn default() -> Self {
        Self::new()
    }
}
