//! `--shard K/N`: one scan spread over N machines. Every shard sees the same targets, groups
//! them into *units*, and deals the units out by weight in a fixed order, so the N shards are
//! disjoint, complete and balanced, and each keeps only its own share.
//!
//! A unit is a model or dataset directory (with everything below it), a file with its
//! sidecars, or a lone file; checks that span a directory (a signature, a checksum manifest,
//! a sharded checkpoint) therefore see it whole. What marks a unit is defined here, once:
//!
//! - a directory that directly holds a file named like one of [`DIRECTORY_MARKERS`], or one
//!   of [`BESIDE_WEIGHTS`] next to a weights file ([`WEIGHTS`]), or a `README.md` that opens
//!   with YAML front matter (`---`, a model or dataset card as the Hugging Face Hub writes
//!   them), or a file that `check-lineage` reads as lineage metadata by its name
//!   ([`is_lineage_marker`]: the `metadata_names` and `manifest_names` of
//!   `rules/lineage/discovery.yaml`, such as `dataset_metadata.json` and `lineage.yaml`);
//! - `FILE` together with its sidecars `FILE.dvc`, `FILE.sha256`, … ([`SIDECARS`]); when
//!   `FILE` is a directory, everything below it joins too;
//! - units that share a file are one unit (a unit directory inside another is part of it).
//!
//! The deal: a unit weighs the bytes of its files plus [`FILE_WEIGHT`] per file; units go,
//! heaviest first (ties by their first path), each to the least-loaded shard (ties to the
//! lowest index). No two shards then differ by more than the heaviest unit.

use crate::walk::Target;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::path::Path;

/// `--shard K/N`: this run is share `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Shards beyond this are surely a typo (a GitHub matrix holds at most 256 jobs).
pub const MAX_SHARDS: u32 = 4096;

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (k, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected K/N, such as 2/4 (share K of N), not `{s}`"))?;
        let num = |v: &str, what: &str| {
            v.trim()
                .parse::<u32>()
                .map_err(|_| format!("{what} in `{s}` is not a whole number"))
        };
        let (index, count) = (num(k, "K")?, num(n, "N")?);
        if count == 0 || count > MAX_SHARDS {
            return Err(format!("N must be between 1 and {MAX_SHARDS}, not {count}"));
        }
        if index == 0 || index > count {
            return Err(format!("K must be between 1 and N ({count}), not {index}"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether run-level results (findings of the walk itself, counts of skipped files) are
    /// this shard's to report: shard 1's, so that merged shards report them once.
    pub fn reports_run_level(shard: Option<Shard>) -> bool {
        shard.is_none_or(|s| s.index == 1)
    }
}

/// What a shard report says about its share (the JSON report's `shard`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShardInfo {
    /// This shard, 1-based.
    pub index: u32,
    /// How many shards the run was dealt into.
    pub count: u32,
    /// SHA-256 of every target's path, size and unit: shards that walked different trees
    /// (another commit, a file that changed meanwhile) have different plans, and `merge`
    /// refuses to join them.
    pub plan: String,
    /// Units dealt to this shard.
    pub units: usize,
    /// Files in those units.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// How a file name marks a unit (compared ignoring ASCII case).
#[derive(Debug, Clone, Copy)]
pub enum Name {
    Is(&'static str),
    EndsWith(&'static str),
}

impl Name {
    fn matches(self, name: &str) -> bool {
        match self {
            Name::Is(n) => name.eq_ignore_ascii_case(n),
            Name::EndsWith(s) => ends_with_ignore_case(name, s).is_some(),
        }
    }
}

/// The part of `name` before `suffix` when `name` ends with it (ASCII case ignored) and is
/// longer than it.
fn ends_with_ignore_case<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = name.len().checked_sub(suffix.len()).filter(|c| *c > 0)?;
    (name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(suffix)).then(|| &name[..cut])
}

/// A file with one of these names makes its directory, and everything below it, one unit.
pub const DIRECTORY_MARKERS: &[(Name, &str)] = &[
    (Name::EndsWith(".safetensors.index.json"), "sharded safetensors index"),
    (Name::EndsWith(".bin.index.json"), "sharded PyTorch checkpoint index"),
    (Name::EndsWith(".h5.index.json"), "sharded TensorFlow checkpoint index"),
    (Name::EndsWith(".msgpack.index.json"), "sharded Flax checkpoint index"),
    (Name::EndsWith(".ckpt.index"), "TensorFlow checkpoint"),
    (Name::Is("model_index.json"), "diffusers pipeline"),
    (Name::Is("saved_model.pb"), "TensorFlow SavedModel"),
    (Name::Is("saved_model.pbtxt"), "TensorFlow SavedModel"),
    (Name::Is("MLmodel"), "MLflow model"),
    (Name::Is("model.sig"), "OpenSSF Model Signing signature"),
    (Name::Is("SHA256SUMS"), "checksum manifest"),
    (Name::Is("SHA256SUMS.txt"), "checksum manifest"),
    (Name::Is("SHA512SUMS"), "checksum manifest"),
    (Name::Is("SHA1SUMS"), "checksum manifest"),
    (Name::Is("MD5SUMS"), "checksum manifest"),
    (Name::Is("checksums.txt"), "checksum manifest"),
    (Name::Is("dvc.lock"), "DVC pipeline lock"),
    (Name::Is("dataset_infos.json"), "Hugging Face dataset metadata"),
    (Name::Is("dataset_info.json"), "Hugging Face dataset metadata"),
    (Name::Is("dataset_dict.json"), "Hugging Face dataset metadata"),
    (Name::Is("datapackage.json"), "Frictionless data package"),
    (Name::Is("croissant.json"), "Croissant dataset metadata"),
    (Name::EndsWith(".croissant.json"), "Croissant dataset metadata"),
];

/// Whether `name` is one that `check-lineage` discovers as lineage metadata (a metadata
/// file or a checksum manifest, by the names in `rules/lineage/discovery.yaml`). A manifest
/// named as a sidecar (`x.csv.sha256` beside `x.csv`, see [`SIDECARS`]) only joins its
/// subject: `has_subject` says whether that subject is among the targets.
pub fn is_lineage_marker(name: &str, has_subject: impl FnOnce(&str) -> bool) -> bool {
    let rules = crate::lineage::spec::LineageRules::shared();
    if rules.is_metadata_name(name) {
        return true;
    }
    if !rules.is_manifest_name(name) {
        return false;
    }
    match SIDECARS.iter().find_map(|s| ends_with_ignore_case(name, s)) {
        Some(subject) => !has_subject(subject),
        None => true,
    }
}

/// These make their directory a unit when it also holds a weights file.
pub const BESIDE_WEIGHTS: &[Name] = &[
    Name::Is("config.json"),
    Name::Is("adapter_config.json"),
    Name::Is("params.json"),
];

/// Weights files, for [`BESIDE_WEIGHTS`].
pub const WEIGHTS: &[Name] = &[
    Name::EndsWith(".safetensors"),
    Name::EndsWith(".bin"),
    Name::EndsWith(".pt"),
    Name::EndsWith(".pth"),
    Name::EndsWith(".ckpt"),
    Name::EndsWith(".h5"),
    Name::EndsWith(".keras"),
    Name::EndsWith(".onnx"),
    Name::EndsWith(".gguf"),
    Name::EndsWith(".msgpack"),
    Name::EndsWith(".npz"),
    Name::EndsWith(".pkl"),
    Name::EndsWith(".joblib"),
    Name::EndsWith(".tflite"),
];

/// `FILE` + one of these names a sidecar of `FILE` (a file or a directory).
pub const SIDECARS: &[&str] = &[".dvc", ".sha256", ".sha512", ".md5", ".sig"];

/// Weight of a file beyond its bytes, so that many small files spread too (the cost of
/// opening one, in bytes read).
pub const FILE_WEIGHT: u64 = 4096;

/// Whether `path` is a `README.md` that opens with YAML front matter (a model or dataset card).
pub fn is_card(path: &Path) -> bool {
    use std::io::Read;
    let named = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.eq_ignore_ascii_case("README.md"));
    let mut head = [0u8; 4];
    named
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
        && (head.starts_with(b"---\n") || head.starts_with(b"---\r"))
}

/// The unit of every file: `out[i]` is the index of the first file (in the order given) of
/// the unit that holds `names[i]`. `card(i)` says whether file `i` is a model or dataset card.
pub fn units(names: &[&str], card: impl Fn(usize) -> bool) -> Vec<usize> {
    // Paths as strings: hashing and comparing a `Path` walks its components, which made
    // planning cost more than scanning small files.
    let split: Vec<(&str, &str)> = names
        .iter()
        .map(|n| match n.rfind(std::path::is_separator) {
            Some(at) => (&n[..at], &n[at + 1..]),
            None => ("", *n),
        })
        .collect();
    let file_name = |i: usize| split[i].1;

    // Directories that are units by what they directly hold.
    let mut by_dir: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (dir, _)) in split.iter().enumerate() {
        by_dir.entry(dir).or_default().push(i);
    }
    // Every file and directory named, for sidecar subjects; built on first need.
    let mut present: Option<HashSet<&str>> = None;
    let mut has_subject = |dir: &str, subject: &str| {
        let present = present.get_or_insert_with(|| {
            let mut set = HashSet::new();
            for n in names {
                let mut a = *n;
                while !a.is_empty() && set.insert(a) {
                    a = parent(a);
                }
            }
            set
        });
        if dir.is_empty() {
            present.contains(subject)
        } else {
            present.contains(format!("{dir}{}{subject}", std::path::MAIN_SEPARATOR).as_str())
                || present.contains(format!("{dir}/{subject}").as_str())
        }
    };
    let mut anchors: HashSet<&str> = HashSet::new();
    for (dir, files) in &by_dir {
        let any = |set: &mut dyn Iterator<Item = Name>| {
            let set: Vec<Name> = set.collect();
            files.iter().any(|&i| set.iter().any(|n| n.matches(file_name(i))))
        };
        let marked = any(&mut DIRECTORY_MARKERS.iter().map(|(n, _)| *n))
            || (any(&mut BESIDE_WEIGHTS.iter().copied()) && any(&mut WEIGHTS.iter().copied()))
            || files
                .iter()
                .any(|&i| file_name(i).eq_ignore_ascii_case("README.md") && card(i))
            || files
                .iter()
                .any(|&i| is_lineage_marker(file_name(i), |subject| has_subject(dir, subject)));
        if marked {
            anchors.insert(dir);
        }
    }
    // Sidecars name their subject: `x.dvc` → `x`.
    let mut sidecars: Vec<(usize, &str)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        for s in SIDECARS {
            if let Some(subject) = ends_with_ignore_case(name, s) {
                if !subject.ends_with(std::path::is_separator) {
                    sidecars.push((i, subject));
                    anchors.insert(subject);
                }
                break;
            }
        }
    }

    // Union-find over files and anchors.
    let mut node: HashMap<&str, usize> = names.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    let mut up: Vec<usize> = (0..names.len()).collect();
    fn intern<'a>(node: &mut HashMap<&'a str, usize>, up: &mut Vec<usize>, p: &'a str) -> usize {
        *node.entry(p).or_insert_with(|| {
            up.push(up.len());
            up.len() - 1
        })
    }
    fn find(up: &mut [usize], mut x: usize) -> usize {
        while up[x] != x {
            up[x] = up[up[x]];
            x = up[x];
        }
        x
    }
    fn join(up: &mut [usize], a: usize, b: usize) {
        let (ra, rb) = (find(up, a), find(up, b));
        // The smaller index leads, so that files lead anchors and earlier files later ones.
        if ra < rb {
            up[rb] = ra;
        } else {
            up[ra] = rb;
        }
    }
    for (i, name) in names.iter().enumerate() {
        let mut a = *name;
        while !a.is_empty() {
            a = parent(a);
            if anchors.contains(a) {
                let n = intern(&mut node, &mut up, a);
                join(&mut up, i, n);
            }
        }
    }
    for (i, subject) in sidecars {
        let n = intern(&mut node, &mut up, subject);
        join(&mut up, i, n);
    }
    // The smaller index leads every join, so each unit's root is its first file.
    (0..names.len()).map(|i| find(&mut up, i)).collect()
}

/// The directory part of `path` (`""` at the top), as a prefix of it.
fn parent(path: &str) -> &str {
    path.rfind(std::path::is_separator).map_or("", |at| &path[..at])
}

/// The deal of one set of targets over `count` shards.
#[derive(Debug, Clone)]
pub struct Plan {
    count: u32,
    /// The shard (0-based) of each target, in the order given.
    shard_of: Vec<u32>,
    /// The unit (first file's index) of each target.
    unit_of: Vec<usize>,
    sizes: Vec<u64>,
    digest: String,
}

impl Plan {
    /// Deal `targets` (their sizes read from the file system; unreadable ones weigh nothing
    /// but their [`FILE_WEIGHT`]: the scan reports them).
    pub fn deal(targets: &[Target], count: u32) -> Plan {
        let names: Vec<&str> = targets.iter().map(|t| t.display.as_str()).collect();
        let sizes: Vec<u64> = targets
            .iter()
            .map(|t| std::fs::metadata(&t.path).map_or(0, |m| m.len()))
            .collect();
        Plan::deal_sized(&names, &sizes, count, |i| is_card(&targets[i].path))
    }

    /// Deal files of the given names and sizes; `card(i)` as for [`units`].
    pub fn deal_sized(names: &[&str], sizes: &[u64], count: u32, card: impl Fn(usize) -> bool) -> Plan {
        // Work in name order, whatever order the caller holds them in.
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| names[a].cmp(names[b]));
        let sorted: Vec<&str> = order.iter().map(|&i| names[i]).collect();
        let unit_sorted = units(&sorted, |j| card(order[j]));

        let mut weight: BTreeMap<usize, u64> = BTreeMap::new();
        for (j, &u) in unit_sorted.iter().enumerate() {
            *weight.entry(u).or_default() += sizes[order[j]].saturating_add(FILE_WEIGHT);
        }
        let mut dealt: Vec<(usize, u64)> = weight.into_iter().collect();
        // Heaviest first; ties by the unit's first path (its index in name order).
        dealt.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut loads: BinaryHeap<std::cmp::Reverse<(u64, u32)>> =
            (0..count.max(1)).map(|s| std::cmp::Reverse((0, s))).collect();
        let mut shard_of_unit: HashMap<usize, u32> = HashMap::new();
        for (u, w) in dealt {
            if let Some(std::cmp::Reverse((load, s))) = loads.pop() {
                shard_of_unit.insert(u, s);
                loads.push(std::cmp::Reverse((load.saturating_add(w), s)));
            }
        }

        let mut h = Sha256::new();
        h.update(b"llmguard-shard-plan/1\n");
        let mut shard_of = vec![0; names.len()];
        let mut unit_of = vec![0; names.len()];
        for (j, &i) in order.iter().enumerate() {
            let u = unit_sorted[j];
            shard_of[i] = shard_of_unit.get(&u).copied().unwrap_or(0);
            unit_of[i] = order[u];
            for part in [
                names[i].as_bytes(),
                sizes[i].to_string().as_bytes(),
                sorted[u].as_bytes(),
            ] {
                h.update(part);
                h.update([0]);
            }
        }
        Plan {
            count,
            shard_of,
            unit_of,
            sizes: sizes.to_vec(),
            digest: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// Whether target `i` (in the order given to `deal`) belongs to `shard`.
    pub fn takes(&self, shard: Shard, i: usize) -> bool {
        self.shard_of.get(i).is_some_and(|s| s + 1 == shard.index)
    }

    /// The unit of target `i`: the index of its unit's first file.
    pub fn unit_of(&self, i: usize) -> usize {
        self.unit_of.get(i).copied().unwrap_or(i)
    }

    /// What `shard`'s report says about its share.
    pub fn info(&self, shard: Shard) -> ShardInfo {
        let mine: Vec<usize> = (0..self.shard_of.len()).filter(|&i| self.takes(shard, i)).collect();
        let units: HashSet<usize> = mine.iter().map(|&i| self.unit_of[i]).collect();
        ShardInfo {
            index: shard.index,
            count: self.count,
            plan: self.digest.clone(),
            units: units.len(),
            files: mine.len(),
            bytes: mine.iter().map(|&i| self.sizes[i]).sum(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates_k_of_n() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!("1/1".parse::<Shard>(), Ok(Shard { index: 1, count: 1 }));
        for (bad, says) in [
            ("0/3", "K must be between 1 and N (3), not 0"),
            ("4/3", "K must be between 1 and N (3), not 4"),
            ("1/0", "N must be between 1"),
            ("1/5000", "N must be between 1 and 4096"),
            ("2", "expected K/N"),
            ("a/3", "K in `a/3` is not a whole number"),
            ("-1/3", "K in `-1/3`"),
        ] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    fn unit_names<'a>(names: &[&'a str]) -> Vec<Vec<&'a str>> {
        let u = units(names, |i| names[i].ends_with("card/README.md"));
        let mut groups: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (i, &f) in u.iter().enumerate() {
            groups.entry(f).or_default().push(names[i]);
        }
        groups.into_values().collect()
    }

    #[test]
    fn units_keep_model_and_dataset_directories_whole() {
        let names = [
            "m/bert/config.json",
            "m/bert/model-00001-of-00002.safetensors",
            "m/bert/onnx/model.onnx",
            "m/configs/config.json", // no weights beside it: not a unit
            "m/configs/other.yaml",
            "m/sd/model_index.json", // diffusers: the sub-models stay with the pipeline
            "m/sd/unet/config.json",
            "m/sd/unet/diffusion_pytorch_model.safetensors",
            "m/sd/vae/config.json",
            "m/signed/model.sig",
            "m/signed/weights/a.bin",
            "d/sums/SHA256SUMS",
            "d/sums/part/x.parquet",
            "d/cro/data.croissant.json",
            "d/cro/x.csv",
            "d/lake/images.dvc",
            "d/lake/images/1.png",
            "d/lake/images/2.png",
            "d/lake/labels.csv",
            "d/lake/labels.csv.sha256",
            "d/lake/loose.csv",
            "d/card/README.md",
            "d/card/train.jsonl",
            "loose.pkl",
        ];
        let mut sorted = names.to_vec();
        sorted.sort();
        let mut want: Vec<Vec<&str>> = vec![
            vec!["d/card/README.md", "d/card/train.jsonl"],
            vec!["d/cro/data.croissant.json", "d/cro/x.csv"],
            vec!["d/lake/images.dvc", "d/lake/images/1.png", "d/lake/images/2.png"],
            vec!["d/lake/labels.csv", "d/lake/labels.csv.sha256"],
            vec!["d/lake/loose.csv"],
            vec!["d/sums/SHA256SUMS", "d/sums/part/x.parquet"],
            vec!["loose.pkl"],
            vec![
                "m/bert/config.json",
                "m/bert/model-00001-of-00002.safetensors",
                "m/bert/onnx/model.onnx",
            ],
            vec!["m/configs/config.json"],
            vec!["m/configs/other.yaml"],
            vec![
                "m/sd/model_index.json",
                "m/sd/unet/config.json",
                "m/sd/unet/diffusion_pytorch_model.safetensors",
                "m/sd/vae/config.json",
            ],
            vec!["m/signed/model.sig", "m/signed/weights/a.bin"],
        ];
        let mut have = unit_names(&sorted);
        have.sort();
        want.sort();
        assert_eq!(have, want);
    }

    #[test]
    fn units_nest_into_the_outermost_and_chain_through_sidecars() {
        // A checksum manifest at the top takes the model directory inside it; a sidecar of a
        // sidecar joins both.
        let names = [
            "top/SHA256SUMS",
            "top/inner/config.json",
            "top/inner/w.safetensors",
            "x/a.bin",
            "x/a.bin.dvc",
            "x/a.bin.dvc.sig",
            "x/b.bin",
        ];
        let groups = unit_names(&names);
        assert_eq!(
            groups,
            vec![
                vec!["top/SHA256SUMS", "top/inner/config.json", "top/inner/w.safetensors"],
                vec!["x/a.bin", "x/a.bin.dvc", "x/a.bin.dvc.sig"],
                vec!["x/b.bin"],
            ]
        );
        // Case does not matter, and a bare suffix is no sidecar.
        assert_eq!(unit_names(&["q/sha256sums", "q/z"]).len(), 1);
        assert_eq!(unit_names(&["q/.dvc", "q/z"]).len(), 2);
    }

    #[test]
    fn lineage_metadata_and_manifests_keep_their_dataset_directory_whole() {
        let names = [
            "d/a/dataset_metadata.json",
            "d/a/train.csv",
            "d/a/x/more.csv",
            "d/b/lineage.yaml",
            "d/b/t.csv",
            "d/c/checksums.sha256", // a manifest: no `checksums` beside it
            "d/c/p.bin",
            "d/e/x.csv",
            "d/e/x.csv.sha256", // a sidecar of x.csv: the directory stays apart
            "d/e/y.csv",
            "d/f/train.csv",
        ];
        let groups = unit_names(&names);
        assert_eq!(
            groups,
            vec![
                vec!["d/a/dataset_metadata.json", "d/a/train.csv", "d/a/x/more.csv"],
                vec!["d/b/lineage.yaml", "d/b/t.csv"],
                vec!["d/c/checksums.sha256", "d/c/p.bin"],
                vec!["d/e/x.csv", "d/e/x.csv.sha256"],
                vec!["d/e/y.csv"],
                vec!["d/f/train.csv"],
            ]
        );
    }

    /// A pseudo-random tree: nested directories, some of them units, files of mixed sizes.
    fn tree(seed: u64) -> (Vec<String>, Vec<u64>) {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut names, mut sizes) = (Vec::new(), Vec::new());
        for d in 0..40 {
            let dir = format!("r/{}/d{d}", next() % 5);
            let marker = next() % 4 == 0;
            if marker {
                names.push(format!("{dir}/SHA256SUMS"));
                sizes.push(next() % 100);
            }
            for f in 0..(next() % 12) {
                names.push(format!("{dir}/{}f{f}.bin", if f % 3 == 0 { "sub/" } else { "" }));
                sizes.push(next() % (1 << (next() % 24)));
            }
        }
        (names, sizes)
    }

    #[test]
    fn deal_is_disjoint_complete_balanced_and_stable() {
        for seed in [1u64, 7, 42, 1234, 99991] {
            let (names, sizes) = tree(seed);
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            for count in 1..=5u32 {
                let plan = Plan::deal_sized(&refs, &sizes, count, |_| false);
                // Each file in exactly one shard.
                for (i, name) in refs.iter().enumerate() {
                    let owners = (1..=count)
                        .filter(|&k| plan.takes(Shard { index: k, count }, i))
                        .count();
                    assert_eq!(owners, 1, "{name} with {count} shards");
                }
                // Units are never split.
                for (i, name) in refs.iter().enumerate() {
                    let u = plan.unit_of(i);
                    assert_eq!(plan.shard_of[i], plan.shard_of[u], "{name} split from its unit");
                }
                // Loads differ by at most the heaviest unit.
                let mut unit_weight: BTreeMap<usize, u64> = BTreeMap::new();
                let mut load = vec![0u64; count as usize];
                for i in 0..refs.len() {
                    let w = sizes[i] + FILE_WEIGHT;
                    *unit_weight.entry(plan.unit_of(i)).or_default() += w;
                    load[plan.shard_of[i] as usize] += w;
                }
                let heaviest = unit_weight.values().max().copied().unwrap_or(0);
                let (lo, hi) = (load.iter().min().unwrap(), load.iter().max().unwrap());
                assert!(
                    hi - lo <= heaviest,
                    "seed {seed}, {count} shards: {load:?}, heaviest {heaviest}"
                );
                let total: u64 = (1..=count)
                    .map(|k| plan.info(Shard { index: k, count }).files as u64)
                    .sum();
                assert_eq!(total as usize, refs.len());

                // Stable: the same tree in another order deals the same, with the same plan.
                let mut rev: Vec<usize> = (0..refs.len()).collect();
                rev.reverse();
                let rnames: Vec<&str> = rev.iter().map(|&i| refs[i]).collect();
                let rsizes: Vec<u64> = rev.iter().map(|&i| sizes[i]).collect();
                let again = Plan::deal_sized(&rnames, &rsizes, count, |_| false);
                for (j, &i) in rev.iter().enumerate() {
                    assert_eq!(again.shard_of[j], plan.shard_of[i]);
                }
                assert_eq!(again.digest, plan.digest);
            }
        }
    }

    #[test]
    fn deal_order_is_heaviest_first_to_the_least_loaded() {
        // Weights (bytes + FILE_WEIGHT): a 10000, b 6000, c 5000, d and e 4096. a → 1 (a tie:
        // the lower shard); b → 2; c → 2 (6000 < 10000); d → 1 (10000 < 11000); e → 2.
        let names = ["a", "b", "c", "d", "e"];
        let sizes = vec![10000 - FILE_WEIGHT, 6000 - FILE_WEIGHT, 5000 - FILE_WEIGHT, 0, 0];
        let plan = Plan::deal_sized(&names, &sizes, 2, |_| false);
        assert_eq!(plan.shard_of, vec![0, 1, 1, 0, 1]);
        // Ties go to the lower shard, and equal units by name.
        let plan = Plan::deal_sized(&["y", "x"], &[0, 0], 3, |_| false);
        assert_eq!(plan.shard_of, vec![1, 0]);
    }

    #[test]
    fn plan_changes_with_the_tree() {
        let a = Plan::deal_sized(&["a", "b"], &[1, 2], 2, |_| false);
        let b = Plan::deal_sized(&["a", "b"], &[1, 3], 2, |_| false);
        let c = Plan::deal_sized(&["a", "c"], &[1, 2], 2, |_| false);
        assert_ne!(a.digest, b.digest);
        assert_ne!(a.digest, c.digest);
        assert_eq!(a.digest.len(), 64);
    }
}
