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
    /// `shasum -U` (Digest::SHA universal newlines): the SHA-256 of a text file after
    /// converting CRLF and lone CR to LF (binary files are hashed as they are).
    pub sha256_universal: bool,
}

/// The digests `Want` asked for (lower-case hex).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub md5_dos2unix: Option<String>,
    pub sha256_universal: Option<String>,
}

/// The size of the blocks DVC reads and normalises one at a time (`fobj_md5`'s `chunk_size`):
/// a CRLF split across two of them is not converted.
const DVC_CHUNK: u64 = 1 << 20;

/// DVC's text test (`dvc_data.hashfile.istextfile.istextblock` on the first 512 bytes): no NUL,
/// and at most 30% of the bytes outside printable ASCII (32..=126) and `\n \r \t \f \b`.
/// Bytes of 127 and above count against text, so UTF-8 text in a non-Latin script is binary
/// to DVC and hashed as it is.
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
        .filter(|&&b| !((32..127).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t' | 8 | 12)))
        .count();
    odd * 10 <= head.len() * 3
}

/// Perl's `-T` test, which `shasum -U` applies before converting newlines (the first 512
/// bytes): no NUL, and, unless they are valid UTF-8, at most a third of them control
/// characters (other than `\t \n \r \b \f` and ESC) or bytes of 128 and above.
fn perl_text(head: &[u8]) -> bool {
    let head = &head[..head.len().min(512)];
    if head.is_empty() {
        return true;
    }
    if head.contains(&0) {
        return false;
    }
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut by the 512-byte window still counts as UTF-8.
        Err(e) => e.error_len().is_none(),
    };
    if utf8 {
        return true;
    }
    let odd = head
        .iter()
        .filter(|&&b| b >= 128 || (b < 32 && !matches!(b, b'\t' | b'\n' | b'\r' | 8 | 12 | 27)))
        .count();
    odd * 3 <= head.len()
}

/// A hash over a newline-normalised stream. The text test runs on the first 512 bytes
/// (buffered until they are in); binary streams are hashed as they are.
struct Normalised<H> {
    h: H,
    is_text: fn(&[u8]) -> bool,
    /// Lone CRs become LF too (`shasum -U`); otherwise only CRLF becomes LF (DVC).
    lone_cr: bool,
    /// Blocks normalised independently (DVC), or one stream (`shasum -U`).
    block: Option<u64>,
    text: Option<bool>,
    head: Vec<u8>,
    pos: u64,
    held_cr: bool,
}

impl<H: sha2::digest::Update> Normalised<H> {
    fn new(h: H, is_text: fn(&[u8]) -> bool, lone_cr: bool, block: Option<u64>) -> Self {
        Normalised {
            h,
            is_text,
            lone_cr,
            block,
            text: None,
            head: Vec::new(),
            pos: 0,
            held_cr: false,
        }
    }

    fn update(&mut self, chunk: &[u8]) {
        if self.text.is_none() {
            self.head.extend_from_slice(chunk);
            if self.head.len() < 512 {
                return;
            }
            let head = std::mem::take(&mut self.head);
            self.decide(&head);
            return;
        }
        self.feed(chunk);
    }

    fn decide(&mut self, head: &[u8]) {
        self.text = Some((self.is_text)(head));
        self.feed(head);
    }

    fn feed(&mut self, mut data: &[u8]) {
        if self.text == Some(false) {
            self.h.update(data);
            return;
        }
        while !data.is_empty() {
            let room = self.block.map_or(data.len(), |b| {
                usize::try_from(b - self.pos % b).unwrap_or(usize::MAX).min(data.len())
            });
            let (seg, rest) = data.split_at(room);
            let ends_block = self
                .block
                .is_some_and(|b| (self.pos + seg.len() as u64).is_multiple_of(b));
            self.segment(seg, ends_block);
            self.pos += seg.len() as u64;
            data = rest;
        }
    }

    fn segment(&mut self, seg: &[u8], ends_block: bool) {
        let mut start = 0;
        if self.held_cr {
            self.held_cr = false;
            if seg.first() != Some(&b'\n') {
                self.h.update(if self.lone_cr { b"\n" } else { b"\r" });
            }
        }
        for i in memchr::memchr_iter(b'\r', seg) {
            if seg.get(i + 1) == Some(&b'\n') {
                self.h.update(&seg[start..i]);
                start = i + 1;
            } else if i + 1 == seg.len() {
                if ends_block {
                    // DVC converts each block on its own: a CR that ends one stays.
                    break;
                }
                self.h.update(&seg[start..i]);
                start = seg.len();
                self.held_cr = true;
            } else if self.lone_cr {
                self.h.update(&seg[start..i]);
                self.h.update(b"\n");
                start = i + 1;
            }
        }
        self.h.update(&seg[start..]);
    }

    fn finish(mut self) -> H {
        if self.text.is_none() {
            let head = std::mem::take(&mut self.head);
            self.decide(&head);
        }
        if self.held_cr {
            self.h.update(if self.lone_cr { b"\n" } else { b"\r" });
        }
        self.h
    }
}

/// Every digest `want` names of everything `reader` yields, streamed `BUF_LEN` at a time.
pub fn digests_reader(reader: &mut dyn Read, want: Want) -> std::io::Result<Digests> {
    use md5::Md5;
    let mut sha = want.sha256.then(Sha256::new);
    let mut md = want.md5.then(Md5::new);
    let mut dos = want
        .md5_dos2unix
        .then(|| Normalised::new(Md5::new(), dvc_text, false, Some(DVC_CHUNK)));
    let mut univ = want
        .sha256_universal
        .then(|| Normalised::new(Sha256::new(), perl_text, true, None));
    let size = stream(reader, &mut |chunk| {
        if let Some(h) = &mut sha {
            Digest::update(h, chunk);
        }
        if let Some(h) = &mut md {
            Digest::update(h, chunk);
        }
        if let Some(h) = &mut dos {
            h.update(chunk);
        }
        if let Some(h) = &mut univ {
            h.update(chunk);
        }
    })?;
    Ok(Digests {
        size,
        sha256: sha.map(|h| hex(&h.finalize())),
        md5: md.map(|h| hex(&h.finalize())),
        md5_dos2unix: dos.map(|h| hex(&h.finish().finalize())),
        sha256_universal: univ.map(|h| hex(&h.finish().finalize())),
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
            sha256_universal: true,
        };
        let d = digests_reader(&mut &b"a\r\nb\r\n"[..], all).unwrap();
        assert_eq!(d.md5.as_deref(), Some(hex(&md5::Md5::digest(b"a\r\nb\r\n")).as_str()));
        assert_eq!(
            d.md5_dos2unix.as_deref(),
            Some(hex(&md5::Md5::digest(b"a\nb\n")).as_str())
        );
        assert_eq!(d.sha256.as_deref(), Some(hex(&Sha256::digest(b"a\r\nb\r\n")).as_str()));
        // A CRLF across DVC's 1 MiB block boundary stays (DVC converts block by block, as
        // `dvc_data.hashfile.hash.fobj_md5` does: checked against DVC 2.58.2); a lone CR stays.
        let mut data = vec![b'x'; BUF_LEN - 1];
        data.extend_from_slice(b"\r\ny\rz\r");
        let d = digests_reader(&mut &data[..], all).unwrap();
        assert_eq!(d.md5_dos2unix.unwrap(), "9f05d08cf5ce291bf73ce9a763ec7efb");
        // Inside a block, a CRLF split between two reads is converted.
        let mut r = Chunked(&b"ab\r\ncd\r\n"[..], 3);
        let d = digests_reader(&mut r, all).unwrap();
        assert_eq!(d.md5_dos2unix.unwrap(), hex(&md5::Md5::digest(b"ab\ncd\n")));
        // UTF-8 text in a non-Latin script is binary to DVC (bytes >= 127 are not text).
        let jp = "東京の天気は晴れです\r\n".repeat(4);
        let d = digests_reader(&mut jp.as_bytes(), all).unwrap();
        assert_eq!(d.md5_dos2unix, d.md5);
        // Binary files are hashed as they are.
        let bin = b"\0\r\n";
        let d = digests_reader(&mut &bin[..], all).unwrap();
        assert_eq!(d.md5_dos2unix, d.md5);
    }

    /// A reader that returns at most `n` bytes per read.
    struct Chunked<'a>(&'a [u8], usize);

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn shasum_universal_newlines() {
        let want = Want {
            sha256_universal: true,
            ..Want::default()
        };
        // `printf 'a\r\nb\rc' | shasum -a 256 -U` hashes "a\nb\nc"; split reads do not matter.
        for n in [1, 2, 100] {
            let d = digests_reader(&mut Chunked(&b"a\r\nb\rc\r"[..], n), want).unwrap();
            assert_eq!(d.sha256_universal.unwrap(), hex(&Sha256::digest(b"a\nb\nc\n")), "{n}");
        }
        // Binary files (a NUL in the first block) are hashed as they are: checked with
        // Digest::SHA 6.02's shasum.
        let d = digests_reader(&mut &b"\x00\r\x01a\r\nb"[..], want).unwrap();
        assert_eq!(
            d.sha256_universal.unwrap(),
            "ee535552d23691e6bf866905fbf1579a41b9295c8ab23bc997e5e0d208ffe324"
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        assert!(sha256_file(Path::new("/nonexistent/llmguard-digest-test")).is_err());
    }
}
