//! The vector-DB RBAC policy shape (`kind: Policy`) that enterprise LLM reference
//! architectures keep as YAML, read as it is, plus `default_decision` (which that shape lacks;
//! `default` and `default_action` are read as it too). A permission may list several resources
//! (`resources:`, or `resource:` as a list): it becomes one [`Permission`] per resource.
//!
//! The Rust types below are the format's documentation: `llmguard lint-policy --print-schema`
//! prints the JSON Schema generated from them, and the walker takes its known keys from that
//! schema, so a key the schema does not describe is always reported (POL001) with its line.
//! The body may sit at the top level (as the reference architectures write it) or under `spec:`.

use super::model::*;
use super::params::{has, has_word, verb_table, PolicyParams};
use super::yaml::{Node, Value};
use super::{at, join, Parsed, Walk};
use crate::rules::Rule;
use schemars::JsonSchema;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// An access policy for a vector database or AI gateway (llmguard `lint-policy` native format).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "llmguard vector-DB access policy")]
pub struct PolicyDocument {
    /// Any API version string, e.g. `security.example.com/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Always `Policy`.
    pub kind: String,
    pub metadata: Option<Metadata>,
    /// The body may also be nested here, Kubernetes-style.
    pub spec: Option<PolicyBody>,
    #[serde(flatten)]
    pub body: PolicyBody,
}

/// Descriptive only: any other key (team, tags, last_reviewed…) is accepted, never checked.
#[derive(JsonSchema)]
pub struct Metadata {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// What happens to a request no permission grants. Write `deny`; missing or `allow` is a
    /// finding (POL051).
    pub default_decision: Option<DecisionWord>,
    /// `default_decision` as other policies spell it.
    pub default: Option<DecisionWord>,
    /// `default_decision` as other policies spell it.
    pub default_action: Option<DecisionWord>,
    /// The policy's own rate-limit defaults (POL042 compares roles against them).
    pub default_rate_limits: Option<RateLimits>,
    pub roles: Option<Vec<RoleSpec>>,
    pub role_bindings: Option<Vec<RoleBinding>>,
    pub data_classification: Option<DataClassification>,
    pub dynamic_policies: Option<Vec<DynamicPolicy>>,
    pub audit: Option<AuditSpec>,
    pub encryption: Option<EncryptionSpec>,
    pub pii_protection: Option<PiiSpec>,
    pub ai_gateway_integration: Option<GatewaySpec>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionWord {
    Deny,
    Allow,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    pub description: Option<String>,
    /// `human`, `service` or `llm_application`; service and LLM-application roles need rate
    /// limits (POL041).
    pub role_type: Option<String>,
    /// Roles whose permissions this role also has.
    pub inherits: Option<Vec<String>>,
    pub permissions: Option<Vec<PermissionSpec>>,
    pub conditions: Option<ConditionsSpec>,
    pub rate_limits: Option<RateLimits>,
    pub data_filtering: Option<DataFiltering>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionSpec {
    /// `KIND/COLLECTION/…` glob: `vectors/*`, `indexes/training/*`,
    /// `vectors/user-specific/{user_id}/*`; `roles/*`, `keys/*` name the access-control plane.
    /// A list grants the same actions on each.
    pub resource: Option<StringOrList>,
    /// The same as `resource` (either or both): a list of resources the actions apply to.
    pub resources: Option<StringOrList>,
    /// create, read, update, delete, list, search, admin, `*`, manage_roles, manage_keys, …
    pub actions: Vec<String>,
    /// Conditions that apply to this permission only.
    pub conditions: Option<ConditionsSpec>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionsSpec {
    /// CIDR blocks requests must come from (a list, or one string separated by commas).
    pub ip_whitelist: Option<StringOrList>,
    pub mfa_required: Option<bool>,
    /// certificate, mtls, api-key, oauth, … (a string or a list).
    pub authentication_method: Option<StringOrList>,
    pub time_based_access: Option<TimeBasedAccess>,
    pub pii_filtering: Option<bool>,
    pub audit_logging: Option<bool>,
    /// Date or RFC 3339 timestamp after which the grant is void.
    pub expires_at: Option<String>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeBasedAccess {
    /// `HH:MM-HH:MM`, `{start: HH:MM, end: HH:MM}`, or a list of such windows.
    pub allowed_hours: Option<HoursSpec>,
    pub allowed_days: Option<Vec<String>>,
    pub timezone: Option<String>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum HoursSpec {
    One(Window),
    Many(Vec<Window>),
}

/// One window of the day.
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Window {
    /// `HH:MM-HH:MM`.
    Text(String),
    Range(HourRange),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HourRange {
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM` (`24:00` is midnight at the end of the day).
    pub end: String,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    pub requests_per_minute: Option<u64>,
    pub vectors_per_request: Option<u64>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataFiltering {
    /// Collections this role never reaches, whatever its permissions say.
    pub exclude_collections: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBinding {
    pub name: Option<String>,
    pub subjects: Vec<SubjectSpec>,
    /// The role's name, or `{name: …}`; a glob (`support_*`) binds every role it matches.
    pub role_ref: RoleRef,
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum RoleRef {
    Name(String),
    Ref(RoleRefMap),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRefMap {
    pub name: String,
    pub kind: Option<String>,
    /// Kubernetes-style API group (`rbac.authorization.k8s.io`); not used.
    #[serde(rename = "apiGroup")]
    pub api_group: Option<String>,
    pub namespace: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectSpec {
    /// User, Group, ServiceAccount or APIKey.
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// Kubernetes-style API group (`rbac.authorization.k8s.io`); not used.
    #[serde(rename = "apiGroup")]
    pub api_group: Option<String>,
    /// Outside the organisation (partners, vendors, customers' systems).
    pub external: Option<bool>,
    pub authentication_method: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataClassification {
    pub collections: Vec<CollectionSpec>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionSpec {
    pub name: String,
    pub description: Option<String>,
    /// public, internal, confidential or restricted.
    pub sensitivity: String,
    /// Roles that may reach the collection (`["*"]`: everyone, public data only).
    pub accessible_by: Option<Vec<String>>,
    pub encryption_required: Option<bool>,
    pub pii_present: Option<bool>,
    pub audit_all_access: Option<bool>,
    /// Other resource path segments that name this collection (`user-specific` for
    /// `vectors/user-specific/{user_id}/*`).
    pub aliases: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamicPolicy {
    pub name: String,
    pub description: Option<String>,
    /// What the rule covers: a mapping, or a list of mappings (as the reference architectures
    /// write it, `- collections: [...]`), whose entries are joined.
    pub applies_to: Option<AppliesToSpec>,
    pub conditions: Option<DynamicConditions>,
    /// deny, allow or require_approval.
    pub action: String,
    pub approval_required_from: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum AppliesToSpec {
    One(AppliesTo),
    Many(Vec<AppliesTo>),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    pub collections: Option<Vec<String>>,
    pub actions: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DynamicConditions {
    /// `HH:MM-HH:MM`.
    pub time_of_day: Option<String>,
    pub days_of_week: Option<Vec<String>>,
    pub geo_location: Option<GeoLocation>,
    /// A comparison on the number of vectors a request touches (`"> 10000"`): the rule applies
    /// to bulk requests only.
    pub vectors_count: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoLocation {
    /// ISO 3166-1 alpha-2 codes.
    pub allowed_countries: Option<Vec<String>>,
    pub denied_countries: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSpec {
    pub enabled: Option<bool>,
    /// Every data access is recorded (counts as auditing restricted collections, POL044).
    pub log_all_access: Option<bool>,
    pub retention_days: Option<u64>,
    pub events: Option<Vec<String>>,
    /// Names (`siem`) or `{type, endpoint}` mappings.
    pub destinations: Option<Vec<Destination>>,
    pub alerts: Option<Vec<AlertSpec>>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum Destination {
    Name(String),
    Detailed(DestinationMap),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationMap {
    #[serde(rename = "type")]
    pub kind: String,
    pub endpoint: Option<String>,
    pub name: Option<String>,
    /// CloudWatch destinations.
    pub aws_region: Option<String>,
    pub log_group: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertSpec {
    pub name: String,
    /// `metric op number`, joined by AND/OR, with `in [...]` and windows (`over 5m`).
    pub condition: String,
    pub severity: Option<String>,
    pub action: Option<String>,
    pub notify: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptionSpec {
    pub at_rest: Option<AtRest>,
    pub in_transit: Option<InTransit>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
pub enum AtRest {
    Enabled(bool),
    Detailed(AtRestMap),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AtRestMap {
    pub enabled: Option<bool>,
    pub algorithm: Option<String>,
    pub key_rotation_days: Option<u64>,
    pub kms_key_id: Option<String>,
    /// Where keys live: `aws-kms`, `azure-key-vault`, `gcp-kms`, …
    pub key_management: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InTransit {
    pub enabled: Option<bool>,
    /// `1.2`, `1.3`, `TLS1.2`, `TLSv1.3`.
    pub tls_version: Option<String>,
    pub mtls: Option<bool>,
    /// The CA that issues the service certificates.
    pub certificate_authority: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiSpec {
    /// `false` turns PII protection off, auto-detection included.
    pub enabled: Option<bool>,
    /// `true`, or `{enabled, pii_types}`.
    pub auto_detection: Option<AutoDetectionSwitch>,
    pub on_detection: Option<OnDetection>,
    pub allowed_pii_collections: Option<Vec<String>>,
    pub pii_types: Option<Vec<String>>,
}

/// A switch written as a boolean or as a mapping with `enabled` (missing `enabled` means on)
/// and settings of its own (`auto_detection`).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum AutoDetectionSwitch {
    Enabled(bool),
    Detailed(AutoDetection),
}

/// `true`/`false`, or `{enabled, headers}` (missing `enabled` means on).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ContextPropagationSwitch {
    Enabled(bool),
    Detailed(ContextPropagation),
}

/// `true`/`false`, or `{enabled, strategy}` (missing `enabled` means on).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ResultFilteringSwitch {
    Enabled(bool),
    Detailed(ResultFiltering),
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoDetection {
    pub enabled: Option<bool>,
    /// email, phone_number, ssn, credit_card, ip_address, …
    pub pii_types: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextPropagation {
    pub enabled: Option<bool>,
    /// The headers that carry the end user's identity (`X-End-User-ID`).
    pub headers: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultFiltering {
    pub enabled: Option<bool>,
    /// How results are filtered (`per-user-isolation`).
    pub strategy: Option<String>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnDetection {
    /// redact, mask, block, log, allow.
    pub action: String,
    pub notify: Option<Vec<String>>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewaySpec {
    pub enabled: Option<bool>,
    /// The gateway passes the end user's identity to the vector DB (needed for `{user_id}`):
    /// `true`, or `{enabled, headers}`.
    pub user_context_propagation: Option<ContextPropagationSwitch>,
    /// The gateway filters retrieved results by the user's entitlements: `true`, or
    /// `{enabled, strategy}`.
    pub result_filtering: Option<ResultFilteringSwitch>,
    pub context_header: Option<String>,
}

/// The JSON Schema of the native format, as `--print-schema` prints it.
pub fn json_schema() -> String {
    serde_json::to_string_pretty(schema()).unwrap_or_default() + "\n"
}

fn schema() -> &'static serde_json::Value {
    static S: OnceLock<serde_json::Value> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = serde_json::to_value(schemars::schema_for!(PolicyDocument)).unwrap_or_default();
        descriptive(&mut s);
        s
    })
}

/// Every closed mapping of the format also accepts the descriptive keys (`description`,
/// `labels`, `annotations`, `comment`, `notes`): the schema says so, and the walker accepts
/// them (`super::DESCRIPTIVE_KEYS`) without reporting them.
fn descriptive(schema: &mut serde_json::Value) {
    fn add(obj: &mut serde_json::Value) {
        let closed = obj.get("additionalProperties") == Some(&serde_json::Value::Bool(false));
        let Some(props) = obj.get_mut("properties").and_then(|p| p.as_object_mut()) else {
            return;
        };
        if !closed {
            return;
        }
        for key in super::DESCRIPTIVE_KEYS {
            props.entry(key.to_string()).or_insert_with(
                || serde_json::json!({"description": "Descriptive only; never changes what the policy grants."}),
            );
        }
    }
    add(schema);
    if let Some(defs) = schema.get_mut("$defs").and_then(|d| d.as_object_mut()) {
        for def in defs.values_mut() {
            add(def);
        }
    }
}

/// Property names of a definition (`PolicyDocument` is the root), from the schema.
fn known(def: &str) -> &'static [String] {
    static K: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    let all = K.get_or_init(|| {
        let s = schema();
        let mut out = BTreeMap::new();
        let props = |v: &serde_json::Value| -> Vec<String> {
            v.get("properties")
                .and_then(|p| p.as_object())
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        out.insert("PolicyDocument".to_string(), props(s));
        if let Some(defs) = s.get("$defs").and_then(|d| d.as_object()) {
            for (name, v) in defs {
                out.insert(name.clone(), props(v));
            }
        }
        out
    });
    all.get(def).map(Vec::as_slice).unwrap_or(&[])
}

/// Whether a document is this format: `kind: Policy` with policy sections.
pub fn is_native(doc: &Node) -> bool {
    let kind = doc.get("kind").and_then(Node::as_str);
    let body = doc.get("spec").filter(|s| s.as_map().is_some()).unwrap_or(doc);
    let sections = ["roles", "role_bindings", "data_classification", "dynamic_policies"]
        .iter()
        .any(|k| body.get(k).is_some());
    // Other authors name the kind after what it guards (`VectorDBPolicy`, `AccessPolicy`);
    // with the policy's own sections that is this shape too (Kubernetes' NetworkPolicy and
    // the like have none of them).
    let policy_kind = kind.is_some_and(|k| k != "Policy" && k.ends_with("Policy"));
    (kind == Some("Policy") && (sections || doc.get("apiVersion").is_some()))
        || (policy_kind && sections)
        || (kind.is_none() && body.get("roles").is_some() && body.get("role_bindings").is_some())
}

pub fn parse(docs: &[Node], params: &PolicyParams) -> Parsed {
    let mut w = Walk {
        problems: Vec::new(),
        params,
    };
    let mut policies = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        if !is_native(doc) {
            continue;
        }
        // A multi-document file names documents by index; a single one is the root.
        let root = if docs.len() > 1 { format!("/{i}") } else { String::new() };
        policies.push(document(&mut w, doc, &root));
    }
    Parsed {
        policies,
        problems: w.problems,
        format: Some(Format::Native),
    }
}

fn document(w: &mut Walk, doc: &Node, root: &str) -> Policy {
    let mut p = Policy::empty(
        Format::Native,
        at(doc, root),
        Expresses {
            default_decision: true,
            audit: true,
            rate_limits: true,
            classification_in_file: true,
            pii_filtering: true,
            auth_conditions: true,
        },
    );
    let mut bodies = Vec::new();
    for (k, v, path) in w.entries(doc, root, Some(known("PolicyDocument")), "the policy") {
        match k {
            "apiVersion" => {
                w.string(v, &path);
            }
            "kind" => {
                w.string(v, &path);
            }
            "metadata" => metadata(w, v, &path),
            "spec" => bodies.push((v, path)),
            _ => body_key(w, &mut p, k, v, &path),
        }
    }
    for (v, path) in bodies {
        for (k, v, path) in w.entries(v, &path, Some(known("PolicyBody")), "spec") {
            body_key(w, &mut p, k, v, &path);
        }
    }
    p
}

/// `metadata` describes the policy and is never checked beyond being a mapping: templates
/// carry team, tags, review dates and the like there.
fn metadata(w: &mut Walk, node: &Node, path: &str) {
    w.entries(node, path, None, "metadata");
}

fn body_key(w: &mut Walk, p: &mut Policy, k: &str, v: &Node, path: &str) {
    match k {
        "default_decision" | "default" | "default_action" => {
            if let Some(s) = w.string(v, path) {
                match s.value.to_ascii_lowercase().as_str() {
                    "deny" => {
                        p.default_decision = Some(Sp {
                            value: Decision::Deny,
                            at: s.at,
                        })
                    }
                    "allow" => {
                        p.default_decision = Some(Sp {
                            value: Decision::Allow,
                            at: s.at,
                        })
                    }
                    other => w.problem(
                        Rule::PolicyInvalid,
                        s.at,
                        format!("`{k}` must be `deny` or `allow`, not `{other}`"),
                        path,
                    ),
                }
            }
        }
        "default_rate_limits" => p.default_limits = limits(w, v, path),
        "roles" => {
            for (n, rp) in w.list(v, path) {
                if let Some(r) = role(w, n, &rp) {
                    p.roles.push(r);
                }
            }
        }
        "role_bindings" => {
            for (n, bp) in w.list(v, path) {
                if let Some(b) = binding(w, n, &bp) {
                    p.bindings.push(b);
                }
            }
        }
        "data_classification" => {
            for (k2, v2, p2) in w.entries(v, path, Some(known("DataClassification")), "data_classification") {
                if k2 == "collections" {
                    for (n, cp) in w.list(v2, &p2) {
                        if let Some(c) = collection(w, n, &cp) {
                            p.collections.push(c);
                        }
                    }
                }
            }
        }
        "dynamic_policies" => {
            for (n, dp) in w.list(v, path) {
                if let Some(d) = dynamic(w, n, &dp) {
                    p.dynamic.push(d);
                }
            }
        }
        "audit" => p.audit = Some(audit(w, v, path)),
        "encryption" => p.encryption = Some(encryption(w, v, path)),
        "pii_protection" => {
            let mut pii = PiiProtection {
                at: at(v, path),
                enabled: None,
                auto_detection: None,
                on_detection: None,
            };
            for (k2, v2, p2) in w.entries(v, path, Some(known("PiiSpec")), "pii_protection") {
                match k2 {
                    "enabled" => pii.enabled = w.bool(v2, &p2),
                    "auto_detection" => pii.auto_detection = toggle(w, v2, &p2, "AutoDetection", "auto_detection"),
                    "on_detection" => {
                        for (k3, v3, p3) in w.entries(v2, &p2, Some(known("OnDetection")), "on_detection") {
                            match k3 {
                                "action" => pii.on_detection = w.string(v3, &p3),
                                _ => {
                                    w.strings(v3, &p3);
                                }
                            }
                        }
                    }
                    _ => {
                        w.strings(v2, &p2);
                    }
                }
            }
            p.pii = Some(pii);
        }
        "ai_gateway_integration" => {
            let mut g = Gateway {
                at: at(v, path),
                user_context_propagation: None,
                result_filtering: None,
            };
            for (k2, v2, p2) in w.entries(v, path, Some(known("GatewaySpec")), "ai_gateway_integration") {
                match k2 {
                    "user_context_propagation" => {
                        g.user_context_propagation =
                            toggle(w, v2, &p2, "ContextPropagation", "user_context_propagation")
                    }
                    "result_filtering" => {
                        g.result_filtering = toggle(w, v2, &p2, "ResultFiltering", "result_filtering")
                    }
                    "enabled" => {
                        w.bool(v2, &p2);
                    }
                    _ => {
                        w.string(v2, &p2);
                    }
                }
            }
            p.gateway = Some(g);
        }
        _ => {}
    }
}

/// A switch written as a boolean or as a mapping (`{enabled: true, …}`, keys of `def`): whether
/// it is on (a mapping without `enabled` is on), with the position of what said so. The other
/// settings are read for their type only.
fn toggle(w: &mut Walk, v: &Node, path: &str, def: &str, what: &str) -> Option<Sp<bool>> {
    if v.as_map().is_none() {
        return w.bool(v, path);
    }
    let mut on = Some(Sp {
        value: true,
        at: at(v, path),
    });
    for (k, v2, p2) in w.entries(v, path, Some(known(def)), what) {
        match (k, &v2.value) {
            ("enabled", _) => on = w.bool(v2, &p2),
            (_, Value::Seq(_)) => {
                w.strings(v2, &p2);
            }
            _ => {
                w.string(v2, &p2);
            }
        }
    }
    on
}

fn limits(w: &mut Walk, v: &Node, path: &str) -> Option<Sp<Limits>> {
    let mut l = Limits::default();
    for (k, v2, p2) in w.entries(v, path, Some(known("RateLimits")), "rate_limits") {
        let n = w.uint(v2, &p2).map(|s| s.value);
        match k {
            "requests_per_minute" => l.requests_per_minute = n,
            _ => l.vectors_per_request = n,
        }
    }
    (v.as_map().is_some()).then(|| Sp {
        value: l,
        at: at(v, path),
    })
}

fn name_of(w: &mut Walk, node: &Node, path: &str, what: &str) -> Option<String> {
    match node.get("name").and_then(|n| w.string(n, &join(path, "name"))) {
        Some(s) if !s.value.trim().is_empty() => Some(s.value),
        _ => {
            if node.as_map().is_some() {
                w.problem(
                    Rule::PolicyInvalid,
                    at(node, path),
                    format!("{what} at `{path}` has no `name`"),
                    path,
                );
            } else {
                w.entries(node, path, None, what);
            }
            None
        }
    }
}

fn role(w: &mut Walk, node: &Node, path: &str) -> Option<Role> {
    let name = name_of(w, node, path, "a role")?;
    let mut r = Role {
        name,
        at: at(node, path),
        inherits: Vec::new(),
        permissions: Vec::new(),
        conditions: Conditions::default(),
        limits: None,
        excludes: Vec::new(),
        service: false,
        dormant: false,
    };
    for (k, v, p) in w.entries(node, path, Some(known("RoleSpec")), "a role") {
        match k {
            "inherits" => r.inherits = w.strings(v, &p),
            "permissions" => {
                for (n, pp) in w.list(v, &p) {
                    r.permissions.extend(permission(w, n, &pp));
                }
            }
            "conditions" => r.conditions = conditions(w, v, &p),
            "rate_limits" => r.limits = limits(w, v, &p),
            "data_filtering" => {
                for (k2, v2, p2) in w.entries(v, &p, Some(known("DataFiltering")), "data_filtering") {
                    if k2 == "exclude_collections" {
                        r.excludes = w.strings(v2, &p2);
                    }
                }
            }
            "role_type" => {
                if let Some(t) = w.string(v, &p) {
                    let t = t.value.to_ascii_lowercase().replace('-', "_");
                    r.service = matches!(t.as_str(), "service" | "llm_application" | "application" | "llm_app");
                }
            }
            _ => {
                w.string(v, &p);
            }
        }
    }
    Some(r)
}

/// Map action words to canonical actions (`*` expands), management actions, and unknown words.
pub(crate) fn actions(w: &mut Walk, words: &[Sp<String>]) -> (Vec<Act>, bool, Vec<Sp<String>>) {
    let params = w.params;
    let table = verb_table(&params.actions);
    let mut acts = Vec::new();
    let mut wildcard = false;
    let mut management = Vec::new();
    for word in words {
        let lw = word.value.trim().to_ascii_lowercase();
        if has(&params.all_actions, &lw) {
            wildcard = true;
            acts.extend(Act::ALL);
            continue;
        }
        if has(&params.management_actions, &lw) {
            management.push(word.clone());
            continue;
        }
        let mut found = false;
        for (act, list) in &table {
            if has(list, &lw) {
                acts.push(*act);
                found = true;
            }
        }
        if !found {
            w.problem(
                Rule::PolicyUndefinedReference,
                word.at.clone(),
                format!("action `{}` is not one llmguard knows (rules/policy/policy.yaml lists them); the engine may reject it or read it differently", word.value),
                &format!("action:{}", word.value),
            );
        }
    }
    acts.sort();
    acts.dedup();
    (acts, wildcard, management)
}

/// Classify a resource string (`vectors/hr/*`).
pub(crate) fn scope(params: &PolicyParams, resource: &str) -> Scope {
    let r = resource.trim().trim_start_matches('/');
    if r == "*" || r == "**" || r == "*/*" || r == "**/*" {
        return Scope::Everything;
    }
    let mut segs = r.splitn(3, '/');
    let kind = segs.next().unwrap_or("").to_string();
    let collection = segs.next().unwrap_or("*").to_string();
    let rest = segs.next().unwrap_or("").to_string();
    if has(&params.management_resources, &kind) {
        Scope::Management { kind }
    } else if has(&params.data_resources, &kind) {
        Scope::Data {
            kind,
            collection: if collection.is_empty() || collection == "**" {
                "*".into()
            } else {
                collection
            },
            rest,
        }
    } else if kind == "*" {
        Scope::Everything
    } else {
        Scope::Unknown { kind }
    }
}

/// One permission entry: one [`Permission`] for each resource it names (`resource` and
/// `resources` each take one string or a list), all with the same actions and conditions.
fn permission(w: &mut Walk, node: &Node, path: &str) -> Vec<Permission> {
    let mut resources = Vec::new();
    let mut words = Vec::new();
    let mut conds = None;
    for (k, v, p) in w.entries(node, path, Some(known("PermissionSpec")), "a permission") {
        match k {
            "resource" | "resources" => resources.extend(w.strings(v, &p)),
            "actions" => words = w.strings(v, &p),
            _ => conds = Some(conditions(w, v, &p)),
        }
    }
    if resources.is_empty() {
        if node.as_map().is_some() {
            w.problem(
                Rule::PolicyInvalid,
                at(node, path),
                format!("the permission at `{path}` has no `resource`"),
                path,
            );
        }
        return Vec::new();
    }
    let named: Vec<&str> = resources.iter().map(|r| r.value.as_str()).collect();
    if words.is_empty() {
        w.problem(
            Rule::PolicyInvalid,
            at(node, path),
            format!("the permission on `{}` lists no `actions`", named.join("`, `")),
            path,
        );
    }
    let (acts, wildcard_actions, management) = actions(w, &words);
    let words: Vec<String> = words.iter().map(|x| x.value.trim().to_ascii_lowercase()).collect();
    let mut out = Vec::with_capacity(resources.len());
    for resource in resources {
        let scope = scope(w.params, &resource.value);
        if let Scope::Unknown { kind } = &scope {
            w.problem(
                Rule::PolicyUndefinedReference,
                resource.at.clone(),
                format!(
                    "resource kind `{kind}` in `{}` is neither a data resource nor part of the access-control plane (rules/policy/policy.yaml lists both)",
                    resource.value
                ),
                &format!("resource-kind:{kind}"),
            );
        }
        out.push(Permission {
            at: at(node, path),
            resource,
            scope,
            acts: acts.clone(),
            wildcard_actions,
            words: words.clone(),
            management: management.clone(),
            conditions: conds.clone(),
        });
    }
    out
}

fn conditions(w: &mut Walk, node: &Node, path: &str) -> Conditions {
    let mut c = Conditions {
        at: Some(at(node, path)),
        ..Conditions::default()
    };
    for (k, v, p) in w.entries(node, path, Some(known("ConditionsSpec")), "conditions") {
        match k {
            "ip_whitelist" => c.ip_whitelist = split_list(w.strings(v, &p)),
            "mfa_required" => c.mfa_required = w.bool(v, &p),
            "authentication_method" => c.authentication = w.strings(v, &p),
            "pii_filtering" => c.pii_filtering = w.bool(v, &p),
            "audit_logging" => c.audit_logging = w.bool(v, &p),
            "expires_at" => c.expires_at = w.string(v, &p),
            _ => {
                for (k2, v2, p2) in w.entries(v, &p, Some(known("TimeBasedAccess")), "time_based_access") {
                    match k2 {
                        "allowed_hours" => c.allowed_hours = hours(w, v2, &p2),
                        "allowed_days" => c.allowed_days = w.strings(v2, &p2),
                        _ => {
                            w.string(v2, &p2);
                        }
                    }
                }
            }
        }
    }
    c
}

/// `allowed_hours`: a window (`"08:00-18:00"` or `{start, end}`) or a list of windows, each as
/// the `HH:MM-HH:MM` text the checks read.
fn hours(w: &mut Walk, v: &Node, path: &str) -> Vec<Sp<String>> {
    let items = match &v.value {
        Value::Seq(_) => w.list(v, path),
        _ => vec![(v, path.to_string())],
    };
    let mut out = Vec::new();
    for (item, ip) in items {
        if item.as_map().is_none() {
            out.extend(w.string(item, &ip));
            continue;
        }
        let (mut start, mut end) = (None, None);
        for (k, v2, p2) in w.entries(item, &ip, Some(known("HourRange")), "an hour range") {
            let x = w.string(v2, &p2);
            if k == "start" {
                start = x;
            } else {
                end = x;
            }
        }
        match (start, end) {
            (Some(a), Some(b)) => out.push(Sp {
                value: format!("{}-{}", a.value.trim(), b.value.trim()),
                at: at(item, &ip),
            }),
            _ => w.problem(
                Rule::PolicyInvalid,
                at(item, &ip),
                format!("the hour range at `{ip}` needs both `start` and `end`"),
                &ip,
            ),
        }
    }
    out
}

/// Entries written as one string separated by commas or spaces (`"10.0.0.0/8, 10.1.0.0/16"`)
/// split into one entry each, keeping the position of the string.
fn split_list(items: Vec<Sp<String>>) -> Vec<Sp<String>> {
    let mut out = Vec::new();
    for item in items {
        let parts: Vec<&str> = item
            .value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|x| !x.is_empty())
            .collect();
        if parts.len() <= 1 {
            out.push(item);
        } else {
            out.extend(parts.into_iter().map(|x| Sp {
                value: x.to_string(),
                at: item.at.clone(),
            }));
        }
    }
    out
}

fn binding(w: &mut Walk, node: &Node, path: &str) -> Option<Binding> {
    let mut name = None;
    let mut role = None;
    let mut subjects = Vec::new();
    for (k, v, p) in w.entries(node, path, Some(known("RoleBinding")), "a role binding") {
        match k {
            "name" => name = w.string(v, &p).map(|s| s.value),
            "role_ref" => {
                role = match &v.value {
                    Value::Map(_) => {
                        let mut n = None;
                        for (k2, v2, p2) in w.entries(v, &p, Some(known("RoleRefMap")), "role_ref") {
                            let s = w.string(v2, &p2);
                            if k2 == "name" {
                                n = s;
                            }
                        }
                        n
                    }
                    _ => w.string(v, &p),
                }
            }
            _ => {
                for (n, sp) in w.list(v, &p) {
                    let mut s = Subject {
                        at: at(n, &sp),
                        kind: SubjectKind::Other,
                        name: String::new(),
                        external: false,
                        authentication: None,
                    };
                    for (k2, v2, p2) in w.entries(n, &sp, Some(known("SubjectSpec")), "a subject") {
                        match k2 {
                            "kind" => {
                                s.kind = match w.string(v2, &p2).map(|x| x.value.to_ascii_lowercase()).as_deref() {
                                    Some("user") => SubjectKind::User,
                                    Some("group") => SubjectKind::Group,
                                    Some("serviceaccount") => SubjectKind::ServiceAccount,
                                    Some("apikey") | Some("api_key") | Some("api-key") => SubjectKind::ApiKey,
                                    Some(other) => {
                                        w.problem(
                                            Rule::PolicyInvalid,
                                            at(v2, &p2),
                                            format!(
                                                "subject kind `{other}` is not User, Group, ServiceAccount or APIKey"
                                            ),
                                            &p2,
                                        );
                                        SubjectKind::Other
                                    }
                                    None => SubjectKind::Other,
                                }
                            }
                            "name" => s.name = w.string(v2, &p2).map(|x| x.value).unwrap_or_default(),
                            "external" => s.external = w.bool(v2, &p2).is_some_and(|b| b.value),
                            "authentication_method" => s.authentication = w.string(v2, &p2).map(|x| x.value),
                            _ => {
                                w.string(v2, &p2);
                            }
                        }
                    }
                    if w.params
                        .external_prefixes
                        .iter()
                        .any(|x| s.name.to_ascii_lowercase().starts_with(x.as_str()))
                    {
                        s.external = true;
                    }
                    subjects.push(s);
                }
            }
        }
    }
    let Some(role) = role else {
        if node.as_map().is_some() {
            w.problem(
                Rule::PolicyInvalid,
                at(node, path),
                format!("the role binding at `{path}` has no `role_ref`"),
                path,
            );
        }
        return None;
    };
    // `partner-acme-corp`, or any subject of role `external-partner`, is outside the
    // organisation even without `external: true`.
    let external_role = has_word(&w.params.external_words, &role.value);
    for s in &mut subjects {
        if external_role || has_word(&w.params.external_words, &s.name) {
            s.external = true;
        }
    }
    Some(Binding {
        at: at(node, path),
        name,
        role,
        subjects,
    })
}

fn collection(w: &mut Walk, node: &Node, path: &str) -> Option<Collection> {
    let name = name_of(w, node, path, "a classified collection")?;
    let mut c = Collection {
        name,
        at: at(node, path),
        sensitivity: Sensitivity::Restricted,
        accessible_by: None,
        encryption_required: false,
        pii_present: false,
        audit_all_access: false,
        aliases: Vec::new(),
    };
    let mut had_sensitivity = false;
    for (k, v, p) in w.entries(node, path, Some(known("CollectionSpec")), "a classified collection") {
        match k {
            "sensitivity" => {
                if let Some(s) = w.string(v, &p) {
                    match Sensitivity::parse(&s.value) {
                        Some(x) => {
                            c.sensitivity = x;
                            had_sensitivity = true;
                        }
                        None => w.problem(
                            Rule::PolicyInvalid,
                            s.at,
                            format!("sensitivity `{}` is not public, internal, confidential or restricted; treated as restricted", s.value),
                            &p,
                        ),
                    }
                }
            }
            "accessible_by" => c.accessible_by = Some(w.strings(v, &p)),
            "encryption_required" => c.encryption_required = w.bool(v, &p).is_some_and(|b| b.value),
            "pii_present" => c.pii_present = w.bool(v, &p).is_some_and(|b| b.value),
            "audit_all_access" => c.audit_all_access = w.bool(v, &p).is_some_and(|b| b.value),
            "aliases" => c.aliases = w.strings(v, &p).into_iter().map(|s| s.value).collect(),
            _ => {
                w.string(v, &p);
            }
        }
    }
    if !had_sensitivity && node.get("sensitivity").is_none() {
        w.problem(
            Rule::PolicyInvalid,
            c.at.clone(),
            format!("collection `{}` has no `sensitivity`; treated as restricted", c.name),
            path,
        );
    }
    Some(c)
}

fn dynamic(w: &mut Walk, node: &Node, path: &str) -> Option<DynamicRule> {
    let name = name_of(w, node, path, "a dynamic policy")?;
    let mut d = DynamicRule {
        at: at(node, path),
        name,
        collections: Vec::new(),
        actions: Vec::new(),
        roles: Vec::new(),
        time_of_day: None,
        days: Vec::new(),
        allowed_countries: Vec::new(),
        denied_countries: Vec::new(),
        vectors_count: None,
        description: None,
        action: Sp {
            value: RuleAction::Deny,
            at: at(node, path),
        },
        approvers: Vec::new(),
    };
    let mut had_action = false;
    for (k, v, p) in w.entries(node, path, Some(known("DynamicPolicy")), "a dynamic policy") {
        match k {
            "applies_to" => {
                // A mapping, or a list of mappings whose entries are joined.
                let items = match &v.value {
                    Value::Seq(_) => w.list(v, &p),
                    _ => vec![(v, p.clone())],
                };
                for (item, ip) in items {
                    for (k2, v2, p2) in w.entries(item, &ip, Some(known("AppliesTo")), "applies_to") {
                        let list = w.strings(v2, &p2);
                        match k2 {
                            "collections" => d.collections.extend(list),
                            "roles" => d.roles.extend(list),
                            _ => {
                                d.actions.extend(actions(w, &list).0);
                                d.actions.sort();
                                d.actions.dedup();
                            }
                        }
                    }
                }
            }
            "conditions" => {
                for (k2, v2, p2) in w.entries(v, &p, Some(known("DynamicConditions")), "conditions") {
                    match k2 {
                        "time_of_day" => d.time_of_day = w.string(v2, &p2),
                        "days_of_week" => d.days = w.strings(v2, &p2),
                        "vectors_count" => d.vectors_count = w.string(v2, &p2),
                        _ => {
                            for (k3, v3, p3) in w.entries(v2, &p2, Some(known("GeoLocation")), "geo_location") {
                                let list = w.strings(v3, &p3);
                                if k3 == "allowed_countries" {
                                    d.allowed_countries = list;
                                } else {
                                    d.denied_countries = list;
                                }
                            }
                        }
                    }
                }
            }
            "action" => {
                if let Some(s) = w.string(v, &p) {
                    let a = match s.value.to_ascii_lowercase().replace('-', "_").as_str() {
                        "deny" => Some(RuleAction::Deny),
                        "allow" => Some(RuleAction::Allow),
                        "require_approval" => Some(RuleAction::RequireApproval),
                        _ => None,
                    };
                    match a {
                        Some(a) => {
                            d.action = Sp { value: a, at: s.at };
                            had_action = true;
                        }
                        None => w.problem(
                            Rule::PolicyInvalid,
                            s.at,
                            format!(
                                "dynamic policy action `{}` is not deny, allow or require_approval",
                                s.value
                            ),
                            &p,
                        ),
                    }
                }
            }
            "approval_required_from" => d.approvers = w.strings(v, &p),
            _ => {
                w.string(v, &p);
            }
        }
    }
    // Descriptive keys are not returned by `entries`; the description is read for POL063.
    d.description = node.get("description").and_then(Node::as_str).map(str::to_string);
    had_action.then_some(d)
}

fn audit(w: &mut Walk, node: &Node, path: &str) -> Audit {
    let mut a = Audit {
        at: at(node, path),
        enabled: None,
        log_all_access: None,
        retention_days: None,
        events: Vec::new(),
        alerts: Vec::new(),
    };
    for (k, v, p) in w.entries(node, path, Some(known("AuditSpec")), "audit") {
        match k {
            "enabled" => a.enabled = w.bool(v, &p),
            "log_all_access" => a.log_all_access = w.bool(v, &p),
            "retention_days" => a.retention_days = w.uint(v, &p),
            "events" => a.events = w.strings(v, &p),
            "destinations" => {
                for (n, dp) in w.list(v, &p) {
                    if n.as_map().is_some() {
                        for (_, v2, p2) in w.entries(n, &dp, Some(known("DestinationMap")), "a destination") {
                            w.string(v2, &p2);
                        }
                    } else {
                        w.string(n, &dp);
                    }
                }
            }
            _ => {
                for (n, ap) in w.list(v, &p) {
                    let mut name = String::new();
                    let mut cond = None;
                    for (k2, v2, p2) in w.entries(n, &ap, Some(known("AlertSpec")), "an alert") {
                        match k2 {
                            "name" => name = w.string(v2, &p2).map(|s| s.value).unwrap_or_default(),
                            "condition" => cond = w.string(v2, &p2),
                            "notify" => {
                                w.strings(v2, &p2);
                            }
                            _ => {
                                w.string(v2, &p2);
                            }
                        }
                    }
                    if let Some(condition) = cond {
                        a.alerts.push(Alert {
                            at: at(n, &ap),
                            name,
                            condition,
                        });
                    }
                }
            }
        }
    }
    a
}

fn encryption(w: &mut Walk, node: &Node, path: &str) -> Encryption {
    let mut e = Encryption {
        at: at(node, path),
        at_rest: None,
        in_transit: None,
        tls_version: None,
    };
    for (k, v, p) in w.entries(node, path, Some(known("EncryptionSpec")), "encryption") {
        if k == "at_rest" {
            if let Value::Bool(_) = v.value {
                e.at_rest = w.bool(v, &p);
            } else {
                e.at_rest = Some(Sp {
                    value: true,
                    at: at(v, &p),
                });
                for (k2, v2, p2) in w.entries(v, &p, Some(known("AtRestMap")), "at_rest") {
                    match k2 {
                        "enabled" => e.at_rest = w.bool(v2, &p2),
                        "key_rotation_days" => {
                            w.uint(v2, &p2);
                        }
                        _ => {
                            w.string(v2, &p2);
                        }
                    }
                }
            }
        } else {
            e.in_transit = Some(Sp {
                value: true,
                at: at(v, &p),
            });
            for (k2, v2, p2) in w.entries(v, &p, Some(known("InTransit")), "in_transit") {
                match k2 {
                    "enabled" => e.in_transit = w.bool(v2, &p2),
                    "tls_version" => e.tls_version = w.string(v2, &p2),
                    "certificate_authority" => {
                        w.string(v2, &p2);
                    }
                    _ => {
                        w.bool(v2, &p2);
                    }
                }
            }
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_knows_every_section() {
        for k in [
            "roles",
            "role_bindings",
            "default_decision",
            "spec",
            "apiVersion",
            "ai_gateway_integration",
        ] {
            assert!(known("PolicyDocument").iter().any(|x| x == k), "{k}");
        }
        assert!(known("ConditionsSpec").iter().any(|x| x == "expires_at"));
        assert!(known("RoleSpec").iter().any(|x| x == "data_filtering"));
        assert!(json_schema().contains("\"additionalProperties\": false"));
    }
}
