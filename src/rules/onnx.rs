//! ONNX rule data: the operator domains that the standard runtimes implement, the
//! `external_data` keys loaders read, and the shapes of an external-data location that leave
//! the model's directory. The lists are data (`rules/model/onnx.yaml`); this module parses and
//! compiles them, and judges a location.

use super::RulesError;
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;

const BUILTIN_FILE: &str = "rules/model/onnx.yaml";
/// `rules/model/onnx.yaml`, re-encoded as JSON by `build.rs`.
const BUILTIN: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/onnx.json"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnnxSpec {
    pub domains: Vec<DomainEntry>,
    pub external_data_keys: Vec<String>,
    pub location_patterns: Vec<PatternEntry>,
}

/// Who implements a known operator domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainKind {
    Standard,
    Runtime,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainEntry {
    pub domain: String,
    pub kind: DomainKind,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternEntry {
    pub name: String,
    pub pattern: String,
    pub reason: String,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

impl OnnxSpec {
    pub fn builtin() -> Result<OnnxSpec, RulesError> {
        serde_json::from_str(BUILTIN).map_err(|e| RulesError::Parse {
            file: BUILTIN_FILE.into(),
            message: e.to_string(),
        })
    }

    pub fn parse(text: &str, file: &str) -> Result<OnnxSpec, RulesError> {
        serde_yaml_ng::from_str(text).map_err(|e| RulesError::Parse {
            file: file.into(),
            message: e.to_string(),
        })
    }
}

#[derive(Debug)]
struct Pattern {
    name: String,
    re: Regex,
    reason: String,
}

/// The compiled ONNX rule data.
#[derive(Debug)]
pub struct OnnxPolicy {
    domains: BTreeMap<String, DomainKind>,
    keys: Vec<String>,
    patterns: Vec<Pattern>,
}

/// Why an external-data location leaves the model's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape<'a> {
    /// The pattern's name, or `parent-directory` for a `..` climb.
    pub kind: &'a str,
    pub reason: &'a str,
}

const PARENT_REASON: &str = "`..` components climb out of the model's directory";

impl OnnxPolicy {
    pub fn builtin() -> Result<OnnxPolicy, RulesError> {
        Self::compile(&OnnxSpec::builtin()?)
    }

    pub fn compile(spec: &OnnxSpec) -> Result<OnnxPolicy, RulesError> {
        let entry_err = |entry: &str, message: String| RulesError::Entry {
            file: BUILTIN_FILE.into(),
            entry: entry.into(),
            message,
        };
        let mut domains = BTreeMap::new();
        for d in &spec.domains {
            if domains.insert(d.domain.clone(), d.kind).is_some() {
                return Err(entry_err(&d.domain, "duplicate domain".into()));
            }
        }
        let mut patterns: Vec<Pattern> = Vec::with_capacity(spec.location_patterns.len());
        for p in &spec.location_patterns {
            if patterns.iter().any(|o| o.name == p.name) || p.name == "parent-directory" {
                return Err(entry_err(&p.name, "duplicate pattern name".into()));
            }
            let re = Regex::new(&p.pattern).map_err(|e| entry_err(&p.name, format!("bad pattern: {e}")))?;
            patterns.push(Pattern {
                name: p.name.clone(),
                re,
                reason: p.reason.clone(),
            });
        }
        Ok(OnnxPolicy {
            domains,
            keys: spec.external_data_keys.clone(),
            patterns,
        })
    }

    /// Who implements an operator domain, if a stock runtime does.
    pub fn domain(&self, domain: &str) -> Option<DomainKind> {
        self.domains.get(domain).copied()
    }

    /// Whether onnx/onnxruntime read this `external_data` key.
    pub fn known_key(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }

    /// Why a location leaves the model's directory, if it does (the first reason found).
    pub fn escape(&self, location: &str) -> Option<Escape<'_>> {
        if let Some(p) = self.patterns.iter().find(|p| p.re.is_match(location)) {
            return Some(Escape {
                kind: &p.name,
                reason: &p.reason,
            });
        }
        crate::model::climbs_out(location).then_some(Escape {
            kind: "parent-directory",
            reason: PARENT_REASON,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_location_example_behaves_as_documented() {
        let spec = OnnxSpec::builtin().unwrap();
        let policy = OnnxPolicy::compile(&spec).unwrap();
        for p in &spec.location_patterns {
            assert!(!p.matches.is_empty(), "{} has no positive example", p.name);
            for m in &p.matches {
                assert_eq!(policy.escape(m).map(|e| e.kind), Some(p.name.as_str()), "{m}");
            }
            for m in &p.ignores {
                assert_ne!(policy.escape(m).map(|e| e.kind), Some(p.name.as_str()), "{m}");
            }
        }
    }

    #[test]
    fn parent_climbs_are_counted() {
        let policy = OnnxPolicy::builtin().unwrap();
        for (loc, out) in [
            ("../../../../etc/passwd", true),
            ("a/../../b", true),
            ("a\\..\\..\\b", true),
            ("./../x", true),
            ("a/../b", false),
            ("a/./b/../c", false),
            ("weights..bin", false),
            ("..weights", false),
        ] {
            assert_eq!(policy.escape(loc).is_some(), out, "{loc}");
        }
    }

    #[test]
    fn domains_and_keys() {
        let policy = OnnxPolicy::builtin().unwrap();
        assert_eq!(policy.domain(""), Some(DomainKind::Standard));
        assert_eq!(policy.domain("ai.onnx.ml"), Some(DomainKind::Standard));
        assert_eq!(policy.domain("com.microsoft"), Some(DomainKind::Runtime));
        assert_eq!(policy.domain("com.evil.ops"), None);
        assert!(policy.known_key("location") && !policy.known_key("__class__"));
    }

    #[test]
    fn bad_data_is_an_error() {
        let dup = "domains:\n  - {domain: a, kind: standard, reason: r}\n  - {domain: a, kind: runtime, reason: r}\nexternal_data_keys: []\nlocation_patterns: []\n";
        assert!(OnnxPolicy::compile(&OnnxSpec::parse(dup, "x.yaml").unwrap()).is_err());
        let bad = "domains: []\nexternal_data_keys: []\nlocation_patterns:\n  - {name: a, pattern: '(', reason: r}\n";
        assert!(OnnxPolicy::compile(&OnnxSpec::parse(bad, "x.yaml").unwrap()).is_err());
        let unknown = "domains: []\nexternal_data_keys: []\nlocation_patterns: []\nextra: 1\n";
        assert!(OnnxSpec::parse(unknown, "x.yaml").is_err());
    }
}
