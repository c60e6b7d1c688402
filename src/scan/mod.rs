//! The shared driver: every subcommand hands its targets and a per-file scan function here,
//! and gets back one sorted `Report`. Parallelism, progress, panic containment, `--shard`,
//! suppressions and severity overrides live here, once.

pub mod lineage;
pub mod model;
pub mod policy;
pub mod prompts;
pub mod suppress;

use crate::finding::{Finding, Location};
use crate::report::{Artifact, FailOn, Report, Verdict};
use crate::rules::Rule;
use crate::shard::{Plan, Shard};
use crate::walk::Target;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// What scanning one file produced.
#[derive(Debug)]
pub struct FileOutcome {
    pub artifact: Artifact,
    pub findings: Vec<Finding>,
    /// Inline ignore comments in the file (text formats with comments only).
    pub inline: Vec<suppress::InlineIgnore>,
}

/// What every run applies to its findings: the configuration and the optional baseline.
#[derive(Debug, Default)]
pub struct Setup {
    pub config: crate::config::Config,
    pub baseline: Option<suppress::Baseline>,
    /// `--shard K/N`: `finish` keeps run-level findings on shard 1 and records the deal.
    pub shard: Option<Shard>,
}

pub struct Driver {
    pub jobs: Option<usize>,
    pub progress: bool,
    /// `--shard K/N`: `run` scans only this shard's units of the targets it is given.
    pub shard: Option<Shard>,
}

impl Driver {
    /// Scan `targets` in parallel with `scan`. A panic inside `scan` (a bug) becomes an
    /// `internal-error` finding for that file instead of ending the run. With `--shard`, only
    /// this shard's share of `targets` is scanned: one outcome per target of the share, in
    /// target order (so pair outcomes with targets by `artifact.path`, never by position).
    pub fn run<F>(&self, targets: &[Target], scan: F) -> anyhow::Result<Vec<FileOutcome>>
    where
        F: Fn(&Target) -> FileOutcome + Sync,
    {
        let targets: Vec<&Target> = match self.shard {
            Some(shard) => {
                let plan = Plan::deal(targets, shard.count);
                targets
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| plan.takes(shard, *i))
                    .map(|(_, t)| t)
                    .collect()
            }
            None => targets.iter().collect(),
        };
        let bar = if self.progress {
            let bar = indicatif::ProgressBar::new(targets.len() as u64);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} files {wide_bar} {elapsed}")
            {
                bar.set_style(style);
            }
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        let one = |t: &Target| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scan(t))).unwrap_or_else(|p| {
                let why = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                internal_error(t, &why)
            });
            bar.inc(1);
            outcome
        };
        // One target (or `-j 1`) gains nothing from a pool: scan on this thread rather than
        // start worker threads and hand the work over (measurable on a one-file scan).
        let outcomes = if targets.len() <= 1 || self.jobs == Some(1) {
            targets.iter().map(|t| one(t)).collect()
        } else {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(self.jobs.unwrap_or(0).min(targets.len()))
                .build()?;
            pool.install(|| targets.par_iter().map(|t| one(t)).collect())
        };
        bar.finish_and_clear();
        Ok(outcomes)
    }
}

fn internal_error(t: &Target, why: &str) -> FileOutcome {
    let f = Finding::new(
        Rule::InternalError,
        &t.display,
        Location::default(),
        format!("internal error while scanning: {why}"),
    )
    .key("panic");
    FileOutcome {
        artifact: Artifact {
            path: t.display.clone(),
            format: "unknown".into(),
            size: 0,
            verdict: Verdict::Error,
            sha256: None,
        },
        findings: vec![f],
        inline: Vec::new(),
    }
}

/// Join outcomes and run-level findings into the report: the one place where findings are
/// merged, re-levelled and suppressed by configuration and baseline, and sorted. `targets` are
/// the ones given to `Driver::run`; with `--shard`, run-level findings (`extra`) are shard 1's
/// and the report records the deal (`Report::shard`).
pub fn finish(
    command: &'static str,
    outcomes: Vec<FileOutcome>,
    extra: Vec<Finding>,
    fail_on: FailOn,
    targets: &[Target],
    root: &Path,
    setup: &Setup,
) -> Report {
    let mut findings = if Shard::reports_run_level(setup.shard) {
        extra
    } else {
        Vec::new()
    };
    let mut artifacts = Vec::with_capacity(outcomes.len());
    let mut inline = BTreeMap::new();
    for o in outcomes {
        findings.extend(o.findings);
        if !o.inline.is_empty() {
            inline.insert(o.artifact.path.clone(), o.inline);
        }
        artifacts.push(o.artifact);
    }
    let relative = |p: &str| relative_to(Path::new(p), root).unwrap_or_else(|| p.replace('\\', "/"));
    suppress::apply(
        &mut findings,
        &suppress::Context {
            config: &setup.config,
            baseline: setup.baseline.as_ref(),
            inline: &inline,
            relative: &relative,
            family: match command {
                "scan-model" => "MOD",
                "scan-prompts" => "PRM",
                "lint-policy" => "POL",
                "check-lineage" => "LIN",
                "aibom" => "BOM",
                _ => "GEN",
            },
        },
    );
    let mut report = Report::new(command, findings, artifacts, fail_on);
    report.uris = uris(targets, &report.findings, root);
    report.shard = setup.shard.map(|shard| Plan::deal(targets, shard.count).info(shard));
    report
}

/// Root-relative, percent-encoded URIs for every reported path (`file:` URIs outside it).
fn uris(targets: &[Target], findings: &[Finding], root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let paths = targets
        .iter()
        .map(|t| (t.display.clone(), t.path.clone()))
        .chain(findings.iter().map(|f| (f.path.clone(), f.path.clone().into())));
    for (display, path) in paths {
        if out.contains_key(&display) {
            continue;
        }
        let uri = match relative_to(&path, root) {
            Some(rel) => encode(&rel),
            None => format!(
                "file://{}",
                encode(&absolute(&path).to_string_lossy().replace('\\', "/"))
            ),
        };
        out.insert(display, uri);
    }
    out
}

fn absolute(path: &Path) -> std::path::PathBuf {
    let abs = std::path::absolute(path).unwrap_or(path.to_path_buf());
    abs.canonicalize().unwrap_or(abs)
}

/// `path` relative to the scan root with `/` separators; `None` outside it.
pub fn relative_to(path: &Path, root: &Path) -> Option<String> {
    absolute(path)
        .strip_prefix(root)
        .ok()
        .map(|rel| rel.to_string_lossy().replace('\\', "/"))
}

/// Percent-encode everything but unreserved characters and `/` (RFC 3986).
pub fn encode(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(encode("a b/c#d.pkl"), "a%20b/c%23d.pkl");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("m")).unwrap();
        std::fs::write(root.join("m/x y.pkl"), "x").unwrap();
        let t = Target {
            display: "m/x y.pkl".into(),
            path: root.join("m/x y.pkl"),
        };
        let map = uris(&[t], &[], &root);
        assert_eq!(map["m/x y.pkl"], "m/x%20y.pkl");
    }

    #[test]
    fn panics_become_findings() {
        let t = Target {
            display: "boom.pkl".into(),
            path: "boom.pkl".into(),
        };
        let d = Driver {
            jobs: Some(1),
            progress: false,
            shard: None,
        };
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let out = d.run(std::slice::from_ref(&t), |_| panic!("kaboom")).unwrap();
        std::panic::set_hook(prev);
        assert_eq!(out[0].findings[0].rule, Rule::InternalError);
        assert!(out[0].findings[0].message.contains("kaboom"));
        assert_eq!(out[0].artifact.verdict, Verdict::Error);
    }
}
