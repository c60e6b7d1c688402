//! `llmguard merge`: the JSON reports of every shard of one `--shard K/N` run, joined into the
//! report that one unsharded run would have produced — the same findings, artifacts, URIs and
//! exit code, rendered by the same renderers.
//!
//! Joining is strict, because a merged report that silently lacks a shard would pass a build
//! that should fail: every report must come from this version of llmguard, from one subcommand,
//! from one deal (`shard.count` and `shard.plan` alike), and every shard 1..N must be there
//! exactly once; anything else is an error of the run (exit 2), not a finding.

use crate::finding::{Finding, Location};
use crate::report::{self, Artifact, FailOn, Report};
use crate::scan::suppress;
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Read, check and join the shard reports at `paths`.
pub fn merge(paths: &[PathBuf], fail_on: FailOn) -> anyhow::Result<Report> {
    let mut reports = Vec::with_capacity(paths.len());
    for p in paths {
        let name = p.display().to_string();
        let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {name}"))?;
        let r = report::read_json(&text).with_context(|| name.clone())?;
        reports.push((name, r));
    }
    let (first_name, first) = reports.first().context("no report to merge")?;
    let ours = env!("CARGO_PKG_VERSION");
    for (name, r) in &reports {
        if r.version != ours {
            anyhow::bail!(
                "{name}: written by llmguard {}, this is {ours}; merge with the version that scanned the shards",
                r.version
            );
        }
        if r.command != first.command {
            anyhow::bail!(
                "{first_name} is a `{}` report but {name} is `{}`; merge joins the shards of one scan",
                first.command,
                r.command
            );
        }
    }
    let command = scanning_command(&first.command)
        .with_context(|| format!("{first_name}: `{}` is not an llmguard scan", first.command))?;

    // One deal, every shard once.
    let mut shards = BTreeMap::new();
    let mut deal: Option<(&str, u32, &str)> = None;
    for (name, r) in &reports {
        let s = r.shard.as_ref().with_context(|| {
            format!("{name}: not a shard report (it has no `shard`); merge joins the `--format json` reports of `--shard K/N` runs")
        })?;
        if s.index == 0 || s.index > s.count {
            anyhow::bail!(
                "{name}: shard {}/{} is no share of {} shards",
                s.index,
                s.count,
                s.count
            );
        }
        match deal {
            None => deal = Some((name, s.count, &s.plan)),
            Some((other, count, _)) if count != s.count => anyhow::bail!(
                "{name} is shard {}/{} but {other} is a shard of {count}; they come from different runs",
                s.index,
                s.count
            ),
            Some((other, _, plan)) if plan != s.plan => anyhow::bail!(
                "{name} and {other} dealt different files (their plans differ): every shard must scan the same files, named the same way"
            ),
            Some(_) => {}
        }
        if let Some(other) = shards.insert(s.index, name.as_str()) {
            anyhow::bail!("shard {}/{} is given twice: {other} and {name}", s.index, s.count);
        }
    }
    let count = deal.map_or(0, |(_, n, _)| n);
    let missing: Vec<String> = (1..=count)
        .filter(|k| !shards.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "shard {} missing; merge needs the report of every shard of the run",
            missing.join(", ")
        );
    }

    let mut findings = Vec::new();
    let mut run_level: BTreeMap<(String, Location, String), Vec<Finding>> = BTreeMap::new();
    let mut artifacts: Vec<Artifact> = Vec::new();
    let mut owner: HashMap<String, &str> = HashMap::new();
    let mut uris = BTreeMap::new();
    let mut skipped = 0usize;
    let n = reports.len();
    for (name, r) in reports.iter().map(|(n, r)| (n.as_str(), r)) {
        skipped = skipped.saturating_add(r.skipped);
        for a in &r.artifacts {
            if let Some(other) = owner.insert(a.path.clone(), name) {
                anyhow::bail!("{} is in both {other} and {name}: the shards overlap", a.path);
            }
            artifacts.push(a.clone());
        }
        for (f, uri) in &r.findings {
            if let Some(u) = uri {
                uris.entry(f.path.clone()).or_insert_with(|| u.clone());
            }
            if suppress::spans_run(f) {
                run_level
                    .entry((f.path.clone(), f.location.clone(), f.key.clone()))
                    .or_default()
                    .push(f.clone());
            } else {
                findings.push(f.clone());
            }
        }
    }
    findings.extend(
        run_level
            .into_values()
            .filter_map(|group| suppress::join_run_level(group, n)),
    );
    let mut report = Report::new(command, findings, artifacts, fail_on);
    report.uris = uris;
    report.skipped = skipped;
    Ok(report)
}

/// The name of the scanning subcommand (one that takes `--shard`) called `name`, with the
/// lifetime `Report::command` needs; `None` for anything else.
fn scanning_command(name: &str) -> Option<&'static str> {
    use clap::CommandFactory;
    static CLI: OnceLock<clap::Command> = OnceLock::new();
    CLI.get_or_init(crate::cli::Cli::command)
        .get_subcommands()
        .filter(|c| c.get_arguments().any(|a| a.get_id() == "shard"))
        .map(|c| c.get_name())
        .find(|n| *n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanning_commands_are_the_ones_that_shard() {
        assert_eq!(scanning_command("scan-model"), Some("scan-model"));
        assert_eq!(scanning_command("scan-prompts"), Some("scan-prompts"));
        assert_eq!(scanning_command("merge"), None);
        assert_eq!(scanning_command("rules"), None);
        assert_eq!(scanning_command("rm -rf"), None);
    }
}
