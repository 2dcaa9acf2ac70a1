//! Streaming `.heapsnapshot` parser.
//!
//! The input is read in 8 MB chunks and scanned byte by byte; nothing holds the whole file.
//! Only the small `snapshot` header object goes through `serde_json`. Sections are expected
//! in V8's order (`snapshot` first, `nodes` before `edges` and `locations`); optional
//! sections may be absent and unknown keys are skipped. Every index is validated, so the
//! resulting [`RawSnapshot`] upholds the invariants documented on it, and no input panics.

use super::meta::{Meta, NodeField};
use super::scanner::{
    describe_byte, fill_chunk, ChunkSource, ReadSource, Scanner, ThreadSource, UintArray,
    CHUNK_SIZE,
};
use super::strdec::StringDecoder;
use super::{EdgeType, Location, RawSnapshot, TraceFunctionInfo, TraceNode};
use crate::strings::StringTable;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Why a snapshot could not be read. `Display` is one line naming the problem and, where it
/// helps, the byte offset in the input.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Generic "not a heap snapshot" with a free-form reason.
    #[error("not a heap snapshot: {0}")]
    Invalid(String),
    #[error("cannot open {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("read error at byte {offset}: {source}")]
    Read {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("empty input: not a heap snapshot")]
    Empty,
    #[error("not JSON: the input starts with {found}, expected '{{'")]
    NotJson { found: String },
    #[error("not a heap snapshot: {0}")]
    NotASnapshot(String),
    #[error("malformed JSON at byte {offset}: {msg}")]
    Syntax { offset: u64, msg: String },
    #[error("truncated input: unexpected end at byte {offset} while reading {context}")]
    Truncated { offset: u64, context: &'static str },
    #[error("invalid snapshot header: {0}")]
    BadHeader(String),
    #[error("section {key:?} at byte {offset} cannot be read here: {reason}")]
    KeyOrder {
        key: String,
        offset: u64,
        reason: &'static str,
    },
    #[error("section {key:?} appears twice (second at byte {offset})")]
    DuplicateKey { key: String, offset: u64 },
    #[error("missing section {0:?}")]
    MissingSection(&'static str),
    #[error("expected an unsigned integer in {context} at byte {offset}, found {found}")]
    ExpectedNumber {
        offset: u64,
        context: &'static str,
        found: String,
    },
    #[error("number in {context} at byte {offset} does not fit in {max}")]
    NumberOverflow {
        offset: u64,
        context: &'static str,
        max: &'static str,
    },
    #[error("{field} of {record} #{index} is {value}, which does not fit in {max}")]
    FieldOverflow {
        record: &'static str,
        index: u64,
        field: &'static str,
        value: u64,
        max: &'static str,
    },
    #[error("section {section:?} has {actual} values, expected {expected} ({why})")]
    LengthMismatch {
        section: &'static str,
        expected: u64,
        actual: u64,
        why: &'static str,
    },
    #[error("the nodes' edge_count fields sum to {sum}, but snapshot.edge_count is {declared}")]
    EdgeCountMismatch { sum: u64, declared: u64 },
    #[error(
        "edge #{edge} points to node index {to_node}, which {problem} \
         (node_count {node_count}, {fields} fields per node)"
    )]
    BadToNode {
        edge: u64,
        to_node: u64,
        problem: &'static str,
        node_count: u64,
        fields: u64,
    },
    #[error("{what} #{index} has {kind} index {value}, but there are only {count}")]
    IndexOutOfRange {
        what: &'static str,
        index: u64,
        kind: &'static str,
        value: u64,
        count: u64,
    },
    #[error("location #{index} has object_index {value}, which is not a node index (node_count {node_count}, {fields} fields per node)")]
    BadLocation {
        index: u64,
        value: u64,
        node_count: u64,
        fields: u64,
    },
    #[error("trailing data after the snapshot object at byte {offset}")]
    TrailingData { offset: u64 },
    #[error("too many strings: more than {} entries", u32::MAX)]
    TooManyStrings,
}

/// Parses a snapshot from any byte stream (a pipe, stdin, a socket: it need not be `Send`
/// or seekable). The stream is read in 8 MB chunks on the calling thread. `progress` is
/// called with the bytes consumed so far, once per chunk and once at the end.
///
/// Without a known input size, arrays are preallocated from the header counts up to 2^27
/// elements each and grow beyond that; [`parse_file`] caps the preallocation by the file size.
pub fn parse_reader<R: Read>(
    reader: R,
    progress: &mut dyn FnMut(u64),
) -> Result<RawSnapshot, ParseError> {
    let mut src = ReadSource::new(reader, CHUNK_SIZE);
    parse_source(&mut src, None, progress)
}

/// Parses a snapshot file. A reader thread fills the next 8 MB chunk while this thread
/// scans; arrays are preallocated exactly from the header counts (capped by what the file
/// size could hold, so a lying header cannot exhaust memory). Open errors name the path;
/// other errors do not (callers prefix the file name).
pub fn parse_file(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<RawSnapshot, ParseError> {
    let file = std::fs::File::open(path).map_err(|source| ParseError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(size) = size.filter(|&s| s >= super::split::SPLIT_MIN_BYTES) {
        // Two threads when the layout allows; on any failure the sequential parse below
        // runs and reports the error with its exact offset.
        if let Ok((raw, _)) = super::split::parse_file_split(&file, size, None, progress) {
            return Ok(raw);
        }
    }
    let open = || {
        std::fs::File::open(path).map_err(|source| ParseError::Open {
            path: path.to_path_buf(),
            source,
        })
    };
    Parser::new(size)
        .run_read_ahead(file, open, progress)
        .and_then(Parser::finish)
}

/// The reader thread's loop: fills chunks from `reader` and sends them, reusing the buffers
/// the parser sends back.
fn read_ahead<R: Read>(
    mut reader: R,
    tx: std::sync::mpsc::SyncSender<io::Result<Vec<u8>>>,
    back_rx: std::sync::mpsc::Receiver<Vec<u8>>,
) {
    // Up to three fresh buffers, then only recycled ones.
    let mut fresh = 3;
    loop {
        let buf = if fresh > 0 {
            fresh -= 1;
            Vec::new()
        } else {
            match back_rx.recv() {
                Ok(b) => b,
                Err(_) => return,
            }
        };
        match fill_chunk(&mut reader, buf, CHUNK_SIZE) {
            Ok(b) => {
                let end = b.is_empty();
                if tx.send(Ok(b)).is_err() || end {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// The back part of a split edges array, decoded by another thread, behind room for the
/// front part.
pub(super) struct BackEdges {
    front_edges: usize,
    types: Vec<EdgeType>,
    names: Vec<u32>,
    to: Vec<u32>,
    /// Largest string name index in the back part and its edge.
    max_name: Option<(u32, u64)>,
}

/// Parses a file on two threads, cutting the edges at the first record boundary at or after
/// byte `earliest_cut`. Returns the snapshot and the cut's offset (`None`: the layout did not
/// allow a cut and one thread read everything). [`parse_file`] does this for large files on
/// its own and falls back to one thread on any error; this entry point exists so that tests
/// and benchmarks can place the cut anywhere. An error here says only that the route failed.
#[doc(hidden)]
pub fn parse_file_split_at(
    path: &Path,
    earliest_cut: u64,
) -> Result<(RawSnapshot, Option<u64>), ParseError> {
    let file = std::fs::File::open(path).map_err(|source| ParseError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    super::split::parse_file_split(&file, size, Some(earliest_cut), &mut |_| {})
}

/// Values per batch handed from the number scanner to the record decoder.
const BATCH_RECORDS: usize = 1024;
/// Without a known input size, never reserve more than this many elements up front.
const UNKNOWN_SIZE_RESERVE_CAP: u64 = 1 << 27;
/// Largest accepted `snapshot` header object.
const HEADER_LIMIT: usize = 64 << 20;

/// Reserves room for `want` elements, capped by what the input could hold; a failed
/// reservation is not an error (the vector grows on demand instead).
fn reserve<T>(v: &mut Vec<T>, want: u64, cap: u64) {
    let n = usize::try_from(want.min(cap)).unwrap_or(usize::MAX);
    if v.try_reserve_exact(n).is_err() {
        let _ = v.try_reserve_exact(n.min(1 << 20));
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Key {
    Snapshot,
    Nodes,
    Edges,
    TraceFunctionInfos,
    TraceTree,
    Samples,
    Locations,
    Strings,
}

impl Key {
    fn from_bytes(b: &[u8]) -> Option<Key> {
        Some(match b {
            b"snapshot" => Key::Snapshot,
            b"nodes" => Key::Nodes,
            b"edges" => Key::Edges,
            b"trace_function_infos" => Key::TraceFunctionInfos,
            b"trace_tree" => Key::TraceTree,
            b"samples" => Key::Samples,
            b"locations" => Key::Locations,
            b"strings" => Key::Strings,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Key::Snapshot => "snapshot",
            Key::Nodes => "nodes",
            Key::Edges => "edges",
            Key::TraceFunctionInfos => "trace_function_infos",
            Key::TraceTree => "trace_tree",
            Key::Samples => "samples",
            Key::Locations => "locations",
            Key::Strings => "strings",
        }
    }
}

pub(super) struct Parser {
    size_hint: Option<u64>,
    meta: Option<Meta>,
    raw: RawSnapshot,
    seen: [bool; 8],
    /// Largest node name index and the first node carrying it.
    max_node_name: Option<(u32, u64)>,
    /// Largest string-typed edge name index and the first edge carrying it.
    max_edge_name: Option<(u32, u64)>,
    decoder: StringDecoder,
    /// Set when another thread parses the back part of the edges ([`super::split`]).
    edges_plan: Option<std::sync::Arc<super::split::Plan>>,
}

fn parse_source(
    src: &mut dyn ChunkSource,
    size_hint: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> Result<RawSnapshot, ParseError> {
    Parser::new(size_hint)
        .run(src, progress)
        .and_then(Parser::finish)
}

impl Parser {
    pub(super) fn new(size_hint: Option<u64>) -> Parser {
        Parser {
            size_hint,
            meta: None,
            raw: RawSnapshot::default(),
            seen: [false; 8],
            max_node_name: None,
            max_edge_name: None,
            decoder: StringDecoder::default(),
            edges_plan: None,
        }
    }

    /// Parses the back part of an edges array that [`super::split`] cut off: `back_values`
    /// numbers (whole records) from a source that starts with `[` and ends with `]`. The
    /// arrays start with room for the front part's `front_values` numbers, which
    /// [`Parser::join_edges`] copies in, so the large part is never copied.
    pub(super) fn back_edges(
        meta: Meta,
        src: &mut dyn ChunkSource,
        size_hint: Option<u64>,
        front_values: u64,
        back_values: u64,
    ) -> Result<BackEdges, ParseError> {
        let ef = meta.edge_field_count.max(1) as u64;
        let front_edges = usize::try_from(front_values / ef).unwrap_or(usize::MAX);
        let mut p = Parser::new(size_hint);
        p.meta = Some(meta);
        let cap = p.cap_for(2 * ef);
        let all = (front_values + back_values) / ef;
        reserve(&mut p.raw.edge_types, all, cap);
        reserve(&mut p.raw.edge_names, all, cap);
        reserve(&mut p.raw.edge_to, all, cap);
        p.raw.edge_types.resize(front_edges, EdgeType::Unknown);
        p.raw.edge_names.resize(front_edges, 0);
        p.raw.edge_to.resize(front_edges, 0);
        let mut progress = |_| {};
        let mut sc = Scanner::new(src, &mut progress);
        p.edge_values(&mut sc, back_values, back_values / ef)?;
        if sc.skip_ws()?.is_some() {
            return Err(ParseError::TrailingData {
                offset: sc.offset(),
            });
        }
        Ok(BackEdges {
            front_edges,
            types: p.raw.edge_types,
            names: p.raw.edge_names,
            to: p.raw.edge_to,
            max_name: p.max_edge_name,
        })
    }

    /// Joins this parser's front part of the edges with the back part; false when the two
    /// do not fit together.
    pub(super) fn join_edges(&mut self, mut back: BackEdges) -> bool {
        let front = self.raw.edge_to.len();
        if front != back.front_edges {
            return false;
        }
        back.types[..front].copy_from_slice(&self.raw.edge_types);
        back.names[..front].copy_from_slice(&self.raw.edge_names);
        back.to[..front].copy_from_slice(&self.raw.edge_to);
        if let Some((name, edge)) = back.max_name {
            if self.max_edge_name.is_none_or(|(m, _)| name > m) {
                self.max_edge_name = Some((name, edge));
            }
        }
        self.raw.edge_types = back.types;
        self.raw.edge_names = back.names;
        self.raw.edge_to = back.to;
        true
    }

    pub(super) fn with_plan(mut self, plan: std::sync::Arc<super::split::Plan>) -> Parser {
        self.edges_plan = Some(plan);
        self
    }

    /// [`Parser::run`] with a reader thread filling the next 8 MB chunk from `reader` while
    /// this thread scans. Without a thread, reads on this thread from `reopen()`.
    pub(super) fn run_read_ahead<R: Read + Send>(
        self,
        reader: R,
        reopen: impl FnOnce() -> Result<R, ParseError>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Parser, ParseError> {
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(2);
            let (back, back_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
            let spawned = std::thread::Builder::new()
                .name("snapshot-reader".into())
                .spawn_scoped(s, move || read_ahead(reader, tx, back_rx));
            match spawned {
                Ok(_) => self.run(&mut ThreadSource { rx, back }, progress),
                Err(_) => self.run(&mut ReadSource::new(reopen()?, CHUNK_SIZE), progress),
            }
        })
    }

    /// Reads the whole top-level object from `src`; [`Parser::finish`] validates the result.
    pub(super) fn run(
        mut self,
        src: &mut dyn ChunkSource,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Parser, ParseError> {
        let mut sc = Scanner::new(src, progress);
        let p = &mut self;
        match sc.skip_ws()? {
            None => return Err(ParseError::Empty),
            Some(b'{') => sc.bump(),
            Some(b'[') => {
                return Err(ParseError::NotASnapshot(
                    "the top-level JSON value is an array, not an object".into(),
                ))
            }
            Some(b @ (b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')) => {
                return Err(ParseError::NotASnapshot(format!(
                    "the top-level JSON value starts with {}, not an object",
                    describe_byte(b)
                )))
            }
            Some(b) => {
                return Err(ParseError::NotJson {
                    found: describe_byte(b),
                })
            }
        }
        const TOP: &str = "the top-level object";
        if sc.skip_ws_some(TOP)? == b'}' {
            sc.bump();
        } else {
            loop {
                let at = sc.offset();
                sc.expect(b'"', TOP)?;
                p.decoder.read(&mut sc, "a top-level key")?;
                let key = Key::from_bytes(p.decoder.bytes());
                sc.expect(b':', TOP)?;
                match key {
                    Some(k) => p.section(&mut sc, k, at)?,
                    None => sc.skip_value("an unknown top-level value")?,
                }
                match sc.skip_ws_some(TOP)? {
                    b',' => sc.bump(),
                    b'}' => {
                        sc.bump();
                        break;
                    }
                    other => {
                        return Err(sc.syntax(format!(
                            "expected ',' or '}}' after a top-level value, found {}",
                            describe_byte(other)
                        )))
                    }
                }
            }
        }
        if sc.skip_ws()?.is_some() {
            return Err(ParseError::TrailingData {
                offset: sc.offset(),
            });
        }
        Ok(self)
    }

    fn section(&mut self, sc: &mut Scanner<'_>, key: Key, at: u64) -> Result<(), ParseError> {
        let slot = key as usize;
        if self.seen[slot] {
            return Err(ParseError::DuplicateKey {
                key: key.name().into(),
                offset: at,
            });
        }
        self.seen[slot] = true;
        if key != Key::Snapshot && self.meta.is_none() {
            return Err(ParseError::KeyOrder {
                key: key.name().into(),
                offset: at,
                reason: "it comes before the \"snapshot\" header",
            });
        }
        if matches!(key, Key::Edges | Key::Locations) && !self.seen[Key::Nodes as usize] {
            return Err(ParseError::KeyOrder {
                key: key.name().into(),
                offset: at,
                reason: "it comes before \"nodes\"",
            });
        }
        match key {
            Key::Snapshot => {
                let bytes = sc.copy_object(HEADER_LIMIT, "the snapshot header")?;
                self.meta = Some(Meta::from_json(&bytes)?);
                Ok(())
            }
            Key::Nodes => self.nodes(sc),
            Key::Edges => self.edges(sc),
            Key::TraceFunctionInfos => self.trace_function_infos(sc),
            Key::TraceTree => self.trace_tree(sc),
            Key::Samples => self.samples(sc),
            Key::Locations => self.locations(sc),
            Key::Strings => self.strings(sc),
        }
    }

    fn cap_for(&self, min_bytes_per_record: u64) -> u64 {
        match self.size_hint {
            Some(size) => size / min_bytes_per_record.max(1) + 1,
            None => UNKNOWN_SIZE_RESERVE_CAP,
        }
    }

    fn nodes(&mut self, sc: &mut Scanner<'_>) -> Result<(), ParseError> {
        let Some(meta) = self.meta.as_ref() else {
            return Err(ParseError::MissingSection("snapshot"));
        };
        sc.expect(b'[', "nodes")?;
        let nf = meta.node_fields.len();
        let nf64 = nf as u64;
        let node_count = meta.node_count;
        let expected = node_count.checked_mul(nf64).ok_or_else(|| {
            ParseError::BadHeader(format!("node_count {node_count} × {nf} fields overflows"))
        })?;
        let cap = self.cap_for(2 * nf64);
        let raw = &mut self.raw;
        reserve(&mut raw.node_types, node_count, cap);
        reserve(&mut raw.node_names, node_count, cap);
        reserve(&mut raw.node_ids, node_count, cap);
        reserve(&mut raw.node_self_sizes, node_count, cap);
        reserve(&mut raw.node_detachedness, node_count, cap);
        reserve(&mut raw.first_edge, node_count.saturating_add(1), cap);
        raw.first_edge.push(0);

        let pos = |f: NodeField| meta.node_fields.iter().position(|&x| x == f);
        let (Some(p_type), Some(p_name), Some(p_id), Some(p_size), Some(p_ec)) = (
            pos(NodeField::Type),
            pos(NodeField::Name),
            pos(NodeField::Id),
            pos(NodeField::SelfSize),
            pos(NodeField::EdgeCount),
        ) else {
            return Err(ParseError::BadHeader(
                "node_fields lack a required field".into(),
            ));
        };
        let p_trace = pos(NodeField::TraceNodeId);
        let p_det = pos(NodeField::Detachedness);
        let types = &meta.node_types;

        let batch = nf * BATCH_RECORDS;
        let mut vals: Vec<u64> = Vec::with_capacity(batch);
        let mut arr = UintArray::new("nodes");
        let mut total: u64 = 0;
        let mut edge_sum: u64 = 0;
        let mut max_name: Option<(u32, u64)> = None;
        let mut ordinal: u64 = 0;
        let too_long = |actual| ParseError::LengthMismatch {
            section: "nodes",
            expected,
            actual,
            why: "node_count × node fields",
        };
        while !arr.done {
            vals.clear();
            arr.fill(sc, &mut vals, batch)?;
            total += vals.len() as u64;
            if total > expected {
                return Err(too_long(total));
            }
            for r in vals.chunks_exact(nf) {
                let over = |field, value, max| ParseError::FieldOverflow {
                    record: "node",
                    index: ordinal,
                    field,
                    value,
                    max,
                };
                let t = r[p_type];
                let ty = match types.get(t as usize) {
                    Some(&ty) if t <= u64::from(u32::MAX) => ty,
                    _ => {
                        return Err(ParseError::IndexOutOfRange {
                            what: "node",
                            index: ordinal,
                            kind: "type",
                            value: t,
                            count: types.len() as u64,
                        })
                    }
                };
                let name = u32::try_from(r[p_name]).map_err(|_| over("name", r[p_name], "u32"))?;
                let id = u32::try_from(r[p_id]).map_err(|_| over("id", r[p_id], "u32"))?;
                let ec = r[p_ec];
                edge_sum = match edge_sum.checked_add(ec) {
                    Some(s) if s <= u64::from(u32::MAX) => s,
                    _ => {
                        return Err(over(
                            "running edge_count sum",
                            edge_sum.saturating_add(ec),
                            "u32",
                        ))
                    }
                };
                let trace = match p_trace {
                    Some(p) => {
                        u32::try_from(r[p]).map_err(|_| over("trace_node_id", r[p], "u32"))?
                    }
                    None => 0,
                };
                let det = match p_det {
                    Some(p) => u8::try_from(r[p]).map_err(|_| over("detachedness", r[p], "u8"))?,
                    None => 0,
                };
                if max_name.is_none_or(|(m, _)| name > m) {
                    max_name = Some((name, ordinal));
                }
                raw.node_types.push(ty);
                raw.node_names.push(name);
                raw.node_ids.push(id);
                raw.node_self_sizes.push(r[p_size]);
                // Kept only once a node has an allocation trace (the 17 MB per 4M nodes of
                // zeros would otherwise count against the memory budget).
                if trace != 0 || !raw.node_trace_ids.is_empty() {
                    if raw.node_trace_ids.is_empty() {
                        raw.node_trace_ids.resize(ordinal as usize, 0);
                    }
                    raw.node_trace_ids.push(trace);
                }
                raw.node_detachedness.push(det);
                raw.first_edge.push(edge_sum as u32);
                ordinal += 1;
            }
        }
        if total != expected {
            return Err(ParseError::LengthMismatch {
                section: "nodes",
                expected,
                actual: total,
                why: "node_count × node fields",
            });
        }
        if edge_sum != meta.edge_count {
            return Err(ParseError::EdgeCountMismatch {
                sum: edge_sum,
                declared: meta.edge_count,
            });
        }
        self.max_node_name = max_name;
        Ok(())
    }

    fn edges(&mut self, sc: &mut Scanner<'_>) -> Result<(), ParseError> {
        let Some(meta) = self.meta.as_ref() else {
            return Err(ParseError::MissingSection("snapshot"));
        };
        let ef = meta.edge_field_count;
        let edge_count = meta.edge_count;
        let all = edge_count.checked_mul(ef as u64).ok_or_else(|| {
            ParseError::BadHeader(format!("edge_count {edge_count} × {ef} fields overflows"))
        })?;
        // With a split, this source ends the array after the front part.
        let expected = match &self.edges_plan {
            Some(plan) => plan.front_values().unwrap_or(all),
            None => all,
        };
        self.edge_values(sc, expected, expected / ef.max(1) as u64)
    }

    /// Reads an edges array (`[` to `]`) of exactly `expected` numbers, reserving room for
    /// `reserve_edges` edges.
    fn edge_values(
        &mut self,
        sc: &mut Scanner<'_>,
        expected: u64,
        reserve_edges: u64,
    ) -> Result<(), ParseError> {
        let Some(meta) = self.meta.as_ref() else {
            return Err(ParseError::MissingSection("snapshot"));
        };
        sc.expect(b'[', "edges")?;
        let ef = meta.edge_field_count;
        let cap = self.cap_for(2 * ef as u64);
        let raw = &mut self.raw;
        reserve(&mut raw.edge_types, reserve_edges, cap);
        reserve(&mut raw.edge_names, reserve_edges, cap);
        reserve(&mut raw.edge_to, reserve_edges, cap);
        let ctx = EdgeCtx {
            ef,
            p_type: meta.edge_type_pos,
            p_name: meta.edge_name_pos,
            p_to: meta.edge_to_pos,
            types: &meta.edge_types,
            node_count: meta.node_count,
            nf: meta.node_fields.len() as u64,
        };
        let batch = ef * BATCH_RECORDS;
        let mut vals: Vec<u64> = Vec::with_capacity(batch);
        let mut arr = UintArray::new("edges");
        let mut total: u64 = 0;
        let mut max_name: Option<(u32, u64)> = None;
        while !arr.done {
            vals.clear();
            arr.fill(sc, &mut vals, batch)?;
            total += vals.len() as u64;
            if total > expected {
                return Err(ParseError::LengthMismatch {
                    section: "edges",
                    expected,
                    actual: total,
                    why: "edge_count × edge fields",
                });
            }
            match ctx.nf {
                7 => decode_edges::<7>(&ctx, &vals, raw, &mut max_name)?,
                6 => decode_edges::<6>(&ctx, &vals, raw, &mut max_name)?,
                _ => decode_edges::<0>(&ctx, &vals, raw, &mut max_name)?,
            }
        }
        if total != expected {
            return Err(ParseError::LengthMismatch {
                section: "edges",
                expected,
                actual: total,
                why: "edge_count × edge fields",
            });
        }
        self.max_edge_name = max_name;
        Ok(())
    }

    /// Reads a flat array of unsigned integers whose length must be a multiple of `group`,
    /// handing each complete group to `f`.
    fn groups(
        sc: &mut Scanner<'_>,
        section: &'static str,
        group: usize,
        why: &'static str,
        mut f: impl FnMut(u64, &[u64]) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        sc.expect(b'[', section)?;
        let group = group.max(1);
        let batch = group * 4096;
        let mut vals: Vec<u64> = Vec::with_capacity(batch);
        let mut arr = UintArray::new(section);
        let mut total: u64 = 0;
        let mut index: u64 = 0;
        while !arr.done {
            vals.clear();
            arr.fill(sc, &mut vals, batch)?;
            total += vals.len() as u64;
            for g in vals.chunks_exact(group) {
                f(index, g)?;
                index += 1;
            }
        }
        if !total.is_multiple_of(group as u64) {
            return Err(ParseError::LengthMismatch {
                section,
                expected: total - total % group as u64 + group as u64,
                actual: total,
                why,
            });
        }
        Ok(())
    }

    fn locations(&mut self, sc: &mut Scanner<'_>) -> Result<(), ParseError> {
        let Some(meta) = self.meta.as_ref() else {
            return Err(ParseError::MissingSection("snapshot"));
        };
        let nf = meta.node_fields.len() as u64;
        let node_count = meta.node_count;
        let [p_obj, p_script, p_line, p_col] = meta.location_pos;
        let out = &mut self.raw.locations;
        Self::groups(
            sc,
            "locations",
            meta.location_group,
            "a multiple of the location fields",
            |i, g| {
                let over = |field, value| ParseError::FieldOverflow {
                    record: "location",
                    index: i,
                    field,
                    value,
                    max: "u32",
                };
                let obj = g[p_obj];
                if obj % nf != 0 || obj / nf >= node_count {
                    return Err(ParseError::BadLocation {
                        index: i,
                        value: obj,
                        node_count,
                        fields: nf,
                    });
                }
                out.push(Location {
                    node: (obj / nf) as u32,
                    script_id: u32::try_from(g[p_script])
                        .map_err(|_| over("script_id", g[p_script]))?,
                    line: u32::try_from(g[p_line]).map_err(|_| over("line", g[p_line]))?,
                    column: u32::try_from(g[p_col]).map_err(|_| over("column", g[p_col]))?,
                });
                Ok(())
            },
        )
    }

    fn trace_function_infos(&mut self, sc: &mut Scanner<'_>) -> Result<(), ParseError> {
        let Some(meta) = self.meta.as_ref() else {
            return Err(ParseError::MissingSection("snapshot"));
        };
        let p = meta.tfi_pos;
        let out = &mut self.raw.trace_function_infos;
        Self::groups(
            sc,
            "trace_function_infos",
            meta.tfi_group,
            "a multiple of the trace function info fields",
            |i, g| {
                let field = |k: usize, name: &'static str| {
                    u32::try_from(g[p[k]]).map_err(|_| ParseError::FieldOverflow {
                        record: "trace function info",
                        index: i,
                        field: name,
                        value: g[p[k]],
                        max: "u32",
                    })
                };
                out.push(TraceFunctionInfo {
                    function_id: field(0, "function_id")?,
                    name: field(1, "name")?,
                    script_name: field(2, "script_name")?,
                    script_id: field(3, "script_id")?,
                    line: field(4, "line")?,
                    column: field(5, "column")?,
                });
                Ok(())
            },
        )
    }

    fn samples(&mut self, sc: &mut Scanner<'_>) -> Result<(), ParseError> {
        let Some(meta) = self.meta.as_ref() else {
            return Err(ParseError::MissingSection("snapshot"));
        };
        let [p_ts, p_last] = meta.sample_pos;
        let out = &mut self.raw.samples;
        Self::groups(
            sc,
            "samples",
            meta.sample_group,
            "a multiple of the sample fields",
            |i, g| {
                let last = u32::try_from(g[p_last]).map_err(|_| ParseError::FieldOverflow {
                    record: "sample",
                    index: i,
                    field: "last_assigned_id",
                    value: g[p_last],
                    max: "u32",
                })?;
                out.push((g[p_ts], last));
                Ok(())
            },
        )
    }

    /// The nested `trace_tree`: `[id, fi, count, size, [children…], id, …]`, read with an
    /// explicit stack and flattened in pre-order with parent links.
    fn trace_tree(&mut self, sc: &mut Scanner<'_>) -> Result<(), ParseError> {
        const CTX: &str = "trace_tree";
        let Some(meta) = self.meta.as_ref() else {
            return Err(ParseError::MissingSection("snapshot"));
        };
        let children_pos = meta.trace_group - 1;
        let [p_id, p_fi, p_count, p_size] = meta.trace_pos;
        struct Level {
            parent: u32,
            pos: usize,
            expect_sep: bool,
            after_comma: bool,
        }
        sc.expect(b'[', CTX)?;
        let mut stack = vec![Level {
            parent: u32::MAX,
            pos: 0,
            expect_sep: false,
            after_comma: false,
        }];
        let mut cur: Vec<u64> = Vec::with_capacity(children_pos);
        let out = &mut self.raw.trace_tree;
        loop {
            let b = sc.skip_ws_some(CTX)?;
            let Some(lvl) = stack.last_mut() else {
                break;
            };
            if lvl.expect_sep {
                match b {
                    b',' => {
                        sc.bump();
                        lvl.expect_sep = false;
                        lvl.after_comma = true;
                    }
                    b']' => {
                        sc.bump();
                        if lvl.pos != 0 {
                            return Err(sc.syntax(format!(
                                "incomplete trace_tree node: {} of {} fields",
                                lvl.pos,
                                children_pos + 1
                            )));
                        }
                        stack.pop();
                        match stack.last_mut() {
                            None => break,
                            Some(parent) => {
                                parent.pos = 0;
                                parent.expect_sep = true;
                            }
                        }
                    }
                    other => {
                        return Err(sc.syntax(format!(
                            "expected ',' or ']' in {CTX}, found {}",
                            describe_byte(other)
                        )))
                    }
                }
                continue;
            }
            if b == b']' && !lvl.after_comma {
                // Empty array.
                sc.bump();
                stack.pop();
                match stack.last_mut() {
                    None => break,
                    Some(parent) => {
                        parent.pos = 0;
                        parent.expect_sep = true;
                    }
                }
                continue;
            }
            if lvl.pos == children_pos {
                if b != b'[' {
                    return Err(sc.syntax(format!(
                        "expected '[' (children) in {CTX}, found {}",
                        describe_byte(b)
                    )));
                }
                sc.bump();
                let index = out.len() as u64;
                let field = |k: usize, name: &'static str| {
                    u32::try_from(cur.get(k).copied().unwrap_or(0)).map_err(|_| {
                        ParseError::FieldOverflow {
                            record: "trace_tree node",
                            index,
                            field: name,
                            value: cur.get(k).copied().unwrap_or(0),
                            max: "u32",
                        }
                    })
                };
                let node = TraceNode {
                    id: field(p_id, "id")?,
                    function_info_index: field(p_fi, "function_info_index")?,
                    count: field(p_count, "count")?,
                    size: cur.get(p_size).copied().unwrap_or(0),
                    parent: lvl.parent,
                };
                let me = u32::try_from(index)
                    .ok()
                    .filter(|&m| m != u32::MAX)
                    .ok_or_else(|| sc.syntax("trace_tree has too many nodes".into()))?;
                out.push(node);
                cur.clear();
                lvl.pos += 1;
                stack.push(Level {
                    parent: me,
                    pos: 0,
                    expect_sep: false,
                    after_comma: false,
                });
                continue;
            }
            cur.push(sc.read_u64_slow(CTX)?);
            lvl.pos += 1;
            lvl.expect_sep = true;
            lvl.after_comma = false;
        }
        Ok(())
    }

    fn strings(&mut self, sc: &mut Scanner<'_>) -> Result<(), ParseError> {
        const CTX: &str = "strings";
        sc.expect(b'[', CTX)?;
        let table = &mut self.raw.strings;
        *table = StringTable::new();
        if sc.skip_ws_some(CTX)? == b']' {
            sc.bump();
            return Ok(());
        }
        loop {
            sc.expect(b'"', CTX)?;
            self.decoder.read(sc, CTX)?;
            if table.len() >= u32::MAX as usize {
                return Err(ParseError::TooManyStrings);
            }
            self.decoder.append_to(table);
            match sc.skip_ws_some(CTX)? {
                b',' => sc.bump(),
                b']' => {
                    sc.bump();
                    return Ok(());
                }
                other => {
                    return Err(sc.syntax(format!(
                        "expected ',' or ']' in {CTX}, found {}",
                        describe_byte(other)
                    )))
                }
            }
        }
    }

    /// Checks required sections and every cross-section index.
    pub(super) fn finish(self) -> Result<RawSnapshot, ParseError> {
        let Some(meta) = self.meta else {
            return Err(ParseError::NotASnapshot(
                "no \"snapshot\" header object".into(),
            ));
        };
        for key in [Key::Nodes, Key::Edges, Key::Strings] {
            if !self.seen[key as usize] {
                return Err(ParseError::MissingSection(key.name()));
            }
        }
        let mut raw = self.raw;
        let strings = raw.strings.len() as u64;
        let bad_string = |what, index, value: u32| ParseError::IndexOutOfRange {
            what,
            index,
            kind: "string",
            value: u64::from(value),
            count: strings,
        };
        if let Some((name, node)) = self.max_node_name {
            if u64::from(name) >= strings {
                return Err(bad_string("node", node, name));
            }
        }
        if let Some((name, edge)) = self.max_edge_name {
            if u64::from(name) >= strings {
                return Err(bad_string("edge", edge, name));
            }
        }
        for (i, f) in raw.trace_function_infos.iter().enumerate() {
            for v in [f.name, f.script_name] {
                if u64::from(v) >= strings {
                    return Err(bad_string("trace function info", i as u64, v));
                }
            }
        }
        let infos = raw.trace_function_infos.len() as u64;
        for (i, t) in raw.trace_tree.iter().enumerate() {
            if u64::from(t.function_info_index) >= infos {
                return Err(ParseError::IndexOutOfRange {
                    what: "trace_tree node",
                    index: i as u64,
                    kind: "function_info_index",
                    value: u64::from(t.function_info_index),
                    count: infos,
                });
            }
        }
        let nf = meta.node_fields.len() as u64;
        raw.node_type_names = meta.node_type_names;
        raw.edge_type_names = meta.edge_type_names;
        raw.node_field_count = nf as u32;
        raw.extra_native_bytes = meta.extra_native_bytes;
        raw.root = (meta.root_index / nf) as u32;
        raw.has_detachedness = meta.has_detachedness;
        Ok(raw)
    }
}

struct EdgeCtx<'m> {
    ef: usize,
    p_type: usize,
    p_name: usize,
    p_to: usize,
    types: &'m [EdgeType],
    node_count: u64,
    nf: u64,
}

/// Decodes complete edge records. `NF` is the node field count when known at compile time
/// (6 or 7, so the division by it is a multiplication), 0 to use `ctx.nf`.
#[inline(never)]
fn decode_edges<const NF: u64>(
    ctx: &EdgeCtx<'_>,
    vals: &[u64],
    raw: &mut RawSnapshot,
    max_name: &mut Option<(u32, u64)>,
) -> Result<(), ParseError> {
    let nf = if NF == 0 { ctx.nf } else { NF };
    let limit = ctx.node_count.saturating_mul(nf);
    for (edge, r) in (raw.edge_to.len() as u64..).zip(vals.chunks_exact(ctx.ef)) {
        let t = r[ctx.p_type];
        let ty = match ctx.types.get(t as usize) {
            Some(&ty) if t <= u64::from(u32::MAX) => ty,
            _ => {
                return Err(ParseError::IndexOutOfRange {
                    what: "edge",
                    index: edge,
                    kind: "type",
                    value: t,
                    count: ctx.types.len() as u64,
                })
            }
        };
        let name = r[ctx.p_name];
        let Ok(name32) = u32::try_from(name) else {
            return Err(ParseError::FieldOverflow {
                record: "edge",
                index: edge,
                field: "name_or_index",
                value: name,
                max: "u32",
            });
        };
        if !ty.has_index_name()
            && ty != EdgeType::Unknown
            && max_name.is_none_or(|(m, _)| name32 > m)
        {
            *max_name = Some((name32, edge));
        }
        let to = r[ctx.p_to];
        if to >= limit || to % nf != 0 {
            return Err(ParseError::BadToNode {
                edge,
                to_node: to,
                problem: if to >= limit {
                    "is past the last node"
                } else {
                    "is not a multiple of the node field count"
                },
                node_count: ctx.node_count,
                fields: nf,
            });
        }
        raw.edge_types.push(ty);
        raw.edge_names.push(name32);
        raw.edge_to.push((to / nf) as u32);
    }
    Ok(())
}

/// Parses with a given chunk size (tests exercise every chunk boundary with tiny chunks).
#[cfg(test)]
pub(crate) fn parse_chunked(bytes: &[u8], chunk: usize) -> Result<RawSnapshot, ParseError> {
    let mut src = ReadSource::new(bytes, chunk);
    parse_source(&mut src, Some(bytes.len() as u64), &mut |_| {})
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
