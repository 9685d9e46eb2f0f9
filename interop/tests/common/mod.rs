//! Shared by the interop test binaries: the `soyuz namesrv` subprocess, a broker
//! registration sent with Soyuz's own client, a wire tap that records every frame the
//! stock client exchanges with the NameServer, and the stock client's admin facade.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod clients;
pub mod standalone;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rocketmq_client_rust::{
    ClientRuntime, ClientRuntimeConfig, DefaultMQAdminExt, RouteAdmin, TelemetryHandle, TopicAdmin,
};
use rocketmq_runtime::RuntimeOwner;
use soyuz_remoting::body::{
    encode_json, DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper,
};
use soyuz_remoting::headers::namesrv::RegisterBrokerRequestHeader;
use soyuz_remoting::{
    decode_frame, request_code, response_code, RemotingCommand, SerializeType, MAX_FRAME_LEN,
};
use soyuz_transport::RemotingClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const CLUSTER: &str = "DefaultCluster";
pub const BROKER_NAME: &str = "broker-a";
pub const BROKER_ADDR: &str = "127.0.0.1:10911";
pub const HA_ADDR: &str = "127.0.0.1:10912";
/// The topics the test broker registers, with their queue counts.
pub const TOPICS: [(&str, i32); 2] = [("TopicTest", 4), ("TBW102", 8)];
/// How long the stock client waits for each answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);
const SOYUZ_TIMEOUT: Duration = Duration::from_secs(5);

/// The `soyuz` binary under test: `$SOYUZ_BIN`, else the main workspace's debug build.
pub fn soyuz_bin() -> PathBuf {
    let path = match std::env::var_os("SOYUZ_BIN") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/soyuz"),
    };
    assert!(
        path.is_file(),
        "soyuz binary not found at {}: run `cargo build -p soyuz` in the main workspace \
         (or `make interop`), or point SOYUZ_BIN at a built binary",
        path.display()
    );
    path
}

/// A `soyuz namesrv` subprocess with its own temporary KV file. Dropping it (on a panic,
/// say) kills the process; [`Namesrv::stop`] stops it with SIGTERM and checks it exits
/// cleanly.
pub struct Namesrv {
    child: Option<Child>,
    /// `127.0.0.1:PORT`, taken from the boot log line.
    pub addr: String,
    dir: tempfile::TempDir,
}

impl Namesrv {
    /// Starts the binary and waits (without a fixed sleep) for the line naming the
    /// address it bound.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("namesrv.conf");
        std::fs::write(
            &conf,
            format!("kvConfigPath={}/kv.json\n", dir.path().display()),
        )
        .expect("write namesrv.conf");
        let mut child = Command::new(soyuz_bin())
            .args(["namesrv", "-c", conf.to_str().expect("utf8 path")])
            .args(["-p", "0", "--bind", "127.0.0.1"])
            .current_dir(dir.path())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn soyuz");
        let stdout = child.stdout.take().expect("stdout");
        // Guard the child before anything below can panic.
        let mut namesrv = Self {
            child: Some(child),
            addr: String::new(),
            dir,
        };
        let (tx, rx) = mpsc::channel();
        // Keeps draining stdout after the boot line so the child never blocks on a full
        // pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("The Name Server boot success") {
                    let port: Option<u16> = line.rsplit(':').next().and_then(|p| {
                        p.trim()
                            .trim_end_matches(|c: char| !c.is_ascii_digit())
                            .parse()
                            .ok()
                    });
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("`The Name Server boot success` on stdout within 20 s")
            .expect("port in the boot line");
        namesrv.addr = format!("127.0.0.1:{port}");
        namesrv
    }

    /// The directory holding `namesrv.conf` and `kv.json`.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Sends SIGTERM and waits up to 10 s for a successful exit.
    pub fn stop(mut self) {
        let child = self.child.take().expect("running");
        terminate(child, Duration::from_secs(10));
    }
}

/// Sends SIGTERM to `child` and waits up to `grace` for it to exit successfully; kills
/// it and fails the test otherwise.
pub fn terminate(mut child: Child, grace: Duration) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
    let deadline = Instant::now() + grace;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "soyuz exited with {status}");
            return;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("soyuz did not stop within {grace:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Namesrv {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Registers broker-a (master of DefaultCluster at [`BROKER_ADDR`], serving [`TOPICS`])
/// the way a broker does, over Soyuz's own client. The returned client holds the
/// connection: keep it alive, because closing it unregisters the broker.
pub async fn register_broker(namesrv: &str) -> RemotingClient {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            topic_config_table: TOPICS
                .iter()
                .map(|(name, queues)| {
                    let config = TopicConfig {
                        topic_name: (*name).to_owned(),
                        read_queue_nums: *queues,
                        write_queue_nums: *queues,
                        ..TopicConfig::default()
                    };
                    ((*name).to_owned(), config)
                })
                .collect(),
            data_version: DataVersion {
                state_version: 0,
                timestamp: 1,
                counter: 1,
            },
            ..TopicConfigSerializeWrapper::default()
        },
        filter_server_list: Vec::new(),
    };
    let header = RegisterBrokerRequestHeader {
        broker_name: BROKER_NAME.into(),
        broker_addr: BROKER_ADDR.into(),
        cluster_name: CLUSTER.into(),
        ha_server_addr: HA_ADDR.into(),
        broker_id: 0,
        ..RegisterBrokerRequestHeader::default()
    };
    let request = RemotingCommand::request_with_header(request_code::REGISTER_BROKER, &header)
        .with_body(encode_json(&body));
    let client = RemotingClient::with_defaults();
    let response = client
        .invoke(namesrv, request, SOYUZ_TIMEOUT)
        .await
        .expect("REGISTER_BROKER answered");
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "REGISTER_BROKER failed: {:?}",
        response.remark
    );
    client
}

/// One frame seen by the [`WireTap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Which accepted connection carried it.
    pub conn: usize,
    /// Client to NameServer (a request) or back (a response).
    pub to_server: bool,
    pub code: i32,
    pub flag: i32,
    pub opaque: i32,
    pub serialize_type: SerializeType,
    pub remark: Option<String>,
}

/// A TCP relay between the stock client and the NameServer that forwards every byte
/// unchanged and decodes a copy, so the test can check what went over the wire.
pub struct WireTap {
    /// Where the client should connect instead of the NameServer.
    pub addr: String,
    frames: Arc<Mutex<Vec<Frame>>>,
    errors: Arc<Mutex<Vec<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl WireTap {
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind tap");
        let addr = listener.local_addr().expect("tap addr").to_string();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_owned();
        let (frames2, errors2) = (frames.clone(), errors.clone());
        let accept = tokio::spawn(async move {
            for conn in 0.. {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let server = match TcpStream::connect(&upstream).await {
                    Ok(server) => server,
                    Err(e) => {
                        errors2.lock().expect("lock").push(format!("connect: {e}"));
                        continue;
                    }
                };
                let (client_rd, client_wr) = client.into_split();
                let (server_rd, server_wr) = server.into_split();
                let tap = (frames2.clone(), errors2.clone());
                tokio::spawn(relay(conn, true, client_rd, server_wr, tap));
                let tap = (frames2.clone(), errors2.clone());
                tokio::spawn(relay(conn, false, server_rd, client_wr, tap));
            }
        });
        Self {
            addr,
            frames,
            errors,
            accept,
        }
    }

    /// Every frame decoded so far, in arrival order per direction.
    pub fn frames(&self) -> Vec<Frame> {
        self.frames.lock().expect("lock").clone()
    }

    /// Checks that the client sent `expected_codes` (and possibly more), that every
    /// request and response used `serialize_type`, and that every request got exactly
    /// one response.
    pub fn assert_exchanges(&self, expected_codes: &[i32], serialize_type: SerializeType) {
        let errors = self.errors.lock().expect("lock").clone();
        assert!(errors.is_empty(), "tap errors: {errors:?}");
        let frames = self.frames();
        let sent: BTreeSet<i32> = frames
            .iter()
            .filter(|f| f.to_server)
            .map(|f| f.code)
            .collect();
        for code in expected_codes {
            assert!(
                sent.contains(code),
                "request code {code} never sent; frames: {frames:#?}"
            );
        }
        for frame in &frames {
            assert_eq!(
                frame.serialize_type, serialize_type,
                "header encoding of {frame:?}"
            );
            assert_eq!(
                frame.flag & 1 == 0,
                frame.to_server,
                "response flag of {frame:?}"
            );
        }
        for request in frames.iter().filter(|f| f.to_server) {
            let responses = frames
                .iter()
                .filter(|f| !f.to_server && f.conn == request.conn && f.opaque == request.opaque)
                .count();
            assert_eq!(
                responses, 1,
                "responses to {request:?}; frames: {frames:#?}"
            );
        }
    }
}

impl Drop for WireTap {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies one direction of a connection. Each complete frame is recorded *before* its
/// bytes are forwarded, so a request is always on record before the server can answer
/// it, and a response before the client can see it.
async fn relay(
    conn: usize,
    to_server: bool,
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    (frames, errors): (Arc<Mutex<Vec<Frame>>>, Arc<Mutex<Vec<String>>>),
) {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut pending = BytesMut::new();
    let mut decoding = true;
    loop {
        let n = match from.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if decoding {
            pending.extend_from_slice(&chunk[..n]);
            decoding = record_frames(conn, to_server, &mut pending, &frames, &errors);
        }
        if to.write_all(&chunk[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Decodes and records every complete frame in `pending`; false once a frame cannot be
/// decoded (the error is recorded and the direction is no longer decoded).
fn record_frames(
    conn: usize,
    to_server: bool,
    pending: &mut BytesMut,
    frames: &Mutex<Vec<Frame>>,
    errors: &Mutex<Vec<String>>,
) -> bool {
    loop {
        match decode_frame(pending, MAX_FRAME_LEN) {
            Ok(Some(command)) => frames.lock().expect("lock").push(Frame {
                conn,
                to_server,
                code: command.code,
                flag: command.flag,
                opaque: command.opaque,
                serialize_type: command.serialize_type,
                remark: command.remark.map(String::from),
            }),
            Ok(None) => return true,
            Err(e) => {
                let side = if to_server { "request" } else { "response" };
                errors
                    .lock()
                    .expect("lock")
                    .push(format!("conn {conn}: undecodable {side} frame: {e}"));
                return false;
            }
        }
    }
}

/// The runtime the stock client needs (it never creates one itself) and the client
/// runtime built on it.
pub fn client_runtime() -> (RuntimeOwner, Arc<ClientRuntime>) {
    let owner = RuntimeOwner::new().expect("client's tokio runtime");
    let client_runtime = ClientRuntime::try_new(
        owner.root_context().component("soyuz-interop"),
        ClientRuntimeConfig::default(),
        TelemetryHandle::noop(),
    )
    .expect("ClientRuntime");
    (owner, client_runtime)
}

/// A started `DefaultMQAdminExt` pointed at `namesrv`.
pub async fn admin(runtime: &Arc<ClientRuntime>, namesrv: &str) -> DefaultMQAdminExt {
    let mut admin = DefaultMQAdminExt::with_timeout(runtime.clone(), CLIENT_TIMEOUT);
    admin.set_namesrv_addr(namesrv);
    admin.start().await.expect("admin start");
    admin
}

fn addrs(map: &std::collections::HashMap<u64, impl ToString>) -> BTreeMap<u64, String> {
    map.iter().map(|(id, a)| (*id, a.to_string())).collect()
}

/// GET_ROUTEINFO_BY_TOPIC (105) for a registered and an unknown topic, and
/// GET_BROKER_CLUSTER_INFO (106), checked field by field.
pub async fn assert_route_and_cluster(admin: &DefaultMQAdminExt) {
    let master = BTreeMap::from([(0u64, BROKER_ADDR.to_owned())]);

    let route = admin
        .examine_topic_route_info("TopicTest".into())
        .await
        .expect("route of TopicTest")
        .expect("TopicTest has a route");
    let queues: Vec<_> = route
        .queue_datas
        .iter()
        .map(|q| {
            (
                q.broker_name().to_string(),
                q.read_queue_nums(),
                q.write_queue_nums(),
                q.perm(),
                q.topic_sys_flag(),
            )
        })
        .collect();
    // perm 6 = read | write.
    assert_eq!(queues, [(BROKER_NAME.to_owned(), 4, 4, 6, 0)], "{route:?}");
    let brokers: Vec<_> = route
        .broker_datas
        .iter()
        .map(|b| {
            (
                b.cluster().to_owned(),
                b.broker_name().to_string(),
                addrs(b.broker_addrs()),
            )
        })
        .collect();
    assert_eq!(
        brokers,
        [(CLUSTER.to_owned(), BROKER_NAME.to_owned(), master.clone())],
        "{route:?}"
    );
    assert!(route.filter_server_table.is_empty(), "{route:?}");
    assert_eq!(route.order_topic_conf, None, "{route:?}");

    // TOPIC_NOT_EXIST (17) is Ok(None) for the admin API.
    let missing = admin
        .examine_topic_route_info("NoSuchTopic".into())
        .await
        .expect("route of NoSuchTopic answered");
    assert!(missing.is_none(), "NoSuchTopic has a route: {missing:?}");

    let cluster = admin
        .examine_broker_cluster_info()
        .await
        .expect("cluster info");
    let clusters: BTreeMap<String, BTreeSet<String>> = cluster
        .cluster_addr_table
        .as_ref()
        .expect("clusterAddrTable present")
        .iter()
        .map(|(c, names)| (c.to_string(), names.iter().map(|n| n.to_string()).collect()))
        .collect();
    assert_eq!(
        clusters,
        BTreeMap::from([(CLUSTER.to_owned(), BTreeSet::from([BROKER_NAME.to_owned()]))])
    );
    let brokers: BTreeMap<String, _> = cluster
        .broker_addr_table
        .as_ref()
        .expect("brokerAddrTable present")
        .iter()
        .map(|(name, b)| {
            (
                name.to_string(),
                (
                    b.cluster().to_owned(),
                    b.broker_name().to_string(),
                    addrs(b.broker_addrs()),
                ),
            )
        })
        .collect();
    assert_eq!(
        brokers,
        BTreeMap::from([(
            BROKER_NAME.to_owned(),
            (CLUSTER.to_owned(), BROKER_NAME.to_owned(), master)
        )])
    );
}
