//! Byte-level streaming scanner: chunked input, JSON tokens, and the hot unsigned-integer
//! array loop used for `nodes`, `edges` and the other flat sections.
//!
//! The input arrives in large chunks (see [`ChunkSource`]). Tokens are scanned inside the
//! current chunk on a fast path; a token that straddles two chunks is finished byte by byte
//! on a slow path that refills transparently. No whole-file buffer is ever built.

use super::parse::ParseError;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender};

/// Size of one input chunk.
pub(crate) const CHUNK_SIZE: usize = 8 << 20;

/// A producer of input chunks. `recycle` hands back the previous chunk so its allocation
/// can be reused.
pub(crate) trait ChunkSource {
    /// The next non-empty chunk, or `None` at end of input.
    fn next_chunk(&mut self, recycle: Vec<u8>) -> io::Result<Option<Vec<u8>>>;
}

/// Reads chunks from a reader on the calling thread.
pub(crate) struct ReadSource<R: Read> {
    reader: R,
    chunk: usize,
}

impl<R: Read> ReadSource<R> {
    pub(crate) fn new(reader: R, chunk: usize) -> Self {
        ReadSource { reader, chunk }
    }
}

/// Fills `buf` from `reader` until it holds `chunk` bytes or the input ends. The buffer is
/// not zeroed first (`read_to_end` tracks initialised bytes), so a recycled 8 MB buffer
/// costs nothing to reuse and a tiny input never allocates 8 MB.
pub(crate) fn fill_chunk<R: Read>(
    reader: &mut R,
    mut buf: Vec<u8>,
    chunk: usize,
) -> io::Result<Vec<u8>> {
    buf.clear();
    reader.take(chunk as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

impl<R: Read> ChunkSource for ReadSource<R> {
    fn next_chunk(&mut self, recycle: Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        let buf = fill_chunk(&mut self.reader, recycle, self.chunk)?;
        Ok(if buf.is_empty() { None } else { Some(buf) })
    }
}

/// Receives chunks filled by a reader thread and sends used chunks back to it.
pub(crate) struct ThreadSource {
    pub(crate) rx: Receiver<io::Result<Vec<u8>>>,
    pub(crate) back: SyncSender<Vec<u8>>,
}

impl ChunkSource for ThreadSource {
    fn next_chunk(&mut self, recycle: Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        if recycle.capacity() > 0 {
            // The reader may already have enough buffers; losing one is harmless.
            let _ = self.back.try_send(recycle);
        }
        match self.rx.recv() {
            Ok(Ok(buf)) if buf.is_empty() => Ok(None),
            Ok(Ok(buf)) => Ok(Some(buf)),
            Ok(Err(e)) => Err(e),
            // The reader thread ended without an end marker: treat as end of input.
            Err(_) => Ok(None),
        }
    }
}

#[inline(always)]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Printable description of a byte for error messages (never a raw control character).
pub(crate) fn describe_byte(b: u8) -> String {
    match b {
        0x21..=0x7e => format!("'{}'", b as char),
        b' ' => "' '".to_string(),
        _ => format!("byte 0x{b:02x}"),
    }
}

pub(crate) struct Scanner<'a> {
    src: &'a mut dyn ChunkSource,
    progress: &'a mut dyn FnMut(u64),
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(src: &'a mut dyn ChunkSource, progress: &'a mut dyn FnMut(u64)) -> Self {
        Scanner {
            src,
            progress,
            buf: Vec::new(),
            pos: 0,
            base: 0,
            eof: false,
        }
    }

    /// Stream offset of the next unread byte.
    #[inline]
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Loads the next chunk once the current one is consumed. Returns false at end of input.
    #[cold]
    fn refill(&mut self) -> Result<bool, ParseError> {
        if self.eof {
            return Ok(false);
        }
        self.base += self.buf.len() as u64;
        let old = std::mem::take(&mut self.buf);
        self.pos = 0;
        match self.src.next_chunk(old) {
            Ok(Some(buf)) => {
                (self.progress)(self.base);
                self.buf = buf;
                Ok(true)
            }
            Ok(None) => {
                self.eof = true;
                (self.progress)(self.base);
                Ok(false)
            }
            Err(e) => Err(ParseError::Read {
                offset: self.base,
                source: e,
            }),
        }
    }

    /// The next byte without consuming it; `None` at end of input.
    #[inline]
    pub(crate) fn peek(&mut self) -> Result<Option<u8>, ParseError> {
        if let Some(&b) = self.buf.get(self.pos) {
            return Ok(Some(b));
        }
        while self.pos >= self.buf.len() {
            if !self.refill()? {
                return Ok(None);
            }
        }
        Ok(self.buf.get(self.pos).copied())
    }

    /// Consumes one byte (call after a successful `peek`).
    #[inline]
    pub(crate) fn bump(&mut self) {
        if self.pos < self.buf.len() {
            self.pos += 1;
        }
    }

    /// The next byte, consumed; a truncation error at end of input.
    #[inline]
    pub(crate) fn next_byte(&mut self, ctx: &'static str) -> Result<u8, ParseError> {
        match self.peek()? {
            Some(b) => {
                self.bump();
                Ok(b)
            }
            None => Err(self.truncated(ctx)),
        }
    }

    /// Skips whitespace; returns the next byte (not consumed), `None` at end of input.
    pub(crate) fn skip_ws(&mut self) -> Result<Option<u8>, ParseError> {
        loop {
            let buf = &self.buf;
            let mut i = self.pos;
            while i < buf.len() && is_ws(buf[i]) {
                i += 1;
            }
            self.pos = i;
            if i < buf.len() {
                return Ok(Some(buf[i]));
            }
            if !self.refill()? {
                return Ok(None);
            }
        }
    }

    /// Skips whitespace and returns the next byte (not consumed); truncation error at EOF.
    pub(crate) fn skip_ws_some(&mut self, ctx: &'static str) -> Result<u8, ParseError> {
        match self.skip_ws()? {
            Some(b) => Ok(b),
            None => Err(self.truncated(ctx)),
        }
    }

    /// Skips whitespace and consumes `want`, or fails naming what was found.
    pub(crate) fn expect(&mut self, want: u8, ctx: &'static str) -> Result<(), ParseError> {
        let b = self.skip_ws_some(ctx)?;
        if b != want {
            return Err(self.syntax(format!(
                "expected '{}' in {ctx}, found {}",
                want as char,
                describe_byte(b)
            )));
        }
        self.bump();
        Ok(())
    }

    pub(crate) fn truncated(&self, ctx: &'static str) -> ParseError {
        ParseError::Truncated {
            offset: self.offset(),
            context: ctx,
        }
    }

    pub(crate) fn syntax(&self, msg: String) -> ParseError {
        ParseError::Syntax {
            offset: self.offset(),
            msg,
        }
    }

    /// Reads an unsigned integer byte by byte (slow path, crosses chunk boundaries).
    pub(crate) fn read_u64_slow(&mut self, ctx: &'static str) -> Result<u64, ParseError> {
        let start = self.offset();
        let first = self.skip_ws_some(ctx)?;
        if !first.is_ascii_digit() {
            return Err(expected_number(start, ctx, first));
        }
        let mut v: u64 = 0;
        let mut overflow = false;
        while let Some(b) = self.peek()? {
            if !b.is_ascii_digit() {
                break;
            }
            match v
                .checked_mul(10)
                .and_then(|x| x.checked_add(u64::from(b - b'0')))
            {
                Some(x) => v = x,
                None => overflow = true,
            }
            self.bump();
        }
        if overflow {
            return Err(ParseError::NumberOverflow {
                offset: start,
                context: ctx,
                max: "u64",
            });
        }
        Ok(v)
    }

    /// Skips one JSON string; the opening quote is already consumed.
    pub(crate) fn skip_string(&mut self, ctx: &'static str) -> Result<(), ParseError> {
        loop {
            let buf = &self.buf;
            let mut i = self.pos;
            while i < buf.len() && buf[i] != b'"' && buf[i] != b'\\' {
                i += 1;
            }
            self.pos = i;
            match self.peek()? {
                None => return Err(self.truncated(ctx)),
                Some(b'"') => {
                    self.bump();
                    return Ok(());
                }
                Some(b'\\') => {
                    self.bump();
                    self.next_byte(ctx)?;
                }
                Some(_) => {}
            }
        }
    }

    /// Copies one JSON string, quotes included, into `out`; the opening quote is already
    /// consumed (and already in `out`). Used by the header extractor.
    fn copy_string(&mut self, out: &mut Vec<u8>, ctx: &'static str) -> Result<(), ParseError> {
        loop {
            let b = self.next_byte(ctx)?;
            out.push(b);
            match b {
                b'"' => return Ok(()),
                b'\\' => out.push(self.next_byte(ctx)?),
                _ => {}
            }
        }
    }

    /// Copies one JSON object (next non-whitespace byte must be `{`) into a byte vector by a
    /// balanced-bracket scan that respects strings. Fails beyond `limit` bytes.
    pub(crate) fn copy_object(
        &mut self,
        limit: usize,
        ctx: &'static str,
    ) -> Result<Vec<u8>, ParseError> {
        self.expect(b'{', ctx)?;
        let mut out = vec![b'{'];
        let mut stack: Vec<u8> = vec![b'}'];
        while let Some(&close) = stack.last() {
            if out.len() > limit {
                return Err(ParseError::BadHeader(format!(
                    "the {ctx} object is larger than {} MB",
                    limit >> 20
                )));
            }
            let b = self.next_byte(ctx)?;
            out.push(b);
            match b {
                b'"' => self.copy_string(&mut out, ctx)?,
                b'{' => stack.push(b'}'),
                b'[' => stack.push(b']'),
                b'}' | b']' => {
                    if b != close {
                        return Err(self.syntax(format!("mismatched '{}' in {ctx}", b as char)));
                    }
                    stack.pop();
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Skips any JSON value (used for unknown top-level keys), without recursion.
    pub(crate) fn skip_value(&mut self, ctx: &'static str) -> Result<(), ParseError> {
        let mut stack: Vec<u8> = Vec::new();
        loop {
            let b = self.skip_ws_some(ctx)?;
            match b {
                b'"' => {
                    self.bump();
                    self.skip_string(ctx)?;
                }
                b'{' => {
                    self.bump();
                    stack.push(b'}');
                }
                b'[' => {
                    self.bump();
                    stack.push(b']');
                }
                b'}' | b']' => {
                    if stack.last() != Some(&b) {
                        return Err(self.syntax(format!("unexpected '{}' in {ctx}", b as char)));
                    }
                    self.bump();
                    stack.pop();
                }
                b',' | b':' if !stack.is_empty() => self.bump(),
                b if b == b'-' || b == b'+' || b == b'.' || b.is_ascii_alphanumeric() => {
                    while let Some(c) = self.peek()? {
                        if c == b'-' || c == b'+' || c == b'.' || c.is_ascii_alphanumeric() {
                            self.bump();
                        } else {
                            break;
                        }
                    }
                }
                other => {
                    return Err(self.syntax(format!("unexpected {} in {ctx}", describe_byte(other))))
                }
            }
            if stack.is_empty() {
                return Ok(());
            }
        }
    }
}

pub(crate) fn expected_number(offset: u64, ctx: &'static str, found: u8) -> ParseError {
    ParseError::ExpectedNumber {
        offset,
        context: ctx,
        found: describe_byte(found),
    }
}

/// Streaming reader of a flat JSON array of unsigned integers. The opening `[` must have been
/// consumed; [`UintArray::fill`] appends values in batches until the closing `]`.
pub(crate) struct UintArray {
    ctx: &'static str,
    /// At the start of the array (`]` allowed for an empty array).
    first: bool,
    /// A value is expected next (else a separator).
    expect_value: bool,
    pub(crate) done: bool,
}

impl UintArray {
    pub(crate) fn new(ctx: &'static str) -> Self {
        UintArray {
            ctx,
            first: true,
            expect_value: true,
            done: false,
        }
    }

    /// Appends values to `out` until it holds `limit` values or the array ends.
    pub(crate) fn fill(
        &mut self,
        sc: &mut Scanner<'_>,
        out: &mut Vec<u64>,
        limit: usize,
    ) -> Result<(), ParseError> {
        while out.len() < limit && !self.done {
            if !self.first {
                self.fast(sc, out, limit)?;
                if out.len() >= limit || self.done {
                    break;
                }
            }
            self.slow_step(sc, out)?;
        }
        Ok(())
    }

    /// Scans as many tokens as are complete in the current chunk.
    #[inline(always)]
    fn fast(
        &mut self,
        sc: &mut Scanner<'_>,
        out: &mut Vec<u64>,
        limit: usize,
    ) -> Result<(), ParseError> {
        let buf: &[u8] = &sc.buf;
        let len = buf.len();
        let mut i = sc.pos;
        let mut expect_value = self.expect_value;
        let result = loop {
            if expect_value {
                // Fast lane for V8's layout: short numbers directly followed by ','. One
                // 8-byte load finds the digits, their value and the separator.
                while out.len() < limit && len.saturating_sub(i) >= 32 {
                    let Some(chunk) = load8(buf, i) else { break };
                    let n = leading_digits(chunk);
                    if n == 0 || n == 8 || (chunk >> (8 * n)) as u8 != b',' {
                        break;
                    }
                    out.push(digits_value(chunk, n));
                    i += n + 1;
                }
                if out.len() >= limit {
                    break Ok(());
                }
                while i < len && is_ws(buf[i]) {
                    i += 1;
                }
                let start = i;
                let mut v: u64 = 0;
                match swar_number(buf, i) {
                    Some((val, end)) => {
                        v = val;
                        i = end;
                    }
                    None => {
                        while i < len {
                            let d = buf[i].wrapping_sub(b'0');
                            if d > 9 {
                                break;
                            }
                            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
                            i += 1;
                        }
                    }
                }
                if i == len {
                    // The token may continue in the next chunk.
                    i = start;
                    break Ok(());
                }
                let n = i - start;
                if n == 0 {
                    break Err(expected_number(sc.base + start as u64, self.ctx, buf[i]));
                }
                if n > 19 {
                    match parse_checked(&buf[start..i]) {
                        Some(x) => v = x,
                        None => {
                            break Err(ParseError::NumberOverflow {
                                offset: sc.base + start as u64,
                                context: self.ctx,
                                max: "u64",
                            })
                        }
                    }
                }
                out.push(v);
                expect_value = false;
            }
            while i < len && is_ws(buf[i]) {
                i += 1;
            }
            if i == len {
                break Ok(());
            }
            match buf[i] {
                b',' => {
                    i += 1;
                    expect_value = true;
                }
                b']' => {
                    i += 1;
                    self.done = true;
                    break Ok(());
                }
                other => break Err(bad_separator(sc.base + i as u64, self.ctx, other)),
            }
        };
        self.expect_value = expect_value;
        sc.pos = i;
        result
    }

    /// Processes exactly one token byte by byte (across chunk boundaries).
    #[cold]
    fn slow_step(&mut self, sc: &mut Scanner<'_>, out: &mut Vec<u64>) -> Result<(), ParseError> {
        if self.first {
            self.first = false;
            if sc.skip_ws_some(self.ctx)? == b']' {
                sc.bump();
                self.done = true;
                return Ok(());
            }
        }
        if self.expect_value {
            out.push(sc.read_u64_slow(self.ctx)?);
            self.expect_value = false;
        } else {
            let b = sc.skip_ws_some(self.ctx)?;
            match b {
                b',' => self.expect_value = true,
                b']' => self.done = true,
                other => return Err(bad_separator(sc.offset(), self.ctx, other)),
            }
            sc.bump();
        }
        Ok(())
    }
}

fn bad_separator(offset: u64, ctx: &'static str, found: u8) -> ParseError {
    if matches!(found, b'.' | b'e' | b'E') {
        ParseError::ExpectedNumber {
            offset,
            context: ctx,
            found: "a non-integer number".to_string(),
        }
    } else {
        ParseError::Syntax {
            offset,
            msg: format!(
                "expected ',' or ']' in {ctx}, found {}",
                describe_byte(found)
            ),
        }
    }
}

fn parse_checked(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &b| {
        acc.checked_mul(10)?
            .checked_add(u64::from(b.wrapping_sub(b'0')))
    })
}

const POW10: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

#[inline(always)]
fn load8(buf: &[u8], i: usize) -> Option<u64> {
    let b: [u8; 8] = buf.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Number of leading ASCII digits in the 8 bytes of `chunk` (little-endian, 0..=8).
#[inline(always)]
fn leading_digits(chunk: u64) -> usize {
    const HI: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const ZERO: u64 = 0x3030_3030_3030_3030;
    // A byte is a digit iff its high nibble is 3 and adding 6 keeps it 3 (0x30..=0x39).
    // Carries out of a byte only start at a non-digit byte, so the first non-digit is exact.
    let a = (chunk & HI) ^ ZERO;
    let b = (chunk.wrapping_add(0x0606_0606_0606_0606) & HI) ^ ZERO;
    ((a | b).trailing_zeros() / 8) as usize
}

/// Value of the `n` (1..=8) leading digits of `chunk`, eight digits at a time (SWAR).
#[inline(always)]
fn digits_value(chunk: u64, n: usize) -> u64 {
    // Digits to the high end, leading zeros below; then combine pairs, quads, octets.
    let v = chunk.wrapping_sub(0x3030_3030_3030_3030) << (8 * (8 - n));
    let v = (v.wrapping_mul(10).wrapping_add(v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(100).wrapping_add(v >> 16)) & 0x0000_FFFF_0000_FFFF;
    (v.wrapping_mul(10_000).wrapping_add(v >> 32)) & 0xFFFF_FFFF
}

/// Parses the digits at `buf[i..]` eight bytes at a time when at least 32 bytes remain.
/// Returns the value and the end position, or `None` (no digit, more than 19 digits, or
/// too close to the end of the chunk) to let the scalar loop decide.
#[inline(always)]
fn swar_number(buf: &[u8], mut i: usize) -> Option<(u64, usize)> {
    if buf.len().saturating_sub(i) < 32 {
        return None;
    }
    let mut v: u64 = 0;
    let mut total = 0;
    for _ in 0..3 {
        let chunk = load8(buf, i)?;
        let n = leading_digits(chunk);
        if n == 0 {
            break;
        }
        v = v
            .wrapping_mul(POW10[n])
            .wrapping_add(digits_value(chunk, n));
        total += n;
        i += n;
        if n < 8 {
            return if total <= 19 { Some((v, i)) } else { None };
        }
    }
    if total == 0 || total > 19 {
        return None;
    }
    // Exactly 8 or 16 digits followed by a non-digit (the loop broke on n == 0), or 24+.
    match buf.get(i) {
        Some(b) if !b.is_ascii_digit() => Some((v, i)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test --release -p leakhound-snapshot --lib bench_number_loop -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_number_loop() {
        let mut text = String::from("[");
        let mut x: u64 = 7;
        let mut first = true;
        while text.len() < 300 << 20 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let rec = format!(
                "{},{},{}",
                (x >> 60) % 7,
                (x >> 20) % 300_000,
                ((x >> 30) % 20_000_000) * 7
            );
            if !first {
                text.push_str("\n,");
            }
            first = false;
            text.push_str(&rec);
        }
        text.push(']');
        for round in 0..2 {
            let mut src = ReadSource::new(text.as_bytes(), CHUNK_SIZE);
            let mut progress = |_| {};
            let mut sc = Scanner::new(&mut src, &mut progress);
            sc.expect(b'[', "t").unwrap();
            let mut arr = UintArray::new("t");
            let mut out = Vec::with_capacity(3072);
            let mut sum = 0u64;
            let cpu = || -> f64 {
                let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
                s.split_whitespace()
                    .next()
                    .and_then(|x| x.parse::<f64>().ok())
                    .unwrap_or(0.0)
                    / 1e9
            };
            let c0 = cpu();
            let t = std::time::Instant::now();
            while !arr.done {
                out.clear();
                arr.fill(&mut sc, &mut out, 3072).unwrap();
                sum = sum.wrapping_add(out.iter().sum::<u64>());
            }
            let secs = t.elapsed().as_secs_f64();
            let cpu_secs = cpu() - c0;
            println!(
                "round {round}: {:.0} MB/s wall, {:.0} MB/s of CPU time (sum {sum})",
                text.len() as f64 / 1e6 / secs,
                text.len() as f64 / 1e6 / cpu_secs
            );
        }
    }

    #[test]
    fn swar_matches_scalar() {
        let mut cases: Vec<String> = vec![
            "0".into(),
            "7".into(),
            "12345678".into(),
            "123456789".into(),
            "1234567890123456".into(),
            "12345678901234567".into(),
            "18446744073709551615".into(),
            "9999999999999999999".into(),
            "00000000000000000001".into(),
        ];
        let mut x: u64 = 1;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            cases.push((x >> (x % 64)).to_string());
        }
        for c in cases {
            for tail in [",", "]", "\n", " ", "a", "\u{ff}", ":", "/"] {
                let s = format!("{c}{tail}{}", " ".repeat(40));
                let got = swar_number(s.as_bytes(), 0);
                let scalar: Option<u64> = if c.len() <= 19 { c.parse().ok() } else { None };
                match got {
                    Some((v, end)) => {
                        assert_eq!(Some(v), scalar, "{c}{tail}");
                        assert_eq!(end, c.len(), "{c}{tail}");
                    }
                    None => assert!(c.len() > 19, "{c}{tail}: SWAR declined"),
                }
            }
        }
        assert_eq!(swar_number(b",123", 0), None);
        // Bytes 0x3a..0x3f and high bytes are not digits.
        for b in [b':', b';', b'?', b'/', 0xfa, 0xff, 0xb0, 0x39 + 0x80] {
            let mut v = b"12".to_vec();
            v.push(b);
            v.extend_from_slice(&[b'5'; 40]);
            assert_eq!(swar_number(&v, 0), Some((12, 2)), "byte {b:#x}");
        }
    }
}
