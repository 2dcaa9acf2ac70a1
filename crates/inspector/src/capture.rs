//! High-level captures: attach to a target (turning its inspector on if needed), take a
//! snapshot into an atomically written file, detach (turning the inspector off again).

use crate::atomic::AtomicFile;
use crate::error::InspectorError;
use crate::procfs;
use crate::resolve::{close_inspector, resolve, ResolveOptions, Resolved, DEFAULT_INSPECT_PORT};
use crate::session::{Session, SnapshotOptions, SnapshotProgress};
use crate::target::{is_loopback, url_host_port, HostPolicy, Target};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, Instant};

/// How to capture.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Force a full GC first (`HeapProfiler.collectGarbage`), so the snapshot holds live objects.
    pub gc: bool,
    /// Which hosts may be contacted.
    pub host_policy: HostPolicy,
    /// Port the process opens its inspector on after SIGUSR1.
    pub inspect_port: u16,
    /// How long to wait for the inspector after SIGUSR1.
    pub open_timeout: Duration,
    /// `takeHeapSnapshot` options.
    pub snapshot: SnapshotOptions,
    /// How the snapshot's bytes reach the file.
    pub route: RoutePolicy,
}

/// How a snapshot's bytes reach the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// `HeapProfiler.takeHeapSnapshot`: V8 sends the JSON in ~100 KB chunks over the
    /// WebSocket. Works for any target, but costs the process 10-20% more time: every chunk
    /// becomes a UTF-16 string and a JSON-escaped protocol message on its main thread.
    Stream,
    /// The process writes the file itself (`v8.writeHeapSnapshot`, called over the
    /// inspector) into leakhound's 0600 temporary file, as fast as an in-process write.
    /// Needs a process that sees this machine's filesystem and may write to the file.
    InProcess,
}

/// Which [`Route`] to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutePolicy {
    /// In-process for a PID on this machine that shares our filesystem view (same mount
    /// namespace and root); streamed otherwise, and streamed when the process cannot write
    /// the file (another user, a read-only view).
    Auto,
    Stream,
    /// In-process or fail (for a `host:port` target known to be on this machine).
    InProcess,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            gc: true,
            host_policy: HostPolicy::loopback_only(),
            inspect_port: DEFAULT_INSPECT_PORT,
            open_timeout: Duration::from_secs(10),
            snapshot: SnapshotOptions::default(),
            route: RoutePolicy::Auto,
        }
    }
}

impl CaptureOptions {
    pub fn resolve_options(&self) -> ResolveOptions {
        ResolveOptions {
            inspect_port: self.inspect_port,
            host_policy: self.host_policy.clone(),
            open_timeout: self.open_timeout,
        }
    }
}

/// What a capture produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureReport {
    pub path: PathBuf,
    pub bytes: u64,
    /// Wall time from the start (resolving the target) to the renamed file.
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
    /// Time of `takeHeapSnapshot` alone (traversal + serialisation + transfer).
    #[serde(serialize_with = "ser_secs")]
    pub snapshot_duration: Duration,
    pub pid: Option<u32>,
    pub ws_url: String,
    /// leakhound turned the inspector on with SIGUSR1.
    pub opened_inspector: bool,
    /// When leakhound opened it: whether it is closed again (`None` when not ours to close).
    pub inspector_closed: Option<bool>,
    pub gc: bool,
    /// How the bytes reached the file.
    pub route: Route,
    /// Things that went wrong without failing the capture.
    pub warnings: Vec<String>,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Progress of a capture, for progress bars.
#[derive(Debug, Clone)]
pub enum CaptureEvent {
    Resolved(Resolved),
    CollectingGarbage,
    /// The snapshot starts, by this route.
    Taking(Route),
    Snapshot(SnapshotProgress),
    /// fsync and rename.
    Finishing,
    /// Turning off an inspector leakhound opened.
    ClosingInspector,
    /// Between two snapshots of a series: snapshot `next` (1-based) of `of` comes after
    /// `interval`.
    Waiting {
        next: usize,
        of: usize,
        interval: Duration,
    },
}

/// Optional callbacks of [`capture_snapshot_to_file_with`].
#[derive(Default)]
pub struct CaptureHooks<'a> {
    /// Progress.
    pub on_event: Option<Box<dyn FnMut(CaptureEvent) + Send + 'a>>,
    /// A second destination for the bytes (e.g. a parser fed through [`crate::pipe`]).
    /// Its errors do not fail the capture; it is dropped (end of stream) when the capture ends.
    pub tee: Option<Box<dyn Write + Send + 'a>>,
    /// When this completes the capture stops: the partial file is removed and the
    /// inspector is left as it was found; the result is [`InspectorError::Interrupted`].
    pub cancel: Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>,
}

/// A connected session plus what it takes to leave the process as it was found.
pub struct Attached {
    pub session: Session,
    pub resolved: Resolved,
}

impl Attached {
    /// Resolves `target` (SIGUSR1 when needed) and connects.
    pub async fn open(target: &Target, opts: &ResolveOptions) -> Result<Attached, InspectorError> {
        let resolved = resolve(target, opts).await?;
        match Session::connect(&resolved.ws_url).await {
            Ok(session) => Ok(Attached { session, resolved }),
            Err(e) => Err(e),
        }
    }

    /// Closes the session; if leakhound opened the inspector, turns it off and returns
    /// whether its port is closed (`None` when it was not ours).
    pub async fn detach(self, timeout: Duration) -> Result<Option<bool>, InspectorError> {
        if !self.resolved.opened_by_us {
            self.session.close().await;
            return Ok(None);
        }
        if let Some(pid) = self.resolved.pid {
            if !procfs::is_alive(pid) {
                return Ok(Some(true));
            }
        }
        close_inspector(&self.session, &self.resolved, timeout)
            .await
            .map(Some)
    }

    /// Maps a lost connection to "the process exited" when that is what happened.
    pub async fn explain(&self, err: InspectorError) -> InspectorError {
        explain_disconnect(err, self.resolved.pid).await
    }
}

/// A lost connection becomes [`InspectorError::ProcessExited`] when the process is gone.
pub async fn explain_disconnect(err: InspectorError, pid: Option<u32>) -> InspectorError {
    if !matches!(err, InspectorError::Disconnected(_)) {
        return err;
    }
    let Some(pid) = pid else { return err };
    for _ in 0..20 {
        if !procfs::is_alive(pid) {
            return InspectorError::ProcessExited { pid };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    err
}

/// Takes a heap snapshot of `target` into `path` (mode 0600, atomically).
pub async fn capture_snapshot_to_file(
    target: &Target,
    path: &Path,
    opts: &CaptureOptions,
) -> Result<CaptureReport, InspectorError> {
    capture_snapshot_to_file_with(target, path, opts, CaptureHooks::default()).await
}

struct TeeSink<'f, 't> {
    file: &'f mut AtomicFile,
    tee: Option<Box<dyn Write + Send + 't>>,
    /// Bytes already given to the tee (a route cannot change once it has some).
    teed: u64,
}

impl TeeSink<'_, '_> {
    fn tee_started(&self) -> bool {
        self.teed > 0
    }

    fn has_tee(&self) -> bool {
        self.tee.is_some()
    }

    /// Gives bytes the process wrote into the file to the tee only.
    fn feed_tee(&mut self, buf: &[u8]) {
        if let Some(t) = self.tee.as_mut() {
            if let Err(e) = t.write_all(buf) {
                tracing::debug!("tee stopped: {e}");
                self.tee = None;
            }
            self.teed += buf.len() as u64;
        }
    }
}

impl Write for TeeSink<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.file.write_all(buf)?;
        if let Some(t) = self.tee.as_mut() {
            if let Err(e) = t.write_all(buf) {
                tracing::debug!("tee stopped: {e}");
                self.tee = None;
            }
            self.teed += buf.len() as u64;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// [`capture_snapshot_to_file`] with progress, a tee and cancellation.
pub async fn capture_snapshot_to_file_with(
    target: &Target,
    path: &Path,
    opts: &CaptureOptions,
    hooks: CaptureHooks<'_>,
) -> Result<CaptureReport, InspectorError> {
    let mut reports =
        capture_series_with(target, &[path.to_path_buf()], Duration::ZERO, opts, hooks).await?;
    Ok(reports.remove(0))
}

/// Takes one snapshot per path, `interval` apart, over one inspector session. V8 keeps heap
/// object ids only while a session lasts, so only snapshots of one session can be compared
/// object by object (`leakhound find`). The tee, if any, receives the first snapshot. Each
/// file is committed as soon as it is complete: when a later capture fails or is cancelled,
/// the earlier files stay and the error is returned.
pub async fn capture_series_with(
    target: &Target,
    paths: &[PathBuf],
    interval: Duration,
    opts: &CaptureOptions,
    hooks: CaptureHooks<'_>,
) -> Result<Vec<CaptureReport>, InspectorError> {
    let start = Instant::now();
    let CaptureHooks {
        on_event,
        mut tee,
        cancel,
    } = hooks;
    let mut on_event = on_event.unwrap_or_else(|| Box::new(|_| {}));
    let Some(first_path) = paths.first() else {
        return Ok(Vec::new());
    };
    // Fail on an unwritable destination before touching the process.
    let mut first_file = Some(AtomicFile::create(first_path)?);
    let attached = Attached::open(target, &opts.resolve_options()).await?;
    on_event(CaptureEvent::Resolved(attached.resolved.clone()));
    let on_loopback = url_host_port(&attached.resolved.ws_url)
        .map(|(h, _)| h)
        .as_deref()
        .is_some_and(is_loopback);
    let mut route = match opts.route {
        RoutePolicy::Stream => Route::Stream,
        RoutePolicy::InProcess if !on_loopback => {
            let url = attached.resolved.ws_url.clone();
            let _ = attached.detach(Duration::from_secs(10)).await;
            return Err(InspectorError::Other(format!(
                "--in-process needs a process on this machine; {url} is not on loopback"
            )));
        }
        RoutePolicy::InProcess => Route::InProcess,
        RoutePolicy::Auto => match target {
            Target::Pid(pid) if on_loopback && shares_our_filesystem(*pid) => Route::InProcess,
            _ => Route::Stream,
        },
    };
    let mut route_warnings: Vec<String> = Vec::new();
    let mut cancel = Box::pin(async move {
        match cancel {
            Some(c) => c.await,
            None => std::future::pending().await,
        }
    });

    // (path, bytes, duration, snapshot duration) of every committed snapshot.
    let mut done: Vec<(PathBuf, u64, Duration, Duration)> = Vec::new();
    let mut failure: Option<InspectorError> = None;
    for (k, path) in paths.iter().enumerate() {
        if k > 0 {
            on_event(CaptureEvent::Waiting {
                next: k + 1,
                of: paths.len(),
                interval,
            });
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = &mut cancel => {
                    failure = Some(InspectorError::Interrupted);
                    break;
                }
            }
        }
        let t_start = if k == 0 { start } else { Instant::now() };
        let mut file = match first_file.take() {
            Some(f) => f,
            None => match AtomicFile::create(path) {
                Ok(f) => f,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            },
        };
        let mut sink = TeeSink {
            file: &mut file,
            tee: tee.take(),
            teed: 0,
        };
        let mut snapshot_duration = Duration::ZERO;
        let work = async {
            if opts.gc {
                on_event(CaptureEvent::CollectingGarbage);
                attached.session.collect_garbage().await?;
            }
            let t0 = Instant::now();
            if route == Route::InProcess {
                on_event(CaptureEvent::Taking(Route::InProcess));
                let temp = sink.file.temp_path().to_path_buf();
                let written = write_in_process(&attached.session, &mut sink, &mut |n| {
                    on_event(CaptureEvent::Snapshot(SnapshotProgress::Bytes(n)))
                })
                .await;
                match written {
                    Ok(bytes) => {
                        snapshot_duration = t0.elapsed();
                        return Ok::<u64, InspectorError>(bytes);
                    }
                    Err(InspectorError::Protocol { message, .. }) if message.contains("ENOSPC") => {
                        return Err(InspectorError::file(
                            sink.file.path(),
                            std::io::Error::from_raw_os_error(libc::ENOSPC),
                        ))
                    }
                    // The process could not create the file (another user, another view of
                    // the filesystem, no `v8` module): stream instead, unless forced.
                    Err(InspectorError::Protocol { message, .. })
                        if opts.route == RoutePolicy::Auto
                            && !sink.tee_started()
                            && cannot_create(&message) =>
                    {
                        route_warnings.push(format!(
                            "the process could not write the snapshot itself ({message}); \
                             streamed it instead"
                        ));
                        route = Route::Stream;
                        sink.file.reset().map_err(InspectorError::Sink)?;
                    }
                    Err(InspectorError::Protocol { message, .. }) => {
                        return Err(InspectorError::Other(format!(
                            "the process could not write its snapshot to {}: {message} \
                             (without --in-process the snapshot is streamed instead)",
                            temp.display()
                        )))
                    }
                    Err(e) => return Err(e),
                }
            }
            on_event(CaptureEvent::Taking(Route::Stream));
            let t0 = Instant::now();
            let bytes = attached
                .session
                .take_heap_snapshot_with(opts.snapshot, &mut sink, &mut |p| {
                    on_event(CaptureEvent::Snapshot(p))
                })
                .await?;
            snapshot_duration = t0.elapsed();
            Ok::<u64, InspectorError>(bytes)
        };
        let result = tokio::select! {
            r = work => r,
            _ = &mut cancel => Err(InspectorError::Interrupted),
        };
        // End of stream for the tee (the parser sees EOF).
        drop(sink);
        match result {
            Ok(bytes) => {
                on_event(CaptureEvent::Finishing);
                match file.commit() {
                    Ok(p) => done.push((p, bytes, t_start.elapsed(), snapshot_duration)),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            Err(InspectorError::Sink(e)) => {
                failure = Some(InspectorError::file(path, e));
                break;
            }
            Err(e) => {
                failure = Some(attached.explain(e).await);
                break;
            }
        }
    }
    let pid = attached.resolved.pid;
    let ws_url = attached.resolved.ws_url.clone();
    let opened = attached.resolved.opened_by_us;

    // Leave the process as it was found, whatever happened.
    let mut warnings = Vec::new();
    if opened {
        on_event(CaptureEvent::ClosingInspector);
    }
    // After a failure Node may still be serialising the snapshot nobody reads; the close
    // request is answered only once it is done.
    let close_timeout = if failure.is_some() {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(10)
    };
    let closed = match attached.detach(close_timeout).await {
        Ok(c) => c,
        Err(e) => {
            warnings.push(format!("could not turn the inspector off again: {e}"));
            Some(false)
        }
    };
    if closed == Some(false) && warnings.is_empty() {
        warnings.push(format!(
            "the inspector of {} is still listening after inspector.close()",
            pid.map(|p| format!("process {p}"))
                .unwrap_or_else(|| ws_url.clone())
        ));
    }
    warnings.extend(route_warnings);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if let Some(e) = failure {
        if !done.is_empty() {
            let kept: Vec<String> = done.iter().map(|d| d.0.display().to_string()).collect();
            tracing::warn!("kept the complete snapshots: {}", kept.join(", "));
        }
        return Err(e);
    }
    Ok(done
        .into_iter()
        .map(|(path, bytes, duration, snapshot_duration)| CaptureReport {
            path,
            bytes,
            duration,
            snapshot_duration,
            pid,
            ws_url: ws_url.clone(),
            opened_inspector: opened,
            inspector_closed: closed,
            gc: opts.gc,
            route,
            warnings: warnings.clone(),
        })
        .collect())
}

/// Asks the process to write its heap snapshot into the sink's temporary file (leakhound's
/// 0600 file: writing truncates it in place, so the mode stays) and returns the bytes
/// written. While the process writes, `progress` gets the file's size and a tee (the
/// engine, with `--analyze`) gets the bytes as they land, so the analysis is ready when the
/// write ends, as with a streamed capture.
async fn write_in_process(
    session: &Session,
    sink: &mut TeeSink<'_, '_>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, InspectorError> {
    let temp = sink.file.temp_path().to_path_buf();
    let path = temp
        .to_str()
        .ok_or_else(|| InspectorError::Other(format!("{}: not a UTF-8 path", temp.display())))?;
    let path_js = serde_json::to_string(path).map_err(|e| InspectorError::Other(e.to_string()))?;
    let expression = format!(
        "(() => {{ const v8 = typeof process.getBuiltinModule === 'function' \
         ? process.getBuiltinModule('v8') : require('v8'); \
         return v8.writeHeapSnapshot({path_js}); }})()"
    );
    // Our own read handle: the process's writes append to the file it truncated.
    let mut tail = if sink.has_tee() {
        Some(std::fs::File::open(&temp).map_err(|e| InspectorError::file(&temp, e))?)
    } else {
        None
    };
    let mut buf = Vec::new();
    let mut feed = |sink: &mut TeeSink<'_, '_>, tail: &mut Option<std::fs::File>| {
        let Some(f) = tail.as_mut() else { return };
        buf.resize(1 << 20, 0);
        loop {
            match std::io::Read::read(f, &mut buf) {
                Ok(0) => break,
                Ok(n) => sink.feed_tee(&buf[..n]),
                Err(e) => {
                    tracing::debug!("reading the file the process writes: {e}");
                    *tail = None;
                    break;
                }
            }
        }
    };
    let evaluate = session.evaluate(&expression);
    tokio::pin!(evaluate);
    let every = if tail.is_some() { 50 } else { 250 };
    let mut tick = tokio::time::interval(Duration::from_millis(every));
    let result = loop {
        tokio::select! {
            r = &mut evaluate => break r,
            _ = tick.tick() => {
                if let Ok(m) = std::fs::metadata(&temp) {
                    progress(m.len());
                }
                feed(sink, &mut tail);
            }
        }
    };
    result?;
    feed(sink, &mut tail);
    std::fs::metadata(&temp)
        .map(|m| m.len())
        .map_err(|e| InspectorError::file(&temp, e))
}

/// Whether a failed in-process write means the process could not create the file at all
/// (rather than a failure a streamed capture would meet too).
fn cannot_create(message: &str) -> bool {
    [
        "EACCES",
        "EPERM",
        "ENOENT",
        "ENOTDIR",
        "EROFS",
        "require is not defined",
        "Cannot find module",
    ]
    .iter()
    .any(|k| message.contains(k))
}

/// Whether process `pid` sees the filesystem as we do (same mount namespace and root), so
/// that it can write into our temporary file by its path. False when we cannot tell.
pub fn shares_our_filesystem(pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let same_ns = match (
        std::fs::read_link(format!("/proc/{pid}/ns/mnt")),
        std::fs::read_link("/proc/self/ns/mnt"),
    ) {
        (Ok(theirs), Ok(ours)) => theirs == ours,
        _ => false,
    };
    let same_root = match (
        std::fs::metadata(format!("/proc/{pid}/root/")),
        std::fs::metadata("/"),
    ) {
        (Ok(theirs), Ok(ours)) => theirs.dev() == ours.dev() && theirs.ino() == ours.ino(),
        _ => false,
    };
    same_ns && same_root
}

/// Node's naming: `Heap.<YYYYMMDD>.<HHMMSS>.<pid>.heapsnapshot` (local time).
pub fn default_snapshot_name(pid: Option<u32>) -> String {
    default_name(pid, "heapsnapshot")
}

/// `Heap.<YYYYMMDD>.<HHMMSS>.<pid>.heapprofile`, like `node --heap-prof`.
pub fn default_profile_name(pid: Option<u32>) -> String {
    default_name(pid, "heapprofile")
}

fn default_name(pid: Option<u32>, ext: &str) -> String {
    let now = chrono::Local::now();
    format!(
        "Heap.{}.{}.{ext}",
        now.format("%Y%m%d.%H%M%S"),
        pid.unwrap_or(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = default_snapshot_name(Some(42));
        assert!(n.starts_with("Heap."), "{n}");
        assert!(n.ends_with(".42.heapsnapshot"), "{n}");
        let parts: Vec<&str> = n.split('.').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[1].len(), 8);
        assert_eq!(parts[2].len(), 6);
        assert!(default_profile_name(None).ends_with(".0.heapprofile"));
    }
}
