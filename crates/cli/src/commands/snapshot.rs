//! `leakhound snapshot`: a heap snapshot of a live Node process, written atomically to disk.

use super::{CmdResult, Status};
use crate::output;
use anyhow::Context;
use indicatif::ProgressBar;
use leakhound_inspector::{
    capture_series_with, capture_snapshot_to_file_with, default_snapshot_name, pipe, CaptureEvent,
    CaptureHooks, CaptureOptions, CaptureReport, HostPolicy, Route, RoutePolicy, SnapshotOptions,
    SnapshotProgress, Target,
};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

/// Take a heap snapshot of a live Node process over the inspector protocol.
///
/// TARGET is a PID, the HOST:PORT of an inspector (`node --inspect`), or a ws:// debugger
/// URL. For a PID whose inspector is off, leakhound sends SIGUSR1 (Node then listens on
/// 127.0.0.1:9229, or the port it was started with via --inspect-port), takes the snapshot
/// and turns the inspector off again, so the process is left as it was found.
///
/// The snapshot goes to a temporary file (mode 0600) beside FILE and is renamed when
/// complete; on any failure the partial file is removed. A PID on this machine writes that
/// file itself (v8.writeHeapSnapshot, called over the inspector: as fast as an in-process
/// write); other targets, or a process that cannot write the file, stream it over the
/// inspector (HeapProfiler.takeHeapSnapshot, 10-20% slower for the process).
///
/// SECURITY: the inspector gives code execution to anyone who can reach it. leakhound only
/// connects to loopback addresses unless --host names another host, and it closes an
/// inspector it opened. Snapshots contain everything in the heap (tokens, passwords,
/// personal data): treat them as secrets.
#[derive(clap::Args)]
#[command(
    after_help = "SECURITY: the inspector gives code execution to anyone who can reach it; only loopback is contacted unless --host names a host."
)]
pub struct Args {
    /// PID, HOST:PORT of an open inspector, or ws://HOST:PORT/UUID.
    pub target: String,

    /// Where to write the snapshot [default: Heap.<date>.<time>.<pid>.heapsnapshot].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Do not force a garbage collection first (the snapshot then includes garbage).
    #[arg(long)]
    pub no_gc: bool,

    /// Parse the snapshot while it arrives and print a summary when the capture ends.
    #[arg(long)]
    pub analyze: bool,

    /// Always stream the snapshot over the WebSocket (HeapProfiler.takeHeapSnapshot).
    /// By default a PID on this machine writes the snapshot itself (v8.writeHeapSnapshot,
    /// called over the inspector) into leakhound's 0600 temporary file, which is 10-20%
    /// faster for the process; other targets, and processes that cannot write the file
    /// (another user, a container's filesystem), are streamed.
    #[arg(long)]
    pub stream: bool,

    /// Have the process write the snapshot itself even when the target is HOST:PORT or a
    /// ws:// URL (it must run on this machine and be able to write to FILE's directory).
    #[arg(long, conflicts_with = "stream")]
    pub in_process: bool,

    /// Port the process opens its inspector on after SIGUSR1 (its own --inspect-port).
    #[arg(long, value_name = "PORT", default_value_t = leakhound_inspector::DEFAULT_INSPECT_PORT)]
    pub inspect_port: u16,

    /// Allow connecting to this non-loopback host. The inspector gives code execution to
    /// anyone who can reach it: only use this over a trusted network or an SSH tunnel.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Seconds to wait for the inspector to open after SIGUSR1.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub open_timeout: u64,

    /// Take N snapshots over one inspector session, --interval apart, into the directory
    /// given by -o (default: the current directory). V8 keeps object ids only within one
    /// session, so use this (not several runs) to get snapshots `leakhound find` can compare.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: u32,

    /// Time between the snapshots of --count, e.g. 30s, 5m.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    pub interval: Duration,

    /// Print a machine-readable JSON report on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    leakhound_check::units::parse_duration(text)
}

/// What `--analyze` found, from the engine (DevTools' Summary view semantics).
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub nodes: u64,
    pub edges: u64,
    /// DevTools' total: the root's retained size plus extra native bytes.
    pub total_size: u64,
    /// Largest classes by retained size.
    pub top_classes: Vec<ClassRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassRow {
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    capture: &'a CaptureReport,
    analysis: Option<&'a Analysis>,
    analysis_error: Option<&'a str>,
}

pub fn run(args: Args) -> CmdResult {
    let target: Target = args.target.parse()?;
    let opts = CaptureOptions {
        gc: !args.no_gc,
        host_policy: match &args.host {
            Some(h) => HostPolicy::allow(h.clone()),
            None => HostPolicy::loopback_only(),
        },
        inspect_port: args.inspect_port,
        open_timeout: Duration::from_secs(args.open_timeout.max(1)),
        snapshot: SnapshotOptions {
            // No bar to feed: spare V8 its object-counting pass.
            report_progress: !args.json && std::io::stderr().is_terminal(),
            ..SnapshotOptions::default()
        },
        route: if args.stream {
            RoutePolicy::Stream
        } else if args.in_process {
            RoutePolicy::InProcess
        } else {
            RoutePolicy::Auto
        },
    };
    let pid = match target {
        Target::Pid(pid) => Some(pid),
        _ => None,
    };
    if args.count > 1 {
        if args.analyze {
            anyhow::bail!(
                "--analyze takes one snapshot; run `leakhound find` on the --count series instead"
            );
        }
        return run_series(&args, &target, &opts, pid);
    }
    let path = match &args.output {
        Some(p) => p.clone(),
        None => PathBuf::from(default_snapshot_name(pid)),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    // --analyze: the engine parses on its own thread from a bounded pipe.
    let (tee, parser) = if args.analyze {
        let (writer, reader) = pipe(64);
        let handle = std::thread::Builder::new()
            .name("leakhound-parse".into())
            .spawn(move || analyze(reader))
            .context("starting the parser thread")?;
        (Some(writer), Some(handle))
    } else {
        (None, None)
    };

    let progress = Progress::new(args.json);
    let mut events = progress.clone();
    let hooks = CaptureHooks {
        on_event: Some(Box::new(move |e| events.on_event(e))),
        tee: tee.map(|w| Box::new(w) as Box<dyn std::io::Write + Send>),
        cancel: Some(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        })),
    };
    let result = runtime.block_on(capture_snapshot_to_file_with(&target, &path, &opts, hooks));
    progress.finish();
    let report = result?;

    let (analysis, analysis_error) = match parser {
        Some(handle) => {
            let spinner = if args.json {
                ProgressBar::hidden()
            } else {
                output::spinner("Finishing the analysis")
            };
            let r = handle
                .join()
                .unwrap_or_else(|_| Err("the parser thread panicked".into()));
            spinner.finish_and_clear();
            match r {
                Ok(a) => (Some(a), None),
                Err(e) => (None, Some(e)),
            }
        }
        None => (None, None),
    };

    if args.json {
        output::print_json(&JsonReport {
            capture: &report,
            analysis: analysis.as_ref(),
            analysis_error: analysis_error.as_deref(),
        })?;
        return Ok(Status::Ok);
    }
    print_report(&report);
    if let Some(a) = &analysis {
        print_analysis(a);
    }
    if let Some(e) = &analysis_error {
        eprintln!("warning: the snapshot was written but could not be analysed: {e}");
    }
    Ok(Status::Ok)
}

/// `--count N`: N snapshots over one session into a directory, then one report.
fn run_series(args: &Args, target: &Target, opts: &CaptureOptions, pid: Option<u32>) -> CmdResult {
    let dir = args.output.clone().unwrap_or_else(|| PathBuf::from("."));
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!(
            "{}: with --count, -o names a directory for the snapshots",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // One timestamp for the series, then the index: `find DIR` orders them by name.
    let stem = default_snapshot_name(pid);
    let stem = stem.trim_end_matches(".heapsnapshot");
    let paths: Vec<PathBuf> = (1..=args.count)
        .map(|k| dir.join(format!("{stem}.{k}.heapsnapshot")))
        .collect();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let progress = Progress::new(args.json);
    let mut events = progress.clone();
    let hooks = CaptureHooks {
        on_event: Some(Box::new(move |e| events.on_event(e))),
        tee: None,
        cancel: Some(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        })),
    };
    let result = runtime.block_on(capture_series_with(
        target,
        &paths,
        args.interval,
        opts,
        hooks,
    ));
    progress.finish();
    let reports = result?;
    if args.json {
        #[derive(Serialize)]
        struct SeriesJson<'a> {
            snapshots: &'a [CaptureReport],
            interval_secs: f64,
        }
        output::print_json(&SeriesJson {
            snapshots: &reports,
            interval_secs: args.interval.as_secs_f64(),
        })?;
        return Ok(Status::Ok);
    }
    for r in &reports {
        print_report(r);
    }
    println!(
        "{} snapshots of one session in {}: compare them with `leakhound find {}`",
        reports.len(),
        dir.display(),
        dir.display()
    );
    Ok(Status::Ok)
}

fn print_report(r: &CaptureReport) {
    let who = match r.pid {
        Some(pid) => format!("process {pid}"),
        None => r.ws_url.clone(),
    };
    println!(
        "{} {} ({}) from {who} in {:.1}s",
        output::paint("Wrote", output::Style::Bold),
        r.path.display(),
        output::fmt_bytes(r.bytes),
        r.duration.as_secs_f64()
    );
    match r.route {
        Route::InProcess => println!("  written by the process itself (v8.writeHeapSnapshot)"),
        Route::Stream => println!("  streamed over the inspector (HeapProfiler.takeHeapSnapshot)"),
    }
    if r.opened_inspector {
        let state = match r.inspector_closed {
            Some(true) => "closed again",
            _ => "could NOT be closed again",
        };
        println!("  inspector: opened with SIGUSR1, {state}");
    }
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
}

fn print_analysis(a: &Analysis) {
    println!(
        "Total size {}, {} nodes, {} edges. Top classes by retained size:",
        output::fmt_bytes(a.total_size),
        output::fmt_count(a.nodes),
        output::fmt_count(a.edges),
    );
    let mut t = output::table(&["class", "count", "shallow size", "retained size"]);
    for c in &a.top_classes {
        t.add_row(vec![
            c.name.clone(),
            output::fmt_count(c.count),
            output::fmt_bytes(c.self_size),
            output::fmt_bytes(c.retained_size),
        ]);
    }
    println!("{t}");
}

/// Runs on the parser thread: the engine reads the snapshot as it streams in, then analyses.
fn analyze(reader: leakhound_inspector::ChannelReader) -> Result<Analysis, String> {
    let reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let raw = leakhound_snapshot::parse_reader(reader, &mut |_| {}).map_err(|e| e.to_string())?;
    let snap = leakhound_snapshot::HeapSnapshot::analyze(raw);
    let mut classes = snap.aggregates();
    classes.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then_with(|| a.name.cmp(&b.name))
    });
    let top_classes = classes
        .into_iter()
        .take(10)
        .map(|c| ClassRow {
            name: truncate(&c.name, 80),
            count: c.count,
            self_size: c.self_size,
            retained_size: c.retained_size,
        })
        .collect();
    Ok(Analysis {
        nodes: snap.node_count() as u64,
        edges: snap.edge_count() as u64,
        total_size: snap.total_size(),
        top_classes,
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Terminal progress: a spinner while connecting, a bar while V8 walks the heap, a byte
/// counter while the snapshot streams in. Hidden with --json or off a terminal.
#[derive(Clone)]
struct Progress {
    bar: std::sync::Arc<std::sync::Mutex<ProgressBar>>,
    phase: std::sync::Arc<std::sync::Mutex<u8>>,
    quiet: bool,
    /// The process writes the file itself: bytes grow on disk, they do not arrive.
    in_process: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            output::spinner("Connecting to the inspector")
        };
        Progress {
            bar: std::sync::Arc::new(std::sync::Mutex::new(bar)),
            phase: std::sync::Arc::new(std::sync::Mutex::new(0)),
            quiet,
            in_process: Default::default(),
        }
    }

    fn replace(&self, bar: ProgressBar) {
        if let Ok(mut b) = self.bar.lock() {
            b.finish_and_clear();
            *b = bar;
        }
    }

    fn with_bar(&self, f: impl FnOnce(&ProgressBar)) {
        if let Ok(b) = self.bar.lock() {
            f(&b);
        }
    }

    fn on_event(&mut self, e: CaptureEvent) {
        if self.quiet {
            return;
        }
        let mut phase = match self.phase.lock() {
            Ok(p) => p,
            Err(_) => return,
        };
        match e {
            CaptureEvent::Resolved(r) => {
                let how = if r.opened_by_us {
                    " (opened with SIGUSR1)"
                } else {
                    ""
                };
                self.with_bar(|b| b.set_message(format!("Connected to {}{how}", r.ws_url)));
            }
            CaptureEvent::Taking(route) => {
                self.in_process.store(
                    route == Route::InProcess,
                    std::sync::atomic::Ordering::Relaxed,
                );
            }
            CaptureEvent::CollectingGarbage => {
                self.with_bar(|b| b.set_message("Collecting garbage"));
            }
            CaptureEvent::Snapshot(SnapshotProgress::Traversal { done, total }) => {
                if *phase < 1 {
                    *phase = 1;
                    let bar = ProgressBar::new(total.max(1));
                    if let Ok(style) = indicatif::ProgressStyle::with_template(
                        "{msg} [{bar:30}] {pos}/{len} objects ({eta})",
                    ) {
                        bar.set_style(style.progress_chars("=> "));
                    }
                    bar.set_message("Walking the heap");
                    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                    }
                    self.replace(bar);
                }
                if *phase == 1 {
                    self.with_bar(|b| {
                        b.set_length(total.max(1));
                        b.set_position(done);
                    });
                }
            }
            CaptureEvent::Snapshot(SnapshotProgress::Bytes(n)) => {
                if *phase < 2 {
                    *phase = 2;
                    let label = if self.in_process.load(std::sync::atomic::Ordering::Relaxed) {
                        "The process is writing its snapshot"
                    } else {
                        "Receiving the snapshot"
                    };
                    let bar = output::byte_progress(None, label);
                    bar.enable_steady_tick(Duration::from_millis(120));
                    self.replace(bar);
                }
                self.with_bar(|b| b.set_position(n));
            }
            CaptureEvent::Finishing => {
                *phase = 3;
                self.replace(output::spinner("Syncing to disk"));
            }
            CaptureEvent::ClosingInspector => {
                *phase = 3;
                self.replace(output::spinner("Turning the inspector off again"));
            }
            CaptureEvent::Waiting { next, of, interval } => {
                *phase = 0;
                self.replace(output::spinner(&format!(
                    "Snapshot {next} of {of} in {}",
                    leakhound_check::units::fmt_duration(interval)
                )));
            }
        }
    }

    fn finish(&self) {
        self.with_bar(|b| b.finish_and_clear());
    }
}
