//! `leakhound run` on a leaking node server: memory-limit restart with a snapshot first,
//! the finder's verdict on (baseline, before-restart), /metrics and the control API.

#[path = "run_support.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::{http, script, Run};

#[test]
fn a_leaking_server_is_snapshotted_then_restarted_at_its_limit() {
    assert!(support::node_available(), "node is required");
    let port = support::free_port();
    let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let metrics_s = metrics.to_string();
    let mut run = Run::start(
        &[
            "--max-memory",
            "170M",
            "--warmup",
            "2s",
            "--sustain",
            "1s",
            "--interval",
            "200ms",
            "--trend-window",
            "20s",
            "--snapshot-before-restart",
            "--metrics",
            &metrics_s,
            "--control-token",
            "s3cret",
            "--",
            "node",
            &script("leaky-server.js"),
        ],
        &[("LEAK_PER_TICK", "250")],
    );

    // Metrics: wait until the agent has reported, then scrape.
    assert!(
        run.wait_timeline(Duration::from_secs(30), |tl| tl
            .iter()
            .any(|v| v["type"] == "sample" && v["heap_used"].is_u64())),
        "no heap figures: {}",
        run.stderr()
    );
    let (code, text) = http(metrics, "GET", "/metrics", &[]).unwrap();
    assert_eq!(code, 200);
    for name in [
        "process_resident_memory_bytes{app_instance=\"0\"}",
        "process_virtual_memory_bytes{app_instance=\"0\"}",
        "process_start_time_seconds{app_instance=\"0\"}",
        "# TYPE process_cpu_seconds_total counter",
        "nodejs_heap_size_used_bytes{app_instance=\"0\"}",
        "nodejs_heap_size_total_bytes{app_instance=\"0\"}",
        "nodejs_external_memory_bytes{app_instance=\"0\"}",
        "nodejs_heap_space_size_used_bytes{app_instance=\"0\",space=\"old\"}",
        "nodejs_eventloop_lag_seconds{app_instance=\"0\"}",
        "nodejs_active_handles_total{app_instance=\"0\"}",
        "nodejs_version_info{app_instance=\"0\",version=\"v",
        "leakhound_restarts_total{app_instance=\"0\"}",
        "leakhound_leak_suspected{app_instance=\"0\"}",
        "leakhound_heap_growth_bytes_per_second{app_instance=\"0\"}",
        "leakhound_snapshots_total{app_instance=\"0\"}",
    ] {
        assert!(text.contains(name), "missing {name} in\n{text}");
    }
    let rss: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("process_resident_memory_bytes{app_instance=\"0\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss > 10e6, "implausible RSS {rss}");

    // Control API: no token, wrong token, then a real snapshot.
    let (code, _) = http(metrics, "POST", "/control/snapshot?instance=0", &[]).unwrap();
    assert_eq!(code, 401);
    let (code, _) = http(
        metrics,
        "POST",
        "/control/snapshot?instance=0",
        &[("Authorization", "Bearer nope")],
    )
    .unwrap();
    assert_eq!(code, 401);
    let (code, body) = http(
        metrics,
        "POST",
        "/control/snapshot?instance=0",
        &[("Authorization", "Bearer s3cret")],
    )
    .unwrap();
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let requested = std::path::PathBuf::from(v["snapshot"].as_str().unwrap());
    let meta = std::fs::metadata(&requested).unwrap();
    assert!(meta.len() > 100_000);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // The limit: a snapshot before the restart, then the restart, then the finder's verdict.
    let before = run
        .wait_line(Duration::from_secs(120), |l| {
            l.contains("instance 0: before_restart snapshot")
        })
        .unwrap_or_else(|| panic!("no snapshot before restart: {}", run.stderr()));
    assert!(before.contains(".heapsnapshot"));
    assert!(run.wait_timeline(Duration::from_secs(60), |tl| tl
        .iter()
        .any(|v| v["event"] == "restart" && v["reason"] == "memory_limit")));
    let limit_line = run
        .wait_line(Duration::from_secs(5), |l| {
            l.contains("above --max-memory 170.0 MiB")
        })
        .unwrap();
    assert!(limit_line.contains("RSS"), "{limit_line}");
    // The snapshot was written before the process was stopped.
    let tl = run.timeline();
    let snap_ts = tl
        .iter()
        .find(|v| v["event"] == "snapshot" && v["reason"] == "before_restart")
        .unwrap()["ts"]
        .as_f64()
        .unwrap();
    let exit_ts = tl.iter().find(|v| v["event"] == "exit").unwrap()["ts"]
        .as_f64()
        .unwrap();
    assert!(
        snap_ts <= exit_ts,
        "snapshot at {snap_ts}, exit at {exit_ts}"
    );
    assert!(run.wait_timeline(Duration::from_secs(30), |tl| tl
        .iter()
        .filter(|v| v["event"] == "spawn")
        .count()
        >= 2));

    let finding = run
        .wait_line(Duration::from_secs(180), |l| {
            l.contains("finding 1/")
                && (l.contains("leakedSessions") || l.contains("LeakedSession"))
        })
        .unwrap_or_else(|| panic!("the finder did not name the leak: {}", run.stderr()));
    assert!(finding.contains("confidence"), "{finding}");

    // The counters moved.
    let (_, text) = http(metrics, "GET", "/metrics", &[]).unwrap();
    assert!(
        text.contains("leakhound_restarts_total{app_instance=\"0\",reason=\"memory_limit\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("leakhound_snapshots_total{app_instance=\"0\",reason=\"before_restart\"} 1")
    );
    // Stop once the replacement serves (its SIGTERM handler then exits 0, which
    // leakhound passes on).
    assert!(run.wait_timeline(Duration::from_secs(60), |tl| tl
        .iter()
        .filter(|v| v["event"] == "ready")
        .count()
        >= 2));
    run.signal(libc::SIGTERM);
    let st = run.wait(Duration::from_secs(30)).expect("leakhound exits");
    assert_eq!(st.code(), Some(0), "{}", run.stderr());
}

#[test]
fn the_control_api_is_off_without_a_token() {
    let port = support::free_port();
    let metrics: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let metrics_s = metrics.to_string();
    let run = Run::start(
        &[
            "--metrics",
            &metrics_s,
            "--interval",
            "200ms",
            "--",
            "node",
            &script("busy-server.js"),
        ],
        &[],
    );
    assert!(run
        .wait_line(Duration::from_secs(30), |l| l
            .contains("metrics at http://"))
        .is_some());
    let (code, _) = http(
        metrics,
        "POST",
        "/control/restart?instance=0",
        &[("Authorization", "Bearer x")],
    )
    .unwrap();
    assert_eq!(code, 404);
    let (code, _) = http(metrics, "GET", "/metrics", &[]).unwrap();
    assert_eq!(code, 200);
}
