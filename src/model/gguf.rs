//! GGUF (llama.cpp) headers: magic, version, tensor and key/value counts, every metadata
//! key/value, and the tensor-info table after them; tensor data is never read.
//!
//! Every length field is 64-bit (32-bit in version 1) and comes from the file, so each is
//! checked against the bytes the file still holds (when its length is known) and against a
//! sane cap before anything is read or skipped; values that are not kept are skipped, never
//! buffered. The result keeps the `general.*` keys and the chat templates
//! (`tokenizer.chat_template` and `tokenizer.chat_template.<name>`), which the scanner checks.

use super::input::{Input, InputError};
use std::collections::HashSet;
use std::io::Read;

pub const MAGIC: &[u8; 4] = b"GGUF";

#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest key (the GGUF spec caps keys at 65535 bytes).
    pub max_key: u64,
    /// Key/value pairs in one file (real files have tens, at most a few hundred).
    pub max_kvs: u64,
    /// Tensors in one file (the largest real models have a few thousand per file).
    pub max_tensors: u64,
    /// Elements in one array (vocabularies have up to about a million tokens).
    pub max_array: u64,
    /// Arrays of arrays nested deeper than this are refused.
    pub max_depth: usize,
    /// Bytes of a chat template kept for scanning.
    pub max_template: usize,
    /// Bytes of a `general.*` string value kept.
    pub max_general: usize,
    /// Bytes of any other string value kept to look for an encoded payload in it.
    pub max_blob: usize,
    /// Distinct key bytes remembered for duplicate detection.
    pub max_key_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_key: 65_535,
            max_kvs: 1 << 20,
            max_tensors: 1 << 20,
            max_array: 1 << 28,
            max_depth: 3,
            max_template: 4 << 20,
            max_general: 1024,
            max_blob: 1 << 20,
            max_key_memory: 16 << 20,
        }
    }
}

/// String values kept for the encoded-payload check, per file.
const MAX_BLOBS: usize = 16;

/// A metadata value type (`gguf_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    pub fn from_id(id: u32) -> Option<ValueType> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "uint8",
            I8 => "int8",
            U16 => "uint16",
            I16 => "int16",
            U32 => "uint32",
            I32 => "int32",
            F32 => "float32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "uint64",
            I64 => "int64",
            F64 => "float64",
        }
    }

    /// Size of a fixed-size value; `None` for strings and arrays.
    fn fixed(self) -> Option<u64> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }
}

/// A chat template found in the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub key: String,
    /// Offset of the template's first byte in the file.
    pub offset: u64,
    /// Its length as declared.
    pub len: u64,
    /// The kept bytes (lossy UTF-8), at most `max_template`.
    pub text: String,
}

/// What is wrong with a GGUF header. Offsets are absolute byte offsets in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// A version other than 1–3 (`swapped` when it reads as 1–3 byte-swapped: a big-endian
    /// file, which is not parsed).
    BadVersion {
        version: u32,
        swapped: bool,
    },
    /// The data ends inside a field.
    Truncated {
        offset: u64,
        what: String,
    },
    /// A length or count that runs past the end of the file or exceeds a sane cap.
    Implausible {
        offset: u64,
        what: String,
        value: u64,
        bound: u64,
        beyond_file: bool,
    },
    UnknownType {
        offset: u64,
        key: String,
        type_id: u32,
    },
    NotUtf8 {
        offset: u64,
        key: String,
    },
    DuplicateKey {
        offset: u64,
        key: String,
    },
    /// A tensor-info entry that cannot be right (too many dimensions, misaligned offset).
    BadTensor {
        offset: u64,
        name: String,
        message: String,
    },
    /// A chat-template key whose value is not a string.
    TemplateNotString {
        offset: u64,
        key: String,
        found: &'static str,
    },
    /// A chat template longer than `max_template`: only its start was scanned.
    TemplateTooLong {
        offset: u64,
        key: String,
        len: u64,
        kept: usize,
    },
    /// An I/O error while reading.
    Io {
        offset: u64,
        message: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Gguf {
    pub version: u32,
    pub tensor_count: u64,
    pub kv_count: u64,
    /// `general.*` keys and a short rendering of their values.
    pub general: Vec<(String, String)>,
    pub templates: Vec<Template>,
    /// String values that may hide an encoded pickle (`encoded::candidate`): key, offset of
    /// the string's bytes, the bytes (at most `max_blob`; at most `MAX_BLOBS` of them).
    pub blobs: Vec<(String, u64, Vec<u8>)>,
    pub alignment: Option<u64>,
    /// Byte ranges (absolute offset, length) of the data region that no tensor claims, beyond
    /// alignment padding: room for a hidden payload.
    pub unclaimed: Vec<(u64, u64)>,
    /// Offset of the tensor data, when the whole header was read.
    pub data_start: Option<u64>,
    pub issues: Vec<Issue>,
    /// Elements of every tensor whose shape was read (the parameter count), and the same by
    /// GGML tensor type id (the quantisation mix).
    pub parameters: u64,
    pub elements_by_type: std::collections::BTreeMap<u32, u64>,
}

/// The name of a GGML tensor type (`ggml_type` in ggml.h), for the ids gguf-py 0.19 knows.
pub fn ggml_type_name(type_id: u32) -> Option<&'static str> {
    Some(match type_id {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        6 => "Q5_0",
        7 => "Q5_1",
        8 => "Q8_0",
        9 => "Q8_1",
        10 => "Q2_K",
        11 => "Q3_K",
        12 => "Q4_K",
        13 => "Q5_K",
        14 => "Q6_K",
        15 => "Q8_K",
        16 => "IQ2_XXS",
        17 => "IQ2_XS",
        18 => "IQ3_XXS",
        19 => "IQ1_S",
        20 => "IQ4_NL",
        21 => "IQ3_S",
        22 => "IQ2_S",
        23 => "IQ4_XS",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        30 => "BF16",
        34 => "TQ1_0",
        35 => "TQ2_0",
        39 => "MXFP4",
        _ => return None,
    })
}

/// Stops parsing; the reason is already in `issues`.
struct Stop;

/// A tensor's byte range, for the layout check.
struct Span {
    name: String,
    /// Where its entry in the tensor table starts.
    at: u64,
    /// Relative to the start of the tensor data.
    offset: u64,
    /// None for a type whose block size is unknown to this version.
    size: Option<u64>,
}

/// Tensors kept for the layout check (real models have a few thousand).
const MAX_SPANS: usize = 1 << 17;

/// (elements per block, bytes per block) of each GGML tensor type, from gguf-py 0.19's
/// `GGML_QUANT_SIZES`. Ids missing here were removed from GGML or are newer than this table;
/// their size is not checked.
fn ggml_block(type_id: u32) -> Option<(u64, u64)> {
    Some(match type_id {
        0 => (1, 4),
        1 => (1, 2),
        2 => (32, 18),
        3 => (32, 20),
        6 => (32, 22),
        7 => (32, 24),
        8 => (32, 34),
        9 => (32, 40),
        10 => (256, 84),
        11 => (256, 110),
        12 => (256, 144),
        13 => (256, 176),
        14 => (256, 210),
        15 => (256, 292),
        16 => (256, 66),
        17 => (256, 74),
        18 => (256, 98),
        19 => (256, 50),
        20 => (32, 18),
        21 => (256, 110),
        22 => (256, 82),
        23 => (256, 136),
        24 => (1, 1),
        25 => (1, 2),
        26 => (1, 4),
        27 => (1, 8),
        28 => (1, 8),
        29 => (256, 56),
        30 => (1, 2),
        34 => (256, 54),
        35 => (256, 66),
        39 => (32, 17),
        40 => (64, 36),
        41 => (128, 18),
        _ => return None,
    })
}

struct Parser<'l, R: Read> {
    input: Input<R>,
    len: Option<u64>,
    spans: Vec<Span>,
    v1: bool,
    limits: &'l Limits,
    out: Gguf,
}

/// Parse the header of a GGUF file read from its first byte. `len` is the file length when
/// known (bounds every length field); without it, truncation is found by reading.
pub fn parse<R: Read>(reader: R, len: Option<u64>, limits: &Limits) -> Gguf {
    let mut p = Parser {
        input: Input::new(reader),
        len,
        spans: Vec::new(),
        v1: false,
        limits,
        out: Gguf::default(),
    };
    let _ = p.run();
    p.out
}

impl<R: Read> Parser<'_, R> {
    fn fail(&mut self, e: InputError, what: &str) -> Stop {
        let issue = match e {
            InputError::Truncated(offset) => Issue::Truncated {
                offset,
                what: what.to_string(),
            },
            InputError::Io { offset, message } => Issue::Io { offset, message },
        };
        self.out.issues.push(issue);
        Stop
    }

    fn u32(&mut self, what: &str) -> Result<u32, Stop> {
        match self.input.array() {
            Ok(b) => Ok(u32::from_le_bytes(b)),
            Err(e) => Err(self.fail(e, what)),
        }
    }

    fn u64(&mut self, what: &str) -> Result<u64, Stop> {
        match self.input.array() {
            Ok(b) => Ok(u64::from_le_bytes(b)),
            Err(e) => Err(self.fail(e, what)),
        }
    }

    /// A length or count field: 32-bit in version 1, 64-bit after.
    fn count(&mut self, what: &str) -> Result<u64, Stop> {
        if self.v1 {
            self.u32(what).map(u64::from)
        } else {
            self.u64(what)
        }
    }

    fn left(&self) -> Option<u64> {
        self.len.map(|l| l.saturating_sub(self.input.pos()))
    }

    /// Check that `n` items of at least `min` bytes each can be in the file and that `n` is
    /// within `cap`.
    fn bound(&mut self, offset: u64, what: &str, n: u64, min: u64, cap: u64) -> Result<(), Stop> {
        if n > cap {
            self.out.issues.push(Issue::Implausible {
                offset,
                what: what.to_string(),
                value: n,
                bound: cap,
                beyond_file: false,
            });
            return Err(Stop);
        }
        if let Some(left) = self.left() {
            if n.saturating_mul(min) > left {
                self.out.issues.push(Issue::Implausible {
                    offset,
                    what: what.to_string(),
                    value: n,
                    bound: left / min.max(1),
                    beyond_file: true,
                });
                return Err(Stop);
            }
        }
        Ok(())
    }

    fn skip(&mut self, n: u64, what: &str) -> Result<(), Stop> {
        self.input.skip(n).map_err(|e| self.fail(e, what))
    }

    /// A string: its offset, declared length and up to `keep` bytes of it.
    fn string(&mut self, what: &str, keep: usize, cap: u64) -> Result<(u64, u64, Vec<u8>), Stop> {
        let at = self.input.pos();
        let n = self.count(what)?;
        self.bound(at, &format!("{what} length"), n, 1, cap)?;
        let start = self.input.pos();
        let kept = self.input.read_kept(n, keep).map_err(|e| self.fail(e, what))?;
        Ok((start, n, kept))
    }

    fn run(&mut self) -> Result<(), Stop> {
        let magic: [u8; 4] = self.input.array().map_err(|e| self.fail(e, "magic"))?;
        if &magic != MAGIC {
            self.out.issues.push(Issue::Truncated {
                offset: 0,
                what: "magic (not GGUF)".into(),
            });
            return Err(Stop);
        }
        let version = self.u32("version")?;
        self.out.version = version;
        if !(1..=3).contains(&version) {
            let swapped = (1..=3).contains(&version.swap_bytes());
            self.out.issues.push(Issue::BadVersion { version, swapped });
            return Err(Stop);
        }
        self.v1 = version == 1;
        let at = self.input.pos();
        let tensors = self.count("tensor count")?;
        self.out.tensor_count = tensors;
        let kv_at = self.input.pos();
        let kvs = self.count("metadata key/value count")?;
        self.out.kv_count = kvs;
        // Smallest tensor info: name length + 1 byte, n_dims, one dim, type, offset.
        let min_info = if self.v1 {
            4 + 1 + 4 + 4 + 4 + 8
        } else {
            8 + 1 + 4 + 8 + 4 + 8
        };
        let min_kv = if self.v1 { 4 + 1 + 4 + 1 } else { 8 + 1 + 4 + 1 };
        self.bound(at, "tensor count", tensors, 0, self.limits.max_tensors)?;
        self.bound(kv_at, "metadata key/value count", kvs, min_kv, self.limits.max_kvs)?;
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut key_memory = 0usize;
        for _ in 0..kvs {
            let (key_at, _, raw) = self.string("key", self.limits.max_key as usize, self.limits.max_key)?;
            let key = match String::from_utf8(raw) {
                Ok(k) => k,
                Err(e) => {
                    let k = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    self.out.issues.push(Issue::NotUtf8 {
                        offset: key_at,
                        key: k.clone(),
                    });
                    k
                }
            };
            if key_memory < self.limits.max_key_memory {
                key_memory += key.len();
                if !seen.insert(key.as_bytes().to_vec()) {
                    self.out.issues.push(Issue::DuplicateKey {
                        offset: key_at,
                        key: key.clone(),
                    });
                }
            }
            let type_at = self.input.pos();
            let type_id = self.u32("value type")?;
            let Some(ty) = ValueType::from_id(type_id) else {
                self.out.issues.push(Issue::UnknownType {
                    offset: type_at,
                    key,
                    type_id,
                });
                return Err(Stop);
            };
            self.value(&key, ty)?;
        }
        if tensors > 0 {
            self.bound(at, "tensor count", tensors, min_info, self.limits.max_tensors)?;
        }
        for _ in 0..tensors {
            self.tensor_info()?;
        }
        let align = self.out.alignment.unwrap_or(32).max(1);
        let pos = self.input.pos();
        let data_start = pos.checked_next_multiple_of(align).unwrap_or(pos);
        self.out.data_start = Some(data_start);
        self.layout(data_start, align);
        Ok(())
    }

    /// Tensor byte ranges against the file: inside it, not overlapping, and no more unclaimed
    /// bytes between or after them than alignment padding explains.
    fn layout(&mut self, data_start: u64, align: u64) {
        let mut spans = std::mem::take(&mut self.spans);
        spans.sort_by_key(|t| t.offset);
        let mut end_of_prev = 0u64;
        let mut prev_name: Option<String> = None;
        for t in &spans {
            let Some(size) = t.size else { continue };
            let end = t.offset.saturating_add(size);
            if let (Some(len), Some(abs_end)) = (self.len, data_start.checked_add(end)) {
                if abs_end > len {
                    self.out.issues.push(Issue::BadTensor {
                        offset: t.at,
                        name: t.name.clone(),
                        message: format!(
                            "its {size} bytes at data offset {} run past the end of the file ({len} bytes)",
                            t.offset
                        ),
                    });
                    end_of_prev = end_of_prev.max(end);
                    continue;
                }
            }
            if t.offset < end_of_prev {
                self.out.issues.push(Issue::BadTensor {
                    offset: t.at,
                    name: t.name.clone(),
                    message: format!(
                        "its bytes overlap tensor `{}`: the same bytes load as both",
                        prev_name.as_deref().unwrap_or("?")
                    ),
                });
            } else if t.offset - end_of_prev >= align {
                self.out
                    .unclaimed
                    .push((data_start.saturating_add(end_of_prev), t.offset - end_of_prev));
            }
            if end > end_of_prev {
                end_of_prev = end;
                prev_name = Some(t.name.clone());
            }
        }
        let all_sized = spans.iter().all(|t| t.size.is_some());
        if let (Some(len), true, false) = (self.len, all_sized, spans.is_empty()) {
            let end = data_start.saturating_add(end_of_prev);
            if len > end && len - end >= align {
                self.out.unclaimed.push((end, len - end));
            }
        }
    }

    fn value(&mut self, key: &str, ty: ValueType) -> Result<(), Stop> {
        let is_template = key == "tokenizer.chat_template" || key.starts_with("tokenizer.chat_template.");
        let general = key.starts_with("general.");
        let at = self.input.pos();
        if is_template && ty != ValueType::String {
            self.out.issues.push(Issue::TemplateNotString {
                offset: at,
                key: key.to_string(),
                found: ty.name(),
            });
        }
        match ty {
            ValueType::String => {
                let keep = if is_template {
                    self.limits.max_template
                } else {
                    self.limits.max_blob.max(self.limits.max_general)
                };
                let (start, n, kept) = self.string("string value", keep, u64::MAX)?;
                if !is_template && self.out.blobs.len() < MAX_BLOBS && crate::model::encoded::candidate(&kept) {
                    self.out.blobs.push((key.to_string(), start, kept.clone()));
                }
                let text = String::from_utf8_lossy(&kept).into_owned();
                if is_template {
                    if n > kept.len() as u64 {
                        self.out.issues.push(Issue::TemplateTooLong {
                            offset: start,
                            key: key.to_string(),
                            len: n,
                            kept: kept.len(),
                        });
                    }
                    self.out.templates.push(Template {
                        key: key.to_string(),
                        offset: start,
                        len: n,
                        text,
                    });
                } else if general {
                    let shown = crate::finding::truncate(&text, self.limits.max_general);
                    let more = if n > kept.len() as u64 && shown == text {
                        "…"
                    } else {
                        ""
                    };
                    self.out.general.push((key.to_string(), format!("{shown}{more}")));
                }
            }
            ValueType::Array => self.array(key, general, 1)?,
            fixed => {
                let size = fixed.fixed().unwrap_or(8);
                let mut b = [0u8; 8];
                let slot = &mut b[..size as usize];
                self.input.exact(slot).map_err(|e| self.fail(e, "value"))?;
                let rendered = match fixed {
                    ValueType::U8 => b[0].to_string(),
                    ValueType::I8 => (b[0] as i8).to_string(),
                    ValueType::Bool => (b[0] != 0).to_string(),
                    ValueType::U16 => u16::from_le_bytes([b[0], b[1]]).to_string(),
                    ValueType::I16 => i16::from_le_bytes([b[0], b[1]]).to_string(),
                    ValueType::U32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string(),
                    ValueType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string(),
                    ValueType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string(),
                    ValueType::U64 => u64::from_le_bytes(b).to_string(),
                    ValueType::I64 => i64::from_le_bytes(b).to_string(),
                    _ => f64::from_le_bytes(b).to_string(),
                };
                if key == "general.alignment" {
                    let v = match fixed {
                        ValueType::U32 => Some(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                        ValueType::U64 => Some(u64::from_le_bytes(b)),
                        _ => None,
                    };
                    match v {
                        Some(a) if a.is_power_of_two() && a <= 1 << 20 => self.out.alignment = Some(a),
                        _ => self.out.issues.push(Issue::Implausible {
                            offset: at,
                            what: format!("general.alignment ({})", fixed.name()),
                            value: v.unwrap_or(0),
                            bound: 1 << 20,
                            beyond_file: false,
                        }),
                    }
                }
                if general {
                    self.out.general.push((key.to_string(), rendered));
                }
            }
        }
        Ok(())
    }

    fn array(&mut self, key: &str, general: bool, depth: usize) -> Result<(), Stop> {
        let at = self.input.pos();
        let elem_id = self.u32("array element type")?;
        let Some(elem) = ValueType::from_id(elem_id) else {
            self.out.issues.push(Issue::UnknownType {
                offset: at,
                key: key.to_string(),
                type_id: elem_id,
            });
            return Err(Stop);
        };
        if elem == ValueType::Array && depth >= self.limits.max_depth {
            self.out.issues.push(Issue::Implausible {
                offset: at,
                what: format!("array nesting of `{key}`"),
                value: depth as u64 + 1,
                bound: self.limits.max_depth as u64,
                beyond_file: false,
            });
            return Err(Stop);
        }
        let count_at = self.input.pos();
        let n = self.count("array length")?;
        let min = match elem {
            ValueType::String => {
                if self.v1 {
                    4
                } else {
                    8
                }
            }
            ValueType::Array => {
                if self.v1 {
                    8
                } else {
                    12
                }
            }
            fixed => fixed.fixed().unwrap_or(1),
        };
        self.bound(
            count_at,
            &format!("length of array `{key}`"),
            n,
            min,
            self.limits.max_array,
        )?;
        if general {
            self.out
                .general
                .push((key.to_string(), format!("[{n} × {}]", elem.name())));
        }
        match elem {
            ValueType::String => {
                for _ in 0..n {
                    self.string("array string", 0, u64::MAX)?;
                }
            }
            ValueType::Array => {
                for _ in 0..n {
                    self.array(key, false, depth + 1)?;
                }
            }
            fixed => self.skip(n * fixed.fixed().unwrap_or(1), "array data")?,
        }
        Ok(())
    }

    fn tensor_info(&mut self) -> Result<(), Stop> {
        let (at, _, raw) = self.string("tensor name", 256, self.limits.max_key)?;
        let name = String::from_utf8_lossy(&raw).into_owned();
        let dims_at = self.input.pos();
        let n_dims = self.u32("tensor dimension count")?;
        // GGML_MAX_DIMS is 4.
        if n_dims > 4 {
            self.out.issues.push(Issue::BadTensor {
                offset: dims_at,
                name,
                message: format!("{n_dims} dimensions (GGML allows at most 4)"),
            });
            return Err(Stop);
        }
        let mut elements: Option<u64> = Some(1);
        let mut first_dim = 1;
        for i in 0..n_dims {
            let d = self.count("tensor dimension")?;
            if i == 0 {
                first_dim = d;
            }
            elements = elements.and_then(|e| e.checked_mul(d));
        }
        let type_id = self.u32("tensor type")?;
        if let Some(n) = elements {
            self.out.parameters = self.out.parameters.saturating_add(n);
            let e = self.out.elements_by_type.entry(type_id).or_default();
            *e = e.saturating_add(n);
        }
        let off_at = self.input.pos();
        let offset = self.u64("tensor data offset")?;
        let align = self.out.alignment.unwrap_or(32);
        if offset % align != 0 {
            self.out.issues.push(Issue::BadTensor {
                offset: off_at,
                name: name.clone(),
                message: format!("data offset {offset} is not a multiple of the alignment {align}"),
            });
        }
        if let Some(len) = self.len {
            if offset > len {
                self.out.issues.push(Issue::BadTensor {
                    offset: at,
                    name,
                    message: format!("data offset {offset} is past the end of the file ({len} bytes)"),
                });
                return Ok(());
            }
        }
        let size = match (ggml_block(type_id), elements) {
            (None, _) => None,
            (Some((block, bytes)), Some(n)) if first_dim % block == 0 => (n / block).checked_mul(bytes),
            (Some((block, _)), Some(_)) => {
                self.out.issues.push(Issue::BadTensor {
                    offset: at,
                    name,
                    message: format!(
                        "its first dimension {first_dim} is not a multiple of the block size {block} of its type {type_id}"
                    ),
                });
                return Ok(());
            }
            (Some(_), None) => {
                self.out.issues.push(Issue::BadTensor {
                    offset: at,
                    name,
                    message: "its element count overflows 64 bits".to_string(),
                });
                return Ok(());
            }
        };
        if self.spans.len() < MAX_SPANS {
            self.spans.push(Span {
                name: crate::finding::truncate(&name, 64),
                at,
                offset,
                size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct W(Vec<u8>);

    impl W {
        fn new(version: u32, tensors: u64, kvs: u64) -> W {
            let mut v = b"GGUF".to_vec();
            v.extend(version.to_le_bytes());
            v.extend(tensors.to_le_bytes());
            v.extend(kvs.to_le_bytes());
            W(v)
        }
        fn s(mut self, s: &str) -> W {
            self.0.extend((s.len() as u64).to_le_bytes());
            self.0.extend(s.as_bytes());
            self
        }
        fn u32(mut self, n: u32) -> W {
            self.0.extend(n.to_le_bytes());
            self
        }
        fn u64(mut self, n: u64) -> W {
            self.0.extend(n.to_le_bytes());
            self
        }
        fn kv_str(self, k: &str, v: &str) -> W {
            self.s(k).u32(8).s(v)
        }
    }

    fn run(data: &[u8]) -> Gguf {
        parse(data, Some(data.len() as u64), &Limits::default())
    }

    #[test]
    fn reads_metadata_and_templates() {
        let w = W::new(3, 1, 5)
            .kv_str("general.architecture", "llama")
            .kv_str("general.name", "tiny")
            .s("general.alignment")
            .u32(4)
            .u32(32)
            .s("tokenizer.ggml.tokens")
            .u32(9)
            .u32(8)
            .u64(2)
            .s("a")
            .s("b")
            .kv_str("tokenizer.chat_template", "{{ messages }}")
            .s("w")
            .u32(2)
            .u64(4)
            .u64(2)
            .u32(0)
            .u64(0);
        // Alignment padding, then the tensor's 4 × 2 f32 values.
        let mut data = w.0;
        data.resize(data.len().next_multiple_of(32) + 32, 0);
        let g = run(&data);
        assert_eq!(g.issues, []);
        assert!(g.unclaimed.is_empty());
        assert_eq!(g.version, 3);
        assert_eq!(
            g.general,
            [
                ("general.architecture".to_string(), "llama".to_string()),
                ("general.name".into(), "tiny".into()),
                ("general.alignment".into(), "32".into())
            ]
        );
        assert_eq!(g.templates.len(), 1);
        assert_eq!(g.templates[0].text, "{{ messages }}");
        assert_eq!(g.alignment, Some(32));
        assert!(g.data_start.is_some());
        // One F32 tensor of 4 × 2: the parameter count and the type mix.
        assert_eq!(g.parameters, 8);
        assert_eq!(g.elements_by_type.get(&0), Some(&8));
        assert_eq!(ggml_type_name(0), Some("F32"));
        assert_eq!(ggml_type_name(4), None);
    }

    fn first_issue(data: &[u8]) -> Issue {
        run(data).issues.into_iter().next().expect("an issue")
    }

    #[test]
    fn table_of_malformed_headers() {
        type Case = (&'static str, Vec<u8>, fn(&Issue) -> bool);
        let cases: Vec<Case> = vec![
            ("version 4", W::new(4, 0, 0).0, |i| {
                matches!(
                    i,
                    Issue::BadVersion {
                        version: 4,
                        swapped: false
                    }
                )
            }),
            ("big-endian", W::new(3u32.swap_bytes(), 0, 0).0, |i| {
                matches!(i, Issue::BadVersion { swapped: true, .. })
            }),
            ("kv count 2^64-1", W::new(3, 0, u64::MAX).0, |i| {
                matches!(i, Issue::Implausible { beyond_file: false, .. })
            }),
            ("kv count beyond file", W::new(3, 0, 1000).0, |i| {
                matches!(i, Issue::Implausible { beyond_file: true, .. })
            }),
            ("tensor count 2^63", W::new(3, 1 << 63, 0).0, |i| {
                matches!(i, Issue::Implausible { .. })
            }),
            ("key length 2^64-1", W::new(3, 0, 1).u64(u64::MAX).0, |i| {
                matches!(i, Issue::Implausible { .. })
            }),
            ("key length beyond file", W::new(3, 0, 1).u64(1000).s("x").0, |i| {
                matches!(i, Issue::Implausible { beyond_file: true, .. })
            }),
            (
                "string value length",
                W::new(3, 0, 1).s("k").u32(8).u64(u64::MAX - 3).0,
                |i| matches!(i, Issue::Implausible { beyond_file: true, .. }),
            ),
            (
                "array count",
                W::new(3, 0, 1).s("k").u32(9).u32(10).u64(u64::MAX).0,
                |i| matches!(i, Issue::Implausible { .. }),
            ),
            (
                "array count × size overflows",
                W::new(3, 0, 1).s("k").u32(9).u32(12).u64(1 << 61).0,
                |i| matches!(i, Issue::Implausible { .. }),
            ),
            ("unknown type", W::new(3, 0, 1).s("k").u32(13).u64(0).0, |i| {
                matches!(i, Issue::UnknownType { type_id: 13, .. })
            }),
            ("truncated value", W::new(3, 0, 1).s("k").u32(10).u32(7).0, |i| {
                matches!(i, Issue::Truncated { .. })
            }),
            (
                "duplicate key",
                W::new(3, 0, 2)
                    .s("k")
                    .u32(0)
                    .0
                    .into_iter()
                    .chain([1])
                    .chain(W(vec![]).s("k").u32(0).0)
                    .chain([2])
                    .collect(),
                |i| matches!(i, Issue::DuplicateKey { .. }),
            ),
            (
                "template not a string",
                W::new(3, 0, 1).s("tokenizer.chat_template").u32(4).u32(1).0,
                |i| matches!(i, Issue::TemplateNotString { .. }),
            ),
            (
                "deep arrays",
                {
                    let mut w = W::new(3, 0, 1).s("k").u32(9);
                    for _ in 0..5 {
                        w = w.u32(9).u64(1);
                    }
                    w.0
                },
                |i| matches!(i, Issue::Implausible { .. }),
            ),
            (
                "five dims",
                W::new(3, 1, 0)
                    .s("t")
                    .u32(5)
                    .u64(1)
                    .u64(1)
                    .u64(1)
                    .u64(1)
                    .u64(1)
                    .u32(0)
                    .u64(0)
                    .0,
                |i| matches!(i, Issue::BadTensor { .. }),
            ),
            (
                "misaligned tensor",
                W::new(3, 1, 0).s("t").u32(1).u64(1).u32(0).u64(3).u64(0).0,
                |i| matches!(i, Issue::BadTensor { .. }),
            ),
            ("truncated magic", b"GGU".to_vec(), |i| {
                matches!(i, Issue::Truncated { .. })
            }),
        ];
        for (what, data, ok) in cases {
            let i = first_issue(&data);
            assert!(ok(&i), "{what}: {i:?}");
            // Without a known length, the same input still ends in an issue, never a panic.
            assert!(
                !parse(&data[..], None, &Limits::default()).issues.is_empty(),
                "{what} (stream)"
            );
        }
    }

    #[test]
    fn version_1_uses_32_bit_lengths() {
        let mut v = b"GGUF".to_vec();
        v.extend(1u32.to_le_bytes());
        v.extend(0u32.to_le_bytes());
        v.extend(1u32.to_le_bytes());
        v.extend(12u32.to_le_bytes());
        v.extend(b"general.name");
        v.extend(8u32.to_le_bytes());
        v.extend(2u32.to_le_bytes());
        v.extend(b"v1");
        let g = run(&v);
        assert_eq!(g.issues, []);
        assert_eq!(g.general, [("general.name".to_string(), "v1".to_string())]);
    }

    #[test]
    fn long_templates_are_kept_up_to_the_cap() {
        let limits = Limits {
            max_template: 4,
            ..Limits::default()
        };
        let w = W::new(3, 0, 1).kv_str("tokenizer.chat_template.tool_use", "{{ x }}");
        let g = parse(&w.0[..], Some(w.0.len() as u64), &limits);
        assert_eq!(g.templates[0].text, "{{ x");
        assert!(matches!(g.issues[..], [Issue::TemplateTooLong { len: 7, kept: 4, .. }]));
    }
}
