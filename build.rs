//! Turns `rules/catalog.yaml` into the `Rule` enum, so that the catalogue is the one place a
//! rule is declared: code can only name rules that exist there, and everything else a rule
//! has (docs, SARIF metadata, `llmguard explain`) is read from the same entry.

use serde::Deserialize;
use std::fmt::Write as _;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    name: String,
    severity: String,
    summary: String,
    doc: String,
    example: String,
    fix: String,
}

const SEVERITIES: [(&str, &str); 5] = [
    ("info", "Info"),
    ("low", "Low"),
    ("medium", "Medium"),
    ("high", "High"),
    ("critical", "Critical"),
];
const FAMILIES: [&str; 6] = ["GEN", "MOD", "PRM", "LIN", "POL", "BOM"];

fn camel(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn check(entries: &[Entry]) -> Result<(), String> {
    let mut seen_names = std::collections::BTreeSet::new();
    let mut last_id = String::new();
    for e in entries {
        let (fam, num) = e.id.split_at(e.id.len().min(3));
        if !FAMILIES.contains(&fam) || num.len() != 3 || !num.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("rule id `{}` is not FAMILY + three digits", e.id));
        }
        if e.id <= last_id {
            return Err(format!(
                "rule `{}` is out of order or duplicated (ids must ascend)",
                e.id
            ));
        }
        last_id.clone_from(&e.id);
        let kebab = !e.name.is_empty()
            && e.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !kebab || !seen_names.insert(e.name.clone()) {
            return Err(format!("rule `{}` name `{}` is not unique kebab-case", e.id, e.name));
        }
        if !SEVERITIES.iter().any(|(s, _)| *s == e.severity) {
            return Err(format!("rule `{}` has unknown severity `{}`", e.id, e.severity));
        }
        if e.summary.contains('\n') {
            return Err(format!("rule `{}` summary must be one line", e.id));
        }
    }
    Ok(())
}

/// Re-encode the rule data files (`rules/model/*.yaml`) as JSON in `OUT_DIR`: YAML stays the
/// format people edit, the binary embeds JSON because parsing it at start-up costs a fraction
/// of parsing YAML (the pickle policy's YAML parse was ~40% of scanning a 1 GB checkpoint).
/// A file that is not valid YAML fails the build here, and so does any `pattern` string that
/// is not a valid regular expression (so the binary need not re-check its built-in patterns at
/// start-up); the schema is checked by the tests.
fn encode_rule_data() {
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("rules");
    // `rules/model/x.yaml` becomes `OUT_DIR/rules/x.json`, `rules/prompts/x.yaml` becomes
    // `OUT_DIR/rules/prompts/x.json`, `rules/aibom/x.yaml` `OUT_DIR/rules/aibom/x.json`.
    for (dir, dest) in [
        ("rules/model", out.clone()),
        ("rules/prompts", out.join("prompts")),
        ("rules/policy", out.join("policy")),
        ("rules/lineage", out.join("lineage")),
        ("rules/aibom", out.join("aibom")),
    ] {
        std::fs::create_dir_all(&dest).expect("create OUT_DIR/rules");
        println!("cargo:rerun-if-changed={dir}");
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path).expect("read rule data");
            let value: serde_json::Value =
                serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
            check_patterns(&value, &path.display().to_string());
            let name = path.with_extension("json");
            let name = name.file_name().expect("file name");
            std::fs::write(dest.join(name), serde_json::to_string(&value).expect("encode")).expect("write rule data");
        }
    }
}

fn check_patterns(v: &serde_json::Value, file: &str) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                if let (true, Some(p)) = (k == "pattern", item.as_str()) {
                    if let Err(e) = regex_syntax::parse(p) {
                        panic!("{file}: pattern {p:?} is not a valid regex: {e}");
                    }
                }
                check_patterns(item, file);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| check_patterns(i, file)),
        _ => {}
    }
}

fn main() {
    encode_rule_data();
    println!("cargo:rerun-if-changed=rules/catalog.yaml");
    let text = std::fs::read_to_string("rules/catalog.yaml").expect("read rules/catalog.yaml");
    let entries: Vec<Entry> =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("rules/catalog.yaml does not parse: {e}"));
    if let Err(e) = check(&entries) {
        panic!("rules/catalog.yaml: {e}");
    }

    let mut out = String::new();
    out.push_str("/// Every rule llmguard can report, generated from `rules/catalog.yaml`.\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]\n");
    out.push_str("pub enum Rule {\n");
    for e in &entries {
        let _ = writeln!(out, "    /// `{} {}`: {}", e.id, e.name, e.summary.replace('`', "'"));
        let _ = writeln!(out, "    {},", camel(&e.name));
    }
    out.push_str("}\n\nimpl Rule {\n    /// All rules, in id order.\n    pub const ALL: &'static [Rule] = &[\n");
    for e in &entries {
        let _ = writeln!(out, "        Rule::{},", camel(&e.name));
    }
    out.push_str("    ];\n\n    fn spec(self) -> &'static RuleSpec {\n        match self {\n");
    for (i, e) in entries.iter().enumerate() {
        let _ = writeln!(out, "            Rule::{} => &SPECS[{i}],", camel(&e.name));
    }
    out.push_str("        }\n    }\n}\n\nstatic SPECS: &[RuleSpec] = &[\n");
    for e in &entries {
        let sev = SEVERITIES
            .iter()
            .find(|(s, _)| *s == e.severity)
            .map(|(_, v)| *v)
            .unwrap_or("High");
        let _ = writeln!(
            out,
            "    RuleSpec {{ id: {:?}, name: {:?}, severity: Severity::{sev}, summary: {:?}, doc: {:?}, example: {:?}, fix: {:?} }},",
            e.id,
            e.name,
            e.summary.trim(),
            e.doc.trim(),
            e.example.trim(),
            e.fix.trim()
        );
    }
    out.push_str("];\n");
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("rules_generated.rs");
    std::fs::write(dest, out).expect("write generated rules");
}
