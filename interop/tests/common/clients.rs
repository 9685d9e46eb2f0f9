//! The stock client's producer and consumers against a `soyuz standalone`: messages whose
//! every field the test knows, an inbox that copies what a push listener receives, a
//! delivery check that compares the two, and polling waits with deadlines.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cheetah_string::CheetahString;
use rocketmq_client_rust::{
    AllocateMessageQueueAveragely, ClientConfig, ClientRuntime, ClientRuntimeConfig,
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, DefaultLitePullConsumer,
    DefaultMQProducer, DefaultMQPushConsumer, MQPushConsumer, TelemetryHandle, TopicAdmin,
};
use rocketmq_model::allocation::AllocateMessageQueueStrategy;
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

/// Body of the message that creates a topic before consumers start (see
/// [`prime_topic`]); [`check_delivery`] ignores it.
pub const PRIME_BODY: &[u8] = b"__prime__";
/// Tag of the priming message.
pub const PRIME_TAG: &str = "Prime";

/// Depth of the client runtime's metadata-io queue, on which the push consumer runs its
/// listener (one task per message).
///
/// The default is 8 tasks per CPU (16 on a 2-core machine, behind 4 threads). A burst of
/// pulled messages overflows it; the client then counts each refused task as a failed
/// consumption (`consume_message task panicked: runtime.capacity.exhausted`,
/// `consumeMessage return null`), and a broadcasting consumer drops the message ("the
/// message consume failed, drop it"), while a clustering one sends it back for
/// redelivery (CONSUMER_SEND_MSG_BACK) or, failing that, consumes it again locally a few
/// seconds later. That is the client's behaviour whatever the broker does, so the tests
/// give the queue room for every message a consumer can hold (1,000 per queue by
/// default).
pub const CONSUME_QUEUE_DEPTH: usize = 65_536;

/// A client runtime like [`super::client_runtime`], with a [`CONSUME_QUEUE_DEPTH`]-deep
/// metadata-io queue.
pub fn consumer_runtime() -> (RuntimeOwner, Arc<ClientRuntime>) {
    let mut config = RuntimeConfig::default();
    config.blocking_lane_policies.metadata_io.max_queue_depth = CONSUME_QUEUE_DEPTH;
    let owner = RuntimeOwner::plan(config)
        .expect("runtime config")
        .build()
        .expect("client's tokio runtime");
    let client_runtime = ClientRuntime::try_new(
        owner.root_context().component("soyuz-interop"),
        ClientRuntimeConfig::default(),
        TelemetryHandle::noop(),
    )
    .expect("ClientRuntime");
    (owner, client_runtime)
}

/// Runs `f` with a fresh [`consumer_runtime`], then shuts the runtime down and checks
/// that both the client runtime and the tokio runtime report a clean shutdown.
pub fn with_clients<F, Fut, T>(f: F) -> T
where
    F: FnOnce(Arc<ClientRuntime>) -> Fut,
    Fut: Future<Output = T>,
{
    // The client logs through `tracing` and is silent without a subscriber; set
    // `RLOG=rocketmq_client_rust=debug` (an EnvFilter) to see why a client misbehaves.
    if let Ok(filter) = std::env::var("RLOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .try_init();
    }
    let (owner, runtime) = consumer_runtime();
    let (result, client_report) = owner.block_on(async {
        let result = f(runtime.clone()).await;
        (result, runtime.shutdown().await)
    });
    assert!(
        client_report.is_healthy(),
        "client shutdown: {client_report:?}"
    );
    let runtime_report = owner.shutdown_runtime_blocking().expect("runtime shutdown");
    assert!(
        runtime_report.is_healthy(),
        "runtime shutdown: {runtime_report:?}"
    );
    result
}

/// Polls `done` every 20 ms until it holds or `timeout` passes; true if it held.
pub async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A message as the test built it: everything a delivered copy must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub body: Vec<u8>,
    pub tag: String,
    pub key: String,
    /// User properties.
    pub props: BTreeMap<String, String>,
}

impl Sent {
    /// A message with a unique, partly binary body (`id`, `|`, then `payload_len`
    /// pseudo-random bytes), a key, a tag and three user properties, one of them
    /// non-ASCII with `=`, `;` and `:` in it.
    pub fn numbered(id: &str, tag: &str, payload_len: usize) -> Self {
        let mut body = format!("{id}|").into_bytes();
        let mut x = id.bytes().fold(0x9E37_79B9u32, |h, b| {
            h.wrapping_mul(31).wrapping_add(u32::from(b))
        });
        body.extend((0..payload_len).map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        }));
        let props = BTreeMap::from([
            ("id".to_owned(), id.to_owned()),
            ("len".to_owned(), payload_len.to_string()),
            ("note".to_owned(), "héllo wörld ✓ a=b; c:d".to_owned()),
        ]);
        Self {
            body,
            tag: tag.to_owned(),
            key: format!("key-{id}"),
            props,
        }
    }

    /// The stock client's message for `topic`.
    pub fn message(&self, topic: &str) -> Message {
        let mut builder = Message::builder()
            .topic(topic)
            .tags(self.tag.as_str())
            .key(self.key.as_str());
        for (name, value) in &self.props {
            builder = builder
                .raw_property(name.as_str(), value.as_str())
                .expect("user property");
        }
        builder.body_slice(&self.body).build_unchecked()
    }
}

/// One delivered message, copied out of the listener.
#[derive(Debug, Clone)]
pub struct Got {
    pub body: Vec<u8>,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub props: HashMap<String, String>,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub msg_id: String,
    /// When the listener received it (ms since the epoch).
    pub received_ms: i64,
}

impl Got {
    pub fn from_ext(message: &MessageExt) -> Self {
        let props: HashMap<String, String> = message
            .properties()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            body: message.body().map(|b| b.to_vec()).unwrap_or_default(),
            tags: message.get_tags().map(|t| t.to_string()),
            keys: props.get("KEYS").cloned(),
            props,
            queue_id: message.queue_id(),
            queue_offset: message.queue_offset(),
            msg_id: message.msg_id().to_string(),
            received_ms: now_ms(),
        }
    }

    /// The message's unique key (`UNIQ_KEY`), which the producer's SendResult names.
    pub fn uniq_key(&self) -> Option<&str> {
        self.props
            .get("UNIQ_KEY")
            .map(String::as_str)
            .filter(|k| !k.is_empty())
    }
}

/// What a listener (or a poll loop) received, shared with the test.
#[derive(Clone, Default)]
pub struct Inbox(Arc<Mutex<Vec<Got>>>);

impl Inbox {
    pub fn push(&self, got: Got) {
        self.0.lock().expect("inbox").push(got);
    }

    pub fn snapshot(&self) -> Vec<Got> {
        self.0.lock().expect("inbox").clone()
    }

    /// Deliveries so far, duplicates included.
    pub fn len(&self) -> usize {
        self.0.lock().expect("inbox").len()
    }

    /// Whether every one of `bodies` has been received at least once.
    pub fn has_all<'a>(&self, bodies: impl IntoIterator<Item = &'a Vec<u8>>) -> bool {
        let inbox = self.0.lock().expect("inbox");
        let seen: BTreeSet<&[u8]> = inbox.iter().map(|g| g.body.as_slice()).collect();
        bodies.into_iter().all(|b| seen.contains(b.as_slice()))
    }

    /// How many of `bodies` have been received at least once.
    pub fn count_of<'a>(&self, bodies: impl IntoIterator<Item = &'a Vec<u8>>) -> usize {
        let inbox = self.0.lock().expect("inbox");
        let seen: BTreeSet<&[u8]> = inbox.iter().map(|g| g.body.as_slice()).collect();
        bodies
            .into_iter()
            .filter(|b| seen.contains(b.as_slice()))
            .count()
    }
}

/// The outcome of comparing deliveries with what was sent.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Sent messages delivered at least once.
    pub unique: usize,
    /// Deliveries beyond the first of the same message (at-least-once redelivery).
    pub duplicates: usize,
    /// Bodies of sent messages never delivered (the first few).
    pub missing: Vec<String>,
    pub missing_count: usize,
    /// Deliveries that match no sent message (the first few), and how many.
    pub unexpected: Vec<String>,
    pub unexpected_count: usize,
    /// Deliveries whose tag, key or user properties differ from what was sent.
    pub mismatched: Vec<String>,
}

impl Delivery {
    /// Everything sent arrived, intact, and nothing else did.
    pub fn assert_complete(&self, what: &str) {
        assert!(
            self.missing_count == 0 && self.unexpected_count == 0 && self.mismatched.is_empty(),
            "{what}: {self:#?}"
        );
    }
}

fn show(body: &[u8]) -> String {
    let end = body.iter().position(|&b| b == b'|').unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end.min(60)]).into_owned()
}

/// Compares `got` with `sent` by body, checking each delivered copy's tag, key and user
/// properties. The priming message is ignored.
pub fn check_delivery(sent: &[Sent], got: &[Got]) -> Delivery {
    let by_body: HashMap<&[u8], &Sent> = sent.iter().map(|s| (s.body.as_slice(), s)).collect();
    assert_eq!(by_body.len(), sent.len(), "sent bodies must be unique");
    let mut times: HashMap<&[u8], usize> = HashMap::new();
    let mut delivery = Delivery::default();
    for g in got.iter().filter(|g| g.body != PRIME_BODY) {
        let Some(s) = by_body.get(g.body.as_slice()) else {
            delivery.unexpected_count += 1;
            if delivery.unexpected.len() < 10 {
                delivery
                    .unexpected
                    .push(format!("{} tags={:?}", show(&g.body), g.tags));
            }
            continue;
        };
        *times.entry(g.body.as_slice()).or_default() += 1;
        let mut wrong = Vec::new();
        if g.tags.as_deref() != Some(s.tag.as_str()) {
            wrong.push(format!("tags {:?} != {:?}", g.tags, s.tag));
        }
        if g.keys.as_deref() != Some(s.key.as_str()) {
            wrong.push(format!("keys {:?} != {:?}", g.keys, s.key));
        }
        for (name, value) in &s.props {
            if g.props.get(name) != Some(value) {
                wrong.push(format!("{name} {:?} != {value:?}", g.props.get(name)));
            }
        }
        if !wrong.is_empty() && delivery.mismatched.len() < 10 {
            delivery
                .mismatched
                .push(format!("{}: {}", show(&g.body), wrong.join(", ")));
        }
    }
    delivery.unique = times.len();
    delivery.duplicates = times.values().map(|n| n - 1).sum();
    for s in sent {
        if !times.contains_key(s.body.as_slice()) {
            delivery.missing_count += 1;
            if delivery.missing.len() < 10 {
                delivery.missing.push(show(&s.body));
            }
        }
    }
    delivery
}

/// A started producer.
pub async fn producer(rt: &Arc<ClientRuntime>, namesrv: &str, group: &str) -> DefaultMQProducer {
    let mut producer = DefaultMQProducer::builder(rt.clone())
        .producer_group(group)
        .name_server_addr(namesrv)
        .build();
    producer.start().await.expect("producer start");
    producer
}

/// Sends each message synchronously, asserting SEND_OK.
pub async fn send_all(producer: &DefaultMQProducer, topic: &str, messages: &[Sent]) {
    for s in messages {
        let result = producer
            .send(s.message(topic))
            .await
            .unwrap_or_else(|e| panic!("send {}: {e:?}", show(&s.body)))
            .expect("sync send returns a SendResult");
        assert_eq!(
            result.send_status,
            rocketmq_model::result::SendStatus::SendOk,
            "{result:?}"
        );
    }
}

/// Creates `topic` (auto-created from TBW102 on the first send) with one message, and
/// waits until the NameServer has its route, so consumers started next find its queues
/// at once. Returns the topic's queue count.
pub async fn prime_topic(
    rt: &Arc<ClientRuntime>,
    namesrv: &str,
    producer: &DefaultMQProducer,
    topic: &str,
) -> u32 {
    let prime = Message::builder()
        .topic(topic)
        .tags(PRIME_TAG)
        .body_slice(PRIME_BODY)
        .build_unchecked();
    producer
        .send(prime)
        .await
        .unwrap_or_else(|e| panic!("priming send to {topic}: {e:?}"));
    let admin = super::admin(rt, namesrv).await;
    let mut queues = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while queues == 0 {
        assert!(
            Instant::now() < deadline,
            "no route for {topic} within 15 s"
        );
        if let Ok(Some(route)) = admin.examine_topic_route_info(topic.into()).await {
            queues = route.queue_datas.iter().map(|q| q.read_queue_nums()).sum();
        }
        if queues == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut admin = admin;
    admin.shutdown().await;
    queues
}

/// A push consumer's settings beyond group, topic and expression.
pub struct PushOptions {
    pub model: MessageModel,
    pub from: ConsumeFromWhere,
    /// The client instance name; two consumers of one group in one process need
    /// different names (Java's rule: one client id holds one consumer per group).
    pub instance: String,
    pub allocator: Option<Arc<dyn AllocateMessageQueueStrategy>>,
}

impl PushOptions {
    /// Clustering, from the first offset (a new group reads the whole topic).
    pub fn clustering(instance: &str) -> Self {
        Self {
            model: MessageModel::Clustering,
            from: ConsumeFromWhere::ConsumeFromFirstOffset,
            instance: instance.to_owned(),
            allocator: None,
        }
    }
}

/// Starts a push consumer whose concurrent listener copies every message into the
/// returned inbox and reports success.
pub async fn push_consumer(
    rt: &Arc<ClientRuntime>,
    namesrv: &str,
    group: &str,
    topic: &str,
    expression: &str,
    options: PushOptions,
) -> (DefaultMQPushConsumer, Inbox) {
    let config = ClientConfig::builder()
        .namesrv_addr(namesrv)
        .instance_name(options.instance.as_str())
        .build()
        .expect("client config");
    let mut builder = DefaultMQPushConsumer::builder(rt.clone())
        .client_config(config)
        .consumer_group(group)
        .message_model(options.model)
        .consume_from_where(options.from);
    if let Some(allocator) = options.allocator {
        builder = builder.allocate_message_queue_strategy(allocator);
    }
    let mut consumer = builder.build();
    consumer
        .subscribe(topic, expression)
        .await
        .expect("subscribe");
    let inbox = Inbox::default();
    let sink = inbox.clone();
    consumer.register_message_listener_concurrently(
        move |messages: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
            for message in messages {
                sink.push(Got::from_ext(message));
            }
            Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
        },
    );
    consumer.start().await.expect("push consumer start");
    (consumer, inbox)
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A clustering push consumer of `topic` (`*`) that already holds its queues: it has
/// received the priming message (see [`prime_topic`]), so what it receives next is
/// timed by the broker, not by the client's first rebalance.
pub async fn primed_push_consumer(
    rt: &Arc<ClientRuntime>,
    namesrv: &str,
    group: &str,
    topic: &str,
    instance: &str,
) -> (DefaultMQPushConsumer, Inbox) {
    let (consumer, inbox) = push_consumer(
        rt,
        namesrv,
        group,
        topic,
        "*",
        PushOptions::clustering(instance),
    )
    .await;
    assert!(
        wait_until(Duration::from_secs(30), || {
            inbox.has_all([&PRIME_BODY.to_vec()])
        })
        .await,
        "the priming message never reached the consumer"
    );
    (consumer, inbox)
}

/// A started lite pull consumer (clustering, auto-commit every second) reading `topic`,
/// filtered by `expression`, from the first offset.
pub async fn lite_pull_consumer(
    rt: &Arc<ClientRuntime>,
    namesrv: &str,
    group: &str,
    topic: &str,
    expression: &str,
) -> DefaultLitePullConsumer {
    let consumer = DefaultLitePullConsumer::builder(rt.clone())
        .consumer_group(group)
        .name_server_addr(namesrv)
        .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
        .auto_commit(true)
        .auto_commit_interval_millis(1_000)
        // Shutting down waits for the pulls the broker is holding; hold them for one
        // second instead of twenty.
        .broker_suspend_max_time_millis(1_000)
        .consumer_timeout_millis_when_suspend(5_000)
        .build()
        .expect("lite pull consumer");
    consumer
        .subscribe_with_expression(topic, expression)
        .await
        .expect("subscribe");
    consumer.start().await.expect("lite pull consumer start");
    consumer
}

/// Polls `consumer` into `inbox` until `done` holds or `timeout` passes.
pub async fn poll_until(
    consumer: &DefaultLitePullConsumer,
    inbox: &Inbox,
    timeout: Duration,
    mut done: impl FnMut(&Inbox) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done(inbox) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        for message in consumer.poll_with_timeout(200).await {
            inbox.push(Got::from_ext(&message));
        }
    }
}

/// Java's default allocation, recording each consumer's latest result for one topic so
/// a test can wait for a group to settle. (A clustering consumer also balances its
/// group's `%RETRY%` topic; those results are not recorded.)
pub struct RecordingAllocator {
    topic: String,
    /// Consumer id to (queue ids it got, consumers it saw in the group).
    latest: Mutex<BTreeMap<String, (BTreeSet<i32>, usize)>>,
}

impl RecordingAllocator {
    pub fn new(topic: &str) -> Self {
        Self {
            topic: topic.to_owned(),
            latest: Mutex::default(),
        }
    }

    /// Each consumer's latest allocation.
    pub fn latest(&self) -> BTreeMap<String, (BTreeSet<i32>, usize)> {
        self.latest.lock().expect("allocations").clone()
    }

    /// Whether the latest allocations of `consumers` consumers (and no more) cover
    /// `queues` queues between them, disjointly, each consumer holding at least one and
    /// seeing exactly that many members.
    pub fn settled(&self, consumers: usize, queues: u32) -> bool {
        let latest = self.latest();
        let current: Vec<_> = latest
            .values()
            .filter(|(_, members)| *members == consumers)
            .collect();
        let total: usize = current.iter().map(|(q, _)| q.len()).sum();
        let union: BTreeSet<i32> = current
            .iter()
            .flat_map(|(q, _)| q.iter().copied())
            .collect();
        current.len() == consumers
            && current.iter().all(|(q, _)| !q.is_empty())
            && total == union.len()
            && union == (0..queues as i32).collect()
    }
}

impl AllocateMessageQueueStrategy for RecordingAllocator {
    fn allocate(
        &self,
        consumer_group: &CheetahString,
        current_cid: &CheetahString,
        mq_all: &[MessageQueue],
        cid_all: &[CheetahString],
    ) -> rocketmq_error::Result<Vec<MessageQueue>> {
        let result =
            AllocateMessageQueueAveragely.allocate(consumer_group, current_cid, mq_all, cid_all)?;
        if mq_all.iter().any(|q| q.topic_str() == self.topic) {
            self.latest.lock().expect("allocations").insert(
                current_cid.to_string(),
                (result.iter().map(|q| q.queue_id()).collect(), cid_all.len()),
            );
        }
        Ok(result)
    }

    fn get_name(&self) -> &'static str {
        "AVG"
    }
}
