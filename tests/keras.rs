//! Keras HDF5 and `.keras` v3 scans: a snapshot of every malicious fixture's findings, the
//! benign corpus staying quiet, formats identified by content, and JSON paths in locations.

mod common;

use llmguard::finding::Severity;
use llmguard::rules::Rule;

#[test]
fn malicious_keras_fixtures() {
    insta::assert_json_snapshot!(common::scan_json(&["testdata/models/malicious/keras"]));
}

#[test]
fn benign_keras_models_have_no_finding_above_low() {
    let report = common::scan(&["testdata/models/benign/keras"]);
    assert!(report.artifacts.len() >= 8);
    for f in &report.findings {
        assert!(f.severity <= Severity::Low, "{} {} {}", f.path, f.rule.id(), f.message);
        assert_eq!(f.rule, Rule::KerasCustomObject, "{}", f.message);
        assert!(f.path.ends_with("registered_custom_layer.keras"), "{}", f.path);
    }
    let formats: Vec<(String, String)> = report
        .artifacts
        .iter()
        .map(|a| (a.path.rsplit('/').next().unwrap_or("").to_string(), a.format.clone()))
        .collect();
    for (name, format) in &formats {
        let want = if name.ends_with(".weights.h5") {
            "hdf5"
        } else if name.ends_with(".h5") {
            "keras-h5"
        } else {
            "keras-v3"
        };
        assert_eq!(format, want, "{name}");
    }
}

#[test]
fn findings_point_at_the_json_path_of_the_layer() {
    let report = common::scan(&["testdata/models/malicious/keras/nested_model_lambda.h5"]);
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::KerasLambdaLayer)
        .expect("a Lambda finding");
    assert_eq!(
        f.location.key_path.as_deref(),
        Some("/config/layers/2/config/layer/config/layers/0/config/function")
    );
    assert_eq!(f.location.object.as_deref(), Some("/"));
    assert!(
        f.message
            .contains("config.layers[2].config.layer.config.layers[0].config.function"),
        "{}",
        f.message
    );
    let evidence = f.evidence.as_deref().unwrap_or("");
    assert!(
        evidence.contains("system") && evidence.contains("__import__"),
        "{evidence}"
    );
}

#[test]
fn keras_zip_members_are_named_in_locations() {
    let report = common::scan(&["testdata/models/malicious/keras/k3_get_file.keras"]);
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::KerasSafeModeBypass)
        .expect("a bypass finding");
    assert_eq!(f.location.members, vec!["config.json".to_string()]);
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.evidence.as_deref().unwrap_or("").contains("attacker.invalid"));
}

#[test]
fn a_keras_zip_inside_a_zip_is_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let outer = dir.path().join("bundle.zip");
    let inner = std::fs::read("testdata/models/malicious/keras/k3_lambda_bytecode.keras").unwrap();
    let mut w = zip_writer(&outer);
    add_stored(&mut w, "models/model.keras", &inner);
    finish(w);
    let report = common::scan(&[outer.to_str().unwrap()]);
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == Rule::KerasLambdaLayer)
        .expect("Lambda found through the outer zip");
    assert_eq!(
        f.location.members,
        vec!["models/model.keras".to_string(), "config.json".to_string()]
    );
}

// A minimal stored-zip writer (the test crate has no zip dependency).
struct ZipOut {
    file: std::fs::File,
    central: Vec<u8>,
    offset: u32,
    count: u16,
}

fn zip_writer(path: &std::path::Path) -> ZipOut {
    ZipOut {
        file: std::fs::File::create(path).unwrap(),
        central: Vec::new(),
        offset: 0,
        count: 0,
    }
}

fn add_stored(z: &mut ZipOut, name: &str, data: &[u8]) {
    use std::io::Write;
    let crc = crc32fast::hash(data);
    let n = name.len() as u16;
    let size = data.len() as u32;
    let mut local = Vec::new();
    local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    local.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    local.extend_from_slice(&crc.to_le_bytes());
    local.extend_from_slice(&size.to_le_bytes());
    local.extend_from_slice(&size.to_le_bytes());
    local.extend_from_slice(&n.to_le_bytes());
    local.extend_from_slice(&0u16.to_le_bytes());
    local.extend_from_slice(name.as_bytes());
    z.file.write_all(&local).unwrap();
    z.file.write_all(data).unwrap();
    let c = &mut z.central;
    c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    c.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    c.extend_from_slice(&crc.to_le_bytes());
    c.extend_from_slice(&size.to_le_bytes());
    c.extend_from_slice(&size.to_le_bytes());
    c.extend_from_slice(&n.to_le_bytes());
    c.extend_from_slice(&[0; 12]);
    c.extend_from_slice(&z.offset.to_le_bytes());
    c.extend_from_slice(name.as_bytes());
    z.offset += local.len() as u32 + size;
    z.count += 1;
}

fn finish(mut z: ZipOut) {
    use std::io::Write;
    let mut end = Vec::new();
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0, 0, 0, 0]);
    end.extend_from_slice(&z.count.to_le_bytes());
    end.extend_from_slice(&z.count.to_le_bytes());
    end.extend_from_slice(&(z.central.len() as u32).to_le_bytes());
    end.extend_from_slice(&z.offset.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    let central = std::mem::take(&mut z.central);
    z.file.write_all(&central).unwrap();
    z.file.write_all(&end).unwrap();
}

/// The HDF5 decoder runs on a worker thread, where a panic becomes `Error::Panicked` (a
/// malformed-file finding) rather than `GEN005`; so the robustness sweep cannot see decoder
/// panics, and this test looks for them directly on mutants of the HDF5 fixtures.
#[test]
fn mutated_hdf5_fixtures_never_panic_the_decoder() {
    use llmguard::model::h5;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let attrs = ["model_config", "training_config", "keras_version", "backend"];
    let mut files: Vec<_> = std::fs::read_dir("testdata/models/benign/keras")
        .unwrap()
        .chain(std::fs::read_dir("testdata/models/malicious/keras").unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "h5"))
        .collect();
    files.sort();
    let n: usize = std::env::var("LLMGUARD_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if data.len() < 64 {
            continue;
        }
        for _ in 0..n {
            let mut d = data.clone();
            // Flip bytes in the metadata near the start (superblock, root object header, heaps).
            let span = d.len().min(4096);
            for _ in 0..1 + next() % 6 {
                let i = (next() as usize) % span;
                d[i] = match next() % 4 {
                    0 => d[i] ^ (1 << (next() % 8)),
                    1 => 0xff,
                    2 => 0,
                    _ => next() as u8,
                };
            }
            if next() % 8 == 0 {
                d.truncate((next() as usize) % d.len());
            }
            let r = h5::root_attributes(&d, &attrs, &h5::Limits::default());
            assert!(!matches!(r, Err(h5::Error::Panicked(_))), "{}: {r:?}", f.display());
        }
    }
}
