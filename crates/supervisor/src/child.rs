//! Spawning children in their own process group with extra inherited fds, and reaping.
//!
//! leakhound reaps with `waitpid(-1)` on every SIGCHLD, so that as PID 1 in a container it
//! also collects orphans re-parented to it (zombies would pile up otherwise). That is why no
//! `tokio::process` is used anywhere in the supervisor: every child (instances and hook
//! commands) is spawned through [`Reaper::spawn`] and gets its status from the reaper.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus};
use std::sync::{Arc, Mutex};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::oneshot;

/// Exit code as a shell reports it: the code, or 128 + signal number.
pub fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 1,
    }
}

/// "exit status 3" / "signal 9 (SIGKILL)".
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal {s} ({})", signal_name(s)),
        _ => "unknown status".into(),
    }
}

pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGTERM => "SIGTERM",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => "signal",
    }
}

/// Sends `sig` to the whole process group `pgid`. Errors (group gone) are ignored.
pub fn kill_group(pgid: i32, sig: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: kill has no memory-safety preconditions; a negative pid names a group.
    unsafe { libc::kill(-pgid, sig) == 0 }
}

#[derive(Default)]
struct State {
    waiting: HashMap<i32, oneshot::Sender<ExitStatus>>,
}

/// Owns child reaping for the whole process.
#[derive(Clone)]
pub struct Reaper {
    state: Arc<Mutex<State>>,
}

impl Reaper {
    /// The process-wide reaper (there can be only one: `waitpid(-1)` takes every child's
    /// status). It runs on its own thread with a small runtime, so it outlives any caller's
    /// runtime.
    pub fn start() -> io::Result<Reaper> {
        static GLOBAL: Mutex<Option<Reaper>> = Mutex::new(None);
        let mut global = GLOBAL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = global.as_ref() {
            return Ok(r.clone());
        }
        let reaper = Reaper {
            state: Arc::new(Mutex::new(State::default())),
        };
        let r = reaper.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("leakhound-reaper".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut sigchld = match signal(SignalKind::child()) {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    loop {
                        // A periodic sweep too: signals coalesce.
                        let _ =
                            tokio::time::timeout(std::time::Duration::from_secs(1), sigchld.recv())
                                .await;
                        r.reap_all();
                    }
                });
            })?;
        ready_rx
            .recv()
            .map_err(|_| io::Error::other("the reaper thread did not start"))??;
        *global = Some(reaper.clone());
        Ok(reaper)
    }

    fn reap_all(&self) {
        loop {
            let mut status: libc::c_int = 0;
            // SAFETY: plain syscall with a valid out pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            let tx = self
                .state
                .lock()
                .ok()
                .and_then(|mut s| s.waiting.remove(&pid));
            match tx {
                Some(tx) => {
                    let _ = tx.send(ExitStatus::from_raw(status));
                }
                None => tracing::debug!(pid, "reaped an orphaned process"),
            }
        }
    }

    /// Spawns `cmd` and registers it; the receiver yields its exit status. The registry lock
    /// is held across the spawn, so a child that exits at once is still matched.
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<(i32, oneshot::Receiver<ExitStatus>)> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| io::Error::other("reaper state poisoned"))?;
        let child = cmd.spawn()?;
        let pid = child.id() as i32;
        // std never reaps on drop; the reaper does.
        drop(child);
        let (tx, rx) = oneshot::channel();
        state.waiting.insert(pid, tx);
        Ok((pid, rx))
    }
}

/// Makes the child a process-group leader and maps `fds` (source, target) into it without
/// close-on-exec. Sources are first duplicated above every target so that no mapping clobbers
/// another source.
pub fn prepare(cmd: &mut Command, fds: Vec<(RawFd, RawFd)>) {
    cmd.process_group(0);
    if fds.is_empty() {
        return;
    }
    // SAFETY: the closure only calls async-signal-safe functions (fcntl, dup2, close) on
    // integers captured by value; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            let mut tmp = [(-1, -1); 4];
            for (i, (src, dst)) in fds.iter().copied().enumerate().take(4) {
                let high = libc::fcntl(src, libc::F_DUPFD_CLOEXEC, 64);
                if high < 0 {
                    return Err(io::Error::last_os_error());
                }
                tmp[i] = (high, dst);
            }
            for (high, dst) in tmp.iter().copied() {
                if high < 0 {
                    continue;
                }
                if libc::dup2(high, dst) < 0 {
                    return Err(io::Error::last_os_error());
                }
                libc::close(high);
            }
            Ok(())
        });
    }
}

/// Raw fd of anything that has one (for [`prepare`]).
pub fn raw(f: &impl AsRawFd) -> RawFd {
    f.as_raw_fd()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reaps_and_reports_status() {
        let reaper = Reaper::start().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exit 7"]);
        prepare(&mut cmd, vec![]);
        let (_pid, rx) = reaper.spawn(&mut cmd).unwrap();
        let st = rx.await.unwrap();
        assert_eq!(exit_code(st), 7);

        let mut cmd = Command::new("sh");
        cmd.args(["-c", "kill -TERM $$"]);
        let (_pid, rx) = reaper.spawn(&mut cmd).unwrap();
        let st = rx.await.unwrap();
        assert_eq!(exit_code(st), 128 + libc::SIGTERM);
        assert!(describe(st).contains("SIGTERM"));
    }

    #[tokio::test]
    async fn maps_fds_into_the_child() {
        let reaper = Reaper::start().unwrap();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo hi >&3"]);
        prepare(&mut cmd, vec![(raw(&b), 3)]);
        let (_pid, rx) = reaper.spawn(&mut cmd).unwrap();
        drop(b);
        assert_eq!(exit_code(rx.await.unwrap()), 0);
        let mut s = String::new();
        use std::io::Read;
        (&a).read_to_string(&mut s).unwrap();
        assert_eq!(s, "hi\n");
    }
}
