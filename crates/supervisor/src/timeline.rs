//! The JSON-lines timeline: one object per line, `{"ts": <unix seconds>, "type": "sample" |
//! "event", ...}`. Appended (a restart of leakhound adds a `start` event), flushed after
//! every batch so a crash loses at most the lines in flight.

use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

enum Msg {
    Line(String),
    Flush(tokio::sync::oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct Timeline {
    tx: mpsc::UnboundedSender<Msg>,
}

pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Timeline {
    /// Opens `path` for appending and starts the writer task; the task ends (and flushes)
    /// when every clone of the returned `Timeline` is dropped.
    pub fn open(path: &Path) -> std::io::Result<(Timeline, JoinHandle<()>)> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let shown = path.display().to_string();
        let task = tokio::task::spawn_blocking(move || {
            let mut w = std::io::BufWriter::new(file);
            let mut warned = false;
            while let Some(first) = rx.blocking_recv() {
                let mut ok = true;
                let mut acks = Vec::new();
                let mut next = Some(first);
                while let Some(msg) = next {
                    match msg {
                        Msg::Line(line) => ok &= writeln!(w, "{line}").is_ok(),
                        Msg::Flush(ack) => acks.push(ack),
                    }
                    next = rx.try_recv().ok();
                }
                ok &= w.flush().is_ok();
                if !ok && !warned {
                    warned = true;
                    tracing::warn!("{shown}: cannot write the timeline");
                }
                for ack in acks {
                    let _ = ack.send(());
                }
            }
            let _ = w.flush();
        });
        Ok((Timeline { tx }, task))
    }

    /// Writes `{"ts", "type": kind, ...fields}`.
    pub fn write(&self, kind: &str, fields: Value) {
        let mut m = Map::new();
        m.insert(
            "ts".into(),
            Value::from((now_secs() * 1000.0).round() / 1000.0),
        );
        m.insert("type".into(), Value::from(kind));
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        let _ = self.tx.send(Msg::Line(Value::Object(m).to_string()));
    }

    /// Waits until everything sent so far is written and flushed.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// An event line: `{"type":"event","event":name,...}`.
    pub fn event(&self, name: &str, fields: Value) {
        let mut m = Map::new();
        m.insert("event".into(), Value::from(name));
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        self.write("event", Value::Object(m));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/t.jsonl");
        let (t, task) = Timeline::open(&p).unwrap();
        t.event("start", serde_json::json!({"instances": 2}));
        t.write("sample", serde_json::json!({"rss": 5}));
        drop(t);
        task.await.unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "start");
        assert_eq!(lines[0]["instances"], 2);
        assert_eq!(lines[1]["type"], "sample");
        assert!(lines[1]["ts"].as_f64().unwrap() > 1e9);
    }
}
