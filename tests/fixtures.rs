//! Every fixture in `testdata/models/manifest.json` against the scanner: each malicious or
//! malformed file fires the rules it names and resolves the imports it hides; each benign file,
//! written by the real producers, stays below medium. Also: every rule has a positive example.

mod common;

use llmguard::finding::Severity;
use llmguard::rules::Rule;
use std::collections::{BTreeMap, BTreeSet};

fn findings_by_path() -> BTreeMap<String, Vec<llmguard::finding::Finding>> {
    let report = common::scan(&["testdata/models"]);
    let mut by: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for f in report.findings {
        by.entry(f.path.clone()).or_default().push(f);
    }
    by
}

#[test]
fn malicious_fixtures_fire_their_rules_and_resolve_their_imports() {
    let by = findings_by_path();
    let mut failures = Vec::new();
    for e in common::manifest().iter().filter(|e| e.kind != "benign") {
        let path = format!("testdata/models/{}", e.file);
        let found = by.get(&path).cloned().unwrap_or_default();
        let rules: BTreeSet<&str> = found.iter().map(|f| f.rule.id()).collect();
        for want in &e.expect {
            if !rules.contains(want.as_str()) {
                failures.push(format!("{path} ({}): {want} did not fire; got {rules:?}", e.technique));
            }
        }
        let text: String = found
            .iter()
            .map(|f| format!("{} {} ", f.message, f.evidence.as_deref().unwrap_or("")))
            .collect();
        for import in &e.imports {
            if !text.contains(import.as_str()) {
                failures.push(format!("{path}: import `{import}` was not reported"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dangerous_imports_are_high_or_critical() {
    let by = findings_by_path();
    for e in common::manifest()
        .iter()
        .filter(|e| e.expect.iter().any(|r| r == "MOD101"))
    {
        let path = format!("testdata/models/{}", e.file);
        let worst = by[&path]
            .iter()
            .filter(|f| f.rule == Rule::PickleDangerousImport)
            .map(|f| f.severity)
            .max();
        assert!(worst >= Some(Severity::High), "{path}: {worst:?}");
    }
}

#[test]
fn benign_fixtures_from_real_producers_stay_quiet() {
    let by = findings_by_path();
    let benign: Vec<_> = common::manifest().into_iter().filter(|e| e.kind == "benign").collect();
    assert!(benign.len() >= 40, "the benign corpus shrank to {}", benign.len());
    for e in benign {
        let path = format!("testdata/models/{}", e.file);
        for f in by.get(&path).map(Vec::as_slice).unwrap_or_default() {
            assert!(
                f.severity < Severity::Medium,
                "{path}: {} {} {}",
                f.rule.id(),
                f.severity,
                f.message
            );
            assert!(
                e.expect.iter().any(|r| r == f.rule.id()),
                "{path}: unexpected {} {}",
                f.rule.id(),
                f.message
            );
        }
    }
}

#[test]
fn every_fixture_is_listed_in_the_manifest() {
    let listed: BTreeSet<String> = common::manifest().into_iter().map(|e| e.file).collect();
    let report = common::scan(&["testdata/models"]);
    for a in report.artifacts {
        let rel = a.path.trim_start_matches("testdata/models/").to_string();
        if (rel.starts_with("manifest") && rel.ends_with(".json")) || rel.ends_with("GLOBALS.txt") {
            continue;
        }
        assert!(listed.contains(&rel), "{rel} is not in any manifest*.json");
    }
}

/// Rules whose positive examples cannot be a committed file: they are exercised by the unit
/// tests named here instead.
const TESTED_ELSEWHERE: &[(&str, &str)] = &[
    // aibom's gaps are about a tree (a model directory, its card, the datasets beside it): each
    // has a positive and a negative tree there, and testdata/aibom/ shows four of them.
    ("BOM010", "tests/aibom.rs::bom_rules_fire_on_positives_only"),
    ("BOM020", "tests/aibom.rs::bom_rules_fire_on_positives_only"),
    ("BOM030", "tests/aibom.rs::bom_rules_fire_on_positives_only"),
    ("BOM040", "tests/aibom.rs::bom_rules_fire_on_positives_only"),
    ("BOM050", "tests/aibom.rs::bom_rules_fire_on_positives_only"),
    ("GEN001", "tests/fixtures.rs::vanished_file_is_unreadable"),
    ("GEN003", "src/walk.rs::links_outside_root_are_reported_not_followed"),
    ("GEN004", "src/walk.rs::links_outside_root_are_reported_not_followed"),
    ("GEN005", "src/scan/mod.rs::panics_become_findings"),
    ("GEN007", "tests/prompts.rs::redaction_failures_are_findings"),
    // These need an llmguard.toml beside the scanned files.
    (
        "GEN008",
        "tests/config.rs::severity_overrides_disabled_rules_and_unused_entries",
    ),
    ("GEN009", "tests/config.rs::inline_ignores_count_only_in_trusted_paths"),
    ("GEN010", "tests/config.rs::inline_ignores_count_only_in_trusted_paths"),
    // OMS signatures: testdata/signing/fixtures.json, checked by tests/signing.rs.
    (
        "MOD601",
        "tests/signing.rs::every_fixture_yields_its_findings (models/unsigned)",
    ),
    (
        "MOD602",
        "tests/signing.rs::every_fixture_yields_its_findings (tampered-payload)",
    ),
    (
        "MOD603",
        "tests/signing.rs::every_fixture_yields_its_findings (wrong-key, cert-wrong-ca)",
    ),
    (
        "MOD604",
        "tests/signing.rs::every_fixture_yields_its_findings (cert-expired)",
    ),
    (
        "MOD605",
        "tests/signing.rs::every_fixture_yields_its_findings (tampered-byte)",
    ),
    (
        "MOD606",
        "tests/signing.rs::every_fixture_yields_its_findings (tampered-removed)",
    ),
    (
        "MOD607",
        "tests/signing.rs::every_fixture_yields_its_findings (tampered-added)",
    ),
    (
        "MOD608",
        "tests/signing.rs::every_fixture_yields_its_findings (truncated)",
    ),
    (
        "MOD609",
        "tests/signing.rs::every_fixture_yields_its_findings (keyless)",
    ),
    (
        "MOD610",
        "tests/signing.rs::every_fixture_yields_its_findings (key-ok, cert-ok, …)",
    ),
];

#[test]
fn every_rule_has_a_positive_example() {
    let mut covered: BTreeSet<String> = common::manifest()
        .into_iter()
        .chain(common::prompts_manifest())
        .flat_map(|e| e.expect)
        .collect();
    covered.extend(TESTED_ELSEWHERE.iter().map(|(id, _)| id.to_string()));
    // POL rules: a `testdata/policy/<format>/POLxxx-*.yaml` fixture each, run by tests/policy.rs.
    for dir in ["native", "kubernetes", "opensearch"] {
        for e in std::fs::read_dir(format!("testdata/policy/{dir}")).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(id) = name.get(..6).filter(|id| id.starts_with("POL")) {
                covered.insert(id.to_string());
            }
        }
    }
    // Lineage rules: one directory per rule, run by tests/lineage.rs.
    covered.extend(
        Rule::ALL
            .iter()
            .map(|r| r.id())
            .filter(|id| std::path::Path::new(&format!("testdata/lineage/rules/{id}/positive")).is_dir())
            .map(str::to_string),
    );
    let missing: Vec<_> = Rule::ALL
        .iter()
        .map(|r| r.id())
        .filter(|id| !covered.contains(*id))
        .collect();
    assert!(missing.is_empty(), "rules without a positive example: {missing:?}");
}

#[test]
fn vanished_file_is_unreadable() {
    let rules = llmguard::rules::RuleSet::builtin().unwrap();
    let scanner = llmguard::scan::model::ModelScanner {
        rules: &rules,
        limits: Default::default(),
        hash: false,
    };
    let t = llmguard::walk::Target {
        display: "gone.pkl".into(),
        path: "testdata/definitely/gone.pkl".into(),
    };
    let out = scanner.scan(&t);
    assert_eq!(out.findings[0].rule, Rule::UnreadableFile);
    assert!(
        out.findings[0].message.contains("No such file"),
        "{}",
        out.findings[0].message
    );
    assert_eq!(out.artifact.verdict, llmguard::report::Verdict::Error);
}

#[test]
fn hash_flag_reports_sha256() {
    let report = common::scan(&["--hash", "testdata/models/malicious/proto0_global_os_system.pkl"]);
    let sha = report.artifacts[0].sha256.clone().unwrap();
    let bytes = std::fs::read("testdata/models/malicious/proto0_global_os_system.pkl").unwrap();
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, want);
}

#[test]
fn formats_are_detected_by_content_not_extension() {
    let report = common::scan(&[
        "testdata/models/malicious/misnamed",
        "testdata/models/benign/torch",
        "testdata/models/benign/sklearn_numpy2",
    ]);
    let format: BTreeMap<_, _> = report
        .artifacts
        .iter()
        .map(|a| (a.path.rsplit('/').next().unwrap().to_string(), a.format.clone()))
        .collect();
    assert_eq!(format["model.safetensors"], "pickle");
    assert_eq!(format["weights.npy"], "pickle");
    assert_eq!(format["linear_state_dict.pt"], "pytorch-zip");
    assert_eq!(format["linear_state_dict_legacy.pt"], "pytorch-legacy");
    assert_eq!(format["logreg.joblib"], "joblib");
    assert_eq!(format["logreg.compress3.joblib"], "joblib");
    let report = common::scan(&["testdata/models/benign/joblib_compressors"]);
    assert_eq!(report.artifacts.len(), 6);
    for a in &report.artifacts {
        assert_eq!(a.format, "joblib", "{}", a.path);
        assert_eq!(a.verdict, llmguard::report::Verdict::Clean, "{}", a.path);
    }
}
