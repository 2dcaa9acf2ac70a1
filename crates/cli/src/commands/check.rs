//! `leakhound check`: the CI gate. Starts the app, warms it up, drives K rounds of load with a
//! GC'd heap snapshot after each, runs the leak finder over them, judges the memory timeline,
//! prints a summary and writes JSON / JUnit / SARIF / HTML reports.

use super::{CmdResult, Status};
use crate::output::{self, paint, Style};
use anyhow::Context;
use leakhound_check::loadgen::LoadStats;
use leakhound_check::pipeline::{self, CheckError, Progress};
use leakhound_check::report::{self, CheckReport};
use leakhound_check::scenario::{ScenarioFile, TargetSpec};
use leakhound_check::units::{fmt_duration, parse_duration};
use leakhound_check::verdict::Level;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

fn env_arg(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Start the app, drive load in rounds, snapshot after each round, find leaks and fail the
/// build on one.
///
/// The scenario comes from the `[check]` table of `leakhound.toml` (DIR/leakhound.toml, or
/// --config FILE, or ./leakhound.toml); flags override it. Exit codes: 0 clean; 1 a finding at
/// or above --fail-on or a red memory verdict; 2 the app failed to start or crashed, or the
/// scenario is wrong.
///
/// Example: `leakhound check examples/leaky-service --html report.html`
#[derive(clap::Args)]
pub struct Args {
    /// Scenario directory: reads DIR/leakhound.toml and runs the app with DIR as its cwd.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Scenario file (its `[check]` table); the app runs in the file's directory.
    #[arg(long, value_name = "FILE", conflicts_with = "dir")]
    pub config: Option<PathBuf>,
    /// Command that starts the app, e.g. "node server.js".
    #[arg(long, value_name = "CMD")]
    pub cmd: Option<String>,
    /// Extra environment for the app (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = env_arg)]
    pub env: Vec<(String, String)>,
    /// Ready when 127.0.0.1:N accepts connections (default: the first URL's port).
    #[arg(long, value_name = "N", group = "ready")]
    pub ready_port: Option<u16>,
    /// Ready when a GET of URL answers 2xx or 3xx.
    #[arg(long, value_name = "URL", group = "ready")]
    pub ready_url: Option<String>,
    /// Ready when a line of the app's output matches REGEX.
    #[arg(long, value_name = "REGEX", group = "ready")]
    pub ready_log: Option<String>,
    /// How long to wait for readiness [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub ready_timeout: Option<Duration>,
    /// Load before the baseline snapshot, so caches and JIT settle [default: 3s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub warmup: Option<Duration>,
    /// Rounds of load, each followed by a GC'd heap snapshot [default: 3].
    #[arg(long, value_name = "K")]
    pub rounds: Option<u32>,
    /// Length of each round's load [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = duration_arg, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Requests per round instead of a duration.
    #[arg(long, value_name = "N")]
    pub requests: Option<u64>,
    /// Concurrent keep-alive connections of the built-in load generator [default: 10].
    #[arg(long, value_name = "C")]
    pub connections: Option<usize>,
    /// A URL to GET (repeatable; replaces the scenario's targets).
    #[arg(long = "url", value_name = "URL")]
    pub urls: Vec<String>,
    /// External load command run once per round (and for the warm-up) instead of the built-in
    /// generator, e.g. "npx autocannon -c 10 -d $LEAKHOUND_SECONDS http://127.0.0.1:3000/".
    #[arg(long, value_name = "CMD")]
    pub load_cmd: Option<String>,
    /// Fail on findings with at least this confidence [default: 0.8].
    #[arg(long, value_name = "CONFIDENCE")]
    pub fail_on: Option<f64>,
    /// Print the report as JSON on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Write JUnit XML (each finding a test case) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write SARIF 2.1.0 (for GitHub code scanning) to FILE.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Write the self-contained HTML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Directory for snapshots, the app log and report.json/report.html
    /// [default: <app dir>/.leakhound/check].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// The scenario file to read, if any: DIR/leakhound.toml, --config, or ./leakhound.toml.
fn scenario_path(args: &Args) -> anyhow::Result<Option<PathBuf>> {
    if let Some(dir) = &args.dir {
        if !dir.is_dir() {
            anyhow::bail!("{}: not a directory", dir.display());
        }
        let p = dir.join("leakhound.toml");
        if !p.is_file() && args.cmd.is_none() {
            anyhow::bail!(
                "{}: no leakhound.toml (write one with a [check] table, or pass --cmd)",
                dir.display()
            );
        }
        return Ok(p.is_file().then(|| absolute(&p)));
    }
    if let Some(c) = &args.config {
        return Ok(Some(absolute(c)));
    }
    let here = PathBuf::from("leakhound.toml");
    Ok(here.is_file().then(|| absolute(&here)))
}

fn overrides(args: &Args) -> ScenarioFile {
    ScenarioFile {
        cmd: args.cmd.clone(),
        env: args.env.iter().cloned().collect(),
        ready_port: args.ready_port,
        ready_url: args.ready_url.clone(),
        ready_log: args.ready_log.clone(),
        ready_timeout: args.ready_timeout,
        warmup: args.warmup,
        rounds: args.rounds,
        duration: args.duration,
        requests: args.requests,
        connections: args.connections,
        url: args.urls.clone(),
        targets: Vec::<TargetSpec>::new(),
        load_cmd: args.load_cmd.clone(),
        fail_on: args.fail_on,
        out: args.out.as_deref().map(absolute),
        ..Default::default()
    }
}

fn progress_line(p: &Progress) -> String {
    match p {
        Progress::Starting { cmd } => format!("starting `{cmd}`"),
        Progress::Ready { after, pid } => {
            format!("ready after {} (pid {pid})", fmt_duration(*after))
        }
        Progress::Warmup { duration } => format!("warm-up: {}", fmt_duration(*duration)),
        Progress::Round { round, of } => format!("round {round}/{of}: load"),
        Progress::RoundLoaded {
            round,
            stats,
            elapsed,
        } => match stats {
            Some(s) => format!(
                "round {round}: {} requests in {} ({:.0} req/s, p99 {:.1} ms, {} errors)",
                output::fmt_count(s.requests),
                fmt_duration(*elapsed),
                s.requests_per_sec,
                s.latency.p99_ms,
                s.errors + s.timeouts
            ),
            None => format!("round {round}: load done in {}", fmt_duration(*elapsed)),
        },
        Progress::Snapshot {
            name,
            bytes,
            post_gc_heap,
        } => format!(
            "{name}: post-GC heap {}, snapshot {}",
            output::fmt_bytes(*post_gc_heap),
            output::fmt_bytes(*bytes)
        ),
        Progress::Stopping => "stopping the app".into(),
        Progress::Analysing { snapshots } => format!("finding leaks across {snapshots} snapshots"),
    }
}

fn level_style(l: Level) -> Style {
    match l {
        Level::Green => Style::Green,
        Level::Yellow => Style::Yellow,
        Level::Red => Style::Red,
    }
}

fn load_row(t: &mut comfy_table::Table, label: &str, s: &LoadStats) {
    t.add_row(vec![
        label.to_string(),
        output::fmt_count(s.requests),
        format!("{:.0}", s.requests_per_sec),
        format!("{:.2}", s.latency.p50_ms),
        format!("{:.2}", s.latency.p99_ms),
        format!("{:.2}", s.latency.max_ms),
        output::fmt_count(s.errors + s.timeouts),
        output::fmt_count(s.non_2xx),
    ]);
}

fn print_summary(r: &CheckReport, written: &[PathBuf]) {
    let v = &r.verdict;
    let status = if r.exit_code == 0 {
        paint("PASS", Style::Green)
    } else {
        paint("FAIL", Style::Red)
    };
    println!(
        "{} {status}: memory verdict {}, {} finding{} ({} at or above {:.2})",
        paint("leakhound check", Style::Bold),
        paint(v.level.as_str(), level_style(v.level)),
        r.findings.len(),
        if r.findings.len() == 1 { "" } else { "s" },
        r.failing_findings,
        r.scenario.fail_on
    );
    println!();
    println!("{}", paint("Memory", Style::Bold));
    for reason in &v.reasons {
        println!("  - {reason}");
    }
    println!(
        "  post-GC heap {} -> {} ({} per round{}), peak {:.2}x baseline{}",
        output::fmt_bytes(v.baseline_heap),
        output::fmt_bytes(v.final_heap),
        output::fmt_delta(v.growth_per_round as i64),
        v.growth_per_1000_requests
            .map(|g| format!(", {} per 1000 requests", output::fmt_delta(g as i64)))
            .unwrap_or_default(),
        v.max_ratio,
        match (v.rss_baseline, v.rss_max) {
            (Some(a), Some(b)) => format!(
                "; RSS {} -> peak {}",
                output::fmt_bytes(a),
                output::fmt_bytes(b)
            ),
            _ => String::new(),
        }
    );
    println!();
    if r.rounds.iter().any(|x| x.load.is_some()) {
        println!("{}", paint("Load", Style::Bold));
        let mut t = output::table(&[
            "phase", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "non-2xx",
        ]);
        if let Some(w) = &r.load.warmup {
            load_row(&mut t, "warm-up", w);
        }
        for round in &r.rounds {
            if let Some(l) = &round.load {
                load_row(&mut t, &format!("round {}", round.round), l);
            }
        }
        if let Some(total) = &r.load.total {
            load_row(&mut t, "all rounds", total);
        }
        println!("{t}");
        if let Some(e) = r.load.total.as_ref().and_then(|t| t.first_error.as_ref()) {
            println!("  first error: {e}");
        }
        println!();
    }
    if let Some(e) = &r.finder_error {
        println!(
            "{} the finder could not run: {e}",
            paint("!", Style::Yellow)
        );
    }
    let views = r.views();
    if !views.is_empty() {
        println!("{}", paint("Findings", Style::Bold));
        for (i, f) in views.iter().enumerate() {
            let conf = format!("{:.2}", f.confidence);
            let conf = if f.confidence >= r.scenario.fail_on {
                paint(&conf, Style::Red)
            } else {
                paint(&conf, Style::Yellow)
            };
            println!("{}. [{conf}] {} ({})", i + 1, f.title, f.kind_name());
            if let Some(src) = &f.source {
                println!(
                    "   at {}",
                    paint(
                        &format!("{}:{}:{}", src.file, src.line, src.column),
                        Style::Cyan
                    )
                );
                if let Some(text) = &src.text {
                    println!("      {}", paint(text.trim(), Style::Dim));
                }
            }
            let path = f.path_text();
            if !path.is_empty() {
                println!("   retained by: {path}");
            }
            if !f.suggestion.is_empty() {
                println!("   fix: {}", f.suggestion);
            }
        }
        println!();
    }
    let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    println!("{} {}", paint("Reports:", Style::Dim), files.join(", "));
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    report::write_atomic(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: Args) -> CmdResult {
    let file = scenario_path(&args)?;
    let base = match &file {
        Some(p) => ScenarioFile::load(p)?,
        None => ScenarioFile {
            cwd: Some(match &args.dir {
                Some(d) => absolute(d),
                None => absolute(Path::new(".")),
            }),
            ..Default::default()
        },
    };
    let scenario = base.merge(overrides(&args)).resolve()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let quiet = args.json;
    let on = move |p: Progress| {
        if !quiet || std::env::var_os("LEAKHOUND_PROGRESS").is_some() {
            eprintln!("{} {}", paint("»", Style::Dim), progress_line(&p));
        }
    };
    let result = rt.block_on(pipeline::run(&scenario, file.as_deref(), &on));
    let report = match result {
        Ok(r) => r,
        Err(e) => return Ok(explain_failure(e)),
    };
    drop(rt);

    let mut written = Vec::new();
    let json = serde_json::to_vec_pretty(&report)?;
    let default_json = scenario.out.join("report.json");
    write_file(&default_json, &json)?;
    written.push(default_json);
    let html = report::html::render(&report);
    let default_html = scenario.out.join("report.html");
    write_file(&default_html, html.as_bytes())?;
    written.push(default_html);
    if let Some(p) = &args.html {
        write_file(p, html.as_bytes())?;
        written.push(p.clone());
    }
    if let Some(p) = &args.junit {
        write_file(p, report::junit::render(&report).as_bytes())?;
        written.push(p.clone());
    }
    if let Some(p) = &args.sarif {
        let sarif = serde_json::to_vec_pretty(&report::sarif::render(&report))?;
        write_file(p, &sarif)?;
        written.push(p.clone());
    }
    if args.json {
        output::print_json(&report)?;
    } else {
        print_summary(&report, &written);
    }
    if let Some(e) = &report.finder_error {
        // Without the finder the gate cannot vouch for the app.
        if report.exit_code == 0 {
            anyhow::bail!("the leak finder failed: {e}");
        }
    }
    Ok(if report.exit_code == 0 {
        Status::Ok
    } else {
        Status::LeakFound
    })
}

/// One error line, then the app's (or load command's) last output lines.
fn explain_failure(e: CheckError) -> Status {
    output::print_error(&anyhow::Error::new(e.source_free()));
    if let Some((log, lines)) = e.log_tail() {
        if lines.is_empty() {
            eprintln!("  (no output; log: {})", log.display());
        } else {
            eprintln!("  last lines of {}:", log.display());
            for l in lines {
                eprintln!("  | {l}");
            }
        }
    }
    Status::InputError
}

/// Wraps the error's message so `print_error` shows it once (no repeated cause chain).
trait SourceFree {
    fn source_free(&self) -> MessageOnly;
}

#[derive(Debug)]
struct MessageOnly(String);

impl std::fmt::Display for MessageOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MessageOnly {}

impl SourceFree for CheckError {
    fn source_free(&self) -> MessageOnly {
        MessageOnly(self.to_string())
    }
}
