//! `--shard K/N` and `llmguard merge`: N shard reports merged are byte for byte the report of
//! one unsharded run, in every format and with the same exit code; and merge refuses every
//! set of reports that is not exactly the shards of one run.

mod common;

use common::{llmguard, stderr};
use std::path::{Path, PathBuf};

/// Run the binary; return its exit code and standard output.
fn run(args: &[&str]) -> (i32, Vec<u8>) {
    let o = llmguard(args);
    let code = o.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "llmguard {args:?} exited {code}: {}",
        stderr(&o)
    );
    (code, o.stdout)
}

fn copy(from: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

/// A tree beside testdata/models with what sharding must keep whole: model directories (a
/// nested one, a signed one), a checksummed and a DVC-tracked dataset, loose files at several
/// depths, and a symbolic link out of the scan root (a finding of the walk itself).
fn tree(dir: &Path) -> PathBuf {
    let t = dir.join("tree");
    let evil = "testdata/models/malicious/proto0_global_os_system.pkl";
    let st = "testdata/models/benign/safetensors/tiny_llama_mixed_dtypes.safetensors";
    copy(st, &t.join("models/bert/model.safetensors"));
    std::fs::write(t.join("models/bert/config.json"), r#"{"model_type": "bert"}"#).unwrap();
    copy(
        "testdata/models/benign/onnx/torch_mlp.onnx",
        &t.join("models/bert/onnx/model.onnx"),
    );
    copy(evil, &t.join("models/signed/weights/evil.pkl"));
    std::fs::write(t.join("models/signed/model.sig"), "{}").unwrap();
    copy(evil, &t.join("data/sums/part/x.pkl"));
    std::fs::write(t.join("data/sums/SHA256SUMS"), "0  part/x.pkl\n").unwrap();
    copy(
        "testdata/models/benign/numpy2/object_array.npy",
        &t.join("data/lake/images/a.npy"),
    );
    copy(
        "testdata/models/benign/numpy2/arrays.npz",
        &t.join("data/lake/images/b.npz"),
    );
    std::fs::write(t.join("data/lake/images.dvc"), "outs:\n- path: images\n").unwrap();
    copy(evil, &t.join("loose.pkl"));
    copy(
        "testdata/models/benign/torch/linear_state_dict.pt",
        &t.join("deep/a/b/c/d.pt"),
    );
    copy(
        "testdata/models/malicious/bypass_builtins_open.pkl",
        &t.join("deep/a/e.pkl"),
    );
    #[cfg(unix)]
    {
        std::fs::write(dir.join("outside.pkl"), "x").unwrap();
        std::os::unix::fs::symlink(dir.join("outside.pkl"), t.join("deep/link.pkl")).unwrap();
    }
    t
}

/// Configuration whose verdicts need every shard: an approval used in one shard only, one used
/// nowhere, an approval that lapses on files all over the tree, and disabled rules (one fires).
fn config(dir: &Path) -> PathBuf {
    let zeros = "0".repeat(64);
    let text = format!(
        r#"[rules]
disable = ["MOD109", "MOD501"]

[[ignore]]
rule = "MOD101"
path = "testdata/models/malicious/proto0_global_os_system.pkl"
reason = "a fixture"

[[ignore]]
rule = "MOD101"
path = "nowhere/**"
reason = "matches nothing"

[[ignore]]
rule = "MOD101"
path = "testdata/models/malicious/bypass_*.pkl"
sha256 = "{zeros}"
reason = "lapses wherever it matches"
"#
    );
    let p = dir.join("llmguard.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// One unsharded run in each format, then N shards merged into each format: equal bytes and
/// equal exit codes.
fn merged_equals_unsharded(command: &str, paths: &[&str], extra: &[&str], counts: &[u32]) {
    let work = tempfile::tempdir().unwrap();
    let base = |format: &str| {
        let mut a = vec![command, "-q", "--fail-on", "medium", "--format", format];
        a.extend_from_slice(extra);
        a.extend_from_slice(paths);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let whole: Vec<(&str, (i32, Vec<u8>))> = ["json", "sarif", "table"]
        .into_iter()
        .map(|f| (f, run(&base(f).iter().map(String::as_str).collect::<Vec<_>>())))
        .collect();
    for &n in counts {
        let mut reports = Vec::new();
        let mut files = 0;
        for k in 1..=n {
            let out = work.path().join(format!("{command}-{k}-of-{n}.json"));
            let shard = format!("{k}/{n}");
            let mut a = base("json");
            a.extend(["--shard".into(), shard, "--output".into(), out.display().to_string()]);
            run(&a.iter().map(String::as_str).collect::<Vec<_>>());
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
            files += v["artifacts"].as_array().unwrap().len();
            assert_eq!(v["shard"]["index"], k);
            reports.push(out.display().to_string());
        }
        let whole_json: serde_json::Value = serde_json::from_slice(&whole[0].1 .1).unwrap();
        assert_eq!(
            files,
            whole_json["artifacts"].as_array().unwrap().len(),
            "shards overlap or miss files"
        );
        // Reports in reverse order: the order given does not matter.
        reports.reverse();
        for (format, (code, bytes)) in &whole {
            let mut a = vec!["merge", "-q", "--fail-on", "medium", "--format", format];
            a.extend(reports.iter().map(String::as_str));
            let (merged_code, merged) = run(&a);
            assert_eq!(merged_code, *code, "{command} {n} shards, {format}: exit code");
            if merged != *bytes {
                let (m, w) = (String::from_utf8_lossy(&merged), String::from_utf8_lossy(bytes));
                let at = m.lines().zip(w.lines()).position(|(a, b)| a != b).unwrap_or(0);
                panic!(
                    "{command}, {n} shards merged, {format}: differs from the unsharded report at line {}:\n merged: {}\n whole:  {}",
                    at + 1,
                    m.lines().nth(at).unwrap_or("<end>"),
                    w.lines().nth(at).unwrap_or("<end>")
                );
            }
        }
    }
}

#[test]
fn merged_shards_equal_one_unsharded_scan_model_run() {
    let dir = tempfile::tempdir().unwrap();
    let t = tree(dir.path());
    let cfg = config(dir.path());
    let t = t.display().to_string();
    let cfg = cfg.display().to_string();
    merged_equals_unsharded("scan-model", &["testdata/models", &t], &["--config", &cfg], &[2, 3]);
}

#[test]
fn merged_shards_equal_one_unsharded_scan_prompts_run() {
    // Text findings with lines and columns, files of other formats skipped (counted once).
    merged_equals_unsharded("scan-prompts", &["testdata/prompts"], &[], &[2, 3]);
}

#[test]
fn merged_shards_equal_one_unsharded_lint_policy_run() {
    // Policies of every format (Kubernetes and OpenSearch files read their directory beside
    // them), hostile inputs, and files that are not policies skipped (counted once). The
    // fixed date keeps expiry findings stable.
    merged_equals_unsharded("lint-policy", &["testdata/policy"], &["--as-of", "2026-01-01"], &[2, 3]);
}

#[test]
fn units_stay_whole_and_the_walk_reports_once() {
    let dir = tempfile::tempdir().unwrap();
    let t = tree(dir.path());
    let t = t.display().to_string();
    let mut owner = std::collections::HashMap::new();
    let mut walk_findings = 0;
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (_, out) = run(&["scan-model", "-q", "--format", "json", "--shard", &shard, &t]);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        for a in v["artifacts"].as_array().unwrap() {
            owner.insert(a["path"].as_str().unwrap().to_string(), k);
        }
        walk_findings += v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "GEN003")
            .count();
    }
    #[cfg(unix)]
    assert_eq!(walk_findings, 1, "the link out of the root is reported by shard 1 only");
    let of = |rel: &str| owner[&format!("{t}/{rel}")];
    for unit in [
        &[
            "models/bert/config.json",
            "models/bert/model.safetensors",
            "models/bert/onnx/model.onnx",
        ][..],
        &["models/signed/model.sig", "models/signed/weights/evil.pkl"],
        &["data/sums/SHA256SUMS", "data/sums/part/x.pkl"],
        &[
            "data/lake/images.dvc",
            "data/lake/images/a.npy",
            "data/lake/images/b.npz",
        ],
    ] {
        let shards: std::collections::BTreeSet<_> = unit.iter().map(|f| of(f)).collect();
        assert_eq!(shards.len(), 1, "{unit:?} split over shards {shards:?}");
    }
    assert_eq!(owner.len(), 13);
}

/// Shard reports of `tree` in `dir`, one per shard of `n`.
fn shard_reports(dir: &Path, n: u32, tree: &str) -> Vec<String> {
    (1..=n)
        .map(|k| {
            let out = dir.join(format!("r{k}-{n}.json"));
            let shard = format!("{k}/{n}");
            run(&[
                "scan-model",
                "-q",
                "--format",
                "json",
                "--shard",
                &shard,
                "-o",
                out.to_str().unwrap(),
                tree,
            ]);
            out.display().to_string()
        })
        .collect()
}

fn merge_fails(reports: &[&str], says: &str) {
    let mut a = vec!["merge", "-q"];
    a.extend_from_slice(reports);
    let o = llmguard(&a);
    assert_eq!(o.status.code(), Some(2), "merge {reports:?}: {}", stderr(&o));
    assert!(
        stderr(&o).contains(says),
        "merge {reports:?}: expected `{says}` in: {}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn merge_refuses_anything_but_every_shard_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tree = "testdata/models/benign/numpy2"; // one file with a (low) finding
    let three = shard_reports(d, 3, tree);
    let two = shard_reports(d, 2, tree);
    std::fs::create_dir_all(d.join("o")).unwrap();
    let other = shard_reports(&d.join("o"), 3, "testdata/models/benign/torch");
    let (a, b, c) = (three[0].as_str(), three[1].as_str(), three[2].as_str());

    merge_fails(&[a, b], "shard 3/3 missing");
    merge_fails(&[a, b, b, c], "shard 2/3 is given twice");
    merge_fails(&[a, b, &two[1]], "is shard 2/2 but");
    merge_fails(&[a, b, &other[2]], "dealt different files (their plans differ)");

    let plain = d.join("plain.json");
    run(&[
        "scan-model",
        "-q",
        "--format",
        "json",
        "-o",
        plain.to_str().unwrap(),
        tree,
    ]);
    merge_fails(&[plain.to_str().unwrap()], "not a shard report");

    let prompts = d.join("p.json");
    run(&[
        "scan-prompts",
        "-q",
        "--format",
        "json",
        "--shard",
        "3/3",
        "-o",
        prompts.to_str().unwrap(),
        "testdata/prompts",
    ]);
    merge_fails(&[a, b, prompts.to_str().unwrap()], "is a `scan-model` report but");

    let edit = |from: &str, to: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(from).unwrap()).unwrap();
        f(&mut v);
        let p = d.join(to);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        p.display().to_string()
    };
    let beyond = edit(c, "beyond.json", &|v| v["shard"]["index"] = 4.into());
    merge_fails(&[a, b, c, &beyond], "shard 4/3 is no share of 3 shards");
    let old = edit(c, "old.json", &|v| v["tool"]["version"] = "0.0.1".into());
    merge_fails(&[a, b, &old], "written by llmguard 0.0.1");
    // A finding moved to another file no longer matches its fingerprint.
    let with_finding = three
        .iter()
        .find(|p| {
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            !v["findings"].as_array().unwrap().is_empty()
        })
        .expect("a shard with a finding");
    let moved = edit(with_finding, "moved.json", &|v| {
        v["findings"][0]["path"] = "elsewhere.pt".into()
    });
    let rest: Vec<&str> = three
        .iter()
        .filter(|p| *p != with_finding)
        .map(String::as_str)
        .collect();
    merge_fails(&[rest[0], rest[1], &moved], "fingerprint does not follow from its key");
    std::fs::write(d.join("junk.json"), "{").unwrap();
    merge_fails(&[d.join("junk.json").to_str().unwrap()], "junk.json: not JSON");
    merge_fails(&["no/such/report.json"], "cannot read no/such/report.json");
}

#[test]
fn shard_flag_is_checked() {
    for (bad, says) in [
        ("4/3", "K must be between 1 and N (3), not 4"),
        ("0/2", "not 0"),
        ("x", "expected K/N"),
    ] {
        let o = llmguard(&["scan-model", "--shard", bad, "testdata/models/benign/torch"]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains(says), "{bad}: {}", stderr(&o));
    }
    let o = llmguard(&["scan-prompts", "--shard", "1/2", "-"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("standard input"), "{}", stderr(&o));
}

/// The README's merge example is a real run: regenerate it and compare
/// (`LLMGUARD_BLESS=1 cargo test --test shard` rewrites it).
#[test]
fn readme_merge_example_is_real() {
    let marker = "<!-- merge-example -->\n```text\n";
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme.find(marker).expect("README merge example marker") + marker.len();
    let end = start + readme[start..].find("```").unwrap();
    let files = [
        "testdata/models/malicious/proto0_global_os_system.pkl",
        "testdata/models/benign/numpy2/object_array.npy",
        "testdata/models/benign/torch/linear_state_dict.pt",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut shown = String::new();
    let mut reports = Vec::new();
    for k in 1..=2 {
        let out = dir.path().join(format!("report-{k}.json"));
        let shard = format!("{k}/2");
        let mut a = vec![
            "scan-model",
            "-q",
            "--shard",
            &shard,
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ];
        a.extend(files);
        run(&a);
        shown += &format!(
            "$ llmguard scan-model --shard {shard} --format json -o report-{k}.json {} \\\n    {} {}\n",
            files[0], files[1], files[2]
        );
        reports.push(out.display().to_string());
    }
    let mut a = vec!["merge", "-q"];
    a.extend(reports.iter().map(String::as_str));
    let (_, out) = run(&a);
    shown += &format!("$ llmguard merge report-*.json\n{}", String::from_utf8(out).unwrap());
    if std::env::var_os("LLMGUARD_BLESS").is_some() {
        std::fs::write("README.md", format!("{}{}{}", &readme[..start], shown, &readme[end..])).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        shown,
        "README merge example drifted; rerun with LLMGUARD_BLESS=1"
    );
}

/// The README's matrix workflow is `examples/sharded-scan.yml`, which `.ci/run` lints.
#[test]
fn readme_workflow_is_the_linted_example() {
    let marker = "<!-- sharded-workflow -->\n```yaml\n";
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme.find(marker).expect("README workflow marker") + marker.len();
    let end = start + readme[start..].find("```").unwrap();
    let example = std::fs::read_to_string("examples/sharded-scan.yml").unwrap();
    assert_eq!(
        &readme[start..end],
        example,
        "README workflow differs from examples/sharded-scan.yml"
    );
    let ci = std::fs::read_to_string(".ci/run").unwrap();
    for linter in ["actionlint ", "zizmor "] {
        let line = ci.lines().find(|l| l.starts_with(linter)).expect("linter in .ci/run");
        assert!(
            line.contains("examples/sharded-scan.yml"),
            ".ci/run does not {linter}the example"
        );
    }
}

/// Datasets for `check-lineage` sharding: four llmguard records (one dataset tampered with,
/// two declaring one id, one naming another as its parent), a checksum manifest directory
/// and a sidecar checksum, so that integrity, duplicate-id and parent findings all belong to
/// shards other than the first for some deal.
fn lineage_tree(dir: &Path) -> PathBuf {
    let t = dir.join("lineage");
    // A work tree of its own, so that it is the scan root and its paths stay inside it.
    std::fs::create_dir_all(t.join(".git")).unwrap();
    let good = "testdata/lineage/good";
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{good}/dataset_metadata.json")).unwrap()).unwrap();
    for i in 1..=4 {
        let d = t.join(format!("ds{i}"));
        copy(&format!("{good}/train.csv"), &d.join("train.csv"));
        let mut m = meta.clone();
        m["id"] = format!("ds{}", i.min(3)).into();
        if i == 1 {
            m["source_datasets"] = serde_json::json!(["ds3"]);
        }
        std::fs::write(d.join("dataset_metadata.json"), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(t.join("ds2/train.csv"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"tamper\n").unwrap();
    std::fs::create_dir_all(t.join("sums/part")).unwrap();
    std::fs::create_dir_all(t.join("side")).unwrap();
    std::fs::write(t.join("sums/part/a.txt"), "a\n").unwrap();
    std::fs::write(t.join("sums/b.txt"), "b\n").unwrap();
    std::fs::write(
        t.join("sums/SHA256SUMS"),
        format!("{}  part/a.txt\n{}  b.txt\n", "0".repeat(64), "1".repeat(64)),
    )
    .unwrap();
    std::fs::write(t.join("side/x.csv"), "x\n").unwrap();
    std::fs::write(t.join("side/x.csv.sha256"), format!("{}  x.csv\n", "2".repeat(64))).unwrap();
    t
}

#[test]
fn merged_shards_equal_one_unsharded_check_lineage_run() {
    // The fixtures: parents across directories, records that disagree, data listed twice.
    merged_equals_unsharded("check-lineage", &["testdata/lineage"], &[], &[2, 3]);
    let dir = tempfile::tempdir().unwrap();
    let t = lineage_tree(dir.path());
    let t = t.display().to_string();
    // The unsharded run finds what the shards must not lose.
    let (_, out) = run(&["check-lineage", "-q", "--format", "json", &t]);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let count = |rule: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == rule)
            .count()
    };
    assert_eq!(count("LIN061"), 2 + 3, "{}", String::from_utf8_lossy(&out));
    assert_eq!(count("LIN084"), 1, "{}", String::from_utf8_lossy(&out));
    merged_equals_unsharded("check-lineage", &[&t], &[], &[2, 3, 4]);
}
