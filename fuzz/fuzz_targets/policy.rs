//! Any bytes through `lint-policy`: YAML with the alias and depth budget, format detection
//! (native, Kubernetes RBAC, OpenSearch Security), every parser, the per-directory join, the
//! effective-access matrix, every check, the secret detectors and the `--explain-access`
//! renderers. A NUL byte splits the input: the first part is the file linted, the others are
//! files of its directory (context), so seeds without NUL fuzz the file on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::policy::model::Sensitivity;
use llmguard::policy::params::PolicyParams;
use llmguard::policy::ConfigClass;
use llmguard::prompts::secrets::SecretDetector;
use llmguard::report::Format;
use llmguard::scan::policy::{PolicyScanner, PolicySettings};
use std::sync::OnceLock;

static PARAMS: OnceLock<PolicyParams> = OnceLock::new();
static SECRETS: OnceLock<SecretDetector> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let params = PARAMS.get_or_init(|| PolicyParams::builtin().expect("built-in policy rules"));
    let secrets = SECRETS.get_or_init(|| SecretDetector::builtin().expect("built-in secret detectors"));
    let mut parts = data.split(|b| *b == 0).filter_map(|p| std::str::from_utf8(p).ok());
    let Some(text) = parts.next() else { return };
    let context: Vec<&str> = parts.take(4).collect();
    let settings = PolicySettings {
        min_retention_days: 365,
        min_tls: "1.2".into(),
        today: 20_454,
        // Classified globs, so the classification-dependent checks run on every format.
        classes: vec![
            ConfigClass {
                pattern: "hr-*".into(),
                sensitivity: Sensitivity::Restricted,
            },
            ConfigClass {
                pattern: "*/secrets".into(),
                sensitivity: Sensitivity::Confidential,
            },
        ],
        max_bytes: 1 << 20,
    };
    let scanner = PolicyScanner::new(params, secrets, settings);
    let _ = scanner.scan_with_context("fuzz.yaml", text, &context);
    let views = scanner.views.into_inner().unwrap_or_default();
    for format in [Format::Table, Format::Json] {
        let _ = llmguard::report::access::render(&views, None, format, &mut std::io::sink());
    }
});
