//! Two instances on one listening socket (`--listen`, handed over as fd 4): a client that
//! keeps hitting the port gets an answer to every request while both instances are
//! restarted one after the other.

#[path = "run_support.rs"]
mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{http, script, Run};

#[test]
fn two_instances_keep_serving_through_a_rolling_restart() {
    assert!(support::node_available(), "node is required");
    let app: SocketAddr = format!("127.0.0.1:{}", support::free_port())
        .parse()
        .unwrap();
    let metrics: SocketAddr = format!("127.0.0.1:{}", support::free_port())
        .parse()
        .unwrap();
    let (app_s, metrics_s) = (app.to_string(), metrics.to_string());
    let mut run = Run::start(
        &[
            "--instances",
            "2",
            "--listen",
            &app_s,
            "--metrics",
            &metrics_s,
            "--control-token",
            "tok",
            "--interval",
            "200ms",
            "--grace",
            "5s",
            "--no-auto-snapshots",
            "--",
            "node",
            &script("shared-port-server.js"),
        ],
        &[],
    );
    let ready = |tl: &[serde_json::Value], n: usize| {
        tl.iter().filter(|v| v["event"] == "ready").count() >= n
    };
    assert!(
        run.wait_timeline(Duration::from_secs(30), |tl| ready(tl, 2)),
        "instances not ready: {}",
        run.stderr()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let client = {
        let (stop, seen, failures) = (stop.clone(), seen.clone(), failures.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match http(app, "GET", "/", &[]) {
                    Ok((200, body)) => seen.lock().unwrap().push(body.trim().to_string()),
                    Ok((code, body)) => failures.lock().unwrap().push(format!("{code} {body}")),
                    Err(e) => failures.lock().unwrap().push(e.to_string()),
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // Ask for both restarts at once: the second must wait until the first replacement serves.
    for i in 0..2 {
        let (code, body) = http(
            metrics,
            "POST",
            &format!("/control/restart?instance={i}"),
            &[("Authorization", "Bearer tok")],
        )
        .unwrap();
        assert_eq!(code, 202, "{body}");
    }
    let restarted = run.wait_timeline(Duration::from_secs(60), |tl| {
        tl.iter()
            .filter(|v| v["event"] == "restart" && v["reason"] == "requested")
            .count()
            == 2
            && ready(tl, 4)
    });
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();
    assert!(restarted, "restarts did not complete: {}", run.stderr());

    let failures = failures.lock().unwrap().clone();
    let seen = seen.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} failed requests: {failures:?}",
        failures.len()
    );
    let pids: BTreeSet<&str> = seen.iter().map(|s| s.as_str()).collect();
    // Both old processes and both replacements answered.
    assert_eq!(pids.len(), 4, "{pids:?}");
    assert!(pids.iter().filter(|p| p.starts_with("0 ")).count() == 2);
    assert!(pids.iter().filter(|p| p.starts_with("1 ")).count() == 2);

    // One at a time: instance 1 got its SIGTERM only after instance 0's replacement was ready.
    let tl = run.timeline();
    let exit_ts = |i: u64| {
        tl.iter()
            .find(|v| v["event"] == "exit" && v["instance"] == i)
            .unwrap()["ts"]
            .as_f64()
            .unwrap()
    };
    let ready0 = tl
        .iter()
        .filter(|v| v["event"] == "ready" && v["instance"] == 0)
        .nth(1)
        .unwrap()["ts"]
        .as_f64()
        .unwrap();
    assert!(ready0 <= exit_ts(1), "instance 1 stopped before 0 was back");
    assert!(exit_ts(0) < exit_ts(1));

    run.signal(libc::SIGTERM);
    let st = run.wait(Duration::from_secs(30)).expect("leakhound exits");
    assert_eq!(st.code(), Some(0), "{}", run.stderr());
}
