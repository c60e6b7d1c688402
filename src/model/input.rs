//! A counting, bounded byte reader for the streaming parsers. Every length that comes from the
//! file is read or skipped through here, so a 2^64 length field costs reading what the file
//! really holds and never an allocation of that size.

use std::io::{self, BufRead, BufReader, Read};

/// Why a streaming read stopped.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum InputError {
    #[error("unexpected end of data at byte {0}")]
    Truncated(u64),
    #[error("read error at byte {offset}: {message}")]
    Io { offset: u64, message: String },
}

pub struct Input<R: Read> {
    inner: BufReader<R>,
    pos: u64,
}

impl<R: Read> Input<R> {
    pub fn new(reader: R) -> Self {
        Input {
            // Small on purpose: many parses are attempts on members that turn out not to be
            // pickles, and std zero-fills a reader's buffer before its first read.
            inner: BufReader::with_capacity(8 * 1024, reader),
            pos: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn pos(&self) -> u64 {
        self.pos
    }

    fn io_err(&self, e: io::Error) -> InputError {
        InputError::Io {
            offset: self.pos,
            message: e.to_string(),
        }
    }

    /// The next byte, or `None` at a clean end of data.
    pub fn peek(&mut self) -> Result<Option<u8>, InputError> {
        loop {
            match self.inner.fill_buf() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            }
        }
    }

    pub fn u8(&mut self) -> Result<u8, InputError> {
        match self.peek()? {
            Some(b) => {
                self.inner.consume(1);
                self.pos += 1;
                Ok(b)
            }
            None => Err(InputError::Truncated(self.pos)),
        }
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], InputError> {
        let mut out = [0u8; N];
        self.exact(&mut out)?;
        Ok(out)
    }

    pub fn exact(&mut self, out: &mut [u8]) -> Result<(), InputError> {
        let mut filled = 0;
        while filled < out.len() {
            let n = match self.inner.read(&mut out[filled..]) {
                Ok(0) => return Err(InputError::Truncated(self.pos)),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            filled += n;
            self.pos += n as u64;
        }
        Ok(())
    }

    /// Read `len` bytes, keeping at most `keep` of them; the rest are skipped, not stored.
    pub fn read_kept(&mut self, len: u64, keep: usize) -> Result<Vec<u8>, InputError> {
        let kept = len.min(keep as u64) as usize;
        let mut out = vec![0u8; kept];
        self.exact(&mut out)?;
        self.skip(len - kept as u64)?;
        Ok(out)
    }

    pub fn skip(&mut self, mut len: u64) -> Result<(), InputError> {
        while len > 0 {
            let avail = match self.inner.fill_buf() {
                Ok([]) => return Err(InputError::Truncated(self.pos)),
                Ok(buf) => buf.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            let n = avail.min(usize::try_from(len).unwrap_or(usize::MAX));
            self.inner.consume(n);
            self.pos += n as u64;
            len -= n as u64;
        }
        Ok(())
    }

    /// A `\n`-terminated line (without the newline), keeping at most `keep` bytes of it.
    /// Returns the kept bytes and whether the line was longer.
    pub fn line(&mut self, keep: usize) -> Result<(Vec<u8>, bool), InputError> {
        let mut out = Vec::new();
        let mut long = false;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok([]) => return Err(InputError::Truncated(self.pos)),
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            let room = keep.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            long |= chunk.len() > room;
            let used = done.unwrap_or(buf.len());
            self.inner.consume(used);
            self.pos += used as u64;
            if done.is_some() {
                return Ok((out, long));
            }
        }
    }

    /// Read and discard everything that is left, returning how many bytes that was.
    pub fn drain(&mut self) -> Result<u64, InputError> {
        let start = self.pos;
        loop {
            let n = match self.inner.fill_buf() {
                Ok([]) => return Ok(self.pos - start),
                Ok(buf) => buf.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            self.inner.consume(n);
            self.pos += n as u64;
        }
    }
}

/// Reading through `Input` keeps its position, so a parser can hand the rest of a stream to
/// another parser (an `.npy` header to the pickle of its object array).
impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_skips() {
        let mut i = Input::new(&b"abc\ndefgh\nxyz"[..]);
        assert_eq!(i.line(10).unwrap(), (b"abc".to_vec(), false));
        assert_eq!(i.line(2).unwrap(), (b"de".to_vec(), true));
        assert_eq!(i.pos(), 10);
        assert_eq!(i.read_kept(3, 1).unwrap(), b"x".to_vec());
        assert_eq!(i.peek().unwrap(), None);
        assert_eq!(i.u8(), Err(InputError::Truncated(13)));
    }

    #[test]
    fn huge_skip_is_truncation_not_allocation() {
        let mut i = Input::new(&b"abc"[..]);
        assert_eq!(i.read_kept(u64::MAX, 16), Err(InputError::Truncated(3)));
    }
}
