//! Pickles hidden inside strings: a base64 or hex text, or raw bytes, possibly zlib/gzip
//! compressed, whose decoded content starts like a pickle or a zip checkpoint. Strings come
//! from everywhere a model carries free text (safetensors and GGUF metadata, JSON configs,
//! string constants inside pickles); this module only decodes, bounded, and says what it found.

use base64::Engine;
use std::io::Read;

/// Encoded text shorter than this cannot hold a pickle that does anything.
const MIN_LEN: usize = 16;

/// How a hidden payload was wrapped, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Base64,
    Hex,
    Raw,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Raw => "raw",
        }
    }
}

/// A payload found in a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    pub encoding: Encoding,
    /// The decoded bytes went through zlib or gzip too.
    pub compressed: bool,
    /// Whether the payload is a zip archive (a PyTorch checkpoint) rather than a pickle.
    pub zip: bool,
    pub bytes: Vec<u8>,
}

impl Hidden {
    /// "base64", "hex+zlib", …
    pub fn describe(&self) -> String {
        let mut s = self.encoding.as_str().to_string();
        if self.compressed {
            s.push_str("+zlib");
        }
        s
    }
}

/// Whether decoded bytes start like a pickle (protocol 2–5 `PROTO`, or a protocol-0 `GLOBAL`
/// line such as `cos\nsystem\n`) or a zip archive.
fn payload_kind(b: &[u8]) -> Option<bool> {
    match b {
        [0x80, 2..=5, ..] => Some(false),
        [b'P', b'K', 3, 4, ..] => Some(true),
        [b'c', rest @ ..] => {
            let line = rest.iter().position(|&c| c == b'\n')?;
            let module = &rest[..line];
            let ident = !module.is_empty()
                && module.len() <= 64
                && module
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
            ident.then_some(false)
        }
        _ => None,
    }
}

fn is_zlib(b: &[u8]) -> bool {
    matches!(b, [0x78, f, ..] if (0x7800u16 | u16::from(*f)).is_multiple_of(31)) || b.starts_with(&[0x1f, 0x8b])
}

/// Inflate a zlib or gzip stream, up to `limit` bytes.
fn inflate(b: &[u8], limit: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = if b.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(b).take(limit).read_to_end(&mut out)
    } else {
        flate2::read::ZlibDecoder::new(b).take(limit).read_to_end(&mut out)
    };
    out
}

/// The kind of a decoded prefix, looking through one compression layer.
fn prefix_kind(decoded: &[u8]) -> Option<(bool, bool)> {
    if let Some(zip) = payload_kind(decoded) {
        return Some((false, zip));
    }
    if is_zlib(decoded) {
        return payload_kind(&inflate(decoded, 64)).map(|zip| (true, zip));
    }
    None
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// Base64 text with line breaks (MIME style) removed; None if it is not base64 text.
fn b64_text(s: &[u8]) -> Option<Vec<u8>> {
    // Checked before copying: most strings a pickle or a config holds (dotted names, paths,
    // prose) fail on an early byte, and this runs on every one of them.
    if !s.iter().all(|&c| is_b64(c) || matches!(c, b'\n' | b'\r')) {
        return None;
    }
    let text: Vec<u8> = s.iter().copied().filter(|c| !matches!(c, b'\n' | b'\r')).collect();
    (text.len() >= MIN_LEN).then_some(text)
}

fn b64_decode(text: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let url = text.iter().any(|&c| c == b'-' || c == b'_');
    let padded = text.ends_with(b"=");
    let engine = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(text).ok()
}

fn hex_decode(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// Cheap test on the first bytes only: could this string hide a payload? Lets callers keep
/// (and later decode) only the strings that pass.
pub fn candidate(s: &[u8]) -> bool {
    let s = s.trim_ascii();
    if s.len() < MIN_LEN {
        return false;
    }
    if prefix_kind(s).is_some() {
        return true;
    }
    // 32 text characters decode to 16 bytes (hex) or 24 (base64): enough to see a magic.
    let head = &s[..s.len().min(32)];
    if head.iter().all(u8::is_ascii_hexdigit) {
        return hex_decode(&head[..head.len() & !1]).is_some_and(|b| prefix_kind(&b).is_some());
    }
    let Some(text) = b64_text(s.get(..64).unwrap_or(s)) else {
        return false;
    };
    b64_decode(&text[..text.len().min(32) & !3]).is_some_and(|b| prefix_kind(&b).is_some())
}

/// Decode a string that hides a pickle or a zip. `limit` bounds the decoded (and inflated) size.
pub fn find(s: &[u8], limit: u64) -> Option<Hidden> {
    if !candidate(s) {
        return None;
    }
    let s = s.trim_ascii();
    let (encoding, decoded) = if s.iter().all(u8::is_ascii_hexdigit) {
        (Encoding::Hex, hex_decode(s)?)
    } else if let Some(text) = b64_text(s) {
        (Encoding::Base64, b64_decode(&text)?)
    } else {
        (Encoding::Raw, s.to_vec())
    };
    let (compressed, zip) = prefix_kind(&decoded)?;
    let mut bytes = if compressed { inflate(&decoded, limit) } else { decoded };
    bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Some(Hidden {
        encoding,
        compressed,
        zip,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use std::io::Write;

    const PICKLE: &[u8] = b"\x80\x02cposix\nsystem\nq\x00X\x04\x00\x00\x00echoq\x01\x85q\x02Rq\x03.";

    fn zlib(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn finds_pickles_in_every_wrapping() {
        let hex: String = PICKLE.iter().map(|b| format!("{b:02x}")).collect();
        let b64 = STANDARD.encode(PICKLE);
        let mut wrapped = b64.clone();
        wrapped.insert(20, '\n');
        let zb64 = STANDARD.encode(zlib(PICKLE));
        let proto0 = STANDARD.encode(b"cos\nsystem\n(S'id'\ntR.");
        let cases: Vec<(Vec<u8>, Option<&str>)> = vec![
            (b64.clone().into_bytes(), Some("base64")),
            (wrapped.into_bytes(), Some("base64")),
            (b64.trim_end_matches('=').replace('+', "-").into_bytes(), Some("base64")),
            (hex.clone().into_bytes(), Some("hex")),
            (hex.to_uppercase().into_bytes(), Some("hex")),
            (zb64.into_bytes(), Some("base64+zlib")),
            (zlib(PICKLE), Some("raw+zlib")),
            (PICKLE.to_vec(), Some("raw")),
            (proto0.into_bytes(), Some("base64")),
            (format!("  {b64}\n").into_bytes(), Some("base64")),
            // Not payloads: ordinary text, base64 of text, hex digests, short strings.
            (b"the quick brown fox jumps over the lazy dog".to_vec(), None),
            (STANDARD.encode("hello world, this is just text").into_bytes(), None),
            (
                b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_vec(),
                None,
            ),
            (b"gAJj".to_vec(), None),
            (b"cos system".to_vec(), None),
        ];
        for (input, want) in cases {
            let got = find(&input, 1 << 20);
            assert_eq!(
                got.as_ref().map(Hidden::describe).as_deref(),
                want,
                "{}",
                String::from_utf8_lossy(&input)
            );
            if let Some(h) = got {
                assert!(!h.zip);
                assert!(h.bytes.starts_with(b"\x80\x02") || h.bytes.starts_with(b"cos\n"));
            }
        }
    }

    #[test]
    fn bounded_output() {
        let big = zlib(&[PICKLE, &vec![b'.'; 1 << 20]].concat());
        let h = find(&big, 100).unwrap();
        assert_eq!(h.bytes.len(), 100);
    }
}
