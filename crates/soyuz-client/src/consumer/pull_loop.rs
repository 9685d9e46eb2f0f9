//! One assigned queue's pull loop (`DefaultMQPushConsumerImpl.pullMessage` and its
//! `PullCallback`): long-poll the broker, hand found messages to the consume tasks,
//! follow `nextBeginOffset`, and give the queue up when its offset is illegal.

use std::sync::Arc;
use std::time::Duration;

use soyuz_remoting::headers::consumer::{pull_sys_flag, PullMessageRequestHeader};
use soyuz_remoting::request_code;
use tokio_util::sync::CancellationToken;

use super::offset_store::ReadOffsetType;
use super::process_queue::ProcessQueue;
use super::pull_result::PullStatus;
use super::push::PushInner;
use super::{process_pull_result, MessageModel};
use crate::message::MessageQueue;

/// Wait when the process queue is full (`PULL_TIME_DELAY_MILLS_WHEN_FLOW_CONTROL`).
const FLOW_CONTROL_DELAY: Duration = Duration::from_millis(50);

impl PushInner {
    pub fn spawn_pull_loop(
        self: &Arc<Self>,
        queue: MessageQueue,
        pq: Arc<ProcessQueue>,
        offset: i64,
        stop: CancellationToken,
    ) {
        let inner = self.clone();
        tokio::spawn(async move { inner.pull_loop(queue, pq, offset, stop).await });
    }

    async fn pull_loop(
        self: Arc<Self>,
        queue: MessageQueue,
        pq: Arc<ProcessQueue>,
        mut next_offset: i64,
        stop: CancellationToken,
    ) {
        let options = &self.options;
        loop {
            if stop.is_cancelled() || pq.is_dropped() {
                return;
            }
            if pq.count() > options.pull_threshold_for_queue
                || pq.bytes() > options.pull_threshold_size_for_queue
            {
                if !pause(&stop, FLOW_CONTROL_DELAY).await {
                    return;
                }
                continue;
            }
            if self.needs_locks() && !pq.is_locked(crate::util::now_millis()) {
                // Java: "the message queue not be able to consume, because it's ...
                // not locked"; the consume task or the renewal will lock it again.
                if !pause(&stop, options.pull_delay_when_exception).await {
                    return;
                }
                continue;
            }
            let Some(subscription) = self.subscriptions.lock().get(&queue.topic).cloned() else {
                if !pause(&stop, options.pull_delay_when_exception).await {
                    return;
                }
                continue;
            };
            // Piggy-back the committed offset (clustering only).
            let commit_offset = match options.message_model {
                MessageModel::Clustering => self
                    .offsets()
                    .read(&queue, ReadOffsetType::Memory)
                    .await
                    .ok()
                    .flatten()
                    .filter(|o| *o > 0),
                MessageModel::Broadcasting => None,
            };
            let header = PullMessageRequestHeader {
                consumer_group: options.group.clone(),
                topic: queue.topic.clone(),
                queue_id: queue.queue_id,
                queue_offset: next_offset,
                max_msg_nums: options.pull_batch_size,
                sys_flag: pull_sys_flag::build(commit_offset.is_some(), true, false, false, false),
                commit_offset: commit_offset.unwrap_or(0),
                suspend_timeout_millis: options.broker_suspend_max_time.as_millis() as i64,
                subscription: None,
                sub_version: subscription.sub_version,
                expression_type: Some(subscription.expression_type.clone()),
                max_msg_bytes: None,
                request_source: None,
                proxy_froward_client_id: None,
                bname: Some(queue.broker_name.clone()),
            };
            pq.touch_pull(crate::util::now_millis());
            let pulled = tokio::select! {
                _ = stop.cancelled() => return,
                pulled = self.instance().pull_message(
                    &queue,
                    request_code::PULL_MESSAGE,
                    header,
                    options.consumer_timeout_when_suspend,
                ) => pulled,
            };
            let mut result = match pulled {
                Ok(result) => result,
                Err(e) => {
                    tracing::warn!(group = %options.group, ?queue, error = %e, "pull failed");
                    if !pause(&stop, options.pull_delay_when_exception).await {
                        return;
                    }
                    continue;
                }
            };
            process_pull_result(&mut result, &queue, &subscription);
            match result.status {
                PullStatus::Found => {
                    next_offset = result.next_begin_offset;
                    if !result.messages.is_empty() && !pq.is_dropped() {
                        pq.put(&result.messages);
                        self.submit_consume(result.messages, pq.clone(), queue.clone());
                    }
                }
                PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => {
                    next_offset = result.next_begin_offset;
                    // `correctTagsOffset`: nothing held, so everything up to here is done.
                    if pq.count() == 0 && !pq.is_dropped() {
                        self.offsets().update(&queue, next_offset, true);
                    }
                }
                PullStatus::OffsetIllegal => {
                    tracing::warn!(group = %options.group, ?queue, requested = next_offset, next = result.next_begin_offset, "pull offset illegal, restarting the queue there");
                    pq.set_dropped();
                    self.offsets()
                        .update(&queue, result.next_begin_offset, false);
                    self.offsets().persist(&queue).await;
                    let same = self
                        .table
                        .lock()
                        .get(&queue)
                        .is_some_and(|a| Arc::ptr_eq(&a.pq, &pq));
                    if same {
                        self.table.lock().remove(&queue);
                    }
                    self.instance().rebalance_immediately();
                    return;
                }
            }
        }
    }
}

/// Sleeps unless stopped first; false when stopped.
async fn pause(stop: &CancellationToken, delay: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}
