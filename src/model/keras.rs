//! Keras model configuration (`model_config` in HDF5, `config.json` in `.keras` zips).
//!
//! A configuration is JSON whose objects `{class_name, config, module, registered_name}` name
//! what the loader resolves and calls. [`parse_config`] bounds the text and its nesting,
//! [`objects`] lists every such object with its JSON pointer (walking nested models, wrappers,
//! `training_config` losses and metrics alike), and [`marshal_summary`] pulls the names and
//! strings out of a Lambda's marshaled code object without running or unmarshaling it in
//! Python. Knows nothing of rules: `rules::keras` judges what is found here.

use base64::Engine as _;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest configuration text (configs of large real models are a few MB).
    pub max_config: usize,
    /// Most JSON values (counted as `,` `:` `[` `{` bytes) a configuration may hold: a parsed
    /// value costs ~32 bytes or more, so this bounds the parse, not only the text.
    pub max_values: usize,
    /// Objects nested deeper than this are not walked (serde_json also refuses JSON nested
    /// deeper than 128 levels).
    pub max_depth: usize,
    /// Configuration objects listed for one document.
    pub max_objects: usize,
    /// Largest decoded Lambda bytecode summarised.
    pub max_code: usize,
    /// Marshal values visited in one code object.
    pub max_marshal_values: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_config: 16 << 20,
            max_values: 4 << 20,
            max_depth: 100,
            max_objects: 200_000,
            max_code: 4 << 20,
            max_marshal_values: 100_000,
        }
    }
}

/// What is wrong with a configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    NotUtf8,
    NotJson(String),
    TooLarge {
        len: usize,
        cap: usize,
    },
    /// More than `max_values` JSON values.
    TooManyValues {
        limit: usize,
    },
    /// Nested deeper than `max_depth`; the part below `pointer` was not walked.
    TooDeep {
        pointer: String,
    },
    /// More than `max_objects` objects; the rest were not listed.
    TooManyObjects {
        limit: usize,
    },
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Issue::NotUtf8 => f.write_str("is not UTF-8 text"),
            Issue::NotJson(e) => write!(f, "is not JSON ({e})"),
            Issue::TooLarge { len, cap } => write!(f, "is {len} bytes, over the {} MiB cap", cap >> 20),
            Issue::TooManyValues { limit } => write!(f, "holds more than {limit} JSON values"),
            Issue::TooDeep { pointer } => {
                write!(f, "nests deeper than the walk limit below `{}`", dotted(pointer))
            }
            Issue::TooManyObjects { limit } => write!(f, "holds more than {limit} objects"),
        }
    }
}

/// Parse a configuration document (bounded size; serde_json bounds the nesting).
pub fn parse_config(bytes: &[u8], limits: &Limits) -> Result<Value, Issue> {
    if bytes.len() > limits.max_config {
        return Err(Issue::TooLarge {
            len: bytes.len(),
            cap: limits.max_config,
        });
    }
    let values = bytes.iter().filter(|b| matches!(b, b',' | b':' | b'[' | b'{')).count();
    if values > limits.max_values {
        return Err(Issue::TooManyValues {
            limit: limits.max_values,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Issue::NotUtf8)?;
    serde_json::from_str(text).map_err(|e| Issue::NotJson(e.to_string()))
}

/// `metadata.json` of a `.keras` zip: a JSON object (`keras_version`, `date_saved`).
pub fn parse_metadata(bytes: &[u8], limits: &Limits) -> Result<Option<String>, Issue> {
    match parse_config(bytes, limits)? {
        Value::Object(m) => Ok(m.get("keras_version").and_then(Value::as_str).map(str::to_string)),
        other => Err(Issue::NotJson(format!("a JSON {} instead of an object", kind(&other)))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One `{class_name, …}` object of a configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Object<'a> {
    /// JSON pointer of the object.
    pub pointer: String,
    pub class_name: &'a str,
    pub module: Option<&'a str>,
    pub registered_name: Option<&'a str>,
    pub config: Option<&'a Value>,
}

/// Every object with a string `class_name`, depth first in document order.
pub fn objects<'a>(root: &'a Value, limits: &Limits) -> (Vec<Object<'a>>, Vec<Issue>) {
    let mut out = Vec::new();
    let mut issues = Vec::new();
    let mut path = String::new();
    walk(root, &mut path, 0, limits, &mut out, &mut issues);
    (out, issues)
}

fn walk<'a>(
    v: &'a Value,
    path: &mut String,
    depth: usize,
    limits: &Limits,
    out: &mut Vec<Object<'a>>,
    issues: &mut Vec<Issue>,
) {
    if out.len() >= limits.max_objects {
        if !issues.iter().any(|i| matches!(i, Issue::TooManyObjects { .. })) {
            issues.push(Issue::TooManyObjects {
                limit: limits.max_objects,
            });
        }
        return;
    }
    if depth > limits.max_depth {
        issues.push(Issue::TooDeep { pointer: path.clone() });
        return;
    }
    match v {
        Value::Object(m) => {
            if let Some(class_name) = m.get("class_name").and_then(Value::as_str) {
                out.push(Object {
                    pointer: path.clone(),
                    class_name,
                    module: m.get("module").and_then(Value::as_str),
                    registered_name: m.get("registered_name").and_then(Value::as_str),
                    config: m.get("config"),
                });
            }
            for (k, child) in m {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                walk(child, path, depth + 1, limits, out, issues);
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                walk(child, path, depth + 1, limits, out, issues);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// A JSON pointer as people read it: `/config/layers/3/config/function` →
/// `config.layers[3].config.function`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&part);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    if out.is_empty() {
        out.push_str("(root)");
    }
    out
}

/// Append a component to a JSON pointer.
pub fn child(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// What a marshaled code object names: enough to show what a Lambda would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeSummary {
    /// Bytes of decoded bytecode.
    pub len: usize,
    /// Global and attribute names the code uses (`co_names`, of nested code objects too).
    pub names: Vec<String>,
    /// String constants.
    pub strings: Vec<String>,
    /// Function names (`co_name`).
    pub functions: Vec<String>,
    /// Set when the walk stopped early (not a code object, truncated, a limit); whatever was
    /// found before is kept, and printable identifiers were scraped instead if nothing was.
    pub incomplete: Option<String>,
}

/// Decode a Lambda's base64 code and summarise the marshaled code object in it.
pub fn marshal_summary(b64: &str, limits: &Limits) -> Result<CodeSummary, String> {
    // Upper bound of the decoded size, checked before decoding.
    if b64.len() / 4 * 3 > limits.max_code {
        return Err(format!(
            "the encoded bytecode is {} bytes, over the {} MiB cap",
            b64.len(),
            limits.max_code >> 20
        ));
    }
    let cleaned: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('=')))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .map_err(|e| format!("the bytecode is not base64 ({e})"))?;
    Ok(summarise_marshal(&bytes, limits))
}

/// Walk marshal data (CPython 3.8+ code objects). The code-object field layout changed in 3.11,
/// so both layouts are tried and the one that reads to the end wins; if neither does, the
/// printable identifiers of the data are scraped instead.
pub fn summarise_marshal(bytes: &[u8], limits: &Limits) -> CodeSummary {
    let mut best: Option<CodeSummary> = None;
    for layout in [Layout::Py311, Layout::Py38] {
        let mut m = Marshal {
            data: bytes,
            pos: 0,
            layout,
            refs: Vec::new(),
            visited: 0,
            max: limits.max_marshal_values,
            out: CodeSummary {
                len: bytes.len(),
                ..CodeSummary::default()
            },
        };
        match m.value(0) {
            Ok(V::Code) if m.pos == bytes.len() => return m.finish(),
            Ok(V::Code) => m.out.incomplete = Some(format!("{} bytes after the code object", bytes.len() - m.pos)),
            Ok(_) => m.out.incomplete = Some("not a code object".into()),
            Err(e) => m.out.incomplete = Some(e),
        }
        let found = m.finish();
        let better = best
            .as_ref()
            .is_none_or(|b| found.names.len() + found.strings.len() > b.names.len() + b.strings.len());
        if better {
            best = Some(found);
        }
    }
    let mut out = best.unwrap_or_default();
    if out.names.is_empty() && out.strings.is_empty() {
        out.names = scrape_identifiers(bytes);
    }
    out
}

/// Printable identifier-like runs of at least three bytes, in order, without repeats.
fn scrape_identifiers(bytes: &[u8]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for run in bytes.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_')) {
        if run.len() >= 3 && run.len() <= 64 && !run[0].is_ascii_digit() {
            let s = String::from_utf8_lossy(run).into_owned();
            if !out.contains(&s) && out.len() < 64 {
                out.push(s);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 3.8–3.10: argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags, code,
    /// consts, names, varnames, freevars, cellvars, filename, name, firstlineno, lnotab.
    Py38,
    /// 3.11+: argcount, posonlyargcount, kwonlyargcount, stacksize, flags, code, consts,
    /// names, localsplusnames, localspluskinds, filename, name, qualname, firstlineno,
    /// linetable, exceptiontable.
    Py311,
}

/// What a marshal value was, as far as the summary needs.
#[derive(Debug, Clone)]
enum V {
    Str(String),
    Tuple(Vec<V>),
    Code,
    Other,
}

struct Marshal<'a> {
    data: &'a [u8],
    pos: usize,
    layout: Layout,
    /// Values stored with FLAG_REF, for `r` back-references (strings kept, the rest opaque).
    refs: Vec<V>,
    visited: usize,
    max: usize,
    out: CodeSummary,
}

const MAX_MARSHAL_DEPTH: usize = 64;

impl Marshal<'_> {
    fn finish(mut self) -> CodeSummary {
        for list in [&mut self.out.names, &mut self.out.strings, &mut self.out.functions] {
            let mut seen = std::collections::BTreeSet::new();
            list.retain(|s| seen.insert(s.clone()));
        }
        self.out
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(format!("truncated at byte {}", self.pos));
        };
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn i32(&mut self) -> Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len32(&mut self) -> Result<usize, String> {
        let n = self.i32()?;
        let n = usize::try_from(n).map_err(|_| format!("negative length at byte {}", self.pos))?;
        if n > self.data.len() - self.pos.min(self.data.len()) {
            return Err(format!("length {n} at byte {} runs past the end", self.pos));
        }
        Ok(n)
    }

    fn value(&mut self, depth: usize) -> Result<V, String> {
        if depth > MAX_MARSHAL_DEPTH {
            return Err("nested too deeply".into());
        }
        self.visited += 1;
        if self.visited > self.max {
            return Err(format!("more than {} values", self.max));
        }
        let code = self.u8()?;
        let flag = code & 0x80 != 0;
        let t = code & 0x7f;
        // Containers and code objects take their reference slot before their children.
        let slot = if flag && matches!(t, b'(' | b')' | b'[' | b'{' | b'<' | b'>' | b'c') {
            self.refs.push(V::Other);
            Some(self.refs.len() - 1)
        } else {
            None
        };
        let v = match t {
            b'0' | b'N' | b'F' | b'T' | b'S' | b'.' => V::Other,
            b'i' => {
                self.take(4)?;
                V::Other
            }
            b'I' | b'g' => {
                self.take(8)?;
                V::Other
            }
            b'y' => {
                self.take(16)?;
                V::Other
            }
            b'l' => {
                let n = self.i32()?.unsigned_abs() as usize;
                self.take(n.checked_mul(2).ok_or("long too large")?)?;
                V::Other
            }
            b'f' => {
                let n = self.u8()? as usize;
                self.take(n)?;
                V::Other
            }
            b'x' => {
                for _ in 0..2 {
                    let n = self.u8()? as usize;
                    self.take(n)?;
                }
                V::Other
            }
            b's' => {
                let n = self.len32()?;
                self.take(n)?;
                V::Other
            }
            b't' | b'u' | b'a' | b'A' => {
                let n = self.len32()?;
                V::Str(String::from_utf8_lossy(self.take(n)?).into_owned())
            }
            b'z' | b'Z' => {
                let n = self.u8()? as usize;
                V::Str(String::from_utf8_lossy(self.take(n)?).into_owned())
            }
            // `)` is a small tuple (one-byte length), `(` a tuple.
            b')' => {
                let n = self.u8()? as usize;
                self.items(n, depth)?
            }
            b'(' | b'[' | b'<' | b'>' => {
                let n = self.len32()?;
                self.items(n, depth)?
            }
            b'{' => {
                loop {
                    if self.data.get(self.pos) == Some(&b'0') {
                        self.pos += 1;
                        break;
                    }
                    self.value(depth + 1)?;
                    self.value(depth + 1)?;
                }
                V::Other
            }
            b':' => {
                for _ in 0..3 {
                    self.value(depth + 1)?;
                }
                V::Other
            }
            b'r' => {
                let i = self.i32()?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.refs.get(i).cloned())
                    .ok_or_else(|| format!("bad reference {i}"))?
            }
            b'c' => self.code(depth)?,
            other => return Err(format!("unknown marshal type 0x{other:02x} at byte {}", self.pos - 1)),
        };
        if flag {
            match slot {
                Some(i) => self.refs[i] = v.clone(),
                None => self.refs.push(v.clone()),
            }
        }
        Ok(v)
    }

    fn items(&mut self, n: usize, depth: usize) -> Result<V, String> {
        let mut items = Vec::new();
        for _ in 0..n {
            let v = self.value(depth + 1)?;
            if items.len() < 4096 {
                items.push(v);
            }
        }
        Ok(V::Tuple(items))
    }

    fn code(&mut self, depth: usize) -> Result<V, String> {
        let ints = if self.layout == Layout::Py311 { 5 } else { 6 };
        self.take(4 * ints)?;
        self.value(depth + 1)?; // co_code
        let consts = self.value(depth + 1)?;
        let names = self.value(depth + 1)?;
        let strings: Vec<String> = strs(&consts);
        self.out.strings.extend(strings);
        self.out.names.extend(strs(&names));
        let (objects_before_name, after_name) = match self.layout {
            // varnames, freevars, cellvars, filename | name | firstlineno (int), lnotab
            Layout::Py38 => (4, 0),
            // localsplusnames, localspluskinds, filename | name | qualname, firstlineno, linetable, exceptiontable
            Layout::Py311 => (3, 1),
        };
        for _ in 0..objects_before_name {
            self.value(depth + 1)?;
        }
        let name = self.value(depth + 1)?;
        if let V::Str(n) = name {
            self.out.functions.push(n);
        }
        for _ in 0..after_name {
            self.value(depth + 1)?;
        }
        self.take(4)?; // firstlineno
        let tail = if self.layout == Layout::Py311 { 2 } else { 1 };
        for _ in 0..tail {
            self.value(depth + 1)?;
        }
        Ok(V::Code)
    }
}

fn strs(v: &V) -> Vec<String> {
    match v {
        V::Str(s) => vec![s.clone()],
        V::Tuple(items) => items
            .iter()
            .filter_map(|i| match i {
                V::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_as_dotted_paths() {
        for (p, want) in [
            ("", "(root)"),
            ("/config/layers/3/config/function", "config.layers[3].config.function"),
            ("/a~1b/c~0d", "a/b.c~d"),
            ("/0/1", "[0][1]"),
        ] {
            assert_eq!(dotted(p), want, "{p}");
        }
        assert_eq!(child("/config", "a/b"), "/config/a~1b");
    }

    #[test]
    fn objects_are_listed_with_pointers_through_nesting() {
        let v: Value = serde_json::from_str(
            r#"{"class_name":"Sequential","config":{"layers":[
                {"class_name":"Dense","config":{"units":1}},
                {"class_name":"TimeDistributed","config":{"layer":{"class_name":"Sequential","config":{"layers":[
                    {"class_name":"Lambda","module":"keras.layers","config":{"function":{"class_name":"__lambda__","config":{"code":"AA=="}}}}]}}}}
            ]}}"#,
        )
        .unwrap();
        let (objs, issues) = objects(&v, &Limits::default());
        assert!(issues.is_empty());
        let found: Vec<(&str, String)> = objs.iter().map(|o| (o.class_name, dotted(&o.pointer))).collect();
        assert_eq!(
            found,
            vec![
                ("Sequential", "(root)".to_string()),
                ("Dense", "config.layers[0]".to_string()),
                ("TimeDistributed", "config.layers[1]".to_string()),
                ("Sequential", "config.layers[1].config.layer".to_string()),
                ("Lambda", "config.layers[1].config.layer.config.layers[0]".to_string()),
                (
                    "__lambda__",
                    "config.layers[1].config.layer.config.layers[0].config.function".to_string()
                ),
            ]
        );
        assert_eq!(objs[4].module, Some("keras.layers"));
    }

    #[test]
    fn limits_are_issues() {
        let deep = "[".repeat(50) + &"]".repeat(50);
        let v: Value = serde_json::from_str(&deep).unwrap();
        let tight = Limits {
            max_depth: 10,
            ..Limits::default()
        };
        let (_, issues) = objects(&v, &tight);
        assert!(matches!(issues[0], Issue::TooDeep { .. }));
        let many = format!("[{}]", vec![r#"{"class_name":"A"}"#; 20].join(","));
        let v: Value = serde_json::from_str(&many).unwrap();
        let (objs, issues) = objects(
            &v,
            &Limits {
                max_objects: 5,
                ..Limits::default()
            },
        );
        assert_eq!(objs.len(), 5);
        assert_eq!(issues, vec![Issue::TooManyObjects { limit: 5 }]);
        type Case<'a> = (&'a [u8], fn(&Issue) -> bool);
        let cases: [Case<'_>; 4] = [
            (b"{not json", |i| matches!(i, Issue::NotJson(_))),
            (b"\xff\xfe", |i| matches!(i, Issue::NotUtf8)),
            (&[b'['; 1000], |i| matches!(i, Issue::NotJson(_))),
            (b"\"x\"", |_| false),
        ];
        for (bytes, want) in cases {
            match parse_config(bytes, &Limits::default()) {
                Err(e) => assert!(want(&e), "{e:?}"),
                Ok(v) => assert!(v.is_string()),
            }
        }
        let small = Limits {
            max_config: 4,
            ..Limits::default()
        };
        assert_eq!(
            parse_config(b"[1,2,3]", &small),
            Err(Issue::TooLarge { len: 7, cap: 4 })
        );
        let few = Limits {
            max_values: 2,
            ..Limits::default()
        };
        assert_eq!(parse_config(b"[1,2,3]", &few), Err(Issue::TooManyValues { limit: 2 }));
        assert!(parse_metadata(b"[]", &Limits::default()).is_err());
        assert_eq!(
            parse_metadata(br#"{"keras_version":"3.15.1"}"#, &Limits::default()),
            Ok(Some("3.15.1".into()))
        );
    }

    #[test]
    fn marshal_walk_finds_names_and_strings() {
        // marshal.dumps(compile("lambda x: __import__('os').system('id') or x", "<p>", "eval")
        //   .co_consts[0]) on CPython 3.11.
        let b64 = "4wEAAAAAAAAAAAAAAAMAAAADAAAA80oAAACXAHQBAAAAAAAAAAAAAGQBpgEAAKsBAAAAAAAAAACgAQAAAAAAAAAAAAAAAAAAAAAAAAAAZAKmAQAAqwEAAAAAAAAAAHABfABTACkDTtoCb3PaAmlkKQLaCl9faW1wb3J0X1/aBnN5c3RlbSkB2gF4cwEAAAAg+gM8cD76CDxsYW1iZGE+cggAAAABAAAAcyEAAACAAI0qkFTRChrUChrXCiHSCiGgJNEKJ9QKJ9AKLKgxgADzAAAAAA==";
        let s = marshal_summary(b64, &Limits::default()).unwrap();
        assert_eq!(s.incomplete, None, "{s:?}");
        assert!(s.names.contains(&"__import__".to_string()), "{s:?}");
        assert!(s.names.contains(&"system".to_string()), "{s:?}");
        assert!(s.strings.contains(&"os".to_string()), "{s:?}");
        assert!(s.strings.contains(&"id".to_string()), "{s:?}");
        assert_eq!(s.functions, vec!["<lambda>".to_string()]);
    }

    #[test]
    fn marshal_garbage_is_scraped_never_panics() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0xe3],
            vec![0xe3, 0xff, 0xff, 0xff, 0x7f],
            b"r\xff\xff\xff\xff".to_vec(),
            b")\x05zzzz".to_vec(),
            [b"\xe3".as_slice(), &[0u8; 20], b"s\xff\xff\xff\x7f"].concat(),
            b"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{".to_vec(),
            b"garbage with os system words".to_vec(),
        ];
        for c in &cases {
            let s = summarise_marshal(c, &Limits::default());
            assert!(s.incomplete.is_some() || c.is_empty(), "{c:?}");
        }
        let s = summarise_marshal(b"garbage with os system words", &Limits::default());
        assert!(s.names.contains(&"system".to_string()));
        assert!(marshal_summary("!!!not base64!!!", &Limits::default()).is_err());
        let huge = "A".repeat(8 << 20);
        assert!(marshal_summary(&huge, &Limits::default()).is_err());
    }
}
