//! The model side of OMS verification: enumerate a model directory the way `model_signing`
//! does (every regular file below the root, paths `/`-separated and relative to it, minus the
//! ignored paths), recompute the digests the manifest lists (whole files, or the byte ranges
//! of the `shards` method) in parallel, and compare.

use super::{Problem, ProblemKind};
use crate::model::oms::{Method, Resource, Statement};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// One file of the model as found on disk.
#[derive(Debug, Clone)]
struct Entry {
    path: PathBuf,
    size: u64,
}

fn ignored(rel: &str, ignores: &[String]) -> bool {
    ignores
        .iter()
        .any(|i| rel == i || (rel.len() > i.len() && rel.starts_with(i.as_str()) && rel.as_bytes()[i.len()] == b'/'))
}

/// What was found on disk: files by relative path, and what could not be taken as a file.
struct Listing {
    files: BTreeMap<String, Entry>,
    problems: Vec<Problem>,
}

fn list(model: &Path, single: bool, ignores: &[String], allow_symlinks: bool, listed: &BTreeMap<&str, ()>) -> Listing {
    let mut out = Listing {
        files: BTreeMap::new(),
        problems: Vec::new(),
    };
    if single {
        // The tool lists a single-file model as `.`; the specification by its file name.
        let name = if listed.contains_key(".") {
            ".".to_string()
        } else {
            model
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        match std::fs::metadata(model) {
            Ok(m) if !m.is_file() => out.problems.push(Problem::new(
                ProblemKind::Unlisted,
                Some(name),
                "is not a regular file (a FIFO, socket or device)".to_string(),
            )),
            Ok(m) => {
                out.files.insert(
                    name,
                    Entry {
                        path: model.to_path_buf(),
                        size: m.len(),
                    },
                );
            }
            Err(e) => out.problems.push(Problem::new(
                ProblemKind::Unreadable,
                Some(name),
                format!("cannot read: {e}"),
            )),
        }
        return out;
    }
    let walker = walkdir::WalkDir::new(model)
        .follow_links(allow_symlinks)
        .sort_by_file_name()
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(model).unwrap_or(e.path());
            !ignored(&rel.to_string_lossy().replace('\\', "/"), ignores)
        });
    for entry in walker {
        let e = match entry {
            Ok(e) => e,
            Err(err) => {
                let rel = err
                    .path()
                    .and_then(|p| p.strip_prefix(model).ok())
                    .map(|p| p.to_string_lossy().replace('\\', "/"));
                let why = if err.loop_ancestor().is_some() {
                    "a symbolic link loops back to one of its parent directories".to_string()
                } else {
                    err.io_error().map(|e| e.to_string()).unwrap_or_else(|| err.to_string())
                };
                out.problems.push(Problem::new(
                    ProblemKind::Unreadable,
                    rel,
                    format!("cannot read: {why}"),
                ));
                continue;
            }
        };
        let Ok(rel) = e.path().strip_prefix(model) else {
            continue;
        };
        let Some(rel) = rel.to_str().map(|r| r.replace('\\', "/")) else {
            out.problems.push(Problem::new(
                ProblemKind::Unlisted,
                Some(rel.to_string_lossy().into_owned()),
                "file name is not UTF-8, so no OMS manifest can list it".to_string(),
            ));
            continue;
        };
        let ft = e.file_type();
        if ft.is_dir() {
            continue;
        }
        if ft.is_symlink() {
            // Only seen when links are not followed: the signature was made without them.
            let kind = if listed.contains_key(rel.as_str()) {
                ProblemKind::Modified
            } else {
                ProblemKind::Unlisted
            };
            out.problems.push(Problem::new(
                kind,
                Some(rel),
                "is a symbolic link, and the model was signed with `allow_symlinks: false`".to_string(),
            ));
            continue;
        }
        if !ft.is_file() {
            out.problems.push(Problem::new(
                ProblemKind::Unlisted,
                Some(rel),
                "is not a regular file (a FIFO, socket or device)".to_string(),
            ));
            continue;
        }
        let size = e.metadata().map(|m| m.len()).unwrap_or(0);
        out.files.insert(
            rel,
            Entry {
                path: e.path().to_path_buf(),
                size,
            },
        );
    }
    out
}

/// One digest to recompute.
struct Job<'a> {
    rel: &'a str,
    path: &'a Path,
    range: Option<(u64, u64)>,
    want: &'a [u8],
}

/// SHA-256 of `len` bytes of `path` from `start` (the whole file when `range` is `None`).
fn hash(path: &Path, range: Option<(u64, u64)>) -> std::io::Result<(Vec<u8>, u64)> {
    // Never open something that is not a regular file (a FIFO swapped in would block the open).
    let not_file = || std::io::Error::other("not a regular file");
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_file());
    }
    let mut f = std::fs::File::open(path)?;
    if !f.metadata()?.is_file() {
        return Err(not_file());
    }
    let mut h = Sha256::new();
    let n = match range {
        None => crate::digest::stream(&mut f, &mut |c| h.update(c))?,
        Some((start, end)) => {
            f.seek(SeekFrom::Start(start))?;
            crate::digest::stream(&mut f.take(end - start), &mut |c| h.update(c))?
        }
    };
    Ok((h.finalize().to_vec(), n))
}

/// `hash` of a whole file, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn tests_hash(path: &Path) -> std::io::Result<(Vec<u8>, u64)> {
    hash(path, None)
}

/// The shard ranges `model_signing` makes of a file of `size` bytes.
fn shards(size: u64, shard: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let end = start.saturating_add(shard).min(size);
        out.push((start, end));
        start = end;
    }
    out
}

/// Compare the model on disk with the signed manifest. `ignores` are the default, the
/// manifest's and the signature file's own path; with `parallel`, digests are computed on the
/// current rayon pool.
pub fn compare(
    model: &Path,
    single: bool,
    statement: &Statement,
    ignores: &[String],
    parallel: bool,
) -> (usize, Vec<Problem>) {
    let mut expected: BTreeMap<&str, Vec<&Resource>> = BTreeMap::new();
    for r in &statement.resources {
        expected.entry(r.path.as_str()).or_default().push(r);
    }
    let names: BTreeMap<&str, ()> = expected.keys().map(|k| (*k, ())).collect();
    let listing = list(model, single, ignores, statement.serialization.allow_symlinks, &names);
    let mut problems = listing.problems;
    let mut jobs_list = Vec::new();
    for (rel, entry) in &listing.files {
        let Some(res) = expected.get(rel.as_str()) else {
            // The shards method lists no range for an empty file.
            let empty_shardless = matches!(statement.serialization.method, Method::Shards { .. }) && entry.size == 0;
            if !empty_shardless {
                problems.push(Problem::new(
                    ProblemKind::Unlisted,
                    Some(rel.clone()),
                    "is not in the signed manifest: it was added after signing".to_string(),
                ));
            }
            continue;
        };
        match statement.serialization.method {
            Method::Files => jobs_list.push(Job {
                rel,
                path: &entry.path,
                range: None,
                want: &res[0].digest,
            }),
            Method::Shards { shard_size } => {
                let mut signed: Vec<(u64, u64)> = res.iter().filter_map(|r| r.range).collect();
                signed.sort_unstable();
                let was = signed.last().map(|r| r.1).unwrap_or(0);
                if entry.size != was {
                    problems.push(Problem::new(
                        ProblemKind::Modified,
                        Some(rel.clone()),
                        format!("size changed since signing: {was} bytes then, {} now", entry.size),
                    ));
                    continue;
                }
                // The ranges must be exactly the file's shards; count them before listing
                // them, so a file's size never decides an allocation.
                let count = entry.size.div_ceil(shard_size);
                if count != signed.len() as u64 || signed != shards(entry.size, shard_size) {
                    problems.push(Problem::new(
                        ProblemKind::Modified,
                        Some(rel.clone()),
                        format!(
                            "the signed ranges are not the {count} shards of {shard_size} bytes of its {} bytes",
                            entry.size
                        ),
                    ));
                    continue;
                }
                for r in res.iter() {
                    jobs_list.push(Job {
                        rel,
                        path: &entry.path,
                        range: r.range,
                        want: &r.digest,
                    });
                }
            }
        }
    }
    for rel in expected.keys() {
        if !listing.files.contains_key(*rel) && !problems.iter().any(|p| p.file.as_deref() == Some(*rel)) {
            problems.push(Problem::new(
                ProblemKind::Missing,
                Some(rel.to_string()),
                "is listed in the signed manifest but missing from the model".to_string(),
            ));
        }
    }
    let check = |j: &Job<'_>| -> Option<Problem> {
        match hash(j.path, j.range) {
            Ok((got, n)) if got == j.want && j.range.is_none_or(|(s, e)| n == e - s) => None,
            Ok((got, _)) => {
                let mut p = Problem::new(
                    ProblemKind::Modified,
                    Some(j.rel.to_string()),
                    match j.range {
                        None => "content changed since signing".to_string(),
                        Some((s, e)) => format!("bytes {s}..{e} changed since signing"),
                    },
                );
                p.range = j.range;
                p.evidence = Some(format!(
                    "signed sha256:{} now sha256:{}",
                    crate::digest::hex(j.want),
                    crate::digest::hex(&got)
                ));
                Some(p)
            }
            Err(e) => Some(Problem::new(
                ProblemKind::Unreadable,
                Some(j.rel.to_string()),
                format!("cannot read: {e}"),
            )),
        }
    };
    // In parallel on the current rayon pool (the caller's `--jobs` pool).
    let results: Vec<Option<Problem>> = if jobs_list.len() <= 1 || !parallel {
        jobs_list.iter().map(check).collect()
    } else {
        jobs_list.par_iter().map(check).collect()
    };
    problems.extend(results.into_iter().flatten());
    (listing.files.len(), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_match_the_tool() {
        // model_signing's `_endpoints(step, end)`: step, 2*step, ..., then `end`.
        assert_eq!(shards(49, 16), vec![(0, 16), (16, 32), (32, 48), (48, 49)]);
        assert_eq!(shards(32, 16), vec![(0, 16), (16, 32)]);
        assert_eq!(shards(5, 16), vec![(0, 5)]);
        assert!(shards(0, 16).is_empty());
    }

    #[test]
    fn ignores_are_path_prefixes() {
        let ig = vec![".git".to_string(), "cache/x".to_string()];
        assert!(ignored(".git", &ig) && ignored(".git/HEAD", &ig) && ignored("cache/x/y", &ig));
        assert!(!ignored(".gitmodules", &ig) && !ignored("sub/.git", &ig) && !ignored("cache/xy", &ig));
    }
}
