//! The alert `condition` mini-grammar of the policy's `audit.alerts[]`:
//!
//! ```text
//! expr   := and ( OR and )*
//! and    := atom ( AND atom )*
//! atom   := "(" expr ")" | metric op value [window] | metric [NOT] IN "[" value ("," value)* "]" [window]
//! op     := > | >= | < | <= | == | = | !=
//! value  := number [unit] | identifier | 'quoted' | "quoted"
//! window := (in | within | over | per | for | during | last) [number] unit   e.g. `over 5m`, `per minute`
//! ```
//!
//! Keywords are case-insensitive (`AND`, `and`, `&&`, `||`). What the grammar cannot read is
//! reported at info by the caller, never guessed.

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp {
        metric: String,
        op: Op,
        value: Val,
        /// The window in seconds, when one is written.
        window: Option<u64>,
    },
    In {
        metric: String,
        negated: bool,
        items: Vec<Val>,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Num(f64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    Op(Op),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Percent,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let c: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        match ch {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => (out.push(Tok::LParen), i += 1).1,
            ')' => (out.push(Tok::RParen), i += 1).1,
            '[' => (out.push(Tok::LBracket), i += 1).1,
            ']' => (out.push(Tok::RBracket), i += 1).1,
            ',' => (out.push(Tok::Comma), i += 1).1,
            '%' => (out.push(Tok::Percent), i += 1).1,
            '&' | '|' => {
                if c.get(i + 1) == Some(&ch) {
                    out.push(Tok::Ident(if ch == '&' { "and" } else { "or" }.into()));
                    i += 2;
                } else {
                    return Err(format!("unexpected `{ch}`"));
                }
            }
            '>' | '<' | '=' | '!' => {
                let two = c.get(i + 1) == Some(&'=');
                let op = match (ch, two) {
                    ('>', false) => Op::Gt,
                    ('>', true) => Op::Ge,
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('=', _) => Op::Eq,
                    ('!', true) => Op::Ne,
                    _ => return Err(format!("unexpected `{ch}`")),
                };
                out.push(Tok::Op(op));
                i += if two { 2 } else { 1 };
            }
            '\'' | '"' => {
                let end = c[i + 1..]
                    .iter()
                    .position(|&x| x == ch)
                    .ok_or("unterminated quoted string")?;
                out.push(Tok::Str(c[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            d if d.is_ascii_digit() => {
                let start = i;
                while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.' || c[i] == '_') {
                    i += 1;
                }
                let text: String = c[start..i].iter().filter(|&&x| x != '_').collect();
                out.push(Tok::Num(text.parse().map_err(|_| format!("bad number `{text}`"))?));
            }
            a if a.is_alphabetic() || a == '_' => {
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || matches!(c[i], '_' | '.' | '-' | ':' | '/')) {
                    i += 1;
                }
                out.push(Tok::Ident(c[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    Ok(out)
}

fn unit_seconds(u: &str) -> Option<u64> {
    Some(match u.to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    })
}

/// A compact duration such as `5m` lexed as an identifier after a number is split by the lexer
/// already; this reads `5m` written as one identifier-like token (`5m` starts with a digit, so
/// it arrives as Num(5) then Ident(m)).
struct P {
    t: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.t.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn kw(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(w))
    }
    fn or(&mut self, depth: u32) -> Result<Expr, String> {
        if depth > 32 {
            return Err("nested too deeply".into());
        }
        let mut v = vec![self.and(depth)?];
        while self.kw("or") {
            self.i += 1;
            v.push(self.and(depth)?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { Expr::Or(v) })
    }
    fn and(&mut self, depth: u32) -> Result<Expr, String> {
        let mut v = vec![self.atom(depth)?];
        while self.kw("and") {
            self.i += 1;
            v.push(self.atom(depth)?);
        }
        Ok(if v.len() == 1 { v.remove(0) } else { Expr::And(v) })
    }
    fn atom(&mut self, depth: u32) -> Result<Expr, String> {
        if self.peek() == Some(&Tok::LParen) {
            self.i += 1;
            let e = self.or(depth + 1)?;
            if self.next() != Some(Tok::RParen) {
                return Err("missing `)`".into());
            }
            return Ok(e);
        }
        let metric = match self.next() {
            Some(Tok::Ident(m)) if !["and", "or", "in", "not"].contains(&m.to_ascii_lowercase().as_str()) => m,
            Some(t) => return Err(format!("expected a metric name, found {}", shown(&t))),
            None => return Err("expected a metric name, found the end".into()),
        };
        let negated = self.kw("not");
        if negated {
            self.i += 1;
        }
        if self.kw("in") && self.t.get(self.i + 1) == Some(&Tok::LBracket) {
            self.i += 2;
            let mut items = Vec::new();
            loop {
                match self.next() {
                    Some(Tok::RBracket) if items.is_empty() => break,
                    Some(Tok::Num(n)) => items.push(Val::Num(n)),
                    Some(Tok::Ident(s)) | Some(Tok::Str(s)) => items.push(Val::Text(s)),
                    other => return Err(format!("bad list item {}", other.as_ref().map_or("end".into(), shown))),
                }
                match self.next() {
                    Some(Tok::Comma) => continue,
                    Some(Tok::RBracket) => break,
                    _ => return Err("expected `,` or `]` in a list".into()),
                }
            }
            self.window()?;
            return Ok(Expr::In { metric, negated, items });
        }
        if negated {
            return Err("`not` must be followed by `in [...]`".into());
        }
        let op = match self.next() {
            Some(Tok::Op(op)) => op,
            Some(t) => return Err(format!("expected a comparison after `{metric}`, found {}", shown(&t))),
            None => return Err(format!("expected a comparison after `{metric}`")),
        };
        let value = match self.next() {
            Some(Tok::Num(n)) => {
                if self.peek() == Some(&Tok::Percent) {
                    self.i += 1;
                }
                Val::Num(n)
            }
            Some(Tok::Str(s)) => Val::Text(s),
            Some(Tok::Ident(s)) if !matches!(s.to_ascii_lowercase().as_str(), "and" | "or") => Val::Text(s),
            _ => return Err(format!("expected a value after `{metric}`")),
        };
        let window = self.window()?;
        Ok(Expr::Cmp {
            metric,
            op,
            value,
            window,
        })
    }
    /// An optional time window after a term.
    fn window(&mut self) -> Result<Option<u64>, String> {
        let lead = ["in", "within", "over", "per", "for", "during", "last", "every"];
        if !lead.iter().any(|w| self.kw(w)) {
            // A bare unit right after a number: `> 100 per minute` handled above; `5m` as Num Ident.
            return Ok(None);
        }
        self.i += 1;
        if self.kw("last") {
            self.i += 1;
        }
        let n = match self.peek() {
            Some(Tok::Num(n)) => {
                let n = *n;
                self.i += 1;
                n
            }
            _ => 1.0,
        };
        match self.next() {
            Some(Tok::Ident(u)) => {
                let secs = unit_seconds(&u).ok_or_else(|| format!("`{u}` is not a time unit"))?;
                Ok(Some((n * secs as f64) as u64))
            }
            _ => Err("expected a time unit (s, m, h, d) in the window".into()),
        }
    }
}

fn shown(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Num(n) => format!("`{n}`"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Op(_) => "a comparison".into(),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Percent => "`%`".into(),
    }
}

/// Parse a condition, or say why not.
pub fn parse(s: &str) -> Result<Expr, String> {
    if s.len() > 4096 {
        return Err("longer than 4096 characters".into());
    }
    let t = lex(s)?;
    if t.is_empty() {
        return Err("empty condition".into());
    }
    let mut p = P { t, i: 0 };
    let e = p.or(0)?;
    match p.peek() {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {} after a complete condition", shown(t))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_grammar() {
        for ok in [
            "failed_auth_attempts > 5",
            "failed_auth_attempts > 5 in 5m",
            "requests_per_minute >= 1000 AND role in [llm_app, 'rag-service']",
            "(vectors_read > 10000 over 1 hour) or bulk_export == 1",
            "error_rate > 5% within 10 minutes",
            "country not in [KP, IR] && access_count > 0",
            "requests > 100 per minute",
        ] {
            parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        match parse("requests > 100 per minute").unwrap() {
            Expr::Cmp { window, .. } => assert_eq!(window, Some(60)),
            e => panic!("{e:?}"),
        }
        for bad in [
            "",
            "anomaly_score is high",
            "count() > 5",
            "x > ",
            "(a > 1",
            "a > 1 b > 2",
            "x > 5 in 5 fortnights",
            "role in [a b]",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }
}
