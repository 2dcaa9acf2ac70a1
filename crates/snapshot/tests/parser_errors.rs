//! Every bad-input class of the parser ends in a specific, one-line `ParseError`, never a
//! panic; plus truncation of a real V8 snapshot (written by node at test time) at many offsets.

mod parser_util;

use leakhound_snapshot::{parse_file, parse_reader, ParseError, RawSnapshot};
use parser_util::{small, utf16};
use std::process::Command;

fn parse(bytes: &[u8]) -> Result<RawSnapshot, ParseError> {
    parse_reader(bytes, &mut |_| {})
}

/// Parses `bytes`, expects an error, checks its Display is one line, and returns it.
fn err(bytes: &[u8]) -> ParseError {
    match parse(bytes) {
        Ok(_) => panic!("parse succeeded on {:?}", String::from_utf8_lossy(bytes)),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                !msg.contains('\n') && !msg.is_empty(),
                "not one line: {msg:?}"
            );
            e
        }
    }
}

#[test]
fn the_small_fixture_is_valid() {
    let r = parse(small().to_json().as_bytes()).unwrap();
    assert_eq!(r.node_count(), 4);
    assert_eq!(r.edge_count(), 4);
    assert_eq!(r.edge_to, [1, 2, 3, 0]);
    assert_eq!(r.locations[0].node, 2);
}

#[test]
fn empty_input() {
    assert!(matches!(err(b""), ParseError::Empty));
    assert!(matches!(err(b"  \n\t "), ParseError::Empty));
}

#[test]
fn random_bytes_are_not_json() {
    let e = err(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
    assert!(matches!(e, ParseError::NotJson { .. }), "{e}");
    assert!(e.to_string().contains("0x89"), "{e}");
    // Pseudo-random garbage from a fixed LCG, at several lengths.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for len in [1, 2, 17, 1000, 100_000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        err(&bytes);
        let mut braced = b"{".to_vec();
        braced.extend_from_slice(&bytes);
        err(&braced);
    }
}

#[test]
fn valid_json_that_is_not_a_snapshot() {
    for doc in [&b"{\"a\":1}"[..], b"{}", b"{\"a\":{\"b\":[1,2,\"}\"]}}"] {
        let e = err(doc);
        assert!(matches!(e, ParseError::NotASnapshot(_)), "{e}");
    }
    for doc in [&b"[]"[..], b"[1,2]", b"\"x\"", b"42", b"null", b"true"] {
        let e = err(doc);
        assert!(matches!(e, ParseError::NotASnapshot(_)), "{e}");
    }
    // A snapshot object without meta, and a meta without node fields.
    let e = err(br#"{"snapshot":{"node_count":1}}"#);
    assert!(matches!(e, ParseError::BadHeader(_)), "{e}");
    let e = err(br#"{"snapshot":{"meta":{"node_fields":["type"]},"node_count":1,"edge_count":0}}"#);
    assert!(matches!(e, ParseError::BadHeader(_)), "{e}");
    let e = err(br#"{"snapshot":[]}"#);
    assert!(matches!(e, ParseError::Syntax { .. }), "{e}");
}

#[test]
fn missing_required_sections() {
    let full = small().to_json();
    for (section, cut_from, cut_to) in [
        ("strings", ",\n\"strings\"", "]}"),
        ("edges", "\"edges\"", "],\n"),
    ] {
        let start = full.find(cut_from).unwrap();
        let end = full[start..].find(cut_to).unwrap() + start + cut_to.len();
        let doc = if section == "strings" {
            format!("{}}}", &full[..start])
        } else {
            format!("{}{}", &full[..start], &full[end..])
        };
        let e = err(doc.as_bytes());
        assert!(
            matches!(e, ParseError::MissingSection(s) if s == section),
            "{section}: {e}"
        );
    }
}

#[test]
fn truncated_at_every_offset_of_a_small_snapshot() {
    let doc = small().to_json();
    let bytes = doc.as_bytes();
    for cut in 0..bytes.len() {
        let e = err(&bytes[..cut]);
        if cut == 0 {
            assert!(matches!(e, ParseError::Empty), "{e}");
        } else {
            assert!(
                matches!(e, ParseError::Truncated { .. }),
                "cut at {cut}: {e}"
            );
            assert!(
                e.to_string().contains(&format!("byte {cut}")),
                "cut at {cut}: {e}"
            );
        }
    }
}

#[test]
fn length_mismatches() {
    let mut s = small();
    s.node_count = Some(5);
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::LengthMismatch {
                section: "nodes",
                expected: 35,
                actual: 28,
                ..
            }
        ),
        "{e}"
    );
    let mut s = small();
    s.node_count = Some(3);
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::LengthMismatch {
                section: "nodes",
                ..
            }
        ),
        "{e}"
    );

    // A partial trailing record.
    let doc = small().to_json().replace("7,16,0,0,0]", "7,16,0,0,0,1]");
    let e = err(doc.as_bytes());
    assert!(
        matches!(
            e,
            ParseError::LengthMismatch {
                section: "nodes",
                ..
            }
        ),
        "{e}"
    );

    // edges.len != edge_count * 3 while the edge_count fields still agree with the header.
    let doc = small().to_json().replace("3,7,0]", "3,7,0,1]");
    let e = err(doc.as_bytes());
    assert!(
        matches!(
            e,
            ParseError::LengthMismatch {
                section: "edges",
                expected: 12,
                actual: 13,
                ..
            }
        ),
        "{e}"
    );
    let doc = small().to_json().replace(",\n3,7,0]", "]");
    let e = err(doc.as_bytes());
    assert!(
        matches!(
            e,
            ParseError::LengthMismatch {
                section: "edges",
                expected: 12,
                actual: 9,
                ..
            }
        ),
        "{e}"
    );

    let mut s = small();
    s.locations = Some(vec![]);
    let doc = s
        .to_json()
        .replace("\"locations\":[]", "\"locations\":[0,1,2]");
    let e = err(doc.as_bytes());
    assert!(
        matches!(
            e,
            ParseError::LengthMismatch {
                section: "locations",
                ..
            }
        ),
        "{e}"
    );
    let doc = s.to_json().replace("\"samples\":[]", "\"samples\":[1,2,3]");
    let e = err(doc.as_bytes());
    assert!(
        matches!(
            e,
            ParseError::LengthMismatch {
                section: "samples",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn edge_count_sum_disagrees_with_header() {
    let mut s = small();
    s.edge_count = Some(5);
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::EdgeCountMismatch {
                sum: 4,
                declared: 5
            }
        ),
        "{e}"
    );
    let mut s = small();
    s.nodes[3].edge_count = 1;
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::EdgeCountMismatch {
                sum: 5,
                declared: 4
            }
        ),
        "{e}"
    );
    // A per-node edge_count that would overflow the u32 edge index.
    let mut s = small();
    s.nodes[3].edge_count = u64::from(u32::MAX);
    let e = err(s.to_json().as_bytes());
    assert!(matches!(e, ParseError::FieldOverflow { .. }), "{e}");
}

#[test]
fn to_node_out_of_range_or_not_a_multiple() {
    for (to, problem) in [
        (28, "past"),
        (700, "past"),
        (u64::MAX, "past"),
        (8, "multiple"),
        (27, "multiple"),
    ] {
        let mut s = small();
        s.edges[2].2 = to;
        let e = err(s.to_json().as_bytes());
        assert!(
            matches!(&e, ParseError::BadToNode { edge: 2, to_node, .. } if *to_node == to),
            "{to}: {e}"
        );
        assert!(e.to_string().contains(problem), "{e}");
    }
}

#[test]
fn string_indexes_out_of_range() {
    let count = small().strings.len() as u64;
    // Node name.
    let mut s = small();
    s.nodes[2].name = count;
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::IndexOutOfRange {
                what: "node",
                index: 2,
                kind: "string",
                ..
            }
        ),
        "{e}"
    );
    // Edge names of every string-named type.
    for ty in [0u64, 2, 3, 5, 6] {
        let mut s = small();
        s.edges[3] = (ty, count + 10, 0);
        let e = err(s.to_json().as_bytes());
        assert!(
            matches!(
                e,
                ParseError::IndexOutOfRange {
                    what: "edge",
                    index: 3,
                    kind: "string",
                    ..
                }
            ),
            "type {ty}: {e}"
        );
    }
    // element and hidden edges carry plain numbers: not string indexes.
    for ty in [1u64, 4] {
        let mut s = small();
        s.edges[3] = (ty, count + 10, 0);
        assert_eq!(
            parse(s.to_json().as_bytes()).unwrap().edge_names[3],
            (count + 10) as u32
        );
    }
    // Trace function info names.
    let mut s = small();
    s.trace_function_infos = Some(vec![[1, count, 0, 0, 0, 0]]);
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::IndexOutOfRange {
                what: "trace function info",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn type_indexes_out_of_range() {
    let mut s = small();
    s.nodes[1].ty = 16;
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::IndexOutOfRange {
                what: "node",
                kind: "type",
                value: 16,
                ..
            }
        ),
        "{e}"
    );
    let mut s = small();
    s.edges[0].0 = 7;
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::IndexOutOfRange {
                what: "edge",
                kind: "type",
                value: 7,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn location_object_index_invalid() {
    for bad in [28u64, 15, u64::MAX] {
        let mut s = small();
        s.locations = Some(vec![[14, 1, 2, 3], [bad, 1, 2, 3]]);
        let e = err(s.to_json().as_bytes());
        assert!(
            matches!(e, ParseError::BadLocation { index: 1, .. }),
            "{bad}: {e}"
        );
    }
}

#[test]
fn non_numbers_where_numbers_must_be() {
    let doc = small().to_json();
    for (from, to) in [
        ("9,1,1,0,2,0,0", "9,\"1\",1,0,2,0,0"),
        ("9,1,1,0,2,0,0", "9,-1,1,0,2,0,0"),
        ("9,1,1,0,2,0,0", "9,1.5,1,0,2,0,0"),
        ("9,1,1,0,2,0,0", "9,1e3,1,0,2,0,0"),
        ("9,1,1,0,2,0,0", "9,null,1,0,2,0,0"),
        ("9,1,1,0,2,0,0", "9,,1,0,2,0,0"),
        ("3,7,0]", "3,7,true]"),
        ("\"locations\":[14,3,10,2]", "\"locations\":[14,3,{},2]"),
        ("\"samples\":[]", "\"samples\":[[]]"),
    ] {
        assert!(doc.contains(from), "{from}");
        let e = err(doc.replacen(from, to, 1).as_bytes());
        assert!(
            matches!(
                e,
                ParseError::ExpectedNumber { .. } | ParseError::Syntax { .. }
            ),
            "{to}: {e}"
        );
        assert!(e.to_string().contains("byte"), "{e}");
    }
    // Strings must be strings.
    let e = err(doc.replace("\"hello\"", "5").as_bytes());
    assert!(matches!(e, ParseError::Syntax { .. }), "{e}");
}

#[test]
fn numbers_overflowing_u32_and_u64() {
    let mut s = small();
    s.nodes[2].id = 1 << 32;
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::FieldOverflow {
                field: "id",
                max: "u32",
                index: 2,
                ..
            }
        ),
        "{e}"
    );
    let mut s = small();
    s.nodes[2].self_size = u64::MAX;
    assert_eq!(
        parse(s.to_json().as_bytes()).unwrap().node_self_sizes[2],
        u64::MAX
    );
    let doc = small()
        .to_json()
        .replace("5,24,2,0,0", "5,18446744073709551616,2,0,0");
    let e = err(doc.as_bytes());
    assert!(
        matches!(e, ParseError::NumberOverflow { max: "u64", .. }),
        "{e}"
    );
    let doc = small()
        .to_json()
        .replace("5,24,2,0,0", "5,000000000000000000000000000000024,2,0,0");
    assert_eq!(parse(doc.as_bytes()).unwrap().node_self_sizes[2], 24);
    let mut s = small();
    s.edges[2].1 = 1 << 32;
    s.edges[2].0 = 1;
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::FieldOverflow {
                field: "name_or_index",
                ..
            }
        ),
        "{e}"
    );
    let mut s = small();
    s.nodes[0].detachedness = 256;
    let e = err(s.to_json().as_bytes());
    assert!(
        matches!(
            e,
            ParseError::FieldOverflow {
                field: "detachedness",
                ..
            }
        ),
        "{e}"
    );
    // Header counts beyond u32 are refused without allocating.
    let mut s = small();
    s.node_count = Some(1 << 40);
    let e = err(s.to_json().as_bytes());
    assert!(matches!(e, ParseError::BadHeader(_)), "{e}");
}

#[test]
fn corrupt_header_counts_do_not_exhaust_memory() {
    // A claim of ~4 billion nodes and edges on a tiny input must fail cleanly and quickly.
    let mut s = small();
    s.node_count = Some(u64::from(u32::MAX));
    s.edge_count = Some(u64::from(u32::MAX));
    let e = err(s.to_json().as_bytes());
    assert!(matches!(e, ParseError::LengthMismatch { .. }), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lie.heapsnapshot");
    std::fs::write(&path, s.to_json()).unwrap();
    let e = parse_file(&path, &mut |_| {}).unwrap_err();
    assert!(matches!(e, ParseError::LengthMismatch { .. }), "{e}");
}

#[test]
fn trailing_data_and_bad_separators() {
    let doc = small().to_json();
    let e = err(format!("{doc} x").as_bytes());
    assert!(matches!(e, ParseError::TrailingData { .. }), "{e}");
    assert!(parse(format!("{doc}\n \n").as_bytes()).is_ok());
    let e = err(doc.replacen("],\n\"edges\"", "];\n\"edges\"", 1).as_bytes());
    assert!(matches!(e, ParseError::Syntax { .. }), "{e}");
    let e = err(doc.replacen("\"nodes\":", "\"nodes\" ", 1).as_bytes());
    assert!(matches!(e, ParseError::Syntax { .. }), "{e}");
}

#[test]
fn missing_file_names_the_path() {
    let e = parse_file("/nonexistent/dir/app.heapsnapshot".as_ref(), &mut |_| {}).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("/nonexistent/dir/app.heapsnapshot"), "{msg}");
    assert!(!msg.contains('\n'));
    // A directory is not a snapshot either.
    let dir = tempfile::tempdir().unwrap();
    assert!(parse_file(dir.path(), &mut |_| {}).is_err());
}

#[test]
fn lone_surrogate_strings_do_not_fail() {
    let mut s = small();
    s.strings[5] = vec![0x51, 0xd835, 0xf600, 0xdc00];
    let r = parse(s.to_json().as_bytes()).unwrap();
    assert_eq!(r.strings.get(5), "Q\u{FFFD}\u{F600}\u{FFFD}");
    s.strings.push(utf16("tail"));
    assert_eq!(
        parse(s.to_json().as_bytes()).unwrap().strings.get(8),
        "tail"
    );
}

fn node_snapshot(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("bare.heapsnapshot");
    let out = Command::new("node")
        .arg("-e")
        .arg("require('v8').writeHeapSnapshot(process.argv[1])")
        .arg(&path)
        .output()
        .expect("node must be installed to run the parser tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&path).unwrap()
}

#[test]
fn truncating_a_real_snapshot_at_many_offsets_is_always_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = node_snapshot(dir.path());
    let full = parse(&bytes).unwrap();
    assert!(full.node_count() > 10_000);
    let len = bytes.len();
    // Dense near the start (header), around each section start, and spread over the file.
    let mut cuts: Vec<usize> = (0..1200).step_by(7).collect();
    for key in [
        "\"nodes\"",
        "\"edges\"",
        "\"trace_function_infos\"",
        "\"trace_tree\"",
        "\"samples\"",
        "\"locations\"",
        "\"strings\"",
    ] {
        let at = bytes
            .windows(key.len())
            .position(|w| w == key.as_bytes())
            .unwrap();
        let k = key.len();
        // Before, inside, and just after the key, after the colon and the bracket.
        cuts.extend([
            at.saturating_sub(1),
            at,
            at + 1,
            at + k / 2,
            at + k,
            at + k + 1,
            at + k + 2,
            at + k + 3,
        ]);
    }
    let mut x: u64 = 12345;
    for _ in 0..16 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        cuts.push((x >> 11) as usize % len);
    }
    cuts.extend(len - 6..len);
    for cut in cuts {
        let cut = cut.min(len - 1);
        let e = err(&bytes[..cut]);
        assert!(
            matches!(e, ParseError::Truncated { .. } | ParseError::Empty),
            "cut at {cut}: {e}"
        );
    }
}
