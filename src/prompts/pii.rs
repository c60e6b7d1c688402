//! Personal data in prompt text (PRM3xx): e-mail, phone, payment card, IBAN, US SSN, Spanish
//! DNI/NIE and public IP addresses, each validated (checksums, ranges, numbering plans) rather
//! than matched by shape alone.
//!
//! One pass over the bytes stops only at `@` and at the first digit of a digit run; every
//! validator then parses from there. The lists (context words, IIN ranges, IBAN lengths,
//! country codes) are data in `rules/prompts/pii.yaml`.

use super::{mask_shape, Hit};
use crate::finding::Severity;
use crate::prompts::secrets::{floor_boundary, value_key};
use crate::rules::{Rule, RulesError};
use serde::Deserialize;
use std::collections::BTreeMap;

const BUILTIN_FILE: &str = "rules/prompts/pii.yaml";
const BUILTIN: &str = include_str!(concat!(env!("OUT_DIR"), "/rules/prompts/pii.json"));

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiSpec {
    pub context_window: usize,
    pub email: EmailSpec,
    pub phone: PhoneSpec,
    pub card: CardSpec,
    pub iban: IbanSpec,
    pub ssn: ContextSpec,
    pub spanish_id: ContextSpec,
    pub ip: IpSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSpec {
    pub documentation_domains: Vec<String>,
    pub documentation_suffixes: Vec<String>,
    pub file_extensions: Vec<String>,
    pub ignore_local_parts: Vec<String>,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryCode {
    pub code: String,
    pub min: usize,
    pub max: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneSpec {
    pub context: Vec<String>,
    pub negative_context: Vec<String>,
    pub country_codes: Vec<CountryCode>,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    pub name: String,
    pub ranges: Vec<String>,
    pub lengths: Vec<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSpec {
    pub context: Vec<String>,
    pub issuers: Vec<Issuer>,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IbanSpec {
    pub countries: BTreeMap<String, usize>,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    pub context: Vec<String>,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpSpec {
    pub version_context: Vec<String>,
    #[serde(default)]
    pub matches: Vec<String>,
    #[serde(default)]
    pub ignores: Vec<String>,
}

impl PiiSpec {
    pub fn builtin() -> Result<PiiSpec, RulesError> {
        serde_json::from_str(BUILTIN).map_err(|e| RulesError::Parse {
            file: BUILTIN_FILE.into(),
            message: e.to_string(),
        })
    }
}

/// One issuer prefix range: `lo..=hi` over the first `digits` digits.
#[derive(Debug)]
struct IinRange {
    digits: usize,
    lo: u64,
    hi: u64,
    lengths: Vec<usize>,
}

#[derive(Debug)]
pub struct PiiDetector {
    window: usize,
    email: EmailSpec,
    phone_context: Words,
    phone_negative: Words,
    /// Country code → national number length range.
    country_codes: Vec<(Vec<u8>, usize, usize)>,
    card_context: Words,
    iins: Vec<IinRange>,
    iban: BTreeMap<[u8; 2], usize>,
    ssn_context: Words,
    id_context: Words,
    version_context: Words,
}

fn lower(v: &[String]) -> Vec<String> {
    v.iter().map(|w| w.to_lowercase()).collect()
}

/// A list of context words, matched case-insensitively (ASCII) in one pass over a window.
#[derive(Debug)]
struct Words(aho_corasick::AhoCorasick);

impl Words {
    fn new(entry: &str, words: &[String]) -> Result<Words, RulesError> {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(words)
            .map(Words)
            .map_err(|e| RulesError::Entry {
                file: BUILTIN_FILE.into(),
                entry: entry.into(),
                message: e.to_string(),
            })
    }
}

impl PiiDetector {
    pub fn builtin() -> Result<Self, RulesError> {
        Self::compile(&PiiSpec::builtin()?)
    }

    pub fn compile(spec: &PiiSpec) -> Result<Self, RulesError> {
        let err = |entry: &str, message: String| RulesError::Entry {
            file: BUILTIN_FILE.into(),
            entry: entry.into(),
            message,
        };
        let mut iins = Vec::new();
        for is in &spec.card.issuers {
            for r in &is.ranges {
                let (lo, hi) = r.split_once('-').unwrap_or((r, r));
                let (Ok(l), Ok(h)) = (lo.parse::<u64>(), hi.parse::<u64>()) else {
                    return Err(err(&is.name, format!("range `{r}` is not digits or digits-digits")));
                };
                if lo.len() != hi.len() || l > h {
                    return Err(err(
                        &is.name,
                        format!("range `{r}` must have ends of one length, low first"),
                    ));
                }
                iins.push(IinRange {
                    digits: lo.len(),
                    lo: l,
                    hi: h,
                    lengths: is.lengths.clone(),
                });
            }
        }
        let mut iban = BTreeMap::new();
        for (cc, &len) in &spec.iban.countries {
            let b = cc.as_bytes();
            if b.len() != 2 || !b.iter().all(u8::is_ascii_uppercase) || !(15..=34).contains(&len) {
                return Err(err(
                    "iban",
                    format!("`{cc}: {len}` is not a country code and IBAN length"),
                ));
            }
            iban.insert([b[0], b[1]], len);
        }
        let mut country_codes: Vec<(Vec<u8>, usize, usize)> = spec
            .phone
            .country_codes
            .iter()
            .map(|c| (c.code.as_bytes().to_vec(), c.min, c.max))
            .collect();
        // Longest code first, so that `351` wins over `35`.
        country_codes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let mut email = spec.email.clone();
        email.documentation_domains = lower(&email.documentation_domains);
        email.documentation_suffixes = lower(&email.documentation_suffixes);
        email.file_extensions = lower(&email.file_extensions);
        Ok(PiiDetector {
            window: spec.context_window,
            email,
            phone_context: Words::new("phone.context", &spec.phone.context)?,
            phone_negative: Words::new("phone.negative_context", &spec.phone.negative_context)?,
            country_codes,
            card_context: Words::new("card.context", &spec.card.context)?,
            iins,
            iban,
            ssn_context: Words::new("ssn.context", &spec.ssn.context)?,
            id_context: Words::new("spanish_id.context", &spec.spanish_id.context)?,
            version_context: Words::new("ip.version_context", &spec.ip.version_context)?,
        })
    }

    pub fn scan(&self, text: &str, out: &mut Vec<Hit>) {
        let b = text.as_bytes();
        let mut i = 0;
        let mut last_end = 0;
        loop {
            i = next_candidate(b, i);
            let Some(&c) = b.get(i) else {
                break;
            };
            if c == b'@' {
                if let Some(h) = self.email_at(text, i) {
                    if h.start >= last_end {
                        last_end = h.end;
                        i = h.end;
                        out.push(h);
                        continue;
                    }
                }
                i += 1;
                continue;
            }
            // A digit: where a digit run starts, a number may.
            if i > 0 && b[i - 1].is_ascii_digit() {
                i += 1;
                continue;
            }
            if i >= last_end {
                if let Some(h) = self.number_at(text, i) {
                    last_end = h.end;
                    i = h.end.max(i + 1);
                    out.push(h);
                    continue;
                }
            }
            // Skip the rest of this digit run.
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }

    /// Whether a context word stands (at a word start) in the window before `at`.
    fn context(&self, text: &str, at: usize, words: &Words) -> bool {
        let from = floor_boundary(text, at.saturating_sub(self.window));
        let win = &text.as_bytes()[from..at];
        words
            .0
            .find_overlapping_iter(win)
            .any(|m| m.start() == 0 || !win[m.start() - 1].is_ascii_alphabetic())
    }

    #[allow(clippy::too_many_arguments)]
    fn hit(
        &self,
        rule: Rule,
        sev: Severity,
        s: usize,
        e: usize,
        text: &str,
        what: &str,
        evidence: String,
        redact: &'static str,
    ) -> Hit {
        let value: String = text[s..e]
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '@' || *c == '.')
            .collect();
        Hit {
            rule,
            severity: sev,
            start: s,
            end: e,
            message: format!("{what} in the text: personal data that should not reach a model or a dataset"),
            evidence,
            key: value_key(rule.name(), &value),
            redact: Some(redact),
        }
    }

    fn email_at(&self, text: &str, at: usize) -> Option<Hit> {
        let b = text.as_bytes();
        let local_ok = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
        let mut s = at;
        while s > 0 && at - s < 64 && local_ok(b[s - 1]) {
            s -= 1;
        }
        while s < at && matches!(b[s], b'.' | b'-' | b'+') {
            s += 1;
        }
        if s == at || b[at - 1] == b'.' || text[s..at].contains("..") {
            return None;
        }
        if s > 0 && matches!(b[s - 1], b':' | b'/') && !text[..s].to_ascii_lowercase().ends_with("mailto:") {
            return None; // URL userinfo (`https://user:pass@host`), not an address
        }
        let local = &text[s..at];
        if self
            .email
            .ignore_local_parts
            .iter()
            .any(|l| l.eq_ignore_ascii_case(local))
        {
            return None;
        }
        let mut e = at + 1;
        while e < b.len() && e - at < 255 && (b[e].is_ascii_alphanumeric() || matches!(b[e], b'.' | b'-')) {
            e += 1;
        }
        while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        let domain = text[at + 1..e].to_ascii_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.len() > 63 || l.starts_with('-') || l.ends_with('-'))
        {
            return None;
        }
        let tld = labels[labels.len() - 1];
        if !(2..=24).contains(&tld.len()) || !tld.bytes().all(|c| c.is_ascii_alphabetic()) {
            return None;
        }
        if self.email.file_extensions.iter().any(|x| x == tld) {
            return None;
        }
        let first = labels[0].as_bytes();
        if first.len() <= 3 && first.last() == Some(&b'x') && first[..first.len() - 1].iter().all(u8::is_ascii_digit) {
            return None; // `@2x`, `@3x` asset names
        }
        let doc = self
            .email
            .documentation_domains
            .iter()
            .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
            || self
                .email
                .documentation_suffixes
                .iter()
                .any(|x| domain.ends_with(x.as_str()));
        if doc {
            return None;
        }
        let masked = format!("{}***@{}", local.chars().next().unwrap_or('*'), &text[at + 1..e]);
        Some(self.hit(
            Rule::PiiEmail,
            Severity::Medium,
            s,
            e,
            text,
            "an e-mail address",
            masked,
            "EMAIL",
        ))
    }

    /// Every numeric form that may start at the digit at `i` (the first of its run).
    fn number_at(&self, text: &str, i: usize) -> Option<Hit> {
        let b = text.as_bytes();
        let prev = i.checked_sub(1).map(|k| b[k]);
        let prev2 = i.checked_sub(2).map(|k| b[k]);
        let boundary_at = |k: usize| k == 0 || !b[k - 1].is_ascii_alphanumeric() && b[k - 1] != b'_';
        // IBAN: two capitals and the check digits.
        if let (Some(p1), Some(p2)) = (prev, prev2) {
            if p1.is_ascii_uppercase() && p2.is_ascii_uppercase() && boundary_at(i - 2) {
                return self.iban_at(text, i - 2);
            }
        }
        // NIE: X, Y or Z, seven digits and the letter.
        if let Some(p1 @ (b'X' | b'Y' | b'Z')) = prev {
            if boundary_at(i - 1) {
                return self.nie_at(text, i - 1, p1);
            }
        }
        if prev == Some(b'+') && (i < 2 || !is_tokenish(b[i - 2])) {
            return self.intl_phone_at(text, i - 1, i);
        }
        if prev == Some(b'(') {
            if let Some(h) = self.national_phone_at(text, i - 1) {
                return Some(h);
            }
        }
        if !boundary_at(i) {
            return None;
        }
        // Fast path: a short number standing alone is none of the forms below.
        let run = b[i..].iter().take(8).take_while(|c| c.is_ascii_digit()).count();
        if run < 7 {
            let next = b.get(i + run).copied().unwrap_or(b' ');
            let joined = matches!(next, b' ' | b'-' | b'.' | b'/' | b':')
                && b.get(i + run + 1).is_some_and(u8::is_ascii_alphanumeric);
            let hex = run <= 4 && matches!(b[i], b'2' | b'3') && next.is_ascii_hexdigit();
            if !joined && !hex {
                return None;
            }
        }
        // Part of a longer token (`a3f-123-…`, `x.12`, `v2/…`)?
        if let (Some(p), Some(p2)) = (prev, prev2) {
            // (`=` is not here: `ssn=…`, `peer=…` assign a value, they do not extend a token.)
            if matches!(p, b'-' | b'.' | b'/' | b'_' | b'\\' | b'#') && p2.is_ascii_alphanumeric() {
                return None;
            }
        }
        if matches!(b[i], b'2' | b'3') {
            if let Some(h) = self.ipv6_at(text, i) {
                return Some(h);
            }
        }
        if let Some(h) = self.ipv4_at(text, i) {
            return Some(h);
        }
        if let Some(h) = self.dni_at(text, i) {
            return Some(h);
        }
        let g = groups(b, i);
        // Most numbers in text are short: nothing below seven digits is any of these.
        if g.is_empty() || g.iter().map(|x| x.1 - x.0).sum::<usize>() < 7 {
            return None;
        }
        let end = g[g.len() - 1].1;
        // Glued to letters or more token characters: a hash, a UUID, an identifier.
        if !clean_end(b, end) {
            // The longest clean prefix may still be a number (`4111 1111 1111 1111.` is clean).
            return None;
        }
        if let Some(h) = self.card(text, &g) {
            return Some(h);
        }
        if let Some(h) = self.ssn(text, &g) {
            return Some(h);
        }
        if b[i] == b'0' && b.get(i + 1) == Some(&b'0') && b.get(i + 2).is_some_and(|c| (b'1'..=b'9').contains(c)) {
            return self.intl_phone_at(text, i, i + 2);
        }
        self.national_phone(text, i, &g, false)
    }

    fn card(&self, text: &str, g: &[(usize, usize, u8)]) -> Option<Hit> {
        let b = text.as_bytes();
        let sep = g.get(1).map_or(0, |x| x.2);
        if sep != 0 && (sep != b' ' && sep != b'-' || g.iter().skip(1).any(|x| x.2 != sep)) {
            return None;
        }
        let lens: Vec<usize> = g.iter().map(|x| x.1 - x.0).collect();
        let digits: Vec<u8> = g.iter().flat_map(|x| b[x.0..x.1].iter().map(|c| c - b'0')).collect();
        let n = digits.len();
        if !(12..=19).contains(&n) {
            return None;
        }
        let layout_ok = lens.len() == 1
            || lens[..lens.len() - 1].iter().all(|&l| l == 4) && (1..=4).contains(&lens[lens.len() - 1])
            || lens == [4, 6, 5]
            || lens == [4, 6, 4];
        if !layout_ok || !luhn(&digits) || !self.iin_ok(&digits) {
            return None;
        }
        let (s, e) = (g[0].0, g[g.len() - 1].1);
        // Short PANs (12-14 digits) collide with ids and timestamps: they need a card word.
        if n < 15 && !self.context(text, s, &self.card_context) {
            return None;
        }
        let v = &text[s..e];
        Some(self.hit(
            Rule::PiiCreditCard,
            Severity::High,
            s,
            e,
            text,
            "a payment card number",
            mask_shape(v, 4),
            "CREDIT_CARD",
        ))
    }

    fn iin_ok(&self, d: &[u8]) -> bool {
        self.iins.iter().any(|r| {
            r.lengths.contains(&d.len()) && d.len() >= r.digits && {
                let p = d[..r.digits].iter().fold(0u64, |a, &x| a * 10 + u64::from(x));
                (r.lo..=r.hi).contains(&p)
            }
        })
    }

    fn ssn(&self, text: &str, g: &[(usize, usize, u8)]) -> Option<Hit> {
        let b = text.as_bytes();
        let lens: Vec<usize> = g.iter().map(|x| x.1 - x.0).collect();
        let (s, e) = (g[0].0, g[g.len() - 1].1);
        let dashed = lens == [3, 2, 4] && g[1].2 == b'-' && g[2].2 == b'-';
        let spaced = lens == [3, 2, 4] && g[1].2 == b' ' && g[2].2 == b' ';
        let bare = lens == [9];
        if !(dashed || spaced || bare) {
            return None;
        }
        if !dashed && !self.context(text, s, &self.ssn_context) {
            return None;
        }
        let d: Vec<u32> = g
            .iter()
            .flat_map(|x| b[x.0..x.1].iter().map(|c| u32::from(c - b'0')))
            .collect();
        if !ssn_ok(&d) {
            return None;
        }
        let v = &text[s..e];
        Some(self.hit(
            Rule::PiiUsSsn,
            Severity::High,
            s,
            e,
            text,
            "a US Social Security number",
            mask_shape(v, 4),
            "SSN",
        ))
    }

    fn dni_at(&self, text: &str, i: usize) -> Option<Hit> {
        let b = text.as_bytes();
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run != 8 {
            return None;
        }
        let mut k = i + 8;
        if b.get(k) == Some(&b'-') || b.get(k) == Some(&b' ') {
            k += 1;
        }
        let letter = *b.get(k)?;
        if !letter.is_ascii_alphabetic() || b.get(k + 1).is_some_and(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        if !letter.is_ascii_uppercase() && !self.context(text, i, &self.id_context) {
            return None;
        }
        if b[i + 8] == b' ' && !self.context(text, i, &self.id_context) {
            return None;
        }
        let n: u32 = text[i..i + 8].parse().ok()?;
        if dni_letter(n) != letter.to_ascii_uppercase() {
            return None;
        }
        let v = &text[i..=k];
        Some(self.hit(
            Rule::PiiSpanishId,
            Severity::High,
            i,
            k + 1,
            text,
            "a Spanish DNI",
            mask_shape(v, 2),
            "NATIONAL_ID",
        ))
    }

    fn nie_at(&self, text: &str, s: usize, first: u8) -> Option<Hit> {
        let b = text.as_bytes();
        let i = s + 1;
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run != 7 {
            return None;
        }
        let mut k = i + 7;
        if b.get(k) == Some(&b'-') {
            k += 1;
        }
        let letter = *b.get(k)?;
        if !letter.is_ascii_uppercase() || b.get(k + 1).is_some_and(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let n: u32 = text[i..i + 7].parse().ok()?;
        let n = u32::from(first - b'X') * 10_000_000 + n;
        if dni_letter(n) != letter {
            return None;
        }
        let v = &text[s..=k];
        Some(self.hit(
            Rule::PiiSpanishId,
            Severity::High,
            s,
            k + 1,
            text,
            "a Spanish NIE",
            mask_shape(v, 2),
            "NATIONAL_ID",
        ))
    }

    fn iban_at(&self, text: &str, s: usize) -> Option<Hit> {
        let b = text.as_bytes();
        let len = *self.iban.get(&[b[s], b[s + 1]])?;
        let mut chars = Vec::with_capacity(len);
        let mut k = s;
        while chars.len() < len && k < b.len() {
            let c = b[k];
            if c.is_ascii_digit() || c.is_ascii_uppercase() {
                chars.push(c);
                k += 1;
            } else if c == b' ' && chars.len() >= 4 && b.get(k + 1).is_some_and(|x| x.is_ascii_alphanumeric()) {
                k += 1;
            } else {
                break;
            }
        }
        if chars.len() != len
            || !chars[2].is_ascii_digit()
            || !chars[3].is_ascii_digit()
            || b.get(k).is_some_and(|x| x.is_ascii_alphanumeric())
        {
            return None;
        }
        if !mod97_ok(&chars) {
            return None;
        }
        let v = &text[s..k];
        Some(self.hit(
            Rule::PiiIban,
            Severity::High,
            s,
            k,
            text,
            "an IBAN",
            mask_shape(v, 4),
            "IBAN",
        ))
    }

    fn ipv4_at(&self, text: &str, i: usize) -> Option<Hit> {
        let b = text.as_bytes();
        let mut oct = [0u32; 4];
        let mut k = i;
        for (n, o) in oct.iter_mut().enumerate() {
            if n > 0 {
                if b.get(k) != Some(&b'.') {
                    return None;
                }
                k += 1;
            }
            let d = b[k.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
            if d == 0 || d > 3 || d > 1 && b[k] == b'0' {
                return None;
            }
            *o = text[k..k + d].parse().ok()?;
            if *o > 255 {
                return None;
            }
            k += d;
        }
        if b.get(k).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            || b.get(k) == Some(&b'.') && b.get(k + 1).is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
        if i > 0 && matches!(b[i - 1], b'.' | b'=' | b'~' | b'>' | b'<' | b'^' | b'@' | b'v' | b'V') {
            return None;
        }
        if !ipv4_public(oct) || self.context(text, i, &self.version_context) {
            return None;
        }
        let v = &text[i..k];
        Some(self.hit(
            Rule::PiiIpAddress,
            Severity::Low,
            i,
            k,
            text,
            "a public IPv4 address",
            mask_ip(v),
            "IP_ADDRESS",
        ))
    }

    fn ipv6_at(&self, text: &str, i: usize) -> Option<Hit> {
        let b = text.as_bytes();
        if i > 0 && (b[i - 1] == b':' || b[i - 1].is_ascii_hexdigit()) {
            return None;
        }
        let mut k = i;
        let mut groups: Vec<u16> = Vec::new();
        let mut gap: Option<usize> = None;
        loop {
            let d = b[k..].iter().take(5).take_while(|c| c.is_ascii_hexdigit()).count();
            if d == 0 || d > 4 {
                if d > 4 {
                    return None;
                }
                break;
            }
            groups.push(u16::from_str_radix(&text[k..k + d], 16).ok()?);
            k += d;
            if b.get(k) != Some(&b':') {
                break;
            }
            if b.get(k + 1) == Some(&b':') {
                if gap.is_some() {
                    return None;
                }
                gap = Some(groups.len());
                k += 2;
                if !b.get(k).is_some_and(u8::is_ascii_hexdigit) {
                    break;
                }
            } else {
                k += 1;
            }
            if groups.len() > 8 {
                return None;
            }
        }
        if b.get(k)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b':' || *c == b'_')
        {
            return None;
        }
        let first_len = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if groups.len() < 3 && gap.is_none() || groups.len() < 2 || first_len != 4 {
            return None;
        }
        if gap.is_none() && groups.len() != 8 || gap.is_some() && groups.len() > 7 {
            return None;
        }
        let g0 = groups[0];
        // Global unicast 2000::/3, minus documentation (2001:db8::/32, 3fff::/20).
        if !(0x2000..=0x3fff).contains(&g0)
            || g0 == 0x2001 && groups.get(1) == Some(&0x0db8) && gap != Some(1)
            || g0 == 0x3fff
        {
            return None;
        }
        if self.context(text, i, &self.version_context) {
            return None;
        }
        let v = &text[i..k];
        Some(self.hit(
            Rule::PiiIpAddress,
            Severity::Low,
            i,
            k,
            text,
            "a public IPv6 address",
            mask_ip(v),
            "IP_ADDRESS",
        ))
    }

    /// `+CC …` (at `plus`, digits from `d`), or `00CC …`.
    fn intl_phone_at(&self, text: &str, s: usize, d: usize) -> Option<Hit> {
        let b = text.as_bytes();
        let mut digits = Vec::new();
        let mut k = d;
        let mut last_digit = d;
        while k < b.len() && digits.len() <= 15 {
            let c = b[k];
            if c.is_ascii_digit() {
                digits.push(c);
                k += 1;
                last_digit = k;
            } else if matches!(c, b' ' | b'-' | b'.') && b.get(k + 1).is_some_and(|x| x.is_ascii_digit() || *x == b'(')
            {
                k += 1;
            } else if c == b'(' {
                // `(0)` trunk prefix or `(415)` area code.
                let close = b[k + 1..].iter().take(6).position(|&x| x == b')')?;
                let inner = &b[k + 1..k + 1 + close];
                if inner.is_empty() || !inner.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                if inner != b"0" {
                    digits.extend_from_slice(inner);
                }
                k += close + 2;
                if b.get(k) == Some(&b' ') {
                    k += 1;
                }
            } else {
                break;
            }
        }
        let end = last_digit;
        if !clean_end(b, end) || b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (cc, min, max) = self.country_codes.iter().find(|(cc, _, _)| digits.starts_with(cc))?;
        let national = digits.len() - cc.len();
        if national < *min || national > *max || digits.len() > 15 {
            return None;
        }
        if cc.as_slice() == b"1" && !nanp_ok(&digits[1..]) {
            return None;
        }
        let v = &text[s..end];
        Some(self.hit(
            Rule::PiiPhone,
            Severity::Medium,
            s,
            end,
            text,
            "a phone number",
            mask_shape(v, 4),
            "PHONE",
        ))
    }

    fn national_phone_at(&self, text: &str, paren: usize) -> Option<Hit> {
        let b = text.as_bytes();
        let close = b[paren + 1..].iter().take(6).position(|&x| x == b')')?;
        let inner = &b[paren + 1..paren + 1 + close];
        if !(2..=5).contains(&inner.len()) || !inner.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut k = paren + close + 2;
        if matches!(b.get(k), Some(b' ' | b'-' | b'.')) {
            k += 1;
        }
        if !b.get(k).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let mut g = vec![(paren + 1, paren + 1 + close, 0u8)];
        g.extend(
            groups(b, k)
                .into_iter()
                .enumerate()
                .map(|(n, x)| if n == 0 { (x.0, x.1, b')') } else { x }),
        );
        let end = g[g.len() - 1].1;
        if !clean_end(b, end) {
            return None;
        }
        let mut h = self.national_phone(text, paren + 1, &g, true)?;
        h.start = paren;
        h.evidence = mask_shape(&text[paren..h.end], 4);
        Some(h)
    }

    /// A national number (no `+`): a known layout, or any digits with a phone word before.
    fn national_phone(&self, text: &str, s: usize, g: &[(usize, usize, u8)], paren: bool) -> Option<Hit> {
        let b = text.as_bytes();
        let n: usize = g.iter().map(|x| x.1 - x.0).sum();
        if !(7..=13).contains(&n) {
            return None;
        }
        let lens: Vec<usize> = g.iter().map(|x| x.1 - x.0).collect();
        let digits: Vec<u8> = g.iter().flat_map(|x| b[x.0..x.1].iter().copied()).collect();
        let seps: Vec<u8> = g.iter().skip(1).map(|x| x.2).collect();
        let one_sep = seps.windows(2).all(|w| w[0] == w[1]);
        if looks_like_date(&lens, &seps, &digits) {
            return None;
        }
        let ctx = || self.context(text, s, &self.phone_context);
        // An order, invoice or account word nearby: only a phone-shaped layout is a phone
        // (`Número de pedido 12345678` names an order even though `número` is a phone word).
        let negative = self.context(text, s, &self.phone_negative);
        let first = digits[0];
        let layout = if paren {
            // (415) 555-0132, (020) 7946 0958, (11) 91234-5678
            (lens[0] == 3 && n == 10 && nanp_ok(&digits))
                || (first == b'0' && (10..=12).contains(&n))
                || (lens[0] == 2 && (10..=11).contains(&n) && first != b'0')
        } else if lens.len() >= 2 && lens.iter().all(|&l| l >= 2) {
            let us = lens == [3, 3, 4] && one_sep && seps[0] != b' ' && nanp_ok(&digits);
            let trunk =
                first == b'0' && digits.get(1) != Some(&b'0') && (10..=12).contains(&n) && one_sep && lens[0] <= 5;
            let fr = first == b'0' && lens == [2, 2, 2, 2, 2];
            let es = n == 9
                && matches!(first, b'6' | b'7')
                && one_sep
                && seps[0] == b' '
                && (lens == [3, 3, 3] || lens == [3, 2, 2, 2]);
            us || trunk || fr || es
        } else {
            false
        };
        if negative && !layout {
            return None;
        }
        let ok = layout || ctx() && (7..=13).contains(&n) && (lens.len() == 1 || lens.iter().all(|&l| l >= 2));
        if !ok || lens.iter().skip(1).any(|&l| l == 1) {
            return None;
        }
        let (hs, he) = (g[0].0, g[g.len() - 1].1);
        let v = &text[hs..he];
        Some(self.hit(
            Rule::PiiPhone,
            Severity::Medium,
            hs,
            he,
            text,
            "a phone number",
            mask_shape(v, 4),
            "PHONE",
        ))
    }
}

/// Digit groups from `i`: runs of digits joined by one separator (space, `-`, `.`, `/`).
/// Each is `(start, end, separator before it)` (0 for the first).
/// The first byte at or after `from` where an e-mail (`@`) or a number (a digit) can be, or
/// `b.len()`. Text is mostly neither: 32-byte blocks without one are passed over whole (the
/// block test has no early exit, so it compiles to vector compares).
fn next_candidate(b: &[u8], from: usize) -> usize {
    let candidate = |c: u8| c == b'@' || c.is_ascii_digit();
    let mut i = from;
    while let Some(block) = b.get(i..i + 32) {
        if block.iter().fold(false, |any, &c| any | candidate(c)) {
            break;
        }
        i += 32;
    }
    b.get(i..)
        .and_then(|rest| rest.iter().position(|&c| candidate(c)))
        .map_or(b.len(), |p| i + p)
}

fn groups(b: &[u8], i: usize) -> Vec<(usize, usize, u8)> {
    let mut out = Vec::new();
    let mut k = i;
    let mut sep = 0u8;
    let mut total = 0;
    while out.len() < 8 {
        let d = b[k.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
        if d == 0 {
            break;
        }
        out.push((k, k + d, sep));
        total += d;
        k += d;
        if total > 24 {
            return Vec::new();
        }
        match (b.get(k), b.get(k + 1)) {
            (Some(&c @ (b' ' | b'-' | b'.' | b'/')), Some(n)) if n.is_ascii_digit() => {
                sep = c;
                k += 1;
            }
            _ => break,
        }
    }
    out
}

/// The number ends here: no letter, digit or joined token follows.
fn clean_end(b: &[u8], end: usize) -> bool {
    match b.get(end) {
        None => true,
        Some(c) if c.is_ascii_alphanumeric() || *c == b'_' => false,
        Some(b'-' | b'/' | b'_' | b'.' | b':' | b'@') => !b.get(end + 1).is_some_and(|c| c.is_ascii_alphanumeric()),
        Some(_) => true,
    }
}

fn is_tokenish(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'_')
}

fn looks_like_date(lens: &[usize], seps: &[u8], d: &[u8]) -> bool {
    let num = |a: usize, n: usize| d[a..a + n].iter().fold(0u32, |x, &c| x * 10 + u32::from(c - b'0'));
    if lens.len() >= 3 && seps.first() != Some(&b' ') {
        if lens[..3] == [4, 2, 2] {
            return (1..=12).contains(&num(4, 2));
        }
        if lens[..3] == [2, 2, 4] {
            return num(0, 2) <= 31 && num(2, 2) <= 31;
        }
    }
    false
}

/// North American Numbering Plan: area and exchange codes start with 2-9.
fn nanp_ok(d: &[u8]) -> bool {
    d.len() == 10 && d[0] >= b'2' && d[3] >= b'2' && !(d[1] == b'1' && d[2] == b'1')
}

pub(crate) fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    !d.is_empty() && sum.is_multiple_of(10)
}

/// ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1.
pub(crate) fn mod97_ok(chars: &[u8]) -> bool {
    if chars.len() < 5 {
        return false;
    }
    let mut r: u32 = 0;
    for &c in chars[4..].iter().chain(&chars[..4]) {
        match c {
            b'0'..=b'9' => r = (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => r = (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        }
    }
    r == 1
}

/// Area 000, 666 and 900-999, group 00 and serial 0000 were never issued.
pub(crate) fn ssn_ok(d: &[u32]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

pub(crate) fn dni_letter(n: u32) -> u8 {
    b"TRWAGMYFPDXBNJZSQVHLCKE"[(n % 23) as usize]
}

fn ipv4_public(o: [u32; 4]) -> bool {
    !(o[0] == 0
        || o[0] == 10
        || o[0] == 127
        || o[0] >= 224
        || o[0] == 100 && (64..128).contains(&o[1])
        || o[0] == 169 && o[1] == 254
        || o[0] == 172 && (16..32).contains(&o[1])
        || o[0] == 192 && o[1] == 168
        || o[0] == 192 && o[1] == 0 && (o[2] == 0 || o[2] == 2)
        || o[0] == 198 && (o[1] == 18 || o[1] == 19)
        || o[0] == 198 && o[1] == 51 && o[2] == 100
        || o[0] == 203 && o[1] == 0 && o[2] == 113)
}

/// `81.2.69.142` → `81.2.*.*`: the network stays readable, the host does not.
fn mask_ip(v: &str) -> String {
    let sep = if v.contains(':') { ':' } else { '.' };
    let parts: Vec<&str> = v.split(sep).collect();
    let keep = parts.len() / 2;
    parts
        .iter()
        .enumerate()
        .map(|(n, p)| {
            if n < keep || p.is_empty() {
                (*p).to_string()
            } else {
                "*".into()
            }
        })
        .collect::<Vec<_>>()
        .join(&sep.to_string())
}

#[cfg(test)]
#[path = "pii/tests.rs"]
mod tests;
