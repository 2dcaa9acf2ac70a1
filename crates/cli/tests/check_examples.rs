//! `leakhound check` on the bundled examples, end to end with real node processes: the leaky
//! service fails (exit 1) naming the leaking file and line; the clean one passes with a green
//! verdict; the HTML report renders in headless Chromium.

mod capture_common;
use capture_common::{chromium_or_skip, headless};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    out: tempfile::TempDir,
}

fn check(example: &str, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let o = out.path();
    let output = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .arg("check")
        .arg(repo().join("examples").join(example))
        .arg("--out")
        .arg(o.join("check"))
        .arg("--junit")
        .arg(o.join("junit.xml"))
        .arg("--sarif")
        .arg(o.join("report.sarif"))
        .arg("--html")
        .arg(o.join("report.html"))
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .expect("run leakhound");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        out,
    }
}

/// The leaky example runs once; the tests below share it.
fn leaky() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| check("leaky-service", &[]))
}

/// 1-based line of the `// LEAK` marker in the example's source.
fn leak_line() -> (String, u32) {
    let rel = "lib/sessions.js";
    let src = std::fs::read_to_string(repo().join("examples/leaky-service").join(rel)).unwrap();
    let line = src
        .lines()
        .position(|l| l.contains("// LEAK"))
        .expect("a // LEAK marker in examples/leaky-service/lib/sessions.js");
    (rel.to_string(), line as u32 + 1)
}

fn report_json(run: &Run) -> serde_json::Value {
    let text = std::fs::read_to_string(run.out.path().join("check/report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn leaky_service_fails_and_names_the_leak() {
    let run = leaky();
    assert_eq!(
        run.code,
        Some(1),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    let (file, line) = leak_line();
    let where_ = format!("{file}:{line}");
    assert!(
        run.stdout.contains(&where_),
        "the summary should name {where_}:\n{}",
        run.stdout
    );
    let r = report_json(run);
    assert_eq!(r["status"], "fail");
    // The memory verdict sees the growth on its own, independent of the finder.
    assert_eq!(r["verdict"]["level"], "red", "{}", r["verdict"]);
    let findings = r["findings"].as_array().unwrap();
    let hit = findings
        .iter()
        .find(|f| f["source"]["file"] == file.as_str() && f["source"]["line"] == line)
        .unwrap_or_else(|| panic!("no finding at {where_}: {findings:#?}"));
    assert!(hit["confidence"].as_f64().unwrap() >= 0.8, "{hit:#}");
    // Several MB per round: unmistakable.
    let growth = r["verdict"]["growth_per_round"].as_f64().unwrap();
    assert!(growth > 2.0 * 1024.0 * 1024.0, "growth per round {growth}");
    assert_eq!(r["rounds"].as_array().unwrap().len(), 3);
    assert!(r["timeline"]["samples"].as_array().unwrap().len() > 10);
    for round in r["rounds"].as_array().unwrap() {
        assert!(round["load"]["requests"].as_u64().unwrap() > 100, "{round}");
        let snap = round["after"]["snapshot"].as_str().unwrap();
        let meta = std::fs::metadata(snap).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{snap}");
    }

    // JUnit: the finding and the red verdict are failing test cases.
    let junit = std::fs::read_to_string(run.out.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<failure type=\"red\""), "{junit}");
    assert!(junit.contains(&where_), "{junit}");

    // SARIF: a result at the file (relative to the git root) and line.
    let sarif: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.out.path().join("report.sarif")).unwrap(),
    )
    .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let uri = format!("examples/leaky-service/{file}");
    assert!(
        results.iter().any(|res| {
            let loc = &res["locations"][0]["physicalLocation"];
            loc["artifactLocation"]["uri"] == uri.as_str() && loc["region"]["startLine"] == line
        }),
        "no SARIF result at {uri}:{line}: {results:#?}"
    );
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert!(rules
        .iter()
        .all(|r| r["id"].as_str().unwrap().starts_with("leakhound/")));
}

#[test]
fn clean_service_passes_green() {
    let run = check("clean-service", &["--json"]);
    assert_eq!(
        run.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    // --json prints the same report that is written to report.json.
    let r: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(r["status"], "pass");
    assert_eq!(r["verdict"]["level"], "green", "{}", r["verdict"]);
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["confidence"].as_f64().unwrap() < 0.8));
    let junit = std::fs::read_to_string(run.out.path().join("junit.xml")).unwrap();
    assert!(junit.contains("name=\"memory verdict: green\""), "{junit}");
    assert!(!junit.contains("<failure"), "{junit}");
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium_or_skip("html_report_renders_in_headless_chromium") else {
        return;
    };
    let run = leaky();
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let html = run.out.path().join("report.html");
    let url = format!("file://{}", html.display());
    let profile = tempfile::tempdir().unwrap();

    let dom = headless(&chromium, profile.path())
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    let (file, line) = leak_line();
    assert!(
        dom.contains(&format!("{file}:{line}")),
        "DOM lacks {file}:{line}"
    );
    assert!(
        dom.contains("id=\"verdict\""),
        "DOM lacks the verdict badge"
    );
    // The chart's heap and RSS series are drawn paths with points.
    for id in ["heap-line", "rss-line"] {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id}"));
        let tail = &dom[at..];
        let d = tail.split(" d=\"").nth(1).unwrap_or("");
        assert!(
            d.starts_with('M') && d.matches('L').count() > 10,
            "#{id} has no line: {}",
            &d[..d.len().min(80)]
        );
    }
    assert!(dom.contains("<table id=\"load\""));
    // Self-contained: no external scripts, styles or images.
    let page = std::fs::read_to_string(&html).unwrap();
    for bad in ["src=\"http", "href=\"http", "<link ", "@import"] {
        assert!(
            !page.contains(bad),
            "the report loads something external: {bad}"
        );
    }

    let shot = profile.path().join("shot.png");
    let s = headless(&chromium, profile.path())
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1200,1800")
        .arg(&url)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 30_000, "screenshot only {} bytes", png.len());
    if let Some(keep) = std::env::var_os("LEAKHOUND_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
