//! Any bytes as a Keras configuration (walked and judged) and as Lambda marshal bytecode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::keras;
use llmguard::rules::RuleSet;
use std::sync::OnceLock;

static RULES: OnceLock<RuleSet> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let rules = RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"));
    let limits = keras::Limits::default();
    let _ = keras::summarise_marshal(data, &limits);
    if let Ok(v) = keras::parse_config(data, &limits) {
        let (objects, _) = keras::objects(&v, &limits);
        for o in &objects {
            for hit in rules.keras().check(o, &rules.pickle) {
                if let llmguard::rules::keras::HitKind::Lambda { code } = hit.kind {
                    let _ = keras::marshal_summary(&code, &limits);
                }
            }
        }
    }
});
