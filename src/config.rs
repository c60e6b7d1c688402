//! `llmguard.toml`: severity overrides, disabled rules, extra pickle allow/deny entries,
//! per-path ignores (optionally pinned to a file's sha256) and the paths where inline ignore
//! comments are trusted. Parsed strictly: an unknown key is an error naming the key and its
//! line, and so is an unknown rule id, a bad glob or a malformed sha256.
//!
//! ```toml
//! inline_ignores = ["prompts/templates/**"]
//!
//! [rules]
//! disable = ["MOD104"]
//! severity = { PRM301 = "low", pickle-unknown-import = "high" }
//!
//! [pickle]
//! allow = [{ module = "mypkg.models", names = ["Net"] }]
//!
//! [[ignore]]
//! rule = "MOD101"
//! path = "testdata/evil.pkl"
//! sha256 = "…64 hex digits…"
//! reason = "a deliberately malicious test fixture"
//!
//! [signing]                                   # turns on OMS signature verification in scan-model
//! public_keys = ["signing/team.pub"]          # relative to this file's directory
//! certificate_chains = ["signing/root-ca.pem"]
//! require = ["models/**"]                     # files that must be covered by a signature
//! ```

use crate::finding::Severity;
use crate::rules::pickle::PickleSpec;
use crate::rules::{Rule, UserRules};
use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file name discovered at the scan root.
pub const FILE_NAME: &str = "llmguard.toml";

/// The configuration file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: RulesSection,
    #[serde(default)]
    pickle: Option<PickleSpec>,
    /// Globs (relative to the scan root) of files whose inline ignore comments count.
    #[serde(default)]
    inline_ignores: Vec<Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<IgnoreEntry>>,
    #[serde(default)]
    policy: Option<PolicySection>,
    #[serde(default)]
    lineage: LineageSection,
    #[serde(default)]
    signing: Option<SigningSection>,
}

/// `[signing]`: OMS signature verification for `scan-model`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SigningSection {
    #[serde(default)]
    public_keys: Vec<String>,
    #[serde(default)]
    certificate_chains: Vec<String>,
    #[serde(default)]
    require: Vec<Spanned<String>>,
}

/// The `[signing]` section, compiled. Its presence turns verification on.
#[derive(Debug, Default)]
pub struct SigningConfig {
    /// PEM public keys, resolved against the configuration file's directory.
    pub public_keys: Vec<PathBuf>,
    /// PEM certificate files (roots and intermediates), resolved the same way.
    pub certificate_chains: Vec<PathBuf>,
    /// Files (globs relative to the scan root) that must be covered by a verified signature.
    pub require: Option<GlobSet>,
}

/// `[lineage]`: what `check-lineage` requires of datasets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineageSection {
    /// Replaces the built-in list of required provenance fields.
    #[serde(default)]
    required: Option<Vec<Spanned<String>>>,
    /// Hosts (a host approves its subdomains), `scheme://host` URLs and internal system ids.
    #[serde(default)]
    approved_sources: Vec<Spanned<String>>,
    /// Licences datasets may have (SPDX expressions, Hub ids such as `other`).
    #[serde(default)]
    approved_licenses: Vec<Spanned<String>>,
    /// The project's use of its data: `commercial`, `non-commercial` or `research`.
    #[serde(default)]
    intended_use: Option<Spanned<String>>,
    /// Compliance frameworks on or off: `{ gdpr = true, soc2 = true }`.
    #[serde(default)]
    frameworks: BTreeMap<Spanned<String>, bool>,
}

/// The compiled `[lineage]` section; `Default` is "no section".
#[derive(Debug, Default, Clone)]
pub struct LineageConfig {
    pub required: Option<Vec<crate::lineage::Requirement>>,
    pub approved_sources: Vec<String>,
    pub approved_licenses: Vec<String>,
    /// `Some(true)` for `intended_use = "commercial"`.
    pub commercial: Option<bool>,
    /// Framework id to on/off; frameworks not named keep their default.
    pub frameworks: BTreeMap<String, bool>,
}

/// `[policy]`: `lint-policy` settings over the built-in data.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySection {
    #[serde(default)]
    min_retention_days: Option<u64>,
    #[serde(default)]
    min_tls: Option<Spanned<String>>,
    #[serde(default)]
    max_policy_mib: Option<Spanned<usize>>,
    /// `NAMESPACE/RESOURCE` globs (Kubernetes) or index-name globs (OpenSearch) to a sensitivity.
    #[serde(default)]
    classification: BTreeMap<String, Spanned<String>>,
}

/// `lint-policy` settings from `[policy]`; `None` keeps the built-in value.
#[derive(Debug, Default, Clone)]
pub struct PolicyConfig {
    pub min_retention_days: Option<u64>,
    pub min_tls: Option<String>,
    pub max_policy_mib: Option<usize>,
    pub classification: Vec<crate::policy::ConfigClass>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesSection {
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Severity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreEntry {
    rule: Spanned<String>,
    path: Spanned<String>,
    #[serde(default)]
    sha256: Option<Spanned<String>>,
    reason: String,
}

/// One `[[ignore]]` entry, compiled.
#[derive(Debug)]
pub struct Ignore {
    pub rule: Rule,
    pub pattern: String,
    matcher: GlobMatcher,
    /// Lower-case hex; the approval holds only while the file has exactly these bytes.
    pub sha256: Option<String>,
    pub reason: String,
    /// 1-based line of the entry in the configuration file.
    pub line: u32,
}

impl Ignore {
    pub fn matches_path(&self, rel: &str) -> bool {
        self.matcher.is_match(rel)
    }
}

/// The compiled configuration; `Config::default()` is "no file".
#[derive(Debug, Default)]
pub struct Config {
    /// The file it came from, as shown in findings about it.
    pub source: Option<String>,
    pub severity: BTreeMap<Rule, Severity>,
    pub disabled: BTreeMap<Rule, u32>,
    pub ignores: Vec<Ignore>,
    inline_trusted: Option<GlobSet>,
    pub user_rules: UserRules,
    pub policy: PolicyConfig,
    pub lineage: LineageConfig,
    pub signing: Option<SigningConfig>,
}

/// The configuration could not be used; the run fails with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    /// `explicit` (from `--config`), else `llmguard.toml` at the scan root if there is one.
    pub fn load(explicit: Option<&Path>, root: &Path) -> Result<Config, ConfigError> {
        let path: PathBuf = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let p = root.join(FILE_NAME);
                if !p.is_file() {
                    return Ok(Config::default());
                }
                p
            }
        };
        // Shown relative to the working directory when it is below it, as users name files.
        let cwd = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok());
        let shown = cwd
            .and_then(|d| path.strip_prefix(&d).ok().map(|p| p.display().to_string()))
            .unwrap_or_else(|| path.display().to_string());
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut config = Config::parse(&text, &shown)?;
        // Key and certificate files are named relative to the configuration file.
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if let Some(s) = config.signing.as_mut() {
            for p in s.public_keys.iter_mut().chain(s.certificate_chains.iter_mut()) {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(config)
    }

    /// Parse configuration text; `shown` names the file in errors and findings.
    pub fn parse(text: &str, shown: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: shown.to_string(),
            message,
        };
        // toml's message already names the key and shows the line; keep it whole.
        let file: File = toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_string()))?;
        let line_of = |span: std::ops::Range<usize>| -> u32 {
            let upto = text.get(..span.start).unwrap_or(text);
            u32::try_from(upto.matches('\n').count() + 1).unwrap_or(u32::MAX)
        };
        let rule = |s: &Spanned<String>, what: &str| -> Result<Rule, ConfigError> {
            Rule::find(s.get_ref()).ok_or_else(|| {
                invalid(format!(
                    "line {}: {what}: no rule `{}` (`llmguard rules` lists them)",
                    line_of(s.span()),
                    s.get_ref()
                ))
            })
        };
        let glob = |s: &Spanned<String>, what: &str| -> Result<Glob, ConfigError> {
            Glob::new(s.get_ref()).map_err(|e| {
                invalid(format!(
                    "line {}: {what}: bad glob `{}`: {e}",
                    line_of(s.span()),
                    s.get_ref()
                ))
            })
        };
        let mut config = Config {
            source: Some(shown.to_string()),
            ..Config::default()
        };
        for (id, sev) in &file.rules.severity {
            config.severity.insert(rule(id, "rules.severity")?, *sev);
        }
        for id in &file.rules.disable {
            config.disabled.insert(rule(id, "rules.disable")?, line_of(id.span()));
        }
        if !file.inline_ignores.is_empty() {
            let mut set = GlobSetBuilder::new();
            for g in &file.inline_ignores {
                set.add(glob(g, "inline_ignores")?);
            }
            config.inline_trusted = Some(set.build().map_err(|e| invalid(format!("inline_ignores: {e}")))?);
        }
        for entry in &file.ignore {
            let line = line_of(entry.span());
            let e = entry.get_ref();
            if e.reason.trim().is_empty() {
                return Err(invalid(format!("line {line}: [[ignore]]: `reason` must say why")));
            }
            let sha256 = match &e.sha256 {
                Some(h) => {
                    let hex = h
                        .get_ref()
                        .strip_prefix("sha256:")
                        .unwrap_or(h.get_ref())
                        .to_ascii_lowercase();
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(invalid(format!(
                            "line {}: [[ignore]]: `sha256` must be 64 hex digits",
                            line_of(h.span())
                        )));
                    }
                    Some(hex)
                }
                None => None,
            };
            config.ignores.push(Ignore {
                rule: rule(&e.rule, "[[ignore]] rule")?,
                pattern: e.path.get_ref().clone(),
                matcher: glob(&e.path, "[[ignore]] path")?.compile_matcher(),
                sha256,
                reason: e.reason.trim().to_string(),
                line,
            });
        }
        if let Some(sec) = &file.signing {
            let require = if sec.require.is_empty() {
                None
            } else {
                let mut set = GlobSetBuilder::new();
                for g in &sec.require {
                    set.add(glob(g, "signing.require")?);
                }
                Some(set.build().map_err(|e| invalid(format!("signing.require: {e}")))?)
            };
            config.signing = Some(SigningConfig {
                public_keys: sec.public_keys.iter().map(PathBuf::from).collect(),
                certificate_chains: sec.certificate_chains.iter().map(PathBuf::from).collect(),
                require,
            });
        }
        if let Some(p) = file.pickle {
            config.user_rules.pickle.push((shown.to_string(), p));
        }
        if let Some(p) = file.policy {
            config.policy.min_retention_days = p.min_retention_days;
            if let Some(t) = p.min_tls {
                let ok = ["1.0", "1.1", "1.2", "1.3"].contains(&t.get_ref().as_str());
                if !ok {
                    return Err(invalid(format!(
                        "line {}: [policy] min_tls must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\"",
                        line_of(t.span())
                    )));
                }
                config.policy.min_tls = Some(t.get_ref().clone());
            }
            if let Some(m) = p.max_policy_mib {
                if !(1..=1024).contains(m.get_ref()) {
                    return Err(invalid(format!(
                        "line {}: [policy] max_policy_mib must be 1 to 1024",
                        line_of(m.span())
                    )));
                }
                config.policy.max_policy_mib = Some(*m.get_ref());
            }
            for (pattern, s) in &p.classification {
                let sensitivity = crate::policy::model::Sensitivity::parse(s.get_ref()).ok_or_else(|| {
                    invalid(format!(
                        "line {}: [policy.classification] `{pattern}`: sensitivity must be public, internal, confidential or restricted",
                        line_of(s.span())
                    ))
                })?;
                config.policy.classification.push(crate::policy::ConfigClass {
                    pattern: pattern.clone(),
                    sensitivity,
                });
            }
        }
        config.lineage = lineage_section(&file.lineage, &invalid, &line_of)?;
        Ok(config)
    }

    /// Whether inline ignore comments in `rel` (a path relative to the scan root) count.
    pub fn trusts_inline(&self, rel: &str) -> bool {
        self.inline_trusted.as_ref().is_some_and(|s| s.is_match(rel))
    }
}

/// Check and compile `[lineage]`: unknown field names, frameworks, licences and uses are
/// errors naming their line.
fn lineage_section(
    section: &LineageSection,
    invalid: &dyn Fn(String) -> ConfigError,
    line_of: &dyn Fn(std::ops::Range<usize>) -> u32,
) -> Result<LineageConfig, ConfigError> {
    use crate::lineage::{license, spec::LineageRules, Requirement};
    let rules = LineageRules::shared();
    let mut out = LineageConfig::default();
    if let Some(list) = &section.required {
        let mut req = Vec::new();
        for f in list {
            let r = Requirement::parse(f.get_ref()).ok_or_else(|| {
                let known: Vec<&str> = Requirement::ALL.iter().map(|r| r.as_str()).collect();
                invalid(format!(
                    "line {}: [lineage] required: no field `{}` (known: {})",
                    line_of(f.span()),
                    f.get_ref(),
                    known.join(", ")
                ))
            })?;
            if !req.contains(&r) {
                req.push(r);
            }
        }
        out.required = Some(req);
    }
    for s in &section.approved_sources {
        let v = s.get_ref().trim();
        if v.is_empty() || v.contains(char::is_whitespace) {
            return Err(invalid(format!(
                "line {}: [lineage] approved_sources: `{}` is not a host, URL or system id",
                line_of(s.span()),
                s.get_ref()
            )));
        }
        out.approved_sources.push(v.to_ascii_lowercase());
    }
    for l in &section.approved_licenses {
        let lic = license::normalise(l.get_ref(), rules);
        if lic.spdx.is_none() && lic.hub_id.is_none() && lic.private.is_none() {
            return Err(invalid(format!(
                "line {}: [lineage] approved_licenses: `{}` is neither an SPDX expression, a Hugging Face licence id nor a private-licence word (proprietary, internal…)",
                line_of(l.span()),
                l.get_ref()
            )));
        }
        out.approved_licenses.push(l.get_ref().clone());
    }
    if let Some(u) = &section.intended_use {
        out.commercial = Some(match u.get_ref().as_str() {
            "commercial" => true,
            "non-commercial" | "research" => false,
            other => {
                return Err(invalid(format!(
                    "line {}: [lineage] intended_use: `{other}` (expected commercial, non-commercial or research)",
                    line_of(u.span())
                )))
            }
        });
    }
    for (name, on) in &section.frameworks {
        if rules.framework(name.get_ref()).is_none() {
            let known: Vec<&str> = rules.frameworks.iter().map(|f| f.id.as_str()).collect();
            return Err(invalid(format!(
                "line {}: [lineage] frameworks: no framework `{}` (known: {})",
                line_of(name.span()),
                name.get_ref(),
                known.join(", ")
            )));
        }
        out.frameworks.insert(name.get_ref().clone(), *on);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section() {
        let c = Config::parse(
            r#"
inline_ignores = ["prompts/templates/**"]
[rules]
disable = ["MOD104"]
severity = { PRM301 = "low", pickle-unknown-import = "high" }
[pickle]
allow = [{ module = "mypkg.models", names = ["Net"] }]
[[ignore]]
rule = "MOD101"
path = "testdata/*.pkl"
sha256 = "sha256:AB00000000000000000000000000000000000000000000000000000000000000"
reason = "fixture"
"#,
            "llmguard.toml",
        )
        .unwrap();
        assert_eq!(c.severity[&Rule::find("PRM301").unwrap()], Severity::Low);
        assert_eq!(c.severity[&Rule::PickleUnknownImport], Severity::High);
        assert!(c.disabled.contains_key(&Rule::find("MOD104").unwrap()));
        assert!(c.trusts_inline("prompts/templates/a/b.txt"));
        assert!(!c.trusts_inline("data/rag/doc.md"));
        let ig = &c.ignores[0];
        assert_eq!(ig.rule, Rule::PickleDangerousImport);
        assert!(ig.matches_path("testdata/evil.pkl") && !ig.matches_path("models/evil.pkl"));
        assert!(ig.sha256.as_deref().unwrap().starts_with("ab00"));
        assert_eq!(ig.line, 8, "the line of the entry's [[ignore]] header");
        assert_eq!(c.user_rules.pickle.len(), 1);
        assert!(c.signing.is_none());
    }

    #[test]
    fn signing_section() {
        let c = Config::parse(
            "[signing]\npublic_keys = [\"k.pub\"]\ncertificate_chains = [\"ca.pem\"]\nrequire = [\"models/**\"]\n",
            "c.toml",
        )
        .unwrap();
        let s = c.signing.unwrap();
        assert_eq!(s.public_keys, vec![PathBuf::from("k.pub")]);
        assert_eq!(s.certificate_chains, vec![PathBuf::from("ca.pem")]);
        assert!(s.require.unwrap().is_match("models/a/b.bin"));
        // An empty section still turns verification on.
        assert!(Config::parse("[signing]\n", "c.toml").unwrap().signing.is_some());
        for (text, want) in [
            ("[signing]\npublic_key = [\"k\"]\n", "public_key"),
            ("[signing]\nrequire = [\"a[\"]\n", "line 2"),
        ] {
            let err = Config::parse(text, "c.toml").unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn policy_section() {
        let c = Config::parse(
            "[policy]\nmin_retention_days = 400\nmin_tls = \"1.3\"\nclassification = { \"hr-*\" = \"restricted\" }\n",
            "llmguard.toml",
        )
        .unwrap();
        assert_eq!(c.policy.min_retention_days, Some(400));
        assert_eq!(c.policy.classification[0].pattern, "hr-*");
        for (text, want) in [
            ("[policy]\nmin_tls = \"1.5\"\n", "line 2"),
            ("[policy]\nclassification = { a = \"secret\" }\n", "line 2"),
            ("[policy]\nretention = 1\n", "retention"),
        ] {
            let err = Config::parse(text, "cfg.toml").unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn lineage_section_is_strict() {
        let c = Config::parse(
            "[lineage]\nrequired = [\"name\", \"owner\"]\napproved_sources = [\"HuggingFace.co\"]\napproved_licenses = [\"mit\", \"other\"]\nintended_use = \"commercial\"\nframeworks = { soc2 = true }\n",
            "llmguard.toml",
        )
        .unwrap();
        let l = &c.lineage;
        assert_eq!(l.required.as_ref().unwrap().len(), 2);
        assert_eq!(l.approved_sources, vec!["huggingface.co"]);
        assert_eq!(l.commercial, Some(true));
        assert_eq!(l.frameworks.get("soc2"), Some(&true));
        for (text, want) in [
            ("[lineage]\nrequired = [\"nmae\"]\n", "line 2"),
            ("[lineage]\nframeworks = { pci = true }\n", "pci"),
            ("[lineage]\napproved_licenses = [\"Some Licence\"]\n", "line 2"),
            ("[lineage]\nintended_use = \"fun\"\n", "intended_use"),
            ("[lineage]\nrequierd = []\n", "requierd"),
        ] {
            let err = Config::parse(text, "cfg.toml").unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn errors_name_the_key_and_line() {
        for (text, want) in [
            ("[rules]\ndisabel = [\"MOD101\"]\n", "disabel"),
            ("[rules]\ndisable = [\"MOD999\"]\n", "line 2"),
            ("colour = true\n", "colour"),
            ("[[ignore]]\nrule = \"MOD101\"\npath = \"a\"\nreason = \"\"\n", "reason"),
            (
                "[[ignore]]\nrule = \"MOD101\"\npath = \"a\"\nsha256 = \"12\"\nreason = \"r\"\n",
                "line 4",
            ),
            (
                "[[ignore]]\nrule = \"MOD101\"\npath = \"a[\"\nreason = \"r\"\n",
                "bad glob",
            ),
            (
                "[[ignore]]\nrule = \"MOD101\"\npath = \"a\"\nreason = \"r\"\nwhy = 1\n",
                "why",
            ),
            ("[pickle]\nallow = [{ module = \"m\", nmes = [\"x\"] }]\n", "nmes"),
        ] {
            let err = Config::parse(text, "cfg.toml").unwrap_err().to_string();
            assert!(err.contains("cfg.toml") && err.contains(want), "{text:?}: {err}");
        }
        // toml reports the line of an unknown key itself.
        let err = Config::parse("\n\n[rules]\nbogus = 1\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4"), "{err}");
    }
}
