//! llmguard: a static scanner for the ML supply chain.
//!
//! `run` is the whole program behind `main`: it parses nothing itself, calls the subcommand,
//! renders the one report and returns the exit code (0 pass, 1 findings at or above
//! `--fail-on`; errors of the run itself are `Err`, which `main` maps to 2).

pub mod aibom;
pub mod cli;
pub mod config;
pub mod digest;
pub mod docs;
pub mod finding;
pub mod model;
pub mod prompts;
pub mod report;
pub mod rules;
pub mod scan;
pub mod walk;

use anyhow::Context;
use cli::{Cli, Command, Common, RulesFormat};
use report::Report;
use rules::{Rule, RuleSet};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Run the command line and return the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::ScanModel(args) => {
            let started = Instant::now();
            let report = scan_model(&args)?;
            emit(&report, &args.common, started)
        }
        Command::ScanPrompts(args) => {
            let started = Instant::now();
            let report = scan_prompts(&args)?;
            emit(&report, &args.common, started)
        }
        Command::Aibom(args) => {
            let started = Instant::now();
            let run = aibom(&args)?;
            emit_aibom(&run, &args, started)
        }
        Command::Rules(args) => {
            let mut out = std::io::stdout().lock();
            match args.format {
                RulesFormat::Table => {
                    let mut t = comfy_table::Table::new();
                    t.load_preset(comfy_table::presets::NOTHING);
                    t.set_header(vec!["ID", "NAME", "SEVERITY", "SUMMARY"]);
                    for r in Rule::ALL {
                        t.add_row(vec![r.id(), r.name(), r.default_severity().as_str(), r.summary()]);
                    }
                    writeln!(out, "{t}")?;
                }
                RulesFormat::Json => {
                    let list: Vec<_> = Rule::ALL
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "id": r.id(), "name": r.name(), "severity": r.default_severity(),
                                "summary": r.summary(), "help_uri": r.help_uri(),
                            })
                        })
                        .collect();
                    serde_json::to_writer_pretty(&mut out, &list)?;
                    writeln!(out)?;
                }
            }
            Ok(0)
        }
        Command::Explain(args) => {
            let rule = Rule::find(&args.rule)
                .with_context(|| format!("no rule `{}`; `llmguard rules` lists them all", args.rule))?;
            let mut out = std::io::stdout().lock();
            write!(out, "{}", docs::rule_page(rule))?;
            writeln!(out, "\nMore: {}", rule.help_uri())?;
            Ok(0)
        }
    }
}

/// Run `scan-model` and return its report (no output is written).
pub fn scan_model(args: &cli::ScanModelArgs) -> anyhow::Result<Report> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let root = walk::scan_root(paths.first().map(PathBuf::as_path));
    let setup = setup(&args.common, &root)?;
    let rules = RuleSet::compile(&setup.config.user_rules).context("loading the rules")?;
    let mut limits = scan::model::ModelLimits::default();
    for setting in &args.limits {
        limits.set(setting).map_err(|e| anyhow::anyhow!("--limit {e}"))?;
    }
    let found = walk::discover(&paths, &root, args.common.follow_symlinks)?;
    let scanner = scan::model::ModelScanner {
        rules: &rules,
        limits,
        hash: args.hash,
    };
    let outcomes = driver(&args.common).run(&found.targets, |t| scanner.scan(t))?;
    Ok(scan::finish(
        "scan-model",
        outcomes,
        found.findings,
        args.common.fail_on,
        &found.targets,
        &root,
        &setup,
    ))
}

/// What an `aibom` run produced: its findings report and the CycloneDX document.
pub struct AibomRun {
    pub report: Report,
    pub bom: aibom::cdx::Bom,
}

/// Run `aibom` and return its report and document (no output is written).
pub fn aibom(args: &cli::AibomArgs) -> anyhow::Result<AibomRun> {
    use aibom::{dataset, document, inventory::Inventory};
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let root = walk::scan_root(paths.first().map(PathBuf::as_path));
    let setup = setup(&args.common, &root)?;
    let rules = RuleSet::compile(&setup.config.user_rules).context("loading the rules")?;
    let mut limits = scan::model::ModelLimits::default();
    for setting in &args.limits {
        limits.set(setting).map_err(|e| anyhow::anyhow!("--limit {e}"))?;
    }
    let timestamp = aibom::timestamp(args.timestamp, std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
        .map_err(|e| anyhow::anyhow!(e))?;
    let found = walk::discover(&paths, &root, args.common.follow_symlinks)?;
    // scan-model identifies every file by content; its findings count only with --scan.
    let scanner = scan::model::ModelScanner {
        rules: &rules,
        limits,
        hash: false,
    };
    let mut outcomes = driver(&args.common).run(&found.targets, |t| scanner.scan(t))?;
    let formats: Vec<(u64, String)> = outcomes
        .iter()
        .map(|o| (o.artifact.size, o.artifact.format.clone()))
        .collect();
    let mut inventory = Inventory::build(&found.targets, &formats, &root, args.common.jobs.map(usize::from))?;
    if !args.no_hash {
        inventory.hash(args.common.jobs.map(usize::from))?;
    }
    for (o, f) in outcomes.iter_mut().zip(&inventory.files) {
        o.artifact.sha256.clone_from(&f.sha256);
        if !args.scan {
            o.findings.retain(|f| f.rule.id().starts_with("GEN"));
            let unreadable = o.artifact.format == "unreadable";
            o.artifact.verdict =
                report::Verdict::from_findings(&o.findings, o.artifact.format != "not-a-model", unreadable);
        }
    }
    // INTERIM (issue #6): `lineage::discover` replaces this line at merge.
    let datasets: Vec<dataset::DatasetInput> = found.targets.iter().filter_map(dataset::interim_lineage_json).collect();
    let root_name = paths
        .first()
        .and_then(|p| std::path::absolute(p).ok())
        .map(|p| p.canonicalize().unwrap_or(p))
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repository".to_string());
    let not_checked = |_: &aibom::inventory::ModelGroup| aibom::Signature::NOT_CHECKED;
    let built = document::build(&document::Inputs {
        inventory: &inventory,
        datasets: &datasets,
        root_name,
        hashed: !args.no_hash,
        timestamp,
        signature: &not_checked,
    });
    let mut extra = found.findings;
    extra.extend(built.findings);
    let mut report = scan::finish(
        "aibom",
        outcomes,
        extra,
        args.common.fail_on,
        &found.targets,
        &root,
        &setup,
    );
    report.inventory = built.rows;
    let mut bom = built.bom;
    if args.scan {
        let scanned: Vec<finding::Finding> = report
            .findings
            .iter()
            .filter(|f| !f.rule.id().starts_with("BOM"))
            .cloned()
            .collect();
        bom.vulnerabilities = document::vulnerabilities(&scanned, &built.owners);
    }
    let bom = aibom::seal(bom.for_spec(args.spec_version));
    let problems = aibom::checks::self_check(&bom);
    if !problems.is_empty() {
        anyhow::bail!(
            "the AI-BOM fails llmguard's own consistency checks, so it was not written (a bug; please report it):\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(AibomRun { report, bom })
}

/// Write the AI-BOM and/or the report where asked; the findings table goes to standard error
/// when standard output carries the document.
fn emit_aibom(run: &AibomRun, args: &cli::AibomArgs, started: Instant) -> anyhow::Result<u8> {
    let write_bom = |path: &std::path::Path| -> anyhow::Result<()> {
        let mut buf = Vec::new();
        aibom::render(&run.bom, &mut buf)?;
        std::fs::write(path, buf).with_context(|| format!("cannot write the AI-BOM to {}", path.display()))
    };
    if let Some(p) = &args.bom_file {
        write_bom(p)?;
    }
    if args.common.format != report::Format::Cyclonedx {
        return emit(&run.report, &args.common, started);
    }
    match &args.common.output {
        Some(p) => write_bom(p)?,
        None => {
            let mut out = std::io::stdout().lock();
            aibom::render(&run.bom, &mut out).context("writing the AI-BOM")?;
        }
    }
    if !args.common.quiet {
        let stderr = std::io::stderr();
        let colour = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none();
        report::render(&run.report, report::Format::Table, colour, &mut stderr.lock())?;
        eprintln!(
            "llmguard: {} files in {:.2}s",
            run.report.artifacts.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(u8::from(run.report.failed()))
}

/// The configuration (found at the scan root or named by `--config`) and the baseline.
fn setup(common: &Common, root: &std::path::Path) -> anyhow::Result<scan::Setup> {
    let config = config::Config::load(common.config.as_deref(), root)?;
    let baseline = match &common.baseline {
        Some(p) => Some(scan::suppress::Baseline::load(p)?),
        None => None,
    };
    Ok(scan::Setup { config, baseline })
}

/// Run `scan-prompts` and return its report (redacted copies are written as asked).
pub fn scan_prompts(args: &cli::ScanPromptsArgs) -> anyhow::Result<Report> {
    use prompts::input::Kind;
    let rules = prompts::PromptRules::builtin().context("loading the built-in prompt rules")?;
    let mut limits = scan::prompts::PromptLimits::default();
    for setting in &args.limits {
        let (name, value) = setting
            .split_once('=')
            .with_context(|| format!("--limit {setting}: expected NAME=VALUE"))?;
        let mib: usize = value
            .parse()
            .ok()
            .filter(|v| (1..=4096).contains(v))
            .with_context(|| format!("--limit {setting}: VALUE must be a whole number of MiB, 1 to 4096"))?;
        match name {
            "document-mib" => limits.max_document = mib << 20,
            "chunk-mib" => limits.chunk = mib << 20,
            _ => anyhow::bail!("--limit {setting}: unknown limit `{name}` (known: document-mib, chunk-mib)"),
        }
    }
    let redact = match (args.redact, &args.redact_out, args.in_place) {
        (None, ..) => None,
        (Some(_), None, false) => anyhow::bail!("--redact needs --redact-out DIR or --in-place"),
        (Some(mode), out_dir, in_place) => Some(scan::prompts::RedactPlan {
            mode,
            out_dir: out_dir.clone(),
            in_place,
        }),
    };
    let mut paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let stdin = paths.iter().any(|p| p.as_os_str() == "-");
    paths.retain(|p| p.as_os_str() != "-");
    let root = walk::scan_root(paths.first().map(PathBuf::as_path));
    let setup = setup(&args.common, &root)?;
    let found = if paths.is_empty() {
        walk::Discovery::default()
    } else {
        walk::discover(&paths, &root, args.common.follow_symlinks)?
    };
    // Files named on the command line are read whatever their name; files found in a
    // directory only when their name is a prompt format.
    let mut skipped = 0;
    let mut targets = Vec::new();
    for t in found.targets {
        let explicit = paths.contains(&t.path);
        match Kind::from_name(&t.display) {
            Some(kind) => targets.push((t, kind)),
            None if explicit => targets.push((t, Kind::Text)),
            None => skipped += 1,
        }
    }
    let scanner = scan::prompts::PromptScanner {
        rules: &rules,
        limits,
        redact,
    };
    let kinds: std::collections::HashMap<String, Kind> = targets.iter().map(|(t, k)| (t.display.clone(), *k)).collect();
    let plain: Vec<walk::Target> = targets.into_iter().map(|(t, _)| t).collect();
    let mut outcomes = driver(&args.common).run(&plain, |t| scanner.scan(t, kinds[&t.display]))?;
    if stdin {
        let input = std::io::stdin();
        outcomes.push(scanner.scan_reader(Box::new(input.lock()), "<stdin>", args.stdin_format, 0, None));
    }
    let mut report = scan::finish(
        "scan-prompts",
        outcomes,
        found.findings,
        args.common.fail_on,
        &plain,
        &root,
        &setup,
    );
    report.skipped = skipped;
    Ok(report)
}

fn driver(common: &Common) -> scan::Driver {
    scan::Driver {
        jobs: common.jobs.map(usize::from),
        progress: !common.no_progress && !common.quiet && std::io::stderr().is_terminal(),
    }
}

/// Render the report where the user asked, report timing on stderr, and map to an exit code.
fn emit(report: &Report, common: &Common, started: Instant) -> anyhow::Result<u8> {
    match &common.output {
        Some(path) => {
            let mut buf = Vec::new();
            report::render(report, common.format, false, &mut buf)?;
            std::fs::write(path, buf).with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut out = stdout.lock();
            report::render(report, common.format, colour, &mut out).context("writing the report")?;
            out.flush()?;
        }
    }
    if !common.quiet {
        eprintln!(
            "llmguard: {} files in {:.2}s",
            report.artifacts.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(u8::from(report.failed()))
}
