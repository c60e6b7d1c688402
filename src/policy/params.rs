//! The detection data of `lint-policy` (`rules/policy/*.yaml`, embedded at build time): which
//! words mean which action, what is strong authentication, thresholds. Code implements checks.

use crate::rules::RulesError;
use serde::Deserialize;
use std::collections::BTreeMap;

const POLICY: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/policy/policy.json"));
const COUNTRIES: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/policy/countries.json"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerbMap {
    pub read: Vec<String>,
    pub list: Vec<String>,
    pub create: Vec<String>,
    pub update: Vec<String>,
    pub delete: Vec<String>,
    pub admin: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateDefaults {
    pub requests_per_minute: u64,
    pub vectors_per_request: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesParams {
    pub rbac_resources: Vec<String>,
    pub credential_resources: Vec<String>,
    pub approval_resources: Vec<String>,
    pub escalation_verbs: Vec<String>,
    pub verbs: VerbMap,
    pub other_verbs: Vec<String>,
    pub all_verbs: Vec<String>,
    pub builtin_roles: BuiltinRoles,
    pub everyone_subjects: Vec<String>,
}

/// Roles an engine ships (Kubernetes' default ClusterRoles, OpenSearch's static roles):
/// bindings to them are not undefined references.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinRoles {
    /// Grant every action on everything (cluster-admin, all_access).
    pub everything: Vec<String>,
    /// Read every index or resource.
    #[serde(default)]
    pub read_all: Vec<String>,
    /// Reach only data bound to the caller (OpenSearch `own_index`): safe to grant to all.
    #[serde(default)]
    pub per_user: Vec<String>,
    /// Known by name, not modelled.
    pub known: Vec<String>,
    /// Name prefixes of further built-in roles (`system:`).
    #[serde(default)]
    pub prefixes: Vec<String>,
}

impl BuiltinRoles {
    pub fn is_builtin(&self, name: &str) -> bool {
        has(&self.everything, name)
            || has(&self.read_all, name)
            || has(&self.per_user, name)
            || has(&self.known, name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSearchParams {
    pub escalation_cluster_permissions: Vec<String>,
    pub security_indices: Vec<String>,
    pub action_groups: VerbMap,
    pub all: Vec<String>,
    pub crud: Vec<String>,
    pub other_groups: Vec<String>,
    pub permissions: Vec<PermissionFamily>,
    pub builtin_roles: BuiltinRoles,
}

/// Index permissions matching `pattern` (a glob over the permission string) grant `acts`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionFamily {
    pub pattern: String,
    pub acts: Vec<super::model::Act>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyParams {
    pub actions: VerbMap,
    pub all_actions: Vec<String>,
    pub management_actions: Vec<String>,
    pub management_resources: Vec<String>,
    pub data_resources: Vec<String>,
    pub user_scoped_segments: Vec<String>,
    pub user_placeholders: Vec<String>,
    pub strong_authentication: Vec<String>,
    pub key_authentication: Vec<String>,
    pub service_role_words: Vec<String>,
    pub default_rate_limits: RateDefaults,
    pub excessive_factor: u64,
    pub access_events: Vec<String>,
    pub min_retention_days: u64,
    pub min_tls: String,
    pub pii_filtering_actions: Vec<String>,
    pub external_prefixes: Vec<String>,
    pub external_words: Vec<String>,
    pub business_core_hours: String,
    pub allow_only_words: Vec<String>,
    pub deny_intent_words: Vec<String>,
    pub never_expires_year: i64,
    pub kubernetes: KubernetesParams,
    pub opensearch: OpenSearchParams,
    #[serde(skip)]
    pub countries: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Countries {
    codes: Vec<String>,
}

impl PolicyParams {
    pub fn builtin() -> Result<PolicyParams, RulesError> {
        let mut p: PolicyParams = serde_json::from_str(POLICY).map_err(|e| RulesError::Entry {
            file: "rules/policy/policy.yaml".into(),
            entry: "policy".into(),
            message: e.to_string(),
        })?;
        let c: Countries = serde_json::from_str(COUNTRIES).map_err(|e| RulesError::Entry {
            file: "rules/policy/countries.yaml".into(),
            entry: "codes".into(),
            message: e.to_string(),
        })?;
        p.countries = c.codes;
        Ok(p)
    }
}

/// Lower-case membership test.
pub fn has(list: &[String], word: &str) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// Whether `text` holds one of `words` as a whole word: words are separated by anything but
/// letters and digits (`partner-acme-corp`, `external_partner`, `Partner:acme`); an entry of
/// several words (`third-party`, `business hours`) matches the same words with any separator.
pub fn has_word(words: &[String], text: &str) -> bool {
    fn norm(s: &str) -> String {
        let mut out = String::from(" ");
        for c in s.chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                out.push(c);
            } else if !out.ends_with(' ') {
                out.push(' ');
            }
        }
        if !out.ends_with(' ') {
            out.push(' ');
        }
        out
    }
    let t = norm(text);
    words.iter().any(|w| {
        let w = norm(w);
        w.trim() != "" && t.contains(&w)
    })
}

/// Words of a verb map by canonical action.
pub fn verb_table(m: &VerbMap) -> BTreeMap<super::model::Act, &[String]> {
    use super::model::Act;
    BTreeMap::from([
        (Act::Read, m.read.as_slice()),
        (Act::List, m.list.as_slice()),
        (Act::Create, m.create.as_slice()),
        (Act::Update, m.update.as_slice()),
        (Act::Delete, m.delete.as_slice()),
        (Act::Admin, m.admin.as_slice()),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn builtin_parses() {
        let p = super::PolicyParams::builtin().unwrap();
        assert!(p.countries.iter().any(|c| c == "DE"));
        assert!(!p.countries.iter().any(|c| c == "UK"));
        assert_eq!(p.min_tls, "1.2");
    }
}
