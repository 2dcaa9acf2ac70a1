//! The check's outcome as one serialisable value ([`CheckReport`], the `--json` output) and its
//! renderings: JUnit XML, SARIF 2.1.0 and a self-contained HTML page.

pub mod html;
pub mod junit;
pub mod sarif;

use crate::loadgen::LoadStats;
use crate::memory::{Marker, Sample};
use crate::verdict::{Level, Verdict};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything `leakhound check` learned; `--json` prints exactly this.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    pub tool: String,
    pub version: String,
    /// `pass` or `fail`.
    pub status: String,
    pub exit_code: u8,
    pub scenario: ScenarioSummary,
    pub verdict: Verdict,
    /// The finder's findings, each with a `source` object added when it points into a file.
    pub findings: Vec<serde_json::Value>,
    /// Findings at or above `fail_on`.
    pub failing_findings: usize,
    /// Set when the finder could not run; the verdict still stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finder_error: Option<String>,
    pub load: LoadReport,
    pub rounds: Vec<RoundReport>,
    pub baseline: PhasePoint,
    pub timeline: Timeline,
    pub app: AppReport,
    pub started_at_unix_ms: u64,
    pub elapsed_secs: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioSummary {
    pub cmd: String,
    pub cwd: PathBuf,
    /// Directory that SARIF paths are relative to (the git work tree, else the scenario dir).
    pub source_root: PathBuf,
    pub scenario_file: Option<PathBuf>,
    pub rounds: u32,
    /// `4s per round` or `5000 requests per round`.
    pub amount: String,
    pub connections: usize,
    /// `built-in` or the external command.
    pub load: String,
    pub fail_on: f64,
    pub out_dir: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadReport {
    pub warmup: Option<LoadStats>,
    /// All rounds together (latency percentiles from the merged histogram).
    pub total: Option<LoadStats>,
}

/// A point where the heap was measured after a forced GC, and the snapshot taken there.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhasePoint {
    pub post_gc_heap: u64,
    pub rss: Option<u64>,
    pub snapshot: Option<PathBuf>,
    pub snapshot_bytes: u64,
    pub t_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoundReport {
    pub round: u32,
    /// Built-in load figures of this round.
    pub load: Option<LoadStats>,
    /// External load command: how it ended and its log.
    pub load_cmd: Option<ExternalLoad>,
    pub after: PhasePoint,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExternalLoad {
    pub cmd: String,
    pub status: String,
    pub elapsed_secs: f64,
    pub log: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timeline {
    pub samples: Vec<Sample>,
    pub markers: Vec<Marker>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppReport {
    pub pid: i32,
    pub log: PathBuf,
    pub ready_after_ms: u64,
    pub stopped: String,
}

/// The parts of a finder finding the renderers use. Read from its JSON form, so a field the
/// finder leaves out or renames degrades to an empty value rather than breaking the report.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FindingView {
    pub kind: serde_json::Value,
    pub pattern: serde_json::Value,
    pub confidence: f64,
    pub title: String,
    pub class: String,
    pub counts: Vec<Option<u64>>,
    pub retained_sizes: Vec<Option<u64>>,
    pub retainer_path: Vec<PathStepView>,
    pub retainer_path_text: String,
    pub suggestion: String,
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PathStepView {
    pub holder_class: String,
    pub holder_name: String,
    pub holder_id: serde_json::Value,
    pub edge: String,
    pub edge_type: String,
}

/// Where a finding points, resolved against the scenario: a file path relative to the
/// scenario directory and to the source root, a 1-based line and column, and the line's text.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct SourceRef {
    /// Relative to the scenario directory (what people read), e.g. `lib/sessions.js`.
    pub file: String,
    /// Relative to the source root (what SARIF and GitHub want).
    pub repo_path: String,
    pub line: u32,
    pub column: u32,
    /// The source line, when the file could be read.
    pub text: Option<String>,
    /// A few lines around it: (1-based number, text).
    pub context: Vec<(u32, String)>,
}

impl FindingView {
    pub fn of(value: &serde_json::Value) -> FindingView {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    /// The finder's pattern name, e.g. `growing-collection`.
    pub fn kind_name(&self) -> String {
        match &self.kind {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "leak".into(),
            serde_json::Value::Object(m) => {
                m.keys().next().cloned().unwrap_or_else(|| "leak".into())
            }
            other => other.to_string(),
        }
    }

    /// The rule a finding belongs to: its pattern (`unbounded-cache`), else its kind.
    pub fn rule_name(&self) -> String {
        match &self.pattern {
            serde_json::Value::String(s) if !s.is_empty() => s.clone(),
            _ => self.kind_name(),
        }
    }

    /// The retainer path as one line, GC root first (the finder's text when it gives one).
    pub fn path_text(&self) -> String {
        if !self.retainer_path_text.is_empty() {
            return self.retainer_path_text.clone();
        }
        self.retainer_path
            .iter()
            .map(|s| {
                let holder = if s.holder_name.is_empty() || s.holder_name == s.holder_class {
                    s.holder_class.clone()
                } else if s.holder_class.is_empty() {
                    s.holder_name.clone()
                } else {
                    format!("{} {}", s.holder_class, s.holder_name)
                };
                if s.edge.is_empty() {
                    holder
                } else {
                    format!("{holder} {}", s.edge)
                }
            })
            .collect::<Vec<_>>()
            .join(" → ")
    }

    /// `lib/sessions.js:27:3` or empty.
    pub fn where_text(&self) -> String {
        match &self.source {
            Some(s) => format!("{}:{}:{}", s.file, s.line, s.column),
            None => String::new(),
        }
    }
}

impl CheckReport {
    pub fn level(&self) -> Level {
        self.verdict.level
    }

    pub fn views(&self) -> Vec<FindingView> {
        self.findings.iter().map(FindingView::of).collect()
    }
}

/// The git work tree containing `dir`, else `dir` itself.
pub fn source_root(dir: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut cur = Some(abs.as_path());
    while let Some(d) = cur {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        cur = d.parent();
    }
    abs
}

/// The local file a script URL names: `/abs/x.js`, `file:///abs/x.js`, or a path relative to
/// the app's cwd. `node:` internals and remote URLs have none.
pub fn script_file(script: &str, cwd: &Path) -> Option<PathBuf> {
    let s = script.trim();
    if s.is_empty() || s.starts_with("node:") || s.contains("://") && !s.starts_with("file://") {
        return None;
    }
    let path = s.strip_prefix("file://").unwrap_or(s);
    let path = percent_decode(path);
    let p = PathBuf::from(&path);
    let p = if p.is_absolute() { p } else { cwd.join(p) };
    p.is_file().then_some(p)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn relative(path: &Path, base: &Path) -> String {
    let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    match path.strip_prefix(&base) {
        Ok(r) => r.to_string_lossy().replace('\\', "/"),
        Err(_) => path.to_string_lossy().into_owned(),
    }
}

/// Resolves a finding's `location` (`{script, line, column}`; `line_base` says whether the
/// finder's lines are 0- or 1-based) into a [`SourceRef`] with the source text around it.
pub fn resolve_source(
    finding: &serde_json::Value,
    cwd: &Path,
    root: &Path,
    line_base: u32,
) -> Option<SourceRef> {
    let loc = finding.get("location")?;
    let script = loc.get("script")?.as_str()?;
    let line = loc.get("line")?.as_u64()? as u32 + (1 - line_base.min(1));
    let column =
        loc.get("column").and_then(|c| c.as_u64()).unwrap_or(0) as u32 + (1 - line_base.min(1));
    let file = script_file(script, cwd);
    let (display, repo_path, text, context) = match &file {
        Some(f) => {
            let src = std::fs::read_to_string(f).ok();
            let lines: Vec<&str> = src
                .as_deref()
                .map(|s| s.lines().collect())
                .unwrap_or_default();
            let text = lines
                .get(line.saturating_sub(1) as usize)
                .map(|s| s.to_string());
            let lo = line.saturating_sub(3).max(1);
            let hi = (line + 2).min(lines.len() as u32);
            let context = (lo..=hi)
                .filter_map(|n| lines.get(n as usize - 1).map(|t| (n, t.to_string())))
                .collect();
            (relative(f, cwd), relative(f, root), text, context)
        }
        None => (script.to_string(), script.to_string(), None, Vec::new()),
    };
    Some(SourceRef {
        file: display,
        repo_path,
        line,
        column,
        text,
        context,
    })
}

/// XML/HTML text escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_resolve_relative_to_the_scenario_and_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        let app = dir.path().join("svc");
        std::fs::create_dir_all(app.join("lib")).unwrap();
        std::fs::write(app.join("lib/a.js"), "one\ntwo\nthree // LEAK\nfour\n").unwrap();
        let root = source_root(&app);
        let f = serde_json::json!({
            "location": {"script": format!("file://{}", app.join("lib/a.js").display()), "line": 2, "column": 4}
        });
        let s = resolve_source(&f, &app, &root, 0).unwrap();
        assert_eq!(s.file, "lib/a.js");
        assert_eq!(s.repo_path, "svc/lib/a.js");
        assert_eq!((s.line, s.column), (3, 5));
        assert_eq!(s.text.as_deref(), Some("three // LEAK"));
        assert_eq!(s.context.first().map(|c| c.0), Some(1));
        let none = serde_json::json!({"location": null});
        assert!(resolve_source(&none, &app, &root, 0).is_none());
        let internal = serde_json::json!({"location": {"script": "node:internal/timers", "line": 1, "column": 1}});
        let s = resolve_source(&internal, &app, &root, 1).unwrap();
        assert_eq!(s.file, "node:internal/timers");
        assert!(s.text.is_none());
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{FFFD}b");
    }

    #[test]
    fn percent() {
        assert_eq!(percent_decode("/a%20b/c%"), "/a b/c%");
    }
}
