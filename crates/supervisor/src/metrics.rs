//! Prometheus text exposition (format 0.0.4), written by hand so that the series are
//! byte-compatible with prom-client's defaults (`process_cpu_seconds_total` typed `counter`,
//! no `# EOF`), which existing Node dashboards and alerts query. Every series carries
//! `app_instance="<i>"`: not `instance`, which Prometheus itself sets to the scrape target
//! and would rename to `exported_instance`.

use crate::agent::GC_BUCKETS;
use crate::state::{InstanceState, State};
use std::fmt::Write;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Out {
    s: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        if !self.s.is_empty() {
            self.s.push('\n');
        }
        let _ = writeln!(self.s, "# HELP {name} {help}");
        let _ = writeln!(self.s, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.s.push_str(name);
        if !labels.is_empty() {
            self.s.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.s.push(',');
                }
                let _ = write!(self.s, "{k}=\"{}\"", escape(v));
            }
            self.s.push('}');
        }
        let _ = writeln!(self.s, " {}", fmt_value(value));
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

type Getter = fn(&InstanceState) -> Option<f64>;

/// Renders every family for every instance.
pub fn render(state: &State) -> String {
    let mut o = Out { s: String::new() };
    let idx: Vec<String> = (0..state.instances.len()).map(|i| i.to_string()).collect();
    let each = |o: &mut Out, name: &str, kind: &str, help: &str, get: Getter| {
        let mut header = false;
        for (i, inst) in state.instances.iter().enumerate() {
            if let Some(v) = get(inst) {
                if !header {
                    o.family(name, kind, help);
                    header = true;
                }
                o.sample(name, &[("app_instance", &idx[i])], v);
            }
        }
    };

    each(
        &mut o,
        "leakhound_up",
        "gauge",
        "1 when the instance's process is running.",
        |i| Some(if i.up { 1.0 } else { 0.0 }),
    );
    each(
        &mut o,
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds (process group).",
        |i| i.up.then_some(i.cpu_seconds),
    );
    each(
        &mut o,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        |i| i.up.then_some(i.start_time_seconds),
    );
    each(
        &mut o,
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes (process group).",
        |i| i.up.then_some(i.rss as f64),
    );
    each(
        &mut o,
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes (process group).",
        |i| i.up.then_some(i.vsize as f64),
    );
    each(
        &mut o,
        "leakhound_process_peak_resident_memory_bytes",
        "gauge",
        "Peak resident memory (VmHWM) of the group leader in bytes.",
        |i| i.up.then_some(i.hwm as f64),
    );

    type AGet = fn(&crate::agent::AgentSample) -> Option<f64>;
    let agent = |o: &mut Out, name: &str, kind: &str, help: &str, get: AGet| {
        let mut header = false;
        for (i, inst) in state.instances.iter().enumerate() {
            let Some(a) = inst.agent.as_ref().filter(|_| inst.up) else {
                continue;
            };
            if let Some(v) = get(a) {
                if !header {
                    o.family(name, kind, help);
                    header = true;
                }
                o.sample(name, &[("app_instance", &idx[i])], v);
            }
        }
    };
    agent(
        &mut o,
        "nodejs_heap_size_total_bytes",
        "gauge",
        "Process heap size from Node.js in bytes.",
        |a| Some(a.heap_total as f64),
    );
    agent(
        &mut o,
        "nodejs_heap_size_used_bytes",
        "gauge",
        "Process heap size used from Node.js in bytes.",
        |a| Some(a.heap_used as f64),
    );
    agent(
        &mut o,
        "nodejs_external_memory_bytes",
        "gauge",
        "Node.js external memory size in bytes.",
        |a| Some(a.external as f64),
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_seconds",
        "gauge",
        "Lag of event loop in seconds.",
        |a| Some(a.lag),
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_min_seconds",
        "gauge",
        "The minimum recorded event loop delay.",
        |a| a.lag_min,
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_max_seconds",
        "gauge",
        "The maximum recorded event loop delay.",
        |a| a.lag_max,
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_mean_seconds",
        "gauge",
        "The mean of the recorded event loop delays.",
        |a| a.lag_mean,
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_stddev_seconds",
        "gauge",
        "The standard deviation of the recorded event loop delays.",
        |a| a.lag_stddev,
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_p50_seconds",
        "gauge",
        "The 50th percentile of the recorded event loop delays.",
        |a| a.lag_p50,
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_p90_seconds",
        "gauge",
        "The 90th percentile of the recorded event loop delays.",
        |a| a.lag_p90,
    );
    agent(
        &mut o,
        "nodejs_eventloop_lag_p99_seconds",
        "gauge",
        "The 99th percentile of the recorded event loop delays.",
        |a| a.lag_p99,
    );
    agent(
        &mut o,
        "nodejs_active_handles_total",
        "gauge",
        "Total number of active handles.",
        |a| a.handles.map(|v| v as f64),
    );
    agent(
        &mut o,
        "nodejs_active_requests_total",
        "gauge",
        "Total number of active requests.",
        |a| a.requests.map(|v| v as f64),
    );
    agent(
        &mut o,
        "nodejs_active_resources_total",
        "gauge",
        "Total number of active resources.",
        |a| a.resources.map(|v| v as f64),
    );
    agent(
        &mut o,
        "leakhound_heap_limit_bytes",
        "gauge",
        "V8 heap_size_limit in bytes.",
        |a| Some(a.heap_limit as f64),
    );
    agent(
        &mut o,
        "leakhound_native_contexts",
        "gauge",
        "V8 number_of_native_contexts (growth hints at a leak).",
        |a| Some(a.native_contexts as f64),
    );
    agent(
        &mut o,
        "leakhound_detached_contexts",
        "gauge",
        "V8 number_of_detached_contexts (non-zero hints at a leak).",
        |a| Some(a.detached_contexts as f64),
    );

    // Typed breakdowns (label `type` / `space`).
    let by_type =
        |o: &mut Out,
         name: &str,
         help: &str,
         get: fn(&crate::agent::AgentSample) -> &std::collections::HashMap<String, u64>| {
            let mut header = false;
            for (i, inst) in state.instances.iter().enumerate() {
                let Some(a) = inst.agent.as_ref().filter(|_| inst.up) else {
                    continue;
                };
                let mut rows: Vec<_> = get(a).iter().collect();
                rows.sort();
                for (ty, n) in rows {
                    if !header {
                        o.family(name, "gauge", help);
                        header = true;
                    }
                    o.sample(name, &[("app_instance", &idx[i]), ("type", ty)], *n as f64);
                }
            }
        };
    by_type(
        &mut o,
        "nodejs_active_handles",
        "Number of active libuv handles grouped by handle type.",
        |a| &a.handles_by_type,
    );
    by_type(
        &mut o,
        "nodejs_active_requests",
        "Number of active libuv requests grouped by request type.",
        |a| &a.requests_by_type,
    );
    by_type(&mut o, "nodejs_active_resources", "Number of active resources that are currently keeping the event loop alive, grouped by async resource type.", |a| &a.resources_by_type);

    for (suffix, help, pick) in [
        (
            "total",
            "Process heap space size total from Node.js in bytes.",
            1usize,
        ),
        (
            "used",
            "Process heap space size used from Node.js in bytes.",
            2,
        ),
        (
            "available",
            "Process heap space size available from Node.js in bytes.",
            3,
        ),
    ] {
        let name = format!("nodejs_heap_space_size_{suffix}_bytes");
        let mut header = false;
        for (i, inst) in state.instances.iter().enumerate() {
            let Some(a) = inst.agent.as_ref().filter(|_| inst.up) else {
                continue;
            };
            for sp in &a.spaces {
                if !header {
                    o.family(&name, "gauge", help);
                    header = true;
                }
                let v = match pick {
                    1 => sp.1,
                    2 => sp.2,
                    _ => sp.3,
                };
                o.sample(
                    &name,
                    &[("app_instance", &idx[i]), ("space", &sp.0)],
                    v as f64,
                );
            }
        }
    }

    // GC histogram.
    let mut header = false;
    for (i, inst) in state.instances.iter().enumerate() {
        let Some(a) = inst.agent.as_ref().filter(|_| inst.up) else {
            continue;
        };
        let mut kinds: Vec<_> = a.gc.iter().collect();
        kinds.sort_by(|x, y| x.0.cmp(y.0));
        for (kind, h) in kinds {
            if !header {
                o.family("nodejs_gc_duration_seconds", "histogram", "Garbage collection duration by kind, one of major, minor, incremental or weakcb.");
                header = true;
            }
            let name = "nodejs_gc_duration_seconds_bucket";
            for (b, le) in GC_BUCKETS.iter().enumerate() {
                let count = h.buckets.get(b).copied().unwrap_or(0);
                o.sample(
                    name,
                    &[
                        ("le", &fmt_value(*le)),
                        ("app_instance", &idx[i]),
                        ("kind", kind),
                    ],
                    count as f64,
                );
            }
            o.sample(
                name,
                &[("le", "+Inf"), ("app_instance", &idx[i]), ("kind", kind)],
                h.count as f64,
            );
            o.sample(
                "nodejs_gc_duration_seconds_sum",
                &[("app_instance", &idx[i]), ("kind", kind)],
                h.sum,
            );
            o.sample(
                "nodejs_gc_duration_seconds_count",
                &[("app_instance", &idx[i]), ("kind", kind)],
                h.count as f64,
            );
        }
    }

    // Node version.
    let mut header = false;
    for (i, inst) in state.instances.iter().enumerate() {
        let Some(v) = inst.node_version.as_ref().filter(|_| inst.up) else {
            continue;
        };
        let parts: Vec<&str> = v.trim_start_matches('v').split('.').collect();
        if !header {
            o.family("nodejs_version_info", "gauge", "Node.js version info.");
            header = true;
        }
        o.sample(
            "nodejs_version_info",
            &[
                ("app_instance", &idx[i]),
                ("version", v),
                ("major", parts.first().copied().unwrap_or("")),
                ("minor", parts.get(1).copied().unwrap_or("")),
                ("patch", parts.get(2).copied().unwrap_or("")),
            ],
            1.0,
        );
    }

    // leakhound's own series.
    each(
        &mut o,
        "leakhound_heap_after_gc_bytes",
        "gauge",
        "V8 heap used after the latest major GC.",
        |i| i.heap_after_gc.filter(|_| i.up).map(|v| v as f64),
    );
    each(
        &mut o,
        "leakhound_leak_suspected",
        "gauge",
        "1 while the post-GC heap trend of the current process exceeds the leak rate.",
        |i| Some(if i.leak_suspected && i.up { 1.0 } else { 0.0 }),
    );
    each(
        &mut o,
        "leakhound_heap_growth_bytes_per_second",
        "gauge",
        "Theil-Sen slope of the post-GC heap over the trend window.",
        |i| Some(if i.up { i.growth_bytes_per_second } else { 0.0 }),
    );
    each(
        &mut o,
        "leakhound_seconds_to_heap_limit",
        "gauge",
        "Time left before the post-GC heap trend reaches the heap limit.",
        |i| i.seconds_to_limit.filter(|_| i.up),
    );
    for (name, help, get) in [
        (
            "leakhound_restarts_total",
            "Restarts by reason (crash, memory_limit, requested).",
            (|i: &InstanceState| &i.restarts)
                as fn(&InstanceState) -> &std::collections::BTreeMap<String, u64>,
        ),
        (
            "leakhound_snapshots_total",
            "Heap snapshots taken by reason (baseline, alert, before_restart, requested).",
            |i: &InstanceState| &i.snapshots,
        ),
    ] {
        o.family(name, "counter", help);
        for (i, inst) in state.instances.iter().enumerate() {
            let map = get(inst);
            if map.is_empty() {
                o.sample(name, &[("app_instance", &idx[i])], 0.0);
            }
            for (reason, n) in map {
                o.sample(
                    name,
                    &[("app_instance", &idx[i]), ("reason", reason)],
                    *n as f64,
                );
            }
        }
    }

    if let Some(cg) = &state.cgroup {
        if let Some(l) = cg.limit {
            o.family(
                "leakhound_cgroup_memory_limit_bytes",
                "gauge",
                "cgroup v2 memory.max of leakhound's cgroup.",
            );
            o.sample("leakhound_cgroup_memory_limit_bytes", &[], l as f64);
        }
        if let Some(u) = cg.usage {
            o.family(
                "leakhound_cgroup_memory_usage_bytes",
                "gauge",
                "cgroup v2 memory.current (includes page cache).",
            );
            o.sample("leakhound_cgroup_memory_usage_bytes", &[], u as f64);
        }
        o.family(
            "leakhound_cgroup_oom_kills_total",
            "counter",
            "cgroup v2 memory.events oom_kill.",
        );
        o.sample("leakhound_cgroup_oom_kills_total", &[], cg.oom_kill as f64);
    }
    o.s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AgentSample;

    #[test]
    fn renders_named_series_per_instance() {
        let mut st = State::default();
        let a = AgentSample {
            heap_used: 1000,
            heap_total: 2000,
            external: 5,
            spaces: vec![("old".into(), 10, 9, 1)],
            handles: Some(3),
            ..Default::default()
        };
        st.instances = vec![
            InstanceState {
                up: true,
                rss: 4096,
                cpu_seconds: 1.5,
                agent: Some(a),
                node_version: Some("v20.1.2".into()),
                ..Default::default()
            },
            InstanceState::default(),
        ];
        st.instances[0].restarts.insert("crash".into(), 2);
        let text = render(&st);
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total{app_instance=\"0\"} 1.5\n"), "{text}");
        assert!(text.contains("process_resident_memory_bytes{app_instance=\"0\"} 4096\n"));
        assert!(text.contains("nodejs_heap_size_used_bytes{app_instance=\"0\"} 1000\n"));
        assert!(text
            .contains("nodejs_heap_space_size_used_bytes{app_instance=\"0\",space=\"old\"} 9\n"));
        assert!(text.contains("leakhound_restarts_total{app_instance=\"0\",reason=\"crash\"} 2\n"));
        assert!(text.contains("leakhound_restarts_total{app_instance=\"1\"} 0\n"));
        assert!(text.contains("leakhound_up{app_instance=\"1\"} 0\n"));
        assert!(text.contains("nodejs_version_info{app_instance=\"0\",version=\"v20.1.2\",major=\"20\",minor=\"1\",patch=\"2\"} 1\n"));
        // Instance 1 is down: no process series for it.
        assert!(!text.contains("process_resident_memory_bytes{app_instance=\"1\"}"));
    }

    #[test]
    fn escapes_labels() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(fmt_value(0.5), "0.5");
        assert_eq!(fmt_value(3.0), "3");
    }
}
