//! A counting, bounded byte reader for the streaming parsers. Every length that comes from the
//! file is read or skipped through here, so a 2^64 length field costs reading what the file
//! really holds and never an allocation of that size.

use std::io::{self, Read};

/// Why a streaming read stopped.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum InputError {
    #[error("unexpected end of data at byte {0}")]
    Truncated(u64),
    #[error("read error at byte {offset}: {message}")]
    Io { offset: u64, message: String },
}

/// Data of known length (a file or a stored archive member): the first fill of the buffer
/// reads this much, and each later fill twice as much as the one before, up to `MAX_BUF`. The
/// buffer is zero-filled as it grows (safe code cannot read into uninitialised memory), and
/// many parses are attempts on archive members that stop being a pickle after a few bytes:
/// they should not pay for a full-size buffer. The first size is the head of a member that
/// the zip walker already holds in memory.
const FIRST_BUF: usize = 1024;
const MAX_BUF: usize = 16 * 1024;
/// A stream (a decompressor): every fill reads up to this much, as std's `BufReader` of this
/// capacity did. A decoder can fail partway (a corrupt stream, a bad checksum at its end) and
/// what it hands over before failing depends on the sizes asked of it, so streams keep the
/// read sizes the scanner has always used.
const STREAM_BUF: usize = 8 * 1024;

pub struct Input<R: Read> {
    inner: R,
    /// `buf[start..end]` is read from `inner` and not consumed yet.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    pos: u64,
    /// The length of the data, when the caller knows it: a length field that runs past it is
    /// truncation at once, without reading (and discarding) everything up to the end.
    len: Option<u64>,
    /// Set when a length ran past `len`: the data counts as read to its end.
    at_end: bool,
    /// The size of the first fill and the largest one (a read at least this large bypasses
    /// an empty buffer).
    first_buf: usize,
    max_buf: usize,
}

impl<R: Read> Input<R> {
    pub fn new(reader: R) -> Self {
        Input {
            inner: reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            pos: 0,
            len: None,
            at_end: false,
            first_buf: STREAM_BUF,
            max_buf: STREAM_BUF,
        }
    }

    /// A reader of data known to be `len` bytes long (a file or a stored archive member).
    /// Reads behave exactly as with `new`, except that skipping or keeping past the end fails
    /// without reading the rest of the data first.
    pub fn with_len(reader: R, len: u64) -> Self {
        Input {
            len: Some(len),
            first_buf: FIRST_BUF,
            max_buf: MAX_BUF,
            ..Input::new(reader)
        }
    }

    /// A reader of the `len` bytes that begin at byte `start` of a larger blob: positions (and
    /// the offsets they become) count from the blob's start.
    pub fn at(reader: R, start: u64, len: u64) -> Self {
        Input {
            pos: start,
            len: Some(start.saturating_add(len)),
            ..Input::with_len(reader, len)
        }
    }

    /// When `n` more bytes would run past the known length: move to the end, as reading up to
    /// it would have, and return the truncation that reading would have ended in.
    fn past_end(&mut self, n: u64) -> Option<InputError> {
        let len = self.len?;
        if self.pos.saturating_add(n) <= len {
            return None;
        }
        self.pos = self.pos.max(len);
        self.at_end = true;
        self.start = self.end;
        Some(InputError::Truncated(self.pos))
    }

    /// The buffered bytes, refilled when empty; empty at the end of data.
    fn fill(&mut self) -> io::Result<&[u8]> {
        if self.at_end {
            return Ok(&[]);
        }
        if self.start == self.end {
            let size = match self.buf.len() {
                0 => self.first_buf,
                n => (2 * n).min(self.max_buf),
            };
            if size > self.buf.len() {
                self.buf.resize(size, 0);
            }
            let n = self.inner.read(&mut self.buf)?;
            self.start = 0;
            self.end = n;
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// Consume `n` buffered bytes.
    #[inline]
    fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
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
    #[inline]
    pub fn peek(&mut self) -> Result<Option<u8>, InputError> {
        match self.buffered(1) {
            Some(b) => Ok(Some(b[0])),
            None => self.peek_slow(),
        }
    }

    fn peek_slow(&mut self) -> Result<Option<u8>, InputError> {
        loop {
            match self.fill() {
                Ok(buf) => return Ok(buf.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            }
        }
    }

    /// The next `n` bytes when they are all in the buffer (the common case, which the
    /// functions below answer without a call).
    #[inline]
    fn buffered(&self, n: usize) -> Option<&[u8]> {
        let end = self.start.checked_add(n)?;
        if end > self.end {
            return None;
        }
        self.buf.get(self.start..end)
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, InputError> {
        if let Some(b) = self.buffered(1) {
            let b = b[0];
            self.consume(1);
            return Ok(b);
        }
        match self.peek_slow()? {
            Some(b) => {
                self.consume(1);
                Ok(b)
            }
            None => Err(InputError::Truncated(self.pos)),
        }
    }

    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], InputError> {
        let mut out = [0u8; N];
        // Buffered bytes within the known length: no truncation to report.
        let within = self.len.is_none_or(|len| self.pos.saturating_add(N as u64) <= len);
        if let (true, Some(b)) = (within, self.buffered(N)) {
            out.copy_from_slice(b);
            self.consume(N);
            return Ok(out);
        }
        self.exact(&mut out)?;
        Ok(out)
    }

    pub fn exact(&mut self, out: &mut [u8]) -> Result<(), InputError> {
        if let Some(e) = self.past_end(out.len() as u64) {
            return Err(e);
        }
        let mut filled = 0;
        while filled < out.len() {
            let buffered = self.end - self.start;
            let rest = out.len() - filled;
            if buffered > 0 {
                let n = buffered.min(rest);
                out[filled..filled + n].copy_from_slice(&self.buf[self.start..self.start + n]);
                self.consume(n);
                filled += n;
                continue;
            }
            // Nothing buffered: a large read goes straight into `out`.
            let got = if rest >= self.max_buf {
                self.inner.read(&mut out[filled..]).inspect(|&n| {
                    self.pos += n as u64;
                    filled += n;
                })
            } else {
                self.fill().map(<[u8]>::len)
            };
            match got {
                Ok(0) => return Err(InputError::Truncated(self.pos)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(e)),
            }
        }
        Ok(())
    }

    /// Read `len` bytes, keeping at most `keep` of them; the rest are skipped, not stored.
    pub fn read_kept(&mut self, len: u64, keep: usize) -> Result<Vec<u8>, InputError> {
        let mut out = Vec::new();
        self.read_kept_into(len, keep, &mut out)?;
        Ok(out)
    }

    /// `read_kept` into `out` (cleared first), so a caller can reuse one buffer.
    pub fn read_kept_into(&mut self, len: u64, keep: usize, out: &mut Vec<u8>) -> Result<(), InputError> {
        out.clear();
        if let Some(e) = self.past_end(len) {
            return Err(e);
        }
        let kept = len.min(keep as u64) as usize;
        out.resize(kept, 0);
        self.exact(out)?;
        self.skip(len - kept as u64)
    }

    pub fn skip(&mut self, mut len: u64) -> Result<(), InputError> {
        if let Some(e) = self.past_end(len) {
            return Err(e);
        }
        while len > 0 {
            let avail = match self.fill() {
                Ok([]) => return Err(InputError::Truncated(self.pos)),
                Ok(buf) => buf.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            let n = avail.min(usize::try_from(len).unwrap_or(usize::MAX));
            self.consume(n);
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
            let buf = match self.fill() {
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
            self.consume(used);
            if done.is_some() {
                return Ok((out, long));
            }
        }
    }

    /// Read and discard everything that is left, returning how many bytes that was.
    pub fn drain(&mut self) -> Result<u64, InputError> {
        let start = self.pos;
        loop {
            let n = match self.fill() {
                Ok([]) => return Ok(self.pos - start),
                Ok(buf) => buf.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_err(e)),
            };
            self.consume(n);
        }
    }
}

/// Reading through `Input` keeps its position, so a parser can hand the rest of a stream to
/// another parser (an `.npy` header to the pickle of its object array).
impl<R: Read> Read for Input<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at_end {
            return Ok(0);
        }
        if self.start == self.end && buf.len() >= self.max_buf {
            let n = self.inner.read(buf)?;
            self.pos += n as u64;
            return Ok(n);
        }
        let avail = self.fill()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
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

    /// Counts the bytes a parser pulled from its source.
    struct Counting<'a>(&'a [u8], usize);

    impl Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn known_length_fails_long_skips_without_reading() {
        let data = vec![7u8; 100_000];
        for long in [
            |i: &mut Input<Counting>| i.skip(1 << 40),
            |i: &mut Input<Counting>| i.read_kept(100_000, 4).map(drop),
            |i: &mut Input<Counting>| i.exact(&mut [0u8; 100_000]),
        ] {
            let mut unknown = Input::new(Counting(&data, 0));
            let mut known = Input::with_len(Counting(&data, 0), data.len() as u64);
            for i in [&mut unknown, &mut known] {
                assert_eq!(i.u8(), Ok(7));
                assert_eq!(long(i), Err(InputError::Truncated(100_000)));
                assert_eq!(i.pos(), 100_000);
                assert_eq!(i.peek(), Ok(None));
                assert_eq!(i.drain(), Ok(0));
                assert_eq!(i.u8(), Err(InputError::Truncated(100_000)));
                assert_eq!(i.line(4), Err(InputError::Truncated(100_000)));
                assert_eq!(i.read(&mut [0u8; 4]).unwrap(), 0);
            }
            assert_eq!(unknown.inner.1, 100_000);
            assert!(known.inner.1 <= MAX_BUF, "read {}", known.inner.1);
        }
        // Within the length, reads are the same as without it.
        let mut known = Input::with_len(&b"abc\ndef"[..], 7);
        assert_eq!(known.line(10).unwrap(), (b"abc".to_vec(), false));
        assert_eq!(known.read_kept(3, 3).unwrap(), b"def".to_vec());
        assert_eq!(known.peek(), Ok(None));
    }

    /// Records the size of every read asked of it.
    struct Asked<'a>(&'a [u8], Vec<usize>);

    impl Read for Asked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1.push(buf.len());
            self.0.read(buf)
        }
    }

    #[test]
    fn streams_are_read_in_fixed_chunks_known_lengths_from_small_ones() {
        // A decoder hands over different data before failing depending on the sizes asked of
        // it, so a stream is read as std's 8 KiB BufReader read it; data of known length starts
        // with 1 KiB and doubles.
        let data = vec![1u8; 40_000];
        let mut stream = Input::new(Asked(&data, Vec::new()));
        stream.skip(40_000).unwrap();
        assert!(stream.inner.1.iter().all(|&n| n == STREAM_BUF), "{:?}", stream.inner.1);
        let mut known = Input::with_len(Asked(&data, Vec::new()), 40_000);
        known.skip(40_000).unwrap();
        assert_eq!(known.inner.1[..5], [1024, 2048, 4096, 8192, 16384]);
    }

    #[test]
    fn huge_skip_is_truncation_not_allocation() {
        let mut i = Input::new(&b"abc"[..]);
        assert_eq!(i.read_kept(u64::MAX, 16), Err(InputError::Truncated(3)));
    }
}
