//! Hostile YAML into a tree that remembers where everything came from.
//!
//! `serde-saphyr` does the parsing, under a budget (events, nodes, depth, aliases, anchors,
//! scalar bytes, documents) so that an alias bomb, a huge or a deeply nested document ends in
//! a typed error instead of exhausting memory or the stack. Every node keeps its 1-based line
//! and column; callers build JSON-pointer key paths as they walk, so every finding about a
//! policy names the file, the line and the key path of the offending entry. Mappings keep their
//! keys in order and keep duplicates, so that a duplicated key (which YAML loaders resolve
//! silently, one way or the other) is reported rather than guessed.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub line: u32,
    pub column: u32,
    /// Read from another file of the same directory, for context only (see
    /// `scan::policy`): findings located in it are reported when that file is linted.
    pub ctx: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in document order; duplicates kept.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text (numbers and booleans as written in YAML's core schema).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Mark this tree as context read from another file (iteratively: no recursion).
    pub fn mark_context(&mut self) {
        let mut stack: Vec<&mut Node> = vec![self];
        while let Some(n) = stack.pop() {
            n.ctx = true;
            match &mut n.value {
                Value::Seq(items) => stack.extend(items.iter_mut()),
                Value::Map(entries) => {
                    for (k, v) in entries.iter_mut() {
                        stack.push(k);
                        stack.push(v);
                    }
                }
                _ => {}
            }
        }
    }

    /// The first value under `key` (a mapping with string keys).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        let s = Spanned::<Value>::deserialize(d)?;
        Ok(Node {
            value: s.value,
            line: u32::try_from(s.referenced.line()).unwrap_or(u32::MAX),
            column: u32::try_from(s.referenced.column()).unwrap_or(u32::MAX),
            ctx: false,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(n) = seq.next_element::<Node>()? {
            out.push(n);
        }
        Ok(Value::Seq(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(k) = map.next_key::<Node>()? {
            let v = map.next_value::<Node>()?;
            out.push((k, v));
        }
        Ok(Value::Map(out))
    }
}

/// Limits on one policy file. A policy is a few hundred lines; these leave room for very large
/// ones and stop bombs early.
#[derive(Debug, Clone, Copy)]
pub struct YamlLimits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_nodes: usize,
    pub max_aliases: usize,
    pub max_replayed_events: usize,
    pub max_documents: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_bytes: 16 << 20,
            max_depth: 64,
            max_nodes: 500_000,
            max_aliases: 10_000,
            max_replayed_events: 100_000,
            max_documents: 1_000,
        }
    }
}

/// Why a file gave no tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlError {
    /// Not valid YAML; line and column where the parser stopped, when known.
    Syntax { line: u32, column: u32, message: String },
    /// A budget was exhausted (alias bomb, size, depth, node count).
    Limit { line: u32, column: u32, message: String },
}

/// Parse every document of `text` under `limits`. Empty (null) documents are skipped.
pub fn parse(text: &str, limits: YamlLimits) -> Result<Vec<Node>, YamlError> {
    if text.len() > limits.max_bytes {
        return Err(YamlError::Limit {
            line: 0,
            column: 0,
            message: format!(
                "larger than {} MiB; not parsed (policies are far smaller)",
                limits.max_bytes >> 20
            ),
        });
    }
    // The parser and the tree recurse per nesting level before the depth budget can stop
    // them on some inputs; a dedicated thread with a large stack keeps that from ever
    // overflowing a worker thread's small one (only touched stack pages cost memory).
    let parsed = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(s, || {
                serde_saphyr::from_str_multiple_with_options::<Node, Vec<Node>>(text, options(limits))
            })
            .map(|h| h.join())
    });
    let parsed = match parsed {
        Ok(Ok(r)) => r,
        _ => {
            return Err(YamlError::Limit {
                line: 0,
                column: 0,
                message: "the YAML parser could not run to completion".into(),
            })
        }
    };
    parsed.map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| {
                (
                    u32::try_from(l.line()).unwrap_or(u32::MAX),
                    u32::try_from(l.column()).unwrap_or(u32::MAX),
                )
            })
            .unwrap_or((0, 0));
        let message = e.to_string().lines().next().unwrap_or("").trim().to_string();
        let lower = message.to_ascii_lowercase();
        if ["budget", "limit", "exceeded", "too many", "too deep", "depth"]
            .iter()
            .any(|w| lower.contains(w))
        {
            YamlError::Limit { line, column, message }
        } else {
            YamlError::Syntax { line, column, message }
        }
    })
}

/// Parser options for `limits` (built on the parsing thread: `Options` is not `Send`).
fn options(limits: YamlLimits) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_nodes = limits.max_nodes;
    budget.max_aliases = limits.max_aliases;
    budget.max_anchors = limits.max_aliases;
    budget.max_documents = limits.max_documents;
    budget.max_events = limits.max_nodes.saturating_mul(4);
    budget.max_total_scalar_bytes = limits.max_bytes;
    budget.max_recorded_anchor_events = limits.max_replayed_events;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = limits.max_replayed_events;
    options.alias_limits.max_replay_stack_depth = limits.max_depth;
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::LastWins;
    options.with_snippet = false;
    options
}

/// A JSON pointer segment (`~` and `/` escaped, RFC 6901).
pub fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_duplicates() {
        let docs = parse("a: 1\nb:\n  - x\n  - {c: true}\na: 2\n", YamlLimits::default()).unwrap();
        let m = docs[0].as_map().unwrap();
        assert_eq!(m.len(), 3, "duplicate key kept");
        assert_eq!(m[2].0.line, 5);
        let b = docs[0].get("b").unwrap().as_seq().unwrap();
        assert_eq!(b[1].line, 4);
        assert_eq!(b[1].get("c").unwrap().value, Value::Bool(true));
    }

    #[test]
    fn multi_documents_and_scalars() {
        let docs = parse("---\nx: 1.2\n---\nstart: '09:00'\n", YamlLimits::default()).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].get("x").unwrap().value, Value::Float(1.2));
        let y = docs.iter().find_map(|d| d.get("start")).unwrap();
        assert_eq!(y.as_str(), Some("09:00"), "a quoted time stays a string");
    }

    #[test]
    fn bombs_and_depth_are_typed_errors() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 { "a".to_string() } else { format!("l{}", i - 1) };
            bomb.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert!(
            matches!(parse(&bomb, YamlLimits::default()), Err(YamlError::Limit { .. })),
            "{:?}",
            parse(&bomb, YamlLimits::default()).err()
        );
        let deep = "[".repeat(200_000) + &"]".repeat(200_000);
        assert!(parse(&deep, YamlLimits::default()).is_err());
        let nested = (0..2_000)
            .map(|i| format!("{}k:\n", "  ".repeat(i)))
            .collect::<String>();
        assert!(parse(&nested, YamlLimits::default()).is_err());
        assert!(matches!(
            parse("a: [1, 2", YamlLimits::default()),
            Err(YamlError::Syntax { line: 1.., .. })
        ));
    }
}
