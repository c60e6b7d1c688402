//! Kubernetes RBAC manifests: Role, ClusterRole (with `aggregationRule`), RoleBinding and
//! ClusterRoleBinding, in one or many YAML documents (a `kind: List` of them too).
//!
//! Understood: `metadata.name`/`namespace`/`labels`, `rules[].resources`/`verbs`/
//! `resourceNames`, `aggregationRule.clusterRoleSelectors[].matchLabels`, `roleRef`, `subjects`.
//! Ignored: `apiGroups` (a resource name is judged whatever its group), `nonResourceURLs`,
//! `matchExpressions`, annotations. Kubernetes RBAC is deny-by-default and has no audit, rate
//! limit or classification section, so those checks do not run on it; classification-dependent
//! checks run where `llmguard.toml` `[policy.classification]` maps `NAMESPACE/RESOURCE` globs.

use super::model::*;
use super::params::{has, verb_table, PolicyParams};
use super::yaml::Node;
use super::{at, join, ConfigClass, Parsed, Walk};
use crate::rules::Rule;

/// A ClusterRole waiting for its `aggregationRule` selectors to be resolved: its index, the
/// `matchLabels` of each selector, and where the rule is.
type Aggregation = (usize, Vec<Vec<(String, String)>>, At);

const KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

fn is_rbac_doc(doc: &Node) -> bool {
    let api = doc.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Node::as_str).unwrap_or("");
    api.starts_with("rbac.authorization.k8s.io/") && KINDS.contains(&kind)
}

/// Whether a document is an RBAC object (or a List holding one).
pub fn is_rbac(doc: &Node) -> bool {
    is_rbac_doc(doc)
        || doc
            .get("items")
            .and_then(Node::as_seq)
            .is_some_and(|items| items.iter().any(is_rbac_doc))
}

/// The name a role has in the model: `ClusterRole/NAME` or `Role/NAMESPACE/NAME`.
fn role_key(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match kind {
        "ClusterRole" => format!("ClusterRole/{name}"),
        _ => format!("Role/{}/{name}", namespace.unwrap_or("default")),
    }
}

pub fn parse(docs: &[Node], params: &PolicyParams, classes: &[ConfigClass]) -> Parsed {
    let mut w = Walk {
        problems: Vec::new(),
        params,
    };
    let root = docs.first().map(|d| at(d, "")).unwrap_or_default();
    let mut p = Policy::empty(
        Format::Kubernetes,
        root,
        Expresses {
            default_decision: false,
            audit: false,
            rate_limits: false,
            classification_in_file: false,
            pii_filtering: false,
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
    // (role index, selectors) resolved once every ClusterRole's labels are known.
    let mut aggregations: Vec<Aggregation> = Vec::new();
    let mut labels: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let multi = docs.len() > 1;
    for (i, doc) in docs.iter().enumerate() {
        let base = if multi { format!("/{i}") } else { String::new() };
        let items: Vec<(&Node, String)> = if is_rbac_doc(doc) {
            vec![(doc, base)]
        } else if let Some(items) = doc.get("items").and_then(Node::as_seq) {
            items
                .iter()
                .enumerate()
                .filter(|(_, n)| is_rbac_doc(n))
                .map(|(j, n)| (n, format!("{base}/items/{j}")))
                .collect()
        } else {
            Vec::new()
        };
        for (obj, path) in items {
            object(&mut w, &mut p, obj, &path, &mut aggregations, &mut labels);
        }
    }
    for (ri, selectors, sel_at) in aggregations {
        let mut inherits = Vec::new();
        for sel in &selectors {
            for (name, l) in &labels {
                if !sel.is_empty() && sel.iter().all(|kv| l.contains(kv)) && *name != p.roles[ri].name {
                    inherits.push(Sp {
                        value: name.clone(),
                        at: sel_at.clone(),
                    });
                }
            }
        }
        p.roles[ri].inherits.extend(inherits);
    }
    Parsed {
        policies: vec![p],
        problems: w.problems,
        format: Some(Format::Kubernetes),
    }
}

fn object(
    w: &mut Walk,
    p: &mut Policy,
    obj: &Node,
    path: &str,
    aggregations: &mut Vec<Aggregation>,
    labels: &mut Vec<(String, Vec<(String, String)>)>,
) {
    let kind = obj.get("kind").and_then(Node::as_str).unwrap_or("");
    let meta = obj.get("metadata");
    let mpath = join(path, "metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(|n| w.string(n, &join(&mpath, "name")))
        .map(|s| s.value);
    let Some(name) = name else {
        w.problem(
            Rule::PolicyInvalid,
            at(obj, path),
            format!("{kind} at `{path}` has no metadata.name"),
            path,
        );
        return;
    };
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(|n| w.string(n, &join(&mpath, "namespace")))
        .map(|s| s.value);
    match kind {
        "Role" | "ClusterRole" => {
            let key = role_key(kind, namespace.as_deref(), &name);
            let ns = if kind == "ClusterRole" {
                "*".to_string()
            } else {
                namespace.clone().unwrap_or_else(|| "default".into())
            };
            let mut role = Role {
                name: key.clone(),
                at: at(obj, path),
                inherits: Vec::new(),
                permissions: Vec::new(),
                conditions: Conditions::default(),
                limits: None,
                excludes: Vec::new(),
                service: false,
            };
            if let Some(rules) = obj.get("rules") {
                for (rule, rp) in w.list(rules, &join(path, "rules")) {
                    role.permissions.extend(rule_permissions(w, rule, &rp, &ns));
                }
            }
            if let Some(agg) = obj.get("aggregationRule") {
                let ap = join(path, "aggregationRule");
                let mut selectors = Vec::new();
                if let Some(sel) = agg.get("clusterRoleSelectors") {
                    for (s, sp) in w.list(sel, &join(&ap, "clusterRoleSelectors")) {
                        let mut kv = Vec::new();
                        if let Some(ml) = s.get("matchLabels") {
                            for (k, v, vp) in w.entries(ml, &join(&sp, "matchLabels"), None, "matchLabels") {
                                if let Some(v) = w.string(v, &vp) {
                                    kv.push((k.to_string(), v.value));
                                }
                            }
                        }
                        selectors.push(kv);
                    }
                }
                aggregations.push((p.roles.len(), selectors, at(agg, &ap)));
            }
            if kind == "ClusterRole" {
                let mut l = Vec::new();
                if let Some(lm) = meta.and_then(|m| m.get("labels")) {
                    for (k, v, vp) in w.entries(lm, &join(&mpath, "labels"), None, "labels") {
                        if let Some(v) = w.string(v, &vp) {
                            l.push((k.to_string(), v.value));
                        }
                    }
                }
                labels.push((key, l));
            }
            p.roles.push(role);
        }
        _ => {
            let rr = obj.get("roleRef");
            let rpath = join(path, "roleRef");
            let rkind = rr
                .and_then(|r| r.get("kind"))
                .and_then(Node::as_str)
                .unwrap_or("ClusterRole");
            let rname = rr
                .and_then(|r| r.get("name"))
                .and_then(|n| w.string(n, &join(&rpath, "name")));
            let Some(rname) = rname else {
                w.problem(
                    Rule::PolicyInvalid,
                    at(obj, path),
                    format!("{kind} `{name}` has no roleRef.name"),
                    path,
                );
                return;
            };
            let mut subjects = Vec::new();
            if let Some(subs) = obj.get("subjects") {
                for (s, sp) in w.list(subs, &join(path, "subjects")) {
                    let skind = s.get("kind").and_then(Node::as_str).unwrap_or("");
                    let sname = s.get("name").and_then(Node::as_str).unwrap_or("").to_string();
                    subjects.push(Subject {
                        at: at(s, &sp),
                        kind: match skind {
                            "User" => SubjectKind::User,
                            "Group" => SubjectKind::Group,
                            "ServiceAccount" => SubjectKind::ServiceAccount,
                            _ => SubjectKind::Other,
                        },
                        external: w
                            .params
                            .external_prefixes
                            .iter()
                            .any(|x| sname.to_ascii_lowercase().starts_with(x.as_str())),
                        name: sname,
                        authentication: None,
                    });
                }
            }
            p.bindings.push(Binding {
                at: at(obj, path),
                name: Some(name),
                role: Sp {
                    value: role_key(rkind, namespace.as_deref(), &rname.value),
                    at: rname.at,
                },
                subjects,
            });
        }
    }
}

fn rule_permissions(w: &mut Walk, rule: &Node, path: &str, ns: &str) -> Vec<Permission> {
    let params = w.params;
    let k = &params.kubernetes;
    let verbs = rule
        .get("verbs")
        .map(|v| w.strings(v, &join(path, "verbs")))
        .unwrap_or_default();
    let resources = rule
        .get("resources")
        .map(|v| w.strings(v, &join(path, "resources")))
        .unwrap_or_default();
    let names = rule
        .get("resourceNames")
        .map(|v| w.strings(v, &join(path, "resourceNames")))
        .unwrap_or_default();
    let table = verb_table(&k.verbs);
    let mut acts = Vec::new();
    let mut wildcard = false;
    let mut management = Vec::new();
    for v in &verbs {
        let lv = v.value.to_ascii_lowercase();
        if has(&k.all_verbs, &lv) {
            wildcard = true;
            acts.extend(Act::ALL);
        } else if ["bind", "escalate", "impersonate"].contains(&lv.as_str()) {
            management.push(v.clone());
        } else {
            let mut found = false;
            for (act, list) in &table {
                if has(list, &lv) {
                    acts.push(*act);
                    found = true;
                }
            }
            if !found {
                w.problem(
                    Rule::PolicyUndefinedReference,
                    v.at.clone(),
                    format!("verb `{}` is not a Kubernetes RBAC verb", v.value),
                    &format!("verb:{}", v.value),
                );
            }
        }
    }
    acts.sort();
    acts.dedup();
    let mut out = Vec::new();
    for r in &resources {
        let res = r.value.as_str();
        let base = res.split('/').next().unwrap_or(res);
        let scope = if res == "*" {
            Scope::Everything
        } else if has(&k.management_resources, res) || has(&k.management_resources, base) {
            Scope::Management { kind: res.to_string() }
        } else {
            Scope::Data {
                kind: "k8s".into(),
                collection: format!("{ns}/{res}"),
                rest: names.iter().map(|n| n.value.clone()).collect::<Vec<_>>().join(","),
            }
        };
        out.push(Permission {
            at: at(rule, path),
            resource: Sp {
                value: res.to_string(),
                at: r.at.clone(),
            },
            scope,
            acts: acts.clone(),
            wildcard_actions: wildcard,
            management: management.clone(),
            conditions: None,
        });
    }
    out
}
