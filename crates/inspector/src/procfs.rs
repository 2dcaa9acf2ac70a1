//! What /proc says about a local process: does it exist, is it Node, does it catch SIGUSR1,
//! which TCP ports does it listen on, who holds a port.

use crate::error::InspectorError;
use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::path::PathBuf;

/// A listening TCP socket: the address it is bound to (as connectable text) and its port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listener {
    /// Loopback address to connect to it on: `127.0.0.1` or `::1` for wildcard binds.
    pub connect_host: String,
    pub port: u16,
    pub inode: u64,
}

fn proc_path(pid: u32, rest: &str) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/{rest}"))
}

/// True while the process exists and has not exited (a zombie counts as exited).
pub fn is_alive(pid: u32) -> bool {
    match fs::read_to_string(proc_path(pid, "stat")) {
        Ok(stat) => {
            // `pid (comm) S ...`: the state follows the last ')'.
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// The executable and argv[0] of a process, for messages and the Node check.
#[derive(Debug, Clone)]
pub struct Identity {
    pub exe: Option<String>,
    pub argv: Vec<String>,
}

impl Identity {
    pub fn describe(&self) -> String {
        match (&self.exe, self.argv.first()) {
            (Some(exe), _) => exe.clone(),
            (None, Some(a0)) => a0.clone(),
            (None, None) => "unknown executable".into(),
        }
    }

    /// Node, by the executable's or argv[0]'s file name (`node`, `nodejs`, `node20`, …).
    pub fn looks_like_node(&self) -> bool {
        let is_node = |p: &str| {
            let p = p.trim_end_matches(" (deleted)");
            let base = p.rsplit('/').next().unwrap_or(p).to_ascii_lowercase();
            base.starts_with("node") || base == "nodejs"
        };
        self.exe.as_deref().is_some_and(is_node) || self.argv.first().is_some_and(|a| is_node(a))
    }

    /// Flags the process was started with (argv and NODE_OPTIONS are not distinguished).
    pub fn has_flag(&self, flag: &str) -> bool {
        self.argv.iter().skip(1).any(|a| a == flag)
    }
}

/// Checks the process exists; returns its identity.
pub fn identity(pid: u32) -> Result<Identity, InspectorError> {
    if !proc_path(pid, "").exists() || !is_alive(pid) {
        return Err(InspectorError::NoSuchProcess(pid));
    }
    let exe = fs::read_link(proc_path(pid, "exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let argv = match fs::read(proc_path(pid, "cmdline")) {
        Ok(bytes) => bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(InspectorError::NoSuchProcess(pid))
        }
        Err(_) => Vec::new(),
    };
    Ok(Identity { exe, argv })
}

/// Whether the process has a handler for SIGUSR1 (`SigCgt` in /proc/PID/status). Without
/// one, SIGUSR1's default action terminates the process. `None` when unreadable.
pub fn catches_sigusr1(pid: u32) -> Option<bool> {
    let status = fs::read_to_string(proc_path(pid, "status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("SigCgt:"))?;
    let mask = u64::from_str_radix(line["SigCgt:".len()..].trim(), 16).ok()?;
    let bit = 1u64 << (libc::SIGUSR1 as u64 - 1);
    Some(mask & bit != 0)
}

/// `NODE_OPTIONS` of the process, when readable.
pub fn node_options(pid: u32) -> Option<String> {
    let env = fs::read(proc_path(pid, "environ")).ok()?;
    env.split(|b| *b == 0)
        .find_map(|kv| kv.strip_prefix(b"NODE_OPTIONS="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Socket inodes the process holds open.
fn socket_inodes(pid: u32) -> Result<HashSet<u64>, InspectorError> {
    let dir = match fs::read_dir(proc_path(pid, "fd")) {
        Ok(d) => d,
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            return Err(InspectorError::PermissionDenied {
                pid,
                action: "read the open sockets of".into(),
            })
        }
        Err(_) => return Err(InspectorError::NoSuchProcess(pid)),
    };
    let mut inodes = HashSet::new();
    for entry in dir.flatten() {
        if let Ok(link) = fs::read_link(entry.path()) {
            let link = link.to_string_lossy();
            if let Some(n) = link
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse().ok())
            {
                inodes.insert(n);
            }
        }
    }
    Ok(inodes)
}

/// Every listening TCP socket in the network namespace of `pid` (`/proc/PID/net/tcp{,6}`).
fn all_listeners(pid: u32) -> Vec<Listener> {
    let mut out = Vec::new();
    for (file, v6) in [("net/tcp", false), ("net/tcp6", true)] {
        let Ok(text) = fs::read_to_string(proc_path(pid, file)) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let Some((addr, port)) = cols[1].split_once(':') else {
                continue;
            };
            let Ok(port) = u16::from_str_radix(port, 16) else {
                continue;
            };
            let Ok(inode) = cols[9].parse::<u64>() else {
                continue;
            };
            let Some(connect_host) = connect_host(addr, v6) else {
                continue;
            };
            out.push(Listener {
                connect_host,
                port,
                inode,
            });
        }
    }
    out
}

/// The loopback address that reaches a socket bound to `hex_addr`, if any does.
fn connect_host(hex_addr: &str, v6: bool) -> Option<String> {
    if !v6 {
        let raw = u32::from_str_radix(hex_addr, 16).ok()?;
        let ip = std::net::Ipv4Addr::from(u32::from_be(raw));
        return if ip.is_unspecified() {
            Some("127.0.0.1".into())
        } else if ip.is_loopback() {
            Some(ip.to_string())
        } else {
            None
        };
    }
    if hex_addr.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for (i, word) in hex_addr.as_bytes().chunks(8).enumerate() {
        let w = u32::from_str_radix(std::str::from_utf8(word).ok()?, 16).ok()?;
        bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
    }
    let ip = std::net::Ipv6Addr::from(bytes);
    if ip.is_unspecified() {
        Some("127.0.0.1".into())
    } else if ip.is_loopback() {
        Some("::1".into())
    } else if let Some(v4) = ip.to_ipv4_mapped() {
        if v4.is_loopback() || v4.is_unspecified() {
            Some("127.0.0.1".into())
        } else {
            None
        }
    } else {
        None
    }
}

/// TCP ports the process listens on that loopback can reach.
pub fn listening_ports(pid: u32) -> Result<Vec<Listener>, InspectorError> {
    let inodes = socket_inodes(pid)?;
    let mut seen = HashSet::new();
    Ok(all_listeners(pid)
        .into_iter()
        .filter(|l| inodes.contains(&l.inode))
        .filter(|l| seen.insert(l.port))
        .collect())
}

/// Who listens on `port` in the network namespace of `pid`, other than `pid` itself:
/// `Some("pid 4321 (node)")`, `Some("an unknown process")`, or `None` when the port is free.
pub fn other_holder(pid: u32, port: u16) -> Option<String> {
    let own = socket_inodes(pid).unwrap_or_default();
    let holders: Vec<u64> = all_listeners(pid)
        .into_iter()
        .filter(|l| l.port == port && !own.contains(&l.inode))
        .map(|l| l.inode)
        .collect();
    if holders.is_empty() {
        return None;
    }
    Some(
        find_inode_owner(&holders)
            .map(|pid| {
                let comm = fs::read_to_string(proc_path(pid, "comm")).unwrap_or_default();
                format!("pid {pid} ({})", comm.trim())
            })
            .unwrap_or_else(|| "an unknown process".into()),
    )
}

/// The local process listening on TCP `port` (in our network namespace), if visible.
pub fn port_owner(port: u16) -> Option<u32> {
    let inodes: Vec<u64> = all_listeners(std::process::id())
        .into_iter()
        .filter(|l| l.port == port)
        .map(|l| l.inode)
        .collect();
    if inodes.is_empty() {
        return None;
    }
    find_inode_owner(&inodes)
}

fn find_inode_owner(inodes: &[u64]) -> Option<u32> {
    for entry in fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(own) = socket_inodes(pid) {
            if inodes.iter().any(|i| own.contains(i)) {
                return Some(pid);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process() {
        let me = std::process::id();
        assert!(is_alive(me));
        let id = identity(me).unwrap();
        assert!(!id.looks_like_node());
        assert!(id.exe.is_some());
        assert!(catches_sigusr1(me).is_some());
        assert!(matches!(
            identity(u32::MAX - 7),
            Err(InspectorError::NoSuchProcess(_))
        ));
    }

    #[test]
    fn finds_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let ports = listening_ports(std::process::id()).unwrap();
        assert!(ports
            .iter()
            .any(|p| p.port == port && p.connect_host == "127.0.0.1"));
        assert_eq!(other_holder(std::process::id(), port), None);
        assert_eq!(port_owner(port), Some(std::process::id()));
    }

    #[test]
    fn node_names() {
        let id = |exe: &str| Identity {
            exe: Some(exe.into()),
            argv: vec![],
        };
        assert!(id("/usr/bin/node").looks_like_node());
        assert!(id("/opt/node-v20/bin/node").looks_like_node());
        assert!(id("/usr/bin/nodejs").looks_like_node());
        assert!(!id("/usr/bin/sleep").looks_like_node());
        assert!(!id("/usr/bin/python3").looks_like_node());
    }

    #[test]
    fn v6_addresses() {
        assert_eq!(
            connect_host("00000000000000000000000001000000", true),
            Some("::1".into())
        );
        assert_eq!(
            connect_host("00000000000000000000000000000000", true),
            Some("127.0.0.1".into())
        );
        assert_eq!(connect_host("0100007F", false), Some("127.0.0.1".into()));
        assert_eq!(connect_host("00000000", false), Some("127.0.0.1".into()));
        assert_eq!(connect_host("0500000A", false), None);
    }
}
