//! Consumers: [`PushConsumer`] (the client pulls, rebalances and calls your listener) and
//! [`PullConsumer`] (you pull queues yourself), with what they share.

mod allocate;
mod consume;
mod lite_pull;
mod offset_store;
mod orderly;
mod process_queue;
mod pull_loop;
pub(crate) mod pull_result;
mod push;
mod rebalance;

use std::collections::HashSet;

pub use allocate::{AllocateAveragely, AllocateStrategy};
pub use lite_pull::{PullConsumer, PullConsumerOptions};
pub use orderly::{OrderlyContext, OrderlyListener, OrderlyResult};
pub use process_queue::ProcessQueue;
pub use pull_result::{PullResult, PullStatus};
pub use push::{PushConsumer, PushConsumerOptions};

use soyuz_remoting::body::{consume_from_where, message_model, SubscriptionData};

use crate::message::{property, MessageExt, MessageQueue};

/// How a group shares messages (`MessageModel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageModel {
    /// Each message goes to one member of the group; offsets live on the brokers.
    #[default]
    Clustering,
    /// Each message goes to every member; offsets live in a local file.
    Broadcasting,
}

impl MessageModel {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageModel::Clustering => message_model::CLUSTERING,
            MessageModel::Broadcasting => message_model::BROADCASTING,
        }
    }
}

/// Where a group with no committed offset starts reading a queue (`ConsumeFromWhere`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConsumeFromWhere {
    /// At the end: only messages sent from now on.
    #[default]
    LastOffset,
    /// At the beginning of what the broker still has.
    FirstOffset,
    /// At the first message stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl ConsumeFromWhere {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumeFromWhere::LastOffset => consume_from_where::CONSUME_FROM_LAST_OFFSET,
            ConsumeFromWhere::FirstOffset => consume_from_where::CONSUME_FROM_FIRST_OFFSET,
            ConsumeFromWhere::Timestamp(_) => consume_from_where::CONSUME_FROM_TIMESTAMP,
        }
    }
}

/// What a listener says about the messages it was given (`ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeResult {
    /// Consumed; the offset may move past them.
    Success,
    /// Failed; deliver them again later.
    ReconsumeLater,
}

/// Per-call context of a listener (`ConsumeConcurrentlyContext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeContext {
    /// The queue the messages came from.
    pub queue: MessageQueue,
    /// Delay level of the retry after [`ConsumeResult::ReconsumeLater`]: 0 lets the
    /// broker choose (`3 + reconsumeTimes`), below 0 sends them to the DLQ at once.
    pub delay_level_when_next_consume: i32,
}

/// Consumes messages of a push consumer, called concurrently from blocking threads
/// (`MessageListenerConcurrently`). Closures `Fn(&[MessageExt]) -> ConsumeResult` are
/// listeners.
pub trait MessageListener: Send + Sync + 'static {
    /// Consumes a batch (one message unless `consume_message_batch_max_size` says more).
    fn consume(&self, messages: &[MessageExt], context: &mut ConsumeContext) -> ConsumeResult;
}

impl<F> MessageListener for F
where
    F: Fn(&[MessageExt]) -> ConsumeResult + Send + Sync + 'static,
{
    fn consume(&self, messages: &[MessageExt], _context: &mut ConsumeContext) -> ConsumeResult {
        self(messages)
    }
}

/// The client half of tag filtering (`PullAPIWrapper.processPullResult`): keeps the
/// messages whose tag the subscription names (the broker filtered by hash code only),
/// and stamps each with its queue and the queue's offsets.
pub(crate) fn process_pull_result(
    result: &mut PullResult,
    queue: &MessageQueue,
    subscription: &SubscriptionData,
) {
    if !subscription.is_all() && subscription.is_tag_type() {
        let tags: HashSet<String> = subscription.trimmed_tags().into_iter().collect();
        result
            .messages
            .retain(|m| m.tags().is_some_and(|t| tags.contains(t)));
    }
    let (min, max) = (result.min_offset.to_string(), result.max_offset.to_string());
    for message in &mut result.messages {
        message
            .properties
            .insert(property::MIN_OFFSET.to_owned(), min.clone());
        message
            .properties
            .insert(property::MAX_OFFSET.to_owned(), max.clone());
        message.broker_name = queue.broker_name.clone();
        message.queue_id = queue.queue_id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(offset: i64, tag: Option<&str>) -> MessageExt {
        let mut message = MessageExt::sample(offset);
        if let Some(tag) = tag {
            message.properties.insert("TAGS".to_owned(), tag.to_owned());
        }
        message
    }

    #[test]
    fn client_filter_keeps_exact_tags_and_stamps_offsets() {
        let mut result = PullResult {
            status: PullStatus::Found,
            next_begin_offset: 4,
            min_offset: 0,
            max_offset: 9,
            messages: vec![
                message(0, Some("A")),
                message(1, Some("B")),
                message(2, None),
                message(3, Some("C")),
            ],
        };
        let queue = MessageQueue::new("T", "broker-a", 3);
        process_pull_result(
            &mut result,
            &queue,
            &SubscriptionData::tag("T", "A || C ", 1),
        );
        let offsets: Vec<i64> = result.messages.iter().map(|m| m.queue_offset).collect();
        assert_eq!(offsets, [0, 3]);
        assert_eq!(result.messages[0].property("MAX_OFFSET"), Some("9"));
        assert_eq!(result.messages[0].property("MIN_OFFSET"), Some("0"));
        assert_eq!(result.messages[1].message_queue(), queue);

        let mut all = result.clone();
        all.messages.push(message(5, None));
        process_pull_result(&mut all, &queue, &SubscriptionData::tag("T", "*", 1));
        assert_eq!(all.messages.len(), 3);
    }
}
