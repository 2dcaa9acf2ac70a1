//! Micro-benchmark of the streaming parser.
//!
//! `cargo run --release -p leakhound-snapshot --example parse_bench -- FILE [--reader]`
//! parses FILE (with `parse_file`, or with `parse_reader` on a plain `File` when `--reader`
//! is given) and prints wall time, throughput and the section counts.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_bench FILE [--reader]");
        std::process::exit(2);
    };
    let use_reader = args.any(|a| a == "--reader");
    let path = std::path::PathBuf::from(path);
    let size = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let result = if use_reader {
        match std::fs::File::open(&path) {
            Ok(f) => leakhound_snapshot::parse_reader(f, &mut |_| {}),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                std::process::exit(2);
            }
        }
    } else {
        leakhound_snapshot::parse_file(&path, &mut |_| {})
    };
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(raw) => {
            println!(
                "{}: {:.1} MB in {:.3} s = {:.0} MB/s ({}) | nodes {} edges {} strings {} locations {} trace_tree {} fields {}",
                path.display(),
                size as f64 / 1e6,
                secs,
                size as f64 / 1e6 / secs,
                if use_reader { "parse_reader" } else { "parse_file" },
                raw.node_count(),
                raw.edge_count(),
                raw.strings.len(),
                raw.locations.len(),
                raw.trace_tree.len(),
                raw.node_field_count,
            );
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            std::process::exit(2);
        }
    }
}
