//! JUnit XML: one test case for the memory verdict and one per finding. Findings at or above
//! `fail_on` fail; findings below it are reported as skipped (so the XML agrees with the exit
//! code); the verdict fails when red and passes otherwise (yellow notes go to system-out).

use super::{escape, CheckReport, FindingView};
use crate::verdict::Level;
use std::fmt::Write;

pub fn render(report: &CheckReport) -> String {
    let mut cases = String::new();
    let mut failures = 0usize;
    let mut skipped = 0usize;
    let v = &report.verdict;
    let details = v.reasons.join("\n");
    let _ = writeln!(
        cases,
        "    <testcase classname=\"leakhound.memory\" name=\"memory verdict: {}\" time=\"{:.3}\">",
        v.level.as_str(),
        report.elapsed_secs
    );
    match v.level {
        Level::Red => {
            failures += 1;
            let _ = writeln!(
                cases,
                "      <failure type=\"red\" message=\"{}\">{}</failure>",
                escape(v.reasons.first().map(String::as_str).unwrap_or("red")),
                escape(&details)
            );
        }
        Level::Yellow | Level::Green => {
            let _ = writeln!(cases, "      <system-out>{}</system-out>", escape(&details));
        }
    }
    cases.push_str("    </testcase>\n");
    for f in report.views() {
        let kind = f.kind_name();
        let where_ = f.where_text();
        let name = if where_.is_empty() {
            f.title.clone()
        } else {
            format!("{} ({where_})", f.title)
        };
        let _ = writeln!(
            cases,
            "    <testcase classname=\"leakhound.findings.{}\" name=\"{}\" time=\"0\">",
            escape(&kind),
            escape(&name)
        );
        let body = finding_text(&f);
        if f.confidence >= report.scenario.fail_on {
            failures += 1;
            let _ = writeln!(
                cases,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                escape(&kind),
                escape(&format!("{} (confidence {:.2})", f.title, f.confidence)),
                escape(&body)
            );
        } else {
            skipped += 1;
            let _ = writeln!(
                cases,
                "      <skipped message=\"{}\"/>\n      <system-out>{}</system-out>",
                escape(&format!(
                    "confidence {:.2} is below fail_on {:.2}",
                    f.confidence, report.scenario.fail_on
                )),
                escape(&body)
            );
        }
        cases.push_str("    </testcase>\n");
    }
    let tests = 1 + report.findings.len();
    let name = format!("leakhound check: {}", report.scenario.cwd.display());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"leakhound check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{t:.3}\">\n  \
         <testsuite name=\"{n}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{t:.3}\">\n{cases}  </testsuite>\n</testsuites>\n",
        t = report.elapsed_secs,
        n = escape(&name),
    )
}

fn finding_text(f: &FindingView) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} [{}], confidence {:.2}",
        f.title,
        f.kind_name(),
        f.confidence
    );
    if !f.class.is_empty() {
        let _ = writeln!(s, "class: {}", f.class);
    }
    if !f.counts.is_empty() {
        let counts: Vec<String> = f
            .counts
            .iter()
            .map(|c| c.map(|c| c.to_string()).unwrap_or_else(|| "?".into()))
            .collect();
        let _ = writeln!(s, "count per snapshot: {}", counts.join(" → "));
    }
    if let Some(src) = &f.source {
        let _ = writeln!(s, "at {}:{}:{}", src.file, src.line, src.column);
        if let Some(t) = &src.text {
            let _ = writeln!(s, "    {}", t.trim());
        }
    }
    let path = f.path_text();
    if !path.is_empty() {
        let _ = writeln!(s, "retained by: {path}");
    }
    if !f.suggestion.is_empty() {
        let _ = writeln!(s, "fix: {}", f.suggestion);
    }
    s
}
