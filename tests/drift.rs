//! Generated files stay identical to what the code generates: rule docs and the JSON schema.
//! Rerun with `LLMGUARD_BLESS=1 cargo test --test drift` after changing rules or the report.

use llmguard::rules::Rule;

fn check(path: &str, want: &str) {
    let bless = std::env::var_os("LLMGUARD_BLESS").is_some();
    let have = std::fs::read_to_string(path).unwrap_or_default();
    if have != want {
        if bless {
            if let Some(dir) = std::path::Path::new(path).parent() {
                std::fs::create_dir_all(dir).unwrap();
            }
            std::fs::write(path, want).unwrap();
        } else {
            panic!("{path} is out of date; rerun with LLMGUARD_BLESS=1");
        }
    }
}

#[test]
fn docs_are_generated() {
    check("docs/rules/README.md", &llmguard::docs::index_page());
    for r in Rule::ALL {
        check(&format!("docs/rules/{}.md", r.id()), &llmguard::docs::rule_page(*r));
    }
    // No stale pages for rules that no longer exist.
    for entry in std::fs::read_dir("docs/rules").unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let id = name.trim_end_matches(".md");
        assert!(
            name == "README.md" || Rule::find(id).is_some(),
            "stale docs page {name}"
        );
    }
}

#[test]
fn policy_schema_is_published() {
    check(
        "docs/schema/policy.schema.json",
        &llmguard::policy::native::json_schema(),
    );
}

#[test]
fn lineage_schema_is_published() {
    check(
        "docs/schema/lineage.schema.json",
        &llmguard::lineage::own::json_schema(),
    );
}

#[test]
fn json_schema_is_published() {
    check("docs/schema/report.schema.json", &llmguard::report::json_schema());
}

/// The JSON report validates against its own published schema (structurally: every required
/// property is present and no unknown top-level property appears).
#[test]
fn report_matches_schema_shape() {
    let schema: serde_json::Value = serde_json::from_str(&llmguard::report::json_schema()).unwrap();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for key in ["schema_version", "tool", "command", "summary", "findings", "artifacts"] {
        assert!(required.contains(&key), "{key} not required by the schema");
    }
}

/// A shard report (`--shard`) carries fields unsharded reports do not: each is in the
/// published schema, and so is every field of the shard object.
#[test]
fn shard_report_fields_are_in_the_schema() {
    use clap::Parser;
    let schema: serde_json::Value = serde_json::from_str(&llmguard::report::json_schema()).unwrap();
    let cli = llmguard::cli::Cli::try_parse_from([
        "llmguard",
        "scan-model",
        "--shard",
        "1/1",
        "testdata/models/malicious/proto0_global_os_system.pkl",
    ])
    .unwrap();
    let llmguard::cli::Command::ScanModel(args) = cli.command else {
        unreachable!("scan-model")
    };
    let report = llmguard::scan_model(&args).unwrap();
    let mut buf = Vec::new();
    llmguard::report::render(&report, llmguard::report::Format::Json, false, &mut buf).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    let keys = |x: &serde_json::Value| -> Vec<String> { x.as_object().unwrap().keys().cloned().collect() };
    for (value, props) in [
        (&v, &schema["properties"]),
        (&v["shard"], &schema["$defs"]["ShardInfo"]["properties"]),
        (&v["findings"][0], &schema["$defs"]["JsonFinding"]["properties"]),
    ] {
        for k in keys(value) {
            assert!(keys(props).contains(&k), "`{k}` is not in the published schema");
        }
    }
    assert!(v["findings"][0]["key"].is_string() && v["findings"][0]["uri"].is_string());
}
