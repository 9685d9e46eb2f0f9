//! [`PullConsumer`]: you choose the queues and offsets (`DefaultLitePullConsumer` in
//! assign mode / `DefaultMQPullConsumer`); pulls never wait on the broker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use soyuz_model::names;
use soyuz_remoting::body::SubscriptionData;
use soyuz_remoting::headers::consumer::{pull_sys_flag, PullMessageRequestHeader};
use soyuz_remoting::request_code;

use super::process_pull_result;
use super::pull_result::PullResult;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::instance::ClientInstance;
use crate::message::MessageQueue;

/// Pull consumer settings.
#[derive(Debug, Clone)]
pub struct PullConsumerOptions {
    /// The client settings.
    pub client: ClientConfig,
    /// Consumer group; offsets are committed under it.
    pub group: String,
    /// Timeout of one pull (`consumerPullTimeoutMillis`, 10 s).
    pub pull_timeout: Duration,
}

impl PullConsumerOptions {
    /// Defaults for `group` talking to `namesrv_addr`.
    pub fn new(namesrv_addr: impl Into<String>, group: impl Into<String>) -> Self {
        Self {
            client: ClientConfig::new(namesrv_addr),
            group: group.into(),
            pull_timeout: Duration::from_secs(10),
        }
    }
}

/// A consumer that pulls the queues and offsets you name (LITE_PULL_MESSAGE, no long
/// polling), with helpers to read and commit the group's offsets.
///
/// ```no_run
/// use soyuz_client::{PullConsumer, PullConsumerOptions, PullStatus};
///
/// # async fn demo() -> Result<(), soyuz_client::ClientError> {
/// let consumer = PullConsumer::start(PullConsumerOptions::new("127.0.0.1:9876", "audit")).await?;
/// for queue in consumer.fetch_message_queues("Orders").await? {
///     let mut offset = consumer.committed_offset(&queue).await?.unwrap_or(0);
///     loop {
///         let result = consumer.pull(&queue, offset, 32).await?;
///         if result.status != PullStatus::Found {
///             break;
///         }
///         for m in &result.messages {
///             println!("{} @{}", m.msg_id(), m.queue_offset);
///         }
///         offset = result.next_begin_offset;
///     }
///     consumer.commit_offset(&queue, offset).await?;
/// }
/// consumer.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PullConsumer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    options: PullConsumerOptions,
    instance: Arc<ClientInstance>,
    running: AtomicBool,
}

impl PullConsumer {
    /// Starts the consumer: validates the group and joins a client instance.
    pub async fn start(options: PullConsumerOptions) -> Result<Self> {
        names::validate_group(&options.group)
            .map_err(|e| ClientError::InvalidArgument(e.to_string()))?;
        let instance = ClientInstance::acquire(&options.client)?;
        Ok(Self {
            inner: Arc::new(Inner {
                options,
                instance,
                running: AtomicBool::new(true),
            }),
        })
    }

    fn instance(&self) -> Result<&Arc<ClientInstance>> {
        if self.inner.running.load(Ordering::Acquire) {
            Ok(&self.inner.instance)
        } else {
            Err(ClientError::NotRunning)
        }
    }

    /// The readable queues of `topic`, sorted, from a fresh route.
    pub async fn fetch_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let instance = self.instance()?;
        if !instance.update_route(topic).await? {
            return Err(ClientError::NoRoute(topic.to_owned()));
        }
        Ok(instance
            .subscribe_queues(topic)
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// Pulls up to `max_nums` messages of `queue` from `offset`, everything (`*`).
    pub async fn pull(
        &self,
        queue: &MessageQueue,
        offset: i64,
        max_nums: i32,
    ) -> Result<PullResult> {
        self.pull_with_expression(queue, "*", offset, max_nums)
            .await
    }

    /// Pulls up to `max_nums` messages of `queue` from `offset` whose tag matches
    /// `expression` (`*` or `TagA || TagB`). Does not commit anything.
    pub async fn pull_with_expression(
        &self,
        queue: &MessageQueue,
        expression: &str,
        offset: i64,
        max_nums: i32,
    ) -> Result<PullResult> {
        let instance = self.instance()?;
        if offset < 0 || max_nums <= 0 {
            return Err(ClientError::InvalidArgument(format!(
                "offset {offset} and max_nums {max_nums} must be >= 0 and > 0"
            )));
        }
        let subscription =
            SubscriptionData::tag(&queue.topic, expression, crate::util::now_millis());
        let header = PullMessageRequestHeader {
            consumer_group: self.inner.options.group.clone(),
            topic: queue.topic.clone(),
            queue_id: queue.queue_id,
            queue_offset: offset,
            max_msg_nums: max_nums,
            sys_flag: pull_sys_flag::build(false, false, true, false, true),
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some(subscription.sub_string.clone()),
            sub_version: subscription.sub_version,
            expression_type: Some(subscription.expression_type.clone()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
            bname: Some(queue.broker_name.clone()),
        };
        let mut result = instance
            .pull_message(
                queue,
                request_code::LITE_PULL_MESSAGE,
                header,
                self.inner.options.pull_timeout,
            )
            .await?;
        process_pull_result(&mut result, queue, &subscription);
        Ok(result)
    }

    /// The group's committed offset of `queue`; `None` if it has none.
    pub async fn committed_offset(&self, queue: &MessageQueue) -> Result<Option<i64>> {
        self.instance()?
            .query_consumer_offset(&self.inner.options.group, queue)
            .await
    }

    /// Commits `offset` (the next one to consume) for `queue` and waits for the broker.
    pub async fn commit_offset(&self, queue: &MessageQueue, offset: i64) -> Result<()> {
        self.instance()?
            .update_consumer_offset(&self.inner.options.group, queue, offset)
            .await
    }

    /// The smallest offset still readable in `queue`.
    pub async fn min_offset(&self, queue: &MessageQueue) -> Result<i64> {
        self.instance()?.min_offset(queue).await
    }

    /// The next offset to be written in `queue`.
    pub async fn max_offset(&self, queue: &MessageQueue) -> Result<i64> {
        self.instance()?.max_offset(queue).await
    }

    /// The first offset of `queue` stored at or after `timestamp` (ms since the epoch).
    pub async fn search_offset(&self, queue: &MessageQueue, timestamp: i64) -> Result<i64> {
        self.instance()?.search_offset(queue, timestamp).await
    }

    /// Stops the consumer and releases the client instance.
    pub async fn shutdown(&self) {
        if self.inner.running.swap(false, Ordering::AcqRel) {
            self.inner.instance.release();
        }
    }
}
