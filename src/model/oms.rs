//! OpenSSF Model Signing (OMS v1.0) signatures: a pure parser for the Sigstore bundle (v0.3
//! JSON) that `model_signing sign` writes, its DSSE envelope and the in-toto Statement v1 with
//! the OMS predicate. It checks structure only; keys, certificates and file digests are judged
//! by `crate::signing`.
//!
//! The structural rules are those of the OMS v1.0 JSON schemas (`bundle`, `envelope`,
//! `statement`, `predicate`, read in `schemas/v1.0/` of the copy
//! `sampras343/model-signing-spec` at commit ca958ac7c, where no licence file could be found,
//! so they are encoded here rather than vendored), tightened where the reference
//! implementation (`model-signing` 1.1.1 on PyPI) is stricter, and relaxed in the one place
//! where it writes something the schema would refuse: for the `shards` method the tool names
//! each resource's algorithm `sha256-sharded-<shard_size>` and compares
//! that name when it verifies, so that is what is accepted here. The order of `resources` is
//! not checked: the tool sorts by path components, the specification by code points, and both
//! compute the root digest over the listed order, as `crate::signing` does.
//!
//! Every error carries a JSON pointer into the bundle (or into the decoded payload, prefixed
//! `/dsseEnvelope/payload`) so that a finding can say where the bundle is wrong.

use base64::Engine as _;
use serde_json::{Map, Value};

/// The only bundle media type the reference tool accepts for the key and certificate methods.
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The same version spelt the other way Sigstore allows (seen on keyless bundles).
pub const BUNDLE_MEDIA_TYPE_ALT: &str = "application/vnd.dev.sigstore.bundle+json;version=0.3";
/// DSSE payload type of an in-toto statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The OMS v1.0 predicate type.
pub const PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
/// The predicate of `model-signing` 0.2 (digests in `subject`), deprecated by the spec.
pub const PREDICATE_TYPE_V0_2: &str = "https://model_signing/Digests/v0.1";

/// Bundles larger than this are not read (a real one lists one digest per file or shard:
/// about 150 bytes each, so 64 MiB is several hundred thousand files).
pub const MAX_BUNDLE: u64 = 64 << 20;
/// Resources (files or shards) in one manifest.
pub const MAX_RESOURCES: usize = 1_000_000;

/// Why a bundle or its payload is not a well-formed OMS signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OmsError {
    /// JSON pointer of the offending value (`""` for the whole document).
    pub pointer: String,
    pub message: String,
    /// The bundle is well formed but uses something this verifier does not implement (the
    /// keyless method, the v0.2 predicate, a hash other than sha256): not a malformed bundle.
    pub unsupported: bool,
}

fn bad(pointer: impl Into<String>, message: impl Into<String>) -> OmsError {
    OmsError {
        pointer: pointer.into(),
        message: message.into(),
        unsupported: false,
    }
}

fn unsupported(pointer: impl Into<String>, message: impl Into<String>) -> OmsError {
    OmsError {
        unsupported: true,
        ..bad(pointer, message)
    }
}

/// How the signer is identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Material {
    /// The key method: `hint` is the hex SHA-256 of the key's PEM (current tool); `raw` the DER
    /// SubjectPublicKeyInfo that bundles before model-signing 1.1 carried instead.
    PublicKey { hint: Option<String>, raw: Option<Vec<u8>> },
    /// The certificate method: DER certificates, the signing (leaf) certificate first.
    CertificateChain(Vec<Vec<u8>>),
    /// Sigstore keyless: one short-lived Fulcio certificate (DER) plus transparency-log entries.
    Keyless { certificate: Vec<u8>, tlog_entries: usize },
}

impl Material {
    pub fn method(&self) -> &'static str {
        match self {
            Material::PublicKey { .. } => "key",
            Material::CertificateChain(_) => "certificate",
            Material::Keyless { .. } => "sigstore",
        }
    }
}

/// A parsed bundle; the payload is kept as bytes because the signature covers those bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    pub media_type: String,
    pub material: Material,
    pub payload_type: String,
    /// The decoded DSSE payload (the statement's JSON bytes, exactly as signed).
    pub payload: Vec<u8>,
    /// Decoded DSSE signatures (DER ECDSA for the tool's methods), at least one.
    pub signatures: Vec<Vec<u8>>,
}

/// The serialization method of the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One digest per file.
    Files,
    /// One digest per byte range of `shard_size` bytes (the last one shorter).
    Shards { shard_size: u64 },
}

/// `predicate.serialization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serialization {
    pub method: Method,
    /// `sha256`, `blake2b` or `blake3` (only sha256 is verified by llmguard).
    pub hash_type: String,
    pub allow_symlinks: bool,
    /// Paths relative to the model root (`/`-separated) left out when signing.
    pub ignore_paths: Vec<String>,
}

/// One entry of `predicate.resources`: a file, or a byte range of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// As written in the manifest.
    pub name: String,
    /// The file's path relative to the model root.
    pub path: String,
    /// `[start, end)` for the shards method.
    pub range: Option<(u64, u64)>,
    pub algorithm: String,
    pub digest: Vec<u8>,
}

/// The in-toto statement with the OMS v1.0 predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `subject[0].name`: the model's name when signed (informational only).
    pub subject_name: String,
    /// `subject[0].digest.sha256`: SHA-256 over the resource digests in manifest order.
    pub subject_sha256: Vec<u8>,
    pub serialization: Serialization,
    pub resources: Vec<Resource>,
}

fn decode_b64(v: &str, pointer: &str) -> Result<Vec<u8>, OmsError> {
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(v.trim()))
        .map_err(|e| bad(pointer, format!("not base64: {e}")))
}

fn decode_hex(v: &str, pointer: &str) -> Result<Vec<u8>, OmsError> {
    if v.is_empty() || !v.len().is_multiple_of(2) || !v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad(pointer, "digest must be an even number of lower-case hex digits"));
    }
    Ok((0..v.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v[i..i + 2], 16).unwrap_or(0))
        .collect())
}

fn object<'a>(v: &'a Value, pointer: &str) -> Result<&'a Map<String, Value>, OmsError> {
    v.as_object().ok_or_else(|| bad(pointer, "expected a JSON object"))
}

fn only(map: &Map<String, Value>, pointer: &str, allowed: &[&str]) -> Result<(), OmsError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(
            format!("{pointer}/{}", escape(k)),
            format!("unexpected field `{k}`"),
        )),
        None => Ok(()),
    }
}

fn field<'a>(map: &'a Map<String, Value>, pointer: &str, key: &str) -> Result<&'a Value, OmsError> {
    map.get(key)
        .ok_or_else(|| bad(pointer, format!("missing required field `{key}`")))
}

fn string<'a>(map: &'a Map<String, Value>, pointer: &str, key: &str) -> Result<&'a str, OmsError> {
    field(map, pointer, key)?
        .as_str()
        .ok_or_else(|| bad(format!("{pointer}/{key}"), format!("`{key}` must be a string")))
}

/// JSON pointer escaping of one reference token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Parse a bundle file's bytes (Sigstore bundle v0.3 JSON with a DSSE envelope).
pub fn parse_bundle(bytes: &[u8]) -> Result<Bundle, OmsError> {
    if bytes.len() as u64 > MAX_BUNDLE {
        return Err(bad("", format!("bundle larger than {} MiB", MAX_BUNDLE >> 20)));
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad("", format!("not JSON: {e}")))?;
    let top = object(&doc, "")?;
    only(top, "", &["mediaType", "verificationMaterial", "dsseEnvelope"])?;
    let media_type = string(top, "", "mediaType")?;
    if !media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(bad(
            "/mediaType",
            format!("`{media_type}` is not a Sigstore bundle media type"),
        ));
    }
    let vm = object(field(top, "", "verificationMaterial")?, "/verificationMaterial")?;
    let material = material(vm)?;
    // The key and certificate methods are verified by the tool only in this exact version.
    if media_type != BUNDLE_MEDIA_TYPE && !(media_type == BUNDLE_MEDIA_TYPE_ALT && material.method() == "sigstore") {
        return Err(bad(
            "/mediaType",
            format!("media type `{media_type}`: expected `{BUNDLE_MEDIA_TYPE}`"),
        ));
    }
    let Some(env) = top.get("dsseEnvelope") else {
        return Err(bad(
            "",
            "no `dsseEnvelope`: an OMS bundle signs a DSSE envelope (a `messageSignature` bundle is not a model signature)",
        ));
    };
    let env = object(env, "/dsseEnvelope")?;
    only(env, "/dsseEnvelope", &["payload", "payloadType", "signatures"])?;
    let payload_b64 = string(env, "/dsseEnvelope", "payload")?;
    if payload_b64.is_empty() {
        return Err(bad("/dsseEnvelope/payload", "empty payload"));
    }
    let payload = decode_b64(payload_b64, "/dsseEnvelope/payload")?;
    let payload_type = string(env, "/dsseEnvelope", "payloadType")?.to_string();
    if payload_type != PAYLOAD_TYPE {
        return Err(bad(
            "/dsseEnvelope/payloadType",
            format!("payload type `{payload_type}`: expected `{PAYLOAD_TYPE}`"),
        ));
    }
    let sigs = field(env, "/dsseEnvelope", "signatures")?
        .as_array()
        .ok_or_else(|| bad("/dsseEnvelope/signatures", "`signatures` must be an array"))?;
    if sigs.is_empty() {
        return Err(bad("/dsseEnvelope/signatures", "no signature"));
    }
    let mut signatures = Vec::with_capacity(sigs.len().min(16));
    for (i, s) in sigs.iter().enumerate() {
        let p = format!("/dsseEnvelope/signatures/{i}");
        let s = object(s, &p)?;
        only(s, &p, &["sig", "keyid"])?;
        match s.get("keyid") {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(_) => return Err(bad(format!("{p}/keyid"), "`keyid` must be a string or null")),
        }
        let sig = string(s, &p, "sig")?;
        if sig.is_empty() {
            return Err(bad(format!("{p}/sig"), "empty signature"));
        }
        signatures.push(decode_b64(sig, &format!("{p}/sig"))?);
    }
    Ok(Bundle {
        media_type: media_type.to_string(),
        material,
        payload_type,
        payload,
        signatures,
    })
}

fn material(vm: &Map<String, Value>) -> Result<Material, OmsError> {
    const P: &str = "/verificationMaterial";
    only(
        vm,
        P,
        &[
            "publicKey",
            "x509CertificateChain",
            "certificate",
            "tlogEntries",
            "timestampVerificationData",
        ],
    )?;
    let present: Vec<&str> = ["publicKey", "x509CertificateChain", "certificate"]
        .into_iter()
        .filter(|k| vm.contains_key(*k))
        .collect();
    if present.len() != 1 {
        return Err(bad(
            P,
            "exactly one of `publicKey`, `x509CertificateChain` or `certificate` must be present",
        ));
    }
    let tlog_entries = match vm.get("tlogEntries") {
        None => 0,
        Some(Value::Array(a)) => {
            for (i, e) in a.iter().enumerate() {
                object(e, &format!("{P}/tlogEntries/{i}"))?;
            }
            a.len()
        }
        Some(_) => return Err(bad(format!("{P}/tlogEntries"), "`tlogEntries` must be an array")),
    };
    if let Some(t) = vm.get("timestampVerificationData") {
        object(t, &format!("{P}/timestampVerificationData"))?;
    }
    let raw_cert = |v: &Value, p: &str| -> Result<Vec<u8>, OmsError> {
        let o = object(v, p)?;
        let raw = string(o, p, "rawBytes")?;
        if raw.is_empty() {
            return Err(bad(format!("{p}/rawBytes"), "empty certificate"));
        }
        decode_b64(raw, &format!("{p}/rawBytes"))
    };
    match present[0] {
        "publicKey" => {
            let p = format!("{P}/publicKey");
            let pk = object(&vm["publicKey"], &p)?;
            let hint = match pk.get("hint") {
                None | Some(Value::Null) => None,
                Some(Value::String(h)) => Some(h.clone()),
                Some(_) => return Err(bad(format!("{p}/hint"), "`hint` must be a string")),
            };
            let raw = match pk.get("rawBytes") {
                None | Some(Value::Null) => None,
                Some(Value::String(r)) => Some(decode_b64(r, &format!("{p}/rawBytes"))?),
                Some(_) => return Err(bad(format!("{p}/rawBytes"), "`rawBytes` must be a string")),
            };
            if hint.is_none() && raw.is_none() {
                return Err(bad(
                    p,
                    "`publicKey` needs a `hint` (or, before model-signing 1.1, `rawBytes`)",
                ));
            }
            Ok(Material::PublicKey { hint, raw })
        }
        "x509CertificateChain" => {
            let p = format!("{P}/x509CertificateChain");
            let chain = object(&vm["x509CertificateChain"], &p)?;
            let certs = field(chain, &p, "certificates")?
                .as_array()
                .ok_or_else(|| bad(format!("{p}/certificates"), "`certificates` must be an array"))?;
            if certs.is_empty() {
                return Err(bad(format!("{p}/certificates"), "empty certificate chain"));
            }
            if certs.len() > 16 {
                return Err(bad(format!("{p}/certificates"), "more than 16 certificates"));
            }
            let mut out = Vec::with_capacity(certs.len());
            for (i, c) in certs.iter().enumerate() {
                out.push(raw_cert(c, &format!("{p}/certificates/{i}"))?);
            }
            Ok(Material::CertificateChain(out))
        }
        _ => {
            let certificate = raw_cert(&vm["certificate"], &format!("{P}/certificate"))?;
            if tlog_entries == 0 {
                return Err(bad(
                    format!("{P}/tlogEntries"),
                    "a keyless (`certificate`) bundle needs at least one transparency-log entry",
                ));
            }
            Ok(Material::Keyless {
                certificate,
                tlog_entries,
            })
        }
    }
}

/// The DSSE pre-authentication encoding (DSSE v1 protocol): what is actually signed.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

const PP: &str = "/dsseEnvelope/payload";

/// Parse the decoded DSSE payload: an in-toto Statement v1 with the OMS v1.0 predicate.
pub fn parse_statement(payload: &[u8]) -> Result<Statement, OmsError> {
    let doc: Value = serde_json::from_slice(payload).map_err(|e| bad(PP, format!("the payload is not JSON: {e}")))?;
    let st = object(&doc, PP)?;
    only(st, PP, &["_type", "subject", "predicateType", "predicate"])?;
    let ty = string(st, PP, "_type")?;
    if ty != STATEMENT_TYPE {
        return Err(bad(
            format!("{PP}/_type"),
            format!("`_type` is `{ty}`, expected `{STATEMENT_TYPE}`"),
        ));
    }
    let pt = string(st, PP, "predicateType")?;
    if pt == PREDICATE_TYPE_V0_2 {
        return Err(unsupported(
            format!("{PP}/predicateType"),
            format!("predicate `{pt}` is the deprecated model-signing 0.2 format (digests in `subject`); re-sign with model-signing 1.x"),
        ));
    }
    if pt != PREDICATE_TYPE {
        return Err(bad(
            format!("{PP}/predicateType"),
            format!("predicate type `{pt}`, expected `{PREDICATE_TYPE}`"),
        ));
    }
    let subjects = field(st, PP, "subject")?
        .as_array()
        .ok_or_else(|| bad(format!("{PP}/subject"), "`subject` must be an array"))?;
    if subjects.len() != 1 {
        return Err(bad(
            format!("{PP}/subject"),
            format!("expected exactly one subject (the model), found {}", subjects.len()),
        ));
    }
    let sp = format!("{PP}/subject/0");
    let subject = object(&subjects[0], &sp)?;
    let subject_name = string(subject, &sp, "name")?.to_string();
    if subject_name.is_empty() {
        return Err(bad(format!("{sp}/name"), "empty subject name"));
    }
    let dp = format!("{sp}/digest");
    let digests = object(field(subject, &sp, "digest")?, &dp)?;
    if digests.is_empty() {
        return Err(bad(dp, "empty digest set"));
    }
    for (k, v) in digests {
        let s = v
            .as_str()
            .ok_or_else(|| bad(format!("{dp}/{}", escape(k)), "digest values must be strings"))?;
        decode_hex(s, &format!("{dp}/{}", escape(k)))?;
    }
    let subject_hex = digests
        .get("sha256")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(dp.clone(), "no `sha256` root digest"))?;
    let subject_sha256 = decode_hex(subject_hex, &format!("{dp}/sha256"))?;
    if subject_sha256.len() != 32 {
        return Err(bad(
            format!("{dp}/sha256"),
            format!("a SHA-256 digest is 32 bytes, this one {}", subject_sha256.len()),
        ));
    }
    let pp = format!("{PP}/predicate");
    let predicate = object(field(st, PP, "predicate")?, &pp)?;
    only(predicate, &pp, &["resources", "serialization"])?;
    let serialization = serialization(field(predicate, &pp, "serialization")?, &format!("{pp}/serialization"))?;
    let rp = format!("{pp}/resources");
    let list = field(predicate, &pp, "resources")?
        .as_array()
        .ok_or_else(|| bad(rp.clone(), "`resources` must be an array"))?;
    if list.is_empty() {
        return Err(bad(rp, "no resources: a signature must cover at least one file"));
    }
    if list.len() > MAX_RESOURCES {
        return Err(bad(rp, format!("more than {MAX_RESOURCES} resources")));
    }
    let mut resources = Vec::with_capacity(list.len());
    let mut seen = std::collections::HashSet::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let p = format!("{rp}/{i}");
        let res = resource(r, &p, &serialization)?;
        if !seen.insert(res.name.clone()) {
            return Err(bad(format!("{p}/name"), format!("`{}` is listed twice", res.name)));
        }
        resources.push(res);
    }
    Ok(Statement {
        subject_name,
        subject_sha256,
        serialization,
        resources,
    })
}

fn serialization(v: &Value, p: &str) -> Result<Serialization, OmsError> {
    let s = object(v, p)?;
    only(
        s,
        p,
        &["method", "hash_type", "shard_size", "allow_symlinks", "ignore_paths"],
    )?;
    let hash_type = string(s, p, "hash_type")?.to_string();
    if !["sha256", "blake2b", "blake3"].contains(&hash_type.as_str()) {
        return Err(bad(
            format!("{p}/hash_type"),
            format!("unknown hash type `{hash_type}`"),
        ));
    }
    let allow_symlinks = field(s, p, "allow_symlinks")?
        .as_bool()
        .ok_or_else(|| bad(format!("{p}/allow_symlinks"), "`allow_symlinks` must be a boolean"))?;
    let method = match string(s, p, "method")? {
        "files" => {
            if s.contains_key("shard_size") {
                return Err(bad(format!("{p}/shard_size"), "`shard_size` with the `files` method"));
            }
            Method::Files
        }
        "shards" => {
            let v = field(s, p, "shard_size")?;
            // The tool writes it through a protobuf Struct, so as a float (`1000000000.0`).
            let size = v
                .as_u64()
                .or_else(|| {
                    v.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f <= 2f64.powi(53))
                        .map(|f| f as u64)
                })
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    bad(
                        format!("{p}/shard_size"),
                        "`shard_size` must be a positive whole number",
                    )
                })?;
            Method::Shards { shard_size: size }
        }
        m => {
            return Err(bad(
                format!("{p}/method"),
                format!("unknown serialization method `{m}`"),
            ))
        }
    };
    let mut ignore_paths = Vec::new();
    if let Some(v) = s.get("ignore_paths") {
        let list = v
            .as_array()
            .ok_or_else(|| bad(format!("{p}/ignore_paths"), "`ignore_paths` must be an array"))?;
        for (i, e) in list.iter().enumerate() {
            let ip = format!("{p}/ignore_paths/{i}");
            let path = e
                .as_str()
                .ok_or_else(|| bad(ip.clone(), "ignore paths must be strings"))?;
            // The tool writes `.git`, never `.git/`; a trailing slash is harmless.
            let path = path.strip_suffix('/').unwrap_or(path);
            if let Some(why) = non_canonical(path) {
                return Err(bad(ip, format!("ignore path `{path}` {why}")));
            }
            ignore_paths.push(path.to_string());
        }
    }
    Ok(Serialization {
        method,
        hash_type,
        allow_symlinks,
        ignore_paths,
    })
}

/// Why `path` is not a canonical relative path (OMS v1.0 §6.1.2), if it is not.
pub fn non_canonical(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("is empty");
    }
    if path.starts_with('/') {
        return Some("is absolute");
    }
    if path.contains('\\') {
        return Some("uses `\\` as a separator");
    }
    if path.contains('\0') {
        return Some("contains a NUL byte");
    }
    for part in path.split('/') {
        match part {
            "" => return Some("has an empty component or a trailing `/`"),
            "." => return Some("has a `.` component"),
            ".." => return Some("leaves the model directory (`..`)"),
            _ => {}
        }
    }
    None
}

fn resource(v: &Value, p: &str, ser: &Serialization) -> Result<Resource, OmsError> {
    let r = object(v, p)?;
    // Resource descriptors may carry other in-toto fields; verifiers ignore them.
    let name = string(r, p, "name")?.to_string();
    let algorithm = string(r, p, "algorithm")?.to_string();
    let digest = decode_hex(string(r, p, "digest")?, &format!("{p}/digest"))?;
    let (path, range, expected_alg) = match ser.method {
        Method::Files => (name.clone(), None, ser.hash_type.clone()),
        Method::Shards { shard_size } => {
            // `path:start:end`, the range found from the right (a path may hold colons).
            let mut parts = name.rsplitn(3, ':');
            let (end, start, path) = (parts.next(), parts.next(), parts.next());
            let num = |s: Option<&str>| {
                s.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
            };
            let (Some(start), Some(end), Some(path)) = (num(start), num(end), path) else {
                return Err(bad(
                    format!("{p}/name"),
                    format!("shard `{name}` is not `path:start:end`"),
                ));
            };
            if end <= start || end - start > shard_size || !start.is_multiple_of(shard_size) {
                return Err(bad(
                    format!("{p}/name"),
                    format!("shard `{name}` is not a range of the {shard_size}-byte shards"),
                ));
            }
            (
                path.to_string(),
                Some((start, end)),
                format!("{}-sharded-{shard_size}", ser.hash_type),
            )
        }
    };
    // `model_signing` names the one resource of a single-file model `.` (its path relative to
    // itself); the specification says the file name. Both are accepted.
    if let Some(why) = non_canonical(&path).filter(|_| path != ".") {
        return Err(bad(format!("{p}/name"), format!("resource path `{path}` {why}")));
    }
    if algorithm != expected_alg {
        return Err(bad(
            format!("{p}/algorithm"),
            format!("algorithm `{algorithm}`, but the serialization says `{expected_alg}`"),
        ));
    }
    let want = match ser.hash_type.as_str() {
        "blake2b" => 64,
        _ => 32,
    };
    if digest.len() != want {
        return Err(bad(
            format!("{p}/digest"),
            format!("a {} digest is {want} bytes, this one {}", ser.hash_type, digest.len()),
        ));
    }
    Ok(Resource {
        name,
        path,
        range,
        algorithm,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn statement(ser: &str, resources: &str) -> String {
        format!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"m","digest":{{"sha256":"{}"}}}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{{"serialization":{ser},"resources":{resources}}}}}"#,
            "ab".repeat(32)
        )
    }

    const FILES: &str =
        r#"{"method":"files","hash_type":"sha256","allow_symlinks":false,"ignore_paths":["model.sig",".git"]}"#;

    fn res(name: &str, alg: &str) -> String {
        format!(
            r#"[{{"name":"{name}","algorithm":"{alg}","digest":"{}"}}]"#,
            "cd".repeat(32)
        )
    }

    fn bundle(material: &str, payload: &str) -> String {
        format!(
            r#"{{"mediaType":"{BUNDLE_MEDIA_TYPE}","verificationMaterial":{material},"dsseEnvelope":{{"payload":"{}","payloadType":"application/vnd.in-toto+json","signatures":[{{"sig":"{}","keyid":""}}]}}}}"#,
            b64(payload.as_bytes()),
            b64(b"sig")
        )
    }

    #[test]
    fn pae_is_the_dsse_encoding() {
        assert_eq!(pae("a/b", b"hello"), b"DSSEv1 3 a/b 5 hello".to_vec());
        assert_eq!(pae("t", b""), b"DSSEv1 1 t 0 ".to_vec());
    }

    #[test]
    fn parses_the_tool_shapes() {
        let st = statement(FILES, &res("dir/w.bin", "sha256"));
        let b = parse_bundle(bundle(r#"{"publicKey":{"hint":"00"},"tlogEntries":[]}"#, &st).as_bytes()).unwrap();
        assert_eq!(
            b.material,
            Material::PublicKey {
                hint: Some("00".into()),
                raw: None
            }
        );
        assert_eq!(b.signatures, vec![b"sig".to_vec()]);
        let s = parse_statement(&b.payload).unwrap();
        assert_eq!(s.resources[0].path, "dir/w.bin");
        assert_eq!(s.serialization.ignore_paths, vec!["model.sig", ".git"]);
        // Shards: a float shard size and the tool's algorithm name; a path with a colon.
        let ser = r#"{"method":"shards","hash_type":"sha256","allow_symlinks":false,"shard_size":16.0}"#;
        let s = parse_statement(statement(ser, &res("a:b.bin:16:20", "sha256-sharded-16")).as_bytes()).unwrap();
        assert_eq!(s.serialization.method, Method::Shards { shard_size: 16 });
        assert_eq!(
            (s.resources[0].path.as_str(), s.resources[0].range),
            ("a:b.bin", Some((16, 20)))
        );
    }

    #[test]
    fn rejects_what_the_schemas_reject() {
        let ok_st = statement(FILES, &res("w.bin", "sha256"));
        let key = r#"{"publicKey":{"hint":"00"}}"#;
        for (text, pointer) in [
            (
                bundle(key, &ok_st).replace("\"mediaType\"", "\"extra\":1,\"mediaType\""),
                "/extra",
            ),
            (bundle(r#"{"publicKey":{}}"#, &ok_st), "/verificationMaterial/publicKey"),
            (
                bundle(
                    r#"{"publicKey":{"hint":"0"},"certificate":{"rawBytes":"AA=="}}"#,
                    &ok_st,
                ),
                "/verificationMaterial",
            ),
            (
                bundle(r#"{"certificate":{"rawBytes":"AA=="}}"#, &ok_st),
                "/verificationMaterial/tlogEntries",
            ),
            (
                bundle(key, &ok_st).replace("vnd.in-toto+json", "json"),
                "/dsseEnvelope/payloadType",
            ),
            (
                bundle(key, &ok_st).replace("\"keyid\":\"\"", "\"keyid\":3"),
                "/dsseEnvelope/signatures/0/keyid",
            ),
            (bundle(key, &ok_st).replace("v0.3+json", "v0.1+json"), "/mediaType"),
            (bundle(key, &ok_st)[..60].to_string(), ""),
        ] {
            let err = parse_bundle(text.as_bytes()).unwrap_err();
            assert_eq!(err.pointer, pointer, "{text}: {err}");
        }
        let pp = "/dsseEnvelope/payload/predicate";
        for (text, pointer) in [
            (
                statement(FILES, &res("w.bin", "sha512")),
                format!("{pp}/resources/0/algorithm"),
            ),
            (
                statement(FILES, &res("../w.bin", "sha256")),
                format!("{pp}/resources/0/name"),
            ),
            (
                statement(FILES, &res("/w.bin", "sha256")),
                format!("{pp}/resources/0/name"),
            ),
            (
                statement(FILES, &res("a//w.bin", "sha256")),
                format!("{pp}/resources/0/name"),
            ),
            (statement(FILES, "[]"), format!("{pp}/resources")),
            (
                statement(FILES, &res("w.bin", "sha256")).replace(&"cd".repeat(32), &"cd".repeat(20)),
                format!("{pp}/resources/0/digest"),
            ),
            (
                statement(FILES, &res("w.bin", "sha256")).replace(&"cd".repeat(32), &"CD".repeat(32)),
                format!("{pp}/resources/0/digest"),
            ),
            (
                statement(&FILES.replace("files", "shards"), &res("w.bin", "sha256")),
                format!("{pp}/serialization"),
            ),
            (
                statement(&FILES.replace("false", "\"no\""), &res("w.bin", "sha256")),
                format!("{pp}/serialization/allow_symlinks"),
            ),
            (
                statement(&FILES.replace("\".git\"", "\"..\""), &res("w.bin", "sha256")),
                format!("{pp}/serialization/ignore_paths/1"),
            ),
            (
                statement(FILES, &res("w.bin", "sha256")).replace("signature/v1.0", "signature/v2"),
                "/dsseEnvelope/payload/predicateType".to_string(),
            ),
            (
                statement(FILES, &res("w.bin", "sha256")).replace("\"subject\"", "\"extra\":0,\"subject\""),
                "/dsseEnvelope/payload/extra".to_string(),
            ),
            (
                statement(FILES, &res("w.bin", "sha256")).replace(&"ab".repeat(32), &"ab".repeat(31)),
                "/dsseEnvelope/payload/subject/0/digest/sha256".to_string(),
            ),
        ] {
            let err = parse_statement(text.as_bytes()).unwrap_err();
            assert_eq!(err.pointer, pointer, "{text}: {err}");
            assert!(!err.unsupported);
        }
        let two = format!(
            r#"[{{"name":"w.bin","algorithm":"sha256","digest":"{d}"}},{{"name":"w.bin","algorithm":"sha256","digest":"{d}"}}]"#,
            d = "cd".repeat(32)
        );
        let err = parse_statement(statement(FILES, &two).as_bytes()).unwrap_err();
        assert!(err.message.contains("twice"), "{err}");
        let shard = r#"{"method":"shards","hash_type":"sha256","allow_symlinks":false,"shard_size":16}"#;
        for name in ["w.bin", "w.bin:0:17", "w.bin:3:8", "w.bin:8:8", "w.bin:x:8"] {
            assert!(
                parse_statement(statement(shard, &res(name, "sha256-sharded-16")).as_bytes()).is_err(),
                "{name}"
            );
        }
        let old = statement(FILES, &res("w.bin", "sha256")).replace("signature/v1.0", "Digests/v0.1");
        assert!(parse_statement(old.as_bytes()).unwrap_err().unsupported);
    }
}
