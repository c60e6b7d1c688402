//! Any bytes through every `check-lineage` parser and then every check: llmguard's own
//! JSON/YAML format (and lists of records), Croissant JSON-LD, Hugging Face dataset cards
//! (front matter and sections), DVC `.dvc` files and `dvc.lock`, Git LFS pointers and checksum
//! manifests. A parser is chosen by the file's name, so the same input is parsed under every
//! name below and file seeds need no prefix. Data paths resolve inside an empty scratch
//! directory, so integrity checks find nothing to read and touch nothing else.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::config::LineageConfig;
use llmguard::lineage::{parse_bytes, DiscoverOptions, MetadataFile};
use llmguard::scan::lineage::{check, Settings};
use std::path::PathBuf;
use std::sync::OnceLock;

const NAMES: &[&str] = &[
    "dataset_metadata.json",
    "lineage.yaml",
    "croissant.jsonld",
    "README.md",
    "train.csv.dvc",
    "dvc.lock",
    "SHA256SUMS",
    "train.csv.sha256",
    "train.parquet",
];

static ROOT: OnceLock<PathBuf> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("llmguard-fuzz-lineage-{}", std::process::id()));
        std::fs::create_dir_all(d.join("data")).expect("scratch directory");
        d.canonicalize().expect("scratch directory")
    });
    let opts = DiscoverOptions::default();
    let config = LineageConfig::default();
    for (i, name) in NAMES.iter().enumerate() {
        let meta = MetadataFile {
            display: format!("data/{name}"),
            path: root.join("data").join(name),
            relative: format!("data/{name}"),
            // The first name is also read as a file named on the command line.
            explicit: i == 0,
        };
        let parsed = parse_bytes(&meta, data, root, &opts);
        if parsed.records.is_empty() {
            continue;
        }
        let settings = Settings {
            config: &config,
            root,
            discover: &opts,
            jobs: Some(1),
            sample_pii: None,
            today: 20_000,
        };
        let _ = check(&parsed.records, &[meta.path.clone()], &settings);
    }
});
