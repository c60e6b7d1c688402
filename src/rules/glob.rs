//! Name globs of the pickle policy: `*` (any run), `?` (one character) and `[A-Z_]` classes,
//! none of which match a `.`, so a pattern never stretches over a dotted attribute walk.
//!
//! A pattern is matched straight from its text (no compiled form): the built-in policy keeps
//! its patterns in a static string table (see `build.rs`), and the patterns are this small.
//! Written here rather than compiled to `regex`: compiling the ~40 of them with `regex` cost a
//! quarter of the instructions of scanning a 1 GB checkpoint (measured with callgrind), paid on
//! every run. `build.rs` includes this file too, to reject a bad built-in pattern at build time.

/// One token of a pattern.
#[derive(Debug, PartialEq)]
enum Tok<'p> {
    Lit(char),
    One,
    Run,
    /// The body of `[...]`, between the brackets.
    Class(&'p str),
}

/// The token at byte `at` of `pattern` and the byte where the next one starts; `None` at the
/// end of the pattern. An error for an unclosed or empty class or a bad range.
fn token(pattern: &str, at: usize) -> Result<Option<(Tok<'_>, usize)>, String> {
    let Some(c) = pattern.get(at..).and_then(|rest| rest.chars().next()) else {
        return Ok(None);
    };
    let next = at + c.len_utf8();
    Ok(Some(match c {
        '*' => (Tok::Run, next),
        '?' => (Tok::One, next),
        '[' => {
            let body = &pattern[next..];
            let mut chars = body.char_indices().peekable();
            let mut ranges = 0;
            loop {
                let (i, lo) = chars.next().ok_or("unclosed `[`")?;
                if lo == ']' {
                    if ranges == 0 {
                        return Err("empty `[]`".into());
                    }
                    return Ok(Some((Tok::Class(&body[..i]), next + i + 1)));
                }
                if chars.peek().map(|(_, c)| *c) == Some('-') {
                    chars.next();
                    chars.next().filter(|(_, h)| *h != ']').ok_or("bad range in `[...]`")?;
                }
                ranges += 1;
            }
        }
        other => (Tok::Lit(other), next),
    }))
}

/// Whether `pattern` is a valid glob (every class closed, non-empty, with sound ranges).
pub fn check(pattern: &str) -> Result<(), String> {
    let mut at = 0;
    while let Some((_, next)) = token(pattern, at)? {
        at = next;
    }
    Ok(())
}

/// Whether a glob pattern is written as one (has a wildcard or a class); other names are
/// matched exactly.
pub fn is_glob(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

fn in_class(body: &str, c: char) -> bool {
    let mut chars = body.chars().peekable();
    while let Some(lo) = chars.next() {
        let hi = if chars.peek() == Some(&'-') {
            chars.next();
            chars.next().unwrap_or(lo)
        } else {
            lo
        };
        if (lo..=hi).contains(&c) {
            return true;
        }
    }
    false
}

fn one(tok: &Tok<'_>, c: char) -> bool {
    match tok {
        Tok::Lit(l) => *l == c,
        Tok::One => c != '.',
        Tok::Class(body) => c != '.' && in_class(body, c),
        Tok::Run => false,
    }
}

/// Wildcard matching with backtracking to the last `*`, which may not cover a `.`. A pattern
/// that does not `check` matches nothing.
pub fn matches(pattern: &str, name: &str) -> bool {
    // Byte positions in the pattern (`pi`) and the name (`si`); `star` is where the last `*`
    // is and where in the name it started.
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = name[si..].chars().next() {
        let tok = match token(pattern, pi) {
            Ok(t) => t,
            Err(_) => return false,
        };
        match tok {
            Some((Tok::Run, next)) => {
                star = Some((pi, si));
                pi = next;
                continue;
            }
            Some((t, next)) if one(&t, c) => {
                pi = next;
                si += c.len_utf8();
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, ss)) => {
                let Some(covered) = name[ss..].chars().next().filter(|&c| c != '.') else {
                    return false;
                };
                let after = ss + covered.len_utf8();
                star = Some((sp, after));
                pi = sp + 1;
                si = after;
            }
            None => return false,
        }
    }
    pattern.get(pi..).is_some_and(|rest| rest.chars().all(|c| c == '*'))
}
