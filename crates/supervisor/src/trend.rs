//! Leak trends on the post-GC heap: a Theil–Sen slope (median of pairwise slopes, robust to
//! up to ~29 % outliers such as a cache warm-up or one big request) over a sliding window of
//! one process lifetime ("segment"; a restart starts a new one).
//!
//! Points are bucketed in time (the minimum of each bucket is kept: the lowest post-GC heap
//! in a bucket is the best estimate of live memory), so the fit costs at most
//! `MAX_POINTS²/2` slope evaluations whatever the GC frequency.

use std::collections::VecDeque;

/// At most this many points are kept; the bucket width is `window / MAX_POINTS`.
pub const MAX_POINTS: usize = 240;

/// One fitted trend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Bytes per second (Theil–Sen).
    pub slope: f64,
    /// Fitted value at `t_last` (Theil–Sen intercept: median of `y - slope*t`).
    pub fitted_last: f64,
    /// Fitted value at the first point of the window.
    pub fitted_first: f64,
    /// Seconds covered by the points.
    pub span: f64,
    pub points: usize,
    /// Share of pairwise slopes that are positive (a consistency figure, 0..1).
    pub positive_share: f64,
}

impl Trend {
    /// Growth in MB (MiB) per hour.
    pub fn mb_per_hour(&self) -> f64 {
        self.slope * 3600.0 / (1024.0 * 1024.0)
    }

    /// Seconds until the fitted line reaches `limit`, if it grows.
    pub fn seconds_to(&self, limit: f64) -> Option<f64> {
        if self.slope <= 0.0 {
            return None;
        }
        Some(((limit - self.fitted_last) / self.slope).max(0.0))
    }
}

/// The post-GC series of one segment.
#[derive(Debug, Clone)]
pub struct Series {
    window: f64,
    bucket: f64,
    points: VecDeque<(f64, f64)>,
}

impl Series {
    /// `window` and `min_bucket` in seconds (the bucket is at least one sampling interval).
    pub fn new(window: f64, min_bucket: f64) -> Series {
        let bucket = (window / MAX_POINTS as f64).max(min_bucket).max(1e-3);
        Series {
            window,
            bucket,
            points: VecDeque::new(),
        }
    }

    pub fn clear(&mut self) {
        self.points.clear();
    }

    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn last(&self) -> Option<(f64, f64)> {
        self.points.back().copied()
    }

    /// Adds a point (`t` seconds since any fixed origin, non-decreasing).
    pub fn push(&mut self, t: f64, y: f64) {
        if let Some(last) = self.points.back_mut() {
            if (t / self.bucket).floor() == (last.0 / self.bucket).floor() {
                if y < last.1 {
                    *last = (t, y);
                }
                return;
            }
        }
        self.points.push_back((t, y));
        while let Some(&(t0, _)) = self.points.front() {
            if t - t0 > self.window || self.points.len() > MAX_POINTS {
                self.points.pop_front();
            } else {
                break;
            }
        }
    }

    /// The Theil–Sen fit over the points currently in the window.
    pub fn fit(&self) -> Option<Trend> {
        theil_sen(self.points.iter().copied().collect())
    }
}

/// Theil–Sen estimator over `(t, y)` points. Needs at least 3 points with distinct times.
pub fn theil_sen(points: Vec<(f64, f64)>) -> Option<Trend> {
    let n = points.len();
    if n < 3 {
        return None;
    }
    let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let dt = points[j].0 - points[i].0;
            if dt > 0.0 {
                slopes.push((points[j].1 - points[i].1) / dt);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    let positive = slopes.iter().filter(|s| **s > 0.0).count() as f64 / slopes.len() as f64;
    let slope = median(&mut slopes);
    let mut intercepts: Vec<f64> = points.iter().map(|(t, y)| y - slope * t).collect();
    let intercept = median(&mut intercepts);
    let t_first = points[0].0;
    let t_last = points[n - 1].0;
    Some(Trend {
        slope,
        fitted_last: intercept + slope * t_last,
        fitted_first: intercept + slope * t_first,
        span: t_last - t_first,
        points: n,
        positive_share: positive,
    })
}

fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    let mid = n / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    let m = *m;
    if n % 2 == 1 {
        m
    } else {
        let lower = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + m) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line() {
        let pts: Vec<_> = (0..10)
            .map(|i| (i as f64, 100.0 + 5.0 * i as f64))
            .collect();
        let t = theil_sen(pts).unwrap();
        assert!((t.slope - 5.0).abs() < 1e-9);
        assert!((t.fitted_last - 145.0).abs() < 1e-9);
        assert_eq!(t.points, 10);
        assert!((t.positive_share - 1.0).abs() < 1e-9);
        assert_eq!(t.seconds_to(245.0), Some(20.0));
    }

    #[test]
    fn robust_to_outliers() {
        let mut pts: Vec<_> = (0..20)
            .map(|i| (i as f64, 1000.0 + 2.0 * i as f64))
            .collect();
        pts[3].1 = 1e6;
        pts[11].1 = -1e6;
        pts[15].1 = 5e5;
        let t = theil_sen(pts).unwrap();
        assert!((t.slope - 2.0).abs() < 0.5, "{t:?}");
    }

    #[test]
    fn flat_noise_has_no_growth() {
        let pts: Vec<_> = (0..30)
            .map(|i| (i as f64, 5000.0 + if i % 2 == 0 { 40.0 } else { -40.0 }))
            .collect();
        let t = theil_sen(pts).unwrap();
        assert!(t.slope.abs() < 1e-9, "{t:?}");
        assert_eq!(t.seconds_to(1e9), None);
    }

    #[test]
    fn series_buckets_keep_min_and_slide() {
        let mut s = Series::new(10.0, 1.0);
        s.push(0.1, 50.0);
        s.push(0.5, 40.0);
        s.push(0.9, 60.0);
        assert_eq!(s.len(), 1);
        assert_eq!(s.last(), Some((0.5, 40.0)));
        for i in 1..30 {
            s.push(i as f64, i as f64);
        }
        assert!(s.len() <= 11, "{}", s.len());
        assert!(s.fit().unwrap().slope > 0.9);
    }

    #[test]
    fn too_few_points() {
        assert!(theil_sen(vec![(0.0, 1.0), (1.0, 2.0)]).is_none());
        assert!(theil_sen(vec![(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]).is_none());
    }
}
