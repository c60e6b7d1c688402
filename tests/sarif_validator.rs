//! SARIF output checked by Microsoft's SARIF Multitool (`validate --rule-kind "Gh;Sarif"`),
//! which applies the SARIF 2.1.0 schema and GitHub code scanning's ingestion rules together.
//! `.ci/run` installs it; in CI (`CI` set) a missing tool fails this test, elsewhere it is
//! skipped with a notice on stderr.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn multitool() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LLMGUARD_SARIF_MULTITOOL").map(PathBuf::from),
        Some(PathBuf::from(
            ".ci/tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool",
        )),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

#[test]
fn sarif_passes_the_multitool_with_no_errors_or_warnings() {
    let Some(tool) = multitool() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the SARIF Multitool is not installed (see .ci/run)"
        );
        eprintln!("SKIPPED: SARIF Multitool not installed; run .ci/run or set LLMGUARD_SARIF_MULTITOOL");
        return;
    };
    // The whole fixture trees: every rule family, member findings, whole-file findings, and
    // text findings with line/column regions.
    validate(&tool, "scan-model", "testdata/models", &[]);
    validate(&tool, "scan-prompts", "testdata/prompts/samples", &[]);
    // Policy findings: line/column regions with key paths, every POL rule's fixture.
    validate(
        &tool,
        "lint-policy",
        "testdata/policy/native",
        &["--as-of", "2026-01-01"],
    );
    // Lineage: metadata lines and key paths, data-file findings, every LIN rule.
    validate(&tool, "check-lineage", "testdata/lineage", &["--sample-pii"]);
    // Suppressed results: the malicious pickles' findings as a baseline, the rest of the tree
    // reported as usual.
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    let o = common::llmguard(&["scan-model", "-q", "--format", "json", "testdata/models/malicious"]);
    std::fs::write(&baseline, &o.stdout).unwrap();
    validate(
        &tool,
        "scan-model",
        "testdata/models",
        &["--baseline", baseline.to_str().unwrap()],
    );
}

fn validate(tool: &std::path::Path, command: &str, tree: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("llmguard.sarif");
    let log = dir.path().join("validation.sarif");
    let o = common::llmguard(
        &[
            command,
            "-q",
            "--format",
            "sarif",
            "--output",
            input.to_str().unwrap(),
            tree,
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect::<Vec<_>>(),
    );
    // With the baseline every high finding is suppressed, so that run passes.
    let baseline = extra.contains(&"--baseline");
    let want = if baseline { 0 } else { 1 };
    assert_eq!(o.status.code(), Some(want), "{command} {tree} {extra:?}");
    if baseline {
        let sarif = std::fs::read_to_string(&input).unwrap();
        assert!(
            sarif.contains("\"suppressions\""),
            "{command} {tree} {extra:?}: no suppressed result"
        );
    }
    let status = Command::new(tool)
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
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&log).unwrap()).unwrap();
    let problems: Vec<String> = v["runs"][0]["results"]
        .as_array()
        .map(|rs| rs.iter().map(|r| format!("{} {}", r["ruleId"], r["message"])).collect())
        .unwrap_or_default();
    assert!(
        problems.is_empty(),
        "SARIF validation problems ({command}):\n{}",
        problems.join("\n")
    );
    let results = v["runs"][0]["invocations"][0]["executionSuccessful"].as_bool();
    assert_ne!(results, Some(false), "validator run failed: {v}");
}
