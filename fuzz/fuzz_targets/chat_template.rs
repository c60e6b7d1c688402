//! Any text through the Jinja normaliser and the template gadget rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::jinja::normalise;
use llmguard::rules::chat_template::{TemplatePolicy, TemplateSpec};
use std::sync::OnceLock;

static POLICY: OnceLock<TemplatePolicy> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let policy = POLICY.get_or_init(|| {
        TemplatePolicy::compile(&TemplateSpec::builtin().expect("built-in rules")).expect("compile")
    });
    let text = String::from_utf8_lossy(data);
    let _ = policy.check(&normalise(&text));
});
