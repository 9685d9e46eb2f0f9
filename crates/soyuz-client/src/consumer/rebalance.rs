//! Rebalancing a push consumer (`RebalanceImpl` / `RebalancePushImpl`): which queues it
//! holds, where each new one starts, and dropping the ones it lost.

use std::collections::BTreeSet;
use std::sync::Arc;

use soyuz_model::names::RETRY_GROUP_TOPIC_PREFIX;

use super::offset_store::ReadOffsetType;
use super::process_queue::ProcessQueue;
use super::push::{Assigned, PushInner};
use super::{ConsumeFromWhere, MessageModel};
use crate::error::Result;
use crate::message::MessageQueue;

impl PushInner {
    /// One rebalance round over every subscribed topic (`doRebalance`).
    pub async fn do_rebalance(self: Arc<Self>) {
        let _serial = self.rebalance_lock.lock().await;
        if !self.is_running() {
            return;
        }
        let topics: BTreeSet<String> = self.subscriptions.lock().keys().cloned().collect();
        for topic in &topics {
            if let Err(e) = self.rebalance_topic(topic).await {
                tracing::warn!(group = %self.options.group, %topic, error = %e, "rebalance failed");
            }
        }
        // Queues of topics no longer subscribed (`truncateMessageQueueNotMyTopic`).
        let stale: Vec<MessageQueue> = self
            .table
            .lock()
            .keys()
            .filter(|mq| !topics.contains(&mq.topic))
            .cloned()
            .collect();
        for queue in stale {
            self.drop_queue(&queue).await;
        }
    }

    async fn rebalance_topic(self: &Arc<Self>, topic: &str) -> Result<()> {
        let instance = self.instance().clone();
        let mut all = instance.subscribe_queues(topic);
        if all.is_none() {
            // Not routed yet (e.g. the retry topic before the first heartbeat created it).
            instance.update_route(topic).await?;
            all = instance.subscribe_queues(topic);
        }
        let Some(all) = all else {
            tracing::debug!(group = %self.options.group, %topic, "no route yet, nothing to rebalance");
            return Ok(());
        };
        let mine: BTreeSet<MessageQueue> = match self.options.message_model {
            MessageModel::Broadcasting => all,
            MessageModel::Clustering => {
                let mut ids = instance
                    .consumer_id_list(topic, &self.options.group)
                    .await?;
                ids.sort();
                let queues: Vec<MessageQueue> = all.into_iter().collect();
                self.options
                    .allocate_strategy
                    .allocate(&self.options.group, instance.client_id(), &queues, &ids)
                    .into_iter()
                    .collect()
            }
        };
        self.update_process_queue_table(topic, &mine).await;
        Ok(())
    }

    /// Drops lost queues and starts pulling new ones (`updateProcessQueueTableInRebalance`).
    async fn update_process_queue_table(
        self: &Arc<Self>,
        topic: &str,
        mine: &BTreeSet<MessageQueue>,
    ) {
        let lost: Vec<MessageQueue> = self
            .table
            .lock()
            .keys()
            .filter(|mq| mq.topic == topic && !mine.contains(*mq))
            .cloned()
            .collect();
        for queue in lost {
            tracing::info!(group = %self.options.group, ?queue, "queue no longer ours");
            self.drop_queue(&queue).await;
        }
        let new: Vec<MessageQueue> = {
            let table = self.table.lock();
            mine.iter()
                .filter(|mq| !table.contains_key(*mq))
                .cloned()
                .collect()
        };
        for queue in new {
            // Orderly: lock first; a queue another client still holds waits for the next
            // rebalance.
            if self.needs_locks() && !self.lock_queue(&queue, None).await {
                tracing::info!(group = %self.options.group, ?queue, "queue assigned but locked by another client; retrying later");
                continue;
            }
            // `removeDirtyOffset`: a stale in-memory offset must not win over the store.
            self.offsets().remove(&queue);
            let offset = match self.compute_pull_from_where(&queue).await {
                Ok(offset) => offset,
                Err(e) => {
                    tracing::warn!(?queue, error = %e, "cannot find where to start; retrying next rebalance");
                    continue;
                }
            };
            if !self.is_running() {
                return;
            }
            let pq = Arc::new(ProcessQueue::new());
            if self.needs_locks() {
                pq.set_locked(true, crate::util::now_millis());
            }
            let stop = self.stop.child_token();
            self.table.lock().insert(
                queue.clone(),
                Assigned {
                    pq: pq.clone(),
                    stop: stop.clone(),
                },
            );
            tracing::info!(group = %self.options.group, ?queue, offset, "queue assigned");
            self.spawn_pull_loop(queue, pq, offset, stop);
        }
    }

    /// Stops a queue's pull loop and commits its offset (`removeUnnecessaryMessageQueue`).
    pub async fn drop_queue(self: &Arc<Self>, queue: &MessageQueue) {
        let removed = self.table.lock().remove(queue);
        if let Some(assigned) = removed {
            stop_assigned(&assigned);
            if self.orderly.is_some() {
                self.release_orderly_queue(queue.clone(), assigned.pq).await;
                return;
            }
            self.offsets().persist(queue).await;
            self.offsets().remove(queue);
        }
    }

    /// Where a newly assigned queue starts (`computePullFromWhereWithException`).
    async fn compute_pull_from_where(&self, queue: &MessageQueue) -> Result<i64> {
        if let Some(offset) = self
            .offsets()
            .read(queue, ReadOffsetType::Store)
            .await?
            .filter(|o| *o >= 0)
        {
            return Ok(offset);
        }
        let retry = queue.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        let instance = self.instance();
        match self.options.consume_from_where {
            ConsumeFromWhere::LastOffset if retry => Ok(0),
            ConsumeFromWhere::LastOffset => instance.max_offset(queue).await,
            ConsumeFromWhere::FirstOffset => Ok(0),
            ConsumeFromWhere::Timestamp(_) if retry => instance.max_offset(queue).await,
            ConsumeFromWhere::Timestamp(at) => instance.search_offset(queue, at).await,
        }
    }

    /// RESET_CONSUMER_CLIENT_OFFSET: drops the topic's queues, sets the new offsets, and
    /// lets a rebalance pick the queues up again from there (`resetOffset`).
    pub async fn do_reset_offset(self: &Arc<Self>, topic: &str, offsets: Vec<(MessageQueue, i64)>) {
        let _serial = self.rebalance_lock.lock().await;
        let queues: Vec<MessageQueue> = self
            .table
            .lock()
            .keys()
            .filter(|mq| mq.topic == topic)
            .cloned()
            .collect();
        for queue in &queues {
            if let Some(assigned) = self.table.lock().remove(queue) {
                stop_assigned(&assigned);
            }
        }
        for (queue, offset) in offsets {
            self.offsets().update(&queue, offset, false);
            self.offsets().persist(&queue).await;
            self.offsets().remove(&queue);
        }
        self.instance().rebalance_immediately();
    }
}

fn stop_assigned(assigned: &Assigned) {
    assigned.pq.set_dropped();
    assigned.stop.cancel();
}
