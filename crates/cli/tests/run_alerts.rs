//! `leakhound run` alert delivery: the `--on-alert` hook command and the `--webhook` POST
//! both receive the alert, with the documented environment and JSON body, and a failing
//! webhook neither stops the supervisor nor the app.

#[path = "run_support.rs"]
mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;
use support::{script, Run};

/// One HTTP request as the test's webhook receiver saw it.
struct Received {
    request_line: String,
    content_type: String,
    body: String,
}

/// A webhook receiver on loopback that answers every request with `status` and sends what it
/// got down the channel.
fn webhook_receiver(status: u16) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/leak", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let (mut length, mut content_type) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = lower.strip_prefix("content-type:") {
                    content_type = v.trim().to_string();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
            let _ = tx.send(Received {
                request_line: request_line.trim_end().to_string(),
                content_type,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
    });
    (url, rx)
}

/// Flags that make the heap-share alert fire right after a short warm-up: any heap is above
/// 1% of V8's limit once the leaky server has run for a moment.
fn alerting_flags<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--warmup",
        "1s",
        "--interval",
        "200ms",
        "--alert-heap-percent",
        "1",
        "--no-auto-snapshots",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn alerts_reach_the_hook_command_and_the_webhook() {
    assert!(support::node_available(), "node is required");
    let (url, received) = webhook_receiver(200);
    let hook_dir = tempfile::tempdir().unwrap();
    let hook_out = hook_dir.path().join("alerts.txt");
    let hook = format!(
        "printf '%s|%s|%s|%s|%s\\n' \"$LEAKHOUND_EVENT\" \"$LEAKHOUND_INSTANCE\" \"$LEAKHOUND_PID\" \
         \"$LEAKHOUND_HEAP_USED\" \"$LEAKHOUND_EVENT_JSON\" >> '{}'",
        hook_out.display()
    );
    let leaky = script("leaky-server.js");
    let args = alerting_flags(&["--on-alert", &hook, "--webhook", &url, "--", "node", &leaky]);
    let run = Run::start(&args, &[("LEAK_PER_TICK", "20")]);

    // The webhook: a JSON POST to the configured path.
    let got = received
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no webhook request; stderr:\n{}", run.stderr()));
    assert_eq!(got.request_line, "POST /hooks/leak HTTP/1.1");
    assert!(
        got.content_type.starts_with("application/json"),
        "{}",
        got.content_type
    );
    let event: Value = serde_json::from_str(&got.body).expect("the body is JSON");
    assert_eq!(event["event"], "heap_percent", "{event}");
    assert_eq!(event["alert"], true, "{event}");
    assert_eq!(event["instance"], 0, "{event}");
    assert!(event["pid"].as_u64().unwrap_or(0) > 1, "{event}");
    assert!(event["heap_used"].as_u64().unwrap_or(0) > 0, "{event}");
    assert!(
        event["message"]
            .as_str()
            .unwrap_or("")
            .contains("threshold 1%"),
        "{event}"
    );

    // The hook: the same alert through its environment.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let line = loop {
        let text = std::fs::read_to_string(&hook_out).unwrap_or_default();
        if let Some(l) = text.lines().next() {
            break l.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the hook never ran; stderr:\n{}",
            run.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let fields: Vec<&str> = line.splitn(5, '|').collect();
    assert_eq!(fields.len(), 5, "{line}");
    assert_eq!(fields[0], "heap_percent");
    assert_eq!(fields[1], "0");
    assert_eq!(fields[2], event["pid"].to_string());
    assert!(fields[3].parse::<u64>().unwrap_or(0) > 0, "{line}");
    let hook_event: Value = serde_json::from_str(fields[4]).expect("LEAKHOUND_EVENT_JSON");
    assert_eq!(hook_event["event"], "heap_percent");
    assert_eq!(hook_event["message"], event["message"]);

    // The timeline keeps the alert too, under its kind.
    let logged = run.events("heap_percent");
    assert!(
        logged.iter().any(|e| e["alert"] == true),
        "{:?}",
        run.timeline()
    );
}

#[test]
fn a_failing_webhook_is_logged_and_supervision_goes_on() {
    assert!(support::node_available(), "node is required");
    let (url, received) = webhook_receiver(500);
    let leaky = script("leaky-server.js");
    let args = alerting_flags(&["--webhook", &url, "--", "node", &leaky]);
    let mut run = Run::start(&args, &[("LEAK_PER_TICK", "20")]);

    received
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no webhook request; stderr:\n{}", run.stderr()));
    let warned = run.wait_line(Duration::from_secs(20), |l| {
        l.contains("--webhook") && l.contains("500")
    });
    assert!(warned.is_some(), "no warning: {}", run.stderr());

    // Still supervising: samples keep coming after the failed delivery, and the child is the
    // one first spawned.
    let samples_now = run
        .timeline()
        .iter()
        .filter(|v| v["type"] == "sample")
        .count();
    assert!(
        run.wait_timeline(Duration::from_secs(20), |tl| {
            tl.iter().filter(|v| v["type"] == "sample").count() > samples_now + 3
        }),
        "sampling stopped: {}",
        run.stderr()
    );
    assert_eq!(run.events("spawn").len(), 1);
    assert!(run.events("restart").is_empty());
    run.signal(libc::SIGTERM);
    let status = run.wait(Duration::from_secs(20)).expect("leakhound exits");
    assert!(
        !matches!(status.code(), Some(2)),
        "usage/input error exit: {status:?}; {}",
        run.stderr()
    );
}
