//! The JSON header (serialize type 0), as fastjson writes and reads it.
//!
//! Java emits the keys alphabetically plus a redundant `"serializeTypeCurrentRPC":"JSON"`,
//! the language as its enum name, and leaves out a null remark. Receivers ignore keys
//! they do not know. We accept a numeric language and non-string ext-field values from
//! other clients too, since fastjson would.

use std::collections::BTreeMap;

use bytes::{BufMut, BytesMut};
use serde::Deserialize;

use crate::codes::LanguageCode;
use crate::command::{ExtFields, RemotingCommand};
use crate::frame::DecodeError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireHeader {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    language: Option<serde_json::Value>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    ext_fields: Option<BTreeMap<String, ExtText>>,
}

/// One ext-field value read straight into its text: strings as they are, numbers and
/// booleans as fastjson would print them, null as absent, and anything nested as its
/// JSON text. Going through `serde_json::Value` would cost an allocation per field more.
struct ExtText(Option<String>);

impl<'de> Deserialize<'de> for ExtText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ExtTextVisitor)
    }
}

struct ExtTextVisitor;

impl<'de> serde::de::Visitor<'de> for ExtTextVisitor {
    type Value = ExtText;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an ext-field value")
    }

    fn visit_str<E>(self, v: &str) -> Result<ExtText, E> {
        Ok(ExtText(Some(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<ExtText, E> {
        Ok(ExtText(Some(v)))
    }

    fn visit_bool<E>(self, v: bool) -> Result<ExtText, E> {
        Ok(ExtText(Some(v.to_string())))
    }

    fn visit_i64<E>(self, v: i64) -> Result<ExtText, E> {
        Ok(ExtText(Some(v.to_string())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<ExtText, E> {
        Ok(ExtText(Some(v.to_string())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<ExtText, E> {
        Ok(ExtText(Some(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        )))
    }

    fn visit_unit<E>(self) -> Result<ExtText, E> {
        Ok(ExtText(None))
    }

    fn visit_none<E>(self) -> Result<ExtText, E> {
        Ok(ExtText(None))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ExtText, A::Error> {
        let nested =
            serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(ExtText(Some(nested.to_string())))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<ExtText, A::Error> {
        let nested =
            serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(ExtText(Some(nested.to_string())))
    }
}

fn malformed(offset: usize, reason: impl Into<String>) -> DecodeError {
    DecodeError::MalformedHeader {
        encoding: "JSON",
        offset,
        reason: reason.into(),
    }
}

/// Decodes a JSON header; the body and serialize type are left for the caller to set.
pub fn decode(header: &[u8]) -> Result<RemotingCommand, DecodeError> {
    let wire: WireHeader = serde_json::from_slice(header).map_err(|e| {
        // serde_json reports line and column; the header is one line in practice.
        malformed(e.column().saturating_sub(1), e.to_string())
    })?;
    let language = match wire.language {
        None | Some(serde_json::Value::Null) => LanguageCode::JAVA,
        Some(serde_json::Value::String(name)) => {
            LanguageCode::from_name(&name).unwrap_or(LanguageCode::OTHER)
        }
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .map(LanguageCode)
            .ok_or_else(|| malformed(0, format!("language {n} is out of range")))?,
        Some(other) => return Err(malformed(0, format!("language {other} is not a name"))),
    };
    let mut ext_fields = ExtFields::new();
    for (key, ExtText(value)) in wire.ext_fields.unwrap_or_default() {
        if let Some(text) = value {
            ext_fields.insert(key, text);
        }
    }
    Ok(RemotingCommand {
        code: wire.code,
        language,
        version: wire.version,
        opaque: wire.opaque,
        flag: wire.flag,
        remark: wire.remark,
        ext_fields,
        ..RemotingCommand::default()
    })
}

/// Appends the JSON header of `command` to `dst`, keys in fastjson's order.
pub fn encode(command: &RemotingCommand, dst: &mut BytesMut) {
    dst.put_slice(b"{\"code\":");
    put_int(dst, i64::from(command.code));
    if !command.ext_fields.is_empty() {
        dst.put_slice(b",\"extFields\":{");
        for (i, (key, value)) in command.ext_fields.iter().enumerate() {
            if i > 0 {
                dst.put_u8(b',');
            }
            put_json_string(dst, key);
            dst.put_u8(b':');
            put_json_string(dst, value);
        }
        dst.put_u8(b'}');
    }
    dst.put_slice(b",\"flag\":");
    put_int(dst, i64::from(command.flag));
    dst.put_slice(b",\"language\":\"");
    dst.put_slice(command.language.name().unwrap_or("OTHER").as_bytes());
    dst.put_slice(b"\",\"opaque\":");
    put_int(dst, i64::from(command.opaque));
    if let Some(remark) = &command.remark {
        dst.put_slice(b",\"remark\":");
        put_json_string(dst, remark);
    }
    dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    put_int(dst, i64::from(command.version));
    dst.put_u8(b'}');
}

fn put_int(dst: &mut BytesMut, value: i64) {
    let mut buf = itoa_buf(value);
    dst.put_slice(buf.as_bytes_mut());
}

/// Formats an integer without allocating.
fn itoa_buf(value: i64) -> IntText {
    let mut out = IntText {
        bytes: [0; 20],
        start: 20,
    };
    let negative = value < 0;
    let mut magnitude = value.unsigned_abs();
    loop {
        out.start -= 1;
        out.bytes[out.start] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    if negative {
        out.start -= 1;
        out.bytes[out.start] = b'-';
    }
    out
}

struct IntText {
    bytes: [u8; 20],
    start: usize,
}

impl IntText {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// Writes `s` as a JSON string literal with the escapes JSON requires.
fn put_json_string(dst: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    dst.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut clean_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1F => None,
            _ => continue,
        };
        dst.put_slice(&bytes[clean_from..i]);
        match escape {
            Some(seq) => dst.put_slice(seq),
            None => {
                dst.put_slice(b"\\u00");
                dst.put_u8(HEX[usize::from(b >> 4)]);
                dst.put_u8(HEX[usize::from(b & 0xF)]);
            }
        }
        clean_from = i + 1;
    }
    dst.put_slice(&bytes[clean_from..]);
    dst.put_u8(b'"');
}
