//! ONNX: external-data paths and operator domains.

use super::{Cx, ModelFormat};
use crate::finding::{truncate, Severity};
use crate::model::onnx::{self, ExternalTensor, Issue, Onnx};
use crate::model::source::Source;
use crate::rules::onnx::OnnxPolicy;
use crate::rules::Rule;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One problem with external data, before tensors sharing it are counted together.
struct Problem {
    rule: Rule,
    severity: Option<Severity>,
    /// What is wrong, without the tensor (tensors with the same text are one finding).
    what: String,
    key: String,
}

/// Problems shared by several tensors: the first tensor, how many.
struct Grouped {
    problem: Problem,
    tensor: String,
    scope: String,
    offset: u64,
    count: u64,
}

/// What the file system says about a referenced external-data file.
enum OnDisk {
    Missing(String),
    NotAFile,
    /// Its real path is outside the model's directory (a symbolic link, or a link in the path).
    Outside(PathBuf),
    File(u64),
}

impl Cx<'_> {
    pub(super) fn onnx(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        let model = onnx::parse(src, &self.limits.onnx);
        // Protobuf has no magic: other protobuf files (a TensorFlow `saved_model.pb` also
        // starts with a small field-1 varint) can pass `identify`. Without an ONNX name, a
        // graph or an opset import it is not an ONNX model, and its problems are not ours.
        let name = members
            .last()
            .map(String::as_str)
            .unwrap_or(self.path)
            .to_ascii_lowercase();
        let named = name.ends_with(".onnx") || name.ends_with(".ort");
        if !named && model.graphs == 0 && model.opsets.is_empty() {
            return ModelFormat::NotAModel;
        }
        self.onnx_issues(&model, members);
        // External files are only looked up for a model that is a file of its own: inside an
        // archive, the directory the loader will use is unknown.
        let dir = members
            .is_empty()
            .then(|| Path::new(self.path).parent().map(Path::to_path_buf).unwrap_or_default());
        self.onnx_external(&model, members, dir.as_deref());
        self.onnx_domains(&model, members);
        self.onnx_metadata(&model, members, depth);
        ModelFormat::Onnx
    }

    /// Metadata values that hide a pickle or a zip (raw, base64 or hex, maybe compressed):
    /// reported as `MOD111` and scanned like members of the model.
    fn onnx_metadata(&mut self, model: &Onnx, members: &[String], depth: usize) {
        for m in &model.metadata {
            let key = truncate(&m.key.text, 96);
            self.hidden_in(
                &m.value,
                &format!("`metadata_props.{key}`"),
                members,
                Some(m.offset),
                depth,
            );
        }
    }

    fn onnx_issues(&mut self, model: &Onnx, members: &[String]) {
        for issue in &model.issues {
            let (rule, offset, message, key) = match issue {
                Issue::Malformed {
                    offset,
                    context,
                    message,
                } => (
                    Rule::OnnxMalformed,
                    Some(*offset),
                    format!("{context} at byte {offset}: {message}; the rest of that message was not read"),
                    format!("malformed:{context}"),
                ),
                Issue::Truncated {
                    offset,
                    context,
                    declared,
                    available,
                } => (
                    Rule::OnnxMalformed,
                    Some(*offset),
                    format!(
                        "{context} at byte {offset}: a length of {declared} bytes runs past the {available} bytes left; the rest of that message was not read"
                    ),
                    format!("truncated:{context}"),
                ),
                Issue::NoGraph => (
                    Rule::OnnxMalformed,
                    None,
                    "starts like an ONNX model but has no graph: not an ONNX model, or a broken one".to_string(),
                    "no-graph".to_string(),
                ),
                Issue::TooDeep { offset, scope, depth } => (
                    Rule::ResourceLimit,
                    Some(*offset),
                    format!(
                        "subgraphs nested {depth} deep at {}; the deeper ones were not checked",
                        short_scope(scope)
                    ),
                    "onnx-depth".to_string(),
                ),
                Issue::Limit {
                    offset,
                    what,
                    bound,
                    stopped,
                } => (
                    Rule::ResourceLimit,
                    Some(*offset),
                    format!(
                        "more {what} than the limit of {bound}; {}",
                        if *stopped {
                            "the rest of the model was not checked"
                        } else {
                            "the ones past it were not checked"
                        }
                    ),
                    format!("onnx-limit:{what}"),
                ),
                Issue::Io { offset, message } => (
                    Rule::UnreadableFile,
                    Some(*offset),
                    format!("read error at byte {offset}: {message}"),
                    "read".to_string(),
                ),
            };
            self.push(rule, members, offset, message, key);
        }
    }

    fn onnx_external(&mut self, model: &Onnx, members: &[String], dir: Option<&Path>) {
        let policy = self.rules.onnx();
        let mut disk: BTreeMap<String, OnDisk> = BTreeMap::new();
        let mut grouped: BTreeMap<String, Grouped> = BTreeMap::new();
        for t in model
            .external
            .iter()
            .filter(|t| t.data_location == onnx::DATA_LOCATION_EXTERNAL)
        {
            for problem in external_problems(policy, t, dir, &mut disk) {
                let key = problem.key.clone();
                match grouped.get_mut(&key) {
                    Some(g) => g.count += 1,
                    None => {
                        grouped.insert(
                            key,
                            Grouped {
                                problem,
                                tensor: truncate(&t.name.text, 96),
                                scope: t.scope.clone(),
                                offset: t.offset,
                                count: 1,
                            },
                        );
                    }
                }
            }
        }
        let mut all: Vec<Grouped> = grouped.into_values().collect();
        all.sort_by_key(|g| g.offset);
        for g in all {
            let more = match g.count {
                1 => String::new(),
                n => format!(" (and {} more tensors)", n - 1),
            };
            let f = self.push(
                g.problem.rule,
                members,
                Some(g.offset),
                format!(
                    "tensor `{}` ({}){more}: {}",
                    g.tensor,
                    short_scope(&g.scope),
                    g.problem.what
                ),
                g.problem.key,
            );
            if let Some(s) = g.problem.severity {
                f.severity = s;
            }
        }
    }

    fn onnx_domains(&mut self, model: &Onnx, members: &[String]) {
        let policy = self.rules.onnx();
        let functions: BTreeSet<(&str, &str)> = model
            .functions
            .iter()
            .map(|f| (f.domain.as_str(), f.name.as_str()))
            .collect();
        let function_domains: BTreeSet<&str> = model.functions.iter().map(|f| f.domain.as_str()).collect();
        // Per unknown domain: its operators, counts, and the first place one is used.
        let mut custom: BTreeMap<&str, Vec<&onnx::OpUse>> = BTreeMap::new();
        for u in &model.ops {
            if policy.domain(&u.domain).is_none() && !functions.contains(&(u.domain.as_str(), u.op_type.as_str())) {
                custom.entry(u.domain.as_str()).or_default().push(u);
            }
        }
        // Findings per model are capped: a crafted model can name thousands of domains.
        for (shown, (domain, uses)) in custom.iter().enumerate() {
            if shown == MAX_DOMAIN_FINDINGS {
                self.more_domains(custom.len() - shown, members);
                break;
            }
            let Some(first) = uses.iter().min_by_key(|u| u.offset) else {
                continue;
            };
            let mut ops: Vec<String> = uses
                .iter()
                .take(8)
                .map(|u| format!("{} ×{}", truncate(&u.op_type, 64), u.count))
                .collect();
            if uses.len() > 8 {
                ops.push(format!("{} more", uses.len() - 8));
            }
            self.push(
                Rule::OnnxCustomOperatorDomain,
                members,
                Some(first.offset),
                format!(
                    "operator domain `{}` ({}) is not implemented by ONNX runtimes: running it needs a custom-operator library (native code) registered with the runtime; first at {} > {}",
                    truncate(domain, 128),
                    ops.join(", "),
                    short_scope(&first.scope),
                    first.node
                ),
                format!("domain:{domain}"),
            );
        }
        let mut seen = BTreeSet::new();
        let unknown: Vec<&onnx::Opset> = model
            .opsets
            .iter()
            .filter(|o| {
                let d = o.domain.as_str();
                policy.domain(d).is_none() && !function_domains.contains(d) && !custom.contains_key(d) && seen.insert(d)
            })
            .collect();
        for (i, o) in unknown.iter().enumerate() {
            if i == MAX_DOMAIN_FINDINGS {
                self.more_domains(unknown.len() - i, members);
                break;
            }
            let d = o.domain.as_str();
            let f = self.push(
                Rule::OnnxCustomOperatorDomain,
                members,
                Some(o.offset),
                format!(
                    "the {} imports operator domain `{}` (version {}), which ONNX runtimes do not implement; no node uses it, but loading may require its custom-operator library",
                    o.scope,
                    truncate(d, 128),
                    o.version
                ),
                format!("opset:{d}"),
            );
            f.severity = Severity::Low;
        }
    }
}

/// Operator domains reported one by one for a model; the rest are counted in one finding.
const MAX_DOMAIN_FINDINGS: usize = 32;

impl Cx<'_> {
    fn more_domains(&mut self, n: usize, members: &[String]) {
        self.push(
            Rule::OnnxCustomOperatorDomain,
            members,
            None,
            format!("{n} more operator domains that ONNX runtimes do not implement (not listed one by one)"),
            "domain:more",
        );
    }
}

fn external_problems(
    policy: &OnnxPolicy,
    t: &ExternalTensor,
    dir: Option<&Path>,
    disk: &mut BTreeMap<String, OnDisk>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let invalid = |what: String, key: String, severity: Option<Severity>| Problem {
        rule: Rule::OnnxExternalDataInvalid,
        severity,
        what,
        key,
    };
    let unknown: Vec<&str> = t
        .entries
        .iter()
        .map(|(k, _)| k.text.as_str())
        .filter(|k| !policy.known_key(k))
        .collect();
    if !unknown.is_empty() {
        let shown: Vec<String> = unknown
            .iter()
            .take(4)
            .map(|k| format!("`{}`", truncate(k, 48)))
            .collect();
        out.push(invalid(
            format!(
                "external data has keys that loaders do not read ({}); older onnx versions set them as Python attributes",
                shown.join(", ")
            ),
            format!("keys:{}", unknown.join(",")),
            Some(Severity::Low),
        ));
    }
    let number = |key: &str| -> Result<Option<u64>, String> {
        match t.get(key) {
            None => Ok(None),
            Some(v) => v
                .text
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| truncate(&v.text, 48)),
        }
    };
    let mut range = (Some(0u64), None);
    for (i, key) in ["offset", "length"].into_iter().enumerate() {
        match number(key) {
            Ok(v) => {
                if i == 0 {
                    range.0 = v.or(Some(0));
                } else {
                    range.1 = v;
                }
            }
            Err(shown) => {
                range = (None, None);
                out.push(invalid(
                    format!("external data `{key}` is `{shown}`, not a non-negative integer"),
                    format!("{key}:{shown}"),
                    None,
                ));
            }
        }
    }
    let Some(location) = t.get("location").filter(|l| !l.text.is_empty()) else {
        out.push(invalid(
            "the tensor's data is EXTERNAL but no `location` says where".to_string(),
            "no-location".to_string(),
            None,
        ));
        return out;
    };
    let shown = truncate(&location.text.replace('\0', "\\0"), 160);
    if location.truncated() {
        out.push(invalid(
            format!("external data location is {} bytes long (`{shown}`)", location.len),
            format!("long:{shown}"),
            None,
        ));
        return out;
    }
    if let Some(e) = policy.escape(&location.text) {
        out.push(Problem {
            rule: Rule::OnnxExternalDataPath,
            severity: None,
            what: format!("external data location `{shown}`: {}", e.reason),
            key: format!("path:{}:{shown}", e.kind),
        });
        return out;
    }
    let Some(dir) = dir else { return out };
    let found = disk
        .entry(location.text.clone())
        .or_insert_with(|| look_up(dir, &location.text));
    match found {
        OnDisk::Missing(e) => out.push(invalid(
            format!("external data file `{shown}` is not beside the model ({e})"),
            format!("missing:{shown}"),
            Some(Severity::Low),
        )),
        OnDisk::NotAFile => out.push(invalid(
            format!("external data location `{shown}` is not a regular file"),
            format!("not-file:{shown}"),
            None,
        )),
        OnDisk::Outside(real) => out.push(Problem {
            rule: Rule::OnnxExternalDataPath,
            severity: None,
            what: format!(
                "external data location `{shown}` resolves through a symbolic link to `{}`, outside the model's directory",
                truncate(&real.display().to_string(), 160)
            ),
            key: format!("symlink:{shown}"),
        }),
        OnDisk::File(size) => {
            if let (Some(offset), length) = range {
                let end = offset.checked_add(length.unwrap_or(0));
                let short = match end {
                    Some(end) => end > *size || offset > *size,
                    None => true,
                };
                if short {
                    let want = match length {
                        Some(l) => format!("bytes {offset}..{offset}+{l}"),
                        None => format!("data from byte {offset}"),
                    };
                    out.push(invalid(
                        format!("external data file `{shown}` is {size} bytes, too short for {want}"),
                        format!("short:{shown}:{offset}:{}", length.unwrap_or(0)),
                        None,
                    ));
                }
            }
        }
    }
    out
}

/// Resolve a relative location against the model's directory, following links.
fn look_up(dir: &Path, location: &str) -> OnDisk {
    let base = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let path = base.join(location);
    let real = match std::fs::canonicalize(&path) {
        Ok(r) => r,
        Err(e) => return OnDisk::Missing(e.kind().to_string()),
    };
    match std::fs::canonicalize(base) {
        Ok(root) if !real.starts_with(&root) => return OnDisk::Outside(real),
        Ok(_) => {}
        Err(e) => return OnDisk::Missing(e.kind().to_string()),
    }
    match std::fs::metadata(&real) {
        Ok(m) if m.is_file() => OnDisk::File(m.len()),
        Ok(_) => OnDisk::NotAFile,
        Err(e) => OnDisk::Missing(e.kind().to_string()),
    }
}

/// A scope for a message: long ones (deep subgraphs) keep their start and end.
fn short_scope(scope: &str) -> String {
    let n = scope.chars().count();
    if n <= 200 {
        return scope.to_string();
    }
    let head: String = scope.chars().take(80).collect();
    let tail: String = scope.chars().skip(n - 100).collect();
    format!("{head} … {tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_scopes_keep_both_ends() {
        let scope = format!("graph `g` > {}", "x.then_branch > ".repeat(40));
        let s = short_scope(&scope);
        assert!(s.starts_with("graph `g` > ") && s.contains(" … ") && s.chars().count() < 200);
        assert_eq!(short_scope("graph `g`"), "graph `g`");
    }
}
