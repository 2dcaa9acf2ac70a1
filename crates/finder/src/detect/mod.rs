//! Detectors, one module each behind one small trait (memlab's plug-in style). A detector
//! looks at the per-snapshot summaries, the survivor groups and the last snapshot, and
//! proposes [`Candidate`]s: a holder (container or anchor) in the last snapshot with its
//! measurements. Candidates for the same holder are merged into one finding later.

pub mod asyncs;
pub mod classes;
pub mod closures;
pub mod containers;
pub mod listeners;
pub mod survivors;
pub mod timers;

use crate::graph::Names;
use crate::model::{FindingKind, Pattern};
use crate::summary::SnapshotSummary;
use crate::survivors::Survivors;
use leakhound_snapshot::HeapSnapshot;

/// Everything a detector may look at.
pub struct Context<'a> {
    /// The last snapshot, fully analysed.
    pub snap: &'a HeapSnapshot,
    pub names: Names,
    /// One summary per snapshot, oldest first (the last one included).
    pub summaries: &'a [SnapshotSummary],
    pub survivors: &'a Survivors,
}

impl Context<'_> {
    pub fn snapshots(&self) -> usize {
        self.summaries.len()
    }

    /// Node id of an ordinal of the last snapshot.
    pub fn id(&self, n: u32) -> u32 {
        self.snap.raw().node_ids[n as usize]
    }

    /// Whether an id existed in snapshot `k` (0-based). Exact for the first snapshot; for
    /// later ones from the id ranges (an object alive at the end and first seen at or
    /// before snapshot k was alive at k).
    pub fn existed_at(&self, id: u32, k: usize) -> bool {
        if k == 0 {
            return self.summaries[0].has_id(id);
        }
        if id % 2 == 1 {
            id <= self.summaries[k].info.max_js_id
        } else {
            !self.summaries[k].ids.is_empty() && self.summaries[k].has_id(id)
                || self.summaries[0].has_id(id)
        }
    }
}

/// Where the finding's source line should come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationHint {
    /// The declaration of a variable (`const|let|var NAME`) in the script of the holder's
    /// closures, or of the closure `near`; NAME defaults to the last edge of the retainer
    /// path. Falls back to the closure that captures the holder context.
    Declaration {
        name: Option<String>,
        near: Option<u32>,
    },
    /// The start of this closure (listener, timer callback).
    Closure(u32),
    /// The constructor of this object (the snapshot's object location).
    Constructor(u32),
    None,
}

/// A detector's proposal: one holder with its evidence.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Ordinal, in the last snapshot, of the container / anchor that is the root cause.
    pub holder: u32,
    pub kind: FindingKind,
    pub pattern: Pattern,
    /// Class shown for the finding.
    pub class: String,
    /// Name of what holds it (event name, chain variable), when the detector knows better
    /// than the retainer path's last edge.
    pub edge: Option<String>,
    pub count_unit: String,
    pub counts: Vec<Option<u64>>,
    pub retained: Vec<Option<u64>>,
    pub location: LocationHint,
    pub evidence: Vec<String>,
    /// Wins when several detectors name the same holder (higher = more specific).
    pub priority: u8,
    /// An edge out of the holder to show as the last step of the retainer path (the variable
    /// of a module scope that points at a chain's head).
    pub tail_edge: Option<usize>,
    /// Roots of the dominator subtrees this candidate explains (a chain's top links); a
    /// weaker candidate whose `sample` lies under one of them is folded into this one.
    pub covers: Vec<u32>,
    /// One object this candidate is about (an instance of a growing class).
    pub sample: Option<u32>,
}

/// A leak detector.
pub trait Detector: Sync {
    fn name(&self) -> &'static str;
    fn detect(&self, cx: &Context<'_>) -> Vec<Candidate>;
}

/// The default detectors, most specific first.
pub fn all() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(asyncs::AsyncResources),
        Box::new(listeners::Listeners),
        Box::new(timers::Timers),
        Box::new(closures::ClosureChains),
        Box::new(containers::Containers),
        Box::new(classes::Classes),
        Box::new(survivors::RetainedGrowth),
    ]
}

/// Per-snapshot retained sizes of a holder id from the summaries, with the last snapshot's
/// exact value from the engine.
pub fn retained_series(cx: &Context<'_>, holder: u32) -> Vec<Option<u64>> {
    let id = cx.id(holder);
    let last = cx.summaries.len() - 1;
    (0..cx.summaries.len())
        .map(|k| {
            if k == last {
                Some(cx.snap.retained_size(holder))
            } else {
                cx.summaries[k].retained_of(id)
            }
        })
        .collect()
}
