//! `scan-model --verify-signature` (or a `[signing]` section in `llmguard.toml`): verify every
//! OMS signature among the scanned paths with `crate::signing` and turn each status into
//! `MOD6xx` findings; then report model files that no signature covers.
//!
//! A signature is a file named `model.sig` (it signs the directory that holds it) or
//! `NAME.sig` beside a directory or file `NAME` (it signs `NAME`); a PATH named on the command
//! line is also checked for a `PATH.sig` beside it. A file is covered when it lies inside a
//! signed model directory or is a signed single-file model. Files that must be covered: every
//! file recognised as a model format (by content, not by name), and every file matching a
//! `[signing] require` glob.

use super::super::FileOutcome;
use crate::finding::{Finding, Location};
use crate::report::Verdict;
use crate::rules::Rule;
use crate::signing::{self, Problem, ProblemKind, SignatureStatus, Trust};
use crate::walk::Target;
use globset::GlobSet;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the run verifies against and requires.
pub struct SigningPlan<'a> {
    pub trust: &'a Trust,
    /// Globs, relative to the scan root, of files that must be covered by a signature.
    pub require: Option<&'a GlobSet>,
    pub jobs: Option<usize>,
}

/// A model to verify: where it is, and how it is shown in findings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signed {
    /// The signed directory or single-file model.
    pub model: PathBuf,
    pub model_display: String,
    pub signature: PathBuf,
    pub signature_display: String,
}

/// What [`check`] found: the findings it did not fold into a file's outcome, and every signed
/// model with its status (for `aibom`, which records them).
pub struct Checked {
    pub findings: Vec<Finding>,
    pub models: Vec<(Signed, SignatureStatus)>,
}

fn join(display: &str, rel: &str) -> String {
    if display.is_empty() || display == "." {
        rel.to_string()
    } else {
        format!("{}/{rel}", display.trim_end_matches('/'))
    }
}

fn display_of(sig_display: &str, model: &Path, signature: &Path) -> String {
    // The model's display path: the signature's, with the signature's own name taken off.
    let parent = sig_display.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    if signature.file_name().and_then(|n| n.to_str()) == Some(signing::SIGNATURE_NAME) {
        if parent.is_empty() {
            ".".into()
        } else {
            parent.into()
        }
    } else {
        join(
            parent,
            &model
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    }
}

/// The directory above `p`, as a user would write it (`a/b` → `a`, `b` → `.`, `.` → `..`).
fn up(p: &Path) -> PathBuf {
    if p == Path::new(".") {
        return PathBuf::from("..");
    }
    if p.file_name().is_none() {
        return p.join("..");
    }
    match p.parent() {
        Some(s) if !s.as_os_str().is_empty() => s.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether a `NAME.sig` file is meant as an OMS bundle: JSON, as opposed to the binary or
/// armored OpenPGP signatures that also go by `.sig`. `model.sig` always counts.
fn looks_like_bundle(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The signatures to verify: signature files among the targets; `PATH.sig` beside each PATH
/// named on the command line; and the `model.sig` of the nearest directory above a PATH (up
/// to the scan root, canonical), so that naming one file of a signed model verifies that
/// model. Nothing is verified here.
pub fn signatures(paths: &[PathBuf], targets: &[Target], root: &Path) -> Vec<Signed> {
    let mut out = BTreeSet::new();
    for t in targets {
        let Some(name) = t.path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.ends_with(".sig") || (name != signing::SIGNATURE_NAME && !looks_like_bundle(&t.path)) {
            continue;
        }
        if let Some(model) = signing::model_of(&t.path) {
            out.insert(Signed {
                model_display: display_of(&t.display, &model, &t.path),
                model,
                signature: t.path.clone(),
                signature_display: t.display.clone(),
            });
        }
    }
    for p in paths {
        if let Some(sig) = signing::find_signature(p) {
            let shown = p.to_string_lossy().trim_end_matches('/').to_string();
            let shown = shown.strip_prefix("./").unwrap_or(&shown).to_string();
            let sig_display = if sig.starts_with(p) && p.is_dir() {
                join(&shown, signing::SIGNATURE_NAME)
            } else {
                format!("{shown}.sig")
            };
            out.insert(Signed {
                model: p.clone(),
                model_display: if shown.is_empty() { ".".into() } else { shown },
                signature: sig,
                signature_display: sig_display,
            });
            continue;
        }
        let Ok(real) = p.canonicalize() else { continue };
        let mut shown = p.clone();
        for dir in real.ancestors().skip(1) {
            if !dir.starts_with(root) {
                break;
            }
            shown = up(&shown);
            let sig = dir.join(signing::SIGNATURE_NAME);
            if sig.is_file() {
                let d = shown.to_string_lossy().into_owned();
                out.insert(Signed {
                    model: dir.to_path_buf(),
                    model_display: d.clone(),
                    signature: sig,
                    signature_display: join(&d, signing::SIGNATURE_NAME),
                });
                break;
            }
        }
    }
    // The same model reached twice (its directory named, and the walk found its model.sig).
    let mut seen = BTreeSet::new();
    out.into_iter()
        .filter(|s| seen.insert(s.signature.canonicalize().unwrap_or_else(|_| s.signature.clone())))
        .collect()
}

/// The rule a problem is reported under.
pub fn rule(kind: ProblemKind) -> Rule {
    match kind {
        ProblemKind::Malformed => Rule::SignatureMalformed,
        ProblemKind::BadSignature => Rule::SignatureInvalid,
        ProblemKind::Untrusted => Rule::SignatureUntrusted,
        ProblemKind::CertificateExpired | ProblemKind::CertificateNotYetValid => Rule::SignatureCertificateExpired,
        ProblemKind::Modified => Rule::SignedFileModified,
        ProblemKind::Missing => Rule::SignedFileMissing,
        ProblemKind::Unlisted => Rule::SignedFileUnlisted,
        ProblemKind::Unsupported => Rule::SignatureUnsupported,
        ProblemKind::Unreadable => Rule::UnreadableFile,
    }
}

fn finding(s: &Signed, p: &Problem) -> Finding {
    let path = match &p.file {
        // A single-file model: its one file is the model itself.
        Some(_) if !s.model.is_dir() => s.model_display.clone(),
        Some(rel) => join(&s.model_display, rel),
        None => s.signature_display.clone(),
    };
    let mut loc = Location {
        key_path: p.pointer.clone().filter(|k| !k.is_empty()),
        ..Location::default()
    };
    if let Some((start, end)) = p.range {
        loc.byte_offset = Some(start);
        loc.byte_length = Some(end - start);
    }
    let message = match &p.file {
        Some(rel) if s.model.is_dir() => format!("`{rel}` {} (signature {})", p.message, s.signature_display),
        Some(_) => format!("{} (signature {})", p.message, s.signature_display),
        None => format!("model `{}`: {}", s.model_display, p.message),
    };
    let key = format!(
        "signature:{:?}:{}",
        p.kind,
        p.range.map(|r| r.0.to_string()).unwrap_or_default()
    );
    let f = Finding::new(rule(p.kind), &path, loc, message).key(key);
    match &p.evidence {
        Some(e) => f.evidence(e.clone()),
        None => f,
    }
}

/// The findings one signature's status makes: `MOD610` for a verified model, one `MOD60x` per
/// problem otherwise, none for `Unsigned`.
pub fn findings_of(s: &Signed, status: &SignatureStatus) -> Vec<Finding> {
    match status {
        SignatureStatus::Verified(v) => vec![Finding::new(
            Rule::SignatureVerified,
            &s.signature_display,
            Location::default(),
            format!(
                "model `{}` verified: {} file{} the {} signature of {}",
                s.model_display,
                v.files,
                if v.files == 1 { " matches" } else { "s match" },
                v.method,
                v.signer
            ),
        )
        .evidence(format!("sha256:{}", v.subject_sha256))
        .key("signature:verified")],
        SignatureStatus::Unsupported { problem, .. } => vec![finding(s, problem)],
        SignatureStatus::Failed { problems, .. } => problems.iter().map(|p| finding(s, p)).collect(),
        SignatureStatus::Unsigned => Vec::new(),
    }
}

/// Verify every signature, report uncovered model files, and fold the findings into the
/// outcomes of the files they concern (so their verdicts count them); the rest are returned,
/// with every signed model's status.
pub fn check(
    plan: &SigningPlan<'_>,
    paths: &[PathBuf],
    targets: &[Target],
    outcomes: &mut [FileOutcome],
    root: &Path,
) -> Checked {
    let mut findings = Vec::new();
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let signed = signatures(paths, targets, &root);
    let mut covered: Vec<PathBuf> = Vec::new();
    for s in &signed {
        covered.push(s.model.canonicalize().unwrap_or_else(|_| s.model.clone()));
        covered.push(s.signature.canonicalize().unwrap_or_else(|_| s.signature.clone()));
    }
    // Models in parallel, and each model's files in parallel, on one pool of `--jobs` threads.
    let one = |s: &Signed| signing::verify_in_pool(&s.model, &s.signature, plan.trust, plan.jobs != Some(1));
    let statuses: Vec<SignatureStatus> = match plan.jobs {
        Some(1) => signed.iter().map(one).collect(),
        jobs => match rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build() {
            Ok(pool) => pool.install(|| signed.par_iter().map(one).collect()),
            Err(_) => signed.iter().map(one).collect(),
        },
    };
    for (s, status) in signed.iter().zip(&statuses) {
        findings.extend(findings_of(s, status));
    }
    // Model files (and required files) that no signature covers.
    let formats: BTreeMap<&str, &str> = outcomes
        .iter()
        .map(|o| (o.artifact.path.as_str(), o.artifact.format.as_str()))
        .collect();
    for t in targets {
        let real = t.path.canonicalize().unwrap_or_else(|_| t.path.clone());
        if covered.iter().any(|c| real.starts_with(c)) {
            continue;
        }
        let format = formats.get(t.display.as_str()).copied().unwrap_or("not-a-model");
        let model = !matches!(format, "not-a-model" | "json" | "unreadable" | "unknown");
        let rel = super::super::relative_to(&t.path, &root).unwrap_or_else(|| t.display.clone());
        let required = plan.require.is_some_and(|g| g.is_match(&rel));
        if model || required {
            let why = if model {
                format!("a {format} model file")
            } else {
                "a file that `[signing] require` lists".to_string()
            };
            findings.push(
                Finding::new(
                    Rule::ModelUnsigned,
                    &t.display,
                    Location::default(),
                    format!("{why} that no OMS signature covers (no `model.sig` in its model directory, no `NAME.sig` beside it)"),
                )
                .key("signature:unsigned"),
            );
        }
    }
    // Fold into the outcomes of the files concerned.
    let index: BTreeMap<String, usize> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| (o.artifact.path.clone(), i))
        .collect();
    let mut rest = Vec::new();
    for f in findings {
        match index.get(&f.path) {
            Some(&i) => {
                let o = &mut outcomes[i];
                o.findings.push(f);
                if o.artifact.verdict != Verdict::Error {
                    o.artifact.verdict =
                        Verdict::from_findings(&o.findings, o.artifact.verdict != Verdict::NotAModel, false);
                }
            }
            None => rest.push(f),
        }
    }
    Checked {
        findings: rest,
        models: signed.into_iter().zip(statuses).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_walks_towards_the_root() {
        assert_eq!(up(Path::new("a/b")), PathBuf::from("a"));
        assert_eq!(up(Path::new("b")), PathBuf::from("."));
        assert_eq!(up(Path::new(".")), PathBuf::from(".."));
        assert_eq!(up(Path::new("..")), PathBuf::from("../.."));
        assert_eq!(join(".", "x"), "x");
        assert_eq!(join("m/", "x"), "m/x");
    }
}
