//! From a [`Target`] to a WebSocket debugger URL: `/json/list`, and SIGUSR1 for a PID whose
//! inspector is off; and back again (closing an inspector leakhound opened).

use crate::error::InspectorError;
use crate::procfs;
use crate::session::Session;
use crate::target::{join_host_port, url_host_port, HostPolicy, Target};
use serde::Deserialize;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Node's default inspector port.
pub const DEFAULT_INSPECT_PORT: u16 = 9229;

/// How to reach a target.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// Port the process opens its inspector on after SIGUSR1 (`--inspect-port`; default 9229).
    pub inspect_port: u16,
    /// Which hosts may be contacted (loopback only by default).
    pub host_policy: HostPolicy,
    /// How long to wait for the inspector to open after SIGUSR1.
    pub open_timeout: Duration,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            inspect_port: DEFAULT_INSPECT_PORT,
            host_policy: HostPolicy::loopback_only(),
            open_timeout: Duration::from_secs(10),
        }
    }
}

/// A target with its WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resolved {
    pub ws_url: String,
    /// The process id, when known (always for PID targets; from `/json/list` otherwise).
    pub pid: Option<u32>,
    /// True when leakhound turned the inspector on (SIGUSR1) and must turn it off again.
    pub opened_by_us: bool,
    /// Inspector HTTP host and port (what `/json/list` answered on).
    pub host: String,
    pub port: u16,
}

/// One entry of `/json/list`.
#[derive(Debug, Clone, Deserialize)]
pub struct JsonTarget {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(rename = "webSocketDebuggerUrl", default)]
    pub ws_url: Option<String>,
}

impl JsonTarget {
    /// The pid Node puts in the title: `node[1234]`, `/usr/bin/node[1234]`.
    pub fn pid(&self) -> Option<u32> {
        let t = self.title.trim_end();
        let inner = t.strip_suffix(']')?;
        let start = inner.rfind('[')?;
        inner[start + 1..].parse().ok()
    }
}

/// `GET http://HOST:PORT/PATH` on a loopback-class endpoint; returns the body. One request,
/// `Connection: close`, bounded by `timeout`.
pub async fn http_get(
    host: &str,
    port: u16,
    path: &str,
    timeout: Duration,
) -> Result<String, InspectorError> {
    let addr = join_host_port(host, port);
    let err = |message: String| InspectorError::Http {
        addr: addr.clone(),
        message,
    };
    let work = async {
        let mut stream = TcpStream::connect(&addr)
            .await
            .map_err(|e| err(e.to_string()))?;
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| err(e.to_string()))?;
        // Node's inspector keeps the connection open despite `Connection: close`: read the
        // head, then Content-Length bytes (or to EOF without one).
        let mut buf = Vec::new();
        let mut tmp = [0u8; 8192];
        loop {
            let n = stream
                .read(&mut tmp)
                .await
                .map_err(|e| err(e.to_string()))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&tmp[..n]);
            if buf.len() > 16 << 20 {
                return Err(err("response too large".into()));
            }
            if let Some(end) = find_subslice(&buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length = head.lines().find_map(|l| {
                    l.strip_prefix("content-length:")
                        .and_then(|v| v.trim().parse::<usize>().ok())
                });
                if let Some(len) = length {
                    if buf.len() >= end + 4 + len {
                        buf.truncate(end + 4 + len);
                        break;
                    }
                }
            }
        }
        Ok::<_, InspectorError>(buf)
    };
    let buf = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| err(format!("no answer within {:.1}s", timeout.as_secs_f64())))??;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| err("not an HTTP response".into()))?;
    let status = head.lines().next().unwrap_or("");
    let code = status.split_whitespace().nth(1).unwrap_or("");
    if code != "200" {
        return Err(err(format!("answered {status:?}")));
    }
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        return Ok(dechunk(body));
    }
    Ok(body.to_string())
}

fn find_subslice(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// `/json/list` of an inspector endpoint.
pub async fn list_targets(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<JsonTarget>, InspectorError> {
    let body = http_get(host, port, "/json/list", timeout).await?;
    serde_json::from_str(&body).map_err(|_| InspectorError::NoTarget {
        addr: join_host_port(host, port),
        detail: Some("/json/list did not return a target list; not a Node inspector".into()),
    })
}

/// Finds the WebSocket URL of a target, turning a PID's inspector on when it is off.
pub async fn resolve(target: &Target, opts: &ResolveOptions) -> Result<Resolved, InspectorError> {
    match target {
        Target::Pid(pid) => resolve_pid(*pid, opts).await,
        Target::HostPort { host, port } => {
            opts.host_policy.check(host)?;
            let targets = list_targets(host, *port, Duration::from_secs(5)).await?;
            let addr = join_host_port(host, *port);
            let nodes: Vec<&JsonTarget> = targets
                .iter()
                .filter(|t| t.ws_url.is_some() && (t.kind == "node" || t.kind.is_empty()))
                .collect();
            let chosen = match nodes.as_slice() {
                [] => {
                    return Err(InspectorError::NoTarget {
                        addr,
                        detail: Some(
                            "/json/list is empty (is a debugger already attached?)".into(),
                        ),
                    })
                }
                [one] => *one,
                many => {
                    return Err(InspectorError::NoTarget {
                        addr,
                        detail: Some(format!(
                            "{} targets; pass one ws:// URL: {}",
                            many.len(),
                            many.iter()
                                .filter_map(|t| t.ws_url.as_deref())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    })
                }
            };
            let ws_url = rehost(chosen.ws_url.as_deref().unwrap_or_default(), host, *port);
            Ok(Resolved {
                ws_url,
                pid: chosen.pid().or_else(|| local_owner(host, *port)),
                opened_by_us: false,
                host: host.clone(),
                port: *port,
            })
        }
        Target::WebSocket(url) => {
            let (host, port) =
                url_host_port(url).ok_or_else(|| InspectorError::InvalidTarget(url.clone()))?;
            opts.host_policy.check(&host)?;
            // Best effort: learn the pid from /json/list for the file name and checks.
            let pid = match list_targets(&host, port, Duration::from_secs(2)).await {
                Ok(list) => list
                    .iter()
                    .find(|t| t.ws_url.as_deref().is_some_and(|u| same_path(u, url)))
                    .and_then(JsonTarget::pid)
                    .or_else(|| local_owner(&host, port)),
                Err(_) => None,
            };
            Ok(Resolved {
                ws_url: url.clone(),
                pid,
                opened_by_us: false,
                host,
                port,
            })
        }
    }
}

/// The local process behind a loopback inspector port (Node's title often lacks the pid).
fn local_owner(host: &str, port: u16) -> Option<u32> {
    if crate::target::is_loopback(host) {
        procfs::port_owner(port)
    } else {
        None
    }
}

fn same_path(a: &str, b: &str) -> bool {
    let path = |u: &str| {
        u.split_once("://")
            .and_then(|(_, r)| r.split_once('/'))
            .map(|(_, p)| p.to_string())
    };
    path(a).is_some() && path(a) == path(b)
}

/// Points a ws URL from `/json/list` at the host and port we asked (Node echoes our Host
/// header, but a proxy or a wildcard bind may not).
fn rehost(ws_url: &str, host: &str, port: u16) -> String {
    match ws_url
        .split_once("://")
        .and_then(|(_, r)| r.split_once('/'))
    {
        Some((_, path)) => format!("ws://{}/{path}", join_host_port(host, port)),
        None => ws_url.to_string(),
    }
}

/// Asks each listening port of `pid` (the inspect port first) for its `/json/list`: the
/// socket belongs to `pid`, so a Node target there is its inspector (Node's title is the
/// script path or `node[pid]`; a title naming another pid is rejected).
async fn find_open_inspector(
    pid: u32,
    listeners: &[procfs::Listener],
    prefer_port: u16,
) -> Option<Resolved> {
    let mut ordered: Vec<&procfs::Listener> = listeners.iter().collect();
    ordered.sort_by_key(|l| l.port != prefer_port);
    for l in ordered {
        let Ok(list) = list_targets(&l.connect_host, l.port, Duration::from_millis(1500)).await
        else {
            continue;
        };
        if let Some(t) = list.iter().find(|t| {
            t.ws_url.is_some()
                && (t.kind == "node" || t.kind.is_empty())
                && t.pid().is_none_or(|p| p == pid)
        }) {
            return Some(Resolved {
                ws_url: rehost(
                    t.ws_url.as_deref().unwrap_or_default(),
                    &l.connect_host,
                    l.port,
                ),
                pid: Some(pid),
                opened_by_us: false,
                host: l.connect_host.clone(),
                port: l.port,
            });
        }
    }
    None
}

async fn resolve_pid(pid: u32, opts: &ResolveOptions) -> Result<Resolved, InspectorError> {
    let id = procfs::identity(pid)?;
    if !id.looks_like_node() {
        return Err(InspectorError::NotNode {
            pid,
            exe: id.describe(),
        });
    }
    let before = procfs::listening_ports(pid)?;
    if let Some(found) = find_open_inspector(pid, &before, opts.inspect_port).await {
        tracing::info!(pid, port = found.port, "inspector already open");
        return Ok(found);
    }

    // The inspector is off. SIGUSR1 turns it on, if the process handles SIGUSR1 at all:
    // without a handler the default action kills it.
    let disabled_flag = id.has_flag("--disable-sigusr1")
        || procfs::node_options(pid).is_some_and(|o| o.contains("--disable-sigusr1"));
    if disabled_flag || procfs::catches_sigusr1(pid) == Some(false) {
        return Err(InspectorError::NoSigusr1Handler { pid });
    }
    if let Some(holder) = procfs::other_holder(pid, opts.inspect_port) {
        return Err(InspectorError::PortTaken {
            pid,
            port: opts.inspect_port,
            holder: describe_holder(&holder, opts.inspect_port).await,
        });
    }

    tracing::info!(pid, "sending SIGUSR1 to open the inspector");
    // SAFETY: kill(2) with a valid signal number has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGUSR1) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ESRCH) => InspectorError::NoSuchProcess(pid),
            Some(libc::EPERM) => InspectorError::PermissionDenied {
                pid,
                action: "send SIGUSR1 to".into(),
            },
            _ => InspectorError::Other(format!("kill -USR1 {pid}: {err}")),
        });
    }

    let start = Instant::now();
    let before_ports: std::collections::HashSet<u16> = before.iter().map(|l| l.port).collect();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if !procfs::is_alive(pid) {
            return Err(InspectorError::ProcessExited { pid });
        }
        let now = procfs::listening_ports(pid)?;
        let new: Vec<procfs::Listener> = now
            .into_iter()
            .filter(|l| !before_ports.contains(&l.port))
            .collect();
        if !new.is_empty() {
            if let Some(mut found) = find_open_inspector(pid, &new, opts.inspect_port).await {
                found.opened_by_us = true;
                tracing::info!(pid, port = found.port, "inspector opened by SIGUSR1");
                return Ok(found);
            }
        }
        if start.elapsed() >= opts.open_timeout {
            if let Some(holder) = procfs::other_holder(pid, opts.inspect_port) {
                return Err(InspectorError::PortTaken {
                    pid,
                    port: opts.inspect_port,
                    holder: describe_holder(&holder, opts.inspect_port).await,
                });
            }
            return Err(InspectorError::InspectorDidNotOpen {
                pid,
                port: opts.inspect_port,
                waited: start.elapsed(),
            });
        }
    }
}

/// Adds the inspector title (`node[4321]`) when the holder is a Node inspector.
async fn describe_holder(holder: &str, port: u16) -> String {
    match list_targets("127.0.0.1", port, Duration::from_millis(800)).await {
        Ok(list) if !list.is_empty() => {
            let titles: Vec<&str> = list.iter().map(|t| t.title.as_str()).collect();
            format!("{holder}, the inspector of {}", titles.join(", "))
        }
        _ => holder.to_string(),
    }
}

/// JavaScript that turns the inspector off once the current session has gone away:
/// `inspector.close()` waits for connected sessions, so it runs after a short delay.
const CLOSE_EXPRESSION: &str = r#"(() => {
  const load = typeof require === 'function' ? require
    : (process.getBuiltinModule ? process.getBuiltinModule : null);
  if (!load) return 'no-require';
  const inspector = load('inspector');
  setTimeout(() => { try { inspector.close(); } catch (e) {} }, 50).unref();
  return 'scheduled';
})()"#;

/// Turns off an inspector leakhound opened, through `session`, then closes the session
/// and waits (up to `timeout`) until `pid` no longer listens on the inspector port.
/// Returns whether the port is closed.
pub async fn close_inspector(
    session: &Session,
    resolved: &Resolved,
    timeout: Duration,
) -> Result<bool, InspectorError> {
    let scheduled = tokio::time::timeout(timeout, session.evaluate(CLOSE_EXPRESSION))
        .await
        .map_err(|_| InspectorError::Timeout {
            what: "the inspector to accept inspector.close()".into(),
            waited: timeout,
        })??;
    session.close().await;
    if scheduled.as_str() != Some("scheduled") {
        return Err(InspectorError::Other(format!(
            "cannot close the inspector of {}: no require() in its context",
            resolved
                .pid
                .map(|p| format!("process {p}"))
                .unwrap_or_else(|| resolved.ws_url.clone())
        )));
    }
    let start = Instant::now();
    loop {
        let open = match resolved.pid {
            Some(pid) if procfs::is_alive(pid) => procfs::listening_ports(pid)
                .map(|ls| ls.iter().any(|l| l.port == resolved.port))
                .unwrap_or(false),
            Some(_) => false,
            None => TcpStream::connect(join_host_port(&resolved.host, resolved.port))
                .await
                .is_ok(),
        };
        if !open {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_from_title() {
        let t = |title: &str| JsonTarget {
            id: String::new(),
            title: title.into(),
            kind: "node".into(),
            ws_url: None,
        };
        assert_eq!(t("node[1234]").pid(), Some(1234));
        assert_eq!(t("/usr/bin/node[77]").pid(), Some(77));
        assert_eq!(t("my app").pid(), None);
        assert_eq!(t("x[abc]").pid(), None);
    }

    #[test]
    fn rehosting() {
        assert_eq!(
            rehost("ws://0.0.0.0:9229/abc-def", "127.0.0.1", 9229),
            "ws://127.0.0.1:9229/abc-def"
        );
        assert!(same_path("ws://a:1/x", "ws://b:2/x"));
        assert!(!same_path("ws://a:1/x", "ws://a:1/y"));
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
    }
}
