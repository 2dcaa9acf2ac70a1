//! The built-in HTTP/1.1 load generator: N keep-alive connections, each its own task, sending
//! weighted requests back to back (closed loop, like autocannon without pipelining) for a
//! duration or a request count. Latency goes into per-connection HDR histograms (µs) merged
//! at the end; transport errors, timeouts and non-2xx answers are counted separately.

use crate::scenario::TargetSpec;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// One request shape, ready to send.
#[derive(Debug, Clone)]
pub struct Target {
    pub method: Method,
    /// `host:port` to connect to.
    pub addr: String,
    host_header: HeaderValue,
    /// Origin-form request target (`/path?query`).
    pub path: Uri,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub weight: u32,
    port: u16,
    host: String,
}

impl Target {
    /// Validates a target from the scenario; the error is one line naming the URL.
    pub fn from_spec(spec: &TargetSpec) -> Result<Target, String> {
        let uri: Uri = spec
            .url
            .parse()
            .map_err(|e| format!("target `{}` is not a URL: {e}", spec.url))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "target `{}`: https is not supported by the built-in load generator; \
                     use load_cmd with autocannon or oha",
                    spec.url
                ))
            }
            _ => return Err(format!("target `{}` must start with http://", spec.url)),
        }
        let host = uri
            .host()
            .ok_or_else(|| format!("target `{}` has no host", spec.url))?
            .to_string();
        let port = uri.port_u16().unwrap_or(80);
        let method = Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("target `{}`: bad method `{}`", spec.url, spec.method))?;
        let path: Uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .map_err(|e| format!("target `{}`: {e}", spec.url))?;
        let mut headers = Vec::new();
        for (k, v) in &spec.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("target `{}`: bad header name `{k}`", spec.url))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| format!("target `{}`: bad value for header `{k}`", spec.url))?;
            headers.push((name, value));
        }
        if spec.weight == 0 {
            return Err(format!("target `{}`: weight must be at least 1", spec.url));
        }
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(&host);
        let host_header = HeaderValue::from_str(authority)
            .map_err(|_| format!("target `{}`: bad host", spec.url))?;
        let connect_host = if host == "localhost" {
            "127.0.0.1".to_string()
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        };
        let addr = if connect_host.contains(':') {
            format!("[{connect_host}]:{port}")
        } else {
            format!("{connect_host}:{port}")
        };
        Ok(Target {
            method,
            addr,
            host_header,
            path,
            headers,
            body: Bytes::from(spec.body.clone().unwrap_or_default()),
            weight: spec.weight,
            port,
            host,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the target is on this machine (for the port-in-use check).
    pub fn is_local(&self) -> bool {
        matches!(
            self.host.as_str(),
            "127.0.0.1" | "localhost" | "[::1]" | "::1" | "0.0.0.0"
        )
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.path.clone();
        let h = req.headers_mut();
        h.insert(HOST, self.host_header.clone());
        for (k, v) in &self.headers {
            h.append(k.clone(), v.clone());
        }
        req
    }
}

/// When a run stops.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    Duration(Duration),
    Requests(u64),
}

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub targets: Vec<Target>,
    pub connections: usize,
    pub stop: Stop,
    pub timeout: Duration,
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Latency {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// The outcome of one load run.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct LoadStats {
    /// Completed requests (any status).
    pub requests: u64,
    pub non_2xx: u64,
    /// Connection failures, resets and malformed answers.
    pub errors: u64,
    pub timeouts: u64,
    pub status_codes: BTreeMap<u16, u64>,
    pub bytes_received: u64,
    pub elapsed_secs: f64,
    pub requests_per_sec: f64,
    pub latency: Latency,
    /// The first transport error seen, for messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

impl LoadStats {
    /// Fraction of attempts that failed (errors, timeouts, non-2xx).
    pub fn error_rate(&self) -> f64 {
        let bad = self.errors + self.timeouts + self.non_2xx;
        let total = self.requests + self.errors + self.timeouts;
        if total == 0 {
            0.0
        } else {
            bad as f64 / total as f64
        }
    }

    /// Adds another run's counters (latency percentiles are taken from `hist` by the caller).
    pub fn add_counts(&mut self, o: &LoadStats) {
        self.requests += o.requests;
        self.non_2xx += o.non_2xx;
        self.errors += o.errors;
        self.timeouts += o.timeouts;
        self.bytes_received += o.bytes_received;
        self.elapsed_secs += o.elapsed_secs;
        for (k, v) in &o.status_codes {
            *self.status_codes.entry(*k).or_default() += v;
        }
        if self.first_error.is_none() {
            self.first_error = o.first_error.clone();
        }
        self.requests_per_sec = if self.elapsed_secs > 0.0 {
            self.requests as f64 / self.elapsed_secs
        } else {
            0.0
        };
    }
}

/// A finished run: the figures plus the raw histogram (to merge rounds).
pub struct LoadRun {
    pub stats: LoadStats,
    pub histogram: Histogram<u64>,
}

fn new_hist() -> Histogram<u64> {
    // 1 µs .. 10 min at 3 significant digits; cannot fail for these bounds.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Latency figures from a µs histogram.
pub fn latency_of(h: &Histogram<u64>) -> Latency {
    if h.is_empty() {
        return Latency::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Latency {
        mean_ms: h.mean() / 1000.0,
        p50_ms: ms(h.value_at_quantile(0.50)),
        p90_ms: ms(h.value_at_quantile(0.90)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        p999_ms: ms(h.value_at_quantile(0.999)),
        max_ms: ms(h.max()),
    }
}

/// A merged histogram of several runs.
pub fn merge_histograms<'a>(hs: impl IntoIterator<Item = &'a Histogram<u64>>) -> Histogram<u64> {
    let mut out = new_hist();
    for h in hs {
        // Same bounds everywhere, so `add` cannot fail; ignore to stay panic-free.
        let _ = out.add(h);
    }
    out
}

struct Shared {
    stop: Stop,
    deadline: Instant,
    issued: AtomicU64,
    cancelled: AtomicBool,
}

impl Shared {
    /// Claims the right to send one more request.
    fn next(&self) -> bool {
        if self.cancelled.load(Ordering::Relaxed) {
            return false;
        }
        match self.stop {
            Stop::Duration(_) => Instant::now() < self.deadline,
            Stop::Requests(n) => self.issued.fetch_add(1, Ordering::Relaxed) < n,
        }
    }
}

#[derive(Default)]
struct ConnStats {
    requests: u64,
    non_2xx: u64,
    errors: u64,
    timeouts: u64,
    bytes: u64,
    status: BTreeMap<u16, u64>,
    first_error: Option<String>,
}

/// Deterministic weighted order: target indices repeated by weight (weights reduced by gcd).
fn schedule(targets: &[Target]) -> Vec<usize> {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = targets.iter().fold(0, |g, t| gcd(g, t.weight)).max(1);
    let mut order = Vec::new();
    let mut left: Vec<u32> = targets.iter().map(|t| (t.weight / g).min(1000)).collect();
    // Interleave rather than block, so a short run still sees every target.
    while left.iter().any(|l| *l > 0) {
        for (i, l) in left.iter_mut().enumerate() {
            if *l > 0 {
                order.push(i);
                *l -= 1;
            }
        }
    }
    order
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> Result<Sender, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake {addr}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn connection(
    targets: Arc<Vec<Target>>,
    order: Arc<Vec<usize>>,
    start: usize,
    shared: Arc<Shared>,
    timeout: Duration,
) -> (ConnStats, Histogram<u64>) {
    let mut st = ConnStats::default();
    let mut hist = new_hist();
    // One connection per distinct address, opened lazily and reopened after errors.
    let mut senders: Vec<(String, Option<Sender>)> = Vec::new();
    let mut i = start;
    let note = |st: &mut ConnStats, e: String| {
        if st.first_error.is_none() {
            st.first_error = Some(e);
        }
    };
    while shared.next() {
        let target = &targets[order[i % order.len()]];
        i += 1;
        let slot = match senders.iter().position(|(a, _)| *a == target.addr) {
            Some(p) => p,
            None => {
                senders.push((target.addr.clone(), None));
                senders.len() - 1
            }
        };
        let began = Instant::now();
        if senders[slot].1.as_ref().is_none_or(|s| s.is_closed()) {
            match tokio::time::timeout(timeout, connect(&target.addr)).await {
                Ok(Ok(s)) => senders[slot].1 = Some(s),
                Ok(Err(e)) => {
                    st.errors += 1;
                    note(&mut st, e);
                    // Do not spin on a dead server.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                Err(_) => {
                    st.timeouts += 1;
                    note(&mut st, format!("connect {}: timed out", target.addr));
                    continue;
                }
            }
        }
        let Some(sender) = senders[slot].1.as_mut() else {
            continue;
        };
        let exchange = async {
            sender.ready().await?;
            let resp = sender.send_request(target.request()).await?;
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await?;
            Ok::<_, hyper::Error>((status, body.to_bytes().len()))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok((status, len))) => {
                let us = began.elapsed().as_micros().max(1) as u64;
                let _ = hist.record(us.min(600_000_000));
                st.requests += 1;
                st.bytes += len as u64;
                if !(200..300).contains(&status) {
                    st.non_2xx += 1;
                }
                *st.status.entry(status).or_default() += 1;
            }
            Ok(Err(e)) => {
                st.errors += 1;
                note(&mut st, format!("{} {}: {e}", target.method, target.path));
                senders[slot].1 = None;
            }
            Err(_) => {
                st.timeouts += 1;
                note(
                    &mut st,
                    format!(
                        "{} {}: no answer within {timeout:?}",
                        target.method, target.path
                    ),
                );
                senders[slot].1 = None;
            }
        }
    }
    (st, hist)
}

/// Runs the load to completion. Needs a tokio runtime.
pub async fn run(spec: &LoadSpec) -> LoadRun {
    run_cancellable(spec, None).await
}

/// Like [`run`], stopping early when `cancel` fires.
pub async fn run_cancellable(
    spec: &LoadSpec,
    cancel: Option<&tokio::sync::watch::Receiver<bool>>,
) -> LoadRun {
    let started = Instant::now();
    let deadline = match spec.stop {
        Stop::Duration(d) => started + d,
        Stop::Requests(_) => started + Duration::from_secs(86_400 * 365),
    };
    let shared = Arc::new(Shared {
        stop: spec.stop,
        deadline,
        issued: AtomicU64::new(0),
        cancelled: AtomicBool::new(false),
    });
    let order = Arc::new(schedule(&spec.targets));
    let targets = Arc::new(spec.targets.clone());
    let mut tasks = Vec::with_capacity(spec.connections);
    for c in 0..spec.connections.max(1) {
        tasks.push(tokio::spawn(connection(
            targets.clone(),
            order.clone(),
            c,
            shared.clone(),
            spec.timeout,
        )));
    }
    if let Some(rx) = cancel {
        let mut rx = rx.clone();
        let sh = shared.clone();
        tokio::spawn(async move {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    return;
                }
            }
            sh.cancelled.store(true, Ordering::Relaxed);
        });
    }
    let mut stats = LoadStats::default();
    let mut hist = new_hist();
    for t in tasks {
        if let Ok((st, h)) = t.await {
            stats.requests += st.requests;
            stats.non_2xx += st.non_2xx;
            stats.errors += st.errors;
            stats.timeouts += st.timeouts;
            stats.bytes_received += st.bytes;
            for (k, v) in st.status {
                *stats.status_codes.entry(k).or_default() += v;
            }
            if stats.first_error.is_none() {
                stats.first_error = st.first_error;
            }
            let _ = hist.add(&h);
        }
    }
    stats.elapsed_secs = started.elapsed().as_secs_f64();
    stats.requests_per_sec = if stats.elapsed_secs > 0.0 {
        stats.requests as f64 / stats.elapsed_secs
    } else {
        0.0
    };
    stats.latency = latency_of(&hist);
    LoadRun {
        stats,
        histogram: hist,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(url: &str, weight: u32) -> TargetSpec {
        TargetSpec {
            url: url.into(),
            method: "GET".into(),
            headers: BTreeMap::new(),
            body: None,
            weight,
        }
    }

    #[test]
    fn targets_parse() {
        let t = Target::from_spec(&spec("http://localhost:8080/a?b=1", 1)).unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080");
        assert_eq!(t.path, "/a?b=1");
        assert!(t.is_local());
        assert!(Target::from_spec(&spec("https://x/", 1))
            .unwrap_err()
            .contains("https"));
        assert!(Target::from_spec(&spec("nope", 1)).is_err());
        assert!(Target::from_spec(&spec("http://x/", 0))
            .unwrap_err()
            .contains("weight"));
    }

    #[test]
    fn weights_interleave() {
        let ts = vec![
            Target::from_spec(&spec("http://a/", 4)).unwrap(),
            Target::from_spec(&spec("http://a/b", 2)).unwrap(),
        ];
        assert_eq!(schedule(&ts), vec![0, 1, 0]);
    }

    /// A real exchange against a tiny tokio HTTP server (no mock of the client).
    #[tokio::test]
    async fn counts_requests_and_statuses() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut pending = Vec::new();
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&pending[..end]).to_string();
                            pending.drain(..end + 4);
                            let resp = if head.starts_with("GET /missing") {
                                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
                            } else {
                                "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                            };
                            if s.write_all(resp.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        let targets = vec![
            Target::from_spec(&spec(&format!("http://127.0.0.1:{port}/"), 3)).unwrap(),
            Target::from_spec(&spec(&format!("http://127.0.0.1:{port}/missing"), 1)).unwrap(),
        ];
        let run = run(&LoadSpec {
            targets,
            connections: 4,
            stop: Stop::Requests(400),
            timeout: Duration::from_secs(5),
        })
        .await;
        let s = run.stats;
        assert_eq!(s.requests, 400, "{s:?}");
        assert_eq!(s.errors, 0);
        assert_eq!(s.status_codes.get(&404).copied(), Some(100));
        assert_eq!(s.non_2xx, 100);
        assert_eq!(s.bytes_received, 300 * 2);
        assert!(s.latency.p99_ms > 0.0);
    }

    #[tokio::test]
    async fn dead_server_counts_errors() {
        // Bind then drop to get a port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let run = run(&LoadSpec {
            targets: vec![
                Target::from_spec(&spec(&format!("http://127.0.0.1:{port}/"), 1)).unwrap(),
            ],
            connections: 2,
            stop: Stop::Requests(10),
            timeout: Duration::from_secs(2),
        })
        .await;
        assert_eq!(run.stats.requests, 0);
        assert_eq!(run.stats.errors, 10);
        assert!(run
            .stats
            .first_error
            .as_deref()
            .unwrap()
            .contains("connect"));
        assert_eq!(run.stats.error_rate(), 1.0);
    }
}
