//! Severity overrides and suppressions, applied in one place for every subcommand: rules the
//! configuration disables, its `[[ignore]]` entries (optionally pinned to a file's sha256),
//! inline `llmguard: ignore[RULE, …] reason` comments in files the configuration trusts, and
//! the `--baseline` report. A suppressed finding stays in the report, marked; only unsuppressed
//! findings decide the exit code. Suppressions that silence nothing are findings themselves.

use crate::config::Config;
use crate::finding::{Finding, Location, Suppression, SuppressionKind};
use crate::rules::Rule;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::OnceLock;

/// One `llmguard: ignore[...]` comment found in a text file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineIgnore {
    /// 1-based line of the comment; it covers its own line and the next one.
    pub line: u32,
    pub rules: Vec<Rule>,
    /// Listed ids that are not rules (reported, never matched).
    pub unknown: Vec<String>,
    pub reason: String,
}

fn directive() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // Case-insensitive and lenient about spacing on purpose: the same pattern finds comments
    // planted in untrusted files, where a variant spelling must not slip past.
    RE.get_or_init(|| {
        Regex::new(r"(?i)llmguard[ \t]*:[ \t]*ignore(?:[ \t]*\[([^\]\n]*)\])?[ \t]*([^\n]*)").unwrap_or_else(|e| {
            // A constant pattern; a test compiles it.
            panic!("inline ignore pattern: {e}")
        })
    })
}

/// Every inline ignore comment in `text`, whose first line is `first_line`.
pub fn inline_ignores(text: &str, first_line: u32) -> Vec<InlineIgnore> {
    let mut out = Vec::new();
    let (mut line, mut counted) = (first_line, 0usize);
    for c in directive().captures_iter(text) {
        let Some(whole) = c.get(0) else { continue };
        line = line.saturating_add(
            u32::try_from(memchr::memchr_iter(b'\n', &text.as_bytes()[counted..whole.start()]).count())
                .unwrap_or(u32::MAX),
        );
        counted = whole.start();
        let (mut rules, mut unknown) = (Vec::new(), Vec::new());
        for id in c
            .get(1)
            .map_or("", |m| m.as_str())
            .split([',', ' ', '\t'])
            .filter(|s| !s.is_empty())
        {
            match Rule::find(id) {
                Some(r) => rules.push(r),
                None => unknown.push(id.to_string()),
            }
        }
        let reason = c.get(2).map_or("", |m| m.as_str());
        let reason = reason
            .trim()
            .trim_end_matches("-->")
            .trim_end_matches("#}")
            .trim_end_matches("*/")
            .trim();
        out.push(InlineIgnore {
            line,
            rules,
            unknown,
            reason: reason.to_string(),
        });
    }
    out
}

/// Fingerprints of a previous JSON report (`--baseline`).
#[derive(Debug, Default)]
pub struct Baseline {
    pub source: String,
    fingerprints: BTreeSet<String>,
}

impl Baseline {
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--baseline {shown}: {e}"))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("--baseline {shown}: not JSON: {e}"))?;
        if v["tool"]["name"] != "llmguard" || !v["schema_version"].is_string() {
            anyhow::bail!("--baseline {shown}: not an llmguard JSON report (`--format json`)");
        }
        let findings = v["findings"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("--baseline {shown}: no `findings` list"))?;
        let mut fingerprints = BTreeSet::new();
        for (i, f) in findings.iter().enumerate() {
            let fp = f["fingerprint"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("--baseline {shown}: finding {i} has no `fingerprint`"))?;
            fingerprints.insert(fp.to_string());
        }
        Ok(Baseline {
            source: shown,
            fingerprints,
        })
    }
}

/// What `apply` needs besides the findings.
pub struct Context<'a> {
    pub config: &'a Config,
    pub baseline: Option<&'a Baseline>,
    /// Inline comments per reported path (only text formats that have comments report any).
    pub inline: &'a BTreeMap<String, Vec<InlineIgnore>>,
    /// Each reported path relative to the scan root (`/` separators), for config globs.
    pub relative: &'a dyn Fn(&str) -> String,
    /// Rule families this subcommand reports (`MOD`, `PRM`…); configuration entries for
    /// other families are not reported as unused by it. `GEN` always belongs.
    pub family: &'a str,
}

fn sha256_of(path: &str) -> Option<String> {
    crate::digest::sha256_file(std::path::Path::new(path))
        .ok()
        .map(|d| d.sha256)
}

/// Re-level, suppress and add suppression findings; the one place this happens.
pub fn apply(findings: &mut Vec<Finding>, cx: &Context<'_>) {
    let config = cx.config;
    let cfg_path = config
        .source
        .clone()
        .unwrap_or_else(|| crate::config::FILE_NAME.to_string());
    let mut extra = Vec::new();
    // Inline comments: only in trusted files, only with rule ids.
    let mut trusted: HashMap<&str, Vec<(&InlineIgnore, bool)>> = HashMap::new();
    for (path, list) in cx.inline {
        let rel = (cx.relative)(path);
        let trust = config.trusts_inline(&rel);
        for d in list {
            let at = Location {
                line: Some(d.line),
                ..Location::default()
            };
            if !trust {
                extra.push(
                    Finding::new(
                        Rule::UntrustedInlineIgnore,
                        path,
                        at,
                        format!("an `llmguard: ignore` comment in `{rel}`, which `inline_ignores` does not trust: it suppresses nothing"),
                    )
                    .key(format!("untrusted:{}", d.line)),
                );
            } else if d.rules.is_empty() {
                let why = if d.unknown.is_empty() {
                    "names no rule".to_string()
                } else {
                    format!("names no known rule ({})", d.unknown.join(", "))
                };
                extra.push(
                    Finding::new(
                        Rule::BlanketInlineIgnore,
                        path,
                        at,
                        format!("`llmguard: ignore` {why}: it suppresses nothing"),
                    )
                    .key(format!("blanket:{}", d.line)),
                );
            } else {
                trusted.entry(path.as_str()).or_default().push((d, false));
            }
        }
    }
    findings.extend(extra);

    let mut ignore_used = vec![false; config.ignores.len()];
    // Per lapsed `[[ignore]]`: the message naming a file it no longer matches; the smallest,
    // so the choice depends neither on scan order nor on how a run was sharded (`merge` takes
    // the smallest too, see `join_run_level`).
    let mut lapsed: BTreeMap<usize, String> = BTreeMap::new();
    let mut disabled_used = BTreeSet::new();
    let mut digests: HashMap<String, Option<String>> = HashMap::new();
    for f in findings.iter_mut() {
        if let Some(s) = config.severity.get(&f.rule) {
            f.severity = *s;
        }
        let mut why: Option<Suppression> = None;
        let mut first = |kind: SuppressionKind, reason: String| {
            why.get_or_insert(Suppression { kind, reason });
        };
        if config.disabled.contains_key(&f.rule) {
            disabled_used.insert(f.rule);
            first(
                SuppressionKind::Config,
                format!("rule {} is disabled in {cfg_path}", f.rule.id()),
            );
        }
        let rel = (cx.relative)(&f.path);
        for (i, ig) in config.ignores.iter().enumerate() {
            if ig.rule != f.rule || !ig.matches_path(&rel) {
                continue;
            }
            if let Some(want) = &ig.sha256 {
                let got = digests.entry(f.path.clone()).or_insert_with(|| sha256_of(&f.path));
                if got.as_deref() != Some(want.as_str()) {
                    let now = got.as_deref().unwrap_or("unreadable");
                    let message = format!(
                        "[[ignore]] {} for `{}` lapsed: `{}` changed (its sha256 is now {now}), so its findings are reported again",
                        ig.rule.id(),
                        ig.pattern,
                        f.path
                    );
                    match lapsed.get(&i) {
                        Some(have) if *have <= message => {}
                        _ => {
                            lapsed.insert(i, message);
                        }
                    }
                    continue;
                }
            }
            ignore_used[i] = true;
            first(
                SuppressionKind::Config,
                format!("{} (llmguard.toml line {})", ig.reason, ig.line),
            );
        }
        if let (Some(list), Some(line)) = (trusted.get_mut(f.path.as_str()), f.location.line) {
            for (d, used) in list.iter_mut() {
                if (line == d.line || line == d.line.saturating_add(1)) && d.rules.contains(&f.rule) {
                    *used = true;
                    let reason = if d.reason.is_empty() {
                        "inline ignore".to_string()
                    } else {
                        d.reason.clone()
                    };
                    first(SuppressionKind::Inline, format!("{reason} (line {})", d.line));
                }
            }
        }
        if let Some(b) = cx.baseline {
            if b.fingerprints.contains(&f.fingerprint()) {
                first(SuppressionKind::Baseline, format!("in baseline {}", b.source));
            }
        }
        f.suppression = why;
    }

    // Suppressions that silenced nothing.
    let mut unused = Vec::new();
    let at_line = |line: u32| Location {
        line: Some(line),
        ..Location::default()
    };
    let ours = |r: Rule| r.id().starts_with(cx.family) || r.id().starts_with("GEN");
    for (rule, line) in &config.disabled {
        if !disabled_used.contains(rule) && ours(*rule) {
            unused.push(
                Finding::new(
                    Rule::UnusedSuppression,
                    &cfg_path,
                    at_line(*line),
                    format!("rule {} is disabled but reported nothing in this run", rule.id()),
                )
                .key(format!("disable:{}", rule.id())),
            );
        }
    }
    for (i, ig) in config.ignores.iter().enumerate() {
        if ignore_used[i] || !ours(ig.rule) {
            continue;
        }
        let message = match lapsed.remove(&i) {
            Some(message) => message,
            None => format!("[[ignore]] {} for `{}` matched no finding", ig.rule.id(), ig.pattern),
        };
        unused.push(
            Finding::new(Rule::UnusedSuppression, &cfg_path, at_line(ig.line), message).key(format!(
                "ignore:{}:{}",
                ig.rule.id(),
                ig.pattern
            )),
        );
    }
    for (path, list) in &trusted {
        for (d, used) in list {
            if !used {
                let ids: Vec<&str> = d.rules.iter().map(|r| r.id()).collect();
                unused.push(
                    Finding::new(
                        Rule::UnusedSuppression,
                        path,
                        at_line(d.line),
                        format!(
                            "inline ignore[{}] silences nothing on this or the next line",
                            ids.join(", ")
                        ),
                    )
                    .key(format!("inline:{}", d.line)),
                );
            }
        }
    }
    for f in &mut unused {
        if let Some(s) = config.severity.get(&f.rule) {
            f.severity = *s;
        }
        if config.disabled.contains_key(&f.rule) {
            f.suppression = Some(Suppression {
                kind: SuppressionKind::Config,
                reason: format!("rule {} is disabled in {cfg_path}", f.rule.id()),
            });
        }
    }
    findings.extend(unused);
}

/// Whether `f` is about the configuration as a whole rather than about scanned files: an
/// `[[ignore]]` entry or a disabled rule that silenced nothing. One shard of a `--shard` run
/// cannot know that (another shard may have used it): each reports what it saw, and `merge`
/// joins these findings with `join_run_level`.
pub fn spans_run(f: &Finding) -> bool {
    f.rule == Rule::UnusedSuppression && (f.key.starts_with("disable:") || f.key.starts_with("ignore:"))
}

/// The unsharded verdict on one configuration entry from what each of `shards` shards said
/// about it (`reports`: the same entry's finding from each shard that reported it): unused
/// only if no shard used it, i.e. every shard reported it; then the smallest message, as
/// `apply` picks it, which names a lapsed approval's file whenever any shard saw one.
pub fn join_run_level(reports: Vec<Finding>, shards: usize) -> Option<Finding> {
    if reports.len() < shards {
        return None;
    }
    reports.into_iter().min_by(|a, b| a.message.cmp(&b.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directives_with_lines_rules_and_reasons() {
        let text = "a\n# llmguard: ignore[PRM101, prompt-jailbreak-persona] quoted example\nb\n<!-- LLMGUARD:ignore --> \n{# llmguard: ignore[NOPE] x #}\n";
        let d = inline_ignores(text, 10);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0].line, 11);
        assert_eq!(d[0].rules[0], Rule::find("PRM101").unwrap());
        assert_eq!(d[0].reason, "quoted example");
        assert_eq!((d[1].line, d[1].rules.len()), (13, 0));
        assert_eq!(d[1].reason, "");
        assert_eq!((d[2].line, d[2].unknown.clone()), (14, vec!["NOPE".to_string()]));
        assert_eq!(d[2].reason, "x");
        assert!(inline_ignores("llmguard is great; ignore it\n", 1).is_empty());
    }

    /// What a shard reports about the configuration: `apply` over only its `findings`.
    fn unused_in(config: &Config, findings: Vec<Finding>) -> Vec<Finding> {
        let mut findings = findings;
        apply(
            &mut findings,
            &Context {
                config,
                baseline: None,
                inline: &BTreeMap::new(),
                relative: &|p: &str| p.to_string(),
                family: "MOD",
            },
        );
        findings.into_iter().filter(spans_run).collect()
    }

    #[test]
    fn shards_join_to_the_unsharded_verdict_on_configuration() {
        let zeros = "0".repeat(64);
        let config = Config::parse(
            &format!(
                "[rules]\ndisable = [\"MOD109\"]\n\n[[ignore]]\nrule = \"MOD101\"\npath = \"*.pkl\"\nsha256 = \"{zeros}\"\nreason = \"r\"\n\n[[ignore]]\nrule = \"MOD102\"\npath = \"used.pkl\"\nreason = \"r\"\n"
            ),
            "llmguard.toml",
        )
        .unwrap();
        let hit =
            |rule: &str, path: &str| Finding::new(Rule::find(rule).unwrap(), path, Location::default(), "m").key("k");
        // Shard A lapses the approval on b.pkl, shard B on nothing (no finding), shard C on
        // a.pkl and uses the MOD102 entry. One unsharded run sees all of it.
        let shards = [
            unused_in(&config, vec![hit("MOD101", "zz/b.pkl")]),
            unused_in(&config, vec![]),
            unused_in(&config, vec![hit("MOD101", "a.pkl"), hit("MOD102", "used.pkl")]),
        ];
        let whole = unused_in(
            &config,
            vec![
                hit("MOD101", "zz/b.pkl"),
                hit("MOD101", "a.pkl"),
                hit("MOD102", "used.pkl"),
            ],
        );
        let mut groups: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
        for f in shards.into_iter().flatten() {
            groups.entry(f.key.clone()).or_default().push(f);
        }
        let joined: Vec<Finding> = groups.into_values().filter_map(|g| join_run_level(g, 3)).collect();
        let mut whole_sorted = whole.clone();
        whole_sorted.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(joined, whole_sorted);
        // The lapse wins over "matched no finding", and names the same file as the whole run.
        let lapse = joined.iter().find(|f| f.key.starts_with("ignore:MOD101")).unwrap();
        assert!(lapse.message.contains("lapsed: `a.pkl` changed"), "{}", lapse.message);
        assert!(joined.iter().any(|f| f.key == "disable:MOD109"));
        assert!(!joined.iter().any(|f| f.key.starts_with("ignore:MOD102")));
    }
}
