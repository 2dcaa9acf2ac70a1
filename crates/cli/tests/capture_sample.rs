//! `leakhound sample` against a real node process that leaks from a known line.

mod capture_common;

use capture_common::*;

/// 1-based line of the function that holds the `LEAK-SITE` marker in tests/capture/leak.js.
/// V8's sampling heap profiler attributes samples to functions: a site's line:column is
/// where the allocating function is defined, not the allocating statement.
fn leak_line() -> i64 {
    let text = std::fs::read_to_string(script("leak.js")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let marker = lines
        .iter()
        .position(|l| l.contains("// LEAK-SITE"))
        .expect("marker");
    let def = (0..marker)
        .rev()
        .find(|&i| lines[i].contains("function handleRequest("))
        .expect("enclosing function");
    def as i64 + 1
}

#[test]
fn sample_names_the_leaking_line() {
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "leak.js", &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("leak.heapprofile");
    let (code, stdout, stderr) = run(&[
        "sample",
        &app.pid.to_string(),
        "--duration",
        "3s",
        "--json",
        "-o",
        out.to_str().unwrap(),
        "--inspect-port",
        &port.to_string(),
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(rep["opened_inspector"], true);
    assert_eq!(rep["inspector_closed"], true);
    assert!(!port_open(port), "inspector left open");
    assert!(app.alive());
    assert!(app.http("/").is_some_and(|b| b.starts_with("ok ")));

    let line = leak_line();
    let sites = rep["sites"].as_array().expect("sites");
    let top5: Vec<String> = sites
        .iter()
        .take(5)
        .map(|s| format!("{} {}:{}", s["function"], s["url"], s["line"]))
        .collect();
    let hit = sites.iter().take(5).find(|s| {
        s["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("tests/capture/leak.js"))
            && s["line"].as_i64() == Some(line)
    });
    let hit = hit.unwrap_or_else(|| panic!("leak.js:{line} not among the top sites: {top5:?}"));
    assert_eq!(hit["function"], "handleRequest");
    assert!(hit["live_bytes"].as_u64().unwrap() > 0);
    // The leaking site dominates what is still live.
    assert!(hit["share"].as_f64().unwrap() > 0.3, "{hit}");

    // The file: mode 0600, the `node --heap-prof` shape DevTools loads.
    assert_eq!(mode(&out), 0o600);
    assert_eq!(entries(dir.path()), vec!["leak.heapprofile".to_string()]);
    let profile: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(profile["head"]["callFrame"]["functionName"], "(root)");
    assert!(profile["head"]["children"].is_array());
    assert!(!profile["samples"].as_array().unwrap().is_empty());
    let sample = &profile["samples"][0];
    assert!(sample["size"].is_u64() && sample["nodeId"].is_u64() && sample["ordinal"].is_number());
}

#[test]
fn sample_text_output_and_existing_inspector() {
    let mut app = NodeApp::spawn(&["--inspect=127.0.0.1:0"], "leak.js", &[]);
    let port = app.inspector_port_from_stderr();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.heapprofile");
    let (code, stdout, stderr) = run(&[
        "sample",
        &format!("127.0.0.1:{port}"),
        "--duration",
        "1500ms",
        "--top",
        "3",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let line = leak_line();
    assert!(
        stdout.contains(&format!("leak.js:{line}:")),
        "table names the line: {stdout}"
    );
    assert!(
        json_list(port).is_some(),
        "an inspector open before stays open"
    );
    assert!(app.alive());
}

#[test]
fn sample_errors() {
    let (code, _, stderr) = run(&["sample", "99999999", "--duration", "1s"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no such process"), "{stderr}");
    let (code, _, stderr) = run(&["sample", "1234", "--duration", "soon"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("soon"), "{stderr}");
}
