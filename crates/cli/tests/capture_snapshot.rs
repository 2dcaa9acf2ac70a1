//! `leakhound snapshot` against real node processes: each test checks the process is alive
//! and serving afterwards, its inspector is as it was, and the engine parses the file.

mod capture_common;

use capture_common::*;
use std::time::{Duration, Instant};

fn report(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("bad JSON report ({e}): {stdout}"))
}

/// `leakhound snapshot PID -o OUT --inspect-port PORT EXTRA...`: (exit code, stdout, stderr).
fn snapshot_pid(
    pid: u32,
    out: &std::path::Path,
    port: u16,
    extra: &[&str],
) -> (i32, String, String) {
    let (pid, port) = (pid.to_string(), port.to_string());
    let mut args = vec![
        "snapshot",
        &pid,
        "-o",
        out.to_str().unwrap(),
        "--inspect-port",
        &port,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Checks the written snapshot: mode 0600, size as reported, parsed by the engine, no
/// temporary file left beside it.
fn check_file(dir: &std::path::Path, name: &str, rep: &serde_json::Value) -> usize {
    let path = dir.join(name);
    assert_eq!(mode(&path), 0o600, "snapshot mode");
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(rep["bytes"].as_u64(), Some(size));
    assert_eq!(entries(dir), vec![name.to_string()], "temp files left");
    let nodes = engine_node_count(&path);
    assert!(nodes > 0);
    nodes
}

#[test]
fn idle_process_by_pid_opens_and_closes_its_inspector() {
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &[]);
    assert!(json_list(port).is_none(), "inspector must start closed");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("idle.heapsnapshot");
    let (code, stdout, stderr) = snapshot_pid(app.pid, &out, port, &["--json"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["pid"].as_u64(), Some(app.pid as u64));
    assert_eq!(rep["opened_inspector"], true);
    assert_eq!(rep["inspector_closed"], true);
    assert_eq!(rep["gc"], true);
    // Left as found: the inspector is off again, the app serves.
    assert!(json_list(port).is_none(), "inspector still answers");
    assert!(!port_open(port), "inspector port still open");
    app.assert_serving();
    check_file(dir.path(), "idle.heapsnapshot", &rep);

    // And it can be done again (the inspector opens a second time).
    let out2 = dir.path().join("again.heapsnapshot");
    let (code, _, stderr) = snapshot_pid(app.pid, &out2, port, &["--no-gc"]);
    assert_eq!(code, 0, "second capture; stderr: {stderr}");
    assert!(!port_open(port));
    app.assert_serving();
}

#[test]
fn hundred_mb_http_server_keeps_serving_and_analyze_streams() {
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &["--hold-mb", "100"]);
    assert!(app.ready["heapUsed"].as_u64().unwrap() > 100 << 20);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.heapsnapshot");
    // Serve HTTP during the capture too: a request issued while V8 walks the heap is
    // answered once the snapshot is done.
    let (code, stdout, stderr) = snapshot_pid(app.pid, &out, port, &["--analyze", "--json"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["inspector_closed"], true);
    assert_eq!(rep["route"], "in-process");
    app.assert_serving();
    assert!(!port_open(port));
    let body = app.http("/").unwrap();
    let held: u64 = body.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(held > 100_000, "the app still holds its objects: {body}");
    let nodes = check_file(dir.path(), "big.heapsnapshot", &rep);
    // A PID on this machine writes its own snapshot; the engine read the file as it grew
    // and saw the same snapshot the file holds.
    assert!(rep["analysis_error"].is_null(), "{}", rep["analysis_error"]);
    assert_eq!(rep["analysis"]["nodes"].as_u64(), Some(nodes as u64));
    assert!(nodes > 400_000, "a 100 MB heap has many nodes: {nodes}");
    let top = rep["analysis"]["top_classes"].as_array().unwrap();
    assert!(!top.is_empty());
}

#[test]
fn inspect_zero_by_host_port_stays_open() {
    let mut app = NodeApp::spawn(&["--inspect=127.0.0.1:0"], "app.js", &[]);
    let port = app.inspector_port_from_stderr();
    assert!(json_list(port).is_some());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zero.heapsnapshot");
    let (code, stdout, stderr) = run(&[
        "snapshot",
        &format!("127.0.0.1:{port}"),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["opened_inspector"], false);
    assert!(rep["inspector_closed"].is_null());
    assert_eq!(
        rep["pid"].as_u64(),
        Some(app.pid as u64),
        "pid from /json/list"
    );
    let list = json_list(port).expect("inspector still open");
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.assert_serving();
    check_file(dir.path(), "zero.heapsnapshot", &rep);
}

#[test]
fn already_open_inspector_by_pid_and_ws_url_stays_open() {
    let port = free_port();
    let inspect = format!("--inspect=127.0.0.1:{port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &[]);
    let list = json_list(port).expect("inspector open from the start");
    let ws = list[0]["webSocketDebuggerUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    // By PID: found through its listening sockets without SIGUSR1.
    let out = dir.path().join("open.heapsnapshot");
    let (code, stdout, stderr) = run(&[
        "snapshot",
        &app.pid.to_string(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["opened_inspector"], false);
    assert!(json_list(port).is_some(), "inspector closed by leakhound");
    app.assert_serving();
    check_file(dir.path(), "open.heapsnapshot", &rep);
    std::fs::remove_file(&out).unwrap();

    // By ws:// URL.
    let out = dir.path().join("ws.heapsnapshot");
    let (code, stdout, stderr) = run(&["snapshot", &ws, "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["pid"].as_u64(), Some(app.pid as u64));
    assert_eq!(
        json_list(port).unwrap()[0]["webSocketDebuggerUrl"],
        ws.as_str()
    );
    app.assert_serving();
    check_file(dir.path(), "ws.heapsnapshot", &rep);
}

#[test]
fn default_file_name_follows_node() {
    let mut app = NodeApp::spawn(&["--inspect=127.0.0.1:0"], "app.js", &[]);
    let port = app.inspector_port_from_stderr();
    let dir = tempfile::tempdir().unwrap();
    let out = leakhound()
        .args(["snapshot", &format!("localhost:{port}"), "--no-gc"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = entries(dir.path());
    assert_eq!(files.len(), 1);
    // Heap.<YYYYMMDD>.<HHMMSS>.<pid>.heapsnapshot; the pid comes from /json/list only for
    // PID targets, so a host:port capture says 0.
    let parts: Vec<&str> = files[0].split('.').collect();
    assert_eq!(parts.len(), 5, "{}", files[0]);
    assert_eq!(parts[0], "Heap");
    assert!(parts[1].len() == 8 && parts[1].bytes().all(|b| b.is_ascii_digit()));
    assert!(parts[2].len() == 6 && parts[2].bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(parts[4], "heapsnapshot");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&files[0]), "{stdout}");
    app.assert_serving();
}

// ---- errors: one line, exit 2, process untouched ----

fn assert_error(code: i32, stderr: &str, needle: &str) {
    assert_eq!(code, 2, "exit code; stderr: {stderr}");
    assert!(
        stderr.to_lowercase().contains(&needle.to_lowercase()),
        "expected {needle:?} in {stderr:?}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
}

#[test]
fn no_such_process() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.heapsnapshot");
    // Above the kernel's pid_max: can never exist.
    let (code, _, stderr) = run(&["snapshot", "99999999", "-o", out.to_str().unwrap()]);
    assert_error(code, &stderr, "no such process: 99999999");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn not_a_node_process_is_not_signalled() {
    let mut sleep = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.heapsnapshot");
    let (code, _, stderr) = run(&[
        "snapshot",
        &sleep.id().to_string(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_error(code, &stderr, "is not a Node process");
    // SIGUSR1 would have killed it.
    assert!(matches!(sleep.try_wait(), Ok(None)), "sleep was killed");
    assert!(entries(dir.path()).is_empty());
    let _ = sleep.kill();
    let _ = sleep.wait();
}

#[test]
fn sigusr1_taken_by_the_app_times_out_clearly() {
    // Node 20 has no --disable-sigusr1 (22.14+ does); an app-level SIGUSR1 listener has
    // the same effect: the signal no longer opens the inspector.
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &["--own-sigusr1"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.heapsnapshot");
    let (code, _, stderr) = snapshot_pid(app.pid, &out, port, &["--open-timeout", "2"]);
    assert_error(code, &stderr, "did not open its inspector");
    assert!(stderr.contains("disabled"), "{stderr}");
    app.assert_serving();
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn no_sigusr1_handler_is_refused_without_signalling() {
    // Without a handler SIGUSR1 terminates the process: leakhound must not send it.
    let mut app = NodeApp::spawn(&[], "app.js", &["--no-sigusr1-handler"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.heapsnapshot");
    let (code, _, stderr) = run(&[
        "snapshot",
        &app.pid.to_string(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_error(code, &stderr, "no SIGUSR1 handler");
    app.assert_serving();
}

#[test]
fn disable_sigusr1_flag_when_node_has_it() {
    let probe = std::process::Command::new("node")
        .args(["--disable-sigusr1", "-e", ""])
        .output()
        .unwrap();
    if !probe.status.success() {
        eprintln!("skipped: this node has no --disable-sigusr1 (Node >= 22.14 has it)");
        return;
    }
    let mut app = NodeApp::spawn(&["--disable-sigusr1"], "app.js", &[]);
    let (code, _, stderr) = run(&["snapshot", &app.pid.to_string(), "--open-timeout", "2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("SIGUSR1") && (stderr.contains("disable") || stderr.contains("handler")),
        "{stderr}"
    );
    app.assert_serving();
}

#[test]
fn inspector_port_taken_by_another_process() {
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = blocker.local_addr().unwrap().port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &[]);
    let (code, _, stderr) = run(&[
        "snapshot",
        &app.pid.to_string(),
        "--inspect-port",
        &port.to_string(),
        "-o",
        "/tmp/never-written.heapsnapshot",
    ]);
    assert_error(code, &stderr, "already held by another process");
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "names the holder: {stderr}"
    );
    app.assert_serving();
    drop(blocker);
}

#[test]
fn process_killed_mid_capture_leaves_no_file() {
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let app = NodeApp::spawn(&[&inspect], "app.js", &["--hold-mb", "150"]);
    let pid = app.pid;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("killed.heapsnapshot");
    let child = leakhound()
        .args([
            "snapshot",
            &pid.to_string(),
            "-o",
            out.to_str().unwrap(),
            "--inspect-port",
            &port.to_string(),
            "--no-gc",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until leakhound is attached (inspector port open, temp file created), then give
    // the snapshot a chance to start streaming; kill node either way: during the heap walk
    // or during the transfer, the process exits mid-capture.
    let start = Instant::now();
    while !port_open(port) || entries(dir.path()).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "capture never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let attached = Instant::now();
    while attached.elapsed() < Duration::from_secs(60) {
        let growing = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.metadata().map(|m| m.len() > 0).unwrap_or(false));
        if growing {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut app = app;
    app.kill();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_error(
        output.status.code().unwrap_or(-1),
        &stderr,
        &format!("process {pid} exited during the capture"),
    );
    assert!(
        entries(dir.path()).is_empty(),
        "partial file left: {:?}",
        entries(dir.path())
    );
}

#[test]
fn unwritable_destination_fails_before_touching_the_process() {
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &[]);
    // Root ignores directory permissions: use a read-only mount when we can, else chmod.
    let ro = Tmpfs::mount("ro,size=1m");
    let chmod_dir = tempfile::tempdir().unwrap();
    let dir = match &ro {
        Some(t) => t.path().to_path_buf(),
        None => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(chmod_dir.path(), std::fs::Permissions::from_mode(0o500))
                .unwrap();
            if std::fs::File::create(chmod_dir.path().join("probe")).is_ok() {
                eprintln!("skipped: cannot make an unwritable directory here (root without mount)");
                return;
            }
            chmod_dir.path().to_path_buf()
        }
    };
    let out = dir.join("x.heapsnapshot");
    let (code, _, stderr) = snapshot_pid(app.pid, &out, port, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(out.to_str().unwrap()),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("Read-only file system") || stderr.contains("Permission denied"),
        "{stderr}"
    );
    assert!(
        !port_open(port),
        "the inspector was opened although the file could not be"
    );
    app.assert_serving();
}

#[test]
fn disk_full_removes_the_partial_file_and_closes_the_inspector() {
    let Some(fs) = Tmpfs::mount("size=2m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &[]);
    let out = fs.path().join("full.heapsnapshot");
    let (code, _, stderr) = snapshot_pid(app.pid, &out, port, &[]);
    assert_error(code, &stderr, "No space left on device");
    assert!(stderr.contains(out.to_str().unwrap()), "{stderr}");
    assert!(entries(fs.path()).is_empty(), "{:?}", entries(fs.path()));
    // Give the inspector a moment in case node is still serialising the rest.
    let start = Instant::now();
    while port_open(port) && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!port_open(port), "inspector left open");
    app.assert_serving();
}

#[test]
fn non_loopback_hosts_are_refused() {
    let (code, _, stderr) = run(&["snapshot", "10.1.2.3:9229"]);
    assert_error(code, &stderr, "refusing to connect to non-loopback host");
    let (code, _, stderr) = run(&["snapshot", "ws://192.0.2.7:9229/abc"]);
    assert_error(code, &stderr, "--host 192.0.2.7");
    let (code, _, stdout_help) = {
        let (c, o, e) = run(&["snapshot", "--help"]);
        (c, e, o)
    };
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout_help.contains("code execution"), "{stdout_help}");
}

#[test]
fn a_series_over_one_session_can_be_compared_by_find() {
    // leak.js keeps growing `retained`; three snapshots of one session share V8's object
    // ids, so `find` pairs them and names the array.
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "leak.js", &[]);
    let dir = tempfile::tempdir().unwrap();
    let series = dir.path().join("series");
    let (code, stdout, stderr) = run(&[
        "snapshot",
        &app.pid.to_string(),
        "--inspect-port",
        &port.to_string(),
        "--count",
        "3",
        "--interval",
        "1s",
        "-o",
        series.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let snaps = rep["snapshots"].as_array().expect("snapshots");
    assert_eq!(snaps.len(), 3);
    let files = entries(&series);
    assert_eq!(files.len(), 3, "{files:?}");
    for (k, s) in snaps.iter().enumerate() {
        let path = std::path::PathBuf::from(s["path"].as_str().unwrap());
        assert!(
            path.to_string_lossy()
                .ends_with(&format!(".{}.heapsnapshot", k + 1)),
            "{path:?}"
        );
        assert_eq!(mode(&path), 0o600);
        assert_eq!(s["opened_inspector"], true);
        assert_eq!(s["inspector_closed"], true);
        assert!(engine_node_count(&path) > 1000);
    }
    // Left as found, still serving (leak.js answers with its array's length).
    assert!(!port_open(port), "inspector port still open");
    assert!(app.alive(), "node exited: {}", app.stderr());
    assert!(app.http("/").is_some_and(|b| b.starts_with("ok ")));

    let (code, stdout, stderr) = run(&["find", series.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let found: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let top = &found["findings"][0];
    assert_eq!(top["edge"], "retained", "{top}");
    assert_eq!(top["pattern"], "growing-array", "{top}");
}

#[test]
fn a_series_needs_a_directory_and_no_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let (code, _, stderr) = run(&[
        "snapshot",
        "999999",
        "--count",
        "2",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("-o names a directory"), "{stderr}");
    let (code, _, stderr) = run(&["snapshot", "999999", "--count", "2", "--analyze"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--analyze takes one snapshot"), "{stderr}");
    assert_eq!(entries(dir.path()), ["plain-file"]);
}

#[test]
fn in_process_capture_writes_a_private_file_and_leaves_the_process_as_found() {
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn(&[&inspect], "app.js", &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("inproc.heapsnapshot");
    let (code, stdout, stderr) = snapshot_pid(app.pid, &out, port, &["--in-process", "--json"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["opened_inspector"], true);
    assert_eq!(rep["inspector_closed"], true);
    assert_eq!(
        rep["bytes"].as_u64(),
        Some(std::fs::metadata(&out).unwrap().len())
    );
    check_file(dir.path(), "inproc.heapsnapshot", &rep);
    assert!(!port_open(port), "inspector port still open");
    app.assert_serving();

    assert_eq!(rep["route"], "in-process");

    // --stream takes the WebSocket route, and --analyze works on both.
    let dir = tempfile::tempdir().unwrap();
    let streamed = dir.path().join("streamed.heapsnapshot");
    let (code, stdout, stderr) = snapshot_pid(
        app.pid,
        &streamed,
        port,
        &["--stream", "--analyze", "--json"],
    );
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["route"], "stream");
    let nodes = check_file(dir.path(), "streamed.heapsnapshot", &rep);
    assert_eq!(rep["analysis"]["nodes"].as_u64(), Some(nodes as u64));
    assert!(!port_open(port), "inspector port still open");
    app.assert_serving();

    let (code, _, stderr) = run(&["snapshot", "1", "--in-process", "--stream"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn a_process_that_cannot_write_the_file_is_streamed_instead() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // Needs root, to run node as `nobody`: it cannot open leakhound's root-owned 0600 file.
    const NOBODY: u32 = 65534;
    let can_run_as_nobody = unsafe { libc::geteuid() } == 0
        && std::process::Command::new("node")
            .args(["-e", "0"])
            .uid(NOBODY)
            .gid(NOBODY)
            .status()
            .is_ok_and(|s| s.success());
    if !can_run_as_nobody {
        eprintln!("skipped: needs root and a node that user nobody can run");
        return;
    }
    // A copy of the app where nobody can read it.
    let app_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(app_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let app_js = app_dir.path().join("app.js");
    std::fs::copy(script("app.js"), &app_js).unwrap();
    std::fs::set_permissions(&app_js, std::fs::Permissions::from_mode(0o644)).unwrap();
    let port = free_port();
    let inspect = format!("--inspect-port={port}");
    let mut app = NodeApp::spawn_script(&[&inspect], &app_js, &[], |c| {
        c.uid(NOBODY).gid(NOBODY);
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fallback.heapsnapshot");
    let (code, stdout, stderr) = snapshot_pid(app.pid, &out, port, &["--json"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let rep = report(&stdout);
    assert_eq!(rep["route"], "stream");
    let warnings = rep["warnings"].to_string();
    assert!(warnings.contains("streamed it instead"), "{warnings}");
    assert!(warnings.contains("EACCES"), "{warnings}");
    check_file(dir.path(), "fallback.heapsnapshot", &rep);
    assert!(!port_open(port), "inspector port still open");
    app.assert_serving();

    // Forced, the in-process route fails clearly instead.
    let (code, _, stderr) = snapshot_pid(
        app.pid,
        &dir.path().join("forced.heapsnapshot"),
        port,
        &["--in-process"],
    );
    assert_error(code, &stderr, "could not write its snapshot");
    assert!(!port_open(port), "inspector port still open");
    app.assert_serving();
}
