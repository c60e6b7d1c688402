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

/// `testdata/models/manifest.json`: what each fixture is and what must fire on it.
pub fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string("testdata/models/manifest.json").expect("manifest");
    serde_json::from_str(&text).expect("manifest parses")
}
