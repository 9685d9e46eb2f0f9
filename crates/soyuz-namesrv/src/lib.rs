//! The NameServer: where brokers register and clients find routes.
//!
//! * [`route_table::RouteTable`] is the state, as a plain state machine tested without
//!   sockets or clocks.
//! * [`kv_config::KvConfig`] holds namespaced settings such as ordered-topic config.
//! * [`processor`] maps request codes onto both.
//! * [`Namesrv::run`] serves a listener and expires brokers that stop refreshing their
//!   registration (120 s by default), reading time from an injected [`Clock`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use soyuz_model::{Clock, SystemClock};
use soyuz_transport::{server, ServerConfig};
use tokio::net::TcpListener;
use tracing::info;

pub mod config;
pub mod kv_config;
pub mod processor;
pub mod route_table;

pub use config::NamesrvConfig;
use kv_config::KvConfig;
use processor::NamesrvState;
use route_table::RouteTable;

/// A NameServer ready to serve.
pub struct Namesrv {
    state: Arc<NamesrvState>,
}

impl Namesrv {
    /// A NameServer with `config`, reading time from `clock`, its KV config loaded from
    /// `config.kv_config_path`.
    pub fn new(config: NamesrvConfig, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let kv = KvConfig::load(&config.kv_config_path)?;
        Ok(Self::with_kv(config, clock, kv))
    }

    /// A NameServer whose KV config lives in memory only.
    pub fn in_memory(config: NamesrvConfig, clock: Arc<dyn Clock>) -> Self {
        Self::with_kv(config, clock, KvConfig::in_memory())
    }

    /// A NameServer on the system clock with file-backed KV config.
    pub fn with_system_clock(config: NamesrvConfig) -> std::io::Result<Self> {
        Self::new(config, Arc::new(SystemClock))
    }

    fn with_kv(config: NamesrvConfig, clock: Arc<dyn Clock>, kv: KvConfig) -> Self {
        let mut routes = RouteTable::new();
        routes.delete_topic_with_broker_registration = config.delete_topic_with_broker_registration;
        Self {
            state: Arc::new(NamesrvState {
                config: RwLock::new(config),
                routes: RwLock::new(routes),
                kv: Mutex::new(kv),
                clock,
                broker_channels: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Serves `listener` until `shutdown` completes.
    pub async fn run(
        &self,
        listener: TcpListener,
        server_config: ServerConfig,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let router = Arc::new(self.state.router());
        let scanner = tokio::spawn(expire_brokers(self.state.clone()));
        let result = server::run(listener, router, server_config, shutdown).await;
        scanner.abort();
        result
    }

    /// Runs one expiry scan now (the periodic task does this every
    /// `scanNotActiveBrokerInterval`).
    pub fn scan_not_active_brokers(&self) {
        scan_once(&self.state);
    }
}

async fn expire_brokers(state: Arc<NamesrvState>) {
    loop {
        let interval = state.config.read().scan_interval();
        tokio::time::sleep(interval).await;
        scan_once(&state);
    }
}

fn scan_once(state: &NamesrvState) {
    let now = state.clock.now_millis();
    let expired = state.routes.write().scan_expired(now);
    for broker in expired {
        info!(addr = %broker.broker_addr, "broker expired: no registration refresh within its timeout");
        if let Some(channel) = broker
            .channel_id
            .and_then(|id| state.broker_channels.lock().remove(&id))
        {
            channel.close();
        }
    }
}
