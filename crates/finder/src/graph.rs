//! Small helpers over the flat arrays of a snapshot (`HeapSnapshot::raw()`): recognising
//! containers, listener arrays and timer lists, and DevTools' edge syntax.

use crate::summary::{ContainerKind, DICT_MIN_PROPERTIES};
use leakhound_snapshot::{EdgeType, NodeType, RawSnapshot};
use std::collections::HashMap;

/// String indexes of the few names the finder looks for, resolved once per snapshot so edge
/// names compare as integers. `u32::MAX` when a name does not occur in the snapshot.
#[derive(Debug, Clone)]
pub struct Names {
    pub table: u32,
    pub events: u32,
    pub proto: u32,
    pub idle_next: u32,
    pub on_timeout: u32,
    pub context: u32,
    pub previous: u32,
    pub shared: u32,
    pub script_or_debug_info: u32,
    pub script: u32,
    pub name: u32,
    pub map: u32,
    /// `Promise` internals: pending promises point at their reactions through it.
    pub reactions_or_result: u32,
    pub then: u32,
    /// The node name of promises.
    pub promise: u32,
    /// The symbol property AsyncLocalStorage puts its store under on async resources.
    pub resource_store: u32,
}

impl Names {
    pub fn new(raw: &RawSnapshot) -> Names {
        let wanted = [
            "table",
            "_events",
            "__proto__",
            "_idleNext",
            "_onTimeout",
            "context",
            "previous",
            "shared",
            "script_or_debug_info",
            "script",
            "name",
            "map",
            "reactions_or_result",
            "then",
            "Promise",
            RESOURCE_STORE,
        ];
        let mut found: HashMap<&str, u32> = HashMap::new();
        for i in 0..raw.strings.len() as u32 {
            let s = raw.strings.get(i);
            if s.len() <= 32 && wanted.contains(&s) {
                found.entry(s).or_insert(i);
            }
        }
        let get = |s: &str| found.get(s).copied().unwrap_or(u32::MAX);
        Names {
            table: get("table"),
            events: get("_events"),
            proto: get("__proto__"),
            idle_next: get("_idleNext"),
            on_timeout: get("_onTimeout"),
            context: get("context"),
            previous: get("previous"),
            shared: get("shared"),
            script_or_debug_info: get("script_or_debug_info"),
            script: get("script"),
            name: get("name"),
            map: get("map"),
            reactions_or_result: get("reactions_or_result"),
            then: get("then"),
            promise: get("Promise"),
            resource_store: get(RESOURCE_STORE),
        }
    }
}

/// How V8 names node's AsyncLocalStorage slot on async resources (`kResourceStore`).
pub const RESOURCE_STORE: &str = "<symbol kResourceStore>";

/// Whether `node` is a Promise that has not settled: its `reactions_or_result` slot holds a
/// `PromiseReaction` (pending with callbacks) or nothing (pending without callbacks; V8
/// writes no edge for the Smi 0 it stores then).
pub fn is_pending_promise(raw: &RawSnapshot, names: &Names, node: u32) -> bool {
    if names.promise == u32::MAX
        || raw.node_names[node as usize] != names.promise
        || raw.node_types[node as usize] != NodeType::Object
    {
        return false;
    }
    match child(raw, node, EdgeType::Internal, names.reactions_or_result) {
        Some(r) => raw.node_name(r) == "system / PromiseReaction",
        // `Promise.prototype` (and subclass prototypes) have no such slot either: they are
        // told apart by their `then`.
        None => {
            names.reactions_or_result != u32::MAX
                && child(raw, node, EdgeType::Property, names.then).is_none()
        }
    }
}

/// The AsyncLocalStorage stores that `node` (an async resource) carries.
pub fn resource_stores<'a>(
    raw: &'a RawSnapshot,
    names: &Names,
    node: u32,
) -> impl Iterator<Item = u32> + 'a {
    let name = names.resource_store;
    raw.edges_of(node)
        .filter(move |&e| raw.edge_types[e] == EdgeType::Property && edge_is(raw, e, name))
        .map(move |e| raw.edge_to[e])
}

/// Whether the edge is a named edge (property/internal/context/shortcut/weak) called `name`.
#[inline]
pub fn edge_is(raw: &RawSnapshot, e: usize, name: u32) -> bool {
    name != u32::MAX && !raw.edge_types[e].has_index_name() && raw.edge_names[e] == name
}

/// The target of the first edge of `node` of type `ty` named `name`.
pub fn child(raw: &RawSnapshot, node: u32, ty: EdgeType, name: u32) -> Option<u32> {
    raw.edges_of(node)
        .find(|&e| raw.edge_types[e] == ty && edge_is(raw, e, name))
        .map(|e| raw.edge_to[e])
}

fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Number of slots of a Map/Set backing table that point at entries (numerically named edges).
pub fn table_slots(raw: &RawSnapshot, table: u32) -> u32 {
    raw.edges_of(table)
        .filter(|&e| match raw.edge_types[e] {
            EdgeType::Element | EdgeType::Hidden => true,
            EdgeType::Internal => is_numeric(raw.strings.get(raw.edge_names[e])),
            _ => false,
        })
        .count() as u32
}

/// Number of element edges of a node (array elements, integer-keyed properties).
pub fn element_count(raw: &RawSnapshot, node: u32) -> u32 {
    raw.edges_of(node)
        .filter(|&e| raw.edge_types[e] == EdgeType::Element)
        .count() as u32
}

/// Named and indexed properties of an object, without `__proto__`.
pub fn property_count(raw: &RawSnapshot, names: &Names, node: u32) -> u32 {
    raw.edges_of(node)
        .filter(|&e| match raw.edge_types[e] {
            EdgeType::Property => !edge_is(raw, e, names.proto),
            EdgeType::Element => true,
            _ => false,
        })
        .count() as u32
}

/// Length of a node `TimersList` (walks `_idleNext` until it comes back), capped.
pub fn timer_list_len(raw: &RawSnapshot, names: &Names, list: u32) -> u32 {
    let mut len = 0u32;
    let mut cur = list;
    while let Some(next) = child(raw, cur, EdgeType::Property, names.idle_next) {
        if next == list || raw.node_name(next) != "Timeout" || len >= 50_000_000 {
            break;
        }
        len += 1;
        cur = next;
    }
    len
}

/// Whether a node is a Map/Set-like object with a backing `table`; returns the table.
pub fn backing_table(raw: &RawSnapshot, names: &Names, node: u32) -> Option<u32> {
    child(raw, node, EdgeType::Internal, names.table)
}

/// Recognises a container and counts its entries:
/// Map/Set (entries of the internal `table`), Array (element edges), node's `TimersList`
/// (timers on the list), and plain objects used as dictionaries (at least
/// [`DICT_MIN_PROPERTIES`] properties). WeakMap/WeakSet are not containers here.
pub fn container_entries(
    raw: &RawSnapshot,
    names: &Names,
    node: u32,
) -> Option<(ContainerKind, u32)> {
    if raw.node_types[node as usize] != NodeType::Object {
        return None;
    }
    let name = raw.node_name(node);
    match name {
        "WeakMap" | "WeakSet" | "WeakRef" | "FinalizationRegistry" => return None,
        "Array" => {
            let n = element_count(raw, node);
            return (n > 0).then_some((ContainerKind::Array, n));
        }
        "TimersList" => return Some((ContainerKind::TimerList, timer_list_len(raw, names, node))),
        _ => {}
    }
    if name.starts_with("system /") {
        return None;
    }
    if let Some(table) = backing_table(raw, names, node) {
        let slots = table_slots(raw, table);
        return if name.ends_with("Set") {
            Some((ContainerKind::Set, slots))
        } else {
            Some((ContainerKind::Map, slots.div_ceil(2)))
        };
    }
    let props = property_count(raw, names, node);
    (props >= DICT_MIN_PROPERTIES).then_some((ContainerKind::Dictionary, props))
}

/// The `_events` object of an EventEmitter-like object.
pub fn events_object(raw: &RawSnapshot, names: &Names, node: u32) -> Option<u32> {
    if names.events == u32::MAX {
        return None;
    }
    child(raw, node, EdgeType::Property, names.events)
        .filter(|&ev| raw.node_types[ev as usize] == NodeType::Object)
}

/// `(event name, listener or listener array)` of an `_events` object.
pub fn event_listeners(raw: &RawSnapshot, names: &Names, events: u32) -> Vec<(String, u32)> {
    raw.edges_of(events)
        .filter(|&e| raw.edge_types[e] == EdgeType::Property && !edge_is(raw, e, names.proto))
        .filter_map(|e| {
            let to = raw.edge_to[e];
            match raw.node_types[to as usize] {
                NodeType::Closure | NodeType::Object => {
                    Some((raw.strings.get(raw.edge_names[e]).to_string(), to))
                }
                _ => None,
            }
        })
        .collect()
}

/// Listeners behind one `_events` slot: 1 for a function, the elements of an array.
pub fn listener_count(raw: &RawSnapshot, target: u32) -> u32 {
    match raw.node_types[target as usize] {
        NodeType::Closure => 1,
        NodeType::Object if raw.node_name(target) == "Array" => element_count(raw, target),
        NodeType::Object => 1,
        _ => 0,
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

/// DevTools' edge syntax (`JSHeapSnapshotEdge.toString`): `->x` context, `[i]` element,
/// `[[x]]` weak, `.x` or `["a b"]` property/shortcut, `{x}` internal/hidden.
pub fn edge_display(ty: EdgeType, name: &str) -> String {
    match ty {
        EdgeType::Context => format!("->{name}"),
        EdgeType::Element => format!("[{name}]"),
        EdgeType::Weak => format!("[[{name}]]"),
        EdgeType::Property | EdgeType::Shortcut => {
            if is_identifier(name) {
                format!(".{name}")
            } else {
                format!("[{name:?}]")
            }
        }
        EdgeType::Internal | EdgeType::Hidden | EdgeType::Unknown => format!("{{{name}}}"),
    }
}

/// Node/V8 internals whose growth is JIT warm-up or lazy compilation, never a leak by itself:
/// code, object shapes (maps), feedback cells/vectors, compilation caches, scope infos,
/// shared function infos, bytecode.
pub fn is_jit_noise(ty: NodeType, name: &str) -> bool {
    match ty {
        NodeType::Code | NodeType::ObjectShape => true,
        NodeType::Hidden | NodeType::Array | NodeType::Object => {
            name.starts_with("system / Map")
                || name.starts_with("system / DescriptorArray")
                || name.starts_with("system / Feedback")
                || name.starts_with("system / ScopeInfo")
                || name.starts_with("system / SharedFunctionInfo")
                || name.starts_with("system / CompilationCache")
                || name.starts_with("system / BytecodeArray")
                || name.starts_with("system / Code")
                || name.starts_with("system / PropertyCell")
                || name.starts_with("system / AllocationSite")
                || name == "(shared function info)"
                || name == "(map descriptors)"
                || name == "(transition array)"
                || name == "(prototype transitions)"
                || name == "(feedback metadata)"
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devtools_edge_syntax() {
        assert_eq!(edge_display(EdgeType::Context, "cache"), "->cache");
        assert_eq!(edge_display(EdgeType::Element, "3"), "[3]");
        assert_eq!(
            edge_display(EdgeType::Property, "requestLog"),
            ".requestLog"
        );
        assert_eq!(edge_display(EdgeType::Property, "a b"), "[\"a b\"]");
        assert_eq!(edge_display(EdgeType::Internal, "table"), "{table}");
        assert_eq!(edge_display(EdgeType::Weak, "x"), "[[x]]");
    }

    #[test]
    fn noise_classes() {
        assert!(is_jit_noise(NodeType::Code, "anything"));
        assert!(is_jit_noise(NodeType::Hidden, "system / FeedbackVector"));
        assert!(is_jit_noise(NodeType::Object, "system / Map"));
        assert!(!is_jit_noise(NodeType::Object, "Map"));
        assert!(!is_jit_noise(NodeType::Object, "system / Context"));
    }
}
