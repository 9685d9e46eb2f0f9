//! The JSON header reader: one pass over the bytes, straight into a
//! [`RemotingCommand`].
//!
//! Every request's header goes through here, so it is written by hand instead of through
//! serde's derive, which cost about 20,000 instructions per send header (most of the
//! broker's per-message work). It accepts exactly what the serde reader it replaced
//! accepted: the tests and the `json_header_matches_serde` fuzz target compare the two on
//! arbitrary input (see `serde_reference.rs`). Rare shapes (numbers, nested values in
//! ext fields) are handed to `serde_json` so their text matches to the byte.

use std::borrow::Cow;

use crate::codes::LanguageCode;
use crate::command::{ExtFields, RemotingCommand};
use crate::frame::DecodeError;

use super::scan;

/// How deep a value below the header object may nest: `serde_json`'s limit of 128
/// levels counted from the root, less the header object and the level it fails on.
const MAX_DEPTH: usize = 126;

/// Decodes a JSON header; the body and serialize type are left for the caller to set.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let mut reader = Reader {
        bytes: header,
        pos: 0,
        // One check for the whole header instead of one per string. A header that is not
        // all UTF-8 may still be accepted (serde let ignored strings hold anything), so
        // then each kept string is checked on its own.
        text: std::str::from_utf8(header).ok(),
    };
    let command = reader.header()?;
    reader.whitespace();
    if reader.pos < header.len() {
        return Err(reader.error("trailing characters"));
    }
    Ok(command)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The header as text, when it is all UTF-8.
    text: Option<&'a str>,
}

/// The top-level keys a header may carry once each.
#[derive(Clone, Copy)]
enum Known {
    Code = 1,
    Language = 2,
    Version = 4,
    Opaque = 8,
    Flag = 16,
    Remark = 32,
    ExtFields = 64,
}

impl<'a> Reader<'a> {
    fn error(&self, reason: impl Into<String>) -> DecodeError {
        DecodeError::MalformedHeader {
            encoding: "JSON",
            offset: self.pos,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips whitespace and takes `byte`.
    fn expect(&mut self, byte: u8) -> Result<(), DecodeError> {
        self.whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(format!("expected `{}`", char::from(byte))))
        }
    }

    /// Skips whitespace and takes `byte` if it is next.
    fn take(&mut self, byte: u8) -> bool {
        self.whitespace();
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Takes `literal` (`true`, `false`, `null`) if it is next.
    fn literal(&mut self, literal: &[u8]) -> bool {
        let found = self.bytes[self.pos..].starts_with(literal);
        if found {
            self.pos += literal.len();
        }
        found
    }

    /// Reads the members of an object whose `{` was just taken, calling `member` with each
    /// key once the reader stands before its value.
    fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        if self.take(b'}') {
            return Ok(());
        }
        loop {
            self.expect(b'"')?;
            let key = self.string()?;
            self.expect(b':')?;
            self.whitespace();
            member(self, key)?;
            if self.take(b'}') {
                return Ok(());
            }
            self.expect(b',')?;
        }
    }

    fn header(&mut self) -> Result<RemotingCommand, DecodeError> {
        self.expect(b'{')?;
        let mut command = RemotingCommand {
            language: LanguageCode::JAVA,
            ..RemotingCommand::default()
        };
        let mut seen = 0u8;
        self.members(|reader, key| {
            let known = match key.as_ref() {
                "code" => Known::Code,
                "language" => Known::Language,
                "version" => Known::Version,
                "opaque" => Known::Opaque,
                "flag" => Known::Flag,
                "remark" => Known::Remark,
                "extFields" => Known::ExtFields,
                _ => return reader.skip_value(0),
            };
            if seen & known as u8 != 0 {
                return Err(reader.error(format!("duplicate field `{key}`")));
            }
            seen |= known as u8;
            match known {
                Known::Code => command.code = reader.int()?,
                Known::Version => command.version = reader.int()?,
                Known::Opaque => command.opaque = reader.int()?,
                Known::Flag => command.flag = reader.int()?,
                Known::Language => command.language = reader.language()?,
                Known::Remark => command.remark = reader.remark()?.map(String::into_boxed_str),
                Known::ExtFields => command.ext_fields = reader.ext_fields()?,
            }
            Ok(())
        })?;
        Ok(command)
    }

    /// An `i32` written as a JSON integer.
    fn int(&mut self) -> Result<i32, DecodeError> {
        let start = self.pos;
        let text = self.number()?;
        let integer = !text.contains(['.', 'e', 'E']);
        match text.parse::<i32>() {
            Ok(value) if integer && text != "-0" => Ok(value),
            _ => {
                self.pos = start;
                Err(self.error(format!("{text} is not an i32")))
            }
        }
    }

    /// `language`: an enum name (unknown names are OTHER), its ordinal, or null for JAVA.
    fn language(&mut self) -> Result<LanguageCode, DecodeError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                let name = self.string()?;
                Ok(LanguageCode::from_name(&name).unwrap_or(LanguageCode::OTHER))
            }
            Some(b'n') if self.literal(b"null") => Ok(LanguageCode::JAVA),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                let text = self.number()?;
                let ordinal = (!text.contains(['.', 'e', 'E']))
                    .then(|| text.parse::<u8>().ok())
                    .flatten();
                ordinal.map(LanguageCode).ok_or_else(|| {
                    self.pos = start;
                    self.error(format!("language {text} is out of range"))
                })
            }
            _ => Err(self.error("language is not a name")),
        }
    }

    fn remark(&mut self) -> Result<Option<String>, DecodeError> {
        if self.literal(b"null") {
            return Ok(None);
        }
        self.expect(b'"')?;
        Ok(Some(self.string()?.into_owned()))
    }

    /// `extFields`: an object of texts, or null for none. Null values are left out;
    /// numbers, booleans and nested values become the text fastjson would print.
    fn ext_fields(&mut self) -> Result<ExtFields, DecodeError> {
        let mut fields = ExtFields::with_capacity(16);
        // Keys and values are copied straight from the header into the fields' text.
        if self.literal(b"null") {
            return Ok(fields);
        }
        self.expect(b'{')?;
        self.members(|reader, key| {
            match reader.ext_value()? {
                Some(value) => fields.insert(&key, &value),
                // A later null still replaces an earlier value, as in a map.
                None => fields.remove(key.as_ref()),
            };
            Ok(())
        })?;
        Ok(fields)
    }

    fn ext_value(&mut self) -> Result<Option<Cow<'a, str>>, DecodeError> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                Ok(Some(self.string()?))
            }
            Some(b't') if self.literal(b"true") => Ok(Some(Cow::Borrowed("true"))),
            Some(b'f') if self.literal(b"false") => Ok(Some(Cow::Borrowed("false"))),
            Some(b'n') if self.literal(b"null") => Ok(None),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                let text = self.number()?;
                number_text(text)
                    .map(|n| Some(Cow::Owned(n)))
                    .ok_or_else(|| {
                        self.pos = start;
                        self.error(format!("number {text} out of range"))
                    })
            }
            Some(b'{' | b'[') => {
                let start = self.pos;
                // One level down already: the ext-field object.
                self.skip_value(1)?;
                let nested: serde_json::Value =
                    serde_json::from_slice(&self.bytes[start..self.pos]).map_err(|e| {
                        self.pos = start;
                        self.error(e.to_string())
                    })?;
                Ok(Some(Cow::Owned(nested.to_string())))
            }
            _ => Err(self.error("expected a value")),
        }
    }

    /// The rest of a string whose opening quote was just taken.
    fn string(&mut self) -> Result<Cow<'a, str>, DecodeError> {
        let start = self.pos;
        let run = self.plain_run();
        if self.peek() == Some(b'"') {
            let text = self.utf8(start, start + run)?;
            self.pos += 1;
            return Ok(Cow::Borrowed(text));
        }
        let mut owned = String::with_capacity(run + 16);
        owned.push_str(self.utf8(start, start + run)?);
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut owned)?;
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
            let from = self.pos;
            let run = self.plain_run();
            owned.push_str(self.utf8(from, from + run)?);
        }
    }

    /// Advances over bytes that need no attention in a string; returns how many.
    fn plain_run(&mut self) -> usize {
        let run = scan::first_special(&self.bytes[self.pos..]);
        self.pos += run;
        run
    }

    fn utf8(&self, from: usize, to: usize) -> Result<&'a str, DecodeError> {
        // String contents start and end next to ASCII quotes or escapes, so in a header
        // that is all UTF-8 they are whole characters.
        if let Some(text) = self.text.and_then(|text| text.get(from..to)) {
            return Ok(text);
        }
        std::str::from_utf8(&self.bytes[from..to]).map_err(|e| DecodeError::MalformedHeader {
            encoding: "JSON",
            offset: from + e.valid_up_to(),
            reason: "invalid UTF-8 in a string".to_owned(),
        })
    }

    /// One escape after its backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), DecodeError> {
        let Some(kind) = self.peek() else {
            return Err(self.error("unterminated escape"));
        };
        self.pos += 1;
        let plain = match kind {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                let c = match unit {
                    0xD800..=0xDBFF => {
                        if !(self.literal(b"\\u")) {
                            return Err(self.error("lone leading surrogate in hex escape"));
                        }
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(self.error("lone leading surrogate in hex escape"));
                        }
                        let code = 0x10000
                            + ((u32::from(unit) - 0xD800) << 10)
                            + (u32::from(low) - 0xDC00);
                        char::from_u32(code)
                    }
                    0xDC00..=0xDFFF => None,
                    _ => char::from_u32(u32::from(unit)),
                };
                c.ok_or_else(|| self.error("lone trailing surrogate in hex escape"))?
            }
            _ => {
                self.pos -= 1;
                return Err(self.error("invalid escape"));
            }
        };
        out.push(plain);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u16, DecodeError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("unterminated hex escape"))?;
        let mut value = 0u16;
        for &d in digits {
            let nibble = char::from(d)
                .to_digit(16)
                .ok_or_else(|| self.error("invalid hex escape"))?;
            value = value << 4 | nibble as u16;
        }
        self.pos += 4;
        Ok(value)
    }

    /// A number by JSON's grammar; returns its text.
    fn number(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        let digits = |reader: &mut Self| {
            let from = reader.pos;
            while let Some(b'0'..=b'9') = reader.peek() {
                reader.pos += 1;
            }
            reader.pos - from
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("invalid number"));
            }
        }
        // Only ASCII was taken.
        Ok(std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or_default())
    }

    /// Any value, checked but not kept. Nesting is walked with a counter, never by
    /// recursion, so hostile input cannot exhaust the stack.
    fn skip_value(&mut self, depth: usize) -> Result<(), DecodeError> {
        // Each entry: whether the open container is an object.
        let mut open: Vec<bool> = Vec::new();
        loop {
            // A value.
            self.whitespace();
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    self.skip_string()?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(b't') if self.literal(b"true") => {}
                Some(b'f') if self.literal(b"false") => {}
                Some(b'n') if self.literal(b"null") => {}
                Some(container @ (b'{' | b'[')) => {
                    self.pos += 1;
                    if depth + open.len() >= MAX_DEPTH {
                        return Err(self.error("recursion limit exceeded"));
                    }
                    let object = container == b'{';
                    let close = if object { b'}' } else { b']' };
                    if !self.take(close) {
                        open.push(object);
                        if object {
                            self.object_key()?;
                        }
                        continue;
                    }
                }
                _ => return Err(self.error("expected a value")),
            }
            // After a value: the next member, or close containers.
            loop {
                let Some(&object) = open.last() else {
                    return Ok(());
                };
                let close = if object { b'}' } else { b']' };
                if self.take(close) {
                    open.pop();
                    continue;
                }
                self.expect(b',')?;
                if object {
                    self.object_key()?;
                }
                break;
            }
        }
    }

    /// `"key":` inside an object being skipped.
    fn object_key(&mut self) -> Result<(), DecodeError> {
        self.expect(b'"')?;
        self.skip_string()?;
        self.expect(b':')
    }

    /// The rest of a string that is not kept, checked as `serde_json` checks an ignored
    /// one: escapes well formed and no control characters, but neither its UTF-8 nor its
    /// surrogate pairs decoded.
    fn skip_string(&mut self) -> Result<(), DecodeError> {
        loop {
            self.plain_run();
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1;
                        }
                        Some(b'u') => {
                            self.pos += 1;
                            self.hex4()?;
                        }
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }
}

/// A JSON number's text as the serde reader printed it (integers as they are, `-0` and
/// other floats in `serde_json`'s shortest form); `None` when it is out of range.
fn number_text(text: &str) -> Option<String> {
    let plain_integer = !text.contains(['.', 'e', 'E']) && text != "-0";
    if plain_integer && (text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok()) {
        return Some(text.to_owned());
    }
    serde_json::from_str::<serde_json::Number>(text)
        .ok()
        .map(|n| n.to_string())
}
