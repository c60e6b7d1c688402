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
    pub management_resources: Vec<String>,
    pub escalation_verbs: Vec<String>,
    pub verbs: VerbMap,
    pub all_verbs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenSearchParams {
    pub escalation_cluster_permissions: Vec<String>,
    pub security_indices: Vec<String>,
    pub action_groups: VerbMap,
    pub all: Vec<String>,
    pub crud: Vec<String>,
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
