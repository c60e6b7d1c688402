//! Any bytes through the GGUF metadata parser, with and without a known length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::gguf::{parse, Limits};

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, Some(data.len() as u64), &Limits::default());
    let _ = parse(data, None, &Limits::default());
});
