//! Lenient field readers for bodies that clients other than Java write loosely.
//!
//! fastjson leaves a null field out; serde-based clients (rocketmq-client-rust) write
//! `null` for an unset `Option`. Java writes enums by name; we also accept an ordinal, and
//! keep an unknown name as it is rather than refuse the whole body.

use serde::{Deserialize, Deserializer};

/// Reads `null` as the type's default (`#[serde(default)]` alone only covers a missing
/// field).
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(i64),
    Text(String),
}

/// Reads an integer written as a JSON number or as a string of digits (the C++ client
/// writes `"subVersion":"1795331440498"`); `null` is 0.
pub(crate) fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match Option::<NumberOrText>::deserialize(deserializer)? {
        None => Ok(0),
        Some(NumberOrText::Number(n)) => Ok(n),
        Some(NumberOrText::Text(text)) => text
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format_args!("[{text}] is not an integer"))),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NameOrOrdinal {
    Name(String),
    Ordinal(i64),
}

/// Reads a Java enum written by name (kept as sent, with `aliases` mapped to their names),
/// by ordinal into `names`, or as `null` (the empty string).
fn enum_name<'de, D: Deserializer<'de>>(
    deserializer: D,
    names: &[&str],
    aliases: &[(&str, &str)],
) -> Result<String, D::Error> {
    match Option::<NameOrOrdinal>::deserialize(deserializer)? {
        None => Ok(String::new()),
        Some(NameOrOrdinal::Name(name)) => Ok(aliases
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, canonical)| (*canonical).to_owned())),
        Some(NameOrOrdinal::Ordinal(ordinal)) => usize::try_from(ordinal)
            .ok()
            .and_then(|i| names.get(i))
            .map(|name| (*name).to_owned())
            .ok_or_else(|| {
                serde::de::Error::custom(format_args!("enum ordinal {ordinal} out of range"))
            }),
    }
}

/// `ConsumeType`, also accepting its display names `PULL`, `PUSH` and `POP`.
pub(crate) fn consume_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use super::consume_type::*;
    enum_name(
        d,
        &[CONSUME_ACTIVELY, CONSUME_PASSIVELY, CONSUME_POP],
        &[
            ("PULL", CONSUME_ACTIVELY),
            ("PUSH", CONSUME_PASSIVELY),
            ("POP", CONSUME_POP),
        ],
    )
}

/// `MessageModel`.
pub(crate) fn message_model<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use super::message_model::*;
    enum_name(d, &[BROADCASTING, CLUSTERING], &[])
}

/// `ConsumeFromWhere`, ordinals including the deprecated values.
pub(crate) fn consume_from_where<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    use super::consume_from_where::*;
    enum_name(
        d,
        &[
            CONSUME_FROM_LAST_OFFSET,
            "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
            "CONSUME_FROM_MIN_OFFSET",
            "CONSUME_FROM_MAX_OFFSET",
            CONSUME_FROM_FIRST_OFFSET,
            CONSUME_FROM_TIMESTAMP,
        ],
        &[],
    )
}
