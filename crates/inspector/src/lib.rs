//! # leakhound-inspector: a Chrome DevTools Protocol client for Node's inspector
//!
//! Reaches a running Node process by PID (turning its inspector on with SIGUSR1 when it is
//! off, and off again afterwards), by `host:port` (`/json/list`) or by `ws://` URL, and
//! takes heap snapshots (streamed to disk chunk by chunk) and sampling heap profiles.
//!
//! ```no_run
//! # async fn demo() -> Result<(), leakhound_inspector::InspectorError> {
//! use leakhound_inspector::{capture_snapshot_to_file, CaptureOptions, Target};
//! let target: Target = "1234".parse()?;
//! let report = capture_snapshot_to_file(&target, "app.heapsnapshot".as_ref(),
//!     &CaptureOptions::default()).await?;
//! println!("{} bytes in {:?}", report.bytes, report.duration);
//! # Ok(()) }
//! ```
//!
//! [`Session`] is one WebSocket connection owned by an actor task: any number of tasks may
//! call it concurrently; responses are matched by id and events go to subscribers.
//!
//! *Security*: the inspector runs arbitrary code for whoever reaches it. Only loopback
//! hosts are contacted unless a [`HostPolicy`] names another host.
//!
//! *Architecture invariant*: this crate never parses snapshots; it moves bytes from the
//! inspector to a `Write` (and a [`pipe`] lets the engine parse them while they arrive).

mod atomic;
mod capture;
mod error;
pub mod pipe;
pub mod procfs;
pub mod profile;
mod resolve;
mod session;
mod target;

pub use atomic::{write_atomic, AtomicFile};
pub use capture::{
    capture_series_with, capture_snapshot_to_file, capture_snapshot_to_file_with,
    default_profile_name, default_snapshot_name, explain_disconnect, shares_our_filesystem,
    Attached, CaptureEvent, CaptureHooks, CaptureOptions, CaptureReport, Route, RoutePolicy,
};
pub use error::InspectorError;
pub use pipe::{pipe, ChannelReader, ChannelWriter};
pub use profile::{top_sites, AllocationSite};
pub use resolve::{
    close_inspector, http_get, list_targets, resolve, JsonTarget, ResolveOptions, Resolved,
    DEFAULT_INSPECT_PORT,
};
pub use session::{Event, HeapUsage, Session, SnapshotOptions, SnapshotProgress};
pub use target::{is_loopback, join_host_port, url_host_port, HostPolicy, Target};
