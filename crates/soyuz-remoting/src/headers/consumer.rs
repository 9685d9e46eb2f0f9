//! Consumer request and response headers (`header/PullMessage*.java`, the offset
//! headers, `ConsumerSendMsgBackRequestHeader.java`, `QueryMessage*.java`, ...), and the
//! pull sysFlag bits.
//!
//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) carry JSON bodies and no header fields, so
//! they have no header here.

use crate::command_header;

/// Bits of [`PullMessageRequestHeader::sys_flag`] (Java `PullSysFlag`).
pub mod pull_sys_flag {
    /// Store the request's `commitOffset` for the group (masters only; clients clear it
    /// when pulling from a slave).
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// The broker may hold the request (long polling) for `suspendTimeoutMillis`.
    pub const SUSPEND: i32 = 0x2;
    /// Filter with the request's `subscription` / `expressionType` instead of the
    /// subscription registered by heartbeat.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Legacy class filter (filter server).
    pub const CLASS_FILTER: i32 = 0x8;
    /// The request comes from a lite-pull consumer (LITE_PULL_MESSAGE, 361).
    pub const LITE_PULL: i32 = 0x10;

    /// Java `PullSysFlag.buildSysFlag(commitOffset, suspend, subscription, classFilter,
    /// litePull)`.
    pub fn build(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
        lite_pull: bool,
    ) -> i32 {
        [
            (commit_offset, COMMIT_OFFSET),
            (suspend, SUSPEND),
            (subscription, SUBSCRIPTION),
            (class_filter, CLASS_FILTER),
            (lite_pull, LITE_PULL),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0, |flag, (_, bit)| flag | bit)
    }

    /// Whether the COMMIT_OFFSET bit is set.
    pub fn has_commit_offset(flag: i32) -> bool {
        flag & COMMIT_OFFSET != 0
    }

    /// Whether the SUSPEND bit is set.
    pub fn has_suspend(flag: i32) -> bool {
        flag & SUSPEND != 0
    }

    /// Whether the SUBSCRIPTION bit is set.
    pub fn has_subscription(flag: i32) -> bool {
        flag & SUBSCRIPTION != 0
    }

    /// Whether the CLASS_FILTER bit is set.
    pub fn has_class_filter(flag: i32) -> bool {
        flag & CLASS_FILTER != 0
    }

    /// Whether the LITE_PULL bit is set.
    pub fn has_lite_pull(flag: i32) -> bool {
        flag & LITE_PULL != 0
    }

    /// The flag without COMMIT_OFFSET (what a slave must act on).
    pub fn clear_commit_offset(flag: i32) -> i32 {
        flag & !COMMIT_OFFSET
    }

    /// The flag without SUSPEND.
    pub fn clear_suspend(flag: i32) -> i32 {
        flag & !SUSPEND
    }
}

command_header! {
    /// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) request.
    pub struct PullMessageRequestHeader {
        /// Consumer group pulling.
        req consumer_group: String = "consumerGroup",
        /// Topic pulled.
        req topic: String = "topic",
        /// Queue pulled.
        req queue_id: i32 = "queueId",
        /// Logical queue offset to start at.
        req queue_offset: i64 = "queueOffset",
        /// Most messages wanted (client default 32).
        req max_msg_nums: i32 = "maxMsgNums",
        /// [`pull_sys_flag`] bits.
        req sys_flag: i32 = "sysFlag",
        /// Consumer offset to store when the COMMIT_OFFSET bit is set.
        req commit_offset: i64 = "commitOffset",
        /// How long the broker may hold the request (push consumers send 15000).
        req suspend_timeout_millis: i64 = "suspendTimeoutMillis",
        /// Filter expression, used when the SUBSCRIPTION bit is set.
        opt subscription: String = "subscription",
        /// Version of the client's subscription (compared with the heartbeat's).
        req sub_version: i64 = "subVersion",
        /// `TAG` or `SQL92`.
        opt expression_type: String = "expressionType",
        /// Most bytes wanted (push consumer default 262144).
        opt max_msg_bytes: i32 = "maxMsgBytes",
        /// Where the pull comes from (set by the proxy).
        opt request_source: i32 = "requestSource",
        /// The real client id when the proxy forwards (misspelt as in Java).
        opt proxy_froward_client_id: String = "proxyFrowardClientId",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) response; on SUCCESS the body is the
    /// stored messages, concatenated.
    pub struct PullMessageResponseHeader {
        /// Broker id the client should pull from next (0 = master).
        req suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        /// Offset the next pull starts at.
        req next_begin_offset: i64 = "nextBeginOffset",
        /// The queue's min offset.
        req min_offset: i64 = "minOffset",
        /// The queue's max offset.
        req max_offset: i64 = "maxOffset",
        /// Offset delta (static-topic logic queues).
        opt offset_delta: i64 = "offsetDelta",
        /// The topic's sysFlag.
        opt topic_sys_flag: i32 = "topicSysFlag",
        /// The group's sysFlag.
        opt group_sys_flag: i32 = "groupSysFlag",
        /// Why consumption is forbidden, when it is.
        opt forbidden_type: i32 = "forbiddenType",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) request.
    pub struct QueryConsumerOffsetRequestHeader {
        /// Consumer group.
        req consumer_group: String = "consumerGroup",
        /// Topic.
        req topic: String = "topic",
        /// Queue.
        req queue_id: i32 = "queueId",
        /// Whether to answer 0 rather than QUERY_NOT_FOUND for a fresh queue (absent = true).
        opt set_zero_if_not_found: bool = "setZeroIfNotFound",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// QUERY_CONSUMER_OFFSET (14) response.
    pub struct QueryConsumerOffsetResponseHeader {
        /// The group's committed offset in the queue.
        req offset: i64 = "offset",
    }
}

command_header! {
    /// UPDATE_CONSUMER_OFFSET (15) request; Java consumers send it oneway.
    pub struct UpdateConsumerOffsetRequestHeader {
        /// Consumer group.
        req consumer_group: String = "consumerGroup",
        /// Topic.
        req topic: String = "topic",
        /// Queue.
        req queue_id: i32 = "queueId",
        /// Offset to store.
        req commit_offset: i64 = "commitOffset",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// GET_CONSUMER_LIST_BY_GROUP (38) request; the response body lists client ids.
    pub struct GetConsumerListByGroupRequestHeader {
        /// Consumer group.
        req consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30) request.
    pub struct GetMaxOffsetRequestHeader {
        /// Topic.
        req topic: String = "topic",
        /// Queue.
        req queue_id: i32 = "queueId",
        /// Max committed (dispatched) offset if true, max in-flight offset if false; Java's
        /// primitive default is true and Java clients always send it.
        opt committed: bool = "committed",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// GET_MAX_OFFSET (30) response.
    pub struct GetMaxOffsetResponseHeader {
        /// The next offset to be written.
        req offset: i64 = "offset",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31) request.
    pub struct GetMinOffsetRequestHeader {
        /// Topic.
        req topic: String = "topic",
        /// Queue.
        req queue_id: i32 = "queueId",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// GET_MIN_OFFSET (31) response.
    pub struct GetMinOffsetResponseHeader {
        /// The queue's min offset.
        req offset: i64 = "offset",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) request.
    pub struct GetEarliestMsgStoretimeRequestHeader {
        /// Topic.
        req topic: String = "topic",
        /// Queue.
        req queue_id: i32 = "queueId",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// GET_EARLIEST_MSG_STORETIME (32) response.
    pub struct GetEarliestMsgStoretimeResponseHeader {
        /// Store time of the queue's first message, epoch milliseconds.
        req timestamp: i64 = "timestamp",
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) request.
    pub struct SearchOffsetRequestHeader {
        /// Topic.
        req topic: String = "topic",
        /// Queue.
        req queue_id: i32 = "queueId",
        /// Store time to search for, epoch milliseconds.
        req timestamp: i64 = "timestamp",
        /// Java's `BoundaryType` as text: Java clients send the enum name `LOWER` or
        /// `UPPER`; the broker compares case-insensitively, anything but `upper` is lower.
        opt boundary_type: String = "boundaryType",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

impl SearchOffsetRequestHeader {
    /// Whether the upper boundary is wanted (Java `BoundaryType.getType`): `upper` in any
    /// case; absent or anything else means lower.
    pub fn is_upper_boundary(&self) -> bool {
        self.boundary_type
            .as_deref()
            .is_some_and(|b| b.eq_ignore_ascii_case("upper"))
    }
}

command_header! {
    /// SEARCH_OFFSET_BY_TIMESTAMP (29) response.
    pub struct SearchOffsetResponseHeader {
        /// The offset found.
        req offset: i64 = "offset",
    }
}

command_header! {
    /// CONSUMER_SEND_MSG_BACK (36) request: a message failed to consume, retry it later.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log offset of the failed message.
        req offset: i64 = "offset",
        /// Consumer group.
        req group: String = "group",
        /// Delay level; 0 lets the broker choose, below 0 sends it to the DLQ now.
        req delay_level: i32 = "delayLevel",
        /// Message id of the failed message.
        opt origin_msg_id: String = "originMsgId",
        /// Topic of the failed message.
        opt origin_topic: String = "originTopic",
        /// Unit mode (Java primitive, default false, always sent).
        opt unit_mode: bool = "unitMode",
        /// Retries allowed before the DLQ (broker default 16 when absent).
        opt max_reconsume_times: i32 = "maxReconsumeTimes",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// NOTIFY_CONSUMER_IDS_CHANGED (40) request, broker to consumers, oneway.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        /// Consumer group whose members changed.
        req consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) request: look messages up by key in the index.
    ///
    /// `_UNIQUE_KEY_QUERY` is not a field of the Java class: the Java client adds it with
    /// `addExtField` and the broker reads it from the ext fields.
    pub struct QueryMessageRequestHeader {
        /// Topic.
        req topic: String = "topic",
        /// The key (a `KEYS` entry or a unique id).
        req key: String = "key",
        /// Most messages wanted.
        req max_num: i32 = "maxNum",
        /// Start of the store-time range, epoch milliseconds.
        req begin_timestamp: i64 = "beginTimestamp",
        /// End of the store-time range, epoch milliseconds.
        req end_timestamp: i64 = "endTimestamp",
        /// Whether `key` is a unique (client) message id.
        opt unique_key_query: bool = "_UNIQUE_KEY_QUERY",
    }
}

command_header! {
    /// QUERY_MESSAGE (12) response; the body is the matching stored messages.
    pub struct QueryMessageResponseHeader {
        /// Last update time of the index file searched.
        req index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        /// Commit-log offset the index covers up to.
        req index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID (33) request; the response body is the stored message.
    pub struct ViewMessageRequestHeader {
        /// Topic of the message (for permission checks).
        opt topic: String = "topic",
        /// Commit-log offset (from the offset message id).
        req offset: i64 = "offset",
    }
}

command_header! {
    /// GET_CONSUMER_CONNECTION_LIST (203) request.
    pub struct GetConsumerConnectionListRequestHeader {
        /// Consumer group.
        req consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// RESET_CONSUMER_CLIENT_OFFSET (220, broker to client; the body is a
    /// `ResetOffsetBody`) and INVOKE_BROKER_TO_RESET_OFFSET (222, admin to broker) request.
    pub struct ResetOffsetRequestHeader {
        /// Consumer group.
        req group: String = "group",
        /// Topic.
        req topic: String = "topic",
        /// Queue, -1 for all (Java primitive, always sent).
        opt queue_id: i32 = "queueId",
        /// Offset to reset to.
        opt offset: i64 = "offset",
        /// Store time to reset to, epoch milliseconds.
        req timestamp: i64 = "timestamp",
        /// Reset even to a larger offset than the current one.
        req is_force: bool = "isForce",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ExtFields;
    use crate::headers::{CommandHeader, HeaderError};

    use crate::headers::ext_fields as fields;

    /// A pull as `PullAPIWrapper.pullKernelImpl` sends it for a push consumer with
    /// `postSubscriptionWhenPull=true` and a stored offset.
    const JAVA_PUSH_PULL: &[(&str, &str)] = &[
        ("consumerGroup", "CG"),
        ("topic", "TopicTest"),
        ("queueId", "3"),
        ("queueOffset", "128"),
        ("maxMsgNums", "32"),
        ("sysFlag", "7"),
        ("commitOffset", "120"),
        ("suspendTimeoutMillis", "15000"),
        ("subVersion", "1700000000000"),
        ("subscription", "TagA || TagB"),
        ("expressionType", "TAG"),
        ("maxMsgBytes", "262144"),
        ("bname", "broker-a"),
    ];

    #[test]
    fn golden_pull_request_from_java_push_consumer() {
        let header =
            PullMessageRequestHeader::from_ext_fields(&fields(JAVA_PUSH_PULL)).expect("decodes");
        assert_eq!(
            header,
            PullMessageRequestHeader {
                consumer_group: "CG".into(),
                topic: "TopicTest".into(),
                queue_id: 3,
                queue_offset: 128,
                max_msg_nums: 32,
                sys_flag: 7,
                commit_offset: 120,
                suspend_timeout_millis: 15_000,
                subscription: Some("TagA || TagB".into()),
                sub_version: 1_700_000_000_000,
                expression_type: Some("TAG".into()),
                max_msg_bytes: Some(262_144),
                request_source: None,
                proxy_froward_client_id: None,
                bname: Some("broker-a".into()),
            }
        );
        assert!(pull_sys_flag::has_commit_offset(header.sys_flag));
        assert!(pull_sys_flag::has_suspend(header.sys_flag));
        assert!(pull_sys_flag::has_subscription(header.sys_flag));
        assert!(!pull_sys_flag::has_class_filter(header.sys_flag));
        assert!(!pull_sys_flag::has_lite_pull(header.sys_flag));
        assert_eq!(header.to_ext_fields(), fields(JAVA_PUSH_PULL));
    }

    #[test]
    fn pull_request_missing_required_field_is_named() {
        let mut ext = fields(JAVA_PUSH_PULL);
        ext.remove("subVersion");
        assert_eq!(
            PullMessageRequestHeader::from_ext_fields(&ext),
            Err(HeaderError::Missing {
                field: "subVersion"
            })
        );
        // subscription and expressionType are optional: a plain push pull omits them.
        let mut ext = fields(JAVA_PUSH_PULL);
        ext.remove("subscription");
        ext.remove("expressionType");
        ext.remove("maxMsgBytes");
        ext.remove("bname");
        let header = PullMessageRequestHeader::from_ext_fields(&ext).expect("decodes");
        assert_eq!(header.subscription, None);
        assert_eq!(header.expression_type, None);
    }

    #[test]
    fn pull_sys_flag_matches_java() {
        assert_eq!(pull_sys_flag::build(false, true, false, false, false), 2);
        assert_eq!(pull_sys_flag::build(true, true, false, false, false), 3);
        assert_eq!(pull_sys_flag::build(true, true, true, true, true), 0x1f);
        assert_eq!(pull_sys_flag::build(false, false, false, false, true), 0x10);
        assert_eq!(pull_sys_flag::clear_commit_offset(7), 6);
        assert_eq!(pull_sys_flag::clear_suspend(7), 5);
        assert!(pull_sys_flag::has_lite_pull(0x12));
        assert!(!pull_sys_flag::has_commit_offset(0x12));
    }

    #[test]
    fn pull_response_round_trips() {
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 160,
            min_offset: 0,
            max_offset: 1024,
            offset_delta: None,
            topic_sys_flag: Some(0),
            group_sys_flag: Some(0),
            forbidden_type: None,
        };
        let ext = header.to_ext_fields();
        assert_eq!(
            ext,
            fields(&[
                ("suggestWhichBrokerId", "0"),
                ("nextBeginOffset", "160"),
                ("minOffset", "0"),
                ("maxOffset", "1024"),
                ("topicSysFlag", "0"),
                ("groupSysFlag", "0"),
            ])
        );
        assert_eq!(PullMessageResponseHeader::from_ext_fields(&ext), Ok(header));
        let mut short = ext.clone();
        short.remove("maxOffset");
        assert_eq!(
            PullMessageResponseHeader::from_ext_fields(&short),
            Err(HeaderError::Missing { field: "maxOffset" })
        );
    }

    #[test]
    fn offset_responses_round_trip() {
        let query = QueryConsumerOffsetResponseHeader { offset: 77 };
        let ext = query.to_ext_fields();
        assert_eq!(ext, fields(&[("offset", "77")]));
        assert_eq!(
            QueryConsumerOffsetResponseHeader::from_ext_fields(&ext),
            Ok(query)
        );

        let max = GetMaxOffsetResponseHeader { offset: i64::MAX };
        assert_eq!(
            GetMaxOffsetResponseHeader::from_ext_fields(&max.to_ext_fields()),
            Ok(max)
        );

        let min = GetMinOffsetResponseHeader { offset: 0 };
        assert_eq!(
            GetMinOffsetResponseHeader::from_ext_fields(&min.to_ext_fields()),
            Ok(min)
        );

        let earliest = GetEarliestMsgStoretimeResponseHeader {
            timestamp: 1_700_000_000_000,
        };
        let ext = earliest.to_ext_fields();
        assert_eq!(ext, fields(&[("timestamp", "1700000000000")]));
        assert_eq!(
            GetEarliestMsgStoretimeResponseHeader::from_ext_fields(&ext),
            Ok(earliest)
        );

        let search = SearchOffsetResponseHeader { offset: -1 };
        assert_eq!(
            SearchOffsetResponseHeader::from_ext_fields(&search.to_ext_fields()),
            Ok(search)
        );

        let query_msg = QueryMessageResponseHeader {
            index_last_update_timestamp: 1_700_000_000_000,
            index_last_update_phyoffset: 4096,
        };
        let ext = query_msg.to_ext_fields();
        assert_eq!(
            ext,
            fields(&[
                ("indexLastUpdatePhyoffset", "4096"),
                ("indexLastUpdateTimestamp", "1700000000000"),
            ])
        );
        assert_eq!(
            QueryMessageResponseHeader::from_ext_fields(&ext),
            Ok(query_msg)
        );

        assert_eq!(
            QueryConsumerOffsetResponseHeader::from_ext_fields(&ExtFields::new()),
            Err(HeaderError::Missing { field: "offset" })
        );
    }

    #[test]
    fn offset_requests_decode_java_fields() {
        let update = UpdateConsumerOffsetRequestHeader::from_ext_fields(&fields(&[
            ("consumerGroup", "CG"),
            ("topic", "TopicTest"),
            ("queueId", "0"),
            ("commitOffset", "99"),
            ("bname", "broker-a"),
        ]))
        .expect("decodes");
        assert_eq!(update.commit_offset, 99);
        assert_eq!(update.bname.as_deref(), Some("broker-a"));

        let query = QueryConsumerOffsetRequestHeader::from_ext_fields(&fields(&[
            ("consumerGroup", "CG"),
            ("topic", "TopicTest"),
            ("queueId", "1"),
        ]))
        .expect("decodes");
        assert_eq!(query.set_zero_if_not_found, None);

        let max = GetMaxOffsetRequestHeader::from_ext_fields(&fields(&[
            ("topic", "TopicTest"),
            ("queueId", "1"),
            ("committed", "true"),
        ]))
        .expect("decodes");
        assert_eq!(max.committed, Some(true));
        assert_eq!(
            GetMinOffsetRequestHeader::from_ext_fields(&fields(&[("topic", "TopicTest")])),
            Err(HeaderError::Missing { field: "queueId" })
        );
    }

    #[test]
    fn search_offset_boundary_type_as_java_sends_it() {
        let base = [
            ("topic", "TopicTest"),
            ("queueId", "0"),
            ("timestamp", "1700000000000"),
        ];
        let decode = |boundary: Option<&str>| {
            let mut ext = fields(&base);
            if let Some(b) = boundary {
                ext.insert("boundaryType", b);
            }
            SearchOffsetRequestHeader::from_ext_fields(&ext).expect("decodes")
        };
        assert!(decode(Some("UPPER")).is_upper_boundary());
        assert!(decode(Some("upper")).is_upper_boundary());
        assert!(!decode(Some("LOWER")).is_upper_boundary());
        assert!(!decode(Some("bogus")).is_upper_boundary());
        assert!(!decode(None).is_upper_boundary());
        assert_eq!(
            decode(Some("UPPER")).boundary_type.as_deref(),
            Some("UPPER")
        );
    }

    #[test]
    fn send_msg_back_golden() {
        let ext = fields(&[
            ("offset", "3210"),
            ("group", "CG"),
            ("delayLevel", "0"),
            ("originMsgId", "7F00000100002A9F0000000000000C8A"),
            ("originTopic", "TopicTest"),
            ("unitMode", "false"),
            ("maxReconsumeTimes", "16"),
            ("bname", "broker-a"),
        ]);
        let header = ConsumerSendMsgBackRequestHeader::from_ext_fields(&ext).expect("decodes");
        assert_eq!(
            header,
            ConsumerSendMsgBackRequestHeader {
                offset: 3210,
                group: "CG".into(),
                delay_level: 0,
                origin_msg_id: Some("7F00000100002A9F0000000000000C8A".into()),
                origin_topic: Some("TopicTest".into()),
                unit_mode: Some(false),
                max_reconsume_times: Some(16),
                bname: Some("broker-a".into()),
            }
        );
        assert_eq!(header.to_ext_fields(), ext);
    }

    #[test]
    fn query_message_reads_unique_key_flag() {
        let ext = fields(&[
            ("topic", "TopicTest"),
            ("key", "AC110001000018B4AAC2"),
            ("maxNum", "32"),
            ("beginTimestamp", "0"),
            ("endTimestamp", "9223372036854775807"),
            ("_UNIQUE_KEY_QUERY", "true"),
        ]);
        let header = QueryMessageRequestHeader::from_ext_fields(&ext).expect("decodes");
        assert_eq!(header.unique_key_query, Some(true));
        assert_eq!(header.end_timestamp, i64::MAX);
        assert_eq!(header.to_ext_fields(), ext);
    }

    #[test]
    fn reset_offset_as_the_broker_sends_it() {
        // Broker2Client.resetOffset: primitives queueId (-1) and isForce are always written.
        let header = ResetOffsetRequestHeader {
            group: "CG".into(),
            topic: "TopicTest".into(),
            queue_id: Some(-1),
            offset: None,
            timestamp: 1_700_000_000_000,
            is_force: false,
        };
        let ext = header.to_ext_fields();
        assert_eq!(
            ext,
            fields(&[
                ("group", "CG"),
                ("topic", "TopicTest"),
                ("queueId", "-1"),
                ("timestamp", "1700000000000"),
                ("isForce", "false"),
            ])
        );
        assert_eq!(ResetOffsetRequestHeader::from_ext_fields(&ext), Ok(header));
    }

    #[test]
    fn group_only_headers_require_the_group() {
        let ext = fields(&[("consumerGroup", "CG")]);
        assert_eq!(
            NotifyConsumerIdsChangedRequestHeader::from_ext_fields(&ext).map(|h| h.consumer_group),
            Ok("CG".to_owned())
        );
        assert!(GetConsumerListByGroupRequestHeader::from_ext_fields(&ext).is_ok());
        assert!(GetConsumerConnectionListRequestHeader::from_ext_fields(&ext).is_ok());
        assert_eq!(
            GetConsumerListByGroupRequestHeader::from_ext_fields(&ExtFields::new()),
            Err(HeaderError::Missing {
                field: "consumerGroup"
            })
        );
        let view = ViewMessageRequestHeader::from_ext_fields(&fields(&[("offset", "3210")]));
        assert_eq!(
            view,
            Ok(ViewMessageRequestHeader {
                topic: None,
                offset: 3210
            })
        );
    }
}
