//! The serde-derived JSON header reader the hand-written one replaced, kept as the
//! oracle the tests and the `json_header_matches_serde` fuzz target compare it with.
//! Nothing outside tests and fuzzing calls it.

use std::collections::BTreeMap;

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

/// Decodes a JSON header the serde way.
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
            ext_fields.insert(&key, &text);
        }
    }
    Ok(RemotingCommand {
        code: wire.code,
        language,
        version: wire.version,
        opaque: wire.opaque,
        flag: wire.flag,
        remark: wire.remark.map(String::into_boxed_str),
        ext_fields,
        ..RemotingCommand::default()
    })
}
