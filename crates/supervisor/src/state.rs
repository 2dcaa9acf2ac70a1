//! What the supervisor knows right now, shared by the instance tasks (writers) and the
//! metrics endpoint (reader). One mutex, held only to copy numbers in or out.

use crate::agent::AgentSample;
use crate::procfs::CgroupMemory;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct InstanceState {
    pub pid: Option<i32>,
    pub up: bool,
    pub generation: u64,
    /// Process-group sums.
    pub rss: u64,
    pub vsize: u64,
    pub cpu_seconds: f64,
    /// Of the group leader.
    pub start_time_seconds: f64,
    pub hwm: u64,
    pub agent: Option<AgentSample>,
    pub node_version: Option<String>,
    pub heap_after_gc: Option<u64>,
    pub heap_limit: Option<u64>,
    pub leak_suspected: bool,
    pub growth_bytes_per_second: f64,
    pub seconds_to_limit: Option<f64>,
    /// Restarts by reason (crash, memory_limit, requested).
    pub restarts: BTreeMap<String, u64>,
    /// Snapshots by reason (baseline, alert, before_restart, requested).
    pub snapshots: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct State {
    pub instances: Vec<InstanceState>,
    pub cgroup: Option<CgroupMemory>,
}

pub type Shared = Arc<Mutex<State>>;

pub fn new_shared(instances: usize) -> Shared {
    Arc::new(Mutex::new(State {
        instances: vec![InstanceState::default(); instances],
        cgroup: None,
    }))
}

/// Runs `f` on instance `idx` (a poisoned lock is taken over: the data are plain numbers).
pub fn with_instance<R>(shared: &Shared, idx: usize, f: impl FnOnce(&mut InstanceState) -> R) -> R {
    let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
    if g.instances.len() <= idx {
        g.instances.resize(idx + 1, InstanceState::default());
    }
    f(&mut g.instances[idx])
}
