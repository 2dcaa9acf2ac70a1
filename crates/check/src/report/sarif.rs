//! SARIF 2.1.0 for GitHub code scanning: one rule per finder pattern, one result per finding at
//! its file and line (relative to the source root, so GitHub shows it on the diff). Findings
//! without a source location, and a red or yellow memory verdict, point at the scenario file.

use super::{CheckReport, FindingView};
use crate::verdict::Level;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn rule_id(kind: &str) -> String {
    format!("leakhound/{kind}")
}

fn fingerprint(parts: &[&str]) -> String {
    // FNV-1a, stable across runs and platforms.
    let mut h: u64 = 0xcbf29ce484222325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

pub fn render(report: &CheckReport) -> Value {
    let root = &report.scenario.source_root;
    let scenario_uri = report
        .scenario
        .scenario_file
        .as_ref()
        .map(|p| super::relative(p, root))
        .unwrap_or_else(|| "leakhound.toml".into());
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    let mut results = Vec::new();
    for (i, f) in report.views().iter().enumerate() {
        let kind = f.rule_name();
        let id = rule_id(&kind);
        rules.entry(id.clone()).or_insert_with(|| {
            json!({
                "id": id,
                "name": kind,
                "shortDescription": { "text": format!("Memory leak: {kind}") },
                "fullDescription": { "text": format!("leakhound found objects of this pattern ({kind}) growing across heap snapshots taken between rounds of load.") },
                "help": { "text": "Follow the retainer path to the holder that keeps the objects alive; evict, bound or remove it." },
                "defaultConfiguration": { "level": "error" },
                "properties": { "tags": ["memory", "leak"] }
            })
        });
        let (uri, line, column) = match &f.source {
            Some(s) if s.text.is_some() => (s.repo_path.clone(), s.line.max(1), s.column.max(1)),
            _ => (scenario_uri.clone(), 1, 1),
        };
        results.push(result(report, f, i, &id, &uri, line, column));
    }
    let v = &report.verdict;
    if v.level != Level::Green {
        let id = "leakhound/memory-verdict".to_string();
        rules.insert(
            id.clone(),
            json!({
                "id": id,
                "name": "memory-verdict",
                "shortDescription": { "text": "Memory did not settle under load" },
                "fullDescription": { "text": "The post-GC heap kept growing between rounds of load, or exceeded its limit relative to the baseline." },
                "defaultConfiguration": { "level": "error" }
            }),
        );
        results.push(json!({
            "ruleId": id,
            "level": if v.level == Level::Red { "error" } else { "warning" },
            "message": { "text": format!("Memory verdict {}: {}", v.level.as_str(), v.reasons.join("; ")) },
            "locations": [location(&scenario_uri, 1, 1)],
            "partialFingerprints": { "leakhound/v1": fingerprint(&["verdict", &scenario_uri]) }
        }));
    }
    let rule_index: BTreeMap<String, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    for r in &mut results {
        if let Some(idx) = r["ruleId"].as_str().and_then(|id| rule_index.get(id)) {
            r["ruleIndex"] = json!(idx);
        }
    }
    let root_uri = format!("file://{}/", root.to_string_lossy().trim_end_matches('/'));
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "leakhound",
                "version": report.version,
                "informationUri": "https://example.invalid/leakhound",
                "rules": rules.into_values().collect::<Vec<_>>()
            }},
            "originalUriBaseIds": { "SRCROOT": { "uri": root_uri } },
            "results": results,
            "properties": {
                "verdict": v.level.as_str(),
                "failOn": report.scenario.fail_on
            }
        }]
    })
}

fn location(uri: &str, line: u32, column: u32) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri, "uriBaseId": "SRCROOT" },
            "region": { "startLine": line, "startColumn": column }
        }
    })
}

fn result(
    report: &CheckReport,
    f: &FindingView,
    index: usize,
    id: &str,
    uri: &str,
    line: u32,
    column: u32,
) -> Value {
    let mut text = format!("{} (confidence {:.2}).", f.title, f.confidence);
    let path = f.path_text();
    if !path.is_empty() {
        text.push_str(&format!(" Retained by: {path}."));
    }
    if !f.suggestion.is_empty() {
        text.push_str(&format!(" Fix: {}", f.suggestion));
    }
    let level = if f.confidence >= report.scenario.fail_on {
        "error"
    } else {
        "warning"
    };
    json!({
        "ruleId": id,
        "level": level,
        "message": { "text": text },
        "locations": [location(uri, line, column)],
        "partialFingerprints": {
            "leakhound/v1": fingerprint(&[id, &f.class, uri, &line.to_string()])
        },
        "properties": {
            "confidence": f.confidence,
            "class": f.class,
            "counts": f.counts,
            "retainedSizes": f.retained_sizes,
            "findingIndex": index
        }
    })
}
