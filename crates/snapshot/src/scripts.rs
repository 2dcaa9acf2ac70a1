//! Script ids → script names (file paths or URLs).
//!
//! Locations carry a script id only. A closure with a location leads to its script:
//! closure `{shared}` → SharedFunctionInfo `{script}` (Node 20: `{script_or_debug_info}`)
//! → Script `{name}` → a string node whose name is the script's path or URL.

use crate::format::{EdgeType, NodeType, RawSnapshot};
use std::collections::HashMap;

fn internal_target(raw: &RawSnapshot, from: u32, name: u32) -> Option<u32> {
    raw.edges_of(from)
        .find(|&e| raw.edge_types[e] == EdgeType::Internal && raw.edge_names[e] == name)
        .map(|e| raw.edge_to[e])
}

pub fn script_names(raw: &RawSnapshot) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    let (Some(shared), Some(name)) = (raw.strings.find("shared"), raw.strings.find("name")) else {
        return names;
    };
    let script_edges: Vec<u32> = ["script", "script_or_debug_info"]
        .iter()
        .filter_map(|s| raw.strings.find(s))
        .collect();
    for loc in &raw.locations {
        if names.contains_key(&loc.script_id)
            || raw.node_types[loc.node as usize] != NodeType::Closure
        {
            continue;
        }
        let found = internal_target(raw, loc.node, shared)
            .and_then(|sfi| {
                script_edges
                    .iter()
                    .find_map(|&e| internal_target(raw, sfi, e))
            })
            .and_then(|s| internal_target(raw, s, name))
            .filter(|&s| raw.node_types[s as usize].is_string())
            .map(|s| raw.node_name(s).to_string())
            .filter(|s| !s.is_empty());
        if let Some(script_name) = found {
            names.insert(loc.script_id, script_name);
        }
    }
    names
}
