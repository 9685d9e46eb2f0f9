//! Orderly consumption (`ConsumeMessageOrderlyService` and `RebalanceImpl`'s lock
//! logic): each queue is locked on its broker before it is pulled, its messages are
//! consumed one batch at a time in queue order, and a suspended batch is consumed again
//! after a pause until it succeeds or runs out of attempts (then it goes to the DLQ).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use soyuz_model::names;

use super::process_queue::ProcessQueue;
use super::push::PushInner;
use super::MessageModel;
use crate::message::{property, MessageExt, MessageQueue};

/// What an orderly listener says about a batch (`ConsumeOrderlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderlyResult {
    /// Consumed; the queue moves on.
    Success,
    /// Not now: the same messages come again after the suspend time, and nothing after
    /// them is consumed meanwhile (`SUSPEND_CURRENT_QUEUE_A_MOMENT`).
    SuspendCurrentQueueAMoment,
}

/// Per-call context of an orderly listener (`ConsumeOrderlyContext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderlyContext {
    /// The queue the messages came from.
    pub queue: MessageQueue,
    /// How long to pause the queue after
    /// [`OrderlyResult::SuspendCurrentQueueAMoment`]; `None` uses the consumer's
    /// `suspend_current_queue_time`.
    pub suspend_current_queue_time: Option<Duration>,
}

/// Consumes the messages of a push consumer queue by queue, in queue order
/// (`MessageListenerOrderly`). Calls for one queue never overlap; calls for different
/// queues run concurrently on blocking threads. Closures
/// `Fn(&[MessageExt]) -> OrderlyResult` are listeners.
pub trait OrderlyListener: Send + Sync + 'static {
    /// Consumes a batch (one message unless `consume_message_batch_max_size` says more).
    fn consume(&self, messages: &[MessageExt], context: &mut OrderlyContext) -> OrderlyResult;
}

impl<F> OrderlyListener for F
where
    F: Fn(&[MessageExt]) -> OrderlyResult + Send + Sync + 'static,
{
    fn consume(&self, messages: &[MessageExt], _context: &mut OrderlyContext) -> OrderlyResult {
        self(messages)
    }
}

/// Wait before trying again a queue whose lock is missing (`tryLockLaterAndReconsume`).
const RELOCK_DELAY: Duration = Duration::from_millis(100);
/// How long dropping a queue waits for its in-flight consumption before finishing in the
/// background (Java's `consumeLock.tryLock(1000 ms)`).
const DROP_WAIT: Duration = Duration::from_secs(1);

impl PushInner {
    /// Whether queues must be locked before they are consumed (orderly and clustering).
    pub fn needs_locks(&self) -> bool {
        self.orderly.is_some() && self.options.message_model == MessageModel::Clustering
    }

    /// Locks one queue on its broker (`RebalanceImpl.lock`); marks `pq` when given.
    pub async fn lock_queue(&self, queue: &MessageQueue, pq: Option<&ProcessQueue>) -> bool {
        let instance = self.instance();
        let addr = match instance.master_addr_for(queue).await {
            Ok(addr) => addr,
            Err(e) => {
                tracing::debug!(?queue, error = %e, "no broker to lock the queue on");
                return false;
            }
        };
        let locked = match instance
            .lock_batch_mq(&addr, &self.options.group, vec![queue.clone()])
            .await
        {
            Ok(locked) => locked.contains(queue),
            Err(e) => {
                tracing::debug!(?queue, error = %e, "lock request failed");
                false
            }
        };
        if let Some(pq) = pq {
            pq.set_locked(locked, crate::util::now_millis());
        }
        locked
    }

    /// Renews the locks of every assigned queue, broker by broker (`lockAll`).
    pub async fn lock_all(&self) {
        let assigned: Vec<(MessageQueue, Arc<ProcessQueue>)> = self
            .table
            .lock()
            .iter()
            .map(|(q, a)| (q.clone(), a.pq.clone()))
            .collect();
        let mut by_broker: BTreeMap<String, Vec<(MessageQueue, Arc<ProcessQueue>)>> =
            BTreeMap::new();
        for (queue, pq) in assigned {
            by_broker
                .entry(queue.broker_name.clone())
                .or_default()
                .push((queue, pq));
        }
        let instance = self.instance();
        for (broker, queues) in by_broker {
            let Some(addr) = instance.master_addr(&broker) else {
                continue;
            };
            let request: Vec<MessageQueue> = queues.iter().map(|(q, _)| q.clone()).collect();
            match instance
                .lock_batch_mq(&addr, &self.options.group, request)
                .await
            {
                Ok(locked) => {
                    let now = crate::util::now_millis();
                    for (queue, pq) in &queues {
                        let ok = locked.contains(queue);
                        if !ok && pq.is_locked(now) {
                            tracing::warn!(?queue, "lock lost");
                        }
                        pq.set_locked(ok, now);
                    }
                }
                Err(e) => tracing::debug!(%broker, error = %e, "lock renewal failed"),
            }
        }
    }

    /// Releases queues on their brokers (`unlock` / `unlockAll`).
    pub async fn unlock_queues(&self, queues: Vec<MessageQueue>) {
        let mut by_broker: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
        for queue in queues {
            by_broker
                .entry(queue.broker_name.clone())
                .or_default()
                .push(queue);
        }
        let instance = self.instance();
        for (broker, queues) in by_broker {
            let Some(addr) = instance.master_addr(&broker) else {
                continue;
            };
            if let Err(e) = instance
                .unlock_batch_mq(&addr, &self.options.group, queues)
                .await
            {
                tracing::debug!(%broker, error = %e, "unlock failed");
            }
        }
    }

    /// Finishes dropping an orderly queue (`removeUnnecessaryMessageQueue`): once its
    /// in-flight consumption ended, writes its offset and unlocks it, unless the queue
    /// was assigned again meanwhile.
    pub async fn release_orderly_queue(
        self: &Arc<Self>,
        queue: MessageQueue,
        pq: Arc<ProcessQueue>,
    ) {
        let finish = |inner: Arc<Self>, queue: MessageQueue| async move {
            if inner.table.lock().contains_key(&queue) {
                return;
            }
            inner.offsets().persist(&queue).await;
            inner.offsets().remove(&queue);
            if inner.needs_locks() {
                inner.unlock_queues(vec![queue]).await;
            }
        };
        // The queue is dropped, so no consumption starts once the lock was free.
        let ended = tokio::time::timeout(DROP_WAIT, pq.consume_lock.lock())
            .await
            .map(drop)
            .is_ok();
        if ended {
            finish(self.clone(), queue).await;
        } else {
            let inner = self.clone();
            tokio::spawn(async move {
                drop(pq.consume_lock.lock().await);
                finish(inner, queue).await;
            });
        }
    }

    /// Starts the queue's consume task unless one runs (`submitConsumeRequest`).
    pub fn submit_orderly(self: &Arc<Self>, pq: Arc<ProcessQueue>, queue: MessageQueue) {
        if pq.try_start_consuming() {
            let inner = self.clone();
            tokio::spawn(async move { inner.consume_orderly(pq, queue).await });
        }
    }

    /// The queue's consume task (`ConsumeMessageOrderlyService.ConsumeRequest`): batch
    /// after batch in queue order until the queue is empty, dropped, or stopped.
    async fn consume_orderly(self: Arc<Self>, pq: Arc<ProcessQueue>, queue: MessageQueue) {
        let Some(listener) = self.orderly.clone() else {
            return;
        };
        let batch_size = self.options.consume_message_batch_max_size.max(1);
        loop {
            if pq.is_dropped() || self.stopping.load(Ordering::Acquire) {
                return;
            }
            if self.needs_locks()
                && !pq.is_locked(crate::util::now_millis())
                && !self.lock_queue(&queue, Some(&pq)).await
            {
                tracing::debug!(?queue, "queue not locked; consuming later");
                if !self.pause(RELOCK_DELAY).await {
                    return;
                }
                continue;
            }
            let Ok(permit) = self.consume_permits.clone().acquire_owned().await else {
                return;
            };
            let guard = pq.consume_lock.lock().await;
            if pq.is_dropped() || self.stopping.load(Ordering::Acquire) {
                return;
            }
            let messages = pq.peek_batch(batch_size);
            if messages.is_empty() {
                return;
            }
            let delivered = self.prepare_delivery(&messages);
            let listener = listener.clone();
            let context_queue = queue.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let mut context = OrderlyContext {
                    queue: context_queue,
                    suspend_current_queue_time: None,
                };
                let result = listener.consume(&delivered, &mut context);
                (result, context.suspend_current_queue_time)
            })
            .await;
            let (result, suspend_for) = outcome.unwrap_or_else(|e| {
                tracing::warn!(group = %self.options.group, ?queue, error = %e, "orderly listener panicked; suspending the queue");
                (OrderlyResult::SuspendCurrentQueueAMoment, None)
            });
            let offsets: Vec<i64> = messages.iter().map(|m| m.queue_offset).collect();
            let suspend = match result {
                OrderlyResult::Success => false,
                OrderlyResult::SuspendCurrentQueueAMoment => {
                    self.check_reconsume_times(&messages, &pq, &queue).await
                }
            };
            if !suspend {
                let offset = pq.remove(offsets);
                if offset >= 0 {
                    self.offsets().update(&queue, offset, false);
                }
            }
            drop(guard);
            drop(permit);
            if suspend {
                let delay = suspend_for.unwrap_or(self.options.suspend_current_queue_time);
                if !self.pause(delay).await {
                    return;
                }
            }
        }
    }

    /// After a suspend (`checkReconsumeTimes`): messages that used up
    /// `max_reconsume_times` go back to the broker, which sends them to the DLQ, and
    /// leave the queue; the others count one more attempt. True when some remain to be
    /// consumed again.
    async fn check_reconsume_times(
        &self,
        messages: &[MessageExt],
        pq: &ProcessQueue,
        queue: &MessageQueue,
    ) -> bool {
        let max = self.max_reconsume_times();
        let mut again = Vec::new();
        let mut gone = Vec::new();
        for message in messages {
            if message.reconsume_times >= max {
                let mut shown = message.clone();
                reset_retry_topic(&mut shown, &self.options.group);
                match self
                    .instance()
                    .consumer_send_msg_back(&shown, &self.options.group, -1, max)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(msg_id = %shown.msg_id(), ?queue, "orderly attempts used up; sent to the DLQ");
                        gone.push(message.queue_offset);
                    }
                    Err(e) => {
                        tracing::warn!(msg_id = %shown.msg_id(), error = %e, "cannot send the message back; consuming it again");
                        again.push(message.queue_offset);
                    }
                }
            } else {
                again.push(message.queue_offset);
            }
        }
        if again.is_empty() {
            return false;
        }
        if !gone.is_empty() {
            let offset = pq.remove(gone);
            if offset >= 0 {
                self.offsets().update(queue, offset, false);
            }
        }
        pq.mark_reconsumed(&again);
        true
    }

    /// `maxReconsumeTimes` of an orderly consumer; -1 means no limit.
    fn max_reconsume_times(&self) -> i32 {
        match self.options.max_reconsume_times {
            -1 => i32::MAX,
            max => max,
        }
    }

    /// Sleeps unless the consumer stops first; false when it stopped.
    async fn pause(&self, delay: Duration) -> bool {
        tokio::select! {
            _ = self.stop.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }

    /// What the listener sees: a retried message shows its original topic, and every
    /// message its consume start time.
    pub fn prepare_delivery(&self, messages: &[MessageExt]) -> Vec<MessageExt> {
        let now = crate::util::now_millis().to_string();
        let mut delivered = messages.to_vec();
        for message in &mut delivered {
            reset_retry_topic(message, &self.options.group);
            message
                .properties
                .insert(property::CONSUME_START_TIME.to_owned(), now.clone());
        }
        delivered
    }
}

/// `resetRetryAndNamespace`: a message of the group's retry topic shows its original one.
fn reset_retry_topic(message: &mut MessageExt, group: &str) {
    if message.topic == names::retry_topic(group) {
        if let Some(original) = message.property(property::RETRY_TOPIC) {
            message.topic = original.to_owned();
        }
    }
}
