//! Turns `rules/catalog.yaml` into the `Rule` enum, so that the catalogue is the one place a
//! rule is declared: code can only name rules that exist there, and everything else a rule
//! has (docs, SARIF metadata, `llmguard explain`) is read from the same entry.

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// The pickle policy's name globs, shared with the crate so a bad built-in pattern fails here.
#[path = "src/rules/glob.rs"]
#[allow(dead_code)]
mod glob;

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

/// One string blob and the offsets of the strings in it (each distinct string stored once).
#[derive(Default)]
struct Blob {
    text: String,
    at: HashMap<String, (usize, usize)>,
}

impl Blob {
    /// `Str { at, len }` for `s`, as Rust source.
    fn str(&mut self, s: &str) -> String {
        let (at, len) = match self.at.get(s) {
            Some(&r) => r,
            None => {
                let r = (self.text.len(), s.len());
                self.text.push_str(s);
                self.at.insert(s.to_string(), r);
                r
            }
        };
        assert!(
            u32::try_from(at).is_ok() && u16::try_from(len).is_ok(),
            "pickle policy string too long: {s:?}"
        );
        format!("Str {{ at: {at}, len: {len} }}")
    }
}

fn fits_u16(n: usize, what: &str) -> usize {
    assert!(
        u16::try_from(n).is_ok(),
        "rules/model/pickle.yaml: too many {what} for the built-in tables"
    );
    n
}

/// An object's fields, rejecting keys outside `known` (the crate's spec denies unknown fields).
fn fields<'v>(v: &'v serde_json::Value, known: &[&str], what: &str) -> &'v serde_json::Map<String, serde_json::Value> {
    let map = v
        .as_object()
        .unwrap_or_else(|| panic!("rules/model/pickle.yaml: {what} is not a mapping"));
    if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str())) {
        panic!("rules/model/pickle.yaml: {what} has an unknown field `{k}`");
    }
    map
}

fn string<'v>(map: &'v serde_json::Map<String, serde_json::Value>, key: &str, what: &str) -> &'v str {
    map.get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("rules/model/pickle.yaml: {what} needs a string `{key}`"))
}

fn strings(v: &serde_json::Value, what: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("rules/model/pickle.yaml: {what}: `names` is not a list"))
        .iter()
        .map(|n| {
            n.as_str()
                .unwrap_or_else(|| panic!("rules/model/pickle.yaml: {what}: a name is not a string"))
                .to_string()
        })
        .collect()
}

fn severity(map: &serde_json::Map<String, serde_json::Value>, what: &str) -> &'static str {
    let s = string(map, "severity", what);
    SEVERITIES
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, variant)| *variant)
        .unwrap_or_else(|| panic!("rules/model/pickle.yaml: {what} has unknown severity `{s}`"))
}

/// `(exact, globs)` ranges of `names` (exact names sorted), appended to `table`, as source.
fn names_source(names: &[String], table: &mut Vec<String>, blob: &mut Blob, what: &str) -> String {
    let mut exact: Vec<&String> = names.iter().filter(|n| !glob::is_glob(n)).collect();
    exact.sort();
    exact.dedup();
    let globs: Vec<&String> = names.iter().filter(|n| glob::is_glob(n)).collect();
    for g in &globs {
        if let Err(e) = glob::check(g) {
            panic!("rules/model/pickle.yaml: {what}: bad name pattern `{g}`: {e}");
        }
    }
    let e0 = table.len();
    table.extend(exact.iter().map(|n| blob.str(n)));
    let g0 = table.len();
    table.extend(globs.iter().map(|n| blob.str(n)));
    fits_u16(table.len(), "names");
    format!(
        "StaticNames {{ exact: ({e0}, {}), globs: ({g0}, {}) }}",
        exact.len(),
        globs.len()
    )
}

/// `rules/model/pickle.yaml` as Rust tables (`OUT_DIR/pickle_policy.rs`, included by
/// `src/rules/pickle.rs`): one string blob, integer offsets into it, modules and names sorted
/// for binary search. Nothing in them is a pointer, so loading the binary relocates nothing
/// and starting up parses nothing. The file is checked as strictly as the crate's own spec
/// (unknown fields, severities, empty allow names, glob syntax) and a problem fails the build.
fn pickle_policy_tables() {
    const FILE: &str = "rules/model/pickle.yaml";
    println!("cargo:rerun-if-changed={FILE}");
    println!("cargo:rerun-if-changed=src/rules/glob.rs");
    let text = std::fs::read_to_string(FILE).expect("read rules/model/pickle.yaml");
    let spec: serde_json::Value =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{FILE} does not parse: {e}"));
    let top = fields(&spec, &["aliases", "deny", "dangerous_attributes", "allow"], "the file");
    let mut blob = Blob::default();
    let mut names: Vec<String> = Vec::new();
    let mut out = String::new();

    let mut aliases: Vec<(String, String)> = Vec::new();
    if let Some(a) = top.get("aliases").filter(|v| !v.is_null()) {
        let map = a
            .as_object()
            .unwrap_or_else(|| panic!("{FILE}: aliases is not a mapping"));
        for (from, to) in map {
            let to = to
                .as_str()
                .unwrap_or_else(|| panic!("{FILE}: alias `{from}` is not a string"));
            aliases.push((from.clone(), to.to_string()));
        }
    }
    aliases.sort();
    let aliases: Vec<String> = aliases
        .iter()
        .map(|(from, to)| format!("({}, {})", blob.str(from), blob.str(to)))
        .collect();

    // Deny entries grouped by module (sorted), in file order within a module.
    let mut deny: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let list = |key: &str| -> Vec<serde_json::Value> {
        match top.get(key) {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(v) => v
                .as_array()
                .unwrap_or_else(|| panic!("{FILE}: `{key}` is not a list"))
                .clone(),
        }
    };
    for (i, d) in list("deny").iter().enumerate() {
        let what = format!("deny entry {}", i + 1);
        let map = fields(d, &["module", "names", "severity", "reason"], &what);
        let module = string(map, "module", &what);
        let entry_names = match map.get("names") {
            None | Some(serde_json::Value::Null) => "None".to_string(),
            Some(n) => format!(
                "Some({})",
                names_source(&strings(n, &what), &mut names, &mut blob, &what)
            ),
        };
        let source = format!(
            "StaticDeny {{ names: {entry_names}, severity: Severity::{}, reason: {} }}",
            severity(map, &what),
            blob.str(string(map, "reason", &what).trim())
        );
        deny.entry(module.to_string()).or_default().push(source);
    }
    let mut allow: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, a) in list("allow").iter().enumerate() {
        let what = format!("allow entry {}", i + 1);
        let map = fields(a, &["module", "names", "submodules", "reason"], &what);
        let module = string(map, "module", &what);
        let entry_names = strings(map.get("names").unwrap_or(&serde_json::Value::Null), &what);
        assert!(
            !entry_names.is_empty(),
            "{FILE}: {what} ({module}): an allow entry must list names (use \"*\" deliberately)"
        );
        let submodules = match map.get("submodules") {
            None | Some(serde_json::Value::Null) => false,
            Some(b) => b
                .as_bool()
                .unwrap_or_else(|| panic!("{FILE}: {what}: `submodules` is not a boolean")),
        };
        if let Some(r) = map.get("reason").filter(|r| !r.is_null()) {
            assert!(r.is_string(), "{FILE}: {what}: `reason` is not a string");
        }
        let source = format!(
            "StaticAllow {{ names: {}, submodules: {submodules} }}",
            names_source(&entry_names, &mut names, &mut blob, &what)
        );
        allow.entry(module.to_string()).or_default().push(source);
    }
    let grouped = |groups: &BTreeMap<String, Vec<String>>, blob: &mut Blob, what: &str| {
        let (mut index, mut entries) = (Vec::new(), Vec::new());
        for (module, list) in groups {
            index.push(format!(
                "ModuleEntries {{ module: {}, first: {}, count: {} }}",
                blob.str(module),
                fits_u16(entries.len(), what),
                fits_u16(list.len(), what)
            ));
            entries.extend(list.iter().cloned());
        }
        fits_u16(entries.len(), what);
        (index, entries)
    };
    let (deny_index, deny_entries) = grouped(&deny, &mut blob, "deny entries");
    let (allow_index, allow_entries) = grouped(&allow, &mut blob, "allow entries");

    let (attributes, attribute_rule) = match top.get("dangerous_attributes").filter(|v| !v.is_null()) {
        None => (Vec::new(), "None".to_string()),
        Some(a) => {
            let what = "dangerous_attributes";
            let map = fields(a, &["names", "severity", "reason"], what);
            let mut list = strings(map.get("names").unwrap_or(&serde_json::Value::Null), what);
            list.sort();
            list.dedup();
            let rule = format!(
                "Some((Severity::{}, {}))",
                severity(map, what),
                blob.str(string(map, "reason", what).trim())
            );
            (list.iter().map(|n| blob.str(n)).collect::<Vec<_>>(), rule)
        }
    };

    let table = |out: &mut String, name: &str, ty: &str, items: &[String]| {
        let _ = writeln!(out, "pub(super) static {name}: [{ty}; {}] = [", items.len());
        for i in items {
            let _ = writeln!(out, "    {i},");
        }
        out.push_str("];\n");
    };
    out.push_str("// Generated by build.rs from rules/model/pickle.yaml. Do not edit.\n");
    let _ = writeln!(out, "pub(super) static TEXT: &str = {:?};", blob.text);
    table(&mut out, "ALIASES", "(Str, Str)", &aliases);
    table(&mut out, "NAMES", "Str", &names);
    table(&mut out, "DENY_MODULES", "ModuleEntries", &deny_index);
    table(&mut out, "DENY", "StaticDeny", &deny_entries);
    table(&mut out, "ALLOW_MODULES", "ModuleEntries", &allow_index);
    table(&mut out, "ALLOW", "StaticAllow", &allow_entries);
    table(&mut out, "ATTRIBUTES", "Str", &attributes);
    let _ = writeln!(
        out,
        "pub(super) static ATTRIBUTE_RULE: Option<(Severity, Str)> = {attribute_rule};"
    );
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("pickle_policy.rs");
    std::fs::write(dest, out).expect("write pickle policy tables");
}

/// For every letter whose confusables skeleton (Unicode UTS #39, as `unicode-security`
/// computes it) equals an ASCII letter's, that ASCII letter (the first of `a`–`z`, `A`–`Z`):
/// `OUT_DIR/lookalikes.rs`, a sorted array of `(code point, ASCII byte)` for the homoglyph
/// check in `src/prompts/hidden.rs`. Computed here so the binary does not link the crate's
/// confusables table: 160 KB of pointers that the loader relocates, page by page, at the start
/// of every run of every subcommand.
fn ascii_lookalikes() {
    let skeleton = |c: char| -> String { unicode_security::skeleton(c.encode_utf8(&mut [0; 4])).collect() };
    let ascii: Vec<(String, char)> = ('a'..='z').chain('A'..='Z').map(|a| (skeleton(a), a)).collect();
    let mut out = String::from("[\n");
    let mut n = 0;
    for c in (0..=char::MAX as u32)
        .filter_map(char::from_u32)
        .filter(|c| c.is_alphabetic())
    {
        let sk = skeleton(c);
        if let Some(&(_, a)) = ascii.iter().find(|(s, _)| *s == sk) {
            let _ = writeln!(out, "    (0x{:04X}, b'{a}'),", c as u32);
            n += 1;
        }
    }
    out.push(']');
    let out = format!(
        "// Generated by build.rs from unicode-security's confusables. Do not edit.\n\
         static LOOKALIKES: [(u32, u8); {n}] = {out};\n"
    );
    let dest = std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("lookalikes.rs");
    std::fs::write(dest, out).expect("write lookalikes");
}

fn main() {
    encode_rule_data();
    pickle_policy_tables();
    ascii_lookalikes();
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
