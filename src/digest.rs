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

/// What `digests` computes of one file, in one streamed pass.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    pub sha256: bool,
    pub md5: bool,
    /// DVC 2.x's md5 of a text file: computed after converting CRLF to LF (binary files are
    /// hashed as they are).
    pub md5_dos2unix: bool,
}

/// The digests `Want` asked for (lower-case hex).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub md5_dos2unix: Option<String>,
}

/// DVC's text test (`dvc.utils.istextfile`): the first 512 bytes hold no NUL and at most 30%
/// bytes outside printable ASCII and common control characters.
fn dvc_text(head: &[u8]) -> bool {
    let head = &head[..head.len().min(512)];
    if head.is_empty() {
        return true;
    }
    if head.contains(&0) {
        return false;
    }
    let odd = head
        .iter()
        .filter(|&&b| !(b >= 32 && b != 127 || matches!(b, b'\n' | b'\r' | b'\t' | 8 | 12)))
        .count();
    odd * 10 <= head.len() * 3
}

/// Every digest `want` names of everything `reader` yields, streamed `BUF_LEN` at a time.
pub fn digests_reader(reader: &mut dyn Read, want: Want) -> std::io::Result<Digests> {
    use md5::Md5;
    let mut sha = want.sha256.then(Sha256::new);
    let mut md = want.md5.then(Md5::new);
    let mut dos: Option<Md5> = want.md5_dos2unix.then(Md5::new);
    // Whether the file is text (decided on its first chunk), and a `\r` held back at a chunk end.
    let mut text: Option<bool> = None;
    let mut held_cr = false;
    let size = stream(reader, &mut |chunk| {
        if let Some(h) = &mut sha {
            h.update(chunk);
        }
        if let Some(h) = &mut md {
            h.update(chunk);
        }
        if let Some(h) = &mut dos {
            let is_text = *text.get_or_insert_with(|| dvc_text(chunk));
            if !is_text {
                h.update(chunk);
                return;
            }
            let mut start = 0;
            if held_cr {
                held_cr = false;
                if chunk.first() != Some(&b'\n') {
                    h.update(b"\r");
                }
            }
            for i in memchr::memchr_iter(b'\r', chunk) {
                if chunk.get(i + 1) == Some(&b'\n') {
                    h.update(&chunk[start..i]);
                    start = i + 1;
                } else if i + 1 == chunk.len() {
                    h.update(&chunk[start..i]);
                    start = chunk.len();
                    held_cr = true;
                }
            }
            h.update(&chunk[start..]);
        }
    })?;
    if let Some(h) = &mut dos {
        if held_cr {
            h.update(b"\r");
        }
    }
    Ok(Digests {
        size,
        sha256: sha.map(|h| hex(&h.finalize())),
        md5: md.map(|h| hex(&h.finalize())),
        md5_dos2unix: dos.map(|h| hex(&h.finalize())),
    })
}

/// `digests_reader` of a file.
pub fn digests_file(path: &Path, want: Want) -> std::io::Result<Digests> {
    digests_reader(&mut std::fs::File::open(path)?, want)
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
    fn md5_and_dvc_text_normalisation() {
        let all = Want {
            sha256: true,
            md5: true,
            md5_dos2unix: true,
        };
        let d = digests_reader(&mut &b"a\r\nb\r\n"[..], all).unwrap();
        assert_eq!(d.md5.as_deref(), Some(hex(&md5::Md5::digest(b"a\r\nb\r\n")).as_str()));
        assert_eq!(
            d.md5_dos2unix.as_deref(),
            Some(hex(&md5::Md5::digest(b"a\nb\n")).as_str())
        );
        assert_eq!(d.sha256.as_deref(), Some(hex(&Sha256::digest(b"a\r\nb\r\n")).as_str()));
        // A CRLF split across two reads, and a lone CR kept.
        let mut data = vec![b'x'; BUF_LEN - 1];
        data.extend_from_slice(b"\r\ny\rz\r");
        let d = digests_reader(&mut &data[..], all).unwrap();
        let mut want = vec![b'x'; BUF_LEN - 1];
        want.extend_from_slice(b"\ny\rz\r");
        assert_eq!(d.md5_dos2unix.unwrap(), hex(&md5::Md5::digest(&want)));
        // Binary files are hashed as they are.
        let bin = b"\0\r\n";
        let d = digests_reader(&mut &bin[..], all).unwrap();
        assert_eq!(d.md5_dos2unix, d.md5);
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(sha256_file(Path::new("/nonexistent/llmguard-digest-test")).is_err());
    }
}
