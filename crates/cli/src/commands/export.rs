//! `leakhound export`: one row per node, for DuckDB, pandas and friends.

use super::{load, CmdResult, Status};
use anyhow::Context;
use leakhound_snapshot::HeapSnapshot;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Export every node with its DevTools numbers: `id, type, name, class, self_size,
/// retained_size, distance, dominator_id, edge_count, detachedness`.
///
/// `dominator_id` is the node id of the immediate dominator (the root is its own);
/// `self_size` is DevTools' shallow size; `distance` is -5 for unreachable nodes.
/// Example: `leakhound export app.heapsnapshot --format csv -o nodes.csv` then
/// `duckdb -c "select class, sum(retained_size) from 'nodes.csv' group by 1 order by 2 desc"`.
#[derive(clap::Args)]
pub struct Args {
    /// The .heapsnapshot file (`-` reads standard input).
    pub snapshot: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Write to this file (atomically) instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: Args) -> CmdResult {
    let snap = load::analyze(&args.snapshot)?;
    match &args.output {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write_rows(&snap, args.format, &mut out).context("writing to standard output")?;
            out.flush()?;
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(".".as_ref());
            let tmp = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("{}: cannot create a file here", dir.display()))?;
            let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp);
            write_rows(&snap, args.format, &mut out)
                .with_context(|| format!("{}", path.display()))?;
            let tmp = out
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("{}", path.display()))?;
            tmp.as_file()
                .sync_all()
                .with_context(|| format!("{}", path.display()))?;
            tmp.persist(path)
                .with_context(|| format!("{}", path.display()))?;
        }
    }
    Ok(Status::Ok)
}

fn csv_field(out: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.contains([',', '"', '\n', '\r']) {
        write!(out, "\"{}\"", s.replace('"', "\"\""))
    } else {
        out.write_all(s.as_bytes())
    }
}

fn write_rows(snap: &HeapSnapshot, format: Format, out: &mut impl Write) -> std::io::Result<()> {
    if let Format::Csv = format {
        writeln!(out, "id,type,name,class,self_size,retained_size,distance,dominator_id,edge_count,detachedness")?;
    }
    for n in 0..snap.node_count() as u32 {
        let name = snap.display_name(n);
        let class = snap.class_name(n);
        let dominator_id = snap.node_id(snap.dominator(n));
        let edge_count = snap.edges(n).len();
        match format {
            Format::Csv => {
                write!(out, "{},{},", snap.node_id(n), snap.node_type(n).name())?;
                csv_field(out, &name)?;
                out.write_all(b",")?;
                csv_field(out, class)?;
                writeln!(
                    out,
                    ",{},{},{},{},{},{}",
                    snap.self_size(n),
                    snap.retained_size(n),
                    snap.distance(n),
                    dominator_id,
                    edge_count,
                    snap.detachedness(n)
                )?;
            }
            Format::Jsonl => {
                let row = serde_json::json!({
                    "id": snap.node_id(n),
                    "type": snap.node_type(n).name(),
                    "name": name,
                    "class": class,
                    "self_size": snap.self_size(n),
                    "retained_size": snap.retained_size(n),
                    "distance": snap.distance(n),
                    "dominator_id": dominator_id,
                    "edge_count": edge_count,
                    "detachedness": snap.detachedness(n),
                });
                serde_json::to_writer(&mut *out, &row)?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}
