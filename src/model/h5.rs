//! HDF5 (Keras `.h5`): the attributes a Keras model keeps its configuration in.
//!
//! Only the root group's attributes are read (`model_config`, `training_config`,
//! `keras_version`, `backend`): that is all `keras.models.load_model` deserialises from a
//! legacy HDF5 file before it reads weights, and weights (datasets) are never read here.
//!
//! The structures are decoded by `hdf5-reader` (pure Rust, read-only; superblocks v0–3, object
//! headers v1/v2 with continuation blocks, compact and dense attribute storage, shared messages,
//! global heaps). It reads through a `Storage` that must be `Send + Sync + 'static`, which a
//! borrowed `&dyn Source` (a file, a window of an archive, an inflated member) is not; rather
//! than copy the whole file into memory (Keras files hold hundreds of MB of weights), the
//! reader runs on a scoped worker thread whose storage asks this thread for each byte range
//! over a channel, and this thread serves it from the `Source`. Every range is capped
//! (`Limits::max_read`) and so is the total served (`Limits::max_total`), so a hostile length
//! field costs at most the cap, never the file size it claims. The worker thread doubles as
//! the panic guard the crate needs on hostile input: a panic there ends that thread only and
//! comes back here as `Error::Panicked` (the scanner reports it as a malformed file).
//!
//! Measured: a 400 MB tf.keras `.h5` whose `training_config` heap sits after the weights scans
//! in 0.12 s with a peak RSS of 15 MB (debug build): only the superblock, the root object
//! header and the global heap collections holding the wanted strings are read.

use super::source::Source;
use hdf5_reader::messages::datatype::Datatype;
use hdf5_reader::{Hdf5File, OpenOptions, Storage, StorageBuffer, StringSize, VarLenKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

pub const MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest single byte range the reader may ask for (an object header chunk, a global
    /// heap collection). Keras configurations of large models are a few MB.
    pub max_read: usize,
    /// Bytes served to the reader for one file, in total.
    pub max_total: u64,
    /// Largest object header (all continuation chunks together).
    pub max_object_header: usize,
    /// Largest attribute value kept.
    pub max_value: usize,
    /// Stack of the reader thread.
    pub stack: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_read: 32 << 20,
            max_total: 96 << 20,
            max_object_header: 8 << 20,
            max_value: 32 << 20,
            stack: 8 << 20,
        }
    }
}

/// Why the root attributes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The structures are broken, truncated or unsupported.
    #[error("{0}")]
    Malformed(String),
    /// A read would pass one of the `Limits`.
    #[error("{0}")]
    Limit(String),
    /// The source itself failed.
    #[error("read error: {0}")]
    Io(String),
    /// The HDF5 decoder panicked (a bug in it, reached by this input).
    #[error("the HDF5 decoder failed on this input ({0})")]
    Panicked(String),
}

/// One decoded attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A string (variable- or fixed-length), or bytes that are UTF-8.
    Text(String),
    /// Bytes that are not UTF-8.
    Bytes(Vec<u8>),
    /// Any other datatype (numbers, arrays of strings…), described.
    Other(String),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// The root group's attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Root {
    /// Every attribute name, in file order.
    pub names: Vec<String>,
    /// The wanted attributes that exist: their value, or why it could not be decoded.
    pub values: Vec<(String, Result<Value, String>)>,
}

impl Root {
    pub fn get(&self, name: &str) -> Option<&Result<Value, String>> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// A byte-range request from the reader thread.
struct Request {
    offset: u64,
    len: usize,
    reply: mpsc::SyncSender<std::io::Result<Vec<u8>>>,
}

/// The reader's storage: each range is asked of the thread that owns the `Source`.
struct Remote {
    len: u64,
    tx: mpsc::Sender<Request>,
    served: AtomicU64,
    max_read: usize,
    max_total: u64,
}

impl Storage for Remote {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_range(&self, offset: u64, len: usize) -> hdf5_reader::error::Result<StorageBuffer> {
        use hdf5_reader::error::Error as E;
        let end = offset.checked_add(len as u64).ok_or(E::OffsetOutOfBounds(offset))?;
        if end > self.len {
            return Err(E::UnexpectedEof {
                offset,
                needed: len as u64,
                available: self.len.saturating_sub(offset),
            });
        }
        if len > self.max_read {
            return Err(E::Io(std::io::Error::other(LimitHit(format!(
                "a {len}-byte structure at offset {offset} is over the {} MiB read cap",
                self.max_read >> 20
            )))));
        }
        let total = self.served.fetch_add(len as u64, Ordering::Relaxed) + len as u64;
        if total > self.max_total {
            return Err(E::Io(std::io::Error::other(LimitHit(format!(
                "reading the attributes needs more than {} MiB of metadata",
                self.max_total >> 20
            )))));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.tx
            .send(Request { offset, len, reply })
            .map_err(|_| E::Io(std::io::Error::other("source closed")))?;
        let bytes = answer
            .recv()
            .map_err(|_| E::Io(std::io::Error::other("source closed")))??;
        Ok(StorageBuffer::from_vec(bytes))
    }
}

/// Marks an I/O error the storage raised for a limit, so it is reported as one.
#[derive(Debug)]
struct LimitHit(String);

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimitHit {}

fn classify(e: hdf5_reader::error::Error) -> Error {
    use hdf5_reader::error::Error as E;
    match e {
        E::Io(io) => match io.get_ref().and_then(|inner| inner.downcast_ref::<LimitHit>()) {
            Some(hit) => Error::Limit(hit.0.clone()),
            // Short reads are how a truncated file shows: the structures are broken.
            None if io.kind() == std::io::ErrorKind::UnexpectedEof => Error::Malformed(format!("truncated: {io}")),
            None => Error::Io(io.to_string()),
        },
        E::ResourceLimit(_) => Error::Limit(e.to_string()),
        other => Error::Malformed(other.to_string()),
    }
}

/// Read the root group's attribute names, and decode the `wanted` ones.
pub fn root_attributes(src: &dyn Source, wanted: &[&str], limits: &Limits) -> Result<Root, Error> {
    let (tx, rx) = mpsc::channel::<Request>();
    let storage = Remote {
        len: src.len(),
        tx,
        served: AtomicU64::new(0),
        max_read: limits.max_read,
        max_total: limits.max_total,
    };
    let wanted: Vec<String> = wanted.iter().map(|s| s.to_string()).collect();
    let worker_limits = limits.clone();
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("llmguard-hdf5".into())
            .stack_size(limits.stack)
            .spawn_scoped(scope, move || read_root(storage, &wanted, &worker_limits))
            .map_err(|e| Error::Io(format!("cannot start the HDF5 reader: {e}")))?;
        // Serve reads until the worker drops its storage (it finished, failed or panicked).
        for req in rx {
            let mut buf = vec![0u8; req.len];
            let answer = match src.read_full_at(req.offset, &mut buf) {
                Ok(n) if n == req.len => Ok(buf),
                Ok(n) => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{n} of {} bytes at offset {}", req.len, req.offset),
                )),
                Err(e) => Err(e),
            };
            let _ = req.reply.send(answer);
        }
        match worker.join() {
            Ok(r) => r,
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                Err(Error::Panicked(crate::finding::truncate(&what, 200)))
            }
        }
    })
}

fn read_root(storage: Remote, wanted: &[String], limits: &Limits) -> Result<Root, Error> {
    let options = OpenOptions::default()
        .with_chunk_cache_bytes(0)
        .with_max_read_bytes(limits.max_value)
        .with_max_object_header_bytes(limits.max_object_header);
    let file = Hdf5File::from_storage_with_options(Arc::new(storage), options).map_err(classify)?;
    let root = file.root_group().map_err(classify)?;
    let attrs = root.raw_attributes().map_err(classify)?;
    let mut out = Root::default();
    for a in &attrs {
        out.names.push(a.name().to_string());
        if !wanted.iter().any(|w| w == a.name()) || out.values.iter().any(|(n, _)| n == a.name()) {
            continue;
        }
        let m = a.message();
        let value = decode(&root, &m.datatype, m.dataspace.num_elements().ok(), &m.raw_data, limits);
        out.values.push((a.name().to_string(), value));
    }
    Ok(out)
}

/// Decode one attribute value: scalars (or one-element arrays) of strings and bytes.
fn decode(
    group: &hdf5_reader::group::Group,
    datatype: &Datatype,
    elements: Option<u64>,
    raw: &[u8],
    limits: &Limits,
) -> Result<Value, String> {
    let single = matches!(elements, Some(1));
    let bytes = match datatype {
        Datatype::VarLen {
            base,
            kind: VarLenKind::String,
            ..
        } if single && base.is_vlen_string_base() => group
            .resolve_vlen_reference_bytes(raw, 1)
            .map_err(|e| format!("variable-length string: {e}"))?,
        Datatype::VarLen {
            base,
            kind: VarLenKind::Sequence,
            ..
        } if single && matches!(**base, Datatype::FixedPoint { size: 1, .. }) => group
            .resolve_vlen_reference_bytes(raw, 1)
            .map_err(|e| format!("variable-length bytes: {e}"))?,
        Datatype::String {
            size: StringSize::Fixed(n),
            ..
        } if single => {
            let n = (*n as usize).min(raw.len());
            let s = &raw[..n];
            let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
            s[..end].to_vec()
        }
        Datatype::Opaque { .. } if single => raw.to_vec(),
        Datatype::FixedPoint { size: 1, .. } => raw.to_vec(),
        other => {
            return Ok(Value::Other(format!(
                "{} element(s) of {}",
                elements.map_or_else(|| "?".into(), |e| e.to_string()),
                describe(other)
            )))
        }
    };
    if bytes.len() > limits.max_value {
        return Err(format!(
            "value is {} bytes, over the {} MiB cap",
            bytes.len(),
            limits.max_value >> 20
        ));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => Value::Text(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    })
}

fn describe(d: &Datatype) -> &'static str {
    match d {
        Datatype::FixedPoint { .. } => "integer",
        Datatype::FloatingPoint { .. } => "float",
        Datatype::String { .. } => "string",
        Datatype::Compound { .. } => "compound",
        Datatype::Array { .. } => "array",
        Datatype::Enum { .. } => "enum",
        Datatype::VarLen { .. } => "variable-length",
        Datatype::Opaque { .. } => "opaque",
        Datatype::Reference { .. } => "reference",
        Datatype::Bitfield { .. } => "bitfield",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KERAS: &[&str] = &["model_config", "training_config", "keras_version", "backend"];

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/testdata/models/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn fuzz_regressions_are_errors() {
        // Inputs a fuzz pass stopped on (kept under fuzz/regressions/h5/; docs/fuzzing.md says
        // why each was kept). Each is malformed: the reader must say so, within its limits.
        let dir = format!("{}/fuzz/regressions/h5", env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let r = root_attributes(&data, KERAS, &Limits::default());
            assert!(r.is_err(), "{}: {r:?}", path.display());
            n += 1;
        }
        assert!(n > 0, "no regression inputs found");
    }

    #[test]
    fn garbage_and_truncations_are_errors_not_panics() {
        let real = fixture("benign/keras/sequential_dense.h5");
        let mut cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            MAGIC.to_vec(),
            b"not hdf5 at all".to_vec(),
            [MAGIC.as_slice(), &[0xff; 200]].concat(),
        ];
        for cut in [8usize, 40, 96, 300, 800, 2000, real.len() / 2] {
            cases.push(real[..cut.min(real.len())].to_vec());
        }
        for (i, c) in cases.iter().enumerate() {
            let r = root_attributes(c, KERAS, &Limits::default());
            assert!(
                r.is_err() || r.as_ref().is_ok_and(|r| r.values.len() <= 4),
                "case {i}: {r:?}"
            );
        }
    }

    #[test]
    fn reads_keras_root_attributes_of_a_real_file() {
        let data = fixture("benign/keras/sequential_dense.h5");
        let root = root_attributes(&data, KERAS, &Limits::default()).unwrap();
        assert!(root.names.iter().any(|n| n == "model_config"), "{:?}", root.names);
        let config = root.get("model_config").unwrap().as_ref().unwrap();
        assert!(config.as_text().unwrap().contains("Sequential"));
        assert!(root.get("keras_version").is_some());
    }

    #[test]
    fn weights_only_file_has_no_model_config() {
        let data = fixture("benign/keras/dense.weights.h5");
        let root = root_attributes(&data, KERAS, &Limits::default()).unwrap();
        assert!(root.get("model_config").is_none());
    }

    #[test]
    fn read_caps_are_enforced() {
        let data = fixture("benign/keras/sequential_dense.h5");
        let tight = Limits {
            max_total: 64,
            ..Limits::default()
        };
        assert!(matches!(root_attributes(&data, KERAS, &tight), Err(Error::Limit(_))));
    }
}
