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
        Ok(config)
    }

    /// Whether inline ignore comments in `rel` (a path relative to the scan root) count.
    pub fn trusts_inline(&self, rel: &str) -> bool {
        self.inline_trusted.as_ref().is_some_and(|s| s.is_match(rel))
    }
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
