//! `lint-policy` inputs: access policies for vector databases and AI gateways, parsed with
//! source positions into one model (`model`), from three formats detected by content:
//!
//! - `native`: the vector-DB RBAC policy shape of enterprise LLM reference architectures
//!   (`kind: Policy`, `roles`, `role_bindings`, `data_classification`, …), read as it is;
//! - `kubernetes`: Role, ClusterRole, RoleBinding and ClusterRoleBinding manifests;
//! - `opensearch`: OpenSearch Security `roles.yml` (`_meta.type: roles`).
//!
//! Parsers know nothing of rules beyond reporting what they could not read; the checks and the
//! effective-access computation live in `scan::policy` and `policy::access`.

pub mod access;
pub mod condition;
pub mod kubernetes;
pub mod model;
pub mod native;
pub mod opensearch;
pub mod params;
pub mod time;
pub mod yaml;

use crate::finding::Severity;
use crate::rules::Rule;
use model::{At, Sensitivity, Sp};
use params::PolicyParams;
use yaml::{Node, Value};

/// Something a parser could not accept, to become a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub rule: Rule,
    pub severity: Option<Severity>,
    pub at: At,
    pub message: String,
    /// Identifies the problem across runs (with the rule and the file).
    pub key: String,
}

/// A classification the configuration gives to Kubernetes namespaces/resources or OpenSearch
/// index patterns (formats that have no classification of their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigClass {
    /// `NAMESPACE/RESOURCE` glob (Kubernetes) or index-name glob (OpenSearch).
    pub pattern: String,
    pub sensitivity: Sensitivity,
}

/// What parsing a file gave.
#[derive(Debug, Default)]
pub struct Parsed {
    pub policies: Vec<model::Policy>,
    pub problems: Vec<Problem>,
    /// `None` when the file is not a policy of any known format.
    pub format: Option<model::Format>,
}

/// The family of input formats a file belongs to, detected by content. Kubernetes manifests
/// and OpenSearch security configuration are joined with the other files of their family in
/// the same directory (see `scan::policy`); native policies stand alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Native,
    Kubernetes,
    Opensearch,
}

/// The YAML documents of a file, or the finding that it has none to read.
pub fn read(text: &str, limits: yaml::YamlLimits) -> Result<Vec<Node>, Parsed> {
    yaml::parse(text, limits).map_err(|e| {
        let (rule, line, column, message, key) = match e {
            yaml::YamlError::Syntax { line, column, message } => (
                Rule::PolicyInvalid,
                line,
                column,
                format!("not valid YAML: {message}"),
                "yaml",
            ),
            yaml::YamlError::Limit { line, column, message } => (
                Rule::ResourceLimit,
                line,
                column,
                format!("YAML parsing stopped at a safety limit ({message}); the policy was not checked"),
                "yaml-budget",
            ),
        };
        Parsed {
            problems: vec![Problem {
                rule,
                severity: None,
                at: At {
                    line,
                    column,
                    ..At::default()
                },
                message,
                key: key.into(),
            }],
            format: Some(model::Format::Native),
            ..Parsed::default()
        }
    })
}

/// Which family the documents of one file belong to, if any.
pub fn family(docs: &[Node]) -> Option<Family> {
    if docs.iter().any(native::is_native) {
        Some(Family::Native)
    } else if docs.iter().any(kubernetes::is_rbac) {
        Some(Family::Kubernetes)
    } else if docs.iter().any(opensearch::is_config) {
        Some(Family::Opensearch)
    } else {
        None
    }
}

/// Map the documents of one file into the model, with `context`: documents of other files of
/// the same family (marked with `Node::mark_context`) that define roles, bindings or action
/// groups the file refers to. Problems found in context documents are dropped here: they
/// belong to their own file.
pub fn build(docs: &[Node], context: &[&Node], params: &PolicyParams, classes: &[ConfigClass]) -> Parsed {
    let mut parsed = match family(docs) {
        Some(Family::Native) => native::parse(docs, params),
        Some(Family::Kubernetes) => kubernetes::parse(docs, context, params, classes),
        Some(Family::Opensearch) => opensearch::parse(docs, context, params, classes),
        None => Parsed::default(),
    };
    parsed.problems.retain(|p| !p.at.ctx);
    for p in parsed.policies.iter_mut() {
        p.reindex();
    }
    parsed
}

/// Parse the text of one file on its own: detect its format by content and map it into the
/// model (no context from other files).
pub fn parse(text: &str, params: &PolicyParams, classes: &[ConfigClass], limits: yaml::YamlLimits) -> Parsed {
    match read(text, limits) {
        Ok(docs) => build(&docs, &[], params, classes),
        Err(parsed) => parsed,
    }
}

/// Keys that only describe (documentation, ownership, tooling metadata): allowed on every
/// mapping whose keys are otherwise checked, so enterprise templates that carry them on every
/// object lint without POL001 noise, while a misspelt security key is still reported.
pub const DESCRIPTIVE_KEYS: [&str; 5] = ["description", "labels", "annotations", "comment", "notes"];

/// Shared helpers for walking a YAML tree with a JSON pointer and collecting problems.
pub(crate) struct Walk<'p> {
    pub problems: Vec<Problem>,
    pub params: &'p PolicyParams,
}

pub(crate) fn at(node: &Node, path: &str) -> At {
    At {
        line: node.line,
        column: node.column,
        path: path.to_string(),
        ctx: node.ctx,
    }
}

pub(crate) fn join(path: &str, seg: &str) -> String {
    format!("{path}/{}", yaml::pointer_segment(seg))
}

impl Walk<'_> {
    pub fn problem(&mut self, rule: Rule, at: At, message: String, key: &str) {
        self.problems.push(Problem {
            rule,
            severity: None,
            at,
            message,
            key: key.to_string(),
        });
    }

    fn wrong_type(&mut self, node: &Node, path: &str, want: &str) {
        self.problem(
            Rule::PolicyInvalid,
            at(node, path),
            format!("`{path}` must be {want}, found {}", node.kind()),
            path,
        );
    }

    /// The entries of a mapping, reporting duplicate keys and keys not in `known` (when given).
    pub fn entries<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: Option<&[String]>,
        what: &str,
    ) -> Vec<(&'n str, &'n Node, String)> {
        let Some(map) = node.as_map() else {
            if node.value != Value::Null {
                self.wrong_type(node, path, "a mapping");
            }
            return Vec::new();
        };
        let mut out: Vec<(&str, &Node, String)> = Vec::new();
        for (k, v) in map {
            let Some(name) = k.as_str() else {
                let shown = k.scalar_text().unwrap_or_else(|| k.kind().to_string());
                self.problem(
                    Rule::PolicyInvalid,
                    at(k, path),
                    format!("{what}: key `{shown}` is not a string"),
                    &join(path, &shown),
                );
                continue;
            };
            let p = join(path, name);
            if let Some(first) = out.iter().find(|(n, ..)| *n == name) {
                let first_line = first.1.line;
                self.problem(
                    Rule::PolicyDuplicateKey,
                    at(k, &p),
                    format!(
                        "key `{name}` appears twice in {what} (first at line {first_line}); YAML loaders keep one of them silently, so the policy may not mean what it reads"
                    ),
                    &p,
                );
                continue;
            }
            if let Some(known) = known {
                // Descriptive keys are accepted on every mapping of a format whose keys are
                // checked; they never change what a policy grants.
                // `x-…` keys are extension keys by convention (Compose, OpenAPI): templates keep
                // YAML anchors there (`x-strong-auth: &strong …`).
                if DESCRIPTIVE_KEYS.contains(&name) || name.starts_with("x-") {
                    continue;
                }
                if !known.iter().any(|x| x == name) {
                    let hint = closest(name, known)
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    self.problem(
                        Rule::PolicyUnknownKey,
                        at(k, &p),
                        format!("unknown key `{name}` in {what}: it is ignored by llmguard and probably by the policy engine{hint}"),
                        &p,
                    );
                    continue;
                }
            }
            out.push((name, v, p));
        }
        out
    }

    /// A boolean. Policies written for YAML 1.1 loaders (PyYAML, and Go's yaml.v3 when it
    /// decodes into a bool) spell booleans `yes`/`no`/`on`/`off`, and templates often quote
    /// them: those strings are read as the boolean they name, anything else is wrong type.
    pub fn bool(&mut self, node: &Node, path: &str) -> Option<Sp<bool>> {
        let value = match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Null => return None,
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "y" => Some(true),
                "false" | "no" | "off" | "n" => Some(false),
                _ => None,
            },
            _ => None,
        };
        match value {
            Some(value) => Some(Sp {
                value,
                at: at(node, path),
            }),
            None => {
                self.wrong_type(node, path, "true or false");
                None
            }
        }
    }

    pub fn string(&mut self, node: &Node, path: &str) -> Option<Sp<String>> {
        match &node.value {
            Value::Null => None,
            Value::Seq(_) | Value::Map(_) => {
                self.wrong_type(node, path, "a string");
                None
            }
            _ => node.scalar_text().map(|s| Sp {
                value: s,
                at: at(node, path),
            }),
        }
    }

    /// A whole number (also written as a quoted string of digits, as templates do).
    pub fn uint(&mut self, node: &Node, path: &str) -> Option<Sp<u64>> {
        let value = match &node.value {
            Value::Int(i) if *i >= 0 => Some(u64::try_from(*i).unwrap_or(u64::MAX)),
            Value::Null => return None,
            Value::Str(s) if !s.trim().is_empty() && s.trim().bytes().all(|b| b.is_ascii_digit()) => {
                Some(s.trim().parse::<u64>().unwrap_or(u64::MAX))
            }
            _ => None,
        };
        match value {
            Some(value) => Some(Sp {
                value,
                at: at(node, path),
            }),
            None => {
                self.wrong_type(node, path, "a whole number, 0 or more");
                None
            }
        }
    }

    /// A string or a list of strings.
    pub fn strings(&mut self, node: &Node, path: &str) -> Vec<Sp<String>> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.string(n, &format!("{path}/{i}")))
                .collect(),
            Value::Null => Vec::new(),
            _ => self.string(node, path).into_iter().collect(),
        }
    }

    /// A list (a single mapping is taken as a list of one).
    pub fn list<'n>(&mut self, node: &'n Node, path: &str) -> Vec<(&'n Node, String)> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, n)| (n, format!("{path}/{i}")))
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.wrong_type(node, path, "a list");
                Vec::new()
            }
        }
    }
}

/// The known key nearest to `name` by edit distance (at most 2 edits), for typo hints.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(name, k), k.as_str()))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Glob match with `*` (any run, `/` included) and `?` (one character); used for resources,
/// index patterns and classification patterns alike. Linear backtracking over bytes, no
/// allocation (it runs in the inner loops of the checks).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let char_len = |b: u8| match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    };
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti = (ti + char_len(t[ti])).min(t.len());
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether two patterns can name a common thing (either matches the other, or one is `*`).
pub fn overlaps(a: &str, b: &str) -> bool {
    glob_match(a, b) || glob_match(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("hr-*", "hr-2024"));
        assert!(glob_match("*", "a/b"));
        assert!(!glob_match("hr-*", "finance"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("a?c", "aéc"), "`?` is one character, not one byte");
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*-vectors-*", "kb-vectors-2024"));
        assert!(glob_match("hr-**", "hr-"));
        assert!(overlaps("hr-*", "*"));
        assert!(!overlaps("hr-*", "fin-*"));
        assert_eq!(edit_distance("mfa_requried", "mfa_required"), 2);
        assert_eq!(closest("rols", &["roles".into(), "audit".into()]), Some("roles"));
    }

    #[test]
    fn scalars_as_other_authors_write_them() {
        let params = params::PolicyParams::builtin().unwrap();
        let mut w = Walk {
            problems: Vec::new(),
            params: &params,
        };
        let docs = yaml::parse(
            "a: 'true'\nb: yes\nc: Off\nd: '600'\ne: maybe\nf: -3\ng: ' 12 '\n",
            yaml::YamlLimits::default(),
        )
        .unwrap();
        let get = |k: &str| docs[0].get(k).unwrap().clone();
        assert_eq!(w.bool(&get("a"), "/a").map(|x| x.value), Some(true));
        assert_eq!(w.bool(&get("b"), "/b").map(|x| x.value), Some(true));
        assert_eq!(w.bool(&get("c"), "/c").map(|x| x.value), Some(false));
        assert_eq!(w.uint(&get("d"), "/d").map(|x| x.value), Some(600));
        assert_eq!(w.uint(&get("g"), "/g").map(|x| x.value), Some(12));
        assert!(w.problems.is_empty());
        assert_eq!(w.bool(&get("e"), "/e"), None);
        assert_eq!(w.uint(&get("f"), "/f"), None);
        assert_eq!(w.problems.len(), 2, "anything else is still the wrong type");
        // Descriptive and `x-` keys are accepted where keys are checked; others are not.
        let doc = &yaml::parse(
            "description: d\nlabels: {a: b}\nx-anchor: &a {k: v}\nroels: []\n",
            yaml::YamlLimits::default(),
        )
        .unwrap()[0];
        let kept = w.entries(doc, "", Some(&["roles".to_string()]), "the policy");
        assert!(kept.is_empty());
        assert_eq!(w.problems.last().map(|p| p.rule), Some(Rule::PolicyUnknownKey));
        assert_eq!(w.problems.len(), 3);
    }
}
