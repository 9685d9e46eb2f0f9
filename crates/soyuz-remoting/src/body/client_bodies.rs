//! Smaller client-broker bodies: consumer lists, queue locks, CHECK_CLIENT_CONFIG and
//! the offset reset a broker pushes to clients.

use serde::{Deserialize, Serialize};

use super::lenient::nullable;
use super::mq_map::{self, encode_mq_keyed_map};
use super::{decode_json, BodyError, MessageQueue, SubscriptionData};

/// GET_CONSUMER_LIST_BY_GROUP's answer (`GetConsumerListByGroupResponseBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerListByGroupResponseBody {
    /// Client ids of the group's live consumers.
    #[serde(deserialize_with = "nullable")]
    pub consumer_id_list: Vec<String>,
}

/// LOCK_BATCH_MQ's request (`LockBatchRequestBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LockBatchRequestBody {
    /// Consumer group (rocketmq-client-rust may send `null`).
    #[serde(deserialize_with = "nullable")]
    pub consumer_group: String,
    /// The locking client (rocketmq-client-rust may send `null`).
    #[serde(deserialize_with = "nullable")]
    pub client_id: String,
    /// Lock only on this broker (the broker does not forward to replicas).
    pub only_this_broker: bool,
    /// Queues to lock.
    #[serde(deserialize_with = "nullable")]
    pub mq_set: Vec<MessageQueue>,
}

/// UNLOCK_BATCH_MQ's request (`UnlockBatchRequestBody`): the same fields as the lock
/// request.
pub type UnlockBatchRequestBody = LockBatchRequestBody;

/// LOCK_BATCH_MQ's answer (`LockBatchResponseBody`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LockBatchResponseBody {
    /// The queues now locked by the requesting client (fastjson names it after
    /// `getLockOKMQSet()`).
    #[serde(rename = "lockOKMQSet", deserialize_with = "nullable")]
    pub lock_ok_mq_set: Vec<MessageQueue>,
}

/// CHECK_CLIENT_CONFIG's request (`CheckClientRequestBody`): may this subscription's
/// expression be used on the broker?
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CheckClientConfigBody {
    /// The asking client.
    #[serde(deserialize_with = "nullable")]
    pub client_id: String,
    /// Consumer group.
    #[serde(deserialize_with = "nullable")]
    pub group: String,
    /// The subscription to check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
    /// The client's namespace, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// RESET_CONSUMER_CLIENT_OFFSET's body and INVOKE_BROKER_TO_RESET_OFFSET's answer
/// (`ResetOffsetBody`): the offset each queue is reset to. Written with
/// [`encode`](Self::encode) in fastjson's `MessageQueue`-keyed form, which Java clients
/// need.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    /// Queue and its new offset.
    #[serde(deserialize_with = "mq_map::deserialize")]
    pub offset_table: Vec<(MessageQueue, i64)>,
}

impl ResetOffsetBody {
    /// `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:12}}`.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            r#"{{"offsetTable":{}}}"#,
            encode_mq_keyed_map(&self.offset_table)
        )
        .into_bytes()
    }

    /// Reads the body in fastjson's or standard form.
    pub fn decode(body: &[u8]) -> Result<Self, BodyError> {
        decode_json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::encode_json;

    fn round_trip<T>(value: &T) -> T
    where
        T: Serialize + serde::de::DeserializeOwned,
    {
        decode_json(&encode_json(value)).expect("reads what it wrote")
    }

    #[test]
    fn lock_bodies_use_java_names_and_round_trip() {
        let request = LockBatchRequestBody {
            consumer_group: "G".into(),
            client_id: "c".into(),
            only_this_broker: true,
            mq_set: vec![MessageQueue::new("T", "b", 1)],
        };
        let text = String::from_utf8(encode_json(&request)).expect("utf8");
        assert_eq!(
            text,
            r#"{"consumerGroup":"G","clientId":"c","onlyThisBroker":true,"mqSet":[{"topic":"T","brokerName":"b","queueId":1}]}"#
        );
        assert_eq!(round_trip(&request), request);

        let response = LockBatchResponseBody {
            lock_ok_mq_set: request.mq_set.clone(),
        };
        let text = String::from_utf8(encode_json(&response)).expect("utf8");
        assert!(text.starts_with(r#"{"lockOKMQSet":[{"#));
        assert_eq!(round_trip(&response), response);

        let unlock = UnlockBatchRequestBody {
            consumer_group: "G".into(),
            ..UnlockBatchRequestBody::default()
        };
        assert_eq!(round_trip(&unlock), unlock);
    }

    #[test]
    fn reads_null_ids_from_rocketmq_client_rust() {
        let rust = r#"{"consumerGroup":null,"clientId":null,"onlyThisBroker":false,"mqSet":[{"topic":"T","brokerName":"b","queueId":0}]}"#;
        let request: LockBatchRequestBody = decode_json(rust.as_bytes()).expect("reads");
        assert_eq!(request.consumer_group, "");
        assert_eq!(request.mq_set, [MessageQueue::new("T", "b", 0)]);
    }

    #[test]
    fn consumer_list_and_check_client_round_trip() {
        let list = ConsumerListByGroupResponseBody {
            consumer_id_list: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            encode_json(&list),
            br#"{"consumerIdList":["a","b"]}"#.to_vec()
        );
        assert_eq!(round_trip(&list), list);

        let check = CheckClientConfigBody {
            client_id: "c".into(),
            group: "G".into(),
            subscription_data: Some(SubscriptionData {
                topic: "T".into(),
                sub_string: "a > 1".into(),
                expression_type: "SQL92".into(),
                ..SubscriptionData::default()
            }),
            namespace: None,
        };
        assert_eq!(round_trip(&check), check);
        let rust = r#"{"clientId":"c","group":"G","subscriptionData":{"classFilterMode":false,"topic":"T","subString":"a > 1","tagsSet":[],"codeSet":[],"subVersion":0,"expressionType":"SQL92"},"namespace":null}"#;
        let read: CheckClientConfigBody = decode_json(rust.as_bytes()).expect("reads");
        assert_eq!(read, check);
    }

    #[test]
    fn reset_offset_body_is_written_in_java_form_and_read_back() {
        let body = ResetOffsetBody {
            offset_table: vec![(MessageQueue::new("t", "b", 0), 12)],
        };
        let text = String::from_utf8(body.encode()).expect("utf8");
        assert_eq!(
            text,
            r#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:12}}"#
        );
        assert_eq!(ResetOffsetBody::decode(text.as_bytes()), Ok(body));
        let empty = ResetOffsetBody::default();
        assert_eq!(ResetOffsetBody::decode(&empty.encode()), Ok(empty));
    }
}
