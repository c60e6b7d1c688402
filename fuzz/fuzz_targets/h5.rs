//! Any bytes through the HDF5 root-attribute reader (the bytes as a whole file, and behind a
//! 512-byte user block), then whatever configuration it finds through the Keras walk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmguard::model::{h5, keras};

const ATTRS: &[&str] = &["model_config", "training_config", "keras_version", "backend"];

fuzz_target!(|data: &[u8]| {
    let limits = h5::Limits {
        // Small caps keep each run fast; the logic under test is the same.
        max_read: 4 << 20,
        max_total: 16 << 20,
        ..h5::Limits::default()
    };
    let mut inputs = vec![data.to_vec()];
    if data.len() >= 8 && data[..8] != h5::MAGIC[..] {
        let mut padded = vec![0u8; 512];
        padded.extend_from_slice(h5::MAGIC);
        padded.extend_from_slice(data);
        inputs.push(padded);
    }
    for input in inputs {
        let Ok(root) = h5::root_attributes(&input, ATTRS, &limits) else {
            continue;
        };
        for (_, value) in &root.values {
            if let Ok(h5::Value::Text(text)) = value {
                if let Ok(v) = keras::parse_config(text.as_bytes(), &keras::Limits::default()) {
                    let _ = keras::objects(&v, &keras::Limits::default());
                }
            }
        }
    }
});
