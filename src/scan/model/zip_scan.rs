//! Zip archives: PyTorch checkpoints, npz, nested archives and zip tricks; every member is
//! sniffed and scanned.

use super::{chain, Cx, ModelFormat};
use crate::model::source::{Budget, Metered, Source, SourceReader, Window};
use crate::model::zip::{self, Issue};
use crate::rules::Rule;
use std::collections::BTreeMap;
use std::io::Read;
use std::rc::Rc;

/// A reader of a zip member's contents: stored bytes as they are, deflated ones inflated
/// against the file's decompression budget; None for a method llmguard does not read.
pub(super) fn member_reader<'s>(
    window: &'s Window<'s>,
    method: u16,
    budget: &Rc<Budget>,
) -> Option<Box<dyn Read + 's>> {
    let raw = SourceReader::new(window, 0, window.len);
    match method {
        0 => Some(Box::new(raw)),
        8 => Some(Box::new(Metered::new(
            flate2::read::DeflateDecoder::new(raw),
            budget.clone(),
            window.len,
        ))),
        _ => None,
    }
}

/// A stored member whose first bytes the zip walker already read (with its local header):
/// reads within them are served from memory, everything else from the member itself.
struct Prefetched<'s> {
    src: &'s Window<'s>,
    head: &'s [u8],
}

impl Source for Prefetched<'_> {
    fn len(&self) -> u64 {
        self.src.len()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        match usize::try_from(offset) {
            Ok(at) if at < self.head.len() => {
                let n = buf.len().min(self.head.len() - at);
                buf[..n].copy_from_slice(&self.head[at..at + n]);
                Ok(n)
            }
            _ => self.src.read_at(offset, buf),
        }
    }
}

impl Cx<'_> {
    /// A zip archive that starts after a pickle: report it, then scan it too.
    pub(super) fn polyglot(
        &mut self,
        src: &dyn Source,
        members: &[String],
        depth: usize,
        pickle_end: u64,
    ) -> Option<ModelFormat> {
        zip::find_eocd(src)?;
        let archive = zip::parse(src, &self.limits.zip)?;
        if !archive.entries.iter().any(|e| e.data_start.is_some()) {
            return None;
        }
        self.push(
            Rule::PolyglotFile,
            members,
            Some(archive.prefix),
            format!(
                "the file is a pickle (bytes 0–{pickle_end}) and also a zip archive starting at byte {}; torch.load runs the pickle, zip-based tools see only the archive",
                archive.prefix
            ),
            "polyglot",
        );
        self.zip(src, members, depth)
    }

    pub(super) fn zip(&mut self, src: &dyn Source, members: &[String], depth: usize) -> Option<ModelFormat> {
        let mut archive = zip::directory(src, &self.limits.zip)?;
        let names = || archive.entries.iter().map(|e| e.name.as_str());
        let format = if names().any(|n| n == "data.pkl" || n.ends_with("/data.pkl")) {
            ModelFormat::PytorchZip
        } else if archive.entries.iter().any(|e| e.name.ends_with(".npy"))
            && names().all(|n| n.ends_with(".npy") || n.ends_with('/'))
        {
            ModelFormat::NumpyZip
        } else if names().any(|n| n == "config.json")
            && names().any(|n| n == "metadata.json" || n == "model.weights.h5")
        {
            ModelFormat::KerasV3
        } else {
            ModelFormat::Zip
        };
        archive.check_names();
        // Members are read one at a time: each local header with the first bytes of the
        // member's data (one read), the member scanned from them, the next header read into the
        // same buffer, so no member's head is kept (a checkpoint has hundreds). Keras reads its
        // members by offset, and past the depth limit no member is scanned: then every local
        // header is read first (and each member, if scanned, reads its own first bytes).
        let one_by_one = format != ModelFormat::KerasV3 && depth < self.limits.max_depth;
        let mut scratch = Vec::new();
        if !one_by_one {
            for idx in 0..archive.entries.len() {
                archive.read_local(src, idx, &mut scratch, false);
            }
            archive.check_overlaps(src.len());
            if format == ModelFormat::KerasV3 {
                self.keras_v3(src, &archive, members);
            }
            if depth >= self.limits.max_depth {
                self.zip_issues(&archive.issues, members);
                self.too_deep(members);
                return Some(format);
            }
        }
        // Copies of a duplicated name are labelled by number; the walker reports every
        // duplicate, so without one no name needs counting.
        let duplicates = archive.issues.iter().any(|i| matches!(i, Issue::Duplicate { .. }));
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        // The first member whose local header is not read yet.
        let mut unread = if one_by_one { 0 } else { archive.entries.len() };
        for idx in 0..archive.entries.len() {
            if !self.take_member(members) {
                break;
            }
            let head = match one_by_one {
                true => {
                    unread = idx + 1;
                    archive.read_local(src, idx, &mut scratch, true)
                }
                false => &[],
            };
            let e = &archive.entries[idx];
            let copy = match duplicates {
                true => {
                    let copy = seen.entry(e.name.clone()).or_default();
                    *copy += 1;
                    *copy
                }
                false => 1,
            };
            let label = if copy > 1 {
                format!("{} [copy {}]", e.name, copy)
            } else {
                e.name.clone()
            };
            let inner = chain(members, label);
            let Some(start) = e.data_start else { continue };
            if e.size > (64 << 20) && e.size / e.compressed_size.max(1) > 200 {
                self.push(
                    Rule::ZipBomb,
                    &inner,
                    None,
                    format!(
                        "member declares {} bytes from {} ({}:1)",
                        e.size,
                        e.compressed_size,
                        e.size / e.compressed_size.max(1)
                    ),
                    "bomb",
                );
            }
            let window = Window {
                src,
                start,
                len: e.compressed_size,
            };
            let found = match e.method {
                0 => {
                    let member = Prefetched { src: &window, head };
                    self.random_checked(&member, &inner, depth + 1, Some(e.crc))
                }
                8 => {
                    let budget = self.budget.clone();
                    let w = &window;
                    let open = move || -> Box<dyn Read + '_> {
                        member_reader(w, 8, &budget).unwrap_or_else(|| Box::new(std::io::empty()))
                    };
                    self.stream(&open, e.compressed_size, &inner, depth + 1, Some(e.crc))
                }
                _ => ModelFormat::NotAModel,
            };
            self.disguised(&e.name, found, &inner);
        }
        // Members past the member budget are not scanned, but their headers are checked.
        for idx in unread..archive.entries.len() {
            archive.read_local(src, idx, &mut scratch, false);
        }
        if one_by_one {
            archive.check_overlaps(src.len());
        }
        self.zip_issues(&archive.issues, members);
        Some(format)
    }

    pub(super) fn zip_issues(&mut self, issues: &[Issue], members: &[String]) {
        for issue in issues {
            let inner = |name: &str| chain(members, name.to_string());
            let (rule, at, offset, message, key) = match issue {
                Issue::Encrypted { name, flags } => (
                    Rule::ZipEncryptionFlag,
                    inner(name),
                    None,
                    format!("member `{name}` has general-purpose flags 0x{flags:04x} (encryption); read as plain data anyway"),
                    "encrypted".to_string(),
                ),
                Issue::NameMismatch { central, local } => (
                    Rule::ZipNameMismatch,
                    inner(central),
                    None,
                    format!("the central directory names this member `{central}`, its local header `{local}`"),
                    format!("name:{local}"),
                ),
                Issue::Duplicate { name, count } => (
                    Rule::ArchiveDuplicateName,
                    members.to_vec(),
                    None,
                    format!(
                        "member name `{name}` appears {count} times; readers disagree on which copy they load, so every copy was scanned"
                    ),
                    format!("dup:{name}"),
                ),
                Issue::Traversal { name } => (
                    Rule::ArchivePathTraversal,
                    members.to_vec(),
                    None,
                    format!(
                        "member name `{name}` is absolute or climbs out with `..`; extracting it writes outside the target directory"
                    ),
                    format!("traversal:{name}"),
                ),
                Issue::Unsupported { name, method } => (
                    Rule::ArchiveUnsupportedMember,
                    inner(name),
                    None,
                    format!("member `{name}` uses compression method {method}, which llmguard cannot read; its contents were not checked"),
                    "method".to_string(),
                ),
                Issue::Malformed { offset, message } => (
                    Rule::ArchiveMalformed,
                    members.to_vec(),
                    Some(*offset),
                    format!("malformed zip: {message}"),
                    format!("malformed:{message}"),
                ),
                Issue::TooManyMembers { limit } => (
                    Rule::ResourceLimit,
                    members.to_vec(),
                    None,
                    format!("archive has more than {limit} members or an oversized central directory; the rest were not checked"),
                    "members".to_string(),
                ),
            };
            self.push(rule, &at, offset, message, key);
        }
    }
}
