//! The lineage rule data (`rules/lineage/*.yaml`, embedded as JSON at build time), compiled:
//! required fields, licence categories and Hub ids, compliance frameworks, personal-data
//! patterns, discovery names and placeholders. Code implements mechanisms; these files hold
//! the lists.

use super::Requirement;
use crate::rules::{Rule, RulesError};
use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::{Regex, RegexSet};
use serde::Deserialize;
use std::sync::OnceLock;

const REQUIRED: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/lineage/required.json"));
const LICENSES: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/lineage/licenses.json"));
const FRAMEWORKS: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/lineage/frameworks.json"));
const PERSONAL: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/lineage/personal_data.json"));
const DISCOVERY: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/lineage/discovery.json"));

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pattern {
    pattern: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredFile {
    required: Vec<RequiredEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredEntry {
    field: String,
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LicensesFile {
    categories: std::collections::BTreeMap<String, CategoryEntry>,
    hub_ids: Vec<HubEntry>,
    private_terms: Vec<String>,
    deprecated_replacements: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryEntry {
    why: String,
    patterns: Vec<Pattern>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HubEntry {
    id: String,
    #[serde(default)]
    spdx: Option<String>,
    #[serde(default)]
    restrictions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworksFile {
    frameworks: Vec<FrameworkEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrameworkEntry {
    id: String,
    name: String,
    rule: String,
    enabled: bool,
    applies_when: AppliesWhen,
    controls: Vec<ControlEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlEntry {
    field: String,
    means: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonalFile {
    columns: Vec<Pattern>,
    transformations: Vec<Pattern>,
    negative_statements: Vec<Pattern>,
    handling: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoveryFile {
    metadata_names: Vec<String>,
    manifest_names: Vec<String>,
    card_keys: Vec<String>,
    not_dataset_card_keys: Vec<String>,
    dataset_only_card_keys: Vec<String>,
    own_keys: Vec<String>,
    own_distinctive_keys: Vec<String>,
    not_data: Vec<String>,
    placeholders: Vec<Pattern>,
}

/// When a framework applies to a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesWhen {
    PersonalData,
    HealthData,
    Always,
}

/// A licence restriction category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Restriction {
    NonCommercial,
    NoDerivatives,
    ShareAlike,
}

impl Restriction {
    pub const ALL: [Restriction; 3] = [
        Restriction::NonCommercial,
        Restriction::NoDerivatives,
        Restriction::ShareAlike,
    ];

    fn key(self) -> &'static str {
        match self {
            Restriction::NonCommercial => "non_commercial",
            Restriction::NoDerivatives => "no_derivatives",
            Restriction::ShareAlike => "share_alike",
        }
    }
}

#[derive(Debug)]
pub struct Framework {
    pub id: String,
    pub name: String,
    pub rule: Rule,
    pub enabled: bool,
    pub applies_when: AppliesWhen,
    /// `(field, what it means)`.
    pub controls: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct HubLicense {
    pub id: String,
    pub spdx: Option<String>,
    pub restrictions: Vec<Restriction>,
}

/// Every lineage list, compiled once per run.
#[derive(Debug)]
pub struct LineageRules {
    pub required: Vec<(Requirement, String)>,
    categories: Vec<(Restriction, String, RegexSet)>,
    pub hub_ids: Vec<HubLicense>,
    private_terms: Vec<String>,
    /// Deprecated SPDX ids (other than the GNU family's) and what replaces each.
    pub deprecated_replacements: std::collections::BTreeMap<String, String>,
    pub frameworks: Vec<Framework>,
    personal_columns: RegexSet,
    personal_steps: RegexSet,
    negative_statements: RegexSet,
    pub handling: Vec<String>,
    metadata_names: GlobSet,
    manifest_names: GlobSet,
    pub card_keys: Vec<String>,
    pub not_dataset_card_keys: Vec<String>,
    pub dataset_only_card_keys: Vec<String>,
    pub own_keys: Vec<String>,
    pub own_distinctive_keys: Vec<String>,
    not_data: GlobSet,
    placeholders: RegexSet,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T, RulesError> {
    serde_json::from_str(text).map_err(|e| RulesError::Parse {
        file: file.into(),
        message: e.to_string(),
    })
}

fn set(patterns: &[Pattern], file: &str) -> Result<RegexSet, RulesError> {
    RegexSet::new(patterns.iter().map(|p| &p.pattern)).map_err(|e| RulesError::Parse {
        file: file.into(),
        message: e.to_string(),
    })
}

fn globs(list: &[String], file: &str) -> Result<GlobSet, RulesError> {
    let mut b = GlobSetBuilder::new();
    for g in list {
        b.add(Glob::new(g).map_err(|e| RulesError::Entry {
            file: file.into(),
            entry: g.clone(),
            message: e.to_string(),
        })?);
    }
    b.build().map_err(|e| RulesError::Parse {
        file: file.into(),
        message: e.to_string(),
    })
}

impl LineageRules {
    /// The built-in rules. Checked at build time (valid YAML, valid regexes) and by a test
    /// (`builtin_rules_compile`), so a failure here is a bug in the shipped data.
    pub fn builtin() -> Result<LineageRules, RulesError> {
        let req: RequiredFile = parse(REQUIRED, "rules/lineage/required.yaml")?;
        let lic: LicensesFile = parse(LICENSES, "rules/lineage/licenses.yaml")?;
        let fw: FrameworksFile = parse(FRAMEWORKS, "rules/lineage/frameworks.yaml")?;
        let pd: PersonalFile = parse(PERSONAL, "rules/lineage/personal_data.yaml")?;
        let disc: DiscoveryFile = parse(DISCOVERY, "rules/lineage/discovery.yaml")?;
        let mut required = Vec::new();
        for e in req.required {
            let r = Requirement::parse(&e.field).ok_or_else(|| RulesError::Entry {
                file: "rules/lineage/required.yaml".into(),
                entry: e.field.clone(),
                message: "not a known field".into(),
            })?;
            required.push((r, e.why));
        }
        let mut categories = Vec::new();
        for r in Restriction::ALL {
            let c = lic.categories.get(r.key()).ok_or_else(|| RulesError::Parse {
                file: "rules/lineage/licenses.yaml".into(),
                message: format!("category `{}` is missing", r.key()),
            })?;
            categories.push((r, c.why.clone(), set(&c.patterns, "rules/lineage/licenses.yaml")?));
        }
        let mut hub_ids = Vec::new();
        for h in lic.hub_ids {
            let mut restrictions = Vec::new();
            for name in &h.restrictions {
                restrictions.push(Restriction::ALL.into_iter().find(|r| r.key() == name).ok_or_else(|| {
                    RulesError::Entry {
                        file: "rules/lineage/licenses.yaml".into(),
                        entry: h.id.clone(),
                        message: format!("unknown restriction `{name}`"),
                    }
                })?);
            }
            hub_ids.push(HubLicense {
                id: h.id,
                spdx: h.spdx,
                restrictions,
            });
        }
        let mut frameworks = Vec::new();
        for f in fw.frameworks {
            let rule = Rule::find(&f.rule).ok_or_else(|| RulesError::Entry {
                file: "rules/lineage/frameworks.yaml".into(),
                entry: f.id.clone(),
                message: format!("no rule `{}`", f.rule),
            })?;
            frameworks.push(Framework {
                id: f.id,
                name: f.name,
                rule,
                enabled: f.enabled,
                applies_when: f.applies_when,
                controls: f.controls.into_iter().map(|c| (c.field, c.means)).collect(),
            });
        }
        let file = "rules/lineage/discovery.yaml";
        Ok(LineageRules {
            required,
            categories,
            hub_ids,
            private_terms: lic.private_terms.iter().map(|t| term_key(t)).collect(),
            deprecated_replacements: lic.deprecated_replacements,
            frameworks,
            personal_columns: set(&pd.columns, "rules/lineage/personal_data.yaml")?,
            personal_steps: set(&pd.transformations, "rules/lineage/personal_data.yaml")?,
            negative_statements: set(&pd.negative_statements, "rules/lineage/personal_data.yaml")?,
            handling: pd.handling,
            metadata_names: globs(&disc.metadata_names, file)?,
            manifest_names: globs(&disc.manifest_names, file)?,
            card_keys: disc.card_keys,
            not_dataset_card_keys: disc.not_dataset_card_keys,
            dataset_only_card_keys: disc.dataset_only_card_keys,
            own_keys: disc.own_keys,
            own_distinctive_keys: disc.own_distinctive_keys,
            not_data: globs(&disc.not_data, file)?,
            placeholders: set(&disc.placeholders, file)?,
        })
    }

    /// The shared built-in instance (compiled on first use).
    pub fn shared() -> &'static LineageRules {
        static RULES: OnceLock<LineageRules> = OnceLock::new();
        RULES.get_or_init(|| {
            LineageRules::builtin().unwrap_or_else(|e| panic!("built-in lineage rules do not compile: {e}"))
        })
    }

    /// Text that means "not filled in" (`[More Information Needed]`, `TODO`, `<name>`).
    pub fn is_placeholder(&self, text: &str) -> bool {
        self.placeholders.is_match(text)
    }

    /// `Some(text)` trimmed, unless it is a placeholder.
    pub fn filled(&self, text: &str) -> Option<String> {
        let t = text.trim();
        (!self.is_placeholder(t)).then(|| t.to_string())
    }

    pub fn is_metadata_name(&self, file_name: &str) -> bool {
        self.metadata_names.is_match(file_name)
    }

    pub fn is_manifest_name(&self, file_name: &str) -> bool {
        self.manifest_names.is_match(file_name)
    }

    pub fn is_not_data(&self, file_name: &str) -> bool {
        self.not_data.is_match(file_name)
    }

    /// Whether a column or field name describes personal data. A qualified name counts by
    /// its last part (`default/author_email` in the Hub's Croissant export, `user.email`).
    pub fn personal_column(&self, name: &str) -> bool {
        let last = name.rsplit(['/', '.']).next().unwrap_or(name);
        self.personal_columns.is_match(name) || self.personal_columns.is_match(last)
    }

    /// Whether a processing step only makes sense on personal data.
    pub fn personal_step(&self, text: &str) -> bool {
        self.personal_steps.is_match(text)
    }

    /// Whether a statement about personal information says there is none.
    pub fn says_no_personal_data(&self, text: &str) -> bool {
        self.negative_statements.is_match(text)
    }

    /// Restrictions of a canonical SPDX id, with why each matters.
    pub fn restrictions(&self, spdx_id: &str) -> Vec<(Restriction, &str)> {
        self.categories
            .iter()
            .filter(|(_, _, set)| set.is_match(spdx_id))
            .map(|(r, why, _)| (*r, why.as_str()))
            .collect()
    }

    pub fn restriction_why(&self, r: Restriction) -> &str {
        self.categories
            .iter()
            .find(|(c, ..)| *c == r)
            .map_or("", |(_, why, _)| why.as_str())
    }

    /// The private-licence word `text` is (`Proprietary`, `internal-use-only`), canonical.
    pub fn private_term(&self, text: &str) -> Option<&str> {
        let k = term_key(text);
        self.private_terms.iter().find(|t| **t == k).map(String::as_str)
    }

    pub fn hub_license(&self, id: &str) -> Option<&HubLicense> {
        self.hub_ids.iter().find(|h| h.id.eq_ignore_ascii_case(id))
    }

    pub fn framework(&self, id: &str) -> Option<&Framework> {
        self.frameworks.iter().find(|f| f.id == id)
    }
}

/// A licence word compared without regard to case, `_`, `-` and spaces.
fn term_key(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A compiled regex for code that needs one constant pattern.
pub(crate) fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|e| panic!("constant pattern {pattern:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile() {
        let r = LineageRules::builtin().unwrap();
        assert!(r.required.iter().any(|(q, _)| *q == Requirement::Owner));
        assert!(r.is_placeholder("[More Information Needed]"));
        assert!(r.is_placeholder("<owner e-mail>"));
        assert!(r.is_placeholder("  TODO "));
        assert!(!r.is_placeholder("Acme data team"));
        assert!(r.personal_column("customer_id") && r.personal_column("Email"));
        assert!(!r.personal_column("label"));
        assert!(r.personal_column("default/author_email") && r.personal_column("user.phone_number"));
        assert!(r.is_placeholder(
            "[More Information Needed](https://github.com/huggingface/datasets/blob/master/CONTRIBUTING.md#how-to-contribute-to-the-dataset-cards)"
        ));
        assert!(r.personal_step("Anonymization of names"));
        assert!(r.says_no_personal_data("None. All names are fictional."));
        assert!(r.says_no_personal_data("The dataset does not contain personal information."));
        assert!(!r.says_no_personal_data("Contains customer e-mail addresses and phone numbers."));
        let nc: Vec<_> = r.restrictions("CC-BY-NC-SA-4.0").into_iter().map(|(x, _)| x).collect();
        assert_eq!(nc, vec![Restriction::NonCommercial, Restriction::ShareAlike]);
        assert!(r.restrictions("CC-BY-4.0").is_empty());
        assert_eq!(r.restrictions("CC-BY-ND-4.0")[0].0, Restriction::NoDerivatives);
        assert!(r.hub_license("OpenRAIL").is_some());
        for f in &r.frameworks {
            assert_eq!(&f.rule.id()[..3], "LIN");
        }
        assert!(r.is_manifest_name("SHA256SUMS") && r.is_manifest_name("train.csv.sha256"));
        assert!(r.is_metadata_name("training_data_metadata.json"));
        assert!(r.is_not_data(".gitattributes") && r.is_not_data("README.md"));
    }
}
