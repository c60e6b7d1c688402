//! Random-access byte sources (a file, a byte range of one, an inflated member spilled to
//! memory or a temporary file) and bounded streaming readers over them.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::rc::Rc;

/// Positioned reads over something of known length.
pub trait Source {
    fn len(&self) -> u64;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read up to `buf.len()` bytes at `offset`, short only at the end of the source.
    fn read_full_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.read_at(offset + done as u64, &mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

pub struct FileSource {
    file: File,
    len: u64,
}

impl FileSource {
    pub fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(FileSource { file, len })
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    #[cfg(unix)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.file, buf, offset)
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.as_slice();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
}

/// A window `[start, start + len)` of another source.
pub struct Window<'a> {
    pub src: &'a dyn Source,
    pub start: u64,
    pub len: u64,
}

impl Source for Window<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (buf.len() as u64).min(self.len - offset) as usize;
        self.src.read_at(self.start + offset, &mut buf[..n])
    }
}

/// A sequential reader over `[start, end)` of a source; seeking is relative to `start`.
pub struct SourceReader<'a> {
    src: &'a dyn Source,
    start: u64,
    pos: u64,
    end: u64,
}

impl<'a> SourceReader<'a> {
    pub fn new(src: &'a dyn Source, start: u64, len: u64) -> Self {
        let end = start.saturating_add(len).min(src.len());
        SourceReader {
            src,
            start: start.min(end),
            pos: start.min(end),
            end,
        }
    }
}

impl io::Seek for SourceReader<'_> {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let base = match to {
            io::SeekFrom::Start(n) => Some(self.start.saturating_add(n)),
            io::SeekFrom::End(d) => self.end.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match base {
            // Past the end is allowed (reads then return 0), before the start is not.
            Some(p) if p >= self.start => {
                self.pos = p;
                Ok(p - self.start)
            }
            _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start")),
        }
    }
}

impl Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.end.saturating_sub(self.pos)) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.src.read_at(self.pos, &mut buf[..n])?;
        self.pos += got as u64;
        Ok(got)
    }
}

/// Why a bounded reader refused to go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    #[error("inflates past the {limit_mib} MiB decompression limit for one file")]
    Total { limit_mib: u64 },
    #[error("inflates more than {ratio}:1 (a decompression bomb)")]
    Ratio { ratio: u64 },
}

/// Decompression budget shared by everything inflated from one top-level file.
pub struct Budget {
    pub max_total: u64,
    pub max_ratio: u64,
    /// Ratios are only judged past this many inflated bytes, so tiny members of zeros pass.
    pub ratio_floor: u64,
    used: Cell<u64>,
    tripped: Cell<Option<BudgetError>>,
}

impl Budget {
    pub fn new(max_total: u64, max_ratio: u64, ratio_floor: u64) -> Rc<Self> {
        Rc::new(Budget {
            max_total,
            max_ratio,
            ratio_floor,
            used: Cell::new(0),
            tripped: Cell::new(None),
        })
    }

    /// The first limit that stopped a reader, if any.
    pub fn tripped(&self) -> Option<BudgetError> {
        let t = self.tripped.take();
        self.tripped.set(t.clone());
        t
    }

    /// Count `n` more inflated bytes of a stream that has produced `produced` bytes (these `n`
    /// included) from `compressed` bytes; fail once a limit is passed.
    fn account(&self, produced: u64, n: usize, compressed: u64) -> io::Result<()> {
        let total = self.used.get() + n as u64;
        self.used.set(total);
        let err = if total > self.max_total {
            Some(BudgetError::Total {
                limit_mib: self.max_total >> 20,
            })
        } else if produced > self.ratio_floor && produced / compressed.max(1) > self.max_ratio {
            Some(BudgetError::Ratio { ratio: self.max_ratio })
        } else {
            None
        };
        match err {
            Some(e) => {
                if self.tripped().is_none() {
                    self.tripped.set(Some(e.clone()));
                }
                Err(io::Error::other(e))
            }
            None => Ok(()),
        }
    }
}

/// Counts what an inflating reader yields against the budget, and fails the read (so the
/// parser above sees a truncated stream) when a limit is passed.
pub struct Metered<R> {
    inner: R,
    budget: Rc<Budget>,
    compressed: u64,
    produced: u64,
}

impl<R: Read> Metered<R> {
    pub fn new(inner: R, budget: Rc<Budget>, compressed: u64) -> Self {
        Metered {
            inner,
            budget,
            compressed,
            produced: 0,
        }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        self.budget.account(self.produced, n, self.compressed)?;
        Ok(n)
    }
}

/// A sink that keeps the first `spill_at` bytes in memory and the rest in an unnamed
/// temporary file, then becomes a random-access source.
struct Spill {
    mem: Vec<u8>,
    file: Option<File>,
    spill_at: u64,
}

impl Spill {
    fn into_source(self) -> io::Result<Box<dyn Source>> {
        match self.file {
            Some(f) => Ok(Box::new(FileSource::new(f)?)),
            None => Ok(Box::new(self.mem)),
        }
    }
}

impl io::Write for Spill {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.mem.len() as u64 + buf.len() as u64 > self.spill_at {
            let mut f = tempfile_in_tmp()?;
            f.write_all(&self.mem)?;
            self.mem = Vec::new();
            self.file = Some(f);
        }
        match &mut self.file {
            Some(f) => f.write_all(buf)?,
            None => self.mem.extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Computes the CRC-32 of everything read through it.
pub struct Crc<R> {
    inner: R,
    hasher: crc32fast::Hasher,
}

impl<R: Read> Crc<R> {
    pub fn new(inner: R) -> Self {
        Crc {
            inner,
            hasher: crc32fast::Hasher::new(),
        }
    }

    pub fn finish(self) -> u32 {
        self.hasher.finalize()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Read a whole stream into a new random-access source: memory for small data, an unnamed
/// temporary file beyond `spill_at`, so nested archives inside compressed members cost bounded
/// memory.
pub fn materialize(mut reader: impl Read, spill_at: u64) -> io::Result<Box<dyn Source>> {
    let mut sink = Spill {
        mem: Vec::new(),
        file: None,
        spill_at,
    };
    io::copy(&mut reader, &mut sink)?;
    sink.into_source()
}

fn tempfile_in_tmp() -> io::Result<File> {
    // An unnamed file (unlinked right after creation) so nothing is left behind on a crash.
    let dir = std::env::temp_dir();
    for attempt in 0..16u32 {
        let name = dir.join(format!(".llmguard-{}-{}-{attempt}", std::process::id(), unique()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&name)
        {
            Ok(f) => {
                let _ = std::fs::remove_file(&name);
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("could not create a temporary file"))
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_and_reader_stay_in_bounds() {
        let data: Vec<u8> = (0u8..100).collect();
        let w = Window {
            src: &data,
            start: 10,
            len: 20,
        };
        let mut buf = [0u8; 8];
        assert_eq!(w.read_full_at(16, &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], &[26, 27, 28, 29]);
        let mut out = Vec::new();
        SourceReader::new(&data, 95, 1000).read_to_end(&mut out).unwrap();
        assert_eq!(out, vec![95, 96, 97, 98, 99]);
        let mut r = SourceReader::new(&data, 10, 20);
        use std::io::Seek;
        assert_eq!(r.seek(std::io::SeekFrom::End(-2)).unwrap(), 18);
        let mut two = Vec::new();
        r.read_to_end(&mut two).unwrap();
        assert_eq!(two, vec![28, 29]);
        assert!(r.seek(std::io::SeekFrom::Current(-100)).is_err());
        assert_eq!(r.seek(std::io::SeekFrom::Start(500)).unwrap(), 500);
        assert_eq!(r.read(&mut [0u8; 4]).unwrap(), 0);
    }

    #[test]
    fn metered_reader_trips_on_ratio() {
        let budget = Budget::new(1 << 30, 10, 100);
        let zeros = std::io::repeat(0).take(10_000);
        let mut m = Metered::new(zeros, budget.clone(), 10);
        let err = std::io::copy(&mut m, &mut std::io::sink()).unwrap_err();
        assert!(err.to_string().contains("10:1"));
        assert_eq!(budget.tripped(), Some(BudgetError::Ratio { ratio: 10 }));
    }

    #[test]
    fn materialize_spills_large_streams() {
        let src = materialize(std::io::repeat(7).take(5000), 1000).unwrap();
        assert_eq!(src.len(), 5000);
        let mut b = [0u8; 3];
        src.read_full_at(4998, &mut b).unwrap();
        assert_eq!(b, [7, 7, 0]);
    }
}
