//! `lint-policy` per file: read (bounded), detect the format, parse into the model, compute the
//! effective-access matrix once, and run every check over the model and the matrix. Checks are
//! small functions; what they compare against (strong authentication methods, minimum TLS and
//! retention, rate-limit defaults…) is data in `rules/policy/policy.yaml`.

use super::FileOutcome;
use crate::finding::{Finding, Location, Severity};
use crate::policy::access::{self, Access};
use crate::policy::model::*;
use crate::policy::params::{has, has_word, PolicyParams};
use crate::policy::yaml::Node;
use crate::policy::Family;
use crate::policy::{condition, time, ConfigClass, Problem};
use crate::prompts::secrets::SecretDetector;
use crate::report::{Artifact, Verdict};
use crate::rules::Rule;
use crate::walk::Target;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// At most this many files of one directory are read for context, and at most this many
/// bytes in all; a directory beyond them is joined partially (bindings to roles defined only
/// in the files left out would then be reported as undefined).
const MAX_CONTEXT_FILES: usize = 256;
const MAX_CONTEXT_BYTES: u64 = 32 << 20;

/// A file of a directory, read for context: the documents of its family only.
struct CtxFile {
    name: OsString,
    family: Family,
    docs: Vec<Node>,
}

type DirContext = Arc<OnceLock<Vec<CtxFile>>>;

/// Where the other files of a linted file's directory come from.
enum Context<'c> {
    None,
    /// Read (once per directory and run) from the directory of this file.
    Directory(&'c Path),
    /// Given as text.
    Files(&'c [CtxFile]),
}

/// Settings of one run (configuration and flags over the built-in data).
#[derive(Debug, Clone)]
pub struct PolicySettings {
    pub min_retention_days: u64,
    pub min_tls: String,
    /// Days since the epoch that count as today for expiry.
    pub today: i64,
    pub classes: Vec<ConfigClass>,
    pub max_bytes: usize,
}

/// One policy's effective access, kept for `--explain-access`.
#[derive(Debug, Clone)]
pub struct PolicyView {
    pub path: String,
    pub format: Format,
    pub access: Access,
}

pub struct PolicyScanner<'a> {
    pub params: &'a PolicyParams,
    pub secrets: &'a SecretDetector,
    pub settings: PolicySettings,
    pub views: Mutex<Vec<PolicyView>>,
    /// Kubernetes and OpenSearch files of each directory, read once for context.
    context: Mutex<BTreeMap<PathBuf, DirContext>>,
}

/// Builds findings for one file.
struct Out<'a> {
    path: &'a str,
    findings: Vec<Finding>,
    /// Whether each finding is located in a context file (dropped before returning).
    ctx: Vec<bool>,
}

impl Out<'_> {
    /// The findings located in the file itself.
    fn own(self) -> Vec<Finding> {
        self.findings
            .into_iter()
            .zip(self.ctx)
            .filter(|(_, c)| !c)
            .map(|(f, _)| f)
            .collect()
    }

    fn add(&mut self, rule: Rule, at: &At, message: String, key: &str) -> &mut Finding {
        self.ctx.push(at.ctx);
        let location = Location {
            line: (at.line > 0).then_some(at.line),
            column: (at.column > 0).then_some(at.column),
            key_path: Some(at.path.clone()),
            ..Location::default()
        };
        self.findings
            .push(Finding::new(rule, self.path, location, message).key(format!("{}|{key}", at.path)));
        let n = self.findings.len() - 1;
        &mut self.findings[n]
    }
}

fn sev(s: Sensitivity, table: [Severity; 4]) -> Severity {
    table[s as usize]
}

impl<'a> PolicyScanner<'a> {
    pub fn new(params: &'a PolicyParams, secrets: &'a SecretDetector, settings: PolicySettings) -> Self {
        PolicyScanner {
            params,
            secrets,
            settings,
            views: Mutex::new(Vec::new()),
            context: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn scan(&self, t: &Target) -> FileOutcome {
        let path = t.display.as_str();
        let mut bytes = Vec::new();
        let read = std::fs::File::open(&t.path)
            .and_then(|f| f.take(self.settings.max_bytes as u64 + 1).read_to_end(&mut bytes));
        let size = std::fs::metadata(&t.path)
            .map(|m| m.len())
            .unwrap_or(bytes.len() as u64);
        let artifact = |format: &str, verdict| Artifact {
            path: path.to_string(),
            format: format.to_string(),
            size,
            verdict,
            sha256: None,
        };
        if let Err(e) = read {
            return FileOutcome {
                artifact: artifact("unknown", Verdict::Error),
                findings: vec![Finding::new(
                    Rule::UnreadableFile,
                    path,
                    Location::default(),
                    format!("cannot read: {e}"),
                )
                .key("read")],
                inline: Vec::new(),
            };
        }
        if bytes.len() > self.settings.max_bytes {
            return FileOutcome {
                artifact: artifact("unknown", Verdict::Unsafe),
                findings: vec![Finding::new(
                    Rule::ResourceLimit,
                    path,
                    Location::default(),
                    format!(
                        "larger than {} MiB; not read as a policy (raise `max_policy_mib` under [policy] in llmguard.toml if it is one)",
                        self.settings.max_bytes >> 20
                    ),
                )
                .key("policy-size")],
                inline: Vec::new(),
            };
        }
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                let f = Finding::new(
                    Rule::PolicyInvalid,
                    path,
                    Location::default().at_byte(e.utf8_error().valid_up_to() as u64),
                    "not UTF-8 text; a policy file must be YAML or JSON text",
                )
                .key("encoding");
                return FileOutcome {
                    artifact: artifact(
                        "not-a-policy",
                        Verdict::from_findings(std::slice::from_ref(&f), false, false),
                    ),
                    findings: vec![f],
                    inline: Vec::new(),
                };
            }
        };
        let (format, findings) = self.lint(path, &text, Some(&t.path));
        let recognised = format.is_some();
        let verdict = Verdict::from_findings(&findings, recognised, false);
        FileOutcome {
            artifact: artifact(format.map_or("not-a-policy", Format::as_str), verdict),
            findings,
            inline: crate::scan::suppress::inline_ignores(&text, 1),
        }
    }

    /// Lint policy text on its own (no other file of its directory is read); `None` format
    /// when it is not a policy (then the only finding is `not-a-policy`: the caller reports
    /// or skips it).
    pub fn scan_text(&self, path: &str, text: &str) -> (Option<Format>, Vec<Finding>) {
        self.lint(path, text, None)
    }

    /// Lint policy text joined with the texts of other files of its directory (what `scan`
    /// does with the files beside a Kubernetes or OpenSearch file), for tests and fuzzing.
    pub fn scan_with_context(&self, path: &str, text: &str, context: &[&str]) -> (Option<Format>, Vec<Finding>) {
        let files: Vec<CtxFile> = context
            .iter()
            .enumerate()
            .filter_map(|(i, t)| ctx_file(OsString::from(format!("context-{i}")), t, self.limits()))
            .collect();
        self.lint_in(path, text, Context::Files(&files))
    }

    fn limits(&self) -> crate::policy::yaml::YamlLimits {
        crate::policy::yaml::YamlLimits {
            max_bytes: self.settings.max_bytes,
            ..Default::default()
        }
    }

    /// Lint the text of `file` (when given, Kubernetes and OpenSearch files are joined with
    /// the other files of their family in its directory).
    fn lint(&self, path: &str, text: &str, file: Option<&Path>) -> (Option<Format>, Vec<Finding>) {
        self.lint_in(path, text, file.map_or(Context::None, Context::Directory))
    }

    fn lint_in(&self, path: &str, text: &str, ctx: Context) -> (Option<Format>, Vec<Finding>) {
        // Whether a YAML file of no known format still looks like an access policy (then it is
        // reported at medium: a misspelt `kind` must not pass unchecked).
        let mut policy_shaped = false;
        let parsed = match crate::policy::read(text, self.limits()) {
            Ok(docs) => {
                policy_shaped = docs.iter().any(looks_like_policy_doc);
                let family = crate::policy::family(&docs);
                // The directory is read only for the families that are joined.
                let dir = match (family, &ctx) {
                    (Some(Family::Kubernetes | Family::Opensearch), Context::Directory(file)) => self.directory(file),
                    _ => None,
                };
                let (files, own): (&[CtxFile], Option<&std::ffi::OsStr>) = match &ctx {
                    Context::Files(files) => (files, None),
                    Context::Directory(file) => (
                        dir.as_ref().and_then(|d| d.get()).map(Vec::as_slice).unwrap_or(&[]),
                        file.file_name(),
                    ),
                    Context::None => (&[], None),
                };
                let context: Vec<&Node> = match family {
                    Some(f @ (Family::Kubernetes | Family::Opensearch)) => files
                        .iter()
                        .filter(|c| c.family == f && Some(c.name.as_os_str()) != own)
                        .flat_map(|c| c.docs.iter())
                        .collect(),
                    _ => Vec::new(),
                };
                crate::policy::build(&docs, &context, self.params, &self.settings.classes)
            }
            Err(parsed) => {
                // Unreadable YAML that is not a policy (an unrendered Helm template, some other
                // broken YAML file) is not a policy finding; a policy that does not parse is.
                let template = text.contains("{{") && text.contains("}}");
                if template || !looks_like_policy(text) {
                    let why = parsed.problems.first().map(|p| p.message.clone()).unwrap_or_default();
                    let message = if template {
                        format!("not an access policy llmguard reads: an unrendered Helm/Go template ({why}); render it (`helm template`) and lint the output")
                    } else {
                        format!("not an access policy llmguard reads: {why}, and nothing in it looks like a policy")
                    };
                    let mut out = Out {
                        path,
                        findings: Vec::new(),
                        ctx: Vec::new(),
                    };
                    if parsed.problems.iter().any(|p| p.rule == Rule::ResourceLimit) {
                        for p in &parsed.problems {
                            problem(&mut out, p);
                        }
                        return (Some(Format::Native), out.own());
                    }
                    let f = out.add(
                        Rule::NotAPolicy,
                        &At {
                            line: 1,
                            column: 1,
                            ..At::default()
                        },
                        message,
                        "format",
                    );
                    // A template of a policy stays at the rule's medium; other broken YAML
                    // that names nothing of a policy is noted at info.
                    if !template {
                        f.severity = Severity::Info;
                    }
                    return (None, out.own());
                }
                parsed
            }
        };
        let mut out = Out {
            path,
            findings: Vec::new(),
            ctx: Vec::new(),
        };
        for p in &parsed.problems {
            problem(&mut out, p);
        }
        let Some(format) = parsed.format else {
            let f = out.add(
                Rule::NotAPolicy,
                &At {
                    line: 1,
                    column: 1,
                    ..At::default()
                },
                if policy_shaped {
                    "not an access policy llmguard reads, yet it looks like one (roles, bindings or permissions): no `kind: Policy` document with roles, no Kubernetes RBAC object, no OpenSearch Security roles, role mapping, action group or internal users file (`_meta.type`); check its `kind`".into()
                } else {
                    "not an access policy: nothing in it has the shape of a policy llmguard reads (a `kind: Policy` document, Kubernetes RBAC, OpenSearch Security); it was not checked".into()
                },
                "format",
            );
            // Any other YAML or JSON (a CI workflow, Helm values, a package manifest) named
            // explicitly, as pre-commit does, is noted at info; the rule's medium stays for
            // files that look like a policy of no format llmguard reads.
            f.severity = if policy_shaped {
                Severity::Medium
            } else {
                Severity::Info
            };
            return (None, out.own());
        };
        for policy in &parsed.policies {
            if let Some(why) = too_large(policy) {
                out.add(
                    Rule::ResourceLimit,
                    &policy.at,
                    format!("the policy is too large to check ({why}); it was parsed but not checked"),
                    "policy-size",
                );
                continue;
            }
            let mut acc = access::compute(policy);
            self.check(&mut out, policy, &acc);
            // The view shows the roles this file defines (context roles have their own file).
            acc.roles.retain(|r| policy.role(&r.role).is_some_and(|x| !x.at.ctx));
            if acc.roles.is_empty() && policy.roles.iter().all(|r| r.at.ctx) {
                continue;
            }
            if let Ok(mut v) = self.views.lock() {
                v.push(PolicyView {
                    path: path.to_string(),
                    format: policy.format,
                    access: acc,
                });
            }
        }
        if !parsed.policies.is_empty() || !parsed.problems.is_empty() {
            self.secrets_in(&mut out, text);
        }
        (Some(format), out.own())
    }

    /// The context files of `file`'s directory, read once per directory and run.
    fn directory(&self, file: &Path) -> Option<DirContext> {
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let entry = {
            let mut map = self.context.lock().ok()?;
            map.entry(dir.clone()).or_default().clone()
        };
        entry.get_or_init(|| load_directory(&dir, self.settings.max_bytes));
        Some(entry)
    }

    fn check(&self, out: &mut Out, p: &Policy, acc: &Access) {
        structure(out, p, acc, self.params);
        wildcards(out, p, acc);
        shadowed(out, p);
        reopened(out, p, acc);
        weak_auth(out, p, acc, self.params);
        escalation(out, p, acc);
        bindings(out, p, acc, self.params, self.settings.today);
        pii(out, p, acc, self.params);
        tenancy(out, p, self.params);
        classification(out, p, acc);
        encryption(out, p, self.params, &self.settings.min_tls);
        rate_limits(out, p, self.params);
        audit(out, p, self.params, self.settings.min_retention_days);
        conditions(out, p, self.params);
    }

    /// Inline secrets, found by the `scan-prompts` secret detectors over the raw text.
    fn secrets_in(&self, out: &mut Out, text: &str) {
        let mut hits = Vec::new();
        self.secrets.scan(text, &mut hits);
        if hits.is_empty() {
            return;
        }
        // A YAML anchor or alias (`x-strong-auth: &strong-auth`) names a node, it holds no value.
        hits.retain(|h| {
            let value = text.get(h.start..h.end).unwrap_or("");
            let quoted = h.start > 0 && matches!(text.as_bytes().get(h.start - 1), Some(b'"' | b'\''));
            quoted || !(value.starts_with('&') || value.starts_with('*'))
        });
        let lines = crate::prompts::input::LineIndex::new(text);
        let paths = key_paths_by_line(text);
        for h in hits {
            let (line, column) = lines.position(h.start);
            let key_path = paths
                .range(..=line)
                .next_back()
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            out.add(
                Rule::PolicyInlineSecret,
                &At {
                    line,
                    column,
                    path: key_path,
                    ctx: false,
                },
                format!(
                    "{} written into the policy: anyone who can read the repository holds it",
                    h.message
                ),
                &h.key,
            )
            .evidence = Some(h.evidence);
        }
    }
}

/// The key path of the scalar that starts each line (for mapping text positions to keys).
fn key_paths_by_line(text: &str) -> std::collections::BTreeMap<u32, String> {
    let mut map = std::collections::BTreeMap::new();
    if let Ok(docs) = crate::policy::yaml::parse(text, Default::default()) {
        let multi = docs.len() > 1;
        for (i, d) in docs.iter().enumerate() {
            let base = if multi { format!("/{i}") } else { String::new() };
            walk_paths(d, &base, &mut map, 0);
        }
    }
    map
}

fn walk_paths(
    n: &crate::policy::yaml::Node,
    path: &str,
    map: &mut std::collections::BTreeMap<u32, String>,
    depth: u32,
) {
    use crate::policy::yaml::Value;
    if depth > 64 {
        return;
    }
    match &n.value {
        Value::Map(m) => {
            for (k, v) in m {
                let p = format!(
                    "{path}/{}",
                    crate::policy::yaml::pointer_segment(&k.scalar_text().unwrap_or_default())
                );
                map.entry(k.line).or_insert_with(|| p.clone());
                walk_paths(v, &p, map, depth + 1);
            }
        }
        Value::Seq(s) => {
            for (i, v) in s.iter().enumerate() {
                let p = format!("{path}/{i}");
                map.entry(v.line).or_insert_with(|| p.clone());
                walk_paths(v, &p, map, depth + 1);
            }
        }
        _ => {
            map.entry(n.line).or_insert_with(|| path.to_string());
        }
    }
}

/// Limits on what one policy (with its context) may hold before the checks, some of which
/// compare roles and permissions pairwise, would take unbounded time. Real policies, and even
/// a large cluster's whole RBAC, stay far below them.
const MAX_ROLES: usize = 20_000;
const MAX_PERMISSIONS_PER_ROLE: usize = 1_000;
const MAX_PERMISSIONS: usize = 100_000;
const MAX_INHERITANCE_EDGES: usize = 200_000;

fn too_large(p: &Policy) -> Option<String> {
    let perms: usize = p.roles.iter().map(|r| r.permissions.len()).sum();
    let widest = p.roles.iter().map(|r| r.permissions.len()).max().unwrap_or(0);
    let edges: usize = p.roles.iter().map(|r| r.inherits.len()).sum();
    if p.roles.len() > MAX_ROLES {
        Some(format!("{} roles, more than {MAX_ROLES}", p.roles.len()))
    } else if perms > MAX_PERMISSIONS {
        Some(format!("{perms} permissions, more than {MAX_PERMISSIONS}"))
    } else if widest > MAX_PERMISSIONS_PER_ROLE {
        Some(format!(
            "a role with {widest} permissions, more than {MAX_PERMISSIONS_PER_ROLE}"
        ))
    } else if edges > MAX_INHERITANCE_EDGES {
        Some(format!("{edges} inheritance links, more than {MAX_INHERITANCE_EDGES}"))
    } else {
        None
    }
}

/// Whether a parsed YAML document of no known format has the makings of an access policy: a
/// `kind` naming a policy, role or binding, or (at the top or under `spec`) the keys policies are
/// made of. A bare `permissions:` is not enough: GitHub workflows have one.
fn looks_like_policy_doc(doc: &Node) -> bool {
    const KEYS: [&str; 12] = [
        "roles",
        "role_bindings",
        "rolebindings",
        "role_ref",
        "roleRef",
        "data_classification",
        "dynamic_policies",
        "index_permissions",
        "cluster_permissions",
        "_meta",
        "subjects",
        "default_decision",
    ];
    let kind = doc
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = doc.get("spec").filter(|s| s.as_map().is_some()).unwrap_or(doc);
    // Role files keyed by role name (OpenSearch/Open Distro/Search Guard, the legacy layouts
    // without `_meta` included): a role mapping with permission or backend-role keys.
    let role_map = |v: &Node| {
        [
            "cluster_permissions",
            "index_permissions",
            "tenant_permissions",
            "backend_roles",
        ]
        .iter()
        .any(|k| v.get(k).is_some())
            || (v.get("cluster").is_some() && v.get("indices").is_some())
    };
    kind.ends_with("policy")
        || kind.ends_with("role")
        || kind.ends_with("rolebinding")
        || KEYS.iter().any(|k| body.get(k).is_some() || doc.get(k).is_some())
        || doc.as_map().is_some_and(|m| m.iter().any(|(_, v)| role_map(v)))
}

/// Whether text that failed to parse still names what an access policy is made of.
fn looks_like_policy(text: &str) -> bool {
    [
        "kind: Policy",
        "kind: \"Policy\"",
        "\"kind\": \"Policy\"",
        "rbac.authorization.k8s.io",
        "role_bindings",
        "role_ref",
        "roleRef",
        "index_permissions",
        "cluster_permissions",
        "_meta:",
        "permissions:",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// Read the Kubernetes and OpenSearch files of a directory for context: regular files (never
/// symbolic links) named `*.yaml`, `*.yml` or `*.json`, in name order, within the limits above.
/// Only the documents of those families are kept, marked as context.
fn load_directory(dir: &Path, max_bytes: usize) -> Vec<CtxFile> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<(OsString, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_ascii_lowercase();
            [".yaml", ".yml", ".json"].iter().any(|x| n.ends_with(x))
        })
        .map(|e| (e.file_name(), e.path()))
        .collect();
    names.sort();
    names.truncate(MAX_CONTEXT_FILES);
    let limits = crate::policy::yaml::YamlLimits {
        max_bytes,
        ..Default::default()
    };
    let mut total = 0u64;
    let mut out = Vec::new();
    for (name, path) in names {
        let len = std::fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(u64::MAX);
        if len > max_bytes as u64 || total.saturating_add(len) > MAX_CONTEXT_BYTES {
            continue;
        }
        total += len;
        let mut text = String::new();
        let read = std::fs::File::open(&path).and_then(|f| f.take(len).read_to_string(&mut text));
        if read.is_ok() {
            out.extend(ctx_file(name, &text, limits));
        }
    }
    out
}

/// The Kubernetes or OpenSearch documents of one context file, marked as context.
fn ctx_file(name: OsString, text: &str, limits: crate::policy::yaml::YamlLimits) -> Option<CtxFile> {
    let docs = crate::policy::read(text, limits).ok()?;
    let family = match crate::policy::family(&docs)? {
        f @ (Family::Kubernetes | Family::Opensearch) => f,
        Family::Native => return None,
    };
    let mut docs: Vec<Node> = docs
        .into_iter()
        .filter(|d| match family {
            Family::Kubernetes => crate::policy::kubernetes::is_rbac(d),
            _ => crate::policy::opensearch::is_config(d),
        })
        .collect();
    for d in docs.iter_mut() {
        d.mark_context();
    }
    Some(CtxFile { name, family, docs })
}

fn problem(out: &mut Out, p: &Problem) {
    let f = out.add(p.rule, &p.at, p.message.clone(), &p.key);
    if let Some(s) = p.severity {
        f.severity = s;
    }
}

fn perm<'p>(p: &'p Policy, role: &str, i: usize) -> Option<&'p Permission> {
    p.role(role)?.permissions.get(i)
}

/// Duplicates, cycles, undefined references, default decision.
fn structure(out: &mut Out, p: &Policy, acc: &Access, params: &PolicyParams) {
    let mut seen: Vec<&Role> = Vec::new();
    for r in &p.roles {
        if let Some(first) = seen.iter().find(|s| s.name == r.name) {
            out.add(
                Rule::DuplicateRole,
                &r.at,
                format!(
                    "role `{}` is defined again (first at line {}); engines keep one definition silently, so what the role may do depends on which",
                    r.name, first.at.line
                ),
                &r.name,
            );
        } else {
            seen.push(r);
        }
    }
    for cyc in &acc.cycles {
        let Some(first) = p.role(&cyc[0]) else { continue };
        let at = first
            .inherits
            .iter()
            .find(|i| cyc.contains(&i.value))
            .map(|i| i.at.clone())
            .unwrap_or_else(|| first.at.clone());
        let mut ring = cyc.clone();
        ring.push(cyc[0].clone());
        out.add(
            Rule::InheritanceCycle,
            &at,
            format!("roles inherit from each other in a cycle: {}", ring.join(" -> ")),
            &cyc.join(","),
        );
    }
    let role_names: BTreeSet<&str> = p.roles.iter().map(|r| r.name.as_str()).collect();
    for r in &p.roles {
        for i in &r.inherits {
            if !role_names.contains(i.value.as_str()) {
                out.add(
                    Rule::PolicyUndefinedReference,
                    &i.at,
                    format!("role `{}` inherits from `{}`, which no role defines", r.name, i.value),
                    &format!("inherits:{}", i.value),
                );
            }
        }
        for e in &r.excludes {
            if access::reaches(p, &e.value).is_empty() {
                out.add(
                    Rule::PolicyUndefinedReference,
                    &e.at,
                    format!("role `{}` excludes collection `{}`, which the classification does not define: the exclusion protects nothing", r.name, e.value),
                    &format!("exclude:{}", e.value),
                );
            }
        }
    }
    if p.format == Format::Native && p.collections.is_empty() && !acc.unresolved.is_empty() {
        let at = At {
            path: format!("{}/data_classification", p.at.path),
            ..p.at.clone()
        };
        let mut names: Vec<&str> = acc.unresolved.iter().map(|u| u.segment.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        out.add(
            Rule::PolicyUndefinedReference,
            &at,
            format!(
                "the policy has no `data_classification`: the collections its permissions name ({}) have no sensitivity, so the checks that depend on it (wildcards on sensitive data, PII filtering, strong authentication, accessible_by) did not run",
                names.join(", ")
            ),
            "no-classification",
        )
        .severity = Severity::Low;
    }
    for u in acc
        .unresolved
        .iter()
        .filter(|_| !p.collections.is_empty() || p.format != Format::Native)
    {
        if let Some(perm) = perm(p, &u.role, u.perm) {
            out.add(
                Rule::PolicyUndefinedReference,
                &perm.resource.at,
                format!(
                    "`{}` (role `{}`) names collection `{}`, which data_classification neither defines nor maps (`aliases`): its sensitivity is unknown",
                    perm.resource.value, u.role, u.segment
                ),
                &format!("collection:{}", u.segment),
            );
        }
    }
    for c in &p.collections {
        for a in c.accessible_by.iter().flatten() {
            if a.value != "*" && !role_names.contains(a.value.as_str()) {
                out.add(
                    Rule::PolicyUndefinedReference,
                    &a.at,
                    format!(
                        "collection `{}` is accessible_by `{}`, which no role defines",
                        c.name, a.value
                    ),
                    &format!("accessible_by:{}", a.value),
                );
            }
        }
    }
    for d in &p.dynamic {
        for c in &d.collections {
            if c.value != "*" && access::reaches(p, &c.value).is_empty() {
                out.add(
                    Rule::PolicyUndefinedReference,
                    &c.at,
                    format!("dynamic policy `{}` applies to collection `{}`, which the classification does not define: it restricts nothing", d.name, c.value),
                    &format!("dynamic-collection:{}", c.value),
                );
            }
        }
        for r in &d.roles {
            if r.value != "*" && !role_names.contains(r.value.as_str()) {
                out.add(
                    Rule::PolicyUndefinedReference,
                    &r.at,
                    format!(
                        "dynamic policy `{}` applies to role `{}`, which no role defines",
                        d.name, r.value
                    ),
                    &format!("dynamic-role:{}", r.value),
                );
            }
        }
    }
    for b in &p.bindings {
        if bound(p, b).is_empty() && builtin(p, params, &b.role.value).is_none() {
            out.add(
                Rule::BindingUndefinedRole,
                &b.role.at,
                format!(
                    "{} refers to role `{}`, which is not defined{}: the subjects get nothing today, and whoever later creates a role of that name grants it to them",
                    binding_label(p, b),
                    b.role.value,
                    match p.format {
                        Format::Native => "",
                        Format::Kubernetes => " in this file, the other RBAC files of its directory or the API server's default roles",
                        Format::Opensearch => " in the roles.yml beside it nor among the plugin's static roles",
                    }
                ),
                &b.role.value,
            );
        }
    }
    if p.expresses.default_decision {
        match &p.default_decision {
            None => {
                let at = At {
                    path: format!("{}/default_decision", p.at.path),
                    ..p.at.clone()
                };
                out.add(
                    Rule::DefaultDenyMissing,
                    &at,
                    "the policy states no default decision: what happens to a request no permission grants depends on the engine; add `default_decision: deny`".into(),
                    "missing",
                );
            }
            Some(d) if d.value == Decision::Allow => {
                out.add(
                    Rule::DefaultDenyMissing,
                    &d.at,
                    "`default_decision: allow`: every request that no permission covers is allowed, so every role holds every permission not written down".into(),
                    "allow",
                )
                .severity = Severity::Critical;
            }
            Some(_) => {}
        }
    }
}

/// The roles a binding names: the role of that name, or (native format) every role a glob
/// role_ref (`support_*`) matches.
fn bound<'p>(p: &'p Policy, b: &Binding) -> Vec<&'p Role> {
    if let Some(r) = p.role(&b.role.value) {
        return vec![r];
    }
    if p.format == Format::Native && is_glob(&b.role.value) {
        return p
            .roles
            .iter()
            .filter(|r| crate::policy::glob_match(&b.role.value, &r.name))
            .collect();
    }
    Vec::new()
}

/// How a binding is named in messages: "binding `x`", or OpenSearch's "role mapping `x`" and
/// "internal user `x`" (their parser writes those names already quoted).
fn binding_label(p: &Policy, b: &Binding) -> String {
    match (&b.name, p.format) {
        (Some(n), Format::Opensearch) => n.clone(),
        (Some(n), _) => format!("binding `{n}`"),
        (None, _) => "a binding".to_string(),
    }
}

/// What a built-in role of the engine (not defined in the files read) grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Everything,
    ReadAll,
    Known,
}

fn builtin(p: &Policy, params: &PolicyParams, role: &str) -> Option<Builtin> {
    if p.role(role).is_some() {
        return None;
    }
    let (list, name) = match p.format {
        Format::Native => return None,
        Format::Kubernetes => (
            &params.kubernetes.builtin_roles,
            crate::policy::kubernetes::bare_name(role),
        ),
        Format::Opensearch => (&params.opensearch.builtin_roles, role),
    };
    if has(&list.everything, name) && (p.format != Format::Kubernetes || role.starts_with("ClusterRole/")) {
        Some(Builtin::Everything)
    } else if has(&list.read_all, name) {
        Some(Builtin::ReadAll)
    } else if list.is_builtin(name) {
        Some(Builtin::Known)
    } else {
        None
    }
}

/// The most sensitive collection a permission reaches in the role's effective access, and
/// whether the grant survives there (after exclusions and denies).
fn reached(acc: &Access, role: &str, owner: &str, perm: usize) -> Vec<(String, Sensitivity, BTreeSet<Act>)> {
    let Some(ra) = acc.role(role) else { return Vec::new() };
    ra.collections
        .iter()
        .filter_map(|(name, cell)| {
            let acts: BTreeSet<Act> = cell
                .actions
                .iter()
                .filter(|(_, vias)| vias.iter().any(|v| v.role == owner && v.perm == perm))
                .map(|(a, _)| *a)
                .collect();
            (!acts.is_empty()).then(|| (name.clone(), cell.sensitivity, acts))
        })
        .collect()
}

fn wildcards(out: &mut Out, p: &Policy, acc: &Access) {
    for r in p.roles.iter().filter(|r| !r.dormant) {
        // Kubernetes writes one rule for many resources: one finding per rule, not per resource.
        let mut reported: Vec<(&str, Rule)> = Vec::new();
        for (i, perm) in r.permissions.iter().enumerate() {
            let wild_res = broad(p, perm);
            if !wild_res && !perm.wildcard_actions {
                continue;
            }
            let what = match (wild_res, perm.wildcard_actions) {
                (true, true) => "a wildcard resource with wildcard actions",
                (true, false) => "a wildcard resource",
                _ => "wildcard actions",
            };
            let (siblings, resources) = rule_siblings(p, r, i);
            let hit: Vec<(String, Sensitivity, BTreeSet<Act>)> = siblings
                .iter()
                .flat_map(|j| reached(acc, &r.name, &r.name, *j))
                .collect();
            let writes = perm.acts.iter().any(|a| a.writes());
            let rule = if writes {
                Rule::WildcardWriteGrant
            } else {
                Rule::WildcardOnSensitiveData
            };
            if reported.contains(&(perm.at.path.as_str(), rule)) {
                continue;
            }
            if writes {
                let worst = hit.iter().map(|h| h.1).max();
                let n = hit.iter().map(|h| h.0.as_str()).collect::<BTreeSet<_>>().len();
                let everything = siblings
                    .iter()
                    .any(|j| matches!(r.permissions[*j].scope, Scope::Everything));
                let acts: Vec<&str> = perm.acts.iter().filter(|a| a.writes()).map(|a| a.as_str()).collect();
                out.add(
                    Rule::WildcardWriteGrant,
                    &perm.resource.at,
                    format!(
                        "role `{}` holds {what} (`{resources}`) that grants {} on {}",
                        r.name,
                        acts.join("/"),
                        if everything {
                            "everything, the access-control plane included".to_string()
                        } else if n == 0 {
                            "every resource it names (none of them classified)".to_string()
                        } else {
                            format!("{n} classified collection(s)")
                        }
                    ),
                    &format!("{}#{i}", r.name),
                )
                .severity = match worst {
                    _ if everything => Severity::Critical,
                    Some(Sensitivity::Restricted) => Severity::Critical,
                    Some(_) => Severity::High,
                    // Nothing classified reached: the wildcard is still broader than least
                    // privilege, but no known sensitive data is at stake.
                    None if p.format == Format::Native => Severity::High,
                    None => Severity::Medium,
                };
                reported.push((perm.at.path.as_str(), rule));
                continue;
            }
            // Reading data (not only listing it) on confidential or restricted collections.
            let sensitive: Vec<&(String, Sensitivity, BTreeSet<Act>)> = hit
                .iter()
                .filter(|h| h.1 >= Sensitivity::Confidential && h.2.iter().any(|a| *a != Act::List))
                .collect();
            if let Some(worst) = sensitive.iter().map(|h| h.1).max() {
                let mut names: Vec<&str> = sensitive.iter().map(|h| h.0.as_str()).collect();
                names.sort_unstable();
                names.dedup();
                out.add(
                    Rule::WildcardOnSensitiveData,
                    &perm.resource.at,
                    format!(
                        "role `{}` reaches {} data through {what} (`{resources}`): {}; name the collections it needs instead",
                        r.name,
                        worst.as_str(),
                        names.join(", ")
                    ),
                    &format!("{}#{i}", r.name),
                )
                .severity = sev(worst, [Severity::Low, Severity::Low, Severity::Medium, Severity::High]);
                reported.push((perm.at.path.as_str(), rule));
            }
        }
    }
}

/// The permissions written by the same entry as permission `i` (a Kubernetes rule lists many
/// resources; other formats write one resource per entry), and their resources as text.
fn rule_siblings(p: &Policy, r: &Role, i: usize) -> (Vec<usize>, String) {
    let at = &r.permissions[i].at;
    let same: Vec<usize> = if p.format == Format::Kubernetes {
        (0..r.permissions.len())
            .filter(|j| {
                r.permissions[*j].at == *at && (broad(p, &r.permissions[*j]) || r.permissions[*j].wildcard_actions)
            })
            .collect()
    } else {
        vec![i]
    };
    let names: Vec<&str> = same.iter().map(|j| r.permissions[*j].resource.value.as_str()).collect();
    (same, names.join("`, `"))
}

/// Whether a permission's resource is a wildcard. In formats whose classification is itself a
/// set of globs (Kubernetes, OpenSearch), a pattern inside one classified pattern (`hr-*` under
/// `hr-*`) is no broader than the classification and does not count; a Kubernetes ClusterRole
/// reaches every namespace by definition, so only the resource as written counts there.
fn broad(p: &Policy, perm: &Permission) -> bool {
    let classified = |collection: &str| {
        p.collections
            .iter()
            .any(|c| crate::policy::glob_match(&c.name, collection))
    };
    match &perm.scope {
        // A Kubernetes resource written as a glob (`*`, `pods/*`) is one, whatever the
        // classification of the namespace.
        Scope::Data { .. } if p.format == Format::Kubernetes => is_glob(&perm.resource.value),
        Scope::Data { collection, .. } if p.format != Format::Native && is_glob(collection) => !classified(collection),
        s => s.is_wildcard(),
    }
}

/// Whether pattern `a` covers every resource pattern `b` names.
fn covers(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('/'), b.trim_start_matches('/'));
    if a == "*" || a == "**" {
        return true;
    }
    crate::policy::glob_match(a, b) && a != b
}

fn shadowed(out: &mut Out, p: &Policy) {
    for r in p.roles.iter().filter(|r| !r.dormant) {
        for (j, pj) in r.permissions.iter().enumerate() {
            for (i, pi) in r.permissions.iter().enumerate() {
                if i == j {
                    continue;
                }
                let same_resource = pi.resource.value == pj.resource.value;
                // pi shadows pj: reaches all of pj's resource with a superset of its actions,
                // under no more conditions. Among equal pairs, the later one is reported.
                let broader = covers(&pi.resource.value, &pj.resource.value) || (same_resource && i < j);
                // Kubernetes and OpenSearch verbs are distinct permissions (`get` is not
                // covered by `watch`): compare them as written unless the broader one is `*`.
                let words_cover =
                    p.format == Format::Native || pi.wildcard_actions || pj.words.iter().all(|w| pi.words.contains(w));
                let acts_cover = words_cover
                    && pj.acts.iter().all(|a| pi.acts.contains(a))
                    && pj
                        .management
                        .iter()
                        .all(|m| pi.management.iter().any(|x| x.value == m.value));
                let conds = pi.conditions.is_none() || pi.conditions == pj.conditions;
                if broader && acts_cover && conds && !pj.acts.is_empty() {
                    let extra = if pj.conditions.is_some() && pi.conditions.is_none() {
                        "; its conditions never restrict anything, because the broader grant has none"
                    } else {
                        ""
                    };
                    out.add(
                        Rule::ShadowedPermission,
                        &pj.at,
                        format!(
                            "in role `{}`, `{}` is shadowed by `{}` (line {}), which already grants all of it{extra}",
                            r.name, pj.resource.value, pi.resource.value, pi.resource.at.line
                        ),
                        &format!("{}#{j}", r.name),
                    );
                    break;
                }
            }
        }
    }
}

fn reopened(out: &mut Out, p: &Policy, acc: &Access) {
    for ro in &acc.reopened {
        if let Some(perm) = perm(p, &ro.role, ro.perm) {
            out.add(
                Rule::ExclusionReopened,
                &perm.resource.at,
                format!(
                    "role `{}` inherits from `{}`, which excludes `{}`, yet its own `{}` grants that collection again: the effective access differs from the exclusion as written",
                    ro.role, ro.excluded_by, ro.collection, perm.resource.value
                ),
                &format!("{}#{}:{}", ro.role, ro.perm, ro.collection),
            );
        }
    }
    // An exclusion in the same role that an explicit grant names (which one wins is engine
    // dependent).
    for r in &p.roles {
        for e in &r.excludes {
            for (i, perm) in r.permissions.iter().enumerate() {
                if let Scope::Data { collection, .. } = &perm.scope {
                    let names = access::reaches(p, collection);
                    if !is_glob(collection) && names.iter().any(|c| c.name == e.value || c.aliases.contains(&e.value)) {
                        out.add(
                            Rule::ExclusionReopened,
                            &perm.resource.at,
                            format!(
                                "role `{}` excludes `{}` and grants `{}` explicitly: llmguard applies the exclusion, an engine may apply the grant",
                                r.name, e.value, perm.resource.value
                            ),
                            &format!("{}#{i}:{}", r.name, e.value),
                        );
                    }
                }
            }
        }
    }
}

fn strong(c: &Conditions, params: &PolicyParams) -> bool {
    c.mfa_required.as_ref().is_some_and(|m| m.value)
        || c.authentication
            .iter()
            .any(|a| has(&params.strong_authentication, &a.value))
}

fn weak_auth(out: &mut Out, p: &Policy, acc: &Access, params: &PolicyParams) {
    if !p.expresses.auth_conditions {
        return;
    }
    for ra in &acc.roles {
        let Some(role) = p.role(&ra.role) else { continue };
        let role_strong = strong(&role.conditions, params);
        for (cname, cell) in &ra.collections {
            if cell.sensitivity != Sensitivity::Restricted {
                continue;
            }
            // Every write action the role holds there without strong authentication, one finding.
            let mut weak: Vec<(Act, &access::Via)> = Vec::new();
            for (act, vias) in &cell.actions {
                if !act.writes() {
                    continue;
                }
                // Strong if the role is, or every granting permission carries strong conditions.
                let ok = role_strong
                    || vias.iter().all(|v| {
                        perm(p, &v.role, v.perm)
                            .and_then(|x| x.conditions.as_ref())
                            .is_some_and(|c| strong(c, params))
                            || p.role(&v.role).is_some_and(|r| strong(&r.conditions, params))
                    });
                if let (false, Some(v)) = (ok, vias.first()) {
                    weak.push((*act, v));
                }
            }
            let Some((_, v)) = weak.first() else { continue };
            let at = perm(p, &v.role, v.perm)
                .map(|x| x.resource.at.clone())
                .unwrap_or_else(|| role.at.clone());
            let acts: Vec<&str> = weak.iter().map(|(a, _)| a.as_str()).collect();
            out.add(
                Rule::WeakAuthOnRestrictedWrite,
                &at,
                format!(
                    "role `{}` may {} restricted collection `{cname}` without a strong authentication condition (mfa_required or certificate/mTLS)",
                    ra.role,
                    acts.join("/")
                ),
                &format!("{}:{cname}", ra.role),
            )
            .severity = if weak.iter().any(|(a, _)| matches!(a, Act::Admin | Act::Delete)) {
                Severity::Critical
            } else {
                Severity::High
            };
        }
    }
}

/// How serious a grant on the access-control plane is, and what it is in words. Reading or
/// writing Kubernetes Secrets is credential access (`true`; high cluster-wide, lower in one
/// namespace); anything else on the plane lets the role grant itself anything (critical).
fn grant_class(p: &Policy, g: &access::ManagementGrant) -> (bool, Severity, String) {
    let Some(x) = perm(p, &g.via.role, g.via.perm) else {
        return (
            false,
            Severity::Critical,
            format!("`{}` via `{}`", g.what, g.via.resource),
        );
    };
    let secrets = p.format == Format::Kubernetes
        && x.management.is_empty()
        && match &x.scope {
            Scope::Management { kind } => kind == "secrets",
            // Reading every core resource is reading every Secret; writing them is more.
            Scope::Everything => !x.acts.iter().any(|a| a.writes()),
            _ => false,
        };
    if !secrets {
        let mut words: Vec<&str> = x.management.iter().map(|m| m.value.as_str()).collect();
        if words.is_empty() {
            words = x.words.iter().map(String::as_str).collect();
        }
        let how = if words.is_empty() {
            format!("`{}` via `{}`", g.what, g.via.resource)
        } else if words == [g.via.resource.as_str()] {
            format!("`{}`", g.via.resource)
        } else {
            format!("`{}` on `{}`", words.join("`, `"), g.via.resource)
        };
        return (false, Severity::Critical, how);
    }
    (true, Severity::Critical, x.words.join(","))
}

/// One phrase and severity for all of a Kubernetes role's grants on Secrets.
fn credential_phrase(p: &Policy, role: &str, grants: &[&access::ManagementGrant]) -> (Severity, String) {
    let mut words: Vec<&str> = Vec::new();
    let mut resources: Vec<&str> = Vec::new();
    let mut acts: BTreeSet<Act> = BTreeSet::new();
    for g in grants {
        if let Some(x) = perm(p, &g.via.role, g.via.perm) {
            for w in &x.words {
                if !words.contains(&w.as_str()) {
                    words.push(w);
                }
            }
            if !resources.contains(&x.resource.value.as_str()) {
                resources.push(&x.resource.value);
            }
            acts.extend(x.acts.iter().copied());
        }
    }
    let reads = acts.iter().any(|a| matches!(a, Act::Read | Act::List));
    let writes = acts.iter().any(|a| a.writes());
    let mut parts = role.splitn(3, '/');
    let (kind, ns) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let cluster = kind == "ClusterRole";
    let scope = if cluster {
        "in every namespace".to_string()
    } else {
        format!("in namespace `{ns}`")
    };
    let what = match (reads, writes) {
        (true, true) => format!("read and write every Secret {scope}"),
        (true, false) => format!("read every Secret {scope}"),
        _ => format!("create or change Secrets {scope}"),
    };
    let severity = match (cluster, reads, writes) {
        (true, true, _) => Severity::High,
        (true, false, _) => Severity::Medium,
        (false, true, true) => Severity::Medium,
        _ => Severity::Low,
    };
    (
        severity,
        format!("{what} (`{}` on `{}`)", words.join("`, `"), resources.join("`, `")),
    )
}

fn escalation(out: &mut Out, p: &Policy, acc: &Access) {
    for ra in &acc.roles {
        let Some(role) = p.role(&ra.role) else { continue };
        // The role's own grants, one finding per class (credentials, control plane).
        for credential in [false, true] {
            let own: Vec<(Severity, String, &access::ManagementGrant)> = ra
                .management
                .iter()
                .filter(|g| g.via.role == ra.role)
                .map(|g| {
                    let (c, sev, how) = grant_class(p, g);
                    (c, sev, how, g)
                })
                .filter(|(c, ..)| *c == credential)
                .map(|(_, sev, how, g)| (sev, how, g))
                .collect();
            let Some((_, _, first)) = own.first() else { continue };
            let at = perm(p, &first.via.role, first.via.perm)
                .map(|x| x.resource.at.clone())
                .unwrap_or_else(|| role.at.clone());
            let (severity, message) = if credential {
                let grants: Vec<&access::ManagementGrant> = own.iter().map(|(.., g)| *g).collect();
                let (severity, what) = credential_phrase(p, &ra.role, &grants);
                (
                    severity,
                    format!(
                        "role `{}` can {what}: Secrets hold service-account tokens and other credentials, so whoever holds the role holds the identities they belong to; name the Secrets it needs (`resourceNames`)",
                        ra.role
                    ),
                )
            } else {
                let mut hows: Vec<&str> = own.iter().map(|(_, h, _)| h.as_str()).collect();
                hows.dedup();
                (
                    Severity::Critical,
                    format!(
                        "role `{}` can manage the access-control plane ({}): it can grant itself or others any permission",
                        ra.role,
                        hows.join(", ")
                    ),
                )
            };
            out.add(
                Rule::PrivilegeEscalation,
                &at,
                message,
                &format!("{}#{}", ra.role, if credential { "credentials" } else { "plane" }),
            )
            .severity = severity;
        }
        // Inherited grants, one finding per ancestor that holds them.
        let mut ancestors: Vec<&str> = ra
            .management
            .iter()
            .filter(|g| g.via.role != ra.role)
            .map(|g| g.via.role.as_str())
            .collect();
        ancestors.sort_unstable();
        ancestors.dedup();
        for anc in ancestors {
            let grants: Vec<(bool, Severity, String)> = ra
                .management
                .iter()
                .filter(|g| g.via.role == anc)
                .map(|g| grant_class(p, g))
                .collect();
            let only_credentials = grants.iter().all(|g| g.0);
            let severity = if only_credentials {
                let list: Vec<&access::ManagementGrant> = ra.management.iter().filter(|g| g.via.role == anc).collect();
                credential_phrase(p, anc, &list).0
            } else {
                Severity::Critical
            };
            let mut whats: Vec<&str> = ra
                .management
                .iter()
                .filter(|g| g.via.role == anc)
                .map(|g| g.what.as_str())
                .collect();
            whats.sort_unstable();
            whats.dedup();
            let at = role
                .inherits
                .iter()
                .find(|i| i.value == anc || access::ancestors(p, &i.value).iter().any(|a| a == anc))
                .map(|i| i.at.clone())
                .unwrap_or_else(|| role.at.clone());
            out.add(
                Rule::PrivilegeEscalation,
                &at,
                if only_credentials {
                    format!(
                        "role `{}` inherits from `{anc}` access to credentials (`{}`)",
                        ra.role,
                        whats.join("`, `")
                    )
                } else {
                    format!(
                        "role `{}` inherits from `{anc}` the power to manage the access-control plane (`{}`)",
                        ra.role,
                        whats.join("`, `")
                    )
                },
                &format!("{}<{anc}", ra.role),
            )
            .severity = severity;
        }
    }
}

/// Whether a subject stands for every identity.
fn everyone(p: &Policy, params: &PolicyParams, s: &Subject) -> bool {
    s.name.trim() == "*"
        || (p.format == Format::Kubernetes
            && matches!(s.kind, SubjectKind::Group | SubjectKind::User)
            && has(&params.kubernetes.everyone_subjects, &s.name))
}

/// Whether every grant of a role (its own and inherited) is bound to the caller: per-user
/// resources only, nothing on the access-control plane.
fn user_scoped_only(p: &Policy, role: &Role, params: &PolicyParams) -> bool {
    let mut names = vec![role.name.clone()];
    names.extend(access::ancestors(p, &role.name));
    let perms: Vec<&Permission> = names
        .iter()
        .filter_map(|n| p.role(n))
        .flat_map(|r| r.permissions.iter())
        .collect();
    !perms.is_empty()
        && perms.iter().all(|x| {
            x.management.is_empty()
                && match &x.scope {
                    Scope::Data { rest, collection, .. } => params
                        .user_placeholders
                        .iter()
                        .map(String::as_str)
                        .chain(["${user", "${attr"])
                        .any(|ph| rest.contains(ph) || collection.contains(ph) || x.resource.value.contains(ph)),
                    _ => false,
                }
        })
}

fn bindings(out: &mut Out, p: &Policy, acc: &Access, params: &PolicyParams, today: i64) {
    for b in &p.bindings {
        let roles = bound(p, b);
        let built = builtin(p, params, &b.role.value);
        for role in &roles {
            let Some(exp) = role.conditions.expires_at.as_ref() else {
                continue;
            };
            if let Ok((_, day)) = time::date(&exp.value) {
                if day < today {
                    out.add(
                        Rule::ExpiredGrantBound,
                        &b.role.at,
                        format!(
                            "role `{}` expired on {} (line {}) but is still bound to {} subject(s): remove the binding or the role",
                            role.name,
                            exp.value,
                            exp.at.line,
                            b.subjects.len()
                        ),
                        &role.name,
                    );
                }
            }
        }
        let roles_strong = !roles.is_empty() && roles.iter().all(|r| strong(&r.conditions, params));
        for s in &b.subjects {
            if !s.external {
                continue;
            }
            let by_key = s.kind == SubjectKind::ApiKey
                || s.authentication
                    .as_deref()
                    .is_some_and(|a| has(&params.key_authentication, a))
                || roles.iter().any(|r| {
                    !strong(&r.conditions, params)
                        && (r.conditions.authentication.is_empty()
                            || r.conditions
                                .authentication
                                .iter()
                                .all(|a| has(&params.key_authentication, &a.value)))
                });
            let strong_subject = s
                .authentication
                .as_deref()
                .is_some_and(|a| has(&params.strong_authentication, a));
            if by_key && !strong_subject && !roles_strong {
                out.add(
                    Rule::ExternalApiKeyOnly,
                    &s.at,
                    format!(
                        "external subject `{}` is bound to `{}` and authenticated by an API key alone: a leaked key is the whole identity",
                        s.name, b.role.value
                    ),
                    &s.name,
                );
            }
        }
        let binding = binding_label(p, b);
        let all: Vec<&Subject> = b.subjects.iter().filter(|s| everyone(p, params, s)).collect();
        if let Some(first) = all.first() {
            let system_role = p.format == Format::Kubernetes
                && built.is_some()
                && crate::policy::kubernetes::bare_name(&b.role.value).starts_with("system:");
            let user_only = (!roles.is_empty() && roles.iter().all(|r| user_scoped_only(p, r, params)))
                || (p.format == Format::Opensearch && has(&params.opensearch.builtin_roles.per_user, &b.role.value));
            let unknown = roles.is_empty() && built.is_none();
            if system_role || user_only || unknown {
                continue;
            }
            let (writes, what) = match built {
                Some(Builtin::Everything) => (true, "every action on everything".to_string()),
                Some(Builtin::ReadAll) => (false, "reads of every index".to_string()),
                Some(Builtin::Known) => (false, "a built-in role".to_string()),
                None => {
                    let mut acts: BTreeSet<Act> = BTreeSet::new();
                    let mut manages = false;
                    for r in &roles {
                        if let Some(ra) = acc.role(&r.name) {
                            acts.extend(ra.collections.values().flat_map(|c| c.actions.keys().copied()));
                            manages |= !ra.management.is_empty();
                        }
                        // Unclassified resources (Kubernetes, OpenSearch) are not in the matrix.
                        for x in &r.permissions {
                            acts.extend(x.acts.iter().copied());
                        }
                    }
                    let shown: Vec<&str> = acts.iter().map(|a| a.as_str()).collect();
                    (
                        manages || acts.iter().any(|a| a.writes()),
                        if manages {
                            "control of the access-control plane".to_string()
                        } else if shown.is_empty() {
                            "what it grants".to_string()
                        } else {
                            format!("{} access", shown.join("/"))
                        },
                    )
                }
            };
            let anonymous = all
                .iter()
                .any(|s| ["system:unauthenticated", "system:anonymous"].contains(&s.name.as_str()));
            out.add(
                Rule::BindingToEveryone,
                &first.at,
                format!(
                    "{binding} grants role `{}` to every {} (`{}`): {what}",
                    b.role.value,
                    if anonymous {
                        "request, unauthenticated ones included"
                    } else {
                        "identity"
                    },
                    first.name
                ),
                &format!("{}:{}", b.role.value, first.name),
            )
            .severity = if writes || anonymous {
                Severity::Critical
            } else {
                Severity::High
            };
        } else if built == Some(Builtin::Everything) {
            let machine = b.subjects.iter().any(|s| {
                matches!(
                    s.kind,
                    SubjectKind::ServiceAccount | SubjectKind::ApiKey | SubjectKind::Other
                )
            });
            let who: Vec<&str> = b.subjects.iter().map(|s| s.name.as_str()).collect();
            out.add(
                Rule::WildcardWriteGrant,
                &b.role.at,
                format!(
                    "{binding} grants the built-in role `{}` — every action on every resource, the access-control plane included — to {}",
                    crate::policy::kubernetes::bare_name(&b.role.value),
                    if who.is_empty() { "nobody yet".to_string() } else { format!("`{}`", who.join("`, `")) }
                ),
                &format!("builtin:{}", b.role.value),
            )
            .severity = if machine { Severity::Critical } else { Severity::High };
        } else if built == Some(Builtin::ReadAll) {
            let sensitive: Vec<&Collection> = p
                .collections
                .iter()
                .filter(|c| c.sensitivity >= Sensitivity::Confidential)
                .collect();
            if let Some(worst) = sensitive.iter().map(|c| c.sensitivity).max() {
                let names: Vec<&str> = sensitive.iter().map(|c| c.name.as_str()).collect();
                out.add(
                    Rule::WildcardOnSensitiveData,
                    &b.role.at,
                    format!(
                        "{binding} grants the built-in role `{}`, which reads every index, so it reaches {} data: {}",
                        crate::policy::kubernetes::bare_name(&b.role.value),
                        worst.as_str(),
                        names.join(", ")
                    ),
                    &format!("builtin:{}", b.role.value),
                )
                .severity = sev(worst, [Severity::Low, Severity::Low, Severity::Medium, Severity::High]);
            }
        }
        // A role_ref of only `*` binds every role there is, and every role added later.
        if p.format == Format::Native && !b.role.value.is_empty() && b.role.value.chars().all(|c| c == '*') {
            let manages = roles
                .iter()
                .any(|r| acc.role(&r.name).is_some_and(|ra| !ra.management.is_empty()));
            let writes = roles.iter().any(|r| {
                acc.role(&r.name)
                    .is_some_and(|ra| ra.collections.values().any(|c| c.actions.keys().any(|a| a.writes())))
            });
            if writes || manages {
                out.add(
                    Rule::WildcardWriteGrant,
                    &b.role.at,
                    format!(
                        "{binding} binds every role (`role_ref: {}`, {} today, and any added later), write access included",
                        b.role.value,
                        roles.len()
                    ),
                    &format!("role_ref:{}", b.role.value),
                )
                .severity = if manages { Severity::Critical } else { Severity::High };
            }
        }
    }
}

fn pii_filtered(role: &Role, perm: Option<&Permission>, p: &Policy, params: &PolicyParams) -> bool {
    let explicit = perm
        .and_then(|x| x.conditions.as_ref())
        .and_then(|c| c.pii_filtering.as_ref())
        .or(role.conditions.pii_filtering.as_ref());
    match explicit {
        Some(b) => b.value,
        None => p.pii.as_ref().is_some_and(|x| {
            x.enabled.as_ref().is_none_or(|e| e.value)
                && x.auto_detection.as_ref().is_some_and(|a| a.value)
                && x.on_detection
                    .as_ref()
                    .is_some_and(|a| has(&params.pii_filtering_actions, &a.value))
        }),
    }
}

fn pii(out: &mut Out, p: &Policy, acc: &Access, params: &PolicyParams) {
    if !p.expresses.pii_filtering {
        return;
    }
    for ra in &acc.roles {
        let Some(role) = p.role(&ra.role) else { continue };
        for (cname, cell) in &ra.collections {
            if cell.sensitivity < Sensitivity::Confidential {
                continue;
            }
            let Some(vias) = cell.actions.get(&Act::Read) else {
                continue;
            };
            if vias
                .iter()
                .all(|v| pii_filtered(role, perm(p, &v.role, v.perm), p, params))
            {
                continue;
            }
            let at = role
                .conditions
                .pii_filtering
                .as_ref()
                .map(|x| x.at.clone())
                .or_else(|| {
                    vias.first()
                        .and_then(|v| perm(p, &v.role, v.perm))
                        .map(|x| x.resource.at.clone())
                })
                .unwrap_or_else(|| role.at.clone());
            let off = role.conditions.pii_filtering.as_ref().is_some_and(|x| !x.value);
            out.add(
                Rule::PiiFilteringMissing,
                &at,
                format!(
                    "role `{}` reads {} collection `{cname}` with PII filtering {}",
                    ra.role,
                    cell.sensitivity.as_str(),
                    if off {
                        "turned off"
                    } else {
                        "absent (no `pii_filtering: true`, no redacting auto-detection)"
                    }
                ),
                &format!("{}:{cname}", ra.role),
            )
            .severity = sev(
                cell.sensitivity,
                [Severity::Low, Severity::Low, Severity::Medium, Severity::High],
            );
        }
    }
}

fn tenancy(out: &mut Out, p: &Policy, params: &PolicyParams) {
    let propagation_off = p
        .gateway
        .as_ref()
        .and_then(|g| g.user_context_propagation.as_ref())
        .filter(|x| !x.value);
    for r in p.roles.iter().filter(|r| !r.dormant) {
        for (i, perm) in r.permissions.iter().enumerate() {
            let Scope::Data { collection, rest, .. } = &perm.scope else {
                continue;
            };
            let segs: Vec<&str> = std::iter::once(collection.as_str()).chain(rest.split('/')).collect();
            let scoped = segs.iter().any(|s| has(&params.user_scoped_segments, s));
            if !scoped {
                continue;
            }
            let bound = params
                .user_placeholders
                .iter()
                .any(|ph| perm.resource.value.contains(ph.as_str()) || rest.contains(ph.as_str()));
            if !bound {
                out.add(
                    Rule::CrossTenantResource,
                    &perm.resource.at,
                    format!(
                        "role `{}` reaches per-user data `{}` without a `{{user_id}}` (or tenant) binding: every caller reads every user's vectors",
                        r.name, perm.resource.value
                    ),
                    &format!("{}#{i}", r.name),
                );
            } else if let Some(off) = propagation_off {
                out.add(
                    Rule::CrossTenantResource,
                    &off.at,
                    format!(
                        "`{}` binds data to the caller, but `user_context_propagation: false`: the gateway does not pass the user, so `{{user_id}}` cannot be enforced",
                        perm.resource.value
                    ),
                    &format!("{}#{i}:propagation", r.name),
                );
            }
        }
    }
}

fn classification(out: &mut Out, p: &Policy, acc: &Access) {
    for c in &p.collections {
        let Some(list) = &c.accessible_by else { continue };
        if list.iter().any(|a| a.value == "*") {
            if c.sensitivity > Sensitivity::Public {
                let a = list
                    .iter()
                    .find(|a| a.value == "*")
                    .map(|a| a.at.clone())
                    .unwrap_or_else(|| c.at.clone());
                out.add(
                    Rule::AccessibleByEveryone,
                    &a,
                    format!(
                        "{} collection `{}` is `accessible_by: [\"*\"]`: every role may reach it, which only public data should allow",
                        c.sensitivity.as_str(),
                        c.name
                    ),
                    &c.name,
                )
                .severity = sev(c.sensitivity, [Severity::Info, Severity::Medium, Severity::High, Severity::Critical]);
            }
            continue;
        }
        for ra in &acc.roles {
            let Some(cell) = ra.collections.get(&c.name) else {
                continue;
            };
            if cell.actions.is_empty() {
                continue;
            }
            let named = list
                .iter()
                .any(|a| a.value == ra.role || ra.inherits.contains(&a.value));
            if named {
                continue;
            }
            let acts: Vec<&str> = cell.actions.keys().map(|a| a.as_str()).collect();
            let via = cell.actions.values().flatten().next();
            let at = via
                .and_then(|v| perm(p, &v.role, v.perm))
                .map(|x| x.resource.at.clone())
                .unwrap_or_else(|| c.at.clone());
            out.add(
                Rule::ClassificationContradiction,
                &at,
                format!(
                    "role `{}` may {} {} collection `{}`, but its classification (line {}) is accessible_by {} only",
                    ra.role,
                    acts.join("/"),
                    c.sensitivity.as_str(),
                    c.name,
                    c.at.line,
                    list.iter()
                        .map(|a| format!("`{}`", a.value))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &format!("{}:{}", ra.role, c.name),
            )
            .severity = sev(
                c.sensitivity,
                [Severity::Info, Severity::Low, Severity::Medium, Severity::High],
            );
        }
    }
}

/// `1.2`, `TLS1.2`, `TLSv1.3`, `tls_1_2` as (major, minor).
fn tls(v: &str) -> Option<(u32, u32)> {
    let digits: String = v
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .map(|c| if c == '_' { '.' } else { c })
        .collect();
    let (a, b) = digits.split_once('.')?;
    Some((a.parse().ok()?, b.trim_end_matches('+').parse().ok()?))
}

fn encryption(out: &mut Out, p: &Policy, _params: &PolicyParams, min_tls: &str) {
    let required: Vec<&Collection> = p.collections.iter().filter(|c| c.encryption_required).collect();
    let Some(e) = &p.encryption else {
        if let Some(c) = required.first() {
            out.add(
                Rule::EncryptionNotEnforced,
                &c.at,
                format!(
                    "collection `{}` requires encryption, but the policy has no `encryption` section (neither at rest nor in transit)",
                    c.name
                ),
                "no-encryption",
            );
        }
        return;
    };
    if let Some(c) = required.first() {
        for (what, v) in [("at_rest", &e.at_rest), ("in_transit", &e.in_transit)] {
            match v {
                Some(b) if !b.value => {
                    out.add(
                        Rule::EncryptionNotEnforced,
                        &b.at,
                        format!(
                            "encryption {what} is disabled, yet collection `{}` (and {} other(s)) require encryption",
                            c.name,
                            required.len() - 1
                        ),
                        what,
                    );
                }
                None => {
                    out.add(
                        Rule::EncryptionNotEnforced,
                        &e.at,
                        format!(
                            "encryption has no `{what}` setting, yet collection `{}` requires encryption",
                            c.name
                        ),
                        what,
                    );
                }
                _ => {}
            }
        }
    }
    let enforced = !required.is_empty() || e.in_transit.as_ref().is_some_and(|b| b.value);
    if let (Some(v), true) = (&e.tls_version, enforced) {
        match (tls(&v.value), tls(min_tls)) {
            (Some(have), Some(want)) if have < want => {
                out.add(
                    Rule::WeakTls,
                    &v.at,
                    format!("TLS {} allows protocol versions older than {min_tls}, which are deprecated (RFC 8996) and broken", v.value),
                    "tls",
                );
            }
            (None, _) => {
                out.add(
                    Rule::ConditionInvalid,
                    &v.at,
                    format!("`tls_version: {}` is not a TLS version (write 1.2 or 1.3)", v.value),
                    "tls",
                );
            }
            _ => {}
        }
    }
}

/// A service or LLM-application role: declared so, bound to a ServiceAccount or API key, or
/// named like one (`rag_service`) unless every subject bound to it is a person or a group of
/// people (a `support_agent` role for human agents is not an AI agent).
fn is_service(p: &Policy, r: &Role, params: &PolicyParams) -> bool {
    let subjects: Vec<&Subject> = p
        .bindings
        .iter()
        .filter(|b| bound(p, b).iter().any(|x| x.name == r.name))
        .flat_map(|b| b.subjects.iter())
        .collect();
    let machine = subjects
        .iter()
        .any(|s| matches!(s.kind, SubjectKind::ServiceAccount | SubjectKind::ApiKey));
    let human_only = !subjects.is_empty()
        && subjects
            .iter()
            .all(|s| matches!(s.kind, SubjectKind::User | SubjectKind::Group));
    r.service
        || machine
        || (!human_only
            && r.name
                .to_ascii_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| has(&params.service_role_words, w)))
}

fn rate_limits(out: &mut Out, p: &Policy, params: &PolicyParams) {
    if !p.expresses.rate_limits {
        return;
    }
    let d = p.default_limits.as_ref().map(|l| l.value).unwrap_or_default();
    let rpm_default = d
        .requests_per_minute
        .unwrap_or(params.default_rate_limits.requests_per_minute);
    let vpr_default = d
        .vectors_per_request
        .unwrap_or(params.default_rate_limits.vectors_per_request);
    let source = if p.default_limits.is_some() {
        "the policy's default_rate_limits"
    } else {
        "llmguard's default"
    };
    for r in &p.roles {
        if !is_service(p, r, params) {
            continue;
        }
        let limits = r.limits.as_ref().or(p.default_limits.as_ref());
        match limits {
            None => {
                out.add(
                    Rule::RateLimitMissing,
                    &r.at,
                    format!("service/LLM-application role `{}` has no rate_limits: a compromised or looping client can exfiltrate a collection at full speed", r.name),
                    &r.name,
                );
            }
            Some(l) if r.limits.is_some() => {
                let f = params.excessive_factor;
                for (what, have, def) in [
                    ("requests_per_minute", l.value.requests_per_minute, rpm_default),
                    ("vectors_per_request", l.value.vectors_per_request, vpr_default),
                ] {
                    match have {
                        Some(h) if h > def.saturating_mul(f) => {
                            out.add(
                                Rule::RateLimitExcessive,
                                &l.at.child(what),
                                format!("role `{}` allows {what}: {h}, more than {f}x {source} ({def})", r.name),
                                &format!("{}:{what}", r.name),
                            );
                        }
                        None => {
                            out.add(
                                Rule::RateLimitMissing,
                                &l.at,
                                format!("service/LLM-application role `{}` sets rate_limits without `{what}`: that dimension is unlimited", r.name),
                                &format!("{}:{what}", r.name),
                            )
                            .severity = Severity::Low;
                        }
                        _ => {}
                    }
                }
            }
            Some(_) => {}
        }
    }
}

fn audit(out: &mut Out, p: &Policy, params: &PolicyParams, min_retention: u64) {
    if !p.expresses.audit {
        return;
    }
    let restricted: Vec<&Collection> = p
        .collections
        .iter()
        .filter(|c| c.sensitivity == Sensitivity::Restricted)
        .collect();
    let Some(a) = &p.audit else {
        let at = At {
            path: format!("{}/audit", p.at.path),
            ..p.at.clone()
        };
        out.add(
            Rule::AuditDisabled,
            &at,
            "the policy has no `audit` section: access to its data leaves no record".into(),
            "missing",
        );
        return;
    };
    if let Some(e) = a.enabled.as_ref().filter(|e| !e.value) {
        out.add(
            Rule::AuditDisabled,
            &e.at,
            "audit is disabled: access to the policy's data leaves no record".into(),
            "disabled",
        )
        .severity = if restricted.is_empty() {
            Severity::Medium
        } else {
            Severity::High
        };
        return;
    }
    if a.enabled.is_none() {
        out.add(
            Rule::AuditDisabled,
            &a.at,
            "audit does not say `enabled: true`; engines differ on the default".into(),
            "unset",
        )
        .severity = Severity::Low;
    }
    let access_events = a.events.iter().any(|e| has(&params.access_events, &e.value))
        || a.log_all_access.as_ref().is_some_and(|x| x.value);
    for c in restricted {
        if !c.audit_all_access && !access_events {
            out.add(
                Rule::AuditGapRestricted,
                &c.at,
                format!(
                    "reads of restricted collection `{}` are not audited: it lacks `audit_all_access: true` and audit.events records no data access ({})",
                    c.name,
                    a.events.iter().map(|e| e.value.as_str()).collect::<Vec<_>>().join(", ")
                ),
                &c.name,
            );
        }
    }
    match &a.retention_days {
        Some(r) if r.value < min_retention => {
            out.add(
                Rule::AuditRetentionShort,
                &r.at,
                format!(
                    "audit records are kept {} days, less than the required {min_retention}",
                    r.value
                ),
                "retention",
            );
        }
        None => {
            out.add(
                Rule::AuditRetentionShort,
                &a.at,
                format!("audit states no retention_days; at least {min_retention} are required"),
                "retention",
            )
            .severity = Severity::Low;
        }
        _ => {}
    }
    for al in &a.alerts {
        match condition::parse(&al.condition.value) {
            Err(why) => {
                out.add(
                    Rule::AlertConditionUnreadable,
                    &al.condition.at,
                    format!(
                        "alert `{}`: condition `{}` is outside the grammar llmguard reads ({why}); it was not checked",
                        al.name, al.condition.value
                    ),
                    &al.name,
                );
            }
            Ok(expr) => {
                if let Some(why) = never_fires(&expr, p) {
                    out.add(
                        Rule::AlertNeverFires,
                        &al.condition.at,
                        format!("alert `{}` can never fire: {why}", al.name),
                        &al.name,
                    );
                }
            }
        }
    }
}

/// Why an alert condition can never be true given the roles' own rate limits.
fn never_fires(e: &condition::Expr, p: &Policy) -> Option<String> {
    use condition::{Expr, Op, Val};
    match e {
        Expr::And(v) => v.iter().find_map(|x| never_fires(x, p)),
        Expr::Or(v) => {
            let why: Vec<String> = v.iter().map(|x| never_fires(x, p)).collect::<Option<_>>()?;
            Some(why.join("; and "))
        }
        Expr::In { .. } => None,
        Expr::Cmp {
            metric,
            op,
            value,
            window,
        } => {
            let Val::Num(t) = value else { return None };
            let m = metric.to_ascii_lowercase();
            let per_minute = matches!(m.as_str(), "requests_per_minute" | "rpm" | "request_rate")
                || (matches!(m.as_str(), "requests" | "request_count") && *window == Some(60));
            let vectors = matches!(m.as_str(), "vectors_per_request" | "result_size" | "top_k");
            if !per_minute && !vectors {
                return None;
            }
            // The highest value any role can reach; unlimited roles make it fire-able.
            let mut max = 0u64;
            for r in &p.roles {
                let l = r.limits.as_ref().or(p.default_limits.as_ref())?;
                let v = if per_minute {
                    l.value.requests_per_minute
                } else {
                    l.value.vectors_per_request
                }?;
                max = max.max(v);
            }
            if p.roles.is_empty() {
                return None;
            }
            let never = match op {
                Op::Gt => *t >= max as f64,
                Op::Ge | Op::Eq => *t > max as f64,
                _ => false,
            };
            never.then(|| format!("`{metric}` cannot exceed {max}, the highest rate limit of any role, so `{metric} {} {t}` is never true", match op { Op::Gt => ">", Op::Ge => ">=", _ => "==" }))
        }
    }
}

/// Always-true, invalid and inverted conditions.
fn conditions(out: &mut Out, p: &Policy, params: &PolicyParams) {
    let mut all: Vec<(&str, &Conditions)> = Vec::new();
    for r in &p.roles {
        all.push((r.name.as_str(), &r.conditions));
        for perm in &r.permissions {
            if let Some(c) = &perm.conditions {
                all.push((r.name.as_str(), c));
            }
        }
    }
    for (role, c) in &all {
        for ip in &c.ip_whitelist {
            match cidr_prefix(&ip.value) {
                Ok(0) => {
                    out.add(
                        Rule::ConditionAlwaysTrue,
                        &ip.at,
                        format!(
                            "role `{role}`: ip_whitelist `{}` admits every address; the condition restricts nothing",
                            ip.value
                        ),
                        &ip.value,
                    );
                }
                Ok(_) => {}
                Err(why) => {
                    out.add(
                        Rule::ConditionInvalid,
                        &ip.at,
                        format!("role `{role}`: ip_whitelist entry {why}"),
                        &ip.value,
                    );
                }
            }
        }
        let mut windows = Vec::new();
        for h in &c.allowed_hours {
            match time::window(&h.value) {
                Ok(w) => windows.push(w),
                Err(why) => {
                    out.add(
                        Rule::ConditionInvalid,
                        &h.at,
                        format!("role `{role}`: allowed_hours {why}"),
                        &format!("hours:{}", h.value),
                    );
                }
            }
        }
        if !windows.is_empty() && time::covered(&windows) >= 1439 {
            if let Some(h) = c.allowed_hours.first() {
                let shown: Vec<&str> = c.allowed_hours.iter().map(|h| h.value.as_str()).collect();
                out.add(
                    Rule::ConditionAlwaysTrue,
                    &h.at,
                    format!(
                        "role `{role}`: allowed_hours `{}` cover the whole day; the condition restricts nothing",
                        shown.join("`, `")
                    ),
                    "hours",
                );
            }
        }
        for d in &c.allowed_days {
            if days(&d.value).is_none() {
                out.add(
                    Rule::ConditionInvalid,
                    &d.at,
                    format!("role `{role}`: `{}` is not a day of the week", d.value),
                    &d.value,
                );
            }
        }
        if let Some(e) = &c.expires_at {
            match time::date(&e.value) {
                Ok((y, _)) if y >= params.never_expires_year => {
                    out.add(
                        Rule::ConditionAlwaysTrue,
                        &e.at,
                        format!(
                            "role `{role}`: expires_at `{}` never comes; the grant is permanent in all but name",
                            e.value
                        ),
                        "expires",
                    );
                }
                Ok(_) => {}
                Err(why) => {
                    out.add(
                        Rule::ConditionInvalid,
                        &e.at,
                        format!("role `{role}`: expires_at {why}"),
                        "expires",
                    );
                }
            }
        }
    }
    // A permission's window that never meets its role's window: the grant can never be used.
    for r in &p.roles {
        let role_windows = parsed_windows(&r.conditions);
        if role_windows.is_empty() {
            continue;
        }
        for (i, perm) in r.permissions.iter().enumerate() {
            let Some(c) = &perm.conditions else { continue };
            let pw = parsed_windows(c);
            if let (false, Some(h)) = (
                pw.is_empty() || time::intersect(&role_windows, &pw),
                c.allowed_hours.first(),
            ) {
                out.add(
                    Rule::ConditionInvalid,
                    &h.at,
                    format!(
                        "role `{}`: the permission on `{}` is allowed only at {}, which never meets the role's allowed_hours ({}): the two conditions contradict each other and the grant can never be used",
                        r.name,
                        perm.resource.value,
                        c.allowed_hours.iter().map(|x| x.value.as_str()).collect::<Vec<_>>().join(", "),
                        r.conditions.allowed_hours.iter().map(|x| x.value.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    &format!("{}#{i}:hours", r.name),
                );
            }
        }
    }
    // Role windows, for inverted deny rules.
    let windows: Vec<(String, Vec<time::Window>)> = p
        .roles
        .iter()
        .map(|r| (r.name.clone(), parsed_windows(&r.conditions)))
        .filter(|(_, w)| !w.is_empty())
        .collect();
    for d in &p.dynamic {
        for c in &d.allowed_countries {
            if d.denied_countries
                .iter()
                .any(|x| x.value.eq_ignore_ascii_case(&c.value))
            {
                out.add(
                    Rule::ConditionInvalid,
                    &c.at,
                    format!(
                        "dynamic policy `{}` both allows and denies country `{}`: the conditions contradict each other, and which wins depends on the engine",
                        d.name, c.value
                    ),
                    &format!("contradiction:{}", c.value),
                );
            }
        }
    }
    for d in &p.dynamic {
        for c in d.allowed_countries.iter().chain(d.denied_countries.iter()) {
            if !params.countries.iter().any(|x| x == &c.value) {
                out.add(
                    Rule::ConditionInvalid,
                    &c.at,
                    format!(
                        "dynamic policy `{}`: `{}` is not an ISO 3166-1 alpha-2 country code",
                        d.name, c.value
                    ),
                    &c.value,
                );
            }
        }
        for dd in &d.days {
            if days(&dd.value).is_none() {
                out.add(
                    Rule::ConditionInvalid,
                    &dd.at,
                    format!("dynamic policy `{}`: `{}` is not a day of the week", d.name, dd.value),
                    &dd.value,
                );
            }
        }
        if d.action.value == RuleAction::Deny && !d.allowed_countries.is_empty() {
            out.add(
                Rule::DynamicRuleInverted,
                &d.action.at,
                format!(
                    "dynamic policy `{}` denies access from its `allowed_countries`: it blocks the countries it means to allow and lets every other country through",
                    d.name
                ),
                "countries",
            );
        }
        if let Some(t) = &d.time_of_day {
            match time::window(&t.value) {
                Err(why) => {
                    out.add(
                        Rule::ConditionInvalid,
                        &t.at,
                        format!("dynamic policy `{}`: time_of_day {why}", d.name),
                        "time",
                    );
                }
                Ok(w) if w.whole_day() => {
                    out.add(
                        Rule::ConditionAlwaysTrue,
                        &t.at,
                        format!(
                            "dynamic policy `{}`: time_of_day `{}` is the whole day; the condition is always true",
                            d.name, t.value
                        ),
                        "time",
                    );
                }
                Ok(w) if d.action.value == RuleAction::Deny => {
                    let affected = windows
                        .iter()
                        .filter(|(r, _)| d.roles.is_empty() || d.roles.iter().any(|x| &x.value == r));
                    let mut exact = false;
                    for (r, rw) in affected {
                        if time::coverage(rw) == time::coverage(&[w]) {
                            exact = true;
                            out.add(
                                Rule::DynamicRuleInverted,
                                &t.at,
                                format!(
                                    "dynamic policy `{}` denies during {}, which is exactly role `{r}`'s allowed_hours: the two together deny the role at all times; a deny rule names the hours outside the allowed window",
                                    d.name, t.value
                                ),
                                &format!("time:{r}"),
                            );
                        }
                    }
                    if !exact && denies_what_it_allows(d, w, params) {
                        out.add(
                            Rule::DynamicRuleInverted,
                            &t.at,
                            format!(
                                "dynamic policy `{}` says it allows access only in a window (its name or description), yet its action is `deny` during {}, which holds the working day: it blocks business hours and lets every other hour through; deny the hours outside the window (or write the rule as `allow`)",
                                d.name, t.value
                            ),
                            "time:intent",
                        );
                    }
                }
                Ok(_) => {}
            }
        }
        if d.action.value == RuleAction::RequireApproval && d.approvers.is_empty() {
            out.add(
                Rule::ConditionInvalid,
                &d.action.at,
                format!(
                    "dynamic policy `{}` requires approval but names no `approval_required_from`",
                    d.name
                ),
                "approvers",
            );
        }
    }
}

/// Whether a `deny` rule over `w` is the window its author means to allow: its name or
/// description says it allows (and nothing says it denies or freezes), and `w` holds the core of
/// the working day (`business_core_hours`) on a working day (or on every day).
fn denies_what_it_allows(d: &DynamicRule, w: time::Window, params: &PolicyParams) -> bool {
    let text = format!("{} {}", d.name, d.description.as_deref().unwrap_or(""));
    if !has_word(&params.allow_only_words, &text) || has_word(&params.deny_intent_words, &text) {
        return false;
    }
    let Ok(core) = time::window(&params.business_core_hours) else {
        return false;
    };
    let (held, core) = (time::coverage(&[w]), time::coverage(&[core]));
    let holds_core = core.iter().zip(&held).all(|(c, h)| !*c || *h);
    let working_day = d.days.is_empty() || d.days.iter().filter_map(|x| days(&x.value)).flatten().any(|x| x < 5);
    holds_core && working_day
}

/// The windows of `allowed_hours` that parse (the others are reported on their own).
fn parsed_windows(c: &Conditions) -> Vec<time::Window> {
    c.allowed_hours
        .iter()
        .filter_map(|h| time::window(&h.value).ok())
        .collect()
}

/// The days a `days_of_week`/`allowed_days` entry names: one day (`Monday`, `mon`), a range
/// (`Mon-Fri`, `monday to friday`, wrapping past Sunday), or `weekdays`, `weekends`, `daily`.
fn days(s: &str) -> Option<Vec<u8>> {
    let l = s.trim().to_ascii_lowercase();
    match l.as_str() {
        "weekdays" | "weekday" | "workdays" | "business_days" | "business days" => return Some((0..5).collect()),
        "weekends" | "weekend" => return Some(vec![5, 6]),
        "daily" | "everyday" | "every day" | "all" | "*" => return Some((0..7).collect()),
        _ => {}
    }
    if let Some(d) = day(&l) {
        return Some(vec![d]);
    }
    let (a, b) = l.split_once('-').or_else(|| l.split_once(" to "))?;
    let (a, b) = (day(a)?, day(b)?);
    let mut out = vec![a];
    let mut d = a;
    while d != b {
        d = (d + 1) % 7;
        out.push(d);
    }
    Some(out)
}

fn day(s: &str) -> Option<u8> {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let l = s.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| l == *d || (l.len() == 3 && d.starts_with(&l)))
        .and_then(|i| u8::try_from(i).ok())
}

/// The prefix length of a CIDR block (a bare address is a /32 or /128).
fn cidr_prefix(s: &str) -> Result<u8, String> {
    let (addr, len) = match s.trim().split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s.trim(), None),
    };
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| format!("`{s}` is not an IP address or CIDR block"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    match len {
        None => Ok(max),
        Some(l) => {
            let n: u8 = l.parse().map_err(|_| format!("`{s}` has a bad prefix length"))?;
            if n > max {
                Err(format!("`{s}` has a prefix longer than {max} bits"))
            } else {
                Ok(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_parsers() {
        assert_eq!(cidr_prefix("0.0.0.0/0"), Ok(0));
        assert_eq!(cidr_prefix("::/0"), Ok(0));
        assert_eq!(cidr_prefix("10.0.0.1"), Ok(32));
        assert!(cidr_prefix("10.0.0.0/33").is_err());
        assert!(cidr_prefix("10.0.0/8").is_err());
        assert_eq!(tls("TLSv1.3"), Some((1, 3)));
        assert_eq!(tls("1.0"), Some((1, 0)));
        assert_eq!(tls("tls_1_1"), Some((1, 1)));
        assert_eq!(day("Monday"), Some(0));
        assert_eq!(day("sat"), Some(5));
        assert_eq!(day("Funday"), None);
        assert_eq!(days("Mon-Fri"), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(days("friday to monday"), Some(vec![4, 5, 6, 0]));
        assert_eq!(days("weekends"), Some(vec![5, 6]));
        assert_eq!(days("Mon-Funday"), None);
        assert!(covers("vectors/*", "vectors/public/*"));
        assert!(!covers("vectors/public/*", "vectors/*"));
    }

    fn scanner<'a>(params: &'a PolicyParams, secrets: &'a SecretDetector) -> PolicyScanner<'a> {
        PolicyScanner::new(
            params,
            secrets,
            PolicySettings {
                min_retention_days: 365,
                min_tls: "1.2".into(),
                today: 20_454,
                classes: Vec::new(),
                max_bytes: 16 << 20,
            },
        )
    }

    /// Every ClusterRole aggregating every other (a dense inheritance graph) is checked in
    /// bounded time: one cycle finding for the whole strongly connected set.
    #[test]
    fn dense_aggregation_is_one_cycle_and_fast() {
        let params = PolicyParams::builtin().unwrap();
        let secrets = SecretDetector::builtin().unwrap();
        let mut text = String::new();
        for i in 0..300 {
            text.push_str(&format!(
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: r{i}, labels: {{all: 'yes'}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{all: 'yes'}}}}]}}\nrules: [{{apiGroups: [''], resources: [configmaps], verbs: [get]}}]\n"
            ));
        }
        let started = std::time::Instant::now();
        let (_, findings) = scanner(&params, &secrets).scan_text("dense.yaml", &text);
        let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
        assert_eq!(
            rules.iter().filter(|r| **r == Rule::InheritanceCycle).count(),
            1,
            "{rules:?}"
        );
        assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    }

    #[test]
    fn a_policy_too_large_to_check_is_a_limit_finding() {
        let params = PolicyParams::builtin().unwrap();
        let secrets = SecretDetector::builtin().unwrap();
        let resources: Vec<String> = (0..1_001).map(|i| format!("r{i}")).collect();
        let text = format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: wide}}\nrules: [{{apiGroups: [x], resources: [{}], verbs: [get]}}]\n",
            resources.join(", ")
        );
        let (format, findings) = scanner(&params, &secrets).scan_text("wide.yaml", &text);
        assert_eq!(format, Some(Format::Kubernetes));
        assert_eq!(
            findings.iter().map(|f| f.rule).collect::<Vec<_>>(),
            [Rule::ResourceLimit]
        );
    }

    /// A small native policy with `extra` appended at the top level; its findings' rules.
    fn rules_of(extra: &str) -> Vec<Rule> {
        let params = PolicyParams::builtin().unwrap();
        let secrets = SecretDetector::builtin().unwrap();
        let text = format!(
            "apiVersion: v1\nkind: Policy\ndefault_decision: deny\nroles:\n  - name: reader\n    permissions:\n      - resource: vectors/docs/*\n        actions: [read]\n    conditions: {{mfa_required: true, pii_filtering: true}}\ndata_classification:\n  collections:\n    - {{name: docs, sensitivity: internal, accessible_by: [reader, partner-api]}}\n    - {{name: hr, sensitivity: restricted, accessible_by: [reader]}}\n{extra}"
        );
        let (format, findings) = scanner(&params, &secrets).scan_text("p.yaml", &text);
        assert_eq!(format, Some(Format::Native));
        findings.iter().map(|f| f.rule).collect()
    }

    const AUDIT: &str = "audit:\n  enabled: true\n  retention_days: 400\n";

    /// POL044 reads the access-event vocabulary in either word order, and `log_all_access`.
    #[test]
    fn audit_events_in_either_word_order_cover_restricted_data() {
        for events in [
            "[read_vector]",
            "[vector_read]",
            "[query_vectors]",
            "[search_vector]",
            "[retrieve_vectors]",
        ] {
            let r = rules_of(&format!("{AUDIT}  events: {events}\n"));
            assert!(!r.contains(&Rule::AuditGapRestricted), "{events}: {r:?}");
        }
        let r = rules_of(&format!("{AUDIT}  events: [create_vector, policy_changes]\n"));
        assert!(r.contains(&Rule::AuditGapRestricted), "{r:?}");
        let r = rules_of(&format!("{AUDIT}  log_all_access: true\n  events: [create_vector]\n"));
        assert!(!r.contains(&Rule::AuditGapRestricted), "{r:?}");
    }

    /// POL063: a deny over the working day that says it allows only that window is inverted;
    /// a deny of the night, or a freeze described as a deny, is not.
    #[test]
    fn a_deny_over_the_hours_it_says_it_allows_is_inverted() {
        let rule = |name: &str, desc: &str, window: &str, days: &str| {
            rules_of(&format!(
                "{AUDIT}  events: [read]\ndynamic_policies:\n  - name: {name}\n    description: \"{desc}\"\n    applies_to:\n      - collections: [hr]\n    conditions: {{time_of_day: \"{window}\"{days}}}\n    action: deny\n"
            ))
            .contains(&Rule::DynamicRuleInverted)
        };
        let weekdays = ", days_of_week: [Monday, Tuesday, Wednesday, Thursday, Friday]";
        assert!(rule(
            "business-hours-only",
            "Solo permitir acceso en horario laboral",
            "08:00-18:00",
            weekdays
        ));
        assert!(rule(
            "hr-window",
            "Only allow HR data during office hours",
            "09:00-17:00",
            ""
        ));
        assert!(!rule(
            "after-hours",
            "Deny HR data after hours",
            "18:00-08:00",
            weekdays
        ));
        assert!(
            !rule("night-only", "Only allow at night", "22:00-06:00", ""),
            "does not hold the working day"
        );
        assert!(!rule(
            "change-freeze",
            "Block writes during business hours",
            "08:00-18:00",
            weekdays
        ));
        assert!(!rule(
            "weekend-only",
            "Only allow on weekends",
            "08:00-18:00",
            ", days_of_week: [Saturday, Sunday]"
        ));
        assert!(
            !rule("hr-window", "Only allow HR data during office hours", "00:00-24:00", ""),
            "whole day: POL061"
        );
    }

    /// POL023: partner, vendor, external… in the subject's or the role's name make a subject
    /// external; an internal subject with an API key is not reported.
    #[test]
    fn partner_names_are_external_subjects() {
        let rule = |subject: &str, role: &str| {
            let params = PolicyParams::builtin().unwrap();
            let secrets = SecretDetector::builtin().unwrap();
            let text = format!(
                "apiVersion: v1\nkind: Policy\ndefault_decision: deny\nroles:\n  - name: {role}\n    permissions: [{{resource: vectors/docs/*, actions: [read]}}]\n    conditions: {{authentication_method: api-key}}\n    rate_limits: {{requests_per_minute: 60, vectors_per_request: 10}}\nrole_bindings:\n  - subjects: [{{kind: APIKey, name: {subject}}}]\n    role_ref: {role}\n"
            );
            let (_, findings) = scanner(&params, &secrets).scan_text("p.yaml", &text);
            findings.iter().any(|f| f.rule == Rule::ExternalApiKeyOnly)
        };
        assert!(rule("partner-acme-corp", "docs-reader"));
        assert!(rule("acme", "external-partner"));
        assert!(rule("northwind_vendor", "docs-reader"));
        assert!(rule("acme", "third-party-access"));
        assert!(!rule("reporting-job", "docs-reader"));
        assert!(!rule("partnership-bot", "docs-reader"), "whole words only");
    }

    /// The reference-architecture habits are read without POL001/POL002: `applies_to` as a
    /// list of mappings (joined), switches written as mappings, and their subfields.
    #[test]
    fn reference_shape_switches_and_applies_to_lists() {
        let params = PolicyParams::builtin().unwrap();
        let text = "apiVersion: v1\nkind: Policy\nroles: [{name: r, permissions: [{resource: vectors/*, actions: [read]}]}]\ndata_classification:\n  collections: [{name: a, sensitivity: public}, {name: b, sensitivity: restricted}]\ndynamic_policies:\n  - name: d\n    applies_to:\n      - collections: [b]\n      - actions: [read, list]\n    conditions: {vectors_count: '> 10'}\n    action: require_approval\n    approval_required_from: [r]\npii_protection:\n  enabled: false\n  auto_detection: {enabled: true, pii_types: [email]}\n  on_detection: {action: mask}\nai_gateway_integration:\n  user_context_propagation: {enabled: false, headers: [X-User]}\n  result_filtering: {strategy: per-user}\naudit: {enabled: true, log_all_access: true, destinations: [{type: cloudwatch, aws_region: us-east-1, log_group: /x}]}\nencryption: {at_rest: {enabled: true, key_management: aws-kms}, in_transit: {tls_version: '1.3', certificate_authority: ca}}\n";
        let parsed = crate::policy::parse(text, &params, &[], Default::default());
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        let p = &parsed.policies[0];
        let d = &p.dynamic[0];
        assert_eq!(
            d.collections.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(d.actions, [Act::Read, Act::List]);
        assert!(d.conditional());
        let pii = p.pii.as_ref().unwrap();
        assert_eq!(pii.auto_detection.as_ref().map(|x| x.value), Some(true));
        assert_eq!(pii.enabled.as_ref().map(|x| x.value), Some(false));
        let g = p.gateway.as_ref().unwrap();
        assert_eq!(g.user_context_propagation.as_ref().map(|x| x.value), Some(false));
        assert_eq!(
            g.result_filtering.as_ref().map(|x| x.value),
            Some(true),
            "a mapping without `enabled` is on"
        );
        assert_eq!(
            p.audit
                .as_ref()
                .and_then(|a| a.log_all_access.as_ref())
                .map(|x| x.value),
            Some(true)
        );
        // `enabled: false` turns PII auto-detection off: the read of `b` is unfiltered.
        let secrets = SecretDetector::builtin().unwrap();
        let (_, findings) = scanner(&params, &secrets).scan_text("p.yaml", text);
        assert!(findings.iter().any(|f| f.rule == Rule::PiiFilteringMissing));
        let on = text.replace("enabled: false\n  auto", "enabled: true\n  auto");
        let (_, findings) = scanner(&params, &secrets).scan_text("p.yaml", &on);
        assert!(!findings.iter().any(|f| f.rule == Rule::PiiFilteringMissing));
    }

    /// `allowed_hours` as `{start, end}` (alone or in a list) is the same window as its text.
    #[test]
    fn allowed_hours_as_start_and_end() {
        let params = PolicyParams::builtin().unwrap();
        let policy = |hours: &str| {
            let text = format!("apiVersion: v1\nkind: Policy\nroles:\n  - name: r\n    permissions: [{{resource: vectors/a/*, actions: [read]}}]\n    conditions:\n      time_based_access:\n        allowed_hours: {hours}\n");
            crate::policy::parse(&text, &params, &[], Default::default())
        };
        for (hours, want) in [
            ("{start: '08:00', end: '18:00'}", vec!["08:00-18:00"]),
            (
                "[{start: '08:00', end: '12:00'}, '13:00-17:00']",
                vec!["08:00-12:00", "13:00-17:00"],
            ),
            ("'09:00-17:00'", vec!["09:00-17:00"]),
        ] {
            let p = policy(hours);
            assert!(p.problems.is_empty(), "{hours}: {:?}", p.problems);
            let got: Vec<&str> = p.policies[0].roles[0]
                .conditions
                .allowed_hours
                .iter()
                .map(|h| h.value.as_str())
                .collect();
            assert_eq!(got, want, "{hours}");
        }
        let p = policy("{start: '08:00'}");
        assert_eq!(
            p.problems.iter().map(|x| x.rule).collect::<Vec<_>>(),
            [Rule::PolicyInvalid]
        );
        // The window is checked like its text: 00:00-24:00 is always true (POL061).
        let secrets = SecretDetector::builtin().unwrap();
        let text = "apiVersion: v1\nkind: Policy\nroles:\n  - name: r\n    permissions: [{resource: vectors/a/*, actions: [read]}]\n    conditions:\n      time_based_access:\n        allowed_hours: {start: '00:00', end: '24:00'}\n";
        let (_, findings) = scanner(&params, &secrets).scan_text("p.yaml", text);
        assert!(
            findings.iter().any(|f| f.rule == Rule::ConditionAlwaysTrue),
            "{findings:?}"
        );
    }

    /// A named file that is not a policy is noted at info; one that looks like a policy of no
    /// format llmguard reads stays at medium.
    #[test]
    fn not_a_policy_is_info_unless_it_looks_like_one() {
        let params = PolicyParams::builtin().unwrap();
        let secrets = SecretDetector::builtin().unwrap();
        let s = scanner(&params, &secrets);
        for (text, severity) in [
            (
                "on: [push]\npermissions:\n  contents: read\njobs: {build: {runs-on: ubuntu-latest}}\n",
                Severity::Info,
            ),
            ("{\"name\": \"pkg\", \"version\": \"1.0.0\"}\n", Severity::Info),
            ("services: [\n", Severity::Info),
            ("kind: Polcy\nroles: [{name: r}]\n", Severity::Medium),
            (
                "apiVersion: example.com/v1\nkind: VectorRole\nrules: []\n",
                Severity::Medium,
            ),
            (
                "sg_reader:\n  readonly: true\n  cluster: [CLUSTER_MONITOR]\n  indices: {'*': {'*': [READ]}}\n",
                Severity::Medium,
            ),
        ] {
            let (format, findings) = s.scan_text("f.yaml", text);
            assert_eq!(format, None, "{text}");
            assert_eq!(
                findings.iter().map(|f| (f.rule, f.severity)).collect::<Vec<_>>(),
                [(Rule::NotAPolicy, severity)],
                "{text}"
            );
        }
    }

    /// An unrendered Helm template is not a policy (skipped in directory walks), a broken
    /// policy is still an invalid policy.
    #[test]
    fn templates_and_broken_policies() {
        let params = PolicyParams::builtin().unwrap();
        let secrets = SecretDetector::builtin().unwrap();
        let s = scanner(&params, &secrets);
        let (format, findings) = s.scan_text("t.yaml", "{{- if .Values.rbac }}\nkind: ClusterRole\n{{- end }}\n");
        assert_eq!(format, None);
        assert!(findings[0].message.contains("Helm"), "{}", findings[0].message);
        let (format, findings) = s.scan_text("c.yaml", "services: [\n");
        assert_eq!((format, findings[0].rule), (None, Rule::NotAPolicy));
        let (format, findings) = s.scan_text("p.yaml", "kind: Policy\nroles: [\n");
        assert_eq!((format, findings[0].rule), (Some(Format::Native), Rule::PolicyInvalid));
    }
}
