//! END_TRANSACTION (37) and the transaction check-back loop that sends
//! CHECK_TRANSACTION_STATE (39) to producers (see [`crate::transaction`]).

use std::sync::Arc;
use std::time::Duration;

use soyuz_model::msg_id::encode_offset_msg_id;
use soyuz_model::properties::{find_property, keys};
use soyuz_model::record::{decode_record_shared, DecodedRecord, MessageRecord};
use soyuz_model::sys_flag;
use soyuz_remoting::body::perm;
use soyuz_remoting::headers::producer::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::Channel;

use super::{header, store_error, task_failed, Reply};
use crate::state::BrokerState;
use crate::transaction::{self, as_checked, op_record, to_committed, CheckAction};

/// END_TRANSACTION: commit or roll back a half message (unknown: nothing to do).
pub async fn end_transaction(
    state: Arc<BrokerState>,
    _channel: Channel,
    request: RemotingCommand,
) -> Reply {
    let header: EndTransactionRequestHeader = header(&request)?;
    let error = |code, remark: String| RemotingCommand::error(&request, code, remark);
    let commit = match header.commit_or_rollback {
        sys_flag::TRANSACTION_COMMIT_TYPE => true,
        sys_flag::TRANSACTION_ROLLBACK_TYPE => false,
        // TRANSACTION_NOT_TYPE: the producer does not know yet; the checker will ask.
        _ => return Ok(RemotingCommand::success(&request)),
    };
    let offset = u64::try_from(header.commit_log_offset).unwrap_or(u64::MAX);
    let found = state
        .blocking(move |state| state.store.message_at(offset))
        .await
        .map_err(|e| task_failed(&request, &e))?
        .map_err(|e| store_error(&request, &e))?;
    let Some(Ok(DecodedRecord::Message(half, _))) =
        found.map(|raw| decode_record_shared(&raw, false))
    else {
        return Err(error(
            response_code::SYSTEM_ERROR,
            format!(
                "Find prepared transaction message failed, offset {}",
                header.commit_log_offset
            ),
        ));
    };
    if half.topic != transaction::HALF_TOPIC {
        return Err(error(
            response_code::SYSTEM_ERROR,
            "the message at that offset is not a half message".to_owned(),
        ));
    }
    if find_property(&half.properties, keys::PRODUCER_GROUP) != Some(header.producer_group.as_str())
    {
        return Err(error(
            response_code::SYSTEM_ERROR,
            "The producer group wrong".to_owned(),
        ));
    }
    if half.queue_offset != header.tran_state_table_offset {
        return Err(error(
            response_code::SYSTEM_ERROR,
            "The transaction state table offset wrong".to_owned(),
        ));
    }
    if state.transactions.is_resolved(half.queue_offset) {
        // Already committed or rolled back (a duplicate END_TRANSACTION, or a late
        // answer to a check): nothing more to store.
        return Ok(RemotingCommand::success(&request));
    }
    let mut records: Vec<MessageRecord> = Vec::new();
    if commit {
        let Some(committed) = to_committed(&half) else {
            return Err(error(
                response_code::SYSTEM_ERROR,
                "the half message has no real topic".to_owned(),
            ));
        };
        records.push(committed);
    }
    records.push(op_record(&half, half.queue_offset));
    state
        .appender
        .put(records)
        .await
        .map_err(|e| store_error(&request, &e))?;
    state.transactions.resolved(half.queue_offset);
    tracing::debug!(
        half_offset = half.queue_offset,
        commit,
        from_check = header.from_transaction_check.unwrap_or(false),
        "transaction ended"
    );
    Ok(RemotingCommand::success(&request))
}

/// Every `transactionCheckInterval`: check unresolved half messages.
pub async fn check_transactions(state: Arc<BrokerState>) {
    let period = Duration::from_millis(state.config.transaction_check_interval.max(100));
    loop {
        tokio::time::sleep(period).await;
        let round = state
            .blocking(|state| {
                let mut actions = Vec::new();
                let result = state.transactions.check_round(
                    &*state.store,
                    &state.offsets,
                    state.clock.now_millis(),
                    state.config.transaction_time_out,
                    state.config.transaction_check_max,
                    |action| actions.push(action),
                );
                result.map(|_| actions)
            })
            .await;
        match round {
            Ok(Ok(actions)) => {
                for action in actions {
                    match action {
                        CheckAction::Ask(half) => ask_producer(&state, &half).await,
                        CheckAction::Discarded => {
                            // Operators read discarded transactions there (Java's
                            // createTopicOfTranCheckMaxTime).
                            let (_, created) = state.topics.get_or_create(
                                transaction::CHECK_MAX_TOPIC,
                                1,
                                perm::READ | perm::WRITE,
                                0,
                            );
                            if created {
                                state.topics_changed();
                            }
                        }
                    }
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "transaction check failed"),
            Err(e) => tracing::error!(error = %e, "transaction check task failed"),
        }
    }
}

/// Sends CHECK_TRANSACTION_STATE (oneway) to one live producer of the half message's
/// group, with the message as the body.
async fn ask_producer(state: &BrokerState, half: &MessageRecord) {
    let group = find_property(&half.properties, keys::PRODUCER_GROUP).unwrap_or("");
    let Some(producer) = state.producers.any_channel(group) else {
        tracing::warn!(
            group,
            half_offset = half.queue_offset,
            "no live producer of the group to check a transaction with"
        );
        return;
    };
    let uniq =
        find_property(&half.properties, keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX).map(str::to_owned);
    let shown = as_checked(half);
    let header = CheckTransactionStateRequestHeader {
        topic: Some(shown.topic.clone()),
        tran_state_table_offset: half.queue_offset,
        commit_log_offset: half.physical_offset,
        msg_id: uniq.clone(),
        transaction_id: find_property(&half.properties, transaction::TRANSACTION_ID)
            .map(str::to_owned)
            .or(uniq),
        offset_msg_id: Some(encode_offset_msg_id(half.store_host, half.physical_offset)),
        bname: Some(state.config.broker_name.clone()),
    };
    let request =
        RemotingCommand::request_with_header(request_code::CHECK_TRANSACTION_STATE, &header)
            .with_body(shown.encode());
    if let Err(e) = producer.channel.invoke_oneway(request).await {
        tracing::warn!(group, error = %e, "could not send a transaction check");
    }
}
