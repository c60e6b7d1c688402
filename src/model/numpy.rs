//! NumPy `.npy` headers (format versions 1.0, 2.0 and 3.0).
//!
//! The header is a Python dict literal; only the small literal subset that `numpy.lib.format`
//! writes is accepted (strings, ints, booleans, tuples, lists, dicts), parsed here rather than
//! with a general-purpose Python parser so that nothing of the file is ever evaluated.

use super::input::{Input, InputError};
use std::io::Read;

pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
const MAX_HEADER: u32 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: (u8, u8),
    pub descr: String,
    /// The dtype holds Python objects, so the payload is a pickle.
    pub object: bool,
    pub shape: Vec<u64>,
    /// Offset of the array data.
    pub data_offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    #[error("not a .npy file")]
    NotNpy,
    #[error("{0}")]
    Malformed(String),
}

impl From<InputError> for NpyError {
    fn from(e: InputError) -> Self {
        NpyError::Malformed(format!("header: {e}"))
    }
}

/// Read the header from the start of `input`, leaving it at the array data.
pub fn read_header<R: Read>(input: &mut Input<R>) -> Result<Header, NpyError> {
    let magic: [u8; 6] = input.array().map_err(|_| NpyError::NotNpy)?;
    if &magic != MAGIC {
        return Err(NpyError::NotNpy);
    }
    let version: [u8; 2] = input.array()?;
    let len = match version[0] {
        1 => u32::from(u16::from_le_bytes(input.array()?)),
        2 | 3 => u32::from_le_bytes(input.array()?),
        v => {
            return Err(NpyError::Malformed(format!(
                "unknown format version {v}.{}",
                version[1]
            )))
        }
    };
    if len > MAX_HEADER {
        return Err(NpyError::Malformed(format!(
            "header length {len} exceeds {MAX_HEADER} bytes"
        )));
    }
    let raw = input.read_kept(len.into(), len as usize)?;
    let text = match version[0] {
        3 => String::from_utf8(raw).map_err(|_| NpyError::Malformed("header is not UTF-8".into()))?,
        _ => raw.iter().map(|&b| char::from(b)).collect(),
    };
    let lit = Parser {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    }
    .document()
    .ok_or_else(|| {
        NpyError::Malformed(format!(
            "header is not a dict literal: {}",
            crate::finding::truncate(text.trim(), 60)
        ))
    })?;
    let Lit::Dict(items) = lit else {
        return Err(NpyError::Malformed("header is not a dict".into()));
    };
    let get = |k: &str| {
        items
            .iter()
            .find(|(key, _)| matches!(key, Lit::Str(s) if s == k))
            .map(|(_, v)| v)
    };
    let descr = get("descr").ok_or_else(|| NpyError::Malformed("header has no 'descr'".into()))?;
    let shape = match get("shape") {
        Some(Lit::Tuple(dims)) => dims
            .iter()
            .map(|d| match d {
                Lit::Int(n) if *n >= 0 => Ok(*n as u64),
                _ => Err(NpyError::Malformed("'shape' holds a non-size".into())),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(NpyError::Malformed("header has no 'shape' tuple".into())),
    };
    if !matches!(get("fortran_order"), Some(Lit::Bool(_))) {
        return Err(NpyError::Malformed("header has no boolean 'fortran_order'".into()));
    }
    Ok(Header {
        version: (version[0], version[1]),
        descr: descr_text(descr),
        object: has_object(descr),
        shape,
        data_offset: input.pos(),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    Tuple(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
}

fn descr_text(l: &Lit) -> String {
    match l {
        Lit::Str(s) => s.clone(),
        Lit::Tuple(_) => "structured".into(),
        _ => "?".into(),
    }
}

/// `'|O'`, or a structured descr (a list of `(name, dtype[, shape])`) with an object field.
fn has_object(l: &Lit) -> bool {
    match l {
        Lit::Str(s) => s.trim_start_matches(['<', '>', '|', '=']).starts_with('O'),
        Lit::Tuple(items) => items.iter().any(|f| match f {
            Lit::Tuple(parts) => parts.iter().skip(1).any(has_object),
            other => has_object(other),
        }),
        _ => false,
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn document(mut self) -> Option<Lit> {
        let v = self.value()?;
        self.ws();
        (self.i == self.s.len()).then_some(v)
    }

    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Lit> {
        self.ws();
        self.depth += 1;
        if self.depth > 32 {
            return None;
        }
        let v = match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut items = Vec::new();
                while !self.eat(b'}') {
                    let k = self.value()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    items.push((k, self.value()?));
                    if !self.eat(b',') && !self.eat(b'}') {
                        return None;
                    } else if self.s.get(self.i - 1) == Some(&b'}') {
                        break;
                    }
                }
                Lit::Dict(items)
            }
            open @ (b'(' | b'[') => {
                self.i += 1;
                let close = if open == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value()?);
                    if !self.eat(b',') && !self.eat(close) {
                        return None;
                    } else if self.s.get(self.i - 1) == Some(&close) {
                        break;
                    }
                }
                Lit::Tuple(items)
            }
            q @ (b'\'' | b'"') => {
                self.i += 1;
                let start = self.i;
                while *self.s.get(self.i)? != q {
                    self.i += if self.s[self.i] == b'\\' { 2 } else { 1 };
                }
                let text = String::from_utf8_lossy(self.s.get(start..self.i)?).into_owned();
                self.i += 1;
                Lit::Str(text)
            }
            _ => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                {
                    self.i += 1;
                }
                match std::str::from_utf8(&self.s[start..self.i]).ok()? {
                    "True" => Lit::Bool(true),
                    "False" => Lit::Bool(false),
                    "None" => Lit::None,
                    t => Lit::Int(t.trim_end_matches('L').parse().ok()?),
                }
            }
        };
        self.depth -= 1;
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str, version: u8) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version, 0]);
        if version == 1 {
            out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(header.as_bytes());
        out
    }

    #[test]
    fn parses_headers() {
        let cases = [
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n",
                1,
                false,
                vec![3, 4],
            ),
            (
                "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
                2,
                true,
                vec![2],
            ),
            (
                "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': True, 'shape': (), }",
                3,
                true,
                vec![],
            ),
        ];
        for (h, v, object, shape) in cases {
            let data = npy(h, v);
            let got = read_header(&mut Input::new(&data[..])).unwrap();
            assert_eq!(got.object, object, "{h}");
            assert_eq!(got.shape, shape);
            assert_eq!(got.data_offset, data.len() as u64);
        }
    }

    #[test]
    fn rejects_bad_headers() {
        for (data, want) in [
            (b"\x93NUMPZ\x01\x00".to_vec(), "not a .npy"),
            (npy("{'descr': '<f4'}", 1), "shape"),
            (npy("[1, 2]", 1), "not a dict"),
            (npy("{'descr': __import__('os')}", 1), "not a dict literal"),
            (
                npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 9),
                "version 9",
            ),
        ] {
            let err = read_header(&mut Input::new(&data[..])).unwrap_err().to_string();
            assert!(err.contains(want), "{err} / {want}");
        }
        let mut short = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 1);
        short.truncate(20);
        assert!(read_header(&mut Input::new(&short[..])).is_err());
    }
}
