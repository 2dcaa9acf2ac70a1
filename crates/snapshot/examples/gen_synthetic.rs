//! Writes a large, valid, synthetic `.heapsnapshot` quickly (for size limits: > 4 GB files,
//! > 2^24 nodes), without running node.
//!
//! `cargo run --release -p leakhound-snapshot --example gen_synthetic -- OUT NODES EDGES_PER_NODE`
//! Node ordinal 0 is a synthetic root; the others are objects named from a small string table;
//! each node has EDGES_PER_NODE property edges to pseudo-random nodes.

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: gen_synthetic OUT NODES EDGES_PER_NODE");
        std::process::exit(2);
    }
    let nodes: u64 = args[2].parse().expect("NODES");
    let per: u64 = args[3].parse().expect("EDGES_PER_NODE");
    let tmp = format!("{}.tmp", args[1]);
    let mut w = BufWriter::with_capacity(8 << 20, std::fs::File::create(&tmp)?);
    let strings = 1000u64;
    write!(
        w,
        r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}},"node_count":{nodes},"edge_count":{},"trace_function_count":0}},
"nodes":["#,
        nodes * per
    )?;
    for n in 0..nodes {
        let sep = if n == 0 { "" } else { "," };
        let (ty, name) = if n == 0 {
            (9, 1)
        } else {
            (3, 2 + n % (strings - 2))
        };
        writeln!(
            w,
            "{sep}{ty},{name},{},{},{per},0,0",
            2 * n + 1,
            16 + (n % 7) * 8
        )?;
    }
    w.write_all(b"],\n\"edges\":[")?;
    let mut x: u64 = 0x2545F4914F6CDD1D;
    let mut first = true;
    for _ in 0..nodes {
        for _ in 0..per {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let sep = if first { "" } else { "," };
            first = false;
            writeln!(
                w,
                "{sep}2,{},{}",
                2 + x % (strings - 2),
                (x >> 20) % nodes * 7
            )?;
        }
    }
    w.write_all(b"],\n\"trace_function_infos\":[],\n\"trace_tree\":[],\n\"samples\":[],\n\"locations\":[],\n\"strings\":[\"<dummy>\",\"\"")?;
    for s in 2..strings {
        write!(w, ",\n\"Class{s}\"")?;
    }
    w.write_all(b"]}\n")?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, &args[1])?;
    Ok(())
}
