//! Checksum manifests: `SHA256SUMS`, `*.sha256`, as `sha256sum` writes them (GNU: `<hex>  name`,
//! `<hex> *name` for binary mode, a leading `\` when the name holds `\` or a newline), as perl's
//! `shasum -a 256` writes them (the same, plus `<hex> Uname` — `^name` in older versions — for
//! its universal-newlines mode, whose digest is of the text with CRLF and CR read as LF), as
//! `sha256 -r` writes them (`<hex> name`, one space), and as `sha256sum --tag`, `shasum --tag`
//! and BSD `sha256` write them (`SHA256 (name) = <hex>`). Lines may end in CRLF (a manifest
//! written on Windows). A `NAME.sha256` that holds only a digest is the digest of `NAME`.
//! Names are relative to the manifest. `MD5SUMS`/`*.md5` (md5sum) are read the same way; a
//! manifest with a generic name (`checksums.txt`) is read by each digest's length, and a SHA-1
//! or SHA-512 line is reported as not verifiable rather than misread.

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
    static SHASUM_U: OnceLock<Regex> = OnceLock::new();
    static ONE_SPACE: OnceLock<Regex> = OnceLock::new();
    let gnu = regex(&GNU, r"^(\\)?([0-9A-Za-z]+) ([ *])(.+)$");
    let shasum_u = regex(&SHASUM_U, r"^(\\)?([0-9A-Fa-f]{32,128}) ([U^])(.+)$");
    let one_space = regex(&ONE_SPACE, r"^(\\)?([0-9A-Fa-f]{32,128}) ()([^ *].*)$");
    let bsd = regex(&BSD, r"^(\\)?([A-Za-z0-9-]+) ?\((.+)\) ?= ?([0-9A-Za-z]*)$");
    let bare = regex(&BARE, r"^[0-9A-Fa-f]+$");
    let mut r = DatasetRecord::new(SourceFormat::ChecksumManifest, cx.meta, Span::line(1));
    let own_name = cx
        .meta
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower_name = own_name.to_ascii_lowercase();
    // `SHA256SUMS`, `*.sha256`, `MD5SUMS`, `*.md5` say their algorithm; a generic name
    // (`checksums.txt`) is read by each digest's length.
    let fixed = if lower_name.contains("sha256") {
        Some(Algorithm::Sha256)
    } else if lower_name.contains("md5") {
        Some(Algorithm::Md5)
    } else {
        None
    };
    let by_length = |hex: &str| -> Result<Algorithm, &'static str> {
        if let Some(a) = fixed {
            return Ok(a);
        }
        match hex.len() {
            32 => Ok(Algorithm::Md5),
            40 => Err("SHA-1"),
            56 => Err("SHA-224"),
            96 => Err("SHA-384"),
            128 => Err("SHA-512"),
            _ => Ok(Algorithm::Sha256),
        }
    };
    for (i, raw) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let at = Span::line(n);
        let mut universal_line = false;
        let (hex, name, algorithm) = if let Some(c) = bsd.captures(line) {
            let algo = c.get(2).map_or("", |m| m.as_str());
            let escaped = c.get(1).is_some();
            let name = c.get(3).map_or("", |m| m.as_str());
            let algorithm = match algo.to_ascii_uppercase().as_str() {
                "SHA256" | "SHA2-256" | "SHA-256" => Ok(Algorithm::Sha256),
                "MD5" => Ok(Algorithm::Md5),
                _ => Err(algo),
            };
            (
                c.get(4).map_or("", |m| m.as_str()).to_string(),
                if escaped { unescape(name) } else { name.to_string() },
                algorithm,
            )
        } else if let Some(c) = gnu
            .captures(line)
            .or_else(|| shasum_u.captures(line))
            .or_else(|| one_space.captures(line))
        {
            let escaped = c.get(1).is_some();
            let mark = c.get(3).map_or("", |m| m.as_str());
            let rest = c.get(4).map_or("", |m| m.as_str());
            // `U`/`^` is shasum's universal-newlines mark, unless the line is `sha256 -r`'s
            // one-space form and the name really starts with that letter.
            let (universal, name) = match mark {
                "U" | "^" => {
                    let marked = format!("{mark}{rest}");
                    let exists = |n: &str| {
                        cx.meta
                            .path
                            .parent()
                            .is_some_and(|d| d.join(if escaped { unescape(n) } else { n.to_string() }).exists())
                    };
                    if exists(&marked) && !exists(rest) {
                        (false, marked)
                    } else {
                        (true, rest.to_string())
                    }
                }
                _ => (false, rest.to_string()),
            };
            universal_line = universal;
            let hex = c.get(2).map_or("", |m| m.as_str()).to_string();
            let algorithm = by_length(&hex);
            (hex, if escaped { unescape(&name) } else { name }, algorithm)
        } else if let (true, Some(stem), Some(a)) = (
            bare.is_match(line.trim()),
            lower_name
                .strip_suffix(".sha256")
                .or_else(|| lower_name.strip_suffix(".md5"))
                .map(|s| &own_name[..s.len()]),
            fixed,
        ) {
            (line.trim().to_string(), stem.to_string(), Ok(a))
        } else {
            out.findings.push(
                cx.finding(
                    Rule::LineageUnparsable,
                    &at,
                    "line is neither `<sha256>  <file>` (sha256sum, shasum) nor `SHA256 (<file>) = <sha256>` (--tag, BSD)".into(),
                )
                .key(format!("line:{n}")),
            );
            continue;
        };
        let algorithm = match algorithm {
            Ok(a) => a,
            Err(other) => {
                out.findings.push(
                    cx.finding(
                        Rule::ChecksumUnverifiable,
                        &at,
                        format!(
                            "`{name}` is listed with a {other} digest; llmguard verifies SHA-256 and MD5 only, so this file is not verified"
                        ),
                    )
                    .key(format!("algo:{n}")),
                );
                continue;
            }
        };
        let (display, relative, resolved) = cx.data_file(&name, at.clone(), out);
        let digest = Field::new(DigestDecl::parse(algorithm, &hex), at.clone());
        let (sha256, md5) = match algorithm {
            Algorithm::Sha256 => (Some(digest), None),
            Algorithm::Md5 => (None, Some(digest)),
        };
        r.files.push(DataFile {
            path: Field::new(name, at.clone()),
            display,
            relative,
            resolved,
            sha256,
            md5,
            md5_text_normalised: false,
            sha256_universal: universal_line && algorithm == Algorithm::Sha256,
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

    fn parse_in(dir: &std::path::Path, text: &str) -> Parsed {
        parse_named(dir, "SHA256SUMS", text)
    }

    fn parse_named(dir: &std::path::Path, file: &str, text: &str) -> Parsed {
        let root = dir.canonicalize().unwrap();
        let meta = super::super::MetadataFile {
            display: file.into(),
            path: root.join(file),
            relative: file.into(),
            explicit: false,
        };
        let opts = super::super::DiscoverOptions::default();
        let cx = Context {
            meta: &meta,
            root: &root,
            opts: &opts,
        };
        let mut out = Parsed::default();
        parse(text, &cx, &mut out);
        out
    }

    #[test]
    fn every_line_form() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Users.csv"), "x").unwrap();
        let h = "b4fd5c2b999894bb6a3a78e61a5f5c5343d8cba7ab3f7e0b63287acc2f370362";
        let text = format!(
            "{h}  a.csv\r\n{h} *b.bin\n{h} Uc.txt\n{h} ^d.txt\n{h} e.txt\n{h} Users.csv\nSHA256 (f g) = {h}\nnot a checksum line\n"
        );
        let out = parse_in(dir.path(), &text);
        let files: Vec<(&str, bool)> = out.records[0]
            .files
            .iter()
            .map(|f| (f.path.value.as_str(), f.sha256_universal))
            .collect();
        assert_eq!(
            files,
            vec![
                ("a.csv", false),
                ("b.bin", false),
                ("c.txt", true),
                ("d.txt", true),
                ("e.txt", false),
                ("Users.csv", false),
                ("f g", false)
            ]
        );
        assert!(out.records[0]
            .files
            .iter()
            .all(|f| f.sha256.as_ref().unwrap().value.valid));
        assert_eq!(out.findings.len(), 1, "{:?}", out.findings);
        assert_eq!(out.findings[0].location.line, Some(8));
    }

    #[test]
    fn a_generic_name_is_read_by_digest_length() {
        let dir = tempfile::tempdir().unwrap();
        let md5 = "0f343b0931126a20f133d67c2b018a3b";
        let sha512 = "ab".repeat(64);
        let text = format!(
            "{md5}  a.csv\n{sha512}  b.csv\nMD5 (c.csv) = {md5}\nSHA1 (d.csv) = {}\n",
            "cd".repeat(20)
        );
        let out = parse_named(dir.path(), "checksums.txt", &text);
        let r = &out.records[0];
        let names: Vec<&str> = r.files.iter().map(|f| f.path.value.as_str()).collect();
        assert_eq!(names, vec!["a.csv", "c.csv"]);
        assert!(r
            .files
            .iter()
            .all(|f| f.md5.as_ref().is_some_and(|d| d.value.valid) && f.sha256.is_none()));
        let unverified: Vec<_> = out.findings.iter().map(|f| (f.rule, f.location.line)).collect();
        assert_eq!(
            unverified,
            vec![
                (Rule::ChecksumUnverifiable, Some(2)),
                (Rule::ChecksumUnverifiable, Some(4))
            ]
        );
        // In a SHA256SUMS, a 32-digit line is a malformed SHA-256, not an MD5.
        let out = parse_named(dir.path(), "SHA256SUMS", &format!("{md5}  a.csv\n"));
        assert!(!out.records[0].files[0].sha256.as_ref().unwrap().value.valid);
        // A bare digest in NAME.md5 is NAME's MD5.
        let out = parse_named(dir.path(), "a.csv.md5", &format!("{md5}\n"));
        assert_eq!(out.records[0].files[0].path.value, "a.csv");
        assert!(out.records[0].files[0].md5.is_some());
    }
}
