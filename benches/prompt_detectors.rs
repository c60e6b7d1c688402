//! Per-family cost of the scan-prompts detectors, in ns/byte and MB/s, on generated mixed text
//! (prose, source code, JSON) with few hits: `cargo bench --bench prompt_detectors`.
//! The whole-CLI throughput figure is `benches/prompts_throughput.sh`; this one says which
//! family the time goes to. Medians of 5 passes; wall time, so run it on a quiet machine.

use llmguard::prompts::PromptRules;
use std::time::Instant;

const PROSE: &str = "The quarterly review covers hiring, the new office and the budget for next year. \
Please send comments before Friday; the team will meet on Monday at ten to agree the plan.\n";
const CODE: &str = "fn main() {\n    let args: Vec<String> = std::env::args().collect();\n    \
if args.len() < 2 { eprintln!(\"usage: tool FILE\"); return; }\n    println!(\"{} args\", args.len());\n}\n";
const JSON: &str = "{\"role\": \"user\", \"content\": \"Can you summarise the attached notes about the \
release schedule?\", \"id\": 4182, \"lang\": \"en\"}\n";

fn corpus(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 512);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str([PROSE, CODE, JSON][i % 3]);
        i += 1;
    }
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time(name: &str, segments: &[&str], total: usize, mut f: impl FnMut(&str)) {
    let runs: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for s in segments {
                f(s);
            }
            t.elapsed().as_secs_f64()
        })
        .collect();
    let secs = median(runs);
    println!(
        "{name:<22} {:>6.2} ns/byte {:>8.1} MB/s",
        secs * 1e9 / total as f64,
        total as f64 / secs / 1e6
    );
}

fn main() {
    let rules = match PromptRules::builtin() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("prompt_detectors: {e}");
            std::process::exit(2);
        }
    };
    let text = corpus(32 << 20);
    for (label, size) in [("4 KiB segments", 4 << 10), ("1 MiB documents", 1 << 20)] {
        let mut segments = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let mut cut = size.min(rest.len());
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (a, b) = rest.split_at(cut);
            segments.push(a);
            rest = b;
        }
        println!("{} MB of mixed text in {label}", text.len() / 1_000_000);
        let mut out = Vec::new();
        let mut decoded = Vec::new();
        time("injection", &segments, text.len(), |s| {
            out.clear();
            rules.injection.scan(s, &mut out)
        });
        time("hidden", &segments, text.len(), |s| {
            out.clear();
            decoded.clear();
            rules.hidden.scan(s, &mut out, &mut decoded)
        });
        time("pii", &segments, text.len(), |s| {
            out.clear();
            rules.pii.scan(s, &mut out)
        });
        time("secrets", &segments, text.len(), |s| {
            out.clear();
            rules.secrets.scan(s, &mut out)
        });
        time("all (scan_text)", &segments, text.len(), |s| {
            let _ = rules.scan_text(s);
        });
    }
}
