//! WeakMap ephemeron edges.
//!
//! V8 writes a WeakMap value as retained by two `internal` edges, one from the key and one
//! from the backing table, both named
//! `<n> / part of key (<k> @<kid>) -> value (<v> @<vid>) pair in WeakMap (table @<tid>)`.
//! DevTools drops the table → value edge from the dominator computation and uses the pair to
//! give the value the greater of the two distances.

use crate::format::{EdgeType, RawSnapshot};

/// A parsed ephemeron edge name: the table's node id and the name without its leading
/// number (identical for the two edges of one pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ephemeron<'a> {
    pub table_id: u64,
    pub pair: &'a str,
}

/// Parses an edge name the way DevTools' `tryParseWeakMapEdgeName` regular expression does:
/// `^\d+( / part of key \(.*? @\d+\) -> value \(.*? @\d+\) pair in WeakMap \(table @(\d+)\))$`.
pub fn parse_ephemeron(name: &str) -> Option<Ephemeron<'_>> {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let pair = &name[digits..];
    let rest = pair.strip_prefix(" / part of key (")?;
    // `(.*? @\d+\) -> value \(` : the lazy group ends at the first ` @<digits>) -> value (`
    // after which the rest must match; try each candidate like a backtracking matcher.
    let rest = match_lazy_at_id(rest, ") -> value (", |after| {
        match_lazy_at_id(after, ") pair in WeakMap (table @", |tail| {
            let id_digits = tail.bytes().take_while(u8::is_ascii_digit).count();
            (id_digits > 0 && &tail[id_digits..] == ")").then_some(&tail[..id_digits])
        })
    })?;
    let table_id = rest.parse::<u64>().ok()?;
    Some(Ephemeron { table_id, pair })
}

/// Matches `.*? @\d+` followed by `sep`, trying the shortest prefix first, and returns the
/// first successful `then(rest after sep)`.
fn match_lazy_at_id<'a, T>(
    text: &'a str,
    sep: &str,
    mut then: impl FnMut(&'a str) -> Option<T>,
) -> Option<T> {
    let mut from = 0;
    while let Some(pos) = text[from..].find(" @") {
        let at = from + pos;
        let digits_start = at + 2;
        let digits = text[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        if digits > 0 {
            let after_digits = &text[digits_start + digits..];
            if let Some(tail) = after_digits.strip_prefix(sep) {
                if let Some(result) = then(tail) {
                    return Some(result);
                }
            }
        }
        from = at + 1;
    }
    None
}

/// Per string index: the parsed ephemeron, if the string is one. Computed once for all
/// strings used as `internal` edge names.
pub struct EphemeronNames {
    /// `u32::MAX` = not an ephemeron name; otherwise index into `parsed`.
    slot: Vec<u32>,
    parsed: Vec<(u64, Box<str>)>,
}

impl EphemeronNames {
    pub fn build(raw: &RawSnapshot) -> EphemeronNames {
        let mut slot = vec![u32::MAX; raw.strings.len()];
        let mut checked = crate::bitvec::BitVec::new(raw.strings.len());
        let mut parsed = Vec::new();
        for (e, &ty) in raw.edge_types.iter().enumerate() {
            if ty != EdgeType::Internal {
                continue;
            }
            let name = raw.edge_names[e] as usize;
            if checked.get(name) {
                continue;
            }
            checked.set(name);
            if let Some(eph) = parse_ephemeron(raw.strings.get(name as u32)) {
                slot[name] = parsed.len() as u32;
                parsed.push((eph.table_id, eph.pair.into()));
            }
        }
        EphemeronNames { slot, parsed }
    }

    /// For an `internal` edge name (string index): `(table id, pair key)`.
    #[inline]
    pub fn get(&self, name: u32) -> Option<(u64, &str)> {
        let s = *self.slot.get(name as usize)?;
        if s == u32::MAX {
            return None;
        }
        let (id, pair) = &self.parsed[s as usize];
        Some((*id, pair))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v8_names() {
        let n = "12 / part of key (Object @25) -> value (Object @27) pair in WeakMap (table @31)";
        let e = parse_ephemeron(n).unwrap();
        assert_eq!(e.table_id, 31);
        assert_eq!(e.pair, &n[2..]);
    }

    #[test]
    fn names_with_at_signs_and_parens() {
        let n = "3 / part of key (a @1) -> value (b @2) pair @9 (x @4) -> value (Foo @5) pair in WeakMap (table @77)";
        assert_eq!(parse_ephemeron(n).unwrap().table_id, 77);
    }

    #[test]
    fn rejects_others() {
        assert!(parse_ephemeron("map").is_none());
        assert!(parse_ephemeron(
            " / part of key (a @1) -> value (b @2) pair in WeakMap (table @3)"
        )
        .is_none());
        assert!(parse_ephemeron(
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @)"
        )
        .is_none());
        assert!(parse_ephemeron(
            "1 / part of key (a @1) -> value (b @2) pair in WeakMap (table @3) "
        )
        .is_none());
    }
}
