//! The pickle import policy: which globals are dangerous, which are known-safe, and how a
//! `module.name` import is judged against them. The lists are data (`rules/model/pickle.yaml`);
//! this module only parses, merges and compiles them.

use super::RulesError;
use crate::finding::Severity;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};

const BUILTIN_FILE: &str = "rules/model/pickle.yaml";
/// `rules/model/pickle.yaml`, re-encoded as JSON by `build.rs` (see there why).
const BUILTIN: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/pickle.json"));

/// The rules file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickleSpec {
    /// Old module names that Python's unpickler maps to new ones (`__builtin__` → `builtins`).
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub deny: Vec<DenyEntry>,
    /// Attribute names that are dangerous wherever they appear in a dotted import name.
    #[serde(default)]
    pub dangerous_attributes: Option<AttributeEntry>,
    #[serde(default)]
    pub allow: Vec<AllowEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyEntry {
    /// The module; the entry also covers its submodules when `names` is absent.
    pub module: String,
    /// Names in the module (globs: `*`, `?`); absent means everything in the module.
    #[serde(default)]
    pub names: Option<Vec<String>>,
    pub severity: Severity,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeEntry {
    pub names: Vec<String>,
    pub severity: Severity,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    pub module: String,
    /// Names (globs: `*`, `?`, `[A-Z]`); a glob never matches across a `.`.
    pub names: Vec<String>,
    /// Also allow the same names in submodules of `module`.
    #[serde(default)]
    pub submodules: bool,
    #[serde(default)]
    pub reason: Option<String>,
}

impl PickleSpec {
    pub fn builtin() -> Result<PickleSpec, RulesError> {
        serde_json::from_str(BUILTIN).map_err(|e| RulesError::Parse {
            file: BUILTIN_FILE.into(),
            message: e.to_string(),
        })
    }

    pub fn parse(text: &str, file: &str) -> Result<PickleSpec, RulesError> {
        serde_yaml_ng::from_str(text).map_err(|e| RulesError::Parse {
            file: file.into(),
            message: e.to_string(),
        })
    }

    /// Add user entries; they are judged with the built-in ones (an exact user allow entry can
    /// pass a global that the built-in deny list would stop: that is the user's call).
    pub fn merge(&mut self, other: PickleSpec, _file: &str) {
        self.aliases.extend(other.aliases);
        self.deny.extend(other.deny);
        self.allow.extend(other.allow);
        match (&mut self.dangerous_attributes, other.dangerous_attributes) {
            (Some(mine), Some(theirs)) => mine.names.extend(theirs.names),
            (slot @ None, theirs) => *slot = theirs,
            (Some(_), None) => {}
        }
    }
}

/// How one import is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement<'a> {
    Allowed,
    Denied {
        severity: Severity,
        reason: &'a str,
        matched: String,
    },
    Unknown,
}

#[derive(Debug)]
struct Names {
    exact: HashSet<String>,
    globs: Vec<Glob>,
}

impl Names {
    fn compile(names: &[String], file: &str, entry: &str) -> Result<Names, RulesError> {
        let mut exact = HashSet::new();
        let mut globs = Vec::new();
        for n in names {
            if n.contains(['*', '?', '[']) {
                globs.push(Glob::parse(n).map_err(|message| RulesError::Entry {
                    file: file.into(),
                    entry: entry.into(),
                    message: format!("bad name pattern `{n}`: {message}"),
                })?);
            } else {
                exact.insert(n.clone());
            }
        }
        Ok(Names { exact, globs })
    }

    fn matches(&self, name: &str) -> bool {
        self.exact.contains(name) || self.globs.iter().any(|g| g.matches(name))
    }
}

/// A name glob: `*` (any run), `?` (one character) and `[A-Z_]` classes, none of which match
/// a `.`, so a pattern never stretches over a dotted attribute walk.
///
/// Written here rather than compiled to `regex`: the patterns are this small, and compiling
/// the ~40 of them with `regex` cost a quarter of the instructions of scanning a 1 GB
/// checkpoint (measured with callgrind), paid on every run.
#[derive(Debug)]
struct Glob(Vec<Tok>);

#[derive(Debug, PartialEq)]
enum Tok {
    Lit(char),
    One,
    Run,
    Class(Vec<(char, char)>),
}

impl Glob {
    fn parse(pattern: &str) -> Result<Glob, String> {
        let mut toks = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            toks.push(match c {
                '*' => Tok::Run,
                '?' => Tok::One,
                '[' => {
                    let mut ranges = Vec::new();
                    loop {
                        let lo = chars.next().ok_or("unclosed `[`")?;
                        if lo == ']' {
                            break;
                        }
                        if chars.peek() == Some(&'-') {
                            chars.next();
                            let hi = chars.next().filter(|h| *h != ']').ok_or("bad range in `[...]`")?;
                            ranges.push((lo, hi));
                        } else {
                            ranges.push((lo, lo));
                        }
                    }
                    if ranges.is_empty() {
                        return Err("empty `[]`".into());
                    }
                    Tok::Class(ranges)
                }
                other => Tok::Lit(other),
            });
        }
        Ok(Glob(toks))
    }

    fn one(tok: &Tok, c: char) -> bool {
        match tok {
            Tok::Lit(l) => *l == c,
            Tok::One => c != '.',
            Tok::Class(ranges) => c != '.' && ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)),
            Tok::Run => false,
        }
    }

    /// Wildcard matching with backtracking to the last `*`, which may not cover a `.`.
    fn matches(&self, name: &str) -> bool {
        let s: Vec<char> = name.chars().collect();
        let p = &self.0;
        let (mut pi, mut si) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while si < s.len() {
            if pi < p.len() && p[pi] == Tok::Run {
                star = Some((pi, si));
                pi += 1;
            } else if pi < p.len() && Self::one(&p[pi], s[si]) {
                pi += 1;
                si += 1;
            } else if let Some((sp, ss)) = star.filter(|(_, ss)| s[*ss] != '.') {
                star = Some((sp, ss + 1));
                pi = sp + 1;
                si = ss + 1;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|t| *t == Tok::Run)
    }
}

#[derive(Debug)]
struct CompiledDeny {
    names: Option<Names>,
    severity: Severity,
    reason: String,
}

#[derive(Debug)]
struct CompiledAllow {
    names: Names,
    submodules: bool,
}

/// The compiled policy.
#[derive(Debug)]
pub struct PicklePolicy {
    aliases: HashMap<String, String>,
    deny: HashMap<String, Vec<CompiledDeny>>,
    attributes: HashSet<String>,
    attribute_severity: Severity,
    attribute_reason: String,
    allow: HashMap<String, Vec<CompiledAllow>>,
}

impl PicklePolicy {
    pub fn compile(spec: &PickleSpec) -> Result<PicklePolicy, RulesError> {
        let file = BUILTIN_FILE;
        let mut deny: HashMap<String, Vec<CompiledDeny>> = HashMap::new();
        for d in &spec.deny {
            let names = match &d.names {
                Some(n) => Some(Names::compile(n, file, &d.module)?),
                None => None,
            };
            deny.entry(d.module.clone()).or_default().push(CompiledDeny {
                names,
                severity: d.severity,
                reason: d.reason.trim().to_string(),
            });
        }
        let mut allow: HashMap<String, Vec<CompiledAllow>> = HashMap::new();
        for a in &spec.allow {
            if a.names.is_empty() {
                return Err(RulesError::Entry {
                    file: file.into(),
                    entry: a.module.clone(),
                    message: "an allow entry must list names (use \"*\" deliberately)".into(),
                });
            }
            allow.entry(a.module.clone()).or_default().push(CompiledAllow {
                names: Names::compile(&a.names, file, &a.module)?,
                submodules: a.submodules,
            });
        }
        let (attributes, attribute_severity, attribute_reason) = match &spec.dangerous_attributes {
            Some(a) => (
                a.names.iter().cloned().collect(),
                a.severity,
                a.reason.trim().to_string(),
            ),
            None => (HashSet::new(), Severity::Critical, String::new()),
        };
        Ok(PicklePolicy {
            aliases: spec.aliases.clone().into_iter().collect(),
            deny,
            attributes,
            attribute_severity,
            attribute_reason,
            allow,
        })
    }

    /// The module name after Python 2 → 3 renames.
    pub fn canonical_module<'a>(&'a self, module: &'a str) -> &'a str {
        self.aliases.get(module).map_or(module, String::as_str)
    }

    /// Judge the import of `name` (possibly dotted, which Python resolves by walking
    /// attributes) from `module`.
    pub fn judge<'a>(&'a self, module: &str, name: &str) -> Judgement<'a> {
        let module = self.canonical_module(module);
        if self.exact_allow(module, name) {
            return Judgement::Allowed;
        }
        let comps: Vec<&str> = module.split('.').chain(name.split('.')).collect();
        let mlen = module.split('.').count();
        let mut worst: Option<Judgement<'_>> = None;
        let consider = |severity: Severity, reason: &'a str, matched: String, worst: &mut Option<Judgement<'a>>| {
            let current = match worst {
                Some(Judgement::Denied { severity, .. }) => Some(*severity),
                _ => None,
            };
            if Some(severity) > current {
                *worst = Some(Judgement::Denied {
                    severity,
                    reason,
                    matched,
                });
            }
        };
        // A dotted name walks attributes, so `torch.serialization` + `os.system` reaches
        // `os.system`: judge the path from the module root and from every name component.
        let starts = std::iter::once(0).chain(mlen..comps.len());
        for s in starts {
            // `j == len` is the import of a module object itself (`… .module` + `os`).
            for j in s + 1..=comps.len() {
                let key = comps[s..j].join(".");
                let key = self.canonical_module(&key).to_string();
                let Some(entries) = self.deny.get(&key) else { continue };
                for e in entries {
                    let hit = match (&e.names, comps.get(j)) {
                        (None, _) => true,
                        (Some(n), Some(next)) => n.matches(next),
                        (Some(_), None) => false,
                    };
                    if hit {
                        let matched = comps.get(j).map_or(key.clone(), |next| format!("{key}.{next}"));
                        consider(e.severity, &e.reason, matched, &mut worst);
                    }
                }
            }
        }
        if let Some(attr) = comps[mlen.min(comps.len())..]
            .iter()
            .find(|c| self.attributes.contains(**c))
        {
            consider(
                self.attribute_severity,
                &self.attribute_reason,
                (*attr).to_string(),
                &mut worst,
            );
        }
        if let Some(w) = worst {
            return w;
        }
        if self.glob_allow(module, name) {
            return Judgement::Allowed;
        }
        Judgement::Unknown
    }

    fn exact_allow(&self, module: &str, name: &str) -> bool {
        self.allow
            .get(module)
            .is_some_and(|entries| entries.iter().any(|e| e.names.exact.contains(name)))
    }

    fn glob_allow(&self, module: &str, name: &str) -> bool {
        if let Some(entries) = self.allow.get(module) {
            if entries.iter().any(|e| e.names.matches(name)) {
                return true;
            }
        }
        let mut prefix = module;
        while let Some((parent, _)) = prefix.rsplit_once('.') {
            if let Some(entries) = self.allow.get(parent) {
                if entries.iter().any(|e| e.submodules && e.names.matches(name)) {
                    return true;
                }
            }
            prefix = parent;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PicklePolicy {
        PicklePolicy::compile(&PickleSpec::builtin().unwrap()).unwrap()
    }

    fn denied(p: &PicklePolicy, m: &str, n: &str) -> Option<Severity> {
        match p.judge(m, n) {
            Judgement::Denied { severity, .. } => Some(severity),
            _ => None,
        }
    }

    #[test]
    fn dangerous_globals_are_denied() {
        let p = policy();
        for (m, n) in [
            ("os", "system"),
            ("posix", "system"),
            ("nt", "system"),
            ("subprocess", "Popen"),
            ("builtins", "eval"),
            ("__builtin__", "exec"),
            ("builtins", "getattr"),
            ("runpy", "_run_code"),
            ("operator", "attrgetter"),
            ("torch.storage", "_load_from_bytes"),
            ("numpy.testing._private.utils", "runstring"),
            ("os.path", "join"),
            ("torch", "serialization.os.system"),
            ("builtins", "object.__subclasses__"),
            ("pickle", "loads"),
            ("pydoc", "locate"),
            ("pkgutil", "resolve_name"),
        ] {
            assert!(denied(&p, m, n).is_some(), "{m}.{n} should be denied");
        }
        assert_eq!(denied(&p, "os", "system"), Some(Severity::Critical));
    }

    #[test]
    fn checkpoint_globals_are_allowed() {
        let p = policy();
        for (m, n) in [
            ("torch._utils", "_rebuild_tensor_v2"),
            ("torch", "FloatStorage"),
            ("torch", "Size"),
            ("collections", "OrderedDict"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
            ("builtins", "set"),
            ("__builtin__", "set"),
            ("torch.nn.modules.linear", "Linear"),
            ("sklearn.linear_model._logistic", "LogisticRegression"),
        ] {
            assert_eq!(p.judge(m, n), Judgement::Allowed, "{m}.{n} should be allowed");
        }
    }

    #[test]
    fn others_are_unknown_and_globs_stay_in_one_component() {
        let p = policy();
        assert_eq!(p.judge("mypkg.models", "Net"), Judgement::Unknown);
        assert_eq!(p.judge("__main__", "Net"), Judgement::Unknown);
        // `_rebuild_*` must not stretch over a dotted walk.
        assert_ne!(p.judge("torch._utils", "_rebuild_x.y"), Judgement::Allowed);
        // A class glob in an allowed package does not admit a module-level import of `os`.
        assert!(denied(&p, "torch.nn.modules.module", "os").is_some());
    }

    #[test]
    fn user_entries_merge_with_builtin() {
        let mut spec = PickleSpec::builtin().unwrap();
        let user = PickleSpec::parse(
            "allow:\n  - module: mypkg.models\n    names: [Net]\ndeny:\n  - module: requests\n    severity: high\n    reason: network\n",
            "llmguard.toml",
        )
        .unwrap();
        spec.merge(user, "llmguard.toml");
        let p = PicklePolicy::compile(&spec).unwrap();
        assert_eq!(p.judge("mypkg.models", "Net"), Judgement::Allowed);
        assert_eq!(denied(&p, "requests", "get"), Some(Severity::High));
    }

    #[test]
    fn globs_match_within_one_component() {
        for (pattern, name, want) in [
            ("_rebuild_*", "_rebuild_tensor_v2", true),
            ("_rebuild_*", "_rebuild_", true),
            ("_rebuild_*", "_rebuild_x.os", false),
            ("[A-Z]*", "Linear", true),
            ("[A-Z]*", "linear", false),
            ("[A-Z]*", "Linear.os", false),
            ("*Storage", "FloatStorage", true),
            ("*Storage", "a.FloatStorage", false),
            ("*DType", "Float64DType", true),
            ("_[A-Z]*", "_StorageInfo", true),
            ("[a-z]*_matrix", "csr_matrix", true),
            ("[a-z]*_matrix", "csr_matrix_x", false),
            ("a?c", "abc", true),
            ("a?c", "a.c", false),
            ("*", "", true),
        ] {
            assert_eq!(Glob::parse(pattern).unwrap().matches(name), want, "{pattern} ~ {name}");
        }
        assert!(Glob::parse("[A-").is_err());
        assert!(Glob::parse("[]").is_err());
    }

    #[test]
    fn bad_specs_are_clear_errors() {
        let err =
            PickleSpec::parse("deny:\n  - module: os\n    severity: fatal\n    reason: x\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("f.yaml"), "{err}");
        let err = PickleSpec::parse("allow:\n  - module: os\n    nmes: [x]\n", "f.yaml").unwrap_err();
        assert!(err.to_string().contains("nmes"), "{err}");
    }
}
