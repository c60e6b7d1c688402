//! `scan-model`: identify each file by content, walk containers, and judge every pickle found
//! against the compiled rules. Parsing lives in `model/`; this module turns what the parsers
//! report into findings.

use super::FileOutcome;
use crate::finding::{Finding, Location};
use crate::model::pickle::{self, Callee, PickleFile, PickleLimits, StreamError, Target as ImportTarget};
use crate::model::source::{materialize, Budget, Crc, FileSource, Metered, Source, SourceReader, Window};
use crate::model::zip::{self, Issue, ZipLimits};
use crate::model::{gguf, jinja, safetensors};
use crate::model::{input::Input, numpy, sniff, Magic};
use crate::report::{Artifact, Verdict};
use crate::rules::pickle::Judgement;
use crate::rules::{Rule, RuleSet};
use crate::walk::Target;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::rc::Rc;

/// Every bound `scan-model` puts on hostile input.
#[derive(Debug, Clone)]
pub struct ModelLimits {
    pub pickle: PickleLimits,
    pub zip: ZipLimits,
    pub safetensors: safetensors::Limits,
    pub gguf: gguf::Limits,
    /// Archives inside archives (a zip in a zip is depth 2).
    pub max_depth: usize,
    /// Archive members visited for one top-level file, across all nesting levels (overlapping
    /// members that contain the archive again would otherwise multiply at every level).
    pub max_total_members: usize,
    /// Bytes inflated from one top-level file, across all its members.
    pub max_inflated: u64,
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// Nested archives inflated from compressed members stay in memory up to this size, then
    /// spill to a temporary file.
    pub spill_at: u64,
}

impl Default for ModelLimits {
    fn default() -> Self {
        ModelLimits {
            pickle: PickleLimits::default(),
            zip: ZipLimits::default(),
            safetensors: safetensors::Limits::default(),
            gguf: gguf::Limits::default(),
            max_depth: 5,
            max_total_members: 200_000,
            max_inflated: 4 << 30,
            max_ratio: 1000,
            ratio_floor: 16 << 20,
            spill_at: 32 << 20,
        }
    }
}

/// What a file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    Pickle,
    PytorchZip,
    PytorchLegacy,
    Joblib,
    Numpy,
    NumpyZip,
    Safetensors,
    Gguf,
    Zip,
    Gzip,
    Zlib,
    Bzip2,
    Xz,
    Lzma,
    Lz4,
    NotAModel,
}

impl ModelFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFormat::Pickle => "pickle",
            ModelFormat::PytorchZip => "pytorch-zip",
            ModelFormat::PytorchLegacy => "pytorch-legacy",
            ModelFormat::Joblib => "joblib",
            ModelFormat::Numpy => "numpy",
            ModelFormat::NumpyZip => "numpy-npz",
            ModelFormat::Safetensors => "safetensors",
            ModelFormat::Gguf => "gguf",
            ModelFormat::Zip => "zip",
            ModelFormat::Gzip => "gzip",
            ModelFormat::Zlib => "zlib",
            ModelFormat::Bzip2 => "bzip2",
            ModelFormat::Xz => "xz",
            ModelFormat::Lzma => "lzma",
            ModelFormat::Lz4 => "lz4",
            ModelFormat::NotAModel => "not-a-model",
        }
    }
}

pub struct ModelScanner<'a> {
    pub rules: &'a RuleSet,
    pub limits: ModelLimits,
    pub hash: bool,
}

impl ModelScanner<'_> {
    pub fn scan(&self, t: &Target) -> FileOutcome {
        let path = t.display.as_str();
        let opened = std::fs::File::open(&t.path).and_then(FileSource::new);
        let src = match opened {
            Ok(s) => s,
            Err(e) => return unreadable(path, &e),
        };
        let mut cx = Cx {
            limits: &self.limits,
            rules: self.rules,
            path,
            findings: Vec::new(),
            budget: Budget::new(self.limits.max_inflated, self.limits.max_ratio, self.limits.ratio_floor),
            members_left: self.limits.max_total_members,
        };
        let format = cx.random(&src, &[], 0);
        cx.disguised(path, format, &[]);
        if let Some(e) = cx.budget.tripped() {
            cx.findings.push(
                Finding::new(
                    Rule::ResourceLimit,
                    path,
                    Location::default(),
                    format!("decompression stopped: {e}"),
                )
                .key("inflate"),
            );
        }
        let mut findings = cx.findings;
        let sha256 = if self.hash {
            match sha256_file(&src) {
                Ok(h) => Some(h),
                Err(e) => {
                    findings.push(
                        Finding::new(
                            Rule::UnreadableFile,
                            path,
                            Location::default(),
                            format!("cannot read for hashing: {e}"),
                        )
                        .key("hash"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let verdict = Verdict::from_findings(&findings, format != ModelFormat::NotAModel, false);
        FileOutcome {
            artifact: Artifact {
                path: path.to_string(),
                format: format.as_str().to_string(),
                size: src.len(),
                verdict,
                sha256,
            },
            findings,
        }
    }
}

fn unreadable(path: &str, e: &std::io::Error) -> FileOutcome {
    let findings = vec![Finding::new(
        Rule::UnreadableFile,
        path,
        Location::default(),
        format!("cannot read: {e}"),
    )
    .key("open")];
    FileOutcome {
        artifact: Artifact {
            path: path.to_string(),
            format: "unreadable".into(),
            size: 0,
            verdict: Verdict::Error,
            sha256: None,
        },
        findings,
    }
}

fn sha256_file(src: &dyn Source) -> std::io::Result<String> {
    let mut h = Sha256::new();
    std::io::copy(&mut SourceReader::new(src, 0, src.len()), &mut h)?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Memory the xz/lzma decoders may use (their dictionary), in KiB.
const LZMA_MEM_LIMIT_KIB: u32 = 256 * 1024;

/// A reader that fails with the error a decoder's constructor returned.
struct Failing(Option<std::io::Error>);

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(self.0.take().unwrap_or_else(|| std::io::Error::other("decoder failed")))
    }
}

/// Read a stream to its end, returning how many bytes it gave and the error that stopped it.
fn drain(r: &mut dyn Read) -> (u64, Option<std::io::Error>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (total, None),
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (total, Some(e)),
        }
    }
}

/// A way to (re)open a stream from its start.
type Opener<'s> = dyn Fn() -> Box<dyn Read + 's> + 's;

/// The per-file scanning context.
struct Cx<'a> {
    limits: &'a ModelLimits,
    rules: &'a RuleSet,
    path: &'a str,
    findings: Vec<Finding>,
    budget: Rc<Budget>,
    members_left: usize,
}

fn chain(members: &[String], next: impl Into<String>) -> Vec<String> {
    let mut v = members.to_vec();
    v.push(next.into());
    v
}

impl Cx<'_> {
    fn push(
        &mut self,
        rule: Rule,
        members: &[String],
        offset: Option<u64>,
        message: String,
        key: impl Into<String>,
    ) -> &mut Finding {
        let mut loc = Location::in_members(members);
        loc.byte_offset = offset;
        self.findings.push(Finding::new(rule, self.path, loc, message).key(key));
        let last = self.findings.len() - 1;
        &mut self.findings[last]
    }

    fn head(read: &mut dyn Read) -> Vec<u8> {
        let mut head = Vec::with_capacity(16);
        let _ = read.take(16).read_to_end(&mut head);
        head
    }

    /// A blob with random access: a file, or a stored archive member.
    fn random(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        self.random_checked(src, members, depth, None)
    }

    fn random_checked(&mut self, src: &dyn Source, members: &[String], depth: usize, crc: Option<u32>) -> ModelFormat {
        let mut head = [0u8; 64];
        let n = match src.read_full_at(0, &mut head) {
            Ok(n) => n,
            Err(e) => {
                self.push(Rule::UnreadableFile, members, None, format!("cannot read: {e}"), "read");
                return ModelFormat::NotAModel;
            }
        };
        let len = src.len();
        let open = || -> Box<dyn Read + '_> { Box::new(SourceReader::new(src, 0, len)) };
        let magic = sniff(&head[..n]);
        // Before the other magics: a safetensors file starts with its header length, whose low
        // bytes can look like a pickle opcode or a compression magic. Only GGUF's magic reads as
        // a length that a large enough file could hold.
        let st = safetensors::identify(&head[..n], len);
        if magic != Magic::Gguf && st == Some(safetensors::Identity::Sure) {
            return self.safetensors(src, members, depth);
        }
        match magic {
            Magic::Zip => self.zip(src, members, depth).unwrap_or(ModelFormat::NotAModel),
            Magic::Npy => self.npy(open(), members),
            Magic::Gguf => self.gguf(open(), Some(len), members),
            m @ (Magic::Gzip | Magic::Zlib | Magic::Bzip2 | Magic::Xz | Magic::Lzma | Magic::Lz4) => {
                self.compressed(m, &open, len, members, depth)
            }
            Magic::Other if st.is_some() => self.safetensors(src, members, depth),
            // A member that cannot start a pickle is data (a tensor payload): nothing to parse.
            Magic::Other if !members.is_empty() => ModelFormat::NotAModel,
            Magic::PickleLike | Magic::Other => {
                let (format, trailing) = self.pickle(&open, Some(len), members, crc);
                if let Some(format) = format {
                    // A zip behind the pickle: torch.load reads the pickle, zip tools the rest.
                    if let Some(start) = trailing {
                        if let Some(z) = self.polyglot(src, members, depth, start) {
                            return if format == ModelFormat::Pickle { z } else { format };
                        }
                        self.trailing(members, start, len);
                    }
                    return format;
                }
                // Not a pickle: maybe a zip with something in front of it (a self-extractor).
                if members.is_empty() && zip::find_eocd(src).is_some() {
                    if let Some(f) = self.zip(src, members, depth) {
                        return f;
                    }
                }
                if st.is_some() {
                    return self.safetensors(src, members, depth);
                }
                ModelFormat::NotAModel
            }
        }
    }

    /// A file (or archive member) named as a format that cannot run code, holding one that can.
    fn disguised(&mut self, name: &str, format: ModelFormat, members: &[String]) {
        let lower = name.to_ascii_lowercase();
        let claimed = [
            (".safetensors", "safetensors"),
            (".gguf", "GGUF"),
            (".onnx", "ONNX"),
            (".npy", "NumPy .npy"),
            (".h5", "HDF5"),
            (".hdf5", "HDF5"),
        ]
        .iter()
        .find(|(ext, _)| lower.ends_with(ext));
        let Some((_, claim)) = claimed else { return };
        let content = match format {
            ModelFormat::Pickle | ModelFormat::Joblib => "a pickle",
            ModelFormat::PytorchLegacy => "a pickle (a legacy PyTorch checkpoint)",
            ModelFormat::PytorchZip => "a zip archive (a PyTorch checkpoint holding pickles)",
            ModelFormat::Zip | ModelFormat::NumpyZip => "a zip archive",
            _ => return,
        };
        let shown = name.rsplit('/').next().unwrap_or(name);
        self.push(
            Rule::FormatDisguised,
            members,
            Some(0),
            format!(
                "`{shown}` is named as {claim}, a format that cannot run code when loaded, but its content is {content}"
            ),
            "disguised",
        );
    }

    /// A safetensors file: only the length field and the JSON header are read.
    fn safetensors(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        use safetensors::Issue as S;
        let h = match safetensors::parse(src, &self.limits.safetensors) {
            Ok(h) => h,
            Err(e) => {
                self.push(Rule::UnreadableFile, members, None, format!("cannot read: {e}"), "read");
                return ModelFormat::Safetensors;
            }
        };
        let start = h.data_start;
        let listed = h.issues.iter().map(|i| (i, None));
        let more = h.more.iter().map(|(kind, (i, n))| (i, Some((*kind, *n))));
        for (issue, more) in listed.chain(more).collect::<Vec<_>>() {
            let (rule, offset, message, key, length) = match issue {
                S::LengthBeyondFile { declared, available } => (
                    Rule::SafetensorsHeaderInvalid,
                    0,
                    format!("the header length field says {declared} bytes, but only {available} bytes follow it"),
                    "length".to_string(),
                    Some(8),
                ),
                S::LengthOverCap { declared, cap } => (
                    Rule::SafetensorsHeaderInvalid,
                    0,
                    format!("the header length field says {declared} bytes, over the {cap}-byte cap of the reference reader"),
                    "length-cap".to_string(),
                    Some(8),
                ),
                S::NotUtf8 { offset } => (
                    Rule::SafetensorsHeaderInvalid,
                    *offset,
                    format!("the header is not valid UTF-8 (at byte {offset})"),
                    "utf8".to_string(),
                    None,
                ),
                S::Invalid { offset, message } => (
                    Rule::SafetensorsHeaderInvalid,
                    *offset,
                    format!("the header is not a valid safetensors JSON header: {message}"),
                    "json".to_string(),
                    None,
                ),
                S::NotObject { found } => (
                    Rule::SafetensorsHeaderInvalid,
                    8,
                    format!("the header is {found}, not a JSON object"),
                    "not-object".to_string(),
                    None,
                ),
                S::DuplicateKey { scope, key } => {
                    let place = match scope {
                        None => "the header".to_string(),
                        Some(s) => format!("`{s}`"),
                    };
                    (
                        Rule::SafetensorsHeaderInvalid,
                        8,
                        format!("key `{key}` appears more than once in {place}; JSON readers keep different copies, so two tools can load different data from this file"),
                        format!("dup:{}/{key}", scope.as_deref().unwrap_or("")),
                        None,
                    )
                }
                S::BadEntry { name, message } => (
                    Rule::SafetensorsHeaderInvalid,
                    8,
                    format!("tensor entry `{name}`: {message}"),
                    format!("entry:{name}"),
                    None,
                ),
                S::ReferenceRejects { message } => (
                    Rule::SafetensorsHeaderInvalid,
                    8,
                    format!("the reference safetensors reader refuses the header: {message}"),
                    "reference".to_string(),
                    None,
                ),
                S::UnknownDtype { name, dtype } => (
                    Rule::SafetensorsUnknownDtype,
                    8,
                    format!("tensor `{name}` has dtype `{dtype}`, which the reference reader does not know; its byte range cannot be checked"),
                    format!("dtype:{name}"),
                    None,
                ),
                S::SizeMismatch {
                    name,
                    offset,
                    expected,
                    actual,
                } => {
                    let need = match expected {
                        Some(e) => format!("needs {e} bytes"),
                        None => "overflows or is not a whole number of bytes".to_string(),
                    };
                    (
                        Rule::SafetensorsBadLayout,
                        *offset,
                        format!("tensor `{name}`: shape × dtype size {need}, but its data_offsets span {actual}"),
                        format!("size:{name}"),
                        None,
                    )
                }
                S::InvertedRange { name, begin, end } => (
                    Rule::SafetensorsBadLayout,
                    start.saturating_add(*end),
                    format!("tensor `{name}` has data_offsets [{begin}, {end}], which end before they begin"),
                    format!("range:{name}"),
                    None,
                ),
                S::OutOfBounds {
                    name,
                    offset,
                    end,
                    payload,
                } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("tensor `{name}` ends at payload byte {end}, but the payload holds only {payload} bytes"),
                    format!("bounds:{name}"),
                    None,
                ),
                S::Overlap { name, other, offset } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("tensor `{name}` overlaps tensor `{other}`: the same bytes load as both"),
                    format!("overlap:{name}"),
                    None,
                ),
                S::Gap { offset, len, next } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("{len} payload bytes before tensor `{next}` (from byte {offset}) belong to no tensor"),
                    format!("gap:{next}"),
                    Some(*len),
                ),
                S::Trailing { offset, len } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("{len} bytes after the last tensor (from byte {offset}) belong to no tensor"),
                    "trailing".to_string(),
                    Some(*len),
                ),
                S::MetadataNotMap { found } => (
                    Rule::SafetensorsMetadata,
                    8,
                    format!("`__metadata__` is {found}, not a map of strings to strings"),
                    "meta".to_string(),
                    None,
                ),
                S::MetadataNotString { key, found } => (
                    Rule::SafetensorsMetadata,
                    8,
                    format!("`__metadata__` value `{key}` is {found}, not a string"),
                    format!("meta:{key}"),
                    None,
                ),
                S::MetadataTooLarge { size, cap } => (
                    Rule::SafetensorsMetadata,
                    8,
                    format!("`__metadata__` holds {size} bytes of keys and values, over the {cap}-byte cap"),
                    "meta-size".to_string(),
                    None,
                ),
                S::TooManyTensors { limit } => (
                    Rule::ResourceLimit,
                    8,
                    format!("the safetensors header lists more than {limit} tensors; the rest of it was not checked"),
                    "st-tensors".to_string(),
                    None,
                ),
            };
            let (message, key, offset, length) = match more {
                None => (message, key, Some(offset), length),
                Some((kind, n)) => (
                    format!(
                        "{n} more issue{} of this kind were not listed, for example: {message}",
                        if n == 1 { "" } else { "s" }
                    ),
                    format!("more:{kind}"),
                    None,
                    None,
                ),
            };
            let f = self.push(rule, members, offset, message, key);
            f.location.byte_length = length;
        }
        // Bytes no tensor claims can hide a payload: scan them like an archive member.
        for issue in &h.issues {
            let (S::Gap { offset, len, .. } | S::Trailing { offset, len }) = issue else {
                continue;
            };
            if depth >= self.limits.max_depth {
                self.too_deep(members);
                break;
            }
            let window = Window {
                src,
                start: *offset,
                len: *len,
            };
            let inner = chain(members, format!("(unclaimed bytes at {offset})"));
            self.random_checked(&window, &inner, depth + 1, None);
        }
        ModelFormat::Safetensors
    }

    /// A GGUF file: header, metadata and tensor table; chat templates checked for gadgets.
    fn gguf(&mut self, reader: Box<dyn Read + '_>, len: Option<u64>, members: &[String]) -> ModelFormat {
        use gguf::Issue as G;
        let g = gguf::parse(reader, len, &self.limits.gguf);
        for issue in &g.issues {
            let (rule, offset, message, key) = match issue {
                G::BadVersion { version, swapped } => {
                    let note = if *swapped {
                        format!(
                            " (reads as version {} byte-swapped: a big-endian file, not parsed)",
                            version.swap_bytes()
                        )
                    } else {
                        String::new()
                    };
                    (
                        Rule::GgufMalformed,
                        4,
                        format!("unsupported GGUF version {version}{note}"),
                        "version".to_string(),
                    )
                }
                G::Truncated { offset, what } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("the GGUF header ends inside the {what} (at byte {offset})"),
                    "truncated".to_string(),
                ),
                G::Implausible {
                    offset,
                    what,
                    value,
                    bound,
                    beyond_file,
                } => {
                    let why = if *beyond_file {
                        format!("more than the {bound} the rest of the file can hold")
                    } else {
                        format!("over the cap of {bound}")
                    };
                    (
                        Rule::GgufMalformed,
                        *offset,
                        format!("{what} is {value}, {why}; the rest of the header was not read"),
                        format!("implausible:{what}"),
                    )
                }
                G::UnknownType { offset, key, type_id } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("key `{key}` has unknown value type {type_id}; the rest of the header was not read"),
                    format!("type:{key}"),
                ),
                G::NotUtf8 { offset, key } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("key `{key}` is not valid UTF-8"),
                    format!("utf8:{offset}"),
                ),
                G::DuplicateKey { offset, key } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("key `{key}` appears more than once; readers disagree on which value they use"),
                    format!("dup:{key}"),
                ),
                G::BadTensor { offset, name, message } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("tensor `{name}`: {message}"),
                    format!("tensor:{name}"),
                ),
                G::TemplateNotString { offset, key, found } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("`{key}` is a {found}, not a string template"),
                    format!("template-type:{key}"),
                ),
                G::TemplateTooLong { offset, key, len, kept } => (
                    Rule::ResourceLimit,
                    *offset,
                    format!(
                        "`{key}` is {len} bytes long; only its first {kept} bytes were checked for template injection"
                    ),
                    format!("template-len:{key}"),
                ),
                G::Io { offset, message } => (
                    Rule::UnreadableFile,
                    *offset,
                    format!("read error at byte {offset}: {message}"),
                    "read".to_string(),
                ),
            };
            self.push(rule, members, Some(offset), message, key);
        }
        for t in &g.templates {
            let hits = self.rules.chat_template.check(&jinja::normalise(&t.text));
            let Some(worst) = hits.iter().rev().max_by_key(|h| h.severity) else {
                continue;
            };
            let severity = worst.severity;
            let reason = worst.reason;
            let evidence = crate::finding::truncate(&worst.matched, 120);
            let names: Vec<&str> = hits.iter().map(|h| h.gadget).collect();
            let f = self.push(
                Rule::GgufChatTemplateInjection,
                members,
                Some(t.offset),
                format!(
                    "chat template `{}` contains template-injection gadgets ({}): {reason}",
                    t.key,
                    names.join(", ")
                ),
                format!("template:{}", t.key),
            );
            f.severity = severity;
            f.evidence = Some(evidence);
        }
        ModelFormat::Gguf
    }

    fn trailing(&mut self, members: &[String], start: u64, len: u64) {
        self.push(
            Rule::PickleTrailingData,
            members,
            Some(start),
            format!(
                "{} bytes after the last pickle stream (from byte {start}) are not a pickle",
                len.saturating_sub(start)
            ),
            "trailing",
        );
    }

    /// A zip archive that starts after a pickle: report it, then scan it too.
    fn polyglot(&mut self, src: &dyn Source, members: &[String], depth: usize, pickle_end: u64) -> Option<ModelFormat> {
        zip::find_eocd(src)?;
        let archive = zip::parse(src, &self.limits.zip)?;
        if !archive.entries.iter().any(|e| e.data_start.is_some()) {
            return None;
        }
        self.push(
            Rule::PolyglotFile,
            members,
            Some(archive.prefix),
            format!(
                "the file is a pickle (bytes 0–{pickle_end}) and also a zip archive starting at byte {}; torch.load runs the pickle, zip-based tools see only the archive",
                archive.prefix
            ),
            "polyglot",
        );
        self.zip(src, members, depth)
    }

    /// A stream that can only be read from its start (a compressed member or layer).
    fn stream(
        &mut self,
        open: &Opener<'_>,
        compressed: u64,
        members: &[String],
        depth: usize,
        crc: Option<u32>,
    ) -> ModelFormat {
        let head = Self::head(&mut *open());
        match sniff(&head) {
            Magic::Zip => {
                if depth >= self.limits.max_depth {
                    return self.too_deep(members);
                }
                match materialize(open(), self.limits.spill_at) {
                    Ok(src) => self.zip(&*src, members, depth).unwrap_or(ModelFormat::NotAModel),
                    Err(e) => {
                        self.push(
                            Rule::ResourceLimit,
                            members,
                            None,
                            format!("could not unpack the nested archive: {e}"),
                            "nested",
                        );
                        ModelFormat::Zip
                    }
                }
            }
            Magic::Npy => self.npy(open(), members),
            Magic::Gguf => self.gguf(open(), None, members),
            m @ (Magic::Gzip | Magic::Zlib | Magic::Bzip2 | Magic::Xz | Magic::Lzma | Magic::Lz4) => {
                self.compressed(m, open, compressed, members, depth)
            }
            Magic::Other => ModelFormat::NotAModel,
            Magic::PickleLike => {
                let (format, trailing) = self.pickle(open, None, members, crc);
                if let (Some(_), Some(start)) = (format, trailing) {
                    let total = std::io::copy(&mut open(), &mut std::io::sink()).unwrap_or(start);
                    self.trailing(members, start, total);
                }
                format.unwrap_or(ModelFormat::NotAModel)
            }
        }
    }

    fn too_deep(&mut self, members: &[String]) -> ModelFormat {
        self.push(
            Rule::ResourceLimit,
            members,
            None,
            format!(
                "archives nested deeper than {} levels; the innermost were not opened",
                self.limits.max_depth
            ),
            "depth",
        );
        ModelFormat::Zip
    }

    /// A compression layer (how joblib's `compress=` options and `.gz` files wrap a pickle or
    /// an archive), decoded on the fly against the file's decompression budget.
    fn compressed(
        &mut self,
        magic: Magic,
        open: &Opener<'_>,
        compressed: u64,
        members: &[String],
        depth: usize,
    ) -> ModelFormat {
        if depth >= self.limits.max_depth {
            return self.too_deep(members);
        }
        let (layer, format) = match magic {
            Magic::Gzip => ("(gzip)", ModelFormat::Gzip),
            Magic::Bzip2 => ("(bzip2)", ModelFormat::Bzip2),
            Magic::Xz => ("(xz)", ModelFormat::Xz),
            Magic::Lzma => ("(lzma)", ModelFormat::Lzma),
            Magic::Lz4 => ("(lz4)", ModelFormat::Lz4),
            _ => ("(zlib)", ModelFormat::Zlib),
        };
        let inner_members = chain(members, layer);
        let budget = self.budget.clone();
        let inner = move || -> Box<dyn Read + '_> {
            let raw = open();
            let decoded: Box<dyn Read> = match magic {
                Magic::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
                Magic::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
                Magic::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(raw)),
                Magic::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(raw, true, LZMA_MEM_LIMIT_KIB)),
                Magic::Lzma => match lzma_rust2::LzmaReader::new_mem_limit(raw, LZMA_MEM_LIMIT_KIB, None) {
                    Ok(r) => Box::new(r),
                    Err(e) => Box::new(Failing(Some(std::io::Error::other(e)))),
                },
                _ => Box::new(flate2::read::ZlibDecoder::new(raw)),
            };
            Box::new(Metered::new(decoded, budget.clone(), compressed))
        };
        let found = self.stream(&inner, compressed, &inner_members, depth + 1, None);
        if found != ModelFormat::NotAModel {
            return found;
        }
        // Nothing recognisable inside: say so if the layer itself is broken.
        let (decoded, error) = drain(&mut *inner());
        match error {
            Some(_) if self.budget.tripped().is_some() => format,
            // Two or three magic bytes are weak evidence: other data can start that way.
            Some(_) if decoded == 0 && matches!(magic, Magic::Zlib | Magic::Lzma) => ModelFormat::NotAModel,
            Some(e) => {
                let msg = format!(
                    "{} data does not decompress after {decoded} bytes: {e}",
                    &layer[1..layer.len() - 1]
                );
                self.push(Rule::CompressedStreamCorrupt, &inner_members, None, msg, "corrupt");
                format
            }
            None => format,
        }
    }

    /// Parse every pickle stream; report them when the data is a pickle at all. Returns the
    /// format, if it is one, and where non-pickle bytes after the last stream begin.
    fn pickle(
        &mut self,
        open: &Opener<'_>,
        len: Option<u64>,
        members: &[String],
        crc: Option<u32>,
    ) -> (Option<ModelFormat>, Option<u64>) {
        let mut reader = Crc::new(open());
        let pf = pickle::parse_file(&mut reader, len, &self.limits.pickle);
        if !pf.is_pickle() {
            return (None, None);
        }
        if let Some(expected) = crc {
            // Read what the parser left, so the CRC covers the whole member.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            let actual = reader.finish();
            if actual != expected && self.budget.tripped().is_none() {
                self.push(
                    Rule::ZipCrcMismatch,
                    members,
                    None,
                    format!("CRC-32 of the member is {actual:08x}, the archive records {expected:08x}: the bytes changed after the archive was written"),
                    "crc",
                );
            }
        }
        self.report_pickle(&pf, members, 0);
        let format = if pf.legacy_torch {
            ModelFormat::PytorchLegacy
        } else if pf.streams.iter().any(|s| s.joblib_arrays > 0) {
            ModelFormat::Joblib
        } else {
            ModelFormat::Pickle
        };
        (Some(format), pf.trailing.map(|(o, _)| o))
    }

    fn npy(&mut self, reader: Box<dyn Read + '_>, members: &[String]) -> ModelFormat {
        let mut input = Input::new(reader);
        let header = match numpy::read_header(&mut input) {
            Ok(h) => h,
            Err(e) => {
                self.push(
                    Rule::NumpyMalformed,
                    members,
                    Some(0),
                    format!("malformed .npy file: {e}"),
                    "header",
                );
                return ModelFormat::Numpy;
            }
        };
        if header.object {
            let shape: Vec<String> = header.shape.iter().map(u64::to_string).collect();
            self.push(
                Rule::NumpyObjectArray,
                members,
                Some(header.data_offset),
                format!(
                    "array of dtype `{}` and shape ({}) stores Python objects as a pickle; numpy.load needs allow_pickle=True to read it",
                    header.descr,
                    shape.join(", ")
                ),
                "object",
            );
            let pf = pickle::parse_file(&mut input, None, &self.limits.pickle);
            if pf.is_pickle() {
                self.report_pickle(&pf, members, header.data_offset);
            } else {
                self.push(
                    Rule::PickleMalformed,
                    members,
                    Some(header.data_offset),
                    "object array payload is not a pickle".into(),
                    "payload",
                );
            }
        }
        ModelFormat::Numpy
    }

    fn zip(&mut self, src: &dyn Source, members: &[String], depth: usize) -> Option<ModelFormat> {
        let archive = zip::parse(src, &self.limits.zip)?;
        self.zip_issues(&archive.issues, members);
        let names = || archive.entries.iter().map(|e| e.name.as_str());
        let format = if names().any(|n| n == "data.pkl" || n.ends_with("/data.pkl")) {
            ModelFormat::PytorchZip
        } else if archive.entries.iter().any(|e| e.name.ends_with(".npy"))
            && names().all(|n| n.ends_with(".npy") || n.ends_with('/'))
        {
            ModelFormat::NumpyZip
        } else {
            ModelFormat::Zip
        };
        if depth >= self.limits.max_depth {
            self.too_deep(members);
            return Some(format);
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &archive.entries {
            if self.members_left == 0 {
                self.push(
                    Rule::ResourceLimit,
                    members,
                    None,
                    format!(
                        "more than {} archive members in this file across all nesting levels; the rest were not checked",
                        self.limits.max_total_members
                    ),
                    "total-members",
                );
                break;
            }
            self.members_left -= 1;
            let copy = seen.entry(e.name.as_str()).or_default();
            *copy += 1;
            let label = if *copy > 1 {
                format!("{} [copy {}]", e.name, copy)
            } else {
                e.name.clone()
            };
            let inner = chain(members, label);
            let Some(start) = e.data_start else { continue };
            if e.size > (64 << 20) && e.size / e.compressed_size.max(1) > 200 {
                self.push(
                    Rule::ZipBomb,
                    &inner,
                    None,
                    format!(
                        "member declares {} bytes from {} ({}:1)",
                        e.size,
                        e.compressed_size,
                        e.size / e.compressed_size.max(1)
                    ),
                    "bomb",
                );
            }
            let window = Window {
                src,
                start,
                len: e.compressed_size,
            };
            let found = match e.method {
                0 => self.random_checked(&window, &inner, depth + 1, Some(e.crc)),
                8 => {
                    let budget = self.budget.clone();
                    let csize = e.compressed_size;
                    let w = &window;
                    let open = move || -> Box<dyn Read + '_> {
                        let raw = SourceReader::new(w, 0, csize);
                        Box::new(Metered::new(
                            flate2::read::DeflateDecoder::new(raw),
                            budget.clone(),
                            csize,
                        ))
                    };
                    self.stream(&open, csize, &inner, depth + 1, Some(e.crc))
                }
                _ => ModelFormat::NotAModel,
            };
            self.disguised(&e.name, found, &inner);
        }
        Some(format)
    }

    fn zip_issues(&mut self, issues: &[Issue], members: &[String]) {
        for issue in issues {
            let inner = |name: &str| chain(members, name.to_string());
            let (rule, at, offset, message, key) = match issue {
                Issue::Encrypted { name, flags } => (
                    Rule::ZipEncryptionFlag,
                    inner(name),
                    None,
                    format!("member `{name}` has general-purpose flags 0x{flags:04x} (encryption); read as plain data anyway"),
                    "encrypted".to_string(),
                ),
                Issue::NameMismatch { central, local } => (
                    Rule::ZipNameMismatch,
                    inner(central),
                    None,
                    format!("the central directory names this member `{central}`, its local header `{local}`"),
                    format!("name:{local}"),
                ),
                Issue::Duplicate { name, count } => (
                    Rule::ZipDuplicateName,
                    members.to_vec(),
                    None,
                    format!(
                        "member name `{name}` appears {count} times; readers disagree on which copy they load, so every copy was scanned"
                    ),
                    format!("dup:{name}"),
                ),
                Issue::Traversal { name } => (
                    Rule::ZipPathTraversal,
                    members.to_vec(),
                    None,
                    format!(
                        "member name `{name}` is absolute or climbs out with `..`; extracting it writes outside the target directory"
                    ),
                    format!("traversal:{name}"),
                ),
                Issue::Unsupported { name, method } => (
                    Rule::ZipUnsupportedMember,
                    inner(name),
                    None,
                    format!("member `{name}` uses compression method {method}, which llmguard cannot read; its contents were not checked"),
                    "method".to_string(),
                ),
                Issue::Malformed { offset, message } => (
                    Rule::ZipMalformed,
                    members.to_vec(),
                    Some(*offset),
                    format!("malformed zip: {message}"),
                    format!("malformed:{message}"),
                ),
                Issue::TooManyMembers { limit } => (
                    Rule::ResourceLimit,
                    members.to_vec(),
                    None,
                    format!("archive has more than {limit} members or an oversized central directory; the rest were not checked"),
                    "members".to_string(),
                ),
            };
            self.push(rule, &at, offset, message, key);
        }
    }

    /// Turn what the pickle machine saw into findings, one per distinct import, call target
    /// or problem in the file (every stream together), at the first place it occurs.
    fn report_pickle(&mut self, pf: &PickleFile, members: &[String], base: u64) {
        #[derive(Default)]
        struct Use {
            offset: u64,
            count: usize,
            called: bool,
            argument: Option<String>,
        }
        let mut uses: BTreeMap<(String, String), Use> = BTreeMap::new();
        let mut opaque: BTreeMap<String, (u64, usize)> = BTreeMap::new();
        for s in &pf.streams {
            for imp in &s.imports {
                match &imp.target {
                    ImportTarget::Resolved { module, name } => {
                        let u = uses.entry((module.clone(), name.clone())).or_insert_with(|| Use {
                            offset: imp.offset,
                            ..Use::default()
                        });
                        u.count += 1;
                    }
                    ImportTarget::Unresolved { reason } => {
                        self.push(
                            Rule::PickleUnresolvedGlobal,
                            members,
                            Some(base + imp.offset),
                            format!(
                                "{} imports a global that cannot be determined statically: {reason}",
                                imp.opcode
                            ),
                            format!("unresolved:{reason}"),
                        );
                    }
                }
            }
            for c in &s.calls {
                match &c.callee {
                    Callee::Import(i) => {
                        if let Some((m, n)) = s.import_name(*i) {
                            if let Some(u) = uses.get_mut(&(m.to_string(), n.to_string())) {
                                u.called |= c.opcode != "BUILD";
                                if u.argument.is_none() {
                                    u.argument.clone_from(&c.argument);
                                }
                            }
                        }
                    }
                    Callee::Extension(_) => {}
                    Callee::Opaque(what) => {
                        let e = opaque.entry(what.clone()).or_insert((c.offset, 0));
                        e.1 += 1;
                    }
                }
            }
            for (offset, code) in &s.extensions {
                self.push(
                    Rule::PickleExtensionCode,
                    members,
                    Some(base + offset),
                    format!("uses copyreg extension code {code}, which names a global through a registry the file cannot be judged by"),
                    format!("ext:{code}"),
                );
            }
            let foreign: Vec<_> = s.persistent_ids.iter().filter(|p| !p.torch_convention).collect();
            if let Some(first) = foreign.first() {
                self.push(
                    Rule::PicklePersistentId,
                    members,
                    Some(base + first.offset),
                    format!(
                        "{} hands {} to the loader's persistent_load ({} persistent id{} outside PyTorch's storage convention)",
                        first.opcode,
                        first.description,
                        foreign.len(),
                        if foreign.len() == 1 { "" } else { "s" }
                    ),
                    "persid",
                );
            }
            for m in &s.mutations {
                let target = s
                    .import_name(m.import)
                    .map(|(a, b)| format!("{a}.{b}"))
                    .unwrap_or_else(|| "an unresolved import".into());
                self.push(
                    Rule::PickleGlobalMutation,
                    members,
                    Some(base + m.offset),
                    format!(
                        "{} applied to the imported object `{target}` itself changes it in place while loading",
                        m.opcode
                    ),
                    format!("mutate:{target}"),
                );
            }
            self.stream_error(s, members, base);
        }
        for (what, (offset, count)) in opaque {
            self.push(
                Rule::PickleOpaqueCall,
                members,
                Some(base + offset),
                format!(
                    "calls {what}, not a resolved import ({count} time{})",
                    if count == 1 { "" } else { "s" }
                ),
                format!("opaque:{what}"),
            );
        }
        for ((module, name), u) in uses {
            self.judge_import(&module, &name, &u.argument, u.called, u.count, members, base + u.offset);
        }
        let top: Vec<_> = pf.streams.iter().filter(|s| !s.nested).collect();
        if top.len() > 1 && !pf.legacy_torch {
            self.push(
                Rule::PickleMultipleStreams,
                members,
                Some(base + top[1].start),
                format!(
                    "{} pickle streams one after another; the second starts at byte {}",
                    top.len(),
                    base + top[1].start
                ),
                "streams",
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn judge_import(
        &mut self,
        module: &str,
        name: &str,
        argument: &Option<String>,
        called: bool,
        count: usize,
        members: &[String],
        offset: u64,
    ) {
        let full = format!("{module}.{name}");
        let how = match (called, argument) {
            (true, Some(a)) => format!(" and calls it with {:?}", crate::finding::truncate(a, 80)),
            (true, None) => " and calls it".to_string(),
            (false, _) => String::new(),
        };
        let times = if count > 1 {
            format!(" ({count} imports)")
        } else {
            String::new()
        };
        let evidence = match argument {
            Some(a) if called => format!("{full}({:?})", crate::finding::truncate(a, 60)),
            _ => full.clone(),
        };
        match self.rules.pickle.judge(module, name) {
            Judgement::Allowed => {}
            Judgement::Denied {
                severity,
                reason,
                matched,
            } => {
                let via = if matched == full {
                    String::new()
                } else {
                    format!(", which reaches `{matched}`")
                };
                let f = self.push(
                    Rule::PickleDangerousImport,
                    members,
                    Some(offset),
                    format!("imports `{full}`{via}{how}{times}: {reason}"),
                    full.clone(),
                );
                f.severity = severity;
                f.evidence = Some(crate::finding::truncate(&evidence, 160));
            }
            Judgement::Unknown => {
                let origin = if module == "__main__" {
                    " (a class or function defined in the script that saved the file)"
                } else {
                    ""
                };
                let f = self.push(
                    Rule::PickleUnknownImport,
                    members,
                    Some(offset),
                    format!(
                        "imports `{full}`{origin}{how}{times}, which is on neither the allow list nor the deny list"
                    ),
                    full.clone(),
                );
                f.evidence = Some(crate::finding::truncate(&evidence, 160));
            }
        }
    }

    fn stream_error(&mut self, s: &pickle::Stream, members: &[String], base: u64) {
        if let Some(at) = s.memo_overflow {
            self.push(
                Rule::ResourceLimit,
                members,
                Some(base + at),
                format!(
                    "pickle memo grew past {} entries; later entries were not tracked",
                    self.limits.pickle.max_memo
                ),
                "memo",
            );
        }
        match &s.error {
            None => {}
            Some(StreamError::Malformed { offset, message }) => {
                let carried = if s.stopped {
                    " (the analysis carried on past it)"
                } else {
                    ""
                };
                self.push(
                    Rule::PickleMalformed,
                    members,
                    Some(base + offset),
                    format!("malformed pickle: {message}{carried}"),
                    "malformed",
                );
            }
            Some(StreamError::Limit { offset, message }) => {
                self.push(
                    Rule::ResourceLimit,
                    members,
                    Some(base + offset),
                    format!("pickle analysis stopped: {message}"),
                    "pickle-limit",
                );
            }
            Some(StreamError::JoblibArray { offset, message }) => {
                self.push(
                    Rule::JoblibUnknownArray,
                    members,
                    Some(base + offset),
                    format!("{message}; the opcodes after this array were not analysed"),
                    "joblib",
                );
            }
        }
    }
}
