//! Checksum manifests: `SHA256SUMS`, `*.sha256`, as `sha256sum` writes them (GNU: `<hex>  name`,
//! `<hex> *name` for binary mode, a leading `\` when the name holds `\` or a newline) and as
//! `sha256sum --tag` / BSD `sha256` write them (`SHA256 (name) = <hex>`). A `NAME.sha256` that
//! holds only a digest is the digest of `NAME`. Names are relative to the manifest.

use super::discover::{Context, Parsed};
use super::spec::regex;
use super::{Algorithm, DataFile, DatasetRecord, DigestDecl, Field, FileKind, SourceFormat, Span};
use crate::rules::Rule;
use regex::Regex;
use std::sync::OnceLock;

/// GNU names with a leading `\` have `\\` and `\n` escaped.
fn unescape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Read a manifest into one record listing its files.
pub fn parse(text: &str, cx: &Context, out: &mut Parsed) {
    static GNU: OnceLock<Regex> = OnceLock::new();
    static BSD: OnceLock<Regex> = OnceLock::new();
    static BARE: OnceLock<Regex> = OnceLock::new();
    let gnu = regex(&GNU, r"^(\\)?([0-9A-Za-z]+) ([ *])(.+)$");
    let bsd = regex(&BSD, r"^(\\)?([A-Za-z0-9-]+) ?\((.+)\) ?= ?([0-9A-Za-z]*)$");
    let bare = regex(&BARE, r"^[0-9A-Fa-f]+$");
    let mut r = DatasetRecord::new(SourceFormat::ChecksumManifest, cx.meta, Span::line(1));
    let own_name = cx
        .meta
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (i, raw) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let at = Span::line(n);
        let (hex, name, algorithm_ok) = if let Some(c) = bsd.captures(line) {
            let algo = c.get(2).map_or("", |m| m.as_str());
            let escaped = c.get(1).is_some();
            let name = c.get(3).map_or("", |m| m.as_str());
            let ok = matches!(algo.to_ascii_uppercase().as_str(), "SHA256" | "SHA2-256");
            if !ok {
                out.findings.push(
                    cx.finding(
                        Rule::LineageUnparsable,
                        &at,
                        format!("line uses the {algo} algorithm; this manifest is read as SHA-256 only"),
                    )
                    .key(format!("algo:{n}")),
                );
                continue;
            }
            (
                c.get(4).map_or("", |m| m.as_str()).to_string(),
                if escaped { unescape(name) } else { name.to_string() },
                ok,
            )
        } else if let Some(c) = gnu.captures(line) {
            let escaped = c.get(1).is_some();
            let name = c.get(4).map_or("", |m| m.as_str());
            (
                c.get(2).map_or("", |m| m.as_str()).to_string(),
                if escaped { unescape(name) } else { name.to_string() },
                true,
            )
        } else if bare.is_match(line.trim()) && own_name.to_ascii_lowercase().ends_with(".sha256") {
            let target = own_name[..own_name.len() - ".sha256".len()].to_string();
            (line.trim().to_string(), target, true)
        } else {
            out.findings.push(
                cx.finding(
                    Rule::LineageUnparsable,
                    &at,
                    "line is neither `<sha256>  <file>` (GNU) nor `SHA256 (<file>) = <sha256>` (BSD --tag)".into(),
                )
                .key(format!("line:{n}")),
            );
            continue;
        };
        debug_assert!(algorithm_ok);
        let (display, relative, resolved) = cx.data_file(&name, at.clone(), out);
        r.files.push(DataFile {
            path: Field::new(name, at.clone()),
            display,
            relative,
            resolved,
            sha256: Some(Field::new(DigestDecl::parse(Algorithm::Sha256, &hex), at)),
            md5: None,
            md5_text_normalised: false,
            size: None,
            kind: FileKind::File,
            dependency: false,
        });
    }
    out.records.push(r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_gnu_names() {
        assert_eq!(unescape(r"a\\b\nc"), "a\\b\nc");
    }
}
