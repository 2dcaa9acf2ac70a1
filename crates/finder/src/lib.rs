//! # leakhound-finder: leak finding across snapshots of one process
//!
//! Given two or more heap snapshots of one Node.js process (oldest first), names what leaks:
//! the retaining container or allocation site, its growth per interval with exact retained
//! sizes, the retainer path from a GC root, the source line, a confidence in [0, 1] and a fix.
//!
//! Pipeline:
//! 1. every snapshot is parsed and analysed by the engine (`leakhound_snapshot`), summarised
//!    into compact per-id tables ([`summary`]) and dropped; only the last stays whole;
//! 2. the snapshots are checked to come from one process, in order ([`order`]);
//! 3. survivors (new since the first snapshot, alive in the last) are grouped by the old
//!    object that dominates them ([`survivors`]);
//! 4. detectors ([`detect`]) propose candidates; candidates naming the same holder merge into
//!    one finding; each is scored ([`score`]), explained ([`explain`]) and given a fix ([`fix`]).
//!
//! ```no_run
//! use leakhound_finder::{find_leaks, FindOptions};
//! let paths = vec!["s1.heapsnapshot".into(), "s2.heapsnapshot".into(), "s3.heapsnapshot".into()];
//! let report = find_leaks(&paths, &FindOptions::default()).unwrap();
//! for f in &report.findings {
//!     println!("{:.0}% {}", f.confidence * 100.0, f.title);
//! }
//! ```

pub mod detect;
pub mod explain;
pub mod fix;
pub mod graph;
pub mod idset;
pub mod model;
pub mod order;
pub mod score;
pub mod summary;
pub mod survivors;
#[cfg(test)]
pub(crate) mod testutil;

pub use model::{
    Finding, FindingKind, PathStep, Pattern, Report, Secondary, SnapshotInfo, SourceLocation,
};
pub use summary::SnapshotSummary;

use leakhound_snapshot::HeapSnapshot;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why `find` could not run. `Display` is one line naming the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error("{path}: {message}")]
    Input { path: String, message: String },
    #[error("need at least two snapshots of one process, got {0}")]
    TooFew(usize),
    #[error("{0}")]
    NotOneProcess(String),
    #[error("{0}")]
    WrongOrder(String),
}

/// Options of [`find_leaks`].
#[derive(Debug, Clone)]
pub struct FindOptions {
    /// Keep at most this many findings (strongest first); 0 = all.
    pub top: usize,
    /// Drop findings below this confidence.
    pub min_confidence: f64,
    /// Analyse snapshots in parallel when their files add up to at most this many bytes;
    /// above it they are processed one at a time to bound memory.
    pub parallel_bytes: u64,
}

impl Default for FindOptions {
    fn default() -> Self {
        FindOptions {
            top: 10,
            min_confidence: 0.2,
            parallel_bytes: 768 << 20,
        }
    }
}

/// Expands the inputs: files as given, directories to their `*.heapsnapshot` files by name.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FindError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| FindError::Input {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| FindError::Input {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "heapsnapshot") && f.is_file())
                .collect();
            files.sort_by_key(|a| natural_key(a));
            if files.is_empty() {
                return Err(FindError::Input {
                    path: p.display().to_string(),
                    message: "directory holds no *.heapsnapshot files".to_string(),
                });
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Orders names with embedded numbers numerically (`s2` before `s10`).
fn natural_key(p: &Path) -> Vec<(String, u64)> {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut num: Option<u64> = None;
    for c in name.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(num.unwrap_or(0).saturating_mul(10).saturating_add(d as u64));
        } else {
            if let Some(n) = num.take() {
                out.push((std::mem::take(&mut text), n));
            }
            text.push(c);
        }
    }
    out.push((text, num.unwrap_or(0)));
    out
}

fn load(path: &Path) -> Result<(HeapSnapshot, u64), FindError> {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let started = std::time::Instant::now();
    let raw = leakhound_snapshot::parse_file(path, &mut |_| {}).map_err(|e| FindError::Input {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let parsed = started.elapsed();
    let snap = HeapSnapshot::analyze(raw);
    tracing::debug!(
        path = %path.display(),
        parse_ms = parsed.as_millis() as u64,
        analyze_ms = (started.elapsed() - parsed).as_millis() as u64,
        "loaded snapshot"
    );
    Ok((snap, size))
}

/// Finds leaks across the snapshot files (or directories) in `paths`, oldest first.
pub fn find_leaks(paths: &[PathBuf], opts: &FindOptions) -> Result<Report, FindError> {
    let files = expand_inputs(paths)?;
    if files.len() < 2 {
        return Err(FindError::TooFew(files.len()));
    }
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let (last_path, earlier) = files.split_last().expect("two or more files");
    let mut summaries: Vec<SnapshotSummary>;
    let last: HeapSnapshot;
    let last_size: u64;
    if total <= opts.parallel_bytes {
        use rayon::prelude::*;
        let (earlier_res, last_res) = rayon::join(
            || {
                earlier
                    .par_iter()
                    .map(|p| {
                        let (snap, size) = load(p)?;
                        Ok(summary::summarize(&snap, &p.display().to_string(), size))
                    })
                    .collect::<Result<Vec<_>, FindError>>()
            },
            || load(last_path),
        );
        summaries = earlier_res?;
        let (snap, size) = last_res?;
        last = snap;
        last_size = size;
    } else {
        // One snapshot in memory at a time; check each pair as soon as both are summarised
        // so an input mistake fails before the expensive part, and drop ids no longer needed.
        summaries = Vec::with_capacity(files.len());
        for p in earlier {
            let (snap, size) = load(p)?;
            let s = summary::summarize(&snap, &p.display().to_string(), size);
            // Dropped before the next parse, so that its memory is reused.
            drop(snap);
            if let Some(prev) = summaries.last() {
                order::check_pair(prev, &s)?;
            }
            let n = summaries.len();
            if n >= 2 {
                summaries[n - 1].ids = Default::default();
            }
            summaries.push(s);
        }
        let (snap, size) = load(last_path)?;
        last = snap;
        last_size = size;
    }
    // The last snapshot's summary and the survivor groups (which need only every
    // snapshot's highest JS id) are independent: build them side by side.
    let mut boundaries: Vec<u32> = summaries.iter().map(|s| s.info.max_js_id).collect();
    boundaries.push(summary::max_js_id(&last));
    let (last_summary, surv) = rayon::join(
        || summary::summarize(&last, &last_path.display().to_string(), last_size),
        || timed_survivors(|| survivors::compute_with(&last, &summaries[0], &boundaries)),
    );
    summaries.push(last_summary);
    order::check(&summaries)?;
    let started = std::time::Instant::now();
    let report = detect_and_explain(&summaries, &last, &surv, opts);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "detected and explained"
    );
    Ok(report)
}

/// Finds leaks given the summaries of all snapshots (oldest first, the last included) and the
/// analysed last snapshot. The inputs must already be checked ([`order::check`]).
pub fn find_in(summaries: &[SnapshotSummary], last: &HeapSnapshot, opts: &FindOptions) -> Report {
    let surv = timed_survivors(|| survivors::compute(last, summaries));
    detect_and_explain(summaries, last, &surv, opts)
}

fn timed_survivors(compute: impl FnOnce() -> survivors::Survivors) -> survivors::Survivors {
    let started = std::time::Instant::now();
    let surv = compute();
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "grouped survivors"
    );
    surv
}

fn detect_and_explain(
    summaries: &[SnapshotSummary],
    last: &HeapSnapshot,
    surv: &survivors::Survivors,
    opts: &FindOptions,
) -> Report {
    use rayon::prelude::*;
    let names = graph::Names::new(last.raw());
    let cx = detect::Context {
        snap: last,
        names: names.clone(),
        summaries,
        survivors: surv,
    };
    // Detectors are independent readers of the graph: run them in parallel, then keep
    // their candidates in the fixed detector order.
    let per_detector: Vec<Vec<detect::Candidate>> = detect::all()
        .par_iter()
        .map(|d| {
            let started = std::time::Instant::now();
            let found = d.detect(&cx);
            tracing::debug!(
                detector = d.name(),
                ms = started.elapsed().as_millis() as u64,
                "ran detector"
            );
            found
        })
        .collect();
    let candidates: Vec<detect::Candidate> = per_detector.into_iter().flatten().collect();
    // One finding per root cause: merge candidates naming the same holder.
    let mut by_holder: HashMap<u32, Vec<detect::Candidate>> = HashMap::new();
    for c in candidates {
        by_holder.entry(c.holder).or_default().push(c);
    }
    // Fold weak candidates (growing classes) whose objects lie inside what a stronger
    // candidate explains (a closure chain's subtrees) into that candidate.
    let mut covered: HashMap<u32, u32> = HashMap::new();
    let mut sorted_holders: Vec<u32> = by_holder.keys().copied().collect();
    sorted_holders.sort_unstable();
    for holder in sorted_holders {
        for c in &by_holder[&holder] {
            for &root in &c.covers {
                covered.insert(root, holder);
            }
        }
    }
    if !covered.is_empty() {
        let mut weak: Vec<u32> = by_holder
            .iter()
            .filter(|(_, cs)| cs.iter().all(|c| c.priority <= 20 && c.covers.is_empty()))
            .map(|(&h, _)| h)
            .collect();
        // In holder order, so the folded evidence reads the same on every run.
        weak.sort_unstable();
        for h in weak {
            let sample = by_holder[&h].iter().find_map(|c| c.sample).unwrap_or(h);
            let mut cur = sample;
            let mut into = None;
            for _ in 0..100_000 {
                if let Some(&target) = covered.get(&cur) {
                    into = Some(target);
                    break;
                }
                let up = last.dominator(cur);
                if up == cur {
                    break;
                }
                cur = up;
            }
            if let Some(target) = into.filter(|&t| t != h) {
                let folded = by_holder.remove(&h).unwrap_or_default();
                if let Some(dest) = by_holder.get_mut(&target) {
                    for mut c in folded {
                        c.priority = 0;
                        dest.push(c);
                    }
                }
            }
        }
    }
    let mut explainer = explain::Explainer::new(last, &names);
    let mut findings = Vec::new();
    let mut holders: Vec<u32> = by_holder.keys().copied().collect();
    holders.sort_unstable();
    for holder in holders {
        let mut cands = by_holder.remove(&holder).unwrap_or_default();
        // Strongest first; ties in a fixed order (detectors may emit in hash order), so the
        // merged evidence reads the same on every run.
        cands.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.class.cmp(&b.class))
                .then_with(|| a.evidence.cmp(&b.evidence))
        });
        let main = cands.remove(0);
        let mut evidence = main.evidence.clone();
        for other in &cands {
            for e in &other.evidence {
                if !evidence.contains(e) {
                    evidence.push(e.clone());
                }
            }
        }
        let ex = explainer.explain(holder, &main.location, main.tail_edge);
        let holder_kind = match main.kind {
            // Timers and listeners hang off node internals; judge them by their callbacks.
            FindingKind::TimerLeak | FindingKind::ListenerLeak => match &ex.location {
                Some(l) if !l.script.starts_with("node:") && !l.script.starts_with("script #") => {
                    score::HolderKind::ModuleScope.max_with(ex.holder_kind)
                }
                _ => score::HolderKind::Internal,
            },
            _ => ex.holder_kind,
        };
        let sc = score::confidence(&score::Evidence {
            counts: main.counts.clone(),
            retained: main.retained.clone(),
            holder: Some(holder_kind),
        });
        if sc.confidence < opts.min_confidence {
            continue;
        }
        let group = surv.groups.get(&holder);
        let secondary: Vec<Secondary> = group
            .map(|g| {
                g.top_classes()
                    .into_iter()
                    .take(5)
                    .map(|(class, c, s)| Secondary {
                        class,
                        new_count: c,
                        new_self_size: s,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let edge = main.edge.clone().or(ex.edge.clone());
        let growth = score::deltas(&main.counts).unwrap_or_default();
        let rgrowth = score::deltas(&main.retained).unwrap_or_default();
        evidence.push(format!(
            "grew in {}/{} intervals; steadiness {:.2}; size {:.2}; holder {:?}",
            sc.grew, sc.intervals, sc.steady, sc.size, holder_kind
        ));
        let title = title_for(&main, &edge, &ex.path_text, &rgrowth);
        findings.push(Finding {
            rank: 0,
            kind: main.kind,
            pattern: main.pattern,
            confidence: (sc.confidence * 1000.0).round() / 1000.0,
            title,
            class: main.class.clone(),
            holder_id: last.raw().node_ids[holder as usize],
            edge: edge.clone(),
            count_unit: main.count_unit.clone(),
            counts: main.counts.clone(),
            retained_sizes: main.retained.clone(),
            growth_per_interval: growth,
            retained_growth_per_interval: rgrowth,
            new_objects: group.map(|g| g.count).unwrap_or(0),
            new_objects_size: group.map(|g| g.self_size).unwrap_or(0),
            secondary,
            retainer_path: ex.path,
            retainer_path_text: ex.path_text,
            location: ex.location,
            suggestion: fix::suggestion(main.pattern, edge.as_deref()),
            evidence,
        });
    }
    findings.sort_by(|a, b| {
        b.confidence
            .partial_cmp(&a.confidence)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| {
                let ga: i64 = a.retained_growth_per_interval.iter().sum();
                let gb: i64 = b.retained_growth_per_interval.iter().sum();
                gb.cmp(&ga)
            })
            .then(a.holder_id.cmp(&b.holder_id))
    });
    if opts.top > 0 {
        findings.truncate(opts.top);
    }
    for (i, f) in findings.iter_mut().enumerate() {
        f.rank = i + 1;
    }
    Report {
        findings,
        snapshots: summaries.iter().map(|s| s.info.clone()).collect(),
    }
}

fn human_bytes(b: i64) -> String {
    let a = b.unsigned_abs() as f64;
    let (v, u) = if a >= 1024.0 * 1024.0 * 1024.0 {
        (a / 1024.0 / 1024.0 / 1024.0, "GB")
    } else if a >= 1024.0 * 1024.0 {
        (a / 1024.0 / 1024.0, "MB")
    } else if a >= 1024.0 {
        (a / 1024.0, "KB")
    } else {
        (a, "B")
    };
    let sign = if b < 0 { "-" } else { "+" };
    if u == "B" {
        format!("{sign}{v:.0} {u}")
    } else {
        format!("{sign}{v:.1} {u}")
    }
}

fn title_for(c: &detect::Candidate, edge: &Option<String>, path: &str, rgrowth: &[i64]) -> String {
    let last = c.counts.last().copied().flatten().unwrap_or(0);
    let first = c.counts.iter().flatten().next().copied().unwrap_or(0);
    let per = if rgrowth.is_empty() {
        String::new()
    } else {
        let mean = rgrowth.iter().sum::<i64>() / rgrowth.len() as i64;
        format!(", {} per interval", human_bytes(mean))
    };
    let held = if path.is_empty() {
        String::new()
    } else {
        format!(" held by {path}")
    };
    let name = edge.as_deref().unwrap_or("?");
    match c.pattern {
        Pattern::ListenerLeak => format!(
            "EventEmitter listener leak: {last} listeners on '{name}' (from {first}){per}{held}"
        ),
        Pattern::TimerLeak => {
            format!("timer leak: {last} timers never cleared (from {first}){per}{held}")
        }
        Pattern::ClosureLeak => {
            format!("closure chain: {last} contexts kept alive one by another{per}{held}")
        }
        Pattern::UnboundedCache => format!(
            "unbounded {}: {last} entries (from {first}){per}{held}",
            c.class
        ),
        Pattern::GrowingSet => format!(
            "growing {}: {last} entries (from {first}){per}{held}",
            c.class
        ),
        Pattern::GrowingArray => {
            format!("growing array: {last} elements (from {first}){per}{held}")
        }
        Pattern::DictionaryObject => {
            format!("object used as a dictionary: {last} properties (from {first}){per}{held}")
        }
        Pattern::PendingPromises => format!(
            "promises that never settle: {last} {} (from {first}){per}{held}",
            c.count_unit
        ),
        Pattern::DetachedDom if c.kind == FindingKind::DetachedDom && c.sample.is_none() => {
            format!(
                "detached DOM kept in {}: {last} {} (from {first}){per}{held}",
                c.class, c.count_unit
            )
        }
        Pattern::DetachedDom => format!(
            "detached DOM: {last} {} nodes (from {first}){held}",
            c.class
        ),
        Pattern::GrowingObjects | Pattern::AccumulatingStrings => format!(
            "{} grows: {last} {} (from {first}){per}{held}",
            c.class, c.count_unit
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::leaky_process;

    fn run(per_round: u32, snapshots: u32, script: &str) -> (Report, Vec<SnapshotSummary>) {
        let mut summaries = Vec::new();
        let mut last = None;
        for k in 1..=snapshots {
            let snap = HeapSnapshot::analyze(leaky_process(k, per_round, script));
            summaries.push(summary::summarize(&snap, &format!("s{k}"), 0));
            last = Some(snap);
        }
        order::check(&summaries).unwrap();
        let report = find_in(&summaries, last.as_ref().unwrap(), &FindOptions::default());
        (report, summaries)
    }

    #[test]
    fn survivors_group_under_the_old_container() {
        let mut summaries = Vec::new();
        let mut last = None;
        for k in 1..=3 {
            let snap = HeapSnapshot::analyze(leaky_process(k, 200, "/nonexistent/app.js"));
            summaries.push(summary::summarize(&snap, "s", 0));
            last = Some(snap);
        }
        let last = last.unwrap();
        let surv = survivors::compute(&last, &summaries);
        let log = last.ordinal_of_id(19).unwrap();
        let g = &surv.groups[&log];
        // 400 new items and their 400 strings, 200 + 200 per interval.
        assert_eq!(g.count, 800);
        assert_eq!(g.per_interval, vec![400, 400]);
        assert_eq!(g.classes["Request"].0, 400);
        // The bounded map's entries are new too but belong to the Map (not its table).
        let lru = last.ordinal_of_id(21).unwrap();
        assert!(surv.groups.contains_key(&lru));
        assert!(!surv
            .groups
            .values()
            .any(|g| last.raw().node_name(g.anchor).is_empty()
                && last.raw().node_types[g.anchor as usize]
                    == leakhound_snapshot::NodeType::Array));
    }

    #[test]
    fn growing_array_is_one_finding_with_path_counts_and_declaration() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("app.js");
        std::fs::write(
            &script,
            "'use strict';\n\nconst requestLog = []; // here\nconst lru = new Map();\n",
        )
        .unwrap();
        let (report, _) = run(200, 3, script.to_str().unwrap());
        let top = &report.findings[0];
        assert_eq!(top.pattern, Pattern::GrowingArray, "{top:#?}");
        assert_eq!(top.edge.as_deref(), Some("requestLog"));
        assert_eq!(top.counts, vec![Some(200), Some(400), Some(600)]);
        assert_eq!(top.growth_per_interval, vec![200, 200]);
        // Exact retained sizes: array 32 + 1040 per item.
        assert_eq!(top.retained_sizes[2], Some(32 + 600 * 1040));
        assert!(top.confidence >= 0.8, "{top:#?}");
        assert_eq!(top.retainer_path_text, "(module scope)->requestLog");
        let last = top.retainer_path.last().unwrap();
        assert_eq!(
            (last.edge.as_str(), last.edge_type.as_str()),
            ("requestLog", "context")
        );
        let loc = top.location.as_ref().unwrap();
        assert_eq!(
            (loc.line, loc.column, loc.source.as_str()),
            (3, 7, "declaration")
        );
        // The folded secondary objects: the requests and their strings, no separate finding.
        assert!(top
            .secondary
            .iter()
            .any(|s| s.class == "Request" && s.new_count == 400));
        assert!(report
            .findings
            .iter()
            .all(|f| f.class != "Request" || f.rank == 1));
        // The bounded map never reaches 0.5.
        for f in &report.findings[1..] {
            assert!(f.confidence < 0.5, "{f:#?}");
        }
    }

    #[test]
    fn two_snapshots_work_and_score_lower() {
        let (three, _) = run(200, 3, "/nonexistent/app.js");
        let (two, _) = run(200, 2, "/nonexistent/app.js");
        assert_eq!(two.findings[0].edge.as_deref(), Some("requestLog"));
        assert!(two.findings[0].confidence < three.findings[0].confidence);
        // Without the script on disk, the location falls back to the capturing closure.
        let loc = three.findings[0].location.as_ref().unwrap();
        assert_eq!(
            (loc.script.as_str(), loc.line, loc.source.as_str()),
            ("/nonexistent/app.js", 8, "closure")
        );
    }

    #[test]
    fn natural_order_of_names() {
        let mut v = [
            PathBuf::from("s10.heapsnapshot"),
            PathBuf::from("s2.heapsnapshot"),
            PathBuf::from("s1.heapsnapshot"),
        ];
        v.sort_by_key(|a| natural_key(a));
        assert_eq!(v[0], PathBuf::from("s1.heapsnapshot"));
        assert_eq!(v[2], PathBuf::from("s10.heapsnapshot"));
    }
}
