//! `aibom`: every document the tests produce validates against the official CycloneDX 1.6 and
//! 1.5 JSON schemas (vendored in `src/aibom/schema/`, applied offline by the `jsonschema`
//! crate with format checks on), is read back by an independent parser (`serde-cyclonedx`)
//! with its content intact, and the fixture repository's document is a snapshot. The strict
//! validator of PyPI's `cyclonedx-python-lib` checks the same documents in
//! `aibom_python_validator`.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = "testdata/aibom";

fn schema_dir() -> &'static Path {
    Path::new("src/aibom/schema")
}

fn load(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(schema_dir().join(name)).unwrap()).unwrap()
}

/// A validator for `bom-<version>.schema.json` with the SPDX and JSF schemas it references
/// registered under their `$id`s, so nothing is fetched.
fn validator(version: &str) -> jsonschema::Validator {
    let registry = jsonschema::Registry::new()
        .add("http://cyclonedx.org/schema/spdx.schema.json", load("spdx.schema.json"))
        .unwrap()
        .add(
            "http://cyclonedx.org/schema/jsf-0.82.schema.json",
            load("jsf-0.82.schema.json"),
        )
        .unwrap()
        .prepare()
        .unwrap();
    let registry = Box::leak(Box::new(registry));
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .with_registry(registry)
        .build(&load(&format!("bom-{version}.schema.json")))
        .unwrap()
}

fn assert_valid(doc: &Value, version: &str, what: &str) {
    assert_eq!(doc["specVersion"], version, "{what}");
    let v = validator(version);
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: not valid CycloneDX {version}:\n{}",
        errors.join("\n")
    );
}

/// `llmguard aibom -q ARGS…` through the binary: the document on stdout.
fn aibom(args: &[&str]) -> (Value, std::process::Output) {
    let mut argv = vec!["aibom", "-q", "--no-progress"];
    argv.extend_from_slice(args);
    let o = common::llmguard(&argv);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "aibom {args:?} failed: {}",
        common::stderr(&o)
    );
    let doc = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("aibom {args:?}: not JSON: {e}"));
    (doc, o)
}

/// The documents every validator test checks: the fixture repository and the whole `testdata/`
/// tree, in both versions, with and without scan results.
pub fn documents() -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (tree, extra) in [
        (FIXTURE, vec![]),
        (FIXTURE, vec!["--scan"]),
        ("testdata", vec!["--scan"]),
        ("testdata/models", vec!["--no-hash"]),
        (
            "testdata/signing/models",
            vec!["--scan", "--public-key", "testdata/signing/keys/team.pub"],
        ),
    ] {
        for version in ["1.6", "1.5"] {
            let mut args = vec!["--spec-version", version];
            args.extend(extra.iter().copied());
            args.push(tree);
            let (doc, _) = aibom(&args);
            out.push((format!("aibom {}", args.join(" ")), version.to_string(), doc));
        }
    }
    out
}

#[test]
fn documents_validate_against_the_official_schemas() {
    for (what, version, doc) in documents() {
        assert_valid(&doc, &version, &what);
    }
}

#[test]
fn the_schemas_reject_what_they_should() {
    // The validator is not vacuous: a wrong component type, a licence id outside the SPDX list
    // and a field that 1.5 does not have are each refused.
    let (doc, _) = aibom(&["--no-hash", FIXTURE]);
    let mut bad = doc.clone();
    bad["components"][0]["type"] = "weights".into();
    assert!(!validator("1.6").is_valid(&bad));
    let mut bad = doc.clone();
    let model = bad["components"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["licenses"][0]["license"]["id"] == "Apache-2.0")
        .unwrap();
    model["licenses"][0]["license"]["id"] = "Apache-2.0-or-whatever".into();
    assert!(!validator("1.6").is_valid(&bad));
    let mut v15 = doc;
    v15["specVersion"] = "1.5".into();
    v15["$schema"] = "http://cyclonedx.org/schema/bom-1.5.schema.json".into();
    assert!(
        !validator("1.5").is_valid(&v15),
        "a 1.6 document with licence acknowledgements must not pass as 1.5"
    );
}

#[test]
fn fixture_document_snapshot() {
    let (doc, o) = aibom(&["--scan", FIXTURE]);
    // The only findings at or above high: the FAQ's card cannot record what check-lineage
    // requires (LIN010), and the run says so by failing.
    assert_eq!(o.status.code(), Some(1));
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    for v in vulns.iter().filter(|v| v["ratings"][0]["severity"] == "high") {
        assert_eq!(v["id"], "LIN010", "{v}");
        assert_eq!(
            v["affects"][0]["ref"],
            "data:testdata/aibom/data/faq/README.md#ACME FAQ"
        );
    }
    insta::assert_json_snapshot!("aibom_fixture", doc);
}

#[test]
fn fixture_inventory_is_what_the_files_say() {
    let (doc, _) = aibom(&["--scan", FIXTURE]);
    let comps = doc["components"].as_array().unwrap();
    let find = |r: &str| {
        comps
            .iter()
            .find(|c| c["bom-ref"] == r)
            .unwrap_or_else(|| panic!("no component {r}"))
    };
    let prop = |c: &Value, name: &str| -> Option<String> {
        c["properties"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["value"].as_str().unwrap().to_string())
    };
    // The sharded Hugging Face model: one component, every file hashed, parameters computed.
    let bot = find("model:testdata/aibom/models/support-bot");
    assert_eq!(bot["type"], "machine-learning-model");
    let files = bot["components"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    for want in [
        "testdata/aibom/models/support-bot/model-00001-of-00002.safetensors",
        "testdata/aibom/models/support-bot/model-00002-of-00002.safetensors",
        "testdata/aibom/models/support-bot/model.safetensors.index.json",
        "testdata/aibom/models/support-bot/config.json",
        "testdata/aibom/models/support-bot/README.md",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    for f in files {
        let path = f["name"].as_str().unwrap();
        let want = llmguard::digest::sha256_file(Path::new(path)).unwrap().sha256;
        assert_eq!(f["hashes"][0]["content"], want.as_str(), "{path}");
    }
    // 2 × 128×32 embeddings, 4 × 32×32 attention, 3 × 64×32 MLP, 2 × 32 norms.
    assert_eq!(prop(bot, "llmguard:parameters").as_deref(), Some("18496"));
    assert_eq!(prop(bot, "llmguard:dtypes").as_deref(), Some("F16:18496"));
    assert_eq!(bot["licenses"][0]["license"]["id"], "Apache-2.0");
    assert_eq!(bot["pedigree"]["ancestors"][0]["purl"], "pkg:huggingface/acme/base-1b");
    let mp = &bot["modelCard"]["modelParameters"];
    assert_eq!(mp["task"], "text-generation");
    assert_eq!(mp["architectureFamily"], "llama");
    assert_eq!(mp["modelArchitecture"], "LlamaForCausalLM");
    assert_eq!(
        mp["datasets"][0]["ref"],
        "data:testdata/aibom/data/support-tickets/training_data_metadata.json#support-tickets"
    );
    assert_eq!(mp["datasets"][1]["name"], "acme/chat-logs");
    assert_eq!(
        mp["datasets"][2]["ref"],
        "data:testdata/aibom/data/product-docs/croissant.json#product-docs"
    );
    assert!(bot["modelCard"]["considerations"]["useCases"][0]
        .as_str()
        .unwrap()
        .starts_with("Drafting answers"));
    // No signature beside it.
    assert_eq!(prop(bot, "llmguard:signature:status").as_deref(), Some("unsigned"));
    // The GGUF export: its own component, origin and quantisation from its metadata.
    let gguf = find("model:testdata/aibom/models/support-bot-gguf/support-bot-Q8_0.gguf");
    assert_eq!(gguf["purl"], "pkg:huggingface/acme/support-bot");
    assert_eq!(prop(gguf, "llmguard:quantisation").as_deref(), Some("Q8_0"));
    assert_eq!(prop(gguf, "llmguard:parameters").as_deref(), Some("18496"));
    // Its `general.dataset.0.repo_url` names the tickets dataset by its Hub URL.
    assert_eq!(
        gguf["modelCard"]["modelParameters"]["datasets"][0]["ref"],
        "data:testdata/aibom/data/support-tickets/training_data_metadata.json#support-tickets"
    );
    // The hub cache: the origin and revision from the path.
    let base = find("model:testdata/aibom/cache/huggingface/hub/models--acme--base-1b/snapshots/3f1c0a6e9b2d4c8e7a5f6b1d0c9e8a7b6c5d4e3f");
    assert_eq!(
        base["purl"],
        "pkg:huggingface/acme/base-1b@3f1c0a6e9b2d4c8e7a5f6b1d0c9e8a7b6c5d4e3f"
    );
    // The pickle: high serialisation risk.
    let pkl = find("model:testdata/aibom/models/legacy-classifier/classifier.pkl");
    assert_eq!(prop(pkl, "llmguard:serialisation-risk").as_deref(), Some("high"));
    // The datasets, one component each, whatever describes them. The tickets: llmguard's
    // lineage file and a dataset card in one directory are one dataset, with personal data and
    // its categories declared, and the lineage file's digest of the data file.
    let data = find("data:testdata/aibom/data/support-tickets/training_data_metadata.json#support-tickets");
    assert_eq!(
        data["data"][0]["sensitiveData"],
        serde_json::json!(["personal data", "name", "email"])
    );
    assert_eq!(data["data"][0]["classification"], "internal");
    assert_eq!(data["licenses"][0]["license"]["id"], "CC-BY-4.0");
    assert_eq!(
        prop(data, "llmguard:metadata-formats").as_deref(),
        Some("llmguard-lineage,hf-dataset-card")
    );
    let tickets = data["components"][0]["hashes"][0]["content"].as_str().unwrap();
    let want = llmguard::digest::sha256_file(Path::new("testdata/aibom/data/support-tickets/tickets.jsonl")).unwrap();
    assert_eq!(tickets, want.sha256);
    // Croissant (written by mlcroissant): licence URL to SPDX, the file's SHA-256, no personal data.
    let docs = find("data:testdata/aibom/data/product-docs/croissant.json#product-docs");
    assert_eq!(docs["licenses"][0]["license"]["id"], "CC-BY-4.0");
    assert_eq!(prop(docs, "llmguard:personal-data").as_deref(), Some("declared-none"));
    let csv = llmguard::digest::sha256_file(Path::new("testdata/aibom/data/product-docs/docs.csv")).unwrap();
    assert_eq!(docs["components"][0]["hashes"][0]["content"], csv.sha256.as_str());
    // DVC (`dvc add`): the MD5 DVC recorded, which is the file's.
    let eval = find("data:testdata/aibom/data/eval-set/eval.jsonl.dvc#eval.jsonl");
    let md5 = &eval["components"][0]["hashes"][0];
    assert_eq!(md5["alg"], "MD5");
    let want = llmguard::digest::Want {
        md5: true,
        ..Default::default()
    };
    let digests = llmguard::digest::digests_file(Path::new("testdata/aibom/data/eval-set/eval.jsonl"), want).unwrap();
    assert_eq!(md5["content"], digests.md5.unwrap().as_str());
    // A card-only dataset, named by its card.
    find("data:testdata/aibom/data/faq/README.md#ACME FAQ");
    // A model's README.md is its model card, never a dataset.
    let data_count = comps.iter().filter(|c| c["type"] == "data").count();
    assert_eq!(data_count, 4);
    // check-lineage's findings concern the dataset whose metadata they are about.
    let dangling = doc["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "LIN070")
        .expect("the tickets' upstream export is not described");
    assert_eq!(dangling["affects"][0]["ref"], data["bom-ref"]);
    // Frameworks from requirements.txt and pyproject.toml; `requests` is not one.
    assert_eq!(find("lib:pypi/torch@2.4.1")["purl"], "pkg:pypi/torch@2.4.1");
    assert_eq!(find("lib:pypi/scikit-learn@1.5.2")["type"], "library");
    assert!(comps.iter().all(|c| c["name"] != "requests"));
}

#[test]
fn serde_cyclonedx_reads_it_back() {
    use serde_cyclonedx::cyclonedx::v_1_6::CycloneDx;
    let (doc, _) = aibom(&["--scan", "testdata"]);
    let text = serde_json::to_string(&doc).unwrap();
    let bom: CycloneDx = serde_json::from_str(&text).expect("serde-cyclonedx parses the AI-BOM");
    let comps = bom.components.as_ref().expect("components");
    assert_eq!(comps.len(), doc["components"].as_array().unwrap().len());
    // Round trip through the independent types: nothing the AI-BOM says is lost.
    let back = serde_json::to_value(&bom).unwrap();
    for key in ["components", "dependencies", "vulnerabilities"] {
        assert_eq!(back[key], doc[key], "{key} changed through serde-cyclonedx");
    }
    let with_card = comps.iter().filter(|c| c.model_card.is_some()).count();
    assert!(with_card >= 3, "{with_card} model cards");
    let hashed = comps
        .iter()
        .filter(|c| c.hashes.as_ref().is_some_and(|h| !h.is_empty()))
        .count();
    assert!(hashed > 10, "{hashed} hashed components");
    let vulns = bom
        .vulnerabilities
        .as_ref()
        .expect("--scan over testdata finds malicious files");
    assert!(vulns.len() > 50, "{} vulnerabilities", vulns.len());
    assert!(vulns.iter().any(|v| v.id.as_deref() == Some("MOD101")));
}

#[test]
fn deterministic_and_timestamped_only_when_asked() {
    let (a, _) = aibom(&[FIXTURE]);
    let (b, _) = aibom(&[FIXTURE]);
    assert_eq!(a, b);
    assert!(a["metadata"].get("timestamp").is_none());
    let serial = a["serialNumber"].as_str().unwrap();
    assert!(
        serial.starts_with("urn:uuid:") && serial.as_bytes()[23] == b'5',
        "{serial}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_llmguard"))
        .args(["aibom", "-q", FIXTURE])
        .env("SOURCE_DATE_EPOCH", "1767225600")
        .output()
        .unwrap();
    let c: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["metadata"]["timestamp"], "2026-01-01T00:00:00Z");
    assert_ne!(c["serialNumber"], a["serialNumber"]);
    let (d, _) = aibom(&["--timestamp", FIXTURE]);
    assert!(d["metadata"]["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn report_formats_and_bom_file() {
    let dir = tempfile::tempdir().unwrap();
    let bom = dir.path().join("aibom.cdx.json");
    let o = common::llmguard(&[
        "aibom",
        "-q",
        "--format",
        "sarif",
        "--fail-on",
        "medium",
        "--bom-file",
        bom.to_str().unwrap(),
        FIXTURE,
    ]);
    assert_eq!(o.status.code(), Some(1), "BOM gaps are medium: --fail-on medium fails");
    let sarif: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    for want in ["BOM010", "BOM020", "BOM040", "BOM050"] {
        assert!(rules.contains(&want), "{want} not in {rules:?}");
    }
    let written: Value = serde_json::from_slice(&std::fs::read(&bom).unwrap()).unwrap();
    assert_eq!(written["bomFormat"], "CycloneDX");
    let table = common::llmguard(&["aibom", "-q", "--format", "table", FIXTURE]);
    let text = common::stdout(&table);
    assert!(text.contains("support-tickets") && text.contains("risk high"), "{text}");
    assert!(text.contains("BOM040 card-dataset-undescribed"), "{text}");
    let json = common::llmguard(&["aibom", "-q", "--format", "json", FIXTURE]);
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["command"], "aibom");
    assert!(v["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["kind"] == "library"));
    // Other subcommands do not take the document format.
    let o = common::llmguard(&["scan-model", "--format", "cyclonedx", FIXTURE]);
    assert_eq!(o.status.code(), Some(2));
    // Without --scan, scan-model's findings stay out of the report and the document.
    let (doc, o) = aibom(&[
        "--fail-on",
        "low",
        "testdata/models/malicious/proto0_global_os_system.pkl",
    ]);
    assert!(doc.get("vulnerabilities").is_none());
    assert!(!common::stderr(&o).contains("MOD101"));
    let (doc, _) = aibom(&["--scan", "testdata/models/malicious/proto0_global_os_system.pkl"]);
    assert_eq!(doc["vulnerabilities"][0]["id"], "MOD101");
    assert_eq!(doc["vulnerabilities"][0]["ratings"][0]["severity"], "critical");
    assert_eq!(
        doc["vulnerabilities"][0]["affects"][0]["ref"],
        "model:testdata/models/malicious/proto0_global_os_system.pkl"
    );
}

/// `--shard` (shared with the scanners) is refused: a share of a tree is not its inventory.
#[test]
fn shard_is_refused() {
    let o = common::llmguard(&["aibom", "-q", "--shard", "1/2", FIXTURE]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        common::stderr(&o).contains("whole tree in one run"),
        "{}",
        common::stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

/// One tree per `BOM0xx` rule: the positive fires it, the negative does not.
#[test]
fn bom_rules_fire_on_positives_only() {
    let sd = std::fs::read("testdata/aibom/models/support-bot/model-00001-of-00002.safetensors").unwrap();
    let pkl = std::fs::read("testdata/aibom/models/legacy-classifier/classifier.pkl").unwrap();
    let card = |extra: &str| format!("---\nlicense: mit\nbase_model: acme/base-1b\n{extra}---\n# card\n");
    type Tree = Vec<(&'static str, Vec<u8>)>;
    let cases: Vec<(&str, Tree, Tree)> = vec![
        (
            "BOM010",
            vec![
                ("m/model.safetensors", sd.clone()),
                ("m/README.md", b"---\nbase_model: a/b\n---\n".to_vec()),
            ],
            vec![
                ("m/model.safetensors", sd.clone()),
                ("m/README.md", card("").into_bytes()),
            ],
        ),
        (
            "BOM020",
            vec![
                ("m/model.safetensors", sd.clone()),
                ("m/README.md", b"---\nlicense: mit\n---\n".to_vec()),
            ],
            vec![
                ("m/model.safetensors", sd.clone()),
                ("m/README.md", card("").into_bytes()),
            ],
        ),
        (
            "BOM040",
            vec![
                ("m/model.safetensors", sd.clone()),
                ("m/README.md", card("datasets: [acme/unknown]\n").into_bytes()),
            ],
            vec![
                ("m/model.safetensors", sd.clone()),
                ("m/README.md", card("datasets: [acme/known]\n").into_bytes()),
                (
                    "d/dataset_metadata.json",
                    br#"{"name": "known", "source": "https://huggingface.co/datasets/acme/known", "license": "mit"}"#
                        .to_vec(),
                ),
            ],
        ),
        (
            "BOM050",
            vec![("m/weights.pkl", pkl.clone())],
            vec![
                ("m/model.safetensors", sd.clone()),
                ("m/README.md", card("").into_bytes()),
            ],
        ),
    ];
    let rules_of = |tree: &Tree, extra: &[&str]| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        for (p, bytes) in tree {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        let mut args = vec!["aibom", "-q", "--format", "json"];
        args.extend_from_slice(extra);
        let d = dir.path().to_str().unwrap().to_string();
        args.push(&d);
        let o = common::llmguard(&args);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule_id"].as_str().unwrap().to_string())
            .collect()
    };
    for (rule, positive, negative) in &cases {
        assert!(rules_of(positive, &[]).contains(&rule.to_string()), "{rule} positive");
        assert!(!rules_of(negative, &[]).contains(&rule.to_string()), "{rule} negative");
    }
    // BOM030: --no-hash leaves models unhashed.
    let tree: Tree = vec![
        ("m/model.safetensors", sd.clone()),
        ("m/README.md", card("").into_bytes()),
    ];
    assert!(rules_of(&tree, &["--no-hash"]).contains(&"BOM030".to_string()));
    assert!(!rules_of(&tree, &[]).contains(&"BOM030".to_string()));
    // BOM050 is high when a safetensors copy sits beside the pickle.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("m")).unwrap();
    std::fs::write(dir.path().join("m/config.json"), "{\"model_type\": \"llama\"}").unwrap();
    std::fs::write(dir.path().join("m/model.safetensors"), &sd).unwrap();
    std::fs::write(dir.path().join("m/pytorch_model.bin"), &pkl).unwrap();
    let o = common::llmguard(&["aibom", "-q", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "BOM050")
        .unwrap();
    assert_eq!(f["severity"], "high");
    assert_eq!(
        v["inventory"].as_array().unwrap().len(),
        1,
        "one model directory, one component"
    );
}

fn python() -> Option<std::path::PathBuf> {
    std::env::var_os("LLMGUARD_CYCLONEDX_PYTHON")
        .map(Into::into)
        .filter(|p: &std::path::PathBuf| p.is_file())
}

/// PyPI `cyclonedx-python-lib`'s `JsonStrictValidator` (the schemas it ships, applied by the
/// `jsonschema` Python package) on every document above. `.ci/run` installs it; with `CI` set a
/// missing tool fails this test, elsewhere it is skipped with a notice.
#[test]
fn aibom_python_validator() {
    let Some(py) = python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but cyclonedx-python-lib is not installed (LLMGUARD_CYCLONEDX_PYTHON; see .ci/run)"
        );
        eprintln!("SKIPPED: cyclonedx-python-lib not installed; run .ci/run or set LLMGUARD_CYCLONEDX_PYTHON");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, (what, version, doc)) in documents().into_iter().enumerate() {
        let p = dir.path().join(format!("{i}.cdx.json"));
        std::fs::write(&p, serde_json::to_vec(&doc).unwrap()).unwrap();
        files.push((what, version, p));
    }
    let script = r#"
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
bad = 0
for version, path in zip(sys.argv[1::2], sys.argv[2::2]):
    v = JsonStrictValidator(SchemaVersion.from_version(version))
    with open(path) as f:
        err = v.validate_str(f.read())
    if err is not None:
        bad += 1
        print(path, err)
print("validated", len(sys.argv[1:]) // 2, "documents,", bad, "invalid")
sys.exit(1 if bad else 0)
"#;
    let mut cmd = Command::new(py);
    cmd.arg("-c").arg(script);
    for (_, version, p) in &files {
        cmd.arg(version).arg(p);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "cyclonedx-python-lib rejects:\n{}{}\n{:?}",
        common::stdout(&o),
        common::stderr(&o),
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert!(common::stdout(&o).contains(&format!("validated {} documents, 0 invalid", files.len())));
}

const SIGNING: &str = "testdata/signing";

/// `aibom ARGS…` writing the document with `--bom-file` and the report as JSON: the document,
/// the report's findings and the exit code.
fn aibom_signed(args: &[&str]) -> (Value, Vec<Value>, i32) {
    let dir = tempfile::tempdir().unwrap();
    let bom = dir.path().join("bom.json");
    let mut argv = vec!["aibom", "-q", "--format", "json", "--bom-file", bom.to_str().unwrap()];
    argv.extend_from_slice(args);
    let o = common::llmguard(&argv);
    let code = o.status.code().unwrap_or(-1);
    assert!(matches!(code, 0 | 1), "aibom {args:?}: {}", common::stderr(&o));
    let report: Value = serde_json::from_slice(&o.stdout).unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(&bom).unwrap()).unwrap();
    (doc, report["findings"].as_array().unwrap().clone(), code)
}

/// The model component whose `bom-ref` is `model:<path>`.
fn model<'a>(doc: &'a Value, path: &str) -> &'a Value {
    let r = format!("model:{path}");
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["bom-ref"] == r.as_str())
        .unwrap_or_else(|| panic!("no component {r}"))
}

/// Every value of the component's properties called `name`.
fn props(c: &Value, name: &str) -> Vec<String> {
    c["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap().to_string())
        .collect()
}

fn rules_about(findings: &[Value], under: &str) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f["path"].as_str().unwrap().starts_with(under))
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

/// The signing fixtures (signed by the real `model-signing` tool) through `aibom`: each
/// model's status, signer, method and signature file, as scan-model verifies them.
#[test]
fn signature_status_and_signer_from_the_oms_fixtures() {
    let key = format!("{SIGNING}/keys/team.pub");
    let ok = format!("{SIGNING}/models/key-ok");
    let tampered = format!("{SIGNING}/models/tampered-byte");
    let unsigned = format!("{SIGNING}/models/unsigned");
    let keyless = format!("{SIGNING}/models/keyless");
    for version in ["1.6", "1.5"] {
        let (doc, findings, code) = aibom_signed(&[
            "--spec-version",
            version,
            "--public-key",
            &key,
            &ok,
            &tampered,
            &unsigned,
            &keyless,
        ]);
        assert_valid(&doc, version, &format!("signed fixtures, {version}"));
        assert_eq!(code, 1, "a changed file is critical: the run fails");
        // Verified with the key that signed it: status, signer, method, the signature file,
        // pinned by its digest in a native reference; and no BOM020, the signature is its origin.
        let c = model(&doc, &ok);
        assert_eq!(props(c, "llmguard:signature:status"), ["verified"]);
        let signer = props(c, "llmguard:signature:signer");
        assert_eq!(signer.len(), 1);
        assert!(
            signer[0].starts_with(&format!("key {key} (ECDSA P-256, sha256:")),
            "{signer:?}"
        );
        assert_eq!(props(c, "llmguard:signature:method"), ["key"]);
        assert_eq!(props(c, "llmguard:signature:file"), [format!("{ok}/model.sig")]);
        assert!(props(c, "llmguard:signature:problem").is_empty());
        let sig_ref = &c["externalReferences"][0];
        let kind = if version == "1.6" {
            "digital-signature"
        } else {
            "attestation"
        };
        assert_eq!(sig_ref["type"], kind);
        assert_eq!(sig_ref["url"], format!("{ok}/model.sig"));
        let digest = llmguard::digest::sha256_file(Path::new(&format!("{ok}/model.sig"))).unwrap();
        assert_eq!(sig_ref["hashes"][0]["content"], digest.sha256.as_str());
        assert_eq!(
            rules_about(&findings, &ok),
            ["BOM010", "MOD610"].map(String::from).into()
        );
        // One byte changed after signing: failed, with the signer (the signature itself held)
        // and the problem scan-model reports, which is also this run's finding; no provenance.
        let c = model(&doc, &tampered);
        assert_eq!(props(c, "llmguard:signature:status"), ["failed"]);
        assert_eq!(props(c, "llmguard:signature:signer"), signer);
        assert!(props(c, "llmguard:signature:method").is_empty());
        let problems = props(c, "llmguard:signature:problem");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("MOD605 signed-file-modified: `model.safetensors` content changed"),
            "{problems:?}"
        );
        assert_eq!(
            rules_about(&findings, &tampered),
            ["BOM010", "BOM020", "MOD605"].map(String::from).into()
        );
        // No signature: unsigned, no reference, and MOD601 since verification is on.
        let c = model(&doc, &unsigned);
        assert_eq!(props(c, "llmguard:signature:status"), ["unsigned"]);
        assert!(props(c, "llmguard:signature:file").is_empty());
        assert!(c.get("externalReferences").is_none());
        assert_eq!(
            rules_about(&findings, &unsigned),
            ["BOM010", "BOM020", "MOD601"].map(String::from).into()
        );
        // Sigstore keyless: a method llmguard cannot verify, never a pass.
        let c = model(&doc, &keyless);
        assert_eq!(props(c, "llmguard:signature:status"), ["unsupported"]);
        assert!(props(c, "llmguard:signature:problem")[0].starts_with("MOD609 signature-unsupported"));
        assert!(rules_about(&findings, &keyless).contains("BOM020"));
    }
    // The certificate method: the signer is the certificate's subject.
    let (doc, findings, _) = aibom_signed(&[
        "--certificate-chain",
        &format!("{SIGNING}/keys/root-ca.pem"),
        &format!("{SIGNING}/models/cert-ok"),
    ]);
    let c = model(&doc, &format!("{SIGNING}/models/cert-ok"));
    assert_eq!(props(c, "llmguard:signature:status"), ["verified"]);
    assert_eq!(props(c, "llmguard:signature:method"), ["certificate"]);
    assert!(props(c, "llmguard:signature:signer")[0].contains("CN="), "{c}");
    assert!(!rules_about(&findings, "").contains("BOM020"));
}

/// Without a trusted key or chain nothing is verified: a signature file makes a model
/// `signed-unverified` (never verified, no signer, no provenance) and no MOD6xx finding is made.
#[test]
fn without_trust_a_signature_is_recorded_but_not_verified() {
    let ok = format!("{SIGNING}/models/key-ok");
    let unsigned = format!("{SIGNING}/models/unsigned");
    let (doc, findings, code) = aibom_signed(&[&ok, &unsigned]);
    assert_eq!(code, 0);
    assert_valid(&doc, "1.6", "unverified signing fixtures");
    let c = model(&doc, &ok);
    assert_eq!(props(c, "llmguard:signature:status"), ["signed-unverified"]);
    assert_eq!(props(c, "llmguard:signature:file"), [format!("{ok}/model.sig")]);
    assert!(props(c, "llmguard:signature:signer").is_empty());
    assert!(props(c, "llmguard:signature:method").is_empty());
    assert_eq!(c["externalReferences"][0]["type"], "digital-signature");
    assert!(c["externalReferences"][0]["comment"]
        .as_str()
        .unwrap()
        .contains("not verified"));
    assert_eq!(props(model(&doc, &unsigned), "llmguard:signature:status"), ["unsigned"]);
    let rules = rules_about(&findings, "");
    assert!(rules.contains("BOM020"), "{rules:?}");
    assert!(rules.iter().all(|r| !r.starts_with("MOD6")), "{rules:?}");
    let bom020: Vec<&Value> = findings.iter().filter(|f| f["rule_id"] == "BOM020").collect();
    assert_eq!(bom020.len(), 2, "both models lack an origin: {bom020:?}");
    // The tampered copy is just as `signed-unverified`: unverified says nothing either way.
    let (doc, _, _) = aibom_signed(&[&format!("{SIGNING}/models/tampered-byte")]);
    let c = model(&doc, &format!("{SIGNING}/models/tampered-byte"));
    assert_eq!(props(c, "llmguard:signature:status"), ["signed-unverified"]);
}

/// `aibom` reports exactly the MOD6xx findings `scan-model` makes with the same trust, and
/// with --scan each is a vulnerability of the model it concerns (a file added to a signed
/// directory, the signature file itself, a missing file: all that model's).
#[test]
fn signature_findings_are_scan_models_and_concern_their_model() {
    let key = format!("{SIGNING}/keys/team.pub");
    let models = format!("{SIGNING}/models");
    let (doc, findings, code) = aibom_signed(&["--scan", "--public-key", &key, &models]);
    assert_eq!(code, 1);
    assert_valid(&doc, "1.6", "signing fixtures with --scan");
    let o = common::llmguard(&[
        "scan-model",
        "-q",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--public-key",
        &key,
        &models,
    ]);
    let scanned: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mod6 = |fs: &[Value]| -> BTreeSet<(String, String, String)> {
        fs.iter()
            .filter(|f| f["rule_id"].as_str().unwrap().starts_with("MOD6"))
            .map(|f| {
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["path"].as_str().unwrap().to_string(),
                    f["fingerprint"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let from_scan = mod6(scanned["findings"].as_array().unwrap());
    assert!(from_scan.len() > 20, "{from_scan:?}");
    assert_eq!(mod6(&findings), from_scan);
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    let affected = |id: &str, model: &str| {
        let want = format!("model:{models}/{model}");
        assert!(
            vulns
                .iter()
                .any(|v| v["id"] == id && v["affects"][0]["ref"] == want.as_str()),
            "no {id} affecting {want}"
        );
    };
    affected("MOD607", "tampered-added");
    affected("MOD606", "tampered-removed");
    affected("MOD602", "tampered-payload");
    affected("MOD608", "truncated");
    affected("MOD610", "sibling");
    affected("MOD610", "single/model.safetensors");
    // Every status of `SignatureStatus` shows up, each as its own word.
    let statuses: BTreeSet<String> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| props(c, "llmguard:signature:status"))
        .collect();
    assert_eq!(
        statuses,
        ["failed", "unsigned", "unsupported", "verified"]
            .map(String::from)
            .into()
    );
    // The independent parser reads the signature references back intact.
    use serde_cyclonedx::cyclonedx::v_1_6::CycloneDx;
    let bom: CycloneDx = serde_json::from_value(doc.clone()).expect("serde-cyclonedx parses it");
    let back = serde_json::to_value(&bom).unwrap();
    assert_eq!(back["components"], doc["components"]);
}

/// Trust from `llmguard.toml`'s `[signing]` section, as scan-model takes it: no flags needed.
#[test]
fn signing_trust_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(format!("{SIGNING}/keys/team.pub"), dir.path().join("team.pub")).unwrap();
    let config = dir.path().join("llmguard.toml");
    std::fs::write(&config, "[signing]\npublic_keys = [\"team.pub\"]\n").unwrap();
    let ok = format!("{SIGNING}/models/key-ok");
    let (doc, findings, _) = aibom_signed(&["--config", config.to_str().unwrap(), &ok]);
    let c = model(&doc, &ok);
    assert_eq!(props(c, "llmguard:signature:status"), ["verified"]);
    assert!(props(c, "llmguard:signature:signer")[0].contains("team.pub"));
    assert!(rules_about(&findings, "").contains("MOD610"));
    // --verify-signature with nothing trusted verifies, and fails, as scan-model does.
    let (doc, findings, _) = aibom_signed(&["--verify-signature", &ok]);
    assert_eq!(props(model(&doc, &ok), "llmguard:signature:status"), ["failed"]);
    assert!(rules_about(&findings, "").contains("MOD603"));
}

/// ONNX models carry their producer and the default domain's opset from `opset_import`.
#[test]
fn onnx_models_record_producer_and_opset() {
    let (doc, _) = aibom(&["--no-hash", "testdata/models/benign/onnx"]);
    let lr = model(&doc, "testdata/models/benign/onnx/skl_logreg.onnx");
    assert_eq!(props(lr, "llmguard:onnx:opset"), ["17"]);
    assert_eq!(props(lr, "llmguard:onnx:producer"), ["skl2onnx 1.20.0"]);
    let dynamo = model(&doc, "testdata/models/benign/onnx/torch_dynamo_mlp.onnx");
    assert_eq!(props(dynamo, "llmguard:onnx:opset"), ["20"]);
    // Every ONNX model in the directory has one.
    let onnx: Vec<&Value> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| props(c, "llmguard:format") == ["onnx"])
        .collect();
    assert!(onnx.len() >= 8, "{}", onnx.len());
    for c in onnx {
        assert_eq!(props(c, "llmguard:onnx:opset").len(), 1, "{}", c["bom-ref"]);
    }
    assert_valid(&doc, "1.6", "aibom testdata/models/benign/onnx");
}

/// `llmguard aibom -q ARGS…` run in `dir`: the exit code and the document (none when the run
/// wrote none).
fn aibom_in(dir: &Path, args: &[&str]) -> (Option<i32>, Option<Value>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_llmguard"))
        .current_dir(dir)
        .args(["aibom", "-q", "--no-progress"])
        .args(args)
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&o.stdout).ok();
    (o.status.code(), doc, common::stderr(&o))
}

/// Every `bom-ref` of the document's components, nested ones included.
fn bom_refs(doc: &Value) -> Vec<String> {
    fn walk(cs: &Value, out: &mut Vec<String>) {
        for c in cs.as_array().into_iter().flatten() {
            if let Some(r) = c["bom-ref"].as_str() {
                out.push(r.to_string());
            }
            walk(&c["components"], out);
        }
    }
    let mut out = Vec::new();
    walk(&doc["components"], &mut out);
    out
}

/// A Hugging Face hub cache as `huggingface_hub` lays it out (`snapshots/<rev>/NAME` linking to
/// `blobs/<digest>`, `testdata/aibom/cache/make_hub_cache.py`): one model, the snapshot
/// directory with the names users see and the blobs' digests; the blob paths are noted as other
/// paths to the same files, never models of their own.
#[cfg(unix)]
#[test]
fn hub_cache_links_make_one_model() {
    let rev = "9e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b";
    let repo = "testdata/aibom/cache/huggingface/hub/models--acme--tiny-encoder";
    let blob = "8eefc035d21094b51547af3f3ac7a2fd386d5201879912ac689fd49c800d13bf";
    assert!(
        std::fs::symlink_metadata(format!("{repo}/snapshots/{rev}/model.safetensors"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    for tree in [FIXTURE, "testdata/aibom/cache"] {
        for version in ["1.6", "1.5"] {
            let (doc, o) = aibom(&["--spec-version", version, tree]);
            assert!(matches!(o.status.code(), Some(0 | 1)));
            assert_valid(&doc, version, &format!("aibom {tree}"));
            let m = model(&doc, &format!("{repo}/snapshots/{rev}"));
            assert_eq!(m["purl"], format!("pkg:huggingface/acme/tiny-encoder@{rev}"));
            assert_eq!(m["version"], rev);
            assert_eq!(props(m, "llmguard:format"), ["safetensors"]);
            assert_eq!(props(m, "llmguard:parameters"), [(32 * 8 + 8 * 8 + 8).to_string()]);
            let files = m["components"].as_array().unwrap();
            let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
            assert_eq!(
                names,
                [
                    format!("{repo}/snapshots/{rev}/config.json"),
                    format!("{repo}/snapshots/{rev}/model.safetensors"),
                ]
            );
            // The weights' digest is the blob's name (huggingface_hub names LFS blobs by it).
            assert_eq!(files[1]["hashes"][0]["content"], blob);
            assert_eq!(props(&files[1], "llmguard:also-at"), [format!("{repo}/blobs/{blob}")]);
            assert_eq!(props(&files[0], "llmguard:also-at").len(), 1);
            // Nothing under blobs/ is a component of its own, and every bom-ref is unique.
            let refs = bom_refs(&doc);
            assert!(!refs.iter().any(|r| r.contains("/blobs/")), "{refs:?}");
            assert_eq!(refs.len(), refs.iter().collect::<BTreeSet<_>>().len(), "{refs:?}");
            assert_eq!(
                refs.iter()
                    .filter(|r| r.starts_with("model:") && r.contains("tiny-encoder"))
                    .count(),
                1
            );
        }
    }
}

/// The audit's case: an in-tree link to a model file, and a linked directory. The document is
/// written; the file is one component, at its own path, noting the other paths.
#[cfg(unix)]
#[test]
fn in_tree_links_are_one_component() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("a")).unwrap();
    // A pickle that scan-model has findings about, so `--scan` has vulnerabilities to place.
    std::fs::copy(
        "testdata/models/malicious/proto0_global_os_system.pkl",
        d.join("a/classifier.pkl"),
    )
    .unwrap();
    std::os::unix::fs::symlink("a/classifier.pkl", d.join("y.pkl")).unwrap();
    std::os::unix::fs::symlink("a", d.join("b")).unwrap();
    let (code, doc, err) = aibom_in(d, &["."]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    let doc = doc.unwrap();
    assert_valid(&doc, "1.6", "aibom on in-tree links");
    let refs = bom_refs(&doc);
    assert_eq!(refs, ["model:a/classifier.pkl"]);
    let m = model(&doc, "a/classifier.pkl");
    assert_eq!(props(m, "llmguard:also-at"), ["b/classifier.pkl", "y.pkl"]);
    let want = llmguard::digest::sha256_file(&d.join("a/classifier.pkl"))
        .unwrap()
        .sha256;
    assert_eq!(m["hashes"][0]["content"], want.as_str());
    // With --scan, findings about the other paths concern the same component.
    let (_, doc, _) = aibom_in(d, &["--scan", "."]);
    let doc = doc.unwrap();
    let paths: BTreeSet<&str> = doc["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["affects"][0]["ref"] == "model:a/classifier.pkl")
        .flat_map(|v| v["properties"].as_array().unwrap())
        .filter(|p| p["name"] == "llmguard:path")
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains("y.pkl") && paths.contains("a/classifier.pkl"),
        "{paths:?}"
    );
}

/// Two models whose names give the same `bom-ref` (a shard set `model-0000N-of-00002.bin`
/// groups as `model.bin`, beside a file called `model.bin`): both are in the document, the
/// second with a suffix, and the document is sound.
#[test]
fn colliding_names_get_distinct_refs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pkl = std::fs::read("testdata/aibom/models/legacy-classifier/classifier.pkl").unwrap();
    for name in ["model-00001-of-00002.bin", "model-00002-of-00002.bin", "model.bin"] {
        std::fs::write(d.join(name), &pkl).unwrap();
    }
    for _ in 0..2 {
        let (code, doc, err) = aibom_in(d, &["."]);
        assert!(matches!(code, Some(0 | 1)), "{err}");
        let doc = doc.unwrap();
        assert_valid(&doc, "1.6", "aibom on colliding names");
        let mut refs: Vec<String> = bom_refs(&doc).into_iter().filter(|r| r.starts_with("model:")).collect();
        refs.sort();
        assert_eq!(refs, ["model:model.bin", "model:model.bin+2"]);
        // The shard set comes first in the walk, so it keeps the plain name.
        assert_eq!(props(model(&doc, "model.bin"), "llmguard:files"), ["2"]);
        assert_eq!(props(model(&doc, "model.bin+2"), "llmguard:path"), ["model.bin"]);
    }
}

/// The paths and `bom-ref`s are relative to the scan root however the scanned directory is
/// spelled: `.` inside it, its name beside it, its absolute path from elsewhere (outside a git
/// work tree, the scanned directory is the root), and in this repository from its top or from
/// inside the fixture.
#[test]
fn refs_do_not_depend_on_how_the_path_is_spelled() {
    let parent = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let d = parent.path().join("repo");
    std::fs::create_dir_all(d.join("models/m")).unwrap();
    std::fs::copy(
        "testdata/aibom/models/legacy-classifier/classifier.pkl",
        d.join("models/m/classifier.pkl"),
    )
    .unwrap();
    std::fs::copy("testdata/aibom/requirements.txt", d.join("requirements.txt")).unwrap();
    let abs = d.to_str().unwrap();
    let runs = [
        aibom_in(&d, &["."]),
        aibom_in(parent.path(), &["repo"]),
        aibom_in(elsewhere.path(), &[abs]),
        aibom_in(&d.join("models"), &[".."]),
    ];
    let (code, first, err) = &runs[0];
    assert!(matches!(code, Some(0 | 1)), "{err}");
    let first = first.as_ref().unwrap();
    assert_eq!(
        bom_refs(first)
            .iter()
            .filter(|r| r.starts_with("model:"))
            .collect::<Vec<_>>(),
        ["model:models/m/classifier.pkl"]
    );
    for (i, (_, doc, err)) in runs.iter().enumerate() {
        assert_eq!(doc.as_ref(), Some(first), "spelling {i}: {err}");
    }
    // Inside this repository the root is its work tree, from wherever it is named.
    let inside = Path::new(FIXTURE).canonicalize().unwrap();
    let (_, a, _) = aibom_in(Path::new("."), &[FIXTURE]);
    let (_, b, _) = aibom_in(&inside, &["."]);
    let (_, c, _) = aibom_in(elsewhere.path(), &[inside.to_str().unwrap()]);
    assert!(a.is_some() && a == b && a == c);
}
