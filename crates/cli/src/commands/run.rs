//! `leakhound run [OPTIONS] -- COMMAND...`: supervise a Node service, watch its memory,
//! snapshot before it is too late, restart gracefully, export metrics.

use super::{CmdResult, Status};
use leakhound_supervisor::{load_file, RunOptions};
use std::path::{Path, PathBuf};

/// Supervise a Node service: watch memory, snapshot before it is too late, restart gracefully.
///
/// Spawns COMMAND in its own process group (N copies with --instances), forwards
/// SIGINT/SIGTERM/SIGHUP, restarts it by --restart policy with exponential backoff and a
/// crash-loop limit, and exits with the child's status (128 + signal for a signal).
///
/// Every --interval it samples the RSS of the process group (/proc), the container's cgroup
/// v2 memory, and, through a preload agent injected with NODE_OPTIONS (no port opened), the
/// V8 heap, the heap after each major GC, event-loop lag and handles. A Theil–Sen trend on
/// the post-GC heap flags leaks (MB/hour, time left before the heap limit). Snapshots are
/// taken after --warmup (baseline), on the first alert, before a memory-limit restart
/// (--snapshot-before-restart) and on request; the finder compares each with the baseline
/// and logs its findings. Settings may also come from the [run] table of leakhound.toml.
#[derive(clap::Args)]
#[command(after_long_help = "\
Examples:
  leakhound run --max-memory 512M -- node server.js
  leakhound run --instances 2 --listen 127.0.0.1:8080 --metrics -- node server.js
  leakhound run --max-memory 1G --snapshot-before-restart --upload s3://diag/leaks -- node app.js

Exit status: the child's (code, or 128 + signal number); 2 for a usage error or a crash loop.")]
pub struct Args {
    /// Settings file with a [run] table (flags override it). [default: ./leakhound.toml if present]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub opts: RunOptions,

    /// The command to supervise (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: Args) -> CmdResult {
    let file = match &args.config {
        Some(p) => load_file(p)?,
        None if Path::new("leakhound.toml").is_file() => load_file(Path::new("leakhound.toml"))?,
        None => RunOptions::default(),
    };
    let mut cli = args.opts;
    if !args.command.is_empty() {
        cli.command = Some(args.command);
    }
    let settings = cli.over(file).resolve()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let code = rt.block_on(leakhound_supervisor::run(settings))?;
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    match code {
        0 => Ok(Status::Ok),
        // The child's own status (any value, 128 + signal): the CLI's Status enum only
        // knows 0/1/2, so the supervisor exits here directly.
        c => std::process::exit(c),
    }
}
