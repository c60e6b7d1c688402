//! The effective-access matrix: for every role, what it may do on every collection after
//! inheritance, wildcards, exclusions and dynamic rules — computed once per policy, then read
//! by every check and by `--explain-access`.
//!
//! Semantics (also in the README):
//! - a role has its own permissions and everything its ancestors effectively have;
//! - `data_filtering.exclude_collections` of a role removes those collections from everything
//!   the role has, its own and inherited grants alike; an ancestor's exclusions apply to what
//!   the ancestor has, so a descendant's own grant can re-open them (POL014);
//! - `*`/`**` and `KIND/*` reach every classified collection, restricted ones included; a
//!   literal segment reaches the collection of that name or alias, and otherwise nothing (an
//!   unresolved reference, POL052);
//! - a dynamic `deny` without conditions removes its actions; with conditions (time, days,
//!   countries) the access stays but is marked conditional; `require_approval` marks it.

use super::glob_match;
use super::model::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How one action on one collection is granted to a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Via {
    /// The role whose permission grants it (the role itself or an ancestor).
    pub role: String,
    /// Index of the permission in that role.
    #[serde(skip)]
    pub perm: usize,
    pub resource: String,
    /// Granted by a wildcard resource or wildcard actions.
    pub wildcard: bool,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub sensitivity: Sensitivity,
    /// Granted actions and how.
    pub actions: BTreeMap<Act, Vec<Via>>,
    /// Actions removed by an unconditional dynamic deny.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub denied: BTreeSet<Act>,
    /// A conditional dynamic rule (time, days, countries) applies.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub conditional: bool,
    /// A `require_approval` dynamic rule applies.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub approval: bool,
}

/// A grant on the access-control plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagementGrant {
    pub via: Via,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleAccess {
    pub role: String,
    /// Ancestors, nearest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<String>,
    pub collections: BTreeMap<String, Cell>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub management: Vec<ManagementGrant>,
}

/// A permission whose collection segment names nothing classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub role: String,
    pub perm: usize,
    pub segment: String,
}

/// An ancestor's exclusion that a descendant's own grant re-opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reopened {
    pub role: String,
    pub perm: usize,
    pub collection: String,
    /// The role whose exclusion is re-opened.
    pub excluded_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub roles: Vec<RoleAccess>,
    pub unresolved: Vec<Unresolved>,
    pub reopened: Vec<Reopened>,
    /// Inheritance cycles, each as the list of role names around it (smallest name first).
    pub cycles: Vec<Vec<String>>,
}

impl Access {
    pub fn role(&self, name: &str) -> Option<&RoleAccess> {
        self.roles.iter().find(|r| r.role == name)
    }
}

/// Which collections a data pattern reaches.
pub fn reaches<'c>(policy: &'c Policy, pattern: &str) -> Vec<&'c Collection> {
    policy
        .collections
        .iter()
        .filter(|c| {
            glob_match(pattern, &c.name)
                || (policy.format != Format::Native && segments_overlap(pattern, &c.name))
                || c.aliases.iter().any(|a| glob_match(pattern, a))
        })
        .collect()
}

/// Whether two `/`-separated patterns can name a common path (segment by segment).
fn segments_overlap(a: &str, b: &str) -> bool {
    let (sa, sb): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    if sa.len() != sb.len() {
        return super::overlaps(a, b);
    }
    sa.iter().zip(&sb).all(|(x, y)| super::overlaps(x, y))
}

/// The collections, and the management kind, one permission reaches.
fn targets<'c>(policy: &'c Policy, p: &Permission) -> (Vec<&'c Collection>, Option<String>) {
    match &p.scope {
        Scope::Everything => (policy.collections.iter().collect(), Some("*".into())),
        Scope::Data { collection, .. } => (reaches(policy, collection), None),
        Scope::Management { kind } => (Vec::new(), Some(kind.clone())),
        Scope::Unknown { .. } => (Vec::new(), None),
    }
}

/// Ancestors of `role` (nearest first, each once), never looping.
pub fn ancestors(policy: &Policy, role: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::from([role]);
    let mut queue: Vec<&str> = vec![role];
    let mut qi = 0;
    while qi < queue.len() {
        let cur = queue[qi];
        qi += 1;
        if let Some(r) = policy.role(cur) {
            for parent in &r.inherits {
                let name = parent.value.as_str();
                if policy.role(name).is_some() && seen.insert(name) {
                    out.push(name.to_string());
                    queue.push(name);
                }
            }
        }
    }
    out
}

/// Inheritance cycles: one per strongly connected component of the inheritance graph that
/// holds a cycle (Tarjan, iterative: linear in roles and edges, no recursion), each written as
/// a ring through the component starting at its smallest name.
fn cycles(policy: &Policy) -> Vec<Vec<String>> {
    let names: Vec<&str> = policy.roles.iter().map(|r| r.name.as_str()).collect();
    let id: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // Edges of the first definition of each name (a duplicate is reported on its own).
    let edges: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            policy
                .role(n)
                .map(|r| {
                    r.inherits
                        .iter()
                        .filter_map(|p| id.get(p.value.as_str()).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let n = names.len();
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut next, mut stack, mut out) = (0usize, Vec::new(), Vec::new());
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, position in its edge list)
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut pos)) = work.last_mut() {
            if *pos == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on[v] = true;
            }
            if let Some(&w) = edges[v].get(*pos) {
                *pos += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                let self_loop = comp.len() == 1 && edges[v].contains(&v);
                if comp.len() > 1 || self_loop {
                    out.push(ring(&comp, &edges, &names));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A cycle through a strongly connected component, from its smallest name back to it
/// (breadth-first inside the component, so the ring is a shortest one).
fn ring(comp: &[usize], edges: &[Vec<usize>], names: &[&str]) -> Vec<String> {
    let Some(&start) = comp.iter().min_by_key(|i| names[**i]) else {
        return Vec::new();
    };
    let inside: BTreeSet<usize> = comp.iter().copied().collect();
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &edges[v] {
            if w == start {
                let mut path = vec![v];
                let mut cur = v;
                while cur != start {
                    match prev.get(&cur) {
                        Some(&p) => {
                            path.push(p);
                            cur = p;
                        }
                        None => break,
                    }
                }
                path.reverse();
                return path.into_iter().map(|i| names[i].to_string()).collect();
            }
            if inside.contains(&w) && w != start && !prev.contains_key(&w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![names[start].to_string()]
}

/// Compute the matrix of one policy.
pub fn compute(policy: &Policy) -> Access {
    let mut access = Access {
        roles: Vec::new(),
        unresolved: Vec::new(),
        reopened: Vec::new(),
        cycles: cycles(policy),
    };
    // Unresolved literal segments (native format: its classification is the universe).
    if policy.format == Format::Native {
        for r in &policy.roles {
            for (i, p) in r.permissions.iter().enumerate() {
                if let Scope::Data { collection, .. } = &p.scope {
                    if !is_glob(collection) && reaches(policy, collection).is_empty() {
                        access.unresolved.push(Unresolved {
                            role: r.name.clone(),
                            perm: i,
                            segment: collection.clone(),
                        });
                    }
                }
            }
        }
    }
    // Every role's ancestors, computed once on integer ids (a dense aggregation graph —
    // hundreds of ClusterRoles selecting each other — would otherwise take minutes).
    let names: Vec<&str> = policy.roles.iter().map(|r| r.name.as_str()).collect();
    let ids: BTreeMap<&str, usize> = names.iter().enumerate().rev().map(|(i, n)| (*n, i)).collect();
    let adj: Vec<Vec<usize>> = policy
        .roles
        .iter()
        .map(|r| {
            r.inherits
                .iter()
                .filter_map(|p| ids.get(p.value.as_str()).copied())
                .collect()
        })
        .collect();
    let mut anc_of: BTreeMap<&str, (Vec<String>, BTreeSet<String>)> = BTreeMap::new();
    let mut seen = vec![usize::MAX; names.len()];
    for (start, r) in policy.roles.iter().enumerate() {
        if anc_of.contains_key(r.name.as_str()) || ids.get(r.name.as_str()) != Some(&start) {
            continue;
        }
        // Breadth-first, nearest first; `seen[v] == start` marks this walk.
        seen[start] = start;
        let mut queue = vec![start];
        let mut qi = 0;
        while qi < queue.len() {
            let v = queue[qi];
            qi += 1;
            for &w in &adj[v] {
                if seen[w] != start {
                    seen[w] = start;
                    queue.push(w);
                }
            }
        }
        let chain: Vec<String> = queue[1..].iter().map(|i| names[*i].to_string()).collect();
        let set = chain.iter().cloned().collect();
        anc_of.insert(r.name.as_str(), (chain, set));
    }
    let no_ancestors: (Vec<String>, BTreeSet<String>) = (Vec::new(), BTreeSet::new());
    // Only roles with exclusions matter between a role and the owner of a grant.
    let excluding: BTreeSet<&str> = policy
        .roles
        .iter()
        .filter(|r| !r.excludes.is_empty())
        .map(|r| r.name.as_str())
        .collect();
    // Dormant roles (shipped by the engine, bound to nobody) grant nothing: not in the matrix.
    for r in policy.roles.iter().filter(|r| !r.dormant) {
        let chain = anc_of.get(r.name.as_str()).unwrap_or(&no_ancestors).0.clone();
        let mut ra = RoleAccess {
            role: r.name.clone(),
            inherits: chain.clone(),
            collections: BTreeMap::new(),
            management: Vec::new(),
        };
        // Exclusions that hold for a grant defined on `owner`: the role's own, plus those of
        // every role on the path from the role to `owner` (the owner's included).
        let own_excl: BTreeSet<String> = r.excludes.iter().map(|e| e.value.clone()).collect();
        for owner_name in std::iter::once(&r.name).chain(chain.iter()) {
            let Some(owner) = policy.role(owner_name) else { continue };
            let mut excl = own_excl.clone();
            if owner.name != r.name {
                // The owner's own exclusions and those of the ancestors between (approximated
                // by every ancestor that itself inherits from the owner).
                excl.extend(owner.excludes.iter().map(|e| e.value.clone()));
                for mid in chain.iter().filter(|m| excluding.contains(m.as_str())) {
                    let mid_ancestors = &anc_of.get(mid.as_str()).unwrap_or(&no_ancestors).1;
                    if mid != owner_name && mid_ancestors.contains(owner_name) {
                        if let Some(m) = policy.role(mid) {
                            excl.extend(m.excludes.iter().map(|e| e.value.clone()));
                        }
                    }
                }
            }
            for (i, p) in owner.permissions.iter().enumerate() {
                let (cols, mgmt) = targets(policy, p);
                let via = Via {
                    role: owner.name.clone(),
                    perm: i,
                    resource: p.resource.value.clone(),
                    wildcard: p.scope.is_wildcard() || p.wildcard_actions,
                    line: p.resource.at.line,
                };
                for c in cols {
                    let excluded = excl.contains(&c.name) || c.aliases.iter().any(|a| excl.contains(a));
                    if excluded {
                        continue;
                    }
                    if owner.name == r.name {
                        // A grant of the role itself on what an ancestor excludes.
                        for anc in &chain {
                            if let Some(a) = policy.role(anc) {
                                if a.excludes
                                    .iter()
                                    .any(|e| e.value == c.name || c.aliases.contains(&e.value))
                                {
                                    access.reopened.push(Reopened {
                                        role: r.name.clone(),
                                        perm: i,
                                        collection: c.name.clone(),
                                        excluded_by: a.name.clone(),
                                    });
                                }
                            }
                        }
                    }
                    let cell = ra.collections.entry(c.name.clone()).or_insert_with(|| Cell {
                        sensitivity: c.sensitivity,
                        actions: BTreeMap::new(),
                        denied: BTreeSet::new(),
                        conditional: false,
                        approval: false,
                    });
                    for a in &p.acts {
                        cell.actions.entry(*a).or_default().push(via.clone());
                    }
                }
                if let Some(what) = mgmt {
                    let write = p.acts.iter().any(|a| a.writes()) || !p.management.is_empty();
                    // Listing Kubernetes Secrets returns their data, as does reading every
                    // resource of the core group (`resources: ["*"]`), Secrets included.
                    let k8s = policy.format == Format::Kubernetes;
                    let reads = p.acts.contains(&Act::Read) || (k8s && p.acts.contains(&Act::List));
                    let secrets_read = reads
                        && match &p.scope {
                            Scope::Management { kind } => {
                                kind.contains("secret") || kind.contains("key") || kind.contains("token")
                            }
                            Scope::Everything => k8s,
                            _ => false,
                        };
                    if write || secrets_read {
                        ra.management.push(ManagementGrant { via: via.clone(), what });
                    }
                } else if !p.management.is_empty() {
                    ra.management.push(ManagementGrant {
                        via: via.clone(),
                        what: p
                            .management
                            .iter()
                            .map(|m| m.value.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
            }
        }
        // Dynamic rules.
        for d in &policy.dynamic {
            if !d.roles.is_empty() && !d.roles.iter().any(|x| x.value == r.name || x.value == "*") {
                continue;
            }
            for (cname, cell) in ra.collections.iter_mut() {
                let applies = d.collections.is_empty()
                    || d.collections.iter().any(|x| {
                        glob_match(&x.value, cname)
                            || policy
                                .collections
                                .iter()
                                .any(|c| &c.name == cname && c.aliases.iter().any(|a| glob_match(&x.value, a)))
                    });
                if !applies {
                    continue;
                }
                let acts: Vec<Act> = if d.actions.is_empty() {
                    Act::ALL.to_vec()
                } else {
                    d.actions.clone()
                };
                let touches = acts.iter().any(|a| cell.actions.contains_key(a));
                match d.action.value {
                    _ if !touches => {}
                    RuleAction::Deny if !d.conditional() => {
                        for a in acts {
                            if cell.actions.remove(&a).is_some() {
                                cell.denied.insert(a);
                            }
                        }
                    }
                    RuleAction::Deny => cell.conditional = true,
                    RuleAction::RequireApproval => cell.approval = true,
                    RuleAction::Allow => {}
                }
            }
            ra.collections
                .retain(|_, c| !c.actions.is_empty() || !c.denied.is_empty());
        }
        access.roles.push(ra);
    }
    access
        .reopened
        .sort_by(|a, b| (&a.role, a.perm, &a.collection).cmp(&(&b.role, b.perm, &b.collection)));
    access.reopened.dedup();
    access
}
