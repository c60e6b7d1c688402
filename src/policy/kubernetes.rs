//! Kubernetes RBAC manifests: Role, ClusterRole (with `aggregationRule`), RoleBinding and
//! ClusterRoleBinding, in one or many YAML documents (a `kind: List` of them too), mixed with
//! any other Kubernetes objects (Deployments, ServiceAccounts… are skipped).
//!
//! Understood: `metadata.name`/`namespace`/`labels`, `rules[].apiGroups`/`resources`/`verbs`/
//! `resourceNames`, `aggregationRule.clusterRoleSelectors[].matchLabels`, `roleRef`,
//! `subjects`. The API group decides what a resource is: `secrets` in the core group hold
//! credentials, `roles`/`clusterroles`/bindings in `rbac.authorization.k8s.io` are the
//! access-control plane, `resources: ["*"]` reaches them only in the core, RBAC or `*` group
//! (in a CRD group it is a wildcard over that group's resources). Ignored: `nonResourceURLs`,
//! `matchExpressions`, annotations. Keys an RBAC object cannot have are POL001 (the API server
//! rejects them). Kubernetes RBAC is deny-by-default and has no audit, rate limit or
//! classification section, so those checks do not run on it; classification-dependent checks
//! run where `llmguard.toml` `[policy.classification]` maps `NAMESPACE/RESOURCE` globs.
//!
//! Other RBAC files of the same directory are context (`build`'s `context`): their roles
//! resolve bindings and aggregation selectors, nothing of theirs is reported here.

use super::model::*;
use super::params::{has, verb_table, PolicyParams};
use super::yaml::Node;
use super::{at, join, ConfigClass, Parsed, Walk};
use crate::rules::Rule;

/// A ClusterRole waiting for its `aggregationRule` selectors to be resolved: its index, the
/// `matchLabels` of each selector, and where the rule is.
type Aggregation = (usize, Vec<Vec<(String, String)>>, At);

const KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// Keys of the RBAC objects' parts (Kubernetes API reference, rbac.authorization.k8s.io/v1).
const METADATA_KEYS: [&str; 16] = [
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
    "clusterName",
];
const RULE_KEYS: [&str; 5] = ["apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"];
const SUBJECT_KEYS: [&str; 4] = ["kind", "name", "namespace", "apiGroup"];
const ROLEREF_KEYS: [&str; 3] = ["apiGroup", "kind", "name"];
const AGGREGATION_KEYS: [&str; 1] = ["clusterRoleSelectors"];
const SELECTOR_KEYS: [&str; 2] = ["matchLabels", "matchExpressions"];

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

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

/// The RBAC objects of a document (itself, or the items of a List), with their key paths.
fn objects<'n>(doc: &'n Node, base: &str) -> Vec<(&'n Node, String)> {
    if is_rbac_doc(doc) {
        vec![(doc, base.to_string())]
    } else if let Some(items) = doc.get("items").and_then(Node::as_seq) {
        items
            .iter()
            .enumerate()
            .filter(|(_, n)| is_rbac_doc(n))
            .map(|(j, n)| (n, format!("{base}/items/{j}")))
            .collect()
    } else {
        Vec::new()
    }
}

/// The name a role has in the model: `ClusterRole/NAME` or `Role/NAMESPACE/NAME`.
pub fn role_key(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match kind {
        "ClusterRole" => format!("ClusterRole/{name}"),
        _ => format!("Role/{}/{name}", namespace.unwrap_or("default")),
    }
}

/// The name of a role key without its kind and namespace.
pub fn bare_name(key: &str) -> &str {
    key.rsplit('/').next().unwrap_or(key)
}

pub fn parse(docs: &[Node], context: &[&Node], params: &PolicyParams, classes: &[ConfigClass]) -> Parsed {
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
    p.collections.extend(classes.iter().map(Collection::configured));
    // (role index, selectors) resolved once every ClusterRole's labels are known.
    let mut aggregations: Vec<Aggregation> = Vec::new();
    let mut labels: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let multi = docs.len() > 1;
    for (i, doc) in docs.iter().enumerate() {
        let base = if multi { format!("/{i}") } else { String::new() };
        for (obj, path) in objects(doc, &base) {
            object(&mut w, &mut p, obj, &path, &mut aggregations, &mut labels);
        }
    }
    // Context: roles (and their labels) of the other RBAC files of the directory. A role this
    // file defines itself keeps its own definition; context bindings are not needed.
    let own: Vec<String> = p.roles.iter().map(|r| r.name.clone()).collect();
    for (i, doc) in context.iter().enumerate() {
        for (obj, path) in objects(doc, &format!("/ctx{i}")) {
            let kind = obj.get("kind").and_then(Node::as_str).unwrap_or("");
            if !matches!(kind, "Role" | "ClusterRole") {
                continue;
            }
            let before = p.roles.len();
            object(&mut w, &mut p, obj, &path, &mut aggregations, &mut labels);
            if p.roles.len() > before {
                let name = p.roles[before].name.clone();
                if own.contains(&name) || p.roles[..before].iter().any(|r| r.name == name) {
                    p.roles.truncate(before);
                    aggregations.retain(|(ri, ..)| *ri < before);
                    if let Some(pos) = labels.iter().rposition(|(n, _)| *n == name) {
                        labels.remove(pos);
                    }
                }
            }
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
    let allowed: Vec<&str> = match kind {
        "Role" => vec!["apiVersion", "kind", "metadata", "rules"],
        "ClusterRole" => vec!["apiVersion", "kind", "metadata", "rules", "aggregationRule"],
        _ => vec!["apiVersion", "kind", "metadata", "roleRef", "subjects"],
    };
    // Keys of another RBAC kind (`rules` on a binding) are as unknown as a typo.
    w.entries(obj, path, Some(&keys(&allowed)), kind);
    let meta = obj.get("metadata");
    let mpath = join(path, "metadata");
    if let Some(m) = meta {
        w.entries(m, &mpath, Some(&keys(&METADATA_KEYS)), "metadata");
    }
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
                dormant: false,
            };
            if let Some(rules) = obj.get("rules") {
                for (rule, rp) in w.list(rules, &join(path, "rules")) {
                    w.entries(rule, &rp, Some(&keys(&RULE_KEYS)), "an RBAC rule");
                    role.permissions.extend(rule_permissions(w, rule, &rp, &ns));
                }
            }
            if let Some(agg) = obj.get("aggregationRule").filter(|_| kind == "ClusterRole") {
                let ap = join(path, "aggregationRule");
                w.entries(agg, &ap, Some(&keys(&AGGREGATION_KEYS)), "aggregationRule");
                let mut selectors = Vec::new();
                if let Some(sel) = agg.get("clusterRoleSelectors") {
                    for (s, sp) in w.list(sel, &join(&ap, "clusterRoleSelectors")) {
                        w.entries(s, &sp, Some(&keys(&SELECTOR_KEYS)), "a label selector");
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
            if let Some(r) = rr {
                w.entries(r, &rpath, Some(&keys(&ROLEREF_KEYS)), "roleRef");
            }
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
                    w.entries(s, &sp, Some(&keys(&SUBJECT_KEYS)), "a subject");
                    let skind = s.get("kind").and_then(Node::as_str).unwrap_or("");
                    let sname = s.get("name").and_then(Node::as_str).unwrap_or("").to_string();
                    let sns = s.get("namespace").and_then(Node::as_str);
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
                        name: match (skind, sns) {
                            ("ServiceAccount", Some(ns)) => format!("{ns}/{sname}"),
                            _ => sname,
                        },
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

/// The API groups a rule names (`apiGroups` missing is read as every group: the API server
/// rejects such a rule, and reading it narrowly could hide what its author meant).
fn groups(w: &mut Walk, rule: &Node, path: &str) -> Vec<String> {
    match rule.get("apiGroups") {
        Some(v) => w
            .strings(v, &join(path, "apiGroups"))
            .into_iter()
            .map(|s| s.value)
            .collect(),
        None => vec!["*".to_string()],
    }
}

fn rule_permissions(w: &mut Walk, rule: &Node, path: &str, ns: &str) -> Vec<Permission> {
    let params = w.params;
    let k = &params.kubernetes;
    let groups = groups(w, rule, path);
    let in_group = |g: &str| groups.iter().any(|x| x == g || x == "*");
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
    let mut approve = Vec::new();
    for v in &verbs {
        let lv = v.value.to_ascii_lowercase();
        if has(&k.all_verbs, &lv) {
            wildcard = true;
            acts.extend(Act::ALL);
        } else if has(&k.escalation_verbs, &lv) {
            management.push(v.clone());
        } else if lv == "approve" {
            approve.push(v.clone());
        } else {
            let mut found = has(&k.other_verbs, &lv);
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
                    format!(
                        "verb `{}` is none of Kubernetes' RBAC verbs (get, list, watch, create, update, patch, delete, deletecollection, bind, escalate, impersonate, use, approve, sign, *): it grants nothing unless an aggregated API defines it",
                        v.value
                    ),
                    &format!("verb:{}", v.value),
                );
            }
        }
    }
    acts.sort();
    acts.dedup();
    let names_text = names.iter().map(|n| n.value.clone()).collect::<Vec<_>>().join(",");
    let mut out = Vec::new();
    for r in &resources {
        let res = r.value.as_str();
        let core = in_group("");
        let rbac = in_group("rbac.authorization.k8s.io");
        let certificates = in_group("certificates.k8s.io");
        let data = || Scope::Data {
            kind: "k8s".into(),
            collection: format!("{ns}/{res}"),
            rest: names_text.clone(),
        };
        // What the rule's verbs mean on this resource.
        let mut mgmt = management.clone();
        let scope = if res == "*" {
            if core || rbac {
                Scope::Everything
            } else {
                data()
            }
        } else if (rbac && has(&k.rbac_resources, res))
            || (core && has(&k.credential_resources, res) && names.is_empty())
        {
            Scope::Management { kind: res.to_string() }
        } else if certificates
            && has(&k.approval_resources, res)
            && (names.is_empty() || names.iter().any(|n| n.value.starts_with("kubernetes.io/")))
        {
            // Approving requests of the built-in signers issues cluster credentials.
            mgmt.extend(approve.iter().cloned());
            Scope::Management { kind: res.to_string() }
        } else {
            data()
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
            words: verbs.iter().map(|v| v.value.to_ascii_lowercase()).collect(),
            management: mgmt,
            conditions: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::yaml::{parse as yaml, YamlLimits};

    fn policy(text: &str, context: &str) -> Parsed {
        let params = PolicyParams::builtin().unwrap();
        let docs = yaml(text, YamlLimits::default()).unwrap();
        let mut ctx = yaml(context, YamlLimits::default()).unwrap();
        ctx.iter_mut().for_each(Node::mark_context);
        let ctx: Vec<&Node> = ctx.iter().collect();
        crate::policy::build(&docs, &ctx, &params, &[])
    }

    fn role(rules: &str) -> String {
        format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: r}}\nrules:\n{rules}")
    }

    #[test]
    fn api_groups_decide_what_a_resource_is() {
        // (rule, expected scope of its first permission)
        let cases = [
            ("- {apiGroups: ['*'], resources: ['*'], verbs: [get]}", "everything"),
            ("- {apiGroups: [''], resources: ['*'], verbs: [get]}", "everything"),
            ("- {resources: ['*'], verbs: [get]}", "everything"),
            ("- {apiGroups: [monitoring.example.com], resources: ['*'], verbs: ['*']}", "data"),
            ("- {apiGroups: [''], resources: [secrets], verbs: [get]}", "management"),
            ("- {apiGroups: [''], resources: [secrets], resourceNames: [tls], verbs: [get]}", "data"),
            ("- {apiGroups: [external-secrets.io], resources: [secrets], verbs: [get]}", "data"),
            ("- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}", "management"),
            ("- {apiGroups: [authentication.k8s.io], resources: [tokenreviews], verbs: [create]}", "data"),
            ("- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve]}", "management"),
            (
                "- {apiGroups: [certificates.k8s.io], resources: [signers], resourceNames: [issuers.example.io/*], verbs: [approve]}",
                "data",
            ),
        ];
        for (rule, want) in cases {
            let p = policy(&role(rule), "");
            assert!(p.problems.is_empty(), "{rule}: {:?}", p.problems);
            let scope = &p.policies[0].roles[0].permissions[0].scope;
            let got = match scope {
                Scope::Everything => "everything",
                Scope::Data { .. } => "data",
                Scope::Management { .. } => "management",
                Scope::Unknown { .. } => "unknown",
            };
            assert_eq!(got, want, "{rule}");
        }
    }

    #[test]
    fn unknown_keys_and_verbs_are_reported_known_ones_are_not() {
        let p = policy(
            &role("- {apiGroups: [''], resources: [pods], verbs: [get, use, fly], resourceName: [x]}"),
            "",
        );
        let rules: Vec<(Rule, &str)> = p.problems.iter().map(|x| (x.rule, x.at.path.as_str())).collect();
        assert_eq!(
            rules,
            [
                (Rule::PolicyUnknownKey, "/rules/0/resourceName"),
                (Rule::PolicyUndefinedReference, "/rules/0/verbs/2")
            ]
        );
        // Server-set metadata of `kubectl get -o yaml` is not unknown.
        let p = policy(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: n, uid: x, resourceVersion: '1', managedFields: []}\nrules: []\n",
            "",
        );
        assert!(p.problems.is_empty(), "{:?}", p.problems);
    }

    #[test]
    fn context_roles_resolve_bindings_and_aggregation_but_report_nothing() {
        let binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {kind: ClusterRole, name: manager}\nsubjects: [{kind: ServiceAccount, name: m, namespace: s}]\n";
        let manager = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: manager, labels: {agg: 'yes'}}\nrules: [{apiGroups: [''], resources: [pods], verbs: [get], bogus: 1}]\n";
        let p = policy(binding, manager);
        assert!(
            p.problems.is_empty(),
            "context problems stay in their file: {:?}",
            p.problems
        );
        let pol = &p.policies[0];
        assert!(pol.role("ClusterRole/manager").is_some_and(|r| r.at.ctx));
        let agg = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: all}\naggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: 'yes'}}]}\nrules: []\n";
        let p = policy(agg, manager);
        let all = p.policies[0].role("ClusterRole/all").unwrap();
        assert_eq!(all.inherits[0].value, "ClusterRole/manager");
        // A role defined in the file wins over a same-named one beside it.
        let p = policy(manager, manager);
        assert_eq!(p.policies[0].roles.len(), 1);
        assert!(!p.policies[0].roles[0].at.ctx);
    }
}
