//! The NameServer in-process on 127.0.0.1 port 0, driven with real Remoting frames.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use soyuz_model::ManualClock;
use soyuz_namesrv::{Namesrv, NamesrvConfig};
use soyuz_remoting::body::{
    decode_json, encode_json, ClusterInfo, DataVersion, KvTable, RegisterBrokerBody, TopicConfig,
    TopicConfigSerializeWrapper, TopicList, TopicRouteData,
};
use soyuz_remoting::frame::encode_to_bytes;
use soyuz_remoting::headers::namesrv::*;
use soyuz_remoting::{
    decode_frame, request_code, response_code, CommandHeader, RemotingCommand, SerializeType,
    MAX_FRAME_LEN,
};
use soyuz_transport::{RemotingClient, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

const TIMEOUT: Duration = Duration::from_secs(5);
const BROKER_ADDR: &str = "127.0.0.1:10911";

struct Harness {
    addr: String,
    clock: ManualClock,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Harness {
    async fn start() -> Self {
        let clock = ManualClock::new(1_700_000_000_000);
        let config = NamesrvConfig {
            scan_not_active_broker_interval_ms: 20,
            ..NamesrvConfig::default()
        };
        let namesrv = Namesrv::in_memory(config, Arc::new(clock.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            namesrv
                .run(listener, ServerConfig::default(), async {
                    let _ = stopped.await;
                })
                .await
                .expect("namesrv runs");
        });
        Self {
            addr,
            clock,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stops in time")
            .expect("clean exit");
    }
}

/// Sends `command` and returns the answer; every request here must be answered.
async fn ask(client: &RemotingClient, addr: &str, command: RemotingCommand) -> RemotingCommand {
    client
        .invoke(addr, command, TIMEOUT)
        .await
        .expect("answered")
}

fn request(code: i32, header: &impl CommandHeader) -> RemotingCommand {
    RemotingCommand::request_with_header(code, header)
}

fn registration_body(topics: &[(&str, i32)], counter: i64) -> Vec<u8> {
    let body = RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            topic_config_table: topics
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
                counter,
            },
            ..TopicConfigSerializeWrapper::default()
        },
        filter_server_list: Vec::new(),
    };
    encode_json(&body)
}

fn register_request(topics: &[(&str, i32)]) -> RemotingCommand {
    let body = registration_body(topics, 1);
    let header = RegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: BROKER_ADDR.into(),
        cluster_name: "DefaultCluster".into(),
        ha_server_addr: "127.0.0.1:10912".into(),
        broker_id: 0,
        body_crc32: Some((crc32fast_hash(&body) & 0x7FFF_FFFF) as i32),
        ..RegisterBrokerRequestHeader::default()
    };
    request(request_code::REGISTER_BROKER, &header).with_body(body)
}

/// The body CRC a Java broker sends (`UtilAll.crc32`), computed here independently of
/// the code under test with the textbook bitwise algorithm.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

async fn route(client: &RemotingClient, addr: &str, topic: &str) -> RemotingCommand {
    let header = GetRouteInfoRequestHeader {
        topic: topic.into(),
        accept_standard_json_only: None,
    };
    client
        .invoke(
            addr,
            request(request_code::GET_ROUTEINFO_BY_TOPIC, &header),
            TIMEOUT,
        )
        .await
        .expect("route answered")
}

/// After any abuse, a fresh client must still get a correct route.
async fn assert_serving(addr: &str) {
    let client = RemotingClient::with_defaults();
    let response = route(&client, addr, "TopicTest").await;
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    let route: TopicRouteData = decode_json(&response.body).expect("route body");
    assert_eq!(route.queue_datas[0].write_queue_nums, 4);
}

async fn started_with_broker() -> (Harness, RemotingClient) {
    let harness = Harness::start().await;
    let broker = RemotingClient::with_defaults();
    let response = broker
        .invoke(
            &harness.addr,
            register_request(&[("TopicTest", 4), ("TBW102", 8)]),
            TIMEOUT,
        )
        .await
        .expect("registered");
    assert_eq!(
        response.code,
        response_code::SUCCESS,
        "{:?}",
        response.remark
    );
    (harness, broker)
}

#[tokio::test]
async fn registered_topics_get_routes_and_unknown_topics_do_not() {
    let (harness, _broker) = started_with_broker().await;
    let client = RemotingClient::with_defaults();
    let ok = route(&client, &harness.addr, "TopicTest").await;
    assert_eq!(ok.code, response_code::SUCCESS);
    let route_data: TopicRouteData = decode_json(&ok.body).expect("body");
    assert_eq!(route_data.broker_datas[0].master_addr(), Some(BROKER_ADDR));
    let text = String::from_utf8(ok.body.to_vec()).expect("utf8");
    assert!(
        text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#),
        "{text}"
    );

    let missing = route(&client, &harness.addr, "NoSuchTopic").await;
    assert_eq!(missing.code, response_code::TOPIC_NOT_EXIST);
    assert!(missing.remark.expect("remark").contains("NoSuchTopic"));
    harness.stop().await;
}

#[tokio::test]
async fn binary_header_requests_are_answered_in_kind() {
    let (harness, _broker) = started_with_broker().await;
    let client = RemotingClient::with_defaults();
    let mut req = request(
        request_code::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: "TopicTest".into(),
            accept_standard_json_only: Some(true),
        },
    );
    req.serialize_type = SerializeType::RocketMq;
    let response = ask(&client, &harness.addr, req).await;
    assert_eq!(response.code, response_code::SUCCESS);
    assert_eq!(response.serialize_type, SerializeType::RocketMq);
    harness.stop().await;
}

#[tokio::test]
async fn cluster_info_and_topic_lists() {
    let (harness, _broker) = started_with_broker().await;
    let client = RemotingClient::with_defaults();
    let info = ask(
        &client,
        &harness.addr,
        RemotingCommand::request(request_code::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    let info: ClusterInfo = decode_json(&info.body).expect("cluster info");
    assert_eq!(
        info.broker_addr_table["broker-a"].master_addr(),
        Some(BROKER_ADDR)
    );
    assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));

    let all = ask(
        &client,
        &harness.addr,
        RemotingCommand::request(request_code::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    let all: TopicList = decode_json(&all.body).expect("topic list");
    assert_eq!(all.topic_list, ["TBW102", "TopicTest"]);

    let by_cluster = ask(
        &client,
        &harness.addr,
        request(
            request_code::GET_TOPICS_BY_CLUSTER,
            &GetTopicsByClusterRequestHeader {
                cluster: "DefaultCluster".into(),
            },
        ),
    )
    .await;
    let by_cluster: TopicList = decode_json(&by_cluster.body).expect("topic list");
    assert_eq!(by_cluster.topic_list.len(), 2);

    let system = ask(
        &client,
        &harness.addr,
        RemotingCommand::request(request_code::GET_SYSTEM_TOPIC_LIST_FROM_NS),
    )
    .await;
    let system: TopicList = decode_json(&system.body).expect("topic list");
    assert_eq!(system.topic_list, ["DefaultCluster", "broker-a"]);
    assert_eq!(system.broker_addr.as_deref(), Some(BROKER_ADDR));
    harness.stop().await;
}

#[tokio::test]
async fn kv_config_put_get_list_delete() {
    let harness = Harness::start().await;
    let client = RemotingClient::with_defaults();
    let put = PutKvConfigRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "Orders".into(),
        value: "broker-a:4".into(),
    };
    let response = ask(
        &client,
        &harness.addr,
        request(request_code::PUT_KV_CONFIG, &put),
    )
    .await;
    assert_eq!(response.code, response_code::SUCCESS);
    let key = KvConfigKeyRequestHeader {
        namespace: "ORDER_TOPIC_CONFIG".into(),
        key: "Orders".into(),
    };
    let got = ask(
        &client,
        &harness.addr,
        request(request_code::GET_KV_CONFIG, &key),
    )
    .await;
    let got: GetKvConfigResponseHeader = got.decode_header().expect("header");
    assert_eq!(got.value.as_deref(), Some("broker-a:4"));
    let list = ask(
        &client,
        &harness.addr,
        request(
            request_code::GET_KVLIST_BY_NAMESPACE,
            &GetKvListByNamespaceRequestHeader {
                namespace: "ORDER_TOPIC_CONFIG".into(),
            },
        ),
    )
    .await;
    let table: KvTable = decode_json(&list.body).expect("kv table");
    assert_eq!(table.table["Orders"], "broker-a:4");
    ask(
        &client,
        &harness.addr,
        request(request_code::DELETE_KV_CONFIG, &key),
    )
    .await;
    let gone = ask(
        &client,
        &harness.addr,
        request(request_code::GET_KV_CONFIG, &key),
    )
    .await;
    assert_eq!(gone.code, response_code::QUERY_NOT_FOUND);
    harness.stop().await;
}

#[tokio::test]
async fn a_registration_with_a_wrong_crc_is_refused() {
    let harness = Harness::start().await;
    let client = RemotingClient::with_defaults();
    let mut bad = register_request(&[("TopicTest", 4)]);
    bad.ext_fields.insert("bodyCrc32", "12345");
    let response = ask(&client, &harness.addr, bad).await;
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        route(&client, &harness.addr, "TopicTest").await.code,
        response_code::TOPIC_NOT_EXIST
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_missing_required_header_field_gets_system_error() {
    let harness = Harness::start().await;
    let client = RemotingClient::with_defaults();
    let response = ask(
        &client,
        &harness.addr,
        RemotingCommand::request(request_code::GET_ROUTEINFO_BY_TOPIC),
    )
    .await;
    assert_eq!(response.code, response_code::SYSTEM_ERROR);
    assert_eq!(
        response.remark.as_deref(),
        Some("the custom field <topic> is null")
    );
    harness.stop().await;
}

#[tokio::test]
async fn query_data_version_reports_changes() {
    let (harness, broker) = started_with_broker().await;
    let header = QueryDataVersionRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: BROKER_ADDR.into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    let same = DataVersion {
        state_version: 0,
        timestamp: 1,
        counter: 1,
    };
    let response = ask(
        &broker,
        &harness.addr,
        request(request_code::QUERY_DATA_VERSION, &header).with_body(encode_json(&same)),
    )
    .await;
    let decoded: QueryDataVersionResponseHeader = response.decode_header().expect("header");
    assert!(!decoded.changed);
    let newer = DataVersion { counter: 2, ..same };
    let response = ask(
        &broker,
        &harness.addr,
        request(request_code::QUERY_DATA_VERSION, &header).with_body(encode_json(&newer)),
    )
    .await;
    let decoded: QueryDataVersionResponseHeader = response.decode_header().expect("header");
    assert!(decoded.changed);
    harness.stop().await;
}

/// Polls until TopicTest has no route; the removal happens on a background task.
async fn await_route_gone(client: &RemotingClient, addr: &str, failure: &str) {
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while route(client, addr, "TopicTest").await.code != response_code::TOPIC_NOT_EXIST {
        assert!(tokio::time::Instant::now() < deadline, "{failure}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn brokers_expire_by_the_injected_clock() {
    let (harness, _broker) = started_with_broker().await;
    let client = RemotingClient::with_defaults();
    harness.clock.advance(119_000);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        route(&client, &harness.addr, "TopicTest").await.code,
        response_code::SUCCESS
    );
    harness.clock.advance(2_000);
    await_route_gone(&client, &harness.addr, "the broker never expired").await;
    harness.stop().await;
}

#[tokio::test]
async fn unregister_and_channel_close_both_remove_the_broker() {
    let (harness, broker) = started_with_broker().await;
    let client = RemotingClient::with_defaults();
    let header = UnRegisterBrokerRequestHeader {
        broker_name: "broker-a".into(),
        broker_addr: BROKER_ADDR.into(),
        cluster_name: "DefaultCluster".into(),
        broker_id: 0,
    };
    ask(
        &broker,
        &harness.addr,
        request(request_code::UNREGISTER_BROKER, &header),
    )
    .await;
    assert_eq!(
        route(&client, &harness.addr, "TopicTest").await.code,
        response_code::TOPIC_NOT_EXIST
    );

    broker
        .invoke(
            &harness.addr,
            register_request(&[("TopicTest", 4)]),
            TIMEOUT,
        )
        .await
        .expect("registered again");
    assert_eq!(
        route(&client, &harness.addr, "TopicTest").await.code,
        response_code::SUCCESS
    );
    broker.shutdown();
    await_route_gone(
        &client,
        &harness.addr,
        "closing the channel did not unregister",
    )
    .await;
    harness.stop().await;
}

#[tokio::test]
async fn write_permission_can_be_wiped_and_restored() {
    let (harness, _broker) = started_with_broker().await;
    let client = RemotingClient::with_defaults();
    let name = BrokerNameRequestHeader {
        broker_name: "broker-a".into(),
    };
    let wiped = ask(
        &client,
        &harness.addr,
        request(request_code::WIPE_WRITE_PERM_OF_BROKER, &name),
    )
    .await;
    let wiped: WipeWritePermOfBrokerResponseHeader = wiped.decode_header().expect("header");
    assert_eq!(wiped.wipe_topic_count, 2);
    let route_data: TopicRouteData =
        decode_json(&route(&client, &harness.addr, "TopicTest").await.body).expect("route");
    assert_eq!(route_data.queue_datas[0].perm, 4);
    let added = ask(
        &client,
        &harness.addr,
        request(request_code::ADD_WRITE_PERM_OF_BROKER, &name),
    )
    .await;
    let added: AddWritePermOfBrokerResponseHeader = added.decode_header().expect("header");
    assert_eq!(added.add_topic_count, 2);
    harness.stop().await;
}

#[tokio::test]
async fn config_updates_are_allow_listed() {
    let harness = Harness::start().await;
    let client = RemotingClient::with_defaults();
    let refused = ask(
        &client,
        &harness.addr,
        RemotingCommand::request(request_code::UPDATE_NAMESRV_CONFIG)
            .with_body(&b"kvConfigPath=/tmp/evil.json\n"[..]),
    )
    .await;
    assert_eq!(refused.code, response_code::NO_PERMISSION);
    let accepted = ask(
        &client,
        &harness.addr,
        RemotingCommand::request(request_code::UPDATE_NAMESRV_CONFIG)
            .with_body(&b"orderMessageEnable=true\n"[..]),
    )
    .await;
    assert_eq!(accepted.code, response_code::SUCCESS);
    let config = ask(
        &client,
        &harness.addr,
        RemotingCommand::request(request_code::GET_NAMESRV_CONFIG),
    )
    .await;
    let text = String::from_utf8(config.body.to_vec()).expect("utf8");
    assert!(text.contains("orderMessageEnable=true"), "{text}");
    assert!(!text.contains("/tmp/evil.json"));
    harness.stop().await;
}

// --- bad input on raw sockets: each case, then a second client still gets answers ---

async fn raw_connection(addr: &str) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

async fn read_one(stream: &mut TcpStream) -> Option<RemotingCommand> {
    let mut buf = BytesMut::new();
    loop {
        if let Some(command) = decode_frame(&mut buf, MAX_FRAME_LEN).expect("valid frames") {
            return Some(command);
        }
        match tokio::time::timeout(TIMEOUT, stream.read_buf(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(_)) => {}
            Err(_) => panic!("server neither answered nor closed"),
        }
    }
}

#[tokio::test]
async fn a_oneway_request_is_applied_without_a_reply() {
    let (harness, _broker) = started_with_broker().await;
    let mut stream = raw_connection(&harness.addr).await;
    let mut put = request(
        request_code::PUT_KV_CONFIG,
        &PutKvConfigRequestHeader {
            namespace: "ns".into(),
            key: "k".into(),
            value: "v".into(),
        },
    );
    put.opaque = 1;
    put.mark_oneway();
    let mut get = request(
        request_code::GET_KV_CONFIG,
        &KvConfigKeyRequestHeader {
            namespace: "ns".into(),
            key: "k".into(),
        },
    );
    get.opaque = 2;
    let mut bytes = encode_to_bytes(&put);
    bytes.extend_from_slice(&encode_to_bytes(&get));
    stream.write_all(&bytes).await.expect("write");
    let first = read_one(&mut stream).await.expect("an answer");
    assert_eq!(first.opaque, 2, "the oneway got no reply");
    assert_eq!(first.ext("value"), Some("v"), "but it was applied");
    assert_serving(&harness.addr).await;
    harness.stop().await;
}

#[tokio::test]
async fn an_unknown_code_gets_request_code_not_supported() {
    let (harness, _broker) = started_with_broker().await;
    let mut stream = raw_connection(&harness.addr).await;
    let mut unknown = RemotingCommand::request(31_337);
    unknown.opaque = 9;
    stream
        .write_all(&encode_to_bytes(&unknown))
        .await
        .expect("write");
    let answer = read_one(&mut stream).await.expect("an answer");
    assert_eq!(answer.code, response_code::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(answer.opaque, 9);
    assert_serving(&harness.addr).await;
    harness.stop().await;
}

#[tokio::test]
async fn a_truncated_frame_is_harmless() {
    let (harness, _broker) = started_with_broker().await;
    let mut stream = raw_connection(&harness.addr).await;
    let frame = encode_to_bytes(&register_request(&[("Other", 2)]));
    stream
        .write_all(&frame[..frame.len() / 2])
        .await
        .expect("write");
    assert_serving(&harness.addr).await;
    drop(stream);
    assert_serving(&harness.addr).await;
    harness.stop().await;
}

#[tokio::test]
async fn a_17_mib_length_field_closes_only_that_connection() {
    let (harness, _broker) = started_with_broker().await;
    let mut stream = raw_connection(&harness.addr).await;
    stream
        .write_all(&(17i32 * 1024 * 1024).to_be_bytes())
        .await
        .expect("write");
    assert!(
        read_one(&mut stream).await.is_none(),
        "the server closes the connection"
    );
    assert_serving(&harness.addr).await;
    harness.stop().await;
}

#[tokio::test]
async fn garbage_bytes_close_only_that_connection() {
    let (harness, _broker) = started_with_broker().await;
    let mut stream = raw_connection(&harness.addr).await;
    let mut garbage = vec![0u8, 0, 0, 40, 0, 0, 0, 32];
    garbage.extend((0..36u8).map(|i| i.wrapping_mul(37)));
    stream.write_all(&garbage).await.expect("write");
    assert!(
        read_one(&mut stream).await.is_none(),
        "the server closes the connection"
    );
    assert_serving(&harness.addr).await;
    harness.stop().await;
}
