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

/// Parse the text of one file: detect its format by content and map it into the model.
pub fn parse(text: &str, params: &PolicyParams, classes: &[ConfigClass], limits: yaml::YamlLimits) -> Parsed {
    let docs = match yaml::parse(text, limits) {
        Ok(d) => d,
        Err(yaml::YamlError::Syntax { line, column, message }) => {
            return Parsed {
                problems: vec![Problem {
                    rule: Rule::PolicyInvalid,
                    severity: None,
                    at: At {
                        line,
                        column,
                        path: String::new(),
                    },
                    message: format!("not valid YAML: {message}"),
                    key: "yaml".into(),
                }],
                format: Some(model::Format::Native),
                ..Parsed::default()
            }
        }
        Err(yaml::YamlError::Limit { line, column, message }) => {
            return Parsed {
                problems: vec![Problem {
                    rule: Rule::ResourceLimit,
                    severity: None,
                    at: At {
                        line,
                        column,
                        path: String::new(),
                    },
                    message: format!("YAML parsing stopped at a safety limit ({message}); the policy was not checked"),
                    key: "yaml-budget".into(),
                }],
                format: Some(model::Format::Native),
                ..Parsed::default()
            }
        }
    };
    if docs.iter().any(native::is_native) {
        native::parse(&docs, params)
    } else if docs.iter().any(kubernetes::is_rbac) {
        kubernetes::parse(&docs, params, classes)
    } else if docs.iter().any(opensearch::is_roles) {
        opensearch::parse(&docs, params, classes)
    } else {
        Parsed::default()
    }
}

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

    pub fn bool(&mut self, node: &Node, path: &str) -> Option<Sp<bool>> {
        match &node.value {
            Value::Bool(b) => Some(Sp {
                value: *b,
                at: at(node, path),
            }),
            Value::Null => None,
            _ => {
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

    pub fn uint(&mut self, node: &Node, path: &str) -> Option<Sp<u64>> {
        match &node.value {
            Value::Int(i) if *i >= 0 => Some(Sp {
                value: u64::try_from(*i).unwrap_or(u64::MAX),
                at: at(node, path),
            }),
            Value::Null => None,
            _ => {
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

/// Glob match with `*` (any run, `/` included) and `?`; used for resources, index patterns and
/// classification patterns alike.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
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
        assert!(overlaps("hr-*", "*"));
        assert!(!overlaps("hr-*", "fin-*"));
        assert_eq!(edit_distance("mfa_requried", "mfa_required"), 2);
        assert_eq!(closest("rols", &["roles".into(), "audit".into()]), Some("roles"));
    }
}
