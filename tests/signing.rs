//! OMS signature verification (`scan-model --verify-signature`) against fixtures signed by the
//! real `model-signing` tool (`testdata/signing/generate.py`), and a round trip through that
//! tool: every fixture verifies in llmguard exactly when `model_signing verify` accepts it,
//! except the documented deviations in `testdata/signing/fixtures.json`. `.ci/run` installs
//! the tool; with `CI` set a missing tool fails the round trip, elsewhere it is skipped.

mod common;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const DIR: &str = "testdata/signing";

#[derive(Debug, Deserialize)]
struct Case {
    model: String,
    signature: Option<String>,
    method: String,
    trust: String,
    expect: Vec<String>,
    /// `accepts`, `rejects`, or null where the tool cannot be run on it offline.
    tool: Option<String>,
    #[serde(default)]
    deviation: Option<String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(format!("{DIR}/fixtures.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn trust_flag(c: &Case) -> &'static str {
    if c.trust.ends_with(".pub") {
        "--public-key"
    } else {
        "--certificate-chain"
    }
}

/// `scan-model --verify-signature` on one fixture: the report's findings.
fn scan(c: &Case) -> Vec<Value> {
    let model = format!("{DIR}/{}", c.model);
    let trust = format!("{DIR}/{}", c.trust);
    let args = [
        "scan-model",
        "-q",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--verify-signature",
        trust_flag(c),
        &trust,
        &model,
    ];
    let o = common::llmguard(&args);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["findings"].as_array().unwrap().clone()
}

fn mod6(findings: &[Value]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .filter(|r| r.starts_with("MOD6"))
        .collect()
}

fn verified(findings: &[Value]) -> bool {
    let rules = mod6(findings);
    rules.contains("MOD610") && rules.len() == 1
}

#[test]
fn every_fixture_yields_its_findings() {
    for c in cases() {
        let findings = scan(&c);
        let want: BTreeSet<String> = c.expect.iter().cloned().collect();
        assert_eq!(mod6(&findings), want, "{}: {findings:#?}", c.model);
        // Nothing else fires on these small, benign models.
        let other: Vec<_> = findings
            .iter()
            .filter(|f| !f["rule_id"].as_str().unwrap().starts_with("MOD6"))
            .collect();
        assert!(other.is_empty(), "{}: {other:#?}", c.model);
    }
}

#[test]
fn findings_name_the_file_concerned() {
    let by_model = |m: &str| {
        let c = cases().into_iter().find(|c| c.model == m).unwrap();
        scan(&c)
    };
    let f = by_model("models/tampered-byte");
    assert_eq!(f[0]["path"], format!("{DIR}/models/tampered-byte/model.safetensors"));
    assert_eq!(f[0]["severity"], "critical");
    let evidence = f[0]["evidence"].as_str().unwrap();
    assert!(
        evidence.starts_with("signed sha256:") && evidence.contains(" now sha256:"),
        "{evidence}"
    );
    let f = by_model("models/tampered-added");
    assert_eq!(
        f[0]["path"],
        format!("{DIR}/models/tampered-added/tokenizer/merges.txt")
    );
    let f = by_model("models/tampered-removed");
    assert_eq!(
        f[0]["path"],
        format!("{DIR}/models/tampered-removed/tokenizer/vocab.txt")
    );
    let f = by_model("models/truncated");
    assert_eq!(f[0]["path"], format!("{DIR}/models/truncated/model.sig"));
    let f = by_model("models/unsigned");
    assert_eq!(f[0]["path"], format!("{DIR}/models/unsigned/model.safetensors"));
    // The verified note names the signer.
    let f = by_model("models/cert-ok");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("CN=model-signer") && msg.contains("CN=ec-root"), "{msg}");
    let f = by_model("models/key-ok");
    let msg = f[0]["message"].as_str().unwrap();
    assert!(msg.contains("team.pub") && msg.contains("ECDSA P-256"), "{msg}");
    assert_eq!(f[0]["path"], format!("{DIR}/models/key-ok/model.sig"));
    // Malformed bundles point into the bundle.
    let c = cases().into_iter().find(|c| c.model == "models/key-ok").unwrap();
    let dir = copy_fixture(&c.model);
    let sig = dir.path().join("m/model.sig");
    let text = std::fs::read_to_string(&sig).unwrap();
    std::fs::write(&sig, text.replace("vnd.in-toto+json", "vnd.other+json")).unwrap();
    let f = scan_dir(&dir.path().join("m"), &c);
    assert_eq!(f[0]["rule_id"], "MOD608");
    assert_eq!(f[0]["location"]["key_path"], "/dsseEnvelope/payloadType");
}

fn copy_fixture(model: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = PathBuf::from(DIR).join(model);
    copy_dir(&src, &dir.path().join("m"));
    dir
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

fn scan_dir(model: &Path, c: &Case) -> Vec<Value> {
    let trust = std::fs::canonicalize(format!("{DIR}/{}", c.trust)).unwrap();
    let o = common::llmguard(&[
        "scan-model",
        "-q",
        "--format",
        "json",
        "--fail-on",
        "never",
        trust_flag(c),
        trust.to_str().unwrap(),
        model.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("MOD6"))
        .cloned()
        .collect()
}

#[test]
fn a_changed_shard_is_located_and_symlinks_are_refused() {
    let c = cases().into_iter().find(|c| c.model == "models/key-shards").unwrap();
    let dir = copy_fixture(&c.model);
    let m = dir.path().join("m");
    let mut bytes = std::fs::read(m.join("model.safetensors")).unwrap();
    bytes[20] ^= 1;
    std::fs::write(m.join("model.safetensors"), &bytes).unwrap();
    let f = scan_dir(&m, &c);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["rule_id"], "MOD605");
    assert_eq!(f[0]["location"]["byte_offset"], 16);
    assert_eq!(f[0]["location"]["byte_length"], 16);
    // A size change is one finding for the file, not one per shard.
    bytes.push(0);
    std::fs::write(m.join("model.safetensors"), &bytes).unwrap();
    let f = scan_dir(&m, &c);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0]["message"].as_str().unwrap().contains("size changed"));
    #[cfg(unix)]
    {
        let c = cases().into_iter().find(|c| c.model == "models/key-ok").unwrap();
        let dir = copy_fixture(&c.model);
        let m = dir.path().join("m");
        std::fs::rename(m.join("config.json"), dir.path().join("config.json")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("config.json"), m.join("config.json")).unwrap();
        let f = scan_dir(&m, &c);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0]["rule_id"], "MOD605");
        assert!(f[0]["message"].as_str().unwrap().contains("symbolic link"));
        // Ignored paths stay ignored: files under .git do not count.
        std::fs::remove_file(m.join("config.json")).unwrap();
        std::fs::rename(dir.path().join("config.json"), m.join("config.json")).unwrap();
        std::fs::create_dir_all(m.join(".git")).unwrap();
        std::fs::write(m.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        assert_eq!(scan_dir(&m, &c)[0]["rule_id"], "MOD610");
    }
}

#[test]
fn a_tree_of_models_is_verified_model_by_model() {
    // Both keys and both roots: every signed model is found, by `model.sig` inside it or
    // `NAME.sig` beside it, and `--jobs` does not change the report.
    let base = [
        "scan-model",
        "-q",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--public-key",
        "testdata/signing/keys/team.pub",
        "--public-key",
        "testdata/signing/keys/team-p384.pub",
        "--certificate-chain",
        "testdata/signing/keys/root-ca.pem",
        "--certificate-chain",
        "testdata/signing/keys/rsa-root-ca.pem",
        "testdata/signing/models",
    ];
    let one = common::llmguard(&[&base[..], &["--jobs", "1"]].concat());
    let many = common::llmguard(&[&base[..], &["--jobs", "4"]].concat());
    assert_eq!(one.stdout, many.stdout);
    let v: Value = serde_json::from_slice(&one.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    for c in cases() {
        let prefix = format!("{DIR}/{}", c.model);
        let rules: BTreeSet<String> = findings
            .iter()
            .filter(|f| {
                let p = f["path"].as_str().unwrap();
                p == prefix || p.starts_with(&format!("{prefix}/")) || p == format!("{prefix}.sig")
            })
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect();
        let want: BTreeSet<String> = c.expect.iter().cloned().collect();
        assert_eq!(rules, want, "{}", c.model);
    }
    // Without --verify-signature (and no [signing] config) nothing is verified.
    let o = common::llmguard(&[
        "scan-model",
        "-q",
        "--format",
        "json",
        "--fail-on",
        "never",
        "testdata/signing/models",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(mod6(v["findings"].as_array().unwrap()), BTreeSet::new());
}

#[test]
fn signing_section_of_the_config_needs_no_flags() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    copy_dir(Path::new("testdata/signing/models/key-ok"), &root.join("models/good"));
    copy_dir(Path::new("testdata/signing/models/unsigned"), &root.join("models/new"));
    std::fs::create_dir_all(root.join("signing")).unwrap();
    std::fs::copy("testdata/signing/keys/team.pub", root.join("signing/team.pub")).unwrap();
    std::fs::write(
        root.join("llmguard.toml"),
        "[signing]\npublic_keys = [\"signing/team.pub\"]\nrequire = [\"models/**/*.json\"]\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_llmguard"))
        .args(["scan-model", "-q", "--format", "json", "models"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let got: BTreeSet<(String, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().into(),
                f["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("MOD610", "models/good/model.sig"),
        // A model file, and a JSON file that `require` lists.
        ("MOD601", "models/new/model.safetensors"),
        ("MOD601", "models/new/config.json"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    // A key file that does not parse is an error of the run.
    std::fs::write(root.join("signing/team.pub"), "not a key").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_llmguard"))
        .args(["scan-model", "-q", "models"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("team.pub"));
}

#[test]
fn library_api_reports_status_and_signer() {
    use llmguard::signing::{verify_model_dir, SignatureStatus, Trust};
    let trust = Trust::load(&[PathBuf::from("testdata/signing/keys/team.pub")], &[]).unwrap();
    match verify_model_dir(Path::new("testdata/signing/models/key-ok"), &trust, Some(2)) {
        SignatureStatus::Verified(v) => {
            assert_eq!(v.method, "key");
            assert_eq!(v.files, 3);
            assert!(v.signer.contains("team.pub"));
        }
        other => panic!("{other:?}"),
    }
    let s = verify_model_dir(Path::new("testdata/signing/models/sibling"), &trust, None);
    assert_eq!(s.label(), "verified");
    let s = verify_model_dir(
        Path::new("testdata/signing/models/single/model.safetensors"),
        &trust,
        None,
    );
    assert_eq!(s.label(), "verified");
    assert_eq!(
        verify_model_dir(Path::new("testdata/signing/models/unsigned"), &trust, None),
        SignatureStatus::Unsigned
    );
    let s = verify_model_dir(Path::new("testdata/signing/models/tampered-byte"), &trust, None);
    assert_eq!(s.label(), "failed");
    assert!(s.signer().is_some(), "the signature itself verified");
    let s = verify_model_dir(Path::new("testdata/signing/models/wrong-key"), &trust, None);
    assert_eq!((s.label(), s.signer()), ("failed", None));
    assert_eq!(
        verify_model_dir(Path::new("testdata/signing/models/keyless"), &trust, None).label(),
        "unsupported"
    );
}

/// The structural rules of the OMS v1.0 schemas (bundle, envelope, statement, predicate, read
/// in `schemas/v1.0/` of the copy `sampras343/model-signing-spec` at commit ca958ac7c, where no
/// licence file could be found, so they are encoded here rather than vendored), written
/// independently of llmguard's parser.
fn schema_violations(bundle: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            out.push(what.to_string());
        }
    };
    let obj = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let only = |v: &Value, keys: &[&str]| obj(v).keys().all(|k| keys.contains(&k.as_str()));
    let hex = |v: &Value| {
        v.as_str()
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    };
    need(
        only(bundle, &["mediaType", "verificationMaterial", "dsseEnvelope"]),
        "bundle: extra keys",
    );
    need(
        bundle["mediaType"]
            .as_str()
            .is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.bundle")),
        "bundle: mediaType",
    );
    let vm = &bundle["verificationMaterial"];
    let key =
        vm["publicKey"].is_object() && (vm["publicKey"]["hint"].is_string() || vm["publicKey"]["rawBytes"].is_string());
    let chain = vm["x509CertificateChain"]["certificates"]
        .as_array()
        .is_some_and(|c| !c.is_empty() && c.iter().all(|x| x["rawBytes"].as_str().is_some_and(|r| !r.is_empty())));
    let keyless = vm["certificate"]["rawBytes"].is_string() && vm["tlogEntries"].is_array();
    need(
        key || chain || keyless,
        "verificationMaterial: no key, chain or certificate",
    );
    need(
        vm["tlogEntries"].is_null() || vm["tlogEntries"].is_array(),
        "tlogEntries: not an array",
    );
    let env = &bundle["dsseEnvelope"];
    need(
        only(env, &["payload", "payloadType", "signatures"]),
        "envelope: extra keys",
    );
    need(
        env["payloadType"] == "application/vnd.in-toto+json",
        "envelope: payloadType",
    );
    let sigs = env["signatures"].as_array().cloned().unwrap_or_default();
    need(!sigs.is_empty(), "envelope: no signatures");
    for s in &sigs {
        need(only(s, &["sig", "keyid"]), "signature: extra keys");
        need(s["sig"].as_str().is_some_and(|x| !x.is_empty()), "signature: sig");
        need(s["keyid"].is_null() || s["keyid"].is_string(), "signature: keyid");
    }
    let payload = base64::engine::general_purpose::STANDARD
        .decode(env["payload"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let st: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
    need(
        only(&st, &["_type", "subject", "predicateType", "predicate"]),
        "statement: extra keys",
    );
    need(st["_type"] == "https://in-toto.io/Statement/v1", "statement: _type");
    need(
        st["predicateType"] == "https://model_signing/signature/v1.0",
        "statement: predicateType",
    );
    let subjects = st["subject"].as_array().cloned().unwrap_or_default();
    need(subjects.len() == 1, "statement: exactly one subject");
    for s in &subjects {
        need(s["name"].as_str().is_some_and(|n| !n.is_empty()), "subject: name");
        let d = obj(&s["digest"]);
        need(!d.is_empty() && d.values().all(hex), "subject: digest set");
    }
    let pred = &st["predicate"];
    need(only(pred, &["resources", "serialization"]), "predicate: extra keys");
    let ser = &pred["serialization"];
    need(
        only(
            ser,
            &["method", "hash_type", "shard_size", "allow_symlinks", "ignore_paths"],
        ),
        "serialization: extra keys",
    );
    let method = ser["method"].as_str().unwrap_or_default();
    need(["files", "shards"].contains(&method), "serialization: method");
    let hash_types = ["sha256", "blake2b", "blake3"];
    need(
        hash_types.contains(&ser["hash_type"].as_str().unwrap_or_default()),
        "serialization: hash_type",
    );
    need(ser["allow_symlinks"].is_boolean(), "serialization: allow_symlinks");
    // JSON Schema's "integer" admits 16.0.
    let shard = ser["shard_size"].as_f64();
    need(
        shard.is_none_or(|s| s > 0.0 && s.fract() == 0.0),
        "serialization: shard_size is a positive integer",
    );
    need(
        method != "shards" || shard.is_some(),
        "serialization: shards needs shard_size",
    );
    need(
        ser["ignore_paths"].is_null()
            || ser["ignore_paths"]
                .as_array()
                .is_some_and(|a| a.iter().all(|p| p.as_str().is_some_and(|p| !p.is_empty()))),
        "serialization: ignore_paths",
    );
    for r in pred["resources"].as_array().cloned().unwrap_or_default() {
        need(r["name"].as_str().is_some_and(|n| !n.is_empty()), "resource: name");
        need(hex(&r["digest"]), "resource: digest");
        let alg = r["algorithm"].as_str().unwrap_or_default();
        // The one place the reference tool departs from the schema's enum: shard digests are
        // named `sha256-sharded-<size>` (and the tool compares that name when verifying).
        let sharded = method == "shards" && alg == format!("sha256-sharded-{}", shard.unwrap_or(0.0) as u64);
        need(hash_types.contains(&alg) || sharded, "resource: algorithm");
    }
    out
}

#[test]
fn accepted_bundles_follow_the_oms_schemas() {
    let mut accepted = 0;
    for c in cases() {
        let Some(sig) = &c.signature else { continue };
        if !verified(&scan(&c)) {
            continue;
        }
        accepted += 1;
        let bundle: Value = serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/{sig}")).unwrap()).unwrap();
        let v = schema_violations(&bundle);
        assert!(v.is_empty(), "{sig}: {v:?}");
    }
    assert!(accepted >= 7, "only {accepted} fixtures verified");
    // The encoded rules do reject: a bundle with an extra field, and one whose predicate is
    // not OMS.
    let text = std::fs::read_to_string(format!("{DIR}/models/key-ok/model.sig")).unwrap();
    let mut b: Value = serde_json::from_str(&text).unwrap();
    b["extra"] = Value::Bool(true);
    assert!(!schema_violations(&b).is_empty());
}

/// A Python interpreter with `model_signing` importable: `LLMGUARD_MODEL_SIGNING_PYTHON`, or
/// the venv `.ci/run` makes.
fn tool_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LLMGUARD_MODEL_SIGNING_PYTHON").map(PathBuf::from),
        Some(PathBuf::from(".ci/tools/venv/bin/python")),
    ];
    candidates
        .into_iter()
        .flatten()
        // Made absolute (not resolved: a venv's python must keep its path): the round trip runs
        // it from testdata/signing.
        .map(|p| {
            if p.components().count() > 1 {
                std::path::absolute(&p).unwrap_or(p)
            } else {
                p
            }
        })
        .find(|p| {
            Command::new(p)
                .args(["-c", "import model_signing"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

#[test]
fn round_trip_with_the_real_model_signing_tool() {
    let Some(python) = tool_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but model-signing is not installed (see .ci/run)"
        );
        eprintln!("SKIPPED: model-signing not installed; run .ci/run or set LLMGUARD_MODEL_SIGNING_PYTHON");
        return;
    };
    let mut compared = 0;
    for c in cases() {
        let (Some(tool), Some(sig)) = (&c.tool, &c.signature) else {
            continue;
        };
        let o = Command::new(&python)
            .arg("tool_verify.py")
            .args([&c.method, &c.model, sig, &c.trust])
            .current_dir(DIR)
            .output()
            .unwrap();
        let accepts = o.status.success();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(accepts, tool == "accepts", "{}: model_signing said: {said}", c.model);
        let ours = verified(&scan(&c));
        match &c.deviation {
            None => assert_eq!(
                ours, accepts,
                "{}: llmguard and model_signing disagree; the tool said: {said}",
                c.model
            ),
            // Documented: llmguard is stricter than the tool, never laxer.
            Some(_) => assert!(
                accepts && !ours,
                "{}: the documented deviation no longer holds",
                c.model
            ),
        }
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} fixtures compared");
}

#[test]
fn naming_one_file_verifies_its_model_and_pgp_signatures_are_not_bundles() {
    let c = cases().into_iter().find(|c| c.model == "models/key-ok").unwrap();
    let f = scan_dir(Path::new("testdata/signing/models/key-ok/tokenizer/vocab.txt"), &c);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["rule_id"], "MOD610");
    assert_eq!(f[0]["path"], "testdata/signing/models/key-ok/model.sig");
    // An OpenPGP `NAME.sig` beside a model is not an OMS bundle: the model is unsigned.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "testdata/signing/models/unsigned/model.safetensors",
        dir.path().join("w.safetensors"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("w.safetensors.sig"),
        "-----BEGIN PGP SIGNATURE-----\n\niQEz\n-----END PGP SIGNATURE-----\n",
    )
    .unwrap();
    let f = scan_dir(dir.path(), &c);
    let rules: Vec<_> = f.iter().map(|f| f["rule_id"].as_str().unwrap()).collect();
    assert_eq!(rules, ["MOD601"], "{f:#?}");
}

/// The SARIF of a signature scan (findings on the bundle with key paths, byte ranges of
/// shards, files that do not exist any more) passes Microsoft's SARIF Multitool, like the
/// other scans in tests/sarif_validator.rs.
#[test]
fn signature_findings_pass_the_sarif_multitool() {
    let tool = [
        std::env::var_os("LLMGUARD_SARIF_MULTITOOL").map(PathBuf::from),
        Some(PathBuf::from(
            ".ci/tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool",
        )),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_file());
    let Some(tool) = tool else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the SARIF Multitool is not installed (see .ci/run)"
        );
        eprintln!("SKIPPED: SARIF Multitool not installed; run .ci/run or set LLMGUARD_SARIF_MULTITOOL");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("signing.sarif");
    let log = dir.path().join("validation.sarif");
    let o = common::llmguard(&[
        "scan-model",
        "-q",
        "--format",
        "sarif",
        "--output",
        input.to_str().unwrap(),
        "--public-key",
        "testdata/signing/keys/team.pub",
        "--certificate-chain",
        "testdata/signing/keys/root-ca.pem",
        "testdata/signing/models",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", common::stderr(&o));
    let sarif = std::fs::read_to_string(&input).unwrap();
    for rule in ["MOD601", "MOD603", "MOD605", "MOD606", "MOD608", "MOD610"] {
        assert!(sarif.contains(rule), "{rule} missing from the SARIF");
    }
    let status = Command::new(&tool)
        .args([
            "validate",
            "--rule-kind",
            "Gh;Sarif",
            "--level",
            "Error;Warning",
            "--output",
        ])
        .arg(&log)
        .arg(&input)
        .status()
        .expect("multitool runs");
    assert!(status.success(), "multitool exited with {status}");
    let v: Value = serde_json::from_slice(&std::fs::read(&log).unwrap()).unwrap();
    let problems: Vec<String> = v["runs"][0]["results"]
        .as_array()
        .map(|rs| rs.iter().map(|r| format!("{} {}", r["ruleId"], r["message"])).collect())
        .unwrap_or_default();
    assert!(
        problems.is_empty(),
        "SARIF validation problems:\n{}",
        problems.join("\n")
    );
}
