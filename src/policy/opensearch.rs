//! OpenSearch Security configuration, the access control of OpenSearch clusters used for
//! vector search (k-NN indices): the files of one `opensearch-security/` directory, each
//! recognised by its `_meta.type`:
//!
//! - `roles` (`roles.yml`): `cluster_permissions` (security administration is privilege
//!   escalation), `index_permissions[].index_patterns`/`allowed_actions` (static and custom
//!   action groups, `indices:*` permissions by family), `fls`/`masked_fields` (count as PII
//!   filtering), `dls` with `${user…}`/`${attr…}` (binds rows to the caller), `reserved`
//!   (a reserved role nobody is mapped to is not checked: the plugin ships it);
//! - `rolesmapping` (`roles_mapping.yml`): `users`, `backend_roles`, `and_backend_roles`,
//!   `hosts` become the subjects of a binding to the role of the entry's name;
//! - `actiongroups` (`action_groups.yml`): custom action groups, resolved where roles use them;
//! - `internalusers` (`internal_users.yml`): `opendistro_security_roles` bind a user to roles
//!   directly.
//!
//! Ignored: `tenant_permissions` (Dashboards tenants), `hidden`, `static`, `description`,
//! users' `hash` and `attributes`. Every other key is POL001 (the plugin refuses unknown keys).
//! The files of one directory are joined (`build`'s `context`): a mapping resolves against the
//! roles beside it and the plugin's static roles, a role against the custom action groups.
//! Classification comes from `llmguard.toml` `[policy.classification]` index-name globs.

use super::model::*;
use super::params::{has, verb_table, PolicyParams};
use super::yaml::Node;
use super::{at, glob_match, join, ConfigClass, Parsed, Walk};
use crate::rules::Rule;
use std::collections::BTreeMap;

const META_KEYS: [&str; 2] = ["type", "config_version"];
const ROLE_KEYS: [&str; 8] = [
    "reserved",
    "hidden",
    "static",
    "description",
    "cluster_permissions",
    "index_permissions",
    "tenant_permissions",
    "extension_permissions",
];
const INDEX_PERMISSION_KEYS: [&str; 5] = ["index_patterns", "allowed_actions", "dls", "fls", "masked_fields"];
const TENANT_PERMISSION_KEYS: [&str; 2] = ["tenant_patterns", "allowed_actions"];
const MAPPING_KEYS: [&str; 7] = [
    "reserved",
    "hidden",
    "description",
    "users",
    "backend_roles",
    "and_backend_roles",
    "hosts",
];
const ACTION_GROUP_KEYS: [&str; 6] = ["reserved", "hidden", "static", "allowed_actions", "type", "description"];
const USER_KEYS: [&str; 9] = [
    "hash",
    "reserved",
    "hidden",
    "static",
    "backend_roles",
    "attributes",
    "description",
    "opendistro_security_roles",
    "password",
];

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The `_meta.type` of a security configuration document. A mapping of roles without `_meta`
/// (what the REST API's `GET _plugins/_security/api/roles` returns, or a file written from it)
/// is a roles file too when every entry is a role and one grants something.
fn config_type(doc: &Node) -> Option<&str> {
    if let Some(t) = doc.get("_meta").and_then(|m| m.get("type")).and_then(Node::as_str) {
        return Some(t);
    }
    let entries = doc.as_map()?;
    let role_like = |v: &Node| {
        v.as_map().is_some_and(|m| {
            m.iter()
                .all(|(k, _)| k.as_str().is_some_and(|k| ROLE_KEYS.contains(&k)))
        })
    };
    let grants = |v: &Node| v.get("index_permissions").is_some() || v.get("cluster_permissions").is_some();
    (!entries.is_empty() && entries.iter().all(|(_, v)| role_like(v)) && entries.iter().any(|(_, v)| grants(v)))
        .then_some("roles")
}

/// Whether a document is an OpenSearch Security roles file.
pub fn is_roles(doc: &Node) -> bool {
    config_type(doc).is_some_and(|t| t.eq_ignore_ascii_case("roles"))
}

/// Whether a document is an OpenSearch Security file llmguard reads (roles, role mappings,
/// action groups, internal users).
pub fn is_config(doc: &Node) -> bool {
    config_type(doc).is_some_and(|t| {
        ["roles", "rolesmapping", "actiongroups", "internalusers"]
            .iter()
            .any(|x| t.eq_ignore_ascii_case(x))
    })
}

/// The entries of a config document (everything but `_meta`), `_meta` checked.
fn entries<'n>(w: &mut Walk, doc: &'n Node, root: &str, what: &str) -> Vec<(&'n str, &'n Node, String)> {
    let mut out = Vec::new();
    for (k, v, p) in w.entries(doc, root, None, what) {
        if k == "_meta" {
            w.entries(v, &p, Some(&keys(&META_KEYS)), "_meta");
        } else {
            out.push((k, v, p));
        }
    }
    out
}

pub fn parse(docs: &[Node], context: &[&Node], params: &PolicyParams, classes: &[ConfigClass]) -> Parsed {
    let mut w = Walk {
        problems: Vec::new(),
        params,
    };
    let multi = docs.len() > 1;
    // Own documents first (their definitions win), then context, each with its key path root.
    let all: Vec<(&Node, String)> = docs
        .iter()
        .enumerate()
        .filter(|(_, d)| is_config(d))
        .map(|(i, d)| (d, if multi { format!("/{i}") } else { String::new() }))
        .chain(context.iter().enumerate().map(|(i, d)| (*d, format!("/ctx{i}"))))
        .collect();
    let root = docs
        .iter()
        .find(|d| is_config(d))
        .map(|d| at(d, ""))
        .unwrap_or_default();
    let mut p = Policy::empty(
        Format::Opensearch,
        root,
        Expresses {
            default_decision: false,
            audit: false,
            rate_limits: false,
            classification_in_file: false,
            pii_filtering: true,
            auth_conditions: false,
        },
    );
    p.collections.extend(classes.iter().map(Collection::configured));
    let of_type = |t: &str| -> Vec<(&Node, String)> {
        all.iter()
            .filter(|(d, _)| config_type(d).is_some_and(|x| x.eq_ignore_ascii_case(t)))
            .map(|(d, r)| (*d, r.clone()))
            .collect()
    };
    // Custom action groups, by name (the first definition wins).
    let mut groups: BTreeMap<String, Vec<Sp<String>>> = BTreeMap::new();
    for (doc, root) in of_type("actiongroups") {
        for (name, node, path) in entries(&mut w, doc, &root, "action_groups.yml") {
            w.entries(node, &path, Some(&keys(&ACTION_GROUP_KEYS)), "an action group");
            let actions = node
                .get("allowed_actions")
                .map(|v| w.strings(v, &join(&path, "allowed_actions")))
                .unwrap_or_default();
            groups.entry(name.to_string()).or_insert(actions);
        }
    }
    let mut reserved = Vec::new();
    for (doc, root) in of_type("roles") {
        for (name, node, path) in entries(&mut w, doc, &root, "roles.yml") {
            if p.role(name).is_some() {
                continue;
            }
            let r = role(&mut w, name, node, &path, &groups);
            if node
                .get("reserved")
                .and_then(|v| w.bool(v, &join(&path, "reserved")))
                .is_some_and(|b| b.value)
            {
                reserved.push(r.name.clone());
            }
            p.roles.push(r);
        }
    }
    for (doc, root) in of_type("rolesmapping") {
        for (name, node, path) in entries(&mut w, doc, &root, "roles_mapping.yml") {
            p.bindings.push(mapping(&mut w, name, node, &path));
        }
    }
    for (doc, root) in of_type("internalusers") {
        for (name, node, path) in entries(&mut w, doc, &root, "internal_users.yml") {
            w.entries(node, &path, Some(&keys(&USER_KEYS)), "an internal user");
            if let Some(v) = node.get("opendistro_security_roles") {
                for role in w.strings(v, &join(&path, "opendistro_security_roles")) {
                    p.bindings.push(Binding {
                        at: at(node, &path),
                        name: Some(format!("internal user `{name}`")),
                        role,
                        subjects: vec![Subject {
                            at: at(node, &path),
                            kind: SubjectKind::User,
                            name: name.to_string(),
                            external: false,
                            authentication: None,
                        }],
                    });
                }
            }
        }
    }
    // A reserved role (shipped with the plugin) that nothing maps grants nothing.
    for r in p.roles.iter_mut() {
        if reserved.contains(&r.name) && !p.bindings.iter().any(|b| b.role.value == r.name) {
            r.dormant = true;
        }
    }
    Parsed {
        policies: vec![p],
        problems: w.problems,
        format: Some(Format::Opensearch),
    }
}

fn mapping(w: &mut Walk, name: &str, node: &Node, path: &str) -> Binding {
    w.entries(node, path, Some(&keys(&MAPPING_KEYS)), "a role mapping");
    let mut subjects = Vec::new();
    for (key, kind) in [
        ("users", SubjectKind::User),
        ("backend_roles", SubjectKind::Group),
        ("and_backend_roles", SubjectKind::Group),
        ("hosts", SubjectKind::Other),
    ] {
        if let Some(v) = node.get(key) {
            for s in w.strings(v, &join(path, key)) {
                subjects.push(Subject {
                    external: w
                        .params
                        .external_prefixes
                        .iter()
                        .any(|x| s.value.to_ascii_lowercase().starts_with(x.as_str())),
                    at: s.at,
                    kind,
                    name: s.value,
                    authentication: None,
                });
            }
        }
    }
    Binding {
        at: at(node, path),
        name: Some(format!("role mapping `{name}`")),
        role: Sp {
            value: name.to_string(),
            at: at(node, path),
        },
        subjects,
    }
}

fn role(w: &mut Walk, name: &str, node: &Node, path: &str, groups: &BTreeMap<String, Vec<Sp<String>>>) -> Role {
    let params = w.params;
    let os = &params.opensearch;
    w.entries(node, path, Some(&keys(&ROLE_KEYS)), "a role");
    let mut r = Role {
        name: name.to_string(),
        at: at(node, path),
        inherits: Vec::new(),
        permissions: Vec::new(),
        conditions: Conditions::default(),
        limits: None,
        excludes: Vec::new(),
        service: false,
        dormant: false,
    };
    if let Some(cp) = node.get("cluster_permissions") {
        let cpath = join(path, "cluster_permissions");
        for perm in w.strings(cp, &cpath) {
            let escalates = expand(&perm.value, groups, 0).iter().any(|x| {
                has(&os.escalation_cluster_permissions, x)
                    || os.escalation_cluster_permissions.iter().any(|e| glob_match(x, e))
            });
            if escalates {
                r.permissions.push(Permission {
                    at: perm.at.clone(),
                    resource: perm.clone(),
                    scope: Scope::Management {
                        kind: "security".into(),
                    },
                    acts: vec![Act::Admin],
                    wildcard_actions: false,
                    words: vec![perm.value.to_ascii_lowercase()],
                    management: vec![perm.clone()],
                    conditions: None,
                });
            }
        }
    }
    if let Some(tp) = node.get("tenant_permissions") {
        for (entry, ep) in w.list(tp, &join(path, "tenant_permissions")) {
            w.entries(entry, &ep, Some(&keys(&TENANT_PERMISSION_KEYS)), "a tenant permission");
        }
    }
    let Some(ip) = node.get("index_permissions") else {
        return r;
    };
    for (entry, ep) in w.list(ip, &join(path, "index_permissions")) {
        w.entries(entry, &ep, Some(&keys(&INDEX_PERMISSION_KEYS)), "an index permission");
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
        let (acts, wildcard) = actions(w, &words, groups);
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
            let per_user = ["${user", "${attr"]
                .iter()
                .any(|x| p.value.contains(x) || dls.contains(x));
            let scope = if security && p.value != "*" {
                Scope::Management { kind: p.value.clone() }
            } else {
                Scope::Data {
                    kind: "index".into(),
                    collection: p.value.clone(),
                    rest: if per_user { "{user_id}".into() } else { String::new() },
                }
            };
            r.permissions.push(Permission {
                at: at(entry, &ep),
                resource: p,
                scope,
                acts: acts.clone(),
                wildcard_actions: wildcard,
                words: words.iter().map(|x| x.value.to_ascii_lowercase()).collect(),
                management: Vec::new(),
                conditions: conditions.clone(),
            });
        }
    }
    r
}

/// A permission word with custom action groups expanded (bounded depth; cycles stop).
fn expand(word: &str, groups: &BTreeMap<String, Vec<Sp<String>>>, depth: u8) -> Vec<String> {
    match groups.get(word) {
        Some(members) if depth < 8 => members
            .iter()
            .flat_map(|m| expand(&m.value, groups, depth + 1))
            .collect(),
        Some(_) => Vec::new(),
        None => vec![word.to_string()],
    }
}

fn actions(w: &mut Walk, words: &[Sp<String>], groups: &BTreeMap<String, Vec<Sp<String>>>) -> (Vec<Act>, bool) {
    let params = w.params;
    let os = &params.opensearch;
    let table = verb_table(&os.action_groups);
    let mut acts = Vec::new();
    let mut wildcard = false;
    for word in words {
        for v in expand(&word.value, groups, 0) {
            let v = v.as_str();
            if has(&os.all, v) {
                wildcard = true;
                acts.extend(Act::ALL);
                continue;
            }
            if has(&os.crud, v) {
                acts.extend([Act::Read, Act::Create, Act::Update, Act::Delete]);
                continue;
            }
            let mut found = has(&os.other_groups, v);
            for (act, list) in &table {
                if has(list, v) {
                    acts.push(*act);
                    found = true;
                }
            }
            if found {
                continue;
            }
            // Raw permissions by family, first match wins.
            match os.permissions.iter().find(|f| glob_match(&f.pattern, v)) {
                Some(f) => acts.extend(f.acts.iter().copied()),
                None => w.problem(
                    Rule::PolicyUndefinedReference,
                    word.at.clone(),
                    if v == word.value {
                        format!("`{v}` is neither an OpenSearch permission nor an action group defined in action_groups.yml or built into the plugin: it grants nothing")
                    } else {
                        format!("`{v}` (in action group `{}`) is neither an OpenSearch permission nor an action group: it grants nothing", word.value)
                    },
                    &format!("action:{v}"),
                ),
            }
        }
    }
    acts.sort();
    acts.dedup();
    (acts, wildcard)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::yaml::{parse as yaml, YamlLimits};

    fn parsed(text: &str, context: &[&str]) -> Parsed {
        let params = PolicyParams::builtin().unwrap();
        let docs = yaml(text, YamlLimits::default()).unwrap();
        let mut ctx: Vec<Node> = context
            .iter()
            .flat_map(|t| yaml(t, YamlLimits::default()).unwrap())
            .collect();
        ctx.iter_mut().for_each(Node::mark_context);
        let ctx: Vec<&Node> = ctx.iter().collect();
        crate::policy::build(&docs, &ctx, &params, &[])
    }

    const ROLES: &str = "_meta: {type: roles, config_version: 2}\n";

    #[test]
    fn permissions_map_to_actions_by_family() {
        // (allowed_actions, acts)
        let cases: [(&str, &[Act]); 8] = [
            ("[read]", &[Act::Read]),
            (
                "['indices:admin/mappings/get', 'indices:admin/aliases/get']",
                &[Act::List],
            ),
            ("['indices:data/read/search*']", &[Act::Read]),
            ("['indices:data/write/bulk*']", &[Act::Create, Act::Update, Act::Delete]),
            ("['indices:admin/create']", &[Act::Create]),
            ("['indices:admin/opensearch/ism/*']", &[Act::Admin]),
            ("[crud]", &[Act::Read, Act::Create, Act::Update, Act::Delete]),
            ("['cluster:monitor/*', kibana_all_read]", &[]),
        ];
        for (actions, want) in cases {
            let text =
                format!("{ROLES}r:\n  index_permissions: [{{index_patterns: [a-*], allowed_actions: {actions}}}]\n");
            let p = parsed(&text, &[]);
            assert!(p.problems.is_empty(), "{actions}: {:?}", p.problems);
            assert_eq!(p.policies[0].roles[0].permissions[0].acts, want, "{actions}");
            // Writes on every index are a wildcard over data, not over the security plane.
            assert!(matches!(
                p.policies[0].roles[0].permissions[0].scope,
                Scope::Data { .. }
            ));
        }
    }

    #[test]
    fn a_rest_api_export_without_meta_is_a_roles_file() {
        let export = r#"{"kb": {"reserved": false, "cluster_permissions": [], "index_permissions": [{"index_patterns": ["kb-*"], "allowed_actions": ["read"], "fls": [], "masked_fields": [], "dls": ""}], "tenant_permissions": []}}"#;
        let p = parsed(export, &[]);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.policies[0].roles[0].permissions[0].acts, [Act::Read]);
        // Any other mapping is not.
        let docs = yaml("services: {web: {image: nginx}}\n", YamlLimits::default()).unwrap();
        assert!(!is_config(&docs[0]));
    }

    #[test]
    fn custom_action_groups_expand_and_cycles_stop() {
        let groups = "_meta: {type: actiongroups, config_version: 2}\nsearch_docs: {allowed_actions: [get, loop_a]}\nloop_a: {allowed_actions: [loop_b]}\nloop_b: {allowed_actions: [loop_a]}\n";
        let text =
            format!("{ROLES}r:\n  index_permissions: [{{index_patterns: [a], allowed_actions: [search_docs]}}]\n");
        let p = parsed(&text, &[groups]);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.policies[0].roles[0].permissions[0].acts, [Act::Read]);
        let p = parsed(&text, &[]);
        assert_eq!(
            p.problems[0].rule,
            Rule::PolicyUndefinedReference,
            "without action_groups.yml"
        );
    }

    #[test]
    fn mappings_and_internal_users_are_bindings_and_wake_reserved_roles() {
        let roles = format!("{ROLES}shipped: {{reserved: true}}\nused: {{reserved: true}}\n");
        let mapping = "_meta: {type: rolesmapping, config_version: 2}\nused:\n  users: [alice]\n  backend_roles: [ops]\n  and_backend_roles: [a, b]\n  hosts: ['*.example.com']\n  description: x\n";
        let users = "_meta: {type: internalusers, config_version: 2}\nbob: {hash: x, opendistro_security_roles: [shipped], attributes: {a: b}}\n";
        let p = parsed(&roles, &[mapping]);
        let pol = &p.policies[0];
        assert!(pol.role("shipped").unwrap().dormant);
        assert!(!pol.role("used").unwrap().dormant);
        let b = &pol.bindings[0];
        assert_eq!(b.role.value, "used");
        let kinds: Vec<SubjectKind> = b.subjects.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SubjectKind::User,
                SubjectKind::Group,
                SubjectKind::Group,
                SubjectKind::Group,
                SubjectKind::Other
            ]
        );
        let p = parsed(&roles, &[mapping, users]);
        assert!(
            !p.policies[0].role("shipped").unwrap().dormant,
            "bound by an internal user"
        );
        // Unknown keys of each file type, with a hint.
        let p = parsed(
            "_meta: {type: rolesmapping, config_version: 2}\nused: {user: [alice]}\n",
            &[],
        );
        assert_eq!(p.problems[0].rule, Rule::PolicyUnknownKey);
        assert!(
            p.problems[0].message.contains("did you mean `users`"),
            "{}",
            p.problems[0].message
        );
    }
}
