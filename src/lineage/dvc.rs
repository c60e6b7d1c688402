//! DVC metadata: `*.dvc` files (tracked outputs, and for `dvc import` / `import-url` the
//! source they came from) and `dvc.lock` (each pipeline stage's command, dependencies and
//! outputs with their md5).
//!
//! DVC 3 marks its hashes with `hash: md5` and computes plain md5. Without that key (DVC 2.x)
//! the md5 of a text file was computed after converting CRLF line endings to LF, which the
//! integrity check reproduces. An md5 ending in `.dir` names a directory listing in the DVC
//! cache.

use super::discover::{doc_error, Context, Parsed};
use super::doc::{escape, Doc};
use super::spec::LineageRules;
use super::{Algorithm, DataFile, DatasetRecord, DigestDecl, Field, FileKind, SourceFormat, Span, Transformation};
use crate::rules::Rule;
use serde_json::Value;

/// The outputs (or dependencies) listed at `pointer`, as data files.
fn entries(doc: &Doc, pointer: &str, wdir: &str, dependency: bool, cx: &Context, out: &mut Parsed) -> Vec<DataFile> {
    let mut files = Vec::new();
    let Some(Value::Array(items)) = doc.value.pointer(pointer) else {
        return files;
    };
    for (i, item) in items.iter().enumerate() {
        let base = format!("{pointer}/{i}");
        let Some(path) = item.get("path").and_then(Value::as_str) else {
            continue;
        };
        // Remote dependencies (`import-url`) are sources, not files on disk.
        if path.contains("://") {
            continue;
        }
        let written = if wdir.is_empty() || wdir == "." {
            path.to_string()
        } else {
            format!("{}/{path}", wdir.trim_end_matches('/'))
        };
        let at = doc.span(&format!("{base}/path"));
        let (display, relative, resolved) = cx.data_file(&written, at.clone(), out);
        // An all-digit md5 is a YAML number to the parser; keep its digits (a lost leading
        // zero then shows as a malformed digest rather than a silent pass).
        let md5_text = item.get("md5").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let md5 = md5_text.as_deref().map(|m| {
            let (hex, dir) = match m.strip_suffix(".dir") {
                Some(h) => (h, true),
                None => (m, false),
            };
            (
                Field::new(DigestDecl::parse(Algorithm::Md5, hex), doc.span(&format!("{base}/md5"))),
                dir,
            )
        });
        let dir = md5.as_ref().is_some_and(|(_, d)| *d);
        files.push(DataFile {
            path: Field::new(written, at),
            display,
            relative,
            resolved,
            sha256: None,
            md5: md5.map(|(f, _)| f),
            md5_text_normalised: item.get("hash").and_then(Value::as_str) != Some("md5"),
            sha256_universal: false,
            size: item
                .get("size")
                .and_then(Value::as_u64)
                .map(|n| Field::new(n, doc.span(&format!("{base}/size")))),
            kind: if dir { FileKind::DvcDirectory } else { FileKind::File },
            dependency,
        });
    }
    files
}

fn load(text: &str, cx: &Context, out: &mut Parsed) -> Option<Doc> {
    match Doc::yaml(text, 1) {
        Ok(d) if d.value.is_object() => Some(d),
        Ok(_) => {
            out.findings.push(cx.finding(
                Rule::LineageUnparsable,
                &Span::line(1),
                "a DVC file must be a YAML mapping".into(),
            ));
            None
        }
        Err(e) => {
            out.findings.push(doc_error(cx.meta, &e, "YAML"));
            None
        }
    }
}

/// A `.dvc` file: one record for its outputs.
pub fn parse_dvc(text: &str, cx: &Context, out: &mut Parsed) {
    let rules = LineageRules::shared();
    let Some(doc) = load(text, cx, out) else { return };
    let wdir = doc.value.get("wdir").and_then(Value::as_str).unwrap_or("").to_string();
    let mut r = DatasetRecord::new(SourceFormat::Dvc, cx.meta, Span::line(1));
    r.files = entries(&doc, "/outs", &wdir, false, cx, out);
    if let Some(first) = doc.value.pointer("/outs/0") {
        r.name = first
            .get("path")
            .and_then(Value::as_str)
            .map(|p| Field::new(p.to_string(), doc.span("/outs/0/path")));
        r.description = first
            .get("desc")
            .and_then(Value::as_str)
            .and_then(|d| rules.filled(d))
            .map(|d| Field::new(d, doc.span("/outs/0/desc")));
    }
    if let Some(Value::Array(deps)) = doc.value.get("deps") {
        for (i, d) in deps.iter().enumerate() {
            let base = format!("/deps/{i}");
            if let Some(url) = d.pointer("/repo/url").and_then(Value::as_str) {
                r.source
                    .push(Field::new(url.to_string(), doc.span(&format!("{base}/repo/url"))));
            } else if let Some(p) = d.get("path").and_then(Value::as_str).filter(|p| p.contains("://")) {
                r.source
                    .push(Field::new(p.to_string(), doc.span(&format!("{base}/path"))));
            }
        }
    }
    out.records.push(r);
}

/// A `dvc.lock`: one record per stage.
pub fn parse_lock(text: &str, cx: &Context, out: &mut Parsed) {
    let Some(doc) = load(text, cx, out) else { return };
    let schema = doc
        .value
        .get("schema")
        .and_then(Value::as_str)
        .map(|s| format!("dvc.lock {s}"));
    let Some(Value::Object(stages)) = doc.value.get("stages") else {
        out.findings.push(cx.finding(
            Rule::LineageUnparsable,
            &Span::line(1),
            "dvc.lock has no `stages` mapping (schema 2.0 is read; DVC 1 lock files are not)".into(),
        ));
        return;
    };
    for (name, stage) in stages {
        let base = format!("/stages/{}", escape(name));
        let mut r = DatasetRecord::new(SourceFormat::DvcLock, cx.meta, doc.span(&base));
        r.format_version.clone_from(&schema);
        r.name = Some(Field::new(name.clone(), doc.span(&base)));
        if let Some(cmd) = stage.get("cmd") {
            let text = match cmd {
                Value::Array(list) => list.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" && "),
                other => other.as_str().unwrap_or_default().to_string(),
            };
            r.transformations.push(Transformation {
                kind: Some("dvc stage".into()),
                timestamp: None,
                operator: None,
                description: Some(text),
                at: doc.span(&format!("{base}/cmd")),
            });
        }
        r.files = entries(&doc, &format!("{base}/outs"), "", false, cx, out);
        r.files
            .extend(entries(&doc, &format!("{base}/deps"), "", true, cx, out));
        out.records.push(r);
    }
}
