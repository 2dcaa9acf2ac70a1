//! The supervisor proper: one task per instance (spawn, sample, decide, restart) and a
//! coordinator (signals, crash-loop give-up, exit status).

use crate::agent::{self, AgentConn, AgentHandle, AgentMsg};
use crate::alerts::Alerter;
use crate::child::{self, describe, exit_code, kill_group, Reaper};
use crate::config::{RestartPolicy, Settings};
use crate::monitor::{fmt_secs, Action, Monitor, Rules};
use crate::procfs;
use crate::say;
use crate::snapshots::Snapshotter;
use crate::state::{with_instance, Shared};
use crate::timeline::Timeline;
use crate::units::fmt_size;
use serde_json::json;
use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::path::PathBuf;
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Commands to one instance (from the control API).
pub enum InstanceCmd {
    Restart {
        reason: String,
    },
    Snapshot {
        reason: String,
        reply: Option<oneshot::Sender<Result<String, String>>>,
    },
}

/// How an instance task ended.
#[derive(Debug)]
pub enum InstanceEnd {
    Exited(ExitStatus),
    GaveUp(String),
    SpawnFailed(String),
}

/// Everything an instance task needs.
pub struct Ctx {
    pub settings: Arc<Settings>,
    pub reaper: Reaper,
    pub shared: Shared,
    pub timeline: Timeline,
    pub agent_path: Option<PathBuf>,
    pub listen_fd: Option<RawFd>,
    /// Held by a restart from SIGTERM until the replacement is ready: restarts go one at a time.
    pub rolling: Arc<tokio::sync::Mutex<()>>,
    /// `Some(signal)` once leakhound is stopping (the signal to forward).
    pub stop: watch::Receiver<Option<i32>>,
    pub snaps: Arc<Snapshotter>,
    pub alerter: Alerter,
    pub page: u64,
    pub clk: u64,
    pub boot: u64,
}

struct Gen {
    pid: i32,
    exit: oneshot::Receiver<ExitStatus>,
    agent: Option<AgentConn>,
    started: Instant,
}

fn spawn_generation(idx: usize, ctx: &Ctx) -> Result<Gen, String> {
    let s = &ctx.settings;
    let mut cmd = Command::new(&s.command[0]);
    cmd.args(&s.command[1..]);
    cmd.env("LEAKHOUND_INSTANCE", idx.to_string());
    let mut fds = Vec::new();
    let mut parent_end = None;
    let mut child_end = None;
    if let Some(agent_path) = &ctx.agent_path {
        let (p, c) = std::os::unix::net::UnixStream::pair()
            .map_err(|e| format!("cannot create the agent socket: {e}"))?;
        fds.push((child::raw(&c), agent::AGENT_FD));
        cmd.env("LEAKHOUND_AGENT_FD", agent::AGENT_FD.to_string());
        cmd.env(
            "LEAKHOUND_AGENT_INTERVAL_MS",
            s.interval.as_millis().max(50).to_string(),
        );
        let existing = std::env::var("NODE_OPTIONS").ok();
        cmd.env(
            "NODE_OPTIONS",
            agent::node_options(existing.as_deref(), agent_path),
        );
        parent_end = Some(p);
        child_end = Some(c);
    }
    if let Some(fd) = ctx.listen_fd {
        fds.push((fd, 4));
        cmd.env("LEAKHOUND_LISTEN_FD", "4");
    }
    child::prepare(&mut cmd, fds);
    let (pid, exit) = ctx
        .reaper
        .spawn(&mut cmd)
        .map_err(|e| format!("cannot start `{}`: {e}", s.command[0]))?;
    drop(child_end);
    let agent = match parent_end {
        Some(p) => {
            p.set_nonblocking(true).ok();
            match tokio::net::UnixStream::from_std(p) {
                Ok(u) => Some(AgentConn::new(u)),
                Err(e) => {
                    tracing::warn!("agent socket unusable: {e}");
                    None
                }
            }
        }
        None => None,
    };
    Ok(Gen {
        pid,
        exit,
        agent,
        started: Instant::now(),
    })
}

/// Runs one instance until it is done (policy), gives up (crash loop) or leakhound stops.
pub async fn run_instance(
    idx: usize,
    ctx: Arc<Ctx>,
    mut cmds: mpsc::Receiver<InstanceCmd>,
) -> InstanceEnd {
    let s = ctx.settings.clone();
    let mut backoff = s.backoff;
    let mut crashes: VecDeque<Instant> = VecDeque::new();
    let mut generation: u64 = 0;
    let ready = watch::channel(0u64).0;
    let mut stop = ctx.stop.clone();
    let mut last_status: Option<ExitStatus> = None;
    loop {
        if stop.borrow().is_some() {
            return match last_status {
                Some(st) => InstanceEnd::Exited(st),
                None => InstanceEnd::Exited(std::os::unix::process::ExitStatusExt::from_raw(0)),
            };
        }
        generation += 1;
        let gen = match spawn_generation(idx, &ctx) {
            Ok(g) => g,
            Err(e) => {
                if generation == 1 {
                    return InstanceEnd::SpawnFailed(e);
                }
                say!("instance {idx}: {e}");
                crashes.push_back(Instant::now());
                if crashes.len() as u32 > s.max_restarts {
                    return InstanceEnd::GaveUp(format!("instance {idx}: {e}"));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(s.backoff_max);
                continue;
            }
        };
        let pid = gen.pid;
        with_instance(&ctx.shared, idx, |st| {
            st.pid = Some(pid);
            st.up = true;
            st.generation = generation;
            st.agent = None;
            st.leak_suspected = false;
            st.growth_bytes_per_second = 0.0;
            st.seconds_to_limit = None;
            st.heap_after_gc = None;
        });
        ctx.timeline.event(
            "spawn",
            json!({"instance": idx, "pid": pid, "generation": generation}),
        );
        tracing::info!("instance {idx}: started pid {pid}");
        let (status, requested, ran_for) =
            drive(idx, &ctx, gen, generation, &mut cmds, &ready).await;
        last_status = Some(status);
        with_instance(&ctx.shared, idx, |st| {
            st.up = false;
            st.pid = None;
        });
        ctx.timeline.event(
            "exit",
            json!({"instance": idx, "pid": pid, "status": describe(status), "code": exit_code(status)}),
        );
        if stop.borrow().is_some() {
            return InstanceEnd::Exited(status);
        }
        if let Some(reason) = requested {
            with_instance(&ctx.shared, idx, |st| {
                *st.restarts.entry(reason.clone()).or_default() += 1
            });
            ctx.timeline.event(
                "restart",
                json!({"instance": idx, "reason": reason, "delay_ms": 0, "previous_pid": pid}),
            );
            continue;
        }
        match s.restart {
            RestartPolicy::Never => return InstanceEnd::Exited(status),
            RestartPolicy::OnFailure if status.success() => return InstanceEnd::Exited(status),
            _ => {}
        }
        if ran_for >= s.stable_after {
            backoff = s.backoff;
        }
        let now = Instant::now();
        crashes.push_back(now);
        while crashes
            .front()
            .is_some_and(|t| now.duration_since(*t) > s.restart_window)
        {
            crashes.pop_front();
        }
        if crashes.len() as u32 > s.max_restarts {
            let msg = format!(
                "instance {idx} exited {} times within {} (last: {}); giving up (crash-loop limit --max-restarts {})",
                crashes.len(),
                fmt_secs(s.restart_window.as_secs_f64()),
                describe(status),
                s.max_restarts
            );
            ctx.timeline
                .event("gave_up", json!({"instance": idx, "message": msg}));
            return InstanceEnd::GaveUp(msg);
        }
        with_instance(&ctx.shared, idx, |st| {
            *st.restarts.entry("crash".into()).or_default() += 1
        });
        ctx.timeline.event(
            "restart",
            json!({"instance": idx, "reason": "crash", "delay_ms": backoff.as_millis() as u64,
                   "previous_pid": pid, "status": describe(status)}),
        );
        say!(
            "instance {idx} (pid {pid}) exited with {}; restarting in {}",
            describe(status),
            fmt_dur(backoff)
        );
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| s.is_some()) => return InstanceEnd::Exited(status),
        }
        backoff = (backoff * 2).min(s.backoff_max);
    }
}

pub fn fmt_dur(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

async fn next_msg(agent: &mut Option<AgentConn>) -> Option<AgentMsg> {
    match agent {
        Some(a) => a.next().await,
        None => std::future::pending().await,
    }
}

struct Restart {
    idx: usize,
    pid: i32,
    generation: u64,
    grace: Duration,
    exited: watch::Receiver<bool>,
    ready: watch::Receiver<u64>,
    wait_ready: bool,
    ready_timeout: Duration,
    rolling: Arc<tokio::sync::Mutex<()>>,
    snapshot: Option<(Arc<Snapshotter>, AgentHandle, Option<PathBuf>)>,
}

impl Restart {
    async fn run(mut self) {
        let guard = self.rolling.clone().lock_owned().await;
        if let Some((snaps, handle, baseline)) = self.snapshot.take() {
            match snaps
                .take(self.idx, self.pid, &handle, "before_restart")
                .await
            {
                Ok(path) => {
                    tokio::spawn(snaps.clone().after(self.idx, path, baseline));
                }
                Err(e) => say!("{e}"),
            }
        }
        if !*self.exited.borrow() {
            kill_group(self.pid, libc::SIGTERM);
            let done = tokio::time::timeout(self.grace, self.exited.wait_for(|e| *e))
                .await
                .is_ok();
            if !done {
                say!(
                    "instance {} (pid {}) did not stop within {}; SIGKILL",
                    self.idx,
                    self.pid,
                    fmt_dur(self.grace)
                );
                kill_group(self.pid, libc::SIGKILL);
                let _ = self.exited.wait_for(|e| *e).await.map(|_| ());
            }
        }
        if self.wait_ready {
            let g = self.generation;
            let ok = tokio::time::timeout(self.ready_timeout, self.ready.wait_for(|r| *r > g))
                .await
                .is_ok();
            if !ok {
                tracing::info!(
                    "instance {}: no readiness report within {}; moving on",
                    self.idx,
                    fmt_dur(self.ready_timeout)
                );
            }
        }
        drop(guard);
    }
}

/// Watches one process until it exits. Returns its status and the reason of the restart
/// that leakhound requested, if any.
async fn drive(
    idx: usize,
    ctx: &Arc<Ctx>,
    gen: Gen,
    generation: u64,
    cmds: &mut mpsc::Receiver<InstanceCmd>,
    ready: &watch::Sender<u64>,
) -> (ExitStatus, Option<String>, Duration) {
    let s = ctx.settings.clone();
    let Gen {
        pid,
        mut exit,
        mut agent,
        started,
    } = gen;
    let handle = agent.as_ref().map(|a| a.handle.clone());
    let mut monitor = Monitor::new(Rules::from_settings(&s));
    let mut ticker = tokio::time::interval(s.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (exited_tx, exited_rx) = watch::channel(false);
    let mut stop = ctx.stop.clone();
    let mut forwarded = false;
    let mut requested: Option<String> = None;
    let mut restart_task: Option<tokio::task::JoinHandle<()>> = None;
    let baseline: Arc<Mutex<Option<PathBuf>>> = Arc::new(Mutex::new(None));
    let mut alert_snapshot = false;
    let mut members = vec![pid];
    let mut tick_no: u64 = 0;
    let mut peak: u64 = 0;
    let mut heap_used: Option<u64> = None;
    let mut agent_pid: Option<u32> = None;
    let mut start_time = 0.0;
    let mut is_ready = false;

    // Stopping already (a signal arrived while this process was being spawned).
    if let Some(sig) = *stop.borrow() {
        kill_group(pid, sig);
        forwarded = true;
    }

    let status = loop {
        tokio::select! {
            biased;
            st = &mut exit => {
                let st = st.unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(0));
                let _ = exited_tx.send(true);
                break st;
            }
            r = stop.changed(), if !forwarded => {
                if r.is_err() {
                    forwarded = true;
                } else if let Some(sig) = *stop.borrow() {
                    kill_group(pid, sig);
                    forwarded = true;
                }
            }
            msg = next_msg(&mut agent) => {
                let Some(msg) = msg else {
                    agent = None;
                    continue;
                };
                if let Some(h) = &handle {
                    if h.resolve(&msg) {
                        continue;
                    }
                }
                let t = started.elapsed().as_secs_f64();
                match msg {
                    AgentMsg::Hello { pid: apid, node, heap_limit } => {
                        agent_pid = Some(apid);
                        tracing::info!("instance {idx}: agent up in pid {apid} ({node})");
                        with_instance(&ctx.shared, idx, |st| {
                            st.node_version = Some(node);
                            st.heap_limit = Some(heap_limit);
                        });
                        monitor.heap_limit = Some(heap_limit);
                    }
                    AgentMsg::Sample(sample) => {
                        heap_used = Some(sample.heap_used);
                        if sample.heap_limit > 0 {
                            monitor.heap_limit = Some(sample.heap_limit);
                        }
                        with_instance(&ctx.shared, idx, |st| st.agent = Some(*sample));
                    }
                    AgentMsg::Gc { heap_used_after, heap_limit, .. } => {
                        monitor.on_gc(t, heap_used_after, heap_limit);
                        with_instance(&ctx.shared, idx, |st| st.heap_after_gc = Some(heap_used_after));
                        ctx.timeline.write("gc", json!({"instance": idx, "pid": pid, "t": t, "heap_used_after": heap_used_after}));
                    }
                    AgentMsg::Listening { address } if !is_ready => {
                        is_ready = true;
                        ready.send_replace(generation);
                        ctx.timeline.event("ready", json!({"instance": idx, "pid": pid, "address": address}));
                    }
                    AgentMsg::Error { message, .. } => tracing::warn!("instance {idx}: agent: {message}"),
                    _ => {}
                }
            }
            _ = ticker.tick() => {
                tick_no += 1;
                if tick_no % 5 == 1 {
                    let m = procfs::group_members(pid);
                    members = if m.is_empty() { vec![pid] } else { m };
                }
                if start_time == 0.0 {
                    if let Some(st) = procfs::read_stat(pid) {
                        start_time = ctx.boot as f64 + st.start_ticks as f64 / ctx.clk as f64;
                    }
                }
                let g = procfs::sum_group(&members, ctx.page);
                let hwm = procfs::read_hwm(pid).unwrap_or(0);
                peak = peak.max(g.rss);
                let t = started.elapsed().as_secs_f64();
                let actions = monitor.on_tick(t, g.rss, heap_used, handle.is_some() && agent_pid.is_some());
                let trend = monitor.trend;
                let limit = monitor.effective_heap_limit();
                let to_limit = match (trend, limit) {
                    (Some(tr), Some(l)) => tr.seconds_to(l as f64),
                    _ => None,
                };
                let sample = with_instance(&ctx.shared, idx, |st| {
                    st.rss = g.rss;
                    st.vsize = g.vsize;
                    st.cpu_seconds = g.cpu_ticks as f64 / ctx.clk as f64;
                    st.start_time_seconds = start_time;
                    st.hwm = hwm;
                    st.leak_suspected = monitor.leak_suspected;
                    st.growth_bytes_per_second = trend.map(|t| t.slope).unwrap_or(0.0);
                    st.seconds_to_limit = to_limit;
                    json!({
                        "instance": idx, "pid": pid, "t": (t * 1000.0).round() / 1000.0,
                        "rss": g.rss, "rss_peak": peak, "hwm": hwm, "vsize": g.vsize,
                        "processes": g.members, "cpu_seconds": st.cpu_seconds,
                        "heap_used": st.agent.as_ref().map(|a| a.heap_used),
                        "heap_total": st.agent.as_ref().map(|a| a.heap_total),
                        "heap_limit": st.agent.as_ref().map(|a| a.heap_limit),
                        "external": st.agent.as_ref().map(|a| a.external),
                        "array_buffers": st.agent.as_ref().map(|a| a.array_buffers),
                        "heap_after_gc": st.heap_after_gc,
                        "growth_bytes_per_second": st.growth_bytes_per_second,
                        "seconds_to_limit": to_limit,
                        "leak_suspected": monitor.leak_suspected,
                        "warmup": monitor.in_warmup(t),
                    })
                });
                ctx.timeline.write("sample", sample);
                for action in actions {
                    match action {
                        Action::Baseline => {
                            if let (Some(h), true) = (handle.clone(), s.auto_snapshots) {
                                let snaps = ctx.snaps.clone();
                                let slot = baseline.clone();
                                tokio::spawn(async move {
                                    match snaps.take(idx, pid, &h, "baseline").await {
                                        Ok(p) => {
                                            snaps.protect(&p);
                                            let old = slot.lock().ok().and_then(|mut b| b.replace(p.clone()));
                                            if let Some(old) = old {
                                                snaps.unprotect(&old);
                                            }
                                            tokio::spawn(snaps.clone().after(idx, p, None));
                                        }
                                        Err(e) => say!("{e}"),
                                    }
                                });
                            }
                        }
                        Action::Alert(alert) => {
                            let ev = json!({
                                "event": alert.kind, "alert": true, "instance": idx, "pid": pid,
                                "message": alert.message,
                                "heap_used": alert.heap, "heap_limit": alert.limit,
                                "growth_mb_per_hour": alert.trend.map(|t| (t.mb_per_hour() * 100.0).round() / 100.0),
                                "growth_bytes_per_second": alert.trend.map(|t| t.slope),
                                "seconds_to_limit": match (alert.trend, alert.limit) {
                                    (Some(tr), Some(l)) => tr.seconds_to(l as f64).map(|v| v.round()),
                                    _ => None,
                                },
                            });
                            say!("instance {idx}: ALERT {}: {}", alert.kind, alert.message);
                            ctx.timeline.event("alert", ev.clone());
                            ctx.alerter.deliver(&ev);
                            if let (Some(h), true, false) = (handle.clone(), s.auto_snapshots, alert_snapshot) {
                                alert_snapshot = true;
                                let snaps = ctx.snaps.clone();
                                let base = baseline.lock().ok().and_then(|b| b.clone());
                                tokio::spawn(async move {
                                    match snaps.take(idx, pid, &h, "alert").await {
                                        Ok(p) => snaps.clone().after(idx, p, base).await,
                                        Err(e) => say!("{e}"),
                                    }
                                });
                            }
                        }
                        Action::Restart { value, limit } => {
                            if requested.is_none() {
                                let what = match s.limit_on {
                                    crate::config::LimitOn::Rss => "RSS",
                                    crate::config::LimitOn::Heap => "heap",
                                };
                                let msg = format!(
                                    "{what} {} above --max-memory {} for {}; restarting",
                                    fmt_size(value as f64), fmt_size(limit as f64), fmt_dur(s.sustain)
                                );
                                say!("instance {idx} (pid {pid}): {msg}");
                                let ev = json!({
                                    "event": "memory_limit", "instance": idx, "pid": pid,
                                    "message": msg, "value": value, "limit": limit,
                                    "heap_used": heap_used,
                                });
                                ctx.timeline.event("alert", ev.clone());
                                ctx.alerter.deliver(&ev);
                                let snap = s.snapshot_before_restart;
                                requested = Some("memory_limit".into());
                                restart_task = Some(launch_restart(idx, ctx, pid, generation, &exited_rx, ready, handle.clone().filter(|_| snap), &baseline));
                            }
                        }
                    }
                }
            }
            cmd = cmds.recv() => match cmd {
                Some(InstanceCmd::Restart { reason }) if requested.is_none() => {
                    say!("instance {idx} (pid {pid}): restart requested");
                    requested = Some(reason);
                    restart_task = Some(launch_restart(idx, ctx, pid, generation, &exited_rx, ready, None, &baseline));
                }
                Some(InstanceCmd::Restart { .. }) => {}
                Some(InstanceCmd::Snapshot { reason, reply }) => {
                    match handle.clone() {
                        Some(h) => {
                            let snaps = ctx.snaps.clone();
                            let base = baseline.lock().ok().and_then(|b| b.clone());
                            tokio::spawn(async move {
                                let r = snaps.take(idx, pid, &h, &reason).await;
                                if let Some(reply) = reply {
                                    let _ = reply.send(r.as_ref().map(|p| p.display().to_string()).map_err(|e| e.clone()));
                                }
                                if let Ok(p) = r {
                                    snaps.clone().after(idx, p, base).await;
                                }
                            });
                        }
                        None => {
                            if let Some(reply) = reply {
                                let _ = reply.send(Err(format!("instance {idx} has no agent (not a node process, or --no-agent)")));
                            }
                        }
                    }
                }
                None => {}
            },
        }
    };
    if let Some(b) = baseline.lock().ok().and_then(|b| b.clone()) {
        ctx.snaps.unprotect(&b);
    }
    if let Some(t) = restart_task {
        // The restart task finishes on its own (it waits for the replacement to be ready);
        // nothing to join here.
        drop(t);
    }
    (status, requested, started.elapsed())
}

#[allow(clippy::too_many_arguments)]
fn launch_restart(
    idx: usize,
    ctx: &Arc<Ctx>,
    pid: i32,
    generation: u64,
    exited: &watch::Receiver<bool>,
    ready: &watch::Sender<u64>,
    snapshot_with: Option<AgentHandle>,
    baseline: &Arc<Mutex<Option<PathBuf>>>,
) -> tokio::task::JoinHandle<()> {
    let s = &ctx.settings;
    let r = Restart {
        idx,
        pid,
        generation,
        grace: s.grace,
        exited: exited.clone(),
        ready: ready.subscribe(),
        wait_ready: s.instances > 1,
        ready_timeout: s.ready_timeout,
        rolling: ctx.rolling.clone(),
        snapshot: snapshot_with.map(|h| {
            (
                ctx.snaps.clone(),
                h,
                baseline.lock().ok().and_then(|b| b.clone()),
            )
        }),
    };
    tokio::spawn(r.run())
}
