//! `scan-model`: identify each file by content, walk containers, and judge every pickle found
//! against the compiled rules. Parsing lives in `model/`; this module turns what the parsers
//! report into findings.

use super::FileOutcome;
use crate::finding::{Finding, Location};
use crate::model::pickle::PickleLimits;
use crate::model::source::{materialize, Budget, FileSource, Metered, Source, SourceReader};
use crate::model::zip::{self, ZipLimits};
use crate::model::{gguf, h5, keras, onnx, safetensors};
use crate::model::{sniff, Magic};
use crate::report::{Artifact, Verdict};
use crate::rules::{Rule, RuleSet};
use crate::walk::Target;
use std::io::Read;
use std::rc::Rc;

/// Every bound `scan-model` puts on hostile input.
#[derive(Debug, Clone)]
pub struct ModelLimits {
    pub pickle: PickleLimits,
    pub zip: ZipLimits,
    pub safetensors: safetensors::Limits,
    pub gguf: gguf::Limits,
    pub onnx: onnx::Limits,
    pub h5: h5::Limits,
    pub keras: keras::Limits,
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
            onnx: onnx::Limits::default(),
            h5: h5::Limits::default(),
            keras: keras::Limits::default(),
            max_depth: 5,
            max_total_members: 200_000,
            max_inflated: 4 << 30,
            max_ratio: 1000,
            ratio_floor: 16 << 20,
            spill_at: 32 << 20,
        }
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Sets one limit from a number given on the command line.
type Setter = fn(&mut ModelLimits, u64);

/// The limits `--limit NAME=VALUE` can change: name, what it bounds (with its default), setter.
pub const LIMIT_NAMES: &[(&str, &str, Setter)] = &[
    ("depth", "archives nested in archives (5)", |l, v| {
        l.max_depth = to_usize(v)
    }),
    ("members", "archive members per file, all levels (200000)", |l, v| {
        l.max_total_members = to_usize(v)
    }),
    ("inflated-mib", "MiB decompressed per file (4096)", |l, v| {
        l.max_inflated = v.saturating_mul(1 << 20)
    }),
    ("ratio", "compression ratio n:1 (1000)", |l, v| l.max_ratio = v),
    ("pickle-opcodes", "opcodes per pickle stream (100000000)", |l, v| {
        l.pickle.max_opcodes = v
    }),
    ("pickle-memo", "pickle memo entries (1000000)", |l, v| {
        l.pickle.max_memo = to_usize(v)
    }),
    ("pickle-stack", "pickle stack depth (1000000)", |l, v| {
        l.pickle.max_stack = to_usize(v)
    }),
    ("zip-members", "members of one zip (100000)", |l, v| {
        l.zip.max_members = to_usize(v)
    }),
    (
        "safetensors-header-mib",
        "safetensors header MiB (95: the reference reader's 100 MB)",
        |l, v| l.safetensors.max_header = v.saturating_mul(1 << 20),
    ),
    (
        "safetensors-tensors",
        "tensors kept from one header (200000)",
        |l, v| l.safetensors.max_tensors = to_usize(v),
    ),
    ("gguf-kvs", "GGUF key/values (1048576)", |l, v| l.gguf.max_kvs = v),
    ("gguf-tensors", "GGUF tensors (1048576)", |l, v| l.gguf.max_tensors = v),
    ("gguf-template-mib", "chat-template MiB checked (4)", |l, v| {
        l.gguf.max_template = to_usize(v.saturating_mul(1 << 20))
    }),
    ("onnx-nodes", "ONNX nodes per model (10000000)", |l, v| {
        l.onnx.max_nodes = v
    }),
    ("onnx-tensors", "ONNX tensors per model (10000000)", |l, v| {
        l.onnx.max_tensors = v
    }),
    ("onnx-kept-mib", "ONNX names and paths kept, MiB (64)", |l, v| {
        l.onnx.max_retained = to_usize(v.saturating_mul(1 << 20))
    }),
    (
        "h5-read-mib",
        "bytes an HDF5 file may make llmguard read, MiB (96)",
        |l, v| l.h5.max_total = v.saturating_mul(1 << 20),
    ),
];

impl ModelLimits {
    /// Apply one `NAME=VALUE` setting (a whole number; `MIB` names take MiB).
    pub fn set(&mut self, setting: &str) -> Result<(), String> {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("`{setting}`: expected NAME=VALUE"))?;
        let value: u64 = value
            .trim()
            .parse()
            .map_err(|_| format!("`{setting}`: `{value}` is not a whole number"))?;
        let (_, _, set) = LIMIT_NAMES.iter().find(|(n, _, _)| *n == name.trim()).ok_or_else(|| {
            let names: Vec<&str> = LIMIT_NAMES.iter().map(|(n, _, _)| *n).collect();
            format!("`{name}` is not a limit; limits are: {}", names.join(", "))
        })?;
        set(self, value);
        Ok(())
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
    /// An HDF5 file that is not a Keras model (no `model_config`).
    Hdf5,
    /// A Keras model saved as HDF5 (`model.save('x.h5')`, tf.keras/Keras 2).
    KerasH5,
    /// A Keras v3 `.keras` zip (`config.json`, `metadata.json`, `model.weights.h5`).
    KerasV3,
    Onnx,
    /// A JSON document (a model or tokenizer config).
    JsonConfig,
    Zip,
    Tar,
    SevenZ,
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
            ModelFormat::Hdf5 => "hdf5",
            ModelFormat::KerasH5 => "keras-h5",
            ModelFormat::KerasV3 => "keras-v3",
            ModelFormat::Onnx => "onnx",
            ModelFormat::JsonConfig => "json",
            ModelFormat::Tar => "tar",
            ModelFormat::SevenZ => "7z",
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
        match opened {
            Ok(src) => self.scan_source(&src, path),
            Err(e) => unreadable(path, &e),
        }
    }

    /// Scan bytes from any source, reported under `path` (the fuzz target's entry point).
    pub fn scan_source(&self, src: &dyn Source, path: &str) -> FileOutcome {
        let mut cx = Cx {
            limits: &self.limits,
            rules: self.rules,
            path,
            findings: Vec::new(),
            budget: Budget::new(self.limits.max_inflated, self.limits.max_ratio, self.limits.ratio_floor),
            members_left: self.limits.max_total_members,
        };
        let format = cx.random(src, &[], 0);
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
            match sha256_file(src) {
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
            inline: Vec::new(),
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
        inline: Vec::new(),
    }
}

fn sha256_file(src: &dyn Source) -> std::io::Result<String> {
    Ok(crate::digest::sha256_reader(&mut SourceReader::new(src, 0, src.len()))?.sha256)
}

/// Bytes read to identify a blob: enough for a tar header's `ustar` magic (offset 257) and an
/// HDF5 superblock behind a 512-byte user block.
const HEAD_LEN: usize = 1024;

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
pub(super) type Opener<'s> = dyn Fn() -> Box<dyn Read + 's> + 's;

/// The per-file scanning context.
pub(super) struct Cx<'a> {
    pub(super) limits: &'a ModelLimits,
    pub(super) rules: &'a RuleSet,
    pub(super) path: &'a str,
    pub(super) findings: Vec<Finding>,
    pub(super) budget: Rc<Budget>,
    pub(super) members_left: usize,
}

pub(super) fn chain(members: &[String], next: impl Into<String>) -> Vec<String> {
    let mut v = members.to_vec();
    v.push(next.into());
    v
}

// One file per format: each adds its methods to `Cx`.
mod archive_scan;
mod encoded_scan;
mod gguf_scan;
mod json_scan;
mod keras_scan;
mod numpy_scan;
mod onnx_scan;
mod pickle_scan;
mod safetensors_scan;
pub mod signatures;
mod zip_scan;

impl Cx<'_> {
    pub(super) fn push(
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

    pub(super) fn head(read: &mut dyn Read) -> Vec<u8> {
        let mut head = Vec::with_capacity(HEAD_LEN);
        let _ = read.take(HEAD_LEN as u64).read_to_end(&mut head);
        head
    }

    /// A blob with random access: a file, or a stored archive member.
    pub(super) fn random(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        self.random_checked(src, members, depth, None)
    }

    pub(super) fn random_checked(
        &mut self,
        src: &dyn Source,
        members: &[String],
        depth: usize,
        crc: Option<u32>,
    ) -> ModelFormat {
        let mut head = [0u8; HEAD_LEN];
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
            Magic::Npy => self.npy(open(), members, depth),
            Magic::Gguf => self.gguf(open(), Some(src), members, depth),
            Magic::Hdf5 => self.hdf5(src, members, depth),
            Magic::Onnx => self.onnx(src, members, depth),
            Magic::Tar => self.tar(src, members, depth),
            Magic::SevenZ => self.sevenz(src, members, depth),
            m @ (Magic::Gzip | Magic::Zlib | Magic::Bzip2 | Magic::Xz | Magic::Lzma | Magic::Lz4) => {
                self.compressed(m, &open, len, members, depth)
            }
            Magic::Other if st.is_some() => self.safetensors(src, members, depth),
            Magic::Other if json_scan::looks_json(&head[..n]) && len <= json_scan::JSON_MAX => self
                .json(&mut SourceReader::new(src, 0, len), members, depth)
                .unwrap_or(ModelFormat::NotAModel),
            // A member that cannot start a pickle is data (a tensor payload): nothing to parse.
            Magic::Other if !members.is_empty() => ModelFormat::NotAModel,
            Magic::PickleLike | Magic::Other => {
                let (format, trailing) = self.pickle(&open, Some(len), members, crc, depth);
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
    pub(super) fn disguised(&mut self, name: &str, format: ModelFormat, members: &[String]) {
        // Every claimed extension has a dot: most member names (tensor data) have none after
        // their last `/`.
        if name.bytes().rev().take_while(|&b| b != b'/').all(|b| b != b'.') {
            return;
        }
        // Case-insensitive, without lower-casing a copy of every member's name.
        let ends_with = |ext: &str| {
            name.len() >= ext.len() && name.as_bytes()[name.len() - ext.len()..].eq_ignore_ascii_case(ext.as_bytes())
        };
        let claimed = [
            (".safetensors", "safetensors"),
            (".gguf", "GGUF"),
            (".onnx", "ONNX"),
            (".npy", "NumPy .npy"),
            (".h5", "HDF5"),
            (".hdf5", "HDF5"),
        ]
        .iter()
        .find(|(ext, _)| ends_with(ext));
        let Some((_, claim)) = claimed else { return };
        let content = match format {
            ModelFormat::Pickle | ModelFormat::Joblib => "a pickle",
            ModelFormat::PytorchLegacy => "a pickle (a legacy PyTorch checkpoint)",
            ModelFormat::PytorchZip => "a zip archive (a PyTorch checkpoint holding pickles)",
            ModelFormat::Zip | ModelFormat::NumpyZip => "a zip archive",
            ModelFormat::Tar => "a tar archive",
            ModelFormat::SevenZ => "a 7z archive",
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

    pub(super) fn trailing(&mut self, members: &[String], start: u64, len: u64) {
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

    /// A stream that can only be read from its start (a compressed member or layer).
    pub(super) fn stream(
        &mut self,
        open: &Opener<'_>,
        compressed: u64,
        members: &[String],
        depth: usize,
        crc: Option<u32>,
    ) -> ModelFormat {
        let head = Self::head(&mut *open());
        match sniff(&head) {
            // Formats that need random access: unpack the stream (in memory, or spilled to a
            // temporary file when large) and scan it like a file.
            m @ (Magic::Zip | Magic::Hdf5 | Magic::Onnx | Magic::Tar | Magic::SevenZ) => {
                if m != Magic::Onnx && depth >= self.limits.max_depth {
                    return self.too_deep(members);
                }
                match materialize(open(), self.limits.spill_at) {
                    Ok(src) => self.random_checked(&*src, members, depth, None),
                    Err(e) => {
                        self.push(
                            Rule::ResourceLimit,
                            members,
                            None,
                            format!("could not unpack the nested member: {e}"),
                            "nested",
                        );
                        ModelFormat::NotAModel
                    }
                }
            }
            Magic::Npy => self.npy(open(), members, depth),
            Magic::Gguf => self.gguf(open(), None, members, depth),
            m @ (Magic::Gzip | Magic::Zlib | Magic::Bzip2 | Magic::Xz | Magic::Lzma | Magic::Lz4) => {
                self.compressed(m, open, compressed, members, depth)
            }
            Magic::Other if json_scan::looks_json(&head) => self
                .json(&mut open().take(json_scan::JSON_MAX), members, depth)
                .unwrap_or(ModelFormat::NotAModel),
            Magic::Other => ModelFormat::NotAModel,
            Magic::PickleLike => {
                let (format, trailing) = self.pickle(open, None, members, crc, depth);
                if let (Some(_), Some(start)) = (format, trailing) {
                    let total = std::io::copy(&mut open(), &mut std::io::sink()).unwrap_or(start);
                    self.trailing(members, start, total);
                }
                format.unwrap_or(ModelFormat::NotAModel)
            }
        }
    }

    pub(super) fn too_deep(&mut self, members: &[String]) -> ModelFormat {
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
    pub(super) fn compressed(
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_set_by_name() {
        let mut l = ModelLimits::default();
        l.set("depth=9").unwrap();
        l.set("inflated-mib=16").unwrap();
        l.set(" pickle-memo = 10").unwrap();
        assert_eq!((l.max_depth, l.max_inflated, l.pickle.max_memo), (9, 16 << 20, 10));
        for (name, _, _) in LIMIT_NAMES {
            assert!(ModelLimits::default().set(&format!("{name}=1")).is_ok(), "{name}");
        }
        assert!(l.set("nope=1").unwrap_err().contains("depth, members"));
        assert!(l.set("depth=-1").is_err());
        assert!(l.set("depth").is_err());
    }
}
