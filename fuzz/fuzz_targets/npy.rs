//! Any bytes through the `.npy` header parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::input::Input;
use llmguard::model::numpy::read_header;

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    if let Ok(h) = read_header(&mut input) {
        assert!(h.data_offset <= data.len() as u64);
    }
});
