//! Fuzz target: the streaming parser must return Ok or Err on any bytes, never panic,
//! and an Err must render as one line.
//!
//! `cd crates/snapshot/fuzz && cargo +nightly fuzz run parse seeds -- -dict=parse.dict`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match leakhound_snapshot::parse_reader(data, &mut |_| {}) {
        Ok(raw) => {
            // The documented invariants hold for anything the parser accepts.
            let n = raw.node_count();
            assert_eq!(raw.first_edge.len(), n + 1);
            assert_eq!(raw.first_edge[n] as usize, raw.edge_count());
            assert!(raw.edge_to.iter().all(|&t| (t as usize) < n));
            assert!((raw.root as usize) < n);
            let strings = raw.strings.len() as u32;
            assert!(raw.node_names.iter().all(|&s| s < strings));
            assert!(raw.locations.iter().all(|l| (l.node as usize) < n));
        }
        Err(e) => assert!(!e.to_string().contains('\n')),
    }
});
