//! ONNX scanning: snapshots of the malicious fixtures through the built binary, the benign
//! fixtures from real producers, external data reached through a symbolic link, models inside
//! compression layers, a model with a large inline initializer, and corrupted models.

mod common;

use llmguard::model::onnx::{self, Limits, ModelProto, OperatorSetIdProto, StringStringEntryProto, TensorProto};
use llmguard::rules::Rule;
use prost::Message;
use std::path::Path;

#[test]
fn onnx_techniques() {
    insta::assert_json_snapshot!(common::scan_json(&["testdata/models/malicious/onnx"]));
}

#[test]
fn benign_onnx_models_have_no_findings() {
    let report = common::scan(&["testdata/models/benign/onnx"]);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let onnx: Vec<_> = report.artifacts.iter().filter(|a| a.format == "onnx").collect();
    assert!(onnx.len() >= 9, "{:?}", report.artifacts);
    for a in onnx {
        assert_eq!(a.verdict, llmguard::report::Verdict::Clean, "{}", a.path);
    }
}

fn external_model(location: &str, length: &str) -> Vec<u8> {
    let tensor = TensorProto {
        name: b"w".to_vec(),
        data_location: onnx::DATA_LOCATION_EXTERNAL,
        external_data: [("location", location), ("offset", "0"), ("length", length)]
            .iter()
            .map(|(k, v)| StringStringEntryProto {
                key: k.as_bytes().to_vec(),
                value: v.as_bytes().to_vec(),
            })
            .collect(),
    };
    model_with(vec![tensor], Vec::new())
}

/// A model whose graph holds these initializers, after `prefix` (raw graph fields).
fn model_with(initializer: Vec<TensorProto>, prefix: Vec<u8>) -> Vec<u8> {
    let graph = onnx::GraphProto {
        name: b"main".to_vec(),
        initializer,
        ..Default::default()
    };
    let mut graph_bytes = prefix;
    graph.encode(&mut graph_bytes).unwrap();
    let mut out = ModelProto {
        ir_version: 9,
        opset_import: vec![OperatorSetIdProto {
            domain: Vec::new(),
            version: 19,
        }],
        ..Default::default()
    }
    .encode_to_vec();
    prost::encoding::bytes::encode(7, &graph_bytes, &mut out);
    out
}

fn rules_of(report: &llmguard::report::Report) -> Vec<(Rule, String)> {
    report.findings.iter().map(|f| (f.rule, f.message.clone())).collect()
}

#[cfg(unix)]
#[test]
fn external_data_through_a_symlink_out_of_the_model_directory() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), b"root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let models = tempfile::tempdir().unwrap();
    let dir = models.path();
    std::fs::write(dir.join("model.onnx"), external_model("weights.bin", "16")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.join("weights.bin")).unwrap();
    // A link that stays inside the directory is fine.
    std::fs::create_dir(dir.join("ok")).unwrap();
    std::fs::write(dir.join("ok/real.bin"), [0u8; 16]).unwrap();
    std::os::unix::fs::symlink("real.bin", dir.join("ok/weights.bin")).unwrap();
    std::fs::write(dir.join("ok/model.onnx"), external_model("weights.bin", "16")).unwrap();

    let model = dir.join("model.onnx");
    let report = common::scan(&[model.to_str().unwrap()]);
    let found = rules_of(&report);
    assert!(
        found
            .iter()
            .any(|(r, m)| *r == Rule::OnnxExternalDataPath && m.contains("symbolic link") && m.contains("secret.txt")),
        "{found:#?}"
    );
    let ok = dir.join("ok/model.onnx");
    let report = common::scan(&[ok.to_str().unwrap()]);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

#[test]
fn external_data_file_checks() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("w.bin"), [0u8; 8]).unwrap();
    std::fs::create_dir(d.path().join("sub")).unwrap();
    let cases = [
        ("w.bin", "8", None),
        ("./w.bin", "4", None),
        ("w.bin", "16", Some("too short")),
        ("sub", "4", Some("not a regular file")),
        ("nope.bin", "4", Some("is not beside the model")),
        ("sub/../w.bin", "8", None),
    ];
    for (i, (location, length, want)) in cases.iter().enumerate() {
        let p = d.path().join(format!("m{i}.onnx"));
        std::fs::write(&p, external_model(location, length)).unwrap();
        let report = common::scan(&[p.to_str().unwrap()]);
        let found = rules_of(&report);
        match want {
            None => assert!(found.is_empty(), "{location}: {found:#?}"),
            Some(w) => assert!(
                found
                    .iter()
                    .any(|(r, m)| *r == Rule::OnnxExternalDataInvalid && m.contains(w)),
                "{location}: {found:#?}"
            ),
        }
    }
}

#[test]
fn models_inside_compressed_layers_are_checked_without_the_file_system() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, bytes) in [
        ("evil.onnx.gz", external_model("../../../../etc/passwd", "16")),
        // Not looked up on disk (the loader's directory is unknown): no finding.
        ("fine.onnx.gz", external_model("fine.bin", "16")),
    ] {
        let p = d.path().join(name);
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        gz.finish().unwrap();
        paths.push(p);
    }
    let report = common::scan(&[paths[0].to_str().unwrap(), paths[1].to_str().unwrap()]);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.rule, Rule::OnnxExternalDataPath);
    assert_eq!(f.location.members, vec!["(gzip)".to_string()]);
    assert!(f.path.ends_with("evil.onnx.gz"));
}

/// An initializer with 24 MiB of inline weights (over the 1 MiB prost threshold) is stepped
/// over; a traversal in the tensor after it is still found.
#[test]
fn large_inline_initializer_is_walked() {
    let mut big = Vec::new();
    prost::encoding::bytes::encode(8, &b"big".to_vec(), &mut big);
    prost::encoding::int32::encode(2, &1, &mut big);
    prost::encoding::bytes::encode(9, &vec![0u8; 24 << 20], &mut big);
    let mut prefix = Vec::new();
    prost::encoding::bytes::encode(5, &big, &mut prefix);
    let evil = TensorProto {
        name: b"after".to_vec(),
        data_location: onnx::DATA_LOCATION_EXTERNAL,
        external_data: vec![StringStringEntryProto {
            key: b"location".to_vec(),
            value: b"/etc/passwd".to_vec(),
        }],
    };
    let bytes = model_with(vec![evil], prefix);
    let parsed = onnx::parse(&bytes, &Limits::default());
    assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
    assert_eq!(parsed.tensors, 2);
    assert_eq!(parsed.external.len(), 1);
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("big.onnx");
    std::fs::write(&p, &bytes).unwrap();
    let report = common::scan(&[p.to_str().unwrap()]);
    let found = rules_of(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].0, Rule::OnnxExternalDataPath);
    assert!(found[0].1.contains("`after`"), "{}", found[0].1);
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Corrupted ONNX fixtures through the parser, with the default and with a tiny prost
/// threshold (the field walk): no panic, and no walk slower than a second.
#[test]
fn corrupted_onnx_fixtures_never_panic() {
    let mut seeds = Vec::new();
    for dir in ["testdata/models/benign/onnx", "testdata/models/malicious/onnx"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "onnx") {
                seeds.push(std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(seeds.len() >= 20);
    let small = Limits {
        max_message: 24,
        ..Limits::default()
    };
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    // Every 10th mutant also goes through the whole scanner (file-system checks included).
    let rules = llmguard::rules::RuleSet::builtin().unwrap();
    let scanner = llmguard::scan::model::ModelScanner {
        rules: &rules,
        limits: Default::default(),
        hash: false,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mutant.onnx");
    for i in 0..4000 {
        let mut d = seeds[rng.below(seeds.len())].clone();
        match rng.below(4) {
            0 => {
                for _ in 0..1 + rng.below(6) {
                    let i = rng.below(d.len());
                    d[i] ^= 1 << rng.below(8);
                }
            }
            1 => d.truncate(rng.below(d.len())),
            2 => {
                let i = rng.below(d.len());
                d[i] = [0x00, 0xff, 0x7f, 0x80, 0x0a, 0x3a][rng.below(6)];
            }
            _ => {
                let i = rng.below(d.len().saturating_sub(10));
                let n = (d.len() - i).min(10);
                d[i..i + n].fill(0xff);
            }
        }
        let t = std::time::Instant::now();
        let _ = onnx::parse(&d, &Limits::default());
        let _ = onnx::parse(&d, &small);
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        if i % 10 == 0 {
            std::fs::write(&path, &d).unwrap();
            let t = llmguard::walk::Target {
                display: path.display().to_string(),
                path: path.clone(),
            };
            let out = scanner.scan(&t);
            assert!(out.findings.iter().all(|f| f.rule != Rule::InternalError));
        }
    }
}

#[test]
fn identify_matches_every_onnx_fixture() {
    for dir in ["testdata/models/benign/onnx", "testdata/models/malicious/onnx"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "onnx") {
                let bytes = std::fs::read(&p).unwrap();
                assert!(onnx::identify(&bytes), "{}", p.display());
            }
        }
    }
    assert!(Path::new("testdata/models/benign/onnx/external/weights.bin").exists());
}

/// Custom-domain findings are capped per model; the rest are counted in one finding.
#[test]
fn many_custom_domains_are_summarised() {
    let graph = onnx::GraphProto {
        node: (0..40)
            .map(|i| onnx::NodeProto {
                op_type: b"Op".to_vec(),
                domain: format!("dom{i:02}").into_bytes(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let bytes = ModelProto {
        ir_version: 9,
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec();
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("many.onnx");
    std::fs::write(&p, bytes).unwrap();
    let report = common::scan(&[p.to_str().unwrap()]);
    let found = rules_of(&report);
    assert_eq!(found.len(), 33, "{found:#?}");
    assert!(found.iter().all(|(r, _)| *r == Rule::OnnxCustomOperatorDomain));
    assert!(
        found.iter().any(|(_, m)| m.starts_with("8 more operator domains")),
        "{found:#?}"
    );
}

#[test]
fn other_protobuf_files_are_not_onnx() {
    // A TensorFlow SavedModel starts like a ModelProto (field 1 varint, then field 2), but field
    // 2 is a MetaGraphDef message, not a UTF-8 producer name: no ONNX finding without an ONNX
    // name, a graph or an opset.
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("saved_model.pb");
    std::fs::write(&pb, b"\x08\x01\x12\x06\x0a\x04\xff\xfe\x00\x01").unwrap();
    let report = common::scan(&[pb.to_str().unwrap()]);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    assert_eq!(report.artifacts[0].format, "not-a-model");
    // The same bytes named .onnx are reported as a broken ONNX model.
    let named = dir.path().join("model.onnx");
    std::fs::write(&named, b"\x08\x01\x12\x06\x0a\x04\xff\xfe\x00\x01").unwrap();
    let report = common::scan(&[named.to_str().unwrap()]);
    assert_eq!(report.artifacts[0].format, "onnx");
}
