//! Consumer group configuration: `SubscriptionGroupConfig` and the broker's
//! `subscriptionGroup.json` / GET_ALL_SUBSCRIPTIONGROUP_CONFIG body
//! `SubscriptionGroupWrapper`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lenient::nullable;
use super::DataVersion;

fn yes() -> bool {
    true
}

fn one_i32() -> i32 {
    1
}

fn one_i64() -> i64 {
    1
}

fn sixteen() -> i32 {
    16
}

fn fifteen() -> i32 {
    15
}

/// Java's default `GroupRetryPolicy` as fastjson writes it: type CUSTOMIZED with no
/// policy objects (the broker then uses the built-in delay levels).
pub fn default_group_retry_policy() -> serde_json::Value {
    serde_json::json!({ "type": "CUSTOMIZED" })
}

/// A consumer group's configuration on one broker (`SubscriptionGroupConfig`). Every
/// field missing from a body takes Java's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    /// Consumer group.
    #[serde(default, deserialize_with = "nullable")]
    pub group_name: String,
    /// Whether the group may consume.
    #[serde(default = "yes")]
    pub consume_enable: bool,
    /// Whether a new group starts from the queue's minimum offset when it is safe.
    #[serde(default = "yes")]
    pub consume_from_min_enable: bool,
    /// Whether broadcasting consumers may consume.
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    /// Whether the group consumes in order (5.x FIFO).
    #[serde(default)]
    pub consume_message_orderly: bool,
    /// Queues of the group's `%RETRY%` topic.
    #[serde(default = "one_i32")]
    pub retry_queue_nums: i32,
    /// Redeliveries before a message goes to the `%DLQ%` topic.
    #[serde(default = "sixteen")]
    pub retry_max_times: i32,
    /// `GroupRetryPolicy` (`type` CUSTOMIZED or EXPONENTIAL plus the policy objects),
    /// kept as JSON.
    #[serde(default = "default_group_retry_policy")]
    pub group_retry_policy: serde_json::Value,
    /// Broker id consumers read from (0 = master).
    #[serde(default)]
    pub broker_id: i64,
    /// Broker id consumers switch to when they fall behind.
    #[serde(default = "one_i64")]
    pub which_broker_when_consume_slowly: i64,
    /// Whether consumers are told when the group's membership changes.
    #[serde(default = "yes")]
    pub notify_consumer_ids_changed_enable: bool,
    /// Unit flags.
    #[serde(default)]
    pub group_sys_flag: i32,
    /// Push-consumer consume timeout, minutes.
    #[serde(default = "fifteen")]
    pub consume_timeout_minute: i32,
    /// `Set<SimpleSubscriptionData>` (`topic`, `expressionType`, `expression`,
    /// `version`), kept as JSON; absent (null) by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<serde_json::Value>,
    /// Extra attributes.
    #[serde(default, deserialize_with = "nullable")]
    pub attributes: BTreeMap<String, String>,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        Self {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            group_retry_policy: default_group_retry_policy(),
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
            subscription_data_set: None,
            attributes: BTreeMap::new(),
        }
    }
}

impl SubscriptionGroupConfig {
    /// A group with Java's defaults.
    pub fn new(group_name: impl Into<String>) -> Self {
        Self {
            group_name: group_name.into(),
            ..Self::default()
        }
    }
}

/// Every consumer group of a broker with its version (`SubscriptionGroupWrapper`; the
/// broker's `SubscriptionGroupManager` persists the same three fields).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    /// Group name to configuration.
    #[serde(deserialize_with = "nullable")]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    /// Group to topic to forbidden bits (UPDATE_AND_GET_GROUP_FORBIDDEN).
    #[serde(deserialize_with = "nullable")]
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    /// Version of the table.
    #[serde(deserialize_with = "nullable")]
    pub data_version: DataVersion,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{decode_json, encode_json};

    #[test]
    fn partial_json_takes_java_defaults() {
        let config: SubscriptionGroupConfig = decode_json(br#"{"groupName":"G"}"#).expect("reads");
        assert_eq!(config, SubscriptionGroupConfig::new("G"));
        assert!(config.consume_enable && config.consume_from_min_enable);
        assert_eq!(config.retry_max_times, 16);
        assert_eq!(config.which_broker_when_consume_slowly, 1);
        assert_eq!(config.group_retry_policy["type"], "CUSTOMIZED");
    }

    #[test]
    fn round_trips_and_writes_java_names() {
        let mut config = SubscriptionGroupConfig::new("G");
        config.consume_message_orderly = true;
        config.attributes.insert("k".into(), "v".into());
        let text = String::from_utf8(encode_json(&config)).expect("utf8");
        assert_eq!(
            text,
            r#"{"groupName":"G","consumeEnable":true,"consumeFromMinEnable":true,"consumeBroadcastEnable":true,"consumeMessageOrderly":true,"retryQueueNums":1,"retryMaxTimes":16,"groupRetryPolicy":{"type":"CUSTOMIZED"},"brokerId":0,"whichBrokerWhenConsumeSlowly":1,"notifyConsumerIdsChangedEnable":true,"groupSysFlag":0,"consumeTimeoutMinute":15,"attributes":{"k":"v"}}"#
        );
        assert_eq!(
            decode_json::<SubscriptionGroupConfig>(text.as_bytes()),
            Ok(config)
        );
    }

    #[test]
    fn reads_a_java_subscription_group_file() {
        // SubscriptionGroupManager.encode(true) as a 5.x broker writes it (abridged).
        let java = r#"{
            "dataVersion":{"counter":3,"stateVersion":0,"timestamp":1718000000000},
            "forbiddenTable":{"G":{"T":1}},
            "subscriptionGroupTable":{
                "G":{"attributes":{},"brokerId":0,"consumeBroadcastEnable":true,"consumeEnable":true,"consumeFromMinEnable":true,"consumeMessageOrderly":false,"consumeTimeoutMinute":15,"groupName":"G","groupRetryPolicy":{"exponentialRetryPolicy":{"initial":5000,"max":7200000,"multiplier":2},"type":"EXPONENTIAL"},"groupSysFlag":0,"notifyConsumerIdsChangedEnable":true,"retryMaxTimes":3,"retryQueueNums":1,"subscriptionDataSet":[{"expression":"*","expressionType":"TAG","topic":"T","version":0}],"whichBrokerWhenConsumeSlowly":1},
                "SELF_TEST_C_GROUP":{"groupName":"SELF_TEST_C_GROUP"}
            }
        }"#;
        let wrapper: SubscriptionGroupWrapper = decode_json(java.as_bytes()).expect("reads");
        assert_eq!(wrapper.data_version.counter, 3);
        assert_eq!(wrapper.forbidden_table["G"]["T"], 1);
        let g = &wrapper.subscription_group_table["G"];
        assert_eq!(g.retry_max_times, 3);
        assert_eq!(g.group_retry_policy["type"], "EXPONENTIAL");
        assert!(g.subscription_data_set.is_some());
        assert_eq!(
            wrapper.subscription_group_table["SELF_TEST_C_GROUP"],
            SubscriptionGroupConfig::new("SELF_TEST_C_GROUP")
        );
        let again: SubscriptionGroupWrapper =
            decode_json(&encode_json(&wrapper)).expect("round trips");
        assert_eq!(again, wrapper);
    }
}
