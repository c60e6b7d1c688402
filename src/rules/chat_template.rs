//! Chat-template injection gadgets: the patterns are data (`rules/model/chat_template.yaml`);
//! this module parses and compiles them, and matches them against a normalised template
//! (`model::jinja`).

use super::RulesError;
use crate::finding::Severity;
use crate::model::jinja::Normalised;
use regex::Regex;
use serde::Deserialize;
use std::sync::OnceLock;

const BUILTIN_FILE: &str = "rules/model/chat_template.yaml";
/// `rules/model/chat_template.yaml`, re-encoded as JSON by `build.rs` (faster to load).
const BUILTIN: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/chat_template.json"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    pub gadgets: Vec<GadgetEntry>,
}

/// Which normalised view a pattern runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    Full,
    Code,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GadgetEntry {
    pub name: String,
    pub view: View,
    pub pattern: String,
    pub severity: Severity,
    pub reason: String,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

impl TemplateSpec {
    pub fn builtin() -> Result<TemplateSpec, RulesError> {
        serde_json::from_str(BUILTIN).map_err(|e| RulesError::Parse {
            file: BUILTIN_FILE.into(),
            message: e.to_string(),
        })
    }

    pub fn parse(text: &str, file: &str) -> Result<TemplateSpec, RulesError> {
        serde_yaml_ng::from_str(text).map_err(|e| RulesError::Parse {
            file: file.into(),
            message: e.to_string(),
        })
    }
}

#[derive(Debug)]
struct Gadget {
    name: String,
    view: View,
    pattern: String,
    /// Compiled on first use: building the automata of every gadget costs more than the rest
    /// of start-up together (measured with callgrind: 80% of a one-file scan's instructions),
    /// and most scans meet no chat template. The syntax is checked at start-up.
    re: OnceLock<Option<Regex>>,
    severity: Severity,
    reason: String,
}

/// The compiled gadget patterns.
#[derive(Debug)]
pub struct TemplatePolicy {
    gadgets: Vec<Gadget>,
}

/// One gadget found in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<'a> {
    pub gadget: &'a str,
    pub severity: Severity,
    pub reason: &'a str,
    /// The first matching text of the normalised view.
    pub matched: String,
}

impl TemplatePolicy {
    /// The built-in gadgets; `build.rs` has already checked every pattern's syntax.
    pub fn builtin() -> Result<TemplatePolicy, RulesError> {
        Self::build(&TemplateSpec::builtin()?, false)
    }

    /// Gadgets from a rules file: every pattern's syntax is checked now.
    pub fn compile(spec: &TemplateSpec) -> Result<TemplatePolicy, RulesError> {
        Self::build(spec, true)
    }

    fn build(spec: &TemplateSpec, validate: bool) -> Result<TemplatePolicy, RulesError> {
        let mut gadgets = Vec::with_capacity(spec.gadgets.len());
        for g in &spec.gadgets {
            if gadgets.iter().any(|o: &Gadget| o.name == g.name) {
                return Err(RulesError::Entry {
                    file: BUILTIN_FILE.into(),
                    entry: g.name.clone(),
                    message: "duplicate gadget name".into(),
                });
            }
            if validate {
                regex_syntax::parse(&g.pattern).map_err(|e| RulesError::Entry {
                    file: BUILTIN_FILE.into(),
                    entry: g.name.clone(),
                    message: format!("bad pattern: {e}"),
                })?;
            }
            gadgets.push(Gadget {
                name: g.name.clone(),
                view: g.view,
                pattern: g.pattern.clone(),
                re: OnceLock::new(),
                severity: g.severity,
                reason: g.reason.clone(),
            });
        }
        Ok(TemplatePolicy { gadgets })
    }

    /// Every gadget that matches, in rules-file order.
    pub fn check(&self, t: &Normalised) -> Vec<Hit<'_>> {
        self.gadgets
            .iter()
            .filter_map(|g| {
                let text = match g.view {
                    View::Full => &t.full,
                    View::Code => &t.code,
                };
                // A pattern that parses but exceeds the regex size limits cannot match;
                // `every_gadget_compiles` keeps the built-in ones inside them.
                let re = g.re.get_or_init(|| Regex::new(&g.pattern).ok()).as_ref()?;
                re.find(text).map(|m| Hit {
                    gadget: &g.name,
                    severity: g.severity,
                    reason: &g.reason,
                    matched: m.as_str().trim().to_string(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::jinja::normalise;

    #[test]
    fn every_gadget_example_behaves_as_documented() {
        let spec = TemplateSpec::builtin().unwrap();
        let policy = TemplatePolicy::compile(&spec).unwrap();
        for g in &spec.gadgets {
            assert!(!g.matches.is_empty(), "{} has no positive example", g.name);
            for m in &g.matches {
                let hits = policy.check(&normalise(m));
                assert!(hits.iter().any(|h| h.gadget == g.name), "{}: {m} did not match", g.name);
            }
            for m in &g.ignores {
                let hits = policy.check(&normalise(m));
                assert!(hits.iter().all(|h| h.gadget != g.name), "{}: {m} matched", g.name);
            }
        }
    }

    #[test]
    fn every_gadget_compiles() {
        let policy = TemplatePolicy::compile(&TemplateSpec::builtin().unwrap()).unwrap();
        for g in &policy.gadgets {
            assert!(Regex::new(&g.pattern).is_ok(), "{}", g.name);
        }
    }

    #[test]
    fn bad_patterns_and_unknown_fields_are_errors() {
        let bad = "gadgets:\n  - {name: a, view: code, pattern: '(', severity: high, reason: r}\n";
        let spec = TemplateSpec::parse(bad, "x.yaml").unwrap();
        assert!(TemplatePolicy::compile(&spec).is_err());
        let unknown = "gadgets:\n  - {name: a, view: code, pattern: 'a', severity: high, reason: r, extra: 1}\n";
        assert!(TemplateSpec::parse(unknown, "x.yaml").is_err());
    }
}
