//! The binary as users and CI meet it: exit codes, formats, output files, determinism.

mod common;

use common::{llmguard, stderr, stdout};

const EVIL: &str = "testdata/models/malicious/proto0_global_os_system.pkl";
const BENIGN: &str = "testdata/models/benign/torch";

#[test]
fn exit_codes_follow_fail_on() {
    assert_eq!(
        llmguard(&["scan-model", "--no-progress", BENIGN]).status.code(),
        Some(0)
    );
    assert_eq!(llmguard(&["scan-model", "--no-progress", EVIL]).status.code(), Some(1));
    assert_eq!(
        llmguard(&["scan-model", "--fail-on", "never", EVIL]).status.code(),
        Some(0)
    );
    assert_eq!(
        llmguard(&["scan-model", "--fail-on", "critical", EVIL]).status.code(),
        Some(1)
    );
    // The benign object array carries a low note: failing on low catches it, high does not.
    let obj = "testdata/models/benign/numpy2/object_array.npy";
    assert_eq!(llmguard(&["scan-model", obj]).status.code(), Some(0));
    assert_eq!(
        llmguard(&["scan-model", "--fail-on", "low", obj]).status.code(),
        Some(1)
    );
}

#[test]
fn run_errors_exit_2_and_name_the_problem() {
    let o = llmguard(&["scan-model", "no/such/model.pkl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/model.pkl"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());

    let o = llmguard(&["scan-model", "--format", "xml", EVIL]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("xml"));

    let o = llmguard(&["scan-model", "--output", "/no/such/dir/report.json", EVIL]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/dir/report.json"), "{}", stderr(&o));

    let o = llmguard(&["explain", "XYZ999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("XYZ999"));
}

#[test]
fn unparsable_files_are_findings_not_crashes() {
    // A malformed npy and a broken zip: exit 1 or 0 by severity, never 2, and listed.
    let o = llmguard(&[
        "scan-model",
        "--format",
        "json",
        "--fail-on",
        "medium",
        "testdata/models/malicious/numpy_header_not_dict.npy",
        "testdata/models/malicious/zip_eocd_cd_offset_past_eof.zip",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"MOD502") && rules.contains(&"MOD207"), "{rules:?}");
    assert_eq!(v["artifacts"].as_array().unwrap().len(), 2);
}

#[test]
fn output_file_and_stdout_stay_separate_from_timing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = llmguard(&[
        "scan-model",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
        EVIL,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("files in"), "timing goes to stderr: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["findings"][0]["rule_id"], "MOD101");
    let q = llmguard(&["scan-model", "--quiet", EVIL]);
    assert!(stderr(&q).is_empty(), "{}", stderr(&q));
}

#[test]
fn output_is_deterministic_across_runs_and_job_counts() {
    for format in ["json", "sarif", "table"] {
        let a = llmguard(&["scan-model", "-q", "--format", format, "testdata/models"]);
        let b = llmguard(&["scan-model", "-q", "--jobs", "1", "--format", format, "testdata/models"]);
        assert_eq!(a.stdout, b.stdout, "{format} output differs between runs");
        assert!(!a.stdout.is_empty());
    }
}

#[test]
fn json_paths_are_as_named_and_directories_are_joined() {
    let o = llmguard(&[
        "scan-model",
        "-q",
        "--format",
        "json",
        "testdata/models/malicious/misnamed",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let paths: Vec<_> = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "testdata/models/malicious/misnamed/model.safetensors",
            "testdata/models/malicious/misnamed/pytorch_model.bin",
            "testdata/models/malicious/misnamed/weights.npy"
        ]
    );
}

#[test]
fn rules_and_explain() {
    let o = llmguard(&["rules"]);
    assert_eq!(o.status.code(), Some(0));
    for r in llmguard::rules::Rule::ALL {
        assert!(
            stdout(&o).contains(r.id()) && stdout(&o).contains(r.name()),
            "{} missing",
            r.id()
        );
    }
    let o = llmguard(&["rules", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), llmguard::rules::Rule::ALL.len());
    let o = llmguard(&["explain", "mod101"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("# MOD101 pickle-dangerous-import"));
    assert!(stdout(&o).contains("## How to fix"));
    let by_name = llmguard(&["explain", "pickle-dangerous-import"]);
    assert_eq!(by_name.stdout, o.stdout);
}

#[test]
fn help_documents_exit_codes_and_flags() {
    let o = llmguard(&["scan-model", "--help"]);
    let help = stdout(&o);
    for needle in [
        "Exit codes:",
        "--fail-on",
        "--format",
        "--output",
        "--jobs",
        "--quiet",
        "--no-progress",
        "--hash",
        "--follow-symlinks",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

/// The README's example output is real: regenerate it and compare.
#[test]
fn readme_example_matches_real_output() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find("<!-- example-output -->\n```text\n")
        .expect("README example marker")
        + "<!-- example-output -->\n```text\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let o = llmguard(&[
        "scan-model",
        "-q",
        "testdata/models/malicious/proto0_global_os_system.pkl",
        "testdata/models/malicious/zip_torch_duplicate_data_pkl.pt",
        "testdata/models/benign/torch/linear_state_dict.pt",
    ]);
    let actual = format!("$ llmguard scan-model testdata/models/malicious/proto0_global_os_system.pkl \\\n    testdata/models/malicious/zip_torch_duplicate_data_pkl.pt testdata/models/benign/torch/linear_state_dict.pt\n{}", stdout(&o));
    if std::env::var_os("LLMGUARD_BLESS").is_some() {
        std::fs::write("README.md", format!("{}{}{}", &readme[..start], actual, &readme[end..])).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        actual,
        "README example drifted; rerun with LLMGUARD_BLESS=1"
    );
}

#[test]
fn limits_are_configurable_from_the_command_line() {
    let nested = "testdata/models/malicious/nested_zip_in_zip.zip";
    let default = common::scan_json(&[nested]);
    let tight = {
        let o = llmguard(&["scan-model", "-q", "--format", "json", "--limit", "depth=1", nested]);
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let gen002 = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "GEN002")
            .count()
    };
    assert_eq!(gen002(&default), 0);
    assert!(gen002(&tight) >= 1, "{tight}");
    // Unknown names and bad values are run errors that say what is accepted.
    for bad in ["bogus=1", "depth", "depth=many"] {
        let o = llmguard(&["scan-model", "-q", "--limit", bad, nested]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--limit"), "{bad}: {}", stderr(&o));
    }
    assert!(stderr(&llmguard(&["scan-model", "--limit", "bogus=1", nested])).contains("inflated-mib"));
    // Every settable limit is named in --help.
    let help = stdout(&llmguard(&["scan-model", "--help"]));
    for (name, _, _) in llmguard::scan::model::LIMIT_NAMES {
        assert!(help.contains(name), "{name} missing from --help");
    }
}
