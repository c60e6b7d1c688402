//! The JSON report: a documented, versioned shape (`docs/schema/report.schema.json` is
//! generated from these types and kept identical by a test).

use super::{Artifact, InventoryItem, Report, Verdict};
use crate::finding::{Location, Severity, Suppression};
use schemars::JsonSchema;
use serde::Serialize;
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
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let doc = JsonReport {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        command: report.command,
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
            })
            .collect(),
        artifacts: &report.artifacts,
        inventory: &report.inventory,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
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
