//! [`Producer`]: sync, callback, oneway, batch, to-a-queue and ordered sends
//! (`DefaultMQProducer`).

mod batch;
mod selector;
mod send;
mod transaction;

use std::sync::Arc;
use std::time::Duration;

pub use batch::{encode as encode_batch, EncodedBatch};
pub use selector::{
    JavaHashCode, MessageQueueSelector, SelectMessageQueueByHash, SelectMessageQueueByRandom,
};
pub(crate) use send::{prepare, send_with_retries, Mode, SendSettings};
pub use send::{SendResult, SendStatus, RETRY_RESPONSE_CODES};
pub(crate) use transaction::check_answer_header;
pub use transaction::{
    LocalTransactionState, TransactionChecker, TransactionProducer, TransactionSendResult,
};

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::{Message, MessageQueue, COMPRESS_OVER, MAX_MESSAGE_SIZE};

/// Producer settings (`DefaultMQProducer`'s fields), Java's defaults.
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// The client settings (NameServers, instance name, intervals).
    pub client: ClientConfig,
    /// Producer group (`producerGroup`).
    pub group: String,
    /// Time allowed for one send, retries included (`sendMsgTimeout`, 3 s).
    pub send_msg_timeout: Duration,
    /// Extra attempts of a failed sync send (`retryTimesWhenSendFailed`, 2).
    pub retry_times_when_send_failed: u32,
    /// Extra attempts of a failed callback send (`retryTimesWhenSendAsyncFailed`, 2).
    pub retry_times_when_send_async_failed: u32,
    /// Bodies larger than this are zlib-compressed (`compressMsgBodyOverHowmuch`, 4 KiB).
    pub compress_msg_body_over: usize,
    /// Largest body accepted (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
}

impl ProducerOptions {
    /// Defaults for `group` talking to `namesrv_addr`.
    pub fn new(namesrv_addr: impl Into<String>, group: impl Into<String>) -> Self {
        Self {
            client: ClientConfig::new(namesrv_addr),
            group: group.into(),
            send_msg_timeout: Duration::from_secs(3),
            retry_times_when_send_failed: 2,
            retry_times_when_send_async_failed: 2,
            compress_msg_body_over: COMPRESS_OVER,
            max_message_size: MAX_MESSAGE_SIZE,
        }
    }

    fn settings(&self) -> SendSettings {
        SendSettings {
            group: self.group.clone(),
            timeout: self.send_msg_timeout,
            compress_over: self.compress_msg_body_over,
            max_message_size: self.max_message_size,
        }
    }
}

/// A running producer. Cheap to clone; clones share the connection and route cache.
///
/// ```no_run
/// use soyuz_client::{Message, Producer, ProducerOptions, SelectMessageQueueByHash};
///
/// # async fn demo() -> Result<(), soyuz_client::ClientError> {
/// let producer = Producer::start(ProducerOptions::new("127.0.0.1:9876", "orders-producer")).await?;
/// let result = producer
///     .send(Message::new("Orders", "order #1").with_tags("created").with_keys(["o-1"]))
///     .await?;
/// println!("stored as {} at offset {}", result.msg_id, result.queue_offset);
///
/// // Every event of one order goes to the same queue, in order.
/// producer
///     .send_with_selector(Message::new("Orders", "order #1 paid"), &SelectMessageQueueByHash, "o-1")
///     .await?;
/// producer.send_oneway(Message::new("Metrics", "tick")).await?;
/// producer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: ProducerOptions,
    settings: SendSettings,
    instance: Arc<ClientInstance>,
    running: std::sync::atomic::AtomicBool,
}

impl Producer {
    /// Starts a producer (`DefaultMQProducer.start`): validates the group and joins a
    /// client instance. Must be called inside a tokio runtime.
    pub async fn start(options: ProducerOptions) -> Result<Self> {
        soyuz_model::names::validate_group(&options.group)
            .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        let instance = ClientInstance::acquire(&options.client)?;
        instance.register_producer(&options.group);
        instance.send_heartbeat_to_all().await;
        Ok(Self {
            inner: Arc::new(Inner {
                settings: options.settings(),
                options,
                instance,
                running: std::sync::atomic::AtomicBool::new(true),
            }),
        })
    }

    /// The producer's settings.
    pub fn options(&self) -> &ProducerOptions {
        &self.inner.options
    }

    /// The client id it reports to brokers.
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    fn check_running(&self) -> Result<()> {
        if self
            .inner
            .running
            .load(std::sync::atomic::Ordering::Acquire)
        {
            Ok(())
        } else {
            Err(ClientError::NotRunning)
        }
    }

    /// Sends and waits for the broker, retrying on another broker up to
    /// `retry_times_when_send_failed` times for retryable failures.
    pub async fn send(&self, mut message: Message) -> Result<SendResult> {
        self.check_running()?;
        let prepared = prepare(&mut message, &self.inner.settings)?;
        let times = 1 + self.inner.options.retry_times_when_send_failed;
        self.send_prepared(&prepared, Mode::Sync, times)
            .await?
            .ok_or(ClientError::NotRunning)
    }

    /// Sends a prepared request in `mode`, making up to `times` attempts.
    async fn send_prepared(
        &self,
        prepared: &send::Prepared,
        mode: Mode,
        times: u32,
    ) -> Result<Option<SendResult>> {
        send_with_retries(
            &self.inner.instance,
            &self.inner.settings,
            prepared,
            mode,
            times,
        )
        .await
    }

    /// Sends without making the caller wait: returns at once and calls `callback` with
    /// the outcome from a task. Retries `retry_times_when_send_async_failed` times.
    pub fn send_with_callback<F>(&self, mut message: Message, callback: F)
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let producer = self.clone();
        tokio::spawn(async move {
            let outcome = async {
                producer.check_running()?;
                let prepared = prepare(&mut message, &producer.inner.settings)?;
                let times = 1 + producer.inner.options.retry_times_when_send_async_failed;
                producer
                    .send_prepared(&prepared, Mode::Sync, times)
                    .await?
                    .ok_or(ClientError::NotRunning)
            }
            .await;
            callback(outcome);
        });
    }

    /// Sends without waiting for any answer; one attempt.
    pub async fn send_oneway(&self, mut message: Message) -> Result<()> {
        self.check_running()?;
        let prepared = prepare(&mut message, &self.inner.settings)?;
        self.send_prepared(&prepared, Mode::Oneway, 1)
            .await
            .map(|_| ())
    }

    /// Sends several messages of one topic in one request (SEND_BATCH_MESSAGE); they land
    /// in one queue with consecutive offsets. Retries like [`send`](Self::send).
    pub async fn send_batch(&self, mut messages: Vec<Message>) -> Result<SendResult> {
        self.check_running()?;
        let prepared = send::prepare_batch(&mut messages, &self.inner.settings)?;
        let times = 1 + self.inner.options.retry_times_when_send_failed;
        self.send_prepared(&prepared, Mode::Sync, times)
            .await?
            .ok_or(ClientError::NotRunning)
    }

    /// Sends to one given queue; one attempt.
    pub async fn send_to_queue(
        &self,
        mut message: Message,
        queue: &MessageQueue,
    ) -> Result<SendResult> {
        self.check_running()?;
        if message.topic != queue.topic {
            return Err(ClientError::InvalidArgument(format!(
                "message's topic [{}] is not the queue's topic [{}]",
                message.topic, queue.topic
            )));
        }
        let prepared = prepare(&mut message, &self.inner.settings)?;
        send::send_kernel(
            &self.inner.instance,
            &self.inner.settings,
            &prepared,
            queue,
            Mode::Sync,
            self.inner.settings.timeout,
        )
        .await?
        .ok_or(ClientError::NotRunning)
    }

    /// Sends to the queue `selector` picks for `arg` among the topic's writable queues
    /// (ordered messages: the same key always picks the same queue); one attempt.
    pub async fn send_with_selector<A, S>(
        &self,
        message: Message,
        selector: &S,
        arg: &A,
    ) -> Result<SendResult>
    where
        A: ?Sized,
        S: MessageQueueSelector<A> + ?Sized,
    {
        self.check_running()?;
        let queues = self.fetch_publish_message_queues(&message.topic).await?;
        let queue = selector
            .select(&queues, &message, arg)
            .ok_or_else(|| ClientError::InvalidArgument("the selector picked no queue".into()))?;
        self.send_to_queue(message, &queue).await
    }

    /// The writable queues of `topic` (from the auto-create topic's route when the
    /// topic does not exist yet).
    pub async fn fetch_publish_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        self.check_running()?;
        Ok(self
            .inner
            .instance
            .publish_info(topic)
            .await?
            .queues
            .clone())
    }

    /// Stops the producer: it leaves its group on every broker and releases the client
    /// instance. Sends after this fail with [`ClientError::NotRunning`].
    pub async fn shutdown(&self) {
        if self
            .inner
            .running
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            let instance = &self.inner.instance;
            instance.unregister_producer(&self.inner.options.group);
            instance
                .unregister_client(Some(&self.inner.options.group), None)
                .await;
            instance.release();
        }
    }
}
