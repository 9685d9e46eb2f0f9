//! Maps keyed by `MessageQueue` (`ResetOffsetBody`, `TopicStatsTable`, `ConsumeStats`).
//!
//! fastjson writes a `Map<MessageQueue, V>` as an object whose keys are themselves
//! objects: `{{"brokerName":"b","queueId":0,"topic":"t"}:12}`. That is not JSON, so serde
//! cannot write it; [`encode_mq_keyed_map`] does, and the bodies holding such a map have
//! an `encode` method instead of `Serialize`. Reading goes through
//! [`decode_json`](super::decode_json), which turns each object key into a string holding
//! its JSON text; [`deserialize`] parses those strings back. serde-based clients that use
//! `serde_json_any_key` write exactly that string form, so it is read too.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::MessageQueue;

/// Writes `entries` as fastjson writes a `Map<MessageQueue, V>`: queue keys as objects
/// with their fields in fastjson's alphabetical order, values as JSON, in the given order.
pub fn encode_mq_keyed_map<V: Serialize>(entries: &[(MessageQueue, V)]) -> String {
    let mut out = String::from("{");
    for (i, (queue, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&encode_mq_key(queue));
        out.push(':');
        out.push_str(&json(value));
    }
    out.push('}');
    out
}

/// A queue as fastjson writes it, fields sorted: `{"brokerName":..,"queueId":..,"topic":..}`.
pub fn encode_mq_key(queue: &MessageQueue) -> String {
    format!(
        r#"{{"brokerName":{},"queueId":{},"topic":{}}}"#,
        json(&queue.broker_name),
        queue.queue_id,
        json(&queue.topic)
    )
}

/// Standard JSON text of a value (plain data cannot fail to serialize).
pub(crate) fn json<V: Serialize + ?Sized>(value: &V) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A serde `deserialize_with` reader for a `MessageQueue`-keyed map read through
/// [`decode_json`](super::decode_json): keys are strings holding a queue's JSON. A
/// repeated queue keeps its last value, in the place of its first; `null` reads as empty.
pub fn deserialize<'de, D, V>(deserializer: D) -> Result<Vec<(MessageQueue, V)>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    deserializer.deserialize_option(OptionalMap(PhantomData))
}

struct OptionalMap<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for OptionalMap<V> {
    type Value = Vec<(MessageQueue, V)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map keyed by MessageQueue")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(MessageQueue, V)> = Vec::new();
        let mut index: BTreeMap<MessageQueue, usize> = BTreeMap::new();
        while let Some((key, value)) = access.next_entry::<String, V>()? {
            let queue: MessageQueue = serde_json::from_str(&key).map_err(|e| {
                serde::de::Error::custom(format_args!("MessageQueue key {key:?}: {e}"))
            })?;
            match index.get(&queue) {
                Some(&i) => entries[i].1 = value,
                None => {
                    index.insert(queue.clone(), entries.len());
                    entries.push((queue, value));
                }
            }
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::decode_json;

    #[derive(Deserialize)]
    struct Table {
        #[serde(deserialize_with = "deserialize")]
        t: Vec<(MessageQueue, i64)>,
    }

    #[test]
    fn writes_fastjson_object_keys_and_reads_them_back() {
        let entries = vec![
            (MessageQueue::new("t\"x", "b", 0), 12_i64),
            (MessageQueue::new("t", "b", 1), -1),
        ];
        let text = encode_mq_keyed_map(&entries);
        assert_eq!(
            text,
            r#"{{"brokerName":"b","queueId":0,"topic":"t\"x"}:12,{"brokerName":"b","queueId":1,"topic":"t"}:-1}"#
        );
        let table: Table = decode_json(format!(r#"{{"t":{text}}}"#).as_bytes()).expect("reads");
        assert_eq!(table.t, entries);
        assert_eq!(encode_mq_keyed_map::<i64>(&[]), "{}");
    }

    #[test]
    fn reads_string_keys_any_field_order_and_repeats() {
        let body = r#"{"t":{"{\"topic\":\"t\",\"brokerName\":\"b\",\"queueId\":3}":1,"{\"brokerName\":\"b\",\"queueId\":3,\"topic\":\"t\"}":2}}"#;
        let table: Table = decode_json(body.as_bytes()).expect("reads");
        assert_eq!(table.t, [(MessageQueue::new("t", "b", 3), 2)]);
        let table: Table = decode_json(br#"{"t":null}"#).expect("reads");
        assert!(table.t.is_empty());
        assert!(decode_json::<Table>(br#"{"t":{"not a queue":1}}"#).is_err());
    }
}
