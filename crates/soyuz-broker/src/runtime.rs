//! Opening the broker and running it: the listener, the background tasks (registration,
//! offset persistence, client expiry) and an orderly shutdown.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::RwLock;
use soyuz_model::{Clock, SystemClock};
use soyuz_store::{DefaultMessageStore, MessageStore, StoreError};
use soyuz_transport::{server, RemotingClient, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::appender::Appender;
use crate::clients::{ConsumerManager, ProducerManager};
use crate::config::BrokerConfig;
use crate::consumer_offset_manager::ConsumerOffsetManager;
use crate::long_polling::PullHoldService;
use crate::processor;
use crate::rebalance_lock::RebalanceLockManager;
use crate::registration;
use crate::schedule::{self, ScheduleService};
use crate::state::BrokerState;
use crate::subscription_group_manager::SubscriptionGroupManager;
use crate::timer::TimerService;
use crate::topic_config_manager::TopicConfigManager;
use crate::transaction::TransactionState;

/// Why the broker could not open.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    /// The store would not open.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// A config file could not be read or written.
    #[error("cannot load the broker's config files: {0}")]
    Io(#[from] std::io::Error),
    /// `brokerIP1` is not an IP address.
    #[error("brokerIP1 [{0}] is not an IP address")]
    BadAddress(String),
}

/// A broker ready to serve.
pub struct Broker {
    state: Arc<BrokerState>,
}

impl Broker {
    /// Opens the store under `config.store.store_path_root_dir` (recovering it after a
    /// crash) and the broker's config files next to it.
    pub fn open(config: BrokerConfig) -> Result<Self, BrokerError> {
        let store = DefaultMessageStore::open(config.store.clone())?;
        Self::with_store(config, Arc::new(store), Arc::new(SystemClock))
    }

    /// A broker over a given store and clock (tests use the memory store).
    pub fn with_store(
        config: BrokerConfig,
        store: Arc<dyn MessageStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BrokerError> {
        let root = config.store.store_path_root_dir.clone();
        let advertised = match config.broker_ip1.trim() {
            "" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip
                .parse()
                .map_err(|_| BrokerError::BadAddress(ip.to_owned()))?,
        };
        let state = Arc::new(BrokerState {
            topics: TopicConfigManager::load(&config)?,
            groups: SubscriptionGroupManager::load(&root, config.auto_create_subscription_group)?,
            offsets: ConsumerOffsetManager::load(&root)?,
            producers: ProducerManager::default(),
            consumers: ConsumerManager::default(),
            pulls: PullHoldService::default(),
            locks: RebalanceLockManager::default(),
            schedule: Arc::new(ScheduleService::load(&root, config.delay_levels())?),
            transactions: TransactionState::default(),
            timer: Arc::new(TimerService::default()),
            clock,
            registration_needed: Notify::new(),
            broker_addr: RwLock::new(SocketAddr::new(advertised, config.listen_port)),
            appender: Appender::start(store.clone(), config.store.max_message_size)?,
            store,
            config,
        });
        let weak: Weak<BrokerState> = Arc::downgrade(&state);
        state
            .store
            .set_arrival_listener(Arc::new(move |topic, queue_id, max_offset| {
                if let Some(state) = weak.upgrade() {
                    state.pulls.on_arrival(topic, queue_id, max_offset);
                }
            }));
        Ok(Self { state })
    }

    /// The shared state (for in-process tests and embedding).
    pub fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// Serves `listener` until `shutdown` completes, then unregisters from the
    /// NameServers, writes the offsets and closes the store.
    pub async fn run(
        &self,
        listener: TcpListener,
        server_config: ServerConfig,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let state = &self.state;
        let addr = advertised_addr(&state.config, listener.local_addr()?);
        *state.broker_addr.write() = addr;
        let client = Arc::new(RemotingClient::with_defaults());
        let delivery = schedule::spawn(
            state.schedule.clone(),
            state.store.clone(),
            state.clock.clone(),
        )?;
        let timing = state.clone();
        let timer = std::thread::Builder::new()
            .name("soyuz-timer".into())
            .spawn(move || {
                timing
                    .timer
                    .run(&*timing.store, &*timing.clock, &timing.offsets)
            })?;
        let tasks = [
            tokio::spawn(registration::keep_registered(state.clone(), client.clone())),
            tokio::spawn(persist_offsets(state.clone())),
            tokio::spawn(expire_clients(state.clone())),
            tokio::spawn(processor::end_transaction::check_transactions(
                state.clone(),
            )),
        ];
        tracing::info!(
            "The broker[{}, {}] boot success. serializeType=JSON and name server is {}",
            state.config.broker_name,
            addr,
            state.config.namesrv_addr.as_deref().unwrap_or("(none)")
        );
        let router = Arc::new(processor::router(state));
        let served = server::run(listener, router, server_config, shutdown).await;
        for task in &tasks {
            task.abort();
        }
        // Aborted tasks drop their share of the state when they are next polled; wait
        // for that, so nothing holds the store once this returns.
        for task in tasks {
            let _ = task.await;
        }
        registration::unregister_all(state, &client).await;
        client.shutdown();
        let closing = state.clone();
        let closed = tokio::task::spawn_blocking(move || {
            closing.schedule.stop();
            let _ = delivery.join();
            closing.timer.stop();
            let _ = timer.join();
            closing.appender.stop();
            if let Err(e) = closing.offsets.persist() {
                tracing::error!(error = %e, "cannot write consumer offsets at shutdown");
            }
            closing.store.shutdown()
        })
        .await;
        match closed {
            Ok(Ok(())) => tracing::info!("broker stopped"),
            Ok(Err(e)) => tracing::error!(error = %e, "store shutdown failed"),
            Err(e) => tracing::error!(error = %e, "store shutdown task failed"),
        }
        served
    }
}

/// The address clients are told: `brokerIP1` if set, else the listener's address, else
/// (listening on every interface) this host's outbound address.
fn advertised_addr(config: &BrokerConfig, bound: SocketAddr) -> SocketAddr {
    let ip = if let Ok(ip) = config.broker_ip1.trim().parse::<IpAddr>() {
        ip
    } else if !bound.ip().is_unspecified() {
        bound.ip()
    } else {
        outbound_ip().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    };
    SocketAddr::new(ip, bound.port())
}

/// The local address the OS would use to reach the outside world; connecting a UDP
/// socket sends nothing.
fn outbound_ip() -> Option<IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("8.8.8.8:53").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

async fn persist_offsets(state: Arc<BrokerState>) {
    let period = Duration::from_millis(state.config.flush_consumer_offset_interval.max(100));
    loop {
        tokio::time::sleep(period).await;
        let result = state.blocking(|state| state.offsets.persist()).await;
        match result {
            Ok(Err(e)) => tracing::error!(error = %e, "cannot write consumer offsets"),
            Err(e) => tracing::error!(error = %e, "consumer offset task failed"),
            Ok(Ok(())) => {}
        }
    }
}

/// Drops clients that stopped sending heartbeats (`ClientHousekeepingService`, every
/// 10 s).
async fn expire_clients(state: Arc<BrokerState>) {
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let before = state.clock.now_millis() - state.config.channel_expired_timeout as i64;
        state.producers.expire(before);
        for group in state.consumers.expire(before) {
            processor::client::notify_if_enabled(&state, &group);
        }
    }
}
