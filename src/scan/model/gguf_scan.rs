//! GGUF: header findings and chat-template injection.

use super::{chain, Cx, ModelFormat};
use crate::finding::Finding;
use crate::model::source::{Source, Window};
use crate::model::{gguf, jinja};
use crate::rules::Rule;
use std::io::Read;

impl Cx<'_> {
    /// A GGUF file: header, metadata and tensor table; chat templates checked for gadgets.
    /// `src` is given when the GGUF has random access (a file or stored member): then bytes
    /// that no tensor claims are scanned too.
    pub(super) fn gguf(
        &mut self,
        reader: Box<dyn Read + '_>,
        src: Option<&dyn Source>,
        members: &[String],
        depth: usize,
    ) -> ModelFormat {
        use gguf::Issue as G;
        let g = gguf::parse(reader, src.map(|s| s.len()), &self.limits.gguf);
        for issue in &g.issues {
            let (rule, offset, message, key) = match issue {
                G::BadVersion { version, swapped } => {
                    let note = if *swapped {
                        format!(
                            " (reads as version {} byte-swapped: a big-endian file, not parsed)",
                            version.swap_bytes()
                        )
                    } else {
                        String::new()
                    };
                    (
                        Rule::GgufMalformed,
                        4,
                        format!("unsupported GGUF version {version}{note}"),
                        "version".to_string(),
                    )
                }
                G::Truncated { offset, what } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("the GGUF header ends inside the {what} (at byte {offset})"),
                    "truncated".to_string(),
                ),
                G::Implausible {
                    offset,
                    what,
                    value,
                    bound,
                    beyond_file,
                } => {
                    let why = if *beyond_file {
                        format!("more than the {bound} the rest of the file can hold")
                    } else {
                        format!("over the cap of {bound}")
                    };
                    (
                        Rule::GgufMalformed,
                        *offset,
                        format!("{what} is {value}, {why}; the rest of the header was not read"),
                        format!("implausible:{what}"),
                    )
                }
                G::UnknownType { offset, key, type_id } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("key `{key}` has unknown value type {type_id}; the rest of the header was not read"),
                    format!("type:{key}"),
                ),
                G::NotUtf8 { offset, key } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("key `{key}` is not valid UTF-8"),
                    format!("utf8:{offset}"),
                ),
                G::DuplicateKey { offset, key } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("key `{key}` appears more than once; readers disagree on which value they use"),
                    format!("dup:{key}"),
                ),
                G::BadTensor { offset, name, message } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("tensor `{name}`: {message}"),
                    format!("tensor:{name}"),
                ),
                G::TemplateNotString { offset, key, found } => (
                    Rule::GgufMalformed,
                    *offset,
                    format!("`{key}` is a {found}, not a string template"),
                    format!("template-type:{key}"),
                ),
                G::TemplateTooLong { offset, key, len, kept } => (
                    Rule::ResourceLimit,
                    *offset,
                    format!(
                        "`{key}` is {len} bytes long; only its first {kept} bytes were checked for template injection"
                    ),
                    format!("template-len:{key}"),
                ),
                G::Io { offset, message } => (
                    Rule::UnreadableFile,
                    *offset,
                    format!("read error at byte {offset}: {message}"),
                    "read".to_string(),
                ),
            };
            self.push(rule, members, Some(offset), message, key);
        }
        for &(offset, len) in &g.unclaimed {
            let f = self.push(
                Rule::GgufMalformed,
                members,
                Some(offset),
                format!("{len} bytes of the tensor data region (from byte {offset}) belong to no tensor"),
                format!("unclaimed:{offset}"),
            );
            f.location.byte_length = Some(len);
            let Some(src) = src else { continue };
            if depth >= self.limits.max_depth {
                self.too_deep(members);
                break;
            }
            let window = Window {
                src,
                start: offset,
                len,
            };
            let inner = chain(members, format!("(unclaimed bytes at {offset})"));
            self.random_checked(&window, &inner, depth + 1, None);
        }
        for (key, offset, bytes) in &g.blobs {
            self.hidden_in(bytes, &format!("`{key}`"), members, Some(*offset), depth);
        }
        for t in &g.templates {
            self.chat_template(&t.key, &t.text, members, Some(t.offset));
        }
        ModelFormat::Gguf
    }

    /// Check one chat template (GGUF metadata, tokenizer_config.json) for injection gadgets;
    /// returns the finding so that callers can add a location.
    pub(super) fn chat_template(
        &mut self,
        key: &str,
        text: &str,
        members: &[String],
        offset: Option<u64>,
    ) -> Option<&mut Finding> {
        let hits = self.rules.chat_template().check(&jinja::normalise(text));
        let worst = hits.iter().rev().max_by_key(|h| h.severity)?;
        let severity = worst.severity;
        let reason = worst.reason;
        let evidence = crate::finding::truncate(&worst.matched, 120);
        let names: Vec<&str> = hits.iter().map(|h| h.gadget).collect();
        let f = self.push(
            Rule::ChatTemplateInjection,
            members,
            offset,
            format!(
                "chat template `{key}` contains template-injection gadgets ({}): {reason}",
                names.join(", ")
            ),
            format!("template:{key}"),
        );
        f.severity = severity;
        f.evidence = Some(evidence);
        Some(f)
    }
}
