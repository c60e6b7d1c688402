//! Secrets in prompt text (PRM4xx): provider API keys and tokens, private-key blocks, JWTs and
//! high-entropy values assigned to credential-like names.
//!
//! The formats are data (`rules/prompts/secrets.yaml`); this module compiles them into one
//! Aho-Corasick automaton over every literal prefix (plus `-----BEGIN ` and `eyJ`) and one
//! two-byte finder for `=`/`:` (assignments). Each candidate is then checked where it stands:
//! an anchored regex, token boundaries, a checksum or decoding, entropy. No regex ever runs over
//! the whole text.

use super::{mask_secret, Hit};
use crate::finding::Severity;
use crate::rules::{Rule, RulesError};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use regex::Regex;
use serde::Deserialize;
use sha2::{Digest, Sha256};

const BUILTIN_FILE: &str = "rules/prompts/secrets.yaml";
/// `rules/prompts/secrets.yaml`, re-encoded as JSON by `build.rs`.
const BUILTIN: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/prompts/secrets.json"));

/// The placeholder kinds `--redact replace` may write; a rules entry must name one of them
/// (a closed set, so `Hit::redact` stays `&'static str`).
const REDACT_KINDS: &[&str] = &[
    "SECRET",
    "PRIVATE_KEY",
    "JWT",
    "OPENAI_KEY",
    "ANTHROPIC_KEY",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "GITHUB_TOKEN",
    "GITLAB_TOKEN",
    "SLACK_TOKEN",
    "SLACK_WEBHOOK",
    "GOOGLE_API_KEY",
    "STRIPE_KEY",
    "HUGGINGFACE_TOKEN",
    "AZURE_KEY",
    "NPM_TOKEN",
    "SENDGRID_KEY",
    "TWILIO_KEY",
    "PYPI_TOKEN",
    "GROQ_KEY",
];

/// How far an anchored provider pattern may look past its prefix.
const MAX_TOKEN: usize = 1024;
/// How far back from `=`/`:` the name of an assignment is looked for.
const MAX_NAME: usize = 64;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSpec {
    pub providers: Vec<ProviderEntry>,
    pub keyed: Vec<KeyedEntry>,
    pub documentation: DocumentationEntry,
    pub private_key: PrivateKeyEntry,
    pub jwt: Examples,
    pub generic: GenericEntry,
}

/// How a match is checked beyond its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validate {
    #[default]
    None,
    /// GitHub classic tokens and npm tokens: the last six base62 characters are the CRC32 of
    /// the random part between the `xxx_` prefix and them.
    GithubCrc32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderEntry {
    pub name: String,
    pub provider: String,
    pub prefixes: Vec<String>,
    pub pattern: String,
    pub severity: Severity,
    pub redact: String,
    #[serde(default)]
    pub validate: Validate,
    #[serde(default)]
    pub min_entropy: f64,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedEntry {
    pub name: String,
    pub provider: String,
    pub keywords: Vec<String>,
    pub pattern: String,
    #[serde(default)]
    pub near: Option<String>,
    #[serde(default)]
    pub near_window: usize,
    pub severity: Severity,
    pub redact: String,
    #[serde(default)]
    pub min_entropy: f64,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentationEntry {
    pub values: Vec<String>,
    pub markers: Vec<String>,
    #[serde(default)]
    pub matches: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivateKeyEntry {
    pub pattern: String,
    pub min_body: usize,
    pub max_len: usize,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericEntry {
    pub keywords: Vec<String>,
    pub placeholders: Vec<String>,
    pub words: Vec<String>,
    pub min_length: usize,
    pub max_length: usize,
    pub min_entropy: f64,
    pub min_entropy_mixed: f64,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

impl SecretSpec {
    pub fn builtin() -> Result<SecretSpec, RulesError> {
        serde_json::from_str(BUILTIN).map_err(|e| RulesError::Parse {
            file: BUILTIN_FILE.into(),
            message: e.to_string(),
        })
    }
}

#[derive(Debug)]
struct Provider {
    name: String,
    provider: String,
    prefixes: Vec<String>,
    /// `^(?:pattern)`, run on the text from the prefix on.
    re: Regex,
    /// The shortest literal prefix: what evidence may show.
    shown: usize,
    severity: Severity,
    redact: &'static str,
    validate: Validate,
    min_entropy: f64,
}

#[derive(Debug)]
struct Keyed {
    name: String,
    provider: String,
    keywords: Vec<String>,
    /// `^(?:pattern)$`, run on an assigned value.
    re: Regex,
    /// The same pattern, for the window after a `near` hit.
    loose: Regex,
    near: Option<usize>,
    near_window: usize,
    severity: Severity,
    redact: &'static str,
    min_entropy: f64,
}

#[derive(Debug)]
struct Generic {
    keywords: Vec<String>,
    placeholders: Vec<String>,
    words: Vec<String>,
    min_length: usize,
    max_length: usize,
    min_entropy: f64,
    min_entropy_mixed: f64,
}

/// What an Aho-Corasick pattern stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Provider(usize),
    PrivateKey,
    Jwt,
}

#[derive(Debug)]
pub struct SecretDetector {
    triggers: AhoCorasick,
    trigger_kind: Vec<Trigger>,
    providers: Vec<Provider>,
    keyed: Vec<Keyed>,
    assign: AhoCorasick,
    /// Last bytes (lowercase) of every assignment keyword: a cheap first test of a name.
    name_end: [bool; 256],
    doc_values: Vec<String>,
    doc_markers: Vec<String>,
    pem: Regex,
    pem_min_body: usize,
    pem_max_len: usize,
    generic: Generic,
}

fn entry_err(entry: &str, message: String) -> RulesError {
    RulesError::Entry {
        file: BUILTIN_FILE.into(),
        entry: entry.into(),
        message,
    }
}

fn redact_kind(entry: &str, kind: &str) -> Result<&'static str, RulesError> {
    REDACT_KINDS.iter().copied().find(|k| *k == kind).ok_or_else(|| {
        entry_err(
            entry,
            format!("unknown redact kind `{kind}` (one of {})", REDACT_KINDS.join(", ")),
        )
    })
}

fn compile(entry: &str, pattern: &str) -> Result<Regex, RulesError> {
    Regex::new(pattern).map_err(|e| entry_err(entry, e.to_string()))
}

impl SecretDetector {
    pub fn builtin() -> Result<Self, RulesError> {
        Self::compile(&SecretSpec::builtin()?)
    }

    pub fn compile(spec: &SecretSpec) -> Result<Self, RulesError> {
        let mut literals: Vec<String> = Vec::new();
        let mut trigger_kind = Vec::new();
        let mut providers = Vec::new();
        for (i, p) in spec.providers.iter().enumerate() {
            if p.prefixes.is_empty() || p.prefixes.iter().any(|x| !x.is_ascii() || x.is_empty()) {
                return Err(entry_err(&p.name, "prefixes must be non-empty ASCII literals".into()));
            }
            for x in &p.prefixes {
                literals.push(x.clone());
                trigger_kind.push(Trigger::Provider(i));
            }
            providers.push(Provider {
                name: p.name.clone(),
                provider: p.provider.clone(),
                prefixes: p.prefixes.clone(),
                re: compile(&p.name, &format!("^(?:{})", p.pattern))?,
                shown: p.prefixes.iter().map(String::len).min().unwrap_or(0),
                severity: p.severity,
                redact: redact_kind(&p.name, &p.redact)?,
                validate: p.validate,
                min_entropy: p.min_entropy,
            });
        }
        literals.push("-----BEGIN ".into());
        trigger_kind.push(Trigger::PrivateKey);
        literals.push("eyJ".into());
        trigger_kind.push(Trigger::Jwt);
        let triggers = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&literals)
            .map_err(|e| entry_err("providers", e.to_string()))?;

        let mut keyed = Vec::new();
        for k in &spec.keyed {
            let near = match &k.near {
                None => None,
                Some(n) => Some(
                    providers
                        .iter()
                        .position(|p| &p.name == n)
                        .ok_or_else(|| entry_err(&k.name, format!("`near: {n}` names no provider")))?,
                ),
            };
            keyed.push(Keyed {
                name: k.name.clone(),
                provider: k.provider.clone(),
                keywords: k.keywords.iter().map(|w| w.to_ascii_lowercase()).collect(),
                re: compile(&k.name, &format!("^(?:{})$", k.pattern))?,
                loose: compile(&k.name, &k.pattern)?,
                near,
                near_window: k.near_window,
                severity: k.severity,
                redact: redact_kind(&k.name, &k.redact)?,
                min_entropy: k.min_entropy,
            });
        }
        let g = &spec.generic;
        let generic = Generic {
            keywords: g.keywords.iter().map(|w| w.to_ascii_lowercase()).collect(),
            placeholders: g.placeholders.iter().map(|w| w.to_ascii_lowercase()).collect(),
            words: g.words.iter().map(|w| w.to_ascii_lowercase()).collect(),
            min_length: g.min_length,
            max_length: g.max_length,
            min_entropy: g.min_entropy,
            min_entropy_mixed: g.min_entropy_mixed,
        };
        let mut name_end = [false; 256];
        for w in generic
            .keywords
            .iter()
            .chain(keyed.iter().flat_map(|k| k.keywords.iter()))
        {
            if let Some(&b) = w.as_bytes().last() {
                name_end[usize::from(b.to_ascii_lowercase())] = true;
            }
        }
        let assign = AhoCorasick::new(["=", ":"]).map_err(|e| entry_err("generic", e.to_string()))?;
        Ok(SecretDetector {
            triggers,
            trigger_kind,
            providers,
            keyed,
            assign,
            name_end,
            doc_values: spec.documentation.values.clone(),
            doc_markers: spec.documentation.markers.clone(),
            pem: compile("private_key", &format!("^(?:{})", spec.private_key.pattern))?,
            pem_min_body: spec.private_key.min_body,
            pem_max_len: spec.private_key.max_len,
            generic,
        })
    }

    pub fn scan(&self, text: &str, out: &mut Vec<Hit>) {
        let first = out.len();
        let bytes = text.as_bytes();
        // Spans already reported by this detector: later, weaker checks skip them.
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut resume = 0;
        for m in self.triggers.find_iter(text) {
            let s = m.start();
            if s < resume {
                continue;
            }
            let Some(&kind) = self.trigger_kind.get(m.pattern().as_usize()) else {
                continue;
            };
            // Leftmost-first reports one prefix per position; every provider whose prefix
            // stands there is tried, in file order (`sk-ant-` before `sk-`).
            let mut found = None;
            match kind {
                Trigger::Provider(_) => {
                    for (i, p) in self.providers.iter().enumerate() {
                        if p.prefixes.iter().any(|x| text[s..].starts_with(x.as_str())) {
                            if let Some(h) = self.provider_at(text, s, i) {
                                found = Some((h, Trigger::Provider(i)));
                                break;
                            }
                        }
                    }
                }
                Trigger::PrivateKey => found = self.private_key_at(text, s).map(|h| (h, kind)),
                Trigger::Jwt => found = jwt_at(text, s).map(|h| (h, kind)),
            }
            if let Some((hit, kind)) = found {
                resume = hit.end;
                taken.push((hit.start, hit.end));
                if let Trigger::Provider(i) = kind {
                    self.near_secrets(text, i, hit.end, &mut taken, out);
                }
                out.push(hit);
            }
        }
        // Assignments: `name = value`, `"name": "value"`, `name := value`, `name => value`.
        for m in self.assign.find_iter(text) {
            let p = m.start();
            if let Some(hit) = self.assignment_at(text, bytes, p, &taken) {
                taken.push((hit.start, hit.end));
                out.push(hit);
            }
        }
        // Passwords in URLs: `postgres://app:S3cr3t@db/prod`, `https://user:pass@host/`.
        for p in memchr::memmem::find_iter(bytes, b"://") {
            if let Some(hit) = self.url_password_at(text, p, &taken) {
                taken.push((hit.start, hit.end));
                out.push(hit);
            }
        }
        // Keep this family's hits in position order (near secrets were found out of order).
        out[first..].sort_by_key(|h| (h.start, h.end));
    }

    /// The password of a URL whose `://` is at `p` (`scheme://user:password@host`), judged as
    /// a generic assignment's value is (placeholders, length, entropy). PRM404: a URL names no
    /// provider.
    fn url_password_at(&self, text: &str, p: usize, taken: &[(usize, usize)]) -> Option<Hit> {
        let bytes = text.as_bytes();
        // The scheme: a letter, then letters, digits, `+`, `-`, `.` (RFC 3986).
        let mut s = p;
        while s > 0
            && p - s < 32
            && (bytes[s - 1].is_ascii_alphanumeric() || matches!(bytes[s - 1], b'+' | b'-' | b'.'))
        {
            s -= 1;
        }
        if s == p || !bytes[s].is_ascii_alphabetic() {
            return None;
        }
        // The user information: up to the first `@` of the authority (which ends at `/`, a
        // quote or a blank; `#` and `?` belong to a password written unencoded, as people
        // do); the password follows the first `:`.
        let start = p + 3;
        let (mut colon, mut at) = (None, None);
        for (k, &b) in bytes
            .get(start..)?
            .iter()
            .enumerate()
            .take(self.generic.max_length + 64)
        {
            match b {
                b'@' => {
                    at = Some(start + k);
                    break;
                }
                b':' if colon.is_none() => colon = Some(start + k),
                b'/' | b'"' | b'\'' | b'`' | b'<' | b'>' | b'\\' => return None,
                _ if b.is_ascii_whitespace() => return None,
                _ => {}
            }
        }
        let (vs, ve) = (colon? + 1, at?);
        let host = bytes.get(ve + 1)?;
        if !(host.is_ascii_alphanumeric() || *host == b'[') || vs >= ve || overlaps(taken, vs, ve) {
            return None;
        }
        let value = text.get(vs..ve)?;
        let lvalue = value.to_ascii_lowercase();
        let g = &self.generic;
        if g.placeholders.iter().any(|ph| lvalue.contains(ph.as_str())) || !generic_value_ok(g, value, &lvalue, true) {
            return None;
        }
        let scheme = &text[s..p];
        Some(generic_hit(
            (vs, ve, value),
            "url-password",
            format!("a password in a `{scheme}://` URL"),
            format!("{scheme}://…:{}@…", mask_secret(value, 0)),
        ))
    }

    fn provider_at(&self, text: &str, s: usize, i: usize) -> Option<Hit> {
        let p = self.providers.get(i)?;
        let bytes = text.as_bytes();
        if s > 0 && is_word_byte(bytes[s - 1]) {
            return None;
        }
        let window = &text[s..floor_boundary(text, s + MAX_TOKEN)];
        let m = p.re.find(window)?;
        let end = s + m.end();
        if bytes.get(end).is_some_and(|&b| is_token_byte(b)) {
            return None;
        }
        let value = &text[s..end];
        if p.min_entropy > 0.0 && entropy(value.as_bytes()) < p.min_entropy {
            return None;
        }
        if value.len() >= 16 && entropy(value.as_bytes()) < 3.0 {
            return None;
        }
        if p.validate == Validate::GithubCrc32 && !github_crc32_ok(value) {
            return None;
        }
        Some(self.secret_hit(
            Rule::SecretProviderKey,
            &p.name,
            &p.provider,
            p.severity,
            p.redact,
            s,
            end,
            value,
            mask_secret(value, p.shown),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn secret_hit(
        &self,
        rule: Rule,
        name: &str,
        provider: &str,
        severity: Severity,
        redact: &'static str,
        start: usize,
        end: usize,
        value: &str,
        evidence: String,
    ) -> Hit {
        let documented = self.is_documented(value);
        let (severity, note) = if documented {
            (Severity::Low, " (a documented example value)")
        } else {
            (severity, "")
        };
        Hit {
            rule,
            severity,
            start,
            end,
            message: format!(
                "{provider} credential ({name}) in the text{note}; revoke it at the provider and remove it"
            ),
            evidence,
            key: value_key(name, value),
            redact: Some(redact),
        }
    }

    fn is_documented(&self, value: &str) -> bool {
        self.doc_values.iter().any(|d| value.contains(d.as_str()))
            || self.doc_markers.iter().any(|m| value.contains(m.as_str()))
    }

    /// Values of a keyed entry that stand shortly after a hit of the provider they belong to
    /// (an AWS secret access key after its key id).
    fn near_secrets(
        &self,
        text: &str,
        provider: usize,
        from: usize,
        taken: &mut Vec<(usize, usize)>,
        out: &mut Vec<Hit>,
    ) {
        for k in self.keyed.iter().filter(|k| k.near == Some(provider)) {
            let to = floor_boundary(text, from.saturating_add(k.near_window));
            let window = &text[from..to];
            let bytes = window.as_bytes();
            for m in k.loose.find_iter(window) {
                let (s, e) = (m.start(), m.end());
                let before = s.checked_sub(1).and_then(|i| bytes.get(i)).copied();
                if before.is_some_and(is_b64_byte) || bytes.get(e).copied().is_some_and(is_b64_byte) {
                    continue;
                }
                let value = m.as_str();
                if value.bytes().all(|b| b.is_ascii_hexdigit())
                    || entropy(value.as_bytes()) < k.min_entropy
                    || !mixed_case(value)
                {
                    continue;
                }
                let (start, end) = (from + s, from + e);
                if overlaps(taken, start, end) {
                    continue;
                }
                taken.push((start, end));
                out.push(self.secret_hit(
                    Rule::SecretProviderKey,
                    &k.name,
                    &k.provider,
                    k.severity,
                    k.redact,
                    start,
                    end,
                    value,
                    mask_secret(value, 0),
                ));
            }
        }
    }

    fn private_key_at(&self, text: &str, s: usize) -> Option<Hit> {
        let window = &text[s..floor_boundary(text, s + 128)];
        let caps = self.pem.captures(window)?;
        let header_end = s + caps.get(0)?.end();
        let label = caps.get(1).map_or("PRIVATE KEY", |m| m.as_str());
        let limit = floor_boundary(text, header_end.saturating_add(self.pem_max_len));
        let rest = &text[header_end..limit];
        let footer = format!("-----END {label}-----");
        let (body, end) = match rest.find(&footer) {
            Some(i) => (&rest[..i], header_end + i + footer.len()),
            None => {
                // No END line: the block runs as far as armour characters go.
                let n = rest
                    .bytes()
                    .position(|b| {
                        !(is_b64_byte(b) || b.is_ascii_whitespace() || matches!(b, b'\\' | b':' | b'-' | b','))
                    })
                    .unwrap_or(rest.len());
                let body = rest[..n].trim_end();
                (body, header_end + body.len())
            }
        };
        let body_chars = body
            .replace("\\n", " ")
            .replace("\\r", " ")
            .bytes()
            .filter(|&b| is_b64_byte(b))
            .count();
        if body_chars < self.pem_min_body {
            return None;
        }
        let block = &text[s..end];
        Some(Hit {
            rule: Rule::SecretPrivateKey,
            severity: Severity::Critical,
            start: s,
            end,
            message: format!("a {label} block in the text: whoever reads it holds the key"),
            evidence: format!("-----BEGIN {label}-----{}", mask_secret(&block[header_end - s..], 0)),
            key: value_key("private-key", block),
            redact: Some("PRIVATE_KEY"),
        })
    }

    fn assignment_at(&self, text: &str, bytes: &[u8], p: usize, taken: &[(usize, usize)]) -> Option<Hit> {
        let sep = *bytes.get(p)?;
        let next = bytes.get(p + 1).copied();
        let prev = p.checked_sub(1).and_then(|i| bytes.get(i)).copied();
        // `==`, `!=`, `<=`, `>=` compare; `:=` is handled at the `:`; `::` is a path.
        if sep == b'=' && (matches!(next, Some(b'=')) || matches!(prev, Some(b'=' | b'!' | b'<' | b'>' | b':'))) {
            return None;
        }
        if sep == b':' && (matches!(next, Some(b':')) || matches!(prev, Some(b':'))) {
            return None;
        }
        // The name: back over blanks and a closing quote, then identifier characters.
        let mut j = p;
        while j > 0 && j + 8 > p && matches!(bytes[j - 1], b' ' | b'\t') {
            j -= 1;
        }
        if j > 0 && matches!(bytes[j - 1], b'"' | b'\'') {
            j -= 1;
        }
        let name_end = j;
        let last = *bytes.get(name_end.checked_sub(1)?)?;
        if !self.name_end[usize::from(last.to_ascii_lowercase())] {
            return None;
        }
        while j > 0 && name_end - j < MAX_NAME && is_name_byte(bytes[j - 1]) {
            j -= 1;
        }
        if j == name_end {
            return None;
        }
        let name = &text[j..name_end];
        let ends = |w: &String| {
            name.len() >= w.len() && name.as_bytes()[name.len() - w.len()..].eq_ignore_ascii_case(w.as_bytes())
        };
        if !self.generic.keywords.iter().any(ends) && !self.keyed.iter().any(|k| k.keywords.iter().any(ends)) {
            return None;
        }
        let lname = name.to_ascii_lowercase();
        // The value.
        let mut v = p + 1;
        if sep == b':' && next == Some(b'=') || sep == b'=' && next == Some(b'>') {
            v += 1;
        }
        // In a query string (`?name=` or `&name=`), `&name=` ends the value.
        let in_query = sep == b'=' && j > 0 && matches!(bytes[j - 1], b'?' | b'&');
        let (mut vs, mut ve) = value_after(text, v, self.generic.max_length, in_query)?;
        // `Bearer xyz`, `Basic xyz`, `token xyz`: the credential is the second word.
        let first_word = &text[vs..ve];
        if ["bearer", "basic", "token"]
            .iter()
            .any(|w| first_word.eq_ignore_ascii_case(w))
            && bytes.get(ve) == Some(&b' ')
        {
            (vs, ve) = value_after(text, ve, self.generic.max_length, in_query)?;
        }
        if vs >= ve || overlaps(taken, vs, ve) {
            return None;
        }
        let value = &text[vs..ve];
        let lvalue = value.to_ascii_lowercase();
        let placeholder = self.generic.placeholders.iter().any(|ph| lvalue.contains(ph.as_str()));
        for k in &self.keyed {
            if k.keywords.iter().any(|w| lname.ends_with(w.as_str())) {
                if placeholder && !self.is_documented(value)
                    || !k.re.is_match(value)
                    || entropy(value.as_bytes()) < k.min_entropy
                {
                    continue;
                }
                return Some(self.secret_hit(
                    Rule::SecretProviderKey,
                    &k.name,
                    &k.provider,
                    k.severity,
                    k.redact,
                    vs,
                    ve,
                    value,
                    format!("{name}={}", mask_secret(value, 0)),
                ));
            }
        }
        let g = &self.generic;
        if !g.keywords.iter().any(|w| lname.ends_with(w.as_str())) || placeholder {
            return None;
        }
        let quoted = vs > 0 && matches!(bytes[vs - 1], b'"' | b'\'' | b'`');
        if !generic_value_ok(g, value, &lvalue, quoted) {
            return None;
        }
        Some(generic_hit(
            (vs, ve, value),
            "generic",
            format!("a high-entropy value assigned to `{name}`"),
            format!("{name}={}", mask_secret(value, 0)),
        ))
    }
}

/// A PRM404 hit on `value` (at `start..end`): `what` it is, its masked `evidence`, its key
/// under `kind`.
fn generic_hit((start, end, value): (usize, usize, &str), kind: &str, what: String, evidence: String) -> Hit {
    Hit {
        rule: Rule::SecretGenericAssignment,
        severity: Severity::High,
        start,
        end,
        message: format!("{what}; move it to a secret store and rotate it"),
        evidence,
        key: value_key(kind, value),
        redact: Some("SECRET"),
    }
}

/// The value that starts at byte `v` (after the separator): quoted up to its closing quote on
/// the same line, or bare up to a delimiter.
fn value_after(text: &str, v: usize, max: usize, in_query: bool) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = v;
    while i < bytes.len() && i < v + 8 && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    let q = *bytes.get(i)?;
    if matches!(q, b'"' | b'\'' | b'`') {
        let s = i + 1;
        let limit = bytes.len().min(s + max + 1);
        let len = bytes.get(s..limit)?.iter().position(|&b| b == q || b == b'\n')?;
        if bytes.get(s + len) != Some(&q) {
            return None;
        }
        return Some((s, s + len));
    }
    let s = i;
    let limit = bytes.len().min(s + max + 1);
    let len = bytes
        .get(s..limit)?
        .iter()
        .enumerate()
        .position(|(k, &b)| {
            b.is_ascii_whitespace()
                || matches!(b, b',' | b';' | b')' | b'}' | b']' | b'"' | b'\'' | b'<' | b'>' | b'`')
                // `&` ends a value in a query string (`&name=`), not inside a password.
                || b == b'&' && in_query && query_param_at(&bytes[s + k + 1..])
        })
        .unwrap_or(limit - s);
    if s + len == limit && limit < bytes.len() {
        return None; // longer than any credential: not one
    }
    if !text.is_char_boundary(s + len) {
        return None;
    }
    Some((s, s + len))
}

/// Whether bytes start with `name=`, as after a `&` in a query string.
fn query_param_at(b: &[u8]) -> bool {
    let n = b
        .iter()
        .take(64)
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        .count();
    n > 0 && b.get(n) == Some(&b'=')
}

fn generic_value_ok(g: &Generic, value: &str, lvalue: &str, quoted: bool) -> bool {
    let n = value.chars().count();
    if n < g.min_length || n > g.max_length || g.words.iter().any(|w| w == lvalue) {
        return false;
    }
    let b = value.as_bytes();
    // Code, not a literal: calls, indexing, attribute paths, constants, numbers.
    if b.iter().any(|&c| matches!(c, b'(' | b'[' | b'{' | b'$')) || value.contains(' ') && !quoted {
        return false;
    }
    if b.iter().all(|c| c.is_ascii_digit() || *c == b'.' || *c == b'-') {
        return false;
    }
    let ident_like = b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.');
    let has_digit = b.iter().any(u8::is_ascii_digit);
    if ident_like && b.contains(&b'.') && !has_digit {
        return false; // settings.SECRET_KEY, self.api_key
    }
    if !quoted && ident_like && !has_digit {
        return false; // a bare name: `password = user_password`
    }
    if b.starts_with(b"/") || b.starts_with(b"./") || b.starts_with(b"http://") || b.starts_with(b"https://") {
        return false;
    }
    if value.contains(' ') && value.split(' ').count() > 2 {
        return false; // prose
    }
    let h = entropy(b);
    h >= g.min_entropy || (h >= g.min_entropy_mixed && classes(value) >= 3)
}

fn classes(v: &str) -> usize {
    let mut c = [false; 4];
    for b in v.bytes() {
        let i = if b.is_ascii_lowercase() {
            0
        } else if b.is_ascii_uppercase() {
            1
        } else if b.is_ascii_digit() {
            2
        } else {
            3
        };
        c[i] = true;
    }
    c.iter().filter(|x| **x).count()
}

fn mixed_case(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_lowercase()) && v.bytes().any(|b| b.is_ascii_uppercase())
}

fn overlaps(taken: &[(usize, usize)], s: usize, e: usize) -> bool {
    taken.iter().any(|&(a, b)| s < b && a < e)
}

/// A JWT starting at `s` (at `eyJ`): three base64url parts whose header decodes to a JSON
/// object with an `alg` string and whose payload decodes to JSON.
fn jwt_at(text: &str, s: usize) -> Option<Hit> {
    let bytes = text.as_bytes();
    // Inside a longer token, unless that is an assignment (`session=eyJ…`, `token=eyJ…`).
    if s > 0 && bytes[s - 1] != b'=' && (is_b64url_byte(bytes[s - 1]) || bytes[s - 1] == b'.') {
        return None;
    }
    let run = |from: usize| {
        from + bytes.get(from..).map_or(0, |r| {
            r.iter().take(16 * 1024).take_while(|&&b| is_b64url_byte(b)).count()
        })
    };
    let h_end = run(s);
    if bytes.get(h_end) != Some(&b'.') {
        return None;
    }
    let p_end = run(h_end + 1);
    if p_end == h_end + 1 || bytes.get(p_end) != Some(&b'.') {
        return None;
    }
    let end = run(p_end + 1);
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(|&b| is_b64url_byte(b)) {
        return None; // five parts (JWE) or a longer dotted name
    }
    let header: serde_json::Value = serde_json::from_slice(&b64url(&text[s..h_end])?).ok()?;
    let alg = header.get("alg")?.as_str()?;
    let payload = b64url(&text[h_end + 1..p_end])?;
    serde_json::from_slice::<serde_json::Value>(&payload).ok()?;
    let value = &text[s..end];
    let unsigned = end == p_end + 1;
    Some(Hit {
        rule: Rule::SecretJwt,
        severity: Severity::High,
        start: s,
        end,
        message: format!(
            "a JSON Web Token (alg {}{}): a bearer credential for its subject until it expires",
            crate::finding::truncate(alg, 16),
            if unsigned { ", unsigned" } else { "" }
        ),
        evidence: mask_secret(value, 3),
        key: value_key("jwt", value),
        redact: Some("JWT"),
    })
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    ENGINE.decode(s.trim_end_matches('=')).ok()
}

/// GitHub classic / npm token checksum: base62 (0-9A-Za-z) of the CRC32 of the random part.
pub(crate) fn github_crc32_ok(token: &str) -> bool {
    let Some(us) = token.find('_') else {
        return false;
    };
    let body = &token[us + 1..];
    if body.len() < 7 || !body.is_ascii() {
        return false;
    }
    let (random, check) = body.split_at(body.len() - 6);
    let mut n: u64 = 0;
    for b in check.bytes() {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return false,
        };
        n = n * 62 + u64::from(d);
    }
    n == u64::from(crc32fast::hash(random.as_bytes()))
}

/// Shannon entropy in bits per byte.
pub(crate) fn entropy(b: &[u8]) -> f64 {
    if b.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &c in b {
        counts[usize::from(c)] += 1;
    }
    let n = b.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A stable key that does not reveal the value: the entry name and 8 hex of its SHA-256.
pub(crate) fn value_key(name: &str, value: &str) -> String {
    let d = Sha256::digest(value.as_bytes());
    format!("{name}:{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
}

/// The largest char boundary at or below `i` (clamped to the text).
pub(crate) fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

fn is_b64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

fn is_b64url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=')
}

#[cfg(test)]
#[path = "secrets/tests.rs"]
mod tests;
