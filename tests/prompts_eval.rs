//! The labelled evaluation set (`testdata/prompts/eval/`) held to the published targets:
//! precision ≥ 0.95 for every detector, recall ≥ 0.90 for injections and ≥ 0.97 for each PII
//! rule and for secrets. Matching is per record, as `benches/prompts_eval.py` does it (the
//! script prints the full table and compares with detect-secrets; this test makes CI fail when
//! a change costs precision or recall).

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

struct Record {
    id: String,
    labels: BTreeSet<String>,
    may: BTreeSet<String>,
    severity: Option<String>,
    /// (file name in the scratch directory, record number or None for a file of its own)
    at: (String, Option<u64>),
}

fn family(rule: &str) -> Option<&'static str> {
    match rule.get(..4)? {
        "PRM1" => Some("injection"),
        "PRM2" => Some("hidden"),
        "PRM3" => Some("pii"),
        "PRM4" => Some("secrets"),
        _ => None,
    }
}

/// Write the records as the scorer does (50 JSONL records per file, HTML records alone), scan
/// the directory once, and return the records with the rules that fired on each.
fn run() -> Vec<(Record, BTreeMap<String, String>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut records = Vec::new();
    let mut batch: Vec<String> = Vec::new();
    let mut batches = 0;
    let flush = |batch: &mut Vec<String>, batches: &mut usize| {
        if !batch.is_empty() {
            std::fs::write(
                dir.path().join(format!("batch{:03}.jsonl", *batches)),
                batch.join("\n") + "\n",
            )
            .unwrap();
            *batches += 1;
            batch.clear();
        }
    };
    let mut files: Vec<_> = std::fs::read_dir("testdata/prompts/eval")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let set = |k: &str| -> BTreeSet<String> {
                v[k].as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                    .unwrap_or_default()
            };
            let text = v["text"].as_str().unwrap().to_string();
            let at = match v["file_ext"].as_str() {
                Some(ext) => {
                    let name = format!("{}.{ext}", v["id"].as_str().unwrap());
                    std::fs::write(dir.path().join(&name), &text).unwrap();
                    (name, None)
                }
                None => {
                    if batch.len() == 50 {
                        flush(&mut batch, &mut batches);
                    }
                    batch.push(serde_json::json!({ "text": text }).to_string());
                    (format!("batch{batches:03}.jsonl"), Some(batch.len() as u64))
                }
            };
            records.push(Record {
                id: v["id"].as_str().unwrap().to_string(),
                labels: set("labels"),
                may: set("may"),
                severity: v["severity"].as_str().map(str::to_string),
                at,
            });
        }
    }
    flush(&mut batch, &mut batches);
    assert!(records.len() >= 400, "{} records", records.len());
    let report = common::prompts_json(&[dir.path().to_str().unwrap()]);
    let mut fired: BTreeMap<(String, Option<u64>), BTreeMap<String, String>> = BTreeMap::new();
    for f in report["findings"].as_array().unwrap() {
        let name = std::path::Path::new(f["path"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let rule = f["rule_id"].as_str().unwrap().to_string();
        assert_ne!(rule, "GEN002", "a limit hid findings: {f}");
        let record = if name.ends_with(".jsonl") {
            f["location"]["record"].as_u64()
        } else {
            None
        };
        let sev = f["severity"].as_str().unwrap().to_string();
        // Keep the lowest severity seen: a documented example must be low everywhere.
        let e = fired
            .entry((name, record))
            .or_default()
            .entry(rule)
            .or_insert(sev.clone());
        if severity_rank(&sev) < severity_rank(e) {
            *e = sev;
        }
    }
    records
        .into_iter()
        .map(|r| {
            let got = fired.remove(&r.at).unwrap_or_default();
            (r, got)
        })
        .collect()
}

fn severity_rank(s: &str) -> u8 {
    ["info", "low", "medium", "high", "critical"]
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0) as u8
}

#[derive(Default, Debug)]
struct Count {
    tp: u32,
    fp: u32,
    fn_: u32,
    fps: Vec<String>,
    fns: Vec<String>,
}

impl Count {
    fn add(&mut self, labelled: bool, predicted: bool, id: &str) {
        match (labelled, predicted) {
            (true, true) => self.tp += 1,
            (false, true) => {
                self.fp += 1;
                self.fps.push(id.to_string());
            }
            (true, false) => {
                self.fn_ += 1;
                self.fns.push(id.to_string());
            }
            _ => {}
        }
    }

    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fp)
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fn_)
        }
    }
}

#[test]
fn eval_set_meets_precision_and_recall_targets() {
    let results = run();
    let mut by: BTreeMap<String, Count> = BTreeMap::new();
    let mut severity_problems = Vec::new();
    for (r, got) in &results {
        let fired: BTreeSet<&String> = got.keys().filter(|k| !r.may.contains(*k)).collect();
        // Per rule (PII, secrets, hidden) and per family.
        let mut keys: BTreeSet<String> = r.labels.iter().chain(fired.iter().copied()).cloned().collect();
        keys.retain(|k| family(k).is_some());
        for rule in &keys {
            let fam = family(rule).unwrap();
            if fam == "injection" {
                continue;
            }
            by.entry(rule.clone())
                .or_default()
                .add(r.labels.contains(rule), fired.contains(rule), &r.id);
        }
        for fam in ["injection", "hidden", "pii", "secrets"] {
            let labelled = r.labels.iter().any(|l| family(l) == Some(fam));
            let predicted = fired.iter().any(|l| family(l) == Some(fam));
            by.entry(fam.to_string()).or_default().add(labelled, predicted, &r.id);
        }
        if let Some(want) = &r.severity {
            for l in &r.labels {
                if let Some(sev) = got.get(l) {
                    if sev != want {
                        severity_problems.push(format!("{}: {l} is {sev}, expected {want}", r.id));
                    }
                }
            }
        }
    }
    let mut problems = severity_problems;
    let mut table = String::from("detector     TP   FP   FN     P      R\n");
    for (name, c) in &by {
        table += &format!(
            "{name:<10} {:>4} {:>4} {:>4}  {:.3}  {:.3}\n",
            c.tp,
            c.fp,
            c.fn_,
            c.precision(),
            c.recall()
        );
        if c.precision() < 0.95 {
            problems.push(format!(
                "{name}: precision {:.3} < 0.95; false positives: {:?}",
                c.precision(),
                c.fps
            ));
        }
        let recall_target = match name.as_str() {
            "injection" => Some(0.90),
            "secrets" => Some(0.97),
            n if n.starts_with("PRM3") || n.starts_with("PRM4") => Some(0.97),
            _ => None,
        };
        if let Some(t) = recall_target {
            if c.recall() < t {
                problems.push(format!("{name}: recall {:.3} < {t}; missed: {:?}", c.recall(), c.fns));
            }
        }
    }
    eprintln!("{table}");
    assert!(problems.is_empty(), "{table}\n{}", problems.join("\n"));
}
