//! What every processor shares.

use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::RwLock;
use soyuz_model::Clock;
use soyuz_store::MessageStore;
use tokio::sync::Notify;

use crate::appender::Appender;
use crate::clients::{ConsumerManager, ProducerManager};
use crate::config::BrokerConfig;
use crate::consumer_offset_manager::ConsumerOffsetManager;
use crate::long_polling::PullHoldService;
use crate::rebalance_lock::RebalanceLockManager;
use crate::schedule::ScheduleService;
use crate::subscription_group_manager::SubscriptionGroupManager;
use crate::timer::TimerService;
use crate::topic_config_manager::TopicConfigManager;
use crate::transaction::TransactionState;

/// The broker's shared state.
pub struct BrokerState {
    /// Settings.
    pub config: BrokerConfig,
    /// The message store.
    pub store: Arc<dyn MessageStore>,
    /// The put thread every send goes through.
    pub appender: Appender,
    /// Topics.
    pub topics: TopicConfigManager,
    /// Consumer group configs.
    pub groups: SubscriptionGroupManager,
    /// Committed offsets.
    pub offsets: ConsumerOffsetManager,
    /// Producer groups.
    pub producers: ProducerManager,
    /// Consumer groups.
    pub consumers: ConsumerManager,
    /// Held pulls.
    pub pulls: PullHoldService,
    /// Queue locks of orderly consumers.
    pub locks: RebalanceLockManager,
    /// Delay levels.
    pub schedule: Arc<ScheduleService>,
    /// 5.x timer messages.
    pub timer: Arc<TimerService>,
    /// Transaction resolution bookkeeping.
    pub transactions: TransactionState,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Signalled when the topic table changed and the NameServers must hear of it.
    pub registration_needed: Notify,
    /// The address clients reach this broker at (`brokerIP1:listenPort`), and the store
    /// host written into every record; set when the listener is known.
    pub broker_addr: RwLock<SocketAddr>,
}

impl BrokerState {
    /// Runs store work on a blocking thread, so the async runtime never waits on disk.
    pub async fn blocking<T, F>(self: &Arc<Self>, work: F) -> Result<T, tokio::task::JoinError>
    where
        F: FnOnce(&BrokerState) -> T + Send + 'static,
        T: Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || work(&state)).await
    }

    /// The advertised address.
    pub fn addr(&self) -> SocketAddr {
        *self.broker_addr.read()
    }

    /// The advertised address as `ip:port`.
    pub fn addr_string(&self) -> String {
        self.addr().to_string()
    }

    /// Tells the registration task to re-register now.
    pub fn topics_changed(&self) {
        self.registration_needed.notify_one();
    }
}
