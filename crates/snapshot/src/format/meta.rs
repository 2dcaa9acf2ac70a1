//! The `snapshot` header object: `meta` (field and type names) and the declared counts.
//! Columns are resolved by name, never by position.

use super::parse::ParseError;
use super::{EdgeType, NodeType};
use serde_json::Value;

/// Role of one column of a node record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeField {
    Type,
    Name,
    Id,
    SelfSize,
    EdgeCount,
    TraceNodeId,
    Detachedness,
    Ignored,
}

/// Parsed header.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub node_fields: Vec<NodeField>,
    pub node_type_names: Vec<String>,
    pub node_types: Vec<NodeType>,
    pub has_detachedness: bool,
    /// Number of fields per edge record and the positions of the three known ones.
    pub edge_field_count: usize,
    pub edge_type_pos: usize,
    pub edge_name_pos: usize,
    pub edge_to_pos: usize,
    pub edge_type_names: Vec<String>,
    pub edge_types: Vec<EdgeType>,
    pub node_count: u64,
    pub edge_count: u64,
    pub extra_native_bytes: u64,
    pub root_index: u64,
    /// `location_fields`: group size and positions of object_index, script_id, line, column.
    pub location_group: usize,
    pub location_pos: [usize; 4],
    /// `trace_function_info_fields`: group size and positions of function_id, name,
    /// script_name, script_id, line, column.
    pub tfi_group: usize,
    pub tfi_pos: [usize; 6],
    /// `trace_node_fields`: positions of id, function_info_index, count, size; `children`
    /// must be the last field.
    pub trace_group: usize,
    pub trace_pos: [usize; 4],
    /// `sample_fields`: group size and positions of timestamp_us, last_assigned_id.
    pub sample_group: usize,
    pub sample_pos: [usize; 2],
}

fn bad(msg: impl Into<String>) -> ParseError {
    ParseError::BadHeader(msg.into())
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, ParseError> {
    let arr = v
        .as_array()
        .ok_or_else(|| bad(format!("{what} is not an array")))?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("{what} contains a non-string entry")))
        })
        .collect()
}

fn count(obj: &Value, key: &str, required: bool) -> Result<u64, ParseError> {
    match obj.get(key) {
        None | Some(Value::Null) if !required => Ok(0),
        None => Err(bad(format!("snapshot.{key} is missing"))),
        Some(v) => v.as_u64().ok_or_else(|| {
            bad(format!(
                "snapshot.{key} is not an unsigned integer (got {})",
                short(v)
            ))
        }),
    }
}

fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 40 {
        let mut cut = 40;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn position(fields: &[String], name: &str, what: &str) -> Result<usize, ParseError> {
    fields
        .iter()
        .position(|f| f == name)
        .ok_or_else(|| bad(format!("{what} has no \"{name}\" field")))
}

/// Resolves the optional field list `key` of meta by name, with V8's list as the default.
fn optional_fields<const N: usize>(
    meta: &Value,
    key: &str,
    wanted: [&str; N],
) -> Result<(usize, [usize; N]), ParseError> {
    let fields = match meta.get(key) {
        None | Some(Value::Null) => wanted.iter().map(|s| s.to_string()).collect(),
        Some(v) => string_list(v, &format!("meta.{key}"))?,
    };
    let mut pos = [0usize; N];
    for (slot, name) in pos.iter_mut().zip(wanted) {
        *slot = position(&fields, name, &format!("meta.{key}"))?;
    }
    Ok((fields.len(), pos))
}

/// The type-name list at the `type` column of `node_types` / `edge_types`. DevTools accepts
/// either a list or a string per entry; only the type column must be a list.
fn type_names(types: &Value, pos: usize, what: &str) -> Result<Vec<String>, ParseError> {
    let list = types
        .as_array()
        .ok_or_else(|| bad(format!("meta.{what} is missing or not an array")))?;
    // The entry at the type column; if that is not a list, the first list entry.
    let entry = list
        .get(pos)
        .filter(|e| e.is_array())
        .or_else(|| list.iter().find(|e| e.is_array()))
        .ok_or_else(|| bad(format!("meta.{what} has no list of type names")))?;
    string_list(entry, &format!("meta.{what}[{pos}]"))
}

impl Meta {
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Meta, ParseError> {
        let snap: Value = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("the snapshot object is not valid JSON: {e}")))?;
        if !snap.is_object() {
            return Err(bad("snapshot is not an object"));
        }
        let meta = snap
            .get("meta")
            .filter(|m| m.is_object())
            .ok_or_else(|| bad("snapshot.meta is missing"))?;

        let nf_names = string_list(
            meta.get("node_fields").unwrap_or(&Value::Null),
            "meta.node_fields",
        )?;
        let mut node_fields = Vec::with_capacity(nf_names.len());
        for name in &nf_names {
            let f = match name.as_str() {
                "type" => NodeField::Type,
                "name" => NodeField::Name,
                "id" => NodeField::Id,
                "self_size" => NodeField::SelfSize,
                "edge_count" => NodeField::EdgeCount,
                "trace_node_id" => NodeField::TraceNodeId,
                "detachedness" => NodeField::Detachedness,
                _ => NodeField::Ignored,
            };
            if f != NodeField::Ignored && node_fields.contains(&f) {
                return Err(bad(format!("meta.node_fields lists {name:?} twice")));
            }
            node_fields.push(f);
        }
        for (f, name) in [
            (NodeField::Type, "type"),
            (NodeField::Name, "name"),
            (NodeField::Id, "id"),
            (NodeField::SelfSize, "self_size"),
            (NodeField::EdgeCount, "edge_count"),
        ] {
            if !node_fields.contains(&f) {
                return Err(bad(format!("meta.node_fields has no \"{name}\" field")));
            }
        }
        let node_type_pos = position(&nf_names, "type", "meta.node_fields")?;
        let node_type_names = type_names(
            meta.get("node_types").unwrap_or(&Value::Null),
            node_type_pos,
            "node_types",
        )?;
        let node_types = node_type_names
            .iter()
            .map(|n| NodeType::from_name(n))
            .collect();

        let ef_names = string_list(
            meta.get("edge_fields").unwrap_or(&Value::Null),
            "meta.edge_fields",
        )?;
        let edge_type_pos = position(&ef_names, "type", "meta.edge_fields")?;
        let edge_name_pos = position(&ef_names, "name_or_index", "meta.edge_fields")?;
        let edge_to_pos = position(&ef_names, "to_node", "meta.edge_fields")?;
        let edge_type_names = type_names(
            meta.get("edge_types").unwrap_or(&Value::Null),
            edge_type_pos,
            "edge_types",
        )?;
        let edge_types = edge_type_names
            .iter()
            .map(|n| EdgeType::from_name(n))
            .collect();

        let (location_group, location_pos) = optional_fields(
            meta,
            "location_fields",
            ["object_index", "script_id", "line", "column"],
        )?;
        let (tfi_group, tfi_pos) = optional_fields(
            meta,
            "trace_function_info_fields",
            [
                "function_id",
                "name",
                "script_name",
                "script_id",
                "line",
                "column",
            ],
        )?;
        let (trace_group, trace_all) = optional_fields(
            meta,
            "trace_node_fields",
            ["id", "function_info_index", "count", "size", "children"],
        )?;
        if trace_all[4] + 1 != trace_group {
            return Err(bad(
                "meta.trace_node_fields: \"children\" must be the last field",
            ));
        }
        let trace_pos = [trace_all[0], trace_all[1], trace_all[2], trace_all[3]];
        let (sample_group, sample_pos) =
            optional_fields(meta, "sample_fields", ["timestamp_us", "last_assigned_id"])?;

        let node_count = count(&snap, "node_count", true)?;
        let edge_count = count(&snap, "edge_count", true)?;
        let extra_native_bytes = count(&snap, "extra_native_bytes", false)?;
        let root_index = count(&snap, "root_index", false)?;

        let nf = node_fields.len() as u64;
        if node_count > u64::from(u32::MAX) {
            return Err(bad(format!(
                "node_count {node_count} exceeds the supported maximum {}",
                u32::MAX
            )));
        }
        if edge_count > u64::from(u32::MAX) {
            return Err(bad(format!(
                "edge_count {edge_count} exceeds the supported maximum {}",
                u32::MAX
            )));
        }
        if node_count == 0 {
            return Err(bad("node_count is 0 (a snapshot always has a root node)"));
        }
        if root_index % nf != 0 || root_index / nf >= node_count {
            return Err(bad(format!(
                "root_index {root_index} is not a node index (node_count {node_count}, {nf} fields)"
            )));
        }

        Ok(Meta {
            has_detachedness: node_fields.contains(&NodeField::Detachedness),
            node_fields,
            node_type_names,
            node_types,
            edge_field_count: ef_names.len(),
            edge_type_pos,
            edge_name_pos,
            edge_to_pos,
            edge_type_names,
            edge_types,
            node_count,
            edge_count,
            extra_native_bytes,
            root_index,
            location_group,
            location_pos,
            tfi_group,
            tfi_pos,
            trace_group,
            trace_pos,
            sample_group,
            sample_pos,
        })
    }
}
