//! HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38), the
//! NOTIFY_CONSUMER_IDS_CHANGED (40) the broker sends members, and CHECK_CLIENT_CONFIG
//! (46).

mod common;

use std::sync::Arc;

use common::*;
use parking_lot::Mutex;
use soyuz_remoting::body::{SubscriptionData, EXPRESSION_TYPE_SQL92};
use soyuz_remoting::headers::consumer::NotifyConsumerIdsChangedRequestHeader;
use soyuz_remoting::{request_code, response_code, RemotingCommand};
use soyuz_transport::{ClientConfig, RemotingClient, Router};

const GROUP: &str = "members";

/// A consumer's client: its id, and the groups named in every
/// NOTIFY_CONSUMER_IDS_CHANGED it received.
struct Consumer {
    id: String,
    client: RemotingClient,
    notified: Arc<Mutex<Vec<String>>>,
}

impl Consumer {
    fn new(id: &str) -> Self {
        let notified = Arc::new(Mutex::new(Vec::new()));
        let record = notified.clone();
        let router = Router::new().route_sync(
            request_code::NOTIFY_CONSUMER_IDS_CHANGED,
            move |_channel, request| {
                let header: NotifyConsumerIdsChangedRequestHeader =
                    request.decode_header().expect("notify header");
                record.lock().push(header.consumer_group);
                None
            },
        );
        Self {
            id: id.to_owned(),
            client: RemotingClient::new(ClientConfig::default(), Arc::new(router)),
            notified,
        }
    }

    async fn ask(&self, env: &Env, request: RemotingCommand) -> RemotingCommand {
        ask(&self.client, &env.broker.addr, request).await
    }

    /// Joins `GROUP` subscribed to `Members`.
    async fn join(&self, env: &Env) {
        let response = self
            .ask(
                env,
                consumer_heartbeat(&self.id, GROUP, vec![subscription("Members", "*")]),
            )
            .await;
        assert_code(&response, response_code::SUCCESS);
    }

    /// Waits until it has been told about `GROUP` at least `count` times.
    async fn wait_notified(&self, count: usize) {
        eventually(
            &format!("{} to be notified {count} times", self.id),
            || async {
                let notified = self.notified.lock();
                assert!(notified.iter().all(|g| g == GROUP), "{notified:?}");
                (notified.len() >= count).then_some(())
            },
        )
        .await;
    }
}

/// The ids GET_CONSUMER_LIST_BY_GROUP lists once they equal `expected`.
async fn wait_members(env: &Env, expected: &[&str]) {
    eventually(&format!("members {expected:?}"), || async {
        let response = env.ask(consumer_list(GROUP)).await;
        let ids = if response.code == response_code::SUCCESS {
            consumer_ids(&response)
        } else {
            Vec::new()
        };
        (ids == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn heartbeat_creates_the_retry_topic_and_registers_its_route() {
    let env = Env::start().await;
    let response = env
        .ask(consumer_heartbeat(
            "127.0.0.1@retry",
            "retry-group",
            vec![subscription("Anything", "*")],
        ))
        .await;
    assert_code(&response, response_code::SUCCESS);
    let route = env.route_eventually("%RETRY%retry-group").await;
    assert_eq!(route.queue_datas[0].broker_name, BROKER_NAME);
    assert_eq!(route.queue_datas[0].write_queue_nums, 1);
    assert_eq!(route.queue_datas[0].perm, 6);
}

#[tokio::test]
async fn producer_heartbeat_is_accepted() {
    let env = Env::start().await;
    let response = env
        .ask(producer_heartbeat("127.0.0.1@producer", PRODUCER_GROUP))
        .await;
    assert_code(&response, response_code::SUCCESS);
}

#[tokio::test]
async fn consumer_list_names_every_connected_member() {
    let env = Env::start().await;
    let one = Consumer::new("127.0.0.1@one");
    let two = Consumer::new("127.0.0.1@two");
    one.join(&env).await;
    two.join(&env).await;
    // A repeated heartbeat refreshes the member rather than adding one.
    one.join(&env).await;
    let ids = consumer_ids(&env.ask(consumer_list(GROUP)).await);
    assert_eq!(ids, ["127.0.0.1@one", "127.0.0.1@two"]);
}

#[tokio::test]
async fn second_member_joining_notifies_the_first() {
    let env = Env::start().await;
    let one = Consumer::new("127.0.0.1@one");
    one.join(&env).await;
    // Java tells every channel of the group, the joining one included.
    one.wait_notified(1).await;
    let two = Consumer::new("127.0.0.1@two");
    two.join(&env).await;
    one.wait_notified(2).await;
    two.wait_notified(1).await;
}

#[tokio::test]
async fn unregister_client_removes_the_member_and_notifies_the_rest() {
    let env = Env::start().await;
    let one = Consumer::new("127.0.0.1@one");
    let two = Consumer::new("127.0.0.1@two");
    one.join(&env).await;
    two.join(&env).await;
    one.wait_notified(2).await;
    let response = two.ask(&env, unregister_consumer(&two.id, GROUP)).await;
    assert_code(&response, response_code::SUCCESS);
    let ids = consumer_ids(&env.ask(consumer_list(GROUP)).await);
    assert_eq!(ids, ["127.0.0.1@one"]);
    one.wait_notified(3).await;
}

#[tokio::test]
async fn closing_a_connection_removes_the_member_and_notifies_the_rest() {
    let env = Env::start().await;
    let one = Consumer::new("127.0.0.1@one");
    let two = Consumer::new("127.0.0.1@two");
    one.join(&env).await;
    two.join(&env).await;
    one.wait_notified(2).await;
    two.client.close_channel(&env.broker.addr);
    wait_members(&env, &["127.0.0.1@one"]).await;
    one.wait_notified(3).await;
    one.client.close_channel(&env.broker.addr);
    let response = eventually("the group to empty", || async {
        let response = env.ask(consumer_list(GROUP)).await;
        (response.code != response_code::SUCCESS).then_some(response)
    })
    .await;
    assert_code(&response, response_code::SYSTEM_ERROR);
}

#[tokio::test]
async fn group_without_consumers_is_system_error() {
    let env = Env::start().await;
    for group in ["nobody-here", ""] {
        let response = env.ask(consumer_list(group)).await;
        assert_code(&response, response_code::SYSTEM_ERROR);
    }
    // A producer is no consumer.
    env.ask(producer_heartbeat("127.0.0.1@p", "nobody-here"))
        .await;
    let response = env.ask(consumer_list("nobody-here")).await;
    assert_code(&response, response_code::SYSTEM_ERROR);
    // Nor is a heartbeat with an empty group name a member of anything.
    let response = env
        .ask(consumer_heartbeat(
            "127.0.0.1@e",
            "",
            vec![subscription("T", "*")],
        ))
        .await;
    assert_code(&response, response_code::SUCCESS);
    let response = env.ask(consumer_list("")).await;
    assert_code(&response, response_code::SYSTEM_ERROR);
}

#[tokio::test]
async fn heartbeat_for_an_unknown_group_without_auto_create_registers_nobody() {
    let env = Env::start_with(|c| c.auto_create_subscription_group = false).await;
    let one = Consumer::new("127.0.0.1@one");
    one.join(&env).await;
    let response = env.ask(consumer_list(GROUP)).await;
    assert_code(&response, response_code::SYSTEM_ERROR);
}

#[tokio::test]
async fn garbage_heartbeat_body_is_system_error_and_the_broker_keeps_serving() {
    let env = Env::start().await;
    let connection = env.connection_id().await;
    for body in [&b"{not json"[..], b"", b"[1,2,3]", b"\xff\xfe\x00"] {
        let request = RemotingCommand::request(request_code::HEART_BEAT).with_body(body.to_vec());
        let response = env.ask(request).await;
        assert_code(&response, response_code::SYSTEM_ERROR);
        env.assert_still_serving(connection).await;
    }
    let one = Consumer::new("127.0.0.1@one");
    one.join(&env).await;
    let ids = consumer_ids(&env.ask(consumer_list(GROUP)).await);
    assert_eq!(ids, ["127.0.0.1@one"]);
}

#[tokio::test]
async fn unregister_without_client_id_is_system_error() {
    let env = Env::start().await;
    let request = without_field(unregister_consumer("127.0.0.1@x", GROUP), "clientID");
    assert_code(&env.ask(request).await, response_code::SYSTEM_ERROR);
}

#[tokio::test]
async fn check_client_config_accepts_tags_and_refuses_sql92_without_property_filter() {
    let env = Env::start().await;
    let tag = env
        .ask(check_client_config(
            GROUP,
            subscription("Members", "TagA || TagB"),
        ))
        .await;
    assert_code(&tag, response_code::SUCCESS);
    let sql = SubscriptionData {
        topic: "Members".to_owned(),
        sub_string: "a > 5".to_owned(),
        expression_type: EXPRESSION_TYPE_SQL92.to_owned(),
        ..SubscriptionData::default()
    };
    let refused = env.ask(check_client_config(GROUP, sql)).await;
    assert_code(&refused, response_code::SYSTEM_ERROR);
}
