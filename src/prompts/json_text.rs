//! The strings of a JSON document with their positions: every string value (and long key),
//! decoded, with its JSON pointer and a map from decoded offsets back to bytes of the file.
//!
//! Written here rather than taken from `serde_json`, because `serde_json` gives values without
//! positions, and a finding must point at the line and column of the file and redaction must
//! rewrite exactly the string token it came from. The walker validates as it goes (RFC 8259
//! grammar, nesting bounded), so a document it accepts is one `serde_json` accepts too.

use std::fmt;

/// Nesting beyond this is an error (serde_json's own default is 128).
const MAX_DEPTH: usize = 128;
/// Keys shorter than this are names, not text worth scanning.
const KEY_SCAN_MIN: usize = 40;

/// One string of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonString {
    /// RFC 6901 pointer of the value (for a key: the pointer of the member it names).
    pub pointer: String,
    /// Byte range of the whole token in the document, quotes included.
    pub token: (usize, usize),
    /// The decoded value (`input::cut` moves it into its segment).
    pub decoded: String,
    /// `(decoded offset, document offset)` at the start and after every escape: between two
    /// checkpoints decoded and raw bytes are identical.
    checkpoints: Vec<(usize, usize)>,
}

impl JsonString {
    /// Move the string by `base` bytes (a JSONL line parsed on its own).
    pub fn shift(&mut self, base: usize) {
        self.token = (self.token.0 + base, self.token.1 + base);
        for c in &mut self.checkpoints {
            c.1 += base;
        }
    }

    /// The document byte offset of a decoded offset.
    pub fn raw_offset(&self, decoded: usize) -> usize {
        let i = self.checkpoints.partition_point(|(d, _)| *d <= decoded);
        let (d, r) = self.checkpoints[i.saturating_sub(1)];
        // Inside an escape sequence's decoded char, point at the escape itself.
        r + decoded.saturating_sub(d)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

/// Every string of `doc` worth scanning, in document order.
pub fn strings(doc: &str) -> Result<Vec<JsonString>, JsonError> {
    let mut w = Walker {
        b: doc.as_bytes(),
        doc,
        i: 0,
        out: Vec::new(),
        positions: None,
    };
    w.document()?;
    Ok(w.out)
}

/// The byte offset of every member key and array element of `doc`, by JSON pointer, in
/// document order (`check-lineage` maps each field it reads back to its line).
pub fn positions(doc: &str) -> Result<Vec<(String, usize)>, JsonError> {
    let mut w = Walker {
        b: doc.as_bytes(),
        doc,
        i: 0,
        out: Vec::new(),
        positions: Some(Vec::new()),
    };
    w.document()?;
    Ok(w.positions.unwrap_or_default())
}

impl Walker<'_> {
    fn document(&mut self) -> Result<(), JsonError> {
        let w = self;
        if w.b.starts_with(b"\xef\xbb\xbf") {
            w.i = 3;
        }
        w.ws();
        let mut path = String::new();
        w.value(&mut path, 0)?;
        w.ws();
        if w.i < w.b.len() {
            return Err(w.err("trailing characters after the JSON value"));
        }
        Ok(())
    }
}

struct Walker<'a> {
    b: &'a [u8],
    doc: &'a str,
    i: usize,
    out: Vec<JsonString>,
    /// `(pointer, offset)` of keys and elements, when asked for (`positions`).
    positions: Option<Vec<(String, usize)>>,
}

fn pointer_part(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Walker<'_> {
    fn err(&self, message: &str) -> JsonError {
        JsonError {
            offset: self.i,
            message: message.to_string(),
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn value(&mut self, path: &mut String, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting deeper than 128 levels"));
        }
        match self.b.get(self.i) {
            Some(b'{') => self.object(path, depth),
            Some(b'[') => self.array(path, depth),
            Some(b'"') => {
                let s = self.string(path.clone())?;
                self.out.push(s);
                Ok(())
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a JSON value")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), JsonError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("expected a JSON value"))
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |w: &mut Self| {
            let s = w.i;
            while w.b.get(w.i).is_some_and(u8::is_ascii_digit) {
                w.i += 1;
            }
            w.i - s
        };
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err("invalid number"));
            }
        }
        debug_assert!(self.i > start);
        Ok(())
    }

    fn object(&mut self, path: &mut String, depth: usize) -> Result<(), JsonError> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.b.get(self.i) != Some(&b'"') {
                return Err(self.err("expected a string key"));
            }
            let len = path.len();
            let key_at = self.i;
            let key = self.string(String::new())?;
            path.push('/');
            path.push_str(&pointer_part(&key.decoded));
            if let Some(p) = &mut self.positions {
                p.push((path.clone(), key_at));
            }
            if key.decoded.chars().count() >= KEY_SCAN_MIN {
                self.out.push(JsonString {
                    pointer: path.clone(),
                    ..key
                });
            }
            self.ws();
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("expected `:` after an object key"));
            }
            self.i += 1;
            self.ws();
            self.value(path, depth + 1)?;
            path.truncate(len);
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, path: &mut String, depth: usize) -> Result<(), JsonError> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(());
        }
        let mut n = 0usize;
        loop {
            let len = path.len();
            path.push('/');
            path.push_str(&n.to_string());
            if let Some(p) = &mut self.positions {
                p.push((path.clone(), self.i));
            }
            self.value(path, depth + 1)?;
            path.truncate(len);
            n += 1;
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.err("invalid \\u escape"))?;
        self.i += 4;
        Ok(h)
    }

    /// A string token starting at the opening quote.
    fn string(&mut self, pointer: String) -> Result<JsonString, JsonError> {
        let start = self.i;
        self.i += 1;
        let mut decoded = String::new();
        let mut checkpoints = vec![(0, self.i)];
        let mut run = self.i;
        loop {
            match self.b.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    decoded.push_str(&self.doc[run..self.i]);
                    self.i += 1;
                    return Ok(JsonString {
                        pointer,
                        token: (start, self.i),
                        decoded,
                        checkpoints,
                    });
                }
                Some(b'\\') => {
                    decoded.push_str(&self.doc[run..self.i]);
                    self.i += 1;
                    let c = match self.b.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            self.i -= 1;
                            let cp = if (0xD800..0xDC00).contains(&hi) && self.b[self.i + 1..].starts_with(b"\\u") {
                                let save = self.i;
                                self.i += 3;
                                let lo = self.hex4()?;
                                self.i -= 1;
                                if (0xDC00..0xE000).contains(&lo) {
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    self.i = save;
                                    0xFFFD
                                }
                            } else {
                                hi
                            };
                            char::from_u32(cp).unwrap_or('\u{FFFD}')
                        }
                        _ => return Err(self.err("invalid escape")),
                    };
                    self.i += 1;
                    decoded.push(c);
                    checkpoints.push((decoded.len(), self.i));
                    run = self.i;
                }
                Some(0..=0x1f) => return Err(self.err("control character in a string")),
                // Plain text: jump to the next quote or backslash at once, then check the run
                // for control characters (which JSON forbids in strings).
                Some(_) => {
                    let rest = &self.b[self.i..];
                    let n = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
                    if let Some(bad) = rest[..n].iter().position(|&c| c < 0x20) {
                        self.i += bad;
                        return Err(self.err("control character in a string"));
                    }
                    self.i += n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_pointers_and_offsets() {
        let doc = r#"{"messages":[{"role":"user","content":"a\nb \u0041 \ud83d\ude00 z"}],"n":-1.5e3,"ok":true}"#;
        let s = strings(doc).unwrap();
        let content = s.iter().find(|s| s.pointer == "/messages/0/content").unwrap();
        assert_eq!(content.decoded, "a\nb A 😀 z");
        let z = content.decoded.find('z').unwrap();
        assert_eq!(&doc[content.raw_offset(z)..content.raw_offset(z) + 1], "z");
        let b = content.decoded.find('b').unwrap();
        assert_eq!(&doc[content.raw_offset(b)..content.raw_offset(b) + 1], "b");
        assert_eq!(
            &doc[content.token.0..content.token.1],
            r#""a\nb \u0041 \ud83d\ude00 z""#
        );
        assert!(s.iter().any(|s| s.pointer == "/messages/0/role" && s.decoded == "user"));
    }

    #[test]
    fn long_keys_are_scanned_and_pointers_escape() {
        let key = "k/~".repeat(20);
        let doc = format!("{{\"{key}\": \"v\"}}");
        let s = strings(&doc).unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.iter().all(|s| s.pointer == format!("/{}", "k~1~0".repeat(20))));
    }

    #[test]
    fn invalid_documents_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "\"\\x\"",
            "\"\\u12\"",
            "01",
            "1.",
            "-",
            "nul",
            "[1] 2",
            "\"a\nb\"",
            "\"\\ud800\\u",
        ] {
            assert!(strings(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(strings(&deep).unwrap_err().message.contains("nesting"));
        for good in ["[]", "{}", "0", "-0.5E+2", "\"\\ud800\"", "\u{feff}[1]"] {
            assert!(strings(good).is_ok(), "{good:?}");
        }
    }
}
