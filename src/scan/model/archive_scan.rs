//! Archives other than zip: tar (plain, or under a gzip/bzip2/xz layer, which `compressed()`
//! peels first) and 7z. Every member is sniffed by content and scanned like a file, inside the
//! same per-file budgets (members, depth, inflated bytes) as zip members.

use super::{chain, Cx, ModelFormat};
use crate::model::climbs_out;
use crate::model::source::{materialize, Metered, Source, SourceReader, Window};
use crate::model::zip::is_traversal;
use crate::rules::Rule;
use std::collections::BTreeMap;

/// Whether a link at `member` pointing to `target` leads outside the archive's root. Symbolic
/// links resolve from the link's own directory, hard links from the root.
fn link_escapes(member: &str, target: &str, symbolic: bool) -> bool {
    if target.starts_with('/') || target.starts_with('\\') || target.as_bytes().get(1) == Some(&b':') {
        return true;
    }
    let dir = match member.trim_end_matches('/').rsplit_once('/') {
        Some((dir, _)) if symbolic => dir,
        _ => "",
    };
    climbs_out(&format!("{dir}/{target}"))
}

impl Cx<'_> {
    /// Count one more member against the file's budget; false (and a finding) when spent.
    pub(super) fn take_member(&mut self, members: &[String]) -> bool {
        if self.members_left == 0 {
            self.push(
                Rule::ResourceLimit,
                members,
                None,
                format!(
                    "more than {} archive members in this file across all nesting levels; the rest were not checked",
                    self.limits.max_total_members
                ),
                "total-members",
            );
            return false;
        }
        self.members_left -= 1;
        true
    }

    /// Name checks shared by tar and 7z: traversal and duplicates. Returns the member label.
    fn member_label(&mut self, name: &str, seen: &mut BTreeMap<String, usize>, members: &[String]) -> String {
        if is_traversal(name) {
            self.push(
                Rule::ArchivePathTraversal,
                members,
                None,
                format!("member name `{name}` is absolute or climbs out with `..`; extracting it writes outside the target directory"),
                format!("traversal:{name}"),
            );
        }
        let copy = seen.entry(name.to_string()).or_default();
        *copy += 1;
        if *copy > 1 {
            format!("{name} [copy {copy}]")
        } else {
            name.to_string()
        }
    }

    fn duplicates(&mut self, seen: &BTreeMap<String, usize>, members: &[String]) {
        for (name, count) in seen.iter().filter(|(_, c)| **c > 1) {
            self.push(
                Rule::ArchiveDuplicateName,
                members,
                None,
                format!("member name `{name}` appears {count} times; extractors keep the last copy, loaders may read the first, so every copy was scanned"),
                format!("dup:{name}"),
            );
        }
    }

    /// A tar archive: entries are walked in place (their data is a window of the source).
    pub(super) fn tar(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        if depth >= self.limits.max_depth {
            self.too_deep(members);
            return ModelFormat::Tar;
        }
        let mut archive = tar::Archive::new(SourceReader::new(src, 0, src.len()));
        let entries = match archive.entries_with_seek() {
            Ok(e) => e,
            Err(e) => {
                self.push(
                    Rule::ArchiveMalformed,
                    members,
                    Some(0),
                    format!("malformed tar: {e}"),
                    "tar",
                );
                return ModelFormat::Tar;
            }
        };
        let mut seen = BTreeMap::new();
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.push(
                        Rule::ArchiveMalformed,
                        members,
                        None,
                        format!("malformed tar: {e}; the members after it were not checked"),
                        "tar",
                    );
                    break;
                }
            };
            if !self.take_member(members) {
                break;
            }
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let header_at = entry.raw_header_position();
            let label = self.member_label(&name, &mut seen, members);
            let inner = chain(members, label);
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                if link_escapes(&name, &target, kind.is_symlink()) {
                    let what = if kind.is_symlink() { "symbolic" } else { "hard" };
                    self.push(
                        Rule::ArchivePathTraversal,
                        members,
                        Some(header_at),
                        format!("{what} link member `{name}` points to `{target}`, outside the archive; members extracted through it land anywhere on disk"),
                        format!("link:{name}"),
                    );
                }
                continue;
            }
            if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
                let what = if kind.is_fifo() {
                    "a FIFO"
                } else if kind.is_block_special() {
                    "a block device"
                } else {
                    "a character device"
                };
                self.push(
                    Rule::ArchiveSpecialMember,
                    members,
                    Some(header_at),
                    format!("member `{name}` is {what}"),
                    format!("special:{name}"),
                );
                continue;
            }
            if !(kind.is_file() || kind.is_contiguous()) {
                continue;
            }
            let start = entry.raw_file_position();
            let size = entry.size();
            if start.checked_add(size).is_none_or(|end| end > src.len()) {
                self.push(
                    Rule::ArchiveMalformed,
                    &inner,
                    Some(header_at),
                    format!(
                        "member `{name}` says it holds {size} bytes, past the end of the archive; only what is there was checked"
                    ),
                    "tar-truncated",
                );
            }
            let window = Window {
                src,
                start,
                len: size.min(src.len().saturating_sub(start)),
            };
            let found = self.random_checked(&window, &inner, depth + 1, None);
            self.disguised(&name, found, &inner);
        }
        self.duplicates(&seen, members);
        ModelFormat::Tar
    }

    /// A 7z archive. Members are decoded one after another (solid blocks can only be read in
    /// order) through the file's decompression budget, each unpacked (spilled to a temporary
    /// file when large) and scanned like a file.
    pub(super) fn sevenz(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        if depth >= self.limits.max_depth {
            self.too_deep(members);
            return ModelFormat::SevenZ;
        }
        let reader = SourceReader::new(src, 0, src.len());
        let mut archive = match sevenz_rust2::ArchiveReader::new(reader, sevenz_rust2::Password::empty()) {
            Ok(a) => a,
            Err(e) => {
                self.sevenz_error(&e, members);
                return ModelFormat::SevenZ;
            }
        };
        archive.set_thread_count(1);
        let mut seen = BTreeMap::new();
        let mut labels = Vec::new();
        for e in &archive.archive().files {
            if e.is_directory || e.is_anti_item {
                labels.push(None);
                continue;
            }
            let label = self.member_label(&e.name, &mut seen, members);
            labels.push(Some((e.name.clone(), label)));
        }
        self.duplicates(&seen, members);
        let budget = self.budget.clone();
        let spill_at = self.limits.spill_at;
        let mut index = 0usize;
        let mut stopped = false;
        let walked = archive.for_each_entries(|entry, reader| {
            let current = labels.get(index).cloned().flatten();
            index += 1;
            let Some((name, label)) = current else {
                return Ok(true);
            };
            if !entry.has_stream {
                return Ok(true);
            }
            if !self.take_member(members) {
                stopped = true;
                return Ok(false);
            }
            let inner = chain(members, label);
            let metered = Metered::new(reader, budget.clone(), entry.compressed_size);
            match materialize(metered, spill_at) {
                Ok(data) => {
                    let found = self.random_checked(&*data, &inner, depth + 1, None);
                    self.disguised(&name, found, &inner);
                    Ok(true)
                }
                // The budget finding is written once for the whole file.
                Err(_) if budget.tripped().is_some() => {
                    stopped = true;
                    Ok(false)
                }
                Err(e) => {
                    self.push(
                        Rule::ArchiveMalformed,
                        &inner,
                        None,
                        format!("member `{name}` does not decode: {e}; the members after it were not checked"),
                        "7z-member",
                    );
                    stopped = true;
                    Ok(false)
                }
            }
        });
        if let Err(e) = walked {
            if !stopped {
                self.sevenz_error(&e, members);
            }
        }
        ModelFormat::SevenZ
    }

    fn sevenz_error(&mut self, e: &sevenz_rust2::Error, members: &[String]) {
        use sevenz_rust2::Error as E;
        let text = e.to_string();
        let (rule, key) = match e {
            E::PasswordRequired | E::MaybeBadPassword(_) => (Rule::ArchiveUnsupportedMember, "7z-encrypted"),
            // Built without the `aes256` feature: AES shows up as an unknown method.
            _ if text.contains("AES") || text.to_ascii_lowercase().contains("password") => {
                (Rule::ArchiveUnsupportedMember, "7z-encrypted")
            }
            E::UnsupportedCompressionMethod(_) | E::ExternalUnsupported | E::MaxMemLimited { .. } => {
                (Rule::ArchiveUnsupportedMember, "7z-method")
            }
            _ => (Rule::ArchiveMalformed, "7z"),
        };
        let message = if key == "7z-encrypted" {
            "the 7z archive is encrypted; its members cannot be checked".to_string()
        } else if rule == Rule::ArchiveUnsupportedMember {
            format!("the 7z archive uses a method llmguard cannot read ({text}); its members were not checked")
        } else {
            format!("malformed 7z archive: {text}; its members were not (all) checked")
        };
        self.push(rule, members, None, message, key);
    }
}

#[cfg(test)]
mod tests {
    use super::link_escapes;

    #[test]
    fn link_targets_that_leave_the_archive() {
        let cases = [
            ("a/link", "../b", true, false),
            ("a/link", "../../b", true, true),
            ("link", "/etc/passwd", true, true),
            ("link", "C:\\Windows", true, true),
            ("a/b/link", "../../c/../d", true, false),
            ("a/b/link", "../../../d", true, true),
            ("a/hard", "../x", false, true),
            ("a/hard", "a/x", false, false),
            ("./link", "x/./y", true, false),
        ];
        for (member, target, symbolic, escapes) in cases {
            assert_eq!(link_escapes(member, target, symbolic), escapes, "{member} -> {target}");
        }
    }
}
