//! What the AI-BOM needs to know about a dataset, whatever metadata described it.
//!
//! `check-lineage` (`src/lineage/`) reads every dataset-metadata source — llmguard's lineage
//! format, Hugging Face dataset cards, Croissant, DVC, Git LFS pointers, checksum manifests —
//! into its `DatasetRecord`; the AI-BOM takes each record as a `DatasetInput`. Until that
//! module lands, `interim_lineage_json` below (the one clearly marked stand-in) reads only
//! llmguard's own lineage JSON, so that the AI-BOM's dataset side is built and tested now.

use crate::walk::Target;

/// One data file of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DatasetFile {
    /// As the metadata names it (relative to the metadata file).
    pub path: String,
    /// Lower-case hex, when the metadata declares it.
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

/// A dataset as the AI-BOM renders it: a `data` component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatasetInput {
    pub name: String,
    pub version: Option<String>,
    /// Where it came from: a URL (`https://huggingface.co/datasets/org/name`) or an internal
    /// system id.
    pub origin: Option<String>,
    /// As declared (an SPDX id or expression, or a name).
    pub license: Option<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
    /// `Some(true)` when the metadata declares personal data, `Some(false)` when it declares
    /// none, `None` when it says nothing.
    pub personal_data: Option<bool>,
    /// A data classification label (`public`, `internal`, `confidential`, …).
    pub classification: Option<String>,
    /// A digest of the whole dataset as declared (lower-case hex SHA-256).
    pub sha256: Option<String>,
    pub files: Vec<DatasetFile>,
    /// Upstream datasets, by name or id.
    pub parents: Vec<String>,
    /// The metadata file, as the user named it, and the line of the record in it.
    pub source_file: String,
    pub source_line: Option<u32>,
}

impl DatasetInput {
    /// The Hugging Face dataset id (`org/name`) when the origin is a Hub URL.
    pub fn hub_id(&self) -> Option<String> {
        let url = self.origin.as_deref()?;
        let rest = url
            .strip_prefix("https://huggingface.co/datasets/")
            .or_else(|| url.strip_prefix("http://huggingface.co/datasets/"))
            .or_else(|| url.strip_prefix("hf://datasets/"))?;
        let mut parts = rest.split(['/', '?', '#']).filter(|p| !p.is_empty());
        let (a, b) = (parts.next()?, parts.next());
        Some(match b {
            Some(b) if b != "tree" && b != "blob" && b != "resolve" => format!("{a}/{b}"),
            _ => a.to_string(),
        })
    }

    /// Whether a model card's `datasets:` entry names this dataset: its Hub id, its name, or
    /// the last part of either (`acme/faq` names a dataset called `faq`), ignoring case.
    pub fn is_named(&self, id: &str) -> bool {
        let id = id.trim().to_ascii_lowercase();
        let tail = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
        let mut names = vec![self.name.to_ascii_lowercase()];
        if let Some(h) = self.hub_id() {
            names.push(h.to_ascii_lowercase());
        }
        names
            .iter()
            .any(|n| *n == id || (id.contains('/') && !n.contains('/') && tail(&id) == *n))
    }
}

/// Largest metadata file the stand-in reads.
const MAX_METADATA: u64 = 4 << 20;

/// Keys of llmguard's lineage format (issue #6) that mark a JSON object as lineage metadata.
const LINEAGE_KEYS: &[&str] = &[
    "source",
    "license",
    "contains_pii",
    "compliance_status",
    "source_datasets",
    "transformations",
    "hash",
    "row_count",
    "files",
];

// ---------------------------------------------------------------------------------------------
// INTERIM, replaced at merge by `crate::lineage::discover` (issue #6): a minimal reader of
// llmguard's own lineage JSON only. It recognises a `.json` file holding an object with a `name`
// and at least two lineage keys, and maps the fields the AI-BOM shows. It checks nothing (that
// is check-lineage's work) and reads no other metadata source; a file it cannot read is simply
// not a dataset here.
// ---------------------------------------------------------------------------------------------
pub fn interim_lineage_json(t: &Target) -> Option<DatasetInput> {
    use serde_json::Value;
    if !t.display.to_ascii_lowercase().ends_with(".json") {
        return None;
    }
    let meta = std::fs::metadata(&t.path).ok()?;
    if meta.len() > MAX_METADATA {
        return None;
    }
    let v: Value = serde_json::from_slice(&std::fs::read(&t.path).ok()?).ok()?;
    let o = v.as_object()?;
    let s = |k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let name = s("name")?;
    if LINEAGE_KEYS.iter().filter(|k| o.contains_key(**k)).count() < 2 {
        return None;
    }
    let named = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m.get("name").and_then(Value::as_str).map(String::from),
        _ => None,
    };
    let sha = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(|h| h.strip_prefix("sha256:").unwrap_or(h).to_ascii_lowercase())
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let files = o
        .get("files")
        .and_then(Value::as_array)
        .map(|fs| {
            fs.iter()
                .filter_map(|f| {
                    Some(DatasetFile {
                        path: f.get("path")?.as_str()?.to_string(),
                        sha256: sha(f.get("sha256").or_else(|| f.get("hash"))),
                        size: f.get("size_bytes").or_else(|| f.get("size")).and_then(Value::as_u64),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(DatasetInput {
        name,
        version: s("version"),
        origin: s("source"),
        license: s("license"),
        owner: o.get("owner").and_then(named),
        description: s("description"),
        personal_data: o.get("contains_pii").and_then(Value::as_bool),
        classification: s("classification").or_else(|| s("data_classification")),
        sha256: sha(o.get("hash")),
        files,
        parents: o
            .get("source_datasets")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(named).collect())
            .unwrap_or_default(),
        source_file: t.display.clone(),
        source_line: Some(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hub_ids() {
        let d = DatasetInput {
            name: "support-tickets".into(),
            origin: Some("https://huggingface.co/datasets/acme/support-tickets".into()),
            ..DatasetInput::default()
        };
        assert_eq!(d.hub_id().as_deref(), Some("acme/support-tickets"));
        assert!(d.is_named("acme/support-tickets"));
        assert!(d.is_named("ACME/Support-Tickets"));
        assert!(d.is_named("support-tickets"));
        assert!(d.is_named("other/support-tickets"));
        assert!(!d.is_named("acme/faq"));
        let local = DatasetInput {
            name: "faq".into(),
            origin: Some("s3://bucket/faq".into()),
            ..DatasetInput::default()
        };
        assert_eq!(local.hub_id(), None);
        assert!(local.is_named("acme/faq"));
    }

    #[test]
    fn interim_reader_reads_lineage_json_only() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            Target {
                display: name.into(),
                path: p,
            }
        };
        let t = write(
            "meta.json",
            r#"{"name":"faq","version":"2","source":"https://huggingface.co/datasets/acme/faq","license":"cc-by-4.0","contains_pii":false,"hash":"sha256:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB","source_datasets":["raw-faq",{"name":"web"}],"files":[{"path":"faq.jsonl","sha256":"00000000000000000000000000000000000000000000000000000000000000ff","size_bytes":12}]}"#,
        );
        let d = interim_lineage_json(&t).unwrap();
        assert_eq!(d.name, "faq");
        assert_eq!(d.personal_data, Some(false));
        assert_eq!(d.sha256.as_deref().map(str::len), Some(64));
        assert!(d.sha256.unwrap().starts_with("abab"));
        assert_eq!(d.parents, vec!["raw-faq", "web"]);
        assert_eq!(d.files[0].size, Some(12));
        assert!(interim_lineage_json(&write("config.json", r#"{"name":"x","model_type":"llama"}"#)).is_none());
        assert!(interim_lineage_json(&write("bad.json", "{not json")).is_none());
        assert!(interim_lineage_json(&write("list.json", "[1,2]")).is_none());
    }
}
