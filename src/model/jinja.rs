//! A Jinja lexer just deep enough to normalise a chat template for pattern matching: it keeps
//! only the code inside `{{ … }}` and `{% … %}` (literal text, `{# comments #}` and
//! `{% raw %}` blocks cannot run anything), drops whitespace-control markers, decodes escapes
//! in string literals (`"\x5f\x5f"` is `__`), and folds the concatenations that hide names from
//! naive matching (`'__cla' + 'ss__'`, `'a' ~ 'b'`, adjacent literals, `['__', 'class', '__']|join`).
//! Nothing is evaluated.

/// A template in two views for matching.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalised {
    /// The code with string literals decoded, folded, and quoted with `'`.
    pub full: String,
    /// The code with every string literal emptied to `''`, so words inside strings (a system
    /// prompt saying "request.") never look like code.
    pub code: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Code(String),
    Str(String),
}

pub fn normalise(template: &str) -> Normalised {
    let mut out = Normalised::default();
    let bytes = template.as_bytes();
    let mut i = 0;
    let mut raw = false;
    while i < bytes.len() {
        let Some(open) = find_open(bytes, i) else { break };
        let kind = bytes[open + 1];
        let mut j = open + 2;
        if matches!(bytes.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        if kind == b'#' {
            i = find(bytes, j, b"#}").map_or(bytes.len(), |e| e + 2);
            continue;
        }
        let close: &[u8] = if kind == b'{' { b"}}" } else { b"%}" };
        let (toks, end) = lex(template, j, close);
        i = end;
        if kind == b'%' {
            let stmt: String = toks
                .iter()
                .map(|t| match t {
                    Tok::Code(c) => c.as_str(),
                    Tok::Str(_) => "''",
                })
                .collect();
            let word = stmt.trim().trim_matches(['-', '+']).trim();
            if raw {
                raw = word != "endraw";
                continue;
            }
            if word == "raw" {
                raw = true;
                continue;
            }
        } else if raw {
            continue;
        }
        let toks = fold(toks);
        for t in &toks {
            match t {
                Tok::Code(c) => {
                    out.full.push_str(c);
                    out.code.push_str(c);
                }
                Tok::Str(s) => {
                    out.full.push('\'');
                    out.full.push_str(s);
                    out.full.push('\'');
                    out.code.push_str("''");
                }
            }
        }
        out.full.push('\n');
        out.code.push('\n');
    }
    out
}

fn find(bytes: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

fn find_open(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < bytes.len() {
        if bytes[i] == b'{' && matches!(bytes[i + 1], b'{' | b'%' | b'#') {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Lex code from `start` up to the closing delimiter (outside strings); returns the tokens and
/// the position after the delimiter. A trailing `-`/`+` before the delimiter is dropped.
fn lex(template: &str, start: usize, close: &[u8]) -> (Vec<Tok>, usize) {
    let bytes = template.as_bytes();
    let mut toks = Vec::new();
    let mut code = String::new();
    let mut i = start;
    let mut end = bytes.len();
    while i < bytes.len() {
        let b = bytes[i];
        if bytes[i..].starts_with(close) {
            end = i + close.len();
            break;
        }
        if b == b'\'' || b == b'"' {
            if !code.is_empty() {
                toks.push(Tok::Code(std::mem::take(&mut code)));
            }
            let (s, next) = string_literal(template, i);
            toks.push(Tok::Str(s));
            i = next;
            continue;
        }
        let (ch, len) = char_at(template, i);
        code.push(ch);
        i += len;
    }
    if code.ends_with(['-', '+']) {
        code.pop();
    }
    if !code.is_empty() {
        toks.push(Tok::Code(code));
    }
    (toks, end)
}

/// The character at byte `i` and its length (a replacement character and 1 off a boundary).
fn char_at(text: &str, i: usize) -> (char, usize) {
    match text.get(i..).and_then(|s| s.chars().next()) {
        Some(c) => (c, c.len_utf8()),
        None => ('\u{fffd}', 1),
    }
}

/// Decode a string literal starting at its quote; returns its value and the position after it.
fn string_literal(template: &str, start: usize) -> (String, usize) {
    let bytes = template.as_bytes();
    let quote = bytes[start];
    let mut out = String::new();
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if b == quote {
            return (out, i + 1);
        }
        if b == b'\\' && i + 1 < bytes.len() {
            let e = bytes[i + 1];
            let hex = |n: usize| -> Option<char> {
                let h = template.get(i + 2..i + 2 + n)?;
                char::from_u32(u32::from_str_radix(h, 16).ok()?)
            };
            let (ch, used) = match e {
                b'x' => (hex(2), 4),
                b'u' => (hex(4), 6),
                b'U' => (hex(8), 10),
                b'0'..=b'7' => {
                    let digits = bytes[i + 1..]
                        .iter()
                        .take(3)
                        .take_while(|d| (b'0'..=b'7').contains(d))
                        .count();
                    let v = template
                        .get(i + 1..i + 1 + digits)
                        .and_then(|o| u32::from_str_radix(o, 8).ok())
                        .and_then(char::from_u32);
                    (v, 1 + digits)
                }
                b'n' => (Some('\n'), 2),
                b't' => (Some('\t'), 2),
                b'r' => (Some('\r'), 2),
                b'\\' | b'\'' | b'"' => (Some(e as char), 2),
                _ => (None, 1),
            };
            match ch {
                Some(c) => {
                    out.push(c);
                    i += used;
                }
                None => {
                    out.push('\\');
                    i += 1;
                }
            }
            continue;
        }
        let (ch, len) = char_at(template, i);
        out.push(ch);
        i += len;
    }
    (out, bytes.len())
}

/// Fold `'a' + 'b'`, `'a' ~ 'b'`, `'a' 'b'` and `['a', 'b'] | join` into one literal.
///
/// Each round is one linear pass (a template can be megabytes of hostile text, and folding in
/// place by splicing was quadratic: 40 000 list-joins in one block took 83 s); rounds repeat
/// while something folds, at most `FOLD_ROUNDS` times, which unwraps that many levels of
/// nesting. Deeper nesting stays partly unfolded, and the indirect-character gadgets still see it.
fn fold(mut toks: Vec<Tok>) -> Vec<Tok> {
    for _ in 0..FOLD_ROUNDS {
        let (joined, a) = fold_concatenations(toks);
        let (listed, b) = fold_list_joins(joined);
        toks = listed;
        if !a && !b {
            break;
        }
    }
    toks
}

const FOLD_ROUNDS: usize = 8;

/// Adjacent literals, with `+`, `~` or nothing between them, become one literal.
fn fold_concatenations(toks: Vec<Tok>) -> (Vec<Tok>, bool) {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    let mut changed = false;
    for t in toks {
        let Tok::Str(b) = t else {
            out.push(t);
            continue;
        };
        let n = out.len();
        let joins_previous = match out.as_slice() {
            [.., Tok::Str(_)] => Some(0),
            [.., Tok::Str(_), Tok::Code(op)] if matches!(op.trim(), "+" | "~" | "") => Some(1),
            _ => None,
        };
        match joins_previous {
            Some(drop_op) => {
                out.truncate(n - drop_op);
                if let Some(Tok::Str(a)) = out.last_mut() {
                    a.push_str(&b);
                }
                changed = true;
            }
            None => out.push(Tok::Str(b)),
        }
    }
    (out, changed)
}

/// Every `[ 'a', 'b', … ] | join` (optionally `join('')`) folded into `'ab…'`, in one pass.
fn fold_list_joins(toks: Vec<Tok>) -> (Vec<Tok>, bool) {
    let mut out = Vec::with_capacity(toks.len());
    let mut changed = false;
    let mut i = 0;
    while i < toks.len() {
        if let Some((folded, next)) = list_join_at(&toks, i) {
            out.extend(folded);
            i = next;
            changed = true;
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    (out, changed)
}

/// A list of literals joined by `|join` starting at token `i`: the three tokens it folds into
/// and the index after it. Each run of literals is looked at from its one opening `[` only, so
/// the pass stays linear.
fn list_join_at(toks: &[Tok], i: usize) -> Option<([Tok; 3], usize)> {
    let Tok::Code(before) = &toks[i] else { return None };
    let prefix = before.trim_end().strip_suffix('[')?;
    let mut parts = String::new();
    let mut j = i + 1;
    let rest = loop {
        let Some(Tok::Str(s)) = toks.get(j) else { return None };
        parts.push_str(s);
        match toks.get(j + 1) {
            Some(Tok::Code(sep)) if sep.trim() == "," => j += 2,
            Some(Tok::Code(after)) => break after.trim_start().strip_prefix(']')?,
            _ => return None,
        }
    };
    let after_join = rest
        .trim_start()
        .strip_prefix('|')
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("join"))?;
    Some((
        [
            Tok::Code(prefix.to_string()),
            Tok::Str(parts),
            Tok::Code(after_join.to_string()),
        ],
        j + 2,
    ))
}

#[cfg(test)]
mod tests {

    #[test]
    fn folding_is_linear_and_complete_on_hostile_input() {
        // 50 000 list-joins chained in one block: folding in place was quadratic (40 000 took
        // 83 s); every piece must still end up in one literal.
        let t = format!("{{{{ {} 'b' }}}}", "['a']|join ~ ".repeat(50_000));
        let n = normalise(&t);
        assert!(n.full.contains(&format!("{}b", "a".repeat(50_000))));
    }
    use super::*;

    #[test]
    fn normalisation_table() {
        let cases: &[(&str, &str, &str)] = &[
            ("Hello {{ name }}!", " name \n", " name \n"),
            ("{{- x -}}", " x \n", " x \n"),
            ("{%- if a %}b{% endif -%}", " if a \n endif \n", " if a \n endif \n"),
            ("{# {{ x.__class__ }} #}{{ y }}", " y \n", " y \n"),
            ("{{ '\\x5f\\x5fclass\\x5f\\x5f' }}", " '__class__' \n", " '' \n"),
            ("{{ \"\\u005f\\137\" }}", " '__' \n", " '' \n"),
            (
                "{{ x|attr('__cla'+'ss__') }}",
                " x|attr('__class__') \n",
                " x|attr('') \n",
            ),
            (
                "{{ x|attr('__cla' ~ \"ss__\") }}",
                " x|attr('__class__') \n",
                " x|attr('') \n",
            ),
            (
                "{{ x|attr('__cla' 'ss__') }}",
                " x|attr('__class__') \n",
                " x|attr('') \n",
            ),
            (
                "{{ x|attr(['__', 'class', '__']|join) }}",
                " x|attr('__class__') \n",
                " x|attr('') \n",
            ),
            ("{{ '}}' }}", " '}}' \n", " '' \n"),
            ("{% raw %}{{ x.__class__ }}{% endraw %}{{ z }}", " z \n", " z \n"),
            ("{{ unterminated", " unterminated\n", " unterminated\n"),
            ("{{ x['__cl''ass__'] }}", " x['__class__'] \n", " x[''] \n"),
            ("{{ 'é' + 'ü' }}", " 'éü' \n", " '' \n"),
        ];
        for (input, full, code) in cases {
            let n = normalise(input);
            assert_eq!(n.full, *full, "full view of {input}");
            assert_eq!(n.code, *code, "code view of {input}");
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "{",
            "{{",
            "{%",
            "{#",
            "{{ '",
            "{{ '\\",
            "{{ '\\x5",
            "{{ '\\u12",
            "{{ [",
            "{{ ['a',",
            "é{{é'é",
        ] {
            let _ = normalise(s);
        }
    }
}
