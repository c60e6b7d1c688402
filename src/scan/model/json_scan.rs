//! JSON beside or inside models (config.json, tokenizer_config.json, generation_config.json,
//! metadata in archives): chat templates are checked for template injection, and every string
//! value for an encoded pickle.

use super::{Cx, ModelFormat};
use serde::de::IgnoredAny;
use serde_json::error::Category;
use serde_json::Value;
use std::fmt::Write as _;
use std::io::Read;

/// Bytes of a candidate JSON document checked before the rest is read.
const PREFIX: u64 = 64 << 10;

/// Largest JSON document parsed (tokenizer.json of large vocabularies is ~10–20 MB).
pub(super) const JSON_MAX: u64 = 64 << 20;
/// Nesting walked; deeper values are not visited (serde_json itself stops at 128).
const JSON_DEPTH: usize = 64;

/// Whether a blob starts like a JSON object or array (after a BOM and white space). Neither
/// `{` nor `[` is a pickle opcode, so this never shadows a pickle.
pub(super) fn looks_json(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    matches!(head.trim_ascii_start().first(), Some(b'{' | b'['))
}

/// Escape a key for a JSON pointer (RFC 6901).
fn pointer_part(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1").into()
    } else {
        key.into()
    }
}

impl Cx<'_> {
    /// Scan a JSON document; None when the bytes are not JSON after all. The first 64 KiB
    /// are checked before the rest is read, so bytes that only start like JSON (a tensor
    /// payload beginning with `[`) cost one small read; a real document is then parsed from
    /// memory (`from_reader` is ~4× slower on a 12 MB tokenizer.json).
    pub(super) fn json(&mut self, reader: &mut dyn Read, members: &[String], depth: usize) -> Option<ModelFormat> {
        let mut bytes = Vec::new();
        reader.take(PREFIX).read_to_end(&mut bytes).ok()?;
        let body = |b: &[u8]| -> usize {
            if b.starts_with(b"\xef\xbb\xbf") {
                3
            } else {
                0
            }
        };
        if let Err(e) = serde_json::from_slice::<IgnoredAny>(&bytes[body(&bytes)..]) {
            if e.classify() != Category::Eof {
                return None;
            }
            reader.read_to_end(&mut bytes).ok()?;
        }
        let value: Value = serde_json::from_slice(&bytes[body(&bytes)..]).ok()?;
        drop(bytes);
        // tokenizer_config.json: `chat_template` is a string, or a list of named templates.
        if let Some(t) = value.get("chat_template") {
            match t {
                Value::String(text) => {
                    if let Some(f) = self.chat_template("chat_template", text, members, None) {
                        f.location.key_path = Some("/chat_template".into());
                    }
                }
                Value::Array(list) => {
                    for (i, item) in list.iter().enumerate() {
                        let name = item.get("name").and_then(Value::as_str).unwrap_or("default");
                        if let Some(text) = item.get("template").and_then(Value::as_str) {
                            let key = format!("chat_template.{name}");
                            if let Some(f) = self.chat_template(&key, text, members, None) {
                                f.location.key_path = Some(format!("/chat_template/{i}/template"));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let mut pointer = String::new();
        self.json_strings(&value, &mut pointer, members, depth, 0);
        Some(ModelFormat::JsonConfig)
    }

    fn json_strings(&mut self, v: &Value, pointer: &mut String, members: &[String], depth: usize, level: usize) {
        if level > JSON_DEPTH {
            return;
        }
        let len = pointer.len();
        match v {
            // Most strings of a tokenizer.json cannot hide anything: test before formatting.
            Value::String(s) if crate::model::encoded::candidate(s.as_bytes()) => {
                let place = format!("`{}`", if pointer.is_empty() { "/" } else { pointer.as_str() });
                let before = self.findings.len();
                if self.hidden_in(s.as_bytes(), &place, members, None, depth) {
                    if let Some(f) = self.findings.get_mut(before) {
                        f.location.key_path = Some(pointer.clone());
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let _ = write!(pointer, "/{i}");
                    self.json_strings(item, pointer, members, depth, level + 1);
                    pointer.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    pointer.push('/');
                    pointer.push_str(&pointer_part(k));
                    self.json_strings(item, pointer, members, depth, level + 1);
                    pointer.truncate(len);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_heads() {
        assert!(looks_json(b"{\"a\":1}"));
        assert!(looks_json(b"\xef\xbb\xbf  \n[1]"));
        assert!(!looks_json(b"}q\x00"));
        assert!(!looks_json(b"(dp0"));
        assert!(!looks_json(b""));
        assert_eq!(pointer_part("a/b~c"), "a~1b~0c");
    }
}
