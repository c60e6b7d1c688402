//! `lint-policy` per file: read (bounded), detect the format, parse into the model, compute the
//! effective-access matrix once, and run every check over the model and the matrix. Checks are
//! small functions; what they compare against (strong authentication methods, minimum TLS and
//! retention, rate-limit defaults…) is data in `rules/policy/policy.yaml`.

use super::FileOutcome;
use crate::finding::{Finding, Location, Severity};
use crate::policy::access::{self, Access};
use crate::policy::model::*;
use crate::policy::params::{has, PolicyParams};
use crate::policy::{condition, time, ConfigClass, Problem};
use crate::prompts::secrets::SecretDetector;
use crate::report::{Artifact, Verdict};
use crate::rules::Rule;
use crate::walk::Target;
use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Mutex;

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
}

/// Builds findings for one file.
struct Out<'a> {
    path: &'a str,
    findings: Vec<Finding>,
}

impl Out<'_> {
    fn add(&mut self, rule: Rule, at: &At, message: String, key: &str) -> &mut Finding {
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

impl PolicyScanner<'_> {
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
        let (format, findings) = self.scan_text(path, &text);
        let recognised = format.is_some();
        let verdict = Verdict::from_findings(&findings, recognised, false);
        FileOutcome {
            artifact: artifact(format.map_or("not-a-policy", Format::as_str), verdict),
            findings,
            inline: crate::scan::suppress::inline_ignores(&text, 1),
        }
    }

    /// Lint policy text; `None` format when it is not a policy (then no finding is made here:
    /// the caller reports or skips it).
    pub fn scan_text(&self, path: &str, text: &str) -> (Option<Format>, Vec<Finding>) {
        let limits = crate::policy::yaml::YamlLimits {
            max_bytes: self.settings.max_bytes,
            ..Default::default()
        };
        let parsed = crate::policy::parse(text, self.params, &self.settings.classes, limits);
        let mut out = Out {
            path,
            findings: Vec::new(),
        };
        for p in &parsed.problems {
            problem(&mut out, p);
        }
        let Some(format) = parsed.format else {
            out.add(
                Rule::NotAPolicy,
                &At {
                    line: 1,
                    column: 1,
                    path: String::new(),
                },
                "not an access policy llmguard reads: no `kind: Policy` document with roles, no Kubernetes RBAC object, no OpenSearch roles file (`_meta.type: roles`)".into(),
                "format",
            );
            return (None, out.findings);
        };
        for policy in &parsed.policies {
            let acc = access::compute(policy);
            self.check(&mut out, policy, &acc);
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
        (Some(format), out.findings)
    }

    fn check(&self, out: &mut Out, p: &Policy, acc: &Access) {
        structure(out, p, acc);
        wildcards(out, p, acc);
        shadowed(out, p);
        reopened(out, p, acc);
        weak_auth(out, p, acc, self.params);
        escalation(out, p, acc);
        bindings(out, p, self.params, self.settings.today);
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
fn structure(out: &mut Out, p: &Policy, acc: &Access) {
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
    for u in &acc.unresolved {
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
        if !(role_names.contains(b.role.value.as_str()) || (p.format == Format::Opensearch && p.roles.is_empty())) {
            out.add(
                Rule::BindingUndefinedRole,
                &b.role.at,
                format!(
                    "binding{} refers to role `{}`, which is not defined: the subjects get nothing today, and whoever later creates a role of that name grants it to them",
                    b.name.as_ref().map(|n| format!(" `{n}`")).unwrap_or_default(),
                    b.role.value
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
    for r in &p.roles {
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
            let hit = reached(acc, &r.name, &r.name, i);
            let writes = perm.acts.iter().any(|a| a.writes());
            if writes {
                let worst = hit.iter().map(|h| h.1).max();
                let n = hit.len();
                let everything = matches!(perm.scope, Scope::Everything);
                {
                    let acts: Vec<&str> = perm.acts.iter().filter(|a| a.writes()).map(|a| a.as_str()).collect();
                    out.add(
                        Rule::WildcardWriteGrant,
                        &perm.resource.at,
                        format!(
                            "role `{}` holds {what} (`{}`) that grants {} on {}",
                            r.name,
                            perm.resource.value,
                            acts.join("/"),
                            if everything {
                                "everything, the access-control plane included".to_string()
                            } else {
                                format!("{n} collection(s)")
                            }
                        ),
                        &format!("{}#{i}", r.name),
                    )
                    .severity = match worst {
                        Some(Sensitivity::Restricted) => Severity::Critical,
                        _ if everything => Severity::Critical,
                        _ => Severity::High,
                    };
                    continue;
                }
            }
            let sensitive: Vec<&(String, Sensitivity, BTreeSet<Act>)> =
                hit.iter().filter(|h| h.1 >= Sensitivity::Confidential).collect();
            if let Some(worst) = sensitive.iter().map(|h| h.1).max() {
                let names: Vec<&str> = sensitive.iter().map(|h| h.0.as_str()).collect();
                out.add(
                    Rule::WildcardOnSensitiveData,
                    &perm.resource.at,
                    format!(
                        "role `{}` reaches {} data through {what} (`{}`): {}; name the collections it needs instead",
                        r.name,
                        worst.as_str(),
                        perm.resource.value,
                        names.join(", ")
                    ),
                    &format!("{}#{i}", r.name),
                )
                .severity = sev(worst, [Severity::Low, Severity::Low, Severity::Medium, Severity::High]);
            }
        }
    }
}

/// Whether a permission's resource is a wildcard. In formats whose classification is itself a
/// set of globs (Kubernetes, OpenSearch), a pattern inside one classified pattern (`hr-*` under
/// `hr-*`) is no broader than the classification and does not count.
fn broad(p: &Policy, perm: &Permission) -> bool {
    match &perm.scope {
        Scope::Data { collection, .. } if p.format != Format::Native && is_glob(collection) => !p
            .collections
            .iter()
            .any(|c| crate::policy::glob_match(&c.name, collection)),
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
    for r in &p.roles {
        for (j, pj) in r.permissions.iter().enumerate() {
            for (i, pi) in r.permissions.iter().enumerate() {
                if i == j {
                    continue;
                }
                let same_resource = pi.resource.value == pj.resource.value;
                // pi shadows pj: reaches all of pj's resource with a superset of its actions,
                // under no more conditions. Among equal pairs, the later one is reported.
                let broader = covers(&pi.resource.value, &pj.resource.value) || (same_resource && i < j);
                let acts_cover = pj.acts.iter().all(|a| pi.acts.contains(a))
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
                if ok {
                    continue;
                }
                let Some(v) = vias.first() else { continue };
                let at = perm(p, &v.role, v.perm)
                    .map(|x| x.resource.at.clone())
                    .unwrap_or_else(|| role.at.clone());
                out.add(
                    Rule::WeakAuthOnRestrictedWrite,
                    &at,
                    format!(
                        "role `{}` may {} restricted collection `{cname}` without a strong authentication condition (mfa_required or certificate/mTLS)",
                        ra.role,
                        act.as_str()
                    ),
                    &format!("{}:{cname}:{}", ra.role, act.as_str()),
                )
                .severity = if *act == Act::Admin || *act == Act::Delete { Severity::Critical } else { Severity::High };
            }
        }
    }
}

fn escalation(out: &mut Out, p: &Policy, acc: &Access) {
    for ra in &acc.roles {
        let Some(role) = p.role(&ra.role) else { continue };
        let mut inherited_reported = BTreeSet::new();
        for g in &ra.management {
            if g.via.role == ra.role {
                let at = perm(p, &g.via.role, g.via.perm)
                    .map(|x| x.resource.at.clone())
                    .unwrap_or_else(|| role.at.clone());
                out.add(
                    Rule::PrivilegeEscalation,
                    &at,
                    format!(
                        "role `{}` can manage the access-control plane (`{}` via `{}`): it can grant itself or others any permission",
                        ra.role, g.what, g.via.resource
                    ),
                    &format!("{}#{}", ra.role, g.via.perm),
                );
            } else if inherited_reported.insert(g.via.role.clone()) {
                let at = role
                    .inherits
                    .iter()
                    .find(|i| i.value == g.via.role || access::ancestors(p, &i.value).contains(&g.via.role))
                    .map(|i| i.at.clone())
                    .unwrap_or_else(|| role.at.clone());
                out.add(
                    Rule::PrivilegeEscalation,
                    &at,
                    format!(
                        "role `{}` inherits from `{}` the power to manage the access-control plane (`{}`)",
                        ra.role, g.via.role, g.what
                    ),
                    &format!("{}<{}", ra.role, g.via.role),
                );
            }
        }
    }
}

fn bindings(out: &mut Out, p: &Policy, params: &PolicyParams, today: i64) {
    for b in &p.bindings {
        let role = p.role(&b.role.value);
        if let Some(exp) = role.and_then(|r| r.conditions.expires_at.as_ref()) {
            if let Ok((_, day)) = time::date(&exp.value) {
                if day < today {
                    out.add(
                        Rule::ExpiredGrantBound,
                        &b.role.at,
                        format!(
                            "role `{}` expired on {} (line {}) but is still bound to {} subject(s): remove the binding or the role",
                            b.role.value,
                            exp.value,
                            exp.at.line,
                            b.subjects.len()
                        ),
                        &b.role.value,
                    );
                }
            }
        }
        for s in &b.subjects {
            if !s.external {
                continue;
            }
            let by_key = s.kind == SubjectKind::ApiKey
                || s.authentication
                    .as_deref()
                    .is_some_and(|a| has(&params.key_authentication, a))
                || role.is_some_and(|r| {
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
            if by_key && !strong_subject && !role.is_some_and(|r| strong(&r.conditions, params)) {
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
            x.auto_detection.as_ref().is_some_and(|a| a.value)
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
    for r in &p.roles {
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

fn is_service(p: &Policy, r: &Role, params: &PolicyParams) -> bool {
    r.service
        || p.bindings.iter().any(|b| {
            b.role.value == r.name
                && b.subjects
                    .iter()
                    .any(|s| matches!(s.kind, SubjectKind::ServiceAccount | SubjectKind::ApiKey))
        })
        || r.name
            .to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| has(&params.service_role_words, w))
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
    let access_events = a.events.iter().any(|e| has(&params.access_events, &e.value));
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
        if let Some(h) = &c.allowed_hours {
            match time::window(&h.value) {
                Ok(w) if w.whole_day() => {
                    out.add(
                        Rule::ConditionAlwaysTrue,
                        &h.at,
                        format!(
                            "role `{role}`: allowed_hours `{}` is the whole day; the condition restricts nothing",
                            h.value
                        ),
                        "hours",
                    );
                }
                Ok(_) => {}
                Err(why) => {
                    out.add(
                        Rule::ConditionInvalid,
                        &h.at,
                        format!("role `{role}`: allowed_hours {why}"),
                        "hours",
                    );
                }
            }
        }
        for d in &c.allowed_days {
            if day(&d.value).is_none() {
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
    // Role windows, for inverted deny rules.
    let windows: Vec<(String, time::Window)> = p
        .roles
        .iter()
        .filter_map(|r| {
            let h = r.conditions.allowed_hours.as_ref()?;
            Some((r.name.clone(), time::window(&h.value).ok()?))
        })
        .collect();
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
            if day(&dd.value).is_none() {
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
                    for (r, rw) in affected {
                        if *rw == w {
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
        assert!(covers("vectors/*", "vectors/public/*"));
        assert!(!covers("vectors/public/*", "vectors/*"));
    }
}
