//! Tokens of `SelectorParser.jj`: keywords and identifiers are ASCII and case-insensitive,
//! tokens need no separator between them (maximal munch, as JavaCC does).

use crate::FilterError;

/// One token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: Tok,
    pub(crate) pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// `DECIMAL_LITERAL`'s image (digits, maybe an `l`/`L` suffix).
    Decimal(String),
    /// `FLOATING_POINT_LITERAL`'s image.
    Float(String),
    /// A string literal, `''` already unescaped.
    Str(String),
    Id(String),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Decimal(s) | Tok::Float(s) => format!("number {s}"),
            Tok::Str(s) => format!("string '{}'", s.replace('\'', "''")),
            Tok::Id(s) => format!("identifier {s}"),
            Tok::Eof => "end of input".to_owned(),
            other => format!("{:?}", other).to_uppercase(),
        }
    }
}

fn keyword(word: &str) -> Option<Tok> {
    const KEYWORDS: [(&str, Tok); 12] = [
        ("NOT", Tok::Not),
        ("AND", Tok::And),
        ("OR", Tok::Or),
        ("BETWEEN", Tok::Between),
        ("IN", Tok::In),
        ("TRUE", Tok::True),
        ("FALSE", Tok::False),
        ("NULL", Tok::Null),
        ("IS", Tok::Is),
        ("CONTAINS", Tok::Contains),
        ("STARTSWITH", Tok::StartsWith),
        ("ENDSWITH", Tok::EndsWith),
    ];
    KEYWORDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(word))
        .map(|(_, t)| t.clone())
}

fn is_id_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_id_part(b: u8) -> bool {
    is_id_start(b) || b.is_ascii_digit()
}

fn digits(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// The end of an `EXPONENT` (`E [+-] digits`) starting at `i`, if there is one.
fn exponent(bytes: &[u8], i: usize) -> Option<usize> {
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        let end = digits(bytes, j);
        (end > j).then_some(end)
    } else {
        None
    }
}

/// The longest number token at `start` (which holds a digit or a `.`), or `None`.
fn number(bytes: &[u8], start: usize) -> Option<(Tok, usize)> {
    let text = |end: usize| String::from_utf8_lossy(&bytes[start..end]).into_owned();
    let mut best: Option<(Tok, usize)> = None;
    // DECIMAL_LITERAL: "0" | [1-9][0-9]* [lL]?
    if bytes[start] == b'0' {
        best = Some((Tok::Decimal(text(start + 1)), start + 1));
    } else if bytes[start].is_ascii_digit() {
        let mut end = digits(bytes, start);
        if end < bytes.len() && (bytes[end] == b'l' || bytes[end] == b'L') {
            end += 1;
        }
        best = Some((Tok::Decimal(text(end)), end));
    }
    // FLOATING_POINT_LITERAL
    let int_end = digits(bytes, start);
    let float_end = if int_end > start {
        if int_end < bytes.len() && bytes[int_end] == b'.' {
            let frac_end = digits(bytes, int_end + 1);
            Some(exponent(bytes, frac_end).unwrap_or(frac_end))
        } else {
            exponent(bytes, int_end)
        }
    } else if bytes[start] == b'.' {
        let frac_end = digits(bytes, start + 1);
        (frac_end > start + 1).then(|| exponent(bytes, frac_end).unwrap_or(frac_end))
    } else {
        None
    };
    if let Some(end) = float_end {
        if best.as_ref().is_none_or(|(_, e)| end > *e) {
            best = Some((Tok::Float(text(end)), end));
        }
    }
    best
}

/// Splits `text` into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, FilterError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        // SPECIAL_TOKEN: the five whitespace characters of the grammar, nothing else.
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c) {
            i += 1;
            continue;
        }
        if bytes[i..].starts_with(b"--") {
            // Java needs a line end after the comment; a comment running to the end of
            // the input is accepted here (Java ignores whatever follows the expression).
            while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                i += 1;
            }
            continue;
        }
        if bytes[i..].starts_with(b"/*") {
            match text[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 2,
                None => return Err(FilterError::new(start, "unterminated /* comment")),
            }
            continue;
        }
        let (kind, end) = match b {
            b'\'' => {
                let mut value = String::new();
                let mut j = i + 1;
                loop {
                    match text[j..].find('\'') {
                        None => return Err(FilterError::new(start, "unterminated string literal")),
                        Some(q) => {
                            value.push_str(&text[j..j + q]);
                            j += q + 1;
                            if bytes.get(j) == Some(&b'\'') {
                                value.push('\'');
                                j += 1;
                            } else {
                                break;
                            }
                        }
                    }
                }
                (Tok::Str(value), j)
            }
            b'=' => (Tok::Eq, i + 1),
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => (Tok::Ne, i + 2),
                Some(b'=') => (Tok::Le, i + 2),
                _ => (Tok::Lt, i + 1),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => (Tok::Ge, i + 2),
                _ => (Tok::Gt, i + 1),
            },
            b'(' => (Tok::LParen, i + 1),
            b')' => (Tok::RParen, i + 1),
            b',' => (Tok::Comma, i + 1),
            b'+' => (Tok::Plus, i + 1),
            b'-' => (Tok::Minus, i + 1),
            b'0'..=b'9' | b'.' => match number(bytes, i) {
                Some(found) => found,
                None => return Err(FilterError::new(start, "unexpected character '.'")),
            },
            b if is_id_start(b) => {
                let mut j = i + 1;
                while j < bytes.len() && is_id_part(bytes[j]) {
                    j += 1;
                }
                let word = &text[i..j];
                (keyword(word).unwrap_or_else(|| Tok::Id(word.to_owned())), j)
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or('?');
                return Err(FilterError::new(
                    start,
                    format!("unexpected character {c:?}"),
                ));
            }
        };
        tokens.push(Token { kind, pos: start });
        i = end;
    }
    tokens.push(Token {
        kind: Tok::Eof,
        pos: bytes.len(),
    });
    Ok(tokens)
}
