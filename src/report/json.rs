//! The JSON report: a documented, versioned shape (`docs/schema/report.schema.json` is
//! generated from these types and kept identical by a test).

use super::{Artifact, InventoryItem, Report, Verdict};
use crate::finding::{Finding, Location, Severity, Suppression};
use crate::rules::Rule;
use crate::shard::ShardInfo;
use anyhow::Context;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;

/// Bumped on any incompatible change; fields are only ever added within a major version.
pub const SCHEMA_VERSION: &str = "1.0";

/// An llmguard findings report.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "llmguard report")]
struct JsonReport<'a> {
    schema_version: &'static str,
    tool: Tool,
    /// The subcommand that produced the report.
    command: &'a str,
    /// Only in the report of a `--shard K/N` run: which share it is, and of which deal.
    /// `llmguard merge` joins such reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<&'a ShardInfo>,
    summary: Summary,
    findings: Vec<JsonFinding<'a>>,
    /// One entry per file the run looked at, whether or not anything was found in it.
    artifacts: &'a [Artifact],
    /// `aibom`: the models, datasets and ML frameworks inventoried (the CycloneDX document
    /// has the full detail).
    #[serde(skip_serializing_if = "<[InventoryItem]>::is_empty")]
    inventory: &'a [InventoryItem],
}

#[derive(Serialize, JsonSchema)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize, JsonSchema)]
struct Summary {
    files: usize,
    /// Files by verdict.
    verdicts: BTreeMap<Verdict, usize>,
    /// Unsuppressed findings by severity.
    findings: BTreeMap<Severity, usize>,
    /// The `--fail-on` threshold (`never` when disabled).
    fail_on: &'static str,
    /// Whether a finding is at or above `fail_on` (the process then exits with 1).
    failed: bool,
    /// Findings that configuration, a trusted inline comment or the baseline suppressed;
    /// they are listed with a `suppression` and not counted in `findings` above.
    #[serde(skip_serializing_if = "is_zero")]
    suppressed: usize,
    /// Files found in named directories that are not of a format this subcommand reads, and
    /// were therefore not opened (`scan-prompts`); not listed in `artifacts`.
    #[serde(skip_serializing_if = "is_zero")]
    skipped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize, JsonSchema)]
struct JsonFinding<'a> {
    /// Stable rule id, such as `MOD101`.
    rule_id: &'static str,
    /// Stable kebab-case rule name, such as `pickle-dangerous-import`.
    rule_name: &'static str,
    severity: Severity,
    message: &'a str,
    /// The file as the user named it (joined with the path inside a named directory).
    path: &'a str,
    location: &'a Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<&'a str>,
    /// Stable across runs and unrelated edits of the file; used for baselines.
    fingerprint: String,
    /// Present when the finding is suppressed (it then does not fail the run).
    #[serde(skip_serializing_if = "Option::is_none")]
    suppression: Option<&'a Suppression>,
    /// Only in shard reports (`--shard`): what tells this finding apart from others of its
    /// rule in the file (the input of `fingerprint`, an opaque string); `merge` rebuilds the
    /// finding from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    /// Only in shard reports (`--shard`): the SARIF `artifactLocation.uri` of `path`, relative
    /// to the scan root (`uriBaseId` `%SRCROOT%`) and percent-encoded, or a `file:` URI for a
    /// path outside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    // What `merge` needs beyond the report everyone reads, only where it is needed.
    let shard = report.shard.is_some();
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        command: report.command,
        shard: report.shard.as_ref(),
        summary: Summary {
            files: report.artifacts.len(),
            verdicts: report.by_verdict(),
            findings: report.by_severity(),
            fail_on: report.fail_on.as_str(),
            failed: report.failed(),
            suppressed: report.suppressed(),
            skipped: report.skipped,
        },
        findings: report
            .findings
            .iter()
            .map(|f| JsonFinding {
                rule_id: f.rule.id(),
                rule_name: f.rule.name(),
                severity: f.severity,
                message: &f.message,
                path: &f.path,
                location: &f.location,
                evidence: f.evidence.as_deref(),
                fingerprint: f.fingerprint(),
                suppression: f.suppression.as_ref(),
                key: shard.then_some(f.key.as_str()),
                uri: shard.then(|| report.uri_of(&f.path)),
            })
            .collect(),
        artifacts: &report.artifacts,
        inventory: &report.inventory,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

/// A JSON report read back, for `llmguard merge`.
#[derive(Debug)]
pub struct ReadBack {
    /// The llmguard version that wrote it.
    pub version: String,
    pub command: String,
    pub shard: Option<ShardInfo>,
    pub skipped: usize,
    /// Each finding rebuilt (its `key` restored in shard reports), with its `uri` if given.
    pub findings: Vec<(Finding, Option<String>)>,
    pub artifacts: Vec<Artifact>,
}

#[derive(Deserialize)]
struct ReadReport {
    tool: ReadTool,
    command: String,
    #[serde(default)]
    shard: Option<ShardInfo>,
    summary: ReadSummary,
    findings: Vec<ReadFinding>,
    artifacts: Vec<Artifact>,
}

#[derive(Deserialize)]
struct ReadTool {
    version: String,
}

#[derive(Deserialize)]
struct ReadSummary {
    #[serde(default)]
    skipped: usize,
}

#[derive(Deserialize)]
struct ReadFinding {
    rule_id: String,
    severity: Severity,
    message: String,
    path: String,
    #[serde(default)]
    location: Location,
    #[serde(default)]
    evidence: Option<String>,
    fingerprint: String,
    #[serde(default)]
    suppression: Option<Suppression>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    uri: Option<String>,
}

/// Read a JSON report of any 1.x schema. A finding whose rule this build does not know, or
/// whose fingerprint does not follow from its key, is an error: the report is not one this
/// version of llmguard wrote as it stands.
pub fn read(text: &str) -> anyhow::Result<ReadBack> {
    let v: serde_json::Value = serde_json::from_str(text).context("not JSON")?;
    if v["tool"]["name"] != "llmguard" {
        anyhow::bail!("not an llmguard JSON report (`--format json`)");
    }
    let schema = v["schema_version"].as_str().unwrap_or("");
    let major = SCHEMA_VERSION.split('.').next().unwrap_or("1");
    if schema.split('.').next() != Some(major) {
        anyhow::bail!("report schema version `{schema}`, this llmguard reads {major}.x");
    }
    let r: ReadReport = serde_json::from_value(v).context("not a well-formed llmguard report")?;
    let mut findings = Vec::with_capacity(r.findings.len());
    for (i, f) in r.findings.into_iter().enumerate() {
        let rule = Rule::find(&f.rule_id)
            .filter(|r| r.id() == f.rule_id)
            .with_context(|| format!("finding {i}: rule `{}` is unknown to this llmguard", f.rule_id))?;
        let mut finding = Finding::new(rule, &f.path, f.location, f.message).severity(f.severity);
        finding.evidence = f.evidence;
        finding.suppression = f.suppression;
        if let Some(key) = f.key {
            finding.key = key;
            if finding.fingerprint() != f.fingerprint {
                anyhow::bail!(
                    "finding {i} ({} in {}): its fingerprint does not follow from its key; was the report edited?",
                    f.rule_id,
                    f.path
                );
            }
        }
        findings.push((finding, f.uri));
    }
    Ok(ReadBack {
        version: r.tool.version,
        command: r.command,
        shard: r.shard,
        skipped: r.summary.skipped,
        findings,
        artifacts: r.artifacts,
    })
}

/// The JSON Schema of the report, as published in `docs/schema/report.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(JsonReport<'static>);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_contract_fields() {
        let mut buf = Vec::new();
        render(&super::super::tests::sample(), &mut buf).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["schema_version"], SCHEMA_VERSION);
        assert_eq!(v["tool"]["name"], "llmguard");
        assert_eq!(v["summary"]["failed"], true);
        assert_eq!(v["summary"]["verdicts"]["unsafe"], 2);
        let f = &v["findings"][2];
        assert_eq!(f["rule_id"], "MOD101");
        assert_eq!(f["rule_name"], "pickle-dangerous-import");
        assert_eq!(f["severity"], "critical");
        assert_eq!(f["location"]["byte_offset"], 2);
        assert!(f["location"].get("members").is_none());
        assert_eq!(v["findings"][1]["location"]["members"][0], "ckpt/data.pkl");
        assert_eq!(f["fingerprint"].as_str().unwrap().len(), 24);
        assert_eq!(v["artifacts"][0]["verdict"], "not-a-model");
    }
}
