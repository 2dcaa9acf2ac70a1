//! # leakhound-supervisor: `leakhound run`
//!
//! Supervises a Node service (any command, really): spawns it in its own process group,
//! forwards signals, restarts it by policy with exponential backoff and a crash-loop limit,
//! runs N instances with one-at-a-time (rolling) restarts, samples memory every interval
//! (RSS from /proc, cgroup v2, V8 heap from a preload agent over an inherited socket), fits a
//! robust leak trend on the post-GC heap, alerts, takes heap snapshots (baseline, on alert,
//! before a memory-limit restart, on request), runs the finder on them, uploads them, and
//! exports Prometheus metrics with a small token-protected control API.
//!
//! Entry point: [`run`] with resolved [`Settings`]; it returns the exit code to use.

pub mod agent;
pub mod alerts;
pub mod child;
pub mod config;
pub mod metrics;
pub mod monitor;
pub mod procfs;
pub mod server;
pub mod snapshots;
pub mod state;
pub mod supervisor;
pub mod timeline;
pub mod trend;
pub mod units;
pub mod upload;

pub use config::{load_file, ConfigError, LimitOn, RestartPolicy, RunOptions, Settings};

use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;
use std::time::Duration;
use supervisor::{Ctx, InstanceEnd};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// Why `leakhound run` could not go on; one line each.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Spawn(String),
    #[error("{0}")]
    CrashLoop(String),
    #[error("--upload: {0}")]
    Upload(String),
}

fn io_err(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> SupervisorError {
    let path = path.to_string();
    move |source| SupervisorError::Io { path, source }
}

/// Supervises until the children are done or leakhound is stopped; returns the exit code
/// (the child's: its code, or 128 + signal; with several instances the first non-zero).
pub async fn run(settings: Settings) -> Result<i32, SupervisorError> {
    let settings = Arc::new(settings);
    let s = settings.clone();

    // Signals first, so that none is lost between spawning and listening.
    let mut sigint = signal(SignalKind::interrupt()).map_err(io_err("SIGINT handler"))?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(io_err("SIGTERM handler"))?;
    let mut sighup = signal(SignalKind::hangup()).map_err(io_err("SIGHUP handler"))?;
    let reaper = child::Reaper::start().map_err(io_err("SIGCHLD handler"))?;

    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&s.snapshot_dir)
        .map_err(io_err(s.snapshot_dir.display()))?;
    let (timeline, timeline_task) =
        timeline::Timeline::open(&s.timeline).map_err(io_err(s.timeline.display()))?;
    let agent_file = if s.agent {
        Some(agent::AgentFile::write().map_err(io_err("agent file in the temp directory"))?)
    } else {
        None
    };
    let listener = match s.listen {
        Some(addr) => {
            Some(std::net::TcpListener::bind(addr).map_err(io_err(format!("--listen {addr}")))?)
        }
        None => None,
    };
    let uploader = match &s.upload {
        Some(u) => Some(
            upload::Uploader::new(u, s.upload_endpoint.as_deref())
                .map_err(SupervisorError::Upload)?,
        ),
        None => None,
    };

    let n = s.instances as usize;
    let shared = state::new_shared(n);
    let snaps = Arc::new(snapshots::Snapshotter::new(
        s.snapshot_dir.clone(),
        s.keep,
        s.keep_bytes,
        uploader,
        s.finder,
        timeline.clone(),
        shared.clone(),
    ));
    let alerter = alerts::Alerter::new(s.on_alert.clone(), s.webhook.clone(), reaper.clone());
    let (stop_tx, stop_rx) = watch::channel(None::<i32>);
    let ctx = Arc::new(Ctx {
        settings: settings.clone(),
        reaper: reaper.clone(),
        shared: shared.clone(),
        timeline: timeline.clone(),
        agent_path: agent_file.as_ref().map(|a| a.path.clone()),
        listen_fd: listener.as_ref().map(|l| l.as_raw_fd()),
        rolling: Arc::new(tokio::sync::Mutex::new(())),
        stop: stop_rx,
        snaps,
        alerter,
        page: procfs::page_size(),
        clk: procfs::clock_ticks(),
        boot: procfs::boot_time().unwrap_or(0),
    });

    timeline.event(
        "start",
        serde_json::json!({
            "command": s.command, "instances": n, "leakhound_pid": std::process::id(),
            "max_memory": s.max_memory, "interval_ms": s.interval.as_millis() as u64,
            "warmup_ms": s.warmup.as_millis() as u64,
        }),
    );

    let mut tasks = tokio::task::JoinSet::new();
    let mut senders = Vec::with_capacity(n);
    for idx in 0..n {
        let (tx, rx) = mpsc::channel(16);
        senders.push(tx);
        let ctx = ctx.clone();
        tasks.spawn(async move { (idx, supervisor::run_instance(idx, ctx, rx).await) });
    }

    if let Some(addr) = s.metrics {
        let bound = server::start(
            addr,
            server::Server {
                shared: shared.clone(),
                token: s.control_token.clone(),
                instances: senders.clone(),
            },
        )
        .await
        .map_err(io_err(format!("--metrics {addr}")))?;
        crate::say!(
            "metrics at http://{bound}/metrics{}",
            if s.control_token.is_some() {
                "; control API at /control/{snapshot,restart}"
            } else {
                ""
            }
        );
        timeline.event("metrics", serde_json::json!({"address": bound.to_string()}));
    }

    if let Some(dir) = procfs::own_cgroup_dir() {
        let shared = shared.clone();
        let timeline = timeline.clone();
        let every = s.interval.max(Duration::from_secs(1));
        tokio::spawn(async move {
            let mut last_kills = None;
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let cg = procfs::read_cgroup(&dir);
                if last_kills.is_some_and(|k| cg.oom_kill > k) {
                    crate::say!(
                        "cgroup: the kernel OOM killer struck ({} kills so far)",
                        cg.oom_kill
                    );
                    timeline.event("oom_kill", serde_json::json!({"cgroup": cg}));
                }
                last_kills = Some(cg.oom_kill);
                if let Ok(mut st) = shared.lock() {
                    st.cgroup = Some(cg);
                }
            }
        });
    }

    let mut ends: Vec<Option<InstanceEnd>> = (0..n).map(|_| None).collect();
    let mut kill_at: Option<tokio::time::Instant> = None;
    let mut gave_up: Option<String> = None;
    let pids = |shared: &state::Shared| -> Vec<i32> {
        shared
            .lock()
            .map(|st| st.instances.iter().filter_map(|i| i.pid).collect())
            .unwrap_or_default()
    };
    let stop = |sig: i32, kill_at: &mut Option<tokio::time::Instant>| {
        if stop_tx.borrow().is_some() {
            // A second INT/TERM: no more waiting.
            crate::say!("second {}: SIGKILL", child::signal_name(sig));
            for pid in pids(&shared) {
                child::kill_group(pid, libc::SIGKILL);
            }
            return;
        }
        stop_tx.send_replace(Some(sig));
        *kill_at = Some(tokio::time::Instant::now() + s.grace);
    };
    while !tasks.is_empty() {
        let deadline = kill_at;
        tokio::select! {
            _ = sigint.recv() => stop(libc::SIGINT, &mut kill_at),
            _ = sigterm.recv() => stop(libc::SIGTERM, &mut kill_at),
            _ = sighup.recv() => {
                for pid in pids(&shared) {
                    child::kill_group(pid, libc::SIGHUP);
                }
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                kill_at = None;
                for pid in pids(&shared) {
                    crate::say!("pid {pid} still running {} after the stop signal; SIGKILL", supervisor::fmt_dur(s.grace));
                    child::kill_group(pid, libc::SIGKILL);
                }
            }
            Some(joined) = tasks.join_next() => {
                let Ok((idx, end)) = joined else { continue };
                match &end {
                    InstanceEnd::GaveUp(msg) | InstanceEnd::SpawnFailed(msg) => {
                        if gave_up.is_none() {
                            gave_up = Some(msg.clone());
                        }
                        if !tasks.is_empty() {
                            stop(libc::SIGTERM, &mut kill_at);
                        }
                    }
                    InstanceEnd::Exited(st) => {
                        tracing::info!("instance {idx} done: {}", child::describe(*st));
                    }
                }
                ends[idx] = Some(end);
            }
        }
    }
    drop(senders);

    let code = ends
        .iter()
        .filter_map(|e| match e {
            Some(InstanceEnd::Exited(st)) => Some(child::exit_code(*st)),
            _ => None,
        })
        .find(|c| *c != 0)
        .unwrap_or(0);
    timeline.event(
        "stop",
        serde_json::json!({"code": code, "gave_up": gave_up}),
    );
    drop(ctx);
    timeline.flush().await;
    drop(timeline_task);
    drop(agent_file);
    drop(listener);
    match gave_up {
        Some(msg) if msg.starts_with("cannot start") || msg.contains(": cannot start") => {
            Err(SupervisorError::Spawn(msg))
        }
        Some(msg) => Err(SupervisorError::CrashLoop(msg)),
        None => Ok(code),
    }
}
