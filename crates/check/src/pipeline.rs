//! The check itself: start the app, warm it up, K rounds of load each followed by a GC'd
//! snapshot, memory sampled throughout, then stop the app, run the finder and judge.

use crate::app::{App, AppError, AppSpec};
use crate::inspect::Inspector;
use crate::loadgen::{self, LoadRun, LoadSpec, LoadStats, Stop, Target};
use crate::memory::{group_rss, Marker, Sample};
use crate::report::{
    self, AppReport, CheckReport, ExternalLoad, LoadReport, PhasePoint, RoundReport,
    ScenarioSummary, Timeline,
};
use crate::scenario::{Amount, Load, Scenario};
use crate::units::fmt_duration;
use crate::verdict::{self, Level, VerdictInput};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why a check could not produce a verdict (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    #[error("{error}")]
    App {
        error: AppError,
        /// The app's last output lines, for the user.
        log_tail: Vec<String>,
        log: PathBuf,
    },
    #[error("the app exited ({status}) during {phase}")]
    Crashed {
        phase: String,
        status: String,
        log_tail: Vec<String>,
        log: PathBuf,
    },
    #[error("inspector: {message}")]
    Inspector {
        message: String,
        log_tail: Vec<String>,
        log: PathBuf,
    },
    #[error("load command `{cmd}` failed ({status}) in {phase}; its output is in {}", log.display())]
    LoadCommand {
        cmd: String,
        status: String,
        phase: String,
        log: PathBuf,
        log_tail: Vec<String>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CheckError {
    /// The last lines of the app's (or load command's) output, when they explain the error.
    pub fn log_tail(&self) -> Option<(&Path, &[String])> {
        match self {
            CheckError::App { log_tail, log, .. }
            | CheckError::Crashed { log_tail, log, .. }
            | CheckError::Inspector { log_tail, log, .. }
            | CheckError::LoadCommand { log_tail, log, .. } => Some((log.as_path(), log_tail)),
            _ => None,
        }
    }
}

/// What the check is doing, for a progress display.
#[derive(Debug, Clone)]
pub enum Progress {
    Starting {
        cmd: String,
    },
    Ready {
        after: Duration,
        pid: i32,
    },
    Warmup {
        duration: Duration,
    },
    Round {
        round: u32,
        of: u32,
    },
    RoundLoaded {
        round: u32,
        stats: Option<LoadStats>,
        elapsed: Duration,
    },
    Snapshot {
        name: String,
        bytes: u64,
        post_gc_heap: u64,
    },
    Stopping,
    Analysing {
        snapshots: usize,
    },
}

struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start_sampler(pgid: i32, inspector: Arc<Inspector>, every: Duration, t0: Instant) -> Sampler {
    let samples = Arc::new(Mutex::new(Vec::new()));
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let s = samples.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = rx.changed() => return,
            }
            let rss = tokio::task::spawn_blocking(move || group_rss(pgid))
                .await
                .ok()
                .flatten();
            let Some(rss) = rss else { continue };
            // Skipped (None) while a GC or snapshot holds the session.
            let in_snapshot = inspector.busy();
            let heap = inspector.try_heap_usage().await;
            let sample = Sample {
                t_ms: t0.elapsed().as_millis() as u64,
                rss,
                heap_used: heap.map(|h| h.0),
                heap_total: heap.map(|h| h.1),
                in_snapshot,
            };
            if let Ok(mut v) = s.lock() {
                v.push(sample);
            }
        }
    });
    Sampler {
        samples,
        stop,
        task,
    }
}

enum LoadOutcome {
    Builtin(LoadRun),
    External(ExternalLoad, Option<LoadStats>),
}

/// Runs one phase of load, failing if the app dies meanwhile.
async fn drive(
    scenario: &Scenario,
    app: &App,
    targets: &[Target],
    phase: &str,
    stop: Stop,
    round: Option<u32>,
) -> Result<LoadOutcome, CheckError> {
    let crashed = |status: String| CheckError::Crashed {
        phase: format!("{phase} (under load)"),
        status,
        log_tail: app.log().last_lines(),
        log: app.log().path().to_path_buf(),
    };
    match &scenario.load {
        Load::Builtin(_) => {
            let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
            let spec = LoadSpec {
                targets: targets.to_vec(),
                connections: scenario.connections,
                stop,
                timeout: scenario.request_timeout,
            };
            let load = loadgen::run_cancellable(&spec, Some(&cancel_rx));
            tokio::pin!(load);
            tokio::select! {
                run = &mut load => {
                    if let Some(status) = app.exited() {
                        return Err(crashed(status));
                    }
                    Ok(LoadOutcome::Builtin(run))
                }
                status = app.wait_exit() => {
                    let _ = cancel_tx.send(true);
                    let _ = load.await;
                    Err(crashed(status))
                }
            }
        }
        Load::Command(cmd) => {
            let name = match round {
                Some(r) => format!("load-round-{r}.log"),
                None => "load-warmup.log".into(),
            };
            let log = scenario.out.join(name);
            let started = Instant::now();
            let log_for_cmd = log.clone();
            let ext = crate::external::run(cmd, scenario, round, &log_for_cmd, stop);
            tokio::pin!(ext);
            tokio::select! {
                res = &mut ext => {
                    if let Some(status) = app.exited() {
                        return Err(crashed(status));
                    }
                    let (status, ok, tail, stats) = res.map_err(|source| CheckError::Io { path: log.clone(), source })?;
                    if !ok {
                        return Err(CheckError::LoadCommand {
                            cmd: cmd.clone(),
                            status,
                            phase: phase.to_string(),
                            log,
                            log_tail: tail,
                        });
                    }
                    Ok(LoadOutcome::External(
                        ExternalLoad { cmd: cmd.clone(), status, elapsed_secs: started.elapsed().as_secs_f64(), log },
                        stats,
                    ))
                }
                status = app.wait_exit() => Err(crashed(status)),
            }
        }
    }
}

/// GC, measure, snapshot.
async fn checkpoint(
    inspector: &Inspector,
    app: &App,
    path: &Path,
    t0: Instant,
    name: &str,
) -> Result<PhasePoint, CheckError> {
    let fail = |message: String| {
        let message = match app.exited() {
            Some(status) => format!("{message} (the app exited: {status})"),
            None => message,
        };
        CheckError::Inspector {
            message: format!("{name}: {message}"),
            log_tail: app.log().last_lines(),
            log: app.log().path().to_path_buf(),
        }
    };
    let (used, _) = inspector.gc_and_usage().await.map_err(fail)?;
    let rss = group_rss(app.pid());
    let t_ms = t0.elapsed().as_millis() as u64;
    let bytes = inspector.snapshot(path).await.map_err(fail)?;
    Ok(PhasePoint {
        post_gc_heap: used,
        rss,
        snapshot: Some(path.to_path_buf()),
        snapshot_bytes: bytes,
        t_ms,
    })
}

fn amount_text(a: &Amount) -> String {
    match a {
        Amount::Duration(d) => fmt_duration(*d),
        Amount::Requests(n) => format!("{n} requests"),
    }
}

/// Runs the scenario end to end. `scenario_file` is only used for report paths.
pub async fn run(
    scenario: &Scenario,
    scenario_file: Option<&Path>,
    on: &(dyn Fn(Progress) + Sync),
) -> Result<CheckReport, CheckError> {
    let started_wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckError::Io { path, source }
    };
    std::fs::create_dir_all(&scenario.out).map_err(io(&scenario.out))?;
    // Old round snapshots would confuse anyone reading the directory.
    if let Ok(dir) = std::fs::read_dir(&scenario.out) {
        for e in dir.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if (n.starts_with("round-") || n == "baseline.heapsnapshot")
                && n.ends_with(".heapsnapshot")
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let targets: Vec<Target> = match &scenario.load {
        Load::Builtin(specs) => specs
            .iter()
            .map(Target::from_spec)
            .collect::<Result<_, _>>()
            .map_err(|m| CheckError::Scenario(crate::scenario::ScenarioError::Invalid(m)))?,
        Load::Command(_) => Vec::new(),
    };
    let log_path = scenario.out.join("app.log");
    on(Progress::Starting {
        cmd: scenario.cmd.clone(),
    });
    let t0 = Instant::now();
    let mut app = App::start(
        AppSpec {
            cmd: &scenario.cmd,
            cwd: &scenario.cwd,
            env: &scenario.env,
            inspect: true,
            log_path: &log_path,
        },
        &scenario.ready,
    )
    .await
    .map_err(|error| CheckError::App {
        error,
        log_tail: Vec::new(),
        log: log_path.clone(),
    })?;
    let result = run_started(scenario, scenario_file, on, &mut app, &targets, t0).await;
    on(Progress::Stopping);
    let stopped = app.stop(scenario.stop_timeout).await;
    let (mut report, inspector_ok) = result?;
    report.app.stopped = stopped;
    report.started_at_unix_ms = started_wall;
    let _ = inspector_ok;

    // The finder over the snapshots (CPU-heavy: off the async threads).
    let snapshots: Vec<PathBuf> = std::iter::once(&report.baseline)
        .chain(report.rounds.iter().map(|r| &r.after))
        .filter_map(|p| p.snapshot.clone())
        .collect();
    on(Progress::Analysing {
        snapshots: snapshots.len(),
    });
    match tokio::task::spawn_blocking(move || crate::findings::find(&snapshots)).await {
        Ok(Ok(list)) => report.findings = list,
        Ok(Err(e)) => report.finder_error = Some(e),
        Err(e) => report.finder_error = Some(format!("the finder panicked: {e}")),
    }
    let root = report.scenario.source_root.clone();
    for f in &mut report.findings {
        if let Some(src) =
            report::resolve_source(f, &scenario.cwd, &root, crate::findings::LINE_BASE)
        {
            if let Some(obj) = f.as_object_mut() {
                obj.insert(
                    "source".into(),
                    serde_json::to_value(src).unwrap_or(serde_json::Value::Null),
                );
            }
        }
    }
    report.failing_findings = report
        .views()
        .iter()
        .filter(|f| f.confidence >= scenario.fail_on)
        .count();
    let fail = report.failing_findings > 0 || report.verdict.level == Level::Red;
    report.exit_code = if fail { 1 } else { 0 };
    report.status = if fail { "fail" } else { "pass" }.into();
    report.elapsed_secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

async fn run_started(
    scenario: &Scenario,
    scenario_file: Option<&Path>,
    on: &(dyn Fn(Progress) + Sync),
    app: &mut App,
    targets: &[Target],
    t0: Instant,
) -> Result<(CheckReport, bool), CheckError> {
    let app_err = |app: &App, error: AppError| CheckError::App {
        error,
        log_tail: app.log().last_lines(),
        log: app.log().path().to_path_buf(),
    };
    let ready_after = match app
        .wait_ready(&scenario.ready, scenario.ready_timeout)
        .await
    {
        Ok(d) => d,
        Err(e) => {
            // Let the output pumps drain the last lines of a dying app.
            tokio::time::sleep(Duration::from_millis(150)).await;
            return Err(app_err(app, e));
        }
    };
    on(Progress::Ready {
        after: ready_after,
        pid: app.pid(),
    });
    let inspector_fail = |app: &App, message: String| CheckError::Inspector {
        message,
        log_tail: app.log().last_lines(),
        log: app.log().path().to_path_buf(),
    };
    let Some(url) = app.inspector_url(Duration::from_secs(5)).await else {
        return Err(inspector_fail(
            app,
            "the app never printed \"Debugger listening on ws://...\"; `cmd` must start node \
             (leakhound adds --inspect=127.0.0.1:0 through NODE_OPTIONS)"
                .into(),
        ));
    };
    let inspector = Arc::new(
        Inspector::connect(&url)
            .await
            .map_err(|m| inspector_fail(app, format!("cannot connect to {url}: {m}")))?,
    );
    let sampler = start_sampler(app.pid(), inspector.clone(), scenario.sample_interval, t0);
    let markers = Arc::new(Mutex::new(Vec::<Marker>::new()));
    let mark = |label: String| {
        if let Ok(mut m) = markers.lock() {
            m.push(Marker {
                t_ms: t0.elapsed().as_millis() as u64,
                label,
            });
        }
    };

    let result = async {
        let mut warmup_stats = None;
        if !scenario.warmup.is_zero() {
            on(Progress::Warmup {
                duration: scenario.warmup,
            });
            mark("warm-up".into());
            match drive(
                scenario,
                app,
                targets,
                "the warm-up",
                Stop::Duration(scenario.warmup),
                None,
            )
            .await?
            {
                LoadOutcome::Builtin(run) => warmup_stats = Some(run.stats),
                LoadOutcome::External(..) => {}
            }
        }
        let baseline = checkpoint(
            &inspector,
            app,
            &scenario.out.join("baseline.heapsnapshot"),
            t0,
            "baseline snapshot",
        )
        .await?;
        // Snapshotting grows the process (buffers the allocator keeps), so the RSS baseline
        // is taken after the baseline snapshot, not before it.
        let rss_after_baseline = (t0.elapsed().as_millis() as u64, group_rss(app.pid()));
        on(Progress::Snapshot {
            name: "baseline".into(),
            bytes: baseline.snapshot_bytes,
            post_gc_heap: baseline.post_gc_heap,
        });
        let stop = match scenario.amount {
            Amount::Duration(d) => Stop::Duration(d),
            Amount::Requests(n) => Stop::Requests(n),
        };
        let mut rounds = Vec::new();
        let mut hists = Vec::new();
        for k in 1..=scenario.rounds {
            on(Progress::Round {
                round: k,
                of: scenario.rounds,
            });
            mark(format!("round {k}"));
            let began = Instant::now();
            let outcome =
                drive(scenario, app, targets, &format!("round {k}"), stop, Some(k)).await?;
            let (load, load_cmd) = match outcome {
                LoadOutcome::Builtin(run) => {
                    hists.push(run.histogram);
                    (Some(run.stats), None)
                }
                LoadOutcome::External(e, stats) => (stats, Some(e)),
            };
            on(Progress::RoundLoaded {
                round: k,
                stats: load.clone(),
                elapsed: began.elapsed(),
            });
            let after = checkpoint(
                &inspector,
                app,
                &scenario.out.join(format!("round-{k}.heapsnapshot")),
                t0,
                &format!("round {k} snapshot"),
            )
            .await?;
            on(Progress::Snapshot {
                name: format!("round {k}"),
                bytes: after.snapshot_bytes,
                post_gc_heap: after.post_gc_heap,
            });
            rounds.push(RoundReport {
                round: k,
                load,
                load_cmd,
                after,
            });
        }
        Ok::<_, CheckError>((warmup_stats, baseline, rounds, hists, rss_after_baseline))
    }
    .await;
    let _ = sampler.stop.send(true);
    let _ = sampler.task.await;
    inspector.close().await;
    // A node that crashed with our session attached prints its error and exits only now.
    let result = match result {
        Err(CheckError::Crashed { phase, status, .. }) => {
            let status = app
                .wait_process_exit(Duration::from_secs(3))
                .await
                .unwrap_or(status);
            Err(CheckError::Crashed {
                phase,
                status,
                log_tail: app.log().last_lines(),
                log: app.log().path().to_path_buf(),
            })
        }
        other => other,
    };
    let (warmup_stats, baseline, rounds, hists, (rss_t, rss_baseline)) = result?;

    let samples = sampler
        .samples
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    let markers = markers.lock().map(|m| m.clone()).unwrap_or_default();

    // All rounds' load together.
    let mut total: Option<LoadStats> = None;
    for r in &rounds {
        if let Some(l) = &r.load {
            total.get_or_insert_with(LoadStats::default).add_counts(l);
        }
    }
    if let Some(t) = &mut total {
        if !hists.is_empty() {
            t.latency = loadgen::latency_of(&loadgen::merge_histograms(&hists));
        }
    }
    let rss_max = samples
        .iter()
        .filter(|s| s.t_ms >= rss_t && !s.in_snapshot)
        .map(|s| s.rss)
        .chain(rss_baseline)
        .max();
    let input = VerdictInput {
        post_gc_heap: std::iter::once(baseline.post_gc_heap)
            .chain(rounds.iter().map(|r| r.after.post_gc_heap))
            .collect(),
        round_requests: rounds
            .iter()
            .map(|r| r.load.as_ref().map(|l| l.requests))
            .collect(),
        rss_baseline,
        rss_max,
        error_rate: total.as_ref().map(|t| t.error_rate()),
    };
    let verdict = verdict::judge(&input, &scenario.verdict);
    let summary = ScenarioSummary {
        cmd: scenario.cmd.clone(),
        cwd: scenario.cwd.clone(),
        source_root: report::source_root(&scenario.cwd),
        scenario_file: scenario_file.map(Path::to_path_buf),
        rounds: scenario.rounds,
        amount: amount_text(&scenario.amount),
        connections: scenario.connections,
        load: match &scenario.load {
            Load::Builtin(t) => format!(
                "built-in ({} target{})",
                t.len(),
                if t.len() == 1 { "" } else { "s" }
            ),
            Load::Command(c) => c.clone(),
        },
        fail_on: scenario.fail_on,
        out_dir: scenario.out.clone(),
    };
    let report = CheckReport {
        tool: "leakhound".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        status: String::new(),
        exit_code: 0,
        scenario: summary,
        verdict,
        findings: Vec::new(),
        failing_findings: 0,
        finder_error: None,
        load: LoadReport {
            warmup: warmup_stats,
            total,
        },
        rounds,
        baseline,
        timeline: Timeline { samples, markers },
        app: AppReport {
            pid: app.pid(),
            log: app.log().path().to_path_buf(),
            ready_after_ms: ready_after.as_millis() as u64,
            stopped: String::new(),
        },
        started_at_unix_ms: 0,
        elapsed_secs: 0.0,
    };
    Ok((report, true))
}
