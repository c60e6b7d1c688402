//! The one internal policy model every input format maps into: roles with permissions on
//! resources and conditions, bindings, data classification, dynamic rules, audit, encryption,
//! PII protection and the default decision. Each element remembers where it was written
//! (`At`), so every check can point at the offending entry.

use serde::Serialize;

/// Where an element was written: 1-based line and column, and a JSON pointer.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    pub line: u32,
    pub column: u32,
    pub path: String,
    /// In a file read for context (another file of the directory), not the file linted.
    pub ctx: bool,
}

impl At {
    /// The same place, one key or index deeper (for elements without a node of their own).
    pub fn child(&self, seg: &str) -> At {
        At {
            path: format!("{}/{}", self.path, super::yaml::pointer_segment(seg)),
            ..self.clone()
        }
    }
}

/// A value with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sp<T> {
    pub value: T,
    pub at: At,
}

/// The input format a policy came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The vector-DB RBAC policy shape (`kind: Policy`).
    Native,
    /// Kubernetes RBAC manifests.
    Kubernetes,
    /// OpenSearch Security `roles.yml`.
    Opensearch,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Native => "llmguard-policy",
            Format::Kubernetes => "kubernetes-rbac",
            Format::Opensearch => "opensearch-roles",
        }
    }
}

/// Data sensitivity, ordered from least to most sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    Public,
    Internal,
    Confidential,
    Restricted,
}

impl Sensitivity {
    pub fn parse(s: &str) -> Option<Sensitivity> {
        match s.to_ascii_lowercase().as_str() {
            "public" => Some(Sensitivity::Public),
            "internal" => Some(Sensitivity::Internal),
            "confidential" => Some(Sensitivity::Confidential),
            "restricted" => Some(Sensitivity::Restricted),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::Public => "public",
            Sensitivity::Internal => "internal",
            Sensitivity::Confidential => "confidential",
            Sensitivity::Restricted => "restricted",
        }
    }
}

/// Canonical actions of the effective-access matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Act {
    Read,
    List,
    Create,
    Update,
    Delete,
    Admin,
}

impl Act {
    pub const ALL: [Act; 6] = [Act::Read, Act::List, Act::Create, Act::Update, Act::Delete, Act::Admin];
    pub fn as_str(self) -> &'static str {
        match self {
            Act::Read => "read",
            Act::List => "list",
            Act::Create => "create",
            Act::Update => "update",
            Act::Delete => "delete",
            Act::Admin => "admin",
        }
    }
    /// One letter for the matrix table.
    pub fn letter(self) -> char {
        match self {
            Act::Read => 'R',
            Act::List => 'L',
            Act::Create => 'C',
            Act::Update => 'U',
            Act::Delete => 'D',
            Act::Admin => 'A',
        }
    }
    /// Changes data or its configuration.
    pub fn writes(self) -> bool {
        matches!(self, Act::Create | Act::Update | Act::Delete | Act::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
}

/// What a permission's resource reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `*`, `**`: every resource, the access-control plane included.
    Everything,
    /// Data: a collection pattern (`*` for every collection) below a data resource kind.
    Data {
        kind: String,
        /// The collection segment: a literal name, a glob, or `*`.
        collection: String,
        /// The segments after the collection (`{user_id}/*`).
        rest: String,
    },
    /// The access-control plane: roles, policies, keys, bindings…
    Management { kind: String },
    /// A resource kind llmguard does not classify (reported as an undefined reference).
    Unknown { kind: String },
}

impl Scope {
    /// Whether the resource reaches more than one named thing.
    pub fn is_wildcard(&self) -> bool {
        match self {
            Scope::Everything => true,
            Scope::Data { collection, .. } => is_glob(collection),
            Scope::Management { .. } | Scope::Unknown { .. } => false,
        }
    }
}

pub fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Role-level or permission-level conditions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub at: Option<At>,
    pub ip_whitelist: Vec<Sp<String>>,
    pub mfa_required: Option<Sp<bool>>,
    pub authentication: Vec<Sp<String>>,
    /// Windows (`HH:MM-HH:MM`) in which access is allowed; several mean any of them.
    pub allowed_hours: Vec<Sp<String>>,
    pub allowed_days: Vec<Sp<String>>,
    pub pii_filtering: Option<Sp<bool>>,
    pub audit_logging: Option<Sp<bool>>,
    pub expires_at: Option<Sp<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub at: At,
    pub resource: Sp<String>,
    pub scope: Scope,
    /// Canonical actions granted (`*` expanded).
    pub acts: Vec<Act>,
    /// Whether the actions were written as a wildcard.
    pub wildcard_actions: bool,
    /// The action words as written (lower-cased): verbs, allowed_actions, actions.
    pub words: Vec<String>,
    /// Management actions (manage_roles…), as written.
    pub management: Vec<Sp<String>>,
    pub conditions: Option<Conditions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub requests_per_minute: Option<u64>,
    pub vectors_per_request: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub at: At,
    pub inherits: Vec<Sp<String>>,
    pub permissions: Vec<Permission>,
    pub conditions: Conditions,
    pub limits: Option<Sp<Limits>>,
    pub excludes: Vec<Sp<String>>,
    /// Declared a service or LLM-application role.
    pub service: bool,
    /// Shipped by the engine (OpenSearch `reserved: true`) and bound to nobody in the files
    /// read: it grants nothing yet, so the checks on what it grants do not run on it.
    pub dormant: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    User,
    Group,
    ServiceAccount,
    ApiKey,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub at: At,
    pub kind: SubjectKind,
    pub name: String,
    pub external: bool,
    pub authentication: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub at: At,
    pub name: Option<String>,
    pub role: Sp<String>,
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// A name, or a glob (configuration classifications of Kubernetes and OpenSearch).
    pub name: String,
    pub at: At,
    pub sensitivity: Sensitivity,
    pub accessible_by: Option<Vec<Sp<String>>>,
    pub encryption_required: bool,
    pub pii_present: bool,
    pub audit_all_access: bool,
    /// Other resource segments that name this collection.
    pub aliases: Vec<String>,
}

impl Collection {
    /// A collection the configuration classifies (Kubernetes and OpenSearch, whose files have no
    /// classification of their own): a glob with a sensitivity and nothing else declared.
    pub fn configured(class: &super::ConfigClass) -> Collection {
        Collection {
            name: class.pattern.clone(),
            at: At::default(),
            sensitivity: class.sensitivity,
            accessible_by: None,
            encryption_required: false,
            pii_present: false,
            audit_all_access: false,
            aliases: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    Deny,
    Allow,
    RequireApproval,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicRule {
    pub at: At,
    pub name: String,
    pub collections: Vec<Sp<String>>,
    pub actions: Vec<Act>,
    pub roles: Vec<Sp<String>>,
    pub time_of_day: Option<Sp<String>>,
    pub days: Vec<Sp<String>>,
    pub allowed_countries: Vec<Sp<String>>,
    pub denied_countries: Vec<Sp<String>>,
    /// A condition on the size of the request (`> 10000`): bulk requests only.
    pub vectors_count: Option<Sp<String>>,
    /// What the author says the rule does (read to tell an inverted rule, POL063).
    pub description: Option<String>,
    pub action: Sp<RuleAction>,
    pub approvers: Vec<Sp<String>>,
}

impl DynamicRule {
    /// Whether the rule applies only under some condition.
    pub fn conditional(&self) -> bool {
        self.time_of_day.is_some()
            || !self.days.is_empty()
            || !self.allowed_countries.is_empty()
            || !self.denied_countries.is_empty()
            || self.vectors_count.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub at: At,
    pub name: String,
    pub condition: Sp<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub at: At,
    pub enabled: Option<Sp<bool>>,
    /// `log_all_access: true`: every data access is recorded.
    pub log_all_access: Option<Sp<bool>>,
    pub retention_days: Option<Sp<u64>>,
    pub events: Vec<Sp<String>>,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub at: At,
    pub at_rest: Option<Sp<bool>>,
    pub in_transit: Option<Sp<bool>>,
    pub tls_version: Option<Sp<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiProtection {
    pub at: At,
    /// `enabled: false` turns the whole section off.
    pub enabled: Option<Sp<bool>>,
    pub auto_detection: Option<Sp<bool>>,
    pub on_detection: Option<Sp<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub at: At,
    pub user_context_propagation: Option<Sp<bool>>,
    pub result_filtering: Option<Sp<bool>>,
}

/// Which checks a format can express (a Kubernetes manifest has no audit section, and
/// Kubernetes RBAC is deny-by-default by construction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expresses {
    pub default_decision: bool,
    pub audit: bool,
    pub rate_limits: bool,
    pub classification_in_file: bool,
    /// The format can say that reads are PII-filtered (native conditions, OpenSearch FLS).
    pub pii_filtering: bool,
    /// The format can require strong authentication (MFA, certificates) per role.
    pub auth_conditions: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub format: Format,
    pub at: At,
    pub expresses: Expresses,
    pub roles: Vec<Role>,
    pub bindings: Vec<Binding>,
    pub collections: Vec<Collection>,
    pub dynamic: Vec<DynamicRule>,
    pub audit: Option<Audit>,
    pub encryption: Option<Encryption>,
    pub pii: Option<PiiProtection>,
    pub gateway: Option<Gateway>,
    pub default_decision: Option<Sp<Decision>>,
    pub default_limits: Option<Sp<Limits>>,
    /// Role name → index of its first definition (`reindex`), for lookups in large policies.
    pub index: std::collections::BTreeMap<String, usize>,
}

impl Policy {
    pub fn empty(format: Format, at: At, expresses: Expresses) -> Policy {
        Policy {
            format,
            at,
            expresses,
            roles: Vec::new(),
            bindings: Vec::new(),
            collections: Vec::new(),
            dynamic: Vec::new(),
            audit: None,
            encryption: None,
            pii: None,
            gateway: None,
            default_decision: None,
            default_limits: None,
            index: std::collections::BTreeMap::new(),
        }
    }

    /// The first role of that name (through the index once `reindex` has run).
    pub fn role(&self, name: &str) -> Option<&Role> {
        if self.index.is_empty() {
            return self.roles.iter().find(|r| r.name == name);
        }
        self.index.get(name).and_then(|i| self.roles.get(*i))
    }

    /// Index the roles by name (after parsing; `role` falls back to a scan without it).
    pub fn reindex(&mut self) {
        self.index.clear();
        for (i, r) in self.roles.iter().enumerate() {
            self.index.entry(r.name.clone()).or_insert(i);
        }
    }
}
