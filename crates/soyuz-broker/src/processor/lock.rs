//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42) (`AdminBrokerProcessor.lockBatchMQ`,
//! `unlockBatchMQ`): queue locks for orderly consumers.

use std::sync::Arc;

use soyuz_remoting::body::{
    decode_json, LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_transport::Channel;

use super::{json_response, Reply};
use crate::state::BrokerState;

fn body<T: serde::de::DeserializeOwned>(request: &RemotingCommand) -> Result<T, RemotingCommand> {
    decode_json(&request.body).map_err(|e| {
        RemotingCommand::error(
            request,
            response_code::SYSTEM_ERROR,
            format!("bad body: {e}"),
        )
    })
}

/// LOCK_BATCH_MQ: locks what it can; the answer lists the queues the client now holds.
pub fn lock_batch(
    state: &Arc<BrokerState>,
    _channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let asked: LockBatchRequestBody = body(request)?;
    let locked = state.locks.try_lock_batch(
        &asked.consumer_group,
        &asked.mq_set,
        &asked.client_id,
        state.clock.now_millis(),
    );
    Ok(json_response(
        request,
        &LockBatchResponseBody {
            lock_ok_mq_set: locked,
        },
    ))
}

/// UNLOCK_BATCH_MQ: releases the client's locks.
pub fn unlock_batch(
    state: &Arc<BrokerState>,
    _channel: &Channel,
    request: &RemotingCommand,
) -> Reply {
    let asked: UnlockBatchRequestBody = body(request)?;
    state
        .locks
        .unlock_batch(&asked.consumer_group, &asked.mq_set, &asked.client_id);
    Ok(RemotingCommand::success(request))
}
