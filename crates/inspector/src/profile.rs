//! Sampling heap profiles (`HeapProfiler.getSamplingProfile`, `node --heap-prof`): the top
//! allocation sites by bytes still live.

use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// One allocation site: a function at a source position, with the live bytes sampled there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationSite {
    pub function: String,
    pub url: String,
    /// 1-based (CDP's are 0-based).
    pub line: i64,
    /// 1-based.
    pub column: i64,
    /// Sum of `selfSize` of every profile node at this site.
    pub live_bytes: u64,
    /// Number of sampled allocations behind `live_bytes` (from `samples`, when present).
    pub samples: u64,
    /// `live_bytes` over the profile's total.
    pub share: f64,
}

impl AllocationSite {
    /// `script:line:column`, or `(native)` style names for frames without a script.
    pub fn location(&self) -> String {
        if self.url.is_empty() {
            if self.line > 0 {
                format!("(no script):{}:{}", self.line, self.column)
            } else {
                "(no script)".into()
            }
        } else {
            format!("{}:{}:{}", self.url, self.line, self.column)
        }
    }
}

/// Total live bytes of a profile (the sum of every node's `selfSize`).
pub fn total_live_bytes(profile: &Value) -> u64 {
    let mut total = 0;
    walk(profile.get("head"), &mut |node| {
        total += node.get("selfSize").and_then(Value::as_u64).unwrap_or(0);
    });
    total
}

fn walk<'a>(node: Option<&'a Value>, f: &mut dyn FnMut(&'a Value)) {
    let mut stack: Vec<&Value> = node.into_iter().collect();
    while let Some(n) = stack.pop() {
        f(n);
        if let Some(children) = n.get("children").and_then(Value::as_array) {
            stack.extend(children.iter());
        }
    }
}

/// Aggregates `selfSize` per (function, url, line, column) and returns the sites by live
/// bytes, largest first (ties by location). Sites with 0 bytes are left out.
pub fn top_sites(profile: &Value, limit: usize) -> Vec<AllocationSite> {
    // Sample counts per profile node id.
    let mut samples_per_node: HashMap<u64, u64> = HashMap::new();
    if let Some(samples) = profile.get("samples").and_then(Value::as_array) {
        for s in samples {
            if let Some(id) = s.get("nodeId").and_then(Value::as_u64) {
                *samples_per_node.entry(id).or_default() += 1;
            }
        }
    }
    type Key = (String, String, i64, i64);
    let mut by_site: HashMap<Key, (u64, u64)> = HashMap::new();
    let mut total: u64 = 0;
    walk(profile.get("head"), &mut |node| {
        let size = node.get("selfSize").and_then(Value::as_u64).unwrap_or(0);
        total += size;
        if size == 0 {
            return;
        }
        let frame = node.get("callFrame");
        let s = |k: &str| {
            frame
                .and_then(|f| f.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let n = |k: &str| {
            frame
                .and_then(|f| f.get(k))
                .and_then(Value::as_i64)
                .unwrap_or(-1)
        };
        let mut function = s("functionName");
        if function.is_empty() {
            function = "(anonymous)".into();
        }
        let key = (
            function,
            s("url"),
            n("lineNumber") + 1,
            n("columnNumber") + 1,
        );
        let count = node
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| samples_per_node.get(&id).copied())
            .unwrap_or(0);
        let e = by_site.entry(key).or_default();
        e.0 += size;
        e.1 += count;
    });
    let mut sites: Vec<AllocationSite> = by_site
        .into_iter()
        .map(
            |((function, url, line, column), (bytes, samples))| AllocationSite {
                function,
                url,
                line,
                column,
                live_bytes: bytes,
                samples,
                share: if total == 0 {
                    0.0
                } else {
                    bytes as f64 / total as f64
                },
            },
        )
        .collect();
    sites.sort_by(|a, b| {
        b.live_bytes
            .cmp(&a.live_bytes)
            .then_with(|| a.url.cmp(&b.url))
            .then_with(|| a.line.cmp(&b.line))
            .then_with(|| a.column.cmp(&b.column))
            .then_with(|| a.function.cmp(&b.function))
    });
    sites.truncate(limit);
    sites
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn frame(name: &str, url: &str, line: i64, col: i64) -> Value {
        json!({"functionName": name, "scriptId": "1", "url": url, "lineNumber": line, "columnNumber": col})
    }

    #[test]
    fn aggregates_by_site_one_based() {
        let profile = json!({
            "head": {"callFrame": frame("(root)", "", -1, -1), "selfSize": 0, "id": 1, "children": [
                {"callFrame": frame("leak", "file:///app.js", 9, 4), "selfSize": 3000, "id": 2, "children": [
                    {"callFrame": frame("inner", "file:///app.js", 20, 0), "selfSize": 500, "id": 3, "children": []}
                ]},
                {"callFrame": frame("other", "file:///b.js", 0, 0), "selfSize": 1000, "id": 4, "children": [
                    {"callFrame": frame("leak", "file:///app.js", 9, 4), "selfSize": 1000, "id": 5, "children": []}
                ]}
            ]},
            "samples": [{"size": 3000, "nodeId": 2, "ordinal": 1}, {"size": 1000, "nodeId": 5, "ordinal": 2}]
        });
        assert_eq!(total_live_bytes(&profile), 5500);
        let sites = top_sites(&profile, 10);
        assert_eq!(sites.len(), 3);
        assert_eq!(sites[0].function, "leak");
        assert_eq!(sites[0].line, 10);
        assert_eq!(sites[0].column, 5);
        assert_eq!(sites[0].live_bytes, 4000);
        assert_eq!(sites[0].samples, 2);
        assert!((sites[0].share - 4000.0 / 5500.0).abs() < 1e-9);
        assert_eq!(sites[0].location(), "file:///app.js:10:5");
        assert_eq!(sites[1].live_bytes, 1000);
        assert_eq!(sites[2].function, "inner");
        assert_eq!(top_sites(&profile, 1).len(), 1);
    }

    #[test]
    fn empty_profile() {
        assert!(top_sites(&json!({}), 5).is_empty());
        assert_eq!(total_live_bytes(&json!({"head": null})), 0);
    }
}
