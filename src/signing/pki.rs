//! Keys and certificates for OMS verification, RustCrypto only: ECDSA P-256/P-384/P-521 public
//! keys (what `model-signing` signs with), RSA PKCS#1 v1.5 for certificate-chain signatures,
//! and X.509 path validation from a signing certificate up to a root the user trusts.
//!
//! Path validation is the RFC 5280 basic subset a code-signing verifier needs: issuer/subject
//! chaining with signatures checked, every certificate of the path inside its validity period
//! (the leaf too: OMS v1.0 §8.2), issuers that are CAs (`basicConstraints`), allowed to sign
//! certificates (`keyUsage`) within their `pathLenConstraint`, and no critical extension this
//! code does not understand (so name constraints fail closed). The leaf must be meant for
//! signing: `keyUsage` with `digitalSignature` when present, `extendedKeyUsage` with
//! `codeSigning` (or any) when present, and at least one of the two. The lists (accepted
//! extended key usages and critical extensions) are data: `rules/model/signing.yaml`.

use crate::rules::signing::SigningPolicy;
use base64::Engine as _;
use der::{Decode, Encode};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::signature::Verifier;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::Certificate;

const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const CURVE_P256: &str = "1.2.840.10045.3.1.7";
const CURVE_P384: &str = "1.3.132.0.34";
const CURVE_P521: &str = "1.3.132.0.35";

/// A public key llmguard can verify signatures with.
#[derive(Debug, Clone)]
pub enum PublicKey {
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    P521(p521::PublicKey),
    Rsa(Box<rsa::PublicKey>),
}

/// The hash of a certificate signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

macro_rules! ec_verify {
    ($curve:ident, $key:expr, $sig:expr, $msg:expr, $prehash:expr) => {{
        let vk = $curve::ecdsa::VerifyingKey::from($key);
        match $curve::ecdsa::Signature::from_der($sig) {
            Ok(sig) => match $prehash {
                Some(h) => vk.verify_prehash(h, &sig).is_ok(),
                None => vk.verify($msg, &sig).is_ok(),
            },
            Err(_) => false,
        }
    }};
}

impl PublicKey {
    /// Parse a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, String> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(|e| format!("not a public key: {e}"))?;
        let alg = spki.algorithm.oid.to_string();
        let bits = spki.subject_public_key.raw_bytes();
        match alg.as_str() {
            EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                let bad = |e: p256::elliptic_curve::Error| format!("invalid EC point: {e}");
                match curve.as_str() {
                    CURVE_P256 => Ok(PublicKey::P256(p256::PublicKey::from_sec1_bytes(bits).map_err(bad)?)),
                    CURVE_P384 => Ok(PublicKey::P384(p384::PublicKey::from_sec1_bytes(bits).map_err(bad)?)),
                    CURVE_P521 => Ok(PublicKey::P521(p521::PublicKey::from_sec1_bytes(bits).map_err(bad)?)),
                    other => Err(format!(
                        "unsupported elliptic curve `{other}` (P-256, P-384 and P-521 are)"
                    )),
                }
            }
            RSA_ENCRYPTION => rsa::PublicKey::try_from(spki)
                .map(|k| PublicKey::Rsa(Box::new(k)))
                .map_err(|e| format!("invalid RSA key: {e}")),
            other => Err(format!("unsupported key algorithm `{other}`")),
        }
    }

    /// Parse a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_pem(text: &str) -> Result<PublicKey, String> {
        let (label, der) = pem_block(text).ok_or("no PEM block")?;
        if label != "PUBLIC KEY" {
            return Err(format!("a `{label}` PEM block, expected `PUBLIC KEY`"));
        }
        PublicKey::from_spki_der(&der)
    }

    pub fn describe(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "ECDSA P-256",
            PublicKey::P384(_) => "ECDSA P-384",
            PublicKey::P521(_) => "ECDSA P-521",
            PublicKey::Rsa(_) => "RSA",
        }
    }

    /// The SHA-256 of the key's PEM as `cryptography` writes it (uncompressed point, 64-column
    /// base64, LF): the `hint` that `model_signing` puts in key-method bundles.
    pub fn hint(&self) -> Option<String> {
        use p256::pkcs8::EncodePublicKey;
        let der = match self {
            PublicKey::P256(k) => k.to_public_key_der(),
            PublicKey::P384(k) => k.to_public_key_der(),
            PublicKey::P521(k) => k.to_public_key_der(),
            PublicKey::Rsa(_) => return None,
        }
        .ok()?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        Some(crate::digest::hex(&Sha256::digest(pem.as_bytes())))
    }

    /// Verify an ECDSA (DER) signature over `msg` hashed with the curve's hash (SHA-256 for
    /// P-256, SHA-384 for P-384, SHA-512 for P-521), as `model_signing` signs DSSE envelopes.
    pub fn verify_dsse(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            PublicKey::P256(k) => ec_verify!(p256, k, sig, msg, None::<&[u8]>),
            PublicKey::P384(k) => ec_verify!(p384, k, sig, msg, None::<&[u8]>),
            PublicKey::P521(k) => ec_verify!(p521, k, sig, msg, None::<&[u8]>),
            PublicKey::Rsa(_) => false,
        }
    }

    /// Verify a certificate's signature made with `alg` over `tbs`.
    fn verify_cert(&self, alg: &str, tbs: &[u8], sig: &[u8]) -> Result<bool, String> {
        let (ec, hash) = match alg {
            "1.2.840.10045.4.3.2" => (true, Hash::Sha256),
            "1.2.840.10045.4.3.3" => (true, Hash::Sha384),
            "1.2.840.10045.4.3.4" => (true, Hash::Sha512),
            "1.2.840.113549.1.1.11" => (false, Hash::Sha256),
            "1.2.840.113549.1.1.12" => (false, Hash::Sha384),
            "1.2.840.113549.1.1.13" => (false, Hash::Sha512),
            other => return Err(format!("unsupported certificate signature algorithm `{other}`")),
        };
        let digest = hash.digest(tbs);
        Ok(match (self, ec) {
            (PublicKey::P256(k), true) => ec_verify!(p256, k, sig, tbs, Some(digest.as_slice())),
            (PublicKey::P384(k), true) => ec_verify!(p384, k, sig, tbs, Some(digest.as_slice())),
            (PublicKey::P521(k), true) => ec_verify!(p521, k, sig, tbs, Some(digest.as_slice())),
            (PublicKey::Rsa(k), false) => match hash {
                Hash::Sha256 => k.pkcs1v15_verify_prehash::<sha2_11::Sha256>(&digest, sig).is_ok(),
                Hash::Sha384 => k.pkcs1v15_verify_prehash::<sha2_11::Sha384>(&digest, sig).is_ok(),
                Hash::Sha512 => k.pkcs1v15_verify_prehash::<sha2_11::Sha512>(&digest, sig).is_ok(),
            },
            _ => false,
        })
    }
}

/// The first PEM block of `text`: its label and decoded bytes.
fn pem_block(text: &str) -> Option<(String, Vec<u8>)> {
    pem_blocks(text).into_iter().next()
}

/// Every PEM block of `text` (other text around them is ignored, as OpenSSL does).
pub fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(dash) = after.find("-----") else { break };
        let label = after[..dash].to_string();
        let body_start = &after[dash + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else { break };
        let body: String = body_start[..end].chars().filter(|c| !c.is_whitespace()).collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) {
            out.push((label, der));
        }
        rest = &body_start[end + end_marker.len()..];
    }
    out
}

/// A parsed certificate.
#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    cert: Certificate,
    /// RFC 4514 form of the subject, e.g. `CN=model-signer,O=Example`.
    pub subject: String,
    key: Result<PublicKey, String>,
}

/// Why a certificate chain is not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// No path to a trusted root, or a certificate on the path breaks a rule.
    Untrusted(String),
    Expired(String),
    NotYetValid(String),
}

/// Longest path tried (leaf, intermediates, root).
const MAX_DEPTH: usize = 8;

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Cert, String> {
        let cert = Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = cert.tbs_certificate();
        let subject = tbs.subject().to_string();
        let key = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|e| e.to_string())
            .and_then(|d| PublicKey::from_spki_der(&d));
        Ok(Cert {
            der: der.to_vec(),
            cert,
            subject,
            key,
        })
    }

    /// Every certificate in a PEM file.
    pub fn from_pem_file(text: &str) -> Result<Vec<Cert>, String> {
        let mut out = Vec::new();
        for (label, der) in pem_blocks(text) {
            if label == "CERTIFICATE" {
                out.push(Cert::from_der(&der)?);
            }
        }
        if out.is_empty() {
            return Err("no PEM `CERTIFICATE` block".into());
        }
        Ok(out)
    }

    pub fn key(&self) -> Result<&PublicKey, String> {
        self.key.as_ref().map_err(Clone::clone)
    }

    fn issuer_name(&self) -> String {
        self.cert.tbs_certificate().issuer().to_string()
    }

    fn issuer_der(&self) -> Vec<u8> {
        self.cert.tbs_certificate().issuer().to_der().unwrap_or_default()
    }

    fn subject_der(&self) -> Vec<u8> {
        self.cert.tbs_certificate().subject().to_der().unwrap_or_default()
    }

    pub fn self_issued(&self) -> bool {
        self.issuer_der() == self.subject_der()
    }

    /// Whether `issuer`'s key made this certificate's signature.
    fn signed_by(&self, issuer: &Cert) -> Result<bool, String> {
        let key = issuer.key()?;
        let tbs = self.cert.tbs_certificate().to_der().map_err(|e| e.to_string())?;
        let sig = self.cert.signature().as_bytes().ok_or("signature is not whole bytes")?;
        key.verify_cert(&self.cert.signature_algorithm().oid.to_string(), &tbs, sig)
    }

    fn validity(&self, now: u64) -> Result<(), ChainError> {
        let v = self.cert.tbs_certificate().validity();
        let (nb, na) = (
            v.not_before.to_unix_duration().as_secs(),
            v.not_after.to_unix_duration().as_secs(),
        );
        if now < nb {
            return Err(ChainError::NotYetValid(format!(
                "certificate `{}` is not valid before {}",
                self.subject, v.not_before
            )));
        }
        if now > na {
            return Err(ChainError::Expired(format!(
                "certificate `{}` expired on {}",
                self.subject, v.not_after
            )));
        }
        Ok(())
    }

    fn critical_unknown(&self, known: &[String]) -> Option<String> {
        self.cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.critical && !known.contains(&e.extn_id.to_string()))
            .map(|e| e.extn_id.to_string())
    }

    fn basic_constraints(&self) -> Result<Option<BasicConstraints>, String> {
        self.cert
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .map(|o| o.map(|(_, b)| b))
            .map_err(|e| format!("certificate `{}`: bad basicConstraints: {e}", self.subject))
    }

    fn key_usage(&self) -> Result<Option<KeyUsage>, String> {
        self.cert
            .tbs_certificate()
            .get_extension::<KeyUsage>()
            .map(|o| o.map(|(_, k)| k))
            .map_err(|e| format!("certificate `{}`: bad keyUsage: {e}", self.subject))
    }

    /// Checks on a certificate that issues another, `below` intermediates under it.
    fn check_issuer(&self, below: usize) -> Result<(), String> {
        let v3 = matches!(
            self.cert.tbs_certificate().version(),
            x509_cert::certificate::Version::V3
        );
        match self.basic_constraints()? {
            Some(bc) if !bc.ca => return Err(format!("certificate `{}` is not a CA but issued another", self.subject)),
            Some(bc) => {
                if let Some(max) = bc.path_len_constraint {
                    if below > usize::from(max) {
                        return Err(format!(
                            "certificate `{}` allows {max} intermediate certificates below it, the chain has {below}",
                            self.subject
                        ));
                    }
                }
            }
            None if v3 => {
                return Err(format!(
                    "certificate `{}` has no basicConstraints, so it is not a CA, but issued another",
                    self.subject
                ))
            }
            None => {}
        }
        if let Some(ku) = self.key_usage()? {
            if !ku.key_cert_sign() {
                return Err(format!(
                    "certificate `{}` may not sign certificates (keyUsage)",
                    self.subject
                ));
            }
        }
        Ok(())
    }

    /// The signing certificate must be meant for signing.
    fn check_leaf(&self, ekus: &[String]) -> Result<(), String> {
        let ku = self.key_usage()?;
        let eku = self
            .cert
            .tbs_certificate()
            .get_extension::<ExtendedKeyUsage>()
            .map(|o| o.map(|(_, e)| e))
            .map_err(|e| format!("certificate `{}`: bad extendedKeyUsage: {e}", self.subject))?;
        if ku.is_none() && eku.is_none() {
            return Err(format!(
                "signing certificate `{}` has neither keyUsage nor extendedKeyUsage, so it is not meant for signing",
                self.subject
            ));
        }
        if let Some(ku) = ku {
            if !ku.digital_signature() {
                return Err(format!(
                    "signing certificate `{}` does not allow digitalSignature (keyUsage)",
                    self.subject
                ));
            }
        }
        if let Some(eku) = eku {
            if !eku.0.iter().any(|o| ekus.contains(&o.to_string())) {
                return Err(format!(
                    "signing certificate `{}` is not for code signing (extendedKeyUsage)",
                    self.subject
                ));
            }
        }
        Ok(())
    }
}

/// What a path is checked against: the trusted roots, the time, and the policy's lists.
#[derive(Clone, Copy)]
pub struct Anchors<'a> {
    pub roots: &'a [Cert],
    /// Unix seconds at which every certificate must be valid.
    pub now: u64,
    pub policy: &'a SigningPolicy,
}

/// Validate `leaf` up to one of the roots through `pool` (intermediates from the bundle and
/// from the trusted files). Returns the path, leaf first.
pub fn validate<'a>(leaf: &'a Cert, pool: &'a [Cert], anchors: Anchors<'a>) -> Result<Vec<&'a Cert>, ChainError> {
    if anchors.roots.is_empty() {
        return Err(ChainError::Untrusted(
            "no trusted root certificate is configured".into(),
        ));
    }
    leaf.check_leaf(&anchors.policy.code_signing_ekus)
        .map_err(ChainError::Untrusted)?;
    let mut best: Option<ChainError> = None;
    let mut path = vec![leaf];
    if extend(&mut path, pool, anchors, &mut best) {
        return Ok(path);
    }
    Err(best.unwrap_or_else(|| {
        ChainError::Untrusted(format!(
            "no chain from `{}` (issued by `{}`) to a trusted root",
            leaf.subject,
            leaf.issuer_name()
        ))
    }))
}

/// Depth-first search for a path from `path`'s last certificate to an anchor. Remembers the
/// most telling error of the paths tried (a broken rule beats "no issuer found").
fn extend<'a>(path: &mut Vec<&'a Cert>, pool: &'a [Cert], anchors: Anchors<'a>, best: &mut Option<ChainError>) -> bool {
    let Some(&last) = path.last() else { return false };
    let note = |best: &mut Option<ChainError>, e: ChainError| {
        let rank = |e: &ChainError| match e {
            ChainError::Untrusted(_) => 0,
            _ => 1,
        };
        if best.as_ref().is_none_or(|b| rank(&e) >= rank(b)) {
            *best = Some(e);
        }
    };
    // The certificate is itself a trusted root (a self-signed signing certificate that the
    // user trusts directly).
    if anchors.roots.iter().any(|a| a.der == last.der) {
        return finish(path, anchors, best, note);
    }
    if path.len() >= MAX_DEPTH {
        return false;
    }
    let issuer = last.issuer_der();
    let below = path.len().saturating_sub(1);
    for (candidates, is_anchor) in [(anchors.roots, true), (pool, false)] {
        for c in candidates {
            if c.subject_der() != issuer || path.iter().any(|p| p.der == c.der) {
                continue;
            }
            match last.signed_by(c) {
                Ok(true) => {}
                Ok(false) => {
                    note(
                        best,
                        ChainError::Untrusted(format!(
                            "the signature on `{}` does not verify with the key of `{}`",
                            last.subject, c.subject
                        )),
                    );
                    continue;
                }
                Err(e) => {
                    note(best, ChainError::Untrusted(e));
                    continue;
                }
            }
            if let Err(e) = c.check_issuer(below) {
                note(best, ChainError::Untrusted(e));
                continue;
            }
            path.push(c);
            let done = if is_anchor {
                finish(path, anchors, best, note)
            } else if c.self_issued() {
                false
            } else {
                extend(path, pool, anchors, best)
            };
            if done {
                return true;
            }
            path.pop();
        }
    }
    false
}

fn finish(
    path: &[&Cert],
    anchors: Anchors<'_>,
    best: &mut Option<ChainError>,
    note: impl Fn(&mut Option<ChainError>, ChainError),
) -> bool {
    for c in path {
        if let Some(oid) = c.critical_unknown(&anchors.policy.known_critical) {
            note(
                best,
                ChainError::Untrusted(format!(
                    "certificate `{}` has a critical extension llmguard does not process ({oid})",
                    c.subject
                )),
            );
            return false;
        }
        if let Err(e) = c.validity(anchors.now) {
            note(best, e);
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = include_str!("../../testdata/signing/keys/root-ca.pem");
    const KEY: &str = include_str!("../../testdata/signing/keys/team.pub");

    #[test]
    fn pem_keys_and_hints() {
        let k = PublicKey::from_pem(KEY).unwrap();
        assert_eq!(k.describe(), "ECDSA P-256");
        assert_eq!(k.hint().unwrap().len(), 64);
        assert!(PublicKey::from_pem(ROOT).is_err(), "a certificate is not a public key");
        assert!(PublicKey::from_pem("nothing").is_err());
    }

    #[test]
    fn roots_are_self_issued_cas() {
        let roots = Cert::from_pem_file(ROOT).unwrap();
        assert_eq!(roots.len(), 1);
        assert!(roots[0].self_issued());
        assert!(roots[0].subject.contains("CN=ec-root"), "{}", roots[0].subject);
        assert!(roots[0].check_issuer(0).is_ok());
        assert!(roots[0].signed_by(&roots[0]).unwrap());
        // A root is not a signing certificate.
        let policy = SigningPolicy::builtin().unwrap();
        assert!(roots[0].check_leaf(&policy.code_signing_ekus).is_err());
        assert!(Cert::from_pem_file(KEY).is_err());
    }
}
