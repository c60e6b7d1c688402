//! A tolerant, bounded zip walker.
//!
//! Written by hand instead of using the `zip` crate on purpose: PyTorch's reader loads files
//! that `zip` rejects (duplicate names, the encryption bit, bad CRCs, local/central name
//! mismatches), so a scanner built on `zip` would skip exactly the members an attacker hides
//! that way. This walker reads the end-of-central-directory record (and its ZIP64 form), every
//! central entry and every local header, reports each irregularity as an `Issue`, and still
//! hands every member to the caller.

use super::source::Source;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct ZipLimits {
    pub max_members: usize,
    pub max_central_dir: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_members: 100_000,
            max_central_dir: 64 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub method: u16,
    pub flags: u16,
    pub crc: u32,
    pub compressed_size: u64,
    pub size: u64,
    pub local_offset: u64,
    /// Where the member's data starts (after its local header), once the header is read and
    /// if it was readable.
    pub data_start: Option<u64>,
}

/// How many bytes of a member's data `Archive::read_local` can read with its local header:
/// sniffing a member needs them, so a scanner reads each member of an archive with one read,
/// not two.
pub const HEAD_LEN: usize = 1024;
/// Room for a local extra field (PyTorch pads members to 64-byte alignment with one) in that
/// read; a longer one means the head is not read ahead.
const EXTRA_ROOM: usize = 128;

impl Entry {
    pub fn encrypted(&self) -> bool {
        self.flags & (1 | 1 << 6 | 1 << 13) != 0
    }
}

/// An irregularity worth reporting; none of them stops the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    Encrypted { name: String, flags: u16 },
    NameMismatch { central: String, local: String },
    Duplicate { name: String, count: usize },
    Traversal { name: String },
    Unsupported { name: String, method: u16 },
    Malformed { offset: u64, message: String },
    TooManyMembers { limit: usize },
}

#[derive(Debug, Clone, Default)]
pub struct Archive {
    /// Bytes in front of the archive proper (a self-extractor stub, or a pickle in a polyglot).
    pub prefix: u64,
    pub entries: Vec<Entry>,
    pub issues: Vec<Issue>,
    pub zip64: bool,
}

const EOCD: &[u8; 4] = b"PK\x05\x06";
const EOCD64: &[u8; 4] = b"PK\x06\x06";
const LOC64: &[u8; 4] = b"PK\x06\x07";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
const LOCAL: &[u8; 4] = b"PK\x03\x04";

fn u16_at(b: &[u8], i: usize) -> u16 {
    b.get(i..i + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    b.get(i..i + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], i: usize) -> u64 {
    b.get(i..i + 8).map_or(0, |s| {
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        u64::from_le_bytes(a)
    })
}

/// Where the end-of-central-directory record is, if the source has one.
pub fn find_eocd(src: &dyn Source) -> Option<u64> {
    let len = src.len();
    if len < 22 {
        return None;
    }
    // Nearly every archive ends with the record itself (no comment): one 22-byte read, instead
    // of reading and scanning the 64 KiB a comment could take. The scan below would return
    // this same position first.
    let mut rec = [0u8; 22];
    if src.read_full_at(len - 22, &mut rec).ok() == Some(22) && &rec[..4] == EOCD && u16_at(&rec, 20) == 0 {
        return Some(len - 22);
    }
    let tail_len = len.min(22 + 0xffff);
    let mut tail = vec![0u8; tail_len as usize];
    let got = src.read_full_at(len - tail_len, &mut tail).ok()?;
    tail.truncate(got);
    let base = len - tail_len;
    let mut best = None;
    for i in (0..tail.len().saturating_sub(21)).rev() {
        if &tail[i..i + 4] == EOCD {
            let comment = u64::from(u16_at(&tail, i + 20));
            let pos = base + i as u64;
            if pos + 22 + comment == len {
                return Some(pos);
            }
            best.get_or_insert(pos);
        }
    }
    best
}

/// Parse the archive in `src`: its directory and every local header, with every check.
/// `None` when there is no end-of-central-directory record at all.
pub fn parse(src: &dyn Source, limits: &ZipLimits) -> Option<Archive> {
    let mut archive = directory(src, limits)?;
    let mut scratch = Vec::new();
    for idx in 0..archive.entries.len() {
        archive.read_local(src, idx, &mut scratch, false);
    }
    archive.check_names();
    archive.check_overlaps(src.len());
    Some(archive)
}

/// The end-of-central-directory record and the central directory: the members as the
/// directory lists them, their local headers not read yet (`Archive::read_local` reads them,
/// `check_names` and `check_overlaps` finish the checks; `parse` does all of it). `None` when
/// there is no end-of-central-directory record at all.
pub fn directory(src: &dyn Source, limits: &ZipLimits) -> Option<Archive> {
    let eocd_pos = find_eocd(src)?;
    let mut archive = Archive::default();
    let mut rec = [0u8; 22];
    if src.read_full_at(eocd_pos, &mut rec).ok()? < 22 {
        return None;
    }
    let mut total = u64::from(u16_at(&rec, 10));
    let mut cd_size = u64::from(u32_at(&rec, 12));
    let mut cd_offset = u64::from(u32_at(&rec, 16));
    let mut cd_end = eocd_pos;

    // ZIP64: a locator right before the EOCD points at the ZIP64 end record.
    if eocd_pos >= 20 {
        let mut loc = [0u8; 20];
        if src.read_full_at(eocd_pos - 20, &mut loc).ok() == Some(20) && &loc[..4] == LOC64 {
            // `checked_sub`: a locator within 76 bytes of the start has no room for the record
            // (found by fuzzing: the subtraction underflowed).
            let rec64_pos = eocd_pos.checked_sub(20 + 56);
            let mut r = [0u8; 56];
            let found = rec64_pos.is_some_and(|p| src.read_full_at(p, &mut r).ok() == Some(56)) && &r[..4] == EOCD64;
            if found {
                archive.zip64 = true;
                total = u64_at(&r, 32);
                cd_size = u64_at(&r, 40);
                cd_offset = u64_at(&r, 48);
                cd_end = rec64_pos.unwrap_or(0);
            } else {
                archive.issues.push(Issue::Malformed {
                    offset: eocd_pos - 20,
                    message: "ZIP64 locator without a ZIP64 end record before it".into(),
                });
            }
        }
    }

    let Some(cd_start) = cd_end.checked_sub(cd_size) else {
        archive.issues.push(Issue::Malformed {
            offset: eocd_pos,
            message: format!("central directory size {cd_size} is larger than the data before it"),
        });
        return Some(archive);
    };
    // Bytes in front of the archive shift every recorded offset (as Python's zipfile computes).
    archive.prefix = cd_start.saturating_sub(cd_offset);
    if cd_start < cd_offset {
        archive.issues.push(Issue::Malformed {
            offset: eocd_pos,
            message: format!("central directory offset {cd_offset} points past where the directory is ({cd_start})"),
        });
    }
    if cd_size > limits.max_central_dir {
        archive.issues.push(Issue::TooManyMembers {
            limit: limits.max_members,
        });
        return Some(archive);
    }
    let mut cd = vec![0u8; cd_size as usize];
    if src.read_full_at(cd_start, &mut cd).ok() != Some(cd.len()) {
        archive.issues.push(Issue::Malformed {
            offset: cd_start,
            message: "central directory is truncated".into(),
        });
        return Some(archive);
    }

    let mut i = 0usize;
    while i + 46 <= cd.len() {
        if &cd[i..i + 4] != CENTRAL {
            archive.issues.push(Issue::Malformed {
                offset: cd_start + i as u64,
                message: format!(
                    "central directory entry {} has a bad signature",
                    archive.entries.len() + 1
                ),
            });
            break;
        }
        if archive.entries.len() >= limits.max_members {
            archive.issues.push(Issue::TooManyMembers {
                limit: limits.max_members,
            });
            break;
        }
        let name_len = usize::from(u16_at(&cd, i + 28));
        let extra_len = usize::from(u16_at(&cd, i + 30));
        let comment_len = usize::from(u16_at(&cd, i + 32));
        let next = i + 46 + name_len + extra_len + comment_len;
        if next > cd.len() {
            archive.issues.push(Issue::Malformed {
                offset: cd_start + i as u64,
                message: format!(
                    "central directory entry {} runs past the directory",
                    archive.entries.len() + 1
                ),
            });
            break;
        }
        let raw = &cd[i + 46..i + 46 + name_len];
        // Validation first: quicker than the lossy decoder for the names nearly all are.
        let name = match std::str::from_utf8(raw) {
            Ok(s) => s.to_string(),
            Err(_) => String::from_utf8_lossy(raw).into_owned(),
        };
        let mut e = Entry {
            name,
            method: u16_at(&cd, i + 10),
            flags: u16_at(&cd, i + 8),
            crc: u32_at(&cd, i + 16),
            compressed_size: u64::from(u32_at(&cd, i + 20)),
            size: u64::from(u32_at(&cd, i + 24)),
            local_offset: u64::from(u32_at(&cd, i + 42)),
            data_start: None,
        };
        apply_zip64_extra(&mut e, &cd[i + 46 + name_len..i + 46 + name_len + extra_len]);
        e.local_offset = e.local_offset.saturating_add(archive.prefix);
        archive.entries.push(e);
        i = next;
    }
    if (archive.entries.len() as u64) < total.min(limits.max_members as u64) && archive.issues.is_empty() {
        archive.issues.push(Issue::Malformed {
            offset: eocd_pos,
            message: format!(
                "end record promises {total} members, the directory holds {}",
                archive.entries.len()
            ),
        });
    }
    Some(archive)
}

fn apply_zip64_extra(e: &mut Entry, mut extra: &[u8]) {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        let body = &extra[4..(4 + len).min(extra.len())];
        if id == 1 {
            let mut at = 0;
            for field in [&mut e.size, &mut e.compressed_size, &mut e.local_offset] {
                if *field == 0xffff_ffff && at + 8 <= body.len() {
                    *field = u64_at(body, at);
                    at += 8;
                }
            }
        }
        extra = &extra[(4 + len).min(extra.len())..];
    }
}

impl Archive {
    /// Read member `idx`'s local header and check it against its directory entry (issues,
    /// `data_start`). The read goes into `scratch`, reused from member to member. With `ahead`,
    /// the first `HEAD_LEN` bytes of the member's data (fewer for a shorter member) come in the
    /// same read and are returned; they are empty when the read did not reach them.
    pub fn read_local<'s>(&mut self, src: &dyn Source, idx: usize, scratch: &'s mut Vec<u8>, ahead: bool) -> &'s [u8] {
        let Some(e) = self.entries.get_mut(idx) else {
            return &[];
        };
        let issues = &mut self.issues;
        // One read for the header and, when the local name is as long as the central one (it
        // nearly always is), the name too: a checkpoint has hundreds of members.
        let ahead = if ahead { EXTRA_ROOM + HEAD_LEN } else { 0 };
        scratch.resize(30 + e.name.len() + ahead, 0);
        let h = &mut scratch[..];
        let got = src.read_full_at(e.local_offset, h).unwrap_or(0);
        let ok = got >= 30 && &h[..4] == LOCAL;
        if !ok {
            let issue = Issue::Malformed {
                offset: e.local_offset,
                message: format!("member `{}` has no local header at offset {}", e.name, e.local_offset),
            };
            issues.push(issue);
            return &[];
        }
        let local_flags = u16_at(h, 6);
        let name_len = usize::from(u16_at(h, 26));
        let extra_len = u64::from(u16_at(h, 28));
        // Compared as bytes first: equal bytes are an equal name, with no string made.
        let local_name = if 30 + name_len <= got {
            let raw = &h[30..30 + name_len];
            (raw != e.name.as_bytes()).then(|| String::from_utf8_lossy(raw).into_owned())
        } else {
            let mut name = vec![0u8; name_len];
            let got = src.read_full_at(e.local_offset + 30, &mut name).unwrap_or(0);
            name.truncate(got);
            Some(String::from_utf8_lossy(&name).into_owned())
        };
        let data_start = e.local_offset + 30 + name_len as u64 + extra_len;
        let (flags, csize) = (e.flags, e.compressed_size);
        if let Some(local) = local_name.filter(|l| *l != e.name) {
            issues.push(Issue::NameMismatch {
                central: e.name.clone(),
                local,
            });
        }
        let flags = flags | (local_flags & (1 | 1 << 6 | 1 << 13));
        if flags & (1 | 1 << 6 | 1 << 13) != 0 {
            issues.push(Issue::Encrypted {
                name: e.name.clone(),
                flags,
            });
        }
        if data_start.checked_add(csize).is_none_or(|end| end > src.len()) {
            issues.push(Issue::Malformed {
                offset: data_start,
                message: format!("member `{}` data ({csize} bytes) runs past the end of the file", e.name),
            });
            return &[];
        }
        if e.method != 0 && e.method != 8 {
            issues.push(Issue::Unsupported {
                name: e.name.clone(),
                method: e.method,
            });
        }
        // The data's first bytes, if the one read above reached them.
        let at = 30 + name_len + extra_len as usize;
        let want = HEAD_LEN.min(usize::try_from(csize).unwrap_or(usize::MAX));
        e.data_start = Some(data_start);
        match ahead > 0 && at + want <= got {
            true => &h[at..at + want],
            false => &[],
        }
    }

    /// Duplicate names and names that climb out of an extraction directory (the directory's
    /// names: no local header is needed).
    pub fn check_names(&mut self) {
        // Counted in a (SipHashed) map, not a B-tree: hundreds of long member names that share
        // their first bytes cost a string comparison at every tree level. Names are hostile, hence
        // std's keyed hash. Duplicates are reported in name order.
        let mut counts: HashMap<&str, usize> = HashMap::with_capacity(self.entries.len());
        for e in &self.entries {
            *counts.entry(e.name.as_str()).or_default() += 1;
        }
        let mut duplicates: Vec<(&str, usize)> = counts.into_iter().filter(|(_, c)| *c > 1).collect();
        duplicates.sort_unstable();
        let mut issues: Vec<Issue> = duplicates
            .into_iter()
            .map(|(n, c)| Issue::Duplicate {
                name: n.to_string(),
                count: c,
            })
            .collect();
        for e in &self.entries {
            if is_traversal(&e.name) {
                issues.push(Issue::Traversal { name: e.name.clone() });
            }
        }
        self.issues.extend(issues);
    }
}

/// Absolute paths, drive letters and `..` components escape an extraction directory.
pub fn is_traversal(name: &str) -> bool {
    let b = name.as_bytes();
    name.starts_with('/')
        || name.starts_with('\\')
        || (b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic())
        || (name.contains("..") && name.split(['/', '\\']).any(|c| c == ".."))
}

impl Archive {
    /// Members whose data overlap (once the local headers are read).
    pub fn check_overlaps(&mut self, len: u64) {
        let mut ranges: Vec<(u64, u64, &str)> = self
            .entries
            .iter()
            .filter_map(|e| {
                e.data_start.map(|s| {
                    (
                        e.local_offset,
                        s.saturating_add(e.compressed_size).min(len),
                        e.name.as_str(),
                    )
                })
            })
            .collect();
        ranges.sort();
        let mut issue = None;
        for w in ranges.windows(2) {
            if w[1].0 < w[0].1 {
                issue = Some(Issue::Malformed {
                    offset: w[1].0,
                    message: format!("members `{}` and `{}` overlap", w[0].2, w[1].2),
                });
                break;
            }
        }
        self.issues.extend(issue);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal stored zip, written here so the walker is tested against bytes we control.
    pub(crate) fn build(members: &[(&str, &[u8])], prefix: &[u8]) -> Vec<u8> {
        let mut out = prefix.to_vec();
        let mut central = Vec::new();
        for (name, data) in members {
            let off = (out.len() - prefix.len()) as u32;
            let crc = crc32fast::hash(data);
            let mut h = Vec::new();
            h.extend_from_slice(LOCAL);
            h.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
            central.extend_from_slice(CENTRAL);
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]);
            central.extend_from_slice(&off.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_off = (out.len() - prefix.len()) as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(EOCD);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_off.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn walks_members_and_finds_duplicates_and_traversal() {
        let z = build(&[("a/data.pkl", b"x"), ("a/data.pkl", b"yy"), ("../evil", b"z")], b"");
        let a = parse(&z, &ZipLimits::default()).unwrap();
        assert_eq!(a.entries.len(), 3);
        assert_eq!(a.prefix, 0);
        assert!(a.issues.contains(&Issue::Duplicate {
            name: "a/data.pkl".into(),
            count: 2
        }));
        assert!(a.issues.contains(&Issue::Traversal { name: "../evil".into() }));
        assert!(a.entries.iter().all(|e| e.data_start.is_some()));
    }

    #[test]
    fn prefix_is_measured() {
        let z = build(&[("m", b"abc")], b"\x80\x02N.");
        let a = parse(&z, &ZipLimits::default()).unwrap();
        assert_eq!(a.prefix, 4);
        assert_eq!(a.entries[0].data_start, Some(4 + 30 + 1));
        assert!(a.issues.is_empty(), "{:?}", a.issues);
    }

    #[test]
    fn name_mismatch_and_encryption_are_reported() {
        let mut z = build(&[("abc", b"123")], b"");
        z[30] = b'x'; // first byte of the local name
        z[6] = 1; // local encryption flag
        let a = parse(&z, &ZipLimits::default()).unwrap();
        assert!(a.issues.contains(&Issue::NameMismatch {
            central: "abc".into(),
            local: "xbc".into()
        }));
        assert!(a.issues.iter().any(|i| matches!(i, Issue::Encrypted { .. })));
    }

    #[test]
    fn member_heads_come_with_their_local_headers() {
        let big = vec![7u8; HEAD_LEN + 10];
        let z = build(&[("a", b"123"), ("b", &big), ("c", b"")], b"");
        let mut a = directory(&z, &ZipLimits::default()).unwrap();
        assert!(a.entries.iter().all(|e| e.data_start.is_none()));
        let mut scratch = Vec::new();
        let heads: Vec<Vec<u8>> = (0..3)
            .map(|i| a.read_local(&z, i, &mut scratch, true).to_vec())
            .collect();
        assert_eq!(heads, [&b"123"[..], &big[..HEAD_LEN], &b""[..]]);
        assert_eq!(a.read_local(&z, 1, &mut scratch, false), b"");
        assert!(a.entries.iter().all(|e| e.data_start.is_some()));
        // The same archive read by `parse`, member by member, and checked.
        let whole = parse(&z, &ZipLimits::default()).unwrap();
        a.check_names();
        a.check_overlaps(z.len() as u64);
        assert_eq!((a.entries, a.issues), (whole.entries, whole.issues));
        // Cut inside the last member's head: what the read did not reach is not a head.
        let mut cut = build(&[("a", &big)], b"");
        cut[26 + 2] = 200; // a 200-byte local extra field: the head is beyond the first read
        let mut a = directory(&cut, &ZipLimits::default()).unwrap();
        assert!(a.read_local(&cut, 0, &mut scratch, true).is_empty());
    }

    #[test]
    fn a_local_name_longer_than_the_central_one_is_read_whole() {
        // The central directory names the member `ab`, its local header `abc`: the one read of
        // header plus central-length name falls short, and the name is read again in full.
        let mut z = build(&[("abc", b"123")], b"");
        let cd = z.windows(4).position(|w| w == CENTRAL).unwrap();
        z[cd + 28] = 2; // central name length 3 -> 2 (the directory now holds `ab`, then `c`)
        z.remove(cd + 46 + 2);
        let n = z.len();
        let cd_size = u32_at(&z, n - 10) - 1;
        z[n - 10..n - 6].copy_from_slice(&cd_size.to_le_bytes());
        let a = parse(&z, &ZipLimits::default()).unwrap();
        assert_eq!(a.entries[0].data_start, Some(30 + 3));
        assert!(a.issues.contains(&Issue::NameMismatch {
            central: "ab".into(),
            local: "abc".into()
        }));
    }

    #[test]
    fn garbage_and_truncation_never_panic() {
        let z = build(&[("abc", b"123")], b"");
        for cut in 0..z.len() {
            let _ = parse(&z[..cut].to_vec(), &ZipLimits::default());
        }
        let mut bad = z.clone();
        let n = bad.len();
        bad[n - 6..n - 2].copy_from_slice(&u32::MAX.to_le_bytes());
        let a = parse(&bad, &ZipLimits::default()).unwrap();
        assert!(matches!(a.issues[0], Issue::Malformed { .. }));
    }

    #[test]
    fn fuzz_crashers_are_findings() {
        // Inputs that once panicked (kept under fuzz/regressions/).
        for entry in std::fs::read_dir("fuzz/regressions/zip").unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let _ = parse(&data, &ZipLimits::default());
        }
    }

    #[test]
    fn traversal_forms() {
        for n in ["/etc/passwd", "\\x", "C:/x", "a/../../b", "a\\..\\b"] {
            assert!(is_traversal(n), "{n}");
        }
        for n in ["archive/data.pkl", "a..b/c", "..hidden"] {
            assert!(!is_traversal(n), "{n}");
        }
    }
}
