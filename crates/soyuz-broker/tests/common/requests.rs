//! One builder per request kind the tests send.

use std::collections::BTreeMap;

use bytes::Bytes;
use soyuz_model::properties::{encode_properties, keys};
use soyuz_model::record::{encode_batch, BatchItem};
use soyuz_remoting::body::{
    consume_from_where, consume_type, encode_json, message_model, CheckClientConfigBody,
    ConsumerData, HeartbeatData, ProducerData, SubscriptionData,
};
use soyuz_remoting::headers::consumer::*;
use soyuz_remoting::headers::namesrv::GetRouteInfoRequestHeader;
use soyuz_remoting::headers::producer::{
    SendMessageRequestHeader, SendMessageRequestHeaderV2, UnregisterClientRequestHeader,
};
use soyuz_remoting::{request_code, RemotingCommand};

use super::PRODUCER_GROUP;

/// A message to send: builds SEND_MESSAGE, SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE.
#[derive(Debug, Clone)]
pub struct Message {
    /// Topic.
    pub topic: String,
    /// Queue id (-1: the broker picks).
    pub queue_id: i32,
    /// Body.
    pub body: Bytes,
    /// Properties.
    pub properties: BTreeMap<String, String>,
    /// Queues a topic created from TBW102 should get.
    pub default_topic_queue_nums: i32,
    /// `reconsumeTimes`.
    pub reconsume_times: Option<i32>,
    /// `maxReconsumeTimes`.
    pub max_reconsume_times: Option<i32>,
}

impl Message {
    /// A message to queue 0 of `topic`.
    pub fn new(topic: &str, body: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            queue_id: 0,
            body: Bytes::copy_from_slice(body.as_bytes()),
            properties: BTreeMap::new(),
            default_topic_queue_nums: 4,
            reconsume_times: None,
            max_reconsume_times: None,
        }
    }

    /// To queue `queue_id`.
    pub fn queue(mut self, queue_id: i32) -> Self {
        self.queue_id = queue_id;
        self
    }

    /// With the body `body`.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// With a property.
    pub fn property(mut self, key: &str, value: &str) -> Self {
        self.properties.insert(key.to_owned(), value.to_owned());
        self
    }

    /// With the tag `tag`.
    pub fn tag(self, tag: &str) -> Self {
        self.property(keys::TAGS, tag)
    }

    /// The long-form header.
    pub fn header(&self) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: PRODUCER_GROUP.to_owned(),
            topic: self.topic.clone(),
            default_topic: "TBW102".to_owned(),
            default_topic_queue_nums: self.default_topic_queue_nums,
            queue_id: self.queue_id,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some(encode_properties(&self.properties)),
            reconsume_times: self.reconsume_times,
            max_reconsume_times: self.max_reconsume_times,
            ..SendMessageRequestHeader::default()
        }
    }

    /// SEND_MESSAGE (10).
    pub fn send_v1(&self) -> RemotingCommand {
        RemotingCommand::request_with_header(request_code::SEND_MESSAGE, &self.header())
            .with_body(self.body.clone())
    }

    /// SEND_MESSAGE_V2 (310).
    pub fn send_v2(&self) -> RemotingCommand {
        RemotingCommand::request_with_header(
            request_code::SEND_MESSAGE_V2,
            &SendMessageRequestHeaderV2::from(&self.header()),
        )
        .with_body(self.body.clone())
    }
}

/// SEND_BATCH_MESSAGE (320) of `messages`, addressed like the first one.
pub fn send_batch(messages: &[Message]) -> RemotingCommand {
    let items: Vec<BatchItem> = messages
        .iter()
        .map(|m| BatchItem {
            flag: 0,
            body: m.body.clone(),
            properties: encode_properties(&m.properties),
        })
        .collect();
    let mut header = messages[0].header();
    header.batch = Some(true);
    header.properties = None;
    RemotingCommand::request_with_header(
        request_code::SEND_BATCH_MESSAGE,
        &SendMessageRequestHeaderV2::from(&header),
    )
    .with_body(encode_batch(&items))
}

/// A pull: builds PULL_MESSAGE and LITE_PULL_MESSAGE.
#[derive(Debug, Clone)]
pub struct Pull {
    /// The request header.
    pub header: PullMessageRequestHeader,
}

impl Pull {
    /// A plain pull (no flags) of up to 32 messages.
    pub fn new(group: &str, topic: &str, queue_id: i32, offset: i64) -> Self {
        Self {
            header: PullMessageRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.to_owned(),
                queue_id,
                queue_offset: offset,
                max_msg_nums: 32,
                sys_flag: 0,
                commit_offset: 0,
                suspend_timeout_millis: 0,
                sub_version: 0,
                ..PullMessageRequestHeader::default()
            },
        }
    }

    /// With the SUBSCRIPTION flag and a tag expression.
    pub fn subscribe(mut self, expression: &str) -> Self {
        self.header.sys_flag |= pull_sys_flag::SUBSCRIPTION;
        self.header.subscription = Some(expression.to_owned());
        self.header.expression_type = Some("TAG".to_owned());
        self
    }

    /// With the SUSPEND flag: may be held `millis`.
    pub fn suspend(mut self, millis: i64) -> Self {
        self.header.sys_flag |= pull_sys_flag::SUSPEND;
        self.header.suspend_timeout_millis = millis;
        self
    }

    /// With the COMMIT_OFFSET flag.
    pub fn commit(mut self, offset: i64) -> Self {
        self.header.sys_flag |= pull_sys_flag::COMMIT_OFFSET;
        self.header.commit_offset = offset;
        self
    }

    /// At most `max` messages.
    pub fn max(mut self, max: i32) -> Self {
        self.header.max_msg_nums = max;
        self
    }

    /// PULL_MESSAGE (11).
    pub fn request(&self) -> RemotingCommand {
        RemotingCommand::request_with_header(request_code::PULL_MESSAGE, &self.header)
    }

    /// LITE_PULL_MESSAGE (361), with the LITE_PULL flag.
    pub fn lite(&self) -> RemotingCommand {
        let mut header = self.header.clone();
        header.sys_flag |= pull_sys_flag::LITE_PULL;
        RemotingCommand::request_with_header(request_code::LITE_PULL_MESSAGE, &header)
    }
}

/// A subscription to `topic` with a tag expression, as Java builds it.
pub fn subscription(topic: &str, expression: &str) -> SubscriptionData {
    SubscriptionData::tag(topic, expression, 0)
}

/// HEART_BEAT (34) of a push consumer in `group` with `subscriptions`.
pub fn consumer_heartbeat(
    client_id: &str,
    group: &str,
    subscriptions: Vec<SubscriptionData>,
) -> RemotingCommand {
    heartbeat(HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.to_owned(),
            consume_type: consume_type::CONSUME_PASSIVELY.to_owned(),
            message_model: message_model::CLUSTERING.to_owned(),
            consume_from_where: consume_from_where::CONSUME_FROM_LAST_OFFSET.to_owned(),
            subscription_data_set: subscriptions,
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    })
}

/// HEART_BEAT (34) of a producer in `group`.
pub fn producer_heartbeat(client_id: &str, group: &str) -> RemotingCommand {
    heartbeat(HeartbeatData {
        client_id: client_id.to_owned(),
        producer_data_set: vec![ProducerData {
            group_name: group.to_owned(),
        }],
        ..HeartbeatData::default()
    })
}

fn heartbeat(data: HeartbeatData) -> RemotingCommand {
    RemotingCommand::request(request_code::HEART_BEAT).with_body(encode_json(&data))
}

/// UNREGISTER_CLIENT (35) of a consumer.
pub fn unregister_consumer(client_id: &str, group: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::UNREGISTER_CLIENT,
        &UnregisterClientRequestHeader {
            client_id: client_id.to_owned(),
            producer_group: None,
            consumer_group: Some(group.to_owned()),
        },
    )
}

/// GET_CONSUMER_LIST_BY_GROUP (38).
pub fn consumer_list(group: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::GET_CONSUMER_LIST_BY_GROUP,
        &GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_owned(),
        },
    )
}

/// CHECK_CLIENT_CONFIG (46).
pub fn check_client_config(group: &str, subscription: SubscriptionData) -> RemotingCommand {
    let body = CheckClientConfigBody {
        client_id: "127.0.0.1@check".to_owned(),
        group: group.to_owned(),
        subscription_data: Some(subscription),
        namespace: None,
    };
    RemotingCommand::request(request_code::CHECK_CLIENT_CONFIG).with_body(encode_json(&body))
}

/// QUERY_CONSUMER_OFFSET (14).
pub fn query_offset(group: &str, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::QUERY_CONSUMER_OFFSET,
        &QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            ..QueryConsumerOffsetRequestHeader::default()
        },
    )
}

/// UPDATE_CONSUMER_OFFSET (15).
pub fn update_offset(group: &str, topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::UPDATE_CONSUMER_OFFSET,
        &UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            commit_offset: offset,
            bname: None,
        },
    )
}

/// GET_MAX_OFFSET (30).
pub fn max_offset(topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::GET_MAX_OFFSET,
        &GetMaxOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            ..GetMaxOffsetRequestHeader::default()
        },
    )
}

/// GET_MIN_OFFSET (31).
pub fn min_offset(topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::GET_MIN_OFFSET,
        &GetMinOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            bname: None,
        },
    )
}

/// GET_EARLIEST_MSG_STORETIME (32).
pub fn earliest_store_time(topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::GET_EARLIEST_MSG_STORETIME,
        &GetEarliestMsgStoretimeRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            bname: None,
        },
    )
}

/// SEARCH_OFFSET_BY_TIMESTAMP (29); `boundary` is `lower` or `upper`.
pub fn search_offset(
    topic: &str,
    queue_id: i32,
    timestamp: i64,
    boundary: &str,
) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::SEARCH_OFFSET_BY_TIMESTAMP,
        &SearchOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            timestamp,
            boundary_type: Some(boundary.to_owned()),
            bname: None,
        },
    )
}

/// VIEW_MESSAGE_BY_ID (33) at a CommitLog offset.
pub fn view_message(offset: i64) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::VIEW_MESSAGE_BY_ID,
        &ViewMessageRequestHeader {
            topic: None,
            offset,
        },
    )
}

/// QUERY_MESSAGE (12) over all time; `unique` asks by unique key.
pub fn query_message(topic: &str, key: &str, unique: bool) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::QUERY_MESSAGE,
        &QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: unique.then_some(true),
        },
    )
}

/// GET_ROUTEINFO_BY_TOPIC (105), for the NameServer.
pub fn route(topic: &str) -> RemotingCommand {
    RemotingCommand::request_with_header(
        request_code::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.to_owned(),
            accept_standard_json_only: Some(true),
        },
    )
}

/// GET_BROKER_CLUSTER_INFO (106), for the NameServer.
pub fn cluster_info() -> RemotingCommand {
    RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO)
}
