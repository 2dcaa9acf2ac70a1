//! `leakhound check` failures end with one clear error and exit code 2, with the app's last
//! log lines when the app is at fault: a wrong command, an app that crashes under load, a
//! port already in use, an app that never becomes ready, a malformed scenario.

use std::path::Path;
use std::process::Command;

fn check(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .arg("check")
        .arg(dir)
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .expect("run leakhound");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scenario(dir: &Path, toml: &str, server: Option<&str>) {
    std::fs::write(dir.join("leakhound.toml"), toml).unwrap();
    if let Some(js) = server {
        std::fs::write(dir.join("server.js"), js).unwrap();
    }
}

const SERVER: &str = r#"
const http = require('node:http');
let n = 0;
const limit = Number(process.env.CRASH_AFTER || 0);
http.createServer((req, res) => {
  n++;
  if (limit && n > limit) {
    throw new Error(`database pool exhausted after ${limit} requests`);
  }
  res.end('ok');
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
"#;

#[test]
fn wrong_command() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    scenario(
        dir.path(),
        &format!("[check]\ncmd = \"nodejs-does-not-exist server.js\"\nready_port = {port}\n"),
        None,
    );
    let (code, _, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot start `nodejs-does-not-exist server.js`: command not found"),
        "{err}"
    );
}

#[test]
fn wrong_script_shows_the_apps_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    scenario(
        dir.path(),
        &format!("[check]\ncmd = \"node no-such-file.js\"\nready_port = {port}\n"),
        None,
    );
    let (code, _, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the app exited (exit code 1) before it was ready"),
        "{err}"
    );
    assert!(err.contains("last lines of"), "{err}");
    assert!(err.contains("Cannot find module"), "{err}");
}

#[test]
fn app_crashing_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    scenario(
        dir.path(),
        &format!(
            "[check]\ncmd = \"node server.js\"\nenv = {{ PORT = \"{port}\", CRASH_AFTER = \"300\" }}\n\
             ready_port = {port}\nwarmup = \"2s\"\nrounds = 2\nduration = \"2s\"\nconnections = 4\n"
        ),
        Some(SERVER),
    );
    let (code, _, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("the app exited (exit code 1) during the warm-up (under load)"),
        "{err}"
    );
    assert!(
        err.contains("database pool exhausted after 300 requests"),
        "{err}"
    );
}

#[test]
fn port_already_in_use() {
    let dir = tempfile::tempdir().unwrap();
    // Someone else already answers on the port: measuring them would be wrong.
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    scenario(
        dir.path(),
        &format!("[check]\ncmd = \"node server.js\"\nenv = {{ PORT = \"{port}\" }}\nready_port = {port}\n"),
        Some(SERVER),
    );
    let (code, _, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "port {port} is already in use before the app was started"
        )),
        "{err}"
    );
    drop(squatter);
}

#[test]
fn never_ready() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    scenario(
        dir.path(),
        &format!(
            "[check]\ncmd = \"node server.js\"\nenv = {{ PORT = \"{port}\" }}\nready_log = \"^ready to serve$\"\n\
             ready_timeout = \"2s\"\nurl = [\"http://127.0.0.1:{port}/\"]\n"
        ),
        Some(SERVER),
    );
    let (code, _, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "the app was not ready after 2s (waited for a log line matching /^ready to serve$/)"
        ),
        "{err}"
    );
    assert!(err.contains("| listening"), "{err}");
}

#[test]
fn malformed_scenario() {
    let dir = tempfile::tempdir().unwrap();
    scenario(
        dir.path(),
        "[check]\ncmd = \"node server.js\"\nround = 3\n",
        None,
    );
    let (code, _, err) = check(dir.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("leakhound.toml") && err.contains("unknown field `round`"),
        "{err}"
    );
    assert!(err.contains("line 3"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = check(empty.path(), &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no leakhound.toml"), "{err}");
}
