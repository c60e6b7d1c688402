//! `check-lineage`: the checks over the `DatasetRecord`s that `lineage::discover` read.
//!
//! Records of one dataset (an llmguard record, a card and a Croissant file in one directory)
//! form a group: required fields, compliance frameworks and personal-data safeguards are
//! judged on what the group says together, and a group whose sources disagree (licence,
//! source) is a finding. Licences, sources, URLs and dates are checked per record; integrity
//! (every listed file present and matching its digests) is checked per file, hashed in
//! parallel and streamed; parents are resolved into a graph checked for dangling references,
//! cycles and licence conflicts.

use crate::config::LineageConfig;
use crate::digest::{self, Want};
use crate::finding::{Finding, Location, Severity};
use crate::lineage::spec::{AppliesWhen, LineageRules, Restriction};
use crate::lineage::{
    lfs, license, own, resolve_data_path, DataFile, DatasetRecord, DiscoverOptions, Discovered, Field, FileKind,
    MetadataFile, ParentRef, Requirement, SourceFormat, Span,
};
use crate::prompts::PromptRules;
use crate::report::Artifact;
use crate::rules::Rule;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// How the checks run.
pub struct Settings<'a> {
    pub config: &'a LineageConfig,
    pub root: &'a Path,
    pub discover: &'a DiscoverOptions,
    /// Hashing threads (`--jobs`); `None`: one per CPU.
    pub jobs: Option<usize>,
    /// `--sample-pii`: the PII and secret detectors (and the bytes read per file).
    pub sample_pii: Option<(&'a PromptRules, usize)>,
    /// Today, in days since 1970-01-01 (dates after it are in the future).
    pub today: i64,
}

/// What the checks found, and the data files they hashed.
#[derive(Debug, Default)]
pub struct Checked {
    pub findings: Vec<Finding>,
    pub data: Vec<Artifact>,
}

/// Days since 1970-01-01 of a civil date.
fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Today (UTC) in days since 1970-01-01.
pub fn today() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}

/// An ISO 8601 date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`, optionally followed by a time) as the
/// first and last day it covers.
pub fn parse_date(s: &str) -> Option<(i64, i64)> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes().all(|c| c.is_ascii_digit()).then(|| t.parse().ok()).flatten()
    };
    let y = num(0..4)?;
    let month_days = |y: i64, m: i64| match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    };
    match b.len() {
        4 => Some((days(y, 1, 1), days(y, 12, 31))),
        7 if b[4] == b'-' => {
            let m = num(5..7).filter(|m| (1..=12).contains(m))?;
            Some((days(y, m, 1), days(y, m, month_days(y, m))))
        }
        n if n >= 10 && b[4] == b'-' && b[7] == b'-' && (n == 10 || matches!(b[10], b'T' | b't' | b' ')) => {
            let m = num(5..7).filter(|m| (1..=12).contains(m))?;
            let d = num(8..10).filter(|d| *d >= 1 && *d <= month_days(y, m))?;
            Some((days(y, m, d), days(y, m, d)))
        }
        _ => None,
    }
}

/// Load metadata that parents reference by path but that the walk did not reach (a parent
/// outside the named paths but inside the scan root is "checked in turn").
pub fn load_parents(d: &mut Discovered, root: &Path, opts: &DiscoverOptions) {
    let mut seen: BTreeSet<PathBuf> = d
        .metadata
        .iter()
        .map(|(m, ..)| m.path.canonicalize().unwrap_or_else(|_| m.path.clone()))
        .collect();
    let mut next = 0;
    let mut loaded = 0;
    while next < d.records.len() && loaded < 256 {
        let mut wanted = Vec::new();
        for r in &d.records[next..] {
            for p in &r.parents {
                let ParentRef::Path(path) = &p.reference else { continue };
                let meta = meta_of(r);
                let Ok((display, _, abs)) = resolve_data_path(&meta, path, root, opts.follow_symlinks) else {
                    continue;
                };
                if abs.is_dir() {
                    let mut entries: Vec<_> = std::fs::read_dir(&abs)
                        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
                        .unwrap_or_default();
                    entries.sort();
                    for e in entries.into_iter().take(64) {
                        let name = e
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        wanted.push((format!("{}/{name}", display.trim_end_matches('/')), e));
                    }
                } else if abs.is_file() {
                    wanted.push((display, abs));
                }
            }
        }
        next = d.records.len();
        for (display, path) in wanted {
            let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen.insert(canon) {
                continue;
            }
            loaded += 1;
            let meta = MetadataFile {
                relative: super::relative_to(&path, root).unwrap_or_else(|| display.clone()),
                display,
                path,
                explicit: false,
            };
            let p = crate::lineage::parse_file(&meta, root, opts);
            if p.format.is_some() || !p.findings.is_empty() {
                d.records.extend(p.records);
                d.findings.extend(p.findings);
                d.metadata.push((meta, p.format, p.size));
            }
        }
    }
}

fn meta_of(r: &DatasetRecord) -> MetadataFile {
    MetadataFile {
        display: r.metadata_path.clone(),
        path: r.metadata_fs.clone(),
        relative: r.metadata_relative.clone(),
        explicit: false,
    }
}

fn at(r: &DatasetRecord, span: &Span) -> Location {
    let _ = r;
    span.location()
}

fn finding(rule: Rule, r: &DatasetRecord, span: &Span, message: String) -> Finding {
    Finding::new(rule, &r.metadata_path, at(r, span), message)
}

fn short(hex: &str) -> String {
    hex.get(..12).map_or_else(|| hex.to_string(), |h| format!("{h}…"))
}

/// Run every check.
pub fn check(records: &[DatasetRecord], metadata: &[PathBuf], s: &Settings) -> Checked {
    check_owned(records, metadata, s, &|_| true)
}

/// Run every check, keeping the findings of the records whose metadata file `owns` (by its
/// displayed path): `--shard` hands every shard every record, because duplicate ids, parents
/// and cycles span records, but each shard reports, and hashes the data of, its own records
/// only. A data file listed by records of several shards is the artifact of the shard that
/// owns the first of them (by path), so that merged shards list it once.
pub fn check_owned(
    records: &[DatasetRecord],
    metadata: &[PathBuf],
    s: &Settings,
    owns: &(dyn Fn(&str) -> bool + Sync),
) -> Checked {
    let rules = LineageRules::shared();
    let mut out = Checked::default();
    let groups = groups(records);
    // These findings name the record they are about (its metadata file).
    let mut about_records = Vec::new();
    for g in groups
        .iter()
        .filter(|g| g.iter().any(|&i| owns(&records[i].metadata_path)))
    {
        group_checks(records, g, s, rules, &mut about_records);
    }
    for r in records.iter().filter(|r| owns(&r.metadata_path)) {
        license_checks(r, records, &groups, s, rules, &mut about_records);
        source_checks(r, s, &mut about_records);
        url_checks(r, &mut about_records);
        date_checks(r, s.today, &mut about_records);
        contradiction_checks(r, rules, &mut about_records);
    }
    provenance_missing(records, &mut about_records);
    duplicates(records, &mut about_records);
    chain(records, s, rules, &mut about_records);
    out.findings.extend(about_records.into_iter().filter(|f| owns(&f.path)));
    integrity(records, metadata, s, rules, owns, &mut out);
    out
}

/// Records of one dataset: descriptive records in one directory, one of each format; a
/// directory with two records of one format keeps them apart.
fn groups(records: &[DatasetRecord]) -> Vec<Vec<usize>> {
    let mut by_dir: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if r.format.descriptive() {
            let dir = r.metadata_fs.parent().map(Path::to_path_buf).unwrap_or_default();
            by_dir.entry(dir).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (_, members) in by_dir {
        let mut formats = BTreeSet::new();
        let distinct = members.iter().all(|&i| formats.insert(records[i].format));
        if distinct {
            out.push(members);
        } else {
            out.extend(members.into_iter().map(|i| vec![i]));
        }
    }
    out
}

/// The datasets `check-lineage` judges as one (its groups of descriptive records), each with
/// the record its findings go to first (then llmguard's, Croissant, the card); `aibom` renders
/// each as one `data` component.
pub fn dataset_groups(records: &[DatasetRecord]) -> Vec<Vec<usize>> {
    groups(records)
        .into_iter()
        .map(|mut g| {
            g.sort_by_key(|&i| (rank(records[i].format), records[i].metadata_path.clone()));
            g
        })
        .collect()
}

/// The record findings about the whole group go to: llmguard's, else Croissant, else the card.
fn primary(records: &[DatasetRecord], g: &[usize]) -> usize {
    g.iter()
        .copied()
        .min_by_key(|&i| (rank(records[i].format), records[i].metadata_path.clone()))
        .unwrap_or(0)
}

fn rank(f: SourceFormat) -> u8 {
    match f {
        SourceFormat::Llmguard => 0,
        SourceFormat::Croissant => 1,
        _ => 2,
    }
}

fn where_to_record(r: &DatasetRecord, what: &str) -> String {
    format!(
        "; {} has no field for {what}: record it in an llmguard lineage file beside it (`llmguard check-lineage --create-template FILE`)",
        r.format.describe()
    )
}

/// Where a finding about the field at `pointer` goes: the field itself when it is there (a
/// placeholder), else its nearest parent, else the record's first line.
fn missing_span(r: &DatasetRecord, pointer: &str) -> Span {
    match (&r.locate, r.format) {
        (Some(l), SourceFormat::Llmguard) => l.span(pointer),
        _ => Span {
            line: r.at.line,
            column: 0,
            key_path: (r.format == SourceFormat::Llmguard).then(|| pointer.to_string()),
        },
    }
}

fn group_checks(records: &[DatasetRecord], g: &[usize], s: &Settings, rules: &LineageRules, out: &mut Vec<Finding>) {
    let p = &records[primary(records, g)];
    let members: Vec<&DatasetRecord> = g.iter().map(|&i| &records[i]).collect();
    // Required provenance.
    let required: Vec<(Requirement, String)> = match &s.config.required {
        Some(list) => list
            .iter()
            .map(|r| {
                let why = rules
                    .required
                    .iter()
                    .find(|(q, _)| q == r)
                    .map_or_else(|| "the project requires it".to_string(), |(_, w)| w.clone());
                (*r, why)
            })
            .collect(),
        None => rules.required.clone(),
    };
    // Files a checksum manifest, DVC file or LFS pointer lists in the dataset's directory (or
    // below it) are the dataset's files, whatever the descriptive metadata can express.
    let dir = p.metadata_fs.parent().map(Path::to_path_buf).unwrap_or_default();
    let files_beside = records.iter().any(|r| {
        !r.format.descriptive()
            && r.files.iter().any(|f| !f.dependency)
            && r.metadata_fs.parent().is_some_and(|d| d.starts_with(&dir))
    });
    for (req, why) in &required {
        if members.iter().any(|r| r.has(*req)) || (*req == Requirement::Files && files_beside) {
            continue;
        }
        let mut msg = format!("required `{}` is missing or a placeholder: {why}", req.as_str());
        if members.iter().all(|r| r.cannot_express.contains(req)) {
            msg += &where_to_record(p, &format!("`{}`", req.as_str()));
        }
        out.push(
            finding(
                Rule::ProvenanceFieldMissing,
                p,
                &missing_span(p, own::pointer_of(*req)),
                msg,
            )
            .key(format!("required:{}", req.as_str())),
        );
    }
    // Personal data: declared, or implied by a card's statement, or categories listed, or —
    // when nothing declares it either way — columns of the schema that hold personal data.
    let declared = members.iter().any(|r| {
        r.personal_data.contains_pii.as_ref().is_some_and(|f| f.value) || !r.personal_data.categories.is_empty()
    });
    let undeclared = members.iter().all(|r| r.personal_data.contains_pii.is_none());
    let columns: Vec<&Field<String>> = if undeclared {
        members
            .iter()
            .flat_map(|r| r.schema_fields.iter())
            .filter(|f| rules.personal_column(&f.value))
            .take(3)
            .collect()
    } else {
        Vec::new()
    };
    let personal = declared || !columns.is_empty();
    let personal_why = if declared {
        "the dataset holds personal data".to_string()
    } else {
        let names: Vec<String> = columns
            .iter()
            .map(|f| format!("`{}` on line {}", f.value, f.at.line))
            .collect();
        format!(
            "the schema describes personal data ({}) and nothing declares otherwise",
            names.join(", ")
        )
    };
    let health = members
        .iter()
        .any(|r| r.personal_data.contains_phi.as_ref().is_some_and(|f| f.value));
    for fw in &rules.frameworks {
        let enabled = s.config.frameworks.get(&fw.id).copied().unwrap_or(fw.enabled);
        let applies = match fw.applies_when {
            AppliesWhen::PersonalData => personal,
            AppliesWhen::HealthData => health,
            AppliesWhen::Always => true,
        };
        if !enabled || !applies {
            continue;
        }
        for (field, means) in &fw.controls {
            let values: Vec<&Field<bool>> = members.iter().filter_map(|r| r.controls.get(field)).collect();
            if values.iter().any(|v| v.value) {
                continue;
            }
            let (span, state) = match values.first() {
                Some(v) => (v.at.clone(), "is false"),
                None => (missing_span(p, &format!("/compliance_status/{field}")), "is not set"),
            };
            let why = match fw.applies_when {
                AppliesWhen::PersonalData => personal_why.as_str(),
                AppliesWhen::HealthData => "the dataset holds protected health information",
                AppliesWhen::Always => "the project is in its scope",
            };
            let mut msg = format!(
                "{}: `compliance_status.{field}` {state} although {why}; it must say that {means}",
                fw.name
            );
            if values.is_empty() && members.iter().all(|r| r.format != SourceFormat::Llmguard) {
                msg += &where_to_record(p, "compliance controls");
            }
            out.push(finding(fw.rule, p, &span, msg).key(format!("{}:{field}", fw.id)));
        }
    }
    if personal {
        type Has = fn(&DatasetRecord) -> bool;
        // `compliance_status.gdpr_consent: true` states the legal basis (consent), and an
        // anonymisation or pseudonymisation step in `transformations` states the handling.
        let checks: [(&str, &str, Has); 3] = [
            (
                "legal_basis",
                "the legal basis or consent it was collected under",
                |r| r.personal_data.legal_basis.is_some() || r.controls.get("gdpr_consent").is_some_and(|c| c.value),
            ),
            ("retention", "how long it is kept", |r| {
                r.personal_data.retention.is_some()
            }),
            (
                "handling",
                "how it is protected (anonymised, pseudonymised, redacted…)",
                |r| {
                    let rules = LineageRules::shared();
                    r.personal_data.handling.is_some()
                        || r.transformations.iter().any(|t| {
                            let text = format!(
                                "{} {}",
                                t.kind.as_deref().unwrap_or(""),
                                t.description.as_deref().unwrap_or("")
                            );
                            rules.personal_step(&text)
                        })
                },
            ),
        ];
        let statement = members.iter().find_map(|r| r.personal_data.statement.as_ref());
        for (field, what, has) in checks {
            if members.iter().any(|r| has(r)) {
                continue;
            }
            let span = match (p.format, statement) {
                (SourceFormat::Llmguard, _) | (_, None) => missing_span(p, &format!("/personal_data/{field}")),
                (_, Some(st)) => st.at.clone(),
            };
            let mut msg = if declared {
                format!("personal data is declared but `personal_data.{field}` is not stated: {what}")
            } else {
                format!("{personal_why}, but `personal_data.{field}` is not stated: {what}")
            };
            if members.iter().all(|r| r.format != SourceFormat::Llmguard) {
                msg += &where_to_record(p, &format!("`{field}`"));
            }
            out.push(finding(Rule::PersonalDataSafeguardMissing, p, &span, msg).key(format!("safeguard:{field}")));
        }
    }
    // Sources that disagree.
    let norm = |u: &str| {
        let l = u.trim().to_ascii_lowercase();
        let l = l
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_start_matches("www.")
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_string();
        l
    };
    if let Some(ps) = p.source.first() {
        for r in &members {
            if r.format == p.format {
                continue;
            }
            for src in &r.source {
                if norm(&src.value) != norm(&ps.value) {
                    out.push(
                        finding(
                            Rule::SourceConflict,
                            r,
                            &src.at,
                            format!(
                                "source `{}` differs from `{}` in {} (line {}): two descriptions of one dataset name different origins",
                                src.value, ps.value, p.metadata_path, ps.at.line
                            ),
                        )
                        .key(format!("source:{}", r.metadata_relative)),
                    );
                }
            }
        }
    }
    // Licences that disagree.
    if let Some(pl) = p.license.first() {
        for r in &members {
            if r.format == p.format {
                continue;
            }
            for l in &r.license {
                if !license::same(&l.value, &pl.value) {
                    out.push(
                        finding(
                            Rule::LicenseConflict,
                            r,
                            &l.at,
                            format!(
                                "licence `{}` differs from `{}` in {} (line {})",
                                l.value.raw, pl.value.raw, p.metadata_path, pl.at.line
                            ),
                        )
                        .key(format!("license:{}", r.metadata_relative)),
                    );
                }
            }
        }
    }
}

fn license_checks(
    r: &DatasetRecord,
    records: &[DatasetRecord],
    groups: &[Vec<usize>],
    s: &Settings,
    rules: &LineageRules,
    out: &mut Vec<Finding>,
) {
    // The declared use: this record's, else its group's, else the project's.
    let me = records.iter().position(|x| std::ptr::eq(x, r));
    let group: Vec<&DatasetRecord> = groups
        .iter()
        .find(|g| me.is_some_and(|i| g.contains(&i)))
        .map(|g| g.iter().map(|&i| &records[i]).collect())
        .unwrap_or_else(|| vec![r]);
    let commercial = group
        .iter()
        .find_map(|x| x.commercial_use.as_ref().map(|c| c.value))
        .or(s.config.commercial);
    for l in &r.license {
        let lic = &l.value;
        let key = |k: &str| format!("{k}:{}", lic.raw);
        if lic.spdx.is_none() && lic.hub_id.is_none() && lic.private.is_none() {
            out.push(
                finding(
                    Rule::LicenseInvalid,
                    r,
                    &l.at,
                    format!(
                        "`{}` is neither a valid SPDX expression nor a Hugging Face licence id",
                        lic.raw
                    ),
                )
                .key(key("invalid")),
            );
            continue;
        }
        if !lic.deprecated.is_empty() {
            out.push(
                finding(
                    Rule::LicenseDeprecated,
                    r,
                    &l.at,
                    format!(
                        "`{}` uses the deprecated SPDX id{} {}; write {}",
                        lic.raw,
                        if lic.deprecated.len() == 1 { "" } else { "s" },
                        lic.deprecated
                            .iter()
                            .map(|d| format!("`{d}`"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        lic.deprecated
                            .iter()
                            .map(|d| license::replacement(d, rules))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                )
                .key(key("deprecated")),
            );
        }
        if !s.config.approved_licenses.is_empty() {
            if !license::approved(lic, &s.config.approved_licenses, rules) {
                out.push(
                    finding(
                        Rule::LicenseNotApproved,
                        r,
                        &l.at,
                        format!(
                            "`{}` is not on the project's approved licences ([lineage] approved_licenses)",
                            lic.raw
                        ),
                    )
                    .key(key("approval")),
                );
            }
        } else if license::needs_approval(lic) {
            out.push(
                finding(
                    Rule::LicenseNotApproved,
                    r,
                    &l.at,
                    format!(
                        "`{}` cannot be judged automatically and needs an explicit approval in [lineage] approved_licenses",
                        lic.raw
                    ),
                )
                .key(key("approval")),
            );
        }
        if commercial == Some(true) {
            let hits: Vec<&str> = Restriction::ALL
                .into_iter()
                .filter(|x| license::restricted(lic, *x, rules))
                .map(|x| rules.restriction_why(x))
                .collect();
            if !hits.is_empty() {
                out.push(
                    finding(
                        Rule::LicenseUseConflict,
                        r,
                        &l.at,
                        format!(
                            "`{}` {}, but the dataset is declared for commercial use",
                            lic.raw,
                            hits.join(" and ")
                        ),
                    )
                    .key(key("use")),
                );
            }
        }
    }
}

/// Whether `source` is approved by `entries` (hosts with their subdomains, `scheme://host`,
/// system ids). Hosts are compared after parsing the URL, never by substring.
pub fn source_approved(source: &str, entries: &[String]) -> bool {
    let host_ok = |host: &str, entry: &str| host == entry || host.ends_with(&format!(".{entry}"));
    match url::Url::parse(source).ok().filter(|u| u.host_str().is_some()) {
        Some(u) => {
            let host = u.host_str().unwrap_or("").trim_end_matches('.').to_ascii_lowercase();
            entries.iter().any(|e| {
                if e.contains("://") {
                    url::Url::parse(e).ok().is_some_and(|eu| {
                        eu.scheme() == u.scheme()
                            && eu.host_str().is_some_and(|h| host_ok(&host, &h.to_ascii_lowercase()))
                    })
                } else {
                    host_ok(&host, e)
                }
            })
        }
        None => {
            let s = source.trim().to_ascii_lowercase();
            entries.iter().any(|e| {
                !e.contains("://")
                    && (s == *e
                        || s.strip_prefix(e.as_str())
                            .is_some_and(|rest| rest.starts_with([':', '/', '.'])))
            })
        }
    }
}

fn source_checks(r: &DatasetRecord, s: &Settings, out: &mut Vec<Finding>) {
    if s.config.approved_sources.is_empty() {
        return;
    }
    for src in &r.source {
        if !source_approved(&src.value, &s.config.approved_sources) {
            let what = url::Url::parse(&src.value)
                .ok()
                .and_then(|u| u.host_str().map(|h| format!("host `{h}`")))
                .unwrap_or_else(|| format!("`{}`", src.value));
            out.push(
                finding(
                    Rule::SourceNotApproved,
                    r,
                    &src.at,
                    format!("{what} is not an approved source ([lineage] approved_sources)"),
                )
                .evidence(mask_url(&src.value))
                .key(format!("source:{}", src.value)),
            );
        }
    }
}

const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "auth",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-goog-signature",
    "client_secret",
];

/// The URL with any password and secret query values replaced by `****`.
fn mask_url(text: &str) -> String {
    let Ok(mut u) = url::Url::parse(text) else {
        return text.to_string();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("****"));
    }
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let secret = SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
            (k.into_owned(), if secret { "****".into() } else { v.into_owned() })
        })
        .collect();
    if pairs.iter().any(|(_, v)| v == "****") {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

fn url_checks(r: &DatasetRecord, out: &mut Vec<Finding>) {
    let parents = r.parents.iter().filter_map(|p| match &p.reference {
        ParentRef::Url(u) => Some((u.as_str(), &p.at)),
        _ => None,
    });
    let all: Vec<(&str, &Span)> = r
        .source
        .iter()
        .chain(&r.urls)
        .map(|f| (f.value.as_str(), &f.at))
        .chain(parents)
        .collect();
    let mut seen = BTreeSet::new();
    for (text, span) in all {
        if !seen.insert((text, span.line)) {
            continue;
        }
        let Ok(u) = url::Url::parse(text) else { continue };
        let secret_query = u
            .query_pairs()
            .any(|(k, v)| !v.is_empty() && SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()));
        if u.password().is_some() || !u.username().is_empty() || secret_query {
            let what = if u.password().is_some() {
                "a password"
            } else if secret_query {
                "a secret in its query"
            } else {
                "a user name"
            };
            out.push(
                finding(
                    Rule::UrlCredentials,
                    r,
                    span,
                    format!("URL embeds {what}; it leaks with the metadata"),
                )
                .evidence(mask_url(text))
                .key(format!("creds:{}", u.host_str().unwrap_or(""))),
            );
        }
        if u.scheme() == "http" {
            out.push(
                finding(
                    Rule::InsecureUrl,
                    r,
                    span,
                    format!(
                        "`{}` uses plain http://; what it serves can be altered in transit",
                        mask_url(text)
                    ),
                )
                .key(format!("http:{}", mask_url(text))),
            );
        }
    }
}

fn date_checks(r: &DatasetRecord, today: i64, out: &mut Vec<Finding>) {
    let mut dates: Vec<(&str, &Field<String>)> = Vec::new();
    if let Some(c) = &r.created_at {
        dates.push(("created_at", c));
    }
    if let Some(p) = &r.collection_period {
        dates.extend(p.start.iter().map(|f| ("collection start", f)));
        dates.extend(p.end.iter().map(|f| ("collection end", f)));
    }
    if let Some(p) = &r.date_range {
        dates.extend(p.start.iter().map(|f| ("date range start", f)));
        dates.extend(p.end.iter().map(|f| ("date range end", f)));
    }
    for t in &r.transformations {
        dates.extend(t.timestamp.iter().map(|f| ("transformation timestamp", f)));
    }
    dates.extend(r.dates.iter().map(|f| ("date", f)));
    for (what, f) in &dates {
        match parse_date(&f.value) {
            None => out.push(
                finding(
                    Rule::LineageInvalidValue,
                    r,
                    &f.at,
                    format!("{what} `{}` is not an ISO 8601 date (YYYY-MM-DD)", f.value),
                )
                .key(format!("date:{}", f.value)),
            ),
            Some((first, _)) if first > today => out.push(
                finding(
                    Rule::DateInFuture,
                    r,
                    &f.at,
                    format!("{what} `{}` is in the future", f.value),
                )
                .key(format!("future:{}", f.value)),
            ),
            _ => {}
        }
    }
    let mut ranges = Vec::new();
    if let Some(p) = &r.collection_period {
        ranges.push((&p.start, &p.end, &p.at));
    }
    if let Some(p) = &r.date_range {
        ranges.push((&p.start, &p.end, &p.at));
    }
    for (start, end, span) in ranges {
        if let (Some(s), Some(e)) = (start, end) {
            if let (Some((s0, _)), Some((_, e1))) = (parse_date(&s.value), parse_date(&e.value)) {
                if e1 < s0 {
                    out.push(
                        finding(
                            Rule::DateRangeInverted,
                            r,
                            span,
                            format!("the period ends {} before it starts {}", e.value, s.value),
                        )
                        .key(format!("range:{}:{}", s.value, e.value)),
                    );
                }
            }
        }
    }
}

fn contradiction_checks(r: &DatasetRecord, rules: &LineageRules, out: &mut Vec<Finding>) {
    let Some(decl) = &r.personal_data.contains_pii else {
        return;
    };
    if decl.value {
        return;
    }
    let said = if r.personal_data.implied {
        "states that it holds no personal data"
    } else {
        "declares `contains_pii: false`"
    };
    let columns: Vec<&Field<String>> = r
        .schema_fields
        .iter()
        .filter(|f| rules.personal_column(&f.value))
        .collect();
    if let Some(first) = columns.first() {
        let names: Vec<&str> = columns.iter().take(5).map(|f| f.value.as_str()).collect();
        out.push(
            finding(
                Rule::PiiDeclarationContradicted,
                r,
                &decl.at,
                format!(
                    "the dataset {said}, but its schema describes personal data: {} (line {}){}",
                    names.join(", "),
                    first.at.line,
                    if columns.len() > 5 { ", …" } else { "" }
                ),
            )
            .key("schema"),
        );
    }
    let steps: Vec<_> = r
        .transformations
        .iter()
        .filter(|t| {
            let text = format!(
                "{} {}",
                t.kind.as_deref().unwrap_or(""),
                t.description.as_deref().unwrap_or("")
            );
            rules.personal_step(&text)
        })
        .collect();
    if let Some(t) = steps.first() {
        out.push(
            finding(
                Rule::PiiDeclarationContradicted,
                r,
                &decl.at,
                format!(
                    "the dataset {said}, but a processing step (line {}) only makes sense on personal data: {}",
                    t.at.line,
                    t.description.as_deref().or(t.kind.as_deref()).unwrap_or("")
                ),
            )
            .key("transformation"),
        );
    }
}

/// Directories whose data is described only by integrity records (DVC, LFS pointers,
/// checksum manifests), with no descriptive record in them or above them: one finding each,
/// at the first such record by path.
fn provenance_missing(records: &[DatasetRecord], out: &mut Vec<Finding>) {
    let dir_of = |r: &DatasetRecord| r.metadata_fs.parent().map(Path::to_path_buf).unwrap_or_default();
    let described: Vec<PathBuf> = records.iter().filter(|r| r.format.descriptive()).map(dir_of).collect();
    let mut by_dir: BTreeMap<PathBuf, Vec<&DatasetRecord>> = BTreeMap::new();
    for r in records.iter().filter(|r| !r.format.descriptive()) {
        let dir = dir_of(r);
        if !described.iter().any(|d| dir.starts_with(d)) {
            by_dir.entry(dir).or_default().push(r);
        }
    }
    // A directory inside another one that has only integrity data is part of that dataset
    // (a `dvc.lock` at the top and `.dvc` files below it): one finding, at the outermost.
    let dirs: Vec<PathBuf> = by_dir.keys().cloned().collect();
    let mut outer: BTreeMap<PathBuf, Vec<&DatasetRecord>> = BTreeMap::new();
    for (dir, rs) in by_dir {
        let top = dirs.iter().find(|d| dir.starts_with(d)).cloned().unwrap_or(dir);
        outer.entry(top).or_default().extend(rs);
    }
    for (top, mut rs) in outer {
        rs.sort_by_key(|r| (r.metadata_fs.parent() != Some(top.as_path()), r.metadata_path.clone()));
        let Some(first) = rs.first() else { continue };
        let kinds: BTreeSet<&str> = rs.iter().map(|r| r.format.describe()).collect();
        let shown = Path::new(&first.metadata_path)
            .parent()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| ".".into());
        out.push(
            finding(
                Rule::ProvenanceRecordMissing,
                first,
                &first.at,
                format!(
                    "`{shown}` has integrity data ({}) but no provenance record: no licence, owner or source is on record, so none is checked; add an llmguard lineage file (`llmguard check-lineage --create-template {shown}/lineage.yaml`)",
                    kinds.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
            .key("no-provenance"),
        );
    }
}

fn duplicates(records: &[DatasetRecord], out: &mut Vec<Finding>) {
    let mut seen: HashMap<(SourceFormat, String, String), &DatasetRecord> = HashMap::new();
    let mut order: Vec<&DatasetRecord> = records.iter().filter(|r| r.format.descriptive()).collect();
    order.sort_by(|a, b| a.metadata_path.cmp(&b.metadata_path));
    for r in order {
        let Some(id) = r.identity() else { continue };
        // Without an id, a name repeats legitimately across versions.
        let version = if r.id.is_some() {
            String::new()
        } else {
            r.version.as_ref().map(|v| v.value.clone()).unwrap_or_default()
        };
        let key = (r.format, id.value.to_ascii_lowercase(), version);
        match seen.get(&key) {
            Some(first) => out.push(
                finding(
                    Rule::DuplicateDatasetId,
                    r,
                    &id.at,
                    format!(
                        "`{}` is also declared by {} (line {}); ids must be unique",
                        id.value,
                        first.metadata_path,
                        first.identity().map_or(0, |f| f.at.line)
                    ),
                )
                .key(format!("dup:{}", id.value)),
            ),
            None => {
                seen.insert(key, r);
            }
        }
    }
}

/// Parents: resolution, dangling references, cycles, licence conflicts.
fn chain(records: &[DatasetRecord], s: &Settings, rules: &LineageRules, out: &mut Vec<Finding>) {
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut by_file: HashMap<PathBuf, usize> = HashMap::new();
    let mut by_dir: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate().filter(|(_, r)| r.format.descriptive()) {
        if let Some(id) = &r.id {
            by_id.entry(id.value.to_ascii_lowercase()).or_insert(i);
        }
        if let Some(n) = &r.name {
            by_name.entry(n.value.to_ascii_lowercase()).or_insert(i);
        }
        let canon = r.metadata_fs.canonicalize().unwrap_or_else(|_| r.metadata_fs.clone());
        if let Some(d) = canon.parent() {
            by_dir.entry(d.to_path_buf()).or_default().push(i);
        }
        by_file.insert(canon, i);
    }
    let mut edges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); records.len()];
    for (i, r) in records.iter().enumerate() {
        for (pi, p) in r.parents.iter().enumerate() {
            let target = match &p.reference {
                ParentRef::Url(_) => continue,
                ParentRef::Id(id) => {
                    let key = id.to_ascii_lowercase();
                    match by_id.get(&key).or_else(|| by_name.get(&key)) {
                        Some(t) => *t,
                        None => {
                            out.push(
                                finding(
                                    Rule::ParentDatasetDangling,
                                    r,
                                    &p.at,
                                    format!("parent `{id}` resolves to nothing: no scanned metadata has this id or name; scan its metadata too or reference it by URL"),
                                )
                                .key(format!("parent:{id}")),
                            );
                            continue;
                        }
                    }
                }
                ParentRef::Path(path) => {
                    let resolved = resolve_data_path(&meta_of(r), path, s.root, s.discover.follow_symlinks);
                    let Ok((display, _, abs)) = resolved else {
                        out.push(
                            finding(
                                Rule::LineagePathOutsideRoot,
                                r,
                                &p.at,
                                format!("parent `{path}` leaves the scan root; it was not read"),
                            )
                            .key(format!("parent:{path}")),
                        );
                        continue;
                    };
                    let canon = abs.canonicalize().unwrap_or(abs.clone());
                    let hit = if canon.is_dir() {
                        by_dir.get(&canon).map(|v| primary(records, v))
                    } else {
                        by_file.get(&canon).copied()
                    };
                    match hit {
                        Some(t) => t,
                        None => {
                            let why = if abs.exists() {
                                "exists but holds no lineage metadata"
                            } else {
                                "does not exist"
                            };
                            out.push(
                                finding(
                                    Rule::ParentDatasetDangling,
                                    r,
                                    &p.at,
                                    format!("parent `{path}` ({display}) {why}"),
                                )
                                .key(format!("parent:{path}")),
                            );
                            continue;
                        }
                    }
                }
            };
            edges[i].push((target, pi));
        }
    }
    // Licence conflicts along each edge.
    for (i, r) in records.iter().enumerate() {
        let Some(child) = r.license.first() else { continue };
        for &(t, pi) in &edges[i] {
            let p = &r.parents[pi];
            let Some(parent_lic) = p
                .license
                .clone()
                .or_else(|| records[t].license.first().map(|l| l.value.clone()))
            else {
                continue;
            };
            let mut why = Vec::new();
            if license::restricted(&parent_lic, Restriction::NoDerivatives, rules) {
                why.push("forbids derivatives".to_string());
            }
            if license::restricted(&parent_lic, Restriction::ShareAlike, rules)
                && !license::same(&parent_lic, &child.value)
            {
                why.push(format!(
                    "requires derivatives to carry `{}` (share-alike)",
                    parent_lic.raw
                ));
            }
            if license::restricted(&parent_lic, Restriction::NonCommercial, rules)
                && !license::restricted(&child.value, Restriction::NonCommercial, rules)
            {
                why.push("forbids commercial use, which the child's licence allows".to_string());
            }
            if !why.is_empty() {
                let name = records[t]
                    .identity()
                    .map_or_else(|| records[t].metadata_path.clone(), |f| f.value.clone());
                out.push(
                    finding(
                        Rule::ParentLicenseConflict,
                        r,
                        &p.at,
                        format!(
                            "this dataset is `{}`, but its parent `{name}` is `{}`, which {}",
                            child.value.raw,
                            parent_lic.raw,
                            why.join(" and ")
                        ),
                    )
                    .key(format!("parent-license:{name}")),
                );
            }
        }
    }
    // Cycles: depth-first search, each cycle reported once at its first record by path.
    let mut state = vec![0u8; records.len()];
    let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
    for start in 0..records.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        let mut path: Vec<usize> = vec![start];
        state[start] = 1;
        while let Some((node, next)) = stack.last().copied() {
            if let Some(&(t, _)) = edges[node].get(next) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match state[t] {
                    0 => {
                        state[t] = 1;
                        stack.push((t, 0));
                        path.push(t);
                    }
                    1 => {
                        let from = path.iter().position(|&x| x == t).unwrap_or(0);
                        let cycle: Vec<usize> = path[from..].to_vec();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if reported.insert(key) {
                            let first = cycle
                                .iter()
                                .copied()
                                .min_by_key(|&x| records[x].metadata_path.clone())
                                .unwrap_or(t);
                            let names: Vec<String> = cycle
                                .iter()
                                .chain(std::iter::once(&t))
                                .map(|&x| {
                                    records[x]
                                        .identity()
                                        .map_or_else(|| records[x].metadata_path.clone(), |f| f.value.clone())
                                })
                                .collect();
                            let r = &records[first];
                            let span = r.parents.first().map_or_else(|| r.at.clone(), |p| p.at.clone());
                            out.push(
                                finding(
                                    Rule::LineageCycle,
                                    r,
                                    &span,
                                    format!("the lineage forms a cycle: {}", names.join(" → ")),
                                )
                                .key(format!("cycle:{}", names.join(">"))),
                            );
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
                path.pop();
            }
        }
    }
}

/// One listed file, where it is listed and what is declared about it.
struct Listing<'a> {
    record: &'a DatasetRecord,
    file: std::borrow::Cow<'a, DataFile>,
    /// A file of a DVC directory listing: `(the directory entry, its md5, normalised)`.
    from_dir: Option<(String, String, bool)>,
    path: PathBuf,
    display: String,
}

/// The `.dir` listing of a DVC directory output in the cache: `[(relpath, md5)]`, or why not.
fn dvc_listing(r: &DatasetRecord, hex: &str, root: &Path) -> Result<Vec<(String, String)>, String> {
    let mut dir = r
        .metadata_fs
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let mut repo = None;
    while let Some(d) = dir {
        if d.join(".dvc").is_dir() {
            repo = Some(d.clone());
            break;
        }
        if d == root || !d.starts_with(root) {
            break;
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    let repo = repo.ok_or_else(|| "no .dvc directory holds the DVC cache".to_string())?;
    let (a, b) = hex.split_at(2.min(hex.len()));
    let candidates = [
        repo.join(".dvc/cache/files/md5").join(a).join(format!("{b}.dir")),
        repo.join(".dvc/cache").join(a).join(format!("{b}.dir")),
    ];
    let file = candidates
        .iter()
        .find(|p| p.is_file())
        .ok_or_else(|| "its listing is not in .dvc/cache (run `dvc fetch`)".to_string())?;
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read its listing: {e}"))?;
    if bytes.len() > 64 << 20 {
        return Err("its listing is larger than 64 MiB".into());
    }
    use md5::Digest as _;
    let got = digest::hex(&md5::Md5::digest(&bytes));
    if got != hex {
        return Err(format!(
            "its cached listing has md5 {got}, not {hex}: the cache is corrupt"
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("its listing is not JSON: {e}"))?;
    let mut out = Vec::new();
    for e in v.as_array().into_iter().flatten() {
        if let (Some(p), Some(m)) = (
            e.get("relpath").and_then(|x| x.as_str()),
            e.get("md5").and_then(|x| x.as_str()),
        ) {
            out.push((p.to_string(), m.to_ascii_lowercase()));
        }
    }
    Ok(out)
}

/// Files inside a DVC directory output that its `.dir` listing does not hold: each changes
/// the directory's md5, so the output no longer matches what `dvc add` recorded.
fn extra_in_dvc_dir(r: &DatasetRecord, f: &DataFile, hex: &str, entries: &[(String, String)], out: &mut Vec<Finding>) {
    const MAX_FILES: usize = 100_000;
    let (Some(dir), Some(display)) = (&f.resolved, &f.display) else {
        return;
    };
    if !dir.is_dir() {
        return;
    }
    let listed: BTreeSet<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    let mut extra = Vec::new();
    for e in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .take(MAX_FILES)
    {
        let Ok(rel) = e.path().strip_prefix(dir) else { continue };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if !listed.contains(rel.as_str()) {
            extra.push(rel);
        }
    }
    let where_ = f.md5.as_ref().map_or(f.path.at.line, |m| m.at.line);
    for rel in extra {
        out.push(
            Finding::new(
                Rule::DataFileMismatch,
                &format!("{}/{rel}", display.trim_end_matches('/')),
                Location::default(),
                format!(
                    "is in DVC directory `{}` but not in its listing (md5 {}.dir, {} line {}): the directory changed after DVC recorded it",
                    f.path.value,
                    short(hex),
                    r.metadata_path,
                    where_
                ),
            )
            .key("dvc-dir-extra"),
        );
    }
}

fn integrity(
    records: &[DatasetRecord],
    metadata: &[PathBuf],
    s: &Settings,
    rules: &LineageRules,
    owns: &(dyn Fn(&str) -> bool + Sync),
    out: &mut Checked,
) {
    let mut listings: Vec<Listing> = Vec::new();
    for r in records.iter().filter(|r| owns(&r.metadata_path)) {
        for f in &r.files {
            if f.kind == FileKind::LfsPointer {
                out.findings.push(lfs_finding(r, f));
                continue;
            }
            let (Some(path), Some(display)) = (&f.resolved, &f.display) else {
                continue;
            };
            for d in [&f.sha256, &f.md5].into_iter().flatten() {
                if !d.value.valid {
                    out.findings.push(
                        finding(
                            Rule::ChecksumMalformed,
                            r,
                            &d.at,
                            format!(
                                "{} `{}` of `{}` is {} characters; a {} is {} hex digits",
                                d.value.algorithm.as_str(),
                                crate::finding::truncate(&d.value.hex, 20),
                                f.path.value,
                                d.value.hex.chars().count(),
                                d.value.algorithm.as_str(),
                                d.value.algorithm.hex_len()
                            ),
                        )
                        .key(format!("malformed:{}", f.path.value)),
                    );
                }
            }
            if f.sha256.is_none() && f.md5.is_none() {
                out.findings.push(
                    finding(
                        Rule::ChecksumMissing,
                        r,
                        &f.path.at,
                        format!(
                            "`{}` is listed without a checksum, so its bytes cannot be verified",
                            f.path.value
                        ),
                    )
                    .key(format!("nosum:{}", f.path.value)),
                );
            }
            if f.kind == FileKind::DvcDirectory {
                let Some(md5) = f.md5.as_ref().filter(|m| m.value.valid) else {
                    continue;
                };
                match dvc_listing(r, &md5.value.hex, s.root) {
                    Ok(entries) => {
                        extra_in_dvc_dir(r, f, &md5.value.hex, &entries, &mut out.findings);
                        for (rel, m) in entries {
                            let Ok((disp, _, p)) = resolve_data_path(
                                &meta_of(r),
                                &format!("{}/{rel}", f.path.value.trim_end_matches('/')),
                                s.root,
                                s.discover.follow_symlinks,
                            ) else {
                                continue;
                            };
                            listings.push(Listing {
                                record: r,
                                file: std::borrow::Cow::Borrowed(f),
                                from_dir: Some((rel, m, f.md5_text_normalised)),
                                path: p,
                                display: disp,
                            });
                        }
                    }
                    Err(why) => out.findings.push(
                        finding(
                            Rule::ChecksumUnverifiable,
                            r,
                            &md5.at,
                            format!(
                                "directory `{}` (md5 {}.dir) cannot be verified: {why}",
                                f.path.value,
                                short(&md5.value.hex)
                            ),
                        )
                        .key(format!("dvcdir:{}", f.path.value)),
                    ),
                }
                continue;
            }
            listings.push(Listing {
                record: r,
                file: std::borrow::Cow::Borrowed(f),
                from_dir: None,
                path: path.clone(),
                display: display.clone(),
            });
        }
        if let Some(d) = &r.dataset_digest {
            if !d.value.valid {
                out.findings.push(
                    finding(
                        Rule::ChecksumMalformed,
                        r,
                        &d.at,
                        format!(
                            "`{}` does not fit {}: a {} is {} hex digits",
                            crate::finding::truncate(&d.value.hex, 24),
                            d.value.algorithm.as_str(),
                            d.value.algorithm.as_str(),
                            d.value.algorithm.hex_len()
                        ),
                    )
                    .key("malformed:hash"),
                );
            } else if !r.files.is_empty() {
                // One listed file: the dataset's hash is that file's. Several: it is a hash of
                // something llmguard cannot rebuild (an archive, a tool's own tree hash).
                let listed: Vec<&DataFile> = r.files.iter().filter(|f| !f.dependency).collect();
                match listed.as_slice() {
                    [only] if only.resolved.is_some() && only.kind == FileKind::File => {
                        let (Some(p), Some(display)) = (&only.resolved, &only.display) else {
                            continue;
                        };
                        let mut f = dataset_file(r, d, display.clone(), p.clone());
                        f.path = only.path.clone();
                        f.size = r.size_bytes.clone();
                        listings.push(Listing {
                            record: r,
                            file: std::borrow::Cow::Owned(f),
                            from_dir: None,
                            path: p.clone(),
                            display: display.clone(),
                        });
                    }
                    _ => out.findings.push(
                        finding(
                            Rule::ChecksumUnverifiable,
                            r,
                            &d.at,
                            format!(
                                "the dataset `hash` cannot be verified: it covers {} listed files as one, which no per-file digest rebuilds; the files are verified by their own digests",
                                listed.len()
                            ),
                        )
                        .key("hash-unverifiable"),
                    ),
                }
            } else {
                let local = r.source.first().and_then(|src| {
                    (!src.value.contains("://"))
                        .then(|| resolve_data_path(&meta_of(r), &src.value, s.root, s.discover.follow_symlinks).ok())
                        .flatten()
                        .filter(|(_, _, p)| p.is_file())
                });
                match local {
                    Some((display, _, p)) => listings.push(Listing {
                        record: r,
                        file: std::borrow::Cow::Owned(DataFile {
                            size: r.size_bytes.clone(),
                            ..dataset_file(r, d, display.clone(), p.clone())
                        }),
                        from_dir: None,
                        path: p,
                        display,
                    }),
                    None => out.findings.push(
                        finding(
                            Rule::ChecksumUnverifiable,
                            r,
                            &d.at,
                            "the dataset `hash` cannot be verified: the record lists no `files` and its `source` is not a local file".into(),
                        )
                        .key("hash-unverifiable"),
                    ),
                }
            }
        }
    }
    // Hash every distinct file once, in parallel.
    let mut wants: BTreeMap<PathBuf, (String, Want)> = BTreeMap::new();
    for l in &listings {
        let e = wants
            .entry(l.path.clone())
            .or_insert_with(|| (l.display.clone(), Want::default()));
        if l.from_dir.is_some() {
            if l.from_dir.as_ref().is_some_and(|(_, _, n)| *n) {
                e.1.md5_dos2unix = true;
            } else {
                e.1.md5 = true;
            }
            continue;
        }
        let sha_valid = l.file.sha256.as_ref().is_some_and(|d| d.value.valid);
        e.1.sha256_universal |= sha_valid && l.file.sha256_universal;
        if l.file.md5.as_ref().is_some_and(|d| d.value.valid) {
            if l.file.md5_text_normalised {
                e.1.md5_dos2unix = true;
            } else {
                e.1.md5 = true;
            }
        }
        // Always know the sha256 of a verified file (reports and AI-BOMs carry it).
        e.1.sha256 = true;
    }
    let work: Vec<(PathBuf, String, Want)> = wants.into_iter().map(|(p, (d, w))| (p, d, w)).collect();
    let hash_one = |(p, _, w): &(PathBuf, String, Want)| -> Hashed {
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Hashed::Missing,
            Err(e) => return Hashed::Error(e.to_string()),
        };
        if meta.is_dir() {
            return Hashed::Directory;
        }
        if meta.len() < 1024 {
            if let Ok(b) = std::fs::read(p) {
                if lfs::is_pointer(&b) {
                    return Hashed::Pointer(lfs::pointer_oid(&String::from_utf8_lossy(&b)).unwrap_or_default());
                }
            }
        }
        match digest::digests_file(p, *w) {
            Ok(d) => Hashed::Done(d),
            Err(e) => Hashed::Error(e.to_string()),
        }
    };
    let results: Vec<Hashed> = match s.jobs {
        Some(1) => work.iter().map(hash_one).collect(),
        jobs => match rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build() {
            Ok(pool) => pool.install(|| work.par_iter().map(hash_one).collect()),
            Err(_) => work.iter().map(hash_one).collect(),
        },
    };
    let hashed: HashMap<&PathBuf, &Hashed> = work.iter().map(|(p, ..)| p).zip(results.iter()).collect();
    // Which record a data file is the artifact of: the first (by path) that lists it.
    let mut claim: HashMap<&Path, &str> = HashMap::new();
    for r in records {
        for f in &r.files {
            if let Some(p) = &f.resolved {
                let c = claim.entry(p.as_path()).or_insert(r.metadata_path.as_str());
                if r.metadata_path.as_str() < *c {
                    *c = r.metadata_path.as_str();
                }
            }
        }
    }
    for (p, display, _) in &work {
        if !claim.get(p.as_path()).is_none_or(|m| owns(m)) {
            continue;
        }
        if let Some(Hashed::Done(d)) = hashed.get(p) {
            out.data.push(Artifact {
                path: display.clone(),
                format: "data".into(),
                size: d.size,
                verdict: crate::report::Verdict::Clean,
                sha256: d.sha256.clone(),
            });
        }
    }
    // One file declared with the same digests several times in one metadata file (a
    // `dvc.lock` output that the next stage depends on) is compared once; the finding names
    // every line.
    type Declared<'a> = (&'a Path, &'a str, Option<String>, Option<String>, Option<u64>);
    let mut first: HashMap<Declared, usize> = HashMap::new();
    let mut also: Vec<Vec<u32>> = vec![Vec::new(); listings.len()];
    let mut skip = vec![false; listings.len()];
    let mut order: Vec<usize> = (0..listings.len()).collect();
    order.sort_by_key(|&i| listings[i].file.path.at.line);
    for i in order {
        let l = &listings[i];
        let md5 = match &l.from_dir {
            Some((_, m, _)) => Some(m.clone()),
            None => l.file.md5.as_ref().map(|d| d.value.hex.clone()),
        };
        let key = (
            l.path.as_path(),
            l.record.metadata_path.as_str(),
            l.file.sha256.as_ref().map(|d| d.value.hex.clone()),
            md5,
            l.file.size.as_ref().map(|s| s.value),
        );
        match first.get(&key) {
            Some(&f) => {
                also[f].push(l.file.path.at.line);
                skip[i] = true;
            }
            None => {
                first.insert(key, i);
            }
        }
    }
    for (i, l) in listings.iter().enumerate() {
        let Some(h) = hashed.get(&l.path) else { continue };
        if !skip[i] {
            compare(l, h, &also[i], &mut out.findings);
        }
    }
    untracked(records, metadata, &listings, rules, &mut out.findings);
    if let Some((detectors, bytes)) = s.sample_pii {
        sample(records, &listings, &hashed, detectors, bytes, &mut out.findings);
    }
}

/// A `DataFile` for the dataset-level digest of a record whose source is a local file.
fn dataset_file(r: &DatasetRecord, d: &Field<crate::lineage::DigestDecl>, display: String, p: PathBuf) -> DataFile {
    let (sha256, md5) = match d.value.algorithm {
        crate::lineage::Algorithm::Sha256 => (Some(d.clone()), None),
        crate::lineage::Algorithm::Md5 => (None, Some(d.clone())),
    };
    DataFile {
        path: Field::new(
            r.source.first().map(|f| f.value.clone()).unwrap_or_default(),
            d.at.clone(),
        ),
        display: Some(display),
        relative: None,
        resolved: Some(p),
        sha256,
        md5,
        md5_text_normalised: false,
        sha256_universal: false,
        size: None,
        kind: FileKind::File,
        dependency: false,
    }
}

enum Hashed {
    Done(digest::Digests),
    Pointer(String),
    Missing,
    Directory,
    Error(String),
}

fn lfs_finding(r: &DatasetRecord, f: &DataFile) -> Finding {
    let oid = f.sha256.as_ref().map(|d| short(&d.value.hex)).unwrap_or_default();
    let size = f
        .size
        .as_ref()
        .map(|s| format!(", {} bytes", s.value))
        .unwrap_or_default();
    Finding::new(
        Rule::LfsPointerNotData,
        &r.metadata_path,
        Location::default(),
        format!("is a Git LFS pointer (oid sha256:{oid}{size}), not the data it stands for: the LFS object was never fetched (`git lfs pull`)"),
    )
    .key("lfs-pointer")
}

fn compare(l: &Listing, h: &Hashed, also: &[u32], out: &mut Vec<Finding>) {
    let r = l.record;
    let more = if also.is_empty() {
        String::new()
    } else {
        let lines: Vec<String> = also.iter().map(u32::to_string).collect();
        format!(
            " (declared again on line{} {})",
            if also.len() == 1 { "" } else { "s" },
            lines.join(", ")
        )
    };
    let listed_at = |span: &Span| format!("{} line {}{more}", r.metadata_path, span.line);
    let (declared_md5, normalised) = match &l.from_dir {
        Some((_, m, n)) => (Some(m.clone()), *n),
        None => (
            l.file
                .md5
                .as_ref()
                .filter(|d| d.value.valid)
                .map(|d| d.value.hex.clone()),
            l.file.md5_text_normalised,
        ),
    };
    let what = match &l.from_dir {
        Some((rel, ..)) => format!("`{rel}` of DVC directory `{}`", l.file.path.value),
        None => format!("`{}`", l.file.path.value),
    };
    match h {
        Hashed::Missing => out.push(
            finding(
                Rule::DataFileMissing,
                r,
                &l.file.path.at,
                format!(
                    "lists {what}, which does not exist (expected at {}){}",
                    l.display,
                    if matches!(r.format, SourceFormat::Dvc | SourceFormat::DvcLock) {
                        "; `dvc pull` fetches DVC-tracked data from its remote"
                    } else {
                        ""
                    }
                ),
            )
            .key(format!("missing:{}", l.display)),
        ),
        Hashed::Directory => out.push(
            finding(
                Rule::DataFileMissing,
                r,
                &l.file.path.at,
                format!("lists {what} as a file, but {} is a directory", l.display),
            )
            .key(format!("missing:{}", l.display)),
        ),
        Hashed::Error(e) => out.push(
            Finding::new(
                Rule::UnreadableFile,
                &l.display,
                Location::default(),
                format!("cannot read: {e}"),
            )
            .key("read"),
        ),
        Hashed::Pointer(oid) => {
            if let Some(d) = l.file.sha256.as_ref().filter(|d| d.value.valid) {
                if &d.value.hex != oid {
                    out.push(
                        Finding::new(
                            Rule::DataFileMismatch,
                            &l.display,
                            Location::default(),
                            format!(
                                "is a Git LFS pointer to sha256 {}, but {} declares {}",
                                short(oid),
                                listed_at(&d.at),
                                short(&d.value.hex)
                            ),
                        )
                        .key("sha256"),
                    );
                }
            }
        }
        Hashed::Done(got) => {
            if l.from_dir.is_none() {
                let (have_sha, how) = if l.file.sha256_universal {
                    (&got.sha256_universal, " (shasum -U: newlines read as LF)")
                } else {
                    (&got.sha256, "")
                };
                if let (Some(d), Some(have)) = (l.file.sha256.as_ref().filter(|d| d.value.valid), have_sha) {
                    if &d.value.hex != have {
                        out.push(
                            Finding::new(
                                Rule::DataFileMismatch,
                                &l.display,
                                Location::default(),
                                format!(
                                    "sha256{how} is {}, but {} declares {}: the file changed after its checksum was recorded",
                                    short(have),
                                    listed_at(&d.at),
                                    short(&d.value.hex)
                                ),
                            )
                            .evidence(have.clone())
                            .key("sha256"),
                        );
                    }
                }
                if let Some(sz) = &l.file.size {
                    if l.file.kind == FileKind::File && sz.value != got.size {
                        out.push(
                            Finding::new(
                                Rule::DataFileMismatch,
                                &l.display,
                                Location::default(),
                                format!("is {} bytes, but {} declares {}", got.size, listed_at(&sz.at), sz.value),
                            )
                            .key("size"),
                        );
                    }
                }
            }
            if let Some(want) = declared_md5 {
                let have = if normalised { &got.md5_dos2unix } else { &got.md5 };
                if let Some(have) = have {
                    if *have != want {
                        let at = l.file.md5.as_ref().map_or(&l.file.path.at, |d| &d.at);
                        out.push(
                            Finding::new(
                                Rule::DataFileMismatch,
                                &l.display,
                                Location::default(),
                                format!(
                                    "md5{} is {}, but {} declares {} for {what}",
                                    if normalised { " (DVC 2 text normalisation)" } else { "" },
                                    short(have),
                                    listed_at(at),
                                    short(&want)
                                ),
                            )
                            .evidence(have.clone())
                            .key("md5"),
                        );
                    }
                }
            }
        }
    }
}

/// Files next to listed files that nothing lists.
fn untracked(
    records: &[DatasetRecord],
    metadata: &[PathBuf],
    listings: &[Listing],
    rules: &LineageRules,
    out: &mut Vec<Finding>,
) {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let mut known: BTreeSet<PathBuf> = listings.iter().map(|l| canon(&l.path)).collect();
    known.extend(metadata.iter().map(|p| canon(p)));
    known.extend(records.iter().map(|r| canon(&r.metadata_fs)));
    for r in records {
        for f in &r.files {
            if let Some(p) = &f.resolved {
                known.insert(canon(p));
            }
        }
    }
    let mut dirs: BTreeMap<PathBuf, String> = BTreeMap::new();
    for l in listings {
        if l.file.dependency || l.from_dir.is_some() {
            continue;
        }
        if let (Some(d), Some(shown)) = (canon(&l.path).parent(), Path::new(&l.display).parent()) {
            dirs.entry(d.to_path_buf())
                .or_insert_with(|| shown.to_string_lossy().replace('\\', "/"));
        }
    }
    for (dir, shown) in dirs {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        let mut names: Vec<(String, PathBuf)> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect();
        names.sort();
        for (name, path) in names {
            if rules.is_not_data(&name) || known.contains(&canon(&path)) {
                continue;
            }
            let display = if shown.is_empty() {
                name.clone()
            } else {
                format!("{shown}/{name}")
            };
            out.push(
                Finding::new(
                    Rule::UntrackedDataFile,
                    &display,
                    Location::default(),
                    format!(
                        "is in the dataset directory `{}` but no metadata lists it",
                        if shown.is_empty() { "." } else { &shown }
                    ),
                )
                .key("untracked"),
            );
        }
    }
}

/// `--sample-pii`: the PII and secret detectors over the first bytes of each data file of a
/// dataset that declares no personal data.
fn sample(
    records: &[DatasetRecord],
    listings: &[Listing],
    hashed: &HashMap<&PathBuf, &Hashed>,
    detectors: &PromptRules,
    bytes: usize,
    out: &mut Vec<Finding>,
) {
    const PER_FILE: usize = 5;
    let mut done = BTreeSet::new();
    for l in listings {
        let r = l.record;
        let Some(decl) = r.personal_data.contains_pii.as_ref().filter(|d| !d.value) else {
            continue;
        };
        if l.file.dependency || !matches!(hashed.get(&l.path), Some(Hashed::Done(_))) || !done.insert(&l.path) {
            continue;
        }
        let _ = records;
        let mut buf = Vec::new();
        let Ok(f) = std::fs::File::open(&l.path) else { continue };
        use std::io::Read;
        if f.take(bytes as u64).read_to_end(&mut buf).is_err() || !crate::scan::prompts::looks_text(&buf) {
            continue;
        }
        if buf.len() == bytes {
            if let Some(cut) = memchr::memrchr(b'\n', &buf) {
                buf.truncate(cut + 1);
            }
        }
        let text = String::from_utf8_lossy(&buf);
        let mut hits = Vec::new();
        detectors.pii.scan(&text, &mut hits);
        detectors.secrets.scan(&text, &mut hits);
        hits.sort_by_key(|h| (h.start, h.rule));
        let lines = crate::prompts::input::LineIndex::new(&text);
        for h in hits.iter().take(PER_FILE) {
            let (line, column) = lines.position(h.start);
            let said = if r.personal_data.implied {
                "states that it holds no personal data"
            } else {
                "declares `contains_pii: false`"
            };
            out.push(
                Finding::new(
                    Rule::PiiFoundInSample,
                    &l.display,
                    Location {
                        line: Some(line),
                        column: Some(column),
                        ..Location::default()
                    },
                    format!(
                        "{} ({}), although {} (line {}) {said}",
                        h.message,
                        h.rule.id(),
                        r.metadata_path,
                        decl.at.line
                    ),
                )
                .severity(h.severity.max(Severity::High))
                .evidence(h.evidence.clone())
                .key(format!("sample:{}:{}", h.rule.id(), h.key)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some((0, 0)));
        assert_eq!(parse_date("2024-02-29").map(|d| d.0), Some(days(2024, 2, 29)));
        assert!(parse_date("2023-02-29").is_none());
        assert_eq!(parse_date("2023").unwrap().1 - parse_date("2023").unwrap().0, 364);
        assert!(parse_date("2024-01-31T10:00:00Z").is_some());
        assert!(parse_date("31/01/2024").is_none());
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn hosts_match_parsed_not_by_substring() {
        let list = vec![
            "huggingface.co".to_string(),
            "s3://corp-data".into(),
            "warehouse".into(),
        ];
        assert!(source_approved("https://huggingface.co/datasets/x", &list));
        assert!(source_approved("https://cdn-lfs.huggingface.co/x", &list));
        assert!(!source_approved("https://evil.example/?huggingface.co", &list));
        assert!(!source_approved("https://huggingface.co.evil.example/x", &list));
        assert!(!source_approved("https://nothuggingface.co/x", &list));
        assert!(!source_approved("https://huggingface.co@evil.example/x", &list));
        assert!(source_approved("s3://corp-data/exports/a.csv", &list));
        assert!(!source_approved("https://corp-data/x", &list));
        assert!(source_approved("warehouse:sales.orders", &list));
        assert!(!source_approved("warehouse2:sales", &list));
    }

    #[test]
    fn urls_are_masked() {
        assert_eq!(
            mask_url("https://u:pw@h.example/x?token=abc&page=2"),
            "https://u:****@h.example/x?token=****&page=2"
        );
    }
}
