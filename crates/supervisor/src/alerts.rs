//! Alert delivery: a log line (always), the timeline, a hook command (`--on-alert`) and a
//! webhook POST (`--webhook`).

use crate::child::{describe, Reaper};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

#[derive(Clone)]
pub struct Alerter {
    pub hook: Option<String>,
    pub webhook: Option<String>,
    pub reaper: Reaper,
    client: reqwest::Client,
}

impl Alerter {
    pub fn new(hook: Option<String>, webhook: Option<String>, reaper: Reaper) -> Alerter {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Alerter {
            hook,
            webhook,
            reaper,
            client,
        }
    }

    /// Delivers `event` (an object with at least `event` and `instance`) to the hook and the
    /// webhook, in the background.
    pub fn deliver(&self, event: &Value) {
        if let Some(cmd) = &self.hook {
            let mut c = Command::new("sh");
            c.arg("-c").arg(cmd);
            let get = |k: &str| match event.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            };
            c.env("LEAKHOUND_EVENT", get("event"))
                .env("LEAKHOUND_EVENT_JSON", event.to_string())
                .env("LEAKHOUND_INSTANCE", get("instance"))
                .env("LEAKHOUND_PID", get("pid"))
                .env("LEAKHOUND_HEAP_USED", get("heap_used"))
                .env("LEAKHOUND_GROWTH_MB_PER_HOUR", get("growth_mb_per_hour"))
                .env("LEAKHOUND_SECONDS_TO_LIMIT", get("seconds_to_limit"));
            c.stdin(std::process::Stdio::null());
            match self.reaper.spawn(&mut c) {
                Ok((_pid, rx)) => {
                    let cmd = cmd.clone();
                    tokio::spawn(async move {
                        if let Ok(st) = rx.await {
                            if !st.success() {
                                tracing::warn!("--on-alert `{cmd}` ended with {}", describe(st));
                            }
                        }
                    });
                }
                Err(e) => tracing::warn!("--on-alert `{cmd}`: cannot start sh: {e}"),
            }
        }
        if let Some(url) = &self.webhook {
            let req = self.client.post(url).json(event);
            let url = url.clone();
            tokio::spawn(async move {
                match req.send().await {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => tracing::warn!("--webhook {url}: HTTP {}", r.status()),
                    Err(e) => tracing::warn!("--webhook {url}: {e}"),
                }
            });
        }
    }
}
