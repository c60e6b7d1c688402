//! OMS signature verification parameters: the paths every manifest leaves out, the extended
//! key usages that allow signing models, and the critical certificate extensions that may be
//! accepted. The lists are data (`rules/model/signing.yaml`); `crate::signing` uses them.

use super::RulesError;
use serde::Deserialize;

const BUILTIN_FILE: &str = "rules/model/signing.yaml";
/// `rules/model/signing.yaml`, re-encoded as JSON by `build.rs`.
const BUILTIN: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/signing.json"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    default_ignores: Vec<PathEntry>,
    code_signing_ekus: Vec<OidEntry>,
    known_critical_extensions: Vec<OidEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathEntry {
    path: String,
    #[allow(dead_code)]
    reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OidEntry {
    oid: String,
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    reason: String,
}

/// The compiled parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningPolicy {
    /// Top-level paths left out of every manifest.
    pub default_ignores: Vec<String>,
    /// Dotted OIDs of the extended key usages that allow signing.
    pub code_signing_ekus: Vec<String>,
    /// Dotted OIDs of the critical extensions that may be accepted.
    pub known_critical: Vec<String>,
}

impl SigningPolicy {
    pub fn builtin() -> Result<SigningPolicy, RulesError> {
        let spec: Spec = serde_json::from_str(BUILTIN).map_err(|e| RulesError::Parse {
            file: BUILTIN_FILE.into(),
            message: e.to_string(),
        })?;
        let oid = |e: &OidEntry| -> Result<String, RulesError> {
            let ok = !e.oid.is_empty()
                && e.oid
                    .split('.')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            if ok {
                Ok(e.oid.clone())
            } else {
                Err(RulesError::Entry {
                    file: BUILTIN_FILE.into(),
                    entry: e.oid.clone(),
                    message: "not a dotted-decimal OID".into(),
                })
            }
        };
        Ok(SigningPolicy {
            default_ignores: spec.default_ignores.into_iter().map(|e| e.path).collect(),
            code_signing_ekus: spec.code_signing_ekus.iter().map(oid).collect::<Result<_, _>>()?,
            known_critical: spec
                .known_critical_extensions
                .iter()
                .map(oid)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parameters_load() {
        let p = SigningPolicy::builtin().unwrap();
        assert_eq!(p.default_ignores, [".git", ".gitattributes", ".github", ".gitignore"]);
        assert!(p.code_signing_ekus.contains(&"1.3.6.1.5.5.7.3.3".to_string()));
        assert!(p.known_critical.contains(&"2.5.29.19".to_string()));
        assert!(
            !p.known_critical.contains(&"2.5.29.30".to_string()),
            "name constraints fail closed"
        );
    }
}
