//! File digests, streamed: the one place llmguard hashes whole files (`scan-model --hash`,
//! sha256-pinned approvals, and the checksum checks of lineage, AI-BOM and signatures).
//!
//! Reads go through a 1 MiB buffer rather than `std::io::copy`'s 8 KiB one: with SHA-NI the
//! hash runs at well over 1 GB/s, and at 8 KiB a read per block costs a measurable share of it.
//! `sha2` picks the SHA-NI / AVX2 implementation at run time (its `cpufeatures` detection).

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Read size for hashing.
pub const BUF_LEN: usize = 1 << 20;

/// A file's size and lower-case hex SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    pub size: u64,
    pub sha256: String,
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Feed everything `reader` yields into `sink`, `BUF_LEN` at a time; returns the byte count.
pub fn stream(reader: &mut dyn Read, sink: &mut dyn FnMut(&[u8])) -> std::io::Result<u64> {
    let mut buf = vec![0u8; BUF_LEN];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        sink(&buf[..n]);
        total += n as u64;
    }
}

/// SHA-256 of everything `reader` yields.
pub fn sha256_reader(reader: &mut dyn Read) -> std::io::Result<FileDigest> {
    let mut h = Sha256::new();
    let size = stream(reader, &mut |chunk| h.update(chunk))?;
    Ok(FileDigest {
        size,
        sha256: hex(&h.finalize()),
    })
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<FileDigest> {
    sha256_reader(&mut std::fs::File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let d = sha256_reader(&mut &b""[..]).unwrap();
        assert_eq!(d.size, 0);
        assert_eq!(
            d.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // Longer than one buffer, so the loop runs more than once.
        let data = vec![b'a'; BUF_LEN + 3];
        let d = sha256_reader(&mut &data[..]).unwrap();
        assert_eq!(d.size, data.len() as u64);
        assert_eq!(d.sha256, hex(&Sha256::digest(&data)));
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(sha256_file(Path::new("/nonexistent/llmguard-digest-test")).is_err());
    }
}
