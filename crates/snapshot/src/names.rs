//! How DevTools displays node names and edges.

use crate::format::{EdgeType, NodeType, RawSnapshot};
use crate::jsstr::{format_property_name, js_len};

/// DevTools' node name: cons strings rebuilt (up to 1024 characters), plain objects as
/// `{a, b, …, z}`, everything else the raw name.
pub fn display_name(raw: &RawSnapshot, n: u32) -> String {
    match raw.node_types[n as usize] {
        NodeType::ConcatenatedString => cons_string_text(raw, n),
        NodeType::Object if raw.node_name(n) == "Object" => plain_object_name(raw, n),
        _ => raw.node_name(n).to_string(),
    }
}

/// Rebuilds a cons string's text from its `first`/`second` internal edges, capped like
/// DevTools at 1024 characters (it stops adding pieces once that length is reached).
pub fn cons_string_text(raw: &RawSnapshot, n: u32) -> String {
    let first_name = raw.strings.find("first");
    let second_name = raw.strings.find("second");
    let mut stack = vec![Some(n)];
    let mut text = String::new();
    let mut text_len = 0;
    while let Some(item) = stack.pop() {
        if text_len >= 1024 {
            break;
        }
        // A missing half is node index 0 in DevTools, i.e. the root's (empty) name.
        let node = item.unwrap_or(0);
        if raw.node_types[node as usize] != NodeType::ConcatenatedString {
            let piece = raw.node_name(node);
            text_len += js_len(piece);
            text.push_str(piece);
            continue;
        }
        let mut first = None;
        let mut second = None;
        for e in raw.edges_of(node) {
            if first.is_some() && second.is_some() {
                break;
            }
            if raw.edge_types[e] == EdgeType::Internal {
                let name = Some(raw.edge_names[e]);
                if name == first_name {
                    first = Some(raw.edge_to[e]);
                } else if name == second_name {
                    second = Some(raw.edge_to[e]);
                }
            }
        }
        stack.push(second);
        stack.push(first);
    }
    text
}

/// `{propName, otherProp, …, lastProp}`: property names from both ends toward the middle
/// while the name stays within ~100 characters.
pub fn plain_object_name(raw: &RawSnapshot, n: u32) -> String {
    let edges = raw.edges_of(n);
    if edges.is_empty() {
        return "{}".into();
    }
    let mut start = String::from("{");
    let mut end = String::from("}");
    let (mut start_len, mut end_len) = (1usize, 1usize);
    let mut from_start = edges.start as i64;
    let mut from_end = edges.end as i64 - 1;
    let mut next_from_end = false;
    while from_start <= from_end {
        let e = if next_from_end { from_end } else { from_start } as usize;
        let name = raw.strings.get(raw.edge_names[e]);
        if raw.edge_types[e] != EdgeType::Property || name == "__proto__" {
            if next_from_end {
                from_end -= 1;
            } else {
                from_start += 1;
            }
            continue;
        }
        let formatted = format_property_name(name);
        let flen = js_len(&formatted);
        if start_len > 1 && start_len + end_len + flen > 100 {
            break;
        }
        if next_from_end {
            from_end -= 1;
            if end_len > 1 {
                end.insert_str(0, ", ");
                end_len += 2;
            }
            end.insert_str(0, &formatted);
            end_len += flen;
        } else {
            from_start += 1;
            if start_len > 1 {
                start.push_str(", ");
                start_len += 2;
            }
            start.push_str(&formatted);
            start_len += flen;
        }
        next_from_end = !next_from_end;
    }
    if from_start <= from_end {
        start.push_str(", …");
    }
    if end_len > 1 {
        start.push_str(", ");
    }
    start + &end
}

/// DevTools' edge syntax: `->ctx`, `[3]`, `[[weak]]`, `.prop`, `["a b"]`, `{internal}`.
pub fn edge_display(raw: &RawSnapshot, e: usize) -> String {
    let name = raw.edge_name(e);
    match raw.edge_types[e] {
        EdgeType::Context => format!("->{name}"),
        EdgeType::Element => format!("[{name}]"),
        EdgeType::Weak => format!("[[{name}]]"),
        EdgeType::Property => property_access(&name),
        // DevTools turns a numeric shortcut name into its number, then shows it as a property.
        EdgeType::Shortcut => match crate::distances::js_parse_int(&name) {
            Some(number) => property_access(&number.to_string()),
            None => property_access(&name),
        },
        EdgeType::Internal | EdgeType::Hidden => format!("{{{name}}}"),
        EdgeType::Unknown => format!("?{name}?"),
    }
}

fn property_access(name: &str) -> String {
    if name.contains(' ') {
        format!("[\"{name}\"]")
    } else {
        format!(".{name}")
    }
}
