//! The confidence model: how sure we are that a growing thing is a leak.

/// What holds the container: a module-scope or global variable is stronger evidence than an
/// object deep inside node's own internals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderKind {
    /// A variable of a module (the outermost function context of a CommonJS/ESM module).
    ModuleScope,
    /// A property of `global` / `window`.
    Global,
    /// An object reached from user code (a closure context, an instance field).
    UserObject,
    /// We could not tell.
    Unknown,
    /// Node's or V8's own internals (scripts `node:*`, internal caches).
    Internal,
}

impl HolderKind {
    /// The stronger of two holder kinds.
    pub fn max_with(self, other: HolderKind) -> HolderKind {
        if other.weight() > self.weight() {
            other
        } else {
            self
        }
    }

    /// The holder term of the score, in [0, 1].
    pub fn weight(self) -> f64 {
        match self {
            HolderKind::ModuleScope | HolderKind::Global => 1.0,
            HolderKind::UserObject => 0.75,
            HolderKind::Unknown => 0.5,
            HolderKind::Internal => 0.2,
        }
    }
}

/// The measurements a confidence is computed from. `counts` and `retained` have one entry per
/// snapshot, oldest first (`None` where the thing did not exist or was not measured).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub counts: Vec<Option<u64>>,
    pub retained: Vec<Option<u64>>,
    pub holder: Option<HolderKind>,
}

/// The terms of the score, kept for the report's evidence notes and for tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub confidence: f64,
    /// Share of intervals that grew, squared, halved on a real shrink; 0 for growth only in
    /// the first interval (warm-up).
    pub monotonic: f64,
    /// 1 − coefficient of variation of the per-interval growth (0.4 with one interval).
    pub steady: f64,
    /// Size of the growth in [0, 1] (bytes, count and relative growth).
    pub size: f64,
    pub holder: f64,
    pub intervals: usize,
    pub grew: usize,
}

/// Per-interval differences of a series; `None` if any value is missing.
pub fn deltas(series: &[Option<u64>]) -> Option<Vec<i64>> {
    let vals: Option<Vec<u64>> = series.iter().copied().collect();
    let vals = vals?;
    Some(vals.windows(2).map(|w| w[1] as i64 - w[0] as i64).collect())
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Coefficient of variation (population standard deviation / mean) of positive values.
pub fn coefficient_of_variation(xs: &[f64]) -> f64 {
    let m = mean(xs);
    if m <= 0.0 {
        return f64::INFINITY;
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
    var.sqrt() / m
}

fn log_scale(value: f64, zero_at: f64, decades: f64) -> f64 {
    if value <= zero_at {
        return 0.0;
    }
    ((value / zero_at).log10() / decades).clamp(0.0, 1.0)
}

/// Confidence in [0, 1] that a growing container / class / chain is a leak.
///
/// The model (also printed by `leakhound find --help`):
///
/// ```text
/// confidence = monotonic × size^0.75 × (0.5 + 0.3 × steady + 0.2 × holder)
/// ```
///
/// - **monotonic**: `(intervals that grew / intervals)²`, from the entry counts (the retained
///   size when there is no count). Growth only in the first interval is warm-up (lazy
///   compilation, caches filling once) and scores 0. A real shrink (more than 2 % and more than
///   one entry) in any interval halves it: leaks do not shrink.
/// - **steady**: `1 − CV` of the per-interval growth (CV = standard deviation / mean), i.e. the
///   growth is proportional to the load that was applied between snapshots. With only two
///   snapshots there is one interval and nothing to compare, so 0.4.
/// - **size**: `0.45 × bytes + 0.35 × count + 0.2 × relative`, where bytes is the mean
///   retained growth per interval on a log scale from 1 KB (0) to 1 MB (1), count the mean
///   entry growth per interval on a log scale from 1 (0) to 1000 (1), and relative the total
///   growth over the first value, saturating at +50 %. Tiny steady growth (node internals
///   adding a few entries) stays far below 0.5.
/// - **holder**: 1 for a module-scope or global variable, 0.75 for a user object, 0.5 when
///   unknown, 0.2 for node/V8 internals.
pub fn confidence(ev: &Evidence) -> Score {
    let count_d = deltas(&ev.counts);
    let ret_d = deltas(&ev.retained);
    // The series that decides monotonicity and steadiness: counts when known, else bytes.
    let (primary, primary_first): (Vec<i64>, Option<u64>) = match (&count_d, &ret_d) {
        (Some(c), _) if !c.is_empty() && c.iter().any(|&d| d != 0) => {
            (c.clone(), ev.counts.first().copied().flatten())
        }
        (_, Some(r)) if !r.is_empty() => (r.clone(), ev.retained.first().copied().flatten()),
        (Some(c), _) => (c.clone(), ev.counts.first().copied().flatten()),
        _ => (Vec::new(), None),
    };
    let intervals = primary.len();
    let holder = ev.holder.unwrap_or(HolderKind::Unknown).weight();
    if intervals == 0 {
        return Score {
            confidence: 0.0,
            monotonic: 0.0,
            steady: 0.0,
            size: 0.0,
            holder,
            intervals,
            grew: 0,
        };
    }
    let grew = primary.iter().filter(|&&d| d > 0).count();
    let mut monotonic = (grew as f64 / intervals as f64).powi(2);
    if intervals >= 2 && grew == 1 && primary[0] > 0 {
        monotonic = 0.0; // warm-up: growth only in the first interval
    }
    // A shrink: compare against the value before the interval.
    let series: Vec<u64> = if count_d.as_ref().is_some_and(|c| c == &primary) {
        ev.counts.iter().map(|v| v.unwrap_or(0)).collect()
    } else {
        ev.retained.iter().map(|v| v.unwrap_or(0)).collect()
    };
    let shrank = primary.iter().enumerate().any(|(i, &d)| {
        let before = series.get(i).copied().unwrap_or(0) as f64;
        d < 0 && (-d as f64) > (before * 0.02).max(1.0)
    });
    if shrank {
        monotonic *= 0.5;
    }
    let pos: Vec<f64> = primary.iter().map(|&d| d.max(0) as f64).collect();
    let steady = if intervals == 1 {
        0.4
    } else {
        (1.0 - coefficient_of_variation(&pos)).clamp(0.0, 1.0)
    };
    let bytes_per_interval = ret_d
        .as_ref()
        .map(|r| mean(&r.iter().map(|&d| d as f64).collect::<Vec<_>>()))
        .unwrap_or(0.0);
    let count_per_interval = count_d
        .as_ref()
        .map(|c| mean(&c.iter().map(|&d| d as f64).collect::<Vec<_>>()))
        .unwrap_or(0.0);
    let s_bytes = log_scale(bytes_per_interval, 1024.0, 3.0);
    let s_count = log_scale(count_per_interval, 1.0, 3.0);
    let total: f64 = primary.iter().map(|&d| d as f64).sum();
    let s_rel = match primary_first {
        Some(0) | None => {
            if total > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Some(first) => (total / first as f64 / 0.5).clamp(0.0, 1.0),
    };
    let size = 0.45 * s_bytes + 0.35 * s_count + 0.2 * s_rel;
    let confidence =
        (monotonic * size.powf(0.75) * (0.5 + 0.3 * steady + 0.2 * holder)).clamp(0.0, 1.0);
    Score {
        confidence,
        monotonic,
        steady,
        size,
        holder,
        intervals,
        grew,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(counts: &[u64], retained: &[u64], holder: HolderKind) -> Evidence {
        Evidence {
            counts: counts.iter().map(|&c| Some(c)).collect(),
            retained: retained.iter().map(|&c| Some(c)).collect(),
            holder: Some(holder),
        }
    }

    #[test]
    fn steady_large_growth_of_a_module_variable_is_near_certain() {
        let s = confidence(&ev(
            &[1500, 3000, 4500],
            &[600_000, 1_200_000, 1_800_000],
            HolderKind::ModuleScope,
        ));
        assert!(s.confidence > 0.95, "{s:?}");
        assert_eq!(s.grew, 2);
        assert!((s.steady - 1.0).abs() < 1e-9);
    }

    #[test]
    fn warm_up_growth_only_in_the_first_interval_scores_zero() {
        let s = confidence(&ev(
            &[200, 1000, 1000, 1000],
            &[20_000, 400_000, 400_000, 400_000],
            HolderKind::ModuleScope,
        ));
        assert_eq!(s.confidence, 0.0, "{s:?}");
    }

    #[test]
    fn tiny_steady_internal_growth_stays_low() {
        let s = confidence(&ev(
            &[100, 103, 106],
            &[5000, 5400, 5800],
            HolderKind::Internal,
        ));
        assert!(s.confidence < 0.3, "{s:?}");
        let s = confidence(&ev(
            &[100, 130, 160],
            &[10_000, 13_000, 16_000],
            HolderKind::Internal,
        ));
        assert!(s.confidence < 0.5, "{s:?}");
    }

    #[test]
    fn irregular_growth_scores_below_proportional_growth() {
        let steady = confidence(&ev(
            &[0, 1000, 2000, 3000],
            &[0, 100_000, 200_000, 300_000],
            HolderKind::UserObject,
        ));
        let jumpy = confidence(&ev(
            &[0, 100, 2900, 3000],
            &[0, 10_000, 290_000, 300_000],
            HolderKind::UserObject,
        ));
        assert!(
            steady.confidence > jumpy.confidence + 0.1,
            "{steady:?} {jumpy:?}"
        );
    }

    #[test]
    fn a_shrink_halves_and_a_missing_interval_lowers() {
        let grow = confidence(&ev(
            &[10, 1000, 2000],
            &[1, 100_000, 200_000],
            HolderKind::Global,
        ));
        let shrink = confidence(&ev(
            &[1000, 2000, 1500],
            &[100_000, 200_000, 150_000],
            HolderKind::Global,
        ));
        let pause = confidence(&ev(
            &[1000, 2000, 2000, 3000],
            &[100_000, 200_000, 200_000, 300_000],
            HolderKind::Global,
        ));
        assert!(shrink.confidence < 0.3, "{shrink:?}");
        assert!(pause.confidence < grow.confidence, "{pause:?} {grow:?}");
        assert!(pause.confidence < 0.6, "{pause:?}");
    }

    #[test]
    fn holder_kind_orders_equal_growth() {
        let counts = [1000, 2000, 3000];
        let ret = [100_000, 200_000, 300_000];
        let m = confidence(&ev(&counts, &ret, HolderKind::ModuleScope)).confidence;
        let u = confidence(&ev(&counts, &ret, HolderKind::UserObject)).confidence;
        let i = confidence(&ev(&counts, &ret, HolderKind::Internal)).confidence;
        assert!(m > u && u > i, "{m} {u} {i}");
    }

    #[test]
    fn two_snapshots_cap_the_confidence() {
        let two = confidence(&ev(
            &[1000, 2000],
            &[100_000, 200_000],
            HolderKind::ModuleScope,
        ));
        let three = confidence(&ev(
            &[1000, 2000, 3000],
            &[100_000, 200_000, 300_000],
            HolderKind::ModuleScope,
        ));
        assert!(two.confidence < three.confidence);
        assert!(two.confidence > 0.6 && two.confidence < 0.9, "{two:?}");
    }

    #[test]
    fn retained_series_is_used_without_counts() {
        let e = Evidence {
            counts: vec![None, None, None],
            retained: vec![Some(1_000_000), Some(2_000_000), Some(3_000_000)],
            holder: Some(HolderKind::ModuleScope),
        };
        let s = confidence(&e);
        // Without a count, the count term is 0: strong but not certain.
        assert!(s.confidence > 0.6 && s.confidence < 0.8, "{s:?}");
        assert_eq!(s.grew, 2);
    }

    #[test]
    fn cv() {
        assert!((coefficient_of_variation(&[2.0, 2.0, 2.0])).abs() < 1e-12);
        assert!(coefficient_of_variation(&[0.0, 0.0]).is_infinite());
        assert_eq!(deltas(&[Some(1), Some(4), Some(2)]), Some(vec![3, -2]));
        assert_eq!(deltas(&[Some(1), None]), None);
    }
}
