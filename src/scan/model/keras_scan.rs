//! Keras: HDF5 models (`model_config`, `training_config`) and `.keras` v3 zips.

use super::{chain, Cx, ModelFormat};
use crate::finding::truncate;
use crate::model::keras::{self, dotted};
use crate::model::source::{Source, Window};
use crate::model::{h5, zip};
use crate::rules::keras::HitKind;
use crate::rules::Rule;
use std::io::Read;

/// Root attributes of a Keras HDF5 file that hold JSON configurations, in the order they are
/// checked, and the others read.
const CONFIG_ATTRS: [&str; 2] = ["model_config", "training_config"];
const KERAS_ATTRS: [&str; 4] = ["model_config", "training_config", "keras_version", "backend"];

/// Where a configuration came from, for messages and locations.
struct Doc<'a> {
    /// `model_config`, `training_config`, `config.json`.
    name: &'a str,
    /// Set for HDF5 attributes: the object that holds them.
    object: Option<&'a str>,
}

impl Cx<'_> {
    /// An HDF5 file.
    pub(super) fn hdf5(&mut self, src: &dyn Source, members: &[String], depth: usize) -> ModelFormat {
        // HDF5 never nests archives Keras would open; `depth` is already counted by the caller.
        let _ = depth;
        let root = match h5::root_attributes(src, &KERAS_ATTRS, &self.limits.h5) {
            Ok(r) => r,
            Err(h5::Error::Limit(e)) => {
                self.push(
                    Rule::ResourceLimit,
                    members,
                    None,
                    format!("HDF5 root attributes not read: {e}"),
                    "hdf5-limit",
                );
                return ModelFormat::Hdf5;
            }
            Err(e) => {
                let what = match &e {
                    h5::Error::Panicked(_) => "the HDF5 structures crash the decoder",
                    h5::Error::Io(_) => "the HDF5 structures could not be read",
                    _ => "malformed HDF5",
                };
                self.push(
                    Rule::KerasMalformed,
                    members,
                    None,
                    format!("{what}: {e}; its Keras configuration (if any) was not checked"),
                    "hdf5",
                );
                return ModelFormat::Hdf5;
            }
        };
        if CONFIG_ATTRS.iter().all(|a| root.get(a).is_none()) {
            // Weights only (`model.weights.h5`, `save_weights`) or not Keras at all.
            return ModelFormat::Hdf5;
        }
        for attr in CONFIG_ATTRS {
            let Some(value) = root.get(attr) else { continue };
            let doc = Doc {
                name: attr,
                object: Some("/"),
            };
            match value {
                Ok(h5::Value::Text(text)) => self.keras_config(text.as_bytes(), &doc, members),
                Ok(h5::Value::Bytes(bytes)) => self.keras_config(bytes, &doc, members),
                Ok(h5::Value::Other(what)) => {
                    self.keras_malformed(&doc, members, &format!("is {what}, not a JSON string"))
                }
                Err(e) => self.keras_malformed(&doc, members, &format!("could not be decoded: {e}")),
            }
        }
        ModelFormat::KerasH5
    }

    /// The `config.json` and `metadata.json` of a Keras v3 `.keras` zip (its members are also
    /// scanned one by one by the zip walker).
    pub(super) fn keras_v3(&mut self, src: &dyn Source, archive: &zip::Archive, members: &[String]) {
        let limits = self.limits.keras.clone();
        for e in &archive.entries {
            let is_config = e.name == "config.json";
            if !is_config && e.name != "metadata.json" {
                continue;
            }
            let inner = chain(members, e.name.clone());
            let doc = Doc {
                name: &e.name,
                object: None,
            };
            let bytes = match self.keras_member(src, e, limits.max_config) {
                Ok(b) => b,
                Err(MemberError::TooLarge) => {
                    self.push(
                        Rule::ResourceLimit,
                        &inner,
                        None,
                        format!(
                            "`{}` inflates past {} MiB; it was not checked",
                            e.name,
                            limits.max_config >> 20
                        ),
                        "keras-member-size",
                    );
                    continue;
                }
                Err(MemberError::Unreadable(why)) => {
                    self.keras_malformed(&doc, &inner, &format!("could not be read: {why}"));
                    continue;
                }
            };
            if is_config {
                self.keras_config(&bytes, &doc, &inner);
            } else if let Err(issue) = keras::parse_metadata(&bytes, &limits) {
                self.keras_malformed(&doc, &inner, &issue.to_string());
            }
        }
    }

    /// Read a (small) member of a `.keras` zip into memory, at most `cap` bytes.
    fn keras_member(&mut self, src: &dyn Source, e: &zip::Entry, cap: usize) -> Result<Vec<u8>, MemberError> {
        let Some(start) = e.data_start else {
            return Err(MemberError::Unreadable("its local header is missing".into()));
        };
        let window = Window {
            src,
            start,
            len: e.compressed_size,
        };
        let Some(reader) = super::zip_scan::member_reader(&window, e.method, &self.budget) else {
            return Err(MemberError::Unreadable(format!(
                "compression method {} is not supported",
                e.method
            )));
        };
        let mut out = Vec::new();
        reader
            .take(cap as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|err| MemberError::Unreadable(err.to_string()))?;
        if out.len() > cap {
            return Err(MemberError::TooLarge);
        }
        Ok(out)
    }

    fn keras_malformed(&mut self, doc: &Doc<'_>, members: &[String], what: &str) {
        self.keras_doc_finding(Rule::KerasMalformed, doc, members, what, "malformed");
    }

    /// A finding about a whole configuration document, located at its HDF5 object if any.
    fn keras_doc_finding(&mut self, rule: Rule, doc: &Doc<'_>, members: &[String], what: &str, key: &str) {
        let f = self.push(
            rule,
            members,
            None,
            format!("Keras `{}` {what}", doc.name),
            format!("{key}:{}", doc.name),
        );
        f.location.object = doc.object.map(str::to_string);
    }

    /// Parse one configuration document and judge every object in it.
    fn keras_config(&mut self, bytes: &[u8], doc: &Doc<'_>, members: &[String]) {
        let limits = self.limits.keras.clone();
        let value = match keras::parse_config(bytes, &limits) {
            Ok(v) => v,
            Err(issue @ (keras::Issue::TooLarge { .. } | keras::Issue::TooManyValues { .. })) => {
                let what = format!("{issue}; it was not checked");
                return self.keras_doc_finding(Rule::KerasMalformed, doc, members, &what, "size");
            }
            Err(issue) => return self.keras_malformed(doc, members, &issue.to_string()),
        };
        let (objects, issues) = keras::objects(&value, &limits);
        for issue in issues {
            let rule = match issue {
                keras::Issue::TooManyObjects { .. } => Rule::ResourceLimit,
                _ => Rule::KerasMalformed,
            };
            let what = format!("{issue}; the rest was not checked");
            self.keras_doc_finding(rule, doc, members, &what, "walk");
        }
        for obj in &objects {
            for hit in self.rules.keras().check(obj, &self.rules.pickle) {
                let path = dotted(&hit.pointer);
                let (rule, message, evidence) = match &hit.kind {
                    HitKind::Lambda { code } => {
                        let (summary, evidence) = describe_code(code, &limits);
                        (
                            Rule::KerasLambdaLayer,
                            format!("`{}` {path}: {} ({summary})", doc.name, hit.reason),
                            evidence,
                        )
                    }
                    HitKind::UnsafeCallable => (
                        Rule::KerasUnsafeCallable,
                        format!("`{}` {path} resolves `{}`: {}", doc.name, hit.subject, hit.reason),
                        None,
                    ),
                    HitKind::Bypass => (
                        Rule::KerasSafeModeBypass,
                        format!("`{}` {path} calls `{}`: {}", doc.name, hit.subject, hit.reason),
                        arguments_evidence(&value, &hit.pointer),
                    ),
                    HitKind::External => (
                        Rule::KerasExternalResource,
                        format!("`{}` {path} is the path `{}`: {}", doc.name, hit.subject, hit.reason),
                        None,
                    ),
                    HitKind::Custom => (
                        Rule::KerasCustomObject,
                        format!("`{}` {path} is `{}`: {}", doc.name, hit.subject, hit.reason),
                        None,
                    ),
                };
                let f = self.push(rule, members, None, message, format!("{}:{}", doc.name, hit.pointer));
                f.severity = hit.severity;
                f.location.key_path = Some(hit.pointer.clone());
                f.location.object = doc.object.map(str::to_string);
                f.evidence = evidence.map(|e| truncate(&e, 160));
            }
        }
    }
}

enum MemberError {
    TooLarge,
    Unreadable(String),
}

/// The names and strings of a Lambda's marshaled code, for the message and the evidence.
fn describe_code(code: &str, limits: &keras::Limits) -> (String, Option<String>) {
    match keras::marshal_summary(code, limits) {
        Ok(s) => {
            let mut parts = Vec::new();
            if !s.functions.is_empty() {
                parts.push(format!("defines: {}", s.functions.join(", ")));
            }
            if !s.names.is_empty() {
                parts.push(format!("names: {}", s.names.join(", ")));
            }
            if !s.strings.is_empty() {
                let quoted: Vec<String> = s.strings.iter().map(|x| format!("{x:?}")).collect();
                parts.push(format!("strings: {}", quoted.join(", ")));
            }
            let what = match &s.incomplete {
                None => format!("{} bytes of bytecode", s.len),
                Some(why) => format!("{} bytes of bytecode, partly decoded: {why}", s.len),
            };
            let evidence = (!parts.is_empty()).then(|| parts.join("; "));
            (what, evidence)
        }
        Err(e) => (e, None),
    }
}

/// For a gadget called from a Lambda, the `arguments` it is called with.
fn arguments_evidence(root: &serde_json::Value, pointer: &str) -> Option<String> {
    // `/…/config/function` → the Lambda's `/…/config/arguments`.
    let config = pointer.strip_suffix("/function")?;
    let args = root.pointer(&format!("{config}/arguments"))?;
    let m = args.as_object().filter(|m| !m.is_empty())?;
    Some(format!("arguments: {}", serde_json::Value::Object(m.clone())))
}
