//! The inventory by content: which files are models (the format `scan-model` found), what their
//! headers say (safetensors and GGUF tensor shapes, GGUF `general.*`, ONNX producer and opsets,
//! `config.json`), how they group into one model per directory, their digests, and which ML
//! frameworks the repository's Python requirements declare.

use super::card::{self, Card};
use crate::model::source::{FileSource, Source, SourceReader};
use crate::model::{gguf, onnx, safetensors};
use crate::walk::Target;
use rayon::prelude::*;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;

/// The formats (as `scan-model` names them) that are models.
pub fn is_model_format(format: &str) -> bool {
    matches!(
        format,
        "pickle"
            | "pytorch-zip"
            | "pytorch-legacy"
            | "joblib"
            | "numpy"
            | "numpy-npz"
            | "safetensors"
            | "gguf"
            | "keras-h5"
            | "keras-v3"
            | "onnx"
    )
}

/// What loading a format can do: a level and why.
pub fn serialisation_risk(format: &str) -> (&'static str, &'static str) {
    match format {
        "pickle" | "pytorch-zip" | "pytorch-legacy" | "joblib" => {
            ("high", "pickle-based: loading it runs whatever code the file names")
        }
        "keras-h5" | "keras-v3" => (
            "medium",
            "Keras: Lambda layers and custom objects in its config run code when loaded",
        ),
        "numpy" | "numpy-npz" => (
            "low",
            "NumPy: object arrays are pickles (loaded only with allow_pickle)",
        ),
        _ => ("none", "data only: loading it runs no code"),
    }
}

/// Whether a format's weights can be saved in a format that runs no code.
pub fn is_pickle_based(format: &str) -> bool {
    matches!(format, "pickle" | "pytorch-zip" | "pytorch-legacy" | "joblib")
}

/// One file of the tree.
#[derive(Debug, Clone, Default)]
pub struct File {
    pub display: String,
    /// Relative to the scan root, `/`-separated (the display path outside it).
    pub rel: String,
    pub path: PathBuf,
    pub size: u64,
    /// `scan-model`'s format name.
    pub format: String,
    pub sha256: Option<String>,
    /// Why the file could not be hashed.
    pub hash_error: Option<String>,
    pub facts: Facts,
    /// Another path to the same file (an in-tree symbolic link, or the path a link leads to):
    /// the index of the file that stands for it. Such a file is in no model of its own.
    pub alias_of: Option<usize>,
    /// The other paths to this file (indices), when it stands for them.
    pub aliases: Vec<usize>,
}

/// What a model file's own header says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Elements of all tensors, computed from their shapes.
    pub parameters: Option<u64>,
    /// Elements by dtype (safetensors) or GGML type (GGUF).
    pub dtypes: BTreeMap<String, u64>,
    pub architecture: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub license: Option<String>,
    /// A Hugging Face repository id the file names as its source.
    pub hub_repo: Option<String>,
    pub source_url: Option<String>,
    /// ONNX producer name and version, IR version, default-domain opset.
    pub producer: Option<String>,
    pub ir_version: Option<i64>,
    pub opset: Option<i64>,
    /// Base models the file names (GGUF `general.base_model.N.*`).
    pub base_models: Vec<String>,
    /// Datasets the file names (GGUF `general.dataset.N.repo_url`, else `.name`).
    pub datasets: Vec<String>,
    /// GGUF `general.*` and safetensors `__metadata__`, for properties.
    pub metadata: Vec<(String, String)>,
}

/// What a Hugging Face `config.json` says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HfConfig {
    pub model_type: Option<String>,
    pub architectures: Vec<String>,
    pub torch_dtype: Option<String>,
    #[serde(rename = "_name_or_path")]
    pub name_or_path: Option<String>,
    pub transformers_version: Option<String>,
    pub quantization_config: Option<QuantConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct QuantConfig {
    pub quant_method: Option<String>,
}

/// A Hugging Face hub cache location: `models--org--name/snapshots/<revision>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubOrigin {
    pub repo: String,
    pub revision: Option<String>,
}

/// One model component: the files that belong together.
#[derive(Debug, Clone, Default)]
pub struct ModelGroup {
    /// Stable key: the directory (a Hugging Face model directory), the shard stem, or the file.
    pub key: String,
    /// The directory, relative to the scan root.
    pub dir: String,
    /// Indices into `Inventory::files`: the weights, then config, tokenizer and card files.
    pub weights: Vec<usize>,
    pub aux: Vec<usize>,
    /// The README.md model card, when the directory has one.
    pub card: Option<(usize, Card)>,
    pub config: Option<HfConfig>,
    pub hub: Option<HubOrigin>,
}

/// A framework a requirements file declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Library {
    /// PEP 503-normalised PyPI name.
    pub name: String,
    /// The pinned version (`==`), when exact.
    pub version: Option<String>,
    /// The requirement as written.
    pub requirement: String,
    pub file: String,
    pub line: u32,
    /// Model formats it loads (from `rules/aibom/frameworks.yaml`).
    pub loads: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub files: Vec<File>,
    pub models: Vec<ModelGroup>,
    pub libraries: Vec<Library>,
}

/// Auxiliary files of a Hugging Face model directory, by exact name.
const AUX_NAMES: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "preprocessor_config.json",
    "processor_config.json",
    "chat_template.json",
    "chat_template.jinja",
    "adapter_config.json",
    "README.md",
];

/// The scope the ONNX parser gives the opsets of `ModelProto.opset_import`.
const ONNX_MODEL_SCOPE: &str = "model";

/// Largest `config.json` read.
const MAX_CONFIG: u64 = 1 << 20;

/// Frameworks data, embedded from `rules/aibom/frameworks.yaml`.
const FRAMEWORKS: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/aibom/frameworks.json"));

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkList {
    frameworks: Vec<Framework>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Framework {
    name: String,
    loads: Vec<String>,
}

fn frameworks() -> BTreeMap<String, Vec<String>> {
    // Checked by `frameworks_data_parses`; a failure here is a bug in the shipped data.
    let list: FrameworkList = serde_json::from_str(FRAMEWORKS).unwrap_or(FrameworkList { frameworks: Vec::new() });
    list.frameworks
        .into_iter()
        .map(|f| (normalise(&f.name), f.loads))
        .collect()
}

/// PEP 503 name normalisation.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

fn file_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, f)| f)
}

/// `model-00001-of-00003.safetensors` → `model.safetensors`; `None` when not a shard name.
fn shard_stem(name: &str) -> Option<String> {
    let (stem, ext) = name.split_once('.').unwrap_or((name, ""));
    // `-NNNNN-of-NNNNN` at the end of the stem: 15 ASCII bytes, so the cut is a char boundary.
    let cut = stem.len().checked_sub(15)?;
    let tail = stem.as_bytes().get(cut..)?;
    let ok = tail[0] == b'-'
        && tail[1..6].iter().all(u8::is_ascii_digit)
        && &tail[6..10] == b"-of-"
        && tail[10..].iter().all(u8::is_ascii_digit);
    let base = stem.get(..cut).filter(|_| ok)?;
    Some(if ext.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{ext}")
    })
}

/// The Hugging Face hub cache layout in a path.
pub fn hub_origin(rel: &str) -> Option<HubOrigin> {
    let parts: Vec<&str> = rel.split('/').collect();
    let i = parts.iter().position(|p| p.starts_with("models--"))?;
    let repo = parts[i].strip_prefix("models--")?.replacen("--", "/", 1);
    if repo.is_empty() || repo.contains("--") {
        return None;
    }
    let revision = match (parts.get(i + 1), parts.get(i + 2)) {
        (Some(&"snapshots"), Some(rev)) if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(rev.to_string())
        }
        _ => None,
    };
    Some(HubOrigin { repo, revision })
}

/// A Hub repository id from a URL or an `org/name` string.
pub fn hub_repo_of(s: &str) -> Option<String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("https://huggingface.co/")
        .or_else(|| s.strip_prefix("http://huggingface.co/"))
        .or_else(|| s.strip_prefix("hf://"))
        .unwrap_or(s);
    if rest.starts_with("datasets/") || rest.starts_with("spaces/") || rest.contains("://") {
        return None;
    }
    let mut parts = rest.split(['/', '?', '#']).filter(|p| !p.is_empty());
    let (a, b) = (parts.next()?, parts.next()?);
    let ok = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c));
    (ok(a) && ok(b)).then(|| format!("{a}/{b}"))
}

/// Read what a model file's header says. Header-only: tensor payloads are never read.
fn facts(path: &std::path::Path, format: &str) -> Facts {
    let mut f = Facts::default();
    let Ok(src) = std::fs::File::open(path).and_then(FileSource::new) else {
        return f;
    };
    match format {
        "safetensors" => {
            if let Ok(h) = safetensors::parse(&src, &safetensors::Limits::default()) {
                let mut total = 0u64;
                for t in &h.tensors {
                    let n = t.shape.iter().try_fold(1u64, |a, d| a.checked_mul(*d)).unwrap_or(0);
                    total = total.saturating_add(n);
                    let e = f.dtypes.entry(t.dtype.clone()).or_default();
                    *e = e.saturating_add(n);
                }
                f.parameters = Some(total);
                f.metadata = h
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), crate::finding::truncate(v, 200)))
                    .collect();
            }
        }
        "gguf" => {
            let len = src.len();
            let g = gguf::parse(SourceReader::new(&src, 0, len), Some(len), &gguf::Limits::default());
            f.parameters = Some(g.parameters);
            for (id, n) in &g.elements_by_type {
                let name = gguf::ggml_type_name(*id).map_or_else(|| format!("type-{id}"), str::to_string);
                *f.dtypes.entry(name).or_default() += n;
            }
            let get = |k: &str| g.general.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
            f.architecture = get("general.architecture");
            f.name = get("general.name");
            f.version = get("general.version");
            f.license = get("general.license");
            // gguf-py's `general.source.repo_url` / `general.source.url`, and the older
            // `general.source.huggingface.repository`.
            let sources = [
                "general.source.repo_url",
                "general.source.url",
                "general.source.huggingface.repository",
                "general.repo_url",
                "general.url",
            ];
            f.hub_repo = sources.iter().find_map(|k| get(k).and_then(|v| hub_repo_of(&v)));
            f.source_url = sources[..2]
                .iter()
                .chain(&sources[3..])
                .find_map(|k| get(k))
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
            f.base_models = (0..4)
                .filter_map(|i| {
                    get(&format!("general.base_model.{i}.repo_url"))
                        .and_then(|u| hub_repo_of(&u))
                        .or_else(|| get(&format!("general.base_model.{i}.name")))
                })
                .collect();
            f.datasets = (0..16)
                .filter_map(|i| {
                    get(&format!("general.dataset.{i}.repo_url")).or_else(|| get(&format!("general.dataset.{i}.name")))
                })
                .collect();
            f.metadata = g
                .general
                .iter()
                .filter(|(k, _)| !k.starts_with("general.alignment"))
                .cloned()
                .collect();
        }
        "onnx" => {
            let o = onnx::parse(&src, &onnx::Limits::default());
            let text = |t: &Option<onnx::Text>| t.as_ref().map(|t| t.text.clone()).filter(|s| !s.is_empty());
            f.producer = match (text(&o.producer_name), text(&o.producer_version)) {
                (Some(n), Some(v)) => Some(format!("{n} {v}")),
                (n, _) => n,
            };
            f.ir_version = o.ir_version;
            f.opset = o
                .opsets
                .iter()
                // The model's own `opset_import` (the parser's scope `model`), not a local
                // function's.
                .filter(|s| s.scope == ONNX_MODEL_SCOPE && (s.domain.is_empty() || s.domain == "ai.onnx"))
                .map(|s| s.version)
                .max();
        }
        _ => {}
    }
    f
}

fn read_capped(path: &std::path::Path, cap: u64) -> Option<String> {
    let mut buf = Vec::new();
    std::fs::File::open(path).ok()?.take(cap).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

impl Inventory {
    /// Build the inventory of `targets`, whose sizes and formats `formats` gives (same order),
    /// reading model headers `jobs` files at a time.
    pub fn build(
        targets: &[Target],
        formats: &[(u64, String)],
        root: &std::path::Path,
        jobs: Option<usize>,
    ) -> anyhow::Result<Inventory> {
        let mut inv = Inventory::default();
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let mut dirs = BTreeMap::new();
        let mut real: Vec<Option<PathBuf>> = Vec::with_capacity(targets.len());
        for (t, (size, format)) in targets.iter().zip(formats) {
            let rel = relative_path(&t.path, &root, &mut dirs).unwrap_or_else(|| t.display.replace('\\', "/"));
            real.push(t.path.canonicalize().ok());
            inv.files.push(File {
                display: t.display.clone(),
                rel,
                path: t.path.clone(),
                size: *size,
                format: format.clone(),
                ..File::default()
            });
        }
        inv.link_aliases(&real, &root);
        // Header facts of the model files, in parallel (header reads only).
        let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?;
        let files = &inv.files;
        let facts: Vec<Option<Facts>> = pool.install(|| {
            files
                .par_iter()
                .map(|f| (f.alias_of.is_none() && is_model_format(&f.format)).then(|| facts(&f.path, &f.format)))
                .collect()
        });
        for (f, x) in inv.files.iter_mut().zip(facts) {
            if let Some(x) = x {
                f.facts = x;
            }
        }
        inv.group();
        inv.libraries = libraries(&inv.files);
        Ok(inv)
    }

    /// Files that are one file reached by several paths (`real`: each file's canonical path):
    /// one of them stands for the others, chosen by `alias_rank` and then by path, so the
    /// choice does not depend on the walk.
    fn link_aliases(&mut self, real: &[Option<PathBuf>], root: &std::path::Path) {
        let mut same: BTreeMap<&PathBuf, Vec<usize>> = BTreeMap::new();
        for (i, r) in real.iter().enumerate() {
            if let Some(r) = r {
                same.entry(r).or_default().push(i);
            }
        }
        for (r, mut idx) in same {
            if idx.len() < 2 {
                continue;
            }
            idx.sort_by(|&a, &b| {
                let (fa, fb) = (&self.files[a], &self.files[b]);
                (alias_rank(fa, r, root), &fa.rel, &fa.display).cmp(&(alias_rank(fb, r, root), &fb.rel, &fb.display))
            });
            let primary = idx[0];
            for &i in &idx[1..] {
                self.files[i].alias_of = Some(primary);
            }
            self.files[primary].aliases = idx[1..].to_vec();
        }
    }

    fn group(&mut self) {
        let mut by_dir: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, f) in self.files.iter().enumerate().filter(|(_, f)| f.alias_of.is_none()) {
            by_dir.entry(parent(&f.rel).to_string()).or_default().push(i);
        }
        for (dir, idx) in by_dir {
            let models: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| is_model_format(&self.files[i].format))
                .collect();
            if models.is_empty() {
                continue;
            }
            let named = |n: &str| idx.iter().copied().find(|&i| file_name(&self.files[i].rel) == n);
            let index = idx
                .iter()
                .copied()
                .find(|&i| file_name(&self.files[i].rel).ends_with(".index.json"));
            let hf_dir = named("config.json").is_some() || index.is_some();
            let mut groups: Vec<ModelGroup> = Vec::new();
            let mut shards: BTreeMap<String, usize> = BTreeMap::new();
            for &i in &models {
                let rel = self.files[i].rel.clone();
                let name = file_name(&rel);
                // A GGUF file is a model of its own, whatever shares its directory.
                if self.files[i].format == "gguf" || !hf_dir {
                    if self.files[i].format != "gguf" {
                        if let Some(stem) = shard_stem(name) {
                            let key = if dir.is_empty() { stem } else { format!("{dir}/{stem}") };
                            match shards.get(&key) {
                                Some(&g) => groups[g].weights.push(i),
                                None => {
                                    shards.insert(key.clone(), groups.len());
                                    groups.push(ModelGroup {
                                        key,
                                        dir: dir.clone(),
                                        weights: vec![i],
                                        ..ModelGroup::default()
                                    });
                                }
                            }
                            continue;
                        }
                    }
                    groups.push(ModelGroup {
                        key: rel.clone(),
                        dir: dir.clone(),
                        weights: vec![i],
                        ..ModelGroup::default()
                    });
                    continue;
                }
                match groups.iter_mut().find(|g| g.key == dir && g.dir == dir) {
                    Some(g) => g.weights.push(i),
                    None => groups.push(ModelGroup {
                        key: if dir.is_empty() { ".".to_string() } else { dir.clone() },
                        dir: dir.clone(),
                        weights: vec![i],
                        ..ModelGroup::default()
                    }),
                }
            }
            // Config, tokenizer, index and card files belong to the directory's model(s).
            let aux: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| {
                    let n = file_name(&self.files[i].rel);
                    !is_model_format(&self.files[i].format)
                        && (AUX_NAMES.contains(&n) || n.ends_with(".index.json") || (hf_dir && n.ends_with(".json")))
                })
                .collect();
            let card = named("README.md")
                .and_then(|i| read_capped(&self.files[i].path, card::MAX_CARD).map(|text| (i, card::parse(&text))));
            let config = named("config.json")
                .and_then(|i| read_capped(&self.files[i].path, MAX_CONFIG))
                .and_then(|text| serde_json::from_str::<HfConfig>(&text).ok());
            let hub = hub_origin(&format!("{dir}/"));
            let single = groups.len() == 1;
            for mut g in groups {
                // Auxiliary files go to the directory's one model, or to its Hugging Face model
                // (not to the GGUF exports beside it).
                let hf_group = hf_dir && self.files[g.weights[0]].format != "gguf";
                if single || hf_group {
                    g.aux = aux.clone();
                    g.config = config.clone();
                }
                g.card = card.clone();
                g.hub = hub.clone();
                g.weights.sort_by(|a, b| self.files[*a].rel.cmp(&self.files[*b].rel));
                self.models.push(g);
            }
        }
        self.models.sort_by(|a, b| a.key.cmp(&b.key));
    }

    /// Hash every file of every model, streamed, `jobs` at a time.
    pub fn hash(&mut self, jobs: Option<usize>) -> anyhow::Result<()> {
        let wanted: BTreeSet<usize> = self
            .models
            .iter()
            .flat_map(|m| m.weights.iter().chain(m.aux.iter()).copied())
            .collect();
        let wanted: Vec<usize> = wanted.into_iter().collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?;
        let files = &self.files;
        let digests: Vec<(usize, std::io::Result<crate::digest::FileDigest>)> = pool.install(|| {
            wanted
                .par_iter()
                .map(|&i| (i, crate::digest::sha256_file(&files[i].path)))
                .collect()
        });
        for (i, d) in digests {
            match d {
                Ok(d) => self.files[i].sha256 = Some(d.sha256),
                Err(e) => self.files[i].hash_error = Some(e.to_string()),
            }
        }
        // Another path to a hashed file has its digest (the report shows it for that path too).
        for i in 0..self.files.len() {
            if let Some(p) = self.files[i].alias_of {
                let digest = self.files[p].sha256.clone();
                self.files[i].sha256 = digest;
            }
        }
        Ok(())
    }
}

/// Which of several paths to one file stands for it, lowest first: the file's own location,
/// then a link to it, and last a Hugging Face hub cache's `blobs/` entry (its snapshot's link
/// carries the name users know).
fn alias_rank(f: &File, real: &std::path::Path, root: &std::path::Path) -> u8 {
    let parts: Vec<&str> = f.rel.split('/').collect();
    let in_blobs = parts
        .windows(2)
        .any(|w| w[0].starts_with("models--") && w[1] == "blobs");
    if in_blobs {
        3
    } else if real
        .strip_prefix(root)
        .is_ok_and(|r| r.to_string_lossy().replace('\\', "/") == f.rel)
    {
        0
    } else {
        1
    }
}

/// `path` relative to the (canonical) scan `root`, `/`-separated, with symbolic links inside
/// the tree left as they are: a link keeps its own name rather than its target's, so two paths
/// to one file stay two paths. Links above the root (how the root itself was spelled) are
/// resolved. `None` outside the root. `dirs` caches each directory's answer.
pub fn relative_path(
    path: &std::path::Path,
    root: &std::path::Path,
    dirs: &mut BTreeMap<PathBuf, Option<String>>,
) -> Option<String> {
    let abs = std::path::absolute(path).ok()?;
    let (parent, name) = (abs.parent()?, abs.file_name()?);
    let dir = match dirs.get(parent) {
        Some(d) => d.clone(),
        None => {
            let d = relative_dir(parent, root);
            dirs.insert(parent.to_path_buf(), d.clone());
            d
        }
    };
    let name = name.to_string_lossy();
    dir.map(|d| {
        if d.is_empty() {
            name.into_owned()
        } else {
            format!("{d}/{name}")
        }
    })
}

/// The directory `dir` (absolute, not resolved) relative to `root`: the part below the nearest
/// ancestor that is the root, read as written.
fn relative_dir(dir: &std::path::Path, root: &std::path::Path) -> Option<String> {
    let mut rest: Vec<String> = Vec::new();
    let mut at = dir;
    loop {
        if at.canonicalize().is_ok_and(|c| c == root) {
            rest.reverse();
            return Some(rest.join("/"));
        }
        let Some(name) = at.file_name() else {
            // `..` as written: resolve what is left.
            let base = at.canonicalize().ok()?;
            let mut parts: Vec<String> = base
                .strip_prefix(root)
                .ok()?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            rest.reverse();
            parts.extend(rest);
            return Some(parts.join("/"));
        };
        rest.push(name.to_string_lossy().into_owned());
        at = at.parent()?;
    }
}

/// ML frameworks declared in `requirements*.txt` and `pyproject.toml` files.
fn libraries(files: &[File]) -> Vec<Library> {
    let known = frameworks();
    let mut out = Vec::new();
    for f in files.iter().filter(|f| f.alias_of.is_none()) {
        let name = file_name(&f.rel);
        let lower = name.to_ascii_lowercase();
        let reqs = if lower.starts_with("requirements") && lower.ends_with(".txt") {
            read_capped(&f.path, 1 << 20)
                .map(|t| requirements_txt(&t))
                .unwrap_or_default()
        } else if lower == "pyproject.toml" {
            read_capped(&f.path, 1 << 20).map(|t| pyproject(&t)).unwrap_or_default()
        } else {
            continue;
        };
        for (req, line) in reqs {
            let Some((name, version)) = pep508(&req) else { continue };
            if let Some(loads) = known.get(&name) {
                out.push(Library {
                    name,
                    version,
                    requirement: req,
                    file: f.display.clone(),
                    line,
                    loads: loads.clone(),
                });
            }
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.name == b.name && a.version == b.version);
    out
}

/// Requirement lines with their line numbers (options, `-r` includes and comments skipped).
pub fn requirements_txt(text: &str) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    let mut start = 0u32;
    for (n, raw) in text.lines().enumerate() {
        let line = match raw.find(" #").or_else(|| raw.starts_with('#').then_some(0)) {
            Some(i) => &raw[..i],
            None => raw,
        };
        if pending.is_empty() {
            start = u32::try_from(n + 1).unwrap_or(u32::MAX);
        }
        if let Some(cont) = line.trim_end().strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let req = std::mem::take(&mut pending);
        let req = req.trim();
        if req.is_empty() || req.starts_with('-') {
            continue;
        }
        // `--hash=` options after the requirement.
        let req = req.split(" --").next().unwrap_or(req).trim();
        out.push((req.to_string(), start));
    }
    out
}

/// Requirements of a `pyproject.toml`: PEP 621 `dependencies` and `optional-dependencies`,
/// PEP 735 `dependency-groups`, and Poetry's dependency tables.
pub fn pyproject(text: &str) -> Vec<(String, u32)> {
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map_or(1, |i| u32::try_from(i + 1).unwrap_or(u32::MAX))
    };
    let mut reqs: Vec<String> = Vec::new();
    let strings = |v: &toml::Value, out: &mut Vec<String>| {
        if let Some(a) = v.as_array() {
            out.extend(a.iter().filter_map(|x| x.as_str().map(String::from)));
        }
    };
    if let Some(p) = doc.get("project").and_then(|p| p.as_table()) {
        if let Some(d) = p.get("dependencies") {
            strings(d, &mut reqs);
        }
        if let Some(opt) = p.get("optional-dependencies").and_then(|o| o.as_table()) {
            for v in opt.values() {
                strings(v, &mut reqs);
            }
        }
    }
    if let Some(groups) = doc.get("dependency-groups").and_then(|o| o.as_table()) {
        for v in groups.values() {
            strings(v, &mut reqs);
        }
    }
    let poetry = doc.get("tool").and_then(|t| t.get("poetry")).and_then(|p| p.as_table());
    if let Some(poetry) = poetry {
        let mut tables = vec![poetry.get("dependencies"), poetry.get("dev-dependencies")];
        if let Some(g) = poetry.get("group").and_then(|g| g.as_table()) {
            tables.extend(g.values().map(|v| v.get("dependencies")));
        }
        for t in tables.into_iter().flatten().filter_map(|t| t.as_table()) {
            for (name, spec) in t {
                let version = match spec {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Table(t) => t.get("version").and_then(|v| v.as_str()).unwrap_or("").to_string(),
                    _ => String::new(),
                };
                // Poetry's bare `1.2.3` means `==1.2.3`; `^`/`~` ranges stay as written.
                let spec = if version.chars().next().is_some_and(|c| c.is_ascii_digit()) {
                    format!("{name}=={version}")
                } else {
                    format!("{name}{version}")
                };
                reqs.push(spec);
            }
        }
    }
    reqs.into_iter()
        .map(|r| {
            let line = line_of(&r);
            (r, line)
        })
        .collect()
}

/// A PEP 508 requirement's normalised name and its exact pinned version (`==`/`===`).
pub fn pep508(req: &str) -> Option<(String, Option<String>)> {
    let req = req.trim();
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    let name = &req[..end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut rest = req[end..].trim_start();
    if rest.starts_with('[') {
        rest = rest.find(']').map_or("", |i| &rest[i + 1..]).trim_start();
    }
    let rest = rest.split(';').next().unwrap_or("").trim();
    let rest = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest)
        .trim();
    let version = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains([',', '*', ' ']))
        .map(String::from);
    Some((normalise(name), version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frameworks_data_parses() {
        let list: FrameworkList = serde_json::from_str(FRAMEWORKS).unwrap();
        assert!(list.frameworks.len() > 20);
        for f in &list.frameworks {
            assert_eq!(normalise(&f.name), f.name, "write names normalised");
            for l in &f.loads {
                assert!(is_model_format(l), "{}: unknown format {l}", f.name);
            }
        }
    }

    #[test]
    fn onnx_facts_carry_the_model_opset() {
        let onnx = |name: &str| {
            let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/models/benign/onnx")
                .join(name);
            facts(&p, "onnx")
        };
        // The default domain's version from `ModelProto.opset_import`, read independently from
        // the files' protobuf; `ai.onnx.ml` and local functions' imports do not count.
        let lr = onnx("skl_logreg.onnx");
        assert_eq!(lr.opset, Some(17));
        assert_eq!(lr.producer.as_deref(), Some("skl2onnx 1.20.0"));
        assert_eq!(onnx("torch_dynamo_mlp.onnx").opset, Some(20));
        assert_eq!(onnx("local_function.onnx").opset, Some(19));
    }

    #[test]
    fn shard_names() {
        assert_eq!(
            shard_stem("model-00001-of-00002.safetensors").as_deref(),
            Some("model.safetensors")
        );
        assert_eq!(
            shard_stem("pytorch_model-00002-of-00002.bin").as_deref(),
            Some("pytorch_model.bin")
        );
        assert_eq!(shard_stem("model.safetensors"), None);
        assert_eq!(shard_stem("x-1-of-2.bin"), None);
        assert_eq!(shard_stem("é-00001-of-00002"), Some("é".to_string()));
        // Multi-byte characters where the shard suffix would be: no panic, no match.
        assert_eq!(shard_stem("éééééééééééééééé.bin"), None);
        assert_eq!(shard_stem("a-0000é-of-0002.bin"), None);
    }

    #[test]
    fn hub_locations() {
        let rev = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            hub_origin(&format!("cache/models--acme--bot-7b/snapshots/{rev}/model.safetensors")),
            Some(HubOrigin {
                repo: "acme/bot-7b".into(),
                revision: Some(rev.into())
            })
        );
        assert_eq!(hub_origin("models/bot/model.safetensors"), None);
        assert_eq!(
            hub_repo_of("https://huggingface.co/acme/bot/tree/main").as_deref(),
            Some("acme/bot")
        );
        assert_eq!(hub_repo_of("acme/bot").as_deref(), Some("acme/bot"));
        assert_eq!(hub_repo_of("https://huggingface.co/datasets/acme/x"), None);
        assert_eq!(hub_repo_of("https://evil.example/acme/bot"), None);
        assert_eq!(hub_repo_of("gpt2"), None);
    }

    #[test]
    fn requirements_and_pep508() {
        let text = "# ML\ntorch==2.4.1 \\\n    --hash=sha256:abc\ntransformers[torch]>=4.40,<5 ; python_version >= '3.9'\n-r base.txt\n--index-url https://x\nNumPy===1.26.4  # pinned\n\nscikit_learn == 1.5.0\n";
        let reqs = requirements_txt(text);
        let lines: Vec<u32> = reqs.iter().map(|r| r.1).collect();
        assert_eq!(lines, vec![2, 4, 7, 9]);
        let parsed: Vec<_> = reqs.iter().map(|(r, _)| pep508(r).unwrap()).collect();
        assert_eq!(
            parsed,
            vec![
                ("torch".into(), Some("2.4.1".into())),
                ("transformers".into(), None),
                ("numpy".into(), Some("1.26.4".into())),
                ("scikit-learn".into(), Some("1.5.0".into())),
            ]
        );
        assert_eq!(pep508("torch==2.*"), Some(("torch".into(), None)));
        assert_eq!(pep508(""), None);
        assert_eq!(pep508("==1"), None);
    }

    #[test]
    fn pyproject_forms() {
        let text = "[project]\nname = \"app\"\ndependencies = [\"onnxruntime==1.20.1\", \"requests\"]\n[project.optional-dependencies]\ngpu = [\"torch>=2\"]\n[tool.poetry.dependencies]\npython = \"^3.11\"\nkeras = \"3.6.0\"\n";
        let reqs = pyproject(text);
        let names: Vec<_> = reqs.iter().filter_map(|(r, _)| pep508(r)).collect();
        assert!(names.contains(&("onnxruntime".into(), Some("1.20.1".into()))));
        assert!(names.contains(&("torch".into(), None)));
        assert!(names.contains(&("keras".into(), Some("3.6.0".into()))));
        assert_eq!(reqs.iter().find(|r| r.0.starts_with("onnx")).map(|r| r.1), Some(3));
        assert!(pyproject("not [toml").is_empty());
    }
}
