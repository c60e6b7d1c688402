//! `check-lineage` on metadata written by the real tools: DVC 3 and DVC 2 repositories (and
//! the same after tampering), Croissant from mlcroissant and shaped like the Hugging Face Hub's
//! export, dataset cards rendered by huggingface_hub and in the older card layout, enterprise
//! MLOps metadata JSON as scripts write it, and checksum manifests from sha256sum and shasum.
//! `testdata/lineage/realworld/expected.json` lists, for every case, the rule ids of the
//! findings on each file (with their count); `gen_realworld.py` beside it made the cases.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const ROOT: &str = "testdata/lineage/realworld";

/// `{file relative to the case: [rule id, …]}` of one run, sorted.
fn findings_by_file(case: &str) -> (BTreeMap<String, Vec<String>>, Value) {
    let dir = format!("{ROOT}/{case}");
    let o = common::llmguard(&["check-lineage", "-q", "--format", "json", "--fail-on", "never", &dir]);
    assert_eq!(o.status.code(), Some(0), "{case}: {}", common::stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    let mut by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in v["findings"].as_array().expect("findings") {
        let path = f["path"].as_str().expect("path");
        let rel = path
            .strip_prefix(&format!("{dir}/"))
            .unwrap_or_else(|| panic!("{case}: finding outside the case: {path}"));
        by_file
            .entry(rel.to_string())
            .or_default()
            .push(f["rule_id"].as_str().expect("rule id").to_string());
    }
    for ids in by_file.values_mut() {
        ids.sort();
    }
    (by_file, v)
}

fn expected() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(format!("{ROOT}/expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

#[test]
fn every_case_gives_exactly_its_expected_findings() {
    let want = expected();
    // Every case directory (`<kind>/<case>/`) is listed, so none goes unchecked.
    let mut cases = Vec::new();
    for kind in std::fs::read_dir(ROOT).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for case in std::fs::read_dir(kind.path())
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_dir())
        {
            cases.push(format!(
                "{}/{}",
                kind.file_name().to_string_lossy(),
                case.file_name().to_string_lossy()
            ));
        }
    }
    cases.sort();
    assert_eq!(
        cases,
        want.keys().cloned().collect::<Vec<_>>(),
        "cases on disk vs expected.json"
    );
    let mut wrong = Vec::new();
    for (case, files) in &want {
        let (got, v) = findings_by_file(case);
        if &got != files {
            wrong.push(format!(
                "{case}:\n  expected {files:?}\n  got      {got:?}\n  {:#}",
                v["findings"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn tampering_with_dvc_data_is_reported_where_it_happened() {
    let (_, v) = findings_by_file("dvc/dvc3_tampered");
    let msg = |file: &str| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"].as_str().unwrap().ends_with(file))
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(msg("data/images/c.txt")[0].contains("not in its listing"));
    assert!(msg("data/images/a.txt")[0].contains("of DVC directory `images`"));
    // The stage output the next stage depends on is one finding per digest, naming both lines.
    let prepared = msg("out/prepared.csv");
    assert_eq!(prepared.len(), 2, "{prepared:?}");
    assert!(
        prepared.iter().all(|m| m.contains("declared again on line")),
        "{prepared:?}"
    );
    // DVC 2: the CRLF file verifies through its normalised md5 (dvc2/ is clean), and an edit
    // is still seen.
    let (_, v) = findings_by_file("dvc/dvc2_tampered");
    assert!(v["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("DVC 2 text normalisation"));
}

#[test]
fn mlops_values_written_loosely_are_read_and_unclear_ones_reported() {
    let (_, v) = findings_by_file("mlops/bad_strings");
    let invalid: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "LIN003")
        .map(|f| f["location"]["key_path"].as_str().unwrap())
        .collect();
    assert_eq!(invalid, vec!["/row_count", "/contains_pii"]);
    // A list of records keeps each record's pointers.
    let (_, v) = findings_by_file("mlops/list_of_records");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "LIN032")
        .unwrap();
    assert_eq!(f["location"]["key_path"], "/0/license");
    assert!(Path::new(&format!("{ROOT}/mlops/strings/churn.csv")).is_file());
}
