//! `leakhound`: find, prove and contain memory leaks in Node.js services.
//!
//! The binary is thin: it parses arguments, calls the library crates and prints.

mod commands;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Find, prove and contain memory leaks in Node.js services.
///
/// Exit codes: 0 ok; 1 a leak was found (commands that gate: find --fail-on, check);
/// 2 usage or input error.
#[derive(Parser)]
#[command(
    name = "leakhound",
    version,
    about,
    long_about,
    propagate_version = true
)]
struct Cli {
    /// More logging (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

// One value parsed once per process: boxing the large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
/// Each variant's `about` is the one-line summary in `leakhound --help`; the long help
/// comes from the doc comment of the command's `Args`.
enum Command {
    #[command(
        about = "Totals, statistics, classes by retained size and the largest objects of one snapshot."
    )]
    Summary(commands::summary::Args),
    #[command(
        about = "DevTools' Comparison view: per-class new, deleted and size deltas between two snapshots."
    )]
    Diff(commands::diff::Args),
    #[command(about = "Retaining paths of one object back to the GC roots, shortest first.")]
    Retainers(commands::retainers::Args),
    #[command(about = "One row per node (CSV or JSON lines) for DuckDB, pandas and friends.")]
    Export(commands::export::Args),
    #[command(about = "Find leaks across two or more snapshots of one process.")]
    Find(commands::find::Args),
    #[command(about = "Take a heap snapshot of a live Node process over the inspector protocol.")]
    Snapshot(commands::snapshot::Args),
    #[command(
        about = "Sample allocations of a live Node process and print the top allocation sites."
    )]
    Sample(commands::sample::Args),
    #[command(
        about = "Supervise a Node service: watch memory, snapshot before it is too late, restart gracefully."
    )]
    Run(commands::run::Args),
    #[command(
        about = "CI gate: start the app, drive load, snapshot between rounds, fail on a leak."
    )]
    Check(commands::check::Args),
}

/// glibc tuning for our allocation pattern: a few arrays of tens to hundreds of MB per
/// snapshot, allocated on one rayon worker and freed on another, then the same again for
/// the next snapshot.
/// - One arena: with glibc's arena per thread, memory freed in one arena cannot serve
///   arrays allocated from another; `find` on three 300 MB snapshots peaked 60-130 MB
///   higher.
/// - Batch commands also keep large blocks in the heap instead of fresh mappings, so the
///   next snapshot reuses the pages of the one before instead of faulting in (and the kernel
///   zeroing) new ones: `find` is ~10% faster for ~20-110 MB more peak (BENCHMARKS.md).
///   The supervisor, which runs for days, keeps the default of returning them.
fn tune_allocator(command: &Command) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        if !matches!(command, Command::Run(_)) {
            libc::mallopt(libc::M_MMAP_MAX, 0);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = command;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tune_allocator(&cli.command);
    output::init_logging(cli.verbose);
    let result = match cli.command {
        Command::Summary(args) => commands::summary::run(args),
        Command::Diff(args) => commands::diff::run(args),
        Command::Retainers(args) => commands::retainers::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Find(args) => commands::find::run(args),
        Command::Snapshot(args) => commands::snapshot::run(args),
        Command::Sample(args) => commands::sample::run(args),
        Command::Run(args) => commands::run::run(args),
        Command::Check(args) => commands::check::run(args),
    };
    match result {
        Ok(status) => ExitCode::from(status as u8),
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(commands::Status::InputError as u8)
        }
    }
}
