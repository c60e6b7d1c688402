//! Hugging Face model cards: the YAML front matter of a model directory's `README.md` (licence,
//! base model, datasets, languages, task, evaluation results) and the card template's sections
//! on intended use and limitations. A pure parser: hostile text in, typed facts out, with the
//! line of each fact so that findings can point at it.
//!
//! The front matter is read with `saphyr-parser` events into a small tree (line numbers kept,
//! aliases not expanded, an event budget and a nesting limit), the way `scan-prompts` reads
//! YAML; no YAML value is ever turned into anything but strings.

use saphyr_parser::{Event, Parser};

/// Bytes of a README read at most (cards are a few KB; the front matter comes first).
pub const MAX_CARD: u64 = 1 << 20;
/// YAML events in one front matter.
const MAX_EVENTS: usize = 100_000;
/// Mappings and sequences nested deeper than this are not kept.
const MAX_DEPTH: usize = 32;
/// Characters kept of one section of prose.
const MAX_SECTION: usize = 2000;

/// The Hub's template text for a field nobody filled in.
const PLACEHOLDER: &str = "[More Information Needed]";

/// A value and the 1-based line of the card it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub value: String,
    pub line: u32,
}

/// One evaluation result from `model-index`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub kind: String,
    pub value: String,
    /// The dataset (and split) it was measured on.
    pub slice: Option<String>,
}

/// What a model card says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Card {
    /// `license` (or the older `licenses`); `other` comes with `license_name`/`license_link`.
    pub license: Option<Located>,
    pub license_name: Option<String>,
    pub license_link: Option<String>,
    pub base_models: Vec<Located>,
    /// `base_model_relation`: finetune, adapter, quantized, merge.
    pub base_relation: Option<String>,
    pub datasets: Vec<Located>,
    pub languages: Vec<String>,
    pub pipeline_tag: Option<String>,
    pub library_name: Option<String>,
    pub tags: Vec<String>,
    pub model_name: Option<String>,
    pub metrics: Vec<Metric>,
    /// Prose from the "Uses" sections (direct, downstream, intended uses).
    pub use_cases: Vec<String>,
    /// Prose from "Bias, Risks, and Limitations", "Limitations", "Out-of-Scope Use".
    pub limitations: Vec<String>,
    /// Prose from "Recommendations".
    pub recommendations: Option<String>,
    /// Whether the README had front matter at all.
    pub front_matter: bool,
    /// Why the front matter could not be read (line, message).
    pub problem: Option<(u32, String)>,
}

/// A YAML node with the line it starts on.
#[derive(Debug, Clone)]
enum Node {
    Scalar(String, u32),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    /// An alias, or something nested too deep.
    Skipped,
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn scalar(&self) -> Option<Located> {
        match self {
            Node::Scalar(s, line) if !s.trim().is_empty() && s.trim() != PLACEHOLDER => Some(Located {
                value: s.trim().to_string(),
                line: *line,
            }),
            _ => None,
        }
    }

    /// A scalar or a list of scalars.
    fn list(&self) -> Vec<Located> {
        match self {
            Node::Seq(items) => items.iter().filter_map(Node::scalar).collect(),
            other => other.scalar().into_iter().collect(),
        }
    }
}

/// Split `text` into its front matter (without the `---` fences), the line the YAML starts on,
/// and the Markdown body.
fn split(text: &str) -> Option<(&str, u32, &str)> {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = t.strip_prefix("---")?;
    let rest = rest.strip_prefix("\r\n").or_else(|| rest.strip_prefix('\n'))?;
    let mut at = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..at], 2, &rest[at + line.len()..]));
        }
        at += line.len();
    }
    None
}

/// Parse a README.md's text. A README without front matter gives an empty card (only the
/// prose sections, if any).
pub fn parse(text: &str) -> Card {
    let mut card = Card::default();
    let body = match split(text) {
        Some((yaml, first_line, body)) => {
            card.front_matter = true;
            match tree(yaml, first_line) {
                Ok(root) => read_front_matter(&root, &mut card),
                Err(p) => card.problem = Some(p),
            }
            body
        }
        None => text,
    };
    read_sections(body, &mut card);
    card
}

fn tree(yaml: &str, first_line: u32) -> Result<Node, (u32, String)> {
    enum Frame {
        Seq(Vec<Node>),
        Map(Vec<(String, Node)>, Option<String>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut skipped_depth = 0usize;
    let line_of = |l: usize| {
        first_line
            .saturating_add(u32::try_from(l).unwrap_or(u32::MAX))
            .saturating_sub(1)
    };
    // Attach a finished node to its parent (or make it the root).
    fn attach(stack: &mut [Frame], root: &mut Option<Node>, node: Node) {
        match stack.last_mut() {
            Some(Frame::Seq(items)) => items.push(node),
            Some(Frame::Map(entries, key)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    // A mapping key: only scalars are kept as keys.
                    *key = Some(match node {
                        Node::Scalar(s, _) => s,
                        _ => String::new(),
                    });
                }
            },
            None => {
                if root.is_none() {
                    *root = Some(node);
                }
            }
        }
    }
    for (n, ev) in Parser::new_from_str(yaml).enumerate() {
        if n > MAX_EVENTS {
            return Err((
                first_line,
                format!("front matter has more than {MAX_EVENTS} YAML events"),
            ));
        }
        let (event, span) = ev.map_err(|e| {
            (
                line_of(e.marker().line()),
                format!("front matter is not valid YAML: {e}"),
            )
        })?;
        let line = line_of(span.start.line());
        if skipped_depth > 0 {
            match event {
                Event::MappingStart(..) | Event::SequenceStart(..) => skipped_depth += 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    skipped_depth -= 1;
                    if skipped_depth == 0 {
                        attach(&mut stack, &mut root, Node::Skipped);
                    }
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) if stack.len() >= MAX_DEPTH => skipped_depth = 1,
            Event::MappingStart(..) => stack.push(Frame::Map(Vec::new(), None)),
            Event::SequenceStart(..) => stack.push(Frame::Seq(Vec::new())),
            Event::MappingEnd | Event::SequenceEnd => {
                let node = match stack.pop() {
                    Some(Frame::Seq(items)) => Node::Seq(items),
                    Some(Frame::Map(entries, _)) => Node::Map(entries),
                    None => Node::Skipped,
                };
                attach(&mut stack, &mut root, node);
            }
            Event::Scalar(value, ..) => attach(&mut stack, &mut root, Node::Scalar(value.into_owned(), line)),
            Event::Alias(_) => attach(&mut stack, &mut root, Node::Skipped),
            // Only the first document counts.
            Event::DocumentEnd => break,
            _ => {}
        }
    }
    Ok(root.unwrap_or(Node::Skipped))
}

fn read_front_matter(root: &Node, card: &mut Card) {
    if let Some(l) = root.get("license").or_else(|| root.get("licenses")) {
        card.license = l.list().into_iter().next();
    }
    card.license_name = root.get("license_name").and_then(Node::scalar).map(|l| l.value);
    card.license_link = root.get("license_link").and_then(Node::scalar).map(|l| l.value);
    card.base_models = root.get("base_model").map(Node::list).unwrap_or_default();
    card.base_relation = root.get("base_model_relation").and_then(Node::scalar).map(|l| l.value);
    card.datasets = root.get("datasets").map(Node::list).unwrap_or_default();
    card.languages = root
        .get("language")
        .or_else(|| root.get("languages"))
        .map(Node::list)
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.value)
        .collect();
    card.pipeline_tag = root.get("pipeline_tag").and_then(Node::scalar).map(|l| l.value);
    card.library_name = root.get("library_name").and_then(Node::scalar).map(|l| l.value);
    card.tags = root
        .get("tags")
        .map(Node::list)
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.value)
        .collect();
    if let Some(Node::Seq(models)) = root.get("model-index") {
        for m in models {
            if card.model_name.is_none() {
                card.model_name = m.get("name").and_then(Node::scalar).map(|l| l.value);
            }
            let Some(Node::Seq(results)) = m.get("results") else {
                continue;
            };
            for r in results {
                let dataset = r.get("dataset");
                let name = dataset
                    .and_then(|d| d.get("name").or_else(|| d.get("type")))
                    .and_then(Node::scalar);
                let split = dataset.and_then(|d| d.get("split")).and_then(Node::scalar);
                let slice = match (name, split) {
                    (Some(n), Some(s)) => Some(format!("{} ({})", n.value, s.value)),
                    (Some(n), None) => Some(n.value),
                    _ => None,
                };
                let Some(Node::Seq(metrics)) = r.get("metrics") else {
                    continue;
                };
                for x in metrics {
                    let kind = x.get("name").or_else(|| x.get("type")).and_then(Node::scalar);
                    let value = x.get("value").and_then(Node::scalar);
                    if let (Some(kind), Some(value)) = (kind, value) {
                        card.metrics.push(Metric {
                            kind: kind.value,
                            value: value.value,
                            slice: slice.clone(),
                        });
                    }
                }
            }
        }
    }
}

/// Where a heading's section goes.
enum Section {
    Use,
    Limitation,
    OutOfScope,
    Recommendation,
}

fn section_of(heading: &str) -> Option<Section> {
    let h = heading.trim().trim_end_matches(':').to_ascii_lowercase();
    Some(match h.as_str() {
        "uses"
        | "direct use"
        | "downstream use"
        | "downstream use [optional]"
        | "intended use"
        | "intended uses"
        | "intended uses & limitations"
        | "intended use & limitations"
        | "how to use" => Section::Use,
        "bias, risks, and limitations"
        | "limitations"
        | "risks and limitations"
        | "limitations and bias"
        | "bias and limitations" => Section::Limitation,
        "out-of-scope use" | "out of scope use" | "out-of-scope uses" => Section::OutOfScope,
        "recommendations" => Section::Recommendation,
        _ => return None,
    })
}

/// Collapse a section's Markdown to one line of prose; `None` when empty or a placeholder.
fn prose(lines: &[&str]) -> Option<String> {
    let mut out = String::new();
    let mut fenced = false;
    for l in lines {
        if l.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || l.trim_start().starts_with("<!--") {
            continue;
        }
        let words = l.split_whitespace().filter(|w| !w.is_empty());
        for w in words {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(w);
        }
    }
    let out = out.replace(PLACEHOLDER, "").trim().to_string();
    (out.len() > 1).then(|| crate::finding::truncate(&out, MAX_SECTION))
}

fn read_sections(body: &str, card: &mut Card) {
    let mut current: Option<(Section, Vec<&str>)> = None;
    let flush = |s: Option<(Section, Vec<&str>)>, card: &mut Card| {
        if let Some((kind, lines)) = s {
            if let Some(text) = prose(&lines) {
                match kind {
                    Section::Use => card.use_cases.push(text),
                    Section::Limitation => card.limitations.push(text),
                    Section::OutOfScope => card.limitations.push(format!("Out of scope: {text}")),
                    Section::Recommendation => card.recommendations = Some(text),
                }
            }
        }
    };
    for line in body.lines() {
        let t = line.trim_start();
        if t.starts_with('#') {
            let heading = t.trim_start_matches('#');
            // A heading that starts another section of interest ends the current one; a
            // sub-heading of no interest ("### Direct Use" under "## Uses" is of interest) also
            // ends it, so that unrelated prose is not swept in.
            flush(current.take(), card);
            current = section_of(heading).map(|s| (s, Vec::new()));
            continue;
        }
        if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    flush(current.take(), card);
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "---\nlicense: apache-2.0\nbase_model: acme/base-7b\nbase_model_relation: finetune\ndatasets:\n  - acme/support-tickets\n  - acme/faq\nlanguage: [en, de]\npipeline_tag: text-generation\nlibrary_name: transformers\ntags: [llama, chat]\nmodel-index:\n- name: support-bot\n  results:\n  - task: {type: text-generation}\n    dataset: {name: acme/faq, type: acme/faq, split: test}\n    metrics:\n    - {type: accuracy, value: 0.91, name: Accuracy}\n---\n# support-bot\n\n## Uses\n\n### Direct Use\n\nAnswering customer\nsupport questions.\n\n### Out-of-Scope Use\n\nMedical advice.\n\n## Bias, Risks, and Limitations\n\n[More Information Needed]\n\n## Training Details\n\nNothing here.\n";

    #[test]
    fn reads_front_matter_and_sections() {
        let c = parse(CARD);
        assert!(c.front_matter);
        assert_eq!(c.problem, None);
        assert_eq!(
            c.license,
            Some(Located {
                value: "apache-2.0".into(),
                line: 2
            })
        );
        assert_eq!(c.base_models[0].value, "acme/base-7b");
        assert_eq!(c.base_relation.as_deref(), Some("finetune"));
        let ds: Vec<_> = c.datasets.iter().map(|d| (d.value.as_str(), d.line)).collect();
        assert_eq!(ds, vec![("acme/support-tickets", 6), ("acme/faq", 7)]);
        assert_eq!(c.languages, vec!["en", "de"]);
        assert_eq!(c.pipeline_tag.as_deref(), Some("text-generation"));
        assert_eq!(c.model_name.as_deref(), Some("support-bot"));
        assert_eq!(
            c.metrics,
            vec![Metric {
                kind: "Accuracy".into(),
                value: "0.91".into(),
                slice: Some("acme/faq (test)".into())
            }]
        );
        assert_eq!(c.use_cases, vec!["Answering customer support questions."]);
        // The placeholder counts as nothing; "Out-of-Scope Use" is a limitation.
        assert_eq!(c.limitations, vec!["Out of scope: Medical advice."]);
    }

    #[test]
    fn hostile_front_matter_is_a_problem_not_a_panic() {
        for text in [
            "---\nlicense: [unclosed\n---\n",
            "---\na: &x [*x, *x]\n---\n",
            "---\n---\n",
            "---\nno end fence\n",
            "",
            "---\n- just\n- a list\n---\n",
        ] {
            let c = parse(text);
            assert_eq!(c.license, None, "{text:?}");
        }
        assert!(parse("---\nlicense: [unclosed\n---\n").problem.is_some());
        let deep = format!("---\nx: {}{}\n---\n", "[".repeat(200), "]".repeat(200));
        assert_eq!(parse(&deep).problem, None);
    }

    #[test]
    fn older_plural_keys() {
        let c = parse("---\nlicenses:\n- mit\nlanguages:\n- fr\n---\n");
        assert_eq!(c.license.map(|l| l.value).as_deref(), Some("mit"));
        assert_eq!(c.languages, vec!["fr"]);
    }
}
