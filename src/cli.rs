//! The command line. Doc comments here are the `--help` text.

use crate::aibom::cdx::SpecVersion;
use crate::finding::Severity;
use crate::prompts::input::Kind;
use crate::prompts::redact::Mode;
use crate::report::{FailOn, Format};
use crate::shard::Shard;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes:
  0  nothing at or above --fail-on
  1  findings at or above --fail-on (default: high)
  2  the run itself failed (bad arguments, a missing path, an unwritable output file)

A file that cannot be read or parsed is a finding about that file, never a crash or a skip.";

/// Static scanner for the ML supply chain: finds code execution and tampering in model
/// artifacts without ever loading them.
#[derive(Debug, Parser)]
#[command(name = "llmguard", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan model files (pickle, PyTorch, NumPy, joblib, zip archives) for code execution and tampering.
    #[command(after_help = AFTER_HELP)]
    ScanModel(ScanModelArgs),
    /// Scan prompts, prompt datasets and RAG documents for injection, jailbreaks, hidden text,
    /// PII and secrets.
    #[command(after_help = AFTER_HELP)]
    ScanPrompts(ScanPromptsArgs),
    /// Lint access policies of vector databases and AI gateways (the vector-DB RBAC policy shape,
    /// Kubernetes RBAC, OpenSearch Security roles) for grants broader than least privilege.
    #[command(after_help = AFTER_HELP)]
    LintPolicy(LintPolicyArgs),
    /// Check dataset lineage metadata: provenance, licences, consent and compliance, and that
    /// every listed data file is present and matches its checksum.
    #[command(after_help = AFTER_HELP)]
    CheckLineage(CheckLineageArgs),
    /// Inventory models, datasets and ML frameworks into an AI bill of materials: CycloneDX 1.6
    /// JSON (or 1.5) on standard output, with gaps in it (no licence, no provenance, no hash) as
    /// findings and, with --scan, scan-model's findings as its vulnerabilities. Each model's
    /// OMS signature status and signer are recorded, verified as scan-model verifies them when
    /// a key or chain is trusted (a verified signature counts as the model's provenance).
    #[command(
        after_help = AFTER_HELP,
        mut_arg("format", |a| a
            .value_parser(aibom_formats())
            .default_value("cyclonedx")
            .help("cyclonedx: the AI-BOM document; table, json, sarif: the findings report with the inventory"))
    )]
    Aibom(AibomArgs),
    /// List every rule: id, name, default severity and summary.
    Rules(RulesArgs),
    /// Print the documentation of one rule (by id such as MOD101, or by name).
    Explain(ExplainArgs),
    /// Join the JSON reports of every `--shard K/N` run of one scan into one report, with the
    /// same exit codes as the scan: `llmguard merge report-*.json --format sarif`.
    #[command(after_help = MERGE_AFTER_HELP)]
    Merge(MergeArgs),
}

/// Options every scanning subcommand shares.
#[derive(Debug, Args)]
pub struct Common {
    /// Output format of the findings report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity (`never`: always 0).
    #[arg(long, value_enum, default_value_t = FailOn::High, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Worker threads (default: one per CPU).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Do not show the progress bar (it is shown only when standard error is a terminal).
    #[arg(long)]
    pub no_progress: bool,
    /// Print nothing on standard error (no progress bar, no timing line).
    #[arg(long, short)]
    pub quiet: bool,
    /// Follow symbolic links that point outside the scan root (reported and skipped otherwise).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Configuration file (default: `llmguard.toml` at the scan root, when there is one).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A previous `--format json` report: findings already in it (same fingerprint) are
    /// reported as suppressed by the baseline and do not fail the run; new ones do.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Scan only share K of N (`2/4`), for one scan spread over N machines: every shard walks
    /// the same files and deals out whole units (a model or dataset directory, a file with its
    /// sidecars, or a lone file) by size, so the shards are disjoint, complete and balanced.
    /// Write each shard's report with `--format json` and join them with `llmguard merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
}

#[derive(Debug, Args)]
pub struct ScanModelArgs {
    /// Files or directories to scan (directories are recursed). Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// Also compute each file's SHA-256 (reads whole files, tensor payloads included).
    #[arg(long)]
    pub hash: bool,
    /// Change a safety limit (repeatable), e.g. `--limit inflated-mib=16384 --limit depth=8`.
    /// Names: depth, members, inflated-mib, ratio, pickle-opcodes, pickle-memo, pickle-stack,
    /// zip-members, safetensors-header-mib, safetensors-tensors, gguf-kvs, gguf-tensors,
    /// gguf-template-mib, onnx-nodes, onnx-tensors, onnx-kept-mib, h5-read-mib (README lists
    /// the defaults). Each limit hit is a GEN002 finding.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    pub limits: Vec<String>,
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// OMS signature verification, the same for `scan-model` and `aibom`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Signature verification")]
pub struct SigningArgs {
    /// Verify OpenSSF Model Signing (OMS) signatures: every `model.sig` (it signs the directory
    /// holding it) and every `NAME.sig` beside a directory or file `NAME`, against the trusted
    /// keys and certificates; a model file that no signature covers is reported (MOD601). On
    /// whenever `llmguard.toml` has a `[signing]` section or a key or chain is given.
    #[arg(long)]
    pub verify_signature: bool,
    /// A PEM public key (ECDSA P-256/P-384/P-521) whose OMS signatures are trusted: the key
    /// method (repeatable).
    #[arg(long = "public-key", value_name = "PEM")]
    pub public_keys: Vec<PathBuf>,
    /// A PEM file of trusted CA certificates for the certificate method (repeatable): its
    /// self-signed certificates are roots, the others intermediates.
    #[arg(long = "certificate-chain", value_name = "PEM")]
    pub certificate_chains: Vec<PathBuf>,
}

impl SigningArgs {
    /// Whether verification runs: asked for, or trust given on the command line or in
    /// `llmguard.toml` (a `[signing]` section).
    pub fn enabled(&self, config: Option<&crate::config::SigningConfig>) -> bool {
        self.verify_signature || config.is_some() || !self.public_keys.is_empty() || !self.certificate_chains.is_empty()
    }
}

#[derive(Debug, Args)]
pub struct ScanPromptsArgs {
    /// Files or directories to scan; `-` reads standard input. Directories are recursed for
    /// .txt .md .prompt .jinja/.j2 .yaml/.yml .json .jsonl .csv .html files; a file named
    /// explicitly is read whatever its name (as plain text unless its name says otherwise).
    /// Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// The format of standard input (`-`).
    #[arg(long, value_enum, default_value_t = Kind::Text, value_name = "FORMAT")]
    pub stdin_format: Kind,
    /// Write sanitised copies in which every PII and secret span is masked (shape kept,
    /// `****-****-****-1234`), replaced by a typed placeholder (`<EMAIL_1>`, stable within a
    /// file) or removed. Needs --redact-out DIR or --in-place.
    #[arg(long, value_enum, value_name = "MODE")]
    pub redact: Option<Mode>,
    /// Directory for the redacted copies (each at its path as scanned, below DIR).
    #[arg(long, value_name = "DIR", requires = "redact", conflicts_with = "in_place")]
    pub redact_out: Option<PathBuf>,
    /// Overwrite the scanned files with their redacted text instead of writing copies.
    #[arg(long, requires = "redact")]
    pub in_place: bool,
    /// Change a size limit (repeatable): `document-mib` (files parsed whole, 64), `chunk-mib`
    /// (larger files are scanned in chunks of this size, 8).
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    pub limits: Vec<String>,
}

const MERGE_AFTER_HELP: &str = "\
Every shard of one run must be given, once each, written by this version of llmguard from the
same files (each report records a digest of the files it dealt); anything else is an error.
A suppression in llmguard.toml is reported unused only when no shard used it.

Exit codes:
  0  nothing at or above --fail-on
  1  findings at or above --fail-on (default: high)
  2  the merge failed (a report missing, unreadable, from another run or another version)";

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON reports of every shard (`--shard K/N --format json`), in any order.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Output format of the joined report.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding is at or above this severity (`never`: always 0).
    #[arg(long, value_enum, default_value_t = FailOn::High, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Print nothing on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct LintPolicyArgs {
    /// Policy files or directories. Directories are recursed for .yaml, .yml and .json files;
    /// those that are not policies are skipped and counted in the summary. A file named
    /// explicitly is always read, and reported (POL003) when it is not a policy. The format is
    /// detected from content. Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// Print the effective access of ROLE (`all`: every role) per collection, after
    /// inheritance, wildcards, exclusions and dynamic rules, as a table (or JSON with
    /// `--format json`) on standard output; the findings report then goes to --output FILE, or
    /// to standard error. The exit code still comes from the findings.
    #[arg(long, value_name = "ROLE")]
    pub explain_access: Option<String>,
    /// Print the JSON Schema of the native policy format and exit.
    #[arg(long)]
    pub print_schema: bool,
    /// Judge `expires_at` against this date (YYYY-MM-DD) instead of today (UTC), for
    /// reproducible runs.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckLineageArgs {
    /// Metadata files or directories. Directories are searched by content for llmguard lineage
    /// files (JSON/YAML), Hugging Face dataset cards (README.md), Croissant JSON-LD, DVC files
    /// (*.dvc, dvc.lock), Git LFS pointers and checksum manifests (SHA256SUMS, *.sha256).
    /// Default: the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// Write a lineage metadata template with every field the checks read, and exit: YAML with
    /// a comment on every field when FILE ends in .yaml/.yml, JSON otherwise; standard output
    /// (JSON) without FILE. An existing FILE is not overwritten without --force.
    #[arg(long, value_name = "FILE", num_args = 0..=1, conflicts_with = "print_schema")]
    pub create_template: Option<Option<PathBuf>>,
    /// Overwrite the --create-template FILE if it exists.
    #[arg(long, requires = "create_template")]
    pub force: bool,
    /// Print the JSON Schema of llmguard's lineage format and exit.
    #[arg(long)]
    pub print_schema: bool,
    /// Cross-check datasets that declare no personal data: run the scan-prompts PII and secret
    /// detectors over the first KiB of each of their text data files (see --sample-kib).
    #[arg(long)]
    pub sample_pii: bool,
    /// KiB read from each data file by --sample-pii.
    #[arg(long, value_name = "KIB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1048576))]
    pub sample_kib: u32,
}

/// `aibom`'s `--format`: the document, or one of the report formats.
fn aibom_formats() -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["cyclonedx", "table", "json", "sarif"]).map(|s| match s.as_str() {
        "table" => Format::Table,
        "json" => Format::Json,
        "sarif" => Format::Sarif,
        _ => Format::Cyclonedx,
    })
}

#[derive(Debug, Args)]
pub struct AibomArgs {
    /// Directories or files to inventory (directories are recursed). Default: the current
    /// directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: Common,
    /// Run scan-model's checks too: their findings are reported and attached to the document
    /// as `vulnerabilities` of the model they concern.
    #[arg(long)]
    pub scan: bool,
    /// Do not compute the SHA-256 of model files (each model is then reported as BOM030).
    #[arg(long)]
    pub no_hash: bool,
    /// CycloneDX specification version of the document.
    #[arg(long, value_enum, default_value_t = SpecVersion::V1_6, value_name = "VERSION")]
    pub spec_version: SpecVersion,
    /// Record the current time in `metadata.timestamp` (`SOURCE_DATE_EPOCH`, when set, gives the
    /// time instead). Without either the document has no timestamp, so the same tree gives the
    /// same bytes.
    #[arg(long)]
    pub timestamp: bool,
    /// Also write the CycloneDX document to FILE, whatever --format says (so one run gives the
    /// AI-BOM and a SARIF report).
    #[arg(long, value_name = "FILE")]
    pub bom_file: Option<PathBuf>,
    /// Change a scan-model safety limit (repeatable); see `scan-model --help`.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    pub limits: Vec<String>,
    // Each model's signature status and signer go into its component; without verification
    // the document records only whether a signature file is there (`signed-unverified`).
    #[command(flatten)]
    pub signing: SigningArgs,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// `table` for people, `json` for tools.
    #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
    pub format: RulesFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule id (MOD101) or name (pickle-dangerous-import).
    pub rule: String,
}

impl Severity {
    /// Word used in help texts and tables.
    pub fn label(self) -> &'static str {
        self.as_str()
    }
}
