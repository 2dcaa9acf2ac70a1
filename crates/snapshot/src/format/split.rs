//! Parsing a snapshot *file* on two threads.
//!
//! The edges array holds about 60% of a snapshot's bytes. A helper thread pre-scans the
//! file (inside the number arrays only `]` and `,` matter, which `memchr` finds at memory
//! speed), cuts the edges array at a record boundary so that the two halves of the work are
//! about equal, and parses the back part of the edges. Meanwhile the main parser reads the
//! header, the nodes, the front part of the edges and everything after them, through a
//! source that jumps over the back part. The two edge parts are then joined.
//!
//! The main parser may read freely up to the cut's earliest possible offset; beyond it, its
//! reader waits for the helper's decision. Anything unexpected (another layout, a count that
//! does not add up, a malformed number) makes [`parse_file_split`] fail, and the caller parses
//! the file again on one thread, which reports the error with the right offset.

use super::meta::Meta;
use super::parse::{ParseError, Parser};
use super::scanner::{ReadSource, Scanner, CHUNK_SIZE};
use super::strdec::StringDecoder;
use super::RawSnapshot;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex};

/// Files smaller than this are parsed on one thread (the split would not pay for itself).
pub(crate) const SPLIT_MIN_BYTES: u64 = 64 << 20;
/// Share of the file before the earliest cut. The main parser also reads everything after
/// the edges, and nodes and strings cost more per byte than edges; the helper also pays for
/// the pre-scan. 0.41 balances the two threads on Node 20 snapshots.
const FRONT_SHARE: f64 = 0.41;
/// Block size of the pre-scan reads.
const SCAN_BLOCK: usize = 4 << 20;

/// Where the edges array is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    /// Offset of the `,` that ends the front part.
    at: u64,
    /// Offset of the `]` that closes the edges array.
    close: u64,
    /// Numbers in the front part (a multiple of the edge field count).
    front_values: u64,
    /// Numbers in the back part.
    back_values: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Cut(Cut),
    /// No cut: the main parser reads the whole file.
    Whole,
}

/// The helper's decision, shared with the main parser and its reader.
pub(crate) struct Plan {
    /// No cut can lie before this offset, so reads below it need no decision.
    earliest_cut: u64,
    decision: Mutex<Option<Decision>>,
    decided: Condvar,
}

impl Plan {
    fn new(earliest_cut: u64) -> Plan {
        Plan {
            earliest_cut,
            decision: Mutex::new(None),
            decided: Condvar::new(),
        }
    }

    fn decide(&self, d: Decision) {
        let mut slot = self.decision.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(d);
        }
        self.decided.notify_all();
    }

    fn wait(&self) -> Decision {
        let mut slot = self.decision.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(d) = *slot {
                return d;
            }
            slot = self.decided.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// How many numbers the main parser's edges array holds: the front part when cut.
    pub(crate) fn front_values(&self) -> Option<u64> {
        match self.wait() {
            Decision::Cut(c) => Some(c.front_values),
            Decision::Whole => None,
        }
    }
}

/// Decides [`Decision::Whole`] when dropped, unless a decision was made already.
struct DecideOnDrop<'p>(&'p Plan);

impl Drop for DecideOnDrop<'_> {
    fn drop(&mut self) {
        self.0.decide(Decision::Whole);
    }
}

/// The file as the main parser sees it: the back part of the edges is left out, so its
/// edges array ends at the cut.
struct SplicedFile<'f> {
    file: &'f File,
    pos: u64,
    plan: &'f Plan,
}

impl Read for SplicedFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let limit = if self.pos < self.plan.earliest_cut {
            self.plan.earliest_cut
        } else {
            match self.plan.wait() {
                Decision::Whole => u64::MAX,
                Decision::Cut(c) if self.pos < c.at => c.at,
                Decision::Cut(c) => {
                    if self.pos == c.at {
                        self.pos = c.close;
                    }
                    u64::MAX
                }
            }
        };
        let want = usize::try_from(limit - self.pos)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A byte range of a file as a reader (positioned reads: the file's cursor is not used).
struct FileRange<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl Read for FileRange<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.end.saturating_sub(self.pos))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        // 0 at the end of the file: a short file ends the stream, and the parser reports
        // what is missing.
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Parses `file` (of `size` bytes) on two threads. An error means only that this route
/// failed: parse again on one thread for the real error.
/// `earliest_cut` overrides where the cut may start (tests move it around); by default the
/// front part is [`FRONT_SHARE`] of the file.
pub(crate) fn parse_file_split(
    file: &File,
    size: u64,
    earliest_cut: Option<u64>,
    progress: &mut dyn FnMut(u64),
) -> Result<(RawSnapshot, Option<u64>), ParseError> {
    let earliest = earliest_cut.unwrap_or((size as f64 * FRONT_SHARE) as u64);
    let plan = Arc::new(Plan::new(earliest));
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name("snapshot-edges".into())
            .spawn_scoped(s, {
                let plan = Arc::clone(&plan);
                move || {
                    // Whatever happens here (even a panic), the main parser gets a decision.
                    let _guard = DecideOnDrop(&plan);
                    let scanned = scan(file, plan.earliest_cut);
                    let (meta, cut) = match scanned {
                        Ok(Some((meta, cut))) => (meta, cut),
                        Ok(None) | Err(_) => {
                            plan.decide(Decision::Whole);
                            return None;
                        }
                    };
                    plan.decide(Decision::Cut(cut));
                    // The back part as an array of its own: `[`, the numbers after the
                    // cut, the closing `]`.
                    let back = FileRange {
                        file,
                        pos: cut.at + 1,
                        end: cut.close + 1,
                    };
                    let mut src = ReadSource::new(io::Cursor::new(b"[").chain(back), CHUNK_SIZE);
                    Some(Parser::back_edges(
                        meta,
                        &mut src,
                        Some(size),
                        cut.front_values,
                        cut.back_values,
                    ))
                }
            })
            .map_err(|e| ParseError::Read {
                offset: 0,
                source: e,
            })?;
        let front = parse_front(file, &plan, progress);
        // The helper always decides before it can fail, so the front never waits forever;
        // if it panicked, the decision is forced here.
        plan.decide(Decision::Whole);
        let back = helper.join().map_err(|_| ParseError::Read {
            offset: 0,
            source: io::Error::other("the edges thread panicked"),
        })?;
        let mut parser = front?;
        let (joined, cut) = match (plan.wait(), back) {
            (Decision::Cut(c), Some(back)) => (parser.join_edges(back?), Some(c.at)),
            (Decision::Whole, None) => (true, None),
            _ => (false, None),
        };
        if !joined {
            return Err(ParseError::Read {
                offset: 0,
                source: io::Error::other("the two parts of the edges do not fit together"),
            });
        }
        Ok((parser.finish()?, cut))
    })
}

/// Runs the main parser over the spliced file, with a reader thread filling chunks ahead.
fn parse_front(
    file: &File,
    plan: &Arc<Plan>,
    progress: &mut dyn FnMut(u64),
) -> Result<Parser, ParseError> {
    // Report file offsets: past the cut, the stream has skipped the back part.
    let mut file_progress = |offset: u64| {
        let skipped = match *plan.decision.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(Decision::Cut(c)) if offset > c.at => c.close - c.at,
            _ => 0,
        };
        progress(offset + skipped);
    };
    let size = file.metadata().ok().map(|m| m.len());
    let spliced = || SplicedFile { file, pos: 0, plan };
    Parser::new(size)
        .with_plan(Arc::clone(plan))
        .run_read_ahead(spliced(), || Ok(spliced()), &mut file_progress)
}

/// Finds the header, the nodes and edges arrays and the cut: the first `,` at or after
/// `earliest` (and inside the edges) that ends a whole edge record. `None` when the layout
/// is not V8's usual one or no such cut exists.
fn scan(file: &File, earliest: u64) -> io::Result<Option<(Meta, Cut)>> {
    let Some((meta, nodes_open)) = header(file)? else {
        return Ok(None);
    };
    let mut blocks = Blocks::new(file, nodes_open + 1);
    let Some(nodes_close) = blocks.find(|b| memchr::memchr(b']', b))? else {
        return Ok(None);
    };
    let Some(edges_open) = expect_key(file, nodes_close + 1, b"edges")? else {
        return Ok(None);
    };
    let ef = meta.edge_field_count as u64;
    let all = meta.edge_count.saturating_mul(ef);
    if ef == 0 || all == 0 {
        return Ok(None);
    }
    // Count the commas before `earliest`; no `]` may come first.
    let mut blocks = Blocks::new(file, edges_open + 1);
    let mut commas: u64 = 0;
    let mut cut_at = None;
    while let Some((start, block)) = blocks.next()? {
        let before = usize::try_from(earliest.saturating_sub(start))
            .unwrap_or(usize::MAX)
            .min(block.len());
        if memchr::memchr(b']', &block[..before]).is_some() {
            return Ok(None);
        }
        commas += memchr::memchr_iter(b',', &block[..before]).count() as u64;
        let mut found = None;
        for i in memchr::memchr2_iter(b',', b']', &block[before..]) {
            let i = before + i;
            if block[i] == b']' {
                return Ok(None);
            }
            commas += 1;
            if commas.is_multiple_of(ef) {
                found = Some(start + i as u64);
                break;
            }
        }
        if let Some(at) = found {
            cut_at = Some(at);
            break;
        }
    }
    let Some(at) = cut_at else {
        return Ok(None);
    };
    let front_values = commas;
    if front_values >= all {
        return Ok(None);
    }
    let mut blocks = Blocks::new(file, at + 1);
    let Some(close) = blocks.find(|b| memchr::memchr(b']', b))? else {
        return Ok(None);
    };
    Ok(Some((
        meta,
        Cut {
            at,
            close,
            front_values,
            back_values: all - front_values,
        },
    )))
}

/// Parses `{"snapshot":{...},"nodes":[` at the start of the file: the header and the offset
/// of the nodes' `[`.
fn header(file: &File) -> io::Result<Option<(Meta, u64)>> {
    let whole = FileRange {
        file,
        pos: 0,
        end: u64::MAX,
    };
    let mut src = ReadSource::new(whole, 1 << 20);
    let mut progress = |_| {};
    let mut sc = Scanner::new(&mut src, &mut progress);
    let mut decoder = StringDecoder::default();
    // `{` or `,` (skipping whitespace), then `"key":`; false when something else is there.
    let mut key = |sc: &mut Scanner<'_>, before: u8, key: &[u8]| -> Result<bool, ParseError> {
        for want in [before, b'"'] {
            if sc.skip_ws()? != Some(want) {
                return Ok(false);
            }
            sc.bump();
        }
        decoder.read(sc, "a top-level key")?;
        if decoder.bytes() != key {
            return Ok(false);
        }
        sc.expect(b':', "the top-level object")?;
        Ok(true)
    };
    let parsed = (|| -> Result<Option<(Meta, u64)>, ParseError> {
        if !key(&mut sc, b'{', b"snapshot")? {
            return Ok(None);
        }
        let bytes = sc.copy_object(64 << 20, "the snapshot header")?;
        let meta = Meta::from_json(&bytes)?;
        if !key(&mut sc, b',', b"nodes")? || sc.skip_ws()? != Some(b'[') {
            return Ok(None);
        }
        Ok(Some((meta, sc.offset())))
    })();
    Ok(parsed.ok().flatten())
}

/// After `from`: optional whitespace, `,`, whitespace, `"key"`, `:`, whitespace, `[`.
/// Returns the offset of the `[`.
fn expect_key(file: &File, from: u64, key: &[u8]) -> io::Result<Option<u64>> {
    let mut buf = [0u8; 256];
    let n = file.read_at(&mut buf, from)?;
    let b = &buf[..n];
    let mut i = 0;
    let ws = |i: &mut usize| {
        while *i < b.len() && matches!(b[*i], b' ' | b'\n' | b'\r' | b'\t') {
            *i += 1;
        }
    };
    let lit = |i: &mut usize, want: &[u8]| {
        ws(i);
        if b[*i..].starts_with(want) {
            *i += want.len();
            true
        } else {
            false
        }
    };
    let quoted = [b"\"".as_slice(), key, b"\""].concat();
    if lit(&mut i, b",") && lit(&mut i, &quoted) && lit(&mut i, b":") && lit(&mut i, b"[") {
        Ok(Some(from + i as u64 - 1))
    } else {
        Ok(None)
    }
}

/// Sequential fixed-size blocks of a file from an offset.
struct Blocks<'f> {
    file: &'f File,
    pos: u64,
    buf: Vec<u8>,
}

impl<'f> Blocks<'f> {
    fn new(file: &'f File, pos: u64) -> Self {
        let left = file
            .metadata()
            .map(|m| m.len().saturating_sub(pos))
            .unwrap_or(0);
        let size = usize::try_from(left)
            .unwrap_or(SCAN_BLOCK)
            .clamp(1, SCAN_BLOCK);
        Blocks {
            file,
            pos,
            buf: vec![0; size],
        }
    }

    /// The next block and its offset; `None` at end of file.
    fn next(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        let n = self.file.read_at(&mut self.buf, self.pos)?;
        if n == 0 {
            return Ok(None);
        }
        let start = self.pos;
        self.pos += n as u64;
        Ok(Some((start, &self.buf[..n])))
    }

    /// Offset of the first position `f` reports, scanning block by block.
    fn find(&mut self, f: impl Fn(&[u8]) -> Option<usize>) -> io::Result<Option<u64>> {
        while let Some((start, block)) = self.next()? {
            if let Some(i) = f(block) {
                return Ok(Some(start + i as u64));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::parse_reader;

    /// A valid 7-field snapshot with `nodes` nodes, pseudo-random edges and V8's line
    /// breaks (plus some extra whitespace) between records.
    fn snapshot(nodes: u64, seed: u64) -> String {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut next = |m: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        let strings = 12u64;
        let mut node_recs = Vec::new();
        let mut edge_recs = Vec::new();
        for n in 0..nodes {
            let edges = if n == 0 { 1 } else { next(4) };
            node_recs.push(format!(
                "{},{},{},{},{},0,0",
                if n == 0 { 9 } else { next(14) },
                next(strings),
                2 * n + 1,
                next(1000),
                edges
            ));
            for _ in 0..edges {
                let ty = next(7);
                edge_recs.push(format!("{ty},{},{}", next(strings), next(nodes) * 7));
            }
        }
        let sep = |i: usize| match i % 5 {
            0 => "\n,",
            1 => ",\n",
            2 => ", ",
            _ => ",",
        };
        let join = |recs: &[String]| {
            let mut out = String::new();
            for (i, r) in recs.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep(i));
                }
                out.push_str(r);
            }
            out
        };
        let names: Vec<String> = (0..strings).map(|i| format!("\"s{i}\"")).collect();
        format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"location_fields":["object_index","script_id","line","column"]}},"node_count":{nodes},"edge_count":{},"trace_function_count":0}},
"nodes":[{}],
"edges":[{}],
"trace_function_infos":[],"trace_tree":[],"samples":[],"locations":[7,1,2,3],
"strings":[{}]}}"#,
            edge_recs.len(),
            join(&node_recs),
            join(&edge_recs),
            names.join(",")
        )
    }

    fn write(dir: &tempfile::TempDir, text: &[u8]) -> (File, u64) {
        let path = dir.path().join("s.heapsnapshot");
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        (file, text.len() as u64)
    }

    #[test]
    fn every_cut_gives_the_one_thread_result() {
        let dir = tempfile::tempdir().unwrap();
        let text = snapshot(40, 7);
        let whole = format!("{:?}", parse_reader(text.as_bytes(), &mut |_| {}).unwrap());
        let (file, size) = write(&dir, text.as_bytes());
        let mut cuts = 0;
        for earliest in 0..=size {
            let (raw, cut) = parse_file_split(&file, size, Some(earliest), &mut |_| {})
                .unwrap_or_else(|e| panic!("cut at {earliest}: {e}"));
            assert_eq!(format!("{raw:?}"), whole, "earliest cut {earliest}");
            if let Some(at) = cut {
                assert!(at >= earliest);
                assert_eq!(text.as_bytes()[at as usize], b',');
                cuts += 1;
            }
        }
        // Cuts happen up to the last edge record; past it one thread reads everything.
        assert!(cuts > size / 3, "only {cuts} of {size} offsets were cut");
    }

    #[test]
    fn progress_reports_file_offsets_up_to_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let text = snapshot(400, 3);
        let (file, size) = write(&dir, text.as_bytes());
        let mut seen = Vec::new();
        let (_, cut) =
            parse_file_split(&file, size, Some(size / 2), &mut |o| seen.push(o)).unwrap();
        assert!(cut.is_some());
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last().copied(), Some(size));
    }

    #[test]
    fn broken_back_parts_are_errors_not_wrong_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let text = snapshot(60, 11);
        let edges = text.find("\"edges\":[").unwrap();
        let close = edges + text[edges..].find(']').unwrap();
        // A number turned into a letter, a comma into a space, a value dropped, the array
        // closed early: every one is an error on one thread, so it must be one here.
        let mid = (edges + close) / 2;
        let comma = mid + text[mid..].find(',').unwrap();
        let mut cases: Vec<Vec<u8>> = Vec::new();
        let mut b = text.clone().into_bytes();
        b[comma - 1] = b'x';
        cases.push(b);
        let mut b = text.clone().into_bytes();
        b[comma] = b' ';
        cases.push(b);
        let mut b = text.clone().into_bytes();
        b.remove(comma - 1);
        b.remove(comma - 2);
        cases.push(b);
        let mut b = text.clone().into_bytes();
        b[comma] = b']';
        cases.push(b);
        for (i, bytes) in cases.iter().enumerate() {
            let one = parse_reader(&bytes[..], &mut |_| {});
            let (file, size) = write(&dir, bytes);
            for earliest in [0, (edges as u64 + 4), mid as u64 - 8, comma as u64] {
                let two = parse_file_split(&file, size, Some(earliest), &mut |_| {});
                match (&one, &two) {
                    (Err(_), Err(_)) => {}
                    (Ok(a), Ok((b, _))) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
                    _ => panic!("case {i}, cut {earliest}: one thread {one:?}, two {two:?}"),
                }
            }
        }
    }

    #[test]
    fn unusual_layouts_are_read_by_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let text = snapshot(30, 5);
        // Sections in another order than V8's: no cut, same result.
        let moved = text.replacen("{\"snapshot\":", "{\"extra\":1,\"snapshot\":", 1);
        let (file, size) = write(&dir, moved.as_bytes());
        let (raw, cut) = parse_file_split(&file, size, Some(0), &mut |_| {}).unwrap();
        assert_eq!(cut, None);
        assert_eq!(
            format!("{raw:?}"),
            format!("{:?}", parse_reader(moved.as_bytes(), &mut |_| {}).unwrap())
        );
    }
}
