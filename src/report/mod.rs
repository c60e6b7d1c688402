//! The one report every subcommand produces, and its renderers. Only this module writes
//! results; scanners return findings.

pub mod access;
mod json;
mod sarif;
mod table;

pub use json::{json_schema, read as read_json, ReadBack};

use crate::finding::{Finding, Severity};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;

/// Output formats of the findings report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
    /// `aibom` only: the CycloneDX document, rendered by `aibom::render` (not a report format;
    /// only the `aibom` subcommand's `--format` accepts it).
    #[value(skip)]
    Cyclonedx,
}

/// What a file amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Checked; no finding above info.
    Clean,
    /// Findings at low or medium.
    Suspicious,
    /// Findings at high or critical.
    Unsafe,
    /// Not a format this subcommand checks; nothing was checked.
    NotAModel,
    /// `scan-prompts`: a binary file, not text; nothing was checked.
    NotText,
    /// The file could not be read.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Clean => "clean",
            Verdict::Suspicious => "suspicious",
            Verdict::Unsafe => "unsafe",
            Verdict::NotAModel => "not a model",
            Verdict::NotText => "not text",
            Verdict::Error => "error",
        }
    }

    /// `as_str` in the words of `command`'s summary line: a file that is not of the format a
    /// subcommand checks is "not a model" to scan-model but "not a policy" to lint-policy.
    pub fn label(self, command: &str) -> &'static str {
        match (self, command) {
            (Verdict::NotAModel, "lint-policy") => "not a policy",
            (Verdict::NotAModel, "check-lineage") => "not lineage metadata",
            (Verdict::NotAModel, "scan-model" | "aibom") => "not a model",
            (Verdict::NotAModel, _) => "not checked",
            (v, _) => v.as_str(),
        }
    }

    /// The verdict for a file from its findings; `recognised` says whether its format is one
    /// the subcommand checks.
    pub fn from_findings(findings: &[Finding], recognised: bool, unreadable: bool) -> Verdict {
        let worst = findings.iter().map(|f| f.severity).max();
        match worst {
            _ if unreadable => Verdict::Error,
            Some(s) if s >= Severity::High => Verdict::Unsafe,
            Some(s) if s >= Severity::Low => Verdict::Suspicious,
            _ if !recognised => Verdict::NotAModel,
            _ => Verdict::Clean,
        }
    }
}

/// One file the run looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Artifact {
    pub path: String,
    /// The format detected from content (`pickle`, `pytorch-zip`, `numpy`, `not-a-model`, …).
    pub format: String,
    pub size: u64,
    pub verdict: Verdict,
    /// Only with `--hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One component of an inventory (`aibom`): a row of the table, an entry of the JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct InventoryItem {
    /// `model`, `data` or `library`.
    pub kind: &'static str,
    pub name: String,
    pub version: String,
    pub licence: String,
    /// Format, files, size, parameters and serialisation risk (models); declared-in (libraries).
    pub detail: String,
    /// The component's `bom-ref` in the AI-BOM.
    pub bom_ref: String,
}

/// When a run fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Info => Some(Severity::Info),
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.threshold().map_or("never", Severity::as_str)
    }
}

/// The sorted result of one run.
#[derive(Debug, Clone)]
pub struct Report {
    pub command: &'static str,
    pub findings: Vec<Finding>,
    pub artifacts: Vec<Artifact>,
    pub fail_on: FailOn,
    /// Each reported path relative to the scan root, with `/` separators (SARIF URIs).
    pub uris: BTreeMap<String, String>,
    /// Files in named directories not of a format the subcommand reads (not opened).
    pub skipped: usize,
    /// With `--shard K/N`: this shard and the deal it came from.
    pub shard: Option<crate::shard::ShardInfo>,
    /// What the run inventoried (`aibom`), in `bom-ref` order.
    pub inventory: Vec<InventoryItem>,
}

impl Report {
    pub fn new(
        command: &'static str,
        mut findings: Vec<Finding>,
        mut artifacts: Vec<Artifact>,
        fail_on: FailOn,
    ) -> Self {
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        findings.dedup();
        artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        Report {
            command,
            findings,
            artifacts,
            fail_on,
            uris: BTreeMap::new(),
            skipped: 0,
            shard: None,
            inventory: Vec::new(),
        }
    }

    /// Whether CI should fail: any finding at or above `--fail-on` that nothing suppressed.
    pub fn failed(&self) -> bool {
        self.fail_on
            .threshold()
            .is_some_and(|t| self.active().any(|f| f.severity >= t))
    }

    /// The SARIF URI of a reported path: root-relative (or a `file:` URI) as `finish` mapped
    /// it, else the path itself with `/` separators.
    pub fn uri_of(&self, path: &str) -> String {
        self.uris.get(path).cloned().unwrap_or_else(|| path.replace('\\', "/"))
    }

    /// Findings that no configuration, inline comment or baseline suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppression.is_none())
    }

    pub fn suppressed(&self) -> usize {
        self.findings.len() - self.active().count()
    }

    /// Unsuppressed findings by severity.
    pub fn by_severity(&self) -> BTreeMap<Severity, usize> {
        let mut m = BTreeMap::new();
        for f in self.active() {
            *m.entry(f.severity).or_default() += 1;
        }
        m
    }

    pub fn by_verdict(&self) -> BTreeMap<Verdict, usize> {
        let mut m = BTreeMap::new();
        for a in &self.artifacts {
            *m.entry(a.verdict).or_default() += 1;
        }
        m
    }

    /// One line for people: files by verdict, findings by severity, pass or fail.
    pub fn summary_line(&self) -> String {
        let verdicts: Vec<String> = self
            .by_verdict()
            .iter()
            .rev()
            .map(|(v, n)| format!("{n} {}", v.label(self.command)))
            .collect();
        let sev: Vec<String> = self
            .by_severity()
            .iter()
            .rev()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let files = self.artifacts.len();
        let mut line = format!("{files} file{} scanned", if files == 1 { "" } else { "s" });
        if !verdicts.is_empty() {
            line += &format!(" ({})", verdicts.join(", "));
        }
        if self.skipped > 0 {
            line += &format!(
                "; {} file{} of other formats skipped",
                self.skipped,
                if self.skipped == 1 { "" } else { "s" }
            );
        }
        let n = self.active().count();
        line += &format!("; {n} finding{}", if n == 1 { "" } else { "s" });
        if !sev.is_empty() {
            line += &format!(" ({})", sev.join(", "));
        }
        let quiet = self.suppressed();
        if quiet > 0 {
            line += &format!(", {quiet} suppressed");
        }
        line += &match (self.failed(), self.fail_on) {
            (_, FailOn::Never) => "; --fail-on never: passing".to_string(),
            (true, f) => format!("; FAIL: findings at or above {}", f.as_str()),
            (false, f) => format!("; pass: nothing at or above {}", f.as_str()),
        };
        line
    }
}

/// Render `report` in `format`; the only place results are written.
pub fn render(report: &Report, format: Format, colour: bool, out: &mut dyn Write) -> std::io::Result<()> {
    // Renderers write line by line; stdout is line-buffered, so buffer here and hand the whole
    // report over in large writes (a 30-line JSON report was 26 write calls).
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    match format {
        Format::Table => table::render(report, colour, &mut out),
        Format::Json => json::render(report, &mut out),
        Format::Sarif => sarif::render(report, &mut out),
        Format::Cyclonedx => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "cyclonedx is the aibom document, not a findings report format",
        )),
    }?;
    out.flush()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::finding::Location;
    use crate::rules::Rule;

    /// The shared report every renderer test uses.
    pub(crate) fn sample() -> Report {
        let findings = vec![
            Finding::new(
                Rule::PickleDangerousImport,
                "models/evil.pkl",
                Location::default().at_byte(2),
                "imports `os.system` and calls it",
            )
            .severity(Severity::Critical)
            .evidence("os.system('id')")
            .key("os.system"),
            Finding::new(
                Rule::PickleUnknownImport,
                "models/ckpt.pt",
                Location::in_members(&["ckpt/data.pkl".into()]).at_byte(40),
                "imports `mypkg.Net`",
            )
            .evidence("mypkg.Net")
            .key("mypkg.Net"),
            Finding::new(
                Rule::ArchiveDuplicateName,
                "models/ckpt.pt",
                Location::default(),
                "member `ckpt/data.pkl` appears 2 times",
            )
            .key("ckpt/data.pkl"),
        ];
        let artifacts = vec![
            Artifact {
                path: "models/evil.pkl".into(),
                format: "pickle".into(),
                size: 40,
                verdict: Verdict::Unsafe,
                sha256: None,
            },
            Artifact {
                path: "models/ckpt.pt".into(),
                format: "pytorch-zip".into(),
                size: 900,
                verdict: Verdict::Unsafe,
                sha256: None,
            },
            Artifact {
                path: "models/README.md".into(),
                format: "not-a-model".into(),
                size: 10,
                verdict: Verdict::NotAModel,
                sha256: None,
            },
        ];
        Report::new("scan-model", findings, artifacts, FailOn::High)
    }

    #[test]
    fn sorts_and_fails_on_threshold() {
        let mut r = sample();
        assert_eq!(r.findings[0].path, "models/ckpt.pt");
        assert!(r.failed());
        r.fail_on = FailOn::Critical;
        assert!(r.failed());
        r.fail_on = FailOn::Never;
        assert!(!r.failed());
        r.findings.retain(|f| f.severity < Severity::High);
        r.fail_on = FailOn::High;
        assert!(!r.failed());
        r.fail_on = FailOn::Medium;
        assert!(r.failed());
    }

    #[test]
    fn summary_line_counts() {
        let line = sample().summary_line();
        assert_eq!(
            line,
            "3 files scanned (1 not a model, 2 unsafe); 3 findings (1 critical, 1 high, 1 medium); FAIL: findings at or above high"
        );
    }

    #[test]
    fn verdict_from_findings() {
        let r = sample();
        assert_eq!(r.findings[0].rule, Rule::ArchiveDuplicateName);
        assert_eq!(Verdict::from_findings(&r.findings[..1], true, false), Verdict::Unsafe);
        assert_eq!(
            Verdict::from_findings(&r.findings[1..2], true, false),
            Verdict::Suspicious
        );
        assert_eq!(Verdict::from_findings(&[], false, false), Verdict::NotAModel);
        assert_eq!(Verdict::from_findings(&[], true, false), Verdict::Clean);
        assert_eq!(Verdict::from_findings(&[], true, true), Verdict::Error);
    }

    #[test]
    fn a_file_of_no_checked_format_is_named_in_the_subcommand_s_words() {
        assert_eq!(Verdict::NotAModel.label("scan-model"), "not a model");
        assert_eq!(Verdict::NotAModel.label("lint-policy"), "not a policy");
        assert_eq!(Verdict::NotAModel.label("check-lineage"), "not lineage metadata");
        assert_eq!(Verdict::Unsafe.label("lint-policy"), "unsafe");
    }
}
