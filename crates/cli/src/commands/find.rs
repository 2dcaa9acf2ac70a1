//! `leakhound find`: name the leak across snapshots of one process.

use super::{CmdResult, Status};
use crate::output::{self, paint, Style};
use leakhound_finder::{find_leaks, FindOptions, Finding, Report};
use std::path::PathBuf;

/// Find leaks across two or more heap snapshots of one process.
///
/// Give the snapshots oldest first (or a directory: its *.heapsnapshot files are taken in
/// name order, `s2` before `s10`). They must come from one process, in order: leakhound
/// checks this from the object ids (V8 keeps an object's id for its life and hands out
/// increasing ids) and stops with exit code 2 otherwise. Three or more snapshots with the
/// same load between them give the strongest evidence.
///
/// What it finds: Map/Set/Array containers and plain objects used as dictionaries whose
/// entries grow; EventEmitter listeners that pile up (`_events`); timers never cleared
/// (node's timer lists); closure chains that keep earlier contexts alive ("replaceThing");
/// classes whose live count grows in every interval (pending Promises, detached DOM); and,
/// memlab's rule done right, objects allocated after the first snapshot and still alive at
/// the last, reported once per retaining container, never as thousands of leaves. Growth
/// of code, object shapes, feedback cells, compilation caches and other JIT warm-up is
/// ignored. Sizes are exact retained sizes (DevTools semantics), never sampled.
///
/// Confidence model (each finding gets a confidence in [0, 1]):
///
///   confidence = monotonic × size^0.75 × (0.5 + 0.3 × steady + 0.2 × holder)
///
///   monotonic  (intervals that grew / intervals)²; 0 when only the first interval grew
///              (warm-up); halved when an interval shrank by more than 2%.
///   steady     1 − coefficient of variation of the per-interval growth: growth
///              proportional to the load scores high; 0.4 with only two snapshots.
///   size       0.45 × bytes (mean retained growth per interval, log scale 1 KB..1 MB)
///            + 0.35 × count (mean entries per interval, log scale 1..1000)
///            + 0.2 × relative (total growth / first value, saturating at +50%).
///   holder     1 module-scope or global variable, 0.75 user object, 0.5 unknown,
///              0.2 node/V8 internals.
///
/// Exit codes: 0 done (no finding reached --fail-on); 1 a finding reached --fail-on;
/// 2 input error (unreadable file, snapshots of different processes, wrong order).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Snapshot files oldest first, or a directory of *.heapsnapshot files.
    #[arg(required = true, value_name = "SNAPSHOT")]
    pub snapshots: Vec<PathBuf>,

    /// Exit 1 when a finding has at least this confidence (0..1), for CI gates.
    #[arg(long, value_name = "CONFIDENCE", value_parser = parse_confidence)]
    pub fail_on: Option<f64>,

    /// Show at most N findings, strongest first (0 = all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Hide findings below this confidence.
    #[arg(long, value_name = "CONFIDENCE", default_value_t = 0.2, value_parser = parse_confidence)]
    pub min_confidence: f64,

    /// Print `{"findings": [...], "snapshots": [...]}` as JSON instead of the report.
    #[arg(long)]
    pub json: bool,
}

fn parse_confidence(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number between 0 and 1"))?;
    if !(0.0..=1.0).contains(&v) {
        return Err(format!("`{s}` is not between 0 and 1"));
    }
    Ok(v)
}

pub fn run(args: Args) -> CmdResult {
    let opts = FindOptions {
        top: args.top,
        min_confidence: args.min_confidence,
        ..FindOptions::default()
    };
    let spinner = output::spinner("analysing snapshots");
    let report = find_leaks(&args.snapshots, &opts);
    spinner.finish_and_clear();
    let report = report?;
    if args.json {
        output::print_json(&report)?;
    } else {
        print_report(&report);
    }
    if let Some(threshold) = args.fail_on {
        if report.findings.iter().any(|f| f.confidence >= threshold) {
            return Ok(Status::LeakFound);
        }
    }
    Ok(Status::Ok)
}

fn series(values: &[Option<u64>], bytes: bool) -> String {
    values
        .iter()
        .map(|v| match v {
            Some(v) if bytes => output::fmt_bytes(*v),
            Some(v) => output::fmt_count(*v),
            None => "-".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

fn deltas(values: &[i64], bytes: bool) -> String {
    values
        .iter()
        .map(|&d| {
            if bytes {
                output::fmt_delta(d)
            } else if d >= 0 {
                format!("+{}", output::fmt_count(d as u64))
            } else {
                format!("-{}", output::fmt_count(d.unsigned_abs()))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_finding(f: &Finding) {
    let pct = format!("{:.0}%", f.confidence * 100.0);
    let style = if f.confidence >= 0.8 {
        Style::Red
    } else if f.confidence >= 0.5 {
        Style::Yellow
    } else {
        Style::Dim
    };
    println!(
        "{} {} {}",
        paint(&format!("#{}", f.rank), Style::Bold),
        paint(&pct, style),
        paint(&f.title, Style::Bold)
    );
    // The detector kind is shown only when it says more than the pattern.
    let kind = match f.kind.as_str() {
        k if k == f.pattern.as_str() => String::new(),
        k => format!("  ({k})"),
    };
    println!(
        "   {} {}{kind}",
        paint("pattern:", Style::Dim),
        f.pattern.as_str()
    );
    let mut t = output::table(&["", "per snapshot", "growth per interval"]);
    t.add_row(vec![
        f.count_unit.clone(),
        series(&f.counts, false),
        deltas(&f.growth_per_interval, false),
    ]);
    t.add_row(vec![
        "retained".to_string(),
        series(&f.retained_sizes, true),
        deltas(&f.retained_growth_per_interval, true),
    ]);
    for line in t.to_string().lines() {
        println!("   {line}");
    }
    if f.new_objects > 0 {
        let folded: Vec<String> = f
            .secondary
            .iter()
            .take(4)
            .map(|s| {
                format!(
                    "{} × {} ({})",
                    output::fmt_count(s.new_count),
                    s.class,
                    output::fmt_bytes(s.new_self_size)
                )
            })
            .collect();
        println!(
            "   {} {} new objects since the first snapshot, {} shallow: {}",
            paint("holds:", Style::Dim),
            output::fmt_count(f.new_objects),
            output::fmt_bytes(f.new_objects_size),
            folded.join(", ")
        );
    }
    if !f.retainer_path_text.is_empty() {
        println!(
            "   {} {}  (@{})",
            paint("path:", Style::Dim),
            paint(&f.retainer_path_text, Style::Cyan),
            f.holder_id
        );
    }
    match &f.location {
        Some(l) => println!(
            "   {} {}  ({})",
            paint("where:", Style::Dim),
            paint(&l.to_string(), Style::Cyan),
            l.source
        ),
        None => println!("   {} unknown", paint("where:", Style::Dim)),
    }
    println!("   {} {}", paint("fix:", Style::Dim), f.suggestion);
    for e in &f.evidence {
        println!("   {} {}", paint("·", Style::Dim), paint(e, Style::Dim));
    }
    println!();
}

fn print_report(report: &Report) {
    let n = report.snapshots.len();
    let first = report.snapshots.first();
    let last = report.snapshots.last();
    if let (Some(a), Some(b)) = (first, last) {
        println!(
            "{} snapshots of one process: {} → {} total, {} → {} nodes",
            n,
            output::fmt_bytes(a.total_size),
            output::fmt_bytes(b.total_size),
            output::fmt_count(a.node_count),
            output::fmt_count(b.node_count)
        );
    }
    if report.findings.is_empty() {
        println!("{}", paint("no leak found", Style::Green));
        return;
    }
    println!();
    for f in &report.findings {
        print_finding(f);
    }
}
