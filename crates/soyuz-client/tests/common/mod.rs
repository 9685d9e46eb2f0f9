//! The harness of the client's integration tests: an in-memory NameServer and a broker
//! on 127.0.0.1 port 0 over a temporary store, and client settings with short intervals.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use soyuz_client::{ClientConfig, ConsumeResult, MessageExt};
use soyuz_model::SystemClock;
use soyuz_namesrv::{Namesrv, NamesrvConfig};
use soyuz_remoting::headers::namesrv::GetRouteInfoRequestHeader;
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::{RemotingClient, ServerConfig};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a condition polled for may take to hold.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Polls `probe` until it yields a value; fails the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    soyuz_testkit::eventually_within(DEADLINE, what, probe).await
}

/// A NameServer and one broker serving in this test.
pub struct Cluster {
    /// The NameServer's `127.0.0.1:port`.
    pub namesrv: String,
    /// The broker's `127.0.0.1:port`.
    pub broker: String,
    /// The broker's name.
    pub broker_name: String,
    /// A scratch directory for the test's own files.
    pub scratch: TempDir,
    stops: Vec<oneshot::Sender<()>>,
    broker_task: Option<JoinHandle<std::io::Result<()>>>,
    _store: TempDir,
}

impl Cluster {
    /// Starts both and waits until the broker's registration is visible.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`Cluster::start`], with `tweak` applied to the broker's configuration
    /// before the broker opens.
    pub async fn start_with(tweak: impl FnOnce(&mut soyuz_broker::BrokerConfig)) -> Self {
        let mut stops = Vec::new();

        let namesrv = Namesrv::in_memory(NamesrvConfig::default(), Arc::new(SystemClock));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let namesrv_addr = listener.local_addr().expect("addr").to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(async move {
            namesrv
                .run(listener, ServerConfig::default(), async {
                    let _ = stopped.await;
                })
                .await
                .expect("namesrv runs");
        });

        let store = tempfile::tempdir().expect("tempdir");
        let mut config = soyuz_broker::BrokerConfig {
            namesrv_addr: Some(namesrv_addr.clone()),
            broker_name: "broker-client-test".to_owned(),
            ..Default::default()
        };
        config.store.store_path_root_dir = store.path().to_path_buf();
        // About the broker, not this machine's disk: CI machines have been seen 95% full,
        // where a broker refuses writes at diskSpaceWarningLevelRatio (90).
        config.store.disk_space_warning_level_ratio = 99;
        config.store.disk_space_clean_forcibly_ratio = 99;
        tweak(&mut config);
        let broker = soyuz_broker::Broker::open(config).expect("broker opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let broker_addr = listener.local_addr().expect("addr").to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        let broker_task = tokio::spawn(async move {
            broker
                .run(listener, ServerConfig::default(), async {
                    let _ = stopped.await;
                })
                .await
        });

        let cluster = Self {
            namesrv: namesrv_addr,
            broker: broker_addr,
            broker_name: "broker-client-test".to_owned(),
            scratch: tempfile::tempdir().expect("tempdir"),
            stops,
            broker_task: Some(broker_task),
            _store: store,
        };
        cluster.wait_for_route("TBW102").await;
        cluster
    }

    /// Waits until the NameServer knows a route for `topic`.
    pub async fn wait_for_route(&self, topic: &str) {
        let client = RemotingClient::with_defaults();
        eventually(&format!("a route for {topic}"), || async {
            let header = GetRouteInfoRequestHeader {
                topic: topic.to_owned(),
                accept_standard_json_only: Some(true),
            };
            let request =
                RemotingCommand::request_with_header(request_code::GET_ROUTEINFO_BY_TOPIC, &header);
            let response = client
                .invoke(&self.namesrv, request, Duration::from_secs(3))
                .await
                .ok()?;
            (response.code == response_code::SUCCESS).then_some(())
        })
        .await;
        client.shutdown();
    }

    /// Client settings for this cluster with background work every few hundred ms.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            poll_name_server_interval: Duration::from_millis(500),
            heartbeat_broker_interval: Duration::from_secs(1),
            persist_consumer_offset_interval: Duration::from_millis(200),
            rebalance_interval: Duration::from_secs(1),
            ..ClientConfig::new(self.namesrv.clone())
        }
    }

    /// Stops the broker (it unregisters, writes its offsets and closes the store), then
    /// the NameServer.
    pub async fn stop(mut self) {
        let mut stops = std::mem::take(&mut self.stops);
        if let Some(broker) = stops.pop() {
            let _ = broker.send(());
        }
        if let Some(task) = self.broker_task.take() {
            task.await
                .expect("broker task")
                .expect("broker stops cleanly");
        }
        for stop in stops {
            let _ = stop.send(());
        }
    }
}

/// Messages a listener received, shared with the test.
#[derive(Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<MessageExt>>>);

impl Received {
    /// A listener that records every message and succeeds.
    pub fn listener(&self) -> impl Fn(&[MessageExt]) -> ConsumeResult + Send + Sync + 'static {
        let seen = self.0.clone();
        move |messages: &[MessageExt]| {
            seen.lock().extend(messages.iter().cloned());
            ConsumeResult::Success
        }
    }

    /// How many were received.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    /// A copy of what was received.
    pub fn all(&self) -> Vec<MessageExt> {
        self.0.lock().clone()
    }

    /// Waits until at least `n` were received and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<MessageExt> {
        eventually(&format!("{n} messages"), || async {
            (self.len() >= n).then(|| self.all())
        })
        .await
    }

    /// The received bodies as text, sorted.
    pub fn bodies(&self) -> Vec<String> {
        let mut bodies: Vec<String> = self
            .all()
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect();
        bodies.sort();
        bodies
    }
}
