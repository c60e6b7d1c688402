//! The rule catalogue (generated from `rules/catalog.yaml`) and the compiled rule data that
//! scanners use. Everything here is data embedded at build time; user entries from
//! configuration join the built-in lists in `RuleSet::compile`, the one merge point.

pub mod chat_template;
mod glob;
pub mod keras;
pub mod onnx;
pub mod pickle;
pub mod signing;

use crate::finding::Severity;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/rules_generated.rs"));

/// Everything the catalogue says about one rule.
#[derive(Debug)]
pub struct RuleSpec {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
    pub example: &'static str,
    pub fix: &'static str,
}

impl Rule {
    pub fn id(self) -> &'static str {
        self.spec().id
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn default_severity(self) -> Severity {
        self.spec().severity
    }

    pub fn summary(self) -> &'static str {
        self.spec().summary
    }

    pub fn doc(self) -> &'static str {
        self.spec().doc
    }

    pub fn example(self) -> &'static str {
        self.spec().example
    }

    pub fn fix(self) -> &'static str {
        self.spec().fix
    }

    /// Look a rule up by id (`MOD101`, any case) or name (`pickle-dangerous-import`).
    pub fn find(key: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.id().eq_ignore_ascii_case(key) || r.name() == key)
    }

    /// Where the rule's documentation page lives, for SARIF `helpUri` and `explain`.
    pub fn help_uri(self) -> String {
        format!("{}/blob/main/docs/rules/{}.md", env!("CARGO_PKG_REPOSITORY"), self.id())
    }
}

/// A rules file shipped with llmguard or given by the user failed to load.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("rules file {file}: {message}")]
    Parse { file: String, message: String },
    #[error("rules file {file}: entry {entry}: {message}")]
    Entry {
        file: String,
        entry: String,
        message: String,
    },
}

/// All compiled rule data, built once per run and shared by every scanner thread.
///
/// The pickle policy is compiled at once (every pickle-bearing format needs it, and user
/// entries merge into it, so its errors belong at start-up). The Keras, ONNX and chat-template
/// policies are built-in data only and are compiled the first time a file needs them: a scan
/// of PyTorch checkpoints never pays for them (a third of the start-up instructions).
#[derive(Debug)]
pub struct RuleSet {
    pub pickle: pickle::PicklePolicy,
    chat_template: OnceLock<chat_template::TemplatePolicy>,
    keras: OnceLock<keras::KerasPolicy>,
    onnx: OnceLock<onnx::OnnxPolicy>,
}

/// Rule data a user adds on top of the built-in lists (from configuration).
#[derive(Debug, Default, Clone)]
pub struct UserRules {
    pub pickle: Vec<(String, pickle::PickleSpec)>,
}

/// A lazily compiled built-in policy. Built-in rule data is checked when it is embedded
/// (`build.rs`) and compiled by `every_builtin_policy_compiles`, so a failure here is a bug in
/// the shipped data, not in the input; the driver turns the panic into an internal-error
/// finding for the file that needed it.
fn builtin<T>(cell: &OnceLock<T>, compile: fn() -> Result<T, RulesError>) -> &T {
    cell.get_or_init(|| compile().unwrap_or_else(|e| panic!("built-in rules do not compile: {e}")))
}

impl RuleSet {
    /// The built-in rules, plus whatever the user adds.
    pub fn compile(user: &UserRules) -> Result<RuleSet, RulesError> {
        // The built-in pickle lists are static tables; user entries join them as an overlay
        // that every lookup consults after them (see `rules::pickle`).
        let mut spec = pickle::PickleSpec::default();
        for (file, extra) in &user.pickle {
            spec.merge(extra.clone(), file);
        }
        let pickle = match user.pickle.is_empty() {
            true => pickle::PicklePolicy::builtin(),
            false => pickle::PicklePolicy::with_user(&spec)?,
        };
        Ok(RuleSet {
            pickle,
            chat_template: OnceLock::new(),
            keras: OnceLock::new(),
            onnx: OnceLock::new(),
        })
    }

    pub fn builtin() -> Result<RuleSet, RulesError> {
        Self::compile(&UserRules::default())
    }

    pub fn chat_template(&self) -> &chat_template::TemplatePolicy {
        builtin(&self.chat_template, chat_template::TemplatePolicy::builtin)
    }

    pub fn keras(&self) -> &keras::KerasPolicy {
        builtin(&self.keras, keras::KerasPolicy::builtin)
    }

    pub fn onnx(&self) -> &onnx::OnnxPolicy {
        builtin(&self.onnx, onnx::OnnxPolicy::builtin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_policy_compiles() {
        chat_template::TemplatePolicy::builtin().unwrap();
        keras::KerasPolicy::builtin().unwrap();
        onnx::OnnxPolicy::builtin().unwrap();
        let rules = RuleSet::builtin().unwrap();
        let _ = (rules.chat_template(), rules.keras(), rules.onnx());
    }

    #[test]
    fn catalogue_lookup_and_metadata() {
        assert_eq!(Rule::find("mod101"), Some(Rule::PickleDangerousImport));
        assert_eq!(Rule::find("pickle-unknown-import"), Some(Rule::PickleUnknownImport));
        assert_eq!(Rule::find("nope"), None);
        for r in Rule::ALL {
            assert!(
                !r.doc().is_empty() && !r.fix().is_empty() && !r.example().is_empty(),
                "{}",
                r.id()
            );
            assert!(r.help_uri().ends_with(&format!("{}.md", r.id())));
        }
    }
}
