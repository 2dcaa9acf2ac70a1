//! # leakhound-snapshot: the heap snapshot engine
//!
//! Reads a V8 `.heapsnapshot` (Node 16–22, Chrome) from a file or any byte stream and
//! computes what Chrome DevTools' Memory panel computes, with DevTools' exact semantics:
//! adjusted shallow sizes, distances, the dominator tree, retained sizes, class names and
//! class keys, per-class aggregates, statistics and the comparison of two snapshots.
//!
//! Everything is stored in flat arrays indexed by node ordinal (struct of arrays) with
//! edges in CSR form, so multi-gigabyte snapshots fit in memory.
//!
//! ```no_run
//! use leakhound_snapshot::{parse_file, HeapSnapshot};
//! let raw = parse_file("app.heapsnapshot".as_ref(), &mut |_| {}).unwrap();
//! let snap = HeapSnapshot::analyze(raw);
//! println!("total {} bytes", snap.total_size());
//! ```
//!
//! *Architecture invariant*: no async, no CLI, no I/O policy. It takes bytes and returns arrays.

mod bitvec;
pub mod classes;
pub mod diff;
pub mod distances;
mod dom_state;
pub mod dominators;
mod essential;
mod flags;
pub mod format;
mod heap;
pub mod interfaces;
mod jsstr;
pub mod names;
pub mod paths;
pub mod retainers;
mod scripts;
mod shallow;
pub mod statistics;
pub mod strings;
mod weakmap;

pub use classes::{ClassAggregate, ClassInfo};
pub use diff::{diff, ClassDiff};
pub use distances::{BASE_SYSTEM_DISTANCE, NO_DISTANCE};
pub use format::{
    parse_file, parse_file_split_at, parse_reader, EdgeType, Location, NodeType, ParseError,
    RawSnapshot, TraceFunctionInfo, TraceNode,
};
pub use heap::HeapSnapshot;
pub use interfaces::InterfaceDefinition;
pub use paths::PathStep;
pub use statistics::Statistics;
pub use strings::StringTable;

#[cfg(test)]
mod testgraph;
#[cfg(test)]
mod tests_analyses;
