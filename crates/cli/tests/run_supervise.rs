//! `leakhound run`: signals, exit status, crash-loop backoff, start-up spikes, usage errors.
//! Real node processes; short durations through flags.

#[path = "run_support.rs"]
mod support;

use std::time::Duration;
use support::{script, Run};

#[test]
fn signals_reach_the_child_and_its_status_propagates() {
    assert!(support::node_available(), "node is required");
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("marker");
    let marker_s = marker.display().to_string();
    let mut run = Run::start(
        &[
            "--interval",
            "200ms",
            "--no-auto-snapshots",
            "--",
            "node",
            &script("signal.js"),
        ],
        &[("MARKER", &marker_s), ("EXIT_CODE", "42")],
    );
    let read = || std::fs::read_to_string(&marker).unwrap_or_default();
    let wait = |what: &str| {
        let end = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < end {
            if read().contains(what) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    };
    assert!(wait("ready"), "child never started: {}", run.stderr());
    let child_pid = read()
        .lines()
        .find_map(|l| l.strip_prefix("ready "))
        .unwrap()
        .to_string();

    // SIGHUP is forwarded and does not stop anything.
    run.signal(libc::SIGHUP);
    assert!(wait("SIGHUP"), "SIGHUP not forwarded: {}", read());
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "leakhound stopped on SIGHUP"
    );

    run.signal(libc::SIGTERM);
    let st = run.wait(Duration::from_secs(20)).expect("leakhound exits");
    assert_eq!(
        read().lines().last().unwrap(),
        format!("SIGTERM {child_pid}")
    );
    assert_eq!(
        st.code(),
        Some(42),
        "exit status of the child: {}",
        run.stderr()
    );
    let spawns = run.events("spawn");
    assert_eq!(spawns.len(), 1, "no restart when stopping: {spawns:?}");
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_n() {
    let mut run = Run::start(
        &[
            "--restart",
            "never",
            "--no-agent",
            "--",
            "sh",
            "-c",
            "kill -USR2 $$",
        ],
        &[],
    );
    let st = run.wait(Duration::from_secs(20)).expect("leakhound exits");
    assert_eq!(st.code(), Some(128 + libc::SIGUSR2), "{}", run.stderr());
}

#[test]
fn a_crash_loop_backs_off_and_stops_at_the_limit() {
    let mut run = Run::start(
        &[
            "--backoff",
            "100ms",
            "--max-restarts",
            "4",
            "--restart-window",
            "5m",
            "--interval",
            "200ms",
            "--",
            "node",
            &script("crash.js"),
        ],
        &[("CRASH_CODE", "3")],
    );
    let st = run
        .wait(Duration::from_secs(60))
        .expect("leakhound gives up");
    assert_eq!(st.code(), Some(2), "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("error: instance 0 exited 5 times within 5m (last: exit status 3); giving up"),
        "{err}"
    );
    // Restart delays double: 100, 200, 400, 800 ms.
    let restarts = run.events("restart");
    let delays: Vec<u64> = restarts
        .iter()
        .map(|e| e["delay_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(delays, vec![100, 200, 400, 800], "{restarts:?}");
    // And each respawn came at least that long after the previous exit.
    let exits = run.events("exit");
    let spawns = run.events("spawn");
    assert_eq!(spawns.len(), 5);
    assert_eq!(exits.len(), 5);
    for i in 0..4 {
        let gap = spawns[i + 1]["ts"].as_f64().unwrap() - exits[i]["ts"].as_f64().unwrap();
        assert!(
            gap * 1000.0 >= delays[i] as f64 - 2.0,
            "respawn {i} after {gap}s, delay {}ms",
            delays[i]
        );
    }
    // Growing gaps between respawns (the backoff shows in the timestamps).
    let starts: Vec<f64> = spawns.iter().map(|s| s["ts"].as_f64().unwrap()).collect();
    assert!(starts[4] - starts[3] > starts[1] - starts[0], "{starts:?}");
    assert_eq!(run.events("gave_up").len(), 1);
}

#[test]
fn a_startup_spike_above_the_limit_causes_no_restart() {
    let mut run = Run::start(
        &[
            "--max-memory",
            "150M",
            "--warmup",
            "3s",
            "--sustain",
            "1s",
            "--interval",
            "200ms",
            "--no-auto-snapshots",
            "--",
            "node",
            "--expose-gc",
            &script("spike.js"),
        ],
        &[("SPIKE_MB", "250"), ("SPIKE_MS", "1200")],
    );
    // Run well past warm-up + sustain.
    let done = run.wait_timeline(Duration::from_secs(40), |tl| {
        tl.iter()
            .any(|v| v["type"] == "sample" && v["t"].as_f64().unwrap_or(0.0) > 6.0)
    });
    assert!(done, "no samples: {}", run.stderr());
    run.signal(libc::SIGTERM);
    run.wait(Duration::from_secs(20)).expect("leakhound exits");
    let tl = run.timeline();
    let samples: Vec<_> = tl.iter().filter(|v| v["type"] == "sample").collect();
    let limit = 150u64 << 20;
    // The spike was real: above the limit during warm-up ...
    assert!(
        samples
            .iter()
            .any(|s| s["warmup"] == true && s["rss"].as_u64().unwrap() > limit),
        "the spike never showed: {samples:?}"
    );
    // ... and gone afterwards; no restart, no memory-limit event.
    assert!(samples
        .iter()
        .filter(|s| s["t"].as_f64().unwrap() > 4.0)
        .all(|s| s["rss"].as_u64().unwrap() < limit));
    assert!(run.events("restart").is_empty(), "{tl:?}");
    assert_eq!(run.events("spawn").len(), 1);
    assert!(!run.stderr().contains("max-memory"));
}

#[test]
fn a_bare_number_is_not_a_size() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["run", "--max-memory", "512", "--", "node", "x.js"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--max-memory: '512' has no unit; write 512M, 512G or 512B"),
        "{err}"
    );
}

#[test]
fn settings_come_from_leakhound_toml_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("leakhound.toml"),
        format!(
            "[run]\nrestart = \"never\"\nno-agent = true\nsnapshot-dir = \"s\"\ncommand = [\"node\", \"{}\"]\n",
            script("crash.js")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .arg("run")
        .current_dir(dir.path())
        .env("CRASH_CODE", "9")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(9),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("s/timeline.jsonl").exists());
    // A flag overrides the file: a bad size from the command line is reported.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["run", "--sustain", "ten"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sustain: 'ten' is not a duration"));
}
