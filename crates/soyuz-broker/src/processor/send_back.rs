//! CONSUMER_SEND_MSG_BACK (36) (`SendMessageProcessor.consumerSendMsgBack`): a consumer
//! could not process a message; the broker stores a copy in `%RETRY%group` to be
//! delivered again after a delay that grows with each attempt, or in `%DLQ%group` once
//! the group's attempts are used up.

use std::sync::Arc;

use soyuz_model::msg_id::encode_offset_msg_id;
use soyuz_model::names;
use soyuz_model::properties::{decode_properties, encode_properties, keys};
use soyuz_model::record::{decode_record_shared, DecodedRecord};
use soyuz_remoting::body::perm;
use soyuz_remoting::headers::consumer::ConsumerSendMsgBackRequestHeader;
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_transport::Channel;

use super::{header, store_error, task_failed, Reply};
use crate::state::BrokerState;

/// Property naming the first message id of a retried message.
const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";

/// Handles CONSUMER_SEND_MSG_BACK.
pub async fn consumer_send_msg_back(
    state: Arc<BrokerState>,
    _channel: Channel,
    request: RemotingCommand,
) -> Reply {
    let header: ConsumerSendMsgBackRequestHeader = header(&request)?;
    let error = |code, remark: String| RemotingCommand::error(&request, code, remark);
    let Some(group) = state.groups.find_or_create(&header.group) else {
        return Err(error(
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", header.group),
        ));
    };
    super::check_writeable(&state, &request)?;
    if group.retry_queue_nums <= 0 {
        // Java: a group without retry queues simply drops failed messages.
        return Ok(RemotingCommand::success(&request));
    }
    let offset = u64::try_from(header.offset).unwrap_or(u64::MAX);
    let original = state
        .blocking(move |state| state.store.message_at(offset))
        .await
        .map_err(|e| task_failed(&request, &e))?
        .map_err(|e| store_error(&request, &e))?;
    let Some(Ok(DecodedRecord::Message(mut message, _))) =
        original.map(|raw| decode_record_shared(&raw, false))
    else {
        return Err(error(
            response_code::SYSTEM_ERROR,
            format!("look message by offset failed, {}", header.offset),
        ));
    };
    let mut properties = decode_properties(&message.properties);
    properties
        .entry(keys::RETRY_TOPIC.to_owned())
        .or_insert_with(|| message.topic.clone());
    let origin = header
        .origin_msg_id
        .clone()
        .filter(|id| !id.is_empty())
        .or_else(|| properties.get(ORIGIN_MESSAGE_ID).cloned())
        .or_else(|| properties.get(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).cloned())
        .unwrap_or_else(|| encode_offset_msg_id(message.store_host, message.physical_offset));
    properties.insert(ORIGIN_MESSAGE_ID.to_owned(), origin);
    properties.remove("__CRC32#");
    properties.remove(keys::REAL_TOPIC);
    properties.remove(keys::REAL_QUEUE_ID);

    let max_reconsume_times = header.max_reconsume_times.unwrap_or(group.retry_max_times);
    let (topic, queue_id, delay_level) = if message.reconsume_times >= max_reconsume_times
        || header.delay_level < 0
    {
        let dlq = names::dlq_topic(&header.group);
        let (_, created) = state
            .topics
            .get_or_create(&dlq, 1, perm::READ | perm::WRITE, 0);
        if created {
            state.topics_changed();
        }
        tracing::info!(group = %header.group, attempts = message.reconsume_times, "message goes to {dlq}");
        (dlq, 0, 0)
    } else {
        let retry = names::retry_topic(&header.group);
        let (config, created) =
            state
                .topics
                .get_or_create(&retry, group.retry_queue_nums, perm::READ | perm::WRITE, 0);
        if created {
            state.topics_changed();
        }
        let level = if header.delay_level == 0 {
            3 + message.reconsume_times
        } else {
            header.delay_level
        };
        let queue =
            (message.physical_offset.unsigned_abs() % config.write_queue_nums.max(1) as u64) as i32;
        (retry, queue, level)
    };
    properties.remove(keys::DELAY_TIME_LEVEL);
    message.topic = topic;
    message.queue_id = queue_id;
    message.reconsume_times += 1;
    message.store_host = state.addr();
    message.properties = encode_properties(&properties);
    // A retry waits out its delay in the schedule topic; a dead letter does not wait.
    // (Never a half message, even if the original was transactional.)
    if delay_level > 0 {
        state.schedule.park(&mut message, delay_level);
    }
    state
        .appender
        .put(vec![message])
        .await
        .map_err(|e| store_error(&request, &e))?;
    Ok(RemotingCommand::success(&request))
}
