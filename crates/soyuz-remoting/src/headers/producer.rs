//! Producer request and response headers (`header/SendMessage*.java`,
//! `EndTransactionRequestHeader.java`, `CheckTransactionStateRequestHeader.java`,
//! `UnregisterClientRequestHeader.java`, `RecallMessage*.java`).
//!
//! Java clients with `sendSmartMsg=true` (the default) send [`SendMessageRequestHeaderV2`]
//! with one-letter keys; the broker turns it into a [`SendMessageRequestHeader`] at once,
//! as Java's `SendMessageRequestHeader.parseRequestHeader` does
//! ([`SendMessageRequestHeader::parse`]).

use crate::codes::request_code;
use crate::command::ExtFields;
use crate::command_header;
use crate::headers::{CommandHeader, HeaderError};

command_header! {
    /// SEND_MESSAGE (10) request, the long-name form; the body is the message body.
    pub struct SendMessageRequestHeader {
        /// Producer group of the sender.
        req producer_group: String = "producerGroup",
        /// Topic the message goes to.
        req topic: String = "topic",
        /// Topic whose config a missing topic is auto-created from (normally `TBW102`).
        req default_topic: String = "defaultTopic",
        /// Queue count for an auto-created topic (client default 4).
        req default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        /// Target queue; below 0 lets the broker pick one.
        req queue_id: i32 = "queueId",
        /// Message sysFlag bits (compression, transaction type, born-host v6, ...).
        req sys_flag: i32 = "sysFlag",
        /// Producer-side creation time, epoch milliseconds.
        req born_timestamp: i64 = "bornTimestamp",
        /// The user's int flag, stored as is.
        req flag: i32 = "flag",
        /// Message properties in the `key\u{1}value\u{2}` encoding.
        opt properties: String = "properties",
        /// How often the message was consumed before (Java reads absent as 0).
        opt reconsume_times: i32 = "reconsumeTimes",
        /// Unit (unitized deployment) mode (Java reads absent as false).
        opt unit_mode: bool = "unitMode",
        /// Whether the body is a batch of encoded messages (Java reads absent as false).
        opt batch: bool = "batch",
        /// Retries allowed before a client-side retry goes to the DLQ.
        opt max_reconsume_times: i32 = "maxReconsumeTimes",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

impl SendMessageRequestHeader {
    /// `reconsumeTimes`, 0 when absent (Java `getReconsumeTimes`).
    pub fn reconsume_times_or_zero(&self) -> i32 {
        self.reconsume_times.unwrap_or(0)
    }

    /// `unitMode`, false when absent (Java `isUnitMode`).
    pub fn is_unit_mode(&self) -> bool {
        self.unit_mode.unwrap_or(false)
    }

    /// `batch`, false when absent (Java `isBatch`).
    pub fn is_batch(&self) -> bool {
        self.batch.unwrap_or(false)
    }

    /// Reads the send header of any send request, as Java's
    /// `SendMessageRequestHeader.parseRequestHeader`: SEND_MESSAGE_V2 (310) and
    /// SEND_BATCH_MESSAGE (320) carry the one-letter form, SEND_MESSAGE (10) the long
    /// form. Other codes give `Ok(None)`.
    pub fn parse(code: i32, fields: &ExtFields) -> Result<Option<Self>, HeaderError> {
        match code {
            request_code::SEND_MESSAGE_V2 | request_code::SEND_BATCH_MESSAGE => {
                SendMessageRequestHeaderV2::from_ext_fields(fields).map(|v2| Some(v2.into()))
            }
            request_code::SEND_MESSAGE => Self::from_ext_fields(fields).map(Some),
            _ => Ok(None),
        }
    }
}

command_header! {
    /// SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) request: the fields of
    /// [`SendMessageRequestHeader`] under one-letter keys, named as in Java.
    pub struct SendMessageRequestHeaderV2 {
        /// producerGroup.
        req a: String = "a",
        /// topic.
        req b: String = "b",
        /// defaultTopic.
        req c: String = "c",
        /// defaultTopicQueueNums.
        req d: i32 = "d",
        /// queueId.
        req e: i32 = "e",
        /// sysFlag.
        req f: i32 = "f",
        /// bornTimestamp.
        req g: i64 = "g",
        /// flag.
        req h: i32 = "h",
        /// properties.
        opt i: String = "i",
        /// reconsumeTimes.
        opt j: i32 = "j",
        /// unitMode.
        opt k: bool = "k",
        /// maxReconsumeTimes (Java calls it consumeRetryTimes).
        opt l: i32 = "l",
        /// batch (true for SEND_BATCH_MESSAGE).
        opt m: bool = "m",
        /// brokerName, the target broker (V1's `bname`).
        opt n: String = "n",
    }
}

/// Java's `SendMessageRequestHeaderV2.createSendMessageRequestHeaderV1`: a field-for-field
/// copy, absent stays absent.
impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        Self {
            producer_group: v2.a,
            topic: v2.b,
            default_topic: v2.c,
            default_topic_queue_nums: v2.d,
            queue_id: v2.e,
            sys_flag: v2.f,
            born_timestamp: v2.g,
            flag: v2.h,
            properties: v2.i,
            reconsume_times: v2.j,
            unit_mode: v2.k,
            max_reconsume_times: v2.l,
            batch: v2.m,
            bname: v2.n,
        }
    }
}

/// Java's `SendMessageRequestHeaderV2.createSendMessageRequestHeaderV2`. Java reads
/// `reconsumeTimes`, `unitMode` and `batch` through getters that default them, so those
/// are always present in the V2 header (`j=0`, `k=false`, `m=false` when unset).
impl From<&SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: &SendMessageRequestHeader) -> Self {
        Self {
            a: v1.producer_group.clone(),
            b: v1.topic.clone(),
            c: v1.default_topic.clone(),
            d: v1.default_topic_queue_nums,
            e: v1.queue_id,
            f: v1.sys_flag,
            g: v1.born_timestamp,
            h: v1.flag,
            i: v1.properties.clone(),
            j: Some(v1.reconsume_times_or_zero()),
            k: Some(v1.is_unit_mode()),
            l: v1.max_reconsume_times,
            m: Some(v1.is_batch()),
            n: v1.bname.clone(),
        }
    }
}

command_header! {
    /// SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) response.
    ///
    /// `MSG_REGION` and `TRACE_ON` are not fields of the Java class: the broker adds them
    /// with `addExtField` and the Java producer reads them into its `SendResult`.
    pub struct SendMessageResponseHeader {
        /// Offset message id (store host + commit-log offset); comma-joined for a batch.
        req msg_id: String = "msgId",
        /// Queue the message was stored in.
        req queue_id: i32 = "queueId",
        /// Logical offset in that queue (for a batch, of its first message).
        req queue_offset: i64 = "queueOffset",
        /// The message's unique (client) id.
        opt transaction_id: String = "transactionId",
        /// Unique id of a batch.
        opt batch_uniq_id: String = "batchUniqId",
        /// Handle for RECALL_MESSAGE (370), for delay messages.
        opt recall_handle: String = "recallHandle",
        /// The broker's region id (Java client default `DefaultRegion` when absent).
        opt msg_region: String = "MSG_REGION",
        /// Whether tracing is on; the Java client treats anything but `false` as on.
        opt trace_on: bool = "TRACE_ON",
    }
}

command_header! {
    /// END_TRANSACTION (37) request, sent oneway by the producer.
    pub struct EndTransactionRequestHeader {
        /// Topic of the half message.
        opt topic: String = "topic",
        /// Producer group that owns the transaction.
        req producer_group: String = "producerGroup",
        /// Queue offset of the half message (the send result's `queueOffset`).
        req tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Commit-log offset of the half message (from its offset message id).
        req commit_log_offset: i64 = "commitLogOffset",
        /// 0 unknown (not type), 8 commit, 12 rollback (message sysFlag transaction types).
        req commit_or_rollback: i32 = "commitOrRollback",
        /// Whether this answers a CHECK_TRANSACTION_STATE (Java default false).
        opt from_transaction_check: bool = "fromTransactionCheck",
        /// The message's unique (client) id.
        req msg_id: String = "msgId",
        /// The transaction id.
        opt transaction_id: String = "transactionId",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// CHECK_TRANSACTION_STATE (39) request, broker to producer, oneway; the body is the
    /// stored half message.
    pub struct CheckTransactionStateRequestHeader {
        /// Topic of the half message (the real topic).
        opt topic: String = "topic",
        /// Queue offset of the half message.
        req tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Commit-log offset of the half message.
        req commit_log_offset: i64 = "commitLogOffset",
        /// The message's unique (client) id.
        opt msg_id: String = "msgId",
        /// The transaction id (the broker sends the unique id).
        opt transaction_id: String = "transactionId",
        /// Offset message id of the half message.
        opt offset_msg_id: String = "offsetMsgId",
        /// Name of the checking broker; the producer echoes it into END_TRANSACTION.
        opt bname: String = "bname",
    }
}

command_header! {
    /// UNREGISTER_CLIENT (35) request.
    pub struct UnregisterClientRequestHeader {
        /// The client id (`ip@instance...`).
        req client_id: String = "clientID",
        /// Producer group to leave.
        opt producer_group: String = "producerGroup",
        /// Consumer group to leave.
        opt consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// RECALL_MESSAGE (370) request: withdraw a delay message not yet delivered.
    pub struct RecallMessageRequestHeader {
        /// Producer group of the caller.
        opt producer_group: String = "producerGroup",
        /// Topic of the message.
        req topic: String = "topic",
        /// The handle the send response gave.
        req recall_handle: String = "recallHandle",
        /// Target broker name (`RpcRequestHeader.bname`).
        opt bname: String = "bname",
    }
}

command_header! {
    /// RECALL_MESSAGE (370) response.
    pub struct RecallMessageResponseHeader {
        /// Unique id of the recalled message.
        req msg_id: String = "msgId",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::headers::ext_fields as fields;

    const JAVA_V2: &[(&str, &str)] = &[
        ("a", "PG"),
        ("b", "TopicTest"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "2"),
        ("f", "0"),
        ("g", "1700000000000"),
        ("h", "0"),
        ("i", "TAGS\u{1}TagA\u{2}"),
    ];

    #[test]
    fn golden_v2_as_a_java_producer_sends_it() {
        let v2 = SendMessageRequestHeaderV2::from_ext_fields(&fields(JAVA_V2)).expect("decodes");
        assert_eq!(
            v2,
            SendMessageRequestHeaderV2 {
                a: "PG".into(),
                b: "TopicTest".into(),
                c: "TBW102".into(),
                d: 4,
                e: 2,
                f: 0,
                g: 1_700_000_000_000,
                h: 0,
                i: Some("TAGS\u{1}TagA\u{2}".into()),
                ..Default::default()
            }
        );
        let v1 = SendMessageRequestHeader::from(v2);
        assert_eq!(
            v1,
            SendMessageRequestHeader {
                producer_group: "PG".into(),
                topic: "TopicTest".into(),
                default_topic: "TBW102".into(),
                default_topic_queue_nums: 4,
                queue_id: 2,
                sys_flag: 0,
                born_timestamp: 1_700_000_000_000,
                flag: 0,
                properties: Some("TAGS\u{1}TagA\u{2}".into()),
                reconsume_times: None,
                unit_mode: None,
                batch: None,
                max_reconsume_times: None,
                bname: None,
            }
        );
        assert_eq!(v1.reconsume_times_or_zero(), 0);
        assert!(!v1.is_unit_mode());
        assert!(!v1.is_batch());
    }

    #[test]
    fn java_5x_producer_header_is_v1_converted_to_v2() {
        // DefaultMQProducerImpl fills a V1 header, MQClientAPIImpl converts it to V2.
        let v1 = SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 1,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_123,
            flag: 0,
            properties: Some("UNIQ_KEY\u{1}AC11\u{2}WAIT\u{1}true\u{2}".into()),
            bname: Some("broker-a".into()),
            ..Default::default()
        };
        let ext = SendMessageRequestHeaderV2::from(&v1).to_ext_fields();
        assert_eq!(
            ext,
            fields(&[
                ("a", "PG"),
                ("b", "TopicTest"),
                ("c", "TBW102"),
                ("d", "4"),
                ("e", "1"),
                ("f", "0"),
                ("g", "1700000000123"),
                ("h", "0"),
                ("i", "UNIQ_KEY\u{1}AC11\u{2}WAIT\u{1}true\u{2}"),
                ("j", "0"),
                ("k", "false"),
                ("m", "false"),
                ("n", "broker-a"),
            ])
        );
        let back = SendMessageRequestHeader::parse(request_code::SEND_MESSAGE_V2, &ext)
            .expect("decodes")
            .expect("a send code");
        assert_eq!(back.bname.as_deref(), Some("broker-a"));
        assert_eq!(back.reconsume_times, Some(0));
        assert_eq!(back.batch, Some(false));
        assert_eq!(back.max_reconsume_times, None);
    }

    #[test]
    fn v1_and_v2_round_trip() {
        let v1 = SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "%RETRY%CG".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 8,
            queue_id: -1,
            sys_flag: 0x4,
            born_timestamp: 1_700_000_000_000,
            flag: 7,
            properties: Some("RETRY_TOPIC\u{1}TopicTest\u{2}".into()),
            reconsume_times: Some(3),
            unit_mode: Some(true),
            batch: Some(true),
            max_reconsume_times: Some(16),
            bname: Some("broker-b".into()),
        };
        let ext = v1.to_ext_fields();
        assert_eq!(ext.get("producerGroup"), Some("PG"));
        assert_eq!(ext.get("queueId"), Some("-1"));
        assert_eq!(ext.get("maxReconsumeTimes"), Some("16"));
        assert_eq!(ext.get("bname"), Some("broker-b"));
        assert_eq!(
            SendMessageRequestHeader::from_ext_fields(&ext),
            Ok(v1.clone())
        );

        let v2 = SendMessageRequestHeaderV2::from(&v1);
        let ext2 = v2.to_ext_fields();
        assert_eq!(ext2.len(), 14);
        assert_eq!(ext2.get("l"), Some("16"));
        assert_eq!(
            SendMessageRequestHeaderV2::from_ext_fields(&ext2),
            Ok(v2.clone())
        );
        assert_eq!(SendMessageRequestHeader::from(v2), v1);
    }

    #[test]
    fn parse_picks_the_form_by_code() {
        let v2_ext = fields(JAVA_V2);
        let from_v2 = SendMessageRequestHeader::parse(request_code::SEND_BATCH_MESSAGE, &v2_ext)
            .expect("decodes")
            .expect("a send code");
        assert_eq!(from_v2.topic, "TopicTest");
        // The long form does not understand one-letter keys.
        assert_eq!(
            SendMessageRequestHeader::parse(request_code::SEND_MESSAGE, &v2_ext),
            Err(HeaderError::Missing {
                field: "producerGroup"
            })
        );
        let v1_ext = from_v2.to_ext_fields();
        assert_eq!(
            SendMessageRequestHeader::parse(request_code::SEND_MESSAGE, &v1_ext),
            Ok(Some(from_v2))
        );
        assert_eq!(
            SendMessageRequestHeader::parse(request_code::PULL_MESSAGE, &v1_ext),
            Ok(None)
        );
    }

    #[test]
    fn missing_required_field_is_named() {
        let mut ext = fields(JAVA_V2);
        ext.remove("g");
        assert_eq!(
            SendMessageRequestHeaderV2::from_ext_fields(&ext),
            Err(HeaderError::Missing { field: "g" })
        );
        // Optional fields may be absent.
        let mut ext = fields(JAVA_V2);
        ext.remove("i");
        assert!(SendMessageRequestHeaderV2::from_ext_fields(&ext).is_ok());

        let err =
            UnregisterClientRequestHeader::from_ext_fields(&fields(&[("producerGroup", "PG")]))
                .expect_err("must fail");
        assert_eq!(err, HeaderError::Missing { field: "clientID" });
    }

    #[test]
    fn bad_number_in_v2_is_invalid() {
        let mut ext = fields(JAVA_V2);
        ext.insert("d", "four");
        assert!(matches!(
            SendMessageRequestHeaderV2::from_ext_fields(&ext),
            Err(HeaderError::Invalid { field: "d", .. })
        ));
    }

    #[test]
    fn send_response_round_trips_with_broker_extras() {
        let header = SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000C8A".into(),
            queue_id: 3,
            queue_offset: 42,
            transaction_id: Some("AC110001000018B4AAC2".into()),
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: Some("DefaultRegion".into()),
            trace_on: Some(true),
        };
        let ext = header.to_ext_fields();
        assert_eq!(
            ext,
            fields(&[
                ("msgId", "7F00000100002A9F0000000000000C8A"),
                ("queueId", "3"),
                ("queueOffset", "42"),
                ("transactionId", "AC110001000018B4AAC2"),
                ("MSG_REGION", "DefaultRegion"),
                ("TRACE_ON", "true"),
            ])
        );
        assert_eq!(SendMessageResponseHeader::from_ext_fields(&ext), Ok(header));
    }

    #[test]
    fn end_transaction_golden_and_check_round_trip() {
        let ext = fields(&[
            ("topic", "TopicTest"),
            ("producerGroup", "PG"),
            ("tranStateTableOffset", "5"),
            ("commitLogOffset", "3210"),
            ("commitOrRollback", "8"),
            ("fromTransactionCheck", "true"),
            ("msgId", "AC110001000018B4AAC2"),
            ("transactionId", "AC110001000018B4AAC2"),
            ("bname", "broker-a"),
        ]);
        let end = EndTransactionRequestHeader::from_ext_fields(&ext).expect("decodes");
        assert_eq!(end.commit_or_rollback, 8);
        assert_eq!(end.tran_state_table_offset, 5);
        assert_eq!(end.commit_log_offset, 3210);
        assert_eq!(end.from_transaction_check, Some(true));
        assert_eq!(end.to_ext_fields(), ext);

        let mut no_msg_id = ext.clone();
        no_msg_id.remove("msgId");
        assert_eq!(
            EndTransactionRequestHeader::from_ext_fields(&no_msg_id),
            Err(HeaderError::Missing { field: "msgId" })
        );

        let check = CheckTransactionStateRequestHeader {
            topic: Some("TopicTest".into()),
            tran_state_table_offset: 5,
            commit_log_offset: 3210,
            msg_id: Some("AC110001000018B4AAC2".into()),
            transaction_id: Some("AC110001000018B4AAC2".into()),
            offset_msg_id: Some("7F00000100002A9F0000000000000C8A".into()),
            bname: Some("broker-a".into()),
        };
        let ext = check.to_ext_fields();
        assert_eq!(
            ext.get("offsetMsgId"),
            Some("7F00000100002A9F0000000000000C8A")
        );
        assert_eq!(
            CheckTransactionStateRequestHeader::from_ext_fields(&ext),
            Ok(check)
        );
    }

    #[test]
    fn recall_round_trips() {
        let request = RecallMessageRequestHeader {
            producer_group: None,
            topic: "TopicTest".into(),
            recall_handle: "handle".into(),
            bname: Some("broker-a".into()),
        };
        let ext = request.to_ext_fields();
        assert_eq!(
            ext,
            fields(&[
                ("topic", "TopicTest"),
                ("recallHandle", "handle"),
                ("bname", "broker-a")
            ])
        );
        assert_eq!(
            RecallMessageRequestHeader::from_ext_fields(&ext),
            Ok(request)
        );

        let response = RecallMessageResponseHeader {
            msg_id: "AC11".into(),
        };
        assert_eq!(
            RecallMessageResponseHeader::from_ext_fields(&response.to_ext_fields()),
            Ok(response)
        );
        assert_eq!(
            RecallMessageResponseHeader::from_ext_fields(&ExtFields::new()),
            Err(HeaderError::Missing { field: "msgId" })
        );
    }
}
