//! Sanitised copies: every PII and secret span masked, replaced by a typed placeholder, or
//! removed, in a way that keeps structured files valid (the secure-proxy design's three
//! modes). The scanner decides *where* an edit goes (a raw span, a whole JSON string token, a
//! YAML scalar); this module decides *what* it becomes and applies the edits.

use std::collections::HashMap;
use std::ops::Range;

/// How `--redact` rewrites sensitive spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Keep the shape, hide the characters: `****-****-****-1234`.
    Mask,
    /// A typed placeholder, numbered per distinct value within a file: `<EMAIL_1>`.
    Replace,
    /// Delete the span.
    Remove,
}

/// Kinds whose last four characters stay visible under `mask` (as card receipts do).
const KEEP_LAST_FOUR: &[&str] = &["CREDIT_CARD", "IBAN", "PHONE"];

/// Chooses each replacement; placeholders are stable within one file.
#[derive(Debug)]
pub struct Redactor {
    pub mode: Mode,
    numbers: HashMap<(&'static str, String), usize>,
    counts: HashMap<&'static str, usize>,
}

impl Redactor {
    pub fn new(mode: Mode) -> Self {
        Redactor {
            mode,
            numbers: HashMap::new(),
            counts: HashMap::new(),
        }
    }

    /// What `value` of `kind` becomes.
    pub fn replacement(&mut self, kind: &'static str, value: &str) -> String {
        match self.mode {
            Mode::Remove => String::new(),
            Mode::Mask => {
                let keep = if KEEP_LAST_FOUR.contains(&kind) { 4 } else { 0 };
                super::mask_shape(value, keep)
            }
            Mode::Replace => {
                let next = self.counts.get(kind).copied().unwrap_or(0) + 1;
                let n = *self.numbers.entry((kind, value.to_string())).or_insert_with(|| {
                    self.counts.insert(kind, next);
                    next
                });
                format!("<{kind}_{n}>")
            }
        }
    }
}

/// One rewrite of a byte range of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Apply `edits` to `doc`. Where edits overlap, the one that starts first wins and the others
/// inside it are dropped (an outer rewrite, such as a whole JSON string, already carries them).
pub fn apply(doc: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.range.start, std::cmp::Reverse(e.range.end)));
    let mut out = String::with_capacity(doc.len());
    let mut at = 0;
    for e in edits {
        if e.range.start < at
            || e.range.end > doc.len()
            || !doc.is_char_boundary(e.range.start)
            || !doc.is_char_boundary(e.range.end)
        {
            continue;
        }
        out.push_str(&doc[at..e.range.start]);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(&doc[at..]);
    out
}

/// Rewrite byte ranges of a string (decoded JSON or YAML text): the same edits, applied to a
/// value instead of a document.
pub fn apply_spans(text: &str, spans: &[(Range<usize>, String)]) -> String {
    apply(
        text,
        spans
            .iter()
            .map(|(r, t)| Edit {
                range: r.clone(),
                text: t.clone(),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        let mut r = Redactor::new(Mode::Replace);
        assert_eq!(r.replacement("EMAIL", "a@b.io"), "<EMAIL_1>");
        assert_eq!(r.replacement("EMAIL", "c@d.io"), "<EMAIL_2>");
        assert_eq!(r.replacement("EMAIL", "a@b.io"), "<EMAIL_1>", "stable within a file");
        assert_eq!(r.replacement("PHONE", "+1 415"), "<PHONE_1>");
        let mut m = Redactor::new(Mode::Mask);
        assert_eq!(
            m.replacement("CREDIT_CARD", "4111-1111-1111-1234"),
            "****-****-****-1234"
        );
        assert_eq!(m.replacement("AWS_ACCESS_KEY", "AKIA1234"), "********");
        assert_eq!(Redactor::new(Mode::Remove).replacement("EMAIL", "a@b.io"), "");
    }

    #[test]
    fn overlapping_edits_keep_the_outer_one() {
        let doc = "say \"a@b.io\" now";
        let edits = vec![
            Edit {
                range: 5..11,
                text: "X".into(),
            },
            Edit {
                range: 4..12,
                text: "\"<EMAIL_1>\"".into(),
            },
        ];
        assert_eq!(apply(doc, edits), "say \"<EMAIL_1>\" now");
        assert_eq!(
            apply(
                "abc",
                vec![Edit {
                    range: 1..9,
                    text: "x".into()
                }]
            ),
            "abc"
        );
    }
}
