//! What the user points leakhound at, and the host policy (loopback only unless told).

use crate::error::InspectorError;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// A Node process to capture from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A local process; its inspector is turned on with SIGUSR1 when it is off.
    Pid(u32),
    /// An inspector HTTP endpoint (`/json/list` is asked for the WebSocket URL).
    HostPort { host: String, port: u16 },
    /// A WebSocket debugger URL (`ws://127.0.0.1:9229/<uuid>`).
    WebSocket(String),
}

impl FromStr for Target {
    type Err = InspectorError;

    /// `"1234"` | `"127.0.0.1:9229"` | `"localhost:9229"` | `"[::1]:9229"` | `"ws://…"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let invalid = || InspectorError::InvalidTarget(s.to_string());
        if s.starts_with("ws://") || s.starts_with("wss://") {
            let (host, _port) = url_host_port(s).ok_or_else(invalid)?;
            if host.is_empty() {
                return Err(invalid());
            }
            return Ok(Target::WebSocket(s.to_string()));
        }
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let pid: u32 = s.parse().map_err(|_| invalid())?;
            if pid == 0 {
                return Err(invalid());
            }
            return Ok(Target::Pid(pid));
        }
        let (host, port) = split_host_port(s).ok_or_else(invalid)?;
        if host.is_empty() || host.contains('/') {
            return Err(invalid());
        }
        Ok(Target::HostPort {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pid(pid) => write!(f, "process {pid}"),
            Target::HostPort { host, port } => write!(f, "{}", join_host_port(host, *port)),
            Target::WebSocket(url) => write!(f, "{url}"),
        }
    }
}

/// `host:port`, `[v6]:port`.
fn split_host_port(s: &str) -> Option<(&str, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?.parse().ok()?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host, port.parse().ok()?))
}

/// `host:port` with brackets around IPv6 literals.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Host and port of a `ws://host:port/path` URL (port 80 when absent).
pub fn url_host_port(url: &str) -> Option<(String, u16)> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some((h, p)) = split_host_port(authority) {
        return Some((h.to_string(), p));
    }
    if authority.starts_with('[') {
        return Some((authority.trim_matches(['[', ']']).to_string(), 80));
    }
    Some((authority.to_string(), 80))
}

/// Which hosts leakhound may connect to. The inspector runs arbitrary code for whoever
/// reaches it, so only loopback is allowed unless the user names a host explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostPolicy {
    /// A non-loopback host the user allowed (`--host`).
    pub allowed_host: Option<String>,
}

impl HostPolicy {
    pub fn loopback_only() -> Self {
        HostPolicy { allowed_host: None }
    }

    pub fn allow(host: impl Into<String>) -> Self {
        HostPolicy {
            allowed_host: Some(host.into()),
        }
    }

    /// Ok for loopback addresses and `localhost`, or the explicitly allowed host.
    pub fn check(&self, host: &str) -> Result<(), InspectorError> {
        if is_loopback(host) {
            return Ok(());
        }
        let bare = host.trim_matches(['[', ']']);
        match &self.allowed_host {
            Some(allowed) if allowed.trim_matches(['[', ']']).eq_ignore_ascii_case(bare) => Ok(()),
            _ => Err(InspectorError::NotLoopback(bare.to_string())),
        }
    }
}

/// `127.0.0.0/8`, `::1`, `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_matches(['[', ']']);
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!("1234".parse::<Target>().unwrap(), Target::Pid(1234));
        assert_eq!(
            "127.0.0.1:9229".parse::<Target>().unwrap(),
            Target::HostPort {
                host: "127.0.0.1".into(),
                port: 9229
            }
        );
        assert_eq!(
            "[::1]:9300".parse::<Target>().unwrap(),
            Target::HostPort {
                host: "::1".into(),
                port: 9300
            }
        );
        assert_eq!(
            "ws://127.0.0.1:9229/abc".parse::<Target>().unwrap(),
            Target::WebSocket("ws://127.0.0.1:9229/abc".into())
        );
        for bad in [
            "",
            "0",
            "abc",
            "host:",
            "host:99999",
            "1:2:3",
            "ws://",
            "-5",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn url_parts() {
        assert_eq!(
            url_host_port("ws://127.0.0.1:9229/x-y"),
            Some(("127.0.0.1".into(), 9229))
        );
        assert_eq!(url_host_port("ws://[::1]:9/x"), Some(("::1".into(), 9)));
        assert_eq!(
            url_host_port("ws://example.com/x"),
            Some(("example.com".into(), 80))
        );
    }

    #[test]
    fn loopback_policy() {
        let p = HostPolicy::loopback_only();
        assert!(p.check("127.0.0.1").is_ok());
        assert!(p.check("127.1.2.3").is_ok());
        assert!(p.check("localhost").is_ok());
        assert!(p.check("::1").is_ok());
        assert!(p.check("[::1]").is_ok());
        assert!(matches!(
            p.check("10.0.0.5"),
            Err(InspectorError::NotLoopback(_))
        ));
        assert!(p.check("0.0.0.0").is_err());
        assert!(p.check("example.com").is_err());
        let p = HostPolicy::allow("10.0.0.5");
        assert!(p.check("10.0.0.5").is_ok());
        assert!(p.check("10.0.0.6").is_err());
    }
}
