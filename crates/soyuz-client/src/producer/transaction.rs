//! [`TransactionProducer`] (`TransactionMQProducer`): half messages, the local
//! transaction, END_TRANSACTION, and answering the broker's CHECK_TRANSACTION_STATE.

use std::sync::Arc;

use soyuz_model::msg_id::decode_offset_msg_id;
use soyuz_model::properties::keys;
use soyuz_model::sys_flag;
use soyuz_remoting::headers::producer::{
    CheckTransactionStateRequestHeader, EndTransactionRequestHeader,
};
use soyuz_remoting::{request_code, RemotingCommand};

use super::{Producer, ProducerOptions, SendResult, SendStatus};
use crate::error::{ClientError, Result};
use crate::message::{Message, MessageExt};

/// The outcome of a local transaction (`LocalTransactionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTransactionState {
    /// Deliver the half message to consumers (`COMMIT_MESSAGE`).
    Commit,
    /// Discard it (`ROLLBACK_MESSAGE`).
    Rollback,
    /// Not known yet: the broker asks the group's checker later (`UNKNOW`).
    Unknown,
}

impl LocalTransactionState {
    /// END_TRANSACTION's `commitOrRollback`: 8 commit, 12 rollback, 0 unknown.
    pub fn commit_or_rollback(self) -> i32 {
        match self {
            LocalTransactionState::Commit => sys_flag::TRANSACTION_COMMIT_TYPE,
            LocalTransactionState::Rollback => sys_flag::TRANSACTION_ROLLBACK_TYPE,
            LocalTransactionState::Unknown => sys_flag::TRANSACTION_NOT_TYPE,
        }
    }
}

/// Answers the broker's question about a transaction left unknown
/// (`TransactionListener.checkLocalTransaction`); called on a blocking thread. Closures
/// `Fn(&MessageExt) -> LocalTransactionState` are checkers.
pub trait TransactionChecker: Send + Sync + 'static {
    /// The state of the local transaction of this half message.
    fn check(&self, message: &MessageExt) -> LocalTransactionState;
}

impl<F> TransactionChecker for F
where
    F: Fn(&MessageExt) -> LocalTransactionState + Send + Sync + 'static,
{
    fn check(&self, message: &MessageExt) -> LocalTransactionState {
        self(message)
    }
}

/// What [`TransactionProducer::send_in_transaction`] returns (`TransactionSendResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    /// How the half message was stored.
    pub send_result: SendResult,
    /// What the local transaction said (rollback when the half message was not stored
    /// cleanly).
    pub local_state: LocalTransactionState,
}

/// A producer of transactional messages: each message is first stored as a half message
/// consumers cannot see, then the local transaction runs, then the broker is told to
/// commit or roll it back. When the answer is unknown (or lost), the broker later sends
/// CHECK_TRANSACTION_STATE and the producer's checker decides.
///
/// ```no_run
/// use soyuz_client::{LocalTransactionState, Message, MessageExt, ProducerOptions, TransactionProducer};
///
/// # async fn demo() -> Result<(), soyuz_client::ClientError> {
/// let producer = TransactionProducer::start(
///     ProducerOptions::new("127.0.0.1:9876", "payments-producer"),
///     // Asked by the broker about transactions left unknown.
///     |half: &MessageExt| {
///         if half.keys().contains(&"paid-42") { LocalTransactionState::Commit } else { LocalTransactionState::Rollback }
///     },
/// )
/// .await?;
/// let result = producer
///     .send_in_transaction(Message::new("Payments", "42 paid").with_keys(["paid-42"]), |_m: &Message| {
///         // ... write to the database ...
///         LocalTransactionState::Commit
///     })
///     .await?;
/// println!("{:?}", result.local_state);
/// producer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TransactionProducer {
    producer: Producer,
}

impl TransactionProducer {
    /// Starts the producer and registers `checker` for its group with the client
    /// instance, which answers CHECK_TRANSACTION_STATE with it.
    pub async fn start(options: ProducerOptions, checker: impl TransactionChecker) -> Result<Self> {
        let producer = Producer::start(options).await?;
        producer
            .inner
            .instance
            .register_transaction_checker(&producer.inner.options.group, Arc::new(checker));
        Ok(Self { producer })
    }

    /// The plain producer underneath, for ordinary sends.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `message` as a half message, runs `executor` (on the calling task, so it
    /// should not block long) if it was stored, then ends the transaction with the
    /// executor's answer (END_TRANSACTION, oneway) (`sendMessageInTransaction`).
    pub async fn send_in_transaction<E>(
        &self,
        mut message: Message,
        executor: E,
    ) -> Result<TransactionSendResult>
    where
        E: FnOnce(&Message) -> LocalTransactionState,
    {
        let group = self.producer.inner.options.group.clone();
        mark_half(&mut message, &group);
        let send_result = self.producer.send(message.clone()).await?;
        let local_state = match send_result.status {
            SendStatus::SendOk => {
                if let Some(id) = &send_result.transaction_id {
                    message
                        .properties
                        .insert("__transactionId__".to_owned(), id.clone());
                }
                executor(&message)
            }
            _ => LocalTransactionState::Rollback,
        };
        let header = end_transaction_header(&group, &send_result, local_state)?;
        let instance = &self.producer.inner.instance;
        let addr = instance.master_addr_for(&send_result.message_queue).await?;
        let request = RemotingCommand::request_with_header(request_code::END_TRANSACTION, &header);
        if let Err(e) = instance.remoting().invoke_oneway(&addr, request).await {
            // Java logs and carries on: the broker's check resolves the transaction.
            tracing::warn!(broker = %addr, error = %e, "END_TRANSACTION failed; the broker will check");
        }
        Ok(TransactionSendResult {
            send_result,
            local_state,
        })
    }

    /// Stops the producer and unregisters its checker.
    pub async fn shutdown(&self) {
        self.producer
            .inner
            .instance
            .unregister_transaction_checker(&self.producer.inner.options.group);
        self.producer.shutdown().await;
    }
}

/// Marks a message as a half message of `group` (`TRAN_MSG=true`, `PGROUP`); a
/// transactional message cannot be delayed.
fn mark_half(message: &mut Message, group: &str) {
    message.properties.remove(keys::DELAY_TIME_LEVEL);
    message
        .properties
        .insert(keys::TRANSACTION_PREPARED.to_owned(), "true".to_owned());
    message
        .properties
        .insert(keys::PRODUCER_GROUP.to_owned(), group.to_owned());
}

/// END_TRANSACTION after a send (`DefaultMQProducerImpl.endTransaction`).
fn end_transaction_header(
    group: &str,
    send_result: &SendResult,
    state: LocalTransactionState,
) -> Result<EndTransactionRequestHeader> {
    let id = if send_result.offset_msg_id.is_empty() {
        &send_result.msg_id
    } else {
        &send_result.offset_msg_id
    };
    let offset = decode_offset_msg_id(id)
        .map_err(|e| ClientError::InvalidArgument(format!("offset message id {id}: {e}")))?;
    Ok(EndTransactionRequestHeader {
        topic: Some(send_result.message_queue.topic.clone()),
        producer_group: group.to_owned(),
        tran_state_table_offset: send_result.queue_offset,
        commit_log_offset: offset.commit_log_offset,
        commit_or_rollback: state.commit_or_rollback(),
        from_transaction_check: Some(false),
        msg_id: send_result.msg_id.clone(),
        transaction_id: Some(
            send_result
                .transaction_id
                .clone()
                .unwrap_or_else(|| send_result.msg_id.clone()),
        ),
        bname: Some(send_result.message_queue.broker_name.clone()),
    })
}

/// END_TRANSACTION answering a CHECK_TRANSACTION_STATE (`checkTransactionState`).
pub(crate) fn check_answer_header(
    check: &CheckTransactionStateRequestHeader,
    message: &MessageExt,
    state: LocalTransactionState,
) -> EndTransactionRequestHeader {
    let unique = message
        .property(keys::UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .map(str::to_owned)
        .unwrap_or_else(|| message.msg_id());
    EndTransactionRequestHeader {
        topic: check.topic.clone().or_else(|| Some(message.topic.clone())),
        producer_group: message
            .property(keys::PRODUCER_GROUP)
            .unwrap_or_default()
            .to_owned(),
        tran_state_table_offset: check.tran_state_table_offset,
        commit_log_offset: check.commit_log_offset,
        commit_or_rollback: state.commit_or_rollback(),
        from_transaction_check: Some(true),
        msg_id: unique,
        transaction_id: check.transaction_id.clone(),
        bname: check.bname.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageQueue;
    use bytes::Bytes;

    #[test]
    fn half_messages_carry_the_flags_the_broker_needs() {
        let mut message = Message::new("T", "b").with_delay_level(3);
        mark_half(&mut message, "PG");
        assert_eq!(message.property("TRAN_MSG"), Some("true"));
        assert_eq!(message.property("PGROUP"), Some("PG"));
        assert_eq!(message.delay_level(), 0);
        let settings = super::super::SendSettings {
            group: "PG".into(),
            timeout: std::time::Duration::from_secs(3),
            compress_over: crate::message::COMPRESS_OVER,
            max_message_size: crate::message::MAX_MESSAGE_SIZE,
        };
        let prepared = super::super::prepare(&mut message, &settings).expect("prepared");
        assert_eq!(prepared.sys_flag & 0x4, 0x4, "TRANSACTION_PREPARED");
    }

    #[test]
    fn end_transaction_after_a_send() {
        let store: std::net::SocketAddr = "10.0.0.7:10911".parse().expect("addr");
        let result = SendResult {
            status: SendStatus::SendOk,
            msg_id: "UNIQ1".into(),
            offset_msg_id: soyuz_model::msg_id::encode_offset_msg_id(store, 4242),
            message_queue: MessageQueue::new("T", "broker-a", 2),
            queue_offset: 17,
            transaction_id: None,
        };
        let header =
            end_transaction_header("PG", &result, LocalTransactionState::Commit).expect("header");
        assert_eq!(header.producer_group, "PG");
        assert_eq!(header.tran_state_table_offset, 17);
        assert_eq!(header.commit_log_offset, 4242);
        assert_eq!(header.commit_or_rollback, 8);
        assert_eq!(header.from_transaction_check, Some(false));
        assert_eq!(header.msg_id, "UNIQ1");
        assert_eq!(header.transaction_id.as_deref(), Some("UNIQ1"));
        assert_eq!(header.bname.as_deref(), Some("broker-a"));
        assert_eq!(header.topic.as_deref(), Some("T"));

        let rollback =
            end_transaction_header("PG", &result, LocalTransactionState::Rollback).expect("header");
        assert_eq!(rollback.commit_or_rollback, 12);
        let unknown = end_transaction_header(
            "PG",
            &SendResult {
                transaction_id: Some("TX".into()),
                ..result.clone()
            },
            LocalTransactionState::Unknown,
        )
        .expect("header");
        assert_eq!(unknown.commit_or_rollback, 0);
        assert_eq!(unknown.transaction_id.as_deref(), Some("TX"));

        // On the wire: the Java field names.
        let command = RemotingCommand::request_with_header(request_code::END_TRANSACTION, &header);
        assert_eq!(command.code, 37);
        assert_eq!(command.ext("commitOrRollback"), Some("8"));
        assert_eq!(command.ext("tranStateTableOffset"), Some("17"));
        assert_eq!(command.ext("commitLogOffset"), Some("4242"));
        assert_eq!(command.ext("fromTransactionCheck"), Some("false"));

        let bad = SendResult {
            offset_msg_id: "nothex".into(),
            ..result
        };
        assert!(end_transaction_header("PG", &bad, LocalTransactionState::Commit).is_err());
    }

    #[test]
    fn a_check_is_answered_from_the_stored_message() {
        let addr = "127.0.0.1:10911".parse().expect("addr");
        let mut properties = std::collections::BTreeMap::new();
        properties.insert("UNIQ_KEY".to_owned(), "U9".to_owned());
        properties.insert("PGROUP".to_owned(), "PG".to_owned());
        let half = MessageExt {
            topic: "T".into(),
            flag: 0,
            body: Bytes::from_static(b"x"),
            properties,
            broker_name: "broker-a".into(),
            queue_id: 0,
            queue_offset: 5,
            commit_log_offset: 900,
            store_size: 0,
            sys_flag: 4,
            born_timestamp: 0,
            born_host: addr,
            store_timestamp: 0,
            store_host: addr,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body_crc: 0,
        };
        let check = CheckTransactionStateRequestHeader {
            topic: Some("T".into()),
            tran_state_table_offset: 5,
            commit_log_offset: 900,
            msg_id: Some("U9".into()),
            transaction_id: Some("U9".into()),
            offset_msg_id: None,
            bname: Some("broker-a".into()),
        };
        let header = check_answer_header(&check, &half, LocalTransactionState::Rollback);
        assert_eq!(header.producer_group, "PG");
        assert_eq!(header.from_transaction_check, Some(true));
        assert_eq!(header.commit_or_rollback, 12);
        assert_eq!(header.msg_id, "U9");
        assert_eq!(header.transaction_id.as_deref(), Some("U9"));
        assert_eq!(
            (header.tran_state_table_offset, header.commit_log_offset),
            (5, 900)
        );
        assert_eq!(header.bname.as_deref(), Some("broker-a"));
    }
}
