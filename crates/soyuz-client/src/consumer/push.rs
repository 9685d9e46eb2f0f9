//! [`PushConsumer`] (`DefaultMQPushConsumer`): subscriptions, start and shutdown, and the
//! state its rebalance, pull loops and consume tasks share.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;
use parking_lot::Mutex;
use soyuz_model::names;
use soyuz_remoting::body::{consume_type, ConsumerData, SubscriptionData};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::allocate::{AllocateAveragely, AllocateStrategy};
use super::offset_store::OffsetStore;
use super::orderly::OrderlyListener;
use super::process_queue::ProcessQueue;
use super::{ConsumeFromWhere, MessageListener, MessageModel};
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::{ClientInstance, ConsumerInner};
use crate::message::MessageQueue;

/// Push consumer settings (`DefaultMQPushConsumer`'s fields), Java's defaults.
#[derive(Clone)]
pub struct PushConsumerOptions {
    /// The client settings (NameServers, instance name, intervals).
    pub client: ClientConfig,
    /// Consumer group (`consumerGroup`).
    pub group: String,
    /// Clustering or broadcasting (`messageModel`).
    pub message_model: MessageModel,
    /// Where a group with no offset starts (`consumeFromWhere`).
    pub consume_from_where: ConsumeFromWhere,
    /// How queues are shared among the group (`allocateMessageQueueStrategy`).
    pub allocate_strategy: Arc<dyn AllocateStrategy>,
    /// Listener calls running at once (`consumeThreadMax`, 20).
    pub consume_thread_max: usize,
    /// Messages per listener call (`consumeMessageBatchMaxSize`, 1).
    pub consume_message_batch_max_size: usize,
    /// Messages per pull (`pullBatchSize`, 32).
    pub pull_batch_size: i32,
    /// A queue stops pulling while it holds this many messages (`pullThresholdForQueue`).
    pub pull_threshold_for_queue: usize,
    /// ... or this many body bytes (`pullThresholdSizeForQueue`, 100 MiB).
    pub pull_threshold_size_for_queue: usize,
    /// Retries before a message goes to the DLQ (`maxReconsumeTimes`, 16).
    pub max_reconsume_times: i32,
    /// How long the broker may hold a pull that found nothing (`brokerSuspendMaxTimeMillis`).
    pub broker_suspend_max_time: Duration,
    /// Timeout of such a held pull (`consumerTimeoutMillisWhenSuspend`, 30 s).
    pub consumer_timeout_when_suspend: Duration,
    /// Wait before pulling again after an error (`pullTimeDelayMillsWhenException`, 3 s).
    pub pull_delay_when_exception: Duration,
    /// Wait before consuming again messages that could not be sent back to the broker
    /// (Java's `submitConsumeRequestLater`, 5 s).
    pub local_retry_delay: Duration,
    /// Where broadcasting consumers keep offsets (`rocketmq.client.localOffsetStoreDir`,
    /// `~/.rocketmq_offsets`).
    pub offset_store_dir: PathBuf,
    /// How long shutdown waits for running listener calls before writing offsets.
    pub await_termination: Duration,
    /// Orderly: the pause before a suspended batch is consumed again
    /// (`suspendCurrentQueueTimeMillis`, 1 s).
    pub suspend_current_queue_time: Duration,
    /// Orderly: how often the broker locks of the assigned queues are renewed
    /// (`rocketmq.client.rebalance.lockInterval`, 20 s; brokers keep a lock 60 s).
    pub lock_interval: Duration,
}

impl std::fmt::Debug for PushConsumerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumerOptions")
            .field("group", &self.group)
            .field("message_model", &self.message_model)
            .field("consume_from_where", &self.consume_from_where)
            .field("allocate_strategy", &self.allocate_strategy.name())
            .finish_non_exhaustive()
    }
}

impl PushConsumerOptions {
    /// Defaults for `group` talking to `namesrv_addr`.
    pub fn new(namesrv_addr: impl Into<String>, group: impl Into<String>) -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        Self {
            client: ClientConfig::new(namesrv_addr),
            group: group.into(),
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::LastOffset,
            allocate_strategy: Arc::new(AllocateAveragely),
            consume_thread_max: 20,
            consume_message_batch_max_size: 1,
            pull_batch_size: 32,
            pull_threshold_for_queue: 1000,
            pull_threshold_size_for_queue: 100 * 1024 * 1024,
            max_reconsume_times: 16,
            broker_suspend_max_time: Duration::from_secs(15),
            consumer_timeout_when_suspend: Duration::from_secs(30),
            pull_delay_when_exception: Duration::from_secs(3),
            local_retry_delay: Duration::from_secs(5),
            offset_store_dir: home.join(".rocketmq_offsets"),
            await_termination: Duration::from_secs(5),
            suspend_current_queue_time: Duration::from_secs(1),
            lock_interval: Duration::from_secs(20),
        }
    }
}

/// A consumer that pulls for you: it shares the topic's queues with the rest of its
/// group, long-polls each of its queues, calls the listener concurrently and commits the
/// offsets.
///
/// Failed messages ([`ConsumeResult::ReconsumeLater`](super::ConsumeResult)) are sent
/// back to the broker (CONSUMER_SEND_MSG_BACK); if that fails they are re-sent to the
/// group's retry topic; if that fails too they are consumed again locally after
/// `local_retry_delay`, holding the queue's offset back until they succeed.
///
/// ```no_run
/// use soyuz_client::{ConsumeResult, MessageExt, PushConsumer, PushConsumerOptions};
///
/// # async fn demo() -> Result<(), soyuz_client::ClientError> {
/// let consumer = PushConsumer::new(
///     PushConsumerOptions::new("127.0.0.1:9876", "orders-consumer"),
///     |messages: &[MessageExt]| {
///         for m in messages {
///             println!("{} {:?}", m.msg_id(), m.body);
///         }
///         ConsumeResult::Success
///     },
/// );
/// consumer.subscribe("Orders", "created || paid")?;
/// consumer.start().await?;
/// // ... later
/// consumer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PushConsumer {
    inner: Arc<PushInner>,
}

impl std::fmt::Debug for PushConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConsumer")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// One assigned queue: its messages and the token that stops its pull loop.
pub(super) struct Assigned {
    pub pq: Arc<ProcessQueue>,
    pub stop: CancellationToken,
}

pub(super) struct PushInner {
    pub options: PushConsumerOptions,
    /// The concurrent listener (`None` for an orderly consumer).
    pub listener: Option<Arc<dyn MessageListener>>,
    /// The orderly listener (`None` for a concurrent consumer).
    pub orderly: Option<Arc<dyn OrderlyListener>>,
    pub subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
    pub instance: OnceLock<Arc<ClientInstance>>,
    pub offsets: OnceLock<OffsetStore>,
    pub table: Mutex<HashMap<MessageQueue, Assigned>>,
    pub running: AtomicBool,
    pub stopping: AtomicBool,
    pub started: AtomicBool,
    pub consume_permits: Arc<Semaphore>,
    pub stop: CancellationToken,
    pub rebalance_lock: tokio::sync::Mutex<()>,
}

impl PushConsumer {
    /// A consumer that is not started yet.
    pub fn new(options: PushConsumerOptions, listener: impl MessageListener) -> Self {
        Self::build(options, Some(Arc::new(listener)), None)
    }

    /// An orderly consumer that is not started yet (`MessageListenerOrderly`): in
    /// clustering mode it locks each queue on its broker before pulling it (LOCK_BATCH_MQ,
    /// renewed every `lock_interval`, released with UNLOCK_BATCH_MQ when the queue is
    /// dropped or the consumer shuts down), and consumes each queue one batch at a time
    /// in queue order.
    ///
    /// [`OrderlyResult::SuspendCurrentQueueAMoment`] delivers the same batch again after
    /// `suspend_current_queue_time`, consuming nothing after it meanwhile; a message
    /// suspended `max_reconsume_times` times (-1: no limit) goes to the group's DLQ
    /// (CONSUMER_SEND_MSG_BACK) and the queue moves on.
    ///
    /// ```no_run
    /// use soyuz_client::{MessageExt, OrderlyResult, PushConsumer, PushConsumerOptions};
    ///
    /// # async fn demo() -> Result<(), soyuz_client::ClientError> {
    /// let consumer = PushConsumer::new_orderly(
    ///     PushConsumerOptions::new("127.0.0.1:9876", "order-steps"),
    ///     |messages: &[MessageExt]| {
    ///         for m in messages {
    ///             if m.body.is_empty() {
    ///                 // Not ready: the same message comes again in a moment.
    ///                 return OrderlyResult::SuspendCurrentQueueAMoment;
    ///             }
    ///             println!("queue {} offset {}", m.queue_id, m.queue_offset);
    ///         }
    ///         OrderlyResult::Success
    ///     },
    /// );
    /// consumer.subscribe("OrderSteps", "*")?;
    /// consumer.start().await?;
    /// // ... later: in-flight batches end, offsets are written, queues are unlocked.
    /// consumer.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn new_orderly(options: PushConsumerOptions, listener: impl OrderlyListener) -> Self {
        Self::build(options, None, Some(Arc::new(listener)))
    }

    fn build(
        options: PushConsumerOptions,
        listener: Option<Arc<dyn MessageListener>>,
        orderly: Option<Arc<dyn OrderlyListener>>,
    ) -> Self {
        let permits = options.consume_thread_max.max(1);
        Self {
            inner: Arc::new(PushInner {
                options,
                listener,
                orderly,
                subscriptions: Mutex::default(),
                instance: OnceLock::new(),
                offsets: OnceLock::new(),
                table: Mutex::default(),
                running: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                started: AtomicBool::new(false),
                consume_permits: Arc::new(Semaphore::new(permits)),
                stop: CancellationToken::new(),
                rebalance_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Subscribes to `topic` with a tag expression: `*` for everything, or
    /// `TagA || TagB`. Call before [`start`](Self::start).
    pub fn subscribe(&self, topic: &str, expression: &str) -> Result<()> {
        names::validate_topic(topic).map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        let data = SubscriptionData::tag(topic, expression, crate::util::now_millis());
        self.inner
            .subscriptions
            .lock()
            .insert(topic.to_owned(), data);
        Ok(())
    }

    /// Starts consuming (`DefaultMQPushConsumerImpl.start`): joins the client instance,
    /// fetches routes, sends heartbeats, then rebalances at once. A consumer starts once.
    pub async fn start(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.started.swap(true, Ordering::AcqRel) {
            return Err(ClientError::InvalidArgument(
                "the consumer was started before; create a new one".into(),
            ));
        }
        let options = &inner.options;
        names::validate_group(&options.group)
            .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        if inner.subscriptions.lock().is_empty() {
            return Err(ClientError::InvalidArgument(
                "no subscription: call subscribe first".into(),
            ));
        }
        if options.message_model == MessageModel::Clustering {
            let retry = names::retry_topic(&options.group);
            let data = SubscriptionData::tag(&retry, "*", crate::util::now_millis());
            inner.subscriptions.lock().insert(retry, data);
        }
        let instance = ClientInstance::acquire(&options.client)?;
        let offsets = match options.message_model {
            MessageModel::Clustering => OffsetStore::remote(instance.clone(), &options.group),
            MessageModel::Broadcasting => {
                match OffsetStore::local(
                    &options.offset_store_dir,
                    instance.client_id(),
                    &options.group,
                ) {
                    Ok(store) => store,
                    Err(e) => {
                        instance.release();
                        return Err(e);
                    }
                }
            }
        };
        let _ = inner.offsets.set(offsets);
        let _ = inner.instance.set(instance.clone());
        if let Err(e) = instance.register_consumer(inner.clone()) {
            instance.release();
            return Err(e);
        }
        inner.running.store(true, Ordering::Release);
        for topic in inner.topics() {
            if let Err(e) = instance.update_route(&topic).await {
                tracing::warn!(%topic, error = %e, "cannot fetch the route");
            }
        }
        instance.send_heartbeat_to_all().await;
        inner.clone().do_rebalance().await;
        if inner.needs_locks() {
            // `lockAll` every lockInterval.
            let weak = Arc::downgrade(inner);
            let stop = inner.stop.clone();
            let period = options.lock_interval;
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(period) => {}
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    inner.lock_all().await;
                }
            });
        }
        Ok(())
    }

    /// Stops consuming: pull loops end, running listener calls may finish (up to
    /// `await_termination`), offsets are written, and the client leaves the group.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        if !inner.running.swap(false, Ordering::AcqRel) {
            return;
        }
        inner.stopping.store(true, Ordering::Release);
        inner.stop.cancel();
        let all = u32::try_from(inner.options.consume_thread_max.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(
            inner.options.await_termination,
            inner.consume_permits.acquire_many(all),
        )
        .await;
        inner.consume_permits.close();
        inner.persist().await;
        let Some(instance) = inner.instance.get() else {
            return;
        };
        if inner.needs_locks() {
            let queues: Vec<MessageQueue> = inner.table.lock().keys().cloned().collect();
            inner.unlock_queues(queues).await;
        }
        instance.unregister_consumer(&inner.options.group);
        instance
            .unregister_client(None, Some(&inner.options.group))
            .await;
        for (_, assigned) in inner.table.lock().drain() {
            assigned.pq.set_dropped();
        }
        instance.release();
    }

    /// The queues this consumer holds now.
    pub fn assigned_queues(&self) -> BTreeSet<MessageQueue> {
        self.inner.table.lock().keys().cloned().collect()
    }

    /// The client id it reports to brokers (empty before start).
    pub fn client_id(&self) -> String {
        self.inner
            .instance
            .get()
            .map(|i| i.client_id().to_owned())
            .unwrap_or_default()
    }

    /// The in-memory offsets: for each queue, the next offset to consume.
    pub fn consumed_offsets(&self) -> HashMap<MessageQueue, i64> {
        self.inner
            .offsets
            .get()
            .map(OffsetStore::snapshot)
            .unwrap_or_default()
    }

    /// The settings.
    pub fn options(&self) -> &PushConsumerOptions {
        &self.inner.options
    }
}

impl PushInner {
    pub fn instance(&self) -> &Arc<ClientInstance> {
        self.instance
            .get()
            .expect("set at start, before any task runs")
    }

    pub fn offsets(&self) -> &OffsetStore {
        self.offsets
            .get()
            .expect("set at start, before any task runs")
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Writes the offsets of every assigned queue (`persistConsumerOffset`).
    pub async fn persist(&self) {
        let Some(offsets) = self.offsets.get() else {
            return;
        };
        let queues: BTreeSet<MessageQueue> = self.table.lock().keys().cloned().collect();
        offsets.persist_all(&queues).await;
    }
}

impl ConsumerInner for PushInner {
    fn group(&self) -> &str {
        &self.options.group
    }

    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            group_name: self.options.group.clone(),
            consume_type: consume_type::CONSUME_PASSIVELY.to_owned(),
            message_model: self.options.message_model.as_str().to_owned(),
            consume_from_where: self.options.consume_from_where.as_str().to_owned(),
            subscription_data_set: self.subscriptions.lock().values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn topics(&self) -> Vec<String> {
        self.subscriptions.lock().keys().cloned().collect()
    }

    fn rebalance(self: Arc<Self>) -> BoxFuture<'static, ()> {
        async move { self.do_rebalance().await }.boxed()
    }

    fn persist_offsets(self: Arc<Self>) -> BoxFuture<'static, ()> {
        async move {
            if self.is_running() {
                self.persist().await;
            }
        }
        .boxed()
    }

    fn reset_offset(
        self: Arc<Self>,
        topic: String,
        offsets: Vec<(MessageQueue, i64)>,
    ) -> BoxFuture<'static, ()> {
        async move { self.do_reset_offset(&topic, offsets).await }.boxed()
    }
}
