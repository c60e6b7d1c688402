//! What the AI-BOM needs to know about a dataset, whatever metadata described it.
//!
//! `check-lineage`'s reader (`crate::lineage`) finds every dataset-metadata source — llmguard's
//! lineage format, Hugging Face dataset cards, Croissant, DVC files and `dvc.lock` stages, Git LFS
//! pointers, checksum manifests — and reads each into a `DatasetRecord`. Each record becomes a
//! `DatasetInput` (`From`), and [`datasets`] joins the records of one dataset into one input, the
//! way `check-lineage` groups them (`scan::lineage::dataset_groups`): the descriptive records in
//! one directory (an llmguard file, a card and a Croissant file) are one dataset, described first
//! by the llmguard file, then Croissant, then the card. A DVC file, `dvc.lock` stage, LFS pointer
//! or checksum manifest joins the dataset that lists one of its files or whose metadata sits in
//! its directory; a DVC record that joins none is a dataset of its own (named by its first
//! output, or by its stage); an LFS pointer or manifest that joins none describes no dataset.
//!
//! # Which dataset a name means
//!
//! A model card's `datasets:` entry, or a GGUF file's `general.dataset.N.repo_url` / `.name`,
//! names a dataset ([`DatasetInput::is_named`]) when, ignoring case, it is
//! 1. a Hugging Face dataset id (`org/name`, or a `https://huggingface.co/datasets/org/name` URL)
//!    equal to the dataset's Hub id (from a Hub dataset URL among its sources);
//! 2. equal to the dataset's name or id (any of its records'); or `org/name` whose `name` is the
//!    dataset's name, when the dataset has no Hub id of its own;
//! 3. a path (relative to the naming file's directory, or to the scan root) of the dataset's
//!    metadata file, of the directory that holds it, or of one of its data files.

use crate::lineage::{DatasetRecord, FileKind, ParentRef, SourceFormat};

/// One data file of a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct DatasetFile {
    /// As the metadata names it (relative to the metadata file).
    pub path: String,
    /// Relative to the scan root, `/` separators (`None` when it leaves the root).
    pub relative: Option<String>,
    /// As the user would name it (findings about the file carry this path).
    pub display: Option<String>,
    /// Lower-case hex, when the metadata declares it.
    pub sha256: Option<String>,
    /// Lower-case hex MD5 of the bytes as stored, when declared (DVC with `hash: md5`; DVC 2's
    /// line-ending-normalised MD5 of text files is not a digest of the stored bytes).
    pub md5: Option<String>,
    pub size: Option<u64>,
    /// A DVC directory output (its MD5 names a listing in the DVC cache, not these bytes).
    pub directory: bool,
}

/// A metadata file that describes a dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataSource {
    pub format: Option<SourceFormat>,
    /// As the user named it.
    pub display: String,
    /// Relative to the scan root, `/` separators.
    pub relative: String,
    /// Line of the record in it.
    pub line: u32,
}

/// A dataset as the AI-BOM renders it: a `data` component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetInput {
    pub name: String,
    /// Other names and ids its records give it.
    pub aliases: Vec<String>,
    pub version: Option<String>,
    /// Where it came from: a URL (`https://huggingface.co/datasets/org/name`) or an internal
    /// system id; the first its metadata gives.
    pub origin: Option<String>,
    /// Every origin its records give (for the Hub id).
    pub origins: Vec<String>,
    /// As declared: the SPDX expression when the text (or licence URL) is one, else the text.
    pub license: Option<String>,
    /// The licence URL when it was declared as one that maps to no SPDX id.
    pub license_url: Option<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
    /// `Some(true)` when the metadata declares personal data, `Some(false)` when it declares
    /// none, `None` when it says nothing.
    pub personal_data: Option<bool>,
    /// Categories of sensitive data it declares (`email`, `health data`…).
    pub sensitive: Vec<String>,
    /// A data classification label (`public`, `internal`, `confidential`, …).
    pub classification: Option<String>,
    /// A digest of the whole dataset as declared (lower-case hex SHA-256).
    pub sha256: Option<String>,
    pub files: Vec<DatasetFile>,
    /// Upstream datasets, by name, id, path or URL.
    pub parents: Vec<String>,
    /// The metadata that describes it, the primary source first.
    pub metadata: Vec<MetadataSource>,
}

/// The Hugging Face dataset id (`org/name`) of a Hub dataset URL (`https://huggingface.co/
/// datasets/org/name/...`, `hf://datasets/org/name`).
pub fn hub_dataset_id(url: &str) -> Option<String> {
    let rest = url
        .trim()
        .strip_prefix("https://huggingface.co/datasets/")
        .or_else(|| url.strip_prefix("http://huggingface.co/datasets/"))
        .or_else(|| url.strip_prefix("hf://datasets/"))?;
    let mut parts = rest.split(['/', '?', '#', '@']).filter(|p| !p.is_empty());
    let (a, b) = (parts.next()?, parts.next());
    Some(match b {
        Some(b) if b != "tree" && b != "blob" && b != "resolve" => format!("{a}/{b}"),
        _ => a.to_string(),
    })
}

/// `dir/rel` with `.` and `..` resolved lexically, `/` separators; `None` when it climbs above
/// `dir`'s root or is absolute.
fn join_normalised(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') || rel.contains("://") {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for p in dir.split('/').chain(rel.split('/')) {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

fn parent_dir(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

impl From<&DatasetRecord> for DatasetInput {
    fn from(r: &DatasetRecord) -> Self {
        let text = |f: &Option<crate::lineage::Field<String>>| {
            f.as_ref().map(|f| f.value.trim().to_string()).filter(|s| !s.is_empty())
        };
        let dir_name = parent_dir(&r.metadata_relative)
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut names: Vec<String> = [text(&r.name), text(&r.id)].into_iter().flatten().collect();
        if names.is_empty() {
            // A card or Croissant file without a name: the directory names the dataset, as a
            // Hub dataset repository's directory does; else the metadata file.
            names.push(if dir_name.is_empty() || r.format == SourceFormat::Dvc {
                r.metadata_relative
                    .rsplit('/')
                    .next()
                    .unwrap_or(&r.metadata_relative)
                    .to_string()
            } else {
                dir_name
            });
        }
        let name = names.remove(0);
        names.retain(|n| !n.eq_ignore_ascii_case(&name));
        let licence = r.license.first().map(|l| &l.value);
        let pd = &r.personal_data;
        let mut sensitive: Vec<String> = pd.categories.iter().map(|c| c.value.clone()).collect();
        if pd.contains_phi.as_ref().is_some_and(|f| f.value) {
            sensitive.push("health data".into());
        }
        let valid = |d: &Option<crate::lineage::Field<crate::lineage::DigestDecl>>| {
            d.as_ref().filter(|d| d.value.valid).map(|d| d.value.hex.clone())
        };
        DatasetInput {
            name,
            aliases: names,
            version: text(&r.version),
            origin: r.source.first().map(|s| s.value.clone()),
            origins: r.source.iter().map(|s| s.value.clone()).collect(),
            license: licence.map(|l| {
                l.spdx
                    .clone()
                    .or_else(|| l.hub_id.clone())
                    .unwrap_or_else(|| l.raw.clone())
            }),
            license_url: licence
                .filter(|l| l.spdx.is_none() && l.raw.contains("://"))
                .map(|l| l.raw.clone()),
            owner: text(&r.owner).or_else(|| text(&r.contact)),
            description: text(&r.description),
            personal_data: pd.contains_pii.as_ref().map(|f| f.value),
            sensitive,
            classification: text(&r.classification),
            sha256: r
                .dataset_digest
                .as_ref()
                .filter(|d| d.value.valid && d.value.algorithm == crate::lineage::Algorithm::Sha256)
                .map(|d| d.value.hex.clone()),
            files: r
                .files
                .iter()
                .filter(|f| !f.dependency)
                .map(|f| {
                    let directory = f.kind == FileKind::DvcDirectory;
                    DatasetFile {
                        path: f.path.value.clone(),
                        relative: f.relative.clone(),
                        display: f.display.clone(),
                        sha256: valid(&f.sha256),
                        md5: valid(&f.md5).filter(|_| !directory && !f.md5_text_normalised),
                        size: f.size.as_ref().map(|s| s.value),
                        directory,
                    }
                })
                .collect(),
            parents: r
                .parents
                .iter()
                .map(|p| match &p.reference {
                    ParentRef::Id(s) | ParentRef::Path(s) | ParentRef::Url(s) => s.clone(),
                })
                .collect(),
            metadata: vec![MetadataSource {
                format: Some(r.format),
                display: r.metadata_path.clone(),
                relative: r.metadata_relative.clone(),
                line: r.at.line,
            }],
        }
    }
}

impl DatasetInput {
    /// Take in what another record of the same dataset adds: fields this one lacks, other
    /// names, files and their digests, parents, and the metadata file.
    pub fn absorb(&mut self, other: DatasetInput) {
        fn fill<T>(a: &mut Option<T>, b: Option<T>) {
            if a.is_none() {
                *a = b;
            }
        }
        for n in std::iter::once(other.name).chain(other.aliases) {
            if !n.eq_ignore_ascii_case(&self.name) && !self.aliases.iter().any(|a| a.eq_ignore_ascii_case(&n)) {
                self.aliases.push(n);
            }
        }
        fill(&mut self.version, other.version);
        fill(&mut self.origin, other.origin);
        for o in other.origins {
            if !self.origins.contains(&o) {
                self.origins.push(o);
            }
        }
        if self.license.is_none() {
            self.license = other.license;
            self.license_url = other.license_url;
        }
        fill(&mut self.owner, other.owner);
        fill(&mut self.description, other.description);
        fill(&mut self.personal_data, other.personal_data);
        for s in other.sensitive {
            if !self.sensitive.contains(&s) {
                self.sensitive.push(s);
            }
        }
        fill(&mut self.classification, other.classification);
        fill(&mut self.sha256, other.sha256);
        for f in other.files {
            let same = |e: &DatasetFile| match (&e.relative, &f.relative) {
                (Some(a), Some(b)) => a == b,
                _ => e.path == f.path,
            };
            match self.files.iter_mut().find(|e| same(e)) {
                Some(e) => {
                    fill(&mut e.sha256, f.sha256);
                    fill(&mut e.md5, f.md5);
                    fill(&mut e.size, f.size);
                }
                None => self.files.push(f),
            }
        }
        for p in other.parents {
            if !self.parents.contains(&p) {
                self.parents.push(p);
            }
        }
        self.metadata.extend(other.metadata);
    }

    /// The Hugging Face dataset id (`org/name`) of the first Hub dataset URL among its origins.
    pub fn hub_id(&self) -> Option<String> {
        self.origins.iter().chain(&self.origin).find_map(|o| hub_dataset_id(o))
    }

    /// The directory of its primary metadata, relative to the scan root.
    pub fn dir(&self) -> &str {
        self.metadata.first().map_or("", |m| parent_dir(&m.relative))
    }

    /// Whether `id` names this dataset (the rule is in the module documentation). `from_dir` is
    /// the root-relative directory of the file that names it, for paths.
    pub fn is_named(&self, id: &str, from_dir: &str) -> bool {
        let id = id.trim();
        if id.is_empty() {
            return false;
        }
        let lower = id.to_ascii_lowercase();
        let hub = self.hub_id().map(|h| h.to_ascii_lowercase());
        let wanted = hub_dataset_id(id).map_or_else(|| lower.clone(), |h| h.to_ascii_lowercase());
        if hub.as_deref() == Some(wanted.as_str()) {
            return true;
        }
        let names: Vec<String> = std::iter::once(&self.name)
            .chain(&self.aliases)
            .map(|n| n.to_ascii_lowercase())
            .collect();
        if names.contains(&wanted) {
            return true;
        }
        if hub.is_none() && wanted.matches('/').count() == 1 && !wanted.contains("://") {
            let tail = wanted.rsplit('/').next().unwrap_or(&wanted);
            if names.iter().any(|n| !n.contains('/') && n == tail) {
                return true;
            }
        }
        // A path: of a metadata file, its directory, or a data file.
        let candidates: Vec<String> = [join_normalised(from_dir, id), join_normalised("", id)]
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty())
            .collect();
        let matches = |p: &str| candidates.iter().any(|c| c == p);
        self.metadata
            .iter()
            .any(|m| matches(&m.relative) || matches(parent_dir(&m.relative)))
            || self.files.iter().any(|f| f.relative.as_deref().is_some_and(matches))
    }
}

/// The datasets among `records` (model cards already taken out): one input per dataset, in the
/// order of their primary metadata file.
pub fn datasets(records: &[DatasetRecord]) -> Vec<DatasetInput> {
    let mut out: Vec<DatasetInput> = crate::scan::lineage::dataset_groups(records)
        .into_iter()
        .filter_map(|g| {
            let mut it = g.into_iter().map(|i| DatasetInput::from(&records[i]));
            let mut d = it.next()?;
            for other in it {
                d.absorb(other);
            }
            Some(d)
        })
        .collect();
    let descriptive = out.len();
    for r in records.iter().filter(|r| !r.format.descriptive()) {
        let input = DatasetInput::from(r);
        let dir = parent_dir(&r.metadata_relative);
        let joins = out[..descriptive].iter().position(|d| {
            d.dir() == dir
                || input
                    .files
                    .iter()
                    .any(|f| f.relative.is_some() && d.files.iter().any(|e| e.relative == f.relative))
        });
        match joins {
            Some(i) => {
                // It adds digests and its metadata file, not a name; files only to a dataset
                // whose metadata lists none (a card).
                let target = &mut out[i];
                let DatasetInput {
                    mut files, metadata, ..
                } = input;
                if !target.files.is_empty() {
                    files.retain(|f| target.files.iter().any(|e| e.relative == f.relative));
                }
                target.absorb(DatasetInput {
                    name: target.name.clone(),
                    files,
                    metadata,
                    ..DatasetInput::default()
                });
            }
            None if matches!(r.format, SourceFormat::Dvc | SourceFormat::DvcLock) => out.push(input),
            None => {}
        }
    }
    out.sort_by(|a, b| {
        let key = |d: &DatasetInput| d.metadata.first().map(|m| (m.relative.clone(), m.line));
        key(a).cmp(&key(b))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, origin: Option<&str>, metadata: &str, files: &[&str]) -> DatasetInput {
        DatasetInput {
            name: name.into(),
            origin: origin.map(String::from),
            origins: origin.into_iter().map(String::from).collect(),
            metadata: vec![MetadataSource {
                relative: metadata.into(),
                ..MetadataSource::default()
            }],
            files: files
                .iter()
                .map(|f| DatasetFile {
                    path: f.rsplit('/').next().unwrap().into(),
                    relative: Some((*f).into()),
                    ..DatasetFile::default()
                })
                .collect(),
            ..DatasetInput::default()
        }
    }

    #[test]
    fn which_dataset_a_name_means() {
        let d = input(
            "support-tickets",
            Some("https://huggingface.co/datasets/acme/support-tickets"),
            "data/tickets/lineage.json",
            &["data/tickets/tickets.jsonl"],
        );
        assert_eq!(d.hub_id().as_deref(), Some("acme/support-tickets"));
        // 1. the Hub id, as an id or a URL, ignoring case.
        assert!(d.is_named("acme/support-tickets", ""));
        assert!(d.is_named("ACME/Support-Tickets", ""));
        assert!(d.is_named("https://huggingface.co/datasets/acme/support-tickets/tree/main", ""));
        // 2. its name; but another organisation's dataset of that name is another dataset.
        assert!(d.is_named("support-tickets", ""));
        assert!(!d.is_named("other/support-tickets", ""));
        assert!(!d.is_named("acme/faq", ""));
        // Without a Hub id, `org/name` matches by its name.
        let local = input("faq", Some("s3://bucket/faq"), "data/faq/lineage.json", &[]);
        assert_eq!(local.hub_id(), None);
        assert!(local.is_named("acme/faq", ""));
        // 3. paths: the metadata file, its directory, a data file; from the naming file's
        // directory or from the root; never above the root.
        assert!(d.is_named("data/tickets", ""));
        assert!(d.is_named("../../data/tickets/lineage.json", "models/bot"));
        assert!(d.is_named("./data/tickets/tickets.jsonl", "models/bot"));
        assert!(!d.is_named("../../../data/tickets", "models/bot"));
        assert!(!d.is_named("data", ""));
        assert!(!d.is_named("/data/tickets", ""));
        assert!(!d.is_named("  ", ""));
    }

    fn discovered(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<DatasetRecord>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let root = dir.path().canonicalize().unwrap();
        let d = crate::lineage::discover(
            std::slice::from_ref(&root),
            &root,
            &crate::lineage::DiscoverOptions::default(),
        )
        .unwrap();
        (dir, d.records)
    }

    const SHA: &str = "87d521d90b9be4747bdd0e94e89326b60af4f7c8451fde8c85599d2912d54835";

    #[test]
    fn records_of_one_dataset_become_one_input() {
        let lineage = format!(
            r#"{{"name": "tickets", "version": "2", "source": "https://huggingface.co/datasets/acme/tickets",
                "license": "cc-by-4.0", "owner": "Support", "classification": "internal",
                "contains_pii": true, "personal_data": {{"categories": ["email"]}},
                "files": [{{"path": "t.jsonl", "sha256": "{SHA}", "size_bytes": 178}}],
                "source_datasets": ["raw-export"]}}"#
        );
        let (_dir, records) = discovered(&[
            ("tickets/lineage.json", &lineage),
            (
                "tickets/README.md",
                "---\nlicense: mit\npretty_name: ACME tickets\n---\n# Dataset Card for ACME tickets\n",
            ),
            ("tickets/t.jsonl", "{}\n"),
            (
                "tickets/t.jsonl.dvc",
                "outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 3\n  hash: md5\n  path: t.jsonl\n",
            ),
            (
                "eval/e.csv.dvc",
                "outs:\n- md5: 00112233445566778899aabbccddeeff\n  size: 9\n  path: e.csv\n",
            ),
            ("eval/e.csv", "a,b\r\n1,2\r\n"),
            ("lone/SHA256SUMS", &format!("{SHA}  x.bin\n")),
        ]);
        let ds = datasets(&records);
        assert_eq!(ds.len(), 2, "{ds:#?}");
        let e = &ds[0];
        assert_eq!(e.name, "e.csv");
        assert_eq!(e.metadata[0].format, Some(SourceFormat::Dvc));
        // DVC 2 (no `hash: md5`) hashes text with LF line endings: not a digest of the bytes.
        assert_eq!(e.files[0].md5, None);
        assert_eq!(e.files[0].size, Some(9));
        let t = &ds[1];
        assert_eq!(t.name, "tickets");
        assert_eq!(t.aliases, ["ACME tickets"]);
        // The llmguard file describes it first: its licence wins over the card's.
        assert_eq!(t.license.as_deref(), Some("CC-BY-4.0"));
        assert_eq!(t.owner.as_deref(), Some("Support"));
        assert_eq!(t.classification.as_deref(), Some("internal"));
        assert_eq!(t.personal_data, Some(true));
        assert_eq!(t.sensitive, ["email"]);
        assert_eq!(t.parents, ["raw-export"]);
        assert_eq!(t.hub_id().as_deref(), Some("acme/tickets"));
        let formats: Vec<_> = t.metadata.iter().map(|m| m.format).collect();
        assert_eq!(
            formats,
            [
                Some(SourceFormat::Llmguard),
                Some(SourceFormat::HfCard),
                Some(SourceFormat::Dvc)
            ]
        );
        // One file, with the lineage file's SHA-256 and DVC's MD5 (DVC 3 hashes the bytes).
        assert_eq!(t.files.len(), 1);
        assert_eq!(t.files[0].sha256.as_deref(), Some(SHA));
        assert_eq!(t.files[0].md5.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert_eq!(t.files[0].relative.as_deref(), Some("tickets/t.jsonl"));
        assert!(t.is_named("tickets/t.jsonl", ""));
    }

    #[test]
    fn a_card_without_a_name_is_named_by_its_directory() {
        let (_dir, records) = discovered(&[(
            "chat-logs/README.md",
            "---\nlicense: mit\ntask_categories: [text-generation]\n---\n# Notes\n",
        )]);
        let ds = datasets(&records);
        assert_eq!(ds.len(), 1, "{ds:#?}");
        assert_eq!(ds[0].name, "chat-logs");
        assert_eq!(ds[0].license.as_deref(), Some("MIT"));
        assert!(ds[0].is_named("acme/chat-logs", ""));
    }
}
