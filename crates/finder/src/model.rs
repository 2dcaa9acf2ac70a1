//! The finding schema shared by `leakhound find`, `leakhound check` and the supervisor.
//!
//! Everything here is plain data with serde in both directions, so a report written as JSON by
//! one command can be read back by another.

use serde::{Deserialize, Serialize};

/// What kind of evidence a finding rests on (the detector family that produced it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A Map, Set, Array or dictionary object whose number of entries grows.
    GrowingContainer,
    /// Listener arrays of an EventEmitter (`_events`) that grow.
    ListenerLeak,
    /// Timers that pile up on node's timer lists.
    TimerLeak,
    /// A chain of closures and contexts that grows (the "replaceThing" pattern).
    ClosureChain,
    /// Objects allocated after the first snapshot that survive, grouped by their retainer.
    RetainedGrowth,
    /// Live instances of one class (allocation site) that grow in every interval.
    GrowingClass,
    /// Pending promises or AsyncLocalStorage stores that pile up.
    AsyncLeak,
    /// Detached DOM trees (browser snapshots).
    DetachedDom,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::GrowingContainer => "growing-container",
            FindingKind::ListenerLeak => "listener-leak",
            FindingKind::TimerLeak => "timer-leak",
            FindingKind::ClosureChain => "closure-chain",
            FindingKind::RetainedGrowth => "retained-growth",
            FindingKind::GrowingClass => "growing-class",
            FindingKind::AsyncLeak => "async-leak",
            FindingKind::DetachedDom => "detached-dom",
        }
    }
}

/// The leak pattern a finding matches; it decides the suggested fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// A Map (or Map-like object) used as a cache without eviction.
    UnboundedCache,
    /// An array that only grows (logs, queues, histories).
    GrowingArray,
    /// A Set that only grows.
    GrowingSet,
    /// A plain object used as a dictionary whose keys are never deleted.
    DictionaryObject,
    /// Listeners added and never removed.
    ListenerLeak,
    /// Intervals or timeouts never cleared.
    TimerLeak,
    /// Closures keeping earlier contexts alive.
    ClosureLeak,
    /// Promises that never settle, or AsyncLocalStorage stores kept by resources.
    PendingPromises,
    /// Instances of one class that grow without a single container to blame.
    GrowingObjects,
    /// Strings or buffers accumulating in a container.
    AccumulatingStrings,
    /// DOM nodes removed from the document but still referenced.
    DetachedDom,
}

impl Pattern {
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::UnboundedCache => "unbounded-cache",
            Pattern::GrowingArray => "growing-array",
            Pattern::GrowingSet => "growing-set",
            Pattern::DictionaryObject => "dictionary-object",
            Pattern::ListenerLeak => "listener-leak",
            Pattern::TimerLeak => "timer-leak",
            Pattern::ClosureLeak => "closure-leak",
            Pattern::PendingPromises => "pending-promises",
            Pattern::GrowingObjects => "growing-objects",
            Pattern::AccumulatingStrings => "accumulating-strings",
            Pattern::DetachedDom => "detached-dom",
        }
    }
}

/// One step of a retainer path, from the GC root down to the leaking container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStep {
    /// Class of the object holding the edge (`Object`, `Map`, `(module scope)`, `global`...).
    pub holder_class: String,
    /// Node name of the holder (constructor or function name; contexts are `system / Context`).
    pub holder_name: String,
    /// Snapshot node id of the holder (`@123` in DevTools).
    pub holder_id: u32,
    /// Edge name: property, variable, element index or internal slot name.
    pub edge: String,
    /// Edge type as written in the snapshot: property, context, element, internal, ...
    pub edge_type: String,
}

/// A source position, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    /// Script URL or path as V8 knows it (`/srv/app/cache.js`, `file:///...`, `node:events`).
    pub script: String,
    pub line: u32,
    pub column: u32,
    /// Where the position comes from: `declaration` (the variable's declaration, found in the
    /// script text), `listener` / `callback` / `closure` (a function's start), `constructor`.
    #[serde(default)]
    pub source: String,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.script, self.line, self.column)
    }
}

/// A class of objects that grows together with the finding's container (folded in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secondary {
    pub class: String,
    /// Instances allocated after the first snapshot and still alive in the last.
    pub new_count: u64,
    /// Their shallow size in bytes.
    pub new_self_size: u64,
}

/// One leak, named by its root cause: the retaining container or allocation site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// 1-based rank, strongest first.
    pub rank: usize,
    pub kind: FindingKind,
    pub pattern: Pattern,
    /// Confidence in [0, 1] (see `score::confidence`).
    pub confidence: f64,
    /// One line: what leaks, how much, where.
    pub title: String,
    /// Class of the container (or of the growing objects for class findings).
    pub class: String,
    /// Snapshot node id of the container in the last snapshot.
    pub holder_id: u32,
    /// The edge that holds the container (variable, property, event name), if any.
    pub edge: Option<String>,
    /// What `counts` counts: `entries`, `elements`, `properties`, `listeners`, `timers`, `objects`.
    pub count_unit: String,
    /// Entries (or instances) per snapshot, oldest first; `None` where the container was absent.
    pub counts: Vec<Option<u64>>,
    /// Exact retained size per snapshot in bytes (DevTools semantics); `None` where absent.
    pub retained_sizes: Vec<Option<u64>>,
    /// Count growth per interval (`counts[i+1] - counts[i]`).
    pub growth_per_interval: Vec<i64>,
    /// Retained-size growth per interval in bytes.
    pub retained_growth_per_interval: Vec<i64>,
    /// Objects allocated after the first snapshot and still alive in the last that this
    /// container retains (memlab's rule, grouped by container), and their shallow bytes.
    pub new_objects: u64,
    pub new_objects_size: u64,
    /// Classes that grow with the container, largest first (folded secondary objects).
    pub secondary: Vec<Secondary>,
    /// From a GC root down to the container, DevTools edge syntax per step.
    pub retainer_path: Vec<PathStep>,
    /// The path as one DevTools-style line, e.g. `(module scope)->requestLog`.
    pub retainer_path_text: String,
    pub location: Option<SourceLocation>,
    pub suggestion: String,
    /// Short notes on the evidence behind the confidence.
    pub evidence: Vec<String>,
}

/// One input snapshot, as checked and used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub path: String,
    pub file_size: u64,
    pub node_count: u64,
    pub edge_count: u64,
    /// Highest JS (odd) node id: V8 assigns increasing ids, so it grows along one process.
    pub max_js_id: u32,
    /// Total size (root retained size) in bytes.
    pub total_size: u64,
}

/// The result of `find`: findings ranked strongest first and the snapshots they rest on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub snapshots: Vec<SnapshotInfo>,
}

impl Report {
    /// The strongest confidence in the report, 0 when there is no finding.
    pub fn max_confidence(&self) -> f64 {
        self.findings
            .iter()
            .map(|f| f.confidence)
            .fold(0.0, f64::max)
    }
}
