//! JSON and YAML documents with the position of every value, so that each field a parser
//! reads points back at its line and JSON pointer.
//!
//! JSON is parsed by `serde_json` (strict RFC 8259, nesting bounded at 128) and its positions
//! come from the JSON walker of `scan-prompts` (`prompts::json_text::positions`). YAML is
//! parsed by `serde-saphyr`, which is panic-free on hostile input, keeps the line and column of
//! every node, and enforces budgets on aliases, nodes and nesting (a "billion laughs" document
//! stops at its budget with an error instead of expanding).

use super::Span;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocError {
    pub line: u32,
    pub column: u32,
    pub message: String,
    /// A resource limit (nesting, alias expansion, node count), not a syntax error.
    pub limit: bool,
}

/// A parsed document: the value, and `(line, column)` by JSON pointer of every member
/// (the position of its key) and array element.
#[derive(Debug, Clone)]
pub struct Doc {
    pub value: Value,
    positions: std::sync::Arc<BTreeMap<String, (u32, u32)>>,
    /// The JSON pointer of `value` in its file (empty for the whole document; `/3` for the
    /// fourth record of a file that holds a list of records).
    prefix: String,
}

fn u32_of(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Doc {
    /// Parse JSON. `first_line` is the line of the text's first line in its file.
    pub fn json(text: &str, first_line: u32) -> Result<Doc, DocError> {
        let value: Value = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text)).map_err(|e| {
            let msg = e.to_string();
            DocError {
                line: u32_of(e.line() as u64).saturating_add(first_line - 1),
                column: u32_of(e.column() as u64),
                limit: msg.contains("recursion limit"),
                message: msg,
            }
        })?;
        let lines = crate::prompts::input::LineIndex::new(text);
        let mut positions = BTreeMap::new();
        // The walker accepts what serde_json accepts; should they ever disagree, positions
        // fall back to the document's first line rather than failing the parse.
        for (pointer, offset) in crate::prompts::json_text::positions(text).unwrap_or_default() {
            let (line, col) = lines.position(offset);
            positions.insert(pointer, (line.saturating_add(first_line - 1), col));
        }
        Ok(Doc {
            value,
            positions: std::sync::Arc::new(positions),
            prefix: String::new(),
        })
    }

    /// Parse YAML (one document). `first_line` is the line of the text's first line in its file.
    pub fn yaml(text: &str, first_line: u32) -> Result<Doc, DocError> {
        let mut options = serde_saphyr::Options::default();
        options.with_snippet = false;
        let node: Spanned<Node> = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
            let (line, column) = e
                .location()
                .map_or((1, 0), |l| (u32_of(l.line()).max(1), u32_of(l.column())));
            let message = e.to_string();
            let message = message
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_string();
            let lower = message.to_ascii_lowercase();
            DocError {
                line: line.saturating_add(first_line - 1),
                column,
                limit: lower.contains("budget")
                    || lower.contains("recursion limit")
                    || lower.contains("limit exceeded"),
                message,
            }
        })?;
        let mut positions = BTreeMap::new();
        let mut path = String::new();
        let value = flatten(node, &mut path, &mut positions, first_line - 1);
        Ok(Doc {
            value,
            positions: std::sync::Arc::new(positions),
            prefix: String::new(),
        })
    }

    /// The element `index` of an array document, as a document of its own whose pointers
    /// and positions stay those of the file.
    pub fn element(&self, index: usize) -> Option<Doc> {
        let value = self.value.as_array()?.get(index)?.clone();
        Some(Doc {
            value,
            positions: self.positions.clone(),
            prefix: format!("{}/{index}", self.prefix),
        })
    }

    /// Where the value at `pointer` is; the nearest ancestor's position when the pointer
    /// itself has none (the document's first line for the root).
    pub fn span(&self, pointer: &str) -> Span {
        self.locator().span(pointer)
    }

    /// The positions of this document without its value, for checks that point at fields
    /// after parsing.
    pub fn locator(&self) -> Locator {
        Locator {
            positions: self.positions.clone(),
            prefix: self.prefix.clone(),
        }
    }

    /// The line of the value at `pointer` (nearest ancestor when absent).
    pub fn line(&self, pointer: &str) -> u32 {
        self.span(pointer).line
    }
}

/// Where the members of a parsed document are, by JSON pointer ([`Doc::locator`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    positions: std::sync::Arc<BTreeMap<String, (u32, u32)>>,
    prefix: String,
}

impl Locator {
    /// Where the value at `pointer` is; the nearest ancestor's position when the pointer
    /// itself has none (the document's first line for the root).
    pub fn span(&self, pointer: &str) -> Span {
        let full = format!("{}{pointer}", self.prefix);
        let pointer = full.as_str();
        let mut p = pointer;
        loop {
            if let Some((line, column)) = self.positions.get(p) {
                return Span {
                    line: *line,
                    column: *column,
                    key_path: Some(pointer.to_string()).filter(|s| !s.is_empty()),
                };
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    let first = self.positions.values().map(|(l, _)| *l).min().unwrap_or(1);
                    return Span {
                        line: first,
                        column: 0,
                        key_path: Some(pointer.to_string()).filter(|s| !s.is_empty()),
                    };
                }
            }
        }
    }
}

/// A JSON pointer part.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The YAML tree as serde-saphyr gives it, every node with its location.
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::UInt(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = a.next_element()? {
                    v.push(x);
                }
                Ok(Node::Seq(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = a.next_key::<Spanned<String>>()? {
                    let value = a.next_value()?;
                    v.push((k, value));
                }
                Ok(Node::Map(v))
            }
        }
        d.deserialize_any(V)
    }
}

fn flatten(node: Spanned<Node>, path: &mut String, out: &mut BTreeMap<String, (u32, u32)>, offset: u32) -> Value {
    match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::from(i),
        Node::UInt(u) => Value::from(u),
        Node::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => {
            let mut v = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                let at = &item.referenced;
                out.insert(
                    path.clone(),
                    (u32_of(at.line()).saturating_add(offset), u32_of(at.column())),
                );
                v.push(flatten(item, path, out, offset));
                path.truncate(len);
            }
            Value::Array(v)
        }
        Node::Map(members) => {
            let mut m = serde_json::Map::new();
            for (k, item) in members {
                let len = path.len();
                path.push('/');
                path.push_str(&escape(&k.value));
                let at = &k.referenced;
                out.insert(
                    path.clone(),
                    (u32_of(at.line()).saturating_add(offset), u32_of(at.column())),
                );
                let value = flatten(item, path, out, offset);
                path.truncate(len);
                m.insert(k.value, value);
            }
            Value::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_positions_by_pointer() {
        let d = Doc::json(
            "{\n  \"name\": \"x\",\n  \"files\": [\n    {\"path\": \"a\"}\n  ]\n}\n",
            1,
        )
        .unwrap();
        assert_eq!(d.line("/name"), 2);
        assert_eq!(d.line("/files/0/path"), 4);
        assert_eq!(d.span("/files/0/sha256").line, 4, "nearest ancestor");
        assert_eq!(d.span("/files/0/sha256").key_path.as_deref(), Some("/files/0/sha256"));
        let e = Doc::json("{\n \"a\": 1,\n}", 1).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(Doc::json(&"[".repeat(200), 1).unwrap_err().limit);
        let list = Doc::json("[\n {\"a\": 1},\n {\"a\": 2,\n  \"b\": 3}\n]\n", 1).unwrap();
        let second = list.element(1).unwrap();
        assert_eq!(second.value["b"], 3);
        assert_eq!(second.span("/b").line, 4);
        assert_eq!(second.span("/b").key_path.as_deref(), Some("/1/b"));
        assert!(list.element(2).is_none());
    }

    #[test]
    fn yaml_positions_and_budgets() {
        let d = Doc::yaml("name: x\nlicense: mit\nfiles:\n  - path: a.csv\n    sha256: ab\n", 2).unwrap();
        assert_eq!(d.line("/license"), 3);
        assert_eq!(d.line("/files/0/sha256"), 6);
        assert_eq!(d.value["files"][0]["path"], "a.csv");
        let mut laughs = String::from("a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
        for i in 1..20 {
            let p = i - 1;
            laughs += &format!("a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n");
        }
        let e = Doc::yaml(&laughs, 1).unwrap_err();
        assert!(e.limit, "{e:?}");
        let e = Doc::yaml("a: b\na: c\n", 1).unwrap_err();
        assert!(e.message.contains("duplicate"), "{e:?}");
        assert_eq!(e.line, 2);
        assert!(Doc::yaml(&"[".repeat(100_000), 1).unwrap_err().limit);
    }
}
