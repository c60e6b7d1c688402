//! OpenSSF Model Signing (OMS v1.0) verification: is this model exactly what a trusted signer
//! signed? The bundle is parsed by `crate::model::oms`; this module checks the signature
//! against the keys and certificate chains the user trusts, then recomputes every digest of
//! the model directory and compares it with the signed manifest.
//!
//! It produces a typed [`SignatureStatus`] and no findings, so that `scan-model` (which turns
//! statuses into `MOD6xx` findings) and `aibom` (which records the status and signer of each
//! model) share it:
//!
//! ```no_run
//! use llmguard::signing::{verify_model_dir, SignatureStatus, Trust};
//! let trust = Trust::load(&["signing/team.pub".into()], &[]).unwrap();
//! match verify_model_dir("models/bert".as_ref(), &trust, None) {
//!     SignatureStatus::Verified(v) => println!("signed by {}", v.signer),
//!     other => println!("not verified: {}", other.label()),
//! }
//! ```
//!
//! Where the signature lives: `model.sig` inside the model directory, or `NAME.sig` beside the
//! directory or file `NAME` (see [`find_signature`]).

pub mod manifest;
pub mod pki;

use crate::model::oms::{self, Material};
use crate::rules::signing::SigningPolicy;
use pki::{Cert, ChainError, PublicKey};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The file name `model_signing sign` writes by default.
pub const SIGNATURE_NAME: &str = "model.sig";

/// A public key the user trusts (key method).
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The file it was read from, as the user named it.
    pub source: String,
    pub key: PublicKey,
    /// Hex SHA-256 of its PEM (the bundle's `publicKey.hint`).
    pub hint: String,
}

/// What the user trusts: public keys (key method) and certificates (certificate method).
/// Self-signed certificates are roots; the others are intermediates offered for path building.
#[derive(Debug, Clone)]
pub struct Trust {
    pub keys: Vec<TrustedKey>,
    pub roots: Vec<Cert>,
    pub intermediates: Vec<Cert>,
    /// Seconds since the Unix epoch at which certificates must be valid (the time of
    /// [`Trust::load`]).
    pub now: u64,
    /// The verification parameters of `rules/model/signing.yaml`.
    pub policy: SigningPolicy,
}

impl Trust {
    /// Read PEM public keys and PEM certificate files. A file that is not what it should be
    /// is an error of the run (exit 2), not a finding: the trust configuration is the user's.
    pub fn load(public_keys: &[PathBuf], certificate_chains: &[PathBuf]) -> anyhow::Result<Trust> {
        let mut t = Trust {
            keys: Vec::new(),
            roots: Vec::new(),
            intermediates: Vec::new(),
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            policy: SigningPolicy::builtin()?,
        };
        for p in public_keys {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read public key {}: {e}", p.display()))?;
            let key = PublicKey::from_pem(&text).map_err(|e| anyhow::anyhow!("public key {}: {e}", p.display()))?;
            let hint = key.hint().ok_or_else(|| {
                anyhow::anyhow!(
                    "public key {}: OMS key signatures are ECDSA (P-256, P-384, P-521); this is {}",
                    p.display(),
                    key.describe()
                )
            })?;
            t.keys.push(TrustedKey {
                source: p.display().to_string(),
                key,
                hint,
            });
        }
        for p in certificate_chains {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("cannot read certificate chain {}: {e}", p.display()))?;
            for c in
                Cert::from_pem_file(&text).map_err(|e| anyhow::anyhow!("certificate chain {}: {e}", p.display()))?
            {
                if c.self_issued() {
                    t.roots.push(c);
                } else {
                    t.intermediates.push(c);
                }
            }
        }
        Ok(t)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.roots.is_empty() && self.intermediates.is_empty()
    }
}

/// What is wrong, in the terms findings are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// The bundle or its payload is not a well-formed OMS signature.
    Malformed,
    /// The signature does not verify with the key the bundle names.
    BadSignature,
    /// Signed by a key, or a chain, the user does not trust.
    Untrusted,
    /// A certificate of the chain has expired.
    CertificateExpired,
    /// A certificate of the chain is not valid yet.
    CertificateNotYetValid,
    /// A file's bytes differ from the signed digest.
    Modified,
    /// A signed file is gone.
    Missing,
    /// A file of the model is not in the manifest.
    Unlisted,
    /// A method, predicate or hash llmguard cannot verify.
    Unsupported,
    /// The signature or a file could not be read.
    Unreadable,
}

/// One reason a model did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The model file concerned (relative to the model directory, `/`-separated), or `None`
    /// when the problem is the signature file itself.
    pub file: Option<String>,
    /// A JSON pointer into the bundle (for malformed bundles).
    pub pointer: Option<String>,
    /// The shard that differs (shards method).
    pub range: Option<(u64, u64)>,
    pub message: String,
    /// What was compared, e.g. `signed sha256:… now sha256:…`.
    pub evidence: Option<String>,
}

impl Problem {
    pub fn new(kind: ProblemKind, file: Option<String>, message: String) -> Problem {
        Problem {
            kind,
            file,
            pointer: None,
            range: None,
            message,
            evidence: None,
        }
    }

    fn bundle(kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem::new(kind, None, message.into())
    }
}

/// A model whose signature verified and whose files all match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `key`, `certificate`.
    pub method: &'static str,
    /// Who signed: `key <file> (ECDSA P-256, sha256:<fingerprint>)` or the certificate subject.
    pub signer: String,
    /// The signature file.
    pub signature: PathBuf,
    /// Files (or, for a single-file model, the file) covered.
    pub files: usize,
    /// The manifest's root digest (`subject[0].digest.sha256`), hex.
    pub subject_sha256: String,
}

/// The signature status of one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureStatus {
    Verified(Verified),
    /// No signature file where one is looked for.
    Unsigned,
    /// The signature or the files do not hold; `signer` is set when the signature itself
    /// verified and the files did not match it.
    Failed {
        signature: PathBuf,
        signer: Option<String>,
        problems: Vec<Problem>,
    },
    /// A signature llmguard cannot check (Sigstore keyless, the 0.2 format, a hash other than
    /// sha256): never a pass.
    Unsupported {
        signature: PathBuf,
        problem: Problem,
    },
}

impl SignatureStatus {
    /// One word for reports and AI-BOM properties: `verified`, `unsigned`, `failed`,
    /// `unsupported`.
    pub fn label(&self) -> &'static str {
        match self {
            SignatureStatus::Verified(_) => "verified",
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::Failed { .. } => "failed",
            SignatureStatus::Unsupported { .. } => "unsupported",
        }
    }

    /// The signer, when the signature itself verified.
    pub fn signer(&self) -> Option<&str> {
        match self {
            SignatureStatus::Verified(v) => Some(&v.signer),
            SignatureStatus::Failed { signer, .. } => signer.as_deref(),
            _ => None,
        }
    }
}

/// The signature of the model at `model`: `model/model.sig` for a directory, else
/// `NAME.sig` beside `NAME` (a directory or a single-file model).
pub fn find_signature(model: &Path) -> Option<PathBuf> {
    if model.is_dir() {
        let inside = model.join(SIGNATURE_NAME);
        if inside.is_file() {
            return Some(inside);
        }
    }
    let name = model.file_name()?;
    let mut beside = name.to_os_string();
    beside.push(".sig");
    let beside = model.with_file_name(beside);
    beside.is_file().then_some(beside)
}

/// The model a signature file signs, by the naming convention of [`find_signature`]: the
/// directory holding a `model.sig`, else the sibling `NAME` of `NAME.sig`.
pub fn model_of(signature: &Path) -> Option<PathBuf> {
    let name = signature.file_name()?.to_str()?;
    if name == SIGNATURE_NAME {
        return signature.parent().map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        });
    }
    let stem = name.strip_suffix(".sig")?;
    let model = signature.with_file_name(stem);
    (!matches!(stem, "" | "." | "..") && model.exists()).then_some(model)
}

/// Find and verify the signature of the model at `dir` (a directory or a single file).
/// `jobs`: hashing threads (`None`: one per CPU).
pub fn verify_model_dir(dir: &Path, trust: &Trust, jobs: Option<usize>) -> SignatureStatus {
    match find_signature(dir) {
        Some(sig) => verify(dir, &sig, trust, jobs),
        None => SignatureStatus::Unsigned,
    }
}

/// Verify the model at `model` against the bundle at `signature`.
pub fn verify(model: &Path, signature: &Path, trust: &Trust, jobs: Option<usize>) -> SignatureStatus {
    if jobs == Some(1) {
        return verify_in_pool(model, signature, trust, false);
    }
    match rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build() {
        Ok(pool) => pool.install(|| verify_in_pool(model, signature, trust, true)),
        Err(_) => verify_in_pool(model, signature, trust, false),
    }
}

/// [`verify`] on the current rayon pool (`parallel`) or on this thread alone.
pub fn verify_in_pool(model: &Path, signature: &Path, trust: &Trust, parallel: bool) -> SignatureStatus {
    let failed = |signer: Option<String>, problems: Vec<Problem>| SignatureStatus::Failed {
        signature: signature.to_path_buf(),
        signer,
        problems,
    };
    let bytes = match read_bounded(signature) {
        Ok(b) => b,
        Err(e) => {
            return failed(
                None,
                vec![Problem::bundle(
                    ProblemKind::Unreadable,
                    format!("cannot read the signature: {e}"),
                )],
            )
        }
    };
    let oms_error = |e: oms::OmsError| {
        let mut p = Problem::bundle(
            if e.unsupported {
                ProblemKind::Unsupported
            } else {
                ProblemKind::Malformed
            },
            e.message,
        );
        p.pointer = Some(e.pointer);
        p
    };
    let bundle = match oms::parse_bundle(&bytes) {
        Ok(b) => b,
        Err(e) => return failed(None, vec![oms_error(e)]),
    };
    let pae = oms::pae(&bundle.payload_type, &bundle.payload);
    let sig = &bundle.signatures[0];
    let (method, signer) = match &bundle.material {
        Material::Keyless { .. } => {
            return SignatureStatus::Unsupported {
                signature: signature.to_path_buf(),
                problem: Problem::bundle(
                    ProblemKind::Unsupported,
                    "a Sigstore keyless signature: verifying it needs the transparency-log proof checked against Sigstore's trusted root, which llmguard does not do; it cannot vouch for this model",
                ),
            }
        }
        Material::PublicKey { hint, raw } => match check_key(trust, hint.as_deref(), raw.as_deref(), &pae, sig) {
            Ok(s) => ("key", s),
            Err(p) => return failed(None, vec![*p]),
        },
        Material::CertificateChain(certs) => match check_chain(trust, certs, &pae, sig) {
            Ok(s) => ("certificate", s),
            Err(p) => return failed(None, vec![*p]),
        },
    };
    // Only now is the payload authentic; parse and trust it.
    let statement = match oms::parse_statement(&bundle.payload) {
        Ok(s) => s,
        Err(e) if e.unsupported => {
            return SignatureStatus::Unsupported {
                signature: signature.to_path_buf(),
                problem: oms_error(e),
            }
        }
        Err(e) => return failed(Some(signer), vec![oms_error(e)]),
    };
    let mut root = Sha256::new();
    for r in &statement.resources {
        root.update(&r.digest);
    }
    if root.finalize().as_slice() != statement.subject_sha256.as_slice() {
        let mut p = Problem::bundle(
            ProblemKind::Malformed,
            "the subject's root digest is not the SHA-256 of the listed resource digests: the manifest is inconsistent",
        );
        p.pointer = Some("/dsseEnvelope/payload/subject/0/digest/sha256".into());
        return failed(Some(signer), vec![p]);
    }
    if statement.serialization.hash_type != "sha256" {
        let mut p = Problem::bundle(
            ProblemKind::Unsupported,
            format!(
                "files hashed with `{}`; llmguard recomputes sha256 only",
                statement.serialization.hash_type
            ),
        );
        p.pointer = Some("/dsseEnvelope/payload/predicate/serialization/hash_type".into());
        return SignatureStatus::Unsupported {
            signature: signature.to_path_buf(),
            problem: p,
        };
    }
    let single = !model.is_dir();
    let mut ignores: Vec<String> = trust.policy.default_ignores.clone();
    ignores.extend(statement.serialization.ignore_paths.iter().cloned());
    if let Ok(rel) = signature.strip_prefix(model) {
        ignores.push(rel.to_string_lossy().replace('\\', "/"));
    }
    let (files, mut problems) = manifest::compare(model, single, &statement, &ignores, parallel);
    if problems.is_empty() {
        return SignatureStatus::Verified(Verified {
            method,
            signer,
            signature: signature.to_path_buf(),
            files,
            subject_sha256: crate::digest::hex(&statement.subject_sha256),
        });
    }
    problems.sort_by(|a, b| (&a.file, a.range, a.kind).cmp(&(&b.file, b.range, b.kind)));
    failed(Some(signer), problems)
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(oms::MAX_BUNDLE + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// The key method: the hint picks the trusted key; the signature must verify with it.
fn check_key(
    trust: &Trust,
    hint: Option<&str>,
    raw: Option<&[u8]>,
    pae: &[u8],
    sig: &[u8],
) -> Result<String, Box<Problem>> {
    let signer = |k: &TrustedKey| format!("key {} ({}, sha256:{})", k.source, k.key.describe(), k.hint);
    let bundled = raw
        .and_then(|r| PublicKey::from_spki_der(r).ok())
        .and_then(|k| k.hint());
    let named = hint.map(str::to_string).or(bundled);
    let candidates: Vec<&TrustedKey> = match &named {
        Some(h) => trust.keys.iter().filter(|k| &k.hint == h).collect(),
        // No way to tell which key signed: try them all (what the tool does with one key).
        None => trust.keys.iter().collect(),
    };
    if candidates.is_empty() {
        let who = named
            .map(|h| format!("key sha256:{h}"))
            .unwrap_or_else(|| "an unnamed key".into());
        return Err(Box::new(Problem::bundle(
            ProblemKind::Untrusted,
            if trust.keys.is_empty() {
                format!("signed with {who}, but no public key is trusted (--public-key or [signing] public_keys)")
            } else {
                format!(
                    "signed with {who}, which is not one of the {} trusted public keys",
                    trust.keys.len()
                )
            },
        )));
    }
    for k in &candidates {
        if k.key.verify_dsse(pae, sig) {
            return Ok(signer(k));
        }
    }
    Err(Box::new(Problem::bundle(
        ProblemKind::BadSignature,
        format!(
            "the DSSE signature does not verify with {}: the payload or the signature was altered",
            candidates.iter().map(|k| signer(k)).collect::<Vec<_>>().join(", ")
        ),
    )))
}

/// The certificate method: the chain must lead to a trusted root; the leaf key must verify.
fn check_chain(trust: &Trust, certs: &[Vec<u8>], pae: &[u8], sig: &[u8]) -> Result<String, Box<Problem>> {
    let mut parsed = Vec::with_capacity(certs.len());
    for (i, der) in certs.iter().enumerate() {
        match Cert::from_der(der) {
            Ok(c) => parsed.push(c),
            Err(e) => {
                let mut p = Problem::bundle(ProblemKind::Malformed, format!("certificate {i} of the chain: {e}"));
                p.pointer = Some(format!(
                    "/verificationMaterial/x509CertificateChain/certificates/{i}/rawBytes"
                ));
                return Err(Box::new(p));
            }
        }
    }
    let (leaf, rest) = parsed
        .split_first()
        .ok_or_else(|| Box::new(Problem::bundle(ProblemKind::Malformed, "empty certificate chain")))?;
    let mut pool: Vec<Cert> = rest.to_vec();
    pool.extend(trust.intermediates.iter().cloned());
    let anchors = pki::Anchors {
        roots: &trust.roots,
        now: trust.now,
        policy: &trust.policy,
    };
    let path = pki::validate(leaf, &pool, anchors).map_err(|e| {
        Box::new(match e {
            ChainError::Untrusted(m) => Problem::bundle(ProblemKind::Untrusted, m),
            ChainError::Expired(m) => Problem::bundle(ProblemKind::CertificateExpired, m),
            ChainError::NotYetValid(m) => Problem::bundle(ProblemKind::CertificateNotYetValid, m),
        })
    })?;
    let root = path.last().map(|c| c.subject.clone()).unwrap_or_default();
    let key = leaf.key().map_err(|e| {
        Box::new(Problem::bundle(
            ProblemKind::Unsupported,
            format!("signing certificate key: {e}"),
        ))
    })?;
    if !key.verify_dsse(pae, sig) {
        return Err(Box::new(Problem::bundle(
            ProblemKind::BadSignature,
            format!(
                "the DSSE signature does not verify with the key of certificate `{}`: the payload or the signature was altered",
                leaf.subject
            ),
        )));
    }
    Ok(format!("certificate `{}` (chain to `{root}`)", leaf.subject))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_named_by_convention() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("bert")).unwrap();
        std::fs::write(d.join("bert/model.sig"), "{}").unwrap();
        std::fs::write(d.join("w.bin"), "x").unwrap();
        std::fs::write(d.join("w.bin.sig"), "{}").unwrap();
        std::fs::write(d.join("..sig"), "{}").unwrap();
        std::fs::write(d.join("orphan.sig"), "{}").unwrap();
        assert_eq!(find_signature(&d.join("bert")), Some(d.join("bert/model.sig")));
        assert_eq!(find_signature(&d.join("w.bin")), Some(d.join("w.bin.sig")));
        assert_eq!(find_signature(d), None);
        assert_eq!(model_of(&d.join("bert/model.sig")), Some(d.join("bert")));
        assert_eq!(model_of(&d.join("w.bin.sig")), Some(d.join("w.bin")));
        assert_eq!(model_of(&d.join("..sig")), None);
        assert_eq!(model_of(&d.join("orphan.sig")), None);
        assert_eq!(model_of(Path::new("model.sig")), Some(PathBuf::from(".")));
    }

    #[test]
    fn oversized_and_empty_bundles_are_malformed() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m");
        std::fs::create_dir(&model).unwrap();
        std::fs::write(model.join("w.bin"), "x").unwrap();
        let sig = model.join(SIGNATURE_NAME);
        let trust = Trust::load(&[], &[]).unwrap();
        // A sparse file past the 64 MiB bound: read up to the bound, then refused.
        std::fs::File::create(&sig)
            .unwrap()
            .set_len(oms::MAX_BUNDLE + 10)
            .unwrap();
        let SignatureStatus::Failed { problems, .. } = verify(&model, &sig, &trust, Some(1)) else {
            panic!("not a failure")
        };
        assert_eq!(problems[0].kind, ProblemKind::Malformed);
        assert!(problems[0].message.contains("larger than"), "{}", problems[0].message);
        std::fs::write(&sig, "").unwrap();
        let SignatureStatus::Failed { problems, .. } = verify(&model, &sig, &trust, Some(1)) else {
            panic!("not a failure")
        };
        assert_eq!(problems[0].kind, ProblemKind::Malformed);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("weights.bin");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: no mkfifo");
            return;
        }
        let err = manifest::tests_hash(&fifo).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
