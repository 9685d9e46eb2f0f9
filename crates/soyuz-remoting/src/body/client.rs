//! What clients tell brokers about themselves: `MessageQueue`, `SubscriptionData`,
//! `ConsumerData`, `ProducerData` and the HEART_BEAT body `HeartbeatData`.
//!
//! Wire shapes, checked against Java (fastjson) and rocketmq-client-rust 1.0.0 (serde):
//!
//! * Both write `clientID` (capital ID) and `withoutSub` (fastjson names the property
//!   after the getter `isWithoutSub()`; the Rust client renames it to match), and both
//!   write `heartbeatFingerprint`.
//! * Both write enums by name (`CONSUME_PASSIVELY`, `CLUSTERING`,
//!   `CONSUME_FROM_LAST_OFFSET`) and sets as arrays. We also accept ordinals, `PULL` /
//!   `PUSH` / `POP`, and `null` anywhere a string or array is expected.
//! * The Rust client writes every field, `subVersion` 0 until its first rebalance, and
//!   builds `codeSet` from the *untrimmed* tags (`"TagA || TagB"` gives the codes of
//!   `"TagA "` and `" TagB"`) while `tagsSet` holds the trimmed tags, sorted. Brokers must
//!   therefore derive tag codes from `subString` ([`SubscriptionData::tag_codes`]) rather
//!   than trust `codeSet`.

use serde::{Deserialize, Serialize};
use soyuz_model::java_string_hash;

use super::lenient::{self, nullable};

/// `ConsumeType` names (`consumeType`).
pub mod consume_type {
    /// Pull consumer.
    pub const CONSUME_ACTIVELY: &str = "CONSUME_ACTIVELY";
    /// Push consumer.
    pub const CONSUME_PASSIVELY: &str = "CONSUME_PASSIVELY";
    /// 5.x POP consumer.
    pub const CONSUME_POP: &str = "CONSUME_POP";
}

/// `MessageModel` names (`messageModel`).
pub mod message_model {
    /// Each message goes to one consumer of the group.
    pub const CLUSTERING: &str = "CLUSTERING";
    /// Each message goes to every consumer of the group.
    pub const BROADCASTING: &str = "BROADCASTING";
}

/// `ConsumeFromWhere` names (`consumeFromWhere`) still in use.
pub mod consume_from_where {
    /// Start a new group at the end of each queue.
    pub const CONSUME_FROM_LAST_OFFSET: &str = "CONSUME_FROM_LAST_OFFSET";
    /// Start a new group at the beginning of each queue.
    pub const CONSUME_FROM_FIRST_OFFSET: &str = "CONSUME_FROM_FIRST_OFFSET";
    /// Start a new group at a timestamp.
    pub const CONSUME_FROM_TIMESTAMP: &str = "CONSUME_FROM_TIMESTAMP";
}

/// One queue of a topic on one broker (`MessageQueue`). Ordered like Java's `compareTo`:
/// topic, then broker name, then queue id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueue {
    /// Topic name.
    #[serde(deserialize_with = "nullable")]
    pub topic: String,
    /// Replica-group name.
    #[serde(deserialize_with = "nullable")]
    pub broker_name: String,
    /// Queue id within the topic on that broker.
    pub queue_id: i32,
}

impl MessageQueue {
    /// A queue from its parts.
    pub fn new(topic: impl Into<String>, broker_name: impl Into<String>, queue_id: i32) -> Self {
        Self {
            topic: topic.into(),
            broker_name: broker_name.into(),
            queue_id,
        }
    }
}

/// The `TAG` expression type.
pub const EXPRESSION_TYPE_TAG: &str = "TAG";
/// The `SQL92` expression type.
pub const EXPRESSION_TYPE_SQL92: &str = "SQL92";

fn tag_type() -> String {
    EXPRESSION_TYPE_TAG.to_owned()
}

/// One topic subscription of a consumer group (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    /// Legacy class filter (removed from RocketMQ; always false).
    pub class_filter_mode: bool,
    /// Subscribed topic.
    #[serde(deserialize_with = "nullable")]
    pub topic: String,
    /// The expression: `*`, `TagA || TagB`, or SQL92.
    #[serde(deserialize_with = "nullable")]
    pub sub_string: String,
    /// Tags of a TAG expression, as the client sent them.
    #[serde(deserialize_with = "nullable")]
    pub tags_set: Vec<String>,
    /// Java hash codes of the tags, as the client sent them.
    #[serde(deserialize_with = "nullable")]
    pub code_set: Vec<i32>,
    /// Version (Java: creation time in milliseconds). The C++ client writes it as a
    /// string.
    #[serde(deserialize_with = "lenient::integer")]
    pub sub_version: i64,
    /// `TAG` or `SQL92`.
    #[serde(deserialize_with = "nullable")]
    pub expression_type: String,
}

impl Default for SubscriptionData {
    fn default() -> Self {
        Self {
            class_filter_mode: false,
            topic: String::new(),
            sub_string: String::new(),
            tags_set: Vec::new(),
            code_set: Vec::new(),
            sub_version: 0,
            expression_type: tag_type(),
        }
    }
}

impl SubscriptionData {
    /// The subscribe-everything expression.
    pub const SUB_ALL: &'static str = "*";

    /// A TAG subscription built as Java's `FilterAPI.buildSubscriptionData` builds it: an
    /// empty expression or `*` subscribes to everything; otherwise the expression is split
    /// on `||`, each tag trimmed and empty ones skipped.
    pub fn tag(topic: impl Into<String>, expression: &str, sub_version: i64) -> Self {
        let mut data = Self {
            topic: topic.into(),
            sub_string: expression.to_owned(),
            sub_version,
            ..Self::default()
        };
        if expression.is_empty() || expression == Self::SUB_ALL {
            data.sub_string = Self::SUB_ALL.to_owned();
        } else {
            data.tags_set = data.trimmed_tags();
            data.code_set = data.tag_codes();
        }
        data
    }

    /// Whether the expression type is TAG (or absent, which Java reads as TAG).
    pub fn is_tag_type(&self) -> bool {
        self.expression_type.is_empty()
            || self
                .expression_type
                .eq_ignore_ascii_case(EXPRESSION_TYPE_TAG)
    }

    /// Whether this TAG subscription takes every message (`*` or an empty expression).
    pub fn is_all(&self) -> bool {
        self.is_tag_type() && (self.sub_string.is_empty() || self.sub_string == Self::SUB_ALL)
    }

    /// Whether the expression is SQL92.
    pub fn is_sql92(&self) -> bool {
        self.expression_type
            .eq_ignore_ascii_case(EXPRESSION_TYPE_SQL92)
    }

    /// The tags of the expression, derived from `subString` (split on `||`, trimmed, empty
    /// and repeated ones dropped); empty for a subscribe-all expression. Use this rather
    /// than `tagsSet`, which some clients fill loosely.
    pub fn trimmed_tags(&self) -> Vec<String> {
        if self.sub_string.is_empty() || self.sub_string == Self::SUB_ALL {
            return Vec::new();
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in self.sub_string.split("||").map(str::trim) {
            if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        tags
    }

    /// Java hash codes of [`trimmed_tags`](Self::trimmed_tags): what ConsumeQueue units
    /// store as the tag code.
    pub fn tag_codes(&self) -> Vec<i32> {
        self.trimmed_tags()
            .iter()
            .map(|tag| java_string_hash(tag))
            .collect()
    }
}

/// A consumer group on one client (`ConsumerData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    /// Consumer group.
    #[serde(deserialize_with = "nullable")]
    pub group_name: String,
    /// A [`consume_type`] name.
    #[serde(deserialize_with = "lenient::consume_type")]
    pub consume_type: String,
    /// A [`message_model`] name.
    #[serde(deserialize_with = "lenient::message_model")]
    pub message_model: String,
    /// A [`consume_from_where`] name.
    #[serde(deserialize_with = "lenient::consume_from_where")]
    pub consume_from_where: String,
    /// The group's subscriptions (empty in a heart-beat-v2 body without subscriptions).
    #[serde(deserialize_with = "nullable")]
    pub subscription_data_set: Vec<SubscriptionData>,
    /// Unit mode.
    pub unit_mode: bool,
}

/// A producer group on one client (`ProducerData`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    /// Producer group.
    #[serde(deserialize_with = "nullable")]
    pub group_name: String,
}

/// The HEART_BEAT body (`HeartbeatData`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    /// Client id, `ip@instanceName` and more.
    #[serde(rename = "clientID", alias = "clientId", deserialize_with = "nullable")]
    pub client_id: String,
    /// The client's producer groups.
    #[serde(deserialize_with = "nullable")]
    pub producer_data_set: Vec<ProducerData>,
    /// The client's consumer groups.
    #[serde(deserialize_with = "nullable")]
    pub consumer_data_set: Vec<ConsumerData>,
    /// 0 for a classic heartbeat; otherwise the heartbeat-v2 fingerprint of the body.
    pub heartbeat_fingerprint: i32,
    /// Heartbeat v2: subscriptions left out because they did not change.
    #[serde(rename = "withoutSub", alias = "isWithoutSub")]
    pub is_without_sub: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{decode_json, encode_json};

    #[test]
    fn tag_subscription_is_built_like_filter_api() {
        let data = SubscriptionData::tag("T", "TagA || TagB", 1);
        assert_eq!(data.sub_string, "TagA || TagB");
        assert_eq!(data.tags_set, ["TagA", "TagB"]);
        // "TagA".hashCode() on a JVM is 2598919; TagB is one more in the last unit.
        assert_eq!(data.code_set, [2_598_919, 2_598_920]);
        assert_eq!(data.code_set[1], java_string_hash("TagB"));
        assert_eq!(data.expression_type, "TAG");
        assert_eq!(data.sub_version, 1);
        assert!(!data.is_all());

        for all in ["", "*"] {
            let data = SubscriptionData::tag("T", all, 1);
            assert_eq!(data.sub_string, "*");
            assert!(data.tags_set.is_empty() && data.code_set.is_empty());
            assert!(data.is_all());
        }
        let skips_empty = SubscriptionData::tag("T", " || A ||  || A", 1);
        assert_eq!(skips_empty.tags_set, ["A"]);
    }

    #[test]
    fn sql92_is_never_all() {
        let sql = SubscriptionData {
            sub_string: "*".into(),
            expression_type: "sql92".into(),
            ..SubscriptionData::default()
        };
        assert!(sql.is_sql92());
        assert!(!sql.is_all());
    }

    #[test]
    fn message_queues_order_like_java() {
        let mut queues = vec![
            MessageQueue::new("b", "a", 0),
            MessageQueue::new("a", "b", 0),
            MessageQueue::new("a", "a", 2),
            MessageQueue::new("a", "a", 1),
        ];
        queues.sort();
        assert_eq!(
            queues,
            [
                MessageQueue::new("a", "a", 1),
                MessageQueue::new("a", "a", 2),
                MessageQueue::new("a", "b", 0),
                MessageQueue::new("b", "a", 0),
            ]
        );
    }

    fn sample_heartbeat() -> HeartbeatData {
        HeartbeatData {
            client_id: "10.0.0.1@4242".into(),
            producer_data_set: vec![ProducerData {
                group_name: "P".into(),
            }],
            consumer_data_set: vec![ConsumerData {
                group_name: "G".into(),
                consume_type: consume_type::CONSUME_PASSIVELY.into(),
                message_model: message_model::CLUSTERING.into(),
                consume_from_where: consume_from_where::CONSUME_FROM_FIRST_OFFSET.into(),
                subscription_data_set: vec![SubscriptionData::tag("T", "TagA||TagB", 7)],
                unit_mode: false,
            }],
            heartbeat_fingerprint: 12,
            is_without_sub: true,
        }
    }

    #[test]
    fn heartbeat_round_trips_with_java_names() {
        let heartbeat = sample_heartbeat();
        let text = String::from_utf8(encode_json(&heartbeat)).expect("utf8");
        assert!(text
            .starts_with(r#"{"clientID":"10.0.0.1@4242","producerDataSet":[{"groupName":"P"}]"#));
        assert!(text.contains(r#""heartbeatFingerprint":12,"withoutSub":true}"#));
        assert_eq!(decode_json::<HeartbeatData>(text.as_bytes()), Ok(heartbeat));
    }

    #[test]
    fn reads_a_java_heartbeat() {
        // fastjson: alphabetical keys, null fields left out.
        let java = r#"{"clientID":"10.0.0.1@4242","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"G","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598920,2598919],"expressionType":"TAG","subString":"TagA||TagB","subVersion":7,"tagsSet":["TagB","TagA"],"topic":"T"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"P"}],"withoutSub":false}"#;
        let heartbeat: HeartbeatData = decode_json(java.as_bytes()).expect("reads");
        assert_eq!(heartbeat.client_id, "10.0.0.1@4242");
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(consumer.consume_type, consume_type::CONSUME_PASSIVELY);
        assert_eq!(
            consumer.subscription_data_set[0].trimmed_tags(),
            ["TagA", "TagB"]
        );
        assert!(!heartbeat.is_without_sub);
    }

    #[test]
    fn reads_a_rocketmq_client_rust_heartbeat() {
        // Printed by rocketmq-protocol 1.0.0 (`serde_json::to_string(&HeartbeatData)` after
        // `FilterAPI::build_subscription_data("T", "TagA || TagB")` and
        // `compute_heartbeat_fingerprint()`), with a `*` subscription added: serde field
        // order, every field present, codeSet hashed from "TagA " and " TagB".
        let rust = r#"{"clientID":"127.0.0.1@9012","producerDataSet":[{"groupName":"P"}],"consumerDataSet":[{"groupName":"G","consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","subscriptionDataSet":[{"classFilterMode":false,"topic":"T","subString":"TagA || TagB","tagsSet":["TagA","TagB"],"codeSet":[32151592,80566521],"subVersion":0,"expressionType":"TAG"},{"classFilterMode":false,"topic":"%RETRY%G","subString":"*","tagsSet":[],"codeSet":[],"subVersion":0,"expressionType":"TAG"}],"unitMode":false}],"heartbeatFingerprint":-1096794142,"withoutSub":false}"#;
        let heartbeat: HeartbeatData = decode_json(rust.as_bytes()).expect("reads");
        assert_eq!(heartbeat.client_id, "127.0.0.1@9012");
        assert_eq!(heartbeat.heartbeat_fingerprint, -1_096_794_142);
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(
            consumer.consume_from_where,
            consume_from_where::CONSUME_FROM_LAST_OFFSET
        );
        let subs = &consumer.subscription_data_set;
        assert_eq!(
            subs[0].code_set,
            [java_string_hash(" TagB"), java_string_hash("TagA ")]
        );
        assert_eq!(subs[0].tag_codes(), [2_598_919, 2_598_920]);
        assert!(subs[1].is_all());
    }

    #[test]
    fn accepts_nulls_ordinals_and_display_names() {
        let loose = r#"{"clientID":"c","producerDataSet":null,"consumerDataSet":[{"groupName":"G","consumeType":"PULL","messageModel":1,"consumeFromWhere":4,"subscriptionDataSet":null}]}"#;
        let heartbeat: HeartbeatData = decode_json(loose.as_bytes()).expect("reads");
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(consumer.consume_type, consume_type::CONSUME_ACTIVELY);
        assert_eq!(consumer.message_model, message_model::CLUSTERING);
        assert_eq!(
            consumer.consume_from_where,
            consume_from_where::CONSUME_FROM_FIRST_OFFSET
        );
        assert!(heartbeat.producer_data_set.is_empty());

        let partial: SubscriptionData = decode_json(br#"{"topic":"T"}"#).expect("reads");
        assert_eq!(partial.expression_type, "TAG");
        assert!(partial.is_all());
    }

    #[test]
    fn reads_the_cpp_clients_heartbeat() {
        // As the C++ core of PyPI rocketmq 0.4.4 sends it (interop/python/CPP_CLIENT_WIRE.md):
        // enum ordinals, subVersion as a string, codeSet of atoi(tag), no expressionType.
        let cpp = r#"{"clientID":"9107-127.0.0.1@capc","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"CapCG","messageModel":1,"subscriptionDataSet":[{"subString":"*","subVersion":"1795331440498","topic":"%RETRY%CapCG"},{"codeSet":[0,0],"subString":"TagA || TagB","subVersion":"1795331440498","tagsSet":["TagA","TagB"],"topic":"CapT"}]}]}
"#;
        let heartbeat: HeartbeatData = decode_json(cpp.as_bytes()).expect("reads");
        let consumer = &heartbeat.consumer_data_set[0];
        assert_eq!(consumer.consume_type, consume_type::CONSUME_PASSIVELY);
        assert_eq!(consumer.message_model, message_model::CLUSTERING);
        let subs = &consumer.subscription_data_set;
        assert_eq!(subs[1].sub_version, 1_795_331_440_498);
        assert!(subs[1].is_tag_type());
        assert_eq!(subs[1].tag_codes(), [2_598_919, 2_598_920]);
        let bad: Result<SubscriptionData, _> = decode_json(br#"{"topic":"T","subVersion":"soon"}"#);
        assert!(bad.is_err());
    }
}
