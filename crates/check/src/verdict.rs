//! The memory verdict: does the post-GC heap settle after warm-up, does it stay under
//! `max_ratio` × the baseline, and how fast does it grow per round and per 1000 requests.

use crate::scenario::VerdictRules;
use crate::units::{fmt_bytes, fmt_delta};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Green,
    Yellow,
    Red,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Yellow => "yellow",
            Level::Red => "red",
        }
    }
}

/// What the verdict looks at.
#[derive(Debug, Clone)]
pub struct VerdictInput {
    /// Post-GC used heap after the warm-up (the baseline), then after each round.
    pub post_gc_heap: Vec<u64>,
    /// Requests sent in each round (`None` when an external load command gave no figure).
    pub round_requests: Vec<Option<u64>>,
    /// RSS after the warm-up and the baseline snapshot, and the highest RSS seen after it
    /// (outside snapshots).
    pub rss_baseline: Option<u64>,
    pub rss_max: Option<u64>,
    /// Fraction of failed requests over all rounds (built-in load only).
    pub error_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub level: Level,
    /// Every rule that fired, worst first; for green, why it is green.
    pub reasons: Vec<String>,
    pub baseline_heap: u64,
    pub final_heap: u64,
    pub max_heap: u64,
    /// Heap growth of each round (post-GC, bytes).
    pub round_growth: Vec<i64>,
    /// Least-squares slope of the post-GC heap over rounds, bytes per round.
    pub growth_per_round: f64,
    /// (final − baseline) per 1000 requests, when request counts are known.
    pub growth_per_1000_requests: Option<f64>,
    /// The last round grew by at most the tolerance.
    pub settled: bool,
    /// max post-GC heap / baseline.
    pub max_ratio: f64,
    pub rss_baseline: Option<u64>,
    pub rss_max: Option<u64>,
    pub tolerance: u64,
}

fn slope(ys: &[u64]) -> f64 {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return 0.0;
    }
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().map(|y| *y as f64).sum::<f64>() / n;
    let mut num = 0.0;
    let mut den = 0.0;
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mx;
        num += dx * (*y as f64 - my);
        den += dx * dx;
    }
    num / den
}

/// Judges the run. `post_gc_heap` must hold the baseline plus at least one round.
pub fn judge(input: &VerdictInput, rules: &VerdictRules) -> Verdict {
    let heap = &input.post_gc_heap;
    let baseline = heap.first().copied().unwrap_or(0);
    let last = heap.last().copied().unwrap_or(0);
    let max = heap.iter().copied().max().unwrap_or(0);
    let tol = rules.growth_tolerance;
    let growth: Vec<i64> = heap.windows(2).map(|w| w[1] as i64 - w[0] as i64).collect();
    let settled = growth.last().is_none_or(|g| *g <= tol as i64);
    let sustained = growth.len() >= 2 && growth.iter().all(|g| *g > tol as i64);
    let ratio = if baseline > 0 {
        max as f64 / baseline as f64
    } else {
        1.0
    };
    let total_requests: Option<u64> = input.round_requests.iter().copied().sum();
    let per_1000 = total_requests
        .filter(|n| *n > 0)
        .map(|n| (last as f64 - baseline as f64) / n as f64 * 1000.0);
    let per_round = slope(heap);

    let mut red = Vec::new();
    let mut yellow = Vec::new();
    let grew = fmt_delta(last as i64 - baseline as i64);
    if sustained {
        red.push(format!(
            "the post-GC heap grew in every round ({}) — {grew} over {} rounds, about {} per round{}",
            growth
                .iter()
                .map(|g| fmt_delta(*g))
                .collect::<Vec<_>>()
                .join(", "),
            growth.len(),
            fmt_delta(per_round as i64),
            per_1000
                .map(|p| format!(", {} per 1000 requests", fmt_delta(p as i64)))
                .unwrap_or_default()
        ));
    }
    if ratio >= rules.max_ratio {
        red.push(format!(
            "the post-GC heap reached {:.1}× its baseline ({} → {}; limit {:.1}×)",
            ratio,
            fmt_bytes(baseline),
            fmt_bytes(max),
            rules.max_ratio
        ));
    }
    if !settled && !sustained {
        yellow.push(format!(
            "the post-GC heap has not settled: the last round grew {} (tolerance {})",
            fmt_delta(growth.last().copied().unwrap_or(0)),
            fmt_bytes(tol)
        ));
    }
    if let (Some(b), Some(m)) = (input.rss_baseline, input.rss_max) {
        if b > 0 && m as f64 >= b as f64 * rules.max_ratio {
            yellow.push(format!(
                "RSS peaked at {:.1}× its post-warm-up value ({} → {})",
                m as f64 / b as f64,
                fmt_bytes(b),
                fmt_bytes(m)
            ));
        }
    }
    if let Some(rate) = input.error_rate {
        if rate > rules.max_error_rate {
            yellow.push(format!(
                "{:.1}% of requests failed (limit {:.1}%): the memory figures may not reflect real traffic",
                rate * 100.0,
                rules.max_error_rate * 100.0
            ));
        }
    }
    let (level, reasons) = if !red.is_empty() {
        red.extend(yellow);
        (Level::Red, red)
    } else if !yellow.is_empty() {
        (Level::Yellow, yellow)
    } else {
        (
            Level::Green,
            vec![format!(
                "the post-GC heap settled after warm-up: {grew} over {} rounds (tolerance {} per round), peak {:.2}× baseline",
                growth.len(),
                fmt_bytes(tol),
                ratio
            )],
        )
    };
    Verdict {
        level,
        reasons,
        baseline_heap: baseline,
        final_heap: last,
        max_heap: max,
        round_growth: growth,
        growth_per_round: per_round,
        growth_per_1000_requests: per_1000,
        settled,
        max_ratio: ratio,
        rss_baseline: input.rss_baseline,
        rss_max: input.rss_max,
        tolerance: tol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    fn rules() -> VerdictRules {
        VerdictRules {
            max_ratio: 2.0,
            growth_tolerance: MB,
            max_error_rate: 0.01,
        }
    }

    fn input(heap: &[u64]) -> VerdictInput {
        VerdictInput {
            post_gc_heap: heap.to_vec(),
            round_requests: vec![Some(10_000); heap.len() - 1],
            rss_baseline: Some(50 * MB),
            rss_max: Some(60 * MB),
            error_rate: Some(0.0),
        }
    }

    #[test]
    fn flat_is_green() {
        let v = judge(
            &input(&[8 * MB, 8 * MB + 200_000, 8 * MB + 100_000, 8 * MB + 150_000]),
            &rules(),
        );
        assert_eq!(v.level, Level::Green, "{:?}", v.reasons);
        assert!(v.settled);
    }

    #[test]
    fn steady_growth_is_red() {
        let v = judge(&input(&[8 * MB, 14 * MB, 20 * MB, 26 * MB]), &rules());
        assert_eq!(v.level, Level::Red);
        assert!(v.reasons[0].contains("every round"), "{:?}", v.reasons);
        assert!((v.growth_per_round - 6.0 * MB as f64).abs() < 1.0);
        let per_1000 = v.growth_per_1000_requests.unwrap();
        assert!((per_1000 - 18.0 * MB as f64 / 30.0).abs() < 1.0);
        assert!(
            v.reasons.iter().any(|r| r.contains("3.2×")),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn one_late_bump_is_yellow() {
        let v = judge(&input(&[8 * MB, 8 * MB, 8 * MB, 10 * MB]), &rules());
        assert_eq!(v.level, Level::Yellow);
        assert!(!v.settled);
    }

    #[test]
    fn errors_and_rss_are_yellow() {
        let mut i = input(&[8 * MB, 8 * MB, 8 * MB]);
        i.error_rate = Some(0.2);
        i.rss_max = Some(120 * MB);
        let v = judge(&i, &rules());
        assert_eq!(v.level, Level::Yellow);
        assert_eq!(v.reasons.len(), 2);
    }
}
