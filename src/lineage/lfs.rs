//! Git LFS pointer files: `version https://git-lfs.github.com/spec/v1`, `oid sha256:<hex>`,
//! `size <bytes>` (and optional `ext-` lines), under 1024 bytes. A pointer where data should be
//! means the LFS objects were never fetched; its oid is the sha256 of the real data.

use super::discover::MetadataFile;
use super::{Algorithm, DataFile, DatasetRecord, DigestDecl, Field, FileKind, SourceFormat, Span};

/// The record of a pointer file, or `None` when `text` is not a Git LFS pointer.
pub fn parse(text: &str, meta: &MetadataFile) -> Option<DatasetRecord> {
    let mut lines = text.lines();
    let version = lines.next()?;
    if !version.starts_with("version https://git-lfs.github.com/spec/")
        && version != "version https://hawser.github.com/spec/v1"
    {
        return None;
    }
    let (mut oid, mut size) = (None, None);
    for (i, l) in lines.enumerate() {
        let n = u32::try_from(i + 2).unwrap_or(u32::MAX);
        if let Some(o) = l.strip_prefix("oid ") {
            oid = Some(Field::new(DigestDecl::parse(Algorithm::Sha256, o), Span::line(n)));
        } else if let Some(s) = l.strip_prefix("size ") {
            size = s.trim().parse::<u64>().ok().map(|v| Field::new(v, Span::line(n)));
        }
    }
    let oid = oid?;
    let mut r = DatasetRecord::new(SourceFormat::GitLfsPointer, meta, Span::line(1));
    r.format_version = version.strip_prefix("version ").map(str::to_string);
    let name = meta
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    r.files.push(DataFile {
        path: Field::new(name, Span::line(1)),
        display: Some(meta.display.clone()),
        relative: Some(meta.relative.clone()),
        resolved: Some(meta.path.clone()),
        sha256: Some(oid),
        md5: None,
        md5_text_normalised: false,
        sha256_universal: false,
        size,
        kind: FileKind::LfsPointer,
        dependency: false,
    });
    Some(r)
}

/// Whether `head` (the first bytes of a file) is a Git LFS pointer.
pub fn is_pointer(head: &[u8]) -> bool {
    head.len() < 1024
        && head.starts_with(b"version https://git-lfs.github.com/spec/")
        && memchr::memmem::find(head, b"\noid sha256:").is_some()
}

/// The `oid sha256:` of a pointer's text.
pub fn pointer_oid(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("oid sha256:"))
        .map(|h| h.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_pointer() {
        let text = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n";
        let meta = MetadataFile {
            display: "data/x.parquet".into(),
            path: "data/x.parquet".into(),
            relative: "data/x.parquet".into(),
            explicit: false,
        };
        let r = parse(text, &meta).unwrap();
        let f = &r.files[0];
        assert!(f.sha256.as_ref().unwrap().value.valid);
        assert_eq!(f.size.as_ref().unwrap().value, 12345);
        assert!(is_pointer(text.as_bytes()));
        assert!(parse("hello\n", &meta).is_none());
        assert!(pointer_oid(text).unwrap().starts_with("4d7a"));
    }
}
