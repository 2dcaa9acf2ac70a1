//! Settings of `leakhound run`: one struct that is both the clap flags and the `[run]` table
//! of `leakhound.toml` (flags override the file), resolved into typed [`Settings`].

use crate::units::{self, GrowthAlert};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A setting that cannot be used; one line naming the setting and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}: {1}")]
    Value(&'static str, String),
    #[error("{}: {}", .0.display(), .1)]
    File(PathBuf, String),
    #[error("no command to run: give it after `--` (leakhound run -- node app.js) or as `command = [...]` in the [run] table")]
    NoCommand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Restart whenever the process exits.
    Always,
    /// Restart when it exits with a non-zero status or a signal.
    OnFailure,
    /// Never restart: leakhound exits with the child's status.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LimitOn {
    /// Resident memory of the instance's process group (VmRSS summed).
    Rss,
    /// V8 heap used (from the agent).
    Heap,
}

/// Flags of `leakhound run`, also the `[run]` table of leakhound.toml (same names, kebab-case).
/// Sizes take a unit (`512M`, `2G`, `1.5GiB`; binary multiples); a bare number is an error.
/// Durations take a unit (`200ms`, `10s`, `30m`, `1h`).
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunOptions {
    /// Run N copies; each gets LEAKHOUND_INSTANCE=0..N-1. Restarts go one at a time and wait
    /// until the new copy is ready, so at least one serves. [default: 1]
    #[arg(long, value_name = "N")]
    pub instances: Option<u32>,

    /// Bind this address once and hand the listening socket to every instance as fd 4
    /// (LEAKHOUND_LISTEN_FD=4; in node: `server.listen({fd: 4})`). All instances then serve
    /// one port, and the kernel keeps accepting while one restarts.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// When to restart a process that exited. [default: always]
    #[arg(long, value_enum, value_name = "POLICY")]
    pub restart: Option<RestartPolicy>,

    /// First restart delay after a crash; doubles up to --backoff-max. [default: 100ms]
    #[arg(long, value_name = "DURATION")]
    pub backoff: Option<String>,

    /// Longest restart delay. [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub backoff_max: Option<String>,

    /// A process that ran this long resets the backoff. [default: 30s]
    #[arg(long, value_name = "DURATION")]
    pub stable_after: Option<String>,

    /// Crash-loop limit: give up (exit non-zero) after this many crash restarts of one instance
    /// within --restart-window. Memory-limit and requested restarts do not count. [default: 10]
    #[arg(long, value_name = "N")]
    pub max_restarts: Option<u32>,

    /// Window of the crash-loop limit. [default: 5m]
    #[arg(long, value_name = "DURATION")]
    pub restart_window: Option<String>,

    /// Sampling interval of memory (/proc, cgroup, agent). [default: 1s]
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,

    /// No memory-limit restart, leak verdict or baseline snapshot this soon after a start. [default: 60s]
    #[arg(long, value_name = "DURATION")]
    pub warmup: Option<String>,

    /// Restart an instance whose memory stays above SIZE for --sustain (e.g. 512M, 2G).
    #[arg(long, value_name = "SIZE")]
    pub max_memory: Option<String>,

    /// What --max-memory applies to. [default: rss]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub limit_on: Option<LimitOn>,

    /// How long the limit must be exceeded before a restart. [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub sustain: Option<String>,

    /// Time between SIGTERM and SIGKILL when stopping an instance. [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub grace: Option<String>,

    /// How long a rolling restart waits for the new instance to listen (reported by the agent)
    /// before moving on. [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub ready_timeout: Option<String>,

    /// Take a heap snapshot right before a memory-limit restart.
    #[arg(long)]
    pub snapshot_before_restart: bool,

    /// No automatic snapshots (baseline after warm-up, on alerts).
    #[arg(long)]
    pub no_auto_snapshots: bool,

    /// Do not inject the preload agent (no heap figures, no snapshots; RSS only).
    #[arg(long)]
    pub no_agent: bool,

    /// Directory for heap snapshots. [default: .leakhound/snapshots]
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,

    /// Keep at most N snapshots in --snapshot-dir (oldest deleted first). [default: 20]
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,

    /// Keep at most SIZE of snapshots in --snapshot-dir (e.g. 2G).
    #[arg(long, value_name = "SIZE")]
    pub keep_bytes: Option<String>,

    /// JSON-lines timeline of samples and events. [default: <snapshot-dir>/timeline.jsonl]
    #[arg(long, value_name = "FILE")]
    pub timeline: Option<PathBuf>,

    /// Window of the leak trend (Theil–Sen slope of the post-GC heap). [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub trend_window: Option<String>,

    /// Post-GC heap growth that counts as a suspected leak (e.g. 10MB/h). [default: 5MB/h]
    #[arg(long, value_name = "RATE")]
    pub leak_rate: Option<String>,

    /// Alert when the post-GC heap reaches this percentage of its limit. [default: 70]
    #[arg(long, value_name = "PERCENT")]
    pub alert_heap_percent: Option<f64>,

    /// Alert when the post-GC heap grew by PERCENT over DURATION, e.g. 20%/30m.
    #[arg(long, value_name = "PERCENT%/DURATION")]
    pub alert_growth: Option<String>,

    /// Run this shell command on every alert (env: LEAKHOUND_EVENT, the alert kind:
    /// leak_suspected, heap_growth or heap_percent; LEAKHOUND_EVENT_JSON, LEAKHOUND_INSTANCE,
    /// LEAKHOUND_PID, LEAKHOUND_HEAP_USED, LEAKHOUND_GROWTH_MB_PER_HOUR,
    /// LEAKHOUND_SECONDS_TO_LIMIT).
    #[arg(long, value_name = "CMD")]
    pub on_alert: Option<String>,

    /// POST every alert as JSON to this URL (the LEAKHOUND_EVENT_JSON object; failures are
    /// logged, supervision goes on).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,

    /// Upload snapshots to object storage: s3://bucket/prefix, gs://bucket/prefix,
    /// az://container/prefix. Credentials from the standard environment variables.
    #[arg(long, value_name = "URL")]
    pub upload: Option<String>,

    /// Endpoint for S3-compatible servers (also AWS_ENDPOINT_URL); http is allowed.
    #[arg(long, value_name = "URL")]
    pub upload_endpoint: Option<String>,

    /// Serve Prometheus metrics at http://ADDR/metrics (and the control API). Loopback only
    /// unless --metrics-public.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9464")]
    pub metrics: Option<String>,

    /// Allow --metrics on a non-loopback address.
    #[arg(long)]
    pub metrics_public: bool,

    /// Bearer token for POST /control/snapshot and /control/restart (?instance=i); without
    /// one the control API is disabled.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LEAKHOUND_CONTROL_TOKEN",
        hide_env_values = true
    )]
    pub control_token: Option<String>,

    /// Do not run the finder on snapshot pairs.
    #[arg(long)]
    pub no_finder: bool,

    /// The command (only in leakhound.toml; on the command line it goes after `--`).
    #[arg(skip)]
    pub command: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct FileRoot {
    #[serde(default)]
    run: Option<RunOptions>,
}

/// Reads the `[run]` table of a leakhound.toml (other tables are ignored).
pub fn load_file(path: &Path) -> Result<RunOptions, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::File(path.to_path_buf(), e.to_string()))?;
    let root: FileRoot = toml::from_str(&text).map_err(|e| {
        let full = e.to_string();
        let at = full
            .lines()
            .next()
            .unwrap_or("")
            .replace("TOML parse error at ", "");
        ConfigError::File(path.to_path_buf(), format!("{at}: {}", e.message()))
    })?;
    Ok(root.run.unwrap_or_default())
}

impl RunOptions {
    /// `self` (flags) over `file`.
    pub fn over(self, file: RunOptions) -> RunOptions {
        macro_rules! pick {
            ($($f:ident),*) => { RunOptions { $($f: self.$f.or(file.$f),)*
                snapshot_before_restart: self.snapshot_before_restart || file.snapshot_before_restart,
                no_auto_snapshots: self.no_auto_snapshots || file.no_auto_snapshots,
                no_agent: self.no_agent || file.no_agent,
                metrics_public: self.metrics_public || file.metrics_public,
                no_finder: self.no_finder || file.no_finder,
            } };
        }
        pick!(
            instances,
            listen,
            restart,
            backoff,
            backoff_max,
            stable_after,
            max_restarts,
            restart_window,
            interval,
            warmup,
            max_memory,
            limit_on,
            sustain,
            grace,
            ready_timeout,
            snapshot_dir,
            keep,
            keep_bytes,
            timeline,
            trend_window,
            leak_rate,
            alert_heap_percent,
            alert_growth,
            on_alert,
            webhook,
            upload,
            upload_endpoint,
            metrics,
            control_token,
            command
        )
    }

    /// Checks and types every value.
    pub fn resolve(self) -> Result<Settings, ConfigError> {
        let dur = |name: &'static str, v: &Option<String>, default: Duration| match v {
            Some(s) => units::parse_duration(s).map_err(|e| ConfigError::Value(name, e.0)),
            None => Ok(default),
        };
        let size = |name: &'static str, v: &Option<String>| match v {
            Some(s) => units::parse_size(s)
                .map(Some)
                .map_err(|e| ConfigError::Value(name, e.0)),
            None => Ok(None),
        };
        let command = self.command.clone().unwrap_or_default();
        if command.is_empty() || command[0].is_empty() {
            return Err(ConfigError::NoCommand);
        }
        let instances = self.instances.unwrap_or(1);
        if instances == 0 || instances > 256 {
            return Err(ConfigError::Value(
                "--instances",
                format!("{instances} is out of range (1..=256)"),
            ));
        }
        let interval = dur("--interval", &self.interval, Duration::from_secs(1))?;
        if interval < Duration::from_millis(50) {
            return Err(ConfigError::Value(
                "--interval",
                "must be at least 50ms".into(),
            ));
        }
        let addr = |name: &'static str, v: &str| -> Result<SocketAddr, ConfigError> {
            v.parse()
                .map_err(|_| ConfigError::Value(name, format!("'{v}' is not an IP:PORT address")))
        };
        let metrics = match &self.metrics {
            Some(m) => {
                let a = addr("--metrics", m)?;
                if !a.ip().is_loopback() && !self.metrics_public {
                    return Err(ConfigError::Value(
                        "--metrics",
                        format!("{a} is not a loopback address; add --metrics-public to expose metrics and the control API beyond this host"),
                    ));
                }
                Some(a)
            }
            None => None,
        };
        let listen = match &self.listen {
            Some(l) => Some(addr("--listen", l)?),
            None => None,
        };
        if let Some(p) = self.alert_heap_percent {
            if !(p > 0.0 && p <= 100.0) {
                return Err(ConfigError::Value(
                    "--alert-heap-percent",
                    format!("{p} is not a percentage in (0, 100]"),
                ));
            }
        }
        let alert_growth = match &self.alert_growth {
            Some(g) => Some(
                units::parse_growth(g).map_err(|e| ConfigError::Value("--alert-growth", e.0))?,
            ),
            None => None,
        };
        let leak_rate = match &self.leak_rate {
            Some(r) => units::parse_rate(r).map_err(|e| ConfigError::Value("--leak-rate", e.0))?,
            None => 5.0 * 1024.0 * 1024.0 / 3600.0,
        };
        if let Some(u) = &self.upload {
            crate::upload::check_url(u).map_err(|e| ConfigError::Value("--upload", e))?;
        }
        if let Some(w) = &self.webhook {
            if !(w.starts_with("http://") || w.starts_with("https://")) {
                return Err(ConfigError::Value(
                    "--webhook",
                    format!("'{w}' is not an http(s) URL"),
                ));
            }
        }
        let snapshot_dir = self
            .snapshot_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".leakhound/snapshots"));
        let timeline = self
            .timeline
            .clone()
            .unwrap_or_else(|| snapshot_dir.join("timeline.jsonl"));
        let control_token = self.control_token.clone().filter(|t| !t.is_empty());
        Ok(Settings {
            command,
            instances,
            listen,
            restart: self.restart.unwrap_or(RestartPolicy::Always),
            backoff: dur("--backoff", &self.backoff, Duration::from_millis(100))?,
            backoff_max: dur("--backoff-max", &self.backoff_max, Duration::from_secs(30))?,
            stable_after: dur(
                "--stable-after",
                &self.stable_after,
                Duration::from_secs(30),
            )?,
            max_restarts: self.max_restarts.unwrap_or(10),
            restart_window: dur(
                "--restart-window",
                &self.restart_window,
                Duration::from_secs(300),
            )?,
            interval,
            warmup: dur("--warmup", &self.warmup, Duration::from_secs(60))?,
            max_memory: size("--max-memory", &self.max_memory)?,
            limit_on: self.limit_on.unwrap_or(LimitOn::Rss),
            sustain: dur("--sustain", &self.sustain, Duration::from_secs(10))?,
            grace: dur("--grace", &self.grace, Duration::from_secs(10))?,
            ready_timeout: dur(
                "--ready-timeout",
                &self.ready_timeout,
                Duration::from_secs(10),
            )?,
            snapshot_before_restart: self.snapshot_before_restart,
            auto_snapshots: !self.no_auto_snapshots,
            agent: !self.no_agent,
            snapshot_dir,
            keep: self.keep.unwrap_or(20),
            keep_bytes: size("--keep-bytes", &self.keep_bytes)?,
            timeline,
            trend_window: dur(
                "--trend-window",
                &self.trend_window,
                Duration::from_secs(600),
            )?,
            leak_rate,
            alert_heap_percent: Some(self.alert_heap_percent.unwrap_or(70.0)),
            alert_growth,
            on_alert: self.on_alert.clone(),
            webhook: self.webhook.clone(),
            upload: self.upload.clone(),
            upload_endpoint: self
                .upload_endpoint
                .clone()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
            metrics,
            control_token,
            finder: !self.no_finder,
        })
    }
}

/// Resolved, typed settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub command: Vec<String>,
    pub instances: u32,
    pub listen: Option<SocketAddr>,
    pub restart: RestartPolicy,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub stable_after: Duration,
    pub max_restarts: u32,
    pub restart_window: Duration,
    pub interval: Duration,
    pub warmup: Duration,
    pub max_memory: Option<u64>,
    pub limit_on: LimitOn,
    pub sustain: Duration,
    pub grace: Duration,
    pub ready_timeout: Duration,
    pub snapshot_before_restart: bool,
    pub auto_snapshots: bool,
    pub agent: bool,
    pub snapshot_dir: PathBuf,
    pub keep: usize,
    pub keep_bytes: Option<u64>,
    pub timeline: PathBuf,
    pub trend_window: Duration,
    /// Bytes per second.
    pub leak_rate: f64,
    pub alert_heap_percent: Option<f64>,
    pub alert_growth: Option<GrowthAlert>,
    pub on_alert: Option<String>,
    pub webhook: Option<String>,
    pub upload: Option<String>,
    pub upload_endpoint: Option<String>,
    pub metrics: Option<SocketAddr>,
    pub control_token: Option<String>,
    pub finder: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> RunOptions {
        RunOptions {
            command: Some(vec!["node".into(), "app.js".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("leakhound.toml");
        std::fs::write(
            &p,
            "[run]\ninstances = 3\nmax-memory = \"1G\"\nsustain = \"5s\"\ncommand = [\"node\", \"x.js\"]\n[check]\nother = 1\n",
        )
        .unwrap();
        let file = load_file(&p).unwrap();
        let cli = RunOptions {
            sustain: Some("2s".into()),
            ..Default::default()
        };
        let s = cli.over(file).resolve().unwrap();
        assert_eq!(s.instances, 3);
        assert_eq!(s.max_memory, Some(1 << 30));
        assert_eq!(s.sustain, Duration::from_secs(2));
        assert_eq!(s.command, vec!["node", "x.js"]);
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        let mut o = base();
        o.max_memory = Some("512".into());
        let e = o.resolve().unwrap_err().to_string();
        assert!(e.starts_with("--max-memory: '512' has no unit"), "{e}");
        let mut o = base();
        o.metrics = Some("0.0.0.0:9464".into());
        assert!(o
            .resolve()
            .unwrap_err()
            .to_string()
            .contains("--metrics-public"));
        let mut o = base();
        o.metrics = Some("0.0.0.0:9464".into());
        o.metrics_public = true;
        assert!(o.resolve().is_ok());
        assert!(matches!(
            RunOptions::default().resolve(),
            Err(ConfigError::NoCommand)
        ));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("leakhound.toml");
        std::fs::write(&p, "[run]\nmax-memroy = \"1G\"\n").unwrap();
        let e = load_file(&p).unwrap_err().to_string();
        assert!(e.contains("max-memroy"), "{e}");
    }
}
