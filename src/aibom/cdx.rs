//! The CycloneDX document, as typed serde structs written against the official JSON schema of
//! specification 1.6 (`schema/bom-1.6.schema.json`, vendored beside this file), covering the
//! part of it an AI-BOM uses. Every struct is a schema definition of the same name; optional
//! fields are left out when empty, so the output is what the schema allows and nothing else.
//!
//! 1.5 (`--spec-version 1.5`) is the same document less what 1.6 added. Of what is used here
//! only licence `acknowledgement` and the `digital-signature` external-reference type are new
//! in 1.6 (the rest of 1.6's additions — component `authors`/`manufacturer`/`tags`/
//! `omniborId`/`swhid`, `metadata.manufacturer`, dependency `provides`, model-card
//! `environmentalConsiderations`, the `source-distribution` and `electronic-signature`
//! reference types — are never written), so `Bom::for_spec` drops the acknowledgement for 1.5
//! and writes a model's OMS signature as an `attestation` reference there (an OMS bundle is a
//! signed in-toto attestation, which is what 1.5's `attestation` type describes), and the
//! schema tests prove both versions.
//!
//! A component's own `signature` field is not used for OMS signatures: it holds an enveloped
//! JSON Signature Format signature over the component's JSON, not a detached signature of the
//! model's files.

use serde::Serialize;

/// The specification version written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum SpecVersion {
    #[value(name = "1.5")]
    V1_5,
    #[value(name = "1.6")]
    V1_6,
}

impl SpecVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V1_5 => "1.5",
            SpecVersion::V1_6 => "1.6",
        }
    }

    pub fn schema_uri(self) -> &'static str {
        match self {
            SpecVersion::V1_5 => "http://cyclonedx.org/schema/bom-1.5.schema.json",
            SpecVersion::V1_6 => "http://cyclonedx.org/schema/bom-1.6.schema.json",
        }
    }
}

/// The document (`bom`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    #[serde(rename = "$schema")]
    pub schema: &'static str,
    pub bom_format: &'static str,
    pub spec_version: &'static str,
    /// `urn:uuid:` + a UUID derived from the rest of the document.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub serial_number: String,
    pub version: u32,
    pub metadata: Metadata,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Metadata {
    /// RFC 3339, only with `SOURCE_DATE_EPOCH` or `--timestamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lifecycles: Vec<Lifecycle>,
    pub tools: Tools,
    pub component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Lifecycle {
    pub phase: &'static str,
}

/// `metadata.tools` in its object form (1.5 and 1.6).
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Tools {
    pub components: Vec<Component>,
}

/// `component.type`, the values an AI-BOM uses.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentType {
    #[default]
    Application,
    Library,
    MachineLearningModel,
    Data,
    File,
}

impl ComponentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentType::Application => "application",
            ComponentType::Library => "library",
            ComponentType::MachineLearningModel => "machine-learning-model",
            ComponentType::Data => "data",
            ComponentType::File => "file",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Component {
    #[serde(rename = "type")]
    pub kind: ComponentType,
    #[serde(rename = "bom-ref", skip_serializing_if = "String::is_empty")]
    pub bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<OrganizationalEntity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pedigree: Option<Pedigree>,
    #[serde(rename = "externalReferences", skip_serializing_if = "Vec::is_empty")]
    pub external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,
    #[serde(rename = "modelCard", skip_serializing_if = "Option::is_none")]
    pub model_card: Option<ModelCard>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ComponentData>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hash {
    pub alg: &'static str,
    pub content: String,
}

impl Hash {
    pub fn sha256(hex: &str) -> Hash {
        Hash {
            alg: "SHA-256",
            content: hex.to_string(),
        }
    }

    /// An MD5 as metadata declares it (DVC's digest of a data file): recorded, never computed.
    pub fn md5(hex: &str) -> Hash {
        Hash {
            alg: "MD5",
            content: hex.to_string(),
        }
    }
}

/// One entry of `licenses`: a licence, or the single SPDX expression.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum LicenseChoice {
    License {
        license: License,
    },
    Expression {
        expression: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        acknowledgement: Option<Acknowledgement>,
    },
}

/// A licence by SPDX id or by name (never both: the schema's `oneOf`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// 1.6 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<Acknowledgement>,
}

/// How a licence is known (1.6): `declared` by the supplier (a model card, a dataset's
/// metadata); llmguard never concludes a licence itself.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Acknowledgement {
    Declared,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct OrganizationalEntity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub url: Vec<String>,
}

/// `pedigree`: for a model, the base model(s) it was fine-tuned, quantised or merged from.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Pedigree {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<Component>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExternalReference {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Property {
    pub name: String,
    pub value: String,
}

impl Property {
    pub fn new(name: &str, value: impl Into<String>) -> Property {
        Property {
            name: name.to_string(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelCard {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_parameters: Option<ModelParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantitative_analysis: Option<QuantitativeAnalysis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub considerations: Option<Considerations>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_architecture: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<DatasetChoice>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputOutput>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<InputOutput>,
}

/// A model's dataset: a reference to a `data` component, or inline when nothing in the
/// inventory describes it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum DatasetChoice {
    Ref {
        #[serde(rename = "ref")]
        reference: String,
    },
    Inline(Box<ComponentData>),
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputOutput {
    pub format: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct QuantitativeAnalysis {
    pub performance_metrics: Vec<PerformanceMetric>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PerformanceMetric {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Considerations {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub use_cases: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub technical_limitations: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ethical_considerations: Vec<Risk>,
}

impl Considerations {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.use_cases.is_empty()
            && self.technical_limitations.is_empty()
            && self.ethical_considerations.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mitigation_strategy: Option<String>,
}

/// `componentData`: what a `data` component (or an inline model-card dataset) holds.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentData {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contents: Option<DataContents>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sensitive_data: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub governance: Option<DataGovernance>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct DataContents {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct DataGovernance {
    pub owners: Vec<DataGovernanceResponsibleParty>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DataGovernanceResponsibleParty {
    pub organization: OrganizationalEntity,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Vulnerability {
    #[serde(rename = "bom-ref")]
    pub bom_ref: String,
    pub id: String,
    pub source: Source,
    pub ratings: Vec<Rating>,
    pub description: String,
    pub detail: String,
    pub recommendation: String,
    pub affects: Vec<Affects>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Source {
    pub name: &'static str,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rating {
    pub source: RatingSource,
    pub severity: &'static str,
    pub method: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RatingSource {
    pub name: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Affects {
    #[serde(rename = "ref")]
    pub reference: String,
}

/// `analysis` of a finding that configuration, a trusted comment or the baseline suppressed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Analysis {
    pub state: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    acknowledgement: bool,
    /// The `digital-signature` external-reference type (1.6).
    digital_signature: bool,
}

impl Bom {
    /// The document as `spec` allows it: 1.5 has no licence `acknowledgement` and no
    /// `digital-signature` reference type.
    pub fn for_spec(mut self, spec: SpecVersion) -> Bom {
        self.schema = spec.schema_uri();
        self.spec_version = spec.as_str();
        let flags = Flags {
            acknowledgement: spec >= SpecVersion::V1_6,
            digital_signature: spec >= SpecVersion::V1_6,
        };
        for c in self.components.iter_mut() {
            adapt(c, flags);
        }
        adapt(&mut self.metadata.component, flags);
        self
    }

    /// Every component, nested ones and the root included, depth first.
    pub fn all_components(&self) -> Vec<&Component> {
        fn walk<'a>(c: &'a Component, out: &mut Vec<&'a Component>) {
            out.push(c);
            for n in &c.components {
                walk(n, out);
            }
            if let Some(p) = &c.pedigree {
                for a in &p.ancestors {
                    walk(a, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.metadata.component, &mut out);
        for t in &self.metadata.tools.components {
            walk(t, &mut out);
        }
        for c in &self.components {
            walk(c, &mut out);
        }
        out
    }
}

fn adapt(c: &mut Component, flags: Flags) {
    if !flags.digital_signature {
        for r in c
            .external_references
            .iter_mut()
            .filter(|r| r.kind == "digital-signature")
        {
            r.kind = "attestation";
        }
    }
    if !flags.acknowledgement {
        for l in c.licenses.iter_mut() {
            match l {
                LicenseChoice::License { license } => license.acknowledgement = None,
                LicenseChoice::Expression { acknowledgement, .. } => *acknowledgement = None,
            }
        }
    }
    for n in c.components.iter_mut() {
        adapt(n, flags);
    }
    if let Some(p) = c.pedigree.as_mut() {
        for a in p.ancestors.iter_mut() {
            adapt(a, flags);
        }
    }
}
