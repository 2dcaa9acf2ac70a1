//! One CDP WebSocket connection, shared by any number of tasks.
//!
//! An actor task owns the socket. Callers send it requests; it numbers them, writes them,
//! and hands each response back through a oneshot channel matched by id. Events go to
//! every subscriber whose method prefix matches, in the order the socket delivered them,
//! and always before the response of a command sent after them (CDP sends a snapshot's
//! chunks before the `takeHeapSnapshot` response, so draining the subscription after the
//! response sees every chunk).

use crate::error::InspectorError;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// How many undelivered events a subscriber may have before the socket reader waits for it.
/// A subscriber must keep draining its receiver; this bound is what keeps a capture's memory
/// flat when the disk is slower than the socket.
const SUBSCRIBER_CAPACITY: usize = 256;

/// Connection timeout for the WebSocket handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A CDP event: method and raw params (decode with [`Event::params`]).
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Arc<RawValue>,
}

impl Event {
    /// Decodes the params into `T`.
    pub fn params<'a, T: Deserialize<'a>>(&'a self) -> Result<T, InspectorError> {
        serde_json::from_str(self.params.get()).map_err(|e| InspectorError::BadReply {
            method: self.method.clone(),
            message: e.to_string(),
        })
    }

    pub fn params_value(&self) -> Value {
        serde_json::from_str(self.params.get()).unwrap_or(Value::Null)
    }
}

/// `Runtime.getHeapUsage`: bytes used by JS objects and the heap's committed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HeapUsage {
    pub used: u64,
    pub total: u64,
}

/// What [`Session::take_heap_snapshot_with`] reports while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotProgress {
    /// V8 is walking the heap (`reportHeapSnapshotProgress`): objects done of total.
    Traversal { done: u64, total: u64 },
    /// Bytes of the snapshot written to the sink so far.
    Bytes(u64),
}

/// Options of `HeapProfiler.takeHeapSnapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Record numeric values of Smis and heap numbers (many more nodes; DevTools' option).
    pub capture_numeric_value: bool,
    /// Expose V8 internals (experimental; roughly doubles the node count).
    pub expose_internals: bool,
    /// Ask V8 for traversal progress events. V8 then counts the heap's objects in an extra
    /// pass first, so leave it off when nobody watches the progress.
    pub report_progress: bool,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            capture_numeric_value: false,
            expose_internals: false,
            report_progress: true,
        }
    }
}

type Reply = oneshot::Sender<Result<Value, InspectorError>>;
type Pending = HashMap<u64, (String, Reply)>;

enum Request {
    Call {
        id: u64,
        method: String,
        text: String,
        reply: Reply,
    },
    Subscribe {
        prefix: String,
        tx: mpsc::Sender<Event>,
    },
    Close,
}

/// One connection to a Node inspector (`ws://127.0.0.1:9229/<uuid>`). Clone-free sharing:
/// put it in an `Arc`, every method takes `&self`.
pub struct Session {
    url: String,
    next_id: AtomicU64,
    tx: mpsc::UnboundedSender<Request>,
    actor: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    id: Option<u64>,
    #[serde(borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    error: Option<CdpError>,
}

#[derive(Deserialize)]
struct CdpError {
    code: i64,
    message: String,
    #[serde(default)]
    data: Option<String>,
}

impl Session {
    /// Opens the WebSocket and starts the actor task. Needs a tokio runtime.
    pub async fn connect(ws_url: &str) -> Result<Session, InspectorError> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(1 << 30))
            .max_frame_size(Some(1 << 30));
        let connect = tokio_tungstenite::connect_async_with_config(ws_url, Some(config), true);
        let (ws, _response) = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                return Err(InspectorError::Connect {
                    url: ws_url.to_string(),
                    message: e.to_string(),
                })
            }
            Err(_) => {
                return Err(InspectorError::Connect {
                    url: ws_url.to_string(),
                    message: format!("no handshake within {}s", CONNECT_TIMEOUT.as_secs()),
                })
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let actor = tokio::spawn(run_actor(ws, rx));
        Ok(Session {
            url: ws_url.to_string(),
            next_id: AtomicU64::new(1),
            tx,
            actor: std::sync::Mutex::new(Some(actor)),
        })
    }

    /// The WebSocket URL this session is connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one command and waits for its result (the `result` object of the response).
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, InspectorError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::Call {
                id,
                method: method.to_string(),
                text,
                reply,
            })
            .map_err(|_| InspectorError::Disconnected(String::new()))?;
        match rx.await {
            Ok(result) => result,
            Err(_) => Err(InspectorError::Disconnected(String::new())),
        }
    }

    /// Events whose method starts with `prefix` (`"HeapProfiler."`, or a full method name),
    /// from now on. Keep draining the receiver: a full one stalls the connection.
    pub fn subscribe(&self, prefix: &str) -> Result<mpsc::Receiver<Event>, InspectorError> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_CAPACITY);
        self.tx
            .send(Request::Subscribe {
                prefix: prefix.to_string(),
                tx,
            })
            .map_err(|_| InspectorError::Disconnected(String::new()))?;
        Ok(rx)
    }

    /// `HeapProfiler.collectGarbage` (a full GC).
    pub async fn collect_garbage(&self) -> Result<(), InspectorError> {
        self.call("HeapProfiler.collectGarbage", json!({})).await?;
        Ok(())
    }

    /// `Runtime.getHeapUsage`.
    pub async fn heap_usage(&self) -> Result<HeapUsage, InspectorError> {
        let v = self.call("Runtime.getHeapUsage", json!({})).await?;
        let field = |name: &str| {
            v.get(name)
                .and_then(Value::as_f64)
                .map(|f| f as u64)
                .ok_or_else(|| InspectorError::BadReply {
                    method: "Runtime.getHeapUsage".into(),
                    message: format!("no {name} in {v}"),
                })
        };
        Ok(HeapUsage {
            used: field("usedSize")?,
            total: field("totalSize")?,
        })
    }

    /// `Runtime.evaluate` with `returnByValue` and the command-line API (so `require` works).
    /// A thrown exception becomes an error carrying its description.
    pub async fn evaluate(&self, expression: &str) -> Result<Value, InspectorError> {
        let v = self
            .call(
                "Runtime.evaluate",
                json!({
                    "expression": expression,
                    "returnByValue": true,
                    "includeCommandLineAPI": true,
                    "awaitPromise": true,
                }),
            )
            .await?;
        if let Some(details) = v.get("exceptionDetails") {
            let text = details
                .pointer("/exception/description")
                .and_then(Value::as_str)
                .or_else(|| details.get("text").and_then(Value::as_str))
                .unwrap_or("exception");
            return Err(InspectorError::Protocol {
                method: "Runtime.evaluate".into(),
                code: 0,
                message: text.lines().next().unwrap_or(text).to_string(),
            });
        }
        Ok(v.pointer("/result/value").cloned().unwrap_or(Value::Null))
    }

    /// Streams `HeapProfiler.takeHeapSnapshot` to `sink` chunk by chunk as the chunks arrive
    /// and calls `progress(done, total)` for V8's traversal progress. Returns the bytes written.
    pub async fn take_heap_snapshot(
        &self,
        sink: &mut (dyn Write + Send),
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<u64, InspectorError> {
        self.take_heap_snapshot_with(SnapshotOptions::default(), sink, &mut |p| {
            if let SnapshotProgress::Traversal { done, total } = p {
                progress(done, total)
            }
        })
        .await
    }

    /// [`Session::take_heap_snapshot`] with options and byte progress as well.
    pub async fn take_heap_snapshot_with(
        &self,
        options: SnapshotOptions,
        sink: &mut (dyn Write + Send),
        progress: &mut (dyn FnMut(SnapshotProgress) + Send),
    ) -> Result<u64, InspectorError> {
        self.call("HeapProfiler.enable", json!({})).await?;
        let mut events = self.subscribe("HeapProfiler.")?;
        let mut params = json!({"reportProgress": options.report_progress});
        if options.capture_numeric_value {
            params["captureNumericValue"] = json!(true);
        }
        if options.expose_internals {
            params["exposeInternals"] = json!(true);
        }
        let call = self.call("HeapProfiler.takeHeapSnapshot", params);
        tokio::pin!(call);
        let mut written: u64 = 0;
        let mut done = false;
        let mut call_result = None;
        while !done {
            tokio::select! {
                biased;
                ev = events.recv() => match ev {
                    Some(ev) => handle_snapshot_event(&ev, sink, &mut written, progress)?,
                    None => {
                        // The actor ended: wait for the call's (error) result.
                        call_result = Some((&mut call).await);
                        done = true;
                    }
                },
                r = &mut call, if call_result.is_none() => {
                    call_result = Some(r);
                    done = true;
                }
            }
        }
        // Every chunk precedes the response; take what is still queued.
        while let Ok(ev) = events.try_recv() {
            handle_snapshot_event(&ev, sink, &mut written, progress)?;
        }
        drop(events);
        match call_result {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e),
            None => return Err(InspectorError::Disconnected(String::new())),
        }
        sink.flush().map_err(InspectorError::Sink)?;
        if written == 0 {
            return Err(InspectorError::BadReply {
                method: "HeapProfiler.takeHeapSnapshot".into(),
                message: "the snapshot was empty".into(),
            });
        }
        Ok(written)
    }

    /// `HeapProfiler.startSampling` with a mean sampling interval in bytes (V8's default is 32768).
    pub async fn start_sampling(&self, interval_bytes: u64) -> Result<(), InspectorError> {
        self.call("HeapProfiler.enable", json!({})).await?;
        self.call(
            "HeapProfiler.startSampling",
            json!({"samplingInterval": interval_bytes}),
        )
        .await?;
        Ok(())
    }

    /// `HeapProfiler.stopSampling`; returns the final profile (`{head, samples}`).
    pub async fn stop_sampling(&self) -> Result<Value, InspectorError> {
        let v = self.call("HeapProfiler.stopSampling", json!({})).await?;
        take_profile(v, "HeapProfiler.stopSampling")
    }

    /// `HeapProfiler.getSamplingProfile`: the profile so far (`{head, samples}`), the same
    /// JSON `node --heap-prof` writes and DevTools loads.
    pub async fn get_sampling_profile(&self) -> Result<Value, InspectorError> {
        let v = self
            .call("HeapProfiler.getSamplingProfile", json!({}))
            .await?;
        take_profile(v, "HeapProfiler.getSamplingProfile")
    }

    /// Closes the WebSocket (a close frame, then the TCP connection) and waits for the actor.
    pub async fn close(&self) {
        let _ = self.tx.send(Request::Close);
        let handle = self.actor.lock().ok().and_then(|mut g| g.take());
        if let Some(handle) = handle {
            let _ = tokio::time::timeout(Duration::from_secs(2), handle).await;
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.tx.send(Request::Close);
    }
}

fn take_profile(mut v: Value, method: &str) -> Result<Value, InspectorError> {
    match v.get_mut("profile") {
        Some(p) if p.get("head").is_some() => Ok(p.take()),
        _ => Err(InspectorError::BadReply {
            method: method.into(),
            message: "no profile in the reply".into(),
        }),
    }
}

#[derive(Deserialize)]
struct ChunkParams<'a> {
    #[serde(borrow)]
    chunk: std::borrow::Cow<'a, str>,
}

#[derive(Deserialize)]
struct ProgressParams {
    done: u64,
    total: u64,
}

fn handle_snapshot_event(
    ev: &Event,
    sink: &mut (dyn Write + Send),
    written: &mut u64,
    progress: &mut (dyn FnMut(SnapshotProgress) + Send),
) -> Result<(), InspectorError> {
    match ev.method.as_str() {
        "HeapProfiler.addHeapSnapshotChunk" => {
            let p: ChunkParams = ev.params()?;
            sink.write_all(p.chunk.as_bytes())
                .map_err(InspectorError::Sink)?;
            *written += p.chunk.len() as u64;
            progress(SnapshotProgress::Bytes(*written));
        }
        "HeapProfiler.reportHeapSnapshotProgress" => {
            if let Ok(p) = ev.params::<ProgressParams>() {
                progress(SnapshotProgress::Traversal {
                    done: p.done,
                    total: p.total,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn run_actor(ws: Ws, mut rx: mpsc::UnboundedReceiver<Request>) {
    let (mut write, mut read) = ws.split();
    let mut pending: Pending = HashMap::new();
    let mut subscribers: Vec<(String, mpsc::Sender<Event>)> = Vec::new();
    let reason: String = loop {
        tokio::select! {
            req = rx.recv() => match req {
                Some(Request::Call { id, method, text, reply }) => {
                    tracing::trace!(id, %method, "cdp call");
                    if let Err(e) = write.send(Message::text(text)).await {
                        let _ = reply.send(Err(InspectorError::Disconnected(e.to_string())));
                        break e.to_string();
                    }
                    pending.insert(id, (method, reply));
                }
                Some(Request::Subscribe { prefix, tx }) => subscribers.push((prefix, tx)),
                Some(Request::Close) | None => {
                    let _ = write.send(Message::Close(None)).await;
                    let _ = write.close().await;
                    break "closed by leakhound".to_string();
                }
            },
            msg = read.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    dispatch(text.as_str(), &mut pending, &mut subscribers).await;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if let Ok(text) = std::str::from_utf8(&bytes) {
                        dispatch(text, &mut pending, &mut subscribers).await;
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    break frame.map(|f| f.reason.to_string()).unwrap_or_default();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.to_string(),
                None => break String::new(),
            }
        }
    };
    tracing::debug!(%reason, "cdp connection ended");
    for (_, (_, reply)) in pending.drain() {
        let _ = reply.send(Err(InspectorError::Disconnected(reason.clone())));
    }
    // Dropping the senders ends every subscription.
    drop(subscribers);
    // Fail whatever is still queued.
    rx.close();
    while let Ok(req) = rx.try_recv() {
        if let Request::Call { reply, .. } = req {
            let _ = reply.send(Err(InspectorError::Disconnected(reason.clone())));
        }
    }
}

async fn dispatch(
    text: &str,
    pending: &mut Pending,
    subscribers: &mut Vec<(String, mpsc::Sender<Event>)>,
) {
    let msg: Incoming = match serde_json::from_str(text) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("ignoring an unreadable inspector message: {e}");
            return;
        }
    };
    if let Some(id) = msg.id {
        let Some((method, reply)) = pending.remove(&id) else {
            return;
        };
        let result = if let Some(err) = msg.error {
            let mut message = err.message;
            if let Some(data) = err.data {
                message = format!("{message}: {data}");
            }
            Err(InspectorError::Protocol {
                method,
                code: err.code,
                message,
            })
        } else {
            Ok(msg
                .result
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or(Value::Null))
        };
        let _ = reply.send(result);
        return;
    }
    let Some(method) = msg.method else { return };
    let targets: Vec<usize> = subscribers
        .iter()
        .enumerate()
        .filter(|(_, (prefix, _))| method.starts_with(prefix.as_str()))
        .map(|(i, _)| i)
        .collect();
    if targets.is_empty() {
        return;
    }
    let params: Arc<RawValue> = match msg.params {
        Some(p) => Arc::from(p.to_owned()),
        None => Arc::from(RawValue::from_string("{}".into()).expect("valid JSON")),
    };
    let event = Event {
        method: method.into_owned(),
        params,
    };
    let mut gone = Vec::new();
    for i in targets {
        if subscribers[i].1.send(event.clone()).await.is_err() {
            gone.push(i);
        }
    }
    for i in gone.into_iter().rev() {
        subscribers.swap_remove(i);
    }
}
