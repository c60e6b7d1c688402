//! Any bytes through `scan-prompts` as every text format: the JSON string walker, YAML
//! events, CSV records, the HTML hidden-region scanner, every detector and the position
//! mapping. The same input goes through all eight formats, so file seeds need no prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::prompts::input::Kind;
use llmguard::prompts::PromptRules;
use llmguard::scan::prompts::{PromptLimits, PromptScanner};
use std::sync::OnceLock;

static RULES: OnceLock<PromptRules> = OnceLock::new();

const KINDS: [Kind; 8] = [
    Kind::Text,
    Kind::Markdown,
    Kind::Template,
    Kind::Yaml,
    Kind::Json,
    Kind::Jsonl,
    Kind::Csv,
    Kind::Html,
];

fuzz_target!(|data: &[u8]| {
    let rules = RULES.get_or_init(|| PromptRules::builtin().expect("built-in prompt rules"));
    // Small limits so the chunked path is fuzzed too.
    let scanner = PromptScanner {
        rules,
        limits: PromptLimits {
            max_document: 32 << 10,
            chunk: 8 << 10,
        },
        redact: None,
    };
    for kind in KINDS {
        let _ = scanner.scan_reader(Box::new(data), "fuzz", kind, data.len() as u64, None);
    }
});
