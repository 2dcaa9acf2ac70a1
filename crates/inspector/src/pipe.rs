//! A bounded in-memory pipe: a `Write` end for the capture and a blocking `Read` end for a
//! parser thread, so a snapshot can be analysed while it arrives.

use std::io::{self, Read, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Creates a pipe holding at most `capacity` chunks in flight.
pub fn pipe(capacity: usize) -> (ChannelWriter, ChannelReader) {
    let (tx, rx) = sync_channel(capacity.max(1));
    (
        ChannelWriter { tx: Some(tx) },
        ChannelReader {
            rx,
            current: Vec::new(),
            pos: 0,
        },
    )
}

/// The sending end. Each `write` sends a copy of the buffer; it blocks when the reader is
/// `capacity` chunks behind. Once the reader is gone writes fail with `BrokenPipe`.
/// Dropping it (or [`ChannelWriter::finish`]) is end of file for the reader.
pub struct ChannelWriter {
    tx: Option<SyncSender<Vec<u8>>>,
}

impl ChannelWriter {
    /// End of stream.
    pub fn finish(&mut self) {
        self.tx = None;
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match &self.tx {
            Some(tx) => tx
                .send(buf.to_vec())
                .map(|_| buf.len())
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "reader gone")),
            None => Err(io::Error::new(io::ErrorKind::BrokenPipe, "writer finished")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The receiving end: a blocking `Read` that returns 0 once the writer is dropped.
pub struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos >= self.current.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = (self.current.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order() {
        let (mut w, mut r) = pipe(2);
        let t = std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            s
        });
        for i in 0..100 {
            write!(w, "{i},").unwrap();
        }
        drop(w);
        let expect: String = (0..100).map(|i| format!("{i},")).collect();
        assert_eq!(t.join().unwrap(), expect);
    }

    #[test]
    fn reader_gone() {
        let (mut w, r) = pipe(1);
        drop(r);
        assert_eq!(w.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}
