//! Any bytes through the whole `scan-model` dispatch: content sniffing, every parser, archive
//! recursion (zip, tar, 7z, compression layers), hidden-payload decoding. Limits are lowered so
//! that one input stays fast; the point is that nothing panics and every path terminates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::rules::RuleSet;
use llmguard::scan::model::{ModelLimits, ModelScanner};
use std::sync::OnceLock;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"))
}

fuzz_target!(|data: &[u8]| {
    let limits = ModelLimits {
        // 8 MiB, not 64: a 321-byte bzip2 input that inflates to 10.9 MB of pickle opcodes
        // took 29 s under AddressSanitizer (0.57 s in a release build, linear in size), which
        // is libFuzzer's timeout, not a hang (fuzz/regressions/scan/timeout-9f06…).
        max_inflated: 8 << 20,
        spill_at: 4 << 20,
        ..ModelLimits::default()
    };
    let scanner = ModelScanner { rules: rules(), limits, hash: false };
    let src = data.to_vec();
    let out = scanner.scan_source(&src, "fuzz.bin");
    for f in &out.findings {
        assert!(!f.message.is_empty());
    }
});
