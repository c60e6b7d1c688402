//! Any bytes through the safetensors header parser (positioned reads over the input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::safetensors::{parse, Limits};

fuzz_target!(|data: &[u8]| {
    let _ = parse(&data.to_vec(), &Limits::default());
});
