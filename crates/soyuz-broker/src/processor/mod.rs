//! Request processors, one file per family, and the router that maps request codes onto
//! them. Errors are answered with Java's response codes and remarks; nothing a client
//! sends can panic the broker or close other clients' connections.

use std::future::Future;
use std::sync::Arc;

use soyuz_remoting::body::encode_json;
use soyuz_remoting::{request_code, response_code, CommandHeader, RemotingCommand};
use soyuz_store::StoreError;
use soyuz_transport::{Channel, Router};

use crate::state::BrokerState;

pub mod client;
pub mod end_transaction;
pub mod filter;
pub mod lock;
pub mod offset;
pub mod pull;
pub mod query;
pub mod send;
pub mod send_back;

/// A processor's answer: the response, or an error response.
pub type Reply = Result<RemotingCommand, RemotingCommand>;

/// Decodes a request's typed header, or answers SYSTEM_ERROR with the reason, as Java
/// does when a field is missing or malformed.
pub fn header<H: CommandHeader>(request: &RemotingCommand) -> Result<H, RemotingCommand> {
    request
        .decode_header()
        .map_err(|e| RemotingCommand::error(request, response_code::SYSTEM_ERROR, e.to_string()))
}

/// A SUCCESS response with a JSON body.
pub fn json_response<T: serde::Serialize>(request: &RemotingCommand, body: &T) -> RemotingCommand {
    RemotingCommand::success(request).with_body(encode_json(body))
}

/// The answer when the store fails under a request.
pub fn store_error(request: &RemotingCommand, error: &StoreError) -> RemotingCommand {
    let code = match error {
        StoreError::MessageIllegal(_) => response_code::MESSAGE_ILLEGAL,
        StoreError::DiskFull | StoreError::ShutDown | StoreError::Poisoned(_) => {
            response_code::SERVICE_NOT_AVAILABLE
        }
        _ => response_code::SYSTEM_ERROR,
    };
    RemotingCommand::error(request, code, error.to_string())
}

/// NO_PERMISSION when the broker does not take writes (`brokerPermission` without W).
pub fn check_writeable(
    state: &BrokerState,
    request: &RemotingCommand,
) -> Result<(), RemotingCommand> {
    if soyuz_remoting::body::perm::is_writeable(state.config.broker_permission) {
        return Ok(());
    }
    Err(RemotingCommand::error(
        request,
        response_code::NO_PERMISSION,
        format!(
            "the broker[{}] sending message is forbidden",
            state.addr().ip()
        ),
    ))
}

/// The answer when a blocking task died (it panicked): SYSTEM_ERROR.
pub fn task_failed(request: &RemotingCommand, error: &tokio::task::JoinError) -> RemotingCommand {
    tracing::error!(code = request.code, %error, "store task failed");
    RemotingCommand::error(
        request,
        response_code::SYSTEM_ERROR,
        format!("internal error: {error}"),
    )
}

type SyncProcessor = fn(&Arc<BrokerState>, &Channel, &RemotingCommand) -> Reply;

fn sync_route(
    router: Router,
    state: &Arc<BrokerState>,
    code: i32,
    processor: SyncProcessor,
) -> Router {
    let state = state.clone();
    router.route_sync(code, move |channel, request| {
        Some(processor(&state, channel, request).unwrap_or_else(|error| error))
    })
}

fn async_route<F, Fut>(router: Router, state: &Arc<BrokerState>, code: i32, processor: F) -> Router
where
    F: Fn(Arc<BrokerState>, Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    let state = state.clone();
    let processor = Arc::new(processor);
    router.route_async(code, move |channel, request| {
        let state = state.clone();
        let processor = processor.clone();
        async move {
            Some(
                processor(state, channel, request)
                    .await
                    .unwrap_or_else(|e| e),
            )
        }
    })
}

/// The router serving every request code the broker answers.
pub fn router(state: &Arc<BrokerState>) -> Router {
    let mut router = Router::new();
    for code in [
        request_code::SEND_MESSAGE,
        request_code::SEND_MESSAGE_V2,
        request_code::SEND_BATCH_MESSAGE,
    ] {
        let state = state.clone();
        router = router.route_deferred(code, move |channel, request, responder| {
            send::send_message(&state, channel, request, responder);
        });
    }
    router = async_route(
        router,
        state,
        request_code::END_TRANSACTION,
        end_transaction::end_transaction,
    );
    router = async_route(
        router,
        state,
        request_code::CONSUMER_SEND_MSG_BACK,
        send_back::consumer_send_msg_back,
    );
    for code in [request_code::PULL_MESSAGE, request_code::LITE_PULL_MESSAGE] {
        router = async_route(router, state, code, pull::pull_message);
    }
    let sync: &[(i32, SyncProcessor)] = &[
        (request_code::HEART_BEAT, client::heartbeat),
        (request_code::UNREGISTER_CLIENT, client::unregister_client),
        (
            request_code::GET_CONSUMER_LIST_BY_GROUP,
            client::consumer_list_by_group,
        ),
        (
            request_code::CHECK_CLIENT_CONFIG,
            client::check_client_config,
        ),
        (
            request_code::QUERY_CONSUMER_OFFSET,
            offset::query_consumer_offset,
        ),
        (
            request_code::UPDATE_CONSUMER_OFFSET,
            offset::update_consumer_offset,
        ),
        (request_code::GET_MAX_OFFSET, offset::max_offset),
        (request_code::LOCK_BATCH_MQ, lock::lock_batch),
        (request_code::UNLOCK_BATCH_MQ, lock::unlock_batch),
        (request_code::GET_MIN_OFFSET, offset::min_offset),
    ];
    for &(code, processor) in sync {
        router = sync_route(router, state, code, processor);
    }
    router = async_route(
        router,
        state,
        request_code::GET_EARLIEST_MSG_STORETIME,
        offset::earliest_msg_store_time,
    );
    router = async_route(
        router,
        state,
        request_code::SEARCH_OFFSET_BY_TIMESTAMP,
        offset::search_offset_by_timestamp,
    );
    router = async_route(
        router,
        state,
        request_code::VIEW_MESSAGE_BY_ID,
        query::view_message_by_id,
    );
    router = async_route(
        router,
        state,
        request_code::QUERY_MESSAGE,
        query::query_message,
    );
    let closing = state.clone();
    router.on_close(move |channel| client::on_channel_closed(&closing, channel))
}
