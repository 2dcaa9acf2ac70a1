//! Unit tests on hand-written snapshots.

use super::{parse_chunked, parse_reader, ParseError};
use crate::format::{EdgeType, NodeType, RawSnapshot};

const NODE_TYPES: &str = r#"["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"]"#;
const EDGE_TYPES: &str =
    r#"["context","element","property","internal","hidden","shortcut","weak"]"#;

/// A snapshot with the given node field names, node types list, counts and sections.
fn doc(
    fields: &str,
    node_types: &str,
    header_extra: &str,
    sections: &str,
    nc: u64,
    ec: u64,
) -> String {
    format!(
        r#"{{"snapshot":{{"meta":{{"node_fields":[{fields}],"node_types":[{node_types},"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[{EDGE_TYPES},"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]}},"node_count":{nc},"edge_count":{ec},"trace_function_count":0{header_extra}}},
{sections}}}"#
    )
}

const F7: &str = r#""type","name","id","self_size","edge_count","trace_node_id","detachedness""#;

fn parse(s: &str) -> RawSnapshot {
    parse_reader(s.as_bytes(), &mut |_| {}).unwrap_or_else(|e| panic!("{e}\n{s}"))
}

/// Parses at several chunk sizes and checks that all agree with the one-chunk parse.
fn parse_all_chunkings(s: &str) -> RawSnapshot {
    let whole = parse(s);
    for chunk in [1, 2, 3, 5, 7, 16, 64] {
        let r = parse_chunked(s.as_bytes(), chunk).unwrap_or_else(|e| panic!("chunk {chunk}: {e}"));
        assert_eq!(format!("{r:?}"), format!("{whole:?}"), "chunk size {chunk}");
    }
    whole
}

fn seven_field() -> String {
    doc(
        F7,
        NODE_TYPES,
        "",
        r#""nodes":[9,1,1,0,3,0,0,
3,2,3,48,2,0,0
,8,3,5,18446744073709551615,0,7,2],
"edges":[1,1,7,2,4,14,
3,5,0,
5,5,0,6,6,14],
"trace_function_infos":[],"trace_tree":[],"samples":[],
"locations":[7,12,3,4],
"strings":["<dummy>","","Foo","Node / Env","x","map","weak"]"#,
        3,
        5,
    )
}

#[test]
fn seven_field_layout() {
    let r = parse_all_chunkings(&seven_field());
    assert_eq!(r.node_field_count, 7);
    assert!(r.has_detachedness);
    assert_eq!(r.node_count(), 3);
    assert_eq!(r.edge_count(), 5);
    assert_eq!(
        r.node_types,
        [NodeType::Synthetic, NodeType::Object, NodeType::Native]
    );
    assert_eq!(r.node_names, [1, 2, 3]);
    assert_eq!(r.node_ids, [1, 3, 5]);
    assert_eq!(r.node_self_sizes, [0, 48, u64::MAX]);
    assert_eq!(r.node_trace_ids, [0, 0, 7]);
    assert_eq!(r.node_detachedness, [0, 0, 2]);
    assert_eq!(r.first_edge, [0, 3, 5, 5]);
    assert_eq!(
        r.edge_types,
        [
            EdgeType::Element,
            EdgeType::Property,
            EdgeType::Internal,
            EdgeType::Shortcut,
            EdgeType::Weak
        ]
    );
    assert_eq!(r.edge_names, [1, 4, 5, 5, 6]);
    assert_eq!(r.edge_to, [1, 2, 0, 0, 2]);
    assert_eq!(r.edge_name(0), "1");
    assert_eq!(r.edge_name(1), "x");
    assert_eq!(r.node_name(2), "Node / Env");
    assert_eq!(r.locations.len(), 1);
    assert_eq!(r.locations[0].node, 1);
    assert_eq!(
        (
            r.locations[0].script_id,
            r.locations[0].line,
            r.locations[0].column
        ),
        (12, 3, 4)
    );
    assert_eq!(r.root, 0);
    assert_eq!(r.extra_native_bytes, 0);
    assert_eq!(r.node_type_names.len(), 15);
    assert_eq!(r.edge_type_names[6], "weak");
    assert_eq!(r.strings.get(0), "<dummy>");
}

#[test]
fn six_fields_without_detachedness() {
    let s = doc(
        r#""type","name","id","self_size","edge_count","trace_node_id""#,
        NODE_TYPES,
        "",
        r#""nodes":[9,1,1,0,1,0, 3,2,3,16,1,4],"edges":[1,0,6, 2,2,0],"locations":[6,1,2,3],"strings":["<dummy>","","Foo"]"#,
        2,
        2,
    );
    let r = parse_all_chunkings(&s);
    assert_eq!(r.node_field_count, 6);
    assert!(!r.has_detachedness);
    assert_eq!(r.node_detachedness, [0, 0]);
    assert_eq!(r.node_trace_ids, [0, 4]);
    assert_eq!(r.edge_to, [1, 0]);
    assert_eq!(r.locations[0].node, 1);
    assert!(r.trace_tree.is_empty() && r.samples.is_empty() && r.trace_function_infos.is_empty());
}

#[test]
fn six_fields_without_trace_node_id() {
    let s = doc(
        r#""type","name","id","self_size","edge_count","detachedness""#,
        NODE_TYPES,
        "",
        r#""nodes":[9,1,1,0,1,0, 8,2,3,16,0,2],"edges":[1,0,6],"locations":[],"strings":["<dummy>","","Foo"]"#,
        2,
        1,
    );
    let r = parse_all_chunkings(&s);
    assert_eq!(r.node_field_count, 6);
    assert!(r.has_detachedness);
    assert_eq!(r.node_detachedness, [0, 2]);
    assert!(r.node_trace_ids.is_empty(), "no traces: no array");
    assert_eq!(r.edge_to, [1]);
}

#[test]
fn fields_in_another_order_and_future_fields() {
    // Columns are resolved by name: shuffled order and an unknown extra field.
    let s = doc(
        r#""id","future_field","name","edge_count","self_size","type""#,
        NODE_TYPES,
        "",
        r#""nodes":[1,99,1,1,0,9, 3,99,2,0,24,3],"edges":[1,0,6],"strings":["<dummy>","","Foo"]"#,
        2,
        1,
    );
    let r = parse_all_chunkings(&s);
    assert_eq!(r.node_ids, [1, 3]);
    assert_eq!(r.node_types, [NodeType::Synthetic, NodeType::Object]);
    assert_eq!(r.node_self_sizes, [0, 24]);
    assert_eq!(r.first_edge, [0, 1, 1]);
    assert!(!r.has_detachedness);
    assert!(r.locations.is_empty());
}

#[test]
fn appended_unknown_node_and_edge_types() {
    let types = r#"["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape","wasm object","hologram"]"#;
    let s = doc(
        F7,
        types,
        "",
        r#""nodes":[9,1,1,0,2,0,0, 16,2,3,8,0,0,0],"edges":[1,0,7, 3,2,7],"strings":["<dummy>","","Foo"]"#,
        2,
        2,
    )
    .replace(
        r#""weak"],"string_or_number""#,
        r#""weak","teleport"],"string_or_number""#,
    );
    let r = parse_all_chunkings(&s);
    assert_eq!(r.node_types, [NodeType::Synthetic, NodeType::Unknown]);
    assert_eq!(r.node_type_names[16], "hologram");
    assert_eq!(r.node_type_names[15], "wasm object");
    // Edge types as written, in file order.
    assert_eq!(r.edge_type_names.len(), 8);
    let s2 = s.replace(r#""edges":[1,0,7, 3,2,7]"#, r#""edges":[7,12345,7, 3,2,7]"#);
    let r2 = parse_all_chunkings(&s2);
    assert_eq!(r2.edge_types[0], EdgeType::Unknown);
    assert_eq!(r2.edge_names[0], 12345);
}

fn strings_doc(strings: &str) -> String {
    doc(
        F7,
        NODE_TYPES,
        "",
        &format!(r#""nodes":[9,0,1,0,0,0,0],"edges":[],"strings":[{strings}]"#),
        1,
        0,
    )
}

fn strings_of(strings: &str) -> Vec<String> {
    let r = parse_all_chunkings(&strings_doc(strings));
    (0..r.strings.len() as u32)
        .map(|i| r.strings.get(i).to_string())
        .collect()
}

#[test]
fn lone_surrogates_become_replacement_characters() {
    let got = strings_of(
        r#""QQzz\uD835\uF600","\uD83D\uDE00","\ud83d\ude00x","\uDE00x","a\uD83D","\uD83D\n","\uD83D\uD83D\uDE00","\uD83Dz","\uDFFF\uD800""#,
    );
    assert_eq!(
        got,
        [
            "QQzz\u{FFFD}\u{F600}",
            "😀",
            "😀x",
            "\u{FFFD}x",
            "a\u{FFFD}",
            "\u{FFFD}\n",
            "\u{FFFD}😀",
            "\u{FFFD}z",
            "\u{FFFD}\u{FFFD}",
        ]
    );
}

#[test]
fn all_escapes() {
    let got = strings_of(r#""\"\\\/\b\f\n\r\t","\u0000\u001f\u00e9\u20AC","","plain","a\"b""#);
    assert_eq!(
        got,
        [
            "\"\\/\u{8}\u{c}\n\r\t",
            "\u{0}\u{1f}é€",
            "",
            "plain",
            "a\"b"
        ]
    );
}

#[test]
fn raw_utf8_passes_through_and_invalid_utf8_is_replaced() {
    let mut bytes = strings_doc(r#""héllo 😀","XX""#).into_bytes();
    let r = parse_chunked(&bytes, 3).unwrap();
    assert_eq!(r.strings.get(0), "héllo 😀");
    // Corrupt "XX" into invalid UTF-8 bytes.
    let at = bytes.windows(2).position(|w| w == b"XX").unwrap();
    bytes[at] = 0xff;
    bytes[at + 1] = 0xc3;
    for chunk in [1, 2, 4096] {
        let r = parse_chunked(&bytes, chunk).unwrap();
        assert_eq!(r.strings.get(1), "\u{FFFD}\u{FFFD}");
    }
}

#[test]
fn bad_escapes_are_errors() {
    for bad in [r#""\x""#, r#""\u12G4""#, r#""\u12""#] {
        let s = strings_doc(bad);
        let e = parse_reader(s.as_bytes(), &mut |_| {}).unwrap_err();
        assert!(matches!(e, ParseError::Syntax { .. }), "{bad}: {e}");
    }
}

#[test]
fn nested_trace_tree_is_flattened_in_preorder() {
    let s = doc(
        F7,
        NODE_TYPES,
        "",
        r#""nodes":[9,1,1,0,0,0,0],"edges":[],
"trace_function_infos":[0,2,1,0,0,0, 1,3,4,7,10,5],
"trace_tree":[1,0,0,0,[2,1,3,96,[4,1,1,32,[]],3,0,1,16,[5,1,2,64,[6,1,1,8,[]]]]],
"samples":[0,1, 1500,42],
"locations":[],"strings":["<dummy>","","(root)","f","/app.js"]"#,
        1,
        0,
    );
    let r = parse_all_chunkings(&s);
    let flat: Vec<(u32, u32, u32, u64, u32)> = r
        .trace_tree
        .iter()
        .map(|t| (t.id, t.function_info_index, t.count, t.size, t.parent))
        .collect();
    assert_eq!(
        flat,
        [
            (1, 0, 0, 0, u32::MAX),
            (2, 1, 3, 96, 0),
            (4, 1, 1, 32, 1),
            (3, 0, 1, 16, 0),
            (5, 1, 2, 64, 3),
            (6, 1, 1, 8, 4),
        ]
    );
    assert_eq!(r.trace_function_infos.len(), 2);
    assert_eq!(r.trace_function_infos[1].script_name, 4);
    assert_eq!(r.trace_function_infos[1].line, 10);
    assert_eq!(r.samples, [(0, 1), (1500, 42)]);

    // Incomplete node, wrong children position, out-of-range function info.
    for bad in [
        r#""trace_tree":[1,0,0,[]]"#,
        r#""trace_tree":[1,0,0,0,5]"#,
        r#""trace_tree":[1,0,0,0,[2,1,3,96,[],]]"#,
        r#""trace_tree":[1,9,0,0,[]]"#,
        r#""trace_tree":[1,0,0,0,[]"#,
    ] {
        let s2 = s.replace(
            r#""trace_tree":[1,0,0,0,[2,1,3,96,[4,1,1,32,[]],3,0,1,16,[5,1,2,64,[6,1,1,8,[]]]]]"#,
            bad,
        );
        assert!(parse_reader(s2.as_bytes(), &mut |_| {}).is_err(), "{bad}");
    }
}

#[test]
fn extra_native_bytes_and_root_index() {
    let s = doc(
        F7,
        NODE_TYPES,
        r#","extra_native_bytes":123456789012,"root_index":7"#,
        r#""nodes":[3,2,5,8,0,0,0, 9,1,1,0,1,0,0],"edges":[1,1,0],"strings":["<dummy>","","Foo"]"#,
        2,
        1,
    );
    let r = parse_all_chunkings(&s);
    assert_eq!(r.extra_native_bytes, 123_456_789_012);
    assert_eq!(r.root, 1);
    let bad = s.replace(r#""root_index":7"#, r#""root_index":8"#);
    assert!(matches!(
        parse_reader(bad.as_bytes(), &mut |_| {}),
        Err(ParseError::BadHeader(_))
    ));
}

#[test]
fn optional_sections_absent_and_unknown_keys_skipped() {
    let s = doc(
        F7,
        NODE_TYPES,
        "",
        r#""future":{"a":[1,{"b":"]}\"["}],"c":null},"nodes":[9,1,1,0,0,0,0],"n2":-1.5e3,"edges":[],"x":"y","strings":["<dummy>",""],"last":[true,false,null]"#,
        1,
        0,
    );
    let r = parse_all_chunkings(&s);
    assert_eq!(r.node_count(), 1);
    assert_eq!(r.strings.len(), 2);
    assert!(r.locations.is_empty());
}

#[test]
fn keys_out_of_order_fail_clearly() {
    let s = r#"{"nodes":[],"snapshot":{}}"#;
    let e = parse_reader(s.as_bytes(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, ParseError::KeyOrder { .. }), "{e}");
    assert!(e.to_string().contains("\"nodes\""), "{e}");
    let s = doc(
        F7,
        NODE_TYPES,
        "",
        r#""edges":[],"nodes":[9,1,1,0,0,0,0],"strings":[]"#,
        1,
        0,
    );
    let e = parse_reader(s.as_bytes(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, ParseError::KeyOrder { .. }), "{e}");
    let s = doc(
        F7,
        NODE_TYPES,
        "",
        r#""nodes":[9,1,1,0,0,0,0],"nodes":[],"strings":[]"#,
        1,
        0,
    );
    let e = parse_reader(s.as_bytes(), &mut |_| {}).unwrap_err();
    assert!(matches!(e, ParseError::DuplicateKey { .. }), "{e}");
    // strings before nodes is fine: names are checked at the end.
    let s = doc(
        F7,
        NODE_TYPES,
        "",
        r#""strings":["<dummy>",""],"nodes":[9,1,1,0,0,0,0],"edges":[]"#,
        1,
        0,
    );
    assert_eq!(parse(&s).node_count(), 1);
}

#[test]
fn progress_reaches_the_input_size() {
    let s = seven_field();
    let mut last = 0;
    let mut calls = 0;
    let r = {
        let mut src = super::ReadSource::new(s.as_bytes(), 10);
        super::parse_source(&mut src, None, &mut |n| {
            assert!(n >= last);
            last = n;
            calls += 1;
        })
    };
    assert!(r.is_ok());
    assert_eq!(last, s.len() as u64);
    assert!(calls > 5);
}
