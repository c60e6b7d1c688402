//! Any bytes through the symbolic pickle machine: Ok or a typed error, never a panic, with
//! small limits so a run also exercises every limit path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::pickle::{parse_file, PickleLimits};

fuzz_target!(|data: &[u8]| {
    let limits = PickleLimits { max_opcodes: 100_000, max_memo: 1_000, max_stack: 10_000, max_nesting: 2 };
    let file = parse_file(data, Some(data.len() as u64), &limits);
    let _ = file.is_pickle();
});
