//! Unit tests of the analyses on small hand-built graphs.

use crate::format::{EdgeType as E, NodeType as N};
use crate::testgraph::GraphBuilder;
use crate::{HeapSnapshot, BASE_SYSTEM_DISTANCE, NO_DISTANCE};

/// root -shortcut-> global; global.a -> A; global.b -> B; A.x -> C; B.y -> C; C.z -> D.
fn diamond() -> (GraphBuilder, [u32; 6]) {
    let mut g = GraphBuilder::new();
    let gc = g.node(N::Synthetic, "(GC roots)", 0);
    let global = g.node(N::Object, "global", 10);
    let a = g.node(N::Object, "A", 100);
    let b = g.node(N::Object, "B", 200);
    let c = g.node(N::Object, "C", 300);
    let d = g.node(N::Object, "D", 400);
    g.edge(0, E::Element, "1", gc)
        .edge(0, E::Shortcut, "global", global)
        .edge(global, E::Property, "a", a)
        .edge(global, E::Property, "b", b)
        .edge(a, E::Property, "x", c)
        .edge(b, E::Property, "y", c)
        .edge(c, E::Property, "z", d);
    (g, [gc, global, a, b, c, d])
}

#[test]
fn dominators_and_retained_sizes_of_a_diamond() {
    let (g, [gc, global, a, b, c, d]) = diamond();
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.dominator(0), 0, "the root is its own dominator");
    assert_eq!(s.dominator(global), 0);
    assert_eq!(s.dominator(a), global);
    assert_eq!(s.dominator(b), global);
    assert_eq!(s.dominator(c), global, "C is reachable through A and B");
    assert_eq!(s.dominator(d), c);
    assert_eq!(s.dominator(gc), 0);
    assert_eq!(s.retained_size(d), 400);
    assert_eq!(s.retained_size(c), 700);
    assert_eq!(s.retained_size(a), 100);
    assert_eq!(s.retained_size(global), 1010);
    assert_eq!(s.retained_size(0), 1010, "root retains everything");
    assert_eq!(s.total_size(), 1010);
}

#[test]
fn distances_from_user_roots_and_system_roots() {
    let (mut g, [gc, global, _a, _b, c, d]) = diamond();
    let sys = g.node(N::Synthetic, "(Handle scope)", 0);
    let internal = g.node(N::Object, "Internal", 8);
    let lonely = g.node(N::Object, "Lonely", 8);
    g.edge(gc, E::Element, "1", sys)
        .edge(sys, E::Element, "1", internal);
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.distance(global), 1);
    assert_eq!(s.distance(c), 3);
    assert_eq!(s.distance(d), 4);
    assert_eq!(s.distance(0), BASE_SYSTEM_DISTANCE);
    assert_eq!(s.distance(gc), BASE_SYSTEM_DISTANCE + 1);
    assert_eq!(s.distance(internal), BASE_SYSTEM_DISTANCE + 3);
    assert_eq!(s.distance(lonely), NO_DISTANCE);
    // Unreachable, no retainers at all: attached under the root.
    assert_eq!(s.dominator(lonely), 0);
}

#[test]
fn weak_edges_neither_retain_nor_give_distance() {
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 10);
    let held = g.node(N::Object, "Held", 50);
    let weakly = g.node(N::Object, "Weakly", 70);
    g.edge(0, E::Shortcut, "global", global)
        .edge(global, E::Property, "held", held)
        .edge(held, E::Weak, "w", weakly);
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.distance(weakly), NO_DISTANCE);
    assert_eq!(
        s.dominator(weakly),
        0,
        "only weak retainers: dominated by the root"
    );
    assert_eq!(s.retained_size(held), 50);
    assert_eq!(s.retained_size(0), 130);
}

#[test]
fn owned_arrays_fold_into_their_single_owner() {
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 10);
    let obj = g.node(N::Object, "Foo", 24);
    let props = g.node(N::Array, "(object properties)", 40);
    let shared = g.node(N::Hidden, "system / Shared", 16);
    let other = g.node(N::Object, "Bar", 8);
    g.edge(0, E::Shortcut, "global", global)
        .edge(global, E::Property, "foo", obj)
        .edge(global, E::Property, "bar", other)
        .edge(obj, E::Internal, "properties", props)
        .edge(obj, E::Internal, "s", shared)
        .edge(other, E::Internal, "s", shared);
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.self_size(obj), 64, "the properties array moves into Foo");
    assert_eq!(s.self_size(props), 0);
    assert_eq!(s.self_size(shared), 16, "two owners: stays");
    assert_eq!(
        s.total_size(),
        10 + 24 + 40 + 16 + 8,
        "totals are unchanged"
    );
    let rows = s.aggregates();
    assert!(
        rows.iter().all(|r| r.name != "(array)"),
        "zero-size rows are skipped"
    );
}

#[test]
fn no_user_roots_keeps_raw_sizes_and_no_system_offset() {
    let mut g = GraphBuilder::new();
    let gc = g.node(N::Synthetic, "(GC roots)", 0);
    let obj = g.node(N::Object, "Foo", 24);
    let props = g.node(N::Array, "(object properties)", 40);
    g.edge(0, E::Element, "1", gc)
        .edge(gc, E::Element, "1", obj)
        .edge(obj, E::Internal, "p", props);
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.self_size(props), 40);
    assert_eq!(s.distance(0), 0);
    assert_eq!(s.distance(obj), 2);
}

#[test]
fn class_retained_size_does_not_count_nested_instances_twice() {
    // global -> Node1 -> Node2 -> Node3 (a linked list of the same class).
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 10);
    let n1 = g.node(N::Object, "ListNode", 10);
    let n2 = g.node(N::Object, "ListNode", 10);
    let n3 = g.node(N::Object, "ListNode", 10);
    g.edge(0, E::Shortcut, "global", global)
        .edge(global, E::Property, "head", n1)
        .edge(n1, E::Property, "next", n2)
        .edge(n2, E::Property, "next", n3);
    let s = HeapSnapshot::analyze(g.build());
    let row = s
        .aggregates()
        .into_iter()
        .find(|r| r.name == "ListNode")
        .unwrap();
    assert_eq!(row.count, 3);
    assert_eq!(row.self_size, 30);
    assert_eq!(row.retained_size, 30, "only the outermost instance counts");
    assert_eq!(row.distance, 2);
    assert_eq!(row.key, ",ListNode");
}

#[test]
fn class_names_by_type() {
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 1);
    let f = g.node(N::Closure, "handler", 32);
    let code = g.node(N::Code, "bytecode", 64);
    let h = g.node(N::Hidden, "system / Context", 16);
    let st = g.node(N::String, "hello", 16);
    let div = g.node(N::Native, "<div id=\"x\">", 16);
    for (i, n) in [f, code, h, st, div].into_iter().enumerate() {
        g.edge(global, E::Property, &format!("p{i}"), n);
    }
    g.edge(0, E::Shortcut, "global", global);
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.class_name(f), "Function");
    assert_eq!(s.class_name(code), "(compiled code)");
    assert_eq!(s.class_name(h), "(system)");
    assert_eq!(s.class_name(st), "(string)");
    assert_eq!(s.class_name(div), "<div>");
}

#[test]
fn plain_objects_get_interface_classes() {
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 1);
    g.edge(0, E::Shortcut, "global", global);
    let mut points = Vec::new();
    for i in 0..3 {
        let p = g.node(N::Object, "Object", 16);
        let x = g.node(N::Number, "heap number", 16);
        g.edge(global, E::Element, &i.to_string(), p);
        g.edge(p, E::Property, "x", x).edge(p, E::Property, "y", x);
        points.push(p);
    }
    // An object with more properties than the interface still matches it.
    let wide = g.node(N::Object, "Object", 16);
    let v = g.node(N::Number, "heap number", 16);
    g.edge(global, E::Property, "wide", wide);
    g.edge(wide, E::Property, "x", v)
        .edge(wide, E::Property, "y", v)
        .edge(wide, E::Property, "z", v);
    let lone = g.node(N::Object, "Object", 16);
    g.edge(global, E::Property, "lone", lone)
        .edge(lone, E::Property, "q", v);
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.class_name(points[0]), "{x, y}");
    assert_eq!(s.class_name(wide), "{x, y}");
    assert_eq!(
        s.class_name(lone),
        "Object",
        "a shape used once is not an interface"
    );
    assert_eq!(s.display_name(wide), "{x, y, z}");
}

#[test]
fn location_splits_class_keys() {
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 1);
    let a = g.node(N::Object, "Item", 16);
    let b = g.node(N::Object, "Item", 16);
    g.edge(0, E::Shortcut, "global", global)
        .edge(global, E::Property, "a", a)
        .edge(global, E::Property, "b", b);
    let mut raw = g.build();
    raw.locations.push(crate::Location {
        node: a,
        script_id: 7,
        line: 3,
        column: 9,
    });
    raw.locations.push(crate::Location {
        node: b,
        script_id: 8,
        line: 1,
        column: 2,
    });
    let s = HeapSnapshot::analyze(raw);
    assert_eq!(s.class_key(a), "7,3,9,Item");
    assert_eq!(s.class_key(b), "8,1,2,Item");
    assert_eq!(
        s.aggregates().iter().filter(|r| r.name == "Item").count(),
        2
    );
}

#[test]
fn weakmap_value_is_dominated_by_its_key_not_the_table() {
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 1);
    let table = g.node_with_id(N::Array, "(WeakMap table)", 64, 31);
    let key = g.node_with_id(N::Object, "Key", 16, 25);
    let value = g.node_with_id(N::Object, "Value", 100, 27);
    let name_t = "1 / part of key (Key @25) -> value (Value @27) pair in WeakMap (table @31)";
    let name_k = "2 / part of key (Key @25) -> value (Value @27) pair in WeakMap (table @31)";
    g.edge(0, E::Shortcut, "global", global)
        .edge(global, E::Property, "wm", table)
        .edge(global, E::Property, "k", key)
        .edge(table, E::Internal, name_t, value)
        .edge(key, E::Internal, name_k, value);
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.dominator(value), key);
    assert_eq!(s.retained_size(key), 116);
    // Distance: the first-seen half is skipped, the value gets max(table, key) + 1.
    assert_eq!(s.distance(value), 3);
}

#[test]
fn diff_matches_objects_by_id() {
    let mk = |ids: &[u32]| {
        let mut g = GraphBuilder::new();
        let global = g.node_with_id(N::Object, "global", 10, 3);
        g.edge(0, E::Shortcut, "global", global);
        for &id in ids {
            let n = g.node_with_id(N::Object, "Foo", 8, id);
            g.edge(global, E::Element, &id.to_string(), n);
        }
        HeapSnapshot::analyze(g.build())
    };
    let base = mk(&[11, 13, 15]);
    let target = mk(&[13, 15, 17, 19]);
    let rows = crate::diff(&base, &target);
    let foo = rows.iter().find(|r| r.name == "Foo").unwrap();
    assert_eq!(
        (foo.added_count, foo.removed_count, foo.count_delta),
        (2, 1, 1)
    );
    assert_eq!(
        (foo.added_size, foo.removed_size, foo.size_delta),
        (16, 8, 8)
    );
    assert!(
        rows.iter().all(|r| r.name != "global"),
        "unchanged classes are dropped"
    );
}

#[test]
fn retaining_paths_end_at_user_roots() {
    let (g, [_gc, global, a, b, c, d]) = diamond();
    let s = HeapSnapshot::analyze(g.build());
    let paths = s.retaining_paths(d, 10, 5);
    assert_eq!(paths.len(), 2);
    let shown: Vec<String> = paths
        .iter()
        .map(|p| {
            p.iter()
                .map(|st| format!("{}{}", s.node_name(st.from), s.edge_display(st.edge)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(shown.contains(&"global.a A.x C.z".to_string()), "{shown:?}");
    assert!(shown.contains(&"global.b B.y C.z".to_string()), "{shown:?}");
    let _ = (a, b, c, global);
}

#[test]
fn ids_resolve_to_ordinals() {
    let (g, [_, global, ..]) = diamond();
    let s = HeapSnapshot::analyze(g.build());
    assert_eq!(s.ordinal_of_id(s.node_id(global)), Some(global));
    assert_eq!(s.ordinal_of_id(999_999), None);
}

#[test]
fn statistics_slices() {
    let mut g = GraphBuilder::new();
    let global = g.node(N::Object, "global", 10);
    let arr = g.node(N::Object, "Array", 32);
    let elems = g.node(N::Array, "(object elements)", 100);
    let code = g.node(N::Code, "code", 50);
    let s1 = g.node(N::String, "s", 20);
    let buf = g.node(N::Native, "system / JSArrayBufferData", 1000);
    g.edge(0, E::Shortcut, "global", global)
        .edge(global, E::Property, "arr", arr)
        .edge(arr, E::Internal, "elements", elems)
        .edge(global, E::Property, "c", code)
        .edge(global, E::Property, "s", s1)
        .edge(global, E::Property, "b", buf);
    let s = HeapSnapshot::analyze(g.build());
    let st = s.statistics();
    assert_eq!(st.total, 1212);
    assert_eq!(st.native.total, 1000);
    assert_eq!(st.native.typed_arrays, 1000);
    assert_eq!(st.v8heap.total, 212);
    assert_eq!(st.v8heap.code, 50);
    assert_eq!(st.v8heap.strings, 20);
    // The elements store moved into the array (shallow reassignment): 132, plus 0.
    assert_eq!(st.v8heap.js_arrays, 132);
}

#[test]
fn script_names_follow_node_20_and_older_edge_names() {
    for script_edge in ["script", "script_or_debug_info"] {
        let mut g = GraphBuilder::new();
        let global = g.node(N::Object, "global", 1);
        let f = g.node(N::Closure, "handler", 32);
        let sfi = g.node(N::Code, "handler", 40);
        let script = g.node(N::Code, "system / Script", 40);
        let path = g.node(N::String, "/srv/app/server.js", 32);
        g.edge(0, E::Shortcut, "global", global)
            .edge(global, E::Property, "h", f)
            .edge(f, E::Internal, "shared", sfi)
            .edge(sfi, E::Internal, script_edge, script)
            .edge(script, E::Internal, "name", path);
        let mut raw = g.build();
        raw.locations.push(crate::Location {
            node: f,
            script_id: 42,
            line: 22,
            column: 4,
        });
        let s = HeapSnapshot::analyze(raw);
        assert_eq!(
            s.script_name(42),
            Some("/srv/app/server.js"),
            "via {script_edge}"
        );
        assert_eq!(s.location(f).map(|l| l.line), Some(22));
    }
}
