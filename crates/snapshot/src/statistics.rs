//! The Statistics pie chart (DevTools `calculateStatistics`, current version).

use crate::format::{EdgeType, NodeType, RawSnapshot};
use crate::retainers::Retainers;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NativeStatistics {
    pub total: u64,
    pub typed_arrays: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct V8HeapStatistics {
    pub total: u64,
    pub code: u64,
    pub js_arrays: u64,
    pub strings: u64,
    pub system: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Statistics {
    pub total: u64,
    pub native: NativeStatistics,
    pub v8heap: V8HeapStatistics,
}

/// Slices: `hidden` → system; `native` → native (and typed arrays for
/// `system / JSArrayBufferData`); `code`; strings (plain, cons, sliced); any other node
/// named `Array` → JS arrays, counting its `elements` store when nothing else retains it.
pub fn calculate(
    raw: &RawSnapshot,
    self_sizes: &[u64],
    retainers: &Retainers,
    total_size: u64,
) -> Statistics {
    let mut native = raw.extra_native_bytes;
    let mut typed_arrays = 0;
    let mut code = 0;
    let mut strings = 0;
    let mut js_arrays = 0;
    let mut system = 0;
    let array_buffer_data = raw.strings.find("system / JSArrayBufferData");
    let array_name = raw.strings.find("Array");
    let elements_name = raw.strings.find("elements");
    for (o, &size) in self_sizes.iter().enumerate() {
        match raw.node_types[o] {
            NodeType::Hidden => system += size,
            NodeType::Native => {
                native += size;
                if Some(raw.node_names[o]) == array_buffer_data {
                    typed_arrays += size;
                }
            }
            NodeType::Code => code += size,
            t if t.is_string() => strings += size,
            _ if array_name.is_some() && Some(raw.node_names[o]) == array_name => {
                js_arrays += size;
                let first_elements = raw.edges_of(o as u32).find(|&e| {
                    raw.edge_types[e] == EdgeType::Internal
                        && Some(raw.edge_names[e]) == elements_name
                });
                if let Some(e) = first_elements {
                    let store = raw.edge_to[e];
                    if retainers.count(store) == 1 {
                        js_arrays += self_sizes[store as usize];
                    }
                }
            }
            _ => {}
        }
    }
    Statistics {
        total: total_size,
        native: NativeStatistics {
            total: native,
            typed_arrays,
        },
        v8heap: V8HeapStatistics {
            total: total_size.saturating_sub(native),
            code,
            js_arrays,
            strings,
            system,
        },
    }
}
