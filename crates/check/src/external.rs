//! An external load command (autocannon, oha, k6, a test script), run once per phase with
//! `sh -c` in its own process group, its output written to a log. When it prints autocannon's
//! `--json` result, the request count and latencies are read from it.

use crate::loadgen::{Latency, LoadStats, Stop};
use crate::scenario::Scenario;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Runs `cmd`; returns (how it ended, whether it succeeded, last output lines, parsed figures).
/// Environment: `LEAKHOUND_PHASE` (`warmup` or `round`), `LEAKHOUND_ROUND`, `LEAKHOUND_SECONDS`
/// (the phase's duration, when it has one), `LEAKHOUND_REQUESTS`, `LEAKHOUND_CONNECTIONS`,
/// `LEAKHOUND_PORT` (the ready port, when known).
pub async fn run(
    cmd: &str,
    scenario: &Scenario,
    round: Option<u32>,
    log: &Path,
    stop: Stop,
) -> std::io::Result<(String, bool, Vec<String>, Option<LoadStats>)> {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .current_dir(&scenario.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .env(
            "LEAKHOUND_PHASE",
            if round.is_some() { "round" } else { "warmup" },
        )
        .env("LEAKHOUND_ROUND", round.unwrap_or(0).to_string())
        .env("LEAKHOUND_CONNECTIONS", scenario.connections.to_string());
    match stop {
        Stop::Duration(d) => {
            c.env(
                "LEAKHOUND_SECONDS",
                format!("{}", d.as_secs_f64().ceil() as u64),
            );
        }
        Stop::Requests(n) => {
            c.env("LEAKHOUND_REQUESTS", n.to_string());
        }
    }
    if let Some(p) = scenario.ready.port() {
        c.env("LEAKHOUND_PORT", p.to_string());
    }
    let mut child = c.spawn()?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let read_out = async {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut v).await;
        }
        v
    };
    let read_err = async {
        let mut v = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut v).await;
        }
        v
    };
    let (stdout, stderr) = tokio::join!(read_out, read_err);
    let status = match tokio::time::timeout(Duration::from_secs(5), child.wait()).await {
        Ok(s) => s?,
        Err(_) => {
            let _ = child.kill().await;
            child.wait().await?
        }
    };
    let mut text = String::from_utf8_lossy(&stdout).into_owned();
    if !stderr.is_empty() {
        text.push_str(&String::from_utf8_lossy(&stderr));
    }
    crate::report::write_atomic(log, text.as_bytes())?;
    let tail: Vec<String> = text
        .lines()
        .rev()
        .take(crate::app::TAIL_LINES)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(str::to_string)
        .collect();
    let stats = parse_autocannon(&String::from_utf8_lossy(&stdout));
    Ok((
        crate::app::describe_status(&status),
        status.success(),
        tail,
        stats,
    ))
}

/// Reads autocannon's `-j` result (the last JSON object line of its stdout).
pub fn parse_autocannon(stdout: &str) -> Option<LoadStats> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))?;
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let req = v.get("requests")?;
    let total = req.get("total")?.as_u64()?;
    let f = |o: &serde_json::Value, k: &str| o.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0);
    let lat = v.get("latency").cloned().unwrap_or_default();
    let secs = f(&v, "duration");
    Some(LoadStats {
        requests: total,
        non_2xx: v.get("non2xx").and_then(|x| x.as_u64()).unwrap_or(0),
        errors: v.get("errors").and_then(|x| x.as_u64()).unwrap_or(0),
        timeouts: v.get("timeouts").and_then(|x| x.as_u64()).unwrap_or(0),
        bytes_received: v
            .get("throughput")
            .and_then(|t| t.get("total"))
            .and_then(|x| x.as_u64())
            .unwrap_or(0),
        elapsed_secs: secs,
        requests_per_sec: if secs > 0.0 {
            total as f64 / secs
        } else {
            f(req, "average")
        },
        latency: Latency {
            mean_ms: f(&lat, "average"),
            p50_ms: f(&lat, "p50"),
            p90_ms: f(&lat, "p90"),
            p99_ms: f(&lat, "p99"),
            p999_ms: f(&lat, "p99_9"),
            max_ms: f(&lat, "max"),
        },
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn autocannon_json() {
        let out = "Running 1s test\n{\"requests\":{\"total\":1200,\"average\":1200},\"latency\":{\"p50\":1,\"p99\":4,\"max\":9,\"average\":1.2},\"duration\":1.01,\"errors\":0,\"timeouts\":0,\"non2xx\":3}\n";
        let s = super::parse_autocannon(out).unwrap();
        assert_eq!(s.requests, 1200);
        assert_eq!(s.non_2xx, 3);
        assert_eq!(s.latency.p99_ms, 4.0);
        assert!(super::parse_autocannon("no json here").is_none());
    }
}
