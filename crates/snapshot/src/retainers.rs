//! Reverse edges (retainers) in CSR form, built by counting sort over all edges.

use crate::format::RawSnapshot;

/// For node `n`, its retainers are `first[n]..first[n + 1]` in `edge` (the retaining edge
/// index) and `node` (the retaining node's ordinal).
#[derive(Debug, Clone, Default)]
pub struct Retainers {
    pub first: Vec<u32>,
    pub edge: Vec<u32>,
    pub node: Vec<u32>,
}

impl Retainers {
    pub fn build(raw: &RawSnapshot) -> Retainers {
        let n = raw.node_count();
        let m = raw.edge_count();
        let mut first = vec![0u32; n + 1];
        for &to in &raw.edge_to {
            first[to as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut cursor: Vec<u32> = first[..n].to_vec();
        let mut edge = vec![0u32; m];
        let mut node = vec![0u32; m];
        for src in 0..n as u32 {
            for e in raw.edges_of(src) {
                let to = raw.edge_to[e] as usize;
                let slot = cursor[to] as usize;
                cursor[to] += 1;
                edge[slot] = e as u32;
                node[slot] = src;
            }
        }
        Retainers { first, edge, node }
    }

    #[inline]
    pub fn range(&self, ordinal: u32) -> std::ops::Range<usize> {
        self.first[ordinal as usize] as usize..self.first[ordinal as usize + 1] as usize
    }

    pub fn count(&self, ordinal: u32) -> usize {
        self.range(ordinal).len()
    }
}
