//! Offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15), GET_MAX_OFFSET (30),
//! GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32) and SEARCH_OFFSET_BY_TIMESTAMP
//! (29) (`ConsumerManageProcessor`, `AdminBrokerProcessor`).

use std::sync::Arc;

use soyuz_remoting::headers::consumer::*;
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_store::Boundary;
use soyuz_transport::Channel;

use super::{header, store_error, task_failed, Reply};
use crate::state::BrokerState;

/// QUERY_CONSUMER_OFFSET: the group's committed offset. A group with none is told 0 when
/// the queue still starts at offset 0 and holds messages, so a new group reads a young
/// topic from its start (Java's rule); otherwise QUERY_NOT_FOUND, and the client picks
/// its start by `consumeFromWhere`.
pub fn query_consumer_offset(
    state: &Arc<BrokerState>,
    _channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let header: QueryConsumerOffsetRequestHeader = header(request)?;
    let found = state
        .offsets
        .query(&header.consumer_group, &header.topic, header.queue_id);
    let offset = match found {
        Some(offset) => offset,
        None if header.set_zero_if_not_found == Some(false) => {
            return Err(RemotingCommand::error(
                request,
                response_code::QUERY_NOT_FOUND,
                "Not found, do not set to zero, maybe this group boot first",
            ));
        }
        None => {
            let min = state.store.min_offset(&header.topic, header.queue_id);
            let max = state.store.max_offset(&header.topic, header.queue_id);
            if min <= 0 && max > 0 {
                0
            } else {
                return Err(RemotingCommand::error(
                    request,
                    response_code::QUERY_NOT_FOUND,
                    "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
                ));
            }
        }
    };
    Ok(
        RemotingCommand::success(request)
            .with_header(&QueryConsumerOffsetResponseHeader { offset }),
    )
}

/// UPDATE_CONSUMER_OFFSET: stores the group's offset (Java clients send it oneway).
pub fn update_consumer_offset(
    state: &Arc<BrokerState>,
    _channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let header: UpdateConsumerOffsetRequestHeader = header(request)?;
    // Java checks the group exists without creating it.
    if state.groups.get(&header.consumer_group).is_none() {
        return Err(RemotingCommand::error(
            request,
            response_code::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{}] does not exist",
                header.consumer_group
            ),
        ));
    }
    if state.topics.get(&header.topic).is_none() {
        return Err(RemotingCommand::error(
            request,
            response_code::TOPIC_NOT_EXIST,
            format!("Topic {} not exist!", header.topic),
        ));
    }
    state.offsets.commit(
        &header.consumer_group,
        &header.topic,
        header.queue_id,
        header.commit_offset,
    );
    Ok(RemotingCommand::success(request))
}

/// GET_MAX_OFFSET: the next offset to be written in a queue.
pub fn max_offset(
    state: &Arc<BrokerState>,
    _channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let header: GetMaxOffsetRequestHeader = header(request)?;
    let offset = state.store.max_offset(&header.topic, header.queue_id);
    Ok(RemotingCommand::success(request).with_header(&GetMaxOffsetResponseHeader { offset }))
}

/// GET_MIN_OFFSET: the smallest offset still readable in a queue.
pub fn min_offset(
    state: &Arc<BrokerState>,
    _channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let header: GetMinOffsetRequestHeader = header(request)?;
    let offset = state.store.min_offset(&header.topic, header.queue_id);
    Ok(RemotingCommand::success(request).with_header(&GetMinOffsetResponseHeader { offset }))
}

/// GET_EARLIEST_MSG_STORETIME: when the queue's oldest message was stored (-1 when it
/// has none, as Java answers).
pub async fn earliest_msg_store_time(
    state: Arc<BrokerState>,
    _channel: Channel,
    request: RemotingCommand,
) -> Reply {
    let header: GetEarliestMsgStoretimeRequestHeader = header(&request)?;
    let (topic, queue_id) = (header.topic, header.queue_id);
    let timestamp = state
        .blocking(move |state| state.store.earliest_store_time(&topic, queue_id))
        .await
        .map_err(|e| task_failed(&request, &e))?
        .map_err(|e| store_error(&request, &e))?
        .unwrap_or(-1);
    Ok(RemotingCommand::success(&request)
        .with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }))
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the queue offset matching a store time.
pub async fn search_offset_by_timestamp(
    state: Arc<BrokerState>,
    _channel: Channel,
    request: RemotingCommand,
) -> Reply {
    let header: SearchOffsetRequestHeader = header(&request)?;
    let boundary = if header.is_upper_boundary() {
        Boundary::Upper
    } else {
        Boundary::Lower
    };
    let (topic, queue_id, timestamp) = (header.topic, header.queue_id, header.timestamp);
    let offset = state
        .blocking(move |state| {
            state
                .store
                .offset_by_time(&topic, queue_id, timestamp, boundary)
        })
        .await
        .map_err(|e| task_failed(&request, &e))?
        .map_err(|e| store_error(&request, &e))?;
    Ok(RemotingCommand::success(&request).with_header(&SearchOffsetResponseHeader { offset }))
}
