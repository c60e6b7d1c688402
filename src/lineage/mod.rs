//! Dataset lineage metadata: every source teams already keep, read into one `DatasetRecord`.
//!
//! Parsers live here, one module per source; they know nothing of rules beyond the data in
//! `rules/lineage/` that tells them what a placeholder or a card key looks like. The checks of
//! `check-lineage` are in `crate::scan::lineage`.
//!
//! | source | module | `SourceFormat` |
//! |---|---|---|
//! | llmguard's own JSON/YAML (a superset of MLOps dataset-metadata JSON) | `own` | `Llmguard` |
//! | Hugging Face dataset card: `README.md` front matter and the card template's sections | `hf_card` | `HfCard` |
//! | Croissant JSON-LD 1.0/1.1 with its Responsible-AI (`rai:`) fields | `croissant` | `Croissant` |
//! | DVC `*.dvc` files and `dvc.lock` | `dvc` | `Dvc`, `DvcLock` |
//! | Git LFS pointer files | `lfs` | `GitLfsPointer` |
//! | `SHA256SUMS` / `*.sha256` checksum manifests, GNU and BSD `--tag` lines | `manifest` | `ChecksumManifest` |
//!
//! # Public API (also used by `aibom`)
//!
//! [`discover`] walks paths and reads every source it recognises, **without running any
//! check**: it returns the records and the findings about unreadable or malformed metadata (and
//! paths that leave the scan root). [`discover_targets`] does the same for files already walked.
//! `DatasetRecord` is stable: fields are added, never renamed or removed, and every value that
//! came from a file carries the line (and JSON pointer) it came from.

pub mod croissant;
pub mod discover;
pub mod doc;
pub mod dvc;
pub mod hf_card;
pub mod lfs;
pub mod license;
pub mod manifest;
pub mod own;
pub mod spec;

pub use discover::{
    discover, discover_targets, parse_bytes, parse_file, resolve_data_path, DiscoverOptions, Discovered, MetadataFile,
    Parsed,
};

use schemars::JsonSchema;
use serde::Serialize;
use std::path::PathBuf;

/// Where in its metadata file a value was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub column: u32,
    /// JSON pointer of the value in a JSON/YAML document (`/files/0/sha256`); `None` for Markdown
    /// sections and line-based formats.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_path: Option<String>,
}

impl Span {
    pub fn line(line: u32) -> Span {
        Span {
            line,
            column: 0,
            key_path: None,
        }
    }

    /// The finding location of this span.
    pub fn location(&self) -> crate::finding::Location {
        crate::finding::Location {
            line: (self.line > 0).then_some(self.line),
            column: (self.column > 0).then_some(self.column),
            key_path: self.key_path.clone(),
            ..crate::finding::Location::default()
        }
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Field<T> {
    pub value: T,
    pub at: Span,
}

impl<T> Field<T> {
    pub fn new(value: T, at: Span) -> Self {
        Field { value, at }
    }
}

/// Which kind of metadata a record was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// llmguard's own lineage format (JSON or YAML).
    Llmguard,
    /// A Hugging Face dataset card (`README.md`).
    HfCard,
    /// Croissant JSON-LD.
    Croissant,
    /// A DVC `.dvc` file.
    Dvc,
    /// One stage of a `dvc.lock`.
    DvcLock,
    /// A Git LFS pointer file.
    GitLfsPointer,
    /// A `SHA256SUMS`-style checksum manifest.
    ChecksumManifest,
}

impl SourceFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Llmguard => "llmguard-lineage",
            SourceFormat::HfCard => "hf-dataset-card",
            SourceFormat::Croissant => "croissant",
            SourceFormat::Dvc => "dvc",
            SourceFormat::DvcLock => "dvc-lock",
            SourceFormat::GitLfsPointer => "git-lfs-pointer",
            SourceFormat::ChecksumManifest => "checksum-manifest",
        }
    }

    /// For people: "a Hugging Face dataset card".
    pub fn describe(self) -> &'static str {
        match self {
            SourceFormat::Llmguard => "an llmguard lineage file",
            SourceFormat::HfCard => "a Hugging Face dataset card",
            SourceFormat::Croissant => "a Croissant file",
            SourceFormat::Dvc => "a DVC file",
            SourceFormat::DvcLock => "a dvc.lock stage",
            SourceFormat::GitLfsPointer => "a Git LFS pointer",
            SourceFormat::ChecksumManifest => "a checksum manifest",
        }
    }

    /// Whether the format describes a dataset (name, licence, provenance) rather than only
    /// the integrity of files.
    pub fn descriptive(self) -> bool {
        matches!(
            self,
            SourceFormat::Llmguard | SourceFormat::HfCard | SourceFormat::Croissant
        )
    }
}

/// A provenance field that a project can require (`[lineage] required` in `llmguard.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Name,
    Version,
    Description,
    Source,
    Owner,
    CreatedAt,
    CollectionPeriod,
    CreationMethod,
    IntendedUse,
    Preprocessing,
    License,
    Classification,
    PersonalData,
    LegalBasis,
    Retention,
    Files,
}

impl Requirement {
    pub const ALL: &'static [Requirement] = &[
        Requirement::Name,
        Requirement::Version,
        Requirement::Description,
        Requirement::Source,
        Requirement::Owner,
        Requirement::CreatedAt,
        Requirement::CollectionPeriod,
        Requirement::CreationMethod,
        Requirement::IntendedUse,
        Requirement::Preprocessing,
        Requirement::License,
        Requirement::Classification,
        Requirement::PersonalData,
        Requirement::LegalBasis,
        Requirement::Retention,
        Requirement::Files,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::Name => "name",
            Requirement::Version => "version",
            Requirement::Description => "description",
            Requirement::Source => "source",
            Requirement::Owner => "owner",
            Requirement::CreatedAt => "created_at",
            Requirement::CollectionPeriod => "collection_period",
            Requirement::CreationMethod => "creation_method",
            Requirement::IntendedUse => "intended_use",
            Requirement::Preprocessing => "preprocessing",
            Requirement::License => "license",
            Requirement::Classification => "classification",
            Requirement::PersonalData => "personal_data",
            Requirement::LegalBasis => "legal_basis",
            Requirement::Retention => "retention",
            Requirement::Files => "files",
        }
    }

    pub fn parse(s: &str) -> Option<Requirement> {
        Requirement::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

/// A licence as written, and what it means in SPDX terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct License {
    /// As written in the metadata (`cc-by-4.0`, `https://creativecommons.org/licenses/by/4.0/`).
    pub raw: String,
    /// The canonical SPDX expression (`CC-BY-4.0`), when the text is one (case-insensitively) or
    /// a licence URL that maps to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spdx: Option<String>,
    /// A Hugging Face Hub licence id that is not an SPDX id (`other`, `openrail`, `llama3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_id: Option<String>,
    /// A word that names a non-public licence (`proprietary`, `internal`): understood, but it
    /// needs an explicit approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<String>,
    /// Deprecated SPDX ids used in the expression (`GPL-3.0`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deprecated: Vec<String>,
}

/// Digest algorithms metadata declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Sha256,
    Md5,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Md5 => "md5",
        }
    }

    /// Hex digits of a digest.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Md5 => 32,
        }
    }
}

/// A declared digest. `valid` is false when its length or characters do not fit the
/// algorithm: such a digest is malformed, not present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DigestDecl {
    pub algorithm: Algorithm,
    /// Lower-case hex as declared (only meaningful when `valid`).
    pub hex: String,
    pub valid: bool,
}

impl DigestDecl {
    /// Parse `hex` (optionally `algo:hex`) as a digest of `algorithm`.
    pub fn parse(algorithm: Algorithm, text: &str) -> DigestDecl {
        let t = text.trim();
        let t = t
            .split_once(':')
            .filter(|(a, _)| a.eq_ignore_ascii_case(algorithm.as_str()))
            .map_or(t, |(_, h)| h);
        let hex = t.to_ascii_lowercase();
        let valid = hex.len() == algorithm.hex_len() && hex.bytes().all(|b| b.is_ascii_hexdigit());
        DigestDecl { algorithm, hex, valid }
    }

    /// A `sha256:<hex>` / `md5:<hex>` string, or a bare hex digest whose length says which.
    pub fn parse_prefixed(text: &str) -> DigestDecl {
        let t = text.trim();
        match t.split_once(':') {
            Some((a, _)) if a.eq_ignore_ascii_case("md5") => DigestDecl::parse(Algorithm::Md5, t),
            Some((a, h)) if !a.eq_ignore_ascii_case("sha256") => DigestDecl {
                algorithm: Algorithm::Sha256,
                hex: h.to_ascii_lowercase(),
                valid: false,
            },
            _ if t.len() == 32 => DigestDecl::parse(Algorithm::Md5, t),
            _ => DigestDecl::parse(Algorithm::Sha256, t),
        }
    }
}

/// What a listed path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    File,
    /// A DVC directory output (its md5 names a `.dir` listing in the DVC cache).
    DvcDirectory,
    /// The file itself is a Git LFS pointer (the record of an `lfs` pointer file).
    LfsPointer,
}

/// A data file (or DVC directory) that metadata lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DataFile {
    /// The path as written, relative to the metadata file.
    pub path: Field<String>,
    /// Where it is, as the user would name it (the metadata's directory joined with `path`);
    /// `None` when the path leaves the scan root or is absolute (a `LIN002` finding).
    pub display: Option<String>,
    /// Root-relative path with `/` separators, for reports and AI-BOMs.
    pub relative: Option<String>,
    #[serde(skip)]
    pub resolved: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Field<DigestDecl>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<Field<DigestDecl>>,
    /// DVC without `hash: md5` (DVC 2.x) hashes text files after converting CRLF to LF.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub md5_text_normalised: bool,
    /// The sha256 was computed by `shasum -U` (universal newlines: CRLF and lone CR read as LF
    /// in text files), marked `U` (or `^` by older versions) before the name in a manifest.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sha256_universal: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<Field<u64>>,
    pub kind: FileKind,
    /// Whether the file is an input of a pipeline stage (a `dvc.lock` dependency) rather than
    /// part of the dataset.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dependency: bool,
}

/// A period with a start and an end (ISO 8601 dates as written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Period {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<Field<String>>,
    /// The period as one text when the source gives prose, not dates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Field<String>>,
    pub at: Span,
}

/// One processing step between the source and these bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Transformation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub at: Span,
}

/// How a parent (upstream) dataset is referenced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "by", content = "value", rename_all = "lowercase")]
pub enum ParentRef {
    /// A dataset id or name, resolved against scanned metadata.
    Id(String),
    /// A path relative to the metadata file (a metadata file or a dataset directory).
    Path(String),
    /// An external dataset, by URL.
    Url(String),
}

/// A parent dataset as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Parent {
    pub reference: ParentRef,
    /// The parent's licence when the child's metadata states it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<License>,
    pub at: Span,
}

/// What the metadata says about personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct PersonalData {
    /// Declared (`contains_pii`), or implied by a card's statement (see `implied`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains_pii: Option<Field<bool>>,
    /// `contains_pii` was read from prose (a card section, Croissant's
    /// `rai:personalSensitiveInformation`) rather than declared as a boolean.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub implied: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains_phi: Option<Field<bool>>,
    /// The prose statement about personal and sensitive information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<Field<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention: Option<Field<String>>,
    /// anonymised, pseudonymised, redacted, aggregated, encrypted, none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handling: Option<Field<String>>,
}

/// One dataset as one metadata source describes it. Every source maps into this one type,
/// so every check runs on every source; what a source cannot express is listed in
/// `cannot_express` rather than guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DatasetRecord {
    pub format: SourceFormat,
    /// The metadata file, as the user named it (joined with the path inside a directory).
    pub metadata_path: String,
    /// The metadata file relative to the scan root, `/` separators.
    pub metadata_relative: String,
    #[serde(skip)]
    pub metadata_fs: PathBuf,
    /// Where the record starts in the file (line 1 for whole-file records).
    pub at: Span,
    /// The format version the file declares (`croissant 1.1`, `dvc.lock schema 2.0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Field<String>>,
    /// Origin: a URL or an internal system id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<Field<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub license: Vec<Field<License>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_period: Option<Period>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_method: Option<Field<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intended_use: Option<Field<String>>,
    /// Declared for commercial use (model training included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commercial_use: Option<Field<bool>>,
    /// Prose about preprocessing when the source has no list of steps (a card section).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preprocessing: Option<Field<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transformations: Vec<Transformation>,
    /// public, internal, confidential, restricted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Field<String>>,
    pub personal_data: PersonalData,
    /// `compliance_status` booleans by field name (`gdpr_consent`, `has_baa`…).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub controls: std::collections::BTreeMap<String, Field<bool>>,
    /// Column and field names the schema describes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schema_fields: Vec<Field<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<Field<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_count: Option<Field<u64>>,
    /// A digest of the dataset as a whole (`hash` of MLOps metadata).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<Field<DigestDecl>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<DataFile>,
    /// Data files listed by URL with a checksum (Croissant `FileObject`s on a server): listed,
    /// but not verified — llmguard reads nothing from the network.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_files: Vec<Field<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Parent>,
    /// Every other URL the metadata holds (homepage, paper, file URLs), for the hygiene checks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<Field<String>>,
    /// The period the records cover (`statistics.date_range`), as opposed to when they were
    /// collected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_range: Option<Period>,
    /// Other dates (publication and modification dates).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<Field<String>>,
    /// Required fields this source format has no place for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cannot_express: Vec<Requirement>,
    /// Where each field of a JSON/YAML source is, for findings about a field that is
    /// missing or a placeholder (the field's line, else its nearest parent's).
    #[serde(skip)]
    #[schemars(skip)]
    pub locate: Option<doc::Locator>,
}

impl DatasetRecord {
    /// An empty record of `format` read from `meta`.
    pub fn new(format: SourceFormat, meta: &MetadataFile, at: Span) -> Self {
        DatasetRecord {
            format,
            metadata_path: meta.display.clone(),
            metadata_relative: meta.relative.clone(),
            metadata_fs: meta.path.clone(),
            at,
            format_version: None,
            id: None,
            name: None,
            version: None,
            description: None,
            source: Vec::new(),
            license: Vec::new(),
            owner: None,
            contact: None,
            created_at: None,
            collection_period: None,
            creation_method: None,
            intended_use: None,
            commercial_use: None,
            preprocessing: None,
            transformations: Vec::new(),
            classification: None,
            personal_data: PersonalData::default(),
            controls: Default::default(),
            schema_fields: Vec::new(),
            languages: Vec::new(),
            size_bytes: None,
            row_count: None,
            dataset_digest: None,
            files: Vec::new(),
            remote_files: Vec::new(),
            parents: Vec::new(),
            urls: Vec::new(),
            date_range: None,
            dates: Vec::new(),
            cannot_express: Vec::new(),
            locate: None,
        }
    }

    /// Whether the record fills `req` in.
    pub fn has(&self, req: Requirement) -> bool {
        let p = &self.personal_data;
        match req {
            Requirement::Name => self.name.is_some() || self.id.is_some(),
            Requirement::Version => self.version.is_some(),
            Requirement::Description => self.description.is_some(),
            Requirement::Source => !self.source.is_empty(),
            Requirement::Owner => self.owner.is_some() || self.contact.is_some(),
            Requirement::CreatedAt => self.created_at.is_some(),
            Requirement::CollectionPeriod => self.collection_period.is_some(),
            Requirement::CreationMethod => self.creation_method.is_some(),
            Requirement::IntendedUse => self.intended_use.is_some() || self.commercial_use.is_some(),
            Requirement::Preprocessing => !self.transformations.is_empty() || self.preprocessing.is_some(),
            Requirement::License => !self.license.is_empty(),
            Requirement::Classification => self.classification.is_some(),
            Requirement::PersonalData => p.contains_pii.is_some(),
            Requirement::LegalBasis => p.legal_basis.is_some(),
            Requirement::Retention => p.retention.is_some(),
            // MLOps metadata states its bytes as one `hash` of the dataset.
            Requirement::Files => {
                self.files.iter().any(|f| !f.dependency)
                    || self.dataset_digest.is_some()
                    || !self.remote_files.is_empty()
            }
        }
    }

    /// The dataset's identity for duplicates and parent lookups: its id, else its name.
    pub fn identity(&self) -> Option<&Field<String>> {
        self.id.as_ref().or(self.name.as_ref())
    }
}
