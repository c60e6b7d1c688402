//! Prompt material as text segments: which file formats `scan-prompts` reads, how each is cut
//! into the strings a model would see, and how an offset in a segment maps back to a line,
//! column, record and key path of the file.
//!
//! Plain text, Markdown, templates, YAML, CSV and HTML are scanned as the raw text of the file,
//! so positions and redaction spans are exact; YAML scalars and CSV records only add key
//! paths and record numbers (and escaped YAML strings are also scanned decoded). JSON and
//! JSONL are scanned string by string, decoded, because escapes (`\n`, `\u0069`) are how
//! chat datasets store text and how obfuscation hides in it.

use super::json_text::{self, JsonString};
use std::ops::Range;

/// A text format `scan-prompts` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Text,
    Markdown,
    Template,
    Yaml,
    Json,
    Jsonl,
    Csv,
    Html,
}

impl Kind {
    /// The format a file name says; `None` for names `scan-prompts` does not read when
    /// walking a directory.
    pub fn from_name(name: &str) -> Option<Kind> {
        let lower = name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
        Some(match ext {
            "txt" | "text" | "prompt" | "prompts" => Kind::Text,
            "md" | "markdown" | "mdx" | "rst" => Kind::Markdown,
            "jinja" | "jinja2" | "j2" | "tmpl" | "mustache" | "hbs" => Kind::Template,
            "yaml" | "yml" => Kind::Yaml,
            "json" => Kind::Json,
            "jsonl" | "ndjson" => Kind::Jsonl,
            "csv" | "tsv" => Kind::Csv,
            "html" | "htm" | "xhtml" => Kind::Html,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Markdown => "markdown",
            Kind::Template => "template",
            Kind::Yaml => "yaml",
            Kind::Json => "json",
            Kind::Jsonl => "jsonl",
            Kind::Csv => "csv",
            Kind::Html => "html",
        }
    }
}

/// Where a piece of scanned text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A slice of the file: segment offset `o` is file offset `base + o`.
    Raw { base: usize },
    /// A decoded JSON string (index into the document's strings).
    Json(usize),
    /// A decoded YAML scalar whose raw form holds escapes: hits point at the scalar.
    YamlScalar { token: Range<usize> },
}

/// One piece of text to scan: a slice of the document, or text decoded from it.
#[derive(Debug, Clone)]
pub struct Segment<'d> {
    pub text: std::borrow::Cow<'d, str>,
    pub origin: Origin,
    /// 1-based record number (JSONL line, CSV row).
    pub record: Option<u64>,
    pub key_path: Option<String>,
    /// Set for HTML text a reader never sees (`comment`, `display:none`…).
    pub hidden: Option<&'static str>,
}

/// One YAML scalar: where it is, its key path, and whether it is plain (unquoted, so that a
/// redaction inside it must quote it to stay valid YAML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlScalar {
    pub range: Range<usize>,
    pub path: String,
    pub plain: bool,
}

/// A structural problem with the input: it was scanned as raw text instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    pub offset: usize,
    pub record: Option<u64>,
    pub message: String,
}

/// A document cut into segments, plus what did not parse.
#[derive(Debug, Default)]
pub struct Cut<'d> {
    pub segments: Vec<Segment<'d>>,
    /// The JSON strings that `Origin::Json` indexes (their decoded text moved to the segment).
    pub json: Vec<JsonString>,
    pub problems: Vec<ParseProblem>,
    /// YAML scalars with their key paths (sorted by start).
    pub yaml_paths: Vec<YamlScalar>,
    /// Start offset of every CSV record (sorted), with its 1-based number.
    pub csv_records: Vec<(usize, u64)>,
    /// CSV column names, when the first row is a header.
    pub csv_header: Vec<String>,
}

impl Cut<'_> {
    /// The file byte offset of offset `o` in segment `s`.
    pub fn file_offset(&self, s: &Segment, o: usize) -> usize {
        match &s.origin {
            Origin::Raw { base } => base + o,
            Origin::Json(i) => self.json[*i].raw_offset(o),
            Origin::YamlScalar { token } => token.start,
        }
    }

    /// The YAML scalar holding a file offset, if any.
    pub fn yaml_scalar(&self, offset: usize) -> Option<&YamlScalar> {
        let i = self.yaml_paths.partition_point(|s| s.range.start <= offset);
        let s = self.yaml_paths.get(i.checked_sub(1)?)?;
        (offset < s.range.end.max(s.range.start + 1)).then_some(s)
    }

    /// The YAML key path of a file offset, if it lies in a scalar.
    pub fn yaml_path(&self, offset: usize) -> Option<&str> {
        self.yaml_scalar(offset).map(|s| s.path.as_str())
    }

    /// The CSV record (number, start offset) holding a file offset.
    pub fn csv_record(&self, offset: usize) -> Option<u64> {
        let i = self.csv_records.partition_point(|(s, _)| *s <= offset);
        self.csv_records.get(i.checked_sub(1)?).map(|(_, n)| *n)
    }
}

/// Cut `doc` (a whole file's text) into segments according to its format.
pub fn cut(kind: Kind, doc: &str) -> Cut<'_> {
    let mut c = Cut::default();
    match kind {
        Kind::Text | Kind::Template => c.segments.push(raw(doc, 0)),
        Kind::Markdown => {
            c.segments.push(raw(doc, 0));
            // A rendered Markdown page does not show HTML comments either. Only comments: an
            // HTML example in a code block is text the page shows.
            hidden_segments(doc, &mut c, |why| why == super::html::COMMENT);
        }
        Kind::Json => match json_text::strings(doc) {
            Ok(strings) => {
                c.json = strings;
                c.segments = (0..c.json.len()).map(|i| json_segment(&mut c.json, i, None)).collect();
            }
            Err(e) => {
                c.problems.push(ParseProblem {
                    offset: e.offset,
                    record: None,
                    message: format!("not valid JSON: {e}"),
                });
                c.segments.push(raw(doc, 0));
            }
        },
        Kind::Jsonl => jsonl(doc, &mut c),
        Kind::Yaml => {
            c.segments.push(raw(doc, 0));
            yaml(doc, &mut c);
        }
        Kind::Csv => {
            c.segments.push(raw(doc, 0));
            csv(doc, &mut c);
        }
        Kind::Html => {
            c.segments.push(raw(doc, 0));
            hidden_segments(doc, &mut c, |_| true);
        }
    }
    c
}

/// The regions of `doc` an HTML renderer hides (`html::hidden_regions`) whose reason `keep`
/// accepts, each as a segment marked with that reason.
fn hidden_segments<'d>(doc: &'d str, c: &mut Cut<'d>, keep: impl Fn(&str) -> bool) {
    c.segments.extend(
        super::html::hidden_regions(doc)
            .into_iter()
            .filter(|(_, why)| keep(why))
            .map(|(range, why)| Segment {
                text: doc[range.clone()].into(),
                origin: Origin::Raw { base: range.start },
                record: None,
                key_path: None,
                hidden: Some(why),
            }),
    );
}

fn raw(doc: &str, base: usize) -> Segment<'_> {
    Segment {
        text: doc.into(),
        origin: Origin::Raw { base },
        record: None,
        key_path: None,
        hidden: None,
    }
}

fn json_segment(strings: &mut [JsonString], i: usize, record: Option<u64>) -> Segment<'static> {
    Segment {
        text: std::mem::take(&mut strings[i].decoded).into(),
        origin: Origin::Json(i),
        record,
        key_path: Some(strings[i].pointer.clone()),
        hidden: None,
    }
}

/// JSON Lines: one document per non-blank line, numbered from 1; a line that does not parse
/// is a problem and is scanned as raw text.
fn jsonl<'d>(doc: &'d str, c: &mut Cut<'d>) {
    let mut record = 0u64;
    let mut start = 0usize;
    for line in doc.split_inclusive('\n') {
        let base = start;
        start += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        if body.trim().is_empty() {
            continue;
        }
        record += 1;
        match json_text::strings(body) {
            Ok(strings) => {
                for mut s in strings {
                    s.shift(base);
                    c.json.push(s);
                    let i = c.json.len() - 1;
                    c.segments.push(json_segment(&mut c.json, i, Some(record)));
                }
            }
            Err(e) => {
                c.problems.push(ParseProblem {
                    offset: base + e.offset,
                    record: Some(record),
                    message: format!("record {record} is not valid JSON: {e}"),
                });
                c.segments.push(Segment {
                    record: Some(record),
                    ..raw(body, base)
                });
            }
        }
    }
}

/// YAML: key paths of every scalar, and decoded copies of escaped double-quoted scalars.
fn yaml<'d>(doc: &'d str, c: &mut Cut<'d>) {
    use saphyr_parser::{Event, Parser, ScalarStyle};
    // Markers count characters; map them to bytes once.
    let byte_of: Option<Vec<usize>> = (!doc.is_ascii()).then(|| {
        let mut v: Vec<usize> = doc.char_indices().map(|(b, _)| b).collect();
        v.push(doc.len());
        v
    });
    let to_byte = |ci: usize| match &byte_of {
        Some(v) => v.get(ci).copied().unwrap_or(doc.len()),
        None => ci.min(doc.len()),
    };
    // A stack of containers: for a mapping, whether the next scalar is a key, and the key.
    enum Frame {
        Map { key: Option<String>, expect_key: bool },
        Seq(usize),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let path_of = |stack: &[Frame]| -> String {
        let mut p = String::new();
        for f in stack {
            match f {
                Frame::Map { key: Some(k), .. } => {
                    p.push('/');
                    p.push_str(&k.replace('~', "~0").replace('/', "~1"));
                }
                Frame::Map { key: None, .. } => {}
                Frame::Seq(n) => {
                    p.push('/');
                    p.push_str(&n.to_string());
                }
            }
        }
        p
    };
    // Called after a complete value (scalar, alias or container) in the current container.
    fn advance(stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Map { expect_key, .. }) => *expect_key = true,
            Some(Frame::Seq(n)) => *n += 1,
            None => {}
        }
    }
    let mut events = 0usize;
    for ev in Parser::new_from_str(doc) {
        events += 1;
        if events > 2_000_000 {
            c.problems.push(ParseProblem {
                offset: 0,
                record: None,
                message: "YAML has more than 2,000,000 events; key paths stop there".into(),
            });
            return;
        }
        let (event, span) = match ev {
            Ok(x) => x,
            Err(e) => {
                c.problems.push(ParseProblem {
                    offset: to_byte(e.marker().index()),
                    record: None,
                    message: format!("not valid YAML: {e}"),
                });
                return;
            }
        };
        match event {
            Event::MappingStart(..) => stack.push(Frame::Map {
                key: None,
                expect_key: true,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Seq(0)),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                advance(&mut stack);
            }
            Event::DocumentStart(_) => stack.clear(),
            Event::Scalar(value, style, ..) => {
                if let Some(Frame::Map { key, expect_key }) = stack.last_mut() {
                    if *expect_key {
                        *key = Some(value.to_string());
                        *expect_key = false;
                        continue;
                    }
                }
                let range = to_byte(span.start.index())..to_byte(span.end.index());
                let path = path_of(&stack);
                let path = if path.is_empty() { "/".to_string() } else { path };
                if style == ScalarStyle::DoubleQuoted && doc.get(range.clone()).is_some_and(|r| r.contains('\\')) {
                    c.segments.push(Segment {
                        text: value.to_string().into(),
                        origin: Origin::YamlScalar { token: range.clone() },
                        record: None,
                        key_path: Some(path.clone()),
                        hidden: None,
                    });
                }
                c.yaml_paths.push(YamlScalar {
                    range,
                    path,
                    plain: style == ScalarStyle::Plain,
                });
                advance(&mut stack);
            }
            Event::Alias(_) => advance(&mut stack),
            _ => {}
        }
    }
    c.yaml_paths.sort_by_key(|s| s.range.start);
}

/// CSV: record start offsets (records may span lines inside quotes) and the header.
fn csv(doc: &str, c: &mut Cut<'_>) {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(doc.as_bytes());
    let mut rec = csv::StringRecord::new();
    let mut n = 0u64;
    loop {
        let at = rdr.position().byte() as usize;
        match rdr.read_record(&mut rec) {
            Ok(true) => {
                n += 1;
                if n == 1 && rec.iter().all(|f| !f.is_empty() && f.len() < 64 && !f.contains(' ')) {
                    c.csv_header = rec.iter().map(str::to_string).collect();
                }
                c.csv_records.push((at, n));
            }
            Ok(false) => break,
            Err(e) => {
                let offset = e.position().map_or(at, |p| p.byte() as usize);
                c.problems.push(ParseProblem {
                    offset,
                    record: Some(n + 1),
                    message: format!("not valid CSV: {e}"),
                });
                break;
            }
        }
    }
}

/// Line starts of a document, for 1-based line and column (in characters) of a byte offset.
#[derive(Debug)]
pub struct LineIndex<'a> {
    doc: &'a str,
    starts: Vec<usize>,
    /// The last `(byte offset, column)` computed, so that many findings on one long line
    /// (a minified JSON document) count characters once, not once per finding.
    last: std::cell::Cell<(usize, usize)>,
}

impl<'a> LineIndex<'a> {
    pub fn new(doc: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', doc.as_bytes()).map(|i| i + 1));
        LineIndex {
            doc,
            starts,
            last: std::cell::Cell::new((0, 0)),
        }
    }

    /// `(line, column)`, both 1-based; the column counts characters.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.doc.len());
        let line = self.starts.partition_point(|s| *s <= offset).max(1);
        let start = self.starts[line - 1];
        let (from, base) = match self.last.get() {
            (o, c) if o >= start && o <= offset && self.doc.is_char_boundary(o) => (o, c),
            _ => (start, 0),
        };
        let col = base + self.doc.get(from..offset).map_or(offset - from, |s| s.chars().count());
        self.last.set((offset, col));
        (to_u32(line), to_u32(col + 1))
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names() {
        assert_eq!(Kind::from_name("a/B.JSONL"), Some(Kind::Jsonl));
        assert_eq!(Kind::from_name("x.j2"), Some(Kind::Template));
        assert_eq!(Kind::from_name("x.rs"), None);
        assert_eq!(Kind::from_name("Makefile"), None);
    }

    #[test]
    fn line_index_counts_characters() {
        let doc = "ab\nçé x\n";
        let li = LineIndex::new(doc);
        assert_eq!(li.position(0), (1, 1));
        assert_eq!(li.position(doc.find('x').unwrap()), (2, 4));
        assert_eq!(li.position(doc.len()), (3, 1));
        assert_eq!(li.position(doc.find('é').unwrap()), (2, 2), "going back on a line");
        assert_eq!(li.position(doc.find('x').unwrap()), (2, 4));
    }

    #[test]
    fn jsonl_records_and_offsets() {
        let doc = "{\"text\":\"hi\"}\n\n{\"text\":\"a\\nb\"}\n{bad\n";
        let c = cut(Kind::Jsonl, doc);
        let texts: Vec<_> = c.segments.iter().map(|s| (s.record, s.text.as_ref())).collect();
        assert_eq!(texts, vec![(Some(1), "hi"), (Some(2), "a\nb"), (Some(3), "{bad")]);
        let s = &c.segments[1];
        assert_eq!(&doc[c.file_offset(s, 2)..c.file_offset(s, 2) + 1], "b");
        assert_eq!(c.problems.len(), 1);
        assert_eq!(c.problems[0].record, Some(3));
    }

    #[test]
    fn yaml_paths_and_escaped_scalars() {
        let doc = "system: |\n  You are helpful.\nexamples:\n  - user: \"hi\\u200bthere\"\n    bot: ok\n";
        let c = cut(Kind::Yaml, doc);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let at = |needle: &str| c.yaml_path(doc.find(needle).unwrap());
        assert_eq!(at("You are"), Some("/system"));
        assert_eq!(at("ok"), Some("/examples/0/bot"));
        let decoded = c
            .segments
            .iter()
            .find(|s| s.key_path.as_deref() == Some("/examples/0/user"));
        assert_eq!(decoded.unwrap().text, "hi\u{200b}there");
        let bad = cut(Kind::Yaml, "a: [1, 2\nb: c\n");
        assert_eq!(bad.problems.len(), 1);
        assert_eq!(bad.segments.len(), 1, "raw text is still scanned");
    }

    #[test]
    fn csv_records_span_quoted_newlines() {
        let doc = "id,text\n1,\"two\nlines\"\n2,plain\n";
        let c = cut(Kind::Csv, doc);
        assert_eq!(c.csv_header, vec!["id", "text"]);
        assert_eq!(c.csv_record(doc.find("lines").unwrap()), Some(2));
        assert_eq!(c.csv_record(doc.find("plain").unwrap()), Some(3));
    }
}
