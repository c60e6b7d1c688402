//! Any bytes through the tolerant zip walker.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::zip::{parse, ZipLimits};

fuzz_target!(|data: &[u8]| {
    let src = data.to_vec();
    let limits = ZipLimits { max_members: 1_000, max_central_dir: 1 << 20 };
    if let Some(archive) = parse(&src, &limits) {
        for e in &archive.entries {
            if let Some(start) = e.data_start {
                assert!(start <= src.len() as u64);
            }
        }
    }
});
