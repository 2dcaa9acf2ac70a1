//! The scenario: what to start, how to know it is ready, what load to drive, how many rounds.
//!
//! Written as the `[check]` table of `leakhound.toml`; every field can also come from a flag
//! (flags win). [`ScenarioFile`] is the raw, all-optional form; [`Scenario`] the validated one.

use crate::units::{self, serde_duration};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A scenario problem, reported as one line and exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: no [check] table (see docs: `leakhound check --help`)")]
    NoCheckTable { path: PathBuf },
    #[error("scenario: {0}")]
    Invalid(String),
}

/// The file: only the `[check]` table is ours; other tables belong to other commands.
#[derive(Debug, Deserialize, Default)]
struct FileRoot {
    check: Option<ScenarioFile>,
}

/// One HTTP request the built-in load generator sends, picked in proportion to `weight`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_method() -> String {
    "GET".into()
}
fn default_weight() -> u32 {
    1
}

/// Thresholds of the memory verdict.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VerdictFile {
    /// Red when the post-GC heap ends above this multiple of the baseline (default 2.0).
    pub max_ratio: Option<f64>,
    /// Growth per round that still counts as "settled" (default `1MB`).
    pub growth_tolerance: Option<String>,
    /// Yellow when more than this fraction of requests failed (default 0.01).
    pub max_error_rate: Option<f64>,
}

/// The `[check]` table as written: every field optional, flags are merged on top.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Command that starts the app, e.g. `node server.js` (run with `sh -c` when it uses shell syntax).
    pub cmd: Option<String>,
    /// Working directory of the app, relative to the scenario file.
    pub cwd: Option<PathBuf>,
    /// Extra environment for the app.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub ready_port: Option<u16>,
    pub ready_url: Option<String>,
    pub ready_log: Option<String>,
    #[serde(default, with = "serde_duration")]
    pub ready_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration")]
    pub warmup: Option<Duration>,
    pub rounds: Option<u32>,
    #[serde(default, with = "serde_duration")]
    pub duration: Option<Duration>,
    pub requests: Option<u64>,
    pub connections: Option<usize>,
    /// Shortcut for GET targets of weight 1.
    #[serde(default)]
    pub url: Vec<String>,
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    /// External load command run once per round (and for the warm-up) instead of the built-in one.
    pub load_cmd: Option<String>,
    #[serde(default, with = "serde_duration")]
    pub request_timeout: Option<Duration>,
    pub fail_on: Option<f64>,
    pub out: Option<PathBuf>,
    #[serde(default, with = "serde_duration")]
    pub stop_timeout: Option<Duration>,
    #[serde(default, with = "serde_duration")]
    pub sample_interval: Option<Duration>,
    #[serde(default)]
    pub verdict: VerdictFile,
}

impl ScenarioFile {
    /// Reads the `[check]` table of `path`; relative paths in it are made absolute against the
    /// file's directory.
    pub fn load(path: &Path) -> Result<ScenarioFile, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let root: FileRoot = toml::from_str(&text).map_err(|e| ScenarioError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string() + &line_hint(&text, e.span()),
        })?;
        let mut file = root.check.ok_or_else(|| ScenarioError::NoCheckTable {
            path: path.to_path_buf(),
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        file.cwd = Some(match file.cwd.take() {
            Some(c) => base.join(c),
            None => base.clone(),
        });
        if let Some(out) = file.out.take() {
            file.out = Some(base.join(out));
        }
        Ok(file)
    }

    /// Fields set in `over` replace ours (flags over the file).
    pub fn merge(mut self, over: ScenarioFile) -> ScenarioFile {
        macro_rules! take {
            ($($f:ident),*) => { $( if over.$f.is_some() { self.$f = over.$f; } )* };
        }
        let over_ready =
            over.ready_port.is_some() || over.ready_url.is_some() || over.ready_log.is_some();
        let over_load_cmd = over.load_cmd.is_some();
        take!(
            cmd,
            cwd,
            ready_timeout,
            warmup,
            rounds,
            connections,
            request_timeout,
            fail_on,
            out,
            stop_timeout,
            sample_interval
        );
        // Readiness is one choice: a flag for one kind replaces the file's other kinds.
        if over_ready {
            self.ready_port = over.ready_port;
            self.ready_url = over.ready_url;
            self.ready_log = over.ready_log;
        }
        // Likewise the amount of load: duration or request count.
        if over.duration.is_some() || over.requests.is_some() {
            self.duration = over.duration;
            self.requests = over.requests;
        }
        if !over.url.is_empty() || !over.targets.is_empty() {
            self.url = over.url;
            self.targets = over.targets;
        }
        if over_load_cmd {
            self.load_cmd = over.load_cmd;
            self.url.clear();
            self.targets.clear();
        }
        self.env.extend(over.env);
        if over.verdict.max_ratio.is_some() {
            self.verdict.max_ratio = over.verdict.max_ratio;
        }
        if over.verdict.growth_tolerance.is_some() {
            self.verdict.growth_tolerance = over.verdict.growth_tolerance;
        }
        if over.verdict.max_error_rate.is_some() {
            self.verdict.max_error_rate = over.verdict.max_error_rate;
        }
        self
    }

    /// Applies defaults and checks the scenario.
    pub fn resolve(self) -> Result<Scenario, ScenarioError> {
        let bad = |m: String| Err(ScenarioError::Invalid(m));
        let cmd = match self.cmd {
            Some(c) if !c.trim().is_empty() => c,
            _ => {
                return bad(
                    "no command: set `cmd` in [check] or pass --cmd \"node server.js\"".into(),
                )
            }
        };
        let cwd = self.cwd.unwrap_or_else(|| PathBuf::from("."));
        if !cwd.is_dir() {
            return bad(format!(
                "working directory {} does not exist",
                cwd.display()
            ));
        }
        let ready_kinds = [
            self.ready_port.is_some(),
            self.ready_url.is_some(),
            self.ready_log.is_some(),
        ];
        if ready_kinds.iter().filter(|x| **x).count() > 1 {
            return bad("choose one of ready_port, ready_url and ready_log".into());
        }
        let mut targets = Vec::new();
        for url in &self.url {
            targets.push(TargetSpec {
                url: url.clone(),
                method: default_method(),
                headers: BTreeMap::new(),
                body: None,
                weight: 1,
            });
        }
        targets.extend(self.targets);
        for t in &targets {
            crate::loadgen::Target::from_spec(t).map_err(ScenarioError::Invalid)?;
        }
        let load = match (self.load_cmd, targets.is_empty()) {
            (Some(cmd), _) if !cmd.trim().is_empty() => Load::Command(cmd),
            (Some(_), _) => return bad("load_cmd is empty".into()),
            (None, false) => Load::Builtin(targets),
            (None, true) => match self.ready_port {
                Some(port) => Load::Builtin(vec![TargetSpec {
                    url: format!("http://127.0.0.1:{port}/"),
                    method: default_method(),
                    headers: BTreeMap::new(),
                    body: None,
                    weight: 1,
                }]),
                None => return bad(
                    "no load: set `url`, [[check.targets]] or `load_cmd` (or --url / --load-cmd)"
                        .into(),
                ),
            },
        };
        let ready = if let Some(p) = self.ready_port {
            Ready::Port(p)
        } else if let Some(u) = self.ready_url {
            crate::loadgen::Target::from_spec(&TargetSpec {
                url: u.clone(),
                method: default_method(),
                headers: BTreeMap::new(),
                body: None,
                weight: 1,
            })
            .map_err(|e| ScenarioError::Invalid(format!("ready_url: {e}")))?;
            Ready::Url(u)
        } else if let Some(r) = self.ready_log {
            let re = regex::Regex::new(&r)
                .map_err(|e| ScenarioError::Invalid(format!("ready_log is not a regex: {e}")))?;
            Ready::Log(re)
        } else if let Load::Builtin(t) = &load {
            // The first target's port opening is the natural signal.
            let target =
                crate::loadgen::Target::from_spec(&t[0]).map_err(ScenarioError::Invalid)?;
            Ready::Port(target.port())
        } else {
            return bad(
                "how do I know the app is ready? set ready_port, ready_url or ready_log".into(),
            );
        };
        let amount = match (self.duration, self.requests) {
            (Some(_), Some(_)) => return bad("choose either `duration` or `requests`".into()),
            (Some(d), None) if d.is_zero() => return bad("duration must be above 0".into()),
            (Some(d), None) => Amount::Duration(d),
            (None, Some(0)) => return bad("requests must be above 0".into()),
            (None, Some(n)) => Amount::Requests(n),
            (None, None) => Amount::Duration(Duration::from_secs(5)),
        };
        let rounds = self.rounds.unwrap_or(3);
        if !(1..=100).contains(&rounds) {
            return bad(format!("rounds must be 1..=100, got {rounds}"));
        }
        let connections = self.connections.unwrap_or(10);
        if !(1..=10_000).contains(&connections) {
            return bad(format!("connections must be 1..=10000, got {connections}"));
        }
        let fail_on = self.fail_on.unwrap_or(0.8);
        if !(0.0..=1.0).contains(&fail_on) {
            return bad(format!("fail_on must be between 0 and 1, got {fail_on}"));
        }
        let max_ratio = self.verdict.max_ratio.unwrap_or(2.0);
        if max_ratio.is_nan() || max_ratio <= 1.0 {
            return bad(format!(
                "verdict.max_ratio must be above 1, got {max_ratio}"
            ));
        }
        let growth_tolerance = match &self.verdict.growth_tolerance {
            Some(t) => units::parse_bytes(t)
                .map_err(|e| ScenarioError::Invalid(format!("verdict.growth_tolerance: {e}")))?,
            None => 1024 * 1024,
        };
        let max_error_rate = self.verdict.max_error_rate.unwrap_or(0.01);
        if !(0.0..=1.0).contains(&max_error_rate) {
            return bad(format!(
                "verdict.max_error_rate must be between 0 and 1, got {max_error_rate}"
            ));
        }
        let sample_interval = self
            .sample_interval
            .unwrap_or(Duration::from_millis(250))
            .max(Duration::from_millis(20));
        let out = self
            .out
            .unwrap_or_else(|| cwd.join(".leakhound").join("check"));
        Ok(Scenario {
            cmd,
            cwd,
            env: self.env,
            ready,
            ready_timeout: self.ready_timeout.unwrap_or(Duration::from_secs(30)),
            warmup: self.warmup.unwrap_or(Duration::from_secs(3)),
            rounds,
            amount,
            connections,
            load,
            request_timeout: self.request_timeout.unwrap_or(Duration::from_secs(10)),
            fail_on,
            out,
            stop_timeout: self.stop_timeout.unwrap_or(Duration::from_secs(5)),
            sample_interval,
            verdict: VerdictRules {
                max_ratio,
                growth_tolerance,
                max_error_rate,
            },
        })
    }
}

fn line_hint(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(r) => {
            let line = text[..r.start.min(text.len())].matches('\n').count() + 1;
            format!(" (line {line})")
        }
        None => String::new(),
    }
}

/// How readiness is detected.
#[derive(Debug, Clone)]
pub enum Ready {
    /// 127.0.0.1:port accepts a TCP connection.
    Port(u16),
    /// A GET answers 2xx or 3xx.
    Url(String),
    /// A line of the app's stdout/stderr matches.
    Log(regex::Regex),
}

impl Ready {
    pub fn describe(&self) -> String {
        match self {
            Ready::Port(p) => format!("port {p} to accept connections"),
            Ready::Url(u) => format!("{u} to answer"),
            Ready::Log(r) => format!("a log line matching /{}/", r.as_str()),
        }
    }

    /// The local port this readiness check implies, for the "already in use" check.
    pub fn port(&self) -> Option<u16> {
        match self {
            Ready::Port(p) => Some(*p),
            Ready::Url(u) => crate::loadgen::Target::from_spec(&TargetSpec {
                url: u.clone(),
                method: default_method(),
                headers: BTreeMap::new(),
                body: None,
                weight: 1,
            })
            .ok()
            .filter(|t| t.is_local())
            .map(|t| t.port()),
            Ready::Log(_) => None,
        }
    }
}

/// How much load one round is.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Amount {
    Duration(#[serde(with = "secs")] Duration),
    Requests(u64),
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// Where the load comes from.
#[derive(Debug, Clone)]
pub enum Load {
    Builtin(Vec<TargetSpec>),
    Command(String),
}

/// Verdict thresholds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct VerdictRules {
    pub max_ratio: f64,
    pub growth_tolerance: u64,
    pub max_error_rate: f64,
}

/// A validated scenario with every default applied.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub cmd: String,
    pub cwd: PathBuf,
    pub env: BTreeMap<String, String>,
    pub ready: Ready,
    pub ready_timeout: Duration,
    pub warmup: Duration,
    pub rounds: u32,
    pub amount: Amount,
    pub connections: usize,
    pub load: Load,
    pub request_timeout: Duration,
    pub fail_on: f64,
    pub out: PathBuf,
    pub stop_timeout: Duration,
    pub sample_interval: Duration,
    pub verdict: VerdictRules,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("leakhound.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn file_and_flags() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            r#"
[run]
whatever = 1
[check]
cmd = "node server.js"
ready_port = 3999
warmup = "2s"
rounds = 4
duration = 1.5
[[check.targets]]
url = "http://127.0.0.1:3999/a"
method = "POST"
body = "{}"
headers = { "content-type" = "application/json" }
weight = 3
[check.verdict]
growth_tolerance = "2MB"
"#,
        );
        let f = ScenarioFile::load(&p).unwrap();
        let s = f.clone().resolve().unwrap();
        assert_eq!(s.rounds, 4);
        assert_eq!(s.warmup, Duration::from_secs(2));
        assert!(matches!(s.amount, Amount::Duration(d) if d == Duration::from_millis(1500)));
        assert!(matches!(s.ready, Ready::Port(3999)));
        assert_eq!(s.verdict.growth_tolerance, 2 * 1024 * 1024);
        assert_eq!(s.cwd, dir.path());
        let Load::Builtin(t) = &s.load else { panic!() };
        assert_eq!(t[0].weight, 3);

        let over = ScenarioFile {
            requests: Some(100),
            ready_log: Some("listening".into()),
            ..Default::default()
        };
        let s = f.merge(over).resolve().unwrap();
        assert!(matches!(s.amount, Amount::Requests(100)));
        assert!(matches!(s.ready, Ready::Log(_)));
    }

    #[test]
    fn errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "[check]\ncmd = \"node x.js\"\nroundz = 3\n");
        let e = ScenarioFile::load(&p).unwrap_err().to_string();
        assert!(e.contains("roundz") && e.contains("line 3"), "{e}");
        let p = write(dir.path(), "[other]\n");
        assert!(ScenarioFile::load(&p)
            .unwrap_err()
            .to_string()
            .contains("no [check] table"));
        let p = write(dir.path(), "[check]\ncmd = \"node x.js\"\n");
        let e = ScenarioFile::load(&p)
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("no load"), "{e}");
        let p = write(
            dir.path(),
            "[check]\ncmd = \"node x.js\"\nurl = [\"https://127.0.0.1:1/\"]\n",
        );
        let e = ScenarioFile::load(&p)
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("https"), "{e}");
        let p = write(
            dir.path(),
            "[check]\ncmd = \"node x.js\"\nready_port = 1\nfail_on = 3\n",
        );
        let e = ScenarioFile::load(&p)
            .unwrap()
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("fail_on"), "{e}");
    }
}
