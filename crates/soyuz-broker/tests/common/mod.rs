//! The harness every broker test shares: an in-memory NameServer and a broker on
//! 127.0.0.1 port 0 over a temporary store, a client, one builder per request kind, and
//! helpers to read answers.
//!
//! Each test file uses part of it.
#![allow(dead_code)]

mod answers;
mod requests;

pub use answers::*;
pub use requests::*;

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use soyuz_broker::state::BrokerState;
use soyuz_broker::BrokerConfig;
use soyuz_model::{Clock, SystemClock};
use soyuz_namesrv::{Namesrv, NamesrvConfig};
use soyuz_remoting::body::{decode_json, ClusterInfo, TopicRouteData};
use soyuz_remoting::headers::producer::SendMessageResponseHeader;
use soyuz_remoting::{response_code, RemotingCommand};
use soyuz_store::io::OsFs;
use soyuz_store::DefaultMessageStore;
use soyuz_transport::{RemotingClient, ServerConfig};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long one ordinary request may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a condition polled for may take to hold.
pub const DEADLINE: Duration = Duration::from_secs(15);
/// The producer group every send uses.
pub const PRODUCER_GROUP: &str = "PG";
/// The broker's name.
pub const BROKER_NAME: &str = "broker-test";

/// Polls `probe` until it yields a value; fails the test after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    soyuz_testkit::eventually_within(DEADLINE, what, probe).await
}

/// Sends `request` to `addr` and returns the answer; every request here is answered.
pub async fn ask(client: &RemotingClient, addr: &str, request: RemotingCommand) -> RemotingCommand {
    client
        .invoke(addr, request, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("no answer from {addr}: {e}"))
}

/// Fails unless `response` has `code`, naming the remark.
pub fn assert_code(response: &RemotingCommand, code: i32) {
    assert_eq!(
        response.code, code,
        "expected code {code}, got {} with remark {:?}",
        response.code, response.remark
    );
}

/// A NameServer serving in this test.
pub struct TestNamesrv {
    /// `127.0.0.1:port`.
    pub addr: String,
    stop: Option<oneshot::Sender<()>>,
}

impl TestNamesrv {
    /// Starts one in memory.
    pub async fn start() -> Self {
        let namesrv = Namesrv::in_memory(NamesrvConfig::default(), Arc::new(SystemClock));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            namesrv
                .run(listener, ServerConfig::default(), async {
                    let _ = stopped.await;
                })
                .await
                .expect("namesrv runs");
        });
        Self {
            addr,
            stop: Some(stop),
        }
    }
}

impl Drop for TestNamesrv {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A broker serving in this test.
pub struct TestBroker {
    /// `127.0.0.1:port`, the address it advertises.
    pub addr: String,
    /// Its shared state, to look inside; weak, so a stopped broker releases its store.
    state: Weak<BrokerState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestBroker {
    /// Opens the broker on its store directory (`Broker::open`) and serves it.
    pub async fn start(config: BrokerConfig) -> Self {
        Self::serve(soyuz_broker::Broker::open(config).expect("broker opens")).await
    }

    /// As [`TestBroker::start`] on the directory a broker just stopped using: waits while
    /// the old store is still locked. (A stopped broker's put thread drops the store a
    /// moment after `run` returns; `persistence.rs` has the test that shows it.)
    pub async fn start_after_stop(config: BrokerConfig) -> Self {
        let broker = eventually("the old broker to release its store", || {
            let opened = soyuz_broker::Broker::open(config.clone());
            async move {
                match opened {
                    Ok(broker) => Some(broker),
                    Err(e) if format!("{e:?}").contains("Locked") => None,
                    Err(e) => panic!("broker opens: {e}"),
                }
            }
        })
        .await;
        Self::serve(broker).await
    }

    /// As [`TestBroker::start`], with store times and client times from `clock`.
    pub async fn start_with_clock(config: BrokerConfig, clock: Arc<dyn Clock>) -> Self {
        let store =
            DefaultMessageStore::open_with(config.store.clone(), Arc::new(OsFs), clock.clone())
                .expect("store opens");
        Self::serve(
            soyuz_broker::Broker::with_store(config, Arc::new(store), clock).expect("broker opens"),
        )
        .await
    }

    async fn serve(broker: soyuz_broker::Broker) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let state = Arc::downgrade(broker.state());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            broker
                .run(listener, ServerConfig::default(), async {
                    let _ = stopped.await;
                })
                .await
        });
        Self {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The shared state of the running broker.
    pub fn state(&self) -> Arc<BrokerState> {
        self.state.upgrade().expect("the broker is running")
    }

    /// Shuts down and waits until it unregistered and closed its store.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(DEADLINE, task)
                .await
                .expect("the broker stops in time")
                .expect("the broker task ends cleanly")
                .expect("the broker served without error");
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A broker config registering with `namesrv` and storing under `root`, with small
/// store files.
pub fn broker_config(namesrv: &str, root: &std::path::Path) -> BrokerConfig {
    let mut config = BrokerConfig {
        broker_name: BROKER_NAME.to_owned(),
        namesrv_addr: Some(namesrv.to_owned()),
        ..BrokerConfig::default()
    };
    config.store.store_path_root_dir = root.to_owned();
    config.store.mapped_file_size_commit_log = 8 * 1024 * 1024;
    config.store.max_hash_slot_num = 4_096;
    config.store.max_index_num = 16_384;
    tolerate_a_full_host_disk(&mut config);
    config
}

/// The tests are about the broker, not about the disk of the machine they run on: CI
/// machines have been seen with their disk 95% full, where a broker rightly refuses
/// writes (`diskSpaceWarningLevelRatio`, 90 by default) and deletes CommitLog segments
/// early (`diskSpaceCleanForciblyRatio`, 85). The store's own tests inject the disk's
/// use to test those limits.
fn tolerate_a_full_host_disk(config: &mut BrokerConfig) {
    config.store.disk_space_warning_level_ratio = 99;
    config.store.disk_space_clean_forcibly_ratio = 99;
}

/// A NameServer, a broker, a client connected to both, and the store directory.
pub struct Env {
    /// The broker.
    pub broker: TestBroker,
    /// The NameServer.
    pub namesrv: TestNamesrv,
    /// A client; its connection to the broker is reused across requests.
    pub client: RemotingClient,
    /// The config the broker was opened with.
    pub config: BrokerConfig,
    /// Holds the store directory; dropped last.
    pub dir: TempDir,
}

impl Env {
    /// A broker with the default config.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A broker whose config `tweak` adjusted.
    pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> Self {
        Self::build(tweak, None).await
    }

    /// A broker whose store and client times come from `clock`.
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::build(|_| {}, Some(clock)).await
    }

    async fn build(tweak: impl FnOnce(&mut BrokerConfig), clock: Option<Arc<dyn Clock>>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let namesrv = TestNamesrv::start().await;
        let mut config = broker_config(&namesrv.addr, dir.path());
        tweak(&mut config);
        let broker = match clock {
            None => TestBroker::start(config.clone()).await,
            Some(clock) => TestBroker::start_with_clock(config.clone(), clock).await,
        };
        Self {
            broker,
            namesrv,
            client: RemotingClient::with_defaults(),
            config,
            dir,
        }
    }

    /// Shuts the broker down and opens it again on the same directory, with `tweak`
    /// applied to its config.
    pub async fn restart_with(&mut self, tweak: impl FnOnce(&mut BrokerConfig)) {
        self.broker.stop().await;
        tweak(&mut self.config);
        self.broker = TestBroker::start_after_stop(self.config.clone()).await;
    }

    /// Makes `group` known to the broker the way a consumer's first pull does (Java
    /// refuses offset commits for unknown groups).
    pub async fn know_group(&self, group: &str, topic: &str) {
        let pulled = self
            .ask(Pull::new(group, topic, 0, 0).subscribe("*").request())
            .await;
        assert_ne!(pulled.code, response_code::SUBSCRIPTION_GROUP_NOT_EXIST);
    }

    /// Asks the broker.
    pub async fn ask(&self, request: RemotingCommand) -> RemotingCommand {
        ask(&self.client, &self.broker.addr, request).await
    }

    /// Asks the NameServer.
    pub async fn ask_namesrv(&self, request: RemotingCommand) -> RemotingCommand {
        ask(&self.client, &self.namesrv.addr, request).await
    }

    /// Sends `message` with SEND_MESSAGE_V2; fails unless it is stored.
    pub async fn send(&self, message: &Message) -> SendMessageResponseHeader {
        let response = self.ask(message.send_v2()).await;
        assert_code(&response, response_code::SUCCESS);
        send_header(&response)
    }

    /// Waits until a queue's consume queue reaches `max` (the dispatcher caught up).
    pub async fn wait_max_offset(&self, topic: &str, queue_id: i32, max: i64) {
        eventually(
            &format!("{topic}:{queue_id} to reach offset {max}"),
            || async {
                let response = self.ask(max_offset(topic, queue_id)).await;
                (offset_of(&response) >= max).then_some(())
            },
        )
        .await;
    }

    /// Sends every message (each to its own queue) and waits until they are readable.
    pub async fn send_all(&self, messages: &[Message]) -> Vec<SendMessageResponseHeader> {
        let mut sent = Vec::new();
        for message in messages {
            sent.push(self.send(message).await);
        }
        for header in &sent {
            self.wait_max_offset(&messages[0].topic, header.queue_id, header.queue_offset + 1)
                .await;
        }
        sent
    }

    /// The topic's route from the NameServer, once it has one.
    pub async fn route_eventually(&self, topic: &str) -> TopicRouteData {
        eventually(&format!("a route for {topic}"), || async {
            let response = self.ask_namesrv(route(topic)).await;
            (response.code == response_code::SUCCESS)
                .then(|| decode_json(&response.body).expect("route body"))
        })
        .await
    }

    /// The NameServer's cluster info.
    pub async fn cluster_info(&self) -> ClusterInfo {
        let response = self.ask_namesrv(cluster_info()).await;
        assert_code(&response, response_code::SUCCESS);
        decode_json(&response.body).expect("cluster info body")
    }

    /// Fails unless the client's open connection to the broker, and a new client, can
    /// still send; the client's connection must be the one it had before.
    pub async fn assert_still_serving(&self, connection_before: u64) {
        let channel = self
            .client
            .channel(&self.broker.addr)
            .await
            .expect("channel");
        assert_eq!(
            channel.id(),
            connection_before,
            "the connection was replaced"
        );
        // Without auto-creation, the topic named after the broker is always there.
        let topic = if self.config.auto_create_topic_enable {
            "StillServing"
        } else {
            BROKER_NAME
        };
        let response = self.ask(Message::new(topic, "ok").send_v2()).await;
        assert_code(&response, response_code::SUCCESS);
        let other = RemotingClient::with_defaults();
        let response = ask(
            &other,
            &self.broker.addr,
            Message::new(topic, "ok").send_v1(),
        )
        .await;
        assert_code(&response, response_code::SUCCESS);
    }

    /// The id of the client's connection to the broker (opening it if needed).
    pub async fn connection_id(&self) -> u64 {
        self.client
            .channel(&self.broker.addr)
            .await
            .expect("channel")
            .id()
    }
}
