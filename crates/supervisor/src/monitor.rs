//! The per-segment decision logic, free of I/O so that it can be tested with made-up clocks:
//! warm-up, the sustained-breach rule of the memory limit, the leak trend and the alerts.
//! A segment is one process lifetime; a restart starts a new [`Monitor`].

use crate::config::{LimitOn, Settings};
use crate::trend::{Series, Trend};
use crate::units::GrowthAlert;

/// What the instance task should do after a tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Warm-up is over: take the baseline snapshot.
    Baseline,
    /// An alert fired (once per kind per segment).
    Alert(Alert),
    /// The memory limit was exceeded for the sustain period after warm-up.
    Restart { value: u64, limit: u64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `leak_suspected`, `heap_percent`, `heap_growth`.
    pub kind: &'static str,
    pub message: String,
    pub heap: Option<u64>,
    pub limit: Option<u64>,
    pub trend: Option<Trend>,
}

#[derive(Debug, Clone)]
pub struct Rules {
    pub warmup: f64,
    pub interval: f64,
    pub max_memory: Option<u64>,
    pub limit_on: LimitOn,
    pub sustain: f64,
    pub trend_window: f64,
    pub leak_rate: f64,
    pub alert_heap_percent: Option<f64>,
    pub alert_growth: Option<GrowthAlert>,
}

impl Rules {
    pub fn from_settings(s: &Settings) -> Rules {
        Rules {
            warmup: s.warmup.as_secs_f64(),
            interval: s.interval.as_secs_f64(),
            max_memory: s.max_memory,
            limit_on: s.limit_on,
            sustain: s.sustain.as_secs_f64(),
            trend_window: s.trend_window.as_secs_f64(),
            leak_rate: s.leak_rate,
            alert_heap_percent: s.alert_heap_percent,
            alert_growth: s.alert_growth,
        }
    }

    /// The trend needs this many seconds of post-GC points before it may call a leak.
    pub fn min_span(&self) -> f64 {
        (self.trend_window / 10.0).max(3.0 * self.interval)
    }
}

pub struct Monitor {
    rules: Rules,
    series: Series,
    over_since: Option<f64>,
    baseline_done: bool,
    fired: Vec<&'static str>,
    last_fit: f64,
    pub trend: Option<Trend>,
    pub leak_suspected: bool,
    pub heap_limit: Option<u64>,
}

impl Monitor {
    pub fn new(rules: Rules) -> Monitor {
        let series = Series::new(rules.trend_window, rules.interval);
        Monitor {
            rules,
            series,
            over_since: None,
            baseline_done: false,
            fired: Vec::new(),
            last_fit: f64::NEG_INFINITY,
            trend: None,
            leak_suspected: false,
            heap_limit: None,
        }
    }

    pub fn in_warmup(&self, t: f64) -> bool {
        t < self.rules.warmup
    }

    /// A major GC finished with `heap_after` bytes used (`t` seconds into the segment).
    pub fn on_gc(&mut self, t: f64, heap_after: u64, heap_limit: u64) {
        self.series.push(t, heap_after as f64);
        if heap_limit > 0 {
            self.heap_limit = Some(heap_limit);
        }
    }

    /// The heap limit that the trend and the heap alerts are measured against.
    pub fn effective_heap_limit(&self) -> Option<u64> {
        let own = match (self.rules.limit_on, self.rules.max_memory) {
            (LimitOn::Heap, Some(m)) => Some(m),
            _ => None,
        };
        match (self.heap_limit, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn heap_after_gc(&self) -> Option<u64> {
        self.series.last().map(|(_, y)| y as u64)
    }

    fn fire(&mut self, out: &mut Vec<Action>, alert: Alert) {
        if !self.fired.contains(&alert.kind) {
            self.fired.push(alert.kind);
            out.push(Action::Alert(alert));
        }
    }

    /// One sample: `rss` of the group, `heap_used` from the agent if any, `has_agent` when a
    /// baseline snapshot is possible.
    pub fn on_tick(
        &mut self,
        t: f64,
        rss: u64,
        heap_used: Option<u64>,
        has_agent: bool,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let warm = self.in_warmup(t);
        if !warm && !self.baseline_done && has_agent {
            self.baseline_done = true;
            out.push(Action::Baseline);
        }

        // Trend (refit at most once a second).
        if t - self.last_fit >= 1.0_f64.max(self.rules.interval) {
            self.last_fit = t;
            self.trend = self.series.fit();
        }
        let limit = self.effective_heap_limit();
        if let Some(tr) = self.trend {
            self.leak_suspected = !warm
                && tr.points >= 5
                && tr.span >= self.rules.min_span()
                && tr.slope >= self.rules.leak_rate
                && tr.positive_share >= 0.6;
            if self.leak_suspected {
                let left = limit.and_then(|l| tr.seconds_to(l as f64));
                let message = format!(
                    "post-GC heap grows {:.1} MB/hour over {:.0}s ({} major GCs){}",
                    tr.mb_per_hour(),
                    tr.span,
                    tr.points,
                    match left {
                        Some(s) => format!("; {} left before the heap limit", fmt_secs(s)),
                        None => String::new(),
                    }
                );
                self.fire(
                    &mut out,
                    Alert {
                        kind: "leak_suspected",
                        message,
                        heap: self.heap_after_gc(),
                        limit,
                        trend: Some(tr),
                    },
                );
            }
            if let (Some(g), false) = (self.rules.alert_growth, warm) {
                let over = g.over.as_secs_f64();
                let span = tr.span.min(over);
                if tr.points >= 5 && span >= over.min(self.rules.trend_window) / 2.0 {
                    let start = tr.fitted_last - tr.slope * span;
                    if start > 0.0 {
                        let pct = tr.slope * over / start * 100.0;
                        if pct >= g.percent {
                            self.fire(
                                &mut out,
                                Alert {
                                    kind: "heap_growth",
                                    message: format!(
                                        "post-GC heap grows {pct:.0}% per {} (threshold {}%)",
                                        fmt_secs(over),
                                        g.percent
                                    ),
                                    heap: self.heap_after_gc(),
                                    limit,
                                    trend: Some(tr),
                                },
                            );
                        }
                    }
                }
            }
        }

        // Heap share of its limit, on the post-GC figure when there is one.
        if let (Some(p), Some(l), false) = (self.rules.alert_heap_percent, limit, warm) {
            if let Some(h) = self.heap_after_gc().or(heap_used) {
                let share = h as f64 / l as f64 * 100.0;
                if share >= p {
                    self.fire(
                        &mut out,
                        Alert {
                            kind: "heap_percent",
                            message: format!(
                                "heap at {share:.0}% of its {} limit (threshold {p}%)",
                                crate::units::fmt_size(l as f64)
                            ),
                            heap: Some(h),
                            limit: Some(l),
                            trend: self.trend,
                        },
                    );
                }
            }
        }

        // Memory limit: exceeded continuously for `sustain`, counted from the end of warm-up.
        if let Some(max) = self.rules.max_memory {
            let value = match self.rules.limit_on {
                LimitOn::Rss => Some(rss),
                LimitOn::Heap => heap_used,
            };
            match value {
                Some(v) if v > max => {
                    let since = *self.over_since.get_or_insert(t);
                    let from = since.max(self.rules.warmup);
                    if !warm && t - from >= self.rules.sustain {
                        out.push(Action::Restart {
                            value: v,
                            limit: max,
                        });
                    }
                }
                Some(_) => self.over_since = None,
                None => {}
            }
        }
        out
    }
}

/// `42s`, `12m`, `3.5h`.
pub fn fmt_secs(s: f64) -> String {
    if s < 120.0 {
        format!("{s:.0}s")
    } else if s < 7200.0 {
        format!("{:.0}m", s / 60.0)
    } else {
        format!("{:.1}h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            warmup: 10.0,
            interval: 1.0,
            max_memory: Some(100),
            limit_on: LimitOn::Rss,
            sustain: 3.0,
            trend_window: 60.0,
            leak_rate: 1.0,
            alert_heap_percent: Some(70.0),
            alert_growth: None,
        }
    }

    fn restarts(a: &[Action]) -> bool {
        a.iter().any(|x| matches!(x, Action::Restart { .. }))
    }

    #[test]
    fn startup_spike_is_ignored() {
        let mut m = Monitor::new(rules());
        for t in 0..10 {
            assert!(!restarts(&m.on_tick(t as f64, 500, None, false)), "t={t}");
        }
        // Back under the limit right after warm-up: never a restart.
        for t in 10..40 {
            assert!(!restarts(&m.on_tick(t as f64, 50, None, false)));
        }
    }

    #[test]
    fn sustained_breach_after_warmup_restarts() {
        let mut m = Monitor::new(rules());
        let mut first = None;
        for t in 0..30 {
            let over = if t >= 5 { 500 } else { 50 };
            if restarts(&m.on_tick(t as f64, over, None, false)) {
                first = first.or(Some(t));
            }
        }
        // Over since t=5 (inside warm-up); sustain counts from the end of warm-up (10) → 13.
        assert_eq!(first, Some(13));
    }

    #[test]
    fn a_dip_resets_the_sustain_clock() {
        let mut m = Monitor::new(rules());
        for t in 0..40 {
            let v = if t % 3 == 0 { 50 } else { 500 };
            assert!(!restarts(&m.on_tick(t as f64, v, None, false)));
        }
    }

    #[test]
    fn leak_trend_fires_once_with_time_left() {
        let mut r = rules();
        r.max_memory = None;
        let mut m = Monitor::new(r);
        let mut alerts = Vec::new();
        for t in 0..60 {
            let tf = t as f64;
            m.on_gc(tf, 1000 + 10 * t, 100_000);
            for a in m.on_tick(tf, 0, Some(1000), true) {
                if let Action::Alert(al) = a {
                    alerts.push(al);
                }
            }
        }
        let leak: Vec<_> = alerts
            .iter()
            .filter(|a| a.kind == "leak_suspected")
            .collect();
        assert_eq!(leak.len(), 1);
        let tr = leak[0].trend.unwrap();
        assert!((tr.slope - 10.0).abs() < 1e-6);
        assert!(leak[0].message.contains("left before the heap limit"));
        assert!(m.leak_suspected);
    }

    #[test]
    fn flat_heap_is_not_a_leak() {
        let mut m = Monitor::new(rules());
        for t in 0..60 {
            m.on_gc(t as f64, 5000 + (t % 2) * 300, 100_000);
            for a in m.on_tick(t as f64, 0, Some(5000), true) {
                assert!(!matches!(
                    a,
                    Action::Alert(Alert {
                        kind: "leak_suspected",
                        ..
                    })
                ));
            }
        }
        assert!(!m.leak_suspected);
    }

    #[test]
    fn baseline_once_after_warmup_and_heap_percent() {
        let mut r = rules();
        r.max_memory = None;
        let mut m = Monitor::new(r);
        m.on_gc(0.0, 80_000, 100_000);
        let mut baselines = 0;
        let mut pct = 0;
        for t in 0..20 {
            for a in m.on_tick(t as f64, 0, Some(80_000), true) {
                match a {
                    Action::Baseline => baselines += 1,
                    Action::Alert(Alert {
                        kind: "heap_percent",
                        ..
                    }) => {
                        assert!(t >= 10);
                        pct += 1
                    }
                    _ => {}
                }
            }
        }
        assert_eq!((baselines, pct), (1, 1));
    }
}
