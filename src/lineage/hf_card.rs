//! Hugging Face dataset cards: the YAML front matter of `README.md` (including the older
//! plural `licenses`/`languages` keys) and the sections of the Hub's card template, because
//! provenance, intended use and consent live only there: the Dataset Description bullets
//! (Curated by, Shared by, Language(s), License), Dataset Sources (Repository, Homepage),
//! Uses / Direct Use, Data Collection and Processing, Personal and Sensitive Information and
//! Dataset Card Contact. Placeholder text such as "[More Information Needed]" counts as missing.

use super::discover::{doc_error, Context, Parsed};
use super::doc::Doc;
use super::own::parent_ref;
use super::spec::{regex, LineageRules};
use super::{license, DatasetRecord, Field, Parent, ParentRef, Period, Requirement, SourceFormat, Span};
use crate::rules::Rule;
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// What the card's markdown says, section by section.
struct Section {
    title: String,
    line: u32,
    /// Prose lines (bullets excluded), with their line numbers.
    prose: Vec<(u32, String)>,
}

/// The front matter's YAML text and the line it starts on, or why it is broken.
fn front_matter(text: &str) -> Option<Result<(String, u32, usize), String>> {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = t.split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let mut yaml = String::new();
    let mut n = 1u32;
    for l in lines {
        n += 1;
        let bare = l.trim_end_matches(['\n', '\r']);
        if bare == "---" || bare == "..." {
            return Some(Ok((yaml, 2, n as usize)));
        }
        yaml.push_str(l);
    }
    Some(Err("the front matter opened by `---` on line 1 is never closed".into()))
}

fn strs(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// `[Text](#anchor)` as `Text` (the datasets library's old template links its headings).
fn unlink(title: &str) -> &str {
    title
        .strip_prefix('[')
        .and_then(|t| t.split_once("]("))
        .filter(|(_, rest)| rest.ends_with(')'))
        .map_or(title, |(text, _)| text.trim())
}

fn label_norm(s: &str) -> String {
    s.to_ascii_lowercase()
        .replace("[optional]", "")
        .trim()
        .trim_end_matches(':')
        .trim()
        .to_string()
}

/// Parse a card; `false` when the file is not a dataset card.
pub fn parse(text: &str, cx: &Context, out: &mut Parsed) -> bool {
    let rules = LineageRules::shared();
    let mut r = DatasetRecord::new(SourceFormat::HfCard, cx.meta, Span::line(1));
    let mut body_start = 0usize; // lines of front matter to skip
    let mut is_card = false;
    match front_matter(text) {
        Some(Ok((yaml, first, end))) => {
            body_start = end;
            match Doc::yaml(&yaml, first) {
                Ok(doc) => {
                    if let Some(obj) = doc.value.as_object() {
                        let has = |keys: &[String]| keys.iter().any(|k| obj.contains_key(k));
                        // A model card or a Space has the same README.md and `license` key.
                        let elsewhere = has(&rules.not_dataset_card_keys) && !has(&rules.dataset_only_card_keys);
                        is_card = has(&rules.card_keys) && !elsewhere;
                        if elsewhere {
                            return false;
                        }
                        if is_card {
                            front(&doc, cx, &mut r, out, rules);
                        }
                    } else if doc.value.is_null() {
                        is_card = false;
                    }
                }
                Err(e) => {
                    out.findings
                        .push(doc_error(cx.meta, &e, "YAML in the card's front matter"));
                    is_card = true;
                }
            }
        }
        Some(Err(why)) => {
            out.findings.push(
                cx.finding(Rule::LineageUnparsable, &Span::line(1), why)
                    .key("front-matter"),
            );
            return true;
        }
        None => {}
    }
    let sections = markdown(text, body_start);
    static CARD_FOR: OnceLock<Regex> = OnceLock::new();
    let card_for = regex(&CARD_FOR, r"(?i)^dataset card for\s+(.+)$");
    if !is_card && !sections.iter().any(|s| card_for.is_match(&s.title)) {
        return false;
    }
    body(&sections, text, body_start, &mut r, rules);
    r.cannot_express = [
        Requirement::CollectionPeriod,
        Requirement::Files,
        Requirement::LegalBasis,
        Requirement::Retention,
        Requirement::Classification,
        Requirement::CreatedAt,
    ]
    .into_iter()
    .chain(r.version.is_none().then_some(Requirement::Version))
    .collect();
    out.records.push(r);
    true
}

fn front(doc: &Doc, cx: &Context, r: &mut DatasetRecord, out: &mut Parsed, rules: &LineageRules) {
    let v = &doc.value;
    let text = |pointer: &str| -> Option<Field<String>> {
        v.pointer(pointer)
            .and_then(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .and_then(|s| rules.filled(&s))
            .map(|s| Field::new(s, doc.span(pointer)))
    };
    r.name = text("/pretty_name");
    r.version = text("/version");
    for key in ["license", "licenses"] {
        match v.get(key) {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = item.as_str().and_then(|s| rules.filled(s)) {
                        r.license.push(Field::new(
                            license::normalise(&s, rules),
                            doc.span(&format!("/{key}/{i}")),
                        ));
                    }
                }
            }
            Some(Value::String(s)) => {
                if let Some(s) = rules.filled(s) {
                    r.license
                        .push(Field::new(license::normalise(&s, rules), doc.span(&format!("/{key}"))));
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => out.findings.push(cx.finding(
                Rule::LineageInvalidValue,
                &doc.span(&format!("/{key}")),
                format!("`{key}` must be a licence id or a list of them"),
            )),
        }
    }
    // `license: other` with `license_name` names the custom licence.
    if let Some(name) = text("/license_name") {
        for l in &mut r.license {
            if l.value.hub_id.as_deref() == Some("other") {
                l.value.raw = format!("other ({})", name.value);
            }
        }
    }
    r.urls.extend(text("/license_link").filter(|l| l.value.contains("://")));
    for key in ["language", "languages"] {
        if let Some(x) = v.get(key) {
            r.languages.extend(strs(x));
        }
    }
    if let Some(Value::Array(items)) = v.get("source_datasets") {
        for (i, item) in items.iter().enumerate() {
            let Some(s) = item.as_str().and_then(|s| rules.filled(s)) else {
                continue;
            };
            let reference = match s.split_once('|') {
                _ if s == "original" || s == "extended" => continue,
                Some(("extended", id)) if !id.trim().is_empty() => {
                    ParentRef::Url(format!("https://huggingface.co/datasets/{}", id.trim()))
                }
                _ => parent_ref(&s),
            };
            r.parents.push(Parent {
                reference,
                license: None,
                at: doc.span(&format!("/source_datasets/{i}")),
            });
        }
    }
    let mut creators = Vec::new();
    for key in ["annotations_creators", "language_creators"] {
        if let Some(x) = v.get(key) {
            let list: Vec<String> = strs(x).into_iter().filter(|s| rules.filled(s).is_some()).collect();
            if !list.is_empty() {
                creators.push((key, list));
            }
        }
    }
    if let Some((first, _)) = creators.first() {
        let at = doc.span(&format!("/{first}"));
        let text = creators
            .iter()
            .map(|(k, l)| format!("{}: {}", k.trim_end_matches("_creators"), l.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        r.creation_method = Some(Field::new(text, at));
    }
    // Feature names of every config (`dataset_info` is a mapping, or a list of them).
    let infos: Vec<(String, &Value)> = match v.get("dataset_info") {
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("/dataset_info/{i}"), x))
            .collect(),
        Some(x) => vec![("/dataset_info".into(), x)],
        None => Vec::new(),
    };
    for (base, info) in infos {
        if let Some(Value::Array(features)) = info.get("features") {
            for (i, f) in features.iter().enumerate() {
                if let Some(n) = f.get("name").and_then(Value::as_str) {
                    r.schema_fields.push(Field::new(
                        n.to_string(),
                        doc.span(&format!("{base}/features/{i}/name")),
                    ));
                }
            }
        }
    }
}

/// Headings and their prose, and every `- **Label:** value` bullet (HTML comments, fenced
/// code and the front matter skipped).
fn markdown(text: &str, skip: usize) -> Vec<Section> {
    let mut sections = vec![Section {
        title: String::new(),
        line: 1,
        prose: Vec::new(),
    }];
    let mut in_comment = false;
    let mut fence: Option<&str> = None;
    for (i, raw) in text.lines().enumerate().skip(skip) {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let mut line = raw.trim_end().to_string();
        let trimmed = line.trim_start();
        if let Some(f) = fence {
            if trimmed.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(if trimmed.starts_with("```") { "```" } else { "~~~" });
            continue;
        }
        // Strip HTML comments, which may span lines.
        let mut kept = String::new();
        let mut rest = line.as_str();
        loop {
            if in_comment {
                match rest.find("-->") {
                    Some(e) => {
                        rest = &rest[e + 3..];
                        in_comment = false;
                    }
                    None => break,
                }
            } else {
                match rest.find("<!--") {
                    Some(s) => {
                        kept.push_str(&rest[..s]);
                        rest = &rest[s + 4..];
                        in_comment = true;
                    }
                    None => {
                        kept.push_str(rest);
                        break;
                    }
                }
            }
        }
        line = kept;
        let t = line.trim();
        if let Some(h) = t.strip_prefix('#') {
            let title = unlink(h.trim_start_matches('#').trim().trim_end_matches('#').trim());
            if h.starts_with([' ', '#']) || h.is_empty() {
                sections.push(Section {
                    title: title.to_string(),
                    line: n,
                    prose: Vec::new(),
                });
                continue;
            }
        }
        if let Some(s) = sections.last_mut() {
            s.prose.push((n, line.clone()));
        }
    }
    sections
}

/// The collection period a card's collection section states in prose ("collected in 2019 and
/// 2020", "between 2021-03 and 2021-09"): from the earliest to the latest ISO date or year it
/// names, with the prose kept as the period's text. `None` when it names no date.
fn period_in(section: &Field<String>) -> Option<Period> {
    // An ISO month or day always; a bare year only where prose dates something ("in 2019",
    // "between 2019 and 2020", "2019–2020"), not a count ("2000 posts").
    static DATE: OnceLock<Regex> = OnceLock::new();
    const DATE_RE: &str = r"(?:19|20)\d{2}(?:-(?:0[1-9]|1[0-2])(?:-(?:[0-2]\d|3[01]))?)?";
    let pattern = format!(
        r"(?i)\b(?P<iso>(?:19|20)\d{{2}}-(?:0[1-9]|1[0-2])(?:-(?:[0-2]\d|3[01]))?)\b|\b(?:in|from|between|since|until|till|through|to|and|during|of|early|late|mid)\s+(?P<y1>{DATE_RE})(?:\s*[–—-]\s*(?P<y2>{DATE_RE}))?\b|\b(?P<a>(?:19|20)\d{{2}})\s*[–—-]\s*(?P<b>{DATE_RE})\b"
    );
    let re = DATE.get_or_init(|| Regex::new(&pattern).unwrap_or_else(|e| panic!("constant pattern: {e}")));
    let mut found: Vec<String> = Vec::new();
    for c in re.captures_iter(&section.value) {
        for name in ["iso", "y1", "y2", "a", "b"] {
            if let Some(m) = c.name(name) {
                found.push(m.as_str().to_string());
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    // ISO dates and years order as text.
    found.sort();
    let at = section.at.clone();
    let first = found.first().cloned();
    let last = found.last().cloned().filter(|l| Some(l) != first.as_ref());
    Some(Period {
        start: first.map(|d| Field::new(d, at.clone())),
        end: last.map(|d| Field::new(d, at.clone())),
        text: Some(section.clone()),
        at,
    })
}

fn bullets(sections: &[Section]) -> Vec<(String, String, u32)> {
    static BULLET: OnceLock<Regex> = OnceLock::new();
    let re = regex(&BULLET, r"^\s*[-*+]\s+\*\*([^*]+?)\*\*\s*:?\s*(.*)$");
    let mut out = Vec::new();
    for s in sections {
        for (n, l) in &s.prose {
            if let Some(c) = re.captures(l) {
                let label = label_norm(c.get(1).map_or("", |m| m.as_str()));
                let value = c.get(2).map_or("", |m| m.as_str()).trim().to_string();
                out.push((label, value, *n));
            }
        }
    }
    out
}

/// The prose of a section (bullets excluded) as one text, and the line it starts on.
fn prose(s: &Section) -> Option<(String, u32)> {
    let lines: Vec<&(u32, String)> = s
        .prose
        .iter()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !(t.is_empty() || t.starts_with("- **") || t.starts_with("* **"))
        })
        .collect();
    let first = lines.first()?.0;
    let text = lines.iter().map(|(_, l)| l.trim()).collect::<Vec<_>>().join("\n");
    Some((text, first))
}

fn body(sections: &[Section], _text: &str, _skip: usize, r: &mut DatasetRecord, rules: &LineageRules) {
    let filled = |s: &str| rules.filled(s.trim_matches(|c: char| c == '*' || c.is_whitespace()));
    // Bullets: the card template's Dataset Description and Dataset Sources, and the older
    // template's Homepage / Repository / Point of Contact.
    let mut owner_fallback = None;
    let mut homepage = None;
    for (label, value, line) in bullets(sections) {
        let Some(value) = filled(&value) else { continue };
        let linky = matches!(
            label.as_str(),
            "repository" | "homepage" | "paper" | "demo" | "leaderboard" | "point of contact"
        );
        if linky && matches!(value.to_ascii_lowercase().as_str(), "none" | "n/a" | "na" | "-") {
            continue;
        }
        let at = Span::line(line);
        let url_of = |v: &str| {
            static LINK: OnceLock<Regex> = OnceLock::new();
            let re = regex(&LINK, r"\((https?://[^)\s]+)\)|(https?://\S+)");
            re.captures(v).and_then(|c| c.get(1).or(c.get(2))).map_or_else(
                || v.to_string(),
                |m| m.as_str().trim_end_matches(['.', ',']).to_string(),
            )
        };
        match label.as_str() {
            "curated by" | "created by" => {
                r.owner.get_or_insert(Field::new(value, at));
            }
            "shared by" | "funded by" if owner_fallback.is_none() && label == "shared by" => {
                owner_fallback = Some(Field::new(value, at));
            }
            "point of contact" => {
                r.contact.get_or_insert(Field::new(value, at));
            }
            "language(s) (nlp)" | "language(s)" | "languages" if r.languages.is_empty() => {
                r.languages = value.split(',').map(|s| s.trim().to_string()).collect();
            }
            "license" if r.license.is_empty() => {
                r.license.push(Field::new(license::normalise(&value, rules), at));
            }
            "repository" => {
                let u = url_of(&value);
                r.source.push(Field::new(u, at));
            }
            "homepage" | "paper" | "demo" | "leaderboard" => {
                let u = url_of(&value);
                if u.contains("://") {
                    if label == "homepage" && homepage.is_none() {
                        homepage = Some(Field::new(u.clone(), at.clone()));
                    }
                    r.urls.push(Field::new(u, at));
                }
            }
            _ => {}
        }
    }
    if r.owner.is_none() {
        r.owner = owner_fallback;
    }
    // The homepage is the origin when no repository is given.
    if r.source.is_empty() {
        r.source.extend(homepage);
    }
    let title = |s: &Section| label_norm(&s.title);
    // The first section of one of `names` that says something (the old template's "Dataset
    // Description" holds only bullets; its prose is under "Dataset Summary").
    let section_text = |names: &[&str]| -> Option<Field<String>> {
        sections
            .iter()
            .filter(|s| names.contains(&title(s).as_str()))
            .find_map(|s| {
                let (text, line) = prose(s)?;
                rules.filled(&text).map(|t| Field::new(t, Span::line(line)))
            })
    };
    static CARD_FOR: OnceLock<Regex> = OnceLock::new();
    let card_for = regex(&CARD_FOR, r"(?i)^dataset card for\s+(.+)$");
    if r.name.is_none() {
        r.name = sections.iter().find_map(|s| {
            let c = card_for.captures(&s.title)?;
            let n = c.get(1)?.as_str().trim();
            (!n.eq_ignore_ascii_case("dataset name") && !n.contains("{{"))
                .then(|| rules.filled(n))
                .flatten()
                .map(|n| Field::new(n, Span::line(s.line)))
        });
    }
    r.description = section_text(&["dataset description", "dataset summary"]);
    // The datasets library's old template has no Uses section; the tasks it says the data
    // supports are its stated use.
    r.intended_use = section_text(&["direct use"])
        .or_else(|| section_text(&["uses"]))
        .or_else(|| section_text(&["supported tasks and leaderboards", "supported tasks"]));
    let collection = section_text(&[
        "data collection and processing",
        "initial data collection and normalization",
    ]);
    if let Some(c) = collection {
        r.collection_period = period_in(&c);
        r.creation_method.get_or_insert(c.clone());
        r.preprocessing = Some(c);
    }
    if let Some(c) = section_text(&["dataset card contact", "dataset card contacts"]) {
        r.contact.get_or_insert(c);
    }
    if r.owner.is_none() {
        r.owner = section_text(&["dataset curators"]);
    }
    // The old template's "Licensing Information" prose, when no licence id was given: a
    // licence URL in it, else the text (a full SPDX name reads as its id; other prose is
    // reported as not a licence id).
    if r.license.is_empty() {
        if let Some(l) = section_text(&["licensing information", "license", "licence"]) {
            static URL: OnceLock<Regex> = OnceLock::new();
            let re = regex(&URL, r"https?://[^\s)>\]]+");
            let from_url = re
                .find_iter(&l.value)
                .map(|m| license::normalise(m.as_str().trim_end_matches(['.', ',']), rules))
                .find(|x| x.spdx.is_some());
            let lic = from_url.unwrap_or_else(|| license::normalise(&l.value, rules));
            r.license.push(Field::new(lic, l.at));
        }
    }
    if let Some(st) = section_text(&["personal and sensitive information"]) {
        let none = rules.says_no_personal_data(&st.value);
        r.personal_data.contains_pii = Some(Field::new(!none, st.at.clone()));
        r.personal_data.implied = true;
        r.personal_data.statement = Some(st);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_bounds() {
        assert_eq!(front_matter("---\na: 1\n---\n# x\n"), Some(Ok(("a: 1\n".into(), 2, 3))));
        assert!(front_matter("---\na: 1\n").unwrap().is_err());
        assert_eq!(front_matter("# no front matter\n"), None);
    }

    /// An older card: plural keys, linked headings, link-wrapped placeholders, the old
    /// section names (curators, licensing information, supported tasks).
    #[test]
    fn reads_the_old_card_layout() {
        let text = "---\nlicenses:\n- cc-by-sa-4.0\nlanguages:\n- en\n- fr\npretty_name: Reviews\n---\n\n\
            # Dataset Card for Reviews\n\n## [Dataset Description](#dataset-description)\n\n\
            - **Homepage:** [Reviews](https://reviews.example.org/)\n\
            - **Repository:** [More Information Needed](https://github.com/huggingface/datasets/blob/master/CONTRIBUTING.md)\n\
            - **Paper:** None\n\n### [Dataset Summary](#dataset-summary)\n\nShort reviews.\n\n\
            ### Supported Tasks and Leaderboards\n\nSentiment classification.\n\n\
            ### Dataset Curators\n\nThe reviews team.\n\n### Licensing Information\n\n\
            Creative Commons Attribution-ShareAlike 4.0 International.\n";
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let meta = super::super::MetadataFile {
            display: "README.md".into(),
            path: root.join("README.md"),
            relative: "README.md".into(),
            explicit: false,
        };
        let opts = super::super::DiscoverOptions::default();
        let cx = Context {
            meta: &meta,
            root: &root,
            opts: &opts,
        };
        let mut out = Parsed::default();
        assert!(parse(text, &cx, &mut out));
        let r = &out.records[0];
        assert_eq!(r.license[0].value.spdx.as_deref(), Some("CC-BY-SA-4.0"));
        assert_eq!(r.languages, vec!["en", "fr"]);
        let src: Vec<&str> = r.source.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(
            src,
            vec!["https://reviews.example.org/"],
            "the placeholder link is no source"
        );
        assert!(r.urls.iter().all(|u| !u.value.contains("CONTRIBUTING")));
        assert_eq!(r.description.as_ref().unwrap().value, "Short reviews.");
        assert_eq!(r.owner.as_ref().unwrap().value, "The reviews team.");
        assert_eq!(r.intended_use.as_ref().unwrap().value, "Sentiment classification.");
        assert!(r.collection_period.is_none(), "no collection section, no period");
        // With no id in the front matter, the licensing prose is read by its full SPDX name.
        let no_id = text.replace("licenses:\n- cc-by-sa-4.0\n", "");
        let mut out = Parsed::default();
        assert!(parse(&no_id, &cx, &mut out));
        assert_eq!(out.records[0].license[0].value.spdx.as_deref(), Some("CC-BY-SA-4.0"));
    }

    #[test]
    fn a_collection_period_is_read_from_the_collection_prose() {
        let f = |t: &str| period_in(&Field::new(t.to_string(), Span::line(9)));
        let p = f("Reviews were collected in 2020 and 2019, then cleaned.").unwrap();
        assert_eq!(p.start.unwrap().value, "2019");
        assert_eq!(p.end.unwrap().value, "2020");
        let p = f("Crawled between 2021-03-02 and 2021-09.").unwrap();
        assert_eq!(
            (p.start.unwrap().value, p.end.unwrap().value),
            ("2021-03-02".into(), "2021-09".into())
        );
        assert!(f("Crawled from forum threads; 2000 posts kept.").is_none());
        let p = f("Posts from 2015–2017.").unwrap();
        assert_eq!(
            (p.start.unwrap().value, p.end.unwrap().value),
            ("2015".into(), "2017".into())
        );
        let p = f("Posts 2015-2017.").unwrap();
        assert_eq!(
            (p.start.unwrap().value, p.end.unwrap().value),
            ("2015".into(), "2017".into())
        );
        assert!(f("Collected in 2018.").unwrap().end.is_none());
    }

    #[test]
    fn model_cards_and_spaces_are_not_dataset_cards() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let meta = super::super::MetadataFile {
            display: "README.md".into(),
            path: root.join("README.md"),
            relative: "README.md".into(),
            explicit: false,
        };
        let opts = super::super::DiscoverOptions::default();
        let cx = Context {
            meta: &meta,
            root: &root,
            opts: &opts,
        };
        for text in [
            "---\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: text-generation\n---\n# Model\n",
            "---\ntitle: Demo\nemoji: 🚀\nsdk: gradio\nlicense: mit\n---\n",
        ] {
            let mut out = Parsed::default();
            assert!(!parse(text, &cx, &mut out), "{text}");
            assert!(out.records.is_empty() && out.findings.is_empty());
        }
        // A dataset card that also names a base model is still a dataset card.
        let mut out = Parsed::default();
        assert!(parse(
            "---\nlicense: mit\nbase_model: x\ntask_categories: [text-generation]\n---\n",
            &cx,
            &mut out
        ));
    }

    #[test]
    fn sections_skip_comments_and_code() {
        let s = markdown(
            "## Uses\n<!-- a comment\nspanning -->\nReal text.\n```\n# not a heading\n```\n### Direct Use\nTrain.\n",
            0,
        );
        let titles: Vec<_> = s.iter().map(|x| x.title.as_str()).collect();
        assert_eq!(titles, vec!["", "Uses", "Direct Use"]);
        assert_eq!(prose(&s[1]).unwrap(), ("Real text.".to_string(), 4));
    }
}
