//! Browser snapshots: a page in a real headless Chromium removes DOM nodes from the document
//! but keeps them in an array. `leakhound snapshot WS_URL --count 3` takes three snapshots of
//! the page over one DevTools session; `leakhound find` names the array, the detached-DOM
//! pattern and the line that declares it.

mod capture_common;

use capture_common::{chromium_or_skip, headless, http_get, repo_root, run};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The DevTools port Chromium picked (`--remote-debugging-port=0` writes it to the profile).
fn devtools_port(profile: &Path, browser: &mut Browser) -> u16 {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(port) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
        {
            return port;
        }
        if let Ok(Some(status)) = browser.0.try_wait() {
            panic!("chromium exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "chromium wrote no DevToolsActivePort"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The WebSocket URL of the page showing `url`.
fn page_ws_url(port: u16, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let targets: serde_json::Value = http_get(port, "/json/list")
            .and_then(|b| serde_json::from_str(&b).ok())
            .unwrap_or_default();
        let found = targets.as_array().and_then(|ts| {
            ts.iter()
                .find(|t| t["type"] == "page" && t["url"] == url)
                .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from))
        });
        if let Some(ws) = found {
            return ws;
        }
        assert!(Instant::now() < deadline, "no page for {url}: {targets}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn detached_dom_in_a_chromium_page_is_found() {
    let Some(chromium) = chromium_or_skip("detached_dom_in_a_chromium_page_is_found") else {
        return;
    };
    let page = repo_root()
        .join("tests/browser/dom-leak.html")
        .canonicalize()
        .unwrap();
    let url = format!("file://{}", page.display());
    let profile = tempfile::tempdir().unwrap();
    let mut browser = Browser(
        headless(&chromium, profile.path())
            .args([
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts"),
    );
    let port = devtools_port(profile.path(), &mut browser);
    let ws = page_ws_url(port, &url);
    // Let the page run for a while, as a user would before taking a series.
    std::thread::sleep(Duration::from_secs(5));

    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    let (code, stdout, stderr) = run(&[
        "snapshot",
        &ws,
        "--count",
        "3",
        "--interval",
        "1s",
        "-o",
        series.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rep["snapshots"].as_array().map(Vec::len), Some(3));
    drop(browser);

    let (code, stdout, stderr) = run(&["find", series.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let top = &report["findings"][0];
    let marker = std::fs::read_to_string(&page)
        .unwrap()
        .lines()
        .position(|l| l.contains("// LEAK: closedWidgets"))
        .unwrap() as u64
        + 1;
    assert_eq!(top["pattern"], "detached-dom", "{top:#}");
    assert_eq!(top["edge"], "closedWidgets", "{top:#}");
    assert!(top["confidence"].as_f64().unwrap() >= 0.8, "{top:#}");
    assert_eq!(top["location"]["line"].as_u64(), Some(marker), "{top:#}");
    assert!(
        top["location"]["script"]
            .as_str()
            .is_some_and(|s| s.ends_with("dom-leak.html")),
        "{top:#}"
    );
    assert!(
        top["secondary"]
            .as_array()
            .is_some_and(|s| s.iter().any(|c| c["class"]
                .as_str()
                .is_some_and(|n| n.starts_with("Detached <")))),
        "{top:#}"
    );
}
