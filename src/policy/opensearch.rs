//! OpenSearch Security `roles.yml` (`_meta.type: roles`), the role file of OpenSearch clusters
//! used for vector search (k-NN indices).
//!
//! Understood: each role's `cluster_permissions` (security-administration permissions are
//! privilege escalation), `index_permissions[].index_patterns`/`allowed_actions` (static action
//! groups and `indices:*` permissions), `fls`/`masked_fields` (count as PII filtering) and `dls`
//! (a `${user.name}`/`${attr…}` substitution binds rows to the caller). Ignored:
//! `tenant_permissions`, `reserved`, `hidden`, `static`, `description`; role mappings live in
//! `roles_mapping.yml`, which is not read. Classification comes from `llmguard.toml`
//! `[policy.classification]` index-name globs.

use super::model::*;
use super::params::{has, verb_table, PolicyParams};
use super::yaml::Node;
use super::{at, glob_match, join, ConfigClass, Parsed, Walk};
use crate::rules::Rule;

/// Whether a document is an OpenSearch Security roles file.
pub fn is_roles(doc: &Node) -> bool {
    doc.get("_meta")
        .and_then(|m| m.get("type"))
        .and_then(Node::as_str)
        .is_some_and(|t| t == "roles")
}

pub fn parse(docs: &[Node], params: &PolicyParams, classes: &[ConfigClass]) -> Parsed {
    let mut w = Walk {
        problems: Vec::new(),
        params,
    };
    let mut policies = Vec::new();
    for doc in docs.iter().filter(|d| is_roles(d)) {
        let mut p = Policy::empty(
            Format::Opensearch,
            at(doc, ""),
            Expresses {
                default_decision: false,
                audit: false,
                rate_limits: false,
                classification_in_file: false,
                pii_filtering: true,
                auth_conditions: false,
            },
        );
        for c in classes {
            p.collections.push(Collection {
                name: c.pattern.clone(),
                at: At::default(),
                sensitivity: c.sensitivity,
                accessible_by: None,
                encryption_required: false,
                pii_present: false,
                audit_all_access: false,
                aliases: Vec::new(),
            });
        }
        for (name, node, path) in w.entries(doc, "", None, "roles.yml") {
            if name == "_meta" {
                continue;
            }
            p.roles.push(role(&mut w, name, node, &path));
        }
        policies.push(p);
    }
    Parsed {
        policies,
        problems: w.problems,
        format: Some(Format::Opensearch),
    }
}

fn role(w: &mut Walk, name: &str, node: &Node, path: &str) -> Role {
    let params = w.params;
    let os = &params.opensearch;
    let mut r = Role {
        name: name.to_string(),
        at: at(node, path),
        inherits: Vec::new(),
        permissions: Vec::new(),
        conditions: Conditions::default(),
        limits: None,
        excludes: Vec::new(),
        service: false,
    };
    if let Some(cp) = node.get("cluster_permissions") {
        let cpath = join(path, "cluster_permissions");
        for perm in w.strings(cp, &cpath) {
            if has(&os.escalation_cluster_permissions, &perm.value) {
                r.permissions.push(Permission {
                    at: perm.at.clone(),
                    resource: perm.clone(),
                    scope: Scope::Management {
                        kind: "security".into(),
                    },
                    acts: vec![Act::Admin],
                    wildcard_actions: false,
                    management: vec![perm.clone()],
                    conditions: None,
                });
            }
        }
    }
    let Some(ip) = node.get("index_permissions") else {
        return r;
    };
    for (entry, ep) in w.list(ip, &join(path, "index_permissions")) {
        let patterns = entry
            .get("index_patterns")
            .map(|v| w.strings(v, &join(&ep, "index_patterns")))
            .unwrap_or_default();
        let words = entry
            .get("allowed_actions")
            .map(|v| w.strings(v, &join(&ep, "allowed_actions")))
            .unwrap_or_default();
        let masked = ["fls", "masked_fields"]
            .iter()
            .any(|k| entry.get(k).and_then(Node::as_seq).is_some_and(|s| !s.is_empty()));
        let dls = entry.get("dls").and_then(Node::as_str).unwrap_or("");
        let (acts, wildcard) = actions(w, &words);
        let conditions = masked.then(|| Conditions {
            at: Some(at(entry, &ep)),
            pii_filtering: Some(Sp {
                value: true,
                at: at(entry, &ep),
            }),
            ..Conditions::default()
        });
        for p in patterns {
            let security = os
                .security_indices
                .iter()
                .any(|s| glob_match(&p.value, s) || glob_match(s, &p.value));
            let scope = if p.value == "*" && acts.iter().any(|a| a.writes()) {
                Scope::Everything
            } else if security && p.value != "*" {
                Scope::Management { kind: p.value.clone() }
            } else {
                let rest = if dls.contains("${user") || dls.contains("${attr") {
                    "{user_id}".to_string()
                } else {
                    String::new()
                };
                Scope::Data {
                    kind: "index".into(),
                    collection: p.value.clone(),
                    rest,
                }
            };
            r.permissions.push(Permission {
                at: at(entry, &ep),
                resource: p,
                scope,
                acts: acts.clone(),
                wildcard_actions: wildcard,
                management: Vec::new(),
                conditions: conditions.clone(),
            });
        }
    }
    r
}

fn actions(w: &mut Walk, words: &[Sp<String>]) -> (Vec<Act>, bool) {
    let os = &w.params.opensearch;
    let table = verb_table(&os.action_groups);
    let mut acts = Vec::new();
    let mut wildcard = false;
    for word in words {
        let v = word.value.as_str();
        if has(&os.all, v) {
            wildcard = true;
            acts.extend(Act::ALL);
            continue;
        }
        if has(&os.crud, v) {
            acts.extend([Act::Read, Act::Create, Act::Update, Act::Delete]);
            continue;
        }
        let mut found = false;
        for (act, list) in &table {
            if list.iter().any(|x| x == v || (x.ends_with('*') && glob_match(x, v))) {
                acts.push(*act);
                found = true;
            }
        }
        if !found {
            // Raw permissions by family.
            let fam = [
                ("indices:data/read", Act::Read),
                ("indices:data/write", Act::Update),
                ("indices:monitor", Act::List),
                ("indices:admin", Act::Admin),
            ];
            match fam.iter().find(|(p, _)| v.starts_with(p)) {
                Some((_, a)) => {
                    acts.push(*a);
                    if v.contains('*') {
                        wildcard = true;
                    }
                }
                None => w.problem(
                    Rule::PolicyUndefinedReference,
                    word.at.clone(),
                    format!("`{v}` is not an OpenSearch action group or index permission llmguard knows"),
                    &format!("action:{v}"),
                ),
            }
        }
    }
    acts.sort();
    acts.dedup();
    (acts, wildcard)
}
