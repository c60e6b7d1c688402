//! Keras rule data: the layer classes and modules a Keras configuration may name
//! (`rules/model/keras.yaml`), compiled, and the checks that judge each configuration object
//! (`model::keras::Object`) against it. Callables from outside Keras are judged with the pickle
//! deny list, the one list of dangerous Python callables.

use super::pickle::{Judgement, PicklePolicy};
use super::RulesError;
use crate::finding::Severity;
use crate::model::keras::{child, Object};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;

const BUILTIN_FILE: &str = "rules/model/keras.yaml";
const BUILTIN: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/keras.json"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KerasSpec {
    pub trusted_modules: Vec<String>,
    pub trusted_packages: Vec<String>,
    pub lambda_classes: Vec<String>,
    pub internal_classes: Vec<String>,
    pub gadgets: Vec<GadgetEntry>,
    pub resources: Vec<ResourceEntry>,
    pub builtin_classes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GadgetEntry {
    pub name: String,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub tf_ops: Vec<String>,
    pub severity: Severity,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceEntry {
    pub name: String,
    pub classes: Vec<String>,
    pub keys: Vec<String>,
    pub severity: Severity,
    pub reason: String,
}

impl KerasSpec {
    pub fn builtin() -> Result<KerasSpec, RulesError> {
        Self::parse_json(BUILTIN, BUILTIN_FILE)
    }

    fn parse_json(text: &str, file: &str) -> Result<KerasSpec, RulesError> {
        serde_json::from_str(text).map_err(|e| RulesError::Parse {
            file: file.into(),
            message: e.to_string(),
        })
    }

    pub fn parse(text: &str, file: &str) -> Result<KerasSpec, RulesError> {
        serde_yaml_ng::from_str(text).map_err(|e| RulesError::Parse {
            file: file.into(),
            message: e.to_string(),
        })
    }
}

/// The compiled Keras policy.
#[derive(Debug)]
pub struct KerasPolicy {
    trusted_modules: HashSet<String>,
    trusted_packages: HashSet<String>,
    lambda_classes: HashSet<String>,
    known_classes: HashSet<String>,
    gadgets: Vec<GadgetEntry>,
    resources: Vec<ResourceEntry>,
}

/// What a configuration object was found to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HitKind {
    /// Marshaled bytecode that loading runs (`code` is the base64 text).
    Lambda { code: String },
    /// A callable or class resolved from a module outside Keras that the deny list names.
    UnsafeCallable,
    /// A Keras/TensorFlow gadget that defeats safe_mode.
    Bypass,
    /// An argument that makes loading read a file or URL.
    External,
    /// A class or function Keras does not ship: it comes from the loader's custom_objects or
    /// an import of its module.
    Custom,
}

/// One judged object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: HitKind,
    pub severity: Severity,
    /// JSON pointer of the value that matched.
    pub pointer: String,
    /// What matched: `os.system`, `keras.utils.get_file`, `MyPkg>Layer`, a path.
    pub subject: String,
    pub reason: String,
}

impl KerasPolicy {
    pub fn builtin() -> Result<KerasPolicy, RulesError> {
        Self::compile(&KerasSpec::builtin()?)
    }

    pub fn compile(spec: &KerasSpec) -> Result<KerasPolicy, RulesError> {
        let mut names = HashSet::new();
        for g in &spec.gadgets {
            if !names.insert(g.name.clone()) {
                return Err(entry_error(&g.name, "duplicate gadget name"));
            }
            if g.names.is_empty() && g.tf_ops.is_empty() {
                return Err(entry_error(&g.name, "a gadget needs `names` or `tf_ops`"));
            }
            for op in &g.tf_ops {
                if op.is_empty() || op.split('.').any(|c| c.is_empty() || (c.contains('*') && c != "*")) {
                    return Err(entry_error(&g.name, &format!("bad tf_ops pattern `{op}`")));
                }
            }
        }
        for r in &spec.resources {
            if !names.insert(r.name.clone()) {
                return Err(entry_error(&r.name, "duplicate name"));
            }
        }
        let set = |v: &[String]| v.iter().cloned().collect::<HashSet<_>>();
        let mut known_classes = set(&spec.builtin_classes);
        known_classes.extend(spec.internal_classes.iter().cloned());
        Ok(KerasPolicy {
            trusted_modules: set(&spec.trusted_modules),
            trusted_packages: set(&spec.trusted_packages),
            lambda_classes: set(&spec.lambda_classes),
            known_classes,
            gadgets: spec.gadgets.clone(),
            resources: spec.resources.clone(),
        })
    }

    fn trusted_module(&self, module: &str) -> bool {
        let root = module.split('.').next().unwrap_or(module);
        self.trusted_modules.contains(root)
    }

    fn gadget(&self, name: &str) -> Option<&GadgetEntry> {
        let last = name.rsplit(['.', '>']).next().unwrap_or(name);
        self.gadgets.iter().find(|g| g.names.iter().any(|n| n == last))
    }

    fn tf_op_gadget(&self, op: &str) -> Option<&GadgetEntry> {
        let op = op.strip_prefix("tf.").unwrap_or(op);
        self.gadgets.iter().find(|g| g.tf_ops.iter().any(|p| op_matches(p, op)))
    }

    /// Judge one configuration object.
    pub fn check(&self, obj: &Object<'_>, pickle: &PicklePolicy) -> Vec<Hit> {
        let mut hits = Vec::new();
        let config = obj.config;
        match obj.class_name {
            "__lambda__" => {
                let code = config
                    .and_then(|c| c.get("code"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                hits.push(Hit {
                    kind: HitKind::Lambda { code: code.to_string() },
                    severity: Severity::Critical,
                    pointer: obj.pointer.clone(),
                    subject: "__lambda__".into(),
                    reason: "Keras 3 Lambda function stored as marshaled Python bytecode; loading it with safe_mode off (or through a bypass) runs it (CVE-2024-3660)".into(),
                });
            }
            "function" => {
                if let Some(name) = config.and_then(Value::as_str) {
                    self.callable(obj.module, name, &obj.pointer, pickle, &mut hits);
                }
            }
            class => {
                self.class(obj, class, pickle, &mut hits);
                if self.lambda_classes.contains(class) {
                    if let Some(c) = config {
                        self.lambda_layer(&obj.pointer, c, pickle, &mut hits);
                    }
                }
                if matches!(class, "TFOpLambda" | "SlicingOpLambda") {
                    if let Some(op) = config.and_then(|c| c.get("function")).and_then(Value::as_str) {
                        if let Some(g) = self.tf_op_gadget(op) {
                            hits.push(Hit {
                                kind: HitKind::Bypass,
                                severity: g.severity,
                                pointer: child(&child(&obj.pointer, "config"), "function"),
                                subject: format!("tf.{}", op.strip_prefix("tf.").unwrap_or(op)),
                                reason: g.reason.clone(),
                            });
                        }
                    }
                }
                self.resources(&obj.pointer, class, config, &mut hits);
            }
        }
        hits
    }

    /// A class object (a layer, an initializer, a loss…).
    fn class(&self, obj: &Object<'_>, class: &str, pickle: &PicklePolicy, hits: &mut Vec<Hit>) {
        let bare = class.strip_prefix("Custom>").unwrap_or(class);
        if let Some(m) = obj.module.filter(|m| !self.trusted_module(m)) {
            // Keras < 3.9 imports `module` and takes `class_name` from it, whatever it is.
            self.untrusted(m, class, obj.registered_name, &obj.pointer, pickle, hits);
            return;
        }
        if let Some(g) = self.gadget(bare) {
            let subject = obj.module.map_or_else(|| bare.to_string(), |m| format!("{m}.{bare}"));
            hits.push(Hit {
                kind: HitKind::Bypass,
                severity: g.severity,
                pointer: obj.pointer.clone(),
                subject,
                reason: g.reason.clone(),
            });
            return;
        }
        if let Some((package, _)) = obj.registered_name.and_then(|r| r.split_once('>')) {
            if !self.trusted_packages.contains(package) {
                hits.push(self.custom(obj, obj.registered_name.unwrap_or(class)));
                return;
            }
        }
        if obj.module.is_none() && !self.known_classes.contains(bare) {
            hits.push(self.custom(obj, class));
        }
    }

    fn custom(&self, obj: &Object<'_>, subject: &str) -> Hit {
        Hit {
            kind: HitKind::Custom,
            severity: Severity::Low,
            pointer: obj.pointer.clone(),
            subject: subject.to_string(),
            reason: "not a class Keras ships: loading needs custom_objects (or a registered package), so its code comes from the loader's side".into(),
        }
    }

    /// A function reference: `{class_name: function, module, config: name}`, or a Lambda's raw
    /// function name with its `module`.
    fn callable(&self, module: Option<&str>, name: &str, pointer: &str, pickle: &PicklePolicy, hits: &mut Vec<Hit>) {
        match module {
            Some(m) if !self.trusted_module(m) => self.untrusted(m, name, None, pointer, pickle, hits),
            _ => {
                if let Some(g) = self.gadget(name) {
                    let subject = module.map_or_else(|| name.to_string(), |m| format!("{m}.{name}"));
                    hits.push(Hit {
                        kind: HitKind::Bypass,
                        severity: g.severity,
                        pointer: pointer.to_string(),
                        subject,
                        reason: g.reason.clone(),
                    });
                }
            }
        }
    }

    /// `name` resolved from a module outside Keras.
    fn untrusted(
        &self,
        module: &str,
        name: &str,
        registered: Option<&str>,
        pointer: &str,
        pickle: &PicklePolicy,
        hits: &mut Vec<Hit>,
    ) {
        let subject = match registered.filter(|r| r.contains('>')) {
            Some(r) => format!("{module}.{name} (registered as {r})"),
            None => format!("{module}.{name}"),
        };
        match pickle.judge(module, name) {
            Judgement::Denied { severity, reason, .. } => hits.push(Hit {
                kind: HitKind::UnsafeCallable,
                severity,
                pointer: pointer.to_string(),
                subject,
                reason: format!("resolved by importing `{module}` on load: {reason}"),
            }),
            Judgement::Allowed | Judgement::Unknown => {
                let (severity, reason) = if module == "__main__" || module == "builtins" {
                    (
                        Severity::Low,
                        "not a Keras callable: loading needs custom_objects, so its code comes from the loader's side"
                            .to_string(),
                    )
                } else {
                    (
                        Severity::Medium,
                        format!("from module `{module}`, outside Keras: the loader must supply it or import that module (Keras before 3.9 imports it even with safe_mode)"),
                    )
                };
                hits.push(Hit {
                    kind: HitKind::Custom,
                    severity,
                    pointer: pointer.to_string(),
                    subject,
                    reason,
                });
            }
        }
    }

    /// A legacy (tf.keras / Keras 2) Lambda: `function` and `output_shape` are marshaled
    /// bytecode (`*_type: lambda`, or a `[code, defaults, closure]` list) or a name looked up
    /// in `module` (`*_type: raw`).
    fn lambda_layer(&self, pointer: &str, config: &Value, pickle: &PicklePolicy, hits: &mut Vec<Hit>) {
        let config_ptr = child(pointer, "config");
        for (key, type_key, module_key) in [
            ("function", "function_type", "module"),
            ("output_shape", "output_shape_type", "output_shape_module"),
        ] {
            let Some(value) = config.get(key) else { continue };
            let ty = config.get(type_key).and_then(Value::as_str);
            let module = config.get(module_key).and_then(Value::as_str);
            let at = child(&config_ptr, key);
            let code = match (value, ty) {
                (Value::Array(parts), _) if key == "function" || ty == Some("lambda") => {
                    parts.first().and_then(Value::as_str)
                }
                (Value::String(s), Some("lambda")) => Some(s.as_str()),
                (Value::String(name), Some("raw")) if key == "function" => {
                    match module {
                        Some(m) if m != "__main__" => self.callable(Some(m), name, &at, pickle, hits),
                        _ => {
                            if !self.known_classes.contains(name.as_str()) && self.gadget(name).is_none() {
                                hits.push(Hit {
                                    kind: HitKind::Custom,
                                    severity: Severity::Low,
                                    pointer: at.clone(),
                                    subject: name.clone(),
                                    reason: "a Lambda function looked up by name: loading needs it in custom_objects"
                                        .into(),
                                });
                            } else {
                                self.callable(None, name, &at, pickle, hits);
                            }
                        }
                    }
                    None
                }
                _ => None,
            };
            if let Some(code) = code {
                hits.push(Hit {
                    kind: HitKind::Lambda { code: code.to_string() },
                    severity: Severity::Critical,
                    pointer: at,
                    subject: format!("Lambda {key}"),
                    reason: "legacy Lambda stored as marshaled Python bytecode; Keras runs it on load, and HDF5 files ignore safe_mode (CVE-2024-3660, CVE-2025-9905)".into(),
                });
            }
        }
    }

    fn resources(&self, pointer: &str, class: &str, config: Option<&Value>, hits: &mut Vec<Hit>) {
        let Some(config) = config else { return };
        for r in self.resources.iter().filter(|r| r.classes.iter().any(|c| c == class)) {
            for key in &r.keys {
                if let Some(path) = config.get(key).and_then(Value::as_str) {
                    hits.push(Hit {
                        kind: HitKind::External,
                        severity: r.severity,
                        pointer: child(&child(pointer, "config"), key),
                        subject: path.to_string(),
                        reason: r.reason.clone(),
                    });
                }
            }
        }
    }
}

fn entry_error(entry: &str, message: &str) -> RulesError {
    RulesError::Entry {
        file: BUILTIN_FILE.into(),
        entry: entry.into(),
        message: message.into(),
    }
}

/// A dotted glob (`io.*`: `*` stands for one or more whole trailing components, or one
/// component in the middle).
fn op_matches(pattern: &str, op: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let o: Vec<&str> = op.split('.').collect();
    if p.last() == Some(&"*") {
        let head = &p[..p.len() - 1];
        return o.len() > head.len() && head.iter().zip(&o).all(|(a, b)| *a == "*" || a == b);
    }
    p.len() == o.len() && p.iter().zip(&o).all(|(a, b)| *a == "*" || a == b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::keras::{objects, Limits};

    fn check(json: &str) -> Vec<Hit> {
        let policy = KerasPolicy::builtin().unwrap();
        let pickle = PicklePolicy::builtin();
        let v: Value = serde_json::from_str(json).unwrap();
        let (objs, _) = objects(&v, &Limits::default());
        objs.iter().flat_map(|o| policy.check(o, &pickle)).collect()
    }

    fn kinds(hits: &[Hit]) -> Vec<(HitKind, Severity, String)> {
        hits.iter()
            .map(|h| {
                let kind = match &h.kind {
                    HitKind::Lambda { .. } => HitKind::Lambda { code: String::new() },
                    k => k.clone(),
                };
                (kind, h.severity, h.subject.clone())
            })
            .collect()
    }

    #[test]
    fn the_yaml_and_the_embedded_json_agree() {
        let yaml = KerasSpec::parse(include_str!("../../rules/model/keras.yaml"), BUILTIN_FILE).unwrap();
        let json = KerasSpec::builtin().unwrap();
        assert_eq!(format!("{yaml:?}"), format!("{json:?}"));
    }

    #[test]
    fn objects_are_judged_as_documented() {
        use HitKind::*;
        use Severity::*;
        let lam = || Lambda { code: String::new() };
        type Row<'a> = (&'a str, Vec<(HitKind, Severity, &'a str)>);
        let table: Vec<Row<'_>> = vec![
            // Benign: built-in classes, with or without module.
            (r#"{"class_name":"Dense","config":{"units":1}}"#, vec![]),
            (r#"{"module":"keras.layers","class_name":"Dense","config":{}}"#, vec![]),
            (r#"{"class_name":"Custom>Adam","config":{}}"#, vec![]),
            (
                r#"{"module":"keras.src.models.functional","class_name":"Functional","registered_name":"Functional"}"#,
                vec![],
            ),
            (
                r#"{"class_name":"TFOpLambda","config":{"function":"math.add"}}"#,
                vec![],
            ),
            (
                r#"{"class_name":"StringLookup","config":{"vocabulary":["a","b"]}}"#,
                vec![],
            ),
            // Lambda bytecode, both encodings.
            (
                r#"{"class_name":"__lambda__","config":{"code":"AA=="}}"#,
                vec![(lam(), Critical, "__lambda__")],
            ),
            (
                r#"{"class_name":"Lambda","config":{"function":["AA==",null,null],"function_type":"lambda"}}"#,
                vec![(lam(), Critical, "Lambda function")],
            ),
            (
                r#"{"class_name":"Lambda","config":{"function":"x","function_type":"raw","output_shape":"AA==","output_shape_type":"lambda"}}"#,
                vec![(Custom, Low, "x"), (lam(), Critical, "Lambda output_shape")],
            ),
            // Callables outside Keras.
            (
                r#"{"module":"os","class_name":"function","config":"system"}"#,
                vec![(UnsafeCallable, Critical, "os.system")],
            ),
            (
                r#"{"class_name":"Lambda","config":{"function":"system","function_type":"raw","module":"posix"}}"#,
                vec![(UnsafeCallable, Critical, "posix.system")],
            ),
            (
                r#"{"module":"subprocess","class_name":"Popen","config":{}}"#,
                vec![(UnsafeCallable, Critical, "subprocess.Popen")],
            ),
            (
                r#"{"module":"my_pkg.losses","class_name":"function","config":"focal"}"#,
                vec![(Custom, Medium, "my_pkg.losses.focal")],
            ),
            // Gadgets inside Keras.
            (
                r#"{"module":"keras.config","class_name":"function","config":"enable_unsafe_deserialization"}"#,
                vec![(Bypass, Critical, "keras.config.enable_unsafe_deserialization")],
            ),
            (
                r#"{"module":"keras.src.backend.common.global_state","class_name":"function","config":"set_global_attribute"}"#,
                vec![(
                    Bypass,
                    Critical,
                    "keras.src.backend.common.global_state.set_global_attribute",
                )],
            ),
            (
                r#"{"module":"keras.layers","class_name":"TFSMLayer","config":{"filepath":"/x"}}"#,
                vec![(Bypass, Critical, "keras.layers.TFSMLayer")],
            ),
            (
                r#"{"class_name":"TFOpLambda","config":{"function":"io.write_file"}}"#,
                vec![(Bypass, Critical, "tf.io.write_file")],
            ),
            (
                r#"{"class_name":"TFOpLambda","config":{"function":"py_function"}}"#,
                vec![(Bypass, Critical, "tf.py_function")],
            ),
            (
                r#"{"module":"tensorflow.io","class_name":"function","config":"write_file"}"#,
                vec![(Bypass, High, "tensorflow.io.write_file")],
            ),
            // Resources and custom objects.
            (
                r#"{"class_name":"IntegerLookup","config":{"vocabulary":"gs://bucket/v.txt"}}"#,
                vec![(External, High, "gs://bucket/v.txt")],
            ),
            (
                r#"{"class_name":"MyLayer","registered_name":"Pkg>MyLayer","config":{}}"#,
                vec![(Custom, Low, "Pkg>MyLayer")],
            ),
            (
                r#"{"class_name":"Unknown","config":{}}"#,
                vec![(Custom, Low, "Unknown")],
            ),
            (
                r#"{"class_name":"X","registered_name":"keras_hub>X"}"#,
                vec![(Custom, Low, "X")],
            ),
        ];
        for (json, want) in table {
            let got = kinds(&check(json));
            let want: Vec<(HitKind, Severity, String)> =
                want.into_iter().map(|(k, s, n)| (k, s, n.to_string())).collect();
            assert_eq!(got, want, "{json}");
        }
    }

    #[test]
    fn pointers_name_the_value_that_matched() {
        let hits = check(
            r#"{"class_name":"Sequential","config":{"layers":[{"class_name":"Dense"},
                {"class_name":"Lambda","config":{"function":["AA==",null,null]}}]}}"#,
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].pointer, "/config/layers/1/config/function");
    }

    #[test]
    fn op_globs() {
        for (p, o, want) in [
            ("io.*", "io.write_file", true),
            ("io.*", "io.gfile.GFile", true),
            ("io.*", "io", false),
            ("py_function", "py_function", true),
            ("*.py_func", "compat.py_func", true),
            ("math.add", "math.add_n", false),
        ] {
            assert_eq!(op_matches(p, o), want, "{p} {o}");
        }
    }

    #[test]
    fn bad_specs_are_errors() {
        let base = KerasSpec::builtin().unwrap();
        let mut dup = base.clone();
        dup.gadgets.push(dup.gadgets[0].clone());
        assert!(KerasPolicy::compile(&dup).is_err());
        let mut empty = base.clone();
        empty.gadgets[0].names.clear();
        empty.gadgets[0].tf_ops.clear();
        assert!(KerasPolicy::compile(&empty).is_err());
        let mut glob = base;
        glob.gadgets[0].tf_ops = vec!["io..x".into()];
        assert!(KerasPolicy::compile(&glob).is_err());
        assert!(KerasSpec::parse("trusted_modules: []\nextra: 1\n", "x.yaml").is_err());
    }
}
