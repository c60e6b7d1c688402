//! `scan-prompts` per file: read the text (bounded), cut it into segments by format, run every
//! detector, turn hits into findings at lines, columns, records and key paths, and, when
//! asked, write a redacted copy.

use super::FileOutcome;
use crate::finding::{Finding, Location, Severity};
use crate::prompts::input::{self, Cut, Kind, LineIndex, Origin, Segment};
use crate::prompts::redact::{self, Edit, Mode, Redactor};
use crate::prompts::{Hit, PromptRules};
use crate::report::{Artifact, Verdict};
use crate::rules::Rule;
use crate::walk::Target;
use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

/// Size limits of one file.
#[derive(Debug, Clone, Copy)]
pub struct PromptLimits {
    /// Files up to this size are parsed whole (JSON, YAML, CSV, HTML structure).
    pub max_document: usize,
    /// Larger files are scanned in chunks of about this size, cut at line ends.
    pub chunk: usize,
}

impl Default for PromptLimits {
    fn default() -> Self {
        PromptLimits {
            max_document: 64 << 20,
            chunk: 8 << 20,
        }
    }
}

/// Findings of one rule listed per file; the rest are counted in one `GEN002` note, so a
/// dataset of a million e-mail addresses costs a bounded report.
const MAX_PER_RULE: usize = 1000;

/// Where redacted copies go.
#[derive(Debug, Clone)]
pub struct RedactPlan {
    pub mode: Mode,
    /// Directory for copies (the file's display path below it); `None` with `in_place`.
    pub out_dir: Option<PathBuf>,
    pub in_place: bool,
}

pub struct PromptScanner<'a> {
    pub rules: &'a PromptRules,
    pub limits: PromptLimits,
    pub redact: Option<RedactPlan>,
}

/// Read a prompt file's bytes as text: UTF-8 (with or without BOM) or UTF-16 with a BOM.
/// Invalid UTF-8 is replaced, and said so, rather than refused.
fn decode(bytes: Vec<u8>) -> (String, Option<String>) {
    if let Some(rest) = bytes
        .strip_prefix(b"\xff\xfe")
        .or_else(|| bytes.strip_prefix(b"\xfe\xff"))
    {
        let le = bytes[0] == 0xff;
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        return (
            String::from_utf16_lossy(&units),
            Some("UTF-16 text: positions are of the text decoded to UTF-8".into()),
        );
    }
    match String::from_utf8(bytes) {
        Ok(s) => (s, None),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let s = String::from_utf8_lossy(e.as_bytes()).into_owned();
            (
                s,
                Some(format!(
                    "not valid UTF-8 from byte {at}: invalid bytes were replaced with U+FFFD before scanning"
                )),
            )
        }
    }
}

/// Whether bytes look like text rather than a binary file (no NUL in the first 8 KiB).
pub fn looks_text(head: &[u8]) -> bool {
    head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff") || !head[..head.len().min(8192)].contains(&0)
}

/// Where in the file a chunk starts.
#[derive(Debug, Clone, Copy, Default)]
struct Base {
    byte: u64,
    line: u32,
    record: u64,
}

impl PromptScanner<'_> {
    /// Scan one file of a known format.
    pub fn scan(&self, t: &Target, kind: Kind) -> FileOutcome {
        let path = t.display.as_str();
        let file = match std::fs::File::open(&t.path) {
            Ok(f) => f,
            Err(e) => return unreadable(path, kind, &e),
        };
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.scan_reader(Box::new(file), path, kind, size, Some(t))
    }

    /// Scan text from any reader (a file, standard input).
    pub fn scan_reader(
        &self,
        mut reader: Box<dyn Read + '_>,
        path: &str,
        kind: Kind,
        size: u64,
        target: Option<&Target>,
    ) -> FileOutcome {
        // The bytes after the last line end of a chunk, which start the next one.
        let mut carry: Vec<u8> = Vec::new();
        let mut findings = Vec::new();
        let mut redacted: Vec<String> = Vec::new();
        let mut redactor = self.redact.as_ref().map(|p| Redactor::new(p.mode));
        let mut base = Base {
            line: 1,
            ..Base::default()
        };
        let mut total = 0u64;
        let mut first = true;
        let mut chunked = false;
        let mut redact_blocked = None;
        let mut per_rule: HashMap<Rule, usize> = HashMap::new();
        let mut inline = Vec::new();
        loop {
            // Whole documents up to the limit; past it, chunks cut at line ends.
            let want = if first {
                self.limits.max_document + 1
            } else {
                self.limits.chunk.max(carry.len() + 1)
            };
            let mut bytes = std::mem::take(&mut carry);
            let more = (want - bytes.len()) as u64;
            if let Err(e) = (&mut reader).take(more).read_to_end(&mut bytes) {
                if first {
                    return unreadable(path, kind, &e);
                }
                findings.push(
                    Finding::new(
                        Rule::UnreadableFile,
                        path,
                        Location::default(),
                        format!("read failed after {total} bytes: {e}"),
                    )
                    .key("read"),
                );
                break;
            }
            if first && bytes.len() > self.limits.max_document {
                chunked = true;
            }
            if bytes.is_empty() {
                break;
            }
            let eof = bytes.len() < want;
            if first && !looks_text(&bytes) {
                return FileOutcome {
                    artifact: Artifact {
                        path: path.to_string(),
                        format: "not-text".into(),
                        size,
                        verdict: Verdict::NotText,
                        sha256: None,
                    },
                    findings,
                    inline: Vec::new(),
                };
            }
            if chunked && !eof {
                // Cut at the last line end; the rest starts the next chunk.
                let cut_at = bytes.iter().rposition(|&b| b == b'\n').map_or(bytes.len(), |p| p + 1);
                carry = bytes.split_off(cut_at);
            }
            total += bytes.len() as u64;
            let (text, problem) = decode(bytes);
            if let Some(p) = problem {
                redact_blocked.get_or_insert_with(|| p.clone());
                findings.push(
                    Finding::new(Rule::UnparsableInput, path, Location::default(), p)
                        .severity(Severity::Low)
                        .key("encoding"),
                );
            }
            // A structured document cut into chunks is no longer that structure: plain text.
            let chunk_kind = if chunked && !streams(kind) { Kind::Text } else { kind };
            // JSON and JSONL have no comments: only configuration ignores apply to them.
            if !matches!(kind, Kind::Json | Kind::Jsonl) {
                inline.extend(super::suppress::inline_ignores(&text, base.line));
            }
            let (f, edits, next) = self.scan_document(chunk_kind, &text, path, base, redactor.as_mut());
            for finding in f {
                let n = per_rule.entry(finding.rule).or_insert(0usize);
                *n += 1;
                if *n <= MAX_PER_RULE {
                    findings.push(finding);
                }
            }
            if redactor.is_some() {
                redacted.push(redact::apply(&text, edits));
            }
            base = next;
            first = false;
            if !chunked || eof {
                break;
            }
        }
        if chunked {
            let why = if streams(kind) {
                format!(
                    "larger than {} MiB: scanned in chunks of {} MiB cut at line ends",
                    self.limits.max_document >> 20,
                    self.limits.chunk >> 20
                )
            } else {
                format!(
                    "larger than {} MiB: its {} structure was not parsed; scanned as plain text in chunks",
                    self.limits.max_document >> 20,
                    kind.as_str()
                )
            };
            let sev = if streams(kind) {
                Severity::Info
            } else {
                Severity::Medium
            };
            findings.push(
                Finding::new(Rule::ResourceLimit, path, Location::default(), why)
                    .severity(sev)
                    .key("document-size"),
            );
        }
        let mut over: Vec<(Rule, usize)> = per_rule.into_iter().filter(|(_, n)| *n > MAX_PER_RULE).collect();
        over.sort();
        for (rule, n) in over {
            findings.push(
                Finding::new(
                    Rule::ResourceLimit,
                    path,
                    Location::default(),
                    format!(
                        "{} more {} findings in this file are not listed (the first {MAX_PER_RULE} are); redaction covers them all",
                        n - MAX_PER_RULE,
                        rule.id()
                    ),
                )
                .severity(Severity::Info)
                .key(format!("cap:{}", rule.id())),
            );
        }
        if let (Some(plan), Some(_)) = (&self.redact, &redactor) {
            if let Some(f) = self.write_redacted(plan, path, target, &redacted, redact_blocked) {
                findings.push(f);
            }
        }
        let verdict = Verdict::from_findings(&findings, true, false);
        FileOutcome {
            artifact: Artifact {
                path: path.to_string(),
                format: kind.as_str().into(),
                size: size.max(total),
                verdict,
                sha256: None,
            },
            findings,
            inline,
        }
    }

    /// Write the redacted copy; a finding when that was refused or failed.
    fn write_redacted(
        &self,
        plan: &RedactPlan,
        path: &str,
        target: Option<&Target>,
        parts: &[String],
        blocked: Option<String>,
    ) -> Option<Finding> {
        let fail =
            |why: String| Some(Finding::new(Rule::RedactionFailed, path, Location::default(), why).key("redact"));
        if let Some(why) = blocked {
            return fail(format!("no redacted copy written: {why}"));
        }
        let dest = match (&plan.out_dir, target) {
            (Some(dir), _) => dir.join(sanitize_rel(path)),
            (None, Some(t)) if plan.in_place => t.path.clone(),
            _ => return fail("no redacted copy written: standard input needs --redact-out DIR".into()),
        };
        if let (Some(t), false) = (target, plan.in_place) {
            let same = dest
                .canonicalize()
                .ok()
                .zip(t.path.canonicalize().ok())
                .is_some_and(|(a, b)| a == b);
            if same {
                return fail(format!(
                    "no redacted copy written: {} is the file itself (use --in-place to overwrite it)",
                    dest.display()
                ));
            }
        }
        let write = || -> std::io::Result<()> {
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Write beside the destination, then rename, so a failure never leaves half a file.
            let tmp = dest.with_file_name(format!(
                ".{}.llmguard-tmp",
                dest.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            let mut f = std::fs::File::create(&tmp)?;
            for p in parts {
                std::io::Write::write_all(&mut f, p.as_bytes())?;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &dest)
        };
        write()
            .err()
            .and_then(|e| fail(format!("cannot write the redacted copy {}: {e}", dest.display())))
    }

    /// Scan one whole document (or chunk): findings, redaction edits, and where the next
    /// chunk starts.
    fn scan_document(
        &self,
        kind: Kind,
        doc: &str,
        path: &str,
        base: Base,
        mut redactor: Option<&mut Redactor>,
    ) -> (Vec<Finding>, Vec<Edit>, Base) {
        let cut = input::cut(kind, doc);
        let lines = LineIndex::new(doc);
        let mut findings = Vec::new();
        let mut occurrences: HashMap<(Rule, String), usize> = HashMap::new();
        let record_base = base.record;
        let locate = |offset: usize, end: usize, seg: Option<&Segment>| -> Location {
            let (line, column) = lines.position(offset);
            let (end_line, end_column) = lines.position(end);
            let record = seg
                .and_then(|s| s.record)
                .or_else(|| cut.csv_record(offset))
                .map(|r| r + record_base);
            let key_path = seg
                .and_then(|s| s.key_path.clone())
                .or_else(|| cut.yaml_path(offset).map(str::to_string))
                .or_else(|| csv_column(&cut, doc, offset));
            Location {
                line: Some(line.saturating_add(base.line - 1)),
                column: Some(column),
                end_line: Some(end_line.saturating_add(base.line - 1)),
                end_column: Some(end_column),
                record,
                key_path,
                ..Location::default()
            }
        };
        for p in &cut.problems {
            findings.push(
                Finding::new(
                    Rule::UnparsableInput,
                    path,
                    Location {
                        record: p.record.map(|r| r + record_base),
                        ..locate(p.offset, p.offset, None)
                    },
                    format!("{}; scanned as plain text instead", p.message),
                )
                .key(format!("parse:{}", p.record.unwrap_or(0))),
            );
        }
        // Hits of every segment, with file offsets. Hidden HTML regions are judged from the
        // hits of the raw text that fall inside them, not scanned twice.
        let mut raw_hits: Vec<(usize, Hit, usize, usize)> = Vec::new();
        // Short strings repeat in structured data (`"role": "assistant"`, enum values, keys'
        // values): scan each once per document.
        let mut short: HashMap<&str, Vec<Hit>> = HashMap::new();
        for (si, seg) in cut.segments.iter().enumerate() {
            if seg.hidden.is_some() {
                continue;
            }
            // Control tokens are a chat template's own job: not an injection there.
            let template = kind == Kind::Template
                || seg
                    .key_path
                    .as_deref()
                    .is_some_and(|k| k.rsplit('/').next().is_some_and(|l| l.contains("template")));
            let hits = if seg.text.len() <= SHORT_SEGMENT {
                short
                    .entry(&seg.text)
                    .or_insert_with(|| self.rules.scan_text(&seg.text))
                    .clone()
            } else {
                self.rules.scan_text(&seg.text)
            };
            for h in hits {
                if template && h.rule == Rule::PromptRoleTokenInjection {
                    continue;
                }
                let start = cut.file_offset(seg, h.start);
                let end = match seg.origin {
                    Origin::YamlScalar { ref token } => token.end,
                    _ => cut.file_offset(seg, h.end).max(start),
                };
                raw_hits.push((si, h, start, end));
            }
        }
        // A decoded YAML scalar finds what the raw text already found: keep one.
        let dup = |(si, h, s, e): &(usize, Hit, usize, usize)| {
            matches!(cut.segments[*si].origin, Origin::YamlScalar { .. })
                && raw_hits.iter().any(|(sj, g, gs, _)| {
                    matches!(cut.segments[*sj].origin, Origin::Raw { .. }) && g.rule == h.rule && gs >= s && gs < e
                })
        };
        let keep: Vec<bool> = raw_hits.iter().map(|x| !dup(x)).collect();
        let mut edits = Vec::new();
        // Redactions that rewrite a whole token (a JSON string, a YAML scalar) rather than a span.
        let mut whole: HashMap<Whole, Vec<(std::ops::Range<usize>, String)>> = HashMap::new();
        for ((si, h, start, end), keep) in raw_hits.iter().zip(&keep) {
            if !keep {
                continue;
            }
            let seg = &cut.segments[*si];
            let n = occurrences.entry((h.rule, h.key.clone())).or_default();
            *n += 1;
            let key = if *n == 1 {
                h.key.clone()
            } else {
                format!("{}#{n}", h.key)
            };
            findings.push(
                Finding::new(h.rule, path, locate(*start, *end, Some(seg)), h.message.clone())
                    .severity(h.severity)
                    .evidence(h.evidence.clone())
                    .key(key),
            );
            let (Some(r), Some(placeholder)) = (redactor.as_deref_mut(), h.redact) else {
                continue;
            };
            let value = &seg.text[h.start..h.end];
            let mut text = r.replacement(placeholder, value);
            match &seg.origin {
                Origin::Json(_) | Origin::YamlScalar { .. } => {
                    whole
                        .entry(Whole::Segment(*si))
                        .or_default()
                        .push((h.start..h.end, text));
                }
                Origin::Raw { .. } => {
                    if kind == Kind::Html {
                        text = text.replace('<', "&lt;").replace('>', "&gt;");
                    }
                    match cut.yaml_scalar(*start).filter(|s| s.plain) {
                        // A plain YAML scalar may not start with `*` or hold `: `; quote it whole.
                        Some(s) => {
                            let rel = start - s.range.start..end - s.range.start;
                            whole
                                .entry(Whole::PlainScalar(s.range.start))
                                .or_default()
                                .push((rel, text));
                        }
                        None => edits.push(Edit {
                            range: *start..*end,
                            text,
                        }),
                    }
                }
            }
        }
        for (w, spans) in whole {
            let (range, value) = match w {
                Whole::Segment(si) => {
                    let seg = &cut.segments[si];
                    let range = match &seg.origin {
                        Origin::Json(i) => cut.json[*i].token.0..cut.json[*i].token.1,
                        Origin::YamlScalar { token } => token.clone(),
                        Origin::Raw { .. } => continue,
                    };
                    (range, seg.text.to_string())
                }
                Whole::PlainScalar(start) => {
                    let Some(s) = cut.yaml_scalar(start) else { continue };
                    (s.range.clone(), doc[s.range.clone()].to_string())
                }
            };
            // Re-encoded as a JSON string, which is also a valid YAML double-quoted scalar.
            let new = redact::apply_spans(&value, &spans);
            edits.push(Edit {
                range,
                text: serde_json::to_string(&new).unwrap_or_default(),
            });
        }
        findings.extend(self.hidden_html(&cut, doc, path, &raw_hits, &locate));
        let lines_here = u32::try_from(memchr::memchr_iter(b'\n', doc.as_bytes()).count()).unwrap_or(u32::MAX);
        let records_here = cut.segments.iter().filter_map(|s| s.record).max().unwrap_or(0);
        let next = Base {
            byte: base.byte + doc.len() as u64,
            line: base.line.saturating_add(lines_here),
            record: base.record + records_here,
        };
        (findings, edits, next)
    }

    /// PRM206 for HTML text hidden from readers: high when it holds an injection or hidden
    /// text, low when it is only hidden prose (comments alone are not reported).
    fn hidden_html(
        &self,
        cut: &Cut,
        doc: &str,
        path: &str,
        hits: &[(usize, Hit, usize, usize)],
        locate: &dyn Fn(usize, usize, Option<&Segment>) -> Location,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        if cut.segments.iter().all(|s| s.hidden.is_none()) {
            return out;
        }
        // Injection and hidden-text hits by position, to look each region up in log time.
        let mut marked: Vec<(usize, &Hit)> = hits
            .iter()
            .filter(|(_, h, ..)| h.rule.id().starts_with("PRM1") || h.rule.id().starts_with("PRM2"))
            .map(|(_, h, s, _)| (*s, h))
            .collect();
        marked.sort_by_key(|(s, _)| *s);
        for seg in cut.segments.iter().filter(|s| s.hidden.is_some()) {
            let Origin::Raw { base } = seg.origin else { continue };
            let range = base..base + seg.text.len();
            let why = seg.hidden.unwrap_or("hidden");
            let from = marked.partition_point(|(s, _)| *s < range.start);
            let to = marked.partition_point(|(s, _)| *s < range.end);
            let inside: Vec<&Hit> = marked[from..to].iter().map(|(_, h)| *h).collect();
            let letters = seg.text.chars().filter(|c| c.is_alphabetic()).count();
            let visible_text = strip_tags(&doc[range.clone()]);
            let (severity, message) = if !inside.is_empty() {
                let mut ids: Vec<&str> = inside.iter().map(|h| h.rule.id()).collect();
                ids.sort_unstable();
                ids.dedup();
                (
                    Severity::High,
                    format!("text hidden from readers by {why} holds {}", ids.join(", ")),
                )
            } else if !crate::prompts::html::WEAK.contains(&why) && letters >= 20 {
                (Severity::Low, format!("{letters} letters of text are hidden from readers by {why}, but a model reading the page sees them"))
            } else {
                continue;
            };
            out.push(
                Finding::new(
                    Rule::HiddenHtmlContent,
                    path,
                    locate(range.start, range.end, None),
                    message,
                )
                .severity(severity)
                .evidence(crate::finding::truncate(visible_text.trim(), 80))
                .key(format!("html:{why}:{}", short_hash(&seg.text))),
            );
        }
        out
    }
}

/// Formats that stay themselves when cut at line ends (so large files keep their records).
/// Segments up to this many bytes are scanned once per distinct text in a document.
const SHORT_SEGMENT: usize = 64;

fn streams(kind: Kind) -> bool {
    matches!(kind, Kind::Jsonl | Kind::Text | Kind::Markdown | Kind::Template)
}

/// A token that a redaction rewrites whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Whole {
    /// A decoded segment: a JSON string, or an escaped YAML scalar.
    Segment(usize),
    /// A plain YAML scalar (by start offset) that must be quoted once rewritten.
    PlainScalar(usize),
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn short_hash(s: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(s.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The CSV column name of an offset, when the file has a header row.
fn csv_column(cut: &Cut, doc: &str, offset: usize) -> Option<String> {
    if cut.csv_header.is_empty() {
        return None;
    }
    let rec = cut.csv_record(offset)?;
    let start = cut.csv_records.iter().find(|(_, n)| *n == rec)?.0;
    // Count separators outside quotes between the record start and the offset.
    let sep = if doc.contains('\t') && !doc[..doc.len().min(4096)].contains(',') {
        '\t'
    } else {
        ','
    };
    let mut quoted = false;
    let mut col = 0usize;
    for c in doc.get(start..offset)?.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => col += 1,
            _ => {}
        }
    }
    let name = cut.csv_header.get(col)?;
    Some(format!("/{}", name.replace('~', "~0").replace('/', "~1")))
}

fn unreadable(path: &str, kind: Kind, e: &std::io::Error) -> FileOutcome {
    FileOutcome {
        artifact: Artifact {
            path: path.to_string(),
            format: kind.as_str().into(),
            size: 0,
            verdict: Verdict::Error,
            sha256: None,
        },
        findings: vec![Finding::new(
            Rule::UnreadableFile,
            path,
            Location::default(),
            format!("cannot read: {e}"),
        )
        .key("open")],
        inline: Vec::new(),
    }
}

/// A display path made safe to join below an output directory: no root, no `..`.
fn sanitize_rel(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in std::path::Path::new(path).components() {
        if let std::path::Component::Normal(p) = part {
            out.push(p);
        }
    }
    if out.as_os_str().is_empty() {
        out.push("stdin");
    }
    out
}
