//! Streaming `.heapsnapshot` parser (being written; see issue 2).

use super::RawSnapshot;
use std::io::Read;
use std::path::Path;

/// Why a snapshot could not be read. `Display` is one line naming the problem.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a heap snapshot: {0}")]
    Invalid(String),
}

/// Parses a snapshot from any byte stream. `progress` is called with the bytes consumed so far.
pub fn parse_reader<R: Read>(
    _reader: R,
    _progress: &mut dyn FnMut(u64),
) -> Result<RawSnapshot, ParseError> {
    Err(ParseError::Invalid("parser not written yet".into()))
}

/// Parses a snapshot file.
pub fn parse_file(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<RawSnapshot, ParseError> {
    let file = std::fs::File::open(path)?;
    parse_reader(std::io::BufReader::new(file), progress)
}
