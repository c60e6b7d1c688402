//! `aibom`: an AI bill of materials in CycloneDX (1.6, or 1.5 on request).
//!
//! The inventory comes from content (the walker and `scan-model`'s format detection and header
//! parsers), the datasets from lineage metadata, and with `--scan` the findings of the run
//! become the document's `vulnerabilities`. The document is a typed value (`cdx::Bom`) rendered
//! by `render` here, next to the report renderers; the run's findings (gaps in the inventory,
//! `BOM0xx`) go through the one `Report` like every other subcommand's.
//!
//! Why not the `cyclonedx-bom` crate: its 0.8 series models specification 1.5 at most, and
//! leaves a model card's `considerations` empty, so it cannot carry what this document needs.

pub mod card;
pub mod cdx;
pub mod checks;
pub mod dataset;
pub mod document;
pub mod inventory;

use std::io::Write;

/// What the AI-BOM says of a model's OMS signature. With verification on (a trusted key or
/// chain, `--verify-signature` or a `[signing]` section), `crate::signing`'s status; without,
/// only whether a signature file covers the model. Ordered from best to worst, so a model whose
/// files several signatures cover takes the worst of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SignatureState {
    /// The signature verified with a trusted key or certificate, and every file matches it.
    Verified,
    /// A signature file covers the model, but no trust was configured, so nothing about it was
    /// checked: it vouches for nothing.
    SignedUnverified,
    /// No signature covers the model (or not all of its files).
    Unsigned,
    /// A signature llmguard cannot verify (Sigstore keyless, another format or hash).
    Unsupported,
    /// The signature, its trust, or the files do not hold.
    Failed,
}

impl SignatureState {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureState::Verified => "verified",
            SignatureState::SignedUnverified => "signed-unverified",
            SignatureState::Unsigned => "unsigned",
            SignatureState::Unsupported => "unsupported",
            SignatureState::Failed => "failed",
        }
    }
}

/// One signature file covering a model, and what verifying it said.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignatureFile {
    pub state: SignatureState,
    /// Relative to the scan root, `/`-separated.
    pub rel: String,
    /// As the run shows paths (findings about the signature carry it).
    pub display: String,
    /// The signed model (a directory, or a single-file model) as the run shows it.
    pub model_display: String,
    pub model_is_dir: bool,
    /// SHA-256 of the signature file (not with `--no-hash`).
    pub sha256: Option<String>,
    /// Who signed (the key file and fingerprint, or the certificate subject), when the
    /// signature itself verified.
    pub signer: Option<String>,
    /// `key` or `certificate`, when verified.
    pub method: Option<&'static str>,
    /// Why it did not verify: each problem as scan-model reports it (`MOD605
    /// signed-file-modified: …`).
    pub problems: Vec<String>,
}

impl SignatureFile {
    /// `status` is `None` when verification did not run; `root` is the scan root.
    pub fn new(
        signed: &crate::scan::model::signatures::Signed,
        status: Option<&crate::signing::SignatureStatus>,
        root: &std::path::Path,
    ) -> Self {
        use crate::signing::SignatureStatus as S;
        let (state, method) = match status {
            None => (SignatureState::SignedUnverified, None),
            Some(S::Verified(v)) => (SignatureState::Verified, Some(v.method)),
            // Never produced for a signature file; kept faithful all the same.
            Some(S::Unsigned) => (SignatureState::Unsigned, None),
            Some(S::Failed { .. }) => (SignatureState::Failed, None),
            Some(S::Unsupported { .. }) => (SignatureState::Unsupported, None),
        };
        let problems = status
            .map(|st| crate::scan::model::signatures::findings_of(signed, st))
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f.rule != crate::rules::Rule::SignatureVerified)
            .map(|f| format!("{} {}: {}", f.rule.id(), f.rule.name(), f.message))
            .collect();
        SignatureFile {
            state,
            rel: crate::scan::relative_to(&signed.signature, root)
                .unwrap_or_else(|| signed.signature_display.replace('\\', "/")),
            display: signed.signature_display.clone(),
            model_display: signed.model_display.clone(),
            model_is_dir: signed.model.is_dir(),
            sha256: None,
            signer: status.and_then(|st| st.signer()).map(str::to_string),
            method,
            problems,
        }
    }
}

/// A model component's signature: rendered as `llmguard:signature:*` properties and, per
/// signature file, a `digital-signature` external reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub status: SignatureState,
    /// The signatures covering the model's files (none when unsigned).
    pub files: Vec<SignatureFile>,
}

impl Signature {
    pub const UNSIGNED: Signature = Signature {
        status: SignatureState::Unsigned,
        files: Vec::new(),
    };

    /// The signature of a model whose weight files are covered by `per_file` (one entry per
    /// weight file: the signature covering it, if any).
    pub fn of(per_file: &[Option<&SignatureFile>]) -> Signature {
        let mut files: Vec<SignatureFile> = per_file.iter().flatten().map(|f| (*f).clone()).collect();
        files.sort();
        files.dedup();
        let status = per_file
            .iter()
            .map(|f| f.map_or(SignatureState::Unsigned, |f| f.state))
            .max()
            .unwrap_or(SignatureState::Unsigned);
        Signature { status, files }
    }
}

/// The directory an AI-BOM's paths and `bom-ref`s are relative to: the git work tree that
/// holds the first path, as for every subcommand; outside one, the directory scanned (the one
/// path given, or the directory of a file), not the current directory, so `aibom .` inside a
/// directory, `aibom dir` beside it and `aibom /abs/dir` from anywhere give the same document.
pub fn scan_root(paths: &[std::path::PathBuf]) -> std::path::PathBuf {
    let first = paths.first().map(std::path::PathBuf::as_path);
    let root = crate::walk::scan_root(first);
    // Several paths outside a work tree: the current directory, which may hold them all.
    if root.join(".git").exists() || paths.len() != 1 {
        return root;
    }
    let Some(abs) = first.and_then(|p| std::path::absolute(p).ok()) else {
        return root;
    };
    let abs = abs.canonicalize().unwrap_or(abs);
    if abs.is_dir() {
        abs
    } else {
        abs.parent().map_or(root, std::path::Path::to_path_buf)
    }
}

/// Give the document its serial number: a name-based (version 5) UUID of the document's own
/// bytes without one, so the same tree gives the same serial number and any change a new one.
pub fn seal(mut bom: cdx::Bom) -> cdx::Bom {
    bom.serial_number = String::new();
    let bytes = serde_json::to_vec(&bom).unwrap_or_default();
    let namespace = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        b"https://github.com/llmguard/llmguard#aibom",
    );
    bom.serial_number = format!("urn:uuid:{}", uuid::Uuid::new_v5(&namespace, &bytes));
    bom
}

/// Write the document as pretty JSON with a final newline.
pub fn render(bom: &cdx::Bom, out: &mut dyn Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, bom)?;
    writeln!(out)?;
    out.flush()
}

/// RFC 3339 UTC time of `secs` since the Unix epoch (days to civil date after H. Hinnant).
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The document's timestamp: `SOURCE_DATE_EPOCH` when set (reproducible builds), else the
/// current time when `--timestamp` asks for one, else none.
pub fn timestamp(asked: bool, source_date_epoch: Option<&str>) -> Result<Option<String>, String> {
    if let Some(v) = source_date_epoch {
        let secs: u64 = v
            .trim()
            .parse()
            .map_err(|_| format!("SOURCE_DATE_EPOCH `{v}` is not a whole number of seconds"))?;
        return Ok(Some(rfc3339(secs)));
    }
    if asked {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return Ok(Some(rfc3339(now)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(timestamp(false, None), Ok(None));
        assert_eq!(timestamp(true, Some("86400")), Ok(Some("1970-01-02T00:00:00Z".into())));
        assert!(timestamp(false, Some("yesterday")).is_err());
        assert!(timestamp(true, None).unwrap().unwrap().ends_with('Z'));
    }

    #[test]
    fn a_model_takes_the_worst_signature_of_its_files() {
        let file = |state, rel: &str| SignatureFile {
            state,
            rel: rel.into(),
            display: rel.into(),
            model_display: "m".into(),
            model_is_dir: true,
            sha256: None,
            signer: None,
            method: None,
            problems: Vec::new(),
        };
        let ok = file(SignatureState::Verified, "m/model.sig");
        let bad = file(SignatureState::Failed, "m/a.bin.sig");
        let seen = file(SignatureState::SignedUnverified, "m/b.bin.sig");
        // Every file under one verified signature: verified, listed once.
        let s = Signature::of(&[Some(&ok), Some(&ok)]);
        assert_eq!((s.status, s.files.len()), (SignatureState::Verified, 1));
        // A file no signature covers makes the model unsigned, however good the rest.
        assert_eq!(Signature::of(&[Some(&ok), None]).status, SignatureState::Unsigned);
        assert_eq!(
            Signature::of(&[Some(&ok), Some(&seen)]).status,
            SignatureState::SignedUnverified
        );
        // A failure outweighs everything, and every signature is listed.
        let s = Signature::of(&[Some(&ok), Some(&bad), None]);
        assert_eq!((s.status, s.files.len()), (SignatureState::Failed, 2));
        assert_eq!(Signature::of(&[None]), Signature::UNSIGNED);
        assert_eq!(SignatureState::SignedUnverified.as_str(), "signed-unverified");
    }

    #[test]
    fn serial_follows_content() {
        let b = cdx::Bom {
            schema: cdx::SpecVersion::V1_6.schema_uri(),
            bom_format: "CycloneDX",
            spec_version: "1.6",
            serial_number: String::new(),
            version: 1,
            metadata: cdx::Metadata::default(),
            components: Vec::new(),
            dependencies: Vec::new(),
            vulnerabilities: Vec::new(),
            properties: Vec::new(),
        };
        let a = seal(b.clone());
        assert_eq!(a.serial_number, seal(b.clone()).serial_number);
        assert!(checks::self_check(&a).iter().all(|p| !p.contains("serial")));
        let mut c = b;
        c.metadata.component.name = "other".into();
        assert_ne!(a.serial_number, seal(c).serial_number);
    }
}
