//! Hand-written JSON string decoder.
//!
//! V8 writes every non-ASCII code point as one `\uXXXX` escape keeping only its low 16 bits,
//! which produces lone surrogates (`"QQzz\uD835\uF600"`). `serde_json` rejects those; this
//! decoder combines valid surrogate pairs and maps every unpaired surrogate to U+FFFD. Raw
//! UTF-8 bytes are passed through and validated; invalid sequences become U+FFFD.

use super::parse::ParseError;
use super::scanner::{describe_byte, Scanner};
use crate::strings::StringTable;

const REPLACEMENT: char = '\u{FFFD}';

/// Decodes JSON string bodies into a reusable scratch buffer.
#[derive(Default)]
pub(crate) struct StringDecoder {
    /// Decoded bytes of the current string (UTF-8 unless raw input bytes were invalid).
    scratch: Vec<u8>,
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut tmp = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

impl StringDecoder {
    /// Reads one string body; the opening quote must already be consumed. The decoded text
    /// is then available through [`StringDecoder::bytes`] / [`StringDecoder::append_to`].
    pub(crate) fn read(
        &mut self,
        sc: &mut Scanner<'_>,
        ctx: &'static str,
    ) -> Result<(), ParseError> {
        self.scratch.clear();
        // A high surrogate waiting for its low half.
        let mut pending_high: Option<u16> = None;
        loop {
            // Fast path: copy a run of plain bytes from the current chunk.
            {
                let buf = &sc.buf;
                let start = sc.pos;
                let mut i = start;
                while i < buf.len() && buf[i] != b'"' && buf[i] != b'\\' {
                    i += 1;
                }
                if i > start {
                    if pending_high.take().is_some() {
                        push_char(&mut self.scratch, REPLACEMENT);
                    }
                    self.scratch.extend_from_slice(&buf[start..i]);
                    sc.pos = i;
                }
            }
            let at = sc.offset();
            match sc.peek()? {
                None => return Err(sc.truncated(ctx)),
                Some(b'"') => {
                    sc.bump();
                    if pending_high.is_some() {
                        push_char(&mut self.scratch, REPLACEMENT);
                    }
                    return Ok(());
                }
                Some(b'\\') => {
                    sc.bump();
                    let e = sc.next_byte(ctx)?;
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(0x08),
                        b'f' => Some(0x0c),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        other => {
                            return Err(ParseError::Syntax {
                                offset: at,
                                msg: format!("invalid escape \\{} in {ctx}", describe_byte(other)),
                            })
                        }
                    };
                    if let Some(c) = simple {
                        if pending_high.take().is_some() {
                            push_char(&mut self.scratch, REPLACEMENT);
                        }
                        self.scratch.push(c);
                        continue;
                    }
                    let mut unit: u16 = 0;
                    for _ in 0..4 {
                        let h = sc.next_byte(ctx)?;
                        let d = match h {
                            b'0'..=b'9' => h - b'0',
                            b'a'..=b'f' => h - b'a' + 10,
                            b'A'..=b'F' => h - b'A' + 10,
                            other => {
                                return Err(ParseError::Syntax {
                                    offset: at,
                                    msg: format!(
                                        "invalid \\u escape in {ctx}: {} is not a hex digit",
                                        describe_byte(other)
                                    ),
                                })
                            }
                        };
                        unit = (unit << 4) | u16::from(d);
                    }
                    match unit {
                        0xD800..=0xDBFF => {
                            if pending_high.replace(unit).is_some() {
                                push_char(&mut self.scratch, REPLACEMENT);
                            }
                        }
                        0xDC00..=0xDFFF => match pending_high.take() {
                            Some(high) => {
                                let cp = 0x10000
                                    + ((u32::from(high) - 0xD800) << 10)
                                    + (u32::from(unit) - 0xDC00);
                                push_char(
                                    &mut self.scratch,
                                    char::from_u32(cp).unwrap_or(REPLACEMENT),
                                );
                            }
                            None => push_char(&mut self.scratch, REPLACEMENT),
                        },
                        _ => {
                            if pending_high.take().is_some() {
                                push_char(&mut self.scratch, REPLACEMENT);
                            }
                            push_char(
                                &mut self.scratch,
                                char::from_u32(u32::from(unit)).unwrap_or(REPLACEMENT),
                            );
                        }
                    }
                }
                Some(_) => {
                    // End of chunk in the middle of a run: `peek` refilled, loop again.
                }
            }
        }
    }

    /// The decoded bytes of the last string (may be invalid UTF-8 if the input was).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.scratch
    }

    /// Appends the last string to `table`, replacing invalid UTF-8 with U+FFFD.
    pub(crate) fn append_to(&self, table: &mut StringTable) -> u32 {
        let buf = table.buffer_mut();
        match std::str::from_utf8(&self.scratch) {
            Ok(s) => buf.push_str(s),
            Err(_) => buf.push_str(&String::from_utf8_lossy(&self.scratch)),
        }
        table.finish_string()
    }
}
