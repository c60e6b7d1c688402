//! From the inventory, the datasets and the run's findings to the CycloneDX document, and the
//! gaps (`BOM0xx` findings) found on the way.

use super::cdx::*;
use super::dataset::DatasetInput;
use super::inventory::{self, Inventory, ModelGroup};
use super::Signature;
use crate::finding::{Finding, Location, Severity};
use crate::report::InventoryItem;
use crate::rules::Rule;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// The SPDX licence and exception ids the CycloneDX schema accepts as `license.id`, from the
/// vendored `spdx.schema.json`, keyed by lower case (Hugging Face writes `apache-2.0`).
fn spdx_ids() -> &'static BTreeMap<String, String> {
    static IDS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("schema/spdx.schema.json")).unwrap_or_default();
        schema["enum"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|v| v.as_str())
                    .map(|id| (id.to_ascii_lowercase(), id.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// A declared licence as CycloneDX wants it: an SPDX id, an SPDX expression, or a name.
pub fn licence(declared: &str, name: Option<&str>, link: Option<&str>) -> LicenseChoice {
    let ids = spdx_ids();
    let d = declared.trim();
    if let Some(id) = ids.get(&d.to_ascii_lowercase()) {
        return LicenseChoice::License {
            license: License {
                id: Some(id.clone()),
                name: None,
                url: None,
                acknowledgement: Some(Acknowledgement::Declared),
            },
        };
    }
    // An expression: every word an id, an operator or `+`-suffixed id, with balanced parentheses.
    let spaced = d.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut depth = 0i32;
    let mut canon = Vec::new();
    let mut operators = 0;
    let ok = words.len() >= 3
        && words.iter().all(|w| {
            let upper = w.to_ascii_uppercase();
            match upper.as_str() {
                "AND" | "OR" | "WITH" => {
                    operators += 1;
                    canon.push(upper);
                    true
                }
                "(" => {
                    depth += 1;
                    canon.push("(".into());
                    true
                }
                ")" => {
                    depth -= 1;
                    canon.push(")".into());
                    depth >= 0
                }
                _ => {
                    let (base, plus) = w.strip_suffix('+').map_or((*w, ""), |b| (b, "+"));
                    match ids.get(&base.to_ascii_lowercase()) {
                        Some(id) => {
                            canon.push(format!("{id}{plus}"));
                            true
                        }
                        None => false,
                    }
                }
            }
        });
    if ok && depth == 0 && operators > 0 {
        let expression = canon.join(" ").replace("( ", "(").replace(" )", ")");
        return LicenseChoice::Expression {
            expression,
            acknowledgement: Some(Acknowledgement::Declared),
        };
    }
    // Hugging Face's `other` comes with `license_name` and `license_link`.
    let shown = match (d.eq_ignore_ascii_case("other"), name) {
        (true, Some(n)) => n.trim().to_string(),
        _ => d.to_string(),
    };
    LicenseChoice::License {
        license: License {
            id: None,
            name: Some(shown),
            url: link
                .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
                .map(String::from),
            acknowledgement: Some(Acknowledgement::Declared),
        },
    }
}

/// `pkg:huggingface/org/name@revision`, percent-encoding what the purl spec requires.
pub fn hf_purl(repo: &str, revision: Option<&str>) -> String {
    let enc = |s: &str| {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    let path: Vec<String> = repo.split('/').map(enc).collect();
    let mut p = format!("pkg:huggingface/{}", path.join("/"));
    if let Some(r) = revision {
        p.push('@');
        p.push_str(&enc(r));
    }
    p
}

fn pypi_purl(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("pkg:pypi/{name}@{}", v.replace('+', "%2B")),
        None => format!("pkg:pypi/{name}"),
    }
}

fn human_count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}K", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{:.1}B", n as f64 / 1e9),
    }
}

/// What the document builder needs besides the inventory.
pub struct Inputs<'a> {
    pub inventory: &'a Inventory,
    pub datasets: &'a [DatasetInput],
    /// The root component's name.
    pub root_name: String,
    pub hashed: bool,
    pub timestamp: Option<String>,
    pub signature: &'a dyn Fn(&ModelGroup) -> Signature,
}

pub struct Built {
    pub bom: Bom,
    pub findings: Vec<Finding>,
    pub rows: Vec<InventoryItem>,
    /// Which component a finding about a path concerns.
    pub owners: Owners,
}

/// Which component a file belongs to: each model file to its model, each dataset's metadata and
/// data files (and, failing those, any file under the dataset's directory) to its `data`
/// component. Anything else concerns the repository (`root`).
#[derive(Debug, Default)]
pub struct Owners {
    /// Display path → `bom-ref`.
    pub files: BTreeMap<String, String>,
    /// A dataset's directory (display path) → its `bom-ref`, deepest first.
    pub dirs: Vec<(String, String)>,
}

impl Owners {
    pub fn of(&self, path: &str) -> Option<&str> {
        if let Some(r) = self.files.get(path) {
            return Some(r);
        }
        self.dirs
            .iter()
            .find(|(d, _)| {
                path.strip_prefix(d.as_str())
                    .is_some_and(|rest| rest.starts_with(std::path::MAIN_SEPARATOR) || rest.starts_with('/'))
            })
            .map(|(_, r)| r.as_str())
    }
}

/// The `bom-ref`s given so far: a new one that is already taken gets a suffix (`+2`, `+3`…),
/// so two things that would share a name never abort the document. Components are made in a
/// fixed order, so the suffixes are as deterministic as the names.
#[derive(Debug, Default)]
struct Refs(BTreeSet<String>);

impl Refs {
    fn unique(&mut self, base: String) -> String {
        if self.0.insert(base.clone()) {
            return base;
        }
        let mut n = 2u64;
        loop {
            let r = format!("{base}+{n}");
            if self.0.insert(r.clone()) {
                return r;
            }
            n += 1;
        }
    }
}

fn licence_label(l: &[LicenseChoice]) -> String {
    l.iter()
        .map(|c| match c {
            LicenseChoice::License { license } => license.id.clone().or(license.name.clone()).unwrap_or_default(),
            LicenseChoice::Expression { expression, .. } => expression.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Build the document (without serial number) and the gap findings.
pub fn build(x: &Inputs<'_>) -> Built {
    let inv = x.inventory;
    let mut findings = Vec::new();
    let mut components: Vec<Component> = Vec::new();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut rows = Vec::new();
    let rel_of: BTreeMap<&str, &str> = inv.files.iter().map(|f| (f.display.as_str(), f.rel.as_str())).collect();

    // Datasets first: models refer to them.
    let mut owners = Owners::default();
    let mut refs = Refs::default();
    refs.unique("root".to_string());
    let mut data_refs: Vec<(String, &DatasetInput)> = Vec::new();
    for d in x.datasets {
        let file = d.metadata.first().map_or("", |m| m.relative.as_str());
        let mut r = format!("data:{file}#{}", d.name);
        while data_refs.iter().any(|(e, _)| *e == r) {
            r.push('+');
        }
        let r = refs.unique(r);
        for m in &d.metadata {
            owners.files.entry(m.display.clone()).or_insert_with(|| r.clone());
        }
        for f in d.files.iter().filter_map(|f| f.display.as_ref()) {
            owners.files.entry(f.clone()).or_insert_with(|| r.clone());
        }
        if let Some(dir) = d
            .metadata
            .first()
            .and_then(|m| std::path::Path::new(&m.display).parent())
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty())
        {
            owners.dirs.push((dir, r.clone()));
        }
        data_refs.push((r, d));
    }
    // Deepest directory first, so a dataset inside another's directory keeps its own files.
    owners
        .dirs
        .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
    for (r, d) in &data_refs {
        let url = d
            .origin
            .clone()
            .filter(|o| o.contains("://") && !o.contains(char::is_whitespace));
        let mut c = Component {
            kind: ComponentType::Data,
            bom_ref: r.clone(),
            name: d.name.clone(),
            version: d.version.clone(),
            description: d.description.clone(),
            supplier: d.owner.as_ref().map(|o| OrganizationalEntity {
                name: Some(o.clone()),
                url: Vec::new(),
            }),
            ..Component::default()
        };
        if let Some(l) = &d.license {
            c.licenses.push(licence(l, None, d.license_url.as_deref()));
        }
        if let Some(h) = &d.sha256 {
            c.hashes.push(Hash::sha256(h));
        }
        if let Some(u) = &url {
            c.external_references.push(ExternalReference {
                kind: "distribution",
                url: u.clone(),
                comment: Some("where the dataset came from, as its metadata declares".into()),
                hashes: Vec::new(),
            });
        }
        // Every metadata file that describes it (`path:line`), the primary first, and its format.
        let mut props: Vec<Property> = d
            .metadata
            .iter()
            .map(|m| Property::new("llmguard:metadata", format!("{}:{}", m.relative, m.line.max(1))))
            .collect();
        props.push(Property::new(
            "llmguard:metadata-formats",
            d.metadata
                .iter()
                .filter_map(|m| m.format.map(|f| f.as_str()))
                .collect::<Vec<_>>()
                .join(","),
        ));
        if !d.aliases.is_empty() {
            props.push(Property::new("llmguard:also-named", d.aliases.join(", ")));
        }
        props.push(Property::new(
            "llmguard:personal-data",
            match d.personal_data {
                Some(true) => "declared",
                Some(false) => "declared-none",
                None => "undeclared",
            },
        ));
        if let Some(o) = d.origin.as_ref().filter(|_| url.is_none()) {
            props.push(Property::new("llmguard:origin", o.clone()));
        }
        c.properties = props;
        c.data.push(ComponentData {
            kind: "dataset",
            name: Some(d.name.clone()),
            contents: url.clone().map(|u| DataContents {
                url: Some(u),
                properties: Vec::new(),
            }),
            classification: d.classification.clone(),
            sensitive_data: (d.personal_data == Some(true))
                .then(|| "personal data".to_string())
                .into_iter()
                .chain(d.sensitive.iter().cloned())
                .collect(),
            description: d.description.clone(),
            governance: d.owner.as_ref().map(|o| DataGovernance {
                owners: vec![DataGovernanceResponsibleParty {
                    organization: OrganizationalEntity {
                        name: Some(o.clone()),
                        url: Vec::new(),
                    },
                }],
            }),
        });
        let mut seen = BTreeSet::new();
        for f in &d.files {
            if !seen.insert(f.path.clone()) {
                continue;
            }
            let mut fc = Component {
                kind: ComponentType::File,
                bom_ref: refs.unique(format!("{r}/{}", f.path)),
                name: f.path.clone(),
                ..Component::default()
            };
            if let Some(h) = &f.sha256 {
                fc.hashes.push(Hash::sha256(h));
            }
            if let Some(h) = &f.md5 {
                fc.hashes.push(Hash::md5(h));
            }
            if let Some(s) = f.size {
                fc.properties.push(Property::new("llmguard:size", s.to_string()));
            }
            if f.directory {
                fc.properties.push(Property::new("llmguard:dvc-directory", "true"));
            }
            c.components.push(fc);
        }
        let parents: BTreeSet<String> = d
            .parents
            .iter()
            .filter_map(|p| {
                data_refs
                    .iter()
                    .find(|(rr, o)| rr != r && o.is_named(p, d.dir()))
                    .map(|(rr, _)| rr.clone())
            })
            .collect();
        deps.insert(r.clone(), parents);
        rows.push(InventoryItem {
            kind: "data",
            name: d.name.clone(),
            version: d.version.clone().unwrap_or_default(),
            licence: licence_label(&c.licenses),
            detail: format!(
                "{} file(s); personal data {}",
                d.files.len(),
                match d.personal_data {
                    Some(true) => "declared",
                    Some(false) => "declared none",
                    None => "undeclared",
                }
            ),
            bom_ref: r.clone(),
        });
        components.push(c);
    }

    // Libraries.
    let mut lib_refs: Vec<(String, &inventory::Library)> = Vec::new();
    for l in &inv.libraries {
        let r = match &l.version {
            Some(v) => format!("lib:pypi/{}@{v}", l.name),
            None => format!("lib:pypi/{}", l.name),
        };
        if lib_refs.iter().any(|(e, _)| *e == r) {
            continue;
        }
        let r = refs.unique(r);
        let file = rel_of.get(l.file.as_str()).copied().unwrap_or(l.file.as_str());
        components.push(Component {
            kind: ComponentType::Library,
            bom_ref: r.clone(),
            name: l.name.clone(),
            version: l.version.clone(),
            purl: Some(pypi_purl(&l.name, l.version.as_deref())),
            properties: vec![
                Property::new("llmguard:declared-in", format!("{file}:{}", l.line)),
                Property::new("llmguard:requirement", l.requirement.clone()),
            ],
            ..Component::default()
        });
        rows.push(InventoryItem {
            kind: "library",
            name: l.name.clone(),
            version: l.version.clone().unwrap_or_else(|| l.requirement.clone()),
            licence: String::new(),
            detail: format!("{file}:{}", l.line),
            bom_ref: r.clone(),
        });
        deps.insert(r.clone(), BTreeSet::new());
        lib_refs.push((r, l));
    }

    // Models.
    for m in &inv.models {
        let r = refs.unique(format!("model:{}", m.key));
        let weights: Vec<&inventory::File> = m.weights.iter().map(|&i| &inv.files[i]).collect();
        let aux: Vec<&inventory::File> = m.aux.iter().map(|&i| &inv.files[i]).collect();
        // The other paths to its files (links): noted, and findings about them concern it too.
        let also_at = |f: &inventory::File| -> Vec<Property> {
            let mut rels: Vec<&str> = f.aliases.iter().map(|&a| inv.files[a].rel.as_str()).collect();
            rels.sort_unstable();
            rels.into_iter()
                .map(|a| Property::new("llmguard:also-at", a.to_string()))
                .collect()
        };
        for f in weights.iter().chain(aux.iter()) {
            owners.files.insert(f.display.clone(), r.clone());
            for &a in &f.aliases {
                owners.files.insert(inv.files[a].display.clone(), r.clone());
            }
        }
        let first = weights[0];
        let card = m.card.as_ref().map(|(_, c)| c);
        let card_file = m.card.as_ref().map(|(i, _)| &inv.files[*i]);
        let facts = &first.facts;
        let hub_repo = m
            .hub
            .as_ref()
            .map(|h| h.repo.clone())
            .or_else(|| weights.iter().find_map(|w| w.facts.hub_repo.clone()));
        let revision = m.hub.as_ref().and_then(|h| h.revision.clone());
        let (group, name) = match &hub_repo {
            Some(repo) => {
                let (g, n) = repo.split_once('/').unwrap_or(("", repo));
                (Some(g.to_string()).filter(|g| !g.is_empty()), n.to_string())
            }
            None => {
                let fallback = if m.weights.len() > 1 || m.key == m.dir || m.key == "." {
                    m.dir.rsplit('/').next().unwrap_or(&m.dir).to_string()
                } else {
                    first.rel.rsplit('/').next().unwrap_or(&first.rel).to_string()
                };
                let name = card
                    .and_then(|c| c.model_name.clone())
                    .or_else(|| facts.name.clone())
                    .unwrap_or(fallback);
                (None, if name.is_empty() { m.key.clone() } else { name })
            }
        };
        let formats: BTreeSet<&str> = weights.iter().map(|w| w.format.as_str()).collect();
        let format = formats.iter().copied().collect::<Vec<_>>().join("+");
        let worst = weights
            .iter()
            .map(|w| inventory::serialisation_risk(&w.format))
            .max_by_key(|(level, _)| match *level {
                "high" => 3,
                "medium" => 2,
                "low" => 1,
                _ => 0,
            })
            .unwrap_or(("none", ""));
        let size: u64 = weights.iter().chain(aux.iter()).map(|f| f.size).sum();
        let params: Option<u64> = weights
            .iter()
            .filter(|w| w.format == "safetensors" || w.format == "gguf")
            .map(|w| w.facts.parameters)
            .try_fold(0u64, |a, p| p.map(|p| a.saturating_add(p)))
            .filter(|_| formats.contains("safetensors") || formats.contains("gguf"));
        let mut dtypes: BTreeMap<String, u64> = BTreeMap::new();
        for w in &weights {
            for (k, v) in &w.facts.dtypes {
                *dtypes.entry(k.clone()).or_default() += v;
            }
        }
        let mut c = Component {
            kind: ComponentType::MachineLearningModel,
            bom_ref: r.clone(),
            group: group.clone(),
            name: name.clone(),
            version: revision.clone().or_else(|| facts.version.clone()),
            purl: hub_repo.as_ref().map(|h| hf_purl(h, revision.as_deref())),
            ..Component::default()
        };
        if let Some(g) = &group {
            c.supplier = Some(OrganizationalEntity {
                name: Some(g.clone()),
                url: vec![format!("https://huggingface.co/{g}")],
            });
        }
        if let Some(h) = &hub_repo {
            c.external_references.push(ExternalReference {
                kind: "distribution",
                url: match &revision {
                    Some(rev) => format!("https://huggingface.co/{h}/tree/{rev}"),
                    None => format!("https://huggingface.co/{h}"),
                },
                comment: Some("Hugging Face repository".into()),
                hashes: Vec::new(),
            });
        }
        if let Some(u) = facts
            .source_url
            .as_ref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        {
            if !c.external_references.iter().any(|e| e.url == *u) {
                c.external_references.push(ExternalReference {
                    kind: "distribution",
                    url: u.clone(),
                    comment: Some("source named in the file's metadata".into()),
                    hashes: Vec::new(),
                });
            }
        }
        let declared = card
            .and_then(|c| c.license.as_ref().map(|l| l.value.clone()))
            .or_else(|| facts.license.clone());
        if let Some(l) = &declared {
            c.licenses.push(licence(
                l,
                card.and_then(|c| c.license_name.as_deref()),
                card.and_then(|c| c.license_link.as_deref()),
            ));
        }
        // The model itself is its one weights file: that file's digest is the component's.
        if weights.len() == 1 {
            if let Some(h) = &first.sha256 {
                c.hashes.push(Hash::sha256(h));
            }
        }
        if weights.len() + aux.len() > 1 {
            for f in weights.iter().chain(aux.iter()) {
                let mut fc = Component {
                    kind: ComponentType::File,
                    bom_ref: refs.unique(format!("file:{}", f.rel)),
                    name: f.rel.clone(),
                    ..Component::default()
                };
                if let Some(h) = &f.sha256 {
                    fc.hashes.push(Hash::sha256(h));
                }
                fc.properties.push(Property::new("llmguard:format", f.format.clone()));
                fc.properties.push(Property::new("llmguard:size", f.size.to_string()));
                fc.properties.extend(also_at(f));
                c.components.push(fc);
            }
            c.components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
        }
        // Base models: the pedigree, from the card or else the file's own metadata.
        let bases: Vec<String> = match card.filter(|c| !c.base_models.is_empty()) {
            Some(c) => c.base_models.iter().map(|b| b.value.clone()).collect(),
            None => facts.base_models.clone(),
        };
        {
            let ancestors: Vec<Component> = bases
                .iter()
                .map(|b| {
                    let repo = inventory::hub_repo_of(b);
                    let (g, n) = match repo.as_deref().and_then(|r| r.split_once('/')) {
                        Some((g, n)) => (Some(g.to_string()), n.to_string()),
                        None => (None, b.clone()),
                    };
                    Component {
                        kind: ComponentType::MachineLearningModel,
                        group: g,
                        name: n,
                        purl: repo.as_deref().map(|r| hf_purl(r, None)),
                        ..Component::default()
                    }
                })
                .collect();
            if !ancestors.is_empty() {
                c.pedigree = Some(Pedigree {
                    ancestors,
                    notes: card
                        .and_then(|c| c.base_relation.as_ref())
                        .map(|r| format!("base_model_relation: {r}")),
                });
            }
        }
        // Properties.
        let mut p = vec![
            Property::new(
                "llmguard:path",
                if m.weights.len() > 1 || !aux.is_empty() {
                    m.dir.clone()
                } else {
                    first.rel.clone()
                },
            ),
            Property::new("llmguard:format", format.clone()),
            Property::new("llmguard:serialisation-risk", worst.0),
            Property::new("llmguard:serialisation-note", worst.1),
            Property::new("llmguard:size", size.to_string()),
            Property::new("llmguard:files", (weights.len() + aux.len()).to_string()),
        ];
        if weights.len() + aux.len() == 1 {
            p.extend(also_at(first));
        }
        if let Some(n) = params {
            p.push(Property::new("llmguard:parameters", n.to_string()));
        }
        if !dtypes.is_empty() {
            let mix: Vec<String> = dtypes.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            p.push(Property::new("llmguard:dtypes", mix.join(" ")));
            if formats.contains("gguf") {
                if let Some((k, _)) = dtypes.iter().max_by_key(|(_, v)| **v) {
                    p.push(Property::new("llmguard:quantisation", k.clone()));
                }
            }
        }
        let cfg = m.config.as_ref();
        if let Some(q) = cfg
            .and_then(|c| c.quantization_config.as_ref())
            .and_then(|q| q.quant_method.clone())
        {
            p.push(Property::new("llmguard:quantisation", q));
        }
        if let Some(cfg) = cfg {
            if let Some(t) = &cfg.torch_dtype {
                p.push(Property::new("llmguard:config:torch_dtype", t.clone()));
            }
            if let Some(t) = &cfg.transformers_version {
                p.push(Property::new("llmguard:config:transformers_version", t.clone()));
            }
            if let Some(t) = &cfg.name_or_path {
                p.push(Property::new("llmguard:config:_name_or_path", t.clone()));
            }
        }
        if let Some(prod) = &facts.producer {
            p.push(Property::new("llmguard:onnx:producer", prod.clone()));
        }
        if let Some(o) = facts.opset {
            p.push(Property::new("llmguard:onnx:opset", o.to_string()));
        }
        if let Some(ir) = facts.ir_version {
            p.push(Property::new("llmguard:onnx:ir_version", ir.to_string()));
        }
        for w in &weights {
            let prefix = match w.format.as_str() {
                "gguf" => "llmguard:gguf:",
                _ => "llmguard:safetensors:",
            };
            for (k, v) in &w.facts.metadata {
                let prop = Property::new(&format!("{prefix}{k}"), v.clone());
                if !p.contains(&prop) {
                    p.push(prop);
                }
            }
        }
        // The OMS signature: its status, and per signature file the file (also a native
        // `digital-signature` reference, pinned by its digest), signer, method and problems.
        // Findings about the signature or the signed directory concern this model.
        let sig = (x.signature)(m);
        p.push(Property::new("llmguard:signature:status", sig.status.as_str()));
        for f in &sig.files {
            p.push(Property::new("llmguard:signature:file", f.rel.clone()));
            if sig.files.len() > 1 {
                p.push(Property::new("llmguard:signature:file-status", f.state.as_str()));
            }
            if let Some(s) = &f.signer {
                p.push(Property::new("llmguard:signature:signer", s.clone()));
            }
            if let Some(m) = f.method {
                p.push(Property::new("llmguard:signature:method", m));
            }
            for problem in &f.problems {
                p.push(Property::new("llmguard:signature:problem", problem.clone()));
            }
            c.external_references.push(ExternalReference {
                kind: "digital-signature",
                url: crate::scan::encode(&f.rel),
                comment: Some(format!(
                    "OpenSSF Model Signing (OMS) signature: {}",
                    match f.state {
                        super::SignatureState::Verified => "verified by llmguard",
                        super::SignatureState::SignedUnverified => "not verified (no trusted key or certificate given)",
                        super::SignatureState::Unsupported => "a method llmguard cannot verify",
                        _ => "verification failed",
                    }
                )),
                hashes: f.sha256.iter().map(|h| Hash::sha256(h)).collect(),
            });
            owners.files.entry(f.display.clone()).or_insert_with(|| r.clone());
            if f.model_is_dir && !owners.dirs.iter().any(|(d, _)| *d == f.model_display) {
                owners.dirs.push((f.model_display.clone(), r.clone()));
            }
        }
        if let Some(cf) = card_file {
            p.push(Property::new("llmguard:model-card", cf.rel.clone()));
        }
        c.properties = p;

        // The model card.
        let mut datasets = Vec::new();
        let mut uses = BTreeSet::new();
        // Datasets the model card names, then those a GGUF file's metadata names
        // (`general.dataset.N.*`); each is matched to a described dataset by the rule in
        // `dataset`'s module documentation.
        let dir_of = |rel: &str| rel.rsplit_once('/').map_or(String::new(), |(d, _)| d.to_string());
        if let Some(card) = card {
            let card_dir = card_file.map_or_else(String::new, |f| dir_of(&f.rel));
            for d in &card.datasets {
                match data_refs.iter().find(|(_, ds)| ds.is_named(&d.value, &card_dir)) {
                    Some((dr, _)) => {
                        if uses.insert(dr.clone()) {
                            datasets.push(DatasetChoice::Ref { reference: dr.clone() });
                        }
                    }
                    None => {
                        let url = (d.value.split('/').count() == 2 && !d.value.contains(':'))
                            .then(|| format!("https://huggingface.co/datasets/{}", d.value));
                        datasets.push(DatasetChoice::Inline(Box::new(ComponentData {
                            kind: "dataset",
                            name: Some(d.value.clone()),
                            contents: url.map(|u| DataContents {
                                url: Some(u),
                                properties: Vec::new(),
                            }),
                            ..ComponentData::default()
                        })));
                        let path = card_file.map_or(first.display.as_str(), |f| f.display.as_str());
                        findings.push(
                            Finding::new(
                                Rule::CardDatasetUndescribed,
                                path,
                                Location {
                                    line: Some(d.line),
                                    ..Location::default()
                                },
                                format!(
                                    "the model card of `{name}` names the dataset `{}`, but no dataset metadata in the scanned tree describes it (licence, origin and personal data unknown)",
                                    d.value
                                ),
                            )
                            .key(format!("dataset:{}", d.value)),
                        );
                    }
                }
            }
        }
        for (value, from) in weights
            .iter()
            .flat_map(|w| w.facts.datasets.iter().map(|v| (v, dir_of(&w.rel))))
        {
            match data_refs.iter().find(|(_, ds)| ds.is_named(value, &from)) {
                Some((dr, _)) if uses.insert(dr.clone()) => {
                    datasets.push(DatasetChoice::Ref { reference: dr.clone() });
                }
                Some(_) => {}
                None if !datasets
                    .iter()
                    .any(|c| matches!(c, DatasetChoice::Inline(i) if i.name.as_deref() == Some(value.as_str()))) =>
                {
                    let url = crate::aibom::dataset::hub_dataset_id(value)
                        .or_else(|| (value.split('/').count() == 2 && !value.contains(':')).then(|| value.clone()))
                        .map(|id| format!("https://huggingface.co/datasets/{id}"));
                    datasets.push(DatasetChoice::Inline(Box::new(ComponentData {
                        kind: "dataset",
                        name: Some(value.clone()),
                        contents: url.map(|u| DataContents {
                            url: Some(u),
                            properties: Vec::new(),
                        }),
                        ..ComponentData::default()
                    })));
                }
                None => {}
            }
        }
        let params_block = ModelParameters {
            task: card.and_then(|c| c.pipeline_tag.clone()),
            architecture_family: cfg
                .and_then(|c| c.model_type.clone())
                .or_else(|| facts.architecture.clone()),
            model_architecture: cfg.and_then(|c| c.architectures.first().cloned()),
            datasets,
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        let mut mc = ModelCard::default();
        if params_block != ModelParameters::default() {
            mc.model_parameters = Some(params_block);
        }
        if let Some(card) = card {
            if !card.metrics.is_empty() {
                mc.quantitative_analysis = Some(QuantitativeAnalysis {
                    performance_metrics: card
                        .metrics
                        .iter()
                        .map(|m| PerformanceMetric {
                            kind: m.kind.clone(),
                            value: m.value.clone(),
                            slice: m.slice.clone(),
                        })
                        .collect(),
                });
            }
            let cons = Considerations {
                users: Vec::new(),
                use_cases: card.use_cases.clone(),
                technical_limitations: card.limitations.clone(),
                ethical_considerations: card
                    .recommendations
                    .iter()
                    .map(|r| Risk {
                        name: "Risks named by the model card".into(),
                        mitigation_strategy: Some(r.clone()),
                    })
                    .collect(),
            };
            if !cons.is_empty() {
                mc.considerations = Some(cons);
            }
            if !card.languages.is_empty() {
                mc.properties
                    .push(Property::new("llmguard:card:languages", card.languages.join(",")));
            }
            if let Some(l) = &card.library_name {
                mc.properties
                    .push(Property::new("llmguard:card:library_name", l.clone()));
            }
            if !card.tags.is_empty() {
                mc.properties
                    .push(Property::new("llmguard:card:tags", card.tags.join(",")));
            }
        }
        if mc != ModelCard::default() {
            c.model_card = Some(mc);
        }

        // Dependencies: the datasets it names, and the declared frameworks that load its format.
        let mut d: BTreeSet<String> = uses;
        for (lr, l) in &lib_refs {
            if formats.iter().any(|f| l.loads.iter().any(|x| x == f)) {
                d.insert(lr.clone());
            }
        }
        deps.insert(r.clone(), d);

        // Gaps.
        let at = card_file.map_or(first.display.as_str(), |f| f.display.as_str());
        if c.licenses.is_empty() {
            let loc = Location {
                line: card.map(|_| 1),
                ..Location::default()
            };
            findings.push(
                Finding::new(
                    Rule::ModelWithoutLicence,
                    at,
                    if card_file.is_some() { loc } else { Location::default() },
                    format!(
                        "model `{name}` declares no licence ({})",
                        if card.is_some() {
                            "its model card has no `license` field"
                        } else {
                            "no model card, and its files name none"
                        }
                    ),
                )
                .key(format!("licence:{}", m.key)),
            );
        }
        // A verified signature names who produced the bytes: that is an origin too.
        let provenance = hub_repo.is_some()
            || facts.source_url.is_some()
            || !facts.base_models.is_empty()
            || card.is_some_and(|c| !c.base_models.is_empty())
            || sig.status == super::SignatureState::Verified;
        if !provenance {
            findings.push(
                Finding::new(
                    Rule::ModelWithoutProvenance,
                    at,
                    Location::default(),
                    format!(
                        "model `{name}` has no recorded origin: no Hugging Face repository, no source URL in its metadata, no `base_model` in a model card, no verified signature"
                    ),
                )
                .key(format!("provenance:{}", m.key)),
            );
        }
        let unhashed: Vec<&inventory::File> = weights
            .iter()
            .chain(aux.iter())
            .copied()
            .filter(|f| f.sha256.is_none())
            .collect();
        if !unhashed.is_empty() {
            let why = if !x.hashed {
                "--no-hash was given".to_string()
            } else {
                let errs: Vec<String> = unhashed
                    .iter()
                    .filter_map(|f| f.hash_error.as_ref().map(|e| format!("{}: {e}", f.display)))
                    .collect();
                errs.join("; ")
            };
            findings.push(
                Finding::new(
                    Rule::ModelWithoutHash,
                    first.display.as_str(),
                    Location::default(),
                    format!(
                        "model `{name}`: {} of its {} files have no SHA-256 in the AI-BOM ({why}), so nobody can verify they are the files reviewed",
                        unhashed.len(),
                        weights.len() + aux.len()
                    ),
                )
                .key(format!("hash:{}", m.key)),
            );
        }
        let safe_copy = weights.iter().find(|w| w.format == "safetensors");
        for w in weights.iter().filter(|w| inventory::is_pickle_based(&w.format)) {
            let message = match safe_copy {
                Some(s) => format!(
                    "`{}` is a pickle ({}), and a safetensors copy of the model is right beside it (`{}`): the pickle adds a way to run code and nothing else; delete it",
                    w.display, w.format, s.display
                ),
                None => format!(
                    "`{}` is a pickle ({}): loading it can run code; its tensors can be saved as safetensors (or the estimator exported with skops/ONNX), which load without running code",
                    w.display, w.format
                ),
            };
            let mut f = Finding::new(Rule::PickleModelSafeFormat, &w.display, Location::default(), message)
                .key(format!("pickle:{}", w.rel));
            if safe_copy.is_some() {
                f = f.severity(Severity::High);
            }
            findings.push(f);
        }
        if let Some((i, card)) = &m.card {
            if let Some((line, msg)) = &card.problem {
                findings.push(
                    Finding::new(
                        Rule::UnparsableInput,
                        &inv.files[*i].display,
                        Location {
                            line: Some(*line),
                            ..Location::default()
                        },
                        format!("model card: {msg}"),
                    )
                    .key("front-matter"),
                );
            }
        }

        rows.push(InventoryItem {
            kind: "model",
            name: match &group {
                Some(g) => format!("{g}/{name}"),
                None => name.clone(),
            },
            version: c.version.clone().unwrap_or_default(),
            licence: licence_label(&c.licenses),
            detail: {
                let mut d = format!("{format}, {} file(s), {} bytes", weights.len() + aux.len(), size);
                if let Some(n) = params {
                    d.push_str(&format!(", {} params", human_count(n)));
                }
                d.push_str(&format!(", risk {}, signature {}", worst.0, sig.status.as_str()));
                d
            },
            bom_ref: r.clone(),
        });
        components.push(c);
    }
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    rows.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    // Signed model directories joined the datasets' directories: deepest first again.
    owners
        .dirs
        .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.cmp(b)));
    // Model card findings are reported once per card, however many models share it.
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.rule == b.rule && a.path == b.path && a.key == b.key && a.location == b.location);

    // The root depends on every top-level component.
    let root_ref = "root".to_string();
    deps.insert(root_ref.clone(), components.iter().map(|c| c.bom_ref.clone()).collect());
    let dependencies: Vec<Dependency> = deps
        .into_iter()
        .map(|(reference, on)| Dependency {
            reference,
            depends_on: on.into_iter().collect(),
        })
        .collect();

    let bom = Bom {
        schema: SpecVersion::V1_6.schema_uri(),
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: String::new(),
        version: 1,
        metadata: Metadata {
            timestamp: x.timestamp.clone(),
            lifecycles: vec![Lifecycle { phase: "build" }],
            tools: Tools {
                components: vec![Component {
                    kind: ComponentType::Application,
                    group: None,
                    name: "llmguard".into(),
                    version: Some(env!("CARGO_PKG_VERSION").into()),
                    description: Some(env!("CARGO_PKG_DESCRIPTION").into()),
                    external_references: vec![ExternalReference {
                        kind: "vcs",
                        url: env!("CARGO_PKG_REPOSITORY").into(),
                        comment: None,
                        hashes: Vec::new(),
                    }],
                    ..Component::default()
                }],
            },
            component: Component {
                kind: ComponentType::Application,
                bom_ref: root_ref,
                name: x.root_name.clone(),
                description: Some("the scanned repository".into()),
                ..Component::default()
            },
            properties: vec![Property::new(
                "llmguard:hashes",
                if x.hashed {
                    "sha256, every model file"
                } else {
                    "none (--no-hash)"
                },
            )],
        },
        components,
        dependencies,
        vulnerabilities: Vec::new(),
        properties: Vec::new(),
    };
    Built {
        bom,
        findings,
        rows,
        owners,
    }
}

/// The run's findings as CycloneDX vulnerabilities: the rule id, a rating from the severity,
/// the component the file belongs to (`Owners`: a model, a dataset, else the repository), the
/// rule's doc and fix,
/// and, for a suppressed finding, an analysis saying why.
pub fn vulnerabilities(findings: &[Finding], owners: &Owners) -> Vec<Vulnerability> {
    let root_ref = "root".to_string();
    let mut vulnerabilities = Vec::new();
    {
        let mut used = BTreeSet::new();
        for f in findings {
            let mut id = format!("llmguard:finding:{}", f.fingerprint());
            while !used.insert(id.clone()) {
                id.push('+');
            }
            let affected = owners.of(&f.path).map_or_else(|| root_ref.clone(), str::to_string);
            let mut props = vec![Property::new("llmguard:path", f.path.clone())];
            if let Some(m) = f.location.member_chain() {
                props.push(Property::new("llmguard:member", m));
            }
            if let Some(o) = f.location.byte_offset {
                props.push(Property::new("llmguard:byte-offset", o.to_string()));
            }
            if let Some(l) = f.location.line {
                props.push(Property::new("llmguard:line", l.to_string()));
            }
            if let Some(e) = &f.evidence {
                props.push(Property::new("llmguard:evidence", e.clone()));
            }
            props.push(Property::new("llmguard:rule-name", f.rule.name()));
            props.push(Property::new("llmguard:fingerprint", f.fingerprint()));
            vulnerabilities.push(Vulnerability {
                bom_ref: id,
                id: f.rule.id().to_string(),
                source: Source {
                    name: "llmguard",
                    url: f.rule.help_uri(),
                },
                ratings: vec![Rating {
                    source: RatingSource { name: "llmguard" },
                    severity: f.severity.as_str(),
                    method: "other",
                }],
                description: f.message.clone(),
                detail: f.rule.doc().trim().to_string(),
                recommendation: f.rule.fix().trim().to_string(),
                affects: vec![Affects { reference: affected }],
                analysis: f.suppression.as_ref().map(|s| Analysis {
                    state: match s.kind {
                        crate::finding::SuppressionKind::Baseline => "in_triage",
                        _ => "not_affected",
                    },
                    detail: format!(
                        "suppressed by {}: {}",
                        match s.kind {
                            crate::finding::SuppressionKind::Config => "configuration",
                            crate::finding::SuppressionKind::Inline => "an inline comment",
                            crate::finding::SuppressionKind::Baseline => "the baseline",
                        },
                        s.reason
                    ),
                }),
                properties: props,
            });
        }
    }
    vulnerabilities
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licences_by_id_expression_or_name() {
        let id = |c: LicenseChoice| match c {
            LicenseChoice::License { license } => (license.id, license.name, license.url),
            LicenseChoice::Expression { expression, .. } => (None, Some(format!("expr:{expression}")), None),
        };
        assert_eq!(id(licence("apache-2.0", None, None)).0.as_deref(), Some("Apache-2.0"));
        assert_eq!(id(licence("MIT", None, None)).0.as_deref(), Some("MIT"));
        assert_eq!(
            id(licence("apache-2.0 or mit", None, None)).1.as_deref(),
            Some("expr:Apache-2.0 OR MIT")
        );
        assert_eq!(
            id(licence("(MIT AND bsd-3-clause) OR GPL-2.0+", None, None))
                .1
                .as_deref(),
            Some("expr:(MIT AND BSD-3-Clause) OR GPL-2.0+")
        );
        assert_eq!(id(licence("llama2", None, None)), (None, Some("llama2".into()), None));
        assert_eq!(
            id(licence(
                "other",
                Some("acme-rail"),
                Some("https://acme.example/LICENSE")
            )),
            (
                None,
                Some("acme-rail".into()),
                Some("https://acme.example/LICENSE".into())
            )
        );
        assert_eq!(id(licence("MIT AND (", None, None)).1.as_deref(), Some("MIT AND ("));
    }

    #[test]
    fn taken_refs_get_a_suffix() {
        let mut refs = Refs::default();
        assert_eq!(refs.unique("model:a".into()), "model:a");
        assert_eq!(refs.unique("model:a".into()), "model:a+2");
        assert_eq!(refs.unique("model:a+2".into()), "model:a+2+2");
        assert_eq!(refs.unique("model:a".into()), "model:a+3");
        assert_eq!(refs.unique("model:b".into()), "model:b");
    }

    #[test]
    fn purls() {
        assert_eq!(hf_purl("acme/bot-7b", Some("abc")), "pkg:huggingface/acme/bot-7b@abc");
        assert_eq!(hf_purl("a b/c", None), "pkg:huggingface/a%20b/c");
        assert_eq!(pypi_purl("torch", Some("2.4.1+cpu")), "pkg:pypi/torch@2.4.1%2Bcpu");
        assert_eq!(human_count(1_234_567), "1.2M");
    }
}
