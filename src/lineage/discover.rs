//! Finding lineage metadata among walked files, by content, and parsing each into records.

use super::doc::Doc;
use super::spec::LineageRules;
use super::{croissant, dvc, hf_card, lfs, manifest, own, DatasetRecord, SourceFormat};
use crate::finding::{Finding, Location};
use crate::rules::Rule;
use crate::walk::{Target, WalkError};
use rayon::prelude::*;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// How discovery reads files.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// Follow symbolic links that leave the scan root (data paths included).
    pub follow_symlinks: bool,
    /// Metadata files larger than this are not parsed (a `GEN002` finding when the file is
    /// named like metadata).
    pub max_metadata_bytes: u64,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            follow_symlinks: false,
            max_metadata_bytes: 16 << 20,
        }
    }
}

/// A file that may hold lineage metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataFile {
    /// As the user named it (joined with the path inside a directory they named).
    pub display: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Relative to the scan root, `/` separators (the display path when outside).
    pub relative: String,
    /// Named on the command line: read whatever its name, and reported when it is not metadata.
    pub explicit: bool,
}

/// What one file held.
#[derive(Debug, Default)]
pub struct Parsed {
    /// `None`: not lineage metadata.
    pub format: Option<SourceFormat>,
    pub records: Vec<DatasetRecord>,
    /// Problems with the file itself (unparsable, limits, paths leaving the root, bad values).
    pub findings: Vec<Finding>,
    pub size: u64,
}

/// Everything discovery found.
#[derive(Debug, Default)]
pub struct Discovered {
    pub records: Vec<DatasetRecord>,
    pub findings: Vec<Finding>,
    /// Every file read as metadata (or reported as broken metadata), with its format.
    pub metadata: Vec<(MetadataFile, Option<SourceFormat>, u64)>,
    /// Walked files that are not metadata.
    pub skipped: usize,
}

impl Discovered {
    /// The paths of the metadata files that parsed as some lineage format (the checks read
    /// these; broken ones are already findings).
    pub fn parsed_metadata_paths(&self) -> Vec<PathBuf> {
        self.metadata
            .iter()
            .filter(|(_, f, _)| f.is_some())
            .map(|(m, ..)| m.path.clone())
            .collect()
    }
}

/// Walk `paths` and read every lineage source found, without running any check. `root` is
/// the scan root (`walk::scan_root`). A missing path is an error; everything else is a finding.
pub fn discover(paths: &[PathBuf], root: &Path, opts: &DiscoverOptions) -> Result<Discovered, WalkError> {
    let found = crate::walk::discover(paths, root, opts.follow_symlinks)?;
    let mut d = discover_targets(&found.targets, paths, root, opts);
    d.findings.extend(found.findings);
    Ok(d)
}

/// Read every lineage source among already walked `targets` (in parallel, in the current
/// rayon pool). Files equal to one of `explicit` were named by the user.
pub fn discover_targets(targets: &[Target], explicit: &[PathBuf], root: &Path, opts: &DiscoverOptions) -> Discovered {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let metas: Vec<MetadataFile> = targets.iter().map(|t| metadata_file(t, explicit, &root)).collect();
    let parsed: Vec<Parsed> = metas.par_iter().map(|m| parse_file(m, &root, opts)).collect();
    let mut d = Discovered::default();
    for (m, p) in metas.into_iter().zip(parsed) {
        if p.format.is_none() && p.findings.is_empty() {
            d.skipped += 1;
            continue;
        }
        d.records.extend(p.records);
        d.findings.extend(p.findings);
        d.metadata.push((m, p.format, p.size));
    }
    d
}

/// The `MetadataFile` of a walked target.
pub fn metadata_file(t: &Target, explicit: &[PathBuf], root: &Path) -> MetadataFile {
    MetadataFile {
        display: t.display.clone(),
        path: t.path.clone(),
        relative: crate::scan::relative_to(&t.path, root).unwrap_or_else(|| t.display.replace('\\', "/")),
        explicit: explicit.contains(&t.path),
    }
}

fn finding(rule: Rule, meta: &MetadataFile, line: u32, message: String) -> Finding {
    Finding::new(
        rule,
        &meta.display,
        Location {
            line: (line > 0).then_some(line),
            ..Location::default()
        },
        message,
    )
}

/// Read one file and parse it if it is lineage metadata of any known kind.
pub fn parse_file(meta: &MetadataFile, root: &Path, opts: &DiscoverOptions) -> Parsed {
    let rules = LineageRules::shared();
    let name = meta
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    let mut out = Parsed::default();
    let size = match std::fs::metadata(&meta.path) {
        Ok(m) => m.len(),
        Err(e) => {
            out.findings
                .push(finding(Rule::UnreadableFile, meta, 0, format!("cannot read: {e}")).key("read"));
            return out;
        }
    };
    out.size = size;
    let card = lower == "readme.md";
    let structured = matches!(ext, "json" | "jsonld" | "yaml" | "yml");
    let manifest = rules.is_manifest_name(&name);
    let dvc_file = ext == "dvc" || lower == "dvc.lock";
    let named = meta.explicit || rules.is_metadata_name(&name) || manifest || dvc_file;
    // Git LFS pointers are under 1024 bytes by specification; any file may be one.
    if size < 1024 {
        let Some(text) = read_text(meta, size, &mut out) else {
            return out;
        };
        if let Some(p) = lfs::parse(&text, meta) {
            out.format = Some(SourceFormat::GitLfsPointer);
            out.records.push(p);
            return out;
        }
        return parse_text(
            meta, &text, &lower, ext, card, structured, manifest, named, root, opts, out,
        );
    }
    if !(card || structured || manifest || dvc_file || meta.explicit) {
        return out;
    }
    if size > opts.max_metadata_bytes {
        if named || card {
            out.findings.push(
                finding(
                    Rule::ResourceLimit,
                    meta,
                    0,
                    format!(
                        "metadata file of {size} bytes is larger than the {} MiB limit for lineage metadata; not parsed",
                        opts.max_metadata_bytes >> 20
                    ),
                )
                .key("metadata-size"),
            );
        }
        return out;
    }
    let Some(text) = read_text(meta, size, &mut out) else {
        return out;
    };
    parse_text(
        meta, &text, &lower, ext, card, structured, manifest, named, root, opts, out,
    )
}

/// Parse `bytes` as the content of `meta` (named `meta.path`), exactly as `parse_file` does
/// after reading a file: by name and content, without touching the file itself. This is the
/// entry point of the `lineage` fuzz target.
pub fn parse_bytes(meta: &MetadataFile, bytes: &[u8], root: &Path, opts: &DiscoverOptions) -> Parsed {
    let rules = LineageRules::shared();
    let name = meta
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    let mut out = Parsed {
        size: bytes.len() as u64,
        ..Parsed::default()
    };
    let card = lower == "readme.md";
    let structured = matches!(ext, "json" | "jsonld" | "yaml" | "yml");
    let manifest = rules.is_manifest_name(&name);
    let named = meta.explicit || rules.is_metadata_name(&name) || manifest || ext == "dvc" || lower == "dvc.lock";
    let Some(text) = utf8(meta, bytes.to_vec(), &mut out) else {
        return out;
    };
    if bytes.len() < 1024 {
        if let Some(p) = lfs::parse(&text, meta) {
            out.format = Some(SourceFormat::GitLfsPointer);
            out.records.push(p);
            return out;
        }
    }
    parse_text(
        meta, &text, &lower, ext, card, structured, manifest, named, root, opts, out,
    )
}

fn read_text(meta: &MetadataFile, size: u64, out: &mut Parsed) -> Option<String> {
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(16 << 20));
    let read = std::fs::File::open(&meta.path).and_then(|f| f.take(size.saturating_add(1)).read_to_end(&mut bytes));
    if let Err(e) = read {
        out.findings
            .push(finding(Rule::UnreadableFile, meta, 0, format!("cannot read: {e}")).key("read"));
        return None;
    }
    utf8(meta, bytes, out)
}

/// The bytes as text; a named metadata file that is not UTF-8 is a finding.
fn utf8(meta: &MetadataFile, bytes: Vec<u8>, out: &mut Parsed) -> Option<String> {
    match String::from_utf8(bytes) {
        Ok(s) => Some(s),
        // Binary files are not metadata; a named metadata file that is not UTF-8 is broken.
        Err(e) if meta.explicit => {
            out.findings.push(
                finding(
                    Rule::LineageUnparsable,
                    meta,
                    0,
                    format!(
                        "not UTF-8 text (invalid byte at offset {}); lineage metadata is text",
                        e.utf8_error().valid_up_to()
                    ),
                )
                .key("utf8"),
            );
            None
        }
        Err(_) => None,
    }
}

#[allow(clippy::too_many_arguments)]
fn parse_text(
    meta: &MetadataFile,
    text: &str,
    lower: &str,
    ext: &str,
    card: bool,
    structured: bool,
    manifest: bool,
    named: bool,
    root: &Path,
    opts: &DiscoverOptions,
    mut out: Parsed,
) -> Parsed {
    let rules = LineageRules::shared();
    let cx = Context { meta, root, opts };
    if lower == "dvc.lock" {
        out.format = Some(SourceFormat::DvcLock);
        dvc::parse_lock(text, &cx, &mut out);
        return out;
    }
    if ext == "dvc" {
        out.format = Some(SourceFormat::Dvc);
        dvc::parse_dvc(text, &cx, &mut out);
        return out;
    }
    if manifest {
        out.format = Some(SourceFormat::ChecksumManifest);
        manifest::parse(text, &cx, &mut out);
        return out;
    }
    if card || (meta.explicit && ext == "md") {
        // A README that is not a dataset card is not an error, even when named (pre-commit
        // passes every README.md).
        if hf_card::parse(text, &cx, &mut out) {
            out.format = Some(SourceFormat::HfCard);
        }
        return out;
    }
    if structured || meta.explicit {
        let yaml = matches!(ext, "yaml" | "yml");
        let parsed = if yaml {
            Doc::yaml(text, 1)
        } else if ext == "json" || ext == "jsonld" || text.trim_start().starts_with(['{', '[']) {
            Doc::json(text, 1)
        } else {
            Doc::yaml(text, 1)
        };
        let doc = match parsed {
            Ok(d) => d,
            Err(e) => {
                if named {
                    out.findings
                        .push(doc_error(meta, &e, if yaml { "YAML" } else { "JSON" }));
                }
                return out;
            }
        };
        if croissant::detect(&doc) {
            out.format = Some(SourceFormat::Croissant);
            croissant::parse(&doc, &cx, &mut out);
        } else if own::detect(&doc, rules, named) {
            out.format = Some(SourceFormat::Llmguard);
            own::parse(&doc, &cx, &mut out);
        } else if own::detect_list(&doc, rules, named) {
            // A script that keeps the metadata of several datasets as one JSON list.
            out.format = Some(SourceFormat::Llmguard);
            let n = doc.value.as_array().map_or(0, Vec::len);
            for i in 0..n {
                if let Some(element) = doc.element(i) {
                    own::parse(&element, &cx, &mut out);
                }
            }
        } else if meta.explicit {
            // Some of llmguard's fields but too few to be read as a record: broken metadata.
            // None: another tool's file that happens to be named here.
            let looks = doc
                .value
                .as_object()
                .is_some_and(|o| o.keys().any(|k| rules.own_keys.contains(k)));
            out.findings.push(not_metadata(meta, looks));
        }
        return out;
    }
    if meta.explicit {
        out.findings.push(not_metadata(meta, false));
    }
    out
}

fn not_metadata(meta: &MetadataFile, looks_like_it: bool) -> Finding {
    let what = "none of llmguard's lineage format, a Hugging Face dataset card, Croissant, DVC, a Git LFS pointer or a checksum manifest";
    if looks_like_it {
        return finding(
            Rule::LineageUnparsable,
            meta,
            0,
            format!("holds some of llmguard's lineage fields but too few to be read as lineage metadata ({what}); `llmguard check-lineage --create-template` shows the format"),
        )
        .key("not-metadata");
    }
    finding(
        Rule::NotLineageMetadata,
        meta,
        0,
        format!("not lineage metadata: {what}"),
    )
    .key("not-metadata")
}

/// The finding for a document that did not parse.
pub(crate) fn doc_error(meta: &MetadataFile, e: &super::doc::DocError, what: &str) -> Finding {
    let rule = if e.limit {
        Rule::ResourceLimit
    } else {
        Rule::LineageUnparsable
    };
    Finding::new(
        rule,
        &meta.display,
        Location {
            line: Some(e.line.max(1)),
            column: (e.column > 0).then_some(e.column),
            ..Location::default()
        },
        format!("not valid {what}: {}", e.message),
    )
    .key("parse")
}

/// What a parser needs to know besides the text.
pub struct Context<'a> {
    pub meta: &'a MetadataFile,
    pub root: &'a Path,
    pub opts: &'a DiscoverOptions,
}

impl Context<'_> {
    /// A data file path as written in this metadata, resolved (see `resolve_data_path`);
    /// a path that leaves the root is a `LIN002` finding in `out`.
    pub fn data_file(
        &self,
        written: &str,
        at: super::Span,
        out: &mut Parsed,
    ) -> (Option<String>, Option<String>, Option<PathBuf>) {
        match resolve_data_path(self.meta, written, self.root, self.opts.follow_symlinks) {
            Ok((display, rel, path)) => (Some(display), Some(rel), Some(path)),
            Err(why) => {
                out.findings.push(
                    Finding::new(
                        Rule::LineagePathOutsideRoot,
                        &self.meta.display,
                        at.location(),
                        format!("lists `{written}`, {why}; it was not read"),
                    )
                    .key(format!("path:{written}")),
                );
                (None, None, None)
            }
        }
    }

    pub fn finding(&self, rule: Rule, at: &super::Span, message: String) -> Finding {
        Finding::new(rule, &self.meta.display, at.location(), message)
    }
}

/// `p` with `.` and `..` resolved without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Resolve a data path written in `meta` (relative to its directory): `(display, root-relative,
/// absolute path)`, or why it may not be read (absolute outside the root, `..` out of it, a
/// link leaving it).
pub fn resolve_data_path(
    meta: &MetadataFile,
    written: &str,
    root: &Path,
    follow_symlinks: bool,
) -> Result<(String, String, PathBuf), String> {
    let p = Path::new(written);
    if written.trim().is_empty() {
        return Err("an empty path".into());
    }
    if written.contains('\0') {
        return Err("a path with a NUL byte".into());
    }
    let meta_abs = meta.path.canonicalize().unwrap_or_else(|_| meta.path.clone());
    let base = meta_abs.parent().unwrap_or(root);
    let abs = if p.is_absolute() || p.has_root() {
        lexical(p)
    } else {
        lexical(&base.join(p))
    };
    if !abs.starts_with(root) {
        return Err(if p.is_absolute() || p.has_root() {
            "an absolute path outside the scan root".into()
        } else {
            "a path that leaves the scan root".into()
        });
    }
    if !follow_symlinks {
        if let Ok(real) = abs.canonicalize() {
            if !real.starts_with(root) {
                return Err(format!(
                    "a symbolic link to {} outside the scan root (--follow-symlinks reads it)",
                    real.display()
                ));
            }
        }
    }
    let rel = abs
        .strip_prefix(root)
        .map(|r| r.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let display = if p.is_absolute() {
        abs.to_string_lossy().into_owned()
    } else {
        let shown = Path::new(&meta.display)
            .parent()
            .map(|d| d.join(p))
            .unwrap_or_else(|| p.to_path_buf());
        let l = lexical(&shown);
        if l.starts_with("..") || l.as_os_str().is_empty() {
            abs.to_string_lossy().into_owned()
        } else {
            l.to_string_lossy().replace('\\', "/")
        }
    };
    Ok((display, rel, abs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_paths_stay_in_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::write(root.join("data/sub/meta.json"), "{}").unwrap();
        let meta = MetadataFile {
            display: "data/sub/meta.json".into(),
            path: root.join("data/sub/meta.json"),
            relative: "data/sub/meta.json".into(),
            explicit: false,
        };
        let (display, rel, abs) = resolve_data_path(&meta, "../x.csv", &root, false).unwrap();
        assert_eq!((display.as_str(), rel.as_str()), ("data/x.csv", "data/x.csv"));
        assert_eq!(abs, root.join("data/x.csv"));
        assert!(resolve_data_path(&meta, "../../../etc/passwd", &root, false)
            .unwrap_err()
            .contains("leaves the scan root"));
        assert!(resolve_data_path(&meta, "/etc/passwd", &root, false)
            .unwrap_err()
            .contains("absolute"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", root.join("data/sub/link")).unwrap();
            assert!(resolve_data_path(&meta, "link", &root, false)
                .unwrap_err()
                .contains("symbolic link"));
            assert!(resolve_data_path(&meta, "link", &root, true).is_ok());
        }
    }
}
