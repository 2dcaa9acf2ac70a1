//! Prints what the engine computes for a snapshot, in the JSON shapes of the CLI, for
//! comparing against the DevTools oracle while developing:
//! `engine_dump summary FILE`, `engine_dump export FILE`, `engine_dump diff BASE TARGET`,
//! `engine_dump scripts FILE` (closures and objects with their script and line).

use leakhound_snapshot::{parse_file, HeapSnapshot};
use std::io::Write;

fn load(path: &str) -> HeapSnapshot {
    let t = std::time::Instant::now();
    let raw = parse_file(path.as_ref(), &mut |_| {}).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let parsed = t.elapsed();
    let snap = HeapSnapshot::analyze(raw);
    eprintln!(
        "{path}: parse {:?}, analyse {:?}",
        parsed,
        t.elapsed() - parsed
    );
    snap
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    match args.get(1).map(String::as_str) {
        Some("summary") => {
            let s = load(&args[2]);
            let v = serde_json::json!({
                "node_count": s.node_count(), "edge_count": s.edge_count(),
                "total_size": s.total_size(), "statistics": s.statistics(), "classes": s.aggregates(),
            });
            serde_json::to_writer(&mut out, &v).unwrap();
        }
        Some("export") => {
            let s = load(&args[2]);
            for n in 0..s.node_count() as u32 {
                let v = serde_json::json!({
                    "id": s.node_id(n), "type": s.node_type(n).name(), "name": s.display_name(n),
                    "class": s.class_name(n), "self_size": s.self_size(n), "retained_size": s.retained_size(n),
                    "distance": s.distance(n), "dominator_id": s.node_id(s.dominator(n)),
                });
                serde_json::to_writer(&mut out, &v).unwrap();
                out.write_all(b"\n").unwrap();
            }
        }
        Some("diff") => {
            let (a, b) = (load(&args[2]), load(&args[3]));
            let v = serde_json::json!({ "classes": leakhound_snapshot::diff(&a, &b) });
            serde_json::to_writer(&mut out, &v).unwrap();
        }
        Some("scripts") => {
            let s = load(&args[2]);
            for n in 0..s.node_count() as u32 {
                if let Some(loc) = s.location(n) {
                    if let Some(name) = s.script_name(loc.script_id) {
                        writeln!(
                            out,
                            "{} {} {}:{}",
                            s.node_name(n),
                            loc.script_id,
                            name,
                            loc.line + 1
                        )
                        .unwrap();
                    }
                }
            }
        }
        _ => eprintln!("usage: engine_dump summary|export FILE | diff BASE TARGET"),
    }
}
