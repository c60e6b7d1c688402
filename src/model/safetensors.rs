//! safetensors headers: the 8-byte little-endian header length and the JSON header, read with
//! positioned reads; the tensor payload is never read.
//!
//! What the `safetensors` crate (the reference reader) does for us: its `Dtype` enum names the
//! dtypes and gives their bit sizes, and its `Metadata` deserialiser re-validates every header
//! that our own checks pass (`Issue::ReferenceRejects` if it disagrees), so a header that the
//! real loader refuses is never reported clean. Where this module goes beyond the crate, and why:
//!
//! - The crate needs the whole file in one buffer (`SafeTensors::read_metadata` compares the
//!   header against the buffer length); here only the header is read and the payload length
//!   comes from the file size.
//! - The crate stops at the first problem and says little about it; a scanner reports every
//!   problem with where it is (size mismatches, overlaps, gaps, trailing bytes each name the
//!   tensor and byte range).
//! - The crate (through serde_json's `HashMap`s) silently keeps the last of duplicate keys, so
//!   two readers can disagree on which tensor or metadata value a name means: duplicates are
//!   detected here at every level (top level, inside a tensor entry, inside `__metadata__`).
//! - The crate accepts any size of `__metadata__`; here it is capped (`max_metadata`) and every
//!   value must be a string.
//! - Header memory is bounded by `max_tensors` and `max_rank` besides the 100 MB header cap.

use super::source::Source;
use serde::de::{
    self, Deserialize as _, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The reference implementation's header cap (`MAX_HEADER_SIZE` in the `safetensors` crate).
pub const MAX_HEADER: u64 = 100_000_000;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest header accepted, in bytes.
    pub max_header: u64,
    /// Largest `__metadata__` (sum of key and value bytes) before it is reported as oversized.
    /// Real files carry a few hundred bytes (`format: pt`, a config hash); 1 MiB leaves room for
    /// generous model cards while flagging headers stuffed with data.
    pub max_metadata: u64,
    /// Tensor entries kept from one header (memory bound; real single files hold at most tens of
    /// thousands).
    pub max_tensors: usize,
    /// Dimensions kept per shape (real tensors have fewer than 10).
    pub max_rank: usize,
    /// Issues of one kind listed individually; the rest are counted.
    pub max_issues_per_kind: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header: MAX_HEADER,
            max_metadata: 1 << 20,
            max_tensors: 200_000,
            max_rank: 64,
            max_issues_per_kind: 8,
        }
    }
}

/// How sure the content is a safetensors file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// The length field fits in the file and the header starts with `{`.
    Sure,
    /// The header starts like a JSON object (`{"`) but the length field does not fit the file
    /// (and is not printable text): a broken or hostile safetensors file.
    BadLength,
}

/// Identify a safetensors file from its first bytes (64 are enough) and its length.
pub fn identify(head: &[u8], len: u64) -> Option<Identity> {
    let n = u64::from_le_bytes(head.get(..8)?.try_into().ok()?);
    let rest = head.get(8..)?;
    let first = rest.iter().position(|&b| b != b' ')?;
    let fits = n.checked_add(8).is_some_and(|end| end <= len);
    if fits && n >= 2 && rest[first] == b'{' {
        return Some(Identity::Sure);
    }
    // A bad length is only believed when the bytes after it clearly start a header: `{"`, a
    // printable key, `":`. Text files have printable bytes where the length would be.
    let text_like = head[..8]
        .iter()
        .all(|b| (0x20..0x7f).contains(b) || matches!(b, b'\n' | b'\r' | b'\t'));
    let key = rest.strip_prefix(b"{\"")?;
    let close = key.iter().position(|&b| b == b'"')?;
    let printable = key[..close].iter().all(|b| (0x20..0x7f).contains(b));
    if !fits && !text_like && close > 0 && printable && key.get(close + 1) == Some(&b':') {
        return Some(Identity::BadLength);
    }
    None
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tensor {
    pub name: String,
    pub dtype: String,
    /// Bits per element, when the dtype is one the reference reader knows.
    pub bits: Option<u64>,
    pub shape: Vec<u64>,
    /// `[begin, end)` relative to the start of the payload.
    pub offsets: (u64, u64),
}

/// What is wrong with a header. Offsets are absolute byte offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// The length field points past the end of the file.
    LengthBeyondFile {
        declared: u64,
        available: u64,
    },
    /// The length field exceeds the header cap.
    LengthOverCap {
        declared: u64,
        cap: u64,
    },
    NotUtf8 {
        offset: u64,
    },
    /// Not JSON, or JSON that does not have the shape of a header (a tensor entry with a shape
    /// that is not a list of non-negative integers, say).
    Invalid {
        offset: u64,
        message: String,
    },
    /// The header is JSON but not an object.
    NotObject {
        found: &'static str,
    },
    /// A key appears twice; `scope` is `None` at the top level, else the tensor name or
    /// `__metadata__`.
    DuplicateKey {
        scope: Option<String>,
        key: String,
    },
    /// A tensor entry lacks a field or is not an object.
    BadEntry {
        name: String,
        message: String,
    },
    UnknownDtype {
        name: String,
        dtype: String,
    },
    /// `shape` × dtype size differs from the byte range (`expected` is `None` when the product
    /// overflows or is not a whole number of bytes).
    SizeMismatch {
        name: String,
        offset: u64,
        expected: Option<u64>,
        actual: u64,
    },
    /// `begin > end`.
    InvertedRange {
        name: String,
        begin: u64,
        end: u64,
    },
    OutOfBounds {
        name: String,
        offset: u64,
        end: u64,
        payload: u64,
    },
    Overlap {
        name: String,
        other: String,
        offset: u64,
    },
    /// Payload bytes no tensor claims, before `next` (or at the end for `Trailing`).
    Gap {
        offset: u64,
        len: u64,
        next: String,
    },
    Trailing {
        offset: u64,
        len: u64,
    },
    MetadataNotMap {
        found: &'static str,
    },
    MetadataNotString {
        key: String,
        found: &'static str,
    },
    MetadataTooLarge {
        size: u64,
        cap: u64,
    },
    /// More tensor entries than `max_tensors`: the rest of the header was not checked.
    TooManyTensors {
        limit: usize,
    },
    /// Our checks found nothing, yet the reference reader refuses the header.
    ReferenceRejects {
        message: String,
    },
}

impl Issue {
    fn kind(&self) -> &'static str {
        match self {
            Issue::LengthBeyondFile { .. } => "length-beyond-file",
            Issue::LengthOverCap { .. } => "length-over-cap",
            Issue::NotUtf8 { .. } => "not-utf8",
            Issue::Invalid { .. } => "invalid",
            Issue::NotObject { .. } => "not-object",
            Issue::DuplicateKey { .. } => "duplicate-key",
            Issue::BadEntry { .. } => "bad-entry",
            Issue::UnknownDtype { .. } => "unknown-dtype",
            Issue::SizeMismatch { .. } => "size-mismatch",
            Issue::InvertedRange { .. } => "inverted-range",
            Issue::OutOfBounds { .. } => "out-of-bounds",
            Issue::Overlap { .. } => "overlap",
            Issue::Gap { .. } => "gap",
            Issue::Trailing { .. } => "trailing",
            Issue::MetadataNotMap { .. } => "metadata-not-map",
            Issue::MetadataNotString { .. } => "metadata-not-string",
            Issue::MetadataTooLarge { .. } => "metadata-too-large",
            Issue::TooManyTensors { .. } => "too-many-tensors",
            Issue::ReferenceRejects { .. } => "reference-rejects",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Header {
    /// The declared header length.
    pub header_len: u64,
    /// Where the payload starts (`8 + header_len`).
    pub data_start: u64,
    /// Payload bytes the file holds after the header.
    pub payload_len: u64,
    /// Tensor entries in header order (at most `max_tensors`).
    pub tensors: Vec<Tensor>,
    /// `__metadata__` entries in header order, while within `max_metadata`.
    pub metadata: Vec<(String, String)>,
    pub issues: Vec<Issue>,
    /// Issues beyond `max_issues_per_kind`, by kind: (an example of the kind, how many more).
    pub more: BTreeMap<&'static str, (Issue, usize)>,
}

impl Header {
    fn issue(&mut self, issue: Issue, limits: &Limits) {
        let kind = issue.kind();
        let listed = self.issues.iter().filter(|i| i.kind() == kind).count();
        if listed < limits.max_issues_per_kind {
            self.issues.push(issue);
        } else {
            self.more.entry(kind).or_insert((issue, 0)).1 += 1;
        }
    }
}

/// Read and check the header of a safetensors file.
pub fn parse(src: &dyn Source, limits: &Limits) -> std::io::Result<Header> {
    let mut h = Header::default();
    let len = src.len();
    let mut raw = [0u8; 8];
    if src.read_full_at(0, &mut raw)? < 8 {
        h.issue(
            Issue::LengthBeyondFile {
                declared: 8,
                available: len,
            },
            limits,
        );
        return Ok(h);
    }
    let n = u64::from_le_bytes(raw);
    h.header_len = n;
    let available = len.saturating_sub(8);
    if n > limits.max_header {
        h.issue(
            Issue::LengthOverCap {
                declared: n,
                cap: limits.max_header,
            },
            limits,
        );
        if n > available {
            h.issue(Issue::LengthBeyondFile { declared: n, available }, limits);
        }
        return Ok(h);
    }
    if n > available {
        h.issue(Issue::LengthBeyondFile { declared: n, available }, limits);
        return Ok(h);
    }
    h.data_start = 8 + n;
    h.payload_len = len - h.data_start;
    // n <= max_header (100 MB), so this allocation is bounded.
    let mut buf = vec![0u8; n as usize];
    let got = src.read_full_at(8, &mut buf)?;
    if got < buf.len() {
        h.issue(Issue::LengthBeyondFile { declared: n, available }, limits);
        return Ok(h);
    }
    let text = match std::str::from_utf8(&buf) {
        Ok(t) => t,
        Err(e) => {
            h.issue(
                Issue::NotUtf8 {
                    offset: 8 + e.valid_up_to() as u64,
                },
                limits,
            );
            return Ok(h);
        }
    };
    let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if !trimmed.starts_with('{') {
        let found = match trimmed.bytes().next() {
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            _ => "not JSON",
        };
        if found == "not JSON" {
            h.issue(
                Issue::Invalid {
                    offset: 8 + (text.len() - trimmed.len()) as u64,
                    message: "the header does not start a JSON value".into(),
                },
                limits,
            );
        } else {
            h.issue(Issue::NotObject { found }, limits);
        }
        return Ok(h);
    }
    let mut c = Collect {
        limits,
        h: &mut h,
        names: HashSet::new(),
        meta_seen: false,
        meta_bytes: 0,
        stopped: false,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = TopSeed(&mut c).deserialize(&mut de).and_then(|()| de.end());
    let stopped = c.stopped;
    let meta_bytes = c.meta_bytes;
    // Oversized even if the rest of the header is broken or too long to check.
    if meta_bytes > limits.max_metadata {
        h.issue(
            Issue::MetadataTooLarge {
                size: meta_bytes,
                cap: limits.max_metadata,
            },
            limits,
        );
    }
    if let Err(e) = result {
        if stopped {
            h.issue(
                Issue::TooManyTensors {
                    limit: limits.max_tensors,
                },
                limits,
            );
        } else {
            let offset = 8 + line_col_to_offset(text, e.line(), e.column());
            h.issue(
                Issue::Invalid {
                    offset,
                    message: e.to_string(),
                },
                limits,
            );
        }
        return Ok(h);
    }
    layout(&mut h, limits);
    if h.issues.is_empty() {
        // Beyond our checks: what the reference reader says of the same header.
        if let Err(e) = serde_json::from_str::<safetensors::tensor::Metadata>(text) {
            h.issue(Issue::ReferenceRejects { message: e.to_string() }, limits);
        }
    }
    Ok(h)
}

/// The byte offset of serde_json's 1-based line/column (column counts bytes).
fn line_col_to_offset(text: &str, line: usize, column: usize) -> u64 {
    let mut offset = 0usize;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return (offset + column.saturating_sub(1).min(l.len())) as u64;
        }
        offset += l.len();
    }
    offset as u64
}

/// Ranges: sizes, bounds, overlaps, gaps and trailing bytes.
fn layout(h: &mut Header, limits: &Limits) {
    let start = h.data_start;
    let payload = h.payload_len;
    let mut issues = Vec::new();
    let mut ranges: Vec<(u64, u64, usize)> = Vec::new();
    for (i, t) in h.tensors.iter().enumerate() {
        let (b, e) = t.offsets;
        if b > e {
            issues.push(Issue::InvertedRange {
                name: t.name.clone(),
                begin: b,
                end: e,
            });
            continue;
        }
        ranges.push((b, e, i));
        if e > payload {
            issues.push(Issue::OutOfBounds {
                name: t.name.clone(),
                offset: start.saturating_add(b),
                end: e,
                payload,
            });
        }
        let Some(bits) = t.bits else { continue };
        let expected = t
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(bits))
            .and_then(|nbits| (nbits % 8 == 0).then_some(nbits / 8));
        if expected != Some(e - b) {
            issues.push(Issue::SizeMismatch {
                name: t.name.clone(),
                offset: start.saturating_add(b),
                expected,
                actual: e - b,
            });
        }
    }
    ranges.sort_unstable();
    let mut cursor = 0u64;
    let mut owner: Option<usize> = None;
    for &(b, e, i) in &ranges {
        if b > cursor && cursor < payload {
            issues.push(Issue::Gap {
                offset: start.saturating_add(cursor),
                len: b.min(payload) - cursor,
                next: h.tensors[i].name.clone(),
            });
        } else if b < cursor {
            let other = owner.map(|o| h.tensors[o].name.clone()).unwrap_or_default();
            issues.push(Issue::Overlap {
                name: h.tensors[i].name.clone(),
                other,
                offset: start.saturating_add(b),
            });
        }
        if e > cursor {
            cursor = e;
            owner = Some(i);
        }
    }
    if cursor < payload {
        issues.push(Issue::Trailing {
            offset: start.saturating_add(cursor),
            len: payload - cursor,
        });
    }
    for i in issues {
        h.issue(i, limits);
    }
}

struct Collect<'a> {
    limits: &'a Limits,
    h: &'a mut Header,
    names: HashSet<String>,
    meta_seen: bool,
    meta_bytes: u64,
    stopped: bool,
}

struct TopSeed<'c, 'a>(&'c mut Collect<'a>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a safetensors header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.0;
        while let Some(key) = map.next_key::<String>()? {
            if key == "__metadata__" {
                if c.meta_seen {
                    c.h.issue(
                        Issue::DuplicateKey {
                            scope: None,
                            key: key.clone(),
                        },
                        c.limits,
                    );
                }
                c.meta_seen = true;
                map.next_value_seed(MetaSeed(c))?;
                continue;
            }
            let entry: Entry = map.next_value_seed(EntrySeed {
                max_rank: c.limits.max_rank,
            })?;
            if !c.names.insert(key.clone()) {
                c.h.issue(Issue::DuplicateKey { scope: None, key }, c.limits);
                continue;
            }
            if c.h.tensors.len() >= c.limits.max_tensors {
                c.stopped = true;
                return Err(de::Error::custom("too many tensors"));
            }
            c.add(key, entry);
        }
        Ok(())
    }
}

impl Collect<'_> {
    fn add(&mut self, name: String, e: Entry) {
        let limits = self.limits;
        let fields = match e {
            Entry::Other(found) => {
                let message = format!("the entry is {found}, not an object with dtype, shape and data_offsets");
                self.h.issue(Issue::BadEntry { name, message }, limits);
                return;
            }
            Entry::Fields(f) => f,
        };
        for key in &fields.duplicates {
            self.h.issue(
                Issue::DuplicateKey {
                    scope: Some(name.clone()),
                    key: key.clone(),
                },
                limits,
            );
        }
        if fields.rank_over {
            let message = format!("shape has more than {} dimensions", limits.max_rank);
            self.h.issue(Issue::BadEntry { name, message }, limits);
            return;
        }
        let missing: Vec<&str> = [
            ("dtype", fields.dtype.is_none()),
            ("shape", fields.shape.is_none()),
            ("data_offsets", fields.offsets.is_none()),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(k, _)| *k)
        .collect();
        let (Some(dtype), Some(shape), Some(offsets)) = (fields.dtype, fields.shape, fields.offsets) else {
            let message = format!("missing {}", missing.join(", "));
            self.h.issue(Issue::BadEntry { name, message }, limits);
            return;
        };
        let known = safetensors::Dtype::deserialize(dtype.as_str().into_deserializer())
            .map_err(|_: de::value::Error| ())
            .ok();
        if known.is_none() {
            self.h.issue(
                Issue::UnknownDtype {
                    name: name.clone(),
                    dtype: dtype.clone(),
                },
                limits,
            );
        }
        self.h.tensors.push(Tensor {
            name,
            dtype,
            bits: known.map(|d| d.bitsize() as u64),
            shape,
            offsets: (offsets[0], offsets[1]),
        });
    }
}

/// What kind of JSON value a visitor met instead of the one it wanted.
macro_rules! other_kinds {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($wrap("a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($wrap("a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($wrap("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($wrap("a number"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($wrap("null"))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($wrap("an array"))
        }
    };
}

enum Entry {
    Fields(Fields),
    Other(&'static str),
}

#[derive(Default)]
struct Fields {
    dtype: Option<String>,
    shape: Option<Vec<u64>>,
    offsets: Option<[u64; 2]>,
    duplicates: Vec<String>,
    rank_over: bool,
}

struct EntrySeed {
    max_rank: usize,
}

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = Entry;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed {
    type Value = Entry;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tensor entry")
    }

    other_kinds!(Entry::Other);

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Entry, E> {
        Ok(Entry::Other("a string"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut f = Fields::default();
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                if !f.duplicates.contains(&key) {
                    f.duplicates.push(key.clone());
                }
            } else if seen.len() < 16 {
                seen.push(key.clone());
            }
            match key.as_str() {
                "dtype" => f.dtype = Some(map.next_value()?),
                "shape" => {
                    let (shape, over) = map.next_value_seed(ShapeSeed(self.max_rank))?;
                    f.shape = Some(shape);
                    f.rank_over |= over;
                }
                "data_offsets" => f.offsets = Some(map.next_value()?),
                // The reference reader ignores unknown fields, and so do we.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Entry::Fields(f))
    }
}

/// A shape: a list of non-negative integers, at most `max_rank` of them kept.
struct ShapeSeed(usize);

impl<'de> DeserializeSeed<'de> for ShapeSeed {
    type Value = (Vec<u64>, bool);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ShapeSeed {
    type Value = (Vec<u64>, bool);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of non-negative integers")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut dims = Vec::new();
        let mut over = false;
        while let Some(d) = seq.next_element::<u64>()? {
            if dims.len() < self.0 {
                dims.push(d);
            } else {
                over = true;
            }
        }
        Ok((dims, over))
    }
}

struct MetaSeed<'c, 'a>(&'c mut Collect<'a>);

impl<'de> DeserializeSeed<'de> for MetaSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl MetaSeed<'_, '_> {
    fn other(self, found: &'static str) {
        let c = self.0;
        c.h.issue(Issue::MetadataNotMap { found }, c.limits);
    }
}

impl<'de> Visitor<'de> for MetaSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of strings to strings")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.other("a boolean");
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.other("a number");
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.other("a number");
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.other("a number");
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.other("null");
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.other("a string");
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.other("an array");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let c = self.0;
        let mut keys: HashSet<String> = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: MetaValue = map.next_value()?;
            c.meta_bytes = c.meta_bytes.saturating_add(key.len() as u64);
            let within = c.meta_bytes <= c.limits.max_metadata;
            if within && !keys.insert(key.clone()) {
                c.h.issue(
                    Issue::DuplicateKey {
                        scope: Some("__metadata__".into()),
                        key: key.clone(),
                    },
                    c.limits,
                );
            }
            match value {
                MetaValue::Str(s) => {
                    c.meta_bytes = c.meta_bytes.saturating_add(s.len() as u64);
                    if c.meta_bytes <= c.limits.max_metadata {
                        c.h.metadata.push((key, s));
                    }
                }
                MetaValue::Other(found) => {
                    c.h.issue(Issue::MetadataNotString { key, found }, c.limits);
                }
            }
        }
        Ok(())
    }
}

enum MetaValue {
    Str(String),
    Other(&'static str),
}

impl<'de> de::Deserialize<'de> for MetaValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MetaValueVisitor)
    }
}

struct MetaValueVisitor;

impl<'de> Visitor<'de> for MetaValueVisitor {
    type Value = MetaValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    other_kinds!(MetaValue::Other);

    fn visit_str<E: de::Error>(self, s: &str) -> Result<MetaValue, E> {
        Ok(MetaValue::Str(s.to_string()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<MetaValue, E> {
        Ok(MetaValue::Str(s))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetaValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MetaValue::Other("an object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str, payload: usize) -> Vec<u8> {
        let mut v = (header.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(header.as_bytes());
        v.extend(std::iter::repeat_n(0u8, payload));
        v
    }

    fn kinds(data: &[u8]) -> Vec<&'static str> {
        let h = parse(&data.to_vec(), &Limits::default()).unwrap();
        let mut k: Vec<_> = h.issues.iter().map(Issue::kind).collect();
        k.extend(h.more.keys());
        k
    }

    #[test]
    fn table_of_headers() {
        let good = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}}"#;
        let cases: &[(&str, Vec<u8>, &[&str])] = &[
            ("valid", file(good, 22), &[]),
            ("valid, padded with spaces", file(&format!("{good}      "), 22), &[]),
            ("empty object", file("{}", 0), &[]),
            ("trailing bytes", file(good, 30), &["trailing"]),
            ("short payload", file(good, 20), &["out-of-bounds"]),
            (
                "duplicate tensor",
                file(
                    r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#,
                    1,
                ),
                &["duplicate-key"],
            ),
            (
                "duplicate field",
                file(
                    r#"{"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#,
                    1,
                ),
                &["duplicate-key"],
            ),
            (
                "duplicate metadata key",
                file(r#"{"__metadata__":{"k":"1","k":"2"}}"#, 0),
                &["duplicate-key"],
            ),
            (
                "unknown dtype",
                file(r#"{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}"#, 1),
                &["unknown-dtype"],
            ),
            (
                "size mismatch",
                file(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8),
                &["size-mismatch"],
            ),
            (
                "overflowing shape",
                file(
                    r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#,
                    8,
                ),
                &["size-mismatch"],
            ),
            (
                "sub-byte dtype, odd count",
                file(r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, 2),
                &["size-mismatch"],
            ),
            (
                "overlap",
                file(
                    r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
                    6,
                ),
                &["overlap"],
            ),
            (
                "gap",
                file(
                    r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}}"#,
                    10,
                ),
                &["gap"],
            ),
            (
                "inverted",
                file(r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}"#, 4),
                &["inverted-range", "trailing"],
            ),
            ("not json", file("{not json}", 0), &["invalid"]),
            ("array", file("[1,2]", 0), &["not-object"]),
            (
                "bad shape",
                file(r#"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}"#, 1),
                &["invalid"],
            ),
            ("entry not object", file(r#"{"a":7}"#, 0), &["bad-entry"]),
            (
                "missing field",
                file(r#"{"a":{"dtype":"U8","shape":[1]}}"#, 0),
                &["bad-entry"],
            ),
            (
                "metadata not map",
                file(r#"{"__metadata__":[1]}"#, 0),
                &["metadata-not-map"],
            ),
            (
                "metadata value not string",
                file(r#"{"__metadata__":{"n":3}}"#, 0),
                &["metadata-not-string"],
            ),
            (
                "metadata too large",
                file(&format!(r#"{{"__metadata__":{{"k":"{}"}}}}"#, "x".repeat(1 << 20)), 0),
                &["metadata-too-large"],
            ),
            (
                "length beyond file",
                b"\xff\xff\x00\x00\x00\x00\x00\x00{\"a\"".to_vec(),
                &["length-beyond-file"],
            ),
            (
                "length over cap",
                b"\xff\xff\xff\xff\xff\xff\xff\x7f{\"a\"".to_vec(),
                &["length-over-cap", "length-beyond-file"],
            ),
            ("short file", b"\x02\x00".to_vec(), &["length-beyond-file"]),
        ];
        for (what, data, want) in cases {
            assert_eq!(&kinds(data), want, "{what}");
        }
        let mut bad_utf8 = file("{\"ab\":1}", 0);
        bad_utf8[10] = 0xff;
        assert_eq!(kinds(&bad_utf8), ["not-utf8"]);
    }

    #[test]
    fn issues_of_one_kind_are_capped() {
        let mut header = String::from("{");
        for i in 0..20 {
            header.push_str(&format!(
                r#""t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{},{}]}},"#,
                2 * i,
                2 * i + 1
            ));
        }
        header.pop();
        header.push('}');
        let h = parse(&file(&header, 40), &Limits::default()).unwrap();
        assert_eq!(h.issues.len(), 9, "8 gaps and the trailing byte");
        assert_eq!(h.more["gap"].1, 11);
        assert_eq!(h.tensors.len(), 20);
    }

    #[test]
    fn tensor_cap_stops_parsing() {
        let limits = Limits {
            max_tensors: 2,
            ..Limits::default()
        };
        let header = r#"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"c":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}"#;
        let h = parse(&file(header, 0), &limits).unwrap();
        assert!(matches!(h.issues[..], [Issue::TooManyTensors { limit: 2 }]));
    }

    #[test]
    fn identifies_by_content() {
        let f = file(r#"{"a":1}"#, 0);
        assert_eq!(identify(&f, f.len() as u64), Some(Identity::Sure));
        assert_eq!(identify(&f, 3), Some(Identity::BadLength));
        let huge = b"\xff\xff\xff\xff\xff\xff\xff\xff{\"__metadata__\":{";
        assert_eq!(identify(huge, 100), Some(Identity::BadLength));
        // Text that happens to have `{"` at byte 8 is not a safetensors file.
        assert_eq!(identify(b"abcdefgh{\"x\": 1}", 17), None);
        assert_eq!(identify(b"\x80\x02}q\x00(X\x01\x00", 100), None);
        // Random bytes with `{"` at byte 8 but no key after it are not either.
        assert_eq!(identify(b"\x01\x02\x03\x04\x05\x06\x07\x08{\"\x00\x9a", 100), None);
    }
}
