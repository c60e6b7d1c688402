//! `lint-policy`: every POL rule's fixture fires exactly that rule, the clean policies and the
//! annotated example pass, findings carry line and key path, the effective-access view, the
//! CLI contract (exit codes, directory walks, not-a-policy files), and hostile YAML.

mod common;

use common::{llmguard, stderr, stdout};
use llmguard::rules::Rule;
use std::collections::BTreeSet;
use std::path::Path;

const AS_OF: &str = "2026-01-01";

fn lint(args: &[&str]) -> std::process::Output {
    let mut a = vec!["lint-policy", "-q", "--as-of", AS_OF];
    a.extend_from_slice(args);
    llmguard(&a)
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let o = lint(&a);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", stderr(&o)))
}

fn rule_ids(v: &serde_json::Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

fn fixtures(dir: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (p.to_string_lossy().into_owned(), name)
        })
        .collect();
    out.sort();
    out
}

fn config_args(dir: &str) -> Vec<String> {
    let cfg = format!("{dir}/llmguard.toml");
    if Path::new(&cfg).is_file() {
        vec!["--config".into(), cfg]
    } else {
        Vec::new()
    }
}

/// Each `POLxxx-*.yaml` breaks exactly rule POLxxx; the other files of each format are clean.
#[test]
fn every_fixture_fires_exactly_its_rule() {
    let mut covered = BTreeSet::new();
    for dir in [
        "testdata/policy/native",
        "testdata/policy/kubernetes",
        "testdata/policy/opensearch",
    ] {
        let cfg = config_args(dir);
        for (path, name) in fixtures(dir) {
            let mut args: Vec<&str> = cfg.iter().map(String::as_str).collect();
            args.push(&path);
            let v = json(&args);
            let got = rule_ids(&v);
            if let Some(id) = name.strip_prefix("POL").map(|r| format!("POL{}", &r[..3])) {
                assert_eq!(got, BTreeSet::from([id.clone()]), "{path}");
                covered.insert(id);
            } else {
                assert!(got.is_empty(), "{path} should be clean: {got:?}");
                assert_eq!(v["summary"]["failed"], false);
            }
        }
    }
    for r in Rule::ALL.iter().filter(|r| r.id().starts_with("POL")) {
        assert!(covered.contains(r.id()), "no fixture fires {}", r.id());
    }
}

#[test]
fn annotated_example_passes_clean() {
    let o = lint(&["examples/policy/vector-db-rbac.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("0 findings"), "{}", stdout(&o));
    let v = json(&["--fail-on", "info", "examples/policy/vector-db-rbac.yaml"]);
    assert!(rule_ids(&v).is_empty(), "{v}");
    assert_eq!(v["artifacts"][0]["format"], "llmguard-policy");
}

#[test]
fn findings_carry_line_column_and_key_path() {
    let v = json(&["testdata/policy/native/POL001-unknown-key.yaml"]);
    let f = &v["findings"][0];
    assert_eq!(f["location"]["key_path"], "/roles/3/conditions/mfa_requried");
    let line = f["location"]["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string("testdata/policy/native/POL001-unknown-key.yaml").unwrap();
    assert!(
        text.lines().nth(line - 1).unwrap().contains("mfa_requried"),
        "line {line}"
    );
    assert!(
        f["message"].as_str().unwrap().contains("did you mean `mfa_required`"),
        "{f}"
    );

    let v = json(&["testdata/policy/native/POL011-wildcard-resource.yaml"]);
    let f = &v["findings"][0];
    assert_eq!(f["location"]["key_path"], "/roles/4/permissions/0/resource");
    assert_eq!(f["severity"], "high", "restricted data reached: {f}");

    // Severity follows the classification: a wildcard write reaching restricted data.
    let v = json(&[
        "testdata/policy/kubernetes/POL012-wildcard-verbs.yaml",
        "--config",
        "testdata/policy/kubernetes/llmguard.toml",
    ]);
    assert_eq!(v["findings"][0]["severity"], "critical", "{v}");
    // Inheriting the power to manage roles is reported on the heir too, at its `inherits`.
    let v = json(&["testdata/policy/native/POL022-inherited-escalation.yaml"]);
    let msgs: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("role `hr_admin` inherits from `hr_analyst`")),
        "{msgs:?}"
    );
    // A binding to the built-in cluster-admin names the subjects it hands everything to.
    let v = json(&[
        "testdata/policy/kubernetes/POL012-cluster-admin-binding.yaml",
        "--config",
        "testdata/policy/kubernetes/llmguard.toml",
    ]);
    assert_eq!(v["findings"][0]["severity"], "critical", "{v}");
    assert_eq!(v["findings"][0]["location"]["key_path"], "/2/roleRef/name", "{v}");
    // The secret is masked.
    let v = json(&["testdata/policy/native/POL071-inline-secret.yaml"]);
    let e = v["findings"][0]["evidence"].as_str().unwrap();
    assert!(e.contains("masked") && !e.contains("qg6YYZYn9"), "{e}");
}

#[test]
fn expiry_depends_on_the_date() {
    let f = "testdata/policy/native/POL024-expired.yaml";
    let o = llmguard(&["lint-policy", "-q", "--format", "json", "--as-of", "2025-01-01", f]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(rule_ids(&v).is_empty(), "not yet expired: {v}");
    assert!(rule_ids(&json(&[f])).contains("POL024"));
    let o = llmguard(&["lint-policy", "--as-of", "2025-13-01", f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--as-of"), "{}", stderr(&o));
}

#[test]
fn explain_access_prints_the_matrix_and_keeps_the_report() {
    let o = lint(&[
        "--explain-access",
        "hr_admin",
        "testdata/policy/native/POL014-exclusion-reopened.yaml",
    ]);
    let out = stdout(&o);
    assert!(out.contains("Effective access") && out.contains("hr_records"), "{out}");
    assert!(out.contains("---UD-"), "the inherited read is excluded: {out}");
    assert!(!out.contains("rag_service"), "filtered to one role: {out}");
    // The findings report goes to stderr, the exit code from the findings.
    assert!(stderr(&o).contains("POL014"), "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(0), "POL014 is medium");

    let o = lint(&[
        "--explain-access",
        "all",
        "--format",
        "json",
        "examples/policy/vector-db-rbac.yaml",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let roles = v["policies"][0]["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 4);
    let admin = roles.iter().find(|r| r["role"] == "hr_admin").unwrap();
    assert_eq!(admin["inherits"][0], "hr_analyst");
    let acts: Vec<&str> = admin["collections"]["hr_records"]["actions"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(acts, ["delete", "read", "update"]);
    assert_eq!(admin["collections"]["hr_records"]["approval"], true);

    let o = lint(&["--explain-access", "nobody", "examples/policy/vector-db-rbac.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("hr_admin"), "lists the roles: {}", stderr(&o));
}

/// The enterprise reference-architecture shape lints as written: no unknown-key, invalid or
/// not-a-policy finding, and a dynamic rule written with a list `applies_to` keeps its scope
/// (its conditional deny reaches the collection it names, not every collection).
#[test]
fn reference_architecture_shape_lints_without_edits() {
    let f = "testdata/policy/realworld/native/reference-architecture-rbac.yaml";
    let ids = rule_ids(&json(&[f]));
    for shape in ["POL001", "POL002", "POL003"] {
        assert!(!ids.contains(shape), "{shape}: {ids:?}");
    }
    let o = lint(&["--explain-access", "analyst", "--format", "json", f]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let analyst = &v["policies"][0]["roles"][0];
    assert_eq!(analyst["role"], "analyst", "{v}");
    let cells = analyst["collections"].as_object().unwrap();
    assert_eq!(cells.len(), 3, "{v}");
    for (name, cell) in cells {
        assert_eq!(
            cell["conditional"].as_bool().unwrap_or(false),
            name == "payroll",
            "only payroll is under the office-hours deny: {name} {cell}"
        );
        assert_eq!(cell["approval"].as_bool(), Some(true), "bulk reads of {name}: {cell}");
    }
}

#[test]
fn directory_walks_skip_other_yaml_but_named_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy("examples/policy/vector-db-rbac.yaml", d.join("policy.yaml")).unwrap();
    std::fs::write(d.join("values.yaml"), "replicas: 3\n").unwrap();
    std::fs::write(d.join("notes.txt"), "hello\n").unwrap();
    let o = lint(&["--format", "json", d.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["files"], 1, "{v}");
    assert_eq!(v["summary"]["skipped"], 2, "{v}");
    assert_eq!(o.status.code(), Some(0));
    let o = lint(&[d.join("values.yaml").to_str().unwrap()]);
    assert!(stdout(&o).contains("POL003"), "{}", stdout(&o));
    // Named explicitly (as pre-commit does), YAML that is not a policy is noted at info and
    // its artifact is marked as not a policy; YAML shaped like a policy of no known format
    // stays at medium.
    let v = json(&[d.join("values.yaml").to_str().unwrap()]);
    assert_eq!(v["findings"][0]["severity"], "info", "{v}");
    assert_eq!(v["artifacts"][0]["format"], "not-a-policy", "{v}");
    std::fs::write(d.join("typo.yaml"), "kind: Polcy\nroles: [{name: r}]\n").unwrap();
    let v = json(&["--fail-on", "medium", d.join("typo.yaml").to_str().unwrap()]);
    assert_eq!(v["findings"][0]["severity"], "medium", "{v}");
    let o = lint(&["/no/such/policy.yaml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn exit_codes_follow_fail_on() {
    let f = "testdata/policy/native/POL022-escalation.yaml";
    assert_eq!(lint(&[f]).status.code(), Some(1));
    assert_eq!(lint(&["--fail-on", "never", f]).status.code(), Some(0));
    let f = "testdata/policy/native/POL013-shadowed.yaml";
    assert_eq!(lint(&[f]).status.code(), Some(0));
    assert_eq!(lint(&["--fail-on", "low", f]).status.code(), Some(1));
}

#[test]
fn print_schema_is_the_published_schema() {
    let o = llmguard(&["lint-policy", "--print-schema"]);
    assert_eq!(o.status.code(), Some(0));
    let published = std::fs::read_to_string("docs/schema/policy.schema.json").unwrap();
    assert_eq!(stdout(&o), published);
    let v: serde_json::Value = serde_json::from_str(&published).unwrap();
    assert!(v["properties"]["default_decision"].is_object(), "{v}");
}

#[test]
fn hostile_yaml_is_a_finding_with_bounded_memory() {
    for (file, rule) in [
        ("testdata/policy/hostile/billion-laughs.yaml", "GEN002"),
        ("testdata/policy/hostile/deep.yaml", "GEN002"),
        ("testdata/policy/hostile/invalid.yaml", "POL002"),
    ] {
        let v = json(&[file]);
        assert_eq!(rule_ids(&v), BTreeSet::from([rule.to_string()]), "{file}: {v}");
        assert!(v["findings"][0]["location"]["line"].as_u64().unwrap() > 0, "{file}");
    }
    // A huge (valid) policy file is refused at the size limit, not read whole.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let mut text = String::from("kind: Policy\nroles:\n");
    while text.len() < 17 << 20 {
        text.push_str("  - name: r\n    description: padding padding padding padding padding padding\n");
    }
    std::fs::write(&big, text).unwrap();
    let v = json(&[big.to_str().unwrap()]);
    assert_eq!(rule_ids(&v), BTreeSet::from(["GEN002".to_string()]), "{v}");
}

/// Real-world-shaped inputs (testdata/policy/realworld/, see its expected.yaml): every file
/// gives exactly the findings listed there, nothing crashes, and non-policy YAML is skipped.
#[test]
fn realworld_files_give_exactly_the_expected_findings() {
    use llmguard::policy::yaml::{self, Value};
    use std::collections::BTreeMap;
    let dir = "testdata/policy/realworld";
    let text = std::fs::read_to_string(format!("{dir}/expected.yaml")).unwrap();
    let doc = yaml::parse(&text, yaml::YamlLimits::default()).unwrap().remove(0);
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in doc.get("files").unwrap().as_map().unwrap() {
        let ids = v
            .as_seq()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        expected.insert(k.as_str().unwrap().to_string(), ids);
    }
    let skipped = match doc.get("skipped").unwrap().value {
        Value::Int(n) => n,
        _ => panic!("skipped must be a number"),
    };
    let v = json(&["--fail-on", "never", "--config", &format!("{dir}/llmguard.toml"), dir]);
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in v["artifacts"].as_array().unwrap() {
        let path = a["path"].as_str().unwrap();
        got.insert(
            path.trim_start_matches(dir).trim_start_matches('/').to_string(),
            Vec::new(),
        );
    }
    for f in v["findings"].as_array().unwrap() {
        let path = f["path"]
            .as_str()
            .unwrap()
            .trim_start_matches(dir)
            .trim_start_matches('/');
        let line = f["location"]["line"].as_u64();
        assert!(line.is_some_and(|l| l > 0), "every finding has a line: {f}");
        got.get_mut(path)
            .unwrap_or_else(|| panic!("finding in a file that is no artifact: {f}"))
            .push(f["rule_id"].as_str().unwrap().to_string());
    }
    for ids in got.values_mut().chain(expected.values_mut()) {
        ids.sort();
    }
    let mut diff = Vec::new();
    for (path, ids) in &got {
        match expected.get(path) {
            Some(e) if e == ids => {}
            Some(e) => diff.push(format!("{path}: expected {e:?}, got {ids:?}")),
            None => diff.push(format!("{path}: not in expected.yaml, got {ids:?}")),
        }
    }
    for path in expected.keys().filter(|p| !got.contains_key(*p)) {
        diff.push(format!("{path}: expected, but not read as a policy"));
    }
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    assert_eq!(
        v["summary"]["skipped"].as_i64(),
        i64::try_from(skipped).ok(),
        "{}",
        v["summary"]
    );
    // Findings in context files are reported once, in their own file: linting one file of a
    // joined directory gives that file's findings only.
    let one = json(&[
        "--fail-on",
        "never",
        "--config",
        &format!("{dir}/llmguard.toml"),
        &format!("{dir}/opensearch/vector-search/roles_mapping.yml"),
    ]);
    assert_eq!(
        rule_ids(&one),
        BTreeSet::from(["POL025".to_string(), "POL055".to_string()]),
        "{one}"
    );
    // A binding file alone resolves its role in the file beside it.
    let one = json(&[&format!("{dir}/kubernetes/kubebuilder-rbac/role_binding.yaml")]);
    assert!(rule_ids(&one).is_empty(), "{one}");
}

#[test]
fn resource_lists_and_other_default_spellings_are_read() {
    // `resources:` (and `resource:` as a list) grant the actions on each entry; `default:` is
    // `default_decision:` as other authors write it. Each finding points at its own entry.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plural.yaml");
    std::fs::write(&path, PLURAL).unwrap();
    let v = json(&[path.to_str().unwrap()]);
    let got: Vec<(String, u64, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["location"]["line"].as_u64().unwrap(),
                f["location"]["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("POL031".to_string(), 10, 13),
            ("POL022".to_string(), 15, 36),
            ("POL036".to_string(), 28, 7)
        ],
        "{v}"
    );
    // Without `default:` the policy states no default decision.
    let path = dir.path().join("no-default.yaml");
    std::fs::write(&path, PLURAL.replace("default: deny\n", "")).unwrap();
    assert!(rule_ids(&json(&[path.to_str().unwrap()])).contains("POL051"));
}

const PLURAL: &str = r#"apiVersion: security.example.com/v1
kind: Policy
metadata: {name: plural}
default: deny
roles:
  - name: reader
    permissions:
      - resources:
          - vectors/docs/*
          - vectors/hr/*
        actions: [read]
    conditions: {mfa_required: true}
  - name: writer
    permissions:
      - resource: [vectors/docs/*, roles/*]
        actions: [create, update]
    conditions: {mfa_required: true, authentication_method: certificate}
role_bindings:
  - name: r
    subjects: [{kind: Group, name: analysts}]
    role_ref: reader
  - name: w
    subjects: [{kind: User, name: ops@example.com}]
    role_ref: writer
data_classification:
  collections:
    - {name: docs, sensitivity: public, accessible_by: ['*']}
    - {name: hr, sensitivity: restricted, accessible_by: [reader], pii_present: true, encryption_required: true, audit_all_access: true}
audit: {enabled: true, retention_days: 400, events: [read, write, delete, permission_change]}
"#;
