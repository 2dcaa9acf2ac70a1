//! Property tests: random valid snapshots (written by the test-side writer) round-trip
//! through the parser exactly; random mutations and truncations never panic.

mod parser_util;

use leakhound_snapshot::{parse_file_split_at, parse_reader, EdgeType, NodeType, RawSnapshot};
use parser_util::{Node, Snap, TraceTreeNode, EDGE_TYPES, FIELDS7, NODE_TYPES};
use proptest::prelude::*;

/// A trace tree node as the parser flattens it: (id, function_info_index, count, size, parent).
type FlatTrace = (u32, u32, u32, u64, u32);

#[derive(Debug, Clone)]
struct Case {
    snap: Snap,
    /// Expected trace tree in pre-order: (id, function_info_index, count, size, parent).
    trace_preorder: Vec<FlatTrace>,
}

fn layouts() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        Just(FIELDS7.to_vec()),
        Just(FIELDS7[..6].to_vec()),
        Just(vec![
            "type",
            "name",
            "id",
            "self_size",
            "edge_count",
            "detachedness"
        ]),
        Just(vec![
            "detachedness",
            "edge_count",
            "self_size",
            "future",
            "id",
            "name",
            "type"
        ]),
    ]
    .prop_map(|v| v.into_iter().map(String::from).collect())
}

fn string_units() -> impl Strategy<Value = Vec<u16>> {
    prop::collection::vec(
        prop_oneof![
            4 => 0x20u16..0x7f,
            1 => 0u16..0x20,
            1 => 0x80u16..0x800,
            1 => 0xd800u16..0xe000, // surrogates, paired or not
            1 => 0xe000u16..=0xffff,
        ],
        0..12,
    )
}

fn build_tree(
    parents: &[Option<usize>],
    vals: &[(u32, u32, u64)],
    n_infos: u32,
) -> (Vec<TraceTreeNode>, Vec<FlatTrace>) {
    // children lists by generation index; parents[i] < i.
    let n = parents.len();
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for (i, p) in parents.iter().enumerate() {
        match p {
            Some(p) => kids[*p].push(i),
            None => roots.push(i),
        }
    }
    fn make(
        i: usize,
        kids: &[Vec<usize>],
        vals: &[(u32, u32, u64)],
        n_infos: u32,
    ) -> TraceTreeNode {
        TraceTreeNode {
            id: i as u32 + 1,
            function_info_index: vals[i].0 % n_infos,
            count: vals[i].1,
            size: vals[i].2,
            children: kids[i]
                .iter()
                .map(|&c| make(c, kids, vals, n_infos))
                .collect(),
        }
    }
    let tree: Vec<TraceTreeNode> = roots
        .iter()
        .map(|&r| make(r, &kids, vals, n_infos))
        .collect();
    fn pre(t: &TraceTreeNode, parent: u32, out: &mut Vec<FlatTrace>) {
        let me = out.len() as u32;
        out.push((t.id, t.function_info_index, t.count, t.size, parent));
        for c in &t.children {
            pre(c, me, out);
        }
    }
    let mut order = Vec::new();
    for t in &tree {
        pre(t, u32::MAX, &mut order);
    }
    (tree, order)
}

fn cases() -> impl Strategy<Value = Case> {
    (
        layouts(),
        prop::collection::vec(string_units(), 0..8),
        1usize..24,
        any::<bool>(), // append unknown node type
        any::<bool>(), // newlines
        prop::option::of(any::<u64>()),
        any::<u64>(), // seed for the rest
    )
        .prop_flat_map(
            |(fields, strings, n_nodes, unknown_type, newlines, extra, _)| {
                let n_strings = strings.len() + 1;
                let n_types = if unknown_type { 17u64 } else { 16 };
                let node = (
                    0..n_types,
                    0..n_strings as u64,
                    any::<u32>(),
                    any::<u64>(),
                    0u64..4,
                    any::<u32>(),
                    0u64..3,
                );
                let edge = (0u64..7, any::<u32>(), 0..n_nodes as u64);
                (
                    Just((fields, strings, n_nodes, unknown_type, newlines, extra)),
                    prop::collection::vec(node, n_nodes),
                    prop::collection::vec(edge, 0..(n_nodes * 4)),
                    prop::collection::vec(
                        (0..n_nodes as u64, any::<u32>(), any::<u32>(), any::<u32>()),
                        0..5,
                    ),
                    prop::collection::vec(
                        (
                            any::<u32>(),
                            0..n_strings as u64,
                            0..n_strings as u64,
                            any::<u32>(),
                            any::<u32>(),
                            any::<u32>(),
                        ),
                        1..4,
                    ),
                    prop::collection::vec(
                        (
                            any::<prop::sample::Index>(),
                            any::<bool>(),
                            (any::<u32>(), any::<u32>(), any::<u64>()),
                        ),
                        0..12,
                    ),
                    prop::collection::vec((any::<u64>(), any::<u32>()), 0..4),
                    0..n_nodes as u64,
                )
            },
        )
        .prop_map(
            |(
                (fields, strings, n_nodes, unknown_type, newlines, extra),
                nodes,
                edges,
                locs,
                tfis,
                trace,
                samples,
                root,
            )| {
                let mut snap = Snap {
                    node_fields: fields,
                    newlines,
                    extra_native_bytes: extra,
                    ..Snap::default()
                };
                if unknown_type {
                    snap.node_types.push("hologram".into());
                }
                snap.strings.extend(strings);
                let nf = snap.nf();
                let n_strings = snap.strings.len() as u64;
                // Distribute the edges over the nodes in order.
                let mut per_node = vec![0u64; n_nodes];
                for (i, _) in edges.iter().enumerate() {
                    per_node[(i * 7919) % n_nodes] += 1;
                }
                snap.nodes = nodes
                    .iter()
                    .zip(&per_node)
                    .map(|(&(ty, name, id, self_size, _, trace, det), &ec)| Node {
                        ty,
                        name,
                        id: u64::from(id),
                        self_size,
                        edge_count: ec,
                        trace_node_id: u64::from(trace),
                        detachedness: det,
                    })
                    .collect();
                snap.edges = edges
                    .iter()
                    .map(|&(ty, name, to)| {
                        let name = if ty == 1 || ty == 4 {
                            u64::from(name)
                        } else {
                            u64::from(name) % n_strings
                        };
                        (ty, name, to * nf)
                    })
                    .collect();
                snap.locations = Some(
                    locs.iter()
                        .map(|&(n, s, l, c)| [n * nf, u64::from(s), u64::from(l), u64::from(c)])
                        .collect(),
                );
                snap.trace_function_infos = Some(
                    tfis.iter()
                        .map(|&(f, n, s, id, l, c)| {
                            [
                                u64::from(f),
                                n,
                                s,
                                u64::from(id),
                                u64::from(l),
                                u64::from(c),
                            ]
                        })
                        .collect(),
                );
                let parents: Vec<Option<usize>> = trace
                    .iter()
                    .enumerate()
                    .map(|(i, (idx, root, _))| {
                        if i == 0 || *root {
                            None
                        } else {
                            Some(idx.index(i))
                        }
                    })
                    .collect();
                let vals: Vec<(u32, u32, u64)> = trace.iter().map(|t| t.2).collect();
                let (tree, trace_preorder) = build_tree(&parents, &vals, tfis.len() as u32);
                snap.trace_tree = Some(tree);
                snap.samples = Some(samples.iter().map(|&(t, l)| (t, u64::from(l))).collect());
                snap.root_index = if root == 0 { None } else { Some(root * nf) };
                Case {
                    snap,
                    trace_preorder,
                }
            },
        )
}

fn check(case: &Case, raw: &RawSnapshot) {
    let s = &case.snap;
    let nf = s.nf();
    let has = |f: &str| s.node_fields.iter().any(|x| x == f);
    assert_eq!(u64::from(raw.node_field_count), nf);
    assert_eq!(raw.has_detachedness, has("detachedness"));
    assert_eq!(raw.node_count(), s.nodes.len());
    assert_eq!(raw.node_type_names, s.node_types);
    assert_eq!(raw.edge_type_names, EDGE_TYPES);
    let mut first = 0u64;
    for (i, n) in s.nodes.iter().enumerate() {
        let expect_ty = if (n.ty as usize) < NODE_TYPES.len() {
            NodeType::from_name(NODE_TYPES[n.ty as usize])
        } else {
            NodeType::Unknown
        };
        assert_eq!(raw.node_types[i], expect_ty);
        assert_eq!(u64::from(raw.node_names[i]), n.name);
        assert_eq!(u64::from(raw.node_ids[i]), n.id);
        assert_eq!(raw.node_self_sizes[i], n.self_size);
        assert_eq!(
            u64::from(raw.trace_node_id(i as u32)),
            if has("trace_node_id") {
                n.trace_node_id
            } else {
                0
            }
        );
        assert_eq!(
            u64::from(raw.node_detachedness[i]),
            if has("detachedness") {
                n.detachedness
            } else {
                0
            }
        );
        assert_eq!(u64::from(raw.first_edge[i]), first);
        first += n.edge_count;
    }
    assert_eq!(u64::from(raw.first_edge[s.nodes.len()]), first);
    assert_eq!(raw.edge_count(), s.edges.len());
    for (i, e) in s.edges.iter().enumerate() {
        assert_eq!(
            raw.edge_types[i],
            EdgeType::from_name(EDGE_TYPES[e.0 as usize])
        );
        assert_eq!(u64::from(raw.edge_names[i]), e.1);
        assert_eq!(u64::from(raw.edge_to[i]) * nf, e.2);
    }
    assert_eq!(raw.strings.len(), s.strings.len());
    for (i, units) in s.strings.iter().enumerate() {
        assert_eq!(
            raw.strings.get(i as u32),
            String::from_utf16_lossy(units),
            "string {i}"
        );
    }
    let locs = s.locations.as_ref().unwrap();
    assert_eq!(raw.locations.len(), locs.len());
    for (l, g) in raw.locations.iter().zip(locs) {
        assert_eq!(
            [
                u64::from(l.node) * nf,
                u64::from(l.script_id),
                u64::from(l.line),
                u64::from(l.column)
            ],
            *g
        );
    }
    let tfis = s.trace_function_infos.as_ref().unwrap();
    assert_eq!(raw.trace_function_infos.len(), tfis.len());
    for (f, g) in raw.trace_function_infos.iter().zip(tfis) {
        assert_eq!(
            [
                f.function_id,
                f.name,
                f.script_name,
                f.script_id,
                f.line,
                f.column
            ]
            .map(u64::from),
            *g
        );
    }
    let got: Vec<FlatTrace> = raw
        .trace_tree
        .iter()
        .map(|t| (t.id, t.function_info_index, t.count, t.size, t.parent))
        .collect();
    assert_eq!(got, case.trace_preorder);
    let samples: Vec<(u64, u64)> = raw
        .samples
        .iter()
        .map(|&(a, b)| (a, u64::from(b)))
        .collect();
    assert_eq!(&samples, s.samples.as_ref().unwrap());
    assert_eq!(raw.extra_native_bytes, s.extra_native_bytes.unwrap_or(0));
    assert_eq!(u64::from(raw.root), s.root_index.unwrap_or(0) / nf);
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(prop::sample::Index, u8),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, Vec<u8>),
    Duplicate(prop::sample::Index, usize),
    Truncate(prop::sample::Index),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let m = prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<prop::sample::Index>(), 1usize..20).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(
                prop_oneof![
                    Just(b'['),
                    Just(b']'),
                    Just(b'{'),
                    Just(b'}'),
                    Just(b','),
                    Just(b'"'),
                    Just(b'\\'),
                    Just(b'9'),
                    any::<u8>()
                ],
                1..8
            )
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ];
    prop::collection::vec(m, 1..4)
}

fn apply(bytes: &mut Vec<u8>, muts: &[Mutation]) {
    for m in muts {
        if bytes.is_empty() {
            return;
        }
        match m {
            Mutation::Flip(i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            Mutation::Delete(i, n) => {
                let i = i.index(bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Mutation::Insert(i, v) => {
                let i = i.index(bytes.len());
                bytes.splice(i..i, v.iter().copied());
            }
            Mutation::Duplicate(i, n) => {
                let i = i.index(bytes.len());
                let end = (i + n).min(bytes.len());
                let piece = bytes[i..end].to_vec();
                bytes.splice(i..i, piece);
            }
            Mutation::Truncate(i) => {
                let i = i.index(bytes.len());
                bytes.truncate(i);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_snapshots_round_trip(case in cases()) {
        let json = case.snap.to_json();
        let raw = parse_reader(json.as_bytes(), &mut |_| {}).map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        check(&case, &raw);
    }

    #[test]
    fn mutations_never_panic(case in cases(), muts in mutations()) {
        let mut bytes = case.snap.to_json().into_bytes();
        apply(&mut bytes, &muts);
        // Ok or Err, but never a panic; an Err renders as one line.
        if let Err(e) = parse_reader(bytes.as_slice(), &mut |_| {}) {
            let msg = e.to_string();
            prop_assert!(!msg.contains('\n'), "{}", msg);
        }
    }

    #[test]
    fn truncations_are_errors(case in cases(), cut in any::<prop::sample::Index>()) {
        let bytes = case.snap.to_json().into_bytes();
        let cut = cut.index(bytes.len());
        let result = parse_reader(&bytes[..cut], &mut |_| {});
        prop_assert!(result.is_err(), "a prefix of {} bytes parsed", cut);
    }

    /// The two-thread parse of a file agrees with the one-thread parse wherever the cut
    /// falls, and never accepts a file that one thread rejects.
    #[test]
    fn split_parse_agrees_with_one_thread(
        case in cases(),
        muts in prop::option::of(mutations()),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = case.snap.to_json().into_bytes();
        if let Some(muts) = &muts {
            apply(&mut bytes, muts);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.heapsnapshot");
        std::fs::write(&path, &bytes).unwrap();
        let earliest = cut.index(bytes.len().max(1)) as u64;
        let one = parse_reader(bytes.as_slice(), &mut |_| {});
        match (one, parse_file_split_at(&path, earliest)) {
            (Ok(a), Ok((b, _))) => prop_assert_eq!(format!("{:?}", a), format!("{:?}", b)),
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => prop_assert!(muts.is_some(), "a valid file failed split: {}", e),
            (Err(e), Ok(_)) => prop_assert!(false, "split accepted what one thread rejects: {}", e),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_reader(bytes.as_slice(), &mut |_| {});
        let mut braced = b"{\"snapshot\":".to_vec();
        braced.extend_from_slice(&bytes);
        let _ = parse_reader(braced.as_slice(), &mut |_| {});
    }
}
