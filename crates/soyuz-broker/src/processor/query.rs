//! VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12) (`QueryMessageProcessor`): a message
//! by the CommitLog offset inside its offset message id, and messages by key or unique
//! key through the index.

use std::sync::Arc;

use bytes::BytesMut;
use soyuz_remoting::headers::consumer::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_transport::Channel;

use super::{header, store_error, task_failed, Reply};
use crate::state::BrokerState;

/// Most messages one unique-key query returns (`defaultQueryMaxNum`).
const UNIQUE_KEY_QUERY_MAX: usize = 32;
/// Most messages any query returns (`maxMsgsNumBatch`).
const QUERY_MAX: usize = 64;

/// VIEW_MESSAGE_BY_ID: the raw record at a CommitLog offset.
pub async fn view_message_by_id(
    state: Arc<BrokerState>,
    _channel: Channel,
    request: RemotingCommand,
) -> Reply {
    let header: ViewMessageRequestHeader = header(&request)?;
    let offset = header.offset;
    let found = match u64::try_from(offset) {
        Ok(offset) => state
            .blocking(move |state| state.store.message_at(offset))
            .await
            .map_err(|e| task_failed(&request, &e))?
            .map_err(|e| store_error(&request, &e))?,
        Err(_) => None,
    };
    match found {
        Some(record) => Ok(RemotingCommand::success(&request).with_body(record)),
        None => Err(RemotingCommand::error(
            &request,
            response_code::SYSTEM_ERROR,
            format!("can not find message by the offset, {offset}"),
        )),
    }
}

/// QUERY_MESSAGE: messages of a topic indexed under a key within a time window.
pub async fn query_message(
    state: Arc<BrokerState>,
    _channel: Channel,
    request: RemotingCommand,
) -> Reply {
    let header: QueryMessageRequestHeader = header(&request)?;
    let max = if header.unique_key_query == Some(true) {
        UNIQUE_KEY_QUERY_MAX
    } else {
        usize::try_from(header.max_num)
            .unwrap_or(0)
            .clamp(1, QUERY_MAX)
    };
    let QueryMessageRequestHeader {
        topic,
        key,
        begin_timestamp,
        end_timestamp,
        ..
    } = header;
    let result = state
        .blocking(move |state| {
            state
                .store
                .query_by_key(&topic, &key, max, begin_timestamp, end_timestamp)
        })
        .await
        .map_err(|e| task_failed(&request, &e))?
        .map_err(|e| store_error(&request, &e))?;
    if result.messages.is_empty() {
        return Err(RemotingCommand::error(
            &request,
            response_code::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    let mut body = BytesMut::new();
    for message in &result.messages {
        body.extend_from_slice(message);
    }
    Ok(RemotingCommand::success(&request)
        .with_header(&QueryMessageResponseHeader {
            index_last_update_timestamp: result.index_last_update_timestamp,
            index_last_update_phyoffset: result.index_last_update_phyoffset,
        })
        .with_body(body.freeze()))
}
