//! [`ClientInstance`]: what producers and consumers of one client id share
//! (`MQClientInstance`): the connections, the route cache, the broker address table,
//! heartbeats, and the background tasks that refresh routes, send heartbeats, rebalance
//! consumers and write their offsets. It also serves the requests brokers send clients.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use soyuz_model::names::AUTO_CREATE_TOPIC_KEY;
use soyuz_remoting::body::{
    decode_json, encode_json, ConsumerData, HeartbeatData, ProducerData, ResetOffsetBody,
    TopicRouteData,
};
use soyuz_remoting::headers::consumer::ResetOffsetRequestHeader;
use soyuz_remoting::headers::namesrv::GetRouteInfoRequestHeader;
use soyuz_remoting::headers::producer::{
    CheckTransactionStateRequestHeader, UnregisterClientRequestHeader,
};
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::{RemotingClient, Router};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::message::{decode_messages, MessageQueue};
use crate::producer::{check_answer_header, TransactionChecker};
use crate::route::{adjust_default_route, subscribe_queues, TopicPublishInfo};

/// Queues a new topic gets from the auto-create topic (`defaultTopicQueueNums`).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

/// What the instance needs from a consumer for heartbeats, rebalancing and offsets.
pub(crate) trait ConsumerInner: Send + Sync + 'static {
    /// The consumer group.
    fn group(&self) -> &str;
    /// The group's entry in heartbeats.
    fn consumer_data(&self) -> ConsumerData;
    /// The topics whose routes the consumer needs.
    fn topics(&self) -> Vec<String>;
    /// Re-assigns queues.
    fn rebalance(self: Arc<Self>) -> BoxFuture<'static, ()>;
    /// Writes the consumed offsets.
    fn persist_offsets(self: Arc<Self>) -> BoxFuture<'static, ()>;
    /// Moves the group's offsets of `topic` as a broker asked (RESET_CONSUMER_CLIENT_OFFSET).
    fn reset_offset(
        self: Arc<Self>,
        topic: String,
        offsets: Vec<(MessageQueue, i64)>,
    ) -> BoxFuture<'static, ()>;
}

/// The shared client state of one client id. Producers and consumers get one through
/// [`ClientInstance::acquire`]; it stops when the last of them releases it.
pub struct ClientInstance {
    config: ClientConfig,
    client_id: String,
    remoting: Arc<RemotingClient>,
    namesrv_index: std::sync::atomic::AtomicUsize,
    routes: RwLock<HashMap<String, TopicRouteData>>,
    publish: RwLock<HashMap<String, Arc<TopicPublishInfo>>>,
    subscribe: RwLock<HashMap<String, BTreeSet<MessageQueue>>>,
    broker_addrs: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    producers: Mutex<BTreeSet<String>>,
    consumers: Mutex<HashMap<String, Arc<dyn ConsumerInner>>>,
    checkers: Mutex<HashMap<String, Arc<dyn TransactionChecker>>>,
    users: Mutex<usize>,
    rebalance_now: Notify,
    heartbeat_lock: tokio::sync::Mutex<()>,
    stop: CancellationToken,
    me: Weak<ClientInstance>,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id)
            .finish()
    }
}

fn registry() -> &'static Mutex<HashMap<String, Weak<ClientInstance>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Weak<ClientInstance>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl ClientInstance {
    /// The running instance for `config`'s client id, starting one if there is none
    /// (`MQClientManager.getOrCreateMQClientInstance`). The caller must
    /// [`release`](Self::release) it when done. Must be called inside a tokio runtime.
    pub fn acquire(config: &ClientConfig) -> Result<Arc<Self>> {
        let mut config = config.clone();
        config.resolve_instance_name();
        if config.namesrv_addrs().is_empty() {
            return Err(ClientError::NoNamesrv);
        }
        let client_id = config.client_id();
        let mut registry = registry().lock();
        if let Some(instance) = registry.get(&client_id).and_then(Weak::upgrade) {
            if !instance.stop.is_cancelled() {
                *instance.users.lock() += 1;
                return Ok(instance);
            }
        }
        let instance = Self::start(config, client_id.clone());
        registry.insert(client_id, Arc::downgrade(&instance));
        Ok(instance)
    }

    fn start(config: ClientConfig, client_id: String) -> Arc<Self> {
        let instance = Arc::new_cyclic(|weak: &Weak<ClientInstance>| {
            let router = server_requests(weak.clone());
            Self {
                remoting: Arc::new(RemotingClient::new(
                    soyuz_transport::ClientConfig::default(),
                    Arc::new(router),
                )),
                config,
                client_id,
                namesrv_index: std::sync::atomic::AtomicUsize::new(0),
                routes: RwLock::default(),
                publish: RwLock::default(),
                subscribe: RwLock::default(),
                broker_addrs: RwLock::default(),
                producers: Mutex::default(),
                consumers: Mutex::default(),
                checkers: Mutex::default(),
                users: Mutex::new(1),
                rebalance_now: Notify::new(),
                heartbeat_lock: tokio::sync::Mutex::new(()),
                stop: CancellationToken::new(),
                me: weak.clone(),
            }
        });
        tracing::info!(client_id = %instance.client_id, "client instance started");
        spawn_tasks(&instance);
        instance
    }

    /// Lets go of the instance; the last user stops it: its tasks end and its
    /// connections close.
    pub fn release(&self) {
        // Lock order: the registry, then `users` (as `acquire` takes them).
        let mut registry = registry().lock();
        let mut users = self.users.lock();
        *users = users.saturating_sub(1);
        if *users == 0 {
            drop(users);
            let ours = registry
                .get(&self.client_id)
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), self));
            if ours {
                registry.remove(&self.client_id);
            }
            drop(registry);
            self.stop.cancel();
            self.remoting.shutdown();
            tracing::info!(client_id = %self.client_id, "client instance stopped");
        }
    }

    /// This client's id (`ip@instanceName`).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The settings in force (instance name resolved).
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn remoting(&self) -> &Arc<RemotingClient> {
        &self.remoting
    }

    pub(crate) fn register_producer(&self, group: &str) {
        self.producers.lock().insert(group.to_owned());
    }

    pub(crate) fn unregister_producer(&self, group: &str) {
        self.producers.lock().remove(group);
    }

    pub(crate) fn register_transaction_checker(
        &self,
        group: &str,
        checker: Arc<dyn TransactionChecker>,
    ) {
        self.checkers.lock().insert(group.to_owned(), checker);
    }

    pub(crate) fn unregister_transaction_checker(&self, group: &str) {
        self.checkers.lock().remove(group);
    }

    pub(crate) fn register_consumer(&self, consumer: Arc<dyn ConsumerInner>) -> Result<()> {
        let mut consumers = self.consumers.lock();
        let group = consumer.group().to_owned();
        if consumers.contains_key(&group) {
            return Err(ClientError::InvalidArgument(format!(
                "the consumer group [{group}] has been created before in client {}",
                self.client_id
            )));
        }
        consumers.insert(group, consumer);
        Ok(())
    }

    pub(crate) fn unregister_consumer(&self, group: &str) {
        self.consumers.lock().remove(group);
    }

    /// Wakes the rebalance task now (`rebalanceImmediately`).
    pub fn rebalance_immediately(&self) {
        self.rebalance_now.notify_one();
    }

    /// Sends `request` to `addr` and waits for the answer.
    pub(crate) async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        Ok(self.remoting.invoke(addr, request, timeout).await?)
    }

    /// Sends `request` to `addr`; the answer must be SUCCESS.
    pub(crate) async fn invoke_ok(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let response = self
            .invoke(addr, request, self.config.request_timeout)
            .await?;
        if response.code == response_code::SUCCESS {
            Ok(response)
        } else {
            Err(ClientError::broker(&response))
        }
    }

    // ---- routes ----

    /// Asks the NameServers for `topic`'s route, trying each in turn from the last one
    /// that answered. `Ok(None)` when the topic does not exist.
    pub async fn fetch_route(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let addrs = self.config.namesrv_addrs();
        let start = self
            .namesrv_index
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut last_error = ClientError::NoNamesrv;
        for i in 0..addrs.len() {
            let index = (start + i) % addrs.len();
            let header = GetRouteInfoRequestHeader {
                topic: topic.to_owned(),
                accept_standard_json_only: Some(true),
            };
            let request =
                RemotingCommand::request_with_header(request_code::GET_ROUTEINFO_BY_TOPIC, &header);
            match self
                .invoke(&addrs[index], request, self.config.request_timeout)
                .await
            {
                Ok(response) => {
                    self.namesrv_index
                        .store(index, std::sync::atomic::Ordering::Relaxed);
                    return match response.code {
                        response_code::SUCCESS => Ok(Some(decode_json(&response.body)?)),
                        response_code::TOPIC_NOT_EXIST => Ok(None),
                        _ => Err(ClientError::broker(&response)),
                    };
                }
                Err(e) => {
                    tracing::debug!(namesrv = %addrs[index], error = %e, "NameServer did not answer");
                    last_error = e;
                }
            }
        }
        Err(last_error)
    }

    /// Refreshes `topic`'s route; false if the topic has none.
    pub async fn update_route(&self, topic: &str) -> Result<bool> {
        let Some(route) = self.fetch_route(topic).await? else {
            return Ok(false);
        };
        self.install_route(topic, route, false);
        Ok(true)
    }

    fn install_route(&self, topic: &str, route: TopicRouteData, from_default: bool) {
        let mut new_broker = false;
        {
            let mut addrs = self.broker_addrs.write();
            for broker in &route.broker_datas {
                let previous =
                    addrs.insert(broker.broker_name.clone(), broker.broker_addrs.clone());
                new_broker |= previous.as_ref() != Some(&broker.broker_addrs);
            }
        }
        if !from_default {
            self.subscribe
                .write()
                .insert(topic.to_owned(), subscribe_queues(topic, &route));
        }
        let info = TopicPublishInfo::from_route(topic, route.clone(), from_default);
        self.publish
            .write()
            .insert(topic.to_owned(), Arc::new(info));
        self.routes.write().insert(topic.to_owned(), route);
        if new_broker && !self.consumers.lock().is_empty() {
            // A broker we never told about our consumers: tell it before pulling from it.
            if let Some(instance) = self.me.upgrade() {
                tokio::spawn(async move { instance.send_heartbeat_to_all().await });
            }
        }
    }

    /// Where `topic`'s messages can go, from the cache, the NameServer, or the
    /// auto-create topic's route (`tryToFindTopicPublishInfo`).
    pub(crate) async fn publish_info(&self, topic: &str) -> Result<Arc<TopicPublishInfo>> {
        if let Some(info) = self.publish.read().get(topic).filter(|i| i.ok()) {
            return Ok(info.clone());
        }
        if self.update_route(topic).await? {
            if let Some(info) = self.publish.read().get(topic).filter(|i| i.ok()) {
                return Ok(info.clone());
            }
        }
        let Some(default) = self.fetch_route(AUTO_CREATE_TOPIC_KEY).await? else {
            return Err(ClientError::NoRoute(topic.to_owned()));
        };
        self.install_route(
            topic,
            adjust_default_route(default, DEFAULT_TOPIC_QUEUE_NUMS),
            true,
        );
        self.publish
            .read()
            .get(topic)
            .filter(|i| i.ok())
            .cloned()
            .ok_or_else(|| ClientError::NoRoute(topic.to_owned()))
    }

    /// The queues consumers of `topic` read, as last seen in its route.
    pub fn subscribe_queues(&self, topic: &str) -> Option<BTreeSet<MessageQueue>> {
        self.subscribe.read().get(topic).cloned()
    }

    /// The route of `topic` as last fetched.
    pub fn route(&self, topic: &str) -> Option<TopicRouteData> {
        self.routes.read().get(topic).cloned()
    }

    /// The master address of a broker, if known.
    pub fn master_addr(&self, broker_name: &str) -> Option<String> {
        self.broker_addrs
            .read()
            .get(broker_name)
            .and_then(|addrs| addrs.get(&0).cloned())
    }

    /// The master address of `queue`'s broker, refreshing the route when unknown.
    pub(crate) async fn master_addr_for(&self, queue: &MessageQueue) -> Result<String> {
        if let Some(addr) = self.master_addr(&queue.broker_name) {
            return Ok(addr);
        }
        self.update_route(&queue.topic).await?;
        self.master_addr(&queue.broker_name)
            .ok_or_else(|| ClientError::NoBrokerAddr(queue.broker_name.clone()))
    }

    /// Any broker serving `topic` (a master if possible), for group-wide questions
    /// (`findBrokerAddrByTopic`).
    pub(crate) fn any_broker_of(&self, topic: &str) -> Option<String> {
        let routes = self.routes.read();
        let route = routes.get(topic)?;
        let brokers = &route.broker_datas;
        if brokers.is_empty() {
            return None;
        }
        let pick = &brokers[crate::util::random_index(brokers.len())];
        pick.master_addr()
            .map(str::to_owned)
            .or_else(|| pick.broker_addrs.values().next().cloned())
    }

    async fn refresh_all_routes(&self) {
        let mut topics: BTreeSet<String> = self.publish.read().keys().cloned().collect();
        let consumers: Vec<_> = self.consumers.lock().values().cloned().collect();
        for consumer in consumers {
            topics.extend(consumer.topics());
        }
        for topic in topics {
            if let Err(e) = self.update_route(&topic).await {
                tracing::debug!(%topic, error = %e, "route refresh failed");
            }
        }
    }

    // ---- heartbeats ----

    fn heartbeat_data(&self) -> HeartbeatData {
        HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set: self
                .producers
                .lock()
                .iter()
                .map(|g| ProducerData {
                    group_name: g.clone(),
                })
                .collect(),
            consumer_data_set: self
                .consumers
                .lock()
                .values()
                .map(|c| c.consumer_data())
                .collect(),
            heartbeat_fingerprint: 0,
            is_without_sub: false,
        }
    }

    /// Sends HEART_BEAT to every known broker: masters always, slaves only when there are
    /// consumers (`sendHeartbeatToAllBroker`).
    pub async fn send_heartbeat_to_all(&self) {
        let _serial = self.heartbeat_lock.lock().await;
        let data = self.heartbeat_data();
        if data.producer_data_set.is_empty() && data.consumer_data_set.is_empty() {
            return;
        }
        let body = encode_json(&data);
        let brokers: Vec<(i64, String)> = self
            .broker_addrs
            .read()
            .values()
            .flat_map(|addrs| addrs.iter().map(|(id, a)| (*id, a.clone())))
            .collect();
        for (id, addr) in brokers {
            if id != 0 && data.consumer_data_set.is_empty() {
                continue;
            }
            let request =
                RemotingCommand::request(request_code::HEART_BEAT).with_body(body.clone());
            if let Err(e) = self.invoke_ok(&addr, request).await {
                tracing::debug!(broker = %addr, error = %e, "heartbeat failed");
            }
        }
    }

    /// Tells every broker this client left `producer_group` / `consumer_group`.
    pub(crate) async fn unregister_client(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        let header = UnregisterClientRequestHeader {
            client_id: self.client_id.clone(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        let addrs: Vec<String> = self
            .broker_addrs
            .read()
            .values()
            .flat_map(|addrs| addrs.values().cloned())
            .collect();
        for addr in addrs {
            let request =
                RemotingCommand::request_with_header(request_code::UNREGISTER_CLIENT, &header);
            if let Err(e) = self.invoke_ok(&addr, request).await {
                tracing::debug!(broker = %addr, error = %e, "unregister failed");
            }
        }
    }

    fn consumer(&self, group: &str) -> Option<Arc<dyn ConsumerInner>> {
        self.consumers.lock().get(group).cloned()
    }

    /// CHECK_TRANSACTION_STATE (oneway): asks the half message's group checker on a
    /// blocking thread and answers with END_TRANSACTION on the same connection
    /// (`ClientRemotingProcessor.checkTransactionState`).
    fn check_transaction_state(
        &self,
        channel: soyuz_transport::Channel,
        request: &RemotingCommand,
    ) {
        let header: CheckTransactionStateRequestHeader = match request.decode_header() {
            Ok(header) => header,
            Err(e) => {
                tracing::warn!(error = %e, "bad CHECK_TRANSACTION_STATE header");
                return;
            }
        };
        let broker_name = header.bname.clone().unwrap_or_default();
        let message = match decode_messages(&request.body, &broker_name) {
            Ok(mut messages) if !messages.is_empty() => messages.swap_remove(0),
            Ok(_) => {
                tracing::warn!("CHECK_TRANSACTION_STATE without a message");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "bad CHECK_TRANSACTION_STATE body");
                return;
            }
        };
        let group = message
            .property(soyuz_model::properties::keys::PRODUCER_GROUP)
            .unwrap_or_default()
            .to_owned();
        let Some(checker) = self.checkers.lock().get(&group).cloned() else {
            tracing::debug!(%group, "no transaction checker for the group");
            return;
        };
        tokio::spawn(async move {
            let outcome = tokio::task::spawn_blocking(move || {
                let state = checker.check(&message);
                (state, message)
            })
            .await;
            let Ok((state, message)) = outcome else {
                tracing::warn!(%group, "transaction checker panicked");
                return;
            };
            let answer = check_answer_header(&header, &message, state);
            let request =
                RemotingCommand::request_with_header(request_code::END_TRANSACTION, &answer);
            if let Err(e) = channel.invoke_oneway(request).await {
                tracing::warn!(%group, error = %e, "cannot answer the transaction check");
            }
        });
    }

    fn consumers_snapshot(&self) -> Vec<Arc<dyn ConsumerInner>> {
        self.consumers.lock().values().cloned().collect()
    }
}

/// The requests brokers send this client.
fn server_requests(instance: Weak<ClientInstance>) -> Router {
    let notify = instance.clone();
    let check = instance.clone();
    let reset = instance;
    Router::new()
        .route_sync(
            request_code::CHECK_TRANSACTION_STATE,
            move |channel, request| {
                if let Some(instance) = check.upgrade() {
                    instance.check_transaction_state(channel.clone(), request);
                }
                None
            },
        )
        .route_sync(
            request_code::NOTIFY_CONSUMER_IDS_CHANGED,
            move |channel, request| {
                tracing::info!(
                    broker = %channel.remote_addr(),
                    group = request.ext("consumerGroup").unwrap_or_default(),
                    "consumer ids changed, rebalancing"
                );
                if let Some(instance) = notify.upgrade() {
                    instance.rebalance_immediately();
                }
                None
            },
        )
        .route_sync(
            request_code::RESET_CONSUMER_CLIENT_OFFSET,
            move |_channel, request| {
                let instance = reset.upgrade()?;
                let header: ResetOffsetRequestHeader = match request.decode_header() {
                    Ok(h) => h,
                    Err(e) => {
                        return Some(RemotingCommand::error(
                            request,
                            response_code::SYSTEM_ERROR,
                            e.to_string(),
                        ))
                    }
                };
                let body = match ResetOffsetBody::decode(&request.body) {
                    Ok(b) => b,
                    Err(e) => {
                        return Some(RemotingCommand::error(
                            request,
                            response_code::SYSTEM_ERROR,
                            e.to_string(),
                        ))
                    }
                };
                if let Some(consumer) = instance.consumer(&header.group) {
                    tokio::spawn(consumer.reset_offset(header.topic, body.offset_table));
                }
                Some(RemotingCommand::success(request))
            },
        )
}

fn spawn_tasks(instance: &Arc<ClientInstance>) {
    let weak = Arc::downgrade(instance);
    let stop = instance.stop.clone();
    let config = instance.config.clone();
    every(&stop, config.poll_name_server_interval, weak.clone(), |i| {
        Box::pin(async move { i.refresh_all_routes().await })
    });
    every(&stop, config.heartbeat_broker_interval, weak.clone(), |i| {
        Box::pin(async move { i.send_heartbeat_to_all().await })
    });
    every(
        &stop,
        config.persist_consumer_offset_interval,
        weak.clone(),
        |i| {
            Box::pin(async move {
                for consumer in i.consumers_snapshot() {
                    consumer.persist_offsets().await;
                }
            })
        },
    );
    // Rebalance: every interval, and at once when asked.
    let rebalance_interval = config.rebalance_interval;
    tokio::spawn(async move {
        loop {
            let Some(instance) = weak.upgrade() else {
                return;
            };
            // Holding the instance while waiting is fine: `release` cancels `stop`.
            tokio::select! {
                _ = instance.stop.cancelled() => return,
                _ = tokio::time::sleep(rebalance_interval) => {}
                _ = instance.rebalance_now.notified() => {}
            }
            for consumer in instance.consumers_snapshot() {
                consumer.rebalance().await;
            }
        }
    });
}

/// Runs `work` every `period` until `stop`, while the instance lives.
fn every<F>(stop: &CancellationToken, period: Duration, weak: Weak<ClientInstance>, work: F)
where
    F: Fn(Arc<ClientInstance>) -> BoxFuture<'static, ()> + Send + 'static,
{
    let stop = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(period) => {}
            }
            let Some(instance) = weak.upgrade() else {
                return;
            };
            work(instance).await;
        }
    });
}
