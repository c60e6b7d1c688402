//! safetensors: findings from the header checks, and a scan of bytes no tensor claims.

use super::{chain, Cx, ModelFormat};
use crate::model::safetensors;
use crate::model::source::{Source, Window};
use crate::rules::Rule;

impl Cx<'_> {
    /// A safetensors file: only the length field and the JSON header are read.
    pub(super) fn safetensors(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        use safetensors::Issue as S;
        let h = match safetensors::parse(src, &self.limits.safetensors) {
            Ok(h) => h,
            Err(e) => {
                self.push(Rule::UnreadableFile, members, None, format!("cannot read: {e}"), "read");
                return ModelFormat::Safetensors;
            }
        };
        let start = h.data_start;
        let listed = h.issues.iter().map(|i| (i, None));
        let more = h.more.iter().map(|(kind, (i, n))| (i, Some((*kind, *n))));
        for (issue, more) in listed.chain(more).collect::<Vec<_>>() {
            let (rule, offset, message, key, length) = match issue {
                S::LengthBeyondFile { declared, available } => (
                    Rule::SafetensorsHeaderInvalid,
                    0,
                    format!("the header length field says {declared} bytes, but only {available} bytes follow it"),
                    "length".to_string(),
                    Some(8),
                ),
                S::LengthOverCap { declared, cap } => (
                    Rule::SafetensorsHeaderInvalid,
                    0,
                    format!("the header length field says {declared} bytes, over the {cap}-byte cap of the reference reader"),
                    "length-cap".to_string(),
                    Some(8),
                ),
                S::NotUtf8 { offset } => (
                    Rule::SafetensorsHeaderInvalid,
                    *offset,
                    format!("the header is not valid UTF-8 (at byte {offset})"),
                    "utf8".to_string(),
                    None,
                ),
                S::Invalid { offset, message } => (
                    Rule::SafetensorsHeaderInvalid,
                    *offset,
                    format!("the header is not a valid safetensors JSON header: {message}"),
                    "json".to_string(),
                    None,
                ),
                S::NotObject { found } => (
                    Rule::SafetensorsHeaderInvalid,
                    8,
                    format!("the header is {found}, not a JSON object"),
                    "not-object".to_string(),
                    None,
                ),
                S::DuplicateKey { scope, key } => {
                    let place = match scope {
                        None => "the header".to_string(),
                        Some(s) => format!("`{s}`"),
                    };
                    (
                        Rule::SafetensorsHeaderInvalid,
                        8,
                        format!("key `{key}` appears more than once in {place}; JSON readers keep different copies, so two tools can load different data from this file"),
                        format!("dup:{}/{key}", scope.as_deref().unwrap_or("")),
                        None,
                    )
                }
                S::BadEntry { name, message } => (
                    Rule::SafetensorsHeaderInvalid,
                    8,
                    format!("tensor entry `{name}`: {message}"),
                    format!("entry:{name}"),
                    None,
                ),
                S::ReferenceRejects { message } => (
                    Rule::SafetensorsHeaderInvalid,
                    8,
                    format!("the reference safetensors reader refuses the header: {message}"),
                    "reference".to_string(),
                    None,
                ),
                S::UnknownDtype { name, dtype } => (
                    Rule::SafetensorsUnknownDtype,
                    8,
                    format!("tensor `{name}` has dtype `{dtype}`, which the reference reader does not know; its byte range cannot be checked"),
                    format!("dtype:{name}"),
                    None,
                ),
                S::SizeMismatch {
                    name,
                    offset,
                    expected,
                    actual,
                } => {
                    let need = match expected {
                        Some(e) => format!("needs {e} bytes"),
                        None => "overflows or is not a whole number of bytes".to_string(),
                    };
                    (
                        Rule::SafetensorsBadLayout,
                        *offset,
                        format!("tensor `{name}`: shape × dtype size {need}, but its data_offsets span {actual}"),
                        format!("size:{name}"),
                        None,
                    )
                }
                S::InvertedRange { name, begin, end } => (
                    Rule::SafetensorsBadLayout,
                    start.saturating_add(*end),
                    format!("tensor `{name}` has data_offsets [{begin}, {end}], which end before they begin"),
                    format!("range:{name}"),
                    None,
                ),
                S::OutOfBounds {
                    name,
                    offset,
                    end,
                    payload,
                } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("tensor `{name}` ends at payload byte {end}, but the payload holds only {payload} bytes"),
                    format!("bounds:{name}"),
                    None,
                ),
                S::Overlap { name, other, offset } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("tensor `{name}` overlaps tensor `{other}`: the same bytes load as both"),
                    format!("overlap:{name}"),
                    None,
                ),
                S::Gap { offset, len, next } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("{len} payload bytes before tensor `{next}` (from byte {offset}) belong to no tensor"),
                    format!("gap:{next}"),
                    Some(*len),
                ),
                S::Trailing { offset, len } => (
                    Rule::SafetensorsBadLayout,
                    *offset,
                    format!("{len} bytes after the last tensor (from byte {offset}) belong to no tensor"),
                    "trailing".to_string(),
                    Some(*len),
                ),
                S::MetadataNotMap { found } => (
                    Rule::SafetensorsMetadata,
                    8,
                    format!("`__metadata__` is {found}, not a map of strings to strings"),
                    "meta".to_string(),
                    None,
                ),
                S::MetadataNotString { key, found } => (
                    Rule::SafetensorsMetadata,
                    8,
                    format!("`__metadata__` value `{key}` is {found}, not a string"),
                    format!("meta:{key}"),
                    None,
                ),
                S::MetadataTooLarge { size, cap } => (
                    Rule::SafetensorsMetadata,
                    8,
                    format!("`__metadata__` holds {size} bytes of keys and values, over the {cap}-byte cap"),
                    "meta-size".to_string(),
                    None,
                ),
                S::TooManyTensors { limit } => (
                    Rule::ResourceLimit,
                    8,
                    format!("the safetensors header lists more than {limit} tensors; the rest of it was not checked"),
                    "st-tensors".to_string(),
                    None,
                ),
            };
            let (message, key, offset, length) = match more {
                None => (message, key, Some(offset), length),
                Some((kind, n)) => (
                    format!(
                        "{n} more issue{} of this kind were not listed, for example: {message}",
                        if n == 1 { "" } else { "s" }
                    ),
                    format!("more:{kind}"),
                    None,
                    None,
                ),
            };
            let f = self.push(rule, members, offset, message, key);
            f.location.byte_length = length;
        }
        for (key, value) in &h.metadata {
            self.hidden_in(
                value.as_bytes(),
                &format!("`__metadata__.{key}`"),
                members,
                Some(8),
                depth,
            );
        }
        // Bytes no tensor claims can hide a payload: scan them like an archive member.
        for issue in &h.issues {
            let (S::Gap { offset, len, .. } | S::Trailing { offset, len }) = issue else {
                continue;
            };
            if depth >= self.limits.max_depth {
                self.too_deep(members);
                break;
            }
            let window = Window {
                src,
                start: *offset,
                len: *len,
            };
            let inner = chain(members, format!("(unclaimed bytes at {offset})"));
            self.random_checked(&window, &inner, depth + 1, None);
        }
        ModelFormat::Safetensors
    }
}
