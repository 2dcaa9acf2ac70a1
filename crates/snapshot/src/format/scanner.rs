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
                // Fast lane for V8's layout: numbers of up to 15 digits followed by ',' or by
                // the "\n," that ends every node and edge record. One or two 8-byte loads find
                // the digits and their value; anything else goes to the general path below.
                i = block_lane(buf, i, out, limit);
                while out.len() < limit && len.saturating_sub(i) >= 32 {
                    let Some((value, end)) = fast_number(buf, i) else {
                        break;
                    };
                    let step = match (buf[end], buf[end + 1]) {
                        (b',', _) => 1,
                        (b'\n', b',') => 2,
                        _ => break,
                    };
                    out.push(value);
                    i = end + step;
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

/// Bytes [`block_lane`] reads past the start of a 64-byte block (the second load of a
/// 16-digit number that starts at byte 63).
const BLOCK_READ: usize = 80;

/// Scans the numbers at `buf[i..]` (which must start with a digit) 64 bytes at a time while
/// the input keeps V8's layout: numbers of up to 16 digits separated by "," or "\n,".
/// Byte masks (digit, comma, newline) give every number's start and end at once, so the
/// numbers are decoded independently instead of each waiting for the previous one's length.
/// Returns the start of the first number it did not take; the per-number lane and the
/// general path go on from there (and report any error).
#[inline(always)]
fn block_lane(buf: &[u8], mut i: usize, out: &mut Vec<u64>, limit: usize) -> usize {
    while out.len() < limit && buf.len().saturating_sub(i) >= BLOCK_READ {
        let block: &[u8; 64] = buf[i..i + 64].try_into().expect("64 bytes");
        let (digit, comma, newline) = classify64(block);
        // Where the layout breaks: any other byte, '\n' not before ',', ',' not before a
        // digit. Byte 63's successor is unknown, so it counts as broken too.
        let broken = !(digit | comma | newline)
            | (newline & !(comma >> 1))
            | (comma & !(digit >> 1))
            | (1 << 63);
        let first_broken = broken.trailing_zeros();
        let starts = digit & !(digit << 1);
        let ends = digit & !(digit >> 1);
        // A number is taken when the next number starts at or before the first broken
        // byte: then its digits and the separator after it are all checked.
        let usable = starts & (u64::MAX >> (63 - first_broken));
        if usable & 1 == 0 || usable.count_ones() < 2 {
            break;
        }
        let next_block = 63 - usable.leading_zeros();
        let mut todo = usable & !(1u64 << next_block);
        let mut ends = ends;
        while todo != 0 {
            let start = todo.trailing_zeros() as usize;
            let end = ends.trailing_zeros() as usize;
            let n = end + 1 - start;
            let at = i + start;
            if out.len() >= limit || n > 16 {
                return at;
            }
            let first = load8(buf, at).expect("inside the block");
            let value = if n <= 8 {
                digits_value(first, n)
            } else {
                let second = load8(buf, at + 8).expect("inside BLOCK_READ");
                digits_value(first, 8) * POW10[n - 8] + digits_value(second, n - 8)
            };
            out.push(value);
            todo &= todo - 1;
            ends &= ends - 1;
        }
        i += next_block as usize;
    }
    i
}

/// Bit k of the three masks says whether byte k of `block` is a digit, ',' or '\n'.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classify64(block: &[u8; 64]) -> (u64, u64, u64) {
    use std::arch::x86_64::*;
    let (mut digit, mut comma, mut newline) = (0u64, 0u64, 0u64);
    // SAFETY: SSE2 is part of the x86_64 baseline, and each unaligned 16-byte load reads
    // inside `block`.
    unsafe {
        let zero = _mm_set1_epi8(b'0' as i8);
        let nine = _mm_set1_epi8(9);
        let comma_byte = _mm_set1_epi8(b',' as i8);
        let newline_byte = _mm_set1_epi8(b'\n' as i8);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k) as *const __m128i);
            // A digit is a byte whose distance above '0' (wrapping) is at most 9.
            let above_zero = _mm_sub_epi8(v, zero);
            let is_digit = _mm_cmpeq_epi8(_mm_min_epu8(above_zero, nine), above_zero);
            let shift = 16 * k;
            digit |= u64::from(_mm_movemask_epi8(is_digit) as u16) << shift;
            comma |= u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma_byte)) as u16) << shift;
            newline |=
                u64::from(_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline_byte)) as u16) << shift;
        }
    }
    (digit, comma, newline)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn classify64(block: &[u8; 64]) -> (u64, u64, u64) {
    classify64_scalar(block)
}

#[cfg_attr(all(target_arch = "x86_64", not(test)), allow(dead_code))]
fn classify64_scalar(block: &[u8; 64]) -> (u64, u64, u64) {
    let (mut digit, mut comma, mut newline) = (0u64, 0u64, 0u64);
    for (k, &b) in block.iter().enumerate() {
        digit |= u64::from(b.is_ascii_digit()) << k;
        comma |= u64::from(b == b',') << k;
        newline |= u64::from(b == b'\n') << k;
    }
    (digit, comma, newline)
}

/// The value and end of the 1..=15 digits at `buf[i..]`, from one or two 8-byte loads, or
/// `None` (no digit, 16 or more digits, fewer than 16 bytes left) for the general path.
#[inline(always)]
fn fast_number(buf: &[u8], i: usize) -> Option<(u64, usize)> {
    let chunk = load8(buf, i)?;
    let n = leading_digits(chunk);
    match n {
        0 => None,
        1..=7 => Some((digits_value(chunk, n), i + n)),
        _ => {
            let next = load8(buf, i + 8)?;
            let m = leading_digits(next);
            let high = digits_value(chunk, 8);
            match m {
                0 => Some((high, i + 8)),
                1..=7 => Some((high * POW10[m] + digits_value(next, m), i + 8 + m)),
                _ => None,
            }
        }
    }
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

    /// Reads a whole array with `UintArray` in batches of `batch`, from chunks of `chunk`.
    fn scan_array(text: &[u8], chunk: usize, batch: usize) -> Result<Vec<u64>, ()> {
        let mut src = ReadSource::new(text, chunk);
        let mut progress = |_| {};
        let mut sc = Scanner::new(&mut src, &mut progress);
        sc.expect(b'[', "t").map_err(|_| ())?;
        let mut arr = UintArray::new("t");
        let mut all = Vec::new();
        let mut out = Vec::new();
        while !arr.done {
            out.clear();
            arr.fill(&mut sc, &mut out, batch).map_err(|_| ())?;
            all.extend_from_slice(&out);
        }
        Ok(all)
    }

    /// The grammar `UintArray` accepts, read the plain way: `[`, unsigned integers (leading
    /// zeros allowed) fitting u64 separated by `,`, whitespace around any token, `]`.
    fn reference_array(text: &[u8]) -> Result<Vec<u64>, ()> {
        let text = std::str::from_utf8(text).map_err(|_| ())?;
        let inner = text.strip_prefix('[').ok_or(())?;
        let close = inner.find(']').ok_or(())?;
        let (body, _) = inner.split_at(close);
        if body.trim_matches(is_ws_char).is_empty() {
            return Ok(Vec::new());
        }
        body.split(',')
            .map(|token| {
                let t = token.trim_matches(is_ws_char);
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(());
                }
                t.parse::<u64>().map_err(|_| ())
            })
            .collect()
    }

    fn is_ws_char(c: char) -> bool {
        c.is_ascii() && is_ws(c as u8)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        /// Every lane (64-byte blocks, single numbers, the general path, chunk boundaries)
        /// gives the plain reader's values, and errors exactly where it does.
        #[test]
        fn lanes_agree_with_the_plain_reader(
            numbers in proptest::collection::vec((1u32..=400, proptest::prelude::any::<u64>(), 0u16..2000), 0..300),
            corruptions in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 0..2),
            chunk in proptest::prop_oneof![1usize..40, 60usize..200, proptest::strategy::Just(CHUNK_SIZE)],
            batch in proptest::prop_oneof![1usize..5, proptest::strategy::Just(3072usize)],
        ) {
            let mut text = String::from("[");
            for (k, (digits, value, sep)) in numbers.iter().enumerate() {
                if k > 0 {
                    // Mostly V8's separators, sometimes other whitespace, rarely a broken one.
                    text.push_str(match sep {
                        0..=999 => ",",
                        1000..=1799 => "\n,",
                        1800..=1899 => " , ",
                        1900..=1995 => ",\n",
                        1996 => ",,",
                        1997 => "\n\n,",
                        1998 => "\n",
                        _ => ",\n,",
                    });
                }
                // Lengths 1..=20 digits (V8 writes at most 10); rarely one that overflows u64.
                let full = value.to_string();
                let cut = (*digits as usize % 20 + 1).min(full.len());
                text.push_str(&full[..cut]);
                if *digits == 400 {
                    text.push_str("99");
                }
            }
            text.push(']');
            let mut bytes = text.into_bytes();
            for (at, b) in corruptions {
                let i = at % bytes.len();
                bytes[i] = match b % 4 {
                    0 => b',',
                    1 => b'\n',
                    2 => b'0' + b % 10,
                    _ => b,
                };
            }
            let want = reference_array(&bytes);
            let got = scan_array(&bytes, chunk, batch);
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn classify64_matches_the_scalar_masks() {
        let mut block = [0u8; 64];
        for round in 0..256u32 {
            for (k, b) in block.iter_mut().enumerate() {
                *b = (round as usize * 131 + k * 37) as u8 ^ (k as u8).rotate_left(round % 8);
            }
            block[(round % 64) as usize] = b',';
            block[(round * 7 % 64) as usize] = b'\n';
            block[(round * 13 % 64) as usize] = b'0' + (round % 10) as u8;
            assert_eq!(classify64(&block), classify64_scalar(&block));
        }
    }

    #[test]
    fn block_lane_reads_v8_records() {
        // Numbers of every length up to 16 digits around the 64-byte block edges.
        let mut text = String::from("[");
        let mut values = Vec::new();
        let mut x: u64 = 3;
        for k in 0..5000u64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = (x >> 8) % 10u64.pow((k % 16) as u32 + 1);
            if k > 0 {
                text.push_str(if k % 3 == 0 { "\n," } else { "," });
            }
            text.push_str(&v.to_string());
            values.push(v);
        }
        text.push(']');
        assert_eq!(
            scan_array(text.as_bytes(), CHUNK_SIZE, 3072),
            Ok(values.clone())
        );
        assert_eq!(scan_array(text.as_bytes(), 97, 7), Ok(values));
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
