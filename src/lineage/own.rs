//! llmguard's own lineage format (JSON or YAML): a superset of the dataset-metadata JSON that
//! MLOps scripts already write (`name`, `version`, `source`, `hash`, `license`, `contains_pii`,
//! `compliance_status`, `transformations`, `source_datasets`, …), plus what a verifier needs:
//! the data files with their digests, the owner, the intended use, the collection period, the
//! legal basis and retention of personal data.
//!
//! The types below are the format: `check-lineage` reads files through them, `--print-schema`
//! is their JSON Schema (schemars), and `--create-template` writes their template with each
//! field's documentation (these doc comments) as YAML comments.

use super::discover::{Context, Parsed};
use super::doc::{escape, Doc};
use super::spec::LineageRules;
use super::{
    license, DataFile, DatasetRecord, DigestDecl, Field, FileKind, Parent, ParentRef, Period, Requirement,
    SourceFormat, Span, Transformation,
};
use crate::rules::Rule;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The version of the format this llmguard writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Dataset lineage metadata in llmguard's format: what a governance reviewer needs to approve a
/// dataset (what it is, where it came from, who owns it, under which licence and consent) and
/// the files that make it up, with their checksums. Every field is optional to the parser;
/// which ones are required is set per project (`[lineage] required` in `llmguard.toml`).
/// Fields this schema does not know are allowed (and listed at info level).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "llmguard dataset lineage metadata")]
pub struct LineageMetadata {
    /// Version of this format (1). Marks the file as lineage metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage_version: Option<u32>,
    /// Stable id of the dataset, unique in the repository; derived datasets name it in `source_datasets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Human-readable name of the dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version of the dataset (a string such as "2024.06" or "1.2.0"; a number is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// What the data is, in a few sentences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where the data came from: a URL (https://…) or an internal system id (warehouse:sales.orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Accountable owner: a team or person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// How to reach the owner (e-mail, channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// When this dataset version was created (ISO 8601 date or date-time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the data was collected (ISO 8601 dates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_period: Option<PeriodSpec>,
    /// How the data was created: collected from users, scraped, purchased, generated, annotated…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_method: Option<String>,
    /// What the data may be used for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intended_use: Option<IntendedUse>,
    /// SPDX licence expression (MIT, CC-BY-4.0, "CC-BY-4.0 OR MIT", LicenseRef-…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Data classification: public, internal, confidential or restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// Total size of the data in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Number of rows (records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_count: Option<u64>,
    /// Number of columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_count: Option<u64>,
    /// Digest of the dataset as a whole, "sha256:<64 hex digits>" (verified when `source` is a local file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The data files, relative to this metadata file, with their digests; each is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<DataFileSpec>>,
    /// Whether the data holds personal data (personally identifiable information).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains_pii: Option<bool>,
    /// How personal data in the dataset is covered: legal basis, retention, handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_data: Option<PersonalDataSpec>,
    /// Compliance controls in place (true) or not (false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance_status: Option<ComplianceStatus>,
    /// Processing steps between the source and these bytes, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformations: Option<Vec<TransformationSpec>>,
    /// Parent datasets this one was derived from: ids of scanned datasets, paths of their metadata, or URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_datasets: Option<Vec<ParentSpec>>,
    /// Description of the columns or fields (any shape: a name-to-type map, a list of {name, type}).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Statistics of the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<Statistics>,
    /// Quality checks run on the data (any shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_checks: Option<Value>,
}

/// A version string; numbers (1, 2.1) are read as their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Version {
    Text(String),
    Number(serde_json::Number),
}

impl Version {
    pub fn text(&self) -> String {
        match self {
            Version::Text(s) => s.clone(),
            Version::Number(n) => n.to_string(),
        }
    }
}

/// A period of time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PeriodSpec {
    /// First day (ISO 8601 date, YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Last day (ISO 8601 date, YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// The intended use: a sentence, or the detailed form.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IntendedUse {
    Text(String),
    Detailed(IntendedUseSpec),
}

/// The intended use, in detail.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct IntendedUseSpec {
    /// What the data is for (e.g. "fine-tuning the support assistant").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Whether models or products built from it are used commercially (licences are checked against this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commercial: Option<bool>,
    /// Uses that are not allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_scope: Option<String>,
}

/// Data classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    Public,
    Internal,
    Confidential,
    Restricted,
}

/// One data file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct DataFileSpec {
    /// Path relative to this metadata file (never absolute, never outside the repository).
    pub path: String,
    /// SHA-256 of the file: 64 hex digits (a "sha256:" prefix is allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// MD5 of the file (32 hex digits), as DVC records it; sha256 is preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Where the file was downloaded from, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Personal data in the dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct PersonalDataSpec {
    /// Kinds of personal data (names, e-mail addresses, purchase history…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Legal basis or consent the data was collected under (e.g. "consent, privacy notice v3").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// How long the data is kept (e.g. "24 months after collection").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    /// How personal data is protected in the dataset: anonymised, pseudonymised, redacted, aggregated, encrypted or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling: Option<String>,
}

/// Compliance controls. Each framework check (GDPR, CCPA, HIPAA, SOC 2) names the ones it needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ComplianceStatus {
    /// Processing of personal data is authorised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_authorized: Option<bool>,
    /// GDPR: a lawful basis or consent covers the processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gdpr_consent: Option<bool>,
    /// GDPR: data subjects' data can be erased on request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_mechanism: Option<bool>,
    /// CCPA: consumers were told what is collected and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ccpa_disclosure: Option<bool>,
    /// CCPA: consumers can opt out of sale or sharing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out_mechanism: Option<bool>,
    /// The data holds protected health information (HIPAA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains_phi: Option<bool>,
    /// HIPAA: a business associate agreement covers the PHI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_baa: Option<bool>,
    /// HIPAA: the data is encrypted at rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_at_rest: Option<bool>,
    /// HIPAA: access is recorded in an audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_trail: Option<bool>,
    /// SOC 2: access is restricted to authorised roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<bool>,
    /// SOC 2: the data is encrypted in transit and at rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<bool>,
    /// SOC 2: access and changes are logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_logging: Option<bool>,
    /// SOC 2: changes go through review and approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_management: Option<bool>,
}

/// One processing step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct TransformationSpec {
    /// Kind of step (filter, deduplicate, anonymize, join, sample…).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// When it ran (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Who or what ran it (person, pipeline, job id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// What it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A parent dataset: an id, a path or a URL, or the detailed form.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ParentSpec {
    Reference(String),
    Detailed(ParentDetail),
}

/// A parent dataset, in detail.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ParentDetail {
    /// Id of a dataset whose metadata is scanned too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Path of the parent's metadata file (or its directory), relative to this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// URL of an external parent dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Name of the parent (resolved like an id when no id is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Version of the parent that was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Version>,
    /// The parent's licence (SPDX), checked against this dataset's licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
}

/// Statistics of the data.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct Statistics {
    /// Languages of the text (BCP 47 / ISO 639 codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<String>>,
    /// Range of the dates the records cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_range: Option<PeriodSpec>,
    /// Any other statistic.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// The JSON Schema of the format, as `--print-schema` prints it and `docs/schema/` keeps it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(LineageMetadata);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// Whether a parsed JSON/YAML document is in this format: `lineage_version`, or at least two
/// of its fields (MLOps metadata has no marker of its own) of which one only dataset metadata
/// has (`hash`, `contains_pii`, `row_count`…) — `name`, `version` and `license` alone are a
/// `package.json`. A file named like metadata (`named`: `*metadata*.json`…) needs only the two.
pub fn detect(doc: &Doc, rules: &LineageRules, named: bool) -> bool {
    let Some(obj) = doc.value.as_object() else { return false };
    let count = |keys: &[String]| keys.iter().filter(|k| obj.contains_key(k.as_str())).count();
    obj.contains_key("lineage_version")
        || (count(&rules.own_keys) >= 2 && (named || count(&rules.own_distinctive_keys) >= 1))
}

/// Whether a document is a list of records in this format (every element an object, the
/// first one detected as this format).
pub fn detect_list(doc: &Doc, rules: &LineageRules, named: bool) -> bool {
    let Some(items) = doc.value.as_array() else {
        return false;
    };
    !items.is_empty() && items.iter().all(Value::is_object) && doc.element(0).is_some_and(|d| detect(&d, rules, named))
}

/// Values written the way scripts write them, read as what they clearly mean where the
/// format wants a number or a boolean: `"1024"` and `1024.0` as 1024, `"true"`/`"yes"` and
/// `1` as true, `"false"`/`"no"` and `0` as false. Anything else is left for the typed read
/// to report (`LIN003`).
fn coerce(v: &mut Value, schema: &Value, root: &Value) {
    let s = resolve(schema, root);
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    // A list of steps written as plain strings: each string is a step's description.
    if v.is_string()
        && types.contains(&"object")
        && s.get("properties")
            .is_some_and(|p| p.get("description").is_some() && p.get("operator").is_some())
    {
        let text = std::mem::take(v);
        *v = serde_json::json!({ "description": text });
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, item) in map.iter_mut() {
                    if let Some(ps) = props.get(k) {
                        coerce(item, ps, root);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for item in items {
                    coerce(item, is, root);
                }
            }
        }
        Value::String(text) if types.contains(&"integer") => {
            let t = text.trim();
            if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(n) = t.parse::<u64>() {
                    *v = Value::from(n);
                }
            }
        }
        Value::Number(n) if types.contains(&"integer") && !n.is_u64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && (0.0..9.0e15).contains(f)) {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let whole = f as u64;
                *v = Value::from(whole);
            }
        }
        Value::String(text) if types.contains(&"boolean") => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => *v = Value::Bool(true),
            "false" | "no" => *v = Value::Bool(false),
            _ => {}
        },
        Value::Number(n) if types.contains(&"boolean") => match n.as_u64() {
            Some(1) => *v = Value::Bool(true),
            Some(0) => *v = Value::Bool(false),
            _ => {}
        },
        _ => {}
    }
}

/// The template `--create-template` writes: every field, with placeholders that count as
/// missing until they are filled in.
pub fn template() -> LineageMetadata {
    let p = |s: &str| Some(format!("<{s}>"));
    LineageMetadata {
        lineage_version: Some(FORMAT_VERSION),
        id: p("unique dataset id, e.g. customer-churn"),
        name: p("dataset name"),
        version: Some(Version::Text("<dataset version, e.g. 2024.06>".into())),
        description: p("what the data is"),
        source: p("https://… URL or internal system id"),
        owner: p("accountable team or person"),
        contact: p("e-mail or channel of the owner"),
        created_at: p("YYYY-MM-DD"),
        collection_period: Some(PeriodSpec {
            start: p("YYYY-MM-DD"),
            end: p("YYYY-MM-DD"),
        }),
        creation_method: p("collected from users, scraped, purchased, generated, annotated…"),
        intended_use: Some(IntendedUse::Detailed(IntendedUseSpec {
            purpose: p("what the data is for"),
            commercial: None,
            out_of_scope: p("uses that are not allowed"),
        })),
        license: p("SPDX licence expression, e.g. CC-BY-4.0"),
        classification: None,
        size_bytes: None,
        row_count: None,
        column_count: None,
        hash: p("sha256:64 hex digits of the dataset as one file, if it is one"),
        files: Some(vec![DataFileSpec {
            path: "<data file, relative to this metadata file>".into(),
            sha256: p("64 hex digits: sha256sum FILE"),
            md5: None,
            size_bytes: None,
            url: None,
        }]),
        contains_pii: None,
        personal_data: Some(PersonalDataSpec {
            categories: Some(vec![]),
            legal_basis: p("legal basis or consent, if personal data"),
            retention: p("retention period, if personal data"),
            handling: p("anonymised, pseudonymised, redacted, aggregated, encrypted or none"),
        }),
        compliance_status: Some(ComplianceStatus::default()),
        transformations: Some(vec![TransformationSpec {
            kind: p("filter, deduplicate, anonymize…"),
            timestamp: p("YYYY-MM-DD"),
            operator: p("who or what ran it"),
            description: p("what it did"),
        }]),
        source_datasets: Some(vec![]),
        schema: Some(serde_json::json!([{"name": "<column name>", "type": "<column type>"}])),
        statistics: Some(Statistics {
            languages: Some(vec![]),
            date_range: Some(PeriodSpec {
                start: p("YYYY-MM-DD of the earliest record"),
                end: p("YYYY-MM-DD of the latest record"),
            }),
            other: BTreeMap::new(),
        }),
        quality_checks: None,
    }
}

/// The template as JSON: every field of the format, `null` where there is no placeholder text.
pub fn template_json() -> String {
    let mut v = serde_json::to_value(template()).unwrap_or(Value::Null);
    fill_nulls(&mut v, &schema_value(), &schema_value());
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// The template as YAML with every field's documentation as a comment above it.
pub fn template_yaml() -> String {
    let schema = schema_value();
    let mut v = serde_json::to_value(template()).unwrap_or(Value::Null);
    fill_nulls(&mut v, &schema, &schema);
    let mut out = String::from(
        "# Dataset lineage metadata in llmguard's format (`llmguard check-lineage --print-schema`).\n\
         # Replace every <placeholder>; a field left as a placeholder counts as missing.\n",
    );
    yaml_object(&v, &schema, &schema, 0, &mut out);
    out
}

fn schema_value() -> Value {
    serde_json::to_value(schemars::schema_for!(LineageMetadata)).unwrap_or(Value::Null)
}

/// The object schema `s` stands for (following `$ref`, and the object branch of `anyOf`).
fn resolve<'a>(s: &'a Value, root: &'a Value) -> &'a Value {
    resolve_at(s, root, 0)
}

/// `resolve`, following a `$ref` to a definition that is itself a choice (an untagged enum
/// such as `ParentSpec`: a string or `ParentDetail`), a few levels deep at most.
fn resolve_at<'a>(s: &'a Value, root: &'a Value, depth: u8) -> &'a Value {
    if depth > 8 {
        return s;
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or("");
        return match root.get("$defs").and_then(|d| d.get(name)) {
            Some(def) => resolve_at(def, root, depth + 1),
            None => s,
        };
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            for alt in list {
                let r = resolve_at(alt, root, depth + 1);
                if r.get("properties").is_some() {
                    return r;
                }
            }
        }
    }
    s
}

/// Add every schema property missing from `v` as `null` (objects of the template stay whole).
fn fill_nulls(v: &mut Value, schema: &Value, root: &Value) {
    let s = resolve(schema, root);
    match v {
        Value::Object(map) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, ps) in props {
                    let entry = map.entry(k.clone()).or_insert(Value::Null);
                    fill_nulls(entry, ps, root);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = s.get("items") {
                for i in items {
                    fill_nulls(i, item_schema, root);
                }
            }
        }
        _ => {}
    }
}

fn description<'a>(s: &'a Value, root: &'a Value) -> Option<&'a str> {
    s.get("description")
        .and_then(Value::as_str)
        .or_else(|| resolve(s, root).get("description").and_then(Value::as_str))
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn comment(text: &str, indent: usize, out: &mut String) {
    for line in text.lines() {
        out.push_str(&" ".repeat(indent));
        out.push_str("# ");
        out.push_str(line.trim());
        out.push('\n');
    }
}

fn yaml_object(v: &Value, schema: &Value, root: &Value, indent: usize, out: &mut String) {
    let s = resolve(schema, root);
    let props = s.get("properties").and_then(Value::as_object);
    let Some(map) = v.as_object() else { return };
    // Schema order (the struct's field order), not the map's alphabetical order.
    let order: Vec<&String> = props
        .map(|p| p.keys().collect())
        .unwrap_or_else(|| map.keys().collect());
    let pad = " ".repeat(indent);
    for k in order {
        let Some(val) = map.get(k) else { continue };
        let ps = props.and_then(|p| p.get(k)).unwrap_or(&Value::Null);
        if let Some(d) = description(ps, root) {
            comment(d, indent, out);
        }
        match val {
            Value::Object(m) if !m.is_empty() => {
                out.push_str(&format!("{pad}{k}:\n"));
                yaml_object(val, ps, root, indent + 2, out);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str(&format!("{pad}{k}:\n"));
                let item_schema = resolve(ps, root).get("items").unwrap_or(&Value::Null);
                for item in items {
                    match item {
                        Value::Object(_) => {
                            let mut inner = String::new();
                            yaml_object(item, item_schema, root, indent + 4, &mut inner);
                            // The first key line of the item takes the `- ` marker.
                            let mut first = true;
                            for line in inner.lines() {
                                if first && !line.trim_start().starts_with('#') {
                                    out.push_str(&format!("{pad}  - {}\n", line.trim_start()));
                                    first = false;
                                } else {
                                    out.push_str(line);
                                    out.push('\n');
                                }
                            }
                        }
                        other => out.push_str(&format!("{pad}  - {}\n", yaml_scalar(other))),
                    }
                }
            }
            Value::Array(_) => out.push_str(&format!("{pad}{k}: []\n")),
            Value::Object(_) => out.push_str(&format!("{pad}{k}: {{}}\n")),
            other => out.push_str(&format!("{pad}{k}: {}\n", yaml_scalar(other))),
        }
    }
}

/// Report keys the schema does not define (in objects whose schema lists its properties).
fn unknown_keys(v: &Value, schema: &Value, root: &Value, pointer: &str, doc: &Doc, cx: &Context, out: &mut Parsed) {
    let s = resolve(schema, root);
    match v {
        Value::Object(map) => {
            let Some(props) = s.get("properties").and_then(Value::as_object) else {
                return;
            };
            // `statistics` takes any other key (flattened map).
            let open = s.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false));
            for (k, item) in map {
                let p = format!("{pointer}/{}", escape(k));
                match props.get(k) {
                    Some(ps) => unknown_keys(item, ps, root, &p, doc, cx, out),
                    None if open || k.starts_with('$') => {}
                    None => {
                        let hint = props
                            .keys()
                            .find(|known| similar(known, k))
                            .map(|known| format!(" (did you mean `{known}`?)"))
                            .unwrap_or_default();
                        out.findings.push(
                            cx.finding(
                                Rule::LineageUnknownField,
                                &doc.span(&p),
                                format!("field `{k}` is not part of llmguard's lineage format and was not read{hint}"),
                            )
                            .key(format!("unknown:{p}")),
                        );
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(is) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    unknown_keys(item, is, root, &format!("{pointer}/{i}"), doc, cx, out);
                }
            }
        }
        _ => {}
    }
}

/// Close spellings: same letters ignoring case and `_`/`-`, or licence/license, or one edit.
fn similar(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.to_ascii_lowercase()
            .replace(['_', '-'], "")
            .replace("licence", "license")
    };
    let (x, y) = (norm(a), norm(b));
    if x == y {
        return true;
    }
    let (x, y): (Vec<char>, Vec<char>) = (x.chars().collect(), y.chars().collect());
    if x.len().abs_diff(y.len()) > 1 || x.len() < 4 {
        return false;
    }
    // One insertion, deletion or substitution.
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < x.len() && j < y.len() {
        if x[i] == y[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match x.len().cmp(&y.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (x.len() - i) + (y.len() - j) <= 1
}

/// Deserialize the document field by field: a value of the wrong type is a `LIN003` finding
/// at its exact path and is left unset — only that value: a bad member of an object is
/// removed, a bad element of a list is replaced by an empty one that the reader skips, and
/// the rest of the field is still read (one unreadable `compliance_status` member does not
/// unset the other twelve).
fn typed(doc: &Doc, cx: &Context, out: &mut Parsed) -> LineageMetadata {
    let schema = schema_value();
    let mut value = doc.value.clone();
    coerce(&mut value, &schema, &schema);
    let Some(obj) = value.as_object() else {
        return LineageMetadata::default();
    };
    let mut good = serde_json::Map::new();
    let mut reported = std::collections::BTreeSet::new();
    for (k, v) in obj {
        let key = format!("/{}", escape(k));
        let mut v = v.clone();
        for _ in 0..64 {
            let one = Value::Object(std::iter::once((k.clone(), v.clone())).collect());
            let e = match serde_path_to_error::deserialize::<_, LineageMetadata>(one) {
                Ok(_) => {
                    good.insert(k.clone(), v);
                    break;
                }
                Err(e) => e,
            };
            let pointer: String = e
                .path()
                .iter()
                .filter_map(|seg| match seg {
                    serde_path_to_error::Segment::Map { key } => Some(format!("/{}", escape(key))),
                    serde_path_to_error::Segment::Seq { index } => Some(format!("/{index}")),
                    serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let pointer = if pointer.starts_with(&key) {
                pointer
            } else {
                key.clone()
            };
            if reported.insert(pointer.clone()) {
                let why = e.into_inner().to_string();
                let why = if why.contains("did not match any variant") {
                    "not one of the accepted shapes".to_string()
                } else {
                    why
                };
                out.findings.push(
                    cx.finding(
                        Rule::LineageInvalidValue,
                        &doc.span(&pointer),
                        format!("`{pointer}` cannot be read: {why}; the value is treated as not set"),
                    )
                    .key(format!("type:{pointer}")),
                );
            }
            if !drop_value(&mut v, &pointer[key.len()..]) {
                break;
            }
        }
    }
    serde_json::from_value(Value::Object(good)).unwrap_or_default()
}

/// Take the value at `inner` (a pointer into `v`) out of the way: a member is removed, a list
/// element replaced by the next of `{}`, `{"path": ""}` and `""` (empty values every reader
/// skips). `false` when there is nothing left to try: the whole field is dropped.
fn drop_value(v: &mut Value, inner: &str) -> bool {
    let Some((parent, last)) = inner.rsplit_once('/') else {
        return false;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match v.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&last).is_some(),
        Some(Value::Array(items)) => {
            let Some(item) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) else {
                return false;
            };
            let empties = [
                Value::Object(serde_json::Map::new()),
                serde_json::json!({"path": ""}),
                Value::String(String::new()),
            ];
            let next = match empties.iter().position(|e| e == item) {
                None => Some(0),
                Some(i) => (i + 1 < empties.len()).then_some(i + 1),
            };
            match next {
                Some(i) => {
                    *item = empties[i].clone();
                    true
                }
                None => false,
            }
        }
        _ => false,
    }
}

/// Read a document of this format into a record.
pub fn parse(doc: &Doc, cx: &Context, out: &mut Parsed) {
    let rules = LineageRules::shared();
    if !doc.value.is_object() {
        out.findings.push(cx.finding(
            Rule::LineageInvalidValue,
            &Span::line(1),
            "the document is not an object of fields".into(),
        ));
        return;
    }
    let schema = schema_value();
    unknown_keys(&doc.value, &schema, &schema, "", doc, cx, out);
    let m = typed(doc, cx, out);
    let mut r = DatasetRecord::new(SourceFormat::Llmguard, cx.meta, Span::line(doc.line("")));
    r.locate = Some(doc.locator());
    r.format_version = m.lineage_version.map(|v| format!("lineage {v}"));
    let text = |pointer: &str, v: &Option<String>| -> Option<Field<String>> {
        v.as_deref()
            .and_then(|s| rules.filled(s))
            .map(|s| Field::new(s, doc.span(pointer)))
    };
    r.id = text("/id", &m.id);
    r.name = text("/name", &m.name);
    r.version = text("/version", &m.version.as_ref().map(Version::text));
    r.description = text("/description", &m.description);
    r.source.extend(text("/source", &m.source));
    r.owner = text("/owner", &m.owner);
    r.contact = text("/contact", &m.contact);
    r.created_at = text("/created_at", &m.created_at);
    if let Some(p) = &m.collection_period {
        let start = text("/collection_period/start", &p.start);
        let end = text("/collection_period/end", &p.end);
        if start.is_some() || end.is_some() {
            r.collection_period = Some(Period {
                start,
                end,
                text: None,
                at: doc.span("/collection_period"),
            });
        }
    }
    r.creation_method = text("/creation_method", &m.creation_method);
    match &m.intended_use {
        Some(IntendedUse::Text(s)) => r.intended_use = text("/intended_use", &Some(s.clone())),
        Some(IntendedUse::Detailed(d)) => {
            r.intended_use = text("/intended_use/purpose", &d.purpose);
            r.commercial_use = d
                .commercial
                .map(|c| Field::new(c, doc.span("/intended_use/commercial")));
        }
        None => {}
    }
    if let Some(l) = text("/license", &m.license) {
        r.license.push(Field::new(license::normalise(&l.value, rules), l.at));
    }
    r.classification = m.classification.map(|c| {
        Field::new(
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            doc.span("/classification"),
        )
    });
    r.size_bytes = m.size_bytes.map(|n| Field::new(n, doc.span("/size_bytes")));
    r.row_count = m.row_count.map(|n| Field::new(n, doc.span("/row_count")));
    if let Some(h) = text("/hash", &m.hash) {
        r.dataset_digest = Some(Field::new(DigestDecl::parse_prefixed(&h.value), h.at));
    }
    for (i, f) in m.files.iter().flatten().enumerate() {
        let base = format!("/files/{i}");
        let Some(path) = rules.filled(&f.path) else { continue };
        let at = doc.span(&format!("{base}/path"));
        let (display, relative, resolved) = cx.data_file(&path, at.clone(), out);
        let digest = |alg, key: &str, v: &Option<String>| {
            text(&format!("{base}/{key}"), v).map(|d| Field::new(DigestDecl::parse(alg, &d.value), d.at))
        };
        r.files.push(DataFile {
            path: Field::new(path, at),
            display,
            relative,
            resolved,
            sha256: digest(super::Algorithm::Sha256, "sha256", &f.sha256),
            md5: digest(super::Algorithm::Md5, "md5", &f.md5),
            md5_text_normalised: false,
            sha256_universal: false,
            size: f
                .size_bytes
                .map(|n| Field::new(n, doc.span(&format!("{base}/size_bytes")))),
            kind: FileKind::File,
            dependency: false,
        });
        r.urls.extend(text(&format!("{base}/url"), &f.url));
    }
    let pd = &mut r.personal_data;
    pd.contains_pii = m.contains_pii.map(|b| Field::new(b, doc.span("/contains_pii")));
    if let Some(p) = &m.personal_data {
        for (i, c) in p.categories.iter().flatten().enumerate() {
            pd.categories
                .extend(text(&format!("/personal_data/categories/{i}"), &Some(c.clone())));
        }
        pd.legal_basis = text("/personal_data/legal_basis", &p.legal_basis);
        pd.retention = text("/personal_data/retention", &p.retention);
        pd.handling = text("/personal_data/handling", &p.handling);
        if let Some(h) = &pd.handling {
            let known = rules.handling.iter().any(|k| {
                let v = h.value.to_ascii_lowercase();
                v == *k || v.replace('z', "s") == *k
            });
            if !known {
                out.findings.push(cx.finding(
                    Rule::LineageInvalidValue,
                    &h.at,
                    format!(
                        "`/personal_data/handling` is `{}`; expected one of {}",
                        h.value,
                        rules.handling.join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(c) = &m.compliance_status {
        if let Ok(Value::Object(map)) = serde_json::to_value(c) {
            for (k, v) in map {
                if let Some(b) = v.as_bool() {
                    let at = doc.span(&format!("/compliance_status/{k}"));
                    if k == "contains_phi" {
                        r.personal_data.contains_phi = Some(Field::new(b, at.clone()));
                    }
                    r.controls.insert(k, Field::new(b, at));
                }
            }
        }
    }
    for (i, t) in m.transformations.iter().flatten().enumerate() {
        let base = format!("/transformations/{i}");
        let kind = t.kind.as_deref().and_then(|s| rules.filled(s));
        let description = t.description.as_deref().and_then(|s| rules.filled(s));
        if kind.is_none() && description.is_none() {
            continue;
        }
        r.transformations.push(Transformation {
            kind,
            timestamp: text(&format!("{base}/timestamp"), &t.timestamp),
            operator: t.operator.as_deref().and_then(|s| rules.filled(s)),
            description,
            at: doc.span(&base),
        });
    }
    for (i, p) in m.source_datasets.iter().flatten().enumerate() {
        let at = doc.span(&format!("/source_datasets/{i}"));
        let (reference, lic) = match p {
            ParentSpec::Reference(s) => (rules.filled(s).map(|s| parent_ref(&s)), None),
            ParentSpec::Detailed(d) => {
                let reference = d
                    .url
                    .as_deref()
                    .and_then(|s| rules.filled(s))
                    .map(ParentRef::Url)
                    .or_else(|| d.path.as_deref().and_then(|s| rules.filled(s)).map(ParentRef::Path))
                    .or_else(|| d.id.as_deref().and_then(|s| rules.filled(s)).map(ParentRef::Id))
                    .or_else(|| d.name.as_deref().and_then(|s| rules.filled(s)).map(ParentRef::Id));
                if reference.is_none() {
                    out.findings.push(cx.finding(
                        Rule::LineageInvalidValue,
                        &at,
                        format!("`/source_datasets/{i}` names no parent: give its `id`, `name`, `path` or `url`"),
                    ));
                }
                (reference, d.license.as_deref().and_then(|s| rules.filled(s)))
            }
        };
        if let Some(reference) = reference {
            r.parents.push(Parent {
                reference,
                license: lic.map(|l| license::normalise(&l, rules)),
                at,
            });
        }
    }
    if let Some(s) = &m.schema {
        schema_names(s, "/schema", doc, &mut r.schema_fields);
    }
    if let Some(st) = &m.statistics {
        r.languages = st.languages.clone().unwrap_or_default();
        if let Some(dr) = &st.date_range {
            let start = text("/statistics/date_range/start", &dr.start);
            let end = text("/statistics/date_range/end", &dr.end);
            if start.is_some() || end.is_some() {
                r.date_range = Some(Period {
                    start,
                    end,
                    text: None,
                    at: doc.span("/statistics/date_range"),
                });
            }
        }
    }
    out.records.push(r);
}

/// A parent reference as written: a URL, a path, or an id.
pub fn parent_ref(s: &str) -> ParentRef {
    if s.contains("://") {
        ParentRef::Url(s.to_string())
    } else if s.starts_with("./")
        || s.starts_with("../")
        || s.ends_with(".json")
        || s.ends_with(".yaml")
        || s.ends_with(".yml")
        || s.ends_with(".md")
    {
        ParentRef::Path(s.to_string())
    } else {
        ParentRef::Id(s.to_string())
    }
}

/// Column names in a free-form schema: object keys that are not structural, and `name` values.
fn schema_names(v: &Value, pointer: &str, doc: &Doc, out: &mut Vec<Field<String>>) {
    const STRUCTURAL: &[&str] = &[
        "fields",
        "columns",
        "properties",
        "type",
        "dtype",
        "name",
        "description",
        "nullable",
        "format",
        "items",
        "required",
    ];
    if out.len() > 10_000 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{pointer}/{}", escape(k));
                if k == "name" {
                    if let Some(n) = item.as_str().filter(|n| !LineageRules::shared().is_placeholder(n)) {
                        out.push(Field::new(n.to_string(), doc.span(&p)));
                    }
                } else if !STRUCTURAL.contains(&k.as_str()) {
                    out.push(Field::new(k.clone(), doc.span(&p)));
                }
                schema_names(item, &p, doc, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{pointer}/{i}");
                if let Some(n) = item.as_str() {
                    out.push(Field::new(n.to_string(), doc.span(&p)));
                }
                schema_names(item, &p, doc, out);
            }
        }
        _ => {}
    }
}

/// Required fields in this format, by JSON pointer, for findings about missing ones.
pub fn pointer_of(req: Requirement) -> &'static str {
    match req {
        Requirement::Name => "/name",
        Requirement::Version => "/version",
        Requirement::Description => "/description",
        Requirement::Source => "/source",
        Requirement::Owner => "/owner",
        Requirement::CreatedAt => "/created_at",
        Requirement::CollectionPeriod => "/collection_period",
        Requirement::CreationMethod => "/creation_method",
        Requirement::IntendedUse => "/intended_use",
        Requirement::Preprocessing => "/transformations",
        Requirement::License => "/license",
        Requirement::Classification => "/classification",
        Requirement::PersonalData => "/contains_pii",
        Requirement::LegalBasis => "/personal_data/legal_basis",
        Requirement::Retention => "/personal_data/retention",
        Requirement::Files => "/files",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_forms_parse_back() {
        let j: Value = serde_json::from_str(&template_json()).unwrap();
        assert_eq!(j["lineage_version"], 1);
        assert!(j["compliance_status"]["gdpr_consent"].is_null());
        let y = template_yaml();
        assert!(y.contains("# Accountable owner: a team or person.\nowner: \"<accountable team or person>\""));
        let d = Doc::yaml(&y, 1).unwrap();
        assert_eq!(d.value, j, "the YAML and JSON templates hold the same fields");
        assert!(d.value["files"][0]["path"].is_string());
    }

    #[test]
    fn detection_needs_a_dataset_only_key_unless_the_name_says_metadata() {
        let rules = LineageRules::shared();
        let package = Doc::json(
            r#"{"name": "app", "version": "1.0.0", "license": "MIT", "files": []}"#,
            1,
        )
        .unwrap();
        assert!(
            !detect(&package, rules, false),
            "a package.json is not lineage metadata"
        );
        assert!(
            detect(&package, rules, true),
            "named dataset_metadata.json: two keys are enough"
        );
        let mlops = Doc::json(r#"{"name": "churn", "hash": "sha256:00"}"#, 1).unwrap();
        assert!(detect(&mlops, rules, false));
        let marked = Doc::json(r#"{"lineage_version": 1}"#, 1).unwrap();
        assert!(detect(&marked, rules, false));
        let data = Doc::json(r#"[{"name": "Alice", "source": "forum"}]"#, 1).unwrap();
        assert!(!detect_list(&data, rules, false), "records of data are not metadata");
    }

    #[test]
    fn similar_names() {
        assert!(similar("license", "licence"));
        assert!(similar("contains_pii", "containsPII"));
        assert!(similar("version", "verison") || similar("version", "versio"));
        assert!(!similar("name", "owner"));
    }
}
