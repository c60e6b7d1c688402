//! Hostile-input robustness: thousands of corrupted variants of the fixtures (bit flips, byte
//! overwrites, truncations, splices) must scan without a panic (which the driver would turn
//! into `GEN005 internal-error`) and within a small time. Deterministic: a fixed-seed PRNG.
//! The cargo-fuzz targets (issue #3) go further; this keeps the guarantee in every test run.
//! A longer sweep: `LLMGUARD_MUTANTS=500000 LLMGUARD_SEED=7 cargo test --release --test robustness`.

use llmguard::rules::{Rule, RuleSet};
use llmguard::scan::model::{ModelLimits, ModelScanner};
use llmguard::walk::Target;
use std::time::{Duration, Instant};

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

fn mutate(rng: &mut XorShift, data: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    match rng.below(5) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(d.len());
                if let Some(b) = d.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        1 => {
            let i = rng.below(d.len());
            let v = [0x00, 0xff, 0x7f, 0x80, b'(', b'.', b'c', b'\n'][rng.below(8)];
            if let Some(b) = d.get_mut(i) {
                *b = v;
            }
        }
        2 => d.truncate(rng.below(d.len())),
        3 => {
            let at = rng.below(d.len());
            let take = rng.below(other.len());
            d.splice(at..at, other[..take].iter().copied());
        }
        _ => {
            // Overwrite a 4- or 8-byte field with an extreme length.
            let i = rng.below(d.len().saturating_sub(8));
            let v: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
            let n = if rng.below(2) == 0 { 4 } else { 8 };
            if i + n <= d.len() {
                d[i..i + n].copy_from_slice(&v[..n]);
            }
        }
    }
    d
}

#[test]
fn corrupted_fixtures_never_panic_or_hang() {
    let rules = RuleSet::builtin().unwrap();
    let limits = ModelLimits {
        max_inflated: 64 << 20,
        ..ModelLimits::default()
    };
    let scanner = ModelScanner {
        rules: &rules,
        limits,
        hash: false,
    };
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for dir in [
        "testdata/models/malicious",
        "testdata/models/benign/torch",
        "testdata/models/benign/sklearn_numpy2",
        "testdata/models/benign/safetensors",
        "testdata/models/benign/gguf",
    ] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() && std::fs::metadata(&p).unwrap().len() < 64 * 1024 {
                seeds.push(std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(seeds.len() > 50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mutant.bin");
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let mut rng = XorShift(env("LLMGUARD_SEED").unwrap_or(0x9e37_79b9_7f4a_7c15) | 1);
    let iterations = env("LLMGUARD_MUTANTS").unwrap_or(20_000);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..iterations {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let data = mutate(&mut rng, a, b);
        std::fs::write(&path, &data).unwrap();
        let t = Target {
            display: format!("mutant-{i}"),
            path: path.clone(),
        };
        let t0 = Instant::now();
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scanner.scan(&t)));
        slowest = slowest.max(t0.elapsed());
        let out = match out {
            Ok(o) => o,
            Err(_) => {
                let keep = std::env::temp_dir().join(format!("llmguard-panic-{i}.bin"));
                std::fs::write(&keep, &data).unwrap();
                panic!("scanner panicked on mutant {i}; input saved to {}", keep.display());
            }
        };
        assert!(out.findings.iter().all(|f| f.rule != Rule::InternalError));
    }
    eprintln!("{iterations} mutants in {:?}, slowest {:?}", started.elapsed(), slowest);
    assert!(slowest < Duration::from_secs(5), "one mutant took {slowest:?}");
}
