//! Reading /proc and cgroup v2 files (plain files, no crate).
//!
//! Memory of an instance = the sum over its process group (the child is a group leader;
//! workers it forks stay in the group unless they call setsid). Members are re-discovered by
//! a /proc scan every few samples; in between only the members' `/proc/<pid>/stat` are read
//! (one read each: RSS, VSZ, CPU ticks, start time), plus `/proc/<leader>/status` for VmHWM.

use std::fs;
use std::path::{Path, PathBuf};

/// Fields of `/proc/<pid>/stat` that leakhound uses.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stat {
    pub pid: i32,
    pub pgrp: i32,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks.
    pub start_ticks: u64,
    pub vsize: u64,
    /// Resident pages.
    pub rss_pages: u64,
}

/// Parses one `/proc/<pid>/stat` line. The command name may contain spaces and parentheses,
/// so fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid: i32 = text[..open].trim().parse().ok()?;
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // rest[0] = state (field 3); field N is rest[N - 3].
    let field = |n: usize| -> Option<u64> { rest.get(n - 3)?.parse().ok() };
    Some(Stat {
        pid,
        pgrp: rest.get(5 - 3)?.parse().ok()?,
        cpu_ticks: field(14)? + field(15)?,
        start_ticks: field(22)?,
        vsize: field(23)?,
        rss_pages: field(24)?,
    })
}

pub fn read_stat(pid: i32) -> Option<Stat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `VmHWM` (peak RSS) of one process, in bytes.
pub fn read_hwm(pid: i32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kb(&text, "VmHWM:").map(|kb| kb * 1024)
}

fn status_kb(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Pids whose process group is `pgid` (a scan of /proc).
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Some(st) = read_stat(pid) {
            if st.pgrp == pgid {
                out.push(pid);
            }
        }
    }
    out.sort_unstable();
    out
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 {
        v as u64
    } else {
        4096
    }
}

pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

/// Seconds since the epoch at boot (`btime` in /proc/stat), to turn start ticks into
/// `process_start_time_seconds`.
pub fn boot_time() -> Option<u64> {
    let text = fs::read_to_string("/proc/stat").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Memory of one process group at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GroupMemory {
    pub rss: u64,
    pub vsize: u64,
    pub cpu_ticks: u64,
    pub members: usize,
}

/// Sums `/proc/<pid>/stat` over `pids` (vanished pids are skipped).
pub fn sum_group(pids: &[i32], page: u64) -> GroupMemory {
    let mut g = GroupMemory::default();
    for &pid in pids {
        if let Some(st) = read_stat(pid) {
            g.rss += st.rss_pages * page;
            g.vsize += st.vsize;
            g.cpu_ticks += st.cpu_ticks;
            g.members += 1;
        }
    }
    g
}

/// The cgroup v2 directory of this process, if cgroup v2 is mounted and we are in it.
pub fn own_cgroup_dir() -> Option<PathBuf> {
    let cg = fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = cg.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let mount = cgroup2_mount().unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"));
    let dir = mount.join(rel.trim_start_matches('/'));
    dir.is_dir().then_some(dir)
}

fn cgroup2_mount() -> Option<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").ok()?;
    for line in text.lines() {
        // ... mount_point ... - fstype source options
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next() == Some("cgroup2") {
            return left.split_whitespace().nth(4).map(PathBuf::from);
        }
    }
    None
}

/// cgroup v2 memory figures. `limit`/`high` are `None` for "max" (unlimited) or when the
/// file is absent (the root cgroup has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct CgroupMemory {
    pub limit: Option<u64>,
    pub high: Option<u64>,
    pub usage: Option<u64>,
    pub oom: u64,
    pub oom_kill: u64,
}

pub fn read_cgroup(dir: &Path) -> CgroupMemory {
    let num = |name: &str| -> Option<u64> {
        let t = fs::read_to_string(dir.join(name)).ok()?;
        let t = t.trim();
        if t == "max" {
            None
        } else {
            t.parse().ok()
        }
    };
    let mut out = CgroupMemory {
        limit: num("memory.max"),
        high: num("memory.high"),
        usage: num("memory.current"),
        ..Default::default()
    };
    if let Ok(ev) = fs::read_to_string(dir.join("memory.events")) {
        for line in ev.lines() {
            let mut it = line.split_whitespace();
            match (it.next(), it.next().and_then(|v| v.parse::<u64>().ok())) {
                (Some("oom"), Some(v)) => out.oom = v,
                (Some("oom_kill"), Some(v)) => out.oom_kill = v,
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_name() {
        let line = "4242 (node (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 11 0 98765 1234567890 5000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0";
        let st = parse_stat(line).unwrap();
        assert_eq!(st.pid, 4242);
        assert_eq!(st.pgrp, 4242);
        assert_eq!(st.cpu_ticks, 175);
        assert_eq!(st.start_ticks, 98765);
        assert_eq!(st.vsize, 1234567890);
        assert_eq!(st.rss_pages, 5000);
    }

    #[test]
    fn own_process() {
        let me = std::process::id() as i32;
        let st = read_stat(me).unwrap();
        assert_eq!(st.pid, me);
        assert!(st.rss_pages > 0);
        assert!(read_hwm(me).unwrap() > 0);
        let g = sum_group(&[me], page_size());
        assert_eq!(g.members, 1);
        assert!(boot_time().unwrap() > 1_000_000_000);
    }

    #[test]
    fn cgroup_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("memory.max"), "max\n").unwrap();
        fs::write(dir.path().join("memory.current"), "123456\n").unwrap();
        fs::write(
            dir.path().join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n",
        )
        .unwrap();
        let c = read_cgroup(dir.path());
        assert_eq!(c.limit, None);
        assert_eq!(c.usage, Some(123456));
        assert_eq!((c.oom, c.oom_kill), (2, 1));
        fs::write(dir.path().join("memory.max"), "268435456\n").unwrap();
        assert_eq!(read_cgroup(dir.path()).limit, Some(268435456));
    }
}
