//! `leakhound find` refuses snapshots of different processes or in the wrong order (exit 2)
//! and gates on `--fail-on` (exit 1 when a finding reaches the confidence, else 0).

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/leaks")
}

fn run_program(program: &str, out: &Path) {
    let status = Proc::new("node")
        .arg("--expose-gc")
        .arg(corpus_dir().join(format!("{program}.js")))
        .arg(out)
        .status()
        .expect("node runs");
    assert!(status.success(), "{program}: {status}");
}

fn find(args: &[&Path], extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("leakhound")
        .unwrap()
        .arg("find")
        .args(extra)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn inputs_are_checked_and_fail_on_gates() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let c = tmp.path().join("c");
    run_program("leak-map-cache", &a);
    run_program("leak-map-cache", &b); // same program, another process
    run_program("ok-warm-cache", &c);

    // Two processes of the same program.
    let out = find(
        &[&a.join("s1.heapsnapshot"), &b.join("s2.heapsnapshot")],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not snapshots of one process"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");

    // Two different programs.
    let out = find(
        &[&a.join("s1.heapsnapshot"), &c.join("s2.heapsnapshot")],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));

    // Wrong order.
    let out = find(
        &[
            &a.join("s3.heapsnapshot"),
            &a.join("s2.heapsnapshot"),
            &a.join("s1.heapsnapshot"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("oldest first"), "{err}");

    // Not a snapshot / too few.
    let junk = tmp.path().join("junk.heapsnapshot");
    std::fs::write(&junk, b"{\"nope\": 1}").unwrap();
    let out = find(&[&junk, &a.join("s2.heapsnapshot")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.heapsnapshot"));
    let out = find(&[&a.join("s1.heapsnapshot")], &[]);
    assert_eq!(out.status.code(), Some(2));

    // --fail-on: the leak reaches 0.8, the control does not reach 0.5.
    let out = find(&[&a], &["--fail-on", "0.8"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = find(&[&a], &[]);
    assert_eq!(out.status.code(), Some(0));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("cache") && report.contains("fix:"),
        "{report}"
    );
    let out = find(&[&c], &["--fail-on", "0.5"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = find(&[&a], &["--fail-on", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
}
