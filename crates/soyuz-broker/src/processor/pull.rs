//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) (`PullMessageProcessor`): permission
//! and subscription checks, the read with the group's tag filter, the status mapping
//! clients expect, and long polling when nothing new is there yet.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use soyuz_remoting::body::{perm, SubscriptionData};
use soyuz_remoting::headers::consumer::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_store::{GetRequest, GetResult, GetStatus};
use soyuz_transport::Channel;

use super::filter::MessageFilter;
use super::{header, store_error, task_failed, Reply};
use crate::state::BrokerState;

/// Handles both pull codes.
pub async fn pull_message(
    state: Arc<BrokerState>,
    channel: Channel,
    request: RemotingCommand,
) -> Reply {
    let header: PullMessageRequestHeader = header(&request)?;
    let subscription = check_pull(&state, &channel, &request, &header)?;
    let filter = MessageFilter::compile(&state, &request, &subscription)?;
    if pull_sys_flag::has_commit_offset(header.sys_flag) && header.commit_offset >= 0 {
        state.offsets.commit(
            &header.consumer_group,
            &header.topic,
            header.queue_id,
            header.commit_offset,
        );
    }
    let hold = if !pull_sys_flag::has_suspend(header.sys_flag) {
        Duration::ZERO
    } else if state.config.long_polling_enable {
        Duration::from_millis(header.suspend_timeout_millis.max(0) as u64)
    } else {
        Duration::from_millis(state.config.short_polling_time_mills)
    };
    let deadline = tokio::time::Instant::now() + hold;
    let mut held = false;
    loop {
        // Register before reading, so a message that lands between the read and the
        // wait still wakes us.
        let woken = (!hold.is_zero()).then(|| {
            state
                .pulls
                .hold(&header.topic, header.queue_id, header.queue_offset)
        });
        let result = read(&state, &request, &header, &filter).await?;
        let nothing_new = matches!(
            result.status,
            GetStatus::OffsetOverflowOne
                | GetStatus::NoMessageInQueue
                | GetStatus::NoMatchedLogicQueue
        ) && header.queue_offset == result.next_begin_offset;
        // A held pull woken by messages its filter rejects keeps waiting, as Java's hold
        // service does; it is answered when a wanted message arrives or time runs out.
        let only_unwanted = held && result.status == GetStatus::NoMatchedMessage;
        match woken {
            Some(woken)
                if (nothing_new || only_unwanted) && tokio::time::Instant::now() < deadline =>
            {
                held = true;
                let _ = tokio::time::timeout_at(deadline, woken).await;
                if tokio::time::Instant::now() >= deadline {
                    // One last read: the answer reflects the queue at the deadline.
                    let last = read(&state, &request, &header, &filter).await?;
                    return Ok(respond(&state, &request, &header, last));
                }
            }
            _ => return Ok(respond(&state, &request, &header, result)),
        }
    }
}

/// The broker, group, topic and subscription checks, in Java's order; the subscription
/// to filter with.
fn check_pull(
    state: &BrokerState,
    channel: &Channel,
    request: &RemotingCommand,
    header: &PullMessageRequestHeader,
) -> Result<SubscriptionData, RemotingCommand> {
    let error = |code, remark: String| RemotingCommand::error(request, code, remark);
    if !perm::is_readable(state.config.broker_permission) {
        return Err(error(
            response_code::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                state.addr().ip()
            ),
        ));
    }
    let Some(group) = state.groups.find_or_create(&header.consumer_group) else {
        return Err(error(
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{}] does not exist",
                header.consumer_group
            ),
        ));
    };
    if !group.consume_enable {
        return Err(error(
            response_code::NO_PERMISSION,
            format!(
                "subscription group no permission, {}",
                header.consumer_group
            ),
        ));
    }
    let Some(topic) = state.topics.get(&header.topic) else {
        return Err(error(
            response_code::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", header.topic),
        ));
    };
    if !perm::is_readable(topic.perm) {
        return Err(error(
            response_code::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", header.topic),
        ));
    }
    if header.queue_id < 0 || header.queue_id >= topic.read_queue_nums {
        return Err(error(
            response_code::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                header.queue_id,
                header.topic,
                topic.read_queue_nums,
                channel.remote_addr()
            ),
        ));
    }
    let subscription = if pull_sys_flag::has_subscription(header.sys_flag)
        || pull_sys_flag::has_lite_pull(header.sys_flag)
    {
        let expression = header.subscription.as_deref().unwrap_or("*");
        let mut subscription = SubscriptionData::tag(&header.topic, expression, header.sub_version);
        let expression_type = header.expression_type.as_deref().unwrap_or("TAG");
        if !expression_type.eq_ignore_ascii_case("TAG") {
            subscription.expression_type = expression_type.to_owned();
            subscription.sub_string = expression.to_owned();
        }
        subscription
    } else {
        let Some(info) = state.consumers.group(&header.consumer_group) else {
            return Err(error(
                response_code::SUBSCRIPTION_NOT_EXIST,
                format!(
                    "the consumer's group info not exist, group: {}",
                    header.consumer_group
                ),
            ));
        };
        if !group.consume_broadcast_enable && info.message_model == "BROADCASTING" {
            return Err(error(
                response_code::NO_PERMISSION,
                format!(
                    "the consumer group[{}] can not consume by broadcast way",
                    header.consumer_group
                ),
            ));
        }
        let Some(subscription) = info.subscriptions.get(&header.topic) else {
            return Err(error(
                response_code::SUBSCRIPTION_NOT_EXIST,
                format!(
                    "the consumer's subscription not exist, group: {}",
                    header.consumer_group
                ),
            ));
        };
        if subscription.sub_version < header.sub_version {
            return Err(error(
                response_code::SUBSCRIPTION_NOT_LATEST,
                format!(
                    "the consumer's subscription not latest, group: {}",
                    header.consumer_group
                ),
            ));
        }
        subscription.clone()
    };
    Ok(subscription)
}

async fn read(
    state: &Arc<BrokerState>,
    request: &RemotingCommand,
    header: &PullMessageRequestHeader,
    filter: &MessageFilter,
) -> Result<GetResult, RemotingCommand> {
    let max_count = usize::try_from(header.max_msg_nums).unwrap_or(0).clamp(
        1,
        state.config.max_transfer_count_on_message_in_memory.max(1),
    );
    let max_bytes = header
        .max_msg_bytes
        .and_then(|b| usize::try_from(b).ok())
        .unwrap_or(usize::MAX)
        .min(state.config.max_transfer_bytes_on_message_in_memory)
        .max(1);
    let get = GetRequest {
        topic: header.topic.clone(),
        queue_id: header.queue_id,
        offset: header.queue_offset,
        max_count,
        max_bytes,
        filter: filter.store_filter(),
    };
    let mut result = state
        .blocking(move |state| state.store.get(&get))
        .await
        .map_err(|e| task_failed(request, &e))?
        .map_err(|e| store_error(request, &e))?;
    if !filter.is_all() && result.status == GetStatus::Found {
        let (messages, offsets): (Vec<Bytes>, Vec<i64>) = result
            .messages
            .drain(..)
            .zip(result.queue_offsets.drain(..))
            .filter(|(message, _)| filter.matches(message))
            .unzip();
        if messages.is_empty() {
            result.status = GetStatus::NoMatchedMessage;
        }
        result.messages = messages;
        result.queue_offsets = offsets;
    }
    Ok(result)
}

/// Maps the store's status onto Java's response codes and fills the header.
fn respond(
    state: &BrokerState,
    request: &RemotingCommand,
    header: &PullMessageRequestHeader,
    result: GetResult,
) -> RemotingCommand {
    let code = match result.status {
        GetStatus::Found => response_code::SUCCESS,
        GetStatus::NoMatchedMessage | GetStatus::MessageWasRemoving => {
            response_code::PULL_RETRY_IMMEDIATELY
        }
        GetStatus::NoMatchedLogicQueue | GetStatus::NoMessageInQueue => {
            if header.queue_offset != 0 {
                response_code::PULL_OFFSET_MOVED
            } else {
                response_code::PULL_NOT_FOUND
            }
        }
        GetStatus::OffsetFoundNull | GetStatus::OffsetOverflowOne => response_code::PULL_NOT_FOUND,
        GetStatus::OffsetOverflowBadly | GetStatus::OffsetTooSmall => {
            response_code::PULL_OFFSET_MOVED
        }
    };
    if code == response_code::PULL_OFFSET_MOVED {
        tracing::info!(
            topic = %header.topic,
            queue = header.queue_id,
            group = %header.consumer_group,
            requested = header.queue_offset,
            next = result.next_begin_offset,
            "pull offset moved"
        );
    }
    let response_header = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: result.next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: None,
        group_sys_flag: None,
        forbidden_type: None,
    };
    let _ = state;
    let mut response =
        RemotingCommand::response_to(request, code, None).with_header(&response_header);
    if code == response_code::SUCCESS {
        let total = result.messages.iter().map(Bytes::len).sum();
        let mut body = BytesMut::with_capacity(total);
        for message in &result.messages {
            body.extend_from_slice(message);
        }
        response = response.with_body(body.freeze());
    }
    response
}
