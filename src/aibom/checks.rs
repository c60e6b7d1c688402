//! What the CycloneDX schema cannot check, llmguard asserts of every document it writes:
//! `bom-ref`s are unique, every reference resolves, model cards sit only on model components
//! and dataset references point at `data` components, hashes are well formed, and a licence
//! is an id, a name or an expression, never two at once. A document that fails is not written.

use super::cdx::*;
use std::collections::{BTreeMap, BTreeSet};

/// Every problem found (empty when the document is sound).
pub fn self_check(bom: &Bom) -> Vec<String> {
    let mut problems = Vec::new();
    let all = bom.all_components();
    let mut kinds: BTreeMap<&str, ComponentType> = BTreeMap::new();
    let mut refs: BTreeSet<&str> = BTreeSet::new();
    for c in &all {
        if !c.bom_ref.is_empty() {
            if !refs.insert(c.bom_ref.as_str()) {
                problems.push(format!("bom-ref `{}` is used twice", c.bom_ref));
            }
            kinds.insert(c.bom_ref.as_str(), c.kind);
        }
        if c.model_card.is_some() && c.kind != ComponentType::MachineLearningModel {
            problems.push(format!(
                "component `{}` is of type {} but has a modelCard",
                c.name,
                c.kind.as_str()
            ));
        }
        if !c.data.is_empty() && c.kind != ComponentType::Data {
            problems.push(format!(
                "component `{}` is of type {} but has data",
                c.name,
                c.kind.as_str()
            ));
        }
        for h in &c.hashes {
            let len = match h.alg {
                "SHA-256" => 64,
                "MD5" => 32,
                _ => 0,
            };
            let ok = len > 0
                && h.content.len() == len
                && h.content
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !ok {
                problems.push(format!(
                    "component `{}` has a malformed {} hash `{}`",
                    c.name, h.alg, h.content
                ));
            }
        }
        for l in &c.licenses {
            if let LicenseChoice::License { license } = l {
                if license.id.is_some() == license.name.is_some() {
                    problems.push(format!(
                        "component `{}` has a licence with {} of id and name",
                        c.name,
                        if license.id.is_some() { "both" } else { "neither" }
                    ));
                }
            }
        }
        if c.licenses.len() > 1 && c.licenses.iter().any(|l| matches!(l, LicenseChoice::Expression { .. })) {
            problems.push(format!(
                "component `{}` mixes an expression with other licences",
                c.name
            ));
        }
    }
    for v in &bom.vulnerabilities {
        if !refs.insert(v.bom_ref.as_str()) {
            problems.push(format!("bom-ref `{}` is used twice", v.bom_ref));
        }
    }
    for c in &all {
        let Some(mc) = &c.model_card else { continue };
        let Some(mp) = &mc.model_parameters else { continue };
        for d in &mp.datasets {
            if let DatasetChoice::Ref { reference } = d {
                match kinds.get(reference.as_str()) {
                    None => problems.push(format!(
                        "model `{}` refers to dataset `{reference}`, which no component has",
                        c.name
                    )),
                    Some(ComponentType::Data) => {}
                    Some(k) => problems.push(format!(
                        "model `{}` refers to dataset `{reference}`, a component of type {}",
                        c.name,
                        k.as_str()
                    )),
                }
            }
        }
    }
    let mut seen_deps = BTreeSet::new();
    for d in &bom.dependencies {
        if !seen_deps.insert(d.reference.as_str()) {
            problems.push(format!("dependencies list `{}` twice", d.reference));
        }
        for r in std::iter::once(&d.reference).chain(d.depends_on.iter()) {
            if !kinds.contains_key(r.as_str()) {
                problems.push(format!("dependency reference `{r}` resolves to no component"));
            }
        }
    }
    for v in &bom.vulnerabilities {
        for a in &v.affects {
            if !kinds.contains_key(a.reference.as_str()) {
                problems.push(format!(
                    "vulnerability `{}` affects `{}`, which no component has",
                    v.bom_ref, a.reference
                ));
            }
        }
    }
    let serial_ok = bom.serial_number.strip_prefix("urn:uuid:").is_some_and(|u| {
        u.len() == 36
            && u.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit() && !c.is_ascii_uppercase()
                }
            })
    });
    if !serial_ok {
        problems.push(format!("serial number `{}` is not a urn:uuid", bom.serial_number));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(kind: ComponentType, r: &str) -> Component {
        Component {
            kind,
            bom_ref: r.into(),
            name: r.into(),
            ..Component::default()
        }
    }

    fn bom(components: Vec<Component>) -> Bom {
        Bom {
            schema: SpecVersion::V1_6.schema_uri(),
            bom_format: "CycloneDX",
            spec_version: "1.6",
            serial_number: "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79".into(),
            version: 1,
            metadata: Metadata {
                component: component(ComponentType::Application, "root"),
                ..Metadata::default()
            },
            components,
            dependencies: Vec::new(),
            vulnerabilities: Vec::new(),
            properties: Vec::new(),
        }
    }

    #[test]
    fn a_sound_document_passes() {
        let mut m = component(ComponentType::MachineLearningModel, "model:a");
        m.hashes.push(Hash::sha256(&"ab".repeat(32)));
        m.model_card = Some(ModelCard {
            model_parameters: Some(ModelParameters {
                datasets: vec![DatasetChoice::Ref {
                    reference: "data:d".into(),
                }],
                ..ModelParameters::default()
            }),
            ..ModelCard::default()
        });
        let mut b = bom(vec![m, component(ComponentType::Data, "data:d")]);
        b.dependencies.push(Dependency {
            reference: "model:a".into(),
            depends_on: vec!["data:d".into()],
        });
        assert_eq!(self_check(&b), Vec::<String>::new());
    }

    #[test]
    fn each_broken_invariant_is_reported() {
        let mut lib = component(ComponentType::Library, "lib:x");
        lib.model_card = Some(ModelCard::default());
        lib.hashes.push(Hash::sha256("ABC"));
        lib.licenses.push(LicenseChoice::License {
            license: License {
                id: Some("MIT".into()),
                name: Some("MIT".into()),
                url: None,
                acknowledgement: None,
            },
        });
        let mut m = component(ComponentType::MachineLearningModel, "model:a");
        m.model_card = Some(ModelCard {
            model_parameters: Some(ModelParameters {
                datasets: vec![
                    DatasetChoice::Ref {
                        reference: "lib:x".into(),
                    },
                    DatasetChoice::Ref {
                        reference: "data:missing".into(),
                    },
                ],
                ..ModelParameters::default()
            }),
            ..ModelCard::default()
        });
        let mut b = bom(vec![lib, m, component(ComponentType::Data, "lib:x")]);
        b.serial_number = "urn:uuid:NOT".into();
        b.dependencies.push(Dependency {
            reference: "model:a".into(),
            depends_on: vec!["nowhere".into()],
        });
        let problems = self_check(&b).join("\n");
        for want in [
            "bom-ref `lib:x` is used twice",
            "of type library but has a modelCard",
            "malformed SHA-256 hash `ABC`",
            "both of id and name",
            "refers to dataset `data:missing`, which no component has",
            "dependency reference `nowhere`",
            "serial number",
        ] {
            assert!(problems.contains(want), "missing `{want}` in:\n{problems}");
        }
    }
}
