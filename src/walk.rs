//! Discovery of the files a run scans: paths as the user named them, directories recursed in
//! a stable order, symbolic links checked against the scan root.

use crate::finding::{Finding, Location};
use crate::rules::Rule;
use std::path::{Path, PathBuf};

/// One file to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The path as the user named it, joined with the path inside a directory they named.
    pub display: String,
    pub path: PathBuf,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub targets: Vec<Target>,
    /// Links not followed and directories that could not be read.
    pub findings: Vec<Finding>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("{path}: no such file or directory")]
    Missing { path: String },
}

/// The git work tree that holds `first`, else the current directory.
pub fn scan_root(first: Option<&Path>) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let start = first.map(|p| cwd.join(p)).unwrap_or_else(|| cwd.clone());
    let start = start.canonicalize().unwrap_or(start);
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    cwd.canonicalize().unwrap_or(cwd)
}

fn display(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.strip_prefix("./")
        .map(str::to_string)
        .unwrap_or_else(|| s.into_owned())
}

/// Find every file under `paths`. A path that does not exist is an error of the run (exit 2);
/// everything found later is a finding.
pub fn discover(paths: &[PathBuf], root: &Path, follow_symlinks: bool) -> Result<Discovery, WalkError> {
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            return Err(WalkError::Missing {
                path: p.display().to_string(),
            });
        }
    }
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut out = Discovery::default();
    for p in paths {
        let mut outside = Vec::new();
        let walker = walkdir::WalkDir::new(p)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if e.file_name() == ".git" && e.depth() > 0 && e.file_type().is_dir() {
                    return false;
                }
                if follow_symlinks || !e.path_is_symlink() {
                    return true;
                }
                match e.path().canonicalize() {
                    Ok(real) if real.starts_with(&root) => true,
                    Ok(real) => {
                        outside.push((display(e.path()), real));
                        false
                    }
                    // A dangling link is reported by the walker's own error below.
                    Err(_) => true,
                }
            });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => out.targets.push(Target {
                    display: display(e.path()),
                    path: e.path().to_path_buf(),
                }),
                Ok(_) => {}
                Err(err) => {
                    let path = err.path().map(display).unwrap_or_else(|| display(p));
                    let finding = if err.loop_ancestor().is_some() {
                        Finding::new(
                            Rule::SymlinkLoop,
                            &path,
                            Location::default(),
                            "symbolic link loops back to one of its own parent directories; not followed",
                        )
                    } else {
                        let why = err.io_error().map(|e| e.to_string()).unwrap_or_else(|| err.to_string());
                        Finding::new(
                            Rule::UnreadableFile,
                            &path,
                            Location::default(),
                            format!("cannot read: {why}"),
                        )
                    };
                    out.findings.push(finding.key("walk"));
                }
            }
        }
        for (path, real) in outside {
            out.findings.push(
                Finding::new(
                    Rule::SymlinkOutsideRoot,
                    &path,
                    Location::default(),
                    format!("symbolic link points outside the scan root (to {}); not followed, use --follow-symlinks to scan it", real.display()),
                )
                .key("symlink"),
            );
        }
    }
    out.targets.sort_by(|a, b| a.display.cmp(&b.display));
    out.targets.dedup_by(|a, b| a.display == b.display);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_and_skips_git() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("b/.git")).unwrap();
        std::fs::write(d.join("b/.git/HEAD"), "x").unwrap();
        std::fs::write(d.join("b/z.pkl"), "x").unwrap();
        std::fs::write(d.join("a.pkl"), "x").unwrap();
        let found = discover(&[d.to_path_buf()], d, false).unwrap();
        let names: Vec<_> = found
            .targets
            .iter()
            .map(|t| t.path.strip_prefix(d).unwrap().to_path_buf())
            .collect();
        assert_eq!(names, vec![PathBuf::from("a.pkl"), PathBuf::from("b/z.pkl")]);
        assert!(found.findings.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn links_outside_root_are_reported_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.pkl"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::os::unix::fs::symlink(outside.path().join("secret.pkl"), d.join("link.pkl")).unwrap();
        std::os::unix::fs::symlink(d, d.join("loop")).unwrap();
        let found = discover(&[d.to_path_buf()], d, false).unwrap();
        assert!(found.targets.is_empty(), "{:?}", found.targets);
        let rules: Vec<_> = found.findings.iter().map(|f| f.rule).collect();
        assert!(rules.contains(&Rule::SymlinkOutsideRoot), "{rules:?}");
        assert!(rules.contains(&Rule::SymlinkLoop), "{rules:?}");
        let followed = discover(&[d.to_path_buf()], d, true).unwrap();
        assert_eq!(followed.targets.len(), 1);
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = discover(&[PathBuf::from("/no/such/llmguard/path")], Path::new("."), false).unwrap_err();
        assert!(err.to_string().contains("/no/such/llmguard/path"));
    }
}
