//! A symbolic pickle machine: it walks every opcode of protocols 0–5, models the stack, marks
//! and memo, and records what a real unpickler would import and call — without importing or
//! calling anything. It knows nothing of rules; `scan::model` judges what it reports.
//!
//! Values are kept symbolically and bounded: strings keep their first `STR_KEEP` bytes, byte
//! strings only their length, containers their first `CONTAINER_KEEP` items, and the memo, the
//! stack and the opcode count have limits, so hostile streams cost bounded memory and time.

use super::input::{Input, InputError};
use std::collections::HashMap;
use std::io::Read;

const STR_KEEP: usize = 1024;
/// Symbolic data one stream may keep (string bytes, containers, memo entries, and the imports,
/// calls and other records it reports), and the records one file may keep across its streams.
/// Past it the analysis stops with a limit finding: precision must never silently degrade.
const RETAIN_LIMIT: usize = 64 << 20;
/// Estimated heap bytes of one container besides its items (its slot, the `Vec` header,
/// allocator overhead, and its entry in the heap's list of used slots), and of one item. (The memo has its own bound, `max_memo`
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
/// A stream's heap is collected after at least this many containers and call results are made.
const PRUNE_FLOOR: usize = 4096;

/// Make room for `more` items in one of the machine's growing tables (memo, slots, tuple
/// pool), four times what it holds at a time rather than std's twice: the tables of a large
/// pickle are copied a third as often, and a new block's pages that are not used yet are
/// never touched (so never faulted in).
fn reserve_4x<T>(v: &mut Vec<T>, more: usize) {
    if v.capacity() - v.len() < more {
        v.reserve(more.max(3 * v.len()).max(16));
    }
}

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
    /// Found by `salvage` in bytes a loader stops before (after an invalid opcode, or in data
    /// after the last stream that is not a pickle).
    pub salvaged: bool,
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

/// Pickle streams embedded in `bytes` (which begin at byte `base` of the file), found by trying
/// each place that can start one: a `PROTO` opcode, or a `GLOBAL`/`INST` line or a
/// `SHORT_BINUNICODE` pair that names a dotted identifier. A loader that reads the file from its
/// start never reaches them, but one that seeks (or a second-stage loader given a slice) does,
/// and scanners that stop at the first broken opcode miss them: a stream is kept when it imports
/// at least one plausible global. Bounded by `SALVAGE_TRIES` machine runs over `bytes` and
/// `SALVAGE_OPCODES` opcodes in all.
/// The second value says whether a bound stopped the search before the end of `bytes`.
pub fn salvage(bytes: &[u8], base: u64, limits: &PickleLimits) -> (Vec<Stream>, bool) {
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut tries = 0usize;
    let mut budget = limits.clone();
    budget.max_opcodes = limits.max_opcodes.min(SALVAGE_OPCODES);
    while i < bytes.len() && tries < SALVAGE_TRIES && budget.max_opcodes > 0 {
        if !salvage_candidate(&bytes[i..]) {
            i += 1;
            continue;
        }
        tries += 1;
        let start = base + i as u64;
        let mut input = Input::at(&bytes[i..], start, (bytes.len() - i) as u64);
        let mut nested = Vec::new();
        let mut stream = Machine::new(&budget, start, &mut nested, 0).run(&mut input);
        let stepped = stream.opcodes + nested.iter().map(|n| n.opcodes).sum::<u64>();
        budget.max_opcodes = budget.max_opcodes.saturating_sub(stepped.max(1));
        let real = stream
            .imports
            .iter()
            .any(|imp| matches!(&imp.target, Target::Resolved { .. }))
            && stream.imports.iter().all(|imp| match &imp.target {
                Target::Resolved { module, name } => is_dotted_identifier(module) && is_dotted_identifier(name),
                Target::Unresolved { .. } => true,
            });
        if !real {
            i += 1;
            continue;
        }
        let end = usize::try_from(stream.end.saturating_sub(base)).unwrap_or(bytes.len());
        stream.salvaged = true;
        out.push(stream);
        out.append(&mut nested);
        i = end.max(i + 1);
    }
    let stopped = i < bytes.len() && (tries >= SALVAGE_TRIES || budget.max_opcodes == 0);
    (out, stopped)
}

/// Whether `b` starts like a pickle stream worth running the machine on.
fn salvage_candidate(b: &[u8]) -> bool {
    let ident = |s: &[u8]| std::str::from_utf8(s).is_ok_and(is_dotted_identifier);
    match b {
        [0x80, 2..=5, ..] => true,
        [b'c' | b'i', rest @ ..] => {
            let window = &rest[..rest.len().min(2 * 256)];
            let mut lines = window.splitn(3, |&c| c == b'\n');
            match (lines.next(), lines.next(), lines.next()) {
                (Some(m), Some(n), Some(_)) => ident(m) && ident(n),
                _ => false,
            }
        }
        [0x8c, n, rest @ ..] => {
            let n = usize::from(*n);
            n > 0 && rest.len() > n && ident(&rest[..n]) && matches!(rest[n], 0x8c | 0x94)
        }
        _ => false,
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

/// At most this many bytes after a broken stream (or after the last stream, when what follows
/// is not a pickle) are searched for embedded pickles.
pub const SALVAGE_MAX: u64 = 8 << 20;
/// At most this many places in them are tried as the start of a stream,
const SALVAGE_TRIES: usize = 512;
/// and all the tries together step at most this many opcodes (without it, bytes that repeat a
/// stream start would make the search quadratic).
const SALVAGE_OPCODES: u64 = 1 << 22;

impl PickleFile {
    /// Where bytes that a loader never reaches begin, when the file has them: after an invalid
    /// opcode that broke the last stream, or where non-pickle data follows the last stream.
    /// (A stream that is only cut short, or stopped by a limit, has nothing after it.)
    pub fn salvage_from(&self) -> Option<u64> {
        if let Some((start, _)) = self.trailing {
            return Some(start);
        }
        let last = self.streams.iter().rev().find(|s| !s.nested)?;
        match &last.error {
            Some(StreamError::Malformed { offset, message })
                if !last.stopped && !message.starts_with("unexpected end") =>
            {
                Some(offset + 1)
            }
            _ => None,
        }
    }

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
            reserve_4x(&mut self.dense, 1);
            self.dense.push(v);
        } else {
            self.sparse.insert(key, v);
        }
    }
}

/// A symbolic value. Values are plain data (`Copy`): strings, containers and call results live
/// in the stream's `Heap` and are named by index, so copying a value onto the stack or into
/// the memo allocates nothing and dropping one frees nothing.
#[derive(Clone, Copy, Default)]
enum V {
    None,
    Bool,
    Int(Int),
    BigInt,
    Float,
    Str(Text, bool),
    Bytes,
    Tuple(Cont),
    List(Cont),
    /// Keys and values, flattened: `k0, v0, k1, v1, …`.
    Dict(Cont),
    Set,
    Global(usize),
    Ext(u32),
    Obj(Obj),
    Pers,
    Buffer,
    #[default]
    Unknown,
}

/// An `i128` stored as bytes, so that a value is 24 bytes rather than the 32 an `i128`'s
/// alignment would make it (the memo and every container hold values).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Int([u8; 16]);

impl Int {
    fn get(self) -> i128 {
        i128::from_le_bytes(self.0)
    }
}

fn int(n: i128) -> V {
    V::Int(Int(n.to_le_bytes()))
}

/// A kept string: a range of `Heap::text`.
#[derive(Clone, Copy)]
struct Text {
    at: u32,
    len: u32,
}

/// A container (tuple, list, dict) in `Heap::conts`.
#[derive(Clone, Copy)]
struct Cont(u32);

/// A call result in `Heap::objs`.
#[derive(Clone, Copy)]
struct Obj(u32);

struct ContSlot {
    items: Items,
    /// What making it charged to the retention budget, refunded when it is freed.
    cost: u32,
    marked: bool,
}

/// Where a container's items are: a tuple's (which never change) in the heap's tuple pool, a
/// list's or dict's (which grow) in a vector of their own.
enum Items {
    Pool { at: u32, len: u32 },
    Own(Vec<V>),
}

struct ObjSlot {
    callee: V,
    args: V,
    state: Option<V>,
    marked: bool,
}

/// Everything one stream's values point at. Strings are appended to one buffer and kept until
/// the stream ends (they are charged to the budget and never refunded, so the buffer is as
/// bounded as the budget). Containers and call results are slots, freed by a mark-and-sweep
/// collection from the stack and the memo, so that what a stream no longer reaches stops
/// counting against the budget (a list of a million records keeps only its first items) and
/// its slot is reused. Nothing is freed recursively, and reference cycles (a list appended to
/// itself, an object whose state holds it) need no special care: what the stream no longer
/// reaches is freed like anything else, and the whole heap is a few vectors dropped when the
/// stream ends.
struct Heap {
    text: String,
    /// The items of every tuple, one after another (a checkpoint makes thousands of small
    /// tuples: one allocation for all of them instead of one each). Freed tuples leave their
    /// items behind until a collection finds that more than half the pool is such waste and
    /// moves the live tuples together.
    tuple_items: Vec<V>,
    pool_waste: usize,
    conts: Vec<ContSlot>,
    objs: Vec<ObjSlot>,
    free_conts: Vec<u32>,
    free_objs: Vec<u32>,
    /// The slots in use: a collection visits these, not every slot ever made.
    used_conts: Vec<u32>,
    used_objs: Vec<u32>,
    /// Containers and call results made since the last collection, and how many make the next
    /// one due: at least as many as were alive after the last, so a collection's work (which is
    /// proportional to what is alive) is paid for by as many allocations.
    made: usize,
    collect_at: usize,
    /// The mark phase's work list, kept between collections.
    work: Vec<V>,
}

#[cfg(test)]
thread_local! {
    /// Containers alive on this thread, so tests can check that cycles are freed.
    static LIVE_CONTAINERS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
impl Drop for Heap {
    fn drop(&mut self) {
        let live = self.used_conts.len();
        LIVE_CONTAINERS.with(|n| n.set(n.get() - live));
    }
}

/// Put `slot` in a free slot of `slots` or a new one, and list it as used.
fn place<T>(slots: &mut Vec<T>, free: &mut Vec<u32>, used: &mut Vec<u32>, slot: T) -> u32 {
    let i = match free.pop() {
        Some(i) => {
            if let Some(s) = slots.get_mut(i as usize) {
                *s = slot;
            }
            i
        }
        None => {
            reserve_4x(slots, 1);
            slots.push(slot);
            // The budget (and the opcode limit) keep the number of slots far below 2^32.
            u32::try_from(slots.len() - 1).unwrap_or(u32::MAX)
        }
    };
    reserve_4x(used, 1);
    used.push(i);
    i
}

impl Heap {
    fn new() -> Heap {
        Heap {
            text: String::new(),
            tuple_items: Vec::new(),
            pool_waste: 0,
            conts: Vec::new(),
            objs: Vec::new(),
            free_conts: Vec::new(),
            free_objs: Vec::new(),
            used_conts: Vec::new(),
            used_objs: Vec::new(),
            made: 0,
            collect_at: PRUNE_FLOOR,
            work: Vec::new(),
        }
    }

    /// Keep a string (as Python would decode it: invalid UTF-8 becomes U+FFFD).
    fn add_text(&mut self, bytes: &[u8]) -> Text {
        let at = self.text.len();
        // Validation first: its ASCII fast path is several times quicker than the lossy
        // decoder's, and nearly every string a pickle holds is valid.
        match std::str::from_utf8(bytes) {
            Ok(s) => self.text.push_str(s),
            Err(_) => self.text.push_str(&String::from_utf8_lossy(bytes)),
        }
        // The budget keeps the buffer far below 4 GiB; `text` never panics on a bad range.
        Text {
            at: u32::try_from(at).unwrap_or(u32::MAX),
            len: u32::try_from(self.text.len() - at).unwrap_or(u32::MAX),
        }
    }

    fn text(&self, t: Text) -> &str {
        let at = t.at as usize;
        self.text.get(at..at.saturating_add(t.len as usize)).unwrap_or("")
    }

    fn alloc_cont(&mut self, items: Items, cost: usize) -> Cont {
        #[cfg(test)]
        LIVE_CONTAINERS.with(|n| n.set(n.get() + 1));
        self.made += 1;
        let slot = ContSlot {
            items,
            // At most `CONTAINER_COST` plus 512 items.
            cost: u32::try_from(cost).unwrap_or(u32::MAX),
            marked: false,
        };
        Cont(place(&mut self.conts, &mut self.free_conts, &mut self.used_conts, slot))
    }

    /// A tuple of `items`, copied to the pool.
    fn alloc_tuple(&mut self, items: &[V], cost: usize) -> Cont {
        // The budget keeps the pool far below 2^32 items; `items` never panics on a bad range.
        let at = u32::try_from(self.tuple_items.len()).unwrap_or(u32::MAX);
        reserve_4x(&mut self.tuple_items, items.len());
        self.tuple_items.extend_from_slice(items);
        let len = u32::try_from(items.len()).unwrap_or(u32::MAX);
        self.alloc_cont(Items::Pool { at, len }, cost)
    }

    fn alloc_obj(&mut self, callee: V, args: V) -> Obj {
        self.made += 1;
        let slot = ObjSlot {
            callee,
            args,
            state: None,
            marked: false,
        };
        Obj(place(&mut self.objs, &mut self.free_objs, &mut self.used_objs, slot))
    }

    /// A container's items (empty for an index that is not one, which a value the stream
    /// still reaches never is).
    fn items(&self, c: Cont) -> &[V] {
        match self.conts.get(c.0 as usize).map(|s| &s.items) {
            Some(Items::Pool { at, len }) => pooled(&self.tuple_items, *at, *len),
            Some(Items::Own(items)) => items,
            None => &[],
        }
    }

    /// A list's or dict's items, to add to (tuples do not change).
    fn items_mut(&mut self, c: Cont) -> Option<&mut Vec<V>> {
        match self.conts.get_mut(c.0 as usize).map(|s| &mut s.items) {
            Some(Items::Own(items)) => Some(items),
            _ => None,
        }
    }

    fn obj(&self, o: Obj) -> Option<&ObjSlot> {
        self.objs.get(o.0 as usize)
    }

    fn obj_mut(&mut self, o: Obj) -> Option<&mut ObjSlot> {
        self.objs.get_mut(o.0 as usize)
    }

    fn collection_due(&self) -> bool {
        self.made >= self.collect_at
    }

    /// Mark everything reachable from `roots`, iteratively: a chain of a million nested tuples
    /// is no deeper for this than a flat list.
    fn mark<'r>(&mut self, roots: impl IntoIterator<Item = &'r V>) {
        let mut work = std::mem::take(&mut self.work);
        for &root in roots {
            work.push(root);
            while let Some(v) = work.pop() {
                match v {
                    V::Tuple(c) | V::List(c) | V::Dict(c) => {
                        if let Some(s) = self.conts.get_mut(c.0 as usize) {
                            if !s.marked {
                                s.marked = true;
                                work.extend_from_slice(match &s.items {
                                    Items::Pool { at, len } => pooled(&self.tuple_items, *at, *len),
                                    Items::Own(items) => items,
                                });
                            }
                        }
                    }
                    V::Obj(o) => {
                        if let Some(s) = self.objs.get_mut(o.0 as usize) {
                            if !s.marked {
                                s.marked = true;
                                work.push(s.callee);
                                work.push(s.args);
                                work.extend(s.state);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        self.work = work;
    }

    /// Free every used slot that `mark` did not reach; returns what the freed containers were
    /// charged.
    fn sweep(&mut self) -> usize {
        let mut refund = 0;
        let (conts, free, waste) = (&mut self.conts, &mut self.free_conts, &mut self.pool_waste);
        self.used_conts.retain(|&i| {
            let Some(s) = conts.get_mut(i as usize) else {
                return false;
            };
            if std::mem::take(&mut s.marked) {
                return true;
            }
            #[cfg(test)]
            LIVE_CONTAINERS.with(|n| n.set(n.get() - 1));
            refund += s.cost as usize;
            if let Items::Pool { len, .. } = s.items {
                *waste += len as usize;
            }
            s.items = Items::Own(Vec::new());
            free.push(i);
            false
        });
        if self.pool_waste > PRUNE_FLOOR && 2 * self.pool_waste > self.tuple_items.len() {
            self.compact_pool();
        }
        let (objs, free) = (&mut self.objs, &mut self.free_objs);
        self.used_objs.retain(|&i| {
            let Some(s) = objs.get_mut(i as usize) else {
                return false;
            };
            if std::mem::take(&mut s.marked) {
                return true;
            }
            (s.callee, s.args, s.state) = (V::Unknown, V::Unknown, None);
            free.push(i);
            false
        });
        self.made = 0;
        self.collect_at = (self.used_conts.len() + self.used_objs.len()).max(PRUNE_FLOOR);
        refund
    }

    /// Move the items of the live tuples together, dropping those of freed ones.
    fn compact_pool(&mut self) {
        let mut pool = Vec::with_capacity(self.tuple_items.len().saturating_sub(self.pool_waste));
        for &i in &self.used_conts {
            if let Some(ContSlot {
                items: Items::Pool { at, len },
                ..
            }) = self.conts.get_mut(i as usize)
            {
                let moved = u32::try_from(pool.len()).unwrap_or(u32::MAX);
                pool.extend_from_slice(pooled(&self.tuple_items, *at, *len));
                *at = moved;
            }
        }
        self.tuple_items = pool;
        self.pool_waste = 0;
    }
}

/// `len` items at `at` of a tuple pool (empty for a range that is not in it).
fn pooled(pool: &[V], at: u32, len: u32) -> &[V] {
    let at = at as usize;
    pool.get(at..at.saturating_add(len as usize)).unwrap_or(&[])
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
    heap: Heap,
    /// The operand being read (reused: most are a few bytes).
    scratch: Vec<u8>,
    /// Where the record of each callee is in `calls`, to fold repeats: for an import, by its
    /// index (`[call, BUILD]`); for anything else, in a map.
    import_calls: Vec<[Option<usize>; 2]>,
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

fn le_int(bytes: &[u8]) -> V {
    if bytes.len() > 16 {
        return V::BigInt;
    }
    if bytes.is_empty() {
        return int(0);
    }
    let negative = bytes[bytes.len() - 1] & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 16] } else { [0u8; 16] };
    buf[..bytes.len()].copy_from_slice(bytes);
    V::Int(Int(buf))
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
    Some(t.parse::<i128>().map(int).unwrap_or(V::BigInt))
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
            heap: Heap::new(),
            scratch: Vec::new(),
            import_calls: Vec::new(),
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

    /// A new list or dict of `kept` items, accounted for.
    fn container(&mut self, kept: Vec<V>) -> Result<Cont, StreamError> {
        let cost = CONTAINER_COST + ITEM_COST * kept.len();
        self.charge(cost)?;
        let c = self.heap.alloc_cont(Items::Own(kept), cost);
        self.collect_if_due(V::List(c));
        Ok(c)
    }

    /// A new tuple of `kept` items, accounted for.
    fn tuple(&mut self, kept: &[V]) -> Result<V, StreamError> {
        let cost = CONTAINER_COST + ITEM_COST * kept.len();
        self.charge(cost)?;
        let t = V::Tuple(self.heap.alloc_tuple(kept, cost));
        self.collect_if_due(t);
        Ok(t)
    }

    /// Collect the heap when enough was made since the last time: everything the stack, the
    /// memo and `new` (made by the current opcode, not on the stack yet) do not reach is freed,
    /// and containers freed stop counting against the budget.
    fn collect_if_due(&mut self, new: V) {
        if !self.heap.collection_due() {
            return;
        }
        let roots = std::iter::once(&new)
            .chain(&self.stack)
            .chain(&self.memo.dense)
            .chain(self.memo.sparse.values());
        self.heap.mark(roots);
        let refund = self.heap.sweep();
        self.retained = self.retained.saturating_sub(refund);
    }

    fn push_str(&mut self, bytes: &[u8], long: bool) -> Result<(), StreamError> {
        let kept = &bytes[..bytes.len().min(STR_KEEP)];
        self.charge(kept.len() + 16)?;
        let t = self.heap.add_text(kept);
        self.push(V::Str(t, long || bytes.len() > STR_KEEP));
        Ok(())
    }

    /// `push_str` of the operand in `scratch`.
    fn push_operand(&mut self, long: bool) -> Result<(), StreamError> {
        let bytes = std::mem::take(&mut self.scratch);
        let pushed = self.push_str(&bytes, long);
        self.scratch = bytes;
        pushed
    }

    /// Read a string or bytes operand of `n` bytes into `scratch`: whole when it is small enough
    /// to hide a payload worth decoding (kept if it looks like one), else only its first `keep`
    /// bytes.
    fn operand<R: Read>(&mut self, input: &mut Input<R>, n: u64, keep: usize) -> Result<(), StreamError> {
        let mut bytes = std::mem::take(&mut self.scratch);
        let whole = n <= BLOB_KEEP && self.s.blobs.len() < MAX_BLOBS;
        let keep = if whole { n as usize } else { keep };
        let read = match input.read_kept_into(n, keep, &mut bytes) {
            Ok(()) if whole && crate::model::encoded::candidate(&bytes) => self.charge(bytes.len()).map(|()| {
                self.s.blobs.push((self.at, bytes.clone()));
            }),
            Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        };
        self.scratch = bytes;
        read
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
            self.stack.last().copied().unwrap_or(V::Unknown)
        } else {
            let name = op_name(self.op);
            self.soft_error(format!("{name} on an empty stack"));
            V::Unknown
        }
    }

    fn pop_mark(&mut self) -> Vec<V> {
        let start = self.mark_start();
        self.stack.split_off(start)
    }

    /// Pop the last mark: where on the stack the items after it start (with no mark, the
    /// whole stack, as `pop_mark` takes it).
    fn mark_start(&mut self) -> usize {
        match self.marks.pop() {
            Some(m) => m.min(self.stack.len()),
            None => {
                self.soft_error("no MARK on the stack");
                0
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
            Some(v) => *v,
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
            V::Int(i) => format!("the int {}", i.get()),
            V::BigInt => "a large int".into(),
            V::Float => "a float".into(),
            V::Str(s, _) => format!("the string {:?}", crate::finding::truncate(self.heap.text(*s), 40)),
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
            V::Obj(o) => match self.heap.obj(*o) {
                Some(slot) if depth < 3 => {
                    format!("the result of calling {}", self.describe_at(&slot.callee, depth + 1))
                }
                _ => "the result of a call".into(),
            },
            V::Pers => "a persistent-id object".into(),
            V::Buffer => "an out-of-band buffer".into(),
            V::Unknown => "an unknown value".into(),
        }
    }

    fn first_str_arg(&self, args: V) -> Option<String> {
        match args {
            V::Tuple(t) => match self.heap.items(t).first() {
                Some(&V::Str(s, long)) => {
                    let s = self.heap.text(s);
                    Some(if long { format!("{s}…") } else { s.to_string() })
                }
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
        self.record_call(opcode, c, Some(args));
        let o = self.heap.alloc_obj(callee, args);
        self.collect_if_due(V::Obj(o));
        V::Obj(o)
    }

    /// Record a call, or fold it into the record of an earlier call of the same callee by the
    /// same kind of opcode (keeping the first string argument seen; `args` are its arguments).
    fn record_call(&mut self, opcode: &'static str, callee: Callee, args: Option<V>) {
        let build = opcode == "BUILD";
        let known = match &callee {
            Callee::Import(i) => self.import_calls.get(*i).and_then(|slots| slots[usize::from(build)]),
            other => self.call_index.get(&(CallKey::of(other), build)).copied(),
        };
        if let Some(i) = known {
            if self.s.calls.get(i).is_some_and(|c| c.argument.is_none()) {
                if let Some(argument) = args.and_then(|a| self.first_str_arg(a)) {
                    self.note(argument.len());
                    if let Some(c) = self.s.calls.get_mut(i) {
                        c.argument = Some(argument);
                    }
                }
            }
            if let Some(c) = self.s.calls.get_mut(i) {
                c.repeats += 1;
                return;
            }
        }
        let argument = args.and_then(|a| self.first_str_arg(a));
        let opaque = match &callee {
            Callee::Opaque(d) => d.len(),
            _ => 0,
        };
        self.note(RECORD_COST + opaque + argument.as_ref().map_or(0, String::len));
        let at = self.s.calls.len();
        match &callee {
            Callee::Import(i) => {
                if self.import_calls.len() <= *i {
                    self.import_calls.resize(*i + 1, [None; 2]);
                }
                self.import_calls[*i][usize::from(build)] = Some(at);
            }
            other => {
                self.call_index.insert((CallKey::of(other), build), at);
            }
        }
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
                self.s.torch_magic = matches!(v, V::Int(n) if n.get() == TORCH_MAGIC);
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
                self.push(int(v.into()));
            }
            b'K' => {
                let v = input.u8()?;
                self.push(int(v.into()));
            }
            b'M' => {
                let v = u16::from_le_bytes(input.array()?);
                self.push(int(v.into()));
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
                self.operand(input, n as u64, STR_KEEP)?;
                self.push_operand(n as u64 > STR_KEEP as u64)?;
            }
            b'U' => {
                let n = input.u8()?;
                self.operand(input, n.into(), STR_KEEP)?;
                self.push_operand(false)?;
            }
            b'V' => {
                let (line, long) = input.line(STR_KEEP)?;
                let s = raw_unicode(&line);
                self.push_str(s.as_bytes(), long)?;
            }
            b'X' => {
                let n = u32::from_le_bytes(input.array()?) as u64;
                self.operand(input, n, STR_KEEP)?;
                self.push_operand(n > STR_KEEP as u64)?;
            }
            0x8c => {
                let n = input.u8()?;
                self.operand(input, n.into(), STR_KEEP)?;
                self.push_operand(false)?;
            }
            0x8d => {
                let n = u64::from_le_bytes(input.array()?);
                self.operand(input, n, STR_KEEP)?;
                self.push_operand(n > STR_KEEP as u64)?;
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
                let t = self.tuple(&[])?;
                self.push(t);
            }
            b't' => {
                // Straight from the stack into the pool: what `tuple(&keep(pop_mark()))` does,
                // without the vector in between.
                let start = self.mark_start();
                let end = self.stack.len().min(start + CONTAINER_KEEP);
                let cost = CONTAINER_COST + ITEM_COST * (end - start);
                let charged = self.charge(cost);
                let t = charged.map(|()| V::Tuple(self.heap.alloc_tuple(&self.stack[start..end], cost)));
                self.stack.truncate(start);
                let t = t?;
                // Collected with the items off the stack and the tuple not on it yet, as for
                // any other new container.
                self.collect_if_due(t);
                self.push(t);
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut kept = [V::Unknown; 3];
                for slot in kept[..n].iter_mut().rev() {
                    *slot = self.pop();
                }
                let t = self.tuple(&kept[..n])?;
                self.push(t);
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
                match target {
                    V::List(l) if self.heap.items(l).len() < CONTAINER_KEEP => {
                        if let Some(items) = self.heap.items_mut(l) {
                            items.push(v);
                        }
                    }
                    other => self.mutate("APPEND", &other),
                }
            }
            b'e' => {
                let items = self.pop_mark();
                self.charge(32 * items.len().min(CONTAINER_KEEP))?;
                let target = self.top();
                match target {
                    V::List(l) => {
                        if let Some(l) = self.heap.items_mut(l) {
                            let room = CONTAINER_KEEP.saturating_sub(l.len());
                            l.extend(items.into_iter().take(room));
                        }
                    }
                    other => self.mutate("APPENDS", &other),
                }
            }
            b's' => {
                self.charge(64)?;
                let v = self.pop();
                let k = self.pop();
                let target = self.top();
                match target {
                    V::Dict(d) if self.heap.items(d).len() < 2 * CONTAINER_KEEP => {
                        if let Some(items) = self.heap.items_mut(d) {
                            items.extend([k, v]);
                        }
                    }
                    other => self.mutate("SETITEM", &other),
                }
            }
            b'u' => {
                let items = self.pop_mark();
                self.charge(32 * items.len().min(2 * CONTAINER_KEEP))?;
                let target = self.top();
                match target {
                    V::Dict(d) => {
                        if let Some(d) = self.heap.items_mut(d) {
                            let room = (2 * CONTAINER_KEEP).saturating_sub(d.len()).min(items.len() & !1);
                            d.extend(items.into_iter().take(room));
                        }
                    }
                    other => self.mutate("SETITEMS", &other),
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
                let target = match (module, name) {
                    (V::Str(m, false), V::Str(n, false)) => Target::Resolved {
                        module: self.heap.text(m).to_string(),
                        name: self.heap.text(n).to_string(),
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
                // Arguments of INST and OBJ are not charged (they are charged as the stack).
                let args = self.heap.alloc_tuple(&Self::keep(args), 0);
                let v = self.call("INST", V::Global(idx), V::Tuple(args));
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
                let args = self.heap.alloc_tuple(&Self::keep(rest), 0);
                let v = self.call("OBJ", cls, V::Tuple(args));
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
                let (torch_convention, loaded) = match pid {
                    V::Tuple(t) => match (self.heap.items(t).first(), self.heap.items(t).get(1)) {
                        (Some(&V::Str(s, _)), _) if self.heap.text(s) == "storage" => (true, V::Pers),
                        (Some(&V::Str(s, _)), Some(&V::Global(i))) if self.heap.text(s) == "module" => {
                            (true, V::Global(i))
                        }
                        _ => (false, V::Pers),
                    },
                    _ => (false, V::Pers),
                };
                // Only ids outside PyTorch's convention are reported, with this description; a
                // checkpoint has one storage id per tensor, so the others skip building it.
                let description = match &pid {
                    _ if torch_convention => String::new(),
                    V::Tuple(t) => {
                        let parts: Vec<String> = self.heap.items(*t).iter().take(3).map(|v| self.describe(v)).collect();
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
        match target {
            V::Obj(obj) => {
                let callee = match self.heap.obj_mut(obj) {
                    Some(slot) => {
                        slot.state = Some(state);
                        slot.callee
                    }
                    None => V::Unknown,
                };
                if let V::Global(i) = callee {
                    self.record_call("BUILD", Callee::Import(i), None);
                    if self.is_joblib_wrapper(i) {
                        return self.joblib_array(state, input);
                    }
                }
            }
            other => self.mutate("BUILD", &other),
        }
        Ok(Flow::Continue)
    }

    fn is_joblib_wrapper(&self, idx: usize) -> bool {
        matches!(self.s.import_name(idx), Some((m, "NumpyArrayWrapper")) if m.ends_with("numpy_pickle"))
    }

    /// joblib writes each NumPy array's raw bytes (or, for object arrays, a whole pickle)
    /// straight after the `BUILD` of its `NumpyArrayWrapper`; step over them exactly as
    /// `NumpyArrayWrapper.read_array` reads them.
    fn joblib_array<R: Read>(&mut self, state: V, input: &mut Input<R>) -> Step {
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
        let get = |heap: &Heap, key: &str| {
            heap.items(d)
                .chunks_exact(2)
                .find(|kv| matches!(kv[0], V::Str(s, _) if heap.text(s) == key))
                .map(|kv| kv[1])
        };
        let Some(dtype) = get(&self.heap, "dtype") else {
            return no_size("NumpyArrayWrapper state has no dtype".into());
        };
        let Some(item) = dtype_item(&self.heap, dtype) else {
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
        let count = match get(&self.heap, "shape") {
            Some(V::Tuple(dims)) => self.heap.items(dims).iter().try_fold(1u64, |acc, d| match d {
                V::Int(n) if n.get() >= 0 => u64::try_from(n.get()).ok().and_then(|n| acc.checked_mul(n)),
                _ => None,
            }),
            _ => None,
        };
        let Some(bytes) = count.and_then(|c| c.checked_mul(itemsize)) else {
            return no_size("NumpyArrayWrapper shape is not a tuple of sizes".into());
        };
        if matches!(get(&self.heap, "numpy_array_alignment_bytes"), Some(V::Int(_))) {
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
fn dtype_item(heap: &Heap, v: V) -> Option<DtypeItem> {
    let V::Obj(o) = v else { return None };
    let o = heap.obj(o)?;
    let descr = match o.args {
        V::Tuple(t) => match heap.items(t).first() {
            Some(&V::Str(s, false)) => heap.text(s).to_string(),
            _ => return None,
        },
        _ => return None,
    };
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    let kind = code.chars().next()?;
    if kind == 'O' {
        return Some(DtypeItem::Object);
    }
    let elsize = match o.state {
        Some(V::Tuple(t)) => match heap.items(t).get(5) {
            Some(V::Int(n)) if n.get() > 0 => u64::try_from(n.get()).ok(),
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
