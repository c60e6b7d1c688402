//! `check-lineage`: rule examples (every LIN rule fires on its positive case and not on its
//! negative one), the complete good record, the source samples, the template round trip and
//! hostile input. Fixtures: `testdata/lineage/` (`gen_fixtures.py` says how they were made).

mod common;

use llmguard::rules::Rule;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn run_in(dir: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_llmguard"))
        .current_dir(dir)
        .args(["check-lineage", "-q", "--format", "json"])
        .args(args)
        .output()
        .expect("binary runs");
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (o.status.code(), v, String::from_utf8_lossy(&o.stderr).into_owned())
}

fn json(args: &[&str]) -> Value {
    let mut argv = vec!["check-lineage", "-q", "--format", "json", "--fail-on", "never"];
    argv.extend_from_slice(args);
    let o = common::llmguard(&argv);
    assert_eq!(o.status.code(), Some(0), "{}", common::stderr(&o));
    serde_json::from_slice(&o.stdout).expect("JSON report")
}

fn rules_of(v: &Value) -> Vec<String> {
    let mut r: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    r.sort();
    r.dedup();
    r
}

fn case(dir: &str) -> Value {
    let cfg = format!("{dir}/llmguard.toml");
    let mut args = vec!["--sample-pii"];
    if Path::new(&cfg).is_file() {
        args.extend(["--config", cfg.as_str()]);
    }
    // `.explicit` lists files to name on the command line instead of the directory.
    let named: Vec<String> = std::fs::read_to_string(format!("{dir}/.explicit"))
        .map(|t| t.lines().map(|l| format!("{dir}/{l}")).collect())
        .unwrap_or_default();
    if named.is_empty() {
        args.push(dir);
    } else {
        args.extend(named.iter().map(String::as_str));
    }
    json(&args)
}

#[test]
fn every_lineage_rule_has_a_positive_and_a_negative_example() {
    let mut checked = 0;
    for r in Rule::ALL.iter().filter(|r| r.id().starts_with("LIN")) {
        let base = format!("testdata/lineage/rules/{}", r.id());
        let pos = case(&format!("{base}/positive"));
        assert!(
            rules_of(&pos).contains(&r.id().to_string()),
            "{}: positive case does not fire it: {:#}",
            r.id(),
            pos["findings"]
        );
        let neg = case(&format!("{base}/negative"));
        assert!(
            !rules_of(&neg).contains(&r.id().to_string()),
            "{}: negative case fires it: {:#}",
            r.id(),
            neg["findings"]
        );
        checked += 1;
    }
    assert_eq!(checked, 36);
}

#[test]
fn every_finding_points_at_a_line_of_its_metadata_or_at_the_data_file() {
    let v = json(&["--sample-pii", "testdata/lineage/rules"]);
    for f in v["findings"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let id = f["rule_id"].as_str().unwrap();
        let data = matches!(id, "LIN052" | "LIN061" | "LIN064" | "LIN065");
        if !data && !path.ends_with(".dvc") {
            assert!(f["location"]["line"].as_u64().is_some(), "{id} {path} has no line: {f}");
        }
    }
}

#[test]
fn the_complete_record_passes_with_no_finding() {
    let v = json(&["--sample-pii", "testdata/lineage/good"]);
    assert_eq!(v["findings"], serde_json::json!([]), "{:#}", v["findings"]);
    let arts = v["artifacts"].as_array().unwrap();
    let data = arts
        .iter()
        .find(|a| a["format"] == "data")
        .expect("the data file is listed");
    assert_eq!(data["sha256"].as_str().unwrap().len(), 64);
    assert!(arts.iter().any(|a| a["format"] == "llmguard-lineage"));
}

#[test]
fn findings_carry_line_and_key_path() {
    let v = json(&["testdata/lineage/rules/LIN063/positive"]);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "LIN063")
        .unwrap();
    assert_eq!(f["location"]["key_path"], "/files/0/sha256");
    let text = std::fs::read_to_string("testdata/lineage/rules/LIN063/positive/dataset_metadata.json").unwrap();
    let line = f["location"]["line"].as_u64().unwrap() as usize;
    assert!(text.lines().nth(line - 1).unwrap().contains("\"sha256\""));
    // Mismatches point at the data file.
    let v = json(&["testdata/lineage/rules/LIN061/positive"]);
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "LIN061")
        .unwrap();
    assert!(f["path"].as_str().unwrap().ends_with("train.csv"));
    assert!(f["message"].as_str().unwrap().contains("dataset_metadata.json line"));
}

#[test]
fn hugging_face_card_is_read_from_front_matter_and_sections() {
    let v = json(&["testdata/lineage/sources/hf_card"]);
    let msgs: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["rule_id"], f["message"]))
        .collect();
    let text = msgs.join("\n");
    // Found in the card: name, licence, owner (Curated by), source (Repository), intended use,
    // creation method and preprocessing, personal data statement.
    for present in [
        "`name`",
        "`license`",
        "`owner`",
        "`source`",
        "`intended_use`",
        "`creation_method`",
        "`preprocessing`",
        "`personal_data`",
    ] {
        assert!(
            !text.contains(&format!("required {present}")),
            "{present} should be read:\n{text}"
        );
    }
    // The collection period is read from the Data Collection and Processing prose ("Tickets
    // from 2022 were exported"); what a card cannot express is reported as such, not guessed.
    assert!(!text.contains("required `collection_period`"), "{text}");
    assert!(
        text.contains("required `files`") && text.contains("has no field for `files`"),
        "{text}"
    );
    // The deprecated Hub id and the declared personal data without controls.
    assert!(text.contains("LIN031"), "{text}");
    assert!(text.contains("LIN040") && text.contains("LIN051"), "{text}");
}

#[test]
fn croissant_dvc_lfs_and_manifests_verify_their_files() {
    let v = json(&["testdata/lineage/sources"]);
    let fs = v["findings"].as_array().unwrap();
    let of = |dir: &str| -> Vec<String> {
        let mut r: Vec<String> = fs
            .iter()
            .filter(|f| f["path"].as_str().unwrap().contains(dir))
            .map(|f| format!("{} {} {}", f["rule_id"], f["path"], f["message"]))
            .collect();
        r.sort();
        r
    };
    // Croissant: files verified by sha256, RAI fields read.
    let c = of("sources/croissant/");
    assert!(!c.iter().any(|m| m.starts_with("\"LIN06")), "{c:#?}");
    assert!(
        !c.iter()
            .any(|m| m.contains("`intended_use`") || m.contains("`collection_period`")),
        "{c:#?}"
    );
    // DVC: a DVC 3 md5, a DVC 2 md5 of a CRLF text file (normalised), and a tampered file.
    let d = of("sources/dvc/");
    assert_eq!(
        d.iter().filter(|m| m.starts_with("\"LIN061\"")).count(),
        1,
        "only the tampered file mismatches: {d:#?}"
    );
    assert!(d.iter().any(|m| m.contains("tampered.csv")), "{d:#?}");
    // LFS: the pointer is reported.
    assert!(of("sources/lfs/").iter().any(|m| m.starts_with("\"LIN064\"")));
    // Manifests: GNU and BSD lines verified; the bad ones reported at their line.
    let m = of("sources/manifests/");
    assert!(
        m.iter()
            .any(|x| x.starts_with("\"LIN001\"") && x.contains("BAD.sha256")),
        "{m:#?}"
    );
    assert!(m.iter().any(|x| x.starts_with("\"LIN002\"")), "{m:#?}");
    assert!(
        !m.iter()
            .any(|x| x.starts_with("\"LIN061\"") || x.starts_with("\"LIN060\"")),
        "{m:#?}"
    );
}

#[test]
fn template_round_trip() {
    let required = llmguard::lineage::spec::LineageRules::builtin().unwrap().required.len();
    for name in ["meta.yaml", "meta.json"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (code, _, err) = run_in(d, &["--create-template", name]);
        assert_eq!(code, Some(0), "{err}");
        // Never overwritten without --force.
        let (code, _, err) = run_in(d, &["--create-template", name]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("--force"), "{err}");
        assert_eq!(run_in(d, &["--create-template", name, "--force"]).0, Some(0));
        // As is: one finding per required field, nothing else.
        let (code, v, err) = run_in(d, &[name]);
        assert_eq!(code, Some(1), "{err}");
        let f = v["findings"].as_array().unwrap();
        assert_eq!(f.len(), required, "{name}: {:#}", v["findings"]);
        assert!(f.iter().all(|x| x["rule_id"] == "LIN010"));
        // Every field a check reads is in the template, with a placeholder where it is text.
        let text = std::fs::read_to_string(d.join(name)).unwrap();
        for field in ["statistics", "date_range", "schema", "hash", "collection_period"] {
            assert!(
                text.contains(&format!("{field}\":")) || text.contains(&format!("{field}:")),
                "{name}: {field}"
            );
        }
        assert!(
            !text.contains("statistics: null") && !text.contains("\"statistics\": null"),
            "{name}"
        );
        // Filled in: passes with no finding.
        let data = b"a,b\n1,2\n";
        std::fs::write(d.join("train.csv"), data).unwrap();
        let sha = llmguard::digest::sha256_reader(&mut &data[..]).unwrap().sha256;
        let filled = fill(&text, &sha);
        std::fs::write(d.join(name), filled).unwrap();
        let (code, v, err) = run_in(d, &[name]);
        assert_eq!(v["findings"], serde_json::json!([]), "{name}: {err}");
        assert_eq!(code, Some(0));
    }
    // Without FILE: JSON on standard output.
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_llmguard"))
        .current_dir(dir.path())
        .args(["check-lineage", "--create-template"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["lineage_version"], 1);
}

/// Replace every placeholder of a template with a real value.
fn fill(text: &str, sha: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let l = if let Some(start) = line.find("\"<") {
            let end = line[start..].find(">\"").map(|e| start + e + 2).unwrap_or(line.len());
            let key = line[..start]
                .trim()
                .trim_start_matches("- ")
                .trim_matches(|c| c == '"' || c == ':' || c == ' ');
            let value = match key.trim_end_matches(['"', ':']) {
                "path" => "train.csv".to_string(),
                "sha256" => sha.to_string(),
                "hash" => format!("sha256:{sha}"),
                "source" => "https://huggingface.co/datasets/acme/x".to_string(),
                "license" => "MIT".to_string(),
                "created_at" | "start" | "timestamp" => "2024-01-02".to_string(),
                "end" => "2024-03-04".to_string(),
                "handling" => "pseudonymised".to_string(),
                "version" => "1.0".to_string(),
                _ => "filled in".to_string(),
            };
            format!("{}\"{value}\"{}", &line[..start], &line[end..])
        } else {
            line.to_string()
        };
        let l = l
            .replace("\"contains_pii\": null", "\"contains_pii\": false")
            .replace("contains_pii: null", "contains_pii: false");
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn schema_is_printed_and_published() {
    let o = common::llmguard(&["check-lineage", "--print-schema"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["title"], "llmguard dataset lineage metadata");
    assert!(v["properties"]["compliance_status"].is_object());
}

#[test]
fn hostile_metadata_is_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("deep_metadata.json"), "[".repeat(100_000)).unwrap();
    let mut laughs = String::from("name: x\nversion: 1\na0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
    for i in 1..20 {
        let p = i - 1;
        laughs += &format!("a{i}: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n");
    }
    std::fs::write(d.join("laughs_metadata.yaml"), laughs).unwrap();
    std::fs::write(d.join("README.md"), "---\nlicense: mit\n# never closed\n").unwrap();
    std::fs::write(
        d.join("SHA256SUMS"),
        format!(
            "{}  ../../../../etc/passwd\n{}  /etc/hostname\nnot a line\n",
            "0".repeat(64),
            "1".repeat(64)
        ),
    )
    .unwrap();
    let big = std::fs::File::create(d.join("huge_metadata.json")).unwrap();
    big.set_len(17 << 20).unwrap();
    let (code, v, err) = run_in(d, &["."]);
    assert_eq!(code, Some(1), "{err}");
    let f = v["findings"].as_array().unwrap();
    let has = |rule: &str, file: &str| {
        f.iter()
            .any(|x| x["rule_id"] == rule && x["path"].as_str().unwrap().ends_with(file))
    };
    assert!(has("GEN002", "deep_metadata.json"), "{f:#?}");
    assert!(has("GEN002", "laughs_metadata.yaml"), "{f:#?}");
    assert!(has("GEN002", "huge_metadata.json"), "{f:#?}");
    assert!(has("LIN001", "README.md"), "{f:#?}");
    assert!(has("LIN001", "SHA256SUMS"), "{f:#?}");
    let outside: Vec<_> = f.iter().filter(|x| x["rule_id"] == "LIN002").collect();
    assert_eq!(outside.len(), 2, "{f:#?}");
    assert!(
        !f.iter().any(|x| x["rule_id"] == "LIN060"),
        "nothing outside the root is looked at: {f:#?}"
    );
}

#[test]
fn placeholder_findings_point_at_their_field() {
    for name in ["meta.yaml", "meta.json"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert_eq!(run_in(d, &["--create-template", name]).0, Some(0));
        let text = std::fs::read_to_string(d.join(name)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (_, v, err) = run_in(d, &[name]);
        let f = v["findings"].as_array().unwrap();
        assert!(f.len() > 3, "{name}: {err}");
        let mut seen = std::collections::BTreeSet::new();
        for x in f.iter().filter(|x| x["rule_id"] == "LIN010") {
            let loc = &x["location"];
            let line = loc["line"].as_u64().unwrap() as usize;
            let key = loc["key_path"].as_str().unwrap();
            let last = key.rsplit('/').next().unwrap();
            let at = lines[line - 1].trim_start().trim_start_matches("- ");
            assert!(
                at.starts_with(&format!("\"{last}\":")) || at.starts_with(&format!("{last}:")),
                "{name}: {key} points at line {line}: {at}"
            );
            assert!(loc["column"].as_u64().unwrap() > 0, "{name}: {key}: {loc}");
            assert!(seen.insert(line), "{name}: two findings on line {line}");
        }
    }
}

#[test]
fn an_explicit_file_of_another_tool_is_not_lineage_metadata_but_broken_metadata_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("metadata.json"), r#"{"a": 1}"#).unwrap();
    std::fs::write(d.join("lineage.json"), r#"{"name": "x"}"#).unwrap();
    std::fs::write(d.join("dataset_metadata.json"), "{\"name\": ").unwrap();
    let (code, v, err) = run_in(d, &["--no-progress", "metadata.json"]);
    assert_eq!(code, Some(0), "{err}");
    let f = &v["findings"][0];
    assert_eq!(
        (f["rule_id"].as_str(), f["severity"].as_str()),
        (Some("LIN005"), Some("info")),
        "{v:#}"
    );
    assert!(v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["path"] == "metadata.json"));
    for broken in ["lineage.json", "dataset_metadata.json"] {
        let (code, v, err) = run_in(d, &[broken]);
        assert_eq!(code, Some(1), "{broken}: {err}");
        assert_eq!(v["findings"][0]["rule_id"], "LIN001", "{broken}: {v:#}");
    }
}

/// The pre-commit hook passes the files discovery knows by name, and no others.
#[test]
fn precommit_hook_files_are_the_names_discovery_uses() {
    let hooks = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    let hook = &hooks[hooks.find("id: llmguard-check-lineage").unwrap()..];
    let line = hook.lines().find(|l| l.trim_start().starts_with("files:")).unwrap();
    let re = regex::Regex::new(line.trim_start().trim_start_matches("files:").trim()).unwrap();
    let rules = llmguard::lineage::spec::LineageRules::shared();
    for name in [
        "dataset_metadata.json",
        "metadata.json",
        "data/training_data_metadata.yaml",
        "lineage.yml",
        "d/croissant.json",
        "x.jsonld",
        "datasheet.yaml",
        "README.md",
        "d/images.dvc",
        "dvc.lock",
        "SHA256SUMS",
        "checksums.txt",
        "MD5SUMS",
        "d/train.csv.sha256",
        "d/train.csv.md5",
        "config.json",
        "package.json",
        "predictions.yaml",
        "notes.txt",
        "train.csv",
        "dvc.yaml",
    ] {
        let file = name.rsplit('/').next().unwrap();
        let known = rules.is_metadata_name(file)
            || rules.is_manifest_name(file)
            || file.ends_with(".dvc")
            || file == "dvc.lock"
            || file == "README.md";
        assert_eq!(re.is_match(name), known, "{name}");
    }
}

#[test]
fn inline_ignores_in_yaml_lineage_files_count_only_in_trusted_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".git")).unwrap();
    std::fs::create_dir_all(d.join("reviewed")).unwrap();
    std::fs::create_dir_all(d.join("other")).unwrap();
    let text = "lineage_version: 1\nname: x\n# llmguard: ignore[LIN081] the mirror is internal, reviewed\nsource: http://mirror.example/x\n";
    std::fs::write(d.join("reviewed/lineage.yaml"), text).unwrap();
    std::fs::write(d.join("other/lineage.yaml"), text).unwrap();
    std::fs::write(
        d.join("other/blanket_lineage.yaml"),
        text.replace("ignore[LIN081]", "ignore"),
    )
    .unwrap();
    std::fs::write(d.join("llmguard.toml"), "inline_ignores = [\"reviewed/**\"]\n").unwrap();
    let (_, v, err) = run_in(d, &["--fail-on", "never", "."]);
    let of = |path: &str, rule: &str| -> Vec<Option<String>> {
        v["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("{err}"))
            .iter()
            .filter(|f| f["path"] == path && f["rule_id"] == rule)
            .map(|f| f["suppression"]["kind"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        of("reviewed/lineage.yaml", "LIN081"),
        vec![Some("inline".to_string())],
        "{v:#}"
    );
    assert_eq!(of("other/lineage.yaml", "LIN081"), vec![None], "{v:#}");
    assert_eq!(of("other/lineage.yaml", "GEN010").len(), 1, "{v:#}");
    assert_eq!(of("other/blanket_lineage.yaml", "LIN081"), vec![None], "{v:#}");
}
