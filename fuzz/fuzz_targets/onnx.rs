//! Any bytes through the ONNX walker (positioned reads over the input), with the default limits
//! and with a tiny `max_message` so that the field-by-field walk of large messages is fuzzed too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::onnx::{parse, Limits};

fuzz_target!(|data: &[u8]| {
    let src = data.to_vec();
    let _ = parse(&src, &Limits::default());
    let small = Limits {
        max_message: 32,
        ..Limits::default()
    };
    let _ = parse(&src, &small);
});
