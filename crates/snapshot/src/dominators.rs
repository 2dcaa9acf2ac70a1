//! The dominator tree and retained sizes (DevTools `calculateDominatorsAndRetainedSizes`).
//!
//! Lengauer–Tarjan, simple variant (path compression, no balancing), iterative DFS over
//! essential edges only, 1-based vertex numbers. So that every node gets a dominator,
//! DevTools' handling of unreachable nodes is kept exactly:
//! 1. DFS from the root;
//! 2. every unvisited node whose retainers are all non-essential gets the root as DFS
//!    parent and a DFS of its own;
//! 3. nodes still unvisited (cycles with no essential path from the root) are attached to
//!    the root one by one;
//! 4. in the main loop a node with no essential predecessor is treated as if only the root
//!    retained it.
//!
//! The root is its own dominator, so its retained size is the sum of all self sizes.

use crate::bitvec::BitVec;
use crate::format::RawSnapshot;
use crate::retainers::Retainers;

pub struct DominatorTree {
    /// Immediate dominator ordinal per node; the root is its own.
    pub dominator: Vec<u32>,
    /// Retained size per node (self size plus everything it dominates).
    pub retained: Vec<u64>,
    /// Nodes not reachable from the root over essential edges.
    pub unreachable: usize,
}

/// Runs Lengauer–Tarjan: [`dfs_from_root`] then [`finish`].
pub fn build(
    raw: &RawSnapshot,
    retainers: &Retainers,
    essential: &BitVec,
    self_sizes: &[u64],
) -> DominatorTree {
    finish(
        raw,
        retainers,
        essential,
        self_sizes,
        dfs_from_root(raw, essential),
    )
}

/// The DFS state of Lengauer–Tarjan's first step, indexed by 1-based vertex.
pub struct Dfs {
    parent: Vec<u32>,
    vertex: Vec<u32>,
    label: Vec<u32>,
    semi: Vec<u32>,
    /// Per node ordinal: the next edge to look at (the DFS cursor).
    next_edge: Vec<u32>,
    /// Vertices numbered so far.
    n: u32,
}

/// Step 1 from the root. It needs only the essential edges, not the retainers, so it can
/// run while the retainers are still being built.
pub fn dfs_from_root(raw: &RawSnapshot, essential: &BitVec) -> Dfs {
    let len = raw.node_count() + 1;
    let mut dfs = Dfs {
        parent: vec![0u32; len],
        vertex: vec![0u32; len],
        label: vec![0u32; len],
        semi: vec![0u32; len],
        next_edge: vec![0u32; len],
        n: 0,
    };
    dfs.walk(raw, essential, raw.root + 1);
    dfs
}

impl Dfs {
    /// Iterative DFS from vertex `start` (1-based), following essential edges in file order.
    fn walk(&mut self, raw: &RawSnapshot, essential: &BitVec, start: u32) {
        let first_edge = &raw.first_edge;
        let Dfs {
            parent,
            vertex,
            label,
            semi,
            next_edge,
            n,
        } = self;
        next_edge[(start - 1) as usize] = first_edge[(start - 1) as usize];
        let mut v = start;
        while v != 0 {
            if semi[v as usize] == 0 {
                *n += 1;
                semi[v as usize] = *n;
                vertex[*n as usize] = v;
                label[v as usize] = v;
            }
            let mut v_next = parent[v as usize];
            let vo = (v - 1) as usize;
            let end = first_edge[vo + 1];
            while next_edge[vo] < end {
                let e = next_edge[vo] as usize;
                if essential.get(e) {
                    let wo = raw.edge_to[e];
                    let w = wo + 1;
                    if semi[w as usize] == 0 {
                        parent[w as usize] = v;
                        next_edge[wo as usize] = first_edge[wo as usize];
                        v_next = w;
                        break;
                    }
                }
                next_edge[vo] += 1;
            }
            v = v_next;
        }
    }
}

/// Steps 2..4 (the nodes the root's DFS missed) and the rest of Lengauer–Tarjan, then the
/// retained sizes.
pub fn finish(
    raw: &RawSnapshot,
    retainers: &Retainers,
    essential: &BitVec,
    self_sizes: &[u64],
    mut dfs: Dfs,
) -> DominatorTree {
    let node_count = raw.node_count();
    let len = node_count + 1;
    let r = raw.root + 1;
    let mut unreachable = 0;
    if (dfs.n as usize) < node_count {
        unreachable = node_count - dfs.n as usize;
        for v in 1..=node_count as u32 {
            if dfs.semi[v as usize] == 0 && only_weak_retainers(retainers, essential, v - 1) {
                dfs.parent[v as usize] = r;
                dfs.walk(raw, essential, v);
            }
        }
    }
    let Dfs {
        mut parent,
        mut vertex,
        mut label,
        mut semi,
        next_edge,
        mut n,
    } = dfs;
    let mut ancestor = vec![0u32; len];
    if (n as usize) < node_count {
        for v in 1..=node_count as u32 {
            if semi[v as usize] == 0 {
                parent[v as usize] = r;
                n += 1;
                semi[v as usize] = n;
                vertex[n as usize] = v;
                label[v as usize] = v;
            }
        }
    }

    // Buckets as singly linked lists: bucket_head[v] -> w -> bucket_next[w] -> ...
    // The DFS cursor array is dead now; reuse its memory for the links.
    let mut bucket_next = next_edge;
    bucket_next.fill(0);
    let mut bucket_head = vec![0u32; len];
    let mut dom = vec![0u32; len];
    let mut compress_stack: Vec<u32> = Vec::new();

    let mut eval = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
        if ancestor[v as usize] == 0 {
            return v;
        }
        // compress(v)
        compress_stack.clear();
        let mut x = v;
        while ancestor[ancestor[x as usize] as usize] != 0 {
            compress_stack.push(x);
            x = ancestor[x as usize];
        }
        while let Some(w) = compress_stack.pop() {
            let a = ancestor[w as usize];
            if semi[label[a as usize] as usize] < semi[label[w as usize] as usize] {
                label[w as usize] = label[a as usize];
            }
            ancestor[w as usize] = ancestor[a as usize];
        }
        label[v as usize]
    };

    for i in (2..=n).rev() {
        let w = vertex[i as usize];
        let wo = w - 1;
        let mut orphan = true;
        for slot in retainers.range(wo) {
            if !essential.get(retainers.edge[slot] as usize) {
                continue;
            }
            orphan = false;
            let v = retainers.node[slot] + 1;
            let u = eval(v, &mut ancestor, &mut label, &semi);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        if orphan {
            semi[w as usize] = semi[r as usize];
        }
        let s = vertex[semi[w as usize] as usize];
        bucket_next[w as usize] = bucket_head[s as usize];
        bucket_head[s as usize] = w;
        let pw = parent[w as usize];
        ancestor[w as usize] = pw; // link(parent[w], w)
        let mut v = bucket_head[pw as usize];
        bucket_head[pw as usize] = 0;
        while v != 0 {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                pw
            };
            v = bucket_next[v as usize];
        }
    }
    dom[0] = r;
    dom[r as usize] = r;
    // Only `vertex`, `semi` and `dom` are needed from here on: free the rest before the
    // result arrays are allocated, so the peak stays at the main loop's.
    drop((
        parent,
        ancestor,
        label,
        bucket_next,
        bucket_head,
        compress_stack,
    ));
    for i in 2..=n {
        let w = vertex[i as usize];
        if dom[w as usize] != vertex[semi[w as usize] as usize] {
            dom[w as usize] = dom[dom[w as usize] as usize];
        }
    }
    drop(semi);

    // From 1-based vertices to ordinals, in place.
    let mut dominator = dom;
    for o in 0..node_count {
        dominator[o] = dominator[o + 1].wrapping_sub(1);
    }
    dominator.truncate(node_count);
    let mut retained = self_sizes.to_vec();
    for i in (2..=n).rev() {
        let o = (vertex[i as usize] - 1) as usize;
        let d = dominator[o] as usize;
        retained[d] += retained[o];
    }
    DominatorTree {
        dominator,
        retained,
        unreachable,
    }
}

fn only_weak_retainers(retainers: &Retainers, essential: &BitVec, ordinal: u32) -> bool {
    retainers
        .range(ordinal)
        .all(|slot| !essential.get(retainers.edge[slot] as usize))
}

/// Children of each node in the dominator tree, CSR form (DevTools `buildDominatedNodes`).
pub struct DominatedNodes {
    pub first: Vec<u32>,
    pub nodes: Vec<u32>,
}

impl DominatedNodes {
    pub fn build(dominator: &[u32], root: u32) -> DominatedNodes {
        let n = dominator.len();
        let mut first = vec![0u32; n + 1];
        for (o, &d) in dominator.iter().enumerate() {
            if o as u32 != root {
                first[d as usize + 1] += 1;
            }
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut cursor = first[..n].to_vec();
        let mut nodes = vec![0u32; n.saturating_sub(1)];
        for (o, &d) in dominator.iter().enumerate() {
            if o as u32 != root {
                nodes[cursor[d as usize] as usize] = o as u32;
                cursor[d as usize] += 1;
            }
        }
        DominatedNodes { first, nodes }
    }

    pub fn children(&self, ordinal: u32) -> &[u32] {
        &self.nodes
            [self.first[ordinal as usize] as usize..self.first[ordinal as usize + 1] as usize]
    }
}
