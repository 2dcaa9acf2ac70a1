//! The metrics endpoint and the control API on one small hyper server.
//!
//! - `GET /metrics`: Prometheus text.
//! - `POST /control/snapshot?instance=i`: take a heap snapshot now; answers with its path.
//! - `POST /control/restart?instance=i`: graceful restart (rolling with instances).
//!
//! The control API needs `Authorization: Bearer <token>`; without a configured token it does
//! not exist (404). A wrong or missing token is 401.

use crate::state::Shared;
use crate::supervisor::InstanceCmd;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

pub struct Server {
    pub shared: Shared,
    pub token: Option<String>,
    pub instances: Vec<mpsc::Sender<InstanceCmd>>,
}

/// Binds `addr` and serves until the runtime ends. Returns the bound address.
pub async fn start(addr: SocketAddr, server: Server) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let server = Arc::new(server);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let server = server.clone();
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let svc = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(&server, req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    });
    Ok(local)
}

fn reply(status: StatusCode, ctype: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = ctype.parse() {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn json(status: StatusCode, v: serde_json::Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", v.to_string() + "\n")
}

/// Constant-time comparison (no early exit on the first differing byte).
fn token_matches(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, b) in expected.iter().enumerate() {
        diff |= (*b ^ given.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0
}

async fn handle(server: &Server, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    if path == "/metrics" {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "GET only\n".into(),
            );
        }
        let text = {
            let st = server.shared.lock().unwrap_or_else(|e| e.into_inner());
            crate::metrics::render(&st)
        };
        return reply(StatusCode::OK, crate::metrics::CONTENT_TYPE, text);
    }
    let Some(action) = path.strip_prefix("/control/") else {
        return reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into());
    };
    let Some(token) = &server.token else {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "the control API is disabled (no --control-token)\n".into(),
        );
    };
    let given = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !token_matches(given.as_bytes(), token.as_bytes()) {
        return json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "bad or missing bearer token"}),
        );
    }
    if req.method() != Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"error": "POST only"}),
        );
    }
    let instance = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("instance="))
        .unwrap_or("0");
    let Some(tx) = instance
        .parse::<usize>()
        .ok()
        .and_then(|i| server.instances.get(i))
    else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": format!("no instance '{instance}'")}),
        );
    };
    match action {
        "snapshot" => {
            let (rtx, rrx) = oneshot::channel();
            if tx
                .send(InstanceCmd::Snapshot {
                    reason: "requested".into(),
                    reply: Some(rtx),
                })
                .await
                .is_err()
            {
                return json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({"error": "instance stopped"}),
                );
            }
            match rrx.await {
                Ok(Ok(path)) => json(StatusCode::OK, serde_json::json!({"snapshot": path})),
                Ok(Err(e)) => json(StatusCode::CONFLICT, serde_json::json!({"error": e})),
                Err(_) => json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({"error": "instance stopped"}),
                ),
            }
        }
        "restart" => {
            if tx
                .send(InstanceCmd::Restart {
                    reason: "requested".into(),
                })
                .await
                .is_err()
            {
                return json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({"error": "instance stopped"}),
                );
            }
            json(
                StatusCode::ACCEPTED,
                serde_json::json!({"restart": "scheduled"}),
            )
        }
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": format!("unknown action '{action}'")}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_compare() {
        assert!(token_matches(b"secret", b"secret"));
        assert!(!token_matches(b"secreT", b"secret"));
        assert!(!token_matches(b"secretx", b"secret"));
        assert!(!token_matches(b"", b"secret"));
    }
}
