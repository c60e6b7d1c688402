//! Helpers shared by the integration tests.
#![allow(dead_code)]

use clap::Parser;
use llmguard::cli::{Cli, Command};
use llmguard::report::Report;
use std::process::{Command as Process, Output};

/// Run `llmguard scan-model ARGS…` in-process and return the report.
pub fn scan(args: &[&str]) -> Report {
    let mut argv = vec!["llmguard", "scan-model", "--no-progress", "--quiet"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    match cli.command {
        Command::ScanModel(a) => llmguard::scan_model(&a).expect("scan runs"),
        _ => unreachable!("scan-model"),
    }
}

/// `llmguard scan-model -q --format json PATHS…` through the real binary, parsed.
pub fn scan_json(paths: &[&str]) -> serde_json::Value {
    let mut args = vec!["scan-model", "-q", "--format", "json"];
    args.extend_from_slice(paths);
    let o = llmguard(&args);
    serde_json::from_slice(&o.stdout).expect("JSON report")
}

/// Run the real binary.
pub fn llmguard(args: &[&str]) -> Output {
    Process::new(env!("CARGO_BIN_EXE_llmguard"))
        .args(args)
        .output()
        .expect("binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[derive(serde::Deserialize)]
pub struct Entry {
    pub file: String,
    pub kind: String,
    pub technique: String,
    pub expect: Vec<String>,
    #[serde(default)]
    pub imports: Vec<String>,
}

/// `testdata/models/manifest.json` and every `manifest.<area>.json` beside it (one per
/// generator): what each fixture is and what must fire on it.
pub fn manifest() -> Vec<Entry> {
    let mut files: Vec<_> = std::fs::read_dir("testdata/models")
        .expect("testdata/models")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("manifest") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("manifest");
        let part: Vec<Entry> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        all.extend(part);
    }
    all
}

/// `testdata/prompts/manifest.json`: what every scan-prompts sample must trigger.
pub fn prompts_manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string("testdata/prompts/manifest.json").expect("prompts manifest");
    serde_json::from_str(&text).expect("prompts manifest parses")
}

/// `llmguard scan-prompts -q --format json ARGS…` through the real binary, parsed.
pub fn prompts_json(args: &[&str]) -> serde_json::Value {
    let mut argv = vec!["scan-prompts", "-q", "--format", "json", "--fail-on", "never"];
    argv.extend_from_slice(args);
    let o = llmguard(&argv);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("JSON report")
}
