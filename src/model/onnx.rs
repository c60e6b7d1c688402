//! ONNX models: the `ModelProto` protobuf (`onnx/onnx.proto`, proto2).
//!
//! What the checks need is small: every tensor's external-data reference (initializers, sparse
//! initializers, tensor-valued attributes such as a `Constant` node's `value`, inside subgraphs
//! and functions too), every node's operator domain, the opset imports and the functions the
//! model defines. What a model holds is large: weights inline, up to the 2 GB protobuf limit.
//!
//! # Why a field walker in front of prost
//!
//! Messages are decoded with `prost` from the hand-written subset of `onnx.proto` below; a
//! field that a struct leaves out (`raw_data`, `float_data`, …) is skipped by prost without
//! allocating. But prost decodes from a buffer holding the whole message, and the
//! `ModelProto`/`GraphProto` of a real model *is* the whole file. So the outer levels — the
//! `ModelProto` fields, each `GraphProto`, `FunctionProto` and `TrainingInfoProto` — are walked
//! by a small field iterator over the [`Source`]: it reads a tag and a length, and either hands
//! the sub-message (a node, an initializer, an opset import…) to prost when it is at most
//! [`Limits::max_message`] bytes, or, for a larger one (an initializer with a 500 MB
//! `raw_data`, a `Constant` node holding one), descends into it field by field, keeps the few
//! small fields it needs (`name`, `data_location`, `external_data`) and steps over the bulk by
//! offset. It decodes no values itself beyond tags and lengths (prost's `decode_varint`), so it
//! is a field iterator, not a second protobuf decoder. Peak memory is one window of at most
//! `max_message` bytes plus what is kept, which is capped by `max_retained`.
//!
//! A sub-message prost rejects is walked again field by field, which pins the error to an
//! offset. Malformed input (bad varints, lengths past the end, unexpected wire types, nesting
//! past the limits) becomes a typed [`Issue`], never a panic.

use super::source::Source;
use prost::Message;
use std::collections::BTreeMap;

/// Whether a blob starts like a serialised `ModelProto`: protobuf has no magic, but `onnx.save`
/// writes `ir_version` (field 1, a small varint) first, followed by another top-level field.
pub fn identify(head: &[u8]) -> bool {
    matches!(
        head,
        [
            0x08,
            1..=0x20,
            0x12 | 0x1a | 0x22 | 0x28 | 0x32 | 0x3a | 0x42 | 0x72,
            ..
        ]
    )
}

/// `TensorProto.DataLocation.EXTERNAL`.
pub const DATA_LOCATION_EXTERNAL: i32 = 1;

// ---- The subset of onnx.proto that the checks read (field numbers as in onnx.proto). ----
// Strings are `bytes`: onnx.proto is proto2, which does not require UTF-8, and a name that is
// not UTF-8 must not make the whole message undecodable.

/// `ModelProto`. The scanner walks it field by field (see the module docs); the struct
/// documents the fields and builds messages in tests.
#[derive(Clone, PartialEq, Message)]
pub struct ModelProto {
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(bytes = "vec", tag = "2")]
    pub producer_name: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub producer_version: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub domain: Vec<u8>,
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
    #[prost(message, repeated, tag = "20")]
    pub training_info: Vec<TrainingInfoProto>,
    #[prost(message, repeated, tag = "25")]
    pub functions: Vec<FunctionProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    #[prost(bytes = "vec", tag = "2")]
    pub name: Vec<u8>,
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "15")]
    pub sparse_initializer: Vec<SparseTensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `ValueInfoProto`: only the name (its `type` is skipped).
#[derive(Clone, PartialEq, Message)]
pub struct ValueInfoProto {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NodeProto {
    #[prost(bytes = "vec", tag = "3")]
    pub name: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub op_type: Vec<u8>,
    #[prost(bytes = "vec", tag = "7")]
    pub domain: Vec<u8>,
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `AttributeProto`: the fields that can hold tensors or graphs.
#[derive(Clone, PartialEq, Message)]
pub struct AttributeProto {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    #[prost(message, optional, tag = "6")]
    pub g: Option<GraphProto>,
    #[prost(message, optional, tag = "22")]
    pub sparse_tensor: Option<SparseTensorProto>,
    #[prost(message, repeated, tag = "10")]
    pub tensors: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    pub graphs: Vec<GraphProto>,
    #[prost(message, repeated, tag = "23")]
    pub sparse_tensors: Vec<SparseTensorProto>,
}

/// `TensorProto` without its payload fields (`raw_data`, `float_data`, …), which prost skips.
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    #[prost(bytes = "vec", tag = "8")]
    pub name: Vec<u8>,
    #[prost(int32, tag = "14")]
    pub data_location: i32,
    #[prost(message, repeated, tag = "13")]
    pub external_data: Vec<StringStringEntryProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SparseTensorProto {
    #[prost(message, optional, tag = "1")]
    pub values: Option<TensorProto>,
    #[prost(message, optional, tag = "2")]
    pub indices: Option<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TrainingInfoProto {
    #[prost(message, optional, tag = "1")]
    pub initialization: Option<GraphProto>,
    #[prost(message, optional, tag = "2")]
    pub algorithm: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FunctionProto {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(bytes = "vec", tag = "10")]
    pub domain: Vec<u8>,
    #[prost(message, repeated, tag = "7")]
    pub node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "9")]
    pub opset_import: Vec<OperatorSetIdProto>,
    #[prost(message, repeated, tag = "11")]
    pub attribute_proto: Vec<AttributeProto>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OperatorSetIdProto {
    #[prost(bytes = "vec", tag = "1")]
    pub domain: Vec<u8>,
    #[prost(int64, tag = "2")]
    pub version: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct StringStringEntryProto {
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

// ---- What the parser reports. ----

#[derive(Debug, Clone)]
pub struct Limits {
    /// Sub-messages up to this size are decoded whole by prost; larger ones are walked. Above
    /// a megabyte a message is almost always a tensor payload, which the walk steps over where
    /// prost would need it read whole.
    pub max_message: u64,
    /// Leaf messages (opset imports, key/value entries, value infos) larger than this are
    /// refused whatever `max_message` is.
    pub max_leaf: u64,
    /// Subgraphs (`If`/`Loop`/`Scan` bodies) nested deeper than this are not opened.
    pub max_depth: usize,
    /// Nodes visited in one model, across all graphs and functions.
    pub max_nodes: u64,
    /// Tensors visited in one model.
    pub max_tensors: u64,
    /// Distinct (domain, op_type) pairs remembered.
    pub max_op_kinds: usize,
    /// External-data tensors remembered.
    pub max_external: usize,
    /// Bytes kept of one name, path or value (longer ones are cut; their length is kept).
    pub max_string: usize,
    /// Bytes of names, paths and values kept in all, for one model.
    pub max_retained: usize,
    /// Issues reported for one model (the first ones; the walk stops after).
    pub max_issues: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 1 << 20,
            max_leaf: 1 << 20,
            max_depth: 16,
            max_nodes: 10_000_000,
            max_tensors: 10_000_000,
            max_op_kinds: 4096,
            max_external: 1 << 20,
            max_string: 4096,
            max_retained: 64 << 20,
            max_issues: 64,
        }
    }
}

/// A string from the file: lossy UTF-8 of at most `max_string` bytes, and its real length.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Text {
    pub text: String,
    pub len: usize,
}

impl Text {
    fn new(bytes: &[u8], max: usize) -> Text {
        Text {
            text: String::from_utf8_lossy(&bytes[..bytes.len().min(max)]).into_owned(),
            len: bytes.len(),
        }
    }

    pub fn truncated(&self) -> bool {
        self.len > self.text.len()
    }

    /// Whether the bytes were valid UTF-8 (a truncated string is judged on what was kept).
    pub fn lossy(&self) -> bool {
        self.text.contains('\u{fffd}')
    }
}

/// A tensor whose data lives (or claims to live) outside the model file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalTensor {
    pub name: Text,
    /// Where the tensor sits: graph, node and attribute names.
    pub scope: String,
    /// Offset of the tensor's message in the file, or of the message it was decoded with.
    pub offset: u64,
    pub data_location: i32,
    /// The `external_data` key/value pairs, in file order.
    pub entries: Vec<(Text, Text)>,
}

impl ExternalTensor {
    /// The value of the first entry with this key (`location`, `offset`, `length`…).
    pub fn get(&self, key: &str) -> Option<&Text> {
        self.entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v)
    }
}

/// Nodes of one (domain, op_type), with the first place one was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpUse {
    pub domain: String,
    pub op_type: String,
    pub count: u64,
    pub scope: String,
    pub node: String,
    pub offset: u64,
}

/// An `opset_import` entry of the model or of one of its functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opset {
    pub domain: String,
    pub version: i64,
    /// `model` or `function <domain>.<name>`.
    pub scope: String,
    pub offset: u64,
}

/// A function the model defines (`ModelProto.functions`): nodes of this (domain, op_type) are
/// expanded from it and need no operator library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub domain: String,
    pub name: String,
    pub offset: u64,
}

/// A `ModelProto.metadata_props` entry (free-form strings that tools read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub key: Text,
    /// The whole value (entries are at most `max_leaf` bytes).
    pub value: Vec<u8>,
    pub offset: u64,
}

/// What is wrong with the protobuf. Offsets are byte offsets in the blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// Not valid protobuf at this point (bad varint or tag, unexpected wire type); the rest of
    /// the enclosing message was not read.
    Malformed {
        offset: u64,
        context: String,
        message: String,
    },
    /// A length that runs past the end of its enclosing message or of the file.
    Truncated {
        offset: u64,
        context: String,
        declared: u64,
        available: u64,
    },
    /// The model has no `graph`: not an ONNX model, or a broken one.
    NoGraph,
    /// Subgraphs nested deeper than `max_depth`: the deeper ones were not opened.
    TooDeep {
        offset: u64,
        scope: String,
        depth: usize,
    },
    /// A count or size limit stopped the walk or the recording.
    Limit {
        offset: u64,
        what: &'static str,
        bound: u64,
        /// The walk stopped here (otherwise only the recording of more items did).
        stopped: bool,
    },
    Io {
        offset: u64,
        message: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Onnx {
    pub ir_version: Option<i64>,
    pub producer_name: Option<Text>,
    pub producer_version: Option<Text>,
    pub graphs: u64,
    pub nodes: u64,
    pub tensors: u64,
    pub opsets: Vec<Opset>,
    pub functions: Vec<Function>,
    pub metadata: Vec<Metadata>,
    /// Every (domain, op_type) used by a node, sorted.
    pub ops: Vec<OpUse>,
    /// Tensors with `data_location = EXTERNAL` or `external_data` entries, in file order.
    pub external: Vec<ExternalTensor>,
    pub issues: Vec<Issue>,
}

/// Walk a serialised `ModelProto`.
pub fn parse(src: &dyn Source, limits: &Limits) -> Onnx {
    let mut w = Walker {
        src,
        limits,
        out: Onnx::default(),
        ops: BTreeMap::new(),
        cache_start: 0,
        cache: Vec::new(),
        cache_len: 0,
        retained: 0,
        stopped: false,
        external_full: false,
        ops_full: false,
    };
    w.model();
    let mut out = w.out;
    out.ops = w.ops.into_values().collect();
    out
}

// ---- The walker. ----

/// Bytes read at a time for tags and lengths when the message around them is too large to
/// hold whole.
const WINDOW: usize = 64 * 1024;

#[derive(Debug, Clone, Copy)]
enum Val {
    Varint(u64),
    Fixed,
    Len { start: u64, len: u64 },
}

#[derive(Debug, Clone, Copy)]
struct Field {
    num: u32,
    at: u64,
    val: Val,
}

impl Field {
    fn wire_name(&self) -> &'static str {
        match self.val {
            Val::Varint(_) => "varint",
            Val::Fixed => "fixed-width",
            Val::Len { .. } => "length-delimited",
        }
    }
}

/// Kinds of length-delimited fields the walker hands to prost or walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Node,
    Attribute,
    Tensor,
    Sparse,
}

struct Walker<'a> {
    src: &'a dyn Source,
    limits: &'a Limits,
    out: Onnx,
    ops: BTreeMap<(String, String), OpUse>,
    /// Bytes `[cache_start, cache_start + cache.len())` of the source.
    cache_start: u64,
    /// Grows to the largest read (at most `max_message`), never shrinks: zero-filling it anew for
    /// every message was most of the time spent on large models.
    cache: Vec<u8>,
    /// How much of `cache` holds data.
    cache_len: usize,
    retained: usize,
    /// A limit or an I/O error ended the walk.
    stopped: bool,
    external_full: bool,
    ops_full: bool,
}

fn name_or(bytes: &[u8], fallback: impl FnOnce() -> String) -> String {
    if bytes.is_empty() {
        fallback()
    } else {
        crate::finding::truncate(&String::from_utf8_lossy(&bytes[..bytes.len().min(512)]), 96)
    }
}

impl Walker<'_> {
    fn issue(&mut self, issue: Issue) {
        // The walks that look for a name first and then for the content meet an error twice.
        if self.stopped || self.out.issues.contains(&issue) {
            return;
        }
        if self.out.issues.len() >= self.limits.max_issues {
            self.out.issues.push(Issue::Limit {
                offset: 0,
                what: "issues reported for one model",
                bound: self.limits.max_issues as u64,
                stopped: true,
            });
            self.stopped = true;
            return;
        }
        if matches!(issue, Issue::Io { .. }) {
            self.stopped = true;
        }
        self.out.issues.push(issue);
    }

    fn limit(&mut self, offset: u64, what: &'static str, bound: u64) {
        self.issue(Issue::Limit {
            offset,
            what,
            bound,
            stopped: true,
        });
        self.stopped = true;
    }

    /// Whether `[start, start+len)` is in the cache.
    fn cached(&self, start: u64, len: u64) -> bool {
        start >= self.cache_start && start.saturating_add(len) <= self.cache_start + self.cache_len as u64
    }

    /// Load `[start, start+len)` into the cache (`len` at most `max_message` or `WINDOW`).
    fn load(&mut self, start: u64, len: u64) -> bool {
        if self.cached(start, len) {
            return true;
        }
        // At least a window, so that the small messages after this one are read with it.
        let cap = self.limits.max_message.max(self.limits.max_leaf).max(WINDOW as u64);
        let n = len
            .max(WINDOW as u64)
            .min(cap)
            .min(self.src.len().saturating_sub(start));
        let n = usize::try_from(n).unwrap_or(0);
        if self.cache.len() < n {
            self.cache.resize(n, 0);
        }
        self.cache_start = start;
        self.cache_len = 0;
        match self.src.read_full_at(start, &mut self.cache[..n]) {
            Ok(got) => {
                self.cache_len = got;
                true
            }
            Err(e) => {
                self.issue(Issue::Io {
                    offset: start,
                    message: e.to_string(),
                });
                false
            }
        }
    }

    /// The bytes `[start, start+len)`, from the cache (loading it if needed).
    fn slice(&mut self, start: u64, len: u64) -> Option<&[u8]> {
        if !self.cached(start, len) && !self.load(start, len) {
            return None;
        }
        if !self.cached(start, len) {
            return None;
        }
        let a = (start - self.cache_start) as usize;
        Some(&self.cache[a..a + len as usize])
    }

    /// Up to 10 bytes at `pos` (fewer at `end`), for a varint.
    fn varint(&mut self, pos: &mut u64, end: u64, context: &str) -> Option<u64> {
        let want = end.saturating_sub(*pos).min(10);
        if !self.cached(*pos, want) {
            let window = (WINDOW as u64).min(self.src.len().saturating_sub(*pos));
            if !self.load(*pos, window.max(want)) {
                return None;
            }
        }
        let at = *pos;
        let bytes = match self.slice(at, want) {
            Some(b) => b,
            None => {
                self.issue(Issue::Truncated {
                    offset: at,
                    context: context.to_string(),
                    declared: want,
                    available: 0,
                });
                return None;
            }
        };
        let mut rest = bytes;
        match prost::encoding::decode_varint(&mut rest) {
            Ok(v) => {
                *pos += (bytes.len() - rest.len()) as u64;
                Some(v)
            }
            Err(e) => {
                let cut = bytes.len() < 10 && bytes.iter().all(|b| b & 0x80 != 0);
                let issue = if cut {
                    Issue::Truncated {
                        offset: at,
                        context: context.to_string(),
                        declared: bytes.len() as u64 + 1,
                        available: bytes.len() as u64,
                    }
                } else {
                    Issue::Malformed {
                        offset: at,
                        context: context.to_string(),
                        message: e.to_string(),
                    }
                };
                self.issue(issue);
                None
            }
        }
    }

    /// The next field of a message ending at `end`; `None` at the end or on an error (reported).
    fn field(&mut self, pos: &mut u64, end: u64, context: &str) -> Option<Field> {
        if *pos >= end || self.stopped {
            return None;
        }
        let at = *pos;
        let key = self.varint(pos, end, context)?;
        let num = key >> 3;
        if num == 0 || num > u64::from(u32::MAX >> 3) {
            self.issue(Issue::Malformed {
                offset: at,
                context: context.to_string(),
                message: format!("invalid field number {num}"),
            });
            return None;
        }
        let val = match key & 7 {
            0 => Val::Varint(self.varint(pos, end, context)?),
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                if end - *pos < n {
                    self.issue(Issue::Truncated {
                        offset: at,
                        context: context.to_string(),
                        declared: n,
                        available: end - *pos,
                    });
                    return None;
                }
                *pos += n;
                Val::Fixed
            }
            2 => {
                let len = self.varint(pos, end, context)?;
                let available = end - *pos;
                if len > available {
                    self.issue(Issue::Truncated {
                        offset: at,
                        context: format!("{context}, field {num}"),
                        declared: len,
                        available,
                    });
                    return None;
                }
                let start = *pos;
                *pos += len;
                Val::Len { start, len }
            }
            w => {
                let what = if w == 3 || w == 4 {
                    "a group (wire type 3/4), which ONNX never uses"
                } else {
                    "an invalid wire type"
                };
                self.issue(Issue::Malformed {
                    offset: at,
                    context: context.to_string(),
                    message: format!("field {num} is {what} ({w})"),
                });
                return None;
            }
        };
        Some(Field {
            num: num as u32,
            at,
            val,
        })
    }

    fn wrong_wire(&mut self, f: &Field, context: &str, want: &str) {
        self.issue(Issue::Malformed {
            offset: f.at,
            context: context.to_string(),
            message: format!("field {} is {}, expected {want}", f.num, f.wire_name()),
        });
    }

    /// A length-delimited field's range, or `None` (reported) when the wire type differs.
    fn len_of(&mut self, f: &Field, context: &str) -> Option<(u64, u64)> {
        match f.val {
            Val::Len { start, len } => Some((start, len)),
            _ => {
                self.wrong_wire(f, context, "length-delimited");
                None
            }
        }
    }

    fn varint_of(&mut self, f: &Field, context: &str) -> Option<u64> {
        match f.val {
            Val::Varint(v) => Some(v),
            _ => {
                self.wrong_wire(f, context, "a varint");
                None
            }
        }
    }

    /// A string field, cut at `max_string`.
    fn text(&mut self, start: u64, len: u64) -> Option<Text> {
        let keep = len.min(self.limits.max_string as u64);
        let max = self.limits.max_string;
        let bytes = self.slice(start, keep)?;
        let mut t = Text::new(bytes, max);
        t.len = usize::try_from(len).unwrap_or(usize::MAX);
        Some(t)
    }

    /// Decode a small sub-message with prost; `None` when it does not decode (the caller walks
    /// it instead, to report where and why).
    fn decode<M: Message + Default>(&mut self, start: u64, len: u64) -> Result<M, String> {
        self.decode_within(start, len, self.limits.max_message)
    }

    fn decode_leaf<M: Message + Default>(&mut self, start: u64, len: u64) -> Result<M, String> {
        self.decode_within(start, len, self.limits.max_leaf)
    }

    fn decode_within<M: Message + Default>(&mut self, start: u64, len: u64, cap: u64) -> Result<M, String> {
        if len > cap {
            return Err(String::new());
        }
        let bytes = self.slice(start, len).ok_or_else(String::new)?;
        M::decode(bytes).map_err(|e| e.to_string())
    }

    fn retain(&mut self, n: usize, offset: u64) -> bool {
        self.retained = self.retained.saturating_add(n);
        if self.retained > self.limits.max_retained {
            self.limit(
                offset,
                "bytes of names and paths kept for one model",
                self.limits.max_retained as u64,
            );
            return false;
        }
        true
    }

    fn text_of(&self, bytes: &[u8]) -> Text {
        Text::new(bytes, self.limits.max_string)
    }

    // ---- ModelProto ----

    fn model(&mut self) {
        let end = self.src.len();
        let mut pos = 0;
        let mut graph = false;
        let mut fields = 0u64;
        let mut trainings = 0u64;
        while let Some(f) = self.field(&mut pos, end, "ModelProto") {
            fields += 1;
            let ctx = "ModelProto";
            match f.num {
                1 => self.out.ir_version = self.varint_of(&f, ctx).map(|v| v as i64),
                2 | 3 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    let t = self.text(s, l.min(1024));
                    if f.num == 2 {
                        self.out.producer_name = t;
                    } else {
                        self.out.producer_version = t;
                    }
                }
                7 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    graph = true;
                    self.graph(s, l, "graph".to_string(), 0);
                }
                8 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    self.opset(s, l, f.at, "model");
                }
                20 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    self.training(s, l, trainings);
                    trainings += 1;
                }
                25 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    self.function(s, l, f.at);
                }
                14 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    self.metadata(s, l, f.at);
                }
                // Strings that no check reads: only their wire type is checked.
                4 | 6 if self.len_of(&f, ctx).is_none() => break,
                5 if self.varint_of(&f, ctx).is_none() => break,
                _ => {}
            }
            if self.stopped {
                break;
            }
        }
        if !graph
            && !self.stopped
            && fields > 0
            && !self
                .out
                .issues
                .iter()
                .any(|i| matches!(i, Issue::Malformed { .. } | Issue::Truncated { .. }))
        {
            self.issue(Issue::NoGraph);
        }
    }

    fn opset(&mut self, start: u64, len: u64, at: u64, scope: &str) {
        match self.decode_leaf::<OperatorSetIdProto>(start, len) {
            Ok(o) => {
                let domain = self.text_of(&o.domain).text;
                if self.retain(domain.len() + scope.len(), at) {
                    self.out.opsets.push(Opset {
                        domain,
                        version: o.version,
                        scope: scope.to_string(),
                        offset: at,
                    });
                }
            }
            Err(_) => self.leaf_error(start, len, at, "OperatorSetIdProto", &[(1, true), (2, false)]),
        }
    }

    fn metadata(&mut self, start: u64, len: u64, at: u64) {
        match self.decode_leaf::<StringStringEntryProto>(start, len) {
            Ok(e) => {
                let key = self.text_of(&e.key);
                if self.retain(key.text.len() + e.value.len(), at) {
                    self.out.metadata.push(Metadata {
                        key,
                        value: e.value,
                        offset: at,
                    });
                }
            }
            Err(_) => self.leaf_error(start, len, at, "StringStringEntryProto", &[(1, true), (2, true)]),
        }
    }

    /// A small message prost rejected (or one too large for a leaf): walk its fields to say
    /// where. `fields` lists (number, length-delimited?) of the fields the struct declares.
    fn leaf_error(&mut self, start: u64, len: u64, at: u64, what: &str, fields: &[(u32, bool)]) {
        if len > self.limits.max_leaf {
            self.issue(Issue::Limit {
                offset: at,
                what: "size of a small message (opset import, value info, key/value entry)",
                bound: self.limits.max_leaf,
                stopped: false,
            });
            return;
        }
        let before = self.out.issues.len();
        let end = start + len;
        let mut pos = start;
        while let Some(f) = self.field(&mut pos, end, what) {
            if let Some((_, want_len)) = fields.iter().find(|(n, _)| *n == f.num) {
                let ok = matches!(f.val, Val::Len { .. }) == *want_len && !matches!(f.val, Val::Fixed);
                if !ok {
                    self.wrong_wire(&f, what, if *want_len { "length-delimited" } else { "a varint" });
                    break;
                }
            }
        }
        if self.out.issues.len() == before {
            self.issue(Issue::Malformed {
                offset: at,
                context: what.to_string(),
                message: "does not decode".to_string(),
            });
        }
    }

    // ---- GraphProto, TrainingInfoProto, FunctionProto: always walked ----

    fn enter(&mut self, at: u64, scope: &str, depth: usize) -> bool {
        if depth > self.limits.max_depth {
            self.issue(Issue::TooDeep {
                offset: at,
                scope: scope.to_string(),
                depth,
            });
            return false;
        }
        true
    }

    fn graph(&mut self, start: u64, len: u64, scope: String, depth: usize) {
        if !self.enter(start, &scope, depth) {
            return;
        }
        self.out.graphs += 1;
        if len <= self.limits.max_message && !self.load(start, len) {
            return;
        }
        // The graph's name first (protobuf writers put it after the nodes).
        let end = start + len;
        let mut pos = start;
        let mut name = None;
        while let Some(f) = self.field(&mut pos, end, "GraphProto") {
            if f.num == 2 {
                let Some((s, l)) = self.len_of(&f, "GraphProto") else {
                    return;
                };
                name = self.text(s, l.min(256)).map(|t| t.text);
            }
        }
        if self.stopped {
            return;
        }
        let scope = match name {
            Some(n) if !n.is_empty() && depth == 0 => format!("graph `{}`", crate::finding::truncate(&n, 96)),
            _ => scope,
        };
        let mut pos = start;
        let mut i = 0usize;
        while let Some(f) = self.field(&mut pos, end, "GraphProto") {
            let ctx = "GraphProto";
            match f.num {
                1 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    self.sub(Kind::Node, s, l, f.at, &scope, depth, i);
                    i += 1;
                }
                5 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    let sc = format!("{scope} initializer");
                    self.sub(Kind::Tensor, s, l, f.at, &sc, depth, 0);
                }
                15 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    let sc = format!("{scope} sparse initializer");
                    self.sub(Kind::Sparse, s, l, f.at, &sc, depth, 0);
                }
                11 | 12 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    if self.decode_leaf::<ValueInfoProto>(s, l).is_err() {
                        self.leaf_error(s, l, f.at, "ValueInfoProto", &[(1, true)]);
                    }
                }
                _ => {}
            }
            if self.stopped {
                return;
            }
        }
    }

    fn training(&mut self, start: u64, len: u64, index: u64) {
        let end = start + len;
        let mut pos = start;
        while let Some(f) = self.field(&mut pos, end, "TrainingInfoProto") {
            if f.num == 1 || f.num == 2 {
                let Some((s, l)) = self.len_of(&f, "TrainingInfoProto") else {
                    return;
                };
                let which = if f.num == 1 { "initialization" } else { "algorithm" };
                self.graph(s, l, format!("training_info[{index}].{which}"), 0);
            }
        }
    }

    fn function(&mut self, start: u64, len: u64, at: u64) {
        let err = match self.decode::<FunctionProto>(start, len) {
            Ok(func) => return self.visit_function(&func, at),
            Err(e) => e,
        };
        let before = self.out.issues.len();
        // Too large for prost, or malformed: walk it. Name and domain first.
        let end = start + len;
        let mut pos = start;
        let (mut name, mut domain) = (Vec::new(), Vec::new());
        while let Some(f) = self.field(&mut pos, end, "FunctionProto") {
            if f.num == 1 || f.num == 10 {
                let Some((s, l)) = self.len_of(&f, "FunctionProto") else {
                    return;
                };
                let Some(t) = self.slice(s, l.min(1024)).map(<[u8]>::to_vec) else {
                    return;
                };
                if f.num == 1 {
                    name = t;
                } else {
                    domain = t;
                }
            }
        }
        if self.stopped {
            return;
        }
        let scope = self.function_header(&domain, &name, at);
        let mut pos = start;
        let mut i = 0usize;
        while let Some(f) = self.field(&mut pos, end, "FunctionProto") {
            let ctx = "FunctionProto";
            match f.num {
                7 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    self.sub(Kind::Node, s, l, f.at, &scope, 0, i);
                    i += 1;
                }
                9 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    self.opset(s, l, f.at, &scope);
                }
                11 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    let sc = format!("{scope} default attribute");
                    self.sub(Kind::Attribute, s, l, f.at, &sc, 0, 0);
                }
                _ => {}
            }
            if self.stopped {
                return;
            }
        }
        self.undiagnosed(before, len, at, "FunctionProto", err);
    }

    /// prost refused a message but walking it found nothing wrong: report prost's reason.
    fn undiagnosed(&mut self, before: usize, len: u64, at: u64, ctx: &str, err: String) {
        if len <= self.limits.max_message && self.out.issues.len() == before && !self.stopped && !err.is_empty() {
            self.issue(Issue::Malformed {
                offset: at,
                context: ctx.to_string(),
                message: err,
            });
        }
    }

    fn function_header(&mut self, domain: &[u8], name: &[u8], at: u64) -> String {
        let domain = self.text_of(domain).text;
        let name = self.text_of(name).text;
        let scope = format!(
            "function `{}`",
            crate::finding::truncate(&format!("{domain}.{name}"), 128)
        );
        if self.retain(domain.len() + name.len(), at) {
            self.out.functions.push(Function {
                domain,
                name,
                offset: at,
            });
        }
        scope
    }

    fn visit_function(&mut self, func: &FunctionProto, at: u64) {
        let scope = self.function_header(&func.domain, &func.name, at);
        for o in &func.opset_import {
            let domain = self.text_of(&o.domain).text;
            if self.retain(domain.len() + scope.len(), at) {
                self.out.opsets.push(Opset {
                    domain,
                    version: o.version,
                    scope: scope.clone(),
                    offset: at,
                });
            }
        }
        for (i, n) in func.node.iter().enumerate() {
            self.visit_node(n, at, &scope, 0, i);
        }
        let sc = format!("{scope} default attribute");
        for a in &func.attribute_proto {
            self.visit_attribute(a, at, &sc, 0);
        }
    }

    // ---- Nodes, attributes, tensors: prost when small, walked when large or malformed ----

    #[allow(clippy::too_many_arguments)]
    fn sub(&mut self, kind: Kind, start: u64, len: u64, at: u64, scope: &str, depth: usize, index: usize) {
        if self.stopped {
            return;
        }
        let decoded = match kind {
            Kind::Node => self
                .decode::<NodeProto>(start, len)
                .map(|n| self.visit_node(&n, at, scope, depth, index)),
            Kind::Attribute => self
                .decode::<AttributeProto>(start, len)
                .map(|a| self.visit_attribute(&a, at, scope, depth)),
            Kind::Tensor => self
                .decode::<TensorProto>(start, len)
                .map(|t| self.visit_tensor(&t, at, scope)),
            Kind::Sparse => self
                .decode::<SparseTensorProto>(start, len)
                .map(|t| self.visit_sparse(&t, at, scope)),
        };
        let Err(err) = decoded else { return };
        let before = self.out.issues.len();
        let ctx = match kind {
            Kind::Node => {
                self.walk_node(start, len, at, scope, depth, index);
                "NodeProto"
            }
            Kind::Attribute => {
                self.walk_attribute(start, len, scope, depth);
                "AttributeProto"
            }
            Kind::Tensor => {
                self.walk_tensor(start, len, at, scope);
                "TensorProto"
            }
            Kind::Sparse => {
                self.walk_sparse(start, len, scope);
                "SparseTensorProto"
            }
        };
        self.undiagnosed(before, len, at, ctx, err);
    }

    fn count_node(&mut self, at: u64) -> bool {
        self.out.nodes += 1;
        if self.out.nodes > self.limits.max_nodes {
            self.limit(at, "nodes in one model", self.limits.max_nodes);
            return false;
        }
        true
    }

    /// Record a node's operator; returns the node's label for scopes below it.
    fn node_header(
        &mut self,
        name: &[u8],
        op_type: &[u8],
        domain: &[u8],
        at: u64,
        scope: &str,
        index: usize,
    ) -> String {
        let op = self.text_of(op_type).text;
        let label = name_or(name, || format!("#{index} ({})", crate::finding::truncate(&op, 64)));
        let domain = self.text_of(domain).text;
        let key = (domain, op);
        if let Some(u) = self.ops.get_mut(&key) {
            u.count += 1;
        } else if self.ops.len() >= self.limits.max_op_kinds {
            if !self.ops_full {
                self.ops_full = true;
                self.issue(Issue::Limit {
                    offset: at,
                    what: "distinct operators remembered",
                    bound: self.limits.max_op_kinds as u64,
                    stopped: false,
                });
            }
        } else if self.retain(key.0.len() + key.1.len() + scope.len() + label.len(), at) {
            let (domain, op_type) = key.clone();
            self.ops.insert(
                key,
                OpUse {
                    domain,
                    op_type,
                    count: 1,
                    scope: scope.to_string(),
                    node: label.clone(),
                    offset: at,
                },
            );
        }
        label
    }

    fn visit_node(&mut self, n: &NodeProto, at: u64, scope: &str, depth: usize, index: usize) {
        if !self.count_node(at) {
            return;
        }
        let label = self.node_header(&n.name, &n.op_type, &n.domain, at, scope, index);
        let node_scope = format!("{scope} > {label}");
        for a in &n.attribute {
            self.visit_attribute(a, at, &node_scope, depth);
            if self.stopped {
                return;
            }
        }
    }

    fn visit_attribute(&mut self, a: &AttributeProto, at: u64, node_scope: &str, depth: usize) {
        let attr = name_or(&a.name, || "?".to_string());
        let scope = format!("{node_scope}.{attr}");
        for t in a.t.iter().chain(&a.tensors) {
            self.visit_tensor(t, at, &scope);
        }
        for s in a.sparse_tensor.iter().chain(&a.sparse_tensors) {
            self.visit_sparse(s, at, &scope);
        }
        let many = a.graphs.len() + usize::from(a.g.is_some()) > 1;
        for (i, g) in a.g.iter().chain(&a.graphs).enumerate() {
            let sc = if many { format!("{scope}[{i}]") } else { scope.clone() };
            self.visit_graph(g, at, &sc, depth + 1);
        }
    }

    /// A subgraph decoded with its node.
    fn visit_graph(&mut self, g: &GraphProto, at: u64, scope: &str, depth: usize) {
        if !self.enter(at, scope, depth) || self.stopped {
            return;
        }
        self.out.graphs += 1;
        for (i, n) in g.node.iter().enumerate() {
            self.visit_node(n, at, scope, depth, i);
            if self.stopped {
                return;
            }
        }
        let sc = format!("{scope} initializer");
        for t in &g.initializer {
            self.visit_tensor(t, at, &sc);
        }
        let sc = format!("{scope} sparse initializer");
        for s in &g.sparse_initializer {
            self.visit_sparse(s, at, &sc);
        }
    }

    fn visit_sparse(&mut self, s: &SparseTensorProto, at: u64, scope: &str) {
        if let Some(t) = &s.values {
            self.visit_tensor(t, at, &format!("{scope} values"));
        }
        if let Some(t) = &s.indices {
            self.visit_tensor(t, at, &format!("{scope} indices"));
        }
    }

    fn visit_tensor(&mut self, t: &TensorProto, at: u64, scope: &str) {
        if self.stopped {
            return;
        }
        self.out.tensors += 1;
        if self.out.tensors > self.limits.max_tensors {
            self.limit(at, "tensors in one model", self.limits.max_tensors);
            return;
        }
        if t.data_location != DATA_LOCATION_EXTERNAL && t.external_data.is_empty() {
            return;
        }
        if self.out.external.len() >= self.limits.max_external {
            if !self.external_full {
                self.external_full = true;
                self.issue(Issue::Limit {
                    offset: at,
                    what: "external-data tensors remembered",
                    bound: self.limits.max_external as u64,
                    stopped: false,
                });
            }
            return;
        }
        let name = self.text_of(&t.name);
        let entries: Vec<(Text, Text)> = t
            .external_data
            .iter()
            .map(|e| (self.text_of(&e.key), self.text_of(&e.value)))
            .collect();
        let size = name.text.len()
            + scope.len()
            + entries
                .iter()
                .map(|(k, v)| k.text.len() + v.text.len() + 64)
                .sum::<usize>();
        if !self.retain(size, at) {
            return;
        }
        self.out.external.push(ExternalTensor {
            name,
            scope: scope.to_string(),
            offset: at,
            data_location: t.data_location,
            entries,
        });
    }

    /// A node too large for prost (a `Constant` holding its weights, a subgraph with large
    /// initializers) or one prost rejected.
    fn walk_node(&mut self, start: u64, len: u64, at: u64, scope: &str, depth: usize, index: usize) {
        let end = start + len;
        let mut pos = start;
        let mut head = NodeProto::default();
        let ctx = "NodeProto";
        while let Some(f) = self.field(&mut pos, end, ctx) {
            if matches!(f.num, 3 | 4 | 7) {
                let Some((s, l)) = self.len_of(&f, ctx) else { return };
                let Some(b) = self.slice(s, l.min(self.limits.max_string as u64)).map(<[u8]>::to_vec) else {
                    return;
                };
                match f.num {
                    3 => head.name = b,
                    4 => head.op_type = b,
                    _ => head.domain = b,
                }
            } else if f.num == 5 && self.len_of(&f, ctx).is_none() {
                return;
            }
        }
        if self.stopped || !self.count_node(at) {
            return;
        }
        let label = self.node_header(&head.name, &head.op_type, &head.domain, at, scope, index);
        let node_scope = format!("{scope} > {label}");
        let mut pos = start;
        while let Some(f) = self.field(&mut pos, end, ctx) {
            if let (5, Val::Len { start: s, len: l }) = (f.num, f.val) {
                self.sub(Kind::Attribute, s, l, f.at, &node_scope, depth, 0);
            }
            if self.stopped {
                return;
            }
        }
    }

    fn walk_attribute(&mut self, start: u64, len: u64, node_scope: &str, depth: usize) {
        let end = start + len;
        let ctx = "AttributeProto";
        let mut pos = start;
        let mut name = Vec::new();
        let mut graphs = 0usize;
        while let Some(f) = self.field(&mut pos, end, ctx) {
            match f.num {
                1 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { return };
                    let Some(b) = self.slice(s, l.min(512)).map(<[u8]>::to_vec) else {
                        return;
                    };
                    name = b;
                }
                5 | 6 | 10 | 11 | 22 | 23 => {
                    if self.len_of(&f, ctx).is_none() {
                        return;
                    }
                    graphs += usize::from(f.num == 6 || f.num == 11);
                }
                _ => {}
            }
        }
        if self.stopped {
            return;
        }
        let scope = format!("{node_scope}.{}", name_or(&name, || "?".to_string()));
        let mut pos = start;
        let mut g = 0usize;
        while let Some(f) = self.field(&mut pos, end, ctx) {
            let Val::Len { start: s, len: l } = f.val else { continue };
            match f.num {
                5 | 10 => self.sub(Kind::Tensor, s, l, f.at, &scope, depth, 0),
                22 | 23 => self.sub(Kind::Sparse, s, l, f.at, &scope, depth, 0),
                6 | 11 => {
                    let sc = if graphs > 1 {
                        format!("{scope}[{g}]")
                    } else {
                        scope.clone()
                    };
                    g += 1;
                    self.graph(s, l, sc, depth + 1);
                }
                _ => {}
            }
            if self.stopped {
                return;
            }
        }
    }

    fn walk_sparse(&mut self, start: u64, len: u64, scope: &str) {
        let end = start + len;
        let mut pos = start;
        while let Some(f) = self.field(&mut pos, end, "SparseTensorProto") {
            if f.num == 1 || f.num == 2 {
                let Some((s, l)) = self.len_of(&f, "SparseTensorProto") else {
                    return;
                };
                let sc = format!("{scope} {}", if f.num == 1 { "values" } else { "indices" });
                self.sub(Kind::Tensor, s, l, f.at, &sc, 0, 0);
            }
            if self.stopped {
                return;
            }
        }
    }

    /// A tensor too large for prost (its payload inline): keep `name`, `data_location` and
    /// `external_data`, step over the rest.
    fn walk_tensor(&mut self, start: u64, len: u64, at: u64, scope: &str) {
        let end = start + len;
        let mut pos = start;
        let mut t = TensorProto::default();
        let ctx = "TensorProto";
        while let Some(f) = self.field(&mut pos, end, ctx) {
            match f.num {
                8 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    let Some(b) = self.slice(s, l.min(self.limits.max_string as u64)).map(<[u8]>::to_vec) else {
                        break;
                    };
                    t.name = b;
                }
                14 => {
                    let Some(v) = self.varint_of(&f, ctx) else { break };
                    t.data_location = v as i32;
                }
                13 => {
                    let Some((s, l)) = self.len_of(&f, ctx) else { break };
                    match self.decode_leaf::<StringStringEntryProto>(s, l) {
                        Ok(e) => {
                            if t.external_data.len() < 64 {
                                t.external_data.push(e);
                            }
                        }
                        Err(_) => {
                            self.leaf_error(s, l, f.at, "StringStringEntryProto", &[(1, true), (2, true)]);
                            break;
                        }
                    }
                }
                _ => {}
            }
        }
        if self.stopped {
            return;
        }
        self.visit_tensor(&t, at, scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(k: &str, v: &str) -> StringStringEntryProto {
        StringStringEntryProto {
            key: k.into(),
            value: v.into(),
        }
    }

    fn ext_tensor(name: &str, location: &str) -> TensorProto {
        TensorProto {
            name: name.into(),
            data_location: DATA_LOCATION_EXTERNAL,
            external_data: vec![entry("location", location), entry("offset", "0"), entry("length", "4")],
        }
    }

    fn node(op: &str, domain: &str, attrs: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            name: format!("{op}_0").into_bytes(),
            op_type: op.into(),
            domain: domain.into(),
            attribute: attrs,
        }
    }

    fn model(graph: GraphProto) -> Vec<u8> {
        ModelProto {
            ir_version: 9,
            opset_import: vec![OperatorSetIdProto {
                domain: Vec::new(),
                version: 19,
            }],
            producer_name: b"test".to_vec(),
            graph: Some(graph),
            ..Default::default()
        }
        .encode_to_vec()
    }

    type TensorKey = (String, String, Vec<(Text, Text)>);
    type IssueTest = fn(&Issue) -> bool;

    fn parse_bytes(b: &[u8]) -> Onnx {
        parse(&b.to_vec(), &Limits::default())
    }

    fn with_subgraph(depth: usize) -> GraphProto {
        let mut g = GraphProto {
            node: vec![node("Add", "", vec![])],
            ..Default::default()
        };
        for _ in 0..depth {
            let attr = AttributeProto {
                name: b"then_branch".to_vec(),
                g: Some(g),
                ..Default::default()
            };
            g = GraphProto {
                node: vec![node("If", "", vec![attr])],
                ..Default::default()
            };
        }
        g
    }

    #[test]
    fn identifies_models_by_their_first_fields() {
        let b = model(GraphProto::default());
        assert!(identify(&b));
        for not in [&b"\x08\x00\x12"[..], b"\x09\x01\x12", b"PK\x03\x04", b""] {
            assert!(!identify(not), "{not:?}");
        }
    }

    #[test]
    fn finds_external_tensors_ops_and_opsets_everywhere() {
        let constant = node(
            "Constant",
            "",
            vec![AttributeProto {
                name: b"value".to_vec(),
                t: Some(ext_tensor("c", "../../etc/passwd")),
                ..Default::default()
            }],
        );
        let body = GraphProto {
            name: b"body".to_vec(),
            node: vec![constant, node("Evil", "com.evil.ops", vec![])],
            ..Default::default()
        };
        let graph = GraphProto {
            name: b"main".to_vec(),
            node: vec![node(
                "Loop",
                "",
                vec![AttributeProto {
                    name: b"body".to_vec(),
                    g: Some(body),
                    ..Default::default()
                }],
            )],
            initializer: vec![ext_tensor("w", "weights.bin")],
            sparse_initializer: vec![SparseTensorProto {
                values: Some(ext_tensor("sv", "/etc/shadow")),
                indices: None,
            }],
            ..Default::default()
        };
        let mut m = ModelProto::decode(&model(graph)[..]).unwrap();
        m.functions.push(FunctionProto {
            name: b"F".to_vec(),
            domain: b"local".to_vec(),
            node: vec![node("Relu", "", vec![])],
            opset_import: vec![OperatorSetIdProto {
                domain: Vec::new(),
                version: 19,
            }],
            attribute_proto: vec![],
        });
        let o = parse_bytes(&m.encode_to_vec());
        assert!(o.issues.is_empty(), "{:?}", o.issues);
        assert_eq!(o.ir_version, Some(9));
        let locs: Vec<(&str, &str)> = o
            .external
            .iter()
            .map(|t| (t.name.text.as_str(), t.get("location").map_or("", |l| l.text.as_str())))
            .collect();
        assert_eq!(
            locs,
            [("c", "../../etc/passwd"), ("w", "weights.bin"), ("sv", "/etc/shadow")]
        );
        assert_eq!(o.external[0].scope, "graph `main` > Loop_0.body > Constant_0.value");
        let ops: Vec<(&str, &str, u64)> = o
            .ops
            .iter()
            .map(|u| (u.domain.as_str(), u.op_type.as_str(), u.count))
            .collect();
        assert!(ops.contains(&("com.evil.ops", "Evil", 1)), "{ops:?}");
        assert!(ops.contains(&("", "Relu", 1)), "{ops:?}");
        assert_eq!(o.functions[0].domain, "local");
        assert_eq!(o.opsets.len(), 2);
        assert_eq!(o.graphs, 2);
    }

    /// A model whose nodes and initializers are larger than `max_message` is walked field by
    /// field with the same result as prost.
    #[test]
    fn large_messages_are_walked_not_decoded() {
        let constant = node(
            "Constant",
            "",
            vec![AttributeProto {
                name: b"value".to_vec(),
                t: Some(ext_tensor("c", "/abs")),
                ..Default::default()
            }],
        );
        let body = GraphProto {
            node: vec![constant, node("X", "com.evil.ops", vec![])],
            initializer: vec![ext_tensor("inner", "x.bin")],
            ..Default::default()
        };
        let graph = GraphProto {
            node: vec![node(
                "If",
                "",
                vec![AttributeProto {
                    name: b"then_branch".to_vec(),
                    g: Some(body),
                    ..Default::default()
                }],
            )],
            initializer: vec![ext_tensor("w", "weights.bin")],
            ..Default::default()
        };
        let bytes = model(graph);
        let small = Limits {
            max_message: 8,
            ..Limits::default()
        };
        let a = parse(&bytes, &small);
        let b = parse_bytes(&bytes);
        assert!(a.issues.is_empty(), "{:?}", a.issues);
        // Offsets differ (a walked message points at itself, a decoded one at its node).
        let key = |o: &Onnx| -> Vec<TensorKey> {
            o.external
                .iter()
                .map(|t| (t.name.text.clone(), t.scope.clone(), t.entries.clone()))
                .collect()
        };
        assert_eq!(key(&a), key(&b));
        let ops = |o: &Onnx| -> Vec<(String, String, u64)> {
            o.ops
                .iter()
                .map(|u| (u.domain.clone(), u.op_type.clone(), u.count))
                .collect()
        };
        assert_eq!(ops(&a), ops(&b));
        assert_eq!(a.external.len(), 3);
    }

    /// A raw tensor with a big payload: only its small fields are kept.
    #[test]
    fn inline_payloads_are_skipped() {
        let mut t = Vec::new();
        prost::encoding::bytes::encode(8, &b"big".to_vec(), &mut t);
        prost::encoding::bytes::encode(9, &vec![0u8; 100_000], &mut t);
        let mut g = Vec::new();
        prost::encoding::bytes::encode(5, &t, &mut g);
        let mut m = Vec::new();
        prost::encoding::int64::encode(1, &8, &mut m);
        prost::encoding::bytes::encode(7, &g, &mut m);
        let limits = Limits {
            max_message: 1024,
            ..Limits::default()
        };
        let o = parse(&m, &limits);
        assert!(o.issues.is_empty(), "{:?}", o.issues);
        assert_eq!(o.tensors, 1);
        assert!(o.external.is_empty());
    }

    #[test]
    fn malformed_inputs_are_issues() {
        let good = model(with_subgraph(1));
        let mut huge_len = vec![0x08, 0x09];
        // Field 7 (graph) with a length of 2^63.
        huge_len.extend_from_slice(&[0x3a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
        let cases: Vec<(&str, Vec<u8>, IssueTest)> = vec![
            ("truncated", good[..good.len() - 3].to_vec(), |i| {
                matches!(i, Issue::Truncated { .. } | Issue::Malformed { .. })
            }),
            (
                "length 2^63",
                huge_len,
                |i| matches!(i, Issue::Truncated { declared, .. } if *declared == 1 << 63),
            ),
            (
                "bad varint",
                vec![0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                |i| matches!(i, Issue::Malformed { .. }),
            ),
            ("cut varint", vec![0x08, 0x09, 0x3a, 0xff], |i| {
                matches!(i, Issue::Truncated { .. })
            }),
            ("group", vec![0x08, 0x09, 0x3b], |i| {
                matches!(i, Issue::Malformed { .. })
            }),
            ("wire type 7", vec![0x08, 0x09, 0x3f], |i| {
                matches!(i, Issue::Malformed { .. })
            }),
            ("field 0", vec![0x08, 0x09, 0x02, 0x00], |i| {
                matches!(i, Issue::Malformed { .. })
            }),
            ("graph as varint", vec![0x08, 0x09, 0x38, 0x01], |i| {
                matches!(i, Issue::Malformed { .. })
            }),
            ("no graph", vec![0x08, 0x09, 0x12, 0x01, b'x'], |i| {
                matches!(i, Issue::NoGraph)
            }),
            ("too deep", model(with_subgraph(40)), |i| {
                matches!(i, Issue::TooDeep { .. })
            }),
            (
                "node name as varint",
                {
                    let mut n = Vec::new();
                    prost::encoding::int64::encode(3, &5, &mut n);
                    let mut g = Vec::new();
                    prost::encoding::bytes::encode(1, &n, &mut g);
                    let mut m = vec![0x08, 0x09];
                    prost::encoding::bytes::encode(7, &g, &mut m);
                    m
                },
                |i| matches!(i, Issue::Malformed { .. }),
            ),
            (
                "tensor location entry not a message",
                {
                    let mut t = Vec::new();
                    prost::encoding::bytes::encode(13, &vec![0xff], &mut t);
                    let mut g = Vec::new();
                    prost::encoding::bytes::encode(5, &t, &mut g);
                    let mut m = vec![0x08, 0x09];
                    prost::encoding::bytes::encode(7, &g, &mut m);
                    m
                },
                |i| matches!(i, Issue::Malformed { .. } | Issue::Truncated { .. }),
            ),
        ];
        for (what, bytes, want) in cases {
            let o = parse_bytes(&bytes);
            assert!(o.issues.iter().any(want), "{what}: {:?}", o.issues);
        }
    }

    #[test]
    fn depth_within_the_limit_is_fine() {
        let o = parse_bytes(&model(with_subgraph(10)));
        assert!(o.issues.is_empty(), "{:?}", o.issues);
        assert_eq!(o.graphs, 11);
    }

    #[test]
    fn counts_and_sizes_are_capped() {
        let graph = GraphProto {
            node: (0..50).map(|i| node(&format!("Op{i}"), "d", vec![])).collect(),
            initializer: (0..50).map(|i| ext_tensor(&format!("t{i}"), "w.bin")).collect(),
            ..Default::default()
        };
        let bytes = model(graph);
        for (limits, what) in [
            (
                Limits {
                    max_nodes: 10,
                    ..Limits::default()
                },
                "nodes in one model",
            ),
            (
                Limits {
                    max_op_kinds: 10,
                    ..Limits::default()
                },
                "distinct operators remembered",
            ),
            (
                Limits {
                    max_external: 10,
                    ..Limits::default()
                },
                "external-data tensors remembered",
            ),
            (
                Limits {
                    max_retained: 100,
                    ..Limits::default()
                },
                "bytes of names and paths kept for one model",
            ),
        ] {
            let o = parse(&bytes, &limits);
            assert!(
                o.issues
                    .iter()
                    .any(|i| matches!(i, Issue::Limit { what: w, .. } if *w == what)),
                "{what}: {:?}",
                o.issues
            );
        }
    }

    #[test]
    fn non_utf8_names_do_not_break_decoding() {
        let graph = GraphProto {
            node: vec![NodeProto {
                name: vec![0xff, 0xfe],
                op_type: b"Relu".to_vec(),
                ..Default::default()
            }],
            initializer: vec![ext_tensor("w\u{0}", "a\u{0}b")],
            ..Default::default()
        };
        let o = parse_bytes(&model(graph));
        assert!(o.issues.is_empty(), "{:?}", o.issues);
        assert_eq!(o.external[0].get("location").unwrap().text, "a\u{0}b");
    }
}
