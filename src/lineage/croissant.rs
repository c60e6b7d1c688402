//! Croissant JSON-LD (MLCommons, versions 1.0 and 1.1) with its Responsible-AI vocabulary.
//!
//! Read: `name`, `description`, `version`, `url`, `license` (SPDX ids or licence URLs),
//! `creator`/`publisher`, `dateCreated`/`datePublished`/`dateModified`, `inLanguage`,
//! `isBasedOn` and `prov:wasDerivedFrom` (parents), `distribution` `FileObject`s with a local
//! `contentUrl` (verified by `sha256`/`md5`, `contentSize`), `recordSet` field names, and the
//! RAI fields: `rai:dataCollection`, `rai:dataCollectionType`, `rai:dataCollectionRawData`
//! (creation method), `rai:dataCollectionTimeframe` (collection period),
//! `rai:dataPreprocessingProtocol`, `rai:dataManipulationProtocol`, `rai:dataImputationProtocol`
//! (preprocessing), `rai:dataUseCases` (intended use), `rai:personalSensitiveInformation`
//! (personal data). Keys are accepted bare, with their `sc:`, `schema:`, `cr:` or `rai:` prefix,
//! or as full IRIs, and compared without regard to case (mlcroissant writes
//! `rai:dataCollectionTimeFrame` and `rai:dataDataManipulationProtocol`); 1.1's language-tagged
//! `name`/`description` are read in English, else their first language. A remote `FileObject`
//! with a checksum counts as a listed file (not verified: no network reads); one inside an
//! archive (`containedIn`) is covered by its archive.

use super::discover::{Context, Parsed};
use super::doc::{escape, Doc};
use super::own::parent_ref;
use super::spec::LineageRules;
use super::{
    license, Algorithm, DataFile, DatasetRecord, DigestDecl, Field, FileKind, Parent, ParentRef, Period, Requirement,
    SourceFormat, Span,
};
use serde_json::{Map, Value};

/// Whether a document is a Croissant dataset.
pub fn detect(doc: &Doc) -> bool {
    let Some(obj) = doc.value.as_object() else { return false };
    if !obj.contains_key("@context") {
        return false;
    }
    let conforms = get(obj, &["conformsTo", "dct:conformsTo"])
        .map(|(_, v)| texts(v).iter().any(|t| t.contains("mlcommons.org/croissant")))
        .unwrap_or(false);
    let dataset = obj
        .get("@type")
        .map(|t| {
            texts(t).iter().any(|s| {
                matches!(
                    s.as_str(),
                    "sc:Dataset"
                        | "Dataset"
                        | "schema:Dataset"
                        | "https://schema.org/Dataset"
                        | "http://schema.org/Dataset"
                )
            })
        })
        .unwrap_or(false);
    conforms || dataset
}

/// Prefixes a Croissant key may be written with: compact (`rai:`, `cr:`, `sc:`), bare (the
/// Hub's export maps `dataCollection` and `personalSensitiveInformation` to `cr:` in its
/// context), or as full IRIs in expanded JSON-LD.
const PREFIXES: &[&str] = &[
    "",
    "sc:",
    "schema:",
    "cr:",
    "rai:",
    "https://schema.org/",
    "http://schema.org/",
    "http://mlcommons.org/croissant/",
    "http://mlcommons.org/croissant/RAI/",
];

/// The first of `names` present in `obj` (under any prefix, the name compared without
/// regard to case: mlcroissant writes `rai:dataCollectionTimeFrame`, the RAI vocabulary
/// `rai:dataCollectionTimeframe`), with the key it was found under. A name may carry its
/// own prefix (`rai:dataUseCases`); it is matched without it.
fn get<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<(String, &'a Value)> {
    for n in names {
        let bare = n.rsplit_once(':').map_or(*n, |(_, b)| b);
        for prefix in PREFIXES {
            for (k, v) in obj {
                let Some(rest) = k.strip_prefix(prefix) else { continue };
                if rest.eq_ignore_ascii_case(bare) && !v.is_null() {
                    return Some((k.clone(), v));
                }
            }
        }
    }
    None
}

/// Strings of a value: a string, a list of strings, `{"@value": …}`, `{"@id": …}`, or a
/// language map (`{"en": …}`, Croissant 1.1's language-tagged `name` and `description`:
/// English first, else the first language).
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Object(o) => {
            if let Some(x) = o.get("@value").or_else(|| o.get("@id")) {
                return texts(x);
            }
            if !o.is_empty()
                && o.iter()
                    .all(|(k, x)| !k.starts_with('@') && (x.is_string() || x.is_array()))
            {
                let en = o
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("en") || k.to_ascii_lowercase().starts_with("en-"));
                return en
                    .or_else(|| o.iter().next())
                    .map(|(_, x)| texts(x))
                    .unwrap_or_default();
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// A licence item: an id or URL, or a `CreativeWork` with a `url`, `@id` or `name`.
fn license_text(v: &Value) -> String {
    match v {
        Value::Object(o) if !o.contains_key("@value") => get(o, &["url", "@id", "identifier", "name"])
            .map(|(_, x)| texts(x).join(" "))
            .unwrap_or_default(),
        other => texts(other).join(" "),
    }
}

/// A list value (`distribution`, `recordSet`): an array, or one object standing alone.
fn items(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    }
}

/// Read a Croissant document into a record.
pub fn parse(doc: &Doc, cx: &Context, out: &mut Parsed) {
    let rules = LineageRules::shared();
    let Some(obj) = doc.value.as_object() else { return };
    let mut r = DatasetRecord::new(SourceFormat::Croissant, cx.meta, Span::line(doc.line("")));
    r.format_version = get(obj, &["conformsTo"]).and_then(|(_, v)| {
        texts(v).iter().find_map(|t| {
            t.split("mlcommons.org/croissant/")
                .nth(1)
                .map(|ver| format!("croissant {ver}"))
        })
    });
    let text = |names: &[&str]| -> Option<Field<String>> {
        let (k, v) = get(obj, names)?;
        let joined = texts(v).join("\n");
        rules
            .filled(&joined)
            .map(|t| Field::new(t, doc.span(&format!("/{}", escape(&k)))))
    };
    r.name = text(&["name"]);
    r.version = text(&["version"]);
    r.description = text(&["description"]);
    r.source.extend(text(&["url"]));
    if let Some((k, v)) = get(obj, &["sameAs"]) {
        for (i, u) in texts(v).into_iter().enumerate() {
            r.urls.push(Field::new(u, doc.span(&format!("/{}/{i}", escape(&k)))));
        }
    }
    if let Some((k, v)) = get(obj, &["license"]) {
        let list = match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("/{}/{i}", escape(&k)), license_text(x)))
                .collect(),
            other => vec![(format!("/{}", escape(&k)), license_text(other))],
        };
        for (p, s) in list {
            if let Some(s) = rules.filled(&s) {
                r.license.push(Field::new(license::normalise(&s, rules), doc.span(&p)));
            }
        }
    }
    for names in [&["creator"][..], &["publisher"][..]] {
        if r.owner.is_some() {
            break;
        }
        if let Some((k, v)) = get(obj, names) {
            let first = match v {
                Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            let name = match &first {
                Value::Object(o) => get(o, &["name"]).map(|(_, n)| texts(n).join(" ")),
                Value::String(s) => Some(s.clone()),
                _ => None,
            };
            let at = doc.span(&format!("/{}", escape(&k)));
            r.owner = name.and_then(|n| rules.filled(&n)).map(|n| Field::new(n, at.clone()));
            if let Value::Object(o) = &first {
                r.contact = get(o, &["email"])
                    .and_then(|(_, e)| rules.filled(&texts(e).join(" ")))
                    .map(|e| Field::new(e, at));
            }
        }
    }
    r.created_at = text(&["dateCreated"]).or_else(|| text(&["datePublished"]));
    r.dates.extend(text(&["datePublished"]));
    r.dates.extend(text(&["dateModified"]));
    if let Some((_, v)) = get(obj, &["inLanguage"]) {
        r.languages = texts(v);
    }
    for names in [&["isBasedOn"][..], &["prov:wasDerivedFrom", "wasDerivedFrom"][..]] {
        let Some((k, v)) = get(obj, names) else { continue };
        let items: Vec<(String, &Value)> = match v {
            Value::Array(list) => list
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("/{}/{i}", escape(&k)), x))
                .collect(),
            other => vec![(format!("/{}", escape(&k)), other)],
        };
        for (p, item) in items {
            let reference = match item {
                Value::Object(o) => get(o, &["url", "@id", "name"]).map(|(_, x)| texts(x).join(" ")),
                other => Some(texts(other).join(" ")),
            };
            if let Some(s) = reference.and_then(|s| rules.filled(&s)) {
                r.parents.push(Parent {
                    reference: match parent_ref(&s) {
                        ParentRef::Id(id) if id.contains('/') => ParentRef::Path(id),
                        other => other,
                    },
                    license: None,
                    at: doc.span(&p),
                });
            }
        }
    }
    // Responsible-AI fields.
    let collection = [
        text(&["rai:dataCollection"]),
        text(&["rai:dataCollectionType"]),
        text(&["rai:dataCollectionRawData"]),
    ];
    let joined: Vec<&Field<String>> = collection.iter().flatten().collect();
    if let Some(first) = joined.first() {
        let t = joined.iter().map(|f| f.value.as_str()).collect::<Vec<_>>().join("\n");
        r.creation_method = Some(Field::new(t, first.at.clone()));
    }
    // The RAI specification spells it `Timeframe`; mlcroissant (1.1) writes `TimeFrame`.
    if let Some((k, v)) = get(obj, &["rai:dataCollectionTimeframe", "rai:dataCollectionTimeFrame"]) {
        let p = format!("/{}", escape(&k));
        let at = doc.span(&p);
        let dates: Vec<String> = match v {
            Value::Array(_) => texts(v),
            Value::String(s) => s
                .split(['/', ','])
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            _ => Vec::new(),
        };
        let filled: Vec<String> = dates.into_iter().filter_map(|d| rules.filled(&d)).collect();
        if !filled.is_empty() {
            let looks_date = |s: &str| s.len() >= 4 && s.as_bytes()[..4].iter().all(u8::is_ascii_digit);
            let mut period = Period {
                start: None,
                end: None,
                text: None,
                at: at.clone(),
            };
            if filled.iter().all(|d| looks_date(d)) {
                period.start = filled.first().map(|d| Field::new(d.clone(), at.clone()));
                period.end = filled.get(1).map(|d| Field::new(d.clone(), at.clone()));
            } else {
                period.text = Some(Field::new(filled.join(" / "), at.clone()));
            }
            r.collection_period = Some(period);
        }
    }
    let prep = [
        text(&["rai:dataPreprocessingProtocol"]),
        // mlcroissant writes the manipulation protocol as `rai:dataDataManipulationProtocol`.
        text(&["rai:dataManipulationProtocol", "rai:dataDataManipulationProtocol"]),
        text(&["rai:dataImputationProtocol"]),
    ];
    r.preprocessing = prep.into_iter().flatten().next();
    r.intended_use = text(&["rai:dataUseCases"]);
    if let Some(st) = text(&["rai:personalSensitiveInformation"]) {
        let none = rules.says_no_personal_data(&st.value);
        r.personal_data.contains_pii = Some(Field::new(!none, st.at.clone()));
        r.personal_data.implied = true;
        r.personal_data.statement = Some(st);
    }
    // Files.
    if let Some((k, dist)) = get(obj, &["distribution"]) {
        let single = !dist.is_array();
        for (i, item) in items(dist).into_iter().enumerate() {
            let Some(o) = item.as_object() else { continue };
            let base = if single {
                format!("/{}", escape(&k))
            } else {
                format!("/{}/{i}", escape(&k))
            };
            // A member of an archive or a repository (`containedIn`) has no bytes of its own
            // on disk; the archive it is in is what a checksum covers.
            if get(o, &["containedIn"]).is_some() {
                continue;
            }
            let is_set = o
                .get("@type")
                .map(|t| texts(t).iter().any(|x| x.ends_with("FileSet")))
                .unwrap_or(false);
            let Some((ck, cu)) = get(o, &["contentUrl"]) else {
                continue;
            };
            let url = texts(cu).join("");
            let url_at = doc.span(&format!("{base}/{}", escape(&ck)));
            if url.contains("://") {
                // A remote file with a checksum is listed, though llmguard reads no network to
                // verify it (a placeholder "checksum" such as a URL does not count).
                let summed = ["sha256", "md5"].iter().any(|k| {
                    get(o, &[k]).is_some_and(|(_, d)| {
                        let t = texts(d).join("");
                        !t.contains("://") && !t.trim().is_empty()
                    })
                });
                if summed && !is_set {
                    r.remote_files.push(Field::new(url.clone(), url_at.clone()));
                }
                r.urls.push(Field::new(url, url_at));
                continue;
            }
            if is_set || rules.filled(&url).is_none() {
                continue;
            }
            let (display, relative, resolved) = cx.data_file(&url, url_at.clone(), out);
            let digest = |alg: Algorithm, key: &str| {
                get(o, &[key]).map(|(dk, dv)| {
                    Field::new(
                        DigestDecl::parse(alg, &texts(dv).join("")),
                        doc.span(&format!("{base}/{}", escape(&dk))),
                    )
                })
            };
            let size = get(o, &["contentSize"]).and_then(|(sk, sv)| {
                content_size(sv).map(|n| Field::new(n, doc.span(&format!("{base}/{}", escape(&sk)))))
            });
            r.files.push(DataFile {
                path: Field::new(url, url_at),
                display,
                relative,
                resolved,
                sha256: digest(Algorithm::Sha256, "sha256"),
                md5: digest(Algorithm::Md5, "md5"),
                md5_text_normalised: false,
                sha256_universal: false,
                size,
                kind: FileKind::File,
                dependency: false,
            });
        }
    }
    // Field names of every record set (and their sub-fields).
    if let Some((k, sets)) = get(obj, &["recordSet"]) {
        if sets.is_array() {
            for (i, set) in items(sets).into_iter().enumerate() {
                fields(set, &format!("/{}/{i}", escape(&k)), doc, &mut r.schema_fields, 0);
            }
        } else {
            fields(sets, &format!("/{}", escape(&k)), doc, &mut r.schema_fields, 0);
        }
    }
    r.cannot_express = vec![
        Requirement::LegalBasis,
        Requirement::Retention,
        Requirement::Classification,
    ];
    out.records.push(r);
}

fn fields(v: &Value, pointer: &str, doc: &Doc, out: &mut Vec<Field<String>>, depth: usize) {
    let Some(o) = v.as_object() else { return };
    if depth > 16 || out.len() > 10_000 {
        return;
    }
    for key in ["field", "cr:field", "subField", "cr:subField"] {
        let Some(value) = o.get(key) else { continue };
        for (j, f) in items(value).into_iter().enumerate() {
            let p = if value.is_array() {
                format!("{pointer}/{}/{j}", escape(key))
            } else {
                format!("{pointer}/{}", escape(key))
            };
            if let Some((nk, name)) = f
                .as_object()
                .and_then(|fo| get(fo, &["name"]))
                .map(|(nk, n)| (nk, texts(n).join(" ")))
            {
                out.push(Field::new(name, doc.span(&format!("{p}/{}", escape(&nk)))));
            }
            fields(f, &p, doc, out, depth + 1);
        }
    }
}

/// `contentSize` as bytes: a number, or "123 B", "1.5 MB", "2 GiB".
fn content_size(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let s = v.as_str()?.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1048576.0,
        "gib" => 1073741824.0,
        _ => return None,
    };
    let bytes = n * mult;
    // Only exact byte counts are comparable with a file's size.
    (bytes.fract() == 0.0 && (0.0..1.8e19).contains(&bytes) && mult == 1.0).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(content_size(&Value::from(12)), Some(12));
        assert_eq!(content_size(&Value::from("1234 B")), Some(1234));
        assert_eq!(
            content_size(&Value::from("1.5 MB")),
            None,
            "rounded sizes are not compared"
        );
    }
}
