//! The one finding model shared by every subcommand: what was found, how bad it is, and where.

use crate::rules::Rule;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How bad a finding is. Ordered, so `--fail-on` is a comparison.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding points, in one shape for every subcommand. Every field is optional and
/// serialised only when set; fields are added, never renamed.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// Chain of archive members from the outermost archive inward (a zip inside a zip is two).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// An HDF5 object path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Byte offset inside the innermost member (or the file when `members` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_offset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byte_length: Option<u64>,
    /// 1-based text position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    /// 1-based record number in JSONL/CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// A JSON pointer into a YAML/JSON document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_path: Option<String>,
}

impl Location {
    pub fn in_members(members: &[String]) -> Self {
        Location {
            members: members.to_vec(),
            ..Location::default()
        }
    }

    pub fn at_byte(mut self, offset: u64) -> Self {
        self.byte_offset = Some(offset);
        self
    }

    /// `member!/inner` chain as shown to people.
    pub fn member_chain(&self) -> Option<String> {
        (!self.members.is_empty()).then(|| self.members.join("!/"))
    }
}

/// One thing a scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub message: String,
    /// The file, as the user named it (joined with the path inside a directory they named).
    pub path: String,
    pub location: Location,
    /// A short excerpt that shows what matched; never a secret in clear.
    pub evidence: Option<String>,
    /// What identifies this finding across runs when bytes around it move (an import name, a
    /// member name); part of the fingerprint instead of the byte offset.
    pub key: String,
    /// Set when configuration, a trusted inline comment or the baseline silenced the
    /// finding: it is still reported (JSON, SARIF `suppressions`) but does not fail the run.
    pub suppression: Option<Suppression>,
}

/// What silenced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    /// An `[[ignore]]` entry or a disabled rule in `llmguard.toml`.
    Config,
    /// An `llmguard: ignore[...]` comment in a file the configuration trusts.
    Inline,
    /// The finding was already in the `--baseline` report.
    Baseline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// The reason the configuration or comment gave (or which baseline).
    pub reason: String,
}

impl Finding {
    /// A finding at the rule's default severity.
    pub fn new(rule: Rule, path: &str, location: Location, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.default_severity(),
            message: message.into(),
            path: path.to_string(),
            location,
            evidence: None,
            key: String::new(),
            suppression: None,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Self {
        self.evidence = Some(truncate(&evidence.into(), 160));
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = key.into();
        self
    }

    /// A stable fingerprint: rule, path, member chain and key, not byte offsets, so that it
    /// survives unrelated edits of the file (used by SARIF `partialFingerprints` and baselines).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.rule.id(),
            &self.path.replace('\\', "/"),
            &self.location.members.join("\u{0}"),
            &self.key,
        ] {
            h.update(part.as_bytes());
            h.update([0xff]);
        }
        let digest = h.finalize();
        digest[..12].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The order every report uses: path, member chain, position, rule, message.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            &self.path,
            &self.location,
            self.rule,
            std::cmp::Reverse(self.severity),
            &self.message,
            &self.key,
        )
    }
}

/// Cut `s` to at most `max` characters on a char boundary, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_prints() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
        assert_eq!(Severity::Medium.to_string(), "medium");
    }

    #[test]
    fn fingerprint_ignores_offsets_but_not_keys() {
        let a = Finding::new(
            Rule::PickleDangerousImport,
            "m.pkl",
            Location::default().at_byte(3),
            "x",
        )
        .key("os.system");
        let b = Finding::new(
            Rule::PickleDangerousImport,
            "m.pkl",
            Location::default().at_byte(99),
            "y",
        )
        .key("os.system");
        let c = b.clone().key("posix.system");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_eq!(a.fingerprint().len(), 24);
    }

    #[test]
    fn truncate_marks_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
