//! Any bytes as a model card (`README.md` front matter and sections), through the AI-BOM's card
//! parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = llmguard::aibom::card::parse(&String::from_utf8_lossy(data));
});
