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
pub mod lineage;
pub mod merge;
pub mod model;
pub mod policy;
pub mod prompts;
pub mod report;
pub mod rules;
pub mod scan;
pub mod shard;
pub mod signing;
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
        Command::CheckLineage(args) => {
            if args.print_schema {
                let mut out = std::io::stdout().lock();
                out.write_all(lineage::own::json_schema().as_bytes())?;
                return Ok(0);
            }
            if let Some(target) = &args.create_template {
                return create_template(target.as_deref(), args.force, args.common.quiet);
            }
            let started = Instant::now();
            let report = check_lineage(&args)?;
            emit(&report, &args.common, started)
        }
        Command::LintPolicy(args) => {
            if args.print_schema {
                print!("{}", policy::native::json_schema());
                return Ok(0);
            }
            let started = Instant::now();
            let (report, views) = lint_policy(&args)?;
            match &args.explain_access {
                None => emit(&report, &args.common, started),
                Some(role) => explain_access(&report, &views, role, &args.common, started),
            }
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
        Command::Merge(args) => {
            let started = Instant::now();
            let report = merge::merge(&args.reports, args.fail_on)?;
            write_report(&report, args.format, args.output.as_deref())?;
            if !args.quiet {
                eprintln!(
                    "llmguard: {} shard reports merged: {} files in {:.2}s",
                    args.reports.len(),
                    report.artifacts.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(u8::from(report.failed()))
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
    let mut outcomes = driver(&args.common).run(&found.targets, |t| scanner.scan(t))?;
    let mut extra = found.findings;
    let signing = setup.config.signing.as_ref();
    if let Some(trust) = signing_trust(&args.signing, signing)? {
        let plan = scan::model::signatures::SigningPlan {
            trust: &trust,
            require: signing.and_then(|s| s.require.as_ref()),
            jobs: args.common.jobs.map(usize::from),
        };
        extra.extend(scan::model::signatures::check(&plan, &paths, &found.targets, &mut outcomes, &root).findings);
    }
    Ok(scan::finish(
        "scan-model",
        outcomes,
        extra,
        args.common.fail_on,
        &found.targets,
        &root,
        &setup,
    ))
}

/// The keys and chains OMS signatures are verified against (the flags' and `[signing]`'s),
/// or `None` when verification is off.
fn signing_trust(
    args: &cli::SigningArgs,
    config: Option<&config::SigningConfig>,
) -> anyhow::Result<Option<signing::Trust>> {
    if !args.enabled(config) {
        return Ok(None);
    }
    let mut keys = args.public_keys.clone();
    let mut chains = args.certificate_chains.clone();
    if let Some(s) = config {
        keys.extend(s.public_keys.iter().cloned());
        chains.extend(s.certificate_chains.iter().cloned());
    }
    Ok(Some(signing::Trust::load(&keys, &chains)?))
}

/// What an `aibom` run produced: its findings report and the CycloneDX document.
pub struct AibomRun {
    pub report: Report,
    pub bom: aibom::cdx::Bom,
}

/// Run `aibom` and return its report and document (no output is written).
pub fn aibom(args: &cli::AibomArgs) -> anyhow::Result<AibomRun> {
    use aibom::{dataset, document, inventory::Inventory};
    // A share of a repository is not its bill of materials, and `merge` joins reports, not
    // documents: the inventory is made in one run.
    if let Some(s) = args.common.shard {
        anyhow::bail!(
            "--shard {}/{}: aibom inventories the whole tree in one run (a shard's AI-BOM would miss the other shards' models and datasets)",
            s.index,
            s.count
        );
    }
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let root = aibom::scan_root(&paths);
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
    // One pass over the files: scan-model identifies each by content, and check-lineage's
    // reader parses those that are dataset metadata (the records come back through a side
    // channel, as in `check_lineage`). No file counts as named here: aibom inventories what it
    // finds, it does not claim that a file it was given is metadata.
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.clone());
    let lineage_opts = lineage::DiscoverOptions {
        follow_symlinks: args.common.follow_symlinks,
        ..lineage::DiscoverOptions::default()
    };
    let parsed = std::sync::Mutex::new(Vec::new());
    let mut outcomes = driver(&args.common).run(&found.targets, |t| {
        let meta = lineage::discover::metadata_file(t, &[], &canon_root);
        let p = lineage::parse_file(&meta, &canon_root, &lineage_opts);
        if p.format.is_some() || !p.findings.is_empty() {
            if let Ok(mut v) = parsed.lock() {
                v.push((meta, p));
            }
        }
        scanner.scan(t)
    })?;
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
    // Signatures. With verification on, scan-model's signing checks run as in `scan_model`,
    // and their findings (MOD6xx) are this run's, with or without --scan: a signature the
    // user asked to verify that fails must not pass silently. Without, only where signature
    // files are: a model with one is `signed-unverified`, never verified.
    let signing_config = setup.config.signing.as_ref();
    let mut signing_findings = Vec::new();
    let signed: Vec<(scan::model::signatures::Signed, Option<signing::SignatureStatus>)> =
        match signing_trust(&args.signing, signing_config)? {
            Some(trust) => {
                let plan = scan::model::signatures::SigningPlan {
                    trust: &trust,
                    require: signing_config.and_then(|s| s.require.as_ref()),
                    jobs: args.common.jobs.map(usize::from),
                };
                let checked = scan::model::signatures::check(&plan, &paths, &found.targets, &mut outcomes, &root);
                signing_findings = checked.findings;
                checked.models.into_iter().map(|(s, st)| (s, Some(st))).collect()
            }
            None => scan::model::signatures::signatures(&paths, &found.targets, &canon_root)
                .into_iter()
                .map(|s| (s, None))
                .collect(),
        };
    let signature_files: Vec<(PathBuf, aibom::SignatureFile)> = signed
        .iter()
        .map(|(s, st)| {
            let mut f = aibom::SignatureFile::new(s, st.as_ref(), &root);
            if !args.no_hash {
                f.sha256 = digest::sha256_file(&s.signature).ok().map(|d| d.sha256);
            }
            (s.model.canonicalize().unwrap_or_else(|_| s.model.clone()), f)
        })
        .collect();
    // Datasets: every record lineage read, except a model directory's README.md, which is the
    // model's card (the inventory reads it), not a dataset card.
    let cards: std::collections::BTreeSet<&str> = inventory
        .models
        .iter()
        .filter_map(|m| m.card.as_ref())
        .map(|(i, _)| inventory.files[*i].display.as_str())
        .collect();
    let mut d = lineage::Discovered::default();
    let mut parsed = parsed.into_inner().unwrap_or_default();
    parsed.sort_by(|a, b| a.0.display.cmp(&b.0.display));
    for (meta, p) in parsed {
        if cards.contains(meta.display.as_str()) {
            continue;
        }
        d.records.extend(p.records);
        d.findings.extend(p.findings);
        d.metadata.push((meta, p.format, p.size));
    }
    let datasets = dataset::datasets(&d.records);
    // With --scan, check-lineage's checks run on them as `check_lineage` runs them; without,
    // only the general findings (unreadable files, limits) of reading the metadata count.
    let lineage_findings = if args.scan {
        scan::lineage::load_parents(&mut d, &canon_root, &lineage_opts);
        let settings = scan::lineage::Settings {
            config: &setup.config.lineage,
            root: &canon_root,
            discover: &lineage_opts,
            jobs: args.common.jobs.map(usize::from),
            sample_pii: None,
            today: scan::lineage::today(),
        };
        let metadata_paths = d.parsed_metadata_paths();
        let checked = scan::lineage::check(&d.records, &metadata_paths, &settings);
        let mut all = std::mem::take(&mut d.findings);
        all.extend(checked.findings);
        all
    } else {
        let mut general = std::mem::take(&mut d.findings);
        general.retain(|f| f.rule.id().starts_with("GEN"));
        general
    };
    let root_name = paths
        .first()
        .and_then(|p| std::path::absolute(p).ok())
        .map(|p| p.canonicalize().unwrap_or(p))
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "repository".to_string());
    // A model's signature: for each of its weight files, the most specific signed model that
    // covers it (a `NAME.sig` beside the file before the directory's `model.sig`).
    let signature_of = |m: &aibom::inventory::ModelGroup| {
        let per_file: Vec<Option<&aibom::SignatureFile>> = m
            .weights
            .iter()
            .map(|&i| {
                let f = &inventory.files[i];
                let real = f.path.canonicalize().unwrap_or_else(|_| f.path.clone());
                signature_files
                    .iter()
                    .filter(|(model, _)| real.starts_with(model))
                    .max_by_key(|(model, _)| model.components().count())
                    .map(|(_, sf)| sf)
            })
            .collect();
        aibom::Signature::of(&per_file)
    };
    let built = document::build(&document::Inputs {
        inventory: &inventory,
        datasets: &datasets,
        root_name,
        hashed: !args.no_hash,
        timestamp,
        signature: &signature_of,
    });
    let mut extra = found.findings;
    extra.extend(signing_findings);
    extra.extend(lineage_findings);
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
    Ok(scan::Setup {
        config,
        baseline,
        shard: common.shard,
    })
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
    if stdin && args.common.shard.is_some() {
        anyhow::bail!("--shard deals out files; it cannot share standard input (`-`) between shards");
    }
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
    // Counted over every shard's files alike: shard 1 reports the count.
    if shard::Shard::reports_run_level(args.common.shard) {
        report.skipped = skipped;
    }
    Ok(report)
}

/// Run `lint-policy` and return its report and every policy's effective-access matrix.
pub fn lint_policy(args: &cli::LintPolicyArgs) -> anyhow::Result<(Report, Vec<scan::policy::PolicyView>)> {
    let params = policy::params::PolicyParams::builtin().context("loading the built-in policy rules")?;
    let secrets = prompts::secrets::SecretDetector::builtin().context("loading the built-in secret detectors")?;
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let root = walk::scan_root(paths.first().map(PathBuf::as_path));
    let setup = setup(&args.common, &root)?;
    let cfg = &setup.config.policy;
    let today = match &args.as_of {
        Some(d) => policy::time::date(d).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?.1,
        None => policy::time::today(),
    };
    let settings = scan::policy::PolicySettings {
        min_retention_days: cfg.min_retention_days.unwrap_or(params.min_retention_days),
        min_tls: cfg.min_tls.clone().unwrap_or_else(|| params.min_tls.clone()),
        today,
        classes: cfg.classification.clone(),
        max_bytes: cfg.max_policy_mib.unwrap_or(16) << 20,
    };
    let found = walk::discover(&paths, &root, args.common.follow_symlinks)?;
    // Files named on the command line are read whatever their name; files found in a
    // directory only when their name is YAML or JSON.
    let mut skipped = 0;
    let mut targets = Vec::new();
    for t in found.targets {
        let explicit = paths.contains(&t.path);
        let lower = t.display.to_ascii_lowercase();
        if explicit || [".yaml", ".yml", ".json"].iter().any(|e| lower.ends_with(e)) {
            targets.push((t, explicit));
        } else {
            skipped += 1;
        }
    }
    let scanner = scan::policy::PolicyScanner::new(&params, &secrets, settings);
    // Names skipped by the walk are counted over every shard's files alike: shard 1 counts them.
    if !shard::Shard::reports_run_level(args.common.shard) {
        skipped = 0;
    }
    let explicit: std::collections::HashMap<String, bool> =
        targets.iter().map(|(t, e)| (t.display.clone(), *e)).collect();
    let plain: Vec<walk::Target> = targets.into_iter().map(|(t, _)| t).collect();
    // With `--shard` the driver returns this shard's share only: each outcome is matched to
    // its target by path, never by position in the full list.
    let outcomes = driver(&args.common).run(&plain, |t| scanner.scan(t))?;
    // YAML found in a directory that is not a policy is skipped and counted, not reported.
    let mut kept = Vec::new();
    for o in outcomes {
        let named = explicit.get(&o.artifact.path).copied().unwrap_or(true);
        if !named && o.artifact.format == "not-a-policy" && o.findings.iter().all(|f| f.rule == Rule::NotAPolicy) {
            skipped += 1;
        } else {
            kept.push(o);
        }
    }
    // Every shard deals the same full list (the plan digest must agree for `merge`).
    let mut report = scan::finish(
        "lint-policy",
        kept,
        found.findings,
        args.common.fail_on,
        &plain,
        &root,
        &setup,
    );
    report.skipped = skipped;
    let mut views = scanner.views.into_inner().unwrap_or_default();
    views.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((report, views))
}

/// `--explain-access`: the matrix on stdout, the findings report to --output or stderr.
fn explain_access(
    report: &Report,
    views: &[scan::policy::PolicyView],
    role: &str,
    common: &Common,
    started: Instant,
) -> anyhow::Result<u8> {
    let filter = (role != "all").then_some(role);
    if let Some(r) = filter {
        if !views.iter().any(|v| v.access.role(r).is_some()) {
            let mut names: Vec<&str> = views
                .iter()
                .flat_map(|v| v.access.roles.iter().map(|x| x.role.as_str()))
                .collect();
            names.sort_unstable();
            names.dedup();
            anyhow::bail!(
                "--explain-access: no role `{r}` in the policies read (roles: {})",
                names.join(", ")
            );
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    report::access::render(views, filter, common.format, &mut out).context("writing the effective access")?;
    out.flush()?;
    match &common.output {
        Some(path) => {
            let mut buf = Vec::new();
            report::render(report, common.format, false, &mut buf)?;
            std::fs::write(path, buf).with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        None => {
            let mut err = std::io::stderr().lock();
            report::render(report, common.format, false, &mut err).context("writing the report")?;
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

/// `check-lineage --create-template [FILE]`: the template on standard output, or in FILE
/// (YAML when its name says so), never over an existing file without `--force`.
fn create_template(target: Option<&std::path::Path>, force: bool, quiet: bool) -> anyhow::Result<u8> {
    let Some(path) = target else {
        std::io::stdout()
            .lock()
            .write_all(lineage::own::template_json().as_bytes())?;
        return Ok(0);
    };
    let yaml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    let text = if yaml {
        lineage::own::template_yaml()
    } else {
        lineage::own::template_json()
    };
    if path.exists() && !force {
        anyhow::bail!("{} exists; pass --force to overwrite it", path.display());
    }
    std::fs::write(path, text).with_context(|| format!("cannot write the template to {}", path.display()))?;
    if !quiet {
        eprintln!("llmguard: wrote a lineage template to {}", path.display());
    }
    Ok(0)
}

/// Run `check-lineage` and return its report (no output is written).
pub fn check_lineage(args: &cli::CheckLineageArgs) -> anyhow::Result<Report> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let root = walk::scan_root(paths.first().map(PathBuf::as_path));
    let setup = setup(&args.common, &root)?;
    let canon_root = root.canonicalize().unwrap_or_else(|_| root.clone());
    let found = walk::discover(&paths, &root, args.common.follow_symlinks)?;
    let opts = lineage::DiscoverOptions {
        follow_symlinks: args.common.follow_symlinks,
        ..lineage::DiscoverOptions::default()
    };
    // Parse every file through the shared driver (parallel, panics contained); the records
    // come back through a side channel because the driver's outcome is per file.
    let parse = |t: &walk::Target| {
        let meta = lineage::discover::metadata_file(t, &paths, &canon_root);
        let p = lineage::parse_file(&meta, &canon_root, &opts);
        (meta, p)
    };
    let parsed = std::sync::Mutex::new(Vec::new());
    let outcomes = driver(&args.common).run(&found.targets, |t| {
        let (meta, p) = parse(t);
        let artifact = report::Artifact {
            path: t.display.clone(),
            format: p.format.map_or("not-lineage", |f| f.as_str()).into(),
            size: p.size,
            verdict: report::Verdict::Clean,
            sha256: None,
        };
        let findings = p.findings.clone();
        // `llmguard: ignore[RULE] reason` comments of YAML lineage files (JSON has no
        // comments: config ignores only); `finish` honours them in trusted paths only.
        let yaml = t
            .path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        let inline = if yaml && p.format.is_some() && p.size <= opts.max_metadata_bytes {
            std::fs::read_to_string(&t.path)
                .map(|text| scan::suppress::inline_ignores(&text, 1))
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        if let Ok(mut v) = parsed.lock() {
            v.push((meta, p));
        }
        scan::FileOutcome {
            artifact,
            findings,
            inline,
        }
    })?;
    // `--shard K/N`: a finding belongs to the shard that owns the file it is about — the
    // metadata file of the record that raised it (a record's data files are hashed by that
    // shard only); files the walk did not reach (parents loaded on the way) are shard 1's.
    // Checks that span records (duplicate ids, parents, cycles, sources that disagree) need
    // every record, so the other shards' files are parsed too (never hashed), quietly.
    let mine: Option<std::collections::HashSet<&str>> = setup.shard.map(|shard| {
        let plan = shard::Plan::deal(&found.targets, shard.count);
        found
            .targets
            .iter()
            .enumerate()
            .filter(|(i, _)| plan.takes(shard, *i))
            .map(|(_, t)| t.display.as_str())
            .collect()
    });
    if let Some(mine) = &mine {
        let others: Vec<walk::Target> = found
            .targets
            .iter()
            .filter(|t| !mine.contains(t.display.as_str()))
            .cloned()
            .collect();
        let quiet = scan::Driver {
            jobs: args.common.jobs.map(usize::from),
            progress: false,
            shard: None,
        };
        quiet.run(&others, |t| {
            let (meta, mut p) = parse(t);
            p.findings.clear();
            if let Ok(mut v) = parsed.lock() {
                v.push((meta, p));
            }
            scan::FileOutcome {
                artifact: report::Artifact {
                    path: String::new(),
                    format: String::new(),
                    size: 0,
                    verdict: report::Verdict::Clean,
                    sha256: None,
                },
                findings: Vec::new(),
                inline: Vec::new(),
            }
        })?;
    }
    let targets_named: std::collections::HashSet<&str> = found.targets.iter().map(|t| t.display.as_str()).collect();
    let run_level = shard::Shard::reports_run_level(setup.shard);
    let owns = |path: &str| match &mine {
        None => true,
        Some(mine) if targets_named.contains(path) => mine.contains(path),
        Some(_) => run_level,
    };
    let mut d = lineage::Discovered::default();
    let mut parsed = parsed.into_inner().unwrap_or_default();
    parsed.sort_by(|a, b| a.0.display.cmp(&b.0.display));
    for (meta, p) in parsed {
        d.records.extend(p.records);
        d.metadata.push((meta, p.format, p.size));
    }
    let before = d.metadata.len();
    scan::lineage::load_parents(&mut d, &canon_root, &opts);
    let detectors = if args.sample_pii {
        Some(prompts::PromptRules::builtin().context("loading the built-in PII and secret detectors")?)
    } else {
        None
    };
    let settings = scan::lineage::Settings {
        config: &setup.config.lineage,
        root: &canon_root,
        discover: &opts,
        jobs: args.common.jobs.map(usize::from),
        sample_pii: detectors.as_ref().map(|r| (r, args.sample_kib as usize * 1024)),
        today: scan::lineage::today(),
    };
    let metadata_paths = d.parsed_metadata_paths();
    let checked = scan::lineage::check_owned(&d.records, &metadata_paths, &settings, &owns);
    // Files that are neither metadata nor listed data are counted as skipped, not listed
    // (listed data another shard hashed is that shard's artifact, not skipped here).
    let mut data_paths: std::collections::BTreeSet<&str> = checked.data.iter().map(|a| a.path.as_str()).collect();
    if mine.is_some() {
        data_paths.extend(
            d.records
                .iter()
                .filter(|r| !owns(&r.metadata_path))
                .flat_map(|r| r.files.iter().filter_map(|f| f.display.as_deref())),
        );
    }
    let mut skipped = 0;
    let mut kept = Vec::new();
    for mut o in outcomes {
        if o.artifact.format == "not-lineage" && o.findings.is_empty() {
            if !data_paths.contains(o.artifact.path.as_str()) {
                skipped += 1;
            }
            continue;
        }
        o.artifact.verdict = report::Verdict::Clean;
        kept.push(o);
    }
    // Metadata loaded because a parent names it (shard 1's), and the data files hashed.
    let mut extra: Vec<scan::FileOutcome> = d.metadata[before..]
        .iter()
        .filter(|(m, ..)| owns(&m.display))
        .map(|(m, f, size)| scan::FileOutcome {
            artifact: report::Artifact {
                path: m.display.clone(),
                format: f.map_or("not-lineage", |f| f.as_str()).into(),
                size: *size,
                verdict: report::Verdict::Clean,
                sha256: None,
            },
            findings: Vec::new(),
            inline: Vec::new(),
        })
        .collect();
    extra.extend(checked.data.into_iter().map(|artifact| scan::FileOutcome {
        artifact,
        findings: Vec::new(),
        inline: Vec::new(),
    }));
    kept.extend(extra);
    // Run-level findings (of the walk, of metadata loaded for parents) are shard 1's: `finish`
    // keeps `findings` on shard 1 only. The checks' findings are already this shard's own.
    let mut findings = found.findings;
    findings.extend(d.findings);
    // Each file's verdict from every finding about it.
    for o in &mut kept {
        let mut about: Vec<_> = findings
            .iter()
            .chain(&checked.findings)
            .filter(|f| f.path == o.artifact.path)
            .cloned()
            .collect();
        about.extend(o.findings.iter().cloned());
        o.artifact.verdict = report::Verdict::from_findings(&about, true, false);
    }
    match kept.first_mut() {
        Some(o) => o.findings.extend(checked.findings),
        None => findings.extend(checked.findings),
    }
    let mut report = scan::finish(
        "check-lineage",
        kept,
        findings,
        args.common.fail_on,
        &found.targets,
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
        shard: common.shard,
    }
}

/// Render the report where the user asked, report timing on stderr, and map to an exit code.
fn emit(report: &Report, common: &Common, started: Instant) -> anyhow::Result<u8> {
    write_report(report, common.format, common.output.as_deref())?;
    if !common.quiet {
        let shard = match &report.shard {
            Some(s) => format!(" (shard {}/{}: {} units)", s.index, s.count, s.units),
            None => String::new(),
        };
        eprintln!(
            "llmguard: {} files{shard} in {:.2}s",
            report.artifacts.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(u8::from(report.failed()))
}

/// Render the report to `output`, or to standard output (in colour on a terminal).
fn write_report(report: &Report, format: report::Format, output: Option<&std::path::Path>) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            let mut buf = Vec::new();
            report::render(report, format, false, &mut buf)?;
            std::fs::write(path, buf).with_context(|| format!("cannot write the report to {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let colour = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut out = stdout.lock();
            report::render(report, format, colour, &mut out).context("writing the report")?;
            out.flush()?;
        }
    }
    Ok(())
}
