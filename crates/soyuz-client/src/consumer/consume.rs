//! Running the listener (`ConsumeMessageConcurrentlyService`): messages in batches on
//! blocking threads, at most `consume_thread_max` at once; results move the offset, and
//! failures go back to the broker, to the retry topic, or round again locally.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use soyuz_model::names;

use super::process_queue::ProcessQueue;
use super::push::PushInner;
use super::{ConsumeContext, ConsumeResult, MessageModel};
use crate::message::{property, Message, MessageExt, MessageQueue};
use crate::producer::{prepare, send_with_retries, Mode, SendSettings};

/// The producer group of the client's own sends (`MixAll.CLIENT_INNER_PRODUCER_GROUP`).
const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

impl PushInner {
    /// Splits pulled messages into listener calls (`submitConsumeRequest`).
    pub fn submit_consume(
        self: &Arc<Self>,
        messages: Vec<MessageExt>,
        pq: Arc<ProcessQueue>,
        queue: MessageQueue,
    ) {
        if self.orderly.is_some() {
            // The queue's own task takes the messages from the process queue in order.
            self.submit_orderly(pq, queue);
            return;
        }
        let size = self.options.consume_message_batch_max_size.max(1);
        for chunk in messages.chunks(size) {
            let inner = self.clone();
            let (chunk, pq, queue) = (chunk.to_vec(), pq.clone(), queue.clone());
            tokio::spawn(async move { inner.consume_request(chunk, pq, queue).await });
        }
    }

    async fn consume_request(
        self: Arc<Self>,
        messages: Vec<MessageExt>,
        pq: Arc<ProcessQueue>,
        queue: MessageQueue,
    ) {
        let Ok(_permit) = self.consume_permits.clone().acquire_owned().await else {
            return;
        };
        if pq.is_dropped() || self.stopping.load(Ordering::Acquire) {
            return;
        }
        let Some(listener) = self.listener.clone() else {
            return;
        };
        let delivered = self.prepare_delivery(&messages);
        let context_queue = queue.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut context = ConsumeContext {
                queue: context_queue,
                delay_level_when_next_consume: 0,
            };
            let result = listener.consume(&delivered, &mut context);
            (result, context.delay_level_when_next_consume, delivered)
        })
        .await;
        let (result, delay_level, delivered) = match outcome {
            Ok(done) => done,
            Err(e) => {
                tracing::warn!(group = %self.options.group, ?queue, error = %e, "listener panicked; reconsuming later");
                let mut delivered = messages.clone();
                for (d, m) in delivered.iter_mut().zip(&messages) {
                    d.topic.clone_from(&m.topic);
                }
                (ConsumeResult::ReconsumeLater, 0, delivered)
            }
        };
        if pq.is_dropped() {
            tracing::debug!(?queue, "queue dropped while consuming; result ignored");
            return;
        }
        self.process_consume_result(result, delay_level, messages, delivered, pq, queue)
            .await;
    }

    /// `processConsumeResult`: failed messages are sent back (clustering) or dropped
    /// (broadcasting); the rest leave the process queue and the offset moves.
    async fn process_consume_result(
        self: &Arc<Self>,
        result: ConsumeResult,
        delay_level: i32,
        messages: Vec<MessageExt>,
        delivered: Vec<MessageExt>,
        pq: Arc<ProcessQueue>,
        queue: MessageQueue,
    ) {
        let mut retry_locally = Vec::new();
        if result == ConsumeResult::ReconsumeLater {
            match self.options.message_model {
                MessageModel::Broadcasting => {
                    for message in &delivered {
                        tracing::warn!(msg_id = %message.msg_id(), "broadcasting consumption failed; the message is dropped");
                    }
                }
                MessageModel::Clustering => {
                    for (stored, shown) in messages.iter().zip(&delivered) {
                        if !self.send_message_back(shown, delay_level).await {
                            let mut again = stored.clone();
                            again.reconsume_times += 1;
                            retry_locally.push(again);
                        }
                    }
                }
            }
        }
        let done = messages
            .iter()
            .map(|m| m.queue_offset)
            .filter(|offset| !retry_locally.iter().any(|r| r.queue_offset == *offset));
        let offset = pq.remove(done);
        if offset >= 0 && !pq.is_dropped() {
            self.offsets().update(&queue, offset, true);
        }
        if !retry_locally.is_empty() {
            let inner = self.clone();
            let delay = self.options.local_retry_delay;
            let stop = self.stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = tokio::time::sleep(delay) => inner.submit_consume(retry_locally, pq, queue),
                }
            });
        }
    }

    /// Hands a failed message back for a later retry (`sendMessageBack`): first
    /// CONSUMER_SEND_MSG_BACK, else a send to `%RETRY%<group>` with the retry
    /// properties. False when both fail.
    async fn send_message_back(&self, message: &MessageExt, delay_level: i32) -> bool {
        let instance = self.instance();
        let group = &self.options.group;
        let max = self.options.max_reconsume_times;
        let back = instance
            .consumer_send_msg_back(message, group, delay_level, max)
            .await;
        let Err(error) = back else { return true };
        tracing::debug!(msg_id = %message.msg_id(), %error, "send back failed; re-sending to the retry topic");
        let mut retry = retry_message(message, group, max);
        let settings = SendSettings {
            group: CLIENT_INNER_PRODUCER_GROUP.to_owned(),
            timeout: instance.config().request_timeout,
            compress_over: crate::message::COMPRESS_OVER,
            max_message_size: crate::message::MAX_MESSAGE_SIZE,
        };
        let sent = match prepare(&mut retry, &settings) {
            Ok(prepared) => send_with_retries(instance, &settings, &prepared, Mode::Sync, 3).await,
            Err(e) => Err(e),
        };
        match sent {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(msg_id = %message.msg_id(), error = %e, "re-sending to the retry topic failed; consuming again locally");
                false
            }
        }
    }
}

/// The message re-sent to `%RETRY%<group>` when CONSUMER_SEND_MSG_BACK fails
/// (`DefaultMQPushConsumerImpl.sendMessageBack`'s fallback): the same body, flag and
/// properties, the original topic and first message id, the retry counters, and delay
/// level `3 + reconsumeTimes`.
fn retry_message(message: &MessageExt, group: &str, max_reconsume_times: i32) -> Message {
    let mut retry = Message::new(names::retry_topic(group), message.body.clone());
    retry.properties = message.properties.clone();
    let origin = message
        .property(property::ORIGIN_MESSAGE_ID)
        .map(str::to_owned)
        .unwrap_or_else(|| message.msg_id());
    let set = |retry: &mut Message, key: &str, value: String| {
        retry.properties.insert(key.to_owned(), value);
    };
    set(&mut retry, property::ORIGIN_MESSAGE_ID, origin);
    set(&mut retry, property::RETRY_TOPIC, message.topic.clone());
    set(
        &mut retry,
        property::RECONSUME_TIME,
        (message.reconsume_times + 1).to_string(),
    );
    set(
        &mut retry,
        property::MAX_RECONSUME_TIMES,
        max_reconsume_times.to_string(),
    );
    set(
        &mut retry,
        property::DELAY_TIME_LEVEL,
        (3 + message.reconsume_times).to_string(),
    );
    for key in [
        property::TRANSACTION_PREPARED,
        property::MIN_OFFSET,
        property::MAX_OFFSET,
        property::CONSUME_START_TIME,
    ] {
        retry.properties.remove(key);
    }
    retry.flag = message.flag;
    retry
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn retry_message_carries_what_the_broker_and_next_consumer_need() {
        let addr = "127.0.0.1:10911".parse().expect("addr");
        let mut properties = std::collections::BTreeMap::new();
        for (k, v) in [
            ("UNIQ_KEY", "U1"),
            ("TAGS", "t"),
            ("color", "red"),
            ("MAX_OFFSET", "9"),
            ("TRAN_MSG", "true"),
        ] {
            properties.insert(k.to_owned(), v.to_owned());
        }
        let failed = MessageExt {
            topic: "Orders".into(),
            flag: 5,
            body: Bytes::from_static(b"b"),
            properties,
            broker_name: "b".into(),
            queue_id: 1,
            queue_offset: 7,
            commit_log_offset: 100,
            store_size: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: addr,
            store_timestamp: 0,
            store_host: addr,
            reconsume_times: 2,
            prepared_transaction_offset: 0,
            body_crc: 0,
        };
        let retry = retry_message(&failed, "G", 16);
        assert_eq!(retry.topic, "%RETRY%G");
        assert_eq!(retry.flag, 5);
        assert_eq!(retry.body, failed.body);
        for (k, v) in [
            ("RETRY_TOPIC", "Orders"),
            ("ORIGIN_MESSAGE_ID", "U1"),
            ("RECONSUME_TIME", "3"),
            ("MAX_RECONSUME_TIMES", "16"),
            ("DELAY", "5"),
            ("TAGS", "t"),
            ("color", "red"),
            ("UNIQ_KEY", "U1"),
        ] {
            assert_eq!(retry.property(k), Some(v), "{k}");
        }
        assert_eq!(retry.property("MAX_OFFSET"), None);
        assert_eq!(retry.property("TRAN_MSG"), None);

        // A message retried before keeps its first id.
        let mut again = failed.clone();
        again
            .properties
            .insert("ORIGIN_MESSAGE_ID".into(), "FIRST".into());
        assert_eq!(
            retry_message(&again, "G", 16).property("ORIGIN_MESSAGE_ID"),
            Some("FIRST")
        );
    }
}
