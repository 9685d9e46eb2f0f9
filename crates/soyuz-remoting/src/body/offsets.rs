//! Offset bodies: the broker's `consumerOffset.json` (also GET_ALL_CONSUMER_OFFSET's
//! body) and the admin bodies `TopicStatsTable` (GET_TOPIC_STATS_INFO) and `ConsumeStats`
//! (GET_CONSUME_STATS).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::lenient::nullable;
use super::mq_map::{self, encode_mq_keyed_map, json};
use super::{decode_json, BodyError, DataVersion, MessageQueue};

/// Committed consumer offsets (`ConsumerOffsetSerializeWrapper`, and what
/// `ConsumerOffsetManager` persists).
///
/// fastjson writes the queue-id keys bare (`{"T@G":{0:12}}`); [`decode_json`] reads that.
/// We write them quoted, which fastjson reads. Like Java we also write `groupTopicMap`
/// (derived from the table, never read back).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerOffsetSerializeWrapper {
    /// `topic@group` to queue id to the next offset to consume.
    #[serde(deserialize_with = "nullable")]
    pub offset_table: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Version of the table.
    pub data_version: Option<DataVersion>,
}

impl ConsumerOffsetSerializeWrapper {
    /// Group to the topics it has offsets for, as Java's `getGroupTopicMap` derives it
    /// (keys that do not split on `@` into exactly two parts are skipped).
    pub fn group_topic_map(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for key in self.offset_table.keys() {
            let mut parts: Vec<&str> = key.split('@').collect();
            // Java's String.split drops trailing empty strings.
            while parts.last().is_some_and(|p| p.is_empty()) {
                parts.pop();
            }
            if let [topic, group] = parts[..] {
                map.entry(group.to_owned())
                    .or_default()
                    .insert(topic.to_owned());
            }
        }
        map
    }
}

impl Serialize for ConsumerOffsetSerializeWrapper {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct JavaForm<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            data_version: Option<&'a DataVersion>,
            group_topic_map: BTreeMap<String, BTreeSet<String>>,
            offset_table: &'a BTreeMap<String, BTreeMap<i32, i64>>,
        }
        JavaForm {
            data_version: self.data_version.as_ref(),
            group_topic_map: self.group_topic_map(),
            offset_table: &self.offset_table,
        }
        .serialize(serializer)
    }
}

/// One queue's offsets in a [`TopicStatsTable`] (`TopicOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// Smallest offset still stored.
    pub min_offset: i64,
    /// Offset the next message will get.
    pub max_offset: i64,
    /// Store time of the last message, milliseconds (0 if none).
    pub last_update_timestamp: i64,
}

/// GET_TOPIC_STATS_INFO's answer (`TopicStatsTable`). Written with
/// [`encode`](Self::encode) in fastjson's `MessageQueue`-keyed form.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    /// Each queue of the topic on this broker.
    #[serde(deserialize_with = "mq_map::deserialize")]
    pub offset_table: Vec<(MessageQueue, TopicOffset)>,
    /// Messages put per second (Java writes it, 0 when not tracked).
    pub topic_put_tps: f64,
}

impl TopicStatsTable {
    /// `{"offsetTable":{{queue}:{...},...},"topicPutTps":0.0}`.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            r#"{{"offsetTable":{},"topicPutTps":{}}}"#,
            encode_mq_keyed_map(&self.offset_table),
            json(&self.topic_put_tps)
        )
        .into_bytes()
    }

    /// Reads the body in fastjson's or standard form.
    pub fn decode(body: &[u8]) -> Result<Self, BodyError> {
        decode_json(body)
    }
}

/// One queue's progress in [`ConsumeStats`] (`OffsetWrapper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// The queue's max offset on the broker.
    pub broker_offset: i64,
    /// The group's committed offset.
    pub consumer_offset: i64,
    /// The group's pull offset (5.x POP / broker-tracked), else the committed one.
    pub pull_offset: i64,
    /// Store time of the last consumed message, milliseconds.
    pub last_timestamp: i64,
}

/// GET_CONSUME_STATS's answer (`ConsumeStats`). Written with [`encode`](Self::encode) in
/// fastjson's `MessageQueue`-keyed form.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    /// Each queue the group consumes on this broker.
    #[serde(deserialize_with = "mq_map::deserialize")]
    pub offset_table: Vec<(MessageQueue, OffsetWrapper)>,
    /// Messages consumed per second.
    pub consume_tps: f64,
}

impl ConsumeStats {
    /// `{"consumeTps":0.0,"offsetTable":{{queue}:{...},...}}`.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            r#"{{"consumeTps":{},"offsetTable":{}}}"#,
            json(&self.consume_tps),
            encode_mq_keyed_map(&self.offset_table)
        )
        .into_bytes()
    }

    /// Reads the body in fastjson's or standard form.
    pub fn decode(body: &[u8]) -> Result<Self, BodyError> {
        decode_json(body)
    }

    /// Messages not yet consumed: the sum of broker minus consumer offsets.
    pub fn total_diff(&self) -> i64 {
        self.offset_table
            .iter()
            .map(|(_, o)| o.broker_offset - o.consumer_offset)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::encode_json;

    #[test]
    fn reads_java_consumer_offsets_with_bare_int_keys() {
        let java = r#"{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":1718000000000},"groupTopicMap":{"grp":["TopicTest"]},"offsetTable":{"TopicTest@grp":{0:12,1:3},"%RETRY%grp@grp":{0:0}}}"#;
        let wrapper: ConsumerOffsetSerializeWrapper = decode_json(java.as_bytes()).expect("reads");
        assert_eq!(wrapper.offset_table["TopicTest@grp"][&1], 3);
        assert_eq!(wrapper.data_version.as_ref().map(|v| v.counter), Some(2));
        let groups = wrapper.group_topic_map();
        assert_eq!(
            groups["grp"].iter().collect::<Vec<_>>(),
            ["%RETRY%grp", "TopicTest"]
        );
    }

    #[test]
    fn consumer_offsets_round_trip_with_quoted_keys() {
        let mut wrapper = ConsumerOffsetSerializeWrapper::default();
        wrapper
            .offset_table
            .entry("T@G".into())
            .or_default()
            .insert(0, 7);
        wrapper
            .offset_table
            .insert("odd@key@x".into(), BTreeMap::new());
        let text = String::from_utf8(encode_json(&wrapper)).expect("utf8");
        assert_eq!(
            text,
            r#"{"groupTopicMap":{"G":["T"]},"offsetTable":{"T@G":{"0":7},"odd@key@x":{}}}"#
        );
        assert_eq!(decode_json(text.as_bytes()), Ok(wrapper));
    }

    #[test]
    fn topic_stats_table_in_java_form() {
        let java = r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"lastUpdateTimestamp":1718000000000,"maxOffset":10,"minOffset":0},{"brokerName":"broker-a","queueId":1,"topic":"T"}:{"lastUpdateTimestamp":0,"maxOffset":0,"minOffset":0}},"topicPutTps":0.0}"#;
        let table = TopicStatsTable::decode(java.as_bytes()).expect("reads");
        assert_eq!(table.offset_table.len(), 2);
        assert_eq!(
            table.offset_table[0].0,
            MessageQueue::new("T", "broker-a", 0)
        );
        assert_eq!(table.offset_table[0].1.max_offset, 10);
        let text = String::from_utf8(table.encode()).expect("utf8");
        assert!(text.starts_with(
            r#"{"offsetTable":{{"brokerName":"broker-a","queueId":0,"topic":"T"}:{"minOffset":0,"maxOffset":10,"#
        ));
        assert!(text.ends_with(r#""topicPutTps":0.0}"#));
        assert_eq!(TopicStatsTable::decode(text.as_bytes()), Ok(table));
    }

    #[test]
    fn consume_stats_in_java_form() {
        let java = r#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":3,"topic":"T"}:{"brokerOffset":20,"consumerOffset":15,"lastTimestamp":1718000000000,"pullOffset":16}}}"#;
        let stats = ConsumeStats::decode(java.as_bytes()).expect("reads");
        assert_eq!(stats.consume_tps, 1.5);
        assert_eq!(stats.total_diff(), 5);
        let (queue, offsets) = &stats.offset_table[0];
        assert_eq!(queue, &MessageQueue::new("T", "b", 3));
        assert_eq!(offsets.pull_offset, 16);
        assert_eq!(ConsumeStats::decode(&stats.encode()), Ok(stats));
        let empty = ConsumeStats::default();
        assert_eq!(
            String::from_utf8(empty.encode()).expect("utf8"),
            r#"{"consumeTps":0.0,"offsetTable":{}}"#
        );
    }
}
