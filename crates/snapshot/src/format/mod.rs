//! The `.heapsnapshot` format: the parsed, not yet analysed, snapshot.
//!
//! [`RawSnapshot`] holds every section of the file in flat arrays. Columns are resolved by
//! name from `snapshot.meta`, so 6- and 7-field layouts and appended node types all load.

mod meta;
mod parse;
mod scanner;
mod split;
mod strdec;

pub use parse::{parse_file, parse_file_split_at, parse_reader, ParseError};

use crate::strings::StringTable;

/// Node types by their index in `meta.node_types[0]`. Indexes 0–13 mean the same in every
/// V8 version; newer types are appended. Unknown trailing types map to [`NodeType::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NodeType {
    Hidden = 0,
    Array = 1,
    String = 2,
    Object = 3,
    Code = 4,
    Closure = 5,
    RegExp = 6,
    Number = 7,
    Native = 8,
    Synthetic = 9,
    ConcatenatedString = 10,
    SlicedString = 11,
    Symbol = 12,
    BigInt = 13,
    ObjectShape = 14,
    WasmObject = 15,
    Unknown = 255,
}

impl NodeType {
    /// Maps a type *name* (as written in meta) to the enum; names, not positions, decide.
    pub fn from_name(name: &str) -> NodeType {
        match name {
            "hidden" => NodeType::Hidden,
            "array" => NodeType::Array,
            "string" => NodeType::String,
            "object" => NodeType::Object,
            "code" => NodeType::Code,
            "closure" => NodeType::Closure,
            "regexp" => NodeType::RegExp,
            "number" => NodeType::Number,
            "native" => NodeType::Native,
            "synthetic" => NodeType::Synthetic,
            "concatenated string" => NodeType::ConcatenatedString,
            "sliced string" => NodeType::SlicedString,
            "symbol" => NodeType::Symbol,
            "bigint" => NodeType::BigInt,
            "object shape" => NodeType::ObjectShape,
            "wasm object" => NodeType::WasmObject,
            _ => NodeType::Unknown,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            NodeType::Hidden => "hidden",
            NodeType::Array => "array",
            NodeType::String => "string",
            NodeType::Object => "object",
            NodeType::Code => "code",
            NodeType::Closure => "closure",
            NodeType::RegExp => "regexp",
            NodeType::Number => "number",
            NodeType::Native => "native",
            NodeType::Synthetic => "synthetic",
            NodeType::ConcatenatedString => "concatenated string",
            NodeType::SlicedString => "sliced string",
            NodeType::Symbol => "symbol",
            NodeType::BigInt => "bigint",
            NodeType::ObjectShape => "object shape",
            NodeType::WasmObject => "wasm object",
            NodeType::Unknown => "unknown",
        }
    }

    pub fn is_string(self) -> bool {
        matches!(
            self,
            NodeType::String | NodeType::ConcatenatedString | NodeType::SlicedString
        )
    }
}

/// Edge types by name. `Invisible` is DevTools-only and never appears in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EdgeType {
    Context = 0,
    Element = 1,
    Property = 2,
    Internal = 3,
    Hidden = 4,
    Shortcut = 5,
    Weak = 6,
    Unknown = 255,
}

impl EdgeType {
    pub fn from_name(name: &str) -> EdgeType {
        match name {
            "context" => EdgeType::Context,
            "element" => EdgeType::Element,
            "property" => EdgeType::Property,
            "internal" => EdgeType::Internal,
            "hidden" => EdgeType::Hidden,
            "shortcut" => EdgeType::Shortcut,
            "weak" => EdgeType::Weak,
            _ => EdgeType::Unknown,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EdgeType::Context => "context",
            EdgeType::Element => "element",
            EdgeType::Property => "property",
            EdgeType::Internal => "internal",
            EdgeType::Hidden => "hidden",
            EdgeType::Shortcut => "shortcut",
            EdgeType::Weak => "weak",
            EdgeType::Unknown => "unknown",
        }
    }

    /// `element` and `hidden` edges carry a raw integer; every other type a string index.
    pub fn has_index_name(self) -> bool {
        matches!(self, EdgeType::Element | EdgeType::Hidden)
    }
}

/// One entry of the `locations` section. `line` and `column` are 0-based as V8 writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Node ordinal (the file stores a node index; the parser divides by the field count).
    pub node: u32,
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// One entry of `trace_function_infos`. Line and column are 1-based here, 0 = unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceFunctionInfo {
    pub function_id: u32,
    pub name: u32,
    pub script_name: u32,
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// One node of the nested `trace_tree`, flattened in pre-order with a parent link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceNode {
    pub id: u32,
    pub function_info_index: u32,
    pub count: u32,
    pub size: u64,
    /// Position of the parent in `RawSnapshot::trace_tree`, `u32::MAX` for top-level nodes.
    pub parent: u32,
}

/// A parsed snapshot: every section, in flat arrays indexed by node ordinal / edge index.
///
/// Invariants established by the parser (and relied on by the analyses):
/// - `node_count() == node_ids.len()` == every other `node_*` length;
/// - `first_edge.len() == node_count() + 1`, non-decreasing, `first_edge[n] == edge_count()`;
/// - every `edge_to` is a valid node ordinal; every name index is a valid string index;
/// - `root` is a valid ordinal (0 unless `snapshot.root_index` says otherwise).
#[derive(Debug, Clone, Default)]
pub struct RawSnapshot {
    /// Type names as written in `meta.node_types[0]`, in file order.
    pub node_type_names: Vec<String>,
    /// Edge type names as written in `meta.edge_types[0]`, in file order.
    pub edge_type_names: Vec<String>,
    /// Number of fields per node record in the file (6 or 7, or more in future versions).
    pub node_field_count: u32,
    /// `snapshot.extra_native_bytes`, 0 when absent.
    pub extra_native_bytes: u64,
    /// Root node ordinal (`snapshot.root_index / node_field_count`, default 0).
    pub root: u32,
    /// Whether the file has a `detachedness` node field (DOM-state propagation needs it).
    pub has_detachedness: bool,

    // ---- nodes, struct of arrays by ordinal ----
    pub node_types: Vec<NodeType>,
    pub node_names: Vec<u32>,
    pub node_ids: Vec<u32>,
    pub node_self_sizes: Vec<u64>,
    /// Allocation trace node per node; empty when no node has one (no allocation tracking).
    pub node_trace_ids: Vec<u32>,
    pub node_detachedness: Vec<u8>,
    /// CSR: node `i`'s edges are `first_edge[i]..first_edge[i + 1]`.
    pub first_edge: Vec<u32>,

    // ---- edges, struct of arrays by edge index ----
    pub edge_types: Vec<EdgeType>,
    /// Raw integer for element/hidden edges, string index otherwise.
    pub edge_names: Vec<u32>,
    /// Target node *ordinal* (file value divided by `node_field_count`, checked).
    pub edge_to: Vec<u32>,

    pub strings: StringTable,
    pub locations: Vec<Location>,
    pub trace_function_infos: Vec<TraceFunctionInfo>,
    pub trace_tree: Vec<TraceNode>,
    /// `samples` as `(timestamp_us, last_assigned_id)` pairs.
    pub samples: Vec<(u64, u32)>,
}

impl RawSnapshot {
    pub fn node_count(&self) -> usize {
        self.node_ids.len()
    }

    /// The allocation trace node of `node` (0: none).
    pub fn trace_node_id(&self, node: u32) -> u32 {
        self.node_trace_ids.get(node as usize).copied().unwrap_or(0)
    }

    pub fn edge_count(&self) -> usize {
        self.edge_to.len()
    }

    /// Edge index range of node `ordinal`.
    #[inline]
    pub fn edges_of(&self, ordinal: u32) -> std::ops::Range<usize> {
        self.first_edge[ordinal as usize] as usize..self.first_edge[ordinal as usize + 1] as usize
    }

    #[inline]
    pub fn node_name(&self, ordinal: u32) -> &str {
        self.strings.get(self.node_names[ordinal as usize])
    }

    /// The edge's name as text: the number for element/hidden edges, the string otherwise.
    pub fn edge_name(&self, edge: usize) -> std::borrow::Cow<'_, str> {
        if self.edge_types[edge].has_index_name() {
            std::borrow::Cow::Owned(self.edge_names[edge].to_string())
        } else {
            std::borrow::Cow::Borrowed(self.strings.get(self.edge_names[edge]))
        }
    }
}
