//! A symbolic pickle machine: it walks every opcode of protocols 0–5, models the stack, marks
//! and memo, and records what a real unpickler would import and call — without importing or
//! calling anything. It knows nothing of rules; `scan::model` judges what it reports.
//!
//! Values are kept symbolically and bounded: strings keep their first `STR_KEEP` bytes, byte
//! strings only their length, containers their first `CONTAINER_KEEP` items, and the memo, the
//! stack and the opcode count have limits, so hostile streams cost bounded memory and time.

use super::input::{Input, InputError};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::rc::{Rc, Weak};

const STR_KEEP: usize = 1024;
/// Symbolic data one stream may keep (string bytes, containers, memo entries, and the imports,
/// calls and other records it reports), and the records one file may keep across its streams.
/// Past it the analysis stops with a limit finding: precision must never silently degrade.
const RETAIN_LIMIT: usize = 64 << 20;
/// Estimated heap bytes of one container besides its items (the `Rc`, `RefCell` and `Vec`
/// headers, allocator overhead, and its entry in the machine's list of containers), and of
/// one item. (The memo has its own bound, `max_memo`
/// entries; what they point at is charged when it is made.)
const CONTAINER_COST: usize = 96;
const ITEM_COST: usize = 32;
/// Estimated bytes of one recorded import, call (with its symbolic result), extension code,
/// persistent id or mutation, besides its strings, including the finding a check may make of
/// it; and of one stream's own record. So one stream, and one file, keeps at most about 130,000
/// records (a large PyTorch checkpoint's `data.pkl` has two per tensor).
const RECORD_COST: usize = 512;
const STREAM_COST: usize = 256;
const CONTAINER_KEEP: usize = 256;
/// The lists of containers and call results made are pruned of freed ones from this length.
const PRUNE_FLOOR: usize = 4096;

/// A callee as a key for folding repeated calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum CallKey {
    Import(usize),
    Extension(u32),
    Opaque(String),
}

impl CallKey {
    fn of(c: &Callee) -> CallKey {
        match c {
            Callee::Import(i) => CallKey::Import(*i),
            Callee::Extension(e) => CallKey::Extension(*e),
            Callee::Opaque(d) => CallKey::Opaque(d.clone()),
        }
    }
}
/// A string or bytes operand up to this size is read whole when it may hide an encoded
/// payload (`encoded::candidate`), so the payload can be decoded and scanned.
const BLOB_KEEP: u64 = 1 << 20;
/// Such operands kept per stream.
const MAX_BLOBS: usize = 16;
/// `torch.serialization.MAGIC_NUMBER`, the first pickle of a legacy (pre-zip) PyTorch file.
const TORCH_MAGIC: i128 = 0x1950a86a20f9469cfc6c;

#[derive(Debug, Clone)]
pub struct PickleLimits {
    pub max_opcodes: u64,
    pub max_memo: usize,
    pub max_stack: usize,
    /// Nested streams (joblib object arrays) inside a stream.
    pub max_nesting: usize,
}

impl Default for PickleLimits {
    fn default() -> Self {
        PickleLimits {
            max_opcodes: 100_000_000,
            max_memo: 1_000_000,
            max_stack: 1_000_000,
            max_nesting: 4,
        }
    }
}

/// An import the stream makes (`GLOBAL`, `STACK_GLOBAL`, `INST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub offset: u64,
    pub opcode: &'static str,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Resolved { module: String, name: String },
    Unresolved { reason: String },
}

/// A call the unpickler would make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub offset: u64,
    pub opcode: &'static str,
    pub callee: Callee,
    /// The first positional argument, when it is a string (`os.system('id')`).
    pub argument: Option<String>,
    /// Later calls of the same callee by the same kind of opcode, folded into this record
    /// (a pickle of 100 000 objects of one class calls its reconstructor 100 000 times).
    pub repeats: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callee {
    /// Index into `Stream::imports`.
    Import(usize),
    /// A copyreg extension code (already reported as such).
    Extension(u32),
    /// Anything else: what it is, in words.
    Opaque(String),
}

/// `BUILD`, `SETITEM(S)` or `APPEND(S)` applied to an imported object itself, which changes
/// module state (monkey-patching) instead of building a new object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub offset: u64,
    pub opcode: &'static str,
    pub import: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersistentId {
    pub offset: u64,
    pub opcode: &'static str,
    /// One of PyTorch's conventions: `('storage', …)` tuples, and in legacy files
    /// `('module', cls, source_file, source)` which loads as the class `cls` itself.
    pub torch_convention: bool,
    /// What the id is, for the report; empty for ids in PyTorch's convention (never reported).
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// The stream cannot be read further (bad opcode, truncation, impossible operation).
    Malformed { offset: u64, message: String },
    /// A scanner limit stopped the analysis of this stream.
    Limit { offset: u64, message: String },
    /// A joblib array payload could not be sized, so the rest cannot be walked.
    JoblibArray { offset: u64, message: String },
}

/// What one pickle stream (from its first opcode to `STOP` or the point it broke) does.
#[derive(Debug, Clone, Default)]
pub struct Stream {
    pub start: u64,
    pub end: u64,
    pub protocol: Option<u8>,
    pub opcodes: u64,
    pub stopped: bool,
    pub imports: Vec<Import>,
    pub calls: Vec<Call>,
    pub extensions: Vec<(u64, u32)>,
    pub persistent_ids: Vec<PersistentId>,
    pub mutations: Vec<Mutation>,
    /// The first error that stopped the stream, or the first impossible operation the machine
    /// stepped over (stack underflow, missing memo entry) while carrying on.
    pub error: Option<StreamError>,
    /// The memo grew past its limit; later entries were dropped.
    pub memo_overflow: Option<u64>,
    pub torch_magic: bool,
    pub joblib_arrays: u32,
    /// This stream was embedded in another one (a joblib object array).
    pub nested: bool,
    /// String and bytes operands that may hide an encoded pickle: (offset of the opcode, bytes).
    pub blobs: Vec<(u64, Vec<u8>)>,
}

impl Stream {
    /// Estimated heap bytes the records of this stream keep once it is parsed.
    fn footprint(&self) -> usize {
        let imports: usize = self
            .imports
            .iter()
            .map(|i| match &i.target {
                Target::Resolved { module, name } => RECORD_COST + module.len() + name.len(),
                Target::Unresolved { reason } => RECORD_COST + reason.len(),
            })
            .sum();
        let calls: usize = self
            .calls
            .iter()
            .map(|c| {
                let opaque = match &c.callee {
                    Callee::Opaque(d) => d.len(),
                    _ => 0,
                };
                RECORD_COST + opaque + c.argument.as_ref().map_or(0, String::len)
            })
            .sum();
        let pids: usize = self
            .persistent_ids
            .iter()
            .map(|p| RECORD_COST + p.description.len())
            .sum();
        STREAM_COST + imports + calls + pids + RECORD_COST * (self.mutations.len() + self.extensions.len())
    }

    pub fn import_name(&self, idx: usize) -> Option<(&str, &str)> {
        match self.imports.get(idx).map(|i| &i.target) {
            Some(Target::Resolved { module, name }) => Some((module, name)),
            _ => None,
        }
    }

    /// Whether this looks like a real pickle rather than other bytes that happen to start
    /// with opcode-like values (a tensor payload, a text file). Used to decide whether a file
    /// (or the bytes after a `STOP`) is a pickle at all; a real pickle is reported in full.
    pub fn plausible(&self) -> bool {
        // Random bytes read as GLOBAL lines give names no module or attribute has.
        let garbage = self.imports.iter().any(|i| match &i.target {
            Target::Resolved { module, name } => !is_dotted_identifier(module) || !is_dotted_identifier(name),
            Target::Unresolved { .. } => false,
        });
        if garbage {
            return false;
        }
        let (truncated, structural) = match &self.error {
            Some(StreamError::Malformed { message, .. }) => {
                let t = message.starts_with("unexpected end");
                (t, !t)
            }
            _ => (false, false),
        };
        let imports_and_calls = !self.imports.is_empty() && (!self.calls.is_empty() || truncated);
        if self.stopped {
            return self.protocol.is_some() || self.opcodes >= 3 || imports_and_calls;
        }
        // A stream that stops on an invalid opcode is noise unless it did something real
        // first; one cut short (truncated, or a limit) after a PROTO header is a pickle.
        (self.protocol.is_some() && self.opcodes >= 3 && !structural) || imports_and_calls
    }
}

/// `a.b_c.D1`: what a module path or (dotted) attribute name of real Python code looks like.
pub fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Every stream in a file or member.
#[derive(Debug, Clone, Default)]
pub struct PickleFile {
    pub streams: Vec<Stream>,
    /// Bytes after the last stream that do not parse as a pickle: (offset, length if known).
    pub trailing: Option<(u64, Option<u64>)>,
    pub legacy_torch: bool,
}

impl PickleFile {
    pub fn is_pickle(&self) -> bool {
        self.streams.first().is_some_and(Stream::plausible)
    }
}

/// Parse every pickle stream in `reader`, one after another, until the data ends, a stream
/// breaks, or the bytes that follow are not a pickle. `total_len`, when known, sizes trailing
/// data without reading it.
pub fn parse_file<R: Read>(reader: R, total_len: Option<u64>, limits: &PickleLimits) -> PickleFile {
    // With the length known, a string or bytes length past the end (random tensor bytes read as
    // opcodes often give one) fails at once instead of reading the member to its end.
    let mut input = match total_len {
        Some(len) => Input::with_len(reader, len),
        None => Input::new(reader),
    };
    let mut file = PickleFile::default();
    let mut kept = 0usize;
    loop {
        let start = input.pos();
        let mut nested = Vec::new();
        let stream = Machine::new(limits, start, &mut nested, 0).run(&mut input);
        let first = file.streams.is_empty();
        if !first && !stream.plausible() {
            let len = total_len.map(|t| t.saturating_sub(start));
            file.trailing = Some((start, len));
            break;
        }
        let done = !stream.stopped;
        if first && stream.torch_magic {
            file.legacy_torch = true;
        }
        kept = kept.saturating_add(stream.footprint());
        kept = nested.iter().fold(kept, |k, s| k.saturating_add(s.footprint()));
        file.streams.push(stream);
        file.streams.append(&mut nested);
        if done || (first && !file.streams[0].plausible()) {
            break;
        }
        if kept > RETAIN_LIMIT {
            if let Ok(Some(_)) = input.peek() {
                let at = input.pos();
                if let Some(last) = file.streams.last_mut() {
                    last.error.get_or_insert(StreamError::Limit {
                        offset: at,
                        message: format!(
                            "more than {} MiB of imports, calls and streams kept from one file; \
                             the streams after this one were not scanned",
                            RETAIN_LIMIT >> 20
                        ),
                    });
                }
            }
            break;
        }
        // A legacy PyTorch file is five pickles (magic, protocol, sys info, objects, storage
        // keys) followed by raw storage bytes that PyTorch reads by size, never as a pickle.
        if file.legacy_torch && file.streams.iter().filter(|s| !s.nested).count() == 5 {
            break;
        }
        match input.peek() {
            Ok(Some(_)) => continue,
            _ => break,
        }
    }
    file
}

/// The memo. Picklers number entries 0, 1, 2, … in the order they write them, so those live in
/// a vector (no hashing: a checkpoint's `data.pkl` makes thousands of `BINPUT`s); any other
/// key goes to a map. Either way an entry exists only for a `PUT` the stream really made.
#[derive(Default)]
struct Memo {
    dense: Vec<V>,
    sparse: HashMap<u32, V>,
}

impl Memo {
    fn len(&self) -> usize {
        self.dense.len() + self.sparse.len()
    }

    fn contains(&self, key: u32) -> bool {
        (key as usize) < self.dense.len() || self.sparse.contains_key(&key)
    }

    fn get(&self, key: u32) -> Option<&V> {
        self.dense.get(key as usize).or_else(|| self.sparse.get(&key))
    }

    fn insert(&mut self, key: u32, v: V) {
        let i = key as usize;
        if i < self.dense.len() {
            self.dense[i] = v;
        } else if i == self.dense.len() {
            if !self.sparse.is_empty() {
                self.sparse.remove(&key);
            }
            self.dense.push(v);
        } else {
            self.sparse.insert(key, v);
        }
    }
}

#[derive(Clone, Default)]
enum V {
    None,
    Bool,
    Int(i128),
    BigInt,
    Float,
    Str(Rc<str>, bool),
    Bytes,
    Tuple(Rc<Items>),
    List(Rc<Items>),
    /// Keys and values, flattened: `k0, v0, k1, v1, …`.
    Dict(Rc<Items>),
    Set,
    Global(usize),
    Ext(u32),
    Obj(Rc<Obj>),
    Pers,
    Buffer,
    #[default]
    Unknown,
}

/// Container contents. Dropping is iterative (see `teardown`), so a million nested tuples or a
/// long chain of call results cannot overflow the stack when they are freed.
struct Items(RefCell<Vec<V>>);

struct Obj {
    callee: V,
    args: V,
    state: RefCell<Option<V>>,
}

#[cfg(test)]
thread_local! {
    /// Containers alive on this thread, so tests can check that cycles are freed.
    static LIVE_CONTAINERS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn items(v: Vec<V>) -> Rc<Items> {
    #[cfg(test)]
    LIVE_CONTAINERS.with(|n| n.set(n.get() + 1));
    Rc::new(Items(RefCell::new(v)))
}

/// Free values without recursion: a value whose last owner is us gives its children to the
/// work list before it is dropped, empty.
fn teardown(mut work: Vec<V>) {
    while let Some(v) = work.pop() {
        match v {
            V::Tuple(rc) | V::List(rc) | V::Dict(rc) => {
                if let Ok(mut inner) = Rc::try_unwrap(rc) {
                    work.append(inner.0.get_mut());
                }
            }
            V::Obj(rc) => {
                if let Ok(mut o) = Rc::try_unwrap(rc) {
                    work.push(std::mem::take(&mut o.callee));
                    work.push(std::mem::take(&mut o.args));
                    work.extend(o.state.get_mut().take());
                }
            }
            _ => {}
        }
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        #[cfg(test)]
        LIVE_CONTAINERS.with(|n| n.set(n.get() - 1));
        let children = std::mem::take(self.0.get_mut());
        if !children.is_empty() {
            teardown(children);
        }
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        let mut children = vec![std::mem::take(&mut self.callee), std::mem::take(&mut self.args)];
        children.extend(self.state.get_mut().take());
        teardown(children);
    }
}

struct Machine<'a> {
    limits: &'a PickleLimits,
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: Memo,
    s: Stream,
    nested_sink: &'a mut Vec<Stream>,
    depth: usize,
    /// Offset and byte of the opcode being executed.
    at: u64,
    op: u8,
    retained: usize,
    /// Every container and call result made, emptied when the stream ends: a pickle can build
    /// reference cycles (a list appended to itself, an object whose state holds it) that `Rc`
    /// alone would never free, and one process scans many files.
    made: Vec<(Weak<Items>, usize)>,
    objs: Vec<Weak<Obj>>,
    /// `made`/`objs` lengths at which dead entries are next dropped (and their cost refunded).
    made_prune_at: usize,
    objs_prune_at: usize,
    /// Where the record of each (callee, BUILD or not) is in `calls`, to fold repeats.
    call_index: HashMap<(CallKey, bool), usize>,
}

enum Flow {
    Continue,
    Stop,
}

type Step = Result<Flow, StreamError>;

fn malformed(offset: u64, message: impl Into<String>) -> StreamError {
    StreamError::Malformed {
        offset,
        message: message.into(),
    }
}

impl From<InputError> for StreamError {
    fn from(e: InputError) -> Self {
        match e {
            InputError::Truncated(o) => malformed(o, format!("unexpected end of data at byte {o}")),
            InputError::Io { offset, message } => malformed(offset, format!("read error: {message}")),
        }
    }
}

fn str_of(bytes: &[u8], long: bool) -> V {
    V::Str(Rc::from(String::from_utf8_lossy(bytes).as_ref()), long)
}

fn le_int(bytes: &[u8]) -> V {
    if bytes.len() > 16 {
        return V::BigInt;
    }
    if bytes.is_empty() {
        return V::Int(0);
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 16] } else { [0u8; 16] };
    buf[..bytes.len()].copy_from_slice(bytes);
    V::Int(i128::from_le_bytes(buf))
}

/// Decode the quoted repr that protocol-0 `STRING` carries (`'abc'`, `"a\x41"`).
fn unquote(line: &[u8]) -> Option<Vec<u8>> {
    let q = *line.first()?;
    if !(q == b'\'' || q == b'"') || line.len() < 2 || line[line.len() - 1] != q {
        return None;
    }
    let body = &line[1..line.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'\\' || i + 1 >= body.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let e = body[i + 1];
        i += 2;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0' => out.push(0),
            b'x' if i + 2 <= body.len() => {
                match std::str::from_utf8(&body[i..i + 2])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => out.push(v),
                    None => return None,
                }
                i += 2;
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Decode `raw-unicode-escape` as protocol-0 `UNICODE` carries it.
fn raw_unicode(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('u') | Some('U')) {
            let width = if chars.next() == Some('u') { 4 } else { 8 };
            let hex: String = chars.by_ref().take(width).collect();
            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                Some(ch) => out.push(ch),
                None => {
                    out.push('\\');
                    out.push_str(&hex);
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn text_int(line: &[u8]) -> Option<V> {
    let t = std::str::from_utf8(line).ok()?.trim();
    let t = t.strip_suffix('L').unwrap_or(t);
    match t {
        "00" => return Some(V::Bool),
        "01" => return Some(V::Bool),
        _ => {}
    }
    if t.is_empty()
        || !t
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && (b == b'-' || b == b'+')))
    {
        return None;
    }
    Some(t.parse::<i128>().map(V::Int).unwrap_or(V::BigInt))
}

fn memo_key(line: &[u8]) -> Option<u32> {
    std::str::from_utf8(line).ok()?.trim().parse().ok()
}

fn op_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "",
    }
}

impl<'a> Machine<'a> {
    fn new(limits: &'a PickleLimits, start: u64, nested_sink: &'a mut Vec<Stream>, depth: usize) -> Self {
        Machine {
            limits,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::default(),
            s: Stream {
                start,
                ..Stream::default()
            },
            nested_sink,
            depth,
            at: start,
            op: 0,
            retained: 0,
            made: Vec::new(),
            objs: Vec::new(),
            made_prune_at: PRUNE_FLOOR,
            objs_prune_at: PRUNE_FLOOR,
            call_index: HashMap::new(),
        }
    }

    fn run<R: Read>(mut self, input: &mut Input<R>) -> Stream {
        loop {
            self.at = input.pos();
            if self.s.opcodes >= self.limits.max_opcodes {
                self.s.error = Some(StreamError::Limit {
                    offset: self.at,
                    message: format!("more than {} opcodes in one pickle stream", self.limits.max_opcodes),
                });
                break;
            }
            if self.retained > RETAIN_LIMIT {
                self.s.error = Some(self.over_budget());
                break;
            }
            if self.stack.len() > self.limits.max_stack || self.marks.len() > self.limits.max_stack {
                self.s.error = Some(StreamError::Limit {
                    offset: self.at,
                    message: format!("pickle stack deeper than {} entries", self.limits.max_stack),
                });
                break;
            }
            let op = match input.u8() {
                Ok(op) => op,
                Err(e) => {
                    self.s.error = Some(e.into());
                    break;
                }
            };
            self.s.opcodes += 1;
            self.op = op;
            match self.step(op, input) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => {
                    self.s.stopped = true;
                    break;
                }
                Err(e) => {
                    self.s.error = Some(e);
                    break;
                }
            }
        }
        self.s.end = input.pos();
        self.break_cycles();
        self.s
    }

    /// Record an impossible operation but carry on, so later imports are still seen.
    fn soft_error(&mut self, message: impl Into<String>) {
        if self.s.error.is_none() {
            self.s.error = Some(malformed(self.at, message));
        }
    }

    /// Account for symbolic data kept from the stream.
    fn charge(&mut self, bytes: usize) -> Result<(), StreamError> {
        self.note(bytes);
        if self.retained > RETAIN_LIMIT {
            return Err(self.over_budget());
        }
        Ok(())
    }

    /// Account for data kept where the opcode itself cannot fail; the budget is checked before
    /// the next opcode.
    fn note(&mut self, bytes: usize) {
        self.retained = self.retained.saturating_add(bytes);
    }

    fn over_budget(&self) -> StreamError {
        StreamError::Limit {
            offset: self.at,
            message: format!(
                "more than {} MiB of strings, containers, memo entries, imports and calls kept from \
                 one stream",
                RETAIN_LIMIT >> 20
            ),
        }
    }

    /// A new container of `kept` items, accounted for and tracked.
    fn container(&mut self, kept: Vec<V>) -> Result<Rc<Items>, StreamError> {
        let cost = CONTAINER_COST + ITEM_COST * kept.len();
        self.charge(cost)?;
        let c = items(kept);
        if self.made.len() >= self.made_prune_at {
            // Containers already freed stop counting: the budget bounds what is alive, so a
            // long stream of short-lived tuples (a list of a million records keeps only its
            // first `CONTAINER_KEEP`) is not mistaken for one that exhausts memory.
            let mut refund = 0;
            self.made.retain(|(w, cost)| {
                let alive = w.strong_count() > 0;
                if !alive {
                    refund += cost;
                }
                alive
            });
            self.retained = self.retained.saturating_sub(refund);
            self.made_prune_at = (2 * self.made.len()).max(PRUNE_FLOOR);
        }
        self.made.push((Rc::downgrade(&c), cost));
        Ok(c)
    }

    /// Empty every container and call result still alive, so that cycles among them are freed.
    fn break_cycles(&mut self) {
        let mut work = Vec::new();
        for c in std::mem::take(&mut self.made).iter().filter_map(|(w, _)| w.upgrade()) {
            if let Ok(mut inner) = c.0.try_borrow_mut() {
                work.append(&mut inner);
            }
        }
        // A call's callee and arguments were made before it, so a cycle through a call result
        // passes through a container (emptied above) or through its BUILD state.
        for o in std::mem::take(&mut self.objs).iter().filter_map(Weak::upgrade) {
            if let Ok(mut state) = o.state.try_borrow_mut() {
                work.extend(state.take());
            }
        }
        teardown(work);
    }

    fn push_str(&mut self, bytes: &[u8], long: bool) -> Result<(), StreamError> {
        let kept = &bytes[..bytes.len().min(STR_KEEP)];
        self.charge(kept.len() + 16)?;
        self.push(str_of(kept, long || bytes.len() > STR_KEEP));
        Ok(())
    }

    /// Read a string or bytes operand of `n` bytes: whole when it is small enough to hide a
    /// payload worth decoding (kept if it looks like one), else only its first `keep` bytes.
    fn operand<R: Read>(&mut self, input: &mut Input<R>, n: u64, keep: usize) -> Result<Vec<u8>, StreamError> {
        if n > BLOB_KEEP || self.s.blobs.len() >= MAX_BLOBS {
            return Ok(input.read_kept(n, keep)?);
        }
        let whole = input.read_kept(n, n as usize)?;
        if crate::model::encoded::candidate(&whole) {
            self.charge(whole.len())?;
            self.s.blobs.push((self.at, whole.clone()));
        }
        Ok(whole)
    }

    fn base(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn push(&mut self, v: V) {
        self.stack.push(v);
    }

    fn pop(&mut self) -> V {
        if self.stack.len() > self.base() {
            self.stack.pop().unwrap_or(V::Unknown)
        } else {
            let name = op_name(self.op);
            self.soft_error(format!("{name} pops from an empty stack"));
            V::Unknown
        }
    }

    fn top(&mut self) -> V {
        if self.stack.len() > self.base() {
            self.stack.last().cloned().unwrap_or(V::Unknown)
        } else {
            let name = op_name(self.op);
            self.soft_error(format!("{name} on an empty stack"));
            V::Unknown
        }
    }

    fn pop_mark(&mut self) -> Vec<V> {
        match self.marks.pop() {
            Some(m) => self.stack.split_off(m.min(self.stack.len())),
            None => {
                self.soft_error("no MARK on the stack");
                std::mem::take(&mut self.stack)
            }
        }
    }

    fn memo_put(&mut self, key: u32, v: V) {
        if self.memo.len() >= self.limits.max_memo && !self.memo.contains(key) {
            self.s.memo_overflow.get_or_insert(self.at);
            return;
        }
        self.memo.insert(key, v);
    }

    fn memo_get(&mut self, key: u32) -> V {
        match self.memo.get(key) {
            Some(v) => v.clone(),
            None => {
                if self.s.memo_overflow.is_none() {
                    self.soft_error(format!("memo entry {key} read before it was written"));
                }
                V::Unknown
            }
        }
    }

    fn import(&mut self, opcode: &'static str, target: Target) -> usize {
        self.note(match &target {
            Target::Resolved { module, name } => RECORD_COST + module.len() + name.len(),
            Target::Unresolved { reason } => RECORD_COST + reason.len(),
        });
        self.s.imports.push(Import {
            offset: self.at,
            opcode,
            target,
        });
        self.s.imports.len() - 1
    }

    fn import_lines<R: Read>(&mut self, opcode: &'static str, input: &mut Input<R>) -> Result<usize, StreamError> {
        let (module, mlong) = input.line(STR_KEEP)?;
        let (name, nlong) = input.line(STR_KEEP)?;
        let target = if mlong || nlong {
            Target::Unresolved {
                reason: format!("{opcode} operand longer than {STR_KEEP} bytes"),
            }
        } else {
            let module = String::from_utf8_lossy(&module).trim_end_matches('\r').to_string();
            let name = String::from_utf8_lossy(&name).trim_end_matches('\r').to_string();
            Target::Resolved { module, name }
        };
        Ok(self.import(opcode, target))
    }

    fn describe(&self, v: &V) -> String {
        self.describe_at(v, 0)
    }

    fn describe_at(&self, v: &V, depth: usize) -> String {
        match v {
            V::None => "None".into(),
            V::Bool => "a bool".into(),
            V::Int(i) => format!("the int {i}"),
            V::BigInt => "a large int".into(),
            V::Float => "a float".into(),
            V::Str(s, _) => format!("the string {:?}", crate::finding::truncate(s, 40)),
            V::Bytes => "a bytes value".into(),
            V::Tuple(_) => "a tuple".into(),
            V::List(_) => "a list".into(),
            V::Dict(_) => "a dict".into(),
            V::Set => "a set".into(),
            V::Global(i) => match self.s.import_name(*i) {
                Some((m, n)) => format!("{m}.{n}"),
                None => "an unresolved import".into(),
            },
            V::Ext(c) => format!("extension code {c}"),
            V::Obj(_) if depth >= 3 => "the result of a call".into(),
            V::Obj(o) => format!("the result of calling {}", self.describe_at(&o.callee, depth + 1)),
            V::Pers => "a persistent-id object".into(),
            V::Buffer => "an out-of-band buffer".into(),
            V::Unknown => "an unknown value".into(),
        }
    }

    fn first_str_arg(args: &V) -> Option<String> {
        match args {
            V::Tuple(items) => match items.0.borrow().first() {
                Some(V::Str(s, long)) => Some(if *long { format!("{s}…") } else { s.to_string() }),
                _ => None,
            },
            _ => None,
        }
    }

    fn call(&mut self, opcode: &'static str, callee: V, args: V) -> V {
        let c = match &callee {
            V::Global(i) => Callee::Import(*i),
            V::Ext(code) => Callee::Extension(*code),
            other => Callee::Opaque(self.describe(other)),
        };
        let argument = Self::first_str_arg(&args);
        self.record_call(opcode, c, argument);
        let obj = Rc::new(Obj {
            callee,
            args,
            state: RefCell::new(None),
        });
        if self.objs.len() >= self.objs_prune_at {
            self.objs.retain(|w| w.strong_count() > 0);
            self.objs_prune_at = (2 * self.objs.len()).max(PRUNE_FLOOR);
        }
        self.objs.push(Rc::downgrade(&obj));
        V::Obj(obj)
    }

    /// Record a call, or fold it into the record of an earlier call of the same callee by the
    /// same kind of opcode (keeping the first string argument seen).
    fn record_call(&mut self, opcode: &'static str, callee: Callee, argument: Option<String>) {
        let key = (CallKey::of(&callee), opcode == "BUILD");
        if let Some(&i) = self.call_index.get(&key) {
            let extra = argument.as_ref().map_or(0, String::len);
            if let Some(c) = self.s.calls.get_mut(i) {
                c.repeats += 1;
                let fill = c.argument.is_none() && argument.is_some();
                if fill {
                    c.argument = argument;
                    self.note(extra);
                }
                return;
            }
        }
        let opaque = match &callee {
            Callee::Opaque(d) => d.len(),
            _ => 0,
        };
        self.note(RECORD_COST + opaque + argument.as_ref().map_or(0, String::len));
        self.call_index.insert(key, self.s.calls.len());
        self.s.calls.push(Call {
            offset: self.at,
            opcode,
            callee,
            argument,
            repeats: 0,
        });
    }

    fn mutate(&mut self, opcode: &'static str, target: &V) {
        if let V::Global(i) = target {
            self.note(RECORD_COST);
            self.s.mutations.push(Mutation {
                offset: self.at,
                opcode,
                import: *i,
            });
        }
    }

    fn keep<T>(items: Vec<T>) -> Vec<T> {
        let mut items = items;
        items.truncate(CONTAINER_KEEP);
        items
    }

    fn step<R: Read>(&mut self, op: u8, input: &mut Input<R>) -> Step {
        let at = self.at;
        match op {
            b'(' => self.marks.push(self.stack.len()),
            b'.' => {
                let v = self.pop();
                self.s.torch_magic = matches!(v, V::Int(TORCH_MAGIC));
                return Ok(Flow::Stop);
            }
            b'0' => {
                if self.stack.len() > self.base() {
                    self.stack.pop();
                } else {
                    self.pop_mark();
                }
            }
            b'1' => {
                self.pop_mark();
            }
            b'2' => {
                let v = self.top();
                self.push(v);
            }
            b'F' => {
                input.line(64)?;
                self.push(V::Float);
            }
            b'G' => {
                input.skip(8)?;
                self.push(V::Float);
            }
            b'I' | b'L' => {
                let (line, _) = input.line(64)?;
                match text_int(&line) {
                    Some(v) => self.push(v),
                    None => return Err(malformed(at, format!("{} with invalid literal", op_name(op)))),
                }
            }
            b'J' => {
                let v = i32::from_le_bytes(input.array()?);
                self.push(V::Int(v.into()));
            }
            b'K' => {
                let v = input.u8()?;
                self.push(V::Int(v.into()));
            }
            b'M' => {
                let v = u16::from_le_bytes(input.array()?);
                self.push(V::Int(v.into()));
            }
            0x8a => {
                let n = input.u8()?;
                let bytes = input.read_kept(n.into(), 17)?;
                self.push(le_int(&bytes));
            }
            0x8b => {
                let n = i32::from_le_bytes(input.array()?);
                if n < 0 {
                    return Err(malformed(at, "LONG4 with negative byte count"));
                }
                let bytes = input.read_kept(n as u64, 17)?;
                self.push(le_int(&bytes));
            }
            b'N' => self.push(V::None),
            0x88 | 0x89 => self.push(V::Bool),
            b'S' => {
                let (line, long) = input.line(STR_KEEP)?;
                let bytes = if long {
                    line
                } else {
                    unquote(&line).ok_or_else(|| malformed(at, "STRING opcode argument must be quoted"))?
                };
                self.push_str(&bytes, long)?;
            }
            b'T' => {
                let n = i32::from_le_bytes(input.array()?);
                if n < 0 {
                    return Err(malformed(at, "BINSTRING with negative byte count"));
                }
                let b = self.operand(input, n as u64, STR_KEEP)?;
                self.push_str(&b, n as u64 > STR_KEEP as u64)?;
            }
            b'U' => {
                let n = input.u8()?;
                let b = self.operand(input, n.into(), STR_KEEP)?;
                self.push_str(&b, false)?;
            }
            b'V' => {
                let (line, long) = input.line(STR_KEEP)?;
                let s = raw_unicode(&line);
                self.push_str(s.as_bytes(), long)?;
            }
            b'X' => {
                let n = u32::from_le_bytes(input.array()?) as u64;
                let b = self.operand(input, n, STR_KEEP)?;
                self.push_str(&b, n > STR_KEEP as u64)?;
            }
            0x8c => {
                let n = input.u8()?;
                let b = self.operand(input, n.into(), STR_KEEP)?;
                self.push_str(&b, false)?;
            }
            0x8d => {
                let n = u64::from_le_bytes(input.array()?);
                let b = self.operand(input, n, STR_KEEP)?;
                self.push_str(&b, n > STR_KEEP as u64)?;
            }
            b'B' => {
                let n = u32::from_le_bytes(input.array()?);
                self.operand(input, n.into(), 0)?;
                self.push(V::Bytes);
            }
            b'C' => {
                let n = input.u8()?;
                self.operand(input, n.into(), 0)?;
                self.push(V::Bytes);
            }
            0x8e | 0x96 => {
                let n = u64::from_le_bytes(input.array()?);
                self.operand(input, n, 0)?;
                self.push(V::Bytes);
            }
            0x97 => self.push(V::Buffer),
            0x98 => {}
            b')' => {
                let t = self.container(Vec::new())?;
                self.push(V::Tuple(t));
            }
            b't' => {
                let kept = Self::keep(self.pop_mark());
                let t = self.container(kept)?;
                self.push(V::Tuple(t));
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut kept = vec![V::Unknown; n];
                for slot in kept.iter_mut().rev() {
                    *slot = self.pop();
                }
                let t = self.container(kept)?;
                self.push(V::Tuple(t));
            }
            b']' => {
                let l = self.container(Vec::new())?;
                self.push(V::List(l));
            }
            b'l' => {
                let kept = Self::keep(self.pop_mark());
                let l = self.container(kept)?;
                self.push(V::List(l));
            }
            b'}' => {
                let d = self.container(Vec::new())?;
                self.push(V::Dict(d));
            }
            b'd' => {
                let mut kept = self.pop_mark();
                kept.truncate(2 * CONTAINER_KEEP);
                kept.truncate(kept.len() & !1);
                let d = self.container(kept)?;
                self.push(V::Dict(d));
            }
            0x8f => self.push(V::Set),
            0x91 => {
                self.pop_mark();
                self.push(V::Set);
            }
            0x90 => {
                self.pop_mark();
                let target = self.top();
                self.mutate("ADDITEMS", &target);
            }
            b'a' => {
                self.charge(32)?;
                let v = self.pop();
                let target = self.top();
                match &target {
                    V::List(l) if l.0.borrow().len() < CONTAINER_KEEP => l.0.borrow_mut().push(v),
                    other => self.mutate("APPEND", other),
                }
            }
            b'e' => {
                let items = self.pop_mark();
                self.charge(32 * items.len().min(CONTAINER_KEEP))?;
                let target = self.top();
                match &target {
                    V::List(l) => {
                        let mut l = l.0.borrow_mut();
                        let room = CONTAINER_KEEP.saturating_sub(l.len());
                        l.extend(items.into_iter().take(room));
                    }
                    other => self.mutate("APPENDS", other),
                }
            }
            b's' => {
                self.charge(64)?;
                let v = self.pop();
                let k = self.pop();
                let target = self.top();
                match &target {
                    V::Dict(d) if d.0.borrow().len() < 2 * CONTAINER_KEEP => d.0.borrow_mut().extend([k, v]),
                    other => self.mutate("SETITEM", other),
                }
            }
            b'u' => {
                let items = self.pop_mark();
                self.charge(32 * items.len().min(2 * CONTAINER_KEEP))?;
                let target = self.top();
                match &target {
                    V::Dict(d) => {
                        let mut d = d.0.borrow_mut();
                        let room = (2 * CONTAINER_KEEP).saturating_sub(d.len()).min(items.len() & !1);
                        d.extend(items.into_iter().take(room));
                    }
                    other => self.mutate("SETITEMS", other),
                }
            }
            b'b' => return self.build(input),
            b'c' => {
                let idx = self.import_lines("GLOBAL", input)?;
                self.push(V::Global(idx));
            }
            0x93 => {
                let name = self.pop();
                let module = self.pop();
                let target = match (&module, &name) {
                    (V::Str(m, false), V::Str(n, false)) => Target::Resolved {
                        module: m.to_string(),
                        name: n.to_string(),
                    },
                    _ => Target::Unresolved {
                        reason: format!(
                            "module operand is {}, name operand is {}",
                            self.describe(&module),
                            self.describe(&name)
                        ),
                    },
                };
                let idx = self.import("STACK_GLOBAL", target);
                self.push(V::Global(idx));
            }
            b'i' => {
                let idx = self.import_lines("INST", input)?;
                let args = self.pop_mark();
                let v = self.call("INST", V::Global(idx), V::Tuple(items(Self::keep(args))));
                self.push(v);
            }
            b'o' => {
                let mut popped = self.pop_mark();
                if popped.is_empty() {
                    self.soft_error("OBJ without a class");
                    popped.push(V::Unknown);
                }
                let rest = popped.split_off(1);
                let cls = popped.pop().unwrap_or(V::Unknown);
                let v = self.call("OBJ", cls, V::Tuple(items(Self::keep(rest))));
                self.push(v);
            }
            b'R' => {
                let args = self.pop();
                let callee = self.pop();
                let v = self.call("REDUCE", callee, args);
                self.push(v);
            }
            0x81 => {
                let args = self.pop();
                let cls = self.pop();
                let v = self.call("NEWOBJ", cls, args);
                self.push(v);
            }
            0x92 => {
                let _kwargs = self.pop();
                let args = self.pop();
                let cls = self.pop();
                let v = self.call("NEWOBJ_EX", cls, args);
                self.push(v);
            }
            b'P' => {
                let (line, _) = input.line(STR_KEEP)?;
                self.note(RECORD_COST + 64);
                self.s.persistent_ids.push(PersistentId {
                    offset: at,
                    opcode: "PERSID",
                    torch_convention: false,
                    description: format!("{:?}", crate::finding::truncate(&String::from_utf8_lossy(&line), 60)),
                });
                self.push(V::Pers);
            }
            b'Q' => {
                let pid = self.pop();
                let (torch_convention, loaded) = match &pid {
                    V::Tuple(t) => match (t.0.borrow().first(), t.0.borrow().get(1)) {
                        (Some(V::Str(s, _)), _) if &**s == "storage" => (true, V::Pers),
                        (Some(V::Str(s, _)), Some(V::Global(i))) if &**s == "module" => (true, V::Global(*i)),
                        _ => (false, V::Pers),
                    },
                    _ => (false, V::Pers),
                };
                // Only ids outside PyTorch's convention are reported, with this description; a
                // checkpoint has one storage id per tensor, so the others skip building it.
                let description = match &pid {
                    _ if torch_convention => String::new(),
                    V::Tuple(t) => {
                        let parts: Vec<String> = t.0.borrow().iter().take(3).map(|v| self.describe(v)).collect();
                        format!("a tuple of {}", parts.join(", "))
                    }
                    other => self.describe(other),
                };
                self.note(RECORD_COST + description.len());
                self.s.persistent_ids.push(PersistentId {
                    offset: at,
                    opcode: "BINPERSID",
                    torch_convention,
                    description,
                });
                self.push(loaded);
            }
            0x82 => {
                let code = u32::from(input.u8()?);
                self.ext(code);
            }
            0x83 => {
                let code = u32::from(u16::from_le_bytes(input.array()?));
                self.ext(code);
            }
            0x84 => {
                let code = i32::from_le_bytes(input.array()?);
                self.ext(code as u32);
            }
            b'p' => {
                let (line, _) = input.line(32)?;
                let key = memo_key(&line).ok_or_else(|| malformed(at, "PUT with invalid index"))?;
                let v = self.top();
                self.memo_put(key, v);
            }
            b'q' => {
                let key = u32::from(input.u8()?);
                let v = self.top();
                self.memo_put(key, v);
            }
            b'r' => {
                let key = u32::from_le_bytes(input.array()?);
                let v = self.top();
                self.memo_put(key, v);
            }
            0x94 => {
                let key = u32::try_from(self.memo.len()).unwrap_or(u32::MAX);
                let v = self.top();
                self.memo_put(key, v);
            }
            b'g' => {
                let (line, _) = input.line(32)?;
                let key = memo_key(&line).ok_or_else(|| malformed(at, "GET with invalid index"))?;
                let v = self.memo_get(key);
                self.push(v);
            }
            b'h' => {
                let key = u32::from(input.u8()?);
                let v = self.memo_get(key);
                self.push(v);
            }
            b'j' => {
                let key = u32::from_le_bytes(input.array()?);
                let v = self.memo_get(key);
                self.push(v);
            }
            0x80 => {
                let version = input.u8()?;
                if version > 5 {
                    return Err(malformed(at, format!("unsupported pickle protocol {version}")));
                }
                self.s.protocol.get_or_insert(version);
            }
            0x95 => {
                input.skip(8)?;
            }
            other => return Err(malformed(at, format!("invalid opcode 0x{other:02x}"))),
        }
        Ok(Flow::Continue)
    }

    fn ext(&mut self, code: u32) {
        self.note(RECORD_COST);
        self.s.extensions.push((self.at, code));
        self.push(V::Ext(code));
    }

    fn build<R: Read>(&mut self, input: &mut Input<R>) -> Step {
        let state = self.pop();
        let target = self.top();
        match &target {
            V::Obj(obj) => {
                *obj.state.borrow_mut() = Some(state.clone());
                if let V::Global(i) = obj.callee {
                    self.record_call("BUILD", Callee::Import(i), None);
                    if self.is_joblib_wrapper(i) {
                        return self.joblib_array(&state, input);
                    }
                }
            }
            other => self.mutate("BUILD", other),
        }
        Ok(Flow::Continue)
    }

    fn is_joblib_wrapper(&self, idx: usize) -> bool {
        matches!(self.s.import_name(idx), Some((m, "NumpyArrayWrapper")) if m.ends_with("numpy_pickle"))
    }

    /// joblib writes each NumPy array's raw bytes (or, for object arrays, a whole pickle)
    /// straight after the `BUILD` of its `NumpyArrayWrapper`; step over them exactly as
    /// `NumpyArrayWrapper.read_array` reads them.
    fn joblib_array<R: Read>(&mut self, state: &V, input: &mut Input<R>) -> Step {
        let at = self.at;
        self.s.joblib_arrays += 1;
        let no_size = |msg: String| {
            Err(StreamError::JoblibArray {
                offset: at,
                message: msg,
            })
        };
        let V::Dict(d) = state else {
            return no_size("NumpyArrayWrapper state is not a dict".into());
        };
        let get = |key: &str| {
            d.0.borrow()
                .chunks_exact(2)
                .find(|kv| matches!(&kv[0], V::Str(s, _) if &**s == key))
                .map(|kv| kv[1].clone())
        };
        let Some(dtype) = get("dtype") else {
            return no_size("NumpyArrayWrapper state has no dtype".into());
        };
        let Some(item) = dtype_item(&dtype) else {
            return no_size(format!(
                "NumpyArrayWrapper dtype {} has no known item size",
                self.describe(&dtype)
            ));
        };
        if item == DtypeItem::Object {
            if self.depth >= self.limits.max_nesting {
                return Err(StreamError::Limit {
                    offset: at,
                    message: "joblib object arrays nested too deeply".into(),
                });
            }
            let mut sink = Vec::new();
            let mut inner = Machine::new(self.limits, input.pos(), &mut sink, self.depth + 1).run(input);
            inner.nested = true;
            self.note(inner.footprint());
            self.note(sink.iter().map(Stream::footprint).sum());
            let broke = !inner.stopped;
            self.nested_sink.push(inner);
            self.nested_sink.append(&mut sink);
            if broke {
                return Err(malformed(input.pos(), "joblib object array pickle is broken"));
            }
            return Ok(Flow::Continue);
        }
        let DtypeItem::Size(itemsize) = item else {
            return Ok(Flow::Continue);
        };
        let count = match get("shape") {
            Some(V::Tuple(dims)) => dims.0.borrow().iter().try_fold(1u64, |acc, d| match d {
                V::Int(n) if *n >= 0 => u64::try_from(*n).ok().and_then(|n| acc.checked_mul(n)),
                _ => None,
            }),
            _ => None,
        };
        let Some(bytes) = count.and_then(|c| c.checked_mul(itemsize)) else {
            return no_size("NumpyArrayWrapper shape is not a tuple of sizes".into());
        };
        if matches!(get("numpy_array_alignment_bytes"), Some(V::Int(_))) {
            let pad = input.u8()?;
            input.skip(pad.into())?;
        }
        input.skip(bytes)?;
        Ok(Flow::Continue)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum DtypeItem {
    Object,
    Size(u64),
}

/// The item size of a `numpy.dtype(descr, align, copy)` object with optional `BUILD` state
/// `(version, byteorder, subdescr, names, fields, elsize, alignment, flags)`.
fn dtype_item(v: &V) -> Option<DtypeItem> {
    let V::Obj(o) = v else { return None };
    let descr = match &o.args {
        V::Tuple(t) => match t.0.borrow().first() {
            Some(V::Str(s, false)) => s.to_string(),
            _ => return None,
        },
        _ => return None,
    };
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    let kind = code.chars().next()?;
    if kind == 'O' {
        return Some(DtypeItem::Object);
    }
    let elsize = match &*o.state.borrow() {
        Some(V::Tuple(t)) => match t.0.borrow().get(5) {
            Some(V::Int(n)) if *n > 0 => u64::try_from(*n).ok(),
            _ => None,
        },
        _ => None,
    };
    if let Some(e) = elsize {
        // Structured dtypes carry their size here; whether a field is an object cannot be told
        // from the size, and such arrays are reported when their layout breaks the stream.
        return Some(DtypeItem::Size(e));
    }
    let digits: String = code.chars().skip(1).take_while(char::is_ascii_digit).collect();
    let n: u64 = digits.parse().ok()?;
    match kind {
        'b' | 'i' | 'u' | 'f' | 'c' | 'm' | 'M' | 'S' | 'V' => Some(DtypeItem::Size(n)),
        'U' => n.checked_mul(4).map(DtypeItem::Size),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
